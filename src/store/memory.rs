//! [`InMemoryStore`]: the job table in process memory, behind one `parking_lot` mutex.
//!
//! It reproduces the Postgres store's behaviour exactly, down to which writes are
//! fenced out and which inserts are skipped; the shared contract suite holds both to
//! it. Holding one mutex for each operation makes every operation atomic, which is the
//! in-memory equivalent of the Postgres store's row locks and `SKIP LOCKED`.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::BuildHasher;
use std::ops::Bound;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use tokio::sync::watch;
use uuid::Uuid;

use super::{
    check_times, JobCancelParams, JobClaimParams, JobCompleteParams, JobInsertParams,
    JobListParams, JobLogInsertParams, JobPruneParams, JobRenewLeaseParams, JobRescheduleParams,
    JobRetryParams, JobStats, JobStatsParams, JobStore, Rescheduled, WorkspaceRange,
};
use crate::clock::add;
use crate::config::splitmix64;
use crate::error::StoreError;
use crate::job::{Job, JobId, JobLog, JobState, LogLine, Occurrence, Operation};
use crate::workspace::WorkspaceId;

/// The job table in memory: for tests, simulations and single-process use.
///
/// Every operation is O(log n) in the number of open jobs, except that a claim also
/// steps over due jobs whose workspace already has a job running.
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
///     store.job_insert(JobInsertParams { jobs: vec![job], now }).await.unwrap()[0].id
/// };
/// assert_eq!(ids(InMemoryStore::with_seed(42)).await, ids(InMemoryStore::with_seed(42)).await);
/// # });
/// ```
#[derive(Debug)]
pub struct InMemoryStore {
    state: Mutex<State>,
    changes: watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct State {
    jobs: HashMap<JobId, Job>,
    logs: HashMap<JobId, Vec<JobLog>>,
    /// Open jobs by (workspace, operation): the "one open job" rule, and the ordered
    /// index that serves `job_list_open` ranges.
    open: BTreeMap<(WorkspaceId, Operation), JobId>,
    /// Occurrences with a completed job: the "one completion per occurrence" rule.
    done: HashSet<Occurrence>,
    /// Pending jobs by (run_at, id): what a claim scans, earliest first.
    pending: BTreeSet<(DateTime<Utc>, JobId)>,
    /// Running jobs by (lease expiry, id): what a rescue scans.
    running: BTreeSet<(DateTime<Utc>, JobId)>,
    /// The running job of each workspace: claims skip these workspaces.
    running_by_workspace: HashMap<WorkspaceId, JobId>,
    /// Finished jobs by (completed or cancelled time, id): what a prune takes, oldest
    /// first.
    finished: BTreeSet<(DateTime<Utc>, JobId)>,
    seed: u64,
    next_id: u64,
}

impl State {
    fn new_uuid(&mut self) -> Uuid {
        self.next_id += 1;
        let hi = splitmix64(self.seed ^ self.next_id);
        let lo = splitmix64(hi ^ self.next_id.rotate_left(32));
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&hi.to_be_bytes());
        bytes[8..].copy_from_slice(&lo.to_be_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    fn unindex(&mut self, job: &Job) {
        match job.state() {
            JobState::Pending => {
                self.pending.remove(&(job.run_at, job.id));
                self.open.remove(&(job.workspace_id, job.operation));
            }
            JobState::Running => {
                if let Some(lease) = job.lease_expires_at {
                    self.running.remove(&(lease, job.id));
                }
                self.running_by_workspace.remove(&job.workspace_id);
                self.open.remove(&(job.workspace_id, job.operation));
            }
            JobState::Completed => {
                self.done.remove(&job.occurrence());
            }
            JobState::Cancelled => {}
        }
        if let Some(at) = job.finished_at() {
            self.finished.remove(&(at, job.id));
        }
    }

    fn index(&mut self, job: &Job) {
        match job.state() {
            JobState::Pending => {
                self.pending.insert((job.run_at, job.id));
                self.open.insert((job.workspace_id, job.operation), job.id);
            }
            JobState::Running => {
                // A running job always has a lease: every path into Running sets one.
                if let Some(lease) = job.lease_expires_at {
                    self.running.insert((lease, job.id));
                }
                self.running_by_workspace.insert(job.workspace_id, job.id);
                self.open.insert((job.workspace_id, job.operation), job.id);
            }
            JobState::Completed => {
                self.done.insert(job.occurrence());
            }
            JobState::Cancelled => {}
        }
        if let Some(at) = job.finished_at() {
            self.finished.insert((at, job.id));
        }
    }

    /// Applies `change` to a job, keeping every index in step with its new state.
    fn update(&mut self, id: JobId, change: impl FnOnce(&mut Job)) -> Option<Job> {
        let mut job = self.jobs.get(&id)?.clone();
        self.unindex(&job);
        change(&mut job);
        self.index(&job);
        self.jobs.insert(id, job.clone());
        Some(job)
    }

    /// The job, if it is running under `attempt`.
    fn held(&self, id: JobId, attempt: u32) -> Result<&Job, StoreError> {
        match self.jobs.get(&id) {
            Some(job) if job.state() == JobState::Running && job.attempt == attempt => Ok(job),
            _ => Err(StoreError::LeaseLost { job: id, attempt }),
        }
    }

    fn log(&mut self, job_id: JobId, now: DateTime<Utc>, line: &LogLine) {
        let id = self.new_uuid();
        let lines = self.logs.entry(job_id).or_default();
        // A job has a handful of lines, most one or two: grow by exactly one rather than
        // to a `Vec`'s first capacity of four (288 bytes for a single line).
        lines.reserve_exact(1);
        lines.push(JobLog {
            id,
            job_id,
            created_at: now,
            level: line.level(),
            output: line.output().to_owned(),
        });
    }
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
    /// assert_eq!(a[0].id, b[0].id);
    /// # });
    /// ```
    pub fn with_seed(seed: u64) -> Self {
        InMemoryStore {
            state: Mutex::new(State {
                seed,
                ..State::default()
            }),
            changes: watch::Sender::new(0),
        }
    }

    /// Every job, in no particular order: for tests and simulations that check
    /// invariants over the whole table.
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
        self.state.lock().jobs.values().cloned().collect()
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
    async fn job_insert(&self, params: JobInsertParams) -> Result<Vec<Job>, StoreError> {
        check_times(params.jobs.iter().map(|j| (j.deadline, j.run_at)))?;
        let now = params.now;
        let mut created = Vec::new();
        {
            let mut state = self.state.lock();
            for new in params.jobs {
                let occurrence = Occurrence {
                    workspace_id: new.workspace_id,
                    operation: new.operation,
                    deadline: new.deadline,
                };
                if state.open.contains_key(&(new.workspace_id, new.operation))
                    || state.done.contains(&occurrence)
                {
                    continue;
                }
                let job = Job {
                    id: JobId(state.new_uuid()),
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
                state.index(&job);
                state.jobs.insert(job.id, job.clone());
                if let Some(line) = &new.log {
                    state.log(job.id, now, line);
                }
                created.push(job);
            }
        }
        if !created.is_empty() {
            self.changed();
        }
        Ok(created)
    }

    async fn job_log_insert(&self, params: JobLogInsertParams) -> Result<usize, StoreError> {
        let mut state = self.state.lock();
        let mut written = 0;
        for log in params.logs {
            let allowed = match log.attempt {
                Some(attempt) => state.held(log.job_id, attempt).is_ok(),
                None => state.jobs.contains_key(&log.job_id),
            };
            if allowed {
                state.log(log.job_id, params.now, &log.line);
                written += 1;
            }
        }
        Ok(written)
    }

    async fn job_claim(&self, params: JobClaimParams) -> Result<Vec<Job>, StoreError> {
        let mut state = self.state.lock();
        let mut picked = Vec::new();
        let mut workspaces = HashSet::new();
        for &(run_at, id) in &state.pending {
            if picked.len() >= params.limit || run_at > params.now {
                break;
            }
            // The index holds only pending jobs, all of which are in `jobs`.
            let Some(job) = state.jobs.get(&id) else {
                continue;
            };
            if state.running_by_workspace.contains_key(&job.workspace_id)
                || !workspaces.insert(job.workspace_id)
            {
                continue;
            }
            picked.push(id);
        }
        let lease_expires_at = add(params.now, params.lease);
        let claimed = picked
            .into_iter()
            .filter_map(|id| {
                state.update(id, |job| {
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
    ) -> Result<Vec<(JobId, Rescheduled)>, StoreError> {
        check_times(params.jobs.iter().map(|j| (j.deadline, j.run_at)))?;
        let mut results = Vec::with_capacity(params.jobs.len());
        let mut moved = false;
        {
            let mut state = self.state.lock();
            for change in params.jobs {
                let outcome = match state.jobs.get(&change.id) {
                    Some(job) if job.state() == JobState::Pending => {
                        let target = Occurrence {
                            deadline: change.deadline,
                            ..job.occurrence()
                        };
                        if state.done.contains(&target) {
                            Rescheduled::OccurrenceTaken
                        } else {
                            state.update(change.id, |job| {
                                job.deadline = change.deadline;
                                job.run_at = change.run_at.unwrap_or(change.deadline);
                                job.updated_at = params.now;
                                job.failed_attempts = 0;
                                job.error = None;
                            });
                            if let Some(line) = &change.log {
                                state.log(change.id, params.now, line);
                            }
                            moved = true;
                            Rescheduled::Moved
                        }
                    }
                    _ => Rescheduled::NotPending,
                };
                results.push((change.id, outcome));
            }
        }
        if moved {
            self.changed();
        }
        Ok(results)
    }

    async fn job_cancel(&self, params: JobCancelParams) -> Result<Vec<JobId>, StoreError> {
        let mut cancelled = Vec::new();
        {
            let mut state = self.state.lock();
            for cancel in params.jobs {
                let allowed = match (state.jobs.get(&cancel.id), cancel.attempt) {
                    (Some(job), None) => job.state() == JobState::Pending,
                    (Some(_), Some(attempt)) => state.held(cancel.id, attempt).is_ok(),
                    (None, _) => false,
                };
                if !allowed {
                    continue;
                }
                state.update(cancel.id, |job| {
                    job.cancelled_at = Some(params.now);
                    job.updated_at = params.now;
                    job.lease_expires_at = None;
                });
                if let Some(line) = &cancel.log {
                    state.log(cancel.id, params.now, line);
                }
                cancelled.push(cancel.id);
            }
        }
        if !cancelled.is_empty() {
            self.changed();
        }
        Ok(cancelled)
    }

    async fn job_complete(&self, params: JobCompleteParams) -> Result<Job, StoreError> {
        let job = {
            let mut state = self.state.lock();
            state.held(params.id, params.attempt)?;
            let job = state.update(params.id, |job| {
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
                state.log(params.id, params.now, line);
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
            let mut state = self.state.lock();
            state.held(params.id, params.attempt)?;
            let job = state.update(params.id, |job| {
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
                state.log(params.id, params.now, line);
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
        let mut state = self.state.lock();
        state.held(params.id, params.attempt)?;
        let expires = add(params.now, params.lease);
        state.update(params.id, |job| {
            job.lease_expires_at = Some(expires);
            job.updated_at = params.now;
        });
        Ok(expires)
    }

    async fn job_rescue(&self, now: DateTime<Utc>) -> Result<Vec<Job>, StoreError> {
        let rescued: Vec<Job> = {
            let mut state = self.state.lock();
            let expired: Vec<JobId> = state
                .running
                .range(..=(now, JobId(Uuid::max())))
                .map(|&(_, id)| id)
                .collect();
            expired
                .into_iter()
                .filter_map(|id| {
                    let before = state.jobs.get(&id).cloned();
                    state.update(id, |job| {
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
        let state = self.state.lock();
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
        Ok(state
            .open
            .range((lower, upper))
            .filter_map(|(_, id)| state.jobs.get(id).cloned())
            .collect())
    }

    async fn job_next_due(
        &self,
        after: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let state = self.state.lock();
        // Every key with a time after `after` sorts above (after, the largest id).
        let lower = Bound::Excluded((after, JobId(Uuid::max())));
        let first_after = |set: &BTreeSet<(DateTime<Utc>, JobId)>| {
            set.range((lower, Bound::Unbounded))
                .next()
                .map(|(at, _)| *at)
        };
        let pending = first_after(&state.pending);
        let lease = first_after(&state.running);
        Ok(match (pending, lease) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    async fn job_get(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        Ok(self.state.lock().jobs.get(&id).cloned())
    }

    async fn job_list(&self, params: JobListParams) -> Result<Vec<Job>, StoreError> {
        let state = self.state.lock();
        let mut jobs: Vec<Job> = state
            .jobs
            .values()
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
        Ok(self.state.lock().logs.get(&id).cloned().unwrap_or_default())
    }

    async fn job_prune(&self, params: JobPruneParams) -> Result<usize, StoreError> {
        let mut state = self.state.lock();
        // Every key before (finished_before, the smallest id) finished strictly before.
        let doomed: Vec<JobId> = state
            .finished
            .range(..(params.finished_before, JobId(Uuid::nil())))
            .take(params.limit)
            .map(|&(_, id)| id)
            .collect();
        for id in &doomed {
            if let Some(job) = state.jobs.remove(id) {
                state.unindex(&job);
            }
            state.logs.remove(id);
        }
        Ok(doomed.len())
    }

    async fn job_stats(&self, params: JobStatsParams) -> Result<JobStats, StoreError> {
        let state = self.state.lock();
        let mut stats = JobStats {
            pending: state.pending.len() as u64,
            running: state.running.len() as u64,
            expired_leases: state
                .running
                .range(..=(params.now, JobId(Uuid::max())))
                .count() as u64,
            next_due: state
                .pending
                .iter()
                .take(params.next)
                .filter_map(|(_, id)| state.jobs.get(id).cloned())
                .collect(),
            oldest_running: state
                .running
                .iter()
                .filter_map(|(_, id)| state.jobs.get(id))
                .min_by_key(|job| (job.started_at, job.id))
                .cloned(),
            ..JobStats::default()
        };
        for (_, id) in &state.finished {
            match state.jobs.get(id) {
                Some(job) if job.state() == JobState::Completed => {
                    stats.completed += 1;
                    stats.failed += u64::from(job.error.is_some());
                }
                Some(_) => stats.cancelled += 1,
                None => {}
            }
        }
        Ok(stats)
    }

    fn job_changes(&self) -> Option<watch::Receiver<u64>> {
        Some(self.changes.subscribe())
    }
}
