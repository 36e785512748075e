//! `prune --older-than`'s ages: a whole number and one unit, `45s`, `90m`, `12h`, `30d`.
//!
//! Deliberately small: an operator types one of these at a prompt, and a typo must be
//! refused with a message that says what is expected rather than guessed at.

use chrono::TimeDelta;

/// What every refusal says is expected.
const EXPECTED: &str = "expected a number followed by s, m, h or d (like 45s, 90m, 12h or 30d)";

/// An age as typed (kept to echo it back) and as a span of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Age {
    /// The number typed.
    pub count: u64,
    /// Its unit: `s`, `m`, `h` or `d`.
    pub unit: char,
    /// `count` units.
    pub delta: TimeDelta,
}

impl std::fmt::Display for Age {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.count, self.unit)
    }
}

/// Parses an age; clap calls it for `--older-than`, so a bad one is refused before
/// the database is contacted.
///
/// # Errors
///
/// A message saying what is expected, for anything but digits and one unit letter, or
/// an age too long to subtract from any date.
pub fn parse_age(text: &str) -> Result<Age, String> {
    let invalid = || format!("invalid duration {text:?}: {EXPECTED}");
    let unit = text.chars().last().ok_or_else(invalid)?;
    let digits = &text[..text.len() - unit.len_utf8()];
    // `u64::from_str` accepts a leading `+`; an age is digits only.
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let too_long = || format!("invalid duration {text:?}: longer than a million years");
    // Only digits are left, so a parse error is an overflow.
    let count: u64 = digits.parse().map_err(|_| too_long())?;
    let seconds_per_unit: i64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 60 * 60,
        'd' => 24 * 60 * 60,
        _ => return Err(invalid()),
    };
    // A million years is past any retention period and far inside TimeDelta's range,
    // so the cutoff `now - age` can always be computed.
    const MAX_SECONDS: i64 = 1_000_000 * 366 * 24 * 60 * 60;
    let delta = i64::try_from(count)
        .ok()
        .and_then(|count| count.checked_mul(seconds_per_unit))
        .filter(|seconds| *seconds <= MAX_SECONDS)
        .and_then(TimeDelta::try_seconds)
        .ok_or_else(too_long)?;
    Ok(Age { count, unit, delta })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_unit_is_understood() {
        let cases = [
            ("45s", 45),
            ("90m", 90 * 60),
            ("12h", 12 * 3600),
            ("30d", 30 * 86_400),
            ("0s", 0),
        ];
        for (text, seconds) in cases {
            let age = parse_age(text).unwrap();
            assert_eq!(age.delta, TimeDelta::seconds(seconds), "{text}");
            assert_eq!(age.to_string(), text);
        }
    }

    #[test]
    fn anything_else_is_refused_with_what_is_expected() {
        for text in [
            "", "7x", "7", "d", "-5d", "+5d", "1.5h", " 5d", "5d ", "5 d", "5dd", "5D", "5é",
        ] {
            let error = parse_age(text).unwrap_err();
            assert!(
                error.starts_with(&format!("invalid duration {text:?}: expected a number")),
                "{text:?}: {error}"
            );
        }
    }

    #[test]
    fn absurd_lengths_are_refused_not_overflowed() {
        for text in [
            "99999999999999999999d",
            "18446744073709551615s",
            "400000000d",
        ] {
            assert!(parse_age(text).is_err(), "{text}");
        }
        assert!(parse_age("36500d").is_ok());
    }
}
