//! Property tests: the engine's invariants under random histories.
//!
//! `engine_keeps_its_promises` is a state-machine test. Two engines run their real
//! `run` loops on one `InMemoryStore`, one `FakeClock` and one testkit fleet, while a
//! random sequence of operations moves time, edits schedules, starts and stops
//! workspaces by hand, deletes them, makes their actions fail, hang, panic or take
//! time, crashes engines (dropping them mid-action) and restarts them. After every
//! operation it checks:
//!
//! - no two open jobs per (workspace, operation), no two completed jobs per occurrence;
//! - no two in-flight jobs, and never two calls in flight, per workspace;
//! - every call that changed a workspace was one its data called for at that moment,
//!   so no action before its deadline and no action the data did not ask for;
//! - no occurrence acted on twice;
//!
//! and at the end, after the adapter has been made to work: every occurrence the
//! data calls for has been handled within one tick plus one lease of becoming due
//! to a working adapter, and no job is left behind.
//!
//! Cases: 256 by default; `PROPTEST_CASES` raises it.

mod common;
#[path = "common/pg.rs"]
mod pg;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use common::{t0, ws};
use proptest::prelude::*;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use workspace_lifecycle::scheduler::{plan, Change};
use workspace_lifecycle::testkit::{
    job_table_violations, left_behind, owed_occurrences, Behavior, Driver, FakeWorkspaces, Tracked,
};
use workspace_lifecycle::{
    deadline_supported, Config, ExecutorId, FakeClock, InMemoryStore, Job, JobId, JobListParams,
    JobState, JobStore, JobStoreAdmin, LifecycleEngine, Operation, RetryPolicy, Workspace,
    WorkspaceId, WorkspaceState,
};

const WORKSPACES: u8 = 4;

fn config() -> Config {
    Config {
        tick_interval: Duration::from_secs(60),
        page_size: 3,
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
        ..Config::default()
    }
}

fn any_state() -> impl Strategy<Value = WorkspaceState> + Clone {
    prop_oneof![
        Just(WorkspaceState::Running),
        Just(WorkspaceState::Stopped),
        Just(WorkspaceState::Starting),
        Just(WorkspaceState::Stopping),
        Just(WorkspaceState::Failed),
    ]
}

#[derive(Clone, Debug)]
enum Act {
    Succeed,
    Take(u8),
    Fail,
    Hang,
    Panic,
}

