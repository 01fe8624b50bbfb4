//! openraft on top of [`crate::store`]: the only module that names openraft types.
//!
//! - [`TypeConfig`]: node ids are `u64`, a node is a [`Peer`] (its Raft and API addresses),
//!   the application data is an opaque [`RaftRequest`] (a batch of canonical proposal bytes: the
//!   Raft log is transport), the response a [`RaftResponse`] (one outcome per proposal), and a
//!   snapshot a [`LedgerSnapshot`] (a pointer into the ledger, `generic-snapshot-data`).
//! - [`log_store::LogStore`]: `RaftLogStorage` over the `raft_log` / `raft_meta` column
//!   families, one synced batch per append, vote, truncate and purge.
//! - [`state_machine::StateMachine`]: `RaftStateMachine` delegating the ledger apply to a
//!   [`LedgerMachine`](crate::ledger::LedgerMachine).
//! - [`leadership`]: whether this node leads with a quorum; a leader that no quorum
//!   acknowledged for an election timeout steps down (openraft 0.9 has no CheckQuorum).
//! - [`network`]: the HTTP transport: its client, and its server side as data (the routes are
//!   `crate::peer::raft`'s).
//!
//! An openraft upgrade touches this folder only.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ledger::{Applied, LedgerMachine, LedgerPointer, LogPosition};
use crate::store::{Store, StoreError};

pub mod batcher;
pub mod cluster;
pub mod leadership;
pub mod log_store;
pub mod membership;
pub mod network;
pub mod state_machine;

#[cfg(test)]
mod tests;

/// A node's id in the cluster (pinned by genesis).
pub type NodeId = u64;

openraft::declare_raft_types!(
    /// openraft's type configuration for caseledger.
    pub TypeConfig:
        D = RaftRequest,
        R = RaftResponse,
        NodeId = u64,
        Node = Peer,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = LedgerSnapshot,
        AsyncRuntime = openraft::TokioRuntime,
);

/// A running Raft instance.
pub type Raft = openraft::Raft<TypeConfig>;

/// How to reach a node: carried in Raft membership, never in genesis.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    /// `host:port` of its Raft transport (the peer port).
    pub raft_addr: String,
    /// `host:port` of its client API.
    pub api_addr: String,
}

/// What one Raft log entry carries: a batch of proposals, each opaque canonical bytes that the
/// ledger decodes on apply, in the order they are applied. The leader groups the submissions
/// that arrive while earlier batches are in flight ([`batcher`]), so one log append, one
/// replication round and one fsync per node cover many submissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaftRequest {
    /// The canonical bytes of each proposal.
    pub proposals: Vec<Vec<u8>>,
}

/// What applying one Raft log entry produced: one [`Applied`] per proposal, in order (none for
/// blank and membership entries).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RaftResponse {
    /// The outcome of each proposal of the entry.
    pub applied: Vec<Applied>,
}

/// A snapshot's data: a pointer into the ledger, never a copy of it. openraft's
/// `SnapshotMeta` carries the last log id and membership beside it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LedgerSnapshot {
    /// The last Raft log entry the snapshot covers (same as the meta's `last_log_id`).
    pub last_applied: Option<LogPosition>,
    /// Tree size, head, root and the small mutable state.
    pub ledger: LedgerPointer,
}

/// Raft timing and compaction settings (typed; parsed once by `config`).
#[derive(Debug, Clone)]
pub struct RaftSettings {
    /// Cluster name, checked by nothing but shown in logs.
    pub cluster_name: String,
    /// Leader heartbeat interval.
    pub heartbeat: Duration,
    /// Election timeout lower bound.
    pub election_min: Duration,
    /// Election timeout upper bound.
    pub election_max: Duration,
    /// Build a snapshot after this many applied entries since the last one.
    pub snapshot_every: u64,
    /// Raft log entries to keep behind a snapshot (for slow followers).
    pub keep_behind_snapshot: u64,
    /// Most entries per append request (the transport also splits by body size).
    pub max_entries_per_append: u64,
}

impl Default for RaftSettings {
    fn default() -> Self {
        RaftSettings {
            cluster_name: "caseledger".to_owned(),
            heartbeat: Duration::from_millis(250),
            election_min: Duration::from_millis(1000),
            election_max: Duration::from_millis(2000),
            snapshot_every: 5000,
            keep_behind_snapshot: 1000,
            max_entries_per_append: 300,
        }
    }
}

