//! Leadership with a quorum: who this node may treat as the leader, and whether it may lead
//! itself.
//!
//! openraft 0.9 has no CheckQuorum: a leader cut off from the other voters keeps its role (and
//! keeps answering `current_leader = me`) until a message with a higher term reaches it, which
//! a partition prevents, so a cut-off leader went on taking writes that waited out the commit
//! timeout and reported itself as leader beside the new one. What openraft does offer is the
//! measure: `RaftMetrics::millis_since_quorum_ack`, the time since a quorum last acknowledged
//! this leader (heartbeats and appends alike), refreshed every time its core loop runs (at
//! least at every tick, 1.5 heartbeat intervals); and `Raft::trigger().elect()`, which 0.9.25
//! ignores on a leader. So the step-down is here, in the node's Raft layer, and nothing above it
//! decides leadership on its own:
//!
//! - [`Leadership::watch`] follows openraft's metrics and its own clock and keeps a [`View`]:
//!   the instant a quorum last acknowledged this leader (a new leader counts its election
//!   win as one), and from it whether this node *holds* the leadership: openraft leader, and
//!   acknowledged within the lease (the election timeout's upper bound, the same lease the
//!   followers give a leader before they vote for another).
//! - A leader past the lease has stepped down as far as the node goes: the batcher refuses
//!   proposals and fails those waiting ([`super::ProposeError::NoQuorum`]), consistent reads are
//!   refused, `/readyz` fails, the leader gauge reads 0 and the status names no leader. It
//!   takes no further decision: if a quorum acknowledges it again (a short blip, no election
//!   meanwhile) it holds the leadership again; if a new leader was elected, the first message
//!   from it makes openraft a follower.
//!
//! Fencing only ever refuses service, so it cannot break safety: commits still need a quorum
//! and linearizable reads still confirm the leadership with one (openraft's read index).
//!
//! On the other side of the same cut, a voter that has heard nothing from its leader for the
//! lease (and a random quarter of it) stands for election at once ([`campaign_if_leaderless`],
//! `Raft::trigger().elect()`), instead of openraft 0.9's lease *plus* its own election timeout:
//! the other voters' lease on the silent leader has run out by then as well, so they grant
//! the vote, and a new leader is elected about one lease after the old one went silent (etcd's
//! followers likewise campaign one election timeout after their last heartbeat).

use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{NodeId, Peer, Raft};

/// What this node knows about the leadership, at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    /// The leader as this node may treat it: another node openraft follows, or this node while
    /// it holds a quorum; `None` when none is known or this node leads without a quorum.
    pub leader: Option<NodeId>,
    /// openraft runs this node as leader (with or without a quorum).
    pub raft_leader: bool,
    /// This node leads and a quorum acknowledged it within the lease.
    pub holds_quorum: bool,
    /// When a quorum last acknowledged this node as leader (`None` unless it is openraft's
    /// leader).
    pub quorum_acked: Option<Instant>,
}

impl View {
    const NONE: View = View {
        leader: None,
        raft_leader: false,
        holds_quorum: false,
        quorum_acked: None,
    };

    /// Whether this node is openraft's leader without a quorum: it must not serve as leader.
    pub fn fenced(&self) -> bool {
        self.raft_leader && !self.holds_quorum
    }
}

/// The leadership as this node may act on it (cheap to clone).
#[derive(Clone)]
pub struct Leadership {
    pub(super) raft: Raft,
    me: NodeId,
    lease: Duration,
    rx: watch::Receiver<View>,
}

impl Leadership {
    /// Starts following `raft` (node `me`): a leader without a quorum acknowledgement for
    /// `lease` steps down. The task ends when Raft stops.
    pub fn watch(raft: Raft, me: NodeId, lease: Duration) -> Leadership {
        let (tx, rx) = watch::channel(View::NONE);
        tokio::spawn(follow(raft.clone(), me, lease, tx));
        Leadership {
            raft,
            me,
            lease,
            rx,
        }
    }

    /// The view now.
    pub fn view(&self) -> View {
        *self.rx.borrow()
    }

    /// This node's id.
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// How long a leader may go without a quorum acknowledgement.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// Whether this node leads with a quorum.
    pub fn holds_quorum(&self) -> bool {
        self.rx.borrow().holds_quorum
    }

    /// The leader, with its address, if it is another node.
    pub fn leader_elsewhere(&self) -> Option<(NodeId, Peer)> {
        let id = self.view().leader.filter(|id| *id != self.me)?;
        Some((id, peer_of(&self.raft, id)?))
    }

    /// The address of node `id` in the membership in effect.
    pub fn peer(&self, id: NodeId) -> Option<Peer> {
        peer_of(&self.raft, id)
    }

