//! Fuzzes the decoding of raw job rows (`JobRow::into_job`) and everything that reads
//! a decoded job: a row is what a database hands over, so it may hold any operation
//! text, negative counts, and timestamps anywhere in Postgres' range and beyond
//! (`i64::MAX`/`i64::MIN` microseconds are `infinity`/`-infinity`).
//!
//! Asserts: decoding never panics; it fails exactly when some column cannot be
//! represented (checked here independently), and then with `StoreError::InvalidData`
//! naming such a column; a decoded job holds the row's values (timestamps round-trip
//! to the microsecond). Then `Job::state`, `Job::occurrence` (and its `Display`),
//! `executor::verdict` against an arbitrary workspace (or none), `now` and config,
//! and `scheduler::plan` with the job open (and with the workspace gone), at `now` and
//! with either config, must not panic.
//!
//! RUSTC_BOOTSTRAP=1 cargo fuzz run job_row
#![no_main]

use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use chrono::{DateTime, TimeDelta, Utc};
use libfuzzer_sys::fuzz_target;
use uuid::Uuid;
use workspace_lifecycle::executor::{verdict, Verdict};
use workspace_lifecycle::row::JobRow;
use workspace_lifecycle::scheduler::{plan, Change};
use workspace_lifecycle::{
    Config, JobState, StoreError, Workspace, WorkspaceId, WorkspaceState, EARLIEST_DEADLINE,
    LATEST_DEADLINE,
};

/// Postgres' epoch, 2000-01-01T00:00:00Z, in microseconds since the Unix epoch.
const PG_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;

/// A timestamp column's raw value, biased toward the values that matter.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Micros {
    Raw(i64),
    /// Near 2000-01-01: small offsets.
    Near(i32),
    /// Around chrono's limits, the crate's deadline range, and the infinities.
    Edge(u8, i16),
}

