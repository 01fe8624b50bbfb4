//! The ledger's memory of its recent tail, so that receipts and apply read no RocksDB row for
//! the entries they just wrote (issue 18, "receipts from memory").
//!
//! It holds, for the last [`WINDOW`] leaves, each entry's bytes and the Merkle nodes the leaf
//! completed below level [`HIGH`], and every node at level [`HIGH`] or above it has seen (one
//! per `2^HIGH` leaves: 10 MB at a hundred million entries). An inclusion proof of a recent
//! leaf, the root of a recent size and a tree head's last entry then come from memory; a node
//! it does not hold is read from the store as before ([`Miss`] says so).
//!
//! Invariant: it only ever holds what is written and synced. [`Recent::extend`] is called
//! after the batch that wrote those entries and nodes, before the ledger shows readers the new
//! head; the nodes and entries of one ledger are immutable once written, so a held value never
//! goes stale. Entries that do not continue the tail (a gap) restart the window; whatever the
//! tail does not hold, including anything beyond it, is a [`Miss`], never an absence.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, RwLock, RwLockReadGuard};

use proto_types::merkle::{self, MerkleHash, MerkleStore, NodeWrite};

use crate::store::{merkle_key, Cf, Store, StoreError};

/// Reads Merkle nodes from the store (apply's overlay keeps a batch's pending nodes on top;
/// the API's proofs read it directly).
pub(crate) struct StoreMerkle<'a>(pub(crate) &'a Store);

impl MerkleStore for StoreMerkle<'_> {
    type Error = StoreError;
    fn get(&self, level: u8, index: u64) -> Result<Option<MerkleHash>, StoreError> {
        match self.0.get(Cf::Merkle, &merkle_key(level, index))? {
            None => Ok(None),
            Some(v) => {
                let bytes: [u8; 32] = v
                    .as_slice()
                    .try_into()
                    .map_err(|_| StoreError::corrupt("merkle node", "not 32 bytes"))?;
                Ok(Some(MerkleHash::from_bytes(bytes)))
            }
        }
    }
}

/// How many recent leaves keep their entry bytes and low nodes.
pub const WINDOW: u64 = 8192;
/// Nodes at this level and above are kept for good.
pub const HIGH: u8 = 10;

/// A node or entry the recent tail does not hold (read it from the store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not in the recent tail")]
pub struct Miss;

/// One appended leaf: its entry's bytes and the hashes of the nodes it completed below
/// [`HIGH`], by level (the leaf hash first).
#[derive(Debug, Clone)]
struct Leaf {
    bytes: Arc<[u8]>,
    nodes: Vec<MerkleHash>,
}

#[derive(Debug, Default)]
struct Tail {
    /// The index of `leaves[0]`.
    first: u64,
    leaves: VecDeque<Leaf>,
    high: HashMap<(u8, u64), MerkleHash>,
}

impl Tail {
    /// The tree size the tail covers.
    fn size(&self) -> u64 {
        self.first + self.leaves.len() as u64
    }
}

impl MerkleStore for Tail {
    type Error = Miss;

    fn get(&self, level: u8, index: u64) -> Result<Option<MerkleHash>, Miss> {
        if level >= HIGH {
            return self
                .high
                .get(&(level, index))
                .copied()
                .map(Some)
                .ok_or(Miss);
        }
        // Node (level, index) is completed by its last leaf.
        let last = ((index + 1) << level) - 1;
        if last < self.first {
            return Err(Miss);
        }
        // Beyond the tail: the store says whether it exists.
        let leaf = self.leaves.get((last - self.first) as usize).ok_or(Miss)?;
        Ok(leaf.nodes.get(usize::from(level)).copied())
    }
}

/// The recent tail of one node's ledger. Cheap to read concurrently.
#[derive(Debug, Default)]
pub struct Recent {
    tail: RwLock<Tail>,
}

/// An entry appended by a written batch: its index and bytes.
pub type Written = (u64, Arc<[u8]>);

