//! Membership changes as the departments make them (docs/FORMAT.md §Membership): each
//! approver signs the change, the proposer (the node's department or an approver) signs the
//! entry that carries the approvals, and any node takes it like any submission; the leader
//! then carries it out. [`form_cluster`] is how the demo, the tests and the benchmarks start
//! a cluster: the founder bootstraps alone, every other node joins by an approved
//! `AddLearner`, and the voters by an approved `Promote`.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use ed25519_dalek::SigningKey;
use proto_types::ids::HandoffId;
use proto_types::payload::{Approval, KeyRef, MemberOp, MembershipChange, NodeAddr, Signer};
use proto_types::{Action, Payload, Submission, Timestamp};

use crate::http::{Client, SubmitOutcome};
use crate::pilot::Province;

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

/// A change of node `op.node_id()` proposed by the node's department and approved by the
/// policy's first `required` approvers, preferring those other than the node's department
/// (so that the approvals never come from the interested party alone).
pub fn province_change(
    province: &Province,
    op: MemberOp,
    id: &str,
    at: Timestamp,
) -> Result<Submission> {
    let node = province
        .node(op.node_id())
        .with_context(|| format!("the province declares no node {}", op.node_id()))?;
    let owner = province.department(&node.decl.org);
    let policy = province.policy();
    let mut approvers: Vec<_> = policy.approvals.approvers.iter().collect();
    approvers.sort_by_key(|a| **a == node.decl.org);
    let approvals = approvers
        .into_iter()
        .take(policy.approvals.required as usize)
        .map(|a| {
            let d = province.department(a);
            approve(d.key_ref(), &d.key, &op)
        })
        .collect();
    Ok(propose(
        owner.signer(),
        &owner.key,
        HandoffId::new(id.to_owned()).context("membership entry id")?,
        at,
        op,
        approvals,
    ))
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

/// A node to join: its id and where it listens.
#[derive(Debug, Clone)]
pub struct Joiner {
    /// Its node id.
    pub id: u64,
    /// Its peer (Raft) address.
    pub raft_addr: String,
    /// Its API address.
    pub api_addr: String,
}

/// Joins `joiners` to the cluster that `client` reaches through approved changes: each as a
/// learner, the ids in `voters` then promoted. Waits (up to `timeout`) until node `observer`'s
/// Raft membership (read with `operator`, a node-key client) shows them. `tag` makes the entry
/// ids unique when a harness forms more than one membership on the same ledger.
pub async fn form_cluster(
    client: &Client,
    operator: &Client,
    province: &Province,
    joiners: &[Joiner],
    voters: &BTreeSet<u64>,
    at: Timestamp,
    timeout: Duration,
) -> Result<()> {
    for j in joiners {
        let op = MemberOp::AddLearner {
            node_id: j.id,
            addr: NodeAddr {
                raft_addr: j.raft_addr.clone(),
                api_addr: j.api_addr.clone(),
            },
        };
        submit(
            client,
            &province_change(province, op, &format!("M-JOIN-{}", j.id), at)?,
        )
        .await?;
    }
    for id in voters {
        let op = MemberOp::Promote { node_id: *id };
        submit(
            client,
            &province_change(province, op, &format!("M-VOTE-{id}"), at)?,
        )
        .await?;
    }
    let learners: BTreeSet<u64> = joiners
        .iter()
        .map(|j| j.id)
        .filter(|id| !voters.contains(id))
        .collect();
    wait_for_membership(operator, voters, &learners, timeout).await
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
        if let Ok(status) = operator.get_json("/admin/status").await {
            let ids = |k: &str| -> BTreeSet<u64> {
                status[k]
                    .as_array()
                    .map(|a| a.iter().filter_map(serde_json::Value::as_u64).collect())
                    .unwrap_or_default()
            };
            if voters.is_subset(&ids("voters")) && learners.is_subset(&ids("learners")) {
                return Ok(());
            }
            last = status;
        }
        if Instant::now() > deadline {
            bail!("the approved membership (voters {voters:?}, learners {learners:?}) was not carried out within {timeout:?}; last status: {last}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
