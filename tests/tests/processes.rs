//! Real processes: kill -9 the leader of three `caseledger-node` processes during a stream of
//! submissions, restart it, and check that nothing acknowledged was lost.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use caseledger_client::http::Client;
use caseledger_tests::cluster::{auditor, EPOCH};
use caseledger_tests::eventually;
use caseledger_tests::load::{flows, run_flows};
use caseledger_tests::process::ProcCluster;
use serde_json::Value;

/// Every (id → index) in one node's ledger, read through its API; fails on a duplicate id.
async fn ids_of(api: &str) -> HashMap<String, u64> {
    let client = Client::new([api]).with_credentials(auditor());
    let mut out = HashMap::new();
    let mut from = 0u64;
    loop {
        let page: Value = client
            .get_json_from(0, &format!("/v1/entries?from={from}&limit=1000"))
            .await
            .expect("read entries");
        for e in page["entries"].as_array().expect("entries") {
            let record = &e["entry"]["body"]["record"];
            let sub = record
                .get("accepted")
                .or_else(|| record["rejected"].get("submission"))
                .expect("record");
            let id = sub["payload"]["id"].as_str().expect("id").to_owned();
            let index = e["index"].as_u64().expect("index");
            assert!(
                out.insert(id.clone(), index).is_none(),
                "{api}: {id} appears twice"
            );
        }
        match page["next"].as_u64() {
            Some(n) => from = n,
            None => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_process_loses_nothing_acknowledged() {
    let mut cluster = ProcCluster::start(3).await;
    let client = cluster.client();
    let load = {
        let client = client.clone();
        let flows = flows(&cluster.province, 11, 40, EPOCH);
        tokio::spawn(async move {
            run_flows(
                &client,
                flows,
                8,
                11,
                Some(Instant::now() + Duration::from_secs(90)),
            )
            .await
        })
    };
    eventually(
        "some entries committed",
        Duration::from_secs(60),
        || async {
            let h: Value = client.get_json_from(0, "/v1/head").await.ok()?;
            (h["size"].as_u64()? > 200).then_some(())
        },
    )
    .await;
    let leader = cluster.leader().await;
    cluster.kill9(leader);
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.restart(leader);
    let run = load.await.expect("load");
    assert!(
        run.errors.is_empty(),
        "{:?}",
        &run.errors[..run.errors.len().min(5)]
    );
    assert!(run.unanswered.is_empty(), "{:?}", run.unanswered);
    let size = run.acked.iter().map(|a| a.index).max().expect("acked") + 1;
    cluster.converged(size).await;
    for node in &cluster.nodes {
        let ids = ids_of(&node.api_addr).await;
        for a in &run.acked {
            assert_eq!(
                ids.get(a.id.as_str()),
                Some(&a.index),
                "node {}: acknowledged {} lost",
                node.id,
                a.id
            );
        }
    }
}
