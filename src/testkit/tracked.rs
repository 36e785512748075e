//! [`Tracked`]: a [`JobStore`] wrapper that counts the calls in flight, the calls made
//! and the time each method took, so a test (through
//! [`Driver::track_io`](super::Driver::track_io)) can tell when a store with real I/O
//! has gone quiet, and a benchmark can count round trips.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::{
    Job, JobCancelParams, JobClaimParams, JobCompleteBatchParams, JobCompleteParams, JobId,
    JobInsertParams, JobListParams, JobLog, JobLogInsertParams, JobNextDueParams, JobPruneParams,
    JobRenewLeaseParams, JobRescheduleParams, JobRescueParams, JobRetryParams, JobStats,
    JobStatsParams, JobStore, JobStoreAdmin, StoreError, WorkspaceRange,
};

/// A store whose calls are counted: in flight, made in all, and timed per method.
///
/// Clones share the counters, and [`wrap`](Tracked::wrap) counts another store into
/// the same ones (several engines, each with its own pool, counted as one). A call
/// leaves the in-flight count when its future ends, also when it is dropped mid-way.
///
/// ```
/// use std::sync::Arc;
/// use workspace_lifecycle::testkit::Tracked;
/// use workspace_lifecycle::{InMemoryStore, JobNextDueParams, JobStore};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = Tracked::new(Arc::new(InMemoryStore::new()));
/// let counted = store.clone(); // what the test keeps; `store` goes to an engine
/// store.job_next_due(JobNextDueParams { now: chrono::Utc::now() }).await.unwrap();
/// assert_eq!((counted.calls(), counted.in_flight()), (1, 0));
/// assert_eq!(counted.timings()["job_next_due"].calls, 1);
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

/// How often one store method was called and how long its calls took in all.
///
/// ```
/// use workspace_lifecycle::testkit::Tracked;
/// use workspace_lifecycle::{InMemoryStore, JobNextDueParams, JobStore};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = Tracked::new(InMemoryStore::new());
/// for _ in 0..3 {
///     store.job_next_due(JobNextDueParams { now: chrono::Utc::now() }).await.unwrap();
/// }
/// let times = store.timings()["job_next_due"];
/// println!("{:?} per call", times.total / times.calls as u32);
/// assert_eq!(times.calls, 3);
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MethodTimes {
    /// Calls made (finished or not).
    pub calls: usize,
    /// Their total wall-clock time, of the calls that finished.
    pub total: Duration,
}

/// The counters [`Tracked`] clones share.
#[derive(Debug)]
pub(super) struct Activity {
    /// Calls in flight; a watch so the driver can await zero without polling.
    in_flight: watch::Sender<usize>,
    calls: AtomicUsize,
    timings: Mutex<BTreeMap<&'static str, MethodTimes>>,
}

impl Activity {
    pub(super) fn in_flight(&self) -> usize {
        *self.in_flight.borrow()
    }

    pub(super) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Returns once no call is in flight.
    pub(super) async fn quiet(&self) {
        let mut rx = self.in_flight.subscribe();
        // `wait_for` fails only if the sender is dropped, and `self` holds it.
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}

/// A call in flight: counted in on creation, out on drop.
struct InFlight<'a> {
    activity: &'a Activity,
    method: &'static str,
    started: Instant,
}

impl<'a> InFlight<'a> {
    fn enter(activity: &'a Activity, method: &'static str) -> Self {
        activity.in_flight.send_modify(|n| *n += 1);
        activity.calls.fetch_add(1, Ordering::SeqCst);
        activity.timings.lock().entry(method).or_default().calls += 1;
        InFlight {
            activity,
            method,
            started: Instant::now(),
        }
    }

