//! The write benchmark: a cluster of real `caseledger-node` processes on loopback (fsync on),
//! fed pre-signed realistic case flows over HTTP at several concurrency levels for a fixed
//! time. Reports committed entries/s and latency percentiles per level, and the machine.
//! Each in-flight "client" walks one case at a time, step after step, as a department's
//! system would.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use tokio::sync::Mutex;

use crate::demo::{prepare_dir, real_now_ms, start_cluster, DemoOptions, SimClock, SIM_EPOCH};
use crate::flows::{case_flow, Step};
use crate::http::{Client, SubmitOutcome};
use crate::pilot::Province;

/// Benchmark settings.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Nodes (all voters).
    pub nodes: u64,
    /// Concurrency levels.
    pub levels: Vec<usize>,
    /// Seconds per level.
    pub seconds: u64,
    /// Where the nodes' data goes.
    pub dir: PathBuf,
    /// The `caseledger-node` binary.
    pub node_bin: PathBuf,
}

/// One level's result.
#[derive(Debug, Clone)]
pub struct Level {
    /// Clients in flight.
    pub concurrency: usize,
    /// Entries committed.
    pub committed: u64,
    /// Committed entries per second.
    pub per_second: f64,
    /// Latency percentiles in milliseconds: p50, p99, p99.9.
    pub p50_ms: f64,
    /// p99.
    pub p99_ms: f64,
    /// p99.9.
    pub p999_ms: f64,
    /// Error answers.
    pub errors: u64,
}

/// What machine this is: cores and CPU model.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cores} cores, {model}")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs every level against one cluster.
pub async fn run(opts: BenchOptions) -> Result<Vec<Level>> {
    prepare_dir(&opts.dir)?;
    let demo = DemoOptions {
        nodes: opts.nodes,
        voters: opts.nodes,
        cases: 0,
        cities: 1,
        seed: 1,
        days_per_second: 0.0,
        dir: opts.dir.clone(),
        node_bin: opts.node_bin.clone(),
        export: None,
    };
    let mut province = Province::new(1, 1, opts.nodes, SIM_EPOCH);
    let clock = SimClock {
        real_epoch_ms: real_now_ms(),
        speed: 1.0,
    };
    let nodes = start_cluster(&demo, &mut province, clock).await?;
    let client = Client::new(nodes.apis());
    println!("machine: {}", machine());
    println!(
        "cluster: {} caseledger-node processes on loopback, fsync on",
        opts.nodes
    );
    println!(
        "{:>11} {:>10} {:>12} {:>9} {:>9} {:>9} {:>7}",
        "concurrency", "committed", "entries/s", "p50 ms", "p99 ms", "p99.9 ms", "errors"
    );
    let mut next_case = 0u64;
    let mut out = Vec::new();
    for &c in &opts.levels {
        // Enough pre-signed flows for the level (signing is not measured).
        let cases = (c as u64 * 4).max(200) + opts.seconds * 120;
        // Flows dated a year before the nodes' clock: every claimed and effective time is past.
        let start = proto_types::Timestamp::from_millis(
            SIM_EPOCH.as_millis() - 400 * proto_types::time::DAY_MS,
        );
        let flows: Vec<Vec<Step>> = (next_case..next_case + cases)
            .map(|n| case_flow(&province, 1, n, start).1)
            .collect();
        next_case += cases;
        let queue = Arc::new(Mutex::new(flows));
        let latencies = Arc::new(Mutex::new(Vec::new()));
        let errors = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs(opts.seconds);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..c {
            let (queue, latencies, errors, client) = (
                queue.clone(),
                latencies.clone(),
                errors.clone(),
                client.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                'cases: while Instant::now() < deadline {
                    let Some(flow) = queue.lock().await.pop() else {
                        break;
                    };
                    for step in flow {
                        if Instant::now() >= deadline {
                            break 'cases;
                        }
                        let t = Instant::now();
                        match client.submit_to(w, &step.submission).await {
                            Ok(SubmitOutcome::Committed { .. }) => {
                                mine.push(t.elapsed().as_secs_f64() * 1000.0)
                            }
                            _ => {
                                errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                continue 'cases;
                            }
                        }
                    }
                }
                latencies.lock().await.extend(mine);
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let mut l = Arc::try_unwrap(latencies)
            .map(Mutex::into_inner)
            .unwrap_or_default();
        l.sort_by(f64::total_cmp);
        let level = Level {
            concurrency: c,
            committed: l.len() as u64,
            per_second: l.len() as f64 / elapsed,
            p50_ms: percentile(&l, 0.50),
            p99_ms: percentile(&l, 0.99),
            p999_ms: percentile(&l, 0.999),
            errors: errors.load(std::sync::atomic::Ordering::Relaxed),
        };
        println!(
            "{:>11} {:>10} {:>12.0} {:>9.2} {:>9.2} {:>9.2} {:>7}",
            level.concurrency,
            level.committed,
            level.per_second,
            level.p50_ms,
            level.p99_ms,
            level.p999_ms,
            level.errors
        );
        out.push(level);
    }
    drop(nodes);
    Ok(out)
}
