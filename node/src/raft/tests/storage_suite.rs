//! openraft's own storage test suite, each store in a fresh temp dir.

use std::sync::Arc;

use openraft::testing::{StoreBuilder, Suite};
use openraft::StorageError;
use tempfile::TempDir;

use crate::ledger::echo::EchoLedger;
use crate::raft::log_store::LogStore;
use crate::raft::state_machine::StateMachine;
use crate::raft::{NodeId, TypeConfig};
use crate::store::Store;

struct TempStoreBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, TempDir> for TempStoreBuilder {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachine), StorageError<NodeId>> {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("open store");
        let sm = StateMachine::open(store.clone(), Arc::new(EchoLedger))
            .await
            .expect("open state machine");
        Ok((dir, LogStore::new(store), sm))
    }
}

#[test]
fn passes_openraft_storage_suite() {
    if let Err(e) = Suite::test_all(TempStoreBuilder) {
        panic!("openraft storage suite failed: {e}");
    }
}
