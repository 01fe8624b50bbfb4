//! The case workflow through `proto_types::apply`: a complete life of each pilot case type,
//! and each illegal step rejected with its rule, recorded, and changing no case state.

mod common;

use common::*;
use proto_types::domain::{
    CaseType, DocumentType, HandoffKind as K, MeasureKind, Procedure, Stage,
};
use proto_types::entry::Record;
use proto_types::payload::{ClockAction, ClockRef, RestartReason};
use proto_types::policy::Period;
use proto_types::workflow::LoopStatus;
use proto_types::{LedgerState, Rule};

/// Runs the steps of one case from its filing, asserting after each the stage and holder.
fn check_life(steps: &[(Op, Stage, &str)]) -> Ledger {
    let mut l = Ledger::new();
    for (i, (op, stage, holder)) in steps.iter().enumerate() {
        l.ok(op);
        assert_eq!(
            where_is(&l.case()),
            (*stage, (*holder).to_owned()),
            "after step {i}: {op:?}"
        );
    }
    l
}

/// Runs `setup` (all accepted), then `op`, which must be rejected with `rule`: the rejection
/// is appended as entry `head`, and no case or handoff record changes.
fn check_rejected(setup: &[Op], op: Op, rule: Rule) {
    let mut l = Ledger::new();
    l.ok_all(setup);
    let before = l.snapshot();
    let size = l.state.head().size;
    let applied = l.run(&op).expect("a step, not a wait");
    let Record::Rejected(r) = &applied.entry.body.record else {
        panic!("{op:?} was accepted; expected {rule:?}");
    };
    assert_eq!(r.rule, rule, "{op:?}: {}", r.detail);
    assert!(!r.detail.is_empty());
    assert_eq!(applied.entry.body.index, size);
    assert_eq!(l.state.head().size, size + 1, "the rejection is appended");
    assert_eq!(l.snapshot(), before, "a rejection changes no case state");
}

use Stage::*;

const P1: &str = "P-0001";
const P2: &str = "P-0002";

fn delivered(id: &'static str, kind: K, from: &'static str, to: &'static str) -> [Op; 3] {
    [send(id, kind, from, to), receive(id), accept(id)]
}

#[test]
fn dangerous_driving_goes_from_bail_through_expedited_prosecution_to_community_corrections() {
    let l = check_life(&[
        (
            file(CaseType::DangerousDriving, Procedure::Expedited, &[P1]),
            Investigation,
            PSB,
        ),
        (measure(PSB, P1, MeasureKind::Bail), Investigation, PSB),
        (wait_days(5), Investigation, PSB),
        (
            send("DD-PT", K::ProsecutionTransfer, PSB, PROC)
                .documents(&[DocumentType::ProsecutionOpinion]),
            Investigation,
            PSB,
        ),
        (receive("DD-PT"), Investigation, PSB),
        (accept("DD-PT"), ProsecutionReview, PROC),
        (
            send("DD-PSA", K::PreSentenceAssessment, PROC, CC),
            ProsecutionReview,
            PROC,
        ),
        (receive("DD-PSA"), ProsecutionReview, PROC),
        (accept("DD-PSA"), ProsecutionReview, PROC),
        (wait_days(4), ProsecutionReview, PROC),
        (
            send("DD-PP", K::PublicProsecution, PROC, COURT).documents(&[
                DocumentType::Indictment,
                DocumentType::SentencingRecommendation,
            ]),
            ProsecutionReview,
            PROC,
        ),
        (receive("DD-PP"), ProsecutionReview, PROC),
        (accept("DD-PP"), FirstInstance, COURT),
        (
            send("DD-TN", K::TrialNotice, COURT, PROC),
            FirstInstance,
            COURT,
        ),
        (receive("DD-TN"), FirstInstance, COURT),
        (accept("DD-TN"), FirstInstance, COURT),
        (wait_days(5), FirstInstance, COURT),
        (
            send("DD-JS", K::JudgmentService, COURT, PROC).documents(&[DocumentType::Judgment]),
            FirstInstance,
            COURT,
        ),
        (receive("DD-JS"), FirstInstance, COURT),
        (accept("DD-JS"), AppealWindow, COURT),
        (wait_days(11), AppealWindow, COURT),
        (
            send("DD-EDC", K::ExecutionDeliveryCommunity, COURT, CC)
                .documents(&[DocumentType::Judgment]),
            AppealWindow,
            COURT,
        ),
        (receive("DD-EDC"), AppealWindow, COURT),
        (accept("DD-EDC"), ExecutionCommunity, CC),
        (
            send("DD-ER", K::ExecutionReceipt, CC, COURT),
            ExecutionCommunity,
            CC,
        ),
        (receive("DD-ER"), ExecutionCommunity, CC),
        (accept("DD-ER"), ExecutionCommunity, CC),
        (close(CC), Closed, CC),
    ]);
    let case = l.case();
    assert_eq!(case.procedure, Procedure::Expedited);
    assert!(case.open_handoffs.is_empty() && case.in_transit.is_none());
    assert!(case.closed_at.is_some());
    let stages: Vec<Stage> = case.history.iter().map(|s| s.stage).collect();
    assert_eq!(
        stages,
        [
            Investigation,
            ProsecutionReview,
            FirstInstance,
            AppealWindow,
            ExecutionCommunity,
            Closed
        ]
    );
    let p1 = case.person(&person(P1)).expect("person");
    assert!(
        p1.measures.iter().all(|m| !m.active),
        "closing ends the bail"
    );
    assert_eq!(l.handoff("DD-PT").status, LoopStatus::Responded);
    assert_eq!(l.handoff("DD-PT").responded_by, Some(id("DD-PP")));
    assert_eq!(l.handoff("DD-PP").responded_by, Some(id("DD-JS")));
    assert_eq!(l.handoff("DD-EDC").responded_by, Some(id("DD-ER")));
    assert_eq!(
        l.handoff("DD-PT").late,
        Some(false),
        "answered within the expedited 10 days"
    );
    let participants: Vec<String> = case.participants.iter().map(ToString::to_string).collect();
    assert_eq!(participants, [CC, COURT, PROC, PSB]);
}

