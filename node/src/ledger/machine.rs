//! The real ledger behind the replicated state machine: every committed proposal goes through
//! the core's one `apply` function, over a [`LedgerState`] view of RocksDB plus the batch being
//! built, and its effects (entry, Merkle nodes, indexes, registry, head) are staged into the
//! same batch as the applied log id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use proto_types::apply::{Applied as CoreApplied, SubmissionRecord};
use proto_types::crypto::{Digest, PublicKey};
use proto_types::encoding::{decode, encode};
use proto_types::merkle::{self, MerkleHash, NodeWrite, Overlay};
use proto_types::registry::Registry;
use proto_types::replay::{self, ReplayFault};
use proto_types::workflow::{CaseRecord, HandoffRecord};
use proto_types::{
    apply, ChainHead, Entry, LedgerState, Outcome, Proposal as CoreProposal, Record, SignatureCheck,
};
use serde::{Deserialize, Serialize};

use super::catchup::{EntrySource, SnapshotSource};
use super::recent::{Recent, StoreMerkle, Through, Written};
use super::{keys, Applied, LedgerMachine, LedgerPointer, Proposal};
use crate::metrics::{CheckedBy, Metrics};
use crate::store::{be_u64, merkle_key, meta_key, Batch, Cf, Store, StoreError};

/// What applying one proposal produced, as returned to the proposer (postcard-encoded in the
/// Raft response).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApplyResult {
    /// A new entry: accepted, or a recorded rejection.
    Appended {
        /// Its ledger index.
        index: u64,
        /// Its chain hash.
        hash: [u8; 32],
        /// The rule and detail, if it records a rejection.
        rejected: Option<(proto_types::Rule, String)>,
    },
    /// The same submission was recorded before.
    Duplicate {
        /// The earlier index.
        index: u64,
    },
    /// Refused, not recorded.
    Refused(proto_types::Refusal),
    /// The proposal bytes did not decode (cannot come from a correct leader).
    Malformed(String),
}

/// The state `apply` reads: the store, seen through the batch being built (Merkle nodes
/// through the recent tail first).
struct View<'a> {
    store: &'a Store,
    batch: &'a mut Batch,
    head: ChainHead,
    registry: Option<Arc<Registry>>,
    merkle: Overlay<'a, Through<'a>>,
    /// The entries staged, for the recent tail once written.
    written: Vec<Written>,
    /// Case and handoff records written before this batch, decoded.
    hot: &'a HotRecords,
    /// The case and handoff records this batch stages, by key.
    records: Records,
}

/// Case and handoff records by their `by_case` / `by_handoff_id` key.
#[derive(Debug, Default)]
struct Records {
    cases: HashMap<Vec<u8>, CaseRecord>,
    handoffs: HashMap<Vec<u8>, HandoffRecord>,
}

/// The case and handoff records apply read or wrote lately, as written: apply's reads of the
/// records a workflow step touches come from memory (issue 18, "a lean apply"). Filled by
/// reads of the store and by written batches only, so it never holds what is not on disk.
#[derive(Debug, Default)]
struct HotRecords(Mutex<Records>);

/// How many records of each kind [`HotRecords`] keeps before it starts over.
const HOT_RECORDS: usize = 20_000;

impl HotRecords {
    fn get<T: Clone>(&self, pick: impl Fn(&Records) -> Option<&T>) -> Option<T> {
        pick(&lock(&self.0)).cloned()
    }

    fn put_case(&self, key: Vec<u8>, case: CaseRecord) {
        insert_bounded(&mut lock(&self.0).cases, key, case);
    }

    fn put_handoff(&self, key: Vec<u8>, handoff: HandoffRecord) {
        insert_bounded(&mut lock(&self.0).handoffs, key, handoff);
    }

    /// Takes in the records of a written batch.
    fn extend(&self, written: Records) {
        let mut r = lock(&self.0);
        for (k, c) in written.cases {
            insert_bounded(&mut r.cases, k, c);
        }
        for (k, h) in written.handoffs {
            insert_bounded(&mut r.handoffs, k, h);
        }
    }
}

