//! The clock engine on hand-computed cases (fixture calendar: 2026's holidays, National Day
//! Oct 1-7, Qingming Apr 4-6, Mid-Autumn Sep 25-27; Saturday Oct 10 worked), and the alerts it
//! raises for a given "now".

mod common;

use common::*;
use proto_types::clock::{
    alerts, due_time, rejection_alert, Alert, AlertKind, ClockState, Extension,
};
use proto_types::domain::{CaseType, HandoffKind as K, MeasureKind, Procedure};
use proto_types::payload::{ClockAction, ClockRef, RestartReason};
use proto_types::policy::Period;
use proto_types::time::{Date, Timestamp, DAY_MS};
use proto_types::{LedgerState, Rule};

const P1: &str = "P-0001";
const HOUR: u64 = 3_600_000;

/// The end of a local date: the instant a period whose last day it is runs out.
fn end_of(d: Date) -> Timestamp {
    d.end_instant(480)
}

fn clock(start: Timestamp, period: Period, custody: bool, extensions: &[Period]) -> ClockState {
    let mut c = ClockState::new(period, start, custody, 3, "test");
    for (i, p) in extensions.iter().enumerate() {
        c.extend(Extension {
            period: *p,
            approved_by: id(PROC),
            at: start,
            index: i as u64,
        });
    }
    c
}

/// The due time of a fresh clock is the end of `last_day`.
fn check(start: Timestamp, period: Period, custody: bool, extensions: &[Period], last_day: Date) {
    let c = clock(start, period, custody, extensions);
    assert_eq!(
        due_time(&c, &policy(), start),
        end_of(last_day),
        "{period:?} from {start} (custody {custody}, extensions {extensions:?})"
    );
}

#[test]
fn seven_days_ending_on_a_holiday_run_to_the_next_working_day_unless_in_custody() {
    // Fri Sep 25 + 7 = Fri Oct 2, National Day: moved to Thu Oct 8; in custody it stands.
    check(
        local(2026, 9, 25, 10, 0),
        Period::Days(7),
        false,
        &[],
        date(2026, 10, 8),
    );
    check(
        local(2026, 9, 25, 10, 0),
        Period::Days(7),
        true,
        &[],
        date(2026, 10, 2),
    );
}

#[test]
fn months_keep_the_day_number_clamped_to_the_month_and_skip_a_weekend_end() {
    // Jan 31 + 1 month = Feb 28, a Saturday: Monday Mar 2; in custody Feb 28 stands.
    check(
        local(2026, 1, 31, 15, 0),
        Period::Months(1),
        false,
        &[],
        date(2026, 3, 2),
    );
    check(
        local(2026, 1, 31, 15, 0),
        Period::Months(1),
        true,
        &[],
        date(2026, 2, 28),
    );
    // Tue Mar 10 + 1 month = Fri Apr 10, a working day.
    check(
        local(2026, 3, 10, 9, 0),
        Period::Months(1),
        false,
        &[],
        date(2026, 4, 10),
    );
}

#[test]
fn the_start_day_is_not_counted_and_days_are_local_dates() {
    // Expedited review: Mon Mar 2 + 10 = Thu Mar 12.
    check(
        local(2026, 3, 2, 0, 0),
        Period::Days(10),
        false,
        &[],
        date(2026, 3, 12),
    );
    check(
        local(2026, 3, 2, 23, 59),
        Period::Days(10),
        false,
        &[],
        date(2026, 3, 12),
    );
    // 23:59 and 00:00 local are on different days, although both are Sep 24 in UTC.
    assert_eq!(
        local(2026, 9, 24, 23, 59).local_date(0),
        local(2026, 9, 25, 0, 0).local_date(0)
    );
    check(
        local(2026, 9, 24, 23, 59),
        Period::Days(3),
        true,
        &[],
        date(2026, 9, 27),
    );
    check(
        local(2026, 9, 25, 0, 0),
        Period::Days(3),
        true,
        &[],
        date(2026, 9, 28),
    );
}

#[test]
fn working_days_count_only_working_days_after_the_start() {
    // From Fri Sep 25: Sep 28, 29, 30, Oct 8, 9, 10 (worked Saturday), 12, 13, 14, 15.
    check(
        local(2026, 9, 25, 10, 0),
        Period::WorkingDays(10),
        false,
        &[],
        date(2026, 10, 15),
    );
    check(
        local(2026, 9, 25, 10, 0),
        Period::WorkingDays(5),
        false,
        &[],
        date(2026, 10, 9),
    );
    // Custody does not turn working days into calendar days.
    check(
        local(2026, 9, 25, 10, 0),
        Period::WorkingDays(5),
        true,
        &[],
        date(2026, 10, 9),
    );
}

