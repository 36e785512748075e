//! Seeds a job table with 100,000 jobs and prints `EXPLAIN ANALYZE` of the claim
//! statement, to show which index it uses (docs/postgres.md quotes the output).
//!
//! ```text
//! DATABASE_URL=$(scripts/postgres.sh) cargo run --release --example explain_claim
//! ```

use chrono::{TimeDelta, Utc};
use sqlx::{AssertSqlSafe, Executor};
use workspace_lifecycle::PgStore;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")
        .map_err(|_| "set DATABASE_URL (scripts/postgres.sh prints one)")?;
    let pool = sqlx::PgPool::connect(&url).await?;
    let schema = "workspace_lifecycle_explain";
    pool.execute(AssertSqlSafe(format!(
        "drop schema if exists {schema} cascade"
    )))
    .await?;
    let store = PgStore::with_schema(pool.clone(), schema)?;
    store.migrate().await?;
    // 100,000 jobs: 90,000 pending over the next 90 days, 1,000 of them due; 5,000
    // running; 5,000 completed.
    let now = Utc::now();
    sqlx::query(AssertSqlSafe(format!(
        "insert into {schema}.workspace_lifecycle_job
             (id, created_at, updated_at, workspace_id, operation, deadline, run_at,
              started_at, completed_at, attempt, lease_expires_at)
         select gen_random_uuid(), $1, $1, gen_random_uuid(),
             (case when i % 2 = 0 then 'start' else 'stop' end)::{schema}.workspace_lifecycle_operation,
             t, t,
             case when i > 90000 then $1 end,
             case when i > 95000 then $1 end,
             case when i > 90000 then 1 else 0 end,
             case when i > 90000 and i <= 95000 then $1 + interval '1 minute' end
         from generate_series(1, 100000) as i,
             lateral (select $1::timestamptz + (case when i <= 1000 then -1 else 1 end)
                 * (i * interval '77 seconds')) as d(t)"
    )))
    .bind(now)
    .execute(&pool)
    .await?;
    pool.execute(AssertSqlSafe(format!(
        "analyze {schema}.workspace_lifecycle_job"
    )))
    .await?;
    println!("EXPLAIN ANALYZE of the claim (limit 64) on 100,000 jobs:\n");
    println!(
        "{}",
        store.explain_claim(now + TimeDelta::seconds(1), 64).await?
    );
    pool.execute(AssertSqlSafe(format!("drop schema {schema} cascade")))
        .await?;
    Ok(())
}
