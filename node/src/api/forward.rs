//! Forwarding a submission or a batch to the leader's API (`POST /v1/entries` or
//! `POST /v1/entries/batch`, as the client sent it, in a request signed with this node's key), the HTTP side of
//! [`crate::service::submit::Forward`]; and relaying the leader's answer as it came.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ed25519_dalek::SigningKey;
use futures::future::BoxFuture;

use super::auth::node_headers;
use super::APPLIED_HEADER;
use crate::raft::Peer;
use crate::service::submit::{Forward, ForwardError, ForwardedAnswer, Route};

/// Forwards over the API port's HTTP client (HTTPS when `[tls.api]` is set).
pub struct HttpForward {
    /// This node's id.
    pub id: u64,
    /// This node's key, which signs the forwarded request.
    pub node_key: SigningKey,
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
        leader_id: u64,
        leader: &'a Peer,
        route: Route,
        content_type: &'a str,
        body: Vec<u8>,
    ) -> BoxFuture<'a, Result<ForwardedAnswer, ForwardError>> {
        Box::pin(async move {
            let path = route.path();
            let url = format!("{}://{}{path}", self.api_scheme, leader.api_addr);
            let mut req = self.http.post(&url);
            for (name, value) in
                node_headers(self.id, &self.node_key, leader_id, "POST", path, &body)
            {
                req = req.header(name, value);
            }
            let r = req
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
