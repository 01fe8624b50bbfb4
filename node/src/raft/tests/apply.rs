//! The ledger apply path through the state machine directly (openraft's suite never applies
//! normal entries), and the log store across a restart.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use openraft::storage::{RaftLogStorage, RaftLogStorageExt, RaftStateMachine};
use openraft::{
    CommittedLeaderId, Entry, EntryPayload, LogId, Membership, RaftLogReader, RaftSnapshotBuilder,
    Vote,
};

use crate::ledger::echo::EchoLedger;
use crate::ledger::LedgerMachine;
use crate::raft::log_store::LogStore;
use crate::raft::state_machine::StateMachine;
use crate::raft::{NodeId, RaftRequest, TypeConfig};
use crate::store::{be_u64, Cf, Store};

fn log_id(term: u64, index: u64) -> LogId<NodeId> {
    LogId::new(CommittedLeaderId::new(term, 1), index)
}

fn normal(term: u64, index: u64, bytes: &[u8]) -> Entry<TypeConfig> {
    batch(term, index, &[bytes])
}

fn batch(term: u64, index: u64, proposals: &[&[u8]]) -> Entry<TypeConfig> {
    Entry {
        log_id: log_id(term, index),
        payload: EntryPayload::Normal(RaftRequest {
            proposals: proposals.iter().map(|p| p.to_vec()).collect(),
        }),
    }
}

fn blank(term: u64, index: u64) -> Entry<TypeConfig> {
    Entry {
        log_id: log_id(term, index),
        payload: EntryPayload::Blank,
    }
}

fn membership(term: u64, index: u64) -> Entry<TypeConfig> {
    let voters: BTreeSet<NodeId> = [1, 2, 3].into_iter().collect();
    Entry {
        log_id: log_id(term, index),
        payload: EntryPayload::Membership(Membership::new(vec![voters], ())),
    }
}

async fn open_sm(path: &Path) -> (Store, StateMachine) {
    let store = Store::open(path).expect("open store");
    let sm = StateMachine::open(store.clone(), Arc::new(EchoLedger))
        .await
        .expect("open sm");
    (store, sm)
}

fn ledger_contents(store: &Store) -> Vec<(u64, Vec<u8>)> {
    store
        .scan_u64(Cf::Ledger, .., usize::MAX)
        .expect("scan ledger")
}

#[tokio::test]
async fn apply_appends_proposals_and_persists_applied_id_and_membership_together() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let (store, mut sm) = open_sm(dir.path()).await;
        let responses = sm
            .apply(vec![
                blank(1, 1),
                normal(1, 2, b"a"),
                membership(1, 3),
                normal(1, 4, b"bb"),
                batch(1, 5, &[b"c", b"dd", b"eee"]),
            ])
            .await
            .expect("apply");
        let indexes: Vec<Vec<_>> = responses
            .iter()
            .map(|r| r.applied.iter().map(|a| a.ledger_index).collect())
            .collect();
        let one = |i| vec![Some(i)];
        assert_eq!(
            indexes,
            vec![
                vec![],
                one(0),
                vec![],
                one(1),
                vec![Some(2), Some(3), Some(4)]
            ],
            "one outcome per proposal, a batch's in order"
        );
        assert_eq!(responses[3].applied[0].outcome, 2u64.to_be_bytes().to_vec());
        assert_eq!(
            ledger_contents(&store),
            vec![
                (0, b"a".to_vec()),
                (1, b"bb".to_vec()),
                (2, b"c".to_vec()),
                (3, b"dd".to_vec()),
                (4, b"eee".to_vec())
            ]
        );
    }
    let (_store, mut sm) = open_sm(dir.path()).await;
    let (applied, mem) = sm.applied_state().await.expect("applied state");
    assert_eq!(applied, Some(log_id(1, 5)));
    assert_eq!(mem.log_id(), &Some(log_id(1, 3)));
}

#[tokio::test]
async fn failed_apply_write_records_neither_entry_nor_applied_id_and_poisons_the_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let (store, mut sm) = open_sm(dir.path()).await;
        sm.apply(vec![normal(1, 1, b"kept")]).await.expect("apply");
        store.fail_next_write_for_test();
        assert!(sm.apply(vec![normal(1, 2, b"lost")]).await.is_err());
        assert!(store.is_poisoned());
        assert!(sm.apply(vec![normal(1, 3, b"refused")]).await.is_err());
    }
    let (store, mut sm) = open_sm(dir.path()).await;
    assert_eq!(ledger_contents(&store), vec![(0, b"kept".to_vec())]);
    assert_eq!(
        sm.applied_state().await.expect("state").0,
        Some(log_id(1, 1))
    );
}

