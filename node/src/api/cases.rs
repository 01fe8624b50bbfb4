//! `GET /v1/cases/{case_id}`: a case as the ledger knows it: its record (stage, holder, stage
//! history), its timeline (every entry indexed under it), its handoffs with their loop status
//! and due times, and its alerts at the node's clock.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Extension;
use axum::Json;
use proto_types::clock::{alerts, due_time};
use proto_types::ids::CaseId;
use proto_types::policy::Policy;
use proto_types::workflow::HandoffRecord;
use proto_types::{Record, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{forbidden, Caller};
use super::error::{ApiError, ErrorBody};
use crate::ledger::Reader;
use crate::node::NodeCtx;
use crate::store::blocking;

/// One entry of a case's timeline.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TimelineItem {
    /// Ledger index.
    pub index: u64,
    /// The entry's kind (`handoff`, `receipt`, ...).
    pub kind: String,
    /// Who signed it.
    #[schema(value_type = Object)]
    pub signer: serde_json::Value,
    /// The submission id.
    pub id: String,
    /// Ledger time, Unix ms.
    pub time_ms: u64,
    /// The rule code, if the entry records a rejection.
    pub rejected: Option<String>,
}

/// A case with its timeline, handoffs and alerts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CaseView {
    /// The case record: `case_id`, `case_type`, `stage`, `holder`, `history`, `persons`, ...
    #[schema(value_type = Object)]
    pub case: serde_json::Value,
    /// Current stage.
    #[schema(value_type = Object)]
    pub stage: serde_json::Value,
    /// Current holder.
    pub holder: String,
    /// Every entry of the case, in ledger order.
    pub timeline: Vec<TimelineItem>,
    /// Every handoff of the case: its record plus `open`, `closed` and `due_at` (Unix ms of
    /// its clock's due time at the node's clock, if it has a running clock).
    #[schema(value_type = Vec<Object>)]
    pub handoffs: Vec<serde_json::Value>,
    /// The handoffs whose loop is open, with due times.
    #[schema(value_type = Vec<Object>)]
    pub open_handoffs: Vec<serde_json::Value>,
    /// Alerts at the node's clock.
    #[schema(value_type = Vec<Object>)]
    pub alerts: Vec<serde_json::Value>,
    /// Whether the timeline was cut at [`crate::ledger::read::MAX_TIMELINE`] rows.
    pub truncated: bool,
}

/// A handoff as JSON: its record, `open`, `closed` and `due_at` (Unix ms, if it has a clock).
pub(crate) fn handoff_json(
    h: &HandoffRecord,
    policy: &Policy,
    now: Timestamp,
) -> serde_json::Value {
    let mut v = serde_json::to_value(h).unwrap_or(serde_json::Value::Null);
    let due = h
        .clock
        .as_ref()
        .map(|c| due_time(c, policy, now).as_millis());
    if let serde_json::Value::Object(m) = &mut v {
        m.insert("open".into(), h.is_open().into());
        m.insert("closed".into(), (!h.is_open()).into());
        m.insert("due_at".into(), due.into());
    }
    v
}

/// `GET /v1/cases/{case_id}`.
///
/// Access: the organisations that took part in the case (filed, held, sent, received or
/// recorded in it), the PLC, auditors and nodes. Any other department gets 403 `FORBIDDEN`,
/// whether or not the case exists (only those who read everything learn that it does not).
#[utoipa::path(get, path = "/v1/cases/{case_id}", tag = "cases",
    params(("case_id" = String, Path, description = "The case id")),
    responses((status = 200, body = CaseView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn case(
    State(node): State<Arc<NodeCtx>>,
    Extension(caller): Extension<Caller>,
    Path(case_id): Path<String>,
) -> Result<Json<CaseView>, ApiError> {
    let id: CaseId = serde_json::from_value(serde_json::Value::String(case_id.clone()))
        .map_err(|e| ApiError::malformed(format!("not a case id: {e}")))?;
    let registry = node
        .ledger
        .registry()
        .ok_or_else(|| ApiError::unavailable("the ledger has no genesis yet"))?;
    let not_yours = || {
        forbidden(format!(
            "{case_id} is not a case this organisation took part in"
        ))
    };
    let reader = Reader::new(&node.store);
    let record = blocking(move || reader.case(&id))
        .await
        .map_err(|e| ApiError::internal("reading a case", e))?;
    match &record {
        Some(r) if !caller.may_read_case(r) => return Err(not_yours()),
        None if !caller.reads_everything() => return Err(not_yours()),
        _ => {}
    }
    let id = record
        .ok_or_else(|| ApiError::not_found(format!("no case {case_id}")))?
        .case_id;
    let reader = Reader::new(&node.store);
    let bundle = blocking(move || reader.case_bundle(&id, true))
        .await
        .map_err(|e| ApiError::internal("reading a case", e))?
        .ok_or_else(|| ApiError::not_found(format!("no case {case_id}")))?;
    let now = node.now();
    let timeline = bundle
        .entries
        .iter()
        .map(|e| {
            let sub = e.body.record.submission();
            TimelineItem {
                index: e.body.index,
                kind: sub.payload.action.kind_name().to_owned(),
                signer: serde_json::to_value(&sub.payload.signer).unwrap_or_default(),
                id: sub.payload.id.as_str().to_owned(),
                time_ms: e.body.accepted_at.as_millis(),
                rejected: match &e.body.record {
                    Record::Rejected(r) => Some(r.rule.code()),
                    Record::Accepted(_) => None,
                },
            }
        })
        .collect();
    let mut handoffs = bundle.handoffs;
    handoffs.sort_by_key(|h| h.index);
    let alerts = alerts(&bundle.case, &handoffs, &registry.policy, now)
        .iter()
        .map(|a| serde_json::to_value(a).unwrap_or_default())
        .collect();
    let views: Vec<serde_json::Value> = handoffs
        .iter()
        .map(|h| handoff_json(h, &registry.policy, now))
        .collect();
    let open = handoffs
        .iter()
        .filter(|h| h.is_open())
        .map(|h| handoff_json(h, &registry.policy, now))
        .collect();
    Ok(Json(CaseView {
        stage: serde_json::to_value(bundle.case.stage).unwrap_or_default(),
        holder: bundle.case.holder.as_str().to_owned(),
        case: serde_json::to_value(&bundle.case)
            .map_err(|e| ApiError::internal("encoding a case", e))?,
        timeline,
        handoffs: views,
        open_handoffs: open,
        alerts,
        truncated: bundle.truncated,
    }))
}
