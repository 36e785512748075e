//! The soak test: 4 engine processes, 10,000 workspaces with cron auto-starts in six
//! real zones and TTL auto-stops, simulated days through the scaled clock the
//! processes share, random SIGKILLs (the killed engine is restarted) and random kills
//! of the engines' database connections. At the end every occurrence the schedules
//! called for is accounted for exactly once.
//!
//! Ignored by default (minutes of wall time); `scripts/soak.sh` runs it. Knobs:
//! `SOAK_WORKSPACES` (10000), `SOAK_DAYS` (2), `SOAK_SPEED` (720 simulated seconds per
//! second), `SOAK_ENGINES` (4), `SOAK_SEED` (1).

#[path = "common/pg.rs"]
mod pg;

#[path = "bin/fleet.rs"]
mod fleet;

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::{AssertSqlSafe, PgPool, Row};
use workspace_lifecycle::schedule::{auto_stop_at, AutoStop, Schedule};
use workspace_lifecycle::testkit::SeededRng;

use fleet::FleetRow;

const BIN: &str = env!("CARGO_BIN_EXE_wl-fault-engine");
const ZONES: [&str; 6] = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Asia/Kolkata",
];

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Soak {
    url: String,
    schema: String,
    args: String,
}

impl Soak {
    fn spawn(&self, n: usize) -> Child {
        Command::new(BIN)
            .args(["run", "--database-url", &self.url, "--schema", &self.schema])
            .args(["--name", &format!("{}-{n}", self.schema)])
            .args(self.args.split_whitespace())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the fault engine binary starts")
    }
}

async fn count(pool: &PgPool, sql: String) -> i64 {
    sqlx::query(AssertSqlSafe(sql))
        .fetch_one(pool)
        .await
        .expect("query")
        .get(0)
}

