//! [`PgStore`]: the job table in PostgreSQL (13 or later), behind the same contract as
//! [`InMemoryStore`](crate::InMemoryStore).
//!
//! - All tables, types and the notification function live in one schema of the
//!   store's own (default `workspace_lifecycle`), so the seed's names (`log_level`
//!   among them) never collide with the host application's. [`PgStore::migrate`]
//!   creates or upgrades it, tracked in `<schema>.schema_migrations`, apart from
//!   sqlx's `_sqlx_migrations`.
//! - Claims are one statement: `for update skip locked` over the pending jobs' index.
//!   Every time-dependent predicate takes the engine's `now` as a bind parameter.
//! - Batch operations (insert, cancel, reschedule, open jobs of a page) are one round
//!   trip each.
//! - Other processes' changes arrive as `NOTIFY <schema>_jobs`, turned into
//!   [`JobStore::job_changes`] by a listener task that reconnects by itself.
//!
//! ```no_run
//! use workspace_lifecycle::PgStore;
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = sqlx::PgPool::connect(&std::env::var("DATABASE_URL")?).await?;
//! let store = PgStore::new(pool);
//! store.migrate().await?;
//! # Ok(()) }
//! ```

mod migrate;
mod sql;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use sqlx::postgres::{PgListener, PgPool, PgRow};
use sqlx::{AssertSqlSafe, Row};
use tokio::sync::watch;
use tokio::task::AbortHandle;
use uuid::Uuid;

use super::{check_times, JobRow};
use super::{
    JobCancelParams, JobClaimParams, JobCompleteParams, JobInsertParams, JobListParams,
    JobLogInsertParams, JobPruneParams, JobRenewLeaseParams, JobRescheduleParams, JobRetryParams,
    JobStats, JobStatsParams, JobStore, Rescheduled, WorkspaceRange,
};
use crate::clock::add;
use crate::error::StoreError;
use crate::job::{Job, JobId, JobLog, JobState, LogLevel, LogLine, Operation, LATEST_DEADLINE};

/// The schema [`PgStore::new`] uses.
///
/// ```
/// use workspace_lifecycle::DEFAULT_SCHEMA;
///
/// // Grants, backups and `search_path` settings name it.
/// assert_eq!(DEFAULT_SCHEMA, "workspace_lifecycle");
/// ```
pub const DEFAULT_SCHEMA: &str = "workspace_lifecycle";

/// How many times a claim is retried when two claimers picked jobs of one workspace at
/// once and the running-workspace index rejected one of them.
const CLAIM_CONFLICT_RETRIES: usize = 3;

/// The job table in PostgreSQL. Cloning is cheap and shares the pool.
///
/// ```no_run
/// use workspace_lifecycle::{
///     Config, JobStore, LifecycleEngine, PgStore, SystemClock, WorkspaceRange,
/// };
/// # use workspace_lifecycle::testkit::FakeWorkspaces as MyWorkspaces;
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// # let my_workspaces = MyWorkspaces::new(SystemClock::new());
/// let store = PgStore::new(sqlx::PgPool::connect(&std::env::var("DATABASE_URL")?).await?);
/// store.migrate().await?;
/// let engine = LifecycleEngine::new(store.clone(), SystemClock::new(), my_workspaces,
///     Config::default())?;
/// engine.reconcile_all().await?;
/// // The clone reads the table the engine (and every other replica) writes.
/// let open = store.job_list_open(WorkspaceRange::ALL).await?;
/// assert!(open.iter().all(|job| job.state().is_open()));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("schema", &self.inner.schema)
            .finish()
    }
}

struct Inner {
    pool: PgPool,
    schema: String,
    sql: Statements,
    changes: watch::Sender<u64>,
    listener: Mutex<Option<AbortHandle>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(listener) = self.listener.lock().take() {
            listener.abort();
        }
    }
}

/// The statements of `sql`, rendered for one schema.
struct Statements {
    insert: Arc<str>,
    log_insert: Arc<str>,
    claim: Arc<str>,
    reschedule: Arc<str>,
    cancel: Arc<str>,
    complete: Arc<str>,
    complete_batch: Arc<str>,
    retry: Arc<str>,
    renew: Arc<str>,
    rescue: Arc<str>,
    list_open_range: Arc<str>,
    list_open_one: Arc<str>,
    next_due: Arc<str>,
    get: Arc<str>,
    list: Arc<str>,
    log_list: Arc<str>,
    set_aside: Arc<str>,
    prune: Arc<str>,
    stats_counts: Arc<str>,
    stats_next_due: Arc<str>,
    stats_oldest_running: Arc<str>,
}

