//! `caseledger-node`: `init` creates a node's data dir and key; `run --config node.toml` runs it;
//! `compact --config node.toml` compacts a stopped node's database.
//!
//! Exit codes: 0 stopped cleanly; 1 failed (a clear error on stderr); 2 bad usage.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use caseledger_node::config::NodeConfig;
use clap::{Parser, Subcommand};

/// mimalloc instead of glibc's malloc: the write path allocates per request and per entry
/// (BENCHMARKS.md §1, the lean write path's levers).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "caseledger-node",
    version,
    about = "A caseledger department node"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a node's data dir, signing key and self-signed TLS certificate of that key;
    /// print the public key for genesis.
    Init {
        /// The data dir to create.
        #[arg(long, env = "CASELEDGER_DATA_DIR")]
        data_dir: PathBuf,
        /// Overwrite an existing key.
        #[arg(long)]
        force: bool,
    },
    /// Run a node.
    Run {
        /// The config file (see deploy/node.toml).
        #[arg(long, env = "CASELEDGER_CONFIG")]
        config: PathBuf,
        /// Override `data_dir`.
        #[arg(long, env = "CASELEDGER_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// Override `raft_listen`.
        #[arg(long, env = "CASELEDGER_RAFT_LISTEN")]
        raft_listen: Option<String>,
        /// Override `api_listen`.
        #[arg(long, env = "CASELEDGER_API_LISTEN")]
        api_listen: Option<String>,
        /// Override `bootstrap`.
        #[arg(long)]
        bootstrap: bool,
        /// Log as JSON lines.
        #[arg(long, env = "CASELEDGER_LOG_JSON")]
        log_json: bool,
    },
    /// Compact a stopped node's database (flush, then compact every column family, so the
    /// purged Raft log and overwritten values leave the disk); print its size before and after.
    Compact {
        /// The node's config file.
        #[arg(long, env = "CASELEDGER_CONFIG")]
        config: PathBuf,
    },
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |rd| {
        rd.flatten()
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    })
}

fn compact(config: &std::path::Path) -> Result<()> {
    let cfg = NodeConfig::load(config)?;
    let path = cfg.data_dir.join("db");
    if !path.is_dir() {
        anyhow::bail!("{} holds no database", path.display());
    }
    let before = dir_bytes(&path);
    // Opening takes RocksDB's lock: a running node's database is refused, not touched.
    let store = caseledger_node::store::Store::open_with(&path, cfg.storage.budget())
        .with_context(|| format!("opening {} (is the node stopped?)", path.display()))?;
    store
        .compact()
        .with_context(|| format!("compacting {}", path.display()))?;
    drop(store);
    println!(
        "compacted {}: {before} bytes before, {} after",
        path.display(),
        dir_bytes(&path)
    );
    Ok(())
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,openraft=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
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
    tracing::info!("shutdown requested: finishing in-flight requests");
}

fn init(data_dir: PathBuf, force: bool) -> Result<()> {
    caseledger_node::keyfile::create_private_dir(&data_dir)?;
    let path = data_dir.join("node.pem");
    if path.exists() && !force {
        anyhow::bail!("{} exists; pass --force to replace it", path.display());
    }
    let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    caseledger_node::keyfile::save(&key, &path)?;
    // The peer port's certificate: the registry pins its key (the node key), not a CA.
    let cert = data_dir.join("node.crt");
    std::fs::write(&cert, caseledger_node::tls::self_signed_pem(&key)?)
        .with_context(|| format!("writing {}", cert.display()))?;
    let public = proto_types::crypto::PublicKey::of(&key);
    println!("node key: {}", path.display());
    println!("TLS certificate: {}", cert.display());
    println!("public key: ed25519:{}", hex::encode(public.as_bytes()));
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Init { data_dir, force } => init(data_dir, force),
        Command::Compact { config } => compact(&config),
        Command::Run {
            config,
            data_dir,
            raft_listen,
            api_listen,
            bootstrap,
            log_json,
        } => (|| {
            let mut cfg = NodeConfig::load(&config)?;
            if let Some(d) = data_dir {
                cfg.data_dir = d;
            }
            if let Some(l) = raft_listen {
                cfg.raft_listen = l;
            }
            if let Some(l) = api_listen {
                cfg.api_listen = l;
            }
            cfg.bootstrap |= bootstrap;
            cfg.log_json |= log_json;
            init_logging(cfg.log_json);
            let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            rt.block_on(caseledger_node::server::run(cfg, shutdown_signal()))
        })(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("caseledger-node: {e:#}");
            ExitCode::FAILURE
        }
    }
}
