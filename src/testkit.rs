//! [`FakeWorkspaces`]: an in-memory [`Workspaces`] with fault injection, for testing an
//! integration with the engine (enabled by the `testkit` feature).
//!
//! Workspaces can be made to fail, hang, panic or take time to start and stop, be put
//! mid-transition, and be deleted. Every start/stop call is recorded with the
//! workspace as it was when called, and [`FakeWorkspaces::violations`] checks the
//! record against the engine's promises.
//!
//! Transitions take time on the fake's [`Clock`]: with a [`FakeClock`](crate::FakeClock)
//! a slow start finishes when the test moves the clock past it, and it finishes even if
//! the caller stopped waiting, as a real platform's would.
//!
//! ```
//! use std::time::Duration;
//! use workspace_lifecycle::testkit::{Behavior, FakeWorkspaces};
//! use workspace_lifecycle::{FakeClock, Workspace, WorkspaceId, WorkspaceState, Workspaces};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
//! let fleet = FakeWorkspaces::new(clock.clone());
//! let id = WorkspaceId(uuid::Uuid::from_u128(1));
//! fleet.insert(Workspace::new(id, WorkspaceState::Stopped));
//! fleet.fail_next(id, 1);
//! assert!(fleet.start(id).await.is_err());
//! fleet.set_behavior(id, Behavior::Succeed);
//! fleet.start(id).await.unwrap();
//! assert_eq!(fleet.get_snapshot(id).unwrap().state, WorkspaceState::Running);
//! assert_eq!(fleet.calls().len(), 2);
//! # });
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use crate::clock::{add, Clock};
use crate::config::Config;
use crate::error::WorkspaceError;
use crate::job::{deadline_supported, Job, JobState, Occurrence, Operation};
use crate::workspace::{Readiness, Workspace, WorkspaceId, WorkspaceState, Workspaces};

/// How a workspace answers start and stop.
///
/// ```
/// use std::time::Duration;
/// use workspace_lifecycle::testkit::{Behavior, FakeWorkspaces};
/// use workspace_lifecycle::{FakeClock, Workspace, WorkspaceId, WorkspaceState, Workspaces};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
/// let fleet = FakeWorkspaces::new(clock.clone());
/// let id = WorkspaceId(uuid::Uuid::from_u128(1));
/// fleet.insert(Workspace::new(id, WorkspaceState::Stopped));
/// fleet.set_behavior(id, Behavior::Take(Duration::from_secs(30)));
/// let call = tokio::spawn({
///     let fleet = fleet.clone();
///     async move { fleet.start(id).await }
/// });
/// clock.wait_for_sleepers(1).await;
/// assert_eq!(fleet.get_snapshot(id).unwrap().state, WorkspaceState::Starting);
/// clock.advance(Duration::from_secs(30));
/// call.await.unwrap().unwrap();
/// assert_eq!(fleet.get_snapshot(id).unwrap().state, WorkspaceState::Running);
/// # });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behavior {
    /// The transition happens at once and the call succeeds.
    Succeed,
    /// The workspace is starting (stopping) for this long, then running (stopped); the
    /// call returns when it is done.
    Take(Duration),
    /// The call fails with [`WorkspaceError::Other`]; nothing changes.
    Fail,
    /// The call never returns and nothing changes.
    Hang,
    /// The call panics; nothing changes.
    Panic,
}

/// How a recorded call ended.
///
/// ```
/// use workspace_lifecycle::testkit::{CallOutcome, FakeWorkspaces};
/// use workspace_lifecycle::{FakeClock, Workspace, WorkspaceId, WorkspaceState, Workspaces};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fleet = FakeWorkspaces::new(FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap()));
/// let id = WorkspaceId(uuid::Uuid::from_u128(1));
/// fleet.insert(Workspace::new(id, WorkspaceState::Stopped));
/// fleet.fail_next(id, 1);
/// assert!(fleet.start(id).await.is_err());
/// fleet.start(id).await.unwrap();
/// let outcomes: Vec<_> = fleet.calls().iter().map(|call| call.outcome).collect();
/// assert_eq!(outcomes, [CallOutcome::Failed, CallOutcome::Succeeded]);
/// # });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    /// Still running, or its caller dropped it before it returned.
    Unfinished,
    /// It returned `Ok`.
    Succeeded,
    /// It returned an error.
    Failed,
}

