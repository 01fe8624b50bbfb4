//! A caseledger department node: openraft on RocksDB, replicating the signed, hash-chained
//! ledger.
//!
//! Modules, one per adapter:
//! - [`store`]: RocksDB at the level of bytes and column families (the only module naming
//!   rocksdb).
//! - [`ledger`]: the seam between Raft and the ledger ([`ledger::LedgerMachine`]).
//! - [`raft`]: openraft's storage traits over `store`, and the HTTP transport (the only module
//!   naming openraft).

pub mod api;
pub mod checkpointer;
pub mod config;
pub mod identity;
pub mod keyfile;
pub mod ledger;
pub mod metrics;
pub mod node;
pub mod peer;
pub mod raft;
pub mod selfcheck;
pub mod serve;
pub mod server;
pub mod service;
pub mod store;
pub mod tls;