#[tokio::test]
async fn every_apply_is_one_wal_sync() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, mut sm) = open_sm(dir.path()).await;
    let before = store.wal_stats();
    for i in 1..=25 {
        sm.apply(vec![normal(1, i, b"x")]).await.expect("apply");
    }
    let after = store.wal_stats();
    assert_eq!(after.acknowledged_batches - before.acknowledged_batches, 25);
    assert_eq!(after.synced - before.synced, 25);
}

#[tokio::test]
async fn snapshot_is_a_pointer_whose_size_does_not_grow_with_the_ledger() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_store, mut sm) = open_sm(dir.path()).await;
    sm.apply(vec![membership(1, 1), normal(1, 2, b"first")])
        .await
        .expect("apply");
    let small = sm
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .expect("snapshot");
    let entries: Vec<_> = (3..3003).map(|i| normal(1, i, &[7u8; 100])).collect();
    sm.apply(entries).await.expect("apply many");
    let large = sm
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .expect("snapshot");
    assert_eq!(small.snapshot.ledger.tree_size, 1);
    assert_eq!(large.snapshot.ledger.tree_size, 3001);
    let size = |s: &crate::raft::LedgerSnapshot| postcard::to_allocvec(s).expect("encode").len();
    assert!(
        size(&large.snapshot) <= size(&small.snapshot) + 8,
        "snapshot grew with the ledger"
    );
    assert!(size(&large.snapshot) < 256);

    let other = tempfile::tempdir().expect("temp dir");
    let (other_store, mut follower) = open_sm(other.path()).await;
    follower
        .install_snapshot(&large.meta, large.snapshot.clone())
        .await
        .expect("install");
    assert_eq!(
        follower.applied_state().await.expect("state").0,
        large.meta.last_log_id
    );
    assert_eq!(
        EchoLedger.missing_entries(&other_store).expect("missing"),
        Some(0..3001)
    );
    let current = follower
        .get_current_snapshot()
        .await
        .expect("get")
        .expect("some");
    assert_eq!(current.meta, large.meta);
}

#[tokio::test]
async fn log_and_vote_survive_a_restart_and_truncate_and_purge_are_durable() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let mut log = LogStore::new(Store::open(dir.path()).expect("open"));
        log.save_vote(&Vote::new(3, 2)).await.expect("vote");
        let entries: Vec<_> = (1..=2500).map(|i| normal(3, i, b"p")).collect();
        log.blocking_append(entries).await.expect("append");
        log.truncate(log_id(3, 2001)).await.expect("truncate");
        log.purge(log_id(3, 10)).await.expect("purge");
    }
    let mut log = LogStore::new(Store::open(dir.path()).expect("reopen"));
    assert_eq!(log.read_vote().await.expect("vote"), Some(Vote::new(3, 2)));
    let state = log.get_log_state().await.expect("state");
    assert_eq!(state.last_purged_log_id, Some(log_id(3, 10)));
    assert_eq!(state.last_log_id, Some(log_id(3, 2000)));
    let all = log.try_get_log_entries(0..).await.expect("read");
    assert_eq!(
        all.len(),
        1990,
        "entries 11..=2000 read across chunk boundaries"
    );
    assert_eq!(all.first().map(|e| e.log_id.index), Some(11));
    let some = log.try_get_log_entries(1500..=1502).await.expect("read");
    assert_eq!(
        some.iter().map(|e| e.log_id.index).collect::<Vec<_>>(),
        vec![1500, 1501, 1502]
    );
}

#[tokio::test]
async fn a_corrupt_log_entry_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    let mut log = LogStore::new(store.clone());
    log.blocking_append(vec![normal(1, 1, b"p")])
        .await
        .expect("append");
    store
        .tamper_for_test(Cf::RaftLog, &be_u64(1), b"\xff\xff")
        .expect("tamper");
    assert!(log.try_get_log_entries(0..).await.is_err());
}