/// One recorded start or stop call.
///
/// ```
/// use workspace_lifecycle::testkit::FakeWorkspaces;
/// use workspace_lifecycle::{
///     FakeClock, Operation, Workspace, WorkspaceId, WorkspaceState, Workspaces,
/// };
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fleet = FakeWorkspaces::new(FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap()));
/// let id = WorkspaceId(uuid::Uuid::from_u128(1));
/// fleet.insert(Workspace::new(id, WorkspaceState::Running));
/// fleet.stop(id).await.unwrap();
/// let call = &fleet.calls()[0];
/// assert_eq!((call.workspace_id, call.operation), (id, Operation::Stop));
/// assert_eq!(call.before.as_ref().unwrap().state, WorkspaceState::Running);
/// assert!(call.effective);
/// # });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// Start or stop.
    pub operation: Operation,
    /// When it was made (the fake's clock).
    pub at: DateTime<Utc>,
    /// The workspace as it was when called; `None` if it did not exist.
    pub before: Option<Workspace>,
    /// Whether the call changed the workspace (began or made the transition).
    pub effective: bool,
    /// How it ended.
    pub outcome: CallOutcome,
}

impl Call {
    /// The occurrence the call served: the workspace's time for the operation when
    /// called.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{FakeClock, Workspace, WorkspaceId, WorkspaceState, Workspaces};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fleet = FakeWorkspaces::new(FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap()));
    /// let id = WorkspaceId(uuid::Uuid::from_u128(1));
    /// let at = "2026-01-05T08:00:00Z".parse().unwrap();
    /// fleet.insert(Workspace { auto_start_at: Some(at),
    ///     ..Workspace::new(id, WorkspaceState::Stopped) });
    /// fleet.start(id).await.unwrap();
    /// assert_eq!(fleet.calls()[0].occurrence().unwrap().deadline, at);
    /// # });
    /// ```
    pub fn occurrence(&self) -> Option<Occurrence> {
        let at = self.before.as_ref()?.scheduled_at(self.operation)?;
        Some(Occurrence {
            workspace_id: self.workspace_id,
            operation: self.operation,
            deadline: at,
        })
    }
}

/// Called whenever a workspace finishes a transition to running or stopped, with the
/// workspace (to update its auto-start and auto-stop times, as a real service would
/// after a start or stop) and the time.
///
/// ```
/// use std::sync::Arc;
/// use workspace_lifecycle::testkit::{FakeWorkspaces, TransitionHook};
/// use workspace_lifecycle::{FakeClock, Workspace, WorkspaceId, WorkspaceState};
///
/// // One hook for several fleets (say, one per simulated region).
/// let hook: TransitionHook = Arc::new(|ws, at| {
///     ws.auto_stop_at = (ws.state == WorkspaceState::Running)
///         .then(|| at + chrono::TimeDelta::hours(8));
/// });
/// let fleet = FakeWorkspaces::new(FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap()));
/// fleet.on_transition({
///     let hook = hook.clone();
///     move |ws, at| hook(ws, at)
/// });
/// let id = WorkspaceId(uuid::Uuid::from_u128(1));
/// fleet.insert(Workspace::new(id, WorkspaceState::Stopped));
/// fleet.transition(id, WorkspaceState::Running);
/// let stop = fleet.get_snapshot(id).unwrap().auto_stop_at.unwrap();
/// assert_eq!(stop.to_rfc3339(), "2026-01-05T16:00:00+00:00");
/// ```
pub type TransitionHook = Arc<dyn Fn(&mut Workspace, DateTime<Utc>) + Send + Sync>;

/// In-memory workspaces with fault injection. Clones share one fleet.
///
/// ```
/// use workspace_lifecycle::testkit::FakeWorkspaces;
/// use workspace_lifecycle::{FakeClock, Workspace, WorkspaceId, WorkspaceState};
///
/// let fleet = FakeWorkspaces::new(FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap()));
/// let engines_view = fleet.clone(); // what a test hands to the engine
/// fleet.insert(Workspace::new(WorkspaceId(uuid::Uuid::from_u128(1)), WorkspaceState::Stopped));
/// assert_eq!(engines_view.snapshots().len(), 1);
/// ```
#[derive(Clone)]
pub struct FakeWorkspaces {
    inner: Arc<Mutex<Fleet>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for FakeWorkspaces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeWorkspaces")
            .field("workspaces", &self.inner.lock().entries.len())
            .finish()
    }
}

