//! The Merkle tree (docs/FORMAT.md §Merkle) against the RFC 6962 reference vectors and
//! against a naive recursive implementation written straight from RFC 9162 §2.1.

use std::cell::Cell;
use std::convert::Infallible;

use proptest::prelude::*;
use proto_types::merkle::{
    append_leaf, consistency_proof, empty_root, inclusion_proof, leaf_hash, node_hash, root,
    verify_consistency, verify_inclusion, MemStore, MemTree, MerkleError, MerkleHash, MerkleStore,
    Overlay, ProofError,
};
use serde::Deserialize;

/// RFC 9162 §2.1 written as the RFC writes it: recursion over the leaves, hashing with
/// `sha2` directly rather than through the crate.
mod naive {
    use proto_types::merkle::MerkleHash;
    use sha2::{Digest, Sha256};

    fn hash(parts: &[&[u8]]) -> MerkleHash {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part);
        }
        MerkleHash::from_bytes(hasher.finalize().into())
    }

    /// The largest power of two smaller than `n`.
    fn k(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    /// MTH(D[n]).
    pub fn mth(d: &[Vec<u8>]) -> MerkleHash {
        match d.len() {
            0 => hash(&[]),
            1 => hash(&[&[0x00], &d[0]]),
            n => {
                let (left, right) = d.split_at(k(n));
                hash(&[&[0x01], mth(left).as_bytes(), mth(right).as_bytes()])
            }
        }
    }

    /// PATH(m, D[n]).
    pub fn path(m: usize, d: &[Vec<u8>]) -> Vec<MerkleHash> {
        let n = d.len();
        if n == 1 {
            return Vec::new();
        }
        let k = k(n);
        let (left, right) = d.split_at(k);
        let (mut proof, sibling) = if m < k {
            (path(m, left), mth(right))
        } else {
            (path(m - k, right), mth(left))
        };
        proof.push(sibling);
        proof
    }

    /// PROOF(m, D[n]); empty for m = 0.
    pub fn proof(m: usize, d: &[Vec<u8>]) -> Vec<MerkleHash> {
        if m == 0 {
            return Vec::new();
        }
        subproof(m, d, true)
    }

    /// SUBPROOF(m, D[n], b).
    fn subproof(m: usize, d: &[Vec<u8>], b: bool) -> Vec<MerkleHash> {
        let n = d.len();
        if m == n {
            return if b { Vec::new() } else { vec![mth(d)] };
        }
        let k = k(n);
        let (left, right) = d.split_at(k);
        let (mut proof, sibling) = if m <= k {
            (subproof(m, left, b), mth(right))
        } else {
            (subproof(m - k, right, false), mth(left))
        };
        proof.push(sibling);
        proof
    }
}

// ---------------------------------------------------------------------------------------
// Helpers.

const MAX_EXHAUSTIVE: usize = 64;

fn leaves(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("leaf {i}").into_bytes()).collect()
}

fn hash_from_hex(text: &str) -> MerkleHash {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text, &mut bytes).expect("vector hashes are 32 bytes of hex");
    MerkleHash::from_bytes(bytes)
}

fn hashes_from_hex(texts: &[String]) -> Vec<MerkleHash> {
    texts.iter().map(|t| hash_from_hex(t)).collect()
}

fn flip_bit(hash: &MerkleHash, bit: usize) -> MerkleHash {
    let mut bytes = *hash.as_bytes();
    bytes[bit / 8 % 32] ^= 1 << (bit % 8);
    MerkleHash::from_bytes(bytes)
}

fn bit_length(x: u64) -> u64 {
    u64::from(u64::BITS - x.leading_zeros())
}

/// The tree of `n` test leaves, and every root it has had.
fn tree_and_roots(n: usize) -> (MemTree, Vec<MerkleHash>) {
    let tree: MemTree = leaves(n).iter().collect();
    let roots = (0..=n as u64)
        .map(|size| tree.root_at(size).expect("size within tree"))
        .collect();
    (tree, roots)
}

/// A store that counts its reads.
struct Counting<S> {
    inner: S,
    reads: Cell<u64>,
}

