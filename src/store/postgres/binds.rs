//! Values into bind parameters: the parallel arrays the batch statements of `sql.rs`
//! take (one array per column, `unnest`ed in SQL), and the enums as their text.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::q;
use crate::error::StoreError;
use crate::ids::JobId;
use crate::job::LogLine;

pub(super) fn attempt_param(attempt: u32) -> Result<i32, StoreError> {
    i32::try_from(attempt).map_err(|_| {
        StoreError::InvalidData(format!("attempt {attempt} exceeds the column's range"))
    })
}

/// The parallel arrays a batch of (job, optional fencing attempt, line) binds as.
pub(super) type FencedLines<'a> = (
    Vec<Uuid>,
    Vec<Option<i32>>,
    Vec<Option<&'static str>>,
    Vec<Option<&'a str>>,
);

/// The parallel arrays of (job, fencing attempt, line); a missing line binds as null
/// and the statement logs nothing for it.
pub(super) fn fenced_lines<'a>(
    items: impl Iterator<Item = (JobId, Option<u32>, Option<&'a LogLine>)>,
) -> Result<FencedLines<'a>, StoreError> {
    let mut out: FencedLines<'a> = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (job, attempt, line) in items {
        out.0.push(job.0);
        out.1.push(attempt.map(attempt_param).transpose()?);
        out.2.push(line.map(|l| l.level().as_str()));
        out.3.push(line.map(LogLine::output));
    }
    Ok(out)
}

/// A batch statement taking $1 now, then the four arrays of [`fenced_lines`].
pub(super) fn bind_fenced<'a>(
    sql: &Arc<str>,
    now: DateTime<Utc>,
    (ids, attempts, levels, outputs): FencedLines<'a>,
) -> sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments> {
    q(sql).bind(now).bind(ids).bind(attempts).bind(levels).bind(
        outputs
            .into_iter()
            .map(|o| o.map(str::to_owned))
            .collect::<Vec<Option<String>>>(),
    )
}

/// Optional lines as the level and output arrays of a batch statement.
pub(super) fn optional_lines<'a>(
    lines: impl Iterator<Item = Option<&'a LogLine>>,
) -> (Vec<Option<&'static str>>, Vec<Option<&'a str>>) {
    lines
        .map(|l| (l.map(|l| l.level().as_str()), l.map(LogLine::output)))
        .unzip()
}

pub(super) fn lines(logs: &[LogLine]) -> (Vec<&'static str>, Vec<String>) {
    logs.iter()
        .map(|l| (l.level().as_str(), l.output().to_owned()))
        .unzip()
}
