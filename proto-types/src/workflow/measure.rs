//! Coercive measures on persons (detention, arrest, bail, residential surveillance, release)
//! and adjustments of clocks (extension, pause, resume, restart).

use super::clock_approval::{self, ClockOf};
use super::{broke, CaseChanges, CaseRecord, Cx, MeasureRecord, PersonRecord, Reader, Step};
use crate::clock::{extension_in_bounds, ClockState, Extension, MAX_EXTENSIONS};
use crate::domain::{MeasureKind, OrgKind, Stage};
use crate::entry::Rule;
use crate::ids::{HandoffId, OrgId, PersonId};
use crate::payload::{ClockAction, ClockAdjustment, ClockRef, CoerciveMeasure, RestartReason};
use crate::policy::{MaxPenalty, Period};
use crate::state::LedgerState;
use crate::time::Timestamp;

/// Kinds of department that record coercive measures and adjust their clocks: the PSB
/// (detention, bail, residential surveillance, release, and arrest once approved), and the
/// procuratorate and court, which decide arrest, bail and release in their own stages.
const MEASURE_RECORDERS: [OrgKind; 3] = [OrgKind::Psb, OrgKind::Procuratorate, OrgKind::Court];

/// A coercive measure on a person of an open case. A new measure ends every measure in force
/// on the person (bail replaces detention, arrest replaces detention, release ends custody);
/// it starts the clock `policy.measure_clocks` gives it, counted from `effective_at`, unless
/// it is a custodial measure recorded after the investigation ([`runs_measure_clock`]).
pub(super) fn record<S: LedgerState>(
    rd: &Reader<'_, S>,
    cx: &Cx<'_>,
    m: &CoerciveMeasure,
) -> Step<CaseChanges, S::Error> {
    if !MEASURE_RECORDERS.contains(&cx.signer_kind) {
        return broke(
            Rule::SenderNotAllowed,
            format!("a {:?} does not record coercive measures", cx.signer_kind),
        );
    }
    let mut case = rd.open_case(&m.case_id)?;
    let Some(pi) = case.persons.iter().position(|p| p.person == m.person) else {
        return broke(
            Rule::InvalidPayload,
            format!("{} is not a person of case {}", m.person, case.case_id),
        );
    };
    let incoming = match &case.in_transit {
        Some(t) => Some(rd.handoff(t)?.receiver),
        None => None,
    };
    if !may_decide_measures(&case, &case.persons[pi], incoming.as_ref(), cx.signer) {
        return broke(
            Rule::NotCaseHolder,
            format!(
                "{} neither holds case {}, nor is about to receive it, nor has {} in its custody: it records no measure on them",
                cx.signer, case.case_id, m.person
            ),
        );
    }
    if m.effective_at > cx.at {
        return broke(
            Rule::InvalidPayload,
            format!(
                "effective time {} is after the entry's time {}",
                m.effective_at, cx.at
            ),
        );
    }
    if m.measure == MeasureKind::Arrest {
        if cx.policy().max_penalty(&case.case_type) == Some(MaxPenalty::CriminalDetention) {
            return broke(
                Rule::ArrestNotAllowed,
                format!(
                    "{} carries criminal detention at most: no arrest",
                    case.case_type
                ),
            );
        }
        if cx.signer_kind == OrgKind::Psb && !case.arrest_decided {
            return broke(
                Rule::ArrestNotAllowed,
                format!(
                    "case {} has no accepted arrest approval decision",
                    case.case_id
                ),
            );
        }
    }
    let stage = case.stage;
    let person = &mut case.persons[pi];
    if m.measure == MeasureKind::Release && !person.in_custody() {
        return broke(
            Rule::InvalidPayload,
            format!("{} is not in custody", m.person),
        );
    }
    end_measures(person, m.effective_at, cx.at);
    let clock = match m.measure {
        MeasureKind::Release => None,
        kind if !runs_measure_clock(kind, stage) => None,
        kind => cx.policy().measure_clock(kind).map(|mc| {
            ClockState::new(
                mc.period,
                m.effective_at,
                kind.is_custodial(),
                mc.warn_days,
                &mc.basis,
            )
        }),
    };
    person.measures.push(MeasureRecord {
        measure: m.measure,
        effective_at: m.effective_at,
        index: cx.index,
        recorded_by: cx.signer.clone(),
        active: m.measure != MeasureKind::Release,
        ended_at: (m.measure == MeasureKind::Release).then_some(m.effective_at),
        clock,
    });
    // The signer holds the case or keeps the person, so it is a participant already: a
    // measure grants no participation of its own.
    case.last_index = cx.index;
    Ok(CaseChanges::with_case(case))
}

