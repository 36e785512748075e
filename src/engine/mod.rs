//! [`LifecycleEngine`]: the scheduler and the executor over one store, one clock and
//! one set of workspaces.
//!
//! - [`LifecycleEngine::run`] runs both loops until a cancellation token fires.
//! - [`LifecycleEngine::reconcile_all`], [`LifecycleEngine::reconcile_workspace`] and
//!   [`LifecycleEngine::execute_due`] are the deterministic steps those loops repeat;
//!   tests call them directly and assert on the reports they return.
//!
//! The rules themselves are pure functions: [`scheduler::plan`] (the reconcile rule)
//! and [`executor::verdict`] (what a claimed job should do). Every call to the user's
//! [`Workspaces`] goes through one private boundary (`adapter`): a time limit on the
//! engine's clock, panics caught, times rounded to the store's precision.

mod adapter;
mod completions;
mod events;
pub mod executor;
mod reminders;
mod retention;
pub mod scheduler;

use std::sync::Arc;

use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::Config;
use crate::error::ConfigError;
use crate::ids::ExecutorId;
use crate::job::LogLine;
use crate::store::JobStore;
use crate::workspace::Workspaces;

pub use events::{Event, EventKind, Events};
pub use executor::ExecuteReport;
pub use scheduler::ReconcileReport;

/// Starts and stops workspaces at their scheduled times.
///
/// Generic over the job table (`S`), the clock (`C`) and the user's workspaces (`W`).
/// Cloning is cheap and shares one engine. Any number of engines, in one process or
/// many, may share one store: the store's claim and uniqueness rules keep them from
/// doing anything twice.
///
/// ```
/// use std::time::Duration;
/// use workspace_lifecycle::testkit::FakeWorkspaces;
/// use workspace_lifecycle::{
///     Config, FakeClock, InMemoryStore, LifecycleEngine, Workspace, WorkspaceId,
///     WorkspaceState,
/// };
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
/// let fleet = FakeWorkspaces::new(clock.clone());
/// let id = WorkspaceId(uuid::Uuid::from_u128(1));
/// fleet.insert(Workspace {
///     auto_stop_at: Some("2026-01-05T18:00:00Z".parse().unwrap()),
///     ..Workspace::new(id, WorkspaceState::Running)
/// });
/// let engine = LifecycleEngine::new(InMemoryStore::new(), clock.clone(), fleet.clone(),
///     Config::default()).unwrap();
///
/// assert_eq!(engine.reconcile_all().await.unwrap().created, 1);
/// assert_eq!(engine.execute_due().await.unwrap().claimed, 0); // not due yet
/// clock.advance(Duration::from_secs(10 * 3600));
/// assert_eq!(engine.execute_due().await.unwrap().stopped, 1);
/// assert_eq!(fleet.get_snapshot(id).unwrap().state, WorkspaceState::Stopped);
/// # });
/// ```
pub struct LifecycleEngine<S: JobStore, C: Clock, W: Workspaces> {
    inner: Arc<Inner<S, C, W>>,
}

struct Inner<S, C, W> {
    store: S,
    clock: C,
    workspaces: W,
    config: Config,
    executor_id: ExecutorId,
    /// One permit per concurrent action, shared by `run` and `execute_due`.
    permits: Arc<Semaphore>,
    /// Wakes this engine's executor when its scheduler created or moved a job, for
    /// stores that cannot signal changes themselves.
    wake: Notify,
    /// Wakes this engine's executor when an action ended and freed its permit.
    freed: Notify,
    /// Completions waiting to be written in a batch.
    completions: completions::Completions,
    /// Where [`LifecycleEngine::subscribe`]rs listen.
    events: tokio::sync::broadcast::Sender<events::Event>,
    /// Auto-stop reminders yet to send.
    reminders: reminders::Reminders,
}

impl<S: JobStore, C: Clock, W: Workspaces> Clone for LifecycleEngine<S, C, W> {
    fn clone(&self) -> Self {
        LifecycleEngine {
            inner: self.inner.clone(),
        }
    }
}

