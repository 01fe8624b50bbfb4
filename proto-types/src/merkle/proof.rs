//! Roots and proofs computed from complete-subtree hashes (RFC 9162 §2.1.1, §2.1.3.1,
//! §2.1.4.1; docs/FORMAT.md §Merkle).
//!
//! The RFC defines these recursively over the leaves. Each recursion step halves a range
//! `[lo, hi)` at `lo + k`, `k` the largest power of two below `hi - lo`; the side not
//! descended into contributes one hash to the proof. That side is either complete (one
//! stored node) or ends at the tree's right edge (a right fold of its complete subtrees).
//! The loops below walk the same steps from the top and reverse the result, which gives
//! the RFC's order (leaf side first).

use super::store::{read, MerkleStore};
use super::{empty_root, node_hash, MerkleError, MerkleHash};

/// The largest power of two strictly below `n`, for `n >= 2` (RFC 9162 §2.1.1's `k`).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2, "only ranges of two or more leaves are split");
    1 << (63 - (n - 1).leading_zeros())
}

/// `MTH(D[start:end])` for a non-empty range whose `start` is a multiple of every
/// power of two not above `end - start`, as every range of the RFC recursion is.
///
/// The range is the concatenation of complete subtrees, one per set bit of its length,
/// largest first; its hash folds them from the right. Reads one node per set bit.
fn range_hash<S: MerkleStore + ?Sized>(
    store: &S,
    start: u64,
    end: u64,
) -> Result<MerkleHash, MerkleError<S::Error>> {
    debug_assert!(start < end, "ranges are non-empty");
    let mut rest = end - start;
    let mut acc: Option<MerkleHash> = None;
    while rest != 0 {
        let level = rest.trailing_zeros();
        // Clearing the lowest bit leaves the offset of this subtree within the range.
        rest &= rest - 1;
        let offset = start + rest;
        debug_assert_eq!(offset % (1 << level), 0, "complete subtrees are aligned");
        // `level < 64`, so it fits in a u8.
        let hash = read(store, level as u8, offset >> level)?;
        acc = Some(match acc {
            None => hash,
            Some(right) => node_hash(&hash, &right),
        });
    }
    Ok(acc.unwrap_or_else(empty_root))
}

/// The root hash of the tree of `size` leaves held in `store` (RFC 9162 §2.1.1 `MTH`).
///
/// `size` may be any size the tree has had: complete subtrees never change. Reads at most
/// one node per set bit of `size`; the empty tree reads nothing.
///
/// # Errors
///
/// [`MerkleError::MissingNode`] if `store` lacks a node of that tree, and store read errors.
pub fn root<S: MerkleStore + ?Sized>(
    store: &S,
    size: u64,
) -> Result<MerkleHash, MerkleError<S::Error>> {
    if size == 0 {
        return Ok(empty_root());
    }
    range_hash(store, 0, size)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1
/// `PATH(index, D[size])`), leaf side first.
///
/// Reads O(log size) nodes: every sibling is a complete subtree except at most one,
/// which ends at the tree's right edge.
///
/// # Errors
///
/// [`MerkleError::IndexOutOfRange`] if `index >= size`, [`MerkleError::MissingNode`] if
/// `store` lacks a node of that tree, and store read errors.
pub fn inclusion_proof<S: MerkleStore + ?Sized>(
    store: &S,
    index: u64,
    size: u64,
) -> Result<Vec<MerkleHash>, MerkleError<S::Error>> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let mut path = Vec::new();
    let (mut lo, mut hi) = (0, size);
    while hi - lo > 1 {
        let mid = lo + split(hi - lo);
        if index < mid {
            path.push(range_hash(store, mid, hi)?);
            hi = mid;
        } else {
            path.push(range_hash(store, lo, mid)?);
            lo = mid;
        }
    }
    path.reverse();
    Ok(path)
}

/// The consistency proof from the tree of `first` leaves to the tree of `second` leaves
/// (RFC 9162 §2.1.4.1 `PROOF(first, D[second])`), smallest subtrees first.
///
/// The proof is empty when `first` is 0 or equal to `second`. Reads O(log second) nodes.
///
/// # Errors
///
/// [`MerkleError::InvalidRange`] if `first > second`, [`MerkleError::MissingNode`] if
/// `store` lacks a node of the second tree, and store read errors.
pub fn consistency_proof<S: MerkleStore + ?Sized>(
    store: &S,
    first: u64,
    second: u64,
) -> Result<Vec<MerkleHash>, MerkleError<S::Error>> {
    if first > second {
        return Err(MerkleError::InvalidRange { first, second });
    }
    let mut proof = Vec::new();
    if first == 0 || first == second {
        return Ok(proof);
    }
    // SUBPROOF(first - lo, D[lo:hi], complete); invariant: lo < first <= hi.
    let (mut lo, mut hi, mut complete) = (0, second, true);
    loop {
        if first == hi {
            // The old tree's subtree is a node of the new tree. When `complete`, it is
            // the whole old tree, whose root the verifier already has.
            if !complete {
                proof.push(range_hash(store, lo, hi)?);
            }
            break;
        }
        let mid = lo + split(hi - lo);
        if first <= mid {
            proof.push(range_hash(store, mid, hi)?);
            hi = mid;
        } else {
            proof.push(range_hash(store, lo, mid)?);
            lo = mid;
            complete = false;
        }
    }
    proof.reverse();
    Ok(proof)
}
