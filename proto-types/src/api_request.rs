//! The signature of an API request (docs/FORMAT.md §API request): what a caller signs so that
//! a node can tell who asks, that the request was not changed, and that it is fresh.
//!
//! The signed message is `context::API_REQUEST` followed by the UTF-8 text
//! `METHOD \n path_and_query \n org \n key_id \n node \n time_ms \n nonce \n hex(sha256(body))`,
//! where `node` is the id of the node the request is sent to: a request captured on its way
//! to one node is refused by every other (each node answers only requests addressed to it).
//! Organisations sign with a registry key (`org` = organisation id, `key_id` = key id); nodes
//! sign with their registry node key, with `org` = [`NODE_CALLER`] and `key_id` = the node id
//! in decimal. Freshness (time window, nonce reuse) is the node's to check: no clock here.

use crate::crypto::{self, context, PublicKey, Signature, VerifyError};
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use sha2::{Digest as _, Sha256};

/// Header: the organisation id, or [`NODE_CALLER`].
pub const ORG_HEADER: &str = "x-caseledger-org";
/// Header: the key id within the organisation, or the node id.
pub const KEY_HEADER: &str = "x-caseledger-key";
/// Header: the id of the node the request is addressed to, decimal. Every node also names
/// itself in this header on each answer, so that a client can learn whom it talks to.
pub const NODE_HEADER: &str = "x-caseledger-node";
/// Header: the caller's time, Unix milliseconds, decimal.
pub const TIME_HEADER: &str = "x-caseledger-time";
/// Header: 32 lowercase hex characters, never reused.
pub const NONCE_HEADER: &str = "x-caseledger-nonce";
/// Header: standard base64 (padded) of the 64-byte Ed25519 signature.
pub const SIGNATURE_HEADER: &str = "x-caseledger-signature";

/// The `org` of a request signed by a node's registry key (not a valid organisation id, so it
/// cannot collide with one).
pub const NODE_CALLER: &str = "@node";

/// What a request's signature covers besides its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead<'a> {
    /// Upper-case method, e.g. `GET`.
    pub method: &'a str,
    /// The path and query exactly as sent, e.g. `/v1/cases/X?consistent=true`.
    pub path_and_query: &'a str,
    /// The organisation id, or [`NODE_CALLER`].
    pub org: &'a str,
    /// The key id, or the node id in decimal.
    pub key_id: &'a str,
    /// The id of the node the request is sent to.
    pub node: u64,
    /// The caller's time, Unix ms.
    pub time_ms: u64,
    /// 32 lowercase hex characters.
    pub nonce: &'a str,
}

impl RequestHead<'_> {
    /// The signed text (without the context prefix) for a request with `body`.
    pub fn message(&self, body: &[u8]) -> Vec<u8> {
        let body_hash = hex::encode(Sha256::digest(body));
        format!(
            "{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
            self.method,
            self.path_and_query,
            self.org,
            self.key_id,
            self.node,
            self.time_ms,
            self.nonce,
            body_hash
        )
        .into_bytes()
    }

    /// The value of [`SIGNATURE_HEADER`] for this request with `body`.
    pub fn sign(&self, key: &SigningKey, body: &[u8]) -> String {
        let sig = crypto::sign(key, context::API_REQUEST, &self.message(body));
        base64::engine::general_purpose::STANDARD.encode(sig.as_bytes())
    }

    /// Checks [`SIGNATURE_HEADER`]'s value against `key` (strictly).
    pub fn verify(&self, key: &PublicKey, body: &[u8], signature: &str) -> Result<(), VerifyError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(signature)
            .map_err(|_| VerifyError::BadSignature)?;
        let bytes: [u8; 64] = bytes.try_into().map_err(|_| VerifyError::BadSignature)?;
        crypto::verify(
            key,
            context::API_REQUEST,
            &self.message(body),
            &Signature::ed25519(bytes),
        )
    }
}

/// Whether `nonce` has the required form: 32 lowercase hex characters.
pub fn is_valid_nonce(nonce: &str) -> bool {
    nonce.len() == 32
        && nonce
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A nonce from 16 bytes the caller drew at random.
pub fn nonce_text(random: [u8; 16]) -> String {
    hex::encode(random)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head() -> RequestHead<'static> {
        RequestHead {
            method: "GET",
            path_and_query: "/v1/cases/LZ-1?consistent=true",
            org: "LZ-PSB",
            key_id: "k1",
            node: 2,
            time_ms: 1_767_571_200_000,
            nonce: "00112233445566778899aabbccddeeff",
        }
    }

    #[test]
    fn the_signed_text_is_the_documented_lines() {
        let text = String::from_utf8(head().message(b"")).expect("utf-8");
        assert_eq!(
            text,
            "GET\n/v1/cases/LZ-1?consistent=true\nLZ-PSB\nk1\n2\n1767571200000\n\
             00112233445566778899aabbccddeeff\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn a_signature_verifies_only_for_the_same_request_and_body() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let pk = PublicKey::of(&key);
        let sig = head().sign(&key, b"body");
        assert_eq!(head().verify(&pk, b"body", &sig), Ok(()));
        assert!(head().verify(&pk, b"bodY", &sig).is_err());
        let other = RequestHead {
            path_and_query: "/v1/cases/LZ-2",
            ..head()
        };
        assert!(other.verify(&pk, b"body", &sig).is_err());
        let elsewhere = RequestHead { node: 3, ..head() };
        assert!(elsewhere.verify(&pk, b"body", &sig).is_err());
        assert!(head().verify(&pk, b"body", "not base64!").is_err());
        assert!(head().verify(&pk, b"body", "AAAA").is_err());
    }

    #[test]
    fn nonces_are_32_lowercase_hex() {
        assert!(is_valid_nonce(&nonce_text([0xab; 16])));
        assert!(!is_valid_nonce("00112233445566778899AABBCCDDEEFF"));
        assert!(!is_valid_nonce("0011"));
    }
}
