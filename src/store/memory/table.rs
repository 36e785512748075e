//! [`Table`]: the job table, its log lines and its indexes, as plain collections.
//!
//! Each index mirrors one of the Postgres store's indexes (migrations/), with the same
//! key and order, so a query here reads the index its SQL twin names in sql.rs.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::config::splitmix64;
use crate::error::StoreError;
use crate::ids::{JobId, WorkspaceId};
use crate::job::{Job, JobLog, JobState, LogLine, Occurrence, Operation};

/// A job and its log lines, oldest first: a row of the job table and its rows of the
/// logs table.
#[derive(Debug)]
pub(super) struct Row {
    pub(super) job: Job,
    pub(super) logs: Vec<JobLog>,
}

/// The jobs and the indexes over them. Every write goes through [`Table::update`] (or
/// [`Table::add`], [`Table::remove`]), which keeps each index in step with the job's
/// state.
#[derive(Debug)]
pub(super) struct Table {
    /// Every job with its lines, by id: the primary key.
    pub(super) rows: HashMap<JobId, Row>,
    /// Open jobs by (workspace, operation), as `workspace_lifecycle_job_open`: the
    /// "one open job" rule, and the ordered ranges `job_list_open` reads.
    pub(super) open: BTreeMap<(WorkspaceId, Operation), JobId>,
    /// Occurrences with a completed job, as `workspace_lifecycle_job_occurrence`: the
    /// "one completion per occurrence" rule. That index also holds open jobs, but an
    /// open job already blocks its (workspace, operation) through `open`.
    pub(super) done: HashSet<Occurrence>,
    /// Pending jobs by (run_at, id), as `workspace_lifecycle_job_pending_run_at`: what
    /// a claim scans, earliest first, the id breaking ties as in the claim's
    /// `order by j.run_at, j.id`.
    pub(super) pending: BTreeSet<(DateTime<Utc>, JobId)>,
    /// The running job of each workspace, as `workspace_lifecycle_job_running_workspace`:
    /// claims skip these workspaces. Running jobs are few (at most the engines'
    /// permits), so the rescue, the next wake-up and the statistics read them all
    /// here, as the Postgres store does since migration 4 dropped its lease index.
    pub(super) running: HashMap<WorkspaceId, JobId>,
    /// Finished jobs by (completed or cancelled time, id), as
    /// `workspace_lifecycle_job_finished`: what a prune takes, oldest first.
    pub(super) finished: BTreeSet<(DateTime<Utc>, JobId)>,
    /// The seed every job and log id is drawn from.
    seed: u64,
    /// How many ids have been drawn: the next id is `drawn_id(seed, drawn + 1)`.
    drawn: u64,
}

/// The id drawn `counter`-th from `seed`: a function of the two, so that a seeded run
/// draws the same job and log ids every time.
fn drawn_id(seed: u64, counter: u64) -> Uuid {
    let hi = splitmix64(seed ^ counter);
    let lo = splitmix64(hi ^ counter.rotate_left(32));
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hi.to_be_bytes());
    bytes[8..].copy_from_slice(&lo.to_be_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

impl Table {
    /// An empty table whose ids are drawn from `seed`.
    pub(super) fn new(seed: u64) -> Self {
        Table {
            rows: HashMap::new(),
            open: BTreeMap::new(),
            done: HashSet::new(),
            pending: BTreeSet::new(),
            running: HashMap::new(),
            finished: BTreeSet::new(),
            seed,
            drawn: 0,
        }
    }

    /// The next id. Jobs and log lines draw from one counter, in the order they are
    /// written.
    pub(super) fn draw_id(&mut self) -> Uuid {
        self.drawn += 1;
        drawn_id(self.seed, self.drawn)
    }

    /// The job with id `id`.
    pub(super) fn job(&self, id: JobId) -> Option<&Job> {
        self.rows.get(&id).map(|row| &row.job)
    }

    /// The job with id `id`, if it is running under `attempt`: the fence of every
    /// write an executor makes.
    pub(super) fn held(&self, id: JobId, attempt: u32) -> Result<&Job, StoreError> {
        match self.job(id) {
            Some(job) if job.state() == JobState::Running && job.attempt == attempt => Ok(job),
            _ => Err(StoreError::LeaseLost { job: id, attempt }),
        }
    }

    /// Adds a job that is not in the table yet.
    pub(super) fn add(&mut self, job: Job) {
        self.index(&job);
        let logs = Vec::new();
        self.rows.insert(job.id, Row { job, logs });
    }

    /// Applies `change` to the job with id `id`, keeping every index in step with its
    /// new state; the job as changed.
    pub(super) fn update(&mut self, id: JobId, change: impl FnOnce(&mut Job)) -> Option<Job> {
        let mut job = self.rows.get(&id)?.job.clone();
        self.unindex(&job);
        change(&mut job);
        self.index(&job);
        let row = self.rows.get_mut(&id)?;
        row.job = job.clone();
        Some(job)
    }

    /// Deletes the job with id `id` and its log lines.
    pub(super) fn remove(&mut self, id: JobId) {
        if let Some(row) = self.rows.remove(&id) {
            self.unindex(&row.job);
        }
    }

    /// Appends a log line, written at `now`, to the job with id `id`.
    pub(super) fn log(&mut self, id: JobId, now: DateTime<Utc>, line: &LogLine) {
        let log_id = self.draw_id();
        if let Some(row) = self.rows.get_mut(&id) {
            row.logs.push(JobLog {
                id: log_id,
                job_id: id,
                created_at: now,
                level: line.level(),
                output: line.output().to_owned(),
            });
        }
    }

    /// The running jobs, in no particular order.
    pub(super) fn running_jobs(&self) -> impl Iterator<Item = &Job> {
        self.running.values().filter_map(|&id| self.job(id))
    }

    /// Enters `job` in the indexes its state puts it in: the partial indexes'
    /// predicates, as code.
    fn index(&mut self, job: &Job) {
        match job.state() {
            JobState::Pending => {
                self.pending.insert((job.run_at, job.id));
                self.open.insert((job.workspace_id, job.operation), job.id);
            }
            JobState::Running => {
                self.running.insert(job.workspace_id, job.id);
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

    /// Takes `job` out of every index [`index`](Self::index) entered it in.
    fn unindex(&mut self, job: &Job) {
        match job.state() {
            JobState::Pending => {
                self.pending.remove(&(job.run_at, job.id));
                self.open.remove(&(job.workspace_id, job.operation));
            }
            JobState::Running => {
                self.running.remove(&job.workspace_id);
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_same_function_of_the_seed() {
        // Seeded runs and the tests that pin ids depend on these exact values.
        let mut table = Table::new(42);
        let drawn: Vec<String> = (0..3).map(|_| table.draw_id().to_string()).collect();
        assert_eq!(
            drawn,
            [
                "ba69ec90-eb4f-4f88-938f-d43ae209f299",
                "369eae0b-0ca1-4112-a852-caf34442a511",
                "118e846e-a93b-4949-a4e1-51810398bcf8",
            ]
        );
    }
}
