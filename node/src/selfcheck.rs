//! The self-check: a node re-verifies what it stores, at startup (the node is not ready until
//! it is done) and then continuously in the background at a bounded rate.
//!
//! For every stored entry, in order, with the layers of the core's replay that compare
//! without applying again (`proto_types::replay`: bytes, chain, Merkle): it decodes strictly,
//! its hash is its body's, its index, `prev` and time extend the chain (docs/FORMAT.md §Chain);
//! its Merkle leaf and every subtree it completes
//! equal the stored `merkle` nodes (§Merkle, recomputed from the entries with a compact
//! range, so memory stays O(log n)); its index rows exist and agree (the idempotency record's
//! index and digest, the case timeline row, the rejection or checkpoint row). Every accepted
//! checkpoint entry's root and chain head must be the stored tree's at its size.
//!
//! Damage is never repaired: the first bad index (or row) is recorded, logged as an error and
//! counted (`caseledger_selfcheck_failures_total`), `/readyz` fails naming it, reads of entries at or
//! after it are refused (`503 DAMAGED`) and the node stops cosigning. An operator restores the
//! node from a healthy replica.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use proto_types::checkpoint::CosignedCheckpoint;
use proto_types::merkle::MerkleHash;
use proto_types::payload::Action;
use proto_types::replay::{self, CompactRange};
use proto_types::{ChainHead, Record};
use serde::Serialize;

use crate::ledger::Reader;
use crate::metrics::Metrics;
use crate::store::{be_u64, blocking, merkle_key, meta_key, read_be_u64, Cf, Store, StoreError};

/// Entries read per chunk.
const CHUNK: u64 = 1000;

/// The first damage found: the entry index it concerns and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Damage {
    /// The first bad ledger index (for a bad row or Merkle node: the entry it belongs to).
    pub index: u64,
    /// What is wrong, naming the row or node.
    pub what: String,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "stored ledger damaged at entry {}: {}",
            self.index, self.what
        )
    }
}

/// Why this node is not ready, as far as the self-check goes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelfCheckUnready {
    /// The stored ledger is damaged.
    #[error("{0}")]
    Damaged(Damage),
    /// The startup pass has not finished.
    #[error("self-check of the stored ledger still running")]
    Running,
}

/// A stored Merkle node that is not the hash of the entries under it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum MerkleNodeFault {
    /// It holds another hash.
    #[error("merkle node (level {level}, index {index}) differs from the hash of the entries")]
    Differs {
        /// Its level.
        level: u8,
        /// Its index at that level.
        index: u64,
    },
    /// It is not stored.
    #[error("merkle node (level {level}, index {index}) is missing")]
    Missing {
        /// Its level.
        level: u8,
        /// Its index at that level.
        index: u64,
    },
}

/// What the self-check has found so far, for `/admin/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SelfCheckReport {
    /// Whether the startup pass is done.
    pub startup_done: bool,
    /// The first damage found, if any.
    pub damage: Option<Damage>,
    /// Entries verified by the last completed pass (or the current one, if further).
    pub verified_entries: u64,
    /// Passes completed.
    pub passes: u64,
}

#[derive(Debug, Default)]
struct State {
    startup_done: bool,
    damage: Option<Damage>,
    /// Entries verified by the last completed pass (or the current one, if further).
    verified: u64,
    passes: u64,
}

