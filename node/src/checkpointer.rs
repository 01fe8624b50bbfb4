//! Cosigned checkpoints (docs/FORMAT.md §Checkpoint) and the cross-node comparison of roots.
//!
//! Every `checkpoint.every_entries` entries (or `every` with new entries), the leader
//! takes the head it has applied, signs its checkpoint note as `node-<id>`, and asks every
//! other member (voters and learners) on the peer port, `POST /raft/cosign`, to sign the same
//! checkpoint. A member signs only the checkpoint it computes itself from its own store at
//! that size (origin from its entry 0, its root, its entry hash, its entry time): if the
//! leader's differs, it answers `409 ROOT_MISMATCH` naming its own root and chain head, and the
//! leader logs it, counts it (`caseledger_peer_root_mismatches_total`) and reports the member in
//! `/admin/status`. Once a majority of the voters **and** of the registry's nodes (what `apply`
//! requires, `proto_types::checkpoint::required_cosigners`) have signed, the leader submits a
//! `Checkpoint` entry signed by its node key; every replica verifies every signature when it
//! applies it. Learners that answer in time are included.
//!
//! No HTTP here: the peer port's route and client are `crate::peer::cosign`'s, which answers
//! [`cosign`] and implements [`CosignPeers`] for [`round`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use futures::future::BoxFuture;
use proto_types::checkpoint::{
    self, Checkpoint, CheckpointError, CosignedCheckpoint, NoteSignature,
};
use proto_types::ids::{HandoffId, IdError};
use proto_types::payload::{Action, CheckpointRecord, Signer};
use proto_types::wire::ErrorCode;
use proto_types::{Entry, Payload, Proposal};
use serde::{Deserialize, Serialize};

use crate::ledger::{ApplyResult, Reader};
use crate::node::NodeCtx;
use crate::raft::cluster;
use crate::service::submit::SubmitError;
use crate::store::{be_u64, blocking, Cf, Store, StoreError};

/// How long a member waits to apply up to the size the leader asks it to cosign.
const COSIGN_WAIT: Duration = Duration::from_secs(2);

/// What the leader asks a member to cosign: the checkpoint body, as fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CosignRequest {
    /// The note body text the leader signed (five lines).
    pub body: String,
}

/// A member's signature line, as the note carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CosignResponse {
    /// Key name, `node-<id>`.
    pub name: String,
    /// Standard base64 of the 4-byte key hash then the 64-byte signature.
    pub signature: String,
}

/// A member's refusal: its own view at that size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CosignRefusal {
    /// Stable code: `ROOT_MISMATCH`, `NOT_YET`, `DAMAGED`, `MALFORMED`, `INTERNAL`.
    pub code: ErrorCode,
    /// For people.
    pub message: String,
    /// The member's root at that size, hex, when it has one.
    pub root: Option<String>,
    /// The member's chain head at that size, hex.
    pub chain_head: Option<String>,
}

/// The checkpoint this node's own store holds at `size` (origin from the cluster's name, root,
/// entry hash and time of entry `size - 1`), or `None` if it has not applied that far.
pub fn own_checkpoint(
    store: &Store,
    cluster_name: &str,
    size: u64,
) -> Result<Option<Checkpoint>, StoreError> {
    let corrupt = |d: String| StoreError::Corrupt {
        what: "checkpoint source".into(),
        detail: d,
    };
    if size == 0 {
        return Ok(None);
    }
    let Some(last) = store.get(Cf::Ledger, &be_u64(size - 1))? else {
        return Ok(None);
    };
    let last = Entry::from_bytes(&last).map_err(|e| corrupt(e.to_string()))?;
    let root = crate::ledger::root_at(store, size)?;
    let cp = Checkpoint::new(
        checkpoint::origin_for(cluster_name),
        size,
        root,
        *last.hash.as_bytes(),
        last.body.accepted_at.as_millis(),
    )
    .map_err(|e| corrupt(e.to_string()))?;
    Ok(Some(cp))
}

/// Why a member refused to cosign, with the HTTP status the peer port answers it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// `DAMAGED`: the self-check found the stored ledger damaged (503).
    Damaged,
    /// `MALFORMED`: the checkpoint body does not parse (400).
    Malformed,
    /// `NOT_YET`: no genesis, or not applied that far within the wait (409).
    NotYet,
    /// `ROOT_MISMATCH`: this node holds another checkpoint at that size (409).
    RootMismatch,
    /// `INTERNAL`: the store could not be read or the note not signed (500).
    Internal,
}

