//! Lifecycle events for subscribers: [`LifecycleEngine::subscribe`].
//!
//! A service subscribes to tell its users what happens to their workspaces: a start
//! was scheduled, a stop is coming in ten minutes, a start failed. Events go through a
//! bounded broadcast channel of `Config::event_buffer` per subscriber: sending never
//! waits, and a subscriber that falls behind misses the oldest events (counted by
//! [`Events::missed`]) instead of slowing the engine. With no subscriber, no event is
//! even built.
//!
//! Events are notifications, not the record: the job table is. Each engine sends the
//! events of what it did itself (a job claimed by another replica is reported there),
//! so a service that runs several replicas subscribes on each, or reads the table.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;
use tokio_util::sync::ReusableBoxFuture;

use super::LifecycleEngine;
use crate::clock::Clock;
use crate::ids::{JobId, WorkspaceId};
use crate::job::{Job, Operation};
use crate::store::JobStore;
use crate::workspace::Workspaces;

/// Something that happened to one job, as one engine saw it.
///
/// ```
/// use workspace_lifecycle::{Clock, Operation};
/// # use workspace_lifecycle::testkit::FakeWorkspaces;
/// # use workspace_lifecycle::*;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
/// # let fleet = FakeWorkspaces::new(clock.clone());
/// # let id = WorkspaceId(uuid::Uuid::from_u128(1));
/// # fleet.insert(Workspace {
/// #     auto_stop_at: Some("2026-01-05T18:00:00Z".parse().unwrap()),
/// #     ..Workspace::new(id, WorkspaceState::Running)
/// # });
/// # let engine = LifecycleEngine::new(InMemoryStore::new(), clock.clone(), fleet,
/// #     Config::default()).unwrap();
/// let mut events = engine.subscribe();
/// engine.reconcile_all().await.unwrap();
/// let event = events.recv().await.unwrap();
/// assert_eq!((event.workspace_id, event.operation), (id, Operation::Stop));
/// assert_eq!(event.deadline.to_rfc3339(), "2026-01-05T18:00:00+00:00");
/// assert_eq!(event.at, clock.now()); // when it was scheduled, not when it is due
/// # });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// When, on the engine's clock.
    pub at: DateTime<Utc>,
    /// The job.
    pub job_id: JobId,
    /// Its workspace.
    pub workspace_id: WorkspaceId,
    /// Start or stop.
    pub operation: Operation,
    /// The occurrence's time (after a reschedule, the new one).
    pub deadline: DateTime<Utc>,
    /// What happened.
    pub kind: EventKind,
}

/// What happened to a job.
///
/// ```
/// use std::time::Duration;
/// use workspace_lifecycle::EventKind;
/// # use workspace_lifecycle::testkit::FakeWorkspaces;
/// # use workspace_lifecycle::*;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
/// # let fleet = FakeWorkspaces::new(clock.clone());
/// # fleet.insert(Workspace {
/// #     auto_stop_at: Some("2026-01-05T18:00:00Z".parse().unwrap()),
/// #     ..Workspace::new(WorkspaceId(uuid::Uuid::from_u128(1)), WorkspaceState::Running)
/// # });
/// # let engine = LifecycleEngine::new(InMemoryStore::new(), clock.clone(), fleet,
/// #     Config::default()).unwrap();
/// let mut events = engine.subscribe();
/// engine.reconcile_all().await.unwrap();
/// clock.advance(Duration::from_secs(10 * 3600));
/// engine.execute_due().await.unwrap();
///
/// assert_eq!(events.recv().await.unwrap().kind, EventKind::Scheduled);
/// assert_eq!(events.recv().await.unwrap().kind, EventKind::Started { attempt: 1 });
/// let done = events.recv().await.unwrap().kind;
/// assert!(matches!(done, EventKind::Completed { acted: true, .. }));
/// # });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// The scheduler created the job: the workspace will be started (stopped) at the
    /// deadline.
    Scheduled,
    /// The scheduler moved the pending job to a new deadline.
    Rescheduled {
        /// The deadline before the move.
        from: DateTime<Utc>,
    },
    /// The job was cancelled: the workspace's data no longer calls for it.
    Cancelled {
        /// Why, as written to the job's log.
        reason: String,
    },
    /// The executor is calling start (stop) now.
    Started {
        /// The attempt (1 for the first).
        attempt: u32,
    },
    /// The job completed: the workspace was started (stopped), or was already there,
    /// or the occurrence was past the catch-up window.
    Completed {
        /// Whether the adapter was called (false: nothing needed doing).
        acted: bool,
        /// What happened, as written to the job's log.
        message: String,
    },
    /// An attempt failed.
    Failed {
        /// The attempt that failed.
        attempt: u32,
        /// The error.
        error: String,
        /// When the job will be tried again; `None` when it failed for good.
        retry_at: Option<DateTime<Utc>>,
    },
    /// The workspace will be stopped in `remaining` (`Config::stop_reminder` before
    /// its auto-stop deadline). Sent once per occurrence by each engine.
    StopSoon {
        /// Time left until the deadline.
        remaining: Duration,
    },
}

