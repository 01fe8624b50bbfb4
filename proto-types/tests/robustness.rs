//! The fuzz targets' properties (fuzz/src/lib.rs) as property tests, cheap enough for every
//! run of the suite: arbitrary or mutated input to the canonical decoder, the chain, proof,
//! checkpoint and receipt verifiers and the JSON submission parser never panics, and what
//! parses re-encodes to the same bytes. Seeds come from the format vectors.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use proto_types::apply::SubmissionRecord;
use proto_types::checkpoint::{self, verify_quorum, Checkpoint, CosignedCheckpoint};
use proto_types::crypto::PublicKey;
use proto_types::encoding::{decode, encode};
use proto_types::framing::{frame, unframe};
use proto_types::merkle::{verify_consistency, verify_inclusion, MerkleHash, ProofError};
use proto_types::receipt::{self, Receipt, ReceiptError};
use proto_types::workflow::{CaseRecord, HandoffRecord};
use proto_types::{
    verify_chain, ChainHead, Entry, EntryBody, Payload, Proposal, Registry, Submission, Timestamp,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;
use std::sync::OnceLock;

const VECTORS: &str = include_str!("data/format-vectors.json");

struct Samples {
    submissions: Vec<Vec<u8>>,
    entries: Vec<Vec<u8>>,
    note: String,
    receipts: Vec<String>,
}

fn samples() -> &'static Samples {
    static SAMPLES: OnceLock<Samples> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let v: serde_json::Value = serde_json::from_str(VECTORS).expect("vectors parse");
        let hex_of = |x: &serde_json::Value| hex::decode(x.as_str().expect("hex")).expect("hex");
        let mut submissions = vec![hex_of(&v["submission_hex"])];
        submissions.extend(
            v["actions"]
                .as_array()
                .expect("actions")
                .iter()
                .map(|a| hex_of(&a["submission_hex"])),
        );
        let entries: Vec<Vec<u8>> = v["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| hex_of(&e["entry_hex"]))
            .collect();
        let note = v["checkpoint"]["note"].as_str().expect("note").to_owned();
        let receipts = v["merkle"]["inclusion"]
            .as_array()
            .expect("inclusion vectors")
            .iter()
            .filter(|p| p["tree_size"] == entries.len())
            .map(|p| {
                let index = p["index"].as_u64().expect("index");
                let mut text = format!(
                    "c2sp.org/tlog-proof@v1\nextra {}\nindex {index}\n",
                    STANDARD.encode(&entries[index as usize])
                );
                for h in p["proof_hex"].as_array().expect("proof") {
                    text.push_str(&STANDARD.encode(hex_of(h)));
                    text.push('\n');
                }
                text.push('\n');
                text.push_str(&note);
                text
            })
            .collect();
        Samples {
            submissions,
            entries,
            note,
            receipts,
        }
    })
}

fn node_keys() -> Vec<(&'static str, ed25519_dalek::VerifyingKey)> {
    [("node-1", 0x0b), ("node-2", 0x0c)]
        .into_iter()
        .map(|(name, seed)| (name, SigningKey::from_bytes(&[seed; 32]).verifying_key()))
        .collect()
}

/// A change to a byte string: flip bits, cut, insert or duplicate a span.
#[derive(Debug, Clone)]
enum Mutation {
    Xor(prop::sample::Index, u8),
    Truncate(prop::sample::Index),
    Insert(prop::sample::Index, Vec<u8>),
    Duplicate(prop::sample::Index, prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), 1u8..=255).prop_map(|(i, x)| Mutation::Xor(i, x)),
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
        (
            any::<prop::sample::Index>(),
            prop::collection::vec(any::<u8>(), 1..9)
        )
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<prop::sample::Index>(), any::<prop::sample::Index>())
            .prop_map(|(a, b)| Mutation::Duplicate(a, b)),
    ]
}

fn mutate(original: &[u8], changes: &[Mutation]) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for change in changes {
        if bytes.is_empty() {
            break;
        }
        match change {
            Mutation::Xor(i, x) => {
                let i = i.index(bytes.len());
                bytes[i] ^= x;
            }
            Mutation::Truncate(i) => bytes.truncate(i.index(bytes.len())),
            Mutation::Insert(i, b) => {
                let i = i.index(bytes.len() + 1);
                bytes.splice(i..i, b.iter().copied());
            }
            Mutation::Duplicate(a, b) => {
                let (a, b) = (a.index(bytes.len()), b.index(bytes.len()));
                let span = bytes[a.min(b)..a.max(b)].to_vec();
                bytes.splice(a..a, span);
            }
        }
    }
    bytes
}