impl Micros {
    fn value(self) -> i64 {
        match self {
            Micros::Raw(m) => m,
            Micros::Near(m) => i64::from(m) * 1_000,
            Micros::Edge(which, delta) => {
                let to_pg =
                    |at: DateTime<Utc>| at.timestamp_micros().saturating_sub(PG_EPOCH_UNIX_MICROS);
                let base = match which % 8 {
                    0 => i64::MAX,
                    1 => i64::MIN,
                    2 => to_pg(DateTime::<Utc>::MAX_UTC),
                    3 => to_pg(DateTime::<Utc>::MIN_UTC),
                    4 => to_pg(EARLIEST_DEADLINE),
                    5 => to_pg(LATEST_DEADLINE),
                    // Postgres' own limits: 294276-12-31 and 4713-11-24 BC.
                    6 => 9_224_318_015_999_999,
                    _ => -211_813_488_000_000_000,
                };
                base.saturating_add(i64::from(delta))
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
enum OperationText {
    Start,
    Stop,
    Other(String),
}

#[derive(Arbitrary, Debug)]
struct Row {
    id: u128,
    created_at: Micros,
    updated_at: Micros,
    started_at: Option<Micros>,
    cancelled_at: Option<Micros>,
    completed_at: Option<Micros>,
    error: Option<String>,
    workspace_id: u128,
    operation: OperationText,
    deadline: Micros,
    run_at: Micros,
    attempt: i32,
    failed_attempts: i32,
    lease_expires_at: Option<Micros>,
    claimed_by: Option<u128>,
}

impl Row {
    fn to_row(&self) -> JobRow {
        let at = |m: Option<Micros>| m.map(Micros::value);
        JobRow {
            id: Uuid::from_u128(self.id),
            created_at: self.created_at.value(),
            updated_at: self.updated_at.value(),
            started_at: at(self.started_at),
            cancelled_at: at(self.cancelled_at),
            completed_at: at(self.completed_at),
            error: self.error.clone(),
            workspace_id: Uuid::from_u128(self.workspace_id),
            operation: match &self.operation {
                OperationText::Start => "start".to_owned(),
                OperationText::Stop => "stop".to_owned(),
                OperationText::Other(text) => text.clone(),
            },
            deadline: self.deadline.value(),
            run_at: self.run_at.value(),
            attempt: self.attempt,
            failed_attempts: self.failed_attempts,
            lease_expires_at: at(self.lease_expires_at),
            claimed_by: self.claimed_by.map(Uuid::from_u128),
        }
    }
}

/// The instant `micros` after 2000-01-01 if chrono can hold it, computed without the
/// crate's code.
fn instant(micros: i64) -> Option<DateTime<Utc>> {
    micros
        .checked_add(PG_EPOCH_UNIX_MICROS)
        .and_then(DateTime::from_timestamp_micros)
}

/// The columns whose values cannot be represented, by name.
fn invalid_columns(row: &JobRow) -> Vec<&'static str> {
    let mut bad = Vec::new();
    if row.operation != "start" && row.operation != "stop" {
        bad.push("operation");
    }
    let times = [
        ("created_at", Some(row.created_at)),
        ("updated_at", Some(row.updated_at)),
        ("started_at", row.started_at),
        ("cancelled_at", row.cancelled_at),
        ("completed_at", row.completed_at),
        ("deadline", Some(row.deadline)),
        ("run_at", Some(row.run_at)),
        ("lease_expires_at", row.lease_expires_at),
    ];
    for (column, micros) in times {
        if micros.is_some_and(|m| instant(m).is_none()) {
            bad.push(column);
        }
    }
    if row.attempt < 0 {
        bad.push("attempt");
    }
    if row.failed_attempts < 0 {
        bad.push("failed_attempts");
    }
    bad
}

/// An arbitrary instant chrono can hold, biased toward the job's times.
fn any_instant(u: &mut Unstructured, near: DateTime<Utc>) -> arbitrary::Result<DateTime<Utc>> {
    Ok(match u.int_in_range(0u8..=3)? {
        0 => near,
        1 => near
            .checked_add_signed(TimeDelta::seconds(i64::from(u.arbitrary::<i32>()?)))
            .unwrap_or(near),
        2 => instant(u.arbitrary()?).unwrap_or(DateTime::<Utc>::MAX_UTC),
        _ => [
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
            EARLIEST_DEADLINE,
            LATEST_DEADLINE,
        ][usize::from(u.int_in_range(0u8..=3)?)],
    })
}

fn exercise(u: &mut Unstructured, job: &workspace_lifecycle::Job) -> arbitrary::Result<()> {
    let state = job.state();
    let occurrence = job.occurrence();
    assert_eq!(occurrence.deadline, job.deadline);
    assert_eq!(
        state.is_open(),
        matches!(state, JobState::Pending | JobState::Running)
    );
    let _ = occurrence.to_string();

    let id = if u.arbitrary()? {
        job.workspace_id
    } else {
        WorkspaceId(Uuid::from_u128(u.arbitrary()?))
    };
    let ws_state = [
        WorkspaceState::Running,
        WorkspaceState::Stopped,
        WorkspaceState::Starting,
        WorkspaceState::Stopping,
        WorkspaceState::Failed,
    ][usize::from(u.int_in_range(0u8..=4)?)];
    let time = |u: &mut Unstructured| -> arbitrary::Result<Option<DateTime<Utc>>> {
        Ok(if u.arbitrary()? {
            Some(any_instant(u, job.deadline)?)
        } else {
            None
        })
    };
    let workspace = Workspace {
        id,
        state: ws_state,
        auto_start_at: time(u)?,
        auto_stop_at: time(u)?,
    };
    let present = u.arbitrary::<bool>()?;
    let now = any_instant(u, job.run_at)?;
    let config = Config {
        start_lead: Duration::from_secs(u64::from(u.arbitrary::<u32>()?)),
        catch_up_window: if u.arbitrary()? {
            Some(Duration::from_secs(u64::from(u.arbitrary::<u32>()?).max(1)))
        } else {
            None
        },
        ..Config::default()
    };
    for config in [&Config::default(), &config] {
        let decided = verdict(job, present.then_some(&workspace), now, config);
        if decided == Verdict::Act {
            assert!(present, "acted on a missing workspace");
            assert_eq!(workspace.scheduled_at(job.operation), Some(job.deadline));
        }
    }

    let open = [job.clone()];
    let default = Config::default();
    for config in [&default, &config] {
        for ws in [Some(&workspace), None] {
            for change in plan(ws, &open, now, config) {
                if let Change::Reschedule { job: target, .. } | Change::Cancel { job: target, .. } =
                    change
                {
                    assert_eq!(target.id, job.id, "touched an unknown job");
                    assert_eq!(
                        state,
                        JobState::Pending,
                        "touched a job that is not pending"
                    );
                }
            }
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(input) = Row::arbitrary(&mut u) else {
        return;
    };
    let row = input.to_row();
    let bad = invalid_columns(&row);
    match row.clone().into_job() {
        Ok(job) => {
            assert!(
                bad.is_empty(),
                "decoded a row with invalid {bad:?}: {row:?}"
            );
            let micros = |at: DateTime<Utc>| at.timestamp_micros() - PG_EPOCH_UNIX_MICROS;
            assert_eq!(job.id.0, row.id);
            assert_eq!(job.workspace_id.0, row.workspace_id);
            assert_eq!(job.operation.as_str(), row.operation);
            assert_eq!(micros(job.created_at), row.created_at);
            assert_eq!(micros(job.updated_at), row.updated_at);
            assert_eq!(job.started_at.map(micros), row.started_at);
            assert_eq!(job.cancelled_at.map(micros), row.cancelled_at);
            assert_eq!(job.completed_at.map(micros), row.completed_at);
            assert_eq!(micros(job.deadline), row.deadline);
            assert_eq!(micros(job.run_at), row.run_at);
            assert_eq!(job.lease_expires_at.map(micros), row.lease_expires_at);
            assert_eq!(i64::from(job.attempt), i64::from(row.attempt));
            assert_eq!(
                i64::from(job.failed_attempts),
                i64::from(row.failed_attempts)
            );
            assert_eq!(job.error, row.error);
            assert_eq!(job.claimed_by.map(|e| e.0), row.claimed_by);
            let _ = exercise(&mut u, &job);
        }
        Err(StoreError::InvalidData(message)) => {
            assert!(!bad.is_empty(), "refused a valid row ({message}): {row:?}");
            let named = bad.iter().any(|column| {
                if *column == "operation" {
                    message.contains(&format!("operation {:?}", row.operation))
                } else {
                    message.contains(&format!("{column} is"))
                }
            });
            assert!(
                named,
                "{message:?} names none of the invalid columns {bad:?}"
            );
            assert!(
                message.contains(&row.id.to_string()),
                "{message:?} does not name the job"
            );
        }
        Err(other) => panic!("a row decoding error other than InvalidData: {other:?}"),
    }
});