    /// Waits until the leader this node may treat as such is another than `seen` (or Raft
    /// stops: then never resolves).
    pub async fn leader_moved_from(&self, seen: Option<NodeId>) {
        let mut rx = self.rx.clone();
        if rx.wait_for(|v| v.leader != seen).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Waits until this node no longer holds the leadership with a quorum (or Raft stops:
    /// then never resolves).
    pub async fn lost(&self) {
        let mut rx = self.rx.clone();
        if rx.wait_for(|v| !v.holds_quorum).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// A receiver of every change of the view.
    pub fn subscribe(&self) -> watch::Receiver<View> {
        self.rx.clone()
    }
}

impl std::fmt::Debug for Leadership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leadership")
            .field("me", &self.me)
            .field("view", &self.view())
            .finish_non_exhaustive()
    }
}

fn peer_of(raft: &Raft, id: NodeId) -> Option<Peer> {
    raft.metrics()
        .borrow()
        .membership_config
        .membership()
        .get_node(&id)
        .cloned()
}

/// Follows openraft's metrics and the clock; publishes every change of the [`View`].
async fn follow(raft: Raft, me: NodeId, lease: Duration, tx: watch::Sender<View>) {
    let mut metrics = raft.metrics();
    let mut acked: Option<Instant> = None;
    // Checked at least this often, so the lease expires on time even if openraft reports
    // nothing (its core loop stalled).
    let every = (lease / 8).max(Duration::from_millis(20));
    // Whether openraft reported since the last pass: `millis_since_quorum_ack` is as old as
    // the report, so only a fresh one moves the acknowledgement.
    let mut fresh = true;
    let mut patience = lease + jitter(lease);
    // A follower's silence is checked at most this often, not at every report: the check asks
    // openraft's core loop (a message and its answer), and reports come with every append.
    let mut next_silence_check = Instant::now();
    loop {
        let now = Instant::now();
        let (leader, raft_leader) = {
            let m = metrics.borrow_and_update();
            let raft_leader =
                m.current_leader == Some(me) && matches!(m.state, openraft::ServerState::Leader);
            if !raft_leader {
                acked = None;
            } else if fresh || acked.is_none() {
                let reported = m.millis_since_quorum_ack.map_or_else(
                    // A new leader has no acknowledgement yet: its election was one.
                    || acked.unwrap_or(now),
                    |ms| now.checked_sub(Duration::from_millis(ms)).unwrap_or(now),
                );
                acked = Some(acked.map_or(reported, |a| a.max(reported)));
            }
            (m.current_leader, raft_leader)
        };
        let holds_quorum = raft_leader && acked.is_some_and(|a| now.duration_since(a) <= lease);
        let view = View {
            leader: if raft_leader && !holds_quorum {
                None
            } else {
                leader
            },
            raft_leader,
            holds_quorum,
            quorum_acked: acked,
        };
        // Subscribers hear of a change of who leads, not of every acknowledgement.
        tx.send_if_modified(|v| {
            let changed = v.leader != view.leader
                || v.raft_leader != view.raft_leader
                || v.holds_quorum != view.holds_quorum;
            *v = view;
            changed
        });
        if !raft_leader && now >= next_silence_check {
            campaign_if_leaderless(&raft, me, lease, &mut patience).await;
            next_silence_check = now + every;
        }
        tokio::select! {
            changed = metrics.changed() => {
                if changed.is_err() {
                    return;
                }
                fresh = true;
            }
            () = tokio::time::sleep(every) => fresh = false,
        }
    }
}

/// Up to a quarter of the lease, at random: followers that lost the same leader at the same
/// instant stand at different times.
fn jitter(lease: Duration) -> Duration {
    lease.mul_f64(rand::random::<f64>() / 4.0)
}

/// A voter that follows a leader it has not heard from for `patience` (the lease and a random
/// part of it) stands for election at once (`Raft::trigger().elect()`). openraft 0.9 would
/// wait the lease *and* its election timeout (randomised once per process), one to two
/// election timeouts more than needed: the other voters' lease on the silent leader has
/// expired by then too, so they grant the vote. A candidate, or a node that never followed a
/// leader, is left to openraft's own timers.
async fn campaign_if_leaderless(raft: &Raft, me: NodeId, lease: Duration, patience: &mut Duration) {
    let following = {
        let m = raft.metrics().borrow().clone();
        matches!(m.state, openraft::ServerState::Follower)
            && m.membership_config
                .membership()
                .voter_ids()
                .any(|v| v == me)
            && m.membership_config.membership().voter_ids().count() > 1
    };
    if !following {
        return;
    }
    let Ok((heard, committed)) = raft
        .with_raft_state(|st| (st.vote_last_modified(), st.vote_ref().is_committed()))
        .await
    else {
        return;
    };
    if !committed || heard.is_none_or(|t| t.elapsed() < *patience) {
        return;
    }
    tracing::info!(silent_ms = ?heard.map(|t| t.elapsed().as_millis()), "no word from the leader for the lease: standing for election");
    let _ = raft.trigger().elect().await;
    *patience = lease + jitter(lease);
}
