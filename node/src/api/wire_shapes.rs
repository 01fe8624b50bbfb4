//! The node's response types and `proto_types::wire`'s shapes of them agree: what the node
//! serializes deserializes into the wire type the client reads, field for field. (The node
//! keeps its own types for their utoipa schemas, which the pure core does not depend on.)

use std::collections::BTreeMap;

use proto_types::clock::{Alert, AlertKind, ClockState};
use proto_types::domain::{CaseType, DocumentType, HandoffKind, MeasureKind, Procedure, Stage};
use proto_types::payload::{ClockRef, KeyRef, NodeAddr, Signer};
use proto_types::policy::{Calendar, Period, Policy, Transition};
use proto_types::records::{
    CaseRecord, DocumentSummary, HandoffRecord, LoopStatus, MeasureRecord, PersonRecord, StageSpan,
};
use proto_types::wire::{self, ErrorCode};
use proto_types::{Rule, Timestamp};

use super::cases::{handoff_json, CaseView, TimelineItem};
use super::error::ErrorBody;
use super::ops::Head;
use super::proofs::{ConsistencyProof, InclusionProof};
use super::query::EntryPage;
use super::supervision::Overdue;
use crate::node::NodeStatus;
use crate::raft::cluster::RaftStatus;
use crate::raft::Peer;
use crate::selfcheck::{Damage, SelfCheckReport};
use crate::service::receipts::Receipt;

/// Serializes `node` and reads it back as `W`.
fn as_wire<W: serde::de::DeserializeOwned>(node: &impl serde::Serialize) -> W {
    let json = serde_json::to_string(node).expect("a response serializes");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json} does not read as wire: {e}"))
}

fn receipt() -> Receipt {
    Receipt {
        index: 7,
        entry_hash: "ab".repeat(32),
        duplicate: true,
        entry_hex: "01".into(),
        tree_size: 8,
        root: "cd".repeat(32),
        inclusion: vec!["ef".repeat(32)],
        tree_head: "note".into(),
        proof: "c2sp.org/tlog-proof@v1\n".into(),
    }
}

#[test]
fn the_head_reads_as_wire_head() {
    let head = Head {
        size: 3,
        head_hash: "aa".into(),
        root: "bb".into(),
        time_ms: 5,
        node_id: 2,
    };
    let w: wire::Head = as_wire(&head);
    assert_eq!(
        (w.size, w.head_hash, w.root, w.time_ms, w.node_id),
        (3, "aa".into(), "bb".into(), 5, 2)
    );
}

#[test]
fn a_receipt_reads_as_wire_receipt_answer() {
    let r = receipt();
    let w: wire::ReceiptAnswer = as_wire(&r);
    assert_eq!(
        w,
        wire::ReceiptAnswer {
            index: r.index,
            entry_hash: r.entry_hash,
            duplicate: r.duplicate,
            entry_hex: r.entry_hex,
            tree_size: r.tree_size,
            root: r.root,
            inclusion: r.inclusion,
            tree_head: r.tree_head,
            proof: r.proof,
        }
    );
}

#[test]
fn an_error_body_with_a_rejection_reads_as_wire_error_body() {
    let body = ErrorBody {
        code: Rule::NotCaseHolder.into(),
        message: "not the holder".into(),
        index: Some(7),
        receipt: Some(Box::new(receipt())),
    };
    let json = serde_json::to_value(&body).expect("serializes");
    assert_eq!(json["code"], "NOT_CASE_HOLDER");
    let w: wire::ErrorBody = as_wire(&body);
    assert_eq!(w.code, ErrorCode::Rejected(Rule::NotCaseHolder));
    assert_eq!(w.index, Some(7));
    assert_eq!(w.receipt.map(|r| r.index), Some(7));
}

