//! `POST /v1/entries/batch`: 1..N signed submissions in one request (docs/FORMAT.md §Batch),
//! each checked at ingress as the single route checks one, independently; the accepted ones
//! are proposed together (one Raft entry, `service::submit::submit_all`) and the answer is a
//! receipt set: one signed tree head and, per submission, its outcome, index, entry and
//! inclusion path against that tree head (`service::receipts::TreeHeads::proofs`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use proto_types::encoding::decode;
use proto_types::framing::unframe;
use proto_types::{Entry, Proposal, Record, Submission};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;
use utoipa::ToSchema;

use super::entries::ingress_check;
use super::error::{ApiError, ErrorBody, ErrorCode};
use super::CANONICAL;
use crate::ledger::{ApplyResult, Reader};
use crate::node::NodeCtx;
use crate::service::submit::{Route, SubmitError};
use crate::store::blocking;
use proto_types::wire::OCTET_STREAM;

/// What one submission of a batch came to (`proto_types::wire::BatchOutcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BatchOutcome {
    /// Appended now as an accepted entry.
    Appended,
    /// Recorded before: the first entry (`code` names the rule if it is a rejection).
    Duplicate,
    /// Appended now as a rejection entry; `code` is the rule broken.
    Rejected,
    /// Refused, not recorded; `code` is the single route's error code.
    Refused,
}

/// One submission's result (`proto_types::wire::BatchItem`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BatchItem {
    /// Its position in the batch, from 0.
    pub position: u64,
    /// What it came to.
    pub outcome: BatchOutcome,
    /// The single route's error code of a refusal, or the rule of a rejection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub code: Option<ErrorCode>,
    /// For people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The ledger index of its entry (all but `REFUSED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// Its entry's chain hash, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_hash: Option<String>,
    /// Its entry's canonical bytes (docs/FORMAT.md §Entry), hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_hex: Option<String>,
    /// `PATH(index, D[tree_size])` against the set's tree head, leaf side first, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion: Option<Vec<String>>,
}

/// The answer to a batch (`proto_types::wire::ReceiptSet`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReceiptSet {
    /// The signed tree head, a C2SP checkpoint note signed by this node (`node-<id>`),
    /// covering every index of `results`: signed once for the batch.
    pub tree_head: String,
    /// Its tree size.
    pub tree_size: u64,
    /// Its Merkle root, hex.
    pub root: String,
    /// One per submission, in batch order.
    pub results: Vec<BatchItem>,
}

impl BatchItem {
    /// Its position and outcome, nothing else yet.
    pub(super) fn new(position: usize, outcome: BatchOutcome) -> Self {
        Self {
            position: position as u64,
            outcome,
            code: None,
            message: None,
            index: None,
            entry_hash: None,
            entry_hex: None,
            inclusion: None,
        }
    }

    fn refused(position: usize, e: &ApiError) -> Self {
        Self {
            code: Some(e.code.clone()),
            message: Some(e.message.clone()),
            ..Self::new(position, BatchOutcome::Refused)
        }
    }
}

/// The submissions of a batch body: canonical framing (docs/FORMAT.md §Batch) by
/// `Content-Type`, else a JSON array. Empty, more than `max`, or an item that does not
/// decode: the whole batch is refused (400 naming the position, or 413).
pub fn parse_batch(
    headers: &HeaderMap,
    body: &[u8],
    max: usize,
) -> Result<Vec<Submission>, ApiError> {
    let ct = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let too_many = |n: usize| {
        ApiError::too_large(format!(
            "{n} submissions in one batch; this node takes at most {max}"
        ))
    };
    let subs = if ct.starts_with(CANONICAL) || ct.starts_with(OCTET_STREAM) {
        let frames =
            unframe(body).map_err(|e| ApiError::malformed(format!("not a framed batch: {e}")))?;
        if frames.len() > max {
            return Err(too_many(frames.len()));
        }
        frames
            .iter()
            .enumerate()
            .map(|(i, f)| {
                decode(f).map_err(|e| {
                    ApiError::malformed(format!("position {i}: not a canonical submission: {e}"))
                })
            })
            .collect::<Result<Vec<Submission>, _>>()?
    } else {
        let values: Vec<serde_json::Value> = serde_json::from_slice(body)
            .map_err(|e| ApiError::malformed(format!("not a JSON array of submissions: {e}")))?;
        if values.len() > max {
            return Err(too_many(values.len()));
        }
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                serde_json::from_value(v).map_err(|e| {
                    ApiError::malformed(format!("position {i}: not a JSON submission: {e}"))
                })
            })
            .collect::<Result<Vec<Submission>, _>>()?
    };
    if subs.is_empty() {
        return Err(ApiError::malformed(
            "position 0: an empty batch (a batch holds 1 or more submissions)",
        ));
    }
    Ok(subs)
}

