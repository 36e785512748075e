//! Ending and holding an attempt: complete, retry, lease renewal, rescue, and the attempt's log lines, all fenced by the attempt number.

use uuid::Uuid;

use super::{
    at, claim, complete, complete_item, get, insert, insert_one, lease_lost, new_job, LEASE,
};
use crate::{
    JobCompleteBatchParams, JobLogInsertParams, JobRenewLeaseParams, JobRescueParams,
    JobRetryParams, JobState, JobStoreAdmin, LogLevel, LogLine, NewJobLog, Operation, StoreError,
};

/// Completing is fenced: only the current attempt of a running job completes it.
pub async fn complete_is_fenced_by_attempt<S: JobStoreAdmin>(store: S) {
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

/// A completion with an error records it, and the occurrence is done either way.
pub async fn complete_records_error_and_blocks_occurrence<S: JobStoreAdmin>(store: S) {
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

/// A batch completion fences each job by its own attempt and reports each result.
pub async fn complete_batch_fences_each_job_by_its_attempt<S: JobStoreAdmin>(store: S) {
    let new = [1, 2, 3].map(|n| new_job(n, Operation::Stop, at(0)));
    let jobs = insert(&store, new.to_vec()).await;
    assert_eq!(claim(&store, at(0), 3).await.len(), 3);
    let batch = JobCompleteBatchParams {
        jobs: vec![
            complete_item(&jobs[0], 1, None),
            complete_item(&jobs[1], 2, None),
            complete_item(&jobs[2], 1, Some("quota exceeded")),
        ],
        now: at(1),
    };
    let results = store.job_complete_batch(batch).await.unwrap();
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
        (Some("quota exceeded"), 1, Some(at(1)))
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
    let empty = JobCompleteBatchParams {
        jobs: Vec::new(),
        now: at(1),
    };
    assert!(store.job_complete_batch(empty).await.unwrap().is_empty());
}

/// A retry releases the job to pending at its new time and counts failures, not attempts.
pub async fn retry_releases_job_and_counts_only_failures<S: JobStoreAdmin>(store: S) {
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

/// Renewing extends the lease of the current attempt only.
pub async fn renew_lease_extends_and_is_fenced<S: JobStoreAdmin>(store: S) {
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
        store
            .job_rescue(JobRescueParams { now: at(1) })
            .await
            .unwrap()
            .is_empty(),
        "renewed lease is not expired"
    );
}

/// A rescue returns jobs whose lease expired, and their old attempt is fenced out.
pub async fn rescue_returns_expired_leases_and_fences_old_attempt<S: JobStoreAdmin>(store: S) {
    let old = insert_one(&store, 1, Operation::Stop, at(0)).await;
    let young = insert_one(&store, 2, Operation::Stop, at(1)).await;
    claim(&store, at(0), 1).await;
    claim(&store, at(1), 1).await;
    assert!(store
        .job_rescue(JobRescueParams { now: at(0) })
        .await
        .unwrap()
        .is_empty());
    let rescued = store
        .job_rescue(JobRescueParams { now: at(1) })
        .await
        .unwrap();
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

/// Log lines of an attempt are fenced by it; lines without one are always kept.
pub async fn log_insert_is_fenced_for_executor_lines<S: JobStoreAdmin>(store: S) {
    let job = insert_one(&store, 1, Operation::Start, at(0)).await;
    claim(&store, at(0), 1).await;
    let line = |attempt, text: &str| NewJobLog {
        job_id: job.id,
        attempt,
        line: LogLine::info(text),
    };
    let unknown = NewJobLog {
        job_id: crate::JobId(Uuid::from_u128(5)),
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
