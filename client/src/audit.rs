//! The independent audit: stream the whole chain as raw bytes from a node (or read an export
//! file), recompute every entry hash and link, replay every entry through the core's one
//! `apply` function (which verifies every signature against the registry as it stood at that
//! entry, every k-of-n approval, and every cosigned checkpoint's root and chain head against
//! the tree rebuilt so far) and check that it reproduces the entry byte for byte, prove the
//! ledger extends a checkpoint saved by an earlier audit (append-only), and compare the result
//! with the heads of every node given. Trusts no node: everything is recomputed from bytes.
//!
//! It uses all cores: worker threads decode and hash each chunk's entries and verify their
//! signatures in batches (`verify_many`: it agrees with strict verification except on a
//! signature its own key's holder crafted with torsion; against the registry as of the
//! chunk's start), while the sequential replay takes the parts already prepared, in order, and passes
//! `SignatureCheck::VerifiedWith(key)`, which `apply` honours only when the key it resolves
//! for the entry is that same key, so a key rotated or revoked inside the chunk is verified
//! again, exactly as on the nodes.

use reqwest::StatusCode;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use proto_types::merkle::{verify_consistency, MerkleHash, ProofError};
use proto_types::payload::Action;
use proto_types::replay::{self, FaultKind};
use proto_types::{ChainHead, LedgerState, MemState, Record};
use serde::{Deserialize, Serialize};

use crate::http::{Client, ClientError};

use proto_types::wire::{ConsistencyProof, ErrorBody, ErrorCode, Head, CANONICAL};

/// The first line of an export file (docs/FORMAT.md §Export).
pub const EXPORT_MAGIC: &[u8] = b"caseledger-export v1\n";

/// Entries fetched per request.
const CHUNK: u64 = 2000;

/// The audit's conclusion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "verdict")]
pub enum Verdict {
    /// Every check passed.
    Intact {
        /// Entries verified.
        entries: u64,
        /// The head verified, hex.
        head_hash: String,
        /// The Merkle root recomputed, hex.
        root: String,
    },
    /// A check failed at this index (or a node's head disagrees).
    Broken {
        /// The first bad index.
        index: u64,
        /// Why.
        reason: String,
    },
    /// The audit could not finish (a node unreachable, ...).
    Incomplete {
        /// Why.
        reason: String,
    },
}

impl Verdict {
    /// The exit code of `caseledger audit`: 0 intact, 1 broken, 2 could not complete.
    pub fn exit_code(&self) -> u8 {
        match self {
            Verdict::Intact { .. } => 0,
            Verdict::Broken { .. } => 1,
            Verdict::Incomplete { .. } => 2,
        }
    }
}

/// A tree head an audit verified, saved for the next audit (`--save-checkpoint`), which must
/// find the ledger to extend it (`--checkpoint`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedCheckpoint {
    /// Entries covered.
    pub tree_size: u64,
    /// Merkle root at that size, hex.
    pub root: String,
    /// `h_{tree_size-1}`, hex.
    pub head_hash: String,
    /// The latest cosigned checkpoint note verified by the audit, if any.
    #[serde(default)]
    pub cosigned_note: Option<String>,
}

/// What an audit checked, for `--json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The verdict.
    pub verdict: Verdict,
    /// Entries replayed.
    pub entries: u64,
    /// Accepted cosigned checkpoint entries whose root and chain head matched the rebuilt tree.
    pub checkpoints_verified: u64,
    /// Whether the ledger extends the checkpoint given with `--checkpoint` (None: none given).
    pub extends_saved_checkpoint: Option<bool>,
    /// The node the ledger was streamed from: the first of the nodes given that answered
    /// (None for an export file, or when no node answered).
    #[serde(default)]
    pub streamed_from: Option<String>,
    /// Nodes whose heads were compared with the audited ledger (a node ahead of it proved, with
    /// a consistency proof, that its head extends it).
    pub nodes_compared: Vec<String>,
    /// Nodes that did not answer for their head, each with why: they make no claim, so they
    /// are not compared (a node that claims a head it cannot prove makes the audit incomplete).
    #[serde(default)]
    pub nodes_unreachable: Vec<String>,
    /// Wall time, milliseconds.
    pub elapsed_ms: u64,
    /// Worker threads used for decoding, hashing and signature checks.
    pub threads: usize,
    /// The head to save for the next audit.
    pub checkpoint: Option<SavedCheckpoint>,
}

