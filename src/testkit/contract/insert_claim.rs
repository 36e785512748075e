//! Inserting jobs and claiming due ones.

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::{at, claim, complete, get, insert, insert_one, new_job, t0, ws};
use crate::{
    ExecutorId, Job, JobCancel, JobCancelParams, JobInsertParams, JobState, JobStoreAdmin,
    LogLevel, LogLine, NewJob, Operation, StoreError,
};

/// An insert creates a pending job with every field as given, and its log line.
pub async fn insert_creates_pending_job_with_its_log<S: JobStoreAdmin>(store: S) {
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

/// A (workspace, operation) has at most one open job: a second insert, pending or running, is skipped.
pub async fn insert_skips_second_open_job_for_same_workspace_and_operation<S: JobStoreAdmin>(
    store: S,
) {
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

/// A completed occurrence is never scheduled again; a cancelled one may be.
pub async fn insert_skips_completed_occurrence_but_not_cancelled_one<S: JobStoreAdmin>(store: S) {
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
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0].as_ref().map(|job| job.id).ok(), Some(next.id));
    insert_one(&store, 1, Operation::Start, at(60)).await;
}

/// Times outside the supported range are refused with `InvalidData`; the limits themselves round-trip.
pub async fn insert_refuses_times_outside_the_supported_range<S: JobStoreAdmin>(store: S) {
    use crate::{EARLIEST_DEADLINE, LATEST_DEADLINE};
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

/// A claim takes due jobs only, earliest first, up to its limit.
pub async fn claim_takes_due_jobs_earliest_first_up_to_limit<S: JobStoreAdmin>(store: S) {
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

/// A claim starts an attempt: attempt number, lease, claimer and start time.
pub async fn claim_sets_attempt_lease_and_executor<S: JobStoreAdmin>(store: S) {
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

/// Concurrent claims never take one job twice.
pub async fn concurrent_claims_never_share_a_job<S: JobStoreAdmin>(store: S) {
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

/// Racing claims never put two jobs of one workspace in flight.
pub async fn racing_claims_never_take_two_jobs_of_one_workspace<S: JobStoreAdmin>(store: S) {
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

/// A claim takes one job per workspace, and none of a workspace with a running job.
pub async fn claim_skips_workspace_with_running_job<S: JobStoreAdmin>(store: S) {
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

/// A claim racing a cancel of the same job: exactly one of them wins.
pub async fn claim_racing_cancel_has_one_winner<S: JobStoreAdmin>(store: S) {
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
        assert_eq!(cancelled.len(), 1, "one result per cancel");
        match (
            claimed.len(),
            cancelled.iter().filter(|r| r.is_ok()).count(),
        ) {
            (1, 0) => assert_eq!(after.state(), JobState::Running),
            (0, 1) => assert_eq!(after.state(), JobState::Cancelled),
            other => panic!("claim and cancel both won or both lost: {other:?}"),
        }
    }
}
