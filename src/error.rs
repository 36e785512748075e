//! Typed errors: one enum per side (store, workspaces, configuration) and [`Error`],
//! which the engine's steps return.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::ids::{JobId, WorkspaceId};

/// An error from a [`JobStore`](crate::JobStore).
///
/// ```
/// use workspace_lifecycle::{JobId, StoreError};
///
/// let lost = StoreError::LeaseLost { job: JobId(uuid::Uuid::from_u128(1)), attempt: 2 };
/// assert_eq!(
///     lost.to_string(),
///     "job 00000000-0000-0000-0000-000000000001 is no longer held by attempt 2"
/// );
/// assert!(!lost.is_transient()); // another executor holds the job now
/// ```
///
/// The batch writes answer each item with the job as written or one of the refusals
/// that name the job and why ([`LeaseLost`](StoreError::LeaseLost),
/// [`Duplicate`](StoreError::Duplicate), [`OccurrenceTaken`](StoreError::OccurrenceTaken),
/// [`NotPending`](StoreError::NotPending)); none is transient, since the same write
/// would be refused again.
///
/// ```
/// use workspace_lifecycle::{JobId, StoreError, WorkspaceId};
///
/// let job = JobId(uuid::Uuid::from_u128(1));
/// let deadline = "2026-01-05T08:00:00Z".parse().unwrap();
/// let refusals = [
///     StoreError::Duplicate { workspace: WorkspaceId(uuid::Uuid::from_u128(2)), deadline },
///     StoreError::OccurrenceTaken { job, deadline },
///     StoreError::NotPending { job },
/// ];
/// assert!(refusals.iter().all(|refusal| !refusal.is_transient()));
/// assert_eq!(
///     refusals[2].to_string(),
///     "job 00000000-0000-0000-0000-000000000001 is not pending"
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A fenced write named an attempt that no longer holds the job: the job was
    /// rescued, re-claimed, cancelled or finished since. The write changed nothing.
    #[error("job {job} is no longer held by attempt {attempt}")]
    LeaseLost {
        /// The job.
        job: JobId,
        /// The attempt the write named.
        attempt: u32,
    },
    /// `job_insert` skipped a job: its workspace already has an open job of the same
    /// operation, or a completed one for the same occurrence. The existing job stands.
    #[error("workspace {workspace} already has an open job of this operation or a completed one for {deadline}")]
    Duplicate {
        /// The workspace.
        workspace: WorkspaceId,
        /// The skipped job's deadline.
        deadline: DateTime<Utc>,
    },
    /// `job_reschedule` refused to move a job onto an occurrence another job already
    /// completed: the job must not act on it again (the engine cancels it).
    #[error("job {job} cannot move to {deadline}: another job completed that occurrence")]
    OccurrenceTaken {
        /// The job.
        job: JobId,
        /// The refused deadline.
        deadline: DateTime<Utc>,
    },
    /// A write meant for a pending job (an unfenced `job_cancel`, `job_reschedule`)
    /// found it claimed, finished or unknown, and changed nothing.
    #[error("job {job} is not pending")]
    NotPending {
        /// The job.
        job: JobId,
    },
    /// A row or value the store cannot represent or decode.
    #[error("invalid data: {0}")]
    InvalidData(String),
    /// The store cannot be reached (connection lost, pool exhausted). Transient: the
    /// engine retries with backoff.
    #[error("store unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The store refused a write because of a concurrent one (a unique violation, a
    /// serialization failure, a deadlock). Transient: the engine retries.
    #[error("store conflict: {0}")]
    Conflict(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Any other failure of the store's backend.
    #[error("store backend: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Whether retrying the same operation later may succeed.
    ///
    /// ```
    /// use workspace_lifecycle::StoreError;
    ///
    /// assert!(StoreError::Unavailable("connection refused".into()).is_transient());
    /// assert!(StoreError::Conflict("serialization failure".into()).is_transient());
    /// assert!(!StoreError::InvalidData("operation \"restart\"".into()).is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_) | StoreError::Conflict(_))
    }
}

