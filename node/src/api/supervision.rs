//! Supervision: overdue clocks across open cases, recorded illegal attempts (rejection
//! entries), and the supervision figures.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::{Extension, Json};
use proto_types::supervision::{monthly_ranking, summarize, MonthRanking};
use proto_types::workflow::{CaseRecord, HandoffRecord};
use proto_types::Record;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use crate::ledger::read::Records;
use crate::ledger::Reader;
use crate::node::NodeCtx;
use crate::store::blocking;

/// Parameters of the overdue list.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OverdueQuery {
    /// "Now": Unix ms (`1788220800000`) or an RFC 3339 date-time (`2026-09-01T00:00:00Z`), at
    /// most 9999-12-31T23:59:59.999Z (default: the node's ledger clock).
    pub now: Option<String>,
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
    let limit = super::query::page_limit(q.limit, max, max)?;
    let registry = node
        .ledger
        .registry()
        .ok_or_else(|| ApiError::unavailable("the ledger has no genesis yet"))?;
    let now = super::query::now_param(&node, q.now.as_deref())?;
    let reader = Reader::new(&node.store);
    let after = q.after;
    // A department's cursor never names a case it may not read (issue 15: it enumerated
    // every case id): its page ends at the last case it may read, and a page that found none
    // goes on until it finds one or the cases end (one seek per case skipped).
    let restricted = caller.department().is_some();
    let (examined, alerts, next) = blocking(move || {
        let mut cursor = after.clone();
        let mut readable_cursor = after;
        let mut found = false;
        let mut examined = 0u64;
        let mut out = Vec::new();
        while examined < limit || restricted && !found {
            let Some(case) = reader.next_case(cursor.as_deref())? else {
                return Ok((examined, out, None));
            };
            examined += 1;
            cursor = Some(case.case_id.as_str().to_owned());
            if !caller.may_read_case(&case) {
                continue;
            }
            found = true;
            readable_cursor.clone_from(&cursor);
            if case.is_closed()
                || case.open_handoffs.is_empty()
                    && case
                        .persons
                        .iter()
                        .all(|p| p.measures.iter().all(|m| !m.active))
            {
                continue;
            }
            if let Some(b) = reader.case_bundle(&case.case_id, false)? {
                out.extend(proto_types::clock::alerts(
                    &b.case,
                    &b.handoffs,
                    &registry.policy,
                    now,
                ));
            }
        }
        Ok((
            examined,
            out,
            if restricted { readable_cursor } else { cursor },
        ))
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
#[into_params(parameter_in = Query)]
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
    let limit = super::query::page_limit(q.limit, 100.min(max), max)?;
    let reader = Reader::new(&node.store);
    let from = q.from;
    // A department pages through its own rows (the entries it signed, sent or received), so
    // its cursor is the position of one of its own entries, never another's rejection.
    let own = caller.department().cloned();
    let viewer = caller.clone();
    let entries = blocking(move || {
        let rows = match &own {
            Some(org) => reader.org_entries(org, from, limit as usize)?,
            None => reader.rejections(from, limit as usize)?,
        };
        let mut out = Vec::new();
        for entry in rows {
            // The detail of a refused step on a case the department may not read names facts
            // of that case (its holder, its stage): shown only to those who may read it.
            let shown = match (&entry.body.record, &own) {
                (Record::Rejected(r), Some(_)) => match r.submission.payload.case_id() {
                    Some(id) => reader.case(id)?.is_some_and(|c| viewer.may_read_case(&c)),
                    None => true,
                },
                _ => true,
            };
            out.push((entry, shown));
        }
        Ok(out)
    })
    .await
    .map_err(|e| ApiError::internal("reading rejections", e))?;
    let full = entries.len() as u64 == limit;
    let rejections: Vec<RejectionView> = entries
        .iter()
        .filter_map(|(e, shown)| match &e.body.record {
            Record::Rejected(r)
                if caller
                    .department()
                    .is_none_or(|o| r.submission.payload.signer_org() == Some(o)) =>
            {
                Some(RejectionView {
                    index: e.body.index,
                    time_ms: e.body.accepted_at.as_millis(),
                    rule: if *shown {
                        r.rule.code()
                    } else {
                        proto_types::Rule::UnknownCase.code()
                    },
                    detail: if *shown {
                        r.detail.clone()
                    } else {
                        "the case is not on the ledger, or this organisation took no part in it"
                            .to_owned()
                    },
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
        entries.last().map(|(e, _)| e.body.index + 1)
    } else {
        None
    };
    Ok(Json(Rejections { rejections, next }))
}

/// Parameters of the figures.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// "Now": Unix ms (`1788220800000`) or an RFC 3339 date-time (`2026-09-01T00:00:00Z`), at
    /// most 9999-12-31T23:59:59.999Z (default: the node's ledger clock).
    pub now: Option<String>,
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
#[utoipa::path(get, path = "/v1/stats", tag = "supervision", params(StatsQuery),
    responses((status = 200, body = Stats), (status = 400, body = ErrorBody)))]
pub async fn stats(
    State(node): State<Arc<NodeCtx>>,
    Query(q): Query<StatsQuery>,
) -> Result<Json<Stats>, ApiError> {
    let registry = node
        .ledger
        .registry()
        .ok_or_else(|| ApiError::unavailable("the ledger has no genesis yet"))?;
    let now = super::query::now_param(&node, q.now.as_deref())?;
    let reader = Reader::new(&node.store);
    let Records {
        cases, handoffs, ..
    } = blocking(move || reader.records(usize::MAX))
        .await
        .map_err(|e| ApiError::internal("reading cases", e))?;
    let (summary, _) = summarize(&cases, &handoffs, &registry.policy, now);
    Ok(Json(Stats {
        now: now.as_millis(),
        summary: serde_json::to_value(&summary)
            .map_err(|e| ApiError::internal("encoding stats", e))?,
    }))
}

/// Most cases the dashboard reads per call.
pub const MAX_DASHBOARD_CASES: usize = 200_000;

/// Parameters of the dashboard.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DashboardQuery {
    /// "Now": Unix ms (`1788220800000`) or an RFC 3339 date-time (`2026-09-01T00:00:00Z`), at
    /// most 9999-12-31T23:59:59.999Z (default: the node's ledger clock).
    pub now: Option<String>,
    /// Only cases of this type (`THEFT`, `DANGEROUS_DRIVING`, ...).
    pub case_type: Option<String>,
    /// Only cases filed by a department of this city (the registry's `city`, e.g. `Lanzhou`).
    pub city: Option<String>,
}

/// The supervision dashboard's figures over the cases that pass the filters.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Dashboard {
    /// The "now" used, Unix ms.
    pub now: u64,
    /// The filters applied.
    pub case_type: Option<String>,
    /// The filters applied.
    pub city: Option<String>,
    /// Every case type and city in the ledger (for the filter choices).
    pub case_types: Vec<String>,
    /// Every city of the registry.
    pub cities: Vec<String>,
    /// `proto_types::supervision::Summary` over the filtered cases and their handoffs.
    #[schema(value_type = Object)]
    pub summary: serde_json::Value,
    /// The alerts at `now` (overdue, due soon, missing custody transfer) with the responsible
    /// department.
    #[schema(value_type = Vec<Object>)]
    pub alerts: Vec<serde_json::Value>,
    /// Per month (of `sent_at`, local time), departments ranked (`proto_types::supervision::MonthRanking`).
    #[schema(value_type = Vec<Object>)]
    pub monthly: Vec<serde_json::Value>,
    /// Whether the cases were cut at [`MAX_DASHBOARD_CASES`].
    pub truncated: bool,
}

/// `GET /v1/supervision/dashboard?case_type=&city=&now=`: the figures, alerts and monthly
/// ranking of departments over the cases of one type and/or one city. Cost as `/v1/stats`
/// (a full scan of case and handoff records), with at most [`MAX_DASHBOARD_CASES`] cases.
#[utoipa::path(get, path = "/v1/supervision/dashboard", tag = "supervision", params(DashboardQuery),
    responses((status = 200, body = Dashboard), (status = 400, body = ErrorBody)))]
