//! The [`JobStore`](crate::JobStore) contract, written once, for any implementation to run from its own
//! tests (as River's driver test suite and object_store's integration module are).
//!
//! The checks need [`JobStoreAdmin`] too: they read back what each write did with
//! `job_get` and `job_log_list`, the operator reads every store offers.
//!
//! Each check is a public async function taking a fresh, empty store; it panics, as
//! `assert!` does, where the store breaks the contract. [`job_store_contract!`](crate::job_store_contract)
//! generates one `#[test]` per check, so one broken rule fails one named test and
//! hides none of the others. The in-memory store is the reference: each check passes
//! on it and on `PgStore`.
//!
//! The macro takes a runner: a closure given the check, that makes a store, awaits the
//! check on it, and cleans up after it. For a store with nothing to set up:
//!
//! ```
//! mod in_memory {
//!     use workspace_lifecycle::InMemoryStore;
//!
//!     workspace_lifecycle::job_store_contract!(|check| check(InMemoryStore::new()));
//! }
//! # fn main() {}
//! ```
//!
//! A store on a server makes its store in the runner, and may skip (return without
//! running the check) when no server is configured:
//!
//! ```
//! mod my_store {
//!     # use workspace_lifecycle::InMemoryStore as MyStore;
//!     # async fn connect() -> Option<MyStore> { Some(MyStore::new()) }
//!     workspace_lifecycle::job_store_contract!(|check| async move {
//!         let Some(store) = connect().await else { return };
//!         check(store).await;
//!     });
//! }
//! # fn main() {}
//! ```
//!
//! A single check can also be called directly:
//!
//! ```
//! use workspace_lifecycle::testkit::contract;
//! use workspace_lifecycle::InMemoryStore;
//!
//! contract::run(contract::claim_takes_due_jobs_earliest_first_up_to_limit, |check| {
//!     check(InMemoryStore::new())
//! });
//! ```
//!
//! The checks are grouped by concept: inserting and claiming, the scheduler's
//! rescheduling and cancelling, ending and holding an attempt, and reading and
//! pruning the table.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::{
    ExecutorId, Job, JobClaimParams, JobComplete, JobCompleteParams, JobInsertParams,
    JobStoreAdmin, LogLine, NewJob, Operation, StoreError, WorkspaceId,
};

mod attempts;
mod insert_claim;
mod listing;
mod reschedule_cancel;

pub use attempts::*;
pub use insert_claim::*;
pub use listing::*;
pub use reschedule_cancel::*;

/// One `#[test]` per contract check, each running the check through `runner`.
///
/// `runner` is a closure given the check (a function from a store to a future); it
/// makes a fresh, empty store, awaits the check on it, and cleans up. Each test runs
/// on a current-thread runtime of its own. The tests are named after the checks, so
/// invoke the macro in a module of its own per store.
///
/// ```
/// mod memory {
///     use workspace_lifecycle::InMemoryStore;
///
///     workspace_lifecycle::job_store_contract!(|check| check(InMemoryStore::new()));
/// }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! job_store_contract {
    ($runner:expr) => {
        $crate::job_store_contract!(@tests $runner;
            insert_creates_pending_job_with_its_log,
            insert_skips_second_open_job_for_same_workspace_and_operation,
            insert_skips_completed_occurrence_but_not_cancelled_one,
            insert_refuses_times_outside_the_supported_range,
            claim_takes_due_jobs_earliest_first_up_to_limit,
            claim_sets_attempt_lease_and_executor,
            concurrent_claims_never_share_a_job,
            racing_claims_never_take_two_jobs_of_one_workspace,
            claim_skips_workspace_with_running_job,
            claim_racing_cancel_has_one_winner,
            reschedule_moves_pending_job_and_resets_retry_state,
            reschedule_refuses_completed_occurrence_and_non_pending_jobs,
            cancel_without_attempt_takes_pending_jobs_only,
            cancel_with_attempt_is_fenced,
            batch_writes_answer_each_item_in_input_order,
            complete_is_fenced_by_attempt,
            complete_records_error_and_blocks_occurrence,
            complete_batch_fences_each_job_by_its_attempt,
            retry_releases_job_and_counts_only_failures,
            renew_lease_extends_and_is_fenced,
            rescue_returns_expired_leases_and_fences_old_attempt,
            log_insert_is_fenced_for_executor_lines,
            list_open_covers_ranges_and_skips_finished_jobs,
            next_due_is_earliest_run_at_or_lease,
            list_filters_and_orders_newest_first,
            get_and_logs_of_unknown_job_are_empty,
            prune_deletes_old_finished_jobs_in_batches_and_keeps_open_ones,
            stats_count_states_and_show_next_and_oldest_running,
        );
    };
    (@tests $runner:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::testkit::contract::run($crate::testkit::contract::$check, $runner);
            }
        )*
    };
}

