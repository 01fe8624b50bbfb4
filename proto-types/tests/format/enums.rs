//! Every enum that appears in hashed or signed bytes, variant by variant, in index order, so
//! that docs/FORMAT.md §Enums can be checked against the code.
//!
//! Each list is paired with an exhaustive `match` (no wildcard): appending a variant to one of
//! these enums stops this test from compiling until the variant is listed here, and then the
//! test fails until FORMAT.md's table has its row.

use super::samples::{action_samples, receipt_submission, sample_submission, vector_chain};
use proto_types::crypto::{HashAlg, SignatureAlg};
use proto_types::domain::{
    CaseType, DocumentType, HandoffKind, Level, MeasureKind, OrgKind, Procedure, Stage,
};
use proto_types::encoding::encode;
use proto_types::entry::Record;
use proto_types::payload::{
    ClockAction, ClockRef, KeyOp, MemberOp, NodeAddr, RestartReason, Signer,
};
use proto_types::policy::{ClockStart, MaxPenalty, Period};
use proto_types::{Action, Rule};

/// One enum: its name as FORMAT.md's heading spells it, and `(variant, encoding)` per variant.
pub struct EnumTable {
    pub name: &'static str,
    pub variants: Vec<(&'static str, Vec<u8>)>,
}

/// `enum_table!(Ty { A, B = value, .. })`: the variants of `Ty` in declaration order, each
/// encoded (a unit variant as itself, others from the value given), with an exhaustive match
/// so that a new variant is a compile error here.
macro_rules! enum_table {
    ($ty:ident { $($variant:ident $(= $value:expr)?),* $(,)? }) => {{
        #[allow(dead_code)]
        fn exhaustive(v: &$ty) {
            match v {
                $($ty::$variant { .. } => {})*
            }
        }
        EnumTable {
            name: stringify!($ty),
            variants: vec![$((stringify!($variant), encode(&enum_table!(@value $ty $variant $($value)?)))),*],
        }
    }};
    (@value $ty:ident $variant:ident) => { $ty::$variant };
    (@value $ty:ident $variant:ident $value:expr) => { $value };
}

fn action(name: &str) -> Action {
    let chain = vector_chain();
    action_samples(&chain)
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| s.payload.action)
        .expect("a sample of every action")
}

fn member_op(name: &str) -> MemberOp {
    match action(name) {
        Action::Membership(m) => m.op,
        other => panic!("{name} is not a membership change: {other:?}"),
    }
}

fn key_op(name: &str) -> KeyOp {
    match action(name) {
        Action::KeyLifecycle(kl) => kl.op,
        Action::Genesis(g) => KeyOp::RegisterOrganisation(g.organisations[0].clone()),
        other => panic!("{name} is not a key operation: {other:?}"),
    }
}

