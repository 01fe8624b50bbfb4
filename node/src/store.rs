//! RocksDB at the level of bytes and column families.
//!
//! This is the only module that names `rocksdb`. Everything above it (`raft`, `ledger`) sees
//! column families ([`Cf`]), byte keys and byte values, a [`Batch`] of staged changes, and
//! [`StoreError`].
//!
//! Durability contract (see ARCHITECTURE.md):
//!
//! 1. Every change goes through [`Store::write`], which writes one RocksDB `WriteBatch` with
//!    the WAL on and `sync = true`: when it returns `Ok`, the batch is on disk.
//! 2. A failed write (or sync) **poisons** the store: every later call returns
//!    [`StoreError::Poisoned`], an error is logged, and [`Store::poisoned`] resolves so that
//!    `main` can exit. A failed fsync is never retried (the page cache may have dropped the
//!    dirty pages; a retry could report success for data that is gone).
//! 3. RocksDB statistics are on; [`Store::wal_stats`] reports WAL syncs and bytes so a metric
//!    and a test can check that every acknowledged batch was synced.
//!
//! All calls block. Async callers run them through [`blocking`].

use std::collections::HashMap;
use std::fmt;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use rocksdb::statistics::Ticker;
use rocksdb::{
    BlockBasedIndexType, BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, Direction,
    IteratorMode, Options, ReadOptions, WriteBatch, WriteOptions, DB,
};
use tokio::sync::watch;

/// Name of the column family holding openraft's log entries (index u64 BE → encoded entry).
pub const CF_RAFT_LOG: &str = "raft_log";
/// Name of the column family holding openraft's vote and last purged log id.
pub const CF_RAFT_META: &str = "raft_meta";
/// Name of the column family holding the ledger (index u64 BE → canonical entry bytes).
pub const CF_LEDGER: &str = "ledger";
/// Name of the column family holding Merkle subtree hashes (level u8 + index u64 BE → hash).
pub const CF_MERKLE: &str = "merkle";
/// Name of the column family indexing entries by case.
pub const CF_BY_CASE: &str = "by_case";
/// Name of the column family indexing entries by organisation.
pub const CF_BY_ORG: &str = "by_org";
/// Name of the column family indexing entries by handoff id (idempotency).
pub const CF_BY_HANDOFF_ID: &str = "by_handoff_id";
/// Name of the column family holding the running legal clocks.
pub const CF_OPEN_CLOCKS: &str = "open_clocks";
/// Name of the column family holding state-machine metadata under [`meta_key`]s.
pub const CF_SM_META: &str = "sm_meta";

/// A column family of the node's database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cf {
    /// [`CF_RAFT_LOG`]
    RaftLog,
    /// [`CF_RAFT_META`]
    RaftMeta,
    /// [`CF_LEDGER`]
    Ledger,
    /// [`CF_MERKLE`]
    Merkle,
    /// [`CF_BY_CASE`]
    ByCase,
    /// [`CF_BY_ORG`]
    ByOrg,
    /// [`CF_BY_HANDOFF_ID`]
    ByHandoffId,
    /// [`CF_OPEN_CLOCKS`]
    OpenClocks,
    /// [`CF_SM_META`]
    SmMeta,
}

impl Cf {
    /// Every column family, in the order they are opened.
    pub const ALL: [Cf; 9] = [
        Cf::RaftLog,
        Cf::RaftMeta,
        Cf::Ledger,
        Cf::Merkle,
        Cf::ByCase,
        Cf::ByOrg,
        Cf::ByHandoffId,
        Cf::OpenClocks,
        Cf::SmMeta,
    ];

    /// The column family's name on disk.
    pub const fn name(self) -> &'static str {
        match self {
            Cf::RaftLog => CF_RAFT_LOG,
            Cf::RaftMeta => CF_RAFT_META,
            Cf::Ledger => CF_LEDGER,
            Cf::Merkle => CF_MERKLE,
            Cf::ByCase => CF_BY_CASE,
            Cf::ByOrg => CF_BY_ORG,
            Cf::ByHandoffId => CF_BY_HANDOFF_ID,
            Cf::OpenClocks => CF_OPEN_CLOCKS,
            Cf::SmMeta => CF_SM_META,
        }
    }
}

