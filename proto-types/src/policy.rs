//! Policy is ledger data (docs/FORMAT.md §Policy): the workflow rule table, limits, maximum
//! penalties, clock periods and the holiday calendar live in genesis or in a later signed
//! policy entry, never in a node's configuration, so that every replica decides alike.
//!
//! [`Policy::pilot`] builds the pilot's policy from docs/DOMAIN.md; it is what `init` writes into a
//! genesis file, after which only the ledger's copy counts.

use crate::domain::{CaseType, DocumentType, HandoffKind, MeasureKind, OrgKind, Procedure, Stage};
use crate::ids::OrgId;
use crate::time::Date;
use serde::{Deserialize, Serialize};

/// A length of time as the law counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// Calendar days.
    Days(u32),
    /// Calendar months (same day number, clamped to the month's end).
    Months(u32),
    /// Working days per the calendar.
    WorkingDays(u32),
}

/// Who must approve governed changes (registry and policy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalPolicy {
    /// k: distinct approving organisations needed.
    pub required: u32,
    /// n: the organisations whose keys may approve.
    pub approvers: Vec<OrgId>,
}

/// Size limits checked on apply (and at ingress).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Longest note, in bytes.
    pub max_note_bytes: u32,
    /// Most documents on one handoff.
    pub max_documents: u32,
    /// Most persons on one handoff or case.
    pub max_persons: u32,
    /// Returns for supplementary investigation allowed per case (Art. 175: two).
    pub max_supplementary_returns: u32,
}

/// A legal stage change made by a handoff's acceptance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// The stage the case must be in when the handoff is sent.
    pub from: Stage,
    /// The stage when the receiver accepts it.
    pub to: Stage,
}

/// When a clock starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockStart {
    /// From the receiver's receipt (签收); from sending until then.
    Receipt,
    /// From sending.
    Sent,
}

/// The deadline a handoff puts on its receiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockRule {
    /// Period in ordinary procedure.
    pub ordinary: Period,
    /// Period in summary procedure, if different.
    pub summary: Option<Period>,
    /// Period in expedited procedure, if different.
    pub expedited: Option<Period>,
    /// When it starts.
    pub starts: ClockStart,
    /// Days before the due time at which "due soon" is raised.
    pub warn_days: u32,
    /// The legal basis, e.g. "Art. 172".
    pub basis: String,
}

impl ClockRule {
    /// The period for a procedure.
    pub fn period(&self, procedure: Procedure) -> Period {
        match procedure {
            Procedure::Ordinary => self.ordinary,
            Procedure::Summary => self.summary.unwrap_or(self.ordinary),
            Procedure::Expedited => self.expedited.unwrap_or(self.ordinary),
        }
    }
}

/// The rule for one handoff kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoffRule {
    /// The kind.
    pub kind: HandoffKind,
    /// Kinds of department that may send it.
    pub senders: Vec<OrgKind>,
    /// Kinds of department that may receive it.
    pub receivers: Vec<OrgKind>,
    /// Stage changes it makes; empty: allowed in any open stage, changes none.
    pub transitions: Vec<Transition>,
    /// Whether only the department holding the case may send it.
    pub holder_only: bool,
    /// The earlier kinds this one answers: sending it marks the open one RESPONDED.
    pub responds_to: Vec<HandoffKind>,
    /// Documents that must travel with it.
    pub required_documents: Vec<DocumentType>,
    /// The deadline it puts on the receiver, if any.
    pub clock: Option<ClockRule>,
}

/// The clock a coercive measure starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeasureClock {
    /// The measure.
    pub measure: MeasureKind,
    /// How long it may last before the next step is due.
    pub period: Period,
    /// The handoff kinds whose sending ends the clock (e.g. an arrest request ends detention's).
    pub ended_by: Vec<HandoffKind>,
    /// Days before the due time at which "due soon" is raised.
    pub warn_days: u32,
    /// The legal basis.
    pub basis: String,
}

/// The most severe penalty a case type carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaxPenalty {
    /// 拘役: short-term detention only (no arrest stage).
    CriminalDetention,
    /// 有期徒刑 up to this many years.
    FixedTermYears(u32),
    /// 无期徒刑.
    Life,
    /// 死刑.
    Death,
}

