//! The history benchmark: a 3-node cluster of real processes filled through the API with N
//! realistic entries, then
//!
//! 1. **footprint in memory**: every node's RSS (`VmRSS`, and the peak `VmHWM`) at several
//!    sizes on the way, to see whether it grows with history;
//! 2. **audit rate**: the client library's audit (what `caseledger audit` runs) over the whole
//!    ledger, in entries/s, next to the machine's raw Ed25519 batch-verification rate on all
//!    cores ([`super::verify_rate`]), and their ratio;
//! 3. **catch-up**: a fourth node (declared in genesis, never started) starts empty and is
//!    added as a learner; the leader's log is purged behind its snapshots, so it installs a
//!    snapshot and pulls and verifies every entry. Timed from its approved `AddLearner` entry until
//!    its applied index and ledger size equal the leader's;
//! 4. **footprint on disk**: every node stopped and compacted offline
//!    (`caseledger-node compact`), then the bytes of its RocksDB dir per ledger entry.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use proto_types::encoding::encode;
use proto_types::wire::{Head, NodeStatus};

use super::load::{drive, http_client, Sequence, Stop, Work};
use super::write::pad;
use super::{dir_bytes, rss_kib};
use crate::demo::{spawn_node, Nodes, SIM_EPOCH};
use crate::flows::case_flow;
use crate::pilot::Province;
use caseledger_client::audit::{audit_nodes, Verdict};
use caseledger_client::http::Client;

/// History benchmark settings.
#[derive(Debug, Clone)]
pub struct HistoryOptions {
    /// Ledger entries to reach (submissions committed; the ledger also holds genesis and the
    /// nodes' cosigned checkpoints).
    pub entries: u64,
    /// Workers filling the ledger.
    pub concurrency: usize,
    /// Handoffs grown to at least this many signed bytes (see [`super::write::pad`]).
    pub payload_bytes: usize,
    /// Sizes at which RSS is sampled: every `entries / samples`.
    pub samples: u64,
    /// Seconds spent measuring each raw verification rate.
    pub verify_seconds: f64,
    /// Where the nodes' data goes (must be empty or absent).
    pub dir: PathBuf,
    /// The `caseledger-node` binary.
    pub node_bin: PathBuf,
}

const MIB: f64 = 1024.0 * 1024.0;

/// The nodes' default `raft.snapshot_every` (the bench's configs leave it): above this many
/// entries the leader's log is purged behind a snapshot, so a new node installs one.
const SNAPSHOT_EVERY: u64 = 5000;

/// Case flows signed on demand, in order, for as long as workers ask.
fn endless_flows(province: Arc<Province>, payload_bytes: usize) -> Work {
    let start = proto_types::Timestamp::from_millis(
        SIM_EPOCH.as_millis() - 400 * proto_types::time::DAY_MS,
    );
    let flows = (0u64..).map(move |n| {
        case_flow(&province, 1, n, start)
            .1
            .into_iter()
            .map(|s| Bytes::from(encode(&pad(s.submission, &province, payload_bytes))))
            .collect::<Sequence>()
    });
    Arc::new(Mutex::new(Box::new(flows)))
}

async fn head_size(client: &Client, node: usize) -> Result<u64> {
    Ok(client.get_as_from::<Head>(node, "/v1/head").await?.size)
}

async fn status(client: &Client, node: usize) -> Result<NodeStatus> {
    Ok(client.get_as_from(node, "/admin/status").await?)
}

