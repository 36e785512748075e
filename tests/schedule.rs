//! Cron schedules: parsing and its errors, the daylight-saving rules (table tests in
//! three zones), `next_after` against a brute-force minute-by-minute oracle written
//! independently here (biased toward real DST transitions in six zones, 2020-2035), the
//! `Display` round trip, and the auto-stop policy.

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Datelike, LocalResult, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;
use workspace_lifecycle::schedule::{
    auto_start_at, auto_stop_at, AutoStop, Schedule, ScheduleError,
};

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn next(pattern: &str, after: &str) -> String {
    let schedule: Schedule = pattern.parse().unwrap();
    schedule.next_after(utc(after)).unwrap().to_rfc3339()
}

#[test]
fn parse_errors_name_the_field_and_the_text() {
    let cases = [
        ("0 25 * * *", "hour field: 25 is out of range 0-23"),
        ("60 * * * *", "minute field: 60 is out of range 0-59"),
        ("0 0 0 * *", "day-of-month field: 0 is out of range 1-31"),
        ("0 0 * 13 *", "month field: 13 is out of range 1-12"),
        ("0 0 * * 8", "day-of-week field: 8 is out of range 0-7"),
        ("0 0 * * MOO", "day-of-week field: \"MOO\" is not a valid value"),
        ("0 9-5 * * *", "hour field: \"9-5\" is an empty range or step"),
        ("*/0 * * * *", "minute field: \"*/0\" is an empty range or step"),
        ("0 1,,2 * * *", "hour field: \"\" is not a valid value"),
        ("0 9 * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4 in \"0 9 * *\""),
        (
            "CRON_TZ=Local 0 9 * * *",
            "time zone \"Local\" is not an IANA zone name like Europe/Berlin (Local is not allowed)",
        ),
        (
            "CRON_TZ=Mars/Olympus_Mons 0 9 * * *",
            "time zone \"Mars/Olympus_Mons\" is not an IANA zone name like Europe/Berlin (Local is not allowed)",
        ),
    ];
    for (pattern, message) in cases {
        let error: ScheduleError = pattern.parse::<Schedule>().unwrap_err();
        assert_eq!(error.to_string(), message, "{pattern}");
    }
}

#[test]
fn names_steps_lists_and_both_sundays() {
    let a: Schedule = "0 9 * jan-mar MON-FRI".parse().unwrap();
    let b: Schedule = "0 9 * 1-3 1-5".parse().unwrap();
    assert_eq!(a, b);
    let sunday0: Schedule = "0 9 * * 0".parse().unwrap();
    let sunday7: Schedule = "0 9 * * 7".parse().unwrap();
    assert_eq!(sunday0, sunday7);
    assert_eq!(sunday7.to_string(), "0 9 * * 0");
    assert_eq!(
        "*/15 9-17/2 1,15 * *"
            .parse::<Schedule>()
            .unwrap()
            .to_string(),
        "*/15 9,11,13,15,17 1,15 * *"
    );
    assert_eq!(
        "CRON_TZ=Asia/Kolkata 0 9 * * SAT,SUN"
            .parse::<Schedule>()
            .unwrap()
            .to_string(),
        "CRON_TZ=Asia/Kolkata 0 9 * * 0,6"
    );
}

#[test]
fn weekdays_are_judged_in_the_schedules_zone() {
    // Friday 20:00 in Chicago is Saturday 02:00 UTC.
    assert_eq!(
        next(
            "CRON_TZ=America/Chicago 0 20 * * FRI",
            "2026-01-05T00:00:00Z"
        ),
        "2026-01-10T02:00:00+00:00"
    );
    // And Saturday 01:00 UTC is still Friday in Chicago: a Saturday pattern waits.
    assert_eq!(
        next(
            "CRON_TZ=America/Chicago 0 9 * * SAT",
            "2026-01-10T01:00:00Z"
        ),
        "2026-01-10T15:00:00+00:00"
    );
}

