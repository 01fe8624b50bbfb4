//! Offline checks against what an auditor trusts: the node keys pinned in the genesis file.
//! No server is needed.

use ed25519_dalek::VerifyingKey;
use proto_types::checkpoint::node_key_name;
use proto_types::receipt::{self, Receipt, ReceiptError};
use proto_types::wire::{BatchOutcome, ReceiptSet, ReceiptSetError};
use proto_types::{Action, Entry, Submission};

/// Why trusted keys could not be read from a genesis file.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The file is not a signed submission in JSON.
    #[error("not a genesis submission: {0}")]
    NotASubmission(String),
    /// The submission is another action.
    #[error("the submission is a {0}, not a genesis")]
    NotGenesis(&'static str),
    /// A pinned node key is not a valid Ed25519 key.
    #[error("node {0}'s signing key is not a valid Ed25519 key")]
    BadKey(u64),
}

/// The node keys a genesis pins, by their name in checkpoint notes (`node-<id>`).
pub fn node_keys_from_genesis(
    genesis_json: &str,
) -> Result<Vec<(String, VerifyingKey)>, TrustError> {
    let sub: Submission = serde_json::from_str(genesis_json)
        .map_err(|e| TrustError::NotASubmission(e.to_string()))?;
    let Action::Genesis(genesis) = &sub.payload.action else {
        return Err(TrustError::NotGenesis(sub.payload.action.kind_name()));
    };
    genesis
        .nodes
        .iter()
        .map(|n| {
            let key = n
                .signing_key
                .to_verifying_key()
                .map_err(|_| TrustError::BadKey(n.node_id))?;
            Ok((node_key_name(n.node_id), key))
        })
        .collect()
}

/// Parses a receipt's text and verifies it, for the entry it carries, against `keys`.
pub fn verify_receipt_text(
    text: &str,
    keys: &[(String, VerifyingKey)],
) -> Result<Receipt, ReceiptError> {
    let r = Receipt::parse(text)?;
    receipt::verify(&r, &r.entry_bytes, keys)?;
    Ok(r)
}

/// Why an item of a receipt set does not verify.
#[derive(Debug, thiserror::Error)]
pub enum SetItemError {
    /// The item's fields do not make a receipt.
    #[error(transparent)]
    Set(#[from] ReceiptSetError),
    /// Its receipt does not verify (docs/FORMAT.md §Receipt).
    #[error(transparent)]
    Receipt(#[from] ReceiptError),
    /// The set's `tree_size` or `root` is not its tree head's.
    #[error("the set's tree size or root is not its tree head's")]
    HeadMismatch,
    /// The item's `entry_hash` is not its entry's.
    #[error("item {0}: entry_hash is not its entry's hash")]
    HashMismatch(u64),
}

/// Verifies every item of a batch's receipt set against `keys` (the node keys a genesis
/// pins): each recorded item's entry and inclusion path against the set's one signed tree
/// head, as a single receipt is verified. One result per item, in order: its receipt, or
/// `None` for a refused item (nothing recorded, nothing to prove).
pub fn verify_receipt_set(
    set: &ReceiptSet,
    keys: &[(String, VerifyingKey)],
) -> Vec<Result<Option<Receipt>, SetItemError>> {
    set.results
        .iter()
        .map(|item| {
            if item.outcome == BatchOutcome::Refused {
                return Ok(None);
            }
            let r = set.receipt(item)?;
            let cp = r.note.checkpoint();
            if cp.tree_size() != set.tree_size || hex::encode(cp.root().as_bytes()) != set.root {
                return Err(SetItemError::HeadMismatch);
            }
            receipt::verify(&r, &r.entry_bytes, keys)?;
            let entry = Entry::from_bytes(&r.entry_bytes)
                .map_err(|e| ReceiptError::Entry(e.to_string()))?;
            if item.entry_hash.as_deref() != Some(entry.hash.to_hex().as_str()) {
                return Err(SetItemError::HashMismatch(item.position));
            }
            Ok(Some(r))
        })
        .collect()
}
