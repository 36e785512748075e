//! The scheduler's changes to open jobs: rescheduling and cancelling.

use super::{at, claim, complete, get, insert_one};
use crate::{
    JobCancel, JobCancelParams, JobReschedule, JobRescheduleParams, JobRetryParams, JobState,
    JobStoreAdmin, LogLine, Operation, Rescheduled,
};

/// A reschedule moves a pending job to its new time and clears its retry state.
pub async fn reschedule_moves_pending_job_and_resets_retry_state<S: JobStoreAdmin>(store: S) {
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

/// A reschedule onto a completed occurrence, or of a job not pending, changes nothing and says why.
pub async fn reschedule_refuses_completed_occurrence_and_non_pending_jobs<S: JobStoreAdmin>(
    store: S,
) {
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

/// A cancel without an attempt (the scheduler's) takes pending jobs only.
pub async fn cancel_without_attempt_takes_pending_jobs_only<S: JobStoreAdmin>(store: S) {
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

/// A cancel with an attempt (the executor's) takes its own running attempt only.
pub async fn cancel_with_attempt_is_fenced<S: JobStoreAdmin>(store: S) {
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
