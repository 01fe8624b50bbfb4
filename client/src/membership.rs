//! Membership changes as the departments make them (docs/FORMAT.md §Membership): each
//! approver signs the change, the proposer (the node's department or an approver) signs the
//! entry that carries the approvals, and any node takes it like any submission; the leader
//! then carries it out. Forming a cluster of the pilot province this way is the lab's
//! (`caseledger_lab::formation`).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use ed25519_dalek::SigningKey;
use proto_types::ids::HandoffId;
use proto_types::payload::{Approval, KeyRef, MemberOp, MembershipChange, Signer};
use proto_types::wire::NodeStatus;
use proto_types::{Action, Payload, Submission, Timestamp};
use serde::Deserialize;

use crate::http::{Client, SubmitOutcome};

/// An approval of `op` by the key `key` names.
pub fn approve(key: KeyRef, signing_key: &SigningKey, op: &MemberOp) -> Approval {
    Approval::sign_membership(key, signing_key, op)
}

/// The entry that carries `op` and its approvals, signed by the proposer.
pub fn propose(
    proposer: Signer,
    signing_key: &SigningKey,
    id: HandoffId,
    at: Timestamp,
    op: MemberOp,
    approvals: Vec<Approval>,
) -> Submission {
    Payload {
        signer: proposer,
        id,
        claimed_at: at,
        action: Action::Membership(MembershipChange { op, approvals }),
    }
    .sign(signing_key)
}

/// Submits a membership change and requires that the ledger accepted it.
pub async fn submit(client: &Client, sub: &Submission) -> Result<u64> {
    match client.submit(sub).await? {
        SubmitOutcome::Committed { index, .. } => Ok(index),
        SubmitOutcome::Error {
            status,
            code,
            message,
            ..
        } => bail!(
            "membership change {}: {status} {code}: {message}",
            sub.payload.id
        ),
    }
}

/// Waits until the Raft membership a node reports (`GET /admin/status`) has every node of
/// `voters` as a voter and every node of `learners` as a learner.
pub async fn wait_for_membership(
    operator: &Client,
    voters: &BTreeSet<u64>,
    learners: &BTreeSet<u64>,
    timeout: Duration,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut last = serde_json::Value::Null;
    loop {
        if let Ok(answer) = operator.get_json("/admin/status").await {
            if let Ok(status) = NodeStatus::deserialize(&answer) {
                if voters.iter().all(|v| status.voters.contains(v))
                    && learners.iter().all(|l| status.learners.contains(l))
                {
                    return Ok(());
                }
            }
            last = answer;
        }
        if Instant::now() > deadline {
            bail!("the approved membership (voters {voters:?}, learners {learners:?}) was not carried out within {timeout:?}; last status: {last}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