#[test]
fn extensions_add_their_period_to_the_last_day() {
    // Mar 10 + 1 month = Apr 10, + 15 days = Sat Apr 25: Mon Apr 27; in custody Apr 25.
    check(
        local(2026, 3, 10, 9, 0),
        Period::Months(1),
        false,
        &[Period::Days(15)],
        date(2026, 4, 27),
    );
    check(
        local(2026, 3, 10, 9, 0),
        Period::Months(1),
        true,
        &[Period::Days(15)],
        date(2026, 4, 25),
    );
    // Arrest: 2 months (Sun May 10, in custody it stands) + 1 (Jun 10) + 2 (Aug 10), Art. 156-158.
    check(
        local(2026, 3, 10, 9, 0),
        Period::Months(2),
        true,
        &[],
        date(2026, 5, 10),
    );
    check(
        local(2026, 3, 10, 9, 0),
        Period::Months(2),
        true,
        &[Period::Months(1), Period::Months(2)],
        date(2026, 8, 10),
    );
}

#[test]
fn pauses_add_the_paused_time_and_restarts_count_afresh() {
    let p = policy();
    let start = local(2026, 3, 2, 10, 0);
    let base = end_of(date(2026, 3, 9)); // Mon Mar 2 + 7 = Mon Mar 9
    let mut c = clock(start, Period::Days(7), false, &[]);
    assert_eq!(due_time(&c, &p, start), base);
    c.pause(local(2026, 3, 4, 10, 0));
    // While paused the due time moves on with "now".
    assert_eq!(
        due_time(&c, &p, local(2026, 3, 5, 10, 0)),
        base.plus_millis(DAY_MS)
    );
    c.resume(local(2026, 3, 6, 10, 0));
    assert_eq!(
        due_time(&c, &p, local(2026, 3, 20, 0, 0)),
        base.plus_millis(2 * DAY_MS)
    );
    // A full restart on Fri Mar 20 counts 7 days from then (Fri Mar 27), dropping the pause.
    c.extend(Extension {
        period: Period::Days(5),
        approved_by: id(PROC),
        at: start,
        index: 9,
    });
    c.restart(local(2026, 3, 20, 15, 0), Period::Days(7));
    assert_eq!(
        due_time(&c, &p, local(2026, 3, 20, 15, 0)),
        end_of(date(2026, 3, 27))
    );
    assert_eq!(c.restarts, 1);
    // A stopped clock's due time no longer moves.
    c.pause(local(2026, 3, 21, 0, 0));
    c.stop(local(2026, 3, 22, 0, 0));
    let stopped = due_time(&c, &p, local(2026, 12, 1, 0, 0));
    assert_eq!(stopped, end_of(date(2026, 3, 27)).plus_millis(DAY_MS));
    assert_eq!(c.was_late(&p), Some(false));
}

/// A theft case with a prosecution transfer sent at Mon Mar 2 11:00 and signed for two days
/// later (Wed Mar 4 11:00).
fn transfer_received(custody: bool, case_type: CaseType, procedure: Procedure) -> Ledger {
    let mut l = Ledger::new();
    l.ok(&file(case_type, procedure, &[P1]));
    let pt = send("PT", K::ProsecutionTransfer, PSB, PROC);
    l.ok(&if custody { pt.custody() } else { pt });
    l.ok_all(&[Op::Wait { hours: 47 }, receive("PT")]);
    l
}

fn pt_due(l: &Ledger) -> Timestamp {
    let c = l.handoff("PT").clock.expect("a review clock");
    due_time(&c, &policy(), l.now)
}

#[test]
fn a_review_clock_starts_at_receipt_and_follows_the_procedure() {
    let l = transfer_received(false, CaseType::Theft, Procedure::Ordinary);
    let c = l.handoff("PT").clock.expect("a review clock");
    assert_eq!(c.started_at, local(2026, 3, 4, 11, 0));
    assert_eq!(c.period, Period::Months(1));
    // Wed Mar 4 + 1 month = Sat Apr 4, Qingming (Apr 4-6): Tue Apr 7.
    assert_eq!(pt_due(&l), end_of(date(2026, 4, 7)));
    // In custody Apr 4 stands.
    assert_eq!(
        pt_due(&transfer_received(
            true,
            CaseType::Theft,
            Procedure::Ordinary
        )),
        end_of(date(2026, 4, 4))
    );
    // Expedited: Mar 4 + 10 = Sat Mar 14: Mon Mar 16.
    let expedited = transfer_received(false, CaseType::DangerousDriving, Procedure::Expedited);
    assert_eq!(pt_due(&expedited), end_of(date(2026, 3, 16)));
}

