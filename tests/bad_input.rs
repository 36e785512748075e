//! Every kind of bad input a user or a database can hand the crate, each with the
//! error it gets (the same table is in docs/reliability.md). Nothing panics, and no
//! bad value keeps a good job from running.

mod common;
#[path = "common/pg.rs"]
mod pg;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::{AssertSqlSafe, Executor};
use workspace_lifecycle::row::JobRow;
use workspace_lifecycle::schedule::Schedule;
use workspace_lifecycle::testkit::FakeWorkspaces;
use workspace_lifecycle::{
    Config, FakeClock, InMemoryStore, JobListParams, JobLogInsertParams, JobNextDueParams,
    JobState, JobStore, JobStoreAdmin, LifecycleEngine, LogLevel, LogLine, NewJobLog, RetryPolicy,
    StoreError, Workspace, WorkspaceState, EARLIEST_DEADLINE, LATEST_DEADLINE, MAX_DURATION,
};

use common::{t0, ws};

#[test]
fn schedules_name_the_field_and_the_value() {
    let cases = [
        ("61 * * * *", "minute field: 61 is out of range 0-59"),
        ("0 24 * * *", "hour field: 24 is out of range 0-23"),
        ("0 9 0 * *", "day-of-month field: 0 is out of range 1-31"),
        ("0 9 * 13 *", "month field: 13 is out of range 1-12"),
        ("0 9 * * 8", "day-of-week field: 8 is out of range 0-7"),
        (
            "0 9 * * mon-",
            "day-of-week field: \"mon-\" is not a valid value",
        ),
        (
            "*/0 9 * * *",
            "minute field: \"*/0\" is an empty range or step",
        ),
        ("0 9 * *", "expected 5 fields"),
        ("", "expected 5 fields"),
        ("0 ９ * * *", "hour field: \"９\" is not a valid value"),
        (
            "CRON_TZ=Mars/Olympus 0 9 * * *",
            "time zone \"Mars/Olympus\" is not an IANA zone name",
        ),
        ("CRON_TZ=Local 0 9 * * *", "(Local is not allowed)"),
        (
            "0 0 31 2 *",
            "day-of-month field: \"31\" falls in none of the months \"2\"",
        ),
    ];
    for (input, error) in cases {
        let got = input.parse::<Schedule>().expect_err(input).to_string();
        assert!(
            got.contains(error),
            "{input:?}: got {got:?}, want {error:?}"
        );
    }
}

#[test]
fn configs_that_cannot_work_are_refused_at_construction() {
    type Edit = fn(&mut Config);
    let cases: [(Edit, &str); 10] = [
        (
            |c| c.lease = Duration::ZERO,
            "lease must be greater than zero",
        ),
        (
            |c| c.tick_interval = Duration::ZERO,
            "tick_interval must be greater than zero",
        ),
        (
            |c| c.poll_interval = Duration::ZERO,
            "poll_interval must be greater than zero",
        ),
        (
            |c| c.action_timeout = Duration::ZERO,
            "action_timeout must be greater than zero",
        ),
        (
            |c| c.max_concurrent_actions = 0,
            "max_concurrent_actions must be greater than zero",
        ),
        (|c| c.page_size = 0, "page_size must be greater than zero"),
        (
            |c| {
                c.retry = RetryPolicy {
                    max_attempts: 0,
                    ..RetryPolicy::default()
                }
            },
            "retry.max_attempts must be greater than zero",
        ),
        (
            |c| c.lease = Duration::from_millis(500),
            "lease is 500ms, below the minimum of 1s",
        ),
        (|c| c.shutdown_grace = MAX_DURATION * 2, "shutdown_grace is"),
        (
            |c| {
                c.retry = RetryPolicy {
                    initial_backoff: Duration::from_secs(60),
                    max_backoff: Duration::from_secs(10),
                    ..RetryPolicy::default()
                }
            },
            "retry.initial_backoff (60s) must be less than retry.max_backoff (10s)",
        ),
    ];
    for (edit, error) in cases {
        let mut config = Config::default();
        edit(&mut config);
        let clock = FakeClock::new(t0());
        let result = LifecycleEngine::new(
            InMemoryStore::new(),
            clock.clone(),
            FakeWorkspaces::new(clock),
            config,
        );
        let got = result.expect_err(error).to_string();
        assert!(got.contains(error), "got {got:?}, want {error:?}");
    }
}

