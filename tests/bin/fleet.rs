//! A fleet of test workspaces kept in Postgres, shared by the fault-test engine
//! process (`wl-fault-engine`) and the tests that drive it.
//!
//! Every start or stop the adapter performs inserts a row into `<schema>.actions`
//! keyed by (workspace, operation, occurrence), in the same transaction as the state
//! change. A second action on one occurrence cannot be inserted: it is recorded in
//! `<schema>.violations` instead and the call fails, so a test sees every double
//! action.
#![allow(dead_code)] // the binary and the tests each use their part

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgPool, Row};
use workspace_lifecycle::schedule::{auto_start_at, auto_stop_at, AutoStop, Schedule};
use workspace_lifecycle::{
    async_trait, Clock, Operation, Workspace, WorkspaceError, WorkspaceId, WorkspaceState,
    Workspaces,
};

/// The fleet's tables, in the store's schema.
pub const DDL: &str = "
create table if not exists {schema}.fleet (
    id uuid primary key,
    state text not null check (state in ('running', 'stopped', 'failed')),
    start_at timestamptz,            -- a fixed auto-start time
    stop_at timestamptz,             -- a fixed auto-stop time
    schedule text,                   -- or a cron auto-start (CRON_TZ=... m h dom mon dow)
    ttl_secs bigint,                 -- and an auto-stop this long after each start
    last_started_at timestamptz not null,
    last_stopped_at timestamptz not null,
    fault text check (fault in ('panic', 'hang'))
);
create table if not exists {schema}.actions (
    workspace_id uuid not null,
    operation text not null,
    occurrence timestamptz not null,
    executor text not null,
    acted_at timestamptz not null,
    primary key (workspace_id, operation, occurrence)
);
create table if not exists {schema}.violations (
    workspace_id uuid not null,
    operation text not null,
    occurrence timestamptz not null,
    executor text not null,
    acted_at timestamptz not null
);";

/// Creates the fleet's tables.
pub async fn setup(pool: &PgPool, schema: &str) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(AssertSqlSafe(DDL.replace("{schema}", schema)))
        .execute(pool)
        .await?;
    Ok(())
}

/// One workspace row to insert.
#[derive(Clone, Debug)]
pub struct FleetRow {
    pub id: uuid::Uuid,
    pub state: &'static str,
    pub start_at: Option<DateTime<Utc>>,
    pub stop_at: Option<DateTime<Utc>>,
    pub schedule: Option<String>,
    pub ttl_secs: Option<i64>,
    pub last_started_at: DateTime<Utc>,
    pub last_stopped_at: DateTime<Utc>,
    pub fault: Option<&'static str>,
}

impl FleetRow {
    /// A running workspace to be stopped at `stop_at`.
    pub fn stop_at(id: u128, stop_at: DateTime<Utc>) -> Self {
        FleetRow {
            id: uuid::Uuid::from_u128(id),
            state: "running",
            start_at: None,
            stop_at: Some(stop_at),
            schedule: None,
            ttl_secs: None,
            last_started_at: stop_at,
            last_stopped_at: stop_at,
            fault: None,
        }
    }
}

/// Inserts rows in one statement.
pub async fn insert(pool: &PgPool, schema: &str, rows: &[FleetRow]) -> Result<(), sqlx::Error> {
    let sql = format!(
        "insert into {schema}.fleet (id, state, start_at, stop_at, schedule, ttl_secs, \
         last_started_at, last_stopped_at, fault) \
         select * from unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::timestamptz[], \
         $5::text[], $6::int8[], $7::timestamptz[], $8::timestamptz[], $9::text[])"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(rows.iter().map(|r| r.id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.state).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.start_at).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.stop_at).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.schedule.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.ttl_secs).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.last_started_at).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.last_stopped_at).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.fault).collect::<Vec<_>>())
        .execute(pool)
        .await?;
    Ok(())
}

/// How long the adapter holds each call, to keep actions in flight.
#[derive(Clone, Copy, Debug, Default)]
pub struct Holds {
    /// Inside `get`, before reading.
    pub get: Duration,
    /// Inside start/stop, before the action commits.
    pub before: Duration,
    /// Inside start/stop, after the action committed.
    pub after: Duration,
}

/// The `Workspaces` adapter over the fleet tables.
#[derive(Clone)]
pub struct PgFleet<C> {
    pool: PgPool,
    schema: Arc<str>,
    executor: Arc<str>,
    clock: C,
    holds: Holds,
    schedules: Arc<Mutex<HashMap<String, Schedule>>>,
}

impl<C: Clock + Clone> PgFleet<C> {
    pub fn new(pool: PgPool, schema: &str, executor: &str, clock: C, holds: Holds) -> Self {
        PgFleet {
            pool,
            schema: schema.into(),
            executor: executor.into(),
            clock,
            holds,
            schedules: Arc::default(),
        }
    }

    fn schedule(&self, text: &str) -> Result<Schedule, WorkspaceError> {
        if let Some(s) = self.schedules.lock().get(text) {
            return Ok(s.clone());
        }
        let parsed: Schedule = text.parse().map_err(WorkspaceError::other)?;
        self.schedules
            .lock()
            .insert(text.to_owned(), parsed.clone());
        Ok(parsed)
    }

