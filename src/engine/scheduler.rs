//! The scheduler: keeps exactly the right pending jobs in the store.
//!
//! [`plan`] is the reconcile rule, a pure function of one workspace's snapshot and its
//! open jobs. The pass around it pages through the workspaces, reads the open jobs of
//! each page's id range in one store round trip, and applies the plan in at most three
//! batched writes per page (insert, reschedule, cancel).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::events::EventKind;
use super::executor::call_adapter;
use super::LifecycleEngine;
use crate::clock::{add, Clock};
use crate::error::{Error, WorkspaceError};
use crate::job::{
    deadline_supported, Job, JobId, JobState, LogLine, Operation, EARLIEST_DEADLINE,
    LATEST_DEADLINE,
};
use crate::store::{
    JobCancel, JobCancelParams, JobInsertParams, JobReschedule, JobRescheduleParams, JobStore,
    NewJob, Rescheduled, WorkspaceRange,
};
use crate::telemetry::record;
use crate::workspace::{Readiness, Workspace, WorkspaceId, Workspaces};

/// One change the reconcile rule asks for.
///
/// ```
/// use workspace_lifecycle::scheduler::{plan, Change};
/// use workspace_lifecycle::{Workspace, WorkspaceId, WorkspaceState};
/// # use workspace_lifecycle::*;
/// # let pending = |deadline| Job { id: JobId(uuid::Uuid::nil()), created_at: deadline,
/// #     updated_at: deadline, started_at: None, cancelled_at: None, completed_at: None,
/// #     error: None, workspace_id: WorkspaceId(uuid::Uuid::nil()),
/// #     operation: Operation::Stop, deadline, run_at: deadline, attempt: 0,
/// #     failed_attempts: 0, lease_expires_at: None, claimed_by: None };
/// let old = "2026-01-05T18:00:00Z".parse().unwrap();
/// let new = "2026-01-05T19:00:00Z".parse().unwrap();
/// let open = [pending(old)]; // a pending stop job for 18:00
/// let mut ws = Workspace {
///     auto_stop_at: Some(new),
///     ..Workspace::new(WorkspaceId(uuid::Uuid::nil()), WorkspaceState::Running)
/// };
/// // Activity moved the auto-stop: the job moves with it rather than being replaced.
/// let changes = plan(Some(&ws), &open);
/// assert!(matches!(&changes[..], [Change::Reschedule { deadline, .. }] if *deadline == new));
/// ws.auto_stop_at = None;
/// assert!(matches!(&plan(Some(&ws), &open)[..], [Change::Cancel { .. }]));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Create a job (rules 1 and 2).
    Create {
        /// The workspace.
        workspace_id: WorkspaceId,
        /// Start or stop.
        operation: Operation,
        /// The workspace's auto-start (auto-stop) time.
        deadline: DateTime<Utc>,
        /// Why, for the job's log.
        reason: String,
    },
    /// Move a pending job to the workspace's current time (rule 5).
    Reschedule {
        /// The job.
        job: JobId,
        /// Its operation.
        operation: Operation,
        /// The new deadline.
        deadline: DateTime<Utc>,
        /// Why, for the job's log.
        reason: String,
    },
    /// Cancel a pending job (rules 3, 4 and 6).
    Cancel {
        /// The job.
        job: JobId,
        /// Why, for the job's log.
        reason: String,
    },
    /// Refuse a workspace time outside [`EARLIEST_DEADLINE`]..=[`LATEST_DEADLINE`]: no
    /// job is created for it (a pending one is cancelled); the pass warns and goes on.
    Refuse {
        /// The workspace.
        workspace_id: WorkspaceId,
        /// Start or stop.
        operation: Operation,
        /// What was wrong, with the value.
        reason: String,
    },
}

