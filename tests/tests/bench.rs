//! The benchmarks keep working: a small smoke run of each `caseledger bench` command (a few
//! seconds, tiny sizes). Figures are printed, never asserted; what is asserted is that each
//! command runs its real clusters to the end and reports what it measured. The etcd side
//! runs only where etcd is installed (scripts/bench-etcd.sh installs it); otherwise the test
//! says it skipped it.

use std::process::Command;

use caseledger_lab::bench::etcd;

fn client_binary() -> std::path::PathBuf {
    caseledger_tests::process::node_binary().with_file_name("caseledger")
}

/// Runs `caseledger bench <args>` in a temp dir; returns stdout, asserting exit 0.
fn bench(args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(client_binary())
        .arg("bench")
        .args(args)
        .arg("--dir")
        .arg(dir.path().join("bench"))
        .output()
        .expect("run caseledger bench");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "caseledger bench {args:?} failed ({:?}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("machine: ") && stdout.contains("commit:  "));
    stdout
}

/// The table rows (concurrency, committed, errors) that follow each table header.
fn rows(stdout: &str) -> Vec<Vec<(u64, u64, u64)>> {
    let mut tables = Vec::new();
    let mut lines = stdout.lines().peekable();
    while let Some(line) = lines.next() {
        if !line.trim_start().starts_with("concurrency  committed") {
            continue;
        }
        let mut table = Vec::new();
        while let Some(row) = lines.peek() {
            let f: Vec<&str> = row.split_whitespace().collect();
            match (f.first().map(|s| s.parse::<u64>()), f.len() >= 7) {
                (Some(Ok(c)), true) => {
                    let n = |i: usize| f[i].parse::<u64>().expect("a number");
                    table.push((c, n(1), n(6)));
                    lines.next();
                }
                _ if row.trim_start().starts_with("first error") => {
                    lines.next();
                }
                _ => break,
            }
        }
        tables.push(table);
    }
    tables
}

#[test]
fn write_bench_reports_every_level_and_etcd_beside_it_when_installed() {
    let with_etcd = etcd::find_binary().is_some();
    let mut args = vec![
        "write",
        "--levels",
        "1,4",
        "--seconds",
        "1",
        "--presign-rate",
        "800",
    ];
    if with_etcd {
        args.push("--etcd");
    } else {
        eprintln!("skipping the etcd side: no etcd binary (scripts/bench-etcd.sh installs it)");
    }
    let out = bench(&args);
    let tables = rows(&out);
    // Single submissions, then batches of 4 (the default), each beside etcd's.
    assert_eq!(tables.len(), if with_etcd { 4 } else { 2 }, "{out}");
    for table in &tables {
        let levels: Vec<u64> = table.iter().map(|r| r.0).collect();
        assert_eq!(levels, vec![1, 4], "{out}");
        assert!(table.iter().all(|r| r.1 > 0 && r.2 == 0), "{out}");
    }
    assert!(out.contains("bytes per signed submission"), "{out}");
    assert!(out.contains("batched: 4 submissions per request"), "{out}");
    assert!(out.contains("ceiling of a batched run"), "{out}");
    if with_etcd {
        assert!(out.contains("side by side, single submissions"), "{out}");
        assert!(out.contains("side by side, batches of 4"), "{out}");
        assert!(out.contains("load generator CPU ms per entry"), "{out}");
    }
}

#[test]
fn scaling_bench_runs_each_payload_size() {
    let out = bench(&[
        "scaling",
        "--sizes",
        "3",
        "--payloads",
        "0,3000",
        "--levels",
        "2",
        "--seconds",
        "1",
        "--presign-rate",
        "500",
    ]);
    let curve: Vec<Vec<f64>> = out
        .lines()
        .skip_while(|l| !l.starts_with("scaling curve:"))
        .skip(2)
        .map(|l| {
            l.split_whitespace()
                .map(|f| f.parse::<f64>().expect("a number"))
                .collect()
        })
        .collect();
    assert_eq!(curve.len(), 2, "{out}");
    // Handoffs padded to 3,000 bytes are bigger than the generated ones.
    assert!(curve[0][2] < 1500.0 && curve[1][2] >= 2900.0, "{out}");
    assert!(curve.iter().all(|r| r[4] > 0.0), "{out}");
}

#[test]
fn history_bench_fills_audits_catches_up_and_compacts() {
    let out = bench(&[
        "history",
        "--entries",
        "300",
        "--concurrency",
        "8",
        "--samples",
        "2",
        "--verify-seconds",
        "0.2",
    ]);
    assert!(out.contains("audit: INTACT"), "{out}");
    assert!(out.contains("catch-up: a fresh node joined"), "{out}");
    let compacted = out
        .lines()
        .skip_while(|l| !l.contains("compacted MiB"))
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .count();
    assert_eq!(compacted, 4, "every node compacted and measured:\n{out}");
}