impl fmt::Display for Cf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Keys of the metadata column families ([`Cf::RaftMeta`], [`Cf::SmMeta`]).
pub mod meta_key {
    /// `raft_meta`: the persisted vote.
    pub const VOTE: &[u8] = b"vote";
    /// `raft_meta`: the committed log id (reserved; see `raft::log_store` for why it is unused).
    pub const COMMITTED: &[u8] = b"committed";
    /// `raft_meta`: the last purged log id.
    pub const LAST_PURGED: &[u8] = b"last_purged";
    /// `sm_meta`: the last applied log id (written in the same batch as every apply).
    pub const APPLIED: &[u8] = b"applied";
    /// `sm_meta`: the last applied membership (written in the same batch as every apply).
    pub const MEMBERSHIP: &[u8] = b"membership";
    /// `sm_meta`: the current snapshot (a pointer into the ledger, not a copy).
    pub const SNAPSHOT: &[u8] = b"snapshot";
    /// `sm_meta`: the ledger's head hash.
    pub const HEAD_HASH: &[u8] = b"head_hash";
    /// `sm_meta`: the ledger's tree size (number of entries).
    pub const TREE_SIZE: &[u8] = b"tree_size";
    /// `sm_meta`: the key registry's state.
    pub const REGISTRY: &[u8] = b"registry";
}

/// Failures of the byte-level store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An earlier write or sync failed; the store refuses all further work and the node must
    /// be restarted by an operator.
    #[error("store is poisoned by an earlier failed write; the node must be restarted")]
    Poisoned,
    /// RocksDB reported an error while doing `op`.
    #[error("rocksdb {op} failed: {source}")]
    Rocks {
        /// What the store was doing.
        op: &'static str,
        /// RocksDB's error.
        #[source]
        source: rocksdb::Error,
    },
    /// A column family is missing from an opened database (cannot happen after `open`).
    #[error("column family {0} is missing")]
    MissingColumnFamily(&'static str),
    /// A key in an integer-keyed column family is not a big-endian u64.
    #[error("malformed key in {cf}: expected 8 bytes, got {len}")]
    MalformedKey {
        /// Where the key was found.
        cf: Cf,
        /// Its length.
        len: usize,
    },
    /// A stored value could not be decoded by a higher layer.
    #[error("corrupt value ({what}): {detail}")]
    Corrupt {
        /// Which value.
        what: String,
        /// Why it could not be decoded.
        detail: String,
    },
    /// A blocking task panicked or was cancelled.
    #[error("blocking store task failed: {0}")]
    Task(String),
    /// A write failed because a test asked for it ([`Store::fail_next_write_for_test`]).
    #[error("injected write failure (test hook)")]
    InjectedFailure,
}

impl StoreError {
    /// A stored value that a higher layer could not decode: `what` names the value.
    pub fn corrupt(what: &str, e: impl std::fmt::Display) -> Self {
        Self::Corrupt {
            what: what.to_owned(),
            detail: e.to_string(),
        }
    }
}

/// WAL statistics, from RocksDB's own counters and from the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WalStats {
    /// RocksDB ticker `rocksdb.wal.synced`: how many times the WAL was fsynced.
    pub synced: u64,
    /// RocksDB ticker `rocksdb.wal.bytes`: bytes written to the WAL.
    pub bytes: u64,
    /// Batches this store wrote with `sync = true` and reported as durable.
    pub acknowledged_batches: u64,
}

/// One staged change.
#[derive(Debug, Clone)]
enum Op {
    Put {
        cf: Cf,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        cf: Cf,
        key: Vec<u8>,
    },
    DeleteRange {
        cf: Cf,
        from: Vec<u8>,
        to: Vec<u8>,
    },
}

/// A key and its value, as read from a column family.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// What a [`Batch`] has staged for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staged<'a> {
    /// The batch puts this value.
    Put(&'a [u8]),
    /// The batch deletes the key.
    Deleted,
    /// The batch does not touch the key.
    Untouched,
}

/// RocksDB's memory budget: fixed, not growing with the ledger (`[storage]` in node.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBudget {
    /// The block cache shared by every column family, index and filter blocks included,
    /// bytes.
    pub block_cache: usize,
    /// All memtables together, bytes.
    pub write_buffers: usize,
}

