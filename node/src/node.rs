//! Assembling a node: store, ledger, Raft, the peer transport and the API; bootstrapping a
//! new cluster from genesis; and the shared context the API handlers use.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use axum::response::{IntoResponse, Response};
use ed25519_dalek::SigningKey;
use proto_types::crypto::PublicKey;
use proto_types::merkle::MerkleHash;
use proto_types::payload::Action;
use proto_types::{Proposal, Submission, Timestamp};
use tokio::net::TcpListener;

use crate::config::{ApiLimits, ClockConfig, NodeConfig};
use crate::ledger::{catchup, ApplyResult, Ledger};
use crate::metrics::Metrics;
use crate::raft::{self, cluster, network, Peer, Raft, RaftSettings};
use crate::store::{blocking, Store};
use crate::tls;

/// What the API handlers share.
pub struct NodeCtx {
    /// This node's id.
    pub id: u64,
    /// Raft.
    pub raft: Raft,
    /// Groups this node's proposals into Raft entries (group commit).
    pub batcher: raft::batcher::Batcher,
    /// The ledger.
    pub ledger: Arc<Ledger>,
    /// The store.
    pub store: Store,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Request limits.
    pub limits: ApiLimits,
    /// The ledger's clock.
    pub clock: ClockConfig,
    /// The signed genesis this cluster started from.
    pub genesis: Submission,
    /// The node's signing key (checkpoints, signed tree heads).
    pub node_key: SigningKey,
    /// HTTP client for forwarding to the leader's API (HTTPS when `[tls.api]` is set).
    pub http: reqwest::Client,
    /// `http` or `https`: how this node reaches other nodes' APIs (all serve alike).
    pub api_scheme: &'static str,
    /// The peer port's mutual-TLS client (cosigning, ledger catch-up).
    pub peer_http: reqwest::Client,
    /// The peer port's mutual TLS (probing a node before it is added).
    pub peer_tls: tls::PeerTls,
    /// The signed tree head behind receipts (signed once per applied batch).
    pub tree_heads: crate::api::TreeHeads,
    /// API admission: concurrency permits, seen nonces, per-organisation rates.
    pub admission: crate::api::Admission,
    /// What the self-check of the stored ledger found (issue 5).
    pub selfcheck: Arc<crate::selfcheck::Health>,
    /// What the cosign rounds found: members that disagree (issue 5).
    pub cosigning: Arc<crate::checkpointer::Cosigning>,
}

/// Why a submission got no apply result here.
pub enum SubmitError {
    /// The leader answered (this node forwarded the submission); relay its answer.
    Forwarded(Response),
    /// No leader, no quorum, or the node is stopping.
    Unavailable(String),
}

