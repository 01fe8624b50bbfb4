//! The cluster's membership as the ledger decided it (docs/FORMAT.md §Membership).
//!
//! Two halves, both over openraft:
//! - [`Executor`]: on whichever node leads, an idempotent loop that turns the approved
//!   membership (the registry's `members`) into openraft membership changes, one step at a
//!   time: remove, re-address, add learners, demote, promote (once caught up). It runs
//!   outside `apply` (a membership change waits on the state machine apply runs in).
//! - [`Guard`]: on every node, the peer port's checks: a vote only for an approved voter;
//!   Raft messages only from an approved voter or a voter of this node's current
//!   configuration with a key in force (a leader whose demotion the ledger approved is
//!   followed for [`Guard::execute_timeout`] at most: the escape from a leader that will not
//!   carry out its own demotion); and an `AppendEntries` carrying a Raft membership is
//!   accepted only if the ledger, applied up to the entry before it, approved it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse};
use openraft::{ChangeMembers, EntryPayload, Membership};
use proto_types::registry::{Member, Registry};

use super::cluster::RaftWaitError;
use super::{NodeId, Peer, Raft, TypeConfig};
use crate::ledger::Ledger;

/// The approved membership, in openraft's terms.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Approved {
    /// Approved voters.
    pub voters: BTreeSet<NodeId>,
    /// Approved members, with the address the ledger holds (none for the founder).
    pub members: BTreeMap<NodeId, Option<Peer>>,
}

impl Approved {
    /// The registry's approved membership.
    pub fn of(registry: &Registry) -> Self {
        Self::from_members(&registry.members)
    }

    fn from_members(members: &BTreeMap<NodeId, Member>) -> Self {
        Approved {
            voters: members
                .iter()
                .filter(|(_, m)| m.voter)
                .map(|(id, _)| *id)
                .collect(),
            members: members
                .iter()
                .map(|(id, m)| {
                    let peer = m.addr.as_ref().map(|a| Peer {
                        raft_addr: a.raft_addr.clone(),
                        api_addr: a.api_addr.clone(),
                    });
                    (*id, peer)
                })
                .collect(),
        }
    }

    /// Before genesis: the founder alone (the bootstrap membership).
    pub fn founder(id: NodeId) -> Self {
        Approved {
            voters: BTreeSet::from([id]),
            members: BTreeMap::from([(id, None)]),
        }
    }
}

/// A Raft membership reduced to what the checks compare.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// The voter sets: one, or two during a joint change.
    pub joint: Vec<BTreeSet<NodeId>>,
    /// Every node with its address.
    pub nodes: BTreeMap<NodeId, Peer>,
}

impl Config {
    /// This node's current (effective) Raft configuration.
    pub fn of_raft(raft: &Raft) -> Self {
        Self::of(raft.metrics().borrow().membership_config.membership())
    }

    fn of(m: &Membership<NodeId, Peer>) -> Self {
        Config {
            joint: m.get_joint_config().clone(),
            nodes: m.nodes().map(|(id, p)| (*id, p.clone())).collect(),
        }
    }

    /// Every voter of any of its voter sets.
    pub fn voters(&self) -> BTreeSet<NodeId> {
        self.joint.iter().flatten().copied().collect()
    }
}

/// Why a Raft membership is not one the ledger approved ([`permitted`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotPermitted {
    /// The membership has no voter set.
    #[error("a membership with no voter set")]
    NoVoterSet,
    /// A voter of its last voter set is not an approved voter.
    #[error("node {0} is a voter the ledger has not approved")]
    UnapprovedVoter(NodeId),
    /// A voter of an earlier set of a joint change is neither approved nor a voter before.
    #[error("node {0} is a voter of a joint configuration the ledger has not approved")]
    UnapprovedJointVoter(NodeId),
    /// A node new to the configuration is not an approved member.
    #[error("node {0} is not a member the ledger approved")]
    NotAMember(NodeId),
    /// A node new to the configuration joins at another address than the ledger holds.
    #[error("node {id} joins at {at}, the ledger approved {approved}")]
    WrongAddress {
        /// The node.
        id: NodeId,
        /// The Raft address it joins at.
        at: String,
        /// The Raft address the ledger holds for it.
        approved: String,
    },
    /// A node moves to an address the ledger does not hold for it.
    #[error("node {id} moves to {to}, which the ledger has not approved")]
    UnapprovedMove {
        /// The node.
        id: NodeId,
        /// The Raft address it moves to.
        to: String,
    },
}

