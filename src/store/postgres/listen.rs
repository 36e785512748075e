//! Other processes' changes: a task that LISTENs on the store's channel and turns
//! each NOTIFY into a bump of [`JobStore::job_changes`](crate::JobStore::job_changes)'s
//! counter, reconnecting by itself.

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::watch;

use super::PgStore;

impl PgStore {
    pub(super) fn start_listener(&self) {
        let mut listener = self.inner.listener.lock();
        if listener.is_some() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let pool = self.inner.pool.clone();
        let channel = self.channel();
        let changes = self.inner.changes.clone();
        let task = runtime.spawn(listen(pool, channel, changes));
        *listener = Some(task.abort_handle());
    }
}

/// Turns NOTIFYs into bumps of the change counter, forever. A bump also follows every
/// (re)connection, since notifications sent while disconnected are lost; meanwhile the
/// engine falls back to its deadline sleep and poll interval.
async fn listen(pool: PgPool, channel: String, changes: watch::Sender<u64>) {
    let bump = || changes.send_modify(|n| *n = n.wrapping_add(1));
    let mut delay = Duration::from_millis(100);
    loop {
        let connected = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(&channel).await?;
            Ok::<_, sqlx::Error>(listener)
        }
        .await;
        let mut listener = match connected {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, ?delay, "job notification listener cannot connect; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        delay = Duration::from_millis(100);
        bump();
        loop {
            match listener.try_recv().await {
                Ok(Some(_)) => bump(),
                // The connection dropped; the next call reconnects and re-listens.
                Ok(None) => {
                    tracing::debug!("job notification listener reconnecting");
                    bump();
                }
                Err(error) => {
                    tracing::warn!(%error, "job notification listener failed; reconnecting");
                    break;
                }
            }
        }
    }
}
