//! Reads: `case`, `head`, `prove`, `tail`, `overdue`, `stats`. Tables for people by default,
//! the node's JSON with `--json`.

use crate::table::{self, Table};
use anyhow::{bail, Context, Result};
use caseledger_client::http::{Answer, Client};
use clap::Args;
use proto_types::clock::{Alert, AlertKind};
use proto_types::merkle::{leaf_hash, verify_inclusion, MerkleHash};
use proto_types::payload::{ClockRef, Signer};
use proto_types::wire::{CaseView, EntryPage, EntryView, Head, InclusionProof, Overdue};
use proto_types::{Entry, Record, Timestamp};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

use super::{print_json, refused, time_text, Env, FAILED, OK};

/// `case <id>`.
#[derive(Args, Debug, Clone)]
pub struct CaseArgs {
    /// The case id.
    pub case_id: String,
    /// Print the node's JSON.
    #[arg(long)]
    pub json: bool,
}

/// `head`.
#[derive(Args, Debug, Clone)]
pub struct HeadArgs {
    /// Print JSON (one object per node).
    #[arg(long)]
    pub json: bool,
}

/// `prove <index>`.
#[derive(Args, Debug, Clone)]
pub struct ProveArgs {
    /// The entry's index.
    pub index: u64,
    /// The tree size to prove against; default: the current head's.
    #[arg(long)]
    pub tree_size: Option<u64>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `tail`.
#[derive(Args, Debug, Clone)]
pub struct TailArgs {
    /// First index to show; default: the current head (only new entries).
    #[arg(long)]
    pub from: Option<u64>,
    /// Stop after this many entries; default: follow until interrupted.
    #[arg(long)]
    pub count: Option<u64>,
    /// How often to poll the head, in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub interval_ms: u64,
    /// Print one JSON object per line.
    #[arg(long)]
    pub json: bool,
}

/// `overdue`.
#[derive(Args, Debug, Clone)]
pub struct OverdueArgs {
    /// "Now": Unix ms or an RFC 3339 date-time (`2026-09-01T00:00:00Z`); default: the node's
    /// clock.
    #[arg(long, value_parser = proto_types::Timestamp::parse)]
    pub now: Option<proto_types::Timestamp>,
    /// Continue after this case id (the `next` of a previous answer).
    #[arg(long)]
    pub after: Option<String>,
    /// Most cases to examine (default and maximum: the node's page limit).
    #[arg(long)]
    pub limit: Option<u64>,
    /// Print the node's JSON.
    #[arg(long)]
    pub json: bool,
}

/// `stats`.
#[derive(Args, Debug, Clone)]
pub struct StatsArgs {
    /// Print the node's JSON.
    #[arg(long)]
    pub json: bool,
}

/// GETs `path`; `Ok(Err(code))` when the node answered with an error (reported).
async fn answer(client: &Client, path: &str, json: bool) -> Result<Result<Answer, u8>> {
    let answer = client.get_answer(path).await?;
    if !answer.is_success() {
        return Ok(Err(refused(&answer, json)?));
    }
    Ok(Ok(answer))
}

/// GETs `path` and reads it as `T` (a `proto_types::wire` shape, or a `Value` for documents
/// rendered generically); `Ok(Err(code))` when the node answered with an error (reported).
async fn get<T: DeserializeOwned>(
    client: &Client,
    path: &str,
    json: bool,
) -> Result<Result<T, u8>> {
    Ok(match answer(client, path, json).await? {
        Ok(a) => Ok(a.parse()?),
        Err(code) => Err(code),
    })
}

/// Who signed a timeline row: the organisation, or `node-<id>`.
fn signer_text(signer: &Signer) -> String {
    match signer {
        Signer::Org(key) => key.org.to_string(),
        Signer::Node(n) => format!("node-{n}"),
    }
}

/// A time that may be absent, as text (`-` when absent).
fn maybe_time(t: Option<Timestamp>) -> String {
    t.map_or_else(|| "-".into(), |t| t.to_string())
}

/// The case as tables: its stage and holder, its stage history, its timeline of entries,
/// its handoffs with their loop status and due times, and its alerts.
pub fn render_case(view: &CaseView) -> String {
    let c = &view.case;
    let mut out = String::new();
    let mut head = Table::new(["case", "type", "procedure", "stage", "holder"]);
    head.push([
        c.case_id.to_string(),
        table::cell_of(&c.case_type),
        table::cell_of(&c.procedure),
        c.stage.to_string(),
        c.holder.to_string(),
    ]);
    out.push_str(&head.render());
    let mut t = Table::new(["since", "stage", "holder", "index"]);
    for s in &c.history {
        t.push([
            s.since.to_string(),
            s.stage.to_string(),
            s.holder.to_string(),
            s.index.to_string(),
        ]);
    }
    out.push_str("\nstages\n");
    out.push_str(&t.render());
    if !view.timeline.is_empty() {
        let mut t = Table::new(["index", "time", "kind", "signer", "id", "outcome"]);
        for e in &view.timeline {
            let outcome = match &e.rejected {
                Some(rule) => format!("rejected {rule}"),
                None => "accepted".into(),
            };
            t.push([
                e.index.to_string(),
                Timestamp::from_millis(e.time_ms).to_string(),
                e.kind.clone(),
                signer_text(&e.signer),
                e.id.clone(),
                outcome,
            ]);
        }
        out.push_str("\ntimeline\n");
        out.push_str(&t.render());
    }
    if !view.handoffs.is_empty() {
        let mut t = Table::new(["sent", "id", "kind", "from", "to", "status", "due"]);
        for h in &view.handoffs {
            let r = &h.record;
            t.push([
                r.sent_at.to_string(),
                r.id.to_string(),
                table::cell_of(&r.kind),
                r.sender.to_string(),
                r.receiver.to_string(),
                table::cell_of(&r.status),
                maybe_time(h.due_at),
            ]);
        }
        out.push_str("\nhandoffs\n");
        out.push_str(&t.render());
    }
    if !view.alerts.is_empty() {
        out.push_str("\nalerts\n");
        out.push_str(&render_alerts(&view.alerts));
    }
    out
}

/// Runs `case`.
pub async fn case(env: &Env, args: CaseArgs) -> Result<u8> {
    let client = env.client()?;
    let path = format!("/v1/cases/{}", args.case_id);
    let answer = match answer(&client, &path, args.json).await? {
        Ok(a) => a,
        Err(code) => return Ok(code),
    };
    if args.json {
        print_json(&answer.body)?;
    } else {
        print!("{}", render_case(&answer.parse()?));
    }
    Ok(OK)
}

/// Runs `head`: every node's head, so a lagging or diverging node shows.
pub async fn head(env: &Env, args: HeadArgs) -> Result<u8> {
    let client = env.client()?;
    let mut heads = Vec::new();
    let mut answered = false;
    let mut t = Table::new(["node", "size", "head", "root", "time"]);
    for (i, node) in client.nodes().iter().enumerate() {
        match client.get_as_from::<Head>(i, "/v1/head").await {
            Ok(h) => {
                t.push([
                    node.clone(),
                    h.size.to_string(),
                    h.head_hash.clone(),
                    h.root.clone(),
                    Timestamp::from_millis(h.time_ms).to_string(),
                ]);
                heads.push(serde_json::json!({ "node": node, "head": h }));
                answered = true;
            }
            Err(e) => {
                t.push([node.clone(), "unreachable".into(), e.to_string()]);
                heads.push(serde_json::json!({ "node": node, "error": e.to_string() }));
            }
        }
    }
    if args.json {
        print_json(&Value::Array(heads.clone()))?;
    } else {
        print!("{}", t.render());
    }

    Ok(if answered { OK } else { super::COULD_NOT_RUN })
}

fn hash_of(text: &str) -> Option<MerkleHash> {
    let mut b = [0u8; 32];
    hex::decode_to_slice(text, &mut b).ok()?;
    Some(MerkleHash::from_bytes(b))
}

/// Runs `prove`: fetches the entry and its inclusion proof and checks the proof here, against
/// the root of the head (or of `--tree-size`, as the node reports it).
pub async fn prove(env: &Env, args: ProveArgs) -> Result<u8> {
    let client = env.client()?;
    let head: Head = match get(&client, "/v1/head", args.json).await? {
        Ok(h) => h,
        Err(code) => return Ok(code),
    };
    let size = args.tree_size.unwrap_or(head.size);
    let path = format!("/v1/proofs/inclusion?index={}&tree_size={size}", args.index);
    let proof: InclusionProof = match get(&client, &path, args.json).await? {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let path = format!("/v1/entries/{}", args.index);
    let entry: EntryView = match get(&client, &path, args.json).await? {
        Ok(e) => e,
        Err(code) => return Ok(code),
    };
    let bytes = hex::decode(&entry.canonical_hex).context("canonical_hex is not hex")?;
    let leaf = Entry::leaf_of(&bytes).context("the entry is shorter than a hash")?;
    let root = match (args.tree_size, hash_of(&proof.root)) {
        (Some(_), Some(r)) => r,
        (Some(_), None) => bail!("the node's proof names no root for tree size {size}"),
        (None, _) => hash_of(&head.root).context("the head's root is not 32 bytes of hex")?,
    };
    let hashes = proof
        .proof
        .iter()
        .map(|h| hash_of(h).context("a proof hash is not 32 bytes of hex"))
        .collect::<Result<Vec<_>>>()?;
    let verdict = verify_inclusion(&leaf_hash(leaf), args.index, size, &hashes, &root);
    if args.json {
        let mut out = serde_json::to_value(&proof).context("printing JSON")?;
        if let Value::Object(m) = &mut out {
            m.insert("verified".into(), Value::Bool(verdict.is_ok()));
            if let Err(e) = &verdict {
                m.insert("error".into(), Value::String(e.to_string()));
            }
        }
        print_json(&out)?;
    } else {
        match &verdict {
            Ok(()) => println!(
                "entry {} is in the tree of size {size} with root {}: VERIFIED ({} hashes)",
                args.index,
                hex::encode(root.as_bytes()),
                hashes.len()
            ),
            Err(e) => println!(
                "entry {} in the tree of size {size}: NOT VERIFIED: {e}",
                args.index
            ),
        }
    }
    Ok(if verdict.is_ok() { OK } else { FAILED })
}

/// One line of `tail` for an entry's canonical bytes.
pub fn tail_row(index: u64, bytes: &[u8]) -> Result<[String; 7]> {
    let e = Entry::from_bytes(bytes).with_context(|| format!("entry {index} does not decode"))?;
    let sub = e.body.record.submission();
    let outcome = match &e.body.record {
        Record::Accepted(_) => "accepted".to_owned(),
        Record::Rejected(r) => format!("rejected {}", r.rule.code()),
    };
    Ok([
        e.body.index.to_string(),
        e.body.accepted_at.to_string(),
        sub.payload.action.kind_name().to_owned(),
        sub.payload
            .signer_org()
            .map(ToString::to_string)
            .unwrap_or_else(|| "node".into()),
        sub.payload.id.to_string(),
        sub.payload
            .case_id()
            .map(ToString::to_string)
            .unwrap_or_else(|| "-".into()),
        outcome,
    ])
}

/// A `tail` row in fixed columns (rows are printed as they come, so they cannot be measured).
fn tail_line(row: &[String; 7]) -> String {
    let [index, at, kind, signer, id, case, outcome] = row;
    format!("{index:>7}  {at:<24}  {kind:<21}  {signer:<14}  {id:<22}  {case:<16}  {outcome}")
}

/// Runs `tail`: polls the head and prints each new entry once.
pub async fn tail(env: &Env, args: TailArgs) -> Result<u8> {
    let client = env.client()?;
    let mut next = match args.from {
        Some(f) => f,
        None => client.get_as::<Head>("/v1/head").await?.size,
    };
    let mut shown = 0u64;
    let headers = [
        "index",
        "accepted at",
        "kind",
        "signer",
        "id",
        "case",
        "outcome",
    ];
    if !args.json {
        println!("{}", tail_line(&headers.map(String::from)));
    }
    loop {
        let size = client.get_as::<Head>("/v1/head").await?.size;
        while next < size {
            if args.count.is_some_and(|c| shown >= c) {
                return Ok(OK);
            }
            let page: EntryPage = client
                .get_as(&format!("/v1/entries?from={next}&limit=100"))
                .await?;
            if page.entries.is_empty() {
                break;
            }
            for v in page.entries {
                if args.count.is_some_and(|c| shown >= c) {
                    return Ok(OK);
                }
                let index = v.index;
                let bytes = hex::decode(&v.canonical_hex)
                    .with_context(|| format!("entry {index}: canonical_hex"))?;
                let row = tail_row(index, &bytes)?;
                if args.json {
                    let obj: serde_json::Map<String, Value> = headers
                        .iter()
                        .zip(row)
                        .map(|(h, c)| (h.replace(' ', "_"), Value::String(c)))
                        .collect();
                    println!("{}", Value::Object(obj));
                } else {
                    println!("{}", tail_line(&row));
                }
                shown += 1;
                next = index + 1;
            }
        }
        if args.count.is_some_and(|c| shown >= c) {
            return Ok(OK);
        }
        tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
    }
}

/// A section of a statistics document: an object of scalars as a two-column table, an
/// object of objects as one row per key, an array of objects as one row per object.
fn section(name: &str, v: &Value) -> Option<String> {
    let table = match v {
        Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_object) => {
            Table::from_objects(a)
        }
        Value::Object(m) if !m.is_empty() && m.values().all(Value::is_object) => {
            let rows: Vec<Value> = m
                .iter()
                .map(|(k, row)| {
                    let mut row = row.clone();
                    if let Value::Object(r) = &mut row {
                        r.insert(String::new(), Value::String(k.clone()));
                    }
                    row
                })
                .collect();
            Table::from_objects(&rows)
        }
        Value::Object(m)
            if !m.is_empty() && m.values().all(|x| !x.is_object() && !x.is_array()) =>
        {
            let mut t = Table::new(["", "value"]);
            for (k, x) in m {
                t.push([
                    k.clone(),
                    match x.as_f64() {
                        Some(f) if x.is_f64() => format!("{f:.1}"),
                        _ => table::cell(x),
                    },
                ]);
            }
            t
        }
        _ => return None,
    };
    Some(format!("\n{name}\n{}", table.render()))
}

/// Renders a statistics document: its scalars, then a table per nested section (a section
/// mixing scalars and objects is rendered the same way, under its name).
pub fn render_document(body: &Value) -> String {
    let Value::Object(m) = body else {
        return section("", body).unwrap_or_else(|| format!("{}\n", table::cell(body)));
    };
    let mut out = table::fields(body);
    for (k, v) in m {
        if let Some(s) = section(k, v) {
            out.push_str(&s);
        } else if v.is_object() {
            out.push_str(&format!("\n== {k}\n"));
            out.push_str(&render_document(v));
        }
    }
    out
}

/// Which clock an alert is about: a handoff's id, or a measure and its person.
fn clock_text(clock: &ClockRef) -> String {
    match clock {
        ClockRef::Handoff(id) => id.to_string(),
        ClockRef::Measure { person, measure } => format!("{} {person}", table::cell_of(measure)),
    }
}

/// Alerts (overdue, due soon, illegal attempts, missing custody transfers) as a table.
pub fn render_alerts(alerts: &[Alert]) -> String {
    let mut t = Table::new([
        "case",
        "responsible",
        "alert",
        "what",
        "due",
        "late by",
        "basis",
    ]);
    for a in alerts {
        let (variant, what, due, late, basis) = match &a.kind {
            AlertKind::DueSoon {
                clock,
                due_at,
                basis,
            } => (
                "due_soon",
                clock_text(clock),
                Some(*due_at),
                None,
                basis.as_str(),
            ),
            AlertKind::Overdue {
                clock,
                due_at,
                overdue_by_ms,
                basis,
            } => (
                "overdue",
                clock_text(clock),
                Some(*due_at),
                Some(*overdue_by_ms),
                basis.as_str(),
            ),
            AlertKind::IllegalAttempt { rule, detail, .. } => {
                ("illegal_attempt", rule.code(), None, None, detail.as_str())
            }
            AlertKind::MissingCustodyTransfer {
                handoff, due_at, ..
            } => (
                "missing_custody_transfer",
                handoff.to_string(),
                Some(*due_at),
                None,
                "-",
            ),
        };
        t.push([
            a.case_id
                .as_ref()
                .map_or_else(|| "-".into(), ToString::to_string),
            a.responsible
                .as_ref()
                .map_or_else(|| "-".into(), ToString::to_string),
            variant.to_owned(),
            what,
            maybe_time(due),
            late.map_or_else(
                || "-".into(),
                |ms| format!("{:.1} d", ms as f64 / 86_400_000.0),
            ),
            basis.to_owned(),
        ]);
    }
    t.render()
}

/// Percent-encodes a query value (case ids are printable ASCII; `/` and `:` are allowed).
fn url_component(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Runs `overdue`.
pub async fn overdue(env: &Env, args: OverdueArgs) -> Result<u8> {
    let client = env.client()?;
    let mut query = Vec::new();
    if let Some(now) = args.now {
        query.push(format!("now={}", now.as_millis()));
    }
    if let Some(after) = &args.after {
        query.push(format!("after={}", url_component(after)));
    }
    if let Some(limit) = args.limit {
        query.push(format!("limit={limit}"));
    }
    let path = if query.is_empty() {
        "/v1/supervision/overdue".to_owned()
    } else {
        format!("/v1/supervision/overdue?{}", query.join("&"))
    };
    let answer = match answer(&client, &path, args.json).await? {
        Ok(a) => a,
        Err(code) => return Ok(code),
    };
    if args.json {
        print_json(&answer.body)?;
    } else {
        let body: Overdue = answer.parse()?;
        println!(
            "now: {}   cases examined: {}",
            Timestamp::from_millis(body.now),
            body.cases_examined
        );
        print!("{}", render_alerts(&body.alerts));
        if let Some(next) = &body.next {
            println!("more cases: ask again with --after {next}");
        }
    }
    Ok(OK)
}

/// Runs `stats`.
pub async fn stats(env: &Env, args: StatsArgs) -> Result<u8> {
    let client = env.client()?;
    let mut body: Value = match get(&client, "/v1/stats", args.json).await? {
        Ok(b) => b,
        Err(code) => return Ok(code),
    };
    if let Some(now) = body.get_mut("now").filter(|n| n.is_u64() && !args.json) {
        *now = Value::String(time_text(now));
    }
    if args.json {
        print_json(&body)?
    } else {
        print!("{}", render_document(&body))
    }
    Ok(OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_renders_its_stage_holder_and_timeline() {
        let case = serde_json::json!({
            "case_id": "LZ-1", "case_type": "THEFT", "procedure": "ORDINARY", "plea_leniency": false,
            "stage": "PROSECUTION_REVIEW", "holder": "LZ-PROC", "filed_by": "LZ-PSB", "filed_index": 1,
            "filed_at": 0, "persons": [], "supplementary_returns": 0, "arrest_decided": false,
            "in_transit": null, "open_handoffs": [], "participants": ["LZ-PROC", "LZ-PSB"],
            "closed_at": null, "last_index": 4,
            "history": [
                {"stage": "INVESTIGATION", "holder": "LZ-PSB", "since": 0, "index": 1},
                {"stage": "PROSECUTION_REVIEW", "holder": "LZ-PROC", "since": 86_400_000u64, "index": 4}
            ]
        });
        let view: CaseView = serde_json::from_value(serde_json::json!({
            "case": case, "stage": "PROSECUTION_REVIEW", "holder": "LZ-PROC",
            "timeline": [
                {"index": 4, "kind": "acceptance", "signer": {"org": {"org": "LZ-PROC", "key_id": "k1"}}, "id": "H-1:accepted", "time_ms": 0, "rejected": null},
                {"index": 5, "kind": "checkpoint", "signer": {"node": 2}, "id": "CP-5", "time_ms": 0, "rejected": "NOT_CASE_HOLDER"}
            ],
            "handoffs": [], "open_handoffs": [], "alerts": [], "truncated": false
        }))
        .expect("a case view");
        let text = render_case(&view);
        assert!(
            text.contains("LZ-1  THEFT  ORDINARY   PROSECUTION_REVIEW  LZ-PROC"),
            "{text}"
        );
        assert!(
            text.contains(
                "4      1970-01-01T00:00:00.000Z  acceptance  LZ-PROC  H-1:accepted  accepted"
            ),
            "{text}"
        );
        assert!(
            text.contains("5      1970-01-01T00:00:00.000Z  checkpoint  node-2   CP-5          rejected NOT_CASE_HOLDER"),
            "{text}"
        );
        assert!(
            text.contains("1970-01-02T00:00:00.000Z  PROSECUTION_REVIEW  LZ-PROC  4"),
            "{text}"
        );
    }

    #[test]
    fn statistics_render_a_table_per_section_and_alerts_name_their_clock() {
        let stats = serde_json::json!({
            "now": "2026-01-01",
            "summary": { "cases": 2, "by_stage": { "INVESTIGATION": 2 }, "departments": { "LZ-PSB": { "sent": 3, "received": 1 } } }
        });
        let text = render_document(&stats);
        assert!(text.contains("== summary\ncases: 2"), "{text}");
        assert!(text.contains("by_stage\n               value\n"), "{text}");
        assert!(text.contains("LZ-PSB  1         3"), "{text}");
        let alerts: Vec<Alert> = serde_json::from_value(serde_json::json!([{
            "case_id": "LZ-1", "responsible": "LZ-CC",
            "kind": { "overdue": { "basis": "Art. 79", "clock": { "measure": { "measure": "BAIL", "person": "P-1" } }, "due_at": 0, "overdue_by_ms": 129_600_000u64 } }
        }, {
            "case_id": null, "responsible": "LZ-PSB",
            "kind": { "illegal_attempt": { "rule": "SUPPLEMENTARY_RETURN_LIMIT", "index": 9, "at": 0, "detail": "a third return" } }
        }]))
        .expect("alerts");
        let text = render_alerts(&alerts);
        assert!(
            text.contains(
                "LZ-1  LZ-CC        overdue          BAIL P-1                    1970-01-01T00:00:00.000Z  1.5 d    Art. 79"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "-     LZ-PSB       illegal_attempt  SUPPLEMENTARY_RETURN_LIMIT  -                         -        a third return"
            ),
            "{text}"
        );
    }
}
