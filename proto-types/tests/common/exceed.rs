//! One payload field over its policy limit, for the tests of the one limit check
//! (`proto_types::precheck::limits`): the core's (`tests/workflow/rejections.rs`) and the
//! node's ingress test (`tests/tests/api.rs`, which includes this file by path).

use proto_types::domain::DocumentType;
use proto_types::ids::PersonId;
use proto_types::payload::{Action, ClockAction};
use proto_types::policy::Limits;

/// Puts `field` of `action` one over its limit (a byte of text, an item of a list).
pub fn exceed(action: &mut Action, field: &str, limits: &Limits) {
    // Bytes, not characters: "字" is three bytes.
    let text = "字".repeat(limits.max_note_bytes as usize / 3 + 1);
    let persons = || {
        (0..=limits.max_persons)
            .map(|i| PersonId::new(format!("P-{i:04}")).expect("a person id"))
            .collect()
    };
    let documents = limits.max_documents as usize + 1;
    match (action, field) {
        (Action::CaseFiling(f), "note") => f.note = text,
        (Action::CaseFiling(f), "persons") => f.persons = persons(),
        (Action::Handoff(h), "note") => h.note = text,
        (Action::Handoff(h), "persons") => h.persons = persons(),
        (Action::Handoff(h), "documents") => h.documents = vec![h.documents[0].clone(); documents],
        (Action::Handoff(h), "document number") => h.documents[0].number = text,
        (Action::ReturnForCompletion(r), "reason") => r.reason = text,
        (Action::ReturnForCompletion(r), "missing documents") => {
            r.missing = vec![DocumentType::Evidence; documents]
        }
        (Action::CaseClosure(c), "reason") => c.reason = text,
        (Action::ClockAdjustment(c), "reason") => c.action = ClockAction::Pause { reason: text },
        (action, field) => panic!("no limited {field} on {action:?}"),
    }
}
