//! The API's wire vocabulary, declared once for the node that answers and the client that
//! reads: content types, the response headers a node sets, the stable error codes
//! ([`ErrorCode`]) and the JSON shapes of the answers the client reads (docs/FORMAT.md's API
//! parts and docs/API.md). Plain serde data: no IO, no HTTP types.
//!
//! The node keeps its own response types in `node/src/api` (they carry utoipa's schema
//! derives, which the core does not depend on); each shape here mirrors one of them field for
//! field, and the node's tests check that what it serializes deserializes into the type here.
//! Where an answer carries the core's own records (a case, its handoffs, its alerts), the
//! shape here carries the same core types. [`RunAddresses`] is not an answer but the file a
//! running node writes for its operator. The request headers are [`crate::api_request`]'s.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::clock::Alert;
use crate::domain::Stage;
use crate::entry::Rule;
use crate::ids::OrgId;
use crate::payload::{NodeAddr, Signer};
use crate::records::{CaseRecord, HandoffRecord};
use crate::time::Timestamp;

pub use crate::api_request::NODE_HEADER;

/// Content type of canonical bytes: a submission's `encode(submission)`, and the framed
/// entries of `GET /v1/entries` asked with this `Accept` (docs/FORMAT.md §Framing).
pub const CANONICAL: &str = "application/vnd.caseledger.canonical";
/// Content type the node also takes for canonical bytes.
pub const OCTET_STREAM: &str = "application/octet-stream";
/// Content type of every JSON answer, errors included.
pub const JSON: &str = "application/json";
/// Response header: the ledger size this node had applied when it answered a read.
pub const APPLIED_HEADER: &str = "x-caseledger-applied";
/// Response header of a 503 `NOT_LEADER`: the API address (`host:port`) of the leader the
/// answering node knows, where it knows one.
pub const LEADER_HEADER: &str = "x-caseledger-leader";
/// Request header a node sets on a submission it forwards to the leader: a node that does not
/// lead answers it 503 `NOT_LEADER` instead of forwarding it again.
pub const FORWARDED_HEADER: &str = "x-caseledger-forwarded";

/// A stable machine code of an error answer (the `code` of [`ErrorBody`]). Serialized as its
/// `SCREAMING_SNAKE_CASE` text ([`ErrorCode::as_str`]); a 409 of a recorded rejection carries
/// the broken [`Rule`]'s code; a code this build does not know is kept as [`ErrorCode::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 400: the body, a header or a parameter is malformed.
    Malformed,
    /// 404: no such route or resource.
    NotFound,
    /// 405.
    MethodNotAllowed,
    /// 413: the body is too large (or a policy limit, named in the message).
    TooLarge,
    /// 400: a page larger than the node's limit was asked for.
    PageTooLarge,
    /// 400: an index or tree size outside the tree.
    OutOfRange,
    /// 400: an activity window that is empty or too wide.
    BadWindow,
    /// 401: the route needs a signed request and none was given.
    Unauthenticated,
    /// 401: unknown organisation, key or node, or a bad signature (one answer for all).
    AuthenticationFailed,
    /// 401: the request headers are present but malformed.
    BadCredentials,
    /// 401: the request's time is outside the node's clock skew window.
    StaleRequest,
    /// 401: the nonce was already used.
    ReplayedRequest,
    /// 421: the request was signed for another node.
    MisdirectedRequest,
    /// 408: the body was not read within the read timeout.
    RequestTimeout,
    /// 403: the caller may not do this.
    Forbidden,
    /// 403: the signing key is revoked.
    KeyRevoked,
    /// 403: the signing key has expired.
    KeyExpired,
    /// 403: the signing key is not valid yet.
    KeyNotYetValid,
    /// 409: the submission id was used by another submission.
    IdReused,
    /// 429: the organisation's rate is spent (`Retry-After`).
    RateLimited,
    /// 503: no concurrency permit free (`Retry-After`).
    Overloaded,
    /// 503: no quorum, not ready, no genesis, or stopping.
    Unavailable,
    /// 503: this node does not lead (a read-index asked of it, or a submission it could not
    /// hand to a leader); `x-caseledger-leader` names the leader's API address where known.
    NotLeader,
    /// 503: the node's self-check found the range asked for damaged.
    Damaged,
    /// Cosigning (peer port): the member has not applied that far.
    NotYet,
    /// Cosigning (peer port): the member holds another root at that size.
    RootMismatch,
    /// 500: see the node's log.
    Internal,
    /// 409: a validly signed step broke this rule and was recorded as a rejection.
    Rejected(Rule),
    /// A code this build does not know (a newer node's).
    Other(String),
}

