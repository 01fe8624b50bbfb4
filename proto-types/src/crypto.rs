//! Hashes, keys and signatures with algorithm identifiers (docs/FORMAT.md §Crypto).
//!
//! Only Ed25519 and SHA-256 are implemented; the identifiers leave room for a second suite
//! (SM2/SM3) without a format break. Every hash and signature is domain-separated by a context
//! string naming what it covers.

use crate::serde_bytes_fixed;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::fmt;

mod batch;

pub use batch::verify_many;
#[doc(hidden)]
pub use batch::verify_many_dalek;

/// Hash algorithms. Encoded as a varint variant index: `Sha256` = 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HashAlg {
    /// SHA-256 (FIPS 180-4).
    Sha256,
}

/// Signature algorithms. Encoded as a varint variant index: `Ed25519` = 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SignatureAlg {
    /// Ed25519 (RFC 8032), verified strictly.
    Ed25519,
}

/// Domain-separation contexts: every hash or signature begins with one of these.
pub mod context {
    /// Prefix of the SHA-256 that makes an entry's chain hash (§Chain).
    pub const ENTRY: &[u8] = b"caseledger/v1/entry\0";
    /// Prefix of the message an organisation or node signs for a submission (§Signatures).
    pub const SUBMISSION: &[u8] = b"caseledger/v1/submission\0";
    /// Prefix of the message an approver signs for a key-lifecycle or policy change.
    pub const APPROVAL: &[u8] = b"caseledger/v1/approval\0";
    /// Prefix of the message an approver signs for a membership change (§Membership).
    pub const MEMBERSHIP_APPROVAL: &[u8] = b"caseledger/v1/membership-approval\0";
    /// Prefix of the message an approver signs for a clock extension, pause or restart.
    pub const CLOCK_APPROVAL: &[u8] = b"caseledger/v1/clock-approval\0";
    /// Prefix of the message a node signs for a tree head it serves with receipts.
    pub const TREE_HEAD: &[u8] = b"caseledger/v1/tree-head\0";
    /// Prefix of the message a caller signs for an API request (§API request).
    pub const API_REQUEST: &[u8] = b"caseledger/v1/api-request\0";
}

/// A digest with its algorithm.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Digest {
    alg: HashAlg,
    #[serde(with = "serde_bytes_fixed")]
    bytes: [u8; 32],
}

impl Digest {
    /// A SHA-256 digest from its 32 bytes.
    pub const fn sha256_from_bytes(bytes: [u8; 32]) -> Self {
        Self {
            alg: HashAlg::Sha256,
            bytes,
        }
    }

    /// SHA-256 over the concatenation of `parts`.
    pub fn sha256(parts: &[&[u8]]) -> Self {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        Self::sha256_from_bytes(h.finalize().into())
    }

    /// The algorithm.
    pub fn alg(&self) -> HashAlg {
        self.alg
    }

    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// Lowercase hex of the raw digest.
    pub fn to_hex(&self) -> String {
        hex::encode(self.bytes)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}:{}", self.alg, self.to_hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// A public signing key with its algorithm.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PublicKey {
    alg: SignatureAlg,
    #[serde(with = "serde_bytes_fixed")]
    bytes: [u8; 32],
}

impl PublicKey {
    /// An Ed25519 public key from its 32 bytes.
    pub const fn ed25519(bytes: [u8; 32]) -> Self {
        Self {
            alg: SignatureAlg::Ed25519,
            bytes,
        }
    }

    /// The public half of a signing key.
    pub fn of(key: &SigningKey) -> Self {
        Self::ed25519(key.verifying_key().to_bytes())
    }

    /// The algorithm.
    pub fn alg(&self) -> SignatureAlg {
        self.alg
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The key as an ed25519-dalek key, if it is a valid curve point.
    pub fn to_verifying_key(&self) -> Result<VerifyingKey, VerifyError> {
        VerifyingKey::from_bytes(&self.bytes).map_err(|_| VerifyError::MalformedKey)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}:{}", self.alg, hex::encode(self.bytes))
    }
}

/// A signature with its algorithm.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Signature {
    alg: SignatureAlg,
    #[serde(with = "serde_bytes_fixed")]
    bytes: [u8; 64],
}

impl Signature {
    /// An Ed25519 signature from its 64 bytes.
    pub const fn ed25519(bytes: [u8; 64]) -> Self {
        Self {
            alg: SignatureAlg::Ed25519,
            bytes,
        }
    }

    /// The raw signature bytes.
    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.bytes
    }

    /// The algorithm.
    pub fn alg(&self) -> SignatureAlg {
        self.alg
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}:{}", self.alg, hex::encode(self.bytes))
    }
}

/// Why a signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The public key is not a valid Ed25519 point.
    #[error("malformed public key")]
    MalformedKey,
    /// The key and signature algorithms differ.
    #[error("signature algorithm does not match the key's")]
    AlgorithmMismatch,
    /// The signature does not verify (strictly) over the message.
    #[error("signature does not verify")]
    BadSignature,
}

