//! A linearizability checker for the ledger's model, an append-only log.
//!
//! The history holds writes (submissions: when first sent, when acknowledged and at which
//! index, if ever) and `?consistent=true` reads of the head (when sent, when answered, the size
//! and head hash seen). The final ledger says where each write ended up.
//!
//! In the model every write lands at its index and a read of size `S` sees exactly the writes
//! at indices `< S`. So the only order a linearization can take is fixed by the results: the
//! write at index `i` right after position `i`, a read of size `S` after the write at `S - 1`
//! and before the write at `S` (reads of one size among themselves by invocation). Entries the
//! history did not write (genesis, checkpoints, other clients) are unconstrained and need no
//! place. A history is linearizable iff that order never puts an operation after one that was
//! invoked only after it completed (real-time order); one scan checks it. This covers, with a
//! precise message each: a stale read (misses a write acknowledged before it was sent), a read
//! from the future (sees a write not yet sent), reads going backwards in real time, and writes
//! indexed against their real-time order. Beside the order, every read must have seen a prefix
//! of the final ledger (its head hash is the final chain hash at its size) and every
//! acknowledged write must be in the final ledger at the acknowledged index.

use std::collections::HashMap;
use std::time::Instant;

/// A submission as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// The handoff (submission) id.
    pub id: String,
    /// When it was first sent.
    pub invoke: Instant,
    /// When a node acknowledged it, with the index; `None` if no answer ever came.
    pub ack: Option<(Instant, u64)>,
}

/// A `?consistent=true` read of the head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    /// The node asked.
    pub node: String,
    /// When it was sent.
    pub invoke: Instant,
    /// When the answer came.
    pub complete: Instant,
    /// The ledger size it reported.
    pub size: u64,
    /// The head hash it reported (hex; empty for an empty ledger).
    pub head_hash: String,
}

/// A client-observed history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Writes.
    pub writes: Vec<Write>,
    /// Reads.
    pub reads: Vec<Read>,
}

/// The ledger as it stands after the scenario (read from one node once all converged).
#[derive(Debug, Clone, Default)]
pub struct FinalLedger {
    /// Where every submission id sits.
    pub index_of: HashMap<String, u64>,
    /// Chain hash (hex) of every entry, by index: the head hash at size `i + 1`.
    pub hashes: Vec<String>,
}

/// Why a history is not linearizable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// An acknowledged write is missing from the final ledger.
    #[error("write {id} was acknowledged at index {acked} but is not in the ledger")]
    LostWrite {
        /// The id.
        id: String,
        /// Acknowledged index.
        acked: u64,
    },
    /// An acknowledged write sits at another index than the acknowledged one.
    #[error("write {id} was acknowledged at index {acked} but sits at {actual}")]
    MovedWrite {
        /// The id.
        id: String,
        /// Acknowledged index.
        acked: u64,
        /// Index in the ledger.
        actual: u64,
    },
    /// A read saw a state the final ledger never had.
    #[error("read #{read} from {node} saw size {size} with head {seen}, not a prefix of the ledger (expected {expected})")]
    NotAPrefix {
        /// Position of the read in the history.
        read: usize,
        /// Node asked.
        node: String,
        /// Size seen.
        size: u64,
        /// Head hash seen.
        seen: String,
        /// The final ledger's chain hash at that size (or "beyond the end").
        expected: String,
    },
    /// A read missed a write acknowledged before the read was sent.
    #[error("stale read #{read} from {node}: size {size}, but write {id} at index {index} was acknowledged before the read was sent")]
    StaleRead {
        /// Position of the read.
        read: usize,
        /// Node asked.
        node: String,
        /// Size seen.
        size: u64,
        /// The missed write.
        id: String,
        /// Its index.
        index: u64,
    },
    /// A read saw a write that was sent only after the read was answered.
    #[error("read #{read} from {node} saw size {size}, including write {id} at index {index} sent only after the read was answered")]
    FutureRead {
        /// Position of the read.
        read: usize,
        /// Node asked.
        node: String,
        /// Size seen.
        size: u64,
        /// The write.
        id: String,
        /// Its index.
        index: u64,
    },
    /// A later read saw less than an earlier one.
    #[error("read #{later} (size {later_size}, from {later_node}) was sent after read #{earlier} (size {earlier_size}, from {earlier_node}) was answered, yet saw less")]
    ReadsWentBack {
        /// The earlier read.
        earlier: usize,
        /// Its size.
        earlier_size: u64,
        /// Its node.
        earlier_node: String,
        /// The later read.
        later: usize,
        /// Its size.
        later_size: u64,
        /// Its node.
        later_node: String,
    },
    /// A write was sent after another was acknowledged, yet sits before it.
    #[error("write {later} (index {later_index}) was sent after {earlier} (index {earlier_index}) was acknowledged, yet sits before it")]
    WritesReordered {
        /// The write acknowledged first.
        earlier: String,
        /// Its index.
        earlier_index: u64,
        /// The write sent later.
        later: String,
        /// Its index.
        later_index: u64,
    },
}

