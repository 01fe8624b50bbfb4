//! The properties the fuzz targets check, one public function per target (the targets in
//! `fuzz_targets/` are one line each). Every function takes arbitrary bytes and must never
//! panic except on an assertion of a broken property.
//!
//! The same properties run as property tests in the normal suite
//! (`proto-types/tests/robustness.rs`); the seed corpus (`corpus/<target>/`) is made from
//! the format vectors by `seeds.py`.

use std::fmt::Debug;

use ed25519_dalek::{SigningKey, VerifyingKey};
use proto_types::apply::SubmissionRecord;
use proto_types::checkpoint::{sign, verify_quorum, Checkpoint, CosignedCheckpoint};
use proto_types::crypto::PublicKey;
use proto_types::encoding::{decode as decode_canonical, encode};
use proto_types::framing::{frame, unframe};
use proto_types::merkle::{verify_consistency, verify_inclusion, MemTree, MerkleHash};
use proto_types::receipt::{self, Receipt};
use proto_types::workflow::{CaseRecord, HandoffRecord};
use proto_types::{
    verify_chain, ChainHead, Entry, EntryBody, Payload, Proposal, Registry, Submission,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The cosigning node keys of the format vectors (docs/FORMAT.md §Vectors): name and seed byte.
pub const NODE_KEYS: [(&str, u8); 2] = [("node-1", 0x0b), ("node-2", 0x0c)];

/// The signing key whose 32-byte seed is `seed` repeated.
pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// The vectors' node keys as a verifier takes them.
pub fn node_keys() -> Vec<(&'static str, VerifyingKey)> {
    NODE_KEYS
        .iter()
        .map(|&(name, seed)| (name, key(seed).verifying_key()))
        .collect()
}

/// The types stored or sent as canonical bytes, by the selector byte that starts a `decode`
/// input.
pub const DECODED_TYPES: [&str; 10] = [
    "Submission",
    "Payload",
    "Entry",
    "EntryBody",
    "Proposal",
    "ChainHead",
    "Registry",
    "SubmissionRecord",
    "CaseRecord",
    "HandoffRecord",
];

/// Target `decode`: the first byte picks a type (index into [`DECODED_TYPES`]), the rest is
/// decoded as that type. Decoding never panics; when it succeeds, re-encoding gives exactly
/// the input bytes.
pub fn decode(data: &[u8]) {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    match usize::from(selector) % DECODED_TYPES.len() {
        0 => {
            if let Some(sub) = round_trip::<Submission>(bytes) {
                // A decoded signature of any shape is checked without panicking.
                let _ = sub.verify_with(&PublicKey::of(&key(1)));
                let _ = sub.digest();
            }
        }
        1 => drop(round_trip::<Payload>(bytes)),
        2 => {
            if let Some(entry) = round_trip::<Entry>(bytes) {
                assert_eq!(
                    Entry::leaf_of(bytes),
                    Some(entry.body.leaf_bytes().as_slice()),
                    "an entry's bytes are its leaf bytes followed by its hash"
                );
            }
        }
        3 => drop(round_trip::<EntryBody>(bytes)),
        4 => drop(round_trip::<Proposal>(bytes)),
        5 => drop(round_trip::<ChainHead>(bytes)),
        6 => drop(round_trip::<Registry>(bytes)),
        7 => drop(round_trip::<SubmissionRecord>(bytes)),
        8 => drop(round_trip::<CaseRecord>(bytes)),
        _ => drop(round_trip::<HandoffRecord>(bytes)),
    }
}

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(bytes: &[u8]) -> Option<T> {
    let value = decode_canonical::<T>(bytes).ok()?;
    let again = encode(&value);
    assert_eq!(
        again, bytes,
        "decode accepted bytes that re-encode differently"
    );
    assert_eq!(decode_canonical::<T>(&again).as_ref(), Ok(&value));
    Some(value)
}

/// Target `chain`: the input is a framed entry stream (docs/FORMAT.md §Export). Unframing
/// and chain verification never panic; framing round-trips; a chain that verifies is made of
/// canonical entries ending at the head returned, and a chain that fails verifies up to the
/// index it names.
pub fn chain(data: &[u8]) {
    let Ok(frames) = unframe(data) else {
        return;
    };
    assert_eq!(frame(&frames), data, "unframe then frame is the identity");
    let entries = || frames.iter().map(Vec::as_slice);
    match verify_chain(ChainHead::EMPTY, entries()) {
        Ok(head) => {
            assert_eq!(head.size, frames.len() as u64);
            let mut last = None;
            for bytes in entries() {
                let entry = Entry::from_bytes(bytes).expect("a verified chain decodes");
                assert_eq!(entry.to_bytes(), bytes);
                last = Some(entry.hash);
            }
            if let Some(hash) = last {
                assert_eq!(head.hash, hash);
            }
        }
        Err(e) => {
            assert!(e.index < frames.len() as u64, "the fault is at an entry");
            let good = usize::try_from(e.index).expect("below the number of frames");
            let prefix = verify_chain(ChainHead::EMPTY, entries().take(good))
                .expect("the entries before the first fault verify");
            assert_eq!(prefix.size, e.index);
        }
    }
}

/// Reads fixed-size fields off the front of a fuzz input, zero-filled past its end.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }
    fn u64(&mut self) -> u64 {
        u64::from_be_bytes(self.take())
    }
    fn hash(&mut self) -> MerkleHash {
        MerkleHash::from_bytes(self.take())
    }
    fn hashes(self) -> Vec<MerkleHash> {
        self.0
            .chunks_exact(32)
            .map(|c| MerkleHash::from_bytes(c.try_into().expect("32-byte chunk")))
            .collect()
    }
}