impl<S: MerkleStore> Counting<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            reads: Cell::new(0),
        }
    }

    fn take_reads(&self) -> u64 {
        self.reads.replace(0)
    }
}

impl<S: MerkleStore> MerkleStore for Counting<S> {
    type Error = S::Error;

    fn get(&self, level: u8, index: u64) -> Result<Option<MerkleHash>, S::Error> {
        self.reads.set(self.reads.get() + 1);
        self.inner.get(level, index)
    }
}

/// A tree of `size` identical leaves, of any size up to `u64::MAX`, without storing it:
/// every complete subtree of a level has the same hash. Nodes beyond `size` are absent.
struct Uniform {
    size: u64,
    level_hashes: Vec<MerkleHash>,
}

impl Uniform {
    fn new(size: u64) -> Self {
        let mut level_hashes = vec![leaf_hash(b"same")];
        for level in 1..64 {
            let below = level_hashes[level - 1];
            level_hashes.push(node_hash(&below, &below));
        }
        Self { size, level_hashes }
    }
}

impl MerkleStore for Uniform {
    type Error = Infallible;

    fn get(&self, level: u8, index: u64) -> Result<Option<MerkleHash>, Infallible> {
        let end = (u128::from(index) + 1) << level;
        Ok((end <= u128::from(self.size)).then(|| self.level_hashes[usize::from(level)]))
    }
}

// ---------------------------------------------------------------------------------------
// RFC 6962 reference vectors (tests/data/rfc6962.json, copied from shared/vectors).

#[derive(Deserialize)]
struct Vectors {
    leaves_hex: Vec<String>,
    leaf_hashes_hex: Vec<String>,
    roots_hex: Vec<String>,
    inclusion: Vec<InclusionVector>,
    consistency: Vec<ConsistencyVector>,
}

#[derive(Deserialize)]
struct InclusionVector {
    index: u64,
    tree_size: u64,
    proof_hex: Vec<String>,
}

#[derive(Deserialize)]
struct ConsistencyVector {
    first: u64,
    second: u64,
    proof_hex: Vec<String>,
}

fn vectors() -> Vectors {
    serde_json::from_str(include_str!("data/rfc6962.json")).expect("vector file is valid JSON")
}

fn vector_tree(v: &Vectors) -> MemTree {
    v.leaves_hex
        .iter()
        .map(|leaf| hex::decode(leaf).expect("leaves are hex"))
        .collect()
}

#[test]
fn leaf_hashes_match_rfc6962_vectors() {
    let v = vectors();
    assert_eq!(v.leaves_hex.len(), 8);
    for (leaf, expected) in v.leaves_hex.iter().zip(&v.leaf_hashes_hex) {
        let leaf = hex::decode(leaf).expect("leaves are hex");
        assert_eq!(
            leaf_hash(&leaf),
            hash_from_hex(expected),
            "leaf {leaf:02x?}"
        );
    }
}

#[test]
fn roots_match_rfc6962_vectors_for_sizes_0_to_8() {
    let v = vectors();
    let tree = vector_tree(&v);
    assert_eq!(v.roots_hex.len(), 9);
    for (size, expected) in v.roots_hex.iter().enumerate() {
        let expected = hash_from_hex(expected);
        assert_eq!(
            tree.root_at(size as u64).expect("size within tree"),
            expected
        );
    }
    assert_eq!(tree.root(), hash_from_hex(&v.roots_hex[8]));
    assert_eq!(empty_root(), hash_from_hex(&v.roots_hex[0]));
}

#[test]
fn inclusion_proofs_match_rfc6962_vectors_and_verify() {
    let v = vectors();
    let tree = vector_tree(&v);
    assert_eq!(v.inclusion.len(), 36);
    for case in &v.inclusion {
        let expected = hashes_from_hex(&case.proof_hex);
        let proof = tree
            .inclusion_proof(case.index, case.tree_size)
            .expect("vector index is in range");
        assert_eq!(
            proof, expected,
            "index {} size {}",
            case.index, case.tree_size
        );
        let leaf = hash_from_hex(&v.leaf_hashes_hex[case.index as usize]);
        let root = hash_from_hex(&v.roots_hex[case.tree_size as usize]);
        assert_eq!(
            verify_inclusion(&leaf, case.index, case.tree_size, &proof, &root),
            Ok(())
        );
    }
}

