//! The node operator's view of the cluster. Membership is not changed here: a change is a
//! `Membership` ledger entry with the approvals the policy requires (`POST /v1/entries`),
//! which the leader carries out (docs/FORMAT.md §Membership, ARCHITECTURE.md §Membership).
//!
//! Access: only requests signed with a registry node key (`x-caseledger-org: @node`,
//! `x-caseledger-key: <node id>`): the operators of the member departments' nodes. Any
//! organisation key gets 403 `FORBIDDEN`.

use axum::extract::State;
use axum::Json;
use std::sync::Arc;

use crate::node::{NodeCtx, NodeStatus};

/// `GET /admin/status`: this node's view of the cluster.
///
/// Access: registry node keys only.
#[utoipa::path(get, path = "/admin/status", tag = "admin", responses((status = 200, body = Object)))]
pub async fn status(State(node): State<Arc<NodeCtx>>) -> Json<NodeStatus> {
    Json(node.status())
}

/// `GET /admin/membership`: the membership the ledger approved (`approved`: node id → role,
/// address, since), the Raft membership in effect on this node (`raft`), and the step the
/// leader has yet to carry out (`pending`, none when they agree).
///
/// Access: registry node keys only.
#[utoipa::path(get, path = "/admin/membership", tag = "admin", responses((status = 200, body = Object)))]
pub async fn membership(State(node): State<Arc<NodeCtx>>) -> Json<serde_json::Value> {
    Json(node.membership())
}
