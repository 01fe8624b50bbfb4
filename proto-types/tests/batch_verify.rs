//! `verify_many` says exactly what `verify` (strict) says for each signature, whatever the
//! mix of good and bad ones and however they fall into groups.

use curve25519_dalek::Scalar;
use ed25519_dalek::SigningKey;
use proto_types::crypto::{sign, verify, verify_many, verify_many_dalek, PublicKey, Signature};

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
        assert_eq!(
            verify_many_dalek(&items, group),
            expected,
            "groups of {group}"
        );
    }
}

/// How a test spoils a valid signature.
#[derive(Clone, Copy, Debug)]
enum Spoil {
    /// Signed over other bytes.
    OtherMessage,
    /// `s + l`: the same scalar mod l, but not canonical (`verify_strict` refuses it).
    SPlusL,
    /// `s + d` (mod l), canonical.
    SPlus(u64),
    /// `s - d` (mod l), canonical.
    SMinus(u64),
    /// Made by the key's holder with `R` the identity (of small order) and `s = k a`: it
    /// passes a cofactorless batch equation exactly, and `verify_strict` refuses it; `R`
    /// encoded canonically (y = 1) or not (y = p + 1).
    IdentityR { canonical: bool },
}

/// The group order l, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// A signature by `keys[signer]` over `message`, spoiled as `spoil` says.
fn signature(
    keys: &[SigningKey],
    signer: usize,
    message: &[u8],
    spoil: Option<Spoil>,
) -> Signature {
    let key = &keys[signer];
    let sig = match spoil {
        Some(Spoil::OtherMessage) => sign(key, CONTEXT, b"other bytes"),
        Some(Spoil::IdentityR { canonical }) => return identity_r(key, message, canonical),
        _ => sign(key, CONTEXT, message),
    };
    let mut bytes = *sig.as_bytes();
    let mut s = [0u8; 32];
    s.copy_from_slice(&bytes[32..]);
    let scalar = Scalar::from_canonical_bytes(s).expect("a signature's s is canonical");
    let spoiled = match spoil {
        None | Some(Spoil::OtherMessage | Spoil::IdentityR { .. }) => s,
        Some(Spoil::SPlusL) => {
            // s + l as 256-bit integers; below 2^253, so the top three bits stay clear.
            let mut carry = 0u16;
            for (b, l) in s.iter_mut().zip(L) {
                let sum = u16::from(*b) + u16::from(l) + carry;
                *b = sum as u8;
                carry = sum >> 8;
            }
            assert_eq!((carry, s[31] & 0xe0), (0, 0));
            assert_eq!(Scalar::from_bytes_mod_order(s), scalar, "s + l = s mod l");
            s
        }
        Some(Spoil::SPlus(d)) => (scalar + Scalar::from(d)).to_bytes(),
        Some(Spoil::SMinus(d)) => (scalar - Scalar::from(d)).to_bytes(),
    };
    bytes[32..].copy_from_slice(&spoiled);
    Signature::ed25519(bytes)
}

/// [`Spoil::IdentityR`]: `R` the identity, `s = k a` with `k = H(R || A || M)`, so that
/// `R + kA = sB` holds exactly.
fn identity_r(key: &SigningKey, message: &[u8], canonical: bool) -> Signature {
    use sha2::{Digest as _, Sha512};
    let mut r = [0u8; 32];
    if canonical {
        r[0] = 1;
    } else {
        r = [0xff; 32];
        r[0] = 0xee;
        r[31] = 0x7f;
    }
    let hram: [u8; 64] = Sha512::new()
        .chain_update(r)
        .chain_update(key.verifying_key().as_bytes())
        .chain_update(CONTEXT)
        .chain_update(message)
        .finalize()
        .into();
    let s = Scalar::from_bytes_mod_order_wide(&hram) * key.to_scalar();
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(&r);
    bytes[32..].copy_from_slice(s.as_bytes());
    Signature::ed25519(bytes)
}

/// Signatures `i` by `keys[signer[i]]` over distinct ~300-byte messages, those in `spoiled`
/// spoiled: strict `verify` must refuse exactly those, and `verify_many` (and the old
/// `verify_many_dalek`) must say what `verify` says, however the signatures fall into groups.
fn check(keys: u8, signer: &[usize], spoiled: &[(usize, Spoil)]) {
    let keys: Vec<SigningKey> = (1..=keys)
        .map(|i| SigningKey::from_bytes(&[i; 32]))
        .collect();
    let messages: Vec<Vec<u8>> = (0..signer.len() as u32)
        .map(|i| i.to_le_bytes().repeat(75))
        .collect();
    let publics: Vec<PublicKey> = signer.iter().map(|k| PublicKey::of(&keys[*k])).collect();
    let sigs: Vec<Signature> = (0..signer.len())
        .map(|i| {
            let spoil = spoiled.iter().find(|(j, _)| *j == i).map(|(_, s)| *s);
            signature(&keys, signer[i], &messages[i], spoil)
        })
        .collect();
    let items: Vec<(&PublicKey, &[u8], &[u8], &Signature)> = (0..signer.len())
        .map(|i| (&publics[i], CONTEXT, messages[i].as_slice(), &sigs[i]))
        .collect();
    let expected: Vec<bool> = (0..signer.len())
        .map(|i| !spoiled.iter().any(|(j, _)| *j == i))
        .collect();
    let strict: Vec<bool> = items
        .iter()
        .map(|(k, c, m, s)| verify(k, c, m, s).is_ok())
        .collect();
    assert_eq!(
        strict, expected,
        "strict verify refuses exactly {spoiled:?}"
    );
    for group in [1, 5, 16, 64, 128, 1000] {
        assert_eq!(
            verify_many(&items, group),
            expected,
            "{spoiled:?} in groups of {group}"
        );
        assert_eq!(
            verify_many_dalek(&items, group),
            expected,
            "old, groups of {group}"
        );
    }
}

