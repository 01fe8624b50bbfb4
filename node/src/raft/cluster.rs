//! Cluster administration and observation over openraft, in caseledger's terms: who leads,
//! the membership, adding learners and changing voters.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{NodeId, Peer, Raft};

/// The leader this node knows of, with its address.
pub fn leader(raft: &Raft) -> Option<(NodeId, Peer)> {
    let metrics = raft.metrics();
    let m = metrics.borrow();
    let id = m.current_leader?;
    let peer = m.membership_config.membership().get_node(&id).cloned()?;
    Some((id, peer))
}

/// Whether this node is the leader.
pub fn is_leader(raft: &Raft, me: NodeId) -> bool {
    raft.metrics().borrow().current_leader == Some(me)
}

/// Why this node is not ready, as far as Raft goes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RaftUnready {
    /// No leader is known: this node is not in a quorum.
    #[error("no leader known: not in a quorum")]
    NoLeader,
    /// It has applied less of its log than it holds, by more than a margin.
    #[error("catching up: applied {applied:?} of {known:?}")]
    CatchingUp {
        /// The last log index applied.
        applied: Option<u64>,
        /// The last log index held.
        known: Option<u64>,
    },
}

/// Why a wait on this node's Raft state ended without what was waited for.
#[derive(Debug, thiserror::Error)]
pub enum RaftWaitError {
    /// It did not happen within the timeout, or Raft is shutting down.
    #[error(transparent)]
    Wait(#[from] openraft::metrics::WaitError),
    /// The metrics that ended the wait for a leader name none.
    #[error("no leader")]
    NoLeader,
}

/// Whether a leader is known and this node has applied everything it knows to be committed.
pub fn readiness(raft: &Raft) -> Result<(), RaftUnready> {
    let m = raft.metrics().borrow().clone();
    if m.current_leader.is_none() {
        return Err(RaftUnready::NoLeader);
    }
    let applied = m.last_applied.map(|l| l.index);
    let known = m.last_log_index;
    match (applied, known) {
        (Some(a), Some(k)) if a + 64 >= k => Ok(()),
        (_, None) => Ok(()),
        (applied, known) => Err(RaftUnready::CatchingUp { applied, known }),
    }
}

/// The Raft log index this node has applied, if any.
pub fn applied_index(raft: &Raft) -> Option<u64> {
    raft.metrics().borrow().last_applied.map(|l| l.index)
}

/// Current leader term.
pub fn term(raft: &Raft) -> u64 {
    raft.metrics().borrow().current_term
}

/// This node's Raft state, for operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RaftStatus {
    /// This node's id.
    pub id: NodeId,
    /// Its role, as openraft names it (`Leader`, `Follower`, ...).
    pub state: String,
    /// The current term.
    pub term: u64,
    /// The leader it knows of.
    pub leader: Option<NodeId>,
    /// The last log index it holds.
    pub last_log_index: Option<u64>,
    /// The last log index it applied.
    pub last_applied: Option<u64>,
    /// The voters of the membership in effect.
    pub voters: Vec<NodeId>,
    /// Its learners.
    pub learners: Vec<NodeId>,
    /// Every member's addresses.
    pub nodes: BTreeMap<NodeId, Peer>,
}

/// This node's Raft state, for operators.
pub fn status(raft: &Raft) -> RaftStatus {
    let m = raft.metrics().borrow().clone();
    let membership = m.membership_config.membership();
    RaftStatus {
        id: m.id,
        state: format!("{:?}", m.state),
        term: m.current_term,
        leader: m.current_leader,
        last_log_index: m.last_log_index,
        last_applied: m.last_applied.map(|l| l.index),
        voters: membership.voter_ids().collect(),
        learners: membership.learner_ids().collect(),
        nodes: membership.nodes().map(|(id, p)| (*id, p.clone())).collect(),
    }
}

/// Waits until a leader is known or `timeout` passes.
pub async fn wait_for_leader(
    raft: &Raft,
    timeout: std::time::Duration,
) -> Result<NodeId, RaftWaitError> {
    raft.wait(Some(timeout))
        .metrics(|m| m.current_leader.is_some(), "a leader")
        .await?
        .current_leader
        .ok_or(RaftWaitError::NoLeader)
}

