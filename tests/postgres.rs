//! The Postgres store beyond the contract: migrations beside a host's own, wake-ups
//! across processes through LISTEN/NOTIFY (also after the listener's connection is
//! killed), typed errors, and decoding of rows the code does not know.

#[path = "common/pg.rs"]
mod pg;

use std::time::Duration;

use sqlx::{AssertSqlSafe, Executor};
use tokio::sync::watch;
use workspace_lifecycle::{
    JobInsertParams, JobStore, JobStoreAdmin, LogLine, NewJob, Operation, PgStore, StoreError,
    WorkspaceId, WorkspaceRange,
};

use pg::rt;

fn new_job(n: u128) -> NewJob {
    NewJob {
        workspace_id: WorkspaceId(uuid::Uuid::from_u128(n)),
        operation: Operation::Start,
        deadline: "2026-01-05T09:00:00Z".parse().unwrap(),
        run_at: None,
        log: Some(LogLine::info("scheduled")),
    }
}

async fn insert(store: &PgStore, n: u128) {
    let now = "2026-01-05T08:00:00Z".parse().unwrap();
    let created = store
        .job_insert(JobInsertParams {
            jobs: vec![new_job(n)],
            now,
        })
        .await
        .unwrap();
    assert_eq!(created.len(), 1);
    assert!(created[0].is_ok(), "{created:?}");
}

/// Waits (real time, bounded) for the change counter to move.
async fn changed(rx: &mut watch::Receiver<u64>) -> bool {
    tokio::time::timeout(Duration::from_secs(20), rx.changed())
        .await
        .is_ok_and(|r| r.is_ok())
}

#[test]
fn postgres_migrate_is_idempotent_and_safe_to_run_concurrently() {
    rt().block_on(async {
        let Some(db) = pg::test_db(8).await else {
            return;
        };
        // Already migrated once by test_db; again, from four "replicas" at once.
        let runs = (0..4).map(|_| {
            let store = db.store.clone();
            tokio::spawn(async move { store.migrate().await })
        });
        for run in runs {
            run.await.unwrap().unwrap();
        }
        let versions: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
            "select version from {}.schema_migrations order by version",
            db.schema
        )))
        .fetch_all(db.store.pool())
        .await
        .unwrap();
        assert_eq!(versions, vec![1, 2, 3, 4]);
    });
}

