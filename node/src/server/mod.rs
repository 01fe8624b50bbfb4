//! Assembling a node: store, ledger, Raft, the services, the peer port and the API;
//! bootstrapping a new cluster from genesis; stopping. The only importer of
//! [`crate::api::router`], [`crate::peer::router`] and [`crate::checkpointer::run`]: the
//! context it builds ([`NodeCtx`]) imports none of them. Serving a router on a listener is
//! `serve`'s (the listener code, `server::serve`), called only from here (and by the Raft transport's
//! own tests).

pub mod serve;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ed25519_dalek::SigningKey;
use proto_types::crypto::PublicKey;
use proto_types::payload::Action;
use proto_types::wire::RunAddresses;
use proto_types::{Proposal, Submission};
use tokio::net::TcpListener;

use crate::config::{ApiLimits, NodeConfig};
use crate::ledger::{ApplyResult, Ledger};
use crate::metrics::Metrics;
use crate::node::NodeCtx;
use crate::raft::{self, cluster, network, Peer, RaftSettings};
use crate::service::submit::SubmitError;
use crate::store::{blocking, Store};
use crate::tls;

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
fn conn_limits(limits: &ApiLimits) -> (serve::ConnLimits, serve::ConnLimits) {
    let nofile = serve::descriptor_limit();
    let (api, peer) =
        serve::descriptor_budget(limits.max_connections, limits.max_peer_connections, nofile);
    if (api, peer) != (limits.max_connections, limits.max_peer_connections) {
        tracing::warn!(
            ?nofile,
            api,
            peer,
            "connection caps lowered to fit below the descriptor limit"
        );
    }
    let header_timeout = limits.header_timeout;
    let caps = |max_connections| serve::ConnLimits {
        max_connections,
        header_timeout,
    };
    (caps(api), caps(peer))
}

