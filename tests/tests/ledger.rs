//! The replicated state machine's ledger, driven directly: replicas decide alike from the log
//! alone, including the same refusals and rejections, and followers trust no signature.

use std::sync::Arc;

use caseledger_client::flows::case_flow;
use caseledger_client::pilot::Province;
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
    next: u64,
}

impl Replica {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("open store");
        let ledger = Ledger::open(&store, Arc::new(Metrics::default())).expect("open ledger");
        Self {
            _dir: dir,
            store,
            ledger,
            next: 1,
        }
    }

    fn apply(&mut self, sub: &Submission, at: Timestamp) -> ApplyResult {
        let bytes = CoreProposal {
            submission: sub.clone(),
            stamped_at: at,
        }
        .to_bytes();
        let mut batch = Batch::new();
        let position = LogPosition {
            term: 1,
            leader: 1,
            index: self.next,
        };
        self.next += 1;
        let out = self
            .ledger
            .apply_batch(&self.store, vec![Proposal { position, bytes }], &mut batch)
            .expect("apply");
        self.store.write(batch).expect("write");
        self.ledger.batch_written();
        postcard::from_bytes(&out[0].outcome).expect("apply result")
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