#[derive(Default)]
struct Fleet {
    entries: BTreeMap<WorkspaceId, Entry>,
    calls: Vec<Call>,
    /// The call in flight for each workspace (index into `calls`).
    in_flight: HashMap<WorkspaceId, usize>,
    overlaps: Vec<String>,
    hook: Option<TransitionHook>,
}

struct Entry {
    ws: Workspace,
    behavior: Behavior,
    fail_next: u32,
    /// A transition under way: the state it ends in, and when.
    transition: Option<(WorkspaceState, DateTime<Utc>)>,
}

impl Fleet {
    /// Finishes the transitions due by `now`.
    fn settle(&mut self, now: DateTime<Utc>) {
        let hook = self.hook.clone();
        for entry in self.entries.values_mut() {
            if let Some((target, at)) = entry.transition {
                if at <= now {
                    entry.transition = None;
                    entry.ws.state = target;
                    if let Some(hook) = &hook {
                        hook(&mut entry.ws, at);
                    }
                }
            }
        }
    }
}

/// Marks a call finished (or dropped) when its future ends either way.
struct CallGuard {
    fleet: Arc<Mutex<Fleet>>,
    index: usize,
    workspace: WorkspaceId,
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        let mut fleet = self.fleet.lock();
        if fleet.in_flight.get(&self.workspace) == Some(&self.index) {
            fleet.in_flight.remove(&self.workspace);
        }
    }
}

impl FakeWorkspaces {
    /// An empty fleet whose transitions take time on `clock`.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::FakeClock;
    ///
    /// let fleet = FakeWorkspaces::new(FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap()));
    /// assert!(fleet.snapshots().is_empty() && fleet.calls().is_empty());
    /// ```
    pub fn new(clock: impl Clock) -> Self {
        FakeWorkspaces {
            inner: Arc::new(Mutex::new(Fleet::default())),
            clock: Arc::new(clock),
        }
    }

    /// Adds (or replaces) a workspace, behaving [`Behavior::Succeed`].
    ///
    /// ```
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{FakeClock, Workspace, WorkspaceId, WorkspaceState};
    ///
    /// # let fleet = FakeWorkspaces::new(FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap()));
    /// let id = WorkspaceId(uuid::Uuid::from_u128(1));
    /// fleet.insert(Workspace::new(id, WorkspaceState::Stopped));
    /// fleet.insert(Workspace::new(id, WorkspaceState::Running)); // same id: replaced
    /// assert_eq!(fleet.snapshots(), [Workspace::new(id, WorkspaceState::Running)]);
    /// ```
    pub fn insert(&self, ws: Workspace) {
        self.inner.lock().entries.insert(
            ws.id,
            Entry {
                ws,
                behavior: Behavior::Succeed,
                fail_next: 0,
                transition: None,
            },
        );
    }