/// Inserts, starting over when [`HOT_RECORDS`] are held.
fn insert_bounded<V>(map: &mut HashMap<Vec<u8>, V>, key: Vec<u8>, value: V) {
    if map.len() >= HOT_RECORDS && !map.contains_key(&key) {
        map.clear();
    }
    map.insert(key, value);
}

impl View<'_> {
    fn get_decoded<T: Serialize + serde::de::DeserializeOwned>(
        &self,
        cf: Cf,
        key: &[u8],
        what: &str,
    ) -> Result<Option<T>, StoreError> {
        match self.store.get_through(self.batch, cf, key)? {
            None => Ok(None),
            Some(v) => decode(&v)
                .map(Some)
                .map_err(|e| StoreError::corrupt(what, e)),
        }
    }

    /// Stages everything an appended entry changes: its bytes as `apply` sealed them (never
    /// encoded again here).
    fn stage(&mut self, applied: CoreApplied) -> Result<(), StoreError> {
        let index = applied.entry.body.index;
        self.merkle
            .append_leaf(index, applied.leaf())
            .map_err(|e| StoreError::corrupt("merkle append", e))?;
        let CoreApplied {
            entry,
            bytes,
            changes,
        } = applied;
        let bytes: Arc<[u8]> = bytes.into();
        self.batch.put(Cf::Ledger, be_u64(index), &bytes);
        self.written.push((index, bytes));
        if let Some(s) = &changes.submission {
            self.batch
                .put(Cf::ByHandoffId, keys::submission(&s.id), encode(s));
        }
        for c in changes.cases {
            let key = keys::case(&c.case_id);
            self.batch.put(Cf::ByCase, &key, encode(&c));
            self.records.cases.insert(key, c);
        }
        for h in &changes.handoffs {
            let key = keys::handoff(&h.id);
            self.batch.put(Cf::ByHandoffId, &key, encode(h));
            self.records.handoffs.insert(key, h.clone());
        }
        let payload = &entry.body.record.submission().payload;
        if let Some(case) = payload.case_id() {
            self.batch
                .put(Cf::ByCase, keys::case_entry(case, index), []);
        }
        for h in &changes.handoffs {
            // Receipts, acceptances and returns name a handoff, not a case: index them too.
            self.batch
                .put(Cf::ByCase, keys::case_entry(&h.case_id, index), []);
        }
        for org in keys::orgs_of(payload, &changes.handoffs) {
            self.batch.put(Cf::ByOrg, keys::org_entry(&org, index), []);
        }
        if let Record::Rejected(_) = &entry.body.record {
            self.batch.put(Cf::ByOrg, keys::rejection(index), []);
        } else if let proto_types::payload::Action::Checkpoint(_) = &payload.action {
            self.batch.put(Cf::ByOrg, keys::checkpoint(index), []);
        }
        if let Some(r) = &changes.registry {
            self.batch.put(Cf::SmMeta, meta_key::REGISTRY, encode(r));
            self.registry = Some(Arc::new(r.clone()));
        }
        self.head = ChainHead {
            size: index + 1,
            hash: entry.hash,
            time: entry.body.accepted_at,
        };
        Ok(())
    }
}

impl View<'_> {
    /// Stages the Merkle nodes and head of everything staged so far; returns what the
    /// ledger shows once the batch is written.
    fn finish(self) -> Staged {
        let View {
            batch,
            head,
            registry,
            merkle,
            written,
            records,
            ..
        } = self;
        let nodes = merkle.into_writes();
        for (level, index, hash) in &nodes {
            batch.put(Cf::Merkle, merkle_key(*level, *index), hash.as_bytes());
        }
        batch.put(Cf::SmMeta, meta_key::HEAD_HASH, encode(&head));
        batch.put(Cf::SmMeta, meta_key::TREE_SIZE, be_u64(head.size));
        Staged {
            cache: Cache { head, registry },
            written,
            nodes,
            records,
        }
    }
}