/// Whether this Raft node was ever initialized (has a membership or log).
pub async fn is_initialized(raft: &Raft) -> bool {
    raft.is_initialized().await.unwrap_or(false)
}

/// Why a linearizable read could not be ensured here.
#[derive(Debug, thiserror::Error)]
pub enum ReadIndexError {
    /// This node does not lead; `leader` is the one it knows of, if any.
    #[error("not the leader")]
    NotLeader {
        /// The current leader's id and address, if known.
        leader: Option<(NodeId, Peer)>,
    },
    /// Leadership could not be confirmed by a quorum, or the node is stopping.
    #[error("no quorum: {0}")]
    Unavailable(String),
}

/// How long a leader waits for its own log to be applied before a linearizable read.
const READ_INDEX_APPLY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The read index (Raft log index) of a linearizable read, confirmed by a quorum of
/// heartbeats, once this leader has applied up to it.
///
/// The index is the larger of openraft's read log id and this leader's last log index.
/// openraft 0.9 takes `max(first entry of the leader's term, committed)`, but a leader that
/// restarts (kill -9) within its own term is restored as leader with `committed` = what its
/// state machine had applied (the committed index is not persisted) and the first entry of
/// its term far behind: it could answer a read older than one a follower had already served
/// (the fault-injection suite's linearizability checker caught exactly that). Every committed
/// entry is in the leader's log, so waiting for its last log index to be applied closes the
/// gap whatever openraft's bookkeeping; under load it costs at most one commit round.
pub async fn ensure_linearizable(raft: &Raft) -> Result<u64, ReadIndexError> {
    use openraft::error::{CheckIsLeaderError, RaftError};
    match raft.ensure_linearizable().await {
        Ok(read) => {
            let last_log = raft.metrics().borrow().last_log_index.unwrap_or(0);
            let index = read.map_or(0, |l| l.index).max(last_log);
            wait_applied(raft, index, READ_INDEX_APPLY_TIMEOUT)
                .await
                .map_err(|e| ReadIndexError::Unavailable(e.to_string()))?;
            Ok(index)
        }
        Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(f))) => {
            Err(ReadIndexError::NotLeader {
                leader: f.leader_id.zip(f.leader_node),
            })
        }
        Err(e) => Err(ReadIndexError::Unavailable(e.to_string())),
    }
}

/// Waits until this node has applied the Raft log up to `index` (a read index the leader
/// gave), or `timeout` passes.
pub async fn wait_applied(
    raft: &Raft,
    index: u64,
    timeout: std::time::Duration,
) -> Result<(), RaftWaitError> {
    raft.wait(Some(timeout))
        .metrics(
            move |m| m.last_applied.is_some_and(|l| l.index >= index),
            "applied up to the read index",
        )
        .await?;
    Ok(())
}

/// A member of the cluster as the checkpointer needs it: id, peer address, voter or learner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Node id.
    pub id: NodeId,
    /// Where it listens.
    pub peer: Peer,
    /// Whether it votes (else a learner).
    pub voter: bool,
}

/// Every member of the current membership, voters and learners.
pub fn members(raft: &Raft) -> Vec<Member> {
    let m = raft.metrics().borrow().clone();
    let membership = m.membership_config.membership();
    let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
    membership
        .nodes()
        .map(|(id, p)| Member {
            id: *id,
            peer: p.clone(),
            voter: voters.contains(id),
        })
        .collect()
}

/// Calls `on_change` every time the leader this node knows of changes, until Raft stops.
pub async fn watch_leader(raft: Raft, on_change: impl Fn(Option<NodeId>) + Send + 'static) {
    let mut rx = raft.metrics();
    let mut last = rx.borrow().current_leader;
    while rx.changed().await.is_ok() {
        let now = rx.borrow().current_leader;
        if now != last {
            last = now;
            on_change(now);
        }
    }
}