#[test]
fn a_clock_before_receipt_counts_from_sending() {
    let mut l = Ledger::new();
    l.ok_all(&[
        file(CaseType::Theft, Procedure::Ordinary, &[P1]),
        send("PT", K::ProsecutionTransfer, PSB, PROC),
    ]);
    let c = l.handoff("PT").clock.expect("a review clock");
    assert_eq!(c.started_at, local(2026, 3, 2, 11, 0));
    assert_eq!(due_time(&c, &policy(), l.now), end_of(date(2026, 4, 2)));
}

#[test]
fn clock_adjustments_recorded_on_the_ledger_move_the_due_time() {
    let mut l = transfer_received(false, CaseType::Theft, Procedure::Ordinary);
    // Countersigned by the procuratorate one level up (docs/DOMAIN.md "Clocks").
    let adjust = |change| Op::Approved {
        by: PROC,
        clock: ClockRef::Handoff(id("PT")),
        change,
        approver: UP_PROC,
    };
    l.ok(&adjust(ClockAction::Extend {
        period: Period::Days(15),
        approved_by: id(UP_PROC),
    }));
    // Apr 4 + 15 = Sun Apr 19: Mon Apr 20.
    assert_eq!(pt_due(&l), end_of(date(2026, 4, 20)));
    l.ok(&adjust(ClockAction::Pause {
        reason: "精神病鉴定".into(),
    }));
    l.ok_all(&[
        Op::Wait { hours: 47 },
        adjust(ClockAction::Restart {
            reason: RestartReason::Resume,
        }),
    ]);
    assert_eq!(pt_due(&l), end_of(date(2026, 4, 20)).plus_millis(48 * HOUR));
    // A change of jurisdiction restarts the count in full from the restart (Mar 6 14:00).
    l.ok(&adjust(ClockAction::Restart {
        reason: RestartReason::JurisdictionChange,
    }));
    let c = l.handoff("PT").clock.expect("a review clock");
    assert_eq!(
        (c.started_at, c.restarts, c.extensions.len()),
        (local(2026, 3, 6, 14, 0), 1, 0)
    );
    assert_eq!(pt_due(&l), end_of(date(2026, 4, 7)));
}

#[test]
fn a_response_after_the_due_time_is_recorded_as_late() {
    let mut l = transfer_received(false, CaseType::DangerousDriving, Procedure::Expedited);
    l.ok_all(&[
        accept("PT"),
        wait_days(13),
        send("PP", K::PublicProsecution, PROC, COURT),
    ]);
    let pt = l.handoff("PT");
    assert_eq!(
        pt.late,
        Some(true),
        "answered on Mar 17, due by the end of Mar 16"
    );
    assert!(pt.clock.is_some_and(|c| !c.is_running()));
    let mut l = transfer_received(false, CaseType::DangerousDriving, Procedure::Expedited);
    l.ok_all(&[
        accept("PT"),
        wait_days(11),
        send("PP", K::PublicProsecution, PROC, COURT),
    ]);
    assert_eq!(l.handoff("PT").late, Some(false));
}

#[test]
fn a_custodial_measure_clock_keeps_a_holiday_last_day() {
    let mut l = Ledger::starting_at(local(2026, 9, 24, 8, 0));
    l.ok_all(&[
        file(CaseType::Theft, Procedure::Ordinary, &[P1]),
        measure(PSB, P1, MeasureKind::Detention),
    ]);
    let case = l.case();
    let detention = case
        .person(&person(P1))
        .and_then(|p| p.active_measure(MeasureKind::Detention))
        .expect("detained");
    let c = detention.clock.clone().expect("detention has a clock");
    assert!(c.custody);
    // Thu Sep 24 + 3 = Sun Sep 27 (Mid-Autumn): in custody it stands.
    assert_eq!(due_time(&c, &policy(), l.now), end_of(date(2026, 9, 27)));
    l.ok(&measure(PSB, P1, MeasureKind::Bail));
    let bail = l
        .case()
        .person(&person(P1))
        .and_then(|p| p.active_measure(MeasureKind::Bail))
        .cloned()
        .expect("bailed");
    let c = bail.clock.expect("bail has a clock");
    assert!(!c.custody);
    // Sep 24 + 12 months = Fri Sep 24, 2027: a working day in this calendar.
    assert_eq!(due_time(&c, &policy(), l.now), end_of(date(2027, 9, 24)));
}

