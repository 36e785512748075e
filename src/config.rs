//! Engine configuration with documented defaults, validated at construction.

use std::time::Duration;

use crate::error::ConfigError;
use crate::ids::JobId;

/// The largest duration any setting accepts: a hundred years. Larger values cannot be
/// meaningfully added to a timestamp.
///
/// ```
/// use std::time::Duration;
/// use workspace_lifecycle::{Config, ConfigError, MAX_DURATION};
///
/// let longest = Config { tick_interval: MAX_DURATION, ..Config::default() };
/// assert!(longest.validate().is_ok());
/// let longer = Config { tick_interval: MAX_DURATION + Duration::from_secs(1), ..longest };
/// assert!(matches!(longer.validate(), Err(ConfigError::TooLarge { field: "tick_interval", .. })));
/// ```
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The shortest lease accepted: renewals every third of it must still be meaningful.
///
/// ```
/// use workspace_lifecycle::{Config, ConfigError, MIN_LEASE};
///
/// let shortest = Config { lease: MIN_LEASE, ..Config::default() };
/// assert!(shortest.validate().is_ok());
/// let shorter = Config { lease: MIN_LEASE / 2, ..shortest };
/// assert!(matches!(shorter.validate(), Err(ConfigError::TooSmall { field: "lease", .. })));
/// ```
pub const MIN_LEASE: Duration = Duration::from_secs(1);

/// The largest count `page_size` and `max_concurrent_actions` accept.
///
/// ```
/// use workspace_lifecycle::{Config, ConfigError, MAX_COUNT};
///
/// let widest = Config { page_size: MAX_COUNT, ..Config::default() };
/// assert!(widest.validate().is_ok());
/// let wider = Config { page_size: MAX_COUNT + 1, ..widest };
/// assert!(matches!(wider.validate(), Err(ConfigError::CountTooLarge { field: "page_size", .. })));
/// ```
pub const MAX_COUNT: usize = 1_000_000;

/// How the engine paces itself. `Config::default()` is what production should run.
///
/// ```
/// use std::time::Duration;
/// use workspace_lifecycle::Config;
///
/// let config = Config {
///     max_concurrent_actions: 32,
///     ..Config::default()
/// };
/// assert!(config.validate().is_ok());
///
/// let bad = Config { lease: Duration::ZERO, ..Config::default() };
/// assert_eq!(bad.validate().unwrap_err().to_string(), "lease must be greater than zero");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// How often the scheduler pages through every workspace. Default: 60 s (Coder's
    /// autobuild poll interval). A service that changes a schedule can call
    /// `reconcile_workspace` instead of waiting.
    pub tick_interval: Duration,
    /// Workspaces per page in a scheduler pass, and so per store round trip.
    /// Default: 500.
    pub page_size: usize,
    /// The most start/stop calls one engine has in flight at once, which is also the
    /// most jobs one claim takes. Default: 16. Raising it drains a backlog faster with
    /// one engine, but with several engines on one database the total in flight
    /// (engines × this) is what counts: at 4 × 64 claims slowed each other down
    /// (docs/performance.md).
    pub max_concurrent_actions: usize,
    /// How long a claim is valid without renewal. Renewed every third of it while the
    /// action runs; a crashed executor's jobs are taken over once it expires.
    /// Default: 60 s.
    pub lease: Duration,
    /// The longest a single start/stop call may take; a call still running then is
    /// dropped and counted as a failed attempt. Default: 5 min.
    pub action_timeout: Duration,
    /// Retries of failed actions. Default: see [`RetryPolicy`].
    pub retry: RetryPolicy,
    /// How long to wait before trying again when the workspace is mid-transition
    /// (starting or stopping). Not a failure. Default: 15 s.
    pub transition_retry: Duration,
    /// The longest the executor sleeps without looking at the store, in case another
    /// process added a job it was not told about. Default: 10 s.
    pub poll_interval: Duration,
    /// On shutdown, how long in-flight actions may run on before they are abandoned to
    /// lease expiry. Default: 30 s.
    pub shutdown_grace: Duration,
    /// How late an occurrence may still be acted on. One found more than this past
    /// its deadline (the fleet was down, the workspace was mid-transition for hours) is
    /// skipped: its job completes without a call and logs by how much it was missed, so
    /// it is never run, nor scheduled again. Default: `None`, no limit: a missed
    /// occurrence runs once, late, as Quartz, Kubernetes and systemd do by default.
    pub catch_up_window: Option<Duration>,
    /// How long before its deadline a start job may be claimed, so a workspace that
    /// takes minutes to boot is ready at its auto-start time. The start's log line
    /// records the deadline beside the time of the call. Default: zero.
    pub start_lead: Duration,
    /// Whether the engine writes job log lines (why each job was created, moved,
    /// called, retried, completed or cancelled). Off, the job rows alone record what
    /// happened (their `error` included) and the log table takes no writes. Default:
    /// on.
    pub job_logs: bool,
    /// How long finished jobs (completed or cancelled) and their log lines are kept.
    /// The engine prunes older ones every `prune_interval`, `prune_batch` at a time;
    /// `None` keeps them forever. Default: 7 days.
    ///
    /// A completed job is what stops an occurrence from being acted on twice, so the
    /// engine never schedules an occurrence older than this (less `start_lead` for a
    /// start): it could have been acted on and pruned. Such a time is counted in
    /// `ReconcileReport::stale` and left alone; a fleet down for longer than
    /// `retention` does not catch up on what it missed. Finished jobs are kept one
    /// `lease` longer than this, a margin for clock skew between engines.
    pub retention: Option<Duration>,
    /// How often the engine prunes finished jobs older than `retention`. Default:
    /// 10 min.
    pub prune_interval: Duration,
    /// The most jobs one prune statement deletes, so no lock is held long; a prune
    /// repeats batches until one comes back short. Default: 1,000.
    pub prune_batch: usize,
    /// How long before an auto-stop deadline the engine sends
    /// [`EventKind::StopSoon`](crate::EventKind::StopSoon) to its subscribers, once per
    /// occurrence per engine, so a service can warn the workspace's user. Default:
    /// `None`, no reminders.
    pub stop_reminder: Option<Duration>,
    /// How many events each subscriber may fall behind before it misses the oldest
    /// ones ([`Events::missed`](crate::Events::missed) counts them): a slow subscriber
    /// never blocks the engine. Default: 1,024.
    pub event_buffer: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            tick_interval: Duration::from_secs(60),
            page_size: 500,
            max_concurrent_actions: 16,
            lease: Duration::from_secs(60),
            action_timeout: Duration::from_secs(300),
            retry: RetryPolicy::default(),
            transition_retry: Duration::from_secs(15),
            poll_interval: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(30),
            catch_up_window: None,
            start_lead: Duration::ZERO,
            job_logs: true,
            retention: Some(Duration::from_secs(7 * 24 * 3600)),
            prune_interval: Duration::from_secs(600),
            prune_batch: 1_000,
            stop_reminder: None,
            event_buffer: 1_024,
        }
    }
}

