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

/// How a follower hands a submission to the leader.
pub trait Forward: Send + Sync {
    /// Sends a submission, `body` of `content_type` as the client sent it (JSON or canonical
    /// bytes), to the leader at `leader`; `Err` says why no answer came.
    fn forward<'a>(
        &'a self,
        leader: &'a Peer,
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
