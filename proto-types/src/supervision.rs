//! Supervision figures computed from case and handoff records (the node's `/v1/stats` and the
//! demo's summary use the same function): counts by stage, type and department, mean days per
//! stage, returns, late responses, and the alerts at a given "now".

use crate::clock::{alerts, Alert, AlertKind};
use crate::domain::Stage;
use crate::ids::OrgId;
use crate::policy::Policy;
use crate::records::{CaseRecord, HandoffRecord, LoopStatus};
use crate::time::{Timestamp, DAY_MS};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Counts per department.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DepartmentStats {
    /// Handoffs sent.
    pub sent: u64,
    /// Handoffs received.
    pub received: u64,
    /// Handoffs it answered after their due time.
    pub late_responses: u64,
    /// Its handoffs overdue now (it is the receiver expected to act).
    pub overdue_now: u64,
}

/// The figures supervisors watch (docs/DOMAIN.md "What supervisors watch").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Cases.
    pub cases: u64,
    /// Cases by current stage.
    pub by_stage: BTreeMap<String, u64>,
    /// Cases by type.
    pub by_type: BTreeMap<String, u64>,
    /// Handoffs by kind.
    pub handoffs_by_kind: BTreeMap<String, u64>,
    /// Per department.
    pub departments: BTreeMap<OrgId, DepartmentStats>,
    /// Mean days spent in each stage (completed and current spans).
    pub mean_days_per_stage: BTreeMap<String, f64>,
    /// Returns for completion (退回补正).
    pub returns_for_completion: u64,
    /// Returns for supplementary investigation (退回补充侦查).
    pub supplementary_returns: u64,
    /// Handoffs answered after their due time.
    pub late_responses: u64,
    /// Alerts at `now`: overdue and due-soon clocks, missing custody transfers.
    pub overdue: u64,
    /// Due soon at `now`.
    pub due_soon: u64,
    /// Missing custody transfers at `now`.
    pub missing_custody_transfers: u64,
}

/// Computes the summary and the alerts at `now`.
pub fn summarize<'a>(
    cases: impl IntoIterator<Item = &'a CaseRecord>,
    handoffs: impl IntoIterator<Item = &'a HandoffRecord>,
    policy: &Policy,
    now: Timestamp,
) -> (Summary, Vec<Alert>) {
    let mut s = Summary::default();
    let mut by_case: HashMap<&crate::ids::CaseId, Vec<HandoffRecord>> = HashMap::new();
    for h in handoffs {
        *s.handoffs_by_kind.entry(h.kind.to_string()).or_default() += 1;
        s.departments.entry(h.sender.clone()).or_default().sent += 1;
        let r = s.departments.entry(h.receiver.clone()).or_default();
        r.received += 1;
        if h.late == Some(true) {
            r.late_responses += 1;
            s.late_responses += 1;
        }
        if h.status == LoopStatus::ReturnedForCompletion {
            s.returns_for_completion += 1;
        }
        by_case.entry(&h.case_id).or_default().push(h.clone());
    }
    // Milliseconds summed in u128: a u64 sum of many long stages (`now` may be as late as
    // `Timestamp::LATEST`) would overflow.
    let mut stage_total: BTreeMap<Stage, (u128, u64)> = BTreeMap::new();
    let mut all_alerts = Vec::new();
    for c in cases {
        s.cases += 1;
        *s.by_stage.entry(c.stage.to_string()).or_default() += 1;
        *s.by_type.entry(c.case_type.to_string()).or_default() += 1;
        s.supplementary_returns += u64::from(c.supplementary_returns);
        for (stage, ms) in c.stage_durations(now) {
            let t = stage_total.entry(stage).or_default();
            t.0 += u128::from(ms);
            t.1 += 1;
        }
        let hs = by_case.get(&c.case_id).map(Vec::as_slice).unwrap_or(&[]);
        for a in alerts(c, hs, policy, now) {
            match &a.kind {
                AlertKind::Overdue { .. } => {
                    s.overdue += 1;
                    if let Some(org) = &a.responsible {
                        s.departments.entry(org.clone()).or_default().overdue_now += 1;
                    }
                }
                AlertKind::DueSoon { .. } => s.due_soon += 1,
                AlertKind::MissingCustodyTransfer { .. } => s.missing_custody_transfers += 1,
                AlertKind::IllegalAttempt { .. } => {}
            }
            all_alerts.push(a);
        }
    }
    for (stage, (ms, n)) in stage_total {
        s.mean_days_per_stage
            .insert(stage.to_string(), ms as f64 / n as f64 / DAY_MS as f64);
    }
    (s, all_alerts)
}

