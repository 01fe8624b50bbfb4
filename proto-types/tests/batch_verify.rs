//! `verify_many` says exactly what `verify` (strict) says for each signature, whatever the
//! mix of good and bad ones and however they fall into groups.

use ed25519_dalek::SigningKey;
use proto_types::crypto::{sign, verify, verify_many, PublicKey, Signature};

const CONTEXT: &[u8] = b"caseledger/v1/submission\0";

#[test]
fn verify_many_agrees_with_strict_verify_for_every_signature() {
    let keys: Vec<SigningKey> = (1u8..=5)
        .map(|i| SigningKey::from_bytes(&[i; 32]))
        .collect();
    let publics: Vec<PublicKey> = keys.iter().map(PublicKey::of).collect();
    let messages: Vec<Vec<u8>> = (0..150u32).map(|i| i.to_be_bytes().repeat(100)).collect();
    let mut sigs: Vec<Signature> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| sign(&keys[i % keys.len()], CONTEXT, m))
        .collect();
    let mut key_of: Vec<PublicKey> = (0..messages.len())
        .map(|i| publics[i % keys.len()])
        .collect();
    // A signature by another key, a signature over other bytes, and an `R` of small order
    // (the identity's encoding), which `verify_strict` refuses.
    key_of[7] = publics[(7 + 1) % keys.len()];
    sigs[70] = sign(&keys[70 % keys.len()], CONTEXT, b"something else");
    let mut small_r = *sigs[140].as_bytes();
    small_r[..32].copy_from_slice(&{
        let mut id = [0u8; 32];
        id[0] = 1;
        id
    });
    sigs[140] = Signature::ed25519(small_r);
    // Every encoding of every point of small order as `R` (both signs of x), and a
    // non-canonical `R` (y = p + 3), on otherwise valid signatures: strict verification refuses
    // them all, and so must the batch's byte checks.
    let torsion = curve25519_dalek::constants::EIGHT_TORSION;
    let mut odd_rs: Vec<[u8; 32]> = torsion
        .iter()
        .flat_map(|t| {
            let r = t.compress().to_bytes();
            let mut flipped = r;
            flipped[31] ^= 0x80;
            [r, flipped]
        })
        .collect();
    let mut non_canonical = [0xffu8; 32];
    non_canonical[0] = 0xf0;
    non_canonical[31] = 0x7f;
    odd_rs.push(non_canonical);
    for (j, r) in odd_rs.iter().enumerate() {
        let i = 11 + 5 * j;
        let mut bytes = *sigs[i].as_bytes();
        bytes[..32].copy_from_slice(r);
        sigs[i] = Signature::ed25519(bytes);
    }
    let items: Vec<(&PublicKey, &[u8], &[u8], &Signature)> = (0..messages.len())
        .map(|i| (&key_of[i], CONTEXT, messages[i].as_slice(), &sigs[i]))
        .collect();
    let expected: Vec<bool> = items
        .iter()
        .map(|(k, c, m, s)| verify(k, c, m, s).is_ok())
        .collect();
    assert_eq!(expected.iter().filter(|ok| !**ok).count(), 3 + 17);
    for group in [1, 7, 64, 1000] {
        assert_eq!(verify_many(&items, group), expected, "groups of {group}");
    }
}

mod common;

/// `apply::preverify` returns the signer's key exactly for the submissions whose signature
/// verifies with it, and `apply` given that key decides as it does when it verifies itself.
#[test]
fn preverified_submissions_apply_as_verified_ones() {
    use common::{file, key, seed_of, signer, Ledger, PROC, PSB};
    use proto_types::apply::{preverify, Refusal};
    use proto_types::domain::{CaseType, Procedure};
    use proto_types::{apply, LedgerState, Outcome, Payload, Proposal, SignatureCheck, Submission};

    let ledger = Ledger::new();
    let (org, sub_id, action) = ledger.action(
        &file(CaseType::Theft, Procedure::Ordinary, &["P-1"]),
        "S-0001".into(),
    );
    let payload = Payload {
        signer: signer(org),
        id: common::id(&sub_id),
        claimed_at: ledger.now,
        action,
    };
    let good = payload.clone().sign(&key(seed_of(org)));
    // Signed by another department's key under the filer's name.
    let forged = payload.clone().sign(&key(seed_of(PROC)));
    // A signer the registry does not know.
    let mut unknown = payload.clone();
    unknown.signer = signer("NOBODY");
    let unknown = unknown.sign(&key(seed_of(PSB)));
    let subs: Vec<(&Submission, proto_types::Timestamp)> = [&good, &forged, &unknown]
        .into_iter()
        .map(|s| (s, ledger.now))
        .collect();
    let registry = ledger.state.registry().expect("genesis applied");
    for group in [1, 2, 64] {
        let keys = preverify(registry, &subs, group);
        assert_eq!(
            keys[0],
            Some(PublicKey::of(&key(seed_of(org)))),
            "groups of {group}"
        );
        assert_eq!(keys[1], None, "a forged signature gets no key");
        assert_eq!(keys[2], None, "an unknown signer gets no key");
    }
    let keys = preverify(registry, &subs, 64);
    let decide = |sub: &Submission, check| {
        let proposal = Proposal {
            submission: sub.clone(),
            stamped_at: ledger.now,
        };
        apply(&ledger.state, &proposal, check).expect("in-memory state")
    };
    let verified = decide(&good, SignatureCheck::Verify);
    assert!(matches!(verified, Outcome::Appended(_)), "{verified:?}");
    let key0 = keys[0].expect("verified");
    assert_eq!(decide(&good, SignatureCheck::VerifiedWith(key0)), verified);
    // Apply does not take another key's word for it: the forged one is refused either way.
    for check in [
        SignatureCheck::Verify,
        SignatureCheck::VerifiedWith(PublicKey::of(&key(seed_of(PROC)))),
    ] {
        assert!(
            matches!(
                decide(&forged, check),
                Outcome::Refused(Refusal::Signature(_))
            ),
            "forged submission refused"
        );
    }
}