impl Config {
    /// Checks every field; the engine's constructor calls this.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workspace_lifecycle::{Config, RetryPolicy};
    ///
    /// let retry = RetryPolicy {
    ///     initial_backoff: Duration::from_secs(60),
    ///     max_backoff: Duration::from_secs(30),
    ///     ..RetryPolicy::default()
    /// };
    /// let config = Config { retry, ..Config::default() };
    /// assert_eq!(
    ///     config.validate().unwrap_err().to_string(),
    ///     "retry.initial_backoff (60s) must be less than retry.max_backoff (30s)"
    /// );
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the first field that is zero, a duration above
    /// [`MAX_DURATION`], a count above [`MAX_COUNT`], a lease below [`MIN_LEASE`], or
    /// out of order with another (`retry.initial_backoff` must not exceed
    /// `retry.max_backoff`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let durations = [
            ("tick_interval", self.tick_interval),
            ("lease", self.lease),
            ("action_timeout", self.action_timeout),
            ("transition_retry", self.transition_retry),
            ("poll_interval", self.poll_interval),
            ("shutdown_grace", self.shutdown_grace),
            ("retry.initial_backoff", self.retry.initial_backoff),
            ("retry.max_backoff", self.retry.max_backoff),
            (
                "catch_up_window",
                self.catch_up_window.unwrap_or(Duration::from_secs(1)),
            ),
            (
                "retention",
                self.retention.unwrap_or(Duration::from_secs(1)),
            ),
            ("prune_interval", self.prune_interval),
            (
                "stop_reminder",
                self.stop_reminder.unwrap_or(Duration::from_secs(1)),
            ),
        ];
        for (field, value) in durations {
            if value.is_zero() {
                return Err(ConfigError::Zero { field });
            }
            if value > MAX_DURATION {
                return Err(ConfigError::TooLarge {
                    field,
                    value,
                    max: MAX_DURATION,
                });
            }
        }
        let counts = [
            ("page_size", self.page_size),
            ("max_concurrent_actions", self.max_concurrent_actions),
            ("retry.max_attempts", self.retry.max_attempts as usize),
            ("prune_batch", self.prune_batch),
            ("event_buffer", self.event_buffer),
        ];
        for (field, value) in counts {
            if value == 0 {
                return Err(ConfigError::Zero { field });
            }
            if value > MAX_COUNT {
                return Err(ConfigError::CountTooLarge {
                    field,
                    value,
                    max: MAX_COUNT,
                });
            }
        }
        if self.start_lead > MAX_DURATION {
            return Err(ConfigError::TooLarge {
                field: "start_lead",
                value: self.start_lead,
                max: MAX_DURATION,
            });
        }
        if self.lease < MIN_LEASE {
            return Err(ConfigError::TooSmall {
                field: "lease",
                value: self.lease,
                min: MIN_LEASE,
            });
        }
        match self.retention {
            // The start lead moves a start's claim before its deadline; a retention no
            // longer than it would leave no occurrence young enough to schedule.
            Some(retention) if retention <= self.start_lead => {
                return Err(ConfigError::Order {
                    smaller: "start_lead",
                    smaller_value: self.start_lead,
                    larger: "retention",
                    larger_value: retention,
                })
            }
            _ => {}
        }
        if self.retry.initial_backoff > self.retry.max_backoff {
            return Err(ConfigError::Order {
                smaller: "retry.initial_backoff",
                smaller_value: self.retry.initial_backoff,
                larger: "retry.max_backoff",
                larger_value: self.retry.max_backoff,
            });
        }
        Ok(())
    }

    /// How long before its deadline a job of `operation` may be claimed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workspace_lifecycle::{Config, Operation};
    ///
    /// let config = Config { start_lead: Duration::from_secs(120), ..Config::default() };
    /// assert_eq!(config.lead(Operation::Start), Duration::from_secs(120));
    /// assert_eq!(config.lead(Operation::Stop), Duration::ZERO);
    /// ```
    pub fn lead(&self, operation: crate::job::Operation) -> Duration {
        match operation {
            crate::job::Operation::Start => self.start_lead,
            crate::job::Operation::Stop => Duration::ZERO,
        }
    }

    /// The oldest deadline of `operation` the scheduler schedules at `now`:
    /// `now - retention + lead(operation)`; `None` without a retention. Any occurrence
    /// whose completed job may have been pruned lies before it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workspace_lifecycle::{Config, Operation};
    /// # let at = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    ///
    /// let config = Config {
    ///     retention: Some(Duration::from_secs(24 * 3600)),
    ///     start_lead: Duration::from_secs(600),
    ///     ..Config::default()
    /// };
    /// let now = at("2026-01-08T08:00:00Z");
    /// assert_eq!(config.schedule_horizon(Operation::Stop, now), Some(at("2026-01-07T08:00:00Z")));
    /// assert_eq!(config.schedule_horizon(Operation::Start, now), Some(at("2026-01-07T08:10:00Z")));
    /// let keep_forever = Config { retention: None, ..config };
    /// assert_eq!(keep_forever.schedule_horizon(Operation::Stop, now), None);
    /// ```
    pub fn schedule_horizon(
        &self,
        operation: crate::job::Operation,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        self.retention.map(|retention| {
            crate::clock::add(crate::clock::sub(now, retention), self.lead(operation))
        })
    }

    /// Finished jobs that finished before this, at `now`, may be pruned:
    /// `now - retention - lease`; `None` without a retention.
    ///
    /// ```
    /// use workspace_lifecycle::Config;
    /// # let at = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    ///
    /// let config = Config::default(); // retention: 7 days; lease: 60 s
    /// let now = at("2026-01-08T08:00:00Z");
    /// assert_eq!(config.prune_cutoff(now), Some(at("2026-01-01T07:59:00Z")));
    /// assert_eq!(Config { retention: None, ..config }.prune_cutoff(now), None);
    /// ```
    pub fn prune_cutoff(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        self.retention
            .map(|retention| crate::clock::sub(crate::clock::sub(now, retention), self.lease))
    }

    /// How often a running action renews its lease: a third of the lease, so two
    /// renewals can fail before the claim expires.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workspace_lifecycle::Config;
    ///
    /// let config = Config { lease: Duration::from_secs(90), ..Config::default() };
    /// assert_eq!(config.lease_renewal(), Duration::from_secs(30));
    /// ```
    pub fn lease_renewal(&self) -> Duration {
        self.lease / 3
    }
}

