//! Fuzzes the whole engine: two `LifecycleEngine`s over one `InMemoryStore`, one
//! `FakeClock` and one `testkit::FakeWorkspaces` fleet, driven by an arbitrary sequence
//! of operations: the clock moving (up to 84 hours a step, through every timer on the
//! way, as real time would), schedule edits (times in the past, now, the far
//! future, and outside the supported range), a workspace's user moving it to a state,
//! data edits in place, workspaces deleted and (re)created, adapters that fail, hang,
//! panic or take time, scheduler passes (`reconcile_all`, `reconcile_workspace`),
//! executor passes (`execute_due`, run as tasks so a slow or hanging adapter never
//! blocks the driver), an executor pass dropped mid-flight, and an engine crashing
//! (its passes aborted, its claims left to lease expiry, a fresh engine in its place).
//! The first two bytes set up the fleet and the config (page size, catch-up window,
//! whether the service recomputes times after each transition, job logs on or off).
//!
//! After every operation it asserts the invariants of `tests/properties.rs`:
//!
//! - `FakeWorkspaces::violations()` is empty: no action before its deadline, none the
//!   workspace's data did not call for, no occurrence acted on twice, never two calls
//!   in flight for one workspace;
//! - at most one open job per (workspace, operation), at most one running job per
//!   workspace, and a running job always has a lease and a holder;
//! - no occurrence (workspace, operation, deadline) completed by two jobs;
//! - no panic escapes the engine (injected adapter panics are caught), no pass fails
//!   on the in-memory store, no live engine ever loses a lease, and no job is rescued
//!   unless a claim was abandoned;
//!
//! and at the end, once the adapter works again: every occurrence the data calls for is
//! handled by one scheduler pass plus one executor pass after a lease, no due job is
//! left pending, and no job was rescued unless an engine crashed.
//!
//! RUSTC_BOOTSTRAP=1 cargo fuzz run engine_ops
#![no_main]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use libfuzzer_sys::fuzz_target;
use tokio::task::JoinHandle;
use uuid::Uuid;
use workspace_lifecycle::testkit::{
    job_table_violations, left_behind, owed_occurrences, Behavior, FakeWorkspaces,
};
use workspace_lifecycle::{
    Config, Error, ExecuteReport, FakeClock, InMemoryStore, Job, JobId, JobState, JobStoreAdmin,
    LifecycleEngine, RetryPolicy, Workspace, WorkspaceId, WorkspaceState, EARLIEST_DEADLINE,
    LATEST_DEADLINE,
};

/// Workspaces per input.
const WORKSPACES: u8 = 4;
/// Operations per input, at most.
const MAX_OPS: usize = 64;
/// Engines sharing the store.
const ENGINES: u8 = 2;
/// Clock steps one `advance` may take before it is judged a livelock.
const MAX_CLOCK_STEPS: usize = 20_000;

/// 2026-01-05T08:00:00Z, where every input starts.
fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_600_000, 0).expect("a valid instant")
}

fn ws(n: u8) -> WorkspaceId {
    WorkspaceId(Uuid::from_u128(u128::from(n % WORKSPACES) + 1))
}

mod bytes;
use bytes::Bytes;

/// A workspace time, relative to the clock's now when the operation runs.
#[derive(Debug, Clone, Copy)]
enum When {
    None,
    /// Seconds from now: minutes, hours and days either way, or ±68 years.
    Offset(i64),
    /// The edges: the supported range's ends and just past them, chrono's ends.
    Edge(u8),
}

impl When {
    /// One byte, or five for an arbitrary offset in seconds.
    fn read(b: &mut Bytes) -> When {
        match b.byte() {
            0 => When::None,
            e @ 1..=6 => When::Edge(e),
            // Minutes: -64 to +63 (now itself at 72).
            m @ 8..=135 => When::Offset((i64::from(m) - 72) * 60),
            // Hours: -32 to +31.
            h @ 136..=199 => When::Offset((i64::from(h) - 168) * 3600),
            // Days: -24 to +23.
            d @ 200..=247 => When::Offset((i64::from(d) - 224) * 86_400),
            _ => When::Offset(i64::from(b.i32())),
        }
    }