/// Runs one check: `runner` is given `check`, makes a store, and awaits the check on
/// it, on a current-thread runtime of its own (what each test of
/// [`job_store_contract!`](crate::job_store_contract) does).
///
/// ```
/// use workspace_lifecycle::testkit::contract;
/// use workspace_lifecycle::InMemoryStore;
///
/// contract::run(contract::concurrent_claims_never_share_a_job, |check| {
///     check(InMemoryStore::new())
/// });
/// ```
///
/// # Panics
///
/// When the check fails, and when no runtime can be built (no test could run).
pub fn run<C, R, F>(check: C, runner: R)
where
    R: FnOnce(C) -> F,
    F: Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|error| panic!("a runtime for the contract check: {error}"));
    runtime.block_on(runner(check));
}

/// The instant every check starts at.
fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_603_600, 0).unwrap_or_default()
}

fn at(minutes: i64) -> DateTime<Utc> {
    t0() + TimeDelta::minutes(minutes)
}

fn ws(n: u128) -> WorkspaceId {
    WorkspaceId(Uuid::from_u128(n))
}

const LEASE: Duration = Duration::from_secs(60);

fn new_job(w: u128, operation: Operation, deadline: DateTime<Utc>) -> NewJob {
    NewJob {
        workspace_id: ws(w),
        operation,
        deadline,
        run_at: None,
        log: Some(LogLine::info(format!("scheduled {operation} of {w}"))),
    }
}

/// The jobs created, the skipped ones (`Duplicate`) left out; any other refusal fails.
async fn insert<S: JobStoreAdmin>(store: &S, jobs: Vec<NewJob>) -> Vec<Job> {
    let count = jobs.len();
    let results = store
        .job_insert(JobInsertParams { jobs, now: t0() })
        .await
        .unwrap();
    assert_eq!(results.len(), count, "one result per job");
    results
        .into_iter()
        .filter_map(|result| match result {
            Ok(job) => Some(job),
            Err(StoreError::Duplicate { .. }) => None,
            Err(error) => panic!("insert refused a job: {error}"),
        })
        .collect()
}

async fn insert_one<S: JobStoreAdmin>(
    store: &S,
    w: u128,
    op: Operation,
    deadline: DateTime<Utc>,
) -> Job {
    let mut created = insert(store, vec![new_job(w, op, deadline)]).await;
    assert_eq!(created.len(), 1, "insert of {op} for {w} was skipped");
    created.remove(0)
}

async fn claim<S: JobStoreAdmin>(store: &S, now: DateTime<Utc>, limit: usize) -> Vec<Job> {
    store
        .job_claim(JobClaimParams {
            now,
            limit,
            lease: LEASE,
            executor: ExecutorId(Uuid::from_u128(99)),
        })
        .await
        .unwrap()
}

async fn get<S: JobStoreAdmin>(store: &S, job: &Job) -> Job {
    store.job_get(job.id).await.unwrap().expect("job exists")
}

fn complete(job: &Job, attempt: u32, now: DateTime<Utc>, error: Option<&str>) -> JobCompleteParams {
    JobCompleteParams {
        id: job.id,
        attempt,
        now,
        error: error.map(str::to_owned),
        logs: vec![LogLine::info("done")],
    }
}

fn complete_item(job: &Job, attempt: u32, error: Option<&str>) -> JobComplete {
    JobComplete {
        id: job.id,
        attempt,
        error: error.map(str::to_owned),
        logs: vec![LogLine::info("done")],
    }
}

fn lease_lost<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::LeaseLost { .. }))
}