#[test]
#[ignore = "minutes of wall time; scripts/soak.sh runs it"]
fn soak_every_occurrence_exactly_once_through_kills() {
    let workspaces = knob("SOAK_WORKSPACES", 10_000);
    let days = knob("SOAK_DAYS", 2);
    let speed = knob("SOAK_SPEED", 720);
    let engines = usize::try_from(knob("SOAK_ENGINES", 4)).unwrap_or(4);
    let mut rng = SeededRng::new(knob("SOAK_SEED", 1));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let Some(db) = pg::test_db(4).await else {
            return;
        };
        let pool = db.store.pool().clone();
        let s = db.schema.clone();
        let url = pg::database_url();
        let status = Command::new(BIN)
            .args(["setup", "--database-url", &url, "--schema", &s])
            .status()
            .expect("setup runs");
        assert!(status.success());

        // Saturday before the EU's spring-forward night: every zone's daily run, the
        // Berlin gap included.
        let t0: DateTime<Utc> = "2026-03-28T00:00:00Z".parse().unwrap();
        let t_end = t0 + TimeDelta::days(i64::try_from(days).unwrap());
        let mut rows = Vec::new();
        let mut plans = Vec::new();
        for i in 0..u128::from(workspaces) {
            let zone = ZONES[usize::try_from(rng.below(6)).unwrap()];
            let cron = format!(
                "CRON_TZ={zone} {} {} * * *",
                rng.below(60),
                rng.below(24)
            );
            let ttl = 3600 * (1 + rng.below(10));
            plans.push((uuid::Uuid::from_u128(i), cron.parse::<Schedule>().unwrap(), ttl));
            rows.push(FleetRow {
                id: uuid::Uuid::from_u128(i),
                state: "stopped",
                start_at: None,
                stop_at: None,
                schedule: Some(cron),
                ttl_secs: Some(i64::try_from(ttl).unwrap()),
                last_started_at: t0 - TimeDelta::days(1),
                last_stopped_at: t0,
                fault: None,
            });
        }
        for chunk in rows.chunks(5000) {
            fleet::insert(&pool, &s, chunk).await.unwrap();
        }

        // Simulated durations in milliseconds of the engines' clock.
        let wall_start_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis()
            + 3000;
        let soak = Soak {
            url: url.clone(),
            schema: s.clone(),
            args: format!(
                "--speed {speed} --epoch {} --wall-start-ms {wall_start_ms} --lease 1200000 \
                 --timeout 600000 --tick 3600000 --poll 600000 --backoff 60000 --attempts 20 \
                 --transition 60000 --connections 4",
                t0.to_rfc3339()
            ),
        };
        let mut children: Vec<Child> = (0..engines).map(|n| soak.spawn(n)).collect();
        let started = Instant::now();
        let real = |sim: TimeDelta| Duration::from_secs_f64(sim.as_seconds_f64() / speed as f64);
        let run_for = real(t_end - t0) + Duration::from_secs(3);
        let drain = real(TimeDelta::hours(3));
        let (mut kills, mut terminated) = (0, 0);
        let mut next_kill = Duration::from_secs(5 + rng.below(10));
        while started.elapsed() < run_for {
            tokio::time::sleep(Duration::from_secs(2)).await;
            terminated += count(
                &pool,
                format!(
                    "select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity \
                     where application_name like 'wl-{s}-%' and random() < 0.3) t"
                ),
            )
            .await;
            if started.elapsed() >= next_kill {
                let n = usize::try_from(rng.below(engines as u64)).unwrap();
                children[n].kill().expect("SIGKILL");
                children[n].wait().expect("reaped");
                kills += 1;
                tokio::time::sleep(Duration::from_millis(500 + rng.below(2500))).await;
                children[n] = soak.spawn(n);
                next_kill = started.elapsed() + Duration::from_secs(5 + rng.below(15));
            }
        }
        tokio::time::sleep(drain).await;
        for child in &mut children {
            drop(child.stdin.take());
        }
        for child in &mut children {
            let status = child.wait().expect("exits");
            assert!(status.success(), "an engine exited with {status}");
        }

        // The oracle: every cron occurrence in (t0, cutoff] started once; every start
        // stopped once at its TTL deadline if that falls by the cutoff; nothing else.
        let cutoff = t_end - TimeDelta::hours(1);
        let actions = sqlx::query(AssertSqlSafe(format!(
            "select workspace_id, operation, occurrence, acted_at from {s}.actions"
        )))
        .fetch_all(&pool)
        .await
        .unwrap();
        let mut starts = BTreeSet::new();
        let mut stops = BTreeSet::new();
        let mut acted_start = std::collections::HashMap::new();
        for row in &actions {
            let id: uuid::Uuid = row.get(0);
            let op: String = row.get(1);
            let occurrence: DateTime<Utc> = row.get(2);
            if op == "start" {
                starts.insert((id, occurrence));
                acted_start.insert((id, occurrence), row.get::<DateTime<Utc>, _>(3));
            } else {
                stops.insert((id, occurrence));
            }
        }
        let (mut expected_starts, mut expected_stops, mut lost, mut unexpected) = (0, 0, 0, 0);
        for (id, schedule, ttl) in &plans {
            let policy = AutoStop::new(Duration::from_secs(*ttl));
            let mut t = t0;
            while let Some(next) = schedule.next_after(t).filter(|n| *n <= cutoff) {
                expected_starts += 1;
                match acted_start.get(&(*id, next)) {
                    None => lost += 1,
                    Some(acted) => {
                        let stop = auto_stop_at(&policy, *acted, Some(schedule));
                        if stop <= cutoff {
                            expected_stops += 1;
                            if !stops.contains(&(*id, stop)) {
                                lost += 1;
                            }
                        }
                    }
                }
                t = next;
            }
        }
        let in_window = |set: &BTreeSet<(uuid::Uuid, DateTime<Utc>)>| {
            set.iter().filter(|(_, at)| *at <= cutoff).count()
        };
        unexpected += in_window(&starts).saturating_sub(expected_starts);
        unexpected += in_window(&stops).saturating_sub(expected_stops);
        let duplicated = count(&pool, format!("select count(*) from {s}.violations")).await;
        let failed = count(
            &pool,
            format!("select count(*) from {s}.workspace_lifecycle_job where error is not null and completed_at is not null"),
        )
        .await;
        println!(
            "soak: {workspaces} workspaces, {days} simulated days at {speed}x, {engines} engines, \
             {kills} engine kills, {terminated} connection kills, {:.0} s wall"
        , started.elapsed().as_secs_f64());
        println!(
            "soak: {expected_starts} starts and {expected_stops} stops due by {cutoff}; \
             lost {lost}, duplicated {duplicated}, unexpected {unexpected}, failed jobs {failed}"
        );
        assert_eq!((lost, duplicated, unexpected, failed), (0, 0, 0, 0));
        assert!(kills > 0 && terminated > 0, "the chaos did not happen");
    });
}
