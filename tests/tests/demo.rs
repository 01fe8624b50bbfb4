//! The README's run command, at a small scale with the exit flag: it finishes, prints the
//! summary and an audit verdict of "intact", and exits 0. And the workload is reproducible:
//! two runs with the same seed sign the same payloads in the same order. And the README's
//! recovery walk-through: a node of the running demo stopped and restarted by hand from its
//! config comes back on the same ports and catches up with what was written meanwhile.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use caseledger_client::http::Client;
use caseledger_lab::demo::{node_config_path, SIM_EPOCH};
use caseledger_lab::flows::case_flow;
use caseledger_lab::pilot::Province;
use caseledger_tests::cluster::EPOCH;
use caseledger_tests::eventually;
use proto_types::encoding::encode;
use serde_json::Value;

fn client_binary() -> std::path::PathBuf {
    let node = caseledger_tests::process::node_binary();
    node.with_file_name("caseledger")
}

/// Runs the demo with `--exit` and an export; returns stdout and the export's entries.
fn run_demo(dir: &std::path::Path, seed: &str) -> (String, Vec<Vec<u8>>) {
    let export = dir.join("ledger.export");
    let out = Command::new(client_binary())
        .args([
            "demo",
            "--cases",
            "12",
            "--days-per-second",
            "60",
            "--seed",
            seed,
            "--exit",
            "--dir",
        ])
        .arg(dir.join("demo"))
        .arg("--export")
        .arg(&export)
        .output()
        .expect("run caseledger demo");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "demo failed ({:?}):\n{stdout}\n{stderr}",
        out.status
    );
    let bytes = std::fs::read(&export).expect("export written");
    let magic = caseledger_client::audit::EXPORT_MAGIC;
    assert!(bytes.starts_with(magic), "export has the documented header");
    let entries = caseledger_client::audit::unframe(&bytes[magic.len()..]).expect("framed entries");
    (stdout, entries)
}

/// For every case, the signed submissions (canonical bytes) in ledger order.
fn payloads_by_case(entries: &[Vec<u8>]) -> BTreeMap<String, Vec<Vec<u8>>> {
    let mut out: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    for bytes in entries {
        let e = proto_types::Entry::from_bytes(bytes).expect("entry");
        let sub = e.body.record.submission();
        if sub.payload.signer_org().is_none()
            || matches!(
                sub.payload.action,
                proto_types::Action::Genesis(_) | proto_types::Action::Membership(_)
            )
        {
            // Node-signed checkpoints, the genesis (node keys are fresh each run) and the
            // membership changes that form the cluster (they carry each run's addresses).
            continue;
        }
        let id = sub.payload.id.as_str();
        let case = id.rsplit_once('-').map_or(id, |(c, _)| c).to_owned();
        out.entry(case).or_default().push(encode(sub));
    }
    out
}

#[test]
fn the_demo_runs_a_small_workload_audits_it_intact_and_the_same_seed_signs_the_same_payloads() {
    let (a, b) = (
        tempfile::tempdir().expect("temp dir"),
        tempfile::tempdir().expect("temp dir"),
    );
    let (stdout, first) = run_demo(a.path(), "3");
    assert!(stdout.contains("== summary"), "no summary:\n{stdout}");
    assert!(
        stdout.contains("cases by stage:") && stdout.contains("handoffs per department:"),
        "{stdout}"
    );
    assert!(
        stdout.contains("audit: INTACT"),
        "audit verdict missing or not intact:\n{stdout}"
    );
    let (_, second) = run_demo(b.path(), "3");
    let (x, y) = (payloads_by_case(&first), payloads_by_case(&second));
    assert_eq!(
        x.len(),
        12,
        "twelve cases: {:?}",
        x.keys().collect::<Vec<_>>()
    );
    assert_eq!(
        x, y,
        "two runs with the same seed sign the same payloads in the same order per case"
    );
}

#[test]
fn the_same_seed_gives_the_same_signed_payloads_in_the_same_order() {
    let a = Province::new(9, 3, 5, EPOCH);
    let b = Province::new(9, 3, 5, EPOCH);
    for n in 0..30 {
        let (_, x) = case_flow(&a, 9, n, EPOCH);
        let (_, y) = case_flow(&b, 9, n, EPOCH);
        let x: Vec<Vec<u8>> = x.iter().map(|s| encode(&s.submission)).collect();
        let y: Vec<Vec<u8>> = y.iter().map(|s| encode(&s.submission)).collect();
        assert_eq!(x, y, "case {n} differs between two runs with the same seed");
    }
    let (_, other) = case_flow(&Province::new(10, 3, 5, EPOCH), 10, 0, EPOCH);
    let (_, first) = case_flow(&a, 9, 0, EPOCH);
    assert_ne!(encode(&other[0].submission), encode(&first[0].submission));
}

/// Sends `signal` to `pid` (as an operator would, with `kill`).
fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
}

