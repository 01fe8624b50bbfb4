#!/usr/bin/env python3
"""An independent verifier of caseledger's format vectors.

Written from docs/FORMAT.md alone (section names below are its sections), with the Python
standard library and the `cryptography` package for Ed25519; it imports no project code.
It reads proto-types/tests/data/format-vectors.json and proto-types/tests/data/rfc6962.json
and checks entry hashes, chain links, submission and approval signatures, Merkle roots,
every inclusion and consistency proof (and its length), and the cosigned checkpoint; then it
checks that a flipped byte makes each of those checks fail. Over the `ledger` vector it
rebuilds the registry from the genesis, entry by entry (§Apply steps 2 and 4: keys valid at
each entry's time, self-signed registrations, rotations, approvals), checks the checkpoint
entry's quorum and origin, the refused submissions, the receipt and the receipt texts that
must not parse (§Receipt); and which public keys the registry accepts (§Crypto).

Usage: python3 tests/python/verify_vectors.py [workspace root]   (default: the current directory)
Exit codes: 0 every check passed; 1 a check failed; 2 could not run (a missing file or
package). The last line is "N passed, M failed".
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import sys
from pathlib import Path

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
except ImportError as exc:  # pragma: no cover - depends on the machine
    print(
        f"cannot run: the Python package 'cryptography' is missing ({exc}); scripts/prereqs.sh installs it",
        file=sys.stderr,
    )
    sys.exit(2)


# §Crypto: domain-separation contexts.
CTX_ENTRY = b"caseledger/v1/entry\0"
CTX_SUBMISSION = b"caseledger/v1/submission\0"
CTX_APPROVAL = b"caseledger/v1/approval\0"
CTX_MEMBERSHIP_APPROVAL = b"caseledger/v1/membership-approval\0"
CTX_CLOCK_APPROVAL = b"caseledger/v1/clock-approval\0"

FORMAT_VERSION = 0x01
ENCODED_HASH_LEN = 34  # §Entry: 00 20 || 32 bytes
ZERO_HASH = bytes(32)


def sha256(*parts: bytes) -> bytes:
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


# ---------------------------------------------------------------------------------------------
# §Encoding: a strict decoder.


class DecodeError(Exception):
    """The bytes are not the canonical encoding of the expected type."""


class Reader:
    def __init__(self, data: bytes, pos: int = 0):
        self.data = data
        self.pos = pos

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise DecodeError(f"input ends at byte {self.pos}")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise DecodeError(f"{n} bytes wanted at {self.pos}, input ends at {len(self.data)}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def varint(self, bits: int) -> int:
        """Unsigned LEB128, minimal, at most ceil(bits/7) bytes, value below 2**bits."""
        start = self.pos
        value = 0
        for i in range((bits + 6) // 7):
            b = self.byte()
            value |= (b & 0x7F) << (7 * i)
            if b & 0x80 == 0:
                if i > 0 and b == 0:
                    raise DecodeError(f"over-long varint at byte {start}")
                if value >> bits:
                    raise DecodeError(f"varint at byte {start} does not fit in {bits} bits")
                return value
        raise DecodeError(f"varint at byte {start} longer than a u{bits} allows")


def u32(r: Reader) -> int:
    return r.varint(32)


def u64(r: Reader) -> int:
    return r.varint(64)


def i32(r: Reader) -> int:
    z = r.varint(32)
    return (z >> 1) ^ -(z & 1)


def boolean(r: Reader) -> bool:
    b = r.byte()
    if b > 1:
        raise DecodeError(f"bool byte {b:#04x} at {r.pos - 1}")
    return b == 1


def option(inner):
    def dec(r: Reader):
        tag = r.byte()
        if tag == 0:
            return None
        if tag == 1:
            return inner(r)
        raise DecodeError(f"option tag {tag:#04x} at {r.pos - 1}")

    return dec


def string(r: Reader) -> str:
    n = u64(r)
    raw = r.take(n)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"invalid UTF-8: {exc}") from None


def vec(inner):
    def dec(r: Reader):
        return [inner(r) for _ in range(u64(r))]

    return dec


def tuple_of(*items):
    def dec(r: Reader):
        return tuple(item(r) for item in items)

    return dec


class Value(dict):
    """A decoded struct or enum value; `raw` holds its bytes as they appear in the input."""

    raw: bytes = b""


def struct(*fields):
    def dec(r: Reader):
        start = r.pos
        v = Value((name, ty(r)) for name, ty in fields)
        v.raw = r.data[start : r.pos]
        return v

    return dec


def enum(name: str, variants):
    """variants: list of (variant name, decoder of its contents or None for a unit variant)."""

    def dec(r: Reader):
        start = r.pos
        index = r.varint(32)
        if index >= len(variants):
            raise DecodeError(f"{name} has no variant {index} (byte {start})")
        variant, contents = variants[index]
        v = Value(variant=variant, value=contents(r) if contents else None)
        v.raw = r.data[start : r.pos]
        return v

    return dec


def unit_enum(name: str, names: str):
    return enum(name, [(n, None) for n in names.split()])


# §Identifiers
ID_CHARS = re.compile(r"[A-Za-z0-9._:/-]+")


def identifier(kind: str, max_len: int):
    def dec(r: Reader) -> str:
        s = string(r)
        if not s:
            raise DecodeError(f"empty {kind}")
        if len(s.encode()) > max_len:
            raise DecodeError(f"{kind} of {len(s.encode())} bytes, more than {max_len}")
        if not ID_CHARS.fullmatch(s):
            raise DecodeError(f"{kind} {s!r} holds a character outside [A-Za-z0-9._:/-]")
        return s

    return dec


OrgId = identifier("OrgId", 64)
CaseId = identifier("CaseId", 64)
HandoffId = identifier("HandoffId", 96)
PersonId = identifier("PersonId", 64)
KeyId = identifier("KeyId", 32)
NodeId = u64

# §Time
Timestamp = u64
Date = i32

# §Crypto
HashAlg = unit_enum("HashAlg", "Sha256")
SignatureAlg = unit_enum("SignatureAlg", "Ed25519")


def byte_string(length: int):
    def dec(r: Reader) -> bytes:
        n = u64(r)
        if n != length:
            raise DecodeError(f"byte string of {n} bytes where {length} are required")
        return r.take(n)

    return dec


Digest = struct(("alg", HashAlg), ("bytes", byte_string(32)))
PublicKey = struct(("alg", SignatureAlg), ("bytes", byte_string(32)))
Signature = struct(("alg", SignatureAlg), ("bytes", byte_string(64)))
EntryHash = Digest

# §Enums (unit enums and the open vocabularies)
OrgKind = unit_enum("OrgKind", "Psb DetentionHouse Procuratorate Court CommunityCorrections LegalAid Prison Plc Auditor")
Level = unit_enum("Level", "County Prefecture Province")
CaseType = enum(
    "CaseType",
    [(n, None) for n in "DangerousDriving Theft IntentionalInjury TrafficAccident PickingQuarrels Fraud".split()]
    + [("Other", string)],
)
Procedure = unit_enum("Procedure", "Ordinary Summary Expedited")
Stage = unit_enum(
    "Stage",
    "Filing Investigation ArrestReview ProsecutionReview SupplementaryInvestigation FirstInstance "
    "AppealWindow SecondInstance Effective ExecutionCustodial ExecutionCommunity Closed "
    "ClosedWithdrawn ClosedNotProsecuted ClosedAcquitted",
)
HandoffKind = enum(
    "HandoffKind",
    [
        (n, None)
        for n in (
            "ArrestApprovalRequest ArrestApprovalDecision CustodyTransfer DetentionExtensionRequest "
            "ProsecutionTransfer SupplementaryInvestigationReturn SupplementaryInvestigationResubmit "
            "NonProsecutionDecision CaseWithdrawalNotice PublicProsecution TrialNotice JudgmentService "
            "Appeal Protest SecondInstanceTrial RemandForRetrial PreSentenceAssessment LegalAidNotice "
            "ExecutionDeliveryCustodial ExecutionDeliveryCommunity ExecutionReceipt "
            "CommutationParoleProposal ProbationParoleRevocation"
        ).split()
    ]
    + [("Other", string)],
)
MeasureKind = unit_enum("MeasureKind", "Detention Arrest Bail ResidentialSurveillance Release")
DocumentType = enum(
    "DocumentType",
    [
        (n, None)
        for n in (
            "ArrestRequestForm ArrestDecision ProsecutionOpinion Indictment SentencingRecommendation "
            "SupplementaryOutline NonProsecutionDecision WithdrawalDecision Judgment IndictmentCopy "
            "ExecutionNotice ClosingForm CustodyCertificate TrialNoticeForm Evidence"
        ).split()
    ]
    + [("Other", string)],
)
RestartReason = unit_enum("RestartReason", "JurisdictionChange ProcedureConversion AnotherCrime Resume")
ClockStart = unit_enum("ClockStart", "Receipt Sent")
Period = enum("Period", [("Days", u32), ("Months", u32), ("WorkingDays", u32)])
MaxPenalty = enum("MaxPenalty", [("CriminalDetention", None), ("FixedTermYears", u32), ("Life", None), ("Death", None)])
Rule = unit_enum(
    "Rule",
    "GenesisMisplaced UnknownHandoffKind SignerMismatch SenderNotAllowed ReceiverNotAllowed "
    "UnknownCase CaseExists CaseClosed IllegalStageTransition NotCaseHolder CaseInTransit "
    "SupplementaryReturnLimit ArrestNotAllowed UnknownHandoff NotReceiver ReceiptRequired "
    "LoopAlreadyClosed AcceptanceRequired MissingDocuments CustodyTransferMissing "
    "CaseTypeMismatch LimitExceeded RegistryChangeRefused PolicyChangeRefused CheckpointInvalid "
    "ClockAdjustmentRefused InvalidPayload MembershipChangeRefused NotCaseParty ClockApprovalRefused",
)

# §Policy
ApprovalPolicy = struct(("required", u32), ("approvers", vec(OrgId)))
Limits = struct(
    ("max_note_bytes", u32), ("max_documents", u32), ("max_persons", u32), ("max_supplementary_returns", u32)
)
Transition = struct(("from", Stage), ("to", Stage))
ClockRule = struct(
    ("ordinary", Period),
    ("summary", option(Period)),
    ("expedited", option(Period)),
    ("starts", ClockStart),
    ("warn_days", u32),
    ("basis", string),
)
HandoffRule = struct(
    ("kind", HandoffKind),
    ("senders", vec(OrgKind)),
    ("receivers", vec(OrgKind)),
    ("transitions", vec(Transition)),
    ("holder_only", boolean),
    ("responds_to", vec(HandoffKind)),
    ("required_documents", vec(DocumentType)),
    ("clock", option(ClockRule)),
)
MeasureClock = struct(
    ("measure", MeasureKind), ("period", Period), ("ended_by", vec(HandoffKind)), ("warn_days", u32), ("basis", string)
)
Calendar = struct(("holidays", vec(Date)), ("working_weekends", vec(Date)))
Policy = struct(
    ("version", u32),
    ("utc_offset_minutes", i32),
    ("approvals", ApprovalPolicy),
    ("limits", Limits),
    ("handoff_rules", vec(HandoffRule)),
    ("measure_clocks", vec(MeasureClock)),
    ("penalties", vec(tuple_of(CaseType, MaxPenalty))),
    ("calendar", Calendar),
)

# §Payload, §Actions
KeyRef = struct(("org", OrgId), ("key_id", KeyId))
Signer = enum("Signer", [("Org", KeyRef), ("Node", NodeId)])
KeyDecl = struct(
    ("key_id", KeyId), ("public_key", PublicKey), ("valid_from", Timestamp), ("valid_until", option(Timestamp))
)
OrganisationDecl = struct(
    ("id", OrgId),
    ("name", string),
    ("kind", OrgKind),
    ("level", Level),
    ("parent", option(OrgId)),
    ("city", string),
    ("keys", vec(KeyDecl)),
)
NodeDecl = struct(("node_id", NodeId), ("org", OrgId), ("signing_key", PublicKey), ("tls_key", option(PublicKey)))
Genesis = struct(
    ("cluster_name", string), ("organisations", vec(OrganisationDecl)), ("nodes", vec(NodeDecl)), ("policy", Policy)
)
CaseFiling = struct(
    ("case_id", CaseId),
    ("case_type", CaseType),
    ("procedure", Procedure),
    ("persons", vec(PersonId)),
    ("plea_leniency", boolean),
    ("note", string),
)
Document = struct(("doc_type", DocumentType), ("number", string), ("digest", Digest), ("pages", u32))
Handoff = struct(
    ("case_id", CaseId),
    ("case_type", CaseType),
    ("procedure", Procedure),
    ("kind", HandoffKind),
    ("sender", OrgId),
    ("receiver", OrgId),
    ("persons", vec(PersonId)),
    ("custody", boolean),
    ("documents", vec(Document)),
    ("efile_manifest", Digest),
    ("related", option(HandoffId)),
    ("note", string),
)
Receipt = struct(("handoff", HandoffId))
Acceptance = struct(("handoff", HandoffId))
ReturnForCompletion = struct(("handoff", HandoffId), ("reason", string), ("missing", vec(DocumentType)))
CoerciveMeasure = struct(("case_id", CaseId), ("person", PersonId), ("measure", MeasureKind), ("effective_at", Timestamp))
ClockRef = enum("ClockRef", [("Handoff", HandoffId), ("Measure", struct(("person", PersonId), ("measure", MeasureKind)))])
ClockAction = enum(
    "ClockAction",
    [
        ("Extend", struct(("period", Period), ("approved_by", OrgId))),
        ("Pause", struct(("reason", string))),
        ("Restart", struct(("reason", RestartReason))),
        # Late-bound: an approved change is itself a ClockAction (never Approved, which apply
        # rejects), and Approval is declared below.
        ("Approved", struct(("change", lambda r: ClockAction(r)), ("approval", lambda r: Approval(r)))),
    ],
)
ClockAdjustment = struct(("case_id", CaseId), ("clock", ClockRef), ("action", ClockAction))
CaseClosure = struct(("case_id", CaseId), ("reason", string))
KeyOp = enum(
    "KeyOp",
    [
        ("RegisterOrganisation", OrganisationDecl),
        ("AddKey", struct(("org", OrgId), ("key", KeyDecl))),
        ("RotateKey", struct(("org", OrgId), ("old", KeyId), ("new", KeyDecl))),
        ("RevokeKey", struct(("org", OrgId), ("key_id", KeyId), ("reason", string))),
        ("RegisterNode", NodeDecl),
        ("RotateNodeKey", struct(("node_id", NodeId), ("signing_key", PublicKey), ("tls_key", option(PublicKey)))),
        ("RevokeNodeKey", struct(("node_id", NodeId), ("reason", string))),
    ],
)
Approval = struct(("key", KeyRef), ("signature", Signature))
KeyLifecycle = struct(("op", KeyOp), ("approvals", vec(Approval)))
PolicyUpdate = struct(("policy", Policy), ("approvals", vec(Approval)))
CheckpointRecord = struct(("note", string))
NodeAddr = struct(("raft_addr", string), ("api_addr", string))
MemberOp = enum(
    "MemberOp",
    [
        ("AddLearner", struct(("node_id", NodeId), ("addr", NodeAddr))),
        ("Promote", struct(("node_id", NodeId))),
        ("Demote", struct(("node_id", NodeId))),
        ("Remove", struct(("node_id", NodeId))),
        ("SetAddress", struct(("node_id", NodeId), ("addr", NodeAddr))),
    ],
)
MembershipChange = struct(("op", MemberOp), ("approvals", vec(Approval)))
Action = enum(
    "Action",
    [
        ("Genesis", Genesis),
        ("CaseFiling", CaseFiling),
        ("Handoff", Handoff),
        ("Receipt", Receipt),
        ("Acceptance", Acceptance),
        ("ReturnForCompletion", ReturnForCompletion),
        ("CoerciveMeasure", CoerciveMeasure),
        ("ClockAdjustment", ClockAdjustment),
        ("CaseClosure", CaseClosure),
        ("KeyLifecycle", KeyLifecycle),
        ("Policy", PolicyUpdate),
        ("Checkpoint", CheckpointRecord),
        ("Membership", MembershipChange),
    ],
)
Payload = struct(("signer", Signer), ("id", HandoffId), ("claimed_at", Timestamp), ("action", Action))
Submission = struct(("payload", Payload), ("signature", Signature))

# §Entry
Rejection = struct(("submission", Submission), ("rule", Rule), ("detail", string))
Record = enum("Record", [("Accepted", Submission), ("Rejected", Rejection)])
EntryBody = struct(("index", u64), ("accepted_at", Timestamp), ("record", Record), ("prev", EntryHash))
Entry = struct(("body", EntryBody), ("hash", EntryHash))

TYPES = {
    "Timestamp": Timestamp,
    "Date": Date,
    "bool": boolean,
    "Option<Timestamp>": option(Timestamp),
    "String": string,
    "HandoffId": HandoffId,
    "OrgId": OrgId,
    "Digest": Digest,
    "Stage": Stage,
    "Period": Period,
    "Submission": Submission,
}


def decode(ty, data: bytes):
    """§Encoding: version byte, the value, nothing after it."""
    if not data:
        raise DecodeError("empty input: no version byte")
    if data[0] != FORMAT_VERSION:
        raise DecodeError(f"unknown format version {data[0]}")
    r = Reader(data, 1)
    value = ty(r)
    if r.pos != len(data):
        raise DecodeError(f"{len(data) - r.pos} trailing bytes")
    return value


# ---------------------------------------------------------------------------------------------
# §Crypto, §Signatures


def ed25519_verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
        return True
    except (InvalidSignature, ValueError):
        return False


def public_key_of_seed(seed: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def signer_name(signer: Value) -> str:
    if signer["variant"] == "Org":
        return f"{signer['value']['org']}/{signer['value']['key_id']}"
    return f"node-{signer['value']}"


def submission_signature_ok(sub: Value, key: bytes) -> bool:
    """§Signatures: SUBMISSION || 0x01 || the payload's bytes as they appear in the submission."""
    sig = sub["signature"]
    message = CTX_SUBMISSION + bytes([FORMAT_VERSION]) + sub["payload"].raw
    return ed25519_verify(key, sig["bytes"], message)


