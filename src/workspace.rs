//! The user's side: the [`Workspaces`] trait a service implements over its own data,
//! and the [`Workspace`] snapshot the engine decides from.

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

use crate::error::{textual_enum, WorkspaceError};
use crate::ids::WorkspaceId;
use crate::job::Operation;

/// Where a workspace is, as its owner reports it.
///
/// ```
/// use workspace_lifecycle::{Operation, Readiness, Workspace, WorkspaceId, WorkspaceState};
///
/// let ws = Workspace::new(WorkspaceId(uuid::Uuid::nil()), WorkspaceState::Failed);
/// assert_eq!(ws.readiness(Operation::Stop), Readiness::Act);
/// assert_eq!(ws.readiness(Operation::Start), Readiness::NotApplicable);
/// assert_eq!(WorkspaceState::Failed.to_string(), "failed");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WorkspaceState {
    /// Up. An auto-stop applies; an auto-start is already done.
    Running,
    /// Down. An auto-start applies; an auto-stop is already done.
    Stopped,
    /// On its way up: not a moment to act; a due job is retried shortly.
    Starting,
    /// On its way down: not a moment to act; a due job is retried shortly.
    Stopping,
    /// Broken. Auto-start does not act on it (as in Coder: a failed workspace is not
    /// restarted behind its owner's back); auto-stop does, since a failed workspace may
    /// still hold resources.
    Failed,
}

impl WorkspaceState {
    /// Every state.
    ///
    /// ```
    /// use workspace_lifecycle::{Operation, Readiness, Workspace, WorkspaceId, WorkspaceState};
    ///
    /// let startable = WorkspaceState::ALL
    ///     .into_iter()
    ///     .filter(|state| {
    ///         let ws = Workspace::new(WorkspaceId(uuid::Uuid::nil()), *state);
    ///         ws.readiness(Operation::Start) == Readiness::Act
    ///     });
    /// assert_eq!(startable.collect::<Vec<_>>(), [WorkspaceState::Stopped]);
    /// ```
    pub const ALL: [WorkspaceState; 5] = [
        WorkspaceState::Running,
        WorkspaceState::Stopped,
        WorkspaceState::Starting,
        WorkspaceState::Stopping,
        WorkspaceState::Failed,
    ];

    /// The lowercase name. `Display` writes it and `FromStr` parses exactly it, for an
    /// adapter that keeps the state as text.
    ///
    /// ```
    /// use workspace_lifecycle::WorkspaceState;
    ///
    /// assert_eq!(WorkspaceState::Stopping.as_str(), "stopping");
    /// assert_eq!("failed".parse::<WorkspaceState>(), Ok(WorkspaceState::Failed));
    /// let error = "deleted".parse::<WorkspaceState>().unwrap_err();
    /// assert_eq!(error.to_string(), "unknown workspace state \"deleted\"");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            WorkspaceState::Running => "running",
            WorkspaceState::Stopped => "stopped",
            WorkspaceState::Starting => "starting",
            WorkspaceState::Stopping => "stopping",
            WorkspaceState::Failed => "failed",
        }
    }
}

textual_enum!(WorkspaceState, "workspace state");

/// A snapshot of one workspace: everything the engine decides from.
///
/// ```
/// use workspace_lifecycle::{Operation, Workspace, WorkspaceId, WorkspaceState};
///
/// let at = "2026-01-05T18:00:00Z".parse().unwrap();
/// let ws = Workspace {
///     auto_stop_at: Some(at),
///     ..Workspace::new(WorkspaceId(uuid::Uuid::from_u128(1)), WorkspaceState::Running)
/// };
/// assert_eq!(ws.scheduled_at(Operation::Stop), Some(at));
/// assert_eq!(ws.scheduled_at(Operation::Start), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workspace {
    /// Its id.
    pub id: WorkspaceId,
    /// Its state when read.
    pub state: WorkspaceState,
    /// When it should next be started, if it has an auto-start.
    pub auto_start_at: Option<DateTime<Utc>>,
    /// When it should next be stopped, if it has an auto-stop.
    pub auto_stop_at: Option<DateTime<Utc>>,
}

impl Workspace {
    /// A workspace with no auto-start or auto-stop time.
    ///
    /// ```
    /// use workspace_lifecycle::{Workspace, WorkspaceId, WorkspaceState};
    ///
    /// let ws = Workspace::new(WorkspaceId(uuid::Uuid::from_u128(1)), WorkspaceState::Stopped);
    /// assert_eq!((ws.auto_start_at, ws.auto_stop_at), (None, None));
    /// ```
    pub fn new(id: WorkspaceId, state: WorkspaceState) -> Self {
        Workspace {
            id,
            state,
            auto_start_at: None,
            auto_stop_at: None,
        }
    }

