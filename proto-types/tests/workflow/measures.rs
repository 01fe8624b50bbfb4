//! Coercive measures against the law (docs/DOMAIN.md "Coercive measures and their clocks"): no
//! measure outlives the judgment taking effect or the delivery for execution, and each measure
//! clock names the organ that decided or executes it, not whoever holds the case later.

use super::*;
use proto_types::clock::{alerts, Alert, AlertKind};
use proto_types::time::Timestamp;

/// The measure alerts of the case at `now`: (clock, overdue?, responsible).
fn measure_alerts(l: &Ledger, now: Timestamp) -> Vec<(MeasureKind, bool, String)> {
    alerts(&l.case(), &l.handoffs(), &policy(), now)
        .into_iter()
        .filter_map(|a: Alert| {
            let (clock, overdue) = match a.kind {
                AlertKind::Overdue { clock, .. } => (clock, true),
                AlertKind::DueSoon { clock, .. } => (clock, false),
                _ => return None,
            };
            match clock {
                ClockRef::Measure { measure, .. } => Some((
                    measure,
                    overdue,
                    a.responsible.map(|o| o.to_string()).unwrap_or_default(),
                )),
                ClockRef::Handoff(_) => None,
            }
        })
        .collect()
}

/// The measures of person P1: (kind, in force, has a clock).
fn measures_of_p1(l: &Ledger) -> Vec<(MeasureKind, bool, bool)> {
    l.case()
        .person(&person(P1))
        .expect("P1")
        .measures
        .iter()
        .map(|m| (m.measure, m.active, m.clock.is_some()))
        .collect()
}

/// A theft on bail, prosecuted and judged at first instance; the appeal window running.
fn on_bail_in_appeal_window() -> Ledger {
    let mut l = Ledger::new();
    l.ok_all(&theft(&[measure(PSB, P1, MeasureKind::Bail)]));
    l.ok_all(&delivered("PT", K::ProsecutionTransfer, PSB, PROC));
    l.ok_all(&delivered("PP", K::PublicProsecution, PROC, COURT));
    l.ok_all(&delivered("JS", K::JudgmentService, COURT, PROC));
    l
}

#[test]
fn bail_ends_when_the_case_is_delivered_for_community_correction_and_never_goes_overdue() {
    // The demo's JQ-1-000007: bailed in March, delivered for community correction, and its
    // bail (Art. 79, 12 months) went overdue the next January with the bureau named.
    let mut l = on_bail_in_appeal_window();
    l.ok(&wait_days(11));
    assert_eq!(measures_of_p1(&l), [(MeasureKind::Bail, true, true)]);
    l.ok(&send("ED", K::ExecutionDeliveryCommunity, COURT, CC));
    let case = l.case();
    let bail = &case.person(&person(P1)).expect("P1").measures[0];
    assert!(!bail.active, "the delivery for execution ends the bail");
    assert!(bail.ended_at.is_some());
    assert!(!bail.clock.as_ref().expect("a clock").is_running());
    l.ok_all(&[receive("ED"), accept("ED")]);
    assert_eq!(where_is(&l.case()), (ExecutionCommunity, CC.to_owned()));
    for now in [local(2027, 1, 15, 0, 0), local(2027, 3, 15, 0, 0)] {
        assert_eq!(
            measure_alerts(&l, now),
            [],
            "no bail clock after the delivery"
        );
    }
}

#[test]
fn a_bail_clock_names_the_public_security_organ_while_the_court_holds_the_case() {
    let mut l = on_bail_in_appeal_window();
    assert_eq!(where_is(&l.case()), (AppealWindow, COURT.to_owned()));
    // Bailed Mon Mar 2 2026 at 10:00: 12 months, due by the end of Tue Mar 2 2027.
    let soon = measure_alerts(&l, local(2027, 2, 20, 0, 0));
    assert_eq!(soon, [(MeasureKind::Bail, false, PSB.to_owned())]);
    let late = measure_alerts(&l, local(2027, 3, 5, 0, 0));
    assert_eq!(late, [(MeasureKind::Bail, true, PSB.to_owned())]);
    // Residential surveillance decided by the procuratorate is executed by the PSB too.
    l = Ledger::new();
    l.ok_all(&in_review());
    l.ok(&measure(PROC, P1, MeasureKind::ResidentialSurveillance));
    assert_eq!(where_is(&l.case()), (ProsecutionReview, PROC.to_owned()));
    let late = measure_alerts(&l, local(2026, 9, 10, 0, 0));
    assert_eq!(
        late,
        [(MeasureKind::ResidentialSurveillance, true, PSB.to_owned())]
    );
}

