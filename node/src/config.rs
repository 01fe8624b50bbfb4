//! Node configuration: a TOML file (every setting documented in deploy/node.toml), with
//! overrides from flags and the environment applied by `main`. Sizes and durations are typed
//! and checked once, here: a duration is a `Duration`, written in humantime's syntax
//! (`commit_timeout = "10s"`); the older integer keys (`commit_timeout_ms = 10000`) are still
//! read, translated by [`LEGACY_DURATIONS`] before the file is deserialised.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Everything a node needs to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// This node's id; must be a node of the genesis registry.
    pub node_id: u64,
    /// Where RocksDB and the node's files live.
    pub data_dir: PathBuf,
    /// The genesis file (JSON of the signed genesis submission), the same on every node.
    pub genesis: PathBuf,
    /// The node's signing key (PKCS#8 PEM), whose public half genesis pins.
    pub node_key: PathBuf,
    /// Address the Raft transport listens on (`host:port`; port 0 picks one).
    #[serde(default = "default_listen")]
    pub raft_listen: String,
    /// Address the API listens on.
    #[serde(default = "default_listen")]
    pub api_listen: String,
    /// Address peers use to reach this node's Raft port (defaults to the bound address).
    #[serde(default)]
    pub raft_advertise: Option<String>,
    /// Address clients use to reach this node's API (defaults to the bound address).
    #[serde(default)]
    pub api_advertise: Option<String>,
    /// Whether this node initialises a new cluster (exactly one node, once).
    #[serde(default)]
    pub bootstrap: bool,
    /// The simulated clock shared by all nodes (demo), or the system clock.
    #[serde(default)]
    pub clock: ClockConfig,
    /// Raft timing.
    #[serde(default)]
    pub raft: RaftTiming,
    /// Request limits.
    #[serde(default)]
    pub limits: ApiLimits,
    /// Log format.
    #[serde(default)]
    pub log_json: bool,
    /// Cosigned checkpoints (issue 5).
    #[serde(default)]
    pub checkpoint: CheckpointConfig,
    /// The background re-verification of the stored chain.
    #[serde(default)]
    pub selfcheck: SelfCheckConfig,
    /// Transport security: the peer port's mutual TLS (always on) and the API port's TLS.
    #[serde(default)]
    pub tls: TlsConfig,
    /// RocksDB's memory budget.
    #[serde(default)]
    pub storage: StorageConfig,
    /// How this node carries out the membership the ledger approved.
    #[serde(default)]
    pub membership: MembershipConfig,
}

/// `[membership]`: the leader carries out approved membership changes
/// (docs/FORMAT.md §Membership, ARCHITECTURE.md §Membership).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembershipConfig {
    /// How long this node keeps following a leader whose demotion the ledger approved before
    /// it stops (so the majority elects a leader that carries it out).
    #[serde(default = "default_execute_timeout", with = "humantime_serde")]
    pub execute_timeout: Duration,
    /// `true` makes this node, when it leads, refuse to carry out its own demotion or removal:
    /// the censoring leader that the escape path exists for. Only for tests of that path.
    #[serde(default)]
    pub refuse_own_demotion: bool,
}

fn default_execute_timeout() -> Duration {
    Duration::from_secs(10)
}

impl Default for MembershipConfig {
    fn default() -> Self {
        Self {
            execute_timeout: default_execute_timeout(),
            refuse_own_demotion: false,
        }
    }
}

/// RocksDB's memory (`[storage]`): fixed budgets, so a node's memory does not grow with the
/// ledger's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// The block cache shared by every column family (index and filter blocks included), MiB.
    #[serde(default = "default_cache_mib")]
    pub block_cache_mib: u64,
    /// All memtables together, MiB.
    #[serde(default = "default_cache_mib")]
    pub write_buffers_mib: u64,
}

fn default_cache_mib() -> u64 {
    64
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            block_cache_mib: default_cache_mib(),
            write_buffers_mib: default_cache_mib(),
        }
    }
}

