//! etcd beside caseledger: a 3-member etcd cluster on loopback (each member its own data dir
//! in the bench's folder, etcd's default durability: every commit fsynced by every member's
//! WAL), driven by the same load generator ([`super::load`]) with the same levels, duration and
//! HTTP client, putting ~500-byte values through etcd's v3 JSON gateway (`POST /v3/kv/put`,
//! base64 key and value). The binary is Debian's `etcd-server` (`scripts/bench-etcd.sh`
//! installs it).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use bytes::Bytes;
use serde::Deserialize;

use super::load::{self, drive, http_client, work_of, Level, Sequence, Stop, Target};

/// etcd settings.
#[derive(Debug, Clone)]
pub struct EtcdOptions {
    /// The `etcd` binary.
    pub bin: PathBuf,
    /// Members.
    pub members: usize,
    /// Where the members' data dirs and logs go (must be empty or absent).
    pub dir: PathBuf,
    /// Value size, bytes.
    pub value_bytes: usize,
    /// Puts pre-built per level and second of the level.
    pub prebuild_rate: u64,
    /// Puts per request: 1 is `POST /v3/kv/put`; more is one `POST /v3/kv/txn` of that many
    /// puts (`success` of `requestPut`s, no compare), counted as that many.
    pub batch: usize,
}

/// The `etcd` binary on `PATH` (or Debian's `/usr/bin/etcd`), if installed.
pub fn find_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|d| d.join("etcd"))
        .find(|p| p.is_file())
}

/// The running members; stopped when dropped (TERM, then KILL after 10 s).
pub(super) struct Members(pub(super) Vec<Child>);

