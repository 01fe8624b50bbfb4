//! `caseledger`: the client CLI.
//!
//! Exit codes: 0 success (audit: intact); 1 failure (audit: broken); 2 could not run (audit:
//! could not complete; also bad usage).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use caseledger_client::audit::{audit, Verdict};
use caseledger_client::demo::{self, DemoOptions};
use caseledger_client::http::Client;
use caseledger_client::keys;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "caseledger", version, about = "caseledger client: sign, submit, query, audit")]
struct Cli {
    /// Nodes to talk to (`host:port`), comma-separated or repeated.
    #[arg(long = "node", global = true, env = "CASELEDGER_NODES", value_delimiter = ',')]
    node_addrs: Vec<String>,
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
    Head,
    /// Re-verify the whole chain from the bytes, trusting no node.
    Audit {
        /// Print the verdict as JSON.
        #[arg(long)]
        json: bool,
    },
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
    },
}

async fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Cmd::Keygen { out } => {
            let key = keys::generate();
            keys::save_pem(&key, &out)?;
            println!("{}", keys::public_key_text(&key));
            Ok(0)
        }
        Cmd::Head => {
            let client = Client::new(cli.node_addrs.clone());
            for i in 0..client.nodes().len() {
                match client.get_json_from(i, "/v1/head").await {
                    Ok(h) => println!("{}  size {}  head {}  root {}", client.nodes()[i], h["size"], h["head_hash"].as_str().unwrap_or("?"), h["root"].as_str().unwrap_or("?")),
                    Err(e) => println!("{}  unreachable: {e}", client.nodes()[i]),
                }
            }
            Ok(0)
        }
        Cmd::Audit { json } => {
            let client = Client::new(cli.node_addrs.clone());
            let (verdict, _) = audit(&client, |done, total| {
                if done % 10_000 < 2000 {
                    eprint!("\r  {done}/{total} entries verified");
                }
            })
            .await;
            eprintln!();
            if json {
                println!("{}", serde_json::to_string_pretty(&verdict)?);
            } else {
                match &verdict {
                    Verdict::Intact { entries, head_hash, root } => println!("INTACT: {entries} entries, head {head_hash}, root {root}"),
                    Verdict::Broken { index, reason } => println!("BROKEN at entry {index}: {reason}"),
                    Verdict::Incomplete { reason } => println!("INCOMPLETE: {reason}"),
                }
            }
            Ok(verdict.exit_code())
        }
        Cmd::Demo { nodes, voters, cases, cities, seed, days_per_second, dir, node_bin, exit } => {
            let node_bin = match node_bin {
                Some(p) => p,
                None => std::env::current_exe()?.parent().context("binary folder")?.join("caseledger-node"),
            };
            let dir = dir.unwrap_or_else(|| std::env::temp_dir().join(format!("caseledger-demo-{}", std::process::id())));
            let opts = DemoOptions { nodes, voters, cases, cities, seed, days_per_second, dir, node_bin };
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
