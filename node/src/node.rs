//! The node's context: what the API handlers, the peer port and the background tasks share
//! (Raft, the ledger, the store, the services). Starting and stopping a node is
//! `crate::server`'s.
//!
//! Invariant: this module imports neither the API, the peer port, the checkpointer nor the
//! assembly: they import it.

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use proto_types::merkle::MerkleHash;
use proto_types::{Proposal, Submission, Timestamp};
use serde::Serialize;

use crate::config::{ApiLimits, ClockConfig};
use crate::ledger::{ApplyResult, Ledger};
use crate::metrics::Metrics;
use crate::raft::{self, cluster, Raft};
use crate::service::submit::{Forward, SubmitError};
use crate::store::{blocking, Store};
use crate::tls;

/// The operator's view of a node (`GET /admin/status`): its Raft state, its ledger's head,
/// and what the self-check and the cosign rounds found.
#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
    /// Raft: id, role, term, leader, log indexes, membership.
    #[serde(flatten)]
    pub raft: cluster::RaftStatus,
    /// Entries in the ledger.
    pub ledger_size: u64,
    /// Hash of the last entry, hex.
    pub head_hash: String,
    /// What the self-check found.
    pub selfcheck: crate::selfcheck::SelfCheckReport,
    /// What the cosign rounds found (free-form, for people).
    pub cosigning: serde_json::Value,
}

/// Why a node is not ready (`GET /readyz` answers it with 503).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    /// A failed write poisoned the store.
    #[error("store poisoned by a failed write")]
    StorePoisoned,
    /// Not in a quorum, or catching up.
    #[error(transparent)]
    Raft(#[from] cluster::RaftUnready),
    /// The self-check is running or found damage.
    #[error(transparent)]
    SelfCheck(#[from] crate::selfcheck::SelfCheckUnready),
    /// No genesis applied yet.
    #[error("no genesis applied yet")]
    NoGenesis,
}

/// What the API handlers share.
pub struct NodeCtx {
    /// This node's id.
    pub id: u64,
    /// Raft.
    pub raft: Raft,
    /// Whether this node leads with a quorum, and whom it may treat as the leader.
    pub leadership: raft::leadership::Leadership,
    /// Groups this node's proposals into Raft entries (group commit).
    pub batcher: raft::batcher::Batcher,
    /// The ledger.
    pub ledger: Arc<Ledger>,
    /// The store.
    pub store: Store,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Request limits.
    pub limits: ApiLimits,
    /// The ledger's clock.
    pub clock: ClockConfig,
    /// The signed genesis this cluster started from.
    pub genesis: Submission,
    /// The node's signing key (checkpoints, signed tree heads).
    pub node_key: SigningKey,
    /// HTTP client for forwarding to the leader's API (HTTPS when `[tls.api]` is set).
    pub http: reqwest::Client,
    /// `http` or `https`: how this node reaches other nodes' APIs (all serve alike).
    pub api_scheme: &'static str,
    /// The peer port's mutual-TLS client (cosigning, ledger catch-up).
    pub peer_http: reqwest::Client,
    /// The peer port's mutual TLS (probing a node before it is added).
    pub peer_tls: tls::PeerTls,
    /// How a follower hands submissions to the leader (the API's HTTP client).
    pub forward: Arc<dyn Forward>,
    /// The signed tree head behind receipts (signed once per applied batch).
    pub tree_heads: crate::service::receipts::TreeHeads,
    /// API admission: concurrency permits, seen nonces, per-organisation rates.
    pub admission: crate::service::admission::Admission,
    /// Ingress signature checks, verified together across requests.
    pub verifier: crate::service::verifier::SignatureVerifier,
    /// What the self-check of the stored ledger found (issue 5).
    pub selfcheck: Arc<crate::selfcheck::Health>,
    /// What the cosign rounds found: members that disagree (issue 5).
    pub cosigning: Arc<crate::service::cosigning::Cosigning>,
}

impl NodeCtx {
    /// The ledger clock's reading now.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.clock.now_ms())
    }

    /// Proposes through Raft if this node leads, else forwards to the leader's API, following
    /// the leadership until `deadline`.
    pub async fn submit(
        &self,
        proposal: Proposal,
        deadline: std::time::Instant,
    ) -> Result<ApplyResult, SubmitError> {
        crate::service::submit::submit(
            &self.batcher,
            &self.leadership,
            self.forward.as_ref(),
            &self.metrics.forward_resends,
            proposal,
            deadline,
        )
        .await
    }

    /// The Merkle root at `size`.
    pub async fn root(&self, size: u64) -> Result<MerkleHash, crate::store::StoreError> {
        let store = self.store.clone();
        blocking(move || crate::ledger::root_at(&store, size)).await
    }

    /// Ready: in a quorum and caught up.
    pub fn readiness(&self) -> Result<(), NotReady> {
        if self.store.is_poisoned() {
            return Err(NotReady::StorePoisoned);
        }
        cluster::readiness(&self.leadership)?;
        self.selfcheck.readiness()?;
        if self.ledger.registry().is_none() {
            return Err(NotReady::NoGenesis);
        }
        Ok(())
    }

    /// Whether this node leads, with a quorum.
    pub fn is_leader(&self) -> bool {
        self.leadership.holds_quorum()
    }

    /// Operator's view.
    pub fn status(&self) -> NodeStatus {
        let head = self.ledger.head();
        NodeStatus {
            raft: cluster::status(&self.leadership),
            ledger_size: head.size,
            head_hash: head.hash.to_hex(),
            selfcheck: self.selfcheck.report(),
            cosigning: self.cosigning.report(),
        }
    }

    /// The membership the ledger approved beside the Raft membership in effect, and what the
    /// leader has yet to carry out.
    pub fn membership(&self) -> serde_json::Value {
        let current = raft::membership::Config::of_raft(&self.raft);
        let registry = self.ledger.registry();
        let approved: serde_json::Value = registry
            .as_ref()
            .map(|r| serde_json::to_value(&r.members).unwrap_or_default())
            .unwrap_or_default();
        let pending = registry.as_ref().and_then(|r| {
            raft::membership::next_step(&current, &raft::membership::Approved::of(r))
        });
        serde_json::json!({
            "approved": approved,
            "raft": {
                "voters": current.joint,
                "nodes": current.nodes,
            },
            "pending": pending.map(|p| format!("{p:?}")),
        })
    }
}
