//! The reconcile rule: [`plan`], the changes that make one workspace's open jobs match
//! its data, a pure function of the workspace, its open jobs, the time and the
//! configuration. The changes are final: the pass around it only writes them and
//! reports what the store did.

use chrono::{DateTime, Utc};

use crate::clock::sub;
use crate::config::Config;
use crate::ids::WorkspaceId;
use crate::job::{
    deadline_supported, Job, JobState, Operation, EARLIEST_DEADLINE, LATEST_DEADLINE,
};
use crate::workspace::{Readiness, Workspace};

/// One change the reconcile rule asks for, with everything its write and its report
/// need.
///
/// ```
/// use workspace_lifecycle::scheduler::{plan, Change};
/// use workspace_lifecycle::{Config, Workspace, WorkspaceId, WorkspaceState};
/// # use workspace_lifecycle::*;
/// # let pending = |deadline| Job { id: JobId(uuid::Uuid::nil()), created_at: deadline,
/// #     updated_at: deadline, started_at: None, cancelled_at: None, completed_at: None,
/// #     error: None, workspace_id: WorkspaceId(uuid::Uuid::nil()),
/// #     operation: Operation::Stop, deadline, run_at: deadline, attempt: 0,
/// #     failed_attempts: 0, lease_expires_at: None, claimed_by: None };
/// let now = "2026-01-05T08:00:00Z".parse().unwrap();
/// let old = "2026-01-05T18:00:00Z".parse().unwrap();
/// let new = "2026-01-05T19:00:00Z".parse().unwrap();
/// let open = [pending(old)]; // a pending stop job for 18:00
/// let mut ws = Workspace {
///     auto_stop_at: Some(new),
///     ..Workspace::new(WorkspaceId(uuid::Uuid::nil()), WorkspaceState::Running)
/// };
/// let config = Config::default();
/// // Activity moved the auto-stop: the job moves with it rather than being replaced.
/// let changes = plan(Some(&ws), &open, now, &config);
/// assert!(matches!(&changes[..], [Change::Reschedule { deadline, .. }] if *deadline == new));
/// ws.auto_stop_at = None;
/// assert!(matches!(&plan(Some(&ws), &open, now, &config)[..], [Change::Cancel { .. }]));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Create a job (rules 1 and 2).
    Create {
        /// The workspace.
        workspace_id: WorkspaceId,
        /// Start or stop.
        operation: Operation,
        /// The workspace's auto-start (auto-stop) time.
        deadline: DateTime<Utc>,
        /// When the job becomes claimable, if before the deadline (a start's
        /// `Config::start_lead`); `None` means at the deadline.
        run_at: Option<DateTime<Utc>>,
        /// Why, for the job's log.
        reason: String,
    },
    /// Move a pending job to the workspace's current time (rule 5).
    Reschedule {
        /// The job, as read before the move.
        job: Job,
        /// The new deadline.
        deadline: DateTime<Utc>,
        /// The new `run_at`, as for [`Change::Create`].
        run_at: Option<DateTime<Utc>>,
        /// Why, for the job's log.
        reason: String,
        /// Why the job is cancelled instead if the store finds the new occurrence
        /// already acted on by another job (`StoreError::OccurrenceTaken`): moving
        /// onto it would act twice on one occurrence.
        if_taken: String,
    },
    /// Cancel a pending job (rules 3, 4, 6 and 7).
    Cancel {
        /// The job, as read.
        job: Job,
        /// Why, for the job's log.
        reason: String,
    },
    /// Refuse a workspace time outside [`EARLIEST_DEADLINE`]..=[`LATEST_DEADLINE`]: no
    /// job is created for it (a pending one is cancelled); the pass warns and goes on.
    Refuse {
        /// The workspace.
        workspace_id: WorkspaceId,
        /// Start or stop.
        operation: Operation,
        /// What was wrong, with the value.
        reason: String,
    },
    /// Leave a workspace time older than the schedule horizon unscheduled (rule 7):
    /// no job is created for it (a pending one is cancelled); the pass counts it.
    Stale {
        /// The workspace.
        workspace_id: WorkspaceId,
        /// Start or stop.
        operation: Operation,
        /// The workspace's time.
        deadline: DateTime<Utc>,
    },
}

