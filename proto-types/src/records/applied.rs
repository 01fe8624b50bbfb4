//! What applying one entry yields ([`Applied`]): the sealed entry and everything it changes
//! ([`Changes`]), which the state persists with it; and the idempotency record of each
//! submission id. `crate::apply::apply` makes them; `crate::state::LedgerState` reads them back.

use super::{CaseRecord, HandoffRecord};
use crate::crypto::Digest;
use crate::entry::{Entry, Record, Rule};
use crate::ids::HandoffId;
use crate::registry::Registry;
use serde::{Deserialize, Serialize};

/// The idempotency record of a submission id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionRecord {
    /// The id.
    pub id: HandoffId,
    /// The ledger index of the entry that recorded it.
    pub index: u64,
    /// SHA-256 of the submission's canonical bytes.
    pub digest: Digest,
}

/// Everything an appended entry changes, for the state to persist with it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Changes {
    /// The registry after the entry, if it changed.
    pub registry: Option<Registry>,
    /// The idempotency record (every appended entry has one).
    pub submission: Option<SubmissionRecord>,
    /// Case records after the entry.
    pub cases: Vec<CaseRecord>,
    /// Handoff records after the entry.
    pub handoffs: Vec<HandoffRecord>,
}

/// An appended entry and its effects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The sealed entry.
    pub entry: Entry,
    /// Its canonical bytes (`entry.to_bytes()`), encoded once, when it was sealed: what is
    /// stored, and what a replay compares with the bytes it received.
    pub bytes: Vec<u8>,
    /// What it changes.
    pub changes: Changes,
}

impl Applied {
    /// The entry's Merkle leaf bytes: [`Applied::bytes`] without the hash that ends them.
    pub fn leaf(&self) -> &[u8] {
        Entry::leaf_of(&self.bytes).expect(
            "apply seals the bytes (`EntryBody::seal_encoded`): the body's, then the hash's",
        )
    }

    /// The rule broken, if the entry records a rejection.
    pub fn rejected_rule(&self) -> Option<Rule> {
        match &self.entry.body.record {
            Record::Rejected(r) => Some(r.rule),
            Record::Accepted(_) => None,
        }
    }
}