// By hand: the store, clock and adapter need not be `Debug`, and the identity and
// settings are what a log line about an engine needs.
impl<S: JobStore, C: Clock, W: Workspaces> std::fmt::Debug for LifecycleEngine<S, C, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LifecycleEngine")
            .field("executor_id", &self.inner.executor_id)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl<S: JobStore, C: Clock, W: Workspaces> LifecycleEngine<S, C, W> {
    /// An engine over `store`, `clock` and `workspaces`, with a fresh executor id.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if `config` does not pass [`Config::validate`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{Config, ConfigError, FakeClock, InMemoryStore, LifecycleEngine};
    ///
    /// let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
    /// let fleet = FakeWorkspaces::new(clock.clone());
    /// let config = Config { lease: Duration::from_millis(10), ..Config::default() };
    /// let engine = LifecycleEngine::new(InMemoryStore::new(), clock, fleet, config);
    /// assert!(matches!(engine, Err(ConfigError::TooSmall { field: "lease", .. })));
    /// ```
    pub fn new(store: S, clock: C, workspaces: W, config: Config) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(LifecycleEngine {
            inner: Arc::new(Inner {
                permits: Arc::new(Semaphore::new(config.max_concurrent_actions)),
                events: events::channel(config.event_buffer),
                store,
                clock,
                workspaces,
                config,
                executor_id: ExecutorId::random(),
                wake: Notify::new(),
                freed: Notify::new(),
                completions: completions::Completions::default(),
                reminders: reminders::Reminders::default(),
            }),
        })
    }

    /// The job store.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{
    ///     Config, FakeClock, InMemoryStore, JobStoreAdmin, LifecycleEngine, Workspace,
    ///     WorkspaceId, WorkspaceState,
    /// };
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
    /// # let fleet = FakeWorkspaces::new(clock.clone());
    /// # fleet.insert(Workspace {
    /// #     auto_stop_at: Some("2026-01-05T18:00:00Z".parse().unwrap()),
    /// #     ..Workspace::new(WorkspaceId(uuid::Uuid::from_u128(1)), WorkspaceState::Running)
    /// # });
    /// let engine = LifecycleEngine::new(InMemoryStore::new(), clock, fleet, Config::default())
    ///     .unwrap();
    /// engine.reconcile_all().await.unwrap();
    /// // The job table is the record: each job's log says why it exists.
    /// let job = engine.store().jobs().pop().unwrap();
    /// let log = engine.store().job_log_list(job.id).await.unwrap();
    /// assert!(log[0].output.starts_with("scheduled"));
    /// # });
    /// ```
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// The clock.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{Clock, Config, FakeClock, InMemoryStore, LifecycleEngine};
    ///
    /// let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
    /// let fleet = FakeWorkspaces::new(clock.clone());
    /// let engine = LifecycleEngine::new(InMemoryStore::new(), clock.clone(), fleet,
    ///     Config::default()).unwrap();
    /// // Clones of a `FakeClock` share one time: moving the test's moves the engine's.
    /// clock.advance(Duration::from_secs(60));
    /// assert_eq!(engine.clock().now().to_rfc3339(), "2026-01-05T08:01:00+00:00");
    /// ```
    pub fn clock(&self) -> &C {
        &self.inner.clock
    }

    /// The workspaces.
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
    /// let engine = LifecycleEngine::new(InMemoryStore::new(), clock.clone(),
    ///     FakeWorkspaces::new(clock), Config::default()).unwrap();
    /// let id = WorkspaceId(uuid::Uuid::from_u128(1));
    /// let fleet = engine.workspaces();
    /// fleet.insert(Workspace::new(id, WorkspaceState::Stopped));
    /// assert_eq!(engine.reconcile_all().await.unwrap().workspaces, 1);
    /// # });
    /// ```
    pub fn workspaces(&self) -> &W {
        &self.inner.workspaces
    }

    /// The configuration.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{Config, FakeClock, InMemoryStore, LifecycleEngine};
    ///
    /// # let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
    /// # let fleet = FakeWorkspaces::new(clock.clone());
    /// let config = Config { page_size: 100, ..Config::default() };
    /// let engine = LifecycleEngine::new(InMemoryStore::new(), clock, fleet, config).unwrap();
    /// assert_eq!(engine.config().page_size, 100);
    /// ```
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// `line`, or nothing when `Config::job_logs` is off.
    fn line(&self, line: LogLine) -> Option<LogLine> {
        self.inner.config.job_logs.then_some(line)
    }

    /// The id this engine records on the jobs it claims.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{
    ///     Config, FakeClock, InMemoryStore, LifecycleEngine, Workspace, WorkspaceId,
    ///     WorkspaceState,
    /// };
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
    /// let fleet = FakeWorkspaces::new(clock.clone());
    /// fleet.insert(Workspace {
    ///     auto_stop_at: Some("2026-01-05T09:00:00Z".parse().unwrap()),
    ///     ..Workspace::new(WorkspaceId(uuid::Uuid::from_u128(1)), WorkspaceState::Running)
    /// });
    /// let engine = LifecycleEngine::new(InMemoryStore::new(), clock.clone(), fleet,
    ///     Config::default()).unwrap();
    /// engine.reconcile_all().await.unwrap();
    /// clock.advance(Duration::from_secs(3600));
    /// engine.execute_due().await.unwrap();
    /// // Which replica acted on a job stays on its row.
    /// assert_eq!(engine.store().jobs()[0].claimed_by, Some(engine.executor_id()));
    /// # });
    /// ```
    pub fn executor_id(&self) -> ExecutorId {
        self.inner.executor_id
    }

    /// Runs the scheduler and the executor until `shutdown` is cancelled, then stops
    /// claiming, lets in-flight actions finish for up to `Config::shutdown_grace`, and
    /// abandons the rest to lease expiry (another engine takes them over). Store and
    /// adapter errors are logged and retried; they never end the loop.
    ///
    /// Beside them it prunes finished jobs ([`prune`](Self::prune), with
    /// `Config::retention`) and sends auto-stop reminders (with
    /// `Config::stop_reminder`).
    ///
    /// Returns what the loops did in total.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tokio_util::sync::CancellationToken;
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{
    ///     Config, EventKind, FakeClock, InMemoryStore, LifecycleEngine, Workspace, WorkspaceId,
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
    /// let engine = LifecycleEngine::new(InMemoryStore::new(), clock.clone(), fleet.clone(),
    ///     Config::default()).unwrap();
    /// let mut events = engine.subscribe();
    /// let shutdown = CancellationToken::new();
    /// let running = tokio::spawn({
    ///     let (engine, shutdown) = (engine.clone(), shutdown.clone());
    ///     async move { engine.run(shutdown).await }
    /// });
    ///
    /// assert_eq!(events.recv().await.unwrap().kind, EventKind::Scheduled);
    /// clock.advance(Duration::from_secs(10 * 3600));
    /// while !matches!(events.recv().await.unwrap().kind, EventKind::Completed { .. }) {}
    /// shutdown.cancel();
    /// assert_eq!(running.await.unwrap().execute.stopped, 1);
    /// assert_eq!(fleet.get_snapshot(id).unwrap().state, WorkspaceState::Stopped);
    /// # });
    /// ```
    pub async fn run(&self, shutdown: CancellationToken) -> RunReport {
        let (reconcile, execute, (), ()) = tokio::join!(
            self.scheduler_loop(&shutdown),
            self.executor_loop(&shutdown),
            self.retention_loop(&shutdown),
            self.reminder_loop(&shutdown),
        );
        RunReport { reconcile, execute }
    }
}