impl Statements {
    fn new(schema: &str) -> Self {
        let r = |t: &str| Arc::<str>::from(sql::render(t, schema));
        Statements {
            insert: r(sql::INSERT),
            log_insert: r(sql::LOG_INSERT),
            claim: r(sql::CLAIM),
            reschedule: r(sql::RESCHEDULE),
            cancel: r(sql::CANCEL),
            complete: r(sql::COMPLETE),
            complete_batch: r(sql::COMPLETE_BATCH),
            retry: r(sql::RETRY),
            renew: r(sql::RENEW),
            rescue: r(sql::RESCUE),
            list_open_range: r(sql::LIST_OPEN_RANGE),
            list_open_one: r(sql::LIST_OPEN_ONE),
            next_due: r(sql::NEXT_DUE),
            get: r(sql::GET),
            list: r(sql::LIST),
            log_list: r(sql::LOG_LIST),
            set_aside: r(sql::SET_ASIDE),
            prune: r(sql::PRUNE),
            stats_counts: r(sql::STATS_COUNTS),
            stats_next_due: r(sql::STATS_NEXT_DUE),
            stats_oldest_running: r(sql::STATS_OLDEST_RUNNING),
        }
    }
}

/// A statement with its schema filled in; safe because the schema is validated as a
/// plain identifier before any statement is rendered, and every value is bound.
fn q(sql: &Arc<str>) -> sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments> {
    sqlx::query(AssertSqlSafe(sql.clone()))
}

impl PgStore {
    /// A store over `pool` in the default schema, [`DEFAULT_SCHEMA`].
    ///
    /// ```
    /// use workspace_lifecycle::{PgStore, DEFAULT_SCHEMA};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// // No connection is made until the store is used.
    /// let pool = sqlx::PgPool::connect_lazy("postgres://localhost/app").unwrap();
    /// assert_eq!(PgStore::new(pool).schema(), DEFAULT_SCHEMA);
    /// # });
    /// ```
    pub fn new(pool: PgPool) -> Self {
        Self::build(pool, DEFAULT_SCHEMA.to_owned())
    }