#[derive(Clone, Debug)]
enum Op {
    /// Let this many minutes pass, through every timer on the way.
    Advance(u16),
    /// Set (minutes from now) or clear a workspace's auto-start time.
    SetStart(u8, Option<i16>),
    /// Set (minutes from now) or clear a workspace's auto-stop time.
    SetStop(u8, Option<i16>),
    /// The workspace's user moves it to a state (a manual start, stop, ...).
    Manual(u8, WorkspaceState),
    /// The workspace is deleted.
    Delete(u8),
    /// A deleted workspace id comes back, stopped and unscheduled.
    Restore(u8),
    /// How the workspace answers start and stop from now on.
    Behave(u8, Act),
    /// The next n calls fail.
    FailNext(u8, u8),
    /// An engine's process dies mid-whatever and is restarted.
    Crash(u8),
    /// A service reconciles a workspace at once after an edit.
    ReconcileNow(u8),
    /// An extra executor pass on an engine, beside its loop.
    ExecuteNow(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let w = 0..WORKSPACES;
    let minutes = prop_oneof![Just(None), (-120i16..=600).prop_map(Some)];
    let state = any_state();
    let act = prop_oneof![
        4 => Just(Act::Succeed),
        2 => (1u8..=5).prop_map(Act::Take),
        1 => Just(Act::Fail),
        1 => Just(Act::Hang),
        1 => Just(Act::Panic),
    ];
    prop_oneof![
        6 => (1u16..=240).prop_map(Op::Advance),
        4 => (w.clone(), minutes.clone()).prop_map(|(w, m)| Op::SetStart(w, m)),
        4 => (w.clone(), minutes).prop_map(|(w, m)| Op::SetStop(w, m)),
        3 => (w.clone(), state).prop_map(|(w, s)| Op::Manual(w, s)),
        1 => w.clone().prop_map(Op::Delete),
        1 => w.clone().prop_map(Op::Restore),
        2 => (w.clone(), act).prop_map(|(w, a)| Op::Behave(w, a)),
        1 => (w.clone(), 1u8..=4).prop_map(|(w, n)| Op::FailNext(w, n)),
        1 => (0u8..2).prop_map(Op::Crash),
        1 => w.prop_map(Op::ReconcileNow),
        1 => (0u8..2).prop_map(Op::ExecuteNow),
    ]
}

type Engine<S> = LifecycleEngine<S, FakeClock, FakeWorkspaces>;

struct Node<S: JobStore> {
    engine: Engine<S>,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

/// Two engines, one store, one clock, one fleet.
struct World<S: JobStore + Clone> {
    /// Whether an engine has crashed: only then may a lease expire.
    crashed: bool,
    store: S,
    /// Moves the clock; also waits out the store's I/O for a store with real I/O.
    driver: Driver,
    clock: FakeClock,
    fleet: FakeWorkspaces,
    nodes: Vec<Node<S>>,
}

/// How a case begins: each workspace's state and times, and whether the adapter
/// recomputes a workspace's times after each transition as a real service would
/// (minutes until the next auto-stop after a start, and until the next auto-start
/// after a stop) or leaves stale times in place.
#[derive(Clone, Debug)]
struct Setup {
    seed: u64,
    initial: Vec<(bool, Option<i16>, Option<i16>)>,
    recompute: Option<(u16, u16)>,
}

fn setup() -> impl Strategy<Value = Setup> {
    let minutes = prop::option::of(-60i16..=300);
    (
        any::<u64>(),
        prop::collection::vec(
            (any::<bool>(), minutes.clone(), minutes),
            usize::from(WORKSPACES),
        ),
        prop::option::of((30u16..=300, 30u16..=300)),
    )
        .prop_map(|(seed, initial, recompute)| Setup {
            seed,
            initial,
            recompute,
        })
}

impl<S: JobStoreAdmin + Clone> World<S> {
    /// `track` adds the store's I/O to the driver, for a store with real I/O.
    fn new(setup: &Setup, store: S, track: impl FnOnce(Driver) -> Driver) -> Self {
        let clock = FakeClock::new(t0());
        let driver = track(Driver::new(clock.clone()));
        let fleet = FakeWorkspaces::new(clock.clone());
        let at = |m: &i16| t0() + TimeDelta::minutes((*m).into());
        for (n, (running, start, stop)) in (0..WORKSPACES).zip(&setup.initial) {
            let state = if *running {
                WorkspaceState::Running
            } else {
                WorkspaceState::Stopped
            };
            fleet.insert(Workspace {
                auto_start_at: start.as_ref().map(at),
                auto_stop_at: stop.as_ref().map(at),
                ..Workspace::new(ws(n.into()), state)
            });
        }
        if let Some((stop_after, start_after)) = setup.recompute {
            fleet.on_transition(move |w, t| match w.state {
                WorkspaceState::Running => {
                    w.auto_stop_at = Some(t + TimeDelta::minutes(stop_after.into()))
                }
                WorkspaceState::Stopped => {
                    w.auto_start_at = Some(t + TimeDelta::minutes(start_after.into()))
                }
                _ => {}
            });
        }
        let mut world = World {
            crashed: false,
            store,
            driver,
            clock,
            fleet,
            nodes: Vec::new(),
        };
        for _ in 0..2 {
            let node = world.start_node();
            world.nodes.push(node);
        }
        world
    }

    async fn settle(&self) {
        self.driver.settle().await;
    }

    async fn advance_to(&self, target: DateTime<Utc>) {
        self.driver.advance_to(target).await;
    }

    async fn advance(&self, by: Duration) {
        self.driver.advance(by).await;
    }

    async fn jobs(&self) -> Vec<Job> {
        self.store
            .job_list(JobListParams::default())
            .await
            .expect("the test's store answers")
    }