pub async fn dashboard(
    State(node): State<Arc<NodeCtx>>,
    Query(q): Query<DashboardQuery>,
) -> Result<Json<Dashboard>, ApiError> {
    let registry = node
        .ledger
        .registry()
        .ok_or_else(|| ApiError::unavailable("the ledger has no genesis yet"))?;
    let mut cities: Vec<String> = registry
        .organisations
        .values()
        .map(|o| o.city.clone())
        .collect();
    cities.sort();
    cities.dedup();
    let case_type = q.case_type.filter(|t| !t.is_empty());
    let city = q.city.filter(|c| !c.is_empty());
    if let Some(c) = &city {
        if !cities.contains(c) {
            return Err(ApiError::malformed(format!(
                "no organisation of the registry serves the city {c:?}"
            )));
        }
    }
    if let Some(t) = &case_type {
        if !t
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b == b'_' || b.is_ascii_digit())
        {
            return Err(ApiError::malformed(format!(
                "{t:?} is not a case type (upper case letters, digits and _)"
            )));
        }
    }
    let now = super::query::now_param(&node, q.now.as_deref())?;
    let reader = Reader::new(&node.store);
    let Records {
        cases,
        handoffs,
        truncated,
    } = blocking(move || reader.records(MAX_DASHBOARD_CASES))
        .await
        .map_err(|e| ApiError::internal("reading cases", e))?;
    let mut case_types: Vec<String> = cases.iter().map(|c| c.case_type.to_string()).collect();
    case_types.sort();
    case_types.dedup();
    let city_of = |org| registry.organisation(org).map(|o| o.city.as_str());
    let kept: Vec<&CaseRecord> = cases
        .iter()
        .filter(|c| {
            case_type
                .as_ref()
                .is_none_or(|t| c.case_type.to_string() == *t)
        })
        .filter(|c| {
            city.as_deref()
                .is_none_or(|t| city_of(&c.filed_by) == Some(t))
        })
        .collect();
    let ids: std::collections::HashSet<&str> = kept.iter().map(|c| c.case_id.as_str()).collect();
    let kept_handoffs: Vec<&HandoffRecord> = handoffs
        .iter()
        .filter(|h| ids.contains(h.case_id.as_str()))
        .collect();
    let (summary, alerts) = summarize(
        kept.iter().copied(),
        kept_handoffs.iter().copied(),
        &registry.policy,
        now,
    );
    let monthly: Vec<MonthRanking> = monthly_ranking(
        kept_handoffs.iter().copied(),
        registry.policy.utc_offset_minutes,
    );
    let json = |v: serde_json::Result<serde_json::Value>| {
        v.map_err(|e| ApiError::internal("encoding the dashboard", e))
    };
    Ok(Json(Dashboard {
        now: now.as_millis(),
        case_type,
        city,
        case_types,
        cities,
        summary: json(serde_json::to_value(&summary))?,
        alerts: alerts
            .iter()
            .map(|a| json(serde_json::to_value(a)))
            .collect::<Result<_, _>>()?,
        monthly: monthly
            .iter()
            .map(|m| json(serde_json::to_value(m)))
            .collect::<Result<_, _>>()?,
        truncated,
    }))
}