/// The reconcile rule: what to change so that `open` (the open jobs of one workspace)
/// matches the workspace's data. `workspace` is `None` when it no longer exists.
///
/// 1. Running (or failed), has an auto-stop time, no open stop job: create one.
/// 2. Stopped, has an auto-start time, no open start job: create one.
/// 3. Pending start job, no auto-start time: cancel it.
/// 4. Pending stop job, no auto-stop time: cancel it.
/// 5. Pending job whose deadline differs from the workspace's time: move it.
/// 6. Pending job of a workspace that no longer exists: cancel it.
///
/// A time outside [`EARLIEST_DEADLINE`]..=[`LATEST_DEADLINE`] (say chrono's
/// `MAX_UTC`, which Postgres cannot store) is refused instead: [`Change::Refuse`], and
/// its pending job, if any, is cancelled.
///
/// Running jobs are left alone: their executor re-checks the workspace before acting.
/// A job is not created for an occurrence that was already completed; the store
/// enforces that (see [`JobStore`]).
///
/// ```
/// use workspace_lifecycle::scheduler::{plan, Change};
/// use workspace_lifecycle::{Operation, Workspace, WorkspaceId, WorkspaceState};
///
/// let at = "2026-01-05T09:00:00Z".parse().unwrap();
/// let ws = Workspace {
///     auto_start_at: Some(at),
///     ..Workspace::new(WorkspaceId(uuid::Uuid::nil()), WorkspaceState::Stopped)
/// };
/// let changes = plan(Some(&ws), &[]);
/// assert!(matches!(
///     &changes[..],
///     [Change::Create { operation: Operation::Start, deadline, .. }] if *deadline == at
/// ));
/// ```
pub fn plan(workspace: Option<&Workspace>, open: &[Job]) -> Vec<Change> {
    let mut changes = Vec::new();
    let Some(ws) = workspace else {
        for job in open.iter().filter(|j| j.state() == JobState::Pending) {
            changes.push(Change::Cancel {
                job: job.id,
                reason: "cancelled: the workspace no longer exists".into(),
            });
        }
        return changes;
    };
    for operation in Operation::ALL {
        let job = open.iter().find(|j| j.operation == operation);
        let wanted = ws.scheduled_at(operation);
        if let Some(at) = wanted.filter(|at| !deadline_supported(*at)) {
            let reason = format!(
                "the workspace's auto-{operation} time {} is outside the supported range {} to {}",
                at.to_rfc3339(),
                EARLIEST_DEADLINE.to_rfc3339(),
                LATEST_DEADLINE.to_rfc3339()
            );
            if let Some(job) = job.filter(|j| j.state() == JobState::Pending) {
                changes.push(Change::Cancel {
                    job: job.id,
                    reason: format!("cancelled: {reason}"),
                });
            }
            changes.push(Change::Refuse {
                workspace_id: ws.id,
                operation,
                reason,
            });
            continue;
        }
        match (job, wanted) {
            (Some(job), _) if job.state() != JobState::Pending => {}
            (Some(job), None) => changes.push(Change::Cancel {
                job: job.id,
                reason: format!("cancelled: the workspace no longer has an auto-{operation} time"),
            }),
            (Some(job), Some(at)) if at != job.deadline => changes.push(Change::Reschedule {
                job: job.id,
                operation,
                deadline: at,
                reason: format!(
                    "deadline moved from {} to {}: the workspace's auto-{operation} time changed",
                    job.deadline.to_rfc3339(),
                    at.to_rfc3339()
                ),
            }),
            (Some(_), Some(_)) => {}
            (None, Some(at)) if ws.readiness(operation) == Readiness::Act => {
                changes.push(Change::Create {
                    workspace_id: ws.id,
                    operation,
                    deadline: at,
                    reason: format!(
                        "scheduled: the workspace is {} with auto-{operation} at {}",
                        ws.state,
                        at.to_rfc3339()
                    ),
                })
            }
            (None, _) => {}
        }
    }
    changes
}

