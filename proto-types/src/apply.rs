//! The one `apply` function (docs/FORMAT.md §Apply): given the state so far and the next
//! proposal, the outcome. The node's state machine and the auditor's replay both call it;
//! nothing else decides.
//!
//! Order of checks: genesis first; idempotency by id (same bytes: the earlier index; other
//! bytes: refused); the signature against the key the registry says was valid for the signer
//! at the entry's time; then the rules. A rule broken by a validly signed submission is
//! appended as a rejection entry; a bad signature or a reused id is refused and not recorded.

use crate::checkpoint::CosignedCheckpoint;
use crate::crypto::VerifyError;
use crate::encoding::{decode, encode, DecodeError};
use crate::entry::{EntryBody, Record, Rejection, Rule};
use crate::ids::HandoffId;
use crate::payload::{Action, Signer, Submission};
use crate::registry::{KeyError, Registry};
use crate::state::LedgerState;
use crate::time::Timestamp;
use crate::workflow::{self, CaseStep};
use serde::{Deserialize, Serialize};

/// The records apply makes, defined with the other records (their paths here still work).
pub use crate::records::{Applied, Changes, SubmissionRecord};

/// What the leader proposes through Raft: a submission and the leader's time stamp.
/// The Raft log carries `encode(proposal)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// The signed submission.
    pub submission: Submission,
    /// The leader's clock when it proposed; apply takes max(previous entry's time, this).
    pub stamped_at: Timestamp,
}

impl Proposal {
    /// The canonical bytes carried in the Raft log.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes a proposal strictly.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode(bytes)
    }
}

/// Why a proposal was refused without being recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Refusal {
    /// The ledger has no genesis yet and this is not one.
    #[error("the ledger has no genesis yet")]
    NoGenesis,
    /// The signer has no usable key at the entry's time.
    #[error("signer key: {0}")]
    Key(KeyError),
    /// The signature does not verify.
    #[error("signature: {0}")]
    Signature(SignatureFault),
    /// The id was used before with different bytes.
    #[error("id {id} was used by entry {index} with different content")]
    IdReused {
        /// The id.
        id: HandoffId,
        /// The entry that used it.
        index: u64,
    },
}

/// A signature fault, serializable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SignatureFault {
    /// The registered key is not a valid point.
    #[error("malformed key")]
    MalformedKey,
    /// Key and signature algorithms differ.
    #[error("algorithm mismatch")]
    AlgorithmMismatch,
    /// The signature does not verify.
    #[error("does not verify")]
    BadSignature,
}

impl From<VerifyError> for SignatureFault {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::MalformedKey => Self::MalformedKey,
            VerifyError::AlgorithmMismatch => Self::AlgorithmMismatch,
            VerifyError::BadSignature => Self::BadSignature,
        }
    }
}

/// The outcome of applying one proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new entry (accepted, or a recorded rejection).
    Appended(Box<Applied>),
    /// The same submission was recorded before, at this index.
    Duplicate {
        /// The earlier entry.
        index: u64,
    },
    /// Refused and not recorded.
    Refused(Refusal),
}

/// Whether `apply` must verify the submission's signature itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureCheck {
    /// Verify against the registry (followers, the auditor).
    Verify,
    /// The caller already verified this exact submission's signature against this key (the
    /// node that received it, or a batch verification). Apply still resolves the signer's key
    /// at the entry's time and skips only the curve arithmetic, and only if the key is the
    /// same: a key revoked or rotated in between is caught exactly as on every other replica.
    VerifiedWith(crate::crypto::PublicKey),
}

/// The signer's key at `at`, and the signature check (skipped if `check` vouches for it).
pub fn verify_submission(
    registry: &Registry,
    sub: &Submission,
    at: Timestamp,
    check: SignatureCheck,
) -> Result<(), Refusal> {
    let key = registry
        .key_for_payload(&sub.payload, at)
        .map_err(Refusal::Key)?;
    if check == SignatureCheck::VerifiedWith(key) {
        return Ok(());
    }
    sub.verify_with(&key)
        .map_err(|e| Refusal::Signature(e.into()))
}

