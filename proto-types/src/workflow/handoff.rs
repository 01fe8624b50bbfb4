//! Sending a handoff: who may send what to whom, from which stage, with which documents;
//! what it answers; the clock it puts on the receiver.

use super::{
    broke, close_loop, holder_after, is_answered, measure, CaseChanges, CaseRecord, Cx,
    DocumentSummary, HandoffRecord, LoopStatus, Reader, Step,
};
use crate::clock::ClockState;
use crate::domain::{HandoffKind, Stage};
use crate::entry::Rule;
use crate::ids::HandoffId;
use crate::payload::Handoff;
use crate::policy::{HandoffRule, MaxPenalty};
use crate::state::LedgerState;
use std::collections::BTreeSet;

/// A handoff, checked in this order: limits (`crate::precheck`, before this); the case
/// (known, open, same type); the rule for the kind; signer = sender; sender's and receiver's
/// kinds; for a kind not reserved to the holder, the sender a participant of the case;
/// persons of the case; required documents; no arrest request for a detention-only case
/// type; the handoff named in `related`; what it answers (the answered one must be
/// accepted); stage (nothing else in transit, a legal `from` stage); holder; the
/// supplementary-return limit.
pub(super) fn send<S: LedgerState>(
    rd: &Reader<'_, S>,
    cx: &Cx<'_>,
    id: &HandoffId,
    h: &Handoff,
) -> Step<CaseChanges, S::Error> {
    let limits = cx.limits();
    let mut case = rd.open_case(&h.case_id)?;
    if h.case_type != case.case_type {
        return broke(
            Rule::CaseTypeMismatch,
            format!(
                "case {} is {}, the handoff says {}",
                case.case_id, case.case_type, h.case_type
            ),
        );
    }
    let Some(rule) = cx.policy().handoff_rule(&h.kind) else {
        return broke(
            Rule::UnknownHandoffKind,
            format!("the policy has no rule for {}", h.kind),
        );
    };
    check_parties(cx, rule, h)?;
    if !rule.holder_only && !case.participants.contains(cx.signer) {
        // A handoff any department of the kind may send (a custody transfer, an appeal, a
        // notice to legal aid) still comes from a party to the case: its filer, or the sender
        // or receiver of a lawful handoff. Holder-only kinds are checked against the holder
        // below.
        return broke(
            Rule::NotCaseParty,
            format!(
                "{} has no part in case {}: it may not send {}",
                cx.signer, case.case_id, h.kind
            ),
        );
    }
    check_persons(&case, h)?;
    check_documents(rule, h)?;
    if h.kind == HandoffKind::ArrestApprovalRequest
        && cx.policy().max_penalty(&case.case_type) == Some(MaxPenalty::CriminalDetention)
    {
        return broke(
            Rule::ArrestNotAllowed,
            format!(
                "{} carries criminal detention at most: no arrest stage",
                case.case_type
            ),
        );
    }
    let related = match &h.related {
        Some(r) => {
            let rec = rd.handoff(r)?;
            if rec.case_id != case.case_id {
                return broke(
                    Rule::UnknownHandoff,
                    format!("handoff {r} is not a handoff of case {}", case.case_id),
                );
            }
            Some(rec)
        }
        None => None,
    };
    let answered = find_answered(rd, cx, &case, rule, related.as_ref())?;
    // An answer to a request that changed no stage (a decision on a detention extension)
    // changes none either, and comes from that request's receiver, holder or not.
    let answers_stageless = answered.as_ref().is_some_and(|a| a.stage_change.is_none());
    let stage_change = if rule.transitions.is_empty() || answers_stageless {
        None
    } else {
        if let Some(t) = &case.in_transit {
            return broke(
                Rule::CaseInTransit,
                format!("handoff {t} of case {} is still in transit", case.case_id),
            );
        }
        match rule.transitions.iter().find(|t| t.from == case.stage) {
            Some(t) => Some(*t),
            None => {
                let from: Vec<String> = rule
                    .transitions
                    .iter()
                    .map(|t| t.from.to_string())
                    .collect();
                return broke(
                    Rule::IllegalStageTransition,
                    format!(
                        "{} is sent from {}; case {} is in {}",
                        h.kind,
                        from.join(" or "),
                        case.case_id,
                        case.stage
                    ),
                );
            }
        }
    };
    if rule.holder_only && cx.signer != &case.holder && !answers_stageless {
        return broke(
            Rule::NotCaseHolder,
            format!(
                "{} holds case {}; {} may not send {}",
                case.holder, case.case_id, cx.signer, h.kind
            ),
        );
    }
    if stage_change.is_some_and(|t| t.to == Stage::SupplementaryInvestigation)
        && case.supplementary_returns >= limits.max_supplementary_returns
    {
        return broke(
            Rule::SupplementaryReturnLimit,
            format!(
                "case {} was returned for supplementary investigation {} times; at most {} are allowed (Art. 175)",
                case.case_id, case.supplementary_returns, limits.max_supplementary_returns
            ),
        );
    }

    let mut changes = CaseChanges::default();
    let detained = case.in_custody(&h.persons);
    // The person moves with the case when it changes hands, except into and out of arrest
    // review: the procuratorate reviews on the papers while custody stays with the PSB.
    let moves_person = stage_change.is_some_and(|t| {
        holder_after(cx, t.to, &h.sender, &h.receiver) != case.holder
            && t.from != Stage::ArrestReview
            && t.to != Stage::ArrestReview
    });
    let record = HandoffRecord {
        id: id.clone(),
        index: cx.index,
        case_id: case.case_id.clone(),
        kind: h.kind.clone(),
        procedure: h.procedure,
        sender: h.sender.clone(),
        receiver: h.receiver.clone(),
        persons: h.persons.clone(),
        custody: h.custody,
        custody_transfer_due: stage_change.is_some() && (h.custody || (moves_person && detained)),
        documents: h
            .documents
            .iter()
            .map(|d| DocumentSummary {
                doc_type: d.doc_type.clone(),
                number: d.number.clone(),
                pages: d.pages,
            })
            .collect(),
        related: h.related.clone(),
        stage_change,
        awaits_response: is_answered(cx.policy(), &h.kind),
        status: LoopStatus::Sent,
        sent_at: cx.at,
        received_at: None,
        accepted_at: None,
        returned_at: None,
        return_reason: None,
        responded_at: None,
        responded_by: None,
        custody_transfer: None,
        closed_at: None,
        clock: rule.clock.as_ref().map(|c| {
            ClockState::new(
                c.period(h.procedure),
                cx.at,
                h.custody || detained,
                c.warn_days,
                &c.basis,
            )
        }),
        late: None,
    };
    if let Some(mut a) = answered {
        a.status = LoopStatus::Responded;
        a.responded_at = Some(cx.at);
        a.responded_by = Some(id.clone());
        close_loop(&mut a, cx.policy(), cx.at, true);
        case.open_handoffs.retain(|x| x != &a.id);
        changes.put_handoff(a);
    }
    if h.kind == HandoffKind::CustodyTransfer {
        if let Some(r) = related {
            // The related record may already be among the changes (if it was also answered).
            let mut r = changes
                .handoffs
                .iter()
                .find(|x| x.id == r.id)
                .cloned()
                .unwrap_or(r);
            if r.custody_transfer.is_none() {
                r.custody_transfer = Some(id.clone());
                changes.put_handoff(r);
            }
        }
    }
    end_measure_clocks(cx, &mut case, h);
    if let Some(t) = stage_change {
        // Sent for execution: the person is delivered, the measures end now.
        measure::end_at_judgment(&mut case, t.from, t.to, cx.at);
    }
    if stage_change.is_some() {
        case.in_transit = Some(id.clone());
    }
    case.procedure = h.procedure;
    case.open_handoffs.push(id.clone());
    case.add_participant(&h.sender);
    case.add_participant(&h.receiver);
    case.last_index = cx.index;
    changes.put_handoff(record);
    changes.cases.push(case);
    Ok(changes)
}

