//! The caseledger client library: keys, the HTTP client, signing steps, membership changes,
//! the auditor and offline receipt checks. It starts no process: the demo, the benchmarks and
//! their workload generators are the lab's (`caseledger-lab`), and the CLI (`caseledger`) is
//! the `caseledger-cli` package, a thin layer over both.

pub mod audit;
pub mod config;
pub mod http;
pub mod keys;
pub mod membership;
pub mod steps;
pub mod tls;
pub mod trust;
