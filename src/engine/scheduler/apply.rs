//! Applying a page's plan: the rule's changes written in at most three batches
//! (insert, reschedule, cancel), then reported: events to subscribers, reminders
//! noted, metrics and the pass's counts. Nothing here decides what to change; the one
//! follow-up write, a cancel when the store finds a move's occurrence already taken,
//! is the one the plan asked for.

use chrono::{DateTime, Utc};

use super::{Change, ReconcileReport};
use crate::clock::Clock;
use crate::engine::events::EventKind;
use crate::engine::LifecycleEngine;
use crate::error::{Error, StoreError};
use crate::job::{Job, LogLine};
use crate::store::{
    JobCancel, JobCancelParams, JobInsertParams, JobReschedule, JobRescheduleParams, JobStore,
    NewJob,
};
use crate::telemetry::record;
use crate::workspace::Workspaces;

/// A planned move, kept beside its store write for what follows it.
struct Move {
    /// The job before the move.
    job: Job,
    deadline: DateTime<Utc>,
    run_at: Option<DateTime<Utc>>,
    /// The cancel reason if the occurrence turns out taken.
    if_taken: String,
}

/// How many changes of each kind were made.
#[derive(Default)]
struct Counts {
    created: usize,
    moved: usize,
    cancelled: usize,
    refused: usize,
    stale: usize,
}

impl<S: JobStore, C: Clock, W: Workspaces> LifecycleEngine<S, C, W> {
    /// Writes `changes`, planned at `now`, and reports them into `report`.
    ///
    /// # Errors
    ///
    /// The first store error; batches already written stay written.
    pub(super) async fn apply(
        &self,
        changes: Vec<Change>,
        now: DateTime<Utc>,
        report: &mut ReconcileReport,
    ) -> Result<(), Error> {
        let mut inserts = Vec::new();
        let mut moves = Vec::new();
        let mut cancels: Vec<(Job, String)> = Vec::new();
        let mut counts = Counts::default();
        for change in changes {
            match change {
                Change::Create {
                    workspace_id,
                    operation,
                    deadline,
                    run_at,
                    reason,
                } => inserts.push(NewJob {
                    workspace_id,
                    operation,
                    deadline,
                    run_at,
                    log: self.line(LogLine::info(reason)),
                }),
                Change::Reschedule {
                    job,
                    deadline,
                    run_at,
                    reason,
                    if_taken,
                } => moves.push((
                    Move {
                        job,
                        deadline,
                        run_at,
                        if_taken,
                    },
                    reason,
                )),
                Change::Cancel { job, reason } => cancels.push((job, reason)),
                Change::Refuse {
                    workspace_id,
                    operation,
                    reason,
                } => {
                    tracing::warn!(%workspace_id, %operation, %reason, "workspace time refused");
                    counts.refused += 1;
                }
                Change::Stale {
                    workspace_id,
                    operation,
                    deadline,
                } => {
                    tracing::debug!(%workspace_id, %operation, %deadline,
                        "not scheduled: older than the retention period");
                    counts.stale += 1;
                }
            }
        }
        let mut woke = false;
        if !inserts.is_empty() {
            woke |= self.insert(inserts, now, &mut counts).await?;
        }
        if !moves.is_empty() {
            woke |= self
                .reschedule(moves, now, &mut cancels, &mut counts)
                .await?;
        }
        if !cancels.is_empty() {
            self.cancel(cancels, now, &mut counts).await?;
        }
        report.created += counts.created;
        report.rescheduled += counts.moved;
        report.cancelled += counts.cancelled;
        report.refused += counts.refused;
        report.stale += counts.stale;
        for (change, n) in [
            ("created", counts.created),
            ("rescheduled", counts.moved),
            ("cancelled", counts.cancelled),
            ("refused", counts.refused),
            ("stale", counts.stale),
        ] {
            record::scheduler_change(change, n);
        }
        if woke {
            self.inner.wake.notify_one();
        }
        Ok(())
    }

    /// The insert batch; true if it created a job (the executor has news).
    async fn insert(
        &self,
        jobs: Vec<NewJob>,
        now: DateTime<Utc>,
        counts: &mut Counts,
    ) -> Result<bool, Error> {
        // A skipped job (`Duplicate`) already has its open or completed twin.
        let created: Vec<Job> = self
            .inner
            .store
            .job_insert(JobInsertParams { jobs, now })
            .await?
            .into_iter()
            .filter_map(Result::ok)
            .collect();
        for job in &created {
            tracing::debug!(job_id = %job.id, workspace_id = %job.workspace_id,
                operation = %job.operation, deadline = %job.deadline, "job created");
            self.emit_job(job, || EventKind::Scheduled);
        }
        self.note_reminders(&created);
        counts.created = created.len();
        Ok(!created.is_empty())
    }

    /// The reschedule batch, each with its log line's reason; a move whose occurrence
    /// was taken joins `cancels`. True if it moved a job (the executor has news).
    async fn reschedule(
        &self,
        moves: Vec<(Move, String)>,
        now: DateTime<Utc>,
        cancels: &mut Vec<(Job, String)>,
        counts: &mut Counts,
    ) -> Result<bool, Error> {
        let mut planned = Vec::with_capacity(moves.len());
        let mut jobs = Vec::with_capacity(moves.len());
        for (planned_move, reason) in moves {
            jobs.push(JobReschedule {
                id: planned_move.job.id,
                deadline: planned_move.deadline,
                run_at: planned_move.run_at,
                log: self.line(LogLine::info(reason)),
            });
            planned.push(planned_move);
        }
        let results = self
            .inner
            .store
            .job_reschedule(JobRescheduleParams { jobs, now })
            .await?;
        let mut moved = Vec::new();
        // One result per move, in order; a missing one (a store breaking the contract)
        // leaves its job for the next pass, as a job no longer pending would be.
        for (planned_move, result) in planned.into_iter().zip(results) {
            match result {
                Ok(_) => {
                    let Move {
                        job,
                        deadline,
                        run_at,
                        ..
                    } = planned_move;
                    tracing::debug!(job_id = %job.id, deadline = ?Some(deadline), "job rescheduled");
                    counts.moved += 1;
                    let from = job.deadline;
                    let job = Job {
                        deadline,
                        run_at: run_at.unwrap_or(deadline),
                        ..job
                    };
                    self.emit_job(&job, || EventKind::Rescheduled { from });
                    moved.push(job);
                }
                Err(StoreError::OccurrenceTaken { .. }) => {
                    cancels.push((planned_move.job, planned_move.if_taken));
                }
                Err(_) => {}
            }
        }
        self.note_reminders(&moved);
        Ok(counts.moved > 0)
    }

    /// The cancel batch, each with its reason.
    async fn cancel(
        &self,
        cancels: Vec<(Job, String)>,
        now: DateTime<Utc>,
        counts: &mut Counts,
    ) -> Result<(), Error> {
        let params = JobCancelParams {
            jobs: cancels
                .iter()
                .map(|(job, reason)| JobCancel {
                    id: job.id,
                    attempt: None,
                    log: self.line(LogLine::info(reason.clone())),
                })
                .collect(),
            now,
        };
        let results = self.inner.store.job_cancel(params).await?;
        // One result per cancel, in order: a refused one (no longer pending) is left be.
        for ((job, reason), result) in cancels.iter().zip(results) {
            if result.is_ok() {
                tracing::debug!(job_id = %job.id, reason, "job cancelled");
                self.emit_job(job, || EventKind::Cancelled {
                    reason: reason.clone(),
                });
                counts.cancelled += 1;
            }
        }
        Ok(())
    }
}