    /// Deletes a workspace; `get` then returns `None` and start/stop `NotFound`.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{
    ///     FakeClock, Workspace, WorkspaceError, WorkspaceId, WorkspaceState, Workspaces,
    /// };
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fleet = FakeWorkspaces::new(FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap()));
    /// let id = WorkspaceId(uuid::Uuid::from_u128(1));
    /// fleet.insert(Workspace::new(id, WorkspaceState::Running));
    /// assert!(fleet.remove(id).is_some());
    /// assert_eq!(fleet.get(id).await.unwrap(), None);
    /// assert!(matches!(fleet.stop(id).await, Err(WorkspaceError::NotFound(_))));
    /// # });
    /// ```
    pub fn remove(&self, id: WorkspaceId) -> Option<Workspace> {
        self.inner.lock().entries.remove(&id).map(|e| e.ws)
    }

    /// The workspace as the engine would read it now.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{FakeClock, Workspace, WorkspaceId, WorkspaceState};
    ///
    /// # let fleet = FakeWorkspaces::new(FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap()));
    /// let ws = Workspace::new(WorkspaceId(uuid::Uuid::from_u128(1)), WorkspaceState::Stopped);
    /// fleet.insert(ws.clone());
    /// assert_eq!(fleet.get_snapshot(ws.id), Some(ws));
    /// assert_eq!(fleet.get_snapshot(WorkspaceId(uuid::Uuid::from_u128(2))), None);
    /// ```
    pub fn get_snapshot(&self, id: WorkspaceId) -> Option<Workspace> {
        let mut fleet = self.inner.lock();
        fleet.settle(self.clock.now());
        fleet.entries.get(&id).map(|e| e.ws.clone())
    }

    /// Every workspace as the engine would read it now, in id order.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{FakeClock, Workspace, WorkspaceId, WorkspaceState};
    ///
    /// # let fleet = FakeWorkspaces::new(FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap()));
    /// for n in [2, 1] {
    ///     let id = WorkspaceId(uuid::Uuid::from_u128(n));
    ///     fleet.insert(Workspace::new(id, WorkspaceState::Stopped));
    /// }
    /// let ids: Vec<u128> = fleet.snapshots().iter().map(|ws| ws.id.0.as_u128()).collect();
    /// assert_eq!(ids, [1, 2]);
    /// ```
    pub fn snapshots(&self) -> Vec<Workspace> {
        let mut fleet = self.inner.lock();
        fleet.settle(self.clock.now());
        fleet.entries.values().map(|e| e.ws.clone()).collect()
    }

    /// Changes a workspace's data in place (state, auto-start, auto-stop), as its owner
    /// would; any transition under way is abandoned. Returns false if it does not exist.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{FakeClock, Workspace, WorkspaceId, WorkspaceState};
    ///
    /// # let fleet = FakeWorkspaces::new(FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap()));
    /// let id = WorkspaceId(uuid::Uuid::from_u128(1));
    /// fleet.insert(Workspace::new(id, WorkspaceState::Running));
    /// let at = "2026-01-05T18:00:00Z".parse().unwrap();
    /// assert!(fleet.update(id, |ws| ws.auto_stop_at = Some(at)));
    /// assert_eq!(fleet.get_snapshot(id).unwrap().auto_stop_at, Some(at));
    /// assert!(!fleet.update(WorkspaceId(uuid::Uuid::from_u128(2)), |_| {}));
    /// ```
    pub fn update(&self, id: WorkspaceId, change: impl FnOnce(&mut Workspace)) -> bool {
        let mut fleet = self.inner.lock();
        fleet.settle(self.clock.now());
        match fleet.entries.get_mut(&id) {
            Some(entry) => {
                entry.transition = None;
                change(&mut entry.ws);
                true
            }
            None => false,
        }
    }

    /// A transition made by the workspace's user (not the engine): the state becomes
    /// `target` at once and the transition hook runs. Returns false if the workspace
    /// does not exist.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{FakeClock, Workspace, WorkspaceId, WorkspaceState};
    ///
    /// # let fleet = FakeWorkspaces::new(FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap()));
    /// let id = WorkspaceId(uuid::Uuid::from_u128(1));
    /// fleet.insert(Workspace::new(id, WorkspaceState::Stopped));
    /// assert!(fleet.transition(id, WorkspaceState::Running));
    /// assert_eq!(fleet.get_snapshot(id).unwrap().state, WorkspaceState::Running);
    /// // The user's own start is not a call the engine made: nothing is recorded.
    /// assert!(fleet.calls().is_empty());
    /// ```
    pub fn transition(&self, id: WorkspaceId, target: WorkspaceState) -> bool {
        let now = self.clock.now();
        let mut fleet = self.inner.lock();
        fleet.settle(now);
        let hook = fleet.hook.clone();
        match fleet.entries.get_mut(&id) {
            Some(entry) => {
                entry.transition = None;
                entry.ws.state = target;
                if let Some(hook) = hook {
                    hook(&mut entry.ws, now);
                }
                true
            }
            None => false,
        }
    }

    /// Sets how a workspace answers start and stop from now on.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::{Behavior, FakeWorkspaces};
    /// use workspace_lifecycle::{FakeClock, Workspace, WorkspaceId, WorkspaceState, Workspaces};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fleet = FakeWorkspaces::new(FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap()));
    /// let id = WorkspaceId(uuid::Uuid::from_u128(1));
    /// fleet.insert(Workspace::new(id, WorkspaceState::Running));
    /// fleet.set_behavior(id, Behavior::Fail);
    /// assert!(fleet.stop(id).await.is_err());
    /// assert!(fleet.stop(id).await.is_err()); // until told otherwise
    /// assert_eq!(fleet.get_snapshot(id).unwrap().state, WorkspaceState::Running);
    /// # });
    /// ```
    pub fn set_behavior(&self, id: WorkspaceId, behavior: Behavior) {
        if let Some(entry) = self.inner.lock().entries.get_mut(&id) {
            entry.behavior = behavior;
        }
    }

    /// Makes the next `n` start/stop calls of a workspace fail, whatever its behavior.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{FakeClock, Workspace, WorkspaceId, WorkspaceState, Workspaces};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fleet = FakeWorkspaces::new(FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap()));
    /// let id = WorkspaceId(uuid::Uuid::from_u128(1));
    /// fleet.insert(Workspace::new(id, WorkspaceState::Running));
    /// fleet.fail_next(id, 2);
    /// assert!(fleet.stop(id).await.is_err());
    /// assert!(fleet.stop(id).await.is_err());
    /// assert!(fleet.stop(id).await.is_ok()); // back to its behavior
    /// # });
    /// ```
    pub fn fail_next(&self, id: WorkspaceId, n: u32) {
        if let Some(entry) = self.inner.lock().entries.get_mut(&id) {
            entry.fail_next = n;
        }
    }

    /// Runs `hook` after every finished transition to running or stopped.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{FakeClock, Workspace, WorkspaceId, WorkspaceState, Workspaces};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fleet = FakeWorkspaces::new(FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap()));
    /// // As a real service would: a started workspace gets its auto-stop time.
    /// fleet.on_transition(|ws, at| {
    ///     if ws.state == WorkspaceState::Running {
    ///         ws.auto_stop_at = Some(at + chrono::TimeDelta::hours(8));
    ///     }
    /// });
    /// let id = WorkspaceId(uuid::Uuid::from_u128(1));
    /// fleet.insert(Workspace::new(id, WorkspaceState::Stopped));
    /// fleet.start(id).await.unwrap();
    /// let stop = fleet.get_snapshot(id).unwrap().auto_stop_at.unwrap();
    /// assert_eq!(stop.to_rfc3339(), "2026-01-05T16:00:00+00:00");
    /// # });
    /// ```
    pub fn on_transition(
        &self,
        hook: impl Fn(&mut Workspace, DateTime<Utc>) + Send + Sync + 'static,
    ) {
        self.inner.lock().hook = Some(Arc::new(hook));
    }

    /// Every start/stop call so far, in order.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{
    ///     FakeClock, Operation, Workspace, WorkspaceId, WorkspaceState, Workspaces,
    /// };
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fleet = FakeWorkspaces::new(FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap()));
    /// let id = WorkspaceId(uuid::Uuid::from_u128(1));
    /// fleet.insert(Workspace::new(id, WorkspaceState::Stopped));
    /// fleet.start(id).await.unwrap();
    /// fleet.stop(id).await.unwrap();
    /// let made: Vec<Operation> = fleet.calls().iter().map(|call| call.operation).collect();
    /// assert_eq!(made, [Operation::Start, Operation::Stop]);
    /// # });
    /// ```
    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().calls.clone()
    }

    /// The engine's promises, checked against the record of calls; empty when all hold:
    ///
    /// - every call that changed a workspace was one its data called for at that
    ///   moment: its time for the operation was set and due, and its state was one the
    ///   operation applies to (so no action came before its deadline);
    /// - no occurrence was acted on twice by calls that returned successfully (a call
    ///   whose caller was dropped mid-way, as by a crash, has an outcome its caller
    ///   never learned; a repeat after it is allowed);
    /// - no workspace ever had two calls in flight at once.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{FakeClock, Workspace, WorkspaceId, WorkspaceState, Workspaces};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fleet = FakeWorkspaces::new(FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap()));
    /// let id = WorkspaceId(uuid::Uuid::from_u128(1));
    /// fleet.insert(Workspace::new(id, WorkspaceState::Stopped));
    /// assert!(fleet.violations().is_empty());
    /// // A start with no auto-start time: the engine must never make this call.
    /// fleet.start(id).await.unwrap();
    /// assert_eq!(fleet.violations().len(), 1);
    /// # });
    /// ```
    pub fn violations(&self) -> Vec<String> {
        let fleet = self.inner.lock();
        let mut found = fleet.overlaps.clone();
        let mut acted: HashMap<Occurrence, usize> = HashMap::new();
        for (i, call) in fleet.calls.iter().enumerate() {
            if !call.effective {
                continue;
            }
            let Some(before) = &call.before else {
                found.push(format!(
                    "call #{i} changed workspace {} that did not exist",
                    call.workspace_id
                ));
                continue;
            };
            match before.scheduled_at(call.operation) {
                Some(at) if at <= call.at => {}
                other => found.push(format!(
                    "call #{i}: {} of {} at {} but its auto-{} time was {:?}",
                    call.operation, call.workspace_id, call.at, call.operation, other
                )),
            }
            if before.readiness(call.operation) != Readiness::Act {
                found.push(format!(
                    "call #{i}: {} of {} while it was {}",
                    call.operation, call.workspace_id, before.state
                ));
            }
            if call.outcome == CallOutcome::Succeeded {
                if let Some(occurrence) = call.occurrence() {
                    if let Some(first) = acted.insert(occurrence, i) {
                        found.push(format!(
                            "calls #{first} and #{i} both acted on {occurrence}"
                        ));
                    }
                }
            }
        }
        found
    }

    async fn call(&self, id: WorkspaceId, operation: Operation) -> Result<(), WorkspaceError> {
        let now = self.clock.now();
        let (behavior, index) = {
            let mut fleet = self.inner.lock();
            fleet.settle(now);
            let before = fleet.entries.get(&id).map(|e| e.ws.clone());
            let index = fleet.calls.len();
            if let Some(&other) = fleet.in_flight.get(&id) {
                fleet.overlaps.push(format!(
                    "call #{index} ({operation} of {id}) began while call #{other} was in flight"
                ));
            }
            fleet.in_flight.insert(id, index);
            let behavior = match fleet.entries.get_mut(&id) {
                None => None,
                Some(entry) if entry.fail_next > 0 => {
                    entry.fail_next -= 1;
                    Some(Behavior::Fail)
                }
                Some(entry) => Some(entry.behavior),
            };
            let (moving, done) = match operation {
                Operation::Start => (WorkspaceState::Starting, WorkspaceState::Running),
                Operation::Stop => (WorkspaceState::Stopping, WorkspaceState::Stopped),
            };
            let effective = matches!(behavior, Some(Behavior::Succeed | Behavior::Take(_)));
            let hook = fleet.hook.clone();
            if let Some(entry) = fleet.entries.get_mut(&id) {
                match behavior {
                    Some(Behavior::Succeed) => {
                        entry.transition = None;
                        entry.ws.state = done;
                        if let Some(hook) = hook {
                            hook(&mut entry.ws, now);
                        }
                    }
                    Some(Behavior::Take(d)) => {
                        entry.ws.state = moving;
                        entry.transition = Some((done, add(now, d)));
                    }
                    _ => {}
                }
            }
            fleet.calls.push(Call {
                workspace_id: id,
                operation,
                at: now,
                before,
                effective,
                outcome: CallOutcome::Unfinished,
            });
            (behavior, index)
        };
        let _guard = CallGuard {
            fleet: self.inner.clone(),
            index,
            workspace: id,
        };
        let result = match behavior {
            None => Err(WorkspaceError::NotFound(id)),
            Some(Behavior::Succeed) => Ok(()),
            Some(Behavior::Take(d)) => {
                self.clock.sleep_until(add(now, d)).await;
                self.inner.lock().settle(self.clock.now());
                Ok(())
            }
            Some(Behavior::Fail) => Err(WorkspaceError::other(format!(
                "injected failure: {operation} of {id}"
            ))),
            Some(Behavior::Hang) => std::future::pending().await,
            Some(Behavior::Panic) => panic!("injected panic: {operation} of {id}"),
        };
        let mut fleet = self.inner.lock();
        if let Some(call) = fleet.calls.get_mut(index) {
            call.outcome = if result.is_ok() {
                CallOutcome::Succeeded
            } else {
                CallOutcome::Failed
            };
        }
        result
    }
}

