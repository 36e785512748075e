//! What operators and notifying services rely on: lifecycle events and the auto-stop
//! reminder, retention (pruning, and never acting twice on a pruned occurrence), and
//! the metrics the engine records.

mod common;
#[path = "common/memory.rs"]
mod memory;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use common::{rt, running_until, spawn_run, stopped_until, t0, ws};
use memory::{minutes, setup, Engine};
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use workspace_lifecycle::testkit::{self, Driver};
use workspace_lifecycle::{
    telemetry, Config, Event, EventKind, Events, InMemoryStore, JobListParams, JobState, JobStore,
    JobStoreAdmin, LifecycleEngine, Workspace, WorkspaceState,
};

/// Every event received so far, without waiting for more.
async fn drain(events: &mut Events) -> Vec<Event> {
    let mut out = Vec::new();
    loop {
        tokio::select! {
            biased;
            event = events.recv() => match event {
                Some(event) => out.push(event),
                None => return out,
            },
            () = testkit::idle() => return out,
        }
    }
}

fn kinds(events: &[Event]) -> Vec<(u128, EventKind)> {
    events
        .iter()
        .map(|e| (e.workspace_id.0.as_u128(), e.kind.clone()))
        .collect()
}

#[test]
fn events_follow_a_job_from_scheduled_to_completed_or_failed() {
    rt().block_on(async {
        let (engine, clock, fleet) = setup(Config::default());
        let mut events = engine.subscribe();
        fleet.insert(running_until(1, minutes(30)));
        fleet.insert(stopped_until(2, minutes(30)));
        fleet.insert(running_until(3, minutes(30)));
        fleet.insert(Workspace {
            state: WorkspaceState::Stopped,
            ..running_until(4, minutes(30))
        });
        engine.reconcile_all().await.unwrap();
        let scheduled = drain(&mut events).await;
        assert_eq!(
            kinds(&scheduled),
            [1, 2, 3].map(|n| (n, EventKind::Scheduled)),
            "a stopped workspace with only an auto-stop gets no job"
        );
        assert!(scheduled
            .iter()
            .all(|e| e.deadline == minutes(30) && e.at == t0()));

        // Moved, and cancelled with the reason.
        fleet.update(ws(1), |w| w.auto_stop_at = Some(minutes(40)));
        fleet.update(ws(3), |w| w.auto_stop_at = None);
        engine.reconcile_all().await.unwrap();
        let changed = drain(&mut events).await;
        assert_eq!(
            kinds(&changed),
            [
                (1, EventKind::Rescheduled { from: minutes(30) }),
                (
                    3,
                    EventKind::Cancelled {
                        reason: "cancelled: the workspace no longer has an auto-stop time".into()
                    }
                ),
            ]
        );
        assert_eq!(changed[0].deadline, minutes(40));

        // Workspace 2's start fails once, then succeeds on the retry.
        fleet.fail_next(ws(2), 1);
        clock.set(minutes(30));
        engine.execute_due().await.unwrap();
        let failed = drain(&mut events).await;
        let retry_at = match &failed[..] {
            [Event {
                kind: EventKind::Started { attempt: 1 },
                ..
            }, Event {
                kind:
                    EventKind::Failed {
                        attempt: 1,
                        retry_at: Some(retry_at),
                        error,
                    },
                ..
            }] if error.starts_with("start failed") => *retry_at,
            other => panic!("expected a start and a failed attempt, got {other:#?}"),
        };
        clock.set(retry_at.max(minutes(40)));
        engine.execute_due().await.unwrap();
        let done = drain(&mut events).await;
        let done: Vec<_> = kinds(&done)
            .into_iter()
            .map(|(n, kind)| match kind {
                EventKind::Completed { acted, .. } => (n, format!("completed, acted: {acted}")),
                other => (n, format!("{other:?}")),
            })
            .collect();
        assert_eq!(done.len(), 4, "{done:?}");
        assert!(
            done.contains(&(1, "Started { attempt: 1 }".into())),
            "{done:?}"
        );
        assert!(
            done.contains(&(2, "Started { attempt: 2 }".into())),
            "{done:?}"
        );
        for n in [1, 2] {
            assert!(
                done.contains(&(n, "completed, acted: true".into())),
                "{done:?}"
            );
        }

        // A job that finds its workspace already there completes without acting.
        fleet.insert(running_until(5, minutes(50)));
        engine.reconcile_workspace(ws(5)).await.unwrap();
        fleet.transition(ws(5), WorkspaceState::Stopped);
        clock.set(minutes(50));
        engine.execute_due().await.unwrap();
        let events_5 = drain(&mut events).await;
        assert!(
            matches!(
                &kinds(&events_5)[..],
                [(5, EventKind::Scheduled), (5, EventKind::Completed { acted: false, message })]
                    if message.contains("already stopped")
            ),
            "{events_5:#?}"
        );
    });
}

