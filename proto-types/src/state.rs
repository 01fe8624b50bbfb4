//! The state `apply` reads, as a trait, so the node can keep it in RocksDB and the auditor in
//! memory; and [`MemState`], the in-memory implementation.

use crate::entry::{ChainHead, EntryHash};
use crate::ids::{CaseId, HandoffId};
use crate::merkle::{MemTree, MerkleHash};
use crate::records::{Applied, CaseRecord, HandoffRecord, SubmissionRecord};
use crate::registry::Registry;
use std::collections::HashMap;
use std::convert::Infallible;

/// What `apply` may read. Implementations must reflect every earlier [`Applied`] of the same
/// log, including those not yet persisted (e.g. earlier entries of the same write batch).
pub trait LedgerState {
    /// A storage failure (not a business outcome).
    type Error: std::error::Error + Send + Sync + 'static;

    /// The chain's head.
    fn head(&self) -> ChainHead;
    /// The registry, once genesis is applied.
    fn registry(&self) -> Option<&Registry>;
    /// The earlier submission with this id, if any.
    fn submission(&self, id: &HandoffId) -> Result<Option<SubmissionRecord>, Self::Error>;
    /// A case.
    fn case(&self, id: &CaseId) -> Result<Option<CaseRecord>, Self::Error>;
    /// A handoff.
    fn handoff(&self, id: &HandoffId) -> Result<Option<HandoffRecord>, Self::Error>;
    /// The Merkle root of the first `size` entries (`size` <= head size).
    fn merkle_root(&self, size: u64) -> Result<MerkleHash, Self::Error>;
    /// The chain hash of entry `index`, if the ledger has it.
    fn entry_hash(&self, index: u64) -> Result<Option<EntryHash>, Self::Error>;
}

/// The whole state in memory: for tests and the auditor's replay.
#[derive(Debug, Clone, Default)]
pub struct MemState {
    head: Option<ChainHead>,
    registry: Option<Registry>,
    submissions: HashMap<HandoffId, SubmissionRecord>,
    cases: HashMap<CaseId, CaseRecord>,
    handoffs: HashMap<HandoffId, HandoffRecord>,
    tree: MemTree,
    hashes: Vec<EntryHash>,
}

impl MemState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an applied entry.
    pub fn commit(&mut self, applied: &Applied) {
        let size = self.head().size;
        self.tree.push(applied.leaf());
        self.hashes.push(applied.entry.hash);
        self.head = Some(ChainHead {
            size: size + 1,
            hash: applied.entry.hash,
            time: applied.entry.body.accepted_at,
        });
        if let Some(r) = &applied.changes.registry {
            self.registry = Some(r.clone());
        }
        if let Some(s) = &applied.changes.submission {
            self.submissions.insert(s.id.clone(), s.clone());
        }
        for c in &applied.changes.cases {
            self.cases.insert(c.case_id.clone(), c.clone());
        }
        for h in &applied.changes.handoffs {
            self.handoffs.insert(h.id.clone(), h.clone());
        }
    }

    /// Records an applied entry, taking its changes instead of copying them, with the entry's
    /// Merkle leaf hash ([`crate::merkle::leaf_hash`] of `applied.entry.body.leaf_bytes()`)
    /// computed by the caller, e.g. from the canonical bytes the entry was decoded from, which
    /// are its encoding (decoding is strict). The auditor's replay: its workers hash each
    /// entry's bytes while the replay applies the entries before it.
    pub fn commit_owned(&mut self, applied: Applied, leaf_hash: MerkleHash) {
        let size = self.head().size;
        self.tree.push_hash(leaf_hash);
        self.hashes.push(applied.entry.hash);
        self.head = Some(ChainHead {
            size: size + 1,
            hash: applied.entry.hash,
            time: applied.entry.body.accepted_at,
        });
        let changes = applied.changes;
        if let Some(r) = changes.registry {
            self.registry = Some(r);
        }
        if let Some(s) = changes.submission {
            self.submissions.insert(s.id.clone(), s);
        }
        for c in changes.cases {
            self.cases.insert(c.case_id.clone(), c);
        }
        for h in changes.handoffs {
            self.handoffs.insert(h.id.clone(), h);
        }
    }

    /// The Merkle tree of the entries committed so far (the auditor's proofs).
    pub fn tree(&self) -> &MemTree {
        &self.tree
    }

    /// Every case, in no particular order.
    pub fn cases(&self) -> impl Iterator<Item = &CaseRecord> {
        self.cases.values()
    }

    /// Every handoff, in no particular order.
    pub fn handoffs(&self) -> impl Iterator<Item = &HandoffRecord> {
        self.handoffs.values()
    }
}

impl LedgerState for MemState {
    type Error = Infallible;

    fn head(&self) -> ChainHead {
        self.head.unwrap_or(ChainHead::EMPTY)
    }
    fn registry(&self) -> Option<&Registry> {
        self.registry.as_ref()
    }
    fn submission(&self, id: &HandoffId) -> Result<Option<SubmissionRecord>, Infallible> {
        Ok(self.submissions.get(id).cloned())
    }
    fn case(&self, id: &CaseId) -> Result<Option<CaseRecord>, Infallible> {
        Ok(self.cases.get(id).cloned())
    }
    fn handoff(&self, id: &HandoffId) -> Result<Option<HandoffRecord>, Infallible> {
        Ok(self.handoffs.get(id).cloned())
    }
    fn merkle_root(&self, size: u64) -> Result<MerkleHash, Infallible> {
        Ok(self
            .tree
            .root_at(size)
            .expect("apply asks only for sizes up to the head"))
    }
    fn entry_hash(&self, index: u64) -> Result<Option<EntryHash>, Infallible> {
        Ok(usize::try_from(index)
            .ok()
            .and_then(|i| self.hashes.get(i))
            .copied())
    }
}
