//! The case workflow: which handoffs are legal from which stage, who may send and receive
//! them, the closed loop of each handoff, coercive measures and clock adjustments, and the
//! state a case carries between entries. Everything is decided from the ledger alone (the
//! state so far, the registry and its policy, the entry's index and time), so every replica
//! decides alike.
//!
//! `apply` has already checked the signature, idempotency and that the signer is an
//! organisation; [`decide`] checks the rules of docs/DOMAIN.md and returns the records to persist,
//! or the rule broken (see [`Rule`] for the codes). The order of the checks is part of the
//! format: when a step breaks two rules, the first in that order is the one recorded.

mod case;
mod clock_approval;
mod closed_loop;
mod handoff;
mod measure;

/// The records the workflow makes, defined with the other records (their paths here still work).
pub use crate::records::{
    CaseRecord, DocumentSummary, HandoffRecord, LoopStatus, MeasureRecord, PersonRecord, StageSpan,
};

use crate::domain::{OrgKind, Stage};
use crate::entry::Rule;
use crate::ids::{CaseId, HandoffId, OrgId};
use crate::payload::{Action, Payload};
use crate::policy::{Limits, Policy};
use crate::registry::Registry;
use crate::state::LedgerState;
use crate::time::Timestamp;

/// What a case step does, if it is legal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CaseChanges {
    /// Case records after the step (new or updated).
    pub cases: Vec<CaseRecord>,
    /// Handoff records after the step (new or updated), each id once.
    pub handoffs: Vec<HandoffRecord>,
}

impl CaseChanges {
    fn with_case(case: CaseRecord) -> Self {
        Self {
            cases: vec![case],
            handoffs: Vec::new(),
        }
    }

    /// Adds or replaces a handoff record.
    fn put_handoff(&mut self, h: HandoffRecord) {
        match self.handoffs.iter_mut().find(|x| x.id == h.id) {
            Some(slot) => *slot = h,
            None => self.handoffs.push(h),
        }
    }
}

/// The result of a case step: changes, or the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseStep {
    /// The step is legal; persist these.
    Changes(CaseChanges),
    /// The step broke a rule; recorded as a rejection.
    Rejected(Rule, String),
}

/// Decides a case action (filing, handoff, receipt, acceptance, return, measure, clock
/// adjustment, closure) signed by `signer_org` at ledger time `at`, entry `index`.
pub fn decide<S: LedgerState>(
    state: &S,
    registry: &Registry,
    signer_org: &OrgId,
    payload: &Payload,
    index: u64,
    at: Timestamp,
) -> Result<CaseStep, S::Error> {
    let Some(signer) = registry.organisation(signer_org) else {
        // `apply` verified the signature against this organisation's key, so it exists.
        return Ok(CaseStep::Rejected(
            Rule::SignerMismatch,
            format!("{signer_org} is not registered"),
        ));
    };
    let cx = Cx {
        registry,
        signer: signer_org,
        signer_kind: signer.kind,
        index,
        at,
    };
    match run(&Reader { state }, &cx, payload) {
        Ok(changes) => Ok(CaseStep::Changes(changes)),
        Err(Stop::Broke(rule, detail)) => {
            let (rule, detail) = conceal(state, &cx, payload, (rule, detail))?;
            Ok(CaseStep::Rejected(rule, detail))
        }
        Err(Stop::Store(e)) => Err(e),
    }
}

/// The rules of the step `payload` takes, over the state `rd` reads.
fn run<S: LedgerState>(
    rd: &Reader<'_, S>,
    cx: &Cx<'_>,
    payload: &Payload,
) -> Step<CaseChanges, S::Error> {
    // The policy's limits come before every other rule of a step (`crate::precheck`).
    if let Err((rule, detail)) = crate::precheck::limits(cx.limits(), payload) {
        return broke(rule, detail);
    }
    match &payload.action {
        Action::CaseFiling(f) => case::file(rd, cx, f),
        Action::CaseClosure(c) => case::close(rd, cx, c),
        Action::Handoff(h) => handoff::send(rd, cx, &payload.id, h),
        Action::Receipt(r) => closed_loop::receive(rd, cx, &r.handoff),
        Action::Acceptance(a) => closed_loop::accept(rd, cx, &a.handoff),
        Action::ReturnForCompletion(r) => closed_loop::return_for_completion(rd, cx, r),
        Action::CoerciveMeasure(m) => measure::record(rd, cx, m),
        Action::ClockAdjustment(c) => measure::adjust_clock(rd, cx, &payload.id, c),
        Action::Genesis(_)
        | Action::KeyLifecycle(_)
        | Action::Policy(_)
        | Action::Checkpoint(_)
        | Action::Membership(_) => broke(
            Rule::InvalidPayload,
            format!("{} is not a case action", payload.action.kind_name()),
        ),
    }
}

