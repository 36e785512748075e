//! [`InMemoryStore`]: the job table in process memory, behind one `parking_lot` mutex.
//!
//! It reproduces the Postgres store's behaviour exactly, down to which writes are
//! fenced out and which inserts are skipped; the shared contract suite holds both to
//! it. Holding one mutex for each operation makes every operation atomic, which is the
//! in-memory equivalent of the Postgres store's row locks and `SKIP LOCKED`. This is
//! the reference for what a store must do: each method below is the plain statement of
//! its rule, over the table and indexes of [`table`].

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::hash::BuildHasher;
use std::ops::Bound;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use tokio::sync::watch;
use uuid::Uuid;

use super::{
    check_times, JobCancelParams, JobClaimParams, JobCompleteParams, JobInsertParams,
    JobListParams, JobLogInsertParams, JobNextDueParams, JobPruneParams, JobRenewLeaseParams,
    JobRescheduleParams, JobRescueParams, JobRetryParams, JobStats, JobStatsParams, JobStore,
    JobStoreAdmin, WorkspaceRange,
};
use crate::clock::add;
use crate::error::StoreError;
use crate::ids::JobId;
use crate::job::{Job, JobLog, JobState, Occurrence, Operation};

mod table;

use table::Table;

/// The job table in memory: for tests, simulations and single-process use.
///
/// Every operation takes O(log n) in the number of jobs, except that a claim also
/// steps over due jobs whose workspace already has a job running, the rescue, the
/// next wake-up and the statistics read every running job (at most the engines'
/// permits), and `job_list` and the statistics' counts read every job they count.
///
/// Memory: a pending job takes about 580 bytes, 1,000 with the line the
/// scheduler writes when it creates one (at 1,000,000 jobs; docs/performance.md).
/// Pruning frees a job and its log lines.
///
/// ```
/// use workspace_lifecycle::{InMemoryStore, JobInsertParams, JobStore, NewJob, Operation, WorkspaceId};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// // Ids drawn from a seed make a whole simulated run reproducible.
/// let ids = |store: InMemoryStore| async move {
///     let job = NewJob {
///         workspace_id: WorkspaceId(uuid::Uuid::from_u128(1)),
///         operation: Operation::Stop,
///         deadline: "2026-01-05T18:00:00Z".parse().unwrap(),
///         run_at: None,
///         log: None,
///     };
///     let now = "2026-01-05T08:00:00Z".parse().unwrap();
///     let results = store.job_insert(JobInsertParams { jobs: vec![job], now }).await.unwrap();
///     results[0].as_ref().map(|job| job.id).unwrap()
/// };
/// assert_eq!(ids(InMemoryStore::with_seed(42)).await, ids(InMemoryStore::with_seed(42)).await);
/// # });
/// ```
#[derive(Debug)]
pub struct InMemoryStore {
    table: Mutex<Table>,
    changes: watch::Sender<u64>,
}

impl InMemoryStore {
    /// An empty store whose ids come from a random seed.
    ///
    /// ```
    /// use workspace_lifecycle::InMemoryStore;
    ///
    /// assert!(InMemoryStore::new().jobs().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::with_seed(RandomState::new().hash_one(0u64))
    }

    /// An empty store whose job and log ids are a function of `seed`, so a run driven
    /// by a [`FakeClock`](crate::FakeClock) is reproducible, retry jitter included.
    ///
    /// ```
    /// use workspace_lifecycle::{
    ///     InMemoryStore, JobInsertParams, JobStore, NewJob, Operation, WorkspaceId,
    /// };
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let at = "2026-01-05T18:00:00Z".parse().unwrap();
    /// let job = NewJob { workspace_id: WorkspaceId(uuid::Uuid::from_u128(1)),
    ///     operation: Operation::Stop, deadline: at, run_at: None, log: None };
    /// let insert = || JobInsertParams { jobs: vec![job.clone()], now: at };
    /// let a = InMemoryStore::with_seed(42).job_insert(insert()).await.unwrap();
    /// let b = InMemoryStore::with_seed(42).job_insert(insert()).await.unwrap();
    /// assert_eq!(a[0].as_ref().unwrap().id, b[0].as_ref().unwrap().id);
    /// # });
    /// ```
    pub fn with_seed(seed: u64) -> Self {
        InMemoryStore {
            table: Mutex::new(Table::new(seed)),
            changes: watch::Sender::new(0),
        }
    }

    /// Every job, by id: for tests and simulations that check invariants over the
    /// whole table.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::job_table_violations;
    /// use workspace_lifecycle::{
    ///     InMemoryStore, JobInsertParams, JobStore, NewJob, Operation, WorkspaceId,
    /// };
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let at = "2026-01-05T18:00:00Z".parse().unwrap();
    /// let job = NewJob { workspace_id: WorkspaceId(uuid::Uuid::from_u128(1)),
    ///     operation: Operation::Stop, deadline: at, run_at: None, log: None };
    /// let store = InMemoryStore::new();
    /// // A second open job for one (workspace, operation) is skipped.
    /// let params = JobInsertParams { jobs: vec![job.clone(), job], now: at };
    /// store.job_insert(params).await.unwrap();
    /// assert_eq!(store.jobs().len(), 1);
    /// assert!(job_table_violations(&store.jobs()).is_empty());
    /// # });
    /// ```
    pub fn jobs(&self) -> Vec<Job> {
        let table = self.table.lock();
        let mut jobs: Vec<Job> = table.rows.values().map(|row| row.job.clone()).collect();
        // Sorted, so that a seeded run lists its jobs in the same order every time.
        jobs.sort_unstable_by_key(|job| job.id);
        jobs
    }

    fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }
}

