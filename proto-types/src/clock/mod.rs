//! The clock engine: due times of handoff and measure clocks, and the alerts a supervisor
//! sees for a given "now" (docs/DOMAIN.md "Clocks").
//!
//! Counting follows Art. 105: the day a period starts is not counted, so a period of N days
//! from an instant on local date D ends at the end of local date D+N; N months end on the
//! same day number N months later (clamped to the month's end); N working days end on the
//! N-th working day after D. If the last day is not a working day the period ends on the next
//! working day, except while the person is in custody: then the calendar day stands. Dates
//! are local dates at `policy.utc_offset_minutes`; the calendar is `policy.calendar`.
//!
//! Adjustments: an extension adds its period to the (unshifted) last day; a pause adds the
//! paused duration to the due instant; a full restart counts the period afresh from the
//! restart. Nothing here reads a clock: "now" is an argument.

mod alert;

pub use alert::{alerts, is_illegal_attempt, rejection_alert, Alert, AlertKind};

use crate::ids::OrgId;
use crate::policy::{Calendar, Period, Policy};
use crate::time::{Date, Timestamp};
use serde::{Deserialize, Serialize};

/// Longest span a single period may add, in days, months and working days: about 100 years.
/// Periods come from policy and from signed extensions; these bounds keep date arithmetic far
/// from overflow whatever a submission says.
const MAX_DAYS: u32 = 36_600;
const MAX_MONTHS: u32 = 1_200;
const MAX_WORKING_DAYS: u32 = 26_000;
/// The longest run of non-working days searched for the next working day (ten years).
const MAX_NON_WORKING_RUN: u32 = 3_660;

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

    /// Whether the clock stopped after its due time (a late response), once stopped.
    pub fn was_late(&self, policy: &Policy) -> Option<bool> {
        self.stopped_at.map(|s| s >= due_time(self, policy, s))
    }
}

/// The due instant of a clock: the end of its last day (Art. 105, see the module doc) plus
/// the time it was paused. An open pause counts until `now` (or until the clock stopped), so a
/// paused clock's due time moves on with `now`.
pub fn due_time(clock: &ClockState, policy: &Policy, now: Timestamp) -> Timestamp {
    let offset = policy.utc_offset_minutes;
    let start = clock.started_at.local_date(offset);
    let last = due_date(
        start,
        clock.period,
        clock.extensions.iter().map(|e| e.period),
        clock.custody,
        &policy.calendar,
    );
    let open_pause = clock
        .paused_at
        .map_or(0, |p| clock.stopped_at.unwrap_or(now).millis_since(p));
    last.end_instant(offset)
        .plus_millis(clock.paused_ms.saturating_add(open_pause))
}

/// The last day of a period started on local date `start`, extended by `extensions` in
/// order, moved to the next working day unless the person is in custody (Art. 105).
pub fn due_date(
    start: Date,
    period: Period,
    extensions: impl IntoIterator<Item = Period>,
    custody: bool,
    calendar: &Calendar,
) -> Date {
    let mut last = add_period(start, period, calendar);
    for p in extensions {
        last = add_period(last, p, calendar);
    }
    if custody {
        last
    } else {
        next_working_day(last, calendar)
    }
}

/// `d` plus a period, the start day not counted: the nominal last day, not yet moved off a
/// holiday.
pub fn add_period(d: Date, period: Period, calendar: &Calendar) -> Date {
    match period {
        Period::Days(n) => d.plus_days(n.min(MAX_DAYS) as i32),
        Period::Months(n) => d.plus_months(n.min(MAX_MONTHS)),
        Period::WorkingDays(n) => add_working_days(d, n.min(MAX_WORKING_DAYS), calendar),
    }
}

/// The `n`-th working day after `d` (`d` itself if `n` is 0).
pub fn add_working_days(d: Date, n: u32, calendar: &Calendar) -> Date {
    let mut day = d;
    for _ in 0..n {
        day = next_working_day(day.plus_days(1), calendar);
    }
    day
}

/// `d` if it is a working day, else the first working day after it.
pub fn next_working_day(d: Date, calendar: &Calendar) -> Date {
    let mut day = d;
    for _ in 0..MAX_NON_WORKING_RUN {
        if calendar.is_working_day(day) {
            return day;
        }
        day = day.plus_days(1);
    }
    // A calendar without a working day for ten years is not a calendar; the count stops here
    // rather than loop, and every replica stops at the same day.
    day
}

/// The most extensions one clock takes between restarts.
pub const MAX_EXTENSIONS: usize = 16;

/// Whether a signed extension's period is acceptable: at least one unit, at most about ten
/// years (3,660 days, 120 months, 2,600 working days). With [`MAX_EXTENSIONS`] this keeps
/// every due date a replica computes small and far from overflow.
pub fn extension_in_bounds(period: Period) -> bool {
    match period {
        Period::Days(n) => (1..=3_660).contains(&n),
        Period::Months(n) => (1..=120).contains(&n),
        Period::WorkingDays(n) => (1..=2_600).contains(&n),
    }
}
