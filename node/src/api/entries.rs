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
use proto_types::registry::KeyError;
use proto_types::{Proposal, Submission, Timestamp};
use std::sync::Arc;
use std::time::Instant;

use super::error::{ApiError, ErrorBody};
use super::CANONICAL;
use crate::ledger::{ApplyResult, Reader};
use crate::node::NodeCtx;
use crate::service::receipts::Receipt;
use crate::service::submit::SubmitError;
use crate::store::blocking;

/// Parses a submission from JSON or canonical bytes (by `Content-Type`).
pub fn parse_submission(headers: &HeaderMap, body: &[u8]) -> Result<Submission, ApiError> {
    let ct = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.starts_with(CANONICAL) || ct.starts_with("application/octet-stream") {
        decode(body).map_err(|e| ApiError::malformed(format!("not a canonical submission: {e}")))
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::malformed(format!("not a JSON submission: {e}")))
    }
}

/// Ingress checks that mirror apply's (so garbage is refused before Raft): shape, the policy's
/// limits (the core's `precheck`), the signature against the current registry at the node's
/// time, verified together with whatever else waits at the same moment
/// (`service::verifier`).
pub(super) async fn ingress_check(
    node: &NodeCtx,
    sub: &Submission,
    now: Timestamp,
) -> Result<(), ApiError> {
    let registry = node.ledger.registry();
    let Some(registry) = registry else {
        // Only a genesis can be proposed into an empty ledger.
        return match sub.payload.action {
            Action::Genesis(_) => Ok(()),
            _ => Err(ApiError::refused(&Refusal::NoGenesis)),
        };
    };
    // The policy's limits, checked by the core's own function (so with the rule and detail
    // apply would record): refused before the signature's cost and before Raft, not recorded.
    proto_types::precheck::limits(&registry.policy.limits, &sub.payload)
        .map_err(|(rule, detail)| ApiError::over_limit(rule, &detail))?;
    let key = registry.key_for_payload(&sub.payload, now).map_err(|e| {
        // A key's state (revoked, expired, not yet valid) is told only to whoever holds the
        // key: the signature is checked first with the keys the registry holds under the
        // signer's name, whatever their state; anyone else gets the one answer for an
        // unknown signer and a bad signature (issue 15).
        let holds = registry
            .keys_named(&sub.payload.signer)
            .iter()
            .any(|k| sub.verify_with(k).is_ok());
        if holds {
            ApiError::refused(&Refusal::Key(e))
        } else {
            let mut a = ApiError::refused(&Refusal::Key(KeyError::UnknownKey));
            a.reason = Some(format!(
                "{e}, and the signature does not verify with the key the registry holds under that name"
            ));
            a
        }
    })?;
    if !node.verifier.verify(key, sub).await {
        // Refused: the core's own check says why, in apply's words (the common path never
        // comes here: it verified in the batch).
        verify_submission(&registry, sub, now, SignatureCheck::Verify)
            .map_err(|r| ApiError::refused(&r))?;
    }
    node.metrics.ingress_signatures.inc();
    node.ledger.vouch(sub.digest(), key);
    Ok(())
}

/// The receipt of the stored entry at `index` (`service::receipts`), as the API answers its
/// failure (logged here).
pub async fn receipt(node: &NodeCtx, index: u64, duplicate: bool) -> Result<Receipt, ApiError> {
    Ok(node.tree_heads.receipt(index, duplicate).await?)
}

/// Maps an apply result to the HTTP answer: 201 with a receipt, 200 with the same receipt for
/// a resubmission, 409 naming the rule, with the rejection entry's index and receipt, for a
/// broken rule (as apply recorded it: a step on a case its signer is no party to reads as one
/// on an unknown case, `workflow::decide`).
pub async fn answer(node: &NodeCtx, result: ApplyResult) -> Response {
    match result {
        ApplyResult::Appended {
            index,
            rejected: None,
            ..
        } => match receipt(node, index, false).await {
            Ok(r) => (StatusCode::CREATED, Json(r)).into_response(),
            Err(e) => e.into_response(),
        },
        ApplyResult::Appended {
            index,
            rejected: Some((rule, detail)),
            ..
        } => {
            let mut e = ApiError::new(StatusCode::CONFLICT, rule.into(), detail);
            e.index = Some(index);
            // The rejection is recorded whether or not its receipt can be built: a failure
            // to build one (logged by `receipt`) leaves the 409 without it.
            e.receipt = receipt(node, index, false).await.ok().map(Box::new);
            e.into_response()
        }
        ApplyResult::Duplicate { index } => match receipt(node, index, true).await {
            Ok(r) => (StatusCode::OK, Json(r)).into_response(),
            Err(e) => e.into_response(),
        },
        ApplyResult::Refused(r) => ApiError::refused(&r).into_response(),
        ApplyResult::Malformed(m) => ApiError::malformed(m).into_response(),
    }
}

