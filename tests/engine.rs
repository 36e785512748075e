//! The engine end to end on `InMemoryStore`, `FakeClock` and the testkit fake: the
//! scheduler rules, the run loop's sleeping and waking, leases, timeouts, bounded
//! concurrency and shutdown. No test sleeps for real.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use common::{rt, running_until, spawn_run, stopped_until, t0, ws};
use tokio::task::JoinHandle;
use workspace_lifecycle::testkit::{Behavior, Driver, FakeWorkspaces};
use workspace_lifecycle::{
    Config, ExecuteReport, FakeClock, InMemoryStore, Job, JobListParams, JobRescueParams, JobState,
    JobStore, JobStoreAdmin, LifecycleEngine, MockWorkspaces, Workspace, WorkspaceError,
    WorkspaceRange, WorkspaceState,
};

type Engine = LifecycleEngine<Arc<InMemoryStore>, FakeClock, FakeWorkspaces>;

fn hours(h: i64) -> DateTime<Utc> {
    t0() + TimeDelta::hours(h)
}

fn setup(config: Config) -> (Engine, FakeClock, FakeWorkspaces) {
    setup_at(t0(), config)
}

/// An engine on a fresh store, a fake clock standing at `start`, and an empty fleet.
fn setup_at(start: DateTime<Utc>, config: Config) -> (Engine, FakeClock, FakeWorkspaces) {
    let clock = FakeClock::new(start);
    let fleet = FakeWorkspaces::new(clock.clone());
    let engine = LifecycleEngine::new(
        Arc::new(InMemoryStore::with_seed(3)),
        clock.clone(),
        fleet.clone(),
        config,
    )
    .unwrap();
    (engine, clock, fleet)
}

/// An engine over a `MockWorkspaces`, for tests that script the adapter's answers.
fn mock_engine(mock: MockWorkspaces) -> LifecycleEngine<InMemoryStore, FakeClock, MockWorkspaces> {
    LifecycleEngine::new(
        InMemoryStore::new(),
        FakeClock::new(t0()),
        mock,
        Config::default(),
    )
    .unwrap()
}

/// Another engine (its own executor id) on the same store, clock and fleet.
fn sibling(engine: &Engine, config: Config) -> Engine {
    LifecycleEngine::new(
        engine.store().clone(),
        engine.clock().clone(),
        engine.workspaces().clone(),
        config,
    )
    .unwrap()
}

/// One executor pass in the background.
fn spawn_pass(engine: &Engine) -> JoinHandle<ExecuteReport> {
    let engine = engine.clone();
    tokio::spawn(async move { engine.execute_due().await.unwrap() })
}

async fn open_jobs(engine: &Engine) -> Vec<Job> {
    engine
        .store()
        .job_list_open(WorkspaceRange::ALL)
        .await
        .unwrap()
}

async fn jobs_in(engine: &Engine, state: JobState) -> Vec<Job> {
    engine
        .store()
        .job_list(JobListParams {
            state: Some(state),
            ..JobListParams::default()
        })
        .await
        .unwrap()
}

#[test]
fn scheduler_applies_rules_one_to_six_across_pages() {
    rt().block_on(async {
        let (engine, _clock, fleet) = setup(Config {
            page_size: 2,
            ..Config::default()
        });
        fleet.insert(running_until(1, hours(8))); // rule 1
        fleet.insert(stopped_until(2, hours(24))); // rule 2
        fleet.insert(Workspace::new(ws(3), WorkspaceState::Running)); // nothing
        fleet.insert(running_until(4, hours(3)));
        fleet.insert(stopped_until(5, hours(30)));
        fleet.insert(stopped_until(9, hours(30))); // deleted below: rule 6 past the last page
        let first = engine.reconcile_all().await.unwrap();
        // Three full pages, then an empty one that ends the pass.
        assert_eq!((first.pages, first.workspaces, first.created), (4, 6, 5));
        assert_eq!(open_jobs(&engine).await.len(), 5);

        fleet.update(ws(1), |w| w.auto_stop_at = None); // rule 4
        fleet.update(ws(2), |w| w.auto_start_at = None); // rule 3
        fleet.update(ws(4), |w| w.auto_stop_at = Some(hours(5))); // rule 5
        fleet.remove(ws(5)); // rule 6 inside a page range
        fleet.remove(ws(9)); // rule 6 after every live id
        let second = engine.reconcile_all().await.unwrap();
        assert_eq!(
            (second.created, second.rescheduled, second.cancelled),
            (0, 1, 4)
        );
        let open = open_jobs(&engine).await;
        assert_eq!(open.len(), 1);
        assert_eq!((open[0].workspace_id, open[0].deadline), (ws(4), hours(5)));

        let third = engine.reconcile_all().await.unwrap();
        assert_eq!(
            (third.created, third.rescheduled, third.cancelled),
            (0, 0, 0),
            "a pass is idempotent"
        );
    });
}