/// A subscription to an engine's [`Event`]s: [`LifecycleEngine::subscribe`].
///
/// Read it with [`recv`](Events::recv), or as a `futures_core::Stream`.
///
/// ```
/// use workspace_lifecycle::EventKind;
/// # use workspace_lifecycle::testkit::FakeWorkspaces;
/// # use workspace_lifecycle::*;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
/// # let fleet = FakeWorkspaces::new(clock.clone());
/// # fleet.insert(Workspace {
/// #     auto_stop_at: Some("2026-01-05T18:00:00Z".parse().unwrap()),
/// #     ..Workspace::new(WorkspaceId(uuid::Uuid::from_u128(1)), WorkspaceState::Running)
/// # });
/// # let engine = LifecycleEngine::new(InMemoryStore::new(), clock.clone(), fleet,
/// #     Config::default()).unwrap();
/// let mut events = engine.subscribe();
/// // A notifier task that tells users what happens, until the engine is gone.
/// let notifier = tokio::spawn(async move {
///     let mut told = Vec::new();
///     while let Some(event) = events.recv().await {
///         told.push(event.kind);
///     }
///     told
/// });
/// engine.reconcile_all().await.unwrap();
/// drop(engine);
/// assert_eq!(notifier.await.unwrap(), [EventKind::Scheduled]);
/// # });
/// ```
pub struct Events {
    /// Waits for the next message; reused so polling as a stream does not allocate
    /// per event.
    next: ReusableBoxFuture<'static, (RecvResult, broadcast::Receiver<Event>)>,
    missed: u64,
}

type RecvResult = Result<Event, broadcast::error::RecvError>;

async fn receive(mut rx: broadcast::Receiver<Event>) -> (RecvResult, broadcast::Receiver<Event>) {
    let result = rx.recv().await;
    (result, rx)
}

impl Events {
    fn new(rx: broadcast::Receiver<Event>) -> Self {
        Events {
            next: ReusableBoxFuture::new(receive(rx)),
            missed: 0,
        }
    }

    /// The next event; `None` once the engine is dropped. Events this subscriber fell
    /// too far behind to see are skipped and counted in [`missed`](Events::missed).
    ///
    /// ```
    /// use workspace_lifecycle::EventKind;
    /// # use workspace_lifecycle::testkit::FakeWorkspaces;
    /// # use workspace_lifecycle::*;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
    /// # let fleet = FakeWorkspaces::new(clock.clone());
    /// # fleet.insert(Workspace {
    /// #     auto_stop_at: Some("2026-01-05T18:00:00Z".parse().unwrap()),
    /// #     ..Workspace::new(WorkspaceId(uuid::Uuid::from_u128(1)), WorkspaceState::Running)
    /// # });
    /// # let engine = LifecycleEngine::new(InMemoryStore::new(), clock.clone(), fleet,
    /// #     Config::default()).unwrap();
    /// let mut events = engine.subscribe();
    /// engine.reconcile_all().await.unwrap();
    /// drop(engine);
    /// // Events sent before the engine went are still delivered, then `None`.
    /// assert_eq!(events.recv().await.unwrap().kind, EventKind::Scheduled);
    /// assert_eq!(events.recv().await, None);
    /// # });
    /// ```
    pub async fn recv(&mut self) -> Option<Event> {
        std::future::poll_fn(|cx| self.poll_next_event(cx)).await
    }

