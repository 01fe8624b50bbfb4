//! Shorter paths: closing, remand, side exits, resending after a return for completion, and
//! the records as the node stores and serves them.

use super::*;

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
fn case_and_handoff_records_round_trip_through_postcard_and_json() {
    let mut l = Ledger::new();
    l.ok_all(&[
        file(CaseType::Theft, Procedure::Ordinary, &[P1]),
        measure(PSB, P1, MeasureKind::Detention),
        send("PT", K::ProsecutionTransfer, PSB, PROC)
            .custody()
            .documents(&[DocumentType::ProsecutionOpinion]),
        custody_transfer("CT", PSB, "PT"),
        receive("PT"),
        Op::Approved {
            by: PROC,
            clock: ClockRef::Handoff(id("PT")),
            change: ClockAction::Extend {
                period: Period::Days(15),
                approved_by: id(UP_PROC),
            },
            approver: UP_PROC,
        },
        Op::Approved {
            by: PROC,
            clock: ClockRef::Handoff(id("PT")),
            change: ClockAction::Pause {
                reason: "鉴定".into(),
            },
            approver: UP_PROC,
        },
    ]);
    let case = l.case();
    assert_eq!(decode::<CaseRecord>(&encode(&case)), Ok(case.clone()));
    let json = serde_json::to_string(&case).expect("json");
    assert_eq!(
        serde_json::from_str::<CaseRecord>(&json).expect("parses"),
        case
    );
    for h in l.handoffs() {
        assert_eq!(decode::<HandoffRecord>(&encode(&h)), Ok(h.clone()));
        let json = serde_json::to_string(&h).expect("json");
        assert_eq!(
            serde_json::from_str::<HandoffRecord>(&json).expect("parses"),
            h
        );
    }
}
