//! The case workflow: which handoffs are legal from which stage, who may send and receive
//! them, the closed loop of each handoff, and the state a case carries between entries.
//! Everything here is decided from the ledger alone, so every replica decides alike.

mod state;

pub use state::{CaseRecord, HandoffRecord, LoopStatus};

use crate::entry::Rule;
use crate::ids::OrgId;
use crate::payload::Payload;
use crate::registry::Registry;
use crate::state::LedgerState;
use crate::time::Timestamp;

/// What a case step does, if it is legal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CaseChanges {
    /// Case records after the step (new or updated).
    pub cases: Vec<CaseRecord>,
    /// Handoff records after the step (new or updated).
    pub handoffs: Vec<HandoffRecord>,
}

/// The result of a case step: changes, or the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseStep {
    /// The step is legal; persist these.
    Changes(CaseChanges),
    /// The step broke a rule; recorded as a rejection.
    Rejected(Rule, String),
}

/// Decides a case action (filing, handoff, receipt, acceptance, return, measure, clock
/// adjustment, closure) signed by `signer_org` at ledger time `at`, entry `index`.
pub fn decide<S: LedgerState>(
    state: &S,
    registry: &Registry,
    signer_org: &OrgId,
    payload: &Payload,
    index: u64,
    at: Timestamp,
) -> Result<CaseStep, S::Error> {
    let _ = (state, registry, signer_org, payload, index, at);
    Ok(CaseStep::Rejected(Rule::InvalidPayload, "workflow not implemented yet".into()))
}