pub use proto_types::framing::unframe;

/// Where a replayed ledger breaks, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry {index}: {why}")]
pub struct BrokenAt {
    /// The first bad index (for a ledger shorter than the saved checkpoint: its size).
    pub index: u64,
    /// What is wrong there.
    pub why: Broken,
}

/// What is wrong with a replayed ledger.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Broken {
    /// An entry fails one of the core's replay layers (bytes, chain, Merkle, signatures,
    /// `apply` again).
    #[error(transparent)]
    Fault(#[from] FaultKind),
    /// A verification worker thread ended without preparing its part.
    #[error("a verification worker failed")]
    WorkerFailed,
    /// The ledger at the saved checkpoint's size is not the saved one.
    #[error("the ledger does not extend the saved checkpoint at size {size}: root {root}, saved {saved_root}")]
    DoesNotExtendSaved {
        /// The saved checkpoint's size.
        size: u64,
        /// The replayed root at that size, hex.
        root: String,
        /// The saved root, hex.
        saved_root: String,
    },
    /// The ledger is shorter than the saved checkpoint.
    #[error("the ledger has {size} entries, fewer than the {saved_size} of the saved checkpoint: history was removed")]
    HistoryRemoved {
        /// Entries in the ledger.
        size: u64,
        /// The saved checkpoint's size.
        saved_size: u64,
    },
}

impl From<BrokenAt> for Verdict {
    fn from(b: BrokenAt) -> Self {
        Verdict::Broken {
            index: b.index,
            reason: b.why.to_string(),
        }
    }
}

/// The replay: state, counters and the saved checkpoint to meet.
pub struct Replay {
    state: MemState,
    checkpoints: u64,
    latest_note: Option<String>,
    saved: Option<SavedCheckpoint>,
    extends_saved: Option<bool>,
    threads: usize,
}

/// An entry prepared by a worker ([`replay::prepare`]).
type Prepared<'a> = Result<replay::Prepared<'a>, FaultKind>;

/// Entries a worker prepares at a time; the replay takes them in order as they come.
const PART: usize = 128;

impl Replay {
    /// A replay from an empty ledger, meeting `saved` on the way if given.
    pub fn new(saved: Option<SavedCheckpoint>) -> Self {
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self {
            state: MemState::new(),
            checkpoints: 0,
            latest_note: None,
            extends_saved: saved.as_ref().map(|_| false),
            saved,
            threads,
        }
    }

    /// The replayed state.
    pub fn state(&self) -> &MemState {
        &self.state
    }

    /// Entries replayed so far.
    pub fn size(&self) -> u64 {
        self.state.head().size
    }