    fn start_node(&self) -> Node<S> {
        let engine = LifecycleEngine::new(
            self.store.clone(),
            self.clock.clone(),
            self.fleet.clone(),
            config(),
        )
        .expect("valid config");
        let shutdown = CancellationToken::new();
        let run = tokio::spawn({
            let (engine, shutdown) = (engine.clone(), shutdown.clone());
            async move {
                engine.run(shutdown).await;
            }
        });
        Node {
            engine,
            shutdown,
            tasks: vec![run],
        }
    }

    async fn crash(&mut self, i: usize) {
        self.crashed = true;
        let fresh = self.start_node();
        let old = std::mem::replace(&mut self.nodes[i], fresh);
        for task in &old.tasks {
            task.abort();
        }
        for task in old.tasks {
            let _ = task.await;
        }
        drop(old.shutdown);
    }

    async fn apply(&mut self, op: &Op) {
        let id = |w: &u8| ws((*w).into());
        let now = self.clock.now();
        let at = |m: &i16| now + TimeDelta::minutes((*m).into());
        match op {
            Op::Advance(m) => self.advance(Duration::from_secs(u64::from(*m) * 60)).await,
            Op::SetStart(w, m) => {
                self.fleet
                    .update(id(w), |ws| ws.auto_start_at = m.as_ref().map(at));
            }
            Op::SetStop(w, m) => {
                self.fleet
                    .update(id(w), |ws| ws.auto_stop_at = m.as_ref().map(at));
            }
            Op::Manual(w, state) => {
                self.fleet.transition(id(w), *state);
            }
            Op::Delete(w) => {
                self.fleet.remove(id(w));
            }
            Op::Restore(w) => {
                if self.fleet.get_snapshot(id(w)).is_none() {
                    self.fleet
                        .insert(Workspace::new(id(w), WorkspaceState::Stopped));
                }
            }
            Op::Behave(w, act) => self.fleet.set_behavior(
                id(w),
                match act {
                    Act::Succeed => Behavior::Succeed,
                    Act::Take(m) => Behavior::Take(Duration::from_secs(u64::from(*m) * 60)),
                    Act::Fail => Behavior::Fail,
                    Act::Hang => Behavior::Hang,
                    Act::Panic => Behavior::Panic,
                },
            ),
            Op::FailNext(w, n) => self.fleet.fail_next(id(w), (*n).into()),
            Op::Crash(e) => self.crash(usize::from(*e)).await,
            Op::ReconcileNow(w) => {
                self.nodes[0]
                    .engine
                    .reconcile_workspace(id(w))
                    .await
                    .expect("the in-memory store and the fake never fail a reconcile");
            }
            Op::ExecuteNow(e) => {
                let engine = self.nodes[usize::from(*e)].engine.clone();
                self.nodes[usize::from(*e)]
                    .tasks
                    .push(tokio::spawn(async move {
                        engine
                            .execute_due()
                            .await
                            .expect("the test's store never fails");
                    }));
            }
        }
        self.settle().await;
    }

    /// Live engines renew their leases: a rescue means a claimed job was abandoned.
    /// Empty when no job was rescued, or an engine crashed.
    async fn rescues_without_crash(&self) -> Vec<String> {
        let mut found = Vec::new();
        if self.crashed {
            return found;
        }
        for job in self.jobs().await {
            let logs = self.store.job_log_list(job.id).await.unwrap_or_default();
            if logs.iter().any(|l| l.output.starts_with("rescued:")) {
                found.push(format!(
                    "job {} was rescued though no engine crashed",
                    job.id
                ));
            }
        }
        found
    }

    /// The safety invariants; empty when all hold.
    async fn violations(&self) -> Vec<String> {
        let mut found = self.fleet.violations();
        found.extend(job_table_violations(&self.jobs().await));
        found
    }

