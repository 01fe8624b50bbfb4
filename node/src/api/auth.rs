//! Who may call what, and how much: authentication of API callers by signed requests
//! (docs/FORMAT.md §API request), their roles from the registry, and the request limits.
//!
//! Around every route (`api::router`, outermost first): tower-http's body size limit (413
//! `TOO_LARGE`); [`admit`], which parses the credentials' headers and reads the body within
//! the read timeout (408 `REQUEST_TIMEOUT`); tower's concurrency limit with load shedding (503
//! `OVERLOADED`); [`authenticate`], which verifies the caller (401; one code,
//! `AUTHENTICATION_FAILED`, for an unknown organisation, key or node and a bad signature),
//! checks the route's [`Access`] class (403 `FORBIDDEN`), charges the caller's
//! organisation's rate (429 `RATE_LIMITED`), and hands the [`Caller`] to the handler, which
//! decides per resource (a department reads only the cases it took part in).
//!
//! Roles come from the registry as of now: an organisation of kind `Plc` or `Auditor` reads
//! everything and writes nothing through the API; any other organisation is a department;
//! a registry node key (`x-caseledger-org: @node`, `x-caseledger-key: <node id>`) is the
//! node's operator, or a node calling another: admin routes, and reads of everything (its
//! operator holds the whole ledger anyway).

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use proto_types::api_request::{
    is_valid_nonce, nonce_text, RequestHead, KEY_HEADER, NODE_CALLER, NODE_HEADER, NONCE_HEADER,
    ORG_HEADER, SIGNATURE_HEADER, TIME_HEADER,
};
use proto_types::crypto::PublicKey;
use proto_types::ids::{KeyId, OrgId};
use proto_types::registry::KeyError;
use proto_types::workflow::CaseRecord;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{OpenApi, RefOr, ResponseBuilder};

use super::error::{ApiError, ErrorCode};
use crate::config::ApiLimits;
use crate::node::NodeCtx;
use crate::service::admission::{Admission, AdmissionError};

/// Who made a request, as the registry says now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No credentials: only public routes and submissions (which carry their own signature).
    Anonymous,
    /// A department: reads what it took part in.
    Department(OrgId),
    /// The political-legal committee or an auditor: reads everything, read-only.
    Supervisor(OrgId),
    /// A registry node key: the node's operator, or another node.
    Node(u64),
}

impl Caller {
    /// Whether the caller reads every case, entry and figure.
    pub fn reads_everything(&self) -> bool {
        matches!(self, Caller::Supervisor(_) | Caller::Node(_))
    }

    /// The department's organisation, for callers whose reads are restricted.
    pub fn department(&self) -> Option<&OrgId> {
        match self {
            Caller::Department(o) => Some(o),
            _ => None,
        }
    }

    /// Whether the caller may read `case`: a participant (filed, held, sent, received or
    /// recorded in it), a supervisor or a node.
    pub fn may_read_case(&self, case: &CaseRecord) -> bool {
        match self {
            Caller::Supervisor(_) | Caller::Node(_) => true,
            Caller::Department(o) => case.is_party(o),
            Caller::Anonymous => false,
        }
    }

    /// The role of organisation `org` as the registry says now (a department, or a supervisor
    /// for the PLC and auditors).
    pub fn of_org(registry: &proto_types::Registry, org: &OrgId) -> Caller {
        match registry.organisation(org).map(|o| o.kind) {
            Some(kind) if kind.reads_every_case() => Caller::Supervisor(org.clone()),
            _ => Caller::Department(org.clone()),
        }
    }

    /// The key its requests are rate-limited under; nodes are not limited.
    fn rate_key(&self) -> Option<&str> {
        match self {
            Caller::Department(o) | Caller::Supervisor(o) => Some(o.as_str()),
            Caller::Node(_) | Caller::Anonymous => None,
        }
    }
}

/// 403: a valid caller without the right to this resource.
pub fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message)
}

fn unauthorized(code: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, message)
}

impl From<AdmissionError> for ApiError {
    fn from(e: AdmissionError) -> Self {
        match e {
            AdmissionError::RateLimited {
                message,
                retry_after,
            } => {
                let mut e = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    ErrorCode::RateLimited,
                    message,
                );
                e.retry_after = Some(retry_after);
                e
            }
            AdmissionError::Replayed => unauthorized(ErrorCode::ReplayedRequest, e.to_string()),
            AdmissionError::Overloaded(m) => overloaded(m),
        }
    }
}

