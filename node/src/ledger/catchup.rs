//! Catching up after a snapshot: the snapshot is a pointer (tree size, head, root), so a node
//! that installs one pulls the ledger entries it lacks from the node that built it, in bounded
//! chunks, and replays each through the core's `apply` exactly as if it had applied the log:
//! an entry is kept only if replay reproduces it byte for byte. At the end, the head and root
//! must be the snapshot's. Nothing is trusted that the node did not recompute.
//!
//! Also the serving side: `GET /raft/ledger?from=&limit=` on the peer port.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use crate::store::{blocking, Cf, Store};

/// Path of the ledger chunk endpoint on the peer port.
pub const PATH_LEDGER: &str = "/raft/ledger";
/// Most entries per chunk.
pub const MAX_CHUNK: u64 = 2000;
/// Most bytes per chunk (framed): a chunk stops before the entry that would pass it (it
/// always holds at least one entry; no entry is near this size, as none could have been
/// replicated in a Raft message bounded alike). The fetching side refuses a longer answer.
pub const MAX_CHUNK_BYTES: usize = crate::raft::network::DEFAULT_MAX_BODY_BYTES;

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
    fn fetch(&self, raft_addr: &str, from: u64, limit: u64) -> Result<Vec<Vec<u8>>, String>;
}

pub use proto_types::framing::{frame, unframe};

#[derive(Deserialize)]
struct Range {
    from: u64,
    limit: Option<u64>,
}

async fn serve_chunk(State(store): State<Store>, Query(r): Query<Range>) -> Response {
    let limit = r.limit.unwrap_or(MAX_CHUNK).min(MAX_CHUNK);
    let result = blocking(move || {
        store.scan_u64(
            Cf::Ledger,
            r.from..r.from.saturating_add(limit),
            limit as usize,
        )
    })
    .await;
    match result {
        Ok(rows) => {
            let mut bytes = 0;
            let entries: Vec<Vec<u8>> = rows
                .into_iter()
                .map(|(_, v)| v)
                .take_while(|v| {
                    bytes += v.len() + 4;
                    bytes <= MAX_CHUNK_BYTES || bytes == v.len() + 4
                })
                .collect();
            (StatusCode::OK, frame(&entries)).into_response()
        }
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

/// The peer-port route serving ledger chunks.
pub fn router(store: Store) -> Router {
    Router::new()
        .route(PATH_LEDGER, get(serve_chunk))
        .with_state(store)
}

/// Fetches chunks over the peer port's mutual TLS (blocking: called from the state machine's
/// blocking task).
pub struct HttpSource {
    /// The async runtime to run requests on.
    pub runtime: tokio::runtime::Handle,
    /// The peer-port client (`crate::tls::PeerTls::http_client`).
    pub http: reqwest::Client,
}

impl EntrySource for HttpSource {
    fn fetch(&self, raft_addr: &str, from: u64, limit: u64) -> Result<Vec<Vec<u8>>, String> {
        let url = format!("https://{raft_addr}{PATH_LEDGER}?from={from}&limit={limit}");
        self.runtime.block_on(async {
            let r = self
                .http
                .get(&url)
                .timeout(std::time::Duration::from_secs(30))
                .send()
                .await
                .map_err(|e| format!("{url}: {e}"))?;
            if !r.status().is_success() {
                return Err(format!("{url}: status {}", r.status()));
            }
            let bytes = crate::raft::network::read_bounded(r, MAX_CHUNK_BYTES)
                .await
                .map_err(|e| format!("{url}: {e}"))?;
            unframe(&bytes).map_err(|e| format!("{url}: {e}"))
        })
    }
}
