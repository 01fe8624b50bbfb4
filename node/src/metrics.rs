//! The node's counters and histograms, rendered in Prometheus' text format by the API.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Upper bounds (seconds) of the commit latency histogram's buckets.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
];

/// Counters shared by the ledger, Raft glue and API.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Ledger entries appended (accepted or rejection entries).
    pub entries_applied: AtomicU64,
    /// Signatures this node checked on apply (Ed25519 verifications, or a vouched ingress check
    /// of this node standing for one).
    pub signatures_verified: AtomicU64,
    /// Of `signatures_verified`: stood for by this node's own ingress check.
    pub signatures_vouched: AtomicU64,
    /// Of `signatures_verified`: checked on apply by batch verification.
    pub signatures_batch_verified: AtomicU64,
    /// Signatures checked at ingress (before proposing).
    pub ingress_signatures: AtomicU64,
    /// Apply batches written.
    pub apply_batches: AtomicU64,
    /// Proposals refused on apply (bad signature, reused id), not recorded.
    pub refused: AtomicU64,
    /// Idempotent resubmissions answered with the earlier receipt.
    pub duplicates: AtomicU64,
    /// Times this node saw the leader change.
    pub leader_changes: AtomicU64,
    /// Damage found by the self-check (each distinct first bad index or row counts once).
    pub selfcheck_failures: AtomicU64,
    /// Cosign rounds in which a peer reported a different root or chain head at that size.
    pub peer_root_mismatches: AtomicU64,
    /// Checkpoint entries this node proposed (as leader) and saw appended.
    pub checkpoints_proposed: AtomicU64,
    rejections: Mutex<BTreeMap<String, u64>>,
    latency: Mutex<Histogram>,
}

#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Where the signature of an applied entry was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckedBy {
    /// By this node's ingress check of the same submission.
    Ingress,
    /// By batch verification of the apply batch, before applying.
    Batch,
    /// By `apply` itself, one signature at a time.
    Apply,
}

impl Metrics {
    /// Counts the signature check of one applied entry.
    pub fn signature_checked(&self, by: CheckedBy) {
        self.signatures_verified.fetch_add(1, Ordering::Relaxed);
        match by {
            CheckedBy::Ingress => self.signatures_vouched.fetch_add(1, Ordering::Relaxed),
            CheckedBy::Batch => self
                .signatures_batch_verified
                .fetch_add(1, Ordering::Relaxed),
            CheckedBy::Apply => 0,
        };
    }

    /// Counts a rejection entry by rule code.
    pub fn rejected(&self, rule: &str) {
        if let Ok(mut m) = self.rejections.lock() {
            *m.entry(rule.to_owned()).or_default() += 1;
        }
    }

    /// Records one commit latency (submission received → applied), in seconds.
    pub fn observe_commit(&self, seconds: f64) {
        if let Ok(mut h) = self.latency.lock() {
            for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
                if seconds <= *le {
                    h.buckets[i] += 1;
                }
            }
            h.count += 1;
            h.sum += seconds;
        }
    }

    /// Renders every metric, plus the gauges the caller passes (name, help, value).
    pub fn render(&self, gauges: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        counter(
            &mut out,
            "caseledger_entries_applied_total",
            "Ledger entries appended by this node.",
            get(&self.entries_applied),
        );
        counter(
            &mut out,
            "caseledger_signatures_verified_total",
            "Signatures of the entries this node applied, each checked (equals entries applied).",
            get(&self.signatures_verified),
        );
        counter(
            &mut out,
            "caseledger_signatures_vouched_total",
            "Of the signatures verified on apply: stood for by this node's own ingress check.",
            get(&self.signatures_vouched),
        );
        counter(
            &mut out,
            "caseledger_signatures_batch_verified_total",
            "Of the signatures verified on apply: checked by batch verification.",
            get(&self.signatures_batch_verified),
        );
        counter(
            &mut out,
            "caseledger_ingress_signatures_total",
            "Submission signatures checked at ingress.",
            get(&self.ingress_signatures),
        );
        counter(
            &mut out,
            "caseledger_apply_batches_total",
            "Apply batches written (one synced write each).",
            get(&self.apply_batches),
        );
        counter(
            &mut out,
            "caseledger_refused_total",
            "Proposals refused on apply and not recorded.",
            get(&self.refused),
        );
        counter(
            &mut out,
            "caseledger_duplicates_total",
            "Idempotent resubmissions.",
            get(&self.duplicates),
        );
        counter(
            &mut out,
            "caseledger_leader_changes_total",
            "Leader changes seen by this node.",
            get(&self.leader_changes),
        );
        counter(
            &mut out,
            "caseledger_selfcheck_failures",
            "Damage found in this node's stored chain by the self-check.",
            get(&self.selfcheck_failures),
        );
        counter(
            &mut out,
            "caseledger_peer_root_mismatches",
            "Cosign answers from peers whose root or chain head differed.",
            get(&self.peer_root_mismatches),
        );
        counter(
            &mut out,
            "caseledger_checkpoints_proposed_total",
            "Cosigned checkpoints this node proposed as leader.",
            get(&self.checkpoints_proposed),
        );
        let _ = writeln!(out, "# HELP caseledger_rejections_total Rejection entries by rule.\n# TYPE caseledger_rejections_total counter");
        if let Ok(m) = self.rejections.lock() {
            for (rule, n) in m.iter() {
                let _ = writeln!(out, "caseledger_rejections_total{{rule=\"{rule}\"}} {n}");
            }
        }
        if let Ok(h) = self.latency.lock() {
            let name = "caseledger_commit_latency_seconds";
            let _ = writeln!(
                out,
                "# HELP {name} Submission to commit latency.\n# TYPE {name} histogram"
            );
            for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
                let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {}", h.buckets[i]);
            }
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"+Inf\"}} {}\n{name}_sum {}\n{name}_count {}",
                h.count, h.sum, h.count
            );
        }
        for (name, help, v) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        out
    }
}
