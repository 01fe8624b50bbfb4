//! The read model of the ledger: every read the API, the checkpointer and the self-check make
//! of the ledger's column families, typed. The writer (`machine`) lays the rows out with
//! `keys`; [`Reader`] is the only other code that knows that layout, so handlers ask it for
//! entries, cases, handoffs, rejections, checkpoints and proofs and get core types back, never
//! bytes or keys.
//!
//! Every method reads the store as it is (the applied state); it blocks, so async callers run
//! it with [`crate::store::blocking`]. `Err` is a store failure or a stored value that does not
//! decode ([`StoreError::Corrupt`]); an absent thing is `Ok(None)`. Who may see what is not
//! decided here: the caller checks the values against its `Caller`.
//!
//! Invariant: outside `machine` (the writer), this is the only code that reads the index
//! column families (`by_case`, `by_handoff_id`, `by_org`) or knows their keys; `keys` is
//! private to `ledger`.

use std::ops::Range;

use proto_types::apply::SubmissionRecord;
use proto_types::checkpoint::CosignedCheckpoint;
use proto_types::encoding::decode;
use proto_types::ids::{CaseId, HandoffId, OrgId};
use proto_types::merkle::{self, MerkleError, MerkleHash};
use proto_types::payload::Action;
use proto_types::receipt::Receipt;
use proto_types::workflow::{CaseRecord, HandoffRecord};
use proto_types::{Entry, Record};

use super::keys;
use super::recent::StoreMerkle;
use crate::store::{be_u64, read_be_u64, Cf, Store, StoreError};

/// Most timeline rows read for one case.
pub const MAX_TIMELINE: usize = 10_000;

/// Rows read per step when a read pages through a column family itself.
const CHUNK: usize = 1024;

/// A case with its timeline entries and handoff records.
#[derive(Debug, Clone)]
pub struct CaseBundle {
    /// The case's record.
    pub case: CaseRecord,
    /// Its timeline entries in ledger order (at most [`MAX_TIMELINE`]; empty unless asked).
    pub entries: Vec<Entry>,
    /// The handoffs recorded on the timeline read, then its open handoffs past the cut.
    pub handoffs: Vec<HandoffRecord>,
    /// Whether the timeline was cut at [`MAX_TIMELINE`] rows.
    pub truncated: bool,
}

/// Case and handoff records, the inputs of the supervision figures.
#[derive(Debug, Clone, Default)]
pub struct Records {
    /// Case records in case id order.
    pub cases: Vec<CaseRecord>,
    /// Every handoff record, in handoff id order.
    pub handoffs: Vec<HandoffRecord>,
    /// Whether the cases were cut at the number asked for.
    pub truncated: bool,
}

/// A consistency proof between two tree sizes with both roots.
#[derive(Debug, Clone)]
pub struct Consistency {
    /// `PROOF(first, D[second])`.
    pub proof: Vec<MerkleHash>,
    /// The root at the older size (at `second` if `first` is larger).
    pub first_root: MerkleHash,
    /// The root at the newer size.
    pub second_root: MerkleHash,
}

/// The typed reads of the ledger over the node's store. Cheap to clone.
#[derive(Clone)]
pub struct Reader {
    store: Store,
}

impl Reader {
    /// A reader of `store` (which shares the node's database).
    pub fn new(store: &Store) -> Self {
        Self {
            store: store.clone(),
        }
    }

    // Entries.

    /// The canonical bytes of entry `index` (docs/FORMAT.md §Entry), as stored.
    pub fn entry_bytes(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get(Cf::Ledger, &be_u64(index))
    }

    /// The idempotency record of the submission with this id, if the ledger holds one: its
    /// entry's index and the digest of what was submitted.
    pub fn submission(&self, id: &HandoffId) -> Result<Option<SubmissionRecord>, StoreError> {
        self.store
            .get(Cf::ByHandoffId, &keys::submission(id))?
            .map(|v| decode(&v).map_err(|e| StoreError::corrupt("submission record", e)))
            .transpose()
    }

    /// Entry `index`, decoded.
    pub fn entry(&self, index: u64) -> Result<Option<Entry>, StoreError> {
        self.entry_bytes(index)?
            .map(|b| Entry::from_bytes(&b).map_err(|e| StoreError::corrupt("ledger entry", e)))
            .transpose()
    }

