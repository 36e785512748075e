//! The engine on PostgreSQL with the system clock, as a downstream service wires it.
//!
//! The service's own data is a small `workspaces` table (created here, in the schema
//! `workspace_lifecycle_example`); `RowWorkspaces` implements `Workspaces` over it, and
//! start/stop update the row. Half the rows start stopped with an auto-start a few
//! seconds out; the other half start running with an auto-stop. After each start the
//! service sets the next auto-stop three seconds later, as a TTL policy would. The
//! example runs until every row has been started and stopped, prints each action with
//! its lateness, and exits non-zero if any did not happen within a minute.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo run --example postgres -- --rows 6
//! ```

use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{Executor, Row};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use workspace_lifecycle::{
    async_trait, Config, LifecycleEngine, PgStore, SystemClock, Workspace, WorkspaceError,
    WorkspaceId, WorkspaceState, Workspaces,
};

/// The service's workspaces: rows of `workspace_lifecycle_example.workspaces`.
struct RowWorkspaces {
    pool: PgPool,
}

fn adapter_error(error: sqlx::Error) -> WorkspaceError {
    WorkspaceError::other(error)
}

fn workspace(row: &PgRow) -> Result<Workspace, WorkspaceError> {
    let state: String = row.try_get("state").map_err(adapter_error)?;
    let state = match state.as_str() {
        "running" => WorkspaceState::Running,
        "stopped" => WorkspaceState::Stopped,
        other => return Err(WorkspaceError::other(format!("unknown state {other:?}"))),
    };
    Ok(Workspace {
        id: WorkspaceId(row.try_get("id").map_err(adapter_error)?),
        state,
        auto_start_at: row.try_get("auto_start_at").map_err(adapter_error)?,
        auto_stop_at: row.try_get("auto_stop_at").map_err(adapter_error)?,
    })
}

#[async_trait]
impl Workspaces for RowWorkspaces {
    async fn list(
        &self,
        after: Option<WorkspaceId>,
        limit: usize,
    ) -> Result<Vec<Workspace>, WorkspaceError> {
        // Ascending ids after the cursor: the order the engine pages in.
        let rows = sqlx::query(
            "select id, state, auto_start_at, auto_stop_at from workspace_lifecycle_example.workspaces \
             where $1::uuid is null or id > $1 order by id limit $2",
        )
        .bind(after.map(|w| w.0))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(adapter_error)?;
        rows.iter().map(workspace).collect()
    }

    async fn get(&self, id: WorkspaceId) -> Result<Option<Workspace>, WorkspaceError> {
        let row = sqlx::query(
            "select id, state, auto_start_at, auto_stop_at from workspace_lifecycle_example.workspaces where id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(adapter_error)?;
        row.as_ref().map(workspace).transpose()
    }

    async fn start(&self, id: WorkspaceId) -> Result<(), WorkspaceError> {
        // Running now; the TTL policy sets the next auto-stop.
        let next_stop = Utc::now() + TimeDelta::seconds(3);
        self.transition(id, "running", Some(next_stop), "auto_start_at")
            .await
    }

    async fn stop(&self, id: WorkspaceId) -> Result<(), WorkspaceError> {
        self.transition(id, "stopped", None, "auto_stop_at").await
    }
}

impl RowWorkspaces {
    async fn transition(
        &self,
        id: WorkspaceId,
        state: &str,
        next_stop: Option<DateTime<Utc>>,
        due_column: &str,
    ) -> Result<(), WorkspaceError> {
        let row = sqlx::query(
            "update workspace_lifecycle_example.workspaces w \
             set state = $2, auto_start_at = null, auto_stop_at = $3 \
             from (select id, auto_start_at, auto_stop_at from workspace_lifecycle_example.workspaces where id = $1 for update) old \
             where w.id = old.id returning old.auto_start_at, old.auto_stop_at",
        )
        .bind(id.0)
        .bind(state)
        .bind(next_stop)
        .fetch_optional(&self.pool)
        .await
        .map_err(adapter_error)?
        .ok_or(WorkspaceError::NotFound(id))?;
        let due: Option<DateTime<Utc>> = row.try_get(due_column).map_err(adapter_error)?;
        let late = due
            .map(|d| (Utc::now() - d).num_milliseconds())
            .unwrap_or_default();
        println!(
            "  {} {id}: {state}, {late} ms after its deadline",
            Utc::now().format("%H:%M:%S%.3f")
        );
        Ok(())
    }
}

async fn setup(pool: &PgPool, rows: usize) -> Result<Vec<Uuid>, sqlx::Error> {
    pool.execute(
        "create schema if not exists workspace_lifecycle_example;
         drop table if exists workspace_lifecycle_example.workspaces;
         create table workspace_lifecycle_example.workspaces (
             id uuid primary key,
             state text not null check (state in ('running', 'stopped')),
             auto_start_at timestamptz,
             auto_stop_at timestamptz
         );",
    )
    .await?;
    let mut ids = Vec::new();
    for i in 0..rows {
        let id = Uuid::new_v4();
        let at = Utc::now() + TimeDelta::milliseconds(2000 + 300 * i as i64);
        let (state, start, stop) = if i % 2 == 0 {
            ("stopped", Some(at), None)
        } else {
            ("running", None, Some(at))
        };
        sqlx::query("insert into workspace_lifecycle_example.workspaces values ($1, $2, $3, $4)")
            .bind(id)
            .bind(state)
            .bind(start)
            .bind(stop)
            .execute(pool)
            .await?;
        ids.push(id);
    }
    Ok(ids)
}

/// Rows that are stopped with nothing scheduled: started (if they were stopped) and
/// stopped again.
async fn finished(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select count(*) from workspace_lifecycle_example.workspaces \
         where state = 'stopped' and auto_start_at is null and auto_stop_at is null",
    )
    .fetch_one(pool)
    .await
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let mut rows = 6usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rows" => rows = args.next().ok_or("--rows needs a value")?.parse()?,
            other => {
                return Err(format!("unknown argument {other}; usage: postgres [--rows N]").into())
            }
        }
    }
    let url = std::env::var("DATABASE_URL")
        .map_err(|_| "set DATABASE_URL (scripts/postgres.sh prints one)")?;
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect(&url)
        .await?;
    let ids = setup(&pool, rows).await?;

    let store = PgStore::new(pool.clone());
    store.migrate().await?;
    // Seconds, not minutes, so the demo is short; production keeps the defaults.
    let config = Config {
        tick_interval: Duration::from_secs(1),
        poll_interval: Duration::from_secs(1),
        ..Config::default()
    };
    let engine = LifecycleEngine::new(
        store,
        SystemClock::new(),
        RowWorkspaces { pool: pool.clone() },
        config,
    )?;
    let shutdown = CancellationToken::new();
    let running = tokio::spawn({
        let (engine, shutdown) = (engine.clone(), shutdown.clone());
        async move { engine.run(shutdown).await }
    });
    println!(
        "{} workspaces; the engine starts and stops them at their deadlines:",
        ids.len()
    );
    let deadline = Utc::now() + TimeDelta::seconds(60);
    let mut done = 0;
    while Utc::now() < deadline {
        done = finished(&pool).await?;
        if done == ids.len() as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    shutdown.cancel();
    let report = running.await?;
    println!(
        "done: {done} of {} workspaces started and stopped; {} starts, {} stops",
        ids.len(),
        report.execute.started,
        report.execute.stopped
    );
    Ok(done == ids.len() as i64)
}
