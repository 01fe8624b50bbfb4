//! A caseledger department node: openraft on RocksDB, replicating the signed, hash-chained
//! ledger.
//!
//! Modules, one per adapter:
//! - [`store`]: RocksDB at the level of bytes and column families (the only module naming
//!   rocksdb).
//! - [`ledger`]: the seam between Raft and the ledger ([`ledger::LedgerMachine`]).
//! - [`raft`]: openraft's storage traits over `store`, and the HTTP transport (the only module
//!   naming openraft).
//! - [`node`]: the context every handler and task shares; [`service`]: submit, receipts,
//!   admission (no HTTP types); [`checkpointer`]: cosigned checkpoints.
//! - [`api`]: the API port's HTTP; [`peer`]: the peer port's HTTP beside Raft's routes.
//! - [`server`]: the assembly that starts and stops a node; [`serve`]: the listener code.

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
pub mod server;
pub mod service;
pub mod store;
pub mod tls;