    fn finished(self) {
        let took = self.started.elapsed();
        if let Some(times) = self.activity.timings.lock().get_mut(self.method) {
            times.total += took;
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.activity
            .in_flight
            .send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl<S> Tracked<S> {
    /// `inner` with fresh counters.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::Tracked;
    /// use workspace_lifecycle::InMemoryStore;
    ///
    /// let store = Tracked::new(InMemoryStore::new());
    /// assert_eq!((store.calls(), store.in_flight()), (0, 0));
    /// ```
    pub fn new(inner: S) -> Self {
        Tracked {
            inner,
            activity: Arc::new(Activity {
                in_flight: watch::Sender::new(0),
                calls: AtomicUsize::new(0),
                timings: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// `other` counted into this store's counters: for several stores (one pool per
    /// engine, as separate processes would have) that a test watches as one.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::Tracked;
    /// use workspace_lifecycle::{InMemoryStore, JobNextDueParams, JobStore};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let first = Tracked::new(InMemoryStore::new());
    /// let second = first.wrap(InMemoryStore::new());
    /// second.job_next_due(JobNextDueParams { now: chrono::Utc::now() }).await.unwrap();
    /// assert_eq!(first.calls(), 1);
    /// # });
    /// ```
    pub fn wrap<T>(&self, other: T) -> Tracked<T> {
        Tracked {
            inner: other,
            activity: self.activity.clone(),
        }
    }

    /// The wrapped store.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::Tracked;
    /// use workspace_lifecycle::InMemoryStore;
    ///
    /// let store = Tracked::new(InMemoryStore::new());
    /// let _inner: &InMemoryStore = store.inner();
    /// ```
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Calls in flight now.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::Tracked;
    /// use workspace_lifecycle::InMemoryStore;
    ///
    /// assert_eq!(Tracked::new(InMemoryStore::new()).in_flight(), 0);
    /// ```
    pub fn in_flight(&self) -> usize {
        self.activity.in_flight()
    }

    /// Calls made in all: round trips, for a store with I/O.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::Tracked;
    /// use workspace_lifecycle::{InMemoryStore, JobRescueParams, JobStore};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store = Tracked::new(InMemoryStore::new());
    /// store.job_rescue(JobRescueParams { now: chrono::Utc::now() }).await.unwrap();
    /// assert_eq!(store.calls(), 1);
    /// # });
    /// ```
    pub fn calls(&self) -> usize {
        self.activity.calls()
    }

    /// Calls and total time per method, by method name (`"job_claim"`, ...).
    ///
    /// ```
    /// use workspace_lifecycle::testkit::Tracked;
    /// use workspace_lifecycle::{InMemoryStore, JobRescueParams, JobStore};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store = Tracked::new(InMemoryStore::new());
    /// store.job_rescue(JobRescueParams { now: chrono::Utc::now() }).await.unwrap();
    /// assert_eq!(store.timings().keys().collect::<Vec<_>>(), [&"job_rescue"]);
    /// # });
    /// ```
    pub fn timings(&self) -> BTreeMap<&'static str, MethodTimes> {
        self.activity.timings.lock().clone()
    }

    pub(super) fn activity(&self) -> Arc<Activity> {
        self.activity.clone()
    }
}

// The whole impl comes out of the macro, so `async_trait` sees the expanded methods.
macro_rules! tracked {
    ($trait:ident { $($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)* } $($extra:tt)*) => {
        #[async_trait]
        impl<S: $trait> $trait for Tracked<S> {
            $(
                async fn $name(&self, $($arg: $ty),*) -> Result<$ret, StoreError> {
                    let call = InFlight::enter(&self.activity, stringify!($name));
                    let result = self.inner.$name($($arg),*).await;
                    call.finished();
                    result
                }
            )*

            $($extra)*
        }
    };
}

tracked! {
    JobStore {
        job_insert(p: JobInsertParams) -> Vec<Result<Job, StoreError>>;
        job_log_insert(p: JobLogInsertParams) -> usize;
        job_claim(p: JobClaimParams) -> Vec<Job>;
        job_reschedule(p: JobRescheduleParams) -> Vec<Result<Job, StoreError>>;
        job_cancel(p: JobCancelParams) -> Vec<Result<Job, StoreError>>;
        job_complete(p: JobCompleteParams) -> Job;
        job_complete_batch(p: JobCompleteBatchParams) -> Vec<Result<Job, StoreError>>;
        job_retry(p: JobRetryParams) -> Job;
        job_renew_lease(p: JobRenewLeaseParams) -> DateTime<Utc>;
        job_rescue(p: JobRescueParams) -> Vec<Job>;
        job_list_open(r: WorkspaceRange) -> Vec<Job>;
        job_next_due(p: JobNextDueParams) -> Option<DateTime<Utc>>;
        job_prune(p: JobPruneParams) -> usize;
    }
    fn job_changes(&self) -> Option<watch::Receiver<u64>> {
        self.inner.job_changes()
    }
}

tracked! {
    JobStoreAdmin {
        job_get(id: JobId) -> Option<Job>;
        job_list(p: JobListParams) -> Vec<Job>;
        job_log_list(id: JobId) -> Vec<JobLog>;
        job_stats(p: JobStatsParams) -> JobStats;
    }
}
