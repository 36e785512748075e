//! A fleet of workspaces over a simulated week, on `InMemoryStore` and `FakeClock`.
//!
//! Two engines (two "replicas") run their real `run` loops on one store. Each
//! workspace has a policy like a real service's: a cron auto-start on weekday mornings
//! (`CRON_TZ=` one of several real time zones), an auto-stop 8-10 hours after each
//! start, both computed with the crate's `schedule` helpers. Users also
//! start and stop workspaces by hand, some starts take minutes, and some fail. The
//! adapter recomputes the auto-start/auto-stop times after every transition, as a
//! real service would.
//!
//! It prints a timeline for a few workspaces and a summary, checks the engine's
//! invariants, and exits non-zero if any was broken.
//!
//! ```text
//! cargo run --release --example simulate -- --workspaces 1000 --days 7 --seed 1
//! ```

use std::collections::{HashMap, HashSet};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use workspace_lifecycle::schedule::{auto_start_at, auto_stop_at, AutoStop, Schedule};
use workspace_lifecycle::testkit::{self, Behavior, CallOutcome, FakeWorkspaces, SeededRng};
use workspace_lifecycle::{
    Config, FakeClock, InMemoryStore, JobState, LifecycleEngine, Occurrence, Operation, Readiness,
    RunReport, Workspace, WorkspaceId, WorkspaceState,
};

struct Args {
    workspaces: usize,
    days: u32,
    seed: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        workspaces: 1000,
        days: 7,
        seed: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--workspaces" => {
                args.workspaces = value("--workspaces")?
                    .parse()
                    .map_err(|e| format!("--workspaces: {e}"))?
            }
            "--days" => {
                args.days = value("--days")?
                    .parse()
                    .map_err(|e| format!("--days: {e}"))?
            }
            "--seed" => {
                args.seed = value("--seed")?
                    .parse()
                    .map_err(|e| format!("--seed: {e}"))?
            }
            "-h" | "--help" => {
                return Err("usage: simulate [--workspaces N] [--days N] [--seed N]".into());
            }
            other => return Err(format!("unknown flag {other}; see --help")),
        }
    }
    if args.workspaces == 0 || args.days == 0 {
        return Err("--workspaces and --days must be at least 1".into());
    }
    Ok(args)
}

/// A workspace's schedule, as its owner configured it: a weekday cron auto-start in a
/// real time zone, and an auto-stop some hours after each start.
#[derive(Clone)]
struct Policy {
    schedule: Schedule,
    stop: AutoStop,
    ttl: TimeDelta,
}

const ZONES: [&str; 5] = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Asia/Tokyo",
];

#[derive(Clone, Copy, Debug)]
enum Event {
    ManualStart,
    ManualStop,
    FailNextStart,
}

struct Fleet {
    ids: Vec<WorkspaceId>,
    policies: Arc<HashMap<WorkspaceId, Policy>>,
    events: Vec<(DateTime<Utc>, usize, Event)>,
}

fn build_fleet(args: &Args, start: DateTime<Utc>, fake: &FakeWorkspaces) -> Fleet {
    let mut rng = SeededRng::new(args.seed);
    let mut ids = Vec::new();
    let mut policies = HashMap::new();
    let mut events = Vec::new();
    for i in 0..args.workspaces {
        let id = WorkspaceId(Uuid::from_u128(i as u128 + 1));
        let zone = ZONES[rng.below(ZONES.len() as u64) as usize];
        let pattern = format!(
            "CRON_TZ={zone} {} {} * * MON-FRI",
            [0, 15, 30, 45][rng.below(4) as usize],
            7 + rng.below(3)
        );
        let ttl = 8 * 60 + rng.below(121);
        let policy = Policy {
            // The pattern is built from valid parts; a failure would be a bug here.
            schedule: pattern.parse().unwrap_or_else(|e| panic!("{pattern}: {e}")),
            stop: AutoStop::new(Duration::from_secs(ttl * 60)),
            ttl: TimeDelta::minutes(ttl as i64),
        };
        fake.insert(Workspace {
            auto_start_at: auto_start_at(&policy.schedule, start),
            ..Workspace::new(id, WorkspaceState::Stopped)
        });
        // Some workspaces take minutes to boot; a few never manage to.
        if rng.chance(30) {
            fake.set_behavior(id, Behavior::Take(Duration::from_secs(60 + rng.below(240))));
        } else if rng.chance(1) {
            fake.set_behavior(id, Behavior::Fail);
        }
        for day in 0..args.days {
            let midnight = start + TimeDelta::days(day.into());
            // Evening work: a manual start, later stopped by the auto-stop.
            if rng.chance(20) {
                let at = midnight + TimeDelta::minutes(17 * 60 + rng.below(5 * 60) as i64);
                events.push((at, i, Event::ManualStart));
            }
            // Leaving early: a manual stop in the afternoon.
            if rng.chance(25) {
                let at = midnight + TimeDelta::minutes(12 * 60 + rng.below(4 * 60) as i64);
                events.push((at, i, Event::ManualStop));
            }
            // A flaky platform: the next start fails once and is retried.
            if rng.chance(5) {
                events.push((
                    midnight + TimeDelta::minutes(rng.below(24 * 60) as i64),
                    i,
                    Event::FailNextStart,
                ));
            }
        }
        ids.push(id);
        policies.insert(id, policy);
    }
    events.sort_by_key(|(at, i, _)| (*at, *i));
    Fleet {
        ids,
        policies: Arc::new(policies),
        events,
    }
}

