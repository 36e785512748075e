//! Fault tests with real processes and a real Postgres: engine processes
//! (`wl-fault-engine`, tests/bin/fault_engine.rs) killed with SIGKILL, paused past
//! their lease with SIGSTOP, cut off from the database, faced with a hanging or
//! panicking adapter, and shut down under load.
//!
//! Every action the fleet adapter performs is a row keyed by its occurrence
//! (tests/bin/fleet.rs), so "exactly once" is checked by counting rows, and an attempted
//! double action is a row in `violations`.

#[path = "common/pg.rs"]
mod pg;

#[path = "bin/fleet.rs"]
mod fleet;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, PgPool, Row};
use workspace_lifecycle::PgStore;

use fleet::FleetRow;

const BIN: &str = env!("CARGO_BIN_EXE_wl-fault-engine");

use pg::rt;

/// One engine process.
struct Engine {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    name: String,
    executor: uuid::Uuid,
}

/// The counts an engine process prints when it stops.
type Report = HashMap<String, usize>;

impl Engine {
    /// Starts `wl-fault-engine run` with `args` (space-separated options).
    fn spawn(url: &str, schema: &str, name: &str, args: &str) -> Engine {
        let mut child = Command::new(BIN)
            .args([
                "run",
                "--database-url",
                url,
                "--schema",
                schema,
                "--name",
                name,
            ])
            .args(args.split_whitespace())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the fault engine binary starts");
        let stdout = child.stdout.take().expect("piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let ready = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the engine process says it is ready");
        let executor = ready
            .strip_prefix("ready executor=")
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {ready:?}"));
        Engine {
            stdin: child.stdin.take(),
            child,
            lines,
            name: name.to_owned(),
            executor,
        }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// Asks for a graceful stop; returns the report and how long the exit took.
    fn stop(mut self) -> (Report, Duration) {
        let asked = Instant::now();
        if let Some(mut stdin) = self.stdin.take() {
            let _ = writeln!(stdin, "stop");
        }
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(120))
            .expect("the engine process reports when it stops");
        let status = self.child.wait().expect("exits");
        let took = asked.elapsed();
        assert!(status.success(), "{} exited with {status}", self.name);
        let report = line
            .strip_prefix("report ")
            .unwrap_or_else(|| panic!("unexpected line {line:?}"))
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.parse().expect("a count")))
            .collect();
        (report, took)
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The fleet's tables beside a migrated job schema, through the binary's own setup.
fn setup(url: &str, schema: &str) {
    let status = Command::new(BIN)
        .args(["setup", "--database-url", url, "--schema", schema])
        .status()
        .expect("setup runs");
    assert!(status.success(), "setup failed");
}

async fn scalar(pool: &PgPool, sql: String) -> i64 {
    sqlx::query(AssertSqlSafe(sql))
        .fetch_one(pool)
        .await
        .expect("query")
        .get::<i64, _>(0)
}