#[test]
fn scheduler_does_not_recreate_an_occurrence_already_acted_on() {
    rt().block_on(async {
        let (engine, clock, fleet) = setup(Config::default());
        fleet.insert(stopped_until(1, hours(1)));
        engine.reconcile_all().await.unwrap();
        clock.set(hours(1));
        assert_eq!(engine.execute_due().await.unwrap().started, 1);
        // The user stops it again; the adapter still reports the old auto-start time.
        fleet.transition(ws(1), WorkspaceState::Stopped);
        assert_eq!(engine.reconcile_all().await.unwrap().created, 0);
        assert_eq!(engine.execute_due().await.unwrap().claimed, 0);
        // A new time is a new occurrence.
        fleet.update(ws(1), |w| w.auto_start_at = Some(hours(25)));
        assert_eq!(engine.reconcile_all().await.unwrap().created, 1);
    });
}

#[test]
fn reconcile_workspace_acts_on_one_workspace_at_once() {
    rt().block_on(async {
        let (engine, _clock, fleet) = setup(Config::default());
        fleet.insert(running_until(1, hours(2)));
        fleet.insert(running_until(2, hours(2)));
        let report = engine.reconcile_workspace(ws(2)).await.unwrap();
        assert_eq!((report.workspaces, report.created), (1, 1));
        let open = open_jobs(&engine).await;
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].workspace_id, ws(2));
        fleet.remove(ws(2));
        assert_eq!(
            engine.reconcile_workspace(ws(2)).await.unwrap().cancelled,
            1
        );
    });
}

#[test]
fn out_of_order_page_is_an_error_and_changes_nothing() {
    rt().block_on(async {
        let mut mock = MockWorkspaces::new();
        mock.expect_list()
            .returning(|_, _| Ok(vec![running_until(2, hours(1)), running_until(1, hours(1))]));
        let engine = mock_engine(mock);
        let error = engine.reconcile_all().await.unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "list returned workspace {} after {}: pages must be in ascending id order",
                ws(1),
                ws(2)
            )
        );
        assert!(engine
            .store()
            .job_list(JobListParams::default())
            .await
            .unwrap()
            .is_empty());
    });
}

#[test]
fn failing_list_fails_the_pass_with_the_adapter_error() {
    rt().block_on(async {
        let mut mock = MockWorkspaces::new();
        mock.expect_list()
            .returning(|_, _| Err(WorkspaceError::other("db down")));
        let engine = mock_engine(mock);
        assert_eq!(
            engine.reconcile_all().await.unwrap_err().to_string(),
            "workspace adapter: db down"
        );
    });
}

#[test]
fn invalid_config_is_rejected_at_construction() {
    let clock = FakeClock::new(t0());
    let fleet = FakeWorkspaces::new(clock.clone());
    let config = Config {
        max_concurrent_actions: 0,
        ..Config::default()
    };
    let error = LifecycleEngine::new(InMemoryStore::new(), clock, fleet, config)
        .err()
        .unwrap();
    assert_eq!(
        error.to_string(),
        "max_concurrent_actions must be greater than zero"
    );
}

/// A config whose executor sleeps only on deadlines, so tests can read them off the
/// clock (no retention: its prune timer would be another sleeper).
fn quiet() -> Config {
    Config {
        poll_interval: Duration::from_secs(24 * 3600),
        tick_interval: Duration::from_secs(3600),
        retention: None,
        ..Config::default()
    }
}