#[async_trait]
impl Workspaces for FakeWorkspaces {
    async fn list(
        &self,
        after: Option<WorkspaceId>,
        limit: usize,
    ) -> Result<Vec<Workspace>, WorkspaceError> {
        let mut fleet = self.inner.lock();
        fleet.settle(self.clock.now());
        let lower = after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
        Ok(fleet
            .entries
            .range((lower, std::ops::Bound::Unbounded))
            .take(limit)
            .map(|(_, e)| e.ws.clone())
            .collect())
    }

    async fn get(&self, id: WorkspaceId) -> Result<Option<Workspace>, WorkspaceError> {
        Ok(self.get_snapshot(id))
    }

    async fn start(&self, id: WorkspaceId) -> Result<(), WorkspaceError> {
        self.call(id, Operation::Start).await
    }

    async fn stop(&self, id: WorkspaceId) -> Result<(), WorkspaceError> {
        self.call(id, Operation::Stop).await
    }
}

/// SplitMix64: a seeded, reproducible random source for simulations and soak tests,
/// so a seed replays a run.
///
/// ```
/// use workspace_lifecycle::testkit::SeededRng;
/// let (mut a, mut b) = (SeededRng::new(7), SeededRng::new(7));
/// assert_eq!(a.below(1000), b.below(1000));
/// assert!(a.below(10) < 10);
/// ```
#[derive(Clone, Debug)]
pub struct SeededRng(u64);

