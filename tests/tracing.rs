//! What the engine tells a tracing subscriber. Alone in its test binary, so alone in
//! its process under `cargo test` as under nextest: tracing caches each callsite's
//! interest process-wide, and a callsite first hit by another test's thread before
//! this test's subscriber exists stays off for it (the event is lost).

mod common;
#[path = "common/memory.rs"]
mod memory;

use std::sync::{Arc, Mutex};

use common::{rt, spawn_run, ws};
use memory::{minutes, setup};
use workspace_lifecycle::testkit::Driver;
use workspace_lifecycle::{Config, Workspace, WorkspaceState};

/// What a tracing subscriber saw: events at info or above (with their message), and
/// the spans opened, each with its fields.
#[derive(Clone, Default)]
struct Traced {
    loud: Arc<Mutex<Vec<String>>>,
    spans: Arc<Mutex<Vec<Span>>>,
}

/// A span's name and its fields as `name=value`.
type Span = (String, Vec<String>);

struct Fields(Vec<String>);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push(format!("{}={value:?}", field.name()));
    }
}

impl tracing::Subscriber for Traced {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut fields = Fields(Vec::new());
        span.record(&mut fields);
        let mut spans = self.spans.lock().unwrap();
        spans.push((span.metadata().name().to_owned(), fields.0));
        tracing::span::Id::from_u64(spans.len() as u64)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if *event.metadata().level() <= tracing::Level::INFO {
            let mut fields = Fields(Vec::new());
            event.record(&mut fields);
            self.loud.lock().unwrap().push(fields.0.join(" "));
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// An idle engine says nothing at info or above, however many ticks pass; acting on a
/// job opens a `job` span with its ids and logs the completion at info.
#[test]
fn idle_ticks_are_quiet_and_each_action_is_traced() {
    let traced = Traced::default();
    tracing::subscriber::with_default(traced.clone(), || {
        rt().block_on(async {
            let (engine, clock, fleet) = setup(Config::default());
            let driver = Driver::new(clock.clone());
            for n in 1..=10 {
                fleet.insert(Workspace::new(ws(n), WorkspaceState::Running));
            }
            let (shutdown, run) = spawn_run(&engine);
            driver.advance_to(minutes(30)).await;
            assert_eq!(*traced.loud.lock().unwrap(), Vec::<String>::new());
            let passes = traced
                .spans
                .lock()
                .unwrap()
                .iter()
                .filter(|(name, _)| name == "reconcile_pass")
                .count();
            assert!(passes >= 30, "a span per pass: {passes}");

            fleet.update(ws(3), |w| w.auto_stop_at = Some(minutes(40)));
            driver.advance_to(minutes(41)).await;
            let loud = traced.loud.lock().unwrap().clone();
            assert_eq!(loud.len(), 1, "{loud:?}");
            assert!(
                loud[0].contains("job completed") && loud[0].contains("outcome=\"acted\""),
                "{loud:?}"
            );
            let spans = traced.spans.lock().unwrap().clone();
            let (_, fields) = spans
                .iter()
                .find(|(name, _)| name == "job")
                .expect("a job span");
            for field in ["job_id=", "workspace_id=", "operation=stop", "attempt=1"] {
                assert!(fields.iter().any(|f| f.starts_with(field)), "{fields:?}");
            }
            shutdown.cancel();
            run.await.unwrap();
        });
    });
}
