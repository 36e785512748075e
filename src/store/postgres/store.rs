//! [`JobStore`] and [`JobStoreAdmin`] for [`PgStore`]: each method binds its
//! parameters, runs its statement from `sql.rs` and decodes the rows.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::watch;
use uuid::Uuid;

use super::binds::{attempt_param, bind_fenced, fenced_lines, lines, optional_lines};
use super::decode::{
    column, db_error, decode_jobs, held, job_from_row, jobs_from_rows, log_from_row,
    open_jobs_from_rows, Undecodable,
};
use super::{q, PgStore};
use crate::clock::add;
use crate::error::StoreError;
use crate::ids::JobId;
use crate::job::{Job, JobLog, JobState, LogLine, Operation, LATEST_DEADLINE};
use crate::store::{
    check_times, JobCancelParams, JobClaimParams, JobCompleteBatchParams, JobCompleteParams,
    JobInsertParams, JobListParams, JobLogInsertParams, JobNextDueParams, JobPruneParams,
    JobRenewLeaseParams, JobRescheduleParams, JobRescueParams, JobRetryParams, JobStats,
    JobStatsParams, JobStore, JobStoreAdmin, WorkspaceRange,
};

/// How many times a claim is retried when two claimers picked jobs of one workspace at
/// once and the running-workspace index rejected one of them.
const CLAIM_CONFLICT_RETRIES: usize = 3;

impl PgStore {
    /// Runs a fenced single-job write and decodes the job it returns, or reports the
    /// lease lost when the attempt no longer held the job.
    async fn fenced_job(
        &self,
        query: sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments>,
        job: JobId,
        attempt: u32,
    ) -> Result<Job, StoreError> {
        let row = query
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(db_error)?;
        job_from_row(&held(row, job, attempt)?)
    }

    /// Cancels undecodable rows (pending ones, and running ones under their own
    /// attempt), each with its reason as the job's error and an error log line, so a
    /// row the code cannot represent neither blocks a batch nor stays due forever.
    async fn set_aside(
        &self,
        now: DateTime<Utc>,
        rows: Vec<Undecodable>,
    ) -> Result<(), StoreError> {
        for row in rows {
            tracing::error!(job_id = %row.id, reason = %row.reason, "cancelling an undecodable job row");
            let line = LogLine::error(format!(
                "cancelled: the job row cannot be decoded: {}",
                row.reason
            ));
            q(&self.inner.sql.set_aside)
                .bind(row.id)
                .bind(now)
                .bind(line.output())
                .bind(row.running.then_some(row.attempt))
                .execute(&self.inner.pool)
                .await
                .map_err(db_error)?;
        }
        Ok(())
    }
}

#[async_trait]
impl JobStore for PgStore {
    async fn job_insert(
        &self,
        params: JobInsertParams,
    ) -> Result<Vec<Result<Job, StoreError>>, StoreError> {
        check_times(params.jobs.iter().map(|j| (j.deadline, j.run_at)))?;
        if params.jobs.is_empty() {
            return Ok(Vec::new());
        }
        // The first job per (workspace, operation) wins, as in InMemoryStore; later ones
        // in the batch would be skipped by the open-job index anyway.
        let mut first = HashMap::new();
        let mut jobs = Vec::new();
        for (index, job) in params.jobs.iter().enumerate() {
            if let Entry::Vacant(slot) = first.entry((job.workspace_id, job.operation)) {
                slot.insert(index);
                jobs.push(job);
            }
        }
        let workspace_ids: Vec<Uuid> = jobs.iter().map(|j| j.workspace_id.0).collect();
        let operations: Vec<&str> = jobs.iter().map(|j| j.operation.as_str()).collect();
        let deadlines: Vec<DateTime<Utc>> = jobs.iter().map(|j| j.deadline).collect();
        let (levels, outputs) = optional_lines(jobs.iter().map(|j| j.log.as_ref()));
        let run_ats: Vec<Option<DateTime<Utc>>> = jobs.iter().map(|j| j.run_at).collect();
        let rows = q(&self.inner.sql.insert)
            .bind(params.now)
            .bind(workspace_ids)
            .bind(operations)
            .bind(deadlines)
            .bind(levels)
            .bind(outputs)
            .bind(run_ats)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        let mut created: HashMap<_, _> = jobs_from_rows(&rows)?
            .into_iter()
            .map(|job| ((job.workspace_id, job.operation), job))
            .collect();
        Ok(params
            .jobs
            .iter()
            .enumerate()
            .map(|(index, new)| {
                let key = (new.workspace_id, new.operation);
                let won = first.get(&key) == Some(&index);
                won.then(|| created.remove(&key))
                    .flatten()
                    .ok_or(StoreError::Duplicate {
                        workspace: new.workspace_id,
                        deadline: new.deadline,
                    })
            })
            .collect())
    }

