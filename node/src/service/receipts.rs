//! Receipts and the signed tree head behind them (docs/FORMAT.md §Receipt): node-identity work,
//! no HTTP. The tree head is a C2SP checkpoint note signed by this node alone (key name
//! `node-<id>`, origin `caseledger/<cluster name>`), signed once per applied batch, not once
//! per request: the latest note is cached and re-signed only when the ledger grew. A receipt
//! is a stored entry, its inclusion proof and a tree head covering it. Both are built from the
//! ledger's recent tail in memory (`ledger::recent`) when it holds what they need, so the
//! receipts of a batch just applied read no RocksDB row.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ed25519_dalek::SigningKey;
use proto_types::checkpoint::{node_key_name, origin_for, sign, Checkpoint, CosignedCheckpoint};
use proto_types::merkle::{MerkleError, MerkleHash};
use proto_types::Entry;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ledger::{Ledger, Reader};
use crate::store::{blocking, Store, StoreError};

/// What a committed submission gets back: where the entry is, its bytes, and a proof that it
/// is in the tree a signed tree head commits to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Receipt {
    /// The ledger index of the entry.
    pub index: u64,
    /// Its chain hash, hex.
    pub entry_hash: String,
    /// Whether this answers a resubmission of an already recorded submission.
    pub duplicate: bool,
    /// The entry's canonical bytes (docs/FORMAT.md §Entry), hex.
    pub entry_hex: String,
    /// The size of the tree the proof is against.
    pub tree_size: u64,
    /// The Merkle root at `tree_size`, hex.
    pub root: String,
    /// The inclusion proof `PATH(index, D[tree_size])`, leaf side first, hex.
    pub inclusion: Vec<String>,
    /// The signed tree head: a C2SP checkpoint note signed by this node (`node-<id>`).
    pub tree_head: String,
    /// The whole receipt as a C2SP tlog-proof text (docs/FORMAT.md §Receipt), what
    /// `proto_types::receipt::Receipt::parse` reads and `caseledger verify-receipt` checks.
    pub proof: String,
}

/// A stored entry and its inclusion path in the tree of a signed tree head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryProof {
    /// Its ledger index.
    pub index: u64,
    /// Its chain hash.
    pub hash: proto_types::EntryHash,
    /// Its canonical bytes (docs/FORMAT.md §Entry).
    pub bytes: Vec<u8>,
    /// `PATH(index, D[tree_size])`, leaf side first.
    pub path: Vec<MerkleHash>,
    /// The root the path leads to.
    pub root: MerkleHash,
}

/// The entries of a batch under one signed tree head ([`TreeHeads::proofs`]).
#[derive(Debug, Clone)]
pub struct SetProofs {
    /// The signed tree head.
    pub note: CosignedCheckpoint,
    /// Its root.
    pub root: MerkleHash,
    /// The entries, in the order asked.
    pub entries: Vec<EntryProof>,
}

/// Why no tree head or receipt could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The ledger has no genesis or no entry yet.
    #[error("{0}")]
    Unavailable(String),
    /// The index or size asked for is outside the tree.
    #[error("{0}")]
    OutOfRange(String),
    /// The store could not be read or the note not signed: for the log, not for callers.
    #[error("{context}: {detail}")]
    Internal {
        /// What was being done.
        context: &'static str,
        /// What went wrong.
        detail: String,
    },
}

fn internal(context: &'static str, e: impl std::fmt::Display) -> ReceiptError {
    ReceiptError::Internal {
        context,
        detail: e.to_string(),
    }
}

fn proof_error(e: MerkleError<StoreError>) -> ReceiptError {
    match e {
        MerkleError::IndexOutOfRange { .. } | MerkleError::InvalidRange { .. } => {
            ReceiptError::OutOfRange(e.to_string())
        }
        other => internal("computing a Merkle proof", other),
    }
}

/// The latest tree head this node signed, and what it needs to sign the next one.
pub struct TreeHeads {
    id: u64,
    key: SigningKey,
    ledger: Arc<Ledger>,
    store: Store,
    latest: tokio::sync::Mutex<Option<CosignedCheckpoint>>,
    signed: AtomicU64,
}

impl std::fmt::Debug for TreeHeads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeHeads")
            .field("id", &self.id)
            .field("signed", &self.signed)
            .finish_non_exhaustive()
    }
}

impl TreeHeads {
    /// Tree heads of node `id`, signed with `key`, over `ledger` as stored in `store`.
    pub fn new(id: u64, key: SigningKey, ledger: Arc<Ledger>, store: Store) -> Self {
        Self {
            id,
            key,
            ledger,
            store,
            latest: tokio::sync::Mutex::new(None),
            signed: AtomicU64::new(0),
        }
    }

    /// How many tree heads this node signed since it started.
    pub fn signed_count(&self) -> u64 {
        self.signed.load(Ordering::Relaxed)
    }

    /// A signed tree head covering at least `min_size` entries: the cached one if the ledger
    /// has not grown since, else a new one at the current size. Concurrent callers of one
    /// batch wait on the same lock and share the note.
    pub async fn at_least(&self, min_size: u64) -> Result<CosignedCheckpoint, ReceiptError> {
        let mut latest = self.latest.lock().await;
        let size = self.ledger.head().size.max(min_size);
        if let Some(note) = latest.as_ref() {
            if note.checkpoint().tree_size() >= size {
                return Ok(note.clone());
            }
        }
        // The head in memory may run ahead of a batch still being written: sign the current
        // size if its last entry is stored, else the size the caller needs (written).
        let note = match self.sign_at(size).await? {
            Some(n) => n,
            None => self.sign_at(min_size).await?.ok_or_else(|| {
                internal(
                    "signing a tree head",
                    format!("entry {} is not stored", min_size.saturating_sub(1)),
                )
            })?,
        };
        self.signed.fetch_add(1, Ordering::Relaxed);
        let newer = latest
            .as_ref()
            .is_none_or(|l| l.checkpoint().tree_size() < note.checkpoint().tree_size());
        if newer {
            *latest = Some(note.clone());
        }
        Ok(note)
    }

