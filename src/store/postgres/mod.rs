//! [`PgStore`]: the job table in PostgreSQL (13 or later), behind the same contract as
//! [`InMemoryStore`](crate::InMemoryStore).
//!
//! - All tables, types and the notification function live in one schema of the
//!   store's own (default `workspace_lifecycle`), so the original design's names (`log_level`
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

mod binds;
mod decode;
mod listen;
mod migrate;
mod sql;
mod store;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use sqlx::postgres::PgPool;
use sqlx::AssertSqlSafe;
use tokio::sync::watch;
use tokio::task::AbortHandle;
use uuid::Uuid;

use crate::clock::add;
use crate::error::StoreError;
use decode::{column, db_error};

/// The schema [`PgStore::new`] uses.
///
/// ```
/// use workspace_lifecycle::DEFAULT_SCHEMA;
///
/// // Grants, backups and `search_path` settings name it.
/// assert_eq!(DEFAULT_SCHEMA, "workspace_lifecycle");
/// ```
pub const DEFAULT_SCHEMA: &str = "workspace_lifecycle";

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
    /// use workspace_lifecycle::{JobId, JobStoreAdmin, PgStore};
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

    /// Drops the store's schema and everything in it: the job and log tables, their
    /// indexes, the notification trigger and the migration ledger. A test and uninstall
    /// aid: a test that made a schema of its own removes it, an operator removing the
    /// crate from a database removes its tables. The jobs are gone for good.
    ///
    /// It takes the store, so this handle cannot be used afterwards; stop the engines
    /// on its clones first (their statements fail once the schema is gone). It waits for
    /// a replica's `migrate` in progress, and a schema that does not exist is no error.
    ///
    /// # Errors
    ///
    /// [`StoreError`] if the database refuses the statement (a role without the right
    /// to drop the schema, say).
    ///
    /// ```no_run
    /// use workspace_lifecycle::PgStore;
    ///
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = sqlx::PgPool::connect(&std::env::var("DATABASE_URL")?).await?;
    /// let store = PgStore::with_schema(pool, "test_claims_7")?;
    /// store.migrate().await?;
    /// // ... the test, on `store` and its clones ...
    /// store.drop_schema().await?;
    /// # Ok(()) }
    /// ```
    pub async fn drop_schema(self) -> Result<(), StoreError> {
        migrate::drop(&self.inner.pool, &self.inner.schema).await
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
}
