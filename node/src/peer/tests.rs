//! Three nodes in one process, each with its own temp dir and mutual-TLS transport on port 0
//! (the Raft transport: `crate::raft::network`'s client, the peer port's Raft routes).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::ledger::echo::EchoLedger;
use crate::ledger::LedgerMachine;
use crate::raft::network::{Network, TransportSettings, DEFAULT_MAX_BODY_BYTES};
use crate::raft::{initialize, propose, start, NodeId, Peer, Raft, RaftSettings};
use crate::store::{meta_key, Cf, Store};
use crate::tls::{Identity, PeerTls, StaticPins};

const DEADLINE: Duration = Duration::from_secs(30);

struct TestNode {
    id: NodeId,
    raft: Raft,
    store: Store,
    peer: Peer,
    stop_server: oneshot::Sender<()>,
    server: JoinHandle<()>,
    _dir: TempDir,
}

fn fast_settings() -> RaftSettings {
    RaftSettings {
        heartbeat: Duration::from_millis(100),
        election_min: Duration::from_millis(1000),
        election_max: Duration::from_millis(2000),
        ..RaftSettings::default()
    }
}

/// Node `id`'s key: fixed, so that every node pins every other's.
fn node_key(id: NodeId) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[u8::try_from(id).expect("small id"); 32])
}

fn peer_tls(id: NodeId) -> PeerTls {
    let pins = StaticPins(
        (1..=5)
            .map(|n| (n, proto_types::crypto::PublicKey::of(&node_key(n))))
            .collect(),
    );
    let identity = Identity::self_signed(&node_key(id)).expect("certificate");
    PeerTls::new(identity, Arc::new(pins), None).expect("tls")
}

async fn spawn_node(id: NodeId, settings: &RaftSettings) -> TestNode {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open store");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let tls = peer_tls(id);
    let net = Network::new(id, TransportSettings::default(), &tls).expect("network");
    let raft = start(id, settings, store.clone(), Arc::new(EchoLedger), net)
        .await
        .expect("start raft");
    let (stop_server, stopped) = oneshot::channel::<()>();
    let router = crate::peer::raft::router(raft.clone(), None, DEFAULT_MAX_BODY_BYTES);
    let server = tokio::spawn(async move {
        let limits = crate::server::serve::ConnLimits {
            max_connections: 64,
            header_timeout: std::time::Duration::from_secs(30),
        };
        let handshake = limits.header_timeout.min(crate::tls::HANDSHAKE_TIMEOUT);
        crate::server::serve::serve(tls.listen(listener, handshake), router, limits, async {
            let _ = stopped.await;
        })
        .await
    });
    let peer = Peer {
        raft_addr: addr.to_string(),
        api_addr: String::new(),
    };
    TestNode {
        id,
        raft,
        store,
        peer,
        stop_server,
        server,
        _dir: dir,
    }
}

