//! Known-answer vectors and properties of the canonical format, signatures and the chain
//! (docs/FORMAT.md). The vectors are also written to `tests/data/format-vectors.json`, which
//! the independent Python verifier (`tests/python/verify_vectors.py`) checks from FORMAT.md alone.

#[path = "format/enums.rs"]
mod enums;
#[path = "format/ledger.rs"]
mod ledger;
#[path = "format/samples.rs"]
mod samples;

use ledger::{ledger_vector, y_above_p, LedgerVector, CLUSTER, LEDGER_KEYS, RECEIPT_INDEX};
use proptest::prelude::*;
use proto_types::checkpoint::{verify_quorum, CosignedCheckpoint};
use proto_types::crypto::{context, Digest, PublicKey};
use proto_types::domain::Stage;
use proto_types::encoding::{decode, encode, DecodeError};
use proto_types::entry::{ChainFault, ENCODED_HASH_LEN};
use proto_types::ids::{CaseId, HandoffId, KeyId, OrgId};
use proto_types::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use proto_types::policy::Period;
use proto_types::time::Date;
use proto_types::{
    apply, verify_chain, Action, ChainHead, Entry, MemState, Outcome, Proposal, SignatureCheck,
    Submission, Timestamp,
};
use samples::{
    action_samples, key, origin, pk, receipt_submission, sample_chain, sample_submission, seed_of,
    signer_name, vector_chain, vector_checkpoint, vector_tree, CHAIN_LEN, COSIGNERS, KEYS,
};

#[test]
fn encoding_starts_with_the_version_byte_and_round_trips() {
    let sub = sample_submission(1);
    let bytes = encode(&sub);
    assert_eq!(bytes[0], 1);
    assert_eq!(decode::<Submission>(&bytes), Ok(sub));
}

#[test]
fn decoding_rejects_unknown_versions_trailing_bytes_and_overlong_varints() {
    let sub = sample_submission(1);
    let bytes = encode(&sub);
    let mut v2 = bytes.clone();
    v2[0] = 2;
    assert_eq!(
        decode::<Submission>(&v2),
        Err(DecodeError::UnknownVersion(2))
    );
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(
        decode::<Submission>(&trailing),
        Err(DecodeError::TrailingBytes(1))
    );
    assert_eq!(decode::<Submission>(&[]), Err(DecodeError::Empty));
    // Timestamp 5 as an over-long varint (0x85 0x00) decodes in postcard but is not canonical.
    assert_eq!(decode::<Timestamp>(&[1, 5]), Ok(Timestamp::from_millis(5)));
    assert_eq!(
        decode::<Timestamp>(&[1, 0x85, 0x00]),
        Err(DecodeError::NonCanonical)
    );
}

#[test]
fn identifiers_are_checked_when_decoded() {
    // An OrgId with a space, encoded by hand: version, length 3, "a b".
    assert!(matches!(
        decode::<OrgId>(&[1, 3, b'a', b' ', b'b']),
        Err(DecodeError::Malformed(_))
    ));
    assert!(OrgId::new("").is_err());
    assert!(OrgId::new("x".repeat(65)).is_err());
    assert!(KeyId::new("k-1").is_ok());
}

#[test]
fn signatures_verify_only_with_the_signers_key_and_only_for_the_same_bytes() {
    let sub = sample_submission(1);
    assert_eq!(sub.verify_with(&PublicKey::of(&key(1))), Ok(()));
    assert!(sub.verify_with(&PublicKey::of(&key(2))).is_err());
    let mut forged = sub.clone();
    forged.payload.claimed_at = Timestamp::from_millis(0);
    assert!(forged.verify_with(&PublicKey::of(&key(1))).is_err());
}

