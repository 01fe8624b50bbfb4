//! Signatures verified per second, on one thread: ed25519-dalek's `verify_batch` behind the
//! byte checks (the old `verify_many`), the batch equation with one point per distinct key
//! (`verify_many`), and strict verification one by one, over submission-sized messages.
//!
//! `cargo run --release -p proto-types --example verify_rate [rounds]` (and without
//! `--release` for the dev profile the benchmarks use). The variants alternate within each
//! round, so a change in the machine's load falls on all of them.

use ed25519_dalek::SigningKey;
use proto_types::crypto::{
    context, sign, verify, verify_many, verify_many_dalek, PublicKey, Signature,
};
use std::time::Instant;

/// Signatures in each timed pass.
const SIGNATURES: usize = 2560;

/// Signatures over ~300-byte messages, each by one of `keys` keys: drawn pseudo-randomly, or
/// in turn if `distinct` (so that each group of `keys` has as many distinct signers).
struct Workload {
    keys: Vec<PublicKey>,
    signer: Vec<usize>,
    messages: Vec<Vec<u8>>,
    sigs: Vec<Signature>,
}

impl Workload {
    fn new(keys: usize, distinct: bool) -> Self {
        let signing: Vec<SigningKey> = (0..keys)
            .map(|i| {
                let mut seed = [0u8; 32];
                seed[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
                SigningKey::from_bytes(&seed)
            })
            .collect();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let signer: Vec<usize> = (0..SIGNATURES)
            .map(|i| {
                if distinct {
                    return i % keys;
                }
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 33) as usize % keys
            })
            .collect();
        let messages: Vec<Vec<u8>> = (0..SIGNATURES)
            .map(|i| {
                let mut m = format!(
                    "{{\"signer\":\"DEPT-{:02}\",\"id\":\"S-{i:08}\",\"claimed_at\":1718000000{:03},\
                     \"action\":{{\"file\":{{\"case_type\":\"THEFT\",\"procedure\":\"ORDINARY\",\
                     \"persons\":[\"P-{i}\"]}}}}}}",
                    signer[i],
                    i % 1000
                )
                .into_bytes();
                m.resize(300, b' ');
                m
            })
            .collect();
        let sigs = messages
            .iter()
            .zip(&signer)
            .map(|(m, k)| sign(&signing[*k], context::SUBMISSION, m))
            .collect();
        Self {
            keys: signing.iter().map(PublicKey::of).collect(),
            signer,
            messages,
            sigs,
        }
    }

    fn items(&self) -> Vec<(&PublicKey, &[u8], &[u8], &Signature)> {
        (0..SIGNATURES)
            .map(|i| {
                (
                    &self.keys[self.signer[i]],
                    context::SUBMISSION,
                    self.messages[i].as_slice(),
                    &self.sigs[i],
                )
            })
            .collect()
    }
}

/// Signatures per second of one pass of `f` over `items`, which must accept them all.
fn rate(items: &[(&PublicKey, &[u8], &[u8], &Signature)], f: impl Fn() -> Vec<bool>) -> f64 {
    let start = Instant::now();
    let ok = f();
    let secs = start.elapsed().as_secs_f64();
    assert!(ok.iter().all(|ok| *ok), "every signature is valid");
    items.len() as f64 / secs
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(7);
    let profile = if cfg!(debug_assertions) {
        "dev"
    } else {
        "release"
    };
    println!("profile {profile}, {rounds} rounds of {SIGNATURES} signatures, ~300-byte messages");
    let twenty = Workload::new(20, false);
    let sixty_four = Workload::new(64, true);
    let configs = [
        ("group 64, 20 keys", &twenty, 64),
        ("group 64, 64 distinct", &sixty_four, 64),
        ("group 128, 20 keys", &twenty, 128),
    ];
    let mut old: Vec<Vec<f64>> = vec![Vec::new(); configs.len()];
    let mut new: Vec<Vec<f64>> = vec![Vec::new(); configs.len()];
    let mut strict = Vec::new();
    for round in 0..rounds {
        for (c, (_, work, group)) in configs.iter().enumerate() {
            let items = work.items();
            let run_old = || rate(&items, || verify_many_dalek(&items, *group));
            let run_new = || rate(&items, || verify_many(&items, *group));
            // A B in even rounds, B A in odd ones.
            if round % 2 == 0 {
                old[c].push(run_old());
                new[c].push(run_new());
            } else {
                new[c].push(run_new());
                old[c].push(run_old());
            }
        }
        let items = twenty.items();
        strict.push(rate(&items, || {
            items
                .iter()
                .map(|(k, c, m, s)| verify(k, c, m, s).is_ok())
                .collect()
        }));
    }
    println!(
        "{:<22} {:>10} {:>14} {:>12}   per round (old/new)",
        "configuration", "old sig/s", "per-key sig/s", "new/old"
    );
    for (c, (name, _, _)) in configs.iter().enumerate() {
        let (o, n) = (median(old[c].clone()), median(new[c].clone()));
        // The median of each round's ratio: the two ran within the same second.
        let ratio = median(old[c].iter().zip(&new[c]).map(|(o, n)| n / o).collect());
        let rounds: Vec<String> = old[c]
            .iter()
            .zip(&new[c])
            .map(|(o, n)| format!("{o:.0}/{n:.0}"))
            .collect();
        println!(
            "{name:<22} {o:>10.0} {n:>14.0} {ratio:>12.2}   {}",
            rounds.join(" ")
        );
    }
    println!(
        "{:<22} {:>10.0}   (verify_strict one by one, 20 keys)",
        "one by one",
        median(strict)
    );
}
