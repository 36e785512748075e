//! Tools for testing an integration with the engine (the `testkit` feature).
//!
//! - [`FakeWorkspaces`]: an in-memory [`Workspaces`](crate::Workspaces) with fault
//!   injection, whose calls are recorded and checked against the engine's promises.
//! - [`Driver`] (on a [`runtime`] from here): moves a [`FakeClock`](crate::FakeClock)
//!   from sleeper to sleeper, letting the woken tasks run in between, and with a
//!   [`Tracked`] store waits out real I/O too, so the run loop, the fake clock and
//!   `PgStore` are driven deterministically together.
//! - [`contract`]: the [`JobStore`](crate::JobStore) contract suite, for any store's
//!   own tests, with [`job_store_contract!`](crate::job_store_contract) to make one
//!   test per check.
//! - [`job_table_violations`], [`owed_occurrences`] and [`left_behind`]: the safety
//!   and liveness oracles property tests check after every step; [`SeededRng`] for
//!   reproducible simulations.
//!
//! docs/testing.md shows how they fit together.
//!
//! Workspaces can be made to fail, hang, panic or take time to start and stop, be put
//! mid-transition, and be deleted. Every start/stop call is recorded with the
//! workspace as it was when called, and [`FakeWorkspaces::violations`] checks the
//! record against the engine's promises.
//!
//! Transitions take time on the fake's [`Clock`](crate::Clock): with a [`FakeClock`](crate::FakeClock)
//! a slow start finishes when the test moves the clock past it, and it finishes even if
//! the caller stopped waiting, as a real platform's would.
//!
//! ```
//! use std::time::Duration;
//! use workspace_lifecycle::testkit::{Behavior, FakeWorkspaces};
//! use workspace_lifecycle::{FakeClock, Workspace, WorkspaceId, WorkspaceState, Workspaces};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
//! let fleet = FakeWorkspaces::new(clock.clone());
//! let id = WorkspaceId(uuid::Uuid::from_u128(1));
//! fleet.insert(Workspace::new(id, WorkspaceState::Stopped));
//! fleet.fail_next(id, 1);
//! assert!(fleet.start(id).await.is_err());
//! fleet.set_behavior(id, Behavior::Succeed);
//! fleet.start(id).await.unwrap();
//! assert_eq!(fleet.get_snapshot(id).unwrap().state, WorkspaceState::Running);
//! assert_eq!(fleet.calls().len(), 2);
//! # });
//! ```

mod calls;
pub mod contract;
mod driver;
mod fake;
mod oracles;
mod rng;
mod tracked;

pub use calls::{Behavior, Call, CallOutcome, TransitionHook};
pub use driver::{idle, runtime, Driver, NOTIFY_GRACE};
pub use fake::FakeWorkspaces;
pub use oracles::{job_table_violations, left_behind, owed_occurrences};
pub use rng::SeededRng;
pub use tracked::{MethodTimes, Tracked};
