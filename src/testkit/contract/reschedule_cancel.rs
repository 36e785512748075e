//! The scheduler's changes to open jobs: rescheduling and cancelling.

use super::{at, claim, complete, complete_item, get, insert_one, new_job, ws};
use crate::{
    JobCancel, JobCancelParams, JobCompleteBatchParams, JobInsertParams, JobReschedule,
    JobRescheduleParams, JobRetryParams, JobState, JobStoreAdmin, LogLine, Operation, StoreError,
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
    assert_eq!(results.len(), 1);
    let moved = get(&store, &job).await;
    assert_eq!(results[0].as_ref().ok(), Some(&moved), "the job as moved");
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
    assert_eq!(results.len(), 3);
    assert!(
        matches!(results[0], Err(StoreError::OccurrenceTaken { job, deadline })
            if job == second.id && deadline == at(0)),
        "{:?}",
        results[0]
    );
    for (result, id) in results[1..].iter().zip([running.id, first.id]) {
        assert!(
            matches!(result, Err(StoreError::NotPending { job }) if *job == id),
            "{result:?}"
        );
    }
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
    let after = get(&store, &pending).await;
    assert_eq!(cancelled.len(), 2);
    assert_eq!(
        cancelled[0].as_ref().ok(),
        Some(&after),
        "the job as cancelled"
    );
    assert!(
        matches!(cancelled[1], Err(StoreError::NotPending { job }) if job == running.id),
        "{:?}",
        cancelled[1]
    );
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
    assert!(
        matches!(stale[..], [Err(StoreError::LeaseLost { job: id, attempt: 7 })] if id == job.id),
        "{stale:?}"
    );
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
    let after = get(&store, &job).await;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].as_ref().ok(), Some(&after));
    assert_eq!(after.state(), JobState::Cancelled);
    assert_eq!(after.lease_expires_at, None);
    // The workspace is free again.
    insert_one(&store, 1, Operation::Stop, at(0)).await;
}

/// Every batch write answers one result per item, in input order: the job as written,
/// or a refusal naming the job and why.
pub async fn batch_writes_answer_each_item_in_input_order<S: JobStoreAdmin>(store: S) {
    let open = insert_one(&store, 1, Operation::Stop, at(0)).await;
    // Inserts: a refused one between two created ones, each in its place.
    let results = store
        .job_insert(JobInsertParams {
            jobs: vec![
                new_job(3, Operation::Stop, at(5)),
                new_job(1, Operation::Stop, at(9)),
                new_job(2, Operation::Start, at(5)),
            ],
            now: at(0),
        })
        .await
        .unwrap();
    assert_eq!(results.len(), 3);
    let created: Vec<_> = [&results[0], &results[2]]
        .map(|r| r.as_ref().map(|job| (job.workspace_id, job.operation)).ok())
        .into();
    assert_eq!(
        created,
        [
            Some((ws(3), Operation::Stop)),
            Some((ws(2), Operation::Start))
        ]
    );
    assert!(
        matches!(results[1], Err(StoreError::Duplicate { workspace, deadline })
            if workspace == ws(1) && deadline == at(9)),
        "{:?}",
        results[1]
    );
    let (third, second) = match (&results[0], &results[2]) {
        (Ok(third), Ok(second)) => (third.clone(), second.clone()),
        _ => panic!("{results:?}"),
    };
    // Reschedules: the refused one first, then two moves, each answered in its place.
    let claimed = claim(&store, at(0), 1).await.remove(0);
    assert_eq!(claimed.id, open.id);
    let to = |id, minute| JobReschedule {
        id,
        deadline: at(minute),
        run_at: None,
        log: None,
    };
    let results = store
        .job_reschedule(JobRescheduleParams {
            jobs: vec![to(open.id, 7), to(second.id, 8), to(third.id, 9)],
            now: at(1),
        })
        .await
        .unwrap();
    assert_eq!(results.len(), 3);
    assert!(matches!(results[0], Err(StoreError::NotPending { job }) if job == open.id));
    let moved: Vec<_> = results[1..]
        .iter()
        .map(|r| r.as_ref().map(|job| (job.id, job.deadline)).ok())
        .collect();
    assert_eq!(moved, [Some((second.id, at(8))), Some((third.id, at(9)))]);
    // Cancels, unfenced and fenced, mixed.
    let cancel = |id, attempt| JobCancel {
        id,
        attempt,
        log: None,
    };
    let results = store
        .job_cancel(JobCancelParams {
            jobs: vec![
                cancel(third.id, None),
                cancel(open.id, Some(9)),
                cancel(second.id, None),
            ],
            now: at(2),
        })
        .await
        .unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].as_ref().map(|job| job.id).ok(), Some(third.id));
    assert!(matches!(results[1], Err(StoreError::LeaseLost { job, attempt: 9 }) if job == open.id));
    assert_eq!(results[2].as_ref().map(|job| job.id).ok(), Some(second.id));
    // Completions: a fenced-out one first, then the held one.
    let results = store
        .job_complete_batch(JobCompleteBatchParams {
            jobs: vec![
                complete_item(&third, 1, None),
                complete_item(&claimed, claimed.attempt, None),
            ],
            now: at(3),
        })
        .await
        .unwrap();
    assert_eq!(results.len(), 2);
    assert!(matches!(results[0], Err(StoreError::LeaseLost { job, .. }) if job == third.id));
    let done = results[1].as_ref().ok();
    assert_eq!(
        done.map(|job| (job.id, job.completed_at)),
        Some((open.id, Some(at(3))))
    );
    assert_eq!(get(&store, &open).await.state(), JobState::Completed);
}
