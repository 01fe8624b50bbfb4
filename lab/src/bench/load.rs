//! The load generator, one for every system measured: workers each POST pre-built request
//! bodies over HTTP (one shared client, the same settings as
//! [`caseledger_client::http::Client`]), one request at a time, spreading the workers over
//! the system's nodes. Work comes as *sequences*: the requests of one sequence go in order
//! from one worker (a case's steps, each depending on the one before), different sequences
//! run concurrently. A request counts as committed when the node answers 200 or 201; its
//! latency is the time from sending it to reading the whole answer. A request may carry
//! several submissions ([`Count`]): the committed figures count submissions, the latencies
//! requests.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

/// One sequence of request bodies, sent in order.
pub type Sequence = Vec<Bytes>;

/// Where the requests go.
#[derive(Debug, Clone)]
pub struct Target {
    /// The endpoint's full URL on each node; worker `w` uses node `w % len`.
    pub urls: Vec<String>,
    /// The bodies' content type.
    pub content_type: &'static str,
    /// How many submissions a committed request counts for.
    pub count: Count,
}

/// How many submissions a committed request counts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Each request is one submission.
    One,
    /// Each request carries this many (e.g. an etcd transaction of that many puts).
    Each(u64),
    /// The answer is a batch's receipt set (`proto_types::wire::ReceiptSet`): its recorded
    /// submissions count (`APPENDED`, `DUPLICATE`); a rejected or refused one is an error.
    ReceiptSet,
}

impl Count {
    /// The submissions a 200/201 answer `body` counts for, or why one of them failed.
    fn of(self, body: &[u8]) -> Result<u64, String> {
        match self {
            Count::One => Ok(1),
            Count::Each(n) => Ok(n),
            Count::ReceiptSet => {
                use proto_types::wire::{BatchOutcome, ReceiptSet};
                let set: ReceiptSet =
                    serde_json::from_slice(body).map_err(|e| format!("not a receipt set: {e}"))?;
                let mut n = 0;
                for r in &set.results {
                    match r.outcome {
                        BatchOutcome::Appended | BatchOutcome::Duplicate => n += 1,
                        other => {
                            return Err(format!(
                                "submission {} of a batch: {other:?} {}",
                                r.position,
                                r.code.as_ref().map(ToString::to_string).unwrap_or_default()
                            ))
                        }
                    }
                }
                Ok(n)
            }
        }
    }
}

/// When a level ends.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    /// After this long (requests in flight then still finish and count).
    After(Duration),
    /// Once this many requests committed.
    Committed(u64),
}

/// The work queue: sequences handed out in order. Workers stop when it is empty.
pub type Work = Arc<Mutex<Box<dyn Iterator<Item = Sequence> + Send>>>;

/// Work from pre-built sequences.
pub fn work_of(sequences: Vec<Sequence>) -> Work {
    Arc::new(Mutex::new(Box::new(sequences.into_iter())))
}

/// One level's result.
#[derive(Debug, Clone)]
pub struct Level {
    /// Workers in flight.
    pub concurrency: usize,
    /// Submissions committed (a batch's count each).
    pub committed: u64,
    /// Requests committed.
    pub requests: u64,
    /// Wall time of the level, seconds.
    pub seconds: f64,
    /// Committed submissions per second.
    pub per_second: f64,
    /// Latency percentiles of committed requests, milliseconds.
    pub p50_ms: f64,
    /// p99.
    pub p99_ms: f64,
    /// p99.9.
    pub p999_ms: f64,
    /// Requests answered with another status, or not answered.
    pub errors: u64,
    /// The first error seen, to say why.
    pub first_error: Option<String>,
    /// Whether the work ran out before the level's end (the figure is then a lower bound).
    pub exhausted: bool,
    /// CPU time (user + system) the servers spent per committed submission, milliseconds, summed
    /// over every server process: less sensitive to a shared machine's noise than a rate.
    pub server_cpu_ms: Option<f64>,
    /// CPU time the load generator (this process) spent per committed submission,
    /// milliseconds: what the servers did not have on a machine the two share.
    pub client_cpu_ms: Option<f64>,
}

impl Level {
    /// Charges `server` seconds of the servers' CPU time and `client` seconds of the load
    /// generator's to this level's committed submissions.
    pub fn charge_cpu(&mut self, server: f64, client: f64) {
        if self.committed > 0 {
            self.server_cpu_ms = Some(server * 1000.0 / self.committed as f64);
            self.client_cpu_ms = Some(client * 1000.0 / self.committed as f64);
        }
    }
}

/// CPU seconds of `servers` and of this process so far: what [`Level::charge_cpu`] takes the
/// difference of.
pub fn cpu_now(servers: &[u32]) -> (f64, f64) {
    (
        super::cpu_seconds(servers),
        super::cpu_seconds(&[std::process::id()]),
    )
}

/// The HTTP client every load uses: the settings of [`caseledger_client::http::Client`].
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(256)
        .build()
        .expect("a plain HTTP client builds")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