fn rss_row(nodes: &Nodes) -> String {
    nodes
        .procs()
        .iter()
        .map(|n| match rss_kib(n.pid()) {
            Some((rss, peak)) => format!(
                "{:>9.1} ({:>6.1})",
                rss as f64 / 1024.0,
                peak as f64 / 1024.0
            ),
            None => format!("{:>18}", "gone"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `caseledger bench history`.
pub async fn run(opts: HistoryOptions) -> Result<()> {
    super::print_header("history");
    // Four nodes in genesis; three start now, the fourth joins for the catch-up.
    let cluster = super::start_cluster(&opts.dir, &opts.node_bin, 3, 4).await?;
    let target = cluster.submissions();
    let super::BenchCluster {
        mut nodes,
        province,
        clock,
    } = cluster;
    // Node 1's key: its operator reads everything, admin routes included (ARCHITECTURE.md
    // §API authentication).
    let operator = province
        .node(1)
        .context("the province declares node 1")?
        .credentials();
    let client = Client::new(nodes.apis()).with_credentials(operator.clone());
    println!("cluster: 3 caseledger-node processes on loopback, fsync on; a fourth joins later");

    // 1. Fill, sampling RSS on the way.
    println!();
    println!(
        "filling to {} entries with {} workers (realistic case flows, handoffs of at least {} bytes, signed on the fly)",
        opts.entries, opts.concurrency, opts.payload_bytes
    );
    let http = http_client();
    let work = endless_flows(Arc::new(province.clone()), opts.payload_bytes);
    println!(
        "{:>10} {:>10} {:>12}   RSS MiB (peak) of nodes 1, 2, 3",
        "entries", "fill s", "entries/s"
    );
    println!(
        "{:>10} {:>10} {:>12}   {}",
        head_size(&client, 0).await?,
        "-",
        "-",
        rss_row(&nodes)
    );
    let step = (opts.entries / opts.samples.max(1)).max(1);
    let fill_started = Instant::now();
    let mut committed = 0u64;
    while committed < opts.entries {
        let quota = step.min(opts.entries - committed);
        let level = drive(
            &http,
            &target,
            work.clone(),
            opts.concurrency,
            Stop::Committed(quota),
            |_| {},
        )
        .await;
        if level.committed == 0 {
            bail!(
                "the fill stalled: {}",
                level
                    .first_error
                    .unwrap_or_else(|| "no error reported".into())
            );
        }
        committed += level.committed;
        println!(
            "{:>10} {:>10.1} {:>12.0}   {}",
            head_size(&client, 0).await?,
            fill_started.elapsed().as_secs_f64(),
            level.per_second,
            rss_row(&nodes)
        );
    }
    // The followers apply what the leader committed: wait until all report the same size.
    let deadline = Instant::now() + Duration::from_secs(120);
    let size = loop {
        let mut sizes = Vec::new();
        for i in 0..3 {
            sizes.push(head_size(&client, i).await?);
        }
        if sizes.iter().all(|s| *s == sizes[0]) {
            break sizes[0];
        }
        if Instant::now() > deadline {
            bail!("the nodes did not converge: sizes {sizes:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    println!("ledger: {size} entries on every node");

    // 2. Audit rate next to the raw verification rate.
    println!();
    let seconds = Duration::from_secs_f64(opts.verify_seconds);
    println!("processors: {}", super::verify_rate::topology());
    let one =
        tokio::task::spawn_blocking(move || super::verify_rate::measure_on(1, seconds)).await?;
    let raw = tokio::task::spawn_blocking(move || super::verify_rate::measure(seconds)).await?;
    for r in [&one, &raw] {
        println!(
            "raw Ed25519 on {} thread(s): {:.0} signatures/s in batches of {}, {:.0}/s one by one (verify_strict)",
            r.threads,
            r.batch_per_second,
            super::verify_rate::BATCH,
            r.strict_per_second
        );
    }
    let (report, _) = audit_nodes(&client, None, |_, _| {}).await;
    let audit_rate = report.entries as f64 / (report.elapsed_ms.max(1) as f64 / 1000.0);
    match &report.verdict {
        Verdict::Intact { .. } => {}
        other => bail!("the audit did not find the ledger intact: {other:?}"),
    }
    println!(
        "audit: INTACT, {} entries in {:.2} s on {} threads: {:.0} entries/s = {:.0}% of the raw batch rate ({:.0}% of the one-by-one rate)",
        report.entries,
        report.elapsed_ms as f64 / 1000.0,
        report.threads,
        audit_rate,
        audit_rate / raw.batch_per_second * 100.0,
        audit_rate / raw.strict_per_second * 100.0
    );

    // 3. Catch-up of a fresh node.
    println!();
    let leader_id = status(&client, 0)
        .await?
        .leader
        .context("the cluster has a leader")?;
    let leader = nodes
        .procs()
        .iter()
        .position(|n| n.id == leader_id)
        .context("the leader is one of the nodes")?;
    let fresh = spawn_node(&opts.dir, &opts.node_bin, 4, false, clock, None).await?;
    let (fresh_raft, fresh_api) = (fresh.raft.clone(), fresh.api.clone());
    nodes.push(fresh);
    let fresh_client = Client::new([fresh_api.clone()]).with_credentials(operator.clone());
    let leader_client = Client::new([nodes.procs()[leader].api.clone()]);
    let started = Instant::now();
    // The fresh node joins as the departments decide it (docs/FORMAT.md §Membership): an
    // approved AddLearner, which the leader carries out.
    let join = crate::formation::province_change(
        &province,
        proto_types::payload::MemberOp::AddLearner {
            node_id: 4,
            addr: proto_types::payload::NodeAddr {
                raft_addr: fresh_raft,
                api_addr: fresh_api,
            },
        },
        "M-JOIN-4",
        clock.now(),
    )?;
    let added = caseledger_client::membership::submit(&leader_client, &join).await?;
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        let theirs = status(&client, leader).await?;
        if let Ok(ours) = status(&fresh_client, 0).await {
            let applied = ours.last_applied.unwrap_or(0);
            // The leader's, not the fill's: a cosigned checkpoint may have been added since.
            if ours.ledger_size == theirs.ledger_size
                && applied >= theirs.last_applied.unwrap_or(u64::MAX)
            {
                break;
            }
        }
        if Instant::now() > deadline {
            bail!("the fresh node did not catch up in 30 minutes");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let catch_up = started.elapsed().as_secs_f64();
    println!(
        "catch-up: a fresh node joined a cluster of {size} entries ({}) in {catch_up:.1} s ({:.0} entries/s); its AddLearner is entry {}",
        if size > SNAPSHOT_EVERY {
            "the leader's log purged: snapshot install plus verified replay of every entry"
        } else {
            "fewer than a snapshot's worth: log replication, no snapshot"
        },
        size as f64 / catch_up,
        added
    );
    println!(
        "RSS MiB (peak) of nodes 1, 2, 3 and the new node 4: {}",
        rss_row(&nodes)
    );

    // 4. Disk after compaction.
    println!();
    let procs: Vec<(u64, PathBuf)> = nodes
        .procs()
        .iter()
        .map(|n| (n.id, n.config.clone()))
        .collect();
    nodes.stop();
    println!(
        "{:>5} {:>16} {:>16} {:>12}",
        "node", "db MiB", "compacted MiB", "bytes/entry"
    );
    for (id, config) in procs {
        let db = opts.dir.join(format!("node-{id}")).join("db");
        let before = dir_bytes(&db);
        let out = std::process::Command::new(&opts.node_bin)
            .arg("compact")
            .arg("--config")
            .arg(&config)
            .output()
            .with_context(|| format!("running {} compact", opts.node_bin.display()))?;
        if !out.status.success() {
            bail!(
                "compacting node {id}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let after = dir_bytes(&db);
        println!(
            "{:>5} {:>16.1} {:>16.1} {:>12.0}",
            id,
            before as f64 / MIB,
            after as f64 / MIB,
            after as f64 / size.max(1) as f64
        );
    }
    Ok(())
}
