#![allow(dead_code)] // each test crate uses its own subset
//! A Postgres store of its own for each test: a fresh schema, migrated, dropped when the
//! test ends (also when it fails).
//!
//! The server is `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).
//! If it cannot be reached, the test fails when `CI=true` or `WL_REQUIRE_POSTGRES=1`
//! (as `scripts/test.sh` sets), and otherwise says it skipped and returns.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, PgPool};
use workspace_lifecycle::PgStore;

/// The runtime of a Postgres test: two workers, as a service would run the engine.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var("WL_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// A schema of one test's own; dropped on drop.
pub struct TestDb {
    pub store: PgStore,
    pub schema: String,
}

impl TestDb {
    /// Another pool (as another process would have) on the same schema.
    pub async fn another_store(&self, connections: u32) -> PgStore {
        let pool = pool(connections)
            .await
            .expect("the server answered a moment ago");
        PgStore::with_schema(pool, &self.schema).expect("valid schema")
    }
}

pub async fn pool(connections: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(std::time::Duration::from_secs(30))
        .connect(&database_url())
        .await
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A migrated store in a fresh schema, or `None` (skipped) when no server is reachable
/// and none is required.
pub async fn test_db(connections: u32) -> Option<TestDb> {
    let pool = match pool(connections).await {
        Ok(pool) => pool,
        Err(error) if !required() => {
            eprintln!(
                "SKIPPED: no Postgres at {} ({error}); scripts/test.sh starts one",
                database_url()
            );
            return None;
        }
        Err(error) => panic!(
            "Postgres at {} is required (CI=true) but unreachable: {error}",
            database_url()
        ),
    };
    let schema = format!(
        "wl_test_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .get(..8)
            .unwrap_or("x")
    );
    let store = PgStore::with_schema(pool, &schema).expect("valid schema");
    store
        .migrate()
        .await
        .expect("migrations apply to a fresh schema");
    Some(TestDb { store, schema })
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop cannot await, and may run while the test's runtime is shutting down:
        // a thread with a runtime of its own does the clean-up.
        let schema = self.schema.clone();
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let pool = pool(1).await.ok()?;
                sqlx::raw_sql(AssertSqlSafe(format!(
                    "drop schema if exists {schema} cascade"
                )))
                .execute(&pool)
                .await
                .ok()
            })
        });
        let _ = cleanup.join();
    }
}
