//! Read consistency: every read answers with the ledger size this node had applied when it
//! started answering (`x-caseledger-applied`); `?consistent=true` first does a read-index
//! through the leader (a quorum confirms the leadership; this node then waits until it has
//! applied up to the leader's commit point), so the read is linearizable.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody, ErrorCode};
use super::APPLIED_HEADER;
use crate::node::NodeCtx;
use crate::raft::cluster::{self, ReadIndexError};

/// A leader's read index.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReadIndex {
    /// The Raft log index a linearizable read must see applied.
    pub raft_index: u64,
    /// The leader's node id.
    pub leader: u64,
}

/// Whether the query string asks for `consistent=true`.
fn wants_consistent(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&')
            .any(|kv| kv == "consistent=true" || kv == "consistent=1")
    })
}

/// Makes the next read on this node linearizable, or says why it cannot.
async fn linearize(node: &NodeCtx) -> Result<(), ApiError> {
    let timeout = node.limits.commit_timeout;
    match cluster::ensure_linearizable(&node.leadership).await {
        Ok(_) => Ok(()),
        Err(ReadIndexError::NotLeader {
            leader: Some((leader, peer)),
        }) => {
            let url = format!("{}://{}/v1/read-index", node.api_scheme, peer.api_addr);
            let unavailable = |e: String| {
                ApiError::unavailable(format!(
                    "read index from the leader at {}: {e}",
                    peer.api_addr
                ))
            };
            let mut req = node.http.get(&url).timeout(timeout);
            for (name, value) in super::auth::node_headers(
                node.id,
                &node.node_key,
                leader,
                "GET",
                "/v1/read-index",
                b"",
            ) {
                req = req.header(name, value);
            }
            let resp = req.send().await.map_err(|e| unavailable(e.to_string()))?;
            if !resp.status().is_success() {
                return Err(unavailable(format!("status {}", resp.status())));
            }
            let index: ReadIndex = resp.json().await.map_err(|e| unavailable(e.to_string()))?;
            cluster::wait_applied(&node.raft, index.raft_index, timeout)
                .await
                .map_err(|e| ApiError::unavailable(e.to_string()))
        }
        Err(ReadIndexError::NotLeader { leader: None }) => Err(ApiError::unavailable(
            "no leader known to this node: an election is under way, or no quorum is reachable from this node",
        )),
        Err(ReadIndexError::Unavailable(m)) => Err(ApiError::unavailable(m)),
    }
}

/// Middleware over every route: read-index for `?consistent=true` reads by authenticated
/// callers, and the applied size header on every read. Anonymous callers (public routes) are
/// served from this node's state whatever they ask: a read-index costs the leader a quorum
/// round and this node a signed call, which nobody without a key may make a node spend.
pub async fn reads(State(node): State<Arc<NodeCtx>>, req: Request, next: Next) -> Response {
    let read = req.method() == Method::GET || req.method() == Method::HEAD;
    let authenticated = req
        .extensions()
        .get::<Caller>()
        .is_some_and(|c| *c != Caller::Anonymous);
    if read && authenticated && wants_consistent(req.uri().query()) {
        if let Err(e) = linearize(&node).await {
            return e.into_response();
        }
    }
    let applied = node.ledger.head().size;
    let mut resp = next.run(req).await;
    if read && !resp.headers().contains_key(APPLIED_HEADER) {
        resp.headers_mut()
            .insert(APPLIED_HEADER, HeaderValue::from(applied));
    }
    resp
}

/// `GET /v1/read-index`: the leader confirms its leadership with a quorum and answers the
/// Raft index a linearizable read must see applied (followers call it for `?consistent=true`).
///
/// Access: registry node keys only (`x-caseledger-org: @node`); a node-to-node call.
#[utoipa::path(get, path = "/v1/read-index", tag = "ops",
    responses((status = 200, body = ReadIndex), (status = 503, description = "not the leader, or no quorum", body = ErrorBody)))]
pub async fn read_index(State(node): State<Arc<NodeCtx>>) -> Result<Json<ReadIndex>, ApiError> {
    match cluster::ensure_linearizable(&node.leadership).await {
        Ok(raft_index) => Ok(Json(ReadIndex {
            raft_index,
            leader: node.id,
        })),
        Err(ReadIndexError::NotLeader { .. }) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::NotLeader,
            "this node does not lead; ask the leader",
        )),
        Err(ReadIndexError::Unavailable(m)) => Err(ApiError::unavailable(m)),
    }
}

#[cfg(test)]
mod tests {
    use super::wants_consistent;

    #[test]
    fn consistent_reads_are_asked_by_the_query_string() {
        assert!(wants_consistent(Some("consistent=true")));
        assert!(wants_consistent(Some("from=3&consistent=true")));
        assert!(!wants_consistent(Some("consistent=false")));
        assert!(!wants_consistent(None));
    }
}