impl Default for MemoryBudget {
    fn default() -> Self {
        MemoryBudget {
            block_cache: 64 << 20,
            write_buffers: 64 << 20,
        }
    }
}

/// Changes to write atomically with one synced [`Store::write`].
///
/// Unlike RocksDB's `WriteBatch` it is `Send`, so it can be built on the async runtime and
/// moved into a blocking task, and it can be read back ([`Batch::staged`],
/// [`Store::get_through`]) so that later entries of one apply see earlier ones.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    ops: Vec<Op>,
    /// Last point op (put or delete) per key, by position in `ops`.
    last_point: HashMap<(Cf, Vec<u8>), usize>,
    /// Positions in `ops` of range deletions.
    ranges: Vec<usize>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stage `key → value` in `cf`.
    pub fn put(&mut self, cf: Cf, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        let key = key.as_ref().to_vec();
        self.last_point.insert((cf, key.clone()), self.ops.len());
        self.ops.push(Op::Put {
            cf,
            key,
            value: value.as_ref().to_vec(),
        });
    }

    /// Stage the deletion of `key` in `cf`.
    pub fn delete(&mut self, cf: Cf, key: impl AsRef<[u8]>) {
        let key = key.as_ref().to_vec();
        self.last_point.insert((cf, key.clone()), self.ops.len());
        self.ops.push(Op::Delete { cf, key });
    }

    /// Stage the deletion of every key in `[from, to)` in `cf`.
    pub fn delete_range(&mut self, cf: Cf, from: impl AsRef<[u8]>, to: impl AsRef<[u8]>) {
        self.ranges.push(self.ops.len());
        self.ops.push(Op::DeleteRange {
            cf,
            from: from.as_ref().to_vec(),
            to: to.as_ref().to_vec(),
        });
    }

    /// Number of staged operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// What this batch has staged for `key` in `cf` (the last operation touching it wins).
    pub fn staged(&self, cf: Cf, key: &[u8]) -> Staged<'_> {
        let point = self.last_point.get(&(cf, key.to_vec())).copied();
        let range = self.ranges.iter().rev().copied().find(|&i| {
            matches!(&self.ops[i], Op::DeleteRange { cf: c, from, to }
                if *c == cf && from.as_slice() <= key && key < to.as_slice())
        });
        match (point, range) {
            (Some(p), Some(r)) if r > p => Staged::Deleted,
            (None, Some(_)) => Staged::Deleted,
            (Some(p), _) => match &self.ops[p] {
                Op::Put { value, .. } => Staged::Put(value),
                _ => Staged::Deleted,
            },
            (None, None) => Staged::Untouched,
        }
    }
}

/// The big-endian bytes of an integer key.
pub fn be_u64(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

/// Decode a big-endian integer key found in `cf`.
pub fn read_be_u64(cf: Cf, key: &[u8]) -> Result<u64, StoreError> {
    let bytes: [u8; 8] = key
        .try_into()
        .map_err(|_| StoreError::MalformedKey { cf, len: key.len() })?;
    Ok(u64::from_be_bytes(bytes))
}

/// The key of a Merkle subtree hash: level, then index big-endian.
pub fn merkle_key(level: u8, index: u64) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = level;
    key[1..].copy_from_slice(&index.to_be_bytes());
    key
}

/// A key greater than every 8-byte key: the exclusive end of "to the last index".
const AFTER_ALL_U64_KEYS: [u8; 9] = [0xff; 9];

/// Run blocking store work off the async runtime.
pub async fn blocking<T, F>(f: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
}

/// The node's RocksDB database. Cheap to clone; all clones share one database.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: DB,
    /// Kept for its statistics object, which the database shares.
    opts: Options,
    path: PathBuf,
    poisoned: AtomicBool,
    poison_tx: watch::Sender<bool>,
    acknowledged: AtomicU64,
    fail_next_write: AtomicBool,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .field("poisoned", &self.is_poisoned())
            .finish()
    }
}