#[test]
fn proofs_pages_and_timeline_rows_read_as_wire_shapes() {
    let p = InclusionProof {
        index: 1,
        tree_size: 4,
        root: "cc".into(),
        proof: vec!["dd".into(), "ee".into()],
    };
    let w: wire::InclusionProof = as_wire(&p);
    assert_eq!(
        (w.index, w.tree_size, w.root, w.proof),
        (1, 4, p.root, p.proof)
    );

    let c = ConsistencyProof {
        first: 3,
        second: 8,
        first_root: "aa".into(),
        second_root: "bb".into(),
        proof: vec!["cc".into(), "dd".into()],
    };
    let w: wire::ConsistencyProof = as_wire(&c);
    assert_eq!(
        w,
        wire::ConsistencyProof {
            first: 3,
            second: 8,
            first_root: c.first_root,
            second_root: c.second_root,
            proof: c.proof,
        }
    );

    let page = EntryPage {
        entries: vec![],
        next: Some(9),
        size: 9,
    };
    let w: wire::EntryPage = as_wire(&page);
    assert_eq!((w.entries.len(), w.next, w.size), (0, Some(9), 9));

    let row = TimelineItem {
        index: 4,
        kind: "acceptance".into(),
        signer: serde_json::json!({"org": {"org": "LZ-PROC", "key_id": "k1"}}),
        id: "H-1:accepted".into(),
        time_ms: 0,
        rejected: Some("NOT_RECEIVER".into()),
    };
    let w: wire::TimelineItem = as_wire(&row);
    assert_eq!(
        (
            w.index,
            w.kind.as_str(),
            w.id.as_str(),
            w.rejected.as_deref()
        ),
        (4, "acceptance", "H-1:accepted", Some("NOT_RECEIVER"))
    );
    assert_eq!(
        w.signer,
        Signer::Org(KeyRef {
            org: id("LZ-PROC"),
            key_id: id("k1")
        })
    );
}

fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("a valid id")
}

const DAY: u64 = 86_400_000;

fn at(days: u64) -> Timestamp {
    Timestamp::from_millis(1_767_225_600_000 + days * DAY)
}

/// A theft case in prosecution review: a detained suspect, two stages behind it.
fn case_record() -> CaseRecord {
    CaseRecord {
        case_id: id("LZ-THEFT-1"),
        case_type: CaseType::Theft,
        procedure: Procedure::Ordinary,
        plea_leniency: true,
        stage: Stage::ProsecutionReview,
        holder: id("LZ-PROC"),
        filed_by: id("LZ-PSB"),
        filed_index: 1,
        filed_at: at(0),
        persons: vec![PersonRecord {
            person: id("P-1"),
            measures: vec![MeasureRecord {
                measure: MeasureKind::Detention,
                effective_at: at(0),
                index: 2,
                recorded_by: id("LZ-PSB"),
                active: true,
                ended_at: None,
                clock: Some(ClockState::new(Period::Days(3), at(0), true, 1, "Art. 91")),
            }],
        }],
        supplementary_returns: 1,
        arrest_decided: false,
        in_transit: None,
        open_handoffs: vec![id("H-2")],
        history: vec![
            StageSpan {
                stage: Stage::Investigation,
                holder: id("LZ-PSB"),
                since: at(0),
                index: 1,
            },
            StageSpan {
                stage: Stage::ProsecutionReview,
                holder: id("LZ-PROC"),
                since: at(5),
                index: 4,
            },
        ],
        participants: vec![id("LZ-PROC"), id("LZ-PSB")],
        closed_at: None,
        last_index: 6,
    }
}

/// A handoff of the case: `open` with a running clock, else accepted and closed without one.
fn handoff(n: u64, open: bool) -> HandoffRecord {
    HandoffRecord {
        id: id(&format!("H-{n}")),
        index: n + 2,
        case_id: id("LZ-THEFT-1"),
        kind: if open {
            HandoffKind::Other("CASE_FILE_REQUEST".into())
        } else {
            HandoffKind::ProsecutionTransfer
        },
        procedure: Procedure::Ordinary,
        sender: id("LZ-PSB"),
        receiver: id("LZ-PROC"),
        persons: vec![id("P-1")],
        custody: true,
        custody_transfer_due: !open,
        documents: vec![DocumentSummary {
            doc_type: DocumentType::ProsecutionOpinion,
            number: "LZ-QY-2026-1".into(),
            pages: 12,
        }],
        related: None,
        stage_change: (!open).then_some(Transition {
            from: Stage::Investigation,
            to: Stage::ProsecutionReview,
        }),
        awaits_response: open,
        status: if open {
            LoopStatus::Received
        } else {
            LoopStatus::Accepted
        },
        sent_at: at(n),
        received_at: Some(at(n)),
        accepted_at: (!open).then(|| at(n + 1)),
        returned_at: None,
        return_reason: None,
        responded_at: None,
        responded_by: None,
        custody_transfer: (!open).then(|| id("H-9")),
        closed_at: (!open).then(|| at(n + 1)),
        clock: open.then(|| ClockState::new(Period::Months(1), at(n), true, 3, "Art. 172")),
        late: (!open).then_some(false),
    }
}

