//! How the demo, the tests and the benchmarks start a cluster of the pilot province
//! (docs/FORMAT.md §Membership): the founder bootstraps alone, every other node joins by an
//! approved `AddLearner`, and the voters by an approved `Promote`, each change signed by the
//! province's departments through the client library's [`membership`] functions.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, Result};
use caseledger_client::http::Client;
use caseledger_client::membership::{self, approve, propose, wait_for_membership};
use proto_types::ids::HandoffId;
use proto_types::payload::{MemberOp, NodeAddr};
use proto_types::{Submission, Timestamp};

use crate::pilot::Province;

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
        membership::submit(
            client,
            &province_change(province, op, &format!("M-JOIN-{}", j.id), at)?,
        )
        .await?;
    }
    for id in voters {
        let op = MemberOp::Promote { node_id: *id };
        membership::submit(
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
