//! One field of a cron pattern: its range and names, its parsing into a set of
//! values, its canonical text, and the errors that name it.

use std::fmt;

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
    pub(super) const ALL: [Field; 5] = [
        Field::Minute,
        Field::Hour,
        Field::DayOfMonth,
        Field::Month,
        Field::DayOfWeek,
    ];

    pub(super) fn range(self) -> (u32, u32) {
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
    /// A day-of-month that none of the listed months has (`0 0 31 2 *`): the pattern
    /// could never fire.
    #[error("day-of-month field: {days:?} falls in none of the months {months:?}")]
    Never {
        /// The day-of-month field's text.
        days: String,
        /// The month field's text.
        months: String,
    },
    /// `CRON_TZ=Local` or an unknown zone.
    #[error("time zone {0:?} is not an IANA zone name like Europe/Berlin (Local is not allowed)")]
    Zone(String),
}

/// A set of field values as a bitmask (bit n = value n).
pub(super) type Bits = u64;

pub(super) fn bits(set: Bits) -> impl Iterator<Item = u32> {
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
pub(super) fn parse_field(field: Field, text: &str) -> Result<(Bits, bool), ScheduleError> {
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
        // A step past the range gives only the start, as in classic cron; checked so
        // a step near `u32::MAX` cannot wrap back into the range.
        let mut v = Some(lo);
        while let Some(value) = v.filter(|value| *value <= hi) {
            set |= 1 << value;
            v = value.checked_add(step);
        }
    }
    if field == Field::DayOfWeek && set & (1 << 7) != 0 {
        // 7 is Sunday, like 0.
        set = (set & !(1 << 7)) | 1;
    }
    Ok((set, star))
}

/// Writes a set as `*` or `*/n` (then any values that misses) if starred, else as a
/// canonical list of values and ranges.
pub(super) fn write_field(
    f: &mut fmt::Formatter<'_>,
    field: Field,
    set: Bits,
    star: bool,
) -> fmt::Result {
    let (min, max) = field.range();
    let max = if field == Field::DayOfWeek { 6 } else { max };
    let mut values: Vec<u32> = bits(set).collect();
    let mut first = true;
    if star {
        // A starred field holds its minimum (`*` and `*/n` start there), so some step
        // fits inside it: `*/(max - min + 1)` is the minimum alone. The smallest step
        // that fits, then the values it misses, parses back to the same set and star
        // (`*/30,15`, not `*/15`).
        let steps = |step: u32| (min..=max).step_by(step as usize);
        let step = (1..=max - min + 1)
            .find(|step| steps(*step).all(|v| set & (1 << v) != 0))
            .unwrap_or(max - min + 1);
        if step == 1 {
            f.write_str("*")?;
        } else {
            write!(f, "*/{step}")?;
        }
        values.retain(|v| !steps(step).any(|s| s == *v));
        first = false;
    }
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
