//! The README's run command, at a small scale with the exit flag: it finishes, prints the
//! summary and an audit verdict of "intact", and exits 0. And the workload is reproducible:
//! two runs with the same seed sign the same payloads in the same order.

use std::process::Command;

use caseledger_client::flows::case_flow;
use caseledger_client::pilot::Province;
use caseledger_tests::cluster::EPOCH;
use proto_types::encoding::encode;

fn client_binary() -> std::path::PathBuf {
    let node = caseledger_tests::process::node_binary();
    node.with_file_name("caseledger")
}

#[test]
fn the_demo_runs_a_small_workload_audits_it_intact_and_exits_zero() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(client_binary())
        .args(["demo", "--cases", "12", "--days-per-second", "60", "--seed", "3", "--exit", "--dir"])
        .arg(dir.path().join("demo"))
        .output()
        .expect("run caseledger demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed ({:?}):\n{stdout}\n{stderr}", out.status);
    assert!(stdout.contains("== summary"), "no summary:\n{stdout}");
    assert!(stdout.contains("cases by stage:") && stdout.contains("handoffs per department:"), "{stdout}");
    assert!(stdout.contains("audit: INTACT"), "audit verdict missing or not intact:\n{stdout}");
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
