//! `wl-fault-engine`: one engine process over a Postgres job table and the test fleet
//! of `fleet.rs`, for the fault tests (`tests/faults.rs`) and the soak test
//! (`tests/soak.rs`), which start, kill, pause and resume it.
//!
//! ```text
//! wl-fault-engine setup --database-url URL --schema S
//! wl-fault-engine run --database-url URL --schema S --name NAME [options]
//! ```
//!
//! `run` prints `ready executor=<id>` once connected, runs until a line `stop` or the
//! end of its standard input, and prints `report k=v ...` (the engine's `RunReport`)
//! before it exits 0. Its connections carry `application_name=wl-NAME`, so a test can
//! terminate exactly them. Options (durations in milliseconds of the engine's clock):
//! `--lease`, `--timeout` (action timeout), `--attempts`, `--backoff` (initial and
//! maximum retry backoff), `--grace`, `--tick`, `--poll`, `--transition`,
//! `--concurrency`, `--connections`; the adapter's holds in real milliseconds:
//! `--hold-get`, `--hold-before`, `--hold-after`; and a scaled clock
//! `--epoch RFC3339 --wall-start-ms UNIX_MS --speed F` whose time is
//! `epoch + (wall - wall_start) * speed`, the same in every process given the same
//! three values.

mod fleet;

use std::collections::HashMap;
use std::io::BufRead;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::postgres::PgPoolOptions;
use tokio_util::sync::CancellationToken;
use workspace_lifecycle::{
    async_trait, Clock, Config, LifecycleEngine, PgStore, RetryPolicy, SystemClock,
};

use fleet::{Holds, PgFleet};

/// The system clock, or a faster one shared by several processes.
#[derive(Clone)]
enum FaultClock {
    System(SystemClock),
    Scaled {
        epoch: DateTime<Utc>,
        wall_start_ms: i64,
        speed: f64,
    },
}

fn wall_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

#[async_trait]
impl Clock for FaultClock {
    fn now(&self) -> DateTime<Utc> {
        match self {
            FaultClock::System(clock) => clock.now(),
            FaultClock::Scaled {
                epoch,
                wall_start_ms,
                speed,
            } => {
                let real_ms = (wall_ms() - wall_start_ms) as f64;
                *epoch + TimeDelta::microseconds((real_ms * 1000.0 * speed) as i64)
            }
        }
    }

    async fn sleep_until(&self, deadline: DateTime<Utc>) {
        match self {
            FaultClock::System(clock) => clock.sleep_until(deadline).await,
            FaultClock::Scaled { speed, .. } => loop {
                let left = match (deadline - self.now()).to_std() {
                    Ok(left) if !left.is_zero() => left,
                    _ => return,
                };
                let real = left.div_f64(*speed).max(Duration::from_millis(1));
                tokio::time::sleep(real.min(Duration::from_millis(100))).await;
            },
        }
    }
}

struct Args(HashMap<String, String>);

impl Args {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut map = HashMap::new();
        let mut it = args.iter();
        while let Some(key) = it.next() {
            let name = key
                .strip_prefix("--")
                .ok_or_else(|| format!("expected --option, got {key:?}"))?;
            let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
            map.insert(name.to_owned(), value.clone());
        }
        Ok(Args(map))
    }

    fn text(&self, name: &str) -> Result<&str, String> {
        self.0
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| format!("--{name} is required"))
    }

    fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        self.0
            .get(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| format!("--{name} {v:?} is not a number"))
            })
            .transpose()
    }

    fn ms(&self, name: &str) -> Result<Option<Duration>, String> {
        Ok(self.number::<u64>(name)?.map(Duration::from_millis))
    }
}

fn config(args: &Args) -> Result<Config, String> {
    let mut config = Config::default();
    if let Some(d) = args.ms("lease")? {
        config.lease = d;
    }
    if let Some(d) = args.ms("timeout")? {
        config.action_timeout = d;
    }
    if let Some(d) = args.ms("grace")? {
        config.shutdown_grace = d;
    }
    if let Some(d) = args.ms("tick")? {
        config.tick_interval = d;
    }
    if let Some(d) = args.ms("poll")? {
        config.poll_interval = d;
    }
    if let Some(d) = args.ms("transition")? {
        config.transition_retry = d;
    }
    if let Some(n) = args.number("concurrency")? {
        config.max_concurrent_actions = n;
    }
    let mut retry = RetryPolicy::default();
    if let Some(n) = args.number("attempts")? {
        retry.max_attempts = n;
    }
    if let Some(d) = args.ms("backoff")? {
        retry.initial_backoff = d;
        retry.max_backoff = d;
    }
    config.retry = retry;
    Ok(config)
}

fn clock(args: &Args) -> Result<FaultClock, String> {
    let Some(speed) = args.number::<f64>("speed")? else {
        return Ok(FaultClock::System(SystemClock::new()));
    };
    let epoch = args
        .text("epoch")?
        .parse()
        .map_err(|e| format!("--epoch: {e}"))?;
    let wall_start_ms = args
        .number("wall-start-ms")?
        .ok_or("--wall-start-ms is required with --speed")?;
    Ok(FaultClock::Scaled {
        epoch,
        wall_start_ms,
        speed,
    })
}

async fn main_async(command: &str, args: Args) -> Result<(), String> {
    let schema = args.text("schema")?.to_owned();
    let url = args.text("database-url")?;
    let name = args
        .0
        .get("name")
        .cloned()
        .unwrap_or_else(|| "setup".into());
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{separator}application_name=wl-{name}");
    let pool = PgPoolOptions::new()
        .max_connections(args.number("connections")?.unwrap_or(8))
        .acquire_timeout(Duration::from_secs(5))
        .connect(&url)
        .await
        .map_err(|e| format!("connecting: {e}"))?;
    let store = PgStore::with_schema(pool.clone(), &schema).map_err(|e| e.to_string())?;
    if command == "setup" {
        store.migrate().await.map_err(|e| e.to_string())?;
        return fleet::setup(&pool, &schema)
            .await
            .map_err(|e| e.to_string());
    }
    let clock = clock(&args)?;
    let holds = Holds {
        get: args.ms("hold-get")?.unwrap_or_default(),
        before: args.ms("hold-before")?.unwrap_or_default(),
        after: args.ms("hold-after")?.unwrap_or_default(),
    };
    let workspaces = PgFleet::new(pool, &schema, &name, clock.clone(), holds);
    let engine = LifecycleEngine::new(store, clock, workspaces, config(&args)?)
        .map_err(|e| e.to_string())?;
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            match line {
                Ok(line) if line.trim() == "stop" => break,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        stop.cancel();
    });
    println!("ready executor={}", engine.executor_id());
    let report = engine.run(shutdown).await;
    let e = report.execute;
    println!(
        "report claimed={} started={} stopped={} already_done={} missed={} cancelled={} \
         deferred={} retried={} failed={} lease_lost={} rescued={} errors={} created={}",
        e.claimed,
        e.started,
        e.stopped,
        e.already_done,
        e.missed,
        e.cancelled,
        e.deferred,
        e.retried,
        e.failed,
        e.lease_lost,
        e.rescued,
        e.errors,
        report.reconcile.created
    );
    Ok(())
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = argv.split_first() else {
        eprintln!("usage: wl-fault-engine setup|run --database-url URL --schema S [options]");
        return ExitCode::from(2);
    };
    let result = Args::parse(rest).and_then(|args| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(main_async(command, args))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("wl-fault-engine: {error}");
            ExitCode::FAILURE
        }
    }
}
