//! Membership and node keys decided by the departments, not by any one node (issue 14), on
//! real `caseledger-node` processes: the one-node-key takeover fails at every step; an
//! approved learner joins, is promoted and is removed; a revoked node is refused on the peer
//! port; a leader that will not carry out its own demotion is escaped by the majority.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use caseledger_client::http::{Client, SubmitOutcome};
use caseledger_client::membership;
use caseledger_lab::formation::{self, Joiner};
use caseledger_node::raft::TypeConfig;
use caseledger_tests::eventually;
use caseledger_tests::process::ProcCluster;
use ed25519_dalek::SigningKey;
use openraft::raft::{AppendEntriesRequest, VoteRequest};
use openraft::{Entry, EntryPayload, LogId, Membership, Vote};
use proto_types::payload::{Approval, KeyLifecycle, KeyOp, MemberOp, MembershipChange, Signer};
use proto_types::{Action, Payload, Submission, Timestamp};

/// Three voters (nodes 1-3: PSB, procuratorate, court) and node 4 (the detention house) as
/// an approved learner.
async fn three_voters_and_a_learner() -> ProcCluster {
    let mut cluster = ProcCluster::start_declared(4, 3, |_| {}).await;
    cluster.launch(4, |_| {}).await;
    join(&cluster, 4).await;
    cluster
}

async fn join(cluster: &ProcCluster, id: u64) {
    let n = &cluster.nodes[id as usize - 1];
    formation::form_cluster(
        &submitter(cluster),
        &cluster.operator(),
        &cluster.province,
        &[Joiner {
            id,
            raft_addr: n.raft_addr.clone(),
            api_addr: n.api_addr.clone(),
        }],
        &BTreeSet::new(),
        Timestamp::from_millis(0),
        Duration::from_secs(60),
    )
    .await
    .expect("the learner joins through an approved change");
}

fn submitter(cluster: &ProcCluster) -> Client {
    Client::new(
        cluster
            .nodes
            .iter()
            .filter(|n| n.child.is_some())
            .map(|n| n.api_addr.clone()),
    )
}

/// An approved change of the province's node `op.node_id()`, with entry id `id`.
fn approved(cluster: &ProcCluster, op: MemberOp, id: &str) -> Submission {
    formation::province_change(&cluster.province, op, id, Timestamp::from_millis(0))
        .expect("a declared node")
}

/// The Raft membership node `pos` reports: (voters, learners, term).
async fn raft_view(cluster: &ProcCluster, pos: usize) -> (BTreeSet<u64>, BTreeSet<u64>, u64) {
    let s = cluster
        .operator()
        .get_json_from(pos, "/admin/status")
        .await
        .expect("status");
    let ids =
        |k: &str| -> BTreeSet<u64> { serde_json::from_value(s[k].clone()).expect("node ids") };
    (
        ids("voters"),
        ids("learners"),
        s["term"].as_u64().expect("term"),
    )
}

/// A peer-port client presenting `key`'s certificate (and accepting the cluster's nodes).
fn peer_client(cluster: &ProcCluster, key: &SigningKey) -> reqwest::Client {
    caseledger_tests::peer::peer_client(&cluster.province, key).1
}

async fn post_peer(
    http: &reqwest::Client,
    raft_addr: &str,
    path: &str,
    body: Vec<u8>,
) -> reqwest::Result<(u16, String)> {
    let r = http
        .post(format!("https://{raft_addr}{path}"))
        .body(body)
        .send()
        .await?;
    let status = r.status().as_u16();
    Ok((status, r.text().await.unwrap_or_default()))
}