/// The reconcile rule: what to change so that `open` (the open jobs of one workspace)
/// matches the workspace's data at `now`. `workspace` is `None` when it no longer
/// exists.
///
/// 1. Running (or failed), has an auto-stop time, no open stop job: create one.
/// 2. Stopped, has an auto-start time, no open start job: create one.
/// 3. Pending start job, no auto-start time: cancel it.
/// 4. Pending stop job, no auto-stop time: cancel it.
/// 5. Pending job whose deadline differs from the workspace's time: move it.
/// 6. Pending job of a workspace that no longer exists: cancel it.
/// 7. A time that rule 1, 2 or 5 would schedule but that is older than
///    `config.schedule_horizon(operation, now)` is not scheduled: [`Change::Stale`],
///    and a pending job that would move to it is cancelled. Its occurrence may have
///    been acted on and its completed job pruned, and then nothing in the table would
///    stop it being acted on again.
///
/// A time outside [`EARLIEST_DEADLINE`]..=[`LATEST_DEADLINE`] (say chrono's
/// `MAX_UTC`, which Postgres cannot store) is refused instead: [`Change::Refuse`], and
/// its pending job, if any, is cancelled.
///
/// Running jobs are left alone: their executor re-checks the workspace before acting.
/// A job is not created for an occurrence that was already completed; the store
/// enforces that (see [`JobStore`](crate::JobStore)).
///
/// ```
/// use std::time::Duration;
/// use workspace_lifecycle::scheduler::{plan, Change};
/// use workspace_lifecycle::{Config, Operation, Workspace, WorkspaceId, WorkspaceState};
///
/// let now = "2026-01-05T08:00:00Z".parse().unwrap();
/// let at = "2026-01-05T09:00:00Z".parse().unwrap();
/// let ws = Workspace {
///     auto_start_at: Some(at),
///     ..Workspace::new(WorkspaceId(uuid::Uuid::nil()), WorkspaceState::Stopped)
/// };
/// let config = Config::default();
/// let changes = plan(Some(&ws), &[], now, &config);
/// assert!(matches!(
///     &changes[..],
///     [Change::Create { operation: Operation::Start, deadline, .. }] if *deadline == at
/// ));
/// // A week and a day later, past the retention period: left unscheduled.
/// let later = "2026-01-13T09:00:00Z".parse().unwrap();
/// assert!(matches!(&plan(Some(&ws), &[], later, &config)[..], [Change::Stale { .. }]));
/// ```
pub fn plan(
    workspace: Option<&Workspace>,
    open: &[Job],
    now: DateTime<Utc>,
    config: &Config,
) -> Vec<Change> {
    let mut changes = Vec::new();
    let Some(ws) = workspace else {
        for job in open.iter().filter(|j| j.state() == JobState::Pending) {
            changes.push(Change::Cancel {
                job: job.clone(),
                reason: "cancelled: the workspace no longer exists".into(),
            });
        }
        return changes;
    };
    let stale = |operation, deadline| {
        config
            .schedule_horizon(operation, now)
            .is_some_and(|horizon| deadline < horizon)
    };
    for operation in Operation::ALL {
        let job = open.iter().find(|j| j.operation == operation);
        let wanted = ws.scheduled_at(operation);
        if let Some(at) = wanted.filter(|at| !deadline_supported(*at)) {
            let reason = format!(
                "the workspace's auto-{operation} time {} is outside the supported range {} to {}",
                at.to_rfc3339(),
                EARLIEST_DEADLINE.to_rfc3339(),
                LATEST_DEADLINE.to_rfc3339()
            );
            if let Some(job) = job.filter(|j| j.state() == JobState::Pending) {
                changes.push(Change::Cancel {
                    job: job.clone(),
                    reason: format!("cancelled: {reason}"),
                });
            }
            changes.push(Change::Refuse {
                workspace_id: ws.id,
                operation,
                reason,
            });
            continue;
        }
        let unscheduled = |deadline| Change::Stale {
            workspace_id: ws.id,
            operation,
            deadline,
        };
        match (job, wanted) {
            (Some(job), _) if job.state() != JobState::Pending => {}
            (Some(job), None) => changes.push(Change::Cancel {
                job: job.clone(),
                reason: format!("cancelled: the workspace no longer has an auto-{operation} time"),
            }),
            (Some(job), Some(at)) if at != job.deadline && stale(operation, at) => {
                changes.push(Change::Cancel {
                    job: job.clone(),
                    reason: format!(
                        "cancelled: the workspace's new auto-{operation} time {} is older than the retention period",
                        at.to_rfc3339()
                    ),
                });
                changes.push(unscheduled(at));
            }
            (Some(job), Some(at)) if at != job.deadline => changes.push(Change::Reschedule {
                job: job.clone(),
                deadline: at,
                run_at: lead_run_at(config, operation, at),
                reason: format!(
                    "deadline moved from {} to {}: the workspace's auto-{operation} time changed",
                    job.deadline.to_rfc3339(),
                    at.to_rfc3339()
                ),
                if_taken: format!(
                    "cancelled: the workspace's new time {} was already acted on by another job",
                    at.to_rfc3339()
                ),
            }),
            (Some(_), Some(_)) => {}
            (None, Some(at)) if ws.readiness(operation) == Readiness::Act => {
                if stale(operation, at) {
                    changes.push(unscheduled(at));
                } else {
                    changes.push(Change::Create {
                        workspace_id: ws.id,
                        operation,
                        deadline: at,
                        run_at: lead_run_at(config, operation, at),
                        reason: format!(
                            "scheduled: the workspace is {} with auto-{operation} at {}",
                            ws.state,
                            at.to_rfc3339()
                        ),
                    });
                }
            }
            (None, _) => {}
        }
    }
    changes
}

/// A start job's `run_at` with the configured lead; `None` (the deadline) otherwise.
fn lead_run_at(
    config: &Config,
    operation: Operation,
    deadline: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let lead = config.lead(operation);
    (!lead.is_zero()).then(|| sub(deadline, lead).max(EARLIEST_DEADLINE))
}
