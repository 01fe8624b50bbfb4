//! Serving a router on a listener within connection limits, for both ports (API and peer).
//!
//! `axum::serve` sets no timer on hyper's connection builder, so a client that opens a socket
//! and sends nothing holds it (and a descriptor) forever, and it accepts without bound. Here
//! each connection is served by hyper's HTTP/1 builder with its `header_read_timeout`, which
//! hyper arms whenever it waits for a request head — the first one and every keep-alive wait
//! after a response — so it is the header-read timeout and the idle timeout at once. A
//! semaphore caps the connections being served: at the cap the loop stops accepting (new
//! sockets wait in the kernel's backlog and cost this process no descriptor) until a
//! connection ends. [`descriptor_budget`] keeps both ports' caps below the process's
//! descriptor limit.
//!
//! The listener code only: called by `crate::server` (and the Raft transport's own tests),
//! never by a service. It also makes `crate::tls::TlsListener` an axum listener, so that
//! `crate::tls` names no axum type.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::serve::Listener;
use axum::Router;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use crate::tls::{PeerInfo, TlsListener};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt as _;

/// Descriptors kept for everything that is not a served connection: RocksDB's files, the
/// log, outgoing connections to peers, TLS handshakes in progress (`tls::MAX_HANDSHAKES`).
pub const RESERVED_DESCRIPTORS: u64 = 512;

/// How many connections a port serves at once and how long one may wait for a request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// Connections served at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// How long a connection may take to send a request head, counted from when the server
    /// starts waiting for it (after the accept, and after each response): then it is closed.
    pub header_timeout: Duration,
}

/// The caps `(api, peer)` that fit below `nofile` open descriptors with
/// [`RESERVED_DESCRIPTORS`] kept: the configured ones, or less (the peer port keeps at
/// least a quarter of what is left), so that the node never runs out of descriptors for its
/// store, its log and `/healthz`. `None` for `nofile`: no limit known, the configured caps.
pub fn descriptor_budget(api: usize, peer: usize, nofile: Option<u64>) -> (usize, usize) {
    let Some(nofile) = nofile else {
        return (api, peer);
    };
    let budget = usize::try_from(nofile.saturating_sub(RESERVED_DESCRIPTORS))
        .unwrap_or(usize::MAX)
        .max(2);
    if api.saturating_add(peer) <= budget {
        return (api, peer);
    }
    let peer = peer.min((budget / 4).max(1));
    let api = api.min(budget - peer).max(1);
    (api, peer)
}

/// The process's soft limit on open descriptors, if it has one.
pub fn descriptor_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// Serves `router` on `listener` within `limits` until `shutdown`, then lets the open
/// connections finish their requests. Each request carries `ConnectInfo<L::Addr>`.
pub async fn serve<L>(
    mut listener: L,
    router: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) where
    L: Listener,
    L::Addr: Clone + Send + Sync + 'static,
{
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (io, addr) = tokio::select! {
            conn = listener.accept() => conn,
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let service = tower::service_fn(move |req: Request<hyper::body::Incoming>| {
            let mut req = req.map(axum::body::Body::new);
            req.extensions_mut().insert(ConnectInfo(addr.clone()));
            router.clone().oneshot(req)
        });
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout);
            let conn =
                builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                served = conn.as_mut() => {
                    if let Err(e) = served {
                        tracing::debug!(error = %e, "connection ended");
                    }
                    return;
                }
                _ = stop.changed() => conn.as_mut().graceful_shutdown(),
            }
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended while stopping");
            }
        });
    }
    drop(listener);
    drop(stop_rx);
    let _ = stop_tx.send(());
    stop_tx.closed().await;
}

// The TLS listener (`crate::tls`) served by axum: the peer's identity as connect info.
impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsListener>>
    for PeerInfo
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, TlsListener>) -> Self {
        stream.remote_addr().clone()
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = PeerInfo;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        self.next().await
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local_info())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ports_caps_fit_below_the_descriptor_limit() {
        let check = |api, peer, nofile, expected| {
            assert_eq!(
                descriptor_budget(api, peer, nofile),
                expected,
                "{api} {peer} {nofile:?}"
            )
        };
        check(1024, 256, None, (1024, 256));
        check(1024, 256, Some(20_000), (1024, 256));
        // 1024 descriptors: 512 kept, 512 shared (a quarter at most for the peer port).
        check(1024, 256, Some(1024), (384, 128));
        check(100, 10, Some(1024), (100, 10));
        check(1024, 256, Some(100), (1, 1));
    }
}
