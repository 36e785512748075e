//! The `JobStore` contract, written once: each check is an async function taking a
//! fresh, empty store. `tests/contract/main.rs` instantiates one test per check per
//! store.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;
use workspace_lifecycle::{
    ExecutorId, Job, JobCancel, JobCancelParams, JobClaimParams, JobCompleteParams,
    JobInsertParams, JobListParams, JobLogInsertParams, JobPruneParams, JobRenewLeaseParams,
    JobReschedule, JobRescheduleParams, JobRetryParams, JobState, JobStatsParams,
    JobStoreAdmin as JobStore, LogLevel, LogLine, NewJob, NewJobLog, Operation, Rescheduled,
    StoreError, WorkspaceId, WorkspaceRange,
};

/// Every check's name, for the per-store test generators.
#[macro_export]
macro_rules! for_each_check {
    ($callback:ident, $make:expr) => {
        $callback!(
            $make;
            insert_creates_pending_job_with_its_log,
            insert_skips_second_open_job_for_same_workspace_and_operation,
            insert_skips_completed_occurrence_but_not_cancelled_one,
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
            complete_is_fenced_by_attempt,
            complete_records_error_and_blocks_occurrence,
            retry_releases_job_and_counts_only_failures,
            renew_lease_extends_and_is_fenced,
            rescue_returns_expired_leases_and_fences_old_attempt,
            list_open_covers_ranges_and_skips_finished_jobs,
            next_due_is_earliest_run_at_or_lease,
            log_insert_is_fenced_for_executor_lines,
            list_filters_and_orders_newest_first,
            get_and_logs_of_unknown_job_are_empty,
            insert_refuses_times_outside_the_supported_range,
            complete_batch_fences_each_job_by_its_attempt,
            prune_deletes_old_finished_jobs_in_batches_and_keeps_open_ones,
            stats_count_states_and_show_next_and_oldest_running,
        );
    };
}

pub fn t0() -> DateTime<Utc> {
    "2026-01-05T09:00:00Z".parse().unwrap()
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

async fn insert<S: JobStore>(store: &S, jobs: Vec<NewJob>) -> Vec<Job> {
    store
        .job_insert(JobInsertParams { jobs, now: t0() })
        .await
        .unwrap()
}

async fn insert_one<S: JobStore>(
    store: &S,
    w: u128,
    op: Operation,
    deadline: DateTime<Utc>,
) -> Job {
    let mut created = insert(store, vec![new_job(w, op, deadline)]).await;
    assert_eq!(created.len(), 1, "insert of {op} for {w} was skipped");
    created.remove(0)
}

async fn claim<S: JobStore>(store: &S, now: DateTime<Utc>, limit: usize) -> Vec<Job> {
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

async fn get<S: JobStore>(store: &S, job: &Job) -> Job {
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

fn lease_lost<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::LeaseLost { .. }))
}

pub async fn insert_creates_pending_job_with_its_log<S: JobStore>(store: S) {
    let job = insert_one(&store, 1, Operation::Stop, at(60)).await;
    assert_eq!(job.state(), JobState::Pending);
    assert_eq!(job.workspace_id, ws(1));
    assert_eq!(job.operation, Operation::Stop);
    assert_eq!((job.deadline, job.run_at), (at(60), at(60)));
    assert_eq!((job.created_at, job.updated_at), (t0(), t0()));
    assert_eq!((job.attempt, job.failed_attempts), (0, 0));
    assert_eq!(job.started_at, None);
    assert_eq!(job.lease_expires_at, None);
    assert_eq!(job.claimed_by, None);
    assert_eq!(job.error, None);
    assert_eq!(get(&store, &job).await, job);
    let logs = store.job_log_list(job.id).await.unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].output, "scheduled stop of 1");
    assert_eq!(logs[0].level, LogLevel::Info);
    assert_eq!(logs[0].created_at, t0());
}

pub async fn insert_skips_second_open_job_for_same_workspace_and_operation<S: JobStore>(store: S) {
    let created = insert(
        &store,
        vec![
            new_job(1, Operation::Start, at(10)),
            new_job(1, Operation::Start, at(20)),
            new_job(1, Operation::Stop, at(30)),
            new_job(2, Operation::Start, at(10)),
        ],
    )
    .await;
    assert_eq!(created.len(), 3, "one start per workspace: {created:?}");
    assert!(insert(&store, vec![new_job(1, Operation::Start, at(40))])
        .await
        .is_empty());
    // Still open while running.
    let claimed = claim(&store, at(10), 10).await;
    assert_eq!(claimed.len(), 2);
    assert!(insert(&store, vec![new_job(2, Operation::Start, at(50))])
        .await
        .is_empty());
}

