//! A byte-transparent TCP fault proxy, put in front of a node's Raft (peer) port: the node
//! advertises the proxy's address, so every peer connection to it passes through here.
//!
//! It never alters a byte (the peer port may speak TLS): faults are in timing only.
//! - **Blackhole** (a partition): bytes from the blackholed sources are held, not forwarded,
//!   until the blackhole is lifted; new connections from them are accepted but not connected
//!   through. Peers see silence and time out, as behind a dropped link. Nothing is lost, so
//!   the streams stay valid across the heal.
//! - **Drop**: a share of new connections is closed at once (a reset link).
//! - **Delay**: each chunk waits a random time in a range before it is forwarded; every
//!   connection draws its own delays, so messages on different connections overtake each
//!   other (reordering). Within one TCP stream order is kept, as TCP itself guarantees.
//!
//! A link is directed: the proxy of node B sees connections from A and C. It tells them apart
//! by the process that owns the client socket (Linux `/proc/net/tcp*` and `/proc/<pid>/fd`),
//! among the node processes it was told of with [`FaultProxy::set_sources`].

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use caseledger_client::flows::SplitMix;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the proxy does to traffic right now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Hold everything, from every source.
    pub blackhole_all: bool,
    /// Hold what comes from these node ids.
    pub blackhole_from: HashSet<u64>,
    /// Close this percentage of new connections at once.
    pub drop_percent: u64,
    /// Delay each chunk by a random time in this range (milliseconds, inclusive).
    pub delay_ms: Option<(u64, u64)>,
}

impl Faults {
    fn holds(&self, source: Option<u64>) -> bool {
        self.blackhole_all || source.is_some_and(|s| self.blackhole_from.contains(&s))
    }
}

/// Counters, for tests to check the proxy did what they think.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Connections accepted.
    pub accepted: u64,
    /// Connections whose source node was identified.
    pub identified: u64,
    /// Connections closed by the drop fault.
    pub dropped: u64,
}

struct Shared {
    target: SocketAddr,
    faults: watch::Sender<Faults>,
    /// Node process ids to node ids.
    sources: Mutex<HashMap<u32, u64>>,
    stats: Mutex<ProxyStats>,
    seed: u64,
}

/// A proxy listening on its own port and forwarding to `target`.
pub struct FaultProxy {
    /// Where the proxy listens (what the node advertises).
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy on `127.0.0.1:0` to `target`, with no faults.
    pub async fn start(target: SocketAddr, seed: u64) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy port");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared {
            target,
            faults: watch::Sender::new(Faults::default()),
            sources: Mutex::new(HashMap::new()),
            stats: Mutex::new(ProxyStats::default()),
            seed,
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        FaultProxy {
            addr,
            shared,
            accept,
        }
    }

    /// The node processes that may connect: process id to node id.
    pub fn set_sources(&self, sources: HashMap<u32, u64>) {
        *self.shared.sources.lock().expect("sources lock") = sources;
    }

    /// Replaces the faults; held bytes flow again once nothing holds them.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.faults.send_replace(faults);
    }

    /// Lifts every fault.
    pub fn heal(&self) {
        self.set_faults(Faults::default());
    }

    /// The counters so far.
    pub fn stats(&self) -> ProxyStats {
        *self.shared.stats.lock().expect("stats lock")
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Aborting the accept loop drops its connection set, which aborts every connection.
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut conns = tokio::task::JoinSet::new();
    let mut n = 0u64;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((client, peer)) = accepted else { continue };
                n += 1;
                let shared = shared.clone();
                conns.spawn(connection(client, peer, shared, n));
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// One proxied connection: who it comes from, once known.
struct Conn {
    shared: Arc<Shared>,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    source: OnceLock<u64>,
}

impl Conn {
    /// The source node; looked up again while unknown (a node may connect before the proxy
    /// is told its process id).
    fn source(&self) -> Option<u64> {
        if let Some(s) = self.source.get() {
            return Some(*s);
        }
        let sources = self.shared.sources.lock().expect("sources lock").clone();
        let found = self.local.and_then(|l| source_node(self.peer, l, &sources))?;
        if self.source.set(found).is_ok() {
            self.shared.stats.lock().expect("stats lock").identified += 1;
        }
        Some(found)
    }

    /// Waits until nothing holds this connection's bytes; the delay to apply then.
    async fn gate(&self, faults: &mut watch::Receiver<Faults>) -> std::io::Result<Option<(u64, u64)>> {
        let source = self.source();
        let f = faults
            .wait_for(|f| !f.holds(source))
            .await
            .map_err(|_| std::io::Error::other("proxy stopped"))?;
        Ok(f.delay_ms)
    }
}

async fn connection(client: TcpStream, peer: SocketAddr, shared: Arc<Shared>, n: u64) {
    let mut rng = SplitMix::new(shared.seed, n);
    let conn = Arc::new(Conn {
        shared: shared.clone(),
        peer,
        local: client.local_addr().ok(),
        source: OnceLock::new(),
    });
    shared.stats.lock().expect("stats lock").accepted += 1;
    conn.source();
    if rng.percent(shared.faults.borrow().drop_percent) {
        shared.stats.lock().expect("stats lock").dropped += 1;
        return;
    }
    // A held source gets no upstream connection until it is released.
    if conn.gate(&mut shared.faults.subscribe()).await.is_err() {
        return;
    }
    let Ok(upstream) = TcpStream::connect(shared.target).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (cr, cw) = client.into_split();
    let (ur, uw) = upstream.into_split();
    let down_rng = SplitMix::new(rng.next_u64(), 1);
    let up = pump(cr, uw, &conn, rng);
    let down = pump(ur, cw, &conn, down_rng);
    // An error either way closes both; a clean end of one direction lets the other finish.
    let _ = tokio::try_join!(up, down);
}

/// Forwards one direction, holding and delaying as the faults say.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    conn: &Conn,
    mut rng: SplitMix,
) -> std::io::Result<()> {
    let mut faults = conn.shared.faults.subscribe();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return to.shutdown().await;
        }
        if let Some((lo, hi)) = conn.gate(&mut faults).await? {
            let ms = lo + rng.below(hi.saturating_sub(lo) + 1);
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        to.write_all(&buf[..n]).await?;
    }
}