/// Lets every runnable task run until all wait on the clock or on each other.
async fn settle() {
    testkit::idle().await;
}

type Engine = LifecycleEngine<Arc<InMemoryStore>, FakeClock, FakeWorkspaces>;

fn percentile(sorted: &[TimeDelta], p: f64) -> TimeDelta {
    if sorted.is_empty() {
        return TimeDelta::zero();
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    // The testkit's runtime says when every task waits (`testkit::idle`).
    let runtime = match testkit::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(simulate(args))
}

async fn simulate(args: Args) -> ExitCode {
    let wall = Instant::now();
    let start: DateTime<Utc> = "2026-01-05T00:00:00Z".parse().unwrap_or_default(); // a Monday
    let end = start + TimeDelta::days(args.days.into());
    let clock = FakeClock::new(start);
    let fake = FakeWorkspaces::new(clock.clone());
    let fleet = build_fleet(&args, start, &fake);
    {
        let policies = fleet.policies.clone();
        fake.on_transition(move |ws, at| {
            let Some(policy) = policies.get(&ws.id) else {
                return;
            };
            // The adapter of a service that stores policies: times from the last
            // transition, with the crate's schedule helpers.
            match ws.state {
                WorkspaceState::Running => {
                    ws.auto_stop_at = Some(auto_stop_at(&policy.stop, at, Some(&policy.schedule)));
                    ws.auto_start_at = policy.schedule.next_after(at);
                }
                WorkspaceState::Stopped => {
                    ws.auto_stop_at = None;
                    ws.auto_start_at = auto_start_at(&policy.schedule, at);
                }
                _ => {}
            }
        });
    }

    let store = Arc::new(InMemoryStore::with_seed(args.seed));
    let config = Config::default();
    let engines: Vec<Engine> = (0..2)
        .filter_map(|_| {
            LifecycleEngine::new(store.clone(), clock.clone(), fake.clone(), config.clone()).ok()
        })
        .collect();
    let shutdown = CancellationToken::new();
    let runs: Vec<_> = engines
        .iter()
        .map(|engine| {
            let (engine, shutdown) = (engine.clone(), shutdown.clone());
            tokio::spawn(async move { engine.run(shutdown).await })
        })
        .collect();

    // Drive time: to the next timer or user event, whichever is first.
    let mut timeline: Vec<(DateTime<Utc>, usize, String)> = Vec::new();
    let mut next_event = 0;
    settle().await;
    loop {
        let timer = clock.next_deadline().unwrap_or(end);
        let event = fleet.events.get(next_event).map_or(end, |e| e.0);
        let t = timer.min(event).min(end);
        clock.set(t);
        while let Some(&(at, i, kind)) = fleet.events.get(next_event) {
            if at > t {
                break;
            }
            next_event += 1;
            let id = fleet.ids[i];
            let state = fake.get_snapshot(id).map(|w| w.state);
            let done = match (kind, state) {
                (Event::ManualStart, Some(WorkspaceState::Stopped)) => {
                    fake.transition(id, WorkspaceState::Running)
                }
                (Event::ManualStop, Some(WorkspaceState::Running)) => {
                    fake.transition(id, WorkspaceState::Stopped)
                }
                (Event::FailNextStart, Some(_)) => {
                    fake.fail_next(id, 1);
                    true
                }
                _ => false,
            };
            if done {
                let what = match kind {
                    Event::ManualStart => "user starts it",
                    Event::ManualStop => "user stops it",
                    Event::FailNextStart => "platform will fail its next call",
                };
                timeline.push((at, i, what.into()));
            }
        }
        settle().await;
        if t >= end {
            break;
        }
    }
    shutdown.cancel();
    settle().await;
    clock.advance(config.shutdown_grace);
    let mut totals = RunReport::default();
    for run in runs {
        if let Ok(report) = run.await {
            totals.reconcile.add(&report.reconcile);
            totals.execute.add(&report.execute);
        }
    }

    // What happened.
    let calls = fake.calls();
    for call in &calls {
        let i = fleet
            .ids
            .iter()
            .position(|id| *id == call.workspace_id)
            .unwrap_or(0);
        let outcome = match call.outcome {
            CallOutcome::Succeeded => "",
            CallOutcome::Failed => " (failed)",
            CallOutcome::Unfinished => " (unfinished)",
        };
        let late = call
            .occurrence()
            .map(|o| call.at - o.deadline)
            .filter(|d| *d > TimeDelta::zero())
            .map(|d| format!(", {}s late", d.num_seconds()))
            .unwrap_or_default();
        timeline.push((
            call.at,
            i,
            format!("engine: auto-{}{outcome}{late}", call.operation),
        ));
    }
    timeline.sort_by_key(|(at, i, _)| (*at, *i));
    println!("Timeline of the first 3 workspaces (local time):");
    for i in 0..fleet.ids.len().min(3) {
        let policy = &fleet.policies[&fleet.ids[i]];
        println!(
            "  workspace {} (\"{}\", auto-stop after {}h{:02})",
            fleet.ids[i],
            policy.schedule,
            policy.ttl.num_hours(),
            policy.ttl.num_minutes() % 60
        );
        for (at, _, what) in timeline.iter().filter(|(_, w, _)| *w == i).take(14) {
            println!(
                "    {}  {what}",
                at.with_timezone(&policy.schedule.zone())
                    .format("%a %d %H:%M:%S")
            );
        }
    }

    let jobs = store.jobs();
    let count =
        |f: &dyn Fn(&workspace_lifecycle::Job) -> bool| jobs.iter().filter(|j| f(j)).count();
    let mut lateness: Vec<TimeDelta> = calls
        .iter()
        .filter(|c| c.outcome == CallOutcome::Succeeded)
        .filter_map(|c| {
            c.occurrence()
                .map(|o| (c.at - o.deadline).max(TimeDelta::zero()))
        })
        .collect();
    lateness.sort();

    // The invariants.
    let mut violations = fake.violations();
    let mut open = HashSet::new();
    let mut running = HashSet::new();
    for job in &jobs {
        if job.state().is_open() && !open.insert((job.workspace_id, job.operation)) {
            violations.push(format!(
                "two open {} jobs for {}",
                job.operation, job.workspace_id
            ));
        }
        if job.state() == JobState::Running && !running.insert(job.workspace_id) {
            violations.push(format!("two running jobs for {}", job.workspace_id));
        }
    }
    let handled: HashSet<Occurrence> = jobs
        .iter()
        .filter(|j| j.state() == JobState::Completed)
        .map(|j| j.occurrence())
        .collect();
    let slack = TimeDelta::from_std(config.tick_interval + config.lease + config.action_timeout)
        .unwrap_or_default();
    for ws in fake.snapshots() {
        for op in Operation::ALL {
            if let Some(at) = ws.scheduled_at(op) {
                let occurrence = Occurrence {
                    workspace_id: ws.id,
                    operation: op,
                    deadline: at,
                };
                let due_long_ago = at + slack < end && ws.readiness(op) == Readiness::Act;
                let excused = jobs
                    .iter()
                    .any(|j| j.occurrence() == occurrence && j.state().is_open());
                if due_long_ago && !handled.contains(&occurrence) && !excused {
                    violations.push(format!("{occurrence} was due and never handled"));
                }
            }
        }
    }

    let e = &totals.execute;
    println!();
    println!(
        "Summary: {} workspaces, {} simulated days, seed {}, 2 engines",
        args.workspaces, args.days, args.seed
    );
    println!("  {:<34} {:>9}", "jobs created", jobs.len());
    println!(
        "  {:<34} {:>9}",
        "jobs rescheduled", totals.reconcile.rescheduled
    );
    println!(
        "  {:<34} {:>9}",
        "jobs cancelled",
        count(&|j| j.state() == JobState::Cancelled)
    );
    println!(
        "  {:<34} {:>9}",
        "jobs completed",
        count(&|j| j.state() == JobState::Completed && j.error.is_none())
    );
    println!(
        "  {:<34} {:>9}",
        "jobs failed (gave up)",
        count(&|j| j.state() == JobState::Completed && j.error.is_some())
    );
    println!(
        "  {:<34} {:>9}",
        "jobs still open at the end",
        count(&|j| j.state().is_open())
    );
    println!("  {:<34} {:>9}", "actions: started", e.started);
    println!("  {:<34} {:>9}", "actions: stopped", e.stopped);
    println!("  {:<34} {:>9}", "completed without a call", e.already_done);
    println!("  {:<34} {:>9}", "deferred (mid-transition)", e.deferred);
    println!("  {:<34} {:>9}", "failed attempts retried", e.retried);
    println!("  {:<34} {:>9}", "cancelled at execution", e.cancelled);
    println!(
        "  {:<34} {:>8}s",
        "lateness p99 (simulated)",
        percentile(&lateness, 0.99).num_seconds()
    );
    println!(
        "  {:<34} {:>8}s",
        "lateness max (simulated)",
        lateness.last().copied().unwrap_or_default().num_seconds()
    );
    println!(
        "  {:<34} {:>8.2}s",
        "wall time",
        wall.elapsed().as_secs_f64()
    );
    println!("  {:<34} {:>9}", "invariant violations", violations.len());
    if violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        for v in violations.iter().take(20) {
            eprintln!("violation: {v}");
        }
        ExitCode::FAILURE
    }
}
