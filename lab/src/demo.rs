//! The main job: a local multi-department cluster with a realistic workload. Starts one
//! `caseledger-node` process per department (own data dir, own key), writes the genesis,
//! forms the cluster, drives the seeded workload on a simulated clock that every node shares,
//! then audits the ledger and prints a supervision summary.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use proto_types::time::DAY_MS;
use proto_types::wire::RunAddresses;
use proto_types::{LedgerState, Timestamp};

use crate::flows::case_flow_with;
use crate::formation::{form_cluster, Joiner};
use crate::pilot::Province;
use caseledger_client::audit::{audit, Verdict};
use caseledger_client::http::{Client, SubmitOutcome};

/// Simulated time at the start of every demo: 2026-01-05 00:00 UTC (a Monday).
pub const SIM_EPOCH: Timestamp = Timestamp::from_millis(1_767_571_200_000);

/// Demo settings.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Department nodes to run (at least 5: PSB, procuratorate, court, detention house,
    /// community corrections).
    pub nodes: u64,
    /// How many of them are Raft voters; the others are learners.
    pub voters: u64,
    /// Cases to run.
    pub cases: u64,
    /// Cities of the province.
    pub cities: usize,
    /// The workload's seed.
    pub seed: u64,
    /// Simulated days per real second.
    pub days_per_second: f64,
    /// Where the nodes' data dirs, keys, configs and logs go (must be empty or absent).
    pub dir: PathBuf,
    /// The `caseledger-node` binary.
    pub node_bin: PathBuf,
    /// Export the ledger (FORMAT.md §Export) to this file after the audit.
    pub export: Option<PathBuf>,
    /// Percent of custody cases whose prosecution transfer goes without its custody transfer,
    /// on purpose (default [`crate::flows::MISSING_CUSTODY_PERCENT`]).
    pub missing_custody_percent: u64,
}

/// A started node process.
pub(crate) struct NodeProc {
    pub(crate) id: u64,
    child: Child,
    pub(crate) api: String,
    pub(crate) raft: String,
    /// Its config file.
    pub(crate) config: PathBuf,
}

impl NodeProc {
    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// Kills every node process when dropped (Ctrl-C, errors).
pub(crate) struct Nodes(Vec<NodeProc>);

impl Nodes {
    /// The API addresses, in node order.
    pub(crate) fn apis(&self) -> Vec<String> {
        self.0.iter().map(|n| n.api.clone()).collect()
    }

    /// The running node processes, in start order.
    pub(crate) fn procs(&self) -> &[NodeProc] {
        &self.0
    }

    /// Adds a node started later (see [`spawn_node`]); it is stopped with the others.
    pub(crate) fn push(&mut self, node: NodeProc) {
        self.0.push(node);
    }