    /// The snapshot with its times rounded up to whole microseconds, the precision the
    /// stores keep (Postgres' `timestamptz`). The engine applies it to every snapshot
    /// it reads, so a time computed in nanoseconds (`Utc::now() + ttl`) still matches
    /// the deadline its job comes back with; rounding up, never down, keeps every
    /// action at or after the workspace's own time.
    ///
    /// ```
    /// # use workspace_lifecycle::*;
    /// let at: chrono::DateTime<chrono::Utc> = "2026-01-05T18:00:00.123456789Z".parse().unwrap();
    /// let ws = Workspace { auto_stop_at: Some(at),
    ///     ..Workspace::new(WorkspaceId(uuid::Uuid::nil()), WorkspaceState::Running) };
    /// assert_eq!(ws.at_store_precision().auto_stop_at.unwrap().to_rfc3339(),
    ///     "2026-01-05T18:00:00.123457+00:00");
    /// ```
    pub fn at_store_precision(self) -> Self {
        let cut = |t: Option<DateTime<Utc>>| {
            t.map(|t| {
                let down = t.trunc_subsecs(6);
                if down == t {
                    return t;
                }
                // At chrono's last instant there is no next microsecond; such a time
                // is refused as out of range anyway.
                down.checked_add_signed(TimeDelta::microseconds(1))
                    .unwrap_or(down)
            })
        };
        Workspace {
            auto_start_at: cut(self.auto_start_at),
            auto_stop_at: cut(self.auto_stop_at),
            ..self
        }
    }

    /// The scheduled time for `operation`: the auto-start or the auto-stop time.
    ///
    /// ```
    /// use workspace_lifecycle::{Operation, Workspace, WorkspaceId, WorkspaceState};
    ///
    /// let at = "2026-01-06T09:00:00Z".parse().unwrap();
    /// let ws = Workspace {
    ///     auto_start_at: Some(at),
    ///     ..Workspace::new(WorkspaceId(uuid::Uuid::from_u128(1)), WorkspaceState::Stopped)
    /// };
    /// assert_eq!(ws.scheduled_at(Operation::Start), Some(at));
    /// assert_eq!(ws.scheduled_at(Operation::Stop), None);
    /// ```
    pub fn scheduled_at(&self, operation: Operation) -> Option<DateTime<Utc>> {
        match operation {
            Operation::Start => self.auto_start_at,
            Operation::Stop => self.auto_stop_at,
        }
    }

    /// What `operation` would mean for the workspace in its current state.
    ///
    /// This one table is shared by the scheduler (it creates a job only on
    /// [`Readiness::Act`]) and the executor (it acts only on [`Readiness::Act`]).
    ///
    /// ```
    /// use workspace_lifecycle::{Operation, Readiness, Workspace, WorkspaceId, WorkspaceState};
    ///
    /// let mut ws = Workspace::new(WorkspaceId(uuid::Uuid::from_u128(1)), WorkspaceState::Stopped);
    /// assert_eq!(ws.readiness(Operation::Start), Readiness::Act);
    /// assert_eq!(ws.readiness(Operation::Stop), Readiness::AlreadyDone);
    /// ws.state = WorkspaceState::Starting;
    /// assert_eq!(ws.readiness(Operation::Start), Readiness::InTransition);
    /// ```
    pub fn readiness(&self, operation: Operation) -> Readiness {
        use WorkspaceState::*;
        match (operation, self.state) {
            (Operation::Start, Stopped) | (Operation::Stop, Running | Failed) => Readiness::Act,
            (Operation::Start, Running) | (Operation::Stop, Stopped) => Readiness::AlreadyDone,
            (_, Starting | Stopping) => Readiness::InTransition,
            (Operation::Start, Failed) => Readiness::NotApplicable,
        }
    }
}

/// What an operation would mean for a workspace in its current state.
///
/// ```
/// use workspace_lifecycle::{Operation, Readiness, Workspace, WorkspaceId, WorkspaceState};
///
/// let ws = Workspace::new(WorkspaceId(uuid::Uuid::from_u128(1)), WorkspaceState::Running);
/// assert_eq!(ws.readiness(Operation::Stop), Readiness::Act);
/// assert_eq!(ws.readiness(Operation::Start), Readiness::AlreadyDone);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Readiness {
    /// The operation applies: start a stopped workspace, stop a running or failed one.
    Act,
    /// The workspace is already where the operation would take it.
    AlreadyDone,
    /// The workspace is starting or stopping; try again shortly.
    InTransition,
    /// The operation does not apply (auto-start of a failed workspace).
    NotApplicable,
}