    /// Replays a chunk of entry bytes; the first failure and its index. Worker threads
    /// (one per core) decode, hash and verify parts of the chunk against the registry as of
    /// the chunk's start while this thread replays the parts already prepared, in order.
    pub fn feed(&mut self, chunk: &[Vec<u8>]) -> Result<(), BrokenAt> {
        // Genesis first, alone: the rest of the chunk is then verified in batches against the
        // registry it founds instead of one by one in the replay.
        if self.state.registry().is_none() && chunk.len() > 1 {
            self.feed(&chunk[..1])?;
            return self.feed(&chunk[1..]);
        }
        let registry = self.state.registry().cloned();
        let parts: Vec<&[Vec<u8>]> = chunk.chunks(PART).collect();
        let next = AtomicUsize::new(0);
        let threads = self.threads;
        std::thread::scope(|s| {
            let (tx, rx) = std::sync::mpsc::channel::<(usize, Vec<Prepared>)>();
            for _ in 0..threads {
                let (tx, parts, next, registry) = (tx.clone(), &parts, &next, registry.as_ref());
                s.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(part) = parts.get(i) else {
                        break;
                    };
                    // The replay hung up: it found a failure.
                    if tx.send((i, replay::prepare(part, registry))).is_err() {
                        break;
                    }
                });
            }
            drop(tx);
            let mut ready = BTreeMap::new();
            let mut want = 0;
            for (i, prepared) in rx {
                ready.insert(i, prepared);
                while let Some(part) = ready.remove(&want) {
                    want += 1;
                    for p in part {
                        let at = self.size();
                        let broken = |why| BrokenAt { index: at, why };
                        let p = p.map_err(|kind| broken(Broken::Fault(kind)))?;
                        self.replay(p).map_err(broken)?;
                    }
                }
            }
            if want < parts.len() {
                return Err(BrokenAt {
                    index: self.size(),
                    why: Broken::WorkerFailed,
                });
            }
            Ok(())
        })
    }

    /// Replays one prepared entry ([`replay::reapply`]), then counts its checkpoint and
    /// meets the saved checkpoint if this entry ends it.
    fn replay(&mut self, p: replay::Prepared<'_>) -> Result<(), Broken> {
        let at = self.size();
        let checkpoint_note = match &p.entry.body.record {
            Record::Accepted(sub) => match &sub.payload.action {
                Action::Checkpoint(cp) => Some(cp.note.clone()),
                _ => None,
            },
            Record::Rejected(_) => None,
        };
        let hash = p.entry.hash;
        let applied = replay::reapply(&self.state, p.entry, p.bytes, p.key)
            .unwrap_or_else(|never| match never {})?;
        self.state.commit_owned(applied, p.leaf);
        if let Some(note) = checkpoint_note {
            // Accepted by apply: its root and chain head are the rebuilt tree's.
            self.checkpoints += 1;
            self.latest_note = Some(note);
        }
        if let Some(saved) = &self.saved {
            if saved.tree_size == at + 1 {
                let root = self.root_hex(saved.tree_size);
                if root != saved.root || hash.to_hex() != saved.head_hash {
                    return Err(Broken::DoesNotExtendSaved {
                        size: saved.tree_size,
                        root,
                        saved_root: saved.root.clone(),
                    });
                }
                self.extends_saved = Some(true);
            }
        }
        Ok(())
    }

    fn root_hex(&self, size: u64) -> String {
        hex::encode(
            self.state
                .merkle_root(size)
                .unwrap_or_else(|e| match e {})
                .as_bytes(),
        )
    }

    /// Ends the replay: the saved checkpoint must have been met, or be empty.
    pub fn finish(&mut self) -> Result<(), BrokenAt> {
        let size = self.size();
        if let Some(saved) = &self.saved {
            if saved.tree_size == 0 {
                self.extends_saved = Some(true);
            } else if saved.tree_size > size {
                return Err(BrokenAt {
                    index: size,
                    why: Broken::HistoryRemoved {
                        size,
                        saved_size: saved.tree_size,
                    },
                });
            }
        }
        Ok(())
    }

    /// The head reached, to save for the next audit.
    pub fn checkpoint(&self) -> SavedCheckpoint {
        let head = self.state.head();
        SavedCheckpoint {
            tree_size: head.size,
            root: self.root_hex(head.size),
            head_hash: head.hash.to_hex(),
            cosigned_note: self.latest_note.clone(),
        }
    }

    fn report(&self, verdict: Verdict, survey: Survey, started: Instant) -> Report {
        let intact = verdict.exit_code() == 0;
        Report {
            verdict,
            entries: self.size(),
            checkpoints_verified: self.checkpoints,
            extends_saved_checkpoint: self.extends_saved,
            streamed_from: survey.streamed_from,
            nodes_compared: survey.compared,
            nodes_unreachable: survey.unreachable,
            elapsed_ms: started.elapsed().as_millis() as u64,
            threads: self.threads,
            checkpoint: intact.then(|| self.checkpoint()),
        }
    }
}

