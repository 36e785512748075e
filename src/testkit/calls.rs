//! What [`FakeWorkspaces`](super::FakeWorkspaces) records and how it behaves: the
//! per-workspace [`Behavior`], each [`Call`] with its [`CallOutcome`], and the
//! [`TransitionHook`] that plays the owner's service after a transition.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::ids::WorkspaceId;
use crate::job::{Occurrence, Operation};
use crate::workspace::Workspace;

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
    /// The call fails with [`WorkspaceError::Other`](crate::WorkspaceError::Other); nothing changes.
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