/// Why a Raft node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The settings are inconsistent (e.g. heartbeat longer than the election timeout).
    #[error("invalid raft settings: {0}")]
    Settings(String),
    /// Reading the persisted log or state machine failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// openraft refused to start.
    #[error("raft failed to start: {0}")]
    Raft(String),
}

/// Start a Raft node over `store`, applying committed proposals through `ledger` and talking
/// to peers through `network`.
pub async fn start(
    id: NodeId,
    settings: &RaftSettings,
    store: Store,
    ledger: Arc<dyn LedgerMachine>,
    network: network::Network,
) -> Result<Raft, StartError> {
    let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let config = openraft::Config {
        cluster_name: settings.cluster_name.clone(),
        heartbeat_interval: millis(settings.heartbeat),
        election_timeout_min: millis(settings.election_min),
        election_timeout_max: millis(settings.election_max),
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(settings.snapshot_every),
        max_in_snapshot_log_to_keep: settings.keep_behind_snapshot,
        max_payload_entries: settings.max_entries_per_append,
        ..Default::default()
    }
    .validate()
    .map_err(|e| StartError::Settings(e.to_string()))?;
    let log_store = log_store::LogStore::new(store.clone());
    let state_machine = state_machine::StateMachine::open(store, ledger).await?;
    Raft::new(id, Arc::new(config), network, log_store, state_machine)
        .await
        .map_err(|e| StartError::Raft(e.to_string()))
}

/// Why a proposal was not committed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProposeError {
    /// This node is not the leader; `leader` is the one it knows of, if any.
    #[error("not the leader; forward to {leader:?}")]
    NotLeader {
        /// The current leader's id and address, if known.
        leader: Option<(NodeId, Peer)>,
    },
    /// This node is openraft's leader but no quorum acknowledged it for an election timeout
    /// ([`leadership`]): it does not lead. A proposal it had taken may still commit (if the
    /// quorum comes back before another leader is elected).
    #[error("no quorum reachable from this node (no acknowledgement for {lease_ms} ms)")]
    NoQuorum {
        /// The lease that passed without an acknowledgement, milliseconds.
        lease_ms: u64,
    },
    /// The proposal could not be committed (the node is stopping, or Raft failed).
    #[error("proposal not committed: {0}")]
    Unavailable(String),
}

/// Propose a batch of proposals as one Raft entry and wait until it is committed and applied
/// here; returns one [`Applied`] per proposal, in order.
pub async fn propose(raft: &Raft, proposals: Vec<Vec<u8>>) -> Result<Vec<Applied>, ProposeError> {
    use openraft::error::{ClientWriteError, RaftError};
    let expected = proposals.len();
    match raft.client_write(RaftRequest { proposals }).await {
        Ok(resp) if resp.data.applied.len() == expected => Ok(resp.data.applied),
        Ok(resp) => Err(ProposeError::Unavailable(format!(
            "{} outcomes for {expected} proposals",
            resp.data.applied.len()
        ))),
        Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
            Err(ProposeError::NotLeader {
                leader: f.leader_id.zip(f.leader_node),
            })
        }
        Err(e) => Err(ProposeError::Unavailable(e.to_string())),
    }
}

/// Make `voters` the first membership. Call once, on one node, at bootstrap.
pub async fn initialize(raft: &Raft, voters: BTreeMap<NodeId, Peer>) -> Result<(), StartError> {
    raft.initialize(voters)
        .await
        .map_err(|e| StartError::Raft(e.to_string()))
}

fn position(log_id: &openraft::LogId<NodeId>) -> LogPosition {
    LogPosition {
        term: log_id.leader_id.term,
        leader: log_id.leader_id.node_id,
        index: log_id.index,
    }
}

/// Encode a value stored by this module (postcard).
pub(crate) fn encode<T: Serialize + ?Sized>(what: &str, value: &T) -> Result<Vec<u8>, StoreError> {
    postcard::to_allocvec(value).map_err(|e| StoreError::Corrupt {
        what: what.to_owned(),
        detail: format!("encode: {e}"),
    })
}

/// Decode a value stored by this module, refusing trailing bytes.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    what: &str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        what: what.to_owned(),
        detail,
    };
    let (value, rest) = postcard::take_from_bytes(bytes).map_err(|e| corrupt(e.to_string()))?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(corrupt(format!("{} trailing bytes", rest.len())))
    }
}
