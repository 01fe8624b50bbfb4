//! Deadlines moved only with the approver's signature (issue 15, item 2): an extension, pause
//! or full restart carries the countersignature of an organisation the law allows for that
//! clock — above, through `parent`, the organ concerned (Art. 156-159: the procuratorate one
//! level up) —, never the organisation that answers for the clock, within the statutory
//! maximum, and bound to its own adjustment. The old unsigned `Extend` is refused.

use super::*;
use proto_types::payload::{Approval, ClockApprovalTerms, KeyRef};

/// A theft sent for prosecution and signed for: the review clock (Art. 172) runs on PROC.
fn in_review_clock() -> Vec<Op> {
    theft(&[send("PT", K::ProsecutionTransfer, PSB, PROC), receive("PT")])
}

/// A picking-quarrels case whose suspect the PSB arrested on the procuratorate's approval.
fn arrested() -> Vec<Op> {
    let mut v = vec![file(CaseType::PickingQuarrels, Procedure::Ordinary, &[P1])];
    v.extend(delivered("AR", K::ArrestApprovalRequest, PSB, PROC));
    v.extend(delivered("AD", K::ArrestApprovalDecision, PROC, PSB));
    v.push(measure(PSB, P1, MeasureKind::Arrest));
    v
}

fn review() -> ClockRef {
    ClockRef::Handoff(id("PT"))
}

fn arrest() -> ClockRef {
    ClockRef::Measure {
        person: person(P1),
        measure: MeasureKind::Arrest,
    }
}

fn extend(period: Period, approved_by: &str) -> ClockAction {
    ClockAction::Extend {
        period,
        approved_by: id(approved_by),
    }
}

fn pause() -> ClockAction {
    ClockAction::Pause {
        reason: "精神病鉴定".into(),
    }
}

/// `change` on `clock`, signed by `by` and countersigned by `approver`.
fn approved(by: &'static str, clock: ClockRef, change: ClockAction, approver: &'static str) -> Op {
    Op::Approved {
        by,
        clock,
        change,
        approver,
    }
}

/// An unsigned adjustment, as before: nobody but `by` signs it.
fn unsigned(by: &'static str, clock: ClockRef, action: ClockAction) -> Op {
    Op::Adjust { by, clock, action }
}

/// An approval that UP_PROC signed for another adjustment (id `OTHER`), replayed here.
fn replayed_approval() -> Op {
    let change = extend(Period::Days(15), UP_PROC);
    let terms = ClockApprovalTerms {
        adjustment: id("OTHER"),
        case_id: id(CASE),
        clock: review(),
        change: change.clone(),
    };
    let approval = Approval::sign_clock(
        KeyRef {
            org: id(UP_PROC),
            key_id: id("k1"),
        },
        &key(seed_of(UP_PROC)),
        &terms,
    );
    unsigned(
        PROC,
        review(),
        ClockAction::Approved {
            change: Box::new(change),
            approval,
        },
    )
}