    /// Makes the adapter work, lets the engines catch up, and checks that nothing was
    /// left behind.
    async fn drain_and_check_liveness(&mut self) -> Vec<String> {
        let c = config();
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
        // Calls already hung time out, and failed attempts wait out their backoff.
        self.advance(c.action_timeout + c.retry.max_backoff + c.transition_retry)
            .await;
        // From here the adapter works. The promise: whatever the data calls for at a
        // moment is handled within one tick plus one lease. Checked over a few rounds,
        // since handling one occurrence (a start) can make another due (a stale stop).
        let mut found = Vec::new();
        for _ in 0..3 {
            let since = self.clock.now();
            let owed = owed_occurrences(&self.fleet, since, &c);
            let pending: Vec<Job> = self
                .jobs()
                .await
                .into_iter()
                .filter(|j| j.state() == JobState::Pending && j.run_at <= since)
                .collect();
            self.advance(c.tick_interval + c.lease + Duration::from_secs(1))
                .await;
            let jobs = self.jobs().await;
            let now = self.clock.now();
            found.extend(
                left_behind(&owed, &pending, &jobs, since)
                    .into_iter()
                    .map(|f| format!("{f} (checked at {now})")),
            );
        }
        found
    }

    async fn shutdown(self) {
        for node in &self.nodes {
            node.shutdown.cancel();
        }
        self.advance(config().shutdown_grace).await;
        for node in self.nodes {
            for task in node.tasks {
                task.abort();
                let _ = task.await;
            }
        }
    }
}

fn quiet_injected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let injected = info
                .payload()
                .downcast_ref::<String>()
                .is_some_and(|m| m.starts_with("injected panic"));
            if !injected {
                default(info);
            }
        }));
    });
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

async fn run_history<S: JobStoreAdmin + Clone>(
    mut world: World<S>,
    ops: &[Op],
) -> Result<(), TestCaseError> {
    {
        world.settle().await;
        for (step, op) in ops.iter().enumerate() {
            world.apply(op).await;
            let broken = world.violations().await;
            prop_assert!(broken.is_empty(), "after step {step} ({op:?}): {broken:#?}");
        }
        let missed = world.drain_and_check_liveness().await;
        let mut broken = world.violations().await;
        broken.extend(world.rescues_without_crash().await);
        prop_assert!(broken.is_empty(), "after the drain: {broken:#?}");
        prop_assert!(missed.is_empty(), "liveness: {missed:#?}");
        if std::env::var("PROP_STATS").is_ok() {
            let jobs = world.jobs().await;
            let calls = world.fleet.calls();
            eprintln!(
                "ops={} jobs={} completed={} cancelled={} calls={} effective={} now={}",
                ops.len(),
                jobs.len(),
                jobs.iter()
                    .filter(|j| j.state() == JobState::Completed)
                    .count(),
                jobs.iter()
                    .filter(|j| j.state() == JobState::Cancelled)
                    .count(),
                calls.len(),
                calls.iter().filter(|c| c.effective).count(),
                world.clock.now()
            );
        }
        world.shutdown().await;
        Ok(())
    }
}

fn memory_world(setup: &Setup) -> World<Arc<InMemoryStore>> {
    World::new(
        setup,
        Arc::new(InMemoryStore::with_seed(setup.seed)),
        |driver| driver,
    )
}

