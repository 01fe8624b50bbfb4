//! Drives case flows against a cluster: each case's steps in order, many cases at once, each
//! step to a node chosen by a seeded generator.

use std::sync::Arc;

use caseledger_client::http::{Client, SubmitOutcome};
use caseledger_lab::flows::{case_flow, SplitMix, Step};
use caseledger_lab::pilot::Province;
use proto_types::ids::HandoffId;
use proto_types::Timestamp;
use tokio::sync::Mutex;

/// A step the cluster acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acked {
    /// The submission id.
    pub id: HandoffId,
    /// Its ledger index.
    pub index: u64,
}

/// The flows of cases `0..cases` of `seed`.
pub fn flows(province: &Province, seed: u64, cases: u64, start: Timestamp) -> Vec<Vec<Step>> {
    (0..cases)
        .map(|n| case_flow(province, seed, n, start).1)
        .collect()
}

/// What a run of flows produced.
#[derive(Debug, Default)]
pub struct Run {
    /// Every acknowledged step.
    pub acked: Vec<Acked>,
    /// Steps that got an error answer: (id, status, code, message).
    pub errors: Vec<(HandoffId, u16, String, String)>,
    /// Steps no node answered (during faults).
    pub unanswered: Vec<HandoffId>,
}

/// Runs `flows` with `concurrency` cases in flight; a case stops at its first unanswered or
/// failed step (later steps depend on it). With `retry_unanswered`, an unanswered step is
/// retried until `deadline` (a resubmission is idempotent).
pub async fn run_flows(
    client: &Client,
    flows: Vec<Vec<Step>>,
    concurrency: usize,
    seed: u64,
    retry_until: Option<std::time::Instant>,
) -> Run {
    let queue = Arc::new(Mutex::new(
        flows.into_iter().enumerate().collect::<Vec<_>>(),
    ));
    let run = Arc::new(Mutex::new(Run::default()));
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let queue = queue.clone();
        let run = run.clone();
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = SplitMix::new(seed, worker as u64);
            loop {
                let Some((_, steps)) = queue.lock().await.pop() else {
                    break;
                };
                'steps: for step in steps {
                    let id = step.submission.payload.id.clone();
                    loop {
                        let prefer = rng.below(client.nodes().len() as u64) as usize;
                        match client.submit_to(prefer, &step.submission).await {
                            Ok(SubmitOutcome::Committed { index, .. }) => {
                                run.lock().await.acked.push(Acked { id, index });
                                break;
                            }
                            Ok(SubmitOutcome::Error {
                                status,
                                code,
                                message,
                                ..
                            }) => {
                                run.lock().await.errors.push((
                                    id,
                                    status,
                                    code.to_string(),
                                    message,
                                ));
                                break 'steps;
                            }
                            Err(_)
                                if retry_until.is_some_and(|d| std::time::Instant::now() < d) =>
                            {
                                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                            }
                            Err(_) => {
                                run.lock().await.unanswered.push(id);
                                break 'steps;
                            }
                        }
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("load task");
    }
    Arc::try_unwrap(run).expect("tasks done").into_inner()
}