/// Log output: long, cut inside a multi-byte character, with NUL bytes. Stored and read
/// back by the store; the line never fails the job.
async fn log_output_is_cut_and_escaped<S: JobStoreAdmin>(store: &S) {
    let job = store
        .job_insert(workspace_lifecycle::JobInsertParams {
            jobs: vec![workspace_lifecycle::NewJob {
                workspace_id: ws(1),
                operation: workspace_lifecycle::Operation::Stop,
                deadline: t0(),
                run_at: None,
                log: Some(LogLine::info("x")),
            }],
            now: t0(),
        })
        .await
        .unwrap()
        .remove(0)
        .unwrap();
    // Over 1024 characters, with the cut falling among 3-byte characters.
    let long = format!("{}{}", "a".repeat(1011), "€".repeat(20));
    let nul = "before\0after";
    for text in [long.as_str(), nul, "\0", &"🦀".repeat(2000)] {
        let line = LogLine::new(LogLevel::Warn, text);
        assert!(line.output().chars().count() <= 1024, "{text:?}");
        assert!(!line.output().contains('\0'));
        store
            .job_log_insert(JobLogInsertParams {
                logs: vec![NewJobLog {
                    job_id: job.id,
                    attempt: None,
                    line,
                }],
                now: t0(),
            })
            .await
            .unwrap();
    }
    let logs = store.job_log_list(job.id).await.unwrap();
    let outputs: Vec<&str> = logs.iter().map(|l| l.output.as_str()).collect();
    assert_eq!(outputs.len(), 5);
    let cut = format!("{}€{}", "a".repeat(1011), LogLine::TRUNCATED_MARKER);
    assert_eq!(outputs[1], cut);
    assert_eq!(outputs[1].chars().count(), 1024);
    assert_eq!(outputs[2], "before\\0after");
    assert_eq!(outputs[3], "\\0");
    assert!(outputs[4].starts_with("🦀"));
}

/// Workspace times outside 0001..=9999 (chrono's own limits among them, which Postgres
/// cannot store) are refused with a warning; the rest of the page is scheduled and
/// acted on, far-past deadlines included.
async fn out_of_range_times_are_refused_and_the_rest_goes_on<S: JobStore>(store: S) {
    let clock = FakeClock::new(t0());
    let fleet = FakeWorkspaces::new(clock.clone());
    let running = |n, at: DateTime<Utc>| Workspace {
        auto_stop_at: Some(at),
        ..Workspace::new(ws(n), WorkspaceState::Running)
    };
    fleet.insert(running(1, DateTime::<Utc>::MAX_UTC));
    fleet.insert(running(2, DateTime::<Utc>::MIN_UTC));
    fleet.insert(running(3, LATEST_DEADLINE + TimeDelta::seconds(1)));
    fleet.insert(running(4, EARLIEST_DEADLINE - TimeDelta::seconds(1)));
    fleet.insert(running(5, "1900-01-01T00:00:00Z".parse().unwrap()));
    fleet.insert(running(6, EARLIEST_DEADLINE));
    fleet.insert(running(7, LATEST_DEADLINE));
    // Without a retention: with one, the far-past times are stale, not scheduled.
    let config = Config {
        retention: None,
        ..Config::default()
    };
    let engine = LifecycleEngine::new(store, clock.clone(), fleet.clone(), config).unwrap();
    let report = engine.reconcile_all().await.unwrap();
    assert_eq!((report.refused, report.created), (4, 3), "{report:?}");
    let done = engine.execute_due().await.unwrap();
    assert_eq!(
        done.stopped, 2,
        "the far-past deadlines act at once: {done:?}"
    );
    for n in [5, 6] {
        assert_eq!(
            fleet.get_snapshot(ws(n)).unwrap().state,
            WorkspaceState::Stopped
        );
    }
    assert_eq!(
        fleet.get_snapshot(ws(7)).unwrap().state,
        WorkspaceState::Running
    );

    // A pending job whose workspace time then leaves the range is cancelled.
    fleet.update(ws(7), |w| w.auto_stop_at = Some(DateTime::<Utc>::MAX_UTC));
    let report = engine.reconcile_all().await.unwrap();
    assert_eq!((report.refused, report.cancelled), (5, 1), "{report:?}");

    // Workspaces that do not exist: nothing to reconcile, nothing created.
    let report = engine.reconcile_workspace(ws(99)).await.unwrap();
    assert_eq!((report.workspaces, report.created), (0, 0));
}

