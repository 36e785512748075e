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

use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;

/// A field of a cron pattern.
///
/// ```
/// use workspace_lifecycle::schedule::{Field, Schedule, ScheduleError};
///
/// let error = "0 9 * * FUNDAY".parse::<Schedule>().unwrap_err();
/// assert!(matches!(error, ScheduleError::Invalid { field: Field::DayOfWeek, .. }));
/// assert_eq!(Field::DayOfWeek.to_string(), "day-of-week");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// Minutes, 0-59.
    Minute,
    /// Hours, 0-23.
    Hour,
    /// Day of the month, 1-31.
    DayOfMonth,
    /// Month, 1-12 or `JAN`-`DEC`.
    Month,
    /// Day of the week, 0-7 (0 and 7 are Sunday) or `SUN`-`SAT`.
    DayOfWeek,
}

impl Field {
    const ALL: [Field; 5] = [
        Field::Minute,
        Field::Hour,
        Field::DayOfMonth,
        Field::Month,
        Field::DayOfWeek,
    ];

    fn range(self) -> (u32, u32) {
        match self {
            Field::Minute => (0, 59),
            Field::Hour => (0, 23),
            Field::DayOfMonth => (1, 31),
            Field::Month => (1, 12),
            Field::DayOfWeek => (0, 7),
        }
    }

    fn names(self) -> &'static [&'static str] {
        match self {
            Field::Month => &[
                "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
            ],
            Field::DayOfWeek => &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
            _ => &[],
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Minute => "minute",
            Field::Hour => "hour",
            Field::DayOfMonth => "day-of-month",
            Field::Month => "month",
            Field::DayOfWeek => "day-of-week",
        })
    }
}

/// Why a pattern was rejected; names the field and the offending text.
///
/// ```
/// use workspace_lifecycle::schedule::{Schedule, ScheduleError};
///
/// let parse = |pattern: &str| pattern.parse::<Schedule>().unwrap_err();
/// assert!(matches!(parse("0 9 * *"), ScheduleError::FieldCount { got: 4, .. }));
/// // A server's local zone is not a schedule's zone: the same pattern would run at
/// // different times on different replicas.
/// assert_eq!(parse("CRON_TZ=Local 0 9 * * *"), ScheduleError::Zone("Local".into()));
/// assert_eq!(
///     parse("0 9-5 * * *").to_string(),
///     "hour field: \"9-5\" is an empty range or step"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// Not five fields.
    #[error(
        "expected 5 fields (minute hour day-of-month month day-of-week), got {got} in {pattern:?}"
    )]
    FieldCount {
        /// How many fields there were.
        got: usize,
        /// The pattern, without its zone prefix.
        pattern: String,
    },
    /// A number outside the field's range.
    #[error("{field} field: {value} is out of range {min}-{max}")]
    OutOfRange {
        /// The field.
        field: Field,
        /// The number.
        value: u32,
        /// The smallest allowed.
        min: u32,
        /// The largest allowed.
        max: u32,
    },
    /// Text that is not a number, name, range, step or list.
    #[error("{field} field: {text:?} is not a valid value")]
    Invalid {
        /// The field.
        field: Field,
        /// The offending text.
        text: String,
    },
    /// A range whose start is after its end, or a zero step.
    #[error("{field} field: {text:?} is an empty range or step")]
    Empty {
        /// The field.
        field: Field,
        /// The offending text.
        text: String,
    },
    /// `CRON_TZ=Local` or an unknown zone.
    #[error("time zone {0:?} is not an IANA zone name like Europe/Berlin (Local is not allowed)")]
    Zone(String),
}

/// A set of field values as a bitmask (bit n = value n).
type Bits = u64;

/// An auto-start schedule: a cron pattern and the zone it is read in.
///
/// ```
/// use workspace_lifecycle::schedule::Schedule;
///
/// let schedule: Schedule = "CRON_TZ=Europe/Berlin 0 9 * * MON-FRI".parse().unwrap();
/// // `Display` gives the canonical pattern, which parses back to an equal schedule.
/// assert_eq!(schedule.to_string(), "CRON_TZ=Europe/Berlin 0 9 * * 1-5");
/// assert_eq!(schedule.to_string().parse::<Schedule>().unwrap(), schedule);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    zone: Tz,
    minutes: Bits,
    hours: Bits,
    days: Bits,
    months: Bits,
    weekdays: Bits,
    /// Which fields were written `*` or `*/n` (the day fields' "or" rule and the
    /// fixed-time rule depend on it, and `Display` keeps it).
    star: [bool; 5],
}

