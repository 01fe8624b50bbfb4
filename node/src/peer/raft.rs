//! The Raft routes of the peer port: `POST` [`PATH_APPEND`], [`PATH_VOTE`], [`PATH_SNAPSHOT`],
//! bounded by a body limit (413 past it). What a route answers is decided by
//! `crate::raft::network::PeerState` (which alone names openraft types); this module carries
//! its [`RaftReply`] as HTTP.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

use crate::raft::membership::Guard;
use crate::raft::network::{
    PeerState, RaftReply, OCTET_STREAM, PATH_APPEND, PATH_SNAPSHOT, PATH_VOTE, RAFT_ERROR_HEADER,
};
use crate::raft::Raft;
use crate::tls::PeerInfo;

/// The Raft routes, bounded by `max_body_bytes`; `guard` is the ledger's membership checks
/// (none only in the transport's own tests, over a ledger with no registry).
pub fn router(raft: Raft, guard: Option<Arc<Guard>>, max_body_bytes: usize) -> Router {
    Router::new()
        .route(PATH_APPEND, post(append))
        .route(PATH_VOTE, post(vote))
        .route(PATH_SNAPSHOT, post(snapshot))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(PeerState::new(raft, guard))
}

fn octets(status: StatusCode, bytes: Vec<u8>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(OCTET_STREAM))],
        bytes,
    )
        .into_response()
}

fn http(reply: RaftReply) -> Response {
    match reply {
        RaftReply::Response(bytes) => octets(StatusCode::OK, bytes),
        RaftReply::RaftError(bytes) => {
            let mut resp = octets(StatusCode::INTERNAL_SERVER_ERROR, bytes);
            resp.headers_mut()
                .insert(RAFT_ERROR_HEADER, HeaderValue::from_static("1"));
            resp
        }
        RaftReply::EncodingFailed => {
            (StatusCode::INTERNAL_SERVER_ERROR, "encoding failed").into_response()
        }
        RaftReply::Malformed(m) => (StatusCode::BAD_REQUEST, m).into_response(),
        RaftReply::Forbidden(m) => (StatusCode::FORBIDDEN, m).into_response(),
    }
}

async fn append(
    State(state): State<PeerState>,
    ConnectInfo(peer): ConnectInfo<PeerInfo>,
    body: Bytes,
) -> Response {
    http(state.append(&peer, &body).await)
}

async fn vote(
    State(state): State<PeerState>,
    ConnectInfo(peer): ConnectInfo<PeerInfo>,
    body: Bytes,
) -> Response {
    http(state.vote(&peer, &body).await)
}

async fn snapshot(
    State(state): State<PeerState>,
    ConnectInfo(peer): ConnectInfo<PeerInfo>,
    body: Bytes,
) -> Response {
    http(state.snapshot(&peer, &body).await)
}
