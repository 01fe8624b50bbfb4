//! The signed tree head behind receipts: a C2SP checkpoint note signed by this node alone
//! (key name `node-<id>`, origin `caseledger/<cluster name>`), signed once per applied batch,
//! not once per request: the latest note is cached and re-signed only when the ledger grew.

use std::sync::atomic::{AtomicU64, Ordering};

use proto_types::checkpoint::{node_key_name, origin_for, sign, Checkpoint, CosignedCheckpoint};
use proto_types::Entry;

use super::error::ApiError;
use crate::node::NodeCtx;
use crate::store::{be_u64, blocking, Cf};

/// The latest tree head this node signed.
#[derive(Debug, Default)]
pub struct TreeHeads {
    latest: tokio::sync::Mutex<Option<CosignedCheckpoint>>,
    signed: AtomicU64,
}

impl TreeHeads {
    /// How many tree heads this node signed since it started.
    pub fn signed_count(&self) -> u64 {
        self.signed.load(Ordering::Relaxed)
    }

    /// A signed tree head covering at least `min_size` entries: the cached one if the ledger
    /// has not grown since, else a new one at the current size. Concurrent callers of one
    /// batch wait on the same lock and share the note.
    pub async fn at_least(
        &self,
        node: &NodeCtx,
        min_size: u64,
    ) -> Result<CosignedCheckpoint, ApiError> {
        let mut latest = self.latest.lock().await;
        let size = node.ledger.head().size.max(min_size);
        if let Some(note) = latest.as_ref() {
            if note.checkpoint().tree_size() >= size {
                return Ok(note.clone());
            }
        }
        // The head in memory may run ahead of a batch still being written: sign the current
        // size if its last entry is stored, else the size the caller needs (written).
        let note = match sign_at(node, size).await? {
            Some(n) => n,
            None => sign_at(node, min_size).await?.ok_or_else(|| {
                ApiError::internal(
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
}

/// Signs the tree head at `size`, or `None` if entry `size - 1` is not stored yet.
async fn sign_at(node: &NodeCtx, size: u64) -> Result<Option<CosignedCheckpoint>, ApiError> {
    let registry = node
        .ledger
        .registry()
        .ok_or_else(|| ApiError::unavailable("the ledger has no genesis yet"))?;
    if size == 0 {
        return Err(ApiError::unavailable("the ledger is empty"));
    }
    let store = node.store.clone();
    let read = blocking(move || -> Result<Option<(Vec<u8>, proto_types::merkle::MerkleHash)>, crate::store::StoreError> {
        let Some(bytes) = store.get(Cf::Ledger, &be_u64(size - 1))? else { return Ok(None) };
        let root = crate::ledger::root_at(&store, size)?;
        Ok(Some((bytes, root)))
    })
    .await
    .map_err(|e| ApiError::internal("reading the tree head", e))?;
    let Some((bytes, root)) = read else {
        return Ok(None);
    };
    let last =
        Entry::from_bytes(&bytes).map_err(|e| ApiError::internal("decoding a stored entry", e))?;
    let checkpoint = Checkpoint::new(
        origin_for(&registry.cluster_name),
        size,
        root,
        *last.hash.as_bytes(),
        last.body.accepted_at.as_millis(),
    )
    .map_err(|e| ApiError::internal("building the tree head", e))?;
    let signature = sign(&checkpoint, &node_key_name(node.id), &node.node_key)
        .map_err(|e| ApiError::internal("signing the tree head", e))?;
    let note = CosignedCheckpoint::new(checkpoint, vec![signature])
        .map_err(|e| ApiError::internal("signing the tree head", e))?;
    Ok(Some(note))
}
