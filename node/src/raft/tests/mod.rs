//! Tests of the Raft adapter: openraft's storage suite and the ledger apply path (the
//! three-node cluster over the HTTP transport is `crate::peer`'s test).

mod apply;
mod storage_suite;
