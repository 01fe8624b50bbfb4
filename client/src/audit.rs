//! The independent audit: stream the whole chain as raw bytes from a node, recompute every
//! entry hash and link, replay every entry through the core's one `apply` function (which
//! verifies every signature against the registry as it stood at that entry) and check that it
//! reproduces the entry byte for byte, rebuild the Merkle tree, and compare the result with the
//! heads of every node given. Trusts no node: everything is recomputed from the bytes.

use proto_types::entry::verify_link;
use proto_types::{apply, ChainHead, Entry, LedgerState, MemState, Outcome, Proposal, SignatureCheck};
use serde::{Deserialize, Serialize};

use crate::http::{Client, ClientError};

/// Content type of canonical bytes.
const CANONICAL: &str = "application/vnd.caseledger.canonical";

/// The audit's conclusion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "verdict")]
pub enum Verdict {
    /// Every check passed.
    Intact {
        /// Entries verified.
        entries: u64,
        /// The head verified, hex.
        head_hash: String,
        /// The Merkle root recomputed, hex.
        root: String,
    },
    /// A check failed at this index (or a node's head disagrees).
    Broken {
        /// The first bad index.
        index: u64,
        /// Why.
        reason: String,
    },
    /// The audit could not finish (a node unreachable, ...).
    Incomplete {
        /// Why.
        reason: String,
    },
}

impl Verdict {
    /// The exit code of `caseledger audit`: 0 intact, 1 broken, 2 could not complete.
    pub fn exit_code(&self) -> u8 {
        match self {
            Verdict::Intact { .. } => 0,
            Verdict::Broken { .. } => 1,
            Verdict::Incomplete { .. } => 2,
        }
    }
}

/// Splits a framed chunk (4-byte big-endian length, then the bytes).
pub fn unframe(mut bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        if bytes.len() < 4 {
            return Err("truncated frame length".into());
        }
        let n = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        bytes = &bytes[4..];
        if bytes.len() < n {
            return Err("truncated frame".into());
        }
        out.push(bytes[..n].to_vec());
        bytes = &bytes[n..];
    }
    Ok(out)
}

/// Replays entries into `state`, checking each; returns the first failure as (index, reason).
pub fn check_entries(state: &mut MemState, entries: &[Vec<u8>]) -> Result<(), (u64, String)> {
    for bytes in entries {
        let head = state.head();
        let entry = Entry::from_bytes(bytes).map_err(|e| (head.size, format!("undecodable entry: {e}")))?;
        verify_link(&head, &entry).map_err(|e| (e.index, e.fault.to_string()))?;
        let proposal = Proposal { submission: entry.body.record.submission().clone(), stamped_at: entry.body.accepted_at };
        match apply(&*state, &proposal, SignatureCheck::Verify) {
            Ok(Outcome::Appended(a)) if a.entry == entry => state.commit(&a),
            Ok(Outcome::Appended(a)) => {
                let why = if a.entry.body.record != entry.body.record {
                    "the rules would have recorded something else (accepted vs rejected, or another rule)"
                } else {
                    "the entry differs from what apply produces"
                };
                return Err((head.size, why.into()));
            }
            Ok(Outcome::Refused(r)) => return Err((head.size, format!("the entry should have been refused: {r}"))),
            Ok(Outcome::Duplicate { index }) => return Err((head.size, format!("duplicate of entry {index}"))),
            Err(never) => match never {},
        }
    }
    Ok(())
}

/// Audits the ledger served by `client`'s first node and compares every node's head.
pub async fn audit(client: &Client, mut progress: impl FnMut(u64, u64)) -> (Verdict, MemState) {
    let mut state = MemState::new();
    match run(client, &mut state, &mut progress).await {
        Ok(v) => (v, state),
        Err(e) => (Verdict::Incomplete { reason: e.to_string() }, state),
    }
}

async fn run(client: &Client, state: &mut MemState, progress: &mut impl FnMut(u64, u64)) -> Result<Verdict, ClientError> {
    let head = client.get_json_from(0, "/v1/head").await?;
    let target = head["size"].as_u64().unwrap_or(0);
    let http = reqwest::Client::new();
    let base = &client.nodes()[0];
    while state.head().size < target {
        let from = state.head().size;
        let url = format!("{base}/v1/entries?from={from}&limit=2000");
        let resp = http.get(&url).header("accept", CANONICAL).send().await.map_err(|e| ClientError::Unreachable(format!("{url}: {e}")))?;
        let bytes = resp.bytes().await.map_err(|e| ClientError::Unreachable(e.to_string()))?;
        let chunk = unframe(&bytes).map_err(|e| ClientError::Protocol { node: base.clone(), detail: e })?;
        if chunk.is_empty() {
            return Ok(Verdict::Broken { index: from, reason: format!("{base} claims {target} entries but serves none from {from}") });
        }
        if let Err((index, reason)) = check_entries(state, &chunk) {
            return Ok(Verdict::Broken { index, reason });
        }
        progress(state.head().size, target);
    }
    let ours: ChainHead = state.head();
    let root = hex::encode(state.merkle_root(ours.size).map_err(|e| match e {})?.as_bytes());
    for (i, node) in client.nodes().iter().enumerate() {
        let h = client.get_json_from(i, "/v1/head").await?;
        let size = h["size"].as_u64().unwrap_or(0);
        if size == ours.size && (h["head_hash"].as_str() != Some(&ours.hash.to_hex()) || h["root"].as_str() != Some(&root)) {
            return Ok(Verdict::Broken { index: size.saturating_sub(1), reason: format!("{node} reports a different head or root at size {size}") });
        }
        if size < ours.size {
            let their_root = hex::encode(state.merkle_root(size).map_err(|e| match e {})?.as_bytes());
            if h["root"].as_str() != Some(&their_root) {
                return Ok(Verdict::Broken { index: size.saturating_sub(1), reason: format!("{node}'s root at size {size} is not a prefix of the audited ledger") });
            }
        }
    }
    Ok(Verdict::Intact { entries: ours.size, head_hash: ours.hash.to_hex(), root })
}
