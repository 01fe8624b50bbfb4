//! `caseledger bench failover` (issue 25): a 3-node cluster, each node in its own network
//! namespace ([`crate::netns`]), under a load of `clients` workers; the leader is cut off from
//! the other nodes (the host drops what it forwards to or from it; the load generator still
//! reaches every node) `cuts` times, each cut held `hold` and then healed. For each cut: the time
//! to a new leader (as the majority side reports it), the time to the first acknowledged write
//! *begun* after the cut, and the longest gap with no acknowledged write from the cut to the
//! heal. Then the same against a 3-member etcd cluster in the same namespaces, with the same
//! heartbeat and election timeout, driven by the same load generator.
//!
//! The load generator is the write bench's sequences (case flows for caseledger, puts for
//! etcd) with the failover a client does (`caseledger_client`'s): a request that gets no
//! answer within `request_timeout`, a connection error or an answer other than 200/201 is sent
//! again, the same bytes, to the next node, until it is acknowledged (a resubmission is
//! idempotent for caseledger; a put of the same key and value for etcd).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde::Deserialize;

use super::load::{work_of, Work};
use crate::netns::Namespaces;

/// What `caseledger bench failover` runs.
#[derive(Debug, Clone)]
pub struct FailoverOptions {
    /// Where the clusters' data and logs go (must be empty or absent).
    pub dir: PathBuf,
    /// The `caseledger-node` binary.
    pub node_bin: PathBuf,
    /// The `etcd` binary, to run the same cuts against etcd.
    pub etcd_bin: Option<PathBuf>,
    /// Cuts of the leader, per system.
    pub cuts: usize,
    /// Workers of the load.
    pub clients: usize,
    /// How long each cut is held.
    pub hold: Duration,
    /// How long after a heal before the next cut.
    pub settle: Duration,
    /// How long a request may go unanswered before the worker sends it to the next node.
    pub request_timeout: Duration,
}

/// The Raft timing both systems run with (caseledger-node's defaults).
const HEARTBEAT_MS: u64 = 100;
/// caseledger's `election_max` (its followers' leader lease) and etcd's `--election-timeout`.
const ELECTION_MS: u64 = 800;

/// One cut's figures, milliseconds from the cut.
#[derive(Debug, Clone, Copy)]
pub struct Cut {
    /// Until a node of the majority side reported a leader other than the cut-off one.
    pub new_leader_ms: Option<f64>,
    /// Until the first acknowledgement of a request begun after the cut.
    pub first_ack_ms: Option<f64>,
    /// The longest stretch with no acknowledged write between the cut and the heal.
    pub longest_gap_ms: f64,
}

/// An acknowledged request: when its first attempt began and when it was acknowledged.
#[derive(Debug, Clone, Copy)]
struct Ack {
    begun: Instant,
    acked: Instant,
}

/// The system under test, as the bench needs it.
trait System {
    /// The submission URL on each node.
    fn urls(&self) -> Vec<String>;
    /// The node (position) that reports itself leader, if one does.
    async fn leader(&self, http: &reqwest::Client, among: &[usize]) -> Option<usize>;
}

struct Caseledger {
    apis: Vec<String>,
}

impl System for Caseledger {
    fn urls(&self) -> Vec<String> {
        self.apis
            .iter()
            .map(|a| format!("http://{a}/v1/entries"))
            .collect()
    }

    async fn leader(&self, http: &reqwest::Client, among: &[usize]) -> Option<usize> {
        for &i in among {
            let Ok(r) = http
                .get(format!("http://{}/metrics", self.apis[i]))
                .timeout(Duration::from_millis(500))
                .send()
                .await
            else {
                continue;
            };
            let text = r.text().await.unwrap_or_default();
            if text.lines().any(|l| l == "caseledger_is_leader 1") {
                return Some(i);
            }
        }
        None
    }
}

struct Etcd {
    clients: Vec<String>,
}

