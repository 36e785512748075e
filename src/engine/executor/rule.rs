//! The execution rule: [`verdict`], what a claimed job should do, a pure function of
//! the job, the workspace as re-read at that moment, the time and the configuration.

use chrono::{DateTime, TimeDelta, Utc};

use crate::config::Config;
use crate::job::Job;
use crate::workspace::{Readiness, Workspace};

/// What a claimed job should do, judged from the workspace's data at that moment.
///
/// ```
/// use std::time::Duration;
/// use workspace_lifecycle::executor::{verdict, Verdict};
/// # use workspace_lifecycle::*;
/// # let job = |deadline| Job { id: JobId(uuid::Uuid::nil()), created_at: deadline,
/// #     updated_at: deadline, started_at: Some(deadline), cancelled_at: None,
/// #     completed_at: None, error: None, workspace_id: WorkspaceId(uuid::Uuid::nil()),
/// #     operation: Operation::Stop, deadline, run_at: deadline, attempt: 1,
/// #     failed_attempts: 0, lease_expires_at: None, claimed_by: None };
/// let at: chrono::DateTime<chrono::Utc> = "2026-01-05T18:00:00Z".parse().unwrap();
/// let mut ws = Workspace {
///     auto_stop_at: Some(at),
///     ..Workspace::new(WorkspaceId(uuid::Uuid::nil()), WorkspaceState::Stopping)
/// };
/// let config = Config { catch_up_window: Some(Duration::from_secs(3600)), ..Config::default() };
/// // Mid-transition: try again shortly, not at a time of the data's choosing.
/// let deferred = verdict(&job(at), Some(&ws), at, &config);
/// assert!(matches!(deferred, Verdict::Defer { until: None, .. }));
/// // Found two hours late, past the one-hour catch-up window: skipped, not acted on.
/// ws.state = WorkspaceState::Running;
/// let late = at + chrono::TimeDelta::hours(2);
/// assert!(matches!(verdict(&job(at), Some(&ws), late, &config), Verdict::Missed(_)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Call start (stop).
    Act,
    /// The workspace is already where the job would take it: complete, no call.
    AlreadyDone(String),
    /// Not now: release the job, to be claimed again at `until` at the earliest.
    Defer {
        /// Why, for the job's log.
        reason: String,
        /// The earliest time to try again, when the data names one.
        until: Option<DateTime<Utc>>,
    },
    /// Found more than `Config::catch_up_window` past its deadline: complete it
    /// without a call, logging by how much it was missed.
    Missed(String),
    /// The data no longer calls for the job: cancel it.
    Cancel {
        /// Why, for the job's log.
        reason: String,
        /// The workspace's time moved: reconcile it now so its new job is created
        /// without waiting for the next pass.
        rescheduled: bool,
    },
}

/// Executor step 2: what `job` should do, given the workspace as it is now (`None` if it
/// no longer exists). The job acts only if the workspace's own data still calls for
/// exactly this occurrence: its time for the operation is still the job's deadline, is
/// due at `now` (less `config.start_lead` for a start), is not further past than
/// `config.catch_up_window`, and its state is one the operation applies to.
///
/// ```
/// use workspace_lifecycle::executor::{verdict, Verdict};
/// # use workspace_lifecycle::*;
/// # let job = |deadline| Job { id: JobId(uuid::Uuid::nil()), created_at: deadline,
/// #     updated_at: deadline, started_at: Some(deadline), cancelled_at: None,
/// #     completed_at: None, error: None, workspace_id: WorkspaceId(uuid::Uuid::nil()),
/// #     operation: Operation::Stop, deadline, run_at: deadline, attempt: 1,
/// #     failed_attempts: 0, lease_expires_at: None, claimed_by: None };
/// let at = "2026-01-05T18:00:00Z".parse().unwrap();
/// let mut ws = Workspace {
///     auto_stop_at: Some(at),
///     ..Workspace::new(WorkspaceId(uuid::Uuid::nil()), WorkspaceState::Running)
/// };
/// let config = Config::default();
/// assert_eq!(verdict(&job(at), Some(&ws), at, &config), Verdict::Act);
/// ws.state = WorkspaceState::Stopped;
/// assert!(matches!(verdict(&job(at), Some(&ws), at, &config), Verdict::AlreadyDone(_)));
/// ws.auto_stop_at = None;
/// assert!(matches!(verdict(&job(at), Some(&ws), at, &config), Verdict::Cancel { .. }));
/// ```
pub fn verdict(
    job: &Job,
    workspace: Option<&Workspace>,
    now: DateTime<Utc>,
    config: &Config,
) -> Verdict {
    let op = job.operation;
    let Some(ws) = workspace else {
        return Verdict::Cancel {
            reason: "cancelled: the workspace no longer exists".into(),
            rescheduled: false,
        };
    };
    let Some(at) = ws.scheduled_at(op) else {
        return Verdict::Cancel {
            reason: format!("cancelled: the workspace no longer has an auto-{op} time"),
            rescheduled: false,
        };
    };
    if at != job.deadline {
        return Verdict::Cancel {
            reason: format!(
                "cancelled: the workspace's auto-{op} time moved from {} to {}; a new job follows",
                job.deadline.to_rfc3339(),
                at.to_rfc3339()
            ),
            rescheduled: true,
        };
    }
    let claimable = crate::clock::sub(at, config.lead(op));
    if claimable > now {
        // Only reachable if the clock went back after the claim; never act early.
        return Verdict::Defer {
            reason: format!("deferred: not due until {}", claimable.to_rfc3339()),
            until: Some(claimable),
        };
    }
    match ws.readiness(op) {
        Readiness::Act => match config.catch_up_window {
            Some(window) if now - at > TimeDelta::from_std(window).unwrap_or(TimeDelta::MAX) => {
                Verdict::Missed(format!(
                    "skipped: the {op} due at {} was missed by {}s, beyond the catch-up window of {}s",
                    at.to_rfc3339(),
                    (now - at).num_seconds(),
                    window.as_secs()
                ))
            }
            _ => Verdict::Act,
        },
        Readiness::AlreadyDone => Verdict::AlreadyDone(format!(
            "completed without a call: the workspace is already {}",
            ws.state
        )),
        Readiness::InTransition => Verdict::Defer {
            reason: format!(
                "deferred: the workspace is {}; trying again shortly",
                ws.state
            ),
            until: None,
        },
        Readiness::NotApplicable => Verdict::Cancel {
            reason: format!(
                "cancelled: the workspace is {}; auto-{op} does not act on it",
                ws.state
            ),
            rescheduled: false,
        },
    }
}
