//! Keys of the ledger's index column families (DESIGN.md, storage layout). Identifiers are
//! printable ASCII without control bytes, so `id || 0x00 || ...` keys are prefix-free.

use proto_types::ids::{CaseId, HandoffId, OrgId};
use proto_types::payload::Action;
use proto_types::workflow::HandoffRecord;
use proto_types::Payload;
use std::collections::BTreeSet;

/// `by_handoff_id`: the idempotency record of a submission id.
pub(super) fn submission(id: &HandoffId) -> Vec<u8> {
    [b"s\0".as_slice(), id.as_str().as_bytes()].concat()
}

/// `by_handoff_id`: the state of a handoff.
pub(super) fn handoff(id: &HandoffId) -> Vec<u8> {
    [b"h\0".as_slice(), id.as_str().as_bytes()].concat()
}

/// `by_case`: the state of a case.
pub(super) fn case(id: &CaseId) -> Vec<u8> {
    [id.as_str().as_bytes(), &[0x00]].concat()
}

/// `by_case`: the first key after every row of case `id` (its record and timeline). Case ids
/// are printable ASCII, so `id || 0x02` sorts after all of a case's rows and before any other
/// id.
pub(super) fn after_case(id: &[u8]) -> Vec<u8> {
    [id, &[0x02]].concat()
}

/// A `by_case` key read back: the case id's bytes, and whether the row is the case's record
/// (rather than a timeline row).
pub(super) fn case_of(key: &[u8]) -> (&[u8], bool) {
    let id_len = key.iter().position(|b| *b < 0x20).unwrap_or(key.len());
    let record = key.get(id_len) == Some(&0x00) && key.len() == id_len + 1;
    (&key[..id_len], record)
}

/// `by_handoff_id`: the range of handoff state rows.
pub(super) fn handoffs() -> (Vec<u8>, Vec<u8>) {
    (b"h\0".to_vec(), b"h\x01".to_vec())
}

/// The ledger index that ends a timeline, organisation, rejection or checkpoint row's key.
pub(super) fn index_of(key: &[u8]) -> Option<u64> {
    key.get(key.len().saturating_sub(8)..)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_be_bytes)
}

/// `by_case`: one entry of a case's timeline.
pub(super) fn case_entry(id: &CaseId, index: u64) -> Vec<u8> {
    [id.as_str().as_bytes(), &[0x01], &index.to_be_bytes()].concat()
}

/// `by_case`: the range of a case's timeline rows.
pub(super) fn case_entries(id: &CaseId) -> (Vec<u8>, Vec<u8>) {
    (
        [id.as_str().as_bytes(), &[0x01]].concat(),
        [id.as_str().as_bytes(), &[0x02]].concat(),
    )
}

/// `by_org`: an entry an organisation signed, sent or received.
pub(super) fn org_entry(org: &OrgId, index: u64) -> Vec<u8> {
    [org.as_str().as_bytes(), &[0x00], &index.to_be_bytes()].concat()
}

/// `by_org`: a rejection entry (`~` is not an identifier character).
pub(super) fn rejection(index: u64) -> Vec<u8> {
    [b"~rejection\0".as_slice(), &index.to_be_bytes()].concat()
}

/// The range of rejection rows.
pub(super) fn rejections() -> (Vec<u8>, Vec<u8>) {
    (b"~rejection\0".to_vec(), b"~rejection\x01".to_vec())
}

/// `by_org`: an accepted checkpoint entry (`~` is not an identifier character).
pub(super) fn checkpoint(index: u64) -> Vec<u8> {
    [b"~checkpoint\0".as_slice(), &index.to_be_bytes()].concat()
}

/// The range of checkpoint rows.
pub(super) fn checkpoints() -> (Vec<u8>, Vec<u8>) {
    (b"~checkpoint\0".to_vec(), b"~checkpoint\x01".to_vec())
}

/// The organisations an entry concerns: signer, sender, receiver.
pub(super) fn orgs_of(payload: &Payload, handoffs: &[HandoffRecord]) -> BTreeSet<OrgId> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> CaseId {
        CaseId::new(s).expect("a valid case id")
    }

    #[test]
    fn a_case_key_reads_back_as_its_id_and_kind() {
        fn check(key: Vec<u8>, want: (&[u8], bool)) {
            assert_eq!(case_of(&key), want, "{key:?}");
        }
        check(case(&id("C-1")), (b"C-1", true));
        check(case_entry(&id("C-1"), 7), (b"C-1", false));
        check(case_entry(&id("C-1"), 0), (b"C-1", false));
    }

    #[test]
    fn after_case_sorts_after_every_row_of_the_case_and_before_the_next_id() {
        let after = after_case(b"C-1");
        assert!(case(&id("C-1")) < after);
        assert!(case_entry(&id("C-1"), u64::MAX) < after);
        assert!(after < case(&id("C-1-")));
        assert!(after < case(&id("C-2")));
    }

    #[test]
    fn index_of_reads_the_index_that_ends_a_row_key() {
        fn check(key: Vec<u8>, want: Option<u64>) {
            assert_eq!(index_of(&key), want, "{key:?}");
        }
        check(case_entry(&id("C-1"), 42), Some(42));
        check(rejection(u64::MAX), Some(u64::MAX));
        check(checkpoint(9), Some(9));
        check(b"short".to_vec(), None);
    }
}
