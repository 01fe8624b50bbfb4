//! Ingress signature checks, verified together. Every submission the API takes in is
//! verified once at the node that proposes it, before Raft; one request's submission alone
//! would be one strict verification (~2x the cost of a signature in a batch), so the
//! submissions that wait at the same moment, from any number of requests, are verified
//! together in one batch ([`proto_types::crypto::verify_many`], which answers for each as
//! strict verification does, but for a signature its own key's holder crafted with torsion:
//! ARCHITECTURE.md, the known limit of batch verification).
//!
//! One thread does it: it takes the first waiting check, then every other one already
//! waiting (up to [`MAX_BATCH`]), verifies them and answers each. It never waits for more to
//! arrive: a lone check is verified at once, with `verify_strict`, so a quiet node's latency is
//! unchanged, and under load the checks that queue while one batch is verified form the next.

use std::sync::mpsc;

use prometheus_client::metrics::counter::Counter;
use proto_types::crypto::{self, PublicKey, Signature};
use proto_types::encoding::encode;
use proto_types::Submission;
use tokio::sync::oneshot;

/// The most checks verified in one batch (the group `verify_many` checks at once).
pub const MAX_BATCH: usize = 128;

/// One submission's signature to check against a key.
struct Check {
    key: PublicKey,
    /// The signed bytes: the payload's canonical encoding.
    message: Vec<u8>,
    signature: Signature,
    answer: oneshot::Sender<bool>,
}

/// The ingress verifier: a handle to its thread, which ends when the last handle is dropped.
pub struct SignatureVerifier {
    checks: mpsc::Sender<Check>,
}

impl SignatureVerifier {
    /// Starts the verifying thread, which counts each batch it checks in `batches`.
    pub fn start(batches: Counter) -> std::io::Result<Self> {
        let (checks, waiting) = mpsc::channel();
        std::thread::Builder::new()
            .name("ingress-verify".into())
            .spawn(move || run(&waiting, &batches))?;
        Ok(Self { checks })
    }

    /// Whether `sub`'s signature verifies (strictly) with `key`: together with whatever other
    /// checks wait at the same moment.
    pub async fn verify(&self, key: PublicKey, sub: &Submission) -> bool {
        let (answer, answered) = oneshot::channel();
        let check = Check {
            key,
            message: encode(&sub.payload),
            signature: sub.signature,
            answer,
        };
        if self.checks.send(check).is_err() {
            // The thread is gone (it cannot be while a handle lives, short of a panic):
            // verify here rather than refuse.
            return sub.verify_with(&key).is_ok();
        }
        match answered.await {
            Ok(ok) => ok,
            Err(_) => sub.verify_with(&key).is_ok(),
        }
    }
}

/// The verifying thread's loop: until every handle is dropped.
fn run(waiting: &mpsc::Receiver<Check>, batches: &Counter) {
    while let Ok(first) = waiting.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match waiting.try_recv() {
                Ok(check) => batch.push(check),
                Err(_) => break,
            }
        }
        let verified = answers(&batch);
        batches.inc();
        for (check, ok) in batch.into_iter().zip(verified) {
            // A request that gave up (its client went away) no longer listens.
            let _ = check.answer.send(ok);
        }
    }
}

/// Each check's answer: strict verification for one alone, else one batch.
fn answers(batch: &[Check]) -> Vec<bool> {
    let items: Vec<(&PublicKey, &[u8], &[u8], &Signature)> = batch
        .iter()
        .map(|c| {
            (
                &c.key,
                crypto::context::SUBMISSION,
                c.message.as_slice(),
                &c.signature,
            )
        })
        .collect();
    match items.as_slice() {
        [(key, context, message, signature)] => {
            vec![crypto::verify(key, context, message, signature).is_ok()]
        }
        _ => crypto::verify_many(&items, MAX_BATCH),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use proto_types::ids::HandoffId;
    use proto_types::payload::{Action, CheckpointRecord, Payload, Signer};
    use proto_types::Timestamp;

    fn submission(key: &SigningKey, n: u32) -> Submission {
        Payload {
            signer: Signer::Node(1),
            id: HandoffId::new(format!("CP-{n}")).expect("an id"),
            claimed_at: Timestamp::from_millis(1_700_000_000_000 + u64::from(n)),
            action: Action::Checkpoint(CheckpointRecord {
                note: format!("note {n}"),
            }),
        }
        .sign(key)
    }

    /// Many checks at once, good and bad mixed, each answered as strict verification
    /// answers it, whichever batch it fell into.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_checks_are_answered_each_as_strict_verification_does() {
        let verifier =
            std::sync::Arc::new(SignatureVerifier::start(Counter::default()).expect("the thread"));
        let signers: Vec<SigningKey> = (1u8..=3)
            .map(|i| SigningKey::from_bytes(&[i; 32]))
            .collect();
        let mut tasks = Vec::new();
        for n in 0..300u32 {
            let signer = &signers[n as usize % signers.len()];
            let sub = submission(signer, n);
            // Every seventh is checked against another signer's key.
            let key = if n % 7 == 0 {
                PublicKey::of(&signers[(n as usize + 1) % signers.len()])
            } else {
                PublicKey::of(signer)
            };
            let expected = sub.verify_with(&key).is_ok();
            let verifier = verifier.clone();
            tasks.push(tokio::spawn(async move {
                (verifier.verify(key, &sub).await, expected)
            }));
        }
        let mut refused = 0;
        for task in tasks {
            let (got, expected) = task.await.expect("the task");
            assert_eq!(got, expected);
            refused += usize::from(!got);
        }
        assert_eq!(refused, 300 / 7 + 1);
    }
}
