//! An engine over an in-memory store and a fake fleet on a fake clock, as the
//! operability and tracing tests build it, and their times in minutes after `t0`.
#![allow(dead_code)] // each test crate uses its own subset

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use workspace_lifecycle::testkit::FakeWorkspaces;
use workspace_lifecycle::{Config, FakeClock, InMemoryStore, LifecycleEngine};

use super::common::t0;

pub type Engine = LifecycleEngine<Arc<InMemoryStore>, FakeClock, FakeWorkspaces>;

pub fn setup(config: Config) -> (Engine, FakeClock, FakeWorkspaces) {
    let clock = FakeClock::new(t0());
    let fleet = FakeWorkspaces::new(clock.clone());
    let engine = LifecycleEngine::new(
        Arc::new(InMemoryStore::with_seed(5)),
        clock.clone(),
        fleet.clone(),
        config,
    )
    .unwrap();
    (engine, clock, fleet)
}

pub fn minutes(m: i64) -> DateTime<Utc> {
    t0() + TimeDelta::minutes(m)
}
