//! In-process API tests: the router of a real single-node cluster, called with `oneshot`.
//! Every endpoint and every error code; after each refusal the head is unchanged, and a
//! validly signed illegal step adds exactly its rejection entry. Requests are signed with
//! node 1's key, which reads everything (tests/tests/auth.rs checks the roles).

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use caseledger_lab::flows::case_flow;
use caseledger_node::ledger::ApplyResult;
use caseledger_node::server::Node;
use caseledger_tests::cluster::{operator, Cluster, EPOCH};
use proto_types::domain::DocumentType;
use proto_types::ids::HandoffId;
use proto_types::payload::{
    Approval, CaseClosure, ClockAction, ClockAdjustment, ClockRef, KeyLifecycle, KeyOp,
    ReturnForCompletion,
};
use proto_types::{Action, Payload, Proposal, Rule, Submission};
use serde_json::Value;
use tower::ServiceExt;

// The same over-limit payloads as the core's test of the limit check.
#[path = "../../proto-types/tests/common/exceed.rs"]
mod exceed;
use exceed::exceed;

struct Answer {
    status: StatusCode,
    applied: Option<u64>,
    content_type: String,
    bytes: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.bytes)))
    }
    fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }
}

async fn call(node: &Node, method: &str, uri: &str, content_type: &str, body: Vec<u8>) -> Answer {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, content_type);
    for (name, value) in operator().headers(node.ctx.id, method, uri, &body) {
        req = req.header(name, value);
    }
    let req = req.body(Body::from(body)).expect("request");
    let resp = caseledger_node::api::router(node.ctx.clone())
        .oneshot(req)
        .await
        .expect("router answers");
    let status = resp.status();
    let applied = resp
        .headers()
        .get(caseledger_node::api::APPLIED_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body")
        .to_vec();
    Answer {
        status,
        applied,
        content_type,
        bytes,
    }
}

async fn get(node: &Node, uri: &str) -> Answer {
    call(node, "GET", uri, "application/json", Vec::new()).await
}

async fn post(node: &Node, sub: &Submission) -> Answer {
    call(
        node,
        "POST",
        "/v1/entries",
        "application/json",
        serde_json::to_vec(sub).expect("json"),
    )
    .await
}