/// The node whose process owns the client end of the connection `peer` → `local`.
fn source_node(peer: SocketAddr, local: SocketAddr, sources: &HashMap<u32, u64>) -> Option<u64> {
    let inode = socket_inode(peer, local)?;
    let link = format!("socket:[{inode}]");
    sources.iter().find_map(|(pid, node)| {
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
        fds.flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t.to_str() == Some(&link)))
            .then_some(*node)
    })
}

/// The inode of the socket whose local end is `peer` and remote end `local` (the proxy).
fn socket_inode(peer: SocketAddr, local: SocketAddr) -> Option<u64> {
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 10 {
                continue;
            }
            let port = |col: &str| {
                col.rsplit(':')
                    .next()
                    .and_then(|p| u16::from_str_radix(p, 16).ok())
            };
            if port(cols[1]) == Some(peer.port()) && port(cols[2]) == Some(local.port()) {
                return cols[9].parse().ok();
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    async fn echo_server() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = l.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    async fn round_trip(s: &mut TcpStream, msg: &[u8]) -> Vec<u8> {
        s.write_all(msg).await.expect("write");
        let mut got = vec![0u8; msg.len()];
        s.read_exact(&mut got).await.expect("read");
        got
    }

    #[tokio::test]
    async fn forwards_bytes_unchanged_and_identifies_its_own_process() {
        let proxy = FaultProxy::start(echo_server().await, 1).await;
        proxy.set_sources(HashMap::from([(std::process::id(), 9)]));
        let mut s = TcpStream::connect(proxy.addr).await.expect("connect");
        let msg: Vec<u8> = (0..=255u8).cycle().take(200_000).collect();
        assert_eq!(round_trip(&mut s, &msg).await, msg);
        assert_eq!(
            proxy.stats(),
            ProxyStats {
                accepted: 1,
                identified: 1,
                dropped: 0
            }
        );
    }

    #[tokio::test]
    async fn a_blackhole_holds_bytes_until_healed_and_loses_none() {
        let proxy = FaultProxy::start(echo_server().await, 2).await;
        proxy.set_sources(HashMap::from([(std::process::id(), 9)]));
        let mut s = TcpStream::connect(proxy.addr).await.expect("connect");
        assert_eq!(round_trip(&mut s, b"before").await, b"before");
        proxy.set_faults(Faults {
            blackhole_from: HashSet::from([9]),
            ..Faults::default()
        });
        s.write_all(b"during").await.expect("write");
        let mut got = [0u8; 6];
        let held = tokio::time::timeout(Duration::from_millis(300), s.read_exact(&mut got)).await;
        assert!(held.is_err(), "bytes passed a blackhole");
        // Another source is not held.
        proxy.set_sources(HashMap::new());
        let mut other = TcpStream::connect(proxy.addr).await.expect("connect");
        assert_eq!(round_trip(&mut other, b"other").await, b"other");
        proxy.heal();
        s.read_exact(&mut got).await.expect("released");
        assert_eq!(&got, b"during");
    }

    #[tokio::test]
    async fn drops_and_delays_connections() {
        let proxy = FaultProxy::start(echo_server().await, 3).await;
        proxy.set_faults(Faults {
            drop_percent: 100,
            ..Faults::default()
        });
        let mut s = TcpStream::connect(proxy.addr).await.expect("connect");
        let mut buf = [0u8; 1];
        let n = s.read(&mut buf).await.unwrap_or(0);
        assert_eq!(n, 0, "a dropped connection is closed");
        assert_eq!(proxy.stats().dropped, 1);
        proxy.set_faults(Faults {
            delay_ms: Some((100, 100)),
            ..Faults::default()
        });
        let mut s = TcpStream::connect(proxy.addr).await.expect("connect");
        let started = Instant::now();
        assert_eq!(round_trip(&mut s, b"slow").await, b"slow");
        assert!(started.elapsed() >= Duration::from_millis(200), "two delayed hops");
    }
}
