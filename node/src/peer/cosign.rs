//! Cosigning over the peer port: the member's route `POST /raft/cosign`, which answers
//! `crate::checkpointer::cosign`, and the leader's client, [`HttpCosignPeers`], which asks the
//! other members. The decisions are the checkpointer's; this module carries them as JSON.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use futures::future::BoxFuture;

use crate::checkpointer::{
    self, CosignAnswer, CosignPeers, CosignRefusal, CosignRequest, CosignResponse, RefusalKind,
};
use crate::node::NodeCtx;
use crate::raft::network::read_bounded;

/// Path of the cosign endpoint on the peer port.
pub const PATH_COSIGN: &str = "/raft/cosign";

/// Bound on a cosign request or answer (a five-line note body and a signature).
pub const MAX_COSIGN_BYTES: usize = 64 * 1024;

fn status_of(kind: RefusalKind) -> StatusCode {
    match kind {
        RefusalKind::Damaged => StatusCode::SERVICE_UNAVAILABLE,
        RefusalKind::Malformed => StatusCode::BAD_REQUEST,
        RefusalKind::NotYet | RefusalKind::RootMismatch => StatusCode::CONFLICT,
        RefusalKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `POST /raft/cosign`: sign the leader's checkpoint if and only if it is this node's own.
async fn cosign(State(ctx): State<Arc<NodeCtx>>, Json(req): Json<CosignRequest>) -> Response {
    match checkpointer::cosign(&ctx, &req).await {
        Ok(signed) => Json(signed).into_response(),
        Err((kind, refusal)) => (status_of(kind), Json(refusal)).into_response(),
    }
}

/// The peer-port route.
pub fn router(ctx: Arc<NodeCtx>) -> Router {
    Router::new()
        .route(PATH_COSIGN, post(cosign))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_COSIGN_BYTES))
        .with_state(ctx)
}

async fn read_json<T: serde::de::DeserializeOwned>(resp: reqwest::Response) -> Option<T> {
    let bytes = read_bounded(resp, MAX_COSIGN_BYTES).await.ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The leader's side: asks members over the peer port's mutual TLS.
pub struct HttpCosignPeers {
    /// The peer-port client (`crate::tls::PeerTls::http_client`).
    pub http: reqwest::Client,
}

impl CosignPeers for HttpCosignPeers {
    fn ask<'a>(
        &'a self,
        raft_addr: &'a str,
        req: &'a CosignRequest,
    ) -> BoxFuture<'a, CosignAnswer> {
        Box::pin(async move {
            let url = format!("https://{raft_addr}{PATH_COSIGN}");
            let sent = self
                .http
                .post(url)
                .timeout(Duration::from_secs(3))
                .json(req)
                .send()
                .await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) => return CosignAnswer::Failed(e.to_string()),
            };
            if resp.status().is_success() {
                match read_json::<CosignResponse>(resp).await {
                    Some(r) => CosignAnswer::Signed(r),
                    None => CosignAnswer::Failed("an unreadable signature".into()),
                }
            } else {
                CosignAnswer::Refused(read_json::<CosignRefusal>(resp).await)
            }
        })
    }
}
