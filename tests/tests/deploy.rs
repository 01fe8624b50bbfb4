//! The deployment files: `scripts/check-deploy.sh` (docker-compose config, systemd-analyze
//! verify) passes, and the example configs are ones the node accepts and document every
//! setting it has.

use std::path::{Path, PathBuf};
use std::process::Command;

use caseledger_node::config::NodeConfig;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is a workspace member")
        .to_path_buf()
}

#[test]
fn check_deploy_script_accepts_the_compose_file_and_the_systemd_unit() {
    let root = workspace_root();
    let out = Command::new("bash")
        .arg("scripts/check-deploy.sh")
        .current_dir(&root)
        .output()
        .expect("run scripts/check-deploy.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "scripts/check-deploy.sh failed ({:?}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("all deployment checks passed"),
        "unexpected output:\n{stdout}\n{stderr}"
    );
}

/// The names of every setting of a config, nested ones as `section.key` (`tls.peer.ca`).
fn setting_names(cfg: &NodeConfig) -> Vec<String> {
    fn walk(
        prefix: &str,
        table: &serde_json::Map<String, serde_json::Value>,
        out: &mut Vec<String>,
    ) {
        for (key, v) in table {
            let name = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match v.as_object() {
                Some(section) => walk(&name, section, out),
                None => out.push(name),
            }
        }
    }
    let value = serde_json::to_value(cfg).expect("a config serialises");
    let mut names = Vec::new();
    walk(
        "",
        value.as_object().expect("a config is a table"),
        &mut names,
    );
    names
}

#[test]
fn example_node_toml_is_accepted_and_documents_every_setting() {
    let path = workspace_root().join("deploy/node.toml");
    let cfg =
        NodeConfig::load(&path).unwrap_or_else(|e| panic!("{} is rejected: {e:#}", path.display()));
    let text = std::fs::read_to_string(&path).expect("read deploy/node.toml");
    // Settings left at their default are shown commented out (`# key = value`).
    let documented: Vec<(String, String)> = {
        let mut section = String::new();
        let mut keys = Vec::new();
        for line in text.lines() {
            let line = line.trim_start_matches(['#', ' ']);
            if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = s.to_owned();
            } else if let Some((key, _)) = line.split_once('=') {
                let key = key.trim();
                if !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                    keys.push((section.clone(), key.to_owned()));
                }
            }
        }
        keys
    };
    for name in setting_names(&cfg) {
        let (section, key) = name.rsplit_once('.').unwrap_or(("", &name));
        assert!(
            documented.iter().any(|(s, k)| s == section && k == key),
            "deploy/node.toml does not document `{name}` (a field of NodeConfig)"
        );
    }
}

#[test]
fn compose_configs_are_accepted_and_name_nodes_one_to_five_with_one_bootstrap() {
    let services = [
        "psb",
        "procuratorate",
        "court",
        "detention-house",
        "community-corrections",
    ];
    let mut bootstraps = Vec::new();
    for (i, service) in services.iter().enumerate() {
        let path = workspace_root().join(format!("deploy/compose/{service}.toml"));
        let cfg = NodeConfig::load(&path)
            .unwrap_or_else(|e| panic!("{} is rejected: {e:#}", path.display()));
        assert_eq!(cfg.node_id, i as u64 + 1, "{service} runs node {}", i + 1);
        assert_eq!(
            cfg.raft_advertise.as_deref(),
            Some(format!("{service}:7400").as_str()),
            "{service}'s raft address"
        );
        assert_eq!(
            cfg.api_advertise.as_deref(),
            Some(format!("{service}:7401").as_str()),
            "{service}'s api address"
        );
        assert_eq!(
            cfg.api_listen, "0.0.0.0:7401",
            "the image's healthcheck calls port 7401"
        );
        if cfg.bootstrap {
            bootstraps.push(*service);
        }
    }
    assert_eq!(
        bootstraps,
        ["psb"],
        "exactly one node bootstraps the cluster"
    );
}
