//! Batch verification of Ed25519 signatures that answers, for each signature, as strict
//! verification ([`super::verify`]) does: the checks `verify_strict` makes beyond its equation
//! are made on each signature's bytes, then one equation per group of signatures, with one
//! point per distinct key.

use super::{verify, PublicKey, Signature};
use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::traits::{IsIdentity as _, VartimeMultiscalarMul as _};
use curve25519_dalek::{EdwardsPoint, Scalar};
use ed25519_dalek::VerifyingKey;
use sha2::{Digest as _, Sha512};
use std::collections::HashMap;

/// Verifies many signatures, each over `context || message`, and says for each whether
/// [`verify`] accepts it.
///
/// Each signature is first checked alone for what `verify_strict` requires beyond its
/// equation: the key decodes and is not of small order (not weak); `R` is canonical and not of
/// small order (byte comparisons) and decodes; `s` is canonical, below the group order l (as
/// `verify_strict` and ed25519-dalek's `verify_batch` require: `s + l` is refused). One that
/// fails is decided by [`verify`], which refuses it. The others are checked in groups of
/// `group` (in order), one equation per group:
///
/// `[-(Σ z_i s_i)] B + Σ z_i R_i + Σ_A (Σ_{i signed by A} z_i k_i) A = 0`,
///
/// with `k_i = SHA-512(R_i || A_i || context_i || message_i) mod l` and 128-bit coefficients
/// `z_i`. A group whose equation fails is checked one signature at a time with [`verify`], so a
/// bad signature costs its group a second pass and is always found.
///
/// Why this is sound: it is the equation of ed25519-dalek's `verify_batch` (cofactorless), the
/// random linear combination `Σ z_i (R_i + k_i A_i - s_i B)` of the signatures' own equations,
/// with the key terms regrouped. `Σ_i z_i k_i A_i = Σ_A (Σ_{i signed by A} z_i k_i) A` is the
/// same point (each `A` multiplied by the sum of its coefficients mod l), so the check accepts
/// and refuses exactly the groups the per-signature one does, for the same `z_i`; only the
/// multiscalar multiplication is shorter: one point per distinct key instead of one per
/// signature (85 points for 64 signatures by 20 keys, instead of 129), as in ed25519-zebra.
/// What must not be regrouped is the `z_i`: each signature keeps its own, so errors in two
/// signatures by one key cannot cancel. The `z_i` are derived from everything the equation
/// depends on (see `coefficients`), as `verify_batch` derives its own, so they are fixed only
/// once the signatures are: a group holding a signature whose own equation is off by a point
/// with a component of order l passes with probability about 2^-128. Being cofactorless, the batch can pass a
/// signature that `verify_strict` refuses only if it is off by a point of small order, which
/// only its key's holder can craft (torsion components), and which forges nothing; for the
/// same inputs the answer is the same on every run. Each distinct key is decompressed once per
/// call.
pub fn verify_many(items: &[(&PublicKey, &[u8], &[u8], &Signature)], group: usize) -> Vec<bool> {
    let mut ok = vec![false; items.len()];
    let mut keys = Keys::default();
    let mut prepared = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        match Prepared::new(index, item, &mut keys) {
            Some(p) => prepared.push(p),
            // Let the one-by-one check decide (and refuse) the rest.
            None => {
                let (key, context, message, sig) = *item;
                ok[index] = verify(key, context, message, sig).is_ok();
            }
        }
    }
    for part in prepared.chunks(group.max(1)) {
        if equation_holds(part, &keys.points) {
            for p in part {
                ok[p.index] = true;
            }
        } else {
            for p in part {
                let (key, context, message, sig) = items[p.index];
                ok[p.index] = verify(key, context, message, sig).is_ok();
            }
        }
    }
    ok
}

/// The keys of one call, each decompressed once: a ledger has few signers and many signatures.
#[derive(Default)]
struct Keys {
    /// By encoding: the key's index in `points`, or `None` if it does not decode or is weak.
    index: HashMap<[u8; 32], Option<usize>>,
    points: Vec<EdwardsPoint>,
}

impl Keys {
    /// The index of the key `bytes` encode, if it decodes to a point not of small order.
    fn get(&mut self, bytes: &[u8; 32]) -> Option<usize> {
        let points = &mut self.points;
        *self.index.entry(*bytes).or_insert_with(|| {
            let point = CompressedEdwardsY(*bytes)
                .decompress()
                .filter(|a| !a.is_small_order())?;
            points.push(point);
            Some(points.len() - 1)
        })
    }
}

/// A signature that passed the checks made alone, ready for its group's equation.
struct Prepared {
    /// Its index in the caller's items.
    index: usize,
    /// Its key's index in [`Keys::points`].
    key: usize,
    /// `R`, decompressed.
    r: EdwardsPoint,
    /// `s`, below l.
    s: Scalar,
    /// `SHA-512(R || A || context || message)`.
    hram: [u8; 64],
    /// `hram` mod l.
    k: Scalar,
}

