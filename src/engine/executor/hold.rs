//! Holding one claimed job: executor steps 2 to 5, from the re-read of the workspace to
//! the outcome, while the lease is renewed; [`outcome`](super::outcome) makes the final
//! write.

use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument;

use super::outcome::{Decision, Outcome, Tally};
use super::rule::{verdict, Verdict};
use super::ExecuteReport;
use crate::clock::{add, Clock};
use crate::engine::events::EventKind;
use crate::engine::LifecycleEngine;
use crate::error::{StoreError, WorkspaceError};
use crate::job::{Job, LogLine, Operation};
use crate::store::{JobRenewLeaseParams, JobStore};
use crate::telemetry::record;
use crate::workspace::Workspaces;

/// A claimed job's hold on one of the engine's permits, counted in
/// `telemetry::JOBS_IN_FLIGHT` from the claim until it is released (also when the
/// task is aborted at the end of the shutdown grace).
pub(super) struct Held {
    _permit: OwnedSemaphorePermit,
}

impl Held {
    pub(super) fn new(permit: OwnedSemaphorePermit) -> Self {
        record::in_flight(1);
        Held { _permit: permit }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        record::in_flight(-1);
    }
}

impl<S: JobStore, C: Clock, W: Workspaces> LifecycleEngine<S, C, W> {
    /// Performs one claimed job: decides what to do (reading the workspace, calling
    /// the adapter) while renewing the lease, then writes the outcome.
    ///
    /// The renewal stops before the final write, so a renewal can never race the
    /// job's own completion and mistake it for a lost lease.
    pub(super) async fn hold(&self, job: Job, permit: Held) -> ExecuteReport {
        let span = tracing::debug_span!("job", job_id = %job.id, workspace_id = %job.workspace_id,
            operation = %job.operation, attempt = job.attempt);
        let held = async {
            tracing::debug!("job claimed");
            let decided = tokio::select! {
                biased;
                decided = self.decide(&job) => decided,
                () = self.renew_until_lost(&job) => Decision::LeaseLost,
            };
            // The action is over: its permit may go to the next claim while the
            // outcome is written, so claims and final writes overlap.
            drop(permit);
            self.inner.freed.notify_one();
            self.finish(&job, decided).await
        };
        match held.instrument(span).await {
            Outcome::Done(report) => report,
            Outcome::LeaseLost => {
                record::job_outcome(job.operation, "lease_lost", 1);
                tracing::warn!(job_id = %job.id, "lease lost to another executor; job dropped");
                ExecuteReport {
                    lease_lost: 1,
                    ..ExecuteReport::default()
                }
            }
        }
    }

    /// Renews the lease every third of it; returns only once the lease is lost.
    async fn renew_until_lost(&self, job: &Job) {
        let clock = &self.inner.clock;
        loop {
            clock
                .sleep_until(add(clock.now(), self.inner.config.lease_renewal()))
                .await;
            let renewed = self
                .inner
                .store
                .job_renew_lease(JobRenewLeaseParams {
                    id: job.id,
                    attempt: job.attempt,
                    now: clock.now(),
                    lease: self.inner.config.lease,
                })
                .await;
            match renewed {
                Ok(_) => {}
                Err(StoreError::LeaseLost { .. }) => return,
                // Transient: two more renewals fit in the lease before it expires.
                Err(error) => tracing::warn!(%error, "lease renewal failed; retrying"),
            }
        }
    }

    /// Executor steps 2-5 up to the final write: what the job's outcome is.
    async fn decide(&self, job: &Job) -> Decision {
        let ws = match self.adapter().get(job.workspace_id).await {
            Ok(ws) => ws,
            Err(error) => {
                return self.failed_attempt(job, format!("reading the workspace failed: {error}"))
            }
        };
        let now = self.inner.clock.now();
        match verdict(job, ws.as_ref(), now, &self.inner.config) {
            Verdict::Cancel {
                reason,
                rescheduled,
            } => Decision::Cancel {
                reason,
                reconcile: rescheduled,
            },
            Verdict::AlreadyDone(reason) => Decision::Complete {
                error: None,
                line: LogLine::info(reason),
                tally: Tally::AlreadyDone,
            },
            Verdict::Missed(reason) => Decision::Complete {
                error: None,
                line: LogLine::warn(reason),
                tally: Tally::Missed,
            },
            Verdict::Defer { reason, until } => {
                let soon = add(now, self.inner.config.transition_retry);
                Decision::Retry {
                    run_at: until.map_or(soon, |u| u.max(soon)),
                    error: None,
                    line: LogLine::info(reason),
                    tally: Tally::Deferred,
                }
            }
            Verdict::Act => self.act(job).await,
        }
    }

    /// Step 5: call, and judge the result.
    async fn act(&self, job: &Job) -> Decision {
        let op = job.operation;
        self.emit_job(job, || EventKind::Started {
            attempt: job.attempt,
        });
        let result = self.adapter().act(op, job.workspace_id).await;
        match result {
            // The call's line carries the deadline (a start lead makes them differ)
            // and who acted; it is written with the completion, in the same batch.
            Ok(()) => Decision::Complete {
                error: None,
                line: LogLine::info(format!(
                    "{} the workspace (the {op} due at {}; attempt {}, executor {})",
                    match op {
                        Operation::Start => "started",
                        Operation::Stop => "stopped",
                    },
                    job.deadline.to_rfc3339(),
                    job.attempt,
                    self.inner.executor_id
                )),
                tally: Tally::Acted,
            },
            Err(WorkspaceError::NotFound(_)) => Decision::Cancel {
                reason: format!("cancelled: {op} found the workspace gone"),
                reconcile: false,
            },
            Err(error) => self.failed_attempt(job, format!("{op} failed: {error}")),
        }
    }

    /// A failed attempt: retry with backoff, or complete with the error after the last.
    fn failed_attempt(&self, job: &Job, error: String) -> Decision {
        let failures = job.failed_attempts.saturating_add(1);
        let retry = &self.inner.config.retry;
        if failures >= retry.max_attempts {
            return Decision::Complete {
                line: LogLine::error(format!(
                    "{error}; giving up after {failures} failed attempts"
                )),
                error: Some(error),
                tally: Tally::Failed,
            };
        }
        let run_at = add(self.inner.clock.now(), retry.backoff(job.id, failures));
        Decision::Retry {
            line: LogLine::warn(format!(
                "{error}; attempt {failures} of {} failed, retrying at {}",
                retry.max_attempts,
                run_at.to_rfc3339()
            )),
            run_at,
            error: Some(error),
            tally: Tally::Retried,
        }
    }
}
