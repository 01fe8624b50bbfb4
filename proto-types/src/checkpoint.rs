//! Checkpoints: the ledger's tree head as a C2SP tlog-checkpoint, cosigned by the nodes as
//! a C2SP signed note (<https://c2sp.org/tlog-checkpoint>, <https://c2sp.org/signed-note>;
//! docs/FORMAT.md §Checkpoint).
//!
//! The note text (the *body*) is five lines, each ending in a newline:
//!
//! ```text
//! caseledger.example/cluster/<hex cluster id>
//! <tree size, decimal>
//! <root hash, standard padded base64>
//! chain-head <chain head hash, lowercase hex>
//! time <unix milliseconds, decimal>
//! ```
//!
//! followed by a blank line and one signature line per cosigning node:
//!
//! ```text
//! — <key name> <base64(key hash || Ed25519 signature of the body)>
//! ```
//!
//! Parsing is strict: anything that [`Checkpoint::body_text`] or
//! [`CosignedCheckpoint::to_note_text`] would not produce byte for byte is rejected, so a
//! parsed note re-encodes to the same text.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::merkle::MerkleHash;

/// The prefix of the chain-head extension line (docs/FORMAT.md §Checkpoint).
pub const CHAIN_HEAD_PREFIX: &str = "chain-head ";

/// The prefix of the time extension line (docs/FORMAT.md §Checkpoint).
pub const TIME_PREFIX: &str = "time ";

/// The start of every signature line: em dash (U+2014) and a space (signed-note §Format).
pub const SIGNATURE_LINE_PREFIX: &str = "\u{2014} ";

/// The signed-note signature type byte of Ed25519 (signed-note §Signature types).
pub const ED25519_SIGNATURE_TYPE: u8 = 0x01;

/// The most signature lines a note may carry. The signed-note spec asks verifiers to
/// accept at least 16; 100 is the Go reference implementation's limit.
pub const MAX_SIGNATURES: usize = 100;

/// The number of bytes a signature line encodes: a 4-byte key hash and a 64-byte
/// Ed25519 signature.
const SIGNATURE_WIRE_LEN: usize = 4 + 64;

/// Why a checkpoint or note could not be built, parsed or verified.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The origin is empty or contains a control character, a Unicode space or `+`.
    #[error("the origin is empty or contains a control character, a space or '+'")]
    InvalidOrigin,
    /// A key name is empty or contains a control character, a Unicode space or `+`.
    #[error("a key name is empty or contains a control character, a space or '+'")]
    InvalidKeyName,
    /// The body does not end with a newline.
    #[error("the checkpoint body does not end with a newline")]
    BodyNotTerminated,
    /// The body is not exactly five lines.
    #[error("the checkpoint body has {found} lines, expected 5")]
    BodyLineCount {
        /// The number of lines found.
        found: usize,
    },
    /// Line 2 is not a tree size in canonical decimal (no sign, no leading zero).
    #[error("line 2 is not a canonical decimal tree size")]
    InvalidTreeSize,
    /// Line 3 is not the canonical padded standard base64 of 32 bytes.
    #[error("line 3 is not the canonical base64 of a 32-byte root hash")]
    InvalidRootHash,
    /// Line 4 is not `chain-head ` and 64 lowercase hex digits.
    #[error("line 4 is not 'chain-head ' and 64 lowercase hex digits")]
    InvalidChainHead,
    /// Line 5 is not `time ` and milliseconds in canonical decimal.
    #[error("line 5 is not 'time ' and canonical decimal milliseconds")]
    InvalidTime,
    /// The note contains an ASCII control character other than newline.
    #[error("the note contains a control character at byte {offset}")]
    ControlCharacter {
        /// Byte offset of the first control character.
        offset: usize,
    },
    /// The note does not end with a newline.
    #[error("the note does not end with a newline")]
    NoteNotTerminated,
    /// No blank line separates the body from the signature lines.
    #[error("no blank line separates the checkpoint from its signatures")]
    MissingSeparator,
    /// A signature line is not `— <name> <base64 of 68 bytes>`, canonically encoded.
    #[error("signature line {line} is malformed")]
    MalformedSignatureLine {
        /// 1-based position among the signature lines.
        line: usize,
    },
    /// A cosigned checkpoint has no signature.
    #[error("the checkpoint carries no signature")]
    NoSignatures,
    /// A cosigned checkpoint has more than [`MAX_SIGNATURES`] signatures.
    #[error("the checkpoint carries {count} signatures, more than {MAX_SIGNATURES}")]
    TooManySignatures {
        /// The number of signatures.
        count: usize,
    },
    /// A signature whose key name and key hash match a known key fails to verify.
    #[error("the signature of known key {name} does not verify")]
    BadSignature {
        /// The key name on the failing signature line.
        name: String,
    },
    /// Fewer distinct known keys signed than the quorum requires.
    #[error("{verified} known keys signed the checkpoint, {required} required")]
    QuorumNotMet {
        /// The number of distinct key names whose signature verified.
        verified: usize,
        /// The number required.
        required: usize,
    },
}