#[test]
fn run_sleeps_until_the_earliest_deadline_and_acts_on_time() {
    rt().block_on(async {
        let (engine, clock, fleet) = setup(quiet());
        let driver = Driver::new(clock.clone());
        fleet.insert(running_until(1, t0() + TimeDelta::minutes(30)));
        let (shutdown, run) = spawn_run(&engine);
        clock.wait_for_sleepers(2).await;
        driver.settle().await;
        // The scheduler sleeps a tick; the executor until the job's deadline.
        assert_eq!(clock.next_deadline(), Some(t0() + TimeDelta::minutes(30)));
        driver.advance_to(t0() + TimeDelta::minutes(30)).await;
        assert_eq!(
            fleet.get_snapshot(ws(1)).unwrap().state,
            WorkspaceState::Stopped
        );
        assert_eq!(
            fleet.calls()[0].at,
            t0() + TimeDelta::minutes(30),
            "acted exactly at the deadline"
        );
        shutdown.cancel();
        let report = run.await.unwrap();
        assert_eq!((report.execute.stopped, report.reconcile.created), (1, 1));
    });
}

#[test]
fn run_wakes_early_when_a_sooner_job_appears() {
    rt().block_on(async {
        let (engine, clock, fleet) = setup(quiet());
        let driver = Driver::new(clock.clone());
        fleet.insert(running_until(1, hours(10)));
        let (shutdown, run) = spawn_run(&engine);
        clock.wait_for_sleepers(2).await;
        driver.settle().await;
        assert_eq!(
            clock.next_deadline(),
            Some(t0() + TimeDelta::hours(1)),
            "the scheduler's tick"
        );
        // A service adds an earlier auto-stop and reconciles it at once.
        fleet.insert(running_until(2, t0() + TimeDelta::minutes(5)));
        engine.reconcile_workspace(ws(2)).await.unwrap();
        driver.settle().await;
        assert_eq!(clock.next_deadline(), Some(t0() + TimeDelta::minutes(5)));
        driver.advance(Duration::from_secs(300)).await;
        assert_eq!(
            fleet.get_snapshot(ws(2)).unwrap().state,
            WorkspaceState::Stopped
        );
        assert_eq!(
            fleet.get_snapshot(ws(1)).unwrap().state,
            WorkspaceState::Running
        );
        shutdown.cancel();
        run.await.unwrap();
    });
}

#[test]
fn long_action_keeps_its_lease_and_nobody_else_takes_it() {
    rt().block_on(async {
        let (engine, clock, fleet) = setup(Config::default());
        let driver = Driver::new(clock.clone());
        fleet.insert(running_until(1, t0()));
        fleet.set_behavior(ws(1), Behavior::Take(Duration::from_secs(240)));
        engine.reconcile_all().await.unwrap();
        let pass = spawn_pass(&engine);
        // Four minutes of a one-minute lease: renewed every 20 s.
        for _ in 0..12 {
            driver.advance(Duration::from_secs(20)).await;
            assert!(
                engine
                    .store()
                    .job_rescue(JobRescueParams { now: clock.now() })
                    .await
                    .unwrap()
                    .is_empty(),
                "lease expired at {}",
                clock.now()
            );
        }
        let report = pass.await.unwrap();
        assert_eq!((report.stopped, report.lease_lost), (1, 0));
        assert!(fleet.violations().is_empty());
    });
}

#[test]
fn lost_lease_drops_the_job_and_the_new_holder_finishes_it() {
    rt().block_on(async {
        let (engine, clock, fleet) = setup(Config::default());
        let driver = Driver::new(clock.clone());
        fleet.insert(running_until(1, t0()));
        fleet.set_behavior(ws(1), Behavior::Hang);
        engine.reconcile_all().await.unwrap();
        let pass = spawn_pass(&engine);
        driver.settle().await;
        // The engine stalls (its renewals do not run) and its lease expires: another
        // executor rescues and re-claims the job.
        let later = t0() + TimeDelta::minutes(5);
        let rescued = engine
            .store()
            .job_rescue(JobRescueParams { now: later })
            .await
            .unwrap();
        assert_eq!(rescued.len(), 1);
        let reclaimed = engine
            .store()
            .job_claim(workspace_lifecycle::JobClaimParams {
                now: later,
                limit: 1,
                lease: Duration::from_secs(60),
                executor: workspace_lifecycle::ExecutorId::random(),
            })
            .await
            .unwrap();
        assert_eq!(reclaimed[0].attempt, 2);
        // The stalled engine's next renewal finds the lease gone and drops the job.
        driver.advance(Duration::from_secs(20)).await;
        let report = pass.await.unwrap();
        assert_eq!(report.lease_lost, 1);
        let job = engine
            .store()
            .job_get(reclaimed[0].id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (job.state(), job.attempt),
            (JobState::Running, 2),
            "the stale attempt wrote nothing"
        );
    });
}