/// The TLS and HTTP clients of both ports.
struct Clients {
    /// The peer port's mutual TLS.
    peer_tls: tls::PeerTls,
    /// The peer port's client (cosigning, catch-up).
    peer_http: reqwest::Client,
    /// The client of other nodes' APIs (forwarding, read index).
    http: reqwest::Client,
    /// `http` or `https`.
    api_scheme: &'static str,
    /// The API port's TLS, when `[tls.api]` is set.
    api_tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Clients {
    /// The peer port pinned to the registry's keys (`genesis` until the ledger has one), and
    /// the API port's TLS as configured.
    fn new(
        config: &NodeConfig,
        tls_key: &SigningKey,
        genesis: Vec<proto_types::payload::NodeDecl>,
        ledger: Arc<Ledger>,
    ) -> Result<Clients> {
        let peer_tls = {
            let identity = match &config.tls.peer.cert {
                Some(cert) => tls::Identity::from_cert_file(cert, tls_key)?,
                None => tls::Identity::self_signed(tls_key)?,
            };
            let ca = config.tls.peer.ca.as_deref().map(tls::CaBundle::read);
            let pins = crate::peer::RegistryPins::new(genesis, ledger);
            tls::PeerTls::new(identity, Arc::new(pins), ca.transpose()?)?
        };
        // Other nodes close a connection idle for `header_timeout`: this node lets its own
        // idle connections go first, rather than send on one being closed.
        let pool_idle = config.limits.header_timeout / 2;
        let peer_http = peer_tls.http_client(
            reqwest::Client::builder()
                .pool_max_idle_per_host(16)
                .pool_idle_timeout(pool_idle),
        )?;
        let builder = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .pool_idle_timeout(pool_idle);
        let (http, api_scheme, api_tls) = match &config.tls.api {
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
        };
        Ok(Clients {
            peer_tls,
            peer_http,
            http,
            api_scheme,
            api_tls,
        })
    }
}

/// Resolves once `stop` says stop.
async fn stopped(mut stop: tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Serves the peer port (mutual TLS) and the API port (TLS when `api_tls`) until `stop`.
fn serve_ports(
    ctx: &Arc<NodeCtx>,
    guard: Arc<raft::membership::Guard>,
    config: &NodeConfig,
    raft_listener: TcpListener,
    api_listener: TcpListener,
    api_tls: Option<tokio_rustls::TlsAcceptor>,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let raft_router = crate::peer::router(ctx.clone(), guard);
    let api_router = crate::api::router(ctx.clone());
    let (api_limits, peer_limits) = conn_limits(&config.limits);
    let peer_tls = ctx.peer_tls.clone();
    let rx = stop.clone();
    let peer = tokio::spawn(async move {
        let handshake = peer_limits.header_timeout.min(tls::HANDSHAKE_TIMEOUT);
        serve::serve(
            peer_tls.listen(raft_listener, handshake),
            raft_router,
            peer_limits,
            stopped(rx),
        )
        .await
    });
    let rx = stop.clone();
    let api = tokio::spawn(async move {
        match api_tls {
            Some(acceptor) => {
                serve::serve(
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
            None => serve::serve(api_listener, api_router, api_limits, stopped(rx)).await,
        }
    });
    vec![peer, api]
}

/// The background tasks until `stop`: the self-check, the checkpointer, the membership
/// executor and the leader watch.
fn spawn_background(
    ctx: &Arc<NodeCtx>,
    config: &NodeConfig,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    tasks.push(tokio::spawn(crate::selfcheck::run(
        ctx.store.clone(),
        ctx.selfcheck.clone(),
        ctx.metrics.clone(),
        config.selfcheck,
        stop.clone(),
    )));
    let schedule = crate::checkpointer::Schedule {
        every_entries: config.checkpoint.every_entries,
        every: config.checkpoint.every,
    };
    let cosign_peers = Arc::new(crate::peer::cosign::HttpCosignPeers {
        http: ctx.peer_http.clone(),
    });
    tasks.push(tokio::spawn(crate::checkpointer::run(
        ctx.clone(),
        cosign_peers,
        schedule,
        stop.clone(),
    )));
    tasks.push(tokio::spawn(
        raft::membership::Executor {
            me: config.node_id,
            raft: ctx.raft.clone(),
            ledger: ctx.ledger.clone(),
            every: Duration::from_millis(300),
            refuse_own_demotion: config.membership.refuse_own_demotion,
            peer_tls: ctx.peer_tls.clone(),
        }
        .run(stop.clone()),
    ));
    let metrics = ctx.metrics.clone();
    tasks.push(tokio::spawn(cluster::watch_leader(
        ctx.leadership.clone(),
        move |leader| {
            metrics.leader_changes.inc();
            tracing::info!(?leader, "leader changed");
        },
    )));
    tasks
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
            heartbeat: config.raft.heartbeat,
            election_min: config.raft.election_min,
            election_max: config.raft.election_max,
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
        let Clients {
            peer_tls,
            peer_http,
            http,
            api_scheme,
            api_tls,
        } = Clients::new(config, &tls_key, genesis_nodes(&genesis)?, ledger.clone())?;
        let source = crate::peer::catchup::HttpSource {
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
        let forward = Arc::new(crate::api::forward::HttpForward {
            http: http.clone(),
            api_scheme,
            timeout: config.limits.commit_timeout,
        });
        let tree_heads = crate::service::receipts::TreeHeads::new(
            config.node_id,
            node_key.clone(),
            ledger.clone(),
            store.clone(),
        );
        let leadership = raft::leadership::Leadership::watch(
            raft.clone(),
            config.node_id,
            settings.election_max,
        );
        let verifier = crate::service::verifier::SignatureVerifier::start(
            metrics.ingress_verify_batches.clone(),
        )
        .map_err(|e| anyhow::anyhow!("starting the ingress verifier thread: {e}"))?;
        let ctx = Arc::new(NodeCtx {
            id: config.node_id,
            raft: raft.clone(),
            leadership: leadership.clone(),
            batcher: raft::batcher::Batcher::start(
                raft.clone(),
                leadership,
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
            forward,
            tree_heads,
            genesis,
            node_key,
            http,
            api_scheme,
            peer_http,
            peer_tls: peer_tls.clone(),
            admission: crate::service::admission::Admission::new(config.limits),
            verifier,
            selfcheck: Arc::default(),
            cosigning: Arc::default(),
        });
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let guard = Arc::new(raft::membership::Guard::new(
            config.node_id,
            ctx.ledger.clone(),
            founder,
            config.membership.execute_timeout,
        ));
        let mut tasks = serve_ports(
            &ctx,
            guard,
            config,
            raft_listener,
            api_listener,
            api_tls,
            &stop_rx,
        );
        tasks.extend(spawn_background(&ctx, config, &stop_rx));
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
        cluster::wait_for_leader(raft, Duration::from_secs(30)).await?;
        if self.ctx.ledger.head().size == 0 {
            let proposal = Proposal {
                submission: self.ctx.genesis.clone(),
                stamped_at: self.ctx.now(),
            };
            let deadline = std::time::Instant::now() + self.ctx.limits.commit_timeout;
            match self.ctx.submit(proposal, deadline).await {
                Ok(ApplyResult::Appended { .. }) | Ok(ApplyResult::Duplicate { .. }) => {}
                Ok(other) => bail!("genesis was not appended: {other:?}"),
                Err(SubmitError::Forwarded(_)) => {
                    bail!("proposing genesis: this node is not the leader")
                }
                Err(
                    SubmitError::Unavailable(m)
                    | SubmitError::NoQuorum(m)
                    | SubmitError::NotLeader { message: m, .. },
                ) => bail!("proposing genesis: {m}"),
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
    let addrs = RunAddresses {
        api: node.api_addr.clone(),
        pid: std::process::id(),
        raft: node.raft_addr.clone(),
    };
    let addrs = serde_json::to_string(&addrs).context("encoding addresses.json")?;
    std::fs::write(config.data_dir.join("addresses.json"), addrs).with_context(|| {
        format!(
            "writing {}",
            config.data_dir.join("addresses.json").display()
        )
    })?;
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