/// What a scheduler pass did.
///
/// ```
/// use workspace_lifecycle::testkit::FakeWorkspaces;
/// use workspace_lifecycle::{
///     Config, FakeClock, InMemoryStore, LifecycleEngine, Workspace, WorkspaceId,
///     WorkspaceState,
/// };
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
/// let fleet = FakeWorkspaces::new(clock.clone());
/// for n in 1..=3 {
///     fleet.insert(Workspace {
///         auto_stop_at: Some("2026-01-05T18:00:00Z".parse().unwrap()),
///         ..Workspace::new(WorkspaceId(uuid::Uuid::from_u128(n)), WorkspaceState::Running)
///     });
/// }
/// let config = Config { page_size: 2, ..Config::default() };
/// let engine = LifecycleEngine::new(InMemoryStore::new(), clock, fleet, config).unwrap();
/// let report = engine.reconcile_all().await.unwrap();
/// assert_eq!((report.pages, report.workspaces, report.created), (2, 3, 3));
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconcileReport {
    /// Pages of workspaces read.
    pub pages: usize,
    /// Workspaces looked at.
    pub workspaces: usize,
    /// Jobs created.
    pub created: usize,
    /// Pending jobs moved to a new deadline.
    pub rescheduled: usize,
    /// Pending jobs cancelled.
    pub cancelled: usize,
    /// Workspace times refused as out of range ([`Change::Refuse`]).
    pub refused: usize,
    /// Workspace times older than `Config::retention` (less `start_lead` for a start),
    /// left unscheduled: their occurrence may have been acted on and its job pruned.
    pub stale: usize,
}

impl ReconcileReport {
    /// Adds another report's counts to this one.
    ///
    /// ```
    /// use workspace_lifecycle::ReconcileReport;
    ///
    /// let mut pass = ReconcileReport::default();
    /// pass.created = 3;
    /// let mut total = ReconcileReport::default();
    /// total.add(&pass);
    /// total.add(&pass);
    /// assert_eq!(total.created, 6);
    /// ```
    pub fn add(&mut self, other: &ReconcileReport) {
        self.pages += other.pages;
        self.workspaces += other.workspaces;
        self.created += other.created;
        self.rescheduled += other.rescheduled;
        self.cancelled += other.cancelled;
        self.refused += other.refused;
        self.stale += other.stale;
    }
}

/// The changes planned for one page, with the open jobs they touch (for events).
#[derive(Default)]
struct Planned {
    changes: Vec<Change>,
    jobs: HashMap<JobId, Job>,
}

impl Planned {
    fn add(&mut self, changes: Vec<Change>, open: &[Job]) {
        for change in &changes {
            if let Change::Reschedule { job, .. } | Change::Cancel { job, .. } = change {
                if let Some(found) = open.iter().find(|j| j.id == *job) {
                    self.jobs.insert(*job, found.clone());
                }
            }
        }
        self.changes.extend(changes);
    }
}

impl<S: JobStore, C: Clock, W: Workspaces> LifecycleEngine<S, C, W> {
    /// One full scheduler pass: every workspace, page by page, with one store read and
    /// at most three batched store writes per page.
    ///
    /// # Errors
    ///
    /// The first store or adapter error ends the pass (pages already applied stay
    /// applied; the next pass picks up from scratch). A page out of id order gives
    /// [`WorkspaceError::UnorderedPage`] before anything of it is applied.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{
    ///     Config, FakeClock, InMemoryStore, LifecycleEngine, Workspace, WorkspaceId,
    ///     WorkspaceState,
    /// };
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
    /// let fleet = FakeWorkspaces::new(clock.clone());
    /// let id = WorkspaceId(uuid::Uuid::from_u128(1));
    /// fleet.insert(Workspace {
    ///     auto_stop_at: Some("2026-01-05T18:00:00Z".parse().unwrap()),
    ///     ..Workspace::new(id, WorkspaceState::Running)
    /// });
    /// let engine = LifecycleEngine::new(InMemoryStore::new(), clock, fleet.clone(),
    ///     Config::default()).unwrap();
    ///
    /// assert_eq!(engine.reconcile_all().await.unwrap().created, 1);
    /// assert_eq!(engine.reconcile_all().await.unwrap().created, 0); // already there
    /// fleet.update(id, |ws| ws.auto_stop_at = Some("2026-01-05T19:00:00Z".parse().unwrap()));
    /// assert_eq!(engine.reconcile_all().await.unwrap().rescheduled, 1);
    /// # });
    /// ```
    pub async fn reconcile_all(&self) -> Result<ReconcileReport, Error> {
        let span = tracing::debug_span!("reconcile_pass");
        let started = self.inner.clock.now();
        let mut open_jobs = 0;
        let result = self
            .reconcile_pages(&mut open_jobs)
            .instrument(span.clone())
            .await;
        let _entered = span.enter();
        match &result {
            Ok(report) => {
                let took = (self.inner.clock.now() - started)
                    .to_std()
                    .unwrap_or_default();
                record::reconcile(took);
                record::open_jobs((open_jobs + report.created).saturating_sub(report.cancelled));
                tracing::debug!(?report, ?took, "reconcile pass done");
            }
            Err(error) => tracing::debug!(%error, "reconcile pass failed"),
        }
        result
    }