impl RefusalKind {
    /// The stable code the refusal carries.
    pub fn code(self) -> ErrorCode {
        match self {
            RefusalKind::Damaged => ErrorCode::Damaged,
            RefusalKind::Malformed => ErrorCode::Malformed,
            RefusalKind::NotYet => ErrorCode::NotYet,
            RefusalKind::RootMismatch => ErrorCode::RootMismatch,
            RefusalKind::Internal => ErrorCode::Internal,
        }
    }
}

fn refuse(
    kind: RefusalKind,
    message: String,
    own: Option<&Checkpoint>,
) -> (RefusalKind, CosignRefusal) {
    let body = CosignRefusal {
        code: kind.code(),
        message,
        root: own.map(|c| hex::encode(c.root().as_bytes())),
        chain_head: own.map(|c| hex::encode(c.chain_head())),
    };
    (kind, body)
}

/// A member's answer to the leader's `req`: its signature if and only if the checkpoint is
/// this node's own, else why not (the peer port's `POST /raft/cosign`).
pub async fn cosign(
    ctx: &NodeCtx,
    req: &CosignRequest,
) -> Result<CosignResponse, (RefusalKind, CosignRefusal)> {
    if let Some(d) = ctx.selfcheck.damaged_from() {
        return Err(refuse(RefusalKind::Damaged, d.to_string(), None));
    }
    let theirs = match Checkpoint::parse_body(&req.body) {
        Ok(c) => c,
        Err(e) => {
            return Err(refuse(
                RefusalKind::Malformed,
                format!("checkpoint body: {e}"),
                None,
            ))
        }
    };
    let size = theirs.tree_size();
    let Some(registry) = ctx.ledger.registry() else {
        return Err(refuse(
            RefusalKind::NotYet,
            "no genesis applied yet".into(),
            None,
        ));
    };
    // A member may lag the leader by a batch or two: wait briefly for it to apply that far.
    let deadline = Instant::now() + COSIGN_WAIT;
    let own = loop {
        let (store, name) = (ctx.store.clone(), registry.cluster_name.clone());
        match blocking(move || own_checkpoint(&store, &name, size)).await {
            Ok(Some(c)) => break c,
            Ok(None) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Ok(None) => {
                return Err(refuse(
                    RefusalKind::NotYet,
                    format!("node {} has not applied {size} entries", ctx.id),
                    None,
                ))
            }
            Err(e) => {
                return Err(refuse(
                    RefusalKind::Internal,
                    format!("reading the store: {e}"),
                    None,
                ))
            }
        }
    };
    if own != theirs {
        tracing::warn!(size, ours = %hex::encode(own.root().as_bytes()), "refusing to cosign a checkpoint that differs from this node's own");
        return Err(refuse(
            RefusalKind::RootMismatch,
            format!("node {} has another checkpoint at size {size}", ctx.id),
            Some(&own),
        ));
    }
    let name = checkpoint::node_key_name(ctx.id);
    match checkpoint::sign(&own, &name, &ctx.node_key) {
        Ok(sig) => Ok(CosignResponse {
            name,
            signature: encode_signature(&sig),
        }),
        Err(e) => Err(refuse(RefusalKind::Internal, e.to_string(), None)),
    }
}

/// What a member answered the leader's cosign request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CosignAnswer {
    /// It signed: its signature line.
    Signed(CosignResponse),
    /// It refused; with its refusal when the answer could be read as one.
    Refused(Option<CosignRefusal>),
    /// No usable answer: the request failed, or a success's body could not be read.
    Failed(String),
}

/// How the leader reaches the other members' cosigning (the peer port's HTTP implements it,
/// `crate::peer::cosign::HttpCosignPeers`).
pub trait CosignPeers: Send + Sync {
    /// Asks the member whose peer port is at `raft_addr` to cosign `req`.
    fn ask<'a>(&'a self, raft_addr: &'a str, req: &'a CosignRequest)
        -> BoxFuture<'a, CosignAnswer>;
}

fn encode_signature(sig: &NoteSignature) -> String {
    let mut bytes = sig.key_hash().to_vec();
    bytes.extend_from_slice(sig.signature());
    STANDARD.encode(bytes)
}

