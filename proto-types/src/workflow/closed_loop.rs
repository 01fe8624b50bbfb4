//! The closed loop of one handoff: receipt (签收), acceptance (受理) or return for completion
//! (退回补正), each signed by the receiver. Acceptance of a stage-changing handoff moves the
//! case; a return closes the handoff and leaves the case where it was.

use super::{
    broke, case, close_loop, holder_after, measure, CaseChanges, Cx, HandoffRecord, LoopStatus,
    Reader, Step,
};
use crate::domain::{HandoffKind, Stage};
use crate::entry::Rule;
use crate::ids::HandoffId;
use crate::payload::ReturnForCompletion;
use crate::policy::ClockStart;
use crate::state::LedgerState;

/// The handoff named, its case open, and the signer its receiver.
fn receivers_handoff<S: LedgerState>(
    rd: &Reader<'_, S>,
    cx: &Cx<'_>,
    id: &HandoffId,
) -> Step<(HandoffRecord, super::CaseRecord), S::Error> {
    let h = rd.handoff(id)?;
    let case = rd.open_case(&h.case_id)?;
    if &h.receiver != cx.signer {
        return broke(
            Rule::NotReceiver,
            format!("only {}, the receiver, may sign for {id}", h.receiver),
        );
    }
    Ok((h, case))
}

/// 签收: the receiver signs for a sent handoff; a clock that starts at receipt starts now.
pub(super) fn receive<S: LedgerState>(
    rd: &Reader<'_, S>,
    cx: &Cx<'_>,
    id: &HandoffId,
) -> Step<CaseChanges, S::Error> {
    let (mut h, _case) = receivers_handoff(rd, cx, id)?;
    if h.status != LoopStatus::Sent {
        return broke(
            Rule::LoopAlreadyClosed,
            format!("{id} is already {:?}", h.status),
        );
    }
    h.status = LoopStatus::Received;
    h.received_at = Some(cx.at);
    let starts_at_receipt = cx
        .policy()
        .handoff_rule(&h.kind)
        .and_then(|r| r.clock.as_ref())
        .is_some_and(|c| c.starts == ClockStart::Receipt);
    if let Some(clock) = h
        .clock
        .as_mut()
        .filter(|c| starts_at_receipt && c.restarts == 0 && c.is_running())
    {
        // Until receipt the clock counted from sending; now it counts from the receipt.
        clock.started_at = cx.at;
    }
    Ok(CaseChanges {
        cases: Vec::new(),
        handoffs: vec![h],
    })
}

/// 受理: after receipt. A stage-changing handoff that moves a person in custody needs the
/// custody transfer that names it; its acceptance moves the case to the new stage and holder.
pub(super) fn accept<S: LedgerState>(
    rd: &Reader<'_, S>,
    cx: &Cx<'_>,
    id: &HandoffId,
) -> Step<CaseChanges, S::Error> {
    let (mut h, mut case) = receivers_handoff(rd, cx, id)?;
    match h.status {
        LoopStatus::Sent => {
            return broke(
                Rule::ReceiptRequired,
                format!("{id} must be signed for before it is accepted"),
            )
        }
        LoopStatus::Received => {}
        other => {
            return broke(
                Rule::LoopAlreadyClosed,
                format!("{id} is already {other:?}"),
            )
        }
    }
    if h.custody && h.stage_change.is_some() && h.custody_transfer.is_none() {
        return broke(
            Rule::CustodyTransferMissing,
            format!(
                "{id} moves a person in custody: a custody transfer naming it must be sent first"
            ),
        );
    }
    h.status = LoopStatus::Accepted;
    h.accepted_at = Some(cx.at);
    if !h.awaits_response {
        close_loop(&mut h, cx.policy(), cx.at, true);
        case.open_handoffs.retain(|x| x != id);
    }
    let mut changes = CaseChanges::default();
    if let Some(t) = h.stage_change {
        if case.stage != t.from {
            // In transit, nothing else can move the case; this guards the invariant.
            return broke(
                Rule::IllegalStageTransition,
                format!(
                    "case {} left {} while {id} was in transit",
                    case.case_id, t.from
                ),
            );
        }
        if t.to == Stage::SupplementaryInvestigation {
            case.supplementary_returns += 1;
        }
        if h.kind == HandoffKind::ArrestApprovalDecision {
            case.arrest_decided = true;
        }
        if case.in_transit.as_ref() == Some(id) {
            case.in_transit = None;
        }
        let holder = holder_after(cx, t.to, &h.sender, &h.receiver);
        case.enter_stage(t.to, holder, cx.at, cx.index);
        // A second-instance judgment takes effect when served.
        measure::end_at_judgment(&mut case, t.from, t.to, cx.at);
        changes.put_handoff(h);
        if t.to.is_closed() {
            case::wind_up(rd, cx, &mut case, &mut changes)?;
        }
    } else {
        changes.put_handoff(h);
    }
    case.last_index = cx.index;
    changes.cases.push(case);
    Ok(changes)
}

/// 退回补正: after receipt, the receiver returns the handoff for missing material; its loop
/// closes, the case stays where it was and is no longer in transit, and the sender may send
/// a new handoff.
pub(super) fn return_for_completion<S: LedgerState>(
    rd: &Reader<'_, S>,
    cx: &Cx<'_>,
    r: &ReturnForCompletion,
) -> Step<CaseChanges, S::Error> {
    let (mut h, mut case) = receivers_handoff(rd, cx, &r.handoff)?;
    match h.status {
        LoopStatus::Sent => {
            return broke(
                Rule::ReceiptRequired,
                format!("{} must be signed for before it is returned", r.handoff),
            )
        }
        LoopStatus::Received => {}
        other => {
            return broke(
                Rule::LoopAlreadyClosed,
                format!("{} is already {other:?}", r.handoff),
            )
        }
    }
    h.status = LoopStatus::ReturnedForCompletion;
    h.returned_at = Some(cx.at);
    h.return_reason = Some(r.reason.clone());
    close_loop(&mut h, cx.policy(), cx.at, true);
    case.open_handoffs.retain(|x| x != &h.id);
    if case.in_transit.as_ref() == Some(&h.id) {
        case.in_transit = None;
    }
    case.last_index = cx.index;
    Ok(CaseChanges {
        cases: vec![case],
        handoffs: vec![h],
    })
}