    /// How many events this subscriber missed by falling more than
    /// `Config::event_buffer` behind.
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
    /// for n in 1..=2 {
    ///     fleet.insert(Workspace {
    ///         auto_stop_at: Some("2026-01-05T18:00:00Z".parse().unwrap()),
    ///         ..Workspace::new(WorkspaceId(uuid::Uuid::from_u128(n)), WorkspaceState::Running)
    ///     });
    /// }
    /// let config = Config { event_buffer: 1, ..Config::default() };
    /// let engine = LifecycleEngine::new(InMemoryStore::new(), clock, fleet, config).unwrap();
    /// let mut events = engine.subscribe();
    /// engine.reconcile_all().await.unwrap(); // two events into a buffer of one
    ///
    /// let newest = events.recv().await.unwrap();
    /// assert_eq!(newest.workspace_id, WorkspaceId(uuid::Uuid::from_u128(2)));
    /// assert_eq!(events.missed(), 1);
    /// # });
    /// ```
    pub fn missed(&self) -> u64 {
        self.missed
    }

    fn poll_next_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        loop {
            let (result, rx) = match self.next.poll(cx) {
                Poll::Ready(ready) => ready,
                Poll::Pending => return Poll::Pending,
            };
            self.next.set(receive(rx));
            match result {
                Ok(event) => return Poll::Ready(Some(event)),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    self.missed = self.missed.saturating_add(n);
                }
                Err(broadcast::error::RecvError::Closed) => return Poll::Ready(None),
            }
        }
    }
}

impl futures_core::Stream for Events {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.get_mut().poll_next_event(cx)
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("missed", &self.missed)
            .finish_non_exhaustive()
    }
}

impl<S: JobStore, C: Clock, W: Workspaces> LifecycleEngine<S, C, W> {
    /// Subscribes to this engine's lifecycle events, from now on.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{
    ///     Config, EventKind, FakeClock, InMemoryStore, LifecycleEngine, Workspace,
    ///     WorkspaceId, WorkspaceState,
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
    /// let engine = LifecycleEngine::new(InMemoryStore::new(), clock.clone(), fleet,
    ///     Config::default()).unwrap();
    /// let mut events = engine.subscribe();
    ///
    /// engine.reconcile_all().await.unwrap();
    /// let event = events.recv().await.unwrap();
    /// assert_eq!((event.workspace_id, event.kind), (id, EventKind::Scheduled));
    /// # });
    /// ```
    pub fn subscribe(&self) -> Events {
        Events::new(self.inner.events.subscribe())
    }

    /// Sends the event `make` builds, if anyone listens.
    pub(super) fn emit(&self, make: impl FnOnce() -> Event) {
        let events = &self.inner.events;
        if events.receiver_count() > 0 {
            // An error means the last subscriber left meanwhile: nobody to tell.
            let _ = events.send(make());
        }
    }

    /// Sends `kind` about `job`, at the clock's now.
    pub(super) fn emit_job(&self, job: &Job, kind: impl FnOnce() -> EventKind) {
        self.emit(|| Event {
            at: self.inner.clock.now(),
            job_id: job.id,
            workspace_id: job.workspace_id,
            operation: job.operation,
            deadline: job.deadline,
            kind: kind(),
        });
    }
}

/// The broadcast channel behind [`LifecycleEngine::subscribe`].
pub(super) fn channel(buffer: usize) -> broadcast::Sender<Event> {
    broadcast::channel(buffer).0
}