impl Default for InMemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl JobStore for InMemoryStore {
    async fn job_insert(
        &self,
        params: JobInsertParams,
    ) -> Result<Vec<Result<Job, StoreError>>, StoreError> {
        check_times(params.jobs.iter().map(|j| (j.deadline, j.run_at)))?;
        let now = params.now;
        let mut results = Vec::with_capacity(params.jobs.len());
        let mut created = false;
        {
            let mut table = self.table.lock();
            for new in params.jobs {
                let occurrence = Occurrence {
                    workspace_id: new.workspace_id,
                    operation: new.operation,
                    deadline: new.deadline,
                };
                if table.open.contains_key(&(new.workspace_id, new.operation))
                    || table.done.contains(&occurrence)
                {
                    results.push(Err(StoreError::Duplicate {
                        workspace: new.workspace_id,
                        deadline: new.deadline,
                    }));
                    continue;
                }
                let job = Job {
                    id: JobId(table.draw_id()),
                    created_at: now,
                    updated_at: now,
                    started_at: None,
                    cancelled_at: None,
                    completed_at: None,
                    error: None,
                    workspace_id: new.workspace_id,
                    operation: new.operation,
                    deadline: new.deadline,
                    run_at: new.run_at.unwrap_or(new.deadline),
                    attempt: 0,
                    failed_attempts: 0,
                    lease_expires_at: None,
                    claimed_by: None,
                };
                table.add(job.clone());
                if let Some(line) = &new.log {
                    table.log(job.id, now, line);
                }
                results.push(Ok(job));
                created = true;
            }
        }
        if created {
            self.changed();
        }
        Ok(results)
    }

    async fn job_log_insert(&self, params: JobLogInsertParams) -> Result<usize, StoreError> {
        let mut table = self.table.lock();
        let mut written = 0;
        for log in params.logs {
            let allowed = match log.attempt {
                Some(attempt) => table.held(log.job_id, attempt).is_ok(),
                None => table.job(log.job_id).is_some(),
            };
            if allowed {
                table.log(log.job_id, params.now, &log.line);
                written += 1;
            }
        }
        Ok(written)
    }

    async fn job_claim(&self, params: JobClaimParams) -> Result<Vec<Job>, StoreError> {
        let mut table = self.table.lock();
        let mut picked = Vec::new();
        let mut workspaces = HashSet::new();
        // Every key due at `now` sorts at or below (now, the largest id).
        for &(_, id) in table.pending.range(..=(params.now, JobId(Uuid::max()))) {
            if picked.len() >= params.limit {
                break;
            }
            // The index holds only pending jobs, all of which are in the table.
            let Some(job) = table.job(id) else {
                continue;
            };
            if table.running.contains_key(&job.workspace_id) || !workspaces.insert(job.workspace_id)
            {
                continue;
            }
            picked.push(id);
        }
        let lease_expires_at = add(params.now, params.lease);
        let claimed = picked
            .into_iter()
            .filter_map(|id| {
                table.update(id, |job| {
                    job.started_at = Some(params.now);
                    job.updated_at = params.now;
                    job.attempt = job.attempt.saturating_add(1);
                    job.lease_expires_at = Some(lease_expires_at);
                    job.claimed_by = Some(params.executor);
                })
            })
            .collect();
        Ok(claimed)
    }

