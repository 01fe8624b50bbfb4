//! Raft transport over HTTPS with mutual TLS (`crate::tls`): the client side, and the server
//! side as data ([`PeerState`] answers a [`RaftReply`]); the routes are `crate::peer::raft`'s.
//!
//! Routes on the peer port: `POST` [`PATH_APPEND`], [`PATH_VOTE`], [`PATH_SNAPSHOT`] (a full
//! snapshot: it is a pointer, so it is small). Bodies are postcard. A handled request answers
//! 200 with the encoded response, or 500 with the encoded openraft error and the header
//! [`RAFT_ERROR_HEADER`]; an undecodable body is 400, an oversized one 413. Bodies are bounded
//! by [`TransportSettings::max_body_bytes`] in both directions; an append that would exceed it
//! is split by openraft after we report `PayloadTooLarge`. A request is handled only if the
//! node whose certificate opened the connection is the node the request's vote names (the
//! leader sending entries or a snapshot, the candidate asking for a vote): 403 otherwise, so
//! one member cannot speak for another, and a snapshot is accepted only from the leader of
//! a committed vote (openraft then refuses one whose vote is older than its own).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{
    Fatal, NetworkError, PayloadTooLarge, RPCError, RaftError, RemoteError, ReplicationClosed,
    StreamingError, Timeout, Unreachable,
};
use openraft::network::{RPCOption, RPCTypes, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse,
};
use openraft::{OptionalSend, Snapshot, SnapshotMeta, Vote};
use reqwest::header;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::raft::membership::{AppendOutcome, Guard, MembershipRefusal};
use crate::raft::{LedgerSnapshot, NodeId, Peer, Raft, TypeConfig};
use crate::tls::{PeerInfo, PeerTls};

/// Route receiving `AppendEntries`.
pub const PATH_APPEND: &str = "/raft/append";
/// Route receiving `Vote`.
pub const PATH_VOTE: &str = "/raft/vote";
/// Route receiving a full snapshot.
pub const PATH_SNAPSHOT: &str = "/raft/snapshot";
/// Header marking a 500 whose body is an encoded openraft error.
pub const RAFT_ERROR_HEADER: &str = "x-caseledger-raft-error";
/// Default bound on request and response bodies (16 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Content type of Raft bodies.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// Settings of the Raft transport.
#[derive(Debug, Clone)]
pub struct TransportSettings {
    /// Bound on establishing a connection.
    pub connect_timeout: Duration,
    /// Bound on a whole request (openraft's own per-RPC deadline applies when shorter).
    pub request_timeout: Duration,
    /// Bound on request and response bodies.
    pub max_body_bytes: usize,
    /// Idle pooled connections kept per peer.
    pub pool_idle_per_host: usize,
}

impl Default for TransportSettings {
    fn default() -> Self {
        TransportSettings {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            pool_idle_per_host: 4,
        }
    }
}

/// Failures of the Raft transport.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The HTTP client could not be built or the request failed.
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    /// A request or response could not be encoded or decoded.
    #[error("codec: {0}")]
    Codec(#[from] postcard::Error),
    /// A body exceeds the bound.
    #[error("body of {len} bytes exceeds the {max}-byte bound")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// The peer answered with an unexpected status.
    #[error("peer answered {status}: {body}")]
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// The start of the body, for the log.
        body: String,
    },
}

