//! Admission: how much the API takes in. The nonces of signed requests
//! seen within the freshness window (docs/FORMAT.md §API request), per-organisation token
//! buckets, and the rate of refusal log lines. Plain state and decisions, no HTTP: the API's
//! `admit` middleware (`crate::api::auth`) asks and answers [`AdmissionError`] as HTTP.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::config::ApiLimits;

/// Why admission refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    /// The organisation's rate is spent: retry after `retry_after` seconds.
    #[error("{message}")]
    RateLimited {
        /// For people.
        message: String,
        /// Seconds to wait.
        retry_after: u64,
    },
    /// The nonce was seen within the freshness window.
    #[error("this request's nonce was used before: sign every request with a new nonce")]
    Replayed,
    /// Too much at once (nonces within the window).
    #[error("{0}")]
    Overloaded(String),
}

/// The API's shared admission state: nonces, rate buckets. (The cap on requests at once is
/// tower's concurrency limit, in `api::router`.)
pub struct Admission {
    limits: ApiLimits,
    /// Nonces of organisations' requests.
    nonces: Mutex<Nonces>,
    /// Nonces of node keys' requests (read-index calls, forwarded submissions, the
    /// operator's admin calls): kept apart, so that no organisation's traffic can fill the
    /// store node-to-node calls need, nor the other way round.
    node_nonces: Mutex<Nonces>,
    buckets: Mutex<HashMap<String, Bucket>>,
    refusal_log: RefusalLog,
}

impl Admission {
    /// Admission under `limits`.
    pub fn new(limits: ApiLimits) -> Self {
        Self {
            limits,
            nonces: Mutex::new(Nonces::new(Instant::now())),
            node_nonces: Mutex::new(Nonces::new(Instant::now())),
            buckets: Mutex::new(HashMap::new()),
            refusal_log: RefusalLog::new(),
        }
    }

    /// Charges one request to `org`'s rate: refused with the seconds to wait when spent.
    pub fn charge(&self, org: &str) -> Result<(), AdmissionError> {
        let now = Instant::now();
        let rate = f64::from(self.limits.rate_per_org);
        let burst = f64::from(self.limits.rate_burst);
        let mut buckets = lock(&self.buckets);
        let b = buckets.entry(org.to_owned()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - b.tokens) / rate).ceil().max(1.0) as u64;
        Err(AdmissionError::RateLimited {
            message: format!(
                "{org} sent more than {} requests per second (burst {}); retry in {wait} s",
                self.limits.rate_per_org, self.limits.rate_burst
            ),
            retry_after: wait,
        })
    }

    /// Remembers a nonce (of a node key's request when `node_caller`, else of an
    /// organisation's): [`AdmissionError::Replayed`] if it was seen within two skew windows.
    pub fn remember(&self, node_caller: bool, nonce: u128) -> Result<(), AdmissionError> {
        let window = self.limits.clock_skew.saturating_mul(2);
        let store = if node_caller {
            &self.node_nonces
        } else {
            &self.nonces
        };
        let mut nonces = lock(store);
        nonces.rotate(Instant::now(), window);
        if nonces.current.contains(&nonce) || nonces.previous.contains(&nonce) {
            return Err(AdmissionError::Replayed);
        }
        if nonces.current.len() + nonces.previous.len() >= self.limits.max_nonces {
            return Err(AdmissionError::Overloaded(
                "too many signed requests within the freshness window; retry shortly".into(),
            ));
        }
        nonces.current.insert(nonce);
        Ok(())
    }

    /// Whether a refusal line may be written now: `Some(lines left out since the last one)`.
    pub fn refusal_line(&self, now: Instant) -> Option<u64> {
        self.refusal_log.admit_line(now)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks leaves plain data that is still consistent.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Nonces seen, in two generations each `window` long: a nonce is kept at least `window`
/// (two skew windows), which is as long as its request's time stays acceptable.
struct Nonces {
    current: HashSet<u128>,
    previous: HashSet<u128>,
    since: Instant,
}

impl Nonces {
    fn new(now: Instant) -> Self {
        Self {
            current: HashSet::new(),
            previous: HashSet::new(),
            since: now,
        }
    }

    fn rotate(&mut self, now: Instant, window: Duration) {
        let age = now.duration_since(self.since);
        if age >= window.saturating_mul(2) {
            self.previous.clear();
            self.current.clear();
            self.since = now;
        } else if age >= window {
            self.previous = std::mem::take(&mut self.current);
            self.since = now;
        }
    }
}

/// At most [`RefusalLog::LINES_PER_SECOND`] refusal lines a second; the lines left out are
/// counted and the count is reported on the next line written.
pub(crate) struct RefusalLog {
    state: Mutex<(Instant, u32, u64)>,
}

impl RefusalLog {
    /// Refusal lines written per second at most.
    pub const LINES_PER_SECOND: u32 = 20;

    fn new() -> Self {
        Self {
            state: Mutex::new((Instant::now(), 0, 0)),
        }
    }

    /// Whether a line may be written now: `Some(lines left out since the last one)`.
    fn admit_line(&self, now: Instant) -> Option<u64> {
        let mut s = lock(&self.state);
        if now.duration_since(s.0) >= Duration::from_secs(1) {
            s.0 = now;
            s.1 = 0;
        }
        if s.1 >= Self::LINES_PER_SECOND {
            s.2 += 1;
            return None;
        }
        s.1 += 1;
        Some(std::mem::take(&mut s.2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_refused_again_within_two_windows_and_forgotten_after() {
        let t0 = Instant::now();
        let w = Duration::from_secs(10);
        let mut n = Nonces::new(t0);
        n.current.insert(1);
        n.rotate(t0 + Duration::from_secs(9), w);
        assert!(n.current.contains(&1));
        n.rotate(t0 + Duration::from_secs(11), w);
        assert!(n.previous.contains(&1), "kept one more window");
        n.rotate(t0 + Duration::from_secs(22), w);
        assert!(!n.previous.contains(&1) && !n.current.contains(&1));
    }

    #[test]
    fn refusal_lines_are_rate_limited_and_count_what_they_leave_out() {
        let log = RefusalLog::new();
        let t0 = Instant::now();
        for _ in 0..RefusalLog::LINES_PER_SECOND {
            assert_eq!(log.admit_line(t0), Some(0));
        }
        assert_eq!(log.admit_line(t0), None);
        assert_eq!(log.admit_line(t0), None);
        assert_eq!(log.admit_line(t0 + Duration::from_secs(1)), Some(2));
    }
}
