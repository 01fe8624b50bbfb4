//! Catching up after a snapshot: the snapshot is a pointer (tree size, head, root), so a node
//! that installs one pulls the ledger entries it lacks from the node that built it, in bounded
//! chunks, and replays each through the core's `apply` exactly as if it had applied the log:
//! an entry is kept only if replay reproduces it byte for byte. At the end, the head and root
//! must be the snapshot's. Nothing is trusted that the node did not recompute.
//!
//! The fetching goes through [`EntrySource`]; the peer port's HTTP (serving chunks and fetching
//! them) is `crate::peer::catchup`'s. This module names no transport.

use serde::Deserialize;

use crate::store::{Cf, Store, StoreError};

/// Most entries per chunk.
pub const MAX_CHUNK: u64 = 2000;
/// Most bytes per chunk (framed): a chunk stops before the entry that would pass it (it
/// always holds at least one entry; no entry is near this size, as none could have been
/// replicated in a Raft message bounded alike). The fetching side refuses a longer answer.
/// It equals the Raft transport's body bound (`crate::peer::catchup` asserts it).
pub const MAX_CHUNK_BYTES: usize = 16 * 1024 * 1024;

/// Where the snapshot's builder can be reached, carried in the pointer's small state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize, Default)]
pub struct SnapshotSource {
    /// `host:port` of the builder's peer port.
    pub raft_addr: String,
}

/// Pulls `[from, from+limit)` entries' canonical bytes from a peer.
pub trait EntrySource: Send + Sync {
    /// One chunk: at least one entry unless `from` is at the peer's end; fewer than asked at
    /// the end or where the chunk reached [`MAX_CHUNK_BYTES`].
    fn fetch(&self, raft_addr: &str, from: u64, limit: u64) -> Result<Vec<Vec<u8>>, FetchError>;
}

pub use proto_types::framing::{frame, unframe, FrameError};

/// Why a chunk could not be fetched: the URL asked, and what went wrong there.
#[derive(Debug, thiserror::Error)]
#[error("{url}: {failure}")]
pub struct FetchError {
    /// What was asked.
    pub url: String,
    /// What went wrong.
    pub failure: FetchFailure,
}

/// What went wrong fetching a chunk.
#[derive(Debug, thiserror::Error)]
pub enum FetchFailure {
    /// The request failed, or its answer could not be read (the transport's error).
    #[error("{0}")]
    Transport(Box<dyn std::error::Error + Send + Sync>),
    /// The peer answered with an error status.
    #[error("status {code} {}", reason.unwrap_or("<unknown status code>"))]
    Status {
        /// The status code.
        code: u16,
        /// Its canonical reason phrase, if it has one.
        reason: Option<&'static str>,
    },
    /// The answer is not well-framed entries (docs/FORMAT.md §Framing).
    #[error(transparent)]
    Unframed(#[from] FrameError),
}

/// The chunk starting at `from`: at most `limit` (and [`MAX_CHUNK`]) entries' canonical bytes,
/// stopping before the entry that would pass [`MAX_CHUNK_BYTES`] (never before the first).
pub fn chunk(store: &Store, from: u64, limit: Option<u64>) -> Result<Vec<Vec<u8>>, StoreError> {
    let limit = limit.unwrap_or(MAX_CHUNK).min(MAX_CHUNK);
    let rows = store.scan_u64(Cf::Ledger, from..from.saturating_add(limit), limit as usize)?;
    let mut bytes = 0;
    Ok(rows
        .into_iter()
        .map(|(_, v)| v)
        .take_while(|v| {
            bytes += v.len() + 4;
            bytes <= MAX_CHUNK_BYTES || bytes == v.len() + 4
        })
        .collect())
}