    /// A store over `pool` in `schema`, for several independent job tables in one
    /// database (tests use one schema each).
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidData`] unless `schema` is a plain lowercase identifier:
    /// a letter or `_`, then letters, digits or `_`, at most 50 characters.
    ///
    /// ```
    /// use workspace_lifecycle::{PgStore, StoreError};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let pool = sqlx::PgPool::connect_lazy("postgres://localhost/app").unwrap();
    /// let store = PgStore::with_schema(pool.clone(), "tenant_7").unwrap();
    /// assert_eq!(store.schema(), "tenant_7");
    /// // The name goes into SQL, so anything but a plain identifier is refused.
    /// let refused = PgStore::with_schema(pool, "Tenant-7").unwrap_err();
    /// assert!(matches!(refused, StoreError::InvalidData(_)));
    /// # });
    /// ```
    pub fn with_schema(pool: PgPool, schema: &str) -> Result<Self, StoreError> {
        let valid = !schema.is_empty()
            && schema.len() <= 50
            && schema
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !schema.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            return Err(StoreError::InvalidData(format!(
                "schema name {schema:?} must be a lowercase identifier of at most 50 characters"
            )));
        }
        Ok(Self::build(pool, schema.to_owned()))
    }

    fn build(pool: PgPool, schema: String) -> Self {
        PgStore {
            inner: Arc::new(Inner {
                sql: Statements::new(&schema),
                pool,
                schema,
                changes: watch::Sender::new(0),
                listener: Mutex::new(None),
            }),
        }
    }

    /// Creates or upgrades the schema, its tables, indexes and trigger. Safe to call
    /// from every replica at start-up: concurrent calls wait for each other, and
    /// applied migrations are skipped.
    ///
    /// # Errors
    ///
    /// [`StoreError`] if the database refuses a statement.
    ///
    /// ```no_run
    /// use workspace_lifecycle::{JobId, JobStore, PgStore};
    ///
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = PgStore::new(sqlx::PgPool::connect(&std::env::var("DATABASE_URL")?).await?);
    /// store.migrate().await?;
    /// store.migrate().await?; // as a second replica starting up would: nothing to do
    /// assert_eq!(store.job_get(JobId(uuid::Uuid::nil())).await?, None);
    /// # Ok(()) }
    /// ```
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrate::run(&self.inner.pool, &self.inner.schema).await
    }

    /// The pool.
    ///
    /// ```no_run
    /// use workspace_lifecycle::PgStore;
    ///
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = PgStore::new(sqlx::PgPool::connect(&std::env::var("DATABASE_URL")?).await?);
    /// // The host's own queries can share the store's connections.
    /// let one: i32 = sqlx::query_scalar("select 1").fetch_one(store.pool()).await?;
    /// assert_eq!(one, 1);
    /// # Ok(()) }
    /// ```
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// The schema holding the job table.
    ///
    /// ```
    /// use workspace_lifecycle::PgStore;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let pool = sqlx::PgPool::connect_lazy("postgres://localhost/app").unwrap();
    /// let store = PgStore::new(pool);
    /// // Where the host's own queries find the table.
    /// let table = format!("{}.workspace_lifecycle_job", store.schema());
    /// assert_eq!(table, "workspace_lifecycle.workspace_lifecycle_job");
    /// # });
    /// ```
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// The NOTIFY channel job changes are announced on: `<schema>_jobs`.
    ///
    /// ```
    /// use workspace_lifecycle::PgStore;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let pool = sqlx::PgPool::connect_lazy("postgres://localhost/app").unwrap();
    /// let store = PgStore::with_schema(pool, "tenant_7").unwrap();
    /// assert_eq!(store.channel(), "tenant_7_jobs");
    /// # });
    /// ```
    pub fn channel(&self) -> String {
        format!("{}_jobs", self.inner.schema)
    }

    /// `EXPLAIN (ANALYZE, BUFFERS)` of the claim statement as it would run at `now`
    /// with `limit`, inside a transaction that is rolled back, so nothing is claimed.
    /// For operators checking that claims use `workspace_lifecycle_job_pending_run_at`.
    ///
    /// # Errors
    ///
    /// [`StoreError`] if the database refuses the statement.
    ///
    /// ```no_run
    /// use workspace_lifecycle::PgStore;
    ///
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = PgStore::new(sqlx::PgPool::connect(&std::env::var("DATABASE_URL")?).await?);
    /// let plan = store.explain_claim(chrono::Utc::now(), 64).await?;
    /// println!("{plan}"); // look for `Index Scan using workspace_lifecycle_job_pending_run_at`
    /// assert!(plan.contains("LockRows")); // the claim's `for update skip locked`
    /// # Ok(()) }
    /// ```
    pub async fn explain_claim(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<String, StoreError> {
        let mut tx = self.inner.pool.begin().await.map_err(db_error)?;
        let explain = Arc::<str>::from(format!(
            "explain (analyze, buffers, costs off) {}",
            self.inner.sql.claim
        ));
        let rows = q(&explain)
            .bind(now)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .bind(add(now, Duration::from_secs(60)))
            .bind(Uuid::nil())
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.rollback().await.map_err(db_error)?;
        let lines = rows
            .iter()
            .map(|row| column::<String>(row, "QUERY PLAN"))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(lines.join("\n"))
    }

    /// Runs a fenced single-job write and decodes the job it returns, or reports the
    /// lease lost when the attempt no longer held the job.
    async fn fenced_job(
        &self,
        query: sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments>,
        job: JobId,
        attempt: u32,
    ) -> Result<Job, StoreError> {
        let row = query
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(db_error)?;
        job_from_row(&held(row, job, attempt)?)
    }

    /// Cancels undecodable rows (pending ones, and running ones under their own
    /// attempt), each with its reason as the job's error and an error log line, so a
    /// row the code cannot represent neither blocks a batch nor stays due forever.
    async fn set_aside(
        &self,
        now: DateTime<Utc>,
        rows: Vec<Undecodable>,
    ) -> Result<(), StoreError> {
        for row in rows {
            tracing::error!(job_id = %row.id, reason = %row.reason, "cancelling an undecodable job row");
            let line = LogLine::error(format!(
                "cancelled: the job row cannot be decoded: {}",
                row.reason
            ));
            q(&self.inner.sql.set_aside)
                .bind(row.id)
                .bind(now)
                .bind(line.output())
                .bind(row.running.then_some(row.attempt))
                .execute(&self.inner.pool)
                .await
                .map_err(db_error)?;
        }
        Ok(())
    }

    fn start_listener(&self) {
        let mut listener = self.inner.listener.lock();
        if listener.is_some() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let pool = self.inner.pool.clone();
        let channel = self.channel();
        let changes = self.inner.changes.clone();
        let task = runtime.spawn(listen(pool, channel, changes));
        *listener = Some(task.abort_handle());
    }
}