/// Target `merkle_proofs`. Mode byte 0: an arbitrary inclusion proof (leaf hash, index,
/// size, root, then the proof's hashes); 1: an arbitrary consistency proof (first, second,
/// both roots, proof). Verification never panics. Mode 2: a real tree of 1 to 256 leaves
/// whose honest proofs must verify, and fail once any bit of them or the index is changed
/// (and, for consistency, the first size).
pub fn merkle_proofs(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut f = Fields(rest);
    match mode % 3 {
        0 => {
            let (leaf, index, size, root) = (f.hash(), f.u64(), f.u64(), f.hash());
            let _ = verify_inclusion(&leaf, index, size, &f.hashes(), &root);
        }
        1 => {
            let (first, second, first_root, second_root) = (f.u64(), f.u64(), f.hash(), f.hash());
            let _ = verify_consistency(first, second, &first_root, &second_root, &f.hashes());
        }
        _ => honest_proofs(f),
    }
}

fn honest_proofs(mut f: Fields<'_>) {
    let [n, index, first, bit_a, bit_b] = f.take::<5>();
    let size = u64::from(n) + 1;
    let mut tree = MemTree::new();
    for i in 0..size {
        tree.push(&i.to_be_bytes());
    }
    let root = tree.root();
    let index = u64::from(index) % size;
    let leaf = proto_types::merkle::leaf_hash(&index.to_be_bytes());
    let proof = tree.inclusion_proof(index, size).expect("index below size");
    assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root), Ok(()));
    let flip = usize::from(u16::from_be_bytes([bit_a, bit_b]));
    if let Some(changed) = flip_bit(&proof, flip) {
        assert!(verify_inclusion(&leaf, index, size, &changed, &root).is_err());
    }
    if size > 1 {
        let other = (index + 1) % size;
        assert!(verify_inclusion(&leaf, other, size, &proof, &root).is_err());
    }
    // Not checked: the same proof against another size. RFC 9162's verifier binds the size
    // only through the proof's shape, so sizes with the same shape verify alike (index 3 of
    // 7 and of 8); the size is bound to the root by the signed checkpoint instead.

    let first = u64::from(first) % (size + 1);
    let first_root = tree.root_at(first).expect("first within the tree");
    let proof = tree
        .consistency_proof(first, size)
        .expect("first within the tree");
    assert_eq!(
        verify_consistency(first, size, &first_root, &root, &proof),
        Ok(())
    );
    if let Some(changed) = flip_bit(&proof, flip) {
        assert!(verify_consistency(first, size, &first_root, &root, &changed).is_err());
    }
    if first > 0 && first < size {
        assert!(verify_consistency(first - 1, size, &first_root, &root, &proof).is_err());
    }
}