#[test]
fn memory_out_of_range_times_are_refused_and_the_rest_goes_on() {
    common::rt().block_on(out_of_range_times_are_refused_and_the_rest_goes_on(
        InMemoryStore::new(),
    ));
}

#[test]
fn postgres_out_of_range_times_are_refused_and_the_rest_goes_on() {
    common::rt().block_on(async {
        let Some(db) = pg::test_db(4).await else {
            return;
        };
        out_of_range_times_are_refused_and_the_rest_goes_on(db.store.clone()).await;
    });
}

#[test]
fn memory_log_output_is_cut_and_escaped() {
    common::rt().block_on(log_output_is_cut_and_escaped(&InMemoryStore::new()));
}

#[test]
fn postgres_log_output_is_cut_and_escaped() {
    common::rt().block_on(async {
        let Some(db) = pg::test_db(4).await else {
            return;
        };
        log_output_is_cut_and_escaped(&db.store).await;
    });
}

/// Rows the code cannot represent, written into the table by hand: an operation from a
/// newer schema, `infinity`, a year past chrono's range. A claim sets each aside
/// (cancelled, the reason as its error and in its log) and still hands out the good
/// job; a scheduler pass skips them. No panic, no stuck executor.
#[test]
fn postgres_undecodable_rows_are_set_aside_and_good_jobs_still_run() {
    common::rt().block_on(async {
        let Some(db) = pg::test_db(4).await else {
            return;
        };
        let s = &db.schema;
        let clock = FakeClock::new(t0());
        let fleet = FakeWorkspaces::new(clock.clone());
        fleet.insert(Workspace {
            auto_stop_at: Some(t0()),
            ..Workspace::new(ws(1), WorkspaceState::Running)
        });
        let engine =
            LifecycleEngine::new(db.store.clone(), clock.clone(), fleet.clone(), Config::default())
                .unwrap();
        assert_eq!(engine.reconcile_all().await.unwrap().created, 1);
        let pool = db.store.pool();
        pool.execute(AssertSqlSafe(format!(
            "alter type {s}.workspace_lifecycle_operation add value 'hibernate'"
        )))
        .await
        .unwrap();
        // Three bad rows, all due now, for workspaces 2, 3 and 4.
        pool.execute(AssertSqlSafe(format!(
            "insert into {s}.workspace_lifecycle_job \
               (id, created_at, updated_at, workspace_id, operation, deadline, run_at) values \
             (gen_random_uuid(), $1, $1, '00000000-0000-0000-0000-000000000002', 'hibernate', $1, $1), \
             (gen_random_uuid(), $1, $1, '00000000-0000-0000-0000-000000000003', 'stop', 'infinity', $1), \
             (gen_random_uuid(), $1, $1, '00000000-0000-0000-0000-000000000004', 'stop', '290000-01-01', $1)"
        ).replace("$1", &format!("'{}'", t0().to_rfc3339()))))
        .await
        .unwrap();
        // A pass reads them and skips them.
        engine.reconcile_all().await.unwrap();
        let done = engine.execute_due().await.unwrap();
        assert_eq!(done.stopped, 1, "the good job ran: {done:?}");
        let set_aside = sqlx::query_scalar::<_, i64>(AssertSqlSafe(format!(
            "select count(*) from {s}.workspace_lifecycle_job j where cancelled_at is not null \
             and (error like '%outside the range%' or error like '%neither \"start\" nor \"stop\"%') \
             and exists (select 1 from {s}.workspace_lifecycle_job_logs l where l.job_id = j.id \
                         and l.level = 'error' and l.output like 'cancelled: the job row cannot be decoded%')"
        )))
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(set_aside, 3, "each bad row cancelled with its reason");
        // Nothing is left due, and the executor's next-due query is not thrown by them.
        assert_eq!(engine.execute_due().await.unwrap().claimed, 0);
        assert_eq!(db.store.job_next_due(JobNextDueParams { now: t0() }).await.unwrap(), None);
        let listed = db.store.job_list(JobListParams::default()).await;
        assert!(
            matches!(&listed, Err(StoreError::InvalidData(m)) if m.contains("job ")),
            "a user-facing read names the bad row: {listed:?}"
        );
    });
}

