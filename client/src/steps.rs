//! The steps a department signs, built from plain text (the CLI's flags, or a JSON file of a
//! handoff) and signed locally: the key never leaves the client.

use ed25519_dalek::SigningKey;
use proto_types::crypto::Digest;
use proto_types::domain::{CaseType, DocumentType, HandoffKind, MeasureKind, Procedure};
use proto_types::ids::{HandoffId, KeyId, OrgId};
use proto_types::payload::{Document, Handoff, KeyRef, Signer};
use proto_types::{Action, Payload, Submission, Timestamp};
use serde::de::DeserializeOwned;

/// Why a step cannot be built from what was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// A word that is not in the vocabulary.
    #[error("{text:?} is not a {what} (e.g. {example}; `OTHER:<code>` for codes added as policy)")]
    UnknownWord {
        /// Which vocabulary.
        what: &'static str,
        /// What was given.
        text: String,
        /// A valid word.
        example: &'static str,
    },
    /// A digest that is not 32 bytes of hex.
    #[error("{0:?} is not a SHA-256 digest (64 hex digits, optionally prefixed `sha256:`)")]
    BadDigest(String),
    /// A document spec that is not `TYPE:NUMBER:SHA256HEX:PAGES`.
    #[error("{0:?} is not a document: expected TYPE:NUMBER:SHA256HEX:PAGES")]
    BadDocument(String),
    /// A JSON handoff that does not parse.
    #[error("not a handoff: {0}")]
    BadHandoff(String),
    /// An id derived from another is too long or otherwise invalid.
    #[error("{0}")]
    BadId(String),
}

/// Parses a word of a vocabulary in its ledger spelling (`DANGEROUS_DRIVING`), also accepting
/// lower case and dashes (`dangerous-driving`), and `OTHER:<code>` for open vocabularies.
fn parse_word<T: DeserializeOwned>(
    what: &'static str,
    example: &'static str,
    text: &str,
) -> Result<T, StepError> {
    let unknown = || StepError::UnknownWord {
        what,
        text: text.to_owned(),
        example,
    };
    let value = match text.split_once(':') {
        Some((other, code)) if other.eq_ignore_ascii_case("other") => {
            serde_json::json!({ "OTHER": code })
        }
        Some(_) => return Err(unknown()),
        None => serde_json::Value::String(text.trim().to_ascii_uppercase().replace('-', "_")),
    };
    serde_json::from_value(value).map_err(|_| unknown())
}

/// A case type: `DANGEROUS_DRIVING`, `theft`, ...
pub fn parse_case_type(text: &str) -> Result<CaseType, StepError> {
    parse_word("case type", "DANGEROUS_DRIVING", text)
}

/// A procedure: `ORDINARY`, `SUMMARY`, `EXPEDITED`.
pub fn parse_procedure(text: &str) -> Result<Procedure, StepError> {
    parse_word("procedure", "EXPEDITED", text)
}

/// A handoff kind: `PROSECUTION_TRANSFER`, ...
pub fn parse_handoff_kind(text: &str) -> Result<HandoffKind, StepError> {
    parse_word("handoff kind", "PROSECUTION_TRANSFER", text)
}

/// A coercive measure: `DETENTION`, `ARREST`, `BAIL`, `RESIDENTIAL_SURVEILLANCE`, `RELEASE`.
pub fn parse_measure(text: &str) -> Result<MeasureKind, StepError> {
    parse_word("coercive measure", "BAIL", text)
}

/// A document type: `PROSECUTION_OPINION`, `EVIDENCE`, ...
pub fn parse_document_type(text: &str) -> Result<DocumentType, StepError> {
    parse_word("document type", "PROSECUTION_OPINION", text)
}

/// A SHA-256 digest: 64 hex digits, optionally prefixed `sha256:`.
pub fn parse_digest(text: &str) -> Result<Digest, StepError> {
    let hex_part = text.strip_prefix("sha256:").unwrap_or(text);
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut bytes)
        .map_err(|_| StepError::BadDigest(text.to_owned()))?;
    Ok(Digest::sha256_from_bytes(bytes))
}

/// A document: `TYPE:NUMBER:SHA256HEX:PAGES`. The number may itself hold colons (the type
/// is up to the first colon, the digest and pages are the last two fields); an open type is
/// written `OTHER/<code>` here since `:` separates the fields.
pub fn parse_document(text: &str) -> Result<Document, StepError> {
    let bad = || StepError::BadDocument(text.to_owned());
    let (doc_type, rest) = text.split_once(':').ok_or_else(bad)?;
    let mut tail = rest.rsplitn(3, ':');
    let pages = tail.next().ok_or_else(bad)?;
    let digest = tail.next().ok_or_else(bad)?;
    let number = tail.next().ok_or_else(bad)?;
    let doc_type = match doc_type.split_once('/') {
        Some((other, code)) if other.eq_ignore_ascii_case("other") => {
            DocumentType::Other(code.to_owned())
        }
        _ => parse_document_type(doc_type)?,
    };
    Ok(Document {
        doc_type,
        number: number.to_owned(),
        digest: parse_digest(digest)?,
        pages: pages.parse().map_err(|_| bad())?,
    })
}