/// At least 32 cases on Postgres; `PG_PROPTEST_CASES` raises it.
fn pg_cases() -> u32 {
    std::env::var("PG_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32)
        .max(32)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn engine_keeps_its_promises(setup in setup(), ops in prop::collection::vec(op(), 1..60)) {
        quiet_injected_panics();
        common::rt().block_on(async { run_history(memory_world(&setup), &ops).await })?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: pg_cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The same histories with `FakeClock` driving Postgres through the `now`
    /// parameters; fewer and shorter, since each step is real I/O.
    #[test]
    fn postgres_engine_keeps_its_promises(setup in setup(), ops in prop::collection::vec(op(), 1..25)) {
        quiet_injected_panics();
        common::rt().block_on(async {
            let Some(db) = pg::test_db(6).await else { return Ok(()) };
            let store = Tracked::new(db.store.clone());
            let world = World::new(&setup, store.clone(), |driver| driver.track_io(&store));
            run_history(world, &ops).await
        })?;
    }
}

/// A workspace and its open jobs, as random as the rule's inputs can be.
fn workspace_and_jobs() -> impl Strategy<Value = (Option<Workspace>, Vec<Job>)> {
    let time = (0i64..5).prop_map(|h| t0() + TimeDelta::hours(h));
    let state = any_state();
    let ws_strategy = prop::option::of(
        (
            state,
            prop::option::of(time.clone()),
            prop::option::of(time.clone()),
        )
            .prop_map(|(state, start, stop)| Workspace {
                id: ws(1),
                state,
                auto_start_at: start,
                auto_stop_at: stop,
            }),
    );
    let job = (prop::option::of(time), any::<bool>());
    (ws_strategy, job.clone(), job).prop_map(|(w, start, stop)| {
        let mut jobs = Vec::new();
        for (op, (deadline, running)) in [(Operation::Start, start), (Operation::Stop, stop)] {
            if let Some(deadline) = deadline {
                jobs.push(job_at(op, deadline, running));
            }
        }
        (w, jobs)
    })
}

fn job_at(operation: Operation, deadline: DateTime<Utc>, running: bool) -> Job {
    Job {
        id: JobId(uuid::Uuid::from_u128(operation as u128 + 100)),
        created_at: t0(),
        updated_at: t0(),
        started_at: running.then(t0),
        cancelled_at: None,
        completed_at: None,
        error: None,
        workspace_id: ws(1),
        operation,
        deadline,
        run_at: deadline,
        attempt: u32::from(running),
        failed_attempts: 0,
        lease_expires_at: running.then(|| t0() + TimeDelta::minutes(1)),
        claimed_by: running.then(|| ExecutorId(uuid::Uuid::nil())),
    }
}

/// The time a plan is made at and the configuration it reads: `now` in half hours
/// over the span of [`workspace_and_jobs`]'s times and a few hours past it, a retention
/// of a few hours (or none) and a start lead of none or half an hour, so the schedule
/// horizon falls among, before, after and exactly on the workspaces' times.
fn plan_time() -> impl Strategy<Value = (DateTime<Utc>, Config)> {
    (
        0i64..16,
        prop::option::of(1u64..5),
        prop_oneof![Just(0u64), Just(30)],
    )
        .prop_map(|(half_hours, retention_hours, lead_minutes)| {
            let config = Config {
                retention: retention_hours.map(|h| Duration::from_secs(h * 3600)),
                start_lead: Duration::from_secs(lead_minutes * 60),
                ..Config::default()
            };
            (t0() + TimeDelta::minutes(30 * half_hours), config)
        })
}

/// Applies a plan to the open jobs the way the store would.
fn applied(jobs: &[Job], changes: &[Change]) -> Vec<Job> {
    let mut out: HashMap<Operation, Job> = jobs.iter().map(|j| (j.operation, j.clone())).collect();
    for change in changes {
        match change {
            Change::Create {
                operation,
                deadline,
                ..
            } => {
                out.insert(*operation, job_at(*operation, *deadline, false));
            }
            Change::Reschedule { job, deadline, .. } => {
                if let Some(j) = out.values_mut().find(|j| j.id == job.id) {
                    j.deadline = *deadline;
                }
            }
            Change::Cancel { job, .. } => out.retain(|_, j| j.id != job.id),
            Change::Refuse { .. } | Change::Stale { .. } => {}
        }
    }
    out.into_values().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases() * 4, failure_persistence: None, ..ProptestConfig::default() })]

    /// The reconcile rule never touches a running job, never creates a second open job,
    /// never creates or moves a job to a time older than the schedule horizon (and
    /// calls only such times stale), leaves every pending job matching the data, and is
    /// a fixed point: planning again after applying asks for nothing.
    #[test]
    fn reconcile_rule_converges_in_one_step((workspace, jobs) in workspace_and_jobs(), (now, config) in plan_time()) {
        let changes = plan(workspace.as_ref(), &jobs, now, &config);
        let wanted = |operation| workspace.as_ref().and_then(|w| w.scheduled_at(operation));
        let stale = |operation, deadline| {
            config.schedule_horizon(operation, now).is_some_and(|horizon| deadline < horizon)
        };
        for change in &changes {
            match change {
                Change::Create { operation, deadline, .. } => {
                    prop_assert!(!jobs.iter().any(|j| j.operation == *operation), "second open job: {change:?}");
                    prop_assert!(!stale(*operation, *deadline), "created before the horizon: {change:?}");
                }
                Change::Reschedule { job, deadline, .. } => {
                    let target = jobs.iter().find(|j| j.id == job.id);
                    prop_assert!(target.is_some_and(|j| j.state() == JobState::Pending), "touched a non-pending job: {change:?}");
                    prop_assert!(!stale(job.operation, *deadline), "moved before the horizon: {change:?}");
                }
                Change::Cancel { job, .. } => {
                    let target = jobs.iter().find(|j| j.id == job.id);
                    prop_assert!(target.is_some_and(|j| j.state() == JobState::Pending), "touched a non-pending job: {change:?}");
                }
                Change::Refuse { operation, .. } => {
                    prop_assert!(wanted(*operation).is_some_and(|at| !deadline_supported(at)), "refused a supported time: {change:?}");
                }
                Change::Stale { operation, deadline, .. } => {
                    prop_assert_eq!(wanted(*operation), Some(*deadline), "stale is not the data's time");
                    prop_assert!(stale(*operation, *deadline), "called a time within the horizon stale: {change:?}");
                }
            }
        }
        let after = applied(&jobs, &changes);
        let again: Vec<Change> = plan(workspace.as_ref(), &after, now, &config)
            .into_iter()
            .filter(|c| !matches!(c, Change::Refuse { .. } | Change::Stale { .. }))
            .collect();
        prop_assert!(again.is_empty(), "not a fixed point: {changes:?} then {after:?}");
        for job in after.iter().filter(|j| j.state() == JobState::Pending) {
            prop_assert_eq!(wanted(job.operation), Some(job.deadline), "pending job disagrees with the data");
        }
        let _: Option<WorkspaceId> = workspace.as_ref().map(|w| w.id);
    }
}