/// What the self-check has found, shared with the API and the checkpointer.
#[derive(Debug, Default)]
pub struct Health {
    state: Mutex<State>,
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Health {
    /// Ready as far as the self-check goes: the startup pass is done and found nothing.
    pub fn readiness(&self) -> Result<(), SelfCheckUnready> {
        let s = lock(&self.state);
        if let Some(d) = &s.damage {
            return Err(SelfCheckUnready::Damaged(d.clone()));
        }
        if !s.startup_done {
            return Err(SelfCheckUnready::Running);
        }
        Ok(())
    }

    /// The first damaged index, if any: reads at or after it are refused.
    pub fn damaged_from(&self) -> Option<Damage> {
        lock(&self.state).damage.clone()
    }

    /// Where reads from `from` must stop: `Err` with the damage if `from` is at or after the
    /// first damaged index, else the exclusive end up to which reads may be served
    /// (`u64::MAX` while nothing is damaged).
    pub fn undamaged_until(&self, from: u64) -> Result<u64, Damage> {
        match self.damaged_from() {
            Some(d) if from >= d.index => Err(d),
            Some(d) => Ok(d.index),
            None => Ok(u64::MAX),
        }
    }

    /// For `/admin/status`.
    pub fn report(&self) -> SelfCheckReport {
        let s = lock(&self.state);
        SelfCheckReport {
            startup_done: s.startup_done,
            damage: s.damage.clone(),
            verified_entries: s.verified,
            passes: s.passes,
        }
    }

    fn record(&self, damage: Damage, metrics: &Metrics) {
        let mut s = lock(&self.state);
        if s.damage.is_none() {
            tracing::error!(index = damage.index, what = %damage.what, "SELF-CHECK FAILED: {damage}; refusing reads from this index; restore this node from a healthy replica");
            metrics.selfcheck_failures.inc();
            s.damage = Some(damage);
        }
    }
}

/// One pass over the stored ledger, chunk by chunk.
pub struct Pass {
    head: ChainHead,
    /// The perfect subtrees covering the entries so far (the core's compact range).
    range: CompactRange,
    /// Accepted checkpoint entries seen: (entry index, note).
    checkpoints: Vec<(u64, CosignedCheckpoint)>,
}

impl Default for Pass {
    fn default() -> Self {
        Self::new()
    }
}

impl Pass {
    /// A pass from entry 0.
    pub fn new() -> Self {
        Self {
            head: ChainHead::EMPTY,
            range: CompactRange::new(),
            checkpoints: Vec::new(),
        }
    }

    /// Entries verified so far.
    pub fn verified(&self) -> u64 {
        self.head.size
    }

    /// Verifies the next entries, up to `size` (exclusive), at most `max` of them.
    pub fn step(
        &mut self,
        store: &Store,
        size: u64,
        max: u64,
    ) -> Result<Result<(), Damage>, StoreError> {
        let from = self.head.size;
        if from >= size {
            return Ok(Ok(()));
        }
        let rows = store.scan_u64(Cf::Ledger, from..size, max.min(size - from) as usize)?;
        let mut expected = from;
        for (index, bytes) in rows {
            if index != expected {
                return Ok(Err(Damage {
                    index: expected,
                    what: format!("entry {expected} is missing from the ledger column family"),
                }));
            }
            if let Err(d) = self.entry(store, index, &bytes)? {
                return Ok(Err(d));
            }
            expected += 1;
        }
        if expected == from {
            return Ok(Err(Damage {
                index: from,
                what: format!("entry {from} is missing from the ledger column family"),
            }));
        }
        Ok(Ok(()))
    }

    fn entry(
        &mut self,
        store: &Store,
        index: u64,
        bytes: &[u8],
    ) -> Result<Result<(), Damage>, StoreError> {
        let bad = |what: String| Ok(Err(Damage { index, what }));
        // The core's replay, its bytes, chain and Merkle layers (proto_types::replay): the
        // self-check compares what is stored, it does not apply again.
        let replay::Decoded { entry, leaf } = match replay::decode(bytes) {
            Ok(d) => d,
            Err(kind) => return bad(format!("entry {index}: {kind}")),
        };
        match replay::link(&self.head, &entry) {
            Ok(h) => self.head = h,
            Err(kind) => return bad(format!("entry {index}: {kind}")),
        }
        // Merkle: the leaf and every subtree this leaf completes.
        for (level, node, hash) in self.range.push(leaf) {
            if let Err(fault) = compare_node(store, level, node, &hash)? {
                return bad(fault.to_string());
            }
        }
        // Index rows.
        if let Some(what) = Reader::new(store).index_damage(&entry)? {
            return bad(what);
        }
        let payload = &entry.body.record.submission().payload;
        if let (Record::Accepted(_), Action::Checkpoint(cp)) = (&entry.body.record, &payload.action)
        {
            match CosignedCheckpoint::parse_note(&cp.note) {
                Ok(note) => self.checkpoints.push((index, note)),
                Err(e) => {
                    return bad(format!(
                        "accepted checkpoint entry {index} holds an unparseable note: {e}"
                    ))
                }
            }
        }
        Ok(Ok(()))
    }

