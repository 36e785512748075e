//! The executor's decisions, one test per branch of steps 2-5, with a mockall
//! `Workspaces` so each test states exactly which calls it expects.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use mockall::predicate::eq;
use uuid::Uuid;
use workspace_lifecycle::{
    Config, ExecuteReport, FakeClock, InMemoryStore, Job, JobInsertParams, JobState, JobStore,
    JobStoreAdmin, LifecycleEngine, LogLine, MockWorkspaces, NewJob, Operation, RetryPolicy,
    Workspace, WorkspaceError, WorkspaceId, WorkspaceState,
};

type Engine = LifecycleEngine<InMemoryStore, FakeClock, MockWorkspaces>;

fn t0() -> DateTime<Utc> {
    "2026-01-05T09:00:00Z".parse().unwrap()
}

const WS: WorkspaceId = WorkspaceId(Uuid::from_u128(1));

fn config() -> Config {
    Config {
        retry: RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(60),
        },
        ..Config::default()
    }
}

fn workspace(
    state: WorkspaceState,
    start: Option<DateTime<Utc>>,
    stop: Option<DateTime<Utc>>,
) -> Workspace {
    Workspace {
        id: WS,
        state,
        auto_start_at: start,
        auto_stop_at: stop,
    }
}

fn engine(mock: MockWorkspaces) -> Engine {
    LifecycleEngine::new(
        InMemoryStore::with_seed(1),
        FakeClock::new(t0()),
        mock,
        config(),
    )
    .unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Inserts a due job for `WS` directly into the store.
async fn due_job(engine: &Engine, operation: Operation) -> Job {
    engine
        .store()
        .job_insert(JobInsertParams {
            jobs: vec![NewJob {
                workspace_id: WS,
                operation,
                deadline: t0(),
                run_at: None,
                log: Some(LogLine::info("scheduled")),
            }],
            now: t0(),
        })
        .await
        .unwrap()
        .remove(0)
        .unwrap()
}

async fn reread(engine: &Engine, job: &Job) -> (Job, Vec<String>) {
    let job = engine.store().job_get(job.id).await.unwrap().unwrap();
    let logs = engine.store().job_log_list(job.id).await.unwrap();
    (job, logs.into_iter().map(|l| l.output).collect())
}

fn expect_get(mock: &mut MockWorkspaces, ws: Option<Workspace>) {
    mock.expect_get()
        .with(eq(WS))
        .returning(move |_| Ok(ws.clone()));
}

/// Executor steps for one due job of `operation`: the workspace reads as `ws`, and
/// `calls` sets what start/stop calls are expected. Returns the pass's report and the
/// job with its log as they ended up.
async fn one_job(
    ws: Option<Workspace>,
    operation: Operation,
    calls: impl FnOnce(&mut MockWorkspaces),
) -> (ExecuteReport, Job, Vec<String>) {
    let mut mock = MockWorkspaces::new();
    expect_get(&mut mock, ws);
    calls(&mut mock);
    let engine = engine(mock);
    let job = due_job(&engine, operation).await;
    let report = engine.execute_due().await.unwrap();
    let (job, logs) = reread(&engine, &job).await;
    (report, job, logs)
}

#[test]
fn missing_workspace_cancels_without_a_call() {
    rt().block_on(async {
        let (report, job, logs) = one_job(None, Operation::Start, |m| {
            m.expect_start().never();
        })
        .await;
        assert_eq!((report.claimed, report.cancelled), (1, 1));
        assert_eq!(job.state(), JobState::Cancelled);
        assert_eq!(
            logs.last().unwrap(),
            "cancelled: the workspace no longer exists"
        );
    });
}

#[test]
fn removed_schedule_cancels_without_a_call() {
    rt().block_on(async {
        let ws = workspace(WorkspaceState::Running, None, None);
        let (report, job, logs) = one_job(Some(ws), Operation::Stop, |m| {
            m.expect_stop().never();
        })
        .await;
        assert_eq!(report.cancelled, 1);
        assert_eq!(job.state(), JobState::Cancelled);
        assert_eq!(
            logs.last().unwrap(),
            "cancelled: the workspace no longer has an auto-stop time"
        );
    });
}

#[test]
fn moved_schedule_cancels_and_schedules_the_new_time_at_once() {
    rt().block_on(async {
        let later = t0() + TimeDelta::hours(2);
        let mut mock = MockWorkspaces::new();
        expect_get(
            &mut mock,
            Some(workspace(WorkspaceState::Running, None, Some(later))),
        );
        mock.expect_stop().never();
        let engine = engine(mock);
        let job = due_job(&engine, Operation::Stop).await;
        assert_eq!(engine.execute_due().await.unwrap().cancelled, 1);
        let (job, logs) = reread(&engine, &job).await;
        assert_eq!(job.state(), JobState::Cancelled);
        assert!(logs
            .last()
            .unwrap()
            .contains("moved from 2026-01-05T09:00:00+00:00 to 2026-01-05T11:00:00+00:00"));
        let open = engine
            .store()
            .job_list_open(workspace_lifecycle::WorkspaceRange::One(WS))
            .await
            .unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].deadline, later);
    });
}