    fn at(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            When::None => None,
            When::Offset(s) => Some(now.checked_add_signed(TimeDelta::seconds(s)).unwrap_or(now)),
            When::Edge(which) => Some(match which {
                1 => EARLIEST_DEADLINE,
                2 => LATEST_DEADLINE,
                3 => EARLIEST_DEADLINE - TimeDelta::seconds(1),
                4 => LATEST_DEADLINE + TimeDelta::seconds(1),
                5 => DateTime::<Utc>::MIN_UTC,
                _ => DateTime::<Utc>::MAX_UTC,
            }),
        }
    }
}

fn state(byte: u8) -> WorkspaceState {
    [
        WorkspaceState::Running,
        WorkspaceState::Stopped,
        WorkspaceState::Starting,
        WorkspaceState::Stopping,
        WorkspaceState::Failed,
    ][usize::from(byte % 5)]
}

/// How a workspace answers start and stop.
#[derive(Debug, Clone, Copy)]
enum Act {
    Succeed,
    /// Takes this many minutes (1 to 8).
    Take(u8),
    Fail,
    /// Never returns: the engine's action timeout ends the call.
    Hang,
    Panic,
}

impl Act {
    fn from_byte(b: u8) -> Act {
        match b % 8 {
            0 | 1 => Act::Succeed,
            2 | 3 => Act::Take((b >> 3) % 8 + 1),
            4 | 5 => Act::Fail,
            6 => Act::Hang,
            _ => Act::Panic,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    /// Let this many minutes pass (1 to 200, or 1.5 to 84 hours), through every timer
    /// on the way.
    Advance(u32),
    /// Let 1 to 256 seconds pass (to land between lease renewals, retries, ...).
    AdvanceSeconds(u16),
    /// Set or clear a workspace's auto-start time.
    SetStart(u8, When),
    /// Set or clear a workspace's auto-stop time.
    SetStop(u8, When),
    /// The workspace's user moves it to a state (the transition hook runs).
    Transition(u8, WorkspaceState),
    /// The workspace's state is changed in place (a transition under way is dropped).
    Update(u8, WorkspaceState),
    /// The workspace is deleted.
    Remove(u8),
    /// A workspace is created (or replaced) with this state and times.
    Insert(u8, WorkspaceState, When, When),
    /// How the workspace answers start and stop from now on.
    Behave(u8, Act),
    /// Its next n (0 to 3) calls fail.
    FailNext(u8, u8),
    /// A full scheduler pass on an engine.
    ReconcileAll(u8),
    /// A service reconciles one workspace at once, on an engine.
    ReconcileWorkspace(u8, u8),
    /// An executor pass on an engine, as a task beside whatever else runs.
    ExecuteDue(u8),
    /// An executor pass dropped after a few polls (0 to 31 yields): its claims are
    /// left to lease expiry; the engine lives on.
    DropExecute(u8, u8),
    /// An engine's process dies: its passes are aborted mid-whatever and a fresh engine
    /// (new executor id) takes its place.
    Crash(u8),
    /// An engine prunes finished jobs past the retention.
    Prune(u8),
}

impl Op {
    /// One op: a byte whose low four bits choose it and whose high four are its small
    /// operands (workspace, engine), then any larger operands.
    fn read(b: &mut Bytes) -> Op {
        let k = b.byte();
        let arg = k >> 4;
        let w = arg & 3;
        let e = arg & 1;
        match k & 15 {
            0 | 1 => Op::Advance(match b.byte() {
                m @ 0..=199 => u32::from(m) + 1,
                h => (u32::from(h) - 198) * 90,
            }),
            2 => Op::AdvanceSeconds(u16::from(b.byte()) + 1),
            3 => Op::SetStart(w, When::read(b)),
            4 => Op::SetStop(w, When::read(b)),
            5 => Op::Transition(w, state(b.byte())),
            6 => Op::Update(w, state(b.byte())),
            7 => Op::Remove(w),
            8 => {
                let s = state(b.byte());
                let start = When::read(b);
                let stop = When::read(b);
                Op::Insert(w, s, start, stop)
            }
            9 => Op::Behave(w, Act::from_byte(b.byte())),
            10 => Op::FailNext(w, arg >> 2),
            11 => Op::ReconcileAll(e),
            12 => Op::ReconcileWorkspace(e, arg >> 1),
            14 if arg & 8 != 0 => Op::Prune(e),
            13 | 14 => Op::ExecuteDue(e),
            _ if arg & 8 != 0 => Op::Crash(e),
            _ => Op::DropExecute(e, b.byte() % 32),
        }
    }
}

/// How an input begins (two bytes).
#[derive(Debug)]
struct Setup {
    /// The store's id seed (job ids order claims of equal `run_at`, and seed jitter).
    seed: u64,
    /// Each workspace running (else stopped), with no times; ops set them.
    running: [bool; WORKSPACES as usize],
    /// Workspaces per scheduler page (1 to 4): pages of one, and a page boundary in
    /// the middle of the fleet.
    page_size: usize,
    /// Whether the service recomputes a workspace's times after each transition to
    /// running or stopped (minutes until the next auto-stop, and auto-start), as a
    /// real service would, or leaves stale times in place.
    recompute: Option<(i64, i64)>,
    /// `Config::catch_up_window` in minutes, or none.
    catch_up: Option<u64>,
    /// `Config::job_logs`: whether the engine writes job log lines.
    job_logs: bool,
    /// `Config::retention` of two hours (else the default), so that prunes delete
    /// jobs whose workspaces still name their occurrences.
    short_retention: bool,
}

impl Setup {
    fn read(b: &mut Bytes) -> Setup {
        let (b0, b1) = (b.byte(), b.byte());
        Setup {
            seed: u64::from(b0) | u64::from(b1) << 8,
            running: std::array::from_fn(|i| b0 >> i & 1 == 1),
            page_size: usize::from(b1 & 3) + 1,
            recompute: (b1 & 4 != 0).then(|| {
                let minutes = [1, 30, 60, 300];
                (
                    minutes[usize::from(b1 >> 3 & 3)],
                    minutes[usize::from(b0 >> 4 & 3)],
                )
            }),
            catch_up: (b1 & 0x20 != 0).then(|| [1, 10, 120][usize::from(b1 >> 6) % 3]),
            job_logs: b0 & 0x40 == 0,
            short_retention: b0 & 0x80 != 0,
        }
    }
}

fn config(setup: &Setup) -> Config {
    Config {
        tick_interval: Duration::from_secs(60),
        page_size: setup.page_size,
        max_concurrent_actions: 2,
        lease: Duration::from_secs(30),
        action_timeout: Duration::from_secs(600),
        retry: RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(60),
        },
        transition_retry: Duration::from_secs(20),
        poll_interval: Duration::from_secs(300),
        shutdown_grace: Duration::from_secs(5),
        catch_up_window: setup.catch_up.map(|m| Duration::from_secs(m * 60)),
        // No lead: the fleet's check holds every call to its deadline.
        start_lead: Duration::ZERO,
        job_logs: setup.job_logs,
        retention: if setup.short_retention {
            Some(Duration::from_secs(2 * 3600))
        } else {
            Config::default().retention
        },
        ..Config::default()
    }
}

type Engine = LifecycleEngine<Arc<InMemoryStore>, FakeClock, FakeWorkspaces>;
type Pass = JoinHandle<Result<ExecuteReport, Error>>;

struct Node {
    engine: Engine,
    /// Executor passes in flight or finished and not yet looked at.
    passes: Vec<Pass>,
}

struct World {
    store: Arc<InMemoryStore>,
    clock: FakeClock,
    fleet: FakeWorkspaces,
    config: Config,
    nodes: Vec<Node>,
    /// Whether a claim may have been abandoned (a pass aborted mid-flight): only then
    /// may a lease expire.
    abandoned: bool,
}

/// Lets every task that can run, run, until all wait on the clock or on each other.
async fn settle() {
    for _ in 0..64 {
        tokio::task::yield_now().await;
    }
}

/// What an executor pass must have ended with; `abandoned`: whether a claim was ever
/// abandoned, the only way a lease may expire.
fn check_pass(
    result: Result<Result<ExecuteReport, Error>, tokio::task::JoinError>,
    abandoned: bool,
) {
    match result {
        Ok(Ok(report)) => {
            assert_eq!(report.errors, 0, "an executor pass hit errors: {report:?}");
            assert!(
                abandoned || report.rescued == 0,
                "a pass rescued a job though no claim was abandoned: {report:?}"
            );
            assert_eq!(
                report.lease_lost, 0,
                "a live engine lost a lease: {report:?}"
            );
        }
        Ok(Err(error)) => panic!("execute_due failed on the in-memory store: {error}"),
        Err(join) if join.is_panic() => {
            let payload = join.into_panic();
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            panic!("a panic escaped execute_due: {message}");
        }
        // Aborted by the driver.
        Err(_) => {}
    }
}

impl World {
    fn new(setup: &Setup) -> Self {
        let clock = FakeClock::new(t0());
        let fleet = FakeWorkspaces::new(clock.clone());
        for (n, running) in (0..WORKSPACES).zip(setup.running) {
            let state = if running {
                WorkspaceState::Running
            } else {
                WorkspaceState::Stopped
            };
            fleet.insert(Workspace::new(ws(n), state));
        }
        if let Some((stop_after, start_after)) = setup.recompute {
            let stop_after = TimeDelta::minutes(stop_after);
            let start_after = TimeDelta::minutes(start_after);
            fleet.on_transition(move |w, t| match w.state {
                WorkspaceState::Running => w.auto_stop_at = Some(t + stop_after),
                WorkspaceState::Stopped => w.auto_start_at = Some(t + start_after),
                _ => {}
            });
        }
        let store = Arc::new(InMemoryStore::with_seed(setup.seed));
        let config = config(setup);
        let mut world = World {
            store,
            clock,
            fleet,
            config,
            nodes: Vec::new(),
            abandoned: false,
        };
        for _ in 0..ENGINES {
            let node = world.node();
            world.nodes.push(node);
        }
        world
    }