impl SeededRng {
    /// A generator whose sequence is fixed by `seed`.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::SeededRng;
    ///
    /// let (mut a, mut b) = (SeededRng::new(7), SeededRng::new(7));
    /// let draws = |rng: &mut SeededRng| [rng.next_u64(), rng.next_u64(), rng.next_u64()];
    /// assert_eq!(draws(&mut a), draws(&mut b));
    /// ```
    pub fn new(seed: u64) -> Self {
        SeededRng(seed)
    }

    /// The next 64 random bits.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::SeededRng;
    ///
    /// let mut rng = SeededRng::new(7);
    /// assert_ne!(rng.next_u64(), rng.next_u64());
    /// assert_ne!(SeededRng::new(1).next_u64(), SeededRng::new(2).next_u64());
    /// ```
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        crate::config::splitmix64(self.0.wrapping_sub(0x9E37_79B9_7F4A_7C15))
    }

    /// A number in `0..n` (0 when `n` is 0).
    ///
    /// ```
    /// use workspace_lifecycle::testkit::SeededRng;
    ///
    /// let mut rng = SeededRng::new(7);
    /// assert!((0..1000).all(|_| rng.below(6) < 6));
    /// assert_eq!(rng.below(0), 0);
    /// ```
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64().checked_rem(n).unwrap_or(0)
    }

    /// True `percent` times in 100.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::SeededRng;
    ///
    /// let mut rng = SeededRng::new(7);
    /// assert!((0..1000).all(|_| !rng.chance(0) && rng.chance(100)));
    /// ```
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The job table's safety invariants, checked over every job of a store; empty when
/// all hold: at most one open job per (workspace, operation), at most one running job
/// per workspace and always with a lease holder, at most one completed job per
/// occurrence. Property tests and fuzz targets check it after every step.
///
/// ```
/// use workspace_lifecycle::testkit::job_table_violations;
/// assert!(job_table_violations(&[]).is_empty());
/// ```
pub fn job_table_violations(jobs: &[Job]) -> Vec<String> {
    let mut found = Vec::new();
    let mut open = HashSet::new();
    let mut running = HashSet::new();
    let mut completed = HashSet::new();
    for job in jobs {
        match job.state() {
            JobState::Pending | JobState::Running => {
                if !open.insert((job.workspace_id, job.operation)) {
                    found.push(format!(
                        "two open {} jobs for {}",
                        job.operation, job.workspace_id
                    ));
                }
            }
            JobState::Completed => {
                if !completed.insert(job.occurrence()) {
                    found.push(format!("two completed jobs for {}", job.occurrence()));
                }
            }
            JobState::Cancelled => {}
        }
        if job.state() == JobState::Running {
            if !running.insert(job.workspace_id) {
                found.push(format!("two running jobs for {}", job.workspace_id));
            }
            if job.lease_expires_at.is_none() || job.claimed_by.is_none() {
                found.push(format!("running job {} without a lease holder", job.id));
            }
        }
    }
    found
}

