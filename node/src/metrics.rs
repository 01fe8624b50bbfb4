//! The node's metrics, typed: counters, gauges and one histogram of `prometheus-client`, held
//! in its registry and rendered by the API (`GET /metrics`) in the OpenMetrics text format.
//!
//! The counters are the crate's own (an atomic each, `inc` where the node counts). What only
//! exists at scrape time — the ledger's height, leadership, the store's WAL tickers — is read
//! by the API and rendered beside them as constant metrics ([`NodeReadings`]).
//!
//! The OpenMetrics encoder names a counter's sample `<name>_total`: counters are registered
//! without the suffix, so `caseledger_entries_applied` is scraped as
//! `caseledger_entries_applied_total`.

use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds (seconds) of the commit latency histogram's buckets.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
];

/// The label of a rejection counter: the rule broken.
type RuleLabel = [(&'static str, String); 1];

/// Counters shared by the ledger, Raft glue and API, and the registry that renders them.
#[derive(Debug)]
pub struct Metrics {
    /// Ledger entries appended (accepted or rejection entries).
    pub entries_applied: Counter,
    /// Signatures this node checked on apply (Ed25519 verifications, or a vouched ingress check
    /// of this node standing for one).
    pub signatures_verified: Counter,
    /// Of `signatures_verified`: stood for by this node's own ingress check.
    pub signatures_vouched: Counter,
    /// Of `signatures_verified`: checked on apply by batch verification.
    pub signatures_batch_verified: Counter,
    /// Signatures checked at ingress (before proposing).
    pub ingress_signatures: Counter,
    /// Batches the ingress verifier checked (`ingress_signatures` over this: the mean batch).
    pub ingress_verify_batches: Counter,
    /// Apply batches written.
    pub apply_batches: Counter,
    /// Proposals refused on apply (bad signature, reused id), not recorded.
    pub refused: Counter,
    /// Idempotent resubmissions answered with the earlier receipt.
    pub duplicates: Counter,
    /// Times this node saw the leader change (a leader losing its quorum counts).
    pub leader_changes: Counter,
    /// Forwarded submissions resent to the leader after the one first tried (it changed,
    /// stopped answering, or answered that it does not lead).
    pub forward_resends: Counter,
    /// Damage found by the self-check (each distinct first bad index or row counts once).
    pub selfcheck_failures: Counter,
    /// Cosign rounds in which a peer reported a different root or chain head at that size.
    pub peer_root_mismatches: Counter,
    /// Checkpoint entries this node proposed (as leader) and saw appended.
    pub checkpoints_proposed: Counter,
    rejections: Family<RuleLabel, Counter>,
    commit_latency: Histogram,
    registry: Registry,
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

/// What the node reads at scrape time, rendered beside the registry's metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodeReadings {
    /// Entries in this node's ledger.
    pub ledger_height: u64,
    /// Whether this node is the Raft leader holding a quorum.
    pub is_leader: bool,
    /// Seconds since a quorum last acknowledged this node as leader (leaders only).
    pub seconds_since_quorum_ack: Option<f64>,
    /// RocksDB WAL fsyncs since the process started.
    pub wal_syncs: u64,
    /// Bytes written to the WAL since the process started.
    pub wal_bytes: u64,
    /// Synced write batches the store acknowledged since the process started.
    pub acknowledged_batches: u64,
}

impl Default for Metrics {
    fn default() -> Self {
        let m = Metrics {
            entries_applied: Counter::default(),
            signatures_verified: Counter::default(),
            signatures_vouched: Counter::default(),
            signatures_batch_verified: Counter::default(),
            ingress_signatures: Counter::default(),
            ingress_verify_batches: Counter::default(),
            apply_batches: Counter::default(),
            refused: Counter::default(),
            duplicates: Counter::default(),
            leader_changes: Counter::default(),
            forward_resends: Counter::default(),
            selfcheck_failures: Counter::default(),
            peer_root_mismatches: Counter::default(),
            checkpoints_proposed: Counter::default(),
            rejections: Family::default(),
            commit_latency: Histogram::new(LATENCY_BUCKETS),
            registry: Registry::default(),
        };
        m.registered()
    }
}

impl Metrics {
    /// `self` with every metric in its registry (each registered handle shares its value).
    fn registered(mut self) -> Self {
        let counters = [
            (
                "caseledger_entries_applied",
                "Ledger entries appended by this node.",
                &self.entries_applied,
            ),
            (
                "caseledger_signatures_verified",
                "Signatures of the entries this node applied, each checked (equals entries applied).",
                &self.signatures_verified,
            ),
            (
                "caseledger_signatures_vouched",
                "Of the signatures verified on apply: stood for by this node's own ingress check.",
                &self.signatures_vouched,
            ),
            (
                "caseledger_signatures_batch_verified",
                "Of the signatures verified on apply: checked by batch verification.",
                &self.signatures_batch_verified,
            ),
            (
                "caseledger_ingress_signatures",
                "Submission signatures checked at ingress.",
                &self.ingress_signatures,
            ),
            (
                "caseledger_ingress_verify_batches",
                "Batches the ingress verifier checked together (ingress signatures over this: the mean batch).",
                &self.ingress_verify_batches,
            ),
            (
                "caseledger_apply_batches",
                "Apply batches written (one synced write each).",
                &self.apply_batches,
            ),
            (
                "caseledger_refused",
                "Proposals refused on apply and not recorded.",
                &self.refused,
            ),
            (
                "caseledger_duplicates",
                "Idempotent resubmissions.",
                &self.duplicates,
            ),
            (
                "caseledger_leader_changes",
                "Leader changes seen by this node.",
                &self.leader_changes,
            ),
            (
                "caseledger_forward_resends",
                "Forwarded submissions resent to the leader after the one first tried.",
                &self.forward_resends,
            ),
            (
                "caseledger_selfcheck_failures",
                "Damage found in this node's stored chain by the self-check.",
                &self.selfcheck_failures,
            ),
            (
                "caseledger_peer_root_mismatches",
                "Cosign answers from peers whose root or chain head differed.",
                &self.peer_root_mismatches,
            ),
            (
                "caseledger_checkpoints_proposed",
                "Cosigned checkpoints this node proposed as leader.",
                &self.checkpoints_proposed,
            ),
        ];
        let mut registry = Registry::default();
        for (name, help, counter) in counters {
            registry.register(name, help, counter.clone());
        }
        registry.register(
            "caseledger_rejections",
            "Rejection entries by rule.",
            self.rejections.clone(),
        );
        registry.register_with_unit(
            "caseledger_commit_latency",
            "Submission to commit latency.",
            Unit::Seconds,
            self.commit_latency.clone(),
        );
        self.registry = registry;
        self
    }

    /// Counts the signature check of one applied entry.
    pub fn signature_checked(&self, by: CheckedBy) {
        self.signatures_verified.inc();
        match by {
            CheckedBy::Ingress => self.signatures_vouched.inc(),
            CheckedBy::Batch => self.signatures_batch_verified.inc(),
            CheckedBy::Apply => 0,
        };
    }

    /// Counts a rejection entry by rule code.
    pub fn rejected(&self, rule: &str) {
        self.rejections
            .get_or_create(&[("rule", rule.to_owned())])
            .inc();
    }

    /// Records one commit latency (submission received → applied), in seconds.
    pub fn observe_commit(&self, seconds: f64) {
        self.commit_latency.observe(seconds);
    }

    /// Renders every metric and the node's readings (OpenMetrics text, [`CONTENT_TYPE`]).
    pub fn render(&self, now: &NodeReadings) -> String {
        let gauge = |v: u64| ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX));
        let mut scrape = Registry::default();
        scrape.register(
            "caseledger_ledger_height",
            "Entries in this node's ledger.",
            gauge(now.ledger_height),
        );
        scrape.register(
            "caseledger_is_leader",
            "1 if this node is the Raft leader and a quorum acknowledged it within an election timeout.",
            gauge(u64::from(now.is_leader)),
        );
        if let Some(seconds) = now.seconds_since_quorum_ack {
            scrape.register(
                "caseledger_seconds_since_quorum_ack",
                "Seconds since a quorum last acknowledged this node as leader (leaders only).",
                ConstGauge::new(seconds),
            );
        }
        scrape.register(
            "caseledger_wal_syncs",
            "RocksDB WAL fsyncs (ticker rocksdb.wal.synced).",
            ConstCounter::new(now.wal_syncs),
        );
        scrape.register(
            "caseledger_wal_bytes",
            "Bytes written to the WAL.",
            ConstCounter::new(now.wal_bytes),
        );
        scrape.register(
            "caseledger_acknowledged_batches",
            "Synced write batches acknowledged by the store.",
            ConstCounter::new(now.acknowledged_batches),
        );
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode_registry(&mut out, &self.registry)
            .and_then(|()| encode_registry(&mut out, &scrape))
            .and_then(|()| encode_eof(&mut out));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, start: &str) -> Option<&'a str> {
        text.lines().find(|l| l.starts_with(start))
    }

    #[test]
    fn renders_counters_as_counters_under_their_scraped_names() {
        let m = Metrics::default();
        m.entries_applied.inc_by(3);
        m.selfcheck_failures.inc();
        m.forward_resends.inc();
        m.rejected("NOT_HOLDER");
        m.rejected("NOT_HOLDER");
        m.observe_commit(0.003);
        let text = m.render(&NodeReadings {
            ledger_height: 7,
            is_leader: true,
            seconds_since_quorum_ack: Some(0.25),
            wal_syncs: 5,
            ..NodeReadings::default()
        });
        for (start, whole) in [
            ("# TYPE caseledger_entries_applied ", "counter"),
            ("caseledger_entries_applied_total ", "3"),
            ("caseledger_selfcheck_failures_total ", "1"),
            ("caseledger_forward_resends_total ", "1"),
            ("caseledger_rejections_total{rule=\"NOT_HOLDER\"} ", "2"),
            ("# TYPE caseledger_commit_latency_seconds ", "histogram"),
            (
                "caseledger_commit_latency_seconds_bucket{le=\"0.005\"} ",
                "1",
            ),
            ("caseledger_commit_latency_seconds_count ", "1"),
            ("# TYPE caseledger_ledger_height ", "gauge"),
            ("caseledger_ledger_height ", "7"),
            ("caseledger_is_leader ", "1"),
            ("caseledger_seconds_since_quorum_ack ", "0.25"),
            ("# TYPE caseledger_wal_syncs ", "counter"),
            ("caseledger_wal_syncs_total ", "5"),
        ] {
            let found = line(&text, start).unwrap_or_else(|| panic!("no `{start}` in\n{text}"));
            assert_eq!(&found[start.len()..], whole, "{start}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
