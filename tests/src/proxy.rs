//! A byte-transparent TCP fault proxy, put in front of a node's Raft (peer) port: the node
//! advertises the proxy's address, so every peer connection to it passes through here.
//!
//! It never alters a byte (the peer port may speak TLS): faults are in timing only.
//! - **Blackhole** (a partition): bytes from the blackholed sources are held, not forwarded,
//!   until the blackhole is lifted; new connections from them are accepted but not connected
//!   through (and forgotten if their client gives up first). Peers see silence and time out,
//!   as behind a dropped link. Nothing on a live connection is lost, so the streams stay
//!   valid across the heal.
//! - **Drop**: a share of new connections is closed at once (a reset link).
//! - **Delay**: each chunk waits a random time in a range before it is forwarded; every
//!   connection draws its own delays, so messages on different connections overtake each
//!   other (reordering). Within one TCP stream order is kept, as TCP itself guarantees.
//!
//! A link is directed: the proxy of node B sees connections from A and C. It tells them apart
//! by the process that owns the client socket (Linux `/proc/net/tcp*` and `/proc/<pid>/fd`),
//! among the node processes it was told of with [`FaultProxy::set_sources`]; the lookup is
//! slow on a busy machine, so it is made only while a fault depends on the source. Meanwhile
//! a connection not traced to a node is held: the bytes a node wrote before it closed a
//! connection (a timed-out heartbeat) must not slip through a partition.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use caseledger_lab::flows::SplitMix;
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
    /// Bumped whenever `sources` changes.
    generation: AtomicU64,
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
            generation: AtomicU64::new(0),
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
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
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
                let (client, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        // Out of descriptors and the like: back off rather than spin.
                        eprintln!("fault proxy {}: accept failed: {e}", listener.local_addr().map(|a| a.to_string()).unwrap_or_default());
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                n += 1;
                let shared = shared.clone();
                conns.spawn(connection(client, peer, shared, n));
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// Clears its flag when dropped: the lookup it guards was given up.
struct Wanted(Arc<AtomicBool>);

impl Drop for Wanted {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// One proxied connection: who it comes from, once looked up.
struct Conn {
    shared: Arc<Shared>,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    /// When the proxy accepted it: only what was seen of the client's port since counts.
    accepted: Instant,
    /// The source found at a generation of the sources map.
    source: Mutex<Option<(u64, Option<u64>)>>,
}

impl Conn {
    /// The source node. Looked up (off the runtime: `/proc` is slow with many sockets) only
    /// when a fault depends on the source, and again only if the proxy was told of other
    /// processes since.
    async fn source(&self) -> Option<u64> {
        let generation = self.shared.generation.load(Ordering::SeqCst);
        let known = *self.source.lock().expect("source lock");
        if let Some((g, s)) = known {
            if g == generation {
                return s;
            }
        }
        let sources = self.shared.sources.lock().expect("sources lock").clone();
        let (peer, local, accepted) = (self.peer, self.local, self.accepted);
        // Once this lookup is given up (its connection ended while it waited for the scanner),
        // the scanner does not scan for it: a cut-off node's timed-out connections must not
        // queue scans ahead of the majority's.
        let wanted = Wanted(Arc::new(AtomicBool::new(true)));
        let still = wanted.0.clone();
        let found = tokio::task::spawn_blocking(move || {
            local.and_then(|l| source_node(peer, l, accepted, &sources, &still))
        })
        .await
        .ok()
        .flatten();
        drop(wanted);
        *self.source.lock().expect("source lock") = Some((generation, found));
        if found.is_some() && known.is_none_or(|(_, s)| s.is_none()) {
            self.shared.stats.lock().expect("stats lock").identified += 1;
        }
        found
    }

    /// Waits until nothing holds this connection's bytes; the delay to apply then.
    async fn gate(
        &self,
        faults: &mut watch::Receiver<Faults>,
    ) -> std::io::Result<Option<(u64, u64)>> {
        loop {
            let f = faults.borrow_and_update().clone();
            let held = f.blackhole_all
                || (!f.blackhole_from.is_empty()
                    && self
                        .source()
                        .await
                        .is_none_or(|s| f.blackhole_from.contains(&s)));
            if !held {
                return Ok(f.delay_ms);
            }
            faults
                .changed()
                .await
                .map_err(|_| std::io::Error::other("proxy stopped"))?;
        }
    }
}

async fn connection(client: TcpStream, peer: SocketAddr, shared: Arc<Shared>, n: u64) {
    let mut rng = SplitMix::new(shared.seed, n);
    let conn = Arc::new(Conn {
        shared: shared.clone(),
        peer,
        local: client.local_addr().ok(),
        accepted: Instant::now(),
        source: Mutex::new(None),
    });
    shared.stats.lock().expect("stats lock").accepted += 1;
    if rng.percent(shared.faults.borrow().drop_percent) {
        shared.stats.lock().expect("stats lock").dropped += 1;
        return;
    }
    // A held source gets no upstream connection until it is released. What it sends meanwhile
    // is kept for then; if it gives up first (a timed-out request), the connection ends
    // unheard, as an attempt across a cut link would, rather than pile up until the heal.
    let mut client = client;
    let mut early = Vec::new();
    let mut faults = shared.faults.subscribe();
    let gate = conn.gate(&mut faults);
    tokio::pin!(gate);
    let mut buf = vec![0u8; 16 * 1024];
    let delay = loop {
        tokio::select! {
            open = &mut gate => match open {
                Ok(delay) => break delay,
                Err(_) => return,
            },
            read = client.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => early.extend_from_slice(&buf[..n]),
            },
        }
    };
    let Ok(mut upstream) = TcpStream::connect(shared.target).await else {
        return;
    };
    // Bytes read while the gate was being decided are delayed like any others.
    if let (Some((lo, hi)), false) = (delay, early.is_empty()) {
        let ms = lo + rng.below(hi.saturating_sub(lo) + 1);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if upstream.write_all(&early).await.is_err() {
        return;
    }
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

/// The node whose process owns the client end of the connection `peer` → `local`, accepted at
/// `accepted`; `None` at once if the lookup is no longer `wanted`.
fn source_node(
    peer: SocketAddr,
    local: SocketAddr,
    accepted: Instant,
    sources: &HashMap<u32, u64>,
    wanted: &AtomicBool,
) -> Option<u64> {
    let pids: Vec<u32> = sources.keys().copied().collect();
    owner_pid(peer.port(), local.port(), accepted, &pids, wanted)
        .and_then(|pid| sources.get(&pid).copied())
}

/// Which of `pids` owns the socket from local port `client` to port `server`, for a connection
/// accepted at `since`.
///
/// A port pair names one socket at a time only: the client port a node freed is soon taken by
/// another node's new connection (on loopback, `tcp_tw_reuse` even skips TIME_WAIT). So only a
/// scan of the socket tables that started after the connection was accepted is trusted, a hit
/// as much as a miss: an older one may name the port's previous owner, and a partitioned node's
/// connection traced to a node of the majority would carry its heartbeats through the
/// partition. Reading the tables is slow on a busy machine (tens to hundreds of milliseconds),
/// so one scan serves every connection accepted before it started, and none is made for a
/// lookup no longer `wanted`.
fn owner_pid(
    client: u16,
    server: u16,
    since: Instant,
    pids: &[u32],
    wanted: &AtomicBool,
) -> Option<u32> {
    type Owners = HashMap<(u16, u16), u32>;
    static CACHE: Mutex<Option<(Instant, Owners)>> = Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let fresh = match cache.as_ref() {
        Some((at, owners)) if *at >= since => Some(owners),
        _ if !wanted.load(Ordering::SeqCst) => return None,
        _ => None,
    };
    let owners = match fresh {
        Some(owners) => owners,
        None => {
            // A scan sees every socket that existed when it started.
            let started = Instant::now();
            let owners = scan_owners(pids);
            &cache.insert((started, owners)).1
        }
    };
    owners
        .get(&(client, server))
        .copied()
        .filter(|pid| pids.contains(pid))
}

/// (local port, remote port) of every TCP socket owned by one of `pids`.
fn scan_owners(pids: &[u32]) -> HashMap<(u16, u16), u32> {
    let mut ports_of_inode: HashMap<u64, (u16, u16)> = HashMap::new();
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
            if let (Some(l), Some(r), Ok(inode)) = (port(cols[1]), port(cols[2]), cols[9].parse()) {
                ports_of_inode.insert(inode, (l, r));
            }
        }
    }
    let mut owners = HashMap::new();
    for &pid in pids {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let inode = target
                .to_str()
                .and_then(|t| t.strip_prefix("socket:["))
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse::<u64>().ok());
            if let Some(ports) = inode.and_then(|i| ports_of_inode.get(&i)) {
                owners.insert(*ports, pid);
            }
        }
    }
    owners
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // A fault that depends on the source makes the proxy look it up.
        proxy.set_faults(Faults {
            blackhole_from: HashSet::from([8]),
            ..Faults::default()
        });
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
        proxy.set_sources(HashMap::from([(std::process::id(), 7)]));
        let mut other = TcpStream::connect(proxy.addr).await.expect("connect");
        assert_eq!(round_trip(&mut other, b"other").await, b"other");
        proxy.heal();
        s.read_exact(&mut got).await.expect("released");
        assert_eq!(&got, b"during");
    }

    /// A process holding a connection from `port` (0: any) to `server`; it prints its port,
    /// then on a line of input closes with a reset (no TIME_WAIT on either side) and exits.
    fn python_client(port: u16, server: u16) -> (std::process::Child, u16) {
        use std::io::BufRead as _;
        const SCRIPT: &str = "import socket, struct, sys\n\
s = socket.socket()\n\
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
s.bind(('127.0.0.1', int(sys.argv[1])))\n\
s.connect(('127.0.0.1', int(sys.argv[2])))\n\
print(s.getsockname()[1], flush=True)\n\
sys.stdin.readline()\n\
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))\n\
s.close()\n";
        let mut child = std::process::Command::new("python3")
            .args(["-c", SCRIPT, &port.to_string(), &server.to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 (scripts/prereqs.sh installs it)");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.as_mut().expect("stdout"))
            .read_line(&mut line)
            .expect("the client's port");
        (child, line.trim().parse().expect("a port"))
    }

    fn close(mut child: std::process::Child) {
        use std::io::Write as _;
        let _ = child.stdin.take().expect("stdin").write_all(b"close\n");
        child.wait().expect("python exits");
    }

    #[test]
    fn a_client_port_taken_over_by_another_process_is_traced_to_its_new_owner() {
        let server = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let server_port = server.local_addr().expect("addr").port();
        let (first, port) = python_client(0, server_port);
        let (from_first, _) = server.accept().expect("accept");
        let pids = |c: &std::process::Child| vec![std::process::id(), c.id()];
        assert_eq!(
            owner_pid(
                port,
                server_port,
                Instant::now(),
                &pids(&first),
                &AtomicBool::new(true)
            ),
            Some(first.id())
        );
        // The first owner resets its connection; another process connects from the same port
        // to the same server, as a node does with a port another node freed.
        let first_pid = first.id();
        close(first);
        drop(from_first);
        let (second, again) = python_client(port, server_port);
        assert_eq!(again, port);
        let _from_second = server.accept().expect("accept");
        let accepted = Instant::now();
        let mut both = pids(&second);
        both.push(first_pid);
        assert_eq!(
            owner_pid(port, server_port, accepted, &both, &AtomicBool::new(true)),
            Some(second.id()),
            "traced to the port's previous owner"
        );
        close(second);
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
        assert!(
            started.elapsed() >= Duration::from_millis(200),
            "two delayed hops"
        );
    }
}