/// Decoding `bytes` as `T` does not panic, and a success re-encodes to exactly `bytes`.
fn check_round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(bytes: &[u8]) {
    if let Ok(value) = decode::<T>(bytes) {
        assert_eq!(
            encode(&value),
            bytes,
            "decode accepted a non-canonical encoding"
        );
    }
}

fn check_every_type(bytes: &[u8]) {
    check_round_trip::<Submission>(bytes);
    check_round_trip::<Payload>(bytes);
    check_round_trip::<Entry>(bytes);
    check_round_trip::<EntryBody>(bytes);
    check_round_trip::<Proposal>(bytes);
    check_round_trip::<ChainHead>(bytes);
    check_round_trip::<Registry>(bytes);
    check_round_trip::<SubmissionRecord>(bytes);
    check_round_trip::<CaseRecord>(bytes);
    check_round_trip::<HandoffRecord>(bytes);
    if let Ok(sub) = decode::<Submission>(bytes) {
        let _ = sub.verify_with(&PublicKey::of(&SigningKey::from_bytes(&[1; 32])));
    }
}

fn check_note(text: &str) {
    if let Ok(body) = Checkpoint::parse_body(text) {
        assert_eq!(body.body_text(), text);
    }
    if let Ok(note) = CosignedCheckpoint::parse_note(text) {
        assert_eq!(note.to_note_text(), text);
        for quorum in 0..=3 {
            let _ = verify_quorum(&note, &node_keys(), quorum);
        }
    }
}

fn check_receipt(text: &str) {
    let Ok(parsed) = Receipt::parse(text) else {
        return;
    };
    assert_eq!(parsed.to_text(), text);
    let _ = receipt::verify(&parsed, &parsed.entry_bytes, &node_keys());
}

#[test]
fn the_samples_are_what_the_properties_start_from() {
    let s = samples();
    for bytes in &s.submissions {
        assert!(decode::<Submission>(bytes).is_ok());
    }
    let head = verify_chain(ChainHead::EMPTY, s.entries.iter().map(Vec::as_slice))
        .expect("the vector chain verifies");
    assert_eq!(head.size, s.entries.len() as u64);
    assert_eq!(s.receipts.len(), s.entries.len());
    for text in &s.receipts {
        let parsed = Receipt::parse(text).expect("vector receipt parses");
        assert_eq!(
            receipt::verify(&parsed, &parsed.entry_bytes, &node_keys()),
            Ok(())
        );
    }
    assert!(CosignedCheckpoint::parse_note(&s.note).is_ok());
}

/// Found by the `receipt` fuzz target's reasoning: an entry whose index is u64::MAX, sealed
/// and under a genuinely signed note, made `verify` compute `index + 1` and overflow.
#[test]
fn a_receipt_for_index_u64_max_is_refused_without_overflow() {
    let s = samples();
    let entry = Entry::from_bytes(&s.entries[3]).expect("vector entry");
    let body = EntryBody {
        index: u64::MAX,
        ..entry.body
    };
    let entry_bytes = body.seal().to_bytes();
    let note = CosignedCheckpoint::parse_note(&s.note).expect("vector note");
    let cp = note.checkpoint().clone();
    let key = SigningKey::from_bytes(&[0x0b; 32]);
    let signature = checkpoint::sign(&cp, "node-1", &key).expect("sign");
    let r = Receipt {
        entry_bytes: entry_bytes.clone(),
        index: u64::MAX,
        proof: Vec::new(),
        note: CosignedCheckpoint::new(cp, vec![signature]).expect("note"),
    };
    let parsed = Receipt::parse(&r.to_text()).expect("parses");
    assert_eq!(parsed, r);
    assert!(matches!(
        receipt::verify(&parsed, &entry_bytes, &node_keys()),
        Err(ReceiptError::Inclusion(_))
    ));
}

