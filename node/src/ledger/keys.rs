//! Keys of the ledger's index column families (DESIGN.md, storage layout). Identifiers are
//! printable ASCII without control bytes, so `id || 0x00 || ...` keys are prefix-free.

use proto_types::ids::{CaseId, HandoffId, OrgId};
use proto_types::payload::Action;
use proto_types::workflow::HandoffRecord;
use proto_types::Payload;
use std::collections::BTreeSet;

/// `by_handoff_id`: the idempotency record of a submission id.
pub fn submission(id: &HandoffId) -> Vec<u8> {
    [b"s\0".as_slice(), id.as_str().as_bytes()].concat()
}

/// `by_handoff_id`: the state of a handoff.
pub fn handoff(id: &HandoffId) -> Vec<u8> {
    [b"h\0".as_slice(), id.as_str().as_bytes()].concat()
}

/// `by_case`: the state of a case.
pub fn case(id: &CaseId) -> Vec<u8> {
    [id.as_str().as_bytes(), &[0x00]].concat()
}

/// `by_case`: one entry of a case's timeline.
pub fn case_entry(id: &CaseId, index: u64) -> Vec<u8> {
    [id.as_str().as_bytes(), &[0x01], &index.to_be_bytes()].concat()
}

/// `by_case`: the range of a case's timeline rows.
pub fn case_entries(id: &CaseId) -> (Vec<u8>, Vec<u8>) {
    (
        [id.as_str().as_bytes(), &[0x01]].concat(),
        [id.as_str().as_bytes(), &[0x02]].concat(),
    )
}

/// `by_org`: an entry an organisation signed, sent or received.
pub fn org_entry(org: &OrgId, index: u64) -> Vec<u8> {
    [org.as_str().as_bytes(), &[0x00], &index.to_be_bytes()].concat()
}

/// `by_org`: a rejection entry (`~` is not an identifier character).
pub fn rejection(index: u64) -> Vec<u8> {
    [b"~rejection\0".as_slice(), &index.to_be_bytes()].concat()
}

/// The range of rejection rows.
pub fn rejections() -> (Vec<u8>, Vec<u8>) {
    (b"~rejection\0".to_vec(), b"~rejection\x01".to_vec())
}

/// `by_org`: an accepted checkpoint entry (`~` is not an identifier character).
pub fn checkpoint(index: u64) -> Vec<u8> {
    [b"~checkpoint\0".as_slice(), &index.to_be_bytes()].concat()
}

/// The range of checkpoint rows.
pub fn checkpoints() -> (Vec<u8>, Vec<u8>) {
    (b"~checkpoint\0".to_vec(), b"~checkpoint\x01".to_vec())
}

/// The organisations an entry concerns: signer, sender, receiver.
pub fn orgs_of(payload: &Payload, handoffs: &[HandoffRecord]) -> BTreeSet<OrgId> {
    let mut out = BTreeSet::new();
    if let Some(o) = payload.signer_org() {
        out.insert(o.clone());
    }
    if let Action::Handoff(h) = &payload.action {
        out.insert(h.sender.clone());
        out.insert(h.receiver.clone());
    }
    for h in handoffs {
        out.insert(h.sender.clone());
        out.insert(h.receiver.clone());
    }
    out
}