    /// The pages of [`reconcile_all`](Self::reconcile_all); counts the open jobs it
    /// listed in `open_jobs`.
    async fn reconcile_pages(&self, open_jobs: &mut usize) -> Result<ReconcileReport, Error> {
        let mut report = ReconcileReport::default();
        let limit = self.inner.config.page_size;
        let mut after: Option<WorkspaceId> = None;
        loop {
            let page =
                call_adapter(self, || self.inner.workspaces.list(after, limit), "list").await?;
            let page: Vec<Workspace> = page
                .into_iter()
                .map(Workspace::at_store_precision)
                .collect();
            check_order(after, &page)?;
            report.pages += 1;
            report.workspaces += page.len();
            // A short page is the last: its range is open-ended, so it also covers the
            // jobs of deleted workspaces with ids above every live one.
            let through = if page.len() < limit {
                None
            } else {
                page.last().map(|w| w.id)
            };
            let open = self
                .inner
                .store
                .job_list_open(WorkspaceRange::Page { after, through })
                .await?;
            *open_jobs += open.len();
            self.note_reminders(&open);
            let mut by_workspace: BTreeMap<WorkspaceId, Vec<Job>> = BTreeMap::new();
            for job in open {
                by_workspace.entry(job.workspace_id).or_default().push(job);
            }
            let mut planned = Planned::default();
            for ws in &page {
                let jobs = by_workspace.remove(&ws.id).unwrap_or_default();
                planned.add(plan(Some(ws), &jobs), &jobs);
            }
            // Jobs in this id range whose workspace the page did not list: confirm
            // each is really gone before rule 6 cancels its jobs, so a listing that
            // raced a creation cannot cancel a live workspace's job.
            for (id, jobs) in by_workspace {
                let ws = call_adapter(self, || self.inner.workspaces.get(id), "get")
                    .await?
                    .map(Workspace::at_store_precision);
                planned.add(plan(ws.as_ref(), &jobs), &jobs);
            }
            self.apply(planned, &mut report).await?;
            match through {
                Some(last) => after = Some(last),
                None => break,
            }
        }
        Ok(report)
    }

