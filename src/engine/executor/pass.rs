//! The executor pass, the one both [`execute_due`](LifecycleEngine::execute_due) and
//! the run loop drive: take back expired leases, then claim due jobs and spawn one
//! task per job for as long as claims fill the free permits. The two callers differ
//! only in how they wait between passes.

use tokio::task::{JoinError, JoinSet};

use super::hold::Held;
use super::ExecuteReport;
use crate::clock::Clock;
use crate::engine::LifecycleEngine;
use crate::error::StoreError;
use crate::job::LogLine;
use crate::store::{JobClaimParams, JobLogInsertParams, JobRescueParams, JobStore, NewJobLog};
use crate::telemetry::record;
use crate::workspace::Workspaces;

/// What one claim found.
enum Claimed {
    /// The claim filled every free permit: more jobs may be due.
    FilledPermits,
    /// The claim took fewer jobs than there were free permits: everything due then
    /// was taken.
    AllDue,
    /// No permit was free, so nothing was asked.
    NoPermit,
}

/// The jobs one caller of the pass has claimed and not yet seen finish, and what the
/// finished ones did.
pub(super) struct InFlight {
    pub(super) tasks: JoinSet<ExecuteReport>,
    pub(super) report: ExecuteReport,
    /// Whether more jobs may be due than the last claim took: a freed permit is worth
    /// a claim only then.
    pub(super) more: bool,
}

impl InFlight {
    pub(super) fn new() -> Self {
        InFlight {
            tasks: JoinSet::new(),
            report: ExecuteReport::default(),
            more: true,
        }
    }

    /// Counts a finished job, and every other one already finished. Finished jobs may
    /// have freed jobs of their workspaces, so more may be due.
    pub(super) fn reap(&mut self, done: Result<ExecuteReport, JoinError>) {
        self.merge(done);
        while let Some(done) = self.tasks.try_join_next() {
            self.merge(done);
        }
        self.more = true;
    }

    /// Waits for every job still in flight.
    pub(super) async fn finish_all(&mut self) {
        while let Some(done) = self.tasks.join_next().await {
            self.merge(done);
        }
    }

    pub(super) fn merge(&mut self, done: Result<ExecuteReport, JoinError>) {
        match done {
            Ok(done) => self.report.add(&done),
            Err(error) => {
                // Only an abort or a bug in the engine itself lands here: adapter
                // panics are caught at the adapter boundary. The job is left to lease
                // expiry.
                tracing::error!(%error, "executor task ended abnormally");
                self.report.errors += 1;
            }
        }
    }
}

impl<S: JobStore, C: Clock, W: Workspaces> LifecycleEngine<S, C, W> {
    /// One executor pass: takes back expired leases if `rescue`, then, while more
    /// jobs may be due, claims as many as there are free permits and spawns them into
    /// `flight`. Returns once a claim took everything due or found no free permit.
    ///
    /// # Errors
    ///
    /// A store error in the rescue or a claim; jobs already spawned stay in flight.
    pub(super) async fn pass(&self, flight: &mut InFlight, rescue: bool) -> Result<(), StoreError> {
        if rescue {
            self.rescue(&mut flight.report).await?;
        }
        while flight.more {
            match self.claim_and_spawn(flight).await? {
                Claimed::FilledPermits => {}
                Claimed::AllDue => flight.more = false,
                Claimed::NoPermit => break,
            }
        }
        Ok(())
    }

    /// Takes back jobs whose lease expired, logging on each who lost it.
    async fn rescue(&self, report: &mut ExecuteReport) -> Result<(), StoreError> {
        let store = &self.inner.store;
        let now = self.inner.clock.now();
        let rescued = store.job_rescue(JobRescueParams { now }).await?;
        if rescued.is_empty() {
            return Ok(());
        }
        report.rescued += rescued.len();
        record::rescued(rescued.len());
        for job in &rescued {
            tracing::info!(job_id = %job.id, attempt = job.attempt, "lease expired; job rescued");
        }
        if !self.inner.config.job_logs {
            return Ok(());
        }
        let logs = rescued
            .iter()
            .map(|job| {
                NewJobLog {
                    job_id: job.id,
                    attempt: None,
                    line: LogLine::warn(format!(
                        "rescued: attempt {} by executor {} let its lease expire at {}; the job is due again",
                        job.attempt,
                        job.claimed_by.map(|e| e.to_string()).unwrap_or_default(),
                        job.lease_expires_at.map(|t| t.to_rfc3339()).unwrap_or_default()
                    )),
                }
            })
            .collect();
        store
            .job_log_insert(JobLogInsertParams { logs, now })
            .await?;
        Ok(())
    }

    /// Claims as many due jobs as there are free permits and spawns them into
    /// `flight`.
    async fn claim_and_spawn(&self, flight: &mut InFlight) -> Result<Claimed, StoreError> {
        let free = self.inner.permits.available_permits();
        if free == 0 {
            return Ok(Claimed::NoPermit);
        }
        let Ok(mut permits) = self
            .inner
            .permits
            .clone()
            .try_acquire_many_owned(free as u32)
        else {
            // Another pass of this engine took the permits meanwhile.
            return Ok(Claimed::NoPermit);
        };
        let claimed = self
            .inner
            .store
            .job_claim(JobClaimParams {
                now: self.inner.clock.now(),
                limit: free,
                lease: self.inner.config.lease,
                executor: self.inner.executor_id,
            })
            .await?;
        flight.report.claimed += claimed.len();
        let count = claimed.len();

        for job in claimed {
            // `permits` holds `free` permits and the store returns at most `free` jobs.
            let Some(permit) = permits.split(1) else {
                break;
            };
            let permit = Held::new(permit);
            if let Some(claimed_at) = job.started_at {
                record::lateness(
                    job.operation,
                    (claimed_at - job.run_at).to_std().unwrap_or_default(),
                );
            }
            let engine = self.clone();
            flight
                .tasks
                .spawn(async move { engine.hold(job, permit).await });
        }
        Ok(if count == free {
            Claimed::FilledPermits
        } else {
            Claimed::AllDue
        })
    }
}
