//! The monthly ranking of departments, on a hand-built ledger.

mod common;

use common::*;
use proto_types::domain::{CaseType, HandoffKind as K, Procedure};
use proto_types::ids::OrgId;
use proto_types::supervision::monthly_ranking;

#[test]
fn a_department_that_answers_late_ranks_below_those_on_time_in_that_month() {
    let mut l = Ledger::new();
    l.ok_all(&[
        file(
            CaseType::DangerousDriving,
            Procedure::Expedited,
            &["P-0001"],
        ),
        send("PT", K::ProsecutionTransfer, PSB, PROC),
        Op::Wait { hours: 47 },
        receive("PT"),
        accept("PT"),
        wait_days(13),
        send("PP", K::PublicProsecution, PROC, COURT),
    ]);
    assert_eq!(l.handoff("PT").late, Some(true));
    let months = monthly_ranking(&l.handoffs(), policy().utc_offset_minutes);
    assert_eq!(months.len(), 1, "{months:?}");
    assert_eq!(months[0].month, "2026-03");
    let rows = &months[0].departments;
    assert_eq!(
        rows.iter().map(|d| d.rank).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    let proc = rows.last().expect("three departments");
    assert_eq!(proc.org, id::<OrgId>(PROC));
    assert_eq!(
        (proc.sent, proc.received, proc.answered, proc.late),
        (1, 1, 1, 1)
    );
    assert_eq!(proc.on_time_rate, 0.0);
    assert!(rows[..2]
        .iter()
        .all(|d| d.on_time_rate == 1.0 && d.late == 0));
}
