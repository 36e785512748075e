//! The id newtypes: a job's, a workspace's and an executor's.
//!
//! They live apart from the types that carry them and depend on nothing else in the
//! crate, so errors, jobs and workspaces can all name an id without importing each
//! other.

use std::fmt;

use uuid::Uuid;

/// The id of a job (`workspace_lifecycle_job.id`).
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

/// The id of a workspace.
///
/// Ids are ordered by the bytes of the UUID, which is both [`Uuid`]'s `Ord` and
/// Postgres' `uuid` order; [`Workspaces::list`](crate::Workspaces::list) pages in that
/// order.
///
/// ```
/// use uuid::Uuid;
/// use workspace_lifecycle::WorkspaceId;
///
/// let (a, b) = (WorkspaceId::from(Uuid::from_u128(1)), WorkspaceId(Uuid::from_u128(2)));
/// assert!(a < b); // the order `Workspaces::list` pages in
/// assert_eq!(a.to_string(), "00000000-0000-0000-0000-000000000001");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkspaceId(pub Uuid);

/// The id of one engine's executor, recorded on the jobs it claims.
///
/// ```
/// use workspace_lifecycle::ExecutorId;
///
/// let id = ExecutorId::from(uuid::Uuid::from_u128(7));
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

/// `Display` as the bare UUID, as the tables hold it, and `From<Uuid>`.
macro_rules! uuid_newtype {
    ($($name:ident),*) => {$(
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                $name(id)
            }
        }
    )*};
}

uuid_newtype!(JobId, WorkspaceId, ExecutorId);