/// Workspace 1 due to start now, its start hanging, a pass under way; calls time out
/// after two minutes.
async fn hanging_start() -> (Engine, FakeClock, FakeWorkspaces, JoinHandle<ExecuteReport>) {
    let config = Config {
        action_timeout: Duration::from_secs(120),
        ..Config::default()
    };
    let (engine, clock, fleet) = setup(config);
    fleet.insert(stopped_until(1, t0()));
    fleet.set_behavior(ws(1), Behavior::Hang);
    engine.reconcile_all().await.unwrap();
    let pass = spawn_pass(&engine);
    (engine, clock, fleet, pass)
}

#[test]
fn hanging_action_times_out_and_is_retried() {
    rt().block_on(async {
        let (engine, clock, fleet, pass) = hanging_start().await;
        let driver = Driver::new(clock.clone());
        driver.advance(Duration::from_secs(120)).await;
        let report = pass.await.unwrap();
        assert_eq!(report.retried, 1);
        let job = &jobs_in(&engine, JobState::Pending).await[0];
        assert_eq!(
            job.error.as_deref(),
            Some("start failed: start timed out after 120s")
        );
        // The hung call was dropped: a retry is not an overlapping call.
        fleet.set_behavior(ws(1), Behavior::Succeed);
        clock.set(job.run_at);
        assert_eq!(engine.execute_due().await.unwrap().started, 1);
        assert!(fleet.violations().is_empty(), "{:?}", fleet.violations());
    });
}

#[test]
fn concurrent_actions_are_bounded_by_config() {
    rt().block_on(async {
        let config = Config {
            max_concurrent_actions: 2,
            ..Config::default()
        };
        let (engine, clock, fleet) = setup(config);
        let driver = Driver::new(clock.clone());
        for n in 1..=5 {
            fleet.insert(running_until(n, t0()));
            fleet.set_behavior(ws(n), Behavior::Take(Duration::from_secs(60)));
        }
        engine.reconcile_all().await.unwrap();
        let pass = spawn_pass(&engine);
        driver.settle().await;
        assert_eq!(jobs_in(&engine, JobState::Running).await.len(), 2);
        assert_eq!(fleet.calls().len(), 2);
        driver.advance(Duration::from_secs(60)).await;
        assert_eq!(fleet.calls().len(), 4);
        driver.advance(Duration::from_secs(120)).await;
        let report = pass.await.unwrap();
        assert_eq!((report.claimed, report.stopped), (5, 5));
    });
}

#[test]
fn shutdown_waits_for_the_grace_period_then_leaves_jobs_to_lease_expiry() {
    rt().block_on(async {
        let config = Config {
            shutdown_grace: Duration::from_secs(30),
            ..quiet()
        };
        let (engine, clock, fleet) = setup(config.clone());
        let driver = Driver::new(clock.clone());
        fleet.insert(running_until(1, t0()));
        fleet.insert(running_until(2, t0()));
        fleet.set_behavior(ws(1), Behavior::Hang);
        fleet.set_behavior(ws(2), Behavior::Take(Duration::from_secs(10)));
        let (shutdown, run) = spawn_run(&engine);
        driver.settle().await;
        assert_eq!(jobs_in(&engine, JobState::Running).await.len(), 2);
        shutdown.cancel();
        driver.settle().await;
        assert!(!run.is_finished(), "in-flight actions get the grace period");
        driver.advance(Duration::from_secs(30)).await;
        let report = run.await.unwrap();
        assert_eq!(
            report.execute.stopped, 1,
            "the 10 s action finished within the grace"
        );
        let left = jobs_in(&engine, JobState::Running).await;
        assert_eq!(
            left.len(),
            1,
            "the hung one is left running, not half-written"
        );
        assert_eq!(left[0].workspace_id, ws(1));

        // Another engine on the same store takes it over once the lease expires.
        fleet.set_behavior(ws(1), Behavior::Succeed);
        let successor = sibling(&engine, config);
        assert_eq!(
            successor.execute_due().await.unwrap().claimed,
            0,
            "lease still valid"
        );
        clock.set(left[0].lease_expires_at.unwrap());
        let report = successor.execute_due().await.unwrap();
        assert_eq!((report.rescued, report.stopped), (1, 1));
        let logs = engine.store().job_log_list(left[0].id).await.unwrap();
        assert!(logs
            .iter()
            .any(|l| l.output.starts_with("rescued: attempt 1 by executor")));
        assert!(fleet.violations().is_empty());
    });
}