#[test]
fn rejects_clock_changes_without_a_lawful_approvers_signature() {
    let table: Vec<(&str, Vec<Op>, Op, Rule)> = vec![
        (
            // The finding: the receiver extends its own deadline naming the PLC, which signs
            // nothing.
            "an unsigned extension naming the PLC",
            in_review_clock(),
            unsigned(PROC, review(), extend(Period::Days(15), PLC)),
            Rule::ClockApprovalRefused,
        ),
        (
            "an unsigned extension naming the approver the law names",
            in_review_clock(),
            unsigned(PROC, review(), extend(Period::Days(15), UP_PROC)),
            Rule::ClockApprovalRefused,
        ),
        (
            "the organisation answering for the clock approves its own extension",
            in_review_clock(),
            approved(PROC, review(), extend(Period::Days(15), PROC), PROC),
            Rule::ClockApprovalRefused,
        ),
        (
            "the PLC, which supervises and decides nothing, approves",
            in_review_clock(),
            approved(PROC, review(), extend(Period::Days(15), PLC), PLC),
            Rule::ClockApprovalRefused,
        ),
        (
            // The finding: a legal-aid centre approved 3,660 days.
            "a legal-aid centre approves",
            in_review_clock(),
            approved(PROC, review(), extend(Period::Days(3_660), LA), LA),
            Rule::ClockApprovalRefused,
        ),
        (
            "a court, not above any procuratorate, approves a review extension",
            in_review_clock(),
            approved(PROC, review(), extend(Period::Days(15), UPPER), UPPER),
            Rule::ClockApprovalRefused,
        ),
        (
            "the lawful approver, beyond the statutory 15 days (Art. 172)",
            in_review_clock(),
            approved(
                PROC,
                review(),
                extend(Period::Days(3_660), UP_PROC),
                UP_PROC,
            ),
            Rule::ClockApprovalRefused,
        ),
        (
            "the lawful approver signs, the extension names another",
            in_review_clock(),
            approved(PROC, review(), extend(Period::Days(15), PLC), UP_PROC),
            Rule::ClockApprovalRefused,
        ),
        (
            "an approval signed for another adjustment",
            in_review_clock(),
            replayed_approval(),
            Rule::ClockApprovalRefused,
        ),
        (
            "an unsigned pause",
            in_review_clock(),
            unsigned(PROC, review(), pause()),
            Rule::ClockApprovalRefused,
        ),
        (
            "a legal-aid centre signs the adjustment itself",
            in_review_clock(),
            approved(LA, review(), extend(Period::Days(15), UP_PROC), UP_PROC),
            // No party: refused as on a case that is not on the ledger (nothing leaks).
            Rule::UnknownCase,
        ),
        (
            "an unsigned extension of custody after arrest naming the procuratorate",
            arrested(),
            unsigned(PSB, arrest(), extend(Period::Months(1), PROC)),
            Rule::ClockApprovalRefused,
        ),
        (
            "the procuratorate that approved the arrest extends its custody itself",
            arrested(),
            approved(PSB, arrest(), extend(Period::Months(1), PROC), PROC),
            Rule::ClockApprovalRefused,
        ),
        (
            "custody extended beyond the two months of Art. 158-159",
            arrested(),
            approved(PSB, arrest(), extend(Period::Months(3), UP_PROC), UP_PROC),
            Rule::ClockApprovalRefused,
        ),
        (
            "bail extended (Art. 79 allows no extension)",
            theft(&[measure(PSB, P1, MeasureKind::Bail)]),
            approved(
                PSB,
                ClockRef::Measure {
                    person: person(P1),
                    measure: MeasureKind::Bail,
                },
                extend(Period::Months(1), UP_PROC),
                UP_PROC,
            ),
            Rule::ClockApprovalRefused,
        ),
        (
            "a nested approval",
            in_review_clock(),
            unsigned(
                PROC,
                review(),
                ClockAction::Approved {
                    change: Box::new(ClockAction::Approved {
                        change: Box::new(pause()),
                        approval: Approval::sign(
                            KeyRef {
                                org: id(UP_PROC),
                                key_id: id("k1"),
                            },
                            &key(seed_of(UP_PROC)),
                            &0u8,
                        ),
                    }),
                    approval: Approval::sign(
                        KeyRef {
                            org: id(UP_PROC),
                            key_id: id("k1"),
                        },
                        &key(seed_of(UP_PROC)),
                        &0u8,
                    ),
                },
            ),
            Rule::InvalidPayload,
        ),
    ];
    for (what, setup, op, rule) in table {
        eprintln!("{what}");
        check_rejected(&setup, op, rule);
    }
}

#[test]
fn the_procuratorate_one_level_up_extends_custody_and_review_with_its_own_signature() {
    let mut l = Ledger::new();
    l.ok_all(&arrested());
    l.ok(&approved(
        PSB,
        arrest(),
        extend(Period::Months(1), UP_PROC),
        UP_PROC,
    ));
    let case = l.case();
    let m = case
        .person(&person(P1))
        .expect("P1")
        .active_measure(MeasureKind::Arrest)
        .expect("arrested");
    let clock = m.clock.as_ref().expect("a custody clock");
    assert_eq!(clock.extensions.len(), 1);
    assert_eq!(clock.extensions[0].approved_by, id(UP_PROC));
    assert!(
        !case.participants.contains(&id(UP_PROC)),
        "approving grants no participation"
    );

    let mut l = Ledger::new();
    l.ok_all(&in_review_clock());
    l.ok(&approved(
        PROC,
        review(),
        extend(Period::Days(15), UP_PROC),
        UP_PROC,
    ));
    l.ok(&approved(PROC, review(), pause(), UP_PROC));
    // Resuming only ends the pause: the party signs it alone.
    l.ok(&unsigned(
        PROC,
        review(),
        ClockAction::Restart {
            reason: RestartReason::Resume,
        },
    ));
    let pt = l
        .handoffs()
        .into_iter()
        .find(|h| h.id == id("PT"))
        .expect("PT");
    let clock = pt.clock.expect("a review clock");
    assert_eq!(clock.extensions[0].approved_by, id(UP_PROC));
    assert!(!clock.is_paused());
}
