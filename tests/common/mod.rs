//! What the engine and property tests share: their start instant, workspace ids and
//! builders, and the runtime they run on. Time and tasks are driven by the public
//! `workspace_lifecycle::testkit::Driver`.
#![allow(dead_code)] // each test crate uses its own subset

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use workspace_lifecycle::{
    testkit, Clock, JobStore, LifecycleEngine, RunReport, Workspace, WorkspaceId, WorkspaceState,
    Workspaces,
};

pub fn t0() -> DateTime<Utc> {
    "2026-01-05T08:00:00Z".parse().unwrap()
}

pub fn ws(n: u128) -> WorkspaceId {
    WorkspaceId(Uuid::from_u128(n))
}

/// A running workspace with an auto-stop time.
pub fn running_until(n: u128, stop: DateTime<Utc>) -> Workspace {
    Workspace {
        auto_stop_at: Some(stop),
        ..Workspace::new(ws(n), WorkspaceState::Running)
    }
}

/// A stopped workspace with an auto-start time.
pub fn stopped_until(n: u128, start: DateTime<Utc>) -> Workspace {
    Workspace {
        auto_start_at: Some(start),
        ..Workspace::new(ws(n), WorkspaceState::Stopped)
    }
}

/// The engine's run loop in the background, with the token that stops it.
pub fn spawn_run<S: JobStore, C: Clock, W: Workspaces>(
    engine: &LifecycleEngine<S, C, W>,
) -> (CancellationToken, JoinHandle<RunReport>) {
    let shutdown = CancellationToken::new();
    let run = tokio::spawn({
        let (engine, shutdown) = (engine.clone(), shutdown.clone());
        async move { engine.run(shutdown).await }
    });
    (shutdown, run)
}

/// The testkit's current-thread runtime, on which the driver can tell when every task
/// is blocked.
pub fn rt() -> tokio::runtime::Runtime {
    testkit::runtime().unwrap()
}