/// Whether `name` may be a key name: non-empty, without Unicode spaces or `+`
/// (signed-note §Format), and, stricter than the spec, without any control character.
/// Origins follow the same rule, as tlog-checkpoint recommends.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '+')
}

/// Parses a `u64` written in canonical decimal: ASCII digits only, no leading zero
/// unless the value is 0.
fn parse_canonical_u64(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

/// Decodes canonical padded standard base64 into exactly `N` bytes.
fn decode_base64_exact<const N: usize>(text: &str) -> Option<[u8; N]> {
    let bytes = <[u8; N]>::try_from(STANDARD.decode(text).ok()?).ok()?;
    (STANDARD.encode(bytes) == text).then_some(bytes)
}

/// A tree head of the ledger: origin, tree size, Merkle root, hash chain head and time
/// (docs/FORMAT.md §Checkpoint).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    origin: String,
    tree_size: u64,
    root: MerkleHash,
    chain_head: [u8; 32],
    time_ms: u64,
}

impl Checkpoint {
    /// A checkpoint of the tree of `tree_size` leaves with root `root`, whose last entry
    /// has hash `chain_head`, made at `time_ms` (unix milliseconds).
    ///
    /// # Errors
    ///
    /// [`CheckpointError::InvalidOrigin`] if `origin` is empty or contains a control
    /// character, a Unicode space or `+`.
    pub fn new(
        origin: impl Into<String>,
        tree_size: u64,
        root: MerkleHash,
        chain_head: [u8; 32],
        time_ms: u64,
    ) -> Result<Self, CheckpointError> {
        let origin = origin.into();
        if !is_valid_name(&origin) {
            return Err(CheckpointError::InvalidOrigin);
        }
        Ok(Self {
            origin,
            tree_size,
            root,
            chain_head,
            time_ms,
        })
    }

    /// The log's identity, e.g. `caseledger.example/cluster/<hex cluster id>`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The number of ledger entries under the tree.
    pub fn tree_size(&self) -> u64 {
        self.tree_size
    }

    /// The Merkle root of the tree of [`Self::tree_size`] leaves.
    pub fn root(&self) -> &MerkleHash {
        &self.root
    }

    /// The hash of the last entry of the hash chain at this size.
    pub fn chain_head(&self) -> &[u8; 32] {
        &self.chain_head
    }

    /// When the checkpoint was made, in unix milliseconds.
    pub fn time_ms(&self) -> u64 {
        self.time_ms
    }

    /// The note text that cosigners sign: five lines, each ending in a newline
    /// (docs/FORMAT.md §Checkpoint).
    pub fn body_text(&self) -> String {
        format!(
            "{}\n{}\n{}\n{CHAIN_HEAD_PREFIX}{}\n{TIME_PREFIX}{}\n",
            self.origin,
            self.tree_size,
            STANDARD.encode(self.root.as_bytes()),
            hex::encode(self.chain_head),
            self.time_ms,
        )
    }

