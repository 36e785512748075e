//! Job log lines: the rows of the logs table (`workspace_lifecycle_job_logs`), and
//! [`LogLine`], a line fitted to its column before it is written.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::textual_enum;
use crate::ids::JobId;

/// Severity of a job log line (the logs table's `log_level` enum).
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
    /// Every level, least severe first.
    ///
    /// ```
    /// use workspace_lifecycle::LogLevel;
    ///
    /// assert!(LogLevel::ALL.windows(2).all(|pair| pair[0] < pair[1]));
    /// ```
    pub const ALL: [LogLevel; 4] = [
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Warn,
        LogLevel::Error,
    ];

    /// The lowercase name used in the database enum. `Display` writes it and `FromStr`
    /// parses exactly it.
    ///
    /// ```
    /// use workspace_lifecycle::LogLevel;
    ///
    /// assert_eq!(LogLevel::Error.as_str(), "error");
    /// assert_eq!("warn".parse::<LogLevel>(), Ok(LogLevel::Warn));
    /// let error = "warning".parse::<LogLevel>().unwrap_err();
    /// assert_eq!(error.to_string(), "unknown log level \"warning\"");
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

textual_enum!(LogLevel, "log level");

/// A stored row of the logs table (`workspace_lifecycle_job_logs`).
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
/// let mut results = store.job_insert(JobInsertParams { jobs: vec![stop], now }).await.unwrap();
/// let job = results.remove(0).unwrap();
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
    /// The most characters (not bytes) a line holds: the logs table's `output
    /// varchar(1024)`.
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

    /// The values of the `log_level` database enum, which the Postgres store writes
    /// and reads back (`LogLevel::from_str` in store/postgres).
    #[test]
    fn level_names_are_the_database_enum() {
        let names = ["debug", "info", "warn", "error"];
        crate::error::assert_spelled("log level", &LogLevel::ALL, &names);
    }

    /// The message the Postgres store's decoding gave for an unknown level.
    #[test]
    fn an_unknown_level_is_named() {
        let error = "fatal".parse::<LogLevel>().unwrap_err();
        assert_eq!(error.to_string(), "unknown log level \"fatal\"");
        assert!("Info".parse::<LogLevel>().is_err());
    }
}