/// Whether Raft membership `next` may follow `prev` under the approved membership: its last
/// voter set holds approved voters only; an earlier set of a joint change, approved voters or
/// voters of `prev`; a node new to the configuration is an approved member at the address the
/// ledger holds for it (if it holds one), and a node whose address changes moves to the
/// address the ledger holds. A node the ledger removed may stay (its removal pending), only
/// not as a voter of the last set.
pub fn permitted(next: &Config, prev: &Config, approved: &Approved) -> Result<(), NotPermitted> {
    let prev_voters = prev.voters();
    let Some((last, earlier)) = next.joint.split_last() else {
        return Err(NotPermitted::NoVoterSet);
    };
    if let Some(v) = last.iter().find(|v| !approved.voters.contains(v)) {
        return Err(NotPermitted::UnapprovedVoter(*v));
    }
    for set in earlier {
        if let Some(v) = set
            .iter()
            .find(|v| !approved.voters.contains(v) && !prev_voters.contains(v))
        {
            return Err(NotPermitted::UnapprovedJointVoter(*v));
        }
    }
    for (id, peer) in &next.nodes {
        let approved_addr = approved.members.get(id);
        match (prev.nodes.get(id), approved_addr) {
            (None, None) => return Err(NotPermitted::NotAMember(*id)),
            (None, Some(Some(addr))) if addr != peer => {
                return Err(NotPermitted::WrongAddress {
                    id: *id,
                    at: peer.raft_addr.clone(),
                    approved: addr.raft_addr.clone(),
                })
            }
            (Some(old), approved_addr)
                if old != peer && approved_addr.and_then(Option::as_ref) != Some(peer) =>
            {
                return Err(NotPermitted::UnapprovedMove {
                    id: *id,
                    to: peer.raft_addr.clone(),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// One step of the executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Remove these voters and learners (a removal the ledger approved).
    Remove {
        /// Voters to remove.
        voters: BTreeSet<NodeId>,
        /// Learners to remove.
        learners: BTreeSet<NodeId>,
    },
    /// Move these nodes to the address the ledger holds.
    Readdress(BTreeMap<NodeId, Peer>),
    /// Add these approved learners.
    AddLearners(BTreeMap<NodeId, Peer>),
    /// Make these voters learners.
    Demote(BTreeSet<NodeId>),
    /// Make these learners voters (once caught up).
    Promote(BTreeSet<NodeId>),
}

/// The first step from the current (uniform) configuration toward the approved one, if any.
pub fn next_step(current: &Config, approved: &Approved) -> Option<Step> {
    next_steps(current, approved).into_iter().next()
}

/// Every step from the current (uniform) configuration toward the approved one, in the order
/// the executor tries them: remove, re-address, add learners, demote, promote. A step that
/// cannot be taken yet (an address whose certificate is not the node's, a learner still
/// catching up) does not hold up the ones after it.
pub fn next_steps(current: &Config, approved: &Approved) -> Vec<Step> {
    let mut steps = Vec::new();
    let voters = current.voters();
    let gone: BTreeSet<NodeId> = current
        .nodes
        .keys()
        .filter(|id| !approved.members.contains_key(id))
        .copied()
        .collect();
    if !gone.is_empty() {
        let (v, l): (BTreeSet<_>, BTreeSet<_>) = gone.iter().partition(|id| voters.contains(id));
        steps.push(Step::Remove {
            voters: v,
            learners: l,
        });
    }
    let moved: BTreeMap<NodeId, Peer> = current
        .nodes
        .iter()
        .filter_map(|(id, peer)| match approved.members.get(id) {
            Some(Some(addr)) if addr != peer => Some((*id, addr.clone())),
            _ => None,
        })
        .collect();
    if !moved.is_empty() {
        steps.push(Step::Readdress(moved));
    }
    let new: BTreeMap<NodeId, Peer> = approved
        .members
        .iter()
        .filter(|(id, _)| !current.nodes.contains_key(id))
        .filter_map(|(id, addr)| addr.clone().map(|a| (*id, a)))
        .collect();
    if !new.is_empty() {
        steps.push(Step::AddLearners(new));
    }
    let demote: BTreeSet<NodeId> = voters
        .iter()
        .filter(|v| !approved.voters.contains(v))
        .copied()
        .collect();
    if !demote.is_empty() {
        steps.push(Step::Demote(demote));
    }
    let promote: BTreeSet<NodeId> = approved
        .voters
        .iter()
        .filter(|v| !voters.contains(v) && current.nodes.contains_key(v))
        .copied()
        .collect();
    if !promote.is_empty() {
        steps.push(Step::Promote(promote));
    }
    steps
}

/// The leader's executor of approved membership changes.
pub struct Executor {
    /// This node.
    pub me: NodeId,
    /// Raft.
    pub raft: Raft,
    /// The ledger whose registry holds the approved membership.
    pub ledger: Arc<Ledger>,
    /// How often to compare (and after each step).
    pub every: Duration,
    /// Refuse to carry out this node's own demotion or removal (only to test the escape path:
    /// a leader that will not step down).
    pub refuse_own_demotion: bool,
    /// The peer port's TLS: a node is added (or moved) only after the certificate at its
    /// approved address is found to carry the key the registry pins for it, so an impostor
    /// at an approved address never enters the Raft membership.
    pub peer_tls: crate::tls::PeerTls,
}

/// openraft's error of a membership change.
type ChangeError =
    openraft::error::RaftError<NodeId, openraft::error::ClientWriteError<NodeId, Peer>>;

/// A node approved at an address whose peer port did not prove it is that node.
#[derive(Debug, thiserror::Error)]
#[error("node {id} is approved at {addr} but not added: {cause}")]
pub struct NotProven {
    /// The node.
    pub id: NodeId,
    /// The Raft address the ledger holds for it.
    pub addr: String,
    /// What the probe found.
    pub cause: crate::tls::ProbeError,
}

/// Why the executor did not carry out a step.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The step demotes or removes this node and the config forbids it (tests only).
    #[error("refusing to carry out {0:?} (membership.refuse_own_demotion)")]
    OwnDemotionRefused(Step),
    /// openraft refused or failed the membership change.
    #[error("{0}")]
    Change(ChangeError),
    /// openraft refused or failed to add a learner.
    #[error("adding learner {id}: {cause}")]
    AddLearner {
        /// The learner.
        id: NodeId,
        /// openraft's error.
        cause: ChangeError,
    },
    /// The node at the address to move to did not prove it is the node.
    #[error(transparent)]
    NotProven(#[from] NotProven),
    /// None of the approved learners proved it is the node at its address.
    #[error("{}", join(.0))]
    NoLearnerAdded(Vec<NotProven>),
    /// The learners approved as voters are still too far behind.
    #[error("learners {0:?} are approved as voters and still catching up")]
    CatchingUp(BTreeSet<NodeId>),
}

/// The errors of every step the executor tried, none of which it could carry out.
#[derive(Debug, thiserror::Error)]
#[error("{}", join(.0))]
pub struct StepsFailed(pub Vec<StepError>);

/// Errors one after the other, `; ` between.
fn join<E: std::fmt::Display>(errors: &[E]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// How far behind the leader's log a learner may be and still be promoted.
const PROMOTE_LAG: u64 = 64;

impl Executor {
    /// Runs until `stop` turns true.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut last_error: Option<String> = None;
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                () = tokio::time::sleep(self.every) => {}
            }
            match self.tick().await {
                Ok(Some(step)) => {
                    tracing::info!(?step, "carried out an approved membership change");
                    last_error = None;
                }
                Ok(None) => {}
                Err(e) => {
                    let e = e.to_string();
                    if last_error.as_ref() != Some(&e) {
                        tracing::warn!(error = %e, "an approved membership change is not carried out yet");
                    }
                    last_error = Some(e);
                }
            }
        }
    }

    /// One comparison, and at most one step carried out: the first of [`next_steps`] that
    /// can be taken (the errors of those that could not, if none could).
    pub async fn tick(&self) -> Result<Option<Step>, StepsFailed> {
        let m = self.raft.metrics().borrow().clone();
        if m.current_leader != Some(self.me) {
            return Ok(None);
        }
        let Some(registry) = self.ledger.registry() else {
            return Ok(None);
        };
        let current = Config::of(m.membership_config.membership());
        if current.joint.len() > 1 {
            return Ok(None);
        }
        let mut errors = Vec::new();
        for step in next_steps(&current, &Approved::of(&registry)) {
            match self.take(&step, &m).await {
                Ok(()) => return Ok(Some(step)),
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(None)
        } else {
            Err(StepsFailed(errors))
        }
    }

    async fn take(
        &self,
        step: &Step,
        m: &openraft::RaftMetrics<NodeId, Peer>,
    ) -> Result<(), StepError> {
        let own = match step {
            Step::Remove { voters, learners } => {
                voters.contains(&self.me) || learners.contains(&self.me)
            }
            Step::Demote(ids) => ids.contains(&self.me),
            _ => false,
        };
        if own && self.refuse_own_demotion {
            return Err(StepError::OwnDemotionRefused(step.clone()));
        }
        let change = |c: ChangeMembers<NodeId, Peer>, retain: bool| {
            let raft = self.raft.clone();
            async move {
                raft.change_membership(c, retain)
                    .await
                    .map(|_| ())
                    .map_err(StepError::Change)
            }
        };
        match step {
            Step::Remove { voters, learners } => {
                if !voters.is_empty() {
                    change(ChangeMembers::RemoveVoters(voters.clone()), false).await?;
                }
                if !learners.is_empty() {
                    change(ChangeMembers::RemoveNodes(learners.clone()), false).await?;
                }
            }
            Step::Readdress(nodes) => {
                self.probe(nodes).await?;
                change(ChangeMembers::SetNodes(nodes.clone()), true).await?;
            }
            Step::AddLearners(nodes) => {
                let mut failed = Vec::new();
                let mut added = 0;
                for (id, peer) in nodes {
                    let one = BTreeMap::from([(*id, peer.clone())]);
                    match self.probe(&one).await {
                        Ok(()) => {
                            self.raft
                                .add_learner(*id, peer.clone(), false)
                                .await
                                .map_err(|cause| StepError::AddLearner { id: *id, cause })?;
                            added += 1;
                        }
                        Err(e) => failed.push(e),
                    }
                }
                if added == 0 {
                    return Err(StepError::NoLearnerAdded(failed));
                }
                for e in failed {
                    tracing::warn!(error = %e, "an approved learner is not added yet");
                }
            }
            Step::Demote(ids) => change(ChangeMembers::RemoveVoters(ids.clone()), true).await?,
            Step::Promote(ids) => {
                let last = m.last_log_index.unwrap_or(0);
                let ready: BTreeSet<NodeId> = ids
                    .iter()
                    .filter(|id| {
                        let matched = m
                            .replication
                            .as_ref()
                            .and_then(|r| r.get(id).cloned().flatten())
                            .map_or(0, |l| l.index);
                        matched + PROMOTE_LAG >= last
                    })
                    .copied()
                    .collect();
                if ready.is_empty() {
                    return Err(StepError::CatchingUp(ids.clone()));
                }
                change(ChangeMembers::AddVoterIds(ready), false).await?;
            }
        }
        Ok(())
    }

    async fn probe(&self, nodes: &BTreeMap<NodeId, Peer>) -> Result<(), NotProven> {
        for (id, peer) in nodes {
            self.peer_tls
                .probe(&peer.raft_addr, *id)
                .await
                .map_err(|cause| NotProven {
                    id: *id,
                    addr: peer.raft_addr.clone(),
                    cause,
                })?;
        }
        Ok(())
    }
}

/// The peer port's membership checks (see the module doc).
pub struct Guard {
    me: NodeId,
    ledger: Arc<Ledger>,
    founder: NodeId,
    /// How long a leader the ledger demoted is still followed (the time an honest leader has
    /// to carry out its own demotion).
    pub execute_timeout: Duration,
    /// How long to wait for this node to apply up to a membership entry before judging it.
    pub apply_wait: Duration,
    /// When this node first saw each current leader that the ledger no longer approves.
    lapsed: Mutex<BTreeMap<NodeId, Instant>>,
}

/// Why the peer port refused a Raft request the ledger's membership does not allow (the 403
/// body and the log).
#[derive(Debug, thiserror::Error)]
pub enum MembershipRefusal {
    /// The node has no key in force in the registry.
    #[error("node {0} has no key in force in the registry (removed, revoked or unknown)")]
    NoKeyInForce(NodeId),
    /// A candidate the ledger has not approved as a voter.
    #[error("node {0} asks for votes but the ledger has not approved it as a voter")]
    UnapprovedCandidate(NodeId),
    /// A leader that is not a voter of this node's configuration nor an approved voter.
    #[error("node {0} acts as leader but is not a voter the ledger approved")]
    UnapprovedLeader(NodeId),
    /// A leader the ledger demoted that did not carry out its demotion in time.
    #[error("node {node} leads though the ledger no longer approves it as a voter, and has not carried that out within {timeout:?}: not following it")]
    LapsedLeader {
        /// The leader.
        node: NodeId,
        /// How long it was followed.
        timeout: Duration,
    },
    /// This node could not apply far enough to judge a membership entry.
    #[error("could not apply up to {upto} to judge the membership at {index}: {cause}")]
    NotApplied {
        /// The index it waited for.
        upto: u64,
        /// The log index of the membership entry.
        index: u64,
        /// Why the wait ended.
        cause: RaftWaitError,
    },
    /// A membership entry the ledger did not approve.
    #[error("the membership at log index {index} is not what the ledger approved: {cause}")]
    NotApproved {
        /// The log index of the membership entry.
        index: u64,
        /// What the ledger did not approve.
        cause: NotPermitted,
    },
}

impl Guard {
    /// Checks for node `me`, whose genesis names `founder` first.
    pub fn new(
        me: NodeId,
        ledger: Arc<Ledger>,
        founder: NodeId,
        execute_timeout: Duration,
    ) -> Self {
        Guard {
            me,
            ledger,
            founder,
            execute_timeout,
            apply_wait: Duration::from_secs(5),
            lapsed: Mutex::new(BTreeMap::new()),
        }
    }

    fn approved(&self) -> (Option<Arc<Registry>>, Approved) {
        match self.ledger.registry() {
            Some(r) => {
                let a = Approved::of(&r);
                (Some(r), a)
            }
            None => (None, Approved::founder(self.founder)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<NodeId, Instant>> {
        self.lapsed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A vote request from `candidate`: only an approved voter with a key in force.
    pub fn check_candidate(&self, candidate: NodeId) -> Result<(), MembershipRefusal> {
        let (registry, approved) = self.approved();
        if registry.is_none() {
            return Ok(());
        }
        key_in_force(registry.as_deref(), candidate)?;
        if approved.voters.contains(&candidate) {
            Ok(())
        } else {
            Err(MembershipRefusal::UnapprovedCandidate(candidate))
        }
    }

    /// Raft messages from `sender` acting as leader, given this node's current configuration.
    pub fn check_leader(&self, sender: NodeId, current: &Config) -> Result<(), MembershipRefusal> {
        let (registry, approved) = self.approved();
        if registry.is_none() {
            return Ok(());
        }
        key_in_force(registry.as_deref(), sender)?;
        if approved.voters.contains(&sender) {
            self.lock().remove(&sender);
            return Ok(());
        }
        // A learner (or a node not yet initialised) takes no part in commit or election, and
        // verifies every entry on apply: it follows whoever its pinned peers elected.
        if !current.voters().contains(&self.me) {
            return Ok(());
        }
        if !current.voters().contains(&sender) {
            return Err(MembershipRefusal::UnapprovedLeader(sender));
        }
        let since = *self.lock().entry(sender).or_insert_with(Instant::now);
        if since.elapsed() > self.execute_timeout {
            return Err(MembershipRefusal::LapsedLeader {
                node: sender,
                timeout: self.execute_timeout,
            });
        }
        Ok(())
    }

    /// Hands `req` to Raft, judging each membership entry it carries against the ledger as
    /// applied up to the entry before it: the entries before a membership entry are appended
    /// first (with the commit index capped to them), this node waits until it has applied
    /// them, then judges the membership. Answers Raft's response to the whole request, or the
    /// refusal of the first membership the ledger did not approve.
    pub async fn append(
        &self,
        raft: &Raft,
        req: AppendEntriesRequest<TypeConfig>,
    ) -> Result<AppendEntriesResponse<NodeId>, AppendOutcome> {
        let (current, applied) = {
            let metrics = raft.metrics();
            let m = metrics.borrow();
            let applied = m.last_applied.map_or(0, |l| l.index);
            (Config::of(m.membership_config.membership()), applied)
        };
        let leader = req.vote.leader_id().voted_for().unwrap_or_default();
        self.check_leader(leader, &current)
            .map_err(AppendOutcome::Refused)?;
        // A membership entry this node has already applied was judged when it came; the
        // ledger may since have moved on.
        let judged = |e: &openraft::Entry<TypeConfig>| {
            matches!(e.payload, EntryPayload::Membership(_)) && e.log_id.index > applied
        };
        let Some(first) = req.entries.iter().position(judged) else {
            return raft.append_entries(req).await.map_err(AppendOutcome::Raft);
        };
        let AppendEntriesRequest {
            vote,
            prev_log_id,
            mut entries,
            leader_commit,
        } = req;
        let mut prev_log_id = prev_log_id;
        let mut prev = current;
        let mut start = 0;
        let mut next_membership = Some(first);
        loop {
            let end = next_membership.unwrap_or(start + entries.len());
            // The entries before the next membership entry (or the rest), committed up to them.
            let batch: Vec<_> = entries.drain(..end - start).collect();
            let last = batch.last().map(|e| e.log_id).or(prev_log_id);
            let commit = match (next_membership, leader_commit, last) {
                (None, c, _) => c,
                (Some(_), Some(c), Some(l)) => Some(c.min(l)),
                (Some(_), _, _) => None,
            };
            let resp = raft
                .append_entries(AppendEntriesRequest {
                    vote,
                    prev_log_id,
                    entries: batch,
                    leader_commit: commit,
                })
                .await
                .map_err(AppendOutcome::Raft)?;
            if next_membership.is_none() || !resp.is_success() {
                return Ok(resp);
            }
            prev_log_id = last;
            start = end;
            // Judge the membership entry against the ledger applied up to the entry before it.
            let entry = &entries[0];
            let EntryPayload::Membership(m) = &entry.payload else {
                unreachable!("positioned on a membership entry")
            };
            // The approval is committed before the leader acts on it: wait until this node has
            // applied what the leader says is committed, up to the entry before this one.
            if let Some(upto) = prev_log_id
                .zip(leader_commit)
                .map(|(p, c)| p.index.min(c.index))
            {
                super::cluster::wait_applied(raft, upto, self.apply_wait)
                    .await
                    .map_err(|cause| {
                        AppendOutcome::Refused(MembershipRefusal::NotApplied {
                            upto,
                            index: entry.log_id.index,
                            cause,
                        })
                    })?;
            }
            let next = Config::of(m);
            let (_, approved) = self.approved();
            permitted(&next, &prev, &approved).map_err(|cause| {
                AppendOutcome::Refused(MembershipRefusal::NotApproved {
                    index: entry.log_id.index,
                    cause,
                })
            })?;
            prev = next;
            next_membership = entries
                .iter()
                .skip(1)
                .position(judged)
                .map(|p| start + 1 + p);
            // The membership entry itself goes with the next batch.
        }
    }
}

/// What [`Guard::append`] refuses or Raft answers.
#[derive(Debug)]
pub enum AppendOutcome {
    /// Refused by the membership checks.
    Refused(MembershipRefusal),
    /// Raft's own error.
    Raft(openraft::error::RaftError<NodeId>),
}

fn key_in_force(registry: Option<&Registry>, id: NodeId) -> Result<(), MembershipRefusal> {
    match registry.map(|r| r.nodes.get(&id).and_then(|n| n.key_in_force())) {
        None | Some(Some(_)) => Ok(()),
        Some(None) => Err(MembershipRefusal::NoKeyInForce(id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(n: u64) -> Peer {
        Peer {
            raft_addr: format!("127.0.0.1:{}", 7000 + n),
            api_addr: format!("127.0.0.1:{}", 8000 + n),
        }
    }

    fn config(voters: &[u64], learners: &[u64]) -> Config {
        Config {
            joint: vec![voters.iter().copied().collect()],
            nodes: voters
                .iter()
                .chain(learners)
                .map(|n| (*n, peer(*n)))
                .collect(),
        }
    }

    fn approved(voters: &[u64], learners: &[u64]) -> Approved {
        Approved {
            voters: voters.iter().copied().collect(),
            members: voters
                .iter()
                .chain(learners)
                .map(|n| (*n, (*n != 1).then(|| peer(*n))))
                .collect(),
        }
    }

    #[test]
    fn a_learner_promoting_itself_is_not_permitted() {
        let prev = config(&[1, 2, 3], &[4]);
        let next = config(&[1, 2, 3, 4], &[]);
        let err = permitted(&next, &prev, &approved(&[1, 2, 3], &[4])).expect_err("refused");
        assert_eq!(err, NotPermitted::UnapprovedVoter(4));
        assert_eq!(
            err.to_string(),
            "node 4 is a voter the ledger has not approved"
        );
    }

    #[test]
    fn a_sole_voter_takeover_is_not_permitted() {
        let prev = config(&[1, 2, 3], &[4]);
        let mut joint = config(&[1, 2, 3], &[4]);
        joint.joint.push([4].into());
        assert!(permitted(&joint, &prev, &approved(&[1, 2, 3], &[4])).is_err());
        let alone = config(&[4], &[]);
        assert!(permitted(&alone, &prev, &approved(&[1, 2, 3], &[4])).is_err());
    }

    #[test]
    fn an_approved_promotion_passes_through_its_joint_configuration() {
        let prev = config(&[1, 2, 3], &[4]);
        let a = approved(&[1, 2, 3, 4], &[]);
        let mut joint = config(&[1, 2, 3], &[4]);
        joint.joint.push([1, 2, 3, 4].into());
        assert_eq!(permitted(&joint, &prev, &a), Ok(()));
        assert_eq!(permitted(&config(&[1, 2, 3, 4], &[]), &joint, &a), Ok(()));
    }

    #[test]
    fn an_approved_removal_and_demotion_pass() {
        let prev = config(&[1, 2, 3], &[4]);
        let a = approved(&[1, 2], &[3]);
        let mut joint = prev.clone();
        joint.joint.push([1, 2].into());
        assert_eq!(permitted(&joint, &prev, &a), Ok(()));
        assert_eq!(permitted(&config(&[1, 2], &[3]), &joint, &a), Ok(()));
    }

    #[test]
    fn a_learner_at_an_address_the_ledger_did_not_approve_is_refused() {
        let prev = config(&[1], &[]);
        let mut next = config(&[1], &[2]);
        next.nodes.insert(2, peer(9));
        let err = permitted(&next, &prev, &approved(&[1], &[2])).expect_err("refused");
        assert!(
            matches!(&err, NotPermitted::WrongAddress { id: 2, at, approved }
                if *at == peer(9).raft_addr && *approved == peer(2).raft_addr),
            "{err}"
        );
        assert!(err.to_string().starts_with("node 2 joins at"), "{err}");
        let err =
            permitted(&config(&[1], &[5]), &prev, &approved(&[1], &[2])).expect_err("refused");
        assert_eq!(err, NotPermitted::NotAMember(5));
    }

    #[test]
    fn the_executor_steps_toward_the_approved_membership() {
        let cases = [
            (
                config(&[1], &[]),
                approved(&[1], &[2, 3]),
                Some(Step::AddLearners([(2, peer(2)), (3, peer(3))].into())),
            ),
            (
                config(&[1], &[2, 3]),
                approved(&[1, 2, 3], &[]),
                Some(Step::Promote([2, 3].into())),
            ),
            (
                config(&[1, 2, 3], &[]),
                approved(&[1, 2], &[3]),
                Some(Step::Demote([3].into())),
            ),
            (
                config(&[1, 2, 3], &[4]),
                approved(&[1, 2], &[]),
                Some(Step::Remove {
                    voters: [3].into(),
                    learners: [4].into(),
                }),
            ),
            (config(&[1, 2], &[]), approved(&[1, 2], &[]), None),
        ];
        for (current, approved, expected) in cases {
            assert_eq!(
                next_step(&current, &approved),
                expected,
                "{current:?} -> {approved:?}"
            );
        }
    }
}
