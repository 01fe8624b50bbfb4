//! The HTTP API (axum): the only module that knows HTTP and JSON. `router(state)` is apart
//! from serving so tests call it in-process.

mod admin;
mod entries;
mod error;
mod ops;
mod query;

pub use entries::{Receipt, CANONICAL};
pub use error::{ApiError, ErrorBody};

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

use crate::node::NodeCtx;

/// Header carrying the ledger size this node had applied when it answered a read.
pub const APPLIED_HEADER: &str = "x-caseledger-applied";

/// The API's routes over a node.
pub fn router(node: Arc<NodeCtx>) -> Router {
    let limit = node.limits.max_body_bytes;
    Router::new()
        .route("/v1/entries", post(entries::submit).get(query::entries))
        .route("/v1/entries/{index}", get(query::entry))
        .route("/v1/head", get(ops::head))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/admin/status", get(admin::status))
        .route("/admin/learners", post(admin::add_learner))
        .route("/admin/promote", post(admin::promote))
        .route("/admin/remove", post(admin::remove))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(node)
}
