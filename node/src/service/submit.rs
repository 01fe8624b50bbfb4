//! Submitting a proposal: through Raft when this node leads, else forwarded to the leader's API
//! through a [`Forward`] transport (the HTTP side, `crate::api::forward`, implements it). A
//! forwarded answer comes back as plain data ([`ForwardedAnswer`]) for the API to relay.
//!
//! A follower that knows the leader forwards a submission as it came, before decoding or
//! verifying it ([`to_leader`]): the leader decodes it, verifies its signature and charges its
//! signer's rate, once in the cluster; every node still verifies it when it applies it. The
//! follower follows the leadership while it waits: a leader that changes, stops answering or
//! answers that it does not lead gets the same bytes resent to the leader after it, within the
//! request's deadline, so a follower on the majority side of a partition never answers "no
//! quorum" for a leader cut off from it.

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use proto_types::Proposal;

use crate::ledger::ApplyResult;
use crate::raft::{self, batcher::Batcher, leadership::Leadership, Peer};

/// The leader's answer to a forwarded submission, relayed as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedAnswer {
    /// Its HTTP status.
    pub status: u16,
    /// The headers relayed with it (`Content-Type`, and `Retry-After` when the leader set one).
    pub headers: Vec<(String, String)>,
    /// Its body.
    pub body: Vec<u8>,
}

/// Why a submission got no apply result here.
#[derive(Debug)]
pub enum SubmitError {
    /// The leader answered (this node forwarded the submission); relay its answer.
    Forwarded(ForwardedAnswer),
    /// This node is not the leader and could not hand the submission on; `leader` is the one
    /// it knows of, if any (the client may send it there).
    NotLeader {
        /// The leader's address, if one is known.
        leader: Option<Peer>,
        /// What happened, for people.
        message: String,
    },
    /// This node leads but no quorum acknowledged it for an election timeout: no quorum is
    /// reachable from here. The submission may still commit if the quorum comes back first.
    NoQuorum(String),
    /// Not committed within the commit timeout, or the node is stopping.
    Unavailable(String),
}

impl SubmitError {
    fn of(e: raft::ProposeError) -> SubmitError {
        match e {
            raft::ProposeError::NotLeader { leader } => SubmitError::NotLeader {
                message: match &leader {
                    Some((id, peer)) => format!(
                        "this node does not lead; the leader is node {id} at {}",
                        peer.api_addr
                    ),
                    None => "this node does not lead and knows no leader (an election is under way, or no quorum is reachable from this node)".to_owned(),
                },
                leader: leader.map(|(_, p)| p),
            },
            e @ raft::ProposeError::NoQuorum { .. } => SubmitError::NoQuorum(format!(
                "{e}; it does not lead, and a submission it had taken may still commit: resubmit it (to another node) to learn its index"
            )),
            raft::ProposeError::Unavailable(m) => SubmitError::Unavailable(m),
        }
    }
}

/// Why a forwarded submission got no answer from the leader.
#[derive(Debug, thiserror::Error)]
#[error("forwarding to the leader at {leader}: {cause}")]
pub struct ForwardError {
    /// The leader's API address.
    pub leader: String,
    /// What failed (the transport's error).
    pub cause: Box<dyn std::error::Error + Send + Sync>,
}

/// Which submission route a forwarded body goes to on the leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// One submission (`POST /v1/entries`).
    Single,
    /// A batch of submissions (`POST /v1/entries/batch`).
    Batch,
}

impl Route {
    /// The route's path on the leader's API.
    pub fn path(self) -> &'static str {
        match self {
            Route::Single => "/v1/entries",
            Route::Batch => "/v1/entries/batch",
        }
    }
}

/// How a follower hands a submission, or a batch of them, to the leader.
pub trait Forward: Send + Sync {
    /// Sends `body` of `content_type` as the client sent it (JSON or canonical bytes) to
    /// `route` of the leader at `leader`; `Err` says why no answer came.
    fn forward<'a>(
        &'a self,
        leader: &'a Peer,
        route: Route,
        content_type: &'a str,
        body: Vec<u8>,
    ) -> BoxFuture<'a, Result<ForwardedAnswer, ForwardError>>;
}

