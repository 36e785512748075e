//! Jobs and their logs: the rows of the seed's `workspace_lifecycle_job` and
//! `workspace_lifecycle_job_logs` tables, plus the columns a reliable queue needs.
//!
//! A job is one planned action (start or stop) on one workspace at one deadline. Its
//! life is a small state machine, derived from its timestamps exactly as the seed
//! defines them:
//!
//! ```text
//!            claim (started_at, attempt+1, lease)
//!   Pending ───────────────────────────────────────▶ Running
//!      ▲  │                                            │ │ │
//!      │  │ cancel (scheduler)        retry / release  │ │ │ complete (ok or error)
//!      │  ▼                           / rescue         │ │ ▼
//!   Cancelled ◀──── cancel (executor) ─────────────────┘ │ Completed
//!      ▲                                                 │
//!      └─────────────────────────────────────────────────┘
//! ```
//!
//! Every write after the claim is fenced by [`Job::attempt`]: it applies only while the
//! job is still running under that attempt, so a stale executor changes nothing.

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::workspace::WorkspaceId;

/// The earliest deadline the crate stores: `0001-01-01T00:00:00Z`.
///
/// Every store must hold every deadline between [`EARLIEST_DEADLINE`] and
/// [`LATEST_DEADLINE`]: chrono spans ±262,143 years but Postgres' `timestamptz` starts at
/// 4713 BC, and years past 9999 print in no standard format. A workspace time outside
/// the range is refused by the scheduler with a warning (no job is created for it and
/// the rest of its page goes on); a store refuses it with [`StoreError::InvalidData`].
///
/// [`StoreError::InvalidData`]: crate::StoreError::InvalidData
///
/// ```
/// use chrono::TimeDelta;
/// use workspace_lifecycle::{deadline_supported, EARLIEST_DEADLINE};
///
/// assert_eq!(EARLIEST_DEADLINE.to_rfc3339(), "0001-01-01T00:00:00+00:00");
/// assert!(deadline_supported(EARLIEST_DEADLINE));
/// assert!(!deadline_supported(EARLIEST_DEADLINE - TimeDelta::seconds(1)));
/// ```
pub const EARLIEST_DEADLINE: DateTime<Utc> = match DateTime::from_timestamp(-62_135_596_800, 0) {
    Some(at) => at,
    // Evaluated at compile time: the literal is 0001-01-01, well inside chrono's range.
    None => panic!("0001-01-01 is a valid chrono instant"),
};

/// The latest deadline the crate stores: `9999-12-31T23:59:59Z`. See
/// [`EARLIEST_DEADLINE`].
///
/// ```
/// use chrono::TimeDelta;
/// use workspace_lifecycle::{deadline_supported, LATEST_DEADLINE};
///
/// assert_eq!(LATEST_DEADLINE.to_rfc3339(), "9999-12-31T23:59:59+00:00");
/// assert!(deadline_supported(LATEST_DEADLINE));
/// assert!(!deadline_supported(LATEST_DEADLINE + TimeDelta::seconds(1)));
/// ```
pub const LATEST_DEADLINE: DateTime<Utc> = match DateTime::from_timestamp(253_402_300_799, 0) {
    Some(at) => at,
    // Evaluated at compile time: the literal is 9999-12-31, well inside chrono's range.
    None => panic!("9999-12-31 is a valid chrono instant"),
};

/// Whether `at` lies between [`EARLIEST_DEADLINE`] and [`LATEST_DEADLINE`].
///
/// ```
/// use workspace_lifecycle::{deadline_supported, LATEST_DEADLINE};
/// assert!(deadline_supported("1900-01-01T00:00:00Z".parse().unwrap()));
/// assert!(deadline_supported(LATEST_DEADLINE));
/// assert!(!deadline_supported(chrono::DateTime::<chrono::Utc>::MAX_UTC));
/// ```
pub fn deadline_supported(at: DateTime<Utc>) -> bool {
    (EARLIEST_DEADLINE..=LATEST_DEADLINE).contains(&at)
}

/// The id of a job (the seed's `workspace_lifecycle_job.id`).
///
/// ```
/// use workspace_lifecycle::JobId;
///
/// let id = JobId::from(uuid::Uuid::from_u128(1));
/// assert_eq!(id, JobId(uuid::Uuid::from_u128(1)));
/// assert_eq!(id.to_string(), "00000000-0000-0000-0000-000000000001");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub Uuid);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Uuid> for JobId {
    fn from(id: Uuid) -> Self {
        JobId(id)
    }
}