#[test]
fn theft_in_custody_goes_through_arrest_supplementary_investigation_and_prison() {
    let l = check_life(&[
        (
            file(CaseType::Theft, Procedure::Ordinary, &[P1]),
            Investigation,
            PSB,
        ),
        (measure(PSB, P1, MeasureKind::Detention), Investigation, PSB),
        (wait_days(2), Investigation, PSB),
        (
            send("T-AR", K::ArrestApprovalRequest, PSB, PROC)
                .documents(&[DocumentType::ArrestRequestForm]),
            Investigation,
            PSB,
        ),
        (receive("T-AR"), Investigation, PSB),
        (accept("T-AR"), ArrestReview, PROC),
        (wait_days(5), ArrestReview, PROC),
        (
            send("T-AD", K::ArrestApprovalDecision, PROC, PSB)
                .documents(&[DocumentType::ArrestDecision]),
            ArrestReview,
            PROC,
        ),
        (receive("T-AD"), ArrestReview, PROC),
        (accept("T-AD"), Investigation, PSB),
        (measure(PSB, P1, MeasureKind::Arrest), Investigation, PSB),
        (wait_days(40), Investigation, PSB),
        (
            send("T-PT", K::ProsecutionTransfer, PSB, PROC).custody(),
            Investigation,
            PSB,
        ),
        (custody_transfer("T-CT1", PSB, "T-PT"), Investigation, PSB),
        (receive("T-PT"), Investigation, PSB),
        (accept("T-PT"), ProsecutionReview, PROC),
        (receive("T-CT1"), ProsecutionReview, PROC),
        (accept("T-CT1"), ProsecutionReview, PROC),
        (wait_days(20), ProsecutionReview, PROC),
        (
            send("T-SR", K::SupplementaryInvestigationReturn, PROC, PSB)
                .custody()
                .documents(&[DocumentType::SupplementaryOutline]),
            ProsecutionReview,
            PROC,
        ),
        (
            custody_transfer("T-CT2", PROC, "T-SR"),
            ProsecutionReview,
            PROC,
        ),
        (receive("T-SR"), ProsecutionReview, PROC),
        (accept("T-SR"), SupplementaryInvestigation, PSB),
        (wait_days(25), SupplementaryInvestigation, PSB),
        (
            send("T-RS", K::SupplementaryInvestigationResubmit, PSB, PROC).custody(),
            SupplementaryInvestigation,
            PSB,
        ),
        (
            custody_transfer("T-CT3", PSB, "T-RS"),
            SupplementaryInvestigation,
            PSB,
        ),
        (receive("T-RS"), SupplementaryInvestigation, PSB),
        (accept("T-RS"), ProsecutionReview, PROC),
        (
            send("T-PP", K::PublicProsecution, PROC, COURT)
                .custody()
                .documents(&[DocumentType::Indictment]),
            ProsecutionReview,
            PROC,
        ),
        (
            custody_transfer("T-CT4", PROC, "T-PP"),
            ProsecutionReview,
            PROC,
        ),
        (receive("T-PP"), ProsecutionReview, PROC),
        (accept("T-PP"), FirstInstance, COURT),
        (
            send("T-LA", K::LegalAidNotice, COURT, LA),
            FirstInstance,
            COURT,
        ),
        (receive("T-LA"), FirstInstance, COURT),
        (accept("T-LA"), FirstInstance, COURT),
        (
            send("T-JS", K::JudgmentService, COURT, PROC).documents(&[DocumentType::Judgment]),
            FirstInstance,
            COURT,
        ),
        (receive("T-JS"), FirstInstance, COURT),
        (accept("T-JS"), AppealWindow, COURT),
        (wait_days(11), AppealWindow, COURT),
        (
            send("T-ED", K::ExecutionDeliveryCustodial, COURT, PRISON)
                .custody()
                .documents(&EXECUTION_DOCUMENTS),
            AppealWindow,
            COURT,
        ),
        (
            custody_transfer("T-CT5", COURT, "T-ED"),
            AppealWindow,
            COURT,
        ),
        (receive("T-ED"), AppealWindow, COURT),
        (accept("T-ED"), ExecutionCustodial, PRISON),
        (
            send("T-ER", K::ExecutionReceipt, PRISON, COURT),
            ExecutionCustodial,
            PRISON,
        ),
        (receive("T-ER"), ExecutionCustodial, PRISON),
        (accept("T-ER"), ExecutionCustodial, PRISON),
        (close(PRISON), Closed, PRISON),
    ]);
    let case = l.case();
    assert_eq!(case.supplementary_returns, 1);
    assert!(case.arrest_decided);
    let p = case.person(&person(P1)).expect("person");
    let kinds: Vec<_> = p.measures.iter().map(|m| (m.measure, m.active)).collect();
    assert_eq!(
        kinds,
        [
            (MeasureKind::Detention, false),
            (MeasureKind::Arrest, false)
        ],
        "closing ends them"
    );
    // The arrest request stopped the detention clock (the detention went on until the
    // arrest); the closure ended the arrest.
    let detention_clock = p.measures[0].clock.as_ref().expect("detention has a clock");
    assert_eq!(detention_clock.stopped_at, Some(l.handoff("T-AR").sent_at));
    assert_eq!(p.measures[0].ended_at, Some(p.measures[1].effective_at));
    assert!(p
        .measures
        .iter()
        .all(|m| m.clock.as_ref().is_some_and(|c| !c.is_running())));
    assert_eq!(l.handoff("T-PT").custody_transfer, Some(id("T-CT1")));
    assert_eq!(l.handoff("T-ED").custody_transfer, Some(id("T-CT5")));
    assert_eq!(l.handoff("T-SR").responded_by, Some(id("T-RS")));
    assert_eq!(l.handoff("T-RS").responded_by, Some(id("T-PP")));
    assert_eq!(l.handoff("T-ED").responded_by, Some(id("T-ER")));
    assert_eq!(l.handoff("T-AR").responded_by, Some(id("T-AD")));
    assert_eq!(
        l.handoff("T-AR").late,
        Some(false),
        "decided in 5 days of 7"
    );
}

