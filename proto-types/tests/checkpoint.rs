//! Checkpoints as C2SP tlog-checkpoint signed notes (docs/FORMAT.md §Checkpoint).

use ed25519_dalek::{SigningKey, Verifier as _, VerifyingKey};
use proptest::prelude::*;
use proto_types::checkpoint::{
    key_hash, sign, verify_quorum, Checkpoint, CheckpointError, CosignedCheckpoint, NoteSignature,
    MAX_SIGNATURES,
};
use proto_types::merkle::MerkleHash;

// ---------------------------------------------------------------------------------------
// Known-answer vector. The signature was printed once by this crate and checked against
// an independent implementation (Python `cryptography`'s Ed25519 and `hashlib`); changing
// it is a format change.

/// RFC 6962 root of the eight reference leaves (tests/data/rfc6962.json).
const KAT_ROOT_HEX: &str = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328";
const KAT_PUBLIC_KEY_HEX: &str = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";
const KAT_KEY_HASH_HEX: &str = "19699c80";
const KAT_SIGNATURE_HEX: &str = "1671221153f2be051f58052e579dc1476c794c0df35b0e9d7aadabaeae9d4118\
                                 ecd2a7a0feb36149b8946fe5f7ec3a2ddd96c3b5f935540916e6e8a81098f90f";
const KAT_BODY: &str = "caseledger.example/cluster/00112233445566778899aabbccddeeff
8
XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=
chain-head 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
time 1767225600000
";
const KAT_NOTE: &str = "caseledger.example/cluster/00112233445566778899aabbccddeeff
8
XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=
chain-head 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
time 1767225600000

\u{2014} node-1 GWmcgBZxIhFT8r4FH1gFLledwUdseUwN81sOnXqtq66unUEY7NKnoP6zYUm4lG/l9+w6Ld2Ww7X5NVQJFuboqBCY+Q8=
";