def encode_str(text: str) -> bytes:
    """§Primitive encodings: a varint length, then the UTF-8 bytes."""
    data, n, out = text.encode(), len(text.encode()), bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out) + data


def clock_approval_ok(payload: Value, keys: dict[str, bytes]) -> bool:
    """§Actions, clock approvals: CLOCK_APPROVAL || 0x01 || encode(ClockApprovalTerms)."""
    adj = payload["action"]["value"]
    approved = adj["action"]["value"]
    approval = approved["approval"]
    key = keys.get(f"{approval['key']['org']}/{approval['key']['key_id']}")
    terms = encode_str(payload["id"]) + encode_str(adj["case_id"]) + adj["clock"].raw + approved["change"].raw
    message = CTX_CLOCK_APPROVAL + bytes([FORMAT_VERSION]) + terms
    return key is not None and ed25519_verify(key, approval["signature"]["bytes"], message)


def approval_ok(approval: Value, change: Value, keys: dict[str, bytes], context: bytes = CTX_APPROVAL) -> bool:
    key = keys.get(f"{approval['key']['org']}/{approval['key']['key_id']}")
    message = context + bytes([FORMAT_VERSION]) + change.raw
    return key is not None and ed25519_verify(key, approval["signature"]["bytes"], message)


# ---------------------------------------------------------------------------------------------
# §Entry, §Chain