/// Polls `sql` (a count) until it equals `want`, for up to `within`.
async fn wait_count(pool: &PgPool, sql: String, want: i64, within: Duration) {
    let start = Instant::now();
    loop {
        let got = scalar(pool, sql.clone()).await;
        if got == want {
            return;
        }
        assert!(
            start.elapsed() < within,
            "waited {within:?} for {sql} to reach {want}; it is {got}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A test's schema with the fleet tables and `rows` in them, on the shared server.
struct Fixture {
    _db: Option<pg::TestDb>,
    url: String,
    s: String,
    pool: PgPool,
}

impl Fixture {
    async fn new(rows: &[FleetRow]) -> Option<Fixture> {
        let db = pg::test_db(4).await?;
        let fixture = Fixture {
            url: pg::database_url(),
            s: db.schema.clone(),
            pool: db.store.pool().clone(),
            _db: Some(db),
        };
        fixture.fill(rows).await;
        Some(fixture)
    }

    async fn fill(&self, rows: &[FleetRow]) {
        setup(&self.url, &self.s);
        fleet::insert(&self.pool, &self.s, rows).await.unwrap();
    }

    /// An engine process named after the schema, so its connections are the test's.
    fn spawn(&self, name: &str, args: &str) -> Engine {
        Engine::spawn(&self.url, &self.s, &format!("{}-{name}", self.s), args)
    }

    fn counts(&self) -> Counts<'_> {
        Counts {
            pool: &self.pool,
            s: &self.s,
        }
    }
}

struct Counts<'a> {
    pool: &'a PgPool,
    s: &'a str,
}

impl Counts<'_> {
    fn running(&self, executor: uuid::Uuid) -> String {
        format!(
            "select count(*) from {}.workspace_lifecycle_job where started_at is not null \
             and completed_at is null and cancelled_at is null and claimed_by = '{executor}'",
            self.s
        )
    }
    fn completed(&self) -> String {
        format!(
            "select count(*) from {}.workspace_lifecycle_job where completed_at is not null",
            self.s
        )
    }
    fn finished(&self) -> String {
        format!(
            "select count(*) from {}.workspace_lifecycle_job \
             where completed_at is not null or cancelled_at is not null",
            self.s
        )
    }
    async fn actions(&self) -> i64 {
        scalar(
            self.pool,
            format!("select count(*) from {}.actions", self.s),
        )
        .await
    }
    async fn violations(&self) -> i64 {
        scalar(
            self.pool,
            format!("select count(*) from {}.violations", self.s),
        )
        .await
    }
    /// Every job row and every log line, to compare before and after.
    async fn snapshot(&self) -> Vec<String> {
        let s = self.s;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "select format('%s', j) from {s}.workspace_lifecycle_job j \
             union all select format('%s', l) from {s}.workspace_lifecycle_job_logs l \
             order by 1"
        )))
        .fetch_all(self.pool)
        .await
        .expect("snapshot");
        rows.iter().map(|r| r.get::<String, _>(0)).collect()
    }

    /// Waits until a LISTEN connection of the engine named `name` is back.
    async fn listening(&self, engine: &Engine) {
        let name = &engine.name;
        wait_count(
            self.pool,
            format!(
                "select count(*) from pg_stat_activity where application_name = 'wl-{name}' \
                 and query ilike 'listen%'"
            ),
            1,
            Duration::from_secs(30),
        )
        .await;
    }

    /// Jobs completed without exactly one action for their occurrence, or with an error.
    async fn completed_without_one_action(&self) -> i64 {
        let s = self.s;
        scalar(
            self.pool,
            format!(
                "select count(*) from {s}.workspace_lifecycle_job j \
                 where j.completed_at is not null and (j.error is not null \
                   or (select count(*) from {s}.actions a where a.workspace_id = j.workspace_id \
                       and a.operation = j.operation::text and a.occurrence = j.deadline) <> 1)"
            ),
        )
        .await
    }
}

fn running_fleet(n: u128, first_stop: DateTime<Utc>, spread: Duration) -> Vec<FleetRow> {
    (0..n)
        .map(|i| {
            let offset = spread.mul_f64(i as f64 / n.max(1) as f64);
            FleetRow::stop_at(i, first_stop + TimeDelta::from_std(offset).unwrap())
        })
        .collect()
}

fn soon(ms: i64) -> DateTime<Utc> {
    Utc::now() + TimeDelta::milliseconds(ms)
}