#[test]
fn consistency_proofs_match_rfc6962_vectors_and_verify() {
    let v = vectors();
    let tree = vector_tree(&v);
    assert_eq!(v.consistency.len(), 36);
    for case in &v.consistency {
        let expected = hashes_from_hex(&case.proof_hex);
        let proof = tree
            .consistency_proof(case.first, case.second)
            .expect("vector sizes are ordered");
        assert_eq!(
            proof, expected,
            "first {} second {}",
            case.first, case.second
        );
        let first_root = hash_from_hex(&v.roots_hex[case.first as usize]);
        let second_root = hash_from_hex(&v.roots_hex[case.second as usize]);
        assert_eq!(
            verify_consistency(case.first, case.second, &first_root, &second_root, &proof),
            Ok(())
        );
    }
}

// ---------------------------------------------------------------------------------------
// Every size up to 64 against the naive implementation.

#[test]
fn roots_agree_with_naive_mth_for_every_size_up_to_64() {
    let all = leaves(MAX_EXHAUSTIVE);
    let (_, roots) = tree_and_roots(MAX_EXHAUSTIVE);
    for (size, root) in roots.iter().enumerate() {
        assert_eq!(*root, naive::mth(&all[..size]), "size {size}");
    }
}

#[test]
fn inclusion_proofs_agree_with_naive_path_and_verify_for_every_index_up_to_64() {
    let all = leaves(MAX_EXHAUSTIVE);
    let (tree, roots) = tree_and_roots(MAX_EXHAUSTIVE);
    let mut checked = 0;
    for size in 1..=MAX_EXHAUSTIVE {
        for index in 0..size {
            let proof = tree
                .inclusion_proof(index as u64, size as u64)
                .expect("index below size");
            assert_eq!(proof, naive::path(index, &all[..size]), "{index} in {size}");
            let leaf = leaf_hash(&all[index]);
            assert_eq!(
                verify_inclusion(&leaf, index as u64, size as u64, &proof, &roots[size]),
                Ok(())
            );
            checked += 1;
        }
    }
    assert_eq!(checked, MAX_EXHAUSTIVE * (MAX_EXHAUSTIVE + 1) / 2);
}

#[test]
fn consistency_proofs_agree_with_naive_proof_and_verify_for_every_pair_up_to_64() {
    let all = leaves(MAX_EXHAUSTIVE);
    let (tree, roots) = tree_and_roots(MAX_EXHAUSTIVE);
    let mut checked = 0;
    for second in 0..=MAX_EXHAUSTIVE {
        for first in 0..=second {
            let proof = tree
                .consistency_proof(first as u64, second as u64)
                .expect("sizes are ordered");
            assert_eq!(
                proof,
                naive::proof(first, &all[..second]),
                "{first}..{second}"
            );
            assert_eq!(
                verify_consistency(
                    first as u64,
                    second as u64,
                    &roots[first],
                    &roots[second],
                    &proof
                ),
                Ok(())
            );
            checked += 1;
        }
    }
    assert_eq!(checked, (MAX_EXHAUSTIVE + 1) * (MAX_EXHAUSTIVE + 2) / 2);
}

#[test]
fn verify_inclusion_rejects_every_flipped_bit_position_in_every_proof_hash() {
    let all = leaves(MAX_EXHAUSTIVE);
    let (tree, roots) = tree_and_roots(MAX_EXHAUSTIVE);
    for size in 1..=MAX_EXHAUSTIVE as u64 {
        for index in 0..size {
            let proof = tree.inclusion_proof(index, size).expect("index below size");
            let leaf = leaf_hash(&all[index as usize]);
            for position in 0..proof.len() {
                for bit in [0, 7, 100, 255] {
                    let mut bad = proof.clone();
                    bad[position] = flip_bit(&bad[position], bit);
                    assert_eq!(
                        verify_inclusion(&leaf, index, size, &bad, &roots[size as usize]),
                        Err(ProofError::RootMismatch),
                        "{index} in {size}, hash {position}, bit {bit}"
                    );
                }
            }
        }
    }
}

