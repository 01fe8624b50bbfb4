//! Head, health, readiness and metrics.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use crate::metrics::NodeReadings;
use crate::node::NodeCtx;

/// The ledger's head as this node has applied it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Head {
    /// Entries in the ledger (tree size).
    pub size: u64,
    /// Hash of the last entry, hex.
    pub head_hash: String,
    /// Merkle root over all entries, hex.
    pub root: String,
    /// Ledger time of the last entry, Unix ms.
    pub time_ms: u64,
    /// This node's id.
    pub node_id: u64,
}

/// `GET /v1/head`.
///
/// Access: any authenticated caller (it reveals no case data).
#[utoipa::path(get, path = "/v1/head", tag = "ops", responses((status = 200, body = Head)))]
pub async fn head(State(node): State<Arc<NodeCtx>>) -> Result<Json<Head>, ApiError> {
    let h = node.ledger.head();
    let root = node
        .root(h.size)
        .await
        .map_err(|e| ApiError::internal("reading the Merkle root", e))?;
    Ok(Json(Head {
        size: h.size,
        head_hash: h.hash.to_hex(),
        root: hex::encode(root.as_bytes()),
        time_ms: h.time.as_millis(),
        node_id: node.id,
    }))
}

/// `GET /healthz`: the process is up and its store is not poisoned. Public; names no case.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "ok", content_type = "text/plain", body = String), (status = 503, body = ErrorBody)))]
pub async fn healthz(State(node): State<Arc<NodeCtx>>) -> Response {
    if node.store.is_poisoned() {
        return ApiError::unavailable("store poisoned by a failed write").into_response();
    }
    (StatusCode::OK, "ok\n").into_response()
}

/// `GET /readyz`: in a quorum (a leader is known) and caught up to what is committed.
/// Public; names no case.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, description = "ready", content_type = "text/plain", body = String), (status = 503, body = ErrorBody)))]
pub async fn readyz(State(node): State<Arc<NodeCtx>>) -> Response {
    match node.readiness() {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(why) => ApiError::unavailable(why.to_string()).into_response(),
    }
}

/// `GET /metrics`, OpenMetrics text format (which Prometheus reads). Public: counters,
/// gauges and a histogram, no case or organisation.
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "OpenMetrics text format 1.0.0", content_type = "application/openmetrics-text", body = String)))]
pub async fn metrics(State(node): State<Arc<NodeCtx>>) -> Response {
    let wal = node.store.wal_stats();
    let text = node.metrics.render(&NodeReadings {
        ledger_height: node.ledger.head().size,
        is_leader: node.is_leader(),
        seconds_since_quorum_ack: node
            .leadership
            .view()
            .quorum_acked
            .map(|t| t.elapsed().as_secs_f64()),
        wal_syncs: wal.synced,
        wal_bytes: wal.bytes,
        acknowledged_batches: wal.acknowledged_batches,
    });
    (
        [(
            axum::http::header::CONTENT_TYPE,
            crate::metrics::CONTENT_TYPE,
        )],
        text,
    )
        .into_response()
}