/// The liveness oracle's first half: the occurrences `fleet`'s data calls for at
/// `now` that an engine with `config` owes an action. Each workspace time counts as
/// the engine sees it (rounded up to whole microseconds) if it is due, within the
/// supported range, not older than the retention horizon
/// ([`Config::schedule_horizon`]: by design never scheduled), and the workspace's
/// state is one the operation acts on.
///
/// ```
/// use workspace_lifecycle::testkit::{owed_occurrences, FakeWorkspaces};
/// use workspace_lifecycle::{Config, FakeClock, Workspace, WorkspaceId, WorkspaceState};
///
/// let now = "2026-01-05T08:00:00Z".parse().unwrap();
/// let fleet = FakeWorkspaces::new(FakeClock::new(now));
/// let stop = |n, at: &str| Workspace {
///     auto_stop_at: Some(at.parse().unwrap()),
///     ..Workspace::new(WorkspaceId(uuid::Uuid::from_u128(n)), WorkspaceState::Running)
/// };
/// fleet.insert(stop(1, "2026-01-05T07:00:00Z")); // due
/// fleet.insert(stop(2, "2026-01-05T09:00:00Z")); // not yet
/// fleet.insert(stop(3, "2025-12-01T07:00:00Z")); // older than the 7-day retention
/// let owed = owed_occurrences(&fleet, now, &Config::default());
/// assert_eq!(owed.len(), 1);
/// assert!(owed.iter().all(|o| o.workspace_id.0.as_u128() == 1));
/// ```
pub fn owed_occurrences(
    fleet: &FakeWorkspaces,
    now: DateTime<Utc>,
    config: &Config,
) -> HashSet<Occurrence> {
    let mut owed = HashSet::new();
    for ws in fleet
        .snapshots()
        .into_iter()
        .map(Workspace::at_store_precision)
    {
        for operation in Operation::ALL {
            let Some(deadline) = ws.scheduled_at(operation) else {
                continue;
            };
            let stale = config
                .schedule_horizon(operation, now)
                .is_some_and(|horizon| deadline < horizon);
            if deadline <= now
                && !stale
                && deadline_supported(deadline)
                && ws.readiness(operation) == Readiness::Act
            {
                owed.insert(Occurrence {
                    workspace_id: ws.id,
                    operation,
                    deadline,
                });
            }
        }
    }
    owed
}

