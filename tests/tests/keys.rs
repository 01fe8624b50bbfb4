//! Key lifecycle under apply and under audit: a revoked key's later signatures are refused,
//! its earlier ones still verify when the ledger is replayed, and registry changes need the
//! k-of-n approvals genesis requires (an approval by a revoked key does not count).

use caseledger_client::audit::check_entries;
use caseledger_lab::flows::case_flow;
use caseledger_lab::pilot::{Department, Province};
use caseledger_tests::cluster::EPOCH;
use proto_types::crypto::PublicKey;
use proto_types::ids::KeyId;
use proto_types::payload::{Approval, KeyDecl, KeyLifecycle, KeyOp};
use proto_types::registry::KeyError;
use proto_types::{
    apply, Action, Entry, LedgerState, MemState, Outcome, Payload, Proposal, Refusal,
    SignatureCheck, Submission, Timestamp,
};

struct Ledger {
    state: MemState,
    entries: Vec<Vec<u8>>,
    at: Timestamp,
}

impl Ledger {
    fn new(province: &Province) -> Self {
        let mut l = Ledger {
            state: MemState::new(),
            entries: Vec::new(),
            at: EPOCH,
        };
        assert!(matches!(
            l.submit(&province.genesis(EPOCH)),
            Outcome::Appended(_)
        ));
        l
    }

    fn submit(&mut self, sub: &Submission) -> Outcome {
        self.at = self.at.plus_millis(60_000);
        let out = apply(
            &self.state,
            &Proposal {
                submission: sub.clone(),
                stamped_at: self.at,
            },
            SignatureCheck::Verify,
        )
        .expect("infallible");
        if let Outcome::Appended(a) = &out {
            self.state.commit(a);
            self.entries.push(a.entry.to_bytes());
        }
        out
    }
}

fn key_op(dept: &Department, id: &str, op: KeyOp, approvers: &[&Department]) -> Submission {
    let approvals = approvers
        .iter()
        .map(|a| Approval::sign(a.key_ref(), &a.key, &op))
        .collect();
    Payload {
        signer: dept.signer(),
        id: id.parse().expect("id"),
        claimed_at: EPOCH,
        action: Action::KeyLifecycle(KeyLifecycle { op, approvals }),
    }
    .sign(&dept.key)
}

fn rejected(out: &Outcome) -> bool {
    matches!(out, Outcome::Appended(a) if a.rejected_rule().is_some())
}

#[test]
fn a_revoked_key_is_refused_its_earlier_signatures_still_audit_and_changes_need_approvals() {
    let province = Province::new(21, 1, 3, EPOCH);
    let mut ledger = Ledger::new(&province);
    let city = &province.cities[0];
    let (plc, proc_, court, psb) = (
        province.department(&province.plc),
        province.department(&city.procuratorate),
        province.department(&city.court),
        province.department(&city.psb),
    );
    let (_, steps) = case_flow(&province, 21, 0, EPOCH);
    // The PSB files a case with its key: accepted.
    assert!(
        matches!(ledger.submit(&steps[0].submission), Outcome::Appended(a) if a.rejected_rule().is_none())
    );

    // A revocation with one approval (the policy requires two) is rejected and changes nothing.
    let revoke = KeyOp::RevokeKey {
        org: psb.id().clone(),
        key_id: KeyId::new("k1").expect("id"),
        reason: "stolen".into(),
    };
    assert!(rejected(&ledger.submit(&key_op(
        psb,
        "revoke-1",
        revoke.clone(),
        &[plc]
    ))));
    assert!(
        matches!(ledger.submit(&steps[1].submission), Outcome::Appended(a) if a.rejected_rule().is_none()),
        "the key still works"
    );

    // With two approvals it takes effect: the PSB's next step is refused, not recorded.
    assert!(
        matches!(ledger.submit(&key_op(psb, "revoke-2", revoke, &[plc, proc_])), Outcome::Appended(a) if a.rejected_rule().is_none())
    );
    let size = ledger.state.head().size;
    let out = ledger.submit(&steps[2].submission);
    assert_eq!(out, Outcome::Refused(Refusal::Key(KeyError::Revoked)));
    assert_eq!(ledger.state.head().size, size);

    // A rotation of the court's key lacking approvals is rejected; an approval by the revoked
    // PSB key would not count either (the PSB is no approver, and its key is revoked).
    let new_key = caseledger_client::keys::derive(99, "court-2");
    let rotate = KeyOp::RotateKey {
        org: court.id().clone(),
        old: KeyId::new("k1").expect("id"),
        new: KeyDecl {
            key_id: KeyId::new("k2").expect("id"),
            public_key: PublicKey::of(&new_key),
            valid_from: EPOCH,
            valid_until: None,
        },
    };
    assert!(
        rejected(&ledger.submit(&key_op(court, "rotate-1", rotate.clone(), &[court, psb]))),
        "one valid approval of two"
    );
    assert!(
        matches!(ledger.submit(&key_op(court, "rotate-2", rotate, &[court, plc])), Outcome::Appended(a) if a.rejected_rule().is_none())
    );

    // The audit's replay re-verifies everything, including the PSB's signatures made before
    // the revocation, and the rejected registry changes replay as the same rejections.
    let mut replay = MemState::new();
    check_entries(&mut replay, &ledger.entries).expect("the ledger audits intact");
    assert_eq!(replay.head(), ledger.state.head());

    // A forged history in which the PSB's refused step was appended after the revocation is
    // caught by the replay at exactly that index.
    let mut forged = ledger.entries.clone();
    let last = Entry::from_bytes(forged.last().expect("entries")).expect("decode");
    let body = proto_types::EntryBody {
        index: last.body.index + 1,
        accepted_at: last.body.accepted_at.plus_millis(1000),
        record: proto_types::Record::Accepted(steps[2].submission.clone()),
        prev: last.hash,
    };
    forged.push(body.seal().to_bytes());
    let err = check_entries(&mut MemState::new(), &forged).expect_err("forged");
    assert_eq!(err.index, last.body.index + 1);
}