#[test]
fn a_second_instance_judgment_ends_bail_when_served_and_custody_at_the_delivery() {
    // Two persons: P1 arrested, P2 on bail; appealed, the intermediate court's judgment is
    // effective when served.
    let mut l = Ledger::new();
    l.ok_all(&[
        file(CaseType::Fraud, Procedure::Ordinary, &[P1, P2]),
        measure(PSB, P1, MeasureKind::Detention),
        measure(PSB, P2, MeasureKind::Bail),
    ]);
    l.ok_all(&delivered("AR", K::ArrestApprovalRequest, PSB, PROC));
    l.ok_all(&delivered("AD", K::ArrestApprovalDecision, PROC, PSB));
    l.ok(&measure(PSB, P1, MeasureKind::Arrest));
    l.ok_all(&delivered("PT", K::ProsecutionTransfer, PSB, PROC));
    l.ok_all(&delivered("PP", K::PublicProsecution, PROC, COURT));
    l.ok_all(&delivered("JS", K::JudgmentService, COURT, PROC));
    l.ok_all(&delivered("AP", K::Appeal, COURT, UPPER));
    l.ok_all(&delivered("JS2", K::JudgmentService, UPPER, PROC));
    let case = l.case();
    assert_eq!(case.stage, Effective);
    let in_force = |case: &CaseRecord, p: &str| -> Vec<MeasureKind> {
        case.person(&person(p))
            .expect("person")
            .measures
            .iter()
            .filter(|m| m.active)
            .map(|m| m.measure)
            .collect()
    };
    assert_eq!(
        in_force(&case, P2),
        [],
        "the effective judgment ends the bail"
    );
    assert_eq!(
        in_force(&case, P1),
        [MeasureKind::Arrest],
        "the convict stays in custody until delivered"
    );
    assert_eq!(measure_alerts(&l, local(2027, 6, 1, 0, 0)), []);
    l.ok(&send("ED", K::ExecutionDeliveryCustodial, UPPER, PRISON)
        .custody()
        .documents(&EXECUTION_DOCUMENTS));
    assert_eq!(in_force(&l.case(), P1), [], "delivered for execution");
    // Nothing is left to release.
    l.ok(&custody_transfer("CT", UPPER, "ED"));
    let release = l
        .run(&measure(UPPER, P1, MeasureKind::Release))
        .expect("a step");
    assert_eq!(release.rejected_rule(), Some(Rule::InvalidPayload));
}

#[test]
fn custody_decided_after_the_investigation_starts_no_investigation_clock() {
    // Art. 91 and 156 bound custody during the investigation; a court's arrest at trial is
    // bounded by the trial period (Art. 208), the court's handoff clock.
    let mut l = Ledger::new();
    l.ok_all(&in_first_instance());
    l.ok(&measure(COURT, P1, MeasureKind::Arrest));
    assert_eq!(measures_of_p1(&l), [(MeasureKind::Arrest, true, false)]);
    assert_eq!(measure_alerts(&l, local(2026, 9, 1, 0, 0)), []);
    // During the investigation the same measure runs its two months (Art. 156) on the PSB.
    let mut l = Ledger::new();
    l.ok_all(&theft(&[]));
    l.ok_all(&delivered("AR", K::ArrestApprovalRequest, PSB, PROC));
    l.ok_all(&delivered("AD", K::ArrestApprovalDecision, PROC, PSB));
    l.ok(&measure(PSB, P1, MeasureKind::Arrest));
    assert_eq!(measures_of_p1(&l), [(MeasureKind::Arrest, true, true)]);
    assert_eq!(
        measure_alerts(&l, local(2026, 6, 1, 0, 0)),
        [(MeasureKind::Arrest, true, PSB.to_owned())]
    );
    // The transfer for prosecution ends that clock; the custody stays in force.
    l.ok(&send("PT", K::ProsecutionTransfer, PSB, PROC));
    assert_eq!(measures_of_p1(&l), [(MeasureKind::Arrest, true, true)]);
    assert_eq!(measure_alerts(&l, local(2026, 6, 1, 0, 0)), []);
}

#[test]
fn a_revocation_of_probation_ends_no_measure_and_an_arrest_pending_it_has_no_clock() {
    let mut l = on_bail_in_appeal_window();
    l.ok_all(&delivered("ED", K::ExecutionDeliveryCommunity, COURT, CC));
    // Community Corrections Law Art. 47: asked to revoke, the court may order an arrest
    // pending its ruling (before the proposal it has no say: the bureau holds the case).
    l.ok(&send("RV", K::ProbationParoleRevocation, CC, COURT));
    l.ok(&measure(COURT, P1, MeasureKind::Arrest));
    assert_eq!(
        measures_of_p1(&l),
        [
            (MeasureKind::Bail, false, true),
            (MeasureKind::Arrest, true, false)
        ]
    );
    assert_eq!(measure_alerts(&l, local(2027, 6, 1, 0, 0)), []);
}
