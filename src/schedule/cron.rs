//! [`Schedule`]: a parsed cron pattern in its zone, and the search for its next
//! occurrence under the daylight-saving rules of the [`schedule`](crate::schedule)
//! module docs.

use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone,
    Timelike, Utc,
};
use chrono_tz::Tz;

use super::field::{bits, parse_field, write_field, Bits, Field, ScheduleError};

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

    /// Whether times skipped by a daylight-saving jump still run (see the
    /// [`schedule`](crate::schedule) module docs).
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

    /// The first occurrence strictly after `after`, by the rules in the
    /// [`schedule`](crate::schedule) module docs; `None` if there is none within 400
    /// years, or none that chrono can represent (`after` near `DateTime::MAX_UTC`).
    /// Patterns that could never fire (`0 0 31 2 *`) are refused by the parser, so the
    /// 400-year scan is only a bound: every accepted pattern fires within it.
    ///
    /// ```
    /// use chrono::{DateTime, Utc};
    /// use workspace_lifecycle::schedule::Schedule;
    ///
    /// let daily: Schedule = "0 9 * * *".parse().unwrap();
    /// let nine = "2026-01-05T09:00:00Z".parse().unwrap();
    /// // Strictly after: an occurrence is never its own successor.
    /// assert_eq!(daily.next_after(nine).unwrap().to_rfc3339(), "2026-01-06T09:00:00+00:00");
    /// assert_eq!(daily.next_after(DateTime::<Utc>::MAX_UTC), None);
    /// assert!("0 0 30 2 *".parse::<Schedule>().is_err());
    /// ```
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Checked: at chrono's limits the local time (or a day before it) is not
        // representable, and `with_timezone` would panic.
        let offset = self.zone.offset_from_utc_datetime(&after.naive_utc()).fix();
        let after_local = after.naive_utc().checked_add_offset(offset)?;
        // No wall time more than a day before `after` can map past it (gaps are hours).
        let horizon = after_local
            .checked_sub_signed(TimeDelta::days(1))
            .unwrap_or(NaiveDateTime::MIN);
        let start = after_local.date();
        // The day before too: a time in the previous day can map forward past a gap.
        let mut date = start.pred_opt().unwrap_or(start);
        let last = start
            .checked_add_signed(TimeDelta::days(400 * 366))
            .unwrap_or(NaiveDate::MAX);
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
            date = match date.succ_opt() {
                Some(next) => next,
                None => break,
            };
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
                    probe = probe.checked_add_signed(TimeDelta::minutes(1))?;
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
        // With the weekday starred, a day must match the day-of-month: if no listed
        // month has one of its days, the pattern never fires, and `next_after` would
        // scan its whole 400-year horizon on every call. (With both day fields
        // restricted every month has each weekday, and a starred day-of-month holds 1.)
        if !star[2] && star[4] && !days_fit_months(sets[2], sets[3]) {
            return Err(ScheduleError::Never {
                days: fields[2].to_owned(),
                months: fields[3].to_owned(),
            });
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

/// Whether some listed month has some listed day (29 February counts: leap years).
fn days_fit_months(days: Bits, months: Bits) -> bool {
    bits(months).any(|month| {
        let longest = match month {
            2 => 29,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        bits(days).any(|day| day <= longest)
    })
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