impl StorageConfig {
    /// The store's budget (at least 1 MiB each).
    pub fn budget(&self) -> crate::store::MemoryBudget {
        let mib = |m: u64| usize::try_from(m.max(1)).unwrap_or(usize::MAX / 2) << 20;
        crate::store::MemoryBudget {
            block_cache: mib(self.block_cache_mib),
            write_buffers: mib(self.write_buffers_mib),
        }
    }
}

/// Transport security (`[tls.peer]`, `[tls.api]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The peer port: mutual TLS, always on.
    #[serde(default)]
    pub peer: PeerTlsConfig,
    /// The API port: plain HTTP when absent.
    #[serde(default)]
    pub api: Option<ApiTlsConfig>,
}

/// The peer port's mutual TLS. Peers are accepted by the key the registry pins for them; the
/// defaults need no file: the node presents a self-signed certificate of its key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerTlsConfig {
    /// The certificate (chain, leaf first, PEM) this node presents; it must carry the key
    /// below. Default: a self-signed certificate made at startup.
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// The Ed25519 TLS key (PKCS#8 PEM), for a node whose registry entry declares a separate
    /// `tls_key`. Default: `node_key`.
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// A CA bundle (PEM): when set, a peer's certificate must also chain to it, in addition to
    /// carrying a pinned key.
    #[serde(default)]
    pub ca: Option<PathBuf>,
}

/// The API port's TLS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiTlsConfig {
    /// The certificate chain (PEM, leaf first) the API presents.
    pub cert: PathBuf,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// The CA bundle (PEM) this node trusts when it forwards to another node's API (all nodes
    /// of a cluster serve their API alike). Default: the certificates of `cert`.
    #[serde(default)]
    pub ca: Option<PathBuf>,
}
/// When the leader gathers cosignatures for a checkpoint: once `every_entries` entries were
/// appended since the last checkpoint, or once `every` passed with any new entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointConfig {
    /// Entries between checkpoints.
    pub every_entries: u64,
    /// Time between checkpoints when fewer entries came (zero: only by entries).
    #[serde(with = "humantime_serde")]
    pub every: Duration,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        Self {
            every_entries: 1000,
            every: Duration::from_secs(60),
        }
    }
}

/// How fast the background self-check re-reads the stored chain once the startup check is
/// done (the startup check runs at full speed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelfCheckConfig {
    /// Entries re-verified per second in the background (0: startup check only).
    pub entries_per_second: u64,
    /// A background pass starts at most this often (zero: when the last one ends, after a
    /// second). A ledger longer than `entries_per_second` times this is re-read continuously.
    #[serde(default = "default_pass_every", with = "humantime_serde")]
    pub pass_every: Duration,
}

fn default_pass_every() -> Duration {
    Duration::from_secs(600)
}

impl Default for SelfCheckConfig {
    fn default() -> Self {
        Self {
            entries_per_second: 5000,
            pass_every: default_pass_every(),
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:0".into()
}

/// The ledger's time source. Nodes in production use the system clock; for the demo every
/// node names the same epoch and speed factor, so simulated days pass in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockConfig {
    /// Simulated time at `real_epoch_ms` (Unix ms); `None` for the system clock.
    pub sim_epoch_ms: Option<u64>,
    /// The real instant (Unix ms) at which simulated time was `sim_epoch_ms`.
    pub real_epoch_ms: Option<u64>,
    /// Simulated milliseconds per real millisecond.
    pub speed: f64,
}

impl Default for ClockConfig {
    fn default() -> Self {
        Self {
            sim_epoch_ms: None,
            real_epoch_ms: None,
            speed: 1.0,
        }
    }
}

impl ClockConfig {
    /// The clock's reading for a given system time (Unix ms).
    pub fn at(&self, system_ms: u64) -> u64 {
        match (self.sim_epoch_ms, self.real_epoch_ms) {
            (Some(sim), Some(real)) => {
                let elapsed = system_ms.saturating_sub(real) as f64;
                sim + (elapsed * self.speed) as u64
            }
            _ => system_ms,
        }
    }