impl Recent {
    fn read(&self) -> RwLockReadGuard<'_, Tail> {
        self.tail
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes in what a written batch appended: its entries, in index order, and the Merkle
    /// nodes it wrote. Entries that do not continue the tail restart it.
    pub fn extend(&self, entries: Vec<Written>, nodes: &[NodeWrite]) {
        let Some(&(start, _)) = entries.first() else {
            return;
        };
        let mut tail = self
            .tail
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if start != tail.size() {
            tail.first = start;
            tail.leaves.clear();
        }
        for (_, bytes) in entries {
            tail.leaves.push_back(Leaf {
                bytes,
                nodes: Vec::new(),
            });
        }
        let (first, len) = (tail.first, tail.leaves.len() as u64);
        for &(level, index, hash) in nodes {
            if level >= HIGH {
                tail.high.insert((level, index), hash);
                continue;
            }
            let last = ((index + 1) << level) - 1;
            if last < first || last >= first + len {
                continue;
            }
            let leaf = &mut tail.leaves[(last - first) as usize];
            // A leaf's nodes come in increasing level from its append: keep them dense.
            if leaf.nodes.len() == usize::from(level) {
                leaf.nodes.push(hash);
            }
        }
        while tail.leaves.len() as u64 > WINDOW {
            tail.leaves.pop_front();
            tail.first += 1;
        }
    }

    /// Loads every stored node at level [`HIGH`] and above (at start: a node completed
    /// before it is needed by the proofs of every later leaf).
    pub fn load_high(&self, store: &Store) -> Result<(), StoreError> {
        let mut high = HashMap::new();
        let mut from = merkle_key(HIGH, 0).to_vec();
        loop {
            let page = store.scan(Cf::Merkle, &from, None, 4096)?;
            let Some((last, _)) = page.last() else { break };
            from = last.clone();
            from.push(0);
            for (key, value) in page {
                let (Ok(level_index), Ok(hash)) = (
                    <[u8; 9]>::try_from(key.as_slice()),
                    <[u8; 32]>::try_from(value.as_slice()),
                ) else {
                    return Err(StoreError::corrupt(
                        "merkle node",
                        "a key of 9 bytes and a value of 32",
                    ));
                };
                let index = u64::from_be_bytes(level_index[1..].try_into().unwrap_or_default());
                high.insert((level_index[0], index), MerkleHash::from_bytes(hash));
            }
        }
        let mut tail = self
            .tail
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tail.high.extend(high);
        Ok(())
    }

    /// The bytes of entry `index`, if recent.
    pub fn entry(&self, index: u64) -> Option<Arc<[u8]>> {
        let tail = self.read();
        let at = index.checked_sub(tail.first)?;
        tail.leaves.get(at as usize).map(|l| l.bytes.clone())
    }

    /// `PATH(index, D[size])` and the root at `size`, if every node they need is held.
    pub fn inclusion(&self, index: u64, size: u64) -> Option<(Vec<MerkleHash>, MerkleHash)> {
        let tail = self.read();
        if size > tail.size() {
            return None;
        }
        let path = merkle::inclusion_proof(&*tail, index, size).ok()?;
        let root = merkle::root(&*tail, size).ok()?;
        Some((path, root))
    }

    /// The root at `size`, if every node it needs is held.
    pub fn root(&self, size: u64) -> Option<MerkleHash> {
        let tail = self.read();
        if size > tail.size() {
            return None;
        }
        merkle::root(&*tail, size).ok()
    }

    /// Reads through the tail to `store` (for apply's appends). A high node read from the
    /// store is not kept here: [`Recent::extend`] alone fills the tail, from written batches.
    pub fn over<'a>(&'a self, store: &'a Store) -> Through<'a> {
        Through {
            tail: self.read(),
            store: StoreMerkle(store),
        }
    }
}

/// The recent tail over the store: memory first, then RocksDB.
pub struct Through<'a> {
    tail: RwLockReadGuard<'a, Tail>,
    store: StoreMerkle<'a>,
}

