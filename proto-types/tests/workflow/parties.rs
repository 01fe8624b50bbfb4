//! Every workflow step by a party to the case (issue 15, item 1): a department of the right
//! kind but with no role in this case — not its holder, not the handoff's receiver, not the
//! person's custodian, not a participant made so by a lawful step — is refused with the rule
//! that names the role it lacks, and a refused step makes nobody a participant.

use super::*;

/// A theft in investigation with P1 detained by the PSB.
fn detained() -> Vec<Op> {
    theft(&[measure(PSB, P1, MeasureKind::Detention)])
}

/// The detained theft sent for arrest review and accepted: the procuratorate holds the case,
/// the PSB keeps the person.
fn in_arrest_review() -> Vec<Op> {
    let mut v = detained();
    v.extend(delivered("AR", K::ArrestApprovalRequest, PSB, PROC));
    v
}

/// A theft on bail, judged and delivered for community correction: the bureau holds it.
fn in_community_execution() -> Vec<Op> {
    let mut v = theft(&[measure(PSB, P1, MeasureKind::Bail)]);
    v.extend(delivered("PT", K::ProsecutionTransfer, PSB, PROC));
    v.extend(delivered("PP", K::PublicProsecution, PROC, COURT));
    v.extend(delivered("JS", K::JudgmentService, COURT, PROC));
    v.push(wait_days(11));
    v.extend(delivered("ED", K::ExecutionDeliveryCommunity, COURT, CC));
    v
}

fn pause_measure(by: &'static str, measure: MeasureKind) -> Op {
    Op::Adjust {
        by,
        clock: ClockRef::Measure {
            person: person(P1),
            measure,
        },
        action: ClockAction::Pause {
            reason: "精神病鉴定".into(),
        },
    }
}

fn extend_handoff(by: &'static str, handoff: &'static str, approved_by: &str) -> Op {
    Op::Adjust {
        by,
        clock: ClockRef::Handoff(id(handoff)),
        action: ClockAction::Extend {
            period: Period::Days(3_660),
            approved_by: id(approved_by),
        },
    }
}

/// `check_rejected` (which compares every record), and, spelled out for the finding: the
/// refused step leaves the case's participants as they were, the signer a participant only
/// if a lawful step made it one.
fn check(setup: &[Op], op: Op, signer: &str, rule: Rule) {
    check_rejected(setup, op.clone(), rule);
    let mut l = Ledger::new();
    l.ok_all(setup);
    let before = l.case().participants;
    let _ = l.run(&op);
    assert_eq!(l.case().participants, before, "{signer}'s refused step");
}

#[test]
fn rejects_workflow_steps_by_departments_with_no_part_in_the_case() {
    let table: Vec<(&str, Vec<Op>, Op, &str, Rule)> = vec![
        (
            // The finding: a court with no part in the case records bail on its person.
            "a court records bail in a case the PSB investigates",
            filed(CaseType::Theft),
            measure(COURT, P1, MeasureKind::Bail),
            COURT,
            // No party: refused as on a case that is not on the ledger (nothing leaks).
            Rule::UnknownCase,
        ),
        (
            "an upper court releases a person the PSB detained",
            detained(),
            measure(UPPER, P1, MeasureKind::Release),
            UPPER,
            // No party: refused as on a case that is not on the ledger (nothing leaks).
            Rule::UnknownCase,
        ),
        (
            "a procuratorate arrests before the case reaches it",
            detained(),
            measure(PROC, P1, MeasureKind::Arrest),
            PROC,
            Rule::UnknownCase,
        ),
        (
            "a procuratorate pauses the detention clock of a case it never received",
            detained(),
            pause_measure(PROC, MeasureKind::Detention),
            PROC,
            Rule::UnknownCase,
        ),
        (
            "a court with no part in the case notifies legal aid",
            filed(CaseType::Theft),
            send("X", K::LegalAidNotice, COURT, LA),
            COURT,
            Rule::UnknownCase,
        ),
        (
            "a procuratorate with no part in the case orders a pre-sentence assessment",
            filed(CaseType::Theft),
            send("X", K::PreSentenceAssessment, PROC, CC),
            PROC,
            Rule::UnknownCase,
        ),
        (
            "a court with no part in the case sends a custody transfer",
            in_arrest_review(),
            custody_transfer("X", COURT, "AR"),
            COURT,
            Rule::UnknownCase,
        ),
        (
            // The finding's shape: a case past the judgment, held by an executing organ; the
            // court that judged it has no say over the person until asked to revoke.
            "a court records an arrest on a person the bureau supervises",
            in_community_execution(),
            measure(COURT, P1, MeasureKind::Arrest),
            COURT,
            Rule::NotCaseHolder,
        ),
    ];
    // A department no party to the case is refused as on a case that is not on the ledger
    // (`UnknownCase`), so that the refusal tells it nothing of the case (issue 15).
    for (what, setup, op, signer, rule) in table {
        eprintln!("{what}");
        check(&setup, op, signer, rule);
    }
}

