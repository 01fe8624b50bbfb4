//! The state each handoff carries between entries: its closed loop (sent, received, accepted,
//! returned, answered), its documents and its clock. Stored and served as the case records
//! are; the workflow makes them (`crate::workflow::decide`).

use super::ClockState;
use crate::domain::{DocumentType, HandoffKind, Procedure};
use crate::ids::{CaseId, HandoffId, OrgId, PersonId};
use crate::policy::Transition;
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

/// What a document on a handoff was (its digest stays in the ledger entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentSummary {
    /// Its type.
    pub doc_type: DocumentType,
    /// Its number.
    pub number: String,
    /// Page count.
    pub pages: u32,
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
    /// The procedure it was sent under (its clock's period follows it).
    pub procedure: Procedure,
    /// Sender.
    pub sender: OrgId,
    /// Receiver.
    pub receiver: OrgId,
    /// Persons concerned (empty: the whole case).
    pub persons: Vec<PersonId>,
    /// The sender's custody flag.
    pub custody: bool,
    /// Whether it moves a detained person, so a custody transfer (换押) must go with it: a
    /// stage-changing handoff flagged custody, or one that moves the case to another holder
    /// while a person concerned is in custody.
    pub custody_transfer_due: bool,
    /// The documents that travel with it.
    pub documents: Vec<DocumentSummary>,
    /// The handoff it accompanies or answers, as the sender named it.
    pub related: Option<HandoffId>,
    /// The stage change its acceptance makes, if it is stage-changing.
    pub stage_change: Option<Transition>,
    /// Whether a later handoff of the receiver answers it (some rule lists its kind in
    /// `responds_to`): then its loop closes when answered, else when accepted.
    pub awaits_response: bool,
    /// Where its loop stands.
    pub status: LoopStatus,
    /// When it was sent.
    pub sent_at: Timestamp,
    /// When it was signed for.
    pub received_at: Option<Timestamp>,
    /// When it was accepted.
    pub accepted_at: Option<Timestamp>,
    /// When it was returned for completion.
    pub returned_at: Option<Timestamp>,
    /// Why it was returned.
    pub return_reason: Option<String>,
    /// When it was answered.
    pub responded_at: Option<Timestamp>,
    /// The handoff that answered it.
    pub responded_by: Option<HandoffId>,
    /// The custody transfer that names it, if one was sent.
    pub custody_transfer: Option<HandoffId>,
    /// When its loop closed (answered, accepted with nothing to answer, returned, or the case
    /// closed under it).
    pub closed_at: Option<Timestamp>,
    /// The deadline on its receiver, if its kind has one.
    pub clock: Option<ClockState>,
    /// Whether its loop closed after the due time (set when the loop closes; `None` while
    /// open, without a clock, or when the case closed under it).
    pub late: Option<bool>,
}

impl HandoffRecord {
    /// Whether its loop is still open.
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }
}
