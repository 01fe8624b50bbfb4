//! Catch-up over the peer port: serving `GET /raft/ledger?from=&limit=` (chunks of the stored
//! ledger, framed) and fetching them ([`HttpSource`], the HTTP side of
//! [`crate::ledger::catchup::EntrySource`]). What a chunk holds and how it is replayed is the
//! ledger's (`crate::ledger::catchup`); this module only carries it.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use crate::ledger::catchup::{
    chunk, frame, unframe, EntrySource, FetchError, FetchFailure, MAX_CHUNK_BYTES,
};
use crate::raft::network::{read_bounded, DEFAULT_MAX_BODY_BYTES};
use crate::store::{blocking, Store};

/// Path of the ledger chunk endpoint on the peer port.
pub const PATH_LEDGER: &str = "/raft/ledger";

// A chunk is bounded like a Raft message: no entry that could be replicated is refused here.
const _: () = assert!(MAX_CHUNK_BYTES == DEFAULT_MAX_BODY_BYTES);

#[derive(Deserialize)]
struct Range {
    from: u64,
    limit: Option<u64>,
}

async fn serve_chunk(State(store): State<Store>, Query(r): Query<Range>) -> Response {
    match blocking(move || chunk(&store, r.from, r.limit)).await {
        Ok(entries) => (StatusCode::OK, frame(&entries)).into_response(),
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
    fn fetch(&self, raft_addr: &str, from: u64, limit: u64) -> Result<Vec<Vec<u8>>, FetchError> {
        let url = format!("https://{raft_addr}{PATH_LEDGER}?from={from}&limit={limit}");
        let fetched = self.runtime.block_on(async {
            let r = self
                .http
                .get(&url)
                .timeout(std::time::Duration::from_secs(30))
                .send()
                .await
                .map_err(|e| FetchFailure::Transport(e.into()))?;
            if !r.status().is_success() {
                return Err(FetchFailure::Status {
                    code: r.status().as_u16(),
                    reason: r.status().canonical_reason(),
                });
            }
            let bytes = read_bounded(r, MAX_CHUNK_BYTES)
                .await
                .map_err(|e| FetchFailure::Transport(e.into()))?;
            Ok(unframe(&bytes)?)
        });
        fetched.map_err(|failure| FetchError { url, failure })
    }
}