    fn node(&self) -> Node {
        let engine = LifecycleEngine::new(
            self.store.clone(),
            self.clock.clone(),
            self.fleet.clone(),
            self.config.clone(),
        )
        .expect("a valid config");
        Node {
            engine,
            passes: Vec::new(),
        }
    }

    /// Moves the clock to `target` as real time passes: through every sleeper's
    /// deadline on the way, letting the woken tasks run before going on.
    async fn advance_to(&self, target: DateTime<Utc>) {
        settle().await;
        let mut steps = 0;
        while let Some(next) = self.clock.next_deadline() {
            if next > target {
                break;
            }
            steps += 1;
            assert!(
                steps <= MAX_CLOCK_STEPS,
                "the engine keeps waking without time passing (a timer loop at {next})"
            );
            self.clock.set(next.max(self.clock.now()));
            settle().await;
        }
        if self.clock.now() < target {
            self.clock.set(target);
        }
        settle().await;
    }

    async fn advance(&self, by: Duration) {
        let target = self.clock.now() + TimeDelta::from_std(by).expect("a short step");
        self.advance_to(target).await;
    }

    /// Looks at the passes that have ended.
    async fn reap(&mut self) {
        for node in &mut self.nodes {
            let (done, running): (Vec<Pass>, Vec<Pass>) =
                node.passes.drain(..).partition(|p| p.is_finished());
            node.passes = running;
            for pass in done {
                check_pass(pass.await, self.abandoned);
            }
        }
    }