/// SIGKILL mid-action: the adapter holds every stop before committing it, the process
/// dies, and after the lease expires another process rescues and finishes every job.
/// Each occurrence is acted on exactly once.
#[test]
fn postgres_faults_sigkill_mid_action_is_finished_elsewhere_exactly_once() {
    rt().block_on(async {
        let Some(f) = Fixture::new(&running_fleet(40, soon(300), Duration::ZERO)).await else {
            return;
        };
        let c = f.counts();
        let common = "--lease 2000 --tick 500 --poll 500";
        let mut a = f.spawn(
            "a",
            &format!("{common} --hold-before 600000 --concurrency 64"),
        );
        wait_count(&f.pool, c.running(a.executor), 40, Duration::from_secs(30)).await;
        let b = f.spawn("b", common);
        let b_executor = b.executor;
        a.kill9();
        wait_count(&f.pool, c.completed(), 40, Duration::from_secs(60)).await;
        let (report, _) = b.stop();
        assert_eq!(c.actions().await, 40, "every occurrence acted on");
        assert_eq!(c.violations().await, 0, "no occurrence acted on twice");
        assert_eq!(c.completed_without_one_action().await, 0);
        assert_eq!(report["rescued"], 40, "{report:?}");
        assert_eq!(report["stopped"], 40, "{report:?}");
        let by_b = scalar(
            &f.pool,
            format!(
                "select count(*) from {}.workspace_lifecycle_job where attempt = 2 \
                 and claimed_by = '{b_executor}'",
                f.s
            ),
        )
        .await;
        assert_eq!(by_b, 40, "each job's second attempt, by the survivor");
    });
}

/// SIGSTOP past the lease, then SIGCONT: the stale executor, paused inside its re-read
/// of each workspace, wakes to find every job taken over (10 completed, 10 cancelled
/// because their workspaces were deleted meanwhile). It cannot complete, cancel or log
/// into any of them: the tables are exactly as the new executor left them.
#[test]
fn postgres_faults_a_paused_executor_cannot_write_into_jobs_taken_over() {
    rt().block_on(async {
        let Some(f) = Fixture::new(&running_fleet(20, soon(300), Duration::ZERO)).await else {
            return;
        };
        let c = f.counts();
        let common = "--lease 1000 --tick 500 --poll 300 --concurrency 64";
        let a = f.spawn("a", &format!("{common} --hold-get 4000"));
        wait_count(&f.pool, c.running(a.executor), 20, Duration::from_secs(30)).await;
        a.signal("STOP");
        sqlx::query(AssertSqlSafe(format!(
            "delete from {}.fleet where id < '00000000-0000-0000-0000-00000000000a'",
            f.s
        )))
        .execute(&f.pool)
        .await
        .unwrap();
        let b = f.spawn("b", common);
        wait_count(&f.pool, c.finished(), 20, Duration::from_secs(60)).await;
        let (report_b, _) = b.stop();
        assert_eq!(report_b["stopped"], 10, "{report_b:?}");
        assert_eq!(report_b["cancelled"], 10, "{report_b:?}");
        let before = c.snapshot().await;

        a.signal("CONT");
        // Its holds end at once; give it time to try every write it would make.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (report_a, _) = a.stop();
        assert_eq!(report_a["lease_lost"], 20, "{report_a:?}");
        assert_eq!(
            report_a["stopped"] + report_a["cancelled"],
            0,
            "{report_a:?}"
        );
        assert_eq!(
            c.snapshot().await,
            before,
            "the stale executor changed a row"
        );
        assert_eq!(c.actions().await, 10);
        assert_eq!(c.violations().await, 0);
    });
}

/// Two engines act on `n` stops falling due over 6 s while `disturb` cuts them off
/// from the database; then every occurrence must have been acted on exactly once, both
/// processes must still run, and both must be LISTENing again.
async fn two_engines_ride_out<D: std::future::Future<Output = ()>>(
    f: &Fixture,
    n: i64,
    disturb: impl FnOnce([String; 2]) -> D,
) {
    let c = f.counts();
    let args = "--lease 2000 --tick 1000 --poll 1000 --backoff 200 --attempts 50";
    let mut engines = [f.spawn("a", args), f.spawn("b", args)];
    disturb([engines[0].name.clone(), engines[1].name.clone()]).await;
    wait_count(&f.pool, c.finished(), n, Duration::from_secs(90)).await;
    for engine in &mut engines {
        assert!(engine.alive(), "{} died", engine.name);
    }
    assert_eq!(c.actions().await, n, "every occurrence acted on");
    assert_eq!(c.violations().await, 0, "none acted on twice");
    assert_eq!(c.completed_without_one_action().await, 0);
    for engine in &engines {
        c.listening(engine).await;
    }
    for engine in engines {
        engine.stop();
    }
}