/// Turns NOTIFYs into bumps of the change counter, forever. A bump also follows every
/// (re)connection, since notifications sent while disconnected are lost; meanwhile the
/// engine falls back to its deadline sleep and poll interval.
async fn listen(pool: PgPool, channel: String, changes: watch::Sender<u64>) {
    let bump = || changes.send_modify(|n| *n = n.wrapping_add(1));
    let mut delay = Duration::from_millis(100);
    loop {
        let connected = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(&channel).await?;
            Ok::<_, sqlx::Error>(listener)
        }
        .await;
        let mut listener = match connected {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, ?delay, "job notification listener cannot connect; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        delay = Duration::from_millis(100);
        bump();
        loop {
            match listener.try_recv().await {
                Ok(Some(_)) => bump(),
                // The connection dropped; the next call reconnects and re-listens.
                Ok(None) => {
                    tracing::debug!("job notification listener reconnecting");
                    bump();
                }
                Err(error) => {
                    tracing::warn!(%error, "job notification listener failed; reconnecting");
                    break;
                }
            }
        }
    }
}

/// Maps a driver error to the store's typed errors.
fn db_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // unique_violation, serialization_failure, deadlock_detected
            Some("23505" | "40001" | "40P01") => StoreError::Conflict(Box::new(error)),
            _ => StoreError::Backend(Box::new(error)),
        },
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => StoreError::Unavailable(Box::new(error)),
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_) => StoreError::InvalidData(error.to_string()),
        _ => StoreError::Backend(Box::new(error)),
    }
}

fn column<'r, T>(row: &'r PgRow, name: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(name).map_err(db_error)
}

/// A timestamp column read as Postgres' raw microseconds and checked (see
/// [`JobRow`]): sqlx's own chrono decoding panics on `infinity` and on years past
/// chrono's range.
fn raw_time(row: &PgRow, name: &str) -> Result<Option<i64>, StoreError> {
    row.try_get_unchecked::<Option<i64>, _>(name)
        .map_err(db_error)
}

fn required_time(row: &PgRow, name: &str) -> Result<i64, StoreError> {
    raw_time(row, name)?
        .ok_or_else(|| StoreError::InvalidData(format!("{name} is null in a job row")))
}

fn job_row(row: &PgRow) -> Result<JobRow, StoreError> {
    Ok(JobRow {
        id: column(row, "id")?,
        created_at: required_time(row, "created_at")?,
        updated_at: required_time(row, "updated_at")?,
        started_at: raw_time(row, "started_at")?,
        cancelled_at: raw_time(row, "cancelled_at")?,
        completed_at: raw_time(row, "completed_at")?,
        error: column(row, "error")?,
        workspace_id: column(row, "workspace_id")?,
        operation: column(row, "operation")?,
        deadline: required_time(row, "deadline")?,
        run_at: required_time(row, "run_at")?,
        attempt: column(row, "attempt")?,
        failed_attempts: column(row, "failed_attempts")?,
        lease_expires_at: raw_time(row, "lease_expires_at")?,
        claimed_by: column(row, "claimed_by")?,
    })
}

/// Decodes a job row; a value the code does not know (an operation, a timestamp past
/// chrono's range, a negative count) is [`StoreError::InvalidData`] naming it, never
/// a panic.
fn job_from_row(row: &PgRow) -> Result<Job, StoreError> {
    job_row(row)?.into_job()
}