/// The held demo and the node restarted by hand: stopped when the test ends, pass or fail
/// (the demo's Ctrl-C stops the nodes it started; the restarted one is ours).
struct Running {
    demo: Child,
    restarted: Option<Child>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(node) = &mut self.restarted {
            let _ = node.kill();
            let _ = node.wait();
        }
        signal(self.demo.id(), "INT");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.demo.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.demo.kill();
        let _ = self.demo.wait();
    }
}

/// `(pid, raft, api)` of a node's current run, from its `addresses.json`.
fn addresses(data_dir: &Path) -> Option<(u32, String, String)> {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(data_dir.join("addresses.json")).ok()?)
            .ok()?;
    Some((
        u32::try_from(v["pid"].as_u64()?).ok()?,
        v["raft"].as_str()?.to_owned(),
        v["api"].as_str()?.to_owned(),
    ))
}

/// A node's head (size, root), read as the province's auditor.
async fn head(client: &Client, node: usize) -> Option<(u64, String)> {
    let h = client.get_json_from(node, "/v1/head").await.ok()?;
    Some((h["size"].as_u64()?, h["root"].as_str()?.to_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_node_restarted_by_hand_from_its_config_comes_back_on_its_ports_and_catches_up() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("demo");
    let seed = 4;
    let mut demo = Command::new(client_binary())
        .args(["demo", "--cases", "6", "--days-per-second", "60"])
        .args(["--seed", &seed.to_string(), "--dir"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start caseledger demo");
    let stdout = demo.stdout.take().expect("piped stdout");
    let mut running = Running {
        demo,
        restarted: None,
    };
    // The demo holds its nodes once it printed their addresses after the summary.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut printed = String::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(300)) {
            Ok(line) if line.starts_with("nodes: ") => break,
            Ok(line) => printed.push_str(&(line + "\n")),
            Err(e) => panic!("the demo did not hold its nodes ({e}):\n{printed}"),
        }
    }

    // Node 3's config names the ports it first bound.
    let data = dir.join("node-3");
    let config = node_config_path(&dir, 3);
    let (pid, raft, api) = addresses(&data).expect("node 3's addresses.json");
    let text = std::fs::read_to_string(&config).expect("node 3's config");
    assert!(
        text.contains(&format!("raft_listen = \"{raft}\""))
            && text.contains(&format!("api_listen = \"{api}\"")),
        "{} keeps the ports node 3 bound ({raft}, {api}):\n{text}",
        config.display()
    );

    // Stop it, as the README does, and write while it is down.
    signal(pid, "TERM");
    eventually(
        "node 3 to stop listening",
        Duration::from_secs(30),
        || async {
            tokio::net::TcpStream::connect(&api)
                .await
                .is_err()
                .then_some(())
        },
    )
    .await;
    let province = Province::new(seed, 3, 5, SIM_EPOCH);
    let city = &province.cities[0];
    let psb = city.psb.as_str();
    let case = format!("{}-RESTART-1", city.code);
    let filed = Command::new(client_binary())
        .arg("--config")
        .arg(dir.join("client.toml"))
        .args(["file", "--key"])
        .arg(dir.join("keys").join(format!("{psb}.pem")))
        .args(["--org", psb, "--id", &format!("{case}-F"), "--case", &case])
        .args([
            "--case-type",
            "THEFT",
            "--procedure",
            "ORDINARY",
            "--person",
            "P-RESTART-1",
        ])
        .output()
        .expect("run caseledger file");
    assert!(
        filed.status.success(),
        "filing while node 3 is down: {}{}",
        String::from_utf8_lossy(&filed.stdout),
        String::from_utf8_lossy(&filed.stderr)
    );

    // Restart it by hand from its config: the same ports.
    let log = std::fs::File::create(tmp.path().join("node-3-restarted.log")).expect("log file");
    let node = Command::new(caseledger_tests::process::node_binary())
        .arg("run")
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("restart node 3");
    let new_pid = node.id();
    running.restarted = Some(node);
    let (_, raft_again, api_again) = eventually(
        "node 3 to listen again",
        Duration::from_secs(60),
        || async { addresses(&data).filter(|(p, _, _)| *p == new_pid) },
    )
    .await;
    assert_eq!(
        (raft_again, api_again),
        (raft, api.clone()),
        "node 3 came back on its first ports"
    );

    // It catches up: the leader still replicates to the address it knows, and node 3 serves
    // the case filed while it was down, at the cluster's head.
    let first = addresses(&dir.join("node-1"))
        .expect("node 1's addresses")
        .2;
    let client = Client::new([first, api]).with_credentials(province.auditor_credentials());
    eventually("node 3 to catch up", Duration::from_secs(60), || async {
        let (theirs, ours) = (head(&client, 0).await?, head(&client, 1).await?);
        (theirs == ours).then_some(())
    })
    .await;
    let on_node_3 = client
        .get_json_from(1, &format!("/v1/cases/{case}"))
        .await
        .expect("node 3 has the case filed while it was down");
    assert_eq!(on_node_3["case"]["case_id"], Value::from(case));
    drop(running);
}