/// Signer, sender and receiver against the rule's kinds of department.
fn check_parties<E>(cx: &Cx<'_>, rule: &HandoffRule, h: &Handoff) -> Step<(), E> {
    if cx.signer != &h.sender {
        return broke(
            Rule::SignerMismatch,
            format!("{} signs a handoff whose sender is {}", cx.signer, h.sender),
        );
    }
    if !rule.senders.contains(&cx.signer_kind) {
        return broke(
            Rule::SenderNotAllowed,
            format!("a {:?} may not send {}", cx.signer_kind, h.kind),
        );
    }
    let Some(receiver_kind) = cx.kind_of(&h.receiver) else {
        return broke(
            Rule::ReceiverNotAllowed,
            format!("receiver {} is not registered", h.receiver),
        );
    };
    if h.receiver == h.sender {
        return broke(
            Rule::ReceiverNotAllowed,
            format!("{} may not send {} to itself", h.sender, h.kind),
        );
    }
    if !rule.receivers.contains(&receiver_kind) {
        return broke(
            Rule::ReceiverNotAllowed,
            format!("a {receiver_kind:?} may not receive {}", h.kind),
        );
    }
    Ok(())
}

/// Persons named must be persons of the case, each once.
fn check_persons<E>(case: &CaseRecord, h: &Handoff) -> Step<(), E> {
    if let Some(p) = h.persons.iter().find(|p| case.person(p).is_none()) {
        return broke(
            Rule::InvalidPayload,
            format!("{p} is not a person of case {}", case.case_id),
        );
    }
    if h.persons.iter().collect::<BTreeSet<_>>().len() != h.persons.len() {
        return broke(Rule::InvalidPayload, "a person is listed twice");
    }
    Ok(())
}

