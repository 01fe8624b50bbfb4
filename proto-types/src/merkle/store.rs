//! Where complete-subtree hashes live, and how appending a leaf extends them
//! (docs/FORMAT.md §Merkle).

use std::collections::BTreeMap;
use std::convert::Infallible;

use super::{consistency_proof, inclusion_proof, leaf_hash, node_hash, root};
use super::{MerkleError, MerkleHash};

/// A node to write after an append: `(level, index, hash)` (see [`MerkleStore`] for the keys).
pub type NodeWrite = (u8, u64, MerkleHash);

/// Read access to the hashes of complete subtrees.
///
/// Node `(level, index)` is the root of the perfect subtree over leaves
/// `[index·2^level, (index+1)·2^level)`; level 0 holds the leaf hashes. A store holds a
/// node exactly when all of its leaves have been appended. Writing is left to the caller:
/// see [`append_leaf`].
pub trait MerkleStore {
    /// The store's read error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The hash of node `(level, index)`, or `None` if it is not stored.
    fn get(&self, level: u8, index: u64) -> Result<Option<MerkleHash>, Self::Error>;
}

impl<S: MerkleStore + ?Sized> MerkleStore for &S {
    type Error = S::Error;

    fn get(&self, level: u8, index: u64) -> Result<Option<MerkleHash>, Self::Error> {
        (**self).get(level, index)
    }
}

/// Reads a node that must be present.
pub(super) fn read<S: MerkleStore + ?Sized>(
    store: &S,
    level: u8,
    index: u64,
) -> Result<MerkleHash, MerkleError<S::Error>> {
    store
        .get(level, index)
        .map_err(MerkleError::Store)?
        .ok_or(MerkleError::MissingNode { level, index })
}

/// Appends `leaf` as leaf number `size` of the tree in `store`, which holds `size` leaves.
///
/// Returns the nodes to write, as `(level, index, hash)` in increasing level: the leaf
/// hash at `(0, size)`, then every subtree that this leaf completes (one per trailing one
/// bit of `size`), each computed from its stored left child. Nothing is written: the
/// caller persists the returned nodes, for example in one write batch, or stages them in
/// an [`Overlay`] to append more leaves first.
///
/// # Errors
///
/// [`MerkleError::LeafExists`] if leaf `size` is already stored (the size is stale),
/// [`MerkleError::MissingNode`] if a left sibling is absent (the size is too large),
/// [`MerkleError::TreeFull`] if `size` is `u64::MAX`, and store read errors.
pub fn append_leaf<S: MerkleStore + ?Sized>(
    store: &S,
    size: u64,
    leaf: &[u8],
) -> Result<Vec<NodeWrite>, MerkleError<S::Error>> {
    append_leaf_hash(store, size, leaf_hash(leaf))
}

/// Like [`append_leaf`], for a leaf whose [`leaf_hash`] the caller already has.
///
/// # Errors
///
/// As [`append_leaf`].
pub fn append_leaf_hash<S: MerkleStore + ?Sized>(
    store: &S,
    size: u64,
    leaf_hash: MerkleHash,
) -> Result<Vec<NodeWrite>, MerkleError<S::Error>> {
    if size == u64::MAX {
        return Err(MerkleError::TreeFull);
    }
    if store.get(0, size).map_err(MerkleError::Store)?.is_some() {
        return Err(MerkleError::LeafExists { index: size });
    }
    let mut writes = vec![(0, size, leaf_hash)];
    let (mut level, mut index, mut hash) = (0u8, size, leaf_hash);
    // A node with an odd index is a right child: its parent is now complete.
    while index & 1 == 1 {
        let left = read(store, level, index - 1)?;
        hash = node_hash(&left, &hash);
        level += 1;
        index >>= 1;
        writes.push((level, index, hash));
    }
    Ok(writes)
}

/// Pending node writes stacked over a store, so that several leaves can be appended
/// before anything is persisted.
///
/// Reads see the pending writes first, then the underlying store.
#[derive(Debug)]
pub struct Overlay<'a, S: ?Sized> {
    base: &'a S,
    pending: BTreeMap<(u8, u64), MerkleHash>,
}

impl<'a, S: MerkleStore + ?Sized> Overlay<'a, S> {
    /// An overlay with no pending writes over `base`.
    pub fn new(base: &'a S) -> Self {
        Self {
            base,
            pending: BTreeMap::new(),
        }
    }

    /// Appends `leaf` as leaf number `size` (see [`append_leaf`]) and stages its writes.
    ///
    /// # Errors
    ///
    /// As [`append_leaf`]; on error nothing is staged.
    pub fn append_leaf(&mut self, size: u64, leaf: &[u8]) -> Result<(), MerkleError<S::Error>> {
        self.append_leaf_hash(size, leaf_hash(leaf))
    }