impl MerkleStore for Through<'_> {
    type Error = StoreError;

    fn get(&self, level: u8, index: u64) -> Result<Option<MerkleHash>, StoreError> {
        match self.tail.get(level, index) {
            Ok(found) => Ok(found),
            Err(Miss) => self.store.get(level, index),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_types::merkle::MemTree;

    /// Feeds `recent` the leaves `from..to` of `tree` as written batches of `batch` leaves.
    fn feed(recent: &Recent, tree: &MemTree, leaves: &[Vec<u8>], from: u64, to: u64, batch: u64) {
        let mut at = from;
        while at < to {
            let end = (at + batch).min(to);
            let entries = (at..end)
                .map(|i| (i, Arc::<[u8]>::from(leaves[i as usize].clone())))
                .collect();
            let mut nodes = Vec::new();
            for i in at..end {
                // The nodes leaf `i` completes, as `append_leaf` returns them.
                let mut level = 0u8;
                let mut index = i;
                loop {
                    let hash = tree.store().get(level, index).expect("mem").expect("node");
                    nodes.push((level, index, hash));
                    if index & 1 == 0 {
                        break;
                    }
                    level += 1;
                    index >>= 1;
                }
            }
            recent.extend(entries, &nodes);
            at = end;
        }
    }

    #[test]
    fn proofs_from_the_tail_equal_the_trees_and_misses_are_said() {
        let n = WINDOW * 2 + 1234;
        let leaves: Vec<Vec<u8>> = (0..n).map(|i| i.to_be_bytes().to_vec()).collect();
        let tree: MemTree = leaves.iter().collect();
        let recent = Recent::default();
        feed(&recent, &tree, &leaves, 0, n, 37);
        // Leaves at least 2^HIGH into the window: every proof and root from memory, equal to
        // the tree's (a leaf nearer the window's start needs a low node from before it).
        let oldest = n - WINDOW + (1 << HIGH);
        for size in [n, n - 1, n - 500, n - WINDOW / 2] {
            assert_eq!(recent.root(size), Some(tree.root_at(size).expect("root")));
            for index in [size - 1, size - 2, size - 100, oldest] {
                if index >= size {
                    continue;
                }
                let (path, root) = recent.inclusion(index, size).expect("from memory");
                assert_eq!(
                    path,
                    tree.inclusion_proof(index, size).expect("proof"),
                    "{index} {size}"
                );
                assert_eq!(root, tree.root_at(size).expect("root"));
            }
        }
        assert_eq!(
            recent.entry(n - 1).as_deref(),
            Some(leaves[(n - 1) as usize].as_slice())
        );
        // Old leaves and sizes beyond the tail: not from memory.
        assert_eq!(recent.entry(3), None);
        assert_eq!(recent.inclusion(3, n), None);
        assert_eq!(recent.root(n + 1), None);
    }

    #[test]
    fn a_gap_restarts_the_window() {
        let n = 3000u64;
        let leaves: Vec<Vec<u8>> = (0..n).map(|i| i.to_be_bytes().to_vec()).collect();
        let tree: MemTree = leaves.iter().collect();
        let recent = Recent::default();
        feed(&recent, &tree, &leaves, 0, 1000, 50);
        // Entries 1000..2000 written elsewhere (a catch-up the tail did not see).
        feed(&recent, &tree, &leaves, 2000, n, 50);
        assert_eq!(recent.entry(999), None);
        assert_eq!(recent.entry(2000).as_deref(), Some(leaves[2000].as_slice()));
        // The newest leaf's proof needs only nodes written since the gap: from memory.
        let (path, root) = recent.inclusion(n - 1, n).expect("from memory");
        assert_eq!(path, tree.inclusion_proof(n - 1, n).expect("proof"));
        assert_eq!(root, tree.root_at(n).expect("root"));
        // A proof that needs a node of the gap is a miss, never a wrong answer.
        assert_eq!(recent.inclusion(2000, n), None);
        for index in [2000, 2500, n - 1] {
            if let Some((path, root)) = recent.inclusion(index, n) {
                assert_eq!(path, tree.inclusion_proof(index, n).expect("proof"));
                assert_eq!(root, tree.root_at(n).expect("root"));
            }
        }
    }
}