/// Every enum of the hashed and signed formats.
pub fn tables() -> Vec<EnumTable> {
    let chain = vector_chain();
    let accepted = chain[0].body.record.clone();
    let rejected = chain.last().expect("non-empty").body.record.clone();
    let add_key = match key_op("key_rotation") {
        KeyOp::RotateKey { org, new, .. } => KeyOp::AddKey { org, key: new },
        other => panic!("not a rotation: {other:?}"),
    };
    let ClockRef::Measure { person, .. } = (match action("clock_extend") {
        Action::ClockAdjustment(c) => c.clock,
        other => panic!("not a clock adjustment: {other:?}"),
    }) else {
        panic!("the extension sample targets a measure clock")
    };
    vec![
        enum_table!(HashAlg { Sha256 }),
        enum_table!(SignatureAlg { Ed25519 }),
        enum_table!(OrgKind {
            Psb,
            DetentionHouse,
            Procuratorate,
            Court,
            CommunityCorrections,
            LegalAid,
            Prison,
            Plc,
            Auditor,
        }),
        enum_table!(Level {
            County,
            Prefecture,
            Province
        }),
        enum_table!(CaseType {
            DangerousDriving, Theft, IntentionalInjury, TrafficAccident, PickingQuarrels, Fraud,
            Other = CaseType::Other("X".into()),
        }),
        enum_table!(Procedure {
            Ordinary,
            Summary,
            Expedited
        }),
        enum_table!(Stage {
            Filing,
            Investigation,
            ArrestReview,
            ProsecutionReview,
            SupplementaryInvestigation,
            FirstInstance,
            AppealWindow,
            SecondInstance,
            Effective,
            ExecutionCustodial,
            ExecutionCommunity,
            Closed,
            ClosedWithdrawn,
            ClosedNotProsecuted,
            ClosedAcquitted,
        }),
        enum_table!(HandoffKind {
            ArrestApprovalRequest, ArrestApprovalDecision, CustodyTransfer, DetentionExtensionRequest,
            ProsecutionTransfer, SupplementaryInvestigationReturn, SupplementaryInvestigationResubmit,
            NonProsecutionDecision, CaseWithdrawalNotice, PublicProsecution, TrialNotice,
            JudgmentService, Appeal, Protest, SecondInstanceTrial, RemandForRetrial,
            PreSentenceAssessment, LegalAidNotice, ExecutionDeliveryCustodial,
            ExecutionDeliveryCommunity, ExecutionReceipt, CommutationParoleProposal,
            ProbationParoleRevocation,
            Other = HandoffKind::Other("X".into()),
        }),
        enum_table!(MeasureKind {
            Detention,
            Arrest,
            Bail,
            ResidentialSurveillance,
            Release
        }),
        enum_table!(DocumentType {
            ArrestRequestForm, ArrestDecision, ProsecutionOpinion, Indictment,
            SentencingRecommendation, SupplementaryOutline, NonProsecutionDecision,
            WithdrawalDecision, Judgment, IndictmentCopy, ExecutionNotice, ClosingForm,
            CustodyCertificate, TrialNoticeForm, Evidence,
            Other = DocumentType::Other("X".into()),
        }),
        enum_table!(Signer {
            Org = receipt_submission(0).payload.signer,
            Node = Signer::Node(1),
        }),
        enum_table!(Action {
            Genesis = action("genesis"),
            CaseFiling = action("case_filing"),
            Handoff = sample_submission(0).payload.action,
            Receipt = receipt_submission(0).payload.action,
            Acceptance = action("acceptance"),
            ReturnForCompletion = action("return_for_completion"),
            CoerciveMeasure = action("coercive_measure"),
            ClockAdjustment = action("clock_extend"),
            CaseClosure = action("case_closure"),
            KeyLifecycle = action("key_rotation"),
            Policy = action("policy_update"),
            Checkpoint = action("checkpoint"),
            Membership = action("membership_add_learner"),
        }),
        enum_table!(MemberOp {
            AddLearner = member_op("membership_add_learner"),
            Promote = member_op("membership_promote"),
            Demote = MemberOp::Demote { node_id: 2 },
            Remove = MemberOp::Remove { node_id: 2 },
            SetAddress = MemberOp::SetAddress { node_id: 2, addr: NodeAddr { raft_addr: "n:1".into(), api_addr: "n:2".into() } },
        }),
        enum_table!(ClockRef {
            Handoff = ClockRef::Handoff("H-1".parse().expect("valid id")),
            Measure = ClockRef::Measure { person: person.clone(), measure: MeasureKind::Arrest },
        }),
        enum_table!(RestartReason {
            JurisdictionChange,
            ProcedureConversion,
            AnotherCrime,
            Resume
        }),
        enum_table!(ClockAction {
            Extend = ClockAction::Extend { period: Period::Days(1), approved_by: "O".parse().expect("valid id") },
            Pause = ClockAction::Pause { reason: String::new() },
            Restart = ClockAction::Restart { reason: RestartReason::Resume },
            Approved = match action("clock_extend_approved") {
                Action::ClockAdjustment(c) => c.action,
                other => panic!("not a clock adjustment: {other:?}"),
            },
        }),
        enum_table!(KeyOp {
            RegisterOrganisation = key_op("genesis"),
            AddKey = add_key,
            RotateKey = key_op("key_rotation"),
            RevokeKey = key_op("key_revocation"),
            RegisterNode = key_op("node_registration"),
            RotateNodeKey = key_op("node_key_rotation"),
            RevokeNodeKey = key_op("node_key_revocation"),
        }),
        enum_table!(Period { Days = Period::Days(1), Months = Period::Months(1), WorkingDays = Period::WorkingDays(1) }),
        enum_table!(ClockStart { Receipt, Sent }),
        enum_table!(MaxPenalty {
            CriminalDetention,
            FixedTermYears = MaxPenalty::FixedTermYears(3),
            Life,
            Death,
        }),
        enum_table!(Record { Accepted = accepted, Rejected = rejected }),
        enum_table!(Rule {
            GenesisMisplaced,
            UnknownHandoffKind,
            SignerMismatch,
            SenderNotAllowed,
            ReceiverNotAllowed,
            UnknownCase,
            CaseExists,
            CaseClosed,
            IllegalStageTransition,
            NotCaseHolder,
            CaseInTransit,
            SupplementaryReturnLimit,
            ArrestNotAllowed,
            UnknownHandoff,
            NotReceiver,
            ReceiptRequired,
            LoopAlreadyClosed,
            AcceptanceRequired,
            MissingDocuments,
            CustodyTransferMissing,
            CaseTypeMismatch,
            LimitExceeded,
            RegistryChangeRefused,
            PolicyChangeRefused,
            CheckpointInvalid,
            ClockAdjustmentRefused,
            InvalidPayload,
            MembershipChangeRefused,
            NotCaseParty,
            ClockApprovalRefused,
        }),
    ]
}

/// The `(index, variant)` rows of the table under the heading `#### \`name\`` in FORMAT.md.
pub fn documented_variants(format_md: &str, name: &str) -> Option<Vec<(u32, String)>> {
    let heading = format!("#### `{name}`");
    let start = format_md.lines().position(|l| l.trim_end() == heading)?;
    let rows = format_md
        .lines()
        .skip(start + 1)
        .take_while(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut cells = l.strip_prefix('|')?.split('|').map(str::trim);
            let index = cells.next()?.parse().ok()?;
            let variant = cells.next()?.trim_matches('`').to_owned();
            Some((index, variant))
        })
        .collect();
    Some(rows)
}