impl Schedule {
    /// The zone the pattern is read in.
    ///
    /// ```
    /// use chrono_tz::Tz;
    /// use workspace_lifecycle::schedule::Schedule;
    ///
    /// let berlin: Schedule = "CRON_TZ=Europe/Berlin 0 9 * * *".parse().unwrap();
    /// assert_eq!(berlin.zone(), Tz::Europe__Berlin);
    /// assert_eq!("0 9 * * *".parse::<Schedule>().unwrap().zone(), Tz::UTC);
    /// ```
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// Whether times skipped by a daylight-saving jump still run (see the module docs).
    ///
    /// ```
    /// use workspace_lifecycle::schedule::Schedule;
    ///
    /// let fixed = |pattern: &str| pattern.parse::<Schedule>().unwrap().is_fixed_time();
    /// assert!(fixed("30 2 * * *"));
    /// assert!(fixed("0 0-23/2 * * *")); // a range with a step still counts as fixed
    /// assert!(!fixed("*/15 * * * *"));
    /// ```
    pub fn is_fixed_time(&self) -> bool {
        !self.star[0] && !self.star[1]
    }

    fn matches_date(&self, date: NaiveDate) -> bool {
        let day = self.days & (1 << date.day()) != 0;
        let weekday = self.weekdays & (1 << date.weekday().num_days_from_sunday()) != 0;
        let month = self.months & (1 << date.month()) != 0;
        let days = match (self.star[2], self.star[4]) {
            (false, false) => day || weekday,
            _ => day && weekday,
        };
        month && days
    }

    /// Whether a local wall-clock time matches the pattern.
    ///
    /// ```
    /// use workspace_lifecycle::schedule::Schedule;
    ///
    /// let weekdays: Schedule = "CRON_TZ=Europe/Berlin 0 9 * * MON-FRI".parse().unwrap();
    /// assert!(weekdays.matches_local("2026-01-05T09:00:00".parse().unwrap())); // Monday
    /// assert!(!weekdays.matches_local("2026-01-04T09:00:00".parse().unwrap())); // Sunday
    /// ```
    pub fn matches_local(&self, local: NaiveDateTime) -> bool {
        self.matches_date(local.date())
            && self.hours & (1 << local.hour()) != 0
            && self.minutes & (1 << local.minute()) != 0
    }

    /// The first occurrence strictly after `after`, by the rules in the module docs;
    /// `None` if there is none within 400 years (a pattern like `0 0 30 2 *`).
    ///
    /// ```
    /// use workspace_lifecycle::schedule::Schedule;
    ///
    /// let daily: Schedule = "0 9 * * *".parse().unwrap();
    /// let nine = "2026-01-05T09:00:00Z".parse().unwrap();
    /// // Strictly after: an occurrence is never its own successor.
    /// assert_eq!(daily.next_after(nine).unwrap().to_rfc3339(), "2026-01-06T09:00:00+00:00");
    /// let never: Schedule = "0 0 30 2 *".parse().unwrap();
    /// assert_eq!(never.next_after(nine), None);
    /// ```
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let after_local = after.with_timezone(&self.zone).naive_local();
        // No wall time more than a day before `after` can map past it (gaps are hours).
        let horizon = after_local - TimeDelta::days(1);
        let start = after_local.date();
        // The day before too: a time in the previous day can map forward past a gap.
        let mut date = start.pred_opt()?;
        let last = start.checked_add_signed(TimeDelta::days(400 * 366))?;
        while date <= last {
            if self.matches_date(date) {
                for hour in bits(self.hours) {
                    for minute in bits(self.minutes) {
                        let Some(local) = date.and_hms_opt(hour, minute, 0) else {
                            continue;
                        };
                        if local < horizon {
                            continue;
                        }
                        if let Some(at) = self.instant(local) {
                            if at > after {
                                return Some(at);
                            }
                        }
                    }
                }
            }
            date = date.succ_opt()?;
        }
        None
    }

    /// When a matching local time runs: its first occurrence, or for a skipped time
    /// of a fixed-time pattern the first valid instant after the gap.
    fn instant(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self.zone.from_local_datetime(&local) {
            LocalResult::Single(at) => Some(at.with_timezone(&Utc)),
            LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
            LocalResult::None if self.is_fixed_time() => {
                // Gaps are at most a few hours; step to the first wall time that exists.
                let mut probe = local;
                for _ in 0..(24 * 60) {
                    probe += TimeDelta::minutes(1);
                    match self.zone.from_local_datetime(&probe) {
                        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => {
                            return Some(at.with_timezone(&Utc))
                        }
                        LocalResult::None => {}
                    }
                }
                None
            }
            LocalResult::None => None,
        }
    }
}

fn bits(set: Bits) -> impl Iterator<Item = u32> {
    (0..64).filter(move |n| set & (1 << n) != 0)
}