fn check_documents<E>(rule: &HandoffRule, h: &Handoff) -> Step<(), E> {
    let missing: Vec<String> = rule
        .required_documents
        .iter()
        .filter(|t| !h.documents.iter().any(|d| &d.doc_type == *t))
        .map(|t| format!("{t:?}"))
        .collect();
    if !missing.is_empty() {
        return broke(
            Rule::MissingDocuments,
            format!("{} needs {}", h.kind, missing.join(", ")),
        );
    }
    Ok(())
}

/// The open handoff this one answers: one of the case's open handoffs of a kind the rule
/// `responds_to`, received by the signer; the one named in `related` if it is such, else the
/// earliest accepted one. If only unaccepted ones match, the answer comes too early.
fn find_answered<S: LedgerState>(
    rd: &Reader<'_, S>,
    cx: &Cx<'_>,
    case: &CaseRecord,
    rule: &HandoffRule,
    related: Option<&HandoffRecord>,
) -> Step<Option<HandoffRecord>, S::Error> {
    if rule.responds_to.is_empty() {
        return Ok(None);
    }
    let mut candidates = Vec::new();
    for id in &case.open_handoffs {
        let h = rd.handoff(id)?;
        if h.is_open() && rule.responds_to.contains(&h.kind) && &h.receiver == cx.signer {
            candidates.push(h);
        }
    }
    let chosen = match related.and_then(|r| candidates.iter().position(|c| c.id == r.id)) {
        Some(i) => Some(candidates.swap_remove(i)),
        None => match candidates
            .iter()
            .position(|c| c.status == LoopStatus::Accepted)
        {
            Some(i) => Some(candidates.swap_remove(i)),
            None => candidates.into_iter().next(),
        },
    };
    match chosen {
        Some(c) if c.status != LoopStatus::Accepted => broke(
            Rule::AcceptanceRequired,
            format!(
                "{} {} is {:?}: accept it before answering it",
                c.kind, c.id, c.status
            ),
        ),
        other => Ok(other),
    }
}

/// Sending a kind listed in a measure clock's `ended_by` stops that clock for the persons
/// concerned (the measure stays in force).
fn end_measure_clocks(cx: &Cx<'_>, case: &mut CaseRecord, h: &Handoff) {
    for person in case
        .persons
        .iter_mut()
        .filter(|p| h.persons.is_empty() || h.persons.contains(&p.person))
    {
        for m in person.measures.iter_mut().filter(|m| m.active) {
            let ends = cx
                .policy()
                .measure_clock(m.measure)
                .is_some_and(|mc| mc.ended_by.contains(&h.kind));
            if let (true, Some(clock)) = (ends, &mut m.clock) {
                clock.stop(cx.at);
            }
        }
    }
}
