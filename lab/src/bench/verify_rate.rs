//! The machine's raw Ed25519 verification rate on all cores: the ceiling for anything that
//! verifies every signature (an audit, a catch-up). Batch verification (ed25519-dalek's
//! `verify_batch`, batches of [`BATCH`]) and, for comparison, one `verify_strict` per signature
//! (what the core does per entry), over ~500-byte messages signed by a few keys, on one thread
//! per core.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

/// Signatures per batch.
pub const BATCH: usize = 64;

/// Message size, bytes (a signed handoff's payload).
const MESSAGE_BYTES: usize = 500;

/// The rates measured.
#[derive(Debug, Clone, Copy)]
pub struct VerifyRate {
    /// Threads used (one per core).
    pub threads: usize,
    /// Signatures per second verified in batches of [`BATCH`].
    pub batch_per_second: f64,
    /// Signatures per second verified one by one with `verify_strict`.
    pub strict_per_second: f64,
}

struct Corpus {
    messages: Vec<Vec<u8>>,
    signatures: Vec<Signature>,
    keys: Vec<VerifyingKey>,
}

/// How the kernel says the processors share cores: "each processor its own core" when no
/// processor lists a hyper-thread sibling (`/sys/devices/system/cpu/cpuN/topology`), else the
/// sibling lists. A virtual machine sees what its hypervisor shows it.
pub fn topology() -> String {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let siblings: Vec<String> = (0..threads)
        .filter_map(|n| {
            std::fs::read_to_string(format!(
                "/sys/devices/system/cpu/cpu{n}/topology/thread_siblings_list"
            ))
            .ok()
        })
        .map(|s| s.trim().to_owned())
        .collect();
    if siblings.is_empty() {
        return format!("{threads} processors, topology unknown");
    }
    if siblings.iter().all(|s| !s.contains([',', '-'])) {
        format!("{threads} processors, each its own core (no hyper-thread siblings)")
    } else {
        format!(
            "{threads} processors, hyper-thread siblings {}",
            siblings.join(" ")
        )
    }
}

fn corpus() -> Corpus {
    let signers: Vec<SigningKey> = (0u8..8)
        .map(|i| SigningKey::from_bytes(&[i + 1; 32]))
        .collect();
    let mut c = Corpus {
        messages: Vec::new(),
        signatures: Vec::new(),
        keys: Vec::new(),
    };
    for i in 0..BATCH {
        let mut m = vec![0u8; MESSAGE_BYTES];
        for (j, b) in m.iter_mut().enumerate() {
            *b = (i * 31 + j * 7) as u8;
        }
        let k = &signers[i % signers.len()];
        c.signatures.push(k.sign(&m));
        c.keys.push(k.verifying_key());
        c.messages.push(m);
    }
    c
}

/// Runs `work` (which verifies some signatures and returns how many) on every core for
/// `duration`; signatures per second.
fn on_all_cores(threads: usize, duration: Duration, work: impl Fn() -> u64 + Sync) -> f64 {
    let stop = AtomicBool::new(false);
    let done = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    done.fetch_add(work(), Ordering::Relaxed);
                }
            });
        }
        std::thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
    });
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// Measures both rates on one thread per core, `duration` each.
pub fn measure(duration: Duration) -> VerifyRate {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    measure_on(threads, duration)
}

/// Measures both rates on `threads` threads, `duration` each.
pub fn measure_on(threads: usize, duration: Duration) -> VerifyRate {
    let c = corpus();
    let messages: Vec<&[u8]> = c.messages.iter().map(Vec::as_slice).collect();
    let batch_per_second = on_all_cores(threads, duration, || {
        let ok = ed25519_dalek::verify_batch(&messages, &c.signatures, &c.keys).is_ok();
        assert!(ok, "the corpus verifies");
        BATCH as u64
    });
    let strict_per_second = on_all_cores(threads, duration, || {
        for ((key, message), signature) in c.keys.iter().zip(&messages).zip(&c.signatures) {
            let ok = key.verify_strict(message, signature).is_ok();
            assert!(ok, "the corpus verifies");
        }
        BATCH as u64
    });
    VerifyRate {
        threads,
        batch_per_second,
        strict_per_second,
    }
}