fn parse_value(field: Field, text: &str) -> Result<u32, ScheduleError> {
    let (min, max) = field.range();
    if let Some(i) = field
        .names()
        .iter()
        .position(|n| n.eq_ignore_ascii_case(text))
    {
        let offset = if field == Field::Month { 1 } else { 0 };
        return Ok(i as u32 + offset);
    }
    let value: u32 = text.parse().map_err(|_| ScheduleError::Invalid {
        field,
        text: text.to_owned(),
    })?;
    if value < min || value > max {
        return Err(ScheduleError::OutOfRange {
            field,
            value,
            min,
            max,
        });
    }
    Ok(value)
}

/// Parses one field into its set; also says whether it was written `*` or `*/n`.
fn parse_field(field: Field, text: &str) -> Result<(Bits, bool), ScheduleError> {
    let (min, max) = field.range();
    let mut set: Bits = 0;
    let star = text == "*" || text.starts_with("*/");
    for part in text.split(',') {
        let empty = || ScheduleError::Empty {
            field,
            text: part.to_owned(),
        };
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step.parse().map_err(|_| ScheduleError::Invalid {
                    field,
                    text: part.to_owned(),
                })?;
                if step == 0 {
                    return Err(empty());
                }
                (range, step)
            }
            None => (part, 1),
        };
        let (lo, hi) = match range {
            "*" => (min, max),
            _ => match range.split_once('-') {
                Some((lo, hi)) if lo.is_empty() || hi.is_empty() => {
                    return Err(ScheduleError::Invalid {
                        field,
                        text: part.to_owned(),
                    })
                }
                Some((lo, hi)) => (parse_value(field, lo)?, parse_value(field, hi)?),
                None => {
                    let v = parse_value(field, range)?;
                    // `5/10` means from 5 to the end in steps of 10.
                    (v, if part.contains('/') { max } else { v })
                }
            },
        };
        if lo > hi {
            return Err(empty());
        }
        let mut v = lo;
        while v <= hi {
            set |= 1 << v;
            v += step;
        }
    }
    if field == Field::DayOfWeek && set & (1 << 7) != 0 {
        // 7 is Sunday, like 0.
        set = (set & !(1 << 7)) | 1;
    }
    Ok((set, star))
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (zone, pattern) = match text.strip_prefix("CRON_TZ=") {
            Some(rest) => {
                let (name, pattern) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                if name.eq_ignore_ascii_case("local") {
                    return Err(ScheduleError::Zone(name.to_owned()));
                }
                let zone: Tz = name
                    .parse()
                    .map_err(|_| ScheduleError::Zone(name.to_owned()))?;
                (zone, pattern)
            }
            None => (Tz::UTC, text),
        };
        let fields: Vec<&str> = pattern.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(ScheduleError::FieldCount {
                got: fields.len(),
                pattern: pattern.to_owned(),
            });
        }
        let mut sets = [0; 5];
        let mut star = [false; 5];
        for (i, (field, text)) in Field::ALL.iter().zip(&fields).enumerate() {
            (sets[i], star[i]) = parse_field(*field, text)?;
        }
        Ok(Schedule {
            zone,
            minutes: sets[0],
            hours: sets[1],
            days: sets[2],
            months: sets[3],
            weekdays: sets[4],
            star,
        })
    }
}

/// Writes a set as `*`, `*/n`, or a canonical list of values and ranges.
fn write_field(f: &mut fmt::Formatter<'_>, field: Field, set: Bits, star: bool) -> fmt::Result {
    let (min, max) = field.range();
    let max = if field == Field::DayOfWeek { 6 } else { max };
    if star {
        // A starred field is `*` or `*/n` from the field's minimum.
        let values: Vec<u32> = bits(set).collect();
        let step = values.get(1).map_or(max - min + 1, |second| second - min);
        return if step == 1 {
            f.write_str("*")
        } else {
            write!(f, "*/{step}")
        };
    }
    let values: Vec<u32> = bits(set).collect();
    let mut first = true;
    let mut i = 0;
    while i < values.len() {
        let mut j = i;
        while j + 1 < values.len() && values[j + 1] == values[j] + 1 {
            j += 1;
        }
        if !first {
            f.write_str(",")?;
        }
        first = false;
        if j > i {
            write!(f, "{}-{}", values[i], values[j])?;
        } else {
            write!(f, "{}", values[i])?;
        }
        i = j + 1;
    }
    Ok(())
}

impl fmt::Display for Schedule {
    /// The canonical pattern, which parses back to an equal schedule.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.zone != Tz::UTC {
            write!(f, "CRON_TZ={} ", self.zone.name())?;
        }
        let sets = [
            self.minutes,
            self.hours,
            self.days,
            self.months,
            self.weekdays,
        ];
        for (i, field) in Field::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write_field(f, *field, sets[i], self.star[i])?;
        }
        Ok(())
    }
}

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
