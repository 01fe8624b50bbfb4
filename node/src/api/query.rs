//! Reads of the ledger: entries by index and in pages.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use proto_types::{Entry, Timestamp};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use utoipa::{IntoParams, ToSchema};

use super::auth::{forbidden, Caller};
use super::error::{ApiError, ErrorBody, ErrorCode};
use crate::ledger::Reader;
use crate::node::NodeCtx;
use crate::selfcheck::Damage;
use crate::store::blocking;

/// An entry as JSON: its index, hash, canonical bytes (hex) and decoded body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EntryView {
    /// Ledger index.
    pub index: u64,
    /// Chain hash, hex.
    pub hash: String,
    /// Canonical bytes, hex (what the hash and proofs cover).
    pub canonical_hex: String,
    /// The decoded entry.
    #[schema(value_type = Object)]
    pub entry: Entry,
}

impl EntryView {
    fn from_bytes(bytes: Vec<u8>) -> Result<Self, ApiError> {
        let entry = Entry::from_bytes(&bytes)
            .map_err(|e| ApiError::internal("decoding a stored entry", e))?;
        Ok(Self {
            index: entry.body.index,
            hash: entry.hash.to_hex(),
            canonical_hex: hex::encode(&bytes),
            entry,
        })
    }
}

/// A page of entries.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EntryPage {
    /// The entries, in index order.
    pub entries: Vec<EntryView>,
    /// The index to ask for next, if there may be more.
    pub next: Option<u64>,
    /// The ledger size when this page was read.
    pub size: u64,
}

/// Page parameters.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// First index.
    #[serde(default)]
    pub from: u64,
    /// Most entries.
    pub limit: Option<u64>,
}

/// Whether `caller` may read `entry`: those who read everything; a department if it signed
/// the entry or took part in the entry's case.
pub(crate) async fn may_read_entry(
    node: &NodeCtx,
    caller: &Caller,
    entry: &Entry,
) -> Result<bool, ApiError> {
    let Some(org) = caller.department() else {
        return Ok(caller.reads_everything());
    };
    let payload = &entry.body.record.submission().payload;
    if payload.signer_org() == Some(org) {
        return Ok(true);
    }
    let Some(case_id) = payload.case_id().cloned() else {
        return Ok(false);
    };
    let reader = Reader::new(&node.store);
    let case = blocking(move || reader.case(&case_id))
        .await
        .map_err(|e| ApiError::internal("reading a case", e))?;
    Ok(case.is_some_and(|c| caller.may_read_case(&c)))
}

/// `GET /v1/entries/{index}`.
///
/// Access: the PLC, auditors and nodes; a department reads an entry it signed or one of a
/// case it took part in (else 403 `FORBIDDEN`).
#[utoipa::path(get, path = "/v1/entries/{index}", tag = "entries",
    params(("index" = u64, Path, description = "The ledger index")),
    responses((status = 200, body = EntryView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn entry(
    State(node): State<Arc<NodeCtx>>,
    Extension(caller): Extension<Caller>,
    Path(index): Path<u64>,
) -> Result<Json<EntryView>, ApiError> {
    node.selfcheck.undamaged_until(index).map_err(damaged)?;
    let reader = Reader::new(&node.store);
    let bytes = blocking(move || reader.entry_bytes(index))
        .await
        .map_err(|e| ApiError::internal("reading an entry", e))?;
    let Some(bytes) = bytes else {
        return Err(if caller.reads_everything() {
            ApiError::not_found(format!("no entry {index}"))
        } else {
            forbidden(format!(
                "entry {index} is not one this organisation may read"
            ))
        });
    };
    let view = EntryView::from_bytes(bytes)?;
    if !may_read_entry(&node, &caller, &view.entry).await? {
        return Err(forbidden(format!(
            "entry {index} is not one this organisation signed or took part in"
        )));
    }
    Ok(Json(view))
}

/// `GET /v1/entries?from=&limit=`: JSON, or with `Accept: application/vnd.caseledger.canonical`
/// the raw canonical bytes, each entry framed by a 4-byte big-endian length (FORMAT.md
/// §Export).
///
/// Access: the PLC, auditors and nodes (the whole ledger); departments get 403 `FORBIDDEN`.
/// A `limit` above the page maximum (for raw streams, the larger of it and the catch-up
/// chunk) is 400 `PAGE_TOO_LARGE`.
#[utoipa::path(get, path = "/v1/entries", tag = "entries", params(PageQuery),
    responses(
        (status = 200, description = "A page of entries; with `Accept: application/vnd.caseledger.canonical`, the raw framed canonical bytes",
            content((EntryPage = "application/json"), (Vec<u8> = "application/vnd.caseledger.canonical"))),
        (status = 400, description = "MALFORMED, PAGE_TOO_LARGE", body = ErrorBody)))]
