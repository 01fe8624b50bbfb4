//! Real-process clusters: each node a `caseledger-node run` child process with its own data
//! dir, killed with SIGKILL and restarted on the same addresses.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use caseledger_client::http::Client;
use caseledger_lab::formation::{form_cluster, Joiner};
use caseledger_lab::pilot::Province;
use caseledger_node::config::NodeConfig;
use serde_json::Value;

use crate::cluster::{node_config, write_province, EPOCH, SEED};
use crate::eventually;

/// The `caseledger-node` binary next to the test binary (scripts/test.sh builds it first), or
/// the one `CASELEDGER_NODE_BIN` names (e.g. an older build, to show a test fails on it).
pub fn node_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("CASELEDGER_NODE_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let bin = dir.join("caseledger-node");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// A node process and where it listens.
pub struct ProcNode {
    /// Node id.
    pub id: u64,
    /// Its config file.
    pub config: PathBuf,
    /// Its data dir.
    pub data_dir: PathBuf,
    /// The child, while running.
    pub child: Option<Child>,
    /// Raft address.
    pub raft_addr: String,
    /// API address.
    pub api_addr: String,
    /// The network namespace it runs in, if any (`caseledger_lab::netns`).
    pub netns: Option<String>,
}

/// A cluster of node processes.
pub struct ProcCluster {
    /// Nodes by position (id = position + 1).
    pub nodes: Vec<ProcNode>,
    /// Keys to sign with.
    pub province: Province,
    /// Temp dir holding everything.
    pub dir: tempfile::TempDir,
}

fn read_addresses(data_dir: &Path) -> Option<(String, String)> {
    let text = std::fs::read_to_string(data_dir.join("addresses.json")).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    Some((
        v["raft"].as_str()?.to_owned(),
        v["api"].as_str()?.to_owned(),
    ))
}

fn spawn(config: &Path, log: &Path, netns: Option<&str>) -> Child {
    let log = std::fs::File::create(log).expect("log file");
    let mut command = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(node_binary());
            c
        }
        None => Command::new(node_binary()),
    };
    command
        .args(["run", "--config"])
        .arg(config)
        .env(
            "RUST_LOG",
            std::env::var("CASELEDGER_NODE_LOG").unwrap_or_else(|_| "info,openraft=warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn caseledger-node")
}

/// Writes node `id`'s config (with `tune`), starts it, and pins the ports it bound so that a
/// restart comes back on the same addresses (unless an address is advertised apart from the
/// listener).
async fn launch_node(
    dir: &Path,
    id: u64,
    tune: &mut impl FnMut(&mut NodeConfig),
    netns: Option<&str>,
) -> ProcNode {
    let mut cfg = node_config(dir, dir, id);
    tune(&mut cfg);
    let path = dir.join(format!("node-{id}.toml"));
    std::fs::create_dir_all(&cfg.data_dir).expect("data dir");
    std::fs::write(&path, cfg.to_toml().expect("toml")).expect("write config");
    let child = spawn(&path, &dir.join(format!("node-{id}.log")), netns);
    let data_dir = cfg.data_dir.clone();
    let (raft_addr, api_addr) = eventually("node addresses", Duration::from_secs(30), || {
        let d = data_dir.clone();
        async move { read_addresses(&d) }
    })
    .await;
    let mut pinned = cfg.clone();
    if cfg.raft_advertise.is_none() {
        pinned.raft_listen = raft_addr.clone();
    }
    if cfg.api_advertise.is_none() {
        pinned.api_listen = api_addr.clone();
    }
    pinned.bootstrap = false;
    std::fs::write(&path, pinned.to_toml().expect("toml")).expect("pin config");
    ProcNode {
        id,
        config: path,
        data_dir,
        child: Some(child),
        raft_addr,
        api_addr,
        netns: netns.map(str::to_owned),
    }
}

impl ProcCluster {
    /// Starts `n` node processes and forms a cluster of `n` voters.
    pub async fn start(n: u64) -> ProcCluster {
        Self::start_with(n, |_| {}).await
    }

    /// Like [`ProcCluster::start`], with `tune` applied to every node's config first (e.g. a
    /// fixed Raft port and an advertised proxy address, or a data dir on its own disk).
    pub async fn start_with(n: u64, tune: impl FnMut(&mut NodeConfig)) -> ProcCluster {
        Self::start_declared(n, n, tune).await
    }

    /// Declares `declared` nodes in genesis and starts the first `running` of them, which
    /// form the cluster as voters; the others can be started later ([`ProcCluster::launch`]).
    pub async fn start_declared(
        declared: u64,
        running: u64,
        tune: impl FnMut(&mut NodeConfig),
    ) -> ProcCluster {
        Self::start_in(declared, running, &[], tune).await
    }

    /// Like [`ProcCluster::start_with`], node `i` (by position) running inside network
    /// namespace `namespaces[i]` (name and address: it listens there, on ports it picks).
    pub async fn start_in_namespaces(
        namespaces: &[(String, String)],
        mut tune: impl FnMut(&mut NodeConfig),
    ) -> ProcCluster {
        let n = namespaces.len() as u64;
        let mut position = 0;
        Self::start_in(n, n, namespaces, move |cfg| {
            let (_, ip) = &namespaces[position];
            cfg.raft_listen = format!("{ip}:0");
            cfg.api_listen = format!("{ip}:0");
            position += 1;
            tune(cfg);
        })
        .await
    }

