//! Auto-start schedules: 5-field cron patterns evaluated in a time zone, exactly right
//! across daylight saving.
//!
//! A [`Schedule`] is parsed from `minute hour day-of-month month day-of-week`, with an
//! optional `CRON_TZ=Area/City` prefix (UTC without it). Fields take numbers, `*`,
//! ranges (`1-5`), steps (`*/15`, `0-30/10`), lists (`1,15,30`), and month and weekday
//! names (`JAN`, `MON-FRI`); weekday 0 and 7 are both Sunday. As in classic cron, when
//! both day fields are restricted a day matches if either does.
//!
//! ```
//! use workspace_lifecycle::schedule::Schedule;
//!
//! let weekdays_at_nine: Schedule = "CRON_TZ=Europe/Berlin 0 9 * * MON-FRI".parse().unwrap();
//! let friday_evening = "2026-03-27T18:00:00Z".parse().unwrap();
//! // Monday 30 March, 09:00 in Berlin (summer time began on the Sunday): 07:00 UTC.
//! assert_eq!(
//!     weekdays_at_nine.next_after(friday_evening).unwrap().to_rfc3339(),
//!     "2026-03-30T07:00:00+00:00"
//! );
//! assert_eq!(
//!     "hour field: 25 is out of range 0-23",
//!     "0 25 * * *".parse::<Schedule>().unwrap_err().to_string()
//! );
//! ```
//!
//! # Daylight saving
//!
//! Local times are matched on the wall clock of the schedule's zone, and weekdays are
//! judged there too. Where the wall clock jumps:
//!
//! - **Skipped times** (spring forward): a *fixed-time* pattern, one whose minute and
//!   hour fields are not `*` or `*/n` (values, lists and ranges such as `1-3` or
//!   `0-23/2` all count as fixed), runs a time in the skipped hour once, at the
//!   first valid instant after the gap: `30 2 * * *` in Berlin on the last Sunday of
//!   March runs at 03:00 local. A *wildcard* pattern (minute or hour `*` or `*/n`)
//!   does not: those times never happen, and the next matching time that does happen
//!   serves the same purpose. (This is Vixie cron's rule: a fixed time is an
//!   appointment someone expects kept; a wildcard is a frequency.)
//! - **Repeated times** (fall back): every pattern runs a repeated local time once, at
//!   its first occurrence: `30 1 * * *` in New York on the first Sunday of November
//!   runs at 01:30 EDT, not again at 01:30 EST. Unlike Vixie cron, wildcard patterns
//!   do not run twice in the repeated hour either: for starting a workspace a second
//!   run would only be a no-op that costs an occurrence.

use chrono::{DateTime, Utc};

mod auto_stop;
mod cron;
mod field;

pub use auto_stop::AutoStop;
pub use cron::Schedule;
pub use field::{Field, ScheduleError};

/// The auto-start time a workspace's snapshot should carry: the schedule's first
/// occurrence after the workspace last stopped. Computed from the last stop rather
/// than from now, so an occurrence missed while the whole fleet was down is still
/// reported (and run once, late) instead of silently skipped.
///
/// ```
/// use workspace_lifecycle::schedule::{auto_start_at, Schedule};
///
/// let daily: Schedule = "0 9 * * *".parse().unwrap();
/// // Stopped Monday evening; even if it is Wednesday by now, Tuesday's start is the
/// // one reported, so it runs (late) rather than being skipped.
/// let at = auto_start_at(&daily, "2026-01-05T18:00:00Z".parse().unwrap()).unwrap();
/// assert_eq!(at.to_rfc3339(), "2026-01-06T09:00:00+00:00");
/// ```
pub fn auto_start_at(schedule: &Schedule, last_stopped_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    schedule.next_after(last_stopped_at)
}

/// The auto-stop time a running workspace's snapshot should carry, given when it last
/// started and its schedule (for the next auto-start).
///
/// ```
/// use std::time::Duration;
/// use workspace_lifecycle::schedule::{auto_stop_at, AutoStop, Schedule};
///
/// let policy = AutoStop::new(Duration::from_secs(14 * 3600));
/// let daily: Schedule = "0 9 * * *".parse().unwrap();
/// let started = "2026-01-05T20:00:00Z".parse().unwrap();
/// let alone = auto_stop_at(&policy, started, None);
/// assert_eq!(alone.to_rfc3339(), "2026-01-06T10:00:00+00:00");
/// // With the daily 09:00 start, it stays up through it instead.
/// let scheduled = auto_stop_at(&policy, started, Some(&daily));
/// assert_eq!(scheduled.to_rfc3339(), "2026-01-06T23:00:00+00:00");
/// ```
pub fn auto_stop_at(
    policy: &AutoStop,
    last_started_at: DateTime<Utc>,
    schedule: Option<&Schedule>,
) -> DateTime<Utc> {
    let next_start = schedule.and_then(|s| s.next_after(last_started_at));
    policy.deadline(last_started_at, next_start)
}
