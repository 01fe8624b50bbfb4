//! Shared harness of the integration tests: a province, its genesis, and clusters of nodes,
//! in-process (each node on port 0 with its own temp dir) or as real `caseledger-node`
//! processes. Everything polls with deadlines; nothing sleeps blindly.

pub mod cluster;
pub mod faults;
pub mod linearizability;
pub mod load;
pub mod peer;
pub mod process;
pub mod proxy;

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `check` until it returns `Some`, or fails after `timeout` naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
