//! The benchmark: one command, one table (docs/performance.md).
//!
//! ```text
//! DATABASE_URL=$(scripts/postgres.sh) cargo bench --bench bench
//! cargo bench --bench bench -- --quick      # smaller sizes, a smoke run
//! ```
//!
//! Every Postgres figure is printed beside a baseline measured in the same run on the
//! same database: a minimal loop of the raw claim-and-complete SQL on an equivalent
//! table. Figures are printed, never asserted: these machines are noisy.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use parking_lot::Mutex;
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use workspace_lifecycle::testkit::Tracked;
use workspace_lifecycle::{
    async_trait, Config, InMemoryStore, JobInsertParams, JobStore, LifecycleEngine, LogLine,
    NewJob, Operation, PgStore, SystemClock, Workspace, WorkspaceError, WorkspaceId,
    WorkspaceState, Workspaces,
};

/// A fleet that answers from memory and does nothing on start/stop but note when it
/// was called, relative to the workspace's deadline.
#[derive(Clone, Default)]
struct Fleet {
    workspaces: Arc<Vec<Workspace>>,
    by_id: Arc<HashMap<WorkspaceId, usize>>,
    lateness_ms: Arc<Mutex<Vec<f64>>>,
    calls: Arc<AtomicUsize>,
}

impl Fleet {
    fn new(workspaces: Vec<Workspace>) -> Self {
        // Times as a store keeps them, so pre-inserted jobs match their workspaces.
        let mut workspaces: Vec<Workspace> = workspaces
            .into_iter()
            .map(Workspace::at_store_precision)
            .collect();
        workspaces.sort_by_key(|w| w.id);
        let by_id = workspaces
            .iter()
            .enumerate()
            .map(|(i, w)| (w.id, i))
            .collect();
        Fleet {
            workspaces: Arc::new(workspaces),
            by_id: Arc::new(by_id),
            ..Fleet::default()
        }
    }

    /// `n` running workspaces to stop at `at`.
    fn stopping(n: usize, at: impl Fn(usize) -> DateTime<Utc>) -> Self {
        Fleet::new(
            (0..n)
                .map(|i| Workspace {
                    auto_stop_at: Some(at(i)),
                    ..Workspace::new(
                        WorkspaceId(Uuid::from_u128(i as u128 + 1)),
                        WorkspaceState::Running,
                    )
                })
                .collect(),
        )
    }

