//! Fixed sample values for the format vectors (docs/FORMAT.md §Vectors): keys from fixed
//! seeds, the sample chain, one submission of every action kind, and the checkpoint note.
//! Every value here is deterministic; changing one changes `tests/data/format-vectors.json`.

use ed25519_dalek::SigningKey;
use proto_types::checkpoint::{self, Checkpoint, CosignedCheckpoint};
use proto_types::crypto::{Digest, PublicKey};
use proto_types::domain::{
    CaseType, DocumentType, HandoffKind, Level, MeasureKind, OrgKind, Procedure,
};
use proto_types::entry::Rejection;
use proto_types::ids::{NodeId, PersonId};
use proto_types::merkle::MemTree;
use proto_types::payload::{
    Acceptance, Approval, CaseClosure, CaseFiling, CheckpointRecord, ClockAction, ClockAdjustment,
    ClockApprovalTerms, ClockRef, CoerciveMeasure, Document, Genesis, Handoff, KeyDecl,
    KeyLifecycle, KeyOp, KeyRef, MemberOp, MembershipChange, NodeAddr, NodeDecl, OrganisationDecl,
    PolicyUpdate, Receipt, RestartReason, ReturnForCompletion, Signer,
};
use proto_types::policy::{Calendar, Period, Policy};
use proto_types::time::Date;
use proto_types::{
    Action, Entry, EntryBody, EntryHash, Payload, Record, Rule, Submission, Timestamp,
};

/// The police department of the samples; signs with seed 1.
pub const PSB: &str = "GS-LZ-CG-PSB";
/// The procuratorate; signs with seed 2.
pub const PROC: &str = "GS-LZ-CG-PROC";
/// The court; signs with seed 3 (key `k1`) and, after the rotation sample, seed 4 (`k2`).
pub const COURT: &str = "GS-LZ-CG-COURT";

/// The prefecture-level police department, parent of [`PSB`]; signs with seed 5.
pub const CITY_PSB: &str = "GS-LZ-PSB";

/// Every key of the samples: (who, seed). Organisation keys are `ORG/KEY_ID`, node keys `node-N`.
pub const KEYS: [(&str, u8); 8] = [
    ("GS-LZ-CG-PSB/k1", 1),
    ("GS-LZ-CG-PROC/k1", 2),
    ("GS-LZ-CG-COURT/k1", 3),
    ("GS-LZ-CG-COURT/k2", 4),
    ("GS-LZ-PSB/k1", 5),
    ("node-1", 11),
    ("node-2", 12),
    ("node-3", 14),
];

/// The checkpoint's cosigners: (key name, node id, seed).
pub const COSIGNERS: [(&str, NodeId, u8); 2] = [("node-1", 1, 11), ("node-2", 2, 12)];

/// Length of the sample chain in the vectors.
pub const CHAIN_LEN: u64 = 7;

/// The Ed25519 key with a 32-byte seed of `seed` repeated.
pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// The public key of [`key`].
pub fn pk(seed: u8) -> PublicKey {
    PublicKey::of(&key(seed))
}

/// Parses an identifier that is known to be valid.
pub fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("valid id")
}

fn org_key(org: &str, key_id: &str) -> Signer {
    Signer::Org(KeyRef {
        org: id(org),
        key_id: id(key_id),
    })
}

