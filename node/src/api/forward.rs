//! Forwarding a submission or a batch to the leader's API (`POST /v1/entries` or
//! `POST /v1/entries/batch`, the body as the client sent it), the HTTP side of
//! [`crate::service::submit::Forward`]; and relaying the leader's answer as it came. The request
//! carries no credentials of this node: a submission is authenticated by its own signature,
//! and the leader charges its signer, as for a client that sent it there.

use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;

use proto_types::wire::{FORWARDED_HEADER, LEADER_HEADER};

use super::error::ErrorCode;
use super::ApiError;
use super::APPLIED_HEADER;
use crate::node::NodeCtx;
use crate::raft::Peer;
use crate::service::submit::{Forward, ForwardError, ForwardedAnswer, Handed, Route, SubmitError};

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
                .header(FORWARDED_HEADER, "1")
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
            for name in [header::RETRY_AFTER.as_str(), APPLIED_HEADER, LEADER_HEADER] {
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
/// node leads: decoding, the signatures and the rates are the leader's. The follower follows
/// the leadership until `deadline` (`service::submit::to_leader`: the same bytes resent to a
/// new leader). `None` if this node leads, leads without a quorum, or knows no leader (it then
/// takes the submission itself and answers for itself).
///
/// A request another node forwarded (it carries [`FORWARDED_HEADER`]) is not forwarded again:
/// if this node does not lead, it answers 503 `NOT_LEADER` naming the leader it knows, and the
/// node that forwarded it follows the leadership itself.
pub async fn to_leader(
    node: &NodeCtx,
    route: Route,
    headers: &HeaderMap,
    body: &[u8],
    deadline: Instant,
) -> Option<Response> {
    let view = node.leadership.view();
    if headers.contains_key(FORWARDED_HEADER) {
        if view.raft_leader || view.leader.is_none() {
            return None;
        }
        let leader = node.leadership.leader_elsewhere().map(|(_, p)| p);
        return Some(error_response(SubmitError::NotLeader {
            message: match &leader {
                Some(p) => format!("this node does not lead; the leader is at {}", p.api_addr),
                None => "this node does not lead".to_owned(),
            },
            leader,
        }));
    }
    if view.raft_leader {
        return None;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or(proto_types::wire::JSON);
    match crate::service::submit::to_leader(
        &node.leadership,
        node.forward.as_ref(),
        &node.metrics.forward_resends,
        route,
        content_type,
        body,
        deadline,
    )
    .await
    {
        Handed::Here => None,
        Handed::Answered(answer) => Some(relay(answer)),
        Handed::Unanswered(e) => Some(error_response(e)),
    }
}

/// A submission's error as the answer: the leader's own answer relayed, or this node's.
pub fn error_response(e: SubmitError) -> Response {
    match e {
        SubmitError::Forwarded(answer) => relay(answer),
        SubmitError::NotLeader { leader, message } => {
            let mut resp = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::NotLeader,
                message,
            )
            .into_response();
            if let Some(v) = leader.and_then(|p| HeaderValue::try_from(p.api_addr).ok()) {
                resp.headers_mut().insert(LEADER_HEADER, v);
            }
            resp
        }
        SubmitError::NoQuorum(m) | SubmitError::Unavailable(m) => {
            ApiError::unavailable(m).into_response()
        }
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
