//! The HTTP client: submits signed entries and reads heads, trying another node when one is
//! down. It trusts nothing it reads for verification purposes: the auditor recomputes.

use proto_types::encoding::encode;
use proto_types::Submission;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Content type of canonical bytes (same as the node's).
pub const CANONICAL: &str = "application/vnd.caseledger.canonical";

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
        code: String,
        /// Message.
        message: String,
        /// Index of a recorded rejection entry.
        index: Option<u64>,
    },
}

/// An error body.
#[derive(Debug, Clone, Deserialize, Serialize)]
struct ErrorBody {
    code: String,
    message: String,
    #[serde(default)]
    index: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
struct ReceiptBody {
    index: u64,
    #[serde(default)]
    duplicate: bool,
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
}

/// A client of a set of nodes.
#[derive(Debug, Clone)]
pub struct Client {
    nodes: Vec<String>,
    http: reqwest::Client,
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
        Self { nodes, http }
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

    /// Submits to the node `prefer` (modulo the count), trying the others if it is down or
    /// has no quorum.
    pub async fn submit_to(
        &self,
        prefer: usize,
        sub: &Submission,
    ) -> Result<SubmitOutcome, ClientError> {
        let body = encode(sub);
        let mut last = String::new();
        for k in 0..self.nodes.len() {
            let node = &self.nodes[(prefer + k) % self.nodes.len()];
            let sent = self
                .http
                .post(format!("{node}/v1/entries"))
                .header("content-type", CANONICAL)
                .body(body.clone())
                .send()
                .await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    last = format!("{node}: {e}");
                    continue;
                }
            };
            let status = resp.status().as_u16();
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| ClientError::Unreachable(e.to_string()))?;
            if status == 200 || status == 201 {
                let r: ReceiptBody =
                    serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol {
                        node: node.clone(),
                        detail: e.to_string(),
                    })?;
                return Ok(SubmitOutcome::Committed {
                    index: r.index,
                    duplicate: r.duplicate || status == 200,
                });
            }
            let e: ErrorBody =
                serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol {
                    node: node.clone(),
                    detail: format!("status {status}: {e}: {}", String::from_utf8_lossy(&bytes)),
                })?;
            if status == 503 {
                last = format!("{node}: {}", e.message);
                continue;
            }
            return Ok(SubmitOutcome::Error {
                status,
                code: e.code,
                message: e.message,
                index: e.index,
            });
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
            match self.http.get(format!("{node}{path}")).send().await {
                Ok(r) if r.status().is_success() => {
                    return r.json().await.map_err(|e| ClientError::Protocol {
                        node: node.clone(),
                        detail: e.to_string(),
                    });
                }
                Ok(r) => last = format!("{node}: status {}", r.status()),
                Err(e) => last = format!("{node}: {e}"),
            }
        }
        Err(ClientError::Unreachable(last))
    }

    /// Submits and returns the node's answer as it is (status and JSON body), trying another
    /// node when one is down or has no quorum. What the CLI prints and saves as a receipt.
    pub async fn submit_answer(&self, sub: &Submission) -> Result<Answer, ClientError> {
        let body = encode(sub);
        self.first_answer(|node| {
            self.http
                .post(format!("{node}/v1/entries"))
                .header("content-type", CANONICAL)
                .body(body.clone())
        })
        .await
    }

    /// GETs `path` and returns the answer as it is (any status with a JSON body), trying
    /// another node when one is down or unavailable (503).
    pub async fn get_answer(&self, path: &str) -> Result<Answer, ClientError> {
        self.first_answer(|node| self.http.get(format!("{node}{path}")))
            .await
    }

    async fn first_answer(
        &self,
        request: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<Answer, ClientError> {
        let mut last = String::from("no nodes");
        for node in &self.nodes {
            let resp = match request(node).send().await {
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
            let body = serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol {
                node: node.clone(),
                detail: format!(
                    "status {status}, not JSON ({e}): {}",
                    String::from_utf8_lossy(&bytes)
                ),
            })?;
            return Ok(Answer {
                node: node.clone(),
                status,
                body,
            });
        }
        Err(ClientError::Unreachable(last))
    }

    /// GETs a JSON document from one given node.
    pub async fn get_json_from(
        &self,
        node: usize,
        path: &str,
    ) -> Result<serde_json::Value, ClientError> {
        let base = &self.nodes[node % self.nodes.len()];
        let r = self
            .http
            .get(format!("{base}{path}"))
            .send()
            .await
            .map_err(|e| ClientError::Unreachable(format!("{base}: {e}")))?;
        if !r.status().is_success() {
            return Err(ClientError::Protocol {
                node: base.clone(),
                detail: format!("status {}", r.status()),
            });
        }
        r.json().await.map_err(|e| ClientError::Protocol {
            node: base.clone(),
            detail: e.to_string(),
        })
    }
}