/// Where a submission that came to this node went: handed on (see [`to_leader`]).
#[derive(Debug)]
pub enum Handed {
    /// A leader answered: relay its answer.
    Answered(ForwardedAnswer),
    /// This node leads (or knows no other node to hand it to): take the submission here.
    Here,
    /// No leader answered within the request's deadline.
    Unanswered(SubmitError),
}

/// Whether a leader's answer says the submission met no leader there (503 `UNAVAILABLE` or
/// `NOT_LEADER`: it stepped down, lost its quorum, or leads no more), so that it goes to the
/// leader after it; any other answer is relayed.
fn met_no_leader(answer: &ForwardedAnswer) -> Option<String> {
    use proto_types::wire::{ErrorBody, ErrorCode};
    if answer.status != 503 {
        return None;
    }
    let body: ErrorBody = serde_json::from_slice(&answer.body).ok()?;
    matches!(body.code, ErrorCode::Unavailable | ErrorCode::NotLeader)
        .then(|| format!("{}: {}", body.code, body.message))
}

/// How long a follower waits before handing a submission again to a leader that gave no
/// usable answer while it is still the leader this node knows.
const RETRY_SAME_LEADER: Duration = Duration::from_millis(200);

/// Hands `body` (as the client sent it, for `route`) to the leader and follows the leadership
/// until `deadline`: if the leader changes while the answer is awaited, or the target stops
/// answering or answers that it does not lead, the same bytes go to the leader after it (each
/// such resend counts in `resends`; a resubmission is idempotent and answers the first
/// receipt, so nothing is written twice). [`Handed::Here`] once this node leads itself, or
/// leads without a quorum (it then answers that), or when no leader is known for an election
/// timeout.
pub async fn to_leader(
    leadership: &Leadership,
    forward: &dyn Forward,
    resends: &prometheus_client::metrics::counter::Counter,
    route: Route,
    content_type: &str,
    body: &[u8],
    deadline: Instant,
) -> Handed {
    let mut attempts = 0u32;
    // The leader that last gave no usable answer, and why.
    let mut failed: Option<(u64, String)> = None;
    // The leader last paused for after it failed: the next pass sends to it again.
    let mut paused_for: Option<u64> = None;
    loop {
        let view = leadership.view();
        if view.raft_leader || view.leader == Some(leadership.me()) {
            return Handed::Here;
        }
        let Some((id, peer)) = leadership.leader_elsewhere() else {
            // An election is under way (or this node is cut off): wait for a leader, for at
            // most an election timeout, then answer here (no leader known).
            let wait = (Instant::now() + leadership.lease()).min(deadline);
            tokio::select! {
                () = leadership.leader_moved_from(view.leader) => continue,
                () = tokio::time::sleep_until(wait.into()) => {}
            }
            if Instant::now() >= deadline || attempts > 0 {
                return Handed::Unanswered(unanswered(leadership, failed, deadline));
            }
            return Handed::Here;
        };
        if let Some((failed_id, _)) = &failed {
            if *failed_id == id && paused_for != Some(id) {
                // Still the leader this node knows: wait for the leadership to move, or try it
                // again after a pause.
                let wait = (Instant::now() + RETRY_SAME_LEADER).min(deadline);
                tokio::select! {
                    () = leadership.leader_moved_from(Some(id)) => {}
                    () = tokio::time::sleep_until(wait.into()) => {}
                }
                if Instant::now() >= deadline {
                    return Handed::Unanswered(unanswered(leadership, failed, deadline));
                }
                paused_for = Some(id);
                continue;
            }
        }
        paused_for = None;
        if attempts > 0 {
            resends.inc();
            tracing::info!(leader = id, attempts, "resending a forwarded submission");
        }
        attempts += 1;
        let sent = forward.forward(&peer, route, content_type, body.to_vec());
        tokio::select! {
            answer = sent => match answer {
                Ok(a) => match met_no_leader(&a) {
                    Some(why) => failed = Some((id, format!("node {id} at {}: {why}", peer.api_addr))),
                    None => return Handed::Answered(a),
                },
                Err(e) => failed = Some((id, e.to_string())),
            },
            () = leadership.leader_moved_from(Some(id)) => failed = None,
            () = tokio::time::sleep_until(deadline.into()) => {
                failed = Some((id, format!("no answer from node {id} at {}", peer.api_addr)));
                return Handed::Unanswered(unanswered(leadership, failed, deadline));
            }
        }
    }
}

