//! openraft's `RaftLogStorage` over the `raft_log` and `raft_meta` column families.
//!
//! Keys of `raft_log` are log indexes (u64 big-endian); values are postcard-encoded
//! `openraft::Entry`. Every append, truncate, purge and vote is one synced batch; the flush
//! callback of an append is called only after that sync.
//!
//! The newest entries are also kept in memory ([`Tail`]): the leader replicates and applies
//! what it has just appended, so those reads come from the tail instead of RocksDB. The tail
//! is a copy of a suffix of the stored log, filled only after an append is synced and cut
//! before a truncate or purge reaches the store; a range it does not wholly hold is read from
//! RocksDB.
//!
//! The committed log id is deliberately not persisted (`save_committed` keeps openraft's
//! no-op default): the state machine persists its applied log id in the same synced batch as
//! every apply, so nothing committed-and-applied can be lost, and persisting `committed` would
//! cost one more fsync per commit on every node for no durability gain.

use std::collections::VecDeque;
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{
    AnyError, Entry, ErrorSubject, ErrorVerb, LogId, OptionalSend, RaftLogReader, StorageError,
    StorageIOError, Vote,
};

use crate::raft::{decode, encode, NodeId, TypeConfig};
use crate::store::{be_u64, blocking, meta_key, Batch, Cf, Store, StoreError};

/// Entries read from RocksDB per chunk.
const READ_CHUNK: usize = 1024;

/// Most entries the in-memory tail keeps.
const TAIL_ENTRIES: usize = 4096;
/// Most proposal bytes the in-memory tail keeps.
const TAIL_BYTES: usize = 64 * 1024 * 1024;

/// The Raft log and vote, stored in RocksDB, and the newest entries in memory. Cheap to clone;
/// clones share the tail.
#[derive(Debug, Clone)]
pub struct LogStore {
    store: Store,
    tail: Arc<Mutex<Tail>>,
}

impl LogStore {
    /// A log store over `store`, its tail empty.
    pub fn new(store: Store) -> Self {
        LogStore {
            store,
            tail: Arc::default(),
        }
    }

    fn tail(&self) -> MutexGuard<'_, Tail> {
        // The tail is a cache: a panic while it was held leaves it consistent or empty.
        self.tail.lock().unwrap_or_else(|poisoned| {
            let mut tail = poisoned.into_inner();
            *tail = Tail::default();
            tail
        })
    }
}

/// A copy of the newest stored entries, contiguous by index, bounded by [`TAIL_ENTRIES`] and
/// [`TAIL_BYTES`].
#[derive(Debug, Default)]
struct Tail {
    entries: VecDeque<Entry<TypeConfig>>,
    bytes: usize,
}

/// The proposal bytes an entry carries (what the tail's size bound counts).
fn weight(entry: &Entry<TypeConfig>) -> usize {
    match &entry.payload {
        openraft::EntryPayload::Normal(request) => {
            request.proposals.iter().map(Vec::len).sum::<usize>()
        }
        _ => 0,
    }
}

impl Tail {
    fn first(&self) -> Option<u64> {
        self.entries.front().map(|e| e.log_id.index)
    }

    /// Entries just synced: they follow the tail, or replace it if they do not.
    fn extend(&mut self, entries: Vec<Entry<TypeConfig>>) {
        for entry in entries {
            let follows = self
                .entries
                .back()
                .is_some_and(|last| last.log_id.index.checked_add(1) == Some(entry.log_id.index));
            if !follows {
                self.entries.clear();
                self.bytes = 0;
            }
            self.bytes += weight(&entry);
            self.entries.push_back(entry);
        }
        while self.entries.len() > TAIL_ENTRIES || self.bytes > TAIL_BYTES {
            let Some(gone) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= weight(&gone);
        }
    }

    /// Forget entries with index `>= from` (a truncate).
    fn cut_from(&mut self, from: u64) {
        while self.entries.back().is_some_and(|e| e.log_id.index >= from) {
            if let Some(gone) = self.entries.pop_back() {
                self.bytes -= weight(&gone);
            }
        }
    }

    /// Forget entries with index `<= upto` (a purge).
    fn cut_upto(&mut self, upto: u64) {
        while self.entries.front().is_some_and(|e| e.log_id.index <= upto) {
            if let Some(gone) = self.entries.pop_front() {
                self.bytes -= weight(&gone);
            }
        }
    }

