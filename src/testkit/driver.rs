//! Driving a test's tasks and its [`FakeClock`] together: [`runtime`] builds a runtime
//! that says when it has nothing left to run, [`idle`] waits for that, and [`Driver`]
//! moves the clock from sleeper to sleeper, letting the woken tasks run in between,
//! and (with [`Driver::track_io`]) waits out a store's real I/O as well.

use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use tokio::runtime::{Builder, Handle, Id, Runtime};
use tokio::sync::Notify;

use super::tracked::{Activity, Tracked};
use crate::clock::{add, FakeClock};

/// The wall time between the two quiet observations that end a step of a [`Driver`]
/// tracking a store's I/O (see [`Driver`]).
pub const NOTIFY_GRACE: Duration = Duration::from_millis(1);

/// Each runtime built by [`runtime`], with the signal its park hook sends. The hook
/// holds the only strong reference, so an entry dies with its runtime.
static RUNTIMES: Mutex<Vec<(Id, Weak<Notify>)>> = Mutex::new(Vec::new());

/// A current-thread runtime (timers and I/O enabled) on which [`idle`], and so every
/// [`Driver`], can tell when no task is left to run. Run a driven test on it:
///
/// ```
/// use workspace_lifecycle::testkit;
///
/// testkit::runtime().unwrap().block_on(async {
///     let task = tokio::spawn(async { 42 });
///     testkit::idle().await; // the task has run
///     assert!(task.is_finished());
/// });
/// ```
///
/// # Errors
///
/// When tokio cannot build the runtime (its I/O driver cannot be created).
pub fn runtime() -> std::io::Result<Runtime> {
    let signal = Arc::new(Notify::new());
    let weak = Arc::downgrade(&signal);
    let runtime = Builder::new_current_thread()
        .enable_all()
        // Tokio calls this when its run queue is empty, before it parks; a waiter woken
        // here is polled before the thread blocks (tokio polls the driver without
        // blocking when the hook scheduled work).
        .on_thread_park(move || signal.notify_waiters())
        .build()?;
    let mut runtimes = RUNTIMES.lock();
    runtimes.retain(|(_, signal)| signal.strong_count() > 0);
    runtimes.push((runtime.handle().id(), weak));
    Ok(runtime)
}

/// Returns once the runtime has no task left to run: every task, this one included,
/// is blocked (on a [`FakeClock`], a channel, another task, or I/O).
///
/// ```
/// use workspace_lifecycle::testkit;
///
/// testkit::runtime().unwrap().block_on(async {
///     let (tx, rx) = tokio::sync::oneshot::channel();
///     // A chain of wake-ups: the first task wakes the second through the channel.
///     let second = tokio::spawn(async move { rx.await.unwrap() + 1 });
///     tokio::spawn(async move { tx.send(41).unwrap() });
///     testkit::idle().await;
///     assert!(second.is_finished());
///     assert_eq!(second.await.unwrap(), 42);
/// });
/// ```
///
/// # Panics
///
/// When not called on a runtime from [`runtime`]: any other runtime never says it is
/// idle, so the wait would never end.
pub async fn idle() {
    let signal = Handle::try_current().ok().and_then(|handle| {
        let id = handle.id();
        RUNTIMES
            .lock()
            .iter()
            .find(|(runtime, _)| *runtime == id)
            .and_then(|(_, signal)| signal.upgrade())
    });
    let Some(signal) = signal else {
        panic!(
            "testkit::idle and the Driver run on a runtime from testkit::runtime() \
             (no other runtime says when it is idle)"
        );
    };
    let mut parked = std::pin::pin!(signal.notified());
    // Registered before this task yields, so the park that follows cannot be missed.
    parked.as_mut().enable();
    parked.await;
}