    async fn job_reschedule(
        &self,
        params: JobRescheduleParams,
    ) -> Result<Vec<Result<Job, StoreError>>, StoreError> {
        check_times(params.jobs.iter().map(|j| (j.deadline, j.run_at)))?;
        let mut results = Vec::with_capacity(params.jobs.len());
        let mut moved = false;
        {
            let mut table = self.table.lock();
            for change in params.jobs {
                let outcome = match table.job(change.id) {
                    Some(job) if job.state() == JobState::Pending => {
                        let target = Occurrence {
                            deadline: change.deadline,
                            ..job.occurrence()
                        };
                        if table.done.contains(&target) {
                            Err(StoreError::OccurrenceTaken {
                                job: change.id,
                                deadline: change.deadline,
                            })
                        } else {
                            let job = table.update(change.id, |job| {
                                job.deadline = change.deadline;
                                job.run_at = change.run_at.unwrap_or(change.deadline);
                                job.updated_at = params.now;
                                job.failed_attempts = 0;
                                job.error = None;
                            });
                            if let Some(line) = &change.log {
                                table.log(change.id, params.now, line);
                            }
                            moved = true;
                            job.ok_or(StoreError::NotPending { job: change.id })
                        }
                    }
                    _ => Err(StoreError::NotPending { job: change.id }),
                };
                results.push(outcome);
            }
        }
        if moved {
            self.changed();
        }
        Ok(results)
    }

    async fn job_cancel(
        &self,
        params: JobCancelParams,
    ) -> Result<Vec<Result<Job, StoreError>>, StoreError> {
        let mut results = Vec::with_capacity(params.jobs.len());
        let mut cancelled = false;
        {
            let mut table = self.table.lock();
            for cancel in params.jobs {
                let allowed = match cancel.attempt {
                    None => match table.job(cancel.id) {
                        Some(job) if job.state() == JobState::Pending => Ok(()),
                        _ => Err(StoreError::NotPending { job: cancel.id }),
                    },
                    Some(attempt) => table.held(cancel.id, attempt).map(drop),
                };
                if let Err(refusal) = allowed {
                    results.push(Err(refusal));
                    continue;
                }
                let job = table.update(cancel.id, |job| {
                    job.cancelled_at = Some(params.now);
                    job.updated_at = params.now;
                    job.lease_expires_at = None;
                });
                if let Some(line) = &cancel.log {
                    table.log(cancel.id, params.now, line);
                }
                results.push(job.ok_or(StoreError::NotPending { job: cancel.id }));
                cancelled = true;
            }
        }
        if cancelled {
            self.changed();
        }
        Ok(results)
    }

    async fn job_complete(&self, params: JobCompleteParams) -> Result<Job, StoreError> {
        let job = {
            let mut table = self.table.lock();
            table.held(params.id, params.attempt)?;
            let job = table.update(params.id, |job| {
                job.completed_at = Some(params.now);
                job.updated_at = params.now;
                job.lease_expires_at = None;
                // The final outcome: an earlier attempt's error does not outlive a
                // success (the log keeps the history); a final failure is one more
                // failed attempt.
                if params.error.is_some() {
                    job.failed_attempts = job.failed_attempts.saturating_add(1);
                }
                job.error = params.error;
            });
            for line in &params.logs {
                table.log(params.id, params.now, line);
            }
            job
        };
        self.changed();
        // `held` just found the job, so `update` found it too.
        job.ok_or(StoreError::LeaseLost {
            job: params.id,
            attempt: params.attempt,
        })
    }

    async fn job_retry(&self, params: JobRetryParams) -> Result<Job, StoreError> {
        let job = {
            let mut table = self.table.lock();
            table.held(params.id, params.attempt)?;
            let job = table.update(params.id, |job| {
                job.started_at = None;
                job.updated_at = params.now;
                job.run_at = params.run_at;
                job.lease_expires_at = None;
                job.claimed_by = None;
                if let Some(error) = params.error {
                    job.failed_attempts = job.failed_attempts.saturating_add(1);
                    job.error = Some(error);
                }
            });
            for line in &params.logs {
                table.log(params.id, params.now, line);
            }
            job
        };
        self.changed();
        job.ok_or(StoreError::LeaseLost {
            job: params.id,
            attempt: params.attempt,
        })
    }

    async fn job_renew_lease(
        &self,
        params: JobRenewLeaseParams,
    ) -> Result<DateTime<Utc>, StoreError> {
        let mut table = self.table.lock();
        table.held(params.id, params.attempt)?;
        let expires = add(params.now, params.lease);
        table.update(params.id, |job| {
            job.lease_expires_at = Some(expires);
            job.updated_at = params.now;
        });
        Ok(expires)
    }

