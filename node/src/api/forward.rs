//! Forwarding a submission or a batch to the leader's API (`POST /v1/entries` or
//! `POST /v1/entries/batch`, the body as the client sent it), the HTTP side of
//! [`crate::service::submit::Forward`]; and relaying the leader's answer as it came. The request
//! carries no credentials of this node: a submission is authenticated by its own signature,
//! and the leader charges its signer, as for a client that sent it there.

use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;

use super::ApiError;
use super::APPLIED_HEADER;
use crate::node::NodeCtx;
use crate::raft::Peer;
use crate::service::submit::{Forward, ForwardError, ForwardedAnswer, Route};

/// Forwards over the API port's HTTP client (HTTPS when `[tls.api]` is set).
pub struct HttpForward {
    /// The HTTP client for other nodes' APIs.
    pub http: reqwest::Client,
    /// `http` or `https`: how this node reaches other nodes' APIs (all serve alike).
    pub api_scheme: &'static str,
    /// How long the leader may take to answer.
    pub timeout: Duration,
}

impl Forward for HttpForward {
    fn forward<'a>(
        &'a self,
        leader: &'a Peer,
        route: Route,
        content_type: &'a str,
        body: Vec<u8>,
    ) -> BoxFuture<'a, Result<ForwardedAnswer, ForwardError>> {
        Box::pin(async move {
            let path = route.path();
            let url = format!("{}://{}{path}", self.api_scheme, leader.api_addr);
            let r = self
                .http
                .post(&url)
                .header(header::CONTENT_TYPE, content_type)
                .timeout(self.timeout)
                .body(body)
                .send()
                .await
                .map_err(|e| ForwardError {
                    leader: leader.api_addr.clone(),
                    cause: e.into(),
                })?;
            let status = r.status().as_u16();
            // The leader's headers that say something about the answer; the node name and
            // hop-by-hop headers are this node's own.
            let mut headers = vec![(
                header::CONTENT_TYPE.as_str().to_owned(),
                "application/json".to_owned(),
            )];
            for name in [header::RETRY_AFTER.as_str(), APPLIED_HEADER] {
                if let Some(v) = r.headers().get(name).and_then(|v| v.to_str().ok()) {
                    headers.push((name.to_owned(), v.to_owned()));
                }
            }
            let body = r.bytes().await.unwrap_or_default().to_vec();
            Ok(ForwardedAnswer {
                status,
                headers,
                body,
            })
        })
    }
}

/// The body of a submission route sent to the leader as it came, and its answer, if another
/// node leads: decoding, the signatures and the rates are the leader's. `None` if this node
/// leads or knows no leader (it then takes the submission itself).
pub async fn to_leader(
    node: &NodeCtx,
    route: Route,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Response> {
    let (_, leader) = crate::service::submit::leader_elsewhere(&node.raft, node.id)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or(proto_types::wire::JSON);
    Some(
        match node
            .forward
            .forward(&leader, route, content_type, body.to_vec())
            .await
        {
            Ok(answer) => relay(answer),
            Err(e) => ApiError::unavailable(e.to_string()).into_response(),
        },
    )
}

/// The leader's answer as this node's own.
pub fn relay(answer: ForwardedAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut resp = (status, answer.body).into_response();
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::try_from(name),
            HeaderValue::try_from(value),
        ) {
            resp.headers_mut().insert(name, value);
        }
    }
    resp
}
