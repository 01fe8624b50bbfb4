//! The explorer end to end: headless Chromium (Debian's `chromium`, driven by
//! `tests/explorer/drive.mjs` with playwright-core) against a live 3-node cluster of real
//! processes loaded with the demo workload. Checks that the overview shows the height, the
//! case page the stages the CLI reports, the dashboard the handoffs the API reports overdue,
//! and the entry page "verified" — and, through a proxy that flips a byte of the proof in
//! transit, the failure, said in the page's language (every verification step on the Chinese
//! page is Chinese). And the layout: no label of the case page's stage path over a bar or a
//! label, and a title logo drawn as SVG rather than a glyph Debian's fonts lack. Screenshots go
//! to `<target>/debug/explorer-screenshots/` (printed).
//!
//! Needs `node`, `/usr/bin/chromium` and `tests/explorer/node_modules` (installed by
//! `scripts/prereqs-browser.sh`, which `scripts/test.sh` runs).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use caseledger_client::http::Client;
use caseledger_client::keys;
use caseledger_tests::cluster::EPOCH;
use caseledger_tests::eventually;
use caseledger_tests::load::{flows, run_flows};
use caseledger_tests::process::{node_binary, ProcCluster};
use serde_json::Value;

const DAY_MS: u64 = 86_400_000;

/// A proxy between the browser and a node that flips one character of the first proof hash
/// of every `/v1/proofs/cosigned` answer (a base64 character for another: one byte changes).
struct Proxy {
    upstream: String,
    http: reqwest::Client,
}

fn tamper(receipt: &str) -> String {
    let mut lines: Vec<String> = receipt.split('\n').map(str::to_owned).collect();
    let first_hash = lines.get_mut(3).expect("a receipt has a proof hash line");
    let flipped = if first_hash.starts_with('A') {
        "B"
    } else {
        "A"
    };
    first_hash.replace_range(0..1, flipped);
    lines.join("\n")
}