#[test]
fn theft_case_is_closed_by_the_prison_once_execution_is_under_way() {
    let mut l = Ledger::new();
    l.ok_all(&[file(CaseType::Theft, Procedure::Summary, &[P1])]);
    l.ok_all(&delivered("PT", K::ProsecutionTransfer, PSB, PROC));
    l.ok_all(&delivered("PP", K::PublicProsecution, PROC, COURT));
    l.ok_all(&delivered("JS", K::JudgmentService, COURT, PROC));
    l.ok_all(
        &delivered("ED", K::ExecutionDeliveryCustodial, COURT, PRISON).map(|op| match op {
            Op::Send(_) => op.documents(&EXECUTION_DOCUMENTS),
            other => other,
        }),
    );
    l.ok(&close(PRISON));
    assert_eq!(where_is(&l.case()), (Closed, PRISON.to_owned()));
    let ed = l.handoff("ED");
    assert!(
        ed.closed_at.is_some() && ed.late.is_none(),
        "closing the case closes the open loop without judging it"
    );
}

#[test]
fn intentional_injury_resends_a_transfer_returned_for_completion() {
    let l = check_life(&[
        (
            file(CaseType::IntentionalInjury, Procedure::Ordinary, &[P1, P2]),
            Investigation,
            PSB,
        ),
        (
            measure(PSB, P1, MeasureKind::ResidentialSurveillance),
            Investigation,
            PSB,
        ),
        (measure(PSB, P2, MeasureKind::Bail), Investigation, PSB),
        (
            send("I-PT", K::ProsecutionTransfer, PSB, PROC),
            Investigation,
            PSB,
        ),
        (receive("I-PT"), Investigation, PSB),
        (return_for_completion("I-PT"), Investigation, PSB),
        (wait_days(3), Investigation, PSB),
        (
            send("I-PT2", K::ProsecutionTransfer, PSB, PROC)
                .related("I-PT")
                .documents(&[DocumentType::Evidence]),
            Investigation,
            PSB,
        ),
        (receive("I-PT2"), Investigation, PSB),
        (accept("I-PT2"), ProsecutionReview, PROC),
        (
            send("I-PP", K::PublicProsecution, PROC, COURT).procedure(Procedure::Summary),
            ProsecutionReview,
            PROC,
        ),
        (receive("I-PP"), ProsecutionReview, PROC),
        (accept("I-PP"), FirstInstance, COURT),
        (
            send("I-JS", K::JudgmentService, COURT, PROC),
            FirstInstance,
            COURT,
        ),
        (receive("I-JS"), FirstInstance, COURT),
        (accept("I-JS"), AppealWindow, COURT),
        (measure(COURT, P1, MeasureKind::Arrest), AppealWindow, COURT),
        (
            send("I-ED", K::ExecutionDeliveryCustodial, COURT, DH)
                .custody()
                .persons(&[P1])
                .documents(&EXECUTION_DOCUMENTS),
            AppealWindow,
            COURT,
        ),
        (custody_transfer("I-CT", COURT, "I-ED"), AppealWindow, COURT),
        (receive("I-ED"), AppealWindow, COURT),
        (accept("I-ED"), ExecutionCustodial, DH),
        (
            send("I-ER", K::ExecutionReceipt, DH, COURT),
            ExecutionCustodial,
            DH,
        ),
        (close(DH), Closed, DH),
    ]);
    let first = l.handoff("I-PT");
    assert_eq!(first.status, LoopStatus::ReturnedForCompletion);
    assert!(first.closed_at.is_some() && first.return_reason.is_some());
    assert_eq!(
        l.case().procedure,
        Procedure::Summary,
        "the prosecution converted the procedure"
    );
    assert_eq!(
        l.handoff("I-PP").clock.as_ref().map(|c| c.period),
        Some(Period::Days(20)),
        "summary trial: 20 days"
    );
}