/// What a refused step's rejection says (the entry is readable to its signer, and the API
/// answers with it). A step that names a case its signer is no party to is decided again as if
/// that case, and its handoffs, were not on the ledger, and that decision is recorded: a
/// department learns from a refusal nothing about a case it may not read, not even that it
/// exists (an unreadable case and an unknown case look the same to it). Supervisors, who read
/// every case, get the rule the step broke. A filing under an id already taken can only be
/// told that it is taken (`CaseExists`, naming nothing of the case).
fn conceal<S: LedgerState>(
    state: &S,
    cx: &Cx<'_>,
    payload: &Payload,
    broken: (Rule, String),
) -> Result<(Rule, String), S::Error> {
    if cx.signer_kind.reads_every_case() {
        return Ok(broken);
    }
    let named = match handoff_answered(payload) {
        Some(h) => state.handoff(h)?.map(|h| h.case_id),
        None => payload.case_id().cloned(),
    };
    let Some(case_id) = named else {
        return Ok(broken);
    };
    match state.case(&case_id)? {
        Some(case) if !case.is_party(cx.signer) => {}
        _ => return Ok(broken),
    }
    let unknown = Hiding {
        inner: state,
        case: &case_id,
    };
    match run(&Reader { state: &unknown }, cx, payload) {
        Err(Stop::Broke(rule, detail)) => Ok((rule, detail)),
        Err(Stop::Store(e)) => Err(e),
        Ok(_) => Ok(match &payload.action {
            Action::CaseFiling(f) => (
                Rule::CaseExists,
                format!("case id {} is already taken", f.case_id),
            ),
            _ => (Rule::UnknownCase, unknown_case(&case_id)),
        }),
    }
}

/// The handoff a receipt, acceptance or return answers.
fn handoff_answered(payload: &Payload) -> Option<&HandoffId> {
    match &payload.action {
        Action::Receipt(r) => Some(&r.handoff),
        Action::Acceptance(a) => Some(&a.handoff),
        Action::ReturnForCompletion(r) => Some(&r.handoff),
        _ => None,
    }
}

fn unknown_case(id: &CaseId) -> String {
    format!("case {id} is not on the ledger, or its signer is no party to it")
}

fn unknown_handoff(id: &HandoffId) -> String {
    format!("handoff {id} is not on the ledger, or its signer is no party to its case")
}

/// The ledger as a department no party to `case` would see it: without that case and its
/// handoffs ([`conceal`]).
struct Hiding<'a, S> {
    inner: &'a S,
    case: &'a CaseId,
}

impl<S: LedgerState> LedgerState for Hiding<'_, S> {
    type Error = S::Error;

    fn head(&self) -> crate::entry::ChainHead {
        self.inner.head()
    }
    fn registry(&self) -> Option<&Registry> {
        self.inner.registry()
    }
    fn submission(
        &self,
        id: &HandoffId,
    ) -> Result<Option<crate::records::SubmissionRecord>, Self::Error> {
        self.inner.submission(id)
    }
    fn case(&self, id: &CaseId) -> Result<Option<CaseRecord>, Self::Error> {
        if id == self.case {
            return Ok(None);
        }
        self.inner.case(id)
    }
    fn handoff(&self, id: &HandoffId) -> Result<Option<HandoffRecord>, Self::Error> {
        Ok(self.inner.handoff(id)?.filter(|h| &h.case_id != self.case))
    }
    fn merkle_root(&self, size: u64) -> Result<crate::merkle::MerkleHash, Self::Error> {
        self.inner.merkle_root(size)
    }
    fn entry_hash(&self, index: u64) -> Result<Option<crate::entry::EntryHash>, Self::Error> {
        self.inner.entry_hash(index)
    }
}