    /// The canonical bytes of at most `limit` entries with indexes in `range`, in order.
    pub fn entries_bytes(
        &self,
        range: Range<u64>,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let rows = self.store.scan_u64(Cf::Ledger, range, limit)?;
        Ok(rows.into_iter().map(|(_, b)| b).collect())
    }

    /// The ledger times (Unix ms) of at most `limit` entries with indexes in `range`, in order.
    pub fn entry_times(&self, range: Range<u64>, limit: usize) -> Result<Vec<u64>, StoreError> {
        self.store
            .scan_u64(Cf::Ledger, range, limit)?
            .iter()
            .map(|(_, bytes)| {
                Entry::from_bytes(bytes)
                    .map(|e| e.body.accepted_at.as_millis())
                    .map_err(|e| StoreError::corrupt("ledger entry", e))
            })
            .collect()
    }

    /// The entry a timeline, organisation or rejection row points to (`what` names the row
    /// kind in errors).
    fn entry_of_row(&self, key: &[u8], what: &str) -> Result<Entry, StoreError> {
        let index = keys::index_of(key)
            .ok_or_else(|| StoreError::corrupt(&format!("{what} key"), "too short"))?;
        self.entry(index)?
            .ok_or_else(|| StoreError::corrupt(what, format!("entry {index} is missing")))
    }

    // Cases and handoffs.

    /// A case's record, if the case exists.
    pub fn case(&self, id: &CaseId) -> Result<Option<CaseRecord>, StoreError> {
        self.store
            .get(Cf::ByCase, &keys::case(id))?
            .map(|v| decode(&v).map_err(|e| StoreError::corrupt("case record", e)))
            .transpose()
    }

    /// A handoff's record, if it exists.
    pub fn handoff(&self, id: &HandoffId) -> Result<Option<HandoffRecord>, StoreError> {
        self.store
            .get(Cf::ByHandoffId, &keys::handoff(id))?
            .map(|v| decode(&v).map_err(|e| StoreError::corrupt("handoff record", e)))
            .transpose()
    }

    /// A case, the handoffs of its timeline (at most [`MAX_TIMELINE`] rows) and its open
    /// handoffs, with the timeline's entries if `with_entries`.
    pub fn case_bundle(
        &self,
        id: &CaseId,
        with_entries: bool,
    ) -> Result<Option<CaseBundle>, StoreError> {
        let Some(case) = self.case(id)? else {
            return Ok(None);
        };
        let (from, until) = keys::case_entries(id);
        let rows = self
            .store
            .scan(Cf::ByCase, &from, Some(&until), MAX_TIMELINE + 1)?;
        let truncated = rows.len() > MAX_TIMELINE;
        let mut entries = Vec::new();
        let mut handoffs = Vec::new();
        for (key, _) in rows.iter().take(MAX_TIMELINE) {
            let index = keys::index_of(key)
                .ok_or_else(|| StoreError::corrupt("case timeline key", "too short"))?;
            let entry = self.entry(index)?.ok_or_else(|| {
                StoreError::corrupt("case timeline", format!("entry {index} is missing"))
            })?;
            if let Record::Accepted(sub) = &entry.body.record {
                if let Some(h) = self.handoff(&sub.payload.id)? {
                    if h.index == index {
                        handoffs.push(h);
                    }
                }
            }
            if with_entries {
                entries.push(entry);
            }
        }
        // Open handoffs are always included, even past the cut.
        for id in &case.open_handoffs {
            if !handoffs.iter().any(|h| &h.id == id) {
                if let Some(h) = self.handoff(id)? {
                    handoffs.push(h);
                }
            }
        }
        Ok(Some(CaseBundle {
            case,
            entries,
            handoffs,
            truncated,
        }))
    }

    /// The next case record in case id order after the case id `after` (exclusive; `None`:
    /// the first), skipping timeline rows with one seek per case.
    pub fn next_case(&self, after: Option<&str>) -> Result<Option<CaseRecord>, StoreError> {
        let mut from = after
            .map(|a| keys::after_case(a.as_bytes()))
            .unwrap_or_default();
        loop {
            let Some((key, value)) = self
                .store
                .scan(Cf::ByCase, &from, None, 1)?
                .into_iter()
                .next()
            else {
                return Ok(None);
            };
            let (id, record) = keys::case_of(&key);
            if record {
                return decode(&value)
                    .map(Some)
                    .map_err(|e| StoreError::corrupt("case record", e));
            }
            // Timeline rows of an id with no case record (a rejected filing): skip them.
            from = keys::after_case(id);
        }
    }