/// Replays entries into `state`, checking each; returns the first failure and its index.
pub fn check_entries(state: &mut MemState, entries: &[Vec<u8>]) -> Result<(), BrokenAt> {
    let mut replay = Replay {
        state: std::mem::take(state),
        ..Replay::new(None)
    };
    let r = replay.feed(entries);
    *state = replay.state;
    r
}

/// Audits the ledger served by `client`'s nodes (streamed from the first that answers) and
/// compares every node's head.
pub async fn audit(client: &Client, progress: impl FnMut(u64, u64)) -> (Verdict, MemState) {
    let (report, replay) = audit_nodes(client, None, progress).await;
    (report.verdict, replay.state)
}

/// Where an audit of nodes read the ledger and which heads it compared.
#[derive(Debug, Default)]
struct Survey {
    streamed_from: Option<String>,
    compared: Vec<String>,
    unreachable: Vec<String>,
}

/// Audits the ledger served by `client`'s nodes, streamed from the first that answers (the
/// report names it), meeting `saved` on the way, and compares every node's head: a node at
/// the audited size must report its head and root; a node behind, a root of the audited
/// ledger; a node ahead must serve a consistency proof, verified here, from the audited root
/// to its own head. A node that does not answer is not compared (the report names it); one
/// that claims to be ahead and cannot prove it makes the audit incomplete.
pub async fn audit_nodes(
    client: &Client,
    saved: Option<SavedCheckpoint>,
    mut progress: impl FnMut(u64, u64),
) -> (Report, Replay) {
    let started = Instant::now();
    let mut replay = Replay::new(saved);
    let mut survey = Survey::default();
    let verdict = match stream_nodes(client, &mut replay, &mut survey, &mut progress).await {
        Ok(v) => v,
        Err(e) => Verdict::Incomplete {
            reason: e.to_string(),
        },
    };
    (replay.report(verdict, survey, started), replay)
}

/// A node's head, read as the audit reads it.
async fn head_of(client: &Client, node: usize) -> Result<Head, ClientError> {
    let v = client.get_json_from(node, "/v1/head").await?;
    serde_json::from_value(v).map_err(|e| ClientError::Protocol {
        node: client.nodes()[node].clone(),
        detail: format!("not a head: {e}"),
    })
}

/// The first node, in the order given, that answers for its head: its position and head.
async fn first_head(client: &Client) -> Result<(usize, Head), ClientError> {
    let mut silent = Vec::new();
    for i in 0..client.nodes().len() {
        match head_of(client, i).await {
            Ok(h) => return Ok((i, h)),
            Err(e) => silent.push(e.to_string()),
        }
    }
    Err(ClientError::Unreachable(if silent.is_empty() {
        "no nodes given".into()
    } else {
        silent.join("; ")
    }))
}

