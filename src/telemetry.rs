//! What the engine reports to tracing and to metrics, and under which names.
//!
//! # Tracing
//!
//! The engine uses the `tracing` facade; install any subscriber.
//!
//! - Span `reconcile_pass` (debug) around each full scheduler pass, and span `job`
//!   (debug) around each held job, with `job_id`, `workspace_id`, `operation` and
//!   `attempt`.
//! - Events at the decisions: `job created`, `job rescheduled` and `job cancelled`
//!   (with `reason`) at debug from the scheduler, and `not scheduled: older than the
//!   retention period` at debug; `job claimed` at debug; `job skipped` (with `reason`:
//!   the workspace is mid-transition, or the occurrence not yet due) at info; `job
//!   completed` (with `outcome`: `acted`, `already_done` or `missed`, and `message`) at
//!   info; `attempt failed` (with `error` and `retry_at`), or `attempt failed; failed
//!   for good`, at warn; `job cancelled` (with `reason`) at info from the executor;
//!   `lease expired; job rescued` at info; `finished jobs pruned` at info when a prune
//!   deleted any; `workspace time refused` at warn.
//! - An idle engine logs nothing at info or above: a pass or a wake-up with nothing to
//!   do is at debug.
//!
//! # Metrics
//!
//! With the `metrics` feature the engine records through the
//! [`metrics`](https://docs.rs/metrics) facade; install any recorder (a Prometheus
//! exporter, for one). Without it, nothing is recorded and the crate does not depend
//! on `metrics`. Names and labels:
//!
//! | Name | Kind | Labels | What |
//! |---|---|---|---|
//! | [`JOB_OUTCOMES`] | counter | `operation`, `outcome` | held jobs by how they ended: `acted`, `already_done`, `missed`, `cancelled`, `deferred`, `retried`, `failed`, `lease_lost`, `error` |
//! | [`SCHEDULER_CHANGES`] | counter | `change` | the scheduler's writes: `created`, `rescheduled`, `cancelled`, `refused`, `stale` |
//! | [`JOBS_RESCUED`] | counter | | jobs taken back after their lease expired |
//! | [`JOBS_PRUNED`] | counter | | finished jobs deleted by retention |
//! | [`JOB_LATENESS`] | histogram (s) | `operation` | from when a job became due (`run_at`) to its claim |
//! | [`ACTION_DURATION`] | histogram (s) | `operation`, `result` (`ok`, `error`) | start/stop calls, on the engine's clock |
//! | [`RECONCILE_DURATION`] | histogram (s) | | full scheduler passes |
//! | [`JOBS_OPEN`] | gauge | | open jobs the last full pass saw, after its changes |
//! | [`JOBS_IN_FLIGHT`] | gauge | | jobs this process holds (claimed, not yet written back) |

/// Counter: held jobs by `operation` and `outcome`.
///
/// ```
/// use workspace_lifecycle::telemetry::JOB_OUTCOMES;
///
/// // An alert on failures: rate(workspace_lifecycle_job_outcomes_total{outcome="failed"}[1h]) > 0
/// assert_eq!(JOB_OUTCOMES, "workspace_lifecycle_job_outcomes_total");
/// ```
pub const JOB_OUTCOMES: &str = "workspace_lifecycle_job_outcomes_total";

/// Counter: the scheduler's changes by `change`.
///
/// ```
/// use workspace_lifecycle::telemetry::SCHEDULER_CHANGES;
///
/// assert_eq!(SCHEDULER_CHANGES, "workspace_lifecycle_scheduler_changes_total");
/// ```
pub const SCHEDULER_CHANGES: &str = "workspace_lifecycle_scheduler_changes_total";

/// Counter: jobs rescued after their lease expired.
///
/// ```
/// use workspace_lifecycle::telemetry::JOBS_RESCUED;
///
/// assert_eq!(JOBS_RESCUED, "workspace_lifecycle_jobs_rescued_total");
/// ```
pub const JOBS_RESCUED: &str = "workspace_lifecycle_jobs_rescued_total";

/// Counter: finished jobs pruned.
///
/// ```
/// use workspace_lifecycle::telemetry::JOBS_PRUNED;
///
/// assert_eq!(JOBS_PRUNED, "workspace_lifecycle_jobs_pruned_total");
/// ```
pub const JOBS_PRUNED: &str = "workspace_lifecycle_jobs_pruned_total";

