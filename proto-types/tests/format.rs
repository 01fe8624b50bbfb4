//! Known-answer vectors and properties of the canonical format, signatures and the chain
//! (docs/FORMAT.md). The vectors are also written to `tests/data/format-vectors.json`, which
//! the independent Python verifier (`tests/python/verify_vectors.py`) checks from FORMAT.md alone.

use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use proto_types::crypto::{Digest, PublicKey};
use proto_types::domain::{CaseType, DocumentType, HandoffKind, Procedure};
use proto_types::encoding::{decode, encode, DecodeError};
use proto_types::entry::{ChainFault, ENCODED_HASH_LEN};
use proto_types::ids::{CaseId, HandoffId, KeyId, OrgId, PersonId};
use proto_types::payload::{Document, Handoff, KeyRef, Receipt, Signer};
use proto_types::{verify_chain, Action, ChainHead, Entry, EntryBody, EntryHash, Payload, Record, Submission, Timestamp};

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("valid id")
}

/// A fixed handoff payload, signed by the key with seed 1.
fn sample_submission(n: u32) -> Submission {
    let payload = Payload {
        signer: Signer::Org(KeyRef { org: id("GS-LZ-CG-PSB"), key_id: id("k1") }),
        id: id(&format!("H-2026-{n:04}")),
        claimed_at: Timestamp::from_millis(1_780_000_000_000 + u64::from(n) * 60_000),
        action: Action::Handoff(Handoff {
            case_id: id("LZ-CG-2026-0001"),
            case_type: CaseType::Theft,
            procedure: Procedure::Ordinary,
            kind: HandoffKind::ProsecutionTransfer,
            sender: id("GS-LZ-CG-PSB"),
            receiver: id("GS-LZ-CG-PROC"),
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

fn receipt_submission(n: u32) -> Submission {
    Payload {
        signer: Signer::Org(KeyRef { org: id("GS-LZ-CG-PROC"), key_id: id("k1") }),
        id: id(&format!("R-2026-{n:04}")),
        claimed_at: Timestamp::from_millis(1_780_000_100_000 + u64::from(n)),
        action: Action::Receipt(Receipt { handoff: id(&format!("H-2026-{n:04}")) }),
    }
    .sign(&key(2))
}

/// A chain of `n` entries alternating handoffs and receipts.
fn sample_chain(n: u64) -> Vec<Entry> {
    let mut prev = EntryHash::ZERO;
    (0..n)
        .map(|i| {
            let sub = if i % 2 == 0 { sample_submission(i as u32) } else { receipt_submission(i as u32 - 1) };
            let e = EntryBody {
                index: i,
                accepted_at: Timestamp::from_millis(1_780_000_000_000 + i * 1000),
                record: Record::Accepted(sub),
                prev,
            }
            .seal();
            prev = e.hash;
            e
        })
        .collect()
}

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
    assert_eq!(decode::<Submission>(&v2), Err(DecodeError::UnknownVersion(2)));
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(decode::<Submission>(&trailing), Err(DecodeError::TrailingBytes(1)));
    assert_eq!(decode::<Submission>(&[]), Err(DecodeError::Empty));
    // Timestamp 5 as an over-long varint (0x85 0x00) decodes in postcard but is not canonical.
    assert_eq!(decode::<Timestamp>(&[1, 5]), Ok(Timestamp::from_millis(5)));
    assert_eq!(decode::<Timestamp>(&[1, 0x85, 0x00]), Err(DecodeError::NonCanonical));
}

#[test]
fn identifiers_are_checked_when_decoded() {
    // An OrgId with a space, encoded by hand: version, length 3, "a b".
    assert!(matches!(decode::<OrgId>(&[1, 3, b'a', b' ', b'b']), Err(DecodeError::Malformed(_))));
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
    let head = verify_chain(ChainHead::EMPTY, bytes.iter().map(Vec::as_slice)).expect("valid chain");
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
    assert!(matches!(err.fault, ChainFault::WrongIndex { expected: 2, found: 3 }));
    let mut bytes: Vec<Vec<u8>> = chain.iter().map(Entry::to_bytes).collect();
    bytes.remove(4);
    let err = verify_chain(ChainHead::EMPTY, bytes.iter().map(Vec::as_slice)).expect_err("deleted");
    assert_eq!(err.index, 4);
}

/// Known-answer vectors: changing one is a format change (docs/FORMAT.md §Vectors).
#[test]
fn known_answer_vectors_match_format_md() {
    let chain = sample_chain(4);
    let sub = sample_submission(0);
    let vectors = serde_json::json!({
        "about": "caseledger format vectors; see docs/FORMAT.md §Vectors. Keys are Ed25519 with 32-byte seeds.",
        "signer_seed_hex": hex::encode([1u8; 32]),
        "signer_public_key_hex": hex::encode(PublicKey::of(&key(1)).as_bytes()),
        "receiver_seed_hex": hex::encode([2u8; 32]),
        "receiver_public_key_hex": hex::encode(PublicKey::of(&key(2)).as_bytes()),
        "payload_hex": hex::encode(encode(&sub.payload)),
        "signature_hex": hex::encode(sub.signature.as_bytes()),
        "submission_hex": hex::encode(encode(&sub)),
        "entries": chain.iter().map(|e| serde_json::json!({
            "index": e.body.index,
            "accepted_at_ms": e.body.accepted_at.as_millis(),
            "entry_hex": hex::encode(e.to_bytes()),
            "hash_hex": e.hash.to_hex(),
            "signer_public_key_hex": hex::encode(PublicKey::of(&key(if e.body.index % 2 == 0 { 1 } else { 2 })).as_bytes()),
        })).collect::<Vec<_>>(),
    });
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/format-vectors.json");
    let text = serde_json::to_string_pretty(&vectors).expect("json") + "\n";
    if std::env::var_os("CASELEDGER_WRITE_VECTORS").is_some() {
        std::fs::write(path, &text).expect("write vectors");
    }
    let committed = std::fs::read_to_string(path).expect("tests/data/format-vectors.json is committed");
    assert_eq!(committed, text, "format vectors changed: that is a format change (see FORMAT.md)");
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