    /// Signs the tree head at `size`, or `None` if entry `size - 1` is not stored yet.
    async fn sign_at(&self, size: u64) -> Result<Option<CosignedCheckpoint>, ReceiptError> {
        let registry = self
            .ledger
            .registry()
            .ok_or_else(|| ReceiptError::Unavailable("the ledger has no genesis yet".into()))?;
        if size == 0 {
            return Err(ReceiptError::Unavailable("the ledger is empty".into()));
        }
        // From the ledger's recent tail if it holds them, else from the store.
        let recent = self.ledger.recent();
        let read = match (recent.entry(size - 1), recent.root(size)) {
            (Some(bytes), Some(root)) => Some((bytes.to_vec(), root)),
            _ => {
                let store = self.store.clone();
                blocking(
                    move || -> Result<Option<(Vec<u8>, MerkleHash)>, StoreError> {
                        let reader = Reader::new(&store);
                        let Some(bytes) = reader.entry_bytes(size - 1)? else {
                            return Ok(None);
                        };
                        let root = reader.root(size)?;
                        Ok(Some((bytes, root)))
                    },
                )
                .await
                .map_err(|e| internal("reading the tree head", e))?
            }
        };
        let Some((bytes, root)) = read else {
            return Ok(None);
        };
        let last = Entry::from_bytes(&bytes).map_err(|e| internal("decoding a stored entry", e))?;
        let checkpoint = Checkpoint::new(
            origin_for(&registry.cluster_name),
            size,
            root,
            *last.hash.as_bytes(),
            last.body.accepted_at.as_millis(),
        )
        .map_err(|e| internal("building the tree head", e))?;
        let signature = sign(&checkpoint, &node_key_name(self.id), &self.key)
            .map_err(|e| internal("signing the tree head", e))?;
        let note = CosignedCheckpoint::new(checkpoint, vec![signature])
            .map_err(|e| internal("signing the tree head", e))?;
        Ok(Some(note))
    }

    /// Builds the receipt of the stored entry at `index`, against a signed tree head that
    /// covers it (shared by every request of the same applied batch).
    pub async fn receipt(&self, index: u64, duplicate: bool) -> Result<Receipt, ReceiptError> {
        let note = self.at_least(index + 1).await?;
        let size = note.checkpoint().tree_size();
        let proof = self.entry_proof(index, size).await?;
        let entry_hex = hex::encode(&proof.bytes);
        let inclusion = proof
            .path
            .iter()
            .map(|h| hex::encode(h.as_bytes()))
            .collect();
        let tree_head = note.to_note_text();
        let text = proto_types::receipt::Receipt {
            entry_bytes: proof.bytes,
            index,
            proof: proof.path,
            note,
        }
        .to_text();
        Ok(Receipt {
            index,
            entry_hash: proof.hash.to_hex(),
            duplicate,
            entry_hex,
            tree_size: size,
            root: hex::encode(proof.root.as_bytes()),
            inclusion,
            tree_head,
            proof: text,
        })
    }

    /// The proofs of a batch's entries (docs/FORMAT.md §Batch): one signed tree head covering
    /// every index of `indexes` (and at least the current head), and each entry with its
    /// inclusion path against it, in the order asked.
    pub async fn proofs(&self, indexes: &[u64]) -> Result<SetProofs, ReceiptError> {
        let min_size = indexes.iter().max().map_or(1, |i| i + 1);
        let note = self.at_least(min_size).await?;
        let size = note.checkpoint().tree_size();
        let mut entries = Vec::with_capacity(indexes.len());
        for &index in indexes {
            entries.push(self.entry_proof(index, size).await?);
        }
        Ok(SetProofs {
            root: *note.checkpoint().root(),
            note,
            entries,
        })
    }

    /// The stored entry at `index` and its inclusion path in the tree of `size`.
    async fn entry_proof(&self, index: u64, size: u64) -> Result<EntryProof, ReceiptError> {
        let bytes = match self.ledger.recent().entry(index) {
            Some(bytes) => bytes.to_vec(),
            None => {
                let store = self.store.clone();
                blocking(move || Reader::new(&store).entry_bytes(index))
                    .await
                    .map_err(|e| internal("reading an entry", e))?
                    .ok_or_else(|| {
                        internal("building a receipt", format!("entry {index} is not stored"))
                    })?
            }
        };
        // The stored bytes end with the entry's chain hash (docs/FORMAT.md §Entry): no decoding.
        let hash = crate::ledger::stored_hash(&bytes)
            .ok_or_else(|| internal("building a receipt", format!("entry {index} is too short")))?;
        let (path, root) = self.inclusion(index, size).await?;
        Ok(EntryProof {
            index,
            hash,
            bytes,
            path,
            root,
        })
    }

    /// The inclusion proof of `index` in the tree of `size`, and that tree's root: from the
    /// ledger's recent tail if it holds the nodes, else from the store.
    async fn inclusion(
        &self,
        index: u64,
        size: u64,
    ) -> Result<(Vec<MerkleHash>, MerkleHash), ReceiptError> {
        if let Some(found) = self.ledger.recent().inclusion(index, size) {
            return Ok(found);
        }
        let store = self.store.clone();
        blocking(move || Ok::<_, StoreError>(Reader::new(&store).inclusion(index, size)))
            .await
            .map_err(|e| internal("reading Merkle nodes", e))?
            .map_err(proof_error)
    }
}
