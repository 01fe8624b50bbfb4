//! The policy's size limits on a payload (`Limits`, docs/FORMAT.md §Policy), in one function:
//! [`limits`]. The workflow calls it first for every case step, so a step over a limit is
//! recorded as `Rule::LimitExceeded` with the detail it returns (docs/FORMAT.md §Apply); the
//! node calls it at ingress and answers 413 with the same rule and detail before anything is
//! proposed. Nothing else checks a limit.
//!
//! The order of the checks is part of the format: when a step is over two limits, the first
//! in this order is the one recorded. A step's limits come before every other rule of the
//! step, and depend on nothing but the payload and the policy.

use crate::entry::Rule;
use crate::payload::{Action, ClockAction, Payload, Signer};
use crate::policy::Limits;

/// The first limit of `limits` that `payload` is over, as the rule and detail a rejection
/// records; `Ok` if it is within all of them.
///
/// Limits bound case steps signed by an organisation: a filing's note and persons; a
/// handoff's note, persons, documents and each document number; a return's reason and
/// missing documents; a closure's reason; a clock pause's reason. Nothing else has a limit:
/// other actions are not case steps, and a case step signed by a node is recorded as
/// `SignerMismatch` before any limit is looked at (docs/FORMAT.md §Apply).
pub fn limits(limits: &Limits, payload: &Payload) -> Result<(), (Rule, String)> {
    if let Signer::Node(_) = payload.signer {
        return Ok(());
    }
    match &payload.action {
        Action::CaseFiling(f) => {
            text(limits, "note", &f.note)?;
            count("persons", f.persons.len(), limits.max_persons)
        }
        Action::CaseClosure(c) => text(limits, "reason", &c.reason),
        Action::Handoff(h) => {
            text(limits, "note", &h.note)?;
            count("persons", h.persons.len(), limits.max_persons)?;
            count("documents", h.documents.len(), limits.max_documents)?;
            h.documents
                .iter()
                .try_for_each(|d| text(limits, "document number", &d.number))
        }
        Action::ReturnForCompletion(r) => {
            text(limits, "reason", &r.reason)?;
            count("missing documents", r.missing.len(), limits.max_documents)
        }
        // Only a pause named directly: the reason of a countersigned pause (`Approved`) is
        // not limited (bounding it now would decide recorded steps anew).
        Action::ClockAdjustment(c) => match &c.action {
            ClockAction::Pause { reason } => text(limits, "reason", reason),
            _ => Ok(()),
        },
        Action::Receipt(_)
        | Action::Acceptance(_)
        | Action::CoerciveMeasure(_)
        | Action::Genesis(_)
        | Action::KeyLifecycle(_)
        | Action::Policy(_)
        | Action::Checkpoint(_)
        | Action::Membership(_) => Ok(()),
    }
}

/// A bounded text field: at most `max_note_bytes` bytes of UTF-8.
fn text(limits: &Limits, what: &str, text: &str) -> Result<(), (Rule, String)> {
    if text.len() > limits.max_note_bytes as usize {
        return Err((
            Rule::LimitExceeded,
            format!(
                "{what} is {} bytes, more than the {} allowed",
                text.len(),
                limits.max_note_bytes
            ),
        ));
    }
    Ok(())
}

/// A bounded list.
fn count(what: &str, count: usize, max: u32) -> Result<(), (Rule, String)> {
    if count > max as usize {
        return Err((
            Rule::LimitExceeded,
            format!("{count} {what}, more than the {max} allowed"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CaseType, Procedure};
    use crate::ids::{CaseId, HandoffId, KeyId, OrgId, PersonId};
    use crate::payload::{CaseClosure, CaseFiling, KeyRef, Receipt};
    use crate::time::Timestamp;

    const LIMITS: Limits = Limits {
        max_note_bytes: 8,
        max_documents: 2,
        max_persons: 2,
        max_supplementary_returns: 2,
    };

    fn by_org(action: Action) -> Payload {
        Payload {
            signer: Signer::Org(KeyRef {
                org: OrgId::new("PSB-1").expect("id"),
                key_id: KeyId::new("k1").expect("id"),
            }),
            id: HandoffId::new("S-1").expect("id"),
            claimed_at: Timestamp::from_millis(0),
            action,
        }
    }

    fn filing(note: &str, persons: usize) -> Action {
        Action::CaseFiling(CaseFiling {
            case_id: CaseId::new("C-1").expect("id"),
            case_type: CaseType::Theft,
            procedure: Procedure::Ordinary,
            persons: (0..persons)
                .map(|i| PersonId::new(format!("P-{i}")).expect("id"))
                .collect(),
            plea_leniency: false,
            note: note.into(),
        })
    }

    fn check(payload: Payload, expected: Result<(), &str>) {
        let expected = expected.map_err(|d| (Rule::LimitExceeded, d.to_owned()));
        assert_eq!(limits(&LIMITS, &payload), expected, "{:?}", payload.action);
    }

    #[test]
    fn refuses_the_first_limit_a_step_is_over_with_the_detail_a_rejection_records() {
        check(by_org(filing("12345678", 2)), Ok(()));
        check(
            by_org(filing("123456789", 2)),
            Err("note is 9 bytes, more than the 8 allowed"),
        );
        check(
            by_org(filing("", 3)),
            Err("3 persons, more than the 2 allowed"),
        );
        // Over two limits: the note is checked first.
        check(
            by_org(filing("123456789", 3)),
            Err("note is 9 bytes, more than the 8 allowed"),
        );
        // Bytes, not characters: three characters of three bytes each.
        check(
            by_org(Action::CaseClosure(CaseClosure {
                case_id: CaseId::new("C-1").expect("id"),
                reason: "结案了".into(),
            })),
            Err("reason is 9 bytes, more than the 8 allowed"),
        );
    }

    #[test]
    fn limits_nothing_but_case_steps_signed_by_an_organisation() {
        let mut by_node = by_org(filing("123456789", 3));
        by_node.signer = Signer::Node(1);
        check(by_node, Ok(()));
        check(
            by_org(Action::Receipt(Receipt {
                handoff: HandoffId::new("H-1").expect("id"),
            })),
            Ok(()),
        );
    }
}