fn ledger_of(store: &Store) -> Vec<(u64, Vec<u8>)> {
    store
        .scan_u64(Cf::Ledger, .., usize::MAX)
        .expect("scan ledger")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_elect_a_leader_and_replicate_200_proposals_identically() {
    let mut nodes = Vec::new();
    for id in 1..=3 {
        nodes.push(spawn_node(id, &fast_settings()).await);
    }
    let voters: BTreeMap<NodeId, Peer> = nodes.iter().map(|n| (n.id, n.peer.clone())).collect();
    initialize(&nodes[0].raft, voters)
        .await
        .expect("initialize");

    let mut leader = None;
    for node in &nodes {
        let m = node
            .raft
            .wait(Some(DEADLINE))
            .metrics(|m| m.current_leader.is_some(), "a leader is known")
            .await
            .expect("leader within the deadline");
        assert!(
            leader.is_none() || leader == m.current_leader,
            "nodes disagree on the leader"
        );
        leader = m.current_leader;
    }
    let leader_id = leader.expect("leader");
    let leader = &nodes
        .iter()
        .find(|n| n.id == leader_id)
        .expect("leader node")
        .raft;

    let proposal = |i: u32| format!("proposal-{i:03}").into_bytes();
    let mut indexes = BTreeSet::new();
    for i in 0..50 {
        let resp = propose(leader, vec![proposal(i)]).await.expect("commit");
        indexes.insert(resp[0].ledger_index.expect("appended"));
    }
    let leadership = crate::raft::leadership::Leadership::watch(
        leader.clone(),
        leader_id,
        std::time::Duration::from_secs(2),
    );
    let batcher =
        crate::raft::batcher::Batcher::start(leader.clone(), leadership, Default::default());
    let concurrent =
        futures::future::join_all((50..200).map(|i| batcher.propose(proposal(i)))).await;
    for resp in concurrent {
        indexes.insert(resp.expect("commit").ledger_index.expect("appended"));
    }
    assert_eq!(
        indexes,
        (0..200).collect::<BTreeSet<u64>>(),
        "each proposal got its own index"
    );

    let leader_applied = leader
        .metrics()
        .borrow()
        .last_applied
        .expect("leader applied");
    for node in &nodes {
        node.raft
            .wait(Some(DEADLINE))
            .applied_index_at_least(Some(leader_applied.index), "follower catches up")
            .await
            .expect("caught up within the deadline");
    }
    let reference_applied = nodes[0]
        .store
        .get(Cf::SmMeta, meta_key::APPLIED)
        .expect("get");
    let reference_ledger = ledger_of(&nodes[0].store);
    assert_eq!(reference_ledger.len(), 200);
    let proposals: BTreeSet<Vec<u8>> = (0..200).map(proposal).collect();
    let recorded: BTreeSet<Vec<u8>> = reference_ledger.iter().map(|(_, v)| v.clone()).collect();
    assert_eq!(recorded, proposals, "every proposal recorded exactly once");
    for node in &nodes[1..] {
        assert_eq!(
            node.store.get(Cf::SmMeta, meta_key::APPLIED).expect("get"),
            reference_applied
        );
        assert_eq!(
            ledger_of(&node.store),
            reference_ledger,
            "node {} ledger differs",
            node.id
        );
    }
    for node in &nodes {
        let stats = node.store.wal_stats();
        assert!(
            stats.synced > 0 && stats.synced <= stats.acknowledged_batches,
            "{stats:?}"
        );
    }

    for node in nodes {
        stop(node).await;
    }
}

async fn stop(node: TestNode) {
    node.raft.shutdown().await.expect("raft shutdown");
    let _ = node.stop_server.send(());
    node.server.await.expect("server task");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn learner_joining_after_purge_installs_the_pointer_snapshot_over_http() {
    let settings = RaftSettings {
        keep_behind_snapshot: 0,
        ..fast_settings()
    };
    let leader = spawn_node(1, &settings).await;
    initialize(
        &leader.raft,
        [(1, leader.peer.clone())].into_iter().collect(),
    )
    .await
    .expect("initialize");
    leader
        .raft
        .wait(Some(DEADLINE))
        .current_leader(1, "elected")
        .await
        .expect("leader within the deadline");
    for i in 0..120u32 {
        propose(&leader.raft, vec![i.to_be_bytes().to_vec()])
            .await
            .expect("commit");
    }
    leader
        .raft
        .trigger()
        .snapshot()
        .await
        .expect("trigger snapshot");
    // With nothing kept behind a snapshot, openraft purges the log up to it by itself.
    let metrics = leader
        .raft
        .wait(Some(DEADLINE))
        .metrics(
            |m| m.snapshot.is_some() && m.snapshot == m.last_applied && m.purged == m.snapshot,
            "snapshot of everything applied, log purged",
        )
        .await
        .expect("snapshot and purge within the deadline");
    let applied = metrics.last_applied.expect("applied");

    let learner = spawn_node(2, &settings).await;
    leader
        .raft
        .add_learner(2, learner.peer.clone(), true)
        .await
        .expect("add learner");
    learner
        .raft
        .wait(Some(DEADLINE))
        .applied_index_at_least(Some(applied.index), "learner installs the snapshot")
        .await
        .expect("learner caught up");
    assert_eq!(
        learner.raft.metrics().borrow().snapshot,
        Some(applied),
        "installed, not replayed"
    );
    assert!(
        ledger_of(&learner.store).is_empty(),
        "a snapshot is a pointer, not a copy"
    );
    assert_eq!(
        EchoLedger.missing_entries(&learner.store).expect("missing"),
        Some(0..120)
    );

    let resp = propose(&leader.raft, vec![b"after".to_vec()])
        .await
        .expect("commit");
    assert_eq!(resp[0].ledger_index, Some(120));
    // The leader's metrics may not show its own apply yet when `propose` returns, so the
    // learner's store is polled for the entry itself.
    let deadline = std::time::Instant::now() + DEADLINE;
    while ledger_of(&learner.store).is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(ledger_of(&learner.store), vec![(120, b"after".to_vec())]);

    stop(learner).await;
    stop(leader).await;
}