pub async fn insert_skips_completed_occurrence_but_not_cancelled_one<S: JobStore>(store: S) {
    let job = insert_one(&store, 1, Operation::Start, at(0)).await;
    let claimed = claim(&store, at(0), 1).await;
    store
        .job_complete(complete(&claimed[0], 1, at(1), None))
        .await
        .unwrap();
    assert!(insert(&store, vec![new_job(1, Operation::Start, at(0))])
        .await
        .is_empty());
    // A different occurrence of the same workspace is fine.
    let next = insert_one(&store, 1, Operation::Start, at(60)).await;
    assert_ne!(next.id, job.id);
    // A cancelled occurrence may be scheduled again.
    let cancelled = store
        .job_cancel(JobCancelParams {
            jobs: vec![JobCancel {
                id: next.id,
                attempt: None,
                log: Some(LogLine::info("x")),
            }],
            now: at(2),
        })
        .await
        .unwrap();
    assert_eq!(cancelled, vec![next.id]);
    insert_one(&store, 1, Operation::Start, at(60)).await;
}

pub async fn claim_takes_due_jobs_earliest_first_up_to_limit<S: JobStore>(store: S) {
    let late = insert_one(&store, 1, Operation::Start, at(5)).await;
    let early = insert_one(&store, 2, Operation::Start, at(1)).await;
    let mid = insert_one(&store, 3, Operation::Start, at(3)).await;
    let future = insert_one(&store, 4, Operation::Start, at(100)).await;
    assert!(
        claim(&store, at(0), 10).await.is_empty(),
        "nothing is due before its run_at"
    );
    let first = claim(&store, at(10), 2).await;
    assert_eq!(
        first.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![early.id, mid.id]
    );
    let second = claim(&store, at(10), 10).await;
    assert_eq!(
        second.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![late.id]
    );
    assert_eq!(get(&store, &future).await.state(), JobState::Pending);
    // Due exactly at its run_at.
    assert_eq!(claim(&store, at(100), 10).await.len(), 1);
}

pub async fn claim_sets_attempt_lease_and_executor<S: JobStore>(store: S) {
    insert_one(&store, 1, Operation::Stop, at(0)).await;
    let job = claim(&store, at(2), 1).await.remove(0);
    assert_eq!(job.state(), JobState::Running);
    assert_eq!(job.started_at, Some(at(2)));
    assert_eq!(job.updated_at, at(2));
    assert_eq!(job.attempt, 1);
    assert_eq!(job.lease_expires_at, Some(at(3)));
    assert_eq!(job.claimed_by, Some(ExecutorId(Uuid::from_u128(99))));
    assert_eq!(get(&store, &job).await, job);
    assert!(
        claim(&store, at(2), 1).await.is_empty(),
        "a running job is not claimed again"
    );
}

pub async fn concurrent_claims_never_share_a_job<S: JobStore>(store: S) {
    let jobs: Vec<NewJob> = (0..50)
        .map(|w| new_job(w, Operation::Start, at(0)))
        .collect();
    insert(&store, jobs).await;
    let (a, b, c) = tokio::join!(
        claim(&store, at(0), 20),
        claim(&store, at(0), 20),
        claim(&store, at(0), 20)
    );
    let mut ids: Vec<_> = a.iter().chain(&b).chain(&c).map(|j| j.id).collect();
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "a job was claimed twice");
    assert_eq!(total, 50);
}

pub async fn racing_claims_never_take_two_jobs_of_one_workspace<S: JobStore>(store: S) {
    // Each workspace has a start and a stop due together; four claimers race.
    let mut jobs = Vec::new();
    for w in 0..20 {
        jobs.push(new_job(w, Operation::Start, at(0)));
        jobs.push(new_job(w, Operation::Stop, at(0)));
    }
    assert_eq!(insert(&store, jobs).await.len(), 40);
    let (a, b, c, d) = tokio::join!(
        claim(&store, at(0), 10),
        claim(&store, at(0), 10),
        claim(&store, at(0), 10),
        claim(&store, at(0), 10)
    );
    let claimed: Vec<&Job> = a.iter().chain(&b).chain(&c).chain(&d).collect();
    let mut workspaces: Vec<_> = claimed.iter().map(|j| j.workspace_id).collect();
    workspaces.sort();
    workspaces.dedup();
    assert_eq!(
        workspaces.len(),
        claimed.len(),
        "a workspace got two jobs in flight"
    );
    assert!(!claimed.is_empty());
}