/// Histogram, seconds: from `run_at` to the claim, by `operation`.
///
/// ```
/// use workspace_lifecycle::telemetry::JOB_LATENESS;
///
/// // Recorded in seconds, so an exporter's bucket bounds are in seconds too.
/// assert_eq!(JOB_LATENESS, "workspace_lifecycle_job_lateness_seconds");
/// ```
pub const JOB_LATENESS: &str = "workspace_lifecycle_job_lateness_seconds";

/// Histogram, seconds: start/stop call durations by `operation` and `result`.
///
/// ```
/// use workspace_lifecycle::telemetry::ACTION_DURATION;
///
/// assert_eq!(ACTION_DURATION, "workspace_lifecycle_action_duration_seconds");
/// ```
pub const ACTION_DURATION: &str = "workspace_lifecycle_action_duration_seconds";

/// Histogram, seconds: full scheduler pass durations.
///
/// ```
/// use workspace_lifecycle::telemetry::RECONCILE_DURATION;
///
/// assert_eq!(RECONCILE_DURATION, "workspace_lifecycle_reconcile_duration_seconds");
/// ```
pub const RECONCILE_DURATION: &str = "workspace_lifecycle_reconcile_duration_seconds";

/// Gauge: open jobs seen by the last full scheduler pass.
///
/// ```
/// use workspace_lifecycle::telemetry::JOBS_OPEN;
///
/// assert_eq!(JOBS_OPEN, "workspace_lifecycle_jobs_open");
/// ```
pub const JOBS_OPEN: &str = "workspace_lifecycle_jobs_open";

/// Gauge: jobs held by this process.
///
/// ```
/// use workspace_lifecycle::telemetry::JOBS_IN_FLIGHT;
///
/// assert_eq!(JOBS_IN_FLIGHT, "workspace_lifecycle_jobs_in_flight");
/// ```
pub const JOBS_IN_FLIGHT: &str = "workspace_lifecycle_jobs_in_flight";

/// The recording calls, each a no-op without the `metrics` feature.
#[cfg(feature = "metrics")]
pub(crate) mod record {
    use std::time::Duration;

    use crate::job::Operation;

    pub(crate) fn job_outcome(operation: Operation, outcome: &'static str, n: usize) {
        if n > 0 {
            metrics::counter!(super::JOB_OUTCOMES, "operation" => operation.as_str(), "outcome" => outcome)
                .increment(n as u64);
        }
    }

    pub(crate) fn scheduler_change(change: &'static str, n: usize) {
        if n > 0 {
            metrics::counter!(super::SCHEDULER_CHANGES, "change" => change).increment(n as u64);
        }
    }

    pub(crate) fn rescued(n: usize) {
        metrics::counter!(super::JOBS_RESCUED).increment(n as u64);
    }

    pub(crate) fn pruned(n: usize) {
        metrics::counter!(super::JOBS_PRUNED).increment(n as u64);
    }

    pub(crate) fn lateness(operation: Operation, late: Duration) {
        metrics::histogram!(super::JOB_LATENESS, "operation" => operation.as_str())
            .record(late.as_secs_f64());
    }

    pub(crate) fn action(operation: Operation, ok: bool, took: Duration) {
        let result = if ok { "ok" } else { "error" };
        metrics::histogram!(super::ACTION_DURATION, "operation" => operation.as_str(), "result" => result)
            .record(took.as_secs_f64());
    }

    pub(crate) fn reconcile(took: Duration) {
        metrics::histogram!(super::RECONCILE_DURATION).record(took.as_secs_f64());
    }

    pub(crate) fn open_jobs(n: usize) {
        metrics::gauge!(super::JOBS_OPEN).set(n as f64);
    }

    pub(crate) fn in_flight(delta: i64) {
        let gauge = metrics::gauge!(super::JOBS_IN_FLIGHT);
        if delta >= 0 {
            gauge.increment(delta as f64);
        } else {
            gauge.decrement(delta.unsigned_abs() as f64);
        }
    }
}

/// The recording calls, each a no-op without the `metrics` feature.
#[cfg(not(feature = "metrics"))]
pub(crate) mod record {
    use std::time::Duration;

    use crate::job::Operation;

    pub(crate) fn job_outcome(_: Operation, _: &'static str, _: usize) {}
    pub(crate) fn scheduler_change(_: &'static str, _: usize) {}
    pub(crate) fn rescued(_: usize) {}
    pub(crate) fn pruned(_: usize) {}
    pub(crate) fn lateness(_: Operation, _: Duration) {}
    pub(crate) fn action(_: Operation, _: bool, _: Duration) {}
    pub(crate) fn reconcile(_: Duration) {}
    pub(crate) fn open_jobs(_: usize) {}
    pub(crate) fn in_flight(_: i64) {}
}