fn overloaded(message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Overloaded,
        message,
    )
}

/// Who may call a route (the per-resource rules are the handlers').
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health, readiness, metrics, the OpenAPI document, the explorer's files.
    Public,
    /// `POST /v1/entries`: authenticated by the submission's own signature; request
    /// credentials are checked if present.
    Submission,
    /// Any authenticated caller; the handler restricts departments to their own data.
    Caller,
    /// The PLC, auditors and nodes: whole-ledger streams and figures.
    Supervisor,
    /// Registry node keys only: cluster admin and node-to-node calls.
    Node,
}

/// The access class of `method path`.
pub fn access(method: &Method, path: &str) -> Access {
    match path {
        "/healthz" | "/readyz" | "/metrics" | "/v1/openapi.json" => Access::Public,
        "/v1/entries" | "/v1/entries/batch" if method == Method::POST => Access::Submission,
        "/v1/entries" | "/v1/stats" | "/v1/stats/activity" | "/v1/supervision/dashboard" => {
            Access::Supervisor
        }
        "/v1/read-index" => Access::Node,
        p if p == "/admin" || p.starts_with("/admin/") => Access::Node,
        p if p == "/v1" || p.starts_with("/v1/") => Access::Caller,
        _ => Access::Public,
    }
}

/// Why a request names no key the registry holds: logged, never answered (the caller gets
/// the answer a bad signature gets).
#[derive(Debug, Clone, thiserror::Error)]
enum UnknownSigner {
    /// `@node` with a key id that is no node with a key in force.
    #[error("node {0:?} has no key in force in the registry")]
    Node(String),
    /// No such organisation, or no such key of it.
    #[error("no organisation and key {org}/{key_id} in the registry")]
    OrgKey {
        /// The organisation named.
        org: String,
        /// The key id named.
        key_id: String,
    },
}

/// The credentials of a request, parsed and checked against the registry, not yet against
/// the body.
#[derive(Clone)]
struct Credentials {
    /// Who the registry says it is, if it names an organisation and key (or node) it holds.
    caller: Option<Caller>,
    /// The key to verify with, or why there is none (for the log only).
    key: Result<PublicKey, UnknownSigner>,
    /// The key's state now (revoked, expired, not yet valid): answered only to a request that
    /// verified with it.
    status: Result<(), KeyError>,
    org: String,
    key_id: String,
    /// The node addressed: this one (checked in [`credentials`]).
    to: u64,
    time_ms: u64,
    nonce: String,
    nonce_value: u128,
    signature: String,
}

