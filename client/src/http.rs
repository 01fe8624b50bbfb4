//! The HTTP client: submits signed entries and reads heads, failing over to another node when
//! one is down, does not lead or has no quorum ([`Failover`], each attempt visible through an
//! [`AttemptObserver`]). It trusts nothing it reads for verification purposes: the auditor recomputes.
//!
//! With [`Credentials`] every request except a submission is signed (docs/FORMAT.md §API
//! request): an organisation key reads what its role allows, a node key calls the admin
//! routes. Submissions carry their own signature and are sent without request headers.

use ed25519_dalek::SigningKey;
use proto_types::api_request::{
    nonce_text, RequestHead, KEY_HEADER, NODE_CALLER, NODE_HEADER, NONCE_HEADER, ORG_HEADER,
    SIGNATURE_HEADER, TIME_HEADER,
};
use proto_types::encoding::encode;
use proto_types::framing::frame;
use proto_types::ids::{KeyId, OrgId};
use proto_types::wire::{ErrorBody, ErrorCode, ReceiptAnswer, ReceiptSet, LEADER_HEADER};
use proto_types::Submission;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use proto_types::wire::CANONICAL;

/// What a node answered to a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// Committed (201), or an identical earlier submission (200).
    Committed {
        /// Ledger index.
        index: u64,
        /// Whether it was a resubmission.
        duplicate: bool,
    },
    /// Refused or rejected: the status and the error body.
    Error {
        /// HTTP status.
        status: u16,
        /// Stable code.
        code: ErrorCode,
        /// Message.
        message: String,
        /// Index of a recorded rejection entry.
        index: Option<u64>,
    },
}

/// A node's answer: who answered, the status, and the JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The node that answered.
    pub node: String,
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: serde_json::Value,
}

impl Answer {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body read as `T`, one of `proto_types::wire`'s shapes.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        T::deserialize(&self.body).map_err(|e| ClientError::Protocol {
            node: self.node.clone(),
            detail: format!("status {}: {e}", self.status),
        })
    }

    /// The error body of a non-2xx answer, if the body is one.
    pub fn error(&self) -> Option<ErrorBody> {
        if self.is_success() {
            return None;
        }
        ErrorBody::deserialize(&self.body).ok()
    }
}

/// Errors reaching the cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No node answered.
    #[error("no node answered: {0}")]
    Unreachable(String),
    /// A node answered with something that is not the API's.
    #[error("unexpected answer from {node}: {detail}")]
    Protocol {
        /// Which node.
        node: String,
        /// What was wrong.
        detail: String,
    },
    /// A node answered with an error (a whole batch refused: malformed, too many, ...).
    #[error("{node} answered {status}: {} {}", error.code, error.message)]
    Refused {
        /// Which node.
        node: String,
        /// HTTP status.
        status: u16,
        /// The error body.
        error: ErrorBody,
    },
}

/// Who signs the client's requests: an organisation's registry key or a node's key.
#[derive(Clone)]
pub struct Credentials {
    org: String,
    key_id: String,
    key: SigningKey,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}/{})", self.org, self.key_id)
    }
}

impl Credentials {
    /// The key `key_id` of organisation `org`.
    pub fn organisation(org: &OrgId, key_id: &KeyId, key: SigningKey) -> Self {
        Self {
            org: org.as_str().to_owned(),
            key_id: key_id.as_str().to_owned(),
            key,
        }
    }

    /// The registry signing key of node `node_id` (its operator: admin routes, reads).
    pub fn node(node_id: u64, key: SigningKey) -> Self {
        Self {
            org: NODE_CALLER.to_owned(),
            key_id: node_id.to_string(),
            key,
        }
    }

