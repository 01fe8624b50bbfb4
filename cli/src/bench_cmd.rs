//! `caseledger bench`: argument parsing over the lab's `bench` module. Every benchmark is
//! one command; each prints the machine and the commit with its figures (BENCHMARKS.md).

use std::path::PathBuf;

use anyhow::{bail, Result};
use caseledger_lab::bench::{etcd, failover, history, unless_interrupted, write};

/// `caseledger bench`.
#[derive(clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: BenchCmd,
}

#[derive(clap::Subcommand)]
enum BenchCmd {
    /// Write throughput and latency of a cluster of real node processes at several
    /// concurrency levels; with --etcd, the same levels against a 3-member etcd cluster in the
    /// same run, and the ratio.
    Write {
        #[command(flatten)]
        common: Common,
        /// Nodes (all voters).
        #[arg(long, default_value_t = 3)]
        nodes: u64,
        /// Grow each handoff to at least this many signed bytes by attaching evidence
        /// documents (0: as generated, ~270 bytes).
        #[arg(long, default_value_t = 500)]
        payload_bytes: usize,
        /// Also run etcd (Debian's etcd-server; see scripts/bench-etcd.sh) with the same load.
        #[arg(long)]
        etcd: bool,
        /// etcd value size, bytes.
        #[arg(long, default_value_t = 500)]
        etcd_value_bytes: usize,
        /// Submissions per request of the batched table: B > 1 runs two tables in the same
        /// run, single submissions (`POST /v1/entries`) then B per `POST /v1/entries/batch`
        /// (and etcd single puts, then transactions of B puts); figures count submissions.
        /// 1 runs the single table alone.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=256))]
        batch: u64,
    },
    /// Throughput and p99 against cluster size and payload size, in one run.
    Scaling {
        #[command(flatten)]
        common: Common,
        /// Cluster sizes, comma-separated.
        #[arg(long, value_delimiter = ',', default_values_t = vec![3u64, 5])]
        sizes: Vec<u64>,
        /// Payload sizes: each handoff grown to at least this many signed bytes (0: as
        /// generated, ~270), comma-separated.
        #[arg(long, value_delimiter = ',', default_values_t = vec![500usize, 4096])]
        payloads: Vec<usize>,
    },
    /// Cut the leader of a 3-node cluster off by a real network partition (each node in its
    /// own network namespace; needs root and iptables) again and again under load: time to a
    /// new leader, to the first acknowledged write begun after the cut, longest gap with no
    /// acknowledged write; with --etcd, the same cuts against etcd in the same run.
    Failover {
        /// Cuts of the leader per system.
        #[arg(long, default_value_t = 10)]
        cuts: usize,
        /// Workers of the load.
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Seconds each cut is held before the heal.
        #[arg(long, default_value_t = 5.0)]
        hold_seconds: f64,
        /// Seconds after a heal before the next cut.
        #[arg(long, default_value_t = 3.0)]
        settle_seconds: f64,
        /// Milliseconds a request may go unanswered before the worker sends it to the next node.
        #[arg(long, default_value_t = 2000)]
        request_timeout_ms: u64,
        /// Also run the same cuts against etcd (scripts/bench-etcd.sh installs it).
        #[arg(long)]
        etcd: bool,
        /// Where to put the data (default: a new folder under the temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The caseledger-node binary (default: next to this one).
        #[arg(long)]
        node_bin: Option<PathBuf>,
    },
    /// Fill a 3-node cluster to N entries: RSS as it grows, audit rate next to the raw Ed25519
    /// batch rate, a fresh node's catch-up time, disk bytes per entry after compaction.
    History {
        /// Entries to submit.
        #[arg(long, default_value_t = 100_000)]
        entries: u64,
        /// Workers filling the ledger.
        #[arg(long, default_value_t = 256)]
        concurrency: usize,
        /// Grow each handoff to at least this many signed bytes (0: as generated).
        #[arg(long, default_value_t = 500)]
        payload_bytes: usize,
        /// RSS samples on the way.
        #[arg(long, default_value_t = 4)]
        samples: u64,
        /// Seconds spent measuring each raw Ed25519 rate.
        #[arg(long, default_value_t = 3.0)]
        verify_seconds: f64,
        /// Where to put the nodes' data (default: a new folder under the temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The caseledger-node binary (default: next to this one).
        #[arg(long)]
        node_bin: Option<PathBuf>,
    },
}

/// Settings shared by the write benchmarks.
#[derive(clap::Args)]
struct Common {
    /// Concurrency levels, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1usize, 16, 64, 256])]
    levels: Vec<usize>,
    /// Seconds per level.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Entries pre-signed per level and second: the most a level can commit.
    #[arg(long, default_value_t = 15_000)]
    presign_rate: u64,
    /// Where to put the data (default: a new folder under the temp dir).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The caseledger-node binary (default: next to this one).
    #[arg(long)]
    node_bin: Option<PathBuf>,
}