fn has_credentials(headers: &HeaderMap) -> bool {
    [
        ORG_HEADER,
        KEY_HEADER,
        NODE_HEADER,
        TIME_HEADER,
        NONCE_HEADER,
        SIGNATURE_HEADER,
    ]
    .iter()
    .any(|h| headers.contains_key(*h))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, ApiError> {
    let v = headers.get(name).ok_or_else(|| {
        unauthorized(
            ErrorCode::BadCredentials,
            format!("missing header {name}: a signed request carries {ORG_HEADER}, {KEY_HEADER}, {NODE_HEADER}, {TIME_HEADER}, {NONCE_HEADER} and {SIGNATURE_HEADER}"),
        )
    })?;
    v.to_str().map_err(|_| {
        unauthorized(
            ErrorCode::BadCredentials,
            format!("header {name} is not ASCII text"),
        )
    })
}

fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Parses the headers, checks freshness and resolves the key and role (without the body).
fn credentials(node: &NodeCtx, headers: &HeaderMap) -> Result<Credentials, ApiError> {
    if !has_credentials(headers) {
        return Err(unauthorized(
            ErrorCode::Unauthenticated,
            "this route needs a signed request (headers x-caseledger-org, -key, -node, -time, -nonce, -signature)",
        ));
    }
    let org = header(headers, ORG_HEADER)?.to_owned();
    let key_id = header(headers, KEY_HEADER)?.to_owned();
    let to = header(headers, NODE_HEADER)?;
    let to: u64 = to.parse().map_err(|_| {
        unauthorized(
            ErrorCode::BadCredentials,
            format!("{NODE_HEADER} must be the addressed node's id in decimal, not {to:?}"),
        )
    })?;
    // A request signed for another node (captured on its way there, or sent to the wrong
    // address) is not this node's to answer: every node spends its own nonces, so without
    // this a read captured at one node could be replayed once at each of the others.
    if to != node.id {
        return Err(ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            ErrorCode::MisdirectedRequest,
            format!(
                "the request is signed for node {to}; this is node {} (it names itself in the {NODE_HEADER} header of every answer)",
                node.id
            ),
        ));
    }
    let time = header(headers, TIME_HEADER)?;
    let nonce = header(headers, NONCE_HEADER)?.to_owned();
    let signature = header(headers, SIGNATURE_HEADER)?.to_owned();
    let time_ms: u64 = time.parse().map_err(|_| {
        unauthorized(
            ErrorCode::BadCredentials,
            format!("{TIME_HEADER} must be Unix milliseconds in decimal, not {time:?}"),
        )
    })?;
    if !is_valid_nonce(&nonce) {
        return Err(unauthorized(
            ErrorCode::BadCredentials,
            format!("{NONCE_HEADER} must be 32 lowercase hex characters"),
        ));
    }
    let nonce_value = u128::from_str_radix(&nonce, 16)
        .map_err(|_| unauthorized(ErrorCode::BadCredentials, "the nonce is not hex"))?;
    let skew = u64::try_from(node.limits.clock_skew.as_millis()).unwrap_or(u64::MAX);
    let now = wall_clock_ms();
    if time_ms.abs_diff(now) > skew {
        return Err(unauthorized(
            ErrorCode::StaleRequest,
            format!(
                "the request's time {time_ms} is more than {skew} ms from this node's clock {now}"
            ),
        ));
    }
    let registry = node
        .ledger
        .registry()
        .ok_or_else(|| ApiError::unavailable("the ledger has no genesis yet"))?;
    // An unknown organisation, key or node is not answered yet: the request fails as a bad
    // signature would, with the same code and message (`verify`), so that nobody learns
    // which organisations, keys and nodes exist; the reason goes to the log.
    let (caller, key, status) = if org == NODE_CALLER {
        match key_id.parse::<u64>().ok().and_then(|id| {
            let key = registry.nodes.get(&id)?.key_in_force()?.signing_key;
            Some((id, key))
        }) {
            Some((id, key)) => (Some(Caller::Node(id)), Ok(key), Ok(())),
            None => (None, Err(UnknownSigner::Node(key_id.clone())), Ok(())),
        }
    } else {
        let found = OrgId::new(org.clone())
            .ok()
            .zip(KeyId::new(key_id.clone()).ok())
            .and_then(|(org_id, k)| {
                let rec = registry.organisation(&org_id)?.key(&k)?;
                Some((org_id, rec.public_key, rec.status_at(node.now())))
            });
        match found {
            Some((org_id, key, status)) => {
                (Some(Caller::of_org(&registry, &org_id)), Ok(key), status)
            }
            None => (
                None,
                Err(UnknownSigner::OrgKey {
                    org: org.clone(),
                    key_id: key_id.clone(),
                }),
                Ok(()),
            ),
        }
    };
    Ok(Credentials {
        caller,
        key,
        status,
        org,
        key_id,
        to,
        time_ms,
        nonce,
        nonce_value,
        signature,
    })
}

/// 401 `AUTHENTICATION_FAILED`: the one answer for an unknown organisation, an unknown key or
/// node, and a signature that does not verify (the reason is logged, not answered).
fn authentication_failed(reason: String) -> ApiError {
    let mut e = unauthorized(
        ErrorCode::AuthenticationFailed,
        "the request's signature does not verify with a key that the registry holds for the organisation and key it names",
    );
    e.reason = Some(reason);
    e
}