#[test]
fn already_in_state_completes_with_a_log_line_and_no_call() {
    rt().block_on(async {
        let ws = workspace(WorkspaceState::Stopped, None, Some(t0()));
        let (report, job, logs) = one_job(Some(ws), Operation::Stop, |m| {
            m.expect_stop().never();
        })
        .await;
        assert_eq!((report.already_done, report.stopped), (1, 0));
        assert_eq!(job.state(), JobState::Completed);
        assert_eq!(job.error, None);
        assert_eq!(
            logs.last().unwrap(),
            "completed without a call: the workspace is already stopped"
        );
    });
}

#[test]
fn mid_transition_is_released_without_counting_a_failure() {
    rt().block_on(async {
        let ws = workspace(WorkspaceState::Stopping, Some(t0()), None);
        let (report, job, logs) = one_job(Some(ws), Operation::Start, |m| {
            m.expect_start().never();
        })
        .await;
        assert_eq!((report.deferred, report.retried, report.failed), (1, 0, 0));
        assert_eq!(job.state(), JobState::Pending);
        assert_eq!(job.failed_attempts, 0);
        assert_eq!(job.run_at, t0() + TimeDelta::seconds(15));
        assert_eq!(job.deadline, t0(), "the occurrence is unchanged");
        assert!(logs.last().unwrap().contains("the workspace is stopping"));
    });
}

#[test]
fn failed_workspace_is_not_auto_started() {
    rt().block_on(async {
        let ws = workspace(WorkspaceState::Failed, Some(t0()), None);
        let (report, job, _) = one_job(Some(ws), Operation::Start, |m| {
            m.expect_start().never();
        })
        .await;
        assert_eq!(report.cancelled, 1);
        assert_eq!(job.state(), JobState::Cancelled);
    });
}

#[test]
fn failed_workspace_is_auto_stopped() {
    rt().block_on(async {
        let ws = workspace(WorkspaceState::Failed, None, Some(t0()));
        let (report, job, _) = one_job(Some(ws), Operation::Stop, |m| {
            m.expect_stop().with(eq(WS)).times(1).returning(|_| Ok(()));
        })
        .await;
        assert_eq!(report.stopped, 1);
        assert_eq!(job.state(), JobState::Completed);
    });
}

#[test]
fn successful_call_completes_with_log_lines() {
    rt().block_on(async {
        let ws = workspace(WorkspaceState::Stopped, Some(t0()), None);
        let (report, job, logs) = one_job(Some(ws), Operation::Start, |m| {
            m.expect_start().with(eq(WS)).times(1).returning(|_| Ok(()));
        })
        .await;
        assert_eq!((report.claimed, report.started), (1, 1));
        assert_eq!(job.state(), JobState::Completed);
        assert_eq!(job.completed_at, Some(t0()));
        assert_eq!(job.attempt, 1);
        assert_eq!(logs.len(), 2, "{logs:?}");
        assert!(
            logs[1].starts_with(
                "started the workspace (the start due at 2026-01-05T09:00:00+00:00; attempt 1, executor "
            ),
            "{logs:?}"
        );
    });
}