#[test]
fn an_entry_is_its_leaf_bytes_followed_by_its_hash() {
    let e = &sample_chain(1)[0];
    let bytes = e.to_bytes();
    let leaf = Entry::leaf_of(&bytes).expect("long enough");
    assert_eq!(leaf, e.body.leaf_bytes().as_slice());
    assert_eq!(bytes.len() - leaf.len(), ENCODED_HASH_LEN);
    assert_eq!(&bytes[bytes.len() - 32..], e.hash.as_bytes());
    assert_eq!(Entry::from_bytes(&bytes).as_ref(), Ok(e));
}

#[test]
fn a_valid_chain_verifies_to_its_head() {
    let chain = sample_chain(10);
    let bytes: Vec<Vec<u8>> = chain.iter().map(Entry::to_bytes).collect();
    let head =
        verify_chain(ChainHead::EMPTY, bytes.iter().map(Vec::as_slice)).expect("valid chain");
    assert_eq!(head.size, 10);
    assert_eq!(head.hash, chain[9].hash);
}

#[test]
fn swapped_and_deleted_entries_are_caught_at_their_index() {
    let chain = sample_chain(6);
    let mut bytes: Vec<Vec<u8>> = chain.iter().map(Entry::to_bytes).collect();
    bytes.swap(2, 3);
    let err = verify_chain(ChainHead::EMPTY, bytes.iter().map(Vec::as_slice)).expect_err("swapped");
    assert_eq!(err.index, 2);
    assert!(matches!(
        err.fault,
        ChainFault::WrongIndex {
            expected: 2,
            found: 3
        }
    ));
    let mut bytes: Vec<Vec<u8>> = chain.iter().map(Entry::to_bytes).collect();
    bytes.remove(4);
    let err = verify_chain(ChainHead::EMPTY, bytes.iter().map(Vec::as_slice)).expect_err("deleted");
    assert_eq!(err.index, 4);
}

/// The committed vectors file (docs/FORMAT.md §Vectors).
const VECTORS_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/format-vectors.json"
);

/// docs/FORMAT.md, which the vectors and the enum tables are checked against.
const FORMAT_MD_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/FORMAT.md");

fn format_md() -> String {
    std::fs::read_to_string(FORMAT_MD_PATH).expect("docs/FORMAT.md exists")
}

/// A value of the vectors' `primitives` list: its type, the value as JSON, its encoding.
fn primitive<T: serde::Serialize>(ty: &str, value: serde_json::Value, v: &T) -> serde_json::Value {
    serde_json::json!({ "type": ty, "value": value, "hex": hex::encode(encode(v)) })
}

/// Whether `bytes` decode strictly as the type named `ty` (the types of the `rejects` list).
fn decodes_as(ty: &str, bytes: &[u8]) -> bool {
    match ty {
        "Timestamp" => decode::<Timestamp>(bytes).is_ok(),
        "Date" => decode::<Date>(bytes).is_ok(),
        "bool" => decode::<bool>(bytes).is_ok(),
        "Option<Timestamp>" => decode::<Option<Timestamp>>(bytes).is_ok(),
        "String" => decode::<String>(bytes).is_ok(),
        "OrgId" => decode::<OrgId>(bytes).is_ok(),
        "Digest" => decode::<Digest>(bytes).is_ok(),
        "Stage" => decode::<Stage>(bytes).is_ok(),
        "Period" => decode::<Period>(bytes).is_ok(),
        "Submission" => decode::<Submission>(bytes).is_ok(),
        other => panic!("no decoder for {other}"),
    }
}

