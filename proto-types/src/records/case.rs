//! The state a case carries between entries: its stage and holder, its timeline, the persons
//! concerned and their coercive measures. The node stores these records (postcard) and serves
//! them (JSON); they are derived data, rebuilt by replaying the ledger. The workflow makes
//! them (`crate::workflow::decide`).

use super::ClockState;
use crate::domain::{CaseType, MeasureKind, Procedure, Stage};
use crate::ids::{CaseId, HandoffId, OrgId, PersonId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

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