/// The proof with bit `bit` (modulo its length in bits) flipped; `None` for an empty proof.
fn flip_bit(proof: &[MerkleHash], bit: usize) -> Option<Vec<MerkleHash>> {
    let bits = proof.len() * 256;
    let bit = bit.checked_rem(bits)?;
    let mut changed = proof.to_vec();
    let mut bytes = *changed[bit / 256].as_bytes();
    bytes[bit % 256 / 8] ^= 1 << (bit % 8);
    changed[bit / 256] = MerkleHash::from_bytes(bytes);
    Some(changed)
}

/// Target `checkpoint`: the input as text is parsed as a checkpoint body and as a cosigned
/// note. Parsing never panics and what parses re-encodes to the same text (also through its
/// JSON string form); verification against the vectors' node keys never panics for any
/// quorum; the parsed checkpoint signed by node-1 verifies with quorum 1.
pub fn checkpoint(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(body) = Checkpoint::parse_body(text) {
        assert_eq!(body.body_text(), text);
    }
    let Ok(note) = CosignedCheckpoint::parse_note(text) else {
        return;
    };
    assert_eq!(note.to_note_text(), text);
    let json = serde_json::to_string(&note).expect("a note serialises as a string");
    let back: CosignedCheckpoint = serde_json::from_str(&json).expect("its JSON parses");
    assert_eq!(back, note);
    let keys = node_keys();
    for quorum in 0..=3 {
        let _ = verify_quorum(&note, &keys, quorum);
    }
    let checkpoint = note.checkpoint().clone();
    let signature = sign(&checkpoint, NODE_KEYS[0].0, &key(NODE_KEYS[0].1)).expect("valid name");
    let resigned = CosignedCheckpoint::new(checkpoint, vec![signature]).expect("one signature");
    assert_eq!(
        verify_quorum(&resigned, &keys, 1),
        Ok(vec![NODE_KEYS[0].0.to_owned()])
    );
}

/// Target `receipt`: the input as text is parsed as a receipt (C2SP tlog-proof). Parsing and
/// verification never panic and what parses re-encodes to the same text. To reach the checks
/// behind the signatures and the entry hash, the entry is also resealed (its hash recomputed)
/// and the note re-signed by node-1 before verifying again.
pub fn receipt(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = Receipt::parse(text) else {
        return;
    };
    assert_eq!(parsed.to_text(), text);
    let keys = node_keys();
    let _ = receipt::verify(&parsed, &parsed.entry_bytes, &keys);
    let Ok(entry) = Entry::from_bytes(&parsed.entry_bytes) else {
        return;
    };
    let entry_bytes = entry.body.seal().to_bytes();
    let checkpoint = parsed.note.checkpoint().clone();
    let signature = sign(&checkpoint, NODE_KEYS[0].0, &key(NODE_KEYS[0].1)).expect("valid name");
    let note = CosignedCheckpoint::new(checkpoint, vec![signature]).expect("one signature");
    let resealed = Receipt {
        entry_bytes: entry_bytes.clone(),
        note,
        ..parsed
    };
    let _ = receipt::verify(&resealed, &entry_bytes, &keys);
}

/// Target `submission_json`: the input is the body of `POST /v1/entries` as JSON, parsed as
/// the API parses it (`serde_json::from_slice::<Submission>`). Parsing never panics; what
/// parses has a canonical encoding that decodes back to it (else a node could propose bytes
/// its replicas cannot decode), and its JSON round-trips.
pub fn submission_json(data: &[u8]) {
    let Ok(sub) = serde_json::from_slice::<Submission>(data) else {
        return;
    };
    let bytes = encode(&sub);
    assert_eq!(decode_canonical::<Submission>(&bytes).as_ref(), Ok(&sub));
    let json = serde_json::to_vec(&sub).expect("a submission serialises");
    let back: Submission = serde_json::from_slice(&json).expect("its JSON parses back");
    assert_eq!(back, sub);
    let _ = sub.verify_with(&PublicKey::of(&key(1)));
}