    /// The snapshot the engine sees: fixed times, or times derived from the schedule
    /// and the TTL exactly as a service using the crate's schedule helpers would.
    fn snapshot(&self, row: &PgRow) -> Result<(Workspace, Option<&'static str>), WorkspaceError> {
        let get = |e: sqlx::Error| WorkspaceError::other(e);
        let state = match row.try_get::<String, _>("state").map_err(get)?.as_str() {
            "running" => WorkspaceState::Running,
            "failed" => WorkspaceState::Failed,
            _ => WorkspaceState::Stopped,
        };
        let schedule = row
            .try_get::<Option<String>, _>("schedule")
            .map_err(get)?
            .map(|s| self.schedule(&s))
            .transpose()?;
        let last_started: DateTime<Utc> = row.try_get("last_started_at").map_err(get)?;
        let last_stopped: DateTime<Utc> = row.try_get("last_stopped_at").map_err(get)?;
        let ttl: Option<i64> = row.try_get("ttl_secs").map_err(get)?;
        let start_at: Option<DateTime<Utc>> = row.try_get("start_at").map_err(get)?;
        let stop_at: Option<DateTime<Utc>> = row.try_get("stop_at").map_err(get)?;
        let auto_start_at = start_at.or_else(|| {
            schedule
                .as_ref()
                .and_then(|s| auto_start_at(s, last_stopped))
        });
        let auto_stop_at = stop_at.or_else(|| {
            ttl.map(|t| {
                let policy = AutoStop::new(Duration::from_secs(t.unsigned_abs()));
                auto_stop_at(&policy, last_started, schedule.as_ref())
            })
        });
        let fault = match row
            .try_get::<Option<String>, _>("fault")
            .map_err(get)?
            .as_deref()
        {
            Some("panic") => Some("panic"),
            Some("hang") => Some("hang"),
            _ => None,
        };
        let ws = Workspace {
            id: WorkspaceId(row.try_get("id").map_err(get)?),
            state,
            auto_start_at,
            auto_stop_at,
        };
        Ok((ws, fault))
    }

    async fn act(&self, id: WorkspaceId, operation: Operation) -> Result<(), WorkspaceError> {
        tokio::time::sleep(self.holds.before).await;
        let s = &self.schema;
        // Faults strike before the transaction, so a hung call holds no row lock.
        let current = sqlx::query(AssertSqlSafe(format!(
            "select * from {s}.fleet where id = $1"
        )))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(WorkspaceError::other)?
        .ok_or(WorkspaceError::NotFound(id))?;
        match self.snapshot(&current)?.1 {
            Some("panic") => panic!("injected panic in {operation} of {id}"),
            Some(_) => std::future::pending::<()>().await,
            None => {}
        }
        let mut tx = self.pool.begin().await.map_err(WorkspaceError::other)?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "select * from {s}.fleet where id = $1 for update"
        )))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(WorkspaceError::other)?
        .ok_or(WorkspaceError::NotFound(id))?;
        let (ws, _) = self.snapshot(&row)?;
        let occurrence = ws
            .scheduled_at(operation)
            .ok_or_else(|| WorkspaceError::other(format!("{id} has no auto-{operation} time")))?;
        let now = self.clock.now();
        let record = |table: &str| {
            sqlx::query(AssertSqlSafe(format!(
                "insert into {s}.{table} values ($1, $2, $3, $4, $5) on conflict do nothing"
            )))
            .bind(id.0)
            .bind(operation.as_str())
            .bind(occurrence)
            .bind(&*self.executor)
            .bind(now)
        };
        let inserted = record("actions")
            .execute(&mut *tx)
            .await
            .map_err(WorkspaceError::other)?;
        if inserted.rows_affected() == 0 {
            record("violations")
                .execute(&mut *tx)
                .await
                .map_err(WorkspaceError::other)?;
            tx.commit().await.map_err(WorkspaceError::other)?;
            return Err(WorkspaceError::other(format!(
                "double {operation} of {id} for {occurrence}"
            )));
        }
        let update = match operation {
            Operation::Start => "state = 'running', last_started_at = $2",
            Operation::Stop => "state = 'stopped', last_stopped_at = $2",
        };
        sqlx::query(AssertSqlSafe(format!(
            "update {s}.fleet set {update} where id = $1"
        )))
        .bind(id.0)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(WorkspaceError::other)?;
        tx.commit().await.map_err(WorkspaceError::other)?;
        tokio::time::sleep(self.holds.after).await;
        Ok(())
    }
}

#[async_trait]
impl<C: Clock + Clone> Workspaces for PgFleet<C> {
    async fn list(
        &self,
        after: Option<WorkspaceId>,
        limit: usize,
    ) -> Result<Vec<Workspace>, WorkspaceError> {
        let s = &self.schema;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "select * from {s}.fleet where ($1::uuid is null or id > $1) order by id limit $2"
        )))
        .bind(after.map(|a| a.0))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(WorkspaceError::other)?;
        rows.iter()
            .map(|r| self.snapshot(r).map(|(ws, _)| ws))
            .collect()
    }

    async fn get(&self, id: WorkspaceId) -> Result<Option<Workspace>, WorkspaceError> {
        tokio::time::sleep(self.holds.get).await;
        let s = &self.schema;
        let row = sqlx::query(AssertSqlSafe(format!(
            "select * from {s}.fleet where id = $1"
        )))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(WorkspaceError::other)?;
        row.map(|r| self.snapshot(&r).map(|(ws, _)| ws)).transpose()
    }

    async fn start(&self, id: WorkspaceId) -> Result<(), WorkspaceError> {
        self.act(id, Operation::Start).await
    }

    async fn stop(&self, id: WorkspaceId) -> Result<(), WorkspaceError> {
        self.act(id, Operation::Stop).await
    }
}