#[test]
fn traffic_accident_with_plea_leniency_ends_in_probation() {
    check_life(&[
        (
            file(CaseType::TrafficAccident, Procedure::Summary, &[P1]),
            Investigation,
            PSB,
        ),
        (measure(PSB, P1, MeasureKind::Detention), Investigation, PSB),
        (measure(PSB, P1, MeasureKind::Bail), Investigation, PSB),
        (
            send("TA-LA", K::LegalAidNotice, PSB, LA),
            Investigation,
            PSB,
        ),
        (receive("TA-LA"), Investigation, PSB),
        (accept("TA-LA"), Investigation, PSB),
        (
            send("TA-PT", K::ProsecutionTransfer, PSB, PROC),
            Investigation,
            PSB,
        ),
        (receive("TA-PT"), Investigation, PSB),
        (accept("TA-PT"), ProsecutionReview, PROC),
        (
            send("TA-PP", K::PublicProsecution, PROC, COURT),
            ProsecutionReview,
            PROC,
        ),
        (receive("TA-PP"), ProsecutionReview, PROC),
        (accept("TA-PP"), FirstInstance, COURT),
        (
            send("TA-PSA", K::PreSentenceAssessment, COURT, CC),
            FirstInstance,
            COURT,
        ),
        (receive("TA-PSA"), FirstInstance, COURT),
        (accept("TA-PSA"), FirstInstance, COURT),
        (
            send("TA-JS", K::JudgmentService, COURT, PROC),
            FirstInstance,
            COURT,
        ),
        (receive("TA-JS"), FirstInstance, COURT),
        (accept("TA-JS"), AppealWindow, COURT),
        (
            send("TA-EDC", K::ExecutionDeliveryCommunity, COURT, CC),
            AppealWindow,
            COURT,
        ),
        (receive("TA-EDC"), AppealWindow, COURT),
        (accept("TA-EDC"), ExecutionCommunity, CC),
        (
            send("TA-ER", K::ExecutionReceipt, CC, COURT),
            ExecutionCommunity,
            CC,
        ),
        (close(CC), Closed, CC),
    ]);
}

#[test]
fn picking_quarrels_gets_a_detention_extension_decided_without_changing_stage() {
    let extend = Op::Adjust {
        by: PSB,
        clock: ClockRef::Measure {
            person: person(P1),
            measure: MeasureKind::Arrest,
        },
        action: ClockAction::Extend {
            period: Period::Months(1),
            approved_by: id(PROC),
        },
    };
    let l = check_life(&[
        (
            file(CaseType::PickingQuarrels, Procedure::Ordinary, &[P1]),
            Investigation,
            PSB,
        ),
        (measure(PSB, P1, MeasureKind::Detention), Investigation, PSB),
        (
            send("PQ-AR", K::ArrestApprovalRequest, PSB, PROC),
            Investigation,
            PSB,
        ),
        (receive("PQ-AR"), Investigation, PSB),
        (accept("PQ-AR"), ArrestReview, PROC),
        (
            send("PQ-AD", K::ArrestApprovalDecision, PROC, PSB),
            ArrestReview,
            PROC,
        ),
        (receive("PQ-AD"), ArrestReview, PROC),
        (accept("PQ-AD"), Investigation, PSB),
        (measure(PSB, P1, MeasureKind::Arrest), Investigation, PSB),
        (wait_days(45), Investigation, PSB),
        (
            send("PQ-DX", K::DetentionExtensionRequest, PSB, PROC),
            Investigation,
            PSB,
        ),
        (receive("PQ-DX"), Investigation, PSB),
        (accept("PQ-DX"), Investigation, PSB),
        (
            send("PQ-DXD", K::ArrestApprovalDecision, PROC, PSB),
            Investigation,
            PSB,
        ),
        (receive("PQ-DXD"), Investigation, PSB),
        (accept("PQ-DXD"), Investigation, PSB),
        (extend, Investigation, PSB),
        (wait_days(30), Investigation, PSB),
        (
            send("PQ-PT", K::ProsecutionTransfer, PSB, PROC).custody(),
            Investigation,
            PSB,
        ),
        (custody_transfer("PQ-CT1", PSB, "PQ-PT"), Investigation, PSB),
        (receive("PQ-PT"), Investigation, PSB),
        (accept("PQ-PT"), ProsecutionReview, PROC),
        (
            send("PQ-PP", K::PublicProsecution, PROC, COURT).custody(),
            ProsecutionReview,
            PROC,
        ),
        (
            custody_transfer("PQ-CT2", PROC, "PQ-PP"),
            ProsecutionReview,
            PROC,
        ),
        (receive("PQ-PP"), ProsecutionReview, PROC),
        (accept("PQ-PP"), FirstInstance, COURT),
        (
            send("PQ-JS", K::JudgmentService, COURT, PROC),
            FirstInstance,
            COURT,
        ),
        (receive("PQ-JS"), FirstInstance, COURT),
        (accept("PQ-JS"), AppealWindow, COURT),
        (
            send("PQ-ED", K::ExecutionDeliveryCustodial, COURT, PRISON)
                .custody()
                .documents(&EXECUTION_DOCUMENTS),
            AppealWindow,
            COURT,
        ),
        (
            custody_transfer("PQ-CT3", COURT, "PQ-ED"),
            AppealWindow,
            COURT,
        ),
        (receive("PQ-ED"), AppealWindow, COURT),
        (accept("PQ-ED"), ExecutionCustodial, PRISON),
        (
            send("PQ-ER", K::ExecutionReceipt, PRISON, COURT),
            ExecutionCustodial,
            PRISON,
        ),
        (close(PRISON), Closed, PRISON),
    ]);
    let dx = l.handoff("PQ-DX");
    assert_eq!(
        (dx.status, dx.responded_by.clone()),
        (LoopStatus::Responded, Some(id("PQ-DXD")))
    );
    assert_eq!(
        l.handoff("PQ-DXD").stage_change,
        None,
        "a decision on an extension changes no stage"
    );
    let arrest = l.case().person(&person(P1)).expect("person").measures[1].clone();
    let clock = arrest.clock.expect("the arrest has a clock");
    assert_eq!(clock.extensions.len(), 1);
    assert_eq!(clock.extensions[0].approved_by, id(PROC));
}