/// Signatures checked together before their submissions are applied one by one: for each
/// `(submission, time)`, the key it verified with (the key `registry` names for its signer at
/// `time`), to hand to [`apply`] as [`SignatureCheck::VerifiedWith`]; `None` where no key
/// resolves or the signature does not verify, which `apply` then checks (and refuses) itself.
///
/// Batch verification ([`crate::crypto::verify_many`], groups of `group`) is about 3.5 times
/// as fast as one by one when a group of 64 signatures comes from ~20 keys (2.6 times with a
/// distinct key for each; `examples/verify_rate.rs`) and answers as strict verification does
/// (but for a signature its key's holder crafted with torsion: ARCHITECTURE.md). `apply`
/// trusts a key returned here only if it is still the signer's key at the entry's own time,
/// so a registry change within the batch is caught as on every replica.
pub fn preverify(
    registry: &Registry,
    subs: &[(&Submission, Timestamp)],
    group: usize,
) -> Vec<Option<crate::crypto::PublicKey>> {
    let candidates: Vec<(usize, crate::crypto::PublicKey, Vec<u8>)> = subs
        .iter()
        .enumerate()
        .filter_map(|(i, (sub, at))| {
            let key = registry.key_for_payload(&sub.payload, *at).ok()?;
            Some((i, key, encode(&sub.payload)))
        })
        .collect();
    let items: Vec<_> = candidates
        .iter()
        .map(|(i, key, message)| {
            (
                key,
                crate::crypto::context::SUBMISSION,
                message.as_slice(),
                &subs[*i].0.signature,
            )
        })
        .collect();
    let verified = crate::crypto::verify_many(&items, group);
    let mut keys = vec![None; subs.len()];
    for ((i, key, _), ok) in candidates.iter().zip(verified) {
        if ok {
            keys[*i] = Some(*key);
        }
    }
    keys
}

/// Applies the next proposal to the state: the one function that decides.
pub fn apply<S: LedgerState>(
    state: &S,
    proposal: &Proposal,
    check: SignatureCheck,
) -> Result<Outcome, S::Error> {
    let head = state.head();
    let at = if head.size == 0 {
        proposal.stamped_at
    } else {
        head.time.max(proposal.stamped_at)
    };
    let sub = &proposal.submission;
    let payload = &sub.payload;

    let Some(registry) = state.registry() else {
        return Ok(apply_genesis(state, sub, at));
    };

    let digest = sub.digest();
    if let Some(prev) = state.submission(&payload.id)? {
        return Ok(if prev.digest == digest {
            Outcome::Duplicate { index: prev.index }
        } else {
            Outcome::Refused(Refusal::IdReused {
                id: payload.id.clone(),
                index: prev.index,
            })
        });
    }
    if let Err(r) = verify_submission(registry, sub, at, check) {
        return Ok(Outcome::Refused(r));
    }

    let mut changes = Changes {
        submission: Some(SubmissionRecord {
            id: payload.id.clone(),
            index: head.size,
            digest,
        }),
        ..Changes::default()
    };
    let verdict: Result<(), (Rule, String)> = match (&payload.action, &payload.signer) {
        (Action::Genesis(_), _) => Err((Rule::GenesisMisplaced, "genesis must be entry 0".into())),
        (Action::KeyLifecycle(kl), signer) => registry
            .check_approvals(&kl.op, &kl.approvals, at)
            .and_then(|()| registry.with_key_op(&kl.op, signer, at))
            .map(|r| changes.registry = Some(r))
            .map_err(|e| (Rule::RegistryChangeRefused, e.to_string())),
        (Action::Policy(pu), Signer::Org(k)) => {
            decide_policy(registry, pu, &k.org, at).map(|r| changes.registry = Some(r))
        }
        (Action::Policy(_), Signer::Node(_)) => Err((
            Rule::SignerMismatch,
            "policy is signed by an organisation".into(),
        )),
        (Action::Checkpoint(cp), Signer::Node(_)) => decide_checkpoint(state, registry, cp, at)?,
        (Action::Membership(mc), Signer::Org(k)) => registry
            .with_member_op(&mc.op, &mc.approvals, &k.org, at)
            .map(|r| changes.registry = Some(r))
            .map_err(|e| (Rule::MembershipChangeRefused, e.to_string())),
        (Action::Membership(_), Signer::Node(_)) => Err((
            Rule::SignerMismatch,
            "membership changes are signed by organisations".into(),
        )),
        (Action::Checkpoint(_), Signer::Org(_)) => Err((
            Rule::SignerMismatch,
            "checkpoints are signed by nodes".into(),
        )),
        (_, Signer::Node(_)) => Err((
            Rule::SignerMismatch,
            "case steps are signed by organisations".into(),
        )),
        (_, Signer::Org(k)) => {
            match workflow::decide(state, registry, &k.org, payload, head.size, at)? {
                CaseStep::Changes(c) => {
                    changes.cases = c.cases;
                    changes.handoffs = c.handoffs;
                    Ok(())
                }
                CaseStep::Rejected(rule, detail) => Err((rule, detail)),
            }
        }
    };
    let record = match verdict {
        Ok(()) => Record::Accepted(sub.clone()),
        Err((rule, detail)) => {
            // A rejection changes nothing but the idempotency index.
            changes.registry = None;
            changes.cases.clear();
            changes.handoffs.clear();
            Record::Rejected(Rejection {
                submission: sub.clone(),
                rule,
                detail,
            })
        }
    };
    let (entry, bytes) = EntryBody {
        index: head.size,
        accepted_at: at,
        record,
        prev: head.hash,
    }
    .seal_encoded();
    Ok(Outcome::Appended(Box::new(Applied {
        entry,
        bytes,
        changes,
    })))
}