/// Every code but [`ErrorCode::Rejected`] and [`ErrorCode::Other`], with its text.
const CODES: [(ErrorCode, &str); 27] = [
    (ErrorCode::Malformed, "MALFORMED"),
    (ErrorCode::NotFound, "NOT_FOUND"),
    (ErrorCode::MethodNotAllowed, "METHOD_NOT_ALLOWED"),
    (ErrorCode::TooLarge, "TOO_LARGE"),
    (ErrorCode::PageTooLarge, "PAGE_TOO_LARGE"),
    (ErrorCode::OutOfRange, "OUT_OF_RANGE"),
    (ErrorCode::BadWindow, "BAD_WINDOW"),
    (ErrorCode::Unauthenticated, "UNAUTHENTICATED"),
    (ErrorCode::AuthenticationFailed, "AUTHENTICATION_FAILED"),
    (ErrorCode::BadCredentials, "BAD_CREDENTIALS"),
    (ErrorCode::StaleRequest, "STALE_REQUEST"),
    (ErrorCode::ReplayedRequest, "REPLAYED_REQUEST"),
    (ErrorCode::MisdirectedRequest, "MISDIRECTED_REQUEST"),
    (ErrorCode::RequestTimeout, "REQUEST_TIMEOUT"),
    (ErrorCode::Forbidden, "FORBIDDEN"),
    (ErrorCode::KeyRevoked, "KEY_REVOKED"),
    (ErrorCode::KeyExpired, "KEY_EXPIRED"),
    (ErrorCode::KeyNotYetValid, "KEY_NOT_YET_VALID"),
    (ErrorCode::IdReused, "ID_REUSED"),
    (ErrorCode::RateLimited, "RATE_LIMITED"),
    (ErrorCode::Overloaded, "OVERLOADED"),
    (ErrorCode::Unavailable, "UNAVAILABLE"),
    (ErrorCode::NotLeader, "NOT_LEADER"),
    (ErrorCode::Damaged, "DAMAGED"),
    (ErrorCode::NotYet, "NOT_YET"),
    (ErrorCode::RootMismatch, "ROOT_MISMATCH"),
    (ErrorCode::Internal, "INTERNAL"),
];

impl ErrorCode {
    /// The code's text as answered, e.g. `AUTHENTICATION_FAILED`, or a rule's code.
    pub fn as_str(&self) -> std::borrow::Cow<'static, str> {
        match self {
            ErrorCode::Rejected(rule) => rule.code().into(),
            ErrorCode::Other(s) => s.clone().into(),
            known => CODES
                .iter()
                .find(|(c, _)| c == known)
                .map(|(_, s)| (*s).into())
                .expect("CODES lists every variant but Rejected and Other"),
        }
    }

    /// The code answered as `text`: a known API code, else a rule's code, else
    /// [`ErrorCode::Other`].
    pub fn parse(text: &str) -> Self {
        if let Some((c, _)) = CODES.iter().find(|(_, s)| *s == text) {
            return c.clone();
        }
        let de = serde::de::value::StrDeserializer::<serde::de::value::Error>::new(text);
        match Rule::deserialize(de) {
            Ok(rule) => ErrorCode::Rejected(rule),
            Err(_) => ErrorCode::Other(text.to_owned()),
        }
    }
}

