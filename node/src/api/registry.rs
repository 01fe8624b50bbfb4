//! `GET /v1/organisations[/{id}]`: the registry as of the applied head, with every key each
//! organisation ever had (validity, rotation, revocation).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use crate::node::NodeCtx;

/// The registry's organisations.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Organisations {
    /// The cluster's name from genesis.
    pub cluster_name: String,
    /// Every organisation (`id`, `name`, `kind`, `level`, `parent`, `city`, `keys` with their
    /// history), by id.
    #[schema(value_type = Vec<Object>)]
    pub organisations: Vec<serde_json::Value>,
    /// The node identities (node id and signing key).
    #[schema(value_type = Vec<Object>)]
    pub nodes: Vec<serde_json::Value>,
}

fn registry(node: &NodeCtx) -> Result<Arc<proto_types::Registry>, ApiError> {
    node.ledger
        .registry()
        .ok_or_else(|| ApiError::unavailable("the ledger has no genesis yet"))
}

/// `GET /v1/organisations`.
///
/// Access: any authenticated caller (the registry is shared by the members).
#[utoipa::path(get, path = "/v1/organisations", tag = "registry", responses((status = 200, body = Organisations), (status = 503, body = ErrorBody)))]
pub async fn organisations(
    State(node): State<Arc<NodeCtx>>,
) -> Result<Json<Organisations>, ApiError> {
    let r = registry(&node)?;
    // Registry values are plain data: encoding them cannot fail.
    let organisations = r
        .organisations
        .values()
        .map(|o| serde_json::to_value(o).unwrap_or_default())
        .collect();
    let nodes = r
        .nodes
        .values()
        .map(|n| serde_json::to_value(n).unwrap_or_default())
        .collect();
    Ok(Json(Organisations {
        cluster_name: r.cluster_name.clone(),
        organisations,
        nodes,
    }))
}

/// `GET /v1/organisations/{id}`.
///
/// Access: any authenticated caller (the registry is shared by the members).
#[utoipa::path(get, path = "/v1/organisations/{id}", tag = "registry",
    params(("id" = String, Path, description = "The organisation id")),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
pub async fn organisation(
    State(node): State<Arc<NodeCtx>>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let r = registry(&node)?;
    let org = r
        .organisations
        .values()
        .find(|o| o.id.as_str() == id)
        .ok_or_else(|| ApiError::not_found(format!("no organisation {id}")))?;
    serde_json::to_value(org)
        .map(Json)
        .map_err(|e| ApiError::internal("encoding an organisation", e))
}