    /// Parses a body exactly as [`Self::body_text`] writes it.
    ///
    /// # Errors
    ///
    /// The variant naming the first defect found; any deviation from the canonical text
    /// (extra or missing lines, unknown extensions, `\r`, signs, leading zeros,
    /// uppercase hex, non-canonical base64) is one.
    pub fn parse_body(text: &str) -> Result<Self, CheckpointError> {
        let text = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::BodyNotTerminated)?;
        let lines: Vec<&str> = text.split('\n').collect();
        let [origin, tree_size, root, chain_head, time] = lines[..] else {
            return Err(CheckpointError::BodyLineCount { found: lines.len() });
        };
        if !is_valid_name(origin) {
            return Err(CheckpointError::InvalidOrigin);
        }
        let tree_size = parse_canonical_u64(tree_size).ok_or(CheckpointError::InvalidTreeSize)?;
        let root = decode_base64_exact::<32>(root).ok_or(CheckpointError::InvalidRootHash)?;
        let chain_head = chain_head
            .strip_prefix(CHAIN_HEAD_PREFIX)
            .and_then(|digits| {
                let mut bytes = [0u8; 32];
                hex::decode_to_slice(digits, &mut bytes).ok()?;
                (hex::encode(bytes) == digits).then_some(bytes)
            })
            .ok_or(CheckpointError::InvalidChainHead)?;
        let time_ms = time
            .strip_prefix(TIME_PREFIX)
            .and_then(parse_canonical_u64)
            .ok_or(CheckpointError::InvalidTime)?;
        Ok(Self {
            origin: origin.to_owned(),
            tree_size,
            root: MerkleHash::from_bytes(root),
            chain_head,
            time_ms,
        })
    }
}

/// One signature line of a note: a key name, the key's 4-byte hash and an Ed25519
/// signature of the note body (signed-note §Signatures).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NoteSignature {
    name: String,
    key_hash: [u8; 4],
    signature: [u8; 64],
}

impl NoteSignature {
    /// A signature line's content.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::InvalidKeyName`] if `name` is empty or contains a control
    /// character, a Unicode space or `+`.
    pub fn new(
        name: impl Into<String>,
        key_hash: [u8; 4],
        signature: [u8; 64],
    ) -> Result<Self, CheckpointError> {
        let name = name.into();
        if !is_valid_name(&name) {
            return Err(CheckpointError::InvalidKeyName);
        }
        Ok(Self {
            name,
            key_hash,
            signature,
        })
    }

    /// The signer's key name, e.g. `node-1`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signed-note key hash of the signing key (see [`key_hash`]).
    pub fn key_hash(&self) -> &[u8; 4] {
        &self.key_hash
    }

    /// The Ed25519 signature of the checkpoint body.
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// `— <name> <base64(key hash || signature)>` and a newline.
    fn write_line(&self, out: &mut String) {
        let mut wire = [0u8; SIGNATURE_WIRE_LEN];
        wire[..4].copy_from_slice(&self.key_hash);
        wire[4..].copy_from_slice(&self.signature);
        out.push_str(SIGNATURE_LINE_PREFIX);
        out.push_str(&self.name);
        out.push(' ');
        out.push_str(&STANDARD.encode(wire));
        out.push('\n');
    }

    /// Parses a signature line (without its newline) as [`Self::write_line`] writes it.
    fn parse_line(line: &str) -> Option<Self> {
        let (name, encoded) = line.strip_prefix(SIGNATURE_LINE_PREFIX)?.split_once(' ')?;
        let wire = decode_base64_exact::<SIGNATURE_WIRE_LEN>(encoded)?;
        let (key_hash, signature) = wire.split_first_chunk::<4>()?;
        Self::new(name, *key_hash, <[u8; 64]>::try_from(signature).ok()?).ok()
    }
}