/// Retries of a failed start/stop: exponential backoff with jitter.
///
/// ```
/// use workspace_lifecycle::{Config, ConfigError, RetryPolicy};
///
/// let retry = RetryPolicy { max_attempts: 3, ..RetryPolicy::default() };
/// assert!(Config { retry, ..Config::default() }.validate().is_ok());
///
/// let never = RetryPolicy { max_attempts: 0, ..RetryPolicy::default() };
/// assert_eq!(
///     Config { retry: never, ..Config::default() }.validate(),
///     Err(ConfigError::Zero { field: "retry.max_attempts" })
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (the first included) before the job is completed with its error.
    /// Default: 5.
    pub max_attempts: u32,
    /// The delay after the first failure. Default: 10 s.
    pub initial_backoff: Duration,
    /// The delay never grows past this. Default: 10 min.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(600),
        }
    }
}

impl RetryPolicy {
    /// The delay before retrying after the `failures`-th failed attempt (1-based):
    /// `initial_backoff * 2^(failures-1)`, capped at `max_backoff`, of which the upper
    /// half is jitter.
    ///
    /// The jitter is a hash of the job id and the failure count rather than a random
    /// draw: it spreads the retries of jobs that failed together (what jitter is for)
    /// while keeping a seeded run reproducible.
    ///
    /// ```
    /// use std::time::Duration;
    /// use uuid::Uuid;
    /// use workspace_lifecycle::{JobId, RetryPolicy};
    ///
    /// let policy = RetryPolicy::default();
    /// let job = JobId(Uuid::from_u128(7));
    /// let first = policy.backoff(job, 1);
    /// assert!(first >= Duration::from_secs(5) && first <= Duration::from_secs(10));
    /// assert!(policy.backoff(job, 30) <= policy.max_backoff);
    /// ```
    pub fn backoff(&self, job: JobId, failures: u32) -> Duration {
        // 2^31 times any positive initial backoff already exceeds MAX_DURATION, so
        // capping the exponent there changes nothing and keeps the shift in range.
        let exponent = failures.saturating_sub(1).min(31);
        let full = self
            .initial_backoff
            .saturating_mul(1u32 << exponent)
            .min(self.max_backoff);
        let half = full / 2;
        let fraction =
            splitmix64(job.0.as_u64_pair().0 ^ job.0.as_u64_pair().1 ^ u64::from(failures));
        // (fraction >> 11) is below 2^53, so the f64 is exact and in [0, 1).
        let jitter = half.mul_f64((fraction >> 11) as f64 / (1u64 << 53) as f64);
        full - half + jitter
    }
}

