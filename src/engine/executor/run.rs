//! The executor half of [`run`](LifecycleEngine::run): the [pass](super::pass) again
//! and again, sleeping in between until the next job is due, until this engine's
//! scheduler or the store signals a change, until a job finishes or frees its permit,
//! or until shutdown.

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::pass::InFlight;
use super::ExecuteReport;
use crate::clock::{add, Clock};
use crate::engine::LifecycleEngine;
use crate::store::{JobNextDueParams, JobStore};
use crate::workspace::Workspaces;

impl<S: JobStore, C: Clock, W: Workspaces> LifecycleEngine<S, C, W> {
    /// The executor half of [`run`](LifecycleEngine::run).
    pub(in crate::engine) async fn executor_loop(
        &self,
        shutdown: &CancellationToken,
    ) -> ExecuteReport {
        let mut flight = InFlight::new();
        let mut changes = self.inner.store.job_changes();
        let clock = &self.inner.clock;
        let mut failures: u32 = 0;
        // Rescue when the timer fired (the earliest lease expiry is among the times
        // it waits for) and at least every poll interval, not on every wake-up.
        let mut rescue_due = true;
        let mut last_rescue = clock.now();
        'passes: while !shutdown.is_cancelled() {
            if let Some(changes) = changes.as_mut() {
                changes.borrow_and_update();
            }
            let now = clock.now();
            let poll = self.inner.config.poll_interval;
            let rescue_now = rescue_due || now >= add(last_rescue, poll);
            let step = async {
                self.pass(&mut flight, rescue_now).await?;
                if self.inner.permits.available_permits() == 0 {
                    // Every permit is busy: a freed one wakes the loop, so the next
                    // due time does not matter yet.
                    return Ok(None);
                }
                self.inner
                    .store
                    .job_next_due(JobNextDueParams { now })
                    .await
            };
            let wake_at = match step.await {
                Ok(next) => {
                    failures = 0;
                    if rescue_now {
                        last_rescue = now;
                    }
                    // Due jobs we could not claim wait for a permit (a freed one wakes
                    // us) or for their workspace's running job to finish (which this
                    // engine's own task end, or another's poll, picks up).
                    let poll = add(now, poll);
                    next.map_or(poll, |t| t.min(poll))
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let delay = self
                        .inner
                        .config
                        .retry
                        .backoff(crate::JobId(self.inner.executor_id.0), failures);
                    tracing::warn!(%error, ?delay, "executor store error; backing off");
                    add(now, delay.min(self.inner.config.poll_interval))
                }
            };
            rescue_due = false;
            loop {
                tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => break 'passes,
                    // Our scheduler created or moved a job.
                    _ = self.inner.wake.notified() => {}
                    // Another engine (or this one) changed the table.
                    _ = changed(changes.as_mut()) => {}
                    // Jobs finished, and may have freed jobs of their workspaces.
                    Some(done) = flight.tasks.join_next(), if !flight.tasks.is_empty() => {
                        flight.reap(done);
                    }
                    // A permit came free: worth a claim only if more may be due.
                    _ = self.inner.freed.notified() => if !flight.more { continue },
                    _ = clock.sleep_until(wake_at) => rescue_due = true,
                }
                flight.more = true;
                break;
            }
        }
        // Shutdown: no new claims; in-flight actions get the grace period.
        let deadline = add(clock.now(), self.inner.config.shutdown_grace);
        loop {
            tokio::select! {
                biased;
                done = flight.tasks.join_next() => match done {
                    Some(done) => flight.merge(done),
                    None => break,
                },
                _ = clock.sleep_until(deadline) => {
                    tracing::warn!(in_flight = flight.tasks.len(), "shutdown grace over; leaving jobs to lease expiry");
                    flight.tasks.abort_all();
                    while flight.tasks.join_next().await.is_some() {}
                    break;
                }
            }
        }
        flight.report
    }
}

/// Resolves when the store's change counter moves; never, for a store that has none
/// or whose sender is gone.
async fn changed(changes: Option<&mut watch::Receiver<u64>>) {
    match changes {
        Some(rx) => {
            if rx.changed().await.is_err() {
                // The store dropped its sender; fall back to the other wake-ups.
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending::<()>().await,
    }
}