fn alerts_at(l: &Ledger, now: Timestamp) -> Vec<Alert> {
    alerts(&l.case(), &l.handoffs(), &policy(), now)
}

fn kinds(alerts: &[Alert]) -> Vec<String> {
    alerts
        .iter()
        .map(|a| match &a.kind {
            AlertKind::DueSoon { clock, .. } => format!("due soon {clock:?}"),
            AlertKind::Overdue { clock, .. } => format!("overdue {clock:?}"),
            AlertKind::IllegalAttempt { rule, .. } => format!("illegal {rule:?}"),
            AlertKind::MissingCustodyTransfer { handoff, .. } => format!("custody {handoff}"),
        })
        .collect()
}

#[test]
fn alerts_raise_due_soon_then_overdue_for_an_open_review() {
    let l = transfer_received(false, CaseType::Theft, Procedure::Ordinary);
    let pt = format!("{:?}", ClockRef::Handoff(id("PT")));
    // Due by the end of Tue Apr 7; warn 3 days before.
    assert_eq!(
        kinds(&alerts_at(&l, local(2026, 3, 30, 12, 0))),
        Vec::<String>::new()
    );
    let soon = alerts_at(&l, local(2026, 4, 6, 12, 0));
    assert_eq!(kinds(&soon), [format!("due soon {pt}")]);
    assert_eq!(soon[0].responsible, Some(id(PROC)));
    assert_eq!(soon[0].case_id, Some(id(CASE)));
    let late = alerts_at(&l, local(2026, 4, 10, 0, 0));
    assert_eq!(kinds(&late), [format!("overdue {pt}")]);
    let AlertKind::Overdue {
        due_at,
        overdue_by_ms,
        ..
    } = &late[0].kind
    else {
        panic!("overdue")
    };
    assert_eq!(*due_at, end_of(date(2026, 4, 7)));
    assert_eq!(*overdue_by_ms, 2 * DAY_MS);
}

#[test]
fn answered_or_paused_clocks_raise_no_alert() {
    let mut l = transfer_received(false, CaseType::Theft, Procedure::Ordinary);
    l.ok(&Op::Approved {
        by: PROC,
        clock: ClockRef::Handoff(id("PT")),
        change: ClockAction::Pause {
            reason: "鉴定".into(),
        },
        approver: UP_PROC,
    });
    assert!(alerts_at(&l, local(2026, 6, 1, 0, 0)).is_empty());
    let mut l = transfer_received(false, CaseType::Theft, Procedure::Ordinary);
    l.ok_all(&[accept("PT"), send("PP", K::PublicProsecution, PROC, COURT)]);
    let late = kinds(&alerts_at(&l, local(2026, 6, 1, 0, 0)));
    assert_eq!(
        late,
        [format!("overdue {:?}", ClockRef::Handoff(id("PP")))],
        "only the court's trial clock runs"
    );
}

#[test]
fn measure_clocks_alert_the_holder_until_the_step_that_ends_them() {
    let mut l = Ledger::new();
    l.ok_all(&[
        file(CaseType::Theft, Procedure::Ordinary, &[P1]),
        measure(PSB, P1, MeasureKind::Detention),
    ]);
    let detention = format!(
        "{:?}",
        ClockRef::Measure {
            person: person(P1),
            measure: MeasureKind::Detention
        }
    );
    // Detained Mon Mar 2 11:00: 3 days, due by the end of Thu Mar 5; warned one day before.
    assert_eq!(
        kinds(&alerts_at(&l, local(2026, 3, 5, 1, 0))),
        [format!("due soon {detention}")]
    );
    let overdue = alerts_at(&l, local(2026, 3, 6, 1, 0));
    assert_eq!(kinds(&overdue), [format!("overdue {detention}")]);
    assert_eq!(overdue[0].responsible, Some(id(PSB)));
    l.ok(&send("AR", K::ArrestApprovalRequest, PSB, PROC));
    assert!(kinds(&alerts_at(&l, local(2026, 3, 6, 1, 0)))
        .iter()
        .all(|k| !k.contains("Detention")));
}

