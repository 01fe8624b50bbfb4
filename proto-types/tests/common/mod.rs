//! Fixtures for the workflow and clock tests: a province with one organisation of each kind
//! (plus an intermediate court for appeals), keys from fixed seeds, the pilot policy with a
//! holiday calendar, and a small driver that submits steps of one case through
//! `proto_types::apply` over a `MemState`.

#![allow(dead_code)] // each test binary uses part of the fixtures

pub mod exceed;

use ed25519_dalek::SigningKey;
use proto_types::crypto::{Digest, PublicKey};
use proto_types::domain::{
    CaseType, DocumentType, HandoffKind, Level, MeasureKind, OrgKind, Procedure, Stage,
};
use proto_types::entry::Record;
use proto_types::ids::{CaseId, HandoffId, KeyId, PersonId};
use proto_types::payload::{
    Acceptance, Approval, CaseClosure, CaseFiling, ClockAction, ClockAdjustment,
    ClockApprovalTerms, ClockRef, CoerciveMeasure, Document, Genesis, Handoff, KeyDecl, KeyRef,
    OrganisationDecl, Receipt, ReturnForCompletion, Signer,
};
use proto_types::policy::{Calendar, Policy};
use proto_types::time::{Date, DAY_MS};
use proto_types::workflow::{CaseRecord, HandoffRecord};
use proto_types::{
    apply, Action, Applied, LedgerState, MemState, Outcome, Payload, Proposal, SignatureCheck,
    Timestamp,
};

pub const PSB: &str = "LZ-PSB";
pub const PROC: &str = "LZ-PROC";
pub const COURT: &str = "LZ-COURT";
pub const UPPER: &str = "LZ-INT-COURT";
pub const DH: &str = "LZ-DH";
pub const PRISON: &str = "GS-PRISON-1";
pub const CC: &str = "LZ-CC";
pub const LA: &str = "LZ-LA";
pub const PLC: &str = "GS-PLC";
/// The prefecture procuratorate above [`PROC`]: it approves extensions of custody (Art. 156).
pub const UP_PROC: &str = "LZ-INT-PROC";

/// (id, kind, level, key seed).
pub const ORGS: [(&str, OrgKind, Level, u8); 10] = [
    (PLC, OrgKind::Plc, Level::Province, 1),
    (PSB, OrgKind::Psb, Level::County, 2),
    (PROC, OrgKind::Procuratorate, Level::County, 3),
    (COURT, OrgKind::Court, Level::County, 4),
    (UPPER, OrgKind::Court, Level::Prefecture, 5),
    (DH, OrgKind::DetentionHouse, Level::County, 6),
    (PRISON, OrgKind::Prison, Level::Province, 7),
    (CC, OrgKind::CommunityCorrections, Level::County, 8),
    (LA, OrgKind::LegalAid, Level::County, 9),
    (UP_PROC, OrgKind::Procuratorate, Level::Prefecture, 10),
];

/// The case every driver works on.
pub const CASE: &str = "LZ-CG-2026-0001";

pub fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("valid id")
}

pub fn date(y: i32, m: u32, d: u32) -> Date {
    Date::from_ymd(y, m, d).expect("valid date")
}

/// The instant of a local (UTC+8) date and time.
pub fn local(y: i32, m: u32, d: u32, hour: u64, minute: u64) -> Timestamp {
    let day_start = date(y, m, d).days() as i64 * DAY_MS as i64 - 8 * 3_600_000;
    Timestamp::from_millis(day_start as u64 + hour * 3_600_000 + minute * 60_000)
}

/// A fixture calendar modelled on 2026's public holidays: Spring Festival Feb 15-23, Qingming
/// Apr 4-6, Labour Day May 1-5, Mid-Autumn Sep 25-27, National Day Oct 1-7; Saturday Oct 10
/// is a working day.
pub fn calendar() -> Calendar {
    let mut holidays = Vec::new();
    let mut span = |m, from, to| (from..=to).for_each(|d| holidays.push(date(2026, m, d)));
    span(2, 15, 23);
    span(4, 4, 6);
    span(5, 1, 5);
    span(9, 25, 27);
    span(10, 1, 7);
    Calendar {
        holidays,
        working_weekends: vec![date(2026, 10, 10)],
    }
}