    /// Reconciles one workspace now, for a service that just changed its schedule and
    /// does not want to wait for the next pass.
    ///
    /// # Errors
    ///
    /// A store or adapter error; nothing is half-applied.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{
    ///     Config, FakeClock, InMemoryStore, LifecycleEngine, Workspace, WorkspaceId,
    ///     WorkspaceState,
    /// };
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
    /// let fleet = FakeWorkspaces::new(clock.clone());
    /// let id = WorkspaceId(uuid::Uuid::from_u128(1));
    /// fleet.insert(Workspace::new(id, WorkspaceState::Running));
    /// let engine = LifecycleEngine::new(InMemoryStore::new(), clock, fleet.clone(),
    ///     Config::default()).unwrap();
    /// engine.reconcile_all().await.unwrap();
    ///
    /// // The user just set an auto-stop: schedule it now, not at the next tick.
    /// fleet.update(id, |ws| ws.auto_stop_at = Some("2026-01-05T18:00:00Z".parse().unwrap()));
    /// assert_eq!(engine.reconcile_workspace(id).await.unwrap().created, 1);
    /// # });
    /// ```
    pub async fn reconcile_workspace(&self, id: WorkspaceId) -> Result<ReconcileReport, Error> {
        let ws = call_adapter(self, || self.inner.workspaces.get(id), "get")
            .await?
            .map(Workspace::at_store_precision);
        let open = self
            .inner
            .store
            .job_list_open(WorkspaceRange::One(id))
            .await?;
        let mut report = ReconcileReport {
            workspaces: usize::from(ws.is_some()),
            ..ReconcileReport::default()
        };
        self.note_reminders(&open);
        let mut planned = Planned::default();
        planned.add(plan(ws.as_ref(), &open), &open);
        self.apply(planned, &mut report).await?;
        Ok(report)
    }

    /// A start job's `run_at` with the configured lead; `None` (the deadline) otherwise.
    fn lead_run_at(&self, operation: Operation, deadline: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let lead = self.inner.config.lead(operation);
        (!lead.is_zero()).then(|| crate::clock::sub(deadline, lead).max(EARLIEST_DEADLINE))
    }