/// etcd's `POST /v3/maintenance/status` answer (etcd's shape): the member's id and the
/// leader's, as decimal strings.
#[derive(Deserialize)]
struct EtcdStatus {
    header: EtcdHeader,
    leader: String,
}

#[derive(Deserialize)]
struct EtcdHeader {
    member_id: String,
}

impl System for Etcd {
    fn urls(&self) -> Vec<String> {
        self.clients
            .iter()
            .map(|c| format!("{c}/v3/kv/put"))
            .collect()
    }

    async fn leader(&self, http: &reqwest::Client, among: &[usize]) -> Option<usize> {
        for &i in among {
            let Ok(r) = http
                .post(format!("{}/v3/maintenance/status", self.clients[i]))
                .body("{}")
                .timeout(Duration::from_millis(500))
                .send()
                .await
            else {
                continue;
            };
            let Ok(s) = r.json::<EtcdStatus>().await else {
                continue;
            };
            if s.leader == s.header.member_id && s.leader != "0" {
                return Some(i);
            }
        }
        None
    }
}

/// Workers that each send sequences in order, failing over until each request is
/// acknowledged, recording every acknowledgement.
struct Load {
    acks: Arc<Mutex<Vec<Ack>>>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(
        urls: Vec<String>,
        content_type: &'static str,
        work: Work,
        clients: usize,
        request_timeout: Duration,
    ) -> Load {
        let http = super::load::http_client();
        let acks = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = (0..clients)
            .map(|w| {
                let (http, acks, stop, work, urls) = (
                    http.clone(),
                    acks.clone(),
                    stop.clone(),
                    work.clone(),
                    urls.clone(),
                );
                tokio::spawn(async move {
                    let mut node = w % urls.len();
                    'work: while !stop.load(Ordering::Relaxed) {
                        let next = work.lock().map(|mut w| w.next()).unwrap_or(None);
                        let Some(sequence) = next else { break };
                        for body in sequence {
                            let begun = Instant::now();
                            loop {
                                if stop.load(Ordering::Relaxed) {
                                    break 'work;
                                }
                                let sent = http
                                    .post(&urls[node])
                                    .header("content-type", content_type)
                                    .timeout(request_timeout)
                                    .body(body.clone())
                                    .send()
                                    .await;
                                let ok = match sent {
                                    Ok(r) => {
                                        let status = r.status().as_u16();
                                        r.bytes().await.is_ok() && (status == 200 || status == 201)
                                    }
                                    Err(_) => false,
                                };
                                if ok {
                                    if let Ok(mut a) = acks.lock() {
                                        a.push(Ack {
                                            begun,
                                            acked: Instant::now(),
                                        });
                                    }
                                    break;
                                }
                                // The same bytes to the next node (a client's failover).
                                node = (node + 1) % urls.len();
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                        }
                    }
                })
            })
            .collect();
        Load { acks, stop, tasks }
    }

    fn acked(&self) -> usize {
        self.acks.lock().map_or(0, |a| a.len())
    }

    async fn stop(self) -> Vec<Ack> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.abort();
            let _ = t.await;
        }
        let acks = self.acks.lock().map(|a| a.clone()).unwrap_or_default();
        acks
    }
}

/// Waits until `system` has a leader among every node and `load` acknowledges writes again.
async fn steady(
    system: &impl System,
    http: &reqwest::Client,
    load: &Load,
    n: usize,
) -> Result<usize> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let all: Vec<usize> = (0..n).collect();
    loop {
        let before = load.acked();
        tokio::time::sleep(Duration::from_millis(300)).await;
        if let Some(leader) = system.leader(http, &all).await {
            if load.acked() > before {
                return Ok(leader);
            }
        }
        if Instant::now() > deadline {
            bail!("no leader with writes acknowledged within 60 s");
        }
    }
}

