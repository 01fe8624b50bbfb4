//! A stand-in ledger for tests until the core's `apply` is plugged in: it appends every
//! proposal's bytes to the `ledger` column family, one index per proposal.

use std::ops::Range;

use crate::ledger::{Applied, LedgerMachine, LedgerPointer, Proposal};
use crate::store::{be_u64, meta_key, read_be_u64, Batch, Cf, Store, StoreError};

/// `sm_meta` key under which the echo ledger records the range a snapshot left missing.
const MISSING: &[u8] = b"echo_missing";

/// Appends proposals verbatim; the outcome echoes the proposal's length.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct EchoLedger;

fn tree_size(store: &Store, batch: &Batch) -> Result<u64, StoreError> {
    match store.get_through(batch, Cf::SmMeta, meta_key::TREE_SIZE)? {
        None => Ok(0),
        Some(bytes) => read_be_u64(Cf::SmMeta, &bytes),
    }
}

impl LedgerMachine for EchoLedger {
    fn apply_batch(
        &self,
        store: &Store,
        proposals: Vec<Proposal>,
        batch: &mut Batch,
    ) -> Result<Vec<Applied>, StoreError> {
        let mut next = tree_size(store, batch)?;
        let mut out = Vec::with_capacity(proposals.len());
        for proposal in proposals {
            batch.put(Cf::Ledger, be_u64(next), &proposal.bytes);
            out.push(Applied {
                ledger_index: Some(next),
                outcome: (proposal.bytes.len() as u64).to_be_bytes().to_vec(),
            });
            next += 1;
        }
        batch.put(Cf::SmMeta, meta_key::TREE_SIZE, be_u64(next));
        Ok(out)
    }

    fn snapshot_pointer(&self, store: &Store) -> Result<LedgerPointer, StoreError> {
        Ok(LedgerPointer {
            tree_size: tree_size(store, &Batch::new())?,
            ..LedgerPointer::default()
        })
    }

    fn install_snapshot(
        &self,
        store: &Store,
        pointer: &LedgerPointer,
        batch: &mut Batch,
    ) -> Result<(), StoreError> {
        let local = tree_size(store, batch)?;
        if local < pointer.tree_size {
            let mut range = be_u64(local).to_vec();
            range.extend_from_slice(&be_u64(pointer.tree_size));
            batch.put(Cf::SmMeta, MISSING, range);
        }
        batch.put(Cf::SmMeta, meta_key::TREE_SIZE, be_u64(pointer.tree_size));
        Ok(())
    }

    fn missing_entries(&self, store: &Store) -> Result<Option<Range<u64>>, StoreError> {
        let Some(bytes) = store.get(Cf::SmMeta, MISSING)? else {
            return Ok(None);
        };
        if bytes.len() != 16 {
            return Err(StoreError::Corrupt {
                what: "echo_missing".into(),
                detail: "length".into(),
            });
        }
        Ok(Some(
            read_be_u64(Cf::SmMeta, &bytes[..8])?..read_be_u64(Cf::SmMeta, &bytes[8..])?,
        ))
    }
}