    /// Stops every node (SIGTERM, then SIGKILL after 10 s) and waits for them to exit.
    pub(crate) fn stop(&mut self) {
        let mut procs = std::mem::take(&mut self.0);
        for n in &mut procs {
            // SIGTERM first: nodes finish in-flight requests and flush.
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(n.child.id().to_string())
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for n in &mut procs {
            while Instant::now() < deadline {
                if let Ok(Some(_)) = n.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = n.child.kill();
            let _ = n.child.wait();
        }
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the demo found.
pub struct DemoReport {
    /// The audit's verdict.
    pub verdict: Verdict,
    /// The text summary printed.
    pub summary: String,
}

fn run_init(bin: &Path, data_dir: &Path) -> Result<()> {
    let out = Command::new(bin)
        .arg("init")
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .with_context(|| format!("running {} init", bin.display()))?;
    if !out.status.success() {
        bail!(
            "caseledger-node init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Where a node's current run listens (`addresses.json`, written by `caseledger-node run`):
/// `(raft, api)`, once the process `pid` wrote it (a restarted node's data dir still holds
/// the last run's).
fn read_addresses(data_dir: &Path, pid: u32) -> Option<(String, String)> {
    let text = std::fs::read_to_string(data_dir.join("addresses.json")).ok()?;
    let run: RunAddresses = serde_json::from_str(&text).ok()?;
    (run.pid == pid).then_some((run.raft, run.api))
}

async fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The simulated clock every node and the driver share.
#[derive(Clone, Copy)]
pub(crate) struct SimClock {
    pub(crate) real_epoch_ms: u64,
    pub(crate) speed: f64,
}

impl SimClock {
    pub(crate) fn now(&self) -> Timestamp {
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        SIM_EPOCH.plus_millis((real.saturating_sub(self.real_epoch_ms) as f64 * self.speed) as u64)
    }

    /// Real time until the simulated clock reads `t`.
    fn until(&self, t: Timestamp) -> Duration {
        let sim = t.millis_since(self.now());
        Duration::from_millis((sim as f64 / self.speed) as u64)
    }
}

/// Node `id`'s config file in a demo folder: `caseledger-node run --config <it>` restarts the
/// node by hand.
pub fn node_config_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("node-{id}.toml"))
}

/// Node `id`'s config: data under `node-<id>` (initialised by [`start_cluster`]), the shared
/// simulated clock, and its listen addresses (`127.0.0.1:0` before its first start).
fn node_config(id: u64, bootstrap: bool, clock: SimClock, raft: &str, api: &str) -> String {
    format!(
        "node_id = {id}\ndata_dir = \"node-{id}\"\ngenesis = \"genesis.json\"\nnode_key = \"node-{id}/node.pem\"\n\
         # The ports this node bound at its first start (the demo started it on port 0): a\n\
         # restart binds them again, so the cluster's membership and client.toml still reach it.\n\
         raft_listen = \"{raft}\"\napi_listen = \"{api}\"\nbootstrap = {bootstrap}\n\n\
         [clock]\nsim_epoch_ms = {}\nreal_epoch_ms = {}\nspeed = {}\n",
        SIM_EPOCH.as_millis(),
        clock.real_epoch_ms,
        clock.speed
    )
}

/// Writes node `id`'s config and starts its process on port 0; once it listens, writes the
/// ports it bound into the config, so that a node stopped and restarted from its config
/// (`caseledger-node run --config DIR/node-<id>.toml`) comes back where the others and
/// `client.toml` look for it.
pub(crate) async fn spawn_node(
    dir: &Path,
    node_bin: &Path,
    id: u64,
    bootstrap: bool,
    clock: SimClock,
    netns: Option<(&crate::netns::Namespaces, usize)>,
) -> Result<NodeProc> {
    let data = dir.join(format!("node-{id}"));
    let config_path = node_config_path(dir, id);
    // On loopback, or inside a network namespace on its address.
    let unbound = match netns {
        Some((net, i)) => format!("{}:0", net.spaces[i].ip),
        None => "127.0.0.1:0".to_owned(),
    };
    std::fs::write(
        &config_path,
        node_config(id, bootstrap, clock, &unbound, &unbound),
    )
    .with_context(|| format!("writing {}", config_path.display()))?;
    let log = std::fs::File::create(dir.join(format!("node-{id}.log")))?;
    let mut command = match netns {
        Some((net, i)) => net.command(i, node_bin),
        None => Command::new(node_bin),
    };
    let child = command
        .arg("run")
        .arg("--config")
        .arg(&config_path)
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info,openraft=warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", node_bin.display()))?;
    let pid = child.id();
    let (raft, api) = wait_for(
        &format!("node {id} to listen"),
        Duration::from_secs(60),
        || read_addresses(&data, pid),
    )
    .await?;
    std::fs::write(&config_path, node_config(id, bootstrap, clock, &raft, &api))
        .with_context(|| format!("writing {}", config_path.display()))?;
    Ok(NodeProc {
        id,
        child,
        api,
        raft,
        config: config_path,
    })
}

/// Writes every department's key under `keys/` and a `client.toml` that reads as the province's
/// auditor, so that `caseledger --config <dir>/client.toml audit` and the explorer's sign-in
/// (with `keys/<PLC>.pem`) work against the running demo.
fn write_client_files(dir: &Path, province: &Province, apis: &[String]) -> Result<()> {
    for (id, dept) in &province.departments {
        caseledger_client::keys::save_pem(&dept.key, &dir.join("keys").join(format!("{id}.pem")))?;
    }
    let nodes: Vec<String> = apis.iter().map(|a| format!("{a:?}")).collect();
    let auditor = province.auditor.as_str();
    std::fs::write(
        dir.join("client.toml"),
        format!(
            "# Written by `caseledger demo`: reads are signed as the province's auditor.\n\
             nodes = [{}]\nkey = \"keys/{auditor}.pem\"\norg = \"{auditor}\"\n",
            nodes.join(", ")
        ),
    )?;
    println!(
        "client config (reads as the auditor {auditor}): {}",
        dir.join("client.toml").display()
    );
    if let Some(api) = apis.first() {
        println!(
            "explorer: http://{api}/explorer/ (sign in as {} with key id k1 and {})",
            province.plc,
            dir.join("keys")
                .join(format!("{}.pem", province.plc))
                .display()
        );
    }
    Ok(())
}

/// Starts the cluster: keys, genesis, configs, processes, membership.
pub(crate) async fn start_cluster(
    opts: &DemoOptions,
    province: &mut Province,
    clock: SimClock,
) -> Result<Nodes> {
    start_cluster_in(opts, province, clock, None).await
}

/// [`start_cluster`], node `i` (by position) inside namespace `i` of `netns` if given.
pub(crate) async fn start_cluster_in(
    opts: &DemoOptions,
    province: &mut Province,
    clock: SimClock,
    netns: Option<&crate::netns::Namespaces>,
) -> Result<Nodes> {
    let dir = &opts.dir;
    for n in province.nodes.iter_mut() {
        let data = dir.join(format!("node-{}", n.decl.node_id));
        run_init(&opts.node_bin, &data)?;
        let text = std::fs::read_to_string(data.join("node.pem"))?;
        n.key = proto_types::crypto::signing_key_from_pem(&text)?;
        n.decl.signing_key = proto_types::crypto::PublicKey::of(&n.key);
    }
    let genesis = province.genesis(SIM_EPOCH);
    std::fs::write(
        dir.join("genesis.json"),
        serde_json::to_string_pretty(&genesis)?,
    )?;
    let mut nodes = Nodes(Vec::new());
    // The province may declare more nodes than start now (a node that joins later).
    for (i, n) in province.nodes.iter().take(opts.nodes as usize).enumerate() {
        let id = n.decl.node_id;
        let place = netns.map(|net| (net, i));
        let node = spawn_node(dir, &opts.node_bin, id, id == 1, clock, place).await?;
        let org = province.department(&n.decl.org).decl.name.clone();
        println!("  node {id}  {org:<24} api http://{}", node.api);
        nodes.0.push(node);
    }
    let http = reqwest::Client::new();
    let first = nodes.0[0].api.clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = http.get(format!("http://{first}/readyz")).send().await {
            if r.status().is_success() {
                break;
            }
        }
        if Instant::now() > deadline {
            bail!(
                "node 1 did not become ready (see {})",
                dir.join("node-1.log").display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Every other node joins through membership changes the departments approve
    // (docs/FORMAT.md §Membership); node 1's key reads the membership as its operator.
    let operator = Client::new([first.clone()]).with_credentials(
        province
            .node(1)
            .context("the province declares node 1")?
            .credentials(),
    );
    let submitter = Client::new([first.clone()]);
    let joiners: Vec<Joiner> = nodes.0[1..]
        .iter()
        .map(|n| Joiner {
            id: n.id,
            raft_addr: n.raft.clone(),
            api_addr: n.api.clone(),
        })
        .collect();
    let voters: BTreeSet<u64> = nodes
        .0
        .iter()
        .map(|n| n.id)
        .filter(|id| *id > 1 && *id <= opts.voters)
        .collect();
    form_cluster(
        &submitter,
        &operator,
        province,
        &joiners,
        &voters,
        clock.now(),
        Duration::from_secs(120),
    )
    .await
    .context("forming the cluster through approved membership changes")?;
    Ok(nodes)
}

/// Runs the demo; returns once the workload, audit and summary are done. The caller decides
/// whether to keep the nodes running (`hold`).
pub async fn run(
    opts: DemoOptions,
    hold: impl std::future::Future<Output = ()>,
) -> Result<DemoReport> {
    if opts.nodes < 5 {
        bail!("the demo runs at least 5 department nodes");
    }
    prepare_dir(&opts.dir)?;
    let clock = SimClock {
        real_epoch_ms: real_now_ms(),
        speed: opts.days_per_second * DAY_MS as f64 / 1000.0,
    };
    let mut province = Province::new(opts.seed, opts.cities, opts.nodes, SIM_EPOCH);
    println!(
        "caseledger demo: {} nodes ({} voters), {} cases, seed {}, {} simulated days per second",
        opts.nodes, opts.voters, opts.cases, opts.seed, opts.days_per_second
    );
    println!("data, keys, configs and logs in {}", opts.dir.display());
    let nodes = start_cluster(&opts, &mut province, clock).await?;
    let apis: Vec<String> = nodes.0.iter().map(|n| n.api.clone()).collect();
    write_client_files(&opts.dir, &province, &apis)?;
    // The workload submits (each step carries its department's signature); the audit, the
    // export and the summary read everything, as the province's auditor.
    let client = Client::new(apis.clone()).with_credentials(province.auditor_credentials());

    // Filings spread over the first 60 simulated days; each case then follows its schedule.
    let gap = 60 * DAY_MS / opts.cases.max(1);
    let committed = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let limit = Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = Vec::new();
    let mut lapses = Lapses {
        percent: opts.missing_custody_percent,
        ..Lapses::default()
    };
    for n in 0..opts.cases {
        let (shape, steps) = case_flow_with(
            &province,
            opts.seed,
            n,
            SIM_EPOCH.plus_millis(n * gap),
            opts.missing_custody_percent,
        );
        lapses.custody_cases += u64::from(shape.custody);
        lapses.skipped += u64::from(shape.skips_custody_transfer);
        let (client, committed, errors, done, limit) = (
            client.clone(),
            committed.clone(),
            errors.clone(),
            done.clone(),
            limit.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for (k, step) in steps.into_iter().enumerate() {
                tokio::time::sleep(clock.until(step.submission.payload.claimed_at)).await;
                let _permit = limit.acquire().await;
                let mut tries = 0;
                loop {
                    match client.submit_to(n as usize + k, &step.submission).await {
                        Ok(SubmitOutcome::Committed { .. }) => {
                            committed.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        Ok(SubmitOutcome::Error { code, message, .. }) => {
                            eprintln!(
                                "  case step {} refused: {code}: {message}",
                                step.submission.payload.id
                            );
                            errors.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                        Err(_) if tries < 100 => {
                            tries += 1;
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        Err(e) => {
                            eprintln!("  case step {}: {e}", step.submission.payload.id);
                            errors.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    }
                }
            }
            done.fetch_add(1, Ordering::Relaxed);
        }));
    }
    let started = Instant::now();
    let all = futures_join(tasks);
    tokio::pin!(all);
    let mut last = 0;
    loop {
        tokio::select! {
            _ = &mut all => break,
            () = tokio::time::sleep(Duration::from_secs(2)) => {
                let c = committed.load(Ordering::Relaxed);
                let rate = (c - last) as f64 / 2.0;
                last = c;
                println!(
                    "  {}  {:>6} entries  {:>4}/{} cases done  {:>6.0} entries/s",
                    clock.now().local_date(480),
                    c,
                    done.load(Ordering::Relaxed),
                    opts.cases,
                    rate
                );
            }
        }
    }
    println!(
        "workload done in {:.1}s: {} entries submitted, {} failed",
        started.elapsed().as_secs_f64(),
        committed.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed)
    );

    println!("auditing the ledger from the bytes (trusting no node)...");
    let (verdict, state) = audit(&client, |_, _| {}).await;
    let now = clock.now();
    let summary = match state.registry() {
        Some(reg) => render_summary(&state, reg, &province, now, &lapses),
        None => "no registry: the ledger is empty\n".into(),
    };
    print!("{summary}");
    match &verdict {
        Verdict::Intact { entries, root, .. } => {
            println!("audit: INTACT ({entries} entries, root {root})")
        }
        Verdict::Broken { index, reason } => println!("audit: BROKEN at entry {index}: {reason}"),
        Verdict::Incomplete { reason } => println!("audit: INCOMPLETE: {reason}"),
    }
    if let Some(path) = &opts.export {
        let n = caseledger_client::audit::export(&client, path, |_, _| {}).await?;
        println!("exported {n} entries to {}", path.display());
    }
    if errors.load(Ordering::Relaxed) > 0 {
        bail!("{} workload steps failed", errors.load(Ordering::Relaxed));
    }
    println!(
        "\nnodes: {}",
        apis.iter()
            .map(|a| format!("http://{a}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    hold.await;
    drop(nodes);
    Ok(DemoReport { verdict, summary })
}

/// Creates `dir`, refusing one that holds anything (never reuse another run's data).
pub(crate) fn prepare_dir(dir: &Path) -> Result<()> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        bail!("{} is not empty; pass an empty or new --dir", dir.display());
    }
    std::fs::create_dir_all(dir)?;
    Ok(())
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn real_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

async fn futures_join(tasks: Vec<tokio::task::JoinHandle<()>>) {
    for t in tasks {
        let _ = t.await;
    }
}

/// The custody transfers the workload leaves unsent on purpose.
#[derive(Debug, Default)]
struct Lapses {
    /// The share asked for, percent of custody cases.
    percent: u64,
    /// Cases whose person is detained.
    custody_cases: u64,
    /// Of those, the cases whose prosecution transfer goes without its custody transfer.
    skipped: u64,
}

fn render_summary(
    state: &proto_types::MemState,
    reg: &proto_types::Registry,
    province: &Province,
    now: Timestamp,
    lapses: &Lapses,
) -> String {
    use std::fmt::Write as _;
    let (s, _) =
        proto_types::supervision::summarize(state.cases(), state.handoffs(), &reg.policy, now);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n== summary at simulated {} ==",
        now.local_date(reg.policy.utc_offset_minutes)
    );
    let _ = writeln!(out, "entries: {}   cases: {}", state.head().size, s.cases);
    let _ = writeln!(out, "\ncases by type:");
    for (k, v) in &s.by_type {
        let _ = writeln!(out, "  {k:<28} {v:>6}");
    }
    let _ = writeln!(out, "\ncases by stage:");
    for (k, v) in &s.by_stage {
        let _ = writeln!(out, "  {k:<28} {v:>6}");
    }
    let _ = writeln!(out, "\nmean days per stage:");
    for (k, v) in &s.mean_days_per_stage {
        let _ = writeln!(out, "  {k:<28} {v:>6.1}");
    }
    let _ = writeln!(
        out,
        "\nhandoffs per department:       sent  received  late  overdue"
    );
    for (org, d) in &s.departments {
        let name = province
            .departments
            .get(org)
            .map(|d| d.decl.name.as_str())
            .unwrap_or(org.as_str());
        let _ = writeln!(
            out,
            "  {:<14} {:<14} {:>6} {:>9} {:>5} {:>8}",
            org.as_str(),
            truncate(name, 14),
            d.sent,
            d.received,
            d.late_responses,
            d.overdue_now
        );
    }
    let _ = writeln!(
        out,
        "\nreturns for completion: {}   supplementary returns: {}   late responses: {}",
        s.returns_for_completion, s.supplementary_returns, s.late_responses
    );
    let _ = writeln!(
        out,
        "overdue now: {}   due soon: {}   missing custody transfers: {}",
        s.overdue, s.due_soon, s.missing_custody_transfers
    );
    let _ = writeln!(
        out,
        "  missing on purpose: {} of {} custody cases sent for prosecution without their custody \
         transfer (seeded, --missing-custody-percent {})",
        lapses.skipped, lapses.custody_cases, lapses.percent
    );
    out
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}