fn kat_checkpoint() -> Checkpoint {
    let mut root = [0u8; 32];
    hex::decode_to_slice(KAT_ROOT_HEX, &mut root).expect("32 bytes of hex");
    let chain_head: [u8; 32] = std::array::from_fn(|i| i as u8);
    Checkpoint::new(
        "caseledger.example/cluster/00112233445566778899aabbccddeeff",
        8,
        MerkleHash::from_bytes(root),
        chain_head,
        1_767_225_600_000,
    )
    .expect("valid origin")
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn node_name(seed: u8) -> String {
    format!("node-{seed}")
}

fn cosign(checkpoint: &Checkpoint, seeds: &[u8]) -> CosignedCheckpoint {
    let signatures = seeds
        .iter()
        .map(|&seed| sign(checkpoint, &node_name(seed), &key(seed)).expect("valid name"))
        .collect();
    CosignedCheckpoint::new(checkpoint.clone(), signatures).expect("1 to 100 signatures")
}

fn known_keys(seeds: &[u8]) -> Vec<(String, VerifyingKey)> {
    seeds
        .iter()
        .map(|&seed| (node_name(seed), key(seed).verifying_key()))
        .collect()
}

#[test]
fn signing_the_known_checkpoint_with_seed_7_gives_the_known_note() {
    let checkpoint = kat_checkpoint();
    let signing_key = key(7);
    let signature = sign(&checkpoint, "node-1", &signing_key).expect("valid name");
    let note = CosignedCheckpoint::new(checkpoint.clone(), vec![signature.clone()])
        .expect("one signature");

    assert_eq!(checkpoint.body_text(), KAT_BODY);
    assert_eq!(
        hex::encode(signing_key.verifying_key().as_bytes()),
        KAT_PUBLIC_KEY_HEX
    );
    assert_eq!(hex::encode(signature.key_hash()), KAT_KEY_HASH_HEX);
    assert_eq!(
        hex::encode(key_hash("node-1", &signing_key.verifying_key())),
        KAT_KEY_HASH_HEX
    );
    assert_eq!(hex::encode(signature.signature()), KAT_SIGNATURE_HEX);
    assert_eq!(note.to_note_text(), KAT_NOTE);
}

#[test]
fn the_known_note_parses_to_the_known_checkpoint_and_verifies() {
    let note = CosignedCheckpoint::parse_note(KAT_NOTE).expect("canonical note");
    assert_eq!(note.checkpoint(), &kat_checkpoint());
    assert_eq!(
        note.checkpoint().origin(),
        "caseledger.example/cluster/00112233445566778899aabbccddeeff"
    );
    assert_eq!(note.checkpoint().tree_size(), 8);
    assert_eq!(note.checkpoint().root().to_string(), KAT_ROOT_HEX);
    assert_eq!(note.checkpoint().time_ms(), 1_767_225_600_000);
    assert_eq!(note.signatures().len(), 1);
    assert_eq!(note.signatures()[0].name(), "node-1");
    assert_eq!(
        verify_quorum(&note, &[("node-1", key(7).verifying_key())], 1),
        Ok(vec!["node-1".to_owned()])
    );
    assert_eq!(note.to_note_text(), KAT_NOTE);
}

#[test]
fn a_checkpoint_of_the_empty_tree_round_trips() {
    let empty = Checkpoint::new("log", 0, proto_types::merkle::empty_root(), [0; 32], 0)
        .expect("valid origin");
    assert_eq!(
        Checkpoint::parse_body(&empty.body_text()),
        Ok(empty.clone())
    );
    let note = cosign(&empty, &[1]);
    assert_eq!(
        CosignedCheckpoint::parse_note(&note.to_note_text()),
        Ok(note)
    );
}

// ---------------------------------------------------------------------------------------
// Strict parsing, table-driven.

/// The known body with line `line` (1-based) replaced.
fn body_with_line(line: usize, replacement: &str) -> String {
    let mut lines: Vec<&str> = KAT_BODY.lines().collect();
    lines[line - 1] = replacement;
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn body_parsing_rejects_everything_but_the_canonical_text() {
    let check = |input: &str, expected: CheckpointError| {
        assert_eq!(
            Checkpoint::parse_body(input),
            Err(expected),
            "input {input:?}"
        );
    };
    use CheckpointError::*;
    let unterminated = KAT_BODY.trim_end_matches('\n');
    check("", BodyNotTerminated);
    check(unterminated, BodyNotTerminated);
    check(&format!("{KAT_BODY}extra\n"), BodyLineCount { found: 6 });
    check(&format!("{KAT_BODY}\n"), BodyLineCount { found: 6 });
    check(
        &KAT_BODY.replace("time 1767225600000\n", ""),
        BodyLineCount { found: 4 },
    );
    check(&KAT_BODY.replace('\n', "\r\n"), InvalidOrigin);
    check(&body_with_line(1, ""), InvalidOrigin);
    check(&body_with_line(1, "caseledger.example/a b"), InvalidOrigin);
    check(&body_with_line(1, "caseledger.example/a+b"), InvalidOrigin);
    check(
        &body_with_line(1, "caseledger.example/a\u{a0}b"),
        InvalidOrigin,
    );
    check(&body_with_line(1, "caseledger.example/a\tb"), InvalidOrigin);
    for size in [
        "",
        "08",
        "+8",
        "-8",
        " 8",
        "8 ",
        "0x8",
        "8.0",
        "١",
        "18446744073709551616",
    ] {
        check(&body_with_line(2, size), InvalidTreeSize);
    }
    for root in [
        "",
        "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg", // padding missing
        "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyh=", // non-zero trailing bits
        "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz-Nw7_RgQyg=", // URL-safe alphabet
        "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg==", // extra padding
        "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQw==", // 31 bytes
        "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQygA", // 33 bytes
        " XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ] {
        check(&body_with_line(3, root), InvalidRootHash);
    }
    let digits = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    for chain_head in [
        format!("chain-head {}", digits.to_uppercase()),
        format!("chain-head {}", &digits[1..]),
        format!("chain-head {digits}00"),
        format!("chain-head  {digits}"),
        format!("chain-head {digits} "),
        format!("chain-head:{digits}"),
        format!("Chain-head {digits}"),
        digits.to_owned(),
        "time 1767225600000".to_owned(),
    ] {
        check(&body_with_line(4, &chain_head), InvalidChainHead);
    }
    for time in [
        "time ",
        "time 01",
        "time +1",
        "time -1",
        "time  1",
        "time 1 ",
        "Time 1",
        "1",
        "time 18446744073709551616",
    ] {
        check(&body_with_line(5, time), InvalidTime);
    }
}

/// The known note with `from` replaced by `to` (which must occur).
fn kat_note_with(from: &str, to: &str) -> String {
    assert!(KAT_NOTE.contains(from), "{from:?} is not in the note");
    KAT_NOTE.replacen(from, to, 1)
}

#[test]
fn note_parsing_rejects_everything_but_the_canonical_text() {
    let check = |input: &str, expected: CheckpointError| {
        assert_eq!(
            CosignedCheckpoint::parse_note(input),
            Err(expected),
            "input {input:?}"
        );
    };
    use CheckpointError::*;
    let signature_line = KAT_NOTE
        .lines()
        .last()
        .expect("the note has lines")
        .to_owned();
    let encoded = signature_line
        .rsplit(' ')
        .next()
        .expect("the line has a signature")
        .to_owned();
    let short = {
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::STANDARD;
        let mut raw = engine.decode(&encoded).expect("base64");
        raw.pop();
        engine.encode(raw)
    };

    check(KAT_NOTE.trim_end_matches('\n'), NoteNotTerminated);
    check(KAT_BODY, MissingSeparator);
    check(&format!("{KAT_BODY}\n"), NoSignatures);
    check(
        &KAT_NOTE.replace('\n', "\r\n"),
        ControlCharacter { offset: 59 },
    );
    check(
        &kat_note_with("— node-1", "—\tnode-1"),
        ControlCharacter { offset: 206 },
    );
    check(
        &kat_note_with("time 1767225600000\n", "time 1767225600000\n\n"),
        BodyLineCount { found: 6 },
    );
    check(
        &kat_note_with("— node-1", "- node-1"),
        MalformedSignatureLine { line: 1 },
    );
    check(
        &kat_note_with("— node-1", "-- node-1"),
        MalformedSignatureLine { line: 1 },
    );
    check(
        &kat_note_with("— node-1", "—node-1"),
        MalformedSignatureLine { line: 1 },
    );
    check(
        &kat_note_with("— node-1", " — node-1"),
        MalformedSignatureLine { line: 1 },
    );
    check(
        &kat_note_with("— node-1", "— "),
        MalformedSignatureLine { line: 1 },
    );
    check(
        &kat_note_with("node-1", "node+1"),
        MalformedSignatureLine { line: 1 },
    );
    check(
        &kat_note_with("node-1 ", "node-1  "),
        MalformedSignatureLine { line: 1 },
    );
    check(
        &kat_note_with("node-1", "node 1"),
        MalformedSignatureLine { line: 1 },
    );
    check(
        &kat_note_with("Q8=\n", "Q8= \n"),
        MalformedSignatureLine { line: 1 },
    );
    check(
        &kat_note_with("Q8=\n", "Q8\n"),
        MalformedSignatureLine { line: 1 },
    );
    check(
        &kat_note_with("Q8=\n", "Q9=\n"),
        MalformedSignatureLine { line: 1 },
    );
    check(
        &kat_note_with(&encoded, &short),
        MalformedSignatureLine { line: 1 },
    );
    check(
        &kat_note_with(&encoded, &format!("{encoded}AAAA")),
        MalformedSignatureLine { line: 1 },
    );
    check(
        &format!("{KAT_NOTE}trailing\n"),
        MalformedSignatureLine { line: 2 },
    );
    check(
        &format!("{KAT_NOTE}{signature_line}\n{signature_line}x\n"),
        MalformedSignatureLine { line: 3 },
    );
    let crowded = format!(
        "{KAT_NOTE}{}",
        format!("{signature_line}\n").repeat(MAX_SIGNATURES)
    );
    check(
        &crowded,
        TooManySignatures {
            count: MAX_SIGNATURES + 1,
        },
    );
    let full = format!(
        "{KAT_NOTE}{}",
        format!("{signature_line}\n").repeat(MAX_SIGNATURES - 1)
    );
    assert_eq!(
        CosignedCheckpoint::parse_note(&full).map(|note| note.signatures().len()),
        Ok(MAX_SIGNATURES)
    );
}

#[test]
fn origins_and_key_names_must_be_note_names() {
    let root = MerkleHash::from_bytes([0; 32]);
    for bad in ["", "a b", "a+b", "a\nb", "a\u{2003}b", "a\u{7f}b"] {
        assert_eq!(
            Checkpoint::new(bad, 1, root, [0; 32], 0),
            Err(CheckpointError::InvalidOrigin),
            "origin {bad:?}"
        );
        assert_eq!(
            sign(&kat_checkpoint(), bad, &key(1)),
            Err(CheckpointError::InvalidKeyName),
            "name {bad:?}"
        );
        assert_eq!(
            NoteSignature::new(bad, [0; 4], [0; 64]),
            Err(CheckpointError::InvalidKeyName),
            "name {bad:?}"
        );
    }
    assert!(Checkpoint::new("caseledger.example/cluster/ab", 1, root, [0; 32], 0).is_ok());
}

#[test]
fn a_cosigned_checkpoint_has_one_to_a_hundred_signatures() {
    let checkpoint = kat_checkpoint();
    let signature = sign(&checkpoint, "node-1", &key(1)).expect("valid name");
    assert_eq!(
        CosignedCheckpoint::new(checkpoint.clone(), Vec::new()),
        Err(CheckpointError::NoSignatures)
    );
    assert_eq!(
        CosignedCheckpoint::new(
            checkpoint.clone(),
            vec![signature.clone(); MAX_SIGNATURES + 1]
        ),
        Err(CheckpointError::TooManySignatures {
            count: MAX_SIGNATURES + 1
        })
    );
    assert!(CosignedCheckpoint::new(checkpoint, vec![signature; MAX_SIGNATURES]).is_ok());
}

// ---------------------------------------------------------------------------------------
// Quorum.

#[test]
fn quorum_counts_distinct_known_names_whose_signature_verifies() {
    let checkpoint = kat_checkpoint();
    let keys = known_keys(&[1, 2, 3]);
    let other_checkpoint = Checkpoint::new("other", 1, MerkleHash::from_bytes([1; 32]), [0; 32], 0)
        .expect("valid origin");
    let line = |name: &str, seed: u8| sign(&checkpoint, name, &key(seed)).expect("valid name");
    let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let bad_node_2 = {
        // node-2's name and key hash, but a signature over another body.
        let foreign = sign(&other_checkpoint, "node-2", &key(2)).expect("valid name");
        NoteSignature::new("node-2", *foreign.key_hash(), *foreign.signature()).expect("valid name")
    };

    let check = |lines: Vec<NoteSignature>,
                 quorum: usize,
                 expected: Result<Vec<String>, CheckpointError>| {
        let note = CosignedCheckpoint::new(checkpoint.clone(), lines).expect("1 to 100 signatures");
        assert_eq!(
            verify_quorum(&note, &keys, quorum),
            expected,
            "quorum {quorum}"
        );
    };
    use CheckpointError::*;
    let all = || vec![line("node-1", 1), line("node-2", 2), line("node-3", 3)];
    check(all(), 3, Ok(names(&["node-1", "node-2", "node-3"])));
    check(all(), 2, Ok(names(&["node-1", "node-2", "node-3"])));
    check(
        all(),
        4,
        Err(QuorumNotMet {
            verified: 3,
            required: 4,
        }),
    );
    check(
        vec![line("node-3", 3), line("node-1", 1)],
        2,
        Ok(names(&["node-3", "node-1"])),
    );
    check(
        vec![line("node-3", 3), line("node-1", 1)],
        3,
        Err(QuorumNotMet {
            verified: 2,
            required: 3,
        }),
    );
    // Unknown name: ignored.
    check(
        vec![line("node-9", 9), line("node-1", 1)],
        1,
        Ok(names(&["node-1"])),
    );
    check(
        vec![line("node-9", 9), line("node-1", 1)],
        2,
        Err(QuorumNotMet {
            verified: 1,
            required: 2,
        }),
    );
    // Known name with another key (key hash differs): ignored.
    check(
        vec![line("node-2", 9), line("node-1", 1)],
        2,
        Err(QuorumNotMet {
            verified: 1,
            required: 2,
        }),
    );
    // Known key under another name: ignored.
    check(
        vec![line("node-9", 2), line("node-1", 1)],
        2,
        Err(QuorumNotMet {
            verified: 1,
            required: 2,
        }),
    );
    // Known name and key hash with a bad signature: the whole note is rejected.
    check(
        vec![line("node-1", 1), bad_node_2.clone(), line("node-3", 3)],
        1,
        Err(BadSignature {
            name: "node-2".into(),
        }),
    );
    check(
        vec![bad_node_2, line("node-2", 2)],
        1,
        Err(BadSignature {
            name: "node-2".into(),
        }),
    );
    // Duplicates count once.
    check(
        vec![line("node-1", 1), line("node-1", 1)],
        1,
        Ok(names(&["node-1"])),
    );
    check(
        vec![line("node-1", 1), line("node-1", 1)],
        2,
        Err(QuorumNotMet {
            verified: 1,
            required: 2,
        }),
    );
    // At least one known signature, whatever the quorum.
    check(
        vec![line("node-9", 9)],
        0,
        Err(QuorumNotMet {
            verified: 0,
            required: 1,
        }),
    );
    check(vec![line("node-1", 1)], 0, Ok(names(&["node-1"])));
}

#[test]
fn quorum_accepts_keys_named_by_str_or_string() {
    let note = cosign(&kat_checkpoint(), &[1]);
    let by_str = [("node-1", key(1).verifying_key())];
    let by_string = [("node-1".to_owned(), key(1).verifying_key())];
    assert_eq!(
        verify_quorum(&note, &by_str, 1),
        Ok(vec!["node-1".to_owned()])
    );
    assert_eq!(
        verify_quorum(&note, &by_string, 1),
        Ok(vec!["node-1".to_owned()])
    );
}

#[test]
fn quorum_rejects_a_signature_that_only_lax_verification_accepts() {
    // The identity point is a small-order public key; with R = identity and s = 0 the
    // cofactorless equation holds for every message. `verify` accepts it, `verify_strict`
    // does not.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = VerifyingKey::from_bytes(&identity).expect("the identity is a valid encoding");
    let mut forged = [0u8; 64];
    forged[..32].copy_from_slice(&identity);
    let checkpoint = kat_checkpoint();
    assert!(weak
        .verify(
            checkpoint.body_text().as_bytes(),
            &ed25519_dalek::Signature::from_bytes(&forged)
        )
        .is_ok());

    let line =
        NoteSignature::new("node-weak", key_hash("node-weak", &weak), forged).expect("valid name");
    let note = CosignedCheckpoint::new(checkpoint, vec![line]).expect("one signature");
    assert_eq!(
        verify_quorum(&note, &[("node-weak", weak)], 1),
        Err(CheckpointError::BadSignature {
            name: "node-weak".into()
        })
    );
}

// ---------------------------------------------------------------------------------------
// Tampering.

/// Whether `bytes` is refused as a note cosigned by all of `seeds`.
fn rejected(bytes: &[u8], seeds: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return true; // not even text: cannot reach the parser
    };
    match CosignedCheckpoint::parse_note(text) {
        Err(_) => true,
        Ok(note) => verify_quorum(&note, &known_keys(seeds), seeds.len()).is_err(),
    }
}

#[test]
fn changing_any_byte_of_a_cosigned_note_is_detected() {
    let seeds = [1, 2, 3];
    let text = cosign(&kat_checkpoint(), &seeds).to_note_text();
    assert!(!rejected(text.as_bytes(), &seeds));
    for index in 0..text.len() {
        for mask in [0x01, 0x02, 0x20, 0x80] {
            let mut bytes = text.clone().into_bytes();
            bytes[index] ^= mask;
            assert!(
                rejected(&bytes, &seeds),
                "byte {index} ^ {mask:#04x} went unnoticed"
            );
        }
    }
}

#[test]
fn removing_any_byte_of_a_cosigned_note_is_detected() {
    let seeds = [1, 2];
    let text = cosign(&kat_checkpoint(), &seeds).to_note_text();
    for index in 0..text.len() {
        let mut bytes = text.clone().into_bytes();
        bytes.remove(index);
        assert!(
            rejected(&bytes, &seeds),
            "removing byte {index} went unnoticed"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Serde: the note text is the encoding.

#[test]
fn serde_encodes_a_cosigned_checkpoint_as_its_note_text() {
    let note = cosign(&kat_checkpoint(), &[1, 2]);
    let json = serde_json::to_string(&note).expect("json");
    assert_eq!(
        json,
        serde_json::to_string(&note.to_note_text()).expect("json")
    );
    assert_eq!(
        serde_json::from_str::<CosignedCheckpoint>(&json).expect("round trip"),
        note
    );

    let bytes = postcard::to_allocvec(&note).expect("postcard");
    assert_eq!(
        bytes,
        postcard::to_allocvec(&note.to_note_text()).expect("postcard")
    );
    assert_eq!(
        postcard::from_bytes::<CosignedCheckpoint>(&bytes).expect("round trip"),
        note
    );
}

#[test]
fn serde_refuses_a_non_canonical_note() {
    let json = serde_json::to_string(&KAT_NOTE.replace("— ", "- ")).expect("json");
    assert!(serde_json::from_str::<CosignedCheckpoint>(&json).is_err());
    let bytes = postcard::to_allocvec(KAT_BODY).expect("postcard");
    assert!(postcard::from_bytes::<CosignedCheckpoint>(&bytes).is_err());
}

// ---------------------------------------------------------------------------------------
// Properties.

fn arb_checkpoint() -> impl Strategy<Value = Checkpoint> {
    (
        "[a-z0-9./_-]{1,40}",
        any::<u64>(),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        any::<u64>(),
    )
        .prop_map(|(origin, size, root, head, time)| {
            Checkpoint::new(origin, size, MerkleHash::from_bytes(root), head, time)
                .expect("the pattern only yields valid origins")
        })
}

proptest! {
    #[test]
    fn cosigned_notes_round_trip_and_verify(
        checkpoint in arb_checkpoint(),
        seeds in prop::collection::vec(1u8..=20, 1..6),
    ) {
        let note = cosign(&checkpoint, &seeds);
        let text = note.to_note_text();
        let parsed = CosignedCheckpoint::parse_note(&text).expect("canonical note");
        prop_assert_eq!(&parsed, &note);
        prop_assert_eq!(parsed.to_note_text(), text);
        prop_assert_eq!(Checkpoint::parse_body(&checkpoint.body_text()), Ok(checkpoint));
        let verified = verify_quorum(&note, &known_keys(&seeds), 1).expect("all signatures valid");
        let expected: Vec<String> = {
            let mut names: Vec<String> = Vec::new();
            for &seed in &seeds {
                if !names.contains(&node_name(seed)) {
                    names.push(node_name(seed));
                }
            }
            names
        };
        prop_assert_eq!(verified, expected);
    }

    #[test]
    fn any_changed_byte_of_a_note_is_detected(
        checkpoint in arb_checkpoint(),
        pick in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        let seeds = [4, 5];
        let mut bytes = cosign(&checkpoint, &seeds).to_note_text().into_bytes();
        let index = pick.index(bytes.len());
        bytes[index] ^= mask;
        prop_assert!(rejected(&bytes, &seeds), "byte {} ^ {:#04x}", index, mask);
    }

    #[test]
    fn a_body_that_parses_re_encodes_to_the_same_text(
        checkpoint in arb_checkpoint(),
        pick in any::<prop::sample::Index>(),
        replacement in any::<char>(),
    ) {
        let body = checkpoint.body_text();
        let mut chars: Vec<char> = body.chars().collect();
        let index = pick.index(chars.len());
        chars[index] = replacement;
        let mutated: String = chars.into_iter().collect();
        if let Ok(parsed) = Checkpoint::parse_body(&mutated) {
            prop_assert_eq!(parsed.body_text(), mutated);
        }
    }
}