#[test]
fn verify_inclusion_rejects_a_proof_for_any_other_index() {
    let all = leaves(MAX_EXHAUSTIVE);
    let (tree, roots) = tree_and_roots(MAX_EXHAUSTIVE);
    for size in 1..=MAX_EXHAUSTIVE as u64 {
        for index in 0..size {
            let proof = tree.inclusion_proof(index, size).expect("index below size");
            let leaf = leaf_hash(&all[index as usize]);
            for other in (0..=size).filter(|&other| other != index) {
                assert!(
                    verify_inclusion(&leaf, other, size, &proof, &roots[size as usize]).is_err(),
                    "proof of {index} accepted as {other} in {size}"
                );
            }
        }
    }
}

#[test]
fn verify_inclusion_rejects_a_proof_against_another_sizes_root() {
    let all = leaves(MAX_EXHAUSTIVE);
    let (tree, roots) = tree_and_roots(MAX_EXHAUSTIVE);
    for size in 1..=MAX_EXHAUSTIVE as u64 {
        for index in 0..size {
            let proof = tree.inclusion_proof(index, size).expect("index below size");
            let leaf = leaf_hash(&all[index as usize]);
            for other in (index + 1..=MAX_EXHAUSTIVE as u64).filter(|&other| other != size) {
                assert!(
                    verify_inclusion(&leaf, index, other, &proof, &roots[other as usize]).is_err(),
                    "proof of {index} in {size} accepted in {other}"
                );
            }
        }
    }
}

#[test]
fn verify_inclusion_rejects_wrong_leaf_and_truncated_or_extended_proofs() {
    let all = leaves(MAX_EXHAUSTIVE);
    let (tree, roots) = tree_and_roots(MAX_EXHAUSTIVE);
    for size in 1..=MAX_EXHAUSTIVE as u64 {
        let root = &roots[size as usize];
        for index in 0..size {
            let proof = tree.inclusion_proof(index, size).expect("index below size");
            let leaf = leaf_hash(&all[index as usize]);
            let wrong_leaf = leaf_hash(b"not in the tree");
            assert_eq!(
                verify_inclusion(&wrong_leaf, index, size, &proof, root),
                Err(ProofError::RootMismatch)
            );
            let mut longer = proof.clone();
            longer.push(leaf);
            assert_eq!(
                verify_inclusion(&leaf, index, size, &longer, root),
                Err(ProofError::WrongProofLength {
                    expected: proof.len(),
                    actual: proof.len() + 1
                })
            );
            if let Some((_, shorter)) = proof.split_last() {
                assert_eq!(
                    verify_inclusion(&leaf, index, size, shorter, root),
                    Err(ProofError::WrongProofLength {
                        expected: proof.len(),
                        actual: proof.len() - 1
                    })
                );
            }
        }
    }
}

#[test]
fn verify_consistency_rejects_every_flipped_bit_position_in_every_proof_hash() {
    let (tree, roots) = tree_and_roots(MAX_EXHAUSTIVE);
    for second in 1..=MAX_EXHAUSTIVE as u64 {
        for first in 1..second {
            let proof = tree.consistency_proof(first, second).expect("ordered");
            let (r1, r2) = (&roots[first as usize], &roots[second as usize]);
            for position in 0..proof.len() {
                for bit in [0, 7, 100, 255] {
                    let mut bad = proof.clone();
                    bad[position] = flip_bit(&bad[position], bit);
                    assert!(
                        matches!(
                            verify_consistency(first, second, r1, r2, &bad),
                            Err(ProofError::RootMismatch | ProofError::FirstRootMismatch)
                        ),
                        "{first}..{second}, hash {position}, bit {bit}"
                    );
                }
            }
        }
    }
}

#[test]
fn verify_consistency_rejects_a_proof_for_any_other_pair_of_sizes() {
    let (tree, roots) = tree_and_roots(MAX_EXHAUSTIVE);
    let max = MAX_EXHAUSTIVE as u64;
    for second in 1..=max {
        for first in 1..second {
            let proof = tree.consistency_proof(first, second).expect("ordered");
            let others = [
                (first - 1, second),
                (first + 1, second),
                (first, second - 1),
                (first, second + 1),
                (first + 1, second + 1),
            ];
            for (f, s) in others {
                if (f, s) == (first, second) || f == 0 || s > max {
                    continue;
                }
                let result =
                    verify_consistency(f, s, &roots[f as usize], &roots[s as usize], &proof);
                assert!(
                    result.is_err(),
                    "proof of {first}..{second} accepted as {f}..{s}"
                );
            }
        }
    }
}

