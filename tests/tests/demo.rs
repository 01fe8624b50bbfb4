//! The README's run command, at a small scale with the exit flag: it finishes, prints the
//! summary and an audit verdict of "intact", and exits 0. And the workload is reproducible:
//! two runs with the same seed sign the same payloads in the same order.

use std::collections::BTreeMap;
use std::process::Command;

use caseledger_client::flows::case_flow;
use caseledger_client::pilot::Province;
use caseledger_tests::cluster::EPOCH;
use proto_types::encoding::encode;

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