/// Reads a response body, refusing one longer than `max` bytes without buffering it whole.
pub async fn read_bounded(
    mut resp: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, TransportError> {
    if let Some(len) = resp.content_length().filter(|&len| len > max as u64) {
        return Err(TransportError::TooLarge {
            len: usize::try_from(len).unwrap_or(usize::MAX),
            max,
        });
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if out.len() + chunk.len() > max {
            return Err(TransportError::TooLarge {
                len: out.len() + chunk.len(),
                max,
            });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The client side: openraft's `RaftNetworkFactory`, one pooled HTTP client for all peers.
#[derive(Debug, Clone)]
pub struct Network {
    id: NodeId,
    client: reqwest::Client,
    settings: Arc<TransportSettings>,
}

impl Network {
    /// A transport for node `id`, connecting with mutual TLS.
    pub fn new(
        id: NodeId,
        settings: TransportSettings,
        tls: &PeerTls,
    ) -> Result<Network, TransportError> {
        let client = tls.http_client(
            reqwest::Client::builder()
                .connect_timeout(settings.connect_timeout)
                .timeout(settings.request_timeout)
                .pool_max_idle_per_host(settings.pool_idle_per_host)
                // Peers close connections idle past their header timeout (30 s by default):
                // let idle ones go before that rather than send on one being closed.
                .pool_idle_timeout(Duration::from_secs(10))
                .tcp_nodelay(true),
        )?;
        Ok(Network {
            id,
            client,
            settings: Arc::new(settings),
        })
    }
}

/// A connection to one peer.
#[derive(Debug, Clone)]
pub struct PeerClient {
    network: Network,
    target: NodeId,
    peer: Peer,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &Peer) -> PeerClient {
        PeerClient {
            network: self.clone(),
            target,
            peer: node.clone(),
        }
    }
}

/// How one call failed, before mapping to openraft's error types.
enum CallError<E> {
    Unreachable(TransportError),
    Timeout,
    Network(TransportError),
    TooLarge,
    Remote(E),
}

impl PeerClient {
    async fn call<Req, Resp, E>(
        &self,
        path: &str,
        req: &Req,
        ttl: Duration,
    ) -> Result<Resp, CallError<E>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: DeserializeOwned,
    {
        let max = self.network.settings.max_body_bytes;
        let body = postcard::to_allocvec(req).map_err(|e| CallError::Network(e.into()))?;
        if body.len() > max {
            return Err(CallError::TooLarge);
        }
        let url = format!("https://{}{}", self.peer.raft_addr, path);
        let classify = |e: reqwest::Error| {
            if e.is_timeout() {
                CallError::Timeout
            } else if e.is_connect() {
                CallError::Unreachable(e.into())
            } else {
                CallError::Network(e.into())
            }
        };
        let resp = self
            .network
            .client
            .post(url)
            .timeout(ttl.min(self.network.settings.request_timeout))
            .header(header::CONTENT_TYPE, OCTET_STREAM)
            .body(body)
            .send()
            .await
            .map_err(classify)?;
        let status = resp.status();
        let is_raft_error = resp.headers().contains_key(RAFT_ERROR_HEADER);
        let bytes = read_bounded(resp, max).await.map_err(|e| match e {
            TransportError::Http(e) => classify(e),
            e => CallError::Network(e),
        })?;
        let codec = |e: postcard::Error| CallError::Network(e.into());
        match status {
            StatusCode::OK => postcard::from_bytes(&bytes).map_err(codec),
            StatusCode::INTERNAL_SERVER_ERROR if is_raft_error => Err(CallError::Remote(
                postcard::from_bytes(&bytes).map_err(codec)?,
            )),
            status => Err(CallError::Network(TransportError::Status {
                status,
                body: String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned(),
            })),
        }
    }

    fn rpc_error(
        &self,
        e: CallError<RaftError<NodeId>>,
        action: RPCTypes,
        ttl: Duration,
        entries: usize,
    ) -> RPCError<NodeId, Peer, RaftError<NodeId>> {
        match e {
            CallError::Unreachable(e) => RPCError::Unreachable(Unreachable::new(&e)),
            CallError::Timeout => RPCError::Timeout(Timeout {
                action,
                id: self.network.id,
                target: self.target,
                timeout: ttl,
            }),
            CallError::Network(e) => RPCError::Network(NetworkError::new(&e)),
            CallError::TooLarge => {
                let hint = u64::try_from(entries / 2).unwrap_or(1).max(1);
                RPCError::PayloadTooLarge(PayloadTooLarge::new_entries_hint(hint))
            }
            CallError::Remote(e) => RPCError::RemoteError(RemoteError::new_with_node(
                self.target,
                self.peer.clone(),
                e,
            )),
        }
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, Peer, RaftError<NodeId>>> {
        let (ttl, entries) = (option.hard_ttl(), rpc.entries.len());
        self.call(PATH_APPEND, &rpc, ttl)
            .await
            .map_err(|e| self.rpc_error(e, RPCTypes::AppendEntries, ttl, entries))
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, Peer, RaftError<NodeId>>> {
        let ttl = option.hard_ttl();
        self.call(PATH_VOTE, &rpc, ttl)
            .await
            .map_err(|e| self.rpc_error(e, RPCTypes::Vote, ttl, 0))
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote<NodeId>,
        snapshot: Snapshot<TypeConfig>,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<NodeId>, StreamingError<TypeConfig, Fatal<NodeId>>> {
        let ttl = option.hard_ttl();
        let req = (vote, snapshot.meta, *snapshot.snapshot);
        let result = tokio::select! {
            closed = cancel => return Err(StreamingError::Closed(closed)),
            result = self.call::<_, SnapshotResponse<NodeId>, Fatal<NodeId>>(PATH_SNAPSHOT, &req, ttl) => result,
        };
        result.map_err(|e| match e {
            CallError::Unreachable(e) => StreamingError::Unreachable(Unreachable::new(&e)),
            CallError::Timeout => StreamingError::Timeout(Timeout {
                action: RPCTypes::InstallSnapshot,
                id: self.network.id,
                target: self.target,
                timeout: ttl,
            }),
            CallError::Network(e) => StreamingError::Network(NetworkError::new(&e)),
            CallError::TooLarge => {
                StreamingError::Network(NetworkError::new(&TransportError::TooLarge {
                    len: 0,
                    max: self.network.settings.max_body_bytes,
                }))
            }
            CallError::Remote(e) => StreamingError::RemoteError(RemoteError::new_with_node(
                self.target,
                self.peer.clone(),
                e,
            )),
        })
    }
}

/// What a Raft route answers, as data; the peer port's HTTP (`crate::peer::raft`) sends it:
/// 200 with the encoded response, 500 with the encoded openraft error and
/// [`RAFT_ERROR_HEADER`], 500 when the answer could not be encoded, 400 for an undecodable
/// body, 403 for a refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RaftReply {
    /// The encoded (postcard) response.
    Response(Vec<u8>),
    /// The encoded openraft error.
    RaftError(Vec<u8>),
    /// The answer could not be encoded (logged).
    EncodingFailed,
    /// The body does not decode: why.
    Malformed(String),
    /// Refused: not sent by the node it names, or not allowed by the ledger's membership.
    Forbidden(String),
}

/// What the Raft routes share: Raft, and the membership checks of the ledger
/// ([`super::membership::Guard`]; none only in the transport's own tests, over a ledger with
/// no registry).
#[derive(Clone)]
pub struct PeerState {
    raft: Raft,
    guard: Option<Arc<Guard>>,
}

/// A refusal unless the connection's certificate is that of `claimed`, the node the request's
/// vote names.
fn refusal(peer: &PeerInfo, claimed: Option<NodeId>, what: &str) -> Option<RaftReply> {
    match claimed {
        Some(id) if peer.nodes.contains(&id) => None,
        _ => {
            tracing::warn!(addr = %peer.addr, nodes = ?peer.nodes, ?claimed, what, "refused a raft request sent in another node's name");
            Some(RaftReply::Forbidden(format!(
                "the {what} names node {claimed:?} but the connection's certificate is that of node(s) {:?}",
                peer.nodes
            )))
        }
    }
}

fn reply<T: Serialize, E: Serialize>(result: Result<T, E>) -> RaftReply {
    let encoded = match &result {
        Ok(value) => postcard::to_allocvec(value),
        Err(error) => postcard::to_allocvec(error),
    };
    match (result.is_ok(), encoded) {
        (true, Ok(bytes)) => RaftReply::Response(bytes),
        (false, Ok(bytes)) => RaftReply::RaftError(bytes),
        (_, Err(e)) => {
            tracing::error!(error = %e, "encoding a raft response failed");
            RaftReply::EncodingFailed
        }
    }
}

/// A refusal naming the membership rule a request broke.
fn membership_refusal(peer: &PeerInfo, what: &str, why: &MembershipRefusal) -> RaftReply {
    let why = why.to_string();
    let why = why.as_str();
    tracing::warn!(addr = %peer.addr, nodes = ?peer.nodes, what, why, "refused a raft request the ledger's membership does not allow");
    RaftReply::Forbidden(format!("{what} refused: {why}"))
}

fn malformed(e: postcard::Error) -> RaftReply {
    RaftReply::Malformed(format!("malformed body: {e}"))
}

impl PeerState {
    /// The Raft routes' state over `raft`, checked by `guard`.
    pub fn new(raft: Raft, guard: Option<Arc<Guard>>) -> Self {
        PeerState { raft, guard }
    }

    /// `POST` [`PATH_APPEND`] from `peer`.
    pub async fn append(&self, peer: &PeerInfo, body: &[u8]) -> RaftReply {
        let req = match postcard::from_bytes::<AppendEntriesRequest<TypeConfig>>(body) {
            Ok(req) => req,
            Err(e) => return malformed(e),
        };
        if let Some(refused) = refusal(peer, req.vote.leader_id().voted_for(), "append") {
            return refused;
        }
        let Some(guard) = &self.guard else {
            return reply(self.raft.append_entries(req).await);
        };
        match guard.append(&self.raft, req).await {
            Ok(resp) => reply(Ok::<_, RaftError<NodeId>>(resp)),
            Err(AppendOutcome::Raft(e)) => reply(Err::<(), _>(e)),
            Err(AppendOutcome::Refused(why)) => membership_refusal(peer, "append", &why),
        }
    }

    /// `POST` [`PATH_VOTE`] from `peer`.
    pub async fn vote(&self, peer: &PeerInfo, body: &[u8]) -> RaftReply {
        let req = match postcard::from_bytes::<VoteRequest<NodeId>>(body) {
            Ok(req) => req,
            Err(e) => return malformed(e),
        };
        let candidate = req.vote.leader_id().voted_for();
        if let Some(refused) = refusal(peer, candidate, "vote request") {
            return refused;
        }
        if let Some(Err(why)) = self
            .guard
            .as_ref()
            .zip(candidate)
            .map(|(g, c)| g.check_candidate(c))
        {
            return membership_refusal(peer, "vote request", &why);
        }
        reply(self.raft.vote(req).await)
    }

    /// `POST` [`PATH_SNAPSHOT`] from `peer`.
    pub async fn snapshot(&self, peer: &PeerInfo, body: &[u8]) -> RaftReply {
        let raft = &self.raft;
        type Req = (Vote<NodeId>, SnapshotMeta<NodeId, Peer>, LedgerSnapshot);
        match postcard::from_bytes::<Req>(body) {
            Ok((vote, ..)) if !vote.is_committed() => RaftReply::Forbidden(
                "a snapshot is accepted only from a leader (a committed vote)".into(),
            ),
            Ok((vote, meta, data)) => {
                let leader = vote.leader_id().voted_for();
                if let Some(refused) = refusal(peer, leader, "snapshot") {
                    return refused;
                }
                if let Some((guard, leader)) = self.guard.as_ref().zip(leader) {
                    let current = super::membership::Config::of_raft(raft);
                    if let Err(why) = guard.check_leader(leader, &current) {
                        return membership_refusal(peer, "snapshot", &why);
                    }
                }
                reply(
                    raft.install_full_snapshot(
                        vote,
                        Snapshot {
                            meta,
                            snapshot: Box::new(data),
                        },
                    )
                    .await,
                )
            }
            Err(e) => malformed(e),
        }
    }
}