def read_leading_varints(leaf: bytes) -> tuple[int, int]:
    """index and accepted_at: the two varints after the version byte."""
    r = Reader(leaf, 1)
    return u64(r), u64(r)


class ChainFault(Exception):
    def __init__(self, index: int, why: str):
        super().__init__(f"entry {index}: {why}")
        self.index = index


def verify_chain(entries: list[bytes]) -> tuple[int, bytes, int]:
    """§Chain steps 1-5; returns the head (size, hash, time) or raises ChainFault."""
    prev_hash, prev_time = ZERO_HASH, 0
    for i, data in enumerate(entries):
        try:
            decode(Entry, data)
        except DecodeError as exc:
            raise ChainFault(i, f"not a canonical entry: {exc}") from None
        leaf, encoded_hash = data[:-ENCODED_HASH_LEN], data[-ENCODED_HASH_LEN:]
        index, accepted_at = read_leading_varints(leaf)
        if index != i:
            raise ChainFault(i, f"index {index}")
        if leaf[-34:-32] != b"\x00\x20" or leaf[-32:] != prev_hash:
            raise ChainFault(i, "prev does not link to the previous entry")
        if encoded_hash[:2] != b"\x00\x20" or encoded_hash[2:] != sha256(CTX_ENTRY, leaf):
            raise ChainFault(i, "stored hash does not match the leaf")
        if i > 0 and accepted_at < prev_time:
            raise ChainFault(i, "time goes backwards")
        prev_hash, prev_time = encoded_hash[2:], accepted_at
    return len(entries), prev_hash, prev_time