/// One department's handoffs in one month (the month of each handoff's `sent_at`, in the
/// policy's local time), ranked against the other departments of that month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthlyDepartment {
    /// The department.
    pub org: OrgId,
    /// 1 = best of the month: highest on-time rate, then fewest returns for completion of its
    /// own handoffs, then most handoffs handled, then organisation id.
    pub rank: u32,
    /// Handoffs it sent.
    pub sent: u64,
    /// Handoffs it received.
    pub received: u64,
    /// Received handoffs it has answered (those with a due time).
    pub answered: u64,
    /// Of those, answered after their due time.
    pub late: u64,
    /// Answered on time / answered (1 when it answered none).
    pub on_time_rate: f64,
    /// Handoffs it sent that the receiver returned for completion (退回补正).
    pub returned_for_completion: u64,
    /// Returns for supplementary investigation (退回补充侦查) it received.
    pub supplementary_returns: u64,
}

/// One month's ranking of departments.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MonthRanking {
    /// `YYYY-MM` in the policy's local time.
    pub month: String,
    /// Every department that sent or received a handoff that month, best first.
    pub departments: Vec<MonthlyDepartment>,
}

/// The monthly ranking of departments (docs/DOMAIN.md "What supervisors watch"), months in order.
pub fn monthly_ranking<'a>(
    handoffs: impl IntoIterator<Item = &'a HandoffRecord>,
    utc_offset_minutes: i32,
) -> Vec<MonthRanking> {
    let mut months: BTreeMap<String, BTreeMap<OrgId, MonthlyDepartment>> = BTreeMap::new();
    for h in handoffs {
        let (y, m, _) = h.sent_at.local_date(utc_offset_minutes).ymd();
        let month = months.entry(format!("{y:04}-{m:02}")).or_default();
        fn row<'m>(
            month: &'m mut BTreeMap<OrgId, MonthlyDepartment>,
            org: &OrgId,
        ) -> &'m mut MonthlyDepartment {
            month
                .entry(org.clone())
                .or_insert_with(|| MonthlyDepartment {
                    org: org.clone(),
                    rank: 0,
                    sent: 0,
                    received: 0,
                    answered: 0,
                    late: 0,
                    on_time_rate: 1.0,
                    returned_for_completion: 0,
                    supplementary_returns: 0,
                })
        }
        let s = row(month, &h.sender);
        s.sent += 1;
        if h.status == LoopStatus::ReturnedForCompletion || h.returned_at.is_some() {
            s.returned_for_completion += 1;
        }
        let r = row(month, &h.receiver);
        r.received += 1;
        if let Some(late) = h.late {
            r.answered += 1;
            r.late += u64::from(late);
        }
        if h.kind == crate::domain::HandoffKind::SupplementaryInvestigationReturn {
            r.supplementary_returns += 1;
        }
    }
    months
        .into_iter()
        .map(|(month, rows)| {
            let mut departments: Vec<MonthlyDepartment> = rows
                .into_values()
                .map(|mut d| {
                    d.on_time_rate = if d.answered == 0 {
                        1.0
                    } else {
                        (d.answered - d.late) as f64 / d.answered as f64
                    };
                    d
                })
                .collect();
            departments.sort_by(|a, b| {
                b.on_time_rate
                    .total_cmp(&a.on_time_rate)
                    .then(a.returned_for_completion.cmp(&b.returned_for_completion))
                    .then((b.sent + b.received).cmp(&(a.sent + a.received)))
                    .then(a.org.cmp(&b.org))
            });
            for (i, d) in departments.iter_mut().enumerate() {
                d.rank = i as u32 + 1;
            }
            MonthRanking { month, departments }
        })
        .collect()
}