#[test]
fn a_failure_for_good_is_an_event_with_no_retry() {
    rt().block_on(async {
        let config = Config {
            retry: workspace_lifecycle::RetryPolicy {
                max_attempts: 1,
                ..Default::default()
            },
            ..Config::default()
        };
        let (engine, clock, fleet) = setup(config);
        let mut events = engine.subscribe();
        fleet.insert(running_until(1, minutes(10)));
        fleet.fail_next(ws(1), 1);
        engine.reconcile_all().await.unwrap();
        clock.set(minutes(10));
        engine.execute_due().await.unwrap();
        let last = drain(&mut events).await.pop().unwrap();
        assert!(
            matches!(
                last.kind,
                EventKind::Failed {
                    attempt: 1,
                    retry_at: None,
                    ..
                }
            ),
            "{last:?}"
        );
    });
}

#[test]
fn a_slow_subscriber_misses_old_events_and_never_blocks_the_engine() {
    rt().block_on(async {
        let config = Config {
            event_buffer: 4,
            ..Config::default()
        };
        let (engine, _clock, fleet) = setup(config);
        let mut slow = engine.subscribe();
        for n in 1..=20 {
            fleet.insert(running_until(n, minutes(60)));
        }
        // 20 events into a buffer of 4, nobody reading: the pass does not wait.
        let report = tokio::time::timeout(Duration::from_secs(10), engine.reconcile_all())
            .await
            .expect("the engine never waits for a subscriber")
            .unwrap();
        assert_eq!(report.created, 20);
        let seen = drain(&mut slow).await;
        assert_eq!(slow.missed(), 16);
        let last: Vec<u128> = seen.iter().map(|e| e.workspace_id.0.as_u128()).collect();
        assert_eq!(last, [17, 18, 19, 20], "the newest are kept");
    });
}

/// `Events` is also a `futures_core::Stream`, for services that combine streams.
#[test]
fn events_are_a_stream() {
    use futures_core::Stream;
    rt().block_on(async {
        let (engine, _clock, fleet) = setup(Config::default());
        let mut events = engine.subscribe();
        fleet.insert(running_until(1, minutes(60)));
        engine.reconcile_all().await.unwrap();
        let next = std::future::poll_fn(|cx| std::pin::Pin::new(&mut events).poll_next(cx)).await;
        assert_eq!(
            next.map(|e| (e.workspace_id, e.kind)),
            Some((ws(1), EventKind::Scheduled))
        );
        drop(engine);
        let end = std::future::poll_fn(|cx| std::pin::Pin::new(&mut events).poll_next(cx)).await;
        assert_eq!(end, None);
    });
}

#[test]
fn events_end_when_the_engine_is_dropped() {
    rt().block_on(async {
        let (engine, _clock, _fleet) = setup(Config::default());
        let mut events = engine.subscribe();
        drop(engine);
        assert_eq!(events.recv().await, None);
    });
}

