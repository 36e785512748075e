//! [`InMemoryStore`]: the job table in process memory, behind one `parking_lot` mutex.
//!
//! It reproduces the Postgres store's behaviour exactly, down to which writes are
//! fenced out and which inserts are skipped; the shared contract suite holds both to
//! it. Holding one mutex for each operation makes every operation atomic, which is the
//! in-memory equivalent of the Postgres store's row locks and `SKIP LOCKED`.

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
    JobListParams, JobLogInsertParams, JobPruneParams, JobRenewLeaseParams, JobRescheduleParams,
    JobRetryParams, JobStats, JobStatsParams, JobStore, JobStoreAdmin, Rescheduled, WorkspaceRange,
};
use crate::clock::add;
use crate::config::splitmix64;
use crate::error::StoreError;
use crate::job::{ExecutorId, Job, JobId, JobLog, JobState, LogLine, Occurrence, Operation};
use crate::workspace::WorkspaceId;

mod ids;
mod lines;
mod ordered;

use ids::Ids;
use lines::Lines;
use ordered::Ordered;

/// The job table in memory: for tests, simulations and single-process use.
///
/// Every operation takes O(log n) comparisons in the number of jobs, except that a
/// claim also steps over due jobs whose workspace already has a job running.
///
/// Memory: a pending job as inserted takes about 100 bytes (its fixed fields and its
/// places in the indexes), and its log lines one allocation holding about 10 bytes
/// plus the text per line (22 for a line written after the job's creation). A claim
/// or any later write adds about 110 bytes for the fields such writes set. Pruning
/// frees a job's memory, and its slot for the next insert to reuse.
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

/// The table and its indexes. The indexes hold slot numbers into `jobs`, ordered by
/// keys read from the slots, so a slot leaves every index before a write changes it
/// and enters them again after (`update`).
#[derive(Debug, Default)]
struct State {
    jobs: Slab,
    /// The slot of each job, by id.
    ids: Ids,
    /// Open jobs by (workspace, operation): the "one open job" rule, and the ordered
    /// index that serves `job_list_open` ranges.
    open: Ordered<(WorkspaceId, Operation)>,
    /// Occurrences with a completed job: the "one completion per occurrence" rule.
    done: HashSet<Occurrence>,
    /// Pending jobs by (run_at, id): what a claim scans, earliest first.
    pending: Ordered<(DateTime<Utc>, JobId)>,
    /// Running jobs by (lease expiry, id): what a rescue scans.
    running: Ordered<(DateTime<Utc>, JobId)>,
    /// The workspaces with a running job: claims skip them.
    running_by_workspace: HashSet<WorkspaceId>,
    /// Finished jobs by (completed or cancelled time, id): what a prune takes, oldest
    /// first.
    finished: Ordered<(DateTime<Utc>, JobId)>,
}

/// The jobs, in slots that pruning frees and inserts reuse, and the ids' source.
#[derive(Debug, Default)]
struct Slab {
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    seed: u64,
    /// The last id counter drawn: job and log ids are `drawn_id(seed, counter)`.
    next_id: u64,
}

/// One job, 88 bytes: what every job has inline, what later writes set behind one
/// pointer, and its log lines behind another.
#[derive(Debug)]
struct Slot {
    /// The counter the job's id was drawn from: half the size of the id.
    counter: u64,
    workspace_id: WorkspaceId,
    operation: Operation,
    deadline: DateTime<Utc>,
    run_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    /// `None` while every field in it is as the insert left it.
    later: Option<Box<Later>>,
    lines: Option<Lines>,
}

/// The fields of a [`Job`] that only writes after its insert set.
#[derive(Debug, PartialEq)]
struct Later {
    updated_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    lease_expires_at: Option<DateTime<Utc>>,
    error: Option<Box<str>>,
    attempt: u32,
    failed_attempts: u32,
    claimed_by: Option<ExecutorId>,
}

impl Later {
    /// `job`'s later fields, or `None` if they are all as an insert sets them.
    fn of(job: &Job) -> Option<Box<Later>> {
        let later = Later {
            updated_at: job.updated_at,
            started_at: job.started_at,
            cancelled_at: job.cancelled_at,
            completed_at: job.completed_at,
            lease_expires_at: job.lease_expires_at,
            error: job.error.as_deref().map(Box::from),
            attempt: job.attempt,
            failed_attempts: job.failed_attempts,
            claimed_by: job.claimed_by,
        };
        let inserted = Later {
            updated_at: job.created_at,
            started_at: None,
            cancelled_at: None,
            completed_at: None,
            lease_expires_at: None,
            error: None,
            attempt: 0,
            failed_attempts: 0,
            claimed_by: None,
        };
        (later != inserted).then(|| Box::new(later))
    }
}

