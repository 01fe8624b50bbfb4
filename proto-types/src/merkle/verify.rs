//! Proof verification without a store (RFC 9162 §2.1.3.2, §2.1.4.2; docs/FORMAT.md
//! §Merkle).
//!
//! The proof length is checked first against the length the sizes imply, so that a
//! truncated or padded proof gets a precise error; the RFC algorithms then run as
//! written, with their own checks kept.

use super::{empty_root, node_hash, MerkleHash};

/// Why a Merkle proof does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// The claimed leaf index.
        index: u64,
        /// The claimed tree size.
        size: u64,
    },
    /// A consistency proof was claimed from a larger tree to a smaller one.
    #[error("first tree size {first} is larger than second tree size {second}")]
    InvalidSizes {
        /// The claimed earlier tree size.
        first: u64,
        /// The claimed later tree size.
        second: u64,
    },
    /// The proof does not have the number of hashes that the index and sizes imply.
    #[error("proof has {actual} hashes, expected {expected}")]
    WrongProofLength {
        /// The number of hashes a proof for these sizes has.
        expected: usize,
        /// The number of hashes given.
        actual: usize,
    },
    /// The root recomputed from the proof differs from the given root (for a
    /// consistency proof: the second tree's root).
    #[error("the proof does not lead to the given root")]
    RootMismatch,
    /// The first tree's root recomputed from a consistency proof differs from the given
    /// first root.
    #[error("the consistency proof does not lead to the given first root")]
    FirstRootMismatch,
}

/// `bits.Len64`: the number of bits needed to write `x`.
fn bit_length(x: u64) -> u32 {
    u64::BITS - x.leading_zeros()
}

/// The number of hashes in `PATH(index, D[size])`, for `index < size`: one per level
/// below the point where the paths to `index` and to the last leaf part (`inner`), plus
/// one per complete left sibling above it (`border`).
fn inclusion_proof_len(index: u64, size: u64) -> (u32, u32) {
    let inner = bit_length(index ^ (size - 1));
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner, border)
}

/// Checks that `leaf_hash` is leaf `index` of the tree of `size` leaves whose root is
/// `root`, given `proof` = `PATH(index, D[size])` (RFC 9162 §2.1.3.2).
///
/// # Errors
///
/// [`ProofError::IndexOutOfRange`], [`ProofError::WrongProofLength`] or
/// [`ProofError::RootMismatch`].
pub fn verify_inclusion(
    leaf_hash: &MerkleHash,
    index: u64,
    size: u64,
    proof: &[MerkleHash],
    root: &MerkleHash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (inner, border) = inclusion_proof_len(index, size);
    let expected = (inner + border) as usize;
    let wrong_length = ProofError::WrongProofLength {
        expected,
        actual: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_length);
    }

    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if s_n == 0 {
            return Err(wrong_length);
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(wrong_length);
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Checks that the tree of `second` leaves with root `second_root` extends the tree of
/// `first` leaves with root `first_root`, given `proof` = `PROOF(first, D[second])`
/// (RFC 9162 §2.1.4.2).
///
/// The RFC's algorithm covers `0 < first < second`; the edge cases follow from the
/// definitions: equal sizes need an empty proof and equal roots, and a first tree of size
/// 0 needs an empty proof and the empty root as `first_root`.
///
/// # Errors
///
/// [`ProofError::InvalidSizes`], [`ProofError::WrongProofLength`],
/// [`ProofError::FirstRootMismatch`] or [`ProofError::RootMismatch`].
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &MerkleHash,
    second_root: &MerkleHash,
    proof: &[MerkleHash],
) -> Result<(), ProofError> {
    if first > second {
        return Err(ProofError::InvalidSizes { first, second });
    }
    if first == second || first == 0 {
        if !proof.is_empty() {
            return Err(ProofError::WrongProofLength {
                expected: 0,
                actual: proof.len(),
            });
        }
        if first == 0 && *first_root != empty_root() {
            return Err(ProofError::FirstRootMismatch);
        }
        if first == second && first_root != second_root {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }

    // The old tree's rightmost complete subtree has 2^shift leaves. Unless it is the whole
    // old tree, the proof starts with its hash; the rest is that subtree's inclusion path
    // in the new tree, counted in levels above `shift`.
    let shift = first.trailing_zeros();
    let (inner, border) = inclusion_proof_len(first - 1, second);
    let seeded = !first.is_power_of_two();
    let expected = usize::from(seeded) + (inner - shift + border) as usize;
    let wrong_length = ProofError::WrongProofLength {
        expected,
        actual: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_length);
    }

    // RFC 9162 §2.1.4.2, step 2: a power-of-two first tree is its own seed.
    let (seed, rest) = match proof.split_first() {
        Some((seed, rest)) if seeded => (seed, rest),
        _ => (first_root, proof),
    };
    let (mut f_n, mut s_n) = (first - 1, second - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let (mut fr, mut sr) = (*seed, *seed);
    for c in rest {
        if s_n == 0 {
            return Err(wrong_length);
        }
        if f_n & 1 == 1 || f_n == s_n {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(wrong_length);
    }
    if fr != *first_root {
        return Err(ProofError::FirstRootMismatch);
    }
    if sr != *second_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}
