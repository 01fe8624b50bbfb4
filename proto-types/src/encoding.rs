//! The canonical encoding (docs/FORMAT.md §Encoding): one format-version byte, then postcard.
//!
//! Decoding is strict: an unknown version, trailing bytes, or any input whose re-encoding
//! differs from it (postcard alone accepts over-long varints) is an error. So every value has
//! exactly one encoding, and hashing or signing the encoding is hashing or signing the value.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The format version this code writes and reads.
pub const FORMAT_VERSION: u8 = 1;

/// Why bytes are not the canonical encoding of a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// No bytes at all: not even the version byte.
    #[error("empty input: no format version byte")]
    Empty,
    /// The first byte names a format version this code does not know.
    #[error("unknown format version {0} (this build reads version {FORMAT_VERSION})")]
    UnknownVersion(u8),
    /// postcard could not decode the bytes as the expected type.
    #[error("malformed encoding: {0}")]
    Malformed(String),
    /// A value decoded but bytes were left over.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    /// The bytes decode, but the value re-encodes differently: not canonical.
    #[error("non-canonical encoding (the value re-encodes to other bytes)")]
    NonCanonical,
}

/// The canonical bytes of a value: the version byte then its postcard encoding.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![FORMAT_VERSION];
    encode_into(value, &mut out);
    out
}

/// Appends the postcard encoding of `value` (no version byte) to `out`.
pub(crate) fn encode_into<T: Serialize>(value: &T, out: &mut Vec<u8>) {
    postcard::to_extend(value, std::mem::take(out))
        .map(|done| *out = done)
        .expect("postcard encodes every caseledger type: no maps with non-string keys, no unsized sequences");
}

/// Decodes canonical bytes strictly (see the module doc).
pub fn decode<T: Serialize + DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let (&version, rest) = bytes.split_first().ok_or(DecodeError::Empty)?;
    if version != FORMAT_VERSION {
        return Err(DecodeError::UnknownVersion(version));
    }
    let (value, remaining) =
        postcard::take_from_bytes::<T>(rest).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if !remaining.is_empty() {
        return Err(DecodeError::TrailingBytes(remaining.len()));
    }
    if encode(&value) != bytes {
        return Err(DecodeError::NonCanonical);
    }
    Ok(value)
}
