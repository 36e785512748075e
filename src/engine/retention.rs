//! Retention: finished jobs and their logs are deleted once older than
//! `Config::retention`, in batches of `Config::prune_batch`, by
//! [`LifecycleEngine::prune`] on a timer of `Config::prune_interval`.
//!
//! Pruning and scheduling are two halves of one rule. A completed job is what keeps
//! an occurrence from being acted on twice; once it is pruned, nothing in the table
//! remembers the occurrence. So the scheduler never schedules an occurrence older
//! than `retention` (`Config::schedule_horizon`), and the prune keeps every finished
//! job `retention` plus one `lease` (`Config::prune_cutoff`): the lease is a margin for
//! clock skew between the engine that prunes and the one that schedules, the same
//! bound the leases already need.

use tokio_util::sync::CancellationToken;

use super::LifecycleEngine;
use crate::clock::{add, Clock};
use crate::error::StoreError;
use crate::job::EARLIEST_DEADLINE;
use crate::store::{JobPruneParams, JobStore};
use crate::telemetry::record;
use crate::workspace::Workspaces;

impl<S: JobStore, C: Clock, W: Workspaces> LifecycleEngine<S, C, W> {
    /// Deletes finished jobs (completed or cancelled) older than `Config::retention`
    /// plus one `Config::lease`, with their log lines, `Config::prune_batch` per store
    /// call until a call comes back short. Returns how many jobs were deleted; 0
    /// without a retention. [`run`](LifecycleEngine::run) calls it at start and every
    /// `Config::prune_interval`; call it yourself to prune on your own schedule.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
    /// use workspace_lifecycle::{
    ///     Config, FakeClock, InMemoryStore, LifecycleEngine, Workspace, WorkspaceId,
    ///     WorkspaceState,
    /// };
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
    /// let fleet = FakeWorkspaces::new(clock.clone());
    /// fleet.insert(Workspace {
    ///     auto_stop_at: Some("2026-01-05T09:00:00Z".parse().unwrap()),
    ///     ..Workspace::new(WorkspaceId(uuid::Uuid::from_u128(1)), WorkspaceState::Running)
    /// });
    /// let config = Config { retention: Some(Duration::from_secs(24 * 3600)), ..Config::default() };
    /// let engine = LifecycleEngine::new(InMemoryStore::new(), clock.clone(), fleet, config).unwrap();
    /// engine.reconcile_all().await.unwrap();
    /// clock.advance(Duration::from_secs(3600));
    /// assert_eq!(engine.execute_due().await.unwrap().stopped, 1);
    ///
    /// assert_eq!(engine.prune().await.unwrap(), 0); // finished an instant ago
    /// clock.advance(Duration::from_secs(25 * 3600));
    /// assert_eq!(engine.prune().await.unwrap(), 1); // a day (and a lease) later
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// The store's error; batches already deleted stay deleted.
    pub async fn prune(&self) -> Result<usize, StoreError> {
        let config = &self.inner.config;
        let Some(cutoff) = config.prune_cutoff(self.inner.clock.now()) else {
            return Ok(0);
        };
        if cutoff <= EARLIEST_DEADLINE {
            return Ok(0);
        }
        let mut total = 0;
        loop {
            let deleted = self
                .inner
                .store
                .job_prune(JobPruneParams {
                    finished_before: cutoff,
                    limit: config.prune_batch,
                })
                .await?;
            total += deleted;
            record::pruned(deleted);
            if deleted < config.prune_batch {
                break;
            }
        }
        if total > 0 {
            tracing::info!(pruned = total, cutoff = %cutoff, "finished jobs pruned");
        }
        Ok(total)
    }

    /// Prunes at start and every `Config::prune_interval` until `shutdown`; returns at
    /// once without a retention.
    pub(super) async fn retention_loop(&self, shutdown: &CancellationToken) {
        if self.inner.config.retention.is_none() {
            return;
        }
        let clock = &self.inner.clock;
        loop {
            let started = clock.now();
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                result = self.prune() => if let Err(error) = result {
                    tracing::warn!(%error, "pruning finished jobs failed; retrying at the next interval");
                },
            }
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                _ = clock.sleep_until(add(started, self.inner.config.prune_interval)) => {}
            }
        }
    }
}