impl NodeCtx {
    /// The ledger clock's reading now.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.clock.now_ms())
    }

    /// Proposes through Raft if this node leads, else forwards to the leader's API.
    pub async fn submit(&self, proposal: Proposal) -> Result<ApplyResult, SubmitError> {
        match self.batcher.propose(proposal.to_bytes()).await {
            Ok(applied) => postcard::from_bytes(&applied.outcome)
                .map_err(|e| SubmitError::Unavailable(format!("undecodable apply result: {e}"))),
            Err(raft::ProposeError::NotLeader {
                leader: Some((leader, peer)),
            }) => Err(self.forward(leader, &peer, &proposal.submission).await),
            Err(raft::ProposeError::NotLeader { leader: None }) => Err(SubmitError::Unavailable(
                "no leader: the cluster has no quorum right now".into(),
            )),
            Err(raft::ProposeError::Unavailable(m)) => Err(SubmitError::Unavailable(m)),
        }
    }

    async fn forward(&self, leader_id: u64, leader: &Peer, sub: &Submission) -> SubmitError {
        let url = format!("{}://{}/v1/entries", self.api_scheme, leader.api_addr);
        let body = proto_types::encoding::encode(sub);
        // Signed with this node's key: the leader does not charge the signer's rate again
        // (this node charged it on the way in).
        let mut req = self.http.post(&url);
        for (name, value) in crate::api::node_headers(self, leader_id, "POST", "/v1/entries", &body)
        {
            req = req.header(name, value);
        }
        let sent = req
            .header(axum::http::header::CONTENT_TYPE, crate::api::CANONICAL)
            .timeout(Duration::from_millis(self.limits.commit_timeout_ms))
            .body(body)
            .send()
            .await;
        match sent {
            Err(e) => SubmitError::Unavailable(format!(
                "forwarding to the leader at {}: {e}",
                leader.api_addr
            )),
            Ok(r) => {
                let status = r.status();
                let bytes = r.bytes().await.unwrap_or_default();
                let mut resp = (
                    axum::http::StatusCode::from_u16(status.as_u16())
                        .unwrap_or(axum::http::StatusCode::BAD_GATEWAY),
                    bytes,
                )
                    .into_response();
                resp.headers_mut().insert(
                    axum::http::header::CONTENT_TYPE,
                    axum::http::HeaderValue::from_static("application/json"),
                );
                SubmitError::Forwarded(resp)
            }
        }
    }

    /// The Merkle root at `size`.
    pub async fn root(&self, size: u64) -> Result<MerkleHash, crate::store::StoreError> {
        let store = self.store.clone();
        blocking(move || crate::ledger::root_at(&store, size)).await
    }

    /// Ready: in a quorum and caught up.
    pub fn readiness(&self) -> Result<(), String> {
        if self.store.is_poisoned() {
            return Err("store poisoned by a failed write".into());
        }
        cluster::readiness(&self.raft)?;
        self.selfcheck.readiness()?;
        if self.ledger.registry().is_none() {
            return Err("no genesis applied yet".into());
        }
        Ok(())
    }

    /// Whether this node leads.
    pub fn is_leader(&self) -> bool {
        cluster::is_leader(&self.raft, self.id)
    }

    /// Operator's view.
    pub fn status(&self) -> serde_json::Value {
        let mut s = cluster::status(&self.raft);
        let head = self.ledger.head();
        s["ledger_size"] = head.size.into();
        s["head_hash"] = head.hash.to_hex().into();
        s["selfcheck"] = self.selfcheck.report();
        s["cosigning"] = self.cosigning.report();
        s
    }

    /// The membership the ledger approved beside the Raft membership in effect, and what the
    /// leader has yet to carry out.
    pub fn membership(&self) -> serde_json::Value {
        let current = raft::membership::Config::of_raft(&self.raft);
        let registry = self.ledger.registry();
        let approved: serde_json::Value = registry
            .as_ref()
            .map(|r| serde_json::to_value(&r.members).unwrap_or_default())
            .unwrap_or_default();
        let pending = registry.as_ref().and_then(|r| {
            raft::membership::next_step(&current, &raft::membership::Approved::of(r))
        });
        serde_json::json!({
            "approved": approved,
            "raft": {
                "voters": current.joint,
                "nodes": current.nodes,
            },
            "pending": pending.map(|p| format!("{p:?}")),
        })
    }
}

/// A running node.
pub struct Node {
    /// Shared context.
    pub ctx: Arc<NodeCtx>,
    /// The Raft address peers reach.
    pub raft_addr: String,
    /// The API address clients reach.
    pub api_addr: String,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    stop: tokio::sync::watch::Sender<bool>,
}

/// Reads the genesis file (JSON of the signed genesis submission).
pub fn read_genesis(path: &std::path::Path) -> Result<Submission> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading genesis {}", path.display()))?;
    let sub: Submission = serde_json::from_str(&text)
        .with_context(|| format!("parsing genesis {}", path.display()))?;
    if !matches!(sub.payload.action, Action::Genesis(_)) {
        bail!(
            "{} holds a {} submission, not a genesis",
            path.display(),
            sub.payload.action.kind_name()
        );
    }
    Ok(sub)
}

/// The node declarations of genesis.
fn genesis_nodes(genesis: &Submission) -> Result<Vec<proto_types::payload::NodeDecl>> {
    let Action::Genesis(g) = &genesis.payload.action else {
        bail!("not a genesis")
    };
    Ok(g.nodes.clone())
}