/// The id of one engine's executor, recorded on the jobs it claims.
///
/// ```
/// use workspace_lifecycle::ExecutorId;
///
/// let id = ExecutorId(uuid::Uuid::from_u128(7));
/// assert_eq!(id.to_string(), "00000000-0000-0000-0000-000000000007");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExecutorId(pub Uuid);

impl ExecutorId {
    /// A fresh random executor id.
    ///
    /// ```
    /// use workspace_lifecycle::ExecutorId;
    ///
    /// assert_ne!(ExecutorId::random(), ExecutorId::random());
    /// ```
    pub fn random() -> Self {
        ExecutorId(Uuid::new_v4())
    }
}

impl fmt::Display for ExecutorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a job does to its workspace (the seed's `workspace_lifecycle_operation` enum).
///
/// ```
/// use workspace_lifecycle::Operation;
///
/// assert_eq!(format!("auto-{}", Operation::Start), "auto-start");
/// assert_eq!(Operation::Stop.to_string(), Operation::Stop.as_str());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// Start a stopped workspace (auto-start).
    Start,
    /// Stop a running workspace (auto-stop).
    Stop,
}

impl Operation {
    /// Both operations, in the order the scheduler considers them.
    ///
    /// ```
    /// use workspace_lifecycle::Operation;
    ///
    /// let names: Vec<&str> = Operation::ALL.iter().map(|op| op.as_str()).collect();
    /// assert_eq!(names, ["start", "stop"]);
    /// ```
    pub const ALL: [Operation; 2] = [Operation::Start, Operation::Stop];

    /// The lowercase name used in the database enum and in log lines.
    ///
    /// ```
    /// use workspace_lifecycle::Operation;
    ///
    /// assert_eq!(Operation::Start.as_str(), "start");
    /// assert_eq!(Operation::Stop.as_str(), "stop");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Start => "start",
            Operation::Stop => "stop",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a job is in its life, derived from its timestamps.
///
/// ```
/// use workspace_lifecycle::JobState;
/// # use workspace_lifecycle::*;
/// # let at: chrono::DateTime<chrono::Utc> = "2026-01-05T18:00:00Z".parse().unwrap();
/// # let mut job = Job { id: JobId(uuid::Uuid::from_u128(1)), created_at: at, updated_at: at,
/// #     started_at: None, cancelled_at: None, completed_at: None, error: None,
/// #     workspace_id: WorkspaceId(uuid::Uuid::from_u128(2)), operation: Operation::Stop,
/// #     deadline: at, run_at: at, attempt: 0, failed_attempts: 0, lease_expires_at: None,
/// #     claimed_by: None };
///
/// assert_eq!(job.state(), JobState::Pending);
/// job.cancelled_at = Some(at);
/// assert_eq!(job.state(), JobState::Cancelled);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Waiting for its time (`run_at`); not claimed.
    Pending,
    /// Claimed by an executor whose lease has not been given up.
    Running,
    /// Finished: acted on, found already done, or failed for good (`error` is set).
    Completed,
    /// Cancelled: the workspace's data no longer called for it.
    Cancelled,
}

impl JobState {
    /// Pending or running: the job still counts as "open" for its (workspace, operation).
    ///
    /// ```
    /// use workspace_lifecycle::JobState;
    ///
    /// assert!(JobState::Pending.is_open() && JobState::Running.is_open());
    /// assert!(!JobState::Completed.is_open() && !JobState::Cancelled.is_open());
    /// ```
    pub fn is_open(self) -> bool {
        matches!(self, JobState::Pending | JobState::Running)
    }
}