/// What a check covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    /// Writes placed (acknowledged or found in the ledger).
    pub writes: usize,
    /// Reads placed.
    pub reads: usize,
}

/// One operation placed in the only possible linearization.
#[derive(Debug, Clone, Copy)]
enum Op {
    Write { pos: usize, index: u64 },
    Read { pos: usize },
}

/// Checks `history` against `ledger`; the first violation found, or what was checked.
pub fn check(history: &History, ledger: &FinalLedger) -> Result<Checked, Violation> {
    // Writes at (i + 1, 0), reads of size S at (S, 1); ties by invocation.
    type Key = (u64, u8, Instant);
    // (key, invoke, complete if known, op).
    let mut placed: Vec<(Key, Instant, Option<Instant>, Op)> = Vec::new();
    for (pos, w) in history.writes.iter().enumerate() {
        let actual = ledger.index_of.get(&w.id).copied();
        match (w.ack, actual) {
            (Some((_, acked)), None) => {
                return Err(Violation::LostWrite {
                    id: w.id.clone(),
                    acked,
                })
            }
            (Some((_, acked)), Some(actual)) if acked != actual => {
                return Err(Violation::MovedWrite {
                    id: w.id.clone(),
                    acked,
                    actual,
                })
            }
            (_, None) => continue, // never acknowledged, never applied: it did not happen
            (ack, Some(index)) => placed.push((
                (index + 1, 0, w.invoke),
                w.invoke,
                ack.map(|(at, _)| at),
                Op::Write { pos, index },
            )),
        }
    }
    for (pos, r) in history.reads.iter().enumerate() {
        let expected = match r.size {
            0 => Some(String::new()),
            s => ledger.hashes.get(s as usize - 1).cloned(),
        };
        if expected.as_deref() != Some(r.head_hash.as_str()) {
            return Err(Violation::NotAPrefix {
                read: pos,
                node: r.node.clone(),
                size: r.size,
                seen: r.head_hash.clone(),
                expected: expected.unwrap_or_else(|| "beyond the end".into()),
            });
        }
        placed.push((
            (r.size, 1, r.invoke),
            r.invoke,
            Some(r.complete),
            Op::Read { pos },
        ));
    }
    placed.sort_by_key(|p| p.0);
    // The latest invocation among the operations placed so far: an operation placed after it
    // must not have completed before it.
    let mut latest: Option<(Instant, Op)> = None;
    for &(_, invoke, complete, op) in &placed {
        if let (Some(done), Some((before_invoke, before))) = (complete, latest) {
            if done < before_invoke {
                return Err(explain(history, before, op));
            }
        }
        if latest.is_none_or(|(at, _)| invoke > at) {
            latest = Some((invoke, op));
        }
    }
    let reads = history.reads.len();
    Ok(Checked {
        writes: placed.len() - reads,
        reads,
    })
}

