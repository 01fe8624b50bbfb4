//! Batch submission (`POST /v1/entries/batch`, docs/FORMAT.md §Batch) on a real cluster over
//! HTTP, through the client library: each submission of a batch is answered as the single
//! route would answer it, only the valid and the rejected ones are written, one tree head
//! covers them and every inclusion path verifies against it; a resent batch answers the first
//! indexes; a follower forwards a batch as it came; JSON and canonical framing answer alike;
//! the rate is charged once per submission; the batch's own limits.

use caseledger_client::http::{Client, ClientError};
use caseledger_client::trust::verify_receipt_set;
use caseledger_lab::flows::case_flow;
use caseledger_tests::cluster::{Cluster, EPOCH};
use proto_types::framing::frame;
use proto_types::ids::HandoffId;
use proto_types::wire::{BatchOutcome, ErrorCode, ReceiptSet};
use proto_types::{Action, Submission};

#[path = "../../proto-types/tests/common/exceed.rs"]
mod exceed;
use exceed::exceed;

/// A client of the one node at position `pos`.
fn client_of(cluster: &Cluster, pos: usize) -> Client {
    Client::new([cluster.addrs[pos].1.clone()])
}

/// POSTs a raw body to a node's batch route: the status and the body.
async fn post_raw(
    cluster: &Cluster,
    pos: usize,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .post(format!("http://{}/v1/entries/batch", cluster.addrs[pos].1))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("the node answers");
    let status = r.status().as_u16();
    let body = r.json().await.expect("a JSON answer");
    (status, body)
}