    /// Every case record (at most `max_cases`) and every handoff record. A full scan of the
    /// case records and of the handoff rows, all in memory at once.
    pub fn records(&self, max_cases: usize) -> Result<Records, StoreError> {
        let mut out = Records::default();
        let mut cursor: Option<String> = None;
        while let Some(c) = self.next_case(cursor.as_deref())? {
            if out.cases.len() == max_cases {
                out.truncated = true;
                break;
            }
            cursor = Some(c.case_id.as_str().to_owned());
            out.cases.push(c);
        }
        let (mut from, until) = keys::handoffs();
        loop {
            let rows = self
                .store
                .scan(Cf::ByHandoffId, &from, Some(&until), CHUNK)?;
            let Some((last, _)) = rows.last() else { break };
            from = [last.as_slice(), &[0x00]].concat();
            for (_, v) in &rows {
                out.handoffs
                    .push(decode(v).map_err(|e| StoreError::corrupt("handoff record", e))?);
            }
        }
        Ok(out)
    }

    // Rejections and an organisation's entries.

    /// At most `limit` rejection entries from ledger index `from`, in ledger order.
    pub fn rejections(&self, from: u64, limit: usize) -> Result<Vec<Entry>, StoreError> {
        let (_, until) = keys::rejections();
        self.store
            .scan(Cf::ByOrg, &keys::rejection(from), Some(&until), limit)?
            .iter()
            .map(|(key, _)| self.entry_of_row(key, "rejection"))
            .collect()
    }

    /// At most `limit` entries that `org` signed, sent or received, from ledger index `from`,
    /// in ledger order.
    pub fn org_entries(
        &self,
        org: &OrgId,
        from: u64,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        self.store
            .scan(
                Cf::ByOrg,
                &keys::org_entry(org, from),
                Some(&keys::org_entry(org, u64::MAX)),
                limit,
            )?
            .iter()
            .map(|(key, _)| self.entry_of_row(key, "rejection"))
            .collect()
    }

    // Checkpoints.

    /// The latest accepted checkpoint entry: its index and note.
    pub fn latest_checkpoint(&self) -> Result<Option<(u64, CosignedCheckpoint)>, StoreError> {
        let (from, until) = keys::checkpoints();
        // The rows sort by index; the last one is the latest. Scan backwards is not exposed,
        // so page forwards; checkpoints are few (one per thousand entries).
        let mut last = None;
        let mut start = from.clone();
        loop {
            let rows = self.store.scan(Cf::ByOrg, &start, Some(&until), CHUNK)?;
            let Some((k, _)) = rows.last() else { break };
            last = Some(k.clone());
            if rows.len() < CHUNK {
                break;
            }
            start = [k.as_slice(), &[0]].concat();
        }
        let Some(key) = last else { return Ok(None) };
        let index = read_be_u64(Cf::ByOrg, &key[from.len()..])?;
        self.checkpoint(index).map(|n| n.map(|n| (index, n)))
    }

    /// The note of the checkpoint entry at `index`.
    pub fn checkpoint(&self, index: u64) -> Result<Option<CosignedCheckpoint>, StoreError> {
        let what = format!("checkpoint entry {index}");
        let Some(bytes) = self.entry_bytes(index)? else {
            return Ok(None);
        };
        let entry = Entry::from_bytes(&bytes).map_err(|e| StoreError::corrupt(&what, e))?;
        match &entry.body.record.submission().payload.action {
            Action::Checkpoint(cp) => CosignedCheckpoint::parse_note(&cp.note)
                .map(Some)
                .map_err(|e| StoreError::corrupt(&what, e)),
            _ => Err(StoreError::corrupt(&what, "not a checkpoint entry")),
        }
    }

    /// At most `limit` accepted checkpoint entries from ledger index `from`: index and note.
    pub fn checkpoints(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, CosignedCheckpoint)>, StoreError> {
        let (prefix, until) = keys::checkpoints();
        let start = [prefix.as_slice(), &be_u64(from)].concat();
        let rows = self.store.scan(Cf::ByOrg, &start, Some(&until), limit)?;
        let mut out = Vec::new();
        for (k, _) in rows {
            let index = read_be_u64(Cf::ByOrg, &k[prefix.len()..])?;
            if let Some(note) = self.checkpoint(index)? {
                out.push((index, note));
            }
        }
        Ok(out)
    }