#[test]
fn verify_consistency_rejects_wrong_or_swapped_roots_and_truncated_or_extended_proofs() {
    let (tree, roots) = tree_and_roots(MAX_EXHAUSTIVE);
    for second in 2..=MAX_EXHAUSTIVE as u64 {
        for first in 1..second {
            let proof = tree.consistency_proof(first, second).expect("ordered");
            let (r1, r2) = (&roots[first as usize], &roots[second as usize]);
            assert!(verify_consistency(first, second, r2, r1, &proof).is_err());
            assert!(verify_consistency(first, second, r1, r1, &proof).is_err());
            let wrong_first = leaf_hash(b"not the first root");
            let expected = if first.is_power_of_two() {
                // The first root seeds the path to the second root.
                ProofError::RootMismatch
            } else {
                ProofError::FirstRootMismatch
            };
            assert_eq!(
                verify_consistency(first, second, &wrong_first, r2, &proof),
                Err(expected)
            );
            let mut longer = proof.clone();
            longer.push(*r1);
            assert_eq!(
                verify_consistency(first, second, r1, r2, &longer),
                Err(ProofError::WrongProofLength {
                    expected: proof.len(),
                    actual: proof.len() + 1
                })
            );
            let (_, shorter) = proof
                .split_last()
                .expect("proofs for first < second are non-empty");
            assert_eq!(
                verify_consistency(first, second, r1, r2, shorter),
                Err(ProofError::WrongProofLength {
                    expected: proof.len(),
                    actual: proof.len() - 1
                })
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Edge cases of verification, table-driven.

#[test]
fn verify_inclusion_edge_cases() {
    let (_, roots) = tree_and_roots(4);
    let leaf = leaf_hash(b"leaf 0");
    let check = |index: u64, size: u64, proof: &[MerkleHash], root: &MerkleHash, expected| {
        assert_eq!(
            verify_inclusion(&leaf, index, size, proof, root),
            expected,
            "index {index} size {size}"
        );
    };
    check(
        0,
        0,
        &[],
        &empty_root(),
        Err(ProofError::IndexOutOfRange { index: 0, size: 0 }),
    );
    check(
        4,
        4,
        &[],
        &roots[4],
        Err(ProofError::IndexOutOfRange { index: 4, size: 4 }),
    );
    check(
        u64::MAX,
        1,
        &[],
        &roots[1],
        Err(ProofError::IndexOutOfRange {
            index: u64::MAX,
            size: 1,
        }),
    );
    check(0, 1, &[], &roots[1], Ok(()));
    check(0, 1, &[], &roots[2], Err(ProofError::RootMismatch));
    check(
        0,
        1,
        &[leaf],
        &roots[1],
        Err(ProofError::WrongProofLength {
            expected: 0,
            actual: 1,
        }),
    );
    check(
        0,
        u64::MAX,
        &[],
        &roots[1],
        Err(ProofError::WrongProofLength {
            expected: 64,
            actual: 0,
        }),
    );
}

#[test]
fn verify_consistency_edge_cases() {
    let (_, roots) = tree_and_roots(4);
    let check = |first: u64,
                 second: u64,
                 r1: &MerkleHash,
                 r2: &MerkleHash,
                 proof: &[MerkleHash],
                 expected| {
        assert_eq!(
            verify_consistency(first, second, r1, r2, proof),
            expected,
            "{first}..{second}"
        );
    };
    let other = leaf_hash(b"other");
    check(
        2,
        1,
        &roots[2],
        &roots[1],
        &[],
        Err(ProofError::InvalidSizes {
            first: 2,
            second: 1,
        }),
    );
    check(0, 0, &empty_root(), &empty_root(), &[], Ok(()));
    check(0, 3, &empty_root(), &roots[3], &[], Ok(()));
    check(
        0,
        3,
        &other,
        &roots[3],
        &[],
        Err(ProofError::FirstRootMismatch),
    );
    check(
        0,
        3,
        &empty_root(),
        &roots[3],
        &[other],
        Err(ProofError::WrongProofLength {
            expected: 0,
            actual: 1,
        }),
    );
    check(3, 3, &roots[3], &roots[3], &[], Ok(()));
    check(
        3,
        3,
        &roots[3],
        &roots[4],
        &[],
        Err(ProofError::RootMismatch),
    );
    check(
        3,
        3,
        &roots[3],
        &roots[3],
        &[other],
        Err(ProofError::WrongProofLength {
            expected: 0,
            actual: 1,
        }),
    );
    check(
        1,
        4,
        &roots[1],
        &roots[4],
        &[],
        Err(ProofError::WrongProofLength {
            expected: 2,
            actual: 0,
        }),
    );
}

// ---------------------------------------------------------------------------------------
// The store API.

#[test]
fn appending_writes_the_leaf_and_every_subtree_it_completes() {
    let mut store = MemStore::new();
    for size in 0..MAX_EXHAUSTIVE as u64 {
        let leaf = format!("leaf {size}").into_bytes();
        let writes = append_leaf(&store, size, &leaf).expect("append at the current size");
        let keys: Vec<(u8, u64)> = writes.iter().map(|(l, i, _)| (*l, *i)).collect();
        let completed = (size + 1).trailing_zeros() as u8;
        let expected: Vec<(u8, u64)> = (0..=completed)
            .map(|level| (level, size >> level))
            .collect();
        assert_eq!(keys, expected, "appending leaf {size}");
        assert_eq!(writes[0].2, leaf_hash(&leaf));
        store.apply(writes);
    }
    // A perfect tree of 64 leaves has 127 nodes.
    assert_eq!(store.len(), 127);
    assert_eq!(
        store.get(6, 0).expect("infallible"),
        Some(naive::mth(&leaves(64)))
    );
}

#[test]
fn appending_at_a_stale_size_is_refused() {
    let tree: MemTree = leaves(5).iter().collect();
    for stale in 0..5 {
        assert!(matches!(
            append_leaf(tree.store(), stale, b"again"),
            Err(MerkleError::LeafExists { index }) if index == stale
        ));
    }
}

#[test]
fn appending_past_the_end_reports_the_missing_sibling() {
    let tree: MemTree = leaves(5).iter().collect();
    assert!(matches!(
        append_leaf(tree.store(), 7, b"gap"),
        Err(MerkleError::MissingNode { level: 0, index: 6 })
    ));
}

#[test]
fn appending_to_a_full_tree_is_refused() {
    assert!(matches!(
        append_leaf(&MemStore::new(), u64::MAX, b"one too many"),
        Err(MerkleError::TreeFull)
    ));
}

#[test]
fn overlay_batch_writes_the_same_nodes_as_appending_one_at_a_time() {
    for existing in [0usize, 1, 5, 8, 13] {
        for batch in [1usize, 2, 3, 8, 20] {
            let all = leaves(existing + batch);
            let base: MemTree = all[..existing].iter().collect();
            let mut overlay = Overlay::new(base.store());
            for (i, leaf) in all.iter().enumerate().skip(existing) {
                overlay
                    .append_leaf(i as u64, leaf)
                    .expect("append at the current size");
            }
            assert_eq!(
                root(&overlay, (existing + batch) as u64).expect("overlay holds the tree"),
                naive::mth(&all)
            );
            let writes = overlay.into_writes();
            assert!(writes
                .windows(2)
                .all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
            let mut store = base.store().clone();
            store.apply(writes);
            let sequential: MemTree = all.iter().collect();
            assert_eq!(&store, sequential.store(), "{existing} + {batch}");
        }
    }
}

#[test]
fn overlay_refuses_a_stale_size_and_stages_nothing() {
    let base: MemTree = leaves(3).iter().collect();
    let mut overlay = Overlay::new(base.store());
    overlay
        .append_leaf(3, b"leaf 3")
        .expect("append at the current size");
    let staged = overlay.len();
    assert!(matches!(
        overlay.append_leaf(3, b"leaf 3 again"),
        Err(MerkleError::LeafExists { index: 3 })
    ));
    assert_eq!(overlay.len(), staged);
    assert!(!overlay.is_empty());
}

#[test]
fn store_queries_report_bad_sizes_and_missing_nodes() {
    let tree: MemTree = leaves(5).iter().collect();
    let store = tree.store();
    assert!(matches!(
        root(store, 6),
        Err(MerkleError::MissingNode { level: 1, index: 2 })
    ));
    assert!(matches!(
        inclusion_proof(store, 5, 5),
        Err(MerkleError::IndexOutOfRange { index: 5, size: 5 })
    ));
    assert!(matches!(
        consistency_proof(store, 4, 3),
        Err(MerkleError::InvalidRange {
            first: 4,
            second: 3
        })
    ));
    assert!(matches!(
        tree.root_at(6),
        Err(MerkleError::SizeBeyondTree {
            requested: 6,
            size: 5
        })
    ));
    assert!(matches!(
        tree.inclusion_proof(0, 6),
        Err(MerkleError::SizeBeyondTree {
            requested: 6,
            size: 5
        })
    ));
    assert!(matches!(
        tree.consistency_proof(1, 6),
        Err(MerkleError::SizeBeyondTree {
            requested: 6,
            size: 5
        })
    ));
}

#[test]
fn roots_and_proofs_read_logarithmically_many_nodes() {
    let n = 1000u64;
    let store = Counting::new(
        leaves(n as usize)
            .iter()
            .collect::<MemTree>()
            .store()
            .clone(),
    );
    for size in 1..=n {
        let bound = 2 * bit_length(size) + 1;
        root(&store, size).expect("stored");
        assert!(store.take_reads() <= bit_length(size), "root of {size}");
        for index in [0, size / 3, size / 2, size - 1] {
            inclusion_proof(&store, index, size).expect("stored");
            assert!(
                store.take_reads() <= bound,
                "inclusion of {index} in {size}"
            );
        }
        for first in [1, size / 3, size / 2, size - 1]
            .into_iter()
            .filter(|&f| f > 0)
        {
            consistency_proof(&store, first, size).expect("stored");
            assert!(store.take_reads() <= bound, "consistency {first}..{size}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// MerkleHash encoding.

#[test]
fn merkle_hash_displays_as_lowercase_hex() {
    let hash = MerkleHash::from_bytes([0xAB; 32]);
    assert_eq!(hash.to_string(), "ab".repeat(32));
}

#[test]
fn merkle_hash_postcard_encoding_is_length_prefixed_raw_bytes() {
    let hash = leaf_hash(b"x");
    let bytes = postcard_bytes(&hash);
    assert_eq!(bytes[0], 32);
    assert_eq!(&bytes[1..], hash.as_bytes());
    assert_eq!(
        postcard::from_bytes::<MerkleHash>(&bytes).expect("round trip"),
        hash
    );
}

fn postcard_bytes(hash: &MerkleHash) -> Vec<u8> {
    postcard::to_allocvec(hash).expect("encoding to a Vec cannot fail")
}

#[test]
fn merkle_hash_decoding_rejects_other_lengths() {
    for len in [0usize, 1, 31, 33, 64] {
        let mut encoded = vec![len as u8];
        encoded.extend(std::iter::repeat_n(7u8, len));
        assert!(
            postcard::from_bytes::<MerkleHash>(&encoded).is_err(),
            "postcard {len}"
        );
        let json = serde_json::to_string(&vec![7u8; len]).expect("json of bytes");
        assert!(
            serde_json::from_str::<MerkleHash>(&json).is_err(),
            "json {len}"
        );
    }
}

#[test]
fn merkle_hash_round_trips_through_json() {
    let hash = leaf_hash(b"x");
    let json = serde_json::to_string(&hash).expect("json");
    assert_eq!(
        serde_json::from_str::<MerkleHash>(&json).expect("round trip"),
        hash
    );
}

// ---------------------------------------------------------------------------------------
// Properties.

proptest! {
    #[test]
    fn random_trees_prove_every_leaf_like_the_rfc(
        leaves in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..24), 1..100),
        pick in any::<prop::sample::Index>(),
    ) {
        let tree: MemTree = leaves.iter().collect();
        let size = leaves.len() as u64;
        prop_assert_eq!(tree.root(), naive::mth(&leaves));
        let index = pick.index(leaves.len());
        let proof = tree.inclusion_proof(index as u64, size).expect("index below size");
        prop_assert_eq!(&proof, &naive::path(index, &leaves));
        prop_assert_eq!(
            verify_inclusion(&leaf_hash(&leaves[index]), index as u64, size, &proof, &tree.root()),
            Ok(())
        );
    }

    #[test]
    fn random_trees_prove_consistency_of_every_prefix_like_the_rfc(
        leaves in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..24), 0..100),
        pick in any::<prop::sample::Index>(),
    ) {
        let tree: MemTree = leaves.iter().collect();
        let first = pick.index(leaves.len() + 1);
        let second = leaves.len() as u64;
        let proof = tree.consistency_proof(first as u64, second).expect("ordered");
        prop_assert_eq!(&proof, &naive::proof(first, &leaves));
        let first_root = tree.root_at(first as u64).expect("prefix");
        prop_assert_eq!(
            verify_consistency(first as u64, second, &first_root, &tree.root(), &proof),
            Ok(())
        );
    }

    #[test]
    fn any_flipped_bit_in_an_inclusion_proof_is_rejected(
        size in 2u64..300,
        pick in any::<prop::sample::Index>(),
        which in any::<prop::sample::Index>(),
        bit in 0usize..256,
    ) {
        let tree: MemTree = leaves(size as usize).iter().collect();
        let index = pick.index(size as usize) as u64;
        let mut proof = tree.inclusion_proof(index, size).expect("index below size");
        let position = which.index(proof.len());
        proof[position] = flip_bit(&proof[position], bit);
        let leaf = leaf_hash(format!("leaf {index}").as_bytes());
        prop_assert_eq!(
            verify_inclusion(&leaf, index, size, &proof, &tree.root()),
            Err(ProofError::RootMismatch)
        );
    }

    #[test]
    fn any_flipped_bit_in_a_consistency_proof_is_rejected(
        second in 2u64..300,
        pick in any::<prop::sample::Index>(),
        which in any::<prop::sample::Index>(),
        bit in 0usize..256,
    ) {
        let tree: MemTree = leaves(second as usize).iter().collect();
        let first = 1 + pick.index(second as usize - 1) as u64;
        let mut proof = tree.consistency_proof(first, second).expect("ordered");
        let position = which.index(proof.len());
        proof[position] = flip_bit(&proof[position], bit);
        let first_root = tree.root_at(first).expect("prefix");
        prop_assert!(verify_consistency(first, second, &first_root, &tree.root(), &proof).is_err());
    }

    #[test]
    fn huge_trees_prove_in_logarithmically_many_reads(
        size in 1u64..=u64::MAX,
        a in any::<u64>(),
        b in any::<u64>(),
    ) {
        let store = Counting::new(Uniform::new(size));
        let bound = 2 * bit_length(size) + 1;
        let leaf = leaf_hash(b"same");
        let root_hash = root(&store, size).expect("uniform store holds the tree");
        prop_assert!(store.take_reads() <= bit_length(size));

        let index = a % size;
        let proof = inclusion_proof(&store, index, size).expect("uniform store holds the tree");
        prop_assert!(store.take_reads() <= bound);
        prop_assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root_hash), Ok(()));

        let first = b % (size + 1);
        let first_root = root(&store, first).expect("uniform store holds the prefix");
        store.take_reads();
        let proof = consistency_proof(&store, first, size).expect("ordered");
        prop_assert!(store.take_reads() <= bound);
        prop_assert_eq!(verify_consistency(first, size, &first_root, &root_hash, &proof), Ok(()));
    }

    #[test]
    fn merkle_hash_round_trips_through_postcard(bytes in any::<[u8; 32]>()) {
        let hash = MerkleHash::from_bytes(bytes);
        let encoded = postcard_bytes(&hash);
        prop_assert_eq!(encoded.len(), 33);
        prop_assert_eq!(postcard::from_bytes::<MerkleHash>(&encoded).expect("round trip"), hash);
    }
}