# ---------------------------------------------------------------------------------------------
# §Merkle (RFC 6962 / RFC 9162)


def leaf_hash(leaf: bytes) -> bytes:
    return sha256(b"\x00", leaf)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01", left, right)


def mth(leaf_hashes: list[bytes]) -> bytes:
    n = len(leaf_hashes)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaf_hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(leaf_hashes[:k]), mth(leaf_hashes[k:]))


def verify_inclusion(h: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    if index >= size:
        return False
    fn, sn, r = index, size - 1, h
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn & 1 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]) -> bool:
    if first > second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof and first_root == sha256(b"")
    if first & (first - 1) == 0:
        proof = [first_root] + proof
    if not proof:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn & 1 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


# ---------------------------------------------------------------------------------------------
# §Checkpoint


class NoteError(Exception):
    pass


CANONICAL_DECIMAL = re.compile(r"0|[1-9][0-9]*")
SIGNATURE_PREFIX = "\u2014 "


def b64_exact(text: str, length: int) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise NoteError(f"not base64: {text!r}") from None
    if len(raw) != length or base64.b64encode(raw).decode() != text:
        raise NoteError(f"not the canonical base64 of {length} bytes: {text!r}")
    return raw


def valid_name(name: str) -> bool:
    return bool(name) and not any(c.isspace() or c == "+" or ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in name)


def parse_note(text: str):
    """Returns (body text, origin, size, root, chain head, time, [(name, key hash, signature)])."""
    for i, ch in enumerate(text):
        if ord(ch) < 0x20 and ch != "\n":
            raise NoteError(f"control character at {i}")
    if not text.endswith("\n"):
        raise NoteError("the note does not end with a newline")
    sep = text.rfind("\n\n")
    if sep < 0:
        raise NoteError("no blank line before the signatures")
    body, block = text[: sep + 1], text[sep + 2 :]
    lines = body[:-1].split("\n")
    if len(lines) != 5:
        raise NoteError(f"the body has {len(lines)} lines, not 5")
    origin, size, root, head, time = lines
    if not valid_name(origin):
        raise NoteError("bad origin")
    if not CANONICAL_DECIMAL.fullmatch(size):
        raise NoteError("line 2 is not a canonical decimal")
    root_bytes = b64_exact(root, 32)
    if not head.startswith("chain-head ") or not re.fullmatch(r"[0-9a-f]{64}", head[len("chain-head ") :]):
        raise NoteError("line 4 is not 'chain-head ' and 64 lowercase hex digits")
    if not time.startswith("time ") or not CANONICAL_DECIMAL.fullmatch(time[len("time ") :]):
        raise NoteError("line 5 is not 'time ' and a canonical decimal")
    sig_lines = block.split("\n")[:-1]
    if not 1 <= len(sig_lines) <= 100:
        raise NoteError(f"{len(sig_lines)} signature lines")
    sigs = []
    for line in sig_lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError(f"signature line {line!r} does not start with an em dash and a space")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        if not valid_name(name):
            raise NoteError(f"bad key name {name!r}")
        wire = b64_exact(encoded, 68)
        sigs.append((name, wire[:4], wire[4:]))
    return (
        body,
        origin,
        int(size),
        root_bytes,
        bytes.fromhex(head[len("chain-head ") :]),
        int(time[len("time ") :]),
        sigs,
    )


def note_key_hash(name: str, public_key: bytes) -> bytes:
    return sha256(name.encode(), b"\x0a\x01", public_key)[:4]


def verify_note(text: str, keys: dict[str, bytes], quorum: int):
    """§Checkpoint steps 1-3: returns the parsed note, or raises NoteError."""
    parsed = parse_note(text)
    body, sigs = parsed[0], parsed[6]
    verified = []
    for name, key_hash, signature in sigs:
        key = keys.get(name)
        if key is None or note_key_hash(name, key) != key_hash:
            continue
        if not ed25519_verify(key, signature, body.encode()):
            raise NoteError(f"the signature of {name} does not verify")
        if name not in verified:
            verified.append(name)
    if len(verified) < max(quorum, 1):
        raise NoteError(f"{len(verified)} known keys signed, {max(quorum, 1)} required")
    return parsed


# ---------------------------------------------------------------------------------------------
# §Receipt


class ReceiptError(Exception):
    pass


RECEIPT_HEADER = "c2sp.org/tlog-proof@v1\n"


def parse_receipt(text: str):
    """§Receipt, "Parsing is strict": returns (entry bytes, index, proof hashes, note text)."""
    if not text.startswith(RECEIPT_HEADER):
        raise ReceiptError("no tlog-proof@v1 header line")
    lines = text[len(RECEIPT_HEADER) :].split("\n")
    if len(lines) < 3 or not lines[0].startswith("extra "):
        raise ReceiptError("the second line is not 'extra <base64>'")
    try:
        entry = b64_canonical(lines[0][len("extra ") :])
    except NoteError as exc:
        raise ReceiptError(f"extra: {exc}") from None
    if not lines[1].startswith("index ") or not CANONICAL_DECIMAL.fullmatch(lines[1][len("index ") :]):
        raise ReceiptError("the index line is not 'index <canonical decimal>'")
    index = int(lines[1][len("index ") :])
    if index >= 2**64:
        raise ReceiptError("index above 2^64 - 1")
    proof, i = [], 2
    while True:
        if i >= len(lines) - 1:
            raise ReceiptError("no blank line before the note")
        if lines[i] == "":
            break
        try:
            proof.append(b64_exact(lines[i], 32))
        except NoteError as exc:
            raise ReceiptError(f"proof line: {exc}") from None
        i += 1
    note = "\n".join(lines[i + 1 :])
    try:
        parse_note(note)
    except NoteError as exc:
        raise ReceiptError(f"note: {exc}") from None
    return entry, index, proof, note


def b64_canonical(text: str) -> bytes:
    """Standard base64 with padding, canonical: re-encoding gives the same text."""
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise NoteError(f"not base64: {text[:20]!r}...") from None
    if base64.b64encode(raw).decode() != text:
        raise NoteError("not canonical base64")
    return raw


def verify_receipt(text: str, node_keys: dict[str, bytes], quorum: int) -> tuple[int, bytes]:
    """§Receipt, verification steps 1-4: returns (index, entry bytes)."""
    entry, index, proof, note = parse_receipt(text)
    decode(Entry, entry)
    _, _, size, root, chain_head, _, _ = verify_note(note, node_keys, quorum)
    leaf, h = entry[:-ENCODED_HASH_LEN], entry[-32:]
    if read_leading_varints(leaf)[0] != index:
        raise ReceiptError("the entry's index is not the index line")
    if sha256(CTX_ENTRY, leaf) != h:
        raise ReceiptError("the entry's hash does not match its leaf")
    if index + 1 == size and chain_head != h:
        raise ReceiptError("the note's chain head is not the entry's hash")
    if not verify_inclusion(leaf_hash(leaf), index, size, proof, root):
        raise ReceiptError("the inclusion proof does not lead to the note's root")
    return index, entry


