//! Rows back into values: driver errors mapped to [`StoreError`], job rows decoded
//! through [`JobRow`] so a value the code cannot represent is an error naming it, and
//! the batch helpers that set such rows aside instead of failing the batch.

use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

use crate::error::{ParseNameError, StoreError};
use crate::ids::JobId;
use crate::job::{Job, JobLog};
use crate::store::row::{timestamp, JobRow};

/// Maps a driver error to the store's typed errors.
pub(super) fn db_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // unique_violation, serialization_failure, deadlock_detected
            Some("23505" | "40001" | "40P01") => StoreError::Conflict(Box::new(error)),
            _ => StoreError::Backend(Box::new(error)),
        },
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => StoreError::Unavailable(Box::new(error)),
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_) => StoreError::InvalidData(error.to_string()),
        _ => StoreError::Backend(Box::new(error)),
    }
}

pub(super) fn column<'r, T>(row: &'r PgRow, name: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(name).map_err(db_error)
}

/// A timestamp column read as Postgres' raw microseconds and checked (see
/// [`JobRow`]): sqlx's own chrono decoding panics on `infinity` and on years past
/// chrono's range.
pub(super) fn raw_time(row: &PgRow, name: &str) -> Result<Option<i64>, StoreError> {
    row.try_get_unchecked::<Option<i64>, _>(name)
        .map_err(db_error)
}

fn required_time(row: &PgRow, name: &str) -> Result<i64, StoreError> {
    raw_time(row, name)?
        .ok_or_else(|| StoreError::InvalidData(format!("{name} is null in a job row")))
}

fn job_row(row: &PgRow) -> Result<JobRow, StoreError> {
    Ok(JobRow {
        id: column(row, "id")?,
        created_at: required_time(row, "created_at")?,
        updated_at: required_time(row, "updated_at")?,
        started_at: raw_time(row, "started_at")?,
        cancelled_at: raw_time(row, "cancelled_at")?,
        completed_at: raw_time(row, "completed_at")?,
        error: column(row, "error")?,
        workspace_id: column(row, "workspace_id")?,
        operation: column(row, "operation")?,
        deadline: required_time(row, "deadline")?,
        run_at: required_time(row, "run_at")?,
        attempt: column(row, "attempt")?,
        failed_attempts: column(row, "failed_attempts")?,
        lease_expires_at: raw_time(row, "lease_expires_at")?,
        claimed_by: column(row, "claimed_by")?,
    })
}

/// Decodes a job row; a value the code does not know (an operation, a timestamp past
/// chrono's range, a negative count) is [`StoreError::InvalidData`] naming it, never
/// a panic.
pub(super) fn job_from_row(row: &PgRow) -> Result<Job, StoreError> {
    job_row(row)?.into_job()
}

/// Decodes a log line; a `created_at` past chrono's range (a hand-edited `infinity`)
/// is [`StoreError::InvalidData`] naming the line and its job, as for a job row read
/// by id, never a panic.
pub(super) fn log_from_row(row: &PgRow) -> Result<JobLog, StoreError> {
    let id: Uuid = column(row, "id")?;
    let job_id: Uuid = column(row, "job_id")?;
    let level: String = column(row, "level")?;
    let created_at = required_time(row, "created_at")
        .and_then(|micros| timestamp(job_id, "created_at", micros))
        .map_err(|error| StoreError::InvalidData(format!("log line {id}: {error}")))?;
    Ok(JobLog {
        id,
        job_id: JobId(job_id),
        created_at,
        level: level
            .parse()
            .map_err(|e: ParseNameError| StoreError::InvalidData(e.to_string()))?,
        output: column(row, "output")?,
    })
}

/// A job row the code cannot represent, set aside so the rest of its batch goes on.
pub(super) struct Undecodable {
    pub(super) id: Uuid,
    pub(super) attempt: i32,
    pub(super) running: bool,
    pub(super) reason: String,
}

/// Decodes a batch, separating the rows that hold values the code cannot represent.
/// Only a row whose id, attempt or state cannot even be read fails the batch.
pub(super) fn decode_jobs(rows: &[PgRow]) -> Result<(Vec<Job>, Vec<Undecodable>), StoreError> {
    let mut jobs = Vec::with_capacity(rows.len());
    let mut bad = Vec::new();
    for row in rows {
        match job_from_row(row) {
            Ok(job) => jobs.push(job),
            Err(StoreError::InvalidData(reason)) => bad.push(Undecodable {
                id: column(row, "id")?,
                attempt: column(row, "attempt")?,
                running: raw_time(row, "started_at")?.is_some(),
                reason,
            }),
            Err(error) => return Err(error),
        }
    }
    Ok((jobs, bad))
}

/// The row a fenced write returned, or `LeaseLost` when it matched none (the attempt
/// no longer holds the job).
pub(super) fn held(row: Option<PgRow>, job: JobId, attempt: u32) -> Result<PgRow, StoreError> {
    row.ok_or(StoreError::LeaseLost { job, attempt })
}

pub(super) fn jobs_from_rows(rows: &[PgRow]) -> Result<Vec<Job>, StoreError> {
    rows.iter().map(job_from_row).collect()
}

/// Open rows of a page, less the undecodable ones: those are logged and skipped, so
/// one bad row never stops a scheduler pass (the claim sets a due one aside).
pub(super) fn open_jobs_from_rows(rows: &[PgRow]) -> Result<Vec<Job>, StoreError> {
    let (jobs, bad) = decode_jobs(rows)?;
    for row in bad {
        tracing::warn!(job_id = %row.id, reason = %row.reason, "skipping an undecodable job row");
    }
    Ok(jobs)
}
