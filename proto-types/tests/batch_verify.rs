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
    let items: Vec<(&PublicKey, &[u8], &[u8], &Signature)> = (0..messages.len())
        .map(|i| (&key_of[i], CONTEXT, messages[i].as_slice(), &sigs[i]))
        .collect();
    let expected: Vec<bool> = items
        .iter()
        .map(|(k, c, m, s)| verify(k, c, m, s).is_ok())
        .collect();
    assert_eq!(expected.iter().filter(|ok| !**ok).count(), 3);
    for group in [1, 7, 64, 1000] {
        assert_eq!(verify_many(&items, group), expected, "groups of {group}");
    }
}