/// The database kills the engines' connections (LISTEN included) again and again while
/// 200 stops fall due.
#[test]
fn postgres_faults_terminated_backends_lose_and_double_nothing() {
    rt().block_on(async {
        let rows = running_fleet(200, soon(1000), Duration::from_secs(6));
        let Some(f) = Fixture::new(&rows).await else {
            return;
        };
        let pool = f.pool.clone();
        two_engines_ride_out(&f, 200, |names| async move {
            let mut terminated = 0;
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(9) {
                tokio::time::sleep(Duration::from_millis(700)).await;
                terminated += scalar(
                    &pool,
                    format!(
                        "select count(*) from (select pg_terminate_backend(pid) from \
                         pg_stat_activity where application_name in ('wl-{}', 'wl-{}')) t",
                        names[0], names[1]
                    ),
                )
                .await;
            }
            assert!(terminated >= 10, "only {terminated} backends terminated");
        })
        .await;
    });
}

struct PrivateServer {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl PrivateServer {
    fn bindir() -> Option<PathBuf> {
        let from_config = Command::new("pg_config")
            .arg("--bindir")
            .output()
            .ok()
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            .filter(|p| p.join("initdb").exists());
        from_config.or_else(|| {
            let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
                .ok()?
                .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                .filter(|p| p.join("initdb").exists())
                .collect();
            dirs.sort();
            dirs.pop()
        })
    }

    /// A server tool, run as `postgres` when we are root (initdb refuses root).
    fn tool(&self, tool: &str, args: &[&str]) -> Command {
        let tool = self.bin.join(tool);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(tool);
            c
        } else {
            Command::new(tool)
        };
        command.args(args).stdout(Stdio::null());
        command
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let status = self
            .tool(tool, args)
            .status()
            .expect("a Postgres tool runs");
        assert!(status.success(), "{tool} {args:?} failed");
    }

    fn start() -> Option<PrivateServer> {
        let Some(bin) = Self::bindir() else {
            assert!(
                !pg::required(),
                "Postgres server binaries (initdb, pg_ctl) are required but not installed"
            );
            eprintln!("SKIPPED: no initdb found; scripts/postgres.sh installs PostgreSQL");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!("wl-pg-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        // initdb refuses to run as root: run the server tools as `postgres` then.
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown runs");
            assert!(status.success());
        }
        let server = PrivateServer {
            bin,
            dir,
            port,
            as_postgres,
        };
        let data = server.dir.join("data");
        let data = data.to_str().expect("utf-8 path");
        server.run("initdb", &["-D", data, "-A", "trust", "-U", "postgres"]);
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            server.dir.display()
        );
        let log = server.dir.join("log");
        server.run(
            "pg_ctl",
            &[
                "-D",
                data,
                "-o",
                &options,
                "-l",
                log.to_str().expect("utf-8"),
                "-w",
                "start",
            ],
        );
        Some(server)
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn restart(&self) {
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "fast", "-w", "restart"],
        );
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .tool("pg_ctl", &["-D", &data, "-m", "immediate", "stop"])
            .status();
        let _ = std::fs::remove_dir_all(Path::new(&self.dir));
    }
}

