//! Group commit of proposals: the submissions a leader receives while earlier batches are in
//! flight go into the next Raft entry together.
//!
//! openraft 0.9 appends (and fsyncs) each `client_write` on its own before it takes the next,
//! so one submission per Raft entry caps a cluster at one leader fsync per submission. The
//! batcher keeps at most [`BatchSettings::in_flight`] Raft entries in flight; while they are,
//! arriving proposals queue, and the next entry takes all of them (up to
//! [`BatchSettings::max_proposals`] and [`BatchSettings::max_bytes`]). A lone submission on an
//! idle cluster is proposed at once, alone: batching adds no wait, only sharing.
//!
//! Each proposal's submitter gets its own [`Applied`] (or the batch's error) back; the ledger
//! applies a batch's proposals in order, exactly as if they had been proposed one by one.
//!
//! Only a leader holding a quorum proposes ([`super::leadership`]): on a leader past its lease
//! a batch is refused at once, and a batch in flight when the lease passes is answered
//! [`ProposeError::NoQuorum`] without waiting for a commit that needs the quorum back.
//!
//! Proposals arrive in groups ([`Batcher::propose_all`]: the submissions of one batch request)
//! and a group is never split: it goes whole into one Raft entry, with whatever else is
//! queued (a group larger than the limits goes alone).

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Semaphore};

use super::leadership::Leadership;
use super::{propose, ProposeError, Raft};
use crate::ledger::Applied;

/// How proposals are grouped.
#[derive(Debug, Clone, Copy)]
pub struct BatchSettings {
    /// Raft entries proposed and not yet applied, at most.
    pub in_flight: usize,
    /// Proposals in one Raft entry, at most.
    pub max_proposals: usize,
    /// Bytes of proposals in one Raft entry, at most (a single larger proposal goes alone).
    pub max_bytes: usize,
}

impl Default for BatchSettings {
    fn default() -> Self {
        BatchSettings {
            in_flight: 3,
            max_proposals: 1024,
            max_bytes: 4 * 1024 * 1024,
        }
    }
}

type Reply = oneshot::Sender<Result<Applied, ProposeError>>;

/// Proposals that go into one Raft entry together, each with its reply.
type Group = Vec<(Vec<u8>, Reply)>;

/// The leader-side queue of proposals. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Batcher {
    tx: mpsc::UnboundedSender<Group>,
}

impl Batcher {
    /// Starts the batching task for `raft`, proposing while `leadership` holds a quorum; it
    /// ends when every `Batcher` clone is dropped.
    pub fn start(raft: Raft, leadership: Leadership, settings: BatchSettings) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(raft, leadership, settings, rx));
        Batcher { tx }
    }

    /// Proposes one proposal (canonical bytes) in the next batch and waits until it is applied.
    pub async fn propose(&self, proposal: Vec<u8>) -> Result<Applied, ProposeError> {
        let mut applied = self.propose_all(vec![proposal]).await?;
        applied
            .pop()
            .ok_or_else(|| ProposeError::Unavailable("the node is stopping".into()))
    }

    /// Proposes `proposals` (canonical bytes) together, in one Raft entry, and waits until
    /// they are applied: one [`Applied`] each, in order, or the entry's error.
    pub async fn propose_all(&self, proposals: Vec<Vec<u8>>) -> Result<Vec<Applied>, ProposeError> {
        let stopping = || ProposeError::Unavailable("the node is stopping".into());
        if proposals.is_empty() {
            return Ok(Vec::new());
        }
        let (group, waits): (Group, Vec<_>) = proposals
            .into_iter()
            .map(|p| {
                let (reply, rx) = oneshot::channel();
                ((p, reply), rx)
            })
            .unzip();
        self.tx.send(group).map_err(|_| stopping())?;
        let mut out = Vec::with_capacity(waits.len());
        for rx in waits {
            out.push(rx.await.map_err(|_| stopping())??);
        }
        Ok(out)
    }
}

fn group_bytes(g: &Group) -> usize {
    g.iter().map(|(p, _)| p.len()).sum()
}

/// Proposes `proposals` as one Raft entry unless this node leads without a quorum, or stops
/// holding one before the entry is applied.
async fn propose_holding(
    raft: &Raft,
    leadership: &Leadership,
    proposals: Vec<Vec<u8>>,
) -> Result<Vec<Applied>, ProposeError> {
    let no_quorum = || ProposeError::NoQuorum {
        lease_ms: u64::try_from(leadership.lease().as_millis()).unwrap_or(u64::MAX),
    };
    let view = leadership.view();
    if view.fenced() {
        return Err(no_quorum());
    }
    if !view.raft_leader {
        // openraft answers who leads (or that none is known).
        return propose(raft, proposals).await;
    }
    tokio::select! {
        r = propose(raft, proposals) => r,
        () = leadership.lost() => {
            let now = leadership.view();
            if now.fenced() {
                Err(no_quorum())
            } else {
                Err(ProposeError::NotLeader {
                    leader: leadership.leader_elsewhere(),
                })
            }
        }
    }
}

async fn run(
    raft: Raft,
    leadership: Leadership,
    settings: BatchSettings,
    mut rx: mpsc::UnboundedReceiver<Group>,
) {
    let slots = Arc::new(Semaphore::new(settings.in_flight.max(1)));
    let mut carried = None;
    loop {
        let first = match carried.take() {
            Some(p) => p,
            None => match rx.recv().await {
                Some(p) => p,
                None => return,
            },
        };
        // Wait for a free slot before draining the queue: what arrives meanwhile joins.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut bytes = group_bytes(&first);
        let mut batch = first;
        while batch.len() < settings.max_proposals {
            match rx.try_recv() {
                Ok(g)
                    if bytes + group_bytes(&g) > settings.max_bytes
                        || batch.len() + g.len() > settings.max_proposals =>
                {
                    carried = Some(g);
                    break;
                }
                Ok(g) => {
                    bytes += group_bytes(&g);
                    batch.extend(g);
                }
                Err(_) => break,
            }
        }
        let raft = raft.clone();
        let leadership = leadership.clone();
        tokio::spawn(async move {
            let (proposals, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
            match propose_holding(&raft, &leadership, proposals).await {
                Ok(applied) => {
                    for (reply, a) in replies.into_iter().zip(applied) {
                        let _ = reply.send(Ok(a));
                    }
                }
                Err(e) => {
                    for reply in replies {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
            }
            drop(slot);
        });
    }
}
