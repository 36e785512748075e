//! The `JobStore` contract suite, one test per check per store.

#[path = "../common/pg.rs"]
mod pg;
mod suite;

/// Runs one check on a runtime of its own.
fn block_on<F: std::future::Future>(check: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(check)
}

/// One `#[test]` per check, each on a fresh store made by `$make`.
macro_rules! store_tests {
    ($make:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                crate::block_on(async { crate::suite::$check($make).await });
            }
        )*
    };
}

mod memory {
    use workspace_lifecycle::InMemoryStore;

    crate::for_each_check!(store_tests, InMemoryStore::with_seed(7));
}

/// One `#[test]` per check on a Postgres store in a schema of its own.
macro_rules! pg_store_tests {
    ($unused:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                crate::block_on(async {
                    let Some(db) = crate::pg::test_db(4).await else { return };
                    crate::suite::$check(db.store.clone()).await;
                });
            }
        )*
    };
}

mod postgres {
    crate::for_each_check!(pg_store_tests, ());
}