impl From<Rule> for ErrorCode {
    fn from(rule: Rule) -> Self {
        ErrorCode::Rejected(rule)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(ErrorCode::parse(&text))
    }
}

/// The JSON body of every error answer (the node's `api::error::ErrorBody`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine code.
    pub code: ErrorCode,
    /// For people.
    pub message: String,
    /// The ledger index of a recorded rejection entry, if the error recorded one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// The receipt of that rejection entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Box<ReceiptAnswer>>,
}

/// What a submission gets back (the node's `service::receipts::Receipt`): where the entry
/// is, its bytes, and a proof that it is in the tree a signed tree head commits to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptAnswer {
    /// The ledger index of the entry.
    pub index: u64,
    /// Its chain hash, hex.
    pub entry_hash: String,
    /// Whether this answers a resubmission of an already recorded submission.
    #[serde(default)]
    pub duplicate: bool,
    /// The entry's canonical bytes (docs/FORMAT.md §Entry), hex.
    pub entry_hex: String,
    /// The size of the tree the proof is against.
    pub tree_size: u64,
    /// The Merkle root at `tree_size`, hex.
    pub root: String,
    /// The inclusion proof, leaf side first, hex.
    pub inclusion: Vec<String>,
    /// The signed tree head (a C2SP checkpoint note).
    pub tree_head: String,
    /// The whole receipt as C2SP tlog-proof text (docs/FORMAT.md §Receipt).
    pub proof: String,
}

/// What one submission of a batch came to (`POST /v1/entries/batch`, docs/FORMAT.md §Batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BatchOutcome {
    /// Appended now as an accepted entry (the single route's 201).
    Appended,
    /// Recorded before: the first entry's index (the single route's 200). `code` names the
    /// rule if that entry is a rejection.
    Duplicate,
    /// Validly signed, broke a workflow rule: appended now as a rejection entry (the single
    /// route's 409 with an index); `code` is the rule's.
    Rejected,
    /// Refused and not recorded (a bad signature, an unknown or revoked key, a policy limit,
    /// a reused id, the signer's rate): `code` is the single route's.
    Refused,
}

/// One submission's result in a [`ReceiptSet`] (the node's `api::batch::BatchItem`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchItem {
    /// Its position in the batch, from 0.
    pub position: u64,
    /// What it came to.
    pub outcome: BatchOutcome,
    /// The stable code: the single route's error code of a refusal, the rule of a rejection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
    /// For people: why it was refused, or the rejection's detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The ledger index of its entry (every outcome but `REFUSED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// Its entry's chain hash, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_hash: Option<String>,
    /// Its entry's canonical bytes (docs/FORMAT.md §Entry), hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_hex: Option<String>,
    /// `PATH(index, D[tree_size])` against the set's tree head, leaf side first, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion: Option<Vec<String>>,
}

/// The answer to a batch (the node's `api::batch::ReceiptSet`): one signed tree head for the
/// whole batch and, per submission in batch order, its outcome and, for each recorded one,
/// its entry and inclusion path against that tree head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptSet {
    /// The signed tree head (a C2SP checkpoint note, docs/FORMAT.md §Receipt), covering every
    /// index of `results`.
    pub tree_head: String,
    /// Its tree size.
    pub tree_size: u64,
    /// Its Merkle root, hex.
    pub root: String,
    /// One per submission, in batch order.
    pub results: Vec<BatchItem>,
}

/// Why a [`ReceiptSet`] item is no receipt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptSetError {
    /// The item records no entry (`REFUSED`).
    #[error("item {0} records no entry")]
    NotRecorded(u64),
    /// A field is missing or not hex of the right length.
    #[error("item {position}: {what}")]
    Malformed {
        /// The item's position.
        position: u64,
        /// What is wrong.
        what: &'static str,
    },
    /// The tree head does not parse.
    #[error("tree head: {0}")]
    TreeHead(#[from] crate::checkpoint::CheckpointError),
}

