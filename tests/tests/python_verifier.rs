//! The independent verifier of docs/FORMAT.md: `tests/python/verify_vectors.py`, written from
//! FORMAT.md alone (Python's hashlib and the `cryptography` package, no project code), must
//! accept every vector of `proto-types/tests/data/`. It is run from the workspace root.
//!
//! A machine without python3 or `cryptography` fails this test; it is never skipped.

use std::path::Path;
use std::process::Command;

/// What to do when the verifier cannot run.
const PREREQS: &str = "scripts/prereqs.sh installs python3 and its `cryptography` package";

/// The verifier's last line, `N passed, M failed`, as `(N, M)`.
fn summary(stdout: &str) -> Option<(u64, u64)> {
    let last = stdout.lines().last()?;
    let (passed, failed) = last.split_once(" passed, ")?;
    Some((
        passed.parse().ok()?,
        failed.strip_suffix(" failed")?.parse().ok()?,
    ))
}

#[test]
fn python_verifier_accepts_every_format_vector() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is a member inside the workspace root");
    let output = Command::new("python3")
        .arg("tests/python/verify_vectors.py")
        .current_dir(root)
        .output()
        .unwrap_or_else(|e| panic!("cannot start python3 ({e}): {PREREQS}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => {}
        Some(2) => {
            panic!("the Python verifier could not run (exit 2); {PREREQS}\n{stderr}{stdout}")
        }
        _ => panic!(
            "the Python verifier rejects the vectors ({}):\n{stdout}{stderr}",
            output.status
        ),
    }
    let (passed, failed) = summary(&stdout).unwrap_or_else(|| {
        panic!("the verifier's last line is not `N passed, M failed`:\n{stdout}{stderr}")
    });
    assert_eq!(failed, 0, "{stdout}");
    // The vectors hold hundreds of checks (every proof, every flipped byte); a handful means
    // the verifier skipped most of them.
    assert!(passed >= 500, "only {passed} checks ran:\n{stdout}");
}