/// A job row the code cannot represent, set aside so the rest of its batch goes on.
struct Undecodable {
    id: Uuid,
    attempt: i32,
    running: bool,
    reason: String,
}

/// Decodes a batch, separating the rows that hold values the code cannot represent.
/// Only a row whose id, attempt or state cannot even be read fails the batch.
fn decode_jobs(rows: &[PgRow]) -> Result<(Vec<Job>, Vec<Undecodable>), StoreError> {
    let mut jobs = Vec::with_capacity(rows.len());
    let mut bad = Vec::new();
    for row in rows {
        match job_from_row(row) {
            Ok(job) => jobs.push(job),
            Err(StoreError::InvalidData(reason)) => bad.push(Undecodable {
                id: column(row, "id")?,
                attempt: column(row, "attempt")?,
                running: raw_time(row, "started_at")?.is_some(),
                reason,
            }),
            Err(error) => return Err(error),
        }
    }
    Ok((jobs, bad))
}

/// The row a fenced write returned, or `LeaseLost` when it matched none (the attempt
/// no longer holds the job).
fn held(row: Option<PgRow>, job: JobId, attempt: u32) -> Result<PgRow, StoreError> {
    row.ok_or(StoreError::LeaseLost { job, attempt })
}

fn jobs_from_rows(rows: &[PgRow]) -> Result<Vec<Job>, StoreError> {
    rows.iter().map(job_from_row).collect()
}

/// Open rows of a page, less the undecodable ones: those are logged and skipped, so
/// one bad row never stops a scheduler pass (the claim sets a due one aside).
fn open_jobs_from_rows(rows: &[PgRow]) -> Result<Vec<Job>, StoreError> {
    let (jobs, bad) = decode_jobs(rows)?;
    for row in bad {
        tracing::warn!(job_id = %row.id, reason = %row.reason, "skipping an undecodable job row");
    }
    Ok(jobs)
}

fn level_from_str(level: &str) -> Result<LogLevel, StoreError> {
    match level {
        "debug" => Ok(LogLevel::Debug),
        "info" => Ok(LogLevel::Info),
        "warn" => Ok(LogLevel::Warn),
        "error" => Ok(LogLevel::Error),
        other => Err(StoreError::InvalidData(format!(
            "unknown log level {other:?}"
        ))),
    }
}

fn attempt_param(attempt: u32) -> Result<i32, StoreError> {
    i32::try_from(attempt).map_err(|_| {
        StoreError::InvalidData(format!("attempt {attempt} exceeds the column's range"))
    })
}

/// The parallel arrays a batch of (job, optional fencing attempt, line) binds as.
type FencedLines<'a> = (
    Vec<Uuid>,
    Vec<Option<i32>>,
    Vec<Option<&'static str>>,
    Vec<Option<&'a str>>,
);

/// The parallel arrays of (job, fencing attempt, line); a missing line binds as null
/// and the statement logs nothing for it.
fn fenced_lines<'a>(
    items: impl Iterator<Item = (JobId, Option<u32>, Option<&'a LogLine>)>,
) -> Result<FencedLines<'a>, StoreError> {
    let mut out: FencedLines<'a> = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (job, attempt, line) in items {
        out.0.push(job.0);
        out.1.push(attempt.map(attempt_param).transpose()?);
        out.2.push(line.map(|l| l.level().as_str()));
        out.3.push(line.map(LogLine::output));
    }
    Ok(out)
}

/// A batch statement taking $1 now, then the four arrays of [`fenced_lines`].
fn bind_fenced<'a>(
    sql: &Arc<str>,
    now: DateTime<Utc>,
    (ids, attempts, levels, outputs): FencedLines<'a>,
) -> sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments> {
    q(sql).bind(now).bind(ids).bind(attempts).bind(levels).bind(
        outputs
            .into_iter()
            .map(|o| o.map(str::to_owned))
            .collect::<Vec<Option<String>>>(),
    )
}

/// Optional lines as the level and output arrays of a batch statement.
fn optional_lines<'a>(
    lines: impl Iterator<Item = Option<&'a LogLine>>,
) -> (Vec<Option<&'static str>>, Vec<Option<&'a str>>) {
    lines
        .map(|l| (l.map(|l| l.level().as_str()), l.map(LogLine::output)))
        .unzip()
}

