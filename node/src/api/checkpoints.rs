//! Cosigned checkpoints (issue 5): the latest, a page of them, and a receipt upgraded to a
//! proof against the latest cosigned checkpoint (C2SP tlog-proof, docs/FORMAT.md §Receipt).
//! Checkpoint entries are indexed by `~checkpoint\0<index>` rows in `by_org`.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use proto_types::checkpoint::CosignedCheckpoint;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{forbidden, Caller};
use super::error::{ApiError, ErrorBody};
use super::query::damaged;
use crate::ledger::Reader;
use crate::node::NodeCtx;
use crate::store::blocking;

/// A cosigned checkpoint entry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckpointView {
    /// The ledger index of the checkpoint entry.
    pub index: u64,
    /// The tree size it covers.
    pub tree_size: u64,
    /// The Merkle root at that size, hex.
    pub root: String,
    /// `h_{tree_size-1}`, hex.
    pub chain_head: String,
    /// Time of entry `tree_size - 1`, Unix ms.
    pub time_ms: u64,
    /// Key names of the cosigners, in note order.
    pub signers: Vec<String>,
    /// The note, verbatim (docs/FORMAT.md §Checkpoint).
    pub note: String,
}

impl CheckpointView {
    fn new(index: u64, note: &CosignedCheckpoint) -> Self {
        let cp = note.checkpoint();
        Self {
            index,
            tree_size: cp.tree_size(),
            root: hex::encode(cp.root().as_bytes()),
            chain_head: hex::encode(cp.chain_head()),
            time_ms: cp.time_ms(),
            signers: note
                .signatures()
                .iter()
                .map(|s| s.name().to_owned())
                .collect(),
            note: note.to_note_text(),
        }
    }
}

/// A page of checkpoints.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckpointPage {
    /// Checkpoint entries with `index >= from`, in index order.
    pub checkpoints: Vec<CheckpointView>,
    /// The ledger index to ask from next, if there may be more.
    pub next: Option<u64>,
}

/// Most checkpoints in one page.
const MAX_CHECKPOINTS: u64 = 100;

/// Page parameters.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CheckpointQuery {
    /// First ledger index (of checkpoint entries) to list.
    #[serde(default)]
    pub from: u64,
    /// Most checkpoints (default and maximum 100; more is 400 `PAGE_TOO_LARGE`).
    pub limit: Option<u64>,
}

/// 503 `DAMAGED` once the self-check found damage anywhere.
fn undamaged(node: &NodeCtx) -> Result<(), ApiError> {
    match node.selfcheck.damaged_from() {
        Some(d) => Err(damaged(d)),
        None => Ok(()),
    }
}

/// `GET /v1/checkpoints/latest`.
///
/// Access: any authenticated caller (it reveals no case data).
#[utoipa::path(get, path = "/v1/checkpoints/latest", tag = "checkpoints",
    responses((status = 200, body = CheckpointView), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn latest(State(node): State<Arc<NodeCtx>>) -> Result<Json<CheckpointView>, ApiError> {
    undamaged(&node)?;
    let reader = Reader::new(&node.store);
    let found = blocking(move || reader.latest_checkpoint())
        .await
        .map_err(|e| ApiError::internal("reading checkpoints", e))?;
    let (index, note) = found.ok_or_else(|| ApiError::not_found("no cosigned checkpoint yet"))?;
    Ok(Json(CheckpointView::new(index, &note)))
}

/// `GET /v1/checkpoints?from=&limit=`.
///
/// Access: any authenticated caller (it reveals no case data).
#[utoipa::path(get, path = "/v1/checkpoints", tag = "checkpoints", params(CheckpointQuery),
    responses((status = 200, body = CheckpointPage), (status = 400, description = "PAGE_TOO_LARGE", body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn list(
    State(node): State<Arc<NodeCtx>>,
    Query(q): Query<CheckpointQuery>,
) -> Result<Json<CheckpointPage>, ApiError> {
    undamaged(&node)?;
    let limit = super::query::page_limit(q.limit, MAX_CHECKPOINTS, MAX_CHECKPOINTS)?;
    let reader = Reader::new(&node.store);
    let from = q.from;
    let found: Vec<CheckpointView> = blocking(move || reader.checkpoints(from, limit as usize))
        .await
        .map_err(|e| ApiError::internal("reading checkpoints", e))?
        .iter()
        .map(|(index, note)| CheckpointView::new(*index, note))
        .collect();
    let next = (found.len() as u64 == limit)
        .then(|| found.last().map(|c| c.index + 1))
        .flatten();
    Ok(Json(CheckpointPage {
        checkpoints: found,
        next,
    }))
}

/// Parameters of a cosigned receipt.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CosignedQuery {
    /// The entry's ledger index.
    pub index: u64,
}

/// `GET /v1/proofs/cosigned?index=`: a receipt (C2SP tlog-proof text, docs/FORMAT.md
/// §Receipt) proving entry `index` against the latest cosigned checkpoint; 404 while no
/// cosigned checkpoint covers it yet.
///
/// Access: as `GET /v1/entries/{index}` (the receipt carries the entry's bytes).
#[utoipa::path(get, path = "/v1/proofs/cosigned", tag = "checkpoints", params(CosignedQuery),
    responses((status = 200, description = "The receipt, text/plain", body = String), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn cosigned_receipt(
    State(node): State<Arc<NodeCtx>>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<CosignedQuery>,
) -> Result<Response, ApiError> {
    node.selfcheck.undamaged_until(q.index).map_err(damaged)?;
    let index = q.index;
    if caller.department().is_some() {
        // A department learns nothing about entries it may not read, not even their absence.
        let reader = Reader::new(&node.store);
        let bytes = blocking(move || reader.entry_bytes(index))
            .await
            .map_err(|e| ApiError::internal("reading an entry", e))?;
        let entry = bytes
            .map(|b| proto_types::Entry::from_bytes(&b))
            .transpose()
            .map_err(|e| ApiError::internal("decoding a stored entry", e))?;
        let readable = match &entry {
            Some(e) => super::query::may_read_entry(&node, &caller, e).await?,
            None => false,
        };
        if !readable {
            return Err(forbidden(format!(
                "entry {index} is not one this organisation signed or took part in"
            )));
        }
    }
    let reader = Reader::new(&node.store);
    let receipt = blocking(move || reader.cosigned_receipt(index))
        .await
        .map_err(|e| ApiError::internal("building a receipt", e))?
        .ok_or_else(|| {
            ApiError::not_found(format!("no cosigned checkpoint covers entry {index} yet"))
        })?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        receipt.to_text(),
    )
        .into_response())
}