/// A reminder goes out `stop_reminder` before the stop, once per occurrence even
/// though every pass sees the job again; a bumped stop is reminded of at its new time
/// and not at its old one.
#[test]
fn stop_reminders_come_once_per_occurrence_before_the_deadline() {
    rt().block_on(async {
        let config = Config {
            stop_reminder: Some(Duration::from_secs(600)),
            tick_interval: Duration::from_secs(60),
            retention: None,
            ..Config::default()
        };
        let (engine, clock, fleet) = setup(config);
        let driver = Driver::new(clock.clone());
        let mut events = engine.subscribe();
        fleet.insert(running_until(1, minutes(60)));
        fleet.insert(running_until(2, minutes(60)));
        let (shutdown, run) = spawn_run(&engine);
        driver.advance_to(minutes(49)).await;
        let soon = |events: &[Event]| -> Vec<(u128, DateTime<Utc>, DateTime<Utc>, Duration)> {
            events
                .iter()
                .filter_map(|e| match e.kind {
                    EventKind::StopSoon { remaining } => {
                        Some((e.workspace_id.0.as_u128(), e.at, e.deadline, remaining))
                    }
                    _ => None,
                })
                .collect()
        };
        assert!(soon(&drain(&mut events).await).is_empty(), "not yet");
        // Workspace 2's user is active: its stop moves to 90 before the reminder.
        fleet.update(ws(2), |w| w.auto_stop_at = Some(minutes(90)));
        driver.advance_to(minutes(59)).await;
        let ten = Duration::from_secs(600);
        assert_eq!(
            soon(&drain(&mut events).await),
            [(1, minutes(50), minutes(60), ten)],
            "workspace 1 at 50, exactly once over ten passes; none for 2's old time"
        );
        driver.advance_to(minutes(85)).await;
        assert_eq!(
            soon(&drain(&mut events).await),
            [(2, minutes(80), minutes(90), ten)]
        );
        assert_eq!(
            fleet.get_snapshot(ws(1)).unwrap().state,
            WorkspaceState::Stopped
        );
        shutdown.cancel();
        run.await.unwrap();
    });
}

#[test]
fn no_reminder_when_the_stop_is_gone_or_too_close() {
    rt().block_on(async {
        let config = Config {
            stop_reminder: Some(Duration::from_secs(600)),
            retention: None,
            ..Config::default()
        };
        let (engine, clock, fleet) = setup(config);
        let driver = Driver::new(clock.clone());
        let mut events = engine.subscribe();
        fleet.insert(running_until(1, minutes(30)));
        let (shutdown, run) = spawn_run(&engine);
        driver.advance_to(minutes(15)).await;
        // The user stops the workspace by hand: no reminder of a stop that will not come.
        fleet.transition(ws(1), WorkspaceState::Stopped);
        driver.advance_to(minutes(40)).await;
        let any = drain(&mut events).await;
        assert!(
            !any.iter()
                .any(|e| matches!(e.kind, EventKind::StopSoon { .. })),
            "{any:#?}"
        );
        shutdown.cancel();
        run.await.unwrap();
    });
}

