//! Checks over a whole run: the job table's safety invariants and the liveness oracle
//! (what was owed, and what was left behind).

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::FakeWorkspaces;
use crate::config::Config;
use crate::job::{deadline_supported, Job, JobState, Occurrence, Operation};
use crate::workspace::{Readiness, Workspace};

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