/// Non-working days beyond weekends, and weekend days that are working days (调休).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Calendar {
    /// Public holidays.
    pub holidays: Vec<Date>,
    /// Saturdays or Sundays that are working days.
    pub working_weekends: Vec<Date>,
}

impl Calendar {
    /// Whether a date is a working day.
    pub fn is_working_day(&self, d: Date) -> bool {
        if self.working_weekends.contains(&d) {
            return true;
        }
        d.weekday() <= 5 && !self.holidays.contains(&d)
    }
}

/// The whole policy in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Increases with every policy entry.
    pub version: u32,
    /// Local time zone of the law's days, minutes east of UTC (China: 480).
    pub utc_offset_minutes: i32,
    /// Approvals for governed changes.
    pub approvals: ApprovalPolicy,
    /// Size limits.
    pub limits: Limits,
    /// The handoff rule table.
    pub handoff_rules: Vec<HandoffRule>,
    /// Clocks started by coercive measures.
    pub measure_clocks: Vec<MeasureClock>,
    /// Maximum penalty per case type; types not listed are treated as fixed-term.
    pub penalties: Vec<(CaseType, MaxPenalty)>,
    /// The holiday calendar.
    pub calendar: Calendar,
}

impl Policy {
    /// The rule for a handoff kind.
    pub fn handoff_rule(&self, kind: &HandoffKind) -> Option<&HandoffRule> {
        self.handoff_rules.iter().find(|r| &r.kind == kind)
    }

    /// The clock a measure starts.
    pub fn measure_clock(&self, measure: MeasureKind) -> Option<&MeasureClock> {
        self.measure_clocks.iter().find(|c| c.measure == measure)
    }

    /// The maximum penalty of a case type.
    pub fn max_penalty(&self, case_type: &CaseType) -> Option<MaxPenalty> {
        self.penalties
            .iter()
            .find(|(t, _)| t == case_type)
            .map(|(_, p)| *p)
    }

    /// The pilot's policy, from docs/DOMAIN.md, with the given approvers and k.
    pub fn pilot(approvers: Vec<OrgId>, required: u32, calendar: Calendar) -> Self {
        Self {
            version: 1,
            utc_offset_minutes: 480,
            approvals: ApprovalPolicy {
                required,
                approvers,
            },
            limits: Limits {
                max_note_bytes: 2048,
                max_documents: 64,
                max_persons: 32,
                max_supplementary_returns: 2,
            },
            handoff_rules: pilot_rules(),
            measure_clocks: pilot_measure_clocks(),
            penalties: vec![
                (CaseType::DangerousDriving, MaxPenalty::CriminalDetention),
                (CaseType::Theft, MaxPenalty::Life),
                (CaseType::IntentionalInjury, MaxPenalty::Death),
                (CaseType::TrafficAccident, MaxPenalty::FixedTermYears(15)),
                (CaseType::PickingQuarrels, MaxPenalty::FixedTermYears(10)),
                (CaseType::Fraud, MaxPenalty::Life),
            ],
            calendar,
        }
    }
}

fn clock(ordinary: Period, starts: ClockStart, warn_days: u32, basis: &str) -> Option<ClockRule> {
    Some(ClockRule {
        ordinary,
        summary: None,
        expedited: None,
        starts,
        warn_days,
        basis: basis.to_owned(),
    })
}

fn rule(
    kind: HandoffKind,
    senders: &[OrgKind],
    receivers: &[OrgKind],
    transitions: &[(Stage, Stage)],
    holder_only: bool,
    clock: Option<ClockRule>,
) -> HandoffRule {
    HandoffRule {
        kind,
        senders: senders.to_vec(),
        receivers: receivers.to_vec(),
        transitions: transitions
            .iter()
            .map(|&(from, to)| Transition { from, to })
            .collect(),
        holder_only,
        responds_to: Vec::new(),
        required_documents: Vec::new(),
        clock,
    }
}