#[test]
fn fraud_is_appealed_to_the_intermediate_court_and_becomes_effective_there() {
    check_life(&[
        (
            file(CaseType::Fraud, Procedure::Ordinary, &[P1]),
            Investigation,
            PSB,
        ),
        (measure(PSB, P1, MeasureKind::Detention), Investigation, PSB),
        (
            send("F-AR", K::ArrestApprovalRequest, PSB, PROC),
            Investigation,
            PSB,
        ),
        (receive("F-AR"), Investigation, PSB),
        (accept("F-AR"), ArrestReview, PROC),
        (
            send("F-AD", K::ArrestApprovalDecision, PROC, PSB),
            ArrestReview,
            PROC,
        ),
        (receive("F-AD"), ArrestReview, PROC),
        (accept("F-AD"), Investigation, PSB),
        (measure(PSB, P1, MeasureKind::Arrest), Investigation, PSB),
        (
            send("F-PT", K::ProsecutionTransfer, PSB, PROC).custody(),
            Investigation,
            PSB,
        ),
        (custody_transfer("F-CT1", PSB, "F-PT"), Investigation, PSB),
        (receive("F-PT"), Investigation, PSB),
        (accept("F-PT"), ProsecutionReview, PROC),
        (
            send("F-PP", K::PublicProsecution, PROC, COURT).custody(),
            ProsecutionReview,
            PROC,
        ),
        (
            custody_transfer("F-CT2", PROC, "F-PP"),
            ProsecutionReview,
            PROC,
        ),
        (receive("F-PP"), ProsecutionReview, PROC),
        (accept("F-PP"), FirstInstance, COURT),
        (
            send("F-JS", K::JudgmentService, COURT, PROC),
            FirstInstance,
            COURT,
        ),
        (receive("F-JS"), FirstInstance, COURT),
        (accept("F-JS"), AppealWindow, COURT),
        (wait_days(6), AppealWindow, COURT),
        (
            send("F-AP", K::Appeal, COURT, UPPER).custody(),
            AppealWindow,
            COURT,
        ),
        (
            custody_transfer("F-CT3", COURT, "F-AP"),
            AppealWindow,
            COURT,
        ),
        (receive("F-AP"), AppealWindow, COURT),
        (accept("F-AP"), SecondInstance, UPPER),
        (
            send("F-2T", K::SecondInstanceTrial, UPPER, PROC),
            SecondInstance,
            UPPER,
        ),
        (receive("F-2T"), SecondInstance, UPPER),
        (accept("F-2T"), SecondInstance, UPPER),
        (wait_days(40), SecondInstance, UPPER),
        (
            send("F-JS2", K::JudgmentService, UPPER, PROC),
            SecondInstance,
            UPPER,
        ),
        (receive("F-JS2"), SecondInstance, UPPER),
        (accept("F-JS2"), Effective, UPPER),
        (
            send("F-ED", K::ExecutionDeliveryCustodial, UPPER, PRISON)
                .custody()
                .documents(&EXECUTION_DOCUMENTS),
            Effective,
            UPPER,
        ),
        (custody_transfer("F-CT4", UPPER, "F-ED"), Effective, UPPER),
        (receive("F-ED"), Effective, UPPER),
        (accept("F-ED"), ExecutionCustodial, PRISON),
        (
            send("F-ER", K::ExecutionReceipt, PRISON, UPPER),
            ExecutionCustodial,
            PRISON,
        ),
        (receive("F-ER"), ExecutionCustodial, PRISON),
        (accept("F-ER"), ExecutionCustodial, PRISON),
        (close(PRISON), Closed, PRISON),
    ]);
}

#[test]
fn a_remand_sends_the_case_back_to_first_instance() {
    let mut l = Ledger::new();
    l.ok(&file(CaseType::Fraud, Procedure::Ordinary, &[P1]));
    for [s, r, a] in [
        delivered("PT", K::ProsecutionTransfer, PSB, PROC),
        delivered("PP", K::PublicProsecution, PROC, COURT),
        delivered("JS", K::JudgmentService, COURT, PROC),
        delivered("AP", K::Protest, PROC, UPPER),
        delivered("RM", K::RemandForRetrial, UPPER, COURT),
    ] {
        l.ok_all(&[s, r, a]);
    }
    assert_eq!(where_is(&l.case()), (FirstInstance, COURT.to_owned()));
    assert_eq!(l.handoff("AP").responded_by, Some(id("RM")));
    l.ok_all(&delivered("JS2", K::JudgmentService, COURT, PROC));
    assert_eq!(where_is(&l.case()), (AppealWindow, COURT.to_owned()));
    assert_eq!(l.handoff("RM").responded_by, Some(id("JS2")));
}