#[test]
fn two_engines_on_one_store_never_act_twice() {
    rt().block_on(async {
        let (a, clock, fleet) = setup(quiet());
        let driver = Driver::new(clock.clone());
        let b = sibling(&a, quiet());
        for n in 1..=20 {
            fleet.insert(running_until(n, t0() + TimeDelta::minutes(n as i64)));
            fleet.set_behavior(ws(n), Behavior::Take(Duration::from_secs(30)));
        }
        let (stop_a, run_a) = spawn_run(&a);
        let (stop_b, run_b) = spawn_run(&b);
        driver.advance(Duration::from_secs(30 * 60)).await;
        stop_a.cancel();
        stop_b.cancel();
        let (ra, rb) = (run_a.await.unwrap(), run_b.await.unwrap());
        assert_eq!(ra.execute.stopped + rb.execute.stopped, 20);
        assert_eq!(fleet.calls().len(), 20);
        assert!(fleet.violations().is_empty(), "{:?}", fleet.violations());
        assert!(fleet
            .snapshots()
            .iter()
            .all(|w| w.state == WorkspaceState::Stopped));
    });
}

#[test]
fn jobs_of_one_workspace_never_run_at_once() {
    rt().block_on(async {
        let (engine, clock, fleet, first) = hanging_start().await;
        let driver = Driver::new(clock.clone());
        driver.settle().await;
        // While the start hangs, the user starts it by hand and it gets a due auto-stop.
        fleet.transition(ws(1), WorkspaceState::Running);
        fleet.update(ws(1), |w| w.auto_stop_at = Some(t0()));
        fleet.set_behavior(ws(1), Behavior::Succeed);
        assert_eq!(engine.reconcile_all().await.unwrap().created, 1);
        let second = engine.execute_due().await.unwrap();
        assert_eq!(second.claimed, 0, "the stop waits for the start to finish");
        assert_eq!(fleet.calls().len(), 1);
        // The start times out and its job releases the workspace; the same pass then
        // claims the stop.
        driver.advance(Duration::from_secs(120)).await;
        let report = first.await.unwrap();
        assert_eq!((report.retried, report.stopped), (1, 1));
        let calls = fleet.calls();
        assert_eq!(calls.len(), 2);
        assert_eq!(
            (calls[1].operation, calls[1].at),
            (
                workspace_lifecycle::Operation::Stop,
                t0() + TimeDelta::seconds(120)
            )
        );
        assert!(fleet.violations().is_empty(), "{:?}", fleet.violations());
    });
}

#[test]
fn an_occurrence_past_the_catch_up_window_is_skipped_once_and_logged() {
    rt().block_on(async {
        let config = Config {
            catch_up_window: Some(Duration::from_secs(3600)),
            ..Config::default()
        };
        let (engine, _clock, fleet) = setup(config);
        // Due three hours ago (the fleet was down): beyond the one-hour window.
        fleet.insert(stopped_until(1, t0() - TimeDelta::hours(3)));
        // Due thirty minutes ago: within it, so it runs, late, once.
        fleet.insert(stopped_until(2, t0() - TimeDelta::minutes(30)));
        assert_eq!(engine.reconcile_all().await.unwrap().created, 2);
        let report = engine.execute_due().await.unwrap();
        assert_eq!((report.missed, report.started), (1, 1));
        assert_eq!(fleet.calls().len(), 1);
        assert_eq!(fleet.calls()[0].workspace_id, ws(2));
        let skipped = &engine
            .store()
            .job_list(JobListParams { workspace_id: Some(ws(1)), ..JobListParams::default() })
            .await
            .unwrap()[0];
        assert_eq!(skipped.state(), JobState::Completed);
        let logs = engine.store().job_log_list(skipped.id).await.unwrap();
        assert_eq!(
            logs.last().unwrap().output,
            "skipped: the start due at 2026-01-05T05:00:00+00:00 was missed by 10800s, beyond the catch-up window of 3600s"
        );
        // Skipped for good: not scheduled again.
        assert_eq!(engine.reconcile_all().await.unwrap().created, 0);
    });
}

