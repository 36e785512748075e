//! "Auto-stop soon" reminders: [`EventKind::StopSoon`] `Config::stop_reminder`
//! before each auto-stop deadline, once per occurrence per engine.
//!
//! The scheduler notes every pending stop job it sees (a pass reads them all anyway),
//! keyed by the time its reminder is due; [`LifecycleEngine::run`] sleeps until the
//! earliest. Before sending, the engine re-reads the workspace, as the executor does
//! before acting: a reminder goes out only if the workspace still runs with that very
//! auto-stop time. A stop bumped by activity therefore gets no reminder for its old
//! time, and a reminder for its new one.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::events::EventKind;
use super::LifecycleEngine;
use crate::clock::{sub, Clock};
use crate::ids::{JobId, WorkspaceId};
use crate::job::{Job, JobState, Operation};
use crate::store::JobStore;
use crate::workspace::{Readiness, Workspaces};

/// The reminders one engine has yet to send, and the occurrences it sent.
#[derive(Default)]
pub(super) struct Reminders {
    state: Mutex<State>,
    /// Wakes the reminder loop when a reminder earlier than all others was noted.
    noted: Notify,
}

#[derive(Default)]
struct State {
    /// (when to remind, job) to the stop job.
    due: BTreeMap<(DateTime<Utc>, JobId), Job>,
    /// Occurrences (workspace, deadline) reminded of; forgotten once the deadline
    /// passes, so the set holds only upcoming stops.
    sent: HashSet<(WorkspaceId, DateTime<Utc>)>,
}

impl<S: JobStore, C: Clock, W: Workspaces> LifecycleEngine<S, C, W> {
    /// Notes the pending stop jobs among `jobs` for a reminder.
    pub(super) fn note_reminders<'a>(&self, jobs: impl IntoIterator<Item = &'a Job>) {
        let Some(ahead) = self.inner.config.stop_reminder else {
            return;
        };
        let now = self.inner.clock.now();
        let mut state = self.inner.reminders.state.lock();
        let mut earliest = state.due.keys().next().map(|(at, _)| *at);
        let mut woke = false;
        for job in jobs {
            if job.operation != Operation::Stop
                || job.state() != JobState::Pending
                || job.deadline <= now
                || state.sent.contains(&(job.workspace_id, job.deadline))
            {
                continue;
            }
            let at = sub(job.deadline, ahead);
            if state.due.insert((at, job.id), job.clone()).is_none()
                && earliest.is_none_or(|e| at < e)
            {
                earliest = Some(at);
                woke = true;
            }
        }
        drop(state);
        if woke {
            self.inner.reminders.noted.notify_one();
        }
    }

    /// Sends the reminders due at the clock's now; returns how many were sent.
    pub(super) async fn send_reminders(&self) -> usize {
        let now = self.inner.clock.now();
        let due: Vec<Job> = {
            let mut state = self.inner.reminders.state.lock();
            let later = state.due.split_off(&(now, JobId(uuid::Uuid::max())));
            let due = std::mem::replace(&mut state.due, later);
            state.sent.retain(|(_, deadline)| *deadline > now);
            due.into_values()
                .filter(|job| {
                    job.deadline > now && state.sent.insert((job.workspace_id, job.deadline))
                })
                .collect()
        };
        let mut sent = 0;
        for job in due {
            let still = match self.adapter().get(job.workspace_id).await {
                Ok(ws) => ws.is_some_and(|ws| {
                    ws.auto_stop_at == Some(job.deadline)
                        && ws.readiness(Operation::Stop) == Readiness::Act
                }),
                Err(error) => {
                    // Better a reminder the data may no longer call for than none
                    // before a stop that is still coming.
                    tracing::warn!(%error, job_id = %job.id, "reading the workspace for a reminder failed; reminding anyway");
                    true
                }
            };
            if !still {
                tracing::debug!(job_id = %job.id, "no reminder: the workspace no longer stops at this time");
                continue;
            }
            let remaining = (job.deadline - self.inner.clock.now())
                .to_std()
                .unwrap_or_default();
            tracing::debug!(job_id = %job.id, ?remaining, "auto-stop reminder sent");
            self.emit_job(&job, || EventKind::StopSoon { remaining });
            sent += 1;
        }
        sent
    }

    /// Sends reminders as they come due, until `shutdown`. Returns at once without
    /// `Config::stop_reminder`.
    pub(super) async fn reminder_loop(&self, shutdown: &CancellationToken) {
        if self.inner.config.stop_reminder.is_none() {
            return;
        }
        let clock = &self.inner.clock;
        loop {
            let next = self
                .inner
                .reminders
                .state
                .lock()
                .due
                .keys()
                .next()
                .map(|(at, _)| *at);
            let sleep = async {
                match next {
                    Some(at) => clock.sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                _ = self.inner.reminders.noted.notified() => continue,
                _ = sleep => {}
            }
            self.send_reminders().await;
        }
    }
}
