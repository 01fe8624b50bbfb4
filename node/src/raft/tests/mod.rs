//! Tests of the Raft adapter: openraft's storage suite, the ledger apply path, and a
//! three-node cluster in one process.

mod apply;
mod cluster;
mod storage_suite;
