//! The migrator: applies `migrations/*.sql` to the store's schema, once each.
//!
//! It keeps its own ledger, `<schema>.schema_migrations`, rather than sqlx's
//! `_sqlx_migrations`: the host application's sqlx migrator would otherwise see our
//! versions as its own and refuse to run ("migration N was previously applied but is
//! missing"). Migrations run in one transaction under an advisory lock, so replicas
//! starting together apply each exactly once, and a failed migration leaves nothing
//! half-applied. Dropping the schema takes the same lock, so it never interleaves with
//! a replica's migration.

use sqlx::{AssertSqlSafe, PgPool, Postgres, Row, Transaction};

use super::db_error;
use crate::error::StoreError;

/// (version, description, SQL with `{schema}` placeholders), in order.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "the job table and its logs",
        include_str!("../../../migrations/0001_jobs.sql"),
    ),
    (
        2,
        "finished jobs no longer notify",
        include_str!("../../../migrations/0002_finished_jobs_do_not_notify.sql"),
    ),
    (
        3,
        "finished jobs indexed by when they finished, for pruning",
        include_str!("../../../migrations/0003_finished_index.sql"),
    ),
    (
        4,
        "lighter writes: two indexes fewer, log lines without a foreign key",
        include_str!("../../../migrations/0004_lighter_writes.sql"),
    ),
];

/// Takes the schema's migration lock for the rest of `tx`.
async fn lock(tx: &mut Transaction<'_, Postgres>, schema: &str) -> Result<(), StoreError> {
    sqlx::query("select pg_advisory_xact_lock(hashtext($1))")
        .bind(format!("workspace_lifecycle.migrate.{schema}"))
        .execute(&mut **tx)
        .await
        .map_err(db_error)?;
    Ok(())
}

pub(super) async fn run(pool: &PgPool, schema: &str) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.map_err(db_error)?;
    lock(&mut tx, schema).await?;
    let ledger = format!(
        "create schema if not exists {schema};
         create table if not exists {schema}.schema_migrations (
             version bigint primary key,
             description text not null,
             applied_at timestamptz not null default now()
         );"
    );
    sqlx::raw_sql(AssertSqlSafe(ledger))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    let applied: Vec<i64> = sqlx::query(AssertSqlSafe(format!(
        "select version from {schema}.schema_migrations"
    )))
    .fetch_all(&mut *tx)
    .await
    .map_err(db_error)?
    .iter()
    .map(|row| row.try_get::<i64, _>("version"))
    .collect::<Result<_, _>>()
    .map_err(db_error)?;
    for (version, description, template) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        sqlx::raw_sql(AssertSqlSafe(template.replace("{schema}", schema)))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query(AssertSqlSafe(format!(
            "insert into {schema}.schema_migrations (version, description) values ($1, $2)"
        )))
        .bind(version)
        .bind(description)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tracing::info!(schema, version, description, "migration applied");
    }
    tx.commit().await.map_err(db_error)
}

/// Drops `schema` with everything in it, the ledger included.
pub(super) async fn drop(pool: &PgPool, schema: &str) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.map_err(db_error)?;
    lock(&mut tx, schema).await?;
    sqlx::raw_sql(AssertSqlSafe(format!(
        "drop schema if exists {schema} cascade"
    )))
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    tracing::info!(schema, "schema dropped");
    Ok(())
}
