//! What a department signs: a payload naming the signer, a client-chosen id, the signer's
//! claimed time and one action (docs/FORMAT.md §Payload). A [`Submission`] is a payload with
//! its signature.

use crate::crypto::{self, context, Digest, PublicKey, Signature, VerifyError};
use crate::domain::{CaseType, DocumentType, HandoffKind, Level, MeasureKind, OrgKind, Procedure};
use crate::encoding::encode;
use crate::ids::{CaseId, HandoffId, KeyId, NodeId, OrgId, PersonId};
use crate::policy::{Period, Policy};
use crate::time::Timestamp;
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

/// Who signs a payload: a key of an organisation, or a node's key (checkpoints).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signer {
    /// An organisation's key, by key id.
    Org(KeyRef),
    /// A node's signing key as pinned in the registry.
    Node(NodeId),
}

/// A key of an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KeyRef {
    /// The organisation.
    pub org: OrgId,
    /// Its key.
    pub key_id: KeyId,
}

/// The signed content of every submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    /// Who signs.
    pub signer: Signer,
    /// Client-chosen id, unique across the ledger: resubmitting the same id with the same
    /// bytes returns the first receipt; with other bytes it is refused.
    pub id: HandoffId,
    /// When the signer says it took the step (informative; the ledger's time is the leader's).
    pub claimed_at: Timestamp,
    /// The step.
    pub action: Action,
}

impl Payload {
    /// The organisation that signs, if an organisation signs.
    pub fn signer_org(&self) -> Option<&OrgId> {
        match &self.signer {
            Signer::Org(k) => Some(&k.org),
            Signer::Node(_) => None,
        }
    }

    /// The case this payload concerns, if any.
    pub fn case_id(&self) -> Option<&CaseId> {
        match &self.action {
            Action::CaseFiling(a) => Some(&a.case_id),
            Action::Handoff(a) => Some(&a.case_id),
            Action::CoerciveMeasure(a) => Some(&a.case_id),
            Action::ClockAdjustment(a) => Some(&a.case_id),
            Action::CaseClosure(a) => Some(&a.case_id),
            Action::Receipt(_)
            | Action::Acceptance(_)
            | Action::ReturnForCompletion(_)
            | Action::Genesis(_)
            | Action::KeyLifecycle(_)
            | Action::Policy(_)
            | Action::Checkpoint(_)
            | Action::Membership(_) => None,
        }
    }

    /// Signs this payload with an organisation's or node's key.
    pub fn sign(self, key: &SigningKey) -> Submission {
        let signature = crypto::sign(key, context::SUBMISSION, &encode(&self));
        Submission {
            payload: self,
            signature,
        }
    }
}

/// A signed payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    /// What was signed.
    pub payload: Payload,
    /// Ed25519 over `"caseledger/v1/submission\0" || encode(payload)`.
    pub signature: Signature,
}

impl Submission {
    /// Verifies the signature with a given public key (the registry chooses the key).
    pub fn verify_with(&self, key: &PublicKey) -> Result<(), VerifyError> {
        crypto::verify(
            key,
            context::SUBMISSION,
            &encode(&self.payload),
            &self.signature,
        )
    }

    /// SHA-256 of the canonical submission bytes: what idempotency compares.
    pub fn digest(&self) -> Digest {
        Digest::sha256(&[&encode(self)])
    }
}

/// One step, by kind (docs/FORMAT.md §Actions). Variants are only ever appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The first entry: organisations, keys, nodes, policy.
    Genesis(Genesis),
    /// 立案: a PSB opens a case.
    CaseFiling(CaseFiling),
    /// A handoff from one department to another.
    Handoff(Handoff),
    /// 签收: the receiver signs for a handoff.
    Receipt(Receipt),
    /// 受理: the receiver accepts a handoff.
    Acceptance(Acceptance),
    /// 退回补正: the receiver returns a handoff for completion.
    ReturnForCompletion(ReturnForCompletion),
    /// A coercive measure on a person (clocks start from them).
    CoerciveMeasure(CoerciveMeasure),
    /// Extension, pause or restart of a clock.
    ClockAdjustment(ClockAdjustment),
    /// 结案: the holder closes a case at the end of execution.
    CaseClosure(CaseClosure),
    /// Register an organisation or node, add, rotate or revoke a key.
    KeyLifecycle(KeyLifecycle),
    /// Replace the policy (rule tables, limits, penalties, calendar).
    Policy(PolicyUpdate),
    /// A checkpoint of the head cosigned by nodes.
    Checkpoint(CheckpointRecord),
    /// A change of the cluster's membership, with its approvals (docs/FORMAT.md §Membership).
    Membership(MembershipChange),
}

