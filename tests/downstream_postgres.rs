//! A user's test, written as a downstream crate would write it: the crate's public API
//! only (sqlx comes re-exported with `PgStore`; tokio is the user's own), no yield counts
//! and no store wrapper of its own. The engine's run loop works on `PgStore` in the
//! background while `testkit::Driver` moves a `FakeClock` across the workspaces'
//! deadlines, waiting out the store's I/O through `testkit::Tracked`.
//!
//! The server is `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).
//! When it cannot be reached the test fails under `CI=true` or `WL_REQUIRE_POSTGRES=1`,
//! and otherwise says it skipped.

use std::time::Duration;

use workspace_lifecycle::chrono::{DateTime, TimeDelta, Utc};
use workspace_lifecycle::sqlx::postgres::PgPoolOptions;
use workspace_lifecycle::testkit::{self, Behavior, CallOutcome, Driver, FakeWorkspaces, Tracked};
use workspace_lifecycle::{
    CancellationToken, Config, FakeClock, LifecycleEngine, Operation, PgStore, Uuid, Workspace,
    WorkspaceId, WorkspaceState,
};

fn t0() -> DateTime<Utc> {
    "2026-01-05T08:00:00Z".parse().unwrap()
}

fn minutes(m: i64) -> DateTime<Utc> {
    t0() + TimeDelta::minutes(m)
}

fn ws(n: u128) -> WorkspaceId {
    WorkspaceId(Uuid::from_u128(n))
}

fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var("WL_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// A migrated store in a fresh schema, or `None` (skipped) when no server is reachable
/// and none is required.
async fn store() -> Option<PgStore> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(30))
        .connect(&url)
        .await;
    let pool = match pool {
        Ok(pool) => pool,
        Err(error) if !required() => {
            eprintln!("SKIPPED: no Postgres at {url} ({error})");
            return None;
        }
        Err(error) => panic!("Postgres at {url} is required but unreachable: {error}"),
    };
    let schema = format!("wl_downstream_{}", Uuid::new_v4().simple());
    let store = PgStore::with_schema(pool, &schema).unwrap();
    store.migrate().await.unwrap();
    Some(store)
}

#[test]
fn the_run_loop_on_postgres_acts_at_each_deadline_driven_by_the_fake_clock() {
    testkit::runtime().unwrap().block_on(async {
        let Some(store) = store().await else { return };
        // The scenario runs as a task of its own so a failed assertion still drops the
        // schema below.
        let outcome = tokio::spawn(scenario(store.clone())).await;
        store.drop_schema().await.unwrap();
        if let Err(failed) = outcome {
            std::panic::resume_unwind(failed.into_panic());
        }
    });
}

async fn scenario(store: PgStore) {
    let clock = FakeClock::new(t0());
    let fleet = FakeWorkspaces::new(clock.clone());
    let running_until = |n, stop| Workspace {
        auto_stop_at: Some(stop),
        ..Workspace::new(ws(n), WorkspaceState::Running)
    };
    let stopped_until = |n, start| Workspace {
        auto_start_at: Some(start),
        ..Workspace::new(ws(n), WorkspaceState::Stopped)
    };
    fleet.insert(running_until(1, minutes(30)));
    fleet.insert(stopped_until(2, minutes(45)));
    // A stop that takes five minutes of the fake clock.
    fleet.insert(running_until(3, minutes(120)));
    fleet.set_behavior(ws(3), Behavior::Take(Duration::from_secs(300)));
    // A start that fails once and succeeds on its retry.
    fleet.insert(stopped_until(4, minutes(10)));
    fleet.fail_next(ws(4), 1);
    // A stop after the end of the test: never acted on.
    fleet.insert(running_until(5, minutes(300)));

    let config = Config {
        tick_interval: Duration::from_secs(300),
        poll_interval: Duration::from_secs(300),
        ..Config::default()
    };
    let store = Tracked::new(store);
    let driver = Driver::new(clock.clone()).track_io(&store);
    let engine = LifecycleEngine::new(store, clock.clone(), fleet.clone(), config.clone()).unwrap();
    let shutdown = CancellationToken::new();
    let run = tokio::spawn({
        let (engine, shutdown) = (engine.clone(), shutdown.clone());
        async move { engine.run(shutdown).await }
    });

    driver.advance_to(minutes(180)).await;

    let state = |n| fleet.get_snapshot(ws(n)).unwrap().state;
    assert_eq!(
        [1, 2, 3, 4, 5].map(state),
        [
            WorkspaceState::Stopped,
            WorkspaceState::Running,
            WorkspaceState::Stopped,
            WorkspaceState::Running,
            WorkspaceState::Running,
        ]
    );
    let calls = fleet.calls();
    let call_at = |n, operation, outcome| {
        calls
            .iter()
            .filter(|c| c.workspace_id == ws(n) && c.operation == operation && c.outcome == outcome)
            .map(|c| c.at)
            .collect::<Vec<_>>()
    };
    // Each action at its deadline to the microsecond: the run loop slept on the fake
    // clock until then, and the driver stopped the clock there.
    for (n, operation, outcome, at) in [
        (1, Operation::Stop, CallOutcome::Succeeded, 30),
        (2, Operation::Start, CallOutcome::Succeeded, 45),
        (3, Operation::Stop, CallOutcome::Succeeded, 120),
        (4, Operation::Start, CallOutcome::Failed, 10),
    ] {
        assert_eq!(call_at(n, operation, outcome), [minutes(at)], "{calls:#?}");
    }
    let retried = call_at(4, Operation::Start, CallOutcome::Succeeded);
    assert_eq!(retried.len(), 1, "{calls:#?}");
    assert!(
        retried[0] > minutes(10) && retried[0] <= minutes(11),
        "{retried:?}"
    );
    assert!(call_at(5, Operation::Stop, CallOutcome::Succeeded).is_empty());
    let violations = fleet.violations();
    assert!(violations.is_empty(), "{violations:#?}");

    shutdown.cancel();
    driver.advance(config.shutdown_grace).await;
    let report = run.await.unwrap();
    assert_eq!((report.execute.started, report.execute.stopped), (2, 2));
    assert_eq!(report.execute.retried, 1);
}