pub async fn claim_skips_workspace_with_running_job<S: JobStore>(store: S) {
    let start = insert_one(&store, 1, Operation::Start, at(0)).await;
    let stop = insert_one(&store, 1, Operation::Stop, at(1)).await;
    insert_one(&store, 2, Operation::Start, at(2)).await;
    // One job per workspace per claim, the earliest.
    let first = claim(&store, at(5), 10).await;
    assert_eq!(first.len(), 2);
    assert!(first.iter().any(|j| j.id == start.id));
    assert!(!first.iter().any(|j| j.id == stop.id));
    // Not while the workspace's other job runs.
    assert!(claim(&store, at(5), 10).await.is_empty());
    let running = get(&store, &start).await;
    store
        .job_complete(complete(&running, 1, at(6), None))
        .await
        .unwrap();
    let second = claim(&store, at(6), 10).await;
    assert_eq!(
        second.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![stop.id]
    );
}

pub async fn claim_racing_cancel_has_one_winner<S: JobStore>(store: S) {
    for round in 0..20u128 {
        let job = insert_one(&store, 1000 + round, Operation::Start, at(0)).await;
        let cancel = store.job_cancel(JobCancelParams {
            jobs: vec![JobCancel {
                id: job.id,
                attempt: None,
                log: Some(LogLine::info("race")),
            }],
            now: at(0),
        });
        let (claimed, cancelled) = tokio::join!(claim(&store, at(0), 1), cancel);
        let cancelled = cancelled.unwrap();
        let after = get(&store, &job).await;
        match (claimed.len(), cancelled.len()) {
            (1, 0) => assert_eq!(after.state(), JobState::Running),
            (0, 1) => assert_eq!(after.state(), JobState::Cancelled),
            other => panic!("claim and cancel both won or both lost: {other:?}"),
        }
    }
}

pub async fn reschedule_moves_pending_job_and_resets_retry_state<S: JobStore>(store: S) {
    let job = insert_one(&store, 1, Operation::Start, at(0)).await;
    // Fail one attempt so there is retry state to reset.
    let claimed = claim(&store, at(0), 1).await.remove(0);
    store
        .job_retry(JobRetryParams {
            id: job.id,
            attempt: claimed.attempt,
            now: at(1),
            run_at: at(5),
            error: Some("boom".into()),
            logs: vec![],
        })
        .await
        .unwrap();
    let results = store
        .job_reschedule(JobRescheduleParams {
            jobs: vec![JobReschedule {
                id: job.id,
                deadline: at(30),
                run_at: None,
                log: Some(LogLine::info("moved")),
            }],
            now: at(2),
        })
        .await
        .unwrap();
    assert_eq!(results, vec![(job.id, Rescheduled::Moved)]);
    let moved = get(&store, &job).await;
    assert_eq!((moved.deadline, moved.run_at), (at(30), at(30)));
    assert_eq!((moved.failed_attempts, moved.error.clone()), (0, None));
    assert_eq!(moved.updated_at, at(2));
    assert_eq!(moved.state(), JobState::Pending);
    assert!(claim(&store, at(29), 1).await.is_empty());
    let logs = store.job_log_list(job.id).await.unwrap();
    assert_eq!(logs.last().map(|l| l.output.as_str()), Some("moved"));
}

pub async fn reschedule_refuses_completed_occurrence_and_non_pending_jobs<S: JobStore>(store: S) {
    let first = insert_one(&store, 1, Operation::Stop, at(0)).await;
    let claimed = claim(&store, at(0), 1).await.remove(0);
    store
        .job_complete(complete(&claimed, 1, at(1), None))
        .await
        .unwrap();
    let second = insert_one(&store, 1, Operation::Stop, at(60)).await;
    let running = insert_one(&store, 2, Operation::Stop, at(0)).await;
    claim(&store, at(0), 1).await;
    let results = store
        .job_reschedule(JobRescheduleParams {
            jobs: vec![
                JobReschedule {
                    id: second.id,
                    deadline: at(0),
                    run_at: None,
                    log: Some(LogLine::info("to done")),
                },
                JobReschedule {
                    id: running.id,
                    deadline: at(9),
                    run_at: None,
                    log: Some(LogLine::info("running")),
                },
                JobReschedule {
                    id: first.id,
                    deadline: at(9),
                    run_at: None,
                    log: Some(LogLine::info("completed")),
                },
            ],
            now: at(2),
        })
        .await
        .unwrap();
    assert_eq!(
        results,
        vec![
            (second.id, Rescheduled::OccurrenceTaken),
            (running.id, Rescheduled::NotPending),
            (first.id, Rescheduled::NotPending),
        ]
    );
    assert_eq!(get(&store, &second).await.deadline, at(60));
    assert_eq!(get(&store, &running).await.deadline, at(0));
}