impl Action {
    /// A short stable name of the action's kind (for metrics and indexes).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Action::Genesis(_) => "genesis",
            Action::CaseFiling(_) => "case_filing",
            Action::Handoff(_) => "handoff",
            Action::Receipt(_) => "receipt",
            Action::Acceptance(_) => "acceptance",
            Action::ReturnForCompletion(_) => "return_for_completion",
            Action::CoerciveMeasure(_) => "coercive_measure",
            Action::ClockAdjustment(_) => "clock_adjustment",
            Action::CaseClosure(_) => "case_closure",
            Action::KeyLifecycle(_) => "key_lifecycle",
            Action::Policy(_) => "policy",
            Action::Checkpoint(_) => "checkpoint",
            Action::Membership(_) => "membership",
        }
    }
}

/// An organisation as declared in genesis or a registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationDecl {
    /// Its id.
    pub id: OrgId,
    /// Its name, e.g. "兰州市城关区公安分局".
    pub name: String,
    /// Its kind.
    pub kind: OrgKind,
    /// Its level.
    pub level: Level,
    /// Its parent organisation, if any.
    pub parent: Option<OrgId>,
    /// The city it serves (for supervision filters).
    pub city: String,
    /// Its keys.
    pub keys: Vec<KeyDecl>,
}

/// A public key and its validity window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDecl {
    /// The key's id within the organisation.
    pub key_id: KeyId,
    /// The key.
    pub public_key: PublicKey,
    /// First instant it may sign.
    pub valid_from: Timestamp,
    /// First instant it may no longer sign, if bounded.
    pub valid_until: Option<Timestamp>,
}

/// A node identity as pinned in genesis or a registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeDecl {
    /// Raft node id.
    pub node_id: NodeId,
    /// The department that runs it.
    pub org: OrgId,
    /// The key it signs checkpoints and tree heads with.
    pub signing_key: PublicKey,
    /// The public key its TLS certificate must carry (pinned), once mTLS is on.
    pub tls_key: Option<PublicKey>,
}

/// The first entry of a ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// A human name of the cluster, e.g. "gansu-pilot".
    pub cluster_name: String,
    /// The founding organisations.
    pub organisations: Vec<OrganisationDecl>,
    /// The founding nodes.
    pub nodes: Vec<NodeDecl>,
    /// The policy in force from the start.
    pub policy: Policy,
}

/// 立案: a case comes onto the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseFiling {
    /// The case.
    pub case_id: CaseId,
    /// Its type.
    pub case_type: CaseType,
    /// Its procedure.
    pub procedure: Procedure,
    /// Persons concerned, as opaque ids.
    pub persons: Vec<PersonId>,
    /// 认罪认罚.
    pub plea_leniency: bool,
    /// A bounded free-text note.
    pub note: String,
}

/// A document that travels with a handoff: metadata and digest, never the content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// Its type.
    pub doc_type: DocumentType,
    /// Its number, e.g. "兰城公诉〔2026〕123号".
    pub number: String,
    /// SHA-256 of the document file.
    pub digest: Digest,
    /// Page count.
    pub pages: u32,
}

/// A handoff of a case from one department to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    /// The case.
    pub case_id: CaseId,
    /// Its type (must match the case's).
    pub case_type: CaseType,
    /// Its procedure (a change converts the case's procedure).
    pub procedure: Procedure,
    /// What is handed over.
    pub kind: HandoffKind,
    /// The sending organisation (the signer).
    pub sender: OrgId,
    /// The receiving organisation.
    pub receiver: OrgId,
    /// Persons concerned, as opaque ids.
    pub persons: Vec<PersonId>,
    /// Whether a person concerned is in custody.
    pub custody: bool,
    /// Documents with their digests.
    pub documents: Vec<Document>,
    /// Digest of the electronic case file's manifest.
    pub efile_manifest: Digest,
    /// The handoff this one accompanies or answers (a custody transfer names the transfer it
    /// goes with; a resend after a return for completion names the returned handoff).
    pub related: Option<HandoffId>,
    /// A bounded free-text note.
    pub note: String,
}