#[test]
fn start_jobs_run_the_lead_time_early_and_log_their_deadline() {
    rt().block_on(async {
        let config = Config {
            start_lead: Duration::from_secs(300),
            ..quiet()
        };
        let (engine, clock, fleet) = setup(config);
        let driver = Driver::new(clock.clone());
        let nine = t0() + TimeDelta::hours(1);
        fleet.insert(stopped_until(1, nine));
        fleet.insert(running_until(2, nine));
        let (shutdown, run) = spawn_run(&engine);
        clock.wait_for_sleepers(2).await;
        driver.settle().await;
        assert_eq!(clock.next_deadline(), Some(nine - TimeDelta::minutes(5)));
        driver.advance_to(nine).await;
        let calls = fleet.calls();
        assert_eq!(calls.len(), 2);
        let start = calls.iter().find(|c| c.workspace_id == ws(1)).unwrap();
        let stop = calls.iter().find(|c| c.workspace_id == ws(2)).unwrap();
        assert_eq!(start.at, nine - TimeDelta::minutes(5), "the start is led");
        assert_eq!(stop.at, nine, "stops are not");
        let job = &engine
            .store()
            .job_list(JobListParams {
                workspace_id: Some(ws(1)),
                ..JobListParams::default()
            })
            .await
            .unwrap()[0];
        let logs = engine.store().job_log_list(job.id).await.unwrap();
        let calling = logs
            .iter()
            .find(|l| l.output.starts_with("started the workspace"))
            .unwrap();
        assert_eq!(calling.created_at, nine - TimeDelta::minutes(5));
        assert!(
            calling
                .output
                .contains("(the start due at 2026-01-05T09:00:00+00:00; attempt 1, executor "),
            "{}",
            calling.output
        );
        shutdown.cancel();
        run.await.unwrap();
    });
}

#[test]
fn a_weekday_nine_oclock_start_fires_at_nine_local_on_both_sides_of_a_dst_change() {
    use workspace_lifecycle::schedule::{auto_start_at, auto_stop_at, AutoStop, Schedule};
    rt().block_on(async {
        let schedule: Schedule = "CRON_TZ=Europe/Berlin 0 9 * * MON-FRI".parse().unwrap();
        let policy = AutoStop::new(Duration::from_secs(8 * 3600));
        let monday: DateTime<Utc> = "2026-03-23T00:00:00Z".parse().unwrap();
        let config = Config {
            tick_interval: Duration::from_secs(300),
            poll_interval: Duration::from_secs(3600),
            ..Config::default()
        };
        let (engine, clock, fleet) = setup_at(monday, config);
        let driver = Driver::new(clock.clone());
        fleet.insert(Workspace {
            auto_start_at: auto_start_at(&schedule, monday),
            ..Workspace::new(ws(1), WorkspaceState::Stopped)
        });
        // The service's adapter: times recomputed after every transition.
        let s = schedule.clone();
        fleet.on_transition(move |w, at| match w.state {
            WorkspaceState::Running => w.auto_stop_at = Some(auto_stop_at(&policy, at, Some(&s))),
            WorkspaceState::Stopped => w.auto_start_at = auto_start_at(&s, at),
            _ => {}
        });
        let (shutdown, run) = spawn_run(&engine);
        // Two working weeks; Berlin moves to summer time on Sunday 29 March.
        driver.advance_to(monday + TimeDelta::days(12)).await;
        shutdown.cancel();
        run.await.unwrap();
        let starts: Vec<String> = fleet
            .calls()
            .iter()
            .filter(|c| c.operation == workspace_lifecycle::Operation::Start)
            .map(|c| c.at.to_rfc3339())
            .collect();
        assert_eq!(
            starts,
            [
                "2026-03-23T08:00:00+00:00",
                "2026-03-24T08:00:00+00:00",
                "2026-03-25T08:00:00+00:00",
                "2026-03-26T08:00:00+00:00",
                "2026-03-27T08:00:00+00:00",
                "2026-03-30T07:00:00+00:00",
                "2026-03-31T07:00:00+00:00",
                "2026-04-01T07:00:00+00:00",
                "2026-04-02T07:00:00+00:00",
                "2026-04-03T07:00:00+00:00",
            ],
            "09:00 in Berlin: 08:00 UTC in winter, 07:00 UTC in summer"
        );
        assert_eq!(fleet.calls().len(), 20, "each start stopped 8 h later");
        assert!(fleet.violations().is_empty());
    });
}
