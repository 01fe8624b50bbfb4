//! Transport security (issue 8): the peer port speaks only mutual TLS, and accepts only
//! certificates carrying a key the registry pins for a current node.

use std::time::Duration;

use caseledger_node::raft::TypeConfig;
use caseledger_node::tls::PeerTls;
use caseledger_tests::cluster::{start_node, Cluster};
use ed25519_dalek::SigningKey;
use openraft::raft::{AppendEntriesRequest, VoteRequest};
use openraft::Vote;
use proto_types::payload::{MemberOp, NodeAddr};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Three nodes declared, two running, no timed checkpoints (so nothing changes the log unless
/// a Raft message is accepted).
async fn quiet_cluster() -> Cluster {
    Cluster::start_with(3, 2, |c| {
        c.checkpoint.every = Duration::ZERO;
        c.checkpoint.every_entries = 1_000_000;
    })
    .await
}

/// A TLS client presenting `key`'s certificate, which itself accepts the cluster's nodes.
fn peer_client(cluster: &Cluster, key: &SigningKey) -> (PeerTls, reqwest::Client) {
    caseledger_tests::peer::peer_client(&cluster.province, key)
}

/// The state once every running node has applied the same log (membership changes included).
async fn settled(cluster: &Cluster) -> Vec<serde_json::Value> {
    caseledger_tests::eventually("the nodes to settle", Duration::from_secs(30), || async {
        let s = state(cluster);
        let applied: Vec<_> = s.iter().map(|n| n["last_applied"].clone()).collect();
        let same = applied.iter().all(|a| *a == applied[0] && !a.is_null())
            && s.iter().all(|n| n["last_log_index"] == applied[0]);
        same.then_some(s)
    })
    .await
}

/// What a Raft message would change: term, vote holder, membership, log, ledger.
fn state(cluster: &Cluster) -> Vec<serde_json::Value> {
    cluster
        .nodes
        .iter()
        .flatten()
        .map(|n| {
            let mut s = serde_json::to_value(n.ctx.status()).expect("a status serializes");
            for volatile in ["selfcheck", "cosigning", "quorum_ack_ms"] {
                s.as_object_mut().expect("an object").remove(volatile);
            }
            s
        })
        .collect()
}

fn vote_for(candidate: u64, term: u64) -> Vec<u8> {
    postcard::to_allocvec(&VoteRequest::<u64>::new(Vote::new(term, candidate), None))
        .expect("encode")
}

fn append_from(leader: u64, term: u64) -> Vec<u8> {
    let req = AppendEntriesRequest::<TypeConfig> {
        vote: Vote::new_committed(term, leader),
        prev_log_id: None,
        entries: Vec::new(),
        leader_commit: None,
    };
    postcard::to_allocvec(&req).expect("encode")
}

async fn post(
    http: &reqwest::Client,
    raft_addr: &str,
    path: &str,
    body: Vec<u8>,
) -> reqwest::Result<reqwest::Response> {
    http.post(format!("https://{raft_addr}{path}"))
        .body(body)
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_with_an_unknown_certificate_cannot_send_raft_messages() {
    let cluster = quiet_cluster().await;
    cluster.converged(1).await;
    let before = settled(&cluster).await;
    let term = before[0]["term"].as_u64().expect("a term");
    let intruder = SigningKey::from_bytes(&[0x5a; 32]);
    let (_, http) = peer_client(&cluster, &intruder);
    for (raft_addr, _) in &cluster.addrs {
        // A vote request with a far higher term would depose the leader if it were read.
        let refused = post(&http, raft_addr, "/raft/vote", vote_for(3, term + 100)).await;
        assert!(
            refused.is_err(),
            "vote with an unknown cert answered: {refused:?}"
        );
        let refused = post(&http, raft_addr, "/raft/append", append_from(3, term + 100)).await;
        assert!(
            refused.is_err(),
            "append with an unknown cert answered: {refused:?}"
        );
        let refused = http
            .get(format!("https://{raft_addr}/raft/ledger?from=0&limit=10"))
            .send()
            .await;
        assert!(
            refused.is_err(),
            "ledger chunk with an unknown cert answered: {refused:?}"
        );
    }
    // The same requests from a registered node's certificate are read (control): the refusal
    // above is the certificate's doing. Node 3 is declared but not running; its key is pinned.
    let (_, member) = peer_client(&cluster, &cluster.province.nodes[2].key);
    let answered = post(&member, &cluster.addrs[0].0, "/raft/vote", vote_for(3, 0))
        .await
        .expect("a pinned node's certificate is accepted");
    // Past the handshake, the membership the ledger approved decides: node 3 is declared but
    // no voter the ledger approved, so its vote request is refused by that rule.
    assert_eq!(answered.status(), 403, "a vote request from a non-voter");
    let why = answered.text().await.expect("body");
    assert!(why.contains("has not approved it as a voter"), "{why}");
    assert_eq!(state(&cluster), before, "membership, term or log changed");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_with_an_unknown_certificate_cannot_join() {
    let cluster = quiet_cluster().await;
    cluster.converged(1).await;
    // An impostor listens for node 3 (declared in genesis) with a key the registry does not pin.
    let impostor = SigningKey::from_bytes(&[0x77; 32]);
    let (tls, _) = peer_client(&cluster, &impostor);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let impostor_addr = listener.local_addr().expect("addr").to_string();
    let server = tokio::spawn(async move {
        axum::serve(
            tls.listen(listener, caseledger_node::tls::HANDSHAKE_TIMEOUT),
            axum::Router::new(),
        )
        .await
    });
    let leader = cluster.leader().await;
    let submitter = caseledger_client::http::Client::new(cluster.api_addrs());
    let change = |op: MemberOp, id: &str| {
        caseledger_lab::formation::province_change(
            &cluster.province,
            op,
            id,
            proto_types::Timestamp::from_millis(0),
        )
        .expect("node 3 is declared")
    };
    let learners = |cluster: &Cluster| -> Vec<u64> {
        let status = cluster.nodes[leader].as_ref().expect("leader").ctx.status();
        status.raft.learners
    };
    // The departments approve node 3 at the impostor's address: the ledger records it, and the
    // leader, which probes the address for node 3's pinned key before it adds a learner, does
    // not add it.
    let at_impostor = MemberOp::AddLearner {
        node_id: 3,
        addr: NodeAddr {
            raft_addr: impostor_addr,
            api_addr: "127.0.0.1:9".into(),
        },
    };
    caseledger_client::membership::submit(&submitter, &change(at_impostor, "M-3-A"))
        .await
        .expect("the ledger approves the change");
    caseledger_tests::eventually(
        "the leader to report the pending join",
        Duration::from_secs(10),
        || async {
            let m = cluster.nodes[leader]
                .as_ref()
                .expect("leader")
                .ctx
                .membership();
            m["pending"]
                .as_str()
                .is_some_and(|p| p.contains("AddLearners"))
                .then_some(())
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !learners(&cluster).contains(&3),
        "the impostor entered the membership"
    );
    server.abort();
    // The real node 3 (its registry key) joins once its address is approved.
    let real = start_node(&cluster.configs[2]).await;
    let moved = MemberOp::SetAddress {
        node_id: 3,
        addr: NodeAddr {
            raft_addr: real.raft_addr.clone(),
            api_addr: real.api_addr.clone(),
        },
    };
    caseledger_client::membership::submit(&submitter, &change(moved, "M-3-B"))
        .await
        .expect("the ledger approves the change");
    caseledger_tests::eventually(
        "node 3 to join as a learner",
        Duration::from_secs(20),
        || async { learners(&cluster).contains(&3).then_some(()) },
    )
    .await;
    real.shutdown().await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn plain_http_to_the_peer_port_is_refused() {
    let cluster = quiet_cluster().await;
    let raft_addr = &cluster.addrs[0].0;
    let plain = reqwest::Client::new()
        .post(format!("http://{raft_addr}/raft/vote"))
        .body(vote_for(1, 0))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP answered: {plain:?}");
    // On the wire: no HTTP answer ever comes back, the server only speaks TLS.
    let mut tcp = tokio::net::TcpStream::connect(raft_addr)
        .await
        .expect("connect");
    tcp.write_all(b"GET /raft/ledger?from=0 HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("write");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer)).await;
    assert!(
        !answer.starts_with(b"HTTP/"),
        "the peer port answered plain HTTP"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn oversized_or_misattributed_raft_messages_are_refused() {
    let cluster = quiet_cluster().await;
    cluster.converged(1).await;
    let before = settled(&cluster).await;
    let raft_addr = &cluster.addrs[0].0;
    // Node 2 is a member: its certificate is accepted.
    let (_, member) = peer_client(&cluster, &cluster.province.nodes[1].key);
    let huge = vec![0u8; caseledger_node::raft::network::DEFAULT_MAX_BODY_BYTES + 1];
    let answer = post(&member, raft_addr, "/raft/append", huge)
        .await
        .expect("answered");
    assert_eq!(answer.status(), reqwest::StatusCode::PAYLOAD_TOO_LARGE);
    let text = answer.text().await.expect("text");
    assert!(text.contains("length limit"), "{text}");
    // Node 2 may not send a vote request or entries in node 3's name.
    for (path, body) in [
        ("/raft/vote", vote_for(3, 1000)),
        ("/raft/append", append_from(3, 1000)),
    ] {
        let answer = post(&member, raft_addr, path, body)
            .await
            .expect("answered");
        assert_eq!(answer.status(), reqwest::StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(state(&cluster), before, "membership, term or log changed");
    cluster.shutdown().await;
}