pub async fn cancel_without_attempt_takes_pending_jobs_only<S: JobStore>(store: S) {
    let pending = insert_one(&store, 1, Operation::Start, at(10)).await;
    let running = insert_one(&store, 2, Operation::Start, at(0)).await;
    claim(&store, at(0), 1).await;
    let cancelled = store
        .job_cancel(JobCancelParams {
            jobs: vec![
                JobCancel {
                    id: pending.id,
                    attempt: None,
                    log: Some(LogLine::info("no schedule")),
                },
                JobCancel {
                    id: running.id,
                    attempt: None,
                    log: Some(LogLine::info("no schedule")),
                },
            ],
            now: at(1),
        })
        .await
        .unwrap();
    assert_eq!(cancelled, vec![pending.id]);
    let after = get(&store, &pending).await;
    assert_eq!(after.state(), JobState::Cancelled);
    assert_eq!(after.cancelled_at, Some(at(1)));
    assert_eq!(get(&store, &running).await.state(), JobState::Running);
    let logs = store.job_log_list(pending.id).await.unwrap();
    assert_eq!(logs.last().map(|l| l.output.as_str()), Some("no schedule"));
    assert_eq!(store.job_log_list(running.id).await.unwrap().len(), 1);
}

pub async fn cancel_with_attempt_is_fenced<S: JobStore>(store: S) {
    let job = insert_one(&store, 1, Operation::Stop, at(0)).await;
    claim(&store, at(0), 1).await;
    let stale = store
        .job_cancel(JobCancelParams {
            jobs: vec![JobCancel {
                id: job.id,
                attempt: Some(7),
                log: Some(LogLine::info("stale")),
            }],
            now: at(1),
        })
        .await
        .unwrap();
    assert!(stale.is_empty());
    assert_eq!(get(&store, &job).await.state(), JobState::Running);
    let held = store
        .job_cancel(JobCancelParams {
            jobs: vec![JobCancel {
                id: job.id,
                attempt: Some(1),
                log: Some(LogLine::info("gone")),
            }],
            now: at(1),
        })
        .await
        .unwrap();
    assert_eq!(held, vec![job.id]);
    let after = get(&store, &job).await;
    assert_eq!(after.state(), JobState::Cancelled);
    assert_eq!(after.lease_expires_at, None);
    // The workspace is free again.
    insert_one(&store, 1, Operation::Stop, at(0)).await;
}

pub async fn complete_is_fenced_by_attempt<S: JobStore>(store: S) {
    let job = insert_one(&store, 1, Operation::Start, at(0)).await;
    assert!(
        lease_lost(store.job_complete(complete(&job, 0, at(0), None)).await),
        "pending job"
    );
    claim(&store, at(0), 1).await;
    assert!(lease_lost(
        store.job_complete(complete(&job, 2, at(1), None)).await
    ));
    let done = store
        .job_complete(complete(&job, 1, at(1), None))
        .await
        .unwrap();
    assert_eq!(done.state(), JobState::Completed);
    assert_eq!(done.completed_at, Some(at(1)));
    assert_eq!((done.error.clone(), done.failed_attempts), (None, 0));
    assert!(lease_lost(
        store
            .job_complete(complete(&job, 1, at(2), Some("late")))
            .await
    ));
    assert_eq!(
        get(&store, &job).await,
        done,
        "a late write changes nothing"
    );
}

pub async fn complete_records_error_and_blocks_occurrence<S: JobStore>(store: S) {
    let job = insert_one(&store, 1, Operation::Start, at(0)).await;
    claim(&store, at(0), 1).await;
    let done = store
        .job_complete(complete(&job, 1, at(1), Some("quota exceeded")))
        .await
        .unwrap();
    assert_eq!(done.error.as_deref(), Some("quota exceeded"));
    assert_eq!(
        done.failed_attempts, 1,
        "the final failure is a failed attempt"
    );
    assert!(insert(&store, vec![new_job(1, Operation::Start, at(0))])
        .await
        .is_empty());
    let logs = store.job_log_list(job.id).await.unwrap();
    assert_eq!(
        logs.iter().map(|l| l.output.as_str()).collect::<Vec<_>>(),
        vec!["scheduled start of 1", "done"]
    );
}