    /// Aborts a pass; an unfinished one leaves its claims to lease expiry.
    async fn abort(&mut self, pass: Pass) {
        if !pass.is_finished() {
            self.abandoned = true;
        }
        pass.abort();
        check_pass(pass.await, self.abandoned);
    }

    fn spawn_pass(&mut self, e: u8) {
        let engine = self.nodes[usize::from(e % ENGINES)].engine.clone();
        let pass = tokio::spawn(async move { engine.execute_due().await });
        self.nodes[usize::from(e % ENGINES)].passes.push(pass);
    }

    async fn apply(&mut self, op: Op) {
        let now = self.clock.now();
        match op {
            Op::Advance(minutes) => {
                self.advance(Duration::from_secs(u64::from(minutes) * 60))
                    .await
            }
            Op::AdvanceSeconds(s) => self.advance(Duration::from_secs(u64::from(s))).await,
            Op::SetStart(w, when) => {
                self.fleet.update(ws(w), |x| x.auto_start_at = when.at(now));
            }
            Op::SetStop(w, when) => {
                self.fleet.update(ws(w), |x| x.auto_stop_at = when.at(now));
            }
            Op::Transition(w, state) => {
                self.fleet.transition(ws(w), state);
            }
            Op::Update(w, state) => {
                self.fleet.update(ws(w), |x| x.state = state);
            }
            Op::Remove(w) => {
                self.fleet.remove(ws(w));
            }
            Op::Insert(w, state, start, stop) => self.fleet.insert(Workspace {
                auto_start_at: start.at(now),
                auto_stop_at: stop.at(now),
                ..Workspace::new(ws(w), state)
            }),
            Op::Behave(w, act) => self.fleet.set_behavior(
                ws(w),
                match act {
                    Act::Succeed => Behavior::Succeed,
                    Act::Take(m) => Behavior::Take(Duration::from_secs(u64::from(m) * 60)),
                    Act::Fail => Behavior::Fail,
                    Act::Hang => Behavior::Hang,
                    Act::Panic => Behavior::Panic,
                },
            ),
            Op::FailNext(w, n) => self.fleet.fail_next(ws(w), u32::from(n)),
            Op::ReconcileAll(e) => {
                let engine = &self.nodes[usize::from(e % ENGINES)].engine;
                if let Err(error) = engine.reconcile_all().await {
                    panic!("reconcile_all failed on the in-memory store and the fake: {error}");
                }
            }
            Op::ReconcileWorkspace(e, w) => {
                let engine = &self.nodes[usize::from(e % ENGINES)].engine;
                if let Err(error) = engine.reconcile_workspace(ws(w)).await {
                    panic!(
                        "reconcile_workspace failed on the in-memory store and the fake: {error}"
                    );
                }
            }
            Op::ExecuteDue(e) => self.spawn_pass(e),
            Op::DropExecute(e, polls) => {
                self.spawn_pass(e);
                for _ in 0..polls {
                    tokio::task::yield_now().await;
                }
                let pass = self.nodes[usize::from(e % ENGINES)]
                    .passes
                    .pop()
                    .expect("just spawned");
                self.abort(pass).await;
            }
            Op::Prune(e) => {
                let i = usize::from(e % ENGINES);
                if let Err(error) = self.nodes[i].engine.prune().await {
                    panic!("prune failed on the in-memory store: {error}");
                }
            }
            Op::Crash(e) => {
                let i = usize::from(e % ENGINES);
                let fresh = self.node();
                let old = std::mem::replace(&mut self.nodes[i], fresh);
                for pass in old.passes {
                    self.abort(pass).await;
                }
            }
        }
        settle().await;
        self.reap().await;
    }