fn apply_genesis<S: LedgerState>(state: &S, sub: &Submission, at: Timestamp) -> Outcome {
    let Action::Genesis(g) = &sub.payload.action else {
        return Outcome::Refused(Refusal::NoGenesis);
    };
    let registry = match Registry::from_genesis(g) {
        Ok(r) => r,
        // A malformed genesis cannot be a rejection entry: there is no registry to check its
        // signature against, and a ledger must start with a valid genesis.
        Err(_) => return Outcome::Refused(Refusal::NoGenesis),
    };
    if let Err(r) = verify_submission(&registry, sub, at, SignatureCheck::Verify) {
        return Outcome::Refused(r);
    }
    let head = state.head();
    let (entry, bytes) = EntryBody {
        index: head.size,
        accepted_at: at,
        record: Record::Accepted(sub.clone()),
        prev: head.hash,
    }
    .seal_encoded();
    let changes = Changes {
        registry: Some(registry),
        submission: Some(SubmissionRecord {
            id: sub.payload.id.clone(),
            index: 0,
            digest: sub.digest(),
        }),
        ..Changes::default()
    };
    Outcome::Appended(Box::new(Applied {
        entry,
        bytes,
        changes,
    }))
}

fn decide_policy(
    registry: &Registry,
    pu: &crate::payload::PolicyUpdate,
    signer_org: &crate::ids::OrgId,
    at: Timestamp,
) -> Result<Registry, (Rule, String)> {
    let refuse = |m: String| (Rule::PolicyChangeRefused, m);
    if !registry.policy.approvals.approvers.contains(signer_org) {
        return Err(refuse(format!("{signer_org} is not an approver")));
    }
    if pu.policy.version <= registry.policy.version {
        return Err(refuse(format!(
            "version {} does not raise the current {}",
            pu.policy.version, registry.policy.version
        )));
    }
    registry
        .check_approvals(&pu.policy, &pu.approvals, at)
        .map_err(|e| refuse(e.to_string()))?;
    if let Some(a) = pu
        .policy
        .approvals
        .approvers
        .iter()
        .find(|a| registry.organisation(a).is_none())
    {
        return Err(refuse(format!("approver {a} is not registered")));
    }
    let mut next = registry.clone();
    next.policy = pu.policy.clone();
    Ok(next)
}

/// A checkpoint entry must name a head this ledger had (docs/FORMAT.md §Apply): the origin
/// `caseledger/<cluster name>`, a size between 1 and the head, the root and chain head of this ledger
/// at that size; every signature line of a node whose key is valid at the entry's time must
/// verify, and a majority of those nodes must have signed
/// ([`crate::checkpoint::required_cosigners`], [`Registry::cosigners_at`]).
fn decide_checkpoint<S: LedgerState>(
    state: &S,
    registry: &Registry,
    cp: &crate::payload::CheckpointRecord,
    at: Timestamp,
) -> Result<Result<(), (Rule, String)>, S::Error> {
    let bad = |m: String| Ok(Err((Rule::CheckpointInvalid, m)));
    let note = match CosignedCheckpoint::parse_note(&cp.note) {
        Ok(n) => n,
        Err(e) => return bad(format!("unparseable note: {e}")),
    };
    let claimed = note.checkpoint();
    let size = claimed.tree_size();
    if size == 0 || size > state.head().size {
        return bad(format!("tree size {size} is not a head of this ledger"));
    }
    let origin = crate::checkpoint::origin_for(&registry.cluster_name);
    if claimed.origin() != origin {
        return bad(format!(
            "origin {} is not this ledger's {origin}",
            claimed.origin()
        ));
    }
    if state.merkle_root(size)? != *claimed.root() {
        return bad(format!("root at size {size} differs from this ledger's"));
    }
    match state.entry_hash(size - 1)? {
        Some(h) if h.as_bytes() == claimed.chain_head() => {}
        _ => {
            return bad(format!(
                "chain head at size {size} differs from this ledger's entry {}",
                size - 1
            ))
        }
    }
    let cosigners = registry.cosigners_at(at);
    let keys: Vec<_> = cosigners
        .iter()
        .filter_map(|(id, key)| {
            key.to_verifying_key()
                .ok()
                .map(|k| (crate::checkpoint::node_key_name(*id), k))
        })
        .collect();
    let quorum = crate::checkpoint::required_cosigners(cosigners.len());
    match crate::checkpoint::verify_quorum(&note, &keys, quorum) {
        Ok(_) => Ok(Ok(())),
        Err(e) => bad(format!("cosignatures: {e}")),
    }
}
