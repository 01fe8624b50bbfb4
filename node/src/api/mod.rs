//! The HTTP API (axum): the only module that knows HTTP and JSON. `router(state)` is apart
//! from serving so tests call it in-process.
//!
//! Every route is registered through [`documented`] with `utoipa_axum::routes!`, so the
//! OpenAPI document served at `/v1/openapi.json` is generated from the same handlers and
//! paths that are served and cannot drift from them (a test checks both directions).

mod activity;
mod admin;
mod auth;
mod batch;
mod cases;
mod checkpoints;
mod entries;
mod error;
mod explorer;
pub mod forward;
mod members;
mod ops;
mod proofs;
mod query;
mod read;
mod registry;
mod supervision;
#[cfg(test)]
mod wire_shapes;

pub use crate::service::receipts::Receipt;
pub use auth::{access, node_headers, Access, Caller};
pub use error::{ApiError, ErrorBody};

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::{middleware, Json, Router};
use std::sync::{Arc, OnceLock};
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::node::NodeCtx;

pub use proto_types::wire::{APPLIED_HEADER, CANONICAL};

/// The document's top level; paths and schemas come from the routes.
#[derive(utoipa::OpenApi)]
#[openapi(info(
    title = "caseledger",
    description = "A permissioned, replicated, tamper-evident ledger of criminal-case handoffs. Errors are JSON `{code, message, index?, receipt?}` (a broken workflow rule: the rejection entry's index and receipt); every read carries `x-caseledger-applied`; signed reads accept `?consistent=true` for a read-index through the leader (public routes ignore it). Every /v1 and /admin request except `GET /v1/openapi.json` is a signed request (security scheme `caseledger_signed_request`); `POST /v1/entries` is authenticated by the submission's own signature. Roles come from the registry: departments read the cases they took part in; the political-legal committee (`PLC`) and auditors (`AUDITOR`) read everything and write nothing through the API; registry node keys (`@node`) call the admin routes. Limits: body size (413 `TOO_LARGE`), requests at once (503 `OVERLOADED`), per-organisation rate (429 `RATE_LIMITED` with `Retry-After`), body read timeout (408 `REQUEST_TIMEOUT`), page size (400 `PAGE_TOO_LARGE`)."
))]
struct ApiDoc;

/// Every route with its documentation, before state is attached.
pub fn documented() -> OpenApiRouter<Arc<NodeCtx>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(entries::submit, query::entries))
        .routes(routes!(batch::submit_batch))
        .routes(routes!(query::entry))
        .routes(routes!(ops::head))
        .routes(routes!(members::members))
        .routes(routes!(cases::case))
        .routes(routes!(registry::organisations))
        .routes(routes!(registry::organisation))
        .routes(routes!(proofs::inclusion_proof))
        .routes(routes!(proofs::consistency_proof))
        .routes(routes!(checkpoints::latest))
        .routes(routes!(checkpoints::list))
        .routes(routes!(checkpoints::cosigned_receipt))
        .routes(routes!(supervision::overdue))
        .routes(routes!(supervision::rejections))
        .routes(routes!(supervision::stats))
        .routes(routes!(activity::activity))
        .routes(routes!(supervision::dashboard))
        .routes(routes!(read::read_index))
        .routes(routes!(openapi_json))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .routes(routes!(admin::status))
        .routes(routes!(admin::membership))
}

/// The OpenAPI document of [`documented`].
pub fn openapi() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = documented().split_for_parts().1;
        utoipa::Modify::modify(&auth::Security, &mut doc);
        doc
    })
}

/// `GET /v1/openapi.json`: this API's OpenAPI 3 document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "ops", responses((status = 200, description = "The OpenAPI 3 document", body = Object)))]
async fn openapi_json() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(openapi())
}

/// Names the answering node in every answer (`x-caseledger-node`): a client learns the id it
/// must address its signed requests to (docs/FORMAT.md §API request).
async fn name_node(
    axum::extract::State(node): axum::extract::State<Arc<NodeCtx>>,
    mut resp: axum::response::Response,
) -> axum::response::Response {
    resp.headers_mut().insert(
        proto_types::api_request::NODE_HEADER,
        axum::http::HeaderValue::from(node.id),
    );
    resp
}

/// The API's routes over a node, inside its layers (outermost last): request tracing
/// (tower-http), the node's name on every answer, errors as JSON, the body size limit
/// (tower-http, 413), [`auth::admit`] (credentials' headers, the whole body within the read
/// timeout), the cap on requests at once (tower's global concurrency limit with load
/// shedding, 503), [`auth::authenticate`] (signature, access class, rate), and the read
/// freshness of [`read::reads`].
pub fn router(node: Arc<NodeCtx>) -> Router {
    let limit = node.limits.max_body_bytes;
    let max_concurrent = node.limits.max_concurrent_requests.max(1);
    let slots = tower::ServiceBuilder::new()
        .layer(HandleErrorLayer::new(
            move |_: tower::BoxError| async move { auth::overloaded_answer(max_concurrent) },
        ))
        .load_shed()
        .layer(GlobalConcurrencyLimitLayer::new(max_concurrent));
    let (routes, _) = documented().split_for_parts();
    routes
        .merge(explorer::router())
        .fallback(error::unknown_route)
        .layer(middleware::from_fn_with_state(node.clone(), read::reads))
        .layer(middleware::from_fn_with_state(
            node.clone(),
            auth::authenticate,
        ))
        .layer(slots)
        .layer(middleware::from_fn_with_state(node.clone(), auth::admit))
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::map_response_with_state(
            limit,
            error::json_errors,
        ))
        .layer(middleware::map_response_with_state(node.clone(), name_node))
        .layer(TraceLayer::new_for_http())
        .with_state(node)
}
