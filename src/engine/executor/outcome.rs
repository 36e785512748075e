//! A held job's outcome: executor step 6, the one fenced write that ends the claim, and
//! how the outcome is counted, traced and told to subscribers once it is made.

use chrono::{DateTime, Utc};

use super::ExecuteReport;
use crate::clock::Clock;
use crate::engine::events::EventKind;
use crate::engine::LifecycleEngine;
use crate::error::StoreError;
use crate::job::{Job, LogLine, Operation};
use crate::store::{JobCancel, JobCancelParams, JobCompleteParams, JobRetryParams, JobStore};
use crate::telemetry::record;
use crate::workspace::Workspaces;

/// What a held job's final write should be, decided before it is made.
pub(super) enum Decision {
    /// Complete the job (done, already done, or failed for good).
    Complete {
        error: Option<String>,
        line: LogLine,
        tally: Tally,
    },
    /// Back to pending until `run_at` (a failed attempt, or a release).
    Retry {
        run_at: DateTime<Utc>,
        error: Option<String>,
        line: LogLine,
        tally: Tally,
    },
    /// Cancel; reconcile the workspace after if its time moved.
    Cancel { reason: String, reconcile: bool },
    /// The claim is gone: write nothing.
    LeaseLost,
}

/// How a held job ended, once its final write is made: counted in the report, in
/// metrics (`telemetry::JOB_OUTCOMES`' `outcome` label) and told to subscribers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tally {
    Acted,
    AlreadyDone,
    Missed,
    Deferred,
    Retried,
    Failed,
    Cancelled,
}

impl Tally {
    fn label(self) -> &'static str {
        match self {
            Tally::Acted => "acted",
            Tally::AlreadyDone => "already_done",
            Tally::Missed => "missed",
            Tally::Deferred => "deferred",
            Tally::Retried => "retried",
            Tally::Failed => "failed",
            Tally::Cancelled => "cancelled",
        }
    }

    fn report(self, operation: Operation) -> ExecuteReport {
        let mut r = ExecuteReport::default();
        match (self, operation) {
            (Tally::Acted, Operation::Start) => r.started = 1,
            (Tally::Acted, Operation::Stop) => r.stopped = 1,
            (Tally::AlreadyDone, _) => r.already_done = 1,
            (Tally::Missed, _) => r.missed = 1,
            (Tally::Deferred, _) => r.deferred = 1,
            (Tally::Retried, _) => r.retried = 1,
            (Tally::Failed, _) => r.failed = 1,
            (Tally::Cancelled, _) => r.cancelled = 1,
        }
        r
    }
}

/// How one held job ended, from the executor's side.
pub(super) enum Outcome {
    Done(ExecuteReport),
    LeaseLost,
}

impl<S: JobStore, C: Clock, W: Workspaces> LifecycleEngine<S, C, W> {
    /// Step 6 and the end of the claim: the one fenced write that records the outcome.
    /// Once it is made, the outcome is counted, traced and told to subscribers.
    pub(super) async fn finish(&self, job: &Job, decision: Decision) -> Outcome {
        let store = &self.inner.store;
        let now = self.inner.clock.now();
        let (result, tally, event) = match decision {
            Decision::Complete { error, line, tally } => {
                let event = match &error {
                    Some(error) => EventKind::Failed {
                        attempt: job.attempt,
                        error: error.clone(),
                        retry_at: None,
                    },
                    None => EventKind::Completed {
                        acted: tally == Tally::Acted,
                        message: line.output().to_owned(),
                    },
                };
                let params = JobCompleteParams {
                    id: job.id,
                    attempt: job.attempt,
                    now,
                    error,
                    logs: self.line(line).into_iter().collect(),
                };
                (self.complete_batched(params).await, tally, Some(event))
            }
            Decision::Retry {
                run_at,
                error,
                line,
                tally,
            } => {
                let event = error.as_ref().map(|error| EventKind::Failed {
                    attempt: job.attempt,
                    error: error.clone(),
                    retry_at: Some(run_at),
                });
                if event.is_none() {
                    tracing::info!(reason = %line.output(), "job skipped");
                }
                let params = JobRetryParams {
                    id: job.id,
                    attempt: job.attempt,
                    now,
                    run_at,
                    error,
                    logs: self.line(line).into_iter().collect(),
                };
                (store.job_retry(params).await.map(drop), tally, event)
            }
            Decision::Cancel { reason, reconcile } => {
                let params = JobCancelParams {
                    jobs: vec![JobCancel {
                        id: job.id,
                        attempt: Some(job.attempt),
                        log: self.line(LogLine::info(reason.clone())),
                    }],
                    now,
                };
                // One result for the one job: cancelled, or refused (`LeaseLost`).
                let cancelled = store.job_cancel(params).await.and_then(|results| {
                    let lost = StoreError::LeaseLost {
                        job: job.id,
                        attempt: job.attempt,
                    };
                    results.into_iter().next().unwrap_or(Err(lost)).map(drop)
                });
                if cancelled.is_ok() && reconcile {
                    // The workspace's time moved: schedule the new one now rather than
                    // at the next pass.
                    if let Err(error) = self.reconcile_workspace(job.workspace_id).await {
                        tracing::warn!(%error, "reconciling a moved workspace failed; the next pass will");
                    }
                }
                let event = EventKind::Cancelled { reason };
                (cancelled, Tally::Cancelled, Some(event))
            }
            Decision::LeaseLost => return Outcome::LeaseLost,
        };
        match result {
            Ok(()) => {
                record::job_outcome(job.operation, tally.label(), 1);
                match &event {
                    Some(EventKind::Completed { message, .. }) => {
                        tracing::info!(outcome = tally.label(), %message, "job completed");
                    }
                    Some(EventKind::Failed {
                        error,
                        retry_at: Some(retry_at),
                        ..
                    }) => tracing::warn!(%error, %retry_at, "attempt failed"),
                    Some(EventKind::Failed { error, .. }) => {
                        tracing::warn!(%error, "attempt failed; failed for good");
                    }
                    Some(EventKind::Cancelled { reason }) => {
                        tracing::info!(%reason, "job cancelled");
                    }
                    _ => {}
                }
                if let Some(event) = event {
                    self.emit_job(job, || event);
                }
                Outcome::Done(tally.report(job.operation))
            }
            Err(StoreError::LeaseLost { .. }) => Outcome::LeaseLost,
            Err(error) => {
                record::job_outcome(job.operation, "error", 1);
                tracing::warn!(%error, "store write failed; the job is left to lease expiry");
                Outcome::Done(ExecuteReport {
                    errors: 1,
                    ..ExecuteReport::default()
                })
            }
        }
    }
}
