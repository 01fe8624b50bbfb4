//! Supervision figures computed from case and handoff records (the node's `/v1/stats` and the
//! demo's summary use the same function): counts by stage, type and department, mean days per
//! stage, returns, late responses, and the alerts at a given "now".

use crate::clock::{alerts, Alert, AlertKind};
use crate::domain::Stage;
use crate::ids::OrgId;
use crate::policy::Policy;
use crate::time::{Timestamp, DAY_MS};
use crate::workflow::{CaseRecord, HandoffRecord, LoopStatus};
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

/// The figures supervisors watch (DOMAIN.md "What supervisors watch").
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
    let mut stage_total: BTreeMap<Stage, (u64, u64)> = BTreeMap::new();
    let mut all_alerts = Vec::new();
    for c in cases {
        s.cases += 1;
        *s.by_stage.entry(c.stage.to_string()).or_default() += 1;
        *s.by_type.entry(c.case_type.to_string()).or_default() += 1;
        s.supplementary_returns += u64::from(c.supplementary_returns);
        for (stage, ms) in c.stage_durations(now) {
            let t = stage_total.entry(stage).or_default();
            t.0 += ms;
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