/// The signature line's bytes: standard base64 of the key hash then the signature.
pub fn decode_signature(name: &str, text: &str) -> Option<NoteSignature> {
    let bytes = STANDARD.decode(text).ok()?;
    if bytes.len() != 68 {
        return None;
    }
    let key_hash: [u8; 4] = bytes[..4].try_into().ok()?;
    let sig: [u8; 64] = bytes[4..].try_into().ok()?;
    NoteSignature::new(name, key_hash, sig).ok()
}

/// The latest accepted checkpoint entry: (entry index, note), from the `~checkpoint` rows.
pub fn latest(store: &Store) -> Result<Option<(u64, CosignedCheckpoint)>, StoreError> {
    Reader::new(store).latest_checkpoint()
}

/// When to checkpoint.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Entries between checkpoints.
    pub every_entries: u64,
    /// Time between checkpoints when entries came (zero: never by time).
    pub every: Duration,
}

/// The leader's task: checkpoints on schedule until `stop`.
pub async fn run(
    ctx: Arc<NodeCtx>,
    peers: Arc<dyn CosignPeers>,
    schedule: Schedule,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut last_round = Instant::now();
    loop {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        if !ctx.is_leader()
            || ctx.selfcheck.damaged_from().is_some()
            || ctx.ledger.registry().is_none()
        {
            continue;
        }
        let store = ctx.store.clone();
        let latest = match blocking(move || latest(&store)).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(%e, "reading the latest checkpoint");
                continue;
            }
        };
        let head = ctx.ledger.head().size;
        let (covered, entry_index) = latest
            .as_ref()
            .map_or((0, None), |(i, n)| (n.checkpoint().tree_size(), Some(*i)));
        let new_since_entry = entry_index.map_or(head, |i| head.saturating_sub(i + 1));
        let by_entries = head >= covered + schedule.every_entries && new_since_entry > 0;
        let by_time = !schedule.every.is_zero()
            && last_round.elapsed() >= schedule.every
            && new_since_entry > 0;
        if !(by_entries || by_time) {
            continue;
        }
        last_round = Instant::now();
        if let Err(e) = round(&ctx, peers.as_ref()).await {
            tracing::warn!(%e, "checkpoint round did not complete; retrying later");
        }
    }
}

