//! Supervision: overdue clocks across open cases, recorded illegal attempts (rejection
//! entries), and the supervision figures.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::{Extension, Json};
use proto_types::encoding::decode;
use proto_types::supervision::summarize;
use proto_types::workflow::{CaseRecord, HandoffRecord};
use proto_types::{Entry, Record, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::cases::load_case;
use super::error::{ApiError, ErrorBody};
use crate::ledger::keys;
use crate::node::NodeCtx;
use crate::store::{be_u64, blocking, Cf, Store, StoreError};

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what: what.to_owned(),
        detail: e.to_string(),
    }
}

/// The next case record after `after` (exclusive), skipping timeline rows with one seek per
/// case. Case ids are printable ASCII, so `id || 0x02` sorts after all of a case's rows and
/// before any other id.
fn next_case(store: &Store, after: Option<&str>) -> Result<Option<CaseRecord>, StoreError> {
    let mut from: Vec<u8> = after
        .map(|a| [a.as_bytes(), &[0x02]].concat())
        .unwrap_or_default();
    loop {
        let Some((key, value)) = store.scan(Cf::ByCase, &from, None, 1)?.into_iter().next() else {
            return Ok(None);
        };
        let id_len = key.iter().position(|b| *b < 0x20).unwrap_or(key.len());
        if key.get(id_len) == Some(&0x00) && key.len() == id_len + 1 {
            return decode(&value)
                .map(Some)
                .map_err(|e| corrupt("case record", e));
        }
        // Timeline rows of an id with no case record (a rejected filing): skip them.
        from = [&key[..id_len], &[0x02]].concat();
    }
}

/// Parameters of the overdue list.
#[derive(Debug, Clone, Deserialize, IntoParams)]
pub struct OverdueQuery {
    /// "Now", Unix ms (default: the node's ledger clock).
    pub now: Option<u64>,
    /// Continue after this case id (from `next` of the previous page).
    pub after: Option<String>,
    /// Most cases to examine (default and maximum: the node's page limit).
    pub limit: Option<u64>,
}

/// Alerts across open cases at `now`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Overdue {
    /// The "now" used, Unix ms.
    pub now: u64,
    /// Cases examined.
    pub cases_examined: u64,
    /// Overdue, due-soon and missing custody transfer alerts.
    #[schema(value_type = Vec<Object>)]
    pub alerts: Vec<serde_json::Value>,
    /// The case id to continue after, if more cases may follow.
    pub next: Option<String>,
}

/// `GET /v1/supervision/overdue`: the alerts of open cases at `now`. Bounded: examines at
/// most `limit` cases per call, one seek and one timeline scan each, and pages with `after`.
///
/// Access: the PLC, auditors and nodes see every case's alerts; a department sees the alerts
/// of the cases it took part in (the others are examined and skipped).
#[utoipa::path(get, path = "/v1/supervision/overdue", tag = "supervision", params(OverdueQuery),
    responses((status = 200, body = Overdue), (status = 400, body = ErrorBody)))]
pub async fn overdue(
    State(node): State<Arc<NodeCtx>>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<OverdueQuery>,
) -> Result<Json<Overdue>, ApiError> {
    let max = node.limits.max_page;
    let limit = q.limit.unwrap_or(max);
    if limit == 0 || limit > max {
        return Err(super::query::page_too_large(max));
    }
    let registry = node
        .ledger
        .registry()
        .ok_or_else(|| ApiError::unavailable("the ledger has no genesis yet"))?;
    let now = q.now.map_or_else(|| node.now(), Timestamp::from_millis);
    let store = node.store.clone();
    let after = q.after;
    let (examined, alerts, next) = blocking(move || {
        let mut cursor = after;
        let mut examined = 0u64;
        let mut out = Vec::new();
        while examined < limit {
            let Some(case) = next_case(&store, cursor.as_deref())? else {
                return Ok((examined, out, None));
            };
            examined += 1;
            cursor = Some(case.case_id.as_str().to_owned());
            if !caller.may_read_case(&case)
                || case.is_closed()
                || case.open_handoffs.is_empty()
                    && case
                        .persons
                        .iter()
                        .all(|p| p.measures.iter().all(|m| !m.active))
            {
                continue;
            }
            if let Some(b) = load_case(&store, &case.case_id, false)? {
                out.extend(proto_types::clock::alerts(
                    &b.case,
                    &b.handoffs,
                    &registry.policy,
                    now,
                ));
            }
        }
        Ok((examined, out, cursor))
    })
    .await
    .map_err(|e| ApiError::internal("reading cases", e))?;
    let alerts = alerts
        .iter()
        .map(|a| serde_json::to_value(a).unwrap_or_default())
        .collect();
    Ok(Json(Overdue {
        now: now.as_millis(),
        cases_examined: examined,
        alerts,
        next,
    }))
}

/// Parameters of the rejections list.
#[derive(Debug, Clone, Deserialize, IntoParams)]
pub struct RejectionsQuery {
    /// First ledger index.
    #[serde(default)]
    pub from: u64,
    /// Most rejections (default 100, at most the node's page limit).
    pub limit: Option<u64>,
}

/// A recorded illegal attempt.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RejectionView {
    /// The rejection entry's index.
    pub index: u64,
    /// Ledger time, Unix ms.
    pub time_ms: u64,
    /// The rule code.
    pub rule: String,
    /// Details.
    pub detail: String,
    /// The kind of step attempted.
    pub kind: String,
    /// The submission id.
    pub id: String,
    /// Who signed it.
    #[schema(value_type = Object)]
    pub signer: serde_json::Value,
    /// The case, if the step named one.
    pub case_id: Option<String>,
}