#[test]
fn errors_retry_with_backoff_then_fail_for_good() {
    rt().block_on(async {
        let mut mock = MockWorkspaces::new();
        expect_get(
            &mut mock,
            Some(workspace(WorkspaceState::Running, None, Some(t0()))),
        );
        mock.expect_stop()
            .times(3)
            .returning(|_| Err(WorkspaceError::other("quota exceeded")));
        let engine = engine(mock);
        let job = due_job(&engine, Operation::Stop).await;

        let first = engine.execute_due().await.unwrap();
        assert_eq!((first.retried, first.failed), (1, 0));
        let (after, logs) = reread(&engine, &job).await;
        assert_eq!(after.state(), JobState::Pending);
        assert_eq!(after.failed_attempts, 1);
        assert_eq!(
            after.error.as_deref(),
            Some("stop failed: workspace adapter: quota exceeded")
        );
        let delay = after.run_at - t0();
        assert!(
            delay >= TimeDelta::seconds(5) && delay <= TimeDelta::seconds(10),
            "{delay}"
        );
        assert!(logs
            .last()
            .unwrap()
            .contains("attempt 1 of 3 failed, retrying at"));
        // Not retried before its backoff.
        assert_eq!(engine.execute_due().await.unwrap().claimed, 0);

        engine.clock().set(after.run_at);
        assert_eq!(engine.execute_due().await.unwrap().retried, 1);
        let after = reread(&engine, &job).await.0;
        let second_delay = after.run_at - engine.clock().now();
        assert!(second_delay >= TimeDelta::seconds(10) && second_delay <= TimeDelta::seconds(20));

        engine.clock().set(after.run_at);
        let last = engine.execute_due().await.unwrap();
        assert_eq!((last.retried, last.failed), (0, 1));
        let (done, logs) = reread(&engine, &job).await;
        assert_eq!(done.state(), JobState::Completed);
        assert_eq!(
            done.error.as_deref(),
            Some("stop failed: workspace adapter: quota exceeded")
        );
        assert_eq!(done.attempt, 3);
        assert!(logs
            .last()
            .unwrap()
            .ends_with("giving up after 3 failed attempts"));
    });
}

#[test]
fn not_found_from_the_call_cancels() {
    rt().block_on(async {
        let ws = workspace(WorkspaceState::Stopped, Some(t0()), None);
        let (report, job, logs) = one_job(Some(ws), Operation::Start, |m| {
            m.expect_start()
                .times(1)
                .returning(|id| Err(WorkspaceError::NotFound(id)));
        })
        .await;
        assert_eq!(report.cancelled, 1);
        assert_eq!(job.state(), JobState::Cancelled);
        assert_eq!(
            logs.last().unwrap(),
            "cancelled: start found the workspace gone"
        );
    });
}

#[test]
fn panicking_adapter_is_a_failed_attempt_not_a_crash() {
    rt().block_on(async {
        let ws = workspace(WorkspaceState::Stopped, Some(t0()), None);
        let (report, job, _) = one_job(Some(ws), Operation::Start, |m| {
            m.expect_start()
                .times(1)
                .returning(|_| panic!("adapter bug"));
        })
        .await;
        assert_eq!(report.retried, 1);
        assert_eq!(
            job.error.as_deref(),
            Some("start failed: workspace adapter panicked: adapter bug")
        );
    });
}

#[test]
fn failing_read_is_a_failed_attempt() {
    rt().block_on(async {
        let mut mock = MockWorkspaces::new();
        mock.expect_get()
            .returning(|_| Err(WorkspaceError::other("db down")));
        mock.expect_start().never();
        let engine = engine(mock);
        let job = due_job(&engine, Operation::Start).await;
        assert_eq!(engine.execute_due().await.unwrap().retried, 1);
        let job = reread(&engine, &job).await.0;
        assert_eq!(job.failed_attempts, 1);
        assert_eq!(
            job.error.as_deref(),
            Some("reading the workspace failed: workspace adapter: db down")
        );
    });
}

#[test]
fn never_acts_before_the_deadline_even_if_the_clock_went_back() {
    use workspace_lifecycle::executor::{verdict, Verdict};
    let claimed = Job {
        id: workspace_lifecycle::JobId(Uuid::from_u128(9)),
        created_at: t0(),
        updated_at: t0(),
        started_at: Some(t0()),
        cancelled_at: None,
        completed_at: None,
        error: None,
        workspace_id: WS,
        operation: Operation::Start,
        deadline: t0(),
        run_at: t0(),
        attempt: 1,
        failed_attempts: 0,
        lease_expires_at: Some(t0() + TimeDelta::minutes(1)),
        claimed_by: None,
    };
    let ws = workspace(WorkspaceState::Stopped, Some(t0()), None);
    let config = Config::default();
    assert_eq!(verdict(&claimed, Some(&ws), t0(), &config), Verdict::Act);
    let early = verdict(&claimed, Some(&ws), t0() - TimeDelta::seconds(1), &config);
    assert!(
        matches!(early, Verdict::Defer { until: Some(u), .. } if u == t0()),
        "{early:?}"
    );
}
