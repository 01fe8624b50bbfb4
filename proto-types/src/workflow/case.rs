//! Filing (立案) and closing (结案) a case, and what closing does to its open loops and
//! measures.

use super::{
    broke, close_loop, measure, CaseChanges, CaseRecord, Cx, PersonRecord, Reader, StageSpan, Step,
};
use crate::domain::{OrgKind, Stage};
use crate::entry::Rule;
use crate::payload::{CaseClosure, CaseFiling};
use crate::state::LedgerState;
use std::collections::BTreeSet;

/// 立案: only a PSB files, and only once per case id; the case starts in investigation, held
/// by the filing PSB.
pub(super) fn file<S: LedgerState>(
    rd: &Reader<'_, S>,
    cx: &Cx<'_>,
    f: &CaseFiling,
) -> Step<CaseChanges, S::Error> {
    if cx.signer_kind != OrgKind::Psb {
        return broke(
            Rule::SenderNotAllowed,
            format!(
                "{} is a {:?}; only a PSB files a case",
                cx.signer, cx.signer_kind
            ),
        );
    }
    if f.persons.iter().collect::<BTreeSet<_>>().len() != f.persons.len() {
        return broke(Rule::InvalidPayload, "a person is listed twice");
    }
    if let Some(existing) = rd.case(&f.case_id)? {
        return broke(
            Rule::CaseExists,
            format!(
                "case {} was filed by entry {}",
                f.case_id, existing.filed_index
            ),
        );
    }
    let case = CaseRecord {
        case_id: f.case_id.clone(),
        case_type: f.case_type.clone(),
        procedure: f.procedure,
        plea_leniency: f.plea_leniency,
        stage: Stage::Investigation,
        holder: cx.signer.clone(),
        filed_by: cx.signer.clone(),
        filed_index: cx.index,
        filed_at: cx.at,
        persons: f
            .persons
            .iter()
            .map(|p| PersonRecord {
                person: p.clone(),
                measures: Vec::new(),
            })
            .collect(),
        supplementary_returns: 0,
        arrest_decided: false,
        in_transit: None,
        open_handoffs: Vec::new(),
        history: vec![StageSpan {
            stage: Stage::Investigation,
            holder: cx.signer.clone(),
            since: cx.at,
            index: cx.index,
        }],
        participants: vec![cx.signer.clone()],
        closed_at: None,
        last_index: cx.index,
    };
    Ok(CaseChanges::with_case(case))
}

/// 结案: the holder closes a case in an execution stage, with nothing in transit.
pub(super) fn close<S: LedgerState>(
    rd: &Reader<'_, S>,
    cx: &Cx<'_>,
    c: &CaseClosure,
) -> Step<CaseChanges, S::Error> {
    let mut case = rd.open_case(&c.case_id)?;
    if &case.holder != cx.signer {
        return broke(
            Rule::NotCaseHolder,
            format!(
                "{} holds case {}; only it may close it",
                case.holder, case.case_id
            ),
        );
    }
    if !matches!(
        case.stage,
        Stage::ExecutionCustodial | Stage::ExecutionCommunity
    ) {
        return broke(
            Rule::IllegalStageTransition,
            format!(
                "case {} is in {}; it is closed from an execution stage",
                case.case_id, case.stage
            ),
        );
    }
    if let Some(t) = &case.in_transit {
        return broke(
            Rule::CaseInTransit,
            format!("handoff {t} of case {} is in transit", case.case_id),
        );
    }
    let mut changes = CaseChanges::default();
    let holder = case.holder.clone();
    case.enter_stage(Stage::Closed, holder, cx.at, cx.index);
    wind_up(rd, cx, &mut case, &mut changes)?;
    case.last_index = cx.index;
    changes.cases.push(case);
    Ok(changes)
}

/// What a case entering a closed stage does: every open loop closes (its clock stops; no
/// lateness is judged), every measure in force ends, nothing is in transit any more.
pub(super) fn wind_up<S: LedgerState>(
    rd: &Reader<'_, S>,
    cx: &Cx<'_>,
    case: &mut CaseRecord,
    changes: &mut CaseChanges,
) -> Step<(), S::Error> {
    for id in std::mem::take(&mut case.open_handoffs) {
        let mut h = match changes.handoffs.iter().find(|h| h.id == id) {
            Some(h) => h.clone(),
            None => rd.handoff(&id)?,
        };
        if h.is_open() {
            close_loop(&mut h, cx.policy(), cx.at, false);
            changes.put_handoff(h);
        }
    }
    for person in &mut case.persons {
        measure::end_measures(person, cx.at, cx.at);
    }
    case.in_transit = None;
    case.closed_at = Some(cx.at);
    Ok(())
}
