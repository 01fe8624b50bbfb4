//! The one API error type: a stable machine code, a human message, and the right status.
//! Internals go to the log, not the body. Never 200 with an error inside.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use proto_types::apply::Refusal;
use proto_types::registry::KeyError;
pub use proto_types::wire::ErrorCode;
use proto_types::Rule;
use serde::{Deserialize, Serialize};

use crate::service::receipts::{Receipt, ReceiptError};

/// An error answered to a client.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine code, e.g. `AUTHENTICATION_FAILED`.
    pub code: ErrorCode,
    /// For people.
    pub message: String,
    /// The ledger index of a recorded rejection, if any.
    pub index: Option<u64>,
    /// The receipt of a recorded rejection entry, if any.
    pub receipt: Option<Box<Receipt>>,
    /// Seconds the client should wait before retrying (`Retry-After`), if any.
    pub retry_after: Option<u64>,
    /// Why, for the node's log only (never answered): e.g. which of unknown organisation,
    /// unknown key or bad signature an `AUTHENTICATION_FAILED` was.
    pub reason: Option<String>,
}

/// The JSON body of every error.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine code (`proto_types::wire::ErrorCode`).
    #[schema(value_type = String)]
    pub code: ErrorCode,
    /// For people.
    pub message: String,
    /// The ledger index of a recorded rejection entry, if the error recorded one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// The receipt of that rejection entry (the same as an accepted submission's: the entry,
    /// its inclusion proof and a signed tree head; docs/FORMAT.md §Receipt), so that the
    /// submitter can prove the ledger refused the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Box<Receipt>>,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            index: None,
            receipt: None,
            retry_after: None,
            reason: None,
        }
    }

    /// 400: the body or a parameter is malformed.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::Malformed, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }

    /// 413.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::TooLarge, message)
    }

    /// 413 for a submission over a policy limit, refused at ingress and not recorded: the
    /// message names the rule and the detail a rejection entry would record
    /// (`proto_types::precheck::limits`), e.g. `LIMIT_EXCEEDED: note is 4097 bytes, …`.
    pub fn over_limit(rule: Rule, detail: &str) -> Self {
        Self::too_large(format!("{}: {detail}", rule.code()))
    }

    /// 503: no quorum, not ready, or stopping.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            message,
        )
    }

    /// 500: logged in full, answered without internals.
    pub fn internal(context: &str, e: impl std::fmt::Display) -> Self {
        tracing::error!(%e, "{context}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            format!("{context}; see the node's log"),
        )
    }

    /// A refusal of `apply` (or of the ingress check, which mirrors it).
    pub fn refused(r: &Refusal) -> Self {
        match r {
            Refusal::NoGenesis => Self::unavailable("the ledger has no genesis yet"),
            Refusal::Key(KeyError::Revoked) => {
                Self::new(StatusCode::FORBIDDEN, ErrorCode::KeyRevoked, r.to_string())
            }
            Refusal::Key(KeyError::Expired) => {
                Self::new(StatusCode::FORBIDDEN, ErrorCode::KeyExpired, r.to_string())
            }
            Refusal::Key(KeyError::NotYetValid) => Self::new(
                StatusCode::FORBIDDEN,
                ErrorCode::KeyNotYetValid,
                r.to_string(),
            ),
            // Unknown organisation, key or node, and a bad signature: one answer (issue 15).
            Refusal::Key(_) | Refusal::Signature(_) => {
                let mut e = Self::new(
                    StatusCode::UNAUTHORIZED,
                    ErrorCode::AuthenticationFailed,
                    "the submission's signature does not verify with a key that the registry holds for its signer",
                );
                e.reason = Some(r.to_string());
                e
            }
            Refusal::IdReused { .. } => {
                Self::new(StatusCode::CONFLICT, ErrorCode::IdReused, r.to_string())
            }
        }
    }
}

/// Kept on an error response for the refusal log (`auth::admit`): the code and the reason.
#[derive(Debug, Clone)]
pub struct Refused {
    /// The answered code.
    pub code: ErrorCode,
    /// The logged reason: [`ApiError::reason`], else the answered message.
    pub reason: String,
}

impl From<ReceiptError> for ApiError {
    /// An internal failure is logged here, as [`ApiError::internal`] does.
    fn from(e: ReceiptError) -> Self {
        match e {
            ReceiptError::Unavailable(m) => ApiError::unavailable(m),
            ReceiptError::OutOfRange(m) => {
                ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::OutOfRange, m)
            }
            ReceiptError::Internal { context, detail } => ApiError::internal(context, detail),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let refused = Refused {
            code: self.code.clone(),
            reason: self.reason.unwrap_or_else(|| self.message.clone()),
        };
        let body = ErrorBody {
            code: self.code,
            message: self.message,
            index: self.index,
            receipt: self.receipt,
        };
        let mut resp = (self.status, Json(body)).into_response();
        resp.extensions_mut().insert(refused);
        if let Some(seconds) = self.retry_after {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        resp
    }
}

/// The code of an error status that axum answered itself (extractor rejections, body limit,
/// unknown method).
fn code_of(status: StatusCode) -> ErrorCode {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::TooLarge,
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        s if s.is_server_error() => ErrorCode::Internal,
        _ => ErrorCode::Malformed,
    }
}

/// Middleware: an error that is not JSON yet (axum's and tower-http's own text answers, e.g.
/// the body limit's 413 or a query string that does not parse) becomes the JSON error body
/// with a stable code. 415 and 422 from extractors become 400: malformed. A 413 names the
/// limit, `max_body` bytes.
pub async fn json_errors(
    axum::extract::State(max_body): axum::extract::State<usize>,
    resp: Response,
) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let status = match status {
        StatusCode::UNSUPPORTED_MEDIA_TYPE | StatusCode::UNPROCESSABLE_ENTITY => {
            StatusCode::BAD_REQUEST
        }
        s => s,
    };
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!("the body is larger than {max_body} bytes")
    } else if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    let mut out = ApiError::new(status, code_of(status), message).into_response();
    for (name, value) in &parts.headers {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

/// The answer to a path no route serves.
pub async fn unknown_route(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no route {}", uri.path()))
}
