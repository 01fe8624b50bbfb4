//! The vocabulary of the business (see docs/DOMAIN.md): kinds of department, case types,
//! procedures, stages, handoff kinds, coercive measures and document types.
//!
//! Enums are encoded as varint variant indexes, so **new variants are only ever appended**
//! (docs/FORMAT.md §Enums). Open-ended vocabularies end in an `Other(code)` variant so that a
//! later roll-out can add case types or handoff kinds as policy data without a format break.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Kinds of department (docs/DOMAIN.md "Who takes part").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrgKind {
    /// 公安机关, police.
    Psb,
    /// 看守所, detention house.
    DetentionHouse,
    /// 人民检察院, procuratorate.
    Procuratorate,
    /// 人民法院, court.
    Court,
    /// 社区矫正机构, community corrections (justice bureau).
    CommunityCorrections,
    /// 法律援助机构, legal aid (justice bureau).
    LegalAid,
    /// 监狱, prison.
    Prison,
    /// 政法委, political-legal committee: supervisor, reads everything, sends nothing.
    Plc,
    /// Auditor (e.g. 审计 or an inspection office): reads everything, sends nothing.
    /// Appended last: enum indexes are varints, so this is format-compatible.
    Auditor,
}

/// Administrative level of an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Level {
    /// 区县.
    County,
    /// 地市.
    Prefecture,
    /// 省.
    Province,
}

/// Case types: the pilot's six, plus an open code for later roll-outs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CaseType {
    /// 危险驾驶.
    DangerousDriving,
    /// 盗窃.
    Theft,
    /// 故意伤害.
    IntentionalInjury,
    /// 交通肇事.
    TrafficAccident,
    /// 寻衅滋事.
    PickingQuarrels,
    /// 诈骗.
    Fraud,
    /// Any other charge, by code.
    Other(String),
}

impl OrgKind {
    /// Whether organisations of this kind read every case: the political-legal committee
    /// and auditors (supervision, read-only). Every other organisation reads the cases it is
    /// a party to ([`crate::workflow::CaseRecord::is_party`]).
    pub fn reads_every_case(self) -> bool {
        matches!(self, OrgKind::Plc | OrgKind::Auditor)
    }
}

impl CaseType {
    /// The pilot's six types, in the national mix's order.
    pub const PILOT: [CaseType; 6] = [
        CaseType::DangerousDriving,
        CaseType::Theft,
        CaseType::IntentionalInjury,
        CaseType::TrafficAccident,
        CaseType::PickingQuarrels,
        CaseType::Fraud,
    ];
}

impl fmt::Display for CaseType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaseType::Other(code) => f.write_str(code),
            other => write!(f, "{}", screaming(&format!("{other:?}"))),
        }
    }
}

/// Criminal procedure of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Procedure {
    /// 普通程序.
    Ordinary,
    /// 简易程序, Art. 214-221.
    Summary,
    /// 速裁程序, Art. 222-226.
    Expedited,
}

/// Stages of a case (docs/DOMAIN.md "Stages").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Stage {
    /// 立案.
    Filing,
    /// 侦查.
    Investigation,
    /// 审查逮捕.
    ArrestReview,
    /// 审查起诉.
    ProsecutionReview,
    /// 补充侦查.
    SupplementaryInvestigation,
    /// 一审.
    FirstInstance,
    /// 上诉期.
    AppealWindow,
    /// 二审.
    SecondInstance,
    /// 生效.
    Effective,
    /// 监禁刑执行.
    ExecutionCustodial,
    /// 社区矫正.
    ExecutionCommunity,
    /// 结案.
    Closed,
    /// 撤案, Art. 163.
    ClosedWithdrawn,
    /// 不起诉, Art. 177.
    ClosedNotProsecuted,
    /// 无罪.
    ClosedAcquitted,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 15] = [
        Stage::Filing,
        Stage::Investigation,
        Stage::ArrestReview,
        Stage::ProsecutionReview,
        Stage::SupplementaryInvestigation,
        Stage::FirstInstance,
        Stage::AppealWindow,
        Stage::SecondInstance,
        Stage::Effective,
        Stage::ExecutionCustodial,
        Stage::ExecutionCommunity,
        Stage::Closed,
        Stage::ClosedWithdrawn,
        Stage::ClosedNotProsecuted,
        Stage::ClosedAcquitted,
    ];

    /// Whether nothing may happen to the case any more.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            Stage::Closed
                | Stage::ClosedWithdrawn
                | Stage::ClosedNotProsecuted
                | Stage::ClosedAcquitted
        )
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&screaming(&format!("{self:?}")))
    }
}

