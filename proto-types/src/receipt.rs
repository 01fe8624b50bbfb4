//! Receipts: proof that an entry is in the ledger, as a C2SP tlog-proof
//! (<https://c2sp.org/tlog-proof>; docs/FORMAT.md §Receipt).
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <standard base64 of the entry bytes (§Entry)>
//! index <entry index, canonical decimal>
//! <standard base64 of each hash of PATH(index, D[size]), one per line, leaf side first>
//!
//! <the signed checkpoint note (§Checkpoint), verbatim>
//! ```
//!
//! Parsing is strict: a parsed receipt re-encodes to the same text.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::VerifyingKey;

use crate::checkpoint::{verify_quorum, CheckpointError, CosignedCheckpoint};
use crate::entry::{Entry, EntryHash};
use crate::merkle::{leaf_hash, verify_inclusion, MerkleHash, ProofError};

/// The first line of every receipt.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// Why a receipt could not be parsed or verified.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The text is not a receipt as [`Receipt::to_text`] writes it.
    #[error("malformed receipt: {0}")]
    Malformed(&'static str),
    /// The checkpoint note inside does not parse or its signatures do not verify.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The entry bytes do not decode, or are not the ones the receipt carries.
    #[error("entry: {0}")]
    Entry(String),
    /// The entry's `index` field is not the receipt's index.
    #[error("the entry's index is {entry}, the receipt's {receipt}")]
    IndexMismatch {
        /// The index inside the entry.
        entry: u64,
        /// The index line.
        receipt: u64,
    },
    /// The entry's stored hash is not the hash of its body.
    #[error("the entry's hash does not match its body")]
    HashMismatch,
    /// The entry is the last of the tree but the note's chain head is another hash.
    #[error("the note's chain head is not the entry's hash")]
    ChainHeadMismatch,
    /// The inclusion proof does not lead to the note's root.
    #[error("inclusion proof: {0}")]
    Inclusion(#[from] ProofError),
}

/// A receipt: an entry, its index, its inclusion proof, and the signed tree head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The entry's canonical bytes (§Entry), carried in the `extra` line.
    pub entry_bytes: Vec<u8>,
    /// The entry's ledger index.
    pub index: u64,
    /// `PATH(index, D[size])`, leaf side first.
    pub proof: Vec<MerkleHash>,
    /// The signed tree head the proof leads to.
    pub note: CosignedCheckpoint,
}

fn parse_canonical_u64(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

fn decode_canonical_base64(text: &str) -> Option<Vec<u8>> {
    let bytes = STANDARD.decode(text).ok()?;
    (STANDARD.encode(&bytes) == text).then_some(bytes)
}

impl Receipt {
    /// The tlog-proof text.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{HEADER}\nextra {}\nindex {}\n",
            STANDARD.encode(&self.entry_bytes),
            self.index
        );
        for h in &self.proof {
            out.push_str(&STANDARD.encode(h.as_bytes()));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.note.to_note_text());
        out
    }

    /// Parses a receipt exactly as [`Self::to_text`] writes it. Nothing is verified: see
    /// [`verify`].
    ///
    /// # Errors
    ///
    /// [`ReceiptError::Malformed`] or [`ReceiptError::Checkpoint`] for the note.
    pub fn parse(text: &str) -> Result<Self, ReceiptError> {
        let rest = text
            .strip_prefix(HEADER)
            .and_then(|r| r.strip_prefix('\n'))
            .ok_or(ReceiptError::Malformed("no tlog-proof@v1 header line"))?;
        let (extra, rest) = rest
            .split_once('\n')
            .ok_or(ReceiptError::Malformed("no extra line"))?;
        let extra = extra.strip_prefix("extra ").ok_or(ReceiptError::Malformed(
            "the second line is not 'extra <base64>'",
        ))?;
        let entry_bytes = decode_canonical_base64(extra)
            .ok_or(ReceiptError::Malformed("extra is not canonical base64"))?;
        let (index, mut rest) = rest
            .split_once('\n')
            .ok_or(ReceiptError::Malformed("no index line"))?;
        let index = index
            .strip_prefix("index ")
            .and_then(parse_canonical_u64)
            .ok_or(ReceiptError::Malformed(
                "the index line is not 'index <canonical decimal>'",
            ))?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = rest
                .split_once('\n')
                .ok_or(ReceiptError::Malformed("no blank line before the note"))?;
            rest = after;
            if line.is_empty() {
                break;
            }
            let bytes: [u8; 32] = decode_canonical_base64(line)
                .and_then(|b| b.try_into().ok())
                .ok_or(ReceiptError::Malformed(
                    "a proof line is not the canonical base64 of 32 bytes",
                ))?;
            proof.push(MerkleHash::from_bytes(bytes));
        }
        let note = CosignedCheckpoint::parse_note(rest)?;
        Ok(Self {
            entry_bytes,
            index,
            proof,
            note,
        })
    }
}