fn node(cluster: &Cluster) -> &Node {
    cluster.nodes[0].as_ref().expect("node 1 runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn committed_submissions_get_receipts_that_verify_and_a_resubmission_gets_the_same_entry() {
    let cluster = Cluster::start(1).await;
    let n = node(&cluster);
    let steps = case_flow(&cluster.province, 11, 0, EPOCH).1;
    let mut receipts = Vec::new();
    for step in steps.iter().take(4) {
        let a = post(n, &step.submission).await;
        assert_eq!(
            a.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&a.bytes)
        );
        receipts.push(a.json());
    }
    let keys = cluster.node_keys();
    for r in &receipts {
        let text = r["proof"].as_str().expect("a tlog-proof text");
        let parsed = proto_types::receipt::Receipt::parse(text).expect("the receipt parses");
        let bytes = hex::decode(r["entry_hex"].as_str().expect("entry hex")).expect("hex");
        assert_eq!(proto_types::receipt::verify(&parsed, &bytes, &keys), Ok(()));
        assert_eq!(parsed.index, r["index"].as_u64().expect("index"));
        assert!(parsed.note.checkpoint().origin().starts_with("caseledger/"));
    }
    let again = post(n, &steps[0].submission).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["index"], receipts[0]["index"]);
    assert_eq!(again.json()["entry_hash"], receipts[0]["entry_hash"]);
    assert_eq!(again.json()["duplicate"], Value::Bool(true));
    // One signature per applied batch: never more than one per request.
    assert!(n.ctx.tree_heads.signed_count() <= 5);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_read_endpoint_answers_with_the_applied_size() {
    let cluster = Cluster::start(1).await;
    let n = node(&cluster);
    let steps = case_flow(&cluster.province, 12, 0, EPOCH).1;
    for step in steps.iter().take(5) {
        assert_eq!(post(n, &step.submission).await.status, StatusCode::CREATED);
    }
    let size = n.ctx.ledger.head().size;
    let case_id = steps[0]
        .submission
        .payload
        .case_id()
        .expect("a filing names its case")
        .as_str()
        .to_owned();
    let case = get(n, &format!("/v1/cases/{case_id}")).await;
    assert_eq!(case.status, StatusCode::OK);
    assert_eq!(case.applied, Some(size));
    let c = case.json();
    assert_eq!(c["case"]["case_id"], Value::String(case_id.clone()));
    assert!(c["stage"].is_string() && c["holder"].is_string());
    assert_eq!(c["timeline"].as_array().expect("timeline").len(), 5);
    assert!(c["handoffs"]
        .as_array()
        .expect("handoffs")
        .iter()
        .all(|h| h["closed"].is_boolean() && h.get("due_at").is_some()));
    assert_eq!(
        get(n, "/v1/cases/NO-SUCH-CASE").await.status,
        StatusCode::NOT_FOUND
    );

    let orgs = get(n, "/v1/organisations").await.json();
    let first = orgs["organisations"][0]["id"]
        .as_str()
        .expect("an organisation")
        .to_owned();
    assert!(orgs["organisations"][0]["keys"]
        .as_array()
        .is_some_and(|k| !k.is_empty()));
    assert_eq!(
        get(n, &format!("/v1/organisations/{first}")).await.json()["id"],
        Value::String(first)
    );
    assert_eq!(get(n, "/v1/organisations/NOBODY").await.code(), "NOT_FOUND");

    let inc = get(n, &format!("/v1/proofs/inclusion?index=2&tree_size={size}")).await;
    assert_eq!(inc.status, StatusCode::OK);
    let head = get(n, "/v1/head").await.json();
    assert_eq!(inc.json()["root"], head["root"]);
    assert_eq!(
        get(n, &format!("/v1/proofs/inclusion?index={size}"))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let cons = get(n, &format!("/v1/proofs/consistency?first=2&second={size}"))
        .await
        .json();
    assert_eq!(cons["second_root"], head["root"]);
    assert!(!cons["proof"].as_array().expect("proof").is_empty());

    let overdue = get(
        n,
        &format!(
            "/v1/supervision/overdue?now={}",
            EPOCH.as_millis() + 400 * 86_400_000
        ),
    )
    .await;
    assert_eq!(overdue.status, StatusCode::OK);
    assert!(overdue.json()["cases_examined"].as_u64() >= Some(1));
    assert_eq!(
        get(n, "/v1/supervision/rejections").await.json()["rejections"],
        Value::Array(vec![])
    );
    let stats = get(n, "/v1/stats").await.json();
    assert_eq!(stats["summary"]["cases"], Value::from(1));

    let page = get(n, "/v1/entries?from=1&limit=2").await.json();
    assert_eq!(page["entries"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        get(n, "/v1/entries/0").await.json()["index"],
        Value::from(0)
    );
    let mut raw = Request::builder()
        .uri("/v1/entries?from=0&limit=3")
        .header(header::ACCEPT, caseledger_node::api::CANONICAL);
    for (name, value) in operator().headers(n.ctx.id, "GET", "/v1/entries?from=0&limit=3", b"") {
        raw = raw.header(name, value);
    }
    let raw = raw.body(Body::empty()).expect("request");
    let raw = caseledger_node::api::router(n.ctx.clone())
        .oneshot(raw)
        .await
        .expect("answer");
    assert_eq!(
        raw.headers()[header::CONTENT_TYPE],
        caseledger_node::api::CANONICAL
    );
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/head?consistent=true",
        "/v1/read-index",
        "/admin/status",
    ] {
        let a = get(n, path).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        assert_eq!(a.applied, Some(size), "{path}");
    }
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refusals_leave_the_head_unchanged_and_a_broken_rule_adds_only_its_rejection_entry() {
    let cluster = Cluster::start(1).await;
    let n = node(&cluster);
    let steps = case_flow(&cluster.province, 13, 0, EPOCH).1;
    for step in steps.iter().take(3) {
        assert_eq!(post(n, &step.submission).await.status, StatusCode::CREATED);
    }
    let head = n.ctx.ledger.head();

    let a = call(
        n,
        "POST",
        "/v1/entries",
        "application/json",
        b"{not json".to_vec(),
    )
    .await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::BAD_REQUEST, "MALFORMED")
    );

    let mut forged = steps[3].submission.clone();
    let other = cluster.resign(&forged, |p| p.claimed_at = p.claimed_at.plus_millis(1));
    forged.signature = other.signature;
    let a = post(n, &forged).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::UNAUTHORIZED, "AUTHENTICATION_FAILED")
    );

    let reused = cluster.resign(&steps[0].submission, |p| {
        p.claimed_at = p.claimed_at.plus_millis(1)
    });
    let a = post(n, &reused).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::CONFLICT, "ID_REUSED")
    );

    let handoff = steps
        .iter()
        .find(|s| matches!(s.submission.payload.action, Action::Handoff(_)))
        .expect("a flow sends a handoff");
    let max = n
        .ctx
        .ledger
        .registry()
        .expect("genesis")
        .policy
        .limits
        .max_note_bytes as usize;
    let long = cluster.resign(&handoff.submission, |p| {
        if let Action::Handoff(h) = &mut p.action {
            h.note = "x".repeat(max + 1);
        }
    });
    let a = post(n, &long).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "TOO_LARGE")
    );

    let huge = vec![b' '; n.ctx.limits.max_body_bytes + 1];
    let a = call(n, "POST", "/v1/entries", "application/json", huge).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "TOO_LARGE")
    );
    assert!(a.content_type.starts_with("application/json"));

    let a = get(n, "/v1/no-such-route").await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::NOT_FOUND, "NOT_FOUND")
    );
    let a = get(n, "/v1/entries?limit=100000").await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::BAD_REQUEST, "PAGE_TOO_LARGE")
    );
    assert_eq!(n.ctx.ledger.head(), head, "no refusal may write");

    // A second filing of the same case under a new id: validly signed, breaks a rule.
    let refiled = cluster.resign(&steps[0].submission, |p| {
        p.id = HandoffId::new("refiling-1").expect("id")
    });
    let a = post(n, &refiled).await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    let body = a.json();
    assert_ne!(body["code"], Value::from("ID_REUSED"));
    assert_eq!(body["index"], Value::from(head.size));
    assert_eq!(
        n.ctx.ledger.head().size,
        head.size + 1,
        "exactly the rejection entry"
    );
    let rejections = get(n, "/v1/supervision/rejections").await.json();
    assert_eq!(rejections["rejections"][0]["index"], Value::from(head.size));
    assert_eq!(rejections["rejections"][0]["rule"], body["code"]);

    // The 409 carries the rejection entry's receipt, as an accepted step's answer does: it
    // verifies against the node keys and proves a `Rejected` record of that rule.
    let receipt = &body["receipt"];
    assert_eq!(receipt["index"], Value::from(head.size), "{body}");
    assert_eq!(receipt["duplicate"], Value::from(false));
    let text = receipt["proof"].as_str().expect("a tlog-proof text");
    let parsed = proto_types::receipt::Receipt::parse(text).expect("the receipt parses");
    let bytes = hex::decode(receipt["entry_hex"].as_str().expect("entry hex")).expect("hex");
    assert_eq!(
        proto_types::receipt::verify(&parsed, &bytes, &cluster.node_keys()),
        Ok(())
    );
    assert_eq!(parsed.note.checkpoint().tree_size(), head.size + 1);
    let entry = proto_types::Entry::from_bytes(&bytes).expect("the entry decodes");
    assert!(
        matches!(&entry.body.record, proto_types::Record::Rejected(r)
            if body["code"] == r.rule.code().as_str() && r.submission == refiled),
        "{:?}",
        entry.body.record
    );
    cluster.shutdown().await;
}

