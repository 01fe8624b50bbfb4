//! `GET /v1/stats/activity`: entries per minute of ledger time over the last minutes before
//! the head (the explorer's overview charts it).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody, ErrorCode};
use crate::ledger::Reader;
use crate::node::NodeCtx;
use crate::store::blocking;

/// Most entries read per call (the newest ones).
pub const MAX_ACTIVITY_ENTRIES: u64 = 10_000;
/// Longest window, in minutes (a day).
pub const MAX_ACTIVITY_MINUTES: u64 = 1440;
const MINUTE_MS: u64 = 60_000;

/// Parameters of the activity figures.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// Minutes of ledger time before the head (default 60, at most 1440).
    pub minutes: Option<u64>,
}

/// Entries per minute of ledger time.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Activity {
    /// The end of the window: the head's time, Unix ms (0 for an empty ledger).
    pub until_ms: u64,
    /// Minutes in the window.
    pub minutes: u64,
    /// Entries accepted in each minute, oldest first: minute `i` covers
    /// `(until_ms - (minutes - i) * 60000, until_ms - (minutes - i - 1) * 60000]`.
    pub per_minute: Vec<u64>,
    /// Entries read (the newest, at most 10,000).
    pub entries_examined: u64,
    /// False when the window reaches further back than the entries read.
    pub complete: bool,
}

/// `GET /v1/stats/activity?minutes=`. Bounded: reads at most the newest 10,000 entries.
#[utoipa::path(get, path = "/v1/stats/activity", tag = "supervision", params(ActivityQuery),
    responses((status = 200, body = Activity), (status = 400, body = ErrorBody)))]
pub async fn activity(
    State(node): State<Arc<NodeCtx>>,
    Query(q): Query<ActivityQuery>,
) -> Result<Json<Activity>, ApiError> {
    let minutes = q.minutes.unwrap_or(60);
    if minutes == 0 || minutes > MAX_ACTIVITY_MINUTES {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadWindow,
            format!("minutes must be 1..={MAX_ACTIVITY_MINUTES}"),
        ));
    }
    let head = node.ledger.head();
    let until = head.time.as_millis();
    // Never read into a range the self-check found damaged.
    let size = node
        .selfcheck
        .damaged_from()
        .map_or(head.size, |d| d.index.min(head.size));
    let from = size.saturating_sub(MAX_ACTIVITY_ENTRIES);
    let reader = Reader::new(&node.store);
    let times = blocking(move || reader.entry_times(from..size, MAX_ACTIVITY_ENTRIES as usize))
        .await
        .map_err(|e| ApiError::internal("reading entries", e))?;
    let start = until.saturating_sub(minutes * MINUTE_MS);
    let mut per_minute = vec![0u64; minutes as usize];
    for t in &times {
        if *t > start && *t <= until {
            let i = ((t - start - 1) / MINUTE_MS) as usize;
            if let Some(slot) = per_minute.get_mut(i) {
                *slot += 1;
            }
        }
    }
    let complete = from == 0 || times.first().is_some_and(|t| *t <= start);
    Ok(Json(Activity {
        until_ms: until,
        minutes,
        per_minute,
        entries_examined: times.len() as u64,
        complete,
    }))
}