async fn stream_nodes(
    client: &Client,
    replay: &mut Replay,
    survey: &mut Survey,
    progress: &mut impl FnMut(u64, u64),
) -> Result<Verdict, ClientError> {
    let (source, head) = first_head(client).await?;
    let target = head.size;
    // `Client` keeps node addresses with their scheme.
    let base = client.nodes()[source].clone();
    survey.streamed_from = Some(base.clone());
    // Fetch the next chunk while the current one is verified.
    let fetch = |from: u64| fetch_raw(client.clone(), source, from);
    let mut next = Some(tokio::spawn(fetch(0)));
    while replay.size() < target {
        let from = replay.size();
        let (status, bytes) = next
            .take()
            .expect("a fetch is in flight")
            .await
            .map_err(|e| ClientError::Unreachable(e.to_string()))??;
        if !status.is_success() {
            let error = serde_json::from_slice::<ErrorBody>(&bytes).ok();
            let message = error.as_ref().map_or("", |e| e.message.as_str());
            if error.as_ref().is_some_and(|e| e.code == ErrorCode::Damaged) {
                return Ok(Verdict::Broken {
                    index: from,
                    reason: format!("{base} refuses entries from {from}: {message}"),
                });
            }
            return Err(ClientError::Protocol {
                node: base.clone(),
                detail: format!("{status} from {from}: {message}"),
            });
        }
        let chunk = unframe(&bytes).map_err(|e| ClientError::Protocol {
            node: base.clone(),
            detail: e.to_string(),
        })?;
        if chunk.is_empty() {
            return Ok(Verdict::Broken {
                index: from,
                reason: format!("{base} claims {target} entries but serves none from {from}"),
            });
        }
        let upcoming = from + chunk.len() as u64;
        if upcoming < target {
            next = Some(tokio::spawn(fetch(upcoming)));
        }
        // Verification runs its own worker threads; the next fetch proceeds meanwhile.
        if let Err(broken) = replay.feed(&chunk) {
            return Ok(broken.into());
        }
        progress(replay.size(), target);
    }
    if let Err(broken) = replay.finish() {
        return Ok(broken.into());
    }
    let ours: ChainHead = replay.state.head();
    let root = replay.root_hex(ours.size);
    let mut unproven = Vec::new();
    for (i, node) in client.nodes().iter().enumerate() {
        let h = match head_of(client, i).await {
            Ok(h) => h,
            Err(e) => {
                survey.unreachable.push(e.to_string());
                continue;
            }
        };
        survey.compared.push(node.clone());
        let size = h.size;
        if size == ours.size && (h.head_hash != ours.hash.to_hex() || h.root != root) {
            return Ok(Verdict::Broken {
                index: size.saturating_sub(1),
                reason: format!("{node} reports a different head or root at size {size}"),
            });
        }
        if size < ours.size {
            let their_hash = size
                .checked_sub(1)
                .map(|last| {
                    replay
                        .state
                        .entry_hash(last)
                        .unwrap_or_else(|e| match e {})
                        .map(|e| e.to_hex())
                })
                .unwrap_or(Some(proto_types::EntryHash::ZERO.to_hex()));
            if h.root != replay.root_hex(size) || Some(&h.head_hash) != their_hash.as_ref() {
                return Ok(Verdict::Broken {
                    index: size.saturating_sub(1),
                    reason: format!(
                        "{node}'s head at size {size} is not a prefix of the audited ledger"
                    ),
                });
            }
        }
        if size > ours.size {
            // A node ahead: it must prove that its head extends the audited ledger.
            match consistency_from(client, i, ours.size, &root, size, &h.root).await {
                Ok(Ok(())) => {}
                Ok(Err(why)) => {
                    return Ok(Verdict::Broken {
                        index: ours.size.saturating_sub(1),
                        reason: format!(
                            "{node}'s head at size {size} does not extend the audited ledger of {} entries: {why}",
                            ours.size
                        ),
                    })
                }
                Err(why) => unproven.push(format!(
                    "{node} reports {size} entries but does not prove that they extend the audited {}: {why}",
                    ours.size
                )),
            }
        }
    }
    if !unproven.is_empty() {
        return Ok(Verdict::Incomplete {
            reason: format!(
                "the ledger streamed from {base} verified ({} entries, root {root}), but {}",
                ours.size,
                unproven.join("; ")
            ),
        });
    }
    Ok(Verdict::Intact {
        entries: ours.size,
        head_hash: ours.hash.to_hex(),
        root,
    })
}

/// Why a node ahead of the audited ledger did not prove that its head extends it.
#[derive(Debug, thiserror::Error)]
enum Unproven {
    /// The node did not answer, or refused.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Its answer is not a consistency proof.
    #[error("not a consistency proof: {0}")]
    NotAProof(serde_json::Error),
    /// A proof between other sizes than those asked.
    #[error("a proof from {got_first} to {got_second} where {first} to {second} was asked")]
    OtherSizes {
        /// The sizes asked.
        first: u64,
        /// The sizes asked.
        second: u64,
        /// The sizes proved.
        got_first: u64,
        /// The sizes proved.
        got_second: u64,
    },
    /// A proof to another root than the node's head's.
    #[error("a proof to root {got} where its head's root is {want}")]
    OtherRoot {
        /// The head's root, hex.
        want: String,
        /// The proof's root, hex.
        got: String,
    },
    /// A hash that is not 32 bytes of hex.
    #[error("hash {text:?}: {cause}")]
    BadHash {
        /// The text.
        text: String,
        /// Why it is not a hash.
        cause: hex::FromHexError,
    },
}