/// Moves a [`FakeClock`] the way real time passes, letting the tasks woken at each
/// instant run before going on; with [`track_io`](Driver::track_io), also waits out a
/// store's I/O. Runs on a runtime from [`runtime`].
///
/// ```
/// use std::time::Duration;
/// use workspace_lifecycle::testkit::{self, Driver, FakeWorkspaces};
/// use workspace_lifecycle::{
///     CancellationToken, Config, FakeClock, InMemoryStore, LifecycleEngine, Workspace,
///     WorkspaceId, WorkspaceState,
/// };
///
/// testkit::runtime().unwrap().block_on(async {
///     let t0 = "2026-01-05T08:00:00Z".parse().unwrap();
///     let clock = FakeClock::new(t0);
///     let fleet = FakeWorkspaces::new(clock.clone());
///     let id = WorkspaceId(workspace_lifecycle::uuid::Uuid::from_u128(1));
///     let stop = t0 + workspace_lifecycle::chrono::TimeDelta::minutes(30);
///     fleet.insert(Workspace {
///         auto_stop_at: Some(stop),
///         ..Workspace::new(id, WorkspaceState::Running)
///     });
///     let engine =
///         LifecycleEngine::new(InMemoryStore::new(), clock.clone(), fleet.clone(), Config::default())
///             .unwrap();
///     let shutdown = CancellationToken::new();
///     let run = tokio::spawn({
///         let (engine, shutdown) = (engine.clone(), shutdown.clone());
///         async move { engine.run(shutdown).await }
///     });
///
///     let driver = Driver::new(clock.clone());
///     driver.advance(Duration::from_secs(3600)).await;
///     assert_eq!(fleet.get_snapshot(id).unwrap().state, WorkspaceState::Stopped);
///     assert_eq!(fleet.calls()[0].at, stop, "stopped at its deadline, not at the hour");
///     assert!(fleet.violations().is_empty());
///
///     shutdown.cancel();
///     assert_eq!(run.await.unwrap().execute.stopped, 1);
/// });
/// ```
///
/// # When a step is over
///
/// After the clock moves, the woken tasks run, wake others (a claim wakes the
/// executor's workers, a finished action its completion batch, ...), and the step is
/// over when every task is blocked again: on the fake clock, or on each other. Tokio
/// knows that moment exactly: it is when its scheduler finds no task to run and
/// parks. [`runtime`] installs a park hook that wakes [`idle`]'s waiters then, so a
/// step ends on that fact, however long its chain of wake-ups, instead of after a
/// guessed number of yields.
///
/// A store with real I/O (Postgres) parks the runtime while a query is on the wire,
/// which is not the end of a step. [`Tracked`] counts the store's calls in flight, and
/// a [`Driver`] that tracks it waits until the runtime is idle with no call in flight,
/// twice in a row, [`NOTIFY_GRACE`] of wall time apart with no call made in between:
/// Postgres delivers a NOTIFY to the engine's listener a moment after the commit it
/// follows, and the grace lets the engine act on it within the step.
#[derive(Clone, Debug)]
pub struct Driver {
    clock: FakeClock,
    io: Vec<Arc<Activity>>,
}

impl Driver {
    /// A driver of `clock`, for tasks with no I/O of their own (an in-memory store).
    ///
    /// ```
    /// use workspace_lifecycle::testkit::Driver;
    /// use workspace_lifecycle::FakeClock;
    ///
    /// let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
    /// let driver = Driver::new(clock.clone());
    /// assert_eq!(driver.clock().now(), clock.now());
    /// ```
    pub fn new(clock: FakeClock) -> Self {
        Driver {
            clock,
            io: Vec::new(),
        }
    }

    /// The same driver, also waiting at each step until `store` (and every store
    /// [wrapped](Tracked::wrap) into its counters) has no call in flight.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use workspace_lifecycle::testkit::{self, Driver, Tracked};
    /// use workspace_lifecycle::{FakeClock, InMemoryStore, JobRescueParams, JobStore};
    ///
    /// testkit::runtime().unwrap().block_on(async {
    ///     let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
    ///     // A `PgStore` in real use (a clone shares its pool).
    ///     let store = Tracked::new(Arc::new(InMemoryStore::new()));
    ///     let driver = Driver::new(clock.clone()).track_io(&store);
    ///     let call = tokio::spawn({
    ///         let store = store.clone();
    ///         async move { store.job_rescue(JobRescueParams { now: clock.now() }).await }
    ///     });
    ///     driver.settle().await;
    ///     assert!(call.is_finished());
    ///     assert_eq!((store.calls(), store.in_flight()), (1, 0));
    /// });
    /// ```
    pub fn track_io<S>(mut self, store: &Tracked<S>) -> Self {
        let activity = store.activity();
        if !self.io.iter().any(|known| Arc::ptr_eq(known, &activity)) {
            self.io.push(activity);
        }
        self
    }

