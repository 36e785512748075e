//! Fuzzes the pure rules with arbitrary inputs: the reconcile rule (`scheduler::plan`),
//! the execution rule (`executor::verdict`) and log-line fitting. Asserts what the
//! property tests assert, on inputs no strategy would think of: no panic; `plan` never
//! touches a running job, never adds a second open job, never creates or moves a job to
//! a time older than the schedule horizon, and reaches a fixed point in one step; `verdict` never acts before the deadline or on a workspace whose data does not
//! call for the job; a fitted log line is at most 1,024 characters with no NUL.
//!
//! RUSTC_BOOTSTRAP=1 cargo fuzz run rules
#![no_main]

use chrono::{DateTime, TimeDelta, Utc};
use libfuzzer_sys::fuzz_target;
use uuid::Uuid;
use workspace_lifecycle::executor::{verdict, Verdict};
use workspace_lifecycle::scheduler::{plan, Change};
use workspace_lifecycle::{
    deadline_supported, ExecutorId, Job, JobId, JobState, LogLevel, LogLine, Operation, Readiness,
    Workspace, WorkspaceId, WorkspaceState,
};

mod bytes;
use bytes::Bytes;

impl Bytes<'_> {
    /// Any instant chrono can hold, biased toward a few nearby hours.
    fn time(&mut self) -> DateTime<Utc> {
        let base: DateTime<Utc> = DateTime::UNIX_EPOCH + TimeDelta::days(20_000);
        if self.byte() % 4 == 0 {
            DateTime::from_timestamp(self.i64() % 8_000_000_000_000, 0).unwrap_or(base)
        } else {
            base + TimeDelta::minutes(i64::from(self.byte() % 8))
        }
    }
    fn state(&mut self) -> WorkspaceState {
        [
            WorkspaceState::Running,
            WorkspaceState::Stopped,
            WorkspaceState::Starting,
            WorkspaceState::Stopping,
            WorkspaceState::Failed,
        ][usize::from(self.byte() % 5)]
    }
}

fn job(b: &mut Bytes, operation: Operation, ws: WorkspaceId) -> Job {
    let deadline = b.time();
    let running = b.byte() % 2 == 1;
    Job {
        id: JobId(Uuid::from_u128(operation as u128 + 1)),
        created_at: deadline,
        updated_at: deadline,
        started_at: running.then_some(deadline),
        cancelled_at: None,
        completed_at: None,
        error: None,
        workspace_id: ws,
        operation,
        deadline,
        run_at: deadline,
        attempt: u32::from(running),
        failed_attempts: 0,
        lease_expires_at: running.then_some(deadline),
        claimed_by: running.then(|| ExecutorId(Uuid::nil())),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let id = WorkspaceId(Uuid::from_u128(7));
    let workspace = (b.byte() % 4 != 0).then(|| Workspace {
        id,
        state: b.state(),
        auto_start_at: (b.byte() % 3 != 0).then(|| b.time()),
        auto_stop_at: (b.byte() % 3 != 0).then(|| b.time()),
    });
    let mut open = Vec::new();
    for operation in Operation::ALL {
        if b.byte() % 2 == 1 {
            open.push(job(&mut b, operation, id));
        }
    }
    let now = b.time();
    let config = workspace_lifecycle::Config {
        start_lead: std::time::Duration::from_secs(u64::from(b.byte()) * 60),
        catch_up_window: (b.byte() % 2 == 0)
            .then(|| std::time::Duration::from_secs(u64::from(b.byte()) * 60 + 60)),
        retention: (b.byte() % 2 == 0)
            .then(|| std::time::Duration::from_secs(u64::from(b.byte()) * 60 + 60)),
        ..workspace_lifecycle::Config::default()
    };
    let stale = |operation, deadline| {
        config
            .schedule_horizon(operation, now)
            .is_some_and(|horizon| deadline < horizon)
    };

    let changes = plan(workspace.as_ref(), &open, now, &config);
    let mut after = open.clone();
    for change in &changes {
        match change {
            Change::Create {
                operation,
                deadline,
                ..
            } => {
                assert!(
                    !open.iter().any(|j| j.operation == *operation),
                    "second open job"
                );
                assert!(!stale(*operation, *deadline), "created before the horizon");
                let mut created = job(&mut Bytes(&[]), *operation, id);
                created.started_at = None;
                created.deadline = *deadline;
                after.push(created);
            }
            Change::Reschedule {
                job: target,
                deadline,
                ..
            } => {
                let j = after
                    .iter_mut()
                    .find(|j| j.id == target.id)
                    .expect("known job");
                assert_eq!(j.state(), JobState::Pending, "moved a running job");
                assert!(!stale(j.operation, *deadline), "moved before the horizon");
                j.deadline = *deadline;
            }
            Change::Cancel { job: target, .. } => {
                let j = open.iter().find(|j| j.id == target.id).expect("known job");
                assert_eq!(j.state(), JobState::Pending, "cancelled a running job");
                after.retain(|j| j.id != target.id);
            }
            Change::Refuse { operation, .. } => {
                let ws = workspace
                    .as_ref()
                    .expect("refused a missing workspace's time");
                let at = ws.scheduled_at(*operation).expect("refused an unset time");
                assert!(!deadline_supported(at), "refused a supported time");
            }
            Change::Stale {
                operation,
                deadline,
                ..
            } => {
                let ws = workspace
                    .as_ref()
                    .expect("a missing workspace's time stale");
                assert_eq!(ws.scheduled_at(*operation), Some(*deadline));
                assert!(
                    stale(*operation, *deadline),
                    "a time within the horizon stale"
                );
            }
        }
    }
    // A refused or stale time stays so (a warning or a count, not a change to the table).
    assert!(
        plan(workspace.as_ref(), &after, now, &config)
            .iter()
            .all(|c| matches!(c, Change::Refuse { .. } | Change::Stale { .. })),
        "plan is not a fixed point"
    );

    for j in &open {
        if verdict(j, workspace.as_ref(), now, &config) == Verdict::Act {
            let ws = workspace.as_ref().expect("acted on a missing workspace");
            assert_eq!(ws.scheduled_at(j.operation), Some(j.deadline));
            let lead = chrono::TimeDelta::from_std(config.lead(j.operation)).unwrap_or_default();
            let claimable = j.deadline.checked_sub_signed(lead);
            assert!(
                claimable.is_none_or(|t| t <= now),
                "acted before the deadline, less the lead"
            );
            if let Some(window) = config.catch_up_window {
                assert!(
                    now - j.deadline <= chrono::TimeDelta::from_std(window).unwrap_or_default(),
                    "acted on a missed one"
                );
            }
            assert_eq!(ws.readiness(j.operation), Readiness::Act);
        }
    }

    let text = String::from_utf8_lossy(b.0);
    let line = LogLine::new(LogLevel::Info, text.as_ref());
    assert!(line.output().chars().count() <= LogLine::MAX_CHARS);
    assert!(!line.output().contains('\0'));
});
