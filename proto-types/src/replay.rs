//! The one verifier of a ledger's bytes, in layers, so that the audit, a node's catch-up and
//! its self-check verify alike and report a fault alike ([`ReplayFault`]):
//!
//! 1. **Bytes** ([`decode`]): strict decoding, the stored hash against the body, the Merkle
//!    leaf hash of the body's bytes.
//! 2. **Chain** ([`link`]): index, `prev`, time against the head so far.
//! 3. **Merkle** ([`CompactRange`]): the leaf and every subtree node it completes, for a
//!    verifier that compares a stored tree node by node without keeping the tree.
//! 4. **Signatures** ([`prepare`]): bytes decoded and their signatures verified together
//!    against a registry ([`crate::apply::preverify`]); a caller may run it on several threads.
//! 5. **Rules** ([`reapply`]): `apply` on the entry's submission at its recorded time, over the
//!    state so far, must produce the very entry (record, rule and detail, hash).
//!
//! The audit and catch-up use all of it; the self-check, which compares stored hashes and tree
//! nodes without re-applying, uses layers 1 to 3. No IO, no threads: callers stream and split.

use crate::apply::{apply, preverify, Applied, Outcome, Proposal, SignatureCheck};
use crate::crypto::PublicKey;
use crate::entry::{ChainFault, ChainHead, Entry, EntryBody, EntryHash, Rule};
use crate::merkle::{leaf_hash, node_hash, MerkleHash};
use crate::registry::Registry;
use crate::state::LedgerState;

/// Signatures per batch verification in [`prepare`].
pub const BATCH: usize = 64;

/// What is wrong with an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultKind {
    /// The bytes are not a canonical entry.
    #[error("undecodable entry: {0}")]
    Undecodable(String),
    /// The bytes are shorter than an entry's hash.
    #[error("an entry shorter than its hash")]
    Truncated,
    /// The stored hash is not the hash of the body's bytes.
    #[error("the stored hash is not the hash of the entry's body")]
    HashMismatch,
    /// The entry does not extend the chain (index, `prev`, time).
    #[error("{0}")]
    Chain(ChainFault),
    /// `apply` records another outcome for the entry's submission: `Some` with the rejection
    /// it would record, `None` if it would accept it.
    #[error("{}", recorded_otherwise(.0))]
    RecordedOtherwise(Option<(Rule, String)>),
    /// Same outcome, yet the entry differs from the one `apply` produces (time, detail bytes).
    #[error("the entry differs from what apply produces")]
    Differs,
    /// `apply` refuses the submission (it would never have been recorded).
    #[error("the entry should have been refused: {0}")]
    Refused(String),
    /// The submission repeats an earlier entry's.
    #[error("duplicate of entry {0}")]
    Duplicate(u64),
}

fn recorded_otherwise(r: &Option<(Rule, String)>) -> String {
    match r {
        Some((rule, detail)) => format!(
            "the rules would have recorded something else: {} ({detail})",
            rule.code()
        ),
        None => {
            "the rules would have recorded something else (accepted vs rejected, or another rule)"
                .into()
        }
    }
}

/// The first bad entry of a replay and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry {index}: {kind}")]
pub struct ReplayFault {
    /// Index of the bad entry (the position it was found at).
    pub index: u64,
    /// What is wrong.
    pub kind: FaultKind,
}

/// An entry decoded from its bytes, with its Merkle leaf hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The entry.
    pub entry: Entry,
    /// `leaf_hash` of the body's canonical bytes.
    pub leaf: MerkleHash,
}

/// Layer 1: decodes canonical entry bytes and checks the stored hash. Decoding is strict (the
/// bytes are the entry's only encoding), so the body's bytes are the bytes before the hash.
pub fn decode(bytes: &[u8]) -> Result<Decoded, FaultKind> {
    let entry = Entry::from_bytes(bytes).map_err(|e| FaultKind::Undecodable(e.to_string()))?;
    let body = Entry::leaf_of(bytes).ok_or(FaultKind::Truncated)?;
    if EntryHash::of_body_bytes(body) != entry.hash {
        return Err(FaultKind::HashMismatch);
    }
    Ok(Decoded {
        entry,
        leaf: leaf_hash(body),
    })
}

/// Layer 2: checks that `entry` extends `head` (index, `prev`, time); the new head. The
/// entry's own hash is layer 1's ([`decode`] checks it over the very bytes, without encoding
/// the body again); [`crate::entry::verify_link`] checks all four for an entry built in memory.
pub fn link(head: &ChainHead, entry: &Entry) -> Result<ChainHead, FaultKind> {
    crate::entry::extends(head, entry).map_err(FaultKind::Chain)
}

/// Layer 3: the right edge of a Merkle tree (its perfect subtrees, largest first), O(log n).
/// Each leaf pushed yields the tree nodes it completes, for comparison with a stored tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    range: Vec<(u8, MerkleHash)>,
}

/// A node of the tree: `(level, index at that level, hash)`; level 0 is the leaves.
pub type TreeNode = (u8, u64, MerkleHash);

impl CompactRange {
    /// The range of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Leaves pushed so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf by its hash: the leaf node and every node it completes, bottom up.
    pub fn push(&mut self, leaf: MerkleHash) -> Vec<TreeNode> {
        let (mut level, mut index, mut hash) = (0u8, self.size, leaf);
        let mut nodes = vec![(level, index, hash)];
        while index & 1 == 1 {
            // A set low bit means a left sibling of the same level is on the range's top.
            let (_, left) = self
                .range
                .pop()
                .expect("a compact range holds a subtree for each set bit of its size");
            hash = node_hash(&left, &hash);
            level += 1;
            index >>= 1;
            nodes.push((level, index, hash));
        }
        self.range.push((level, hash));
        self.size += 1;
        nodes
    }
}

