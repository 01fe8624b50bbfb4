//! The `ledger` vector (docs/FORMAT.md §Vectors): a real ledger made by `apply` from a
//! genesis, so that the registry rules are tested too: an organisation registering itself
//! with its own key (§Apply, step 4), a key added, a key rotated and its successor signing in
//! the same millisecond, a receipt (签收), a rejection, a cosigned checkpoint entry with the
//! cluster's origin; submissions `apply` refuses (the rotated-out key at the rotation's
//! millisecond, a key with `y ≥ p`); a receipt (§Receipt) of one entry and texts that must not
//! parse; and public keys that the registry accepts or refuses (§Crypto).

use super::samples::{id, key, pk, policy, CITY_PSB, COURT, PROC, PSB};
use proto_types::checkpoint::{self, Checkpoint, CosignedCheckpoint};
use proto_types::crypto::{Digest, PublicKey};
use proto_types::domain::{CaseType, DocumentType, HandoffKind, Level, OrgKind, Procedure};
use proto_types::encoding::decode;
use proto_types::ids::PersonId;
use proto_types::payload::{
    Approval, CaseFiling, CheckpointRecord, Document, Genesis, Handoff, KeyDecl, KeyLifecycle,
    KeyOp, KeyRef, NodeDecl, OrganisationDecl, Receipt, Signer,
};
use proto_types::receipt;
use proto_types::{
    apply, Action, Entry, LedgerState, MemState, Outcome, Payload, Proposal, SignatureCheck,
    Submission, Timestamp,
};

/// The community-corrections bureau that registers itself in the ledger; keys seeds 6 and 7.
pub const CC: &str = "GS-LZ-CG-CC";

/// The cluster name of the ledger's genesis; its notes' origin is `caseledger/gansu-pilot`.
pub const CLUSTER: &str = "gansu-pilot";

/// Every key of the ledger vector beyond `samples::KEYS`: (who, seed).
pub const LEDGER_KEYS: [(&str, u8); 2] = [("GS-LZ-CG-CC/k1", 6), ("GS-LZ-CG-CC/k2", 7)];

/// 2026-01-01T00:00:00Z, as in the samples; the ledger's entries are stamped seconds after.
const T0: u64 = 1_767_225_600_000;

/// The time of the rotation, at which the new key also signs and the old one is refused.
pub const ROTATION_MS: u64 = T0 + 7_000;

/// `p + 3` little-endian (p = 2^255 − 19): a public key with `y ≥ p` that ed25519-dalek
/// accepts (y reduces to 3, a point of large order); declared as `GS-LZ-PSB/k9`.
pub fn y_above_p(j: u8) -> [u8; 32] {
    let mut b = [0xff; 32];
    b[0] = 0xed + j;
    b[31] = 0x7f;
    b
}