#[test]
fn postgres_migrate_coexists_with_a_host_log_level_type_and_host_sqlx_migrations() {
    rt().block_on(async {
        let Some(admin) = pg::test_db(2).await else {
            return;
        };
        // A database of the host's own, with its own `log_level` type and its own sqlx
        // migrations, run before and after ours.
        let database = format!("{}_host", admin.schema);
        admin
            .store
            .pool()
            .execute(AssertSqlSafe(format!("create database {database}")))
            .await
            .unwrap();
        let url = format!(
            "{}/{database}",
            pg::database_url().rsplit_once('/').unwrap().0
        );
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        pool.execute("create type log_level as enum ('trace', 'verbose')")
            .await
            .unwrap();

        let dir = std::env::temp_dir().join(format!("{database}_migrations"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("1_users.sql"),
            "create table users (id uuid primary key);",
        )
        .unwrap();
        let host = sqlx::migrate::Migrator::new(dir.as_path()).await.unwrap();
        host.run(&pool).await.unwrap();

        let store = PgStore::new(pool.clone());
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        std::fs::write(
            dir.join("2_teams.sql"),
            "create table teams (id uuid primary key);",
        )
        .unwrap();
        let host = sqlx::migrate::Migrator::new(dir.as_path()).await.unwrap();
        host.run(&pool)
            .await
            .expect("the host's migrator does not trip over ours");

        // Both `log_level` types exist, each where it belongs, and the store works.
        let types: Vec<String> = sqlx::query_scalar(
            "select n.nspname::text from pg_type t join pg_namespace n on n.oid = t.typnamespace \
             where t.typname = 'log_level' order by 1",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(
            types,
            vec!["public".to_owned(), "workspace_lifecycle".to_owned()]
        );
        insert(&store, 1).await;
        let host_versions: Vec<i64> =
            sqlx::query_scalar("select version from _sqlx_migrations order by 1")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(host_versions, vec![1, 2]);

        pool.close().await;
        std::fs::remove_dir_all(&dir).ok();
        admin
            .store
            .pool()
            .execute(AssertSqlSafe(format!(
                "drop database {database} with (force)"
            )))
            .await
            .unwrap();
    });
}

#[test]
fn postgres_notifies_other_processes_of_new_jobs() {
    rt().block_on(async {
        let Some(db) = pg::test_db(4).await else {
            return;
        };
        let other = db.another_store(2).await;
        let mut rx = other
            .job_changes()
            .expect("the Postgres store signals changes");
        // The listener's first connection bumps once: nothing was missed before it.
        assert!(changed(&mut rx).await, "listener connected");
        rx.borrow_and_update();
        insert(&db.store, 1).await;
        assert!(
            changed(&mut rx).await,
            "an insert in one process wakes another"
        );
    });
}

#[test]
fn postgres_listener_recovers_after_its_connection_is_killed() {
    rt().block_on(async {
        let Some(db) = pg::test_db(4).await else { return };
        let other = db.another_store(2).await;
        let mut rx = other.job_changes().unwrap();
        assert!(changed(&mut rx).await);
        // Kill every backend listening on the store's channel.
        let killed: Vec<bool> = sqlx::query_scalar(
            "select pg_terminate_backend(pid) from pg_stat_activity \
             where pid <> pg_backend_pid() and query ilike 'listen%' and datname = current_database()",
        )
        .fetch_all(db.store.pool())
        .await
        .unwrap();
        assert!(!killed.is_empty(), "found the listener's backend");
        // It reconnects (and bumps, since it may have missed something) ...
        assert!(changed(&mut rx).await, "listener noticed the loss and reconnected");
        // ... and hears new jobs again.
        tokio::time::sleep(Duration::from_millis(200)).await;
        rx.borrow_and_update();
        insert(&db.store, 2).await;
        assert!(changed(&mut rx).await, "notifications flow after the reconnect");
    });
}

#[test]
fn postgres_unreachable_server_is_a_typed_transient_error() {
    rt().block_on(async {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy("postgres://postgres@127.0.0.1:1/none")
            .unwrap();
        let store = PgStore::new(pool);
        let error = store
            .job_get(workspace_lifecycle::JobId(uuid::Uuid::nil()))
            .await
            .unwrap_err();
        assert!(error.is_transient(), "{error:?}");
        assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    });
}

#[test]
fn postgres_unknown_operation_value_is_invalid_data_not_a_panic() {
    rt().block_on(async {
        let Some(db) = pg::test_db(2).await else {
            return;
        };
        insert(&db.store, 1).await;
        // A newer version of the schema added an operation this code does not know.
        let s = &db.schema;
        db.store
            .pool()
            .execute(AssertSqlSafe(format!(
                "alter type {s}.workspace_lifecycle_operation add value 'hibernate'"
            )))
            .await
            .unwrap();
        db.store
            .pool()
            .execute(AssertSqlSafe(format!(
                "update {s}.workspace_lifecycle_job set operation = 'hibernate'"
            )))
            .await
            .unwrap();
        let error = db
            .store
            .job_list(workspace_lifecycle::JobListParams::default())
            .await
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("operation \"hibernate\" is neither \"start\" nor \"stop\""),
            "{error}"
        );
    });
}

#[test]
fn postgres_log_line_at_infinity_is_invalid_data_not_a_panic() {
    rt().block_on(async {
        let Some(db) = pg::test_db(2).await else {
            return;
        };
        insert(&db.store, 1).await;
        let job = db
            .store
            .job_list(workspace_lifecycle::JobListParams::default())
            .await
            .unwrap()
            .remove(0);
        // A hand-edited log row: sqlx's chrono decoding panics on `infinity`.
        let s = &db.schema;
        db.store
            .pool()
            .execute(AssertSqlSafe(format!(
                "update {s}.workspace_lifecycle_job_logs set created_at = 'infinity'"
            )))
            .await
            .unwrap();
        let error = db.store.job_log_list(job.id).await.unwrap_err();
        assert!(matches!(error, StoreError::InvalidData(_)), "{error:?}");
        let shown = error.to_string();
        assert!(shown.contains("log line"), "{shown}");
        assert!(shown.contains(&job.id.0.to_string()), "{shown}");
        assert!(shown.contains("created_at is infinity"), "{shown}");
    });
}

#[test]
fn postgres_schema_names_are_validated() {
    rt().block_on(async {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://postgres@127.0.0.1:1/none")
            .unwrap();
        for bad in [
            "",
            "Robert'); drop table x;--",
            "1abc",
            "with space",
            &"a".repeat(51),
        ] {
            let error = PgStore::with_schema(pool.clone(), bad).unwrap_err();
            assert!(matches!(error, StoreError::InvalidData(_)), "{bad}");
        }
        assert!(PgStore::with_schema(pool, "tenant_7").is_ok());
    });
}

#[test]
fn postgres_drop_schema_removes_everything_and_a_missing_schema_is_no_error() {
    rt().block_on(async {
        let Some(db) = pg::test_db(2).await else {
            return;
        };
        let schema_exists = || async {
            sqlx::query_scalar::<_, bool>(
                "select exists (select 1 from pg_namespace where nspname = $1)",
            )
            .bind(&db.schema)
            .fetch_one(db.store.pool())
            .await
            .unwrap()
        };
        insert(&db.store, 1).await;
        assert!(schema_exists().await);

        db.store.clone().drop_schema().await.unwrap();
        assert!(!schema_exists().await);
        // Dropping again, as a second test teardown or an operator's retry would.
        db.another_store(1).await.drop_schema().await.unwrap();
        // A later `migrate` starts from nothing: the ledger went with the schema.
        db.store.migrate().await.unwrap();
        let open = db.store.job_list_open(WorkspaceRange::ALL).await.unwrap();
        assert!(open.is_empty());
    });
}
