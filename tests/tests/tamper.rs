//! Tamper evidence (issue 5): damage a stopped node's data through `node::store`'s test hooks;
//! on restart the node names the exact index or row and is not ready, `audit` against it
//! exits 1 naming the index, against the other nodes 0; cosigned checkpoints are committed and
//! catch a rewritten suffix; a 100,000-entry export audits intact. The audit of nodes proves
//! that every node ahead extends the ledger it verified (a forged proof is named, a refused one
//! leaves the audit incomplete) and streams from the first node that answers.

use std::time::{Duration, Instant};

use caseledger_client::audit::{self, write_export, Verdict};
use caseledger_client::http::Client;
use caseledger_node::store::{be_u64, merkle_key, meta_key, Cf, Store};
use caseledger_tests::cluster::{Cluster, EPOCH};
use caseledger_tests::eventually;
use caseledger_tests::load::{flows, run_flows};
use proto_types::encoding::encode;
use proto_types::merkle::{append_leaf, MemStore};
use proto_types::{apply, Entry, MemState, Outcome, Proposal, SignatureCheck};

/// What a tamper does to the stopped node's store; returns the index it should be caught at.
type Tamper = fn(&Store) -> u64;

fn flip_a_byte_of_entry_5(store: &Store) -> u64 {
    let mut bytes = store
        .get(Cf::Ledger, &be_u64(5))
        .expect("read")
        .expect("entry 5");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    store
        .tamper_for_test(Cf::Ledger, &be_u64(5), &bytes)
        .expect("tamper");
    5
}

fn change_a_merkle_leaf(store: &Store) -> u64 {
    store
        .tamper_for_test(Cf::Merkle, &merkle_key(0, 7), &[0xab; 32])
        .expect("tamper");
    7
}

fn change_an_index_row(store: &Store) -> u64 {
    let bytes = store
        .get(Cf::Ledger, &be_u64(9))
        .expect("read")
        .expect("entry 9");
    let entry = Entry::from_bytes(&bytes).expect("entry");
    let id = &entry.body.record.submission().payload.id;
    let key = caseledger_node::ledger::submission_key_for_test(id);
    let mut rec: proto_types::apply::SubmissionRecord = proto_types::encoding::decode(
        &store
            .get(Cf::ByHandoffId, &key)
            .expect("read")
            .expect("row"),
    )
    .expect("record");
    rec.index = 3;
    store
        .tamper_for_test(Cf::ByHandoffId, &key, &encode(&rec))
        .expect("tamper");
    9
}

fn delete_entry_4(store: &Store) -> u64 {
    store
        .delete_for_test(Cf::Ledger, &be_u64(4))
        .expect("delete");
    4
}

fn swap_entries_2_and_3(store: &Store) -> u64 {
    let a = store
        .get(Cf::Ledger, &be_u64(2))
        .expect("read")
        .expect("entry 2");
    let b = store
        .get(Cf::Ledger, &be_u64(3))
        .expect("read")
        .expect("entry 3");
    store
        .tamper_for_test(Cf::Ledger, &be_u64(2), &b)
        .expect("tamper");
    store
        .tamper_for_test(Cf::Ledger, &be_u64(3), &a)
        .expect("tamper");
    2
}

/// Rewrites every entry from 1 on with a later time and valid-looking new hashes and links,
/// and the whole Merkle tree and head to match: internally consistent, so only the cosigned
/// checkpoints and the other nodes' heads can tell.
fn rewrite_the_suffix(store: &Store) -> u64 {
    let size = {
        let mut n = 0;
        while store.get(Cf::Ledger, &be_u64(n)).expect("read").is_some() {
            n += 1;
        }
        n
    };
    let mut tree = MemStore::new();
    let mut prev = proto_types::EntryHash::ZERO;
    let mut head = proto_types::ChainHead::EMPTY;
    for i in 0..size {
        let bytes = store
            .get(Cf::Ledger, &be_u64(i))
            .expect("read")
            .expect("entry");
        let mut body = Entry::from_bytes(&bytes).expect("entry").body;
        if i >= 1 {
            body.accepted_at =
                proto_types::Timestamp::from_millis(body.accepted_at.as_millis() + 1);
        }
        body.prev = prev;
        let e = body.seal();
        let writes = append_leaf(&tree, i, &e.body.leaf_bytes()).expect("append");
        for (level, index, hash) in &writes {
            store
                .tamper_for_test(Cf::Merkle, &merkle_key(*level, *index), hash.as_bytes())
                .expect("tamper");
        }
        tree.apply(writes);
        store
            .tamper_for_test(Cf::Ledger, &be_u64(i), &e.to_bytes())
            .expect("tamper");
        prev = e.hash;
        head = proto_types::ChainHead {
            size: i + 1,
            hash: e.hash,
            time: e.body.accepted_at,
        };
    }
    store
        .tamper_for_test(Cf::SmMeta, meta_key::HEAD_HASH, &encode(&head))
        .expect("tamper");
    0
}

