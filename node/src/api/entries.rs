//! `POST /v1/entries`: check a signed submission cheaply, propose it through the leader, and
//! answer once it is committed and applied, with a receipt or the specific error.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use proto_types::apply::{verify_submission, Refusal, SignatureCheck};
use proto_types::encoding::decode;
use proto_types::payload::Action;
use proto_types::{Proposal, Submission, Timestamp};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

use super::error::ApiError;
use crate::ledger::ApplyResult;
use crate::node::{NodeCtx, SubmitError};

/// What a committed submission gets back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The ledger index of the entry.
    pub index: u64,
    /// Its chain hash, hex.
    pub entry_hash: String,
    /// Whether this answers a resubmission of an already recorded submission.
    pub duplicate: bool,
}

/// Content type of canonical bytes.
pub const CANONICAL: &str = "application/vnd.caseledger.canonical";

/// Parses a submission from JSON or canonical bytes (by `Content-Type`).
pub fn parse_submission(headers: &HeaderMap, body: &[u8]) -> Result<Submission, ApiError> {
    let ct = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct.starts_with(CANONICAL) || ct.starts_with("application/octet-stream") {
        decode(body).map_err(|e| ApiError::malformed(format!("not a canonical submission: {e}")))
    } else {
        serde_json::from_slice(body).map_err(|e| ApiError::malformed(format!("not a JSON submission: {e}")))
    }
}

/// Ingress checks that mirror apply's (so garbage is refused before Raft): shape, limits,
/// signature against the current registry at the node's time.
fn ingress_check(node: &NodeCtx, sub: &Submission, now: Timestamp) -> Result<(), ApiError> {
    let registry = node.ledger.registry();
    let Some(registry) = registry else {
        // Only a genesis can be proposed into an empty ledger.
        return match sub.payload.action {
            Action::Genesis(_) => Ok(()),
            _ => Err(ApiError::refused(&Refusal::NoGenesis)),
        };
    };
    let limits = &registry.policy.limits;
    if let Action::Handoff(h) = &sub.payload.action {
        if h.note.len() > limits.max_note_bytes as usize {
            return Err(ApiError::too_large(format!("note is {} bytes; the policy allows {}", h.note.len(), limits.max_note_bytes)));
        }
        if h.documents.len() > limits.max_documents as usize {
            return Err(ApiError::too_large(format!("{} documents; the policy allows {}", h.documents.len(), limits.max_documents)));
        }
        if h.persons.len() > limits.max_persons as usize {
            return Err(ApiError::too_large(format!("{} persons; the policy allows {}", h.persons.len(), limits.max_persons)));
        }
    }
    let key = registry.key_for_payload(&sub.payload, now).map_err(|e| ApiError::refused(&Refusal::Key(e)))?;
    verify_submission(&registry, sub, now, SignatureCheck::Verify).map_err(|r| ApiError::refused(&r))?;
    node.metrics.ingress_signatures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    node.ledger.vouch(sub.digest(), key);
    Ok(())
}

/// Maps an apply result to the HTTP answer.
pub fn answer(result: ApplyResult) -> Response {
    match result {
        ApplyResult::Appended { index, hash, rejected: None } => {
            (StatusCode::CREATED, Json(Receipt { index, entry_hash: hex::encode(hash), duplicate: false })).into_response()
        }
        ApplyResult::Appended { index, rejected: Some((rule, detail)), .. } => {
            let mut e = ApiError::new(StatusCode::CONFLICT, &rule.code(), detail);
            e.index = Some(index);
            e.into_response()
        }
        ApplyResult::Duplicate { index } => (StatusCode::OK, Json(serde_json::json!({ "index": index, "duplicate": true }))).into_response(),
        ApplyResult::Refused(r) => ApiError::refused(&r).into_response(),
        ApplyResult::Malformed(m) => ApiError::malformed(m).into_response(),
    }
}

/// `POST /v1/entries`.
pub async fn submit(State(node): State<Arc<NodeCtx>>, headers: HeaderMap, body: Bytes) -> Response {
    let started = Instant::now();
    let sub = match parse_submission(&headers, &body) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let now = node.now();
    if let Err(e) = ingress_check(&node, &sub, now) {
        return e.into_response();
    }
    let proposal = Proposal { submission: sub, stamped_at: now };
    match node.submit(proposal).await {
        Ok(result) => {
            node.metrics.observe_commit(started.elapsed().as_secs_f64());
            let mut resp = answer(result);
            if let Ok(v) = node.ledger.head().size.to_string().parse() {
                resp.headers_mut().insert(super::APPLIED_HEADER, v);
            }
            resp
        }
        Err(SubmitError::Forwarded(resp)) => resp,
        Err(SubmitError::Unavailable(m)) => ApiError::unavailable(m).into_response(),
    }
}