/// One alert of each kind.
fn alerts() -> Vec<Alert> {
    let case_id = Some(id("LZ-THEFT-1"));
    vec![
        Alert {
            case_id: case_id.clone(),
            responsible: Some(id("LZ-PROC")),
            kind: AlertKind::DueSoon {
                clock: ClockRef::Handoff(id("H-2")),
                due_at: at(31),
                basis: "Art. 172".into(),
            },
        },
        Alert {
            case_id: case_id.clone(),
            responsible: Some(id("LZ-PSB")),
            kind: AlertKind::Overdue {
                clock: ClockRef::Measure {
                    person: id("P-1"),
                    measure: MeasureKind::Detention,
                },
                due_at: at(3),
                overdue_by_ms: 2 * DAY,
                basis: "Art. 91".into(),
            },
        },
        Alert {
            case_id: None,
            responsible: Some(id("LZ-PSB")),
            kind: AlertKind::IllegalAttempt {
                rule: Rule::SupplementaryReturnLimit,
                index: 5,
                at: at(4),
                detail: "a third return".into(),
            },
        },
        Alert {
            case_id,
            responsible: Some(id("LZ-PSB")),
            kind: AlertKind::MissingCustodyTransfer {
                handoff: id("H-1"),
                sent_at: at(1),
                due_at: at(4),
            },
        },
    ]
}

#[test]
fn a_case_view_reads_as_wire_case_view_with_its_records_handoffs_and_alerts() {
    let policy = Policy::pilot(vec![id("GS-PLC")], 1, Calendar::default());
    let now = at(5);
    let case = case_record();
    let handoffs = [handoff(1, false), handoff(2, true)];
    let signers = [
        Signer::Org(KeyRef {
            org: id("LZ-PSB"),
            key_id: id("k1"),
        }),
        Signer::Node(3),
    ];
    let view = CaseView {
        case: serde_json::to_value(&case).expect("a record serializes"),
        stage: serde_json::to_value(case.stage).expect("a stage serializes"),
        holder: case.holder.as_str().to_owned(),
        timeline: signers
            .iter()
            .enumerate()
            .map(|(i, signer)| TimelineItem {
                index: i as u64 + 1,
                kind: "case_filing".into(),
                signer: serde_json::to_value(signer).expect("a signer serializes"),
                id: format!("S-{i}"),
                time_ms: at(0).as_millis(),
                rejected: (i == 1).then(|| Rule::NotCaseHolder.code()),
            })
            .collect(),
        handoffs: handoffs
            .iter()
            .map(|h| handoff_json(h, &policy, now))
            .collect(),
        open_handoffs: vec![handoff_json(&handoffs[1], &policy, now)],
        alerts: alerts()
            .iter()
            .map(|a| serde_json::to_value(a).expect("an alert serializes"))
            .collect(),
        truncated: true,
    };
    let w: wire::CaseView = as_wire(&view);
    assert_eq!(w.case, case);
    assert_eq!((w.stage, &w.holder), (case.stage, &case.holder));
    assert_eq!(
        w.timeline.iter().map(|t| &t.signer).collect::<Vec<_>>(),
        signers.iter().collect::<Vec<_>>()
    );
    assert_eq!(w.timeline[1].rejected.as_deref(), Some("NOT_CASE_HOLDER"));
    let records: Vec<&HandoffRecord> = w.handoffs.iter().map(|h| &h.record).collect();
    assert_eq!(records, handoffs.iter().collect::<Vec<_>>());
    let closed = &w.handoffs[0];
    assert_eq!(
        (closed.open, closed.closed, closed.due_at),
        (false, true, None)
    );
    let open = &w.open_handoffs[0];
    assert_eq!(open.record, handoffs[1]);
    assert!(open.open && !open.closed, "{open:?}");
    let clock = handoffs[1]
        .clock
        .as_ref()
        .expect("the open handoff has a clock");
    assert_eq!(
        open.due_at,
        Some(proto_types::clock::due_time(clock, &policy, now))
    );
    assert_eq!(w.alerts, alerts());
    assert!(w.truncated);
}

#[test]
fn the_overdue_list_reads_with_its_alerts_typed() {
    let o = Overdue {
        now: at(5).as_millis(),
        cases_examined: 7,
        alerts: alerts()
            .iter()
            .map(|a| serde_json::to_value(a).expect("an alert serializes"))
            .collect(),
        next: Some("LZ-THEFT-1".into()),
    };
    let w: wire::Overdue = as_wire(&o);
    assert_eq!(
        (w.now, w.cases_examined, w.alerts, w.next),
        (o.now, 7, alerts(), o.next)
    );
}