impl ReceiptSet {
    /// The receipt (docs/FORMAT.md §Receipt) of a recorded item: its entry, index and
    /// inclusion path with the set's tree head, for `receipt::verify` (and `to_text` gives the
    /// tlog-proof a single submission's answer carries).
    pub fn receipt(&self, item: &BatchItem) -> Result<crate::receipt::Receipt, ReceiptSetError> {
        let position = item.position;
        let malformed = |what| ReceiptSetError::Malformed { position, what };
        let (Some(index), Some(entry_hex), Some(inclusion)) =
            (item.index, &item.entry_hex, &item.inclusion)
        else {
            return Err(ReceiptSetError::NotRecorded(position));
        };
        let entry_bytes = hex::decode(entry_hex).map_err(|_| malformed("entry_hex is not hex"))?;
        let proof = inclusion
            .iter()
            .map(|h| {
                let bytes: [u8; 32] = hex::decode(h)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or(malformed("an inclusion hash is not 32 bytes of hex"))?;
                Ok(crate::merkle::MerkleHash::from_bytes(bytes))
            })
            .collect::<Result<Vec<_>, ReceiptSetError>>()?;
        let note = crate::checkpoint::CosignedCheckpoint::parse_note(&self.tree_head)?;
        Ok(crate::receipt::Receipt {
            entry_bytes,
            index,
            proof,
            note,
        })
    }
}

/// `GET /v1/head` (the node's `api::ops::Head`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// Entries in the ledger (tree size).
    pub size: u64,
    /// Hash of the last entry, hex.
    pub head_hash: String,
    /// Merkle root over all entries, hex.
    pub root: String,
    /// Ledger time of the last entry, Unix ms.
    pub time_ms: u64,
    /// The answering node's id.
    pub node_id: u64,
}

/// An entry of `GET /v1/entries/{index}` and of a page (the node's `api::query::EntryView`),
/// without its decoded form: a reader decodes `canonical_hex` itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryView {
    /// Ledger index.
    pub index: u64,
    /// Chain hash, hex.
    pub hash: String,
    /// Canonical bytes, hex (what the hash and proofs cover).
    pub canonical_hex: String,
}

/// `GET /v1/entries` as JSON (the node's `api::query::EntryPage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryPage {
    /// The entries, in index order.
    pub entries: Vec<EntryView>,
    /// The index to ask for next, if there may be more.
    pub next: Option<u64>,
    /// The ledger size when this page was read.
    pub size: u64,
}

/// `GET /v1/proofs/inclusion` (the node's `api::proofs::InclusionProof`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// The entry's index.
    pub index: u64,
    /// The tree size.
    pub tree_size: u64,
    /// The root at `tree_size`, hex.
    pub root: String,
    /// `PATH(index, D[tree_size])`, leaf side first, hex.
    pub proof: Vec<String>,
}

/// `GET /v1/proofs/consistency` (the node's `api::proofs::ConsistencyProof`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The older tree size.
    pub first: u64,
    /// The newer tree size.
    pub second: u64,
    /// The root at `first`, hex.
    pub first_root: String,
    /// The root at `second`, hex.
    pub second_root: String,
    /// `PROOF(first, D[second])`, hex.
    pub proof: Vec<String>,
}

/// `GET /v1/supervision/overdue` (the node's `api::supervision::Overdue`): the core's
/// [`Alert`]s of the cases examined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overdue {
    /// The "now" used, Unix ms.
    pub now: u64,
    /// Cases examined.
    pub cases_examined: u64,
    /// Overdue, due-soon and missing custody transfer alerts.
    pub alerts: Vec<Alert>,
    /// The case id to continue after, if more cases may follow.
    pub next: Option<String>,
}