/// Why a step stops: a rule it broke, or a storage failure.
enum Stop<E> {
    Broke(Rule, String),
    Store(E),
}

type Step<T, E> = Result<T, Stop<E>>;

fn broke<T, E>(rule: Rule, detail: impl Into<String>) -> Step<T, E> {
    Err(Stop::Broke(rule, detail.into()))
}

/// The step's context: who signs, when, at which index, under which registry.
struct Cx<'a> {
    registry: &'a Registry,
    signer: &'a OrgId,
    signer_kind: OrgKind,
    index: u64,
    at: Timestamp,
}

impl Cx<'_> {
    fn policy(&self) -> &Policy {
        &self.registry.policy
    }

    fn limits(&self) -> &Limits {
        &self.registry.policy.limits
    }

    fn kind_of(&self, org: &OrgId) -> Option<OrgKind> {
        self.registry.organisation(org).map(|o| o.kind)
    }
}

/// Reads of the state, with "not there" turned into the rule it breaks.
struct Reader<'a, S> {
    state: &'a S,
}

impl<S: LedgerState> Reader<'_, S> {
    fn case(&self, id: &CaseId) -> Step<Option<CaseRecord>, S::Error> {
        self.state.case(id).map_err(Stop::Store)
    }

    /// A case that exists and is not closed.
    fn open_case(&self, id: &CaseId) -> Step<CaseRecord, S::Error> {
        match self.case(id)? {
            None => broke(Rule::UnknownCase, unknown_case(id)),
            Some(c) if c.is_closed() => broke(
                Rule::CaseClosed,
                format!("case {id} is closed ({})", c.stage),
            ),
            Some(c) => Ok(c),
        }
    }

    fn handoff(&self, id: &HandoffId) -> Step<HandoffRecord, S::Error> {
        match self.state.handoff(id).map_err(Stop::Store)? {
            Some(h) => Ok(h),
            None => broke(Rule::UnknownHandoff, unknown_handoff(id)),
        }
    }
}

/// The kinds of department that hold a case in a stage ("which department holds the case
/// follows from the stage"); empty for closed stages, which any holder may keep.
fn holder_kinds(stage: Stage) -> &'static [OrgKind] {
    use OrgKind::*;
    match stage {
        Stage::Filing | Stage::Investigation | Stage::SupplementaryInvestigation => &[Psb],
        Stage::ArrestReview | Stage::ProsecutionReview => &[Procuratorate],
        Stage::FirstInstance | Stage::AppealWindow | Stage::SecondInstance | Stage::Effective => {
            &[Court]
        }
        Stage::ExecutionCustodial => &[Prison, DetentionHouse, Psb],
        Stage::ExecutionCommunity => &[CommunityCorrections],
        Stage::Closed
        | Stage::ClosedWithdrawn
        | Stage::ClosedNotProsecuted
        | Stage::ClosedAcquitted => &[],
    }
}

/// Who holds the case after a stage-changing handoff is accepted: the receiver, unless its
/// kind cannot hold the new stage and the sender's can (a court serving its judgment on the
/// procuratorate keeps the case in the appeal window).
fn holder_after(cx: &Cx<'_>, to: Stage, sender: &OrgId, receiver: &OrgId) -> OrgId {
    let kinds = holder_kinds(to);
    let fits =
        |org: &OrgId| kinds.is_empty() || cx.kind_of(org).is_some_and(|k| kinds.contains(&k));
    if !fits(receiver) && fits(sender) {
        sender.clone()
    } else {
        receiver.clone()
    }
}

/// Closes a handoff's loop at `at`: its clock stops and, if `judge_late`, whether it closed
/// after its due time is recorded.
fn close_loop(h: &mut HandoffRecord, policy: &Policy, at: Timestamp, judge_late: bool) {
    h.closed_at = Some(at);
    if let Some(clock) = &mut h.clock {
        clock.stop(at);
        if judge_late {
            h.late = clock.was_late(policy);
        }
    }
}

/// Whether a step of some kind answers `kind` (then its loop closes when answered).
fn is_answered(policy: &Policy, kind: &crate::domain::HandoffKind) -> bool {
    policy
        .handoff_rules
        .iter()
        .any(|r| r.responds_to.contains(kind))
}