    async fn start_in(
        declared: u64,
        running: u64,
        namespaces: &[(String, String)],
        mut tune: impl FnMut(&mut NodeConfig),
    ) -> ProcCluster {
        let province = Province::new(SEED, 1, declared, EPOCH);
        let dir = tempfile::tempdir().expect("temp dir");
        write_province(&province, dir.path());
        let mut nodes = Vec::new();
        for id in 1..=running {
            let netns = namespaces
                .get(id as usize - 1)
                .map(|(name, _)| name.as_str());
            nodes.push(launch_node(dir.path(), id, &mut tune, netns).await);
        }
        let cluster = ProcCluster {
            nodes,
            province,
            dir,
        };
        let admin = reqwest::Client::new();
        let first = &cluster.nodes[0].api_addr;
        eventually("node 1 ready", Duration::from_secs(30), || async {
            admin
                .get(format!("http://{first}/readyz"))
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success())
        })
        .await;
        let joiners: Vec<Joiner> = cluster.nodes[1..]
            .iter()
            .map(|n| Joiner {
                id: n.id,
                raft_addr: n.raft_addr.clone(),
                api_addr: n.api_addr.clone(),
            })
            .collect();
        let voters = joiners.iter().map(|j| j.id).collect();
        form_cluster(
            &Client::new([first.clone()]),
            &cluster.operator(),
            &cluster.province,
            &joiners,
            &voters,
            proto_types::Timestamp::from_millis(0),
            Duration::from_secs(60),
        )
        .await
        .expect("the cluster forms through approved membership changes");
        cluster
    }

    /// Starts declared node `id` (the next position) with `tune` applied to its config; it
    /// joins only through an approved membership change.
    pub async fn launch(&mut self, id: u64, mut tune: impl FnMut(&mut NodeConfig)) {
        assert_eq!(id as usize, self.nodes.len() + 1, "nodes start in id order");
        let node = launch_node(self.dir.path(), id, &mut tune, None).await;
        self.nodes.push(node);
    }

    /// A client of every node, reading as the province's auditor.
    pub fn client(&self) -> Client {
        Client::new(self.nodes.iter().map(|n| n.api_addr.clone()))
            .with_credentials(self.province.auditor_credentials())
    }

    /// A client of every node signing with node 1's key: its operator (admin routes).
    pub fn operator(&self) -> Client {
        let node = self.province.node(1).expect("node 1 is declared");
        Client::new(self.nodes.iter().map(|n| n.api_addr.clone()))
            .with_credentials(node.credentials())
    }

    /// SIGKILLs the node at `pos`.
    pub fn kill9(&mut self, pos: usize) {
        if let Some(mut c) = self.nodes[pos].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Restarts the node at `pos` from its data dir on its pinned addresses.
    pub fn restart(&mut self, pos: usize) {
        let node = &mut self.nodes[pos];
        let log = self
            .dir
            .path()
            .join(format!("node-{}-restart.log", node.id));
        node.child = Some(spawn(&node.config, &log, node.netns.as_deref()));
    }

    /// The process id of the node at `pos`, while it runs.
    pub fn pid(&self, pos: usize) -> Option<u32> {
        self.nodes[pos].child.as_ref().map(Child::id)
    }

    /// Whether the node at `pos` has exited on its own; its exit status if so (it is then
    /// marked stopped).
    pub fn exited(&mut self, pos: usize) -> Option<std::process::ExitStatus> {
        let status = self.nodes[pos].child.as_mut()?.try_wait().ok()??;
        self.nodes[pos].child = None;
        Some(status)
    }

    /// The position of the leader, as the running nodes report it.
    pub async fn leader(&self) -> usize {
        let operator = self.operator();
        eventually("a leader", Duration::from_secs(30), || async {
            for (pos, _) in self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.child.is_some())
            {
                let Ok(v) = operator.get_json_from(pos, "/admin/status").await else {
                    continue;
                };
                if let Some(l) = v["leader"].as_u64() {
                    if self.nodes[l as usize - 1].child.is_some() {
                        return Some(l as usize - 1);
                    }
                }
            }
            None
        })
        .await
    }

    /// Waits until all running nodes report the same head of at least `size`; returns it.
    pub async fn converged(&self, size: u64) -> Value {
        let operator = self.operator();
        eventually("heads to converge", Duration::from_secs(90), || async {
            let mut heads = Vec::new();
            for (pos, _) in self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.child.is_some())
            {
                heads.push(operator.get_json_from(pos, "/v1/head").await.ok()?);
            }
            let first = heads[0].clone();
            let same = heads
                .iter()
                .all(|h| h["head_hash"] == first["head_hash"] && h["root"] == first["root"]);
            (same && first["size"].as_u64()? >= size).then_some(first)
        })
        .await
    }
}

impl Drop for ProcCluster {
    fn drop(&mut self) {
        for pos in 0..self.nodes.len() {
            self.kill9(pos);
        }
        // A failed test keeps the nodes' logs and data for the post-mortem
        // (`CASELEDGER_KEEP_DIRS=1`: every test).
        if std::thread::panicking() || std::env::var_os("CASELEDGER_KEEP_DIRS").is_some() {
            self.dir.disable_cleanup(true);
            eprintln!(
                "the nodes' logs and data are kept in {}",
                self.dir.path().display()
            );
        }
    }
}