#[test]
fn the_node_status_reads_as_wire_node_status() {
    let peer = |n: u16| Peer {
        raft_addr: format!("10.0.0.{n}:7000"),
        api_addr: format!("10.0.0.{n}:8000"),
    };
    let status = NodeStatus {
        raft: RaftStatus {
            id: 2,
            state: "Follower".into(),
            term: 4,
            leader: Some(1),
            quorum_ack_ms: None,
            last_log_index: Some(120),
            last_applied: None,
            voters: vec![1, 2, 3],
            learners: vec![4],
            nodes: (1..=4).map(|n| (u64::from(n), peer(n))).collect(),
        },
        ledger_size: 97,
        head_hash: "ab".repeat(32),
        selfcheck: SelfCheckReport {
            startup_done: true,
            damage: Some(Damage {
                index: 40,
                what: "merkle node (0, 40) differs".into(),
            }),
            verified_entries: 40,
            passes: 1,
        },
        cosigning: serde_json::json!({"disagreeing_nodes": {"3": "ROOT_MISMATCH"}}),
    };
    let w: wire::NodeStatus = as_wire(&status);
    let nodes: BTreeMap<u64, NodeAddr> = (1..=4)
        .map(|n| {
            let p = peer(n);
            (
                u64::from(n),
                NodeAddr {
                    raft_addr: p.raft_addr,
                    api_addr: p.api_addr,
                },
            )
        })
        .collect();
    assert_eq!(
        w,
        wire::NodeStatus {
            id: 2,
            state: "Follower".into(),
            term: 4,
            leader: Some(1),
            quorum_ack_ms: None,
            last_log_index: Some(120),
            last_applied: None,
            voters: vec![1, 2, 3],
            learners: vec![4],
            nodes,
            ledger_size: 97,
            head_hash: "ab".repeat(32),
            selfcheck: wire::SelfCheckReport {
                startup_done: true,
                damage: Some(wire::Damage {
                    index: 40,
                    what: "merkle node (0, 40) differs".into(),
                }),
                verified_entries: 40,
                passes: 1,
            },
        }
    );
}

#[test]
fn a_receipt_set_reads_as_wire_receipt_set_with_every_outcome() {
    use super::batch::{BatchItem, BatchOutcome, ReceiptSet};
    let item = BatchItem::new;
    let set = ReceiptSet {
        tree_head: "note".into(),
        tree_size: 9,
        root: "cd".repeat(32),
        results: vec![
            BatchItem {
                index: Some(7),
                entry_hash: Some("ab".repeat(32)),
                entry_hex: Some("01".into()),
                inclusion: Some(vec!["ef".repeat(32)]),
                ..item(0, BatchOutcome::Appended)
            },
            BatchItem {
                index: Some(3),
                code: Some(ErrorCode::Rejected(Rule::UnknownCase)),
                message: Some("no such case".into()),
                ..item(1, BatchOutcome::Duplicate)
            },
            BatchItem {
                index: Some(8),
                code: Some(ErrorCode::Rejected(Rule::NotReceiver)),
                ..item(2, BatchOutcome::Rejected)
            },
            BatchItem {
                code: Some(ErrorCode::AuthenticationFailed),
                message: Some("bad signature".into()),
                ..item(3, BatchOutcome::Refused)
            },
        ],
    };
    let w: wire::ReceiptSet = as_wire(&set);
    assert_eq!((w.tree_head.as_str(), w.tree_size), ("note", 9));
    assert_eq!(w.root, set.root);
    let outcomes: Vec<_> = w.results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            wire::BatchOutcome::Appended,
            wire::BatchOutcome::Duplicate,
            wire::BatchOutcome::Rejected,
            wire::BatchOutcome::Refused
        ]
    );
    assert_eq!(
        w.results[0].inclusion.as_deref(),
        Some(&["ef".repeat(32)][..])
    );
    assert_eq!(
        w.results[1].code,
        Some(ErrorCode::Rejected(Rule::UnknownCase))
    );
    assert_eq!(w.results[3].code, Some(ErrorCode::AuthenticationFailed));
    assert_eq!(w.results[3].index, None);
    let json = serde_json::to_value(&set).expect("serializes");
    assert_eq!(json["results"][0]["outcome"], "APPENDED");
    assert!(json["results"][3].get("index").is_none(), "{json}");
}