/// Why a cosign round appended no checkpoint entry.
#[derive(Debug, thiserror::Error)]
pub enum RoundError {
    /// The ledger has no genesis yet.
    #[error("no genesis yet")]
    NoGenesis,
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The head's size is not durably written yet.
    #[error("head not written yet")]
    HeadNotWritten,
    /// The checkpoint could not be signed or assembled.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The checkpoint entry's id could not be made.
    #[error(transparent)]
    Id(#[from] IdError),
    /// Too few members cosigned.
    #[error("checkpoint at size {size}: {signatures} signatures ({signed_voters} of {voters} voters); need {need} and a voter majority")]
    NoQuorum {
        /// The tree size of the checkpoint.
        size: u64,
        /// Signatures gathered, this node's included.
        signatures: usize,
        /// Voters among the signers.
        signed_voters: usize,
        /// Voters in the membership.
        voters: usize,
        /// Signatures the registry's cosigners require.
        need: usize,
    },
    /// The checkpoint entry was not appended as an accepted entry.
    #[error("checkpoint at size {size} not accepted: {result:?}")]
    NotAccepted {
        /// The tree size of the checkpoint.
        size: u64,
        /// What applying it gave.
        result: Box<ApplyResult>,
    },
    /// No leader, no quorum, or the node is stopping.
    #[error("{0}")]
    Unavailable(String),
    /// This node no longer leads (the submission was forwarded).
    #[error("this node no longer leads")]
    NotLeader,
}

/// One cosign round at this leader's applied head; submits the checkpoint entry on quorum.
pub async fn round(ctx: &Arc<NodeCtx>, peers: &dyn CosignPeers) -> Result<u64, RoundError> {
    let registry = ctx.ledger.registry().ok_or(RoundError::NoGenesis)?;
    let store = ctx.store.clone();
    // The durably written size: the in-memory head may run ahead by a batch being written.
    let size = ctx.ledger.head().size;
    let own = {
        let (store, name) = (store.clone(), registry.cluster_name.clone());
        blocking(move || own_checkpoint(&store, &name, size))
            .await?
            .ok_or(RoundError::HeadNotWritten)?
    };
    let body = own.body_text();
    let mut sigs = vec![checkpoint::sign(
        &own,
        &checkpoint::node_key_name(ctx.id),
        &ctx.node_key,
    )?];
    let members = cluster::members(&ctx.raft);
    let voters: Vec<u64> = members.iter().filter(|m| m.voter).map(|m| m.id).collect();
    let mut signed_voters = usize::from(voters.contains(&ctx.id));
    let request = CosignRequest { body };
    let asks = members
        .iter()
        .filter(|m| m.id != ctx.id)
        .map(|m| async { (m.clone(), peers.ask(&m.peer.raft_addr, &request).await) });
    let answers = futures::future::join_all(asks).await;
    for (m, answer) in answers {
        match answer {
            CosignAnswer::Failed(e) => {
                tracing::debug!(node = m.id, %e, "cosign request failed");
            }
            CosignAnswer::Signed(r) => {
                let Some(sig) = decode_signature(&r.name, &r.signature) else {
                    continue;
                };
                if r.name != checkpoint::node_key_name(m.id)
                    || !signature_verifies(&registry, &own, &sig)
                {
                    tracing::warn!(
                        node = m.id,
                        "a member's cosignature does not verify; left out"
                    );
                    continue;
                }
                if m.voter {
                    signed_voters += 1;
                }
                sigs.push(sig);
            }
            CosignAnswer::Refused(refusal) => {
                if let Some(r) = refusal
                    .filter(|r| r.code == ErrorCode::RootMismatch || r.code == ErrorCode::Damaged)
                {
                    ctx.metrics.peer_root_mismatches.inc();
                    tracing::error!(node = m.id, size, ours = %hex::encode(own.root().as_bytes()), theirs = ?r.root, code = %r.code, "a member disagrees with this leader's checkpoint");
                    ctx.cosigning.record_mismatch(
                        m.id,
                        serde_json::json!({ "size": size, "code": r.code, "root": r.root, "chain_head": r.chain_head, "message": r.message }),
                    );
                }
            }
        }
    }
    let need_registry =
        checkpoint::required_cosigners(registry.cosigners_at(ctx.ledger.head().time).len());
    let need_voters = voters.len() / 2 + 1;
    if sigs.len() < need_registry || signed_voters < need_voters {
        return Err(RoundError::NoQuorum {
            size,
            signatures: sigs.len(),
            signed_voters,
            voters: voters.len(),
            need: need_registry,
        });
    }
    let note = CosignedCheckpoint::new(own, sigs)?;
    let id = HandoffId::new(format!("CP-{size}"))?;
    let now = ctx.now();
    let submission = Payload {
        signer: Signer::Node(ctx.id),
        id,
        claimed_at: now,
        action: Action::Checkpoint(CheckpointRecord {
            note: note.to_note_text(),
        }),
    }
    .sign(&ctx.node_key);
    let deadline = std::time::Instant::now() + ctx.limits.commit_timeout;
    match ctx
        .submit(
            Proposal {
                submission,
                stamped_at: now,
            },
            deadline,
        )
        .await
    {
        Ok(ApplyResult::Appended {
            index,
            rejected: None,
            ..
        }) => {
            ctx.metrics.checkpoints_proposed.inc();
            ctx.cosigning.record_last(
                serde_json::json!({ "index": index, "tree_size": size, "signers": note.signatures().len() }),
            );
            tracing::info!(
                index,
                size,
                signers = note.signatures().len(),
                "cosigned checkpoint appended"
            );
            Ok(index)
        }
        Ok(other) => Err(RoundError::NotAccepted {
            size,
            result: Box::new(other),
        }),
        Err(SubmitError::Unavailable(m) | SubmitError::NoQuorum(m)) => {
            Err(RoundError::Unavailable(m))
        }
        Err(SubmitError::Forwarded(_) | SubmitError::NotLeader { .. }) => {
            Err(RoundError::NotLeader)
        }
    }
}

fn signature_verifies(
    registry: &proto_types::registry::Registry,
    cp: &Checkpoint,
    sig: &NoteSignature,
) -> bool {
    let keys: Vec<_> = registry
        .nodes
        .values()
        .filter_map(|n| {
            n.key_in_force()?
                .signing_key
                .to_verifying_key()
                .ok()
                .map(|k| (checkpoint::node_key_name(n.node_id), k))
        })
        .collect();
    CosignedCheckpoint::new(cp.clone(), vec![sig.clone()])
        .is_ok_and(|note| checkpoint::verify_quorum(&note, &keys, 1).is_ok())
}
