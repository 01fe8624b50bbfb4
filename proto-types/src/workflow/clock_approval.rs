//! Approvals of clock changes (docs/DOMAIN.md "Clocks", docs/FORMAT.md §Actions "Clock
//! approvals"): an extension, pause or full restart of a deadline takes effect only with the
//! countersignature of an organisation the law allows to approve it — above, through
//! `parent`, the organ concerned, never the organisation that answers for the clock — and an
//! extension stays within the statutory maximum. Who approves is fixed by the Criminal
//! Procedure Law, like who holds which stage, so it is here rather than in the policy.

use super::{broke, CaseRecord, Cx, Step};
use crate::crypto::{self, context};
use crate::domain::{HandoffKind, MeasureKind, OrgKind};
use crate::encoding::encode;
use crate::entry::Rule;
use crate::ids::{HandoffId, OrgId};
use crate::payload::{
    Approval, ClockAction, ClockAdjustment, ClockApprovalTerms, RestartReason, Signer,
};
use crate::policy::Period;

/// The deadline a clock adjustment targets, by what started it.
#[derive(Debug, Clone, Copy)]
pub(super) enum ClockOf<'a> {
    /// A handoff's response clock.
    Handoff(&'a HandoffKind),
    /// A coercive measure's clock.
    Measure(MeasureKind),
}

/// Who approves changes of one clock, and the most one extension may add.
struct ApprovalRule {
    /// The approver's kind: it sits above (through `parent`) the organisation of this kind
    /// concerned — the responsible organisation if it is of this kind, else one of this kind
    /// taking part in the case.
    approver_kind: OrgKind,
    /// The longest single extension; `None`: the law allows no extension of this clock.
    max_extension: Option<Period>,
    /// The legal basis.
    basis: &'static str,
}

/// The approval rule of a clock (docs/DOMAIN.md "Clocks", "Extensions").
fn rule_for(clock: ClockOf<'_>, responsible_kind: OrgKind) -> ApprovalRule {
    use HandoffKind as K;
    let (approver_kind, max_extension, basis) = match clock {
        // Custody after arrest: +1 month by the procuratorate one level up (Art. 156), +2
        // months by the provincial procuratorate (Art. 158, 159).
        ClockOf::Measure(MeasureKind::Arrest) => (
            OrgKind::Procuratorate,
            Some(Period::Months(2)),
            "Art. 156-159",
        ),
        // Detention before the arrest request: 3 days, up to 7, up to 30 for roving, repeat or
        // gang crimes (Art. 91), decided above the detaining PSB.
        ClockOf::Measure(MeasureKind::Detention) => {
            (OrgKind::Psb, Some(Period::Days(27)), "Art. 91")
        }
        // Review for prosecution: 1 month, +15 days in major or complex cases (Art. 172).
        ClockOf::Handoff(K::ProsecutionTransfer | K::SupplementaryInvestigationResubmit) => {
            (OrgKind::Procuratorate, Some(Period::Days(15)), "Art. 172")
        }
        // First-instance trial: 2 months, at most 3; +3 with the higher court's approval
        // (Art. 208).
        ClockOf::Handoff(K::PublicProsecution) => {
            (OrgKind::Court, Some(Period::Months(3)), "Art. 208")
        }
        // Second instance: 2 months, +2 with the higher court's approval (Art. 243).
        ClockOf::Handoff(K::SecondInstanceTrial) => {
            (OrgKind::Court, Some(Period::Months(2)), "Art. 243")
        }
        // Commutation or parole: the court rules in 1 month, +1 (Art. 273 and its rules).
        ClockOf::Handoff(K::CommutationParoleProposal) => {
            (OrgKind::Court, Some(Period::Months(1)), "Art. 273")
        }
        // Bail and residential surveillance (Art. 79) and every other deadline: no extension;
        // a pause or restart is approved above the organisation that answers for it.
        ClockOf::Measure(_) | ClockOf::Handoff(_) => (responsible_kind, None, "the law"),
    };
    ApprovalRule {
        approver_kind,
        max_extension,
        basis,
    }
}

/// An `Approved` clock action inside another: malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an approval of an approval")]
pub(super) struct NestedApproval;

/// The change an adjustment makes and the approval it carries, if any. An `Approved` inside
/// an `Approved` is malformed.
pub(super) fn unwrap(
    action: &ClockAction,
) -> Result<(&ClockAction, Option<&Approval>), NestedApproval> {
    match action {
        ClockAction::Approved { change, approval } => match change.as_ref() {
            ClockAction::Approved { .. } => Err(NestedApproval),
            inner => Ok((inner, Some(approval))),
        },
        other => Ok((other, None)),
    }
}

