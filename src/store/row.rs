//! [`JobRow`]: a job row as a SQL database hands it over, before the crate trusts it.
//!
//! A row may hold what the code cannot represent: an operation added by a newer
//! version, a timestamp past chrono's range (Postgres goes to 294276 AD, and has
//! `infinity`), a negative count written by hand. Decoding turns each of those into
//! [`StoreError::InvalidData`] naming the column and the value, never a panic, so a
//! store can set that one row aside and go on with the rest.
//!
//! A decoding detail of the Postgres store, kept free of sqlx so the fuzz target
//! (`fuzz/fuzz_targets/job_row.rs`) and the bad-input tests can build rows without a
//! database: public as `workspace_lifecycle::row::JobRow`, hidden from the docs, not
//! part of the API.

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::error::StoreError;
use crate::ids::{ExecutorId, JobId, WorkspaceId};
use crate::job::{Job, Operation};

/// Postgres' timestamp epoch, 2000-01-01T00:00:00Z, as seconds since the Unix epoch.
const PG_EPOCH_UNIX_SECS: i64 = 946_684_800;

/// A job row in the raw form a database returns: the operation as text, counts as
/// 32-bit integers and timestamps as microseconds since 2000-01-01T00:00:00Z (Postgres'
/// binary `timestamptz`; `i64::MAX` and `i64::MIN` are `infinity` and `-infinity`).
///
/// ```
/// use workspace_lifecycle::row::JobRow;
/// use workspace_lifecycle::StoreError;
///
/// let day = 86_400_000_000; // one day in microseconds: 2000-01-02
/// let row = JobRow {
///     id: uuid::Uuid::from_u128(1), created_at: 0, updated_at: 0, started_at: None,
///     cancelled_at: None, completed_at: None, error: None,
///     workspace_id: uuid::Uuid::from_u128(2), operation: "start".into(), deadline: day,
///     run_at: day, attempt: 0, failed_attempts: 0, lease_expires_at: None, claimed_by: None,
/// };
/// assert_eq!(row.clone().into_job().unwrap().deadline.to_rfc3339(), "2000-01-02T00:00:00+00:00");
///
/// let negative = JobRow { failed_attempts: -1, ..row };
/// let Err(StoreError::InvalidData(message)) = negative.into_job() else { panic!() };
/// assert!(message.ends_with("failed_attempts is -1, expected >= 0"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRow {
    /// `id`.
    pub id: Uuid,
    /// `created_at`.
    pub created_at: i64,
    /// `updated_at`.
    pub updated_at: i64,
    /// `started_at`.
    pub started_at: Option<i64>,
    /// `cancelled_at`.
    pub cancelled_at: Option<i64>,
    /// `completed_at`.
    pub completed_at: Option<i64>,
    /// `error`.
    pub error: Option<String>,
    /// `workspace_id`.
    pub workspace_id: Uuid,
    /// `operation`, as text.
    pub operation: String,
    /// `deadline`.
    pub deadline: i64,
    /// `run_at`.
    pub run_at: i64,
    /// `attempt`.
    pub attempt: i32,
    /// `failed_attempts`.
    pub failed_attempts: i32,
    /// `lease_expires_at`.
    pub lease_expires_at: Option<i64>,
    /// `claimed_by`.
    pub claimed_by: Option<Uuid>,
}

impl JobRow {
    /// The job this row holds.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidData`] naming the first column whose value the code cannot
    /// represent: an unknown operation, a negative count, a timestamp outside chrono's
    /// range.
    ///
    /// ```
    /// use workspace_lifecycle::row::JobRow;
    /// use workspace_lifecycle::{Operation, StoreError};
    /// let row = JobRow {
    ///     id: uuid::Uuid::from_u128(1), created_at: 0, updated_at: 0, started_at: None,
    ///     cancelled_at: None, completed_at: None, error: None,
    ///     workspace_id: uuid::Uuid::from_u128(2), operation: "stop".into(), deadline: 0,
    ///     run_at: 0, attempt: 0, failed_attempts: 0, lease_expires_at: None,
    ///     claimed_by: None,
    /// };
    /// let job = row.clone().into_job().unwrap();
    /// assert_eq!(job.operation, Operation::Stop);
    /// assert_eq!(job.deadline.to_rfc3339(), "2000-01-01T00:00:00+00:00");
    ///
    /// let restart = JobRow { operation: "restart".into(), ..row.clone() };
    /// assert!(matches!(restart.into_job(), Err(StoreError::InvalidData(_))));
    /// let infinity = JobRow { deadline: i64::MAX, ..row };
    /// assert!(matches!(infinity.into_job(), Err(StoreError::InvalidData(_))));
    /// ```
    pub fn into_job(self) -> Result<Job, StoreError> {
        let operation = match self.operation.as_str() {
            "start" => Operation::Start,
            "stop" => Operation::Stop,
            other => {
                return Err(StoreError::InvalidData(format!(
                    "job {}: operation {other:?} is neither \"start\" nor \"stop\"",
                    self.id
                )))
            }
        };
        let id = self.id;
        let at = |column: &str, micros: i64| timestamp(id, column, micros);
        let maybe = |column: &str, micros: Option<i64>| micros.map(|m| at(column, m)).transpose();
        let count = |column: &str, value: i32| {
            u32::try_from(value).map_err(|_| {
                StoreError::InvalidData(format!("job {id}: {column} is {value}, expected >= 0"))
            })
        };
        Ok(Job {
            id: JobId(id),
            created_at: at("created_at", self.created_at)?,
            updated_at: at("updated_at", self.updated_at)?,
            started_at: maybe("started_at", self.started_at)?,
            cancelled_at: maybe("cancelled_at", self.cancelled_at)?,
            completed_at: maybe("completed_at", self.completed_at)?,
            error: self.error,
            workspace_id: WorkspaceId(self.workspace_id),
            operation,
            deadline: at("deadline", self.deadline)?,
            run_at: at("run_at", self.run_at)?,
            attempt: count("attempt", self.attempt)?,
            failed_attempts: count("failed_attempts", self.failed_attempts)?,
            lease_expires_at: maybe("lease_expires_at", self.lease_expires_at)?,
            claimed_by: self.claimed_by.map(ExecutorId),
        })
    }
}

/// A timestamp given as microseconds since 2000-01-01T00:00:00Z, checked against
/// chrono's range instead of overflowing (sqlx's own decoding panics past it).
pub(crate) fn timestamp(job: Uuid, column: &str, micros: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp(PG_EPOCH_UNIX_SECS, 0)
        .and_then(|epoch| epoch.checked_add_signed(TimeDelta::microseconds(micros)))
        .ok_or_else(|| {
            let shown = match micros {
                i64::MAX => "infinity".to_owned(),
                i64::MIN => "-infinity".to_owned(),
                m => format!("{m} µs after 2000-01-01"),
            };
            StoreError::InvalidData(format!(
                "job {job}: {column} is {shown}, outside the range this crate can represent"
            ))
        })
}