#[test]
fn a_crash_mid_action_is_finished_by_the_other_engine() {
    common::rt().block_on(async {
        let mut world = memory_world(&Setup {
            seed: 1,
            initial: vec![(false, None, None); 4],
            recompute: None,
        });
        world.settle().await;
        world
            .fleet
            .set_behavior(ws(0), Behavior::Take(Duration::from_secs(600)));
        world.fleet.update(ws(0), |w| {
            w.auto_start_at = Some(t0() + TimeDelta::minutes(1))
        });
        world.advance_to(t0() + TimeDelta::minutes(2)).await;
        let running: Vec<_> = world
            .jobs()
            .await
            .into_iter()
            .filter(|j| j.state() == JobState::Running)
            .collect();
        assert_eq!(running.len(), 1);
        let holder = running[0].claimed_by;
        let index = world
            .nodes
            .iter()
            .position(|n| Some(n.engine.executor_id()) == holder)
            .unwrap();
        world.crash(index).await;
        // The transition the dead engine began still finishes on the platform; the
        // survivor takes the job over after the lease and finds it done.
        world.advance(Duration::from_secs(700)).await;
        let job = world
            .jobs()
            .await
            .into_iter()
            .find(|j| j.id == running[0].id)
            .unwrap();
        assert_eq!(job.state(), JobState::Completed);
        assert!(job.attempt >= 2);
        assert_eq!(
            world.fleet.get_snapshot(ws(0)).unwrap().state,
            WorkspaceState::Running
        );
        assert_eq!(
            world.fleet.calls().len(),
            1,
            "one call: the second attempt found it running"
        );
        assert!(world.violations().await.is_empty());
        world.shutdown().await;
    });
}

/// A case the property test found: a stop time recomputed from a start at a nanosecond
/// instant (a backoff's jitter) is acted on at its microsecond-rounded deadline, and
/// that occurrence counts as the one the data called for.
#[test]
fn a_recomputed_nanosecond_stop_time_is_handled() {
    quiet_injected_panics();
    let setup = Setup {
        seed: 0,
        initial: vec![(false, None, None); 4],
        recompute: Some((105, 30)),
    };
    let ops = [
        Op::FailNext(2, 4),
        Op::SetStart(2, Some(0)),
        Op::Advance(2),
        Op::SetStart(2, Some(70)),
        Op::Advance(71),
        Op::Behave(2, Act::Fail),
        Op::Advance(105),
    ];
    common::rt()
        .block_on(async { run_history(memory_world(&setup), &ops).await })
        .unwrap();
}
