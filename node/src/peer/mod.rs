//! The peer port's HTTP: the Raft routes ([`raft`], over `crate::raft::network`'s decisions),
//! ledger catch-up ([`catchup`]), cosigning ([`cosign`]), the peer-port router that merges them
//! with the Raft routes, and the per-request check that the connection's certificate still
//! carries a pinned key ([`still_pinned`], over the pins [`RegistryPins`] reads from the
//! ledger). The services it carries (`crate::checkpointer`, `crate::ledger::catchup`) name no
//! HTTP type; `crate::tls` is given its pins, it does not read the ledger.

pub mod catchup;
pub mod cosign;
pub mod raft;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use proto_types::payload::NodeDecl;

use crate::ledger::Ledger;
use crate::node::NodeCtx;
use crate::raft::membership::Guard;
use crate::raft::network::DEFAULT_MAX_BODY_BYTES;
use crate::tls::{self, PeerInfo, Pins};

/// The registry's node keys: genesis's until the ledger has applied genesis, then the ledger's
/// registry as of its last applied batch (which the state machine replaces as entries apply).
pub struct RegistryPins {
    genesis: Vec<NodeDecl>,
    ledger: Arc<Ledger>,
}

impl RegistryPins {
    /// Pins read from `ledger`, falling back to the `genesis` node declarations.
    pub fn new(genesis: Vec<NodeDecl>, ledger: Arc<Ledger>) -> Self {
        RegistryPins { genesis, ledger }
    }
}

impl Pins for RegistryPins {
    fn nodes_for(&self, spki: &[u8]) -> Vec<u64> {
        match self.ledger.registry() {
            Some(reg) => tls::matching_registry(reg.nodes.values(), spki),
            None => tls::matching(self.genesis.iter(), spki),
        }
    }
}

/// Middleware of the peer port: every request is refused (403) unless the connection's
/// certificate still carries a key in force for some node. A connection outlives the registry
/// change that ends its key (a `RotateNodeKey`, a removal, a `RevokeNodeKey`), so the pin
/// checked at the handshake is checked again on each request.
pub async fn still_pinned(
    State(pins): State<Arc<dyn Pins>>,
    ConnectInfo(peer): ConnectInfo<PeerInfo>,
    req: Request,
    next: Next,
) -> Response {
    let current = peer
        .spki
        .as_deref()
        .map(|spki| pins.nodes_for(spki))
        .unwrap_or_default();
    if current.is_empty() {
        tracing::warn!(addr = %peer.addr, nodes = ?peer.nodes, "refused a peer request: the certificate no longer carries a key in force");
        return (
            StatusCode::FORBIDDEN,
            "the connection's certificate no longer carries a node key in force",
        )
            .into_response();
    }
    next.run(req).await
}

/// Every route of the peer port: Raft's (guarded by the ledger's membership checks), ledger
/// chunks and cosigning, each request checked by [`still_pinned`].
pub fn router(ctx: Arc<NodeCtx>, guard: Arc<Guard>) -> Router {
    raft::router(ctx.raft.clone(), Some(guard), DEFAULT_MAX_BODY_BYTES)
        .merge(catchup::router(ctx.store.clone()))
        .merge(cosign::router(ctx.clone()))
        .layer(axum::middleware::from_fn_with_state(
            ctx.peer_tls.pins(),
            still_pinned,
        ))
}