#[test]
fn side_exits_close_the_case_and_its_open_loops() {
    // Withdrawal during investigation.
    let mut l = Ledger::new();
    l.ok_all(&[
        file(CaseType::Theft, Procedure::Ordinary, &[P1]),
        measure(PSB, P1, MeasureKind::Bail),
    ]);
    l.ok_all(&[send("LA", K::LegalAidNotice, PSB, LA)]);
    l.ok_all(&delivered("W", K::CaseWithdrawalNotice, PSB, PROC));
    let case = l.case();
    assert_eq!(case.stage, ClosedWithdrawn);
    assert!(case.open_handoffs.is_empty() && case.closed_at.is_some());
    assert!(l.handoff("LA").closed_at.is_some());
    assert!(case.persons[0].measures.iter().all(|m| !m.active));
    // Non-prosecution after review.
    let mut l = Ledger::new();
    l.ok(&file(CaseType::Theft, Procedure::Ordinary, &[P1]));
    l.ok_all(&delivered("PT", K::ProsecutionTransfer, PSB, PROC));
    l.ok_all(&delivered("NP", K::NonProsecutionDecision, PROC, PSB));
    assert_eq!(l.case().stage, ClosedNotProsecuted);
    assert_eq!(l.handoff("PT").status, LoopStatus::Responded);
}

fn filed(t: CaseType) -> Vec<Op> {
    vec![file(t, Procedure::Ordinary, &[P1])]
}

fn theft(more: &[Op]) -> Vec<Op> {
    let mut v = filed(CaseType::Theft);
    v.extend_from_slice(more);
    v
}

fn in_review() -> Vec<Op> {
    theft(&delivered("PT", K::ProsecutionTransfer, PSB, PROC))
}

fn returned_and_resubmitted(n: usize) -> Vec<Op> {
    let mut v = in_review();
    let ids = [("SR1", "RS1"), ("SR2", "RS2"), ("SR3", "RS3")];
    for (sr, rs) in ids.iter().take(n) {
        v.extend(delivered(
            sr,
            K::SupplementaryInvestigationReturn,
            PROC,
            PSB,
        ));
        v.extend(delivered(
            rs,
            K::SupplementaryInvestigationResubmit,
            PSB,
            PROC,
        ));
    }
    v
}

fn in_first_instance() -> Vec<Op> {
    let mut v = in_review();
    v.extend(delivered("PP", K::PublicProsecution, PROC, COURT));
    v
}

fn in_appeal_window() -> Vec<Op> {
    let mut v = in_first_instance();
    v.extend(delivered("JS", K::JudgmentService, COURT, PROC));
    v
}

fn closed_case() -> Vec<Op> {
    let mut v = in_appeal_window();
    v.extend(delivered("ED", K::ExecutionDeliveryCommunity, COURT, CC));
    v.push(close(CC));
    v
}

#[test]
fn case_filing_is_for_a_psb_and_happens_once() {
    check_rejected(
        &[],
        Op::File {
            by: PROC,
            case_type: CaseType::Theft,
            procedure: Procedure::Ordinary,
            persons: vec![P1],
        },
        Rule::SenderNotAllowed,
    );
    check_rejected(
        &filed(CaseType::Theft),
        file(CaseType::Fraud, Procedure::Ordinary, &[P2]),
        Rule::CaseExists,
    );
    check_rejected(
        &[],
        file(CaseType::Theft, Procedure::Ordinary, &[P1, P1]),
        Rule::InvalidPayload,
    );
}

#[test]
fn rejects_handoffs_from_or_to_the_wrong_department() {
    check_rejected(
        &filed(CaseType::Theft),
        send("X", K::ProsecutionTransfer, PSB, PROC).signed_by(DH),
        Rule::SignerMismatch,
    );
    check_rejected(
        &filed(CaseType::Theft),
        send("X", K::ProsecutionTransfer, DH, PROC),
        Rule::SenderNotAllowed,
    );
    check_rejected(
        &filed(CaseType::Theft),
        send("X", K::ProsecutionTransfer, PSB, COURT),
        Rule::ReceiverNotAllowed,
    );
    check_rejected(
        &filed(CaseType::Theft),
        send("X", K::CustodyTransfer, DH, DH),
        Rule::ReceiverNotAllowed,
    );
    check_rejected(
        &in_appeal_window(),
        send("X", K::TrialNotice, COURT, "GS-NOWHERE"),
        Rule::ReceiverNotAllowed,
    );
    check_rejected(
        &in_review(),
        send("X", K::PublicProsecution, PROC, LA),
        Rule::ReceiverNotAllowed,
    );
    check_rejected(
        &filed(CaseType::Theft),
        send("X", K::Other("COURTESY_COPY".into()), PSB, PROC),
        Rule::UnknownHandoffKind,
    );
}

#[test]
fn rejects_handoffs_outside_their_stage_or_from_a_department_not_holding_the_case() {
    check_rejected(
        &filed(CaseType::Theft),
        send("X", K::PublicProsecution, PROC, COURT),
        Rule::IllegalStageTransition,
    );
    check_rejected(
        &in_review(),
        send("X", K::ProsecutionTransfer, PSB, PROC),
        Rule::IllegalStageTransition,
    );
    check_rejected(
        &in_review(),
        send("X", K::ExecutionDeliveryCustodial, COURT, PRISON).documents(&EXECUTION_DOCUMENTS),
        Rule::IllegalStageTransition,
    );
    check_rejected(
        &in_review(),
        send("X", K::DetentionExtensionRequest, PSB, PROC),
        Rule::NotCaseHolder,
    );
    check_rejected(
        &in_first_instance(),
        send("X", K::TrialNotice, UPPER, PROC),
        Rule::NotCaseHolder,
    );
}

#[test]
fn rejects_a_stage_changing_handoff_while_another_is_in_transit() {
    let sent = theft(&[send("PT", K::ProsecutionTransfer, PSB, PROC)]);
    check_rejected(
        &sent,
        send("X", K::ArrestApprovalRequest, PSB, PROC),
        Rule::CaseInTransit,
    );
    let received = theft(&[send("PT", K::ProsecutionTransfer, PSB, PROC), receive("PT")]);
    check_rejected(
        &received,
        send("X", K::CaseWithdrawalNotice, PSB, PROC),
        Rule::CaseInTransit,
    );
}

