//! [`AutoStop`]: the TTL auto-stop policy, capped by a maximum lifetime and kept clear
//! of the next auto-start.

use chrono::{DateTime, Utc};

/// An auto-stop policy: stop a workspace `ttl` after it started, never later than
/// `max_lifetime` after it started, however often activity bumps the deadline.
///
/// A deadline that would land at or after the workspace's next auto-start moves to
/// that auto-start plus `ttl`: the workspace stays up through the morning start (which
/// finds it running and counts as done) and its TTL counts from there. Coder's users
/// hit both ways of getting this wrong (coder/coder#2028, #3064): a deadline pushed past
/// the auto-start silently swallowed the start, and a stop scheduled just before it
/// races it, since a stop that takes longer than the gap finishes after the start time
/// and the next auto-start, computed from the last stop, is then tomorrow's. Both
/// ways lose a morning start; keeping the workspace up loses none.
///
/// ```
/// use std::time::Duration;
/// use workspace_lifecycle::schedule::AutoStop;
///
/// let policy = AutoStop::new(Duration::from_secs(8 * 3600)).with_max_lifetime(Duration::from_secs(12 * 3600));
/// let started = "2026-01-05T09:00:00Z".parse().unwrap();
/// let deadline = policy.deadline(started, None);
/// assert_eq!(deadline.to_rfc3339(), "2026-01-05T17:00:00+00:00");
/// // Activity at 16:00 bumps it to 16:00 + 8 h, capped at 21:00 (12 h after the start).
/// let bumped = policy.bump(deadline, started, "2026-01-05T16:00:00Z".parse().unwrap(), None);
/// assert_eq!(bumped.to_rfc3339(), "2026-01-05T21:00:00+00:00");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AutoStop {
    ttl: std::time::Duration,
    max_lifetime: Option<std::time::Duration>,
}

impl AutoStop {
    /// Stop `ttl` after the start (or after the last activity, with [`bump`](Self::bump)).
    ///
    /// ```
    /// use std::time::Duration;
    /// use workspace_lifecycle::schedule::AutoStop;
    ///
    /// let policy = AutoStop::new(Duration::from_secs(8 * 3600));
    /// let started = "2026-01-05T09:00:00Z".parse().unwrap();
    /// assert_eq!(policy.deadline(started, None).to_rfc3339(), "2026-01-05T17:00:00+00:00");
    /// ```
    pub fn new(ttl: std::time::Duration) -> Self {
        AutoStop {
            ttl,
            max_lifetime: None,
        }
    }

    /// Never later than `max_lifetime` after the start.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workspace_lifecycle::schedule::AutoStop;
    ///
    /// let hours = |h: u64| Duration::from_secs(h * 3600);
    /// let policy = AutoStop::new(hours(8)).with_max_lifetime(hours(10));
    /// let started = "2026-01-05T09:00:00Z".parse().unwrap();
    /// let deadline = policy.deadline(started, None);
    /// // Activity at 16:00 asks for midnight; the cap holds it to 19:00.
    /// let activity = "2026-01-05T16:00:00Z".parse().unwrap();
    /// let bumped = policy.bump(deadline, started, activity, None);
    /// assert_eq!(bumped.to_rfc3339(), "2026-01-05T19:00:00+00:00");
    /// ```
    pub fn with_max_lifetime(self, max_lifetime: std::time::Duration) -> Self {
        AutoStop {
            max_lifetime: Some(max_lifetime),
            ..self
        }
    }

    fn cap(
        &self,
        started_at: DateTime<Utc>,
        at: DateTime<Utc>,
        next_start: Option<DateTime<Utc>>,
    ) -> DateTime<Utc> {
        let at = match next_start.filter(|next| *next > started_at && at >= *next) {
            Some(next) => crate::clock::add(next, self.ttl),
            None => at,
        };
        match self.max_lifetime {
            Some(max) => at.min(crate::clock::add(started_at, max)),
            None => at,
        }
    }

    /// The auto-stop time of a workspace that started at `started_at`, whose next
    /// auto-start (if any) is `next_start`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workspace_lifecycle::schedule::AutoStop;
    ///
    /// let policy = AutoStop::new(Duration::from_secs(14 * 3600));
    /// let started = "2026-01-05T20:00:00Z".parse().unwrap();
    /// let next_start = "2026-01-06T09:00:00Z".parse().unwrap();
    /// // 10:00 would come after the 09:00 auto-start: stay up through it, TTL from there.
    /// let deadline = policy.deadline(started, Some(next_start));
    /// assert_eq!(deadline.to_rfc3339(), "2026-01-06T23:00:00+00:00");
    /// ```
    pub fn deadline(
        &self,
        started_at: DateTime<Utc>,
        next_start: Option<DateTime<Utc>>,
    ) -> DateTime<Utc> {
        self.cap(
            started_at,
            crate::clock::add(started_at, self.ttl),
            next_start,
        )
    }

    /// The deadline after activity at `activity_at`: `activity_at + ttl` if that is
    /// later than `current`, never earlier than `current`, never past the cap.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workspace_lifecycle::schedule::AutoStop;
    ///
    /// let policy = AutoStop::new(Duration::from_secs(8 * 3600));
    /// let started = "2026-01-05T09:00:00Z".parse().unwrap();
    /// let at = |t: &str| t.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    /// let deadline = at("2026-01-05T17:00:00Z");
    /// let bumped = policy.bump(deadline, started, at("2026-01-05T12:00:00Z"), None);
    /// assert_eq!(bumped.to_rfc3339(), "2026-01-05T20:00:00+00:00");
    /// // Older activity, reported late, never brings the deadline forward.
    /// let again = policy.bump(bumped, started, at("2026-01-05T11:00:00Z"), None);
    /// assert_eq!(again, bumped);
    /// ```
    pub fn bump(
        &self,
        current: DateTime<Utc>,
        started_at: DateTime<Utc>,
        activity_at: DateTime<Utc>,
        next_start: Option<DateTime<Utc>>,
    ) -> DateTime<Utc> {
        let wanted = crate::clock::add(activity_at, self.ttl).max(current);
        self.cap(started_at, wanted, next_start).max(current)
    }
}