/// Who decides coercive measures on a person of a case (docs/DOMAIN.md "Coercive measures and
/// their clocks"): the organ handling the case in its stage (its holder: the PSB in the
/// investigation, the procuratorate in review, the court at trial); the receiver of the
/// stage-changing handoff in transit, which decides on the case it is about to take (the
/// court asked to revoke probation orders the arrest pending its ruling, Community
/// Corrections Law Art. 47); or the organ that keeps the person in custody it decided (the
/// PSB whose detainee stays with it while the procuratorate reviews its arrest request,
/// Art. 91). Nobody else, whatever its kind.
fn may_decide_measures(
    case: &CaseRecord,
    person: &PersonRecord,
    incoming: Option<&OrgId>,
    signer: &OrgId,
) -> bool {
    signer == &case.holder
        || incoming == Some(signer)
        || person
            .measures
            .iter()
            .any(|m| m.active && m.measure.is_custodial() && &m.recorded_by == signer)
}

/// Whether a measure of this kind recorded while the case is in `stage` starts its clock.
///
/// The clocks of the custodial measures are the investigation's: detention until the arrest
/// request (Art. 91), custody after arrest during the investigation (Art. 156, extended by
/// Art. 156-159), both ended by the transfer for prosecution. Custody decided later (by the
/// procuratorate in review, by a court at trial or pending a revocation of probation) is
/// bounded by that stage's own handoff clock (review Art. 172, trial Art. 208, revocation), so
/// it starts no measure clock. Bail and residential surveillance run their Art. 79 limits
/// (12 and 6 months) from whichever organ decides them, in any stage.
fn runs_measure_clock(kind: MeasureKind, stage: Stage) -> bool {
    !kind.is_custodial()
        || matches!(
            stage,
            Stage::Filing | Stage::Investigation | Stage::ArrestReview
        )
}

/// Ends every measure in force on a person: it ended at `ended_at` (a later measure's
/// effective time, or the entry's time), and its clock stops at the entry's time `at`.
pub(super) fn end_measures(person: &mut PersonRecord, ended_at: Timestamp, at: Timestamp) {
    end_measures_where(person, ended_at, at, |_| true);
}

fn end_measures_where(
    person: &mut PersonRecord,
    ended_at: Timestamp,
    at: Timestamp,
    which: impl Fn(MeasureKind) -> bool,
) {
    for old in person
        .measures
        .iter_mut()
        .filter(|x| x.active && which(x.measure))
    {
        old.active = false;
        old.ended_at = Some(ended_at);
        if let Some(clock) = &mut old.clock {
            clock.stop(at);
        }
    }
}

/// What the judgment taking effect, or the delivery for execution, does to the measures in
/// force (docs/DOMAIN.md "Coercive measures and their clocks"): no coercive measure outlives
/// them, since a measure is on a suspect or defendant (Art. 66-100) and an effective judgment
/// makes the person a convict.
///
/// - A stage change into `EFFECTIVE` (a second-instance judgment served) ends bail and
///   residential surveillance. Custody (detention, arrest) stays in force until the delivery:
///   the convict is held until delivered for execution (Art. 264), and the delivery must come
///   with its custody transfer.
/// - A stage change into an execution stage from one that is not (the delivery for
///   execution, from the appeal window or from `EFFECTIVE`) ends every measure.
/// - A revocation of probation (community to custodial execution) ends nothing: the case is
///   already past the judgment.
///
/// Applied to every person of the case, at the entry's time `at`.
pub(super) fn end_at_judgment(case: &mut CaseRecord, from: Stage, to: Stage, at: Timestamp) {
    let executing = |s| matches!(s, Stage::ExecutionCustodial | Stage::ExecutionCommunity);
    let which: fn(MeasureKind) -> bool = if executing(to) && !executing(from) {
        |_| true
    } else if to == Stage::Effective && from != Stage::Effective {
        |k| !k.is_custodial()
    } else {
        return;
    };
    for person in &mut case.persons {
        end_measures_where(person, at, at, which);
    }
}

