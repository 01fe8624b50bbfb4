//! The state a case and each handoff carry between entries. The node stores these records
//! (postcard) and serves them (JSON); they are derived data, rebuilt by replaying the ledger.

use crate::clock::ClockState;
use crate::domain::{CaseType, DocumentType, HandoffKind, MeasureKind, Procedure, Stage};
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

/// One coercive measure on a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeasureRecord {
    /// The measure.
    pub measure: MeasureKind,
    /// When it took effect, as the signer states it.
    pub effective_at: Timestamp,
    /// The ledger index of the measure entry.
    pub index: u64,
    /// The organisation that recorded it.
    pub recorded_by: OrgId,
    /// Whether it is still in force (a later measure on the person ends it).
    pub active: bool,
    /// When it ended, if it did.
    pub ended_at: Option<Timestamp>,
    /// The clock it started, per `policy.measure_clocks`.
    pub clock: Option<ClockState>,
}

/// A person concerned (an opaque id) and the coercive measures on them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRecord {
    /// The person.
    pub person: PersonId,
    /// Measures in the order recorded.
    pub measures: Vec<MeasureRecord>,
}

impl PersonRecord {
    /// Whether a custodial measure (detention, arrest) is in force.
    pub fn in_custody(&self) -> bool {
        self.measures
            .iter()
            .any(|m| m.active && m.measure.is_custodial())
    }

    /// The latest measure of a kind that is in force.
    pub fn active_measure(&self, measure: MeasureKind) -> Option<&MeasureRecord> {
        self.measures
            .iter()
            .rev()
            .find(|m| m.active && m.measure == measure)
    }
}

/// One span of the case's timeline: a stage and who held the case in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageSpan {
    /// The stage.
    pub stage: Stage,
    /// The holder in that stage.
    pub holder: OrgId,
    /// When the case entered it.
    pub since: Timestamp,
    /// The ledger index of the entry that moved it there.
    pub index: u64,
}

/// A case as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRecord {
    /// The case.
    pub case_id: CaseId,
    /// Its type.
    pub case_type: CaseType,
    /// Its procedure (a handoff naming another procedure converts it).
    pub procedure: Procedure,
    /// 认罪认罚.
    pub plea_leniency: bool,
    /// Its stage.
    pub stage: Stage,
    /// Who holds it.
    pub holder: OrgId,
    /// The PSB that filed it.
    pub filed_by: OrgId,
    /// Ledger index of its filing.
    pub filed_index: u64,
    /// When it was filed.
    pub filed_at: Timestamp,
    /// Persons concerned with their coercive measures.
    pub persons: Vec<PersonRecord>,
    /// Returns for supplementary investigation accepted so far (Art. 175: at most two).
    pub supplementary_returns: u32,
    /// Whether the PSB has an accepted arrest approval decision (so it may record an arrest).
    pub arrest_decided: bool,
    /// The stage-changing handoff sent and not yet accepted or returned, if any.
    pub in_transit: Option<HandoffId>,
    /// Handoffs of the case whose loop is still open, in the order sent.
    pub open_handoffs: Vec<HandoffId>,
    /// The timeline: every stage the case entered, in order (the last is the current one).
    pub history: Vec<StageSpan>,
    /// Organisations that took part (sent, received, recorded), sorted: for access control.
    pub participants: Vec<OrgId>,
    /// When it was closed, if it is.
    pub closed_at: Option<Timestamp>,
    /// Ledger index of the last entry that changed it.
    pub last_index: u64,
}

impl CaseRecord {
    /// Whether nothing may happen to the case any more.
    pub fn is_closed(&self) -> bool {
        self.stage.is_closed()
    }

    /// A person of the case.
    pub fn person(&self, id: &PersonId) -> Option<&PersonRecord> {
        self.persons.iter().find(|p| &p.person == id)
    }

    /// Whether any of `persons` (every person of the case if empty) is in custody.
    pub fn in_custody(&self, persons: &[PersonId]) -> bool {
        self.persons
            .iter()
            .filter(|p| persons.is_empty() || persons.contains(&p.person))
            .any(PersonRecord::in_custody)
    }

    /// The organisation responsible for the clock of a measure on a person of the case
    /// (docs/DOMAIN.md "Coercive measures and their clocks"): for custody (detention,
    /// arrest) the organ handling the case at that stage, its holder (custodial clocks run
    /// only during the investigation, where the holder is the PSB); bail and residential
    /// surveillance are executed by the public security organ (Art. 67, 74), the PSB that
    /// filed the case, whichever organ decided them. Never whoever holds the case later.
    pub fn measure_responsible(&self, measure: MeasureKind) -> &OrgId {
        match measure {
            MeasureKind::Bail | MeasureKind::ResidentialSurveillance => &self.filed_by,
            MeasureKind::Detention | MeasureKind::Arrest | MeasureKind::Release => &self.holder,
        }
    }

    /// Milliseconds spent in each span of the timeline, the current one counted until `now`:
    /// the input of "mean days per stage".
    pub fn stage_durations(&self, now: Timestamp) -> Vec<(Stage, u64)> {
        self.history
            .iter()
            .enumerate()
            .map(|(i, span)| {
                let end = match self.history.get(i + 1) {
                    Some(next) => next.since,
                    None => self.closed_at.unwrap_or(now),
                };
                (span.stage, end.millis_since(span.since))
            })
            .collect()
    }

    pub(crate) fn enter_stage(&mut self, stage: Stage, holder: OrgId, at: Timestamp, index: u64) {
        self.stage = stage;
        self.holder = holder.clone();
        self.history.push(StageSpan {
            stage,
            holder,
            since: at,
            index,
        });
    }

    /// Whether `org` is a party to the case: it filed it, holds it, or took part in it (sent,
    /// received or recorded a step). A party reads the case; nobody else but the
    /// supervisors does ([`crate::domain::OrgKind::reads_every_case`]).
    pub fn is_party(&self, org: &OrgId) -> bool {
        &self.holder == org || &self.filed_by == org || self.participants.binary_search(org).is_ok()
    }

    pub(crate) fn add_participant(&mut self, org: &OrgId) {
        if let Err(pos) = self.participants.binary_search(org) {
            self.participants.insert(pos, org.clone());
        }
    }
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