/// Fetches from node `node` the consistency proof from the audited tree (`first` entries,
/// root `first_root` in hex) to the head it reported (`second`, `second_root`) and verifies
/// it with the core's verifier (docs/FORMAT.md §Merkle). `Err`: the node could not serve a
/// proof (unreachable, refused, malformed, or not for the sizes and root asked);
/// `Ok(Err)`: it served one that does not verify.
async fn consistency_from(
    client: &Client,
    node: usize,
    first: u64,
    first_root: &str,
    second: u64,
    second_root: &str,
) -> Result<Result<(), ProofError>, Unproven> {
    let path = format!("/v1/proofs/consistency?first={first}&second={second}");
    let v = client.get_json_from(node, &path).await?;
    let p: ConsistencyProof = serde_json::from_value(v).map_err(Unproven::NotAProof)?;
    if (p.first, p.second) != (first, second) {
        return Err(Unproven::OtherSizes {
            first,
            second,
            got_first: p.first,
            got_second: p.second,
        });
    }
    if p.second_root != second_root {
        return Err(Unproven::OtherRoot {
            want: second_root.to_owned(),
            got: p.second_root,
        });
    }
    let hash = |h: &str| -> Result<MerkleHash, Unproven> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(h, &mut bytes).map_err(|cause| Unproven::BadHash {
            text: h.to_owned(),
            cause,
        })?;
        Ok(MerkleHash::from_bytes(bytes))
    };
    let proof = p
        .proof
        .iter()
        .map(|h| hash(h))
        .collect::<Result<Vec<_>, _>>()?;
    let (first_root, second_root) = (hash(first_root)?, hash(second_root)?);
    Ok(verify_consistency(
        first,
        second,
        &first_root,
        &second_root,
        &proof,
    ))
}

/// Audits an export file (docs/FORMAT.md §Export) with no node at all.
pub fn audit_file(
    path: &Path,
    saved: Option<SavedCheckpoint>,
    mut progress: impl FnMut(u64, u64),
) -> (Report, Replay) {
    let started = Instant::now();
    let mut replay = Replay::new(saved);
    let verdict = match stream_file(path, &mut replay, &mut progress) {
        Ok(v) => v,
        Err(e) => Verdict::Incomplete {
            reason: e.to_string(),
        },
    };
    (replay.report(verdict, Survey::default(), started), replay)
}

/// Why an export file could not be read through (what it holds is judged by the replay).
#[derive(Debug, thiserror::Error)]
enum ExportUnreadable {
    /// It could not be opened.
    #[error("opening {}: {cause}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// It could not be read.
    #[error("reading {}: {cause}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// It does not begin with the export's magic line.
    #[error("{} is not a caseledger export (no `caseledger-export v1` line)", path.display())]
    NotAnExport {
        /// The file.
        path: PathBuf,
    },
}