impl Credentials {
    /// Checks the signature over the request and its body, then spends the nonce.
    fn verify(self, admission: &Admission, parts: &Parts, body: &[u8]) -> Result<Caller, ApiError> {
        let path_and_query = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path(), |p| p.as_str());
        let head = RequestHead {
            method: parts.method.as_str(),
            path_and_query,
            org: &self.org,
            key_id: &self.key_id,
            node: self.to,
            time_ms: self.time_ms,
            nonce: &self.nonce,
        };
        let key = self.key.map_err(|e| authentication_failed(e.to_string()))?;
        head.verify(&key, body, &self.signature).map_err(|_| {
            authentication_failed(format!(
                "the signature does not verify with key {}/{} over this request and body",
                self.org, self.key_id
            ))
        })?;
        // The caller holds this key: it may learn the key's state.
        self.status.map_err(|e| {
            let code = match e {
                KeyError::NotYetValid => ErrorCode::KeyNotYetValid,
                KeyError::Expired => ErrorCode::KeyExpired,
                KeyError::Revoked => ErrorCode::KeyRevoked,
                _ => ErrorCode::AuthenticationFailed,
            };
            unauthorized(code, format!("key {}/{}: {e}", self.org, self.key_id))
        })?;
        let caller = self
            .caller
            .ok_or_else(|| authentication_failed("no caller for a verified key".into()))?;
        admission.remember(matches!(caller, Caller::Node(_)), self.nonce_value)?;
        Ok(caller)
    }
}

/// Reads the whole body within the read timeout. The size limit is tower-http's
/// `RequestBodyLimitLayer` (`api::router`): a declared length over it is refused before this
/// runs, and a body that grows over it fails here as 413.
///
/// The timeout is for the whole body, not per frame as tower-http's `RequestBodyTimeoutLayer`
/// has it: a client dripping a byte at a time would hold its connection for ever under that.
async fn read_body(limits: &ApiLimits, body: Body) -> Result<Bytes, ApiError> {
    let timeout = limits.read_timeout;
    let max = limits.max_body_bytes;
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, usize::MAX)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => {
            // The limit's error arrives wrapped once per body layer between it and here.
            let over = std::iter::successors(Some(&e as &(dyn std::error::Error + 'static)), |e| {
                e.source()
            })
            .any(|e| e.is::<http_body_util::LengthLimitError>());
            if over {
                Err(ApiError::too_large(format!(
                    "the body is larger than {max} bytes"
                )))
            } else {
                Err(ApiError::malformed(format!("reading the body: {e}")))
            }
        }
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            ErrorCode::RequestTimeout,
            format!("the body did not arrive within {} ms", timeout.as_millis()),
        )),
    }
}

/// The outer middleware over every route: the credentials' headers (parsed, fresh, for this
/// node, resolved against the registry) and then the whole body within the read timeout.
/// Inside it (`api::router`) come the concurrency limit (a slow body holds its connection,
/// capped per port by `serve`, for at most the read timeout, never a request slot) and then
/// [`authenticate`]. One log line for each 401, 403 and 429 answered below it, its own or
/// the handler's, rate-limited.
pub async fn admit(State(node): State<Arc<NodeCtx>>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let claimed = req
        .headers()
        .get(ORG_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(64).collect::<String>());
    let resp = match received(&node, req).await {
        Ok(req) => next.run(req).await,
        Err(e) => e.into_response(),
    };
    let status = resp.status();
    if matches!(status.as_u16(), 401 | 403 | 429) {
        if let Some(suppressed) = node.admission.refusal_line(Instant::now()) {
            let refused = resp.extensions().get::<super::error::Refused>();
            let caller = resp.extensions().get::<Caller>();
            tracing::warn!(
                target: "caseledger::refusal",
                status = status.as_u16(),
                code = refused.map(|r| r.code.as_str()).unwrap_or_default().as_ref(),
                reason = refused.map_or("", |r| r.reason.as_str()),
                %method,
                path = %path.chars().take(200).collect::<String>(),
                caller = ?caller,
                claimed_org = claimed.as_deref().unwrap_or(""),
                suppressed,
                "request refused"
            );
        }
    }
    resp
}