#[test]
fn a_return_for_completion_ends_the_transit_and_lets_the_sender_resend() {
    let mut l = Ledger::new();
    l.ok_all(&theft(&[
        send("PT", K::ProsecutionTransfer, PSB, PROC),
        receive("PT"),
        return_for_completion("PT"),
    ]));
    assert_eq!(l.case().in_transit, None);
    assert_eq!(where_is(&l.case()), (Investigation, PSB.to_owned()));
    l.ok(&send("PT2", K::ProsecutionTransfer, PSB, PROC).related("PT"));
    assert_eq!(l.case().in_transit, Some(id("PT2")));
}

#[test]
fn rejects_a_third_return_for_supplementary_investigation() {
    let mut two = returned_and_resubmitted(2);
    check_rejected(
        &two,
        send("SR3", K::SupplementaryInvestigationReturn, PROC, PSB),
        Rule::SupplementaryReturnLimit,
    );
    // The second return itself is legal.
    two.truncate(two.len() - 6);
    let mut l = Ledger::new();
    l.ok_all(&two);
    l.ok_all(&delivered(
        "SR2",
        K::SupplementaryInvestigationReturn,
        PROC,
        PSB,
    ));
    assert_eq!(l.case().supplementary_returns, 2);
}

#[test]
fn rejects_arrest_for_a_case_type_punished_by_criminal_detention_at_most() {
    check_rejected(
        &filed(CaseType::DangerousDriving),
        send("X", K::ArrestApprovalRequest, PSB, PROC),
        Rule::ArrestNotAllowed,
    );
    check_rejected(
        &filed(CaseType::DangerousDriving),
        measure(PROC, P1, MeasureKind::Arrest),
        Rule::ArrestNotAllowed,
    );
    // And an arrest by the PSB needs an approval decision first.
    check_rejected(
        &filed(CaseType::Theft),
        measure(PSB, P1, MeasureKind::Arrest),
        Rule::ArrestNotAllowed,
    );
}

#[test]
fn rejects_steps_of_the_closed_loop_out_of_order_or_by_others() {
    let sent = theft(&[send("PT", K::ProsecutionTransfer, PSB, PROC)]);
    check_rejected(&sent, accept("PT"), Rule::ReceiptRequired);
    check_rejected(&sent, return_for_completion("PT"), Rule::ReceiptRequired);
    check_rejected(&sent, receive("PT").by(PSB), Rule::NotReceiver);
    check_rejected(&sent, receive("NOPE").by(PROC), Rule::UnknownHandoff);
    let received = theft(&[send("PT", K::ProsecutionTransfer, PSB, PROC), receive("PT")]);
    check_rejected(&received, accept("PT").by(COURT), Rule::NotReceiver);
    check_rejected(&received, receive("PT"), Rule::LoopAlreadyClosed);
    check_rejected(&in_review(), accept("PT"), Rule::LoopAlreadyClosed);
}

#[test]
fn rejects_an_answer_before_the_answered_handoff_is_accepted() {
    let received = theft(&[send("PT", K::ProsecutionTransfer, PSB, PROC), receive("PT")]);
    check_rejected(
        &received,
        send("X", K::PublicProsecution, PROC, COURT),
        Rule::AcceptanceRequired,
    );
    let sent = theft(&[send("AR", K::ArrestApprovalRequest, PSB, PROC)]);
    check_rejected(
        &sent,
        send("X", K::ArrestApprovalDecision, PROC, PSB),
        Rule::AcceptanceRequired,
    );
}

#[test]
fn rejects_everything_after_the_case_is_closed() {
    check_rejected(
        &closed_case(),
        send("X", K::LegalAidNotice, PSB, LA),
        Rule::CaseClosed,
    );
    check_rejected(
        &closed_case(),
        measure(PSB, P1, MeasureKind::Bail),
        Rule::CaseClosed,
    );
    check_rejected(&closed_case(), close(CC), Rule::CaseClosed);
    let withdrawn = theft(&[
        send("LA", K::LegalAidNotice, PSB, LA),
        send("W", K::CaseWithdrawalNotice, PSB, PROC),
        receive("W"),
        accept("W"),
    ]);
    check_rejected(&withdrawn, receive("LA"), Rule::CaseClosed);
}

#[test]
fn rejects_custodial_execution_delivery_without_its_four_documents() {
    let three = &EXECUTION_DOCUMENTS[..3];
    check_rejected(
        &in_appeal_window(),
        send("X", K::ExecutionDeliveryCustodial, COURT, PRISON).documents(three),
        Rule::MissingDocuments,
    );
}

#[test]
fn rejects_accepting_a_custody_handoff_before_its_custody_transfer() {
    let mut setup = theft(&[
        send("PT", K::ProsecutionTransfer, PSB, PROC).custody(),
        receive("PT"),
    ]);
    check_rejected(&setup, accept("PT"), Rule::CustodyTransferMissing);
    // A custody transfer for another handoff does not count.
    setup.push(send("LA", K::LegalAidNotice, PSB, LA));
    setup.push(custody_transfer("CT", PSB, "LA"));
    check_rejected(&setup, accept("PT"), Rule::CustodyTransferMissing);
}