/// The whole server restarts (a private one) while 100 stops fall due.
#[test]
fn postgres_faults_server_restart_loses_and_doubles_nothing() {
    let Some(server) = PrivateServer::start() else {
        return;
    };
    rt().block_on(async {
        let url = server.url();
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect(&url)
            .await
            .expect("the private server is up");
        let f = Fixture {
            _db: None,
            url,
            s: "wl_restart".into(),
            pool,
        };
        let store = PgStore::with_schema(f.pool.clone(), &f.s).unwrap();
        store.migrate().await.unwrap();
        f.fill(&running_fleet(100, soon(1000), Duration::from_secs(6)))
            .await;
        two_engines_ride_out(&f, 100, |_| async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            server.restart();
        })
        .await;
    });
}

/// A stop call that never returns: it times out per `--timeout`, the lease is renewed
/// meanwhile, the job is retried and then failed as `--attempts` says, and a shutdown
/// with another call hanging takes the grace period, not forever.
#[test]
fn postgres_faults_a_hanging_adapter_times_out_and_does_not_block_shutdown() {
    rt().block_on(async {
        let hung = |id: u128| FleetRow {
            fault: Some("hang"),
            ..FleetRow::stop_at(id, soon(200))
        };
        let Some(f) = Fixture::new(&[hung(1)]).await else {
            return;
        };
        let s = &f.s;
        let a = f.spawn(
            "a",
            "--lease 1000 --timeout 3000 --attempts 2 --backoff 200 --grace 1000 \
             --tick 300 --poll 300",
        );
        // Watch the first attempt's lease while the call hangs.
        let mut leases = std::collections::BTreeSet::new();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(3) {
            let row = sqlx::query(AssertSqlSafe(format!(
                "select lease_expires_at from {s}.workspace_lifecycle_job where attempt = 1 \
                 and started_at is not null and completed_at is null"
            )))
            .fetch_optional(&f.pool)
            .await
            .unwrap();
            if let Some(lease) = row.and_then(|r| r.get::<Option<DateTime<Utc>>, _>(0)) {
                leases.insert(lease);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(leases.len() >= 3, "the lease was not renewed: {leases:?}");
        wait_count(
            &f.pool,
            format!(
                "select count(*) from {s}.workspace_lifecycle_job where completed_at is not null \
                 and attempt = 2 and failed_attempts = 2 and error like '%timed out%'"
            ),
            1,
            Duration::from_secs(30),
        )
        .await;

        // Another hanging call in flight, then shutdown.
        fleet::insert(&f.pool, s, &[hung(2)]).await.unwrap();
        wait_count(
            &f.pool,
            format!(
                "select count(*) from {s}.workspace_lifecycle_job where workspace_id = \
                 '00000000-0000-0000-0000-000000000002' and started_at is not null \
                 and completed_at is null"
            ),
            1,
            Duration::from_secs(30),
        )
        .await;
        let (report, took) = a.stop();
        assert!(
            took < Duration::from_secs(10),
            "shutdown took {took:?} with a 1 s grace period"
        );
        assert_eq!(report["failed"], 1, "{report:?}");
        assert_eq!(report["retried"], 1, "{report:?}");
        assert_eq!(f.counts().actions().await, 0);
    });
}

/// An adapter that panics: the job records the panic as its error and the engine goes
/// on to act on the next workspace.
#[test]
fn postgres_faults_a_panicking_adapter_is_a_job_error_and_the_engine_carries_on() {
    rt().block_on(async {
        let panics = FleetRow {
            fault: Some("panic"),
            ..FleetRow::stop_at(1, soon(200))
        };
        let Some(f) = Fixture::new(&[panics, FleetRow::stop_at(2, soon(2500))]).await else {
            return;
        };
        let (c, s) = (f.counts(), &f.s);
        let mut a = f.spawn("a", "--attempts 2 --backoff 200 --tick 300 --poll 300");
        wait_count(&f.pool, c.completed(), 2, Duration::from_secs(30)).await;
        assert!(a.alive());
        let error: String = sqlx::query(AssertSqlSafe(format!(
            "select error from {s}.workspace_lifecycle_job where workspace_id = \
             '00000000-0000-0000-0000-000000000001'"
        )))
        .fetch_one(&f.pool)
        .await
        .unwrap()
        .get(0);
        assert!(error.contains("panicked: injected panic"), "{error}");
        let logged = scalar(
            &f.pool,
            format!(
                "select count(*) from {s}.workspace_lifecycle_job_logs \
                 where level = 'error' and output like '%injected panic%'"
            ),
        )
        .await;
        assert!(logged >= 1, "the panic is in the job's log");
        assert_eq!(c.actions().await, 1, "the healthy workspace was stopped");
        let (report, _) = a.stop();
        assert_eq!(report["stopped"], 1, "{report:?}");
        assert_eq!(report["failed"], 1, "{report:?}");
    });
}

/// Shutdown with 100 actions in flight (the adapter takes 2 s each, the grace period
/// is 10 s) and 50 more due: no new claim after the token, the 100 finish, the 50 stay
/// pending and untouched, every completed job has its one action.
#[test]
fn postgres_faults_graceful_shutdown_under_load_finishes_in_flight_and_claims_nothing() {
    rt().block_on(async {
        let Some(f) = Fixture::new(&running_fleet(150, soon(300), Duration::ZERO)).await else {
            return;
        };
        let c = f.counts();
        let a = f.spawn(
            "a",
            "--concurrency 100 --hold-before 2000 --grace 10000 --lease 5000 --tick 300 \
             --poll 300 --connections 20",
        );
        wait_count(&f.pool, c.running(a.executor), 100, Duration::from_secs(30)).await;
        let (report, took) = a.stop();
        assert!(took < Duration::from_secs(15), "shutdown took {took:?}");
        assert_eq!(report["claimed"], 100, "{report:?}");
        assert_eq!(report["stopped"], 100, "{report:?}");
        assert_eq!(scalar(&f.pool, c.completed()).await, 100);
        let untouched = scalar(
            &f.pool,
            format!(
                "select count(*) from {}.workspace_lifecycle_job where attempt = 0 \
                 and started_at is null and completed_at is null and cancelled_at is null",
                f.s
            ),
        )
        .await;
        assert_eq!(untouched, 50, "no claim after shutdown");
        assert_eq!(c.completed_without_one_action().await, 0);
        assert_eq!(c.actions().await, 100);
    });
}

/// Shutdown with 100 actions in flight that outlast the grace period: the process exits
/// after the grace, leaving the jobs running under its expiring lease with nothing
/// half-written; a second process then finishes all of them, each exactly once.
#[test]
fn postgres_faults_shutdown_past_grace_leaves_jobs_to_lease_expiry() {
    rt().block_on(async {
        let Some(f) = Fixture::new(&running_fleet(100, soon(300), Duration::ZERO)).await else {
            return;
        };
        let c = f.counts();
        let common = "--lease 2000 --tick 300 --poll 300 --concurrency 100";
        let a = f.spawn("a", &format!("{common} --hold-before 600000 --grace 1000"));
        let a_executor = a.executor;
        wait_count(&f.pool, c.running(a_executor), 100, Duration::from_secs(30)).await;
        let (report, took) = a.stop();
        assert!(took < Duration::from_secs(10), "shutdown took {took:?}");
        assert_eq!(report["stopped"], 0, "{report:?}");
        assert_eq!(
            scalar(&f.pool, c.running(a_executor)).await,
            100,
            "left running"
        );
        assert_eq!(c.actions().await, 0, "nothing half-done");
        let b = f.spawn("b", common);
        wait_count(&f.pool, c.completed(), 100, Duration::from_secs(60)).await;
        let (report, _) = b.stop();
        assert_eq!(report["rescued"], 100, "{report:?}");
        assert_eq!(c.completed_without_one_action().await, 0);
        assert_eq!(c.actions().await, 100);
        assert_eq!(c.violations().await, 0);
    });
}