impl Prepared {
    /// The signature `items[index]`, if it passes every check that `verify_strict` makes
    /// beyond its equation.
    fn new(
        index: usize,
        (key, context, message, sig): &(&PublicKey, &[u8], &[u8], &Signature),
        keys: &mut Keys,
    ) -> Option<Self> {
        if key.alg != sig.alg {
            return None;
        }
        let key_at = keys.get(&key.bytes)?;
        let mut r_bytes = [0u8; 32];
        r_bytes.copy_from_slice(&sig.bytes[..32]);
        if !canonical_not_small_order(&r_bytes) {
            return None;
        }
        let r = CompressedEdwardsY(r_bytes).decompress()?;
        let mut s_bytes = [0u8; 32];
        s_bytes.copy_from_slice(&sig.bytes[32..]);
        let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))?;
        let hram: [u8; 64] = Sha512::new()
            .chain_update(r_bytes)
            .chain_update(key.bytes)
            .chain_update(context)
            .chain_update(message)
            .finalize()
            .into();
        Some(Self {
            index,
            key: key_at,
            r,
            s,
            hram,
            k: Scalar::from_bytes_mod_order_wide(&hram),
        })
    }
}

/// Domain separation of the hash that derives a group's coefficients.
const COEFFICIENTS: &[u8] = b"caseledger/v1/batch-verify-coefficients\0";

/// One 128-bit coefficient per signature of `part`: SHA-512 in counter mode, keyed by a hash
/// of all the equation depends on (each `hram`, which covers `R`, `A` and the message, and
/// each `s`), as `verify_batch` derives its own from a transcript of the same. Deterministic,
/// yet unknown to whoever chose the signatures until all of them are fixed; and the core
/// takes no randomness.
fn coefficients(part: &[Prepared]) -> Vec<Scalar> {
    let mut h = Sha512::new();
    h.update(COEFFICIENTS);
    h.update((part.len() as u64).to_le_bytes());
    for p in part {
        h.update(p.hram);
        h.update(p.s.as_bytes());
    }
    let seed = h.finalize();
    let mut zs = Vec::with_capacity(part.len() + 3);
    for block in 0..part.len().div_ceil(4) as u64 {
        let out = Sha512::new()
            .chain_update(seed)
            .chain_update(block.to_le_bytes())
            .finalize();
        for chunk in out.chunks_exact(16) {
            let mut z = [0u8; 16];
            z.copy_from_slice(chunk);
            zs.push(Scalar::from(u128::from_le_bytes(z)));
        }
    }
    zs.truncate(part.len());
    zs
}

/// The group's distinct keys (indices into the call's keys, in order of first use) and, for
/// each, the sum of `z_i k_i` over the signatures it made.
fn key_coefficients(part: &[Prepared], zs: &[Scalar]) -> (Vec<usize>, Vec<Scalar>) {
    let mut signers: Vec<usize> = Vec::new();
    let mut sums: Vec<Scalar> = Vec::new();
    for (p, z) in part.iter().zip(zs) {
        let zk = z * p.k;
        // A linear search: a group has tens of keys at most.
        match signers.iter().position(|k| *k == p.key) {
            Some(j) => sums[j] += zk,
            None => {
                signers.push(p.key);
                sums.push(zk);
            }
        }
    }
    (signers, sums)
}

/// `[-(Σ z_i s_i)] B + Σ z_i R_i + Σ_A (Σ_{i signed by A} z_i k_i) A` for the group `part`.
fn combination(part: &[Prepared], keys: &[EdwardsPoint]) -> EdwardsPoint {
    let zs = coefficients(part);
    let b: Scalar = -part.iter().zip(&zs).map(|(p, z)| z * p.s).sum::<Scalar>();
    let (signers, sums) = key_coefficients(part, &zs);
    EdwardsPoint::vartime_multiscalar_mul(
        std::iter::once(b).chain(zs).chain(sums),
        std::iter::once(ED25519_BASEPOINT_POINT)
            .chain(part.iter().map(|p| p.r))
            .chain(signers.iter().map(|k| keys[*k])),
    )
}

/// Whether the group's equation holds: its [`combination`] is the identity.
fn equation_holds(part: &[Prepared], keys: &[EdwardsPoint]) -> bool {
    combination(part, keys).is_identity()
}

