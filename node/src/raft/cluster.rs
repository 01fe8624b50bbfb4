//! Cluster administration and observation over openraft, in caseledger's terms: who leads,
//! the membership, adding learners and changing voters.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::leadership::Leadership;
use super::{NodeId, Peer, Raft};

/// The leader this node knows of, with its address.
pub fn leader(raft: &Raft) -> Option<(NodeId, Peer)> {
    let metrics = raft.metrics();
    let m = metrics.borrow();
    let id = m.current_leader?;
    let peer = m.membership_config.membership().get_node(&id).cloned()?;
    Some((id, peer))
}

/// Why this node is not ready, as far as Raft goes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RaftUnready {
    /// No leader is known: this node is not in a quorum.
    #[error("no leader known: not in a quorum")]
    NoLeader,
    /// This node leads but no quorum acknowledged it for an election timeout.
    #[error("no quorum reachable from this node: it leads without one, so it does not serve")]
    NoQuorum,
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

/// Whether a leader is known (this node, only with a quorum) and this node has applied
/// everything it knows to be committed.
pub fn readiness(leadership: &Leadership) -> Result<(), RaftUnready> {
    let view = leadership.view();
    if view.fenced() {
        return Err(RaftUnready::NoQuorum);
    }
    if view.leader.is_none() {
        return Err(RaftUnready::NoLeader);
    }
    let m = leadership.raft.metrics().borrow().clone();
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
    /// Its role, as openraft names it (`Leader`, `Follower`, ...), or `LeaderWithoutQuorum`
    /// for a leader that no quorum acknowledged for an election timeout (it does not serve).
    pub state: String,
    /// The current term.
    pub term: u64,
    /// The leader it knows of (not itself while it leads without a quorum).
    pub leader: Option<NodeId>,
    /// Milliseconds since a quorum last acknowledged this node as leader (leaders only).
    pub quorum_ack_ms: Option<u64>,
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
pub fn status(leadership: &Leadership) -> RaftStatus {
    let view = leadership.view();
    let m = leadership.raft.metrics().borrow().clone();
    let membership = m.membership_config.membership();
    RaftStatus {
        id: m.id,
        state: if view.fenced() {
            "LeaderWithoutQuorum".to_owned()
        } else {
            format!("{:?}", m.state)
        },
        term: m.current_term,
        leader: view.leader,
        quorum_ack_ms: view
            .quorum_acked
            .map(|t| u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)),
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
///
/// A leader without a quorum ([`Leadership`]) refuses at once, and a read index waiting on
/// a leader that loses its quorum is refused when it does.
pub async fn ensure_linearizable(leadership: &Leadership) -> Result<u64, ReadIndexError> {
    use openraft::error::{CheckIsLeaderError, RaftError};
    let no_quorum = || ReadIndexError::Unavailable("no quorum reachable from this node".into());
    let view = leadership.view();
    if view.fenced() {
        return Err(no_quorum());
    }
    let raft = &leadership.raft;
    let confirmed = if view.raft_leader {
        tokio::select! {
            r = raft.ensure_linearizable() => r,
            () = leadership.lost() => return Err(no_quorum()),
        }
    } else {
        raft.ensure_linearizable().await
    };
    match confirmed {
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

/// Calls `on_change` every time the leader this node may treat as such changes (a leader
/// that loses its quorum counts: it then knows none), until Raft stops.
pub async fn watch_leader(
    leadership: Leadership,
    on_change: impl Fn(Option<NodeId>) + Send + 'static,
) {
    let mut rx = leadership.subscribe();
    let mut last = rx.borrow().leader;
    while rx.changed().await.is_ok() {
        let now = rx.borrow().leader;
        if now != last {
            last = now;
            on_change(now);
        }
    }
}