/// Checks that the node key (and the TLS key) are the ones the ledger's registry holds in
/// force for `node_id`, or, before this node has the ledger, the ones genesis pins. A node
/// that joined later (declared by a `RegisterNode` entry, not in genesis) cannot be checked
/// before it has the ledger: its membership must be approved by the ledger, its peers refuse
/// its TLS certificate until its registration has applied, and its checkpoint signatures
/// verify only with the registered key.
fn check_identity(
    genesis: &Submission,
    registry: Option<&proto_types::registry::Registry>,
    node_id: u64,
    key: &SigningKey,
    tls_key: &SigningKey,
) -> Result<()> {
    let (signing, tls, source) = match registry {
        Some(r) => match r.nodes.get(&node_id) {
            Some(n) => match n.key_in_force() {
                Some(k) => (k.signing_key, k.pinned_tls_key(), "the ledger's registry holds in force"),
                None => bail!("node {node_id}'s key was retired or revoked by the ledger: it needs a RotateNodeKey and an approved AddLearner to rejoin"),
            },
            None => {
                tracing::warn!(node_id, "this node id is not in the ledger's registry yet: it must be registered by a RegisterNode entry and approved by an AddLearner");
                return Ok(());
            }
        },
        None => match genesis_nodes(genesis)?.iter().find(|n| n.node_id == node_id) {
            Some(decl) => (decl.signing_key, crate::tls::pinned_key(decl), "genesis pins"),
            None => {
                tracing::warn!(node_id, "this node id is not declared in genesis: it must be registered by a RegisterNode entry and approved by an AddLearner");
                return Ok(());
            }
        },
    };
    if signing != PublicKey::of(key) {
        bail!("the node key does not match the key {source} for node {node_id}");
    }
    if tls != PublicKey::of(tls_key) {
        bail!("the TLS key does not match the key {source} for node {node_id}'s TLS certificate");
    }
    Ok(())
}

/// Both ports' connection limits: the configured caps, lowered to fit below the process's
/// descriptor limit (`serve::descriptor_budget`).
fn conn_limits(limits: &ApiLimits) -> (crate::serve::ConnLimits, crate::serve::ConnLimits) {
    let nofile = crate::serve::descriptor_limit();
    let (api, peer) = crate::serve::descriptor_budget(
        limits.max_connections,
        limits.max_peer_connections,
        nofile,
    );
    if (api, peer) != (limits.max_connections, limits.max_peer_connections) {
        tracing::warn!(
            ?nofile,
            api,
            peer,
            "connection caps lowered to fit below the descriptor limit"
        );
    }
    let header_timeout = Duration::from_millis(limits.header_timeout_ms);
    let caps = |max_connections| crate::serve::ConnLimits {
        max_connections,
        header_timeout,
    };
    (caps(api), caps(peer))
}