    /// After the entries: every checkpoint seen must match the stored tree and chain.
    pub fn finish(&mut self, store: &Store) -> Result<Result<(), Damage>, StoreError> {
        for (index, note) in std::mem::take(&mut self.checkpoints) {
            let cp = note.checkpoint();
            let size = cp.tree_size();
            let root = crate::ledger::root_at(store, size)?;
            if root != *cp.root() {
                return Ok(Err(Damage {
                    index: size.saturating_sub(1),
                    what: format!("the stored tree's root at size {size} is not the one cosigned by checkpoint entry {index}"),
                }));
            }
            let stored = store
                .get(Cf::Ledger, &be_u64(size - 1))?
                .and_then(|b| crate::ledger::stored_hash(&b));
            if stored.as_ref().map(|h| h.as_bytes()) != Some(cp.chain_head()) {
                return Ok(Err(Damage {
                    index: size - 1,
                    what: format!(
                        "entry {} is not the chain head cosigned by checkpoint entry {index}",
                        size - 1
                    ),
                }));
            }
        }
        Ok(Ok(()))
    }
}

fn compare_node(
    store: &Store,
    level: u8,
    index: u64,
    want: &MerkleHash,
) -> Result<Result<(), MerkleNodeFault>, StoreError> {
    Ok(match store.get(Cf::Merkle, &merkle_key(level, index))? {
        Some(v) if v.as_slice() == want.as_bytes() => Ok(()),
        Some(_) => Err(MerkleNodeFault::Differs { level, index }),
        None => Err(MerkleNodeFault::Missing { level, index }),
    })
}

/// The size durably written (the head in memory may run ahead of the last write by a batch).
fn stored_size(store: &Store) -> Result<u64, StoreError> {
    match store.get(Cf::SmMeta, meta_key::TREE_SIZE)? {
        None => Ok(0),
        Some(v) => read_be_u64(Cf::SmMeta, &v),
    }
}

/// Runs one whole pass over everything stored now, at most `rate` entries per second (0: no
/// limit). Returns the damage found, if any.
async fn run_pass(
    store: &Store,
    health: &Health,
    rate: u64,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> Result<Option<Damage>, StoreError> {
    let size = {
        let s = store.clone();
        blocking(move || stored_size(&s)).await?
    };
    let mut pass = Pass::new();
    while pass.verified() < size {
        let per = if rate == 0 {
            CHUNK
        } else {
            CHUNK.min(rate.max(1))
        };
        let started = std::time::Instant::now();
        let s = store.clone();
        let (p, result) = blocking(move || {
            let r = pass.step(&s, size, per);
            r.map(|r| (pass, r))
        })
        .await?;
        pass = p;
        if let Err(d) = result {
            return Ok(Some(d));
        }
        {
            let mut st = lock(&health.state);
            st.verified = st.verified.max(pass.verified());
        }
        if rate > 0 {
            let budget = Duration::from_secs_f64(per as f64 / rate as f64);
            let wait = budget.saturating_sub(started.elapsed());
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|s| *s) => return Ok(None),
            }
        }
    }
    let s = store.clone();
    let (_, result) = blocking(move || pass.finish(&s).map(|r| (pass, r))).await?;
    Ok(result.err())
}

/// The self-check task: a full-speed startup pass, then background passes at
/// `config.entries_per_second` (none if 0), each starting at least
/// `config.pass_every` after the one before, until `stop`.
pub async fn run(
    store: Store,
    health: Arc<Health>,
    metrics: Arc<Metrics>,
    config: crate::config::SelfCheckConfig,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let rate = config.entries_per_second;
    let every = config.pass_every.max(Duration::from_secs(1));
    let started = std::time::Instant::now();
    match run_pass(&store, &health, 0, &mut stop).await {
        Ok(Some(d)) => health.record(d, &metrics),
        Ok(None) => tracing::info!(
            entries = lock(&health.state).verified,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "startup self-check passed"
        ),
        Err(e) => health.record(
            Damage {
                index: 0,
                what: format!("the store could not be read: {e}"),
            },
            &metrics,
        ),
    }
    {
        let mut s = lock(&health.state);
        s.startup_done = true;
        s.passes += 1;
    }
    if rate == 0 {
        return;
    }
    let mut last = started;
    while health.damaged_from().is_none() && !*stop.borrow() {
        tokio::select! {
            () = tokio::time::sleep(every.saturating_sub(last.elapsed())) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        last = std::time::Instant::now();
        match run_pass(&store, &health, rate, &mut stop).await {
            Ok(Some(d)) => health.record(d, &metrics),
            Ok(None) => lock(&health.state).passes += 1,
            Err(StoreError::Poisoned) => return,
            Err(e) => tracing::warn!(%e, "background self-check could not read the store"),
        }
    }
}

/// Checks a stopped node's store in one go (tests and tools): the first damage, if any.
pub fn check_store(store: &Store) -> Result<Option<Damage>, StoreError> {
    let size = stored_size(store)?;
    let mut pass = Pass::new();
    while pass.verified() < size {
        if let Err(d) = pass.step(store, size, CHUNK)? {
            return Ok(Some(d));
        }
    }
    Ok(pass.finish(store)?.err())
}
