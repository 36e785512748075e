//! The user's side: the [`Workspaces`] trait a service implements over its own data,
//! and the [`Workspace`] snapshot the engine decides from.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use uuid::Uuid;

use crate::error::WorkspaceError;
use crate::job::Operation;

/// The id of a workspace.
///
/// Ids are ordered by the bytes of the UUID, which is both [`Uuid`]'s `Ord` and
/// Postgres' `uuid` order; [`Workspaces::list`] pages in that order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkspaceId(pub Uuid);

impl fmt::Display for WorkspaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Uuid> for WorkspaceId {
    fn from(id: Uuid) -> Self {
        WorkspaceId(id)
    }
}

/// Where a workspace is, as its owner reports it.
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

impl fmt::Display for WorkspaceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WorkspaceState::Running => "running",
            WorkspaceState::Stopped => "stopped",
            WorkspaceState::Starting => "starting",
            WorkspaceState::Stopping => "stopping",
            WorkspaceState::Failed => "failed",
        })
    }
}

/// A snapshot of one workspace: everything the engine decides from.
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
    async fn list(
        &self,
        after: Option<WorkspaceId>,
        limit: usize,
    ) -> Result<Vec<Workspace>, WorkspaceError>;

    /// One workspace, or `None` if it does not exist.
    async fn get(&self, id: WorkspaceId) -> Result<Option<Workspace>, WorkspaceError>;

    /// Start the workspace.
    async fn start(&self, id: WorkspaceId) -> Result<(), WorkspaceError>;

    /// Stop the workspace.
    async fn stop(&self, id: WorkspaceId) -> Result<(), WorkspaceError>;
}