/// What the ingress made of one submission before anything is proposed.
enum Admitted {
    /// To propose.
    Propose(Box<Proposal>),
    /// Answered already: a refusal, or a resubmission of a recorded submission.
    Answered(BatchItem),
}

/// The single route's ingress for one submission of the batch: the same checks and the same
/// answer to a refusal (a key's state only to whoever holds the key), a recorded submission's
/// first entry even if it would be refused now, and the signer charged once.
async fn admit(node: &NodeCtx, position: usize, sub: Submission) -> Result<Admitted, ApiError> {
    let now = node.now();
    if let Err(e) = ingress_check(node, &sub, now).await {
        let store = node.store.clone();
        let id = sub.payload.id.clone();
        let first = blocking(move || Reader::new(&store).submission(&id))
            .await
            .map_err(|read| ApiError::internal("reading the submission index", read))?;
        return Ok(Admitted::Answered(match first {
            Some(first) if first.digest == sub.digest() => BatchItem {
                index: Some(first.index),
                ..BatchItem::new(position, BatchOutcome::Duplicate)
            },
            _ => {
                tracing::debug!(position, code = %e.code, reason = ?e.reason, "batch item refused");
                BatchItem::refused(position, &e)
            }
        }));
    }
    // Every submission of a batch is charged to its signer, once, after its signature
    // verified (`authenticate` charges no caller on the submission routes).
    if let Some(org) = sub.payload.signer_org() {
        if let Err(e) = node.admission.charge(org.as_str()) {
            return Ok(Admitted::Answered(BatchItem::refused(
                position,
                &ApiError::from(e),
            )));
        }
    }
    Ok(Admitted::Propose(Box::new(Proposal {
        submission: sub,
        stamped_at: now,
    })))
}

/// An apply result as a batch item (its proofs are added after).
fn item_of(position: usize, result: ApplyResult) -> BatchItem {
    match result {
        ApplyResult::Appended {
            index,
            rejected: None,
            ..
        } => BatchItem {
            index: Some(index),
            ..BatchItem::new(position, BatchOutcome::Appended)
        },
        ApplyResult::Appended {
            index,
            rejected: Some((rule, detail)),
            ..
        } => BatchItem {
            index: Some(index),
            code: Some(rule.into()),
            message: Some(detail),
            ..BatchItem::new(position, BatchOutcome::Rejected)
        },
        ApplyResult::Duplicate { index } => BatchItem {
            index: Some(index),
            ..BatchItem::new(position, BatchOutcome::Duplicate)
        },
        ApplyResult::Refused(r) => BatchItem::refused(position, &ApiError::refused(&r)),
        ApplyResult::Malformed(m) => BatchItem::refused(position, &ApiError::malformed(m)),
    }
}

/// `POST /v1/entries/batch`: 1..N signed submissions, as canonical framing (each
/// submission's canonical bytes after its 4-byte big-endian length, docs/FORMAT.md §Batch)
/// with `Content-Type: application/vnd.caseledger.canonical`, or as a JSON array.
///
/// Access: as `POST /v1/entries`: each submission is authenticated by its own signature and
/// charged to its signer's rate, once; request signature headers are optional. 200 whenever
/// the batch was processed, whatever each submission came to; a follower forwards the batch
/// to the leader as it came.
#[utoipa::path(post, path = "/v1/entries/batch", tag = "entries",
    request_body(description = "Signed submissions: canonical framing, or a JSON array of `Submission`s",
        content((Vec<u8> = "application/vnd.caseledger.canonical"), (Object = "application/json"))),
    responses(
        (status = 200, description = "Processed: one signed tree head and each submission's outcome (APPENDED, DUPLICATE, REJECTED with the rule, REFUSED with the single route's code), index, entry and inclusion path", body = ReceiptSet),
        (status = 400, description = "MALFORMED: not a batch, an empty batch, or a submission that does not decode (the message names its position)", body = ErrorBody),
        (status = 413, description = "TOO_LARGE: the body, or more than `limits.max_batch_submissions` submissions", body = ErrorBody),
        (status = 503, description = "NOT_LEADER: leadership moved while the batch was checked, or no leader took it within the commit timeout; UNAVAILABLE: no quorum reachable from this node, or not committed within the commit timeout (resend it: what committed answers as DUPLICATE)", body = ErrorBody),
    ))]