/// SplitMix64: a fast, well-mixed 64-bit hash step.
pub(crate) fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn default_config_is_valid() {
        assert_eq!(Config::default().validate(), Ok(()));
    }

    #[test]
    fn zero_and_huge_values_are_rejected_by_name() {
        let c = Config {
            max_concurrent_actions: 0,
            ..Config::default()
        };
        assert_eq!(
            c.validate(),
            Err(ConfigError::Zero {
                field: "max_concurrent_actions"
            })
        );
        let c = Config {
            action_timeout: Duration::MAX,
            ..Config::default()
        };
        assert!(matches!(
            c.validate(),
            Err(ConfigError::TooLarge {
                field: "action_timeout",
                ..
            })
        ));
        let c = Config {
            retry: RetryPolicy {
                initial_backoff: Duration::from_secs(60),
                max_backoff: Duration::from_secs(1),
                ..RetryPolicy::default()
            },
            ..Config::default()
        };
        assert!(matches!(c.validate(), Err(ConfigError::Order { .. })));
    }

    #[test]
    fn backoff_grows_exponentially_within_jitter_bounds() {
        let p = RetryPolicy::default();
        for n in 1..=8u32 {
            let full = (p.initial_backoff * 2u32.pow(n - 1)).min(p.max_backoff);
            for id in 0..50u128 {
                let d = p.backoff(JobId(Uuid::from_u128(id * 7919)), n);
                assert!(d >= full / 2 && d <= full, "n={n} d={d:?} full={full:?}");
            }
        }
    }

    #[test]
    fn backoff_never_overflows() {
        let p = RetryPolicy {
            max_attempts: u32::MAX,
            initial_backoff: MAX_DURATION,
            max_backoff: MAX_DURATION,
        };
        for n in [0, 1, 31, 32, 33, 64, u32::MAX] {
            let d = p.backoff(JobId(Uuid::from_u128(1)), n);
            assert!(d >= MAX_DURATION / 2 && d <= MAX_DURATION, "n={n}");
        }
        let d = RetryPolicy::default().backoff(JobId(Uuid::from_u128(1)), u32::MAX);
        assert!(d <= RetryPolicy::default().max_backoff);
    }

    #[test]
    fn tiny_lease_and_huge_counts_are_rejected() {
        let c = Config {
            lease: Duration::from_millis(10),
            ..Config::default()
        };
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "lease is 10ms, below the minimum of 1s"
        );
        let c = Config {
            max_concurrent_actions: usize::MAX,
            ..Config::default()
        };
        assert!(matches!(
            c.validate(),
            Err(ConfigError::CountTooLarge {
                field: "max_concurrent_actions",
                ..
            })
        ));
    }

    #[test]
    fn backoff_jitter_spreads_jobs() {
        let p = RetryPolicy::default();
        let distinct: std::collections::HashSet<_> = (0..100u128)
            .map(|id| p.backoff(JobId(Uuid::from_u128(id)), 3))
            .collect();
        assert!(distinct.len() > 50);
    }
}