/// Signs `context || message` with an Ed25519 key.
pub fn sign(key: &SigningKey, context: &[u8], message: &[u8]) -> Signature {
    let msg = [context, message].concat();
    Signature::ed25519(key.sign(&msg).to_bytes())
}

/// Verifies a signature over `context || message` with `verify_strict`.
pub fn verify(
    key: &PublicKey,
    context: &[u8],
    message: &[u8],
    sig: &Signature,
) -> Result<(), VerifyError> {
    if key.alg != sig.alg {
        return Err(VerifyError::AlgorithmMismatch);
    }
    let vk = key.to_verifying_key()?;
    let msg = [context, message].concat();
    vk.verify_strict(&msg, &ed25519_dalek::Signature::from_bytes(&sig.bytes))
        .map_err(|_| VerifyError::BadSignature)
}

/// Why a PEM text is not an Ed25519 private key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an Ed25519 PKCS#8 PEM private key: {0}")]
pub struct PemError(String);

/// Parses an Ed25519 private key from PKCS#8 PEM text (no IO: the caller reads the file).
///
/// Both forms of RFC 8410 §7 are read: a version 1 `PrivateKeyInfo` holding the seed only
/// (what [`signing_key_to_pem`], `openssl genpkey -algorithm ed25519` and Python's
/// `cryptography` write), and a version 2 `OneAsymmetricKey` that also carries the public
/// key (what caseledger wrote before), whose public key must then be the seed's.
pub fn signing_key_from_pem(text: &str) -> Result<SigningKey, PemError> {
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    SigningKey::from_pkcs8_pem(text).map_err(|e| PemError(e.to_string()))
}

/// Encodes an Ed25519 private key as PKCS#8 PEM text in the form RFC 8410 §7 gives and
/// OpenSSL writes: a version 1 `PrivateKeyInfo` whose `privateKey` is the 32-byte seed
/// wrapped in an OCTET STRING, without the optional public key (which OpenSSL 3 and Python's
/// `cryptography` refuse in the form the `pkcs8` crate encodes it).
pub fn signing_key_to_pem(key: &SigningKey) -> Result<String, PemError> {
    use ed25519_dalek::pkcs8::{spki::der::pem::LineEnding, EncodePrivateKey, KeypairBytes};
    KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    }
    .to_pkcs8_pem(LineEnding::LF)
    .map(|z| z.to_string())
    .map_err(|e| PemError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8410 §10.3's example private key (version 1, the seed only).
    const RFC8410: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n\
        -----END PRIVATE KEY-----\n";
    const RFC8410_SEED: &str = "d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a88f44755842";

    #[test]
    fn reads_the_rfc_8410_example_and_writes_it_back_byte_for_byte() {
        let key = signing_key_from_pem(RFC8410).expect("RFC 8410 key");
        assert_eq!(hex::encode(key.to_bytes()), RFC8410_SEED);
        assert_eq!(signing_key_to_pem(&key).expect("pem"), RFC8410);
    }

    #[test]
    fn writes_version_1_with_the_seed_only() {
        use ed25519_dalek::pkcs8::spki::der::pem;
        let key = SigningKey::from_bytes(&[7; 32]);
        let text = signing_key_to_pem(&key).expect("pem");
        let (label, der) = pem::decode_vec(text.as_bytes()).expect("PEM");
        assert_eq!(label, "PRIVATE KEY");
        // SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING seed } }
        let head = hex::decode("302e020100300506032b657004220420").expect("hex");
        assert_eq!(der, [head.as_slice(), &[7; 32]].concat());
        assert_eq!(
            signing_key_from_pem(&text).expect("read").to_bytes(),
            [7; 32]
        );
    }

    #[test]
    fn still_reads_the_version_2_files_caseledger_wrote_before() {
        use ed25519_dalek::pkcs8::{spki::der::pem::LineEnding, EncodePrivateKey};
        let key = SigningKey::from_bytes(&[9; 32]);
        // The old writer: `SigningKey::to_pkcs8_pem`, version 2 with the public key.
        let old = key.to_pkcs8_pem(LineEnding::LF).expect("old pem");
        assert!(
            old.len() > RFC8410.len(),
            "the old form carries the public key"
        );
        assert_eq!(
            signing_key_from_pem(&old).expect("read").to_bytes(),
            [9; 32]
        );
    }

    #[test]
    fn refuses_other_text_and_a_public_key_that_is_not_the_seeds() {
        use ed25519_dalek::pkcs8::{spki::der::pem::LineEnding, EncodePrivateKey, KeypairBytes};
        assert!(signing_key_from_pem("not a key").is_err());
        assert!(signing_key_from_pem(&RFC8410.replace("PRIVATE", "PUBLIC")).is_err());
        let other = SigningKey::from_bytes(&[2; 32]).verifying_key().to_bytes();
        let mismatched = KeypairBytes {
            secret_key: [1; 32],
            public_key: Some(ed25519_dalek::pkcs8::PublicKeyBytes(other)),
        }
        .to_pkcs8_pem(LineEnding::LF)
        .expect("pem");
        assert!(signing_key_from_pem(&mismatched).is_err());
    }
}