/// One job row.
///
/// The first ten fields are the seed's columns with the seed's meaning; the rest are
/// what retries, leases and fencing need (documented per field).
///
/// ```
/// use workspace_lifecycle::{InMemoryStore, JobInsertParams, JobState, JobStore, NewJob};
/// # use workspace_lifecycle::{Operation, WorkspaceId};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = InMemoryStore::new();
/// let deadline = "2026-01-05T18:00:00Z".parse().unwrap();
/// let stop = NewJob { workspace_id: WorkspaceId(uuid::Uuid::from_u128(1)),
///     operation: Operation::Stop, deadline, run_at: None, log: None };
/// let now = "2026-01-05T08:00:00Z".parse().unwrap();
/// let jobs = store.job_insert(JobInsertParams { jobs: vec![stop], now }).await.unwrap();
/// assert_eq!(jobs[0].state(), JobState::Pending);
/// assert_eq!((jobs[0].deadline, jobs[0].run_at, jobs[0].attempt), (deadline, deadline, 0));
/// # });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Unique job id.
    pub id: JobId,
    /// When the job was created.
    pub created_at: DateTime<Utc>,
    /// When the job was last written.
    pub updated_at: DateTime<Utc>,
    /// When the current attempt was claimed; `None` while pending.
    pub started_at: Option<DateTime<Utc>>,
    /// When the job was cancelled; `None` if it was not.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// When the job finished; `None` while open.
    pub completed_at: Option<DateTime<Utc>>,
    /// The last error: set on a completed job that failed for good, and on a pending job
    /// waiting to retry after a failed attempt.
    pub error: Option<String>,
    /// The target workspace.
    pub workspace_id: WorkspaceId,
    /// Start or stop.
    pub operation: Operation,
    /// The occurrence this job serves: the workspace's auto-start (auto-stop) time.
    /// Together with `workspace_id` and `operation` it names the occurrence, which is
    /// acted on at most once.
    pub deadline: DateTime<Utc>,
    /// When the job may next be claimed: the deadline at first, later the time of the
    /// next retry. Kept apart from `deadline` so a retry never changes the occurrence.
    pub run_at: DateTime<Utc>,
    /// How many times the job has been claimed. It is the fencing token: every write
    /// after a claim names the attempt it belongs to.
    pub attempt: u32,
    /// How many attempts ended in an error from the workspace adapter (or a timeout or
    /// panic). Counts against `RetryPolicy::max_attempts`; releases of a workspace that
    /// was mid-transition and lease rescues do not.
    pub failed_attempts: u32,
    /// Until when the current claim is valid; `None` while not running.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// The executor holding the current claim; `None` while not running.
    pub claimed_by: Option<ExecutorId>,
}

impl Job {
    /// The job's state, derived from its timestamps.
    ///
    /// ```
    /// # use workspace_lifecycle::*;
    /// # let at: chrono::DateTime<chrono::Utc> = "2026-01-05T18:00:00Z".parse().unwrap();
    /// # let mut job = Job { id: JobId(uuid::Uuid::from_u128(1)), created_at: at, updated_at: at,
    /// #     started_at: None, cancelled_at: None, completed_at: None, error: None,
    /// #     workspace_id: WorkspaceId(uuid::Uuid::from_u128(2)), operation: Operation::Stop,
    /// #     deadline: at, run_at: at, attempt: 0, failed_attempts: 0, lease_expires_at: None,
    /// #     claimed_by: None };
    ///
    /// assert_eq!(job.state(), JobState::Pending);
    /// job.started_at = Some(at);
    /// assert_eq!(job.state(), JobState::Running);
    /// job.completed_at = Some(at);
    /// assert_eq!(job.state(), JobState::Completed);
    /// ```
    pub fn state(&self) -> JobState {
        if self.cancelled_at.is_some() {
            JobState::Cancelled
        } else if self.completed_at.is_some() {
            JobState::Completed
        } else if self.started_at.is_some() {
            JobState::Running
        } else {
            JobState::Pending
        }
    }

    /// When the job finished: `completed_at`, else `cancelled_at`; `None` while open.
    /// Retention counts from this time.
    ///
    /// ```
    /// # use workspace_lifecycle::*;
    /// # let at: chrono::DateTime<chrono::Utc> = "2026-01-05T18:00:00Z".parse().unwrap();
    /// # let mut job = Job { id: JobId(uuid::Uuid::from_u128(1)), created_at: at, updated_at: at,
    /// #     started_at: None, cancelled_at: None, completed_at: None, error: None,
    /// #     workspace_id: WorkspaceId(uuid::Uuid::from_u128(2)), operation: Operation::Stop,
    /// #     deadline: at, run_at: at, attempt: 0, failed_attempts: 0, lease_expires_at: None,
    /// #     claimed_by: None };
    ///
    /// assert_eq!(job.finished_at(), None);
    /// job.cancelled_at = Some(at);
    /// assert_eq!(job.finished_at(), Some(at));
    /// ```
    pub fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.completed_at.or(self.cancelled_at)
    }

    /// The occurrence this job serves.
    ///
    /// ```
    /// # use workspace_lifecycle::*;
    /// # let at: chrono::DateTime<chrono::Utc> = "2026-01-05T18:00:00Z".parse().unwrap();
    /// # let job = Job { id: JobId(uuid::Uuid::from_u128(1)), created_at: at, updated_at: at,
    /// #     started_at: None, cancelled_at: None, completed_at: None, error: None,
    /// #     workspace_id: WorkspaceId(uuid::Uuid::from_u128(2)), operation: Operation::Stop,
    /// #     deadline: at, run_at: at, attempt: 0, failed_attempts: 0, lease_expires_at: None,
    /// #     claimed_by: None };
    ///
    /// let occurrence = job.occurrence();
    /// assert_eq!((occurrence.operation, occurrence.deadline), (Operation::Stop, job.deadline));
    /// // A retry moves `run_at`, never the occurrence.
    /// let retry = Job { run_at: at + chrono::TimeDelta::minutes(5), attempt: 1, ..job.clone() };
    /// assert_eq!(retry.occurrence(), occurrence);
    /// ```
    pub fn occurrence(&self) -> Occurrence {
        Occurrence {
            workspace_id: self.workspace_id,
            operation: self.operation,
            deadline: self.deadline,
        }
    }
}

