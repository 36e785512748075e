//! Completions written in batches: the executor's hot write.
//!
//! Each finished job queues its fenced completion and waits for the result. A flusher
//! task, spawned when the first completion arrives and gone when the queue is empty,
//! writes everything queued in one `JobStore::job_complete_batch` and then whatever
//! queued meanwhile. Under load one write (one commit) carries many jobs; when idle a
//! completion is written at once, with no added wait.
//!
//! A batch has one `now`: the latest of its completions' times. Each time was read
//! when its job finished, so the latest is still no later than the write, and a
//! batch of one (the idle case) keeps its job's own time exactly.
//!
//! The flusher is its own task, so a caller dropped mid-wait (shutdown past its grace
//! period) never strands the queue: what was queued is still written.

use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::LifecycleEngine;
use crate::clock::Clock;
use crate::error::StoreError;
use crate::store::{JobComplete, JobCompleteBatchParams, JobCompleteParams, JobStore};
use crate::workspace::Workspaces;

/// The most completions one write carries.
const MAX_BATCH: usize = 256;

type Waiter = oneshot::Sender<Result<(), StoreError>>;

/// The queue of completions waiting for the flusher.
#[derive(Default)]
pub(super) struct Completions {
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    pending: Vec<(JobCompleteParams, Waiter)>,
    flushing: bool,
}

impl<S: JobStore, C: Clock, W: Workspaces> LifecycleEngine<S, C, W> {
    /// Completes a job through the batch; `LeaseLost` if its attempt no longer holds it.
    pub(super) async fn complete_batched(
        &self,
        params: JobCompleteParams,
    ) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        let start_flusher = {
            let mut queue = self.inner.completions.queue.lock();
            queue.pending.push((params, tx));
            !std::mem::replace(&mut queue.flushing, true)
        };
        if start_flusher {
            let engine = self.clone();
            tokio::spawn(async move { engine.flush_completions().await });
        }
        // The flusher answers every waiter it takes; a dropped sender means the runtime
        // is shutting down, and the job is left to lease expiry.
        rx.await.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the completion flusher stopped".into(),
            ))
        })
    }

    async fn flush_completions(&self) {
        loop {
            let batch: Vec<(JobCompleteParams, Waiter)> = {
                let mut queue = self.inner.completions.queue.lock();
                if queue.pending.is_empty() {
                    queue.flushing = false;
                    return;
                }
                let take = queue.pending.len().min(MAX_BATCH);
                queue.pending.drain(..take).collect()
            };
            let (jobs, waiters): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
            let Some(now) = jobs.iter().map(|p| p.now).max() else {
                continue;
            };
            let jobs = jobs.into_iter().map(item).collect();
            let params = JobCompleteBatchParams { jobs, now };
            match self.inner.store.job_complete_batch(params).await {
                Ok(results) => {
                    let mut results = results.into_iter();
                    for waiter in waiters {
                        // A store that returns fewer results than jobs breaks the
                        // contract; a job without one is left to lease expiry.
                        let result = results.next().map_or(
                            Err(StoreError::InvalidData(
                                "job_complete_batch returned fewer results than jobs".into(),
                            )),
                            |r| r.map(drop),
                        );
                        let _ = waiter.send(result);
                    }
                }
                Err(error) => {
                    for waiter in waiters {
                        let _ = waiter.send(Err(shared(&error)));
                    }
                }
            }
        }
    }
}

/// A queued completion as a batch item: its time goes to the batch's `now`.
fn item(params: JobCompleteParams) -> JobComplete {
    JobComplete {
        id: params.id,
        attempt: params.attempt,
        error: params.error,
        logs: params.logs,
    }
}

/// The same error for every waiter of a failed batch: its kind (so `is_transient`
/// still answers right) and its message.
fn shared(error: &StoreError) -> StoreError {
    let message = || error.to_string().into();
    match error {
        StoreError::LeaseLost { job, attempt } => StoreError::LeaseLost {
            job: *job,
            attempt: *attempt,
        },
        StoreError::Duplicate {
            workspace,
            deadline,
        } => StoreError::Duplicate {
            workspace: *workspace,
            deadline: *deadline,
        },
        StoreError::OccurrenceTaken { job, deadline } => StoreError::OccurrenceTaken {
            job: *job,
            deadline: *deadline,
        },
        StoreError::NotPending { job } => StoreError::NotPending { job: *job },
        StoreError::InvalidData(m) => StoreError::InvalidData(m.clone()),
        StoreError::Unavailable(_) => StoreError::Unavailable(message()),
        StoreError::Conflict(_) => StoreError::Conflict(message()),
        StoreError::Backend(_) => StoreError::Backend(message()),
    }
}
