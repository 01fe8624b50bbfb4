//! The caseledger client library: keys, the province fixture, the case-flow generator,
//! the HTTP client and the auditor. The CLI (`caseledger`) is a thin layer over it.

pub mod audit;
pub mod bench;
pub mod config;
pub mod demo;
pub mod flows;
pub mod http;
pub mod keys;
pub mod membership;
pub mod pilot;
pub mod steps;
pub mod table;
pub mod tls;
pub mod trust;