async fn audit_of(addrs: Vec<String>) -> Verdict {
    audit::audit_nodes(
        &Client::new(addrs).with_credentials(caseledger_tests::cluster::auditor()),
        None,
        |_, _| {},
    )
    .await
    .0
    .verdict
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_tampering_is_named_by_the_node_and_the_audit() {
    let mut cluster = Cluster::start_with(3, 3, |c| {
        c.checkpoint.every_entries = 20;
        c.checkpoint.every = Duration::ZERO;
    })
    .await;
    let client = cluster.client();
    let run = run_flows(&client, flows(&cluster.province, 3, 12, EPOCH), 4, 1, None).await;
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    // A cosigned checkpoint is committed, signed by a majority, and served.
    let cp = eventually("a cosigned checkpoint", Duration::from_secs(30), || async {
        let v = client
            .get_json_from(0, "/v1/checkpoints/latest")
            .await
            .ok()?;
        (v["tree_size"].as_u64()? >= 20).then_some(v)
    })
    .await;
    assert!(
        cp["signers"].as_array().expect("signers").len() >= 2,
        "{cp}"
    );
    let size = cluster.nodes[0]
        .as_ref()
        .expect("running")
        .ctx
        .ledger
        .head()
        .size;
    cluster.converged(size).await;
    let cases: [(&str, Tamper); 6] = [
        ("one byte of an entry", flip_a_byte_of_entry_5),
        ("one merkle node", change_a_merkle_leaf),
        ("one index row", change_an_index_row),
        ("a deleted entry", delete_entry_4),
        ("two swapped entries", swap_entries_2_and_3),
        ("a rewritten suffix", rewrite_the_suffix),
    ];
    let victim = 2;
    let healthy = vec![cluster.addrs[0].1.clone(), cluster.addrs[1].1.clone()];
    for (what, tamper) in cases {
        let started = Instant::now();
        cluster.stop(victim).await;
        let db = cluster.configs[victim].data_dir.join("db");
        let backup = tempfile::tempdir().expect("temp dir");
        let (expected, saved) = {
            let store = open_when_released(&db).await;
            let saved = snapshot(&store);
            (tamper(&store), saved)
        };
        cluster.restart(victim).await;
        let node = cluster.nodes[victim].as_ref().expect("running");
        let why = eventually(
            "the self-check to find the damage",
            Duration::from_secs(30),
            || async {
                node.ctx
                    .readiness()
                    .err()
                    .map(|e| e.to_string())
                    .filter(|e| e.contains("damaged"))
            },
        )
        .await;
        let damage = node.ctx.selfcheck.damaged_from().expect("damage recorded");
        if what == "a rewritten suffix" {
            // Internally consistent: caught by the cosigned checkpoint's root.
            assert!(damage.what.contains("checkpoint"), "{what}: {why}");
        } else {
            assert_eq!(damage.index, expected, "{what}: {why}");
        }
        let metrics = reqwest::get(format!("http://{}/metrics", cluster.addrs[victim].1))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        assert!(
            metrics.contains("caseledger_selfcheck_failures_total 1"),
            "{what}"
        );
        let verdict = audit_of(vec![cluster.addrs[victim].1.clone()]).await;
        assert!(
            matches!(verdict, Verdict::Broken { .. }),
            "{what}: audit of the damaged node: {verdict:?}"
        );
        if let Verdict::Broken { index, .. } = verdict {
            if what != "a rewritten suffix" {
                assert_eq!(index, expected, "{what}");
            }
        }
        // The audit alone, from the damaged node's raw bytes (no node to trust), also catches it.
        cluster.stop(victim).await;
        {
            let store = open_when_released(&db).await;
            let rows = store.scan_u64(Cf::Ledger, .., usize::MAX).expect("scan");
            let file = backup.path().join("export");
            write_export(
                std::fs::File::create(&file).expect("create"),
                rows.iter().map(|(_, b)| b),
            )
            .expect("export");
            let (report, _) = audit::audit_file(&file, None, |_, _| {});
            // Damage inside the entries is in the exported bytes; a bad Merkle node or index row
            // is the node's own (its self-check names it), so the entries still audit intact.
            let in_the_bytes = !matches!(what, "one merkle node" | "one index row");
            assert_eq!(
                report.verdict.exit_code(),
                u8::from(in_the_bytes),
                "{what}: {:?}",
                report.verdict
            );
            restore(&store, &saved);
        }
        let all = audit_of(healthy.clone()).await;
        assert_eq!(
            all.exit_code(),
            0,
            "{what}: the healthy nodes audit intact: {all:?}"
        );
        cluster.restart(victim).await;
        let node = cluster.nodes[victim].as_ref().expect("running");
        eventually(
            "the restored node to be ready",
            Duration::from_secs(30),
            || async { node.ctx.readiness().ok() },
        )
        .await;
        eprintln!("{what}: caught in {:?}", started.elapsed());
    }
    cluster.shutdown().await;
}

/// Opens a stopped node's store once its last background task has let go of the lock.
async fn open_when_released(db: &std::path::Path) -> Store {
    eventually(
        "the stopped node to release its store",
        Duration::from_secs(20),
        || async { Store::open(db).ok() },
    )
    .await
}

/// Every key and value of the column families a tamper touches.
fn snapshot(store: &Store) -> Vec<(Cf, Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    for cf in [Cf::Ledger, Cf::Merkle, Cf::ByHandoffId, Cf::SmMeta] {
        for (k, v) in store.scan(cf, &[], None, usize::MAX).expect("scan") {
            out.push((cf, k, v));
        }
    }
    out
}

fn restore(store: &Store, saved: &[(Cf, Vec<u8>, Vec<u8>)]) {
    for (cf, k, v) in saved {
        store.tamper_for_test(*cf, k, v).expect("restore");
    }
}

#[test]
fn an_audit_of_a_hundred_thousand_entries_passes_and_a_saved_checkpoint_is_extended() {
    let province =
        caseledger_lab::pilot::Province::new(caseledger_tests::cluster::SEED, 1, 3, EPOCH);
    let mut state = MemState::new();
    let mut entries: Vec<Vec<u8>> = Vec::with_capacity(100_000);
    let push = |state: &mut MemState, sub: proto_types::Submission, entries: &mut Vec<Vec<u8>>| {
        let at =
            proto_types::Timestamp::from_millis(EPOCH.as_millis() + entries.len() as u64 * 1000);
        if let Ok(Outcome::Appended(a)) = apply(
            &*state,
            &Proposal {
                submission: sub,
                stamped_at: at,
            },
            SignatureCheck::Verify,
        ) {
            entries.push(a.entry.to_bytes());
            state.commit(&a);
        }
    };
    push(&mut state, province.genesis(EPOCH), &mut entries);
    let mut n = 0;
    while entries.len() < 100_000 {
        for step in caseledger_lab::flows::case_flow(&province, 11, n, EPOCH).1 {
            push(&mut state, step.submission, &mut entries);
        }
        n += 1;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let half = dir.path().join("half");
    let file = dir.path().join("export");
    write_export(
        std::fs::File::create(&half).expect("create"),
        &entries[..50_000],
    )
    .expect("export");
    write_export(std::fs::File::create(&file).expect("create"), &entries).expect("export");
    let started = Instant::now();
    let (first, _) = audit::audit_file(&half, None, |_, _| {});
    assert_eq!(first.verdict.exit_code(), 0, "{:?}", first.verdict);
    let (report, _) = audit::audit_file(&file, first.checkpoint.clone(), |_, _| {});
    eprintln!(
        "audited {} entries in {:?} on {} threads",
        report.entries,
        started.elapsed(),
        report.threads
    );
    assert_eq!(report.verdict.exit_code(), 0, "{:?}", report.verdict);
    assert!(report.entries >= 100_000);
    assert_eq!(report.extends_saved_checkpoint, Some(true));
    // The longer ledger's audit does not extend a checkpoint of another history.
    let mut forged = first.checkpoint.expect("saved");
    forged.root = "00".repeat(32);
    let (bad, _) = audit::audit_file(&file, Some(forged), |_, _| {});
    assert!(
        matches!(bad.verdict, Verdict::Broken { index: 49_999, .. }),
        "{:?}",
        bad.verdict
    );
}

/// A node that lies about being ahead: `GET /v1/head` claims `size` entries with a made-up
/// root; `GET /v1/proofs/consistency` serves a forged proof (hashes that lead nowhere, with the
/// audited root as `first_root`, which is all the audit used to compare) or, if `refuse`,
/// answers 404. Its address; it serves until the test ends.
async fn lying_node(size: u64, audited_root: String, refuse: bool) -> String {
    use axum::extract::Query;
    use axum::routing::get;
    use axum::Json;
    use std::collections::HashMap;
    let fake_root = "ab".repeat(32);
    let head = serde_json::json!({
        "size": size, "head_hash": "cd".repeat(32), "root": fake_root,
        "time_ms": EPOCH.as_millis(), "node_id": 9,
    });
    let proof = move |Query(q): Query<HashMap<String, String>>| {
        let audited_root = audited_root.clone();
        async move { forged_or_refused(refuse, &q, audited_root) }
    };
    let app = axum::Router::new()
        .route(
            "/v1/head",
            get(move || {
                let head = head.clone();
                async move { Json(head) }
            }),
        )
        .route("/v1/proofs/consistency", get(proof))
        // Like a node, it names itself in every answer (signed requests are addressed to it).
        .route("/healthz", get(|| async { "ok\n" }))
        .layer(axum::middleware::map_response(
            |mut r: axum::response::Response| async move {
                r.headers_mut().insert(
                    "x-caseledger-node",
                    axum::http::HeaderValue::from_static("9"),
                );
                r
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// The lying node's answer to a consistency-proof request.
fn forged_or_refused(
    refuse: bool,
    q: &std::collections::HashMap<String, String>,
    audited_root: String,
) -> (axum::http::StatusCode, axum::Json<serde_json::Value>) {
    use axum::Json;
    {
        if refuse {
            return (
                axum::http::StatusCode::NOT_FOUND,
                Json(serde_json::json!({"code": "NOT_FOUND", "message": "no such route"})),
            );
        }
        let num = |k: &str| q.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        (
            axum::http::StatusCode::OK,
            Json(serde_json::json!({
                "first": num("first"), "second": num("second"),
                "first_root": audited_root, "second_root": "ab".repeat(32),
                "proof": vec!["ef".repeat(32); 3],
            })),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_proves_every_node_ahead_and_streams_from_the_first_that_answers() {
    let mut cluster = Cluster::start(3).await;
    let client = cluster.client();
    let run = run_flows(&client, flows(&cluster.province, 5, 4, EPOCH), 4, 5, None).await;
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    let size = run.acked.iter().map(|a| a.index).max().expect("acked") + 1;
    let head = cluster.converged(size).await;
    let nodes = |addrs: &[&str]| {
        Client::new(addrs.iter().map(|a| a.to_string()))
            .with_credentials(caseledger_tests::cluster::auditor())
    };
    let (first, second) = (cluster.addrs[0].1.clone(), cluster.addrs[1].1.clone());
    let (report, _) = audit::audit_nodes(&nodes(&[&first, &second]), None, |_, _| {}).await;
    let Verdict::Intact { root, .. } = &report.verdict else {
        panic!("the cluster audits intact: {:?}", report.verdict);
    };
    assert_eq!(report.streamed_from, Some(format!("http://{first}")));

    // A node ahead serving a forged consistency proof is named, and the ledger is broken for it.
    let forger = lying_node(head.size + 5, root.clone(), false).await;
    let (report, _) = audit::audit_nodes(&nodes(&[&first, &forger]), None, |_, _| {}).await;
    match &report.verdict {
        Verdict::Broken { reason, .. } => assert!(
            reason.contains(&forger) && reason.contains("does not extend"),
            "{reason}"
        ),
        other => panic!("a forged consistency proof: {other:?}"),
    }
    assert_eq!(report.verdict.exit_code(), 1);

    // A node ahead that cannot serve a proof leaves the audit incomplete, naming it.
    let refuser = lying_node(head.size + 5, root.clone(), true).await;
    let (report, _) =
        audit::audit_nodes(&nodes(&[&first, &refuser, &second]), None, |_, _| {}).await;
    match &report.verdict {
        Verdict::Incomplete { reason } => assert!(
            reason.contains(&refuser)
                && reason.contains("does not prove")
                && !reason.contains(&second),
            "{reason}"
        ),
        other => panic!("a node that cannot prove it is ahead: {other:?}"),
    }
    assert_eq!(report.verdict.exit_code(), 2);

    // With the first node down the audit streams from the next one, says so, and names the
    // node it could not compare.
    cluster.stop(0).await;
    let third = cluster.addrs[2].1.clone();
    let (report, _) = audit::audit_nodes(&nodes(&[&first, &second, &third]), None, |_, _| {}).await;
    assert_eq!(report.verdict.exit_code(), 0, "{:?}", report.verdict);
    assert!(report.entries >= head.size);
    assert_eq!(report.streamed_from, Some(format!("http://{second}")));
    assert_eq!(
        report.nodes_compared,
        [format!("http://{second}"), format!("http://{third}")]
    );
    assert_eq!(report.nodes_unreachable.len(), 1);
    assert!(
        report.nodes_unreachable[0].contains(&first),
        "{:?}",
        report.nodes_unreachable
    );
    cluster.shutdown().await;
}