/// Byte strings that are not canonical encodings, each with the type it claims and why not.
fn rejects() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let sub = encode(&sample_submission(0));
    let mut bad_sig_len = sub.clone();
    // The signature is the last 66 bytes: alg 0x00, length 0x40, 64 bytes. Claim 63 bytes.
    let len_at = bad_sig_len.len() - 65;
    bad_sig_len[len_at] = 0x3f;
    bad_sig_len.pop();
    let mut digest_alg = vec![1, 1, 0x20];
    digest_alg.extend([0; 32]);
    let mut digest_len = vec![1, 0, 0x1f];
    digest_len.extend([0; 31]);
    let mut long_id = vec![1, 65];
    long_id.extend([b'a'; 65]);
    vec![
        ("Timestamp", vec![], "empty input: no version byte"),
        ("Timestamp", vec![2, 5], "unknown format version 2"),
        (
            "Timestamp",
            vec![1, 5, 0],
            "a trailing byte after the value",
        ),
        (
            "Timestamp",
            vec![1, 0x85, 0x00],
            "over-long varint (5 in two bytes)",
        ),
        ("Timestamp", vec![1, 0x80], "varint cut short"),
        (
            "Timestamp",
            [&[1u8][..], &[0xff; 9], &[0x02]].concat(),
            "varint above u64::MAX",
        ),
        (
            "Date",
            vec![1, 0x80, 0x00],
            "over-long zigzag varint (0 in two bytes)",
        ),
        (
            "Period",
            vec![1, 0, 0xff, 0xff, 0xff, 0xff, 0x1f],
            "Days(n) with n above u32::MAX",
        ),
        ("bool", vec![1, 2], "bool byte other than 0 or 1"),
        (
            "Option<Timestamp>",
            vec![1, 2, 5],
            "option tag other than 0 or 1",
        ),
        ("String", vec![1, 1, 0xff], "invalid UTF-8"),
        ("String", vec![1, 5, b'a'], "length beyond the input"),
        (
            "OrgId",
            vec![1, 3, b'a', b' ', b'b'],
            "identifier with a space",
        ),
        ("OrgId", vec![1, 0], "empty identifier"),
        ("OrgId", long_id, "identifier of 65 bytes (OrgId allows 64)"),
        ("Digest", digest_alg, "unknown hash algorithm 1"),
        ("Digest", digest_len, "SHA-256 digest of 31 bytes"),
        (
            "Stage",
            vec![1, 15],
            "variant index 15 of an enum with 15 variants",
        ),
        ("Submission", bad_sig_len, "Ed25519 signature of 63 bytes"),
    ]
}