    /// The clock this driver moves.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::Driver;
    /// use workspace_lifecycle::FakeClock;
    ///
    /// let at = "2026-01-05T08:00:00Z".parse().unwrap();
    /// assert_eq!(Driver::new(FakeClock::new(at)).clock().now(), at);
    /// ```
    pub fn clock(&self) -> &FakeClock {
        &self.clock
    }

    /// Lets every task that can run, run, until all are blocked again (see
    /// [`Driver`] for the exact criterion, with and without tracked I/O).
    ///
    /// ```
    /// use workspace_lifecycle::testkit::{self, Driver};
    /// use workspace_lifecycle::{Clock, FakeClock};
    ///
    /// testkit::runtime().unwrap().block_on(async {
    ///     let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
    ///     let driver = Driver::new(clock.clone());
    ///     let deadline = clock.now() + chrono::TimeDelta::minutes(5);
    ///     tokio::spawn({
    ///         let clock = clock.clone();
    ///         async move { clock.sleep_until(deadline).await }
    ///     });
    ///     driver.settle().await; // the task has gone to sleep on the clock
    ///     assert_eq!(clock.next_deadline(), Some(deadline));
    /// });
    /// ```
    ///
    /// # Panics
    ///
    /// When not called on a runtime from [`runtime`] (see [`idle`]).
    pub async fn settle(&self) {
        if self.io.is_empty() {
            idle().await;
            return;
        }
        let mut quiet_at = None;
        loop {
            idle().await;
            if self.io.iter().any(|io| io.in_flight() > 0) {
                for io in &self.io {
                    io.quiet().await;
                }
                quiet_at = None;
                continue;
            }
            let calls: usize = self.io.iter().map(|io| io.calls()).sum();
            if quiet_at == Some(calls) {
                return;
            }
            quiet_at = Some(calls);
            tokio::time::sleep(NOTIFY_GRACE).await;
        }
    }

    /// Moves the clock to `target` the way real time passes: to every sleeper's
    /// deadline on the way in turn, [settling](Driver::settle) after each, so what a
    /// woken task schedules for before `target` also happens on time. Never moves the
    /// clock backwards.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::{self, Driver};
    /// use workspace_lifecycle::{Clock, FakeClock};
    ///
    /// testkit::runtime().unwrap().block_on(async {
    ///     let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
    ///     let minute = chrono::TimeDelta::minutes(1);
    ///     let start = clock.now();
    ///     // A task that wakes every minute and notes the time.
    ///     let ticks = tokio::spawn({
    ///         let clock = clock.clone();
    ///         async move {
    ///             let mut seen = Vec::new();
    ///             for _ in 0..3 {
    ///                 clock.sleep_until(clock.now() + minute).await;
    ///                 seen.push(clock.now());
    ///             }
    ///             seen
    ///         }
    ///     });
    ///     Driver::new(clock.clone()).advance_to(start + minute * 10).await;
    ///     assert_eq!(ticks.await.unwrap(), [start + minute, start + minute * 2, start + minute * 3]);
    ///     assert_eq!(clock.now(), start + minute * 10);
    /// });
    /// ```
    ///
    /// # Panics
    ///
    /// When not called on a runtime from [`runtime`] (see [`idle`]).
    pub async fn advance_to(&self, target: DateTime<Utc>) {
        self.settle().await;
        while let Some(next) = self.clock.next_deadline() {
            if next > target {
                break;
            }
            self.clock.set(next.max(self.clock.now()));
            self.settle().await;
        }
        if self.clock.now() < target {
            self.clock.set(target);
        }
        self.settle().await;
    }

    /// [`advance_to`](Driver::advance_to) the clock's time plus `by` (saturating at
    /// chrono's largest instant).
    ///
    /// ```
    /// use std::time::Duration;
    /// use workspace_lifecycle::testkit::{self, Driver};
    /// use workspace_lifecycle::FakeClock;
    ///
    /// testkit::runtime().unwrap().block_on(async {
    ///     let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
    ///     let start = clock.now();
    ///     Driver::new(clock.clone()).advance(Duration::from_secs(90)).await;
    ///     assert_eq!(clock.now(), start + chrono::TimeDelta::seconds(90));
    /// });
    /// ```
    ///
    /// # Panics
    ///
    /// When not called on a runtime from [`runtime`] (see [`idle`]).
    pub async fn advance(&self, by: Duration) {
        self.advance_to(add(self.clock.now(), by)).await;
    }
}