/// Retention deletes finished jobs and their logs; the engine then never schedules the
/// pruned occurrence again, even though the workspace's data still names it.
#[test]
fn pruned_occurrences_are_never_acted_on_again() {
    rt().block_on(async {
        let day = Duration::from_secs(24 * 3600);
        let config = Config {
            retention: Some(day),
            ..Config::default()
        };
        let (engine, clock, fleet) = setup(config.clone());
        fleet.insert(running_until(1, minutes(10)));
        fleet.insert(running_until(2, minutes(600)));
        engine.reconcile_all().await.unwrap();
        clock.set(minutes(10));
        assert_eq!(engine.execute_due().await.unwrap().stopped, 1);
        let done = engine
            .store()
            .job_list(JobListParams {
                workspace_id: Some(ws(1)),
                ..JobListParams::default()
            })
            .await
            .unwrap()
            .remove(0);
        // The user starts the workspace again; its data keeps the old auto-stop time.
        fleet.transition(ws(1), WorkspaceState::Running);
        assert_eq!(engine.reconcile_all().await.unwrap().created, 0);

        // A day later (and a lease: the skew margin) the job is still kept ...
        clock.set(minutes(10) + TimeDelta::days(1));
        assert_eq!(engine.prune().await.unwrap(), 0);
        // ... a moment after that it is pruned with its logs; the pending job stays.
        clock.set(minutes(10) + TimeDelta::days(1) + TimeDelta::seconds(61));
        assert_eq!(engine.prune().await.unwrap(), 1);
        assert_eq!(engine.store().job_get(done.id).await.unwrap(), None);
        assert!(engine
            .store()
            .job_log_list(done.id)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            engine
                .store()
                .job_list(JobListParams::default())
                .await
                .unwrap()
                .len(),
            1
        );
        // Nothing remembers the occurrence now, yet the pass does not schedule it.
        let report = engine.reconcile_all().await.unwrap();
        assert_eq!((report.created, report.stale), (0, 1), "{report:?}");
        clock.set(minutes(10) + TimeDelta::days(2));
        engine.execute_due().await.unwrap();
        assert_eq!(
            fleet.get_snapshot(ws(1)).unwrap().state,
            WorkspaceState::Running,
            "the user's workspace is not stopped a second time"
        );
        assert!(fleet.violations().is_empty(), "{:?}", fleet.violations());

        // Without a retention the same data would be scheduled: the horizon is what
        // keeps it safe.
        let keep = Config {
            retention: None,
            ..config
        };
        let other = LifecycleEngine::new(
            Arc::new(InMemoryStore::new()),
            clock.clone(),
            fleet.clone(),
            keep,
        )
        .unwrap();
        assert_eq!(other.reconcile_workspace(ws(1)).await.unwrap().created, 1);
        assert_eq!(other.prune().await.unwrap(), 0, "no retention, no pruning");
    });
}

#[test]
fn a_pending_job_moved_to_a_stale_time_is_cancelled() {
    rt().block_on(async {
        let config = Config {
            retention: Some(Duration::from_secs(3600)),
            ..Config::default()
        };
        let (engine, _clock, fleet) = setup(config);
        fleet.insert(running_until(1, minutes(30)));
        engine.reconcile_all().await.unwrap();
        fleet.update(ws(1), |w| w.auto_stop_at = Some(minutes(-120)));
        let report = engine.reconcile_all().await.unwrap();
        assert_eq!((report.cancelled, report.stale), (1, 1), "{report:?}");
        let job = engine
            .store()
            .job_list(JobListParams::default())
            .await
            .unwrap()
            .remove(0);
        assert_eq!(job.state(), JobState::Cancelled);
        let logs = engine.store().job_log_list(job.id).await.unwrap();
        assert!(
            logs.last()
                .unwrap()
                .output
                .contains("older than the retention period"),
            "{logs:?}"
        );
    });
}

/// `run` prunes at start and then every `prune_interval`.
#[test]
fn run_prunes_on_its_timer() {
    rt().block_on(async {
        let config = Config {
            retention: Some(Duration::from_secs(3600)),
            prune_interval: Duration::from_secs(600),
            prune_batch: 2,
            tick_interval: Duration::from_secs(3600),
            ..Config::default()
        };
        let (engine, clock, fleet) = setup(config);
        let driver = Driver::new(clock.clone());
        for n in 1..=5 {
            fleet.insert(running_until(n, minutes(1)));
        }
        engine.reconcile_all().await.unwrap();
        clock.set(minutes(1));
        assert_eq!(engine.execute_due().await.unwrap().stopped, 5);
        let count = |engine: Engine| async move {
            engine
                .store()
                .job_list(JobListParams::default())
                .await
                .unwrap()
                .len()
        };
        let (shutdown, run) = spawn_run(&engine);
        driver.settle().await;
        assert_eq!(count(engine.clone()).await, 5, "too young at start");
        // Finished at 1; kept an hour and a lease: gone at the first prune after 62.
        driver.advance_to(minutes(61)).await;
        assert_eq!(count(engine.clone()).await, 5);
        driver.advance_to(minutes(71)).await;
        assert_eq!(
            count(engine.clone()).await,
            0,
            "all five, in batches of two"
        );
        shutdown.cancel();
        run.await.unwrap();
    });
}