    async fn job_log_insert(&self, params: JobLogInsertParams) -> Result<usize, StoreError> {
        if params.logs.is_empty() {
            return Ok(0);
        }
        let lines = fenced_lines(
            params
                .logs
                .iter()
                .map(|l| (l.job_id, l.attempt, Some(&l.line))),
        )?;
        let done = bind_fenced(&self.inner.sql.log_insert, params.now, lines)
            .execute(&self.inner.pool)
            .await
            .map_err(db_error)?;
        Ok(usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
    }

    async fn job_claim(&self, params: JobClaimParams) -> Result<Vec<Job>, StoreError> {
        if params.limit == 0 {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(params.limit).unwrap_or(i64::MAX);
        let lease_expires_at = add(params.now, params.lease);
        let mut attempt = 0;
        loop {
            let result = q(&self.inner.sql.claim)
                .bind(params.now)
                .bind(limit)
                .bind(lease_expires_at)
                .bind(params.executor.0)
                .fetch_all(&self.inner.pool)
                .await
                .map_err(db_error);
            match result {
                Ok(rows) => {
                    let (mut jobs, bad) = decode_jobs(&rows)?;
                    self.set_aside(params.now, bad).await?;
                    jobs.sort_by_key(|j| (j.run_at, j.id));
                    return Ok(jobs);
                }
                // Two claimers took jobs of one workspace at once; the index kept one
                // of them out. The winner's job is visible to the next try.
                Err(StoreError::Conflict(_)) if attempt < CLAIM_CONFLICT_RETRIES => attempt += 1,
                Err(error) => return Err(error),
            }
        }
    }

    async fn job_reschedule(
        &self,
        params: JobRescheduleParams,
    ) -> Result<Vec<Result<Job, StoreError>>, StoreError> {
        check_times(params.jobs.iter().map(|j| (j.deadline, j.run_at)))?;
        if params.jobs.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = params.jobs.iter().map(|j| j.id.0).collect();
        let deadlines: Vec<DateTime<Utc>> = params.jobs.iter().map(|j| j.deadline).collect();
        let (levels, outputs) = optional_lines(params.jobs.iter().map(|j| j.log.as_ref()));
        let run_ats: Vec<Option<DateTime<Utc>>> = params.jobs.iter().map(|j| j.run_at).collect();
        let rows = q(&self.inner.sql.reschedule)
            .bind(params.now)
            .bind(ids)
            .bind(deadlines)
            .bind(levels)
            .bind(outputs)
            .bind(run_ats)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let job = JobId(column(row, "target_id")?);
                let outcome: String = column(row, "outcome")?;
                Ok(match outcome.as_str() {
                    "moved" => job_from_row(row),
                    "taken" => Err(StoreError::OccurrenceTaken {
                        job,
                        deadline: column(row, "target_deadline")?,
                    }),
                    _ => Err(StoreError::NotPending { job }),
                })
            })
            .collect()
    }