fn stream_file(
    path: &Path,
    replay: &mut Replay,
    progress: &mut impl FnMut(u64, u64),
) -> Result<Verdict, ExportUnreadable> {
    let read = |cause| ExportUnreadable::Read {
        path: path.to_owned(),
        cause,
    };
    let file = std::fs::File::open(path).map_err(|cause| ExportUnreadable::Open {
        path: path.to_owned(),
        cause,
    })?;
    let total_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut r = std::io::BufReader::with_capacity(1 << 20, file);
    let mut magic = vec![0u8; EXPORT_MAGIC.len()];
    r.read_exact(&mut magic).map_err(read)?;
    if magic != EXPORT_MAGIC {
        return Err(ExportUnreadable::NotAnExport {
            path: path.to_owned(),
        });
    }
    let mut read_bytes = EXPORT_MAGIC.len() as u64;
    loop {
        let mut chunk = Vec::with_capacity(CHUNK as usize);
        while chunk.len() < CHUNK as usize {
            let mut len = [0u8; 4];
            match r.read_exact(&mut len) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(read(e)),
            }
            let n = u32::from_be_bytes(len) as usize;
            let mut bytes = vec![0u8; n];
            if r.read_exact(&mut bytes).is_err() {
                let at = replay.size() + chunk.len() as u64;
                return Ok(Verdict::Broken {
                    index: at,
                    reason: "the export is truncated inside this entry".into(),
                });
            }
            read_bytes += 4 + n as u64;
            chunk.push(bytes);
        }
        if chunk.is_empty() {
            break;
        }
        if let Err(broken) = replay.feed(&chunk) {
            return Ok(broken.into());
        }
        // Progress by bytes, scaled to an entry estimate.
        let estimate = (replay.size() * total_bytes)
            .checked_div(read_bytes)
            .unwrap_or(0);
        progress(replay.size(), estimate.max(replay.size()));
    }
    if let Err(broken) = replay.finish() {
        return Ok(broken.into());
    }
    let head = replay.state.head();
    Ok(Verdict::Intact {
        entries: head.size,
        head_hash: head.hash.to_hex(),
        root: replay.root_hex(head.size),
    })
}

/// Writes an export file: the magic line, then each entry's bytes framed by a 4-byte
/// big-endian length (docs/FORMAT.md §Export).
pub fn write_export(
    mut out: impl Write,
    entries: impl IntoIterator<Item = impl AsRef<[u8]>>,
) -> std::io::Result<u64> {
    out.write_all(EXPORT_MAGIC)?;
    let mut n = 0;
    for e in entries {
        let e = e.as_ref();
        let len =
            u32::try_from(e.len()).map_err(|_| std::io::Error::other("entry larger than 4 GiB"))?;
        out.write_all(&len.to_be_bytes())?;
        out.write_all(e)?;
        n += 1;
    }
    out.flush()?;
    Ok(n)
}

/// One chunk of the raw canonical stream (`GET /v1/entries` with the canonical `Accept`) from
/// the node at position `node`, from index `from`: its status and framed bytes.
async fn fetch_raw(
    client: Client,
    node: usize,
    from: u64,
) -> Result<(StatusCode, bytes::Bytes), ClientError> {
    let path = format!("/v1/entries?from={from}&limit={CHUNK}");
    let (status, bytes) = client.get_bytes_from(node, &path, CANONICAL).await?;
    let status = StatusCode::from_u16(status).map_err(|e| ClientError::Protocol {
        node: client.nodes()[node].clone(),
        detail: e.to_string(),
    })?;
    Ok((status, bytes))
}

/// `caseledger export`: streams the whole ledger into `path` from the first node that
/// answers.
pub async fn export(
    client: &Client,
    path: &Path,
    mut progress: impl FnMut(u64, u64),
) -> Result<u64, ClientError> {
    let (source, head) = first_head(client).await?;
    let target = head.size;
    // `Client` keeps node addresses with their scheme.
    let base = client.nodes()[source].clone();
    let io =
        |e: std::io::Error| ClientError::Unreachable(format!("writing {}: {e}", path.display()));
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    out.write_all(EXPORT_MAGIC).map_err(io)?;
    let mut done = 0u64;
    while done < target {
        let (status, bytes) = fetch_raw(client.clone(), source, done).await?;
        if !status.is_success() {
            return Err(ClientError::Protocol {
                node: base.clone(),
                detail: format!("{status} from {done}"),
            });
        }
        let chunk = unframe(&bytes).map_err(|e| ClientError::Protocol {
            node: base.clone(),
            detail: e.to_string(),
        })?;
        if chunk.is_empty() {
            return Err(ClientError::Protocol {
                node: base.clone(),
                detail: format!("no entries from {done} of {target}"),
            });
        }
        // The API frames exactly as the file does.
        out.write_all(&bytes).map_err(io)?;
        done += chunk.len() as u64;
        progress(done, target);
    }
    out.flush().map_err(io)?;
    Ok(done)
}