/// Extension, pause, resume or full restart of a running clock (an extension, pause or full
/// restart countersigned by its approver, `clock_approval`): a handoff's (signed by its sender or receiver) or a measure's in force
/// (signed by the case's holder or the organ that answers for the measure's clock,
/// `CaseRecord::measure_responsible`). An adjustment grants no participation.
pub(super) fn adjust_clock<S: LedgerState>(
    rd: &Reader<'_, S>,
    cx: &Cx<'_>,
    adjustment: &HandoffId,
    adj: &ClockAdjustment,
) -> Step<CaseChanges, S::Error> {
    let mut case = rd.open_case(&adj.case_id)?;
    let change = match clock_approval::unwrap(&adj.action) {
        Ok((change, _)) => change,
        Err(why) => return broke(Rule::InvalidPayload, why.to_string()),
    };
    if let ClockAction::Extend {
        approved_by,
        period,
    } = change
    {
        if cx.registry.organisation(approved_by).is_none() {
            return broke(
                Rule::ClockAdjustmentRefused,
                format!("approving organisation {approved_by} is not registered"),
            );
        }
        if !extension_in_bounds(*period) {
            return broke(
                Rule::ClockAdjustmentRefused,
                format!("extension {period:?} is out of bounds"),
            );
        }
    }
    match &adj.clock {
        ClockRef::Handoff(id) => {
            let mut h = rd.handoff(id)?;
            if h.case_id != case.case_id {
                return broke(
                    Rule::UnknownHandoff,
                    format!("handoff {id} is not a handoff of case {}", case.case_id),
                );
            }
            // Only the handoff's parties sign an adjustment of its clock; an approver named
            // in it signs nothing here, so naming one grants no say over the clock.
            if cx.signer != &h.sender && cx.signer != &h.receiver {
                return broke(
                    Rule::SignerMismatch,
                    format!("{} is not a party to {id}", cx.signer),
                );
            }
            let restart_period = cx
                .policy()
                .handoff_rule(&h.kind)
                .and_then(|r| r.clock.as_ref())
                .map(|c| c.period(case.procedure));
            if h.clock.is_none() {
                return broke(
                    Rule::ClockAdjustmentRefused,
                    format!("{} {id} has no clock", h.kind),
                );
            }
            clock_approval::check(
                cx,
                &case,
                adjustment,
                adj,
                ClockOf::Handoff(&h.kind),
                &h.receiver,
            )?;
            let Some(clock) = h.clock.as_mut() else {
                return broke(
                    Rule::ClockAdjustmentRefused,
                    format!("{} {id} has no clock", h.kind),
                );
            };
            adjust(cx, clock, change, restart_period)?;
            case.last_index = cx.index;
            Ok(CaseChanges {
                cases: vec![case],
                handoffs: vec![h],
            })
        }
        ClockRef::Measure { person, measure } => {
            if !MEASURE_RECORDERS.contains(&cx.signer_kind) {
                return broke(
                    Rule::SenderNotAllowed,
                    format!("a {:?} does not adjust measure clocks", cx.signer_kind),
                );
            }
            if cx.signer != &case.holder && cx.signer != case.measure_responsible(*measure) {
                return broke(
                    Rule::NotCaseHolder,
                    format!(
                        "{} neither holds case {} nor answers for its {measure:?} clocks",
                        cx.signer, case.case_id
                    ),
                );
            }
            let restart_period = cx.policy().measure_clock(*measure).map(|mc| mc.period);
            let responsible = case.measure_responsible(*measure).clone();
            measure_clock(&mut case.clone(), person, *measure)?;
            clock_approval::check(
                cx,
                &case,
                adjustment,
                adj,
                ClockOf::Measure(*measure),
                &responsible,
            )?;
            let clock = measure_clock(&mut case, person, *measure)?;
            adjust(cx, clock, change, restart_period)?;
            case.last_index = cx.index;
            Ok(CaseChanges::with_case(case))
        }
    }
}

/// The clock of the measure of this kind in force on a person.
fn measure_clock<'c, E>(
    case: &'c mut CaseRecord,
    person: &PersonId,
    measure: MeasureKind,
) -> Step<&'c mut ClockState, E> {
    let case_id = case.case_id.clone();
    let Some(p) = case.persons.iter_mut().find(|p| &p.person == person) else {
        return broke(
            Rule::InvalidPayload,
            format!("{person} is not a person of case {case_id}"),
        );
    };
    match p
        .measures
        .iter_mut()
        .rev()
        .find(|m| m.active && m.measure == measure)
        .and_then(|m| m.clock.as_mut())
    {
        Some(c) => Ok(c),
        None => broke(
            Rule::ClockAdjustmentRefused,
            format!("{person} has no {measure:?} clock in force"),
        ),
    }
}

fn adjust<E>(
    cx: &Cx<'_>,
    clock: &mut ClockState,
    action: &ClockAction,
    restart_period: Option<Period>,
) -> Step<(), E> {
    if !clock.is_running() {
        return broke(Rule::ClockAdjustmentRefused, "the clock has stopped");
    }
    match action {
        ClockAction::Extend { .. } if clock.extensions.len() >= MAX_EXTENSIONS => {
            return broke(
                Rule::ClockAdjustmentRefused,
                format!("the clock has {MAX_EXTENSIONS} extensions already"),
            )
        }
        ClockAction::Extend {
            period,
            approved_by,
        } => clock.extend(Extension {
            period: *period,
            approved_by: approved_by.clone(),
            at: cx.at,
            index: cx.index,
        }),
        ClockAction::Pause { .. } if clock.is_paused() => {
            return broke(Rule::ClockAdjustmentRefused, "the clock is already paused")
        }
        ClockAction::Pause { .. } => clock.pause(cx.at),
        ClockAction::Restart {
            reason: RestartReason::Resume,
        } if !clock.is_paused() => {
            return broke(Rule::ClockAdjustmentRefused, "the clock is not paused")
        }
        ClockAction::Restart {
            reason: RestartReason::Resume,
        } => clock.resume(cx.at),
        ClockAction::Restart { .. } => clock.restart(cx.at, restart_period.unwrap_or(clock.period)),
        ClockAction::Approved { .. } => {
            // `clock_approval::unwrap` took the change out of its approval.
            return broke(Rule::InvalidPayload, "an approval of an approval");
        }
    }
    Ok(())
}