/// The liveness oracle's second half, after a round that should have handled
/// everything due at `since`: each occurrence of `owed` (from [`owed_occurrences`] at
/// `since`) without a completed job in `jobs` (the table after the round), and each job
/// of `pending` (the jobs pending and due at `since`) that is still pending and due
/// (not one the scheduler moved meanwhile to the workspace's new time). Empty when
/// nothing was left behind.
///
/// ```
/// use std::collections::HashSet;
/// use workspace_lifecycle::testkit::left_behind;
///
/// let since = "2026-01-05T08:00:00Z".parse().unwrap();
/// assert!(left_behind(&HashSet::new(), &[], &[], since).is_empty());
/// ```
pub fn left_behind(
    owed: &HashSet<Occurrence>,
    pending: &[Job],
    jobs: &[Job],
    since: DateTime<Utc>,
) -> Vec<String> {
    let handled: HashSet<Occurrence> = jobs
        .iter()
        .filter(|j| j.state() == JobState::Completed)
        .map(Job::occurrence)
        .collect();
    let mut found: Vec<String> = owed
        .difference(&handled)
        .map(|o| format!("{o} was due at {since} and not handled"))
        .collect();
    for job in pending {
        let still = jobs
            .iter()
            .any(|j| j.id == job.id && j.state() == JobState::Pending && j.run_at <= since);
        if still {
            found.push(format!(
                "job {} ({}) due at {} still pending",
                job.id,
                job.occurrence(),
                job.run_at
            ));
        }
    }
    found
}