/// 签收.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The handoff received.
    pub handoff: HandoffId,
}

/// 受理.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acceptance {
    /// The handoff accepted.
    pub handoff: HandoffId,
}

/// 退回补正.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnForCompletion {
    /// The handoff returned.
    pub handoff: HandoffId,
    /// Why.
    pub reason: String,
    /// Documents missing.
    pub missing: Vec<DocumentType>,
}

/// A coercive measure on a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoerciveMeasure {
    /// The case.
    pub case_id: CaseId,
    /// The person.
    pub person: PersonId,
    /// The measure.
    pub measure: MeasureKind,
    /// When it took effect (clocks start from here).
    pub effective_at: Timestamp,
}

/// Which clock an adjustment targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockRef {
    /// The response clock of a handoff.
    Handoff(HandoffId),
    /// The clock of a measure on a person.
    Measure {
        /// The person.
        person: PersonId,
        /// The measure.
        measure: MeasureKind,
    },
}

/// Why a clock restarts (DOMAIN.md "Clocks").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RestartReason {
    /// Change of jurisdiction.
    JurisdictionChange,
    /// Conversion out of expedited procedure.
    ProcedureConversion,
    /// Discovery of another crime.
    AnotherCrime,
    /// Resume after a pause.
    Resume,
}

/// What to do to a clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockAction {
    /// Extend the due time, approved by a named organisation.
    Extend {
        /// By how much.
        period: Period,
        /// The approving organisation.
        approved_by: OrgId,
    },
    /// Stop the clock (e.g. psychiatric evaluation).
    Pause {
        /// Why.
        reason: String,
    },
    /// Resume a paused clock, or restart it in full.
    Restart {
        /// Why.
        reason: RestartReason,
    },
    /// An extension, pause or full restart (`change`, never itself `Approved`) with the
    /// countersignature of the organisation that approves it (docs/FORMAT.md §Actions,
    /// "Clock approvals"): signed over [`ClockApprovalTerms`], which bind it to this
    /// adjustment's payload id, case, clock and change.
    Approved {
        /// The change approved.
        change: Box<ClockAction>,
        /// The approver's signature over the terms.
        approval: Approval,
    },
}

/// What an approver of a clock change signs (with the `CLOCK_APPROVAL` context): the
/// adjustment's own payload id (unique on the ledger, so an approval counts once), the case,
/// the clock and the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockApprovalTerms {
    /// The payload id of the clock adjustment that carries the approval.
    pub adjustment: HandoffId,
    /// The case.
    pub case_id: CaseId,
    /// The clock.
    pub clock: ClockRef,
    /// The change approved (an `Extend`, `Pause` or `Restart`).
    pub change: ClockAction,
}

/// Extension, pause or restart of a clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockAdjustment {
    /// The case.
    pub case_id: CaseId,
    /// The clock.
    pub clock: ClockRef,
    /// What to do.
    pub action: ClockAction,
}

/// 结案.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseClosure {
    /// The case.
    pub case_id: CaseId,
    /// Why.
    pub reason: String,
}

/// A change to the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyOp {
    /// A new organisation joins; the payload is signed by one of its own keys.
    RegisterOrganisation(OrganisationDecl),
    /// A further key for an organisation.
    AddKey {
        /// The organisation.
        org: OrgId,
        /// The key.
        key: KeyDecl,
    },
    /// Replace a key: the old one stops signing when the new one is recorded.
    RotateKey {
        /// The organisation.
        org: OrgId,
        /// The key replaced.
        old: KeyId,
        /// The new key.
        new: KeyDecl,
    },
    /// Revoke a key from the entry's time on; what it signed before still verifies.
    RevokeKey {
        /// The organisation.
        org: OrgId,
        /// The key revoked.
        key_id: KeyId,
        /// Why.
        reason: String,
    },
    /// A new node identity.
    RegisterNode(NodeDecl),
    /// Replace a node's keys: the old ones stop signing and stop being pinned when this is
    /// recorded. Signed by the node's organisation; a key the node ever had is refused.
    RotateNodeKey {
        /// The node.
        node_id: NodeId,
        /// Its new signing key.
        signing_key: PublicKey,
        /// Its new TLS key, if not the signing key.
        tls_key: Option<PublicKey>,
    },
    /// Revoke a node's key from the entry's time on: the node leaves the cluster's approved
    /// membership and is refused on the peer port; what it signed before still verifies.
    RevokeNodeKey {
        /// The node.
        node_id: NodeId,
        /// Why.
        reason: String,
    },
}