/// The user's workspaces: the one trait a service implements.
///
/// # Contract
///
/// - [`list`](Workspaces::list) returns up to `limit` workspaces with ids strictly
///   greater than `after` (all, when `after` is `None`), in ascending id order. A page
///   shorter than `limit` is the last. The engine checks the order and reports
///   [`WorkspaceError::UnorderedPage`] otherwise, because it relies on it to find jobs
///   of deleted workspaces.
/// - [`get`](Workspaces::get) returns `Ok(None)` for a workspace that does not exist.
/// - [`start`](Workspaces::start) and [`stop`](Workspaces::stop) return once the
///   transition has been accepted (or done). An `Err` is retried with backoff; a
///   workspace that no longer exists should give [`WorkspaceError::NotFound`], which
///   cancels the job instead. Calls are bounded by `Config::action_timeout`; a call
///   that times out is dropped and counted as a failed attempt.
/// - Any method may be called concurrently for different workspaces. The engine never
///   has two start/stop calls in flight for one workspace.
/// - A panic in any method is caught and treated as an error; it never kills the engine.
///
/// ```
/// use async_trait::async_trait;
/// use workspace_lifecycle::{Workspace, WorkspaceError, WorkspaceId, Workspaces};
///
/// struct NoWorkspaces;
///
/// #[async_trait]
/// impl Workspaces for NoWorkspaces {
///     async fn list(&self, _after: Option<WorkspaceId>, _limit: usize)
///         -> Result<Vec<Workspace>, WorkspaceError> { Ok(vec![]) }
///     async fn get(&self, _id: WorkspaceId) -> Result<Option<Workspace>, WorkspaceError> {
///         Ok(None)
///     }
///     async fn start(&self, id: WorkspaceId) -> Result<(), WorkspaceError> {
///         Err(WorkspaceError::NotFound(id))
///     }
///     async fn stop(&self, id: WorkspaceId) -> Result<(), WorkspaceError> {
///         Err(WorkspaceError::NotFound(id))
///     }
/// }
/// ```
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Workspaces: Send + Sync + 'static {
    /// One page of workspaces with ids after `after`, ascending, at most `limit`.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{FakeClock, Workspace, WorkspaceId, WorkspaceState, Workspaces};
    ///
    /// let fleet = FakeWorkspaces::new(FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap()));
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let ids = [1, 2, 3].map(|n| WorkspaceId(uuid::Uuid::from_u128(n)));
    /// for id in ids {
    ///     fleet.insert(Workspace::new(id, WorkspaceState::Running));
    /// }
    /// let first = fleet.list(None, 2).await.unwrap();
    /// assert_eq!(first.iter().map(|ws| ws.id).collect::<Vec<_>>(), ids[..2]);
    /// let rest = fleet.list(Some(first[1].id), 2).await.unwrap();
    /// assert_eq!(rest.len(), 1); // shorter than the limit: the last page
    /// # });
    /// ```
    async fn list(
        &self,
        after: Option<WorkspaceId>,
        limit: usize,
    ) -> Result<Vec<Workspace>, WorkspaceError>;

    /// One workspace, or `None` if it does not exist.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{FakeClock, Workspace, WorkspaceId, WorkspaceState, Workspaces};
    ///
    /// let fleet = FakeWorkspaces::new(FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap()));
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let id = WorkspaceId(uuid::Uuid::from_u128(1));
    /// assert_eq!(fleet.get(id).await.unwrap(), None);
    /// fleet.insert(Workspace::new(id, WorkspaceState::Stopped));
    /// assert_eq!(fleet.get(id).await.unwrap().unwrap().state, WorkspaceState::Stopped);
    /// # });
    /// ```
    async fn get(&self, id: WorkspaceId) -> Result<Option<Workspace>, WorkspaceError>;

    /// Start the workspace.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{FakeClock, WorkspaceError, Workspaces};
    /// use workspace_lifecycle::{Workspace, WorkspaceId, WorkspaceState};
    ///
    /// let fleet = FakeWorkspaces::new(FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap()));
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let id = WorkspaceId(uuid::Uuid::from_u128(1));
    /// assert!(matches!(fleet.start(id).await, Err(WorkspaceError::NotFound(_))));
    /// fleet.insert(Workspace::new(id, WorkspaceState::Stopped));
    /// fleet.start(id).await.unwrap();
    /// assert_eq!(fleet.get(id).await.unwrap().unwrap().state, WorkspaceState::Running);
    /// # });
    /// ```
    async fn start(&self, id: WorkspaceId) -> Result<(), WorkspaceError>;

    /// Stop the workspace.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{FakeClock, Workspace, WorkspaceId, WorkspaceState, Workspaces};
    ///
    /// let fleet = FakeWorkspaces::new(FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap()));
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let id = WorkspaceId(uuid::Uuid::from_u128(1));
    /// fleet.insert(Workspace::new(id, WorkspaceState::Running));
    /// fleet.stop(id).await.unwrap();
    /// assert_eq!(fleet.get(id).await.unwrap().unwrap().state, WorkspaceState::Stopped);
    /// # });
    /// ```
    async fn stop(&self, id: WorkspaceId) -> Result<(), WorkspaceError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::assert_spelled;

    #[test]
    fn state_names_are_lowercase_words() {
        let names = ["running", "stopped", "starting", "stopping", "failed"];
        assert_spelled("workspace state", &WorkspaceState::ALL, &names);
    }
}
