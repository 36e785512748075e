//! Helpers shared by the engine tests and the property tests.
#![allow(dead_code)] // each test crate uses its own subset

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;
use workspace_lifecycle::{Clock, FakeClock, WorkspaceId};

pub fn t0() -> DateTime<Utc> {
    "2026-01-05T08:00:00Z".parse().unwrap()
}

pub fn ws(n: u128) -> WorkspaceId {
    WorkspaceId(Uuid::from_u128(n))
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Lets every task that can run, run, until all are blocked again (on the fake clock
/// or on each other). Everything here runs on one current-thread runtime with an
/// in-memory store, so nothing waits on real I/O or real time: 64 yields
/// cover the longest chain of wake-ups a step can cause.
pub async fn settle() {
    for _ in 0..64 {
        tokio::task::yield_now().await;
    }
}

/// Moves the clock to `target` the way real time passes: stopping at every sleeper's
/// deadline on the way and letting the woken tasks run before going on.
pub async fn advance_to(clock: &FakeClock, target: DateTime<Utc>) {
    settle().await;
    while let Some(next) = clock.next_deadline() {
        if next > target {
            break;
        }
        clock.set(next.max(clock.now()));
        settle().await;
    }
    if clock.now() < target {
        clock.set(target);
    }
    settle().await;
}

pub async fn advance(clock: &FakeClock, by: Duration) {
    let target = clock.now() + chrono::TimeDelta::from_std(by).unwrap();
    advance_to(clock, target).await;
}