fn at(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// 2026-01-01T00:00:00Z: keys of the samples are valid from then; sample payloads claim times
/// shortly after it.
const T0: u64 = 1_767_225_600_000;

/// A fixed handoff payload, signed by the key with seed 1.
pub fn sample_submission(n: u32) -> Submission {
    let payload = Payload {
        signer: org_key(PSB, "k1"),
        id: id(&format!("H-2026-{n:04}")),
        claimed_at: at(1_780_000_000_000 + u64::from(n) * 60_000),
        action: Action::Handoff(Handoff {
            case_id: id("LZ-CG-2026-0001"),
            case_type: CaseType::Theft,
            procedure: Procedure::Ordinary,
            kind: HandoffKind::ProsecutionTransfer,
            sender: id(PSB),
            receiver: id(PROC),
            persons: vec![id::<PersonId>("P-7f3a")],
            custody: true,
            documents: vec![Document {
                doc_type: DocumentType::ProsecutionOpinion,
                number: "兰城公诉〔2026〕1号".into(),
                digest: Digest::sha256(&[b"opinion"]),
                pages: 12,
            }],
            efile_manifest: Digest::sha256(&[b"manifest"]),
            related: None,
            note: "移送审查起诉".into(),
        }),
    };
    payload.sign(&key(1))
}

/// The receiver's receipt (签收) of handoff `H-2026-{n}`, signed by the key with seed 2.
pub fn receipt_submission(n: u32) -> Submission {
    Payload {
        signer: org_key(PROC, "k1"),
        id: id(&format!("R-2026-{n:04}")),
        claimed_at: at(1_780_000_100_000 + u64::from(n)),
        action: Action::Receipt(Receipt {
            handoff: id(&format!("H-2026-{n:04}")),
        }),
    }
    .sign(&key(2))
}

/// A chain of `n` entries alternating handoffs and receipts.
pub fn sample_chain(n: u64) -> Vec<Entry> {
    let mut prev = EntryHash::ZERO;
    (0..n)
        .map(|i| {
            let sub = if i % 2 == 0 {
                sample_submission(i as u32)
            } else {
                receipt_submission(i as u32 - 1)
            };
            let e = EntryBody {
                index: i,
                accepted_at: at(1_780_000_000_000 + i * 1000),
                record: Record::Accepted(sub),
                prev,
            }
            .seal();
            prev = e.hash;
            e
        })
        .collect()
}

/// The chain of the vectors: six entries of [`sample_chain`], then a recorded rejection (the
/// police signing for a handoff addressed to the procuratorate).
pub fn vector_chain() -> Vec<Entry> {
    let mut chain = sample_chain(CHAIN_LEN - 1);
    let last = chain.last().expect("six entries");
    let sub = Payload {
        signer: org_key(PSB, "k1"),
        id: id("R-2026-0004-PSB"),
        claimed_at: at(1_780_000_005_500),
        action: Action::Receipt(Receipt {
            handoff: id("H-2026-0004"),
        }),
    }
    .sign(&key(1));
    let rejected = EntryBody {
        index: CHAIN_LEN - 1,
        accepted_at: at(last.body.accepted_at.as_millis() + 1000),
        record: Record::Rejected(Rejection {
            submission: sub,
            rule: Rule::NotReceiver,
            detail: "only GS-LZ-CG-PROC, the receiver, may sign for H-2026-0004".into(),
        }),
        prev: last.hash,
    }
    .seal();
    chain.push(rejected);
    chain
}

/// The Merkle tree over the vector chain's leaves.
pub fn vector_tree(chain: &[Entry]) -> MemTree {
    chain.iter().map(|e| e.body.leaf_bytes()).collect()
}

/// The origin of the sample checkpoint: `caseledger.example/cluster/` and the hex of entry 0's
/// hash (docs/FORMAT.md §Checkpoint).
pub fn origin(chain: &[Entry]) -> String {
    format!("caseledger.example/cluster/{}", chain[0].hash.to_hex())
}

/// The checkpoint of the whole vector chain, cosigned by node-1 and node-2.
pub fn vector_checkpoint(chain: &[Entry]) -> CosignedCheckpoint {
    let head = chain.last().expect("non-empty chain");
    let tree = vector_tree(chain);
    let cp = Checkpoint::new(
        origin(chain),
        tree.size(),
        tree.root(),
        *head.hash.as_bytes(),
        head.body.accepted_at.as_millis(),
    )
    .expect("valid origin");
    let signatures = COSIGNERS
        .iter()
        .map(|(name, _, seed)| checkpoint::sign(&cp, name, &key(*seed)).expect("valid key name"))
        .collect();
    CosignedCheckpoint::new(cp, signatures).expect("two signatures")
}

fn key_decl(key_id: &str, seed: u8, valid_until: Option<u64>) -> KeyDecl {
    KeyDecl {
        key_id: id(key_id),
        public_key: pk(seed),
        valid_from: at(T0),
        valid_until: valid_until.map(at),
    }
}

fn organisation(
    org: &str,
    name: &str,
    kind: OrgKind,
    level: Level,
    parent: Option<&str>,
    seed: u8,
) -> OrganisationDecl {
    OrganisationDecl {
        id: id(org),
        name: name.into(),
        kind,
        level,
        parent: parent.map(id),
        city: "兰州".into(),
        keys: vec![key_decl("k1", seed, None)],
    }
}

fn date(y: i32, m: u32, d: u32) -> Date {
    Date::from_ymd(y, m, d).expect("valid date")
}

/// The samples' policy, version `version`.
pub fn policy(version: u32) -> Policy {
    let calendar = Calendar {
        holidays: (1..=7).map(|d| date(2026, 10, d)).collect(),
        working_weekends: vec![date(2026, 9, 27), date(2026, 10, 10)],
    };
    let mut p = Policy::pilot(vec![id(PSB), id(PROC), id(COURT)], 2, calendar);
    p.version = version;
    p
}

fn payload(signer: Signer, handoff_id: &str, offset_ms: u64, action: Action) -> Payload {
    Payload {
        signer,
        id: id(handoff_id),
        claimed_at: at(T0 + offset_ms),
        action,
    }
}

fn approvals<T: serde::Serialize>(change: &T) -> Vec<Approval> {
    vec![
        Approval::sign(
            KeyRef {
                org: id(PSB),
                key_id: id("k1"),
            },
            &key(1),
            change,
        ),
        Approval::sign(
            KeyRef {
                org: id(PROC),
                key_id: id("k1"),
            },
            &key(2),
            change,
        ),
    ]
}

/// One signed submission of every action kind, with the key that signs it: (name, submission).
pub fn action_samples(chain: &[Entry]) -> Vec<(&'static str, Submission)> {
    let psb = || org_key(PSB, "k1");
    let proc_ = || org_key(PROC, "k1");
    let genesis = Genesis {
        cluster_name: "gansu-pilot".into(),
        organisations: vec![
            organisation(
                CITY_PSB,
                "兰州市公安局",
                OrgKind::Psb,
                Level::Prefecture,
                None,
                5,
            ),
            organisation(
                PSB,
                "兰州市公安局城关分局",
                OrgKind::Psb,
                Level::County,
                Some(CITY_PSB),
                1,
            ),
            organisation(
                PROC,
                "兰州市城关区人民检察院",
                OrgKind::Procuratorate,
                Level::County,
                None,
                2,
            ),
            OrganisationDecl {
                keys: vec![key_decl("k1", 3, Some(T0 + 365 * 86_400_000))],
                ..organisation(
                    COURT,
                    "兰州市城关区人民法院",
                    OrgKind::Court,
                    Level::County,
                    None,
                    3,
                )
            },
        ],
        nodes: vec![
            NodeDecl {
                node_id: 1,
                org: id(PSB),
                signing_key: pk(11),
                tls_key: None,
            },
            NodeDecl {
                node_id: 2,
                org: id(PROC),
                signing_key: pk(12),
                tls_key: Some(pk(13)),
            },
        ],
        policy: policy(1),
    };
    let rotate = KeyOp::RotateKey {
        org: id(COURT),
        old: id("k1"),
        new: key_decl("k2", 4, None),
    };
    let register_node = KeyOp::RegisterNode(NodeDecl {
        node_id: 3,
        org: id(COURT),
        signing_key: pk(14),
        tls_key: None,
    });
    let revoke = KeyOp::RevokeKey {
        org: id(COURT),
        key_id: id("k1"),
        reason: "密钥泄露".into(),
    };
    let new_policy = policy(2);
    let rotate_node = KeyOp::RotateNodeKey {
        node_id: 2,
        signing_key: pk(15),
        tls_key: None,
    };
    let revoke_node = KeyOp::RevokeNodeKey {
        node_id: 3,
        reason: "节点密钥泄露".into(),
    };
    let add_learner = MemberOp::AddLearner {
        node_id: 2,
        addr: NodeAddr {
            raft_addr: "proc-node.example:7000".into(),
            api_addr: "proc-node.example:8080".into(),
        },
    };
    let promote = MemberOp::Promote { node_id: 2 };
    let person = || id::<PersonId>("P-7f3a");
    let case = || id("LZ-CG-2026-0001");
    vec![
        (
            "genesis",
            payload(psb(), "G-0", 0, Action::Genesis(genesis)).sign(&key(1)),
        ),
        (
            "case_filing",
            payload(
                psb(),
                "F-2026-0001",
                1,
                Action::CaseFiling(CaseFiling {
                    case_id: case(),
                    case_type: CaseType::Theft,
                    procedure: Procedure::Ordinary,
                    persons: vec![person(), id("P-0b2c")],
                    plea_leniency: false,
                    note: String::new(),
                }),
            )
            .sign(&key(1)),
        ),
        (
            "handoff_open_codes",
            payload(
                psb(),
                "H-2026-0100",
                2,
                Action::Handoff(Handoff {
                    case_id: id("LZ-CG-2026-0002"),
                    case_type: CaseType::Other("X-SMUGGLING".into()),
                    procedure: Procedure::Expedited,
                    kind: HandoffKind::Other("X-PILOT-REVIEW".into()),
                    sender: id(PSB),
                    receiver: id(PROC),
                    persons: vec![],
                    custody: false,
                    documents: vec![
                        Document {
                            doc_type: DocumentType::Other("X-MAP".into()),
                            number: "附图1".into(),
                            digest: Digest::sha256(&[b"map"]),
                            pages: 1,
                        },
                        Document {
                            doc_type: DocumentType::Evidence,
                            number: "E-1".into(),
                            digest: Digest::sha256(&[b"evidence"]),
                            pages: 300,
                        },
                    ],
                    efile_manifest: Digest::sha256(&[b"manifest-2"]),
                    related: Some(id("H-2026-0000")),
                    note: "n".repeat(200),
                }),
            )
            .sign(&key(1)),
        ),
        (
            "acceptance",
            payload(
                proc_(),
                "A-2026-0000",
                3,
                Action::Acceptance(Acceptance {
                    handoff: id("H-2026-0000"),
                }),
            )
            .sign(&key(2)),
        ),
        (
            "return_for_completion",
            payload(
                proc_(),
                "RC-2026-0000",
                4,
                Action::ReturnForCompletion(ReturnForCompletion {
                    handoff: id("H-2026-0000"),
                    reason: "缺少证据材料".into(),
                    missing: vec![DocumentType::Evidence, DocumentType::Other("X-MAP".into())],
                }),
            )
            .sign(&key(2)),
        ),
        (
            "coercive_measure",
            payload(
                psb(),
                "M-2026-0001",
                5,
                Action::CoerciveMeasure(CoerciveMeasure {
                    case_id: case(),
                    person: person(),
                    measure: MeasureKind::Detention,
                    effective_at: at(T0 - 3_600_000),
                }),
            )
            .sign(&key(1)),
        ),
        (
            "clock_extend",
            payload(
                psb(),
                "CA-2026-0001",
                6,
                Action::ClockAdjustment(ClockAdjustment {
                    case_id: case(),
                    clock: ClockRef::Measure {
                        person: person(),
                        measure: MeasureKind::Arrest,
                    },
                    action: ClockAction::Extend {
                        period: Period::Months(1),
                        approved_by: id(PROC),
                    },
                }),
            )
            .sign(&key(1)),
        ),
        (
            "clock_pause",
            payload(
                proc_(),
                "CA-2026-0002",
                7,
                Action::ClockAdjustment(ClockAdjustment {
                    case_id: case(),
                    clock: ClockRef::Handoff(id("H-2026-0000")),
                    action: ClockAction::Pause {
                        reason: "精神病鉴定".into(),
                    },
                }),
            )
            .sign(&key(2)),
        ),
        (
            "clock_restart",
            payload(
                proc_(),
                "CA-2026-0003",
                8,
                Action::ClockAdjustment(ClockAdjustment {
                    case_id: case(),
                    clock: ClockRef::Handoff(id("H-2026-0000")),
                    action: ClockAction::Restart {
                        reason: RestartReason::ProcedureConversion,
                    },
                }),
            )
            .sign(&key(2)),
        ),
        (
            "case_closure",
            payload(
                psb(),
                "CC-2026-0001",
                9,
                Action::CaseClosure(CaseClosure {
                    case_id: case(),
                    reason: "执行完毕".into(),
                }),
            )
            .sign(&key(1)),
        ),
        (
            "key_rotation",
            payload(
                org_key(COURT, "k1"),
                "K-2026-0001",
                10,
                Action::KeyLifecycle(KeyLifecycle {
                    approvals: approvals(&rotate),
                    op: rotate,
                }),
            )
            .sign(&key(3)),
        ),
        (
            "node_registration",
            payload(
                org_key(COURT, "k2"),
                "K-2026-0002",
                11,
                Action::KeyLifecycle(KeyLifecycle {
                    approvals: approvals(&register_node),
                    op: register_node,
                }),
            )
            .sign(&key(4)),
        ),
        (
            "key_revocation",
            payload(
                psb(),
                "K-2026-0003",
                12,
                Action::KeyLifecycle(KeyLifecycle {
                    approvals: approvals(&revoke),
                    op: revoke,
                }),
            )
            .sign(&key(1)),
        ),
        (
            "policy_update",
            payload(
                psb(),
                "P-2026-0002",
                13,
                Action::Policy(PolicyUpdate {
                    approvals: approvals(&new_policy),
                    policy: new_policy,
                }),
            )
            .sign(&key(1)),
        ),
        (
            "checkpoint",
            payload(
                Signer::Node(1),
                "CP-7",
                14,
                Action::Checkpoint(CheckpointRecord {
                    note: vector_checkpoint(chain).to_note_text(),
                }),
            )
            .sign(&key(11)),
        ),
        (
            "node_key_rotation",
            payload(
                org_key(PROC, "k1"),
                "K-2026-0004",
                15,
                Action::KeyLifecycle(KeyLifecycle {
                    approvals: approvals(&rotate_node),
                    op: rotate_node,
                }),
            )
            .sign(&key(2)),
        ),
        (
            "node_key_revocation",
            payload(
                psb(),
                "K-2026-0005",
                16,
                Action::KeyLifecycle(KeyLifecycle {
                    approvals: approvals(&revoke_node),
                    op: revoke_node,
                }),
            )
            .sign(&key(1)),
        ),
        (
            "membership_add_learner",
            payload(
                org_key(PROC, "k1"),
                "M-2026-0001",
                17,
                Action::Membership(MembershipChange {
                    approvals: membership_approvals(&add_learner),
                    op: add_learner,
                }),
            )
            .sign(&key(2)),
        ),
        (
            "membership_promote",
            payload(
                psb(),
                "M-2026-0002",
                18,
                Action::Membership(MembershipChange {
                    approvals: membership_approvals(&promote),
                    op: promote,
                }),
            )
            .sign(&key(1)),
        ),
        (
            "clock_extend_approved",
            payload(
                psb(),
                "CA-2026-0004",
                19,
                Action::ClockAdjustment(ClockAdjustment {
                    case_id: case(),
                    clock: arrest_clock(),
                    action: ClockAction::Approved {
                        change: Box::new(arrest_extension()),
                        approval: Approval::sign_clock(
                            KeyRef {
                                org: id(PROC),
                                key_id: id("k1"),
                            },
                            &key(2),
                            &ClockApprovalTerms {
                                adjustment: id("CA-2026-0004"),
                                case_id: case(),
                                clock: arrest_clock(),
                                change: arrest_extension(),
                            },
                        ),
                    },
                }),
            )
            .sign(&key(1)),
        ),
    ]
}

/// The custody clock of the sample person (its extension is the `clock_extend` samples').
fn arrest_clock() -> ClockRef {
    ClockRef::Measure {
        person: id("P-7f3a"),
        measure: MeasureKind::Arrest,
    }
}

/// One month more of custody, approved by the procuratorate (Art. 156).
fn arrest_extension() -> ClockAction {
    ClockAction::Extend {
        period: Period::Months(1),
        approved_by: id(PROC),
    }
}

/// Approvals of a membership change by the PSB and the procuratorate (docs/FORMAT.md
/// §Membership: the membership-approval context).
fn membership_approvals(op: &MemberOp) -> Vec<Approval> {
    [(PSB, 1), (PROC, 2)]
        .into_iter()
        .map(|(org, seed)| {
            Approval::sign_membership(
                KeyRef {
                    org: id(org),
                    key_id: id("k1"),
                },
                &key(seed),
                op,
            )
        })
        .collect()
}

/// The organisation or node named by a signer, as the `KEYS` table spells it.
pub fn signer_name(signer: &Signer) -> String {
    match signer {
        Signer::Org(k) => format!("{}/{}", k.org, k.key_id),
        Signer::Node(n) => format!("node-{n}"),
    }
}

/// The seed of a key in `KEYS`.
pub fn seed_of(name: &str) -> u8 {
    KEYS.iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| *s)
        .expect("a key of the samples")
}
