//! The write benchmark: a cluster of real `caseledger-node` processes on loopback (each its
//! own RocksDB dir, every acknowledged write synced), fed pre-signed realistic case flows over
//! HTTP at several concurrency levels for a fixed time. Each in-flight worker walks one case at
//! a time, step after step, as a department's system would, and sends to "its" node (followers
//! forward to the leader). Reports committed entries/s and latency percentiles per level;
//! optionally the same levels against a 3-member etcd cluster with the same load generator
//! ([`super::etcd`]), and the scaling curve over cluster and payload sizes. With
//! [`WriteOptions::batch`] above 1, each request carries that many submissions
//! (`POST /v1/entries/batch`: the next step of each of that many cases) and etcd's each that
//! many puts in one transaction; the figures count submissions (puts), the latencies requests.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use bytes::Bytes;
use proto_types::crypto::Digest;
use proto_types::domain::DocumentType;
use proto_types::encoding::encode;
use proto_types::payload::Document;
use proto_types::{Action, Submission};

use super::load::{self, drive, http_client, work_of, Level, Sequence, Stop};
use crate::demo::{prepare_dir, NodeProc, SIM_EPOCH};
use crate::flows::case_flow;
use crate::pilot::Province;

/// Write benchmark settings.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// Nodes (all voters).
    pub nodes: u64,
    /// Concurrency levels.
    pub levels: Vec<usize>,
    /// Seconds per level.
    pub seconds: u64,
    /// Where the nodes' data goes (must be empty or absent).
    pub dir: PathBuf,
    /// The `caseledger-node` binary.
    pub node_bin: PathBuf,
    /// Grow every handoff to at least this many bytes of signed submission by attaching more
    /// documents and a longer note, within the policy's limits (0: the flows as generated,
    /// ~270 bytes a handoff).
    pub payload_bytes: usize,
    /// Entries pre-signed per level and second of the level: the most the level can commit.
    pub presign_rate: u64,
    /// Submissions per request (1: one `POST /v1/entries` each, as a department's system
    /// sends them; more: `POST /v1/entries/batch`).
    pub batch: usize,
}

/// A cluster's results.
#[derive(Debug, Clone)]
pub struct WriteRun {
    /// One per level.
    pub levels: Vec<Level>,
    /// Mean signed submission size sent, bytes.
    pub mean_bytes: f64,
    /// Mean size of the handoffs among them, bytes.
    pub mean_handoff_bytes: f64,
}

/// The figures the issue quotes for etcd 3.4 on this kind of machine: (clients, writes/s,
/// p50 ms, p99 ms), `None` where not quoted.
pub const ETCD_REFERENCE: [(usize, f64, Option<f64>, Option<f64>); 3] = [
    (1, 650.0, Some(1.5), Some(2.4)),
    (64, 2300.0, None, Some(56.0)),
    (256, 2600.0, None, Some(190.0)),
];

/// Pads a handoff to at least `target` bytes (documents first, then the note, within the
/// pilot policy's limits of 64 documents and 2,048 note bytes) and signs it again with its
/// department's key. Anything else is returned as it is.
pub fn pad(sub: Submission, province: &Province, target: usize) -> Submission {
    if target == 0 || encode(&sub).len() >= target {
        return sub;
    }
    let mut payload = sub.payload;
    let Some(org) = payload.signer_org().cloned() else {
        return Submission {
            payload,
            signature: sub.signature,
        };
    };
    if !matches!(payload.action, Action::Handoff(_)) {
        return Submission {
            payload,
            signature: sub.signature,
        };
    }
    let id = payload.id.as_str().as_bytes().to_vec();
    // The signature adds 64 bytes to the payload's encoding; each document adds its own
    // encoding (less `encode`'s version byte): sizes are summed, not re-encoded.
    let mut size = encode(&payload).len() + 64;
    if let Action::Handoff(h) = &mut payload.action {
        let mut k = 0u32;
        while size < target && h.documents.len() < 64 {
            k += 1;
            let doc = Document {
                doc_type: DocumentType::Evidence,
                number: format!("证据材料第{k}号"),
                digest: Digest::sha256(&[&id, &k.to_be_bytes()]),
                pages: 1 + k % 30,
            };
            size += encode(&doc).len() - 1;
            h.documents.push(doc);
        }
        if size < target {
            let chars = (target - size)
                .div_ceil(3)
                .min(2048usize.saturating_sub(h.note.len()) / 3);
            h.note.push_str(&"附".repeat(chars));
        }
    }
    let key = &province.department(&org).key;
    payload.sign(key)
}