fn outcomes(set: &ReceiptSet) -> Vec<(BatchOutcome, Option<String>)> {
    set.results
        .iter()
        .map(|r| (r.outcome, r.code.as_ref().map(ToString::to_string)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mixed_batch_answers_each_submission_alone_and_writes_only_the_valid_and_the_rejected() {
    let cluster = Cluster::start(3).await;
    let leader = cluster.leader().await;
    let follower = (leader + 1) % 3;
    let steps = case_flow(&cluster.province, 41, 0, EPOCH).1;
    let first = client_of(&cluster, leader)
        .submit(&steps[0].submission)
        .await
        .expect("the filing is submitted");
    let caseledger_client::http::SubmitOutcome::Committed { index: filed, .. } = first else {
        panic!("the filing commits: {first:?}")
    };

    let mut forged = steps[2].submission.clone();
    forged.signature = cluster
        .resign(&forged, |p| p.claimed_at = p.claimed_at.plus_millis(1))
        .signature;
    let refiled = cluster.resign(&steps[0].submission, |p| {
        p.id = HandoffId::new("batch-refiling-1").expect("id")
    });
    let handoff = steps
        .iter()
        .find(|s| matches!(s.submission.payload.action, Action::Handoff(_)))
        .expect("a flow sends a handoff");
    let limits = cluster
        .ctx(leader)
        .ledger
        .registry()
        .expect("genesis")
        .policy
        .limits
        .clone();
    let long = cluster.resign(&handoff.submission, |p| {
        p.id = HandoffId::new("batch-long-note").expect("id");
        exceed(&mut p.action, "note", &limits);
    });
    let batch = vec![
        steps[0].submission.clone(),
        steps[1].submission.clone(),
        forged,
        refiled,
        long,
    ];
    let before = cluster.ctx(leader).ledger.head().size;
    let set = client_of(&cluster, leader)
        .submit_batch(&batch)
        .await
        .expect("the batch is processed");
    let got = outcomes(&set);
    assert_eq!(got[0], (BatchOutcome::Duplicate, None), "{set:?}");
    assert_eq!(got[1], (BatchOutcome::Appended, None), "{set:?}");
    assert_eq!(
        got[2],
        (BatchOutcome::Refused, Some("AUTHENTICATION_FAILED".into()))
    );
    assert_eq!(got[3].0, BatchOutcome::Rejected, "{set:?}");
    assert!(
        matches!(set.results[3].code, Some(ErrorCode::Rejected(_))),
        "{set:?}"
    );
    assert_eq!(got[4], (BatchOutcome::Refused, Some("TOO_LARGE".into())));
    assert!(set.results[4]
        .message
        .as_deref()
        .is_some_and(|m| m.starts_with("LIMIT_EXCEEDED")));
    assert_eq!(set.results[0].index, Some(filed));
    assert_eq!(set.results[1].index, Some(before));
    assert_eq!(set.results[3].index, Some(before + 1));
    assert!(set.results[2].index.is_none() && set.results[4].index.is_none());
    let after = cluster.ctx(leader).ledger.head().size;
    assert_eq!(
        after,
        before + 2,
        "exactly the valid and the rejected are written"
    );

    // One tree head for the batch, covering every index; every item's path verifies.
    assert!(set.tree_size >= before + 2);
    let keys = cluster.node_keys();
    let verified = verify_receipt_set(&set, &keys);
    for (i, v) in verified.iter().enumerate() {
        match v {
            Ok(Some(r)) => assert_eq!(Some(r.index), set.results[i].index),
            Ok(None) => assert_eq!(set.results[i].outcome, BatchOutcome::Refused),
            Err(e) => panic!("item {i} does not verify: {e}"),
        }
    }
    // A changed path fails.
    let mut bent = set.clone();
    if let Some(path) = bent.results[1].inclusion.as_mut() {
        path[0] = "00".repeat(32);
    }
    assert!(verify_receipt_set(&bent, &keys)[1].is_err());

    // The same batch again, through a follower (forwarded as it came): duplicates with the
    // first indexes, the same refusals, nothing written.
    let again = client_of(&cluster, follower)
        .submit_batch(&batch)
        .await
        .expect("the batch is processed");
    let expect_again = vec![
        (BatchOutcome::Duplicate, None),
        (BatchOutcome::Duplicate, None),
        got[2].clone(),
        (BatchOutcome::Duplicate, got[3].1.clone()),
        got[4].clone(),
    ];
    assert_eq!(outcomes(&again), expect_again, "{again:?}");
    let indexes = |s: &ReceiptSet| s.results.iter().map(|r| r.index).collect::<Vec<_>>();
    assert_eq!(indexes(&again), indexes(&set));
    assert!(verify_receipt_set(&again, &keys).iter().all(Result::is_ok));
    assert_eq!(cluster.ctx(leader).ledger.head().size, after);

    // JSON and canonical framing answer alike.
    let framed = frame(
        &batch
            .iter()
            .map(proto_types::encoding::encode)
            .collect::<Vec<_>>(),
    );
    let (s1, canonical) = post_raw(&cluster, leader, proto_types::wire::CANONICAL, framed).await;
    let (s2, json) = post_raw(
        &cluster,
        leader,
        "application/json",
        serde_json::to_vec(&batch).expect("json"),
    )
    .await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(canonical["results"], json["results"]);
    let canonical: ReceiptSet = serde_json::from_value(canonical).expect("a receipt set");
    assert_eq!(outcomes(&canonical), expect_again);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_is_charged_once_per_submission_and_the_excess_is_refused_rate_limited() {
    let cluster = Cluster::start_with(1, 1, |c| {
        c.limits.rate_per_org = 1;
        c.limits.rate_burst = 3;
    })
    .await;
    let p = &cluster.province;
    let filings: Vec<Submission> = (0..5)
        .map(|k| case_flow(p, 43, k, EPOCH).1[0].submission.clone())
        .collect();
    let org = filings[0].payload.signer_org().cloned();
    assert!(filings
        .iter()
        .all(|s| s.payload.signer_org().cloned() == org));
    let set = client_of(&cluster, 0)
        .submit_batch(&filings)
        .await
        .expect("the batch is processed");
    let got = outcomes(&set);
    let appended = got.iter().filter(|o| o.0 == BatchOutcome::Appended).count();
    let limited = got
        .iter()
        .filter(|o| *o == &(BatchOutcome::Refused, Some("RATE_LIMITED".into())))
        .count();
    // The burst of 3 (maybe one more token refilled meanwhile), the rest refused.
    assert!((3..=4).contains(&appended), "{got:?}");
    assert_eq!(appended + limited, 5, "{got:?}");
    assert_eq!(got[0].0, BatchOutcome::Appended);
    assert_eq!(got[4], (BatchOutcome::Refused, Some("RATE_LIMITED".into())));
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_empty_a_malformed_and_an_oversized_batch_are_refused_whole() {
    let cluster = Cluster::start_with(1, 1, |c| c.limits.max_batch_submissions = 3).await;
    let steps = case_flow(&cluster.province, 47, 0, EPOCH).1;
    let subs: Vec<Submission> = steps.iter().take(4).map(|s| s.submission.clone()).collect();
    let head = cluster.ctx(0).ledger.head();
    let canonical = proto_types::wire::CANONICAL;

    let (status, body) = post_raw(&cluster, 0, canonical, Vec::new()).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("MALFORMED")));
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("position 0")),
        "{body}"
    );
    let (status, body) = post_raw(&cluster, 0, "application/json", b"[]".to_vec()).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("MALFORMED")));

    let mut truncated = frame(&[proto_types::encoding::encode(&subs[0])]);
    truncated.pop();
    let (status, body) = post_raw(&cluster, 0, canonical, truncated).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("MALFORMED")),
        "{body}"
    );

    let garbled = frame(&[proto_types::encoding::encode(&subs[0]), b"junk".to_vec()]);
    let (status, body) = post_raw(&cluster, 0, canonical, garbled).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("MALFORMED")));
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("position 1")),
        "{body}"
    );

    match client_of(&cluster, 0).submit_batch(&subs).await {
        Err(ClientError::Refused { status, error, .. }) => {
            assert_eq!((status, error.code), (413, ErrorCode::TooLarge));
        }
        other => panic!("4 submissions over a limit of 3: {other:?}"),
    }
    assert_eq!(cluster.ctx(0).ledger.head(), head, "nothing written");
    // A batch of one is a batch.
    let set = client_of(&cluster, 0)
        .submit_batch(&subs[..1])
        .await
        .expect("processed");
    assert_eq!(outcomes(&set), vec![(BatchOutcome::Appended, None)]);
    cluster.shutdown().await;
}