/// Why a submission handed on got no answer by its deadline.
fn unanswered(
    leadership: &Leadership,
    failed: Option<(u64, String)>,
    deadline: Instant,
) -> SubmitError {
    let last = failed.map_or_else(String::new, |(_, why)| format!(" (last: {why})"));
    match leadership.leader_elsewhere() {
        Some((id, peer)) if Instant::now() >= deadline => SubmitError::Unavailable(format!(
            "not committed within the commit timeout: the leader, node {id} at {}, did not answer{last}; the submission may still commit, resubmit it to learn its index",
            peer.api_addr
        )),
        Some((id, peer)) => SubmitError::NotLeader {
            message: format!(
                "this node does not lead; the leader is node {id} at {}{last}",
                peer.api_addr
            ),
            leader: Some(peer),
        },
        None => SubmitError::NotLeader {
            leader: None,
            message: format!(
                "this node does not lead and knows no leader: no quorum reachable from this node{last}"
            ),
        },
    }
}

/// Proposes through Raft (`batcher`) if this node leads, else hands the submission (its
/// canonical bytes) to the leader and follows the leadership until `deadline` ([`to_leader`]).
pub async fn submit(
    batcher: &Batcher,
    leadership: &Leadership,
    forward: &dyn Forward,
    resends: &prometheus_client::metrics::counter::Counter,
    proposal: Proposal,
    deadline: Instant,
) -> Result<ApplyResult, SubmitError> {
    let decode = |applied: crate::ledger::Applied| {
        postcard::from_bytes(&applied.outcome)
            .map_err(|e| SubmitError::Unavailable(format!("undecodable apply result: {e}")))
    };
    let bytes = proposal.to_bytes();
    let err = match batcher.propose(bytes.clone()).await {
        Ok(applied) => return decode(applied),
        Err(e @ raft::ProposeError::NotLeader { .. }) => e,
        Err(e) => return Err(SubmitError::of(e)),
    };
    let submission = proto_types::encoding::encode(&proposal.submission);
    match to_leader(
        leadership,
        forward,
        resends,
        Route::Single,
        proto_types::wire::CANONICAL,
        &submission,
        deadline,
    )
    .await
    {
        Handed::Answered(answer) => Err(SubmitError::Forwarded(answer)),
        Handed::Unanswered(e) => Err(e),
        // This node leads now: propose here once more.
        Handed::Here if leadership.view().raft_leader => batcher
            .propose(bytes)
            .await
            .map_err(SubmitError::of)
            .and_then(decode),
        Handed::Here => Err(SubmitError::of(err)),
    }
}

/// Proposes `proposals` together through Raft (one Raft entry, `Batcher::propose_all`) on
/// this node, the leader: one apply result each, in order. A batch is not forwarded from here:
/// its refused items were answered and its accepted ones charged already, so if leadership
/// moved since the request came in, the whole batch is answered not-leader (resubmitting it
/// is safe: what did commit answers as duplicates).
pub async fn submit_all(
    batcher: &Batcher,
    proposals: &[Proposal],
) -> Result<Vec<ApplyResult>, SubmitError> {
    let bytes = proposals.iter().map(Proposal::to_bytes).collect();
    match batcher.propose_all(bytes).await {
        Ok(applied) => applied
            .iter()
            .map(|a| {
                postcard::from_bytes(&a.outcome)
                    .map_err(|e| SubmitError::Unavailable(format!("undecodable apply result: {e}")))
            })
            .collect(),
        Err(e) => Err(SubmitError::of(e)),
    }
}