/// An error from a [`Workspaces`](crate::Workspaces) implementation.
///
/// ```
/// use workspace_lifecycle::{WorkspaceError, WorkspaceId};
///
/// let id = WorkspaceId(uuid::Uuid::from_u128(1));
/// let gone = WorkspaceError::NotFound(id);
/// assert_eq!(gone.to_string(), "workspace 00000000-0000-0000-0000-000000000001 not found");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkspaceError {
    /// The workspace does not exist (any more). A job for it is cancelled, not retried.
    #[error("workspace {0} not found")]
    NotFound(WorkspaceId),
    /// `list` returned a page out of order, so the engine cannot tell which jobs belong
    /// to deleted workspaces. The scheduler pass stops without cancelling anything.
    #[error("list returned workspace {got} after {after}: pages must be in ascending id order")]
    UnorderedPage {
        /// The id the page had to be greater than.
        after: WorkspaceId,
        /// The offending id.
        got: WorkspaceId,
    },
    /// A call panicked; the panic message is kept.
    #[error("workspace adapter panicked: {0}")]
    Panicked(String),
    /// An adapter call took longer than `Config::action_timeout`.
    #[error("{operation} timed out after {after:?}")]
    TimedOut {
        /// The call: `"list"`, `"get"`, `"start"` or `"stop"`.
        operation: &'static str,
        /// The timeout.
        after: Duration,
    },
    /// Any other failure of the adapter, with its cause.
    #[error("workspace adapter: {0}")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl WorkspaceError {
    /// Wraps any error (or message) as [`WorkspaceError::Other`].
    ///
    /// ```
    /// use workspace_lifecycle::WorkspaceError;
    /// let err = WorkspaceError::other("quota exceeded");
    /// assert_eq!(err.to_string(), "workspace adapter: quota exceeded");
    /// ```
    pub fn other(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        WorkspaceError::Other(error.into())
    }
}

/// A [`Config`](crate::Config) value that cannot work.
///
/// ```
/// use workspace_lifecycle::{Config, ConfigError};
///
/// let config = Config { page_size: 0, ..Config::default() };
/// let error = config.validate().unwrap_err();
/// assert_eq!(error, ConfigError::Zero { field: "page_size" });
/// assert_eq!(error.to_string(), "page_size must be greater than zero");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A duration that must be positive is zero.
    #[error("{field} must be greater than zero")]
    Zero {
        /// The field's name.
        field: &'static str,
    },
    /// A duration too large to add to a timestamp.
    #[error("{field} is {value:?}, above the limit of {max:?}")]
    TooLarge {
        /// The field's name.
        field: &'static str,
        /// The value given.
        value: Duration,
        /// The largest accepted value.
        max: Duration,
    },
    /// A duration below its minimum.
    #[error("{field} is {value:?}, below the minimum of {min:?}")]
    TooSmall {
        /// The field's name.
        field: &'static str,
        /// The value given.
        value: Duration,
        /// The smallest accepted value.
        min: Duration,
    },
    /// A count above its maximum.
    #[error("{field} is {value}, above the limit of {max}")]
    CountTooLarge {
        /// The field's name.
        field: &'static str,
        /// The value given.
        value: usize,
        /// The largest accepted value.
        max: usize,
    },
    /// Two fields that must be ordered are not.
    #[error("{smaller} ({smaller_value:?}) must be less than {larger} ({larger_value:?})")]
    Order {
        /// The field that must be smaller.
        smaller: &'static str,
        /// Its value.
        smaller_value: Duration,
        /// The field that must be larger.
        larger: &'static str,
        /// Its value.
        larger_value: Duration,
    },
}

