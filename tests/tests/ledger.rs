//! The replicated state machine's ledger, driven directly: replicas decide alike from the log
//! alone, including the same refusals and rejections, and followers trust no signature.

use std::sync::Arc;

use caseledger_lab::flows::case_flow;
use caseledger_lab::pilot::Province;
use caseledger_node::ledger::{
    all_entries, ApplyResult, Ledger, LedgerMachine, LogPosition, Proposal,
};
use caseledger_node::metrics::Metrics;
use caseledger_node::store::{Batch, Store};
use caseledger_tests::cluster::EPOCH;
use proto_types::payload::{Action, Receipt};
use proto_types::{Payload, Proposal as CoreProposal, Submission, Timestamp};

struct Replica {
    _dir: tempfile::TempDir,
    store: Store,
    ledger: Ledger,
    metrics: Arc<Metrics>,
    next: u64,
}

impl Replica {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("open store");
        let metrics = Arc::new(Metrics::default());
        let ledger = Ledger::open(&store, metrics.clone()).expect("open ledger");
        Self {
            _dir: dir,
            store,
            ledger,
            metrics,
            next: 1,
        }
    }

    fn apply(&mut self, sub: &Submission, at: Timestamp) -> ApplyResult {
        self.apply_batch(std::slice::from_ref(sub), at)
            .pop()
            .expect("one result")
    }

    /// Applies `subs` as one Raft entry's batch (one apply batch, one write).
    fn apply_batch(&mut self, subs: &[Submission], at: Timestamp) -> Vec<ApplyResult> {
        let position = LogPosition {
            term: 1,
            leader: 1,
            index: self.next,
        };
        self.next += 1;
        let proposals = subs
            .iter()
            .map(|sub| Proposal {
                position,
                bytes: CoreProposal {
                    submission: sub.clone(),
                    stamped_at: at,
                }
                .to_bytes(),
            })
            .collect();
        let mut batch = Batch::new();
        let out = self
            .ledger
            .apply_batch(&self.store, proposals, &mut batch)
            .expect("apply");
        self.store.write(batch).expect("write");
        self.ledger.batch_written();
        out.iter()
            .map(|a| postcard::from_bytes(&a.outcome).expect("apply result"))
            .collect()
    }

    /// (entries applied, signatures verified, of which vouched by ingress, of which batch).
    fn signature_counts(&self) -> (u64, u64, u64, u64) {
        let m = &self.metrics;
        (
            m.entries_applied.get(),
            m.signatures_verified.get(),
            m.signatures_vouched.get(),
            m.signatures_batch_verified.get(),
        )
    }
}

fn forged(sub: &Submission) -> Submission {
    let mut s = sub.clone();
    let mut sig = *s.signature.as_bytes();
    sig[10] ^= 1;
    s.signature = proto_types::crypto::Signature::ed25519(sig);
    s
}