/// One row of a case's timeline (the node's `api::cases::TimelineItem`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineItem {
    /// Ledger index.
    pub index: u64,
    /// The entry's kind (`handoff`, `receipt`, ...).
    pub kind: String,
    /// Who signed it: the payload's signer.
    pub signer: Signer,
    /// The submission id.
    pub id: String,
    /// Ledger time, Unix ms.
    pub time_ms: u64,
    /// The rule code, if the entry records a rejection.
    pub rejected: Option<String>,
}

/// `GET /v1/cases/{case_id}` (the node's `api::cases::CaseView`): a case with its timeline,
/// handoffs and alerts at the node's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseView {
    /// The case record, stage history included.
    pub case: CaseRecord,
    /// Current stage.
    pub stage: Stage,
    /// Current holder.
    pub holder: OrgId,
    /// Every entry of the case, in ledger order.
    pub timeline: Vec<TimelineItem>,
    /// Every handoff of the case, in ledger order.
    pub handoffs: Vec<HandoffView>,
    /// The handoffs whose loop is open.
    pub open_handoffs: Vec<HandoffView>,
    /// Alerts at the node's clock.
    pub alerts: Vec<Alert>,
    /// Whether the timeline was cut at the node's limit.
    pub truncated: bool,
}

/// A handoff of a [`CaseView`] (the node's `api::cases::handoff_json`): its record, with its
/// loop's state and its clock's due time beside the record's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoffView {
    /// The handoff record.
    #[serde(flatten)]
    pub record: HandoffRecord,
    /// Whether its loop is open.
    pub open: bool,
    /// Whether its loop is closed.
    pub closed: bool,
    /// Its clock's due time at the node's clock, if it has a clock.
    pub due_at: Option<Timestamp>,
}

/// `GET /admin/status` (the node's `node::NodeStatus`): this node's view of the cluster and
/// of its ledger. The cosign rounds' report (`cosigning`), free-form for people, is not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// This node's id.
    pub id: u64,
    /// Its Raft role (`Leader`, `Follower`, `Candidate`, `Learner`, `Shutdown`), or
    /// `LeaderWithoutQuorum`: a leader no quorum acknowledged for an election timeout, which
    /// does not serve.
    pub state: String,
    /// The current term.
    pub term: u64,
    /// The leader it knows of (never itself while it leads without a quorum).
    pub leader: Option<u64>,
    /// Milliseconds since a quorum last acknowledged it as leader (leaders only).
    #[serde(default)]
    pub quorum_ack_ms: Option<u64>,
    /// The last Raft log index it holds.
    pub last_log_index: Option<u64>,
    /// The last Raft log index it applied.
    pub last_applied: Option<u64>,
    /// The voters of the Raft membership in effect.
    pub voters: Vec<u64>,
    /// Its learners.
    pub learners: Vec<u64>,
    /// Every member's addresses, by node id.
    pub nodes: BTreeMap<u64, NodeAddr>,
    /// Entries in its ledger.
    pub ledger_size: u64,
    /// Hash of its last entry, hex.
    pub head_hash: String,
    /// What the self-check of its stored ledger found.
    pub selfcheck: SelfCheckReport,
}

/// The self-check's part of a [`NodeStatus`] (the node's `selfcheck::SelfCheckReport`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfCheckReport {
    /// Whether the pass at startup finished.
    pub startup_done: bool,
    /// The first damage found, if any.
    pub damage: Option<Damage>,
    /// Entries verified by the last completed pass (or the current one, if further).
    pub verified_entries: u64,
    /// Passes completed.
    pub passes: u64,
}

/// Damage the self-check found (the node's `selfcheck::Damage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Damage {
    /// The first bad ledger index.
    pub index: u64,
    /// What is wrong, naming the row or node.
    pub what: String,
}