/// Cuts the leader off `opts.cuts` times under the load; the figures of each cut.
async fn cuts(
    name: &str,
    system: &impl System,
    net: &mut Namespaces,
    load: Load,
    opts: &FailoverOptions,
) -> Result<Vec<Cut>> {
    let http = reqwest::Client::new();
    let n = net.spaces.len();
    let mut windows = Vec::new();
    for k in 0..opts.cuts {
        let old = steady(system, &http, &load, n).await?;
        net.cut(old)?;
        let at = Instant::now();
        let others: Vec<usize> = (0..n).filter(|&i| i != old).collect();
        let mut new_leader = None;
        while at.elapsed() < opts.hold {
            if new_leader.is_none() && system.leader(&http, &others).await.is_some() {
                new_leader = Some(at.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        net.heal()?;
        let healed = Instant::now();
        println!(
            "  {name} cut {}: node {} cut off; new leader after {}",
            k + 1,
            old + 1,
            new_leader.map_or_else(|| "-".to_owned(), |d| format!("{} ms", d.as_millis()))
        );
        windows.push((at, healed, new_leader));
        tokio::time::sleep(opts.settle).await;
    }
    let mut acks = load.stop().await;
    acks.sort_by_key(|a| a.acked);
    Ok(windows
        .into_iter()
        .map(|(at, healed, new_leader)| {
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            let first_ack = acks
                .iter()
                .filter(|a| a.begun >= at)
                .map(|a| a.acked)
                .min()
                .map(|t| ms(t - at));
            let mut last = at;
            let mut gap = Duration::ZERO;
            for a in acks.iter().filter(|a| a.acked > at && a.acked <= healed) {
                gap = gap.max(a.acked - last);
                last = a.acked;
            }
            gap = gap.max(healed - last);
            Cut {
                new_leader_ms: new_leader.map(ms),
                first_ack_ms: first_ack,
                longest_gap_ms: ms(gap),
            }
        })
        .collect())
}

fn percentile(mut v: Vec<f64>, p: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied()
}

/// Prints p50 / p99 / max of each figure over the cuts.
fn report(name: &str, cuts: &[Cut]) {
    let row = |what: &str, v: Vec<f64>, missing: usize| {
        let f = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |x| format!("{x:.0}"));
        println!(
            "{name:<11} {what:<38} {:>8} {:>8} {:>8}{}",
            f(percentile(v.clone(), 0.5)),
            f(percentile(v.clone(), 0.99)),
            f(v.iter().copied().reduce(f64::max)),
            if missing > 0 {
                format!("  ({missing} cuts without)")
            } else {
                String::new()
            }
        );
    };
    let leaders: Vec<f64> = cuts.iter().filter_map(|c| c.new_leader_ms).collect();
    let firsts: Vec<f64> = cuts.iter().filter_map(|c| c.first_ack_ms).collect();
    row(
        "time to a new leader (ms)",
        leaders.clone(),
        cuts.len() - leaders.len(),
    );
    row(
        "first ack of a write begun after (ms)",
        firsts.clone(),
        cuts.len() - firsts.len(),
    );
    row(
        "longest gap with no ack (ms)",
        cuts.iter().map(|c| c.longest_gap_ms).collect(),
        0,
    );
}

/// caseledger: a cluster in `net`'s namespaces, the case flows of the write bench.
async fn run_caseledger(opts: &FailoverOptions, net: &mut Namespaces) -> Result<Vec<Cut>> {
    let cluster = super::start_cluster_in(
        &opts.dir.join("caseledger"),
        &opts.node_bin,
        3,
        3,
        Some(net),
    )
    .await?;
    let apis = cluster.nodes.apis();
    println!(
        "caseledger: 3 caseledger-node processes, each in its own network namespace, fsync on; heartbeat {HEARTBEAT_MS} ms, election timeout 400-{ELECTION_MS} ms (the defaults)"
    );
    let want =
        (opts.hold + opts.settle + Duration::from_secs(3)).as_secs() * 1500 * opts.cuts as u64
            + opts.clients as u64 * 40;
    let mut next = 0;
    let (sequences, ..) = super::write::presign(&cluster.province, &mut next, want, 0);
    let system = Caseledger { apis };
    let load = Load::start(
        system.urls(),
        caseledger_client::http::CANONICAL,
        work_of(sequences),
        opts.clients,
        opts.request_timeout,
    );
    let out = cuts("caseledger", &system, net, load, opts).await;
    drop(cluster);
    out
}

async fn run_etcd(
    opts: &FailoverOptions,
    bin: &std::path::Path,
    net: &mut Namespaces,
) -> Result<Vec<Cut>> {
    let dir = opts.dir.join("etcd");
    crate::demo::prepare_dir(&dir)?;
    let peers: Vec<String> = net
        .spaces
        .iter()
        .map(|s| format!("http://{}:2380", s.ip))
        .collect();
    let clients: Vec<String> = net
        .spaces
        .iter()
        .map(|s| format!("http://{}:2379", s.ip))
        .collect();
    // etcd's timing set to caseledger-node's heartbeat and `election_max`.
    let timing = [
        "--heartbeat-interval".to_owned(),
        HEARTBEAT_MS.to_string(),
        "--election-timeout".to_owned(),
        ELECTION_MS.to_string(),
    ];
    let mut members = super::etcd::Members(Vec::new());
    for i in 0..net.spaces.len() {
        let etcd = net.command(i, bin);
        let child = super::etcd::spawn_member(
            etcd,
            &dir,
            i,
            &peers,
            &clients,
            "caseledger-failover",
            &timing,
        )?;
        members.0.push(child);
    }
    let system = Etcd { clients };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while system
        .leader(&http, &(0..net.spaces.len()).collect::<Vec<_>>())
        .await
        .is_none()
    {
        if Instant::now() > deadline {
            bail!("etcd elected no leader within 60 s (see {})", dir.display());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "etcd: {} members, each in its own network namespace, default durability (fsync on); --heartbeat-interval {HEARTBEAT_MS} --election-timeout {ELECTION_MS}",
        net.spaces.len()
    );
    let want =
        (opts.hold + opts.settle + Duration::from_secs(3)).as_secs() * 3000 * opts.cuts as u64
            + opts.clients as u64 * 40;
    let sequences = super::etcd::puts("failover", want, 500, 1);
    let load = Load::start(
        system.urls(),
        "application/json",
        work_of(sequences),
        opts.clients,
        opts.request_timeout,
    );
    let out = cuts("etcd", &system, net, load, opts).await;
    drop(members);
    out
}

/// Runs the bench: caseledger's cuts, then etcd's (if its binary is given), and the table.
pub async fn run(opts: FailoverOptions) -> Result<()> {
    super::print_header("failover");
    Namespaces::permitted().map_err(anyhow::Error::msg)?;
    crate::demo::prepare_dir(&opts.dir)?;
    println!(
        "load: {} workers, each request retried on the next node until acknowledged (the same bytes; no answer within {} ms counts as none); {} cuts of the leader per system, each held {} s, {} s apart",
        opts.clients,
        opts.request_timeout.as_millis(),
        opts.cuts,
        opts.hold.as_secs_f64(),
        opts.settle.as_secs_f64()
    );
    let ours = {
        let mut net = Namespaces::create("clfc", 3)?;
        run_caseledger(&opts, &mut net).await?
    };
    let theirs = match &opts.etcd_bin {
        Some(bin) => {
            let mut net = Namespaces::create("clfe", 3)?;
            Some(run_etcd(&opts, bin, &mut net).await?)
        }
        None => None,
    };
    println!();
    println!(
        "{:<11} {:<38} {:>8} {:>8} {:>8}",
        "system", "per cut", "p50", "p99", "max"
    );
    report("caseledger", &ours);
    if let Some(theirs) = &theirs {
        report("etcd", theirs);
    }
    Ok(())
}