/// Every policy limit the core enforces (`proto_types::precheck::limits`) is refused at ingress
/// with 413 `TOO_LARGE`, nothing written, and a message naming the rule and the detail that
/// apply records for the same submission when it reaches the ledger past ingress.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_policy_limit_is_refused_at_ingress_with_413_and_the_detail_apply_would_record() {
    let cluster = Cluster::start(1).await;
    let n = node(&cluster);
    let steps = case_flow(&cluster.province, 13, 0, EPOCH).1;
    let filing = &steps[0].submission;
    assert!(matches!(filing.payload.action, Action::CaseFiling(_)));
    assert_eq!(post(n, filing).await.status, StatusCode::CREATED);
    let handoff = steps
        .iter()
        .map(|s| &s.submission)
        .find(|s| matches!(&s.payload.action, Action::Handoff(h) if !h.documents.is_empty()))
        .expect("a flow sends a handoff with documents");
    let case_id = filing
        .payload
        .case_id()
        .expect("a filing names its case")
        .clone();
    let answered = HandoffId::new("H-answered").expect("id");
    let closure = Action::CaseClosure(CaseClosure {
        case_id: case_id.clone(),
        reason: "结案".into(),
    });
    let ret = Action::ReturnForCompletion(ReturnForCompletion {
        handoff: answered.clone(),
        reason: "材料不全".into(),
        missing: vec![DocumentType::Evidence],
    });
    let pause = Action::ClockAdjustment(ClockAdjustment {
        case_id,
        clock: ClockRef::Handoff(answered),
        action: ClockAction::Pause {
            reason: "鉴定".into(),
        },
    });
    let limits = n
        .ctx
        .ledger
        .registry()
        .expect("genesis")
        .policy
        .limits
        .clone();
    let cases = [
        (filing, None, "note"),
        (filing, None, "persons"),
        (handoff, None, "note"),
        (handoff, None, "persons"),
        (handoff, None, "documents"),
        (handoff, None, "document number"),
        (filing, Some(&ret), "reason"),
        (filing, Some(&ret), "missing documents"),
        (filing, Some(&closure), "reason"),
        (filing, Some(&pause), "reason"),
    ];
    for (i, (template, action, field)) in cases.into_iter().enumerate() {
        let over = cluster.resign(template, |p| {
            p.id = HandoffId::new(format!("over-limit-{i}")).expect("id");
            if let Some(a) = action {
                p.action = a.clone();
            }
            exceed(&mut p.action, field, &limits);
        });
        let head = n.ctx.ledger.head();
        let a = post(n, &over).await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, "TOO_LARGE"),
            "{field} of {}: {}",
            over.payload.action.kind_name(),
            String::from_utf8_lossy(&a.bytes)
        );
        assert_eq!(
            n.ctx.ledger.head(),
            head,
            "a refusal at ingress writes nothing"
        );
        // Past ingress, the ledger records the rule and detail the 413 named.
        let proposal = Proposal {
            submission: over.clone(),
            stamped_at: n.ctx.now(),
        };
        let Ok(result) = n
            .ctx
            .submit(
                proposal,
                std::time::Instant::now() + std::time::Duration::from_secs(10),
            )
            .await
        else {
            panic!("the leader applies it");
        };
        let ApplyResult::Appended {
            rejected: Some((rule, detail)),
            ..
        } = result
        else {
            panic!(
                "{field} of {:?}: not a rejection: {result:?}",
                over.payload.action
            );
        };
        assert_eq!(rule, Rule::LimitExceeded, "{detail}");
        assert!(detail.contains(field), "{detail}");
        assert_eq!(
            a.json()["message"],
            Value::from(format!("{}: {detail}", rule.code()))
        );
    }
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn now_takes_milliseconds_or_rfc_3339_and_an_instant_past_year_9999_is_400() {
    let cluster = Cluster::start(1).await;
    let n = node(&cluster);
    for step in case_flow(&cluster.province, 17, 0, EPOCH).1.iter().take(4) {
        assert_eq!(post(n, &step.submission).await.status, StatusCode::CREATED);
    }
    // 2026-09-01T00:00:00Z is 1788220800000 ms; +08:00 names the same instant.
    for path in [
        "/v1/supervision/dashboard",
        "/v1/stats",
        "/v1/supervision/overdue",
    ] {
        let by_ms = get(n, &format!("{path}?now=1788220800000")).await;
        assert_eq!(by_ms.status, StatusCode::OK, "{path}");
        let by_ms = by_ms.json();
        assert_eq!(by_ms["now"], Value::from(1_788_220_800_000u64), "{path}");
        for date in ["2026-09-01T00:00:00Z", "2026-09-01T08:00:00%2B08:00"] {
            let a = get(n, &format!("{path}?now={date}")).await;
            assert_eq!(a.status, StatusCode::OK, "{path}?now={date}");
            assert_eq!(a.json(), by_ms, "{path}?now={date}");
        }
        // The latest instant RFC 3339 writes still answers; past it, and u64::MAX (which
        // overflowed the clock arithmetic), is 400, and so is a text that is no instant.
        for (now, status) in [
            ("9999-12-31T23:59:59.999Z", StatusCode::OK),
            ("253402300799999", StatusCode::OK),
            ("253402300800000", StatusCode::BAD_REQUEST),
            ("18446744073709551615", StatusCode::BAD_REQUEST),
            ("99999999999999999999", StatusCode::BAD_REQUEST),
            ("2026-09-01", StatusCode::BAD_REQUEST),
            ("yesterday", StatusCode::BAD_REQUEST),
        ] {
            let a = get(n, &format!("{path}?now={now}")).await;
            assert_eq!(a.status, status, "{path}?now={now}");
            if status == StatusCode::BAD_REQUEST {
                assert_eq!(a.code(), "MALFORMED", "{path}?now={now}");
            }
        }
    }
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revoked_key_is_refused_with_403_and_nothing_is_written() {
    let cluster = Cluster::start(1).await;
    let n = node(&cluster);
    let p = &cluster.province;
    let steps = case_flow(p, 14, 0, EPOCH).1;
    let filing = &steps[0].submission;
    let org = filing
        .payload
        .signer_org()
        .expect("an organisation files")
        .clone();
    let dept = p.department(&org);
    // The filing is recorded while the key is in force.
    let first = post(n, filing).await;
    assert_eq!(
        first.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&first.bytes)
    );
    let op = KeyOp::RevokeKey {
        org: org.clone(),
        key_id: dept.key_ref().key_id.clone(),
        reason: "lost".into(),
    };
    let approvers = p.policy().approvals.approvers;
    let approvals: Vec<Approval> = approvers
        .iter()
        .take(2)
        .map(|a| {
            let d = p.department(a);
            Approval::sign(d.key_ref(), &d.key, &op)
        })
        .collect();
    let plc = p.department(&p.plc);
    let revoke = Payload {
        signer: plc.signer(),
        id: HandoffId::new("revoke-1").expect("id"),
        claimed_at: filing.payload.claimed_at,
        action: Action::KeyLifecycle(KeyLifecycle { op, approvals }),
    }
    .sign(&plc.key);
    let a = post(n, &revoke).await;
    assert_eq!(
        a.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&a.bytes)
    );
    let org_view = get(n, &format!("/v1/organisations/{}", org.as_str()))
        .await
        .json();
    assert!(org_view["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .any(|k| !k["revoked_at"].is_null()));
    let head = n.ctx.ledger.head();
    // A resubmission of what was recorded answers its first receipt (rule 3), revoked or not.
    let again = post(n, filing).await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&again.bytes)
    );
    assert_eq!(again.json()["index"], first.json()["index"]);
    assert_eq!(again.json()["duplicate"], Value::Bool(true));
    // A new submission signed with the revoked key is refused, and nothing is written.
    let mut payload = filing.payload.clone();
    payload.id = HandoffId::new("after-revocation").expect("id");
    let a = post(n, &payload.clone().sign(&dept.key)).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::FORBIDDEN, "KEY_REVOKED")
    );
    // Only whoever holds the key learns that it is revoked (issue 15): the same submission
    // signed by someone else is answered as for an unknown key.
    let forged = payload.sign(&caseledger_client::keys::derive(9, "forger"));
    let a = post(n, &forged).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::UNAUTHORIZED, "AUTHENTICATION_FAILED")
    );
    assert_eq!(n.ctx.ledger.head(), head);
    cluster.shutdown().await;
}