    /// A receipt (docs/FORMAT.md §Receipt) proving entry `index` against the latest cosigned
    /// checkpoint, or `None` while no cosigned checkpoint covers it.
    pub fn cosigned_receipt(&self, index: u64) -> Result<Option<Receipt>, StoreError> {
        let Some((_, note)) = self.latest_checkpoint()? else {
            return Ok(None);
        };
        let size = note.checkpoint().tree_size();
        if index >= size {
            return Ok(None);
        }
        let Some(entry_bytes) = self.entry_bytes(index)? else {
            return Ok(None);
        };
        let proof = super::inclusion_proof(&self.store, index, size)?;
        Ok(Some(Receipt {
            entry_bytes,
            index,
            proof,
            note,
        }))
    }

    // Merkle tree (RFC 9162; docs/FORMAT.md §Merkle): O(log n) reads each.

    /// The Merkle root of the first `size` entries.
    pub fn root(&self, size: u64) -> Result<MerkleHash, StoreError> {
        super::root_at(&self.store, size)
    }

    /// `PATH(index, D[size])` and the root at `size`.
    pub fn inclusion(
        &self,
        index: u64,
        size: u64,
    ) -> Result<(Vec<MerkleHash>, MerkleHash), MerkleError<StoreError>> {
        let m = StoreMerkle(&self.store);
        let proof = merkle::inclusion_proof(&m, index, size)?;
        Ok((proof, merkle::root(&m, size)?))
    }

    /// `PROOF(first, D[second])` and the roots at both sizes.
    pub fn consistency(
        &self,
        first: u64,
        second: u64,
    ) -> Result<Consistency, MerkleError<StoreError>> {
        let m = StoreMerkle(&self.store);
        let proof = merkle::consistency_proof(&m, first, second)?;
        Ok(Consistency {
            proof,
            first_root: merkle::root(&m, first.min(second))?,
            second_root: merkle::root(&m, second)?,
        })
    }

    // The self-check's view of the index rows.

    /// What is wrong with the index rows the writer keeps for `entry` (its idempotency record,
    /// its case timeline row, its rejection or checkpoint row), or `None` if they are all
    /// present and as written.
    pub fn index_damage(&self, entry: &Entry) -> Result<Option<String>, StoreError> {
        let index = entry.body.index;
        let sub = entry.body.record.submission();
        let payload = &sub.payload;
        let want = SubmissionRecord {
            id: payload.id.clone(),
            index,
            digest: sub.digest(),
        };
        match self
            .store
            .get(Cf::ByHandoffId, &keys::submission(&payload.id))?
        {
            None => {
                return Ok(Some(format!(
                    "by_handoff_id row s\\0{} is missing",
                    payload.id
                )))
            }
            Some(v) => {
                if decode::<SubmissionRecord>(&v).ok().as_ref() != Some(&want) {
                    return Ok(Some(format!(
                        "by_handoff_id row s\\0{} does not match entry {index}",
                        payload.id
                    )));
                }
            }
        }
        if let Some(case) = payload.case_id() {
            match self.store.get(Cf::ByCase, &keys::case_entry(case, index))? {
                Some(v) if v.is_empty() => {}
                Some(_) => {
                    return Ok(Some(format!(
                        "by_case timeline row {case}/{index} holds unexpected bytes"
                    )))
                }
                None => {
                    return Ok(Some(format!(
                        "by_case timeline row {case}/{index} is missing"
                    )))
                }
            }
        }
        let row = match (&entry.body.record, &payload.action) {
            (Record::Rejected(_), _) => Some(("~rejection", keys::rejection(index))),
            (Record::Accepted(_), Action::Checkpoint(_)) => {
                Some(("~checkpoint", keys::checkpoint(index)))
            }
            _ => None,
        };
        if let Some((name, key)) = row {
            match self.store.get(Cf::ByOrg, &key)? {
                Some(v) if v.is_empty() => {}
                _ => {
                    return Ok(Some(format!(
                        "by_org row {name}/{index} is missing or altered"
                    )))
                }
            }
        }
        Ok(None)
    }
}
