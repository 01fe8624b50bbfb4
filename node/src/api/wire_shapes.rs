//! The node's response types and `proto_types::wire`'s shapes of them agree: what the node
//! serializes deserializes into the wire type the client reads, field for field. (The node
//! keeps its own types for their utoipa schemas, which the pure core does not depend on.)

use proto_types::wire::{self, ErrorCode};
use proto_types::Rule;

use super::cases::TimelineItem;
use super::error::ErrorBody;
use super::ops::Head;
use super::proofs::InclusionProof;
use super::query::EntryPage;
use super::supervision::Overdue;
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
}

#[test]
fn the_overdue_list_reads_as_wire_overdue() {
    let o = Overdue {
        now: 10,
        cases_examined: 2,
        alerts: vec![serde_json::json!({"case_id": "LZ-1"})],
        next: Some("LZ-1".into()),
    };
    let w: wire::Overdue<serde_json::Value> = as_wire(&o);
    assert_eq!(
        (w.now, w.cases_examined, w.alerts, w.next),
        (10, 2, o.alerts, o.next)
    );
}