impl LedgerState for View<'_> {
    type Error = StoreError;

    fn head(&self) -> ChainHead {
        self.head
    }
    fn registry(&self) -> Option<&Registry> {
        self.registry.as_deref()
    }
    fn submission(
        &self,
        id: &proto_types::ids::HandoffId,
    ) -> Result<Option<SubmissionRecord>, StoreError> {
        self.get_decoded(Cf::ByHandoffId, &keys::submission(id), "submission record")
    }
    fn case(&self, id: &proto_types::ids::CaseId) -> Result<Option<CaseRecord>, StoreError> {
        let key = keys::case(id);
        if let Some(c) = self.records.cases.get(&key) {
            return Ok(Some(c.clone()));
        }
        if let Some(c) = self.hot.get(|r| r.cases.get(&key)) {
            return Ok(Some(c));
        }
        let found: Option<CaseRecord> = self.get_decoded(Cf::ByCase, &key, "case record")?;
        if let Some(c) = &found {
            self.hot.put_case(key, c.clone());
        }
        Ok(found)
    }
    fn handoff(
        &self,
        id: &proto_types::ids::HandoffId,
    ) -> Result<Option<HandoffRecord>, StoreError> {
        let key = keys::handoff(id);
        if let Some(h) = self.records.handoffs.get(&key) {
            return Ok(Some(h.clone()));
        }
        if let Some(h) = self.hot.get(|r| r.handoffs.get(&key)) {
            return Ok(Some(h));
        }
        let found: Option<HandoffRecord> =
            self.get_decoded(Cf::ByHandoffId, &key, "handoff record")?;
        if let Some(h) = &found {
            self.hot.put_handoff(key, h.clone());
        }
        Ok(found)
    }
    fn merkle_root(&self, size: u64) -> Result<MerkleHash, StoreError> {
        merkle::root(&self.merkle, size).map_err(|e| StoreError::corrupt("merkle root", e))
    }
    fn entry_hash(&self, index: u64) -> Result<Option<proto_types::EntryHash>, StoreError> {
        match self
            .store
            .get_through(self.batch, Cf::Ledger, &be_u64(index))?
        {
            None => Ok(None),
            Some(bytes) => stored_hash(&bytes).map(Some).ok_or_else(|| {
                StoreError::corrupt("ledger entry", format!("entry {index} is too short"))
            }),
        }
    }
}

/// The chain hash stored at the end of an entry's canonical bytes (docs/FORMAT.md §Entry).
pub fn stored_hash(entry_bytes: &[u8]) -> Option<proto_types::EntryHash> {
    let tail: [u8; 32] = entry_bytes
        .get(entry_bytes.len().checked_sub(32)?..)?
        .try_into()
        .ok()?;
    Some(proto_types::EntryHash::from_bytes(tail))
}

/// Signatures verified together on apply (the groups of [`proto_types::crypto::verify_many`]).
const VERIFY_GROUP: usize = 64;

/// [`proto_types::apply::preverify`] split over the machine's cores (for catch-up chunks:
/// thousands of entries; a live apply batch is verified on the applying thread).
fn preverify_on_all_cores(
    registry: &Registry,
    subs: &[(&proto_types::Submission, proto_types::Timestamp)],
) -> Vec<Option<PublicKey>> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let part = subs.len().div_ceil(threads).max(VERIFY_GROUP);
    if subs.len() <= part {
        return proto_types::apply::preverify(registry, subs, VERIFY_GROUP);
    }
    std::thread::scope(|scope| {
        let parts: Vec<_> = subs
            .chunks(part)
            .map(|chunk| {
                let handle = scope
                    .spawn(move || proto_types::apply::preverify(registry, chunk, VERIFY_GROUP));
                (chunk.len(), handle)
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|(len, handle)| {
                // Should a thread panic (a bug), its part gets no keys: apply verifies those.
                handle.join().unwrap_or_else(|_| vec![None; len])
            })
            .collect()
    })
}

