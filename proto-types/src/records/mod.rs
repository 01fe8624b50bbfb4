//! The records the ledger's derived state is made of: cases, handoffs, their clocks, and what
//! one applied entry changes. Plain data with the bookkeeping that keeps each consistent;
//! the decisions that make them are elsewhere (`apply`, `workflow`, `clock`).
//!
//! This module imports none of `apply`, `state`, `workflow` or `clock`, which all build on it,
//! so the crate's module graph has no circle (`python3 scripts/modgraph.py proto-types/src`).
//! Those modules re-export what they used to define, so the old paths still name these types.

mod applied;
mod case;
mod clock_state;
mod handoff;

pub use applied::{Applied, Changes, SubmissionRecord};
pub use case::{CaseRecord, MeasureRecord, PersonRecord, StageSpan};
pub use clock_state::{ClockState, Extension};
pub use handoff::{DocumentSummary, HandoffRecord, LoopStatus};
