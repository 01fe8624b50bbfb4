//! In-process clusters: agreement, leader loss, restart and catch-up (issue: the department node).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use caseledger_client::http::Client;
use caseledger_tests::cluster::{Cluster, EPOCH};
use caseledger_tests::load::{flows, run_flows, Run};
use proto_types::ids::HandoffId;

/// Every node of `cluster` holds each acknowledged id exactly once, at the acknowledged index.
async fn assert_acked_present_once(cluster: &Cluster, run: &Run) {
    for node in cluster.nodes.iter().flatten() {
        let store = node.ctx.store.clone();
        let entries =
            tokio::task::spawn_blocking(move || caseledger_node::ledger::all_entries(&store))
                .await
                .expect("join")
                .expect("read ledger");
        let mut seen: HashMap<HandoffId, u64> = HashMap::new();
        for e in &entries {
            let id = e.body.record.submission().payload.id.clone();
            assert!(
                seen.insert(id.clone(), e.body.index).is_none(),
                "node {}: {id} appears twice",
                node.ctx.id
            );
        }
        for a in &run.acked {
            assert_eq!(
                seen.get(&a.id),
                Some(&a.index),
                "node {}: acknowledged {} missing or moved",
                node.ctx.id,
                a.id
            );
        }
    }
}

fn handoffs(run: &Run) -> usize {
    run.acked
        .iter()
        .filter(|a| a.id.as_str().ends_with('H'))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_commit_a_thousand_handoffs_sent_to_random_nodes_and_agree() {
    let cluster = Cluster::start(3).await;
    let client = cluster.client();
    let run = run_flows(
        &client,
        flows(&cluster.province, 1, 130, EPOCH),
        16,
        1,
        None,
    )
    .await;
    assert!(
        run.errors.is_empty(),
        "every generated step is legal: {:?}",
        &run.errors[..run.errors.len().min(5)]
    );
    assert!(handoffs(&run) >= 1000, "only {} handoffs", handoffs(&run));
    let size = run.acked.iter().map(|a| a.index).max().expect("acked") + 1;
    let head = cluster.converged(size).await;
    let mut roots = Vec::new();
    for n in cluster.nodes.iter().flatten() {
        roots.push(n.ctx.root(head.size).await.expect("root"));
    }
    assert!(
        roots.windows(2).all(|w| w[0] == w[1]),
        "Merkle roots differ: {roots:?}"
    );
    assert_acked_present_once(&cluster, &run).await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_leader_mid_load_loses_no_acknowledged_handoff() {
    let mut cluster = Cluster::start(3).await;
    let client = cluster.client();
    let load = {
        let client = client.clone();
        let flows = flows(&cluster.province, 2, 60, EPOCH);
        tokio::spawn(async move {
            run_flows(
                &client,
                flows,
                8,
                2,
                Some(Instant::now() + Duration::from_secs(60)),
            )
            .await
        })
    };
    caseledger_tests::eventually("some load committed", Duration::from_secs(30), || async {
        (cluster.nodes[0]
            .as_ref()
            .expect("running")
            .ctx
            .ledger
            .head()
            .size
            > 300)
            .then_some(())
    })
    .await;
    let old = cluster.leader().await;
    cluster.stop(old).await;
    let run = load.await.expect("load");
    assert!(
        run.errors.is_empty(),
        "{:?}",
        &run.errors[..run.errors.len().min(5)]
    );
    assert!(
        run.unanswered.is_empty(),
        "retried until a new leader answered: {:?}",
        run.unanswered
    );
    let new = cluster.leader().await;
    assert_ne!(new, old);
    let size = run.acked.iter().map(|a| a.index).max().expect("acked") + 1;
    cluster.converged(size).await;
    assert_acked_present_once(&cluster, &run).await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_catches_up_to_the_same_head() {
    let mut cluster = Cluster::start(3).await;
    let client = cluster.client();
    let first = run_flows(&client, flows(&cluster.province, 3, 10, EPOCH), 4, 3, None).await;
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    let leader = cluster.leader().await;
    let follower = (leader + 1) % 3;
    cluster.stop(follower).await;
    let live: Vec<String> = cluster.api_addrs();
    let second = run_flows(
        &Client::new(live).with_credentials(cluster.province.auditor_credentials()),
        flows(&cluster.province, 4, 10, EPOCH),
        4,
        4,
        None,
    )
    .await;
    assert!(second.errors.is_empty(), "{:?}", second.errors);
    cluster.restart(follower).await;
    let size = second.acked.iter().map(|a| a.index).max().expect("acked") + 1;
    cluster.converged(size).await;
    assert_acked_present_once(&cluster, &second).await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_joining_after_twenty_thousand_entries_installs_a_pointer_snapshot_and_pulls_the_ledger(
) {
    let mut cluster = Cluster::start_with(4, 3, |c| c.raft.snapshot_every = 2000).await;
    let client = cluster.client();
    let mut cases = 0u64;
    let mut size = 0u64;
    let mut seed = 100;
    while size < 20_000 {
        let run = run_flows(
            &client,
            flows(&cluster.province, seed, 120, EPOCH),
            32,
            seed,
            None,
        )
        .await;
        assert!(
            run.errors.is_empty(),
            "{:?}",
            &run.errors[..run.errors.len().min(5)]
        );
        cases += 120;
        seed += 1;
        size = run.acked.iter().map(|a| a.index).max().expect("acked") + 1;
    }
    let head = cluster.converged(size).await;
    let store = cluster.nodes[0]
        .as_ref()
        .expect("running")
        .ctx
        .store
        .clone();
    let snapshot = store
        .get(
            caseledger_node::store::Cf::SmMeta,
            caseledger_node::store::meta_key::SNAPSHOT,
        )
        .expect("read")
        .expect("a snapshot was built");
    assert!(
        snapshot.len() < 1024,
        "a snapshot is a pointer: {} bytes after {} entries",
        snapshot.len(),
        head.size
    );
    let pos = cluster.add_learner(4).await;
    // A cosigned checkpoint (every minute) may have been appended meanwhile: the heads agree
    // at or past `head`, and the roots at `head.size` are compared below.
    let joined = cluster.converged(head.size).await;
    assert!(joined.size >= head.size, "{joined:?} behind {head:?}");
    let learner = cluster.nodes[pos].as_ref().expect("running");
    let root = learner.ctx.root(head.size).await.expect("root");
    let leader_root = cluster.nodes[0]
        .as_ref()
        .expect("running")
        .ctx
        .root(head.size)
        .await
        .expect("root");
    assert_eq!(root, leader_root);
    assert!(cases > 0);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_batch_is_covered_by_a_wal_sync() {
    let cluster = Cluster::start(3).await;
    let client = cluster.client();
    let before: Vec<_> = cluster
        .nodes
        .iter()
        .flatten()
        .map(|n| n.ctx.store.wal_stats())
        .collect();
    let run = run_flows(&client, flows(&cluster.province, 5, 5, EPOCH), 1, 5, None).await;
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    let size = run.acked.iter().map(|a| a.index).max().expect("acked") + 1;
    cluster.converged(size).await;
    for (n, b) in cluster.nodes.iter().flatten().zip(before) {
        let a = n.ctx.store.wal_stats();
        let batches = a.acknowledged_batches - b.acknowledged_batches;
        let syncs = a.synced - b.synced;
        assert!(batches > 0);
        assert!(
            syncs >= 1 && syncs <= batches,
            "node {}: {syncs} WAL syncs for {batches} acknowledged batches",
            n.ctx.id
        );
        // RocksDB's group commit may let one fsync cover a log append and an apply batch that
        // arrive together; with one client in flight that is the exception, not the rule.
        // Without `sync = true` there would be no WAL sync at all.
        assert!(
            syncs * 2 >= batches,
            "node {}: only {syncs} syncs for {batches} batches",
            n.ctx.id
        );
    }
    cluster.shutdown().await;
}