    async fn job_rescue(&self, params: JobRescueParams) -> Result<Vec<Job>, StoreError> {
        let now = params.now;
        let rescued: Vec<Job> = {
            let mut table = self.table.lock();
            let mut expired: Vec<(DateTime<Utc>, JobId)> = table
                .running_jobs()
                .filter_map(|job| Some((job.lease_expires_at?, job.id)))
                .filter(|&(lease, _)| lease <= now)
                .collect();
            // Returned in the order the leases expired, the id breaking ties.
            expired.sort_unstable();
            expired
                .into_iter()
                .filter_map(|(_, id)| {
                    let before = table.job(id).cloned();
                    table.update(id, |job| {
                        job.started_at = None;
                        job.updated_at = now;
                        job.run_at = now;
                        job.lease_expires_at = None;
                        job.claimed_by = None;
                    });
                    before
                })
                .collect()
        };
        if !rescued.is_empty() {
            self.changed();
        }
        Ok(rescued)
    }

    async fn job_list_open(&self, range: WorkspaceRange) -> Result<Vec<Job>, StoreError> {
        let table = self.table.lock();
        let (lower, upper) = match range {
            WorkspaceRange::One(id) => (
                Bound::Included((id, Operation::Start)),
                Bound::Included((id, Operation::Stop)),
            ),
            WorkspaceRange::Page { after, through } => (
                after.map_or(Bound::Unbounded, |a| Bound::Excluded((a, Operation::Stop))),
                through.map_or(Bound::Unbounded, |t| Bound::Included((t, Operation::Stop))),
            ),
        };
        Ok(table
            .open
            .range((lower, upper))
            .filter_map(|(_, &id)| table.job(id).cloned())
            .collect())
    }

    async fn job_next_due(
        &self,
        params: JobNextDueParams,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let after = params.now;
        let table = self.table.lock();
        // Every key with a time after `after` sorts above (after, the largest id).
        let lower = Bound::Excluded((after, JobId(Uuid::max())));
        let pending = table
            .pending
            .range((lower, Bound::Unbounded))
            .next()
            .map(|&(at, _)| at);
        let lease = table
            .running_jobs()
            .filter_map(|job| job.lease_expires_at)
            .filter(|&at| at > after)
            .min();
        Ok(pending.into_iter().chain(lease).min())
    }

    async fn job_prune(&self, params: JobPruneParams) -> Result<usize, StoreError> {
        let mut table = self.table.lock();
        // Every key before (finished_before, the smallest id) finished strictly before.
        let doomed: Vec<JobId> = table
            .finished
            .range(..(params.finished_before, JobId(Uuid::nil())))
            .take(params.limit)
            .map(|&(_, id)| id)
            .collect();
        for &id in &doomed {
            table.remove(id);
        }
        Ok(doomed.len())
    }

    fn job_changes(&self) -> Option<watch::Receiver<u64>> {
        Some(self.changes.subscribe())
    }
}

/// The operators' reads, which the engine never makes.
#[async_trait]
impl JobStoreAdmin for InMemoryStore {
    async fn job_get(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        Ok(self.table.lock().job(id).cloned())
    }

    async fn job_list(&self, params: JobListParams) -> Result<Vec<Job>, StoreError> {
        let table = self.table.lock();
        let mut jobs: Vec<Job> = table
            .rows
            .values()
            .map(|row| &row.job)
            .filter(|j| params.workspace_id.is_none_or(|w| j.workspace_id == w))
            .filter(|j| params.operation.is_none_or(|o| j.operation == o))
            .filter(|j| params.state.is_none_or(|s| j.state() == s))
            .cloned()
            .collect();
        jobs.sort_by_key(|j| std::cmp::Reverse((j.created_at, j.id)));
        if let Some(limit) = params.limit {
            jobs.truncate(limit);
        }
        Ok(jobs)
    }

    async fn job_log_list(&self, id: JobId) -> Result<Vec<JobLog>, StoreError> {
        let table = self.table.lock();
        Ok(table
            .rows
            .get(&id)
            .map_or_else(Vec::new, |row| row.logs.clone()))
    }

    async fn job_stats(&self, params: JobStatsParams) -> Result<JobStats, StoreError> {
        let table = self.table.lock();
        let mut stats = JobStats {
            pending: table.pending.len() as u64,
            running: table.running.len() as u64,
            expired_leases: table
                .running_jobs()
                .filter(|job| job.lease_expires_at.is_some_and(|at| at <= params.now))
                .count() as u64,
            next_due: table
                .pending
                .iter()
                .take(params.next)
                .filter_map(|&(_, id)| table.job(id).cloned())
                .collect(),
            oldest_running: table
                .running_jobs()
                .min_by_key(|job| (job.started_at, job.id))
                .cloned(),
            ..JobStats::default()
        };
        for job in table.finished.iter().filter_map(|&(_, id)| table.job(id)) {
            if job.state() == JobState::Completed {
                stats.completed += 1;
                stats.failed += u64::from(job.error.is_some());
            } else {
                stats.cancelled += 1;
            }
        }
        Ok(stats)
    }
}
