//! The one boundary with the user's [`Workspaces`]: every call the engine makes to it
//! goes through [`Adapter`], so none can forget what each call needs.
//!
//! - A time limit: `Config::action_timeout`, on the engine's clock, so a `FakeClock`
//!   times a hung adapter out exactly as the system clock would.
//! - A panic, while the call's future is built or while it runs, becomes
//!   [`WorkspaceError::Panicked`]: one bad call fails one job or one pass, never the
//!   engine's loops.
//! - Every workspace time returned is rounded to the store's microsecond precision
//!   ([`Workspace::at_store_precision`]): the rules compare these times with stored
//!   deadlines, and an unrounded nanosecond would never equal its own job's deadline.
//! - Start and stop calls are timed into `telemetry::ACTION_DURATION`.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::LifecycleEngine;
use crate::clock::{add, Clock};
use crate::error::WorkspaceError;
use crate::ids::WorkspaceId;
use crate::job::Operation;
use crate::store::JobStore;
use crate::telemetry::record;
use crate::workspace::{Workspace, Workspaces};

/// The user's workspaces, as the engine calls them: bounded in time, panics caught,
/// times rounded to the store's precision.
pub(super) struct Adapter<'a, C, W> {
    clock: &'a C,
    workspaces: &'a W,
    timeout: Duration,
}

impl<S: JobStore, C: Clock, W: Workspaces> LifecycleEngine<S, C, W> {
    /// The user's workspaces behind the engine's boundary; the only way the engine
    /// reaches them.
    pub(super) fn adapter(&self) -> Adapter<'_, C, W> {
        Adapter {
            clock: &self.inner.clock,
            workspaces: &self.inner.workspaces,
            timeout: self.inner.config.action_timeout,
        }
    }
}

/// A future the user's adapter returned, as `async_trait` boxes it.
type Call<'a, T> = Pin<Box<dyn Future<Output = Result<T, WorkspaceError>> + Send + 'a>>;

impl<'a, C: Clock, W: Workspaces> Adapter<'a, C, W> {
    /// One page of workspaces after `after`, in ascending id order (which the caller
    /// checks), times rounded.
    pub(super) async fn list(
        &self,
        after: Option<WorkspaceId>,
        limit: usize,
    ) -> Result<Vec<Workspace>, WorkspaceError> {
        let page = self
            .call(|| self.workspaces.list(after, limit), "list")
            .await?;
        Ok(page
            .into_iter()
            .map(Workspace::at_store_precision)
            .collect())
    }

    /// One workspace, times rounded; `None` if it does not exist.
    pub(super) async fn get(&self, id: WorkspaceId) -> Result<Option<Workspace>, WorkspaceError> {
        let ws = self.call(|| self.workspaces.get(id), "get").await?;
        Ok(ws.map(Workspace::at_store_precision))
    }

    /// Starts or stops the workspace, as `operation` says, and records how long the
    /// call took and whether it succeeded.
    pub(super) async fn act(
        &self,
        operation: Operation,
        id: WorkspaceId,
    ) -> Result<(), WorkspaceError> {
        let call = || match operation {
            Operation::Start => self.workspaces.start(id),
            Operation::Stop => self.workspaces.stop(id),
        };
        let called = self.clock.now();
        let result = self.call(call, operation.as_str()).await;
        let took = (self.clock.now() - called).to_std().unwrap_or_default();
        record::action(operation, result.is_ok(), took);
        result
    }

    /// Runs the call `make_call` builds under the time limit, turning a panic into
    /// [`WorkspaceError::Panicked`]; `operation` names the call in a timeout.
    async fn call<T>(
        &self,
        make_call: impl FnOnce() -> Call<'a, T>,
        operation: &'static str,
    ) -> Result<T, WorkspaceError> {
        // An adapter may panic while building its future as well as while running it.
        let call = match std::panic::catch_unwind(AssertUnwindSafe(make_call)) {
            Ok(call) => call,
            Err(payload) => return Err(WorkspaceError::Panicked(panic_message(payload.as_ref()))),
        };
        let deadline = add(self.clock.now(), self.timeout);
        tokio::select! {
            biased;
            result = CatchUnwind(call) => result.unwrap_or_else(|message| Err(WorkspaceError::Panicked(message))),
            _ = self.clock.sleep_until(deadline) => Err(WorkspaceError::TimedOut {
                operation,
                after: self.timeout,
            }),
        }
    }
}

/// Polls a boxed future, catching a panic as its message.
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(&mut self.0).poll(cx))) {
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}