/// What [`LifecycleEngine::run`] did, summed over its passes.
///
/// ```
/// # use std::time::Duration;
/// # use tokio_util::sync::CancellationToken;
/// # use workspace_lifecycle::testkit::FakeWorkspaces;
/// # use workspace_lifecycle::*;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
/// # let fleet = FakeWorkspaces::new(clock.clone());
/// # fleet.insert(Workspace {
/// #     auto_stop_at: Some("2026-01-05T18:00:00Z".parse().unwrap()),
/// #     ..Workspace::new(WorkspaceId(uuid::Uuid::from_u128(1)), WorkspaceState::Running)
/// # });
/// # let engine = LifecycleEngine::new(InMemoryStore::new(), clock.clone(), fleet,
/// #     Config::default()).unwrap();
/// # let mut events = engine.subscribe();
/// let shutdown = CancellationToken::new();
/// let running = tokio::spawn({
///     let (engine, shutdown) = (engine.clone(), shutdown.clone());
///     async move { engine.run(shutdown).await }
/// });
/// // ... one workspace's auto-stop comes due and is done ...
/// # events.recv().await.unwrap();
/// # clock.advance(Duration::from_secs(10 * 3600));
/// # while !matches!(events.recv().await.unwrap().kind, EventKind::Completed { .. }) {}
/// shutdown.cancel();
/// let report: RunReport = running.await.unwrap();
/// assert_eq!(report.reconcile.created, 1); // over every scheduler pass
/// assert_eq!(report.execute.stopped, 1);
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunReport {
    /// Scheduler passes, summed.
    pub reconcile: ReconcileReport,
    /// Executor work, summed.
    pub execute: ExecuteReport,
}
