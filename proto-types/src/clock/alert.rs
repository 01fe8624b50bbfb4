//! Alerts for a given "now": due soon, overdue, illegal attempt, missing custody transfer.

use super::{due_date, due_time, ClockState};
use crate::domain::HandoffKind;
use crate::entry::{EntryBody, Record, Rule};
use crate::ids::{CaseId, HandoffId, OrgId};
use crate::payload::ClockRef;
use crate::policy::{Period, Policy};
use crate::records::{CaseRecord, HandoffRecord, LoopStatus};
use crate::time::{Timestamp, DAY_MS};
use serde::{Deserialize, Serialize};

/// Something a supervisor should see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// The case, when known (a rejected receipt names a handoff, not a case).
    pub case_id: Option<CaseId>,
    /// The department expected to act (a handoff clock's receiver, a measure clock's organ as
    /// `CaseRecord::measure_responsible` names it, the sender who owes a custody transfer, the
    /// signer of an illegal attempt).
    pub responsible: Option<OrgId>,
    /// What is wrong.
    pub kind: AlertKind,
}

/// Kinds of alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A running clock comes due within its `warn_days`.
    DueSoon {
        /// The clock.
        clock: ClockRef,
        /// Its due time.
        due_at: Timestamp,
        /// Its legal basis.
        basis: String,
    },
    /// A running clock passed its due time with no closing entry.
    Overdue {
        /// The clock.
        clock: ClockRef,
        /// Its due time.
        due_at: Timestamp,
        /// How long ago, in milliseconds.
        overdue_by_ms: u64,
        /// Its legal basis.
        basis: String,
    },
    /// A validly signed step that broke a substantive rule (e.g. a third supplementary
    /// return), recorded as a rejection entry.
    IllegalAttempt {
        /// The rule broken.
        rule: Rule,
        /// The rejection entry.
        index: u64,
        /// Its time.
        at: Timestamp,
        /// The rejection's detail.
        detail: String,
    },
    /// A detained person was moved and no custody transfer (换押) named the move in time.
    MissingCustodyTransfer {
        /// The handoff that moves the person.
        handoff: HandoffId,
        /// When it was sent.
        sent_at: Timestamp,
        /// When the custody transfer was due.
        due_at: Timestamp,
    },
}

/// The alerts of one case at `now`: running, unpaused clocks of its handoffs (in ledger
/// order) and of its measures in force (in person order), then custody transfers owed.
/// `handoffs` are the case's handoff records (others are ignored); a closed case has none.
pub fn alerts(
    case: &CaseRecord,
    handoffs: &[HandoffRecord],
    policy: &Policy,
    now: Timestamp,
) -> Vec<Alert> {
    let mut out = Vec::new();
    if case.is_closed() {
        return out;
    }
    let mut mine: Vec<&HandoffRecord> = handoffs
        .iter()
        .filter(|h| h.case_id == case.case_id)
        .collect();
    mine.sort_by_key(|h| h.index);
    for h in &mine {
        if let Some(clock) = &h.clock {
            if let Some(kind) = clock_alert(ClockRef::Handoff(h.id.clone()), clock, policy, now) {
                out.push(Alert {
                    case_id: Some(case.case_id.clone()),
                    responsible: Some(h.receiver.clone()),
                    kind,
                });
            }
        }
    }
    for p in &case.persons {
        for m in p.measures.iter().filter(|m| m.active) {
            let Some(clock) = &m.clock else { continue };
            let r = ClockRef::Measure {
                person: p.person.clone(),
                measure: m.measure,
            };
            if let Some(kind) = clock_alert(r, clock, policy, now) {
                out.push(Alert {
                    case_id: Some(case.case_id.clone()),
                    responsible: Some(case.measure_responsible(m.measure).clone()),
                    kind,
                });
            }
        }
    }
    let window = custody_transfer_window(policy);
    for h in &mine {
        if !h.custody_transfer_due
            || h.custody_transfer.is_some()
            || h.status == LoopStatus::ReturnedForCompletion
        {
            continue;
        }
        let start = h.sent_at.local_date(policy.utc_offset_minutes);
        // The person is in custody: a last day on a holiday stands.
        let due_at = due_date(start, window, [], true, &policy.calendar)
            .end_instant(policy.utc_offset_minutes);
        if now >= due_at {
            out.push(Alert {
                case_id: Some(case.case_id.clone()),
                responsible: Some(h.sender.clone()),
                kind: AlertKind::MissingCustodyTransfer {
                    handoff: h.id.clone(),
                    sent_at: h.sent_at,
                    due_at,
                },
            });
        }
    }
    out
}

/// Due soon or overdue, for a running clock that is not paused.
fn clock_alert(
    clock_ref: ClockRef,
    clock: &ClockState,
    policy: &Policy,
    now: Timestamp,
) -> Option<AlertKind> {
    if !clock.is_running() || clock.is_paused() {
        return None;
    }
    let due_at = due_time(clock, policy, now);
    let basis = clock.basis.clone();
    if now >= due_at {
        Some(AlertKind::Overdue {
            clock: clock_ref,
            due_at,
            overdue_by_ms: now.millis_since(due_at),
            basis,
        })
    } else if due_at.millis_since(now) <= u64::from(clock.warn_days) * DAY_MS {
        Some(AlertKind::DueSoon {
            clock: clock_ref,
            due_at,
            basis,
        })
    } else {
        None
    }
}

/// How long a custody transfer may follow the move it goes with: the custody transfer's own
/// clock in the policy, else three days (docs/DOMAIN.md: "within 3 days").
fn custody_transfer_window(policy: &Policy) -> Period {
    policy
        .handoff_rule(&HandoffKind::CustodyTransfer)
        .and_then(|r| r.clock.as_ref())
        .map_or(Period::Days(3), |c| c.ordinary)
}

/// Whether a rejection for this rule is an illegal attempt that supervisors watch: a step
/// the law forbids, as opposed to a malformed or mis-addressed submission.
pub fn is_illegal_attempt(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::SupplementaryReturnLimit
            | Rule::ArrestNotAllowed
            | Rule::CustodyTransferMissing
            | Rule::MissingDocuments
            | Rule::IllegalStageTransition
            | Rule::NotCaseHolder
            | Rule::CaseClosed
            | Rule::CaseInTransit
            | Rule::AcceptanceRequired
    )
}

/// The alert a rejection entry raises, if its rule is an illegal attempt. `case_id` is the
/// case if the caller resolved it (receipts, acceptances and returns name a handoff, not a
/// case); otherwise it is taken from the payload.
pub fn rejection_alert(entry: &EntryBody, case_id: Option<&CaseId>) -> Option<Alert> {
    let Record::Rejected(r) = &entry.record else {
        return None;
    };
    if !is_illegal_attempt(r.rule) {
        return None;
    }
    let payload = &r.submission.payload;
    Some(Alert {
        case_id: case_id.or(payload.case_id()).cloned(),
        responsible: payload.signer_org().cloned(),
        kind: AlertKind::IllegalAttempt {
            rule: r.rule,
            index: entry.index,
            at: entry.accepted_at,
            detail: r.detail.clone(),
        },
    })
}