    /// The clock's reading now.
    pub fn now_ms(&self) -> u64 {
        let system = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        self.at(system)
    }
}

/// Raft timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RaftTiming {
    /// Leader heartbeat interval.
    #[serde(with = "humantime_serde")]
    pub heartbeat: Duration,
    /// Election timeout, lower bound.
    #[serde(with = "humantime_serde")]
    pub election_min: Duration,
    /// Election timeout, upper bound.
    #[serde(with = "humantime_serde")]
    pub election_max: Duration,
    /// Take a snapshot (a pointer, cheap) every this many applied log entries; the log is
    /// purged behind it.
    pub snapshot_every: u64,
    /// Submissions grouped into one Raft entry, at most (1 turns group commit off).
    pub batch_max_proposals: usize,
    /// Raft entries of grouped submissions in flight at once, at most.
    pub batch_in_flight: usize,
}

impl Default for RaftTiming {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_millis(100),
            election_min: Duration::from_millis(400),
            election_max: Duration::from_millis(800),
            snapshot_every: 5000,
            batch_max_proposals: 1024,
            batch_in_flight: 3,
        }
    }
}

/// Limits on API requests and the freshness window of signed requests (`[limits]`). Every
/// limit is answered with its own error code; the defaults do not throttle the benchmark
/// (thousands of submissions per second from one organisation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiLimits {
    /// Largest request body, bytes (413 `TOO_LARGE`).
    pub max_body_bytes: usize,
    /// Largest page of entries, rejections or overdue cases (400 `PAGE_TOO_LARGE`).
    pub max_page: u64,
    /// Most submissions in one batch (`POST /v1/entries/batch`; 413 `TOO_LARGE`). The batch's
    /// body is bounded by `max_body_bytes` as every body is.
    pub max_batch_submissions: usize,
    /// How long a submission may wait for commit (on the leader, or on a follower forwarding
    /// it to the leader); then 503 `UNAVAILABLE`.
    #[serde(with = "humantime_serde")]
    pub commit_timeout: Duration,
    /// Requests served at once; more are answered 503 `OVERLOADED`.
    pub max_concurrent_requests: usize,
    /// Sustained requests per second per organisation (429 `RATE_LIMITED` with
    /// `Retry-After`); nodes are not limited.
    pub rate_per_org: u32,
    /// Requests an organisation may send at once above its sustained rate.
    pub rate_burst: u32,
    /// How long a client may take to send its request body (408 `REQUEST_TIMEOUT`).
    #[serde(with = "humantime_serde")]
    pub read_timeout: Duration,
    /// How far a signed request's time may be from the node's clock (401 `STALE_REQUEST`).
    #[serde(with = "humantime_serde")]
    pub clock_skew: Duration,
    /// Most nonces remembered within two skew windows; past it requests are answered 503
    /// `OVERLOADED` rather than forgetting a nonce (which would allow a replay).
    pub max_nonces: usize,
    /// Connections the API port serves at once; more wait in the kernel's backlog until one
    /// closes (lowered at startup to fit the process's descriptor limit).
    pub max_connections: usize,
    /// Connections the peer (Raft) port serves at once, likewise.
    pub max_peer_connections: usize,
    /// How long a connection on either port may take to send a request head, counted from the
    /// accept and from the end of each response: then it is closed (the header-read timeout
    /// and the idle timeout).
    #[serde(with = "humantime_serde")]
    pub header_timeout: Duration,
}

impl Default for ApiLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 256 * 1024,
            max_page: 1000,
            max_batch_submissions: 256,
            commit_timeout: Duration::from_secs(10),
            max_concurrent_requests: 4096,
            rate_per_org: 50_000,
            rate_burst: 100_000,
            read_timeout: Duration::from_secs(10),
            clock_skew: Duration::from_secs(300),
            max_nonces: 1_000_000,
            max_connections: 1024,
            max_peer_connections: 256,
            header_timeout: Duration::from_secs(30),
        }
    }
}

