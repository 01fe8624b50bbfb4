//! Limits without a key (issue 15, item 4), on real node processes: idle sockets on both
//! ports are closed after the header timeout and never take more descriptors than the caps
//! allow, so `/healthz` keeps answering.

use std::time::Duration;

use caseledger_client::http::Credentials;
use caseledger_tests::eventually;
use caseledger_tests::process::ProcCluster;
use proto_types::ids::KeyId;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Open descriptors of process `pid`.
fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Opens up to `n` idle sockets to `addr` (connects that the backlog does not take are
/// dropped).
async fn idle_sockets(addr: &str, n: usize) -> Vec<TcpStream> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        match tokio::time::timeout(Duration::from_millis(500), TcpStream::connect(addr)).await {
            Ok(Ok(s)) => out.push(s),
            _ => break,
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idle_sockets_are_capped_and_closed_and_healthz_keeps_answering_and_refusals_are_logged() {
    let (api_cap, peer_cap) = (40, 10);
    let cluster = ProcCluster::start_with(1, |c| {
        c.limits.max_connections = api_cap;
        c.limits.max_peer_connections = peer_cap;
        c.limits.header_timeout = Duration::from_secs(1);
    })
    .await;
    let node = &cluster.nodes[0];
    let pid = cluster.pid(0).expect("node runs");
    let http = reqwest::Client::new();
    let healthz = format!("http://{}/healthz", node.api_addr);
    eventually("the node to answer", Duration::from_secs(10), || async {
        let r = http.get(&healthz).send().await.ok()?;
        r.status().is_success().then_some(())
    })
    .await;
    let before = open_descriptors(pid);

    let mut api = idle_sockets(&node.api_addr, 400).await;
    let mut peer = idle_sockets(&node.raft_addr, 200).await;
    assert!(api.len() > api_cap && peer.len() > peer_cap);

    // Held sockets cost the node at most the caps (plus the peer port's pending handshakes).
    let bound = before + api_cap + peer_cap + caseledger_node::tls::MAX_HANDSHAKES + 16;
    let held = open_descriptors(pid);
    assert!(
        held <= bound,
        "{held} descriptors open, at most {bound} expected"
    );

    // /healthz answers while they are held: idle ones are closed after the header timeout.
    let answered = eventually("/healthz to answer", Duration::from_secs(15), || async {
        let r = http
            .get(&healthz)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .ok()?;
        r.status().is_success().then_some(())
    })
    .await;
    assert_eq!(answered, ());

    // The node closed the first idle socket on each port (EOF or reset, not a hang).
    for (what, s) in [("api", &mut api[0]), ("peer", &mut peer[0])] {
        let mut buf = [0u8; 16];
        let read = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "{what}: an idle socket is closed by the node, got {read:?}"
        );
    }
    let held = open_descriptors(pid);
    assert!(
        held <= bound,
        "{held} descriptors open, at most {bound} expected"
    );
    drop((api, peer));

    // A refusal is answered with one code and logged once with its reason (issue 15, item 5).
    let p = &cluster.province;
    let stranger = Credentials::organisation(
        &p.auditor,
        &KeyId::new("k9").expect("key id"),
        caseledger_client::keys::derive(7, "stranger"),
    );
    let mut req = http.get(format!("http://{}/v1/head", node.api_addr));
    for (name, value) in stranger.headers(node.id, "GET", "/v1/head", b"") {
        req = req.header(name, value);
    }
    let r = req.send().await.expect("answer");
    assert_eq!(r.status(), reqwest::StatusCode::UNAUTHORIZED);
    let log = cluster.dir.path().join("node-1.log");
    eventually("the refusal in the log", Duration::from_secs(5), || async {
        let text = std::fs::read_to_string(&log).ok()?;
        text.lines()
            .any(|l| {
                l.contains("request refused")
                    && l.contains("AUTHENTICATION_FAILED")
                    && l.contains("no organisation and key")
            })
            .then_some(())
    })
    .await;
}
