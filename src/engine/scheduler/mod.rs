//! The scheduler: keeps exactly the right pending jobs in the store.
//!
//! [`plan`] is the reconcile rule, a pure function of one workspace's snapshot, its
//! open jobs, the time and the configuration (`rule`). The pass around it (here) pages
//! through the workspaces, reads the open jobs of each page's id range in one store
//! round trip, and applies the plan in at most three batched writes per page: insert,
//! reschedule, cancel (`apply`).

mod apply;
mod rule;

use std::collections::BTreeMap;

use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::LifecycleEngine;
use crate::clock::{add, Clock};
use crate::error::{Error, WorkspaceError};
use crate::ids::WorkspaceId;
use crate::job::Job;
use crate::store::{JobStore, WorkspaceRange};
use crate::telemetry::record;
use crate::workspace::{Workspace, Workspaces};

pub use rule::{plan, Change};

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
            let page = self.adapter().list(after, limit).await?;
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
            let mut inputs: Vec<(Option<Workspace>, Vec<Job>)> = page
                .into_iter()
                .map(|ws| {
                    let jobs = by_workspace.remove(&ws.id).unwrap_or_default();
                    (Some(ws), jobs)
                })
                .collect();
            // Jobs in this id range whose workspace the page did not list: confirm
            // each is really gone before rule 6 cancels its jobs, so a listing that
            // raced a creation cannot cancel a live workspace's job.
            for (id, jobs) in by_workspace {
                inputs.push((self.adapter().get(id).await?, jobs));
            }
            let now = self.inner.clock.now();
            let changes = inputs
                .iter()
                .flat_map(|(ws, jobs)| plan(ws.as_ref(), jobs, now, &self.inner.config))
                .collect();
            self.apply(changes, now, &mut report).await?;
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
        let ws = self.adapter().get(id).await?;
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
        let now = self.inner.clock.now();
        let changes = plan(ws.as_ref(), &open, now, &self.inner.config);
        self.apply(changes, now, &mut report).await?;
        Ok(report)
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