    fn record(&self, id: WorkspaceId, op: Operation) {
        let Some(ws) = self.by_id.get(&id).map(|&i| &self.workspaces[i]) else {
            return;
        };
        if let Some(at) = ws.scheduled_at(op) {
            let late = (Utc::now() - at).num_microseconds().unwrap_or(0) as f64 / 1000.0;
            self.lateness_ms.lock().push(late);
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    fn new_jobs(&self, op: Operation) -> Vec<NewJob> {
        self.workspaces
            .iter()
            .filter_map(|w| {
                Some(NewJob {
                    workspace_id: w.id,
                    operation: op,
                    deadline: w.scheduled_at(op)?,
                    run_at: None,
                    log: Some(LogLine::info("scheduled")),
                })
            })
            .collect()
    }
}

#[async_trait]
impl Workspaces for Fleet {
    async fn list(
        &self,
        after: Option<WorkspaceId>,
        limit: usize,
    ) -> Result<Vec<Workspace>, WorkspaceError> {
        let start = match after {
            None => 0,
            Some(a) => self.workspaces.partition_point(|w| w.id <= a),
        };
        let end = (start + limit).min(self.workspaces.len());
        Ok(self.workspaces[start..end].to_vec())
    }

    async fn get(&self, id: WorkspaceId) -> Result<Option<Workspace>, WorkspaceError> {
        Ok(self.by_id.get(&id).map(|&i| self.workspaces[i].clone()))
    }

    async fn start(&self, id: WorkspaceId) -> Result<(), WorkspaceError> {
        self.record(id, Operation::Start);
        Ok(())
    }

    async fn stop(&self, id: WorkspaceId) -> Result<(), WorkspaceError> {
        self.record(id, Operation::Stop);
        Ok(())
    }
}

struct Pg {
    url: String,
    next: AtomicUsize,
}

impl Pg {
    async fn pool(&self, connections: u32) -> PgPool {
        PgPoolOptions::new()
            .max_connections(connections)
            .connect(&self.url)
            .await
            .expect("Postgres is reachable")
    }

    /// A freshly migrated store in a schema of its own.
    async fn store(&self, connections: u32) -> PgStore {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let schema = format!("wl_bench_{}_{n}", std::process::id());
        let pool = self.pool(connections).await;
        sqlx::raw_sql(AssertSqlSafe(format!(
            "drop schema if exists {schema} cascade"
        )))
        .execute(&pool)
        .await
        .expect("drop");
        let store = PgStore::with_schema(pool, &schema).expect("schema name");
        store.migrate().await.expect("migrate");
        store
    }

    async fn drop_schema(&self, store: &PgStore) {
        let sql = format!("drop schema if exists {} cascade", store.schema());
        let _ = sqlx::raw_sql(AssertSqlSafe(sql))
            .execute(store.pool())
            .await;
    }
}

async fn insert_all<S: JobStore>(store: &S, jobs: Vec<NewJob>) {
    try_insert_all(store, &jobs, 5000).await.expect("insert");
}

/// Inserts `jobs` in batches of `batch`.
async fn try_insert_all<S: JobStore>(
    store: &S,
    jobs: &[NewJob],
    batch: usize,
) -> Result<(), workspace_lifecycle::StoreError> {
    let now = Utc::now();
    for chunk in jobs.chunks(batch) {
        store
            .job_insert(JobInsertParams {
                jobs: chunk.to_vec(),
                now,
            })
            .await?;
    }
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

/// The raw baseline: claim `batch` due jobs with the `for update skip locked` CTE and
/// complete them, in one loop on one connection, until none is left. Jobs/s.
async fn raw_loop(pg: &Pg, jobs: usize, batch: i64) -> f64 {
    let store = pg.store(2).await;
    let fleet = Fleet::stopping(jobs, |_| Utc::now() - TimeDelta::seconds(1));
    insert_all(&store, fleet.new_jobs(Operation::Stop)).await;
    let t = format!("{}.workspace_lifecycle_job", store.schema());
    let claim = format!(
        "with c as materialized (select id from {t} where started_at is null \
         and completed_at is null and cancelled_at is null and run_at <= $1 \
         order by run_at, id limit $2 for update skip locked) \
         update {t} j set started_at = $1, updated_at = $1, attempt = j.attempt + 1, \
         lease_expires_at = $3, claimed_by = $4 from c where j.id = c.id returning j.id, j.attempt"
    );
    let complete = format!(
        "update {t} j set completed_at = $1, updated_at = $1, lease_expires_at = null \
         from unnest($2::uuid[], $3::int4[]) as d(id, attempt) \
         where j.id = d.id and j.attempt = d.attempt and j.completed_at is null"
    );
    let executor = Uuid::new_v4();
    let mut conn = store.pool().acquire().await.expect("connection");
    let started = Instant::now();
    let mut done = 0;
    loop {
        let now = Utc::now();
        let rows: Vec<(Uuid, i32)> = sqlx::query_as(AssertSqlSafe(claim.clone()))
            .bind(now)
            .bind(batch)
            .bind(now + TimeDelta::seconds(60))
            .bind(executor)
            .fetch_all(&mut *conn)
            .await
            .expect("claim");
        if rows.is_empty() {
            break;
        }
        let (ids, attempts): (Vec<Uuid>, Vec<i32>) = rows.into_iter().unzip();
        done += ids.len();
        sqlx::query(AssertSqlSafe(complete.clone()))
            .bind(Utc::now())
            .bind(ids)
            .bind(attempts)
            .execute(&mut *conn)
            .await
            .expect("complete");
    }
    let rate = done as f64 / started.elapsed().as_secs_f64();
    drop(conn);
    pg.drop_schema(&store).await;
    rate
}

/// The engine draining `jobs` due jobs with `execute_due`. Jobs/s.
async fn engine_drain(pg: &Pg, jobs: usize, config: Config) -> f64 {
    let store = pg.store(10).await;
    let fleet = Fleet::stopping(jobs, |_| Utc::now() - TimeDelta::seconds(1));
    insert_all(&store, fleet.new_jobs(Operation::Stop)).await;
    let counted = Tracked::new(store.clone());
    let engine = LifecycleEngine::new(counted.clone(), SystemClock::new(), fleet.clone(), config)
        .expect("config");
    let started = Instant::now();
    let report = engine.execute_due().await.expect("drain");
    let rate = report.stopped as f64 / started.elapsed().as_secs_f64();
    if std::env::var_os("BENCH_TIMINGS").is_some() {
        for (method, times) in counted.timings() {
            let (calls, total) = (times.calls, times.total);
            let each = total.as_secs_f64() * 1000.0 / calls as f64;
            eprintln!("  {method}: {calls} calls, {each:.2} ms each");
        }
    }
    assert_eq!(report.stopped, jobs, "{report:?}");
    pg.drop_schema(&store).await;
    rate
}

/// `jobs` start jobs due at one instant, `engines` engines running: seconds from the
/// deadline until the last action started, and the lateness percentiles in ms.
async fn wave(pg: &Pg, jobs: usize, engines: usize) -> (f64, f64, f64) {
    let first = pg.store(10).await;
    let deadline = Utc::now() + TimeDelta::seconds(3);
    let fleet = Fleet::new(
        (0..jobs)
            .map(|i| Workspace {
                auto_start_at: Some(deadline),
                ..Workspace::new(
                    WorkspaceId(Uuid::from_u128(i as u128 + 1)),
                    WorkspaceState::Stopped,
                )
            })
            .collect(),
    );
    insert_all(&first, fleet.new_jobs(Operation::Start)).await;
    let shutdown = CancellationToken::new();
    let mut runs = Vec::new();
    for _ in 0..engines {
        let store = PgStore::with_schema(pg.pool(10).await, first.schema()).expect("schema");
        let engine =
            LifecycleEngine::new(store, SystemClock::new(), fleet.clone(), Config::default())
                .expect("config");
        let token = shutdown.clone();
        runs.push(tokio::spawn(async move { engine.run(token).await }));
    }
    while fleet.calls.load(Ordering::Relaxed) < jobs {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    shutdown.cancel();
    for run in runs {
        let _ = run.await;
    }
    let late = sorted(fleet.lateness_ms.lock().clone());
    pg.drop_schema(&first).await;
    (
        percentile(&late, 1.0) / 1000.0,
        percentile(&late, 0.5),
        percentile(&late, 0.99),
    )
}

/// One idle engine, `n` jobs due 20 ms apart: lateness p50, p99, max in ms.
async fn idle_lateness<S: JobStore>(store: S, n: usize) -> (f64, f64, f64) {
    let base = Utc::now() + TimeDelta::milliseconds(1500);
    let fleet = Fleet::stopping(n, |i| base + TimeDelta::milliseconds(20 * i as i64));
    let engine = LifecycleEngine::new(store, SystemClock::new(), fleet.clone(), Config::default())
        .expect("config");
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    let run = tokio::spawn(async move { engine.run(token).await });
    while fleet.calls.load(Ordering::Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shutdown.cancel();
    let _ = run.await;
    let late = sorted(fleet.lateness_ms.lock().clone());
    (
        percentile(&late, 0.5),
        percentile(&late, 0.99),
        percentile(&late, 1.0),
    )
}

/// A full scheduler pass over `n` workspaces: the first (creating `n` jobs) and the
/// next (nothing to change), in ms, with the store round trips of each.
async fn reconcile<S: JobStore>(store: S, n: usize) -> [(f64, usize); 2] {
    let store = Arc::new(Tracked::new(store));
    let counted = store.clone();
    let fleet = Fleet::stopping(n, |_| Utc::now() + TimeDelta::hours(8));
    let engine =
        LifecycleEngine::new(store, SystemClock::new(), fleet, Config::default()).expect("config");
    let mut out = [(0.0, 0); 2];
    for slot in &mut out {
        let before = counted.calls();
        let started = Instant::now();
        engine.reconcile_all().await.expect("pass");
        *slot = (
            started.elapsed().as_secs_f64() * 1000.0,
            counted.calls() - before,
        );
    }
    out
}

fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// The line the scheduler writes when it creates a job (src/engine/scheduler.rs), so
/// the memory figure is for the text users' jobs carry, not a short stand-in.
fn creation_line(ws: &Workspace, op: Operation, at: DateTime<Utc>) -> LogLine {
    LogLine::info(format!(
        "scheduled: the workspace is {} with auto-{op} at {}",
        ws.state,
        at.to_rfc3339()
    ))
}

/// Resident bytes per open job in `InMemoryStore` holding `n` pending jobs, with or
/// without each job's creation log line, and the first job's line. Returns the store
/// too, so a second measurement cannot reuse its memory.
async fn memory_per_job(n: usize, log: bool) -> Option<(f64, Option<LogLine>, InMemoryStore)> {
    let fleet = Fleet::stopping(n, |_| Utc::now() + TimeDelta::hours(8));
    let op = Operation::Stop;
    let jobs: Vec<NewJob> = fleet
        .workspaces
        .iter()
        .filter_map(|w| {
            let deadline = w.scheduled_at(op)?;
            Some(NewJob {
                workspace_id: w.id,
                operation: op,
                deadline,
                run_at: None,
                log: log.then(|| creation_line(w, op, deadline)),
            })
        })
        .collect();
    drop(fleet);
    let example = jobs.first().and_then(|j| j.log.clone());
    let before = resident_bytes()?;
    let store = InMemoryStore::new();
    try_insert_all(&store, &jobs, 10_000).await.ok()?;
    // Measured while the input is still held, so freeing it cannot hide the store.
    let after = resident_bytes()?;
    drop(jobs);
    Some((
        after.saturating_sub(before) as f64 / n as f64,
        example,
        store,
    ))
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let scale = |full: usize, small: usize| if quick { small } else { full };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let pg = Pg {
        url,
        next: AtomicUsize::new(0),
    };
    runtime.block_on(async {
        let version: String = sqlx::query_scalar("select version()")
            .fetch_one(&pg.pool(1).await)
            .await
            .expect("Postgres is reachable (set DATABASE_URL, or run scripts/postgres.sh)");
        println!("# workspace-lifecycle benchmark");
        println!("date: {}", Utc::now().format("%Y-%m-%d %H:%M UTC"));
        println!(
            "machine: {} cores; {}",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            version.split(',').next().unwrap_or(&version)
        );
        println!();

        let jobs = scale(20_000, 2_000);
        println!("## 1. Executor throughput on Postgres: {jobs} due jobs, no-op adapter");
        println!("| run | jobs/s | baseline jobs/s | engine/baseline |");
        println!("|---|---:|---:|---:|");
        let raw1 = raw_loop(&pg, scale(5_000, 500), 1).await;
        let raw16 = raw_loop(&pg, jobs, 16).await;
        let raw64 = raw_loop(&pg, jobs, 64).await;
        println!("| raw SQL, batch 1 | {raw1:.0} | | |");
        println!("| raw SQL, batch 16 | {raw16:.0} | | |");
        println!("| raw SQL, batch 64 | {raw64:.0} | | |");
        let default = Config::default().max_concurrent_actions;
        for (concurrency, logs) in [
            (default, true),
            (default, false),
            (64, true),
            (64, false),
            (256, true),
        ] {
            let config = Config {
                max_concurrent_actions: concurrency,
                job_logs: logs,
                ..Config::default()
            };
            let rate = engine_drain(&pg, jobs, config).await;
            // Logs off is held to the raw loop at the same batch size; logs on, to the
            // raw batch of 64.
            let (base, name) = match (logs, concurrency) {
                (false, 16) => (raw16, "raw 16"),
                _ => (raw64, "raw 64"),
            };
            let label = format!(
                "engine, {}{concurrency} concurrent, logs {}",
                if concurrency == default { "defaults: " } else { "" },
                if logs { "on" } else { "off" }
            );
            println!("| {label} | {rate:.0} | {base:.0} ({name}) | {:.2} |", rate / base);
        }
        println!();

        let wave_jobs = scale(10_000, 1_000);
        println!("## 2. The 09:00 wave: {wave_jobs} start jobs due at one instant, Postgres, defaults");
        println!("| engines | last action after deadline | lateness p50 | lateness p99 |");
        println!("|---:|---:|---:|---:|");
        for engines in [1, 4] {
            let (last, p50, p99) = wave(&pg, wave_jobs, engines).await;
            println!("| {engines} | {last:.2} s | {p50:.0} ms | {p99:.0} ms |");
        }
        println!();

        let n = scale(200, 50);
        println!("## 3. Lateness when idle: {n} jobs due 20 ms apart, one engine, defaults");
        println!("| store | p50 | p99 | max |");
        println!("|---|---:|---:|---:|");
        let (p50, p99, max) = idle_lateness(InMemoryStore::new(), n).await;
        println!("| InMemoryStore | {p50:.2} ms | {p99:.2} ms | {max:.2} ms |");
        let store = pg.store(10).await;
        let (p50, p99, max) = idle_lateness(store.clone(), n).await;
        pg.drop_schema(&store).await;
        println!("| PgStore | {p50:.2} ms | {p99:.2} ms | {max:.2} ms |");
        println!();

        println!("## 4. Reconcile: one full scheduler pass, in-memory adapter, defaults (page 500)");
        println!("| store | workspaces | first pass (creates jobs) | round trips | next pass (no change) | round trips |");
        println!("|---|---:|---:|---:|---:|---:|");
        for n in [scale(10_000, 1_000), scale(100_000, 10_000)] {
            let [(a, ar), (b, br)] = reconcile(InMemoryStore::new(), n).await;
            println!("| InMemoryStore | {n} | {a:.1} ms | {ar} | {b:.1} ms | {br} |");
            let store = pg.store(10).await;
            let [(a, ar), (b, br)] = reconcile(store.clone(), n).await;
            pg.drop_schema(&store).await;
            println!("| PgStore | {n} | {a:.0} ms | {ar} | {b:.0} ms | {br} |");
        }
        println!();

        let n = scale(1_000_000, 100_000);
        println!("## 5. Memory: InMemoryStore with {n} open jobs");
        let mut kept = Vec::new();
        let mut line = None;
        for (log, label) in [(false, "without log lines"), (true, "with its creation log line")] {
            match memory_per_job(n, log).await {
                Some((bytes, example, store)) => {
                    println!("resident bytes per open job, {label}: {bytes:.0}");
                    line = line.or(example);
                    kept.push(store);
                }
                None => println!("resident bytes per open job: unavailable (no /proc/self/statm)"),
            }
        }
        drop(kept);
        if let Some(line) = line {
            println!(
                "creation log line, as the scheduler writes it ({} bytes): {}",
                line.output().len(),
                line.output()
            );
        }
    });
}