#[test]
fn raw_rows_decode_to_invalid_data_naming_column_and_value() {
    let good = JobRow {
        id: uuid::Uuid::from_u128(1),
        created_at: 0,
        updated_at: 0,
        started_at: None,
        cancelled_at: None,
        completed_at: None,
        error: None,
        workspace_id: uuid::Uuid::from_u128(2),
        operation: "stop".into(),
        deadline: 0,
        run_at: 0,
        attempt: 0,
        failed_attempts: 0,
        lease_expires_at: None,
        claimed_by: None,
    };
    assert_eq!(good.clone().into_job().unwrap().state(), JobState::Pending);
    let cases = [
        (
            JobRow {
                operation: "restart".into(),
                ..good.clone()
            },
            "operation \"restart\" is neither",
        ),
        (
            JobRow {
                deadline: i64::MAX,
                ..good.clone()
            },
            "deadline is infinity",
        ),
        (
            JobRow {
                run_at: i64::MIN,
                ..good.clone()
            },
            "run_at is -infinity",
        ),
        (
            JobRow {
                started_at: Some(i64::MAX - 1),
                ..good.clone()
            },
            "started_at is 9223372036854775806 µs",
        ),
        (
            JobRow {
                attempt: -1,
                ..good.clone()
            },
            "attempt is -1, expected >= 0",
        ),
        (
            JobRow {
                failed_attempts: i32::MIN,
                ..good.clone()
            },
            "failed_attempts is -2147483648",
        ),
    ];
    for (row, error) in cases {
        let got = row.into_job().unwrap_err();
        assert!(
            matches!(&got, StoreError::InvalidData(m) if m.contains(error)),
            "got {got}, want {error:?}"
        );
    }
}

/// Times finer than a microsecond (`Utc::now() + ttl` is in nanoseconds) match the
/// deadline a store hands back, which keeps microseconds: the job acts once instead of
/// being cancelled as "moved" and created again forever.
async fn nanosecond_times_act_once<S: JobStore>(store: S) {
    let clock = FakeClock::new(t0());
    let fleet = FakeWorkspaces::new(clock.clone());
    let at = t0() + TimeDelta::nanoseconds(123_456_789);
    fleet.insert(Workspace {
        auto_stop_at: Some(at),
        ..Workspace::new(ws(1), WorkspaceState::Running)
    });
    let engine =
        LifecycleEngine::new(store, clock.clone(), fleet.clone(), Config::default()).unwrap();
    assert_eq!(engine.reconcile_all().await.unwrap().created, 1);
    clock.advance(Duration::from_secs(1));
    let done = engine.execute_due().await.unwrap();
    assert_eq!((done.stopped, done.cancelled), (1, 0), "{done:?}");
}

#[test]
fn memory_nanosecond_times_act_once() {
    common::rt().block_on(nanosecond_times_act_once(InMemoryStore::new()));
}

#[test]
fn postgres_nanosecond_times_act_once() {
    common::rt().block_on(async {
        let Some(db) = pg::test_db(4).await else {
            return;
        };
        nanosecond_times_act_once(db.store.clone()).await;
    });
}