/// `POST /v1/entries`: a signed submission as JSON, or as canonical bytes with
/// `Content-Type: application/vnd.caseledger.canonical`.
///
/// Access: authenticated by the submission's own signature (checked against the registry, as
/// `apply` will); request signature headers are optional here and checked if present. The
/// submission is charged to its signer's rate (429 `RATE_LIMITED`).
#[utoipa::path(post, path = "/v1/entries", tag = "entries",
    request_body(description = "A signed submission (`Submission`), as JSON or canonical bytes",
        content((Object = "application/json"), (Vec<u8> = "application/vnd.caseledger.canonical"))),
    responses(
        (status = 201, description = "Committed: the receipt", body = Receipt),
        (status = 200, description = "The same submission was recorded before: its receipt", body = Receipt),
        (status = 400, description = "MALFORMED", body = ErrorBody),
        (status = 401, description = "AUTHENTICATION_FAILED: unknown signer or bad signature (one answer)", body = ErrorBody),
        (status = 403, description = "KEY_REVOKED, KEY_EXPIRED, KEY_NOT_YET_VALID", body = ErrorBody),
        (status = 409, description = "ID_REUSED, or the workflow rule broken: then the rejection entry's `index` and its `receipt`", body = ErrorBody),
        (status = 413, description = "TOO_LARGE: the body, or a policy limit (the message names `LIMIT_EXCEEDED` and the detail apply would record); not recorded", body = ErrorBody),
        (status = 429, description = "RATE_LIMITED", body = ErrorBody),
        (status = 503, description = "NOT_LEADER: this node does not lead and could not hand the submission to a leader within the commit timeout (`x-caseledger-leader` names the leader where known); UNAVAILABLE: no quorum reachable from this node (it leads without one), or not committed within the commit timeout (resubmit: a resubmission answers the first receipt)", body = ErrorBody),
    ))]
pub async fn submit(State(node): State<Arc<NodeCtx>>, headers: HeaderMap, body: Bytes) -> Response {
    let started = Instant::now();
    // The request's deadline: the commit timeout is the outer bound of everything below,
    // following a leadership that moves included.
    let deadline = started + node.limits.commit_timeout;
    let route = crate::service::submit::Route::Single;
    if let Some(answer) = super::forward::to_leader(&node, route, &headers, &body, deadline).await {
        return answer;
    }
    let sub = match parse_submission(&headers, &body) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let now = node.now();
    if let Err(e) = ingress_check(&node, &sub, now).await {
        // A resubmission of a recorded submission is answered with its first receipt even if
        // it would not pass ingress now (its key revoked since, a limit lowered): it is
        // recorded all the same (rule 3). Looked up only on a refusal, so the common path
        // reads nothing more; an identical resubmission that passes ingress gets the same
        // answer from apply.
        let store = node.store.clone();
        let id = sub.payload.id.clone();
        return match blocking(move || Reader::new(&store).submission(&id)).await {
            Ok(Some(first)) if first.digest == sub.digest() => {
                answer(&node, ApplyResult::Duplicate { index: first.index }).await
            }
            Ok(_) => e.into_response(),
            Err(read) => ApiError::internal("reading the submission index", read).into_response(),
        };
    }
    // Charged once, to the submission's signer, at the leader, and only once its signature
    // verified (a forged submission naming an organisation drains nothing, and an unknown
    // signer gets no bucket); `authenticate` charges no caller for this route, so a signed
    // request is not charged twice, nor one a follower forwarded.
    if let Some(org) = sub.payload.signer_org() {
        if let Err(e) = node.admission.charge(org.as_str()) {
            return ApiError::from(e).into_response();
        }
    }
    let proposal = Proposal {
        submission: sub.clone(),
        stamped_at: now,
    };
    // A leader that loses its quorum stops waiting at once (`SubmitError::NoQuorum`); the commit
    // timeout is the outer bound, for a commit that is slow with a quorum.
    let commit_timeout = node.limits.commit_timeout;
    let submitted = match tokio::time::timeout_at(deadline.into(), node.submit(proposal, deadline))
        .await
    {
        Ok(submitted) => submitted,
        Err(_) => Err(SubmitError::Unavailable(format!(
            "not committed within the commit timeout ({} ms); the submission may still commit, resubmit it to learn its index",
            commit_timeout.as_millis()
        ))),
    };
    match submitted {
        Ok(result) => {
            node.metrics.observe_commit(started.elapsed().as_secs_f64());
            let mut resp = answer(&node, result).await;
            resp.headers_mut().insert(
                super::APPLIED_HEADER,
                axum::http::HeaderValue::from(node.ledger.head().size),
            );
            resp
        }
        Err(e) => super::forward::error_response(e),
    }
}