struct Shared {
    committed: AtomicU64,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
    exhausted: AtomicBool,
}

/// Runs `concurrency` workers against `target` until `stop`; `progress` is called every
/// two seconds with the committed count so far.
pub async fn drive(
    http: &reqwest::Client,
    target: &Target,
    work: Work,
    concurrency: usize,
    stop: Stop,
    mut progress: impl FnMut(u64),
) -> Level {
    let shared = Arc::new(Shared {
        committed: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        first_error: Mutex::new(None),
        exhausted: AtomicBool::new(false),
    });
    let started = Instant::now();
    let deadline = match stop {
        Stop::After(d) => Some(started + d),
        Stop::Committed(_) => None,
    };
    let quota = match stop {
        Stop::Committed(n) => n,
        Stop::After(_) => u64::MAX,
    };
    let mut tasks = Vec::with_capacity(concurrency);
    for w in 0..concurrency {
        let (http, shared, work) = (http.clone(), shared.clone(), work.clone());
        let url = target.urls[w % target.urls.len()].clone();
        let content_type = target.content_type;
        let count = target.count;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let done = |shared: &Shared| {
                deadline.is_some_and(|d| Instant::now() >= d)
                    || shared.committed.load(Ordering::Relaxed) >= quota
            };
            'sequences: while !done(&shared) {
                let next = work.lock().map(|mut w| w.next()).unwrap_or(None);
                let Some(sequence) = next else {
                    shared.exhausted.store(true, Ordering::Relaxed);
                    break;
                };
                for body in sequence {
                    if done(&shared) {
                        break 'sequences;
                    }
                    let t = Instant::now();
                    let sent = http
                        .post(&url)
                        .header("content-type", content_type)
                        .body(body)
                        .send()
                        .await;
                    let outcome = match sent {
                        Ok(r) => {
                            let status = r.status();
                            match r.bytes().await {
                                Ok(b) if status.as_u16() == 200 || status.as_u16() == 201 => {
                                    count.of(&b).map_err(|e| format!("{url}: {e}"))
                                }
                                Ok(b) => Err(format!(
                                    "{url}: {status}: {}",
                                    String::from_utf8_lossy(&b[..b.len().min(300)])
                                )),
                                Err(e) => Err(format!("{url}: {e}")),
                            }
                        }
                        Err(e) => Err(format!("{url}: {e}")),
                    };
                    match outcome {
                        Ok(n) => {
                            latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                            shared.committed.fetch_add(n, Ordering::Relaxed);
                        }
                        Err(why) => {
                            shared.errors.fetch_add(1, Ordering::Relaxed);
                            if let Ok(mut first) = shared.first_error.lock() {
                                first.get_or_insert(why);
                            }
                            // The rest of the sequence depends on this step.
                            continue 'sequences;
                        }
                    }
                }
            }
            latencies
        }));
    }
    let all = async {
        let mut latencies = Vec::new();
        for t in tasks {
            if let Ok(mine) = t.await {
                latencies.extend(mine);
            }
        }
        latencies
    };
    tokio::pin!(all);
    let mut latencies = loop {
        tokio::select! {
            l = &mut all => break l,
            () = tokio::time::sleep(Duration::from_secs(2)) => {
                progress(shared.committed.load(Ordering::Relaxed));
            }
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let first_error = shared.first_error.lock().ok().and_then(|mut f| f.take());
    let committed = shared.committed.load(Ordering::Relaxed);
    Level {
        concurrency,
        committed,
        requests: latencies.len() as u64,
        seconds,
        per_second: committed as f64 / seconds.max(1e-9),
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        p999_ms: percentile(&latencies, 0.999),
        errors: shared.errors.load(Ordering::Relaxed),
        first_error,
        exhausted: shared.exhausted.load(Ordering::Relaxed),
        server_cpu_ms: None,
        client_cpu_ms: None,
    }
}

/// The table header [`print_level`] fills.
pub fn print_header() {
    println!(
        "{:>11} {:>10} {:>11} {:>9} {:>9} {:>9} {:>7} {:>14} {:>14}",
        "concurrency",
        "committed",
        "per second",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "errors",
        "server CPU ms",
        "client CPU ms"
    );
}

/// One row of the table.
pub fn print_level(l: &Level) {
    println!(
        "{:>11} {:>10} {:>11.0} {:>9.2} {:>9.2} {:>9.2} {:>7} {:>14} {:>14}{}",
        l.concurrency,
        l.committed,
        l.per_second,
        l.p50_ms,
        l.p99_ms,
        l.p999_ms,
        l.errors,
        l.server_cpu_ms
            .map_or_else(|| "-".to_owned(), |ms| format!("{ms:.3}")),
        l.client_cpu_ms
            .map_or_else(|| "-".to_owned(), |ms| format!("{ms:.3}")),
        if l.exhausted {
            "  (ran out of pre-signed work: a lower bound)"
        } else {
            ""
        }
    );
    if let Some(e) = &l.first_error {
        println!("            first error: {e}");
    }
}