    /// Who signs, as `org/key_id`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.org, self.key_id)
    }

    /// The headers of one request to node `node`, signed at `time_ms` with `nonce` (32
    /// lowercase hex).
    pub fn headers_at(
        &self,
        node: u64,
        method: &str,
        path_and_query: &str,
        body: &[u8],
        time_ms: u64,
        nonce: &str,
    ) -> Vec<(&'static str, String)> {
        let head = RequestHead {
            method,
            path_and_query,
            org: &self.org,
            key_id: &self.key_id,
            node,
            time_ms,
            nonce,
        };
        vec![
            (ORG_HEADER, self.org.clone()),
            (KEY_HEADER, self.key_id.clone()),
            (NODE_HEADER, node.to_string()),
            (TIME_HEADER, time_ms.to_string()),
            (NONCE_HEADER, nonce.to_owned()),
            (SIGNATURE_HEADER, head.sign(&self.key, body)),
        ]
    }

    /// The headers of one request to node `node`, signed now with a fresh random nonce.
    pub fn headers(
        &self,
        node: u64,
        method: &str,
        path_and_query: &str,
        body: &[u8],
    ) -> Vec<(&'static str, String)> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        self.headers_at(
            node,
            method,
            path_and_query,
            body,
            now,
            &nonce_text(rand::random()),
        )
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How hard a submission (or a read) tries other nodes: on a connection error, or a 503
/// (`NOT_LEADER`, `UNAVAILABLE`, `OVERLOADED`), the same signed bytes go to the next node (the
/// leader a `NOT_LEADER` answer names first), at most `max_attempts` times in all, pausing
/// `pause` after each round of every node, and starting no attempt after `budget`. A
/// resubmission is idempotent: a submission that did commit answers its first receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failover {
    /// Attempts in all, at most.
    pub max_attempts: u32,
    /// Pause after a round in which every node was tried.
    pub pause: Duration,
    /// No attempt starts later than this after the first.
    pub budget: Duration,
}

impl Default for Failover {
    fn default() -> Self {
        Failover {
            max_attempts: 12,
            pause: Duration::from_millis(250),
            budget: Duration::from_secs(30),
        }
    }
}

/// One attempt of a request on one node, as the failover saw it (what `-v` prints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// 1 for the first.
    pub number: u32,
    /// The node tried.
    pub node: String,
    /// What came of it: `answered 201`, `503 NOT_LEADER: ...`, `connection: ...`.
    pub outcome: String,
    /// Whether another node is tried next.
    pub retry: bool,
}

/// Called with every [`Attempt`] (e.g. the CLI's `-v` prints them).
pub type AttemptObserver = Arc<dyn Fn(&Attempt) + Send + Sync>;

/// A client of a set of nodes.
#[derive(Clone)]
pub struct Client {
    nodes: Vec<String>,
    http: reqwest::Client,
    credentials: Option<Arc<Credentials>>,
    /// The node id each address answered with (`x-caseledger-node`): signed requests are
    /// addressed to it.
    ids: Arc<Mutex<HashMap<String, u64>>>,
    failover: Failover,
    observer: Option<AttemptObserver>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("nodes", &self.nodes)
            .field("credentials", &self.credentials)
            .field("failover", &self.failover)
            .finish_non_exhaustive()
    }
}

/// How one attempt ended, for the failover.
enum Tried {
    /// An answer to hand back: status and body.
    Answer(u16, bytes::Bytes),
    /// Try another node: why, and the leader the node named, if any.
    Retry(String, Option<String>),
}

impl Client {
    /// A client of these nodes (`host:port` or `http://host:port`).
    pub fn new(nodes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let nodes = nodes
            .into_iter()
            .map(|n| {
                let n: String = n.into();
                if n.starts_with("http://") || n.starts_with("https://") {
                    n
                } else {
                    format!("http://{n}")
                }
            })
            .collect();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(256)
            .build()
            .expect("a plain HTTP client builds");
        Self {
            nodes,
            http,
            credentials: None,
            ids: Arc::default(),
            failover: Failover::default(),
            observer: None,
        }
    }

    /// The same client, failing over as `failover` says.
    pub fn with_failover(mut self, failover: Failover) -> Self {
        self.failover = failover;
        self
    }

    /// The same client, telling `observer` of every attempt of a submission or read that
    /// fails over.
    pub fn with_observer(mut self, observer: AttemptObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The same client, signing every request (but submissions) with `credentials`.
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(Arc::new(credentials));
        self
    }

