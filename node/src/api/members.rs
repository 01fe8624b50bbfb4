//! `GET /v1/cluster/members`: every member of the Raft membership as this node sees it, with
//! each member's health, readiness and ledger size, asked over the members' own
//! unauthenticated `/readyz` and `/metrics` (the explorer's overview shows them).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::node::NodeCtx;

/// How long a member is given to answer.
const MEMBER_TIMEOUT: Duration = Duration::from_millis(1500);

/// One member.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Member {
    /// Node id.
    pub node_id: u64,
    /// Its API address.
    pub api_addr: String,
    /// `voter` or `learner`.
    pub role: String,
    /// Whether it is the leader this node knows.
    pub leader: bool,
    /// Whether it answered at all.
    pub reachable: bool,
    /// Whether its `/readyz` answered 200.
    pub ready: bool,
    /// Why it is not ready, from its `/readyz`, or why it could not be asked.
    pub detail: Option<String>,
    /// Its ledger size (applied entries), from its `/metrics`.
    pub ledger_size: Option<u64>,
}

/// The membership with each member's state.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Members {
    /// The node that answered.
    pub node_id: u64,
    /// The leader it knows.
    pub leader: Option<u64>,
    /// Raft term.
    pub term: u64,
    /// Members in id order.
    pub members: Vec<Member>,
}

async fn ask(node: &NodeCtx, addr: &str) -> (bool, bool, Option<String>, Option<u64>) {
    let ready = node
        .http
        .get(format!("http://{addr}/readyz"))
        .timeout(MEMBER_TIMEOUT)
        .send()
        .await;
    let (reachable, ready, detail) = match ready {
        Ok(r) if r.status().is_success() => (true, true, None),
        Ok(r) => (true, false, Some(r.text().await.unwrap_or_default())),
        Err(e) => (false, false, Some(e.to_string())),
    };
    let size = match node
        .http
        .get(format!("http://{addr}/metrics"))
        .timeout(MEMBER_TIMEOUT)
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => r.text().await.ok().and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("caseledger_ledger_height "))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .map(|v| v as u64)
        }),
        _ => None,
    };
    (reachable, ready, detail, size)
}

/// `GET /v1/cluster/members`. Bounded: one `/readyz` and one `/metrics` call per member (a
/// handful), concurrently, each with a 1.5 s timeout.
#[utoipa::path(get, path = "/v1/cluster/members", tag = "ops", responses((status = 200, body = Members)))]
pub async fn members(State(node): State<Arc<NodeCtx>>) -> Json<Members> {
    let status = node.status().raft;
    let leader = status.leader;
    let voters = status.voters;
    let mut asks = Vec::new();
    for (id, peer) in status.nodes {
        let node = node.clone();
        asks.push(async move {
            let (reachable, ready, detail, ledger_size) = ask(&node, &peer.api_addr).await;
            (id, peer.api_addr, reachable, ready, detail, ledger_size)
        });
    }
    let mut members: Vec<Member> = futures::future::join_all(asks)
        .await
        .into_iter()
        .map(
            |(node_id, api_addr, reachable, ready, detail, ledger_size)| Member {
                node_id,
                api_addr,
                role: if voters.contains(&node_id) {
                    "voter"
                } else {
                    "learner"
                }
                .to_owned(),
                leader: leader == Some(node_id),
                reachable,
                ready,
                detail: detail.map(|d| d.trim().chars().take(300).collect()),
                ledger_size,
            },
        )
        .collect();
    members.sort_by_key(|m| m.node_id);
    Json(Members {
        node_id: node.id,
        leader,
        term: status.term,
        members,
    })
}
