//! Ledger entries and the hash chain (docs/FORMAT.md §Entry, §Chain).
//!
//! An entry is a body (index, acceptance time, record, previous hash) and its hash
//! `h_i = SHA-256("caseledger/v1/entry\0" || encode(body))`. The Merkle leaf of entry `i` is
//! `encode(body)`, so `tree_size = i + 1` after appending it.

use crate::crypto::{context, Digest};
use crate::encoding::{decode, encode, DecodeError};
use crate::payload::Submission;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The chain hash of an entry.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EntryHash(Digest);

impl EntryHash {
    /// The `prev` of entry 0: 32 zero bytes.
    pub const ZERO: EntryHash = EntryHash(Digest::sha256_from_bytes([0; 32]));

    /// The hash of an entry body's canonical bytes.
    pub fn of_body_bytes(body_bytes: &[u8]) -> Self {
        Self(Digest::sha256(&[context::ENTRY, body_bytes]))
    }

    /// Wraps a SHA-256 digest read from elsewhere (a checkpoint, a store).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Digest::sha256_from_bytes(bytes))
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        self.0.to_hex()
    }
}

impl fmt::Debug for EntryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntryHash({})", self.0.to_hex())
    }
}

impl fmt::Display for EntryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_hex())
    }
}

/// A rule that a validly signed submission broke. Codes are stable: they are ledger data.
/// New rules are only ever appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Rule {
    /// A second genesis, or a genesis that is not entry 0.
    GenesisMisplaced,
    /// The policy has no rule for this handoff kind.
    UnknownHandoffKind,
    /// The signer is not the organisation the step must come from.
    SignerMismatch,
    /// The sender's kind of department may not send this kind of handoff.
    SenderNotAllowed,
    /// The receiver's kind of department may not receive it, or the receiver is unknown.
    ReceiverNotAllowed,
    /// The case id is not on the ledger.
    UnknownCase,
    /// A case with this id was already filed.
    CaseExists,
    /// The case is closed: nothing may happen to it.
    CaseClosed,
    /// The handoff is not allowed in the case's current stage.
    IllegalStageTransition,
    /// Only the department holding the case may send this handoff, or take this step.
    NotCaseHolder,
    /// A stage-changing handoff is still in transit (not accepted or returned).
    CaseInTransit,
    /// A third return for supplementary investigation (Art. 175 allows two).
    SupplementaryReturnLimit,
    /// An arrest request for a case type whose maximum penalty is criminal detention.
    ArrestNotAllowed,
    /// The handoff id named is not on the ledger, or is not a handoff.
    UnknownHandoff,
    /// Only the receiver of a handoff may sign for, accept or return it.
    NotReceiver,
    /// Acceptance or return before the receipt.
    ReceiptRequired,
    /// Receipt, acceptance or return of a handoff whose loop has moved past that step.
    LoopAlreadyClosed,
    /// The receiver responded before accepting the handoff it answers.
    AcceptanceRequired,
    /// A required document is missing.
    MissingDocuments,
    /// A detained person changes hands without a custody transfer.
    CustodyTransferMissing,
    /// The handoff's case type differs from the case's.
    CaseTypeMismatch,
    /// A note, document list or person list is over the policy's limit.
    LimitExceeded,
    /// A registry change that lacks approvals or is inconsistent.
    RegistryChangeRefused,
    /// A policy change that lacks approvals or does not raise the version.
    PolicyChangeRefused,
    /// A checkpoint whose head or cosignatures do not verify.
    CheckpointInvalid,
    /// The clock named does not exist or cannot take this adjustment.
    ClockAdjustmentRefused,
    /// The payload is malformed in a way signatures cannot catch (e.g. a person not in the case).
    InvalidPayload,
    /// A membership change without the approvals it needs, or that the membership refuses.
    MembershipChangeRefused,
    /// The signer has no part in the case that allows this step (not the holder, the
    /// receiver, the person's custodian, nor a participant made so by a lawful step).
    NotCaseParty,
    /// A clock extension, pause or restart without the countersignature of an organisation
    /// the law allows to approve it, or beyond the statutory maximum.
    ClockApprovalRefused,
}

impl Rule {
    /// The stable code, e.g. `SUPPLEMENTARY_RETURN_LIMIT`.
    pub fn code(self) -> String {
        crate::domain::screaming(&format!("{self:?}"))
    }
}

/// A validly signed submission that broke a rule: recorded, changes no case state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// What was submitted.
    pub submission: Submission,
    /// The rule it broke.
    pub rule: Rule,
    /// Details for people; deterministic from the log.
    pub detail: String,
}

/// What an entry records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Record {
    /// A step that took effect.
    Accepted(Submission),
    /// A step refused by a workflow rule.
    Rejected(Rejection),
}

impl Record {
    /// The submission, accepted or not.
    pub fn submission(&self) -> &Submission {
        match self {
            Record::Accepted(s) => s,
            Record::Rejected(r) => &r.submission,
        }
    }

    /// The rule and detail of a rejection; `None` for an accepted step.
    pub fn rejection(&self) -> Option<(Rule, String)> {
        match self {
            Record::Accepted(_) => None,
            Record::Rejected(r) => Some((r.rule, r.detail.clone())),
        }
    }

    /// The submission and, for a rejection, its rule and detail (without copying).
    pub fn into_parts(self) -> (Submission, Option<(Rule, String)>) {
        match self {
            Record::Accepted(s) => (s, None),
            Record::Rejected(Rejection {
                submission,
                rule,
                detail,
            }) => (submission, Some((rule, detail))),
        }
    }

