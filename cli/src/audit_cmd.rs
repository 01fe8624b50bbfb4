//! `caseledger audit` and `caseledger export`: argument parsing, the progress bar and the
//! verdict's printing, over the library's `audit` module.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use caseledger_client::audit::{self, Report, SavedCheckpoint, Verdict};

/// `caseledger audit`.
#[derive(clap::Args)]
pub struct AuditArgs {
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// A checkpoint saved by an earlier audit: the ledger must extend it (append-only).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Save the verified head (and latest cosigned checkpoint) here for the next audit.
    #[arg(long)]
    save_checkpoint: Option<PathBuf>,
    /// Verify an export file (`caseledger export`) instead of nodes.
    #[arg(long)]
    from_file: Option<PathBuf>,
}

/// `caseledger export`.
#[derive(clap::Args)]
pub struct ExportArgs {
    /// Where to write the export (docs/FORMAT.md §Export).
    #[arg(long)]
    out: PathBuf,
}

/// A progress bar on stderr: done/total, rate, ETA; redrawn at most ten times a second.
struct Progress {
    started: Instant,
    last: Instant,
}

impl Progress {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            last: Instant::now(),
        }
    }

    fn draw(&mut self, done: u64, total: u64) {
        if self.last.elapsed().as_millis() < 100 && done < total {
            return;
        }
        self.last = Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = done as f64 / secs;
        let eta = if rate > 0.0 {
            total.saturating_sub(done) as f64 / rate
        } else {
            0.0
        };
        let width = 30usize;
        let filled = if total == 0 {
            width
        } else {
            (done.min(total) as usize * width) / total as usize
        };
        eprint!(
            "\r  [{}{}] {done}/{total} entries  {rate:.0}/s  ETA {eta:.0}s   ",
            "#".repeat(filled),
            ".".repeat(width - filled)
        );
        let _ = std::io::stderr().flush();
    }
}

/// Runs `caseledger audit`; returns the exit code.
pub async fn audit(env: &crate::cli::Env, args: AuditArgs) -> Result<u8> {
    let saved = match &args.checkpoint {
        None => None,
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading checkpoint {}", p.display()))?;
            Some(
                serde_json::from_str::<SavedCheckpoint>(&text)
                    .with_context(|| format!("parsing checkpoint {}", p.display()))?,
            )
        }
    };
    let mut bar = Progress::new();
    let report: Report = match &args.from_file {
        Some(path) => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || {
                let (report, replay) = audit::audit_file(&path, saved, |d, t| bar.draw(d, t));
                // The command ends here: freeing the replayed state record by record would
                // cost seconds at a million entries (a tenth of the audit's time) for nothing.
                std::mem::forget(replay);
                report
            })
            .await?
        }
        None => {
            let (report, replay) =
                audit::audit_nodes(&env.client()?, saved, |d, t| bar.draw(d, t)).await;
            std::mem::forget(replay);
            report
        }
    };
    eprintln!();
    if let (Some(p), Some(cp)) = (&args.save_checkpoint, &report.checkpoint) {
        std::fs::write(p, serde_json::to_string_pretty(cp)? + "\n")
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        if let Some(source) = &report.streamed_from {
            println!(
                "streamed from {source}; heads compared: {}",
                report.nodes_compared.join(", ")
            );
        }
        for silent in &report.nodes_unreachable {
            println!("not compared (no head from it): {silent}");
        }
        match &report.verdict {
            Verdict::Intact { entries, head_hash, root } => println!(
                "INTACT: {entries} entries, head {head_hash}, root {root}; {} cosigned checkpoints verified; {} ms on {} threads",
                report.checkpoints_verified, report.elapsed_ms, report.threads
            ),
            Verdict::Broken { index, reason } => println!("BROKEN at entry {index}: {reason}"),
            Verdict::Incomplete { reason } => println!("INCOMPLETE: {reason}"),
        }
    }
    Ok(report.verdict.exit_code())
}

/// Runs `caseledger export`; returns the exit code.
pub async fn export(env: &crate::cli::Env, args: ExportArgs) -> Result<u8> {
    let mut bar = Progress::new();
    let n = audit::export(&env.client()?, &args.out, |d, t| bar.draw(d, t)).await?;
    eprintln!();
    println!("exported {n} entries to {}", args.out.display());
    Ok(0)
}
