//! The ledger's Merkle tree, exactly as RFC 6962 §2.1 / RFC 9162 §2.1 define it
//! (docs/FORMAT.md §Merkle).
//!
//! - leaf hash: `SHA-256(0x00 || leaf bytes)` ([`leaf_hash`]);
//! - interior node: `SHA-256(0x01 || left || right)` ([`node_hash`]);
//! - empty tree: `SHA-256("")` ([`empty_root`]);
//! - a tree of `n > 1` leaves splits at `k`, the largest power of two `< n`.
//!
//! # Storage model
//!
//! The tree is kept as the hashes of its *complete* (perfect) subtrees, keyed by
//! `(level, index)`: level 0 holds the leaf hashes, and node `(l, i)` covers leaves
//! `[i·2^l, (i+1)·2^l)`. Such a node never changes once its last leaf is appended, so the
//! stored set only grows, and every historical tree size can still be proven from it.
//! Every subtree the RFC recursion visits is either complete or ends at the tree's right
//! edge, where it is the right fold of at most 64 complete subtrees; roots and proofs are
//! therefore computed with O(log n) reads ([`root`], [`inclusion_proof`],
//! [`consistency_proof`]) and no recursion over leaves.
//!
//! Reads go through the [`MerkleStore`] trait. Writes are not part of it: [`append_leaf`]
//! returns the nodes to write (the leaf hash plus every subtree the leaf completes), and
//! the caller persists them however it likes (the node uses one RocksDB write batch).
//! [`Overlay`] stacks pending writes over a store so that a batch of leaves can be
//! appended before anything is persisted. [`MemStore`] and [`MemTree`] keep everything in
//! memory, for tests and the auditor.
//!
//! Proofs are checked without any store by [`verify_inclusion`] and
//! [`verify_consistency`] (RFC 9162 §2.1.3.2 and §2.1.4.2).

mod proof;
mod store;
mod verify;

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use sha2::{Digest, Sha256};

pub use proof::{consistency_proof, inclusion_proof, root};
pub use store::{
    append_leaf, append_leaf_hash, MemStore, MemTree, MerkleStore, NodeWrite, Overlay,
};
pub use verify::{verify_consistency, verify_inclusion, ProofError};

/// Domain-separation prefix of a leaf hash (RFC 6962 §2.1; docs/FORMAT.md §Merkle).
pub const LEAF_PREFIX: u8 = 0x00;

/// Domain-separation prefix of an interior node hash (RFC 6962 §2.1; docs/FORMAT.md §Merkle).
pub const NODE_PREFIX: u8 = 0x01;

/// A SHA-256 hash in the Merkle tree: a leaf hash, an interior node or a root.
///
/// Displays as lowercase hex. Serializes as exactly 32 raw bytes through
/// `serialize_bytes` (postcard: a length byte `0x20` then the 32 bytes); deserializing
/// anything but exactly 32 bytes is an error.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MerkleHash([u8; 32]);

impl MerkleHash {
    /// Wraps 32 bytes that are known to be a Merkle tree hash.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 hash bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl From<MerkleHash> for [u8; 32] {
    fn from(hash: MerkleHash) -> Self {
        hash.0
    }
}

impl AsRef<[u8]> for MerkleHash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for MerkleHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for MerkleHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MerkleHash({self})")
    }
}

impl Serialize for MerkleHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for MerkleHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_bytes(MerkleHashVisitor)
    }
}

/// Accepts exactly 32 bytes, given as a byte string or (for self-describing formats
/// such as JSON, which write bytes as an array of numbers) as a sequence.
struct MerkleHashVisitor;

impl<'de> Visitor<'de> for MerkleHashVisitor {
    type Value = MerkleHash;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("exactly 32 bytes of Merkle hash")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<MerkleHash, E> {
        <[u8; 32]>::try_from(v)
            .map(MerkleHash)
            .map_err(|_| E::invalid_length(v.len(), &self))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MerkleHash, A::Error> {
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = seq
                .next_element()?
                .ok_or_else(|| de::Error::invalid_length(i, &self))?;
        }
        if seq.next_element::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(33, &self));
        }
        Ok(MerkleHash(bytes))
    }
}

/// The hash of one leaf: `SHA-256(0x00 || leaf)` (docs/FORMAT.md §Merkle).
pub fn leaf_hash(leaf: &[u8]) -> MerkleHash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(leaf);
    MerkleHash(hasher.finalize().into())
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)` (docs/FORMAT.md §Merkle).
pub fn node_hash(left: &MerkleHash, right: &MerkleHash) -> MerkleHash {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left.0);
    hasher.update(right.0);
    MerkleHash(hasher.finalize().into())
}

/// The root of the empty tree: `SHA-256("")` (docs/FORMAT.md §Merkle).
pub fn empty_root() -> MerkleHash {
    MerkleHash(Sha256::digest([]).into())
}

/// Why a root or proof could not be computed from a [`MerkleStore`], or a leaf not appended.
///
/// `E` is the store's own read error.
#[derive(Debug, thiserror::Error)]
pub enum MerkleError<E> {
    /// The store failed to read a node.
    #[error("reading the Merkle store failed")]
    Store(#[source] E),
    /// A complete-subtree hash that a tree of the requested size must have is absent: the
    /// store is incomplete, or the size passed in is larger than the stored tree.
    #[error("Merkle node (level {level}, index {index}) is missing from the store")]
    MissingNode {
        /// Level of the missing node (0 = leaf hashes).
        level: u8,
        /// Index of the missing node within its level.
        index: u64,
    },
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// The requested leaf index.
        index: u64,
        /// The tree size it was requested in.
        size: u64,
    },
    /// A consistency proof was requested from a larger tree to a smaller one.
    #[error("first tree size {first} is larger than second tree size {second}")]
    InvalidRange {
        /// The earlier tree size.
        first: u64,
        /// The later tree size.
        second: u64,
    },
    /// An append was asked at a size whose leaf is already stored: the caller's tree size
    /// is stale, and appending would overwrite history.
    #[error("leaf {index} is already stored; the tree size passed to append is stale")]
    LeafExists {
        /// The leaf index that is already occupied.
        index: u64,
    },
    /// The tree already holds `u64::MAX` leaves and cannot grow.
    #[error("the tree holds u64::MAX leaves and cannot grow")]
    TreeFull,
    /// A [`MemTree`] was asked about a tree size larger than its own.
    #[error("tree size {requested} exceeds the tree's current size {size}")]
    SizeBeyondTree {
        /// The requested tree size.
        requested: u64,
        /// The tree's current size.
        size: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            empty_root().to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn debug_shows_hex() {
        let hash = MerkleHash::from_bytes([0xab; 32]);
        assert_eq!(
            format!("{hash:?}"),
            format!("MerkleHash({})", "ab".repeat(32))
        );
    }
}