#[test]
fn spring_forward_and_fall_back_in_three_zones() {
    let cases = [
        // Berlin: 29 Mar 2026 02:00 CET -> 03:00 CEST; 25 Oct 2026 03:00 CEST -> 02:00 CET.
        (
            "CRON_TZ=Europe/Berlin 30 2 * * *",
            "2026-03-28T12:00:00Z",
            "2026-03-29T01:00:00+00:00",
        ), // skipped: at 03:00 CEST
        (
            "CRON_TZ=Europe/Berlin 30 2 * * *",
            "2026-03-29T01:00:00Z",
            "2026-03-30T00:30:00+00:00",
        ), // once only
        (
            "CRON_TZ=Europe/Berlin 30 2 * * *",
            "2026-10-24T12:00:00Z",
            "2026-10-25T00:30:00+00:00",
        ), // first 02:30 (CEST)
        (
            "CRON_TZ=Europe/Berlin 30 2 * * *",
            "2026-10-25T00:30:00Z",
            "2026-10-26T01:30:00+00:00",
        ), // not the second
        (
            "CRON_TZ=Europe/Berlin 30 * * * *",
            "2026-03-29T00:30:00Z",
            "2026-03-29T01:30:00+00:00",
        ), // wildcard: 02:30 never happens
        // New York: 8 Mar 2026 02:00 EST -> 03:00 EDT; 1 Nov 2026 02:00 EDT -> 01:00 EST.
        (
            "CRON_TZ=America/New_York 30 2 * * *",
            "2026-03-07T12:00:00Z",
            "2026-03-08T07:00:00+00:00",
        ),
        (
            "CRON_TZ=America/New_York 30 1 * * *",
            "2026-10-31T12:00:00Z",
            "2026-11-01T05:30:00+00:00",
        ),
        (
            "CRON_TZ=America/New_York 30 1 * * *",
            "2026-11-01T05:30:00Z",
            "2026-11-02T06:30:00+00:00",
        ),
        (
            "CRON_TZ=America/New_York 0 9 * * MON-FRI",
            "2026-03-06T15:00:00Z",
            "2026-03-09T13:00:00+00:00",
        ), // 09:00 EDT
        // Lord Howe: a 30-minute shift. 4 Oct 2026 02:00 -> 02:30 (+10:30 -> +11);
        // 5 Apr 2026 02:00 -> 01:30 (+11 -> +10:30).
        (
            "CRON_TZ=Australia/Lord_Howe 15 2 * * *",
            "2026-10-03T00:00:00Z",
            "2026-10-03T15:30:00+00:00",
        ),
        (
            "CRON_TZ=Australia/Lord_Howe 45 1 * * *",
            "2026-04-04T00:00:00Z",
            "2026-04-04T14:45:00+00:00",
        ),
        (
            "CRON_TZ=Australia/Lord_Howe 45 1 * * *",
            "2026-04-04T14:45:00Z",
            "2026-04-05T15:15:00+00:00",
        ),
    ];
    for (pattern, after, expected) in cases {
        assert_eq!(next(pattern, after), expected, "{pattern} after {after}");
    }
}

#[test]
fn patterns_that_can_never_fire_are_refused_naming_the_days_and_months() {
    for (pattern, error) in [
        (
            "0 0 30 2 *",
            "day-of-month field: \"30\" falls in none of the months \"2\"",
        ),
        (
            "0 0 31 2 *",
            "day-of-month field: \"31\" falls in none of the months \"2\"",
        ),
        (
            "0 0 30,31 FEB *",
            "day-of-month field: \"30,31\" falls in none of the months \"FEB\"",
        ),
        (
            "0 0 31 4,6,9,11 *",
            "day-of-month field: \"31\" falls in none of the months \"4,6,9,11\"",
        ),
    ] {
        let got = pattern.parse::<Schedule>().expect_err(pattern).to_string();
        assert_eq!(got, error, "{pattern}");
    }
    // Possible, if rarely: 29 February, 31 in a list with a long month, and either
    // day field when both are restricted (classic cron's "or").
    assert_eq!(
        next("0 0 29 2 *", "2026-01-01T00:00:00Z"),
        "2028-02-29T00:00:00+00:00"
    );
    assert_eq!(
        next("0 0 31 2,3 *", "2026-01-01T00:00:00Z"),
        "2026-03-31T00:00:00+00:00"
    );
    assert_eq!(
        next("0 0 31 2 MON", "2026-01-01T00:00:00Z"),
        "2026-02-02T00:00:00+00:00"
    );
}

#[test]
fn a_step_beyond_the_range_gives_only_the_start() {
    for (pattern, printed) in [
        ("59/4294967295 * * * *", "59 * * * *"),
        ("0 23/4294967295 * * *", "0 23 * * *"),
        ("0 0 1-31/4294967295 * *", "0 0 1 * *"),
        ("0 0 * * 7/4294967295", "0 0 * * 0"),
        ("5/60 * * * *", "5 * * * *"),
    ] {
        let schedule: Schedule = pattern.parse().expect(pattern);
        assert_eq!(schedule.to_string(), printed, "{pattern}");
    }
    assert_eq!(
        next("59/4294967295 * * * *", "2026-01-01T00:00:00Z"),
        "2026-01-01T00:59:00+00:00"
    );
    assert_eq!(
        next("59/4294967295 * * * *", "2026-01-01T00:59:00Z"),
        "2026-01-01T01:59:00+00:00"
    );
    // A starred step past the range keeps the star (and so the day fields' "and").
    let star: Schedule = "*/4294967295 0 * * *".parse().unwrap();
    assert_eq!(star.to_string().parse::<Schedule>().unwrap(), star);
}