/// An entry ready for [`reapply`]: decoded, with the key its signature verified with (if it
/// did in [`prepare`]; [`reapply`] verifies the others itself), its leaf hash and the bytes
/// it was decoded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared<'a> {
    /// The entry.
    pub entry: Entry,
    /// Its canonical bytes, as received.
    pub bytes: &'a [u8],
    /// The key its signature verified with, if it did.
    pub key: Option<PublicKey>,
    /// Its Merkle leaf hash.
    pub leaf: MerkleHash,
}

/// Layer 4: decodes a run of entry bytes and verifies their signatures together (batch
/// verification, which answers as strict verification does) against `registry` (the
/// registry as the run starts; `None` before genesis). An entry keeps its key only if its
/// signature verified with it; [`reapply`] verifies the others again, and `apply` trusts a key
/// only if it is still the signer's at the entry's own time.
pub fn prepare<'a, B: AsRef<[u8]>>(
    run: &'a [B],
    registry: Option<&Registry>,
) -> Vec<Result<Prepared<'a>, FaultKind>> {
    let decoded: Vec<Result<Decoded, FaultKind>> = run.iter().map(|b| decode(b.as_ref())).collect();
    let mut keys = vec![None; decoded.len()];
    if let Some(registry) = registry {
        let ok: Vec<usize> = (0..decoded.len()).filter(|&i| decoded[i].is_ok()).collect();
        let subs: Vec<_> = ok
            .iter()
            .filter_map(|&i| decoded[i].as_ref().ok())
            .map(|d| (d.entry.body.record.submission(), d.entry.body.accepted_at))
            .collect();
        for (&i, key) in ok.iter().zip(preverify(registry, &subs, BATCH)) {
            keys[i] = key;
        }
    }
    decoded
        .into_iter()
        .zip(keys)
        .zip(run)
        .map(|((d, key), bytes)| {
            d.map(|d| Prepared {
                entry: d.entry,
                bytes: bytes.as_ref(),
                key,
                leaf: d.leaf,
            })
        })
        .collect()
}

/// Layer 5: checks that `entry` extends the chain of `state` and is exactly what `apply`
/// records for its submission at its recorded time: the entry `apply` seals has the very
/// `bytes` it was decoded from. What to commit to `state`. `key` is the key its signature
/// already verified with, if any.
///
/// # Errors
///
/// The outer error is the state's (a storage failure); the inner one the entry's fault.
pub fn reapply<S: LedgerState>(
    state: &S,
    entry: Entry,
    bytes: &[u8],
    key: Option<PublicKey>,
) -> Result<Result<Applied, FaultKind>, S::Error> {
    if let Err(fault) = link(&state.head(), &entry) {
        return Ok(Err(fault));
    }
    // The submission moves into the proposal and back: no copy of it per entry.
    let Entry { body, hash } = entry;
    let EntryBody {
        index,
        accepted_at,
        record,
        prev,
    } = body;
    let (submission, rejected) = record.into_parts();
    let proposal = Proposal {
        submission,
        stamped_at: accepted_at,
    };
    let check = key.map_or(SignatureCheck::Verify, SignatureCheck::VerifiedWith);
    let outcome = apply(state, &proposal, check)?;
    let entry = Entry {
        body: EntryBody {
            index,
            accepted_at,
            record: crate::entry::Record::from_parts(proposal.submission, rejected),
            prev,
        },
        hash,
    };
    Ok(match outcome {
        // The bytes apply encoded are the bytes received (so the caller's leaf hash is theirs);
        // otherwise the decoded entry says what differs.
        Outcome::Appended(a) if a.bytes == bytes => Ok(*a),
        Outcome::Appended(a) if a.entry.body.record != entry.body.record => Err(
            FaultKind::RecordedOtherwise(a.entry.body.record.rejection()),
        ),
        Outcome::Appended(_) => Err(FaultKind::Differs),
        Outcome::Refused(r) => Err(FaultKind::Refused(r.to_string())),
        Outcome::Duplicate { index } => Err(FaultKind::Duplicate(index)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::MemTree;

    #[test]
    fn a_compact_range_yields_the_nodes_a_full_tree_holds() {
        let mut range = CompactRange::new();
        let mut tree = MemTree::new();
        for i in 0u64..37 {
            let leaf = leaf_hash(&i.to_be_bytes());
            tree.push_hash(leaf);
            let nodes = range.push(leaf);
            assert_eq!(nodes[0], (0, i, leaf));
            // The last node completed is the root of a perfect subtree ending at leaf i.
            let (level, index, hash) = *nodes.last().expect("the leaf at least");
            let width = 1u64 << level;
            assert_eq!(index * width + width - 1, i);
            if index == 0 {
                assert_eq!(tree.root_at(i + 1).expect("size"), hash);
            }
        }
        assert_eq!(range.size(), 37);
    }

    #[test]
    fn bytes_that_are_not_an_entry_are_a_fault_not_a_panic() {
        assert!(matches!(decode(b""), Err(FaultKind::Undecodable(_))));
        assert!(matches!(decode(&[1, 2, 3]), Err(FaultKind::Undecodable(_))));
    }
}