/// The handoff catalogue of docs/DOMAIN.md as a rule table.
fn pilot_rules() -> Vec<HandoffRule> {
    use ClockStart::{Receipt, Sent};
    use HandoffKind as K;
    use OrgKind::*;
    use Period::{Days, Months, WorkingDays};
    use Stage as S;
    let review = ClockRule {
        ordinary: Months(1),
        summary: None,
        expedited: Some(Days(10)),
        starts: Receipt,
        warn_days: 3,
        basis: "Art. 172".into(),
    };
    let trial = ClockRule {
        ordinary: Months(2),
        summary: Some(Days(20)),
        expedited: Some(Days(10)),
        starts: Receipt,
        warn_days: 5,
        basis: "Art. 208, 220, 225".into(),
    };
    let mut rules = vec![
        rule(
            K::ArrestApprovalRequest,
            &[Psb],
            &[Procuratorate],
            &[(S::Investigation, S::ArrestReview)],
            true,
            clock(Days(7), Receipt, 2, "Art. 91"),
        ),
        rule(
            K::ArrestApprovalDecision,
            &[Procuratorate],
            &[Psb],
            &[(S::ArrestReview, S::Investigation)],
            true,
            None,
        ),
        rule(
            K::CustodyTransfer,
            &[Psb, Procuratorate, Court, DetentionHouse],
            &[DetentionHouse],
            &[],
            false,
            clock(Days(3), Sent, 1, "custody transfer (?)"),
        ),
        rule(
            K::DetentionExtensionRequest,
            &[Psb],
            &[Procuratorate],
            &[],
            true,
            clock(Days(7), Receipt, 2, "Art. 156-159"),
        ),
        rule(
            K::ProsecutionTransfer,
            &[Psb],
            &[Procuratorate],
            &[(S::Investigation, S::ProsecutionReview)],
            true,
            Some(review.clone()),
        ),
        rule(
            K::SupplementaryInvestigationReturn,
            &[Procuratorate],
            &[Psb],
            &[(S::ProsecutionReview, S::SupplementaryInvestigation)],
            true,
            clock(Months(1), Receipt, 5, "Art. 175"),
        ),
        rule(
            K::SupplementaryInvestigationResubmit,
            &[Psb],
            &[Procuratorate],
            &[(S::SupplementaryInvestigation, S::ProsecutionReview)],
            true,
            Some(review),
        ),
        rule(
            K::NonProsecutionDecision,
            &[Procuratorate],
            &[Psb],
            &[(S::ProsecutionReview, S::ClosedNotProsecuted)],
            true,
            None,
        ),
        rule(
            K::CaseWithdrawalNotice,
            &[Psb],
            &[Procuratorate],
            &[
                (S::Investigation, S::ClosedWithdrawn),
                (S::SupplementaryInvestigation, S::ClosedWithdrawn),
            ],
            true,
            None,
        ),
        rule(
            K::PublicProsecution,
            &[Procuratorate],
            &[Court],
            &[(S::ProsecutionReview, S::FirstInstance)],
            true,
            Some(trial.clone()),
        ),
        rule(K::TrialNotice, &[Court], &[Procuratorate], &[], true, None),
        rule(
            K::JudgmentService,
            &[Court],
            &[Procuratorate],
            &[
                (S::FirstInstance, S::AppealWindow),
                (S::SecondInstance, S::Effective),
            ],
            true,
            None,
        ),
        rule(
            K::Appeal,
            &[Court, Procuratorate],
            &[Court],
            &[(S::AppealWindow, S::SecondInstance)],
            false,
            clock(Months(2), Receipt, 7, "Art. 243"),
        ),
        rule(
            K::Protest,
            &[Procuratorate],
            &[Court],
            &[(S::AppealWindow, S::SecondInstance)],
            false,
            clock(Months(2), Receipt, 7, "Art. 243"),
        ),
        rule(
            K::SecondInstanceTrial,
            &[Court],
            &[Procuratorate],
            &[],
            true,
            None,
        ),
        rule(
            K::RemandForRetrial,
            &[Court],
            &[Court],
            &[(S::SecondInstance, S::FirstInstance)],
            true,
            Some(trial),
        ),
        rule(
            K::PreSentenceAssessment,
            &[Court, Procuratorate, Psb],
            &[CommunityCorrections],
            &[],
            false,
            Some(ClockRule {
                ordinary: WorkingDays(10),
                summary: None,
                expedited: Some(WorkingDays(5)),
                starts: Receipt,
                warn_days: 2,
                basis: "pre-sentence assessment (?)".into(),
            }),
        ),
        rule(
            K::LegalAidNotice,
            &[Psb, Procuratorate, Court],
            &[LegalAid],
            &[],
            false,
            clock(Days(3), Receipt, 1, "legal aid (?)"),
        ),
        rule(
            K::ExecutionDeliveryCustodial,
            &[Court],
            &[Psb, DetentionHouse, Prison],
            &[
                (S::AppealWindow, S::ExecutionCustodial),
                (S::Effective, S::ExecutionCustodial),
            ],
            true,
            clock(Months(1), Receipt, 5, "Art. 264"),
        ),
        rule(
            K::ExecutionDeliveryCommunity,
            &[Court],
            &[CommunityCorrections],
            &[
                (S::AppealWindow, S::ExecutionCommunity),
                (S::Effective, S::ExecutionCommunity),
            ],
            true,
            clock(Days(10), Receipt, 3, "Art. 269"),
        ),
        rule(
            K::ExecutionReceipt,
            &[Prison, DetentionHouse, CommunityCorrections, Psb],
            &[Court],
            &[],
            true,
            None,
        ),
        rule(
            K::CommutationParoleProposal,
            &[Prison],
            &[Court],
            &[],
            true,
            clock(Months(1), Receipt, 5, "Art. 273"),
        ),
        rule(
            K::ProbationParoleRevocation,
            &[CommunityCorrections],
            &[Court],
            &[(S::ExecutionCommunity, S::ExecutionCustodial)],
            true,
            clock(Days(30), Receipt, 5, "revocation (?)"),
        ),
    ];
    let responds = |k: &K| -> Vec<K> {
        match k {
            K::ArrestApprovalDecision => {
                vec![K::ArrestApprovalRequest, K::DetentionExtensionRequest]
            }
            K::SupplementaryInvestigationReturn
            | K::NonProsecutionDecision
            | K::PublicProsecution => {
                vec![
                    K::ProsecutionTransfer,
                    K::SupplementaryInvestigationResubmit,
                ]
            }
            K::SupplementaryInvestigationResubmit | K::CaseWithdrawalNotice => {
                vec![K::SupplementaryInvestigationReturn]
            }
            K::JudgmentService => vec![
                K::PublicProsecution,
                K::Appeal,
                K::Protest,
                K::RemandForRetrial,
            ],
            K::RemandForRetrial => vec![K::Appeal, K::Protest],
            K::ExecutionReceipt => {
                vec![K::ExecutionDeliveryCustodial, K::ExecutionDeliveryCommunity]
            }
            _ => vec![],
        }
    };
    for r in &mut rules {
        r.responds_to = responds(&r.kind);
        if r.kind == K::ExecutionDeliveryCustodial {
            r.required_documents = vec![
                DocumentType::Judgment,
                DocumentType::IndictmentCopy,
                DocumentType::ExecutionNotice,
                DocumentType::ClosingForm,
            ];
        }
    }
    rules
}

fn pilot_measure_clocks() -> Vec<MeasureClock> {
    use HandoffKind as K;
    vec![
        MeasureClock {
            measure: MeasureKind::Detention,
            period: Period::Days(3),
            ended_by: vec![K::ArrestApprovalRequest, K::ProsecutionTransfer],
            warn_days: 1,
            basis: "Art. 91".into(),
        },
        MeasureClock {
            measure: MeasureKind::Arrest,
            period: Period::Months(2),
            ended_by: vec![K::ProsecutionTransfer],
            warn_days: 7,
            basis: "Art. 156".into(),
        },
        MeasureClock {
            measure: MeasureKind::Bail,
            period: Period::Months(12),
            ended_by: vec![],
            warn_days: 15,
            basis: "Art. 79".into(),
        },
        MeasureClock {
            measure: MeasureKind::ResidentialSurveillance,
            period: Period::Months(6),
            ended_by: vec![],
            warn_days: 7,
            basis: "Art. 79".into(),
        },
    ]
}
