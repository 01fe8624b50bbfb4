//! The state a case and each handoff carry between entries.

use crate::domain::{CaseType, HandoffKind, Procedure, Stage};
use crate::ids::{CaseId, HandoffId, OrgId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// The closed loop of one handoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LoopStatus {
    /// Sent, not yet signed for.
    Sent,
    /// 签收.
    Received,
    /// 受理.
    Accepted,
    /// 退回补正.
    ReturnedForCompletion,
    /// Answered by the receiver's own handoff.
    Responded,
}

/// A case as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRecord {
    /// The case.
    pub case_id: CaseId,
    /// Its type.
    pub case_type: CaseType,
    /// Its procedure.
    pub procedure: Procedure,
    /// Its stage.
    pub stage: Stage,
    /// Who holds it.
    pub holder: OrgId,
    /// Ledger index of its filing.
    pub filed_index: u64,
    /// When it was filed.
    pub filed_at: Timestamp,
}

/// A handoff as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoffRecord {
    /// The handoff id.
    pub id: HandoffId,
    /// Ledger index of the handoff.
    pub index: u64,
    /// The case.
    pub case_id: CaseId,
    /// Its kind.
    pub kind: HandoffKind,
    /// Sender.
    pub sender: OrgId,
    /// Receiver.
    pub receiver: OrgId,
    /// Where its loop stands.
    pub status: LoopStatus,
    /// When it was sent.
    pub sent_at: Timestamp,
}