/// The next few occurrences from a few probe instants: two schedules with the same
/// times agree on them.
fn probe(schedule: &Schedule) -> Vec<Option<DateTime<Utc>>> {
    let mut out = Vec::new();
    for start in [
        "2026-01-01T00:00:00Z",
        "2026-03-29T00:30:00Z",
        "2026-10-25T00:30:00Z",
    ] {
        let mut at = Some(utc(start));
        for _ in 0..50 {
            at = at.and_then(|t| schedule.next_after(t));
            out.push(at);
        }
    }
    out
}

#[test]
fn display_round_trips_starred_lists() {
    for pattern in [
        "*/30,15 * * * *",
        "*/30,15,45 * * * *",
        "*/20,5-7 */6,1 * * *",
        "0 0 */10,5 * *",
        "0 0 * */6,2 *",
        "0 0 */15,2 * */3,5",
        "*/7,1 * * * *",
        "CRON_TZ=Europe/Berlin */45,2 */5,3 * * *",
    ] {
        let schedule: Schedule = pattern.parse().expect(pattern);
        let printed = schedule.to_string();
        let again: Schedule = printed.parse().expect(&printed);
        assert_eq!(again, schedule, "{pattern} printed as {printed}");
        assert_eq!(
            probe(&again),
            probe(&schedule),
            "{pattern} printed as {printed}"
        );
    }
    let printed = |pattern: &str| pattern.parse::<Schedule>().unwrap().to_string();
    assert_eq!(printed("*/30,15 * * * *"), "*/30,15 * * * *");
    assert_eq!(printed("*/15,30 * * * *"), "*/15 * * * *");
    assert_eq!(printed("0 0 * * */3,5"), "0 0 * * */3,5");
}

#[test]
fn times_at_chronos_limits_give_none_instead_of_a_panic() {
    let patterns = [
        "* * * * *",
        "0 9 * * *",
        "30 2 * * *",
        "CRON_TZ=Pacific/Kiritimati * * * * *",
        "CRON_TZ=Pacific/Kiritimati 0 9 * * MON",
        "CRON_TZ=America/Los_Angeles 0 9 * * *",
        "CRON_TZ=Europe/Berlin 30 2 * * *",
    ];
    for pattern in patterns {
        let schedule: Schedule = pattern.parse().unwrap();
        for at in [
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
            DateTime::<Utc>::MAX_UTC - TimeDelta::hours(30),
            DateTime::<Utc>::MIN_UTC + TimeDelta::hours(30),
        ] {
            let got = std::panic::catch_unwind(|| auto_start_at(&schedule, at));
            let got = got.unwrap_or_else(|_| panic!("{pattern} at {at:?} panicked"));
            if let Some(next) = got {
                assert!(next > at, "{pattern} at {at:?} gave {next:?}");
            }
        }
        assert_eq!(
            schedule.next_after(DateTime::<Utc>::MAX_UTC),
            None,
            "{pattern}"
        );
    }
    // Near the minimum there is still a next time.
    let daily: Schedule = "0 9 * * *".parse().unwrap();
    assert!(daily.next_after(DateTime::<Utc>::MIN_UTC).is_some());
}

#[test]
fn auto_start_is_computed_from_the_last_stop_so_a_missed_one_runs_late() {
    let schedule: Schedule = "0 9 * * MON-FRI".parse().unwrap();
    // Stopped Friday evening; the fleet was down all Monday morning: the snapshot still
    // says Monday 09:00, which the engine runs once when it comes back.
    assert_eq!(
        auto_start_at(&schedule, utc("2026-01-09T18:00:00Z")),
        Some(utc("2026-01-12T09:00:00Z"))
    );
}