    /// `[start, end)` if the tail holds all of it (`end` at most one past its last entry).
    fn range(&self, start: u64, end: u64) -> Option<Vec<Entry<TypeConfig>>> {
        let first = self.first()?;
        let past = first.checked_add(self.entries.len() as u64)?;
        if start < first || end > past || start > end {
            return None;
        }
        let (from, to) = ((start - first) as usize, (end - first) as usize);
        Some(self.entries.range(from..to).cloned().collect())
    }
}

/// Turn a store error into openraft's storage error.
pub(crate) fn io_err(
    subject: ErrorSubject<NodeId>,
    verb: ErrorVerb,
    error: &StoreError,
) -> StorageError<NodeId> {
    StorageIOError::new(subject, verb, AnyError::new(error)).into()
}

/// Entries with index in `[start, end)` (`end = None`: to the last), read in bounded chunks.
fn read_entries(
    store: &Store,
    start: u64,
    end: Option<u64>,
) -> Result<Vec<Entry<TypeConfig>>, StoreError> {
    let mut out = Vec::new();
    let mut next = start;
    loop {
        let chunk = match end {
            Some(end) => store.scan_u64(Cf::RaftLog, next..end, READ_CHUNK)?,
            None => store.scan_u64(Cf::RaftLog, next.., READ_CHUNK)?,
        };
        let full = chunk.len() == READ_CHUNK;
        for (index, bytes) in chunk {
            let entry: Entry<TypeConfig> = decode("raft log entry", &bytes)?;
            if entry.log_id.index != index {
                return Err(StoreError::Corrupt {
                    what: format!("raft log entry at {index}"),
                    detail: format!("holds log id {}", entry.log_id),
                });
            }
            out.push(entry);
            next = index.saturating_add(1);
        }
        if !full {
            return Ok(out);
        }
    }
}