impl NodeConfig {
    /// Reads and checks a TOML config file; relative paths are taken from the file's folder.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        let mut cfg =
            Self::from_toml(&text).with_context(|| format!("parsing config {}", path.display()))?;
        if let Some(base) = path.parent() {
            let tls = &mut cfg.tls;
            let api = tls.api.as_mut();
            let optional = [&mut tls.peer.cert, &mut tls.peer.key, &mut tls.peer.ca]
                .into_iter()
                .flatten();
            let api_paths = api
                .into_iter()
                .flat_map(|a| [Some(&mut a.cert), Some(&mut a.key), a.ca.as_mut()])
                .flatten();
            for p in [&mut cfg.data_dir, &mut cfg.genesis, &mut cfg.node_key]
                .into_iter()
                .chain(optional)
                .chain(api_paths)
            {
                if p.is_relative() {
                    *p = base.join(&*p);
                }
            }
        }
        cfg.check()?;
        Ok(cfg)
    }

    /// Checks the values that types cannot.
    pub fn check(&self) -> Result<()> {
        if self.node_id == 0 {
            bail!("node_id must be at least 1");
        }
        if self.raft.election_min <= self.raft.heartbeat
            || self.raft.election_max <= self.raft.election_min
        {
            bail!("raft timing must satisfy heartbeat < election_min < election_max");
        }
        if self.raft.batch_max_proposals == 0 || self.raft.batch_in_flight == 0 {
            bail!("raft.batch_max_proposals and raft.batch_in_flight must be at least 1");
        }
        if self.clock.speed.is_nan() || self.clock.speed <= 0.0 {
            bail!("clock.speed must be positive");
        }
        if self.checkpoint.every_entries == 0 {
            bail!("checkpoint.every_entries must be at least 1");
        }
        if self.limits.max_body_bytes < 1024 {
            bail!("limits.max_body_bytes must be at least 1024");
        }
        let l = &self.limits;
        if l.max_page == 0
            || l.max_batch_submissions == 0
            || l.max_concurrent_requests == 0
            || l.rate_per_org == 0
            || l.rate_burst == 0
            || l.read_timeout.is_zero()
            || l.clock_skew.is_zero()
            || l.max_nonces == 0
            || l.max_connections == 0
            || l.max_peer_connections == 0
            || l.header_timeout.is_zero()
        {
            bail!("limits: max_page, max_batch_submissions, max_concurrent_requests, rate_per_org, rate_burst, read_timeout, clock_skew, max_nonces, max_connections, max_peer_connections and header_timeout must be positive");
        }
        Ok(())
    }

    /// Reads a config from TOML text (paths as written), accepting each duration's older integer
    /// key as well as its new one, never both.
    pub fn from_toml(text: &str) -> Result<Self> {
        let mut table: toml::Table = toml::from_str(text)?;
        translate_legacy_durations(&mut table)?;
        Ok(table.try_into()?)
    }

    /// Writes the config as TOML (durations under their new keys).
    pub fn to_toml(&self) -> Result<String> {
        Ok(toml::to_string_pretty(self)?)
    }
}

/// A duration's older key: an integer of `unit_ms` milliseconds each, read as the new key's
/// duration.
struct LegacyDuration {
    /// The table both keys sit in.
    section: &'static str,
    old: &'static str,
    new: &'static str,
    unit_ms: u64,
}

const MS: u64 = 1;

/// Every duration key that was an integer before durations were typed.
const LEGACY_DURATIONS: &[LegacyDuration] = &[
    legacy("raft", "heartbeat_ms", "heartbeat", MS),
    legacy("raft", "election_min_ms", "election_min", MS),
    legacy("raft", "election_max_ms", "election_max", MS),
    legacy("limits", "commit_timeout_ms", "commit_timeout", MS),
    legacy("limits", "read_timeout_ms", "read_timeout", MS),
    legacy("limits", "clock_skew_ms", "clock_skew", MS),
    legacy("limits", "header_timeout_ms", "header_timeout", MS),
    legacy("checkpoint", "every_ms", "every", MS),
    legacy("membership", "execute_timeout_ms", "execute_timeout", MS),
    legacy("selfcheck", "pass_every_seconds", "pass_every", 1000),
];

const fn legacy(
    section: &'static str,
    old: &'static str,
    new: &'static str,
    unit_ms: u64,
) -> LegacyDuration {
    LegacyDuration {
        section,
        old,
        new,
        unit_ms,
    }
}