/// Handoff kinds (docs/DOMAIN.md "Handoff catalogue"), plus an open code for kinds added as data.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HandoffKind {
    /// 提请批准逮捕.
    ArrestApprovalRequest,
    /// 批准/不批准逮捕.
    ArrestApprovalDecision,
    /// 换押.
    CustodyTransfer,
    /// 提请延长侦查羁押期限.
    DetentionExtensionRequest,
    /// 移送审查起诉.
    ProsecutionTransfer,
    /// 退回补充侦查.
    SupplementaryInvestigationReturn,
    /// 补侦后重新移送.
    SupplementaryInvestigationResubmit,
    /// 不起诉.
    NonProsecutionDecision,
    /// 撤销案件.
    CaseWithdrawalNotice,
    /// 提起公诉.
    PublicProsecution,
    /// 开庭通知.
    TrialNotice,
    /// 判决书送达.
    JudgmentService,
    /// 上诉.
    Appeal,
    /// 抗诉.
    Protest,
    /// 二审.
    SecondInstanceTrial,
    /// 发回重审.
    RemandForRetrial,
    /// 委托调查评估.
    PreSentenceAssessment,
    /// 通知法律援助.
    LegalAidNotice,
    /// 交付执行.
    ExecutionDeliveryCustodial,
    /// 交付社区矫正.
    ExecutionDeliveryCommunity,
    /// 收监回执.
    ExecutionReceipt,
    /// 减刑/假释建议.
    CommutationParoleProposal,
    /// 撤销缓刑/假释.
    ProbationParoleRevocation,
    /// A kind added later as policy data, by code.
    Other(String),
}

impl fmt::Display for HandoffKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandoffKind::Other(code) => f.write_str(code),
            other => f.write_str(&screaming(&format!("{other:?}"))),
        }
    }
}

/// Coercive measures; each starts or ends a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MeasureKind {
    /// 拘留: criminal detention (custody).
    Detention,
    /// 逮捕: arrest (custody).
    Arrest,
    /// 取保候审: bail.
    Bail,
    /// 监视居住: residential surveillance.
    ResidentialSurveillance,
    /// 释放: release; ends every custody clock of the person.
    Release,
}

impl MeasureKind {
    /// Whether the person is in custody under this measure.
    pub fn is_custodial(self) -> bool {
        matches!(self, MeasureKind::Detention | MeasureKind::Arrest)
    }
}

/// Document types that travel with handoffs, plus an open code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DocumentType {
    /// 提请批准逮捕书.
    ArrestRequestForm,
    /// 批准/不批准逮捕决定书.
    ArrestDecision,
    /// 起诉意见书.
    ProsecutionOpinion,
    /// 起诉书.
    Indictment,
    /// 量刑建议书.
    SentencingRecommendation,
    /// 补充侦查提纲.
    SupplementaryOutline,
    /// 不起诉决定书.
    NonProsecutionDecision,
    /// 撤销案件决定书.
    WithdrawalDecision,
    /// 判决书.
    Judgment,
    /// 起诉书副本.
    IndictmentCopy,
    /// 执行通知书.
    ExecutionNotice,
    /// 结案登记表.
    ClosingForm,
    /// 换押证.
    CustodyCertificate,
    /// 开庭通知书.
    TrialNoticeForm,
    /// 证据材料.
    Evidence,
    /// Any other document, by code.
    Other(String),
}

/// `DangerousDriving` → `DANGEROUS_DRIVING`.
pub(crate) fn screaming(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}