fn read_meta<T: serde::de::DeserializeOwned>(
    store: &Store,
    key: &'static [u8],
) -> Result<Option<T>, StoreError> {
    store
        .get(Cf::RaftMeta, key)?
        .map(|bytes| decode("raft meta", &bytes))
        .transpose()
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        let start = match range.start_bound() {
            Bound::Included(&n) => n,
            Bound::Excluded(&n) => n.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&n) => n.checked_add(1),
            Bound::Excluded(&n) => Some(n),
            Bound::Unbounded => None,
        };
        // Unbounded reads (rare: openraft bounds its reads) go to the store, which knows the end.
        if let Some(end) = end {
            if let Some(entries) = self.tail().range(start, end) {
                return Ok(entries);
            }
        }
        let store = self.store.clone();
        blocking(move || read_entries(&store, start, end))
            .await
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, &e))
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let store = self.store.clone();
        blocking(move || {
            let last_purged: Option<LogId<NodeId>> = read_meta(&store, meta_key::LAST_PURGED)?;
            let last = match store.last(Cf::RaftLog)? {
                None => None,
                Some((_, bytes)) => {
                    Some(decode::<Entry<TypeConfig>>("raft log entry", &bytes)?.log_id)
                }
            };
            Ok(LogState {
                last_purged_log_id: last_purged,
                last_log_id: last.or(last_purged),
            })
        })
        .await
        .map_err(|e| io_err(ErrorSubject::Store, ErrorVerb::Read, &e))
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        let store = self.store.clone();
        let bytes =
            encode("vote", vote).map_err(|e| io_err(ErrorSubject::Vote, ErrorVerb::Write, &e))?;
        blocking(move || {
            let mut batch = Batch::new();
            batch.put(Cf::RaftMeta, meta_key::VOTE, bytes);
            store.write(batch)
        })
        .await
        .map_err(|e| io_err(ErrorSubject::Vote, ErrorVerb::Write, &e))
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        let store = self.store.clone();
        blocking(move || read_meta(&store, meta_key::VOTE))
            .await
            .map_err(|e| io_err(ErrorSubject::Vote, ErrorVerb::Read, &e))
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut batch = Batch::new();
        let entries: Vec<_> = entries.into_iter().collect();
        for entry in &entries {
            let bytes = encode("raft log entry", entry)
                .map_err(|e| io_err(ErrorSubject::Log(entry.log_id), ErrorVerb::Write, &e))?;
            batch.put(Cf::RaftLog, be_u64(entry.log_id.index), bytes);
        }
        let store = self.store.clone();
        match blocking(move || store.write(batch)).await {
            Ok(()) => {
                self.tail().extend(entries);
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                callback.log_io_completed(Err(std::io::Error::other(e.to_string())));
                Err(io_err(ErrorSubject::Logs, ErrorVerb::Write, &e))
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        tracing::debug!(%log_id, "truncate raft log from");
        self.tail().cut_from(log_id.index);
        let store = self.store.clone();
        blocking(move || {
            let mut batch = Batch::new();
            Store::delete_u64_from(&mut batch, Cf::RaftLog, log_id.index);
            store.write(batch)
        })
        .await
        .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Delete, &e))
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        tracing::debug!(%log_id, "purge raft log up to");
        self.tail().cut_upto(log_id.index);
        let store = self.store.clone();
        let purged = encode("last purged", &log_id)
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Delete, &e))?;
        blocking(move || {
            let mut batch = Batch::new();
            batch.put(Cf::RaftMeta, meta_key::LAST_PURGED, purged);
            match log_id.index.checked_add(1) {
                Some(end) => batch.delete_range(Cf::RaftLog, be_u64(0), be_u64(end)),
                None => Store::delete_u64_from(&mut batch, Cf::RaftLog, 0),
            }
            store.write(batch)
        })
        .await
        .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Delete, &e))
    }
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, EntryPayload};

    use super::*;
    use crate::raft::RaftRequest;

    fn entry(term: u64, index: u64, bytes: usize) -> Entry<TypeConfig> {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(term, 1), index),
            payload: EntryPayload::Normal(RaftRequest {
                proposals: vec![vec![index as u8; bytes]],
            }),
        }
    }

    fn indexes(entries: &[Entry<TypeConfig>]) -> Vec<u64> {
        entries.iter().map(|e| e.log_id.index).collect()
    }

    #[test]
    fn the_tail_serves_only_ranges_it_wholly_holds() {
        let mut tail = Tail::default();
        tail.extend((5..10).map(|i| entry(1, i, 10)).collect());
        assert_eq!(
            tail.range(5, 10).map(|e| indexes(&e)),
            Some(vec![5, 6, 7, 8, 9])
        );
        assert_eq!(tail.range(7, 8).map(|e| indexes(&e)), Some(vec![7]));
        assert_eq!(tail.range(8, 8).map(|e| indexes(&e)), Some(vec![]));
        assert!(tail.range(4, 8).is_none(), "starts before the tail");
        assert!(tail.range(6, 11).is_none(), "ends past the tail");
        assert!(
            Tail::default().range(0, 0).is_none(),
            "an empty tail holds nothing"
        );
    }

    #[test]
    fn truncate_purge_and_a_gap_keep_the_tail_a_contiguous_suffix() {
        let mut tail = Tail::default();
        tail.extend((1..=6).map(|i| entry(1, i, 10)).collect());
        tail.cut_from(5);
        tail.extend(vec![entry(2, 5, 10)]);
        let got = tail.range(1, 6).expect("held");
        assert_eq!(indexes(&got), vec![1, 2, 3, 4, 5]);
        assert_eq!(
            got[4].log_id.leader_id.term, 2,
            "the truncated entry is replaced"
        );
        tail.cut_upto(2);
        assert_eq!(tail.first(), Some(3));
        assert_eq!(tail.bytes, 30);
        // Entries that do not follow the tail replace it.
        tail.extend(vec![entry(2, 9, 10)]);
        assert_eq!(tail.first(), Some(9));
        assert_eq!(tail.bytes, 10);
    }

    #[test]
    fn the_tail_is_bounded_by_count_and_bytes() {
        let mut tail = Tail::default();
        tail.extend(
            (0..TAIL_ENTRIES as u64 + 10)
                .map(|i| entry(1, i, 1))
                .collect(),
        );
        assert_eq!(tail.entries.len(), TAIL_ENTRIES);
        assert_eq!(tail.first(), Some(10));
        let mut tail = Tail::default();
        let big = TAIL_BYTES / 4 + 1;
        tail.extend((0..4).map(|i| entry(1, i, big)).collect());
        assert_eq!(tail.entries.len(), 3);
        assert!(tail.bytes <= TAIL_BYTES);
    }
}