pub async fn retry_releases_job_and_counts_only_failures<S: JobStore>(store: S) {
    let job = insert_one(&store, 1, Operation::Start, at(0)).await;
    claim(&store, at(0), 1).await;
    let failed = store
        .job_retry(JobRetryParams {
            id: job.id,
            attempt: 1,
            now: at(1),
            run_at: at(3),
            error: Some("boom".into()),
            logs: vec![LogLine::warn("retrying")],
        })
        .await
        .unwrap();
    assert_eq!(failed.state(), JobState::Pending);
    assert_eq!((failed.run_at, failed.deadline), (at(3), at(0)));
    assert_eq!(
        (failed.failed_attempts, failed.error.as_deref()),
        (1, Some("boom"))
    );
    assert_eq!(
        (
            failed.started_at,
            failed.lease_expires_at,
            failed.claimed_by
        ),
        (None, None, None)
    );
    assert!(
        claim(&store, at(2), 1).await.is_empty(),
        "not before run_at"
    );
    let again = claim(&store, at(3), 1).await.remove(0);
    assert_eq!(again.attempt, 2);
    let released = store
        .job_retry(JobRetryParams {
            id: job.id,
            attempt: 2,
            now: at(4),
            run_at: at(5),
            error: None,
            logs: vec![],
        })
        .await
        .unwrap();
    assert_eq!(released.failed_attempts, 1, "a release is not a failure");
    assert!(lease_lost(
        store
            .job_retry(JobRetryParams {
                id: job.id,
                attempt: 2,
                now: at(5),
                run_at: at(6),
                error: None,
                logs: vec![]
            })
            .await
    ));
    // A later success leaves no error behind: `error` on a completed job means failed.
    claim(&store, at(5), 1).await;
    let done = store
        .job_complete(complete(&job, 3, at(6), None))
        .await
        .unwrap();
    assert_eq!(done.error, None);
}

pub async fn renew_lease_extends_and_is_fenced<S: JobStore>(store: S) {
    let job = insert_one(&store, 1, Operation::Start, at(0)).await;
    claim(&store, at(0), 1).await;
    let renew = |attempt, now| JobRenewLeaseParams {
        id: job.id,
        attempt,
        now,
        lease: LEASE,
    };
    assert_eq!(store.job_renew_lease(renew(1, at(1))).await.unwrap(), at(2));
    assert_eq!(get(&store, &job).await.lease_expires_at, Some(at(2)));
    assert!(lease_lost(store.job_renew_lease(renew(3, at(1))).await));
    assert!(
        store.job_rescue(at(1)).await.unwrap().is_empty(),
        "renewed lease is not expired"
    );
}

pub async fn rescue_returns_expired_leases_and_fences_old_attempt<S: JobStore>(store: S) {
    let old = insert_one(&store, 1, Operation::Stop, at(0)).await;
    let young = insert_one(&store, 2, Operation::Stop, at(1)).await;
    claim(&store, at(0), 1).await;
    claim(&store, at(1), 1).await;
    assert!(store.job_rescue(at(0)).await.unwrap().is_empty());
    let rescued = store.job_rescue(at(1)).await.unwrap();
    assert_eq!(rescued.len(), 1);
    assert_eq!(rescued[0].id, old.id);
    assert_eq!(
        rescued[0].state(),
        JobState::Running,
        "returned as it was before"
    );
    let after = get(&store, &old).await;
    assert_eq!(after.state(), JobState::Pending);
    assert_eq!(after.run_at, at(1));
    assert_eq!((after.lease_expires_at, after.claimed_by), (None, None));
    assert_eq!(get(&store, &young).await.state(), JobState::Running);
    // The rescued attempt can no longer write.
    assert!(lease_lost(
        store.job_complete(complete(&old, 1, at(1), None)).await
    ));
    let again = claim(&store, at(1), 1).await.remove(0);
    assert_eq!((again.id, again.attempt), (old.id, 2));
    assert!(lease_lost(
        store.job_complete(complete(&old, 1, at(2), None)).await
    ));
    store
        .job_complete(complete(&old, 2, at(2), None))
        .await
        .unwrap();
}