pub fn policy() -> Policy {
    Policy::pilot(vec![id(PLC)], 1, calendar())
}

pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub fn seed_of(org: &str) -> u8 {
    ORGS.iter()
        .find(|o| o.0 == org)
        .map(|o| o.3)
        .expect("fixture organisation")
}

pub fn signer(org: &str) -> Signer {
    Signer::Org(KeyRef {
        org: id(org),
        key_id: id::<KeyId>("k1"),
    })
}

/// A step of one case, as a department takes it.
#[derive(Debug, Clone)]
pub enum Op {
    /// 立案.
    File {
        by: &'static str,
        case_type: CaseType,
        procedure: Procedure,
        persons: Vec<&'static str>,
    },
    /// A handoff.
    Send(Box<Send>),
    /// 签收 by the handoff's receiver (or by `by`).
    Receive {
        handoff: &'static str,
        by: Option<&'static str>,
    },
    /// 受理 by the handoff's receiver (or by `by`).
    Accept {
        handoff: &'static str,
        by: Option<&'static str>,
    },
    /// 退回补正 by the handoff's receiver.
    Return {
        handoff: &'static str,
        missing: Vec<DocumentType>,
    },
    /// A coercive measure, effective now.
    Measure {
        by: &'static str,
        person: &'static str,
        kind: MeasureKind,
    },
    /// A clock adjustment.
    Adjust {
        by: &'static str,
        clock: ClockRef,
        action: ClockAction,
    },
    /// A clock adjustment countersigned by `approver` (its key k1) over the adjustment's terms.
    Approved {
        by: &'static str,
        clock: ClockRef,
        change: ClockAction,
        approver: &'static str,
    },
    /// 结案.
    Close { by: &'static str },
    /// Let time pass.
    Wait { hours: u64 },
}

/// A handoff to send; the case's type and procedure unless overridden.
#[derive(Debug, Clone)]
pub struct Send {
    pub id: &'static str,
    pub kind: HandoffKind,
    pub from: &'static str,
    pub to: &'static str,
    pub signer: Option<&'static str>,
    pub custody: bool,
    pub documents: Vec<DocumentType>,
    pub related: Option<&'static str>,
    pub persons: Vec<&'static str>,
    pub note: String,
    pub case_type: Option<CaseType>,
    pub procedure: Option<Procedure>,
    pub case_id: Option<&'static str>,
}

pub fn file(case_type: CaseType, procedure: Procedure, persons: &[&'static str]) -> Op {
    Op::File {
        by: PSB,
        case_type,
        procedure,
        persons: persons.to_vec(),
    }
}

pub fn send(id: &'static str, kind: HandoffKind, from: &'static str, to: &'static str) -> Op {
    Op::Send(Box::new(Send {
        id,
        kind,
        from,
        to,
        signer: None,
        custody: false,
        documents: Vec::new(),
        related: None,
        persons: Vec::new(),
        note: String::new(),
        case_type: None,
        procedure: None,
        case_id: None,
    }))
}

pub fn receive(handoff: &'static str) -> Op {
    Op::Receive { handoff, by: None }
}

pub fn accept(handoff: &'static str) -> Op {
    Op::Accept { handoff, by: None }
}

pub fn return_for_completion(handoff: &'static str) -> Op {
    Op::Return {
        handoff,
        missing: vec![DocumentType::Evidence],
    }
}

pub fn measure(by: &'static str, person: &'static str, kind: MeasureKind) -> Op {
    Op::Measure { by, person, kind }
}

pub fn close(by: &'static str) -> Op {
    Op::Close { by }
}

pub fn wait_days(days: u64) -> Op {
    Op::Wait { hours: days * 24 }
}

/// The custody transfer (换押) that goes with handoff `with`.
pub fn custody_transfer(id: &'static str, from: &'static str, with: &'static str) -> Op {
    send(id, HandoffKind::CustodyTransfer, from, DH)
        .documents(&[DocumentType::CustodyCertificate])
        .related(with)
}

/// The four documents a custodial execution delivery needs.
pub const EXECUTION_DOCUMENTS: [DocumentType; 4] = [
    DocumentType::Judgment,
    DocumentType::IndictmentCopy,
    DocumentType::ExecutionNotice,
    DocumentType::ClosingForm,
];

impl Op {
    fn send_mut(mut self, f: impl FnOnce(&mut Send)) -> Self {
        match &mut self {
            Op::Send(s) => f(s),
            other => panic!("not a handoff: {other:?}"),
        }
        self
    }

    pub fn custody(self) -> Self {
        self.send_mut(|s| s.custody = true)
    }

    pub fn documents(self, docs: &[DocumentType]) -> Self {
        self.send_mut(|s| s.documents = docs.to_vec())
    }

    pub fn related(self, to: &'static str) -> Self {
        self.send_mut(|s| s.related = Some(to))
    }

    pub fn signed_by(self, org: &'static str) -> Self {
        self.send_mut(|s| s.signer = Some(org))
    }

    pub fn persons(self, persons: &[&'static str]) -> Self {
        self.send_mut(|s| s.persons = persons.to_vec())
    }

    pub fn note(self, note: String) -> Self {
        self.send_mut(|s| s.note = note)
    }

    pub fn case_type(self, t: CaseType) -> Self {
        self.send_mut(|s| s.case_type = Some(t))
    }

    pub fn procedure(self, p: Procedure) -> Self {
        self.send_mut(|s| s.procedure = Some(p))
    }

    pub fn for_case(self, case: &'static str) -> Self {
        self.send_mut(|s| s.case_id = Some(case))
    }

    pub fn by(self, org: &'static str) -> Self {
        match self {
            Op::Receive { handoff, .. } => Op::Receive {
                handoff,
                by: Some(org),
            },
            Op::Accept { handoff, .. } => Op::Accept {
                handoff,
                by: Some(org),
            },
            other => panic!("`by` is for receipts and acceptances, not {other:?}"),
        }
    }
}

/// A ledger with the fixture genesis, driving one case.
pub struct Ledger {
    pub state: MemState,
    /// The time the next step is stamped with.
    pub now: Timestamp,
    seq: u32,
}

/// 2026-03-02 09:00 local, a Monday: when the fixture ledger starts.
pub fn start() -> Timestamp {
    local(2026, 3, 2, 9, 0)
}

impl Default for Ledger {
    fn default() -> Self {
        Self::new()
    }
}

impl Ledger {
    /// Genesis (entry 0) at [`start`], signed by the PLC.
    pub fn new() -> Self {
        Self::starting_at(start())
    }

    pub fn starting_at(t: Timestamp) -> Self {
        let keys_from = local(2026, 1, 1, 0, 0);
        let organisations = ORGS
            .iter()
            .map(|&(org, kind, level, seed)| OrganisationDecl {
                id: id(org),
                name: format!("{org} ({kind:?})"),
                kind,
                level,
                parent: match org {
                    COURT => Some(id(UPPER)),
                    PROC => Some(id(UP_PROC)),
                    _ => None,
                },
                city: "Lanzhou".into(),
                keys: vec![KeyDecl {
                    key_id: id("k1"),
                    public_key: PublicKey::of(&key(seed)),
                    valid_from: keys_from,
                    valid_until: None,
                }],
            })
            // Parents first: the intermediate court before the basic court.
            .fold(Vec::new(), |mut v: Vec<OrganisationDecl>, o| {
                if o.id.as_str() == UPPER || o.id.as_str() == UP_PROC {
                    v.insert(0, o);
                } else {
                    v.push(o);
                }
                v
            });
        let genesis = Genesis {
            cluster_name: "fixture".into(),
            organisations,
            nodes: Vec::new(),
            policy: policy(),
        };
        let mut l = Self {
            state: MemState::new(),
            now: t,
            seq: 0,
        };
        let applied = l
            .submit(PLC, "genesis", Action::Genesis(genesis))
            .expect("genesis is appended");
        assert_eq!(applied.rejected_rule(), None);
        l
    }

    /// Signs and applies one payload; commits it if appended.
    pub fn submit(&mut self, org: &str, sub_id: &str, action: Action) -> Result<Applied, Outcome> {
        let payload = Payload {
            signer: signer(org),
            id: id(sub_id),
            claimed_at: self.now,
            action,
        };
        let proposal = Proposal {
            submission: payload.sign(&key(seed_of(org))),
            stamped_at: self.now,
        };
        match apply(&self.state, &proposal, SignatureCheck::Verify).expect("in-memory state") {
            Outcome::Appended(a) => {
                self.state.commit(&a);
                Ok(*a)
            }
            other => Err(other),
        }
    }

    /// Runs a step one hour after the previous one; returns the appended entry (accepted or
    /// rejected), or `None` for a `Wait`.
    pub fn run(&mut self, op: &Op) -> Option<Applied> {
        if let Op::Wait { hours } = op {
            self.now = self.now.plus_millis(hours * 3_600_000);
            return None;
        }
        self.now = self.now.plus_millis(3_600_000);
        self.seq += 1;
        let sub_id = format!("S-{:04}", self.seq);
        let (org, sub_id, action) = self.action(op, sub_id);
        Some(
            self.submit(org, &sub_id, action)
                .unwrap_or_else(|o| panic!("{op:?} was not appended: {o:?}")),
        )
    }

    /// Runs a step that must be accepted.
    pub fn ok(&mut self, op: &Op) {
        if let Some(Record::Rejected(r)) = self.run(op).map(|a| a.entry.body.record) {
            panic!("{op:?} was rejected: {:?}: {}", r.rule, r.detail);
        }
    }

    /// Runs steps that must all be accepted.
    pub fn ok_all(&mut self, ops: &[Op]) {
        ops.iter().for_each(|op| self.ok(op));
    }

    pub fn action(&self, op: &Op, sub_id: String) -> (&'static str, String, Action) {
        let case_id: CaseId = id(CASE);
        match op {
            Op::File {
                by,
                case_type,
                procedure,
                persons,
            } => (
                by,
                sub_id,
                Action::CaseFiling(CaseFiling {
                    case_id,
                    case_type: case_type.clone(),
                    procedure: *procedure,
                    persons: persons.iter().map(|p| id(p)).collect(),
                    plea_leniency: true,
                    note: "立案".into(),
                }),
            ),
            Op::Send(s) => {
                let case = self
                    .state
                    .case_record(&s.case_id.map_or(case_id.clone(), id));
                let h = Handoff {
                    case_id: s.case_id.map_or(case_id, id),
                    case_type: s
                        .case_type
                        .clone()
                        .or(case.as_ref().map(|c| c.case_type.clone()))
                        .unwrap_or(CaseType::Theft),
                    procedure: s
                        .procedure
                        .or(case.as_ref().map(|c| c.procedure))
                        .unwrap_or(Procedure::Ordinary),
                    kind: s.kind.clone(),
                    sender: id(s.from),
                    receiver: id(s.to),
                    persons: s.persons.iter().map(|p| id(p)).collect(),
                    custody: s.custody,
                    documents: s
                        .documents
                        .iter()
                        .enumerate()
                        .map(|(i, t)| Document {
                            doc_type: t.clone(),
                            number: format!("兰〔2026〕{i}号"),
                            digest: Digest::sha256(&[s.id.as_bytes(), &[i as u8]]),
                            pages: 3,
                        })
                        .collect(),
                    efile_manifest: Digest::sha256(&[s.id.as_bytes()]),
                    related: s.related.map(id),
                    note: s.note.clone(),
                };
                (
                    s.signer.unwrap_or(s.from),
                    s.id.to_owned(),
                    Action::Handoff(h),
                )
            }
            Op::Receive { handoff, by } => (
                self.receiver_of(handoff, *by),
                sub_id,
                Action::Receipt(Receipt {
                    handoff: id(handoff),
                }),
            ),
            Op::Accept { handoff, by } => (
                self.receiver_of(handoff, *by),
                sub_id,
                Action::Acceptance(Acceptance {
                    handoff: id(handoff),
                }),
            ),
            Op::Return { handoff, missing } => (
                self.receiver_of(handoff, None),
                sub_id,
                Action::ReturnForCompletion(ReturnForCompletion {
                    handoff: id(handoff),
                    reason: "材料不全".into(),
                    missing: missing.clone(),
                }),
            ),
            Op::Measure { by, person, kind } => (
                by,
                sub_id,
                Action::CoerciveMeasure(CoerciveMeasure {
                    case_id,
                    person: id(person),
                    measure: *kind,
                    effective_at: self.now,
                }),
            ),
            Op::Adjust { by, clock, action } => (
                by,
                sub_id,
                Action::ClockAdjustment(ClockAdjustment {
                    case_id,
                    clock: clock.clone(),
                    action: action.clone(),
                }),
            ),
            Op::Approved {
                by,
                clock,
                change,
                approver,
            } => {
                let terms = ClockApprovalTerms {
                    adjustment: id(&sub_id),
                    case_id: case_id.clone(),
                    clock: clock.clone(),
                    change: change.clone(),
                };
                let approval = Approval::sign_clock(
                    KeyRef {
                        org: id(approver),
                        key_id: id("k1"),
                    },
                    &key(seed_of(approver)),
                    &terms,
                );
                (
                    by,
                    sub_id,
                    Action::ClockAdjustment(ClockAdjustment {
                        case_id,
                        clock: clock.clone(),
                        action: ClockAction::Approved {
                            change: Box::new(change.clone()),
                            approval,
                        },
                    }),
                )
            }
            Op::Close { by } => (
                by,
                sub_id,
                Action::CaseClosure(CaseClosure {
                    case_id,
                    reason: "刑满/执行完毕".into(),
                }),
            ),
            Op::Wait { .. } => unreachable!("handled in run"),
        }
    }

    /// The receiver of a handoff on the ledger, or `by`; the PSB if neither is known.
    fn receiver_of(&self, handoff: &str, by: Option<&'static str>) -> &'static str {
        if let Some(b) = by {
            return b;
        }
        let rec = self.state.handoff_record(&id(handoff));
        let receiver = rec.map_or_else(|| PSB.to_owned(), |h| h.receiver.to_string());
        ORGS.iter()
            .find(|o| o.0 == receiver)
            .map(|o| o.0)
            .expect("fixture organisation")
    }

    pub fn case(&self) -> CaseRecord {
        self.state
            .case_record(&id(CASE))
            .expect("the case is filed")
    }

    pub fn handoff(&self, h: &str) -> HandoffRecord {
        self.state
            .handoff_record(&id(h))
            .unwrap_or_else(|| panic!("handoff {h} is on the ledger"))
    }

    pub fn handoffs(&self) -> Vec<HandoffRecord> {
        let mut v: Vec<_> = self.state.handoffs().cloned().collect();
        v.sort_by_key(|h| h.index);
        v
    }

    /// Every case and handoff record, in a fixed order: what a rejection must not change.
    pub fn snapshot(&self) -> (Vec<CaseRecord>, Vec<HandoffRecord>) {
        let mut cases: Vec<_> = self.state.cases().cloned().collect();
        cases.sort_by(|a, b| a.case_id.cmp(&b.case_id));
        (cases, self.handoffs())
    }
}

/// Reads of `MemState` by id.
trait Records {
    fn case_record(&self, id: &CaseId) -> Option<CaseRecord>;
    fn handoff_record(&self, id: &HandoffId) -> Option<HandoffRecord>;
}

impl Records for MemState {
    fn case_record(&self, id: &CaseId) -> Option<CaseRecord> {
        match LedgerState::case(self, id) {
            Ok(c) => c,
        }
    }
    fn handoff_record(&self, id: &HandoffId) -> Option<HandoffRecord> {
        match LedgerState::handoff(self, id) {
            Ok(h) => h,
        }
    }
}

/// A person id.
pub fn person(p: &str) -> PersonId {
    id(p)
}

/// A case's stage and holder, for assertions.
pub fn where_is(case: &CaseRecord) -> (Stage, String) {
    (case.stage, case.holder.to_string())
}
