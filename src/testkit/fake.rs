//! [`FakeWorkspaces`]: an in-memory [`Workspaces`] with fault injection, its calls
//! recorded and checked against the engine's promises.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use super::calls::{Behavior, Call, CallOutcome, TransitionHook};
use crate::clock::{add, Clock};
use crate::error::WorkspaceError;
use crate::ids::WorkspaceId;
use crate::job::{Occurrence, Operation};
use crate::workspace::{Readiness, Workspace, WorkspaceState, Workspaces};

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
