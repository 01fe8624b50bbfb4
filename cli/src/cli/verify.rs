//! `verify-receipt`: checks a saved receipt offline against the node keys pinned in the
//! genesis file. No server is involved.

use anyhow::{Context, Result};
use caseledger_client::trust;
use clap::Args;
use proto_types::{Entry, Record};
use std::path::PathBuf;

use super::{print_json, FAILED, OK};

/// `verify-receipt <file> --genesis FILE`.
#[derive(Args, Debug, Clone)]
pub struct VerifyReceiptArgs {
    /// The receipt (as saved by `--save-receipt`).
    pub receipt: PathBuf,
    /// The genesis file whose node keys are trusted.
    #[arg(long)]
    pub genesis: PathBuf,
    /// Print the verdict as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `verify-receipt`: 0 when it verifies, 1 when it does not, 2 when a file is unreadable.
/// A verified receipt of a rejection entry says so: "REJECTED at index N by rule R, included
/// in the tree of size S" (exit 0: the receipt proves the ledger recorded the refusal).
pub fn verify_receipt(args: VerifyReceiptArgs) -> Result<u8> {
    let genesis = std::fs::read_to_string(&args.genesis)
        .with_context(|| format!("reading {}", args.genesis.display()))?;
    let keys = trust::node_keys_from_genesis(&genesis)
        .with_context(|| format!("reading {}", args.genesis.display()))?;
    let bytes = std::fs::read(&args.receipt)
        .with_context(|| format!("reading {}", args.receipt.display()))?;
    let verdict = String::from_utf8(bytes)
        .map_err(|_| "the receipt is not UTF-8 text".to_owned())
        .and_then(|text| trust::verify_receipt_text(&text, &keys).map_err(|e| e.to_string()));
    let summary = match &verdict {
        Ok(r) => {
            let entry =
                Entry::from_bytes(&r.entry_bytes).context("a verified receipt's entry decodes")?;
            let sub = entry.body.record.submission();
            let (outcome, rule, detail) = match &entry.body.record {
                Record::Accepted(_) => ("accepted", None, None),
                Record::Rejected(rej) => ("rejected", Some(rej.rule.code()), Some(&rej.detail)),
            };
            serde_json::json!({
                "verified": true,
                "outcome": outcome,
                "rule": rule,
                "detail": detail,
                "index": r.index,
                "entry_hash": entry.hash.to_hex(),
                "id": sub.payload.id,
                "kind": sub.payload.action.kind_name(),
                "tree_size": r.note.checkpoint().tree_size(),
                "root": hex::encode(r.note.checkpoint().root().as_bytes()),
            })
        }
        Err(e) => serde_json::json!({ "verified": false, "error": e }),
    };
    if args.json {
        print_json(&summary)?;
    } else {
        let text = |k: &str| summary[k].as_str().unwrap_or("").to_owned();
        match &verdict {
            Ok(_) if summary["outcome"] == "rejected" => println!(
                "REJECTED at index {} by rule {}, included in the tree of size {} with root {} \
                 (the receipt verifies: the ledger refused {} {}: {})",
                summary["index"],
                text("rule"),
                summary["tree_size"],
                text("root"),
                text("kind"),
                text("id"),
                text("detail")
            ),
            Ok(_) => println!(
                "VERIFIED: entry {} ({} {}) is in the tree of size {} with root {}",
                summary["index"],
                text("kind"),
                text("id"),
                summary["tree_size"],
                text("root")
            ),
            Err(e) => println!("NOT VERIFIED: {e}"),
        }
    }
    Ok(if verdict.is_ok() { OK } else { FAILED })
}