impl fmt::Debug for NoteSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSignature")
            .field("name", &self.name)
            .field("key_hash", &hex::encode(self.key_hash))
            .field("signature", &hex::encode(self.signature))
            .finish()
    }
}

/// The signed-note key hash of an Ed25519 key: the first four bytes of
/// `SHA-256(name || 0x0A || 0x01 || public key)` (signed-note §Ed25519 signatures;
/// docs/FORMAT.md §Checkpoint).
pub fn key_hash(name: &str, key: &VerifyingKey) -> [u8; 4] {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', ED25519_SIGNATURE_TYPE])
        .chain_update(key.as_bytes())
        .finalize();
    let mut hash = [0u8; 4];
    hash.copy_from_slice(&digest[..4]);
    hash
}

/// The origin of a cluster's checkpoints and tree heads: `caseledger/<cluster name>`, the
/// name genesis declares (docs/FORMAT.md §Checkpoint).
pub fn origin_for(cluster_name: &str) -> String {
    format!("caseledger/{cluster_name}")
}

/// The key name of node `id` in a note (docs/FORMAT.md §Checkpoint).
pub fn node_key_name(id: crate::ids::NodeId) -> String {
    format!("node-{id}")
}

/// How many distinct node signatures a checkpoint entry needs: a majority of the nodes the
/// registry declares, `floor(n / 2) + 1` (docs/FORMAT.md §Apply).
pub fn required_cosigners(registry_nodes: usize) -> usize {
    registry_nodes / 2 + 1
}

/// Signs the body of `checkpoint` as key `name` (docs/FORMAT.md §Checkpoint).
///
/// # Errors
///
/// [`CheckpointError::InvalidKeyName`] if `name` cannot be a key name.
pub fn sign(
    checkpoint: &Checkpoint,
    name: &str,
    key: &SigningKey,
) -> Result<NoteSignature, CheckpointError> {
    let signature = key.sign(checkpoint.body_text().as_bytes());
    NoteSignature::new(
        name,
        key_hash(name, &key.verifying_key()),
        signature.to_bytes(),
    )
}

/// A checkpoint with the signatures of its cosigners: a complete signed note.
///
/// Serializes (serde) as its note text, a string.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CosignedCheckpoint {
    checkpoint: Checkpoint,
    signatures: Vec<NoteSignature>,
}

impl CosignedCheckpoint {
    /// A checkpoint and its signatures, in the order their lines will appear.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::NoSignatures`] if `signatures` is empty (a signed note has at
    /// least one), [`CheckpointError::TooManySignatures`] past [`MAX_SIGNATURES`].
    pub fn new(
        checkpoint: Checkpoint,
        signatures: Vec<NoteSignature>,
    ) -> Result<Self, CheckpointError> {
        if signatures.is_empty() {
            return Err(CheckpointError::NoSignatures);
        }
        if signatures.len() > MAX_SIGNATURES {
            return Err(CheckpointError::TooManySignatures {
                count: signatures.len(),
            });
        }
        Ok(Self {
            checkpoint,
            signatures,
        })
    }

    /// The signed checkpoint. Trust it only after [`verify_quorum`].
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The signatures, in note order, verified or not.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// The checkpoint and its signatures.
    pub fn into_parts(self) -> (Checkpoint, Vec<NoteSignature>) {
        (self.checkpoint, self.signatures)
    }

    /// The signed note: the body, a blank line, then one signature line per signature
    /// (docs/FORMAT.md §Checkpoint).
    pub fn to_note_text(&self) -> String {
        let mut text = self.checkpoint.body_text();
        text.push('\n');
        for signature in &self.signatures {
            signature.write_line(&mut text);
        }
        text
    }

