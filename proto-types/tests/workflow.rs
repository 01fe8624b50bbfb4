//! The case workflow through `proto_types::apply`: a complete life of each pilot case type,
//! and each illegal step rejected with its rule, recorded, and changing no case state.

#[path = "workflow/approvals.rs"]
mod approvals;
mod common;
#[path = "workflow/lives.rs"]
mod lives;
#[path = "workflow/measures.rs"]
mod measures;
#[path = "workflow/parties.rs"]
mod parties;
#[path = "workflow/paths.rs"]
mod paths;
#[path = "workflow/rejections.rs"]
mod rejections;

use common::*;
use proto_types::domain::{
    CaseType, DocumentType, HandoffKind as K, MeasureKind, Procedure, Stage,
};
use proto_types::encoding::{decode, encode};
use proto_types::entry::Record;
use proto_types::payload::{ClockAction, ClockRef, RestartReason};
use proto_types::policy::Period;
use proto_types::workflow::LoopStatus;
use proto_types::workflow::{CaseRecord, HandoffRecord};
use proto_types::{LedgerState, Rule};

/// Runs the steps of one case from its filing, asserting after each the stage and holder.
fn check_life(steps: &[(Op, Stage, &str)]) -> Ledger {
    let mut l = Ledger::new();
    for (i, (op, stage, holder)) in steps.iter().enumerate() {
        l.ok(op);
        assert_eq!(
            where_is(&l.case()),
            (*stage, (*holder).to_owned()),
            "after step {i}: {op:?}"
        );
    }
    l
}

/// Runs `setup` (all accepted), then `op`, which must be rejected with `rule`: the rejection
/// is appended as entry `head`, and no case or handoff record changes.
fn check_rejected(setup: &[Op], op: Op, rule: Rule) {
    let mut l = Ledger::new();
    l.ok_all(setup);
    let before = l.snapshot();
    let size = l.state.head().size;
    let applied = l.run(&op).expect("a step, not a wait");
    let Record::Rejected(r) = &applied.entry.body.record else {
        panic!("{op:?} was accepted; expected {rule:?}");
    };
    assert_eq!(r.rule, rule, "{op:?}: {}", r.detail);
    assert!(!r.detail.is_empty());
    assert_eq!(applied.entry.body.index, size);
    assert_eq!(l.state.head().size, size + 1, "the rejection is appended");
    assert_eq!(l.snapshot(), before, "a rejection changes no case state");
}

use Stage::*;

const P1: &str = "P-0001";
const P2: &str = "P-0002";

fn delivered(id: &'static str, kind: K, from: &'static str, to: &'static str) -> [Op; 3] {
    [send(id, kind, from, to), receive(id), accept(id)]
}

fn filed(t: CaseType) -> Vec<Op> {
    vec![file(t, Procedure::Ordinary, &[P1])]
}

fn theft(more: &[Op]) -> Vec<Op> {
    let mut v = filed(CaseType::Theft);
    v.extend_from_slice(more);
    v
}

fn in_review() -> Vec<Op> {
    theft(&delivered("PT", K::ProsecutionTransfer, PSB, PROC))
}

fn returned_and_resubmitted(n: usize) -> Vec<Op> {
    let mut v = in_review();
    let ids = [("SR1", "RS1"), ("SR2", "RS2"), ("SR3", "RS3")];
    for (sr, rs) in ids.iter().take(n) {
        v.extend(delivered(
            sr,
            K::SupplementaryInvestigationReturn,
            PROC,
            PSB,
        ));
        v.extend(delivered(
            rs,
            K::SupplementaryInvestigationResubmit,
            PSB,
            PROC,
        ));
    }
    v
}

fn in_first_instance() -> Vec<Op> {
    let mut v = in_review();
    v.extend(delivered("PP", K::PublicProsecution, PROC, COURT));
    v
}

fn in_appeal_window() -> Vec<Op> {
    let mut v = in_first_instance();
    v.extend(delivered("JS", K::JudgmentService, COURT, PROC));
    v
}

fn closed_case() -> Vec<Op> {
    let mut v = in_appeal_window();
    v.extend(delivered("ED", K::ExecutionDeliveryCommunity, COURT, CC));
    v.push(close(CC));
    v
}