/// The id drawn from `counter`: a function of the seed, so runs are reproducible.
fn drawn_id(seed: u64, counter: u64) -> Uuid {
    let hi = splitmix64(seed ^ counter);
    let lo = splitmix64(hi ^ counter.rotate_left(32));
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hi.to_be_bytes());
    bytes[8..].copy_from_slice(&lo.to_be_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

impl Slot {
    fn job(&self, seed: u64) -> Job {
        let later = self.later.as_deref();
        Job {
            id: JobId(drawn_id(seed, self.counter)),
            created_at: self.created_at,
            updated_at: later.map_or(self.created_at, |l| l.updated_at),
            started_at: later.and_then(|l| l.started_at),
            cancelled_at: later.and_then(|l| l.cancelled_at),
            completed_at: later.and_then(|l| l.completed_at),
            error: later.and_then(|l| l.error.as_deref()).map(String::from),
            workspace_id: self.workspace_id,
            operation: self.operation,
            deadline: self.deadline,
            run_at: self.run_at,
            attempt: later.map_or(0, |l| l.attempt),
            failed_attempts: later.map_or(0, |l| l.failed_attempts),
            lease_expires_at: later.and_then(|l| l.lease_expires_at),
            claimed_by: later.and_then(|l| l.claimed_by),
        }
    }
}

impl Slab {
    /// Draws the next id counter.
    fn draw(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// How many more jobs fit: slot numbers are `u32`, and `u32::MAX` marks an empty
    /// bucket in [`Ids`].
    fn room(&self) -> usize {
        self.free.len() + (u32::MAX as usize).saturating_sub(self.slots.len())
    }

    /// Stores `slot`; `None` if there is no [`room`](Self::room).
    fn add(&mut self, slot: Slot) -> Option<u32> {
        if let Some(s) = self.free.pop() {
            if let Some(vacant) = self.slots.get_mut(s as usize) {
                *vacant = Some(slot);
            }
            return Some(s);
        }
        let s = u32::try_from(self.slots.len())
            .ok()
            .filter(|&s| s != u32::MAX)?;
        self.slots.push(Some(slot));
        Some(s)
    }

    fn remove(&mut self, s: u32) {
        if let Some(slot) = self.slots.get_mut(s as usize) {
            if slot.take().is_some() {
                self.free.push(s);
            }
        }
    }

    fn get(&self, s: u32) -> Option<&Slot> {
        self.slots.get(s as usize)?.as_ref()
    }

    fn get_mut(&mut self, s: u32) -> Option<&mut Slot> {
        self.slots.get_mut(s as usize)?.as_mut()
    }

    fn job(&self, s: u32) -> Option<Job> {
        self.get(s).map(|slot| slot.job(self.seed))
    }

    fn id(&self, s: u32) -> Option<JobId> {
        self.get(s)
            .map(|slot| JobId(drawn_id(self.seed, slot.counter)))
    }

    /// Writes what `update` may have changed: everything but the id, workspace,
    /// operation and creation time.
    fn set(&mut self, s: u32, job: &Job) {
        if let Some(slot) = self.get_mut(s) {
            slot.deadline = job.deadline;
            slot.run_at = job.run_at;
            slot.later = Later::of(job);
        }
    }

    fn open_key(&self, s: u32) -> Option<(WorkspaceId, Operation)> {
        self.get(s).map(|slot| (slot.workspace_id, slot.operation))
    }

    fn pending_key(&self, s: u32) -> Option<(DateTime<Utc>, JobId)> {
        let slot = self.get(s)?;
        Some((slot.run_at, JobId(drawn_id(self.seed, slot.counter))))
    }

    fn running_key(&self, s: u32) -> Option<(DateTime<Utc>, JobId)> {
        let slot = self.get(s)?;
        let lease = slot.later.as_ref()?.lease_expires_at?;
        Some((lease, JobId(drawn_id(self.seed, slot.counter))))
    }

    fn finished_key(&self, s: u32) -> Option<(DateTime<Utc>, JobId)> {
        let slot = self.get(s)?;
        let later = slot.later.as_ref()?;
        let at = later.completed_at.or(later.cancelled_at)?;
        Some((at, JobId(drawn_id(self.seed, slot.counter))))
    }
}

impl State {
    fn slot_of(&self, id: JobId) -> Option<u32> {
        self.ids.get(id, |s| self.jobs.id(s))
    }

    fn unindex(&mut self, s: u32, job: &Job) {
        let jobs = &self.jobs;
        match job.state() {
            JobState::Pending => {
                self.pending.remove(s, |s| jobs.pending_key(s));
                self.open.remove(s, |s| jobs.open_key(s));
            }
            JobState::Running => {
                self.running.remove(s, |s| jobs.running_key(s));
                self.running_by_workspace.remove(&job.workspace_id);
                self.open.remove(s, |s| jobs.open_key(s));
            }
            JobState::Completed => {
                self.done.remove(&job.occurrence());
            }
            JobState::Cancelled => {}
        }
        if job.finished_at().is_some() {
            self.finished.remove(s, |s| jobs.finished_key(s));
        }
    }

    fn index(&mut self, s: u32, job: &Job) {
        let jobs = &self.jobs;
        match job.state() {
            JobState::Pending => {
                self.pending.insert(s, |s| jobs.pending_key(s));
                self.open.insert(s, |s| jobs.open_key(s));
            }
            JobState::Running => {
                // A running job always has a lease: every path into Running sets one.
                if job.lease_expires_at.is_some() {
                    self.running.insert(s, |s| jobs.running_key(s));
                }
                self.running_by_workspace.insert(job.workspace_id);
                self.open.insert(s, |s| jobs.open_key(s));
            }
            JobState::Completed => {
                self.done.insert(job.occurrence());
            }
            JobState::Cancelled => {}
        }
        if job.finished_at().is_some() {
            self.finished.insert(s, |s| jobs.finished_key(s));
        }
    }

    /// Applies `change` to the job in slot `s`, keeping every index in step with its
    /// new state.
    fn update(&mut self, s: u32, change: impl FnOnce(&mut Job)) -> Option<Job> {
        let mut job = self.jobs.job(s)?;
        self.unindex(s, &job);
        change(&mut job);
        self.jobs.set(s, &job);
        self.index(s, &job);
        Some(job)
    }

    /// The slot of the job, if it is running under `attempt`.
    fn held(&self, id: JobId, attempt: u32) -> Result<u32, StoreError> {
        let slot = self.slot_of(id);
        match slot.and_then(|s| Some((s, self.jobs.job(s)?))) {
            Some((s, job)) if job.state() == JobState::Running && job.attempt == attempt => Ok(s),
            _ => Err(StoreError::LeaseLost { job: id, attempt }),
        }
    }

    fn log(&mut self, s: u32, now: DateTime<Utc>, line: &LogLine) {
        let counter = self.jobs.draw();
        if let Some(slot) = self.jobs.get_mut(s) {
            let lines = slot.lines.take();
            slot.lines = Some(Lines::push(lines, counter, now, slot.created_at, line));
        }
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
                jobs: Slab {
                    seed,
                    ..Slab::default()
                },
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
        let state = self.state.lock();
        let seed = state.jobs.seed;
        state
            .jobs
            .slots
            .iter()
            .flatten()
            .map(|slot| slot.job(seed))
            .collect()
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
            // Checked first, so a batch is written whole or not at all.
            if state.jobs.room() < params.jobs.len() {
                return Err(StoreError::Backend(
                    "the in-memory store holds its most jobs (2^32 - 1)".into(),
                ));
            }
            for new in params.jobs {
                let occurrence = Occurrence {
                    workspace_id: new.workspace_id,
                    operation: new.operation,
                    deadline: new.deadline,
                };
                let open = state.open.get((new.workspace_id, new.operation), |s| {
                    state.jobs.open_key(s)
                });
                if open.is_some() || state.done.contains(&occurrence) {
                    continue;
                }
                let counter = state.jobs.draw();
                let job = Job {
                    id: JobId(drawn_id(state.jobs.seed, counter)),
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
                let slot = Slot {
                    counter,
                    workspace_id: job.workspace_id,
                    operation: job.operation,
                    deadline: job.deadline,
                    run_at: job.run_at,
                    created_at: job.created_at,
                    later: None,
                    lines: None,
                };
                // The room was checked above for the whole batch.
                let Some(s) = state.jobs.add(slot) else {
                    break;
                };
                let state = &mut *state;
                state.ids.insert(job.id, s, |s| state.jobs.id(s));
                state.index(s, &job);
                if let Some(line) = &new.log {
                    state.log(s, now, line);
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
            let slot = match log.attempt {
                Some(attempt) => state.held(log.job_id, attempt).ok(),
                None => state.slot_of(log.job_id),
            };
            if let Some(s) = slot {
                state.log(s, params.now, &log.line);
                written += 1;
            }
        }
        Ok(written)
    }

    async fn job_claim(&self, params: JobClaimParams) -> Result<Vec<Job>, StoreError> {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        let mut picked = Vec::new();
        let mut workspaces = HashSet::new();
        // Every key due at `now` sorts at or below (now, the largest id).
        let due = Bound::Included((params.now, JobId(Uuid::max())));
        let jobs = &state.jobs;
        for s in state
            .pending
            .range(Bound::Unbounded, due, |s| jobs.pending_key(s))
        {
            if picked.len() >= params.limit {
                break;
            }
            // The index holds only occupied slots.
            let Some(slot) = jobs.get(s) else {
                continue;
            };
            if state.running_by_workspace.contains(&slot.workspace_id)
                || !workspaces.insert(slot.workspace_id)
            {
                continue;
            }
            picked.push(s);
        }
        let lease_expires_at = add(params.now, params.lease);
        let claimed = picked
            .into_iter()
            .filter_map(|s| {
                state.update(s, |job| {
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
                let found = state
                    .slot_of(change.id)
                    .and_then(|s| Some((s, state.jobs.job(s)?)));
                let outcome = match found {
                    Some((s, job)) if job.state() == JobState::Pending => {
                        let target = Occurrence {
                            deadline: change.deadline,
                            ..job.occurrence()
                        };
                        if state.done.contains(&target) {
                            Rescheduled::OccurrenceTaken
                        } else {
                            state.update(s, |job| {
                                job.deadline = change.deadline;
                                job.run_at = change.run_at.unwrap_or(change.deadline);
                                job.updated_at = params.now;
                                job.failed_attempts = 0;
                                job.error = None;
                            });
                            if let Some(line) = &change.log {
                                state.log(s, params.now, line);
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
                let slot = match cancel.attempt {
                    None => state.slot_of(cancel.id).filter(|&s| {
                        state
                            .jobs
                            .job(s)
                            .is_some_and(|job| job.state() == JobState::Pending)
                    }),
                    Some(attempt) => state.held(cancel.id, attempt).ok(),
                };
                let Some(s) = slot else {
                    continue;
                };
                state.update(s, |job| {
                    job.cancelled_at = Some(params.now);
                    job.updated_at = params.now;
                    job.lease_expires_at = None;
                });
                if let Some(line) = &cancel.log {
                    state.log(s, params.now, line);
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
            let s = state.held(params.id, params.attempt)?;
            let job = state.update(s, |job| {
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
                state.log(s, params.now, line);
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
            let s = state.held(params.id, params.attempt)?;
            let job = state.update(s, |job| {
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
                state.log(s, params.now, line);
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
        let s = state.held(params.id, params.attempt)?;
        let expires = add(params.now, params.lease);
        state.update(s, |job| {
            job.lease_expires_at = Some(expires);
            job.updated_at = params.now;
        });
        Ok(expires)
    }

    async fn job_rescue(&self, now: DateTime<Utc>) -> Result<Vec<Job>, StoreError> {
        let rescued: Vec<Job> = {
            let mut state = self.state.lock();
            let expired = Bound::Included((now, JobId(Uuid::max())));
            let jobs = &state.jobs;
            let expired: Vec<u32> = state
                .running
                .range(Bound::Unbounded, expired, |s| jobs.running_key(s))
                .collect();
            expired
                .into_iter()
                .filter_map(|s| {
                    let before = state.jobs.job(s);
                    state.update(s, |job| {
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
        let jobs = &state.jobs;
        Ok(state
            .open
            .range(lower, upper, |s| jobs.open_key(s))
            .filter_map(|s| jobs.job(s))
            .collect())
    }

    async fn job_next_due(
        &self,
        after: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let state = self.state.lock();
        // Every key with a time after `after` sorts above (after, the largest id).
        let lower = Bound::Excluded((after, JobId(Uuid::max())));
        let jobs = &state.jobs;
        let pending = state
            .pending
            .range(lower, Bound::Unbounded, |s| jobs.pending_key(s))
            .next()
            .and_then(|s| jobs.pending_key(s));
        let lease = state
            .running
            .range(lower, Bound::Unbounded, |s| jobs.running_key(s))
            .next()
            .and_then(|s| jobs.running_key(s));
        Ok(match (pending, lease) {
            (Some((a, _)), Some((b, _))) => Some(a.min(b)),
            (a, b) => a.or(b).map(|(at, _)| at),
        })
    }

    async fn job_prune(&self, params: JobPruneParams) -> Result<usize, StoreError> {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        // Every key before (finished_before, the smallest id) finished strictly before.
        let before = Bound::Excluded((params.finished_before, JobId(Uuid::nil())));
        let jobs = &state.jobs;
        let doomed: Vec<u32> = state
            .finished
            .range(Bound::Unbounded, before, |s| jobs.finished_key(s))
            .take(params.limit)
            .collect();
        for &s in &doomed {
            if let Some(job) = state.jobs.job(s) {
                state.unindex(s, &job);
                state.ids.remove(job.id, |s| state.jobs.id(s));
            }
            // The slot's job, its later fields and its log lines go with it.
            state.jobs.remove(s);
        }
        Ok(doomed.len())
    }

    fn job_changes(&self) -> Option<watch::Receiver<u64>> {
        Some(self.changes.subscribe())
    }
}

#[async_trait]
impl JobStoreAdmin for InMemoryStore {
    async fn job_get(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        let state = self.state.lock();
        Ok(state.slot_of(id).and_then(|s| state.jobs.job(s)))
    }

    async fn job_list(&self, params: JobListParams) -> Result<Vec<Job>, StoreError> {
        let state = self.state.lock();
        let seed = state.jobs.seed;
        let mut jobs: Vec<Job> = state
            .jobs
            .slots
            .iter()
            .flatten()
            .filter(|j| params.workspace_id.is_none_or(|w| j.workspace_id == w))
            .filter(|j| params.operation.is_none_or(|o| j.operation == o))
            .map(|slot| slot.job(seed))
            .filter(|j| params.state.is_none_or(|s| j.state() == s))
            .collect();
        jobs.sort_by_key(|j| std::cmp::Reverse((j.created_at, j.id)));
        if let Some(limit) = params.limit {
            jobs.truncate(limit);
        }
        Ok(jobs)
    }

    async fn job_log_list(&self, id: JobId) -> Result<Vec<JobLog>, StoreError> {
        let state = self.state.lock();
        let seed = state.jobs.seed;
        let Some(slot) = state.slot_of(id).and_then(|s| state.jobs.get(s)) else {
            return Ok(Vec::new());
        };
        Ok(slot.lines.as_ref().map_or_else(Vec::new, |lines| {
            lines.list(id, slot.created_at, |counter| drawn_id(seed, counter))
        }))
    }

    async fn job_stats(&self, params: JobStatsParams) -> Result<JobStats, StoreError> {
        let state = self.state.lock();
        let jobs = &state.jobs;
        let expired = Bound::Included((params.now, JobId(Uuid::max())));
        let all = (Bound::Unbounded, Bound::Unbounded);
        let mut stats = JobStats {
            pending: state.pending.len() as u64,
            running: state.running.len() as u64,
            expired_leases: state
                .running
                .range(Bound::Unbounded, expired, |s| jobs.running_key(s))
                .count() as u64,
            next_due: state
                .pending
                .range(all.0, all.1, |s| jobs.pending_key(s))
                .take(params.next)
                .filter_map(|s| jobs.job(s))
                .collect(),
            oldest_running: state
                .running
                .range(all.0, all.1, |s| jobs.running_key(s))
                .filter_map(|s| jobs.job(s))
                .min_by_key(|job| (job.started_at, job.id)),
            ..JobStats::default()
        };
        for job in state
            .finished
            .range(all.0, all.1, |s| jobs.finished_key(s))
            .filter_map(|s| jobs.job(s))
        {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_slot_stays_small() {
        // Every byte here is a megabyte at a million jobs (docs/performance.md, section 5).
        assert_eq!(std::mem::size_of::<Slot>(), 88);
        assert_eq!(std::mem::size_of::<Option<Slot>>(), 88);
        assert_eq!(std::mem::size_of::<Later>(), 104);
    }
}