/// Runs tests/python/validate_openapi.py (`openapi-spec-validator`) on `doc`: its exit code
/// (0 valid, 1 invalid) and its output.
fn validate_openapi(doc: &Value) -> (i32, String) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is a member inside the workspace root");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec(doc).expect("json")).expect("write the document");
    let out = std::process::Command::new("python3")
        .arg(root.join("tests/python/validate_openapi.py"))
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("cannot start python3 ({e}): scripts/prereqs.sh installs it"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let code = out.status.code().unwrap_or(-1);
    assert_ne!(
        code, 2,
        "the validator could not run (scripts/prereqs.sh installs openapi-spec-validator):\n{text}"
    );
    (code, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_openapi_document_is_valid_and_every_path_parameter_has_its_placeholder() {
    let cluster = Cluster::start(1).await;
    let doc = get(node(&cluster), "/v1/openapi.json").await.json();
    cluster.shutdown().await;

    // Every `in: path` parameter names a `{placeholder}` of its path, and every placeholder
    // has one: a query parameter declared in the path makes generated clients build wrong URLs.
    let mut query = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let placeholders: std::collections::BTreeSet<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|p| p.split_once('}').map(|(name, _)| name))
            .collect();
        for (method, op) in item.as_object().expect("path item") {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let in_path: std::collections::BTreeSet<&str> = params
                .iter()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str())
                .collect();
            assert_eq!(in_path, placeholders, "{method} {path}: path parameters");
            for p in params.iter().filter(|p| p["in"] == "query") {
                let name = p["name"].as_str().expect("a name");
                query.insert(format!("{path}?{name} required={}", p["required"] == true));
            }
        }
    }
    for expected in [
        "/v1/proofs/inclusion?index required=true",
        "/v1/proofs/inclusion?tree_size required=false",
        "/v1/proofs/consistency?first required=true",
        "/v1/entries?from required=false",
        "/v1/entries?limit required=false",
        "/v1/supervision/dashboard?now required=false",
        "/v1/stats?now required=false",
    ] {
        assert!(
            query.contains(expected),
            "{expected} is not declared: {query:#?}"
        );
    }

    // The OpenAPI validator accepts it ...
    let (code, out) = validate_openapi(&doc);
    assert_eq!(code, 0, "the OpenAPI document is not valid:\n{out}");
    // ... and would have refused the document that declared query parameters in the path.
    let mut broken = doc.clone();
    for p in broken["paths"]["/v1/proofs/inclusion"]["get"]["parameters"]
        .as_array_mut()
        .expect("parameters")
    {
        p["in"] = Value::from("path");
        p["required"] = Value::from(true);
    }
    let (code, out) = validate_openapi(&broken);
    assert_eq!(
        code, 1,
        "the validator accepted path parameters without placeholders:\n{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_openapi_document_lists_every_served_route_and_every_documented_route_answers() {
    let cluster = Cluster::start(1).await;
    let n = node(&cluster);
    let doc = get(n, "/v1/openapi.json").await.json();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let paths = doc["paths"].as_object().expect("paths");
    let served = [
        ("post", "/v1/entries"),
        ("get", "/v1/entries"),
        ("get", "/v1/entries/{index}"),
        ("get", "/v1/head"),
        ("get", "/v1/cases/{case_id}"),
        ("get", "/v1/organisations"),
        ("get", "/v1/organisations/{id}"),
        ("get", "/v1/proofs/inclusion"),
        ("get", "/v1/proofs/consistency"),
        ("get", "/v1/supervision/overdue"),
        ("get", "/v1/supervision/rejections"),
        ("get", "/v1/stats"),
        ("get", "/v1/read-index"),
        ("get", "/v1/openapi.json"),
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/metrics"),
        ("get", "/admin/status"),
        ("get", "/admin/membership"),
    ];
    for (method, path) in served {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is served but not documented"
        );
    }
    for (path, item) in paths {
        for method in item.as_object().expect("path item").keys() {
            let uri = path
                .replace("{index}", "0")
                .replace("{case_id}", "X")
                .replace("{id}", "X")
                + match path.as_str() {
                    "/v1/proofs/inclusion" => "?index=0",
                    "/v1/proofs/consistency" => "?first=0",
                    _ => "",
                };
            let a = call(
                n,
                &method.to_uppercase(),
                &uri,
                "application/json",
                b"{}".to_vec(),
            )
            .await;
            assert_ne!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            if a.status == StatusCode::NOT_FOUND {
                // A handler's own 404 (no such case, no checkpoint yet) is an answer; the
                // fallback's "no route" is not.
                assert!(
                    !a.json()["message"]
                        .as_str()
                        .unwrap_or_default()
                        .starts_with("no route"),
                    "{method} {path} is documented but not routed"
                );
            }
        }
    }
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn huge_query_values_are_answered_never_a_panic() {
    // Issue 15: `?now=18446744073709551615` overflowed in /v1/stats and the dashboard.
    let cluster = Cluster::start(1).await;
    let n = node(&cluster);
    let max = u64::MAX;
    for uri in [
        format!("/v1/stats?now={max}"),
        format!("/v1/supervision/dashboard?now={max}"),
        format!("/v1/supervision/overdue?now={max}"),
        format!("/v1/supervision/rejections?from={max}"),
        format!("/v1/entries?from={max}"),
        format!("/v1/entries/{max}"),
        format!("/v1/checkpoints?from={max}"),
        format!("/v1/proofs/inclusion?index={max}"),
        format!("/v1/proofs/consistency?first={max}"),
        format!("/v1/proofs/cosigned?index={max}"),
        format!("/v1/stats/activity?minutes={max}"),
    ] {
        let a = get(n, &uri).await;
        assert!(
            !a.status.is_server_error(),
            "{uri}: {} {}",
            a.status,
            a.json()
        );
    }
    for uri in ["/v1/stats", "/v1/supervision/dashboard"] {
        let a = get(n, &format!("{uri}?now={max}")).await;
        assert_eq!(a.code(), "MALFORMED", "{uri}: {}", a.json());
    }
    cluster.shutdown().await;
}