/// The request with its body read whole and its parsed [`Credentials`] (if the route takes
/// any) in its extensions, for [`authenticate`].
async fn received(node: &Arc<NodeCtx>, req: Request) -> Result<Request, ApiError> {
    let class = access(req.method(), req.uri().path());
    let (mut parts, body) = req.into_parts();
    let creds = match class {
        Access::Public => None,
        Access::Submission if !has_credentials(&parts.headers) => None,
        _ => Some(credentials(node, &parts.headers)?),
    };
    let bytes = read_body(&node.limits, body).await?;
    if let Some(creds) = creds {
        parts.extensions.insert(creds);
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The inner middleware over every route, run with a request slot: the signature over the
/// request and its body, the route's access class, the caller's rate; the [`Caller`] goes to
/// the handler (and onto the answer, for [`admit`]'s log line).
pub async fn authenticate(State(node): State<Arc<NodeCtx>>, req: Request, next: Next) -> Response {
    match authenticated(&node, req).await {
        Ok((req, caller)) => {
            let mut resp = next.run(req).await;
            resp.extensions_mut().insert(caller);
            resp
        }
        Err(e) => e.into_response(),
    }
}

async fn authenticated(node: &Arc<NodeCtx>, req: Request) -> Result<(Request, Caller), ApiError> {
    let class = access(req.method(), req.uri().path());
    let (mut parts, body) = req.into_parts();
    // Whole already (`admit`, within the read timeout): one frame, taken without a copy.
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|e| ApiError::malformed(format!("reading the body: {e}")))?;
    let caller = match parts.extensions.remove::<Credentials>() {
        None => Caller::Anonymous,
        Some(c) => c.verify(&node.admission, &parts, &bytes)?,
    };
    match class {
        Access::Supervisor if !caller.reads_everything() => {
            return Err(forbidden(
                "only the political-legal committee, auditors and nodes read the whole ledger and its figures",
            ))
        }
        Access::Node if !matches!(caller, Caller::Node(_)) => {
            return Err(forbidden(
                "only a registry node key (x-caseledger-org: @node) may call this route",
            ))
        }
        _ => {}
    }
    // A submission is charged to its signer, at the leader, once verified (`entries::submit`).
    if class != Access::Submission {
        if let Some(org) = caller.rate_key() {
            node.admission.charge(org)?;
        }
    }
    parts.extensions.insert(caller.clone());
    Ok((Request::from_parts(parts, Body::from(bytes)), caller))
}

/// 503 `OVERLOADED`: the answer when every request slot is taken (`api::router`'s
/// concurrency limit).
pub fn overloaded_answer(max: usize) -> ApiError {
    overloaded(format!("more than {max} requests at once; retry shortly"))
}

/// The headers of a request node `me` signs with its registry node key `key` for node `to`
/// (node-to-node calls).
pub fn node_headers(
    me: u64,
    key: &ed25519_dalek::SigningKey,
    to: u64,
    method: &str,
    path_and_query: &str,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let nonce = nonce_text(rand::random());
    let key_id = me.to_string();
    let time_ms = wall_clock_ms();
    let head = RequestHead {
        method,
        path_and_query,
        org: NODE_CALLER,
        key_id: &key_id,
        node: to,
        time_ms,
        nonce: &nonce,
    };
    let signature = head.sign(key, body);
    vec![
        (ORG_HEADER, NODE_CALLER.to_owned()),
        (KEY_HEADER, key_id.clone()),
        (NODE_HEADER, to.to_string()),
        (TIME_HEADER, time_ms.to_string()),
        (NONCE_HEADER, nonce),
        (SIGNATURE_HEADER, signature),
    ]
}

/// The name of the security scheme in the OpenAPI document.
pub const SCHEME: &str = "caseledger_signed_request";

const SCHEME_TEXT: &str = "Every /v1 and /admin request except `GET /v1/openapi.json` carries \
`x-caseledger-org` (organisation id, or `@node` for a registry node key), `x-caseledger-key` \
(key id, or the node id), `x-caseledger-node` (the id of the node addressed; every answer names \
its node in the same header), `x-caseledger-time` (Unix ms), `x-caseledger-nonce` (32 lowercase hex, \
never reused) and `x-caseledger-signature`: base64 of the Ed25519 signature over \
`caseledger/v1/api-request\\0` + `METHOD\\npath_and_query\\norg\\nkey_id\\nnode\\ntime\\nnonce\\nhex(sha256(body))` \
(docs/FORMAT.md §API request). `POST /v1/entries` is authenticated by the submission's own \
signature. 401: no, malformed, stale, replayed (UNAUTHENTICATED, BAD_CREDENTIALS, STALE_REQUEST, \
REPLAYED_REQUEST); 421 MISDIRECTED_REQUEST: signed for another node; an unknown organisation, key or node and a bad signature get one answer \
(AUTHENTICATION_FAILED); a key's state (KEY_NOT_YET_VALID, KEY_EXPIRED, KEY_REVOKED) is answered \
only to a request that verified with it; 403 FORBIDDEN: a valid caller without the right to the \
resource.";

/// Adds the signed-request security scheme to the document, marks each operation with what
/// it needs (public routes need nothing, submissions optionally a signed request), and lists
/// the authentication and limit answers on every operation.
pub struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, doc: &mut OpenApi) {
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                SCHEME,
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    SIGNATURE_HEADER,
                    SCHEME_TEXT,
                ))),
            );
        let signed = || SecurityRequirement::new(SCHEME, Vec::<String>::new());
        let answer = |text: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(text)
                    .content(
                        "application/json",
                        utoipa::openapi::ContentBuilder::new()
                            .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                                "ErrorBody",
                            ))))
                            .build(),
                    )
                    .build(),
            )
        };
        for (path, item) in doc.paths.paths.iter_mut() {
            let ops = [
                (Method::GET, &mut item.get),
                (Method::POST, &mut item.post),
                (Method::PUT, &mut item.put),
                (Method::DELETE, &mut item.delete),
            ];
            for (method, op) in ops {
                let Some(op) = op.as_mut() else { continue };
                let class = access(&method, path);
                op.security = Some(match class {
                    Access::Public => vec![SecurityRequirement::default()],
                    Access::Submission => vec![SecurityRequirement::default(), signed()],
                    _ => vec![signed()],
                });
                let r = &mut op.responses.responses;
                r.entry("503".into())
                    .or_insert_with(|| answer("OVERLOADED: too many requests at once"));
                if class == Access::Public {
                    continue;
                }
                r.entry("401".into()).or_insert_with(|| answer("UNAUTHENTICATED, BAD_CREDENTIALS, AUTHENTICATION_FAILED, KEY_NOT_YET_VALID, KEY_EXPIRED, KEY_REVOKED, STALE_REQUEST, REPLAYED_REQUEST"));
                r.entry("421".into()).or_insert_with(|| {
                    answer("MISDIRECTED_REQUEST: the request is signed for another node")
                });
                if class != Access::Submission {
                    r.entry("403".into()).or_insert_with(|| {
                        answer("FORBIDDEN: the caller may not read this resource")
                    });
                }
                r.entry("408".into())
                    .or_insert_with(|| answer("REQUEST_TIMEOUT: the body arrived too slowly"));
                r.entry("413".into()).or_insert_with(|| answer("TOO_LARGE"));
                r.entry("429".into())
                    .or_insert_with(|| answer("RATE_LIMITED: retry after `Retry-After` seconds"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_fall_in_their_access_class() {
        let check = |m: Method, p: &str, a: Access| assert_eq!(access(&m, p), a, "{m} {p}");
        check(Method::GET, "/healthz", Access::Public);
        check(Method::GET, "/v1/openapi.json", Access::Public);
        check(Method::POST, "/v1/entries", Access::Submission);
        check(Method::POST, "/v1/entries/batch", Access::Submission);
        check(Method::GET, "/v1/entries", Access::Supervisor);
        check(Method::GET, "/v1/entries/3", Access::Caller);
        check(Method::GET, "/v1/stats", Access::Supervisor);
        check(Method::GET, "/v1/stats/activity", Access::Supervisor);
        check(Method::GET, "/v1/supervision/dashboard", Access::Supervisor);
        check(Method::GET, "/v1/cluster/members", Access::Caller);
        check(Method::GET, "/v1/read-index", Access::Node);
        check(Method::GET, "/admin/membership", Access::Node);
        check(Method::GET, "/v1/no-such-route", Access::Caller);
        check(Method::GET, "/explorer/index.html", Access::Public);
    }

    #[test]
    fn the_rate_is_charged_per_organisation_with_a_burst() {
        let a = Admission::new(ApiLimits {
            rate_per_org: 1,
            rate_burst: 2,
            ..ApiLimits::default()
        });
        assert!(a.charge("LZ-PSB").is_ok());
        assert!(a.charge("LZ-PSB").is_ok());
        let e = ApiError::from(a.charge("LZ-PSB").expect_err("burst spent"));
        assert_eq!(
            (e.status.as_u16(), e.code.clone()),
            (429, ErrorCode::RateLimited)
        );
        assert_eq!(e.retry_after, Some(1));
        assert!(
            a.charge("LZ-PROC").is_ok(),
            "another organisation has its own"
        );
    }
}