impl Node {
    /// Starts a node on already-bound listeners (tests bind port 0).
    pub async fn start(
        config: &NodeConfig,
        raft_listener: TcpListener,
        api_listener: TcpListener,
    ) -> Result<Node> {
        let genesis = read_genesis(&config.genesis)?;
        let node_key = crate::keyfile::load(&config.node_key)?;
        let tls_key = match &config.tls.peer.key {
            Some(path) => crate::keyfile::load(path)?,
            None => node_key.clone(),
        };
        crate::keyfile::create_private_dir(&config.data_dir)?;
        let db_path = config.data_dir.join("db");
        let store = {
            let p = db_path.clone();
            let budget = config.storage.budget();
            blocking(move || Store::open_with(&p, budget)).await
        }
        .with_context(|| format!("opening the store at {}", db_path.display()))?;
        crate::identity::check_or_record(&store, &genesis, config.node_id)?;
        let metrics = Arc::new(Metrics::default());
        let ledger = Arc::new(Ledger::open(&store, metrics.clone())?);
        check_identity(
            &genesis,
            ledger.registry().as_deref(),
            config.node_id,
            &node_key,
            &tls_key,
        )?;
        let founder = genesis_nodes(&genesis)?
            .first()
            .map(|n| n.node_id)
            .context("genesis declares no node")?;
        let settings = RaftSettings {
            cluster_name: "caseledger".into(),
            heartbeat: Duration::from_millis(config.raft.heartbeat_ms),
            election_min: Duration::from_millis(config.raft.election_min_ms),
            election_max: Duration::from_millis(config.raft.election_max_ms),
            snapshot_every: config.raft.snapshot_every,
            ..RaftSettings::default()
        };
        let raft_addr = config
            .raft_advertise
            .clone()
            .unwrap_or(raft_listener.local_addr()?.to_string());
        let api_addr = config
            .api_advertise
            .clone()
            .unwrap_or(api_listener.local_addr()?.to_string());
        let peer_tls = {
            let identity = match &config.tls.peer.cert {
                Some(cert) => tls::Identity::from_cert_file(cert, &tls_key)?,
                None => tls::Identity::self_signed(&tls_key)?,
            };
            let ca = config.tls.peer.ca.as_deref().map(tls::CaBundle::read);
            let pins = tls::RegistryPins::new(genesis_nodes(&genesis)?, ledger.clone());
            tls::PeerTls::new(identity, Arc::new(pins), ca.transpose()?)?
        };
        // Other nodes close a connection idle for `header_timeout_ms`: this node lets its own
        // idle connections go first, rather than send on one being closed.
        let pool_idle = Duration::from_millis(config.limits.header_timeout_ms / 2);
        let peer_http = peer_tls.http_client(
            reqwest::Client::builder()
                .pool_max_idle_per_host(16)
                .pool_idle_timeout(pool_idle),
        )?;
        let (http, api_scheme, api_tls) = {
            let builder = reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .pool_idle_timeout(pool_idle);
            match &config.tls.api {
                None => (builder.build()?, "http", None),
                Some(api) => {
                    let ca = api.ca.as_deref().unwrap_or(&api.cert);
                    let identity = tls::Identity::from_files(&api.cert, &api.key)?;
                    (
                        tls::api_client(ca, builder)?,
                        "https",
                        Some(tls::api_acceptor(identity)?),
                    )
                }
            }
        };
        let source = catchup::HttpSource {
            runtime: tokio::runtime::Handle::current(),
            http: peer_http.clone(),
        };
        ledger.set_peer_source(raft_addr.clone(), Arc::new(source));
        let net = network::Network::new(
            config.node_id,
            network::TransportSettings::default(),
            &peer_tls,
        )?;
        let raft = raft::start(
            config.node_id,
            &settings,
            store.clone(),
            ledger.clone(),
            net,
        )
        .await?;
        let ctx = Arc::new(NodeCtx {
            id: config.node_id,
            raft: raft.clone(),
            batcher: raft::batcher::Batcher::start(
                raft.clone(),
                raft::batcher::BatchSettings {
                    in_flight: config.raft.batch_in_flight,
                    max_proposals: config.raft.batch_max_proposals,
                    ..Default::default()
                },
            ),
            ledger,
            store,
            metrics,
            limits: config.limits,
            clock: config.clock,
            genesis,
            node_key,
            http,
            api_scheme,
            peer_http,
            peer_tls: peer_tls.clone(),
            tree_heads: crate::api::TreeHeads::default(),
            admission: crate::api::Admission::new(config.limits),
            selfcheck: Arc::default(),
            cosigning: Arc::default(),
        });
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let guard = Arc::new(raft::membership::Guard::new(
            config.node_id,
            ctx.ledger.clone(),
            founder,
            Duration::from_millis(config.membership.execute_timeout_ms),
        ));
        let raft_router =
            network::router(raft.clone(), Some(guard), network::DEFAULT_MAX_BODY_BYTES)
                .merge(catchup::router(ctx.store.clone()))
                .merge(crate::checkpointer::router(ctx.clone()))
                .layer(axum::middleware::from_fn_with_state(
                    ctx.peer_tls.pins(),
                    tls::still_pinned,
                ));
        let api_router = crate::api::router(ctx.clone());
        let (api_limits, peer_limits) = conn_limits(&config.limits);
        let mut tasks = Vec::new();
        let rx = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            network::serve(
                raft_listener,
                &peer_tls,
                raft_router,
                peer_limits,
                stopped(rx),
            )
            .await
        }));
        let rx = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            match api_tls {
                Some(acceptor) => {
                    crate::serve::serve(
                        tls::TlsListener::spawn(
                            api_listener,
                            acceptor,
                            None,
                            api_limits.header_timeout.min(tls::HANDSHAKE_TIMEOUT),
                        ),
                        api_router,
                        api_limits,
                        stopped(rx),
                    )
                    .await
                }
                None => {
                    crate::serve::serve(api_listener, api_router, api_limits, stopped(rx)).await
                }
            }
        }));
        tasks.push(tokio::spawn(crate::selfcheck::run(
            ctx.store.clone(),
            ctx.selfcheck.clone(),
            ctx.metrics.clone(),
            config.selfcheck,
            stop_rx.clone(),
        )));
        let schedule = crate::checkpointer::Schedule {
            every_entries: config.checkpoint.every_entries,
            every_ms: config.checkpoint.every_ms,
        };
        tasks.push(tokio::spawn(crate::checkpointer::run(
            ctx.clone(),
            schedule,
            stop_rx.clone(),
        )));
        tasks.push(tokio::spawn(
            raft::membership::Executor {
                me: config.node_id,
                raft: raft.clone(),
                ledger: ctx.ledger.clone(),
                every: Duration::from_millis(300),
                refuse_own_demotion: config.membership.refuse_own_demotion,
                peer_tls: ctx.peer_tls.clone(),
            }
            .run(stop_rx.clone()),
        ));
        let metrics = ctx.metrics.clone();
        tasks.push(tokio::spawn(cluster::watch_leader(
            raft.clone(),
            move |leader| {
                metrics
                    .leader_changes
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::info!(?leader, "leader changed");
            },
        )));
        let node = Node {
            ctx,
            raft_addr,
            api_addr,
            tasks,
            stop,
        };
        if config.bootstrap {
            if config.node_id != founder {
                bail!("only node {founder}, the first node genesis declares, bootstraps the cluster (docs/FORMAT.md §Membership); node {} joins by an approved AddLearner", config.node_id);
            }
            node.bootstrap().await?;
        }
        Ok(node)
    }

    /// Makes this node the first voter of a new cluster and proposes genesis (once: a node
    /// that was ever initialised does nothing).
    pub async fn bootstrap(&self) -> Result<()> {
        let raft = &self.ctx.raft;
        if !cluster::is_initialized(raft).await {
            let peer = Peer {
                raft_addr: self.raft_addr.clone(),
                api_addr: self.api_addr.clone(),
            };
            raft::initialize(raft, BTreeMap::from([(self.ctx.id, peer)])).await?;
        }
        cluster::wait_for_leader(raft, Duration::from_secs(30))
            .await
            .map_err(anyhow::Error::msg)?;
        if self.ctx.ledger.head().size == 0 {
            let proposal = Proposal {
                submission: self.ctx.genesis.clone(),
                stamped_at: self.ctx.now(),
            };
            match self.ctx.submit(proposal).await {
                Ok(ApplyResult::Appended { .. }) | Ok(ApplyResult::Duplicate { .. }) => {}
                Ok(other) => bail!("genesis was not appended: {other:?}"),
                Err(SubmitError::Unavailable(m)) => bail!("proposing genesis: {m}"),
                Err(SubmitError::Forwarded(_)) => {
                    bail!("proposing genesis: this node is not the leader")
                }
            }
        }
        Ok(())
    }

    /// Stops serving and shuts Raft down.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.ctx.raft.shutdown().await;
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Runs a node until `shutdown` resolves or its store is poisoned.
pub async fn run(config: NodeConfig, shutdown: impl Future<Output = ()>) -> Result<()> {
    let raft_listener = TcpListener::bind(&config.raft_listen)
        .await
        .with_context(|| format!("binding raft port {}", config.raft_listen))?;
    let api_listener = TcpListener::bind(&config.api_listen)
        .await
        .with_context(|| format!("binding api port {}", config.api_listen))?;
    let node = Node::start(&config, raft_listener, api_listener).await?;
    tracing::info!(node_id = config.node_id, raft = %node.raft_addr, api = %node.api_addr, "node running");
    // Where this run listens, for operators and for tests that start on port 0.
    let addrs = serde_json::json!({ "raft": node.raft_addr, "api": node.api_addr, "pid": std::process::id() });
    std::fs::write(config.data_dir.join("addresses.json"), addrs.to_string()).with_context(
        || {
            format!(
                "writing {}",
                config.data_dir.join("addresses.json").display()
            )
        },
    )?;
    let store = node.ctx.store.clone();
    let poisoned = tokio::select! {
        () = shutdown => false,
        () = store.poisoned() => true,
    };
    node.shutdown().await;
    if poisoned {
        bail!(
            "the store was poisoned by a failed write; restart the node once the disk is healthy"
        );
    }
    Ok(())
}