#[test]
fn proof_verifiers_take_extreme_sizes_without_panicking() {
    let h = MerkleHash::from_bytes([7; 32]);
    let proofs: Vec<Vec<MerkleHash>> = (0..70).map(|n| vec![h; n]).collect();
    let sizes = [0, 1, 2, 3, u64::MAX / 2, u64::MAX - 1, u64::MAX];
    for &a in &sizes {
        for &b in &sizes {
            for p in &proofs {
                let inclusion = verify_inclusion(&h, a, b, p, &h);
                if a >= b {
                    assert_eq!(
                        inclusion,
                        Err(ProofError::IndexOutOfRange { index: a, size: b })
                    );
                }
                let consistency = verify_consistency(a, b, &h, &h, p);
                if a > b {
                    assert_eq!(
                        consistency,
                        Err(ProofError::InvalidSizes {
                            first: a,
                            second: b
                        })
                    );
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_decode_canonically_or_not_at_all(
        body in prop::collection::vec(any::<u8>(), 0..160)
    ) {
        let mut bytes = vec![1u8];
        bytes.extend(body);
        check_every_type(&bytes);
    }

    #[test]
    fn mutated_encodings_decode_canonically_or_not_at_all(
        pick in any::<prop::sample::Index>(),
        changes in prop::collection::vec(mutation(), 1..4),
    ) {
        let s = samples();
        let all: Vec<&Vec<u8>> = s.submissions.iter().chain(&s.entries).collect();
        let original = all[pick.index(all.len())];
        check_every_type(&mutate(original, &changes));
    }

    #[test]
    fn any_framed_stream_verifies_or_names_its_first_bad_entry(
        changes in prop::collection::vec(mutation(), 0..3)
    ) {
        let bytes = mutate(&frame(&samples().entries), &changes);
        let Ok(frames) = unframe(&bytes) else { return Ok(()) };
        prop_assert_eq!(frame(&frames), bytes);
        match verify_chain(ChainHead::EMPTY, frames.iter().map(Vec::as_slice)) {
            Ok(head) => prop_assert_eq!(head.size, frames.len() as u64),
            Err(e) => {
                let good = e.index as usize;
                prop_assert!(good < frames.len());
                let prefix = verify_chain(ChainHead::EMPTY, frames[..good].iter().map(Vec::as_slice));
                prop_assert_eq!(prefix.map(|h| h.size), Ok(e.index));
            }
        }
    }

    #[test]
    fn arbitrary_proofs_never_panic(
        index in any::<u64>(), size in any::<u64>(), n in 0usize..80, seed in any::<u8>()
    ) {
        let h = MerkleHash::from_bytes([seed; 32]);
        let proof = vec![h; n];
        let _ = verify_inclusion(&h, index, size, &proof, &h);
        let _ = verify_consistency(index, size, &h, &h, &proof);
        let _ = verify_consistency(index.min(size), size.max(index), &h, &h, &proof);
    }

    #[test]
    fn mutated_checkpoint_notes_parse_canonically_or_not_at_all(
        changes in prop::collection::vec(mutation(), 1..4)
    ) {
        let bytes = mutate(samples().note.as_bytes(), &changes);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            check_note(text);
        }
    }

    #[test]
    fn mutated_receipts_parse_canonically_or_not_at_all(
        pick in any::<prop::sample::Index>(),
        changes in prop::collection::vec(mutation(), 1..4)
    ) {
        let receipts = &samples().receipts;
        let bytes = mutate(receipts[pick.index(receipts.len())].as_bytes(), &changes);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            check_receipt(text);
        }
    }

    #[test]
    fn json_submissions_that_parse_have_a_canonical_encoding(
        pick in any::<prop::sample::Index>(),
        changes in prop::collection::vec(mutation(), 1..3),
        stamp in any::<u64>(),
    ) {
        let s = samples();
        let sub: Submission = decode(&s.submissions[pick.index(s.submissions.len())]).expect("sample");
        let json = serde_json::to_vec(&sub).expect("serialises");
        let bytes = mutate(&json, &changes);
        if let Ok(parsed) = serde_json::from_slice::<Submission>(&bytes) {
            let canonical = encode(&parsed);
            let decoded = decode::<Submission>(&canonical);
            prop_assert_eq!(decoded.as_ref(), Ok(&parsed));
            let again: Submission = serde_json::from_slice(&serde_json::to_vec(&parsed).expect("serialises"))
                .expect("its JSON parses back");
            prop_assert_eq!(&again, &parsed);
            let proposal = Proposal { submission: parsed, stamped_at: Timestamp::from_millis(stamp) };
            prop_assert_eq!(Proposal::from_bytes(&proposal.to_bytes()), Ok(proposal));
        }
    }
}