fn at(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn org(org: &str, key_id: &str) -> Signer {
    Signer::Org(KeyRef {
        org: id(org),
        key_id: id(key_id),
    })
}

fn decl(key_id: &str, public_key: PublicKey) -> KeyDecl {
    KeyDecl {
        key_id: id(key_id),
        public_key,
        valid_from: at(T0),
        valid_until: None,
    }
}

fn approvals(op: &KeyOp) -> Vec<Approval> {
    [(PSB, 1), (PROC, 2)]
        .iter()
        .map(|(o, seed)| {
            Approval::sign(
                KeyRef {
                    org: id(o),
                    key_id: id("k1"),
                },
                &key(*seed),
                op,
            )
        })
        .collect()
}

fn organisation(
    id_: &str,
    name: &str,
    kind: OrgKind,
    level: Level,
    keys: Vec<KeyDecl>,
) -> OrganisationDecl {
    OrganisationDecl {
        id: id(id_),
        name: name.into(),
        kind,
        level,
        parent: None,
        city: "兰州".into(),
        keys,
    }
}

/// One step of the ledger: (signer, signer's seed, submission id, stamped at, action).
type Step = (Signer, u8, &'static str, u64, Action);

fn steps() -> Vec<Step> {
    let genesis = Genesis {
        cluster_name: CLUSTER.into(),
        organisations: vec![
            organisation(
                CITY_PSB,
                "兰州市公安局",
                OrgKind::Psb,
                Level::Prefecture,
                vec![
                    decl("k1", pk(5)),
                    decl(
                        "k9",
                        decode::<PublicKey>(&[[1u8, 0, 32].as_slice(), &y_above_p(3)].concat())
                            .expect("32 bytes decode as a key"),
                    ),
                ],
            ),
            organisation(
                PSB,
                "兰州市公安局城关分局",
                OrgKind::Psb,
                Level::County,
                vec![decl("k1", pk(1))],
            ),
            organisation(
                PROC,
                "兰州市城关区人民检察院",
                OrgKind::Procuratorate,
                Level::County,
                vec![decl("k1", pk(2))],
            ),
            organisation(
                COURT,
                "兰州市城关区人民法院",
                OrgKind::Court,
                Level::County,
                vec![decl("k1", pk(3))],
            ),
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
                tls_key: None,
            },
        ],
        policy: policy(1),
    };
    let register = KeyOp::RegisterOrganisation(organisation(
        CC,
        "兰州市城关区司法局社区矫正中心",
        OrgKind::CommunityCorrections,
        Level::County,
        vec![decl("k1", pk(6))],
    ));
    let add = KeyOp::AddKey {
        org: id(CC),
        key: decl("k2", pk(7)),
    };
    let rotate = KeyOp::RotateKey {
        org: id(COURT),
        old: id("k1"),
        new: decl("k2", pk(4)),
    };
    let case = || id("LZ-CG-2026-0009");
    let handoff = Handoff {
        case_id: case(),
        case_type: CaseType::Theft,
        procedure: Procedure::Ordinary,
        kind: HandoffKind::ProsecutionTransfer,
        sender: id(PSB),
        receiver: id(PROC),
        persons: vec![id::<PersonId>("P-51c0")],
        custody: false,
        documents: vec![Document {
            doc_type: DocumentType::ProsecutionOpinion,
            number: "兰城公诉〔2026〕9号".into(),
            digest: Digest::sha256(&[b"opinion-9"]),
            pages: 7,
        }],
        efile_manifest: Digest::sha256(&[b"manifest-9"]),
        related: None,
        note: String::new(),
    };
    let kl = |op: KeyOp| {
        Action::KeyLifecycle(KeyLifecycle {
            approvals: approvals(&op),
            op,
        })
    };
    vec![
        (
            org(PSB, "k1"),
            1,
            "L-G",
            T0 + 1_000,
            Action::Genesis(genesis),
        ),
        (org(CC, "k1"), 6, "L-REG-CC", T0 + 2_000, kl(register)),
        (org(CC, "k1"), 6, "L-ADD-CC-K2", T0 + 3_000, kl(add)),
        (
            org(PSB, "k1"),
            1,
            "L-F-0009",
            T0 + 4_000,
            Action::CaseFiling(CaseFiling {
                case_id: case(),
                case_type: CaseType::Theft,
                procedure: Procedure::Ordinary,
                persons: vec![id("P-51c0")],
                plea_leniency: false,
                note: String::new(),
            }),
        ),
        (
            org(PSB, "k1"),
            1,
            "L-H-0009",
            T0 + 5_000,
            Action::Handoff(handoff),
        ),
        (
            org(PROC, "k1"),
            2,
            "L-R-0009",
            T0 + 6_000,
            Action::Receipt(Receipt {
                handoff: id("L-H-0009"),
            }),
        ),
        (org(COURT, "k1"), 3, "L-ROT-COURT", ROTATION_MS, kl(rotate)),
        (
            org(COURT, "k2"),
            4,
            "L-R-0009-COURT",
            ROTATION_MS,
            Action::Receipt(Receipt {
                handoff: id("L-H-0009"),
            }),
        ),
    ]
}

/// Submissions `apply` refuses (not recorded): (submission, stamped at, ledger size when
/// tried, why).
pub type Refused = (Submission, u64, u64, &'static str);

/// The ledger vector: its entries, the refused submissions, a receipt and its rejects.
pub struct LedgerVector {
    /// The entries, made by `apply` from an empty state.
    pub entries: Vec<Entry>,
    /// The signer's key of each entry (the key `apply` resolved).
    pub keys: Vec<PublicKey>,
    /// Submissions refused along the way.
    pub refused: Vec<Refused>,
    /// The receipt (§Receipt) of entry [`RECEIPT_INDEX`] against the checkpoint entry's note.
    pub receipt: String,
    /// Receipt texts that must fail to parse, with why.
    pub receipt_rejects: Vec<(String, &'static str)>,
}

/// The entry the receipt proves: the procuratorate's receipt (签收) of the handoff.
pub const RECEIPT_INDEX: u64 = 5;

fn propose(state: &MemState, sub: Submission, stamped: u64) -> Outcome {
    let proposal = Proposal {
        submission: sub,
        stamped_at: at(stamped),
    };
    apply(state, &proposal, SignatureCheck::Verify).expect("in-memory state")
}

fn sign(signer: Signer, seed: u8, sub_id: &str, ms: u64, action: Action) -> Submission {
    Payload {
        signer,
        id: id(sub_id),
        claimed_at: at(ms),
        action,
    }
    .sign(&key(seed))
}

/// Builds the ledger vector through `apply`.
pub fn ledger_vector() -> LedgerVector {
    let mut state = MemState::new();
    let mut entries = Vec::new();
    let mut keys = Vec::new();
    let mut refused = Vec::new();
    let mut append = |state: &mut MemState, sub: Submission, ms: u64| {
        let key = state
            .registry()
            .map_or_else(
                || match &sub.payload.action {
                    Action::Genesis(g) => {
                        let Signer::Org(k) = &sub.payload.signer else {
                            unreachable!("an organisation signs genesis")
                        };
                        g.organisations
                            .iter()
                            .find(|o| o.id == k.org)
                            .and_then(|o| o.keys.iter().find(|d| d.key_id == k.key_id))
                            .map(|d| d.public_key)
                            .ok_or(proto_types::registry::KeyError::UnknownKey)
                    }
                    _ => unreachable!("genesis first"),
                },
                |r| r.key_for_payload(&sub.payload, at(ms)),
            )
            .expect("a valid key");
        match propose(state, sub, ms) {
            Outcome::Appended(a) => {
                state.commit(&a);
                entries.push(a.entry.clone());
                keys.push(key);
            }
            other => panic!("not appended: {other:?}"),
        }
    };
    for (signer, seed, sub_id, ms, action) in steps() {
        let sub = sign(signer, seed, sub_id, ms, action);
        append(&mut state, sub, ms);
        if sub_id == "L-R-0009-COURT" {
            // The rotated-out key, in the rotation's own millisecond: refused.
            let old = sign(
                org(COURT, "k1"),
                3,
                "L-R-0009-COURT-OLD",
                ROTATION_MS,
                Action::Receipt(Receipt {
                    handoff: id("L-H-0009"),
                }),
            );
            assert!(matches!(
                propose(&state, old.clone(), ROTATION_MS),
                Outcome::Refused(_)
            ));
            refused.push((
                old,
                ROTATION_MS,
                state.head().size,
                "signed with GS-LZ-CG-COURT/k1 in the millisecond of its rotation: its valid_until is that millisecond",
            ));
            // The key with y ≥ p: nobody can sign for it (signed here with seed 9).
            let odd = sign(
                org(CITY_PSB, "k9"),
                9,
                "L-K9",
                ROTATION_MS,
                Action::Receipt(Receipt {
                    handoff: id("L-H-0009"),
                }),
            );
            assert!(matches!(
                propose(&state, odd.clone(), ROTATION_MS),
                Outcome::Refused(_)
            ));
            refused.push((
                odd,
                ROTATION_MS,
                state.head().size,
                "claims GS-LZ-PSB/k9, the key with y = p + 3: no signature verifies under it",
            ));
        }
    }
    // The checkpoint entry: the head of the 8 entries so far, cosigned by both nodes.
    let head = state.head();
    let size = head.size;
    let cp = Checkpoint::new(
        checkpoint::origin_for(CLUSTER),
        size,
        state.merkle_root(size).unwrap_or_else(|e| match e {}),
        *head.hash.as_bytes(),
        head.time.as_millis(),
    )
    .expect("a valid origin");
    let signatures = [("node-1", 11u8), ("node-2", 12)]
        .iter()
        .map(|(name, seed)| checkpoint::sign(&cp, name, &key(*seed)).expect("a key name"))
        .collect();
    let note = CosignedCheckpoint::new(cp, signatures).expect("two signatures");
    let cp_ms = T0 + 8_000;
    let sub = sign(
        Signer::Node(1),
        11,
        "L-CP-8",
        cp_ms,
        Action::Checkpoint(CheckpointRecord {
            note: note.to_note_text(),
        }),
    );
    append(&mut state, sub, cp_ms);
    let proof = state
        .tree()
        .inclusion_proof(RECEIPT_INDEX, size)
        .expect("an entry of the tree");
    let receipt = receipt::Receipt {
        entry_bytes: entries[RECEIPT_INDEX as usize].to_bytes(),
        index: RECEIPT_INDEX,
        proof,
        note,
    }
    .to_text();
    LedgerVector {
        receipt_rejects: receipt_rejects(&receipt),
        entries,
        keys,
        refused,
        receipt,
    }
}

/// Texts that differ from a valid receipt in one way each and MUST fail to parse
/// (docs/FORMAT.md §Receipt, "Parsing is strict").
fn receipt_rejects(good: &str) -> Vec<(String, &'static str)> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let lines: Vec<&str> = good.split_inclusive('\n').collect();
    let b64 = lines[1]
        .trim_end_matches('\n')
        .strip_prefix("extra ")
        .expect("an extra line");
    let with_line = |at: usize, line: String| {
        let mut v: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        v[at] = line;
        v.concat()
    };
    // The first proof line: 32 bytes in 44 characters, the last data character carrying two
    // unused bits, which canonical base64 leaves zero. Set one.
    let proof_line = lines[3].trim_end_matches('\n');
    let mut odd_bits = proof_line.as_bytes().to_vec();
    let pos = ALPHABET
        .iter()
        .position(|c| *c == odd_bits[42])
        .expect("a base64 character");
    odd_bits[42] = ALPHABET[pos | 1];
    let odd_bits = String::from_utf8(odd_bits).expect("ASCII");
    let mut rejects = vec![
        (
            [&lines[..1], &lines[2..]].concat().concat(),
            "no extra line",
        ),
        (
            with_line(1, format!("extra  {b64}\n")),
            "two spaces after extra",
        ),
        (
            with_line(1, format!("extra {}\n{}\n", &b64[..40], &b64[40..])),
            "extra's base64 broken over two lines",
        ),
        (
            with_line(3, format!("{odd_bits}\n")),
            "a proof hash in base64 with non-zero unused bits",
        ),
        (good.replace('\n', "\r\n"), "CRLF line ends"),
        (
            with_line(2, format!("index 0{RECEIPT_INDEX}\n")),
            "index with a leading zero",
        ),
        (format!("{good}trailing\n"), "a line after the note"),
        (
            good.trim_end_matches('\n').to_owned(),
            "no newline at the end of the note",
        ),
    ];
    if let Some(unpadded) = b64.strip_suffix('=') {
        rejects.push((
            with_line(1, format!("extra {}\n", unpadded.trim_end_matches('='))),
            "extra without its base64 padding",
        ));
    }
    rejects
}