# ---------------------------------------------------------------------------------------------
# §Crypto: which public keys the registry accepts (a curve point, not of small order; y is
# reduced mod p, as ed25519-dalek does).

P = 2**255 - 19
D = (-121665 * pow(121666, -1, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def decompress(key: bytes):
    """The point (x, y) of a 32-byte encoding, y taken mod p; None if not on the curve."""
    n = int.from_bytes(key, "little")
    y, sign = (n & (2**255 - 1)) % P, n >> 255
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = pow(u * pow(v, 3, P), 1, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if (v * x * x - u) % P != 0:
        x = x * SQRT_M1 % P
        if (v * x * x - u) % P != 0:
            return None
    if (x & 1) != sign:
        x = (P - x) % P
    return x, y


def edwards_add(a, b):
    (x1, y1), (x2, y2) = a, b
    t = D * x1 * x2 * y1 * y2 % P
    return ((x1 * y2 + y1 * x2) * pow(1 + t, -1, P) % P, (y1 * y2 + x1 * x2) * pow(1 - t, -1, P) % P)


def key_registrable(key: bytes) -> bool:
    """§Crypto: the registry accepts a key that decodes to a point whose order is not small."""
    point = decompress(key)
    if point is None:
        return False
    for _ in range(3):  # [8]P
        point = edwards_add(point, point)
    return point != (0, 1)


# ---------------------------------------------------------------------------------------------
# §Apply, steps 2 and 4: the registry as the ledger builds it, and the key of a signer at a time


def key_valid(k: dict, at: int) -> bool:
    return (
        k["valid_from"] <= at
        and (k["revoked_at"] is None or at < k["revoked_at"])
        and (k["valid_until"] is None or at < k["valid_until"])
    )


def key_record(decl: Value) -> dict:
    return {
        "pk": decl["public_key"]["bytes"],
        "valid_from": decl["valid_from"],
        "valid_until": decl["valid_until"],
        "revoked_at": None,
    }


def registry_of(genesis: Value) -> dict:
    return {
        "cluster_name": genesis["cluster_name"],
        "orgs": {o["id"]: {k["key_id"]: key_record(k) for k in o["keys"]} for o in genesis["organisations"]},
        "nodes": {n["node_id"]: n["signing_key"]["bytes"] for n in genesis["nodes"]},
        "approvers": list(genesis["policy"]["approvals"]["approvers"]),
        "required": genesis["policy"]["approvals"]["required"],
    }


def signer_key(reg: dict | None, payload: Value, at: int) -> bytes | None:
    """§Apply step 4 (step 2 for genesis): the key that must have signed, or None."""
    signer, action = payload["signer"], payload["action"]
    if signer["variant"] == "Node":
        return reg["nodes"].get(signer["value"]) if reg else None
    org, key_id = signer["value"]["org"], signer["value"]["key_id"]
    decls = None
    if reg is None and action["variant"] == "Genesis":
        decls = {o["id"]: {k["key_id"]: key_record(k) for k in o["keys"]} for o in action["value"]["organisations"]}
    elif reg is not None:
        decls = reg["orgs"]
        op = action["value"]["op"] if action["variant"] == "KeyLifecycle" else None
        if op is not None and op["variant"] == "RegisterOrganisation":
            new = op["value"]
            if new["id"] == org and org not in reg["orgs"]:
                decls = {org: {k["key_id"]: key_record(k) for k in new["keys"]}}
    k = (decls or {}).get(org, {}).get(key_id)
    return k["pk"] if k is not None and key_valid(k, at) else None


def approvals_ok(reg: dict, change: Value, approvals: list, at: int) -> bool:
    orgs = set()
    for a in approvals:
        org = a["key"]["org"]
        k = reg["orgs"].get(org, {}).get(a["key"]["key_id"])
        if org not in reg["approvers"] or k is None or not key_valid(k, at):
            continue
        if ed25519_verify(k["pk"], a["signature"]["bytes"], CTX_APPROVAL + bytes([FORMAT_VERSION]) + change.raw):
            orgs.add(org)
    return len(orgs) >= reg["required"]


def apply_key_op(reg: dict, op: Value, at: int) -> None:
    v = op["value"]
    if op["variant"] == "RegisterOrganisation":
        reg["orgs"][v["id"]] = {k["key_id"]: key_record(k) for k in v["keys"]}
    elif op["variant"] == "AddKey":
        reg["orgs"][v["org"]][v["key"]["key_id"]] = key_record(v["key"])
    elif op["variant"] == "RotateKey":
        old = reg["orgs"][v["org"]][v["old"]]
        old["valid_until"] = at if old["valid_until"] is None else min(old["valid_until"], at)
        reg["orgs"][v["org"]][v["new"]["key_id"]] = key_record(v["new"])
    elif op["variant"] == "RevokeKey":
        reg["orgs"][v["org"]][v["key_id"]]["revoked_at"] = at
    elif op["variant"] == "RegisterNode":
        reg["nodes"][v["node_id"]] = v["signing_key"]["bytes"]


# ---------------------------------------------------------------------------------------------
# The checks


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL: {name}" + (f": {detail}" if detail else ""))

    def raises(self, name: str, exc_type, fn) -> None:
        try:
            fn()
        except exc_type:
            self.passed += 1
            return
        except Exception as exc:  # noqa: BLE001 - any other failure is a failed check
            self.check(name, False, f"raised {type(exc).__name__}: {exc}")
            return
        self.check(name, False, "no error")

    def runs(self, name: str, fn) -> None:
        try:
            fn()
            self.passed += 1
        except Exception as exc:  # noqa: BLE001
            self.check(name, False, f"{type(exc).__name__}: {exc}")


def flipped(data: bytes, i: int, mask: int = 0x01) -> bytes:
    return data[:i] + bytes([data[i] ^ mask]) + data[i + 1 :]


def unhex(xs):
    return [bytes.fromhex(x) for x in xs]


def check_merkle_vectors(c: Checks, label: str, leaf_hashes: list[bytes], v: dict) -> None:
    """Roots at every size, every inclusion and consistency proof, and their tampered forms."""
    n = len(leaf_hashes)
    roots = unhex(v["roots_hex"])
    c.check(f"{label}: one root per size 0..{n}", len(roots) == n + 1)
    for size, root in enumerate(roots):
        c.check(f"{label}: root at size {size}", mth(leaf_hashes[:size]) == root)
    for p in v["inclusion"]:
        i, size, proof = p["index"], p["tree_size"], unhex(p["proof_hex"])
        what = f"{label}: inclusion of {i} in {size}"
        c.check(what, verify_inclusion(leaf_hashes[i], i, size, proof, roots[size]))
        c.check(f"{what}, flipped leaf hash", not verify_inclusion(flipped(leaf_hashes[i], 0), i, size, proof, roots[size]))
        c.check(f"{what}, flipped root", not verify_inclusion(leaf_hashes[i], i, size, proof, flipped(roots[size], 31)))
        for k in range(len(proof)):
            bad = proof[:k] + [flipped(proof[k], k % 32)] + proof[k + 1 :]
            c.check(f"{what}, flipped proof hash {k}", not verify_inclusion(leaf_hashes[i], i, size, bad, roots[size]))
        if size > 1:
            c.check(f"{what}, other index", not verify_inclusion(leaf_hashes[i], (i + 1) % size, size, proof, roots[size]))
    expected = {(i, size) for size in range(1, n + 1) for i in range(size)}
    c.check(f"{label}: an inclusion proof for every (index, size)", {(p["index"], p["tree_size"]) for p in v["inclusion"]} >= expected)
    for p in v["consistency"]:
        m, size, proof = p["first"], p["second"], unhex(p["proof_hex"])
        what = f"{label}: consistency {m} -> {size}"
        c.check(what, verify_consistency(m, size, roots[m], roots[size], proof))
        c.check(f"{what}: the length §Merkle gives", len(proof) == consistency_proof_len(m, size))
        c.check(f"{what}, flipped first root", not verify_consistency(m, size, flipped(roots[m], 0), roots[size], proof))
        if m > 0:  # the empty tree is a prefix of every tree: any second root is consistent with it
            c.check(f"{what}, flipped second root", not verify_consistency(m, size, roots[m], flipped(roots[size], 0), proof))
        for k in range(len(proof)):
            bad = proof[:k] + [flipped(proof[k], k % 32)] + proof[k + 1 :]
            c.check(f"{what}, flipped proof hash {k}", not verify_consistency(m, size, roots[m], roots[size], bad))


def consistency_proof_len(m: int, n: int) -> int:
    """§Merkle, "Proof lengths"."""
    if m == 0 or m == n:
        return 0
    inner = ((m - 1) ^ (n - 1)).bit_length()
    border = bin((m - 1) >> inner).count("1")
    s = (m & -m).bit_length() - 1
    return inner - s + border + (0 if m & (m - 1) == 0 else 1)


def check_rfc6962(c: Checks, v: dict) -> None:
    leaves = unhex(v["leaves_hex"])
    hashes = unhex(v["leaf_hashes_hex"])
    for i, (leaf, h) in enumerate(zip(leaves, hashes, strict=True)):
        c.check(f"rfc6962: leaf hash {i}", leaf_hash(leaf) == h)
    check_merkle_vectors(c, "rfc6962", hashes, v)


def check_format(c: Checks, v: dict) -> None:
    # Keys: every public key is the one its seed makes.
    keys: dict[str, bytes] = {}
    for k in v["keys"]:
        pk = bytes.fromhex(k["public_key_hex"])
        c.check(f"key {k['name']} from its seed", public_key_of_seed(bytes.fromhex(k["seed_hex"])) == pk)
        keys[k["name"]] = pk

    # §Encoding: primitives decode to their values; rejects do not decode.
    for p in v["primitives"]:
        what = f"primitive {p['type']} {p['value']!r}"
        c.runs(what, lambda p=p, what=what: _expect(decode(TYPES[p["type"]], bytes.fromhex(p["hex"])) == p["value"], what))
    for r in v["rejects"]:
        c.raises(f"reject {r['type']} {r['hex']} ({r['why']})", DecodeError, lambda r=r: decode(TYPES[r["type"]], bytes.fromhex(r["hex"])))

    # §Payload, §Signatures: the top-level handoff.
    sub_bytes = bytes.fromhex(v["submission_hex"])
    sub = decode(Submission, sub_bytes)
    signer_key = bytes.fromhex(v["signer_public_key_hex"])
    c.check("submission: payload bytes", bytes([FORMAT_VERSION]) + sub["payload"].raw == bytes.fromhex(v["payload_hex"]))
    c.check("submission: signature bytes", sub["signature"]["bytes"] == bytes.fromhex(v["signature_hex"]))
    c.check("submission: signature verifies", submission_signature_ok(sub, signer_key))
    c.check("submission: not with the receiver's key", not submission_signature_ok(sub, bytes.fromhex(v["receiver_public_key_hex"])))
    payload_end = 1 + len(sub["payload"].raw)
    for i in range(len(sub_bytes)):
        try:
            ok = submission_signature_ok(decode(Submission, flipped(sub_bytes, i)), signer_key)
        except DecodeError:
            ok = False
        if ok:
            c.check(f"submission: flipped byte {i} detected", False)
            break
    else:
        c.check(f"submission: every flipped byte (payload 0..{payload_end}, signature after) is detected", True)

    # §Worked example.
    w = v["worked_example"]
    wp = bytes.fromhex(w["payload_hex"])
    payload = decode(Payload, wp)
    c.check("worked example: a receipt by GS-LZ-CG-PROC/k1", payload["action"]["variant"] == "Receipt" and signer_name(payload["signer"]) == "GS-LZ-CG-PROC/k1")
    c.check("worked example: signature", ed25519_verify(keys["GS-LZ-CG-PROC/k1"], bytes.fromhex(w["signature_hex"]), CTX_SUBMISSION + wp))

    # §Entry, §Chain: every entry, then the chain.
    entries = [bytes.fromhex(e["entry_hex"]) for e in v["entries"]]
    prev, prev_time = ZERO_HASH, 0
    for e, data in zip(v["entries"], entries, strict=True):
        i = e["index"]
        leaf, h = data[:-ENCODED_HASH_LEN], data[-32:]
        c.check(f"entry {i}: hash of its leaf", sha256(CTX_ENTRY, leaf) == h == bytes.fromhex(e["hash_hex"]))
        index, accepted_at = read_leading_varints(leaf)
        c.check(f"entry {i}: index and time from the leading varints", (index, accepted_at) == (i, e["accepted_at_ms"]))
        c.check(f"entry {i}: prev links to entry {i - 1}", leaf[-34:-32] == b"\x00\x20" and leaf[-32:] == prev)
        c.check(f"entry {i}: time does not go backwards", i == 0 or accepted_at >= prev_time)
        body = decode(Entry, data)["body"]
        record = body["record"]
        sub = record["value"] if record["variant"] == "Accepted" else record["value"]["submission"]
        name = signer_name(sub["payload"]["signer"])
        c.check(f"entry {i}: signer {name} has the listed key", keys.get(name) == bytes.fromhex(e["signer_public_key_hex"]))
        c.check(f"entry {i}: signature of {name}", submission_signature_ok(sub, keys[name]))
        payload_at = data.find(sub["payload"].raw)
        bad = decode(Entry, flipped(data, payload_at + len(sub["payload"].raw) - 1))["body"]["record"]
        bad_sub = bad["value"] if bad["variant"] == "Accepted" else bad["value"]["submission"]
        c.check(f"entry {i}: a flipped payload byte breaks the signature", not submission_signature_ok(bad_sub, keys[name]))
        prev, prev_time = h, accepted_at
    rejected = decode(Entry, entries[-1])["body"]["record"]
    c.check("last entry: a rejection for NotReceiver", rejected["variant"] == "Rejected" and rejected["value"]["rule"]["variant"] == "NotReceiver")

    head = None
    try:
        head = verify_chain(entries)
    except ChainFault as exc:
        c.check("chain verifies", False, str(exc))
    else:
        c.check("chain verifies to the last entry's hash", head == (len(entries), entries[-1][-32:], v["entries"][-1]["accepted_at_ms"]))
    for i, data in enumerate(entries):
        caught = []
        for b in range(len(data)):
            for mask in (0x01, 0x80):
                tampered = entries[:i] + [flipped(data, b, mask)] + entries[i + 1 :]
                try:
                    verify_chain(tampered)
                    caught.append(None)
                except ChainFault as exc:
                    caught.append(exc.index)
        c.check(f"chain: each of the {2 * len(data)} byte flips of entry {i} is caught at index {i}", all(x == i for x in caught), f"caught at {sorted(set(caught), key=str)}")
    if len(entries) > 3:
        swapped = entries[:1] + [entries[2], entries[1]] + entries[3:]
        c.raises("chain: swapped entries 1 and 2", ChainFault, lambda: verify_chain(swapped))
        c.raises("chain: entry 2 deleted", ChainFault, lambda: verify_chain(entries[:2] + entries[3:]))

    # §Merkle over the entries' leaf bytes.
    m = v["merkle"]
    leaf_hashes = [leaf_hash(d[:-ENCODED_HASH_LEN]) for d in entries]
    c.check("merkle: leaf hashes of the entries' leaf bytes", leaf_hashes == unhex(m["leaf_hashes_hex"]))
    check_merkle_vectors(c, "chain tree", leaf_hashes, m)
    expected = {(a, b) for b in range(len(entries) + 1) for a in range(b + 1)}
    c.check("chain tree: a consistency proof for every (first, second)", {(p["first"], p["second"]) for p in m["consistency"]} >= expected)

    # §Checkpoint.
    cp = v["checkpoint"]
    cosigners = {s["name"]: bytes.fromhex(s["public_key_hex"]) for s in cp["cosigners"]}
    for name, pk in cosigners.items():
        c.check(f"checkpoint: {name}'s key is in the key list", keys.get(name) == pk)
    note = cp["note"]
    try:
        body, origin, size, root, chain_head, time, sigs = verify_note(note, cosigners, cp["quorum"])
    except NoteError as exc:
        c.check("checkpoint: note verifies with quorum 2", False, str(exc))
    else:
        c.check("checkpoint: note verifies with quorum 2", len(sigs) == 2)
        c.check("checkpoint: origin", origin == cp["origin"] == f"caseledger.example/cluster/{entries[0][-32:].hex()}")
        c.check("checkpoint: size is the chain's", size == cp["tree_size"] == len(entries))
        c.check("checkpoint: root is the Merkle root at its size", root == mth(leaf_hashes[:size]) == bytes.fromhex(cp["root_hex"]))
        c.check("checkpoint: chain-head is the hash of entry size-1", chain_head == entries[size - 1][-32:] == bytes.fromhex(cp["chain_head_hex"]))
        c.check("checkpoint: time is entry size-1's accepted_at", time == read_leading_varints(entries[size - 1][:-34])[1] == cp["time_ms"])
        body_end = len(body.encode())
        raw = note.encode()
        for i in range(len(raw)):
            if raw[i] & 0x80:
                continue  # flipping inside the em dash makes invalid UTF-8: not a note at all
            tampered = flipped(raw, i).decode()
            try:
                verify_note(tampered, cosigners, cp["quorum"])
                ok = True
            except NoteError:
                ok = False
            if ok:
                c.check(f"checkpoint: flipped byte {i} of the note is detected", False)
                break
        else:
            c.check(f"checkpoint: every flipped ASCII byte of the note (body 0..{body_end}) is detected", True)
        one_line = note[: note.rfind(SIGNATURE_PREFIX)]
        c.raises("checkpoint: one signature does not meet quorum 2", NoteError, lambda: verify_note(one_line, cosigners, 2))
        c.runs("checkpoint: one signature meets quorum 1", lambda: verify_note(one_line, cosigners, 1))
        c.raises("checkpoint: no known key", NoteError, lambda: verify_note(note, {"node-9": keys["node-1"]}, 1))

    # §Batch: the framed batch splits into its submissions, each of which decodes fully.
    framed = bytes.fromhex(v["batch"]["framed_hex"])
    frames, at = [], 0
    while at < len(framed):
        if at + 4 > len(framed):
            break
        n = int.from_bytes(framed[at : at + 4], "big")
        frames.append(framed[at + 4 : at + 4 + n])
        at += 4 + n
    c.check("batch: the frames are the submissions", [f.hex() for f in frames] == v["batch"]["submissions_hex"] and at == len(framed))
    for i, f in enumerate(frames):
        c.runs(f"batch: submission {i} decodes", lambda f=f: decode(Submission, f))

    # §Actions: every kind decodes fully and verifies; approvals too.
    for a in v["actions"]:
        what = f"action {a['name']}"
        data = bytes.fromhex(a["submission_hex"])
        try:
            sub = decode(Submission, data)
        except DecodeError as exc:
            c.check(f"{what}: decodes", False, str(exc))
            continue
        payload = sub["payload"]
        action = payload["action"]
        variant = re.sub(r"(?<!^)([A-Z])", r"_\1", action["variant"]).lower()
        c.check(f"{what}: kind, id and signer", (variant, payload["id"], signer_name(payload["signer"])) == (a["action"], a["id"], a["signer"]))
        c.check(f"{what}: signature of {a['signer']}", submission_signature_ok(sub, keys[a["signer"]]))
        c.check(f"{what}: not over other bytes", not submission_signature_ok(decode(Submission, flipped(data, len(data) - 70)), keys[a["signer"]]))
        inner = action["value"]
        if action["variant"] in ("KeyLifecycle", "Policy"):
            change = inner["op"] if action["variant"] == "KeyLifecycle" else inner["policy"]
            for ap in inner["approvals"]:
                c.check(f"{what}: approval by {ap['key']['org']}", approval_ok(ap, change, keys))
            c.check(f"{what}: an approval does not cover another change", not approval_ok(inner["approvals"][0], payload, keys))
        if action["variant"] == "ClockAdjustment" and inner["action"]["variant"] == "Approved":
            c.check(f"{what}: clock approval by {inner['action']['value']['approval']['key']['org']}", clock_approval_ok(payload, keys))
            c.check(f"{what}: not an approval in the registry context", not approval_ok(inner["action"]["value"]["approval"], inner["action"]["value"]["change"], keys))
        if action["variant"] == "Membership":
            for ap in inner["approvals"]:
                c.check(f"{what}: membership approval by {ap['key']['org']}", approval_ok(ap, inner["op"], keys, CTX_MEMBERSHIP_APPROVAL))
                c.check(f"{what}: not an approval in the registry context", not approval_ok(ap, inner["op"], keys))
        if action["variant"] == "Genesis":
            nodes = {f"node-{n['node_id']}": n["signing_key"]["bytes"] for n in inner["nodes"]}
            orgs = {f"{o['id']}/{k['key_id']}": k["public_key"]["bytes"] for o in inner["organisations"] for k in o["keys"]}
            c.check(f"{what}: declares the keys of the key list", all(keys.get(n) == pk for n, pk in {**nodes, **orgs}.items()) and len(nodes) == 2)
            c.check(f"{what}: the pilot policy", len(inner["policy"]["handoff_rules"]) == 23 and inner["policy"]["utc_offset_minutes"] == 480)
        if action["variant"] == "Checkpoint":
            c.check(f"{what}: carries the checkpoint note", inner["note"] == cp["note"])
            c.runs(f"{what}: its note verifies", lambda inner=inner: verify_note(inner["note"], cosigners, 2))


    check_public_keys(c, v["public_keys"])
    check_ledger(c, v["ledger"], keys)


def check_public_keys(c: Checks, vectors: list) -> None:
    """§Crypto: which keys the registry accepts, y >= p included."""
    for k in vectors:
        key = bytes.fromhex(k["public_key_hex"])
        c.check(f"public key {k['public_key_hex'][:8]}...: registrable is {k['registrable']} ({k['why']})", key_registrable(key) == k["registrable"])


def check_ledger(c: Checks, v: dict, known: dict[str, bytes]) -> None:
    """§Apply steps 2 and 4 over a real ledger: the registry built entry by entry, each
    signature checked with the key valid at the entry's time; §Checkpoint for its checkpoint
    entry; the refused submissions; §Receipt."""
    keys = dict(known)
    for k in v["keys"]:
        pk = bytes.fromhex(k["public_key_hex"])
        c.check(f"ledger key {k['name']} from its seed", public_key_of_seed(bytes.fromhex(k["seed_hex"])) == pk)
        keys[k["name"]] = pk
    entries = [bytes.fromhex(e["entry_hex"]) for e in v["entries"]]
    try:
        verify_chain(entries)
        c.check("ledger: the chain verifies", True)
    except ChainFault as exc:
        c.check("ledger: the chain verifies", False, str(exc))
    leaf_hashes = [leaf_hash(d[:-ENCODED_HASH_LEN]) for d in entries]
    reg = None
    registries = []  # the registry after each entry
    for e, data in zip(v["entries"], entries, strict=True):
        i, at = e["index"], e["accepted_at_ms"]
        record = decode(Entry, data)["body"]["record"]
        sub = record["value"] if record["variant"] == "Accepted" else record["value"]["submission"]
        payload = sub["payload"]
        kind = "accepted" if record["variant"] == "Accepted" else f"rejected {record['value']['rule']['variant']}"
        c.check(f"ledger entry {i}: {kind}", kind == e["record"])
        key = signer_key(reg, payload, at)
        c.check(f"ledger entry {i}: {e['signer']} has a key valid at {at}", key is not None and key == bytes.fromhex(e["signer_public_key_hex"]))
        c.check(f"ledger entry {i}: signature of {e['signer']}", key is not None and submission_signature_ok(sub, key))
        action = payload["action"]
        if i == 0:
            c.check("ledger entry 0: a genesis", action["variant"] == "Genesis")
            reg = registry_of(action["value"])
            declared = [k["pk"] for o in reg["orgs"].values() for k in o.values()] + list(reg["nodes"].values())
            c.check("ledger genesis: every key it declares is registrable (§Crypto)", all(key_registrable(k) for k in declared))
        elif record["variant"] == "Accepted" and action["variant"] == "KeyLifecycle":
            op = action["value"]["op"]
            c.check(f"ledger entry {i}: {op['variant']} has its approvals", approvals_ok(reg, op, action["value"]["approvals"], at))
            if op["variant"] != "RevokeKey":
                c.check(f"ledger entry {i}: signed by the organisation concerned", signer_name(payload["signer"]).split("/")[0] == (op["value"].get("id") or op["value"].get("org")))
            reg = copy.deepcopy(reg)
            apply_key_op(reg, op, at)
        elif record["variant"] == "Accepted" and action["variant"] == "Checkpoint":
            check_checkpoint_entry(c, i, action["value"]["note"], reg, entries, leaf_hashes)
        registries.append(reg)
    for r in v["refused"]:
        sub = decode(Submission, bytes.fromhex(r["submission_hex"]))
        size = r["ledger_size"]
        at = max(r["stamped_at_ms"], v["entries"][size - 1]["accepted_at_ms"])
        key = signer_key(registries[size - 1], sub["payload"], at)
        c.check(f"ledger: refused {r['signer']} ({r['why']})", key is None or not submission_signature_ok(sub, key))
    nodes = {f"node-{n}": k for n, k in reg["nodes"].items()}
    rc = v["receipt"]
    try:
        index, entry = verify_receipt(rc["text"], nodes, rc["quorum"])
        c.check("ledger receipt: verifies, for its entry", (index, entry) == (rc["index"], entries[rc["index"]]))
    except (ReceiptError, NoteError, DecodeError) as exc:
        c.check("ledger receipt: verifies", False, str(exc))
    for bad in v["receipt_rejects"]:
        c.raises(f"ledger receipt reject: {bad['why']}", ReceiptError, lambda bad=bad: parse_receipt(bad["text"]))


def check_checkpoint_entry(c: Checks, i: int, note: str, reg: dict, entries: list[bytes], leaf_hashes: list[bytes]) -> None:
    """§Checkpoint: what apply checks of a checkpoint entry at index i (ledger size i)."""
    nodes = {f"node-{n}": k for n, k in reg["nodes"].items()}
    quorum = len(nodes) // 2 + 1
    try:
        _, origin, size, root, chain_head, time, _ = verify_note(note, nodes, quorum)
    except NoteError as exc:
        c.check(f"ledger entry {i}: its note verifies with {quorum} of {len(nodes)} nodes", False, str(exc))
        return
    c.check(f"ledger entry {i}: origin caseledger/<cluster name>", origin == "caseledger/" + reg["cluster_name"])
    c.check(f"ledger entry {i}: size within the ledger", 1 <= size <= i)
    c.check(f"ledger entry {i}: root", root == mth(leaf_hashes[:size]))
    c.check(f"ledger entry {i}: chain head", chain_head == entries[size - 1][-32:])
    c.check(f"ledger entry {i}: time", time == read_leading_varints(entries[size - 1][:-34])[1])


def _expect(ok: bool, what: str) -> None:
    if not ok:
        raise AssertionError(f"{what}: wrong value")


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path.cwd()
    data = root / "proto-types" / "tests" / "data"
    try:
        format_vectors = json.loads((data / "format-vectors.json").read_text(encoding="utf-8"))
        rfc6962 = json.loads((data / "rfc6962.json").read_text(encoding="utf-8"))
    except OSError as exc:
        print(f"cannot run: {exc} (run from the workspace root, or pass it as the first argument)", file=sys.stderr)
        return 2
    c = Checks()
    for name, run, vectors in (("rfc6962.json", check_rfc6962, rfc6962), ("format-vectors.json", check_format, format_vectors)):
        before = (c.passed, c.failed)
        try:
            run(c, vectors)
        except Exception as exc:  # noqa: BLE001 - a vector that cannot even be read is a failure
            c.check(f"{name}: readable", False, f"{type(exc).__name__}: {exc}")
        print(f"{name}: {c.passed - before[0]} passed, {c.failed - before[1]} failed")
    print(f"{c.passed} passed, {c.failed} failed")
    return 0 if c.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