pub async fn entries(
    State(node): State<Arc<NodeCtx>>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let raw = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(super::CANONICAL));
    if raw {
        let max = node.limits.max_page.max(crate::ledger::catchup::MAX_CHUNK);
        let limit = page_limit(q.limit, max, max)?;
        let (size, bytes) = read_entries(&node, q.from, limit).await?;
        let mut resp = crate::ledger::catchup::frame(&bytes).into_response();
        resp.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static(super::CANONICAL),
        );
        if let Ok(v) = size.to_string().parse() {
            resp.headers_mut().insert(super::APPLIED_HEADER, v);
        }
        return Ok(resp);
    }
    entries_json(node, q).await.map(IntoResponse::into_response)
}

/// Up to `limit` entries' canonical bytes from `from`, never past the applied head nor into a
/// range the self-check found damaged; with the size read against.
async fn read_entries(
    node: &NodeCtx,
    from: u64,
    limit: u64,
) -> Result<(u64, Vec<Vec<u8>>), ApiError> {
    let size = node
        .ledger
        .head()
        .size
        .min(node.selfcheck.undamaged_until(from).map_err(damaged)?);
    let reader = Reader::new(&node.store);
    let rows = blocking(move || reader.entries_bytes(from..size, limit as usize))
        .await
        .map_err(|e| ApiError::internal("reading entries", e))?;
    Ok((size, rows))
}

/// 503 `DAMAGED`: a read reached into the range the self-check found damaged.
pub(crate) fn damaged(d: Damage) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Damaged,
        d.to_string(),
    )
}

/// The page size a request asked for (`default` if it did not ask), or 400 `PAGE_TOO_LARGE`
/// if it is outside `1..=max`.
pub(crate) fn page_limit(asked: Option<u64>, default: u64, max: u64) -> Result<u64, ApiError> {
    let limit = asked.unwrap_or(default);
    if limit == 0 || limit > max {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            ErrorCode::PageTooLarge,
            format!("limit must be 1..={max}"),
        ));
    }
    Ok(limit)
}

/// The instant a `now` parameter names (Unix ms or RFC 3339, `proto_types::Timestamp::parse`),
/// or the node's ledger clock when it is absent or empty; 400 `MALFORMED` when it is neither
/// or lies outside 1970 ..= 9999 (so no clock arithmetic on it can overflow).
pub(crate) fn now_param(node: &NodeCtx, now: Option<&str>) -> Result<Timestamp, ApiError> {
    match now.filter(|t| !t.is_empty()) {
        None => Ok(node.now()),
        Some(text) => Timestamp::parse(text).map_err(|e| ApiError::malformed(format!("now: {e}"))),
    }
}

async fn entries_json(node: Arc<NodeCtx>, q: PageQuery) -> Result<Json<EntryPage>, ApiError> {
    let limit = page_limit(q.limit, 100, node.limits.max_page)?;
    let (size, rows) = read_entries(&node, q.from, limit).await?;
    let entries = rows
        .into_iter()
        .map(EntryView::from_bytes)
        .collect::<Result<Vec<_>, _>>()?;
    let next = entries.last().map(|e| e.index + 1).filter(|n| *n < size);
    Ok(Json(EntryPage {
        entries,
        next,
        size,
    }))
}