#[test]
fn a_detained_person_moved_without_a_custody_transfer_raises_an_alert_after_three_days() {
    let mut l = Ledger::new();
    l.ok_all(&[
        file(CaseType::Theft, Procedure::Ordinary, &[P1]),
        measure(PSB, P1, MeasureKind::Detention),
        // Flagged custody: it cannot be accepted without the transfer.
        send("PT", K::ProsecutionTransfer, PSB, PROC).custody(),
    ]);
    assert!(l.handoff("PT").custody_transfer_due);
    let missing = |l: &Ledger, now| {
        kinds(&alerts_at(l, now))
            .into_iter()
            .filter(|k| k.starts_with("custody"))
            .collect::<Vec<_>>()
    };
    // Sent Mon Mar 2: the transfer is due by the end of Thu Mar 5.
    assert!(missing(&l, local(2026, 3, 5, 23, 0)).is_empty());
    assert_eq!(missing(&l, local(2026, 3, 6, 0, 0)), ["custody PT"]);
    l.ok(&custody_transfer("CT", PSB, "PT"));
    assert!(missing(&l, local(2026, 3, 9, 0, 0)).is_empty());

    // Not flagged, but the person concerned is detained and the case changes hands.
    let mut l = Ledger::new();
    l.ok_all(&[
        file(CaseType::Theft, Procedure::Ordinary, &[P1]),
        measure(PSB, P1, MeasureKind::Detention),
        send("PT", K::ProsecutionTransfer, PSB, PROC),
        receive("PT"),
        accept("PT"),
    ]);
    assert_eq!(missing(&l, local(2026, 3, 6, 0, 0)), ["custody PT"]);
    let a = alerts_at(&l, local(2026, 3, 6, 0, 0));
    let alert = a
        .iter()
        .find(|a| matches!(a.kind, AlertKind::MissingCustodyTransfer { .. }))
        .expect("alert");
    assert_eq!(alert.responsible, Some(id(PSB)));

    // An arrest request leaves custody with the PSB: no transfer is owed.
    let mut l = Ledger::new();
    l.ok_all(&[
        file(CaseType::Theft, Procedure::Ordinary, &[P1]),
        measure(PSB, P1, MeasureKind::Detention),
        send("AR", K::ArrestApprovalRequest, PSB, PROC),
    ]);
    assert!(!l.handoff("AR").custody_transfer_due);
}

#[test]
fn illegal_attempts_become_alerts_and_other_rejections_do_not() {
    let mut l = Ledger::new();
    l.ok(&file(
        CaseType::DangerousDriving,
        Procedure::Expedited,
        &[P1],
    ));
    let a = l
        .run(&send("X", K::ArrestApprovalRequest, PSB, PROC))
        .expect("a step");
    let alert = rejection_alert(&a.entry.body, None).expect("an illegal attempt");
    assert_eq!(alert.case_id, Some(id(CASE)));
    assert_eq!(alert.responsible, Some(id(PSB)));
    assert!(
        matches!(alert.kind, AlertKind::IllegalAttempt { rule: Rule::ArrestNotAllowed, index, .. } if index == a.entry.body.index)
    );
    let b = l
        .run(&send("Y", K::LegalAidNotice, PSB, LA).note("x".repeat(5000)))
        .expect("a step");
    assert_eq!(b.rejected_rule(), Some(Rule::LimitExceeded));
    assert_eq!(rejection_alert(&b.entry.body, None), None);
    let c = l
        .run(&send("Z", K::LegalAidNotice, PSB, LA))
        .expect("a step");
    assert_eq!(
        rejection_alert(&c.entry.body, None),
        None,
        "an accepted entry is no attempt"
    );
    // A receipt names no case: the caller supplies it.
    let d = l.run(&accept("Z")).expect("a step");
    assert_eq!(d.rejected_rule(), Some(Rule::ReceiptRequired));
    // A step by a party on the case's wrong stage (the PSB, which sent the case on for
    // prosecution, sends it again): a non-party's step would be refused as on an unknown case.
    l.ok(&send("W", K::ProsecutionTransfer, PSB, PROC));
    let e = l
        .run(&send("V", K::ProsecutionTransfer, PSB, PROC))
        .expect("a step");
    let alert = rejection_alert(&e.entry.body, Some(&id(CASE))).expect("an illegal attempt");
    assert!(
        matches!(
            alert.kind,
            AlertKind::IllegalAttempt {
                rule: Rule::CaseInTransit,
                ..
            }
        ),
        "{:?}",
        alert.kind
    );
    assert_eq!(
        l.state.head().size,
        8,
        "genesis, filing and six steps, rejected or not"
    );
}

#[test]
fn a_closed_case_raises_no_alerts() {
    let mut l = Ledger::new();
    l.ok_all(&[
        file(CaseType::Theft, Procedure::Ordinary, &[P1]),
        send("LA", K::LegalAidNotice, PSB, LA),
        send("W", K::CaseWithdrawalNotice, PSB, PROC),
        receive("W"),
        accept("W"),
    ]);
    assert!(alerts_at(&l, local(2027, 1, 1, 0, 0)).is_empty());
}
