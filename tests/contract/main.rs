//! The `JobStore` contract suite, one test per check per store.

mod suite;

/// One `#[test]` per check, each on a fresh store made by `$make`.
macro_rules! store_tests {
    ($make:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async { crate::suite::$check($make).await });
            }
        )*
    };
}

mod memory {
    use workspace_lifecycle::InMemoryStore;

    crate::for_each_check!(store_tests, InMemoryStore::with_seed(7));
}
