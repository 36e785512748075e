//! The `JobStore` contract (`workspace_lifecycle::testkit::contract`), one test per check
//! per store, run as any store's own tests would run it.

#[path = "../common/pg.rs"]
mod pg;

mod memory {
    use workspace_lifecycle::InMemoryStore;

    workspace_lifecycle::job_store_contract!(|check| check(InMemoryStore::with_seed(7)));
}

/// Each check on a Postgres store in a schema of its own, dropped after the check.
mod postgres {
    workspace_lifecycle::job_store_contract!(|check| async move {
        let Some(db) = crate::pg::test_db(4).await else {
            return;
        };
        check(db.store.clone()).await;
    });
}