fn lines(logs: &[LogLine]) -> (Vec<&'static str>, Vec<String>) {
    logs.iter()
        .map(|l| (l.level().as_str(), l.output().to_owned()))
        .unzip()
}

fn state_name(state: JobState) -> &'static str {
    match state {
        JobState::Pending => "pending",
        JobState::Running => "running",
        JobState::Completed => "completed",
        JobState::Cancelled => "cancelled",
    }
}

#[async_trait]
impl JobStore for PgStore {
    async fn job_insert(&self, params: JobInsertParams) -> Result<Vec<Job>, StoreError> {
        check_times(params.jobs.iter().map(|j| (j.deadline, j.run_at)))?;
        // The first job per (workspace, operation) wins, as in InMemoryStore; later ones
        // in the batch would be skipped by the open-job index anyway.
        let mut seen = HashMap::new();
        let mut jobs = Vec::new();
        for job in params.jobs {
            if seen
                .insert((job.workspace_id, job.operation), jobs.len())
                .is_none()
            {
                jobs.push(job);
            }
        }
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let workspace_ids: Vec<Uuid> = jobs.iter().map(|j| j.workspace_id.0).collect();
        let operations: Vec<&str> = jobs.iter().map(|j| j.operation.as_str()).collect();
        let deadlines: Vec<DateTime<Utc>> = jobs.iter().map(|j| j.deadline).collect();
        let (levels, outputs) = optional_lines(jobs.iter().map(|j| j.log.as_ref()));
        let run_ats: Vec<Option<DateTime<Utc>>> = jobs.iter().map(|j| j.run_at).collect();
        let rows = q(&self.inner.sql.insert)
            .bind(params.now)
            .bind(workspace_ids)
            .bind(operations)
            .bind(deadlines)
            .bind(levels)
            .bind(outputs)
            .bind(run_ats)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        let mut created = jobs_from_rows(&rows)?;
        created.sort_by_key(|j| seen.get(&(j.workspace_id, j.operation)).copied());
        Ok(created)
    }

    async fn job_log_insert(&self, params: JobLogInsertParams) -> Result<usize, StoreError> {
        if params.logs.is_empty() {
            return Ok(0);
        }
        let lines = fenced_lines(
            params
                .logs
                .iter()
                .map(|l| (l.job_id, l.attempt, Some(&l.line))),
        )?;
        let done = bind_fenced(&self.inner.sql.log_insert, params.now, lines)
            .execute(&self.inner.pool)
            .await
            .map_err(db_error)?;
        Ok(usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
    }

    async fn job_claim(&self, params: JobClaimParams) -> Result<Vec<Job>, StoreError> {
        if params.limit == 0 {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(params.limit).unwrap_or(i64::MAX);
        let lease_expires_at = add(params.now, params.lease);
        let mut attempt = 0;
        loop {
            let result = q(&self.inner.sql.claim)
                .bind(params.now)
                .bind(limit)
                .bind(lease_expires_at)
                .bind(params.executor.0)
                .fetch_all(&self.inner.pool)
                .await
                .map_err(db_error);
            match result {
                Ok(rows) => {
                    let (mut jobs, bad) = decode_jobs(&rows)?;
                    self.set_aside(params.now, bad).await?;
                    jobs.sort_by_key(|j| (j.run_at, j.id));
                    return Ok(jobs);
                }
                // Two claimers took jobs of one workspace at once; the index kept one
                // of them out. The winner's job is visible to the next try.
                Err(StoreError::Conflict(_)) if attempt < CLAIM_CONFLICT_RETRIES => attempt += 1,
                Err(error) => return Err(error),
            }
        }
    }

    async fn job_reschedule(
        &self,
        params: JobRescheduleParams,
    ) -> Result<Vec<(JobId, Rescheduled)>, StoreError> {
        check_times(params.jobs.iter().map(|j| (j.deadline, j.run_at)))?;
        if params.jobs.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = params.jobs.iter().map(|j| j.id.0).collect();
        let deadlines: Vec<DateTime<Utc>> = params.jobs.iter().map(|j| j.deadline).collect();
        let (levels, outputs) = optional_lines(params.jobs.iter().map(|j| j.log.as_ref()));
        let run_ats: Vec<Option<DateTime<Utc>>> = params.jobs.iter().map(|j| j.run_at).collect();
        let rows = q(&self.inner.sql.reschedule)
            .bind(params.now)
            .bind(ids)
            .bind(deadlines)
            .bind(levels)
            .bind(outputs)
            .bind(run_ats)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let id = JobId(column(row, "id")?);
                let outcome: String = column(row, "outcome")?;
                let outcome = match outcome.as_str() {
                    "moved" => Rescheduled::Moved,
                    "taken" => Rescheduled::OccurrenceTaken,
                    _ => Rescheduled::NotPending,
                };
                Ok((id, outcome))
            })
            .collect()
    }

