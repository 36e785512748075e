//! Four engines, each with its own connection pool, on one Postgres job table: 2,000
//! workspaces over three simulated days, driven by one `FakeClock` through the `now`
//! every statement takes. Every occurrence is acted on exactly once, no workspace ever
//! has two actions in flight, and no open job is left behind.

mod common;
#[path = "common/pg.rs"]
mod pg;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Timelike, Utc};
use common::{t0, ws};
use tokio_util::sync::CancellationToken;
use workspace_lifecycle::testkit::{Behavior, CallOutcome, Driver, FakeWorkspaces, Tracked};
use workspace_lifecycle::{
    Config, FakeClock, JobListParams, JobState, JobStoreAdmin, LifecycleEngine, Occurrence,
    Operation, PgStore, Readiness, RunReport, Workspace, WorkspaceState,
};

const WORKSPACES: u128 = 2000;

const ENGINES: usize = 4;
const DAYS: i64 = 3;

/// The next daily start at `minute` (of the day, UTC) strictly after `t`.
fn next_start(t: DateTime<Utc>, minute: u32) -> DateTime<Utc> {
    let midnight = t
        - TimeDelta::seconds(i64::from(t.num_seconds_from_midnight()))
        - TimeDelta::nanoseconds(i64::from(t.nanosecond()));
    let today = midnight + TimeDelta::minutes(minute.into());
    if today > t {
        today
    } else {
        today + TimeDelta::days(1)
    }
}

#[test]
fn postgres_four_replicas_act_on_every_occurrence_exactly_once() {
    common::rt().block_on(async {
        let Some(db) = pg::test_db(2).await else { return };
        let clock = FakeClock::new(t0());
        let fleet = FakeWorkspaces::new(clock.clone());
        // Starts in 15-minute waves; stops 8 to 10 hours after each start, also on the
        // quarter hour, so every wave claims many jobs at once.
        let policy = |n: u128| ((n * 7 % 96) as u32 * 15, 8 * 60 + (n * 13 % 9) as i64 * 15);
        for n in 0..WORKSPACES {
            let (minute, _) = policy(n);
            fleet.insert(Workspace {
                auto_start_at: Some(next_start(t0(), minute)),
                ..Workspace::new(ws(n), WorkspaceState::Stopped)
            });
            if n % 5 == 0 {
                fleet.set_behavior(ws(n), Behavior::Take(Duration::from_secs(60 + (n % 3) as u64 * 60)));
            }
            if n % 50 == 0 {
                fleet.fail_next(ws(n), 1);
            }
        }
        let ids: HashMap<_, _> = (0..WORKSPACES).map(|n| (ws(n), n)).collect();
        fleet.on_transition(move |w, at| {
            let Some(&n) = ids.get(&w.id) else { return };
            let (minute, ttl) = policy(n);
            match w.state {
                WorkspaceState::Running => {
                    w.auto_stop_at = Some(at + TimeDelta::minutes(ttl));
                    w.auto_start_at = Some(next_start(at, minute));
                }
                WorkspaceState::Stopped => {
                    w.auto_stop_at = None;
                    w.auto_start_at = Some(next_start(at, minute));
                }
                _ => {}
            }
        });

        // Each engine has its own pool, as separate processes would.
        let config = Config {
            tick_interval: Duration::from_secs(300),
            poll_interval: Duration::from_secs(300),
            ..Config::default()
        };
        // The engines' stores counted as one, so the driver waits out all their I/O.
        let counted = Tracked::new(db.store.clone());
        let driver = Driver::new(clock.clone()).track_io(&counted);
        let mut runs = Vec::new();
        let shutdown = CancellationToken::new();
        for _ in 0..ENGINES {
            let store: PgStore = db.another_store(4).await;
            let store = counted.wrap(store);
            let engine = LifecycleEngine::new(store, clock.clone(), fleet.clone(), config.clone()).unwrap();
            let shutdown = shutdown.clone();
            runs.push(tokio::spawn(async move { engine.run(shutdown).await }));
        }

        // Three days, timer to timer; every three hours, check that no workspace has two
        // jobs in flight.
        let end = t0() + TimeDelta::days(DAYS);
        while clock.now() < end {
            driver.advance_to((clock.now() + TimeDelta::hours(3)).min(end)).await;
            let running = db
                .store
                .job_list(JobListParams { state: Some(JobState::Running), ..JobListParams::default() })
                .await
                .unwrap();
            let workspaces: HashSet<_> = running.iter().map(|j| j.workspace_id).collect();
            assert_eq!(workspaces.len(), running.len(), "two jobs in flight for one workspace at {}", clock.now());
        }
        shutdown.cancel();
        driver.settle().await;
        clock.advance(config.shutdown_grace);
        let mut total = RunReport::default();
        for run in runs {
            let report = run.await.unwrap();
            total.execute.add(&report.execute);
            total.reconcile.add(&report.reconcile);
        }

        eprintln!("replicas: {:?}", total.execute);
        assert_eq!((total.execute.rescued, total.execute.lease_lost), (0, 0), "no engine died");
        let violations = fleet.violations();
        assert!(violations.is_empty(), "{violations:#?}");
        let jobs = db.store.job_list(JobListParams::default()).await.unwrap();
        let calls = fleet.calls();
        let succeeded = calls.iter().filter(|c| c.outcome == CallOutcome::Succeeded).count();
        // Exactly once: one successful call per acted-on job, one completed job per
        // occurrence.
        assert_eq!(succeeded, total.execute.started + total.execute.stopped);
        let completed: Vec<_> = jobs.iter().filter(|j| j.state() == JobState::Completed).collect();
        let occurrences: HashSet<Occurrence> = completed.iter().map(|j| j.occurrence()).collect();
        assert_eq!(occurrences.len(), completed.len(), "an occurrence completed twice");
        // Every occurrence the data called for, long enough ago, was handled.
        let slack = TimeDelta::from_std(config.tick_interval + config.lease + config.action_timeout).unwrap();
        for snapshot in fleet.snapshots() {
            for op in Operation::ALL {
                if let Some(at) = snapshot.scheduled_at(op) {
                    let due = at + slack < end && snapshot.readiness(op) == Readiness::Act;
                    let occurrence = Occurrence { workspace_id: snapshot.id, operation: op, deadline: at };
                    assert!(!due || occurrences.contains(&occurrence), "{occurrence} never handled");
                }
            }
        }
        // No open job left behind: whatever is open is due after the end, or in flight
        // from the last moments.
        for job in jobs.iter().filter(|j| j.state().is_open()) {
            assert!(job.run_at + slack >= end, "job {} ({}) left open", job.id, job.occurrence());
        }
        // Every workspace cycled: a start and a stop a day, give or take the first and
        // last day's edges.
        let min_actions = (WORKSPACES as usize) * (2 * DAYS as usize - 2);
        assert!(succeeded >= min_actions, "only {succeeded} actions, expected at least {min_actions}");
        assert!(total.execute.started > 0 && total.execute.stopped > 0);
        eprintln!(
            "replicas: {} jobs, {} starts, {} stops, {} retried, {} already done, {} claims by 4 engines",
            jobs.len(),
            total.execute.started,
            total.execute.stopped,
            total.execute.retried,
            total.execute.already_done,
            total.execute.claimed
        );
    });
}