pub async fn list_open_covers_ranges_and_skips_finished_jobs<S: JobStore>(store: S) {
    for w in 1..=5 {
        insert_one(&store, w, Operation::Stop, at(w as i64)).await;
    }
    insert_one(&store, 3, Operation::Start, at(50)).await;
    // Finish workspace 1's job.
    let claimed = claim(&store, at(1), 1).await.remove(0);
    assert_eq!(claimed.workspace_id, ws(1));
    store
        .job_complete(complete(&claimed, 1, at(1), None))
        .await
        .unwrap();
    let range = |after: Option<u128>, through: Option<u128>| WorkspaceRange::Page {
        after: after.map(ws),
        through: through.map(ws),
    };
    let keys = |jobs: Vec<Job>| {
        jobs.iter()
            .map(|j| (j.workspace_id, j.operation))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(store.job_list_open(range(Some(1), Some(3))).await.unwrap()),
        vec![
            (ws(2), Operation::Stop),
            (ws(3), Operation::Start),
            (ws(3), Operation::Stop)
        ]
    );
    assert_eq!(
        keys(store.job_list_open(range(Some(3), None)).await.unwrap()).len(),
        2
    );
    assert_eq!(
        keys(store.job_list_open(WorkspaceRange::ALL).await.unwrap()).len(),
        5
    );
    assert_eq!(
        keys(
            store
                .job_list_open(WorkspaceRange::One(ws(3)))
                .await
                .unwrap()
        ),
        vec![(ws(3), Operation::Start), (ws(3), Operation::Stop)]
    );
    assert!(store
        .job_list_open(WorkspaceRange::One(ws(1)))
        .await
        .unwrap()
        .is_empty());
    // Running jobs are open too.
    claim(&store, at(2), 1).await;
    assert_eq!(
        store
            .job_list_open(WorkspaceRange::One(ws(2)))
            .await
            .unwrap()[0]
            .state(),
        JobState::Running
    );
}

pub async fn next_due_is_earliest_run_at_or_lease<S: JobStore>(store: S) {
    assert_eq!(store.job_next_due(t0()).await.unwrap(), None);
    insert_one(&store, 1, Operation::Start, at(30)).await;
    insert_one(&store, 2, Operation::Start, at(0)).await;
    assert_eq!(store.job_next_due(at(-1)).await.unwrap(), Some(at(0)));
    // Only what lies strictly after `after`.
    assert_eq!(store.job_next_due(at(0)).await.unwrap(), Some(at(30)));
    // Claimed at 0 with a one-minute lease: next is the lease, then the pending job.
    claim(&store, at(0), 1).await;
    assert_eq!(store.job_next_due(at(0)).await.unwrap(), Some(at(1)));
    let claimed = store
        .job_list_open(WorkspaceRange::One(ws(2)))
        .await
        .unwrap()
        .remove(0);
    store
        .job_complete(complete(&claimed, 1, at(0), None))
        .await
        .unwrap();
    assert_eq!(store.job_next_due(at(0)).await.unwrap(), Some(at(30)));
    assert_eq!(store.job_next_due(at(30)).await.unwrap(), None);
}

pub async fn log_insert_is_fenced_for_executor_lines<S: JobStore>(store: S) {
    let job = insert_one(&store, 1, Operation::Start, at(0)).await;
    claim(&store, at(0), 1).await;
    let line = |attempt, text: &str| NewJobLog {
        job_id: job.id,
        attempt,
        line: LogLine::info(text),
    };
    let unknown = NewJobLog {
        job_id: workspace_lifecycle::JobId(Uuid::from_u128(5)),
        attempt: None,
        line: LogLine::info("?"),
    };
    let written = store
        .job_log_insert(JobLogInsertParams {
            logs: vec![
                line(Some(1), "held"),
                line(Some(2), "stale"),
                line(None, "scheduler"),
                unknown,
            ],
            now: at(1),
        })
        .await
        .unwrap();
    assert_eq!(written, 2);
    let long = NewJobLog {
        job_id: job.id,
        attempt: None,
        line: LogLine::new(LogLevel::Error, "x".repeat(5000)),
    };
    store
        .job_log_insert(JobLogInsertParams {
            logs: vec![long],
            now: at(2),
        })
        .await
        .unwrap();
    let logs = store.job_log_list(job.id).await.unwrap();
    let texts: Vec<_> = logs.iter().map(|l| l.output.as_str()).collect();
    assert_eq!(&texts[..3], &["scheduled start of 1", "held", "scheduler"]);
    assert_eq!(logs[3].output.chars().count(), LogLine::MAX_CHARS);
    assert_eq!(logs[3].level, LogLevel::Error);
    assert_eq!(logs[3].created_at, at(2));
}

pub async fn list_filters_and_orders_newest_first<S: JobStore>(store: S) {
    let a = insert_one(&store, 1, Operation::Start, at(0)).await;
    let b = store
        .job_insert(JobInsertParams {
            jobs: vec![new_job(1, Operation::Stop, at(5))],
            now: at(1),
        })
        .await
        .unwrap()
        .remove(0);
    let c = store
        .job_insert(JobInsertParams {
            jobs: vec![new_job(2, Operation::Stop, at(5))],
            now: at(2),
        })
        .await
        .unwrap()
        .remove(0);
    claim(&store, at(0), 1).await;
    let ids = |jobs: Vec<Job>| jobs.into_iter().map(|j| j.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.job_list(JobListParams::default()).await.unwrap()),
        vec![c.id, b.id, a.id]
    );
    let by_ws = JobListParams {
        workspace_id: Some(ws(1)),
        ..JobListParams::default()
    };
    assert_eq!(ids(store.job_list(by_ws).await.unwrap()), vec![b.id, a.id]);
    let by_op = JobListParams {
        operation: Some(Operation::Stop),
        limit: Some(1),
        ..JobListParams::default()
    };
    assert_eq!(ids(store.job_list(by_op).await.unwrap()), vec![c.id]);
    let running = JobListParams {
        state: Some(JobState::Running),
        ..JobListParams::default()
    };
    assert_eq!(ids(store.job_list(running).await.unwrap()), vec![a.id]);
}

