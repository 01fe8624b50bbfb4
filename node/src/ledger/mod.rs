//! The seam between Raft and the ledger: what the replicated state machine asks of the ledger.
//!
//! The Raft log is transport; the ledger belongs to the state machine (DESIGN.md, "Two logs,
//! two indexes"). `raft::state_machine` hands every committed proposal to a
//! [`LedgerMachine`], which decides its outcome deterministically and *stages* its effects
//! into a [`Batch`]. The state machine then adds the applied log id and membership to the same
//! batch and writes it once, synced. So a ledger apply and the log id it covers are durable
//! together or not at all.
//!
//! Nothing here names openraft: positions in the Raft log are plain [`LogPosition`]s.

use serde::{Deserialize, Serialize};

use crate::store::{Batch, Store, StoreError};

pub mod catchup;
#[cfg(test)]
pub(crate) mod echo;
mod keys;
mod machine;
pub mod read;
pub mod recent;

pub use machine::{all_entries, inclusion_proof, root_at, stored_hash, ApplyResult, Ledger};
pub use read::Reader;

/// The `by_handoff_id` key of a submission's idempotency record, for tests that alter that row
/// ([`Store::tamper_for_test`]) and expect the self-check to find it. Readers use [`Reader`].
pub fn submission_key_for_test(id: &proto_types::ids::HandoffId) -> Vec<u8> {
    keys::submission(id)
}

/// Where an entry sits in the Raft log: the leader that proposed it and its index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LogPosition {
    /// The term of the leader that proposed the entry.
    pub term: u64,
    /// The node id of the leader that proposed the entry.
    pub leader: u64,
    /// The entry's index in the Raft log (not the ledger index).
    pub index: u64,
}

/// One committed proposal, in log order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// Where it sits in the Raft log.
    pub position: LogPosition,
    /// Its canonical bytes, exactly as proposed (the core decodes them strictly).
    pub bytes: Vec<u8>,
}

/// The result of applying one proposal, returned to the proposer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Applied {
    /// The ledger index the proposal was appended at (an accepted entry or a rejection
    /// entry); `None` if it was refused without being recorded.
    pub ledger_index: Option<u64>,
    /// The encoded outcome (the core defines its encoding).
    pub outcome: Vec<u8>,
}

/// A snapshot of the ledger: a pointer into the immutable, kept-forever ledger plus the small
/// mutable state. Its size does not grow with the number of entries.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LedgerPointer {
    /// Number of ledger entries covered (`tree_size = last index + 1`).
    pub tree_size: u64,
    /// Hash of the last entry (`h_{tree_size-1}`); the core defines the empty value.
    pub head_hash: [u8; 32],
    /// Merkle root over the first `tree_size` entries.
    pub root: [u8; 32],
    /// The small mutable state (registry, open clocks, ...), encoded by the core.
    pub state: Vec<u8>,
}

/// The ledger side of the replicated state machine.
///
/// Implementations must be deterministic: every replica that applies the same proposals in
/// the same order from the same state stages the same bytes and returns the same outcomes.
/// They stage writes and never write themselves; the caller writes the batch (synced)
/// together with the applied log id. Within one call, later proposals must see the effects of
/// earlier ones: read through the batch with [`Store::get_through`] or keep them in locals.
///
/// `Err` means "this cannot happen in a valid state" (corrupt store, I/O): Raft stops. A
/// business rule broken by a proposal is an `Ok` outcome (a rejection entry), not an `Err`.
///
/// All methods are called from blocking tasks (never on the async runtime).
pub trait LedgerMachine: Send + Sync + 'static {
    /// Apply `proposals` (non-empty, in log order) and stage their effects into `batch`.
    /// Returns exactly one [`Applied`] per proposal, in the same order.
    fn apply_batch(
        &self,
        store: &Store,
        proposals: Vec<Proposal>,
        batch: &mut Batch,
    ) -> Result<Vec<Applied>, StoreError>;

    /// The pointer describing the ledger as it is now (everything applied so far).
    fn snapshot_pointer(&self, store: &Store) -> Result<LedgerPointer, StoreError>;

    /// Stage the installation of a snapshot received from the leader: adopt the pointer's
    /// mutable state and head, and record that ledger entries from the local tree size up to
    /// `pointer.tree_size` are missing (see [`LedgerMachine::missing_entries`]).
    fn install_snapshot(
        &self,
        store: &Store,
        pointer: &LedgerPointer,
        batch: &mut Batch,
    ) -> Result<(), StoreError>;

    /// Called once the batch filled by the last `apply_batch` is written and synced: only now
    /// may the ledger show readers the new head (the Merkle nodes and entries it names exist).
    fn batch_written(&self) {}

    /// Whether the ledger lacks entries that the installed snapshot `pointer` covers: an
    /// installation interrupted by a crash, which the state machine finishes
    /// ([`LedgerMachine::install_snapshot`] again, from where it stopped) when it opens,
    /// before anything else is applied.
    fn behind(&self, pointer: &LedgerPointer) -> bool {
        let _ = pointer;
        false
    }

    /// Ledger indexes this node lacks after installing a snapshot, as `[from, to)` (a
    /// ledger that records the gap instead of filling it; the test ledger does).
    fn missing_entries(&self, store: &Store) -> Result<Option<std::ops::Range<u64>>, StoreError> {
        let _ = store;
        Ok(None)
    }
}