/// `addresses.json` in a node's data directory, written by `caseledger-node run` once it
/// listens: where this run listens, and the process that wrote it (a restarted node's data
/// directory holds the last run's until the new run writes its own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunAddresses {
    /// `host:port` of its API.
    pub api: String,
    /// The process id of the run.
    pub pid: u32,
    /// `host:port` of its peer port.
    pub raft: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(code: ErrorCode, text: &str) {
        assert_eq!(
            serde_json::to_string(&code).expect("serializes"),
            format!("\"{text}\""),
            "{code:?}"
        );
        let back: ErrorCode = serde_json::from_str(&format!("\"{text}\"")).expect("parses");
        assert_eq!(back, code, "{text}");
    }

    #[test]
    fn every_error_code_serializes_to_its_documented_string() {
        use ErrorCode as C;
        for (code, text) in [
            (C::Malformed, "MALFORMED"),
            (C::NotFound, "NOT_FOUND"),
            (C::MethodNotAllowed, "METHOD_NOT_ALLOWED"),
            (C::TooLarge, "TOO_LARGE"),
            (C::PageTooLarge, "PAGE_TOO_LARGE"),
            (C::OutOfRange, "OUT_OF_RANGE"),
            (C::BadWindow, "BAD_WINDOW"),
            (C::Unauthenticated, "UNAUTHENTICATED"),
            (C::AuthenticationFailed, "AUTHENTICATION_FAILED"),
            (C::BadCredentials, "BAD_CREDENTIALS"),
            (C::StaleRequest, "STALE_REQUEST"),
            (C::ReplayedRequest, "REPLAYED_REQUEST"),
            (C::MisdirectedRequest, "MISDIRECTED_REQUEST"),
            (C::RequestTimeout, "REQUEST_TIMEOUT"),
            (C::Forbidden, "FORBIDDEN"),
            (C::KeyRevoked, "KEY_REVOKED"),
            (C::KeyExpired, "KEY_EXPIRED"),
            (C::KeyNotYetValid, "KEY_NOT_YET_VALID"),
            (C::IdReused, "ID_REUSED"),
            (C::RateLimited, "RATE_LIMITED"),
            (C::Overloaded, "OVERLOADED"),
            (C::Unavailable, "UNAVAILABLE"),
            (C::NotLeader, "NOT_LEADER"),
            (C::Damaged, "DAMAGED"),
            (C::NotYet, "NOT_YET"),
            (C::RootMismatch, "ROOT_MISMATCH"),
            (C::Internal, "INTERNAL"),
            (C::Rejected(Rule::UnknownCase), "UNKNOWN_CASE"),
            (C::Rejected(Rule::LimitExceeded), "LIMIT_EXCEEDED"),
            (C::Other("FROM_A_NEWER_NODE".into()), "FROM_A_NEWER_NODE"),
        ] {
            check(code, text);
        }
    }

    #[test]
    fn no_rule_code_is_also_an_api_code() {
        for (_, text) in CODES {
            let de = serde::de::value::StrDeserializer::<serde::de::value::Error>::new(text);
            assert!(Rule::deserialize(de).is_err(), "{text} is also a rule");
        }
    }

    #[test]
    fn an_error_body_without_index_or_receipt_reads_and_writes_as_before() {
        let text = r#"{"code":"DAMAGED","message":"entry 4 is damaged"}"#;
        let body: ErrorBody = serde_json::from_str(text).expect("parses");
        assert_eq!(body.code, ErrorCode::Damaged);
        assert_eq!(serde_json::to_string(&body).expect("serializes"), text);
    }

    #[test]
    fn run_addresses_write_the_keys_in_the_order_the_file_always_had() {
        let a = RunAddresses {
            api: "127.0.0.1:8000".into(),
            pid: 42,
            raft: "127.0.0.1:7000".into(),
        };
        let text = r#"{"api":"127.0.0.1:8000","pid":42,"raft":"127.0.0.1:7000"}"#;
        assert_eq!(serde_json::to_string(&a).expect("serializes"), text);
        assert_eq!(
            serde_json::from_str::<RunAddresses>(text).expect("parses"),
            a
        );
    }
}