/// Verifies `receipt` for the entry `entry_bytes` against trusted node keys (key name, e.g.
/// `node-1`, and public key): the note is signed by at least one of them, the entry bytes
/// are the receipt's and hash to their stored hash, the entry's index is the receipt's, and
/// the inclusion proof of the entry's leaf leads to the note's root at its size
/// (docs/FORMAT.md §Receipt, steps 1–4).
///
/// # Errors
///
/// The variant naming the first check that failed.
pub fn verify<N: AsRef<str>>(
    receipt: &Receipt,
    entry_bytes: &[u8],
    keys: &[(N, VerifyingKey)],
) -> Result<(), ReceiptError> {
    if receipt.entry_bytes != entry_bytes {
        return Err(ReceiptError::Entry(
            "the receipt carries other entry bytes".into(),
        ));
    }
    verify_quorum(&receipt.note, keys, 1)?;
    let entry = Entry::from_bytes(entry_bytes).map_err(|e| ReceiptError::Entry(e.to_string()))?;
    if entry.body.index != receipt.index {
        return Err(ReceiptError::IndexMismatch {
            entry: entry.body.index,
            receipt: receipt.index,
        });
    }
    let leaf = Entry::leaf_of(entry_bytes)
        .ok_or_else(|| ReceiptError::Entry("shorter than a hash".into()))?;
    if EntryHash::of_body_bytes(leaf) != entry.hash {
        return Err(ReceiptError::HashMismatch);
    }
    let checkpoint = receipt.note.checkpoint();
    // `checked_add`: an entry may claim index u64::MAX (docs/FORMAT.md §Receipt, step 4).
    if receipt.index.checked_add(1) == Some(checkpoint.tree_size())
        && checkpoint.chain_head() != entry.hash.as_bytes()
    {
        return Err(ReceiptError::ChainHeadMismatch);
    }
    verify_inclusion(
        &leaf_hash(leaf),
        receipt.index,
        checkpoint.tree_size(),
        &receipt.proof,
        checkpoint.root(),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{sign, Checkpoint};
    use crate::merkle::MemTree;
    use ed25519_dalek::SigningKey;

    const VECTORS: &str = include_str!("../tests/data/format-vectors.json");

    /// A receipt for entry `index` of the vectors' sample chain, against its checkpoint body
    /// signed by node-1 alone (seed `0b`, docs/FORMAT.md §Vectors).
    fn genuine(index: u64) -> (Receipt, Vec<u8>, VerifyingKey) {
        let v: serde_json::Value = serde_json::from_str(VECTORS).expect("vectors parse");
        let entries: Vec<Vec<u8>> = v["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| hex::decode(e["entry_hex"].as_str().expect("hex")).expect("entry hex"))
            .collect();
        let mut tree = MemTree::new();
        for e in &entries {
            tree.push(Entry::leaf_of(e).expect("leaf"));
        }
        let note = CosignedCheckpoint::parse_note(v["checkpoint"]["note"].as_str().expect("note"))
            .expect("vector note");
        let checkpoint: Checkpoint = note.checkpoint().clone();
        assert_eq!(checkpoint.root(), &tree.root());
        let key = SigningKey::from_bytes(&[0x0b; 32]);
        assert_eq!(
            hex::encode(key.verifying_key().as_bytes()),
            v["checkpoint"]["cosigners"][0]["public_key_hex"]
                .as_str()
                .expect("key")
        );
        let sig = sign(&checkpoint, "node-1", &key).expect("sign");
        let note = CosignedCheckpoint::new(checkpoint, vec![sig]).expect("note");
        let proof = tree.inclusion_proof(index, tree.size()).expect("proof");
        let bytes = entries[index as usize].clone();
        (
            Receipt {
                entry_bytes: bytes.clone(),
                index,
                proof,
                note,
            },
            bytes,
            key.verifying_key(),
        )
    }

    #[test]
    fn accepts_a_genuine_receipt_and_round_trips_its_text() {
        for index in [0, 3, 6] {
            let (r, bytes, key) = genuine(index);
            let keys = [("node-1", key)];
            assert_eq!(verify(&r, &bytes, &keys), Ok(()));
            let text = r.to_text();
            assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra "));
            let parsed = Receipt::parse(&text).expect("parses");
            assert_eq!(parsed, r);
            assert_eq!(parsed.to_text(), text);
            assert_eq!(verify(&parsed, &bytes, &keys), Ok(()));
        }
    }

    #[test]
    fn rejects_any_changed_byte_of_the_text() {
        let (r, bytes, key) = genuine(3);
        let keys = [("node-1", key)];
        let text = r.to_text().into_bytes();
        for i in 0..text.len() {
            for flip in [0x01u8, 0x02, 0x20] {
                let mut changed = text.clone();
                changed[i] ^= flip;
                let Ok(s) = String::from_utf8(changed) else {
                    continue;
                };
                let Ok(p) = Receipt::parse(&s) else { continue };
                assert!(
                    verify(&p, &bytes, &keys).is_err(),
                    "a change at byte {i} (xor {flip:#x}) was accepted"
                );
                assert!(
                    verify(&p, &p.entry_bytes, &keys).is_err(),
                    "a change at byte {i} (xor {flip:#x}) was accepted with its own entry"
                );
            }
        }
    }

    #[test]
    fn rejects_other_entry_bytes_a_wrong_index_and_unknown_keys() {
        let (r, bytes, key) = genuine(3);
        let mut other = bytes.clone();
        other[5] ^= 1;
        assert!(matches!(
            verify(&r, &other, &[("node-1", key)]),
            Err(ReceiptError::Entry(_))
        ));
        let stranger = SigningKey::from_bytes(&[0x0c; 32]).verifying_key();
        assert!(matches!(
            verify(&r, &bytes, &[("node-1", stranger)]),
            Err(ReceiptError::Checkpoint(_))
        ));
        let moved = Receipt { index: 4, ..r };
        assert!(matches!(
            verify(&moved, &bytes, &[("node-1", key)]),
            Err(ReceiptError::IndexMismatch {
                entry: 3,
                receipt: 4
            })
        ));
    }
}