pub async fn get_and_logs_of_unknown_job_are_empty<S: JobStore>(store: S) {
    let id = workspace_lifecycle::JobId(Uuid::from_u128(12345));
    assert_eq!(store.job_get(id).await.unwrap(), None);
    assert!(store.job_log_list(id).await.unwrap().is_empty());
    assert!(lease_lost(
        store
            .job_renew_lease(JobRenewLeaseParams {
                id,
                attempt: 1,
                now: t0(),
                lease: LEASE
            })
            .await
    ));
}

pub async fn insert_refuses_times_outside_the_supported_range<S: JobStore>(store: S) {
    use workspace_lifecycle::{EARLIEST_DEADLINE, LATEST_DEADLINE};
    for bad in [
        DateTime::<Utc>::MAX_UTC,
        DateTime::<Utc>::MIN_UTC,
        LATEST_DEADLINE + TimeDelta::seconds(1),
        EARLIEST_DEADLINE - TimeDelta::seconds(1),
    ] {
        let result = store
            .job_insert(JobInsertParams {
                jobs: vec![new_job(1, Operation::Stop, bad)],
                now: at(0),
            })
            .await;
        assert!(
            matches!(&result, Err(StoreError::InvalidData(m)) if m.contains("outside the supported range")),
            "{bad}: {result:?}"
        );
    }
    // The limits themselves are stored and read back unchanged.
    for edge in [EARLIEST_DEADLINE, LATEST_DEADLINE] {
        let n = if edge == EARLIEST_DEADLINE { 2 } else { 3 };
        let job = insert_one(&store, n, Operation::Stop, edge).await;
        assert_eq!(get(&store, &job).await.deadline, edge);
    }
}

pub async fn complete_batch_fences_each_job_by_its_attempt<S: JobStore>(store: S) {
    let new = [1, 2, 3].map(|n| new_job(n, Operation::Stop, at(0)));
    let jobs = insert(&store, new.to_vec()).await;
    assert_eq!(claim(&store, at(0), 3).await.len(), 3);
    let results = store
        .job_complete_batch(vec![
            complete(&jobs[0], 1, at(1), None),
            complete(&jobs[1], 2, at(1), None),
            complete(&jobs[2], 1, at(2), Some("quota exceeded")),
        ])
        .await
        .unwrap();
    assert_eq!(results.len(), 3);
    let done = results[0].as_ref().unwrap();
    assert_eq!(
        (done.state(), done.completed_at),
        (JobState::Completed, Some(at(1)))
    );
    assert!(matches!(
        results[1],
        Err(StoreError::LeaseLost { attempt: 2, .. })
    ));
    let failed = results[2].as_ref().unwrap();
    assert_eq!(
        (
            failed.error.as_deref(),
            failed.failed_attempts,
            failed.completed_at
        ),
        (Some("quota exceeded"), 1, Some(at(2)))
    );
    assert_eq!(
        get(&store, &jobs[1]).await.state(),
        JobState::Running,
        "fenced out"
    );
    for (job, lines) in [(&jobs[0], 2), (&jobs[1], 1), (&jobs[2], 2)] {
        assert_eq!(
            store.job_log_list(job.id).await.unwrap().len(),
            lines,
            "{job:?}"
        );
    }
    assert!(store
        .job_complete_batch(Vec::new())
        .await
        .unwrap()
        .is_empty());
}