    /// Parses a note exactly as [`Self::to_note_text`] writes it. Signatures are not
    /// verified: see [`verify_quorum`].
    ///
    /// Every signature line must carry a 4-byte key hash and a 64-byte Ed25519 signature;
    /// caseledger notes carry no other signature type.
    ///
    /// # Errors
    ///
    /// The variant naming the first defect found, including those of
    /// [`Checkpoint::parse_body`].
    pub fn parse_note(text: &str) -> Result<Self, CheckpointError> {
        if let Some(offset) = text.bytes().position(|b| b < 0x20 && b != b'\n') {
            return Err(CheckpointError::ControlCharacter { offset });
        }
        if !text.ends_with('\n') {
            return Err(CheckpointError::NoteNotTerminated);
        }
        // signed-note §Format: the text ends at the last blank line.
        let separator = text
            .rfind("\n\n")
            .ok_or(CheckpointError::MissingSeparator)?;
        let checkpoint = Checkpoint::parse_body(&text[..=separator])?;
        let block = &text[separator + 2..];
        let lines: Vec<&str> = block.split_terminator('\n').collect();
        if lines.len() > MAX_SIGNATURES {
            return Err(CheckpointError::TooManySignatures { count: lines.len() });
        }
        let signatures = lines
            .iter()
            .enumerate()
            .map(|(i, line)| {
                NoteSignature::parse_line(line)
                    .ok_or(CheckpointError::MalformedSignatureLine { line: i + 1 })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(checkpoint, signatures)
    }
}

/// Verifies the signatures of `note` against the known `keys` (key name and public key)
/// and checks that at least `quorum` distinct names signed (docs/FORMAT.md §Checkpoint).
///
/// Following signed-note §Signatures: a signature line is checked only when both its name
/// and key hash match a known key, and is otherwise ignored; a known key's signature that
/// fails `verify_strict` rejects the whole note; a name counts once however many of its
/// lines verify. At least one known signature is always required, even if `quorum` is 0.
///
/// Returns the names that verified, in note order.
///
/// # Errors
///
/// [`CheckpointError::BadSignature`] for the first known signature that fails,
/// [`CheckpointError::QuorumNotMet`] if too few names verified.
pub fn verify_quorum<N: AsRef<str>>(
    note: &CosignedCheckpoint,
    keys: &[(N, VerifyingKey)],
    quorum: usize,
) -> Result<Vec<String>, CheckpointError> {
    let known: Vec<(&str, [u8; 4], &VerifyingKey)> = keys
        .iter()
        .map(|(name, key)| (name.as_ref(), key_hash(name.as_ref(), key), key))
        .collect();
    let body = note.checkpoint.body_text();
    let mut verified: Vec<String> = Vec::new();
    for line in &note.signatures {
        let mut candidates = known
            .iter()
            .filter(|(name, hash, _)| *name == line.name && *hash == line.key_hash)
            .peekable();
        if candidates.peek().is_none() {
            continue;
        }
        let signature = Signature::from_bytes(&line.signature);
        if !candidates.any(|(_, _, key)| key.verify_strict(body.as_bytes(), &signature).is_ok()) {
            return Err(CheckpointError::BadSignature {
                name: line.name.clone(),
            });
        }
        if !verified.contains(&line.name) {
            verified.push(line.name.clone());
        }
    }
    let required = quorum.max(1);
    if verified.len() < required {
        return Err(CheckpointError::QuorumNotMet {
            verified: verified.len(),
            required,
        });
    }
    Ok(verified)
}

impl Serialize for CosignedCheckpoint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_note_text())
    }
}

impl<'de> Deserialize<'de> for CosignedCheckpoint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(NoteVisitor)
    }
}

/// Accepts a string holding a note text in canonical form.
struct NoteVisitor;

impl Visitor<'_> for NoteVisitor {
    type Value = CosignedCheckpoint;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a cosigned checkpoint as C2SP signed-note text")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<CosignedCheckpoint, E> {
        CosignedCheckpoint::parse_note(text).map_err(E::custom)
    }
}