fn temp_dir(given: Option<PathBuf>, what: &str) -> (PathBuf, bool) {
    match given {
        Some(d) => (d, false),
        None => (
            std::env::temp_dir().join(format!("caseledger-bench-{what}-{}", std::process::id())),
            true,
        ),
    }
}

impl Common {
    fn write_options(self, what: &str) -> Result<(write::WriteOptions, bool)> {
        if self.levels.is_empty() || self.levels.contains(&0) {
            bail!("--levels needs one or more concurrency levels above 0");
        }
        if self.seconds == 0 {
            bail!("--seconds must be at least 1");
        }
        let node_bin = match self.node_bin {
            Some(p) => p,
            None => crate::sibling_binary("caseledger-node")?,
        };
        let (dir, temporary) = temp_dir(self.dir, what);
        Ok((
            write::WriteOptions {
                nodes: 3,
                levels: self.levels,
                seconds: self.seconds,
                dir,
                node_bin,
                payload_bytes: 0,
                presign_rate: self.presign_rate,
                batch: 1,
            },
            temporary,
        ))
    }
}

/// Runs `caseledger bench`.
pub async fn bench(args: BenchArgs) -> Result<u8> {
    let (result, dir, temporary) = match args.what {
        BenchCmd::Write {
            common,
            nodes,
            payload_bytes,
            etcd,
            etcd_value_bytes,
            batch,
        } => {
            let (mut opts, temporary) = common.write_options("write")?;
            opts.nodes = nodes;
            opts.batch = batch as usize;
            opts.payload_bytes = payload_bytes;
            let root = opts.dir.clone();
            opts.dir = root.join("caseledger");
            let etcd = if etcd {
                let Some(bin) = etcd::find_binary() else {
                    bail!("--etcd: no etcd binary on PATH; scripts/bench-etcd.sh installs Debian's etcd-server");
                };
                Some(etcd::EtcdOptions {
                    bin,
                    members: 3,
                    dir: root.join("etcd"),
                    value_bytes: etcd_value_bytes,
                    prebuild_rate: opts.presign_rate,
                    batch: opts.batch,
                })
            } else {
                None
            };
            (
                unless_interrupted(write::run(opts, etcd)).await,
                root,
                temporary,
            )
        }
        BenchCmd::Scaling {
            common,
            sizes,
            payloads,
        } => {
            let (write, temporary) = common.write_options("scaling")?;
            if sizes.is_empty() || payloads.is_empty() {
                bail!("--sizes and --payloads need one value or more");
            }
            let dir = write.dir.clone();
            let opts = write::ScalingOptions {
                write,
                sizes,
                payloads,
            };
            (
                unless_interrupted(write::scaling(opts)).await,
                dir,
                temporary,
            )
        }
        BenchCmd::Failover {
            cuts,
            clients,
            hold_seconds,
            settle_seconds,
            request_timeout_ms,
            etcd,
            dir,
            node_bin,
        } => {
            if cuts == 0 || clients == 0 || hold_seconds <= 0.0 || settle_seconds < 0.0 {
                bail!("--cuts, --clients and --hold-seconds must be above 0");
            }
            let node_bin = match node_bin {
                Some(p) => p,
                None => crate::sibling_binary("caseledger-node")?,
            };
            let etcd_bin = if etcd {
                let Some(bin) = etcd::find_binary() else {
                    bail!("--etcd: no etcd binary on PATH; scripts/bench-etcd.sh installs Debian's etcd-server");
                };
                Some(bin)
            } else {
                None
            };
            let (dir, temporary) = temp_dir(dir, "failover");
            let opts = failover::FailoverOptions {
                dir: dir.clone(),
                node_bin,
                etcd_bin,
                cuts,
                clients,
                hold: std::time::Duration::from_secs_f64(hold_seconds),
                settle: std::time::Duration::from_secs_f64(settle_seconds),
                request_timeout: std::time::Duration::from_millis(request_timeout_ms),
            };
            (
                unless_interrupted(failover::run(opts)).await,
                dir,
                temporary,
            )
        }
        BenchCmd::History {
            entries,
            concurrency,
            payload_bytes,
            samples,
            verify_seconds,
            dir,
            node_bin,
        } => {
            if entries == 0 || concurrency == 0 {
                bail!("--entries and --concurrency must be at least 1");
            }
            let node_bin = match node_bin {
                Some(p) => p,
                None => crate::sibling_binary("caseledger-node")?,
            };
            let (dir, temporary) = temp_dir(dir, "history");
            let opts = history::HistoryOptions {
                entries,
                concurrency,
                payload_bytes,
                samples,
                verify_seconds,
                dir: dir.clone(),
                node_bin,
            };
            (unless_interrupted(history::run(opts)).await, dir, temporary)
        }
    };
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result?;
    Ok(0)
}
