//! In-process clusters: every node is a full `caseledger_node::server::Node` with its own temp
//! dir and port-0 listeners.

use std::path::{Path, PathBuf};
use std::time::Duration;

use caseledger_client::http::{Client, Credentials};
use caseledger_lab::formation::{form_cluster, Joiner};
use caseledger_lab::pilot::Province;
use caseledger_node::config::{ApiLimits, ClockConfig, NodeConfig, RaftTiming};
use caseledger_node::server::Node;
use proto_types::Timestamp;
use tokio::net::TcpListener;

use crate::eventually;

/// The seed every test province is derived from.
pub const SEED: u64 = 7;

/// When keys become valid and the first entries are stamped (2026-01-05, a Monday).
pub const EPOCH: Timestamp = Timestamp::from_millis(1_767_571_200_000);

/// The API credentials of the test province's auditor (reads everything).
pub fn auditor() -> Credentials {
    Province::new(SEED, 1, 1, EPOCH).auditor_credentials()
}

/// The API credentials of node 1's key (its operator: admin routes, reads of everything).
pub fn operator() -> Credentials {
    Province::new(SEED, 1, 1, EPOCH)
        .node(1)
        .expect("node 1 is declared")
        .credentials()
}

/// Writes the genesis and node keys of `province` into `dir`; returns the genesis path.
pub fn write_province(province: &Province, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("create dir");
    let genesis = province.genesis(EPOCH);
    let path = dir.join("genesis.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&genesis).expect("genesis json"),
    )
    .expect("write genesis");
    for n in &province.nodes {
        caseledger_node::keyfile::save(&n.key, &dir.join(format!("node-{}.pem", n.decl.node_id)))
            .expect("write node key");
    }
    path
}

/// A node's config for tests: port 0, fast elections, the system clock.
pub fn node_config(shared: &Path, data_root: &Path, node_id: u64) -> NodeConfig {
    NodeConfig {
        node_id,
        data_dir: data_root.join(format!("node-{node_id}")),
        genesis: shared.join("genesis.json"),
        node_key: shared.join(format!("node-{node_id}.pem")),
        raft_listen: "127.0.0.1:0".into(),
        api_listen: "127.0.0.1:0".into(),
        raft_advertise: None,
        api_advertise: None,
        bootstrap: node_id == 1,
        clock: ClockConfig::default(),
        raft: RaftTiming {
            heartbeat: Duration::from_millis(50),
            election_min: Duration::from_millis(300),
            election_max: Duration::from_millis(600),
            snapshot_every: 5000,
            ..RaftTiming::default()
        },
        limits: ApiLimits::default(),
        log_json: false,
        checkpoint: Default::default(),
        selfcheck: Default::default(),
        tls: Default::default(),
        storage: Default::default(),
        membership: caseledger_node::config::MembershipConfig {
            execute_timeout: Duration::from_secs(3),
            refuse_own_demotion: false,
        },
    }
}

/// An in-process cluster.
pub struct Cluster {
    /// Running nodes by position (node id = position + 1); `None` while stopped.
    pub nodes: Vec<Option<Node>>,
    /// Configs, by position.
    pub configs: Vec<NodeConfig>,
    /// (raft, api) addresses, by position: a restarted node binds the same ones.
    pub addrs: Vec<(String, String)>,
    /// The province (keys to sign with).
    pub province: Province,
    /// Temp dir holding everything.
    pub dir: tempfile::TempDir,
}

impl Cluster {
    /// `sub` re-signed after `change`, with the key of its signer's organisation.
    pub fn resign(
        &self,
        sub: &proto_types::Submission,
        change: impl FnOnce(&mut proto_types::Payload),
    ) -> proto_types::Submission {
        let mut payload = sub.payload.clone();
        change(&mut payload);
        let org = payload.signer_org().expect("an organisation signs").clone();
        payload.sign(&self.province.department(&org).key)
    }

    /// The genesis node keys by their note key names (`node-<id>`), as receipts are verified.
    pub fn node_keys(&self) -> Vec<(String, ed25519_dalek::VerifyingKey)> {
        self.province
            .nodes
            .iter()
            .map(|n| (format!("node-{}", n.decl.node_id), n.key.verifying_key()))
            .collect()
    }

    /// The context of the running node at `pos` (panics if it is stopped).
    pub fn ctx(&self, pos: usize) -> &caseledger_node::node::NodeCtx {
        &self.nodes[pos].as_ref().expect("the node runs").ctx
    }

    /// Starts `n` nodes: node 1 bootstraps and proposes genesis, the others join as learners
    /// and are promoted to voters.
    pub async fn start(n: u64) -> Cluster {
        Self::start_with(n, n, |_| {}).await
    }