/// Rewrites each older integer key of `table` as its new key (a humantime string); a table
/// naming both is refused.
fn translate_legacy_durations(table: &mut toml::Table) -> Result<()> {
    for l in LEGACY_DURATIONS {
        let Some(toml::Value::Table(section)) = table.get_mut(l.section) else {
            continue;
        };
        let Some(old) = section.remove(l.old) else {
            continue;
        };
        if section.contains_key(l.new) {
            bail!(
                "[{}] sets both `{}` and `{}`: keep one (`{} = \"10s\"` is the current form)",
                l.section,
                l.old,
                l.new,
                l.new
            );
        }
        let Some(n) = old.as_integer().and_then(|n| u64::try_from(n).ok()) else {
            bail!(
                "[{}] `{}` must be a whole number (or use `{}` with a duration such as \"10s\")",
                l.section,
                l.old,
                l.new
            );
        };
        let value = humantime_serde::re::humantime::format_duration(Duration::from_millis(
            n.saturating_mul(l.unit_ms),
        ))
        .to_string();
        section.insert(l.new.to_owned(), toml::Value::String(value));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str =
        "node_id = 1\ndata_dir = \"d\"\ngenesis = \"g.json\"\nnode_key = \"k.pem\"\n";

    fn read(rest: &str) -> Result<NodeConfig> {
        NodeConfig::from_toml(&format!("{BASE}{rest}"))
    }

    #[test]
    fn reads_durations_under_new_and_old_keys_alike() {
        let old = read(
            "[raft]\nheartbeat_ms = 50\nelection_min_ms = 300\nelection_max_ms = 600\n\
             [limits]\ncommit_timeout_ms = 2500\nclock_skew_ms = 300000\n\
             [checkpoint]\nevery_entries = 10\nevery_ms = 0\n\
             [selfcheck]\nentries_per_second = 1\npass_every_seconds = 600\n\
             [membership]\nexecute_timeout_ms = 3000\n",
        )
        .expect("old keys");
        let new = read(
            "[raft]\nheartbeat = \"50ms\"\nelection_min = \"300ms\"\nelection_max = \"600ms\"\n\
             [limits]\ncommit_timeout = \"2s 500ms\"\nclock_skew = \"5m\"\n\
             [checkpoint]\nevery_entries = 10\nevery = \"0s\"\n\
             [selfcheck]\nentries_per_second = 1\npass_every = \"10m\"\n\
             [membership]\nexecute_timeout = \"3s\"\n",
        )
        .expect("new keys");
        for cfg in [&old, &new] {
            assert_eq!(cfg.raft.heartbeat, Duration::from_millis(50));
            assert_eq!(cfg.raft.election_max, Duration::from_millis(600));
            assert_eq!(cfg.limits.commit_timeout, Duration::from_millis(2500));
            assert_eq!(cfg.limits.clock_skew, Duration::from_secs(300));
            assert_eq!(cfg.limits.read_timeout, Duration::from_secs(10), "default");
            assert_eq!(cfg.checkpoint.every, Duration::ZERO);
            assert_eq!(cfg.selfcheck.pass_every, Duration::from_secs(600));
            assert_eq!(cfg.membership.execute_timeout, Duration::from_secs(3));
        }
        let again = NodeConfig::from_toml(&new.to_toml().expect("toml")).expect("round trip");
        assert_eq!(again.limits, new.limits);
        assert_eq!(again.raft, new.raft);
        assert!(new
            .to_toml()
            .expect("toml")
            .contains("commit_timeout = \"2s 500ms\""));
    }

    #[test]
    fn refuses_a_duration_named_by_both_its_old_and_new_key() {
        let err = read("[limits]\ncommit_timeout_ms = 10000\ncommit_timeout = \"10s\"\n")
            .expect_err("both keys");
        let text = format!("{err:#}");
        assert!(
            text.contains("[limits] sets both `commit_timeout_ms` and `commit_timeout`"),
            "{text}"
        );
    }

    #[test]
    fn refuses_an_old_key_that_is_not_a_whole_number() {
        let err = read("[raft]\nheartbeat_ms = \"100ms\"\n").expect_err("string in old key");
        assert!(format!("{err:#}").contains("`heartbeat_ms` must be a whole number"));
    }

    #[test]
    fn refuses_a_duration_humantime_cannot_read() {
        assert!(read("[limits]\ncommit_timeout = \"ten seconds\"\n").is_err());
    }
}
