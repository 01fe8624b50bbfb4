//! Cluster membership: add a node as learner, promote learners to voters, remove a node.
//!
//! Access: only requests signed with a registry node key (`x-caseledger-org: @node`,
//! `x-caseledger-key: <node id>`): the operators of the member departments' nodes. Any
//! organisation key gets 403 `FORBIDDEN`.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Arc;

use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use crate::node::NodeCtx;

/// A node to add.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AddLearner {
    /// Its id (must be in the registry).
    pub node_id: u64,
    /// Its Raft address.
    pub raft_addr: String,
    /// Its API address.
    pub api_addr: String,
}

/// Nodes to make voters, or to remove.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NodeIds {
    /// The node ids.
    pub node_ids: Vec<u64>,
}

/// `GET /admin/status`: this node's view of the cluster.
///
/// Access: registry node keys only.
#[utoipa::path(get, path = "/admin/status", tag = "admin", responses((status = 200, body = Object)))]
pub async fn status(State(node): State<Arc<NodeCtx>>) -> Json<serde_json::Value> {
    Json(node.status())
}

/// `POST /admin/learners`.
///
/// Access: registry node keys only.
#[utoipa::path(post, path = "/admin/learners", tag = "admin", request_body = AddLearner,
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn add_learner(
    State(node): State<Arc<NodeCtx>>,
    Json(req): Json<AddLearner>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if node
        .ledger
        .registry()
        .is_some_and(|r| !r.nodes.contains_key(&req.node_id))
    {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "UNKNOWN_NODE",
            format!("node {} is not in the registry", req.node_id),
        ));
    }
    match node.peer_tls.probe(&req.raft_addr, req.node_id).await {
        Ok(()) => {}
        Err(crate::tls::ProbeError::NotPinned(e)) => {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "PEER_NOT_PINNED",
                format!("node {} cannot be added: {e}", req.node_id),
            ))
        }
        Err(crate::tls::ProbeError::Unreachable(e)) => {
            return Err(ApiError::unavailable(format!(
                "node {} cannot be added: {e}",
                req.node_id
            )))
        }
    }
    node.add_learner(req.node_id, req.raft_addr, req.api_addr)
        .await
        .map_err(ApiError::unavailable)?;
    Ok(Json(node.status()))
}

/// `POST /admin/promote`: make these nodes voters (keeping the current voters).
///
/// Access: registry node keys only.
#[utoipa::path(post, path = "/admin/promote", tag = "admin", request_body = NodeIds,
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn promote(
    State(node): State<Arc<NodeCtx>>,
    Json(req): Json<NodeIds>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let ids: BTreeSet<u64> = req.node_ids.into_iter().collect();
    // A node that is not a member is the caller's mistake (409), not an outage (503).
    let members: BTreeSet<u64> = crate::raft::cluster::members(&node.raft)
        .into_iter()
        .map(|m| m.id)
        .collect();
    let strangers: Vec<u64> = ids.difference(&members).copied().collect();
    if !strangers.is_empty() {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "NOT_A_LEARNER",
            format!(
                "nodes {strangers:?} are not members: add them with POST /admin/learners first"
            ),
        ));
    }
    node.change_voters(ids, true)
        .await
        .map_err(ApiError::unavailable)?;
    Ok(Json(node.status()))
}

/// `POST /admin/remove`: remove these nodes from the voters and learners.
///
/// Access: registry node keys only.
#[utoipa::path(post, path = "/admin/remove", tag = "admin", request_body = NodeIds,
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn remove(
    State(node): State<Arc<NodeCtx>>,
    Json(req): Json<NodeIds>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let ids: BTreeSet<u64> = req.node_ids.into_iter().collect();
    node.change_voters(ids, false)
        .await
        .map_err(ApiError::unavailable)?;
    Ok(Json(node.status()))
}