impl Drop for Members {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for c in &mut self.0 {
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A free loopback port (bound and released; etcd takes it right after).
/// etcd's `GET /health` answer (etcd's shape, not ours): `"true"` when the member is healthy.
#[derive(Deserialize)]
struct EtcdHealth {
    health: String,
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn version(bin: &Path) -> String {
    Command::new(bin)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "unknown version".into())
}

/// Starts the members and waits until every one reports healthy; returns them and their
/// client URLs.
async fn start(opts: &EtcdOptions) -> Result<(Members, Vec<String>)> {
    crate::demo::prepare_dir(&opts.dir)?;
    let mut peers = Vec::new();
    let mut clients = Vec::new();
    for _ in 0..opts.members {
        peers.push(format!("http://127.0.0.1:{}", free_port()?));
        clients.push(format!("http://127.0.0.1:{}", free_port()?));
    }
    let mut members = Members(Vec::new());
    for i in 0..opts.members {
        let etcd = Command::new(&opts.bin);
        let child = spawn_member(
            etcd,
            &opts.dir,
            i,
            &peers,
            &clients,
            "caseledger-bench",
            &[],
        )?;
        members.0.push(child);
    }
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    for c in &clients {
        loop {
            let healthy = match http.get(format!("{c}/health")).send().await {
                Ok(r) => r
                    .json::<EtcdHealth>()
                    .await
                    .is_ok_and(|h| h.health == "true"),
                Err(_) => false,
            };
            if healthy {
                break;
            }
            for (i, m) in members.0.iter_mut().enumerate() {
                if let Ok(Some(status)) = m.try_wait() {
                    bail!(
                        "etcd member m{i} exited ({status}); see {}",
                        opts.dir.join(format!("m{i}.log")).display()
                    );
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "etcd did not become healthy at {c} (see {})",
                    opts.dir.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok((members, clients))
}

/// Starts member `i` (`m<i>`) of a new cluster on `peers[i]` and `clients[i]`, its data and
/// log under `dir`, through `etcd` (the binary, or a command that runs it, e.g. in a network
/// namespace), with `extra` flags after the common ones.
pub(super) fn spawn_member(
    mut etcd: Command,
    dir: &Path,
    i: usize,
    peers: &[String],
    clients: &[String],
    token: &str,
    extra: &[String],
) -> Result<Child> {
    let initial: Vec<String> = peers
        .iter()
        .enumerate()
        .map(|(i, p)| format!("m{i}={p}"))
        .collect();
    let log = std::fs::File::create(dir.join(format!("m{i}.log")))?;
    etcd.arg("--name")
        .arg(format!("m{i}"))
        .arg("--data-dir")
        .arg(dir.join(format!("m{i}")))
        .args(["--listen-peer-urls", &peers[i]])
        .args(["--initial-advertise-peer-urls", &peers[i]])
        .args(["--listen-client-urls", &clients[i]])
        .args(["--advertise-client-urls", &clients[i]])
        .args(["--initial-cluster", &initial.join(",")])
        .args(["--initial-cluster-state", "new"])
        .args(["--initial-cluster-token", token])
        .args(["--log-level", "warn"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting etcd member m{i}: {etcd:?}"))
}

/// `count` puts with unique keys under `prefix` and `value_bytes` values, one sequence each:
/// a put's JSON body, or with `batch` above 1 a transaction's of `batch` puts.
pub(super) fn puts(prefix: &str, count: u64, value_bytes: usize, batch: usize) -> Vec<Sequence> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let puts = (0..count).map(|n| {
        let key = format!("/bench/{prefix}/{n:010}");
        // Varied bytes, like a signed payload (no compression helps either side).
        let mut value = Vec::with_capacity(value_bytes);
        let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        while value.len() < value_bytes {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            value.extend_from_slice(&x.to_le_bytes());
        }
        value.truncate(value_bytes);
        serde_json::json!({
            "key": b64.encode(key),
            "value": b64.encode(&value),
        })
    });
    if batch <= 1 {
        return puts.map(|p| vec![Bytes::from(p.to_string())]).collect();
    }
    let puts: Vec<serde_json::Value> = puts.collect();
    puts.chunks(batch)
        .filter(|c| c.len() == batch)
        .map(|c| {
            let ops: Vec<_> = c
                .iter()
                .map(|p| serde_json::json!({ "requestPut": p }))
                .collect();
            vec![Bytes::from(
                serde_json::json!({ "success": ops }).to_string(),
            )]
        })
        .collect()
}

/// Runs every level against one new etcd cluster; prints and returns the levels.
pub async fn run(opts: &EtcdOptions, levels: &[usize], seconds: u64) -> Result<Vec<Level>> {
    let (members, clients) = start(opts).await?;
    println!(
        "etcd: {} ({}), {} members on loopback, each its own data dir, default durability (fsync on)",
        opts.bin.display(),
        version(&opts.bin),
        opts.members
    );
    println!(
        "values: {} bytes (JSON body of a put: ~{} bytes)",
        opts.value_bytes,
        opts.value_bytes * 4 / 3 + 60
    );
    let target = if opts.batch > 1 {
        println!(
            "batched: {} puts per transaction (POST /v3/kv/txn); committed and per second count puts, latencies transactions",
            opts.batch
        );
        Target {
            urls: clients.iter().map(|c| format!("{c}/v3/kv/txn")).collect(),
            content_type: "application/json",
            count: load::Count::Each(opts.batch as u64),
        }
    } else {
        Target {
            urls: clients.iter().map(|c| format!("{c}/v3/kv/put")).collect(),
            content_type: "application/json",
            count: load::Count::One,
        }
    };
    let http = http_client();
    load::print_header();
    let mut out = Vec::new();
    for &c in levels {
        let want = seconds * opts.prebuild_rate + c as u64 * 40;
        let work = work_of(puts(&format!("c{c}"), want, opts.value_bytes, opts.batch));
        let pids: Vec<u32> = members.0.iter().map(Child::id).collect();
        let cpu = load::cpu_now(&pids);
        let mut level = drive(
            &http,
            &target,
            work,
            c,
            Stop::After(Duration::from_secs(seconds)),
            |_| {},
        )
        .await;
        let (server, client) = load::cpu_now(&pids);
        level.charge_cpu(server - cpu.0, client - cpu.1);
        load::print_level(&level);
        out.push(level);
    }
    drop(members);
    Ok(out)
}