/// An error from one of the engine's steps.
///
/// ```
/// use workspace_lifecycle::{Config, Error};
///
/// fn check(config: &Config) -> Result<(), Error> {
///     config.validate()?;
///     Ok(())
/// }
/// let error = check(&Config { page_size: 0, ..Config::default() }).unwrap_err();
/// assert!(matches!(error, Error::Config(_)));
/// assert_eq!(error.to_string(), "invalid config: page_size must be greater than zero");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The job store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The workspace adapter failed.
    #[error(transparent)]
    Workspaces(#[from] WorkspaceError),
    /// The configuration was rejected.
    #[error("invalid config: {0}")]
    Config(#[from] ConfigError),
}

/// A name that is none of an enum's textual forms: what [`FromStr`](std::str::FromStr)
/// returns for [`JobState`](crate::JobState), [`LogLevel`](crate::LogLevel),
/// [`Operation`](crate::Operation) and [`WorkspaceState`](crate::WorkspaceState).
///
/// The names are exactly the `as_str` forms, lowercase, as the database enums and the
/// log lines spell them; nothing else is accepted, so a row written by a newer version
/// is reported, not misread.
///
/// ```
/// use workspace_lifecycle::{JobState, ParseNameError};
///
/// let error: ParseNameError = "Paused".parse::<JobState>().unwrap_err();
/// assert_eq!((error.kind, error.value.as_str()), ("job state", "Paused"));
/// assert_eq!(error.to_string(), "unknown job state \"Paused\"");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
#[non_exhaustive]
pub struct ParseNameError {
    /// What was being parsed: `"job state"`, `"log level"`, `"operation"` or
    /// `"workspace state"`.
    pub kind: &'static str,
    /// The text given.
    pub value: String,
}

/// `Display` as the `as_str` form and `FromStr` of exactly that form, for an enum with
/// `ALL` and `as_str`, so the two cannot spell a value differently.
macro_rules! textual_enum {
    ($name:ident, $kind:literal) => {
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Parses the `as_str` form, exactly; any other text is a
        /// [`ParseNameError`](crate::ParseNameError) that names it.
        impl std::str::FromStr for $name {
            type Err = crate::error::ParseNameError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                crate::error::parse_name($kind, &$name::ALL, $name::as_str, text)
            }
        }
    };
}
pub(crate) use textual_enum;

/// The variant of `all` whose `name` is `text`, for [`textual_enum`]'s `FromStr`.
pub(crate) fn parse_name<T: Copy>(
    kind: &'static str,
    all: &[T],
    name: fn(T) -> &'static str,
    text: &str,
) -> Result<T, ParseNameError> {
    all.iter()
        .copied()
        .find(|variant| name(*variant) == text)
        .ok_or_else(|| ParseNameError {
            kind,
            value: text.to_owned(),
        })
}

/// Checks a [`textual_enum`]: `Display` spells the variants of `all` as `names`, each
/// name parses back to its variant, and no near miss (another case, a space, a NUL,
/// nothing) parses.
#[cfg(test)]
pub(crate) fn assert_spelled<T>(kind: &'static str, all: &[T], names: &[&str])
where
    T: Copy
        + PartialEq
        + std::fmt::Debug
        + std::fmt::Display
        + std::str::FromStr<Err = ParseNameError>,
{
    let spelled: Vec<String> = all.iter().map(T::to_string).collect();
    assert_eq!(spelled, names);
    for (variant, name) in all.iter().zip(names) {
        assert_eq!(name.parse::<T>(), Ok(*variant));
        let capitalized = name[..1].to_uppercase() + &name[1..];
        let near_misses = [
            name.to_uppercase(),
            capitalized,
            format!(" {name}"),
            format!("{name} "),
            format!("{name}\0"),
            String::new(),
        ];
        for near in near_misses {
            let error = ParseNameError {
                kind,
                value: near.clone(),
            };
            assert_eq!(near.parse::<T>(), Err(error));
        }
    }
}