pub async fn prune_deletes_old_finished_jobs_in_batches_and_keeps_open_ones<S: JobStore>(store: S) {
    // Workspaces 1-3 completed at 1, 2 and 3 minutes; 4 cancelled at 4; 5 running;
    // 6 pending; 7 completed at 30 (recent).
    let jobs = insert(
        &store,
        [1, 2, 3, 4, 5, 7]
            .map(|n| new_job(n, Operation::Stop, at(0)))
            .to_vec(),
    )
    .await;
    insert_one(&store, 6, Operation::Stop, at(600)).await;
    assert_eq!(claim(&store, at(0), 10).await.len(), 6);
    for (i, minute) in [(0, 1), (1, 2), (2, 3), (5, 30)] {
        store
            .job_complete(complete(&jobs[i], 1, at(minute), None))
            .await
            .unwrap();
    }
    let cancel = JobCancel {
        id: jobs[3].id,
        attempt: Some(1),
        log: None,
    };
    store
        .job_cancel(JobCancelParams {
            jobs: vec![cancel],
            now: at(4),
        })
        .await
        .unwrap();
    let prune = |limit| JobPruneParams {
        finished_before: at(10),
        limit,
    };
    // Oldest first, at most `limit` per call.
    assert_eq!(store.job_prune(prune(2)).await.unwrap(), 2);
    assert_eq!(store.job_get(jobs[0].id).await.unwrap(), None);
    assert_eq!(store.job_get(jobs[1].id).await.unwrap(), None);
    assert!(store.job_log_list(jobs[0].id).await.unwrap().is_empty());
    assert!(store.job_get(jobs[2].id).await.unwrap().is_some());
    assert_eq!(store.job_prune(prune(10)).await.unwrap(), 2, "3 and 4");
    assert_eq!(store.job_prune(prune(10)).await.unwrap(), 0);
    // Open jobs and the recent completion stay, with their logs.
    for job in [&jobs[4], &jobs[5]] {
        assert!(store.job_get(job.id).await.unwrap().is_some());
        assert!(!store.job_log_list(job.id).await.unwrap().is_empty());
    }
    assert_eq!(
        store
            .job_list(JobListParams::default())
            .await
            .unwrap()
            .len(),
        3
    );
    // A pruned completion no longer guards its occurrence: the store lets it be
    // scheduled again (which is why the engine never schedules one this old).
    assert_eq!(
        insert(&store, vec![new_job(1, Operation::Stop, at(0))])
            .await
            .len(),
        1
    );
    // The boundary is strict: a job finished exactly at the cutoff stays.
    let exact = JobPruneParams {
        finished_before: at(30),
        limit: 10,
    };
    assert_eq!(store.job_prune(exact).await.unwrap(), 0);
}

pub async fn stats_count_states_and_show_next_and_oldest_running<S: JobStore>(store: S) {
    let empty = store
        .job_stats(JobStatsParams { now: t0(), next: 5 })
        .await
        .unwrap();
    assert_eq!(
        (
            empty.pending,
            empty.running,
            empty.completed,
            empty.cancelled
        ),
        (0, 0, 0, 0)
    );
    assert!(empty.next_due.is_empty() && empty.oldest_running.is_none());
    // Claimed at 0: workspaces 1-4. Completed: 1, and 2 with an error. Cancelled: 3.
    // Running: 4 (claimed at 0) and 5 (claimed at 2). Pending: 6, 7, 8.
    let early = insert(
        &store,
        [1, 2, 3, 4]
            .map(|n| new_job(n, Operation::Start, at(0)))
            .to_vec(),
    )
    .await;
    assert_eq!(claim(&store, at(0), 10).await.len(), 4);
    let five = insert_one(&store, 5, Operation::Start, at(2)).await;
    assert_eq!(claim(&store, at(2), 10).await.len(), 1);
    for (w, d) in [(6, 30), (7, 10), (8, 20)] {
        insert_one(&store, w, Operation::Stop, at(d)).await;
    }
    store
        .job_complete(complete(&early[0], 1, at(1), None))
        .await
        .unwrap();
    store
        .job_complete(complete(&early[1], 1, at(1), Some("quota")))
        .await
        .unwrap();
    let cancel = JobCancel {
        id: early[2].id,
        attempt: Some(1),
        log: None,
    };
    store
        .job_cancel(JobCancelParams {
            jobs: vec![cancel],
            now: at(1),
        })
        .await
        .unwrap();
    // At 1:30 the lease of 4 (claimed at 0, 60 s) has expired; 5's has not.
    let stats = store
        .job_stats(JobStatsParams {
            now: at(1) + TimeDelta::seconds(30),
            next: 2,
        })
        .await
        .unwrap();
    assert_eq!(
        (
            stats.pending,
            stats.running,
            stats.completed,
            stats.failed,
            stats.cancelled,
            stats.expired_leases
        ),
        (3, 2, 2, 1, 1, 1)
    );
    let next: Vec<_> = stats
        .next_due
        .iter()
        .map(|j| (j.workspace_id, j.run_at))
        .collect();
    assert_eq!(next, [(ws(7), at(10)), (ws(8), at(20))]);
    let oldest = stats.oldest_running.expect("two jobs run");
    assert_eq!((oldest.id, oldest.started_at), (early[3].id, Some(at(0))));
    assert_ne!(oldest.id, five.id);
}