#[test]
fn an_auto_stop_past_the_next_auto_start_keeps_the_workspace_up_through_it() {
    let schedule: Schedule = "0 9 * * *".parse().unwrap();
    let policy = AutoStop::new(Duration::from_secs(30 * 3600));
    // Started 08:00; 30 hours would pass tomorrow's 09:00 start... and today's, which
    // comes first: the workspace stays up through 09:00 today and stops 30 h after it.
    let deadline = auto_stop_at(&policy, utc("2026-01-05T08:00:00Z"), Some(&schedule));
    assert_eq!(deadline, utc("2026-01-06T15:00:00Z"));
    // A short TTL that ends before the next start is left alone.
    let short = AutoStop::new(Duration::from_secs(8 * 3600));
    assert_eq!(
        auto_stop_at(&short, utc("2026-01-05T10:00:00Z"), Some(&schedule)),
        utc("2026-01-05T18:00:00Z")
    );
    // Started at 22:00 with 12 h: 10:00 would pass 09:00, so it runs to 09:00 + 12 h,
    // unless a max lifetime caps it.
    let night = AutoStop::new(Duration::from_secs(12 * 3600));
    assert_eq!(
        auto_stop_at(&night, utc("2026-01-05T22:00:00Z"), Some(&schedule)),
        utc("2026-01-06T21:00:00Z")
    );
    let capped = night.with_max_lifetime(Duration::from_secs(16 * 3600));
    assert_eq!(
        auto_stop_at(&capped, utc("2026-01-05T22:00:00Z"), Some(&schedule)),
        utc("2026-01-06T14:00:00Z")
    );
    let unscheduled = auto_stop_at(&policy, utc("2026-01-05T10:00:00Z"), None);
    assert_eq!(unscheduled, utc("2026-01-06T16:00:00Z"));
}

proptest! {
    #[test]
    fn bump_only_moves_later_and_never_past_the_cap(
        ttl in 1u64..20, max in 1u64..30, start_min in 0i64..600, activity in 0i64..3000, current_extra in 0i64..600,
    ) {
        let policy = AutoStop::new(Duration::from_secs(ttl * 3600)).with_max_lifetime(Duration::from_secs(max * 3600));
        let started = utc("2026-01-05T00:00:00Z") + TimeDelta::minutes(start_min);
        let current = policy.deadline(started, None) + TimeDelta::minutes(current_extra).min(TimeDelta::zero());
        let bumped = policy.bump(current, started, started + TimeDelta::minutes(activity), None);
        let cap = started + TimeDelta::hours(max as i64);
        prop_assert!(bumped >= current);
        prop_assert!(bumped <= cap.max(current));
    }
}

/// 256 by default; `PROPTEST_CASES` raises it.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

// ---- The oracle ----------------------------------------------------------------

const ZONES: [&str; 6] = [
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Chatham",
];

/// A pattern as sets of values, and the text it was written as.
#[derive(Clone, Debug)]
struct Pattern {
    text: String,
    zone: Tz,
    minutes: BTreeSet<u32>,
    hours: BTreeSet<u32>,
    days: BTreeSet<u32>,
    months: BTreeSet<u32>,
    weekdays: BTreeSet<u32>,
    day_star: bool,
    weekday_star: bool,
    fixed: bool,
}

impl Pattern {
    /// Written independently of the library: does this wall time match?
    fn matches(&self, local: NaiveDateTime) -> bool {
        let day = self.days.contains(&local.day());
        let weekday = self
            .weekdays
            .contains(&local.weekday().num_days_from_sunday());
        let days = if self.day_star || self.weekday_star {
            day && weekday
        } else {
            day || weekday
        };
        days && self.months.contains(&local.month())
            && self.hours.contains(&local.hour())
            && self.minutes.contains(&local.minute())
    }
}

/// Walks the instants minute by minute after `after`: an instant runs if its wall time
/// matches and this is that wall time's first occurrence, or (fixed-time patterns) if
/// the wall clock just jumped over a matching time.
fn oracle(p: &Pattern, after: DateTime<Utc>, limit: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut t = after.with_second(0).unwrap().with_nanosecond(0).unwrap() + TimeDelta::minutes(1);
    while t <= limit {
        let local = t.with_timezone(&p.zone).naive_local();
        let first = match p.zone.from_local_datetime(&local) {
            LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc) == t,
            _ => true,
        };
        if first && p.matches(local) {
            return Some(t);
        }
        let before = (t - TimeDelta::minutes(1))
            .with_timezone(&p.zone)
            .naive_local();
        if p.fixed && local - before > TimeDelta::minutes(1) {
            let mut skipped = before + TimeDelta::minutes(1);
            while skipped < local {
                if p.matches(skipped) {
                    return Some(t);
                }
                skipped += TimeDelta::minutes(1);
            }
        }
        t += TimeDelta::minutes(1);
    }
    None
}

