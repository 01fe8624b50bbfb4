//! A complete, realistic life of each pilot case type, asserting stage and holder after
//! every step.

use super::*;

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
    // Art. 156: approved by the procuratorate one level up, which countersigns.
    let extend = Op::Approved {
        by: PSB,
        clock: ClockRef::Measure {
            person: person(P1),
            measure: MeasureKind::Arrest,
        },
        change: ClockAction::Extend {
            period: Period::Months(1),
            approved_by: id(UP_PROC),
        },
        approver: UP_PROC,
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
    assert_eq!(clock.extensions[0].approved_by, id(UP_PROC));
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