    /// The credentials requests are signed with, if any.
    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_deref()
    }

    /// The id of the node at `base`, as it names itself in every answer (asked once with a
    /// public `GET /healthz`, then remembered).
    pub async fn node_id(&self, base: &str) -> Result<u64, ClientError> {
        if let Some(id) = lock(&self.ids).get(base) {
            return Ok(*id);
        }
        let resp = self
            .http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .map_err(|e| ClientError::Unreachable(format!("{base}: {e}")))?;
        let id = resp
            .headers()
            .get(NODE_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| ClientError::Protocol {
                node: base.to_owned(),
                detail: format!("the answer names no node ({NODE_HEADER})"),
            })?;
        lock(&self.ids).insert(base.to_owned(), id);
        Ok(id)
    }

    /// A request to `base` + `path` (path and query), signed for the node at `base` if the
    /// client has credentials.
    pub async fn request(
        &self,
        method: reqwest::Method,
        base: &str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<reqwest::RequestBuilder, ClientError> {
        let mut req = self.http.request(method.clone(), format!("{base}{path}"));
        if let Some(c) = &self.credentials {
            let node = self.node_id(base).await?;
            for (name, value) in c.headers(node, method.as_str(), path, &body) {
                req = req.header(name, value);
            }
        }
        Ok(if body.is_empty() { req } else { req.body(body) })
    }

    /// Sends a request built by [`Client::request`]. An answer 421 (the address now answers
    /// as another node) forgets the id learned for `base`, and the request is signed again
    /// once for the node that answers there.
    async fn send(
        &self,
        method: reqwest::Method,
        base: &str,
        path: &str,
        body: Vec<u8>,
        extra: &[(&str, &str)],
    ) -> Result<reqwest::Response, ClientError> {
        let mut again = self.credentials.is_some();
        loop {
            let mut req = self
                .request(method.clone(), base, path, body.clone())
                .await?;
            for (name, value) in extra {
                req = req.header(*name, *value);
            }
            let resp = req
                .send()
                .await
                .map_err(|e| ClientError::Unreachable(format!("{base}{path}: {e}")))?;
            if resp.status() == reqwest::StatusCode::MISDIRECTED_REQUEST && again {
                lock(&self.ids).remove(base);
                again = false;
                continue;
            }
            return Ok(resp);
        }
    }

    async fn get(&self, base: &str, path: &str) -> Result<reqwest::Response, ClientError> {
        self.send(reqwest::Method::GET, base, path, Vec::new(), &[])
            .await
    }

    /// POSTs a JSON body to `path` on the node `node` (modulo the count), signed; returns the
    /// answer as it is (admin routes).
    pub async fn post_json_to(
        &self,
        node: usize,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<Answer, ClientError> {
        let base = &self.nodes[node % self.nodes.len()];
        let bytes = serde_json::to_vec(body).map_err(|e| ClientError::Protocol {
            node: base.clone(),
            detail: e.to_string(),
        })?;
        let resp = self
            .send(
                reqwest::Method::POST,
                base,
                path,
                bytes,
                &[("content-type", "application/json")],
            )
            .await?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| ClientError::Unreachable(format!("{base}: {e}")))?;
        let body = serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol {
            node: base.clone(),
            detail: format!(
                "status {status}, not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            ),
        })?;
        Ok(Answer {
            node: base.clone(),
            status,
            body,
        })
    }

    /// GETs `path` from the node `node` (modulo the count) with an `Accept` header: the status
    /// and the raw body (the canonical entry stream).
    pub async fn get_bytes_from(
        &self,
        node: usize,
        path: &str,
        accept: &str,
    ) -> Result<(u16, bytes::Bytes), ClientError> {
        let base = &self.nodes[node % self.nodes.len()];
        let resp = self
            .send(
                reqwest::Method::GET,
                base,
                path,
                Vec::new(),
                &[("accept", accept)],
            )
            .await?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| ClientError::Unreachable(format!("{base}{path}: {e}")))?;
        Ok((status, bytes))
    }

    /// Trusts the CA certificates (PEM) of `ca_file` for `https://` nodes.
    pub fn with_ca_cert(mut self, ca_file: &std::path::Path) -> Result<Self, crate::tls::TlsError> {
        self.http = crate::tls::builder_trusting(ca_file)?.build()?;
        Ok(self)
    }

    /// The underlying HTTP client (streams that bypass `Client`'s JSON calls).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The nodes, in order of preference.
    pub fn nodes(&self) -> &[String] {
        &self.nodes
    }

    /// Submits to the node `prefer` (modulo the count), failing over to the others
    /// ([`Failover`]) when it is down, does not lead or has no quorum.
    pub async fn submit_to(
        &self,
        prefer: usize,
        sub: &Submission,
    ) -> Result<SubmitOutcome, ClientError> {
        let (node, status, bytes) = self
            .post_canonical_from(prefer, "/v1/entries", encode(sub))
            .await?;
        if status == 200 || status == 201 {
            let r: ReceiptAnswer =
                serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol {
                    node: node.clone(),
                    detail: e.to_string(),
                })?;
            return Ok(SubmitOutcome::Committed {
                index: r.index,
                duplicate: r.duplicate || status == 200,
            });
        }
        let e: ErrorBody = serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol {
            node: node.clone(),
            detail: format!("status {status}: {e}: {}", String::from_utf8_lossy(&bytes)),
        })?;
        Ok(SubmitOutcome::Error {
            status,
            code: e.code,
            message: e.message,
            index: e.index,
        })
    }

    /// Sends `request` to the node `prefer` (modulo the count), then to the others while the
    /// answer is a connection error or a 503 ([`Failover`]): the node that answered, the status
    /// and the body.
    async fn fail_over<F, Fut>(
        &self,
        prefer: usize,
        request: F,
    ) -> Result<(String, u16, bytes::Bytes), ClientError>
    where
        F: Fn(&str) -> Fut,
        Fut: std::future::Future<Output = Result<reqwest::Response, reqwest::Error>>,
    {
        let n = self.nodes.len();
        if n == 0 {
            return Err(ClientError::Unreachable("no nodes".into()));
        }
        let started = std::time::Instant::now();
        let mut next = prefer % n;
        let mut last = String::new();
        for number in 1..=self.failover.max_attempts.max(1) {
            let node = self.nodes[next].clone();
            let tried = match request(&node).await {
                Err(e) => Tried::Retry(format!("connection: {e}"), None),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let leader = resp
                        .headers()
                        .get(LEADER_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    match resp.bytes().await {
                        Err(e) => Tried::Retry(format!("connection: {e}"), None),
                        Ok(bytes) if status == 503 => {
                            let why = ErrorBody::deserialize(
                                &serde_json::from_slice::<serde_json::Value>(&bytes)
                                    .unwrap_or_default(),
                            )
                            .map_or_else(
                                |_| String::from_utf8_lossy(&bytes).into_owned(),
                                |e| format!("{}: {}", e.code, e.message),
                            );
                            Tried::Retry(format!("503 {why}"), leader)
                        }
                        Ok(bytes) => Tried::Answer(status, bytes),
                    }
                }
            };
            let out_of_budget =
                started.elapsed() >= self.failover.budget || number >= self.failover.max_attempts;
            let (outcome, retry) = match &tried {
                Tried::Answer(status, _) => (format!("answered {status}"), false),
                Tried::Retry(why, _) => (why.clone(), !out_of_budget),
            };
            if let Some(observe) = &self.observer {
                observe(&Attempt {
                    number,
                    node: node.clone(),
                    outcome,
                    retry,
                });
            }
            match tried {
                Tried::Answer(status, bytes) => return Ok((node, status, bytes)),
                Tried::Retry(why, leader) => {
                    last = format!("{node}: {why}");
                    if !retry {
                        break;
                    }
                    // The leader a node named goes next, if it is one of ours and not this one.
                    let named = leader.and_then(|l| {
                        self.nodes
                            .iter()
                            .position(|b| b.ends_with(&format!("://{l}")) && *b != node)
                    });
                    next = named.unwrap_or((next + 1) % n);
                    if named.is_none() && next == prefer % n {
                        tokio::time::sleep(self.failover.pause).await;
                    }
                }
            }
        }
        Err(ClientError::Unreachable(last))
    }

    /// Submits, preferring the first node.
    pub async fn submit(&self, sub: &Submission) -> Result<SubmitOutcome, ClientError> {
        self.submit_to(0, sub).await
    }

    /// GETs a JSON document from the first node that answers.
    pub async fn get_json(&self, path: &str) -> Result<serde_json::Value, ClientError> {
        let mut last = String::new();
        for node in &self.nodes {
            match self.get(node, path).await {
                Ok(r) if r.status().is_success() => {
                    return r.json().await.map_err(|e| ClientError::Protocol {
                        node: node.clone(),
                        detail: e.to_string(),
                    });
                }
                Ok(r) => {
                    let status = r.status();
                    let text = r.text().await.unwrap_or_default();
                    last = format!("{node}: status {status}: {text}");
                }
                Err(e) => last = format!("{node}: {e}"),
            }
        }
        Err(ClientError::Unreachable(last))
    }

    /// Submits and returns the node's answer as it is (status and JSON body), trying another
    /// node when one is down or has no quorum. What the CLI prints and saves as a receipt.
    pub async fn submit_answer(&self, sub: &Submission) -> Result<Answer, ClientError> {
        self.post_canonical(0, "/v1/entries", encode(sub)).await
    }

    /// POSTs canonical bytes to `path`, starting at the node `prefer` (modulo the count), and
    /// returns the answer as it is, failing over to another node when one is down, does not
    /// lead or has no quorum ([`Failover`]).
    async fn post_canonical(
        &self,
        prefer: usize,
        path: &str,
        body: Vec<u8>,
    ) -> Result<Answer, ClientError> {
        let (node, status, bytes) = self.post_canonical_from(prefer, path, body).await?;
        answer_of(node, status, &bytes)
    }

    /// POSTs canonical bytes to `path`, starting at node `prefer` and failing over
    /// ([`Failover`]): the answering node, its status and its body.
    async fn post_canonical_from(
        &self,
        prefer: usize,
        path: &str,
        body: Vec<u8>,
    ) -> Result<(String, u16, bytes::Bytes), ClientError> {
        self.fail_over(prefer, |node| {
            self.http
                .post(format!("{node}{path}"))
                .header("content-type", CANONICAL)
                .body(body.clone())
                .send()
        })
        .await
    }

    /// Submits a batch (docs/FORMAT.md §Batch: each submission's canonical bytes, framed) to
    /// `POST /v1/entries/batch` and returns the answer as it is, trying another node when one
    /// is down or has no quorum.
    pub async fn submit_batch_answer(&self, subs: &[Submission]) -> Result<Answer, ClientError> {
        self.post_canonical(0, "/v1/entries/batch", frame_all(subs))
            .await
    }

    /// Submits a batch and reads its receipt set: one tree head and each submission's
    /// outcome, in order (verify it with `crate::trust::verify_receipt_set`). A batch refused
    /// whole (malformed, too many submissions, too large) is [`ClientError::Refused`].
    pub async fn submit_batch(&self, subs: &[Submission]) -> Result<ReceiptSet, ClientError> {
        self.submit_batch_to(0, subs).await
    }

    /// [`Client::submit_batch`], starting at the node `prefer` (modulo the count) and failing
    /// over to the others ([`Failover`]).
    pub async fn submit_batch_to(
        &self,
        prefer: usize,
        subs: &[Submission],
    ) -> Result<ReceiptSet, ClientError> {
        let answer = self
            .post_canonical(prefer, "/v1/entries/batch", frame_all(subs))
            .await?;
        if let Some(error) = answer.error() {
            return Err(ClientError::Refused {
                node: answer.node,
                status: answer.status,
                error,
            });
        }
        answer.parse()
    }

    /// GETs `path` and returns the answer as it is (any status with a JSON body), trying
    /// another node when one is down or unavailable (503).
    pub async fn get_answer(&self, path: &str) -> Result<Answer, ClientError> {
        let mut last = String::from("no nodes");
        for node in &self.nodes {
            let resp = match self.get(node, path).await {
                Ok(r) => r,
                Err(e) => {
                    last = format!("{node}: {e}");
                    continue;
                }
            };
            let status = resp.status().as_u16();
            let bytes = match resp.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    last = format!("{node}: {e}");
                    continue;
                }
            };
            if status == 503 {
                last = format!("{node}: unavailable: {}", String::from_utf8_lossy(&bytes));
                continue;
            }
            return answer_of(node.clone(), status, &bytes);
        }
        Err(ClientError::Unreachable(last))
    }

    /// GETs `path` from the first node that answers and reads it as `T`, one of
    /// `proto_types::wire`'s shapes.
    pub async fn get_as<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let v = self.get_json(path).await?;
        T::deserialize(&v).map_err(|e| ClientError::Protocol {
            node: self.nodes.join(","),
            detail: format!("{path}: {e}"),
        })
    }

    /// GETs `path` from one given node and reads it as `T`.
    pub async fn get_as_from<T: DeserializeOwned>(
        &self,
        node: usize,
        path: &str,
    ) -> Result<T, ClientError> {
        let v = self.get_json_from(node, path).await?;
        T::deserialize(&v).map_err(|e| ClientError::Protocol {
            node: self.nodes[node % self.nodes.len()].clone(),
            detail: format!("{path}: {e}"),
        })
    }

    /// GETs a JSON document from one given node.
    pub async fn get_json_from(
        &self,
        node: usize,
        path: &str,
    ) -> Result<serde_json::Value, ClientError> {
        let base = &self.nodes[node % self.nodes.len()];
        let r = self.get(base, path).await?;
        if !r.status().is_success() {
            let status = r.status();
            let text = r.text().await.unwrap_or_default();
            return Err(ClientError::Protocol {
                node: base.clone(),
                detail: format!("status {status}: {text}"),
            });
        }
        r.json().await.map_err(|e| ClientError::Protocol {
            node: base.clone(),
            detail: e.to_string(),
        })
    }
}

/// A JSON answer as an [`Answer`].
/// A batch's body (docs/FORMAT.md §Batch): each submission's canonical bytes, framed.
fn frame_all(subs: &[Submission]) -> Vec<u8> {
    frame(&subs.iter().map(encode).collect::<Vec<_>>())
}

fn answer_of(node: String, status: u16, bytes: &[u8]) -> Result<Answer, ClientError> {
    let body = serde_json::from_slice(bytes).map_err(|e| ClientError::Protocol {
        node: node.clone(),
        detail: format!(
            "status {status}, not JSON ({e}): {}",
            String::from_utf8_lossy(bytes)
        ),
    })?;
    Ok(Answer { node, status, body })
}
