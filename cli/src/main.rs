//! `caseledger`: the client CLI.
//!
//! Exit codes: 0 success (audit: intact; verify-receipt: verified); 1 failure: the server
//! refused or rejected the step, the thing asked for was not found, or a verification failed
//! (audit: broken); 2 could not run (bad usage, unreadable file, no node answered; audit:
//! could not complete).
//!
//! Nodes come from `--node`, else `CASELEDGER_NODES`, else `nodes = [...]` in the config file
//! (`--config FILE`, default `~/.config/caseledger/client.toml`), which may also give the
//! signing `key`, `org` and `key_id`, and `ca_cert`: the CA certificates (PEM) trusted for
//! `https://` nodes (`--ca-cert`, `CASELEDGER_CA_CERT`).

mod audit_cmd;
mod bench_cmd;
mod cli;
mod table;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use caseledger_client::keys;
use caseledger_lab::demo::{self, DemoOptions};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "caseledger",
    version,
    about = "caseledger client: sign, submit, query, audit"
)]
struct Cli {
    /// Nodes to talk to (`host:port`), comma-separated or repeated.
    #[arg(
        long = "node",
        global = true,
        env = "CASELEDGER_NODES",
        value_delimiter = ','
    )]
    node_addrs: Vec<String>,
    /// Config file (default: ~/.config/caseledger/client.toml if it exists).
    #[arg(long, global = true, env = "CASELEDGER_CONFIG")]
    config: Option<PathBuf>,
    /// CA certificates (PEM) to trust for `https://` nodes (default: `ca_cert` in the file).
    #[arg(long, global = true, env = "CASELEDGER_CA_CERT")]
    ca_cert: Option<PathBuf>,
    /// Print each attempt of a submission on stderr (which node, what it answered, whether
    /// another node is tried next).
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generate a signing key (PKCS#8 PEM) and print its public key in the registry's form.
    Keygen {
        /// Where to write the private key.
        #[arg(long)]
        out: PathBuf,
    },
    /// Show the ledger's head as each node reports it.
    Head(cli::read::HeadArgs),
    /// Sign and submit a handoff (from flags or a JSON file); print the receipt.
    Submit(cli::sign::SubmitArgs),
    /// Sign for a handoff (签收) as its receiver.
    Receive(cli::sign::AnswerArgs),
    /// Accept a handoff (受理) as its receiver.
    Accept(cli::sign::AnswerArgs),
    /// Return a handoff for completion (退回补正) as its receiver.
    Return(cli::sign::ReturnArgs),
    /// File a case (立案).
    File(cli::sign::FileArgs),
    /// Record a coercive measure on a person.
    Measure(cli::sign::MeasureArgs),
    /// Show a case: stage, holder, timeline and handoffs.
    Case(cli::read::CaseArgs),
    /// Prove that an entry is in the ledger, checking the proof locally.
    Prove(cli::read::ProveArgs),
    /// Verify a saved receipt offline against the node keys of a genesis file.
    VerifyReceipt(cli::verify::VerifyReceiptArgs),
    /// Follow new entries.
    Tail(cli::read::TailArgs),
    /// Handoffs past their due time.
    Overdue(cli::read::OverdueArgs),
    /// Counts and durations per organisation, kind, stage and case type.
    Stats(cli::read::StatsArgs),
    /// Change who runs the cluster: approve, propose and follow membership changes.
    Membership {
        /// What to do.
        #[command(subcommand)]
        cmd: cli::membership::MembershipCmd,
    },
    /// Re-verify the whole chain from the bytes, trusting no node.
    Audit(audit_cmd::AuditArgs),
    /// Write the raw ledger (every entry's canonical bytes) to a file an auditor can keep.
    Export(audit_cmd::ExportArgs),
    /// Benchmarks (BENCHMARKS.md): `write [--etcd]`, `scaling`, `failover [--etcd]`, `history`.
    Bench(bench_cmd::BenchArgs),
    /// Run a local multi-department cluster with a realistic workload, audit it, summarise.
    Demo {
        /// Department nodes (at least 5).
        #[arg(long, default_value_t = 5)]
        nodes: u64,
        /// Raft voters among them (the rest are learners).
        #[arg(long, default_value_t = 3)]
        voters: u64,
        /// Cases to run.
        #[arg(long, default_value_t = 300)]
        cases: u64,
        /// Cities of the province (1-5).
        #[arg(long, default_value_t = 3)]
        cities: usize,
        /// Workload seed: the same seed gives the same signed payloads.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Simulated days per real second.
        #[arg(long, default_value_t = 2.0)]
        days_per_second: f64,
        /// Where to put the nodes' data (default: a new folder under the temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The caseledger-node binary (default: next to this one).
        #[arg(long)]
        node_bin: Option<PathBuf>,
        /// Exit after the summary instead of keeping the nodes running until Ctrl-C.
        #[arg(long)]
        exit: bool,
        /// Export the ledger to this file after the audit (FORMAT.md §Export).
        #[arg(long)]
        export: Option<PathBuf>,
        /// Percent of custody cases sent for prosecution without their custody transfer (换押),
        /// on purpose: the missing custody transfers the summary counts.
        #[arg(long, default_value_t = caseledger_lab::flows::MISSING_CUSTODY_PERCENT,
              value_parser = clap::value_parser!(u64).range(0..=100))]
        missing_custody_percent: u64,
    },
}

