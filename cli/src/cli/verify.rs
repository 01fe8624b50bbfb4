//! `verify-receipt`: checks a saved receipt offline against the node keys pinned in the
//! genesis file. No server is involved.

use anyhow::{Context, Result};
use caseledger_client::trust;
use clap::Args;
use proto_types::{Entry, Record};
use serde::Serialize;
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

/// What `verify-receipt --json` prints for a receipt that verifies (keys in name order, as
/// before: `print_json` prints a `serde_json::Value`, whose objects sort their keys).
#[derive(Debug, Serialize)]
struct Verified {
    verified: bool,
    outcome: &'static str,
    rule: Option<String>,
    detail: Option<String>,
    index: u64,
    entry_hash: String,
    id: String,
    kind: &'static str,
    tree_size: u64,
    root: String,
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
                Record::Rejected(rej) => {
                    ("rejected", Some(rej.rule.code()), Some(rej.detail.clone()))
                }
            };
            Ok(Verified {
                verified: true,
                outcome,
                rule,
                detail,
                index: r.index,
                entry_hash: entry.hash.to_hex(),
                id: sub.payload.id.to_string(),
                kind: sub.payload.action.kind_name(),
                tree_size: r.note.checkpoint().tree_size(),
                root: hex::encode(r.note.checkpoint().root().as_bytes()),
            })
        }
        Err(e) => Err(e),
    };
    if args.json {
        let json = match &summary {
            Ok(v) => serde_json::to_value(v).context("printing JSON")?,
            Err(e) => serde_json::json!({ "verified": false, "error": e }),
        };
        print_json(&json)?;
    } else {
        match &summary {
            Ok(v) if v.outcome == "rejected" => println!(
                "REJECTED at index {} by rule {}, included in the tree of size {} with root {} \
                 (the receipt verifies: the ledger refused {} {}: {})",
                v.index,
                v.rule.as_deref().unwrap_or(""),
                v.tree_size,
                v.root,
                v.kind,
                v.id,
                v.detail.as_deref().unwrap_or("")
            ),
            Ok(v) => println!(
                "VERIFIED: entry {} ({} {}) is in the tree of size {} with root {}",
                v.index, v.kind, v.id, v.tree_size, v.root
            ),
            Err(e) => println!("NOT VERIFIED: {e}"),
        }
    }
    Ok(if verdict.is_ok() { OK } else { FAILED })
}