/// An approver's signature over a governed change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// The approving key.
    pub key: KeyRef,
    /// Ed25519 over `"caseledger/v1/approval\0" || encode(change)`.
    pub signature: Signature,
}

impl Approval {
    /// Signs an approval of a governed change (a [`KeyOp`] or a [`Policy`]).
    pub fn sign<T: Serialize>(key: KeyRef, signing_key: &SigningKey, change: &T) -> Self {
        Self {
            key,
            signature: crypto::sign(signing_key, context::APPROVAL, &encode(change)),
        }
    }

    /// Signs an approval of a clock change (its own context, so that no approval of another
    /// kind of change can count for a clock, or the reverse).
    pub fn sign_clock(key: KeyRef, signing_key: &SigningKey, terms: &ClockApprovalTerms) -> Self {
        Self {
            key,
            signature: crypto::sign(signing_key, context::CLOCK_APPROVAL, &encode(terms)),
        }
    }

    /// Signs an approval of a membership change (its own context, so that no approval of a
    /// registry or policy change can ever count for a membership change, or the reverse).
    pub fn sign_membership(key: KeyRef, signing_key: &SigningKey, op: &MemberOp) -> Self {
        Self {
            key,
            signature: crypto::sign(signing_key, context::MEMBERSHIP_APPROVAL, &encode(op)),
        }
    }
}

/// A registry change with its approvals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyLifecycle {
    /// The change.
    pub op: KeyOp,
    /// k-of-n approvals, as the policy requires.
    pub approvals: Vec<Approval>,
}

/// A new policy with its approvals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyUpdate {
    /// The policy that replaces the current one (its version must be higher).
    pub policy: Policy,
    /// k-of-n approvals, as the current policy requires.
    pub approvals: Vec<Approval>,
}

/// A cosigned checkpoint, carried as its C2SP signed-note text (docs/FORMAT.md §Checkpoint).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointRecord {
    /// The note text: body, blank line, signature lines.
    pub note: String,
}

/// Where a node listens: operational data carried by membership changes, never by genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAddr {
    /// `host:port` of its peer port (Raft, catch-up, cosigning).
    pub raft_addr: String,
    /// `host:port` of its API.
    pub api_addr: String,
}

/// One change of the cluster's membership (docs/FORMAT.md §Membership).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberOp {
    /// A registered node with a key in force joins as a learner at these addresses.
    AddLearner {
        /// The node.
        node_id: NodeId,
        /// Where it listens.
        addr: NodeAddr,
    },
    /// A learner becomes a voter.
    Promote {
        /// The node.
        node_id: NodeId,
    },
    /// A voter becomes a learner.
    Demote {
        /// The node.
        node_id: NodeId,
    },
    /// A node leaves the cluster; its key in force is retired (it rejoins only with a new one).
    Remove {
        /// The node.
        node_id: NodeId,
    },
    /// A member's addresses change.
    SetAddress {
        /// The node.
        node_id: NodeId,
        /// Where it listens now.
        addr: NodeAddr,
    },
}

impl MemberOp {
    /// The node the change concerns.
    pub fn node_id(&self) -> NodeId {
        match self {
            MemberOp::AddLearner { node_id, .. }
            | MemberOp::Promote { node_id }
            | MemberOp::Demote { node_id }
            | MemberOp::Remove { node_id }
            | MemberOp::SetAddress { node_id, .. } => *node_id,
        }
    }
}

/// A membership change with its approvals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipChange {
    /// The change.
    pub op: MemberOp,
    /// k-of-n approvals over `encode(op)` with the membership-approval context, at least one
    /// from an approver other than the node's own organisation.
    pub approvals: Vec<Approval>,
}