    /// Declares `declared` nodes in genesis, starts the first `running` of them as voters, with
    /// `tune` applied to every config (started or not).
    pub async fn start_with(
        declared: u64,
        running: u64,
        tune: impl Fn(&mut NodeConfig),
    ) -> Cluster {
        let province = Province::new(SEED, 1, declared, EPOCH);
        let dir = tempfile::tempdir().expect("temp dir");
        write_province(&province, dir.path());
        let configs: Vec<NodeConfig> = (1..=declared)
            .map(|id| {
                let mut c = node_config(dir.path(), dir.path(), id);
                tune(&mut c);
                c
            })
            .collect();
        let mut nodes = Vec::new();
        for cfg in &configs[..running as usize] {
            nodes.push(Some(start_node(cfg).await));
        }
        let addrs = nodes
            .iter()
            .flatten()
            .map(|n: &Node| (n.raft_addr.clone(), n.api_addr.clone()))
            .collect();
        let mut cluster = Cluster {
            nodes,
            configs,
            addrs,
            province,
            dir,
        };
        cluster.join_all().await;
        cluster
    }

    async fn join_all(&mut self) {
        let joiners: Vec<Joiner> = (2..=self.nodes.len() as u64)
            .map(|id| {
                let n = self.nodes[id as usize - 1].as_ref().expect("running");
                Joiner {
                    id,
                    raft_addr: n.raft_addr.clone(),
                    api_addr: n.api_addr.clone(),
                }
            })
            .collect();
        let voters = joiners.iter().map(|j| j.id).collect();
        form_cluster(
            &Client::new(self.api_addrs()),
            &self.operator_client(),
            &self.province,
            &joiners,
            &voters,
            Timestamp::from_millis(0),
            Duration::from_secs(60),
        )
        .await
        .expect("the cluster forms through approved membership changes");
    }

    /// A client of the running nodes signing with node 1's key (admin routes).
    pub fn operator_client(&self) -> Client {
        Client::new(self.api_addrs()).with_credentials(
            self.province
                .node(1)
                .expect("node 1 is declared")
                .credentials(),
        )
    }

    /// API addresses of running nodes.
    pub fn api_addrs(&self) -> Vec<String> {
        self.nodes
            .iter()
            .flatten()
            .map(|n| n.api_addr.clone())
            .collect()
    }

    /// A client of the running nodes, reading as the province's auditor.
    pub fn client(&self) -> Client {
        Client::new(self.api_addrs()).with_credentials(self.province.auditor_credentials())
    }

    /// The running node that leads, by position.
    pub async fn leader(&self) -> usize {
        eventually("a leader", Duration::from_secs(10), || async {
            self.nodes
                .iter()
                .position(|n| n.as_ref().is_some_and(|n| n.ctx.is_leader()))
        })
        .await
    }

    /// Starts a declared node that never ran and adds it as a learner through an approved
    /// membership change; returns its position.
    pub async fn add_learner(&mut self, id: u64) -> usize {
        let pos = id as usize - 1;
        let mut cfg = self.configs[pos].clone();
        cfg.bootstrap = false;
        let node = start_node(&cfg).await;
        while self.nodes.len() <= pos {
            self.nodes.push(None);
            self.addrs.push((String::new(), String::new()));
        }
        self.addrs[pos] = (node.raft_addr.clone(), node.api_addr.clone());
        let joiner = Joiner {
            id,
            raft_addr: node.raft_addr.clone(),
            api_addr: node.api_addr.clone(),
        };
        self.nodes[pos] = Some(node);
        form_cluster(
            &Client::new(self.api_addrs()),
            &self.operator_client(),
            &self.province,
            &[joiner],
            &Default::default(),
            Timestamp::from_millis(0),
            Duration::from_secs(60),
        )
        .await
        .expect("the learner joins through an approved membership change");
        pos
    }

    /// Stops node at `pos` (its data stays).
    pub async fn stop(&mut self, pos: usize) {
        if let Some(n) = self.nodes[pos].take() {
            n.shutdown().await;
        }
    }

    /// Restarts node at `pos` from its data dir, on the same addresses.
    pub async fn restart(&mut self, pos: usize) {
        let mut cfg = self.configs[pos].clone();
        cfg.bootstrap = false;
        let (raft_addr, api_addr) = &self.addrs[pos];
        let raft = TcpListener::bind(raft_addr).await.expect("rebind raft");
        let api = TcpListener::bind(api_addr).await.expect("rebind api");
        self.nodes[pos] = Some(Node::start(&cfg, raft, api).await.expect("node restarts"));
    }

    /// Waits until every running node has the same head of at least `size` entries.
    pub async fn converged(&self, size: u64) -> proto_types::ChainHead {
        eventually("heads to converge", Duration::from_secs(60), || async {
            let heads: Vec<_> = self
                .nodes
                .iter()
                .flatten()
                .map(|n| n.ctx.ledger.head())
                .collect();
            let first = heads[0];
            (first.size >= size && heads.iter().all(|h| *h == first)).then_some(first)
        })
        .await
    }

    /// Shuts every node down.
    pub async fn shutdown(mut self) {
        for pos in 0..self.nodes.len() {
            self.stop(pos).await;
        }
    }
}

/// Starts one node on fresh port-0 listeners.
pub async fn start_node(cfg: &NodeConfig) -> Node {
    let raft = TcpListener::bind("127.0.0.1:0").await.expect("bind raft");
    let api = TcpListener::bind("127.0.0.1:0").await.expect("bind api");
    Node::start(cfg, raft, api).await.expect("node starts")
}