    async fn job_cancel(&self, params: JobCancelParams) -> Result<Vec<JobId>, StoreError> {
        if params.jobs.is_empty() {
            return Ok(Vec::new());
        }
        let lines = fenced_lines(
            params
                .jobs
                .iter()
                .map(|j| (j.id, j.attempt, j.log.as_ref())),
        )?;
        let rows = bind_fenced(&self.inner.sql.cancel, params.now, lines)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| Ok(JobId(column(row, "id")?)))
            .collect()
    }

    async fn job_complete(&self, params: JobCompleteParams) -> Result<Job, StoreError> {
        let (levels, outputs) = lines(&params.logs);
        let query = q(&self.inner.sql.complete)
            .bind(params.id.0)
            .bind(attempt_param(params.attempt)?)
            .bind(params.now)
            .bind(params.error)
            .bind(levels)
            .bind(outputs);
        self.fenced_job(query, params.id, params.attempt).await
    }

    async fn job_complete_batch(
        &self,
        params: Vec<JobCompleteParams>,
    ) -> Result<Vec<Result<Job, StoreError>>, StoreError> {
        if params.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = params.iter().map(|p| p.id.0).collect();
        let attempts = params
            .iter()
            .map(|p| attempt_param(p.attempt))
            .collect::<Result<Vec<i32>, _>>()?;
        let nows: Vec<DateTime<Utc>> = params.iter().map(|p| p.now).collect();
        let errors: Vec<Option<&str>> = params.iter().map(|p| p.error.as_deref()).collect();
        let lines = params
            .iter()
            .flat_map(|p| p.logs.iter().map(move |l| (p.id.0, l)));
        let (line_jobs, (levels, outputs)): (Vec<Uuid>, (Vec<&str>, Vec<&str>)) = lines
            .map(|(id, l)| (id, (l.level().as_str(), l.output())))
            .unzip();
        let rows = q(&self.inner.sql.complete_batch)
            .bind(ids)
            .bind(attempts)
            .bind(nows)
            .bind(errors)
            .bind(line_jobs)
            .bind(levels)
            .bind(outputs)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        let mut done: HashMap<Uuid, Result<Job, StoreError>> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let id: Uuid = column(row, "id")?;
            done.insert(id, job_from_row(row));
        }
        Ok(params
            .iter()
            .map(|p| {
                done.remove(&p.id.0).unwrap_or(Err(StoreError::LeaseLost {
                    job: p.id,
                    attempt: p.attempt,
                }))
            })
            .collect())
    }

    async fn job_retry(&self, params: JobRetryParams) -> Result<Job, StoreError> {
        let (levels, outputs) = lines(&params.logs);
        let query = q(&self.inner.sql.retry)
            .bind(params.id.0)
            .bind(attempt_param(params.attempt)?)
            .bind(params.now)
            .bind(params.run_at)
            .bind(params.error)
            .bind(levels)
            .bind(outputs);
        self.fenced_job(query, params.id, params.attempt).await
    }

    async fn job_renew_lease(
        &self,
        params: JobRenewLeaseParams,
    ) -> Result<DateTime<Utc>, StoreError> {
        let row = q(&self.inner.sql.renew)
            .bind(params.id.0)
            .bind(attempt_param(params.attempt)?)
            .bind(params.now)
            .bind(add(params.now, params.lease))
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(db_error)?;
        column(&held(row, params.id, params.attempt)?, "lease_expires_at")
    }

    async fn job_rescue(&self, now: DateTime<Utc>) -> Result<Vec<Job>, StoreError> {
        let rows = q(&self.inner.sql.rescue)
            .bind(now)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        let (mut jobs, bad) = decode_jobs(&rows)?;
        // Rescued rows are pending again: set aside as pending.
        let bad = bad
            .into_iter()
            .map(|row| Undecodable {
                running: false,
                ..row
            })
            .collect();
        self.set_aside(now, bad).await?;
        jobs.sort_by_key(|j| (j.lease_expires_at, j.id));
        Ok(jobs)
    }

    async fn job_list_open(&self, range: WorkspaceRange) -> Result<Vec<Job>, StoreError> {
        let query = match range {
            WorkspaceRange::One(id) => q(&self.inner.sql.list_open_one).bind(id.0),
            WorkspaceRange::Page { after, through } => q(&self.inner.sql.list_open_range)
                .bind(after.map(|w| w.0))
                .bind(through.map(|w| w.0)),
        };
        let rows = query.fetch_all(&self.inner.pool).await.map_err(db_error)?;
        open_jobs_from_rows(&rows)
    }

    async fn job_next_due(
        &self,
        after: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = q(&self.inner.sql.next_due)
            .bind(after)
            .bind(LATEST_DEADLINE)
            .fetch_one(&self.inner.pool)
            .await
            .map_err(db_error)?;
        column(&row, "next_due")
    }

    async fn job_get(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        let row = q(&self.inner.sql.get)
            .bind(id.0)
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn job_list(&self, params: JobListParams) -> Result<Vec<Job>, StoreError> {
        let rows = q(&self.inner.sql.list)
            .bind(params.workspace_id.map(|w| w.0))
            .bind(params.operation.map(Operation::as_str))
            .bind(params.state.map(state_name))
            .bind(params.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX)))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        jobs_from_rows(&rows)
    }

    async fn job_log_list(&self, id: JobId) -> Result<Vec<JobLog>, StoreError> {
        let rows = q(&self.inner.sql.log_list)
            .bind(id.0)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let level: String = column(row, "level")?;
                Ok(JobLog {
                    id: column(row, "id")?,
                    job_id: JobId(column(row, "job_id")?),
                    created_at: column(row, "created_at")?,
                    level: level_from_str(&level)?,
                    output: column(row, "output")?,
                })
            })
            .collect()
    }

    async fn job_prune(&self, params: JobPruneParams) -> Result<usize, StoreError> {
        let deleted = q(&self.inner.sql.prune)
            .bind(params.finished_before)
            .bind(i64::try_from(params.limit).unwrap_or(i64::MAX))
            .execute(&self.inner.pool)
            .await
            .map_err(db_error)?
            .rows_affected();
        // At most `limit` rows were deleted, and `limit` is a usize.
        Ok(usize::try_from(deleted).unwrap_or(params.limit))
    }

    async fn job_stats(&self, params: JobStatsParams) -> Result<JobStats, StoreError> {
        let counts = q(&self.inner.sql.stats_counts)
            .bind(params.now)
            .fetch_one(&self.inner.pool)
            .await
            .map_err(db_error)?;
        let count = |name: &str| -> Result<u64, StoreError> {
            let n: i64 = column(&counts, name)?;
            u64::try_from(n)
                .map_err(|_| StoreError::InvalidData(format!("count {name} is negative: {n}")))
        };
        let next_due = q(&self.inner.sql.stats_next_due)
            .bind(i64::try_from(params.next).unwrap_or(i64::MAX))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        let oldest = q(&self.inner.sql.stats_oldest_running)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        Ok(JobStats {
            pending: count("pending")?,
            running: count("running")?,
            completed: count("completed")?,
            failed: count("failed")?,
            cancelled: count("cancelled")?,
            expired_leases: count("expired_leases")?,
            next_due: open_jobs_from_rows(&next_due)?,
            oldest_running: open_jobs_from_rows(&oldest)?.into_iter().next(),
        })
    }

    /// Starts the listener on first use. Its first bump comes once it is listening
    /// (subscribe before it starts, so the first caller sees that bump).
    fn job_changes(&self) -> Option<watch::Receiver<u64>> {
        let changes = self.inner.changes.subscribe();
        self.start_listener();
        Some(changes)
    }
}