async fn forward(State(proxy): State<Arc<Proxy>>, req: Request) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let mut out = proxy.http.request(
        req.method().clone(),
        format!("http://{}{path}", proxy.upstream),
    );
    for (name, value) in req.headers() {
        if name != axum::http::header::HOST && name != axum::http::header::CONTENT_LENGTH {
            out = out.header(name, value);
        }
    }
    let body = match axum::body::to_bytes(req.into_body(), 1 << 20).await {
        Ok(b) => b,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let answer = match out.body(body).send().await {
        Ok(a) => a,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let mut bytes = answer.bytes().await.unwrap_or_default().to_vec();
    if path.starts_with("/v1/proofs/cosigned") && status.is_success() {
        bytes = tamper(&String::from_utf8_lossy(&bytes)).into_bytes();
    }
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    for (name, value) in &headers {
        if name != axum::http::header::CONTENT_LENGTH
            && name != axum::http::header::TRANSFER_ENCODING
        {
            resp.headers_mut().insert(name, value.clone());
        }
    }
    resp
}

async fn start_proxy(upstream: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind proxy");
    let addr = listener.local_addr().expect("proxy address").to_string();
    let app = axum::Router::new()
        .fallback(forward)
        .with_state(Arc::new(Proxy {
            upstream,
            // Redirects go back to the browser as they are (`/` → `/explorer/`).
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("proxy client"),
        }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// A signed GET of `url` (`http://host:port/path?query`) with `client`'s credentials.
async fn get_json(client: &Client, url: &str) -> Option<Value> {
    let rest = url.strip_prefix("http://")?;
    let slash = rest.find('/')?;
    let (base, path) = url.split_at("http://".len() + slash);
    let r = client
        .request(reqwest::Method::GET, base, path, Vec::new())
        .await
        .ok()?
        .send()
        .await
        .ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.json().await.ok()
}

/// Where the driver script and its node_modules are.
fn driver_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("explorer")
}

/// `<target>/<profile>/explorer-screenshots/<unix ms>`.
fn screenshot_dir() -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let dir = node_binary()
        .with_file_name("explorer-screenshots")
        .join(stamp.to_string());
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_explorer_shows_the_ledger_and_verifies_proofs_in_the_browser() {
    let driver = driver_dir();
    assert!(
        driver.join("node_modules/playwright-core").exists() && Path::new("/usr/bin/chromium").exists(),
        "the browser test needs /usr/bin/chromium and {}/node_modules: run scripts/prereqs-browser.sh",
        driver.display()
    );
    let cluster = ProcCluster::start_with(3, |c| {
        c.checkpoint.every_entries = 100;
        c.checkpoint.every = Duration::from_secs(1);
    })
    .await;
    let client = cluster.client();
    let run = run_flows(
        &client,
        flows(&cluster.province, 11, 30, EPOCH),
        8,
        11,
        None,
    )
    .await;
    assert!(run.errors.is_empty(), "workload errors: {:?}", run.errors);
    assert!(
        run.unanswered.is_empty(),
        "unanswered: {:?}",
        run.unanswered
    );
    let last = run
        .acked
        .iter()
        .map(|a| a.index)
        .max()
        .expect("acked steps");
    let head = cluster.converged(last + 1).await;
    let api = cluster.nodes[0].api_addr.clone();
    // Reads are signed requests: the auditor reads everything.
    let http = cluster.client();

    // A cosigned checkpoint covering most of the workload.
    let checkpoint = eventually("a cosigned checkpoint", Duration::from_secs(60), || async {
        let c = get_json(&http, &format!("http://{api}/v1/checkpoints/latest")).await?;
        (c["tree_size"].as_u64()? > last / 2).then_some(c)
    })
    .await;
    let entry_index = run
        .acked
        .iter()
        .map(|a| a.index)
        .filter(|i| *i + 1 < checkpoint["tree_size"].as_u64().expect("size"))
        .nth(run.acked.len() / 3)
        .expect("an acked entry under the checkpoint");

    // The case with the longest stage path, and what the CLI reports for it.
    let mut case_ids: BTreeSet<String> = BTreeSet::new();
    for a in &run.acked {
        if let Some((case, _)) = a.id.as_str().rsplit_once('-') {
            case_ids.insert(case.to_owned());
        }
    }
    let mut best: Option<(usize, String)> = None;
    for id in &case_ids {
        if let Some(c) = get_json(&http, &format!("http://{api}/v1/cases/{id}")).await {
            let n = c["case"]["history"].as_array().map_or(0, Vec::len);
            if best.as_ref().is_none_or(|(m, _)| n > *m) {
                best = Some((n, id.clone()));
            }
        }
    }
    let (_, case_id) = best.expect("a case");
    let cli = node_binary().with_file_name("caseledger");
    let cli_dir = tempfile::tempdir().expect("temp dir");
    let auditor = cluster.province.auditor.as_str();
    keys::save_pem(
        &cluster.province.department(&cluster.province.auditor).key,
        &cli_dir.path().join("auditor.pem"),
    )
    .expect("write the auditor's key");
    let cli_config = cli_dir.path().join("client.toml");
    std::fs::write(
        &cli_config,
        format!("nodes = [{api:?}]\nkey = \"auditor.pem\"\norg = \"{auditor}\"\n"),
    )
    .expect("write the CLI config");
    let out = tokio::process::Command::new(&cli)
        .args(["case", &case_id, "--json"])
        .env("CASELEDGER_CONFIG", &cli_config)
        .env_remove("CASELEDGER_NODES")
        .output()
        .await
        .expect("run caseledger case");
    assert!(
        out.status.success(),
        "caseledger case: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli_case: Value = serde_json::from_slice(&out.stdout).expect("case --json prints JSON");
    let cli_stages: Vec<String> = cli_case["case"]["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["stage"].as_str().expect("stage").to_owned())
        .collect();
    assert!(
        cli_stages.len() >= 3,
        "a case with a stage path: {cli_stages:?}"
    );

    // What the API reports overdue 120 days after the workload.
    let now = head["time_ms"].as_u64().expect("head time") + 120 * DAY_MS;
    let mut overdue: BTreeSet<String> = BTreeSet::new();
    let mut after: Option<String> = None;
    loop {
        let url = match &after {
            Some(a) => format!("http://{api}/v1/supervision/overdue?now={now}&after={a}"),
            None => format!("http://{api}/v1/supervision/overdue?now={now}"),
        };
        let page = get_json(&http, &url).await.expect("overdue page");
        for a in page["alerts"].as_array().expect("alerts") {
            if let Some(h) = a["kind"]["overdue"]["clock"]["handoff"].as_str() {
                overdue.insert(h.to_owned());
            }
        }
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_owned()),
            None => break,
        }
    }
    assert!(
        !overdue.is_empty(),
        "the workload leaves handoffs overdue 120 days on"
    );

    // Sign in as the political-legal committee, with its key file.
    let keys_dir = tempfile::tempdir().expect("temp dir");
    let plc = cluster.province.department(&cluster.province.plc);
    let key_file = keys_dir.path().join("GS-PLC.pem");
    keys::save_pem(&plc.key, &key_file).expect("write key");
    let proxy = start_proxy(api.clone()).await;
    let shots = screenshot_dir();
    let plan = serde_json::json!({
        "base": format!("http://{api}"),
        "tampered_base": format!("http://{proxy}"),
        "org": plc.id().as_str(),
        "key_id": plc.key_ref().key_id.as_str(),
        "key_file": key_file,
        "case_id": case_id,
        "dashboard_now": now,
        "entry_index": entry_index,
        "screenshots": shots,
        "chromium": "/usr/bin/chromium",
    });
    let plan_file = keys_dir.path().join("plan.json");
    std::fs::write(&plan_file, plan.to_string()).expect("write plan");
    let out = tokio::time::timeout(
        Duration::from_secs(240),
        tokio::process::Command::new("node")
            .arg(driver.join("drive.mjs"))
            .arg(&plan_file)
            .current_dir(&driver)
            .output(),
    )
    .await
    .expect("the browser run finishes within 4 minutes")
    .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let seen: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "drive.mjs printed no JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    println!("explorer screenshots: {}", shots.display());
    assert!(
        seen["error"].is_null(),
        "the browser run failed: {}\n{}",
        seen["error"],
        seen["failed_page"]
    );

    // Overview: the height this node reports (it may have grown by checkpoint entries since).
    let height = seen["height"].as_u64().expect("height shown");
    let now_head = get_json(&http, &format!("http://{api}/v1/head"))
        .await
        .expect("head");
    assert!(
        head["size"].as_u64().expect("size") <= height
            && height <= now_head["size"].as_u64().expect("size"),
        "overview height {height} is not the ledger's ({} .. {})",
        head["size"],
        now_head["size"]
    );
    assert_eq!(seen["members"], serde_json::json!(["1", "2", "3"]));
    assert!(
        seen["rate"]
            .as_str()
            .is_some_and(|r| r.parse::<u64>().is_ok()),
        "entries per minute shown: {}",
        seen["rate"]
    );
    let activity = get_json(&http, &format!("http://{api}/v1/stats/activity?minutes=60"))
        .await
        .expect("activity");
    let per_minute: u64 = activity["per_minute"]
        .as_array()
        .expect("per_minute")
        .iter()
        .filter_map(Value::as_u64)
        .sum();
    assert!(
        per_minute >= run.acked.len() as u64,
        "the last hour counts the workload's {} entries: {activity}",
        run.acked.len()
    );
    assert!(
        seen["landed"]
            .as_str()
            .is_some_and(|u| u.ends_with("/explorer/")),
        "/ redirects to the explorer: {}",
        seen["landed"]
    );

    // Case page: the stages the CLI reports, in order.
    assert_eq!(
        seen["case_stages"],
        serde_json::json!(cli_stages),
        "case {case_id}"
    );
    assert!(
        seen["case_digests"]
            .as_array()
            .is_some_and(|d| d.iter().any(|x| x.as_str().is_some_and(|s| s.len() > 64))),
        "the case page shows document digests: {}",
        seen["case_digests"]
    );

    // Dashboard: exactly the handoffs the API reports overdue.
    let shown: BTreeSet<String> = seen["overdue_handoffs"]
        .as_array()
        .expect("overdue rows")
        .iter()
        .filter_map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
        .collect();
    assert_eq!(shown, overdue, "dashboard overdue handoffs");
    assert!(
        seen["ranking_rows"].as_u64().is_some_and(|n| n > 0),
        "monthly ranking shown"
    );
    assert!(
        seen["charts"].as_u64().is_some_and(|n| n >= 3),
        "charts drawn: {}",
        seen["charts"]
    );
    assert_eq!(
        seen["nav_labels"],
        serde_json::json!(["监督", "Supervision"])
    );

    // Entry page: verified in the browser; and the failure with a proof tampered in transit.
    assert_eq!(
        seen["entry_status"], "verified",
        "{}: {}",
        seen["entry_verdict"], seen["entry_steps"]
    );
    let entry = get_json(&http, &format!("http://{api}/v1/entries/{entry_index}"))
        .await
        .expect("entry");
    assert_eq!(seen["entry_hash"], entry["hash"]);
    assert_eq!(
        seen["tampered_status"], "failed",
        "{}",
        seen["tampered_verdict"]
    );
    // The page says what failed, in its language: Chinese by default, English after a switch.
    let verdict = seen["tampered_verdict"].as_str().unwrap_or_default();
    assert!(
        verdict.contains("包含证明") && verdict.contains("与检查点的根"),
        "the Chinese page says what failed, in Chinese: {verdict}"
    );
    let verdict = seen["tampered_verdict_en"].as_str().unwrap_or_default();
    assert!(
        verdict.contains("inclusion proof")
            && verdict.contains("differs from the checkpoint's root"),
        "the English page says what failed: {verdict}"
    );
    // Every verification step on the Chinese page is worded in Chinese: its name and finding.
    let steps: Vec<&str> = ["entry_steps", "tampered_steps"]
        .iter()
        .flat_map(|k| seen[*k].as_array().expect("steps").iter())
        .map(|s| s.as_str().expect("step text"))
        .collect();
    assert!(steps.len() >= 6, "verification steps shown: {steps:?}");
    let english = [
        "receipt",
        "checkpoint",
        "entry",
        "inclusion",
        "cosigned",
        "index",
        "leaf",
        "signature",
        "root",
        "differs",
        "size",
        "quorum",
    ];
    for step in &steps {
        let name = step.split([':', '：']).next().unwrap_or_default();
        assert!(
            name.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "a step's name on the Chinese page is Chinese: {step}"
        );
        let words: Vec<&str> = step
            .split(|c: char| !c.is_ascii_alphabetic())
            .filter(|w| english.contains(&w.to_ascii_lowercase().as_str()))
            .collect();
        assert!(
            words.is_empty(),
            "English words {words:?} in a step on the Chinese page: {step}"
        );
    }

    // The case page's stage path: no holder or stage label drawn over a bar or another label.
    assert!(
        seen["timeline_bars"].as_u64().is_some_and(|n| n >= 3),
        "the stage path draws its bars: {}",
        seen["timeline_bars"]
    );
    assert_eq!(
        seen["timeline_overlaps"],
        serde_json::json!([]),
        "labels over bars or labels on the case page"
    );
    // The title's logo is drawn, not a glyph Debian's fonts lack (U+26D3 rendered as a box).
    let logo = &seen["logo"];
    assert!(
        !logo["text"]
            .as_str()
            .unwrap_or_default()
            .contains('\u{26d3}')
            && logo["svg_width"].as_f64().is_some_and(|w| w >= 10.0)
            && logo["svg_height"].as_f64().is_some_and(|h| h >= 10.0),
        "the title's logo is an inline SVG: {logo}"
    );

    // Nothing loaded from outside the node, no script errors.
    assert_eq!(seen["requests_outside"], serde_json::json!([]));
    assert_eq!(seen["console_errors"], serde_json::json!([]));
    for shot in seen["shots"].as_array().expect("screenshots") {
        let path = PathBuf::from(shot.as_str().expect("path"));
        assert!(
            std::fs::metadata(&path).is_ok_and(|m| m.len() > 1000),
            "{}",
            path.display()
        );
    }
}
