//! The state of one clock, as a case or handoff record carries it: its period, start,
//! extensions, pauses and restarts. Plain data and the bookkeeping of adjustments; the due
//! time it implies is the clock engine's (`crate::clock::due_time`, `ClockState::was_late`).

use crate::ids::OrgId;
use crate::policy::Period;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// An extension of a clock, approved by a named organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// How much is added to the last day.
    pub period: Period,
    /// The approving organisation.
    pub approved_by: OrgId,
    /// When it was recorded.
    pub at: Timestamp,
    /// The ledger index of the adjustment entry.
    pub index: u64,
}

/// A running or stopped deadline: of a handoff on its receiver, or of a coercive measure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockState {
    /// The period counted.
    pub period: Period,
    /// The instant the count starts from (receipt, sending, measure, or the last restart).
    pub started_at: Timestamp,
    /// Whether the person is in custody: then a last day that is a holiday stands (Art. 105).
    pub custody: bool,
    /// Days before the due time at which "due soon" is raised.
    pub warn_days: u32,
    /// The legal basis, e.g. "Art. 172".
    pub basis: String,
    /// Extensions since the last restart.
    pub extensions: Vec<Extension>,
    /// When the current pause began, if the clock is paused.
    pub paused_at: Option<Timestamp>,
    /// Milliseconds of completed pauses since the last restart.
    pub paused_ms: u64,
    /// How many full restarts it had.
    pub restarts: u32,
    /// When it stopped (the loop closed, the measure ended), if it did.
    pub stopped_at: Option<Timestamp>,
}

impl ClockState {
    /// A clock counting `period` from `started_at`.
    pub fn new(
        period: Period,
        started_at: Timestamp,
        custody: bool,
        warn_days: u32,
        basis: &str,
    ) -> Self {
        Self {
            period,
            started_at,
            custody,
            warn_days,
            basis: basis.to_owned(),
            extensions: Vec::new(),
            paused_at: None,
            paused_ms: 0,
            restarts: 0,
            stopped_at: None,
        }
    }

    /// Whether it still counts (not stopped; it may be paused).
    pub fn is_running(&self) -> bool {
        self.stopped_at.is_none()
    }

    /// Whether it is paused.
    pub fn is_paused(&self) -> bool {
        self.paused_at.is_some()
    }

    /// Stops it at `at`, closing an open pause.
    pub fn stop(&mut self, at: Timestamp) {
        if self.stopped_at.is_none() {
            self.resume(at);
            self.stopped_at = Some(at.max(self.started_at));
        }
    }

    /// Pauses it at `at` (no effect if already paused).
    pub fn pause(&mut self, at: Timestamp) {
        if self.paused_at.is_none() {
            self.paused_at = Some(at);
        }
    }

    /// Ends a pause at `at`: the paused duration is added to the due time.
    pub fn resume(&mut self, at: Timestamp) {
        if let Some(p) = self.paused_at.take() {
            self.paused_ms = self.paused_ms.saturating_add(at.millis_since(p));
        }
    }

    /// Adds an extension.
    pub fn extend(&mut self, extension: Extension) {
        self.extensions.push(extension);
    }

    /// Restarts the count in full from `at` with `period`: earlier extensions and pauses no
    /// longer apply.
    pub fn restart(&mut self, at: Timestamp, period: Period) {
        self.period = period;
        self.started_at = at;
        self.extensions.clear();
        self.paused_at = None;
        self.paused_ms = 0;
        self.restarts = self.restarts.saturating_add(1);
    }
}
