//! The benchmarks (issue 7), each one command of `caseledger bench`:
//!
//! - [`write`]: write throughput and latency of a cluster of real `caseledger-node` processes
//!   on loopback (fsync on) at several concurrency levels, optionally side by side with a
//!   3-member etcd cluster driven by the same load generator ([`etcd`]); and the scaling
//!   curve over cluster sizes and payload sizes.
//! - [`failover`]: the leader of a 3-node cluster cut off by a real network partition (network
//!   namespaces, [`crate::netns`]) again and again under a 64-client load: time to a new
//!   leader, to the first acknowledged write begun after the cut, and the longest gap with no
//!   acknowledged write; the same cuts against etcd in the same run.
//! - [`history`]: a cluster filled to N entries: RSS as history grows, the audit rate next
//!   to the machine's raw Ed25519 batch-verification rate ([`verify_rate`]), a fresh node's
//!   catch-up time, and disk bytes per entry after compaction.
//!
//! Every report starts with the machine and the commit, so figures can be recorded as printed.

pub mod etcd;
pub mod failover;
pub mod history;
pub mod load;
pub mod verify_rate;
pub mod write;

use std::path::Path;
use std::process::Command;

/// What machine this is: cores, CPU model, memory and kernel, on one line.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU", str::trim)
        .to_owned();
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse::<u64>().ok())
        })
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| "unknown kernel".to_owned(), |k| k.trim().to_owned());
    format!(
        "{cores} cores, {model}, {:.1} GiB RAM, Linux {kernel}",
        mem_kib as f64 / (1024.0 * 1024.0)
    )
}

/// The commit of the current directory's git checkout (with `+dirty` when it has local
/// changes), or a note saying it is unknown.
pub fn commit() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(c) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{c}+dirty")
            } else {
                c
            }
        }
        None => "unknown (not run inside a git checkout)".into(),
    }
}

/// Prints the header every benchmark starts with: what, the machine, the commit, the time.
pub fn print_header(what: &str) {
    let now = time_now_utc();
    println!("caseledger bench {what}");
    println!("machine: {}", machine());
    println!("commit:  {}", commit());
    println!("date:    {now}");
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let parts: Vec<&str> = load.split_whitespace().take(3).collect();
        println!("load average at start: {}", parts.join(" "));
    }
}

fn time_now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    proto_types::Timestamp::from_millis(secs * 1000).to_string()
}

/// Resident memory of a process (`VmRSS` and its peak `VmHWM`), KiB.
pub fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// CPU time (user + system, every thread) the processes have used so far, seconds; from
/// `/proc/<pid>/stat` (fields 14 and 15, in Linux's fixed 100 ticks per second). A process
/// that is gone counts 0.
pub fn cpu_seconds(pids: &[u32]) -> f64 {
    pids.iter()
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The command name (field 2) is in parentheses and may hold spaces.
            let rest = &stat[stat.rfind(')')? + 1..];
            let fields: Vec<&str> = rest.split_whitespace().collect();
            // `rest` starts at field 3 (state): utime is field 14, stime 15.
            let ticks =
                fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
            Some(ticks as f64 / 100.0)
        })
        .sum()
}

/// Bytes of every file under `dir`, recursively.
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// A benchmark's cluster of real node processes on loopback, on the real clock.
pub(crate) struct BenchCluster {
    /// The running nodes (stopped when dropped).
    pub nodes: crate::demo::Nodes,
    /// The province its genesis declares.
    pub province: crate::pilot::Province,
    /// The clock the nodes run on (for nodes started later).
    pub clock: crate::demo::SimClock,
}

/// Starts `started` voters of the `declared` nodes a one-city province's genesis declares,
/// with their data under `dir` (which must be empty or absent).
pub(crate) async fn start_cluster(
    dir: &Path,
    node_bin: &Path,
    started: u64,
    declared: u64,
) -> anyhow::Result<BenchCluster> {
    start_cluster_in(dir, node_bin, started, declared, None).await
}

/// [`start_cluster`], node `i` inside namespace `i` of `netns` if given.
pub(crate) async fn start_cluster_in(
    dir: &Path,
    node_bin: &Path,
    started: u64,
    declared: u64,
    netns: Option<&crate::netns::Namespaces>,
) -> anyhow::Result<BenchCluster> {
    crate::demo::prepare_dir(dir)?;
    let demo = crate::demo::DemoOptions {
        nodes: started,
        voters: started,
        cases: 0,
        cities: 1,
        seed: 1,
        days_per_second: 0.0,
        dir: dir.to_path_buf(),
        node_bin: node_bin.to_path_buf(),
        export: None,
        missing_custody_percent: crate::flows::MISSING_CUSTODY_PERCENT,
    };
    let mut province = crate::pilot::Province::new(1, 1, declared, crate::demo::SIM_EPOCH);
    let clock = crate::demo::SimClock {
        real_epoch_ms: crate::demo::real_now_ms(),
        speed: 1.0,
    };
    let nodes = crate::demo::start_cluster_in(&demo, &mut province, clock, netns).await?;
    Ok(BenchCluster {
        nodes,
        province,
        clock,
    })
}

impl BenchCluster {
    /// Where the load generator submits: every node's `POST /v1/entries`, canonical bytes.
    pub(crate) fn submissions(&self) -> load::Target {
        load::Target {
            urls: self
                .nodes
                .apis()
                .iter()
                .map(|a| format!("http://{a}/v1/entries"))
                .collect(),
            content_type: caseledger_client::http::CANONICAL,
            count: load::Count::One,
        }
    }

    /// Where the load generator submits batches: every node's `POST /v1/entries/batch`,
    /// canonical framing; each answer counts its recorded submissions.
    pub(crate) fn batches(&self) -> load::Target {
        load::Target {
            urls: self
                .nodes
                .apis()
                .iter()
                .map(|a| format!("http://{a}/v1/entries/batch"))
                .collect(),
            content_type: caseledger_client::http::CANONICAL,
            count: load::Count::ReceiptSet,
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn interrupted() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        () = term => {},
    }
}

/// Runs `fut` unless interrupted first; dropping it stops the clusters it started.
pub async fn unless_interrupted(
    fut: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    tokio::select! {
        r = fut => r,
        () = interrupted() => anyhow::bail!("interrupted: the clusters were stopped"),
    }
}