/// Names the violation where `later` (placed after `earlier`) completed before `earlier` was
/// invoked.
fn explain(history: &History, earlier: Op, later: Op) -> Violation {
    match (earlier, later) {
        (Op::Write { pos, index }, Op::Read { pos: read }) => {
            let r = &history.reads[read];
            Violation::FutureRead {
                read,
                node: r.node.clone(),
                size: r.size,
                id: history.writes[pos].id.clone(),
                index,
            }
        }
        (Op::Read { pos: read }, Op::Write { pos, index }) => {
            let r = &history.reads[read];
            Violation::StaleRead {
                read,
                node: r.node.clone(),
                size: r.size,
                id: history.writes[pos].id.clone(),
                index,
            }
        }
        (Op::Read { pos: a }, Op::Read { pos: b }) => {
            let (ra, rb) = (&history.reads[a], &history.reads[b]);
            // `b` completed before `a` was invoked but saw less.
            Violation::ReadsWentBack {
                earlier: b,
                earlier_size: rb.size,
                earlier_node: rb.node.clone(),
                later: a,
                later_size: ra.size,
                later_node: ra.node.clone(),
            }
        }
        (Op::Write { pos: a, index: ia }, Op::Write { pos: b, index: ib }) => {
            Violation::WritesReordered {
                earlier: history.writes[b].id.clone(),
                earlier_index: ib,
                later: history.writes[a].id.clone(),
                later_index: ia,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Builds histories on a millisecond time line.
    struct Line(Instant);

    impl Line {
        fn at(&self, ms: u64) -> Instant {
            self.0 + Duration::from_millis(ms)
        }
        fn write(&self, id: &str, invoke: u64, ack: Option<(u64, u64)>) -> Write {
            Write {
                id: id.into(),
                invoke: self.at(invoke),
                ack: ack.map(|(at, index)| (self.at(at), index)),
            }
        }
        fn read(&self, invoke: u64, complete: u64, size: u64) -> Read {
            Read {
                node: "n1".into(),
                invoke: self.at(invoke),
                complete: self.at(complete),
                size,
                head_hash: hash(size),
            }
        }
    }

    fn hash(size: u64) -> String {
        if size == 0 {
            String::new()
        } else {
            format!("h{}", size - 1)
        }
    }

    /// Genesis at 0, then `ids` at 1, 2, ...
    fn ledger(ids: &[&str]) -> FinalLedger {
        let mut l = FinalLedger::default();
        l.hashes.push(hash(1));
        for (k, id) in ids.iter().enumerate() {
            l.index_of.insert((*id).to_owned(), k as u64 + 1);
            l.hashes.push(hash(k as u64 + 2));
        }
        l
    }

    /// Two overlapping writes, reads before, between and after, and one read concurrent with
    /// a write that may or may not see it.
    fn good() -> (Line, History) {
        let t = Line(Instant::now());
        let h = History {
            writes: vec![
                t.write("a", 10, Some((50, 1))),
                t.write("b", 20, Some((60, 2))),
                t.write("c", 100, Some((140, 3))),
            ],
            reads: vec![
                t.read(0, 5, 1),
                t.read(15, 30, 1),
                t.read(55, 58, 2), // a acknowledged, b concurrent and not yet in
                t.read(70, 80, 3),
                t.read(110, 130, 3), // c concurrent, not yet in
                t.read(120, 150, 4), // c concurrent, in
                t.read(160, 170, 4),
            ],
        };
        (t, h)
    }

    #[test]
    fn accepts_a_linearizable_history() {
        let (_, h) = good();
        let checked = check(&h, &ledger(&["a", "b", "c"])).expect("linearizable");
        assert_eq!(
            checked,
            Checked {
                writes: 3,
                reads: 7
            }
        );
    }

    #[test]
    fn accepts_an_unacknowledged_write_that_landed_or_not() {
        let (t, mut h) = good();
        // "d" was sent at 145, no answer came; it landed at 4, seen by the last read.
        h.writes.push(t.write("d", 145, None));
        h.reads.push(t.read(175, 180, 5));
        check(&h, &ledger(&["a", "b", "c", "d"])).expect("landed");
        // "e" was sent, never answered and never applied.
        h.writes.push(t.write("e", 150, None));
        check(&h, &ledger(&["a", "b", "c", "d"])).expect("not applied");
    }

    #[test]
    fn catches_an_injected_stale_read() {
        let (t, mut h) = good();
        // Sent after "b" was acknowledged (60), yet sees only "a".
        h.reads.push(t.read(65, 68, 2));
        let v = check(&h, &ledger(&["a", "b", "c"])).expect_err("stale");
        assert!(
            matches!(&v, Violation::StaleRead { id, index: 2, size: 2, .. } if id == "b"),
            "{v}"
        );
    }

    #[test]
    fn catches_a_read_that_sees_a_write_not_yet_sent() {
        let t = Line(Instant::now());
        let h = History {
            writes: vec![
                t.write("a", 10, Some((20, 1))),
                t.write("c", 100, Some((140, 2))),
            ],
            // Answered at 95, before "c" was sent (100), yet sees it.
            reads: vec![t.read(90, 95, 3)],
        };
        let v = check(&h, &ledger(&["a", "c"])).expect_err("future");
        assert!(
            matches!(&v, Violation::FutureRead { id, index: 2, .. } if id == "c"),
            "{v}"
        );
    }

    #[test]
    fn catches_reads_going_back_in_real_time() {
        let t = Line(Instant::now());
        let h = History {
            writes: vec![t.write("a", 10, None)],
            reads: vec![t.read(20, 30, 2), t.read(40, 50, 1)],
        };
        let v = check(&h, &ledger(&["a"])).expect_err("went back");
        assert!(
            matches!(
                v,
                Violation::ReadsWentBack {
                    earlier: 0,
                    later: 1,
                    ..
                }
            ),
            "{v}"
        );
    }

    #[test]
    fn catches_writes_indexed_against_real_time() {
        let t = Line(Instant::now());
        let h = History {
            writes: vec![
                t.write("a", 10, Some((20, 2))),
                t.write("b", 30, Some((40, 1))),
            ],
            reads: vec![],
        };
        let v = check(&h, &ledger(&["b", "a"])).expect_err("reordered");
        assert!(
            matches!(&v, Violation::WritesReordered { earlier, later, .. } if earlier == "a" && later == "b"),
            "{v}"
        );
    }

    #[test]
    fn catches_a_lost_or_moved_acknowledged_write() {
        let (_, h) = good();
        let v = check(&h, &ledger(&["a", "b"])).expect_err("lost");
        assert!(matches!(&v, Violation::LostWrite { id, acked: 3 } if id == "c"));
        let v = check(&h, &ledger(&["a", "c", "b"])).expect_err("moved");
        assert!(matches!(&v, Violation::MovedWrite { id, acked: 2, actual: 3 } if id == "b"));
    }

    #[test]
    fn catches_a_read_of_a_state_the_ledger_never_had() {
        let (t, mut h) = good();
        let mut forked = t.read(160, 170, 3);
        forked.head_hash = "other".into();
        h.reads.push(forked);
        let v = check(&h, &ledger(&["a", "b", "c"])).expect_err("fork");
        assert!(matches!(v, Violation::NotAPrefix { size: 3, .. }), "{v}");
        let (t, mut h) = good();
        h.reads.push(t.read(160, 170, 9));
        let v = check(&h, &ledger(&["a", "b", "c"])).expect_err("beyond");
        assert!(matches!(v, Violation::NotAPrefix { size: 9, .. }), "{v}");
    }
}