pub async fn submit_batch(
    State(node): State<Arc<NodeCtx>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let deadline = started + node.limits.commit_timeout;
    if let Some(answer) =
        super::forward::to_leader(&node, Route::Batch, &headers, &body, deadline).await
    {
        return answer;
    }
    let subs = match parse_batch(&headers, &body, node.limits.max_batch_submissions) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    match process(&node, subs, deadline).await {
        Ok(set) => {
            node.metrics.observe_commit(started.elapsed().as_secs_f64());
            let mut resp = (StatusCode::OK, Json(set)).into_response();
            resp.headers_mut().insert(
                super::APPLIED_HEADER,
                axum::http::HeaderValue::from(node.ledger.head().size),
            );
            resp
        }
        Err(e) => e,
    }
}

/// Ingress for each submission, one proposal of the accepted ones, and the receipt set; or the
/// answer that the batch was not processed.
async fn process(
    node: &NodeCtx,
    subs: Vec<Submission>,
    deadline: Instant,
) -> Result<ReceiptSet, Response> {
    let mut results: Vec<Option<BatchItem>> = Vec::with_capacity(subs.len());
    let mut proposals = Vec::new();
    let mut proposed_at = Vec::new();
    // Admitted side by side, so their signatures are verified in one batch.
    let admitted = futures::future::join_all(
        subs.into_iter()
            .enumerate()
            .map(|(position, sub)| admit(node, position, sub)),
    )
    .await;
    for (position, admitted) in admitted.into_iter().enumerate() {
        match admitted.map_err(IntoResponse::into_response)? {
            Admitted::Answered(item) => results.push(Some(item)),
            Admitted::Propose(p) => {
                proposals.push(*p);
                proposed_at.push(position);
                results.push(None);
            }
        }
    }
    if !proposals.is_empty() {
        // A leader that loses its quorum answers at once (NoQuorum), one that lost the
        // leadership NOT_LEADER; the commit timeout is the outer bound (the batch may still
        // commit; resending it answers what did as DUPLICATE).
        let commit_timeout = node.limits.commit_timeout;
        let applied = match tokio::time::timeout_at(
            deadline.into(),
            crate::service::submit::submit_all(&node.batcher, &proposals),
        )
        .await
        {
            Ok(applied) => applied,
            Err(_) => Err(SubmitError::Unavailable(format!(
                "not committed within the commit timeout ({} ms); the batch may still commit, resend it to learn its indexes",
                commit_timeout.as_millis()
            ))),
        };
        let applied = applied.map_err(super::forward::error_response)?;
        for (position, result) in proposed_at.into_iter().zip(applied) {
            results[position] = Some(item_of(position, result));
        }
    }
    let mut results: Vec<BatchItem> = results
        .into_iter()
        .enumerate()
        .map(|(position, item)| {
            item.unwrap_or_else(|| {
                BatchItem::refused(
                    position,
                    &ApiError::unavailable("the batch's apply answered fewer results"),
                )
            })
        })
        .collect();
    let indexes: Vec<u64> = results.iter().filter_map(|r| r.index).collect();
    let proofs = node
        .tree_heads
        .proofs(&indexes)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    let mut entries = proofs.entries.into_iter();
    for item in results.iter_mut().filter(|r| r.index.is_some()) {
        let Some(entry) = entries.next() else { break };
        // A resubmission of a recorded rejection names its rule, as the entry records it.
        if item.outcome == BatchOutcome::Duplicate {
            if let Ok(Entry {
                body:
                    proto_types::EntryBody {
                        record: Record::Rejected(r),
                        ..
                    },
                ..
            }) = Entry::from_bytes(&entry.bytes)
            {
                item.code = Some(r.rule.into());
                item.message = Some(r.detail);
            }
        }
        item.entry_hash = Some(entry.hash.to_hex());
        item.entry_hex = Some(hex::encode(&entry.bytes));
        item.inclusion = Some(
            entry
                .path
                .iter()
                .map(|h| hex::encode(h.as_bytes()))
                .collect(),
        );
    }
    Ok(ReceiptSet {
        tree_head: proofs.note.to_note_text(),
        tree_size: proofs.note.checkpoint().tree_size(),
        root: hex::encode(proofs.root.as_bytes()),
        results,
    })
}