#[test]
fn finds_the_one_bad_signature_among_many_by_one_key() {
    // Key 0 signs three in four, four other keys the rest; the bad one is key 0's.
    let signer: Vec<usize> = (0..150)
        .map(|i| if i % 4 == 3 { 1 + (i / 4) % 4 } else { 0 })
        .collect();
    for bad in [0, 1, 37, 62, 64, 100, 149] {
        assert_eq!(signer[bad], 0);
        for spoil in [Spoil::OtherMessage, Spoil::SPlusL, Spoil::SPlus(1)] {
            check(5, &signer, &[(bad, spoil)]);
        }
    }
}

#[test]
fn a_group_of_a_single_key_passes_whole_or_gives_up_exactly_its_bad_one() {
    let signer = vec![0; 64];
    check(1, &signer, &[]);
    check(1, &signer, &[(20, Spoil::OtherMessage)]);
    check(1, &signer[..1], &[]);
    check(1, &signer[..1], &[(0, Spoil::SPlusL)]);
}

#[test]
fn refuses_a_non_canonical_s_that_is_right_mod_l() {
    let signer: Vec<usize> = (0..64).map(|i| i % 20).collect();
    check(20, &signer, &[(5, Spoil::SPlusL)]);
    check(
        20,
        &signer,
        &[(5, Spoil::SPlusL), (6, Spoil::SPlusL), (45, Spoil::SPlusL)],
    );
}

#[test]
fn errors_that_would_cancel_within_one_key_are_both_found() {
    // By one key, in one group, `s` raised by d on one signature and lowered by d on another:
    // an equation with one coefficient per key (not per signature) would pass them.
    let signer: Vec<usize> = (0..64).map(|i| i % 3).collect();
    check(
        3,
        &signer,
        &[(3, Spoil::SPlus(99)), (30, Spoil::SMinus(99))],
    );
    check(3, &signer, &[(0, Spoil::SPlus(1)), (3, Spoil::SMinus(1))]);
}

#[test]
fn refuses_signatures_crafted_to_pass_a_cofactorless_batch() {
    // Each passes the batch equation exactly, so only the checks made on each signature
    // alone (an `R` of small order; a non-canonical `R`) can refuse it.
    let signer: Vec<usize> = (0..64).map(|i| i % 4).collect();
    check(4, &signer, &[(9, Spoil::IdentityR { canonical: true })]);
    check(4, &signer, &[(9, Spoil::IdentityR { canonical: false })]);
}

#[test]
fn refuses_a_weak_key_whose_signature_passes_a_cofactorless_batch() {
    // A = the identity: `R = rB`, `s = r` satisfies `R + kA = sB` for any message.
    let keys: Vec<SigningKey> = (1..=3u8)
        .map(|i| SigningKey::from_bytes(&[i; 32]))
        .collect();
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = PublicKey::ed25519(identity);
    let r = Scalar::from(12_345u64);
    let r_point = curve25519_dalek::constants::ED25519_BASEPOINT_POINT * r;
    let mut forged = [0u8; 64];
    forged[..32].copy_from_slice(r_point.compress().as_bytes());
    forged[32..].copy_from_slice(r.as_bytes());
    let forged = Signature::ed25519(forged);
    let messages: Vec<Vec<u8>> = (0..64u32).map(|i| i.to_le_bytes().repeat(75)).collect();
    let mut publics: Vec<PublicKey> = (0..64).map(|i| PublicKey::of(&keys[i % 3])).collect();
    let mut sigs: Vec<Signature> = (0..64)
        .map(|i| sign(&keys[i % 3], CONTEXT, &messages[i]))
        .collect();
    publics[17] = weak;
    sigs[17] = forged;
    let items: Vec<(&PublicKey, &[u8], &[u8], &Signature)> = (0..64)
        .map(|i| (&publics[i], CONTEXT, messages[i].as_slice(), &sigs[i]))
        .collect();
    let expected: Vec<bool> = (0..64).map(|i| i != 17).collect();
    assert!(verify(&weak, CONTEXT, &messages[17], &forged).is_err());
    for group in [1, 64] {
        assert_eq!(verify_many(&items, group), expected, "groups of {group}");
        assert_eq!(
            verify_many_dalek(&items, group),
            expected,
            "old, groups of {group}"
        );
    }
}

#[test]
fn accepts_all_valid_groups_of_mixed_keys() {
    // ~20 signers per 64, in no order, and 64 distinct ones.
    let mixed: Vec<usize> = (0..200).map(|i| (i * 37 + i / 7) % 20).collect();
    check(20, &mixed, &[]);
    let distinct: Vec<usize> = (0..128).map(|i| i % 64).collect();
    check(64, &distinct, &[]);
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
