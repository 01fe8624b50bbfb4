//! openraft's `RaftLogStorage` over the `raft_log` and `raft_meta` column families.
//!
//! Keys of `raft_log` are log indexes (u64 big-endian); values are postcard-encoded
//! `openraft::Entry`. Every append, truncate, purge and vote is one synced batch; the flush
//! callback of an append is called only after that sync.
//!
//! The committed log id is deliberately not persisted (`save_committed` keeps openraft's
//! no-op default): the state machine persists its applied log id in the same synced batch as
//! every apply, so nothing committed-and-applied can be lost, and persisting `committed` would
//! cost one more fsync per commit on every node for no durability gain.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{
    AnyError, Entry, ErrorSubject, ErrorVerb, LogId, OptionalSend, RaftLogReader, StorageError,
    StorageIOError, Vote,
};

use crate::raft::{decode, encode, NodeId, TypeConfig};
use crate::store::{be_u64, blocking, meta_key, Batch, Cf, Store, StoreError};

/// Entries read from RocksDB per chunk.
const READ_CHUNK: usize = 1024;

/// The Raft log and vote, stored in RocksDB. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LogStore {
    store: Store,
}

impl LogStore {
    /// A log store over `store`.
    pub fn new(store: Store) -> Self {
        LogStore { store }
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
        for entry in entries {
            let bytes = encode("raft log entry", &entry)
                .map_err(|e| io_err(ErrorSubject::Log(entry.log_id), ErrorVerb::Write, &e))?;
            batch.put(Cf::RaftLog, be_u64(entry.log_id.index), bytes);
        }
        let store = self.store.clone();
        match blocking(move || store.write(batch)).await {
            Ok(()) => {
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
