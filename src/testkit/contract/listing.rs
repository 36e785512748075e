//! Reading the table and pruning it: open jobs by workspace range, the next due instant, listings, statistics, and pruning.

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::{at, claim, complete, insert, insert_one, lease_lost, new_job, t0, ws, LEASE};
use crate::{
    Job, JobCancel, JobCancelParams, JobInsertParams, JobListParams, JobNextDueParams,
    JobPruneParams, JobRenewLeaseParams, JobState, JobStatsParams, JobStoreAdmin, Operation,
    WorkspaceRange,
};

/// Listing open jobs covers exactly the workspace range asked for, finished jobs left out.
pub async fn list_open_covers_ranges_and_skips_finished_jobs<S: JobStoreAdmin>(store: S) {
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

/// The next due instant is the earliest pending run time or running lease expiry.
pub async fn next_due_is_earliest_run_at_or_lease<S: JobStoreAdmin>(store: S) {
    assert_eq!(next_due(&store, t0()).await, None);
    insert_one(&store, 1, Operation::Start, at(30)).await;
    insert_one(&store, 2, Operation::Start, at(0)).await;
    assert_eq!(next_due(&store, at(-1)).await, Some(at(0)));
    // Only what lies strictly after `now`.
    assert_eq!(next_due(&store, at(0)).await, Some(at(30)));
    // Claimed at 0 with a one-minute lease: next is the lease, then the pending job.
    claim(&store, at(0), 1).await;
    assert_eq!(next_due(&store, at(0)).await, Some(at(1)));
    let claimed = store
        .job_list_open(WorkspaceRange::One(ws(2)))
        .await
        .unwrap()
        .remove(0);
    store
        .job_complete(complete(&claimed, 1, at(0), None))
        .await
        .unwrap();
    assert_eq!(next_due(&store, at(0)).await, Some(at(30)));
    assert_eq!(next_due(&store, at(30)).await, None);
}

/// Listing filters by state, workspace and operation, newest first.
pub async fn list_filters_and_orders_newest_first<S: JobStoreAdmin>(store: S) {
    let a = insert_one(&store, 1, Operation::Start, at(0)).await;
    let b = store
        .job_insert(JobInsertParams {
            jobs: vec![new_job(1, Operation::Stop, at(5))],
            now: at(1),
        })
        .await
        .unwrap()
        .remove(0)
        .unwrap();
    let c = store
        .job_insert(JobInsertParams {
            jobs: vec![new_job(2, Operation::Stop, at(5))],
            now: at(2),
        })
        .await
        .unwrap()
        .remove(0)
        .unwrap();
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

/// An unknown job has no row and no log lines, and its lease cannot be renewed.
pub async fn get_and_logs_of_unknown_job_are_empty<S: JobStoreAdmin>(store: S) {
    let id = crate::JobId(Uuid::from_u128(12345));
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

/// Pruning deletes finished jobs older than the cut-off in batches, never open ones.
pub async fn prune_deletes_old_finished_jobs_in_batches_and_keeps_open_ones<S: JobStoreAdmin>(
    store: S,
) {
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

/// Statistics count jobs per state and show the next due and the oldest running jobs.
pub async fn stats_count_states_and_show_next_and_oldest_running<S: JobStoreAdmin>(store: S) {
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

async fn next_due<S: JobStoreAdmin>(store: &S, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    store.job_next_due(JobNextDueParams { now }).await.unwrap()
}