    async fn apply(&self, planned: Planned, report: &mut ReconcileReport) -> Result<(), Error> {
        let Planned { changes, jobs } = planned;
        let now = self.inner.clock.now();
        let config = &self.inner.config;
        let stale = |operation, deadline| {
            config
                .schedule_horizon(operation, now)
                .is_some_and(|horizon| deadline < horizon)
        };
        let mut inserts = Vec::new();
        let mut moves = Vec::new();
        let mut cancels: Vec<(JobId, String)> = Vec::new();
        let (mut stale_n, mut refused_n, mut created_n, mut moved_n, mut cancelled_n) =
            (0, 0, 0, 0, 0);
        for change in changes {
            match change {
                Change::Create {
                    workspace_id,
                    operation,
                    deadline,
                    ..
                } if stale(operation, deadline) => {
                    tracing::debug!(%workspace_id, %operation, %deadline,
                        "not scheduled: older than the retention period");
                    stale_n += 1;
                }
                Change::Create {
                    workspace_id,
                    operation,
                    deadline,
                    reason,
                } => inserts.push(NewJob {
                    workspace_id,
                    operation,
                    deadline,
                    run_at: self.lead_run_at(operation, deadline),
                    log: self.line(LogLine::info(reason)),
                }),
                Change::Reschedule {
                    job,
                    operation,
                    deadline,
                    ..
                } if stale(operation, deadline) => {
                    stale_n += 1;
                    cancels.push((
                        job,
                        format!(
                            "cancelled: the workspace's new auto-{operation} time {} is older than the retention period",
                            deadline.to_rfc3339()
                        ),
                    ));
                }
                Change::Reschedule {
                    job,
                    operation,
                    deadline,
                    reason,
                } => moves.push(JobReschedule {
                    id: job,
                    deadline,
                    run_at: self.lead_run_at(operation, deadline),
                    log: self.line(LogLine::info(reason)),
                }),
                Change::Cancel { job, reason } => cancels.push((job, reason)),
                Change::Refuse {
                    workspace_id,
                    operation,
                    reason,
                } => {
                    tracing::warn!(%workspace_id, %operation, %reason, "workspace time refused");
                    refused_n += 1;
                }
            }
        }
        let store = &self.inner.store;
        let mut woke = false;
        if !inserts.is_empty() {
            let created = store
                .job_insert(JobInsertParams { jobs: inserts, now })
                .await?;
            for job in &created {
                tracing::debug!(job_id = %job.id, workspace_id = %job.workspace_id,
                    operation = %job.operation, deadline = %job.deadline, "job created");
                self.emit_job(job, || EventKind::Scheduled);
            }
            self.note_reminders(&created);
            created_n = created.len();
            woke |= !created.is_empty();
        }
        if !moves.is_empty() {
            let targets: BTreeMap<JobId, (DateTime<Utc>, Option<DateTime<Utc>>)> = moves
                .iter()
                .map(|m| (m.id, (m.deadline, m.run_at)))
                .collect();
            let results = store
                .job_reschedule(JobRescheduleParams { jobs: moves, now })
                .await?;
            let mut moved = Vec::new();
            for (id, outcome) in results {
                let target = targets.get(&id).copied();
                match outcome {
                    Rescheduled::Moved => {
                        tracing::debug!(job_id = %id, deadline = ?target.map(|t| t.0), "job rescheduled");
                        moved_n += 1;
                        woke = true;
                        if let (Some(job), Some((deadline, run_at))) = (jobs.get(&id), target) {
                            let job = Job {
                                deadline,
                                run_at: run_at.unwrap_or(deadline),
                                ..job.clone()
                            };
                            let from = jobs.get(&id).map_or(deadline, |j| j.deadline);
                            self.emit_job(&job, || EventKind::Rescheduled { from });
                            moved.push(job);
                        }
                    }
                    Rescheduled::OccurrenceTaken => cancels.push((
                        id,
                        format!(
                            "cancelled: the workspace's new time {} was already acted on by another job",
                            target.map(|t| t.0.to_rfc3339()).unwrap_or_default()
                        ),
                    )),
                    Rescheduled::NotPending => {}
                }
            }
            self.note_reminders(&moved);
        }
        if !cancels.is_empty() {
            let params = JobCancelParams {
                jobs: cancels
                    .iter()
                    .map(|(id, reason)| JobCancel {
                        id: *id,
                        attempt: None,
                        log: self.line(LogLine::info(reason.clone())),
                    })
                    .collect(),
                now,
            };
            let cancelled = store.job_cancel(params).await?;
            let reasons: BTreeMap<JobId, String> = cancels.into_iter().collect();
            for id in &cancelled {
                let reason = reasons.get(id).map_or("", String::as_str);
                tracing::debug!(job_id = %id, reason, "job cancelled");
                if let Some(job) = jobs.get(id) {
                    self.emit_job(job, || EventKind::Cancelled {
                        reason: reason.to_owned(),
                    });
                }
            }
            cancelled_n = cancelled.len();
        }
        report.created += created_n;
        report.rescheduled += moved_n;
        report.cancelled += cancelled_n;
        report.refused += refused_n;
        report.stale += stale_n;
        for (change, n) in [
            ("created", created_n),
            ("rescheduled", moved_n),
            ("cancelled", cancelled_n),
            ("refused", refused_n),
            ("stale", stale_n),
        ] {
            record::scheduler_change(change, n);
        }
        if woke {
            self.inner.wake.notify_one();
        }
        Ok(())
    }

    /// Repeats [`reconcile_all`](Self::reconcile_all) every `Config::tick_interval`
    /// until `shutdown`.
    pub(super) async fn scheduler_loop(&self, shutdown: &CancellationToken) -> ReconcileReport {
        let mut total = ReconcileReport::default();
        loop {
            let started = self.inner.clock.now();
            tokio::select! {
                biased;
                // A pass dropped midway leaves the table consistent: every store write
                // is atomic on its own.
                _ = shutdown.cancelled() => break,
                result = self.reconcile_all() => match result {
                    Ok(report) => total.add(&report),
                    Err(error) => tracing::warn!(%error, "reconcile pass failed; retrying next tick"),
                },
            }
            let next = add(started, self.inner.config.tick_interval);
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                _ = self.inner.clock.sleep_until(next) => {}
            }
        }
        total
    }
}

fn check_order(after: Option<WorkspaceId>, page: &[Workspace]) -> Result<(), WorkspaceError> {
    let mut previous = after;
    for ws in page {
        if let Some(prev) = previous {
            if ws.id <= prev {
                return Err(WorkspaceError::UnorderedPage {
                    after: prev,
                    got: ws.id,
                });
            }
        }
        previous = Some(ws.id);
    }
    Ok(())
}
