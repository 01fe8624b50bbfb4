//! The fault-injection harness: a seeded workload that records the client-observed history
//! while faults happen, clusters of real processes behind fault proxies or with a node on a
//! small disk of its own, and the checks every scenario ends with.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use caseledger_client::audit::{audit, Verdict};
use caseledger_client::http::{Client, ClientError, SubmitOutcome};
use caseledger_lab::flows::{case_flow, SplitMix};
use caseledger_lab::pilot::Province;
use proto_types::wire::BatchOutcome;
use tokio::task::JoinHandle;

use crate::cluster::EPOCH;
use crate::linearizability::{self, FinalLedger, History, Read, Write};
use crate::process::ProcCluster;
use crate::proxy::FaultProxy;
use caseledger_node::config::NodeConfig;

/// The seed of a fault test: `CASELEDGER_FAULT_SEED` if set, else drawn from the clock.
/// Printed, so a failure can be replayed.
pub fn seed(test: &str) -> u64 {
    let seed = match std::env::var("CASELEDGER_FAULT_SEED") {
        Ok(s) => s.parse().expect("CASELEDGER_FAULT_SEED is a decimal u64"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    };
    eprintln!("{test}: seed {seed} (replay with CASELEDGER_FAULT_SEED={seed})");
    seed
}

/// How long a soak runs (`CASELEDGER_SOAK_SECS`); `None` for the short CI version.
pub fn soak() -> Option<Duration> {
    std::env::var("CASELEDGER_SOAK_SECS")
        .ok()
        .map(|s| Duration::from_secs(s.parse().expect("CASELEDGER_SOAK_SECS is seconds")))
}

/// A random duration in `lo..=hi` milliseconds.
pub fn between(rng: &mut SplitMix, lo: u64, hi: u64) -> Duration {
    Duration::from_millis(lo + rng.below(hi - lo + 1))
}

/// What the workload recorded.
#[derive(Debug, Default)]
pub struct Recorded {
    /// The history of acknowledged and attempted writes and consistent reads.
    pub history: History,
    /// Steps answered with an error: "id: status code message".
    pub errors: Vec<String>,
    /// Steps no node answered before the workload gave up.
    pub unanswered: Vec<String>,
}

impl Recorded {
    /// Acknowledged writes.
    pub fn acked(&self) -> usize {
        self.history
            .writes
            .iter()
            .filter(|w| w.ack.is_some())
            .count()
    }

    /// The ledger size every node must reach: one past the highest acknowledged index.
    pub fn min_size(&self) -> u64 {
        self.history
            .writes
            .iter()
            .filter_map(|w| w.ack.map(|(_, i)| i + 1))
            .max()
            .unwrap_or(1)
    }
}

/// How many cases a batching writer of the [`Workload`] advances together
/// (`CASELEDGER_WORKLOAD_BATCH`, default 4; 1: every writer submits one at a time).
pub fn workload_batch() -> usize {
    std::env::var("CASELEDGER_WORKLOAD_BATCH")
        .ok()
        .and_then(|b| b.parse().ok())
        .filter(|b| *b >= 1)
        .unwrap_or(4)
}

/// Case flows submitted and heads read with `consistent=true`, all recorded, while faults
/// happen.
pub struct Workload {
    stop: Arc<AtomicBool>,
    give_up: Arc<Mutex<Option<Instant>>>,
    recorded: Arc<Mutex<Recorded>>,
    acked: Arc<AtomicU64>,
    tasks: Vec<JoinHandle<()>>,
}

impl Workload {
    /// Starts `writers` case flows at a time (case numbers from 0, seeded by `seed`) and
    /// `readers` readers of the head, each request to a node drawn at random. Every second
    /// writer advances [`workload_batch`] cases together, one batch request per step.
    pub fn start(
        client: &Client,
        province: &Province,
        seed: u64,
        writers: usize,
        readers: usize,
    ) -> Workload {
        let stop = Arc::new(AtomicBool::new(false));
        let give_up = Arc::new(Mutex::new(None));
        let recorded = Arc::new(Mutex::new(Recorded::default()));
        let acked = Arc::new(AtomicU64::new(0));
        let next_case = Arc::new(AtomicU64::new(0));
        let province = Arc::new(province.clone());
        let mut tasks = Vec::new();
        for w in 0..writers {
            let writer = Writer {
                client: client.clone(),
                province: province.clone(),
                seed,
                rng: SplitMix::new(seed, 1000 + w as u64),
                stop: stop.clone(),
                give_up: give_up.clone(),
                recorded: recorded.clone(),
                acked: acked.clone(),
                next_case: next_case.clone(),
            };
            let batch = if w % 2 == 1 { workload_batch() } else { 1 };
            tasks.push(tokio::spawn(writer.run(batch)));
        }
        for r in 0..readers {
            let client = client.clone();
            let mut rng = SplitMix::new(seed, 2000 + r as u64);
            let stop = stop.clone();
            let recorded = recorded.clone();
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let node = rng.below(client.nodes().len() as u64) as usize;
                    let invoke = Instant::now();
                    let answer = client.get_json_from(node, "/v1/head?consistent=true").await;
                    let complete = Instant::now();
                    if let Ok(head) = answer {
                        let read = Read {
                            node: client.nodes()[node].clone(),
                            invoke,
                            complete,
                            size: head["size"].as_u64().expect("head size"),
                            head_hash: head["head_hash"].as_str().unwrap_or("").to_owned(),
                        };
                        recorded.lock().expect("lock").history.reads.push(read);
                    }
                    // Pacing, not synchronisation: reads spread over the run.
                    tokio::time::sleep(between(&mut rng, 5, 40)).await;
                }
            }));
        }
        Workload {
            stop,
            give_up,
            recorded,
            acked,
            tasks,
        }
    }

    /// Writes acknowledged so far.
    pub fn acked(&self) -> u64 {
        self.acked.load(Ordering::SeqCst)
    }

    /// Waits until `more` writes beyond those acknowledged now were acknowledged.
    pub async fn progress(&self, more: u64, timeout: Duration, what: &str) {
        let target = self.acked() + more;
        crate::eventually(what, timeout, || async {
            (self.acked() >= target).then_some(())
        })
        .await;
    }

    /// Stops starting steps; a step in flight is retried for up to `grace` (the faults are
    /// healed by now), then abandoned. Returns what was recorded.
    pub async fn finish(self, grace: Duration) -> Recorded {
        *self.give_up.lock().expect("lock") = Some(Instant::now() + grace);
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks {
            t.await.expect("workload task");
        }
        Arc::try_unwrap(self.recorded)
            .expect("tasks done")
            .into_inner()
            .expect("lock")
    }
}

