//! Each illegal step is rejected with its rule, recorded as a rejection entry, and changes no
//! case state.

use super::*;
use crate::common::exceed::exceed;
use proto_types::payload::Payload;

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
        // A department that is no party to the case: refused as on a case that is not on
        // the ledger, so the refusal tells it nothing (issue 15).
        Rule::UnknownCase,
    );
    check_rejected(
        &filed(CaseType::Theft),
        send("X", K::ProsecutionTransfer, DH, PROC),
        // A department that is no party to the case: refused as on a case that is not on
        // the ledger, so the refusal tells it nothing (issue 15).
        Rule::UnknownCase,
    );
    check_rejected(
        &filed(CaseType::Theft),
        send("X", K::ProsecutionTransfer, PSB, COURT),
        Rule::ReceiverNotAllowed,
    );
    check_rejected(
        &filed(CaseType::Theft),
        send("X", K::CustodyTransfer, DH, DH),
        // A department that is no party to the case: refused as on a case that is not on
        // the ledger, so the refusal tells it nothing (issue 15).
        Rule::UnknownCase,
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
        // A department that is no party to the case: refused as on a case that is not on
        // the ledger, so the refusal tells it nothing (issue 15).
        Rule::UnknownCase,
    );
    check_rejected(
        &in_review(),
        send("X", K::ProsecutionTransfer, PSB, PROC),
        Rule::IllegalStageTransition,
    );
    check_rejected(
        &in_review(),
        send("X", K::ExecutionDeliveryCustodial, COURT, PRISON).documents(&EXECUTION_DOCUMENTS),
        // A department that is no party to the case: refused as on a case that is not on
        // the ledger, so the refusal tells it nothing (issue 15).
        Rule::UnknownCase,
    );
    check_rejected(
        &in_review(),
        send("X", K::DetentionExtensionRequest, PSB, PROC),
        Rule::NotCaseHolder,
    );
    check_rejected(
        &in_first_instance(),
        send("X", K::TrialNotice, UPPER, PROC),
        // A department that is no party to the case: refused as on a case that is not on
        // the ledger, so the refusal tells it nothing (issue 15).
        Rule::UnknownCase,
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
        measure(PSB, P1, MeasureKind::Arrest),
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
    // The court is no party to the case: as for a handoff that is not on the ledger.
    check_rejected(&received, accept("PT").by(COURT), Rule::UnknownHandoff);
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

/// Every limit of the policy, through `apply`: the step is recorded as `LimitExceeded` with
/// exactly the detail `precheck::limits` gives (what the node's ingress answers 413 with).
#[test]
fn every_policy_limit_is_recorded_with_the_detail_precheck_gives() {
    let mut l = Ledger::new();
    l.ok_all(&filed(CaseType::Theft));
    l.ok_all(&[send("H", K::LegalAidNotice, PSB, LA), receive("H")]);
    let limits = l.state.registry().expect("genesis").policy.limits.clone();
    let pause = Op::Adjust {
        by: LA,
        clock: ClockRef::Handoff(id("H")),
        action: ClockAction::Pause {
            reason: "鉴定".into(),
        },
    };
    let with_document =
        |id| send(id, K::LegalAidNotice, PSB, LA).documents(&[DocumentType::Evidence]);
    let steps = [
        (file(CaseType::Theft, Procedure::Ordinary, &[P1]), "note"),
        (file(CaseType::Theft, Procedure::Ordinary, &[P1]), "persons"),
        (with_document("X1"), "note"),
        (with_document("X2"), "persons"),
        (with_document("X3"), "documents"),
        (with_document("X4"), "document number"),
        (return_for_completion("H"), "reason"),
        (return_for_completion("H"), "missing documents"),
        (close(PSB), "reason"),
        (pause, "reason"),
    ];
    for (i, (op, field)) in steps.iter().enumerate() {
        let (org, sub_id, mut action) = l.action(op, format!("L-{i}"));
        exceed(&mut action, field, &limits);
        let payload = Payload {
            signer: signer(org),
            id: id(&sub_id),
            claimed_at: l.now,
            action: action.clone(),
        };
        let Err((rule, detail)) = proto_types::precheck::limits(&limits, &payload) else {
            panic!("{op:?} with too long {field}: precheck passes it");
        };
        assert_eq!(rule, Rule::LimitExceeded);
        assert!(detail.contains(field), "{op:?}: {detail}");
        let applied = l.submit(org, &sub_id, action).expect("appended");
        let Record::Rejected(r) = &applied.entry.body.record else {
            panic!("{op:?} with too long {field} was accepted");
        };
        assert_eq!(
            (r.rule, r.detail.as_str()),
            (rule, detail.as_str()),
            "{op:?}"
        );
    }
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
    // The CC is no party to the case: as for an unknown case.
    check_rejected(&with_pt, adjust(CC, extend(PLC)), Rule::UnknownCase);
    let approved = |change| Op::Approved {
        by: PROC,
        clock: ClockRef::Handoff(id("PT")),
        change,
        approver: UP_PROC,
    };
    let paused = {
        let mut v = with_pt.clone();
        v.push(approved(ClockAction::Pause {
            reason: "精神病鉴定".into(),
        }));
        v
    };
    check_rejected(
        &paused,
        approved(ClockAction::Pause {
            reason: "again".into(),
        }),
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

#[test]
fn extensions_of_one_clock_are_bounded() {
    let extend = |days| Op::Approved {
        by: PROC,
        clock: ClockRef::Handoff(id("PT")),
        change: ClockAction::Extend {
            period: Period::Days(days),
            approved_by: id(UP_PROC),
        },
        approver: UP_PROC,
    };
    let mut setup = theft(&[send("PT", K::ProsecutionTransfer, PSB, PROC), receive("PT")]);
    check_rejected(&setup, extend(3_661), Rule::ClockAdjustmentRefused);
    check_rejected(&setup, extend(0), Rule::ClockAdjustmentRefused);
    setup.extend((0..16).map(|_| extend(1)));
    check_rejected(&setup, extend(1), Rule::ClockAdjustmentRefused);
}