/// A page of rejections.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Rejections {
    /// The rejections, in ledger order.
    pub rejections: Vec<RejectionView>,
    /// The index to ask for next, if there may be more.
    pub next: Option<u64>,
}

/// `GET /v1/supervision/rejections`.
///
/// Access: the PLC, auditors and nodes see every recorded illegal attempt; a department sees
/// those it signed itself.
#[utoipa::path(get, path = "/v1/supervision/rejections", tag = "supervision", params(RejectionsQuery),
    responses((status = 200, body = Rejections), (status = 400, body = ErrorBody)))]
pub async fn rejections(
    State(node): State<Arc<NodeCtx>>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<RejectionsQuery>,
) -> Result<Json<Rejections>, ApiError> {
    let max = node.limits.max_page;
    let limit = q.limit.unwrap_or(100.min(max));
    if limit == 0 || limit > max {
        return Err(super::query::page_too_large(max));
    }
    let store = node.store.clone();
    let from = q.from;
    let entries = blocking(move || {
        let (_, until) = keys::rejections();
        let rows = store.scan(
            Cf::ByOrg,
            &keys::rejection(from),
            Some(&until),
            limit as usize,
        )?;
        let mut out = Vec::new();
        for (key, _) in rows {
            let index = key
                .get(key.len().saturating_sub(8)..)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| corrupt("rejection key", "too short"))?;
            let bytes = store
                .get(Cf::Ledger, &be_u64(index))?
                .ok_or_else(|| corrupt("rejection", format!("entry {index} is missing")))?;
            out.push(Entry::from_bytes(&bytes).map_err(|e| corrupt("ledger entry", e))?);
        }
        Ok(out)
    })
    .await
    .map_err(|e| ApiError::internal("reading rejections", e))?;
    let full = entries.len() as u64 == limit;
    let rejections: Vec<RejectionView> = entries
        .iter()
        .filter_map(|e| match &e.body.record {
            Record::Rejected(r)
                if caller
                    .department()
                    .is_none_or(|o| r.submission.payload.signer_org() == Some(o)) =>
            {
                Some(RejectionView {
                    index: e.body.index,
                    time_ms: e.body.accepted_at.as_millis(),
                    rule: r.rule.code(),
                    detail: r.detail.clone(),
                    kind: r.submission.payload.action.kind_name().to_owned(),
                    id: r.submission.payload.id.as_str().to_owned(),
                    signer: serde_json::to_value(&r.submission.payload.signer).unwrap_or_default(),
                    case_id: r
                        .submission
                        .payload
                        .case_id()
                        .map(|c| c.as_str().to_owned()),
                })
            }
            Record::Rejected(_) | Record::Accepted(_) => None,
        })
        .collect();
    let next = if full {
        entries.last().map(|e| e.body.index + 1)
    } else {
        None
    };
    Ok(Json(Rejections { rejections, next }))
}

/// Parameters of the figures.
#[derive(Debug, Clone, Deserialize, IntoParams)]
pub struct StatsQuery {
    /// "Now", Unix ms (default: the node's ledger clock).
    pub now: Option<u64>,
}

/// The supervision figures.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Stats {
    /// The "now" used, Unix ms.
    pub now: u64,
    /// `proto_types::supervision::Summary`: cases by stage and type, handoffs by kind, per
    /// organisation counts, mean days per stage, returns, late responses, alerts counts.
    #[schema(value_type = Object)]
    pub summary: serde_json::Value,
}

/// `GET /v1/stats`. Access: the PLC, auditors and nodes (departments get 403 `FORBIDDEN`).
/// Cost: reads every case record and every handoff record (a full scan of
/// `by_case` records and of `by_handoff_id`'s `h` rows), O(cases + handoffs) per call, with
/// all handoff records in memory at once. Fine for a pilot province; a maintained aggregate
/// updated on apply is the way past that.
#[utoipa::path(get, path = "/v1/stats", tag = "supervision", params(StatsQuery), responses((status = 200, body = Stats)))]
pub async fn stats(
    State(node): State<Arc<NodeCtx>>,
    Query(q): Query<StatsQuery>,
) -> Result<Json<Stats>, ApiError> {
    let registry = node
        .ledger
        .registry()
        .ok_or_else(|| ApiError::unavailable("the ledger has no genesis yet"))?;
    let now = q.now.map_or_else(|| node.now(), Timestamp::from_millis);
    let store = node.store.clone();
    let (cases, handoffs) = blocking(move || {
        let mut cases: Vec<CaseRecord> = Vec::new();
        let mut cursor: Option<String> = None;
        while let Some(c) = next_case(&store, cursor.as_deref())? {
            cursor = Some(c.case_id.as_str().to_owned());
            cases.push(c);
        }
        let mut handoffs: Vec<HandoffRecord> = Vec::new();
        let mut from = b"h\0".to_vec();
        loop {
            let rows = store.scan(Cf::ByHandoffId, &from, Some(b"h\x01"), 1024)?;
            let Some((last, _)) = rows.last() else { break };
            from = [last.as_slice(), &[0x00]].concat();
            for (_, v) in &rows {
                handoffs.push(decode(v).map_err(|e| corrupt("handoff record", e))?);
            }
        }
        Ok((cases, handoffs))
    })
    .await
    .map_err(|e| ApiError::internal("reading cases", e))?;
    let (summary, _) = summarize(&cases, &handoffs, &registry.policy, now);
    Ok(Json(Stats {
        now: now.as_millis(),
        summary: serde_json::to_value(&summary)
            .map_err(|e| ApiError::internal("encoding stats", e))?,
    }))
}
