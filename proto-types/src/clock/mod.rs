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

/// The clock record, defined with the other records (its path here still works).
pub use crate::records::{ClockState, Extension};
pub use alert::{alerts, is_illegal_attempt, rejection_alert, Alert, AlertKind};

use crate::policy::{Calendar, Period, Policy};
use crate::time::{Date, Timestamp};

/// Longest span a single period may add, in days, months and working days: about 100 years.
/// Periods come from policy and from signed extensions; these bounds keep date arithmetic far
/// from overflow whatever a submission says.
const MAX_DAYS: u32 = 36_600;
const MAX_MONTHS: u32 = 1_200;
const MAX_WORKING_DAYS: u32 = 26_000;
/// The longest run of non-working days searched for the next working day (ten years).
const MAX_NON_WORKING_RUN: u32 = 3_660;

/// The clock engine's judgement of a clock record (the record itself is plain data,
/// [`crate::records::ClockState`]).
impl ClockState {
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
