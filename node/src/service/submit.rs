//! Submitting a proposal: through Raft when this node leads, else forwarded to the leader's API
//! through a [`Forward`] transport (the HTTP side, `crate::api::forward`, implements it). A
//! forwarded answer comes back as plain data ([`ForwardedAnswer`]) for the API to relay.
//!
//! A follower that knows the leader forwards a submission as it came, before decoding or
//! verifying it ([`leader_elsewhere`]): the leader decodes it, verifies its signature and
//! charges its signer's rate, once in the cluster; every node still verifies it when it
//! applies it.

use futures::future::BoxFuture;
use proto_types::Proposal;

use crate::ledger::ApplyResult;
use crate::raft::{self, batcher::Batcher, Peer, Raft};

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
    /// No leader, no quorum, or the node is stopping.
    Unavailable(String),
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

/// The leader, if this node (`me`) knows one and it is another node: where a submission that
/// arrives here goes, as it came.
pub fn leader_elsewhere(raft: &Raft, me: u64) -> Option<(u64, Peer)> {
    raft::cluster::leader(raft).filter(|(id, _)| *id != me)
}

/// Proposes through Raft (`batcher`) if this node leads, else forwards to the leader.
pub async fn submit(
    batcher: &Batcher,
    forward: &dyn Forward,
    proposal: Proposal,
) -> Result<ApplyResult, SubmitError> {
    match batcher.propose(proposal.to_bytes()).await {
        Ok(applied) => postcard::from_bytes(&applied.outcome)
            .map_err(|e| SubmitError::Unavailable(format!("undecodable apply result: {e}"))),
        Err(raft::ProposeError::NotLeader {
            leader: Some((_, peer)),
        }) => match forward
            .forward(
                &peer,
                Route::Single,
                proto_types::wire::CANONICAL,
                proto_types::encoding::encode(&proposal.submission),
            )
            .await
        {
            Ok(answer) => Err(SubmitError::Forwarded(answer)),
            Err(e) => Err(SubmitError::Unavailable(e.to_string())),
        },
        Err(raft::ProposeError::NotLeader { leader: None }) => Err(SubmitError::Unavailable(
            "no leader: the cluster has no quorum right now".into(),
        )),
        Err(raft::ProposeError::Unavailable(m)) => Err(SubmitError::Unavailable(m)),
    }
}

/// Proposes `proposals` together through Raft (one Raft entry, `Batcher::propose_all`) on
/// this node, the leader: one apply result each, in order. A batch is not forwarded from here:
/// its refused items were answered and its accepted ones charged already, so if leadership
/// moved since the request came in, the whole batch is answered unavailable (resubmitting it
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
        Err(raft::ProposeError::NotLeader { leader }) => Err(SubmitError::Unavailable(format!(
            "leadership moved ({}) while the batch was checked; resend it",
            leader.map_or_else(
                || "no leader now".to_owned(),
                |(id, _)| format!("to node {id}")
            )
        ))),
        Err(raft::ProposeError::Unavailable(m)) => Err(SubmitError::Unavailable(m)),
    }
}