/// One (workspace, operation, deadline): the unit that is acted on at most once.
///
/// ```
/// use workspace_lifecycle::{Occurrence, Operation, WorkspaceId};
///
/// let occurrence = Occurrence {
///     workspace_id: WorkspaceId(uuid::Uuid::from_u128(1)),
///     operation: Operation::Stop,
///     deadline: "2026-01-05T18:00:00Z".parse().unwrap(),
/// };
/// assert_eq!(
///     occurrence.to_string(),
///     "stop of workspace 00000000-0000-0000-0000-000000000001 at 2026-01-05T18:00:00+00:00"
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Occurrence {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// Start or stop.
    pub operation: Operation,
    /// The scheduled time.
    pub deadline: DateTime<Utc>,
}

impl fmt::Display for Occurrence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of workspace {} at {}",
            self.operation,
            self.workspace_id,
            self.deadline.to_rfc3339()
        )
    }
}

/// Severity of a job log line (the seed's `log_level`).
///
/// ```
/// use workspace_lifecycle::LogLevel;
///
/// assert!(LogLevel::Debug < LogLevel::Info && LogLevel::Warn < LogLevel::Error);
/// assert_eq!(LogLevel::Warn.to_string(), "warn");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Detail for debugging.
    Debug,
    /// A normal step.
    Info,
    /// Something unusual that did not fail the job.
    Warn,
    /// A failed step.
    Error,
}

impl LogLevel {
    /// The lowercase name used in the database enum.
    ///
    /// ```
    /// use workspace_lifecycle::LogLevel;
    ///
    /// assert_eq!(LogLevel::Error.as_str(), "error");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored job log row (the seed's `workspace_lifecycle_job_logs`).
///
/// ```
/// use workspace_lifecycle::{InMemoryStore, JobInsertParams, JobStore, LogLevel, LogLine, NewJob};
/// use workspace_lifecycle::JobStoreAdmin;
/// # use workspace_lifecycle::{Operation, WorkspaceId};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = InMemoryStore::new();
/// let now = "2026-01-05T08:00:00Z".parse().unwrap();
/// let stop = NewJob { workspace_id: WorkspaceId(uuid::Uuid::from_u128(1)),
///     operation: Operation::Stop, deadline: now, run_at: None,
///     log: Some(LogLine::info("auto-stop scheduled")) };
/// let job = store.job_insert(JobInsertParams { jobs: vec![stop], now }).await.unwrap().remove(0);
/// let logs = store.job_log_list(job.id).await.unwrap();
/// assert_eq!((logs[0].job_id, logs[0].created_at, logs[0].level), (job.id, now, LogLevel::Info));
/// assert_eq!(logs[0].output, "auto-stop scheduled");
/// # });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobLog {
    /// Unique row id.
    pub id: Uuid,
    /// The job that wrote it.
    pub job_id: JobId,
    /// When it was written (the engine's clock).
    pub created_at: DateTime<Utc>,
    /// Severity.
    pub level: LogLevel,
    /// The text, at most [`LogLine::MAX_CHARS`] characters.
    pub output: String,
}

/// A log line to be written: a level and a text already fitted to the column.
///
/// ```
/// use workspace_lifecycle::{LogLevel, LogLine};
///
/// let line = LogLine::warn("workspace is starting; trying again in 15s");
/// assert_eq!(line.level(), LogLevel::Warn);
/// assert_eq!(line.output(), "workspace is starting; trying again in 15s");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    level: LogLevel,
    output: String,
}

impl LogLine {
    /// The most characters (not bytes) a line holds: the seed's `varchar(1024)`.
    ///
    /// ```
    /// use workspace_lifecycle::LogLine;
    ///
    /// let fits = "ß".repeat(LogLine::MAX_CHARS);
    /// assert_eq!(LogLine::info(fits.clone()).output(), fits);
    /// let long = LogLine::info("ß".repeat(LogLine::MAX_CHARS + 1));
    /// assert_eq!(long.output().chars().count(), LogLine::MAX_CHARS);
    /// ```
    pub const MAX_CHARS: usize = 1024;