#[test]
fn the_approver_named_in_an_extension_does_not_sign_it() {
    // The finding: a legal-aid centre with no part in the case extended the review clock by
    // 3,660 days, naming itself as the approver.
    let with_pt = theft(&[send("PT", K::ProsecutionTransfer, PSB, PROC), receive("PT")]);
    check(
        &with_pt,
        extend_handoff(LA, "PT", LA),
        LA,
        // No party: refused as on a case that is not on the ledger (nothing leaks).
        Rule::UnknownCase,
    );
}

#[test]
fn measures_come_from_the_holder_or_the_custodian_and_make_nobody_a_participant() {
    let mut l = Ledger::new();
    l.ok_all(&in_arrest_review());
    let before = l.case().participants;
    // The PSB keeps its detainee while the procuratorate reviews: it may release them.
    l.ok(&measure(PSB, P1, MeasureKind::Release));
    // The procuratorate holds the case in review: it may decide bail.
    l.ok(&measure(PROC, P1, MeasureKind::Bail));
    assert_eq!(
        l.case().participants,
        before,
        "measures grant no participation"
    );
    // Released and bailed, the person is no longer the PSB's detainee; the PSB does not
    // hold the case in review, so it records nothing more until the case comes back.
    check_rejected(
        &{
            let mut v = in_arrest_review();
            v.push(measure(PSB, P1, MeasureKind::Release));
            v.push(measure(PROC, P1, MeasureKind::Bail));
            v
        },
        measure(PSB, P1, MeasureKind::ResidentialSurveillance),
        Rule::NotCaseHolder,
    );
}

#[test]
fn a_refusal_tells_a_non_party_nothing_it_would_not_learn_of_an_unknown_case() {
    // Issue 15: a refused step's entry is readable by its signer; for a case the signer is no
    // party to it said who held the case and at which stage. Now each such step is recorded
    // exactly as the same step on a ledger where the case was never filed: same rule, same
    // detail. A party still learns the rule it broke.
    let with_pt = theft(&[send("PT", K::ProsecutionTransfer, PSB, PROC), receive("PT")]);
    let table: Vec<(Vec<Op>, Op)> = vec![
        (
            filed(CaseType::Theft),
            measure(COURT, P1, MeasureKind::Bail),
        ),
        (detained(), measure(UPPER, P1, MeasureKind::Release)),
        (detained(), measure(PROC, P1, MeasureKind::Arrest)),
        (
            filed(CaseType::Theft),
            send("X", K::LegalAidNotice, COURT, LA),
        ),
        (
            filed(CaseType::Theft),
            send("X", K::ProsecutionTransfer, PSB, PROC).signed_by(DH),
        ),
        (in_arrest_review(), custody_transfer("X", COURT, "AR")),
        (
            in_community_execution(),
            send("X", K::TrialNotice, UPPER, PROC),
        ),
        (with_pt.clone(), extend_handoff(LA, "PT", LA)),
        (with_pt.clone(), accept("PT").by(COURT)),
        (with_pt, receive("PT").by(CC)),
        (in_community_execution(), close(UPPER)),
    ];
    for (setup, op) in table {
        let mut l = Ledger::new();
        l.ok_all(&setup);
        let on_case = l.run(&op).expect("a step");
        let mut empty = Ledger::new();
        let on_nothing = empty.run(&op).expect("a step");
        let (Record::Rejected(a), Record::Rejected(b)) =
            (&on_case.entry.body.record, &on_nothing.entry.body.record)
        else {
            panic!("{op:?}: both refused");
        };
        assert_eq!(
            (a.rule, &a.detail),
            (b.rule, &b.detail),
            "{op:?}: refused as on an unknown case"
        );
    }
    // A party learns the rule it broke: the PSB, which sent the case on, tries to close it.
    check_rejected(&in_community_execution(), close(PSB), Rule::NotCaseHolder);
}