#[test]
fn rejects_submissions_over_the_policy_limits() {
    let long = "字".repeat(700); // 2,100 bytes > 2,048
    check_rejected(
        &filed(CaseType::Theft),
        send("X", K::LegalAidNotice, PSB, LA).note(long),
        Rule::LimitExceeded,
    );
    let many = vec![DocumentType::Evidence; 65];
    check_rejected(
        &filed(CaseType::Theft),
        send("X", K::LegalAidNotice, PSB, LA).documents(&many),
        Rule::LimitExceeded,
    );
    let persons: Vec<&'static str> = (0..33)
        .map(|i| &*Box::leak(format!("P-{i}").into_boxed_str()))
        .collect();
    check_rejected(
        &[],
        Op::File {
            by: PSB,
            case_type: CaseType::Theft,
            procedure: Procedure::Ordinary,
            persons,
        },
        Rule::LimitExceeded,
    );
}

#[test]
fn rejects_a_handoff_naming_another_case_type_or_an_unknown_case_or_person() {
    check_rejected(
        &filed(CaseType::Theft),
        send("X", K::LegalAidNotice, PSB, LA).case_type(CaseType::Fraud),
        Rule::CaseTypeMismatch,
    );
    check_rejected(
        &filed(CaseType::Theft),
        send("X", K::LegalAidNotice, PSB, LA).for_case("LZ-OTHER-1"),
        Rule::UnknownCase,
    );
    check_rejected(
        &filed(CaseType::Theft),
        send("X", K::LegalAidNotice, PSB, LA).persons(&["P-9999"]),
        Rule::InvalidPayload,
    );
    check_rejected(
        &filed(CaseType::Theft),
        measure(PSB, "P-9999", MeasureKind::Bail),
        Rule::InvalidPayload,
    );
    check_rejected(
        &filed(CaseType::Theft),
        send("X", K::LegalAidNotice, PSB, LA).related("NOPE"),
        Rule::UnknownHandoff,
    );
}

#[test]
fn rejects_a_closure_by_others_or_before_execution() {
    let mut executing = in_appeal_window();
    executing.extend(delivered("ED", K::ExecutionDeliveryCommunity, COURT, CC));
    check_rejected(&executing, close(COURT), Rule::NotCaseHolder);
    check_rejected(&in_review(), close(PROC), Rule::IllegalStageTransition);
}

#[test]
fn rejects_coercive_measures_by_departments_that_do_not_take_them() {
    check_rejected(
        &filed(CaseType::Theft),
        measure(CC, P1, MeasureKind::Bail),
        Rule::SenderNotAllowed,
    );
    check_rejected(
        &filed(CaseType::Theft),
        measure(PSB, P1, MeasureKind::Release),
        Rule::InvalidPayload,
    );
}

#[test]
fn rejects_clock_adjustments_that_do_not_fit_the_clock() {
    let with_pt = theft(&[send("PT", K::ProsecutionTransfer, PSB, PROC), receive("PT")]);
    let adjust = |by, action| Op::Adjust {
        by,
        clock: ClockRef::Handoff(id("PT")),
        action,
    };
    let extend = |by| ClockAction::Extend {
        period: Period::Days(15),
        approved_by: id(by),
    };
    check_rejected(
        &with_pt,
        adjust(PROC, extend("GS-NOWHERE")),
        Rule::ClockAdjustmentRefused,
    );
    check_rejected(
        &with_pt,
        adjust(
            PROC,
            ClockAction::Restart {
                reason: RestartReason::Resume,
            },
        ),
        Rule::ClockAdjustmentRefused,
    );
    check_rejected(&with_pt, adjust(CC, extend(PLC)), Rule::SignerMismatch);
    let paused = {
        let mut v = with_pt.clone();
        v.push(adjust(
            PROC,
            ClockAction::Pause {
                reason: "精神病鉴定".into(),
            },
        ));
        v
    };
    check_rejected(
        &paused,
        adjust(
            PROC,
            ClockAction::Pause {
                reason: "again".into(),
            },
        ),
        Rule::ClockAdjustmentRefused,
    );
    // An arrest approval decision puts no clock on its receiver.
    let decided = theft(&[
        send("AR", K::ArrestApprovalRequest, PSB, PROC),
        receive("AR"),
        accept("AR"),
        send("AD", K::ArrestApprovalDecision, PROC, PSB),
    ]);
    let adjust_ad = Op::Adjust {
        by: PROC,
        clock: ClockRef::Handoff(id("AD")),
        action: extend(PLC),
    };
    check_rejected(&decided, adjust_ad, Rule::ClockAdjustmentRefused);
    let measure_clock = Op::Adjust {
        by: PSB,
        clock: ClockRef::Measure {
            person: person(P1),
            measure: MeasureKind::Detention,
        },
        action: extend(PROC),
    };
    check_rejected(
        &filed(CaseType::Theft),
        measure_clock,
        Rule::ClockAdjustmentRefused,
    );
}

#[test]
fn rejection_entries_carry_the_rule_and_the_signed_submission() {
    let mut l = Ledger::new();
    l.ok_all(&filed(CaseType::DangerousDriving));
    let a = l
        .run(&send("X", K::ArrestApprovalRequest, PSB, PROC))
        .expect("a step");
    assert_eq!(a.rejected_rule(), Some(Rule::ArrestNotAllowed));
    let Record::Rejected(r) = &a.entry.body.record else {
        panic!("rejected")
    };
    assert_eq!(r.submission.payload.id, id("X"));
    assert!(a.changes.cases.is_empty() && a.changes.handoffs.is_empty());
    assert!(
        l.state.handoffs().all(|h| h.id != id("X")),
        "a rejected handoff is not a handoff"
    );
}