    /// The safety invariants; empty when all hold.
    fn violations(&self) -> Vec<String> {
        let mut found = self.fleet.violations();
        found.extend(job_table_violations(&self.store.jobs()));
        found
    }

    /// Makes the adapter work, lets every call in flight end, then checks over a few
    /// rounds that one scheduler pass, a lease, and one executor pass handle everything
    /// that is due; returns what was left behind.
    async fn drain(&mut self) -> Vec<String> {
        for snapshot in self.fleet.snapshots() {
            let id = snapshot.id;
            self.fleet.set_behavior(id, Behavior::Succeed);
            self.fleet.fail_next(id, 0);
            let settled = match snapshot.state {
                WorkspaceState::Starting => Some(WorkspaceState::Running),
                WorkspaceState::Stopping => Some(WorkspaceState::Stopped),
                _ => None,
            };
            if let Some(state) = settled {
                self.fleet.update(id, |w| w.state = state);
            }
        }
        let c = self.config.clone();
        // Hung calls time out, and failed attempts wait out their backoff.
        self.advance(c.action_timeout + c.retry.max_backoff + c.transition_retry)
            .await;
        self.reap().await;
        let mut found = Vec::new();
        for round in 0..3 {
            let since = self.clock.now();
            let owed = owed_occurrences(&self.fleet, since, &self.config);
            let pending: Vec<Job> = self
                .store
                .jobs()
                .into_iter()
                .filter(|j| j.state() == JobState::Pending && j.run_at <= since)
                .collect();
            if let Err(error) = self.nodes[0].engine.reconcile_all().await {
                panic!("reconcile_all failed in the drain: {error}");
            }
            self.advance(c.lease + Duration::from_secs(1)).await;
            self.spawn_pass(1);
            settle().await;
            let pass = self.nodes[1].passes.pop().expect("just spawned");
            assert!(
                pass.is_finished(),
                "an executor pass with a working adapter did not finish"
            );
            check_pass(pass.await, self.abandoned);
            let jobs = self.store.jobs();
            let now = self.clock.now();
            found.extend(
                left_behind(&owed, &pending, &jobs, since)
                    .into_iter()
                    .map(|f| format!("round {round}: {f} (checked at {now})")),
            );
        }
        found
    }