struct Writer {
    client: Client,
    province: Arc<Province>,
    seed: u64,
    rng: SplitMix,
    stop: Arc<AtomicBool>,
    give_up: Arc<Mutex<Option<Instant>>>,
    recorded: Arc<Mutex<Recorded>>,
    acked: Arc<AtomicU64>,
    next_case: Arc<AtomicU64>,
}

impl Writer {
    async fn run(mut self, batch: usize) {
        if batch > 1 {
            return self.run_batched(batch).await;
        }
        while !self.stop.load(Ordering::SeqCst) {
            let n = self.next_case.fetch_add(1, Ordering::SeqCst);
            let (_, steps) = case_flow(&self.province, self.seed, n, EPOCH);
            for step in steps {
                if self.stop.load(Ordering::SeqCst) || !self.submit(&step.submission).await {
                    break;
                }
            }
        }
    }

    /// `batch` cases at a time, each request the next step of each (`POST /v1/entries/batch`):
    /// a case stops at its first step that is not recorded or is rejected, the others go on.
    async fn run_batched(mut self, batch: usize) {
        while !self.stop.load(Ordering::SeqCst) {
            let mut flows: Vec<std::collections::VecDeque<proto_types::Submission>> = (0..batch)
                .map(|_| {
                    let n = self.next_case.fetch_add(1, Ordering::SeqCst);
                    let (_, steps) = case_flow(&self.province, self.seed, n, EPOCH);
                    steps.into_iter().map(|s| s.submission).collect()
                })
                .collect();
            while !self.stop.load(Ordering::SeqCst) {
                let live: Vec<usize> = (0..flows.len()).filter(|c| !flows[*c].is_empty()).collect();
                if live.is_empty() {
                    break;
                }
                let subs: Vec<proto_types::Submission> =
                    live.iter().filter_map(|c| flows[*c].pop_front()).collect();
                let go_on = self.submit_batch(&subs).await;
                for (c, ok) in live.into_iter().zip(go_on) {
                    if !ok {
                        flows[c].clear();
                    }
                }
            }
        }
    }

