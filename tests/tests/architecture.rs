//! The structure ARCHITECTURE.md promises, checked: no crate's modules import each other in a
//! circle (`scripts/modgraph.py`), and axum stays in the node's HTTP modules.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is a member inside the workspace root")
        .to_path_buf()
}

#[test]
fn no_crate_has_an_import_circle() {
    let root = root();
    for krate in ["proto-types", "node", "client", "lab", "cli"] {
        let out = Command::new("python3")
            .arg(root.join("scripts/modgraph.py"))
            .arg(root.join(krate).join("src"))
            .output()
            .expect("python3 runs scripts/modgraph.py");
        assert!(
            out.status.success(),
            "{krate}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("a source dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn axum_is_named_only_in_the_nodes_http_modules() {
    let src = root().join("node/src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let http = ["api", "peer", "server"].map(|d| src.join(d));
    let outside: Vec<_> = files
        .iter()
        .filter(|f| !http.iter().any(|d| f.starts_with(d)))
        .filter(|f| {
            std::fs::read_to_string(f)
                .expect("readable")
                .contains("axum")
        })
        .collect();
    assert!(
        outside.is_empty(),
        "axum named outside api/, peer/, server/: {outside:?}"
    );
}