#[test]
fn retention_must_exceed_the_start_lead() {
    let config = Config {
        retention: Some(Duration::from_secs(60)),
        start_lead: Duration::from_secs(60),
        ..Config::default()
    };
    assert_eq!(
        config.validate().unwrap_err().to_string(),
        "start_lead (60s) must be less than retention (60s)"
    );
    let zero = Config {
        prune_batch: 0,
        ..Config::default()
    };
    assert_eq!(
        zero.validate().unwrap_err().to_string(),
        "prune_batch must be greater than zero"
    );
}

/// A recorder that keeps every metric's latest value (counters summed, gauges set,
/// histograms as their samples), keyed by name and sorted labels.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<HashMap<String, Value>>>);

#[derive(Clone, Debug, PartialEq)]
enum Value {
    Counter(u64),
    Gauge(f64),
    Histogram(Vec<f64>),
}

fn key_string(key: &Key) -> String {
    let mut labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}={}", l.key(), l.value()))
        .collect();
    labels.sort();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

struct Handle(Captured, String);

impl CounterFn for Handle {
    fn increment(&self, value: u64) {
        let mut map = self.0 .0.lock().unwrap();
        let entry = map.entry(self.1.clone()).or_insert(Value::Counter(0));
        if let Value::Counter(n) = entry {
            *n += value;
        }
    }
    fn absolute(&self, value: u64) {
        self.0
             .0
            .lock()
            .unwrap()
            .insert(self.1.clone(), Value::Counter(value));
    }
}

impl GaugeFn for Handle {
    fn increment(&self, value: f64) {
        let mut map = self.0 .0.lock().unwrap();
        let entry = map.entry(self.1.clone()).or_insert(Value::Gauge(0.0));
        if let Value::Gauge(n) = entry {
            *n += value;
        }
    }
    fn decrement(&self, value: f64) {
        GaugeFn::increment(self, -value);
    }
    fn set(&self, value: f64) {
        self.0
             .0
            .lock()
            .unwrap()
            .insert(self.1.clone(), Value::Gauge(value));
    }
}

impl HistogramFn for Handle {
    fn record(&self, value: f64) {
        let mut map = self.0 .0.lock().unwrap();
        let entry = map
            .entry(self.1.clone())
            .or_insert(Value::Histogram(Vec::new()));
        if let Value::Histogram(samples) = entry {
            samples.push(value);
        }
    }
}

impl Recorder for Captured {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(Arc::new(Handle(self.clone(), key_string(key))))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(Arc::new(Handle(self.clone(), key_string(key))))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(Arc::new(Handle(self.clone(), key_string(key))))
    }
}

impl Captured {
    fn get(&self, key: &str) -> Option<Value> {
        self.0.lock().unwrap().get(key).cloned()
    }
    fn counter(&self, key: &str) -> u64 {
        match self.get(key) {
            Some(Value::Counter(n)) => n,
            other => panic!("{key}: {other:?} in {:#?}", self.0.lock().unwrap()),
        }
    }
    fn gauge(&self, key: &str) -> f64 {
        match self.get(key) {
            Some(Value::Gauge(n)) => n,
            other => panic!("{key}: {other:?} in {:#?}", self.0.lock().unwrap()),
        }
    }
    fn samples(&self, key: &str) -> Vec<f64> {
        match self.get(key) {
            Some(Value::Histogram(samples)) => samples,
            other => panic!("{key}: {other:?} in {:#?}", self.0.lock().unwrap()),
        }
    }
}