    async fn job_cancel(
        &self,
        params: JobCancelParams,
    ) -> Result<Vec<Result<Job, StoreError>>, StoreError> {
        if params.jobs.is_empty() {
            return Ok(Vec::new());
        }
        let lines = fenced_lines(
            params
                .jobs
                .iter()
                .map(|j| (j.id, j.attempt, j.log.as_ref())),
        )?;
        let rows = bind_fenced(&self.inner.sql.cancel, params.now, lines)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        let mut cancelled: HashMap<Uuid, Result<Job, StoreError>> = HashMap::new();
        for row in &rows {
            cancelled.insert(column(row, "id")?, job_from_row(row));
        }
        Ok(params
            .jobs
            .iter()
            .map(|cancel| {
                cancelled
                    .remove(&cancel.id.0)
                    .unwrap_or(Err(match cancel.attempt {
                        Some(attempt) => StoreError::LeaseLost {
                            job: cancel.id,
                            attempt,
                        },
                        None => StoreError::NotPending { job: cancel.id },
                    }))
            })
            .collect())
    }

    async fn job_complete(&self, params: JobCompleteParams) -> Result<Job, StoreError> {
        let (levels, outputs) = lines(&params.logs);
        let query = q(&self.inner.sql.complete)
            .bind(params.id.0)
            .bind(attempt_param(params.attempt)?)
            .bind(params.now)
            .bind(params.error)
            .bind(levels)
            .bind(outputs);
        self.fenced_job(query, params.id, params.attempt).await
    }

    async fn job_complete_batch(
        &self,
        params: JobCompleteBatchParams,
    ) -> Result<Vec<Result<Job, StoreError>>, StoreError> {
        let JobCompleteBatchParams { jobs: params, now } = params;
        if params.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = params.iter().map(|p| p.id.0).collect();
        let attempts = params
            .iter()
            .map(|p| attempt_param(p.attempt))
            .collect::<Result<Vec<i32>, _>>()?;
        let errors: Vec<Option<&str>> = params.iter().map(|p| p.error.as_deref()).collect();
        let lines = params
            .iter()
            .flat_map(|p| p.logs.iter().map(move |l| (p.id.0, l)));
        let (line_jobs, (levels, outputs)): (Vec<Uuid>, (Vec<&str>, Vec<&str>)) = lines
            .map(|(id, l)| (id, (l.level().as_str(), l.output())))
            .unzip();
        let rows = q(&self.inner.sql.complete_batch)
            .bind(ids)
            .bind(attempts)
            .bind(now)
            .bind(errors)
            .bind(line_jobs)
            .bind(levels)
            .bind(outputs)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        let mut done: HashMap<Uuid, Result<Job, StoreError>> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let id: Uuid = column(row, "id")?;
            done.insert(id, job_from_row(row));
        }
        Ok(params
            .iter()
            .map(|p| {
                done.remove(&p.id.0).unwrap_or(Err(StoreError::LeaseLost {
                    job: p.id,
                    attempt: p.attempt,
                }))
            })
            .collect())
    }

    async fn job_retry(&self, params: JobRetryParams) -> Result<Job, StoreError> {
        let (levels, outputs) = lines(&params.logs);
        let query = q(&self.inner.sql.retry)
            .bind(params.id.0)
            .bind(attempt_param(params.attempt)?)
            .bind(params.now)
            .bind(params.run_at)
            .bind(params.error)
            .bind(levels)
            .bind(outputs);
        self.fenced_job(query, params.id, params.attempt).await
    }

    async fn job_renew_lease(
        &self,
        params: JobRenewLeaseParams,
    ) -> Result<DateTime<Utc>, StoreError> {
        let row = q(&self.inner.sql.renew)
            .bind(params.id.0)
            .bind(attempt_param(params.attempt)?)
            .bind(params.now)
            .bind(add(params.now, params.lease))
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(db_error)?;
        column(&held(row, params.id, params.attempt)?, "lease_expires_at")
    }

    async fn job_rescue(&self, params: JobRescueParams) -> Result<Vec<Job>, StoreError> {
        let now = params.now;
        let rows = q(&self.inner.sql.rescue)
            .bind(now)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        let (mut jobs, bad) = decode_jobs(&rows)?;
        // Rescued rows are pending again: set aside as pending.
        let bad = bad
            .into_iter()
            .map(|row| Undecodable {
                running: false,
                ..row
            })
            .collect();
        self.set_aside(now, bad).await?;
        jobs.sort_by_key(|j| (j.lease_expires_at, j.id));
        Ok(jobs)
    }

    async fn job_list_open(&self, range: WorkspaceRange) -> Result<Vec<Job>, StoreError> {
        let query = match range {
            WorkspaceRange::One(id) => q(&self.inner.sql.list_open_one).bind(id.0),
            WorkspaceRange::Page { after, through } => q(&self.inner.sql.list_open_range)
                .bind(after.map(|w| w.0))
                .bind(through.map(|w| w.0)),
        };
        let rows = query.fetch_all(&self.inner.pool).await.map_err(db_error)?;
        open_jobs_from_rows(&rows)
    }

    async fn job_next_due(
        &self,
        params: JobNextDueParams,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = q(&self.inner.sql.next_due)
            .bind(params.now)
            .bind(LATEST_DEADLINE)
            .fetch_one(&self.inner.pool)
            .await
            .map_err(db_error)?;
        column(&row, "next_due")
    }

    async fn job_prune(&self, params: JobPruneParams) -> Result<usize, StoreError> {
        let deleted = q(&self.inner.sql.prune)
            .bind(params.finished_before)
            .bind(i64::try_from(params.limit).unwrap_or(i64::MAX))
            .execute(&self.inner.pool)
            .await
            .map_err(db_error)?
            .rows_affected();
        // At most `limit` rows were deleted, and `limit` is a usize.
        Ok(usize::try_from(deleted).unwrap_or(params.limit))
    }

    /// Starts the listener on first use. Its first bump comes once it is listening
    /// (subscribe before it starts, so the first caller sees that bump).
    fn job_changes(&self) -> Option<watch::Receiver<u64>> {
        let changes = self.inner.changes.subscribe();
        self.start_listener();
        Some(changes)
    }
}