/// [`verify_many`] as it was: the same byte checks, then ed25519-dalek's `verify_batch`, whose
/// equation has one point per signature for `R` and another for its key (`1 + 2n` points for
/// a group of `n`). Kept to measure against (`examples/verify_rate.rs`) and to test that the
/// two say the same; not for use.
#[doc(hidden)]
pub fn verify_many_dalek(
    items: &[(&PublicKey, &[u8], &[u8], &Signature)],
    group: usize,
) -> Vec<bool> {
    let mut ok = vec![false; items.len()];
    let mut batchable = Vec::with_capacity(items.len());
    // Decompressed keys, by their bytes: a ledger has few signers and many signatures.
    let mut keys: std::collections::HashMap<[u8; 32], Option<VerifyingKey>> =
        std::collections::HashMap::new();
    for (i, (key, context, message, sig)) in items.iter().enumerate() {
        if key.alg != sig.alg {
            continue;
        }
        let vk = *keys
            .entry(key.bytes)
            .or_insert_with(|| key.to_verifying_key().ok().filter(|vk| !vk.is_weak()));
        let mut r = [0u8; 32];
        r.copy_from_slice(&sig.bytes[..32]);
        match vk {
            Some(vk) if canonical_not_small_order(&r) => {
                let mut m = Vec::with_capacity(context.len() + message.len());
                m.extend_from_slice(context);
                m.extend_from_slice(message);
                batchable.push((i, vk, m));
            }
            // Let the one-by-one check decide (and refuse) the rest.
            _ => ok[i] = verify(key, context, message, sig).is_ok(),
        }
    }
    for part in batchable.chunks(group.max(1)) {
        let messages: Vec<&[u8]> = part.iter().map(|(_, _, m)| m.as_slice()).collect();
        let sigs: Vec<ed25519_dalek::Signature> = part
            .iter()
            .map(|(i, _, _)| ed25519_dalek::Signature::from_bytes(&items[*i].3.bytes))
            .collect();
        let keys: Vec<VerifyingKey> = part.iter().map(|(_, vk, _)| *vk).collect();
        if ed25519_dalek::verify_batch(&messages, &sigs, &keys).is_ok() {
            for (i, _, _) in part {
                ok[*i] = true;
            }
        } else {
            for (i, _, _) in part {
                let (key, context, message, sig) = items[*i];
                ok[*i] = verify(key, context, message, sig).is_ok();
            }
        }
    }
    ok
}

/// The y coordinates (little-endian, sign bit clear) of the eight points of small order: an
/// encoding decodes to a point of small order exactly when its low 255 bits are one of these
/// (y = 0, 1, p - 1 and the two y of the points of order 8; each y with either sign of x).
const SMALL_ORDER_Y: [[u8; 32]; 5] = [
    [0; 32],
    {
        let mut one = [0u8; 32];
        one[0] = 1;
        one
    },
    {
        let mut minus_one = [0xff; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        minus_one
    },
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ],
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ],
];