    /// The record of `submission`: accepted, or rejected with a rule and detail.
    pub fn from_parts(submission: Submission, rejected: Option<(Rule, String)>) -> Self {
        match rejected {
            None => Record::Accepted(submission),
            Some((rule, detail)) => Record::Rejected(Rejection {
                submission,
                rule,
                detail,
            }),
        }
    }
}

/// The hashed part of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryBody {
    /// Position in the ledger, from 0.
    pub index: u64,
    /// The ledger's time for the step: max(previous entry's, the leader's stamp).
    pub accepted_at: Timestamp,
    /// What happened.
    pub record: Record,
    /// The previous entry's hash ([`EntryHash::ZERO`] for entry 0).
    pub prev: EntryHash,
}

impl EntryBody {
    /// The canonical bytes: the Merkle leaf.
    pub fn leaf_bytes(&self) -> Vec<u8> {
        encode(self)
    }

    /// Seals the body with its hash.
    pub fn seal(self) -> Entry {
        self.seal_encoded().0
    }

    /// Seals the body with its hash, and the entry's canonical bytes (`to_bytes()`), from one
    /// encoding of the body: an entry's bytes are its leaf bytes followed by its hash's.
    pub fn seal_encoded(self) -> (Entry, Vec<u8>) {
        let mut bytes = self.leaf_bytes();
        let hash = EntryHash::of_body_bytes(&bytes);
        let at = bytes.len();
        crate::encoding::encode_into(&hash, &mut bytes);
        debug_assert_eq!(bytes.len() - at, ENCODED_HASH_LEN);
        (Entry { body: self, hash }, bytes)
    }
}

/// An entry: body and hash. Stored and streamed as `encode(entry)`, which is the leaf bytes
/// followed by the 34-byte encoding of the hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The hashed part.
    pub body: EntryBody,
    /// `SHA-256("caseledger/v1/entry\0" || leaf bytes)`.
    pub hash: EntryHash,
}

/// Length of the encoded hash at the end of an encoded entry (alg, length, 32 bytes).
pub const ENCODED_HASH_LEN: usize = 34;

impl Entry {
    /// The canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes canonical entry bytes strictly (the hash is not checked here: see
    /// [`verify_link`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode(bytes)
    }

    /// The leaf bytes inside canonical entry bytes, without decoding.
    pub fn leaf_of(entry_bytes: &[u8]) -> Option<&[u8]> {
        entry_bytes
            .len()
            .checked_sub(ENCODED_HASH_LEN)
            .map(|n| &entry_bytes[..n])
    }
}

/// The head of a chain: how many entries, the last hash and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    /// Entries in the chain (the next index).
    pub size: u64,
    /// Hash of the last entry ([`EntryHash::ZERO`] when empty).
    pub hash: EntryHash,
    /// Time of the last entry.
    pub time: Timestamp,
}

impl ChainHead {
    /// The head of an empty chain.
    pub const EMPTY: ChainHead = ChainHead {
        size: 0,
        hash: EntryHash::ZERO,
        time: Timestamp::from_millis(0),
    };
}

/// Why a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainFault {
    /// The bytes are not a canonical entry.
    #[error("undecodable entry: {0}")]
    Undecodable(DecodeError),
    /// The entry's index is not its position.
    #[error("index {found} where {expected} was expected")]
    WrongIndex {
        /// The position.
        expected: u64,
        /// The index in the body.
        found: u64,
    },
    /// `prev` is not the previous entry's hash.
    #[error("prev does not link to the previous entry")]
    BrokenLink,
    /// The stored hash is not the hash of the body.
    #[error("stored hash does not match the body")]
    HashMismatch,
    /// The entry's time is before the previous entry's.
    #[error("time goes backwards")]
    TimeBackwards,
}

/// The first bad entry of a chain and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry {index}: {fault}")]
pub struct ChainError {
    /// Index of the first bad entry.
    pub index: u64,
    /// What is wrong.
    pub fault: ChainFault,
}

/// Checks that `entry` correctly extends `head`; returns the new head.
pub fn verify_link(head: &ChainHead, entry: &Entry) -> Result<ChainHead, ChainError> {
    let fail = |fault| ChainError {
        index: head.size,
        fault,
    };
    let next = extends(head, entry).map_err(fail)?;
    if EntryHash::of_body_bytes(&entry.body.leaf_bytes()) != entry.hash {
        return Err(fail(ChainFault::HashMismatch));
    }
    Ok(next)
}

/// The link of `entry` to `head`: its index, `prev` and time (not its own hash, which a
/// verifier holding the entry's bytes checks over them: `crate::replay::decode`); the new head.
pub fn extends(head: &ChainHead, entry: &Entry) -> Result<ChainHead, ChainFault> {
    let body = &entry.body;
    if body.index != head.size {
        return Err(ChainFault::WrongIndex {
            expected: head.size,
            found: body.index,
        });
    }
    if body.prev != head.hash {
        return Err(ChainFault::BrokenLink);
    }
    if head.size > 0 && body.accepted_at < head.time {
        return Err(ChainFault::TimeBackwards);
    }
    Ok(ChainHead {
        size: head.size + 1,
        hash: entry.hash,
        time: body.accepted_at,
    })
}

/// Verifies a run of canonical entry bytes extending `start`; returns the final head or the
/// first bad index and why.
pub fn verify_chain<'a>(
    start: ChainHead,
    entries: impl IntoIterator<Item = &'a [u8]>,
) -> Result<ChainHead, ChainError> {
    let mut head = start;
    for bytes in entries {
        let entry = Entry::from_bytes(bytes).map_err(|e| ChainError {
            index: head.size,
            fault: ChainFault::Undecodable(e),
        })?;
        head = verify_link(&head, &entry)?;
    }
    Ok(head)
}
