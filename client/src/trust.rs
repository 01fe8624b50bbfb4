//! Offline checks against what an auditor trusts: the node keys pinned in the genesis file.
//! No server is needed.

use ed25519_dalek::VerifyingKey;
use proto_types::checkpoint::node_key_name;
use proto_types::receipt::{self, Receipt, ReceiptError};
use proto_types::{Action, Submission};

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