    /// Jobs rescued (a lease expired) although no claim was ever abandoned, as their
    /// logs tell (when the engine writes them).
    async fn rescues_without_crash(&self) -> Vec<JobId> {
        let mut found = Vec::new();
        if self.abandoned {
            return found;
        }
        for job in self.store.jobs() {
            let logs = self.store.job_log_list(job.id).await.unwrap_or_default();
            if logs.iter().any(|l| l.output.starts_with("rescued:")) {
                found.push(job.id);
            }
        }
        found
    }
}

/// libFuzzer's panic hook aborts the process on any panic, even one the engine
/// catches; let the fleet's injected panics through to the engine's `catch_unwind`.
fn quiet_injected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let injected = info
                .payload()
                .downcast_ref::<String>()
                .is_some_and(|m| m.starts_with("injected panic"));
            if !injected {
                fuzzer_hook(info);
            }
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    quiet_injected_panics();
    let mut bytes = Bytes(data);
    let setup = Setup::read(&mut bytes);
    let mut ops = Vec::new();
    while !bytes.is_empty() && ops.len() < MAX_OPS {
        ops.push(Op::read(&mut bytes));
    }
    // No time driver: every timer is on the fake clock, and tokio's would only cost
    // a wheel scan at each of the many yields.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let mut world = World::new(&setup);
        settle().await;
        for (step, op) in ops.iter().enumerate() {
            world.apply(*op).await;
            let broken = world.violations();
            assert!(
                broken.is_empty(),
                "after step {step} ({op:?}): {broken:#?}\n{setup:?}\nops: {:#?}",
                &ops[..=step]
            );
        }
        let missed = world.drain().await;
        let broken = world.violations();
        assert!(broken.is_empty(), "after the drain: {broken:#?}\n{setup:?}\nops: {ops:#?}");
        assert!(missed.is_empty(), "liveness: {missed:#?}\n{setup:?}\nops: {ops:#?}");
        let rescued = world.rescues_without_crash().await;
        assert!(
            rescued.is_empty(),
            "jobs {rescued:?} were rescued though no claim was abandoned"
        );
        if std::env::var_os("ENGINE_OPS_STATS").is_some() {
            let jobs = world.store.jobs();
            let calls = world.fleet.calls();
            let count = |s: JobState| jobs.iter().filter(|j| j.state() == s).count();
            eprintln!(
                "ops={} jobs={} completed={} cancelled={} open={} calls={} effective={} abandoned={} now={}",
                ops.len(),
                jobs.len(),
                count(JobState::Completed),
                count(JobState::Cancelled),
                count(JobState::Pending) + count(JobState::Running),
                calls.len(),
                calls.iter().filter(|c| c.effective).count(),
                world.abandoned,
                world.clock.now()
            );
        }
        for node in std::mem::take(&mut world.nodes) {
            for pass in node.passes {
                pass.abort();
                let _ = pass.await;
            }
        }
    });
});