#[test]
fn metrics_move_with_what_the_engine_does() {
    let recorder = Captured::default();
    // The local recorder covers this thread, and the current-thread runtime runs every
    // task of the engine on it.
    metrics::with_local_recorder(&recorder, || {
        rt().block_on(async {
            let config = Config {
                retention: Some(Duration::from_secs(3600)),
                ..Config::default()
            };
            let (engine, clock, fleet) = setup(config);
            let driver = Driver::new(clock.clone());
            fleet.insert(running_until(1, minutes(10)));
            fleet.insert(running_until(2, minutes(10)));
            fleet.insert(stopped_until(3, minutes(20)));
            fleet.set_behavior(
                ws(2),
                workspace_lifecycle::testkit::Behavior::Take(Duration::from_secs(30)),
            );
            engine.reconcile_all().await.unwrap();
            let name = |n: &str, labels: &str| format!("{n}{{{labels}}}");
            assert_eq!(
                recorder.counter(&name(telemetry::SCHEDULER_CHANGES, "change=created")),
                3
            );
            assert_eq!(recorder.gauge(&name(telemetry::JOBS_OPEN, "")), 3.0);
            assert_eq!(
                recorder
                    .samples(&name(telemetry::RECONCILE_DURATION, ""))
                    .len(),
                1
            );

            // Two stops at 10, claimed 5 s late; workspace 2's takes 30 s.
            clock.set(minutes(10) + TimeDelta::seconds(5));
            let pass = tokio::spawn({
                let engine = engine.clone();
                async move { engine.execute_due().await.unwrap() }
            });
            driver.settle().await;
            assert_eq!(
                recorder.gauge(&name(telemetry::JOBS_IN_FLIGHT, "")),
                1.0,
                "workspace 2's stop is held"
            );
            driver.advance_to(minutes(11)).await;
            pass.await.unwrap();
            assert_eq!(recorder.gauge(&name(telemetry::JOBS_IN_FLIGHT, "")), 0.0);
            assert_eq!(
                recorder.counter(&name(
                    telemetry::JOB_OUTCOMES,
                    "operation=stop,outcome=acted"
                )),
                2
            );
            assert_eq!(
                recorder.samples(&name(telemetry::JOB_LATENESS, "operation=stop")),
                [5.0, 5.0]
            );
            let mut took = recorder.samples(&name(
                telemetry::ACTION_DURATION,
                "operation=stop,result=ok",
            ));
            took.sort_by(f64::total_cmp);
            assert_eq!(took, [0.0, 30.0]);

            // Workspace 3's start is found done already; a failed attempt is retried.
            fleet.transition(ws(3), WorkspaceState::Running);
            fleet.insert(running_until(4, minutes(20)));
            fleet.fail_next(ws(4), 1);
            engine.reconcile_all().await.unwrap();
            clock.set(minutes(20));
            engine.execute_due().await.unwrap();
            assert_eq!(
                recorder.counter(&name(
                    telemetry::JOB_OUTCOMES,
                    "operation=start,outcome=already_done"
                )),
                1
            );
            assert_eq!(
                recorder.counter(&name(
                    telemetry::JOB_OUTCOMES,
                    "operation=stop,outcome=retried"
                )),
                1
            );
            assert_eq!(
                recorder
                    .samples(&name(
                        telemetry::ACTION_DURATION,
                        "operation=stop,result=error"
                    ))
                    .len(),
                1
            );

            // Workspace 4's retry completes at 140; the three jobs finished by 20 are
            // past the retention and a lease then, and pruned.
            clock.set(minutes(140));
            assert_eq!(engine.execute_due().await.unwrap().stopped, 1);
            assert_eq!(engine.prune().await.unwrap(), 3);
            assert_eq!(recorder.counter(&name(telemetry::JOBS_PRUNED, "")), 3);

            // A claim abandoned by a crashed executor is rescued after its lease.
            fleet.insert(running_until(6, minutes(150)));
            engine.reconcile_all().await.unwrap();
            clock.set(minutes(150));
            let claimed = engine
                .store()
                .job_claim(workspace_lifecycle::JobClaimParams {
                    now: minutes(150),
                    limit: 1,
                    lease: Duration::from_secs(60),
                    executor: workspace_lifecycle::ExecutorId(uuid::Uuid::from_u128(9)),
                })
                .await
                .unwrap();
            assert_eq!(claimed.len(), 1);
            clock.set(minutes(152));
            let report = engine.execute_due().await.unwrap();
            assert_eq!((report.rescued, report.stopped), (1, 1));
            assert_eq!(recorder.counter(&name(telemetry::JOBS_RESCUED, "")), 1);
        });
    });
}