#[test]
fn a_follower_refuses_a_bad_signature_exactly_as_the_leader_would() {
    let province = Province::new(5, 1, 3, EPOCH);
    let (mut leader, mut follower) = (Replica::new(), Replica::new());
    let genesis = province.genesis(EPOCH);
    for r in [&mut leader, &mut follower] {
        assert!(matches!(
            r.apply(&genesis, EPOCH),
            ApplyResult::Appended {
                index: 0,
                rejected: None,
                ..
            }
        ));
    }
    let (_, steps) = case_flow(&province, 5, 0, EPOCH);
    let filing = &steps[0].submission;
    // The leader vouches for what it verified at ingress; a forged copy has another digest, so
    // neither replica can skip verification for it.
    leader.ledger.vouch(
        filing.digest(),
        proto_types::crypto::PublicKey::of(
            &province
                .department(filing.payload.signer_org().expect("org"))
                .key,
        ),
    );
    let bad = forged(filing);
    let at = EPOCH.plus_millis(1000);
    let (l, f) = (leader.apply(&bad, at), follower.apply(&bad, at));
    assert_eq!(l, f);
    assert!(
        matches!(l, ApplyResult::Refused(proto_types::Refusal::Signature(_))),
        "{l:?}"
    );
    assert_eq!(leader.ledger.head(), follower.ledger.head());
    assert_eq!(
        leader.ledger.head().size,
        1,
        "a refused submission is not recorded"
    );
    // The genuine one is accepted by both, the leader without repeating the curve arithmetic.
    assert_eq!(leader.apply(filing, at), follower.apply(filing, at));
    // A validly signed but illegal step (a receipt by someone who is not the receiver) gives the
    // same rejection entry on both.
    let psb = province.department(&province.cities[0].psb);
    let receipt = Payload {
        signer: psb.signer(),
        id: "bogus-receipt".parse().expect("id"),
        claimed_at: at,
        action: Action::Receipt(Receipt {
            handoff: filing.payload.id.clone(),
        }),
    }
    .sign(&psb.key);
    let (l, f) = (leader.apply(&receipt, at), follower.apply(&receipt, at));
    assert_eq!(l, f);
    assert!(
        matches!(
            l,
            ApplyResult::Appended {
                rejected: Some(_),
                ..
            }
        ),
        "{l:?}"
    );
    let a = all_entries(&leader.store).expect("entries");
    let b = all_entries(&follower.store).expect("entries");
    assert_eq!(a, b, "replicas hold byte-identical ledgers");
}

#[test]
fn every_replica_checks_every_signature_once_in_batches_or_at_its_own_ingress() {
    let province = Province::new(5, 1, 3, EPOCH);
    let (mut ingress, mut other) = (Replica::new(), Replica::new());
    let genesis = province.genesis(EPOCH);
    for r in [&mut ingress, &mut other] {
        r.apply(&genesis, EPOCH);
    }
    let mut subs: Vec<Submission> = (0..4)
        .flat_map(|case| case_flow(&province, 5, case, EPOCH).1)
        .map(|step| step.submission)
        .collect();
    // A forged copy of a submission in the middle of a batch: its group fails the batch
    // equation and is checked one by one, so only the forgery is refused.
    subs.insert(3, forged(&subs[2]));
    // The ingress replica received (and verified) every other submission itself.
    let mut vouched = 0;
    for sub in subs.iter().step_by(2) {
        let org = sub.payload.signer_org().expect("an organisation signs");
        let key = proto_types::crypto::PublicKey::of(&province.department(org).key);
        ingress.ledger.vouch(sub.digest(), key);
        vouched += 1;
    }
    let at = EPOCH.plus_millis(1000);
    let mut refused = 0;
    for part in subs.chunks(10) {
        let (a, b) = (ingress.apply_batch(part, at), other.apply_batch(part, at));
        assert_eq!(a, b, "both replicas decide alike");
        refused += a
            .iter()
            .filter(|r| matches!(r, ApplyResult::Refused(_)))
            .count() as u64;
    }
    assert_eq!(refused, 1, "exactly the forgery is refused");
    assert_eq!(
        all_entries(&ingress.store).expect("entries"),
        all_entries(&other.store).expect("entries"),
        "replicas hold byte-identical ledgers"
    );
    let appended = subs.len() as u64 - refused;
    let (applied, verified, by_ingress, by_batch) = ingress.signature_counts();
    assert_eq!((applied, verified), (appended + 1, appended + 1));
    // The forgery sits at an odd position: every vouched submission was appended.
    assert_eq!(by_ingress, vouched);
    assert_eq!(
        by_batch,
        appended - vouched,
        "the rest in batches (genesis alone)"
    );
    let (applied, verified, by_ingress, by_batch) = other.signature_counts();
    assert_eq!((applied, verified), (appended + 1, appended + 1));
    assert_eq!((by_ingress, by_batch), (0, appended));
}