/// Whether a point encoding is canonical (y below p = 2^255 - 19) and, if it decodes at all,
/// decodes to a point that is not of small order. Byte comparisons only: no decompression
/// (the batch decompresses `R` itself, and fails if it does not decode).
fn canonical_not_small_order(encoding: &[u8; 32]) -> bool {
    let mut y = *encoding;
    y[31] &= 0x7f;
    let non_canonical = y[31] == 0x7f && y[1..31].iter().all(|b| *b == 0xff) && y[0] >= 0xed;
    !non_canonical && !SMALL_ORDER_Y.contains(&y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{context::SUBMISSION, sign};
    use ed25519_dalek::SigningKey;

    /// Signatures over distinct messages by `keys[signer[i]]`.
    fn signed(
        keys: &[SigningKey],
        signer: &[usize],
    ) -> (Vec<PublicKey>, Vec<Vec<u8>>, Vec<Signature>) {
        let publics = signer.iter().map(|k| PublicKey::of(&keys[*k])).collect();
        let messages: Vec<Vec<u8>> = (0..signer.len() as u32)
            .map(|i| i.to_be_bytes().repeat(75))
            .collect();
        let sigs = messages
            .iter()
            .zip(signer)
            .map(|(m, k)| sign(&keys[*k], SUBMISSION, m))
            .collect();
        (publics, messages, sigs)
    }

    /// The signatures prepared for one group (all must pass the checks made alone).
    fn prepare(
        publics: &[PublicKey],
        messages: &[Vec<u8>],
        sigs: &[Signature],
    ) -> (Vec<Prepared>, Keys) {
        let mut keys = Keys::default();
        let prepared = (0..sigs.len())
            .map(|i| {
                let item = (&publics[i], SUBMISSION, messages[i].as_slice(), &sigs[i]);
                Prepared::new(i, &item, &mut keys).expect("passes the checks made alone")
            })
            .collect();
        (prepared, keys)
    }

    /// The per-signature combination ed25519-dalek's `verify_batch` computes, for the same
    /// coefficients: `[-(Σ z_i s_i)] B + Σ z_i R_i + Σ (z_i k_i) A_i`.
    fn per_signature(part: &[Prepared], keys: &[EdwardsPoint]) -> EdwardsPoint {
        let zs = coefficients(part);
        let b: Scalar = -part.iter().zip(&zs).map(|(p, z)| z * p.s).sum::<Scalar>();
        let zks: Vec<Scalar> = part.iter().zip(&zs).map(|(p, z)| z * p.k).collect();
        EdwardsPoint::vartime_multiscalar_mul(
            std::iter::once(b).chain(zs).chain(zks),
            std::iter::once(ED25519_BASEPOINT_POINT)
                .chain(part.iter().map(|p| p.r))
                .chain(part.iter().map(|p| keys[p.key])),
        )
    }

    fn keys(n: u8) -> Vec<SigningKey> {
        (1..=n).map(|i| SigningKey::from_bytes(&[i; 32])).collect()
    }

    #[test]
    fn the_equation_holds_for_valid_groups_of_one_key_and_of_many() {
        let keys = keys(20);
        let one_key = vec![3; 64];
        let mixed: Vec<usize> = (0..64).map(|i| (i * 7 + i / 5) % 20).collect();
        let distinct: Vec<usize> = (0..20).collect();
        for signer in [one_key, mixed, distinct, vec![0]] {
            let (publics, messages, sigs) = signed(&keys, &signer);
            let (part, keys) = prepare(&publics, &messages, &sigs);
            assert!(equation_holds(&part, &keys.points), "{signer:?}");
        }
    }

    #[test]
    fn the_per_key_sum_is_the_per_signature_combination_regrouped() {
        let keys = keys(5);
        let signer: Vec<usize> = (0..40).map(|i| [0, 0, 0, 1, 2, 0, 3, 4][i % 8]).collect();
        let (publics, messages, mut sigs) = signed(&keys, &signer);
        // Bad signatures too, so that neither side is the identity.
        for i in [2, 9, 33] {
            let mut bytes = *sigs[i].as_bytes();
            bytes[32] ^= 1;
            sigs[i] = Signature::ed25519(bytes);
        }
        let (part, keys) = prepare(&publics, &messages, &sigs);
        let regrouped = combination(&part, &keys.points);
        assert!(!regrouped.is_identity());
        assert_eq!(regrouped, per_signature(&part, &keys.points));
        assert_eq!(key_coefficients(&part, &coefficients(&part)).0.len(), 5);
    }

    #[test]
    fn errors_that_cancel_in_a_sum_over_one_key_fail_the_equation() {
        // Two signatures by one key, one's `s` raised by d and the other's lowered by d: with
        // one coefficient per key (instead of per signature) the errors would cancel.
        let keys = keys(3);
        let signer: Vec<usize> = (0..16).map(|i| i % 3).collect();
        let (publics, messages, mut sigs) = signed(&keys, &signer);
        let d = Scalar::from(12_345u64);
        for (i, shift) in [(3, d), (6, -d)] {
            let mut bytes = *sigs[i].as_bytes();
            let mut s = [0u8; 32];
            s.copy_from_slice(&bytes[32..]);
            let s = Scalar::from_canonical_bytes(s).expect("canonical") + shift;
            bytes[32..].copy_from_slice(s.as_bytes());
            sigs[i] = Signature::ed25519(bytes);
        }
        let (part, keys) = prepare(&publics, &messages, &sigs);
        assert!(!equation_holds(&part, &keys.points));
    }

    #[test]
    fn the_coefficients_are_128_bit_distinct_and_change_with_any_message_or_s() {
        let keys = keys(2);
        let signer: Vec<usize> = (0..9).map(|i| i % 2).collect();
        let (publics, messages, sigs) = signed(&keys, &signer);
        let (part, _) = prepare(&publics, &messages, &sigs);
        let zs = coefficients(&part);
        assert_eq!(zs.len(), 9);
        for (i, z) in zs.iter().enumerate() {
            assert_eq!(&z.as_bytes()[16..], &[0; 16], "z_{i} below 2^128");
            assert!(!zs[..i].contains(z), "z_{i} repeats");
        }
        assert_eq!(coefficients(&part), zs, "deterministic");
        // Another message for the last signature changes every coefficient.
        let mut other = messages.clone();
        other[8] = b"other".to_vec();
        let (changed, _) = prepare(&publics, &other, &sigs);
        let zs2 = coefficients(&changed);
        assert!(zs.iter().zip(&zs2).all(|(a, b)| a != b));
        // So does another `s` (still canonical) for the first.
        let mut other = sigs.clone();
        let mut bytes = *other[0].as_bytes();
        bytes[32] ^= 1;
        other[0] = Signature::ed25519(bytes);
        let (changed, _) = prepare(&publics, &messages, &other);
        let zs3 = coefficients(&changed);
        assert!(zs.iter().zip(&zs3).all(|(a, b)| a != b));
    }
}