#[async_trait]
impl JobStoreAdmin for PgStore {
    async fn job_get(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        let row = q(&self.inner.sql.get)
            .bind(id.0)
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn job_list(&self, params: JobListParams) -> Result<Vec<Job>, StoreError> {
        let rows = q(&self.inner.sql.list)
            .bind(params.workspace_id.map(|w| w.0))
            .bind(params.operation.map(Operation::as_str))
            .bind(params.state.map(JobState::as_str))
            .bind(params.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX)))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        jobs_from_rows(&rows)
    }

    async fn job_log_list(&self, id: JobId) -> Result<Vec<JobLog>, StoreError> {
        let rows = q(&self.inner.sql.log_list)
            .bind(id.0)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(log_from_row).collect()
    }

    async fn job_stats(&self, params: JobStatsParams) -> Result<JobStats, StoreError> {
        let counts = q(&self.inner.sql.stats_counts)
            .bind(params.now)
            .fetch_one(&self.inner.pool)
            .await
            .map_err(db_error)?;
        let count = |name: &str| -> Result<u64, StoreError> {
            let n: i64 = column(&counts, name)?;
            u64::try_from(n)
                .map_err(|_| StoreError::InvalidData(format!("count {name} is negative: {n}")))
        };
        let next_due = q(&self.inner.sql.stats_next_due)
            .bind(i64::try_from(params.next).unwrap_or(i64::MAX))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        let oldest = q(&self.inner.sql.stats_oldest_running)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        Ok(JobStats {
            pending: count("pending")?,
            running: count("running")?,
            completed: count("completed")?,
            failed: count("failed")?,
            cancelled: count("cancelled")?,
            expired_leases: count("expired_leases")?,
            next_due: open_jobs_from_rows(&next_due)?,
            oldest_running: open_jobs_from_rows(&oldest)?.into_iter().next(),
        })
    }
}
