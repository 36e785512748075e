//! Fuzzes the cron parser, the crate's main untrusted input, and `next_after` on what it
//! accepts. The input is a header (a flag byte, a zone byte, eight bytes of probe time)
//! and the pattern text (lossily decoded); with the flag's low bit set, the text gets a
//! `CRON_TZ=` prefix for one of a few zones with daylight saving, so the fuzzer reaches
//! zoned patterns without spelling a zone name. Asserts:
//!
//! - parsing never panics, and an error's message never panics either;
//! - `Display` round trips: the printed pattern parses back to an equal schedule with the
//!   same next times from every probe instant;
//! - `next_after(t)` is strictly after `t`, chaining it is strictly increasing, and each
//!   time matches the pattern on the zone's wall clock, or (fixed-time patterns only) is
//!   the first instant after a daylight-saving gap;
//! - probes at chrono's limits (`MIN_UTC`, `MAX_UTC`) give `None` or a later time, never
//!   a panic.
//!
//! RUSTC_BOOTSTRAP=1 cargo fuzz run schedule
#![no_main]

use chrono::{DateTime, LocalResult, TimeDelta, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use workspace_lifecycle::schedule::{auto_start_at, Schedule};

mod bytes;
use bytes::Bytes;

const ZONES: [&str; 6] = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Pacific/Kiritimati",
    "Asia/Kolkata",
];

/// How many occurrences each probe chains through.
const CHAIN: usize = 8;

/// Checks one occurrence `at` found after `after`.
fn check_occurrence(schedule: &Schedule, text: &str, after: DateTime<Utc>, at: DateTime<Utc>) {
    assert!(at > after, "{text}: {at} is not after {after}");
    let local = at.with_timezone(&schedule.zone()).naive_local();
    if schedule.matches_local(local) {
        return;
    }
    // Only a fixed-time pattern's skipped time runs off-pattern: at the first instant
    // after the gap, so the minute before it on the wall clock does not exist.
    assert!(
        schedule.is_fixed_time(),
        "{text}: {at} ({local} local) does not match"
    );
    let before = local - TimeDelta::minutes(1);
    assert!(
        matches!(
            schedule.zone().from_local_datetime(&before),
            LocalResult::None
        ),
        "{text}: {at} ({local} local) does not match and follows no gap"
    );
}

fuzz_target!(|data: &[u8]| {
    let mut bytes = Bytes(data);
    let flags = bytes.byte();
    let zone = ZONES[usize::from(bytes.byte()) % ZONES.len()];
    let probe_seconds = bytes.i64();
    let pattern = String::from_utf8_lossy(bytes.0);
    let text = if flags & 1 == 1 {
        format!("CRON_TZ={zone} {pattern}")
    } else {
        pattern.into_owned()
    };
    let schedule: Schedule = match text.parse() {
        Ok(schedule) => schedule,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };

    let printed = schedule.to_string();
    let again: Schedule = printed
        .parse()
        .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which fails: {e}"));
    assert_eq!(again, schedule, "{text:?} printed as {printed:?}");

    let base: DateTime<Utc> = "2026-03-29T00:30:00Z".parse().expect("a valid instant");
    let probes = [
        base,
        base + TimeDelta::days(210),
        DateTime::from_timestamp(probe_seconds % 400_000_000_000, 0).unwrap_or(base),
    ];
    for probe in probes {
        let mut after = probe;
        for _ in 0..CHAIN {
            let next = schedule.next_after(after);
            assert_eq!(next, again.next_after(after), "{text:?} vs {printed:?}");
            let Some(at) = next else { break };
            check_occurrence(&schedule, &text, after, at);
            after = at;
        }
    }

    for limit in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
        if let Some(at) = auto_start_at(&schedule, limit) {
            assert!(at > limit, "{text}: {at} is not after {limit}");
        }
    }
});