    /// The marker that ends a truncated line.
    ///
    /// ```
    /// use workspace_lifecycle::LogLine;
    ///
    /// assert!(LogLine::error("x".repeat(2000)).output().ends_with(LogLine::TRUNCATED_MARKER));
    /// assert!(!LogLine::error("x".repeat(1000)).output().ends_with(LogLine::TRUNCATED_MARKER));
    /// ```
    pub const TRUNCATED_MARKER: &'static str = "…[truncated]";

    /// A line with `output` made fit to store: NUL characters (which Postgres refuses
    /// in text) become `\0`, and text over [`Self::MAX_CHARS`] characters is cut on a
    /// character boundary and ends with [`Self::TRUNCATED_MARKER`]. Never fails.
    ///
    /// ```
    /// use workspace_lifecycle::{LogLevel, LogLine};
    ///
    /// let long = "é".repeat(2000);
    /// let line = LogLine::new(LogLevel::Info, long);
    /// assert_eq!(line.output().chars().count(), LogLine::MAX_CHARS);
    /// assert!(line.output().ends_with(LogLine::TRUNCATED_MARKER));
    ///
    /// let nul = LogLine::new(LogLevel::Warn, "a\0b");
    /// assert_eq!(nul.output(), "a\\0b");
    /// ```
    pub fn new(level: LogLevel, output: impl Into<String>) -> Self {
        let mut output: String = output.into();
        if output.contains('\0') {
            output = output.replace('\0', "\\0");
        }
        if output.chars().count() > Self::MAX_CHARS {
            let keep = Self::MAX_CHARS - Self::TRUNCATED_MARKER.chars().count();
            // `char_indices().nth(keep)` exists because the text has more than
            // MAX_CHARS > keep characters; the fallback is never taken.
            let cut = output
                .char_indices()
                .nth(keep)
                .map_or(output.len(), |(i, _)| i);
            output.truncate(cut);
            output.push_str(Self::TRUNCATED_MARKER);
        }
        LogLine { level, output }
    }

    /// An info line.
    ///
    /// ```
    /// use workspace_lifecycle::{LogLevel, LogLine};
    ///
    /// assert_eq!(LogLine::info("job created"), LogLine::new(LogLevel::Info, "job created"));
    /// ```
    pub fn info(output: impl Into<String>) -> Self {
        Self::new(LogLevel::Info, output)
    }

    /// A warning line.
    ///
    /// ```
    /// use workspace_lifecycle::{LogLevel, LogLine};
    ///
    /// assert_eq!(LogLine::warn("acted late").level(), LogLevel::Warn);
    /// ```
    pub fn warn(output: impl Into<String>) -> Self {
        Self::new(LogLevel::Warn, output)
    }

    /// An error line.
    ///
    /// ```
    /// use workspace_lifecycle::{LogLevel, LogLine};
    ///
    /// assert_eq!(LogLine::error("start failed").level(), LogLevel::Error);
    /// ```
    pub fn error(output: impl Into<String>) -> Self {
        Self::new(LogLevel::Error, output)
    }

    /// The severity.
    ///
    /// ```
    /// use workspace_lifecycle::{LogLevel, LogLine};
    ///
    /// assert_eq!(LogLine::new(LogLevel::Debug, "claimed").level(), LogLevel::Debug);
    /// ```
    pub fn level(&self) -> LogLevel {
        self.level
    }

    /// The fitted text.
    ///
    /// ```
    /// use workspace_lifecycle::LogLine;
    ///
    /// assert_eq!(LogLine::info("stopped workspace").output(), "stopped workspace");
    /// ```
    pub fn output(&self) -> &str {
        &self.output
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_are_kept_verbatim() {
        let line = LogLine::info("started workspace");
        assert_eq!(line.output(), "started workspace");
        assert_eq!(line.level(), LogLevel::Info);
    }

    #[test]
    fn exactly_max_chars_is_not_truncated() {
        let text = "ß".repeat(LogLine::MAX_CHARS);
        assert_eq!(LogLine::info(text.clone()).output(), text);
    }

    #[test]
    fn truncation_cuts_on_char_boundary_and_marks() {
        let text = format!("{}{}", "a".repeat(1000), "😀".repeat(100));
        let line = LogLine::info(text);
        assert_eq!(line.output().chars().count(), LogLine::MAX_CHARS);
        assert!(line.output().ends_with(LogLine::TRUNCATED_MARKER));
        assert!(line.output().starts_with(&"a".repeat(1000)));
    }
}