/// Every offset change of each zone in 2020-2035, to the minute.
fn transitions() -> &'static Vec<Vec<DateTime<Utc>>> {
    static CACHE: OnceLock<Vec<Vec<DateTime<Utc>>>> = OnceLock::new();
    CACHE.get_or_init(|| {
        ZONES
            .iter()
            .map(|name| {
                let zone: Tz = name.parse().unwrap();
                let offset =
                    |t: DateTime<Utc>| t.with_timezone(&zone).naive_local() - t.naive_utc();
                let mut found = Vec::new();
                let mut t = utc("2020-01-01T00:00:00Z");
                while t < utc("2036-01-01T00:00:00Z") {
                    let next = t + TimeDelta::hours(1);
                    if offset(t) != offset(next) {
                        let mut m = t;
                        while offset(m) == offset(t) {
                            m += TimeDelta::minutes(1);
                        }
                        found.push(m);
                    }
                    t = next;
                }
                found
            })
            .collect()
    })
}

fn set(values: Vec<u32>) -> BTreeSet<u32> {
    values.into_iter().collect()
}

/// A field's text and value set: `*`, `*/n` (over the whole range `min..=max`), or a
/// list of values up to `list_max` (days of the month stop at 28 so every month has
/// them).
fn field(
    min: u32,
    max: u32,
    list_max: u32,
    star_weight: u32,
) -> impl Strategy<Value = (String, BTreeSet<u32>, bool)> {
    prop_oneof![
        star_weight => Just(("*".to_owned(), set((min..=max).collect()), true)),
        1 => (2u32..=(max - min).div_ceil(2) + 1).prop_map(move |step| {
            (format!("*/{step}"), set((min..=max).step_by(step as usize).collect()), true)
        }),
        4 => prop::collection::btree_set(min..=list_max, 1..4).prop_map(|values| {
            let text = values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",");
            (text, values, false)
        }),
    ]
}

fn pattern() -> impl Strategy<Value = Pattern> {
    (
        0..ZONES.len(),
        field(0, 59, 59, 1),
        // Hours biased toward the ones daylight saving moves.
        prop_oneof![
            3 => field(0, 23, 23, 1),
            2 => prop::collection::btree_set(0u32..=4, 1..3).prop_map(|v| {
                (v.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(","), v, false)
            }),
        ],
        field(1, 31, 28, 6),
        field(1, 12, 12, 8),
        field(0, 6, 6, 4),
    )
        .prop_map(|(zone, m, h, d, mo, w)| Pattern {
            text: format!(
                "CRON_TZ={} {} {} {} {} {}",
                ZONES[zone], m.0, h.0, d.0, mo.0, w.0
            ),
            zone: ZONES[zone].parse().unwrap(),
            fixed: !m.2 && !h.2,
            minutes: m.1,
            hours: h.1,
            days: d.1,
            months: mo.1,
            weekdays: w.1,
            day_star: d.2,
            weekday_star: w.2,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// `next_after` is strictly later, matches the pattern in its zone, and no instant
    /// between the input and it runs by the oracle.
    #[test]
    fn next_after_agrees_with_a_minute_by_minute_oracle(
        p in pattern(),
        pick in any::<prop::sample::Index>(),
        near in -3000i64..3000,
        seconds in 0i64..60,
        random_instant in 0i64..(16 * 365 * 24 * 60),
        near_transition in prop::bool::weighted(0.8),
    ) {
        let schedule: Schedule = p.text.parse().unwrap();
        let zone_index = ZONES.iter().position(|z| *z == p.zone.name()).unwrap();
        let zone_transitions = &transitions()[zone_index];
        let after = if near_transition && !zone_transitions.is_empty() {
            *pick.get(zone_transitions) + TimeDelta::minutes(near)
        } else {
            utc("2020-01-01T00:00:00Z") + TimeDelta::minutes(random_instant)
        } + TimeDelta::seconds(seconds);
        let got = schedule.next_after(after);
        let limit = after + TimeDelta::days(400);
        let expected = oracle(&p, after, got.unwrap_or(limit).min(limit));
        match got {
            Some(at) if at <= limit => {
                prop_assert!(at > after);
                prop_assert_eq!(Some(at), expected, "{} after {}", p.text, after);
            }
            _ => prop_assert_eq!(expected, None, "{} after {}: the oracle found one", p.text, after),
        }
    }

    /// `Display` prints a pattern that parses back to the same schedule.
    #[test]
    fn display_round_trips(p in pattern()) {
        let schedule: Schedule = p.text.parse().unwrap();
        let printed = schedule.to_string();
        prop_assert_eq!(printed.parse::<Schedule>().unwrap(), schedule, "{} printed as {}", p.text, printed);
    }
}