/// A chunk of fetched entries made ready for [`Ledger::replay_chunk`] off the replay thread
/// (the core's replay layers 1-4, docs: `proto_types::replay`): decoded, their hashes
/// checked, and their signatures verified together on every core against the registry of an
/// earlier point of the ledger (apply trusts such a key only if it is still the signer's at
/// the entry's turn, and verifies again otherwise).
struct Prepared {
    /// The ledger index of the first entry.
    from: u64,
    /// The canonical bytes as fetched.
    entries: Vec<Vec<u8>>,
    /// Each decoded.
    decoded: Vec<Entry>,
    /// The key each signature verified with, if it did.
    keys: Vec<Option<PublicKey>>,
}

/// Prepares the chunk `entries` starting at ledger index `from`; `registry` is the one as of
/// some earlier point (`None` before genesis: apply then verifies each signature itself).
fn prepare_chunk(
    from: u64,
    entries: Vec<Vec<u8>>,
    registry: Option<&Registry>,
) -> Result<Prepared, StoreError> {
    let decoded = entries
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            replay::decode(bytes).map(|d| d.entry).map_err(|kind| {
                let index = from + i as u64;
                StoreError::corrupt("fetched entry", ReplayFault { index, kind })
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let keys = match registry {
        None => vec![None; decoded.len()],
        Some(registry) => {
            let subs: Vec<_> = decoded
                .iter()
                .map(|e| (e.body.record.submission(), e.body.accepted_at))
                .collect();
            preverify_on_all_cores(registry, &subs)
        }
    };
    Ok(Prepared {
        from,
        entries,
        decoded,
        keys,
    })
}

/// What the ledger keeps in memory: only the head and the registry (both small).
#[derive(Debug, Clone)]
struct Cache {
    head: ChainHead,
    registry: Option<Arc<Registry>>,
}

/// What a staged batch will show once written.
#[derive(Debug)]
struct Staged {
    cache: Cache,
    written: Vec<Written>,
    nodes: Vec<NodeWrite>,
    records: Records,
}

/// The ledger of one node.
pub struct Ledger {
    cache: Mutex<Cache>,
    /// The head and registry of a batch staged but not yet written, with its entries and
    /// Merkle nodes: promoted to `cache` and `recent` by `batch_written`, so readers never see
    /// a head whose entries are not on disk.
    pending: Mutex<Option<Staged>>,
    /// The recent entries and Merkle nodes, written: receipts and apply read them from memory.
    recent: Recent,
    /// The case and handoff records apply touched lately, written.
    hot: HotRecords,
    /// This node's peer address and how to pull entries from peers (for snapshots).
    source: std::sync::OnceLock<(String, Arc<dyn EntrySource>)>,
    /// Submissions whose signature this node verified at ingress, by digest, with the key.
    verified: Mutex<HashMap<Digest, PublicKey>>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Ledger {
    /// Opens the ledger over `store`, reading the head and registry it holds.
    pub fn open(store: &Store, metrics: Arc<Metrics>) -> Result<Self, StoreError> {
        let head = match store.get(Cf::SmMeta, meta_key::HEAD_HASH)? {
            None => ChainHead::EMPTY,
            Some(v) => decode(&v).map_err(|e| StoreError::corrupt("chain head", e))?,
        };
        let registry = match store.get(Cf::SmMeta, meta_key::REGISTRY)? {
            None => None,
            Some(v) => Some(Arc::new(
                decode(&v).map_err(|e| StoreError::corrupt("registry", e))?,
            )),
        };
        let recent = Recent::default();
        recent.load_high(store)?;
        Ok(Self {
            cache: Mutex::new(Cache { head, registry }),
            pending: Mutex::new(None),
            recent,
            hot: HotRecords::default(),
            source: std::sync::OnceLock::new(),
            verified: Mutex::new(HashMap::new()),
            metrics,
        })
    }

    /// The chain head as of the last applied batch.
    pub fn head(&self) -> ChainHead {
        lock(&self.cache).head
    }

    /// The recent tail of the ledger, written and synced (entries and Merkle nodes).
    pub fn recent(&self) -> &Recent {
        &self.recent
    }

    /// Shows readers a written batch: its entries and nodes first, then its head.
    fn promote(&self, staged: Staged) {
        self.recent.extend(staged.written, &staged.nodes);
        self.hot.extend(staged.records);
        *lock(&self.cache) = staged.cache;
    }

    /// The registry as of the last applied batch.
    pub fn registry(&self) -> Option<Arc<Registry>> {
        lock(&self.cache).registry.clone()
    }

    /// Sets this node's peer address (named in the snapshots it builds) and the source of
    /// entries for catching up after installing another node's snapshot.
    pub fn set_peer_source(&self, own_raft_addr: String, source: Arc<dyn EntrySource>) {
        let _ = self.source.set((own_raft_addr, source));
    }

    /// Replays a prepared chunk fetched from a peer: each entry must extend the chain and be
    /// reproduced byte for byte by `apply`. Written as one synced batch.
    fn replay_chunk(&self, store: &Store, chunk: Prepared) -> Result<(), StoreError> {
        let cache = lock(&self.cache).clone();
        let base = self.recent.over(store);
        let mut batch = Batch::new();
        let mut view = View {
            store,
            batch: &mut batch,
            head: cache.head,
            registry: cache.registry,
            merkle: Overlay::new(&base),
            written: Vec::new(),
            hot: &self.hot,
            records: Records::default(),
        };
        if view.head.size != chunk.from {
            return Err(StoreError::corrupt(
                "catch-up",
                format!(
                    "a chunk from {} prepared for a ledger of {}",
                    chunk.from, view.head.size
                ),
            ));
        }
        let Prepared {
            entries,
            decoded,
            keys,
            ..
        } = chunk;
        for ((entry, key), bytes) in decoded.into_iter().zip(keys).zip(&entries) {
            let by = match key {
                Some(_) => CheckedBy::Batch,
                None => CheckedBy::Apply,
            };
            let index = view.head.size;
            match replay::reapply(&view, entry, bytes, key)? {
                Ok(a) => {
                    view.stage(a)?;
                    self.metrics.signature_checked(by);
                    self.metrics.entries_applied.inc();
                }
                Err(kind) => {
                    return Err(StoreError::corrupt(
                        "fetched entry",
                        ReplayFault { index, kind },
                    ))
                }
            }
        }
        let staged = view.finish();
        drop(base);
        store.write(batch)?;
        self.promote(staged);
        Ok(())
    }

    /// How apply is to check each proposal's signature: a submission this node verified at
    /// ingress is taken on its own word ([`Ledger::vouch`]); the others (those that came
    /// through another node) are verified here together, in batches
    /// ([`proto_types::apply::preverify`]), against the registry as the batch starts. Apply
    /// verifies again, one by one, any whose key has changed by its turn, and any that failed.
    fn signature_checks(
        &self,
        decoded: &[Result<CoreProposal, proto_types::encoding::DecodeError>],
        registry: Option<&Registry>,
    ) -> Vec<(SignatureCheck, CheckedBy)> {
        let mut checks = vec![(SignatureCheck::Verify, CheckedBy::Apply); decoded.len()];
        let mut others = Vec::new();
        {
            let mut vouched = lock(&self.verified);
            for (i, prop) in decoded.iter().enumerate() {
                if let Ok(prop) = prop {
                    match vouched.remove(&prop.submission.digest()) {
                        Some(key) => {
                            checks[i] = (SignatureCheck::VerifiedWith(key), CheckedBy::Ingress);
                        }
                        None => others.push(i),
                    }
                }
            }
        }
        let Some(registry) = registry else {
            return checks;
        };
        let subs: Vec<_> = others
            .iter()
            .filter_map(|&i| decoded[i].as_ref().ok())
            .map(|p| (&p.submission, p.stamped_at))
            .collect();
        let keys = proto_types::apply::preverify(registry, &subs, VERIFY_GROUP);
        for (&i, key) in others.iter().zip(keys) {
            if let Some(key) = key {
                checks[i] = (SignatureCheck::VerifiedWith(key), CheckedBy::Batch);
            }
        }
        checks
    }

    /// Records that this node verified a submission's signature at ingress with `key`, so its
    /// own apply need not repeat the curve arithmetic (DESIGN.md, trust boundaries).
    pub fn vouch(&self, digest: Digest, key: PublicKey) {
        let mut v = lock(&self.verified);
        if v.len() > 100_000 {
            v.clear();
        }
        v.insert(digest, key);
    }
}

impl LedgerMachine for Ledger {
    fn batch_written(&self) {
        if let Some(staged) = lock(&self.pending).take() {
            self.promote(staged);
        }
    }

    fn apply_batch(
        &self,
        store: &Store,
        proposals: Vec<Proposal>,
        batch: &mut Batch,
    ) -> Result<Vec<Applied>, StoreError> {
        let cache = lock(&self.cache).clone();
        let base = self.recent.over(store);
        let mut view = View {
            store,
            batch,
            head: cache.head,
            registry: cache.registry,
            merkle: Overlay::new(&base),
            written: Vec::new(),
            hot: &self.hot,
            records: Records::default(),
        };
        let decoded: Vec<_> = proposals
            .iter()
            .map(|p| CoreProposal::from_bytes(&p.bytes))
            .collect();
        let checks = self.signature_checks(&decoded, view.registry.as_deref());
        let mut out = Vec::with_capacity(proposals.len());
        for (decoded, (check, by)) in decoded.into_iter().zip(checks) {
            let result = match decoded {
                Err(e) => ApplyResult::Malformed(e.to_string()),
                Ok(prop) => match apply(&view, &prop, check)? {
                    Outcome::Appended(applied) => {
                        self.metrics.signature_checked(by);
                        let rejected = match &applied.entry.body.record {
                            Record::Rejected(r) => {
                                self.metrics.rejected(&r.rule.code());
                                Some((r.rule, r.detail.clone()))
                            }
                            Record::Accepted(_) => None,
                        };
                        let result = ApplyResult::Appended {
                            index: applied.entry.body.index,
                            hash: *applied.entry.hash.as_bytes(),
                            rejected,
                        };
                        view.stage(*applied)?;
                        self.metrics.entries_applied.inc();
                        result
                    }
                    Outcome::Duplicate { index } => {
                        self.metrics.duplicates.inc();
                        ApplyResult::Duplicate { index }
                    }
                    Outcome::Refused(r) => {
                        self.metrics.refused.inc();
                        ApplyResult::Refused(r)
                    }
                },
            };
            let ledger_index = match &result {
                ApplyResult::Appended { index, .. } | ApplyResult::Duplicate { index } => {
                    Some(*index)
                }
                _ => None,
            };
            let outcome = postcard::to_allocvec(&result)
                .map_err(|e| StoreError::corrupt("apply result", e))?;
            out.push(Applied {
                ledger_index,
                outcome,
            });
        }
        let staged = view.finish();
        self.metrics.apply_batches.inc();
        *lock(&self.pending) = Some(staged);
        Ok(out)
    }

    fn snapshot_pointer(&self, store: &Store) -> Result<LedgerPointer, StoreError> {
        let head = self.head();
        let root = root_at(store, head.size)?;
        let source = SnapshotSource {
            raft_addr: self
                .source
                .get()
                .map(|(a, _)| a.clone())
                .unwrap_or_default(),
        };
        let state = postcard::to_allocvec(&source)
            .map_err(|e| StoreError::corrupt("snapshot source", e))?;
        Ok(LedgerPointer {
            tree_size: head.size,
            head_hash: *head.hash.as_bytes(),
            root: *root.as_bytes(),
            state,
        })
    }

    fn behind(&self, pointer: &LedgerPointer) -> bool {
        self.head().size < pointer.tree_size
    }

    fn install_snapshot(
        &self,
        store: &Store,
        pointer: &LedgerPointer,
        batch: &mut Batch,
    ) -> Result<(), StoreError> {
        let _ = batch;
        let mut size = self.head().size;
        if size < pointer.tree_size {
            let from: SnapshotSource = postcard::from_bytes(&pointer.state)
                .map_err(|e| StoreError::corrupt("snapshot source", e))?;
            let (_, fetcher) = self
                .source
                .get()
                .ok_or_else(|| StoreError::corrupt("snapshot", "no entry source configured"))?;
            tracing::info!(from = size, to = pointer.tree_size, peer = %from.raft_addr, "catching up the ledger behind a snapshot");
            let fetch = |at: u64| {
                let limit = (pointer.tree_size - at).min(super::catchup::MAX_CHUNK);
                match fetcher.fetch(&from.raft_addr, at, limit) {
                    Ok(chunk) if chunk.is_empty() => Err(StoreError::corrupt(
                        "catch-up fetch",
                        format!("{} has no entry {at}", from.raft_addr),
                    )),
                    Ok(chunk) => Ok(chunk),
                    Err(e) => Err(StoreError::corrupt("catch-up fetch", e)),
                }
            };
            let prepare = |at: u64, registry: Option<Arc<Registry>>| {
                fetch(at).and_then(|entries| prepare_chunk(at, entries, registry.as_deref()))
            };
            // The next chunk is fetched, decoded and its signatures verified (against the
            // registry as this one starts) while this one is replayed.
            let mut chunk = prepare(size, self.registry())?;
            while size < pointer.tree_size {
                let after = chunk.from + chunk.entries.len() as u64;
                let registry = self.registry();
                let (replayed, next) = std::thread::scope(|scope| {
                    let next = (after < pointer.tree_size)
                        .then(|| scope.spawn(|| prepare(after, registry)));
                    let replayed = self.replay_chunk(store, chunk);
                    let next = next.map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(StoreError::corrupt(
                                "catch-up fetch",
                                "the fetching thread panicked",
                            ))
                        })
                    });
                    (replayed, next)
                });
                replayed?;
                size = self.head().size;
                match next {
                    Some(next) => chunk = next?,
                    None => break,
                }
            }
        }
        let head = self.head();
        let root = root_at(store, pointer.tree_size)?;
        let same_head = head.size > pointer.tree_size || head.hash.as_bytes() == &pointer.head_hash;
        if head.size < pointer.tree_size || !same_head || root.as_bytes() != &pointer.root {
            return Err(StoreError::corrupt(
                "snapshot",
                format!(
                    "after catch-up the ledger (size {}, head {}) is not the snapshot's (size {})",
                    head.size, head.hash, pointer.tree_size
                ),
            ));
        }
        Ok(())
    }
}

/// The Merkle root of the first `size` entries, from the store.
pub fn root_at(store: &Store, size: u64) -> Result<MerkleHash, StoreError> {
    merkle::root(&StoreMerkle(store), size).map_err(|e| StoreError::corrupt("merkle root", e))
}

/// `PATH(index, D[size])` from the store's Merkle nodes.
pub fn inclusion_proof(
    store: &Store,
    index: u64,
    size: u64,
) -> Result<Vec<MerkleHash>, StoreError> {
    merkle::inclusion_proof(&StoreMerkle(store), index, size)
        .map_err(|e| StoreError::corrupt("inclusion proof", e))
}

/// Every entry of the ledger, decoded (tests and small tools; the API pages instead).
pub fn all_entries(store: &Store) -> Result<Vec<Entry>, StoreError> {
    let mut out = Vec::new();
    let mut from = 0u64;
    loop {
        let chunk = store.scan_u64(Cf::Ledger, from.., 1024)?;
        let Some((last, _)) = chunk.last() else { break };
        from = last + 1;
        for (_, bytes) in chunk {
            out.push(
                Entry::from_bytes(&bytes).map_err(|e| StoreError::corrupt("ledger entry", e))?,
            );
        }
    }
    Ok(out)
}