/// Everything in `tests/data/format-vectors.json`.
fn vectors() -> serde_json::Value {
    let chain = vector_chain();
    let tree = vector_tree(&chain);
    let size = tree.size();
    let sub = sample_submission(0);
    let note = vector_checkpoint(&chain);
    let merkle = serde_json::json!({
        "leaf_hashes_hex": chain.iter().map(|e| leaf_hash(&e.body.leaf_bytes()).to_string()).collect::<Vec<_>>(),
        "roots_hex": (0..=size).map(|n| tree.root_at(n).expect("size within the tree").to_string()).collect::<Vec<_>>(),
        "inclusion": (1..=size).flat_map(|n| (0..n).map(move |i| (i, n))).map(|(i, n)| serde_json::json!({
            "index": i,
            "tree_size": n,
            "proof_hex": tree.inclusion_proof(i, n).expect("index within the tree").iter().map(ToString::to_string).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "consistency": (0..=size).flat_map(|m| (m..=size).map(move |n| (m, n))).map(|(m, n)| serde_json::json!({
            "first": m,
            "second": n,
            "proof_hex": tree.consistency_proof(m, n).expect("sizes within the tree").iter().map(ToString::to_string).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    let head = chain.last().expect("non-empty");
    let checkpoint = serde_json::json!({
        "origin": origin(&chain),
        "tree_size": size,
        "root_hex": tree.root().to_string(),
        "chain_head_hex": head.hash.to_hex(),
        "time_ms": head.body.accepted_at.as_millis(),
        "note": note.to_note_text(),
        "quorum": COSIGNERS.len(),
        "cosigners": COSIGNERS.iter().map(|(name, node_id, seed)| serde_json::json!({
            "name": name,
            "node_id": node_id,
            "public_key_hex": hex::encode(pk(*seed).as_bytes()),
        })).collect::<Vec<_>>(),
    });
    let receipt = receipt_submission(0);
    let ledger = ledger_json(&ledger_vector());
    serde_json::json!({
        "about": "caseledger format vectors; see docs/FORMAT.md §Vectors. Keys are Ed25519 with 32-byte seeds.",
        "signer_seed_hex": hex::encode([1u8; 32]),
        "signer_public_key_hex": hex::encode(pk(1).as_bytes()),
        "receiver_seed_hex": hex::encode([2u8; 32]),
        "receiver_public_key_hex": hex::encode(pk(2).as_bytes()),
        "payload_hex": hex::encode(encode(&sub.payload)),
        "signature_hex": hex::encode(sub.signature.as_bytes()),
        "submission_hex": hex::encode(encode(&sub)),
        "entries": chain.iter().map(|e| serde_json::json!({
            "index": e.body.index,
            "accepted_at_ms": e.body.accepted_at.as_millis(),
            "entry_hex": hex::encode(e.to_bytes()),
            "hash_hex": e.hash.to_hex(),
            "signer_public_key_hex": hex::encode(pk(seed_of(&signer_name(&e.body.record.submission().payload.signer))).as_bytes()),
        })).collect::<Vec<_>>(),
        "keys": KEYS.iter().map(|(name, seed)| serde_json::json!({
            "name": name,
            "seed_hex": hex::encode([*seed; 32]),
            "public_key_hex": hex::encode(pk(*seed).as_bytes()),
        })).collect::<Vec<_>>(),
        "worked_example": {
            "what": "the payload of entry 1: the procuratorate's receipt of handoff H-2026-0000",
            "payload_hex": hex::encode(encode(&receipt.payload)),
            "signature_hex": hex::encode(receipt.signature.as_bytes()),
        },
        "merkle": merkle,
        "checkpoint": checkpoint,
        "actions": action_samples(&chain).iter().map(|(name, s)| serde_json::json!({
            "name": name,
            "action": s.payload.action.kind_name(),
            "id": s.payload.id.as_str(),
            "signer": signer_name(&s.payload.signer),
            "submission_hex": hex::encode(encode(s)),
        })).collect::<Vec<_>>(),
        "batch": {
            "about": "the body of POST /v1/entries/batch with Content-Type application/vnd.caseledger.canonical: the worked example's submission, then the handoff's, each after its length as a 4-byte big-endian integer (§Batch)",
            "submissions_hex": [hex::encode(encode(&receipt)), hex::encode(encode(&sub))],
            "framed_hex": hex::encode(proto_types::framing::frame(&[encode(&receipt), encode(&sub)])),
        },
        "primitives": [
            primitive("Timestamp", 0.into(), &Timestamp::from_millis(0)),
            primitive("Timestamp", 127.into(), &Timestamp::from_millis(127)),
            primitive("Timestamp", 128.into(), &Timestamp::from_millis(128)),
            primitive("Timestamp", 300.into(), &Timestamp::from_millis(300)),
            primitive("Timestamp", 1_780_000_000_000u64.into(), &Timestamp::from_millis(1_780_000_000_000)),
            primitive("Timestamp", u64::MAX.into(), &Timestamp::from_millis(u64::MAX)),
            primitive("Date", 0.into(), &Date::from_days(0)),
            primitive("Date", (-1).into(), &Date::from_days(-1)),
            primitive("Date", 1.into(), &Date::from_days(1)),
            primitive("Date", 20_727.into(), &Date::parse("2026-10-01").expect("valid date")),
            primitive("Date", i32::MIN.into(), &Date::from_days(i32::MIN)),
            primitive("Date", i32::MAX.into(), &Date::from_days(i32::MAX)),
            primitive("bool", false.into(), &false),
            primitive("bool", true.into(), &true),
            primitive("Option<Timestamp>", serde_json::Value::Null, &None::<Timestamp>),
            primitive("Option<Timestamp>", 5.into(), &Some(Timestamp::from_millis(5))),
            primitive("String", "".into(), &String::new()),
            primitive("String", "兰州".into(), &"兰州".to_owned()),
            primitive("HandoffId", "H-2026-0000".into(), &HandoffId::new("H-2026-0000").expect("valid id")),
        ],
        "rejects": rejects().iter().map(|(ty, bytes, why)| serde_json::json!({
            "type": ty, "hex": hex::encode(bytes), "why": why,
        })).collect::<Vec<_>>(),
        "ledger": ledger,
        "public_keys": public_keys().iter().map(|(bytes, usable, why)| serde_json::json!({
            "public_key_hex": hex::encode(bytes), "registrable": usable, "why": why,
        })).collect::<Vec<_>>(),
    })
}

/// The name of a key as the vectors spell it: `ORG/KEY_ID` or `node-N`.
fn name_of(signer: &proto_types::payload::Signer) -> String {
    signer_name(signer)
}

/// The `ledger` vector as JSON (docs/FORMAT.md §Vectors).
fn ledger_json(v: &LedgerVector) -> serde_json::Value {
    serde_json::json!({
        "about": "a ledger made by apply from its genesis: a self-signed organisation registration, an added key, a rotation with the new key signing in the same millisecond, a receipt, a rejection, a cosigned checkpoint entry",
        "cluster_name": CLUSTER,
        "keys": LEDGER_KEYS.iter().map(|(name, seed)| serde_json::json!({
            "name": name,
            "seed_hex": hex::encode([*seed; 32]),
            "public_key_hex": hex::encode(pk(*seed).as_bytes()),
        })).collect::<Vec<_>>(),
        "entries": v.entries.iter().zip(&v.keys).map(|(e, key)| {
            let (record, sub) = match &e.body.record {
                proto_types::Record::Accepted(s) => ("accepted".to_owned(), s),
                proto_types::Record::Rejected(r) => (format!("rejected {:?}", r.rule), &r.submission),
            };
            serde_json::json!({
                "index": e.body.index,
                "accepted_at_ms": e.body.accepted_at.as_millis(),
                "entry_hex": hex::encode(e.to_bytes()),
                "hash_hex": e.hash.to_hex(),
                "action": sub.payload.action.kind_name(),
                "record": record,
                "signer": name_of(&sub.payload.signer),
                "signer_public_key_hex": hex::encode(key.as_bytes()),
            })
        }).collect::<Vec<_>>(),
        "refused": v.refused.iter().map(|(sub, stamped, size, why)| serde_json::json!({
            "submission_hex": hex::encode(encode(sub)),
            "signer": name_of(&sub.payload.signer),
            "stamped_at_ms": stamped,
            "ledger_size": size,
            "why": why,
        })).collect::<Vec<_>>(),
        "receipt": {
            "index": RECEIPT_INDEX,
            "text": v.receipt,
            "quorum": 2,
        },
        "receipt_rejects": v.receipt_rejects.iter().map(|(text, why)| serde_json::json!({
            "text": text, "why": why,
        })).collect::<Vec<_>>(),
    })
}

/// Public keys (32 bytes) and whether the registry accepts them when declared (docs/FORMAT.md
/// §Crypto): a point of large order, whatever its encoding, is accepted; small order or not a
/// point is refused.
fn public_keys() -> Vec<([u8; 32], bool, &'static str)> {
    let mut three = [0u8; 32];
    three[0] = 3;
    vec![
        (*pk(1).as_bytes(), true, "an ordinary key (seed 01)"),
        (three, true, "y = 3: a point of large order, canonically encoded"),
        (y_above_p(3), true, "y = p + 3 >= p: not canonical; ed25519-dalek reduces y mod p, to the point of y = 3, and keeps the bytes as given"),
        (y_above_p(0), false, "y = p + 0 >= p: reduces to y = 0, a point of order 4"),
        (y_above_p(1), false, "y = p + 1 >= p: reduces to y = 1, the identity (small order)"),
        (y_above_p(2), false, "y = p + 2 >= p: reduces to y = 2, not on the curve"),
        ([0u8; 32], false, "y = 0: a point of order 4"),
    ]
}

/// Known-answer vectors: changing one is a format change (docs/FORMAT.md §Vectors).
/// Regenerate with `CASELEDGER_WRITE_VECTORS=1 cargo test -p proto-types --test format`.
#[test]
fn known_answer_vectors_match_format_md() {
    let text = serde_json::to_string_pretty(&vectors()).expect("json") + "\n";
    if std::env::var_os("CASELEDGER_WRITE_VECTORS").is_some() {
        std::fs::write(VECTORS_PATH, &text).expect("write vectors");
    }
    let committed =
        std::fs::read_to_string(VECTORS_PATH).expect("tests/data/format-vectors.json is committed");
    assert_eq!(
        committed, text,
        "format vectors changed: that is a format change (see FORMAT.md)"
    );
}

#[test]
fn the_vector_chain_verifies_and_its_checkpoint_is_cosigned_by_both_nodes() {
    let chain = vector_chain();
    let bytes: Vec<Vec<u8>> = chain.iter().map(Entry::to_bytes).collect();
    let head =
        verify_chain(ChainHead::EMPTY, bytes.iter().map(Vec::as_slice)).expect("valid chain");
    assert_eq!(head.size, CHAIN_LEN);
    for e in &chain {
        let sub = e.body.record.submission();
        let name = signer_name(&sub.payload.signer);
        assert_eq!(
            sub.verify_with(&pk(seed_of(&name))),
            Ok(()),
            "entry {} signed by {name}",
            e.body.index
        );
    }
    let text = vector_checkpoint(&chain).to_note_text();
    let note = CosignedCheckpoint::parse_note(&text).expect("canonical note");
    let keys: Vec<_> = COSIGNERS
        .iter()
        .map(|(name, _, seed)| (*name, key(*seed).verifying_key()))
        .collect();
    assert_eq!(
        verify_quorum(&note, &keys, 2),
        Ok(vec!["node-1".to_owned(), "node-2".to_owned()])
    );
    assert_eq!(note.checkpoint().chain_head(), head.hash.as_bytes());
    assert_eq!(note.checkpoint().tree_size(), CHAIN_LEN);
}

#[test]
fn the_vector_proofs_verify() {
    let chain = vector_chain();
    let tree = vector_tree(&chain);
    for n in 1..=tree.size() {
        let root = tree.root_at(n).expect("size within the tree");
        for i in 0..n {
            let proof = tree.inclusion_proof(i, n).expect("index within the tree");
            let leaf = leaf_hash(&chain[i as usize].body.leaf_bytes());
            assert_eq!(
                verify_inclusion(&leaf, i, n, &proof, &root),
                Ok(()),
                "inclusion of {i} in {n}"
            );
        }
        for m in 0..=n {
            let proof = tree.consistency_proof(m, n).expect("sizes within the tree");
            let first = tree.root_at(m).expect("size within the tree");
            assert_eq!(
                verify_consistency(m, n, &first, &root, &proof),
                Ok(()),
                "consistency {m} to {n}"
            );
        }
    }
}

#[test]
fn every_action_sample_round_trips_and_verifies_with_its_signers_key() {
    let chain = vector_chain();
    for (name, sub) in action_samples(&chain) {
        let bytes = encode(&sub);
        assert_eq!(
            decode::<Submission>(&bytes).as_ref(),
            Ok(&sub),
            "{name} round-trips"
        );
        let signer = signer_name(&sub.payload.signer);
        assert_eq!(
            sub.verify_with(&pk(seed_of(&signer))),
            Ok(()),
            "{name} is signed by {signer}"
        );
    }
}

#[test]
fn the_genesis_sample_is_a_valid_genesis() {
    let chain = vector_chain();
    let (_, genesis) = action_samples(&chain)
        .into_iter()
        .find(|(n, _)| *n == "genesis")
        .expect("a genesis sample");
    let proposal = Proposal {
        submission: genesis,
        stamped_at: Timestamp::from_millis(1_767_225_600_000),
    };
    let outcome =
        apply(&MemState::new(), &proposal, SignatureCheck::Verify).expect("in-memory state");
    assert!(matches!(outcome, Outcome::Appended(_)), "{outcome:?}");
}

#[test]
fn every_rejected_vector_fails_to_decode() {
    for (ty, bytes, why) in rejects() {
        assert!(
            !decodes_as(ty, &bytes),
            "{ty} {} ({why}) must not decode",
            hex::encode(&bytes)
        );
    }
    // And the same decoders accept the canonical encodings next to them.
    assert!(decodes_as("Timestamp", &[1, 5]));
    assert!(decodes_as("Submission", &encode(&sample_submission(0))));
    assert!(decodes_as("Stage", &[1, 14]));
}

#[test]
fn format_md_documents_every_enum_variant_at_its_index() {
    let doc = format_md();
    for table in enums::tables() {
        let code: Vec<(u32, String)> = table
            .variants
            .iter()
            .enumerate()
            .map(|(i, (name, bytes))| {
                // Version byte, then the variant index as a varint: one byte below 128.
                assert_eq!(
                    u32::from(bytes[1]),
                    i as u32,
                    "{}::{name} encodes as index {i}",
                    table.name
                );
                (i as u32, (*name).to_owned())
            })
            .collect();
        let documented = enums::documented_variants(&doc, table.name)
            .unwrap_or_else(|| panic!("FORMAT.md has no heading #### `{}`", table.name));
        assert_eq!(
            documented, code,
            "FORMAT.md §Enums table of {} differs from the code",
            table.name
        );
    }
}

#[test]
fn format_md_holds_the_worked_example_and_the_contexts() {
    let doc = format_md();
    let receipt = receipt_submission(0);
    let payload_hex = hex::encode(encode(&receipt.payload));
    assert!(
        doc.lines().any(|l| l.trim() == payload_hex),
        "FORMAT.md §Worked example shows {payload_hex}"
    );
    for ctx in [
        context::ENTRY,
        context::SUBMISSION,
        context::APPROVAL,
        context::TREE_HEAD,
    ] {
        assert!(
            doc.contains(&hex::encode(ctx)),
            "FORMAT.md §Crypto lists the context {ctx:?} in hex"
        );
    }
    let chain = vector_chain();
    assert!(
        doc.contains(&chain[1].hash.to_hex()),
        "FORMAT.md §Worked example names entry 1's hash"
    );
}

#[test]
fn the_ledger_vector_replays_through_apply_entry_for_entry() {
    let v = ledger_vector();
    let mut state = MemState::new();
    for e in &v.entries {
        let sub = e.body.record.submission().clone();
        let proposal = Proposal {
            submission: sub,
            stamped_at: e.body.accepted_at,
        };
        match apply(&state, &proposal, SignatureCheck::Verify).expect("in-memory state") {
            Outcome::Appended(a) => {
                assert_eq!(&a.entry, e, "entry {}", e.body.index);
                state.commit(&a);
            }
            other => panic!("entry {}: {other:?}", e.body.index),
        }
    }
    let kinds: Vec<&str> = v
        .entries
        .iter()
        .map(|e| e.body.record.submission().payload.action.kind_name())
        .collect();
    assert_eq!(
        kinds,
        [
            "genesis",
            "key_lifecycle",
            "key_lifecycle",
            "case_filing",
            "handoff",
            "receipt",
            "key_lifecycle",
            "receipt",
            "checkpoint"
        ]
    );
    // The rotation and the new key's entry share a millisecond; the old key's is refused.
    assert_eq!(v.entries[6].body.accepted_at, v.entries[7].body.accepted_at);
    assert!(matches!(
        v.entries[7].body.record,
        proto_types::Record::Rejected(ref r) if r.rule == proto_types::Rule::UnknownHandoff
    ));
    assert_eq!(v.keys[7], pk(4));
    assert_eq!(
        v.keys[1],
        pk(6),
        "the registration is signed with the key it declares"
    );
    assert_eq!(v.refused.len(), 2);
}

#[test]
fn the_receipt_vector_verifies_and_each_reject_fails_to_parse() {
    use proto_types::receipt::{verify, Receipt};
    let v = ledger_vector();
    let r = Receipt::parse(&v.receipt).expect("the receipt parses");
    assert_eq!(r.to_text(), v.receipt, "and re-encodes to the same text");
    let keys = [
        ("node-1", key(11).verifying_key()),
        ("node-2", key(12).verifying_key()),
    ];
    assert_eq!(
        verify(&r, &v.entries[RECEIPT_INDEX as usize].to_bytes(), &keys),
        Ok(())
    );
    assert!(v.receipt_rejects.len() >= 8);
    for (text, why) in &v.receipt_rejects {
        assert!(Receipt::parse(text).is_err(), "{why} must not parse");
    }
}

#[test]
fn public_keys_are_registrable_exactly_as_format_md_says() {
    for (bytes, registrable, why) in public_keys() {
        let key: PublicKey =
            decode(&[[1u8, 0, 32].as_slice(), &bytes].concat()).expect("any 32 bytes decode");
        let usable = key.to_verifying_key().is_ok_and(|vk| !vk.is_weak());
        assert_eq!(usable, registrable, "{why}");
    }
}

proptest! {
    #[test]
    fn any_changed_byte_of_any_entry_is_detected_at_its_index(
        n in 2u64..12, pick in any::<prop::sample::Index>(), byte in any::<prop::sample::Index>(), xor in 1u8..=255
    ) {
        let chain = sample_chain(n);
        let mut bytes: Vec<Vec<u8>> = chain.iter().map(Entry::to_bytes).collect();
        let i = pick.index(bytes.len());
        let b = byte.index(bytes[i].len());
        bytes[i][b] ^= xor;
        let err = verify_chain(ChainHead::EMPTY, bytes.iter().map(Vec::as_slice)).expect_err("tampered");
        prop_assert_eq!(err.index, i as u64);
    }

    #[test]
    fn a_mutated_encoding_is_rejected_or_re_encodes_differently(
        pick in any::<prop::sample::Index>(), xor in 1u8..=255, cut in any::<bool>()
    ) {
        let original = encode(&sample_submission(3));
        let mut bytes = original.clone();
        if cut {
            bytes.truncate(pick.index(bytes.len()));
        } else {
            let i = pick.index(bytes.len());
            bytes[i] ^= xor;
        }
        match decode::<Submission>(&bytes) {
            Err(_) => {}
            Ok(v) => {
                prop_assert_ne!(&bytes, &original);
                prop_assert_eq!(encode(&v), bytes);
            }
        }
    }

    #[test]
    fn encoding_round_trips_for_any_ids_and_times(
        n in any::<u32>(), ms in any::<u64>(), note in "[a-z 补侦]{0,40}", pages in any::<u32>()
    ) {
        let mut sub = sample_submission(n % 10_000);
        sub.payload.claimed_at = Timestamp::from_millis(ms);
        if let Action::Handoff(h) = &mut sub.payload.action {
            h.note = note;
            h.documents[0].pages = pages;
            h.case_id = CaseId::new(format!("C-{n}")).expect("valid");
        }
        let bytes = encode(&sub);
        prop_assert_eq!(decode::<Submission>(&bytes), Ok(sub));
        let _ = HandoffId::new("x").expect("valid");
    }
}