    /// Records the invocation of a write; its position in the history.
    fn invoke(&self, id: &str) -> usize {
        let mut r = self.recorded.lock().expect("lock");
        r.history.writes.push(Write {
            id: id.to_owned(),
            invoke: Instant::now(),
            ack: None,
        });
        r.history.writes.len() - 1
    }

    /// Whether the writers give up on unanswered requests now (the scenario is ending).
    fn gave_up(&self) -> bool {
        self.give_up
            .lock()
            .expect("lock")
            .is_some_and(|at| Instant::now() > at)
    }

    /// Submits a batch until answered (retrying through faults, resending the whole batch:
    /// what committed before answers DUPLICATE); for each submission, whether its case may go
    /// on.
    async fn submit_batch(&mut self, subs: &[proto_types::Submission]) -> Vec<bool> {
        let ids: Vec<String> = subs
            .iter()
            .map(|s| s.payload.id.as_str().to_owned())
            .collect();
        let positions: Vec<usize> = ids.iter().map(|id| self.invoke(id)).collect();
        loop {
            let prefer = self.rng.below(self.client.nodes().len() as u64) as usize;
            match self.client.submit_batch_to(prefer, subs).await {
                Ok(set) => {
                    let now = Instant::now();
                    let mut r = self.recorded.lock().expect("lock");
                    let mut go_on = vec![false; subs.len()];
                    for item in &set.results {
                        let at = item.position as usize;
                        let (Some(pos), Some(id)) = (positions.get(at), ids.get(at)) else {
                            r.errors
                                .push(format!("a batch answered position {at} of {}", subs.len()));
                            continue;
                        };
                        if let Some(index) = item.index {
                            r.history.writes[*pos].ack = Some((now, index));
                        }
                        match item.outcome {
                            BatchOutcome::Appended | BatchOutcome::Duplicate
                                if item.code.is_none() =>
                            {
                                self.acked.fetch_add(1, Ordering::SeqCst);
                                go_on[at] = true;
                            }
                            _ => r.errors.push(format!(
                                "{id}: {:?} {} {}",
                                item.outcome,
                                item.code
                                    .as_ref()
                                    .map(ToString::to_string)
                                    .unwrap_or_default(),
                                item.message.as_deref().unwrap_or("")
                            )),
                        }
                    }
                    return go_on;
                }
                Err(ClientError::Refused { status, error, .. }) => {
                    let mut r = self.recorded.lock().expect("lock");
                    r.errors.push(format!(
                        "a batch of {}: {status} {} {}",
                        subs.len(),
                        error.code,
                        error.message
                    ));
                    return vec![false; subs.len()];
                }
                Err(_) => {
                    if self.gave_up() {
                        self.recorded.lock().expect("lock").unanswered.extend(ids);
                        return vec![false; subs.len()];
                    }
                    // Back off before the next try; the cluster is mid-fault.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// Submits until answered (retrying through faults); whether the case may go on.
    async fn submit(&mut self, sub: &proto_types::Submission) -> bool {
        let id = sub.payload.id.as_str().to_owned();
        let pos = self.invoke(&id);
        loop {
            let prefer = self.rng.below(self.client.nodes().len() as u64) as usize;
            match self.client.submit_to(prefer, sub).await {
                Ok(SubmitOutcome::Committed { index, .. }) => {
                    self.recorded.lock().expect("lock").history.writes[pos].ack =
                        Some((Instant::now(), index));
                    self.acked.fetch_add(1, Ordering::SeqCst);
                    return true;
                }
                Ok(SubmitOutcome::Error {
                    status,
                    code,
                    message,
                    index,
                }) => {
                    let mut r = self.recorded.lock().expect("lock");
                    if let Some(index) = index {
                        r.history.writes[pos].ack = Some((Instant::now(), index));
                    }
                    r.errors.push(format!("{id}: {status} {code} {message}"));
                    return false;
                }
                Err(_) => {
                    if self.gave_up() {
                        self.recorded.lock().expect("lock").unanswered.push(id);
                        return false;
                    }
                    // Back off before the next try; the cluster is mid-fault.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// The ledger one node serves: every submission id with its index (a duplicate id fails the
/// test) and every chain hash.
pub async fn ledger_of(client: &Client, node: usize) -> FinalLedger {
    let mut out = FinalLedger::default();
    let mut from = 0u64;
    loop {
        let page = client
            .get_json_from(node, &format!("/v1/entries?from={from}&limit=1000"))
            .await
            .unwrap_or_else(|e| panic!("reading entries from {from}: {e}"));
        for e in page["entries"].as_array().expect("entries") {
            let index = e["index"].as_u64().expect("index");
            assert_eq!(index, out.hashes.len() as u64, "entries out of order");
            let record = &e["entry"]["body"]["record"];
            let sub = record
                .get("accepted")
                .or_else(|| record["rejected"].get("submission"))
                .expect("a record holds a submission");
            let id = sub["payload"]["id"].as_str().expect("id").to_owned();
            if let Some(first) = out.index_of.insert(id.clone(), index) {
                panic!(
                    "{}: submission {id} appears twice, at {first} and {index}",
                    client.nodes()[node]
                );
            }
            out.hashes
                .push(e["hash"].as_str().expect("hash").to_owned());
        }
        match page["next"].as_u64() {
            Some(n) => from = n,
            None => return out,
        }
    }
}

/// What the checks after a scenario found.
#[derive(Debug, Clone, Copy)]
pub struct Verified {
    /// Ledger size on every live node.
    pub size: u64,
    /// Writes and reads the linearizability check placed.
    pub checked: linearizability::Checked,
}

/// The checks every scenario ends with, on the running nodes: heads and Merkle roots
/// converge; every node serves the same entries, each submission once, every acknowledged one
/// at its acknowledged index; the audit finds the ledger intact; the history is linearizable.
pub async fn verify(cluster: &ProcCluster, recorded: &Recorded) -> (Verified, FinalLedger) {
    assert!(
        recorded.errors.is_empty(),
        "steps refused: {:?}",
        &recorded.errors[..recorded.errors.len().min(5)]
    );
    assert!(
        recorded.unanswered.is_empty(),
        "steps never answered after the faults healed: {:?}",
        recorded.unanswered
    );
    let live: Vec<String> = cluster
        .nodes
        .iter()
        .filter(|n| n.child.is_some())
        .map(|n| n.api_addr.clone())
        .collect();
    let client = Client::new(live.clone()).with_credentials(cluster.province.auditor_credentials());
    // The leader may append a checkpoint entry at any time: read until every node serves
    // the same entries as the converged head.
    let deadline = Instant::now() + Duration::from_secs(120);
    let first = loop {
        let head = cluster.converged(recorded.min_size()).await;
        let first = ledger_of(&client, 0).await;
        let mut same = Some(first.hashes.len() as u64) == head["size"].as_u64();
        for (i, node) in live.iter().enumerate().skip(1) {
            let other = ledger_of(&client, i).await;
            let n = first.hashes.len().min(other.hashes.len());
            assert!(
                first.hashes[..n] == other.hashes[..n],
                "{node} serves other entries than {}",
                live[0]
            );
            same &= other.hashes == first.hashes && other.index_of == first.index_of;
        }
        if same {
            break first;
        }
        assert!(
            Instant::now() < deadline,
            "the nodes did not come to serve the same entries"
        );
    };
    for w in &recorded.history.writes {
        if let Some((_, index)) = w.ack {
            assert_eq!(
                first.index_of.get(&w.id),
                Some(&index),
                "acknowledged {} lost or moved",
                w.id
            );
        }
    }
    let (verdict, _) = audit(&client, |_, _| {}).await;
    match verdict {
        Verdict::Intact { entries, .. } => assert!(entries >= first.hashes.len() as u64),
        other => panic!("audit after the faults: {other:?}"),
    }
    let checked = linearizability::check(&recorded.history, &first).unwrap_or_else(|v| {
        let reads = &recorded.history.reads;
        if let Some(t0) = reads.iter().map(|r| r.invoke).min() {
            eprintln!("reads near the violation (ms from the first read):");
            let at = match &v {
                linearizability::Violation::ReadsWentBack { later, .. } => *later,
                linearizability::Violation::StaleRead { read, .. } => *read,
                linearizability::Violation::FutureRead { read, .. } => *read,
                _ => 0,
            };
            for (i, r) in reads.iter().enumerate().skip(at.saturating_sub(6)).take(12) {
                eprintln!(
                    "  #{i} {} [{:?} .. {:?}] size {}",
                    r.node,
                    r.invoke - t0,
                    r.complete - t0,
                    r.size
                );
            }
        }
        panic!("the client-observed history is not linearizable: {v}")
    });
    (
        Verified {
            size: first.hashes.len() as u64,
            checked,
        },
        first,
    )
}

/// A cluster whose nodes sit behind fault proxies: node `i`'s Raft port is reached only
/// through `proxies[i]`.
pub struct ProxiedCluster {
    /// The processes.
    pub cluster: ProcCluster,
    /// One proxy per node, by position.
    pub proxies: Vec<FaultProxy>,
}

impl ProxiedCluster {
    /// Starts `n` node processes, each advertising its proxy's address as its Raft address.
    pub async fn start(n: u64, seed: u64) -> ProxiedCluster {
        Self::start_declared(n, n, seed, |_| {}).await
    }

    /// Declares `declared` nodes in genesis and starts the first `running` of them behind
    /// proxies, with `tune` applied to their configs after the proxies' settings; the others
    /// can be started later ([`ProcCluster::launch`]), without a proxy.
    pub async fn start_declared(
        declared: u64,
        running: u64,
        seed: u64,
        mut tune: impl FnMut(&mut NodeConfig),
    ) -> ProxiedCluster {
        let n = running;
        let mut proxies = Vec::new();
        let mut raft_ports = Vec::new();
        for i in 0..n {
            // The node's own Raft port, picked now so the proxy knows where to forward.
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("pick a port");
            proxies.push(FaultProxy::start(port, seed ^ i).await);
            raft_ports.push(port);
        }
        let advertised: Vec<String> = proxies.iter().map(|p| p.addr.to_string()).collect();
        let cluster = ProcCluster::start_declared(declared, running, |cfg| {
            // A new peer connection waits for the proxy to trace it to its node while a
            // partition is on (tens of milliseconds on a busy machine): elections and
            // heartbeats get time for that.
            cfg.raft.heartbeat = Duration::from_millis(150);
            cfg.raft.election_min = Duration::from_millis(1500);
            cfg.raft.election_max = Duration::from_millis(3000);
            let pos = cfg.node_id as usize - 1;
            cfg.raft_listen = raft_ports[pos].to_string();
            cfg.raft_advertise = Some(advertised[pos].clone());
            tune(cfg);
        })
        .await;
        let c = ProxiedCluster { cluster, proxies };
        c.tell_proxies();
        c
    }

    /// Tells every proxy which process is which node (after a start or restart).
    pub fn tell_proxies(&self) {
        let sources: HashMap<u32, u64> = (0..self.cluster.nodes.len())
            .filter_map(|pos| {
                self.cluster
                    .pid(pos)
                    .map(|pid| (pid, self.cluster.nodes[pos].id))
            })
            .collect();
        for p in &self.proxies {
            p.set_sources(sources.clone());
        }
    }

    /// Cuts the node at `pos` off from every other node, both ways.
    pub fn isolate(&self, pos: usize) {
        let id = self.cluster.nodes[pos].id;
        for (i, p) in self.proxies.iter().enumerate() {
            let mut f = crate::proxy::Faults::default();
            if i == pos {
                f.blackhole_all = true;
            } else {
                f.blackhole_from.insert(id);
            }
            p.set_faults(f);
        }
    }

    /// Lifts every fault.
    pub fn heal(&self) {
        for p in &self.proxies {
            p.heal();
        }
    }
}

/// Whether this process runs as root (needed to mount a tmpfs).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// A small tmpfs mounted for the life of the value (a node's disk that can fill up).
pub struct Tmpfs {
    /// The mount point.
    pub path: PathBuf,
}

fn run_mount(args: &[&str], path: &Path) {
    let out = std::process::Command::new("mount")
        .args(args)
        .arg(path)
        .output()
        .expect("run mount");
    assert!(
        out.status.success(),
        "mount {args:?} {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Tmpfs {
    /// Mounts a tmpfs of `mib` MiB at `path` (created if missing).
    pub fn mount(path: &Path, mib: u64) -> Tmpfs {
        std::fs::create_dir_all(path).expect("mount point");
        run_mount(
            &["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"],
            path,
        );
        Tmpfs {
            path: path.to_owned(),
        }
    }

    /// Grows (or shrinks) the filesystem to `mib` MiB, keeping its files.
    pub fn resize(&self, mib: u64) {
        run_mount(&["-o", &format!("remount,size={mib}m")], &self.path);
    }

    /// Fills the free space with `name` until the disk is full; returns the bytes written.
    pub fn fill(&self, name: &str) -> u64 {
        use std::io::Write as _;
        let mut f = std::fs::File::create(self.path.join(name)).expect("filler file");
        let chunk = vec![0xA5u8; 64 * 1024];
        let mut written = 0u64;
        loop {
            match f.write(&chunk) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                Err(e) => panic!("filling {}: {e}", self.path.display()),
            }
        }
        written
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
    }
}