async fn run(cli: Cli) -> Result<u8> {
    let env = cli::Env::new(
        cli.node_addrs.clone(),
        cli.config.clone(),
        cli.ca_cert.clone(),
    )
    .verbose(cli.verbose);
    match cli.command {
        Cmd::Keygen { out } => {
            let key = keys::generate();
            keys::save_pem(&key, &out)?;
            println!("{}", keys::public_key_text(&key));
            Ok(0)
        }
        Cmd::Head(args) => cli::read::head(&env, args).await,
        Cmd::Submit(args) => cli::sign::submit(&env, args).await,
        Cmd::Receive(args) => cli::sign::answer(&env, args, false).await,
        Cmd::Accept(args) => cli::sign::answer(&env, args, true).await,
        Cmd::Return(args) => cli::sign::give_back(&env, args).await,
        Cmd::File(args) => cli::sign::file(&env, args).await,
        Cmd::Measure(args) => cli::sign::measure(&env, args).await,
        Cmd::Case(args) => cli::read::case(&env, args).await,
        Cmd::Prove(args) => cli::read::prove(&env, args).await,
        Cmd::VerifyReceipt(args) => cli::verify::verify_receipt(args),
        Cmd::Tail(args) => cli::read::tail(&env, args).await,
        Cmd::Overdue(args) => cli::read::overdue(&env, args).await,
        Cmd::Stats(args) => cli::read::stats(&env, args).await,
        Cmd::Membership { cmd } => cli::membership::run(&env, cmd).await,
        Cmd::Audit(args) => audit_cmd::audit(&env, args).await,
        Cmd::Export(args) => audit_cmd::export(&env, args).await,
        Cmd::Bench(args) => bench_cmd::bench(args).await,
        Cmd::Demo {
            nodes,
            voters,
            cases,
            cities,
            seed,
            days_per_second,
            dir,
            node_bin,
            exit,
            export,
            missing_custody_percent,
        } => {
            let node_bin = match node_bin {
                Some(p) => p,
                None => sibling_binary("caseledger-node")?,
            };
            let dir = dir.unwrap_or_else(|| {
                std::env::temp_dir().join(format!("caseledger-demo-{}", std::process::id()))
            });
            let opts = DemoOptions {
                nodes,
                voters,
                cases,
                cities,
                seed,
                days_per_second,
                dir,
                node_bin,
                export,
                missing_custody_percent,
            };
            let hold = async move {
                if !exit {
                    println!("the nodes keep running: explore with `caseledger --node <addr> head` or `audit`; Ctrl-C stops them");
                    let _ = tokio::signal::ctrl_c().await;
                }
            };
            let report = demo::run(opts, hold).await?;
            Ok(report.verdict.exit_code())
        }
    }
}

/// A binary installed next to this one.
fn sibling_binary(name: &str) -> Result<PathBuf> {
    Ok(std::env::current_exe()?
        .parent()
        .context("the folder of this binary")?
        .join(name))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("caseledger: starting the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("caseledger: {e:#}");
            ExitCode::from(2)
        }
    }
}