/// Checks the approval a change of a clock needs. `adjustment` is the payload id of the
/// adjustment, `responsible` the organisation that answers for the clock (a handoff's
/// receiver, `CaseRecord::measure_responsible`). A resume needs none (it only ends a pause);
/// an extension, pause or full restart needs one, from an organisation of the rule's kind
/// above the one concerned, that is not `responsible`, whose key valid at the entry's time
/// signed the terms; an extension names that organisation and stays within the maximum.
pub(super) fn check<E>(
    cx: &Cx<'_>,
    case: &CaseRecord,
    adjustment: &HandoffId,
    adj: &ClockAdjustment,
    clock: ClockOf<'_>,
    responsible: &OrgId,
) -> Step<(), E> {
    let (change, approval) = match unwrap(&adj.action) {
        Ok(x) => x,
        Err(why) => return broke(Rule::InvalidPayload, why.to_string()),
    };
    if matches!(
        change,
        ClockAction::Restart {
            reason: RestartReason::Resume
        }
    ) {
        return Ok(());
    }
    let Some(approval) = approval else {
        return broke(
            Rule::ClockApprovalRefused,
            match change {
                ClockAction::Extend { approved_by, .. } => format!(
                    "an extension needs its approver's own signature: {approved_by} signed nothing"
                ),
                _ => "a pause or restart needs its approver's own signature".to_owned(),
            },
        );
    };
    let approver = &approval.key.org;
    let Some(responsible_kind) = cx.kind_of(responsible) else {
        return broke(
            Rule::ClockApprovalRefused,
            format!("{responsible}, answering for the clock, is not registered"),
        );
    };
    let rule = rule_for(clock, responsible_kind);
    if approver == responsible {
        return broke(
            Rule::ClockApprovalRefused,
            format!("{approver} answers for the clock: it does not approve its own change"),
        );
    }
    if cx.kind_of(approver) != Some(rule.approver_kind) {
        return broke(
            Rule::ClockApprovalRefused,
            format!(
                "{approver} is no {:?}: a {:?} above the organ concerned approves ({})",
                rule.approver_kind, rule.approver_kind, rule.basis
            ),
        );
    }
    let concerned: Vec<&OrgId> = if responsible_kind == rule.approver_kind {
        vec![responsible]
    } else {
        case.participants
            .iter()
            .filter(|o| cx.kind_of(o) == Some(rule.approver_kind))
            .collect()
    };
    if !concerned.iter().any(|o| is_above(cx, approver, o)) {
        return broke(
            Rule::ClockApprovalRefused,
            format!(
                "{approver} is not above the {:?} concerned in case {} ({})",
                rule.approver_kind, case.case_id, rule.basis
            ),
        );
    }
    if let ClockAction::Extend {
        period,
        approved_by,
    } = change
    {
        if approved_by != approver {
            return broke(
                Rule::ClockApprovalRefused,
                format!("the extension names {approved_by}; {approver} signed the approval"),
            );
        }
        match rule.max_extension {
            None => {
                return broke(
                    Rule::ClockApprovalRefused,
                    format!("{} allows no extension of this clock", rule.basis),
                )
            }
            Some(max) if !fits_within(*period, max) => {
                return broke(
                    Rule::ClockApprovalRefused,
                    format!(
                        "extension {period:?} is beyond the {max:?} {} allows",
                        rule.basis
                    ),
                )
            }
            Some(_) => {}
        }
    }
    let terms = ClockApprovalTerms {
        adjustment: adjustment.clone(),
        case_id: adj.case_id.clone(),
        clock: adj.clock.clone(),
        change: change.clone(),
    };
    let verified = cx
        .registry
        .key_for(&Signer::Org(approval.key.clone()), cx.at)
        .ok()
        .is_some_and(|key| {
            crypto::verify(
                &key,
                context::CLOCK_APPROVAL,
                &encode(&terms),
                &approval.signature,
            )
            .is_ok()
        });
    if !verified {
        return broke(
            Rule::ClockApprovalRefused,
            format!(
                "the approval by {}/{} does not verify over this adjustment's terms",
                approver, approval.key.key_id
            ),
        );
    }
    Ok(())
}

/// Whether `upper` is above `org` through the chain of parents (strictly).
fn is_above(cx: &Cx<'_>, upper: &OrgId, org: &OrgId) -> bool {
    let mut at = cx.registry.organisation(org).and_then(|o| o.parent.clone());
    // Parents are declared before their children, so the chain ends; the bound keeps a
    // malformed registry from looping.
    for _ in 0..cx.registry.organisations.len() {
        match at {
            Some(p) if &p == upper => return true,
            Some(p) => at = cx.registry.organisation(&p).and_then(|o| o.parent.clone()),
            None => return false,
        }
    }
    false
}

/// Whether an extension of `period` is at most `max`. Calendar days fit in months counting
/// 28 days a month (the shortest), working days only in working days (a working day may span
/// several calendar days).
fn fits_within(period: Period, max: Period) -> bool {
    match (period, max) {
        (Period::Days(n), Period::Days(m))
        | (Period::Months(n), Period::Months(m))
        | (Period::WorkingDays(n), Period::WorkingDays(m)) => n <= m,
        (Period::Days(n), Period::Months(m)) => u64::from(n) <= 28 * u64::from(m),
        _ => false,
    }
}