/// Submits and returns `(status, code, message)` of a refusal, or panics on success.
async fn refusal(client: &Client, sub: &Submission) -> (u16, String, String) {
    match client.submit(sub).await.expect("a node answers") {
        SubmitOutcome::Error {
            status,
            code,
            message,
            ..
        } => (status, code.to_string(), message),
        other => panic!("{} was accepted: {other:?}", sub.payload.id),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_node_key_cannot_take_over_the_cluster() {
    let cluster = three_voters_and_a_learner().await;
    let before = raft_view(&cluster, 0).await;
    assert_eq!(before.0, BTreeSet::from([1, 2, 3]));
    assert_eq!(before.1, BTreeSet::from([4]));
    let node4 = cluster.province.node(4).expect("declared");
    let client = submitter(&cluster);

    // 1. The admin routes that let any node key change the membership are gone.
    let as_node4 =
        Client::new([cluster.nodes[0].api_addr.clone()]).with_credentials(node4.credentials());
    for path in ["/admin/learners", "/admin/promote", "/admin/remove"] {
        let r = as_node4
            .post_json_to(0, path, &serde_json::json!({ "node_ids": [4] }))
            .await
            .expect("the node answers");
        assert_eq!(r.status, 404, "{path}: {}", r.body);
    }

    // 2. A membership entry signed with the node key: nodes sign no membership change.
    let promote_self = MemberOp::Promote { node_id: 4 };
    let by_node = Payload {
        signer: Signer::Node(4),
        id: "T-1".parse().expect("id"),
        claimed_at: Timestamp::from_millis(0),
        action: Action::Membership(MembershipChange {
            op: promote_self.clone(),
            approvals: vec![],
        }),
    }
    .sign(&node4.key);
    let (status, code, message) = refusal(&client, &by_node).await;
    assert_eq!(
        (status, code.as_str()),
        (409, "SIGNER_MISMATCH"),
        "{message}"
    );

    // 3. With its department's key too (the detention house, no approver): its own approval
    //    counts for nothing, and it may not even propose a change of another node.
    let dh = cluster.province.department(&node4.decl.org);
    let own = membership::propose(
        dh.signer(),
        &dh.key,
        "T-2".parse().expect("id"),
        Timestamp::from_millis(0),
        promote_self.clone(),
        vec![membership::approve(dh.key_ref(), &dh.key, &promote_self)],
    );
    let (status, code, message) = refusal(&client, &own).await;
    assert_eq!(
        (status, code.as_str()),
        (409, "MEMBERSHIP_CHANGE_REFUSED"),
        "{message}"
    );
    assert!(
        message.contains("0 valid approvals from distinct approvers, 2 required"),
        "{message}"
    );
    for (n, victim) in [(3, 1u64), (4, 2), (5, 3)] {
        let remove = MemberOp::Remove { node_id: victim };
        let sub = membership::propose(
            dh.signer(),
            &dh.key,
            format!("T-{n}").parse().expect("id"),
            Timestamp::from_millis(0),
            remove.clone(),
            vec![membership::approve(dh.key_ref(), &dh.key, &remove)],
        );
        let (status, code, message) = refusal(&client, &sub).await;
        assert_eq!(
            (status, code.as_str()),
            (409, "MEMBERSHIP_CHANGE_REFUSED"),
            "{message}"
        );
        assert!(message.contains("or an approver"), "{message}");
    }

    // 4. On the peer port with node 4's certificate: it may not stand for election, lead, or
    //    hand anyone a membership.
    let peer = peer_client(&cluster, &node4.key);
    let term = before.2 + 10;
    let vote =
        postcard::to_allocvec(&VoteRequest::<u64>::new(Vote::new(term, 4), None)).expect("encode");
    for target in &cluster.nodes[..3] {
        let (status, body) = post_peer(&peer, &target.raft_addr, "/raft/vote", vote.clone())
            .await
            .expect("the handshake succeeds: node 4's key is pinned");
        assert_eq!(status, 403, "vote request to node {}: {body}", target.id);
        assert!(body.contains("has not approved it as a voter"), "{body}");
    }
    let alone = Membership::<u64, caseledger_node::raft::Peer>::new(
        vec![BTreeSet::from([4])],
        [(
            4,
            caseledger_node::raft::Peer {
                raft_addr: cluster.nodes[3].raft_addr.clone(),
                api_addr: cluster.nodes[3].api_addr.clone(),
            },
        )]
        .into_iter()
        .collect::<std::collections::BTreeMap<_, _>>(),
    );
    let takeover = AppendEntriesRequest::<TypeConfig> {
        vote: Vote::new_committed(term, 4),
        prev_log_id: None,
        entries: vec![Entry {
            log_id: LogId::new(openraft::CommittedLeaderId::new(term, 4), 1_000_000),
            payload: EntryPayload::Membership(alone),
        }],
        leader_commit: None,
    };
    let append = postcard::to_allocvec(&takeover).expect("encode");
    for target in &cluster.nodes[..3] {
        let (status, body) = post_peer(&peer, &target.raft_addr, "/raft/append", append.clone())
            .await
            .expect("the handshake succeeds");
        assert_eq!(status, 403, "append to node {}: {body}", target.id);
        assert!(
            body.contains("is not a voter the ledger approved"),
            "{body}"
        );
    }

    // 5. Nothing moved: the same voters, learners and term on every node.
    for pos in 0..4 {
        let (voters, learners, term) = raft_view(&cluster, pos).await;
        assert_eq!((voters, learners, term), before.clone(), "node {}", pos + 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_approved_learner_joins_is_promoted_and_is_removed() {
    let cluster = three_voters_and_a_learner().await;
    let client = submitter(&cluster);
    let size = cluster.converged(1).await["size"].as_u64().expect("size");
    assert!(size > 1);
    membership::submit(
        &client,
        &approved(&cluster, MemberOp::Promote { node_id: 4 }, "M-4-UP"),
    )
    .await
    .expect("the promotion is approved");
    membership::wait_for_membership(
        &cluster.operator(),
        &BTreeSet::from([1, 2, 3, 4]),
        &BTreeSet::new(),
        Duration::from_secs(60),
    )
    .await
    .expect("node 4 becomes a voter");
    let index = membership::submit(
        &client,
        &approved(&cluster, MemberOp::Remove { node_id: 4 }, "M-4-OUT"),
    )
    .await
    .expect("the removal is approved");
    cluster.converged(index + 1).await;
    eventually(
        "node 4 to leave the Raft membership",
        Duration::from_secs(60),
        || async {
            let (voters, learners, _) = raft_view(&cluster, 0).await;
            (!voters.contains(&4) && !learners.contains(&4)).then_some(())
        },
    )
    .await;
    // Its key is retired with the removal: its certificate no longer opens the peer port.
    let node4 = cluster.province.node(4).expect("declared");
    let peer = peer_client(&cluster, &node4.key);
    let vote =
        postcard::to_allocvec(&VoteRequest::<u64>::new(Vote::new(1, 4), None)).expect("encode");
    let refused = post_peer(&peer, &cluster.nodes[0].raft_addr, "/raft/vote", vote).await;
    assert!(
        refused.is_err(),
        "a removed node's certificate was accepted: {refused:?}"
    );
    // And it does not come back with that key.
    let rejoin = MemberOp::AddLearner {
        node_id: 4,
        addr: proto_types::payload::NodeAddr {
            raft_addr: cluster.nodes[3].raft_addr.clone(),
            api_addr: cluster.nodes[3].api_addr.clone(),
        },
    };
    let (status, code, message) = refusal(&client, &approved(&cluster, rejoin, "M-4-BACK")).await;
    assert_eq!(
        (status, code.as_str()),
        (409, "MEMBERSHIP_CHANGE_REFUSED"),
        "{message}"
    );
    assert!(message.contains("no key in force"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_with_a_revoked_key_is_refused_on_the_peer_port() {
    let cluster = three_voters_and_a_learner().await;
    let node4 = cluster.province.node(4).expect("declared");
    let peer = peer_client(&cluster, &node4.key);
    let vote =
        || postcard::to_allocvec(&VoteRequest::<u64>::new(Vote::new(1, 4), None)).expect("encode");
    // Control: before the revocation the handshake succeeds (the vote is refused by rule).
    let (status, _) = post_peer(&peer, &cluster.nodes[1].raft_addr, "/raft/vote", vote())
        .await
        .expect("node 4's certificate is accepted while its key is in force");
    assert_eq!(status, 403);
    // The PLC (an approver) revokes node 4's key, with the procuratorate's approval.
    let plc = cluster.province.department(&cluster.province.plc);
    let op = KeyOp::RevokeNodeKey {
        node_id: 4,
        reason: "节点密钥泄露".into(),
    };
    let approvals = [
        cluster.province.plc.clone(),
        cluster.province.cities[0].procuratorate.clone(),
    ]
    .iter()
    .map(|o| {
        let d = cluster.province.department(o);
        Approval::sign(d.key_ref(), &d.key, &op)
    })
    .collect();
    let revoke = Payload {
        signer: plc.signer(),
        id: "K-4-REVOKE".parse().expect("id"),
        claimed_at: Timestamp::from_millis(0),
        action: Action::KeyLifecycle(KeyLifecycle { op, approvals }),
    }
    .sign(&plc.key);
    let index = membership::submit(&submitter(&cluster), &revoke)
        .await
        .expect("the revocation is accepted");
    cluster.converged(index + 1).await;
    // A connection opened before the revocation is refused on every request from now on;
    // a new one is refused at the handshake.
    let (status, body) = post_peer(&peer, &cluster.nodes[1].raft_addr, "/raft/vote", vote())
        .await
        .expect("the open connection answers");
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("no longer carries a node key in force"),
        "{body}"
    );
    let fresh = peer_client(&cluster, &node4.key);
    for target in &cluster.nodes[..3] {
        let refused = post_peer(&fresh, &target.raft_addr, "/raft/vote", vote()).await;
        assert!(
            refused.is_err(),
            "node {} accepted a revoked certificate: {refused:?}",
            target.id
        );
    }
    eventually(
        "node 4 to leave the Raft membership",
        Duration::from_secs(60),
        || async {
            let (_, learners, _) = raft_view(&cluster, 0).await;
            (!learners.contains(&4)).then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_leader_that_will_not_carry_out_its_own_demotion_is_escaped() {
    // Every node would refuse its own demotion: whichever leads is the censoring leader.
    let cluster =
        ProcCluster::start_declared(3, 3, |c| c.membership.refuse_own_demotion = true).await;
    let client = submitter(&cluster);
    let old = cluster.leader().await;
    let old_id = old as u64 + 1;
    let index = membership::submit(
        &client,
        &approved(&cluster, MemberOp::Demote { node_id: old_id }, "M-DEMOTE"),
    )
    .await
    .expect("the demotion is approved");
    let committed = Instant::now();
    // The others stop following it once it leaves the demotion undone past
    // `membership.execute_timeout` (3 s in tests), elect a leader that carries it out.
    let others: Vec<usize> = (0..3).filter(|p| *p != old).collect();
    let new = eventually(
        "a leader other than the censoring one",
        Duration::from_secs(60),
        || async {
            let s = cluster
                .operator()
                .get_json_from(others[0], "/admin/status")
                .await
                .ok()?;
            let leader = s["leader"].as_u64()?;
            (leader != old_id).then_some(leader)
        },
    )
    .await;
    eventually(
        "the demotion to be carried out",
        Duration::from_secs(60),
        || async {
            let (voters, learners, _) = raft_view(&cluster, others[0]).await;
            (!voters.contains(&old_id) && learners.contains(&old_id)).then_some(())
        },
    )
    .await;
    println!(
        "escape: node {new} leads and node {old_id} is a learner {:.1} s after its demotion (entry {index}) was committed",
        committed.elapsed().as_secs_f64()
    );
    // The cluster takes writes again: the old leader is promoted back through the ledger.
    membership::submit(
        &client,
        &approved(&cluster, MemberOp::Promote { node_id: old_id }, "M-PROMOTE"),
    )
    .await
    .expect("the cluster commits under its new leader");
    eventually(
        "the old leader to be a voter again",
        Duration::from_secs(60),
        || async {
            let (voters, _, _) = raft_view(&cluster, others[0]).await;
            voters.contains(&old_id).then_some(())
        },
    )
    .await;
}