    /// Appends a leaf by its hash (see [`append_leaf_hash`]) and stages its writes.
    ///
    /// # Errors
    ///
    /// As [`append_leaf`]; on error nothing is staged.
    pub fn append_leaf_hash(
        &mut self,
        size: u64,
        leaf_hash: MerkleHash,
    ) -> Result<(), MerkleError<S::Error>> {
        let writes = append_leaf_hash(&*self, size, leaf_hash)?;
        self.pending.extend(
            writes
                .into_iter()
                .map(|(level, index, hash)| ((level, index), hash)),
        );
        Ok(())
    }

    /// The number of staged node writes.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// The staged writes as `(level, index, hash)`, ordered by level then index.
    pub fn into_writes(self) -> Vec<NodeWrite> {
        self.pending
            .into_iter()
            .map(|((level, index), hash)| (level, index, hash))
            .collect()
    }
}

impl<S: MerkleStore + ?Sized> MerkleStore for Overlay<'_, S> {
    type Error = S::Error;

    fn get(&self, level: u8, index: u64) -> Result<Option<MerkleHash>, Self::Error> {
        match self.pending.get(&(level, index)) {
            Some(hash) => Ok(Some(*hash)),
            None => self.base.get(level, index),
        }
    }
}

/// An in-memory [`MerkleStore`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemStore {
    nodes: BTreeMap<(u8, u64), MerkleHash>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores node `(level, index)`, replacing any previous hash there.
    pub fn insert(&mut self, level: u8, index: u64, hash: MerkleHash) {
        self.nodes.insert((level, index), hash);
    }

    /// Stores every `(level, index, hash)` write, as returned by [`append_leaf`] or
    /// [`Overlay::into_writes`].
    pub fn apply(&mut self, writes: impl IntoIterator<Item = NodeWrite>) {
        for (level, index, hash) in writes {
            self.insert(level, index, hash);
        }
    }

    /// The number of stored nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no node is stored.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

impl MerkleStore for MemStore {
    type Error = Infallible;

    fn get(&self, level: u8, index: u64) -> Result<Option<MerkleHash>, Infallible> {
        Ok(self.nodes.get(&(level, index)).copied())
    }
}

/// A whole Merkle tree in memory: a [`MemStore`] and its size.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemTree {
    store: MemStore,
    size: u64,
}

impl MemTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf and returns its index.
    pub fn push(&mut self, leaf: &[u8]) -> u64 {
        self.push_hash(leaf_hash(leaf))
    }

    /// Appends a leaf by its [`leaf_hash`] and returns its index.
    pub fn push_hash(&mut self, leaf_hash: MerkleHash) -> u64 {
        let index = self.size;
        let writes = append_leaf_hash(&self.store, index, leaf_hash)
            .expect("a MemTree stores every node below its size, and cannot hold u64::MAX leaves");
        self.store.apply(writes);
        self.size += 1;
        index
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash of the whole tree.
    pub fn root(&self) -> MerkleHash {
        root(&self.store, self.size).expect("a MemTree stores every node below its size")
    }

    /// The root hash of the tree as it was at `size` leaves.
    ///
    /// # Errors
    ///
    /// [`MerkleError::SizeBeyondTree`] if `size` exceeds the tree's size.
    pub fn root_at(&self, size: u64) -> Result<MerkleHash, MerkleError<Infallible>> {
        self.check_size(size)?;
        root(&self.store, size)
    }

    /// The inclusion proof of leaf `index` in the tree as it was at `size` leaves.
    ///
    /// # Errors
    ///
    /// [`MerkleError::SizeBeyondTree`] if `size` exceeds the tree's size,
    /// [`MerkleError::IndexOutOfRange`] if `index >= size`.
    pub fn inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<Vec<MerkleHash>, MerkleError<Infallible>> {
        self.check_size(size)?;
        inclusion_proof(&self.store, index, size)
    }

    /// The consistency proof from the tree at `first` leaves to the tree at `second`.
    ///
    /// # Errors
    ///
    /// [`MerkleError::SizeBeyondTree`] if `second` exceeds the tree's size,
    /// [`MerkleError::InvalidRange`] if `first > second`.
    pub fn consistency_proof(
        &self,
        first: u64,
        second: u64,
    ) -> Result<Vec<MerkleHash>, MerkleError<Infallible>> {
        self.check_size(second)?;
        consistency_proof(&self.store, first, second)
    }

    /// The complete-subtree hashes behind this tree.
    pub fn store(&self) -> &MemStore {
        &self.store
    }

    fn check_size(&self, requested: u64) -> Result<(), MerkleError<Infallible>> {
        if requested > self.size {
            return Err(MerkleError::SizeBeyondTree {
                requested,
                size: self.size,
            });
        }
        Ok(())
    }
}

impl<L: AsRef<[u8]>> FromIterator<L> for MemTree {
    fn from_iter<I: IntoIterator<Item = L>>(leaves: I) -> Self {
        let mut tree = Self::new();
        for leaf in leaves {
            tree.push(leaf.as_ref());
        }
        tree
    }
}
