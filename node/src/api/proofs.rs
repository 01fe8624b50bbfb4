//! Merkle proofs from the `merkle` column family: inclusion of an entry in a tree size, and
//! consistency between two tree sizes (RFC 9162; docs/FORMAT.md §Merkle). O(log n) reads.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::Json;
use proto_types::merkle::{MerkleError, MerkleHash};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody, ErrorCode};
use crate::ledger::read::Consistency;
use crate::ledger::Reader;
use crate::node::NodeCtx;
use crate::store::{blocking, StoreError};

fn hexes(hashes: &[MerkleHash]) -> Vec<String> {
    hashes.iter().map(|h| hex::encode(h.as_bytes())).collect()
}

fn proof_error(e: MerkleError<StoreError>) -> ApiError {
    match e {
        MerkleError::IndexOutOfRange { .. } | MerkleError::InvalidRange { .. } => ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            ErrorCode::OutOfRange,
            e.to_string(),
        ),
        other => ApiError::internal("computing a Merkle proof", other),
    }
}

/// Parameters of an inclusion proof.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    /// The entry's ledger index.
    pub index: u64,
    /// The tree size to prove against (default: this node's applied size).
    pub tree_size: Option<u64>,
}

/// An inclusion proof (hex SHA-256 hashes).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InclusionProof {
    /// The entry's index.
    pub index: u64,
    /// The tree size.
    pub tree_size: u64,
    /// The root at `tree_size`, hex.
    pub root: String,
    /// `PATH(index, D[tree_size])`, leaf side first, hex.
    pub proof: Vec<String>,
}

/// Parameters of a consistency proof.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The older tree size.
    pub first: u64,
    /// The newer tree size (default: this node's applied size).
    pub second: Option<u64>,
}

/// A consistency proof (hex SHA-256 hashes).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConsistencyProof {
    /// The older size.
    pub first: u64,
    /// The newer size.
    pub second: u64,
    /// The root at `first`, hex.
    pub first_root: String,
    /// The root at `second`, hex.
    pub second_root: String,
    /// `PROOF(first, D[second])`, hex.
    pub proof: Vec<String>,
}

fn check_size(node: &NodeCtx, size: u64) -> Result<(), ApiError> {
    let applied = node.ledger.head().size;
    if size > applied {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            ErrorCode::OutOfRange,
            format!("tree size {size} is beyond this node's {applied} entries"),
        ));
    }
    Ok(())
}

/// The inclusion proof of `index` at `size`, with the root (receipts use it too).
pub(crate) async fn inclusion(
    node: &NodeCtx,
    index: u64,
    size: u64,
) -> Result<(Vec<MerkleHash>, MerkleHash), ApiError> {
    let reader = Reader::new(&node.store);
    blocking(move || Ok(reader.inclusion(index, size)))
        .await
        .map_err(|e| ApiError::internal("reading Merkle nodes", e))?
        .map_err(proof_error)
}

/// `GET /v1/proofs/inclusion`.
///
/// Access: any authenticated caller (hashes only, no entry content).
#[utoipa::path(get, path = "/v1/proofs/inclusion", tag = "proofs", params(InclusionQuery),
    responses((status = 200, body = InclusionProof), (status = 400, body = ErrorBody)))]
pub async fn inclusion_proof(
    State(node): State<Arc<NodeCtx>>,
    Query(q): Query<InclusionQuery>,
) -> Result<Json<InclusionProof>, ApiError> {
    let size = q.tree_size.unwrap_or_else(|| node.ledger.head().size);
    check_size(&node, size)?;
    let (proof, root) = inclusion(&node, q.index, size).await?;
    Ok(Json(InclusionProof {
        index: q.index,
        tree_size: size,
        root: hex::encode(root.as_bytes()),
        proof: hexes(&proof),
    }))
}

/// `GET /v1/proofs/consistency`.
///
/// Access: any authenticated caller (hashes only).
#[utoipa::path(get, path = "/v1/proofs/consistency", tag = "proofs", params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyProof), (status = 400, body = ErrorBody)))]
pub async fn consistency_proof(
    State(node): State<Arc<NodeCtx>>,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Json<ConsistencyProof>, ApiError> {
    let second = q.second.unwrap_or_else(|| node.ledger.head().size);
    check_size(&node, second)?;
    let first = q.first;
    let reader = Reader::new(&node.store);
    let Consistency {
        proof,
        first_root,
        second_root,
    } = blocking(move || Ok(reader.consistency(first, second)))
        .await
        .map_err(|e| ApiError::internal("reading Merkle nodes", e))?
        .map_err(proof_error)?;
    Ok(Json(ConsistencyProof {
        first,
        second,
        first_root: hex::encode(first_root.as_bytes()),
        second_root: hex::encode(second_root.as_bytes()),
        proof: hexes(&proof),
    }))
}