/// A handoff written as JSON in the ledger's own field names (as `GET /v1/entries` shows it).
pub fn handoff_from_json(text: &str) -> Result<Handoff, StepError> {
    serde_json::from_str(text).map_err(|e| StepError::BadHandoff(e.to_string()))
}

/// The id of a step derived from the handoff it answers, e.g. `H-1` → `H-1:accepted`.
pub fn derived_id(handoff: &HandoffId, suffix: &str) -> Result<HandoffId, StepError> {
    HandoffId::new(format!("{handoff}:{suffix}"))
        .map_err(|e| StepError::BadId(format!("{e}; give the step's own id with --id")))
}

/// A department's signing identity: its key and the registry entry naming it.
pub struct Identity {
    key: SigningKey,
    key_ref: KeyRef,
}

impl Identity {
    /// The key `key_id` of `org`.
    pub fn new(key: SigningKey, org: OrgId, key_id: KeyId) -> Self {
        Self {
            key,
            key_ref: KeyRef { org, key_id },
        }
    }

    /// The organisation that signs.
    pub fn org(&self) -> &OrgId {
        &self.key_ref.org
    }

    /// The key's reference in the registry.
    pub fn key_ref(&self) -> &KeyRef {
        &self.key_ref
    }

    /// The signing key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// Signs one step, claimed at `at`.
    pub fn sign(&self, id: HandoffId, at: Timestamp, action: Action) -> Submission {
        Payload {
            signer: Signer::Org(self.key_ref.clone()),
            id,
            claimed_at: at,
            action,
        }
        .sign(&self.key)
    }
}

/// The local clock as a ledger timestamp (a step's claimed time is informative; the ledger's
/// time is the leader's stamp).
pub fn local_now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Timestamp::from_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<T: PartialEq + std::fmt::Debug>(
        parse: fn(&str) -> Result<T, StepError>,
        input: &str,
        expected: Option<T>,
    ) {
        assert_eq!(parse(input).ok(), expected, "parsing {input:?}");
    }

    #[test]
    fn vocabulary_words_parse_in_any_case_with_dashes_and_open_codes() {
        check(
            parse_case_type,
            "DANGEROUS_DRIVING",
            Some(CaseType::DangerousDriving),
        );
        check(
            parse_case_type,
            "dangerous-driving",
            Some(CaseType::DangerousDriving),
        );
        check(
            parse_case_type,
            "OTHER:SMUGGLING",
            Some(CaseType::Other("SMUGGLING".into())),
        );
        check(parse_case_type, "speeding", None);
        check(parse_case_type, "THEFT:x", None);
        check(parse_procedure, "expedited", Some(Procedure::Expedited));
        check(
            parse_measure,
            "residential-surveillance",
            Some(MeasureKind::ResidentialSurveillance),
        );
        check(
            parse_handoff_kind,
            "prosecution_transfer",
            Some(HandoffKind::ProsecutionTransfer),
        );
        check(
            parse_document_type,
            "EVIDENCE",
            Some(DocumentType::Evidence),
        );
    }

    #[test]
    fn documents_parse_with_colons_in_their_number() {
        let hex = "ab".repeat(32);
        let d = parse_document(&format!("PROSECUTION_OPINION:兰公:诉〔2026〕12号:{hex}:7"))
            .expect("valid");
        assert_eq!(d.doc_type, DocumentType::ProsecutionOpinion);
        assert_eq!(d.number, "兰公:诉〔2026〕12号");
        assert_eq!(d.digest.to_hex(), hex);
        assert_eq!(d.pages, 7);
        let other = parse_document(&format!("other/FORENSIC:F-1:{hex}:3")).expect("open type");
        assert_eq!(other.doc_type, DocumentType::Other("FORENSIC".into()));
        for bad in [
            "EVIDENCE",
            "EVIDENCE:N:00:1",
            &format!("EVIDENCE:N:{hex}:x"),
            &format!("EVIDENCE:{hex}:1"),
        ] {
            assert!(parse_document(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn derived_ids_are_checked() {
        let h = HandoffId::new("H-1").expect("valid");
        assert_eq!(
            derived_id(&h, "accepted").expect("valid").as_str(),
            "H-1:accepted"
        );
        let long = HandoffId::new("x".repeat(HandoffId::MAX_LEN)).expect("valid");
        assert!(derived_id(&long, "accepted").is_err());
    }
}