impl Store {
    /// Open (or create) the database at `path` with every column family, the WAL on and
    /// statistics enabled.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Self::open_with(path, MemoryBudget::default())
    }

    /// Opens (creating if missing) the database at `path` within `budget`: RocksDB's memory
    /// is bounded whatever the history's length (see [`MemoryBudget`]).
    pub fn open_with(path: &Path, budget: MemoryBudget) -> Result<Store, StoreError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_manual_wal_flush(false);
        opts.set_paranoid_checks(true);
        opts.enable_statistics();
        // All memtables together stay under the write-buffer budget (RocksDB flushes the
        // largest when they reach it); each column family's is a quarter of it.
        opts.set_db_write_buffer_size(budget.write_buffers);
        let cache = Cache::new_lru_cache(budget.block_cache);
        let descriptors = Cf::ALL.iter().map(|cf| {
            // One block cache for every column family, holding the index and filter blocks
            // too: RocksDB otherwise keeps every table's index in memory, which grows with the
            // ledger. Bloom filters spare point lookups of absent keys (new handoff ids) a read.
            // Index and filters are partitioned (4 KiB partitions under a small pinned top
            // level): a lookup loads the partition it needs, not a table's whole filter, which
            // on a large table (hundreds of KiB) the bounded cache would evict and re-read
            // from the file, checksum and all, on every few lookups.
            let mut table = BlockBasedOptions::default();
            table.set_block_cache(&cache);
            table.set_cache_index_and_filter_blocks(true);
            table.set_pin_l0_filter_and_index_blocks_in_cache(true);
            table.set_bloom_filter(10.0, false);
            table.set_index_type(BlockBasedIndexType::TwoLevelIndexSearch);
            table.set_partition_filters(true);
            table.set_metadata_block_size(4096);
            table.set_pin_top_level_index_and_filter(true);
            let mut cf_opts = Options::default();
            cf_opts.set_block_based_table_factory(&table);
            cf_opts.set_write_buffer_size((budget.write_buffers / 4).max(1 << 20));
            ColumnFamilyDescriptor::new(cf.name(), cf_opts)
        });
        let db = DB::open_cf_descriptors(&opts, path, descriptors)
            .map_err(|source| StoreError::Rocks { op: "open", source })?;
        let (poison_tx, _) = watch::channel(false);
        Ok(Store {
            inner: Arc::new(Inner {
                db,
                opts,
                path: path.to_path_buf(),
                poisoned: AtomicBool::new(false),
                poison_tx,
                acknowledged: AtomicU64::new(0),
                fail_next_write: AtomicBool::new(false),
            }),
        })
    }

    /// The directory the database lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Whether an earlier write failed; if so the node must stop.
    pub fn is_poisoned(&self) -> bool {
        self.inner.poisoned.load(Ordering::SeqCst)
    }

    /// Resolves once the store is poisoned. `main` selects on this and exits.
    pub async fn poisoned(&self) {
        let mut rx = self.inner.poison_tx.subscribe();
        // The sender lives in `self`, so `wait_for` cannot fail while we hold it.
        let _ = rx.wait_for(|poisoned| *poisoned).await;
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.is_poisoned() {
            Err(StoreError::Poisoned)
        } else {
            Ok(())
        }
    }

    fn poison(&self, op: &'static str, error: &dyn fmt::Display) {
        self.inner.poisoned.store(true, Ordering::SeqCst);
        self.inner.poison_tx.send_replace(true);
        tracing::error!(
            path = %self.inner.path.display(),
            %error,
            "{op} failed: the store is poisoned, this node stops and must be restarted by an operator"
        );
    }

    fn cf(&self, cf: Cf) -> Result<&ColumnFamily, StoreError> {
        self.inner
            .db
            .cf_handle(cf.name())
            .ok_or(StoreError::MissingColumnFamily(cf.name()))
    }

    /// The value under `key` in `cf`.
    pub fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.check()?;
        self.inner
            .db
            .get_cf(self.cf(cf)?, key)
            .map_err(|source| StoreError::Rocks { op: "get", source })
    }

    /// The value under `key` in `cf` as it will be once `batch` is written.
    pub fn get_through(
        &self,
        batch: &Batch,
        cf: Cf,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        match batch.staged(cf, key) {
            Staged::Put(value) => Ok(Some(value.to_vec())),
            Staged::Deleted => Ok(None),
            Staged::Untouched => self.get(cf, key),
        }
    }

    /// Up to `max_items` key-value pairs of `cf` in key order, from `from` (inclusive) to
    /// `until` (exclusive; `None` = to the end). Callers page by calling again from the key
    /// after the last one returned.
    pub fn scan(
        &self,
        cf: Cf,
        from: &[u8],
        until: Option<&[u8]>,
        max_items: usize,
    ) -> Result<Vec<KeyValue>, StoreError> {
        self.check()?;
        let mut read_opts = ReadOptions::default();
        if let Some(until) = until {
            read_opts.set_iterate_upper_bound(until.to_vec());
        }
        let iter = self.inner.db.iterator_cf_opt(
            self.cf(cf)?,
            read_opts,
            IteratorMode::From(from, Direction::Forward),
        );
        let mut out = Vec::new();
        for item in iter.take(max_items) {
            let (k, v) = item.map_err(|source| StoreError::Rocks { op: "scan", source })?;
            out.push((k.into_vec(), v.into_vec()));
        }
        Ok(out)
    }

    /// Up to `max_items` entries of an integer-keyed column family (`ledger`, `raft_log`)
    /// whose index is in `range`, in index order: one bounded chunk.
    pub fn scan_u64(
        &self,
        cf: Cf,
        range: impl RangeBounds<u64>,
        max_items: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let start = match range.start_bound() {
            Bound::Included(&n) => Some(n),
            Bound::Excluded(&n) => n.checked_add(1),
            Bound::Unbounded => Some(0),
        };
        let Some(start) = start else {
            return Ok(Vec::new());
        };
        let end = match range.end_bound() {
            Bound::Included(&n) => n.checked_add(1),
            Bound::Excluded(&n) => Some(n),
            Bound::Unbounded => None,
        };
        if end.is_some_and(|end| end <= start) {
            return Ok(Vec::new());
        }
        let end_key = end.map(be_u64);
        self.scan(
            cf,
            &be_u64(start),
            end_key.as_ref().map(|k| k.as_slice()),
            max_items,
        )?
        .into_iter()
        .map(|(k, v)| Ok((read_be_u64(cf, &k)?, v)))
        .collect()
    }

    /// The first key-value pair of `cf`.
    pub fn first(&self, cf: Cf) -> Result<Option<KeyValue>, StoreError> {
        self.edge(cf, IteratorMode::Start)
    }

    /// The last key-value pair of `cf`.
    pub fn last(&self, cf: Cf) -> Result<Option<KeyValue>, StoreError> {
        self.edge(cf, IteratorMode::End)
    }

    fn edge(&self, cf: Cf, mode: IteratorMode<'_>) -> Result<Option<KeyValue>, StoreError> {
        self.check()?;
        match self.inner.db.iterator_cf(self.cf(cf)?, mode).next() {
            None => Ok(None),
            Some(Ok((k, v))) => Ok(Some((k.into_vec(), v.into_vec()))),
            Some(Err(source)) => Err(StoreError::Rocks {
                op: "iterate",
                source,
            }),
        }
    }

    /// A range deletion covering every integer key at or after `from`.
    pub fn delete_u64_from(batch: &mut Batch, cf: Cf, from: u64) {
        batch.delete_range(cf, be_u64(from), AFTER_ALL_U64_KEYS);
    }

    /// Write `batch` atomically with the WAL synced. On `Ok` the batch is durable. On failure
    /// the store is poisoned and every later call fails with [`StoreError::Poisoned`].
    pub fn write(&self, batch: Batch) -> Result<(), StoreError> {
        self.check()?;
        if batch.is_empty() {
            return Ok(());
        }
        let mut wb = WriteBatch::default();
        for op in &batch.ops {
            match op {
                Op::Put { cf, key, value } => wb.put_cf(self.cf(*cf)?, key, value),
                Op::Delete { cf, key } => wb.delete_cf(self.cf(*cf)?, key),
                Op::DeleteRange { cf, from, to } => wb.delete_range_cf(self.cf(*cf)?, from, to),
            }
        }
        let mut write_opts = WriteOptions::default();
        write_opts.set_sync(true);
        write_opts.disable_wal(false);
        let result = if self.inner.fail_next_write.swap(false, Ordering::SeqCst) {
            Err(StoreError::InjectedFailure)
        } else {
            self.inner
                .db
                .write_opt(wb, &write_opts)
                .map_err(|source| StoreError::Rocks {
                    op: "synced write",
                    source,
                })
        };
        match result {
            Ok(()) => {
                self.inner.acknowledged.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
            Err(e) => {
                self.poison("synced write", &e);
                Err(e)
            }
        }
    }

    /// Flushes every column family's memtable and compacts its whole key range, so deleted
    /// and overwritten data (the purged Raft log, rewritten metadata) leaves the disk. Used
    /// offline (`caseledger-node compact`) on a stopped node; it changes no value.
    pub fn compact(&self) -> Result<(), StoreError> {
        self.check()?;
        for cf in Cf::ALL {
            let handle = self.cf(cf)?;
            self.inner
                .db
                .flush_cf(handle)
                .map_err(|source| StoreError::Rocks {
                    op: "flush",
                    source,
                })?;
            self.inner
                .db
                .compact_range_cf(handle, None::<&[u8]>, None::<&[u8]>);
        }
        Ok(())
    }

    /// WAL sync count and bytes from RocksDB's statistics, and batches acknowledged.
    ///
    /// Each [`Store::write`] issued alone shows as one `synced`; concurrent writes may share
    /// one fsync through RocksDB's group commit, so in general `synced` ≤
    /// `acknowledged_batches`, and each acknowledged batch was covered by a sync.
    pub fn wal_stats(&self) -> WalStats {
        WalStats {
            synced: self.inner.opts.get_ticker_count(Ticker::WalFileSynced),
            bytes: self.inner.opts.get_ticker_count(Ticker::WalFileBytes),
            acknowledged_batches: self.inner.acknowledged.load(Ordering::SeqCst),
        }
    }

    /// **Test hook.** Writes `new_value` under `key` in `cf` as raw bytes, bypassing every
    /// check of every layer (and the poison flag). Tamper-evidence tests use it on a stopped
    /// node's data to prove the damage is detected. Never call it in a running node.
    pub fn tamper_for_test(&self, cf: Cf, key: &[u8], new_value: &[u8]) -> Result<(), StoreError> {
        let mut write_opts = WriteOptions::default();
        write_opts.set_sync(true);
        self.inner
            .db
            .put_cf_opt(self.cf(cf)?, key, new_value, &write_opts)
            .map_err(|source| StoreError::Rocks {
                op: "tamper",
                source,
            })
    }

    /// **Test hook.** Deletes `key` in `cf` as raw bytes, bypassing every layer, like
    /// [`Store::tamper_for_test`]. Never call it in a running node.
    pub fn delete_for_test(&self, cf: Cf, key: &[u8]) -> Result<(), StoreError> {
        let mut write_opts = WriteOptions::default();
        write_opts.set_sync(true);
        self.inner
            .db
            .delete_cf_opt(self.cf(cf)?, key, &write_opts)
            .map_err(|source| StoreError::Rocks {
                op: "tamper",
                source,
            })
    }

    /// **Test hook.** Makes the next [`Store::write`] fail as a failed fsync would, so tests
    /// can check that the store is poisoned and the node stops. Never call it in a running
    /// node.
    pub fn fail_next_write_for_test(&self) {
        self.inner.fail_next_write.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("open");
        (dir, store)
    }

    #[test]
    fn every_acknowledged_batch_is_one_wal_sync() {
        let (_dir, store) = open();
        let before = store.wal_stats();
        for i in 0..20u64 {
            let mut batch = Batch::new();
            batch.put(Cf::Ledger, be_u64(i), b"entry");
            batch.put(Cf::SmMeta, meta_key::TREE_SIZE, be_u64(i + 1));
            store.write(batch).expect("write");
        }
        let after = store.wal_stats();
        assert_eq!(after.acknowledged_batches - before.acknowledged_batches, 20);
        assert_eq!(
            after.synced - before.synced,
            20,
            "one WAL fsync per batch: {after:?}"
        );
        assert!(after.bytes > before.bytes);
    }

    #[test]
    fn failed_write_poisons_every_later_call() {
        let (_dir, store) = open();
        let mut batch = Batch::new();
        batch.put(Cf::Ledger, be_u64(0), b"a");
        store.write(batch.clone()).expect("first write");
        store.fail_next_write_for_test();
        assert!(matches!(
            store.write(batch.clone()),
            Err(StoreError::InjectedFailure)
        ));
        assert!(store.is_poisoned());
        assert!(matches!(store.write(batch), Err(StoreError::Poisoned)));
        assert!(matches!(
            store.get(Cf::Ledger, &be_u64(0)),
            Err(StoreError::Poisoned)
        ));
        assert!(matches!(
            store.scan_u64(Cf::Ledger, .., 10),
            Err(StoreError::Poisoned)
        ));
    }

    #[tokio::test]
    async fn poisoned_future_resolves_after_a_failed_write() {
        let (_dir, store) = open();
        let waiter = tokio::spawn({
            let store = store.clone();
            async move { store.poisoned().await }
        });
        store.fail_next_write_for_test();
        let mut batch = Batch::new();
        batch.put(Cf::SmMeta, b"k", b"v");
        assert!(store.write(batch).is_err());
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("poisoned() resolves")
            .expect("task");
    }

    #[test]
    fn scan_u64_pages_in_bounded_chunks_and_respects_the_range() {
        let (_dir, store) = open();
        let mut batch = Batch::new();
        for i in 0..10u64 {
            batch.put(Cf::RaftLog, be_u64(i), [i as u8]);
        }
        store.write(batch).expect("write");
        let chunk = store.scan_u64(Cf::RaftLog, 2..9, 3).expect("scan");
        assert_eq!(
            chunk.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            vec![2, 3, 4]
        );
        let all = store.scan_u64(Cf::RaftLog, 5..=7, 100).expect("scan");
        assert_eq!(all, vec![(5, vec![5]), (6, vec![6]), (7, vec![7])]);
        assert!(store
            .scan_u64(Cf::RaftLog, 7..7, 100)
            .expect("scan")
            .is_empty());
        let tail = store.scan_u64(Cf::RaftLog, 8.., 100).expect("scan");
        assert_eq!(tail.len(), 2);
        let mut batch = Batch::new();
        Store::delete_u64_from(&mut batch, Cf::RaftLog, 4);
        store.write(batch).expect("truncate");
        let last = store.last(Cf::RaftLog).expect("last").expect("some");
        assert_eq!(read_be_u64(Cf::RaftLog, &last.0).expect("key"), 3);
    }

    #[test]
    fn batch_reads_back_its_own_staged_changes() {
        let mut batch = Batch::new();
        batch.put(Cf::ByHandoffId, b"h1", b"7");
        assert_eq!(batch.staged(Cf::ByHandoffId, b"h1"), Staged::Put(b"7"));
        assert_eq!(batch.staged(Cf::ByCase, b"h1"), Staged::Untouched);
        batch.delete_range(Cf::ByHandoffId, b"h0", b"h2");
        assert_eq!(batch.staged(Cf::ByHandoffId, b"h1"), Staged::Deleted);
        batch.put(Cf::ByHandoffId, b"h1", b"8");
        assert_eq!(batch.staged(Cf::ByHandoffId, b"h1"), Staged::Put(b"8"));
        batch.delete(Cf::ByHandoffId, b"h1");
        assert_eq!(batch.staged(Cf::ByHandoffId, b"h1"), Staged::Deleted);
    }

    #[test]
    fn tamper_hook_overwrites_raw_bytes_and_data_survives_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        {
            let store = Store::open(dir.path()).expect("open");
            let mut batch = Batch::new();
            batch.put(Cf::Ledger, be_u64(0), b"genuine");
            batch.put(Cf::Merkle, merkle_key(1, 0), [0u8; 32]);
            store.write(batch).expect("write");
        }
        let store = Store::open(dir.path()).expect("reopen");
        assert_eq!(
            store.get(Cf::Ledger, &be_u64(0)).expect("get"),
            Some(b"genuine".to_vec())
        );
        store
            .tamper_for_test(Cf::Ledger, &be_u64(0), b"forged")
            .expect("tamper");
        assert_eq!(
            store.get(Cf::Ledger, &be_u64(0)).expect("get"),
            Some(b"forged".to_vec())
        );
        assert_eq!(
            store.get(Cf::Merkle, &merkle_key(1, 0)).expect("get"),
            Some(vec![0u8; 32])
        );
    }
}
