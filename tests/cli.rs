//! The operator CLI (`workspace-lifecycle`, feature `cli`) as an operator runs it: the
//! real binary against a real Postgres, one schema per test, jobs seeded through
//! `PgStore` with fixed times, and the effect of each command checked through the
//! store afterwards. Bad input needs no server: it is refused before one is contacted.

#[path = "common/pg.rs"]
mod pg;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::AssertSqlSafe;
use uuid::Uuid;
use workspace_lifecycle::{
    ExecutorId, Job, JobCancel, JobCancelParams, JobClaimParams, JobCompleteParams,
    JobInsertParams, JobListParams, JobState, JobStore, JobStoreAdmin, LogLine, NewJob, Operation,
    PgStore, WorkspaceId,
};

use pg::rt;

/// An address nothing listens on: connecting is refused at once.
const UNREACHABLE: &str = "postgres://nobody@127.0.0.1:1/x";

/// What one run of the binary did.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the binary with `url` (none: `DATABASE_URL` unset too) and `args`.
fn cli_at(url: Option<&str>, args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_workspace-lifecycle"));
    // scripts/test.sh exports DATABASE_URL; each test says which server it means.
    command.env_remove("DATABASE_URL");
    if let Some(url) = url {
        command.args(["--database-url", url]);
    }
    let output = command.args(args).output().expect("the binary runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs the binary against the test database's schema.
fn cli(schema: &str, args: &[&str]) -> Run {
    let mut all = vec!["--schema", schema];
    all.extend_from_slice(args);
    cli_at(Some(&pg::database_url()), &all)
}

/// Asserts success; returns stdout.
fn ok(run: Run) -> String {
    assert_eq!(
        run.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    run.stdout
}

/// Asserts a failure with exit code `code`, nothing on stdout and exactly one line on
/// stderr starting `error:`; returns that line.
fn one_line_error(run: Run, code: i32) -> String {
    assert_eq!(
        run.code,
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(run.stdout, "", "nothing on stdout");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {:?}", run.stderr);
    assert!(lines[0].starts_with("error: "), "{:?}", lines[0]);
    lines[0].to_owned()
}

/// The job ids of a `jobs list` table (first column; header and hint lines skipped).
fn listed(stdout: &str) -> BTreeSet<String> {
    if stdout.trim() == "no jobs match" {
        return BTreeSet::new();
    }
    let mut lines = stdout.lines();
    assert!(
        lines.next().is_some_and(|h| h.starts_with("ID ")),
        "{stdout}"
    );
    lines
        .filter(|line| !line.starts_with('('))
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn ids<'a>(jobs: impl IntoIterator<Item = &'a Job>) -> BTreeSet<String> {
    jobs.into_iter().map(|j| j.id.to_string()).collect()
}

/// The number at the end of the first line whose text starts with `label`.
fn count(stdout: &str, label: &str) -> u64 {
    let line = stdout
        .lines()
        .find(|line| line.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{stdout}"));
    line.split_whitespace()
        .last()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count on {line:?}"))
}

fn ws(n: u128) -> WorkspaceId {
    WorkspaceId(Uuid::from_u128(n))
}

/// Creates one job with a log line, as the scheduler would at `now`.
async fn insert(
    store: &PgStore,
    workspace: u128,
    operation: Operation,
    deadline: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Job {
    let mut created = store
        .job_insert(JobInsertParams {
            jobs: vec![NewJob {
                workspace_id: ws(workspace),
                operation,
                deadline,
                run_at: None,
                log: Some(LogLine::info("scheduled by the test")),
            }],
            now,
        })
        .await
        .unwrap();
    assert_eq!(created.len(), 1);
    created.remove(0).unwrap()
}

/// Claims every job due at `now` for `executor`, with `lease`.
async fn claim(
    store: &PgStore,
    now: DateTime<Utc>,
    lease: Duration,
    executor: ExecutorId,
) -> Vec<Job> {
    store
        .job_claim(JobClaimParams {
            now,
            limit: 100,
            lease,
            executor,
        })
        .await
        .unwrap()
}

/// The claimed job of `workspace` among `claimed`.
fn of(claimed: &[Job], workspace: u128) -> Job {
    claimed
        .iter()
        .find(|j| j.workspace_id == ws(workspace))
        .cloned()
        .unwrap_or_else(|| panic!("workspace {workspace} was claimed"))
}

async fn complete(store: &PgStore, job: &Job, now: DateTime<Utc>, error: Option<&str>) {
    store
        .job_complete(JobCompleteParams {
            id: job.id,
            attempt: job.attempt,
            now,
            error: error.map(str::to_owned),
            logs: vec![LogLine::info("started the workspace")],
        })
        .await
        .unwrap();
}

/// Workspace 1's start, scheduled at 08:00 for 09:00, claimed at 09:00 and finished at
/// 09:00:02 with `error` and the log line `log`: a job with every field set.
async fn finished_start(store: &PgStore, error: &str, log: LogLine) -> Job {
    let deadline = t("2026-01-05T09:00:00Z");
    let job = insert(
        store,
        1,
        Operation::Start,
        deadline,
        t("2026-01-05T08:00:00Z"),
    )
    .await;
    let claimed = claim(store, deadline, MINUTE, ExecutorId::random()).await;
    let running = of(&claimed, 1);
    store
        .job_complete(JobCompleteParams {
            id: running.id,
            attempt: running.attempt,
            now: t("2026-01-05T09:00:02Z"),
            error: Some(error.to_owned()),
            logs: vec![log],
        })
        .await
        .unwrap();
    job
}

async fn cancel(store: &PgStore, job: &Job, now: DateTime<Utc>) {
    let cancelled = store
        .job_cancel(JobCancelParams {
            jobs: vec![JobCancel {
                id: job.id,
                attempt: None,
                log: None,
            }],
            now,
        })
        .await
        .unwrap();
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0].as_ref().map(|j| j.id).ok(), Some(job.id));
}

async fn state(store: &PgStore, job: &Job) -> Option<JobState> {
    store.job_get(job.id).await.unwrap().map(|j| j.state())
}

fn t(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn postgres_jobs_list_filters_return_exactly_the_matching_jobs() {
    rt().block_on(async {
        let Some(db) = pg::test_db(2).await else {
            return;
        };
        let store = &db.store;
        let created = t("2026-01-05T04:00:00Z");
        let done = insert(
            store,
            1,
            Operation::Start,
            t("2026-01-05T05:00:00Z"),
            created,
        )
        .await;
        let pending = insert(
            store,
            1,
            Operation::Stop,
            t("2026-01-05T09:00:00Z"),
            created,
        )
        .await;
        let running = insert(
            store,
            2,
            Operation::Start,
            t("2026-01-05T06:00:00Z"),
            created,
        )
        .await;
        let cancelled = insert(
            store,
            3,
            Operation::Stop,
            t("2026-01-05T10:00:00Z"),
            created,
        )
        .await;
        let claimed = claim(
            store,
            t("2026-01-05T07:00:00Z"),
            MINUTE,
            ExecutorId::random(),
        )
        .await;
        assert_eq!(ids(&claimed), ids([&done, &running]));
        complete(store, &of(&claimed, 1), t("2026-01-05T07:00:01Z"), None).await;
        cancel(store, &cancelled, t("2026-01-05T07:30:00Z")).await;

        let all = [&done, &pending, &running, &cancelled];
        let w1 = Uuid::from_u128(1).to_string();
        let w3 = Uuid::from_u128(3).to_string();
        let cases: Vec<(Vec<&str>, BTreeSet<String>)> = vec![
            (vec![], ids(all)),
            (vec!["--state", "pending"], ids([&pending])),
            (vec!["--state", "running"], ids([&running])),
            (vec!["--state", "completed"], ids([&done])),
            (vec!["--state", "cancelled"], ids([&cancelled])),
            (vec!["--workspace", &w1], ids([&done, &pending])),
            (vec!["--operation", "stop"], ids([&pending, &cancelled])),
            (vec!["--operation", "start"], ids([&done, &running])),
            (
                vec![
                    "--workspace",
                    &w1,
                    "--operation",
                    "start",
                    "--state",
                    "completed",
                ],
                ids([&done]),
            ),
            (
                vec!["--workspace", &w3, "--state", "running"],
                BTreeSet::new(),
            ),
        ];
        for (filters, expected) in cases {
            let mut args = vec!["jobs", "list"];
            args.extend(&filters);
            let stdout = ok(cli(&db.schema, &args));
            assert_eq!(listed(&stdout), expected, "{filters:?}:\n{stdout}");
        }
        let none = ok(cli(
            &db.schema,
            &["jobs", "list", "--workspace", &w3, "--state", "running"],
        ));
        assert_eq!(none, "no jobs match\n");

        // --limit keeps the newest, and says there may be more.
        let stdout = ok(cli(&db.schema, &["jobs", "list", "--limit", "2"]));
        assert_eq!(listed(&stdout).len(), 2, "{stdout}");
        assert!(stdout.contains("--limit"), "{stdout}");
    });
}

#[test]
fn postgres_jobs_show_prints_every_field_and_the_logs() {
    rt().block_on(async {
        let Some(db) = pg::test_db(2).await else {
            return;
        };
        let job = finished_start(
            &db.store,
            "adapter said no",
            LogLine::info("started the workspace"),
        )
        .await;

        let id = job.id.to_string();
        let stdout = ok(cli(&db.schema, &["jobs", "show", &id]));
        let field = |key: &str| {
            stdout
                .lines()
                .find(|line| line.split_whitespace().next() == Some(key))
                .and_then(|line| line.split_once(char::is_whitespace))
                .map(|(_, value)| value.trim().to_owned())
                .unwrap_or_else(|| panic!("no {key} in:\n{stdout}"))
        };
        assert_eq!(field("id"), id);
        assert_eq!(field("workspace"), Uuid::from_u128(1).to_string());
        assert_eq!(field("operation"), "start");
        assert_eq!(field("state"), "completed");
        assert_eq!(field("deadline"), "2026-01-05T09:00:00.000Z");
        assert_eq!(field("completed_at"), "2026-01-05T09:00:02.000Z");
        assert_eq!(field("cancelled_at"), "-");
        assert_eq!(field("attempt"), "1");
        assert_eq!(field("error"), "adapter said no");
        // The log, oldest first: the creation's line, then the completion's.
        let scheduled = stdout.find("scheduled by the test").expect("creation line");
        let started = stdout
            .find("started the workspace")
            .expect("completion line");
        assert!(scheduled < started, "{stdout}");
        assert!(
            stdout.contains("2026-01-05T08:00:00.000Z  info   scheduled by the test"),
            "{stdout}"
        );

        let unknown = Uuid::new_v4().to_string();
        let error = one_line_error(cli(&db.schema, &["jobs", "show", &unknown]), 1);
        assert_eq!(error, format!("error: no job with id {unknown}"));
    });
}

#[test]
fn postgres_jobs_show_and_list_escape_control_characters_from_the_table() {
    rt().block_on(async {
        let Some(db) = pg::test_db(2).await else {
            return;
        };
        // An adapter's text that would recolour, clear or forge lines on a terminal.
        let job = finished_start(
            &db.store,
            "adapter \x1b[31msaid\x1b[0m no\u{9b}2J\u{7f}",
            LogLine::info("line\nerror: forged \x1b[2J"),
        )
        .await;

        let id = job.id.to_string();
        for args in [&["jobs", "show", &id][..], &["jobs", "list"][..]] {
            let stdout = ok(cli(&db.schema, args));
            assert!(
                !stdout.contains(|c: char| c.is_control() && c != '\n'),
                "{args:?}: {stdout:?}"
            );
            assert!(
                stdout.contains(r"adapter \u{1b}[31msaid\u{1b}[0m no"),
                "{stdout}"
            );
        }
        let stdout = ok(cli(&db.schema, &["jobs", "show", &id]));
        assert!(stdout.contains(r"\u{9b}2J\u{7f}"), "{stdout}");
        assert!(
            stdout.contains(r"line\u{a}error: forged \u{1b}[2J"),
            "{stdout}"
        );
        assert!(
            !stdout.lines().any(|l| l.starts_with("error: forged")),
            "{stdout}"
        );
    });
}

#[test]
fn postgres_jobs_cancel_cancels_a_pending_job_and_refuses_others() {
    rt().block_on(async {
        let Some(db) = pg::test_db(2).await else {
            return;
        };
        let store = &db.store;
        let created = t("2026-01-05T08:00:00Z");
        let pending = insert(
            store,
            1,
            Operation::Stop,
            t("2026-01-05T12:00:00Z"),
            created,
        )
        .await;
        let quiet = insert(
            store,
            3,
            Operation::Stop,
            t("2026-01-05T12:00:00Z"),
            created,
        )
        .await;
        let running = insert(
            store,
            2,
            Operation::Start,
            t("2026-01-05T09:00:00Z"),
            created,
        )
        .await;
        let claimed = claim(
            store,
            t("2026-01-05T09:00:00Z"),
            MINUTE,
            ExecutorId::random(),
        )
        .await;
        assert_eq!(ids(&claimed), ids([&running]));

        let id = pending.id.to_string();
        let stdout = ok(cli(
            &db.schema,
            &["jobs", "cancel", &id, "--reason", "maintenance window"],
        ));
        assert!(
            stdout.starts_with(&format!("cancelled job {id}")),
            "{stdout}"
        );
        assert_eq!(state(store, &pending).await, Some(JobState::Cancelled));
        let logs = store.job_log_list(pending.id).await.unwrap();
        assert_eq!(
            logs.last().map(|l| l.output.as_str()),
            Some("cancelled by an operator: maintenance window")
        );

        // Without --reason, the log says none was given.
        ok(cli(&db.schema, &["jobs", "cancel", &quiet.id.to_string()]));
        let logs = store.job_log_list(quiet.id).await.unwrap();
        assert_eq!(
            logs.last().map(|l| l.output.as_str()),
            Some("cancelled by an operator: no reason given")
        );

        // A running job is its executor's: refused, and left running.
        let rid = running.id.to_string();
        let error = one_line_error(cli(&db.schema, &["jobs", "cancel", &rid]), 1);
        assert_eq!(
            error,
            format!(
                "error: job {rid} is running, not pending; only a pending job can be \
                 cancelled (a running one finishes or its lease expires)"
            )
        );
        assert_eq!(state(store, &running).await, Some(JobState::Running));

        let error = one_line_error(cli(&db.schema, &["jobs", "cancel", &id]), 1);
        assert!(error.contains("is cancelled, not pending"), "{error}");

        let unknown = Uuid::new_v4().to_string();
        let error = one_line_error(cli(&db.schema, &["jobs", "cancel", &unknown]), 1);
        assert_eq!(error, format!("error: no job with id {unknown}"));
    });
}

#[test]
fn postgres_prune_deletes_only_old_finished_jobs_and_their_logs() {
    rt().block_on(async {
        let Some(db) = pg::test_db(2).await else {
            return;
        };
        let store = &db.store;
        // The CLI's cutoff is the real now minus the age, so the seeds are relative to
        // the real now, far from the cutoff on both sides.
        let now = Utc::now();
        let days = |n: i64| now - TimeDelta::days(n);
        let hours = |n: i64| now - TimeDelta::hours(n);
        let old_done = insert(store, 1, Operation::Start, days(60), days(61)).await;
        let old_running = insert(store, 5, Operation::Start, days(60), days(61)).await;
        let old_cancelled = insert(store, 2, Operation::Stop, days(50), days(61)).await;
        let old_pending = insert(
            store,
            4,
            Operation::Stop,
            now + TimeDelta::days(1),
            days(61),
        )
        .await;
        let claimed = claim(store, days(60), MINUTE, ExecutorId::random()).await;
        assert_eq!(ids(&claimed), ids([&old_done, &old_running]));
        complete(store, &of(&claimed, 1), days(60), None).await;
        cancel(store, &old_cancelled, days(60)).await;
        let recent_done = insert(store, 3, Operation::Start, hours(1), hours(2)).await;
        let claimed = claim(store, hours(1), MINUTE, ExecutorId::random()).await;
        assert_eq!(ids(&claimed), ids([&recent_done]));
        complete(store, &of(&claimed, 3), hours(1), None).await;
        assert!(!store.job_log_list(old_done.id).await.unwrap().is_empty());

        // A batch of one, so the loop runs until a batch comes back short.
        let stdout = ok(cli(
            &db.schema,
            &["prune", "--older-than", "30d", "--batch", "1"],
        ));
        assert_eq!(
            stdout,
            "pruned 2 finished jobs (and their logs) older than 30d\n"
        );
        for gone in [&old_done, &old_cancelled] {
            assert_eq!(state(store, gone).await, None);
            assert!(store.job_log_list(gone.id).await.unwrap().is_empty());
        }
        assert_eq!(state(store, &recent_done).await, Some(JobState::Completed));
        assert_eq!(state(store, &old_pending).await, Some(JobState::Pending));
        assert_eq!(state(store, &old_running).await, Some(JobState::Running));
        assert!(!store.job_log_list(recent_done.id).await.unwrap().is_empty());

        let stdout = ok(cli(&db.schema, &["prune", "--older-than", "30d"]));
        assert_eq!(
            stdout,
            "pruned 0 finished jobs (and their logs) older than 30d\n"
        );
        // An age of zero takes every finished job, and still no open one.
        let stdout = ok(cli(&db.schema, &["prune", "--older-than", "0s"]));
        assert_eq!(
            stdout,
            "pruned 1 finished job (and its logs) older than 0s\n"
        );
        assert_eq!(state(store, &recent_done).await, None);
        assert_eq!(state(store, &old_pending).await, Some(JobState::Pending));
        assert_eq!(state(store, &old_running).await, Some(JobState::Running));
    });
}

#[test]
fn postgres_stats_counts_states_next_jobs_and_the_oldest_running_one() {
    rt().block_on(async {
        let Some(db) = pg::test_db(2).await else {
            return;
        };
        let store = &db.store;
        // Leases count as expired against the CLI's real now, so seeds are relative to it.
        let now = Utc::now();
        let ago = |m: i64| now - TimeDelta::minutes(m);
        let later = |m: i64| now + TimeDelta::minutes(m);
        let next = insert(store, 1, Operation::Start, later(60), ago(200)).await;
        let after = insert(store, 2, Operation::Start, later(120), ago(200)).await;
        let stalled = insert(store, 3, Operation::Start, ago(120), ago(200)).await;
        let ok_done = insert(store, 4, Operation::Start, ago(120), ago(200)).await;
        let failed = insert(store, 5, Operation::Stop, ago(120), ago(200)).await;
        let dropped = insert(store, 6, Operation::Stop, later(180), ago(200)).await;
        let young = insert(store, 7, Operation::Start, ago(10), ago(200)).await;

        // Workspaces 3, 4 and 5 claimed an hour ago with a one-minute lease; 3 never
        // finished, so its lease has expired. Workspace 7 claimed ten minutes ago with
        // an hour's lease: running, lease valid, and not the oldest.
        let stale = ExecutorId::random();
        let claimed = claim(store, ago(60), MINUTE, stale).await;
        assert_eq!(ids(&claimed), ids([&stalled, &ok_done, &failed]));
        let finished = ago(60) + TimeDelta::seconds(30);
        complete(store, &of(&claimed, 4), finished, None).await;
        complete(store, &of(&claimed, 5), finished, Some("adapter failed")).await;
        cancel(store, &dropped, ago(30)).await;
        let claimed = claim(
            store,
            ago(10),
            Duration::from_secs(3600),
            ExecutorId::random(),
        )
        .await;
        assert_eq!(ids(&claimed), ids([&young]));

        let stdout = ok(cli(&db.schema, &["stats", "--next", "1"]));
        assert_eq!(count(&stdout, "pending"), 2, "{stdout}");
        assert_eq!(count(&stdout, "running"), 2, "{stdout}");
        assert_eq!(count(&stdout, "expired leases"), 1, "{stdout}");
        assert_eq!(count(&stdout, "completed"), 2, "{stdout}");
        assert_eq!(count(&stdout, "failed"), 1, "{stdout}");
        assert_eq!(count(&stdout, "cancelled"), 1, "{stdout}");

        let (next_part, oldest_part) = stdout
            .split_once("oldest running job:")
            .expect("an oldest running job section");
        assert!(next_part.contains(&next.id.to_string()), "{stdout}");
        assert!(
            !next_part.contains(&after.id.to_string()),
            "--next 1:\n{stdout}"
        );
        assert!(oldest_part.contains(&stalled.id.to_string()), "{stdout}");
        assert!(
            oldest_part.contains(&stale.to_string()),
            "claimed_by:\n{stdout}"
        );
        assert!(oldest_part.contains("(expired "), "{stdout}");
        assert!(!stdout.contains(&young.id.to_string()), "{stdout}");

        // By default the next five: both pending jobs, earliest first.
        let stdout = ok(cli(&db.schema, &["stats"]));
        let (first, second) = (
            stdout.find(&next.id.to_string()).expect("next listed"),
            stdout.find(&after.id.to_string()).expect("after listed"),
        );
        assert!(first < second, "{stdout}");
    });
}

#[test]
fn postgres_migrate_creates_the_schema_on_a_fresh_database() {
    rt().block_on(async {
        let Some(db) = pg::test_db(2).await else {
            return;
        };
        // test_db migrated the schema; start from nothing instead.
        sqlx::raw_sql(AssertSqlSafe(format!("drop schema {} cascade", db.schema)))
            .execute(db.store.pool())
            .await
            .unwrap();

        let error = one_line_error(cli(&db.schema, &["jobs", "list"]), 1);
        assert!(error.contains("workspace-lifecycle migrate"), "{error}");

        let stdout = ok(cli(&db.schema, &["migrate"]));
        assert_eq!(stdout, format!("schema {} is up to date\n", db.schema));
        // Again, as every replica's start-up does: nothing to do, no error.
        ok(cli(&db.schema, &["migrate"]));

        assert_eq!(ok(cli(&db.schema, &["jobs", "list"])), "no jobs match\n");
        let fresh = db.another_store(1).await;
        assert_eq!(
            fresh.job_list(JobListParams::default()).await.unwrap(),
            vec![]
        );
    });
}

#[test]
fn cli_refuses_bad_input_in_one_line_before_contacting_the_server() {
    // UNREACHABLE is never contacted: each of these is refused while parsing, with
    // clap's usage exit code.
    let cases: &[(&[&str], &str)] = &[
        (&["jobs", "show", "not-a-uuid"], "not-a-uuid"),
        (&["jobs", "cancel", "1234"], "1234"),
        (&["jobs", "list", "--workspace", "xyz"], "xyz"),
        (
            &["jobs", "list", "--state", "sleeping"],
            "pending, running, completed, cancelled",
        ),
        (&["jobs", "list", "--operation", "restart"], "start, stop"),
        (&["jobs", "list", "--limit", "0"], "--limit"),
        (
            &["prune", "--older-than", "7x"],
            "invalid duration \"7x\": expected a number followed by s, m, h or d",
        ),
        (&["prune", "--older-than", "30d", "--batch", "0"], "--batch"),
        (&["prune"], "--older-than"),
        (&["frobnicate"], "frobnicate"),
    ];
    for (args, mentions) in cases {
        let mut all = vec!["--database-url", UNREACHABLE];
        all.extend_from_slice(args);
        let error = one_line_error(cli_at(None, &all), 2);
        assert!(error.contains(mentions), "{args:?}: {error}");
    }

    let error = one_line_error(cli_at(None, &["stats"]), 2);
    assert!(error.contains("--database-url"), "{error}");

    // A bad schema name is refused before connecting, too.
    let error = one_line_error(
        cli_at(Some(UNREACHABLE), &["--schema", "Bad-Name", "stats"]),
        1,
    );
    assert!(error.contains("schema"), "{error}");
}

#[test]
fn cli_reports_an_unreachable_or_malformed_database_url_in_one_line() {
    let started = Instant::now();
    let error = one_line_error(cli_at(Some(UNREACHABLE), &["stats"]), 1);
    assert!(
        error.starts_with("error: cannot connect to the database at 127.0.0.1:1:"),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(15), "fails fast");
    assert!(!error.contains("nobody"), "the URL is not echoed: {error}");

    let error = one_line_error(cli_at(Some("not a url"), &["stats"]), 1);
    assert!(
        error.starts_with("error: invalid --database-url"),
        "{error}"
    );
}