/// Pre-signs case flows until they hold at least `entries` steps, starting at case `next`
/// (advanced), on all cores. Returns the sequences and the bytes of handoffs and of all.
pub(crate) fn presign(
    province: &Province,
    next: &mut u64,
    entries: u64,
    payload_bytes: usize,
) -> (Vec<Sequence>, u64, u64, u64, u64) {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    // Flows dated a year before the nodes' clock: every claimed and effective time is past.
    let start = proto_types::Timestamp::from_millis(
        SIM_EPOCH.as_millis() - 400 * proto_types::time::DAY_MS,
    );
    let mut out = Vec::new();
    let (mut steps, mut bytes, mut handoffs, mut handoff_bytes) = (0u64, 0u64, 0u64, 0u64);
    while steps < entries {
        let batch = ((entries - steps) / 15).clamp(64, 20_000);
        let first = *next;
        *next += batch;
        let per = batch.div_ceil(threads as u64);
        let parts: Vec<Vec<(Sequence, u64, u64, u64)>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads as u64)
                .map(|t| {
                    s.spawn(move || {
                        let lo = first + t * per;
                        let hi = (lo + per).min(first + batch);
                        (lo..hi)
                            .map(|n| {
                                let (mut b, mut h, mut hb) = (0, 0, 0);
                                let seq = case_flow(province, 1, n, start)
                                    .1
                                    .into_iter()
                                    .map(|step| {
                                        let sub = pad(step.submission, province, payload_bytes);
                                        let body = encode(&sub);
                                        b += body.len() as u64;
                                        if matches!(sub.payload.action, Action::Handoff(_)) {
                                            h += 1;
                                            hb += body.len() as u64;
                                        }
                                        Bytes::from(body)
                                    })
                                    .collect::<Sequence>();
                                (seq, b, h, hb)
                            })
                            .collect()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        });
        for (seq, b, h, hb) in parts.into_iter().flatten() {
            steps += seq.len() as u64;
            bytes += b;
            handoffs += h;
            handoff_bytes += hb;
            out.push(seq);
        }
    }
    (out, steps, bytes, handoffs, handoff_bytes)
}

/// Groups case flows `b` at a time into sequences of batches: request `j` of a group frames
/// step `j` of each of its flows that has one (docs/FORMAT.md §Batch), so every step still
/// follows the one before it. `b` of 1 leaves the flows as they are.
fn batched(flows: Vec<Sequence>, b: usize) -> Vec<Sequence> {
    if b <= 1 {
        return flows;
    }
    let mut out = Vec::with_capacity(flows.len().div_ceil(b));
    let mut flows = flows.into_iter();
    loop {
        let group: Vec<Sequence> = flows.by_ref().take(b).collect();
        if group.is_empty() {
            return out;
        }
        let depth = group.iter().map(Vec::len).max().unwrap_or(0);
        out.push(
            (0..depth)
                .map(|j| {
                    let steps: Vec<&Bytes> = group.iter().filter_map(|f| f.get(j)).collect();
                    Bytes::from(proto_types::framing::frame(&steps))
                })
                .collect(),
        );
    }
}

/// Runs every level against one new cluster of `opts.nodes` processes.
pub async fn run_caseledger(opts: &WriteOptions) -> Result<WriteRun> {
    if opts.nodes == 0 {
        bail!("the cluster needs at least one node");
    }
    let cluster = super::start_cluster(&opts.dir, &opts.node_bin, opts.nodes, opts.nodes).await?;
    let (province, nodes) = (&cluster.province, &cluster.nodes);
    let target = if opts.batch > 1 {
        cluster.batches()
    } else {
        cluster.submissions()
    };
    let http = http_client();
    println!(
        "caseledger: {} caseledger-node processes on loopback, each its own RocksDB dir, fsync on",
        opts.nodes
    );
    if opts.batch > 1 {
        println!(
            "batched: {} submissions per request (POST /v1/entries/batch, the next step of {} cases); committed and per second count submissions, latencies requests",
            opts.batch, opts.batch
        );
    }
    load::print_header();
    let mut next_case = 0u64;
    let mut levels = Vec::new();
    let (mut all_steps, mut all_bytes, mut all_handoffs, mut all_handoff_bytes) = (0, 0, 0, 0);
    for &c in &opts.levels {
        // Signing is not measured: the level's work is signed before it starts.
        let want = opts.seconds * opts.presign_rate + c as u64 * 40;
        let (sequences, steps, bytes, handoffs, handoff_bytes) =
            presign(province, &mut next_case, want, opts.payload_bytes);
        all_steps += steps;
        all_bytes += bytes;
        all_handoffs += handoffs;
        all_handoff_bytes += handoff_bytes;
        let pids: Vec<u32> = nodes.procs().iter().map(NodeProc::pid).collect();
        let cpu = load::cpu_now(&pids);
        let mut level = drive(
            &http,
            &target,
            work_of(batched(sequences, opts.batch)),
            c,
            Stop::After(Duration::from_secs(opts.seconds)),
            |_| {},
        )
        .await;
        let (server, client) = load::cpu_now(&pids);
        level.charge_cpu(server - cpu.0, client - cpu.1);
        load::print_level(&level);
        levels.push(level);
    }
    drop(cluster);
    let run = WriteRun {
        levels,
        mean_bytes: all_bytes as f64 / all_steps.max(1) as f64,
        mean_handoff_bytes: all_handoff_bytes as f64 / all_handoffs.max(1) as f64,
    };
    println!(
        "payload: {:.0} bytes per signed submission on average ({:.0} per handoff; the rest are receipts, acceptances, filings, measures)",
        run.mean_bytes, run.mean_handoff_bytes
    );
    Ok(run)
}

/// One table of `caseledger bench write`: caseledger's levels at `batch` submissions per
/// request, and etcd's at as many puts per request if it ran.
struct Table {
    batch: usize,
    ours: WriteRun,
    theirs: Option<Vec<Level>>,
}

/// `caseledger bench write`: caseledger's levels, then (with `etcd`) the same levels against
/// etcd. With `opts.batch` above 1, two tables in the same run: single submissions against
/// single puts, then batches of `opts.batch` against transactions of as many puts (each
/// pre-signed at `batch` times the rate), and the ceiling of a batched run beside them: the
/// machine's raw batch-verify rate on every core, divided among the nodes that each verify
/// every signature.
pub async fn run(opts: WriteOptions, etcd: Option<super::etcd::EtcdOptions>) -> Result<()> {
    super::print_header("write");
    let batches = if opts.batch > 1 {
        vec![1, opts.batch]
    } else {
        vec![1]
    };
    let mut tables = Vec::new();
    for batch in batches {
        let part = format!("batch-{batch}");
        let rate = opts.presign_rate * batch as u64;
        let ours_opts = WriteOptions {
            batch,
            presign_rate: rate,
            dir: opts.dir.join(&part),
            ..opts.clone()
        };
        let ours = run_caseledger(&ours_opts).await?;
        let theirs = match &etcd {
            None => None,
            Some(e) => {
                println!();
                let e = super::etcd::EtcdOptions {
                    batch,
                    prebuild_rate: rate,
                    dir: e.dir.join(&part),
                    ..e.clone()
                };
                Some(super::etcd::run(&e, &opts.levels, opts.seconds).await?)
            }
        };
        println!();
        tables.push(Table {
            batch,
            ours,
            theirs,
        });
    }
    if opts.batch > 1 {
        let raw = super::verify_rate::measure(Duration::from_secs(3));
        println!(
            "ceiling of a batched run: raw batch-verify rate {:.0} signatures/s on {} threads / {} nodes = {:.0} entries/s",
            raw.batch_per_second,
            raw.threads,
            opts.nodes,
            raw.batch_per_second / opts.nodes.max(1) as f64
        );
    }
    for t in &tables {
        if let Some(theirs) = &t.theirs {
            side_by_side(t, theirs);
        }
    }
    Ok(())
}

/// The side-by-side table of one [`Table`]: rates, their ratio, latencies and CPU per entry.
fn side_by_side(t: &Table, theirs: &[Level]) {
    let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"));
    println!();
    if t.batch == 1 {
        println!("side by side, single submissions against single puts (same load generator, same levels and duration, same run):");
    } else {
        println!(
            "side by side, batches of {} submissions against etcd transactions of {} puts (per second counts submissions and puts; latencies are per request):",
            t.batch, t.batch
        );
    }
    println!(
        "{:>11} {:>13} {:>10} {:>7} {:>13} {:>13} {:>17} {:>17} {:>10} {:>13}",
        "concurrency",
        "caseledger/s",
        "etcd/s",
        "ratio",
        "p50 cl / etcd",
        "p99 cl / etcd",
        "server CPU ms cl",
        "server CPU ms etcd",
        "etcd ref/s",
        "etcd vs ref"
    );
    for (a, b) in t.ours.levels.iter().zip(theirs) {
        let reference = ETCD_REFERENCE
            .iter()
            .find(|r| r.0 == a.concurrency && t.batch == 1);
        let (ref_rate, verdict) = match reference {
            Some(r) => {
                let dev = (b.per_second - r.1) / r.1 * 100.0;
                let within = if dev.abs() <= 25.0 {
                    "within 25%"
                } else {
                    "OUTSIDE 25%"
                };
                (format!("{:.0}", r.1), format!("{dev:+.0}% {within}"))
            }
            None => ("-".into(), "-".into()),
        };
        println!(
            "{:>11} {:>13.0} {:>10.0} {:>6.2}x {:>6.1}/{:<6.1} {:>6.1}/{:<6.1} {:>17} {:>17} {:>10} {:>13}",
            a.concurrency,
            a.per_second,
            b.per_second,
            a.per_second / b.per_second.max(1e-9),
            a.p50_ms,
            b.p50_ms,
            a.p99_ms,
            b.p99_ms,
            ms(a.server_cpu_ms),
            ms(b.server_cpu_ms),
            ref_rate,
            verdict
        );
    }
    println!(
        "load generator CPU ms per entry: caseledger {} / etcd {} (at each level: {})",
        ms(mean(t.ours.levels.iter().filter_map(|l| l.client_cpu_ms))),
        ms(mean(theirs.iter().filter_map(|l| l.client_cpu_ms))),
        t.ours
            .levels
            .iter()
            .zip(theirs)
            .map(|(a, b)| format!("{} / {}", ms(a.client_cpu_ms), ms(b.client_cpu_ms)))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (n, sum) = values.fold((0u32, 0.0), |(n, s), v| (n + 1, s + v));
    (n > 0).then(|| sum / f64::from(n))
}

/// Scaling settings: every cluster size with every payload size, in one run.
#[derive(Debug, Clone)]
pub struct ScalingOptions {
    /// The write settings (its `nodes` and `payload_bytes` are replaced per run).
    pub write: WriteOptions,
    /// Cluster sizes.
    pub sizes: Vec<u64>,
    /// Payload sizes (see [`WriteOptions::payload_bytes`]).
    pub payloads: Vec<usize>,
}

/// `caseledger bench scaling`: throughput and p99 against cluster size and payload size.
pub async fn scaling(opts: ScalingOptions) -> Result<()> {
    super::print_header("scaling");
    prepare_dir(&opts.write.dir)?;
    let mut rows = Vec::new();
    for &nodes in &opts.sizes {
        for &payload in &opts.payloads {
            println!();
            println!(
                "== {nodes} nodes, handoffs padded to {} ==",
                if payload == 0 {
                    "nothing (as generated)".to_owned()
                } else {
                    format!("{payload} bytes")
                }
            );
            let write = WriteOptions {
                nodes,
                payload_bytes: payload,
                dir: opts.write.dir.join(format!("n{nodes}-p{payload}")),
                ..opts.write.clone()
            };
            let run = run_caseledger(&write).await?;
            let _ = std::fs::remove_dir_all(&write.dir);
            rows.push((nodes, run));
        }
    }
    println!();
    println!("scaling curve:");
    println!(
        "{:>5} {:>13} {:>13} {:>11} {:>11} {:>9} {:>9}",
        "nodes", "mean bytes", "handoff bytes", "concurrency", "entries/s", "p50 ms", "p99 ms"
    );
    for (nodes, run) in &rows {
        for l in &run.levels {
            println!(
                "{:>5} {:>13.0} {:>13.0} {:>11} {:>11.0} {:>9.2} {:>9.2}",
                nodes,
                run.mean_bytes,
                run.mean_handoff_bytes,
                l.concurrency,
                l.per_second,
                l.p50_ms,
                l.p99_ms
            );
        }
    }
    Ok(())
}
