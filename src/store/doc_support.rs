//! The fixture every store example starts from, so an example shows the call it is
//! about instead of the runtime, inserts and claims that set it up. Public only
//! because doc tests are compiled as another crate; not part of the API.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{InMemoryStore, JobClaimParams, JobInsertParams, JobStore, NewJob};
use crate::error::StoreError;
use crate::ids::{ExecutorId, WorkspaceId};
use crate::job::{Job, LogLine, Operation};

/// A store holding two stop jobs, both with the deadline `now` and the log line
/// "auto-stop scheduled": `running` (workspace 2) was claimed at `now` with a 60 s
/// lease, `pending` (workspace 1) was created after that claim and is due.
#[derive(Debug)]
pub struct Doc {
    /// The store.
    pub store: InMemoryStore,
    /// 2026-01-05T08:00:00Z.
    pub now: DateTime<Utc>,
    /// Workspace 1's stop job, pending and due at `now`.
    pub pending: Job,
    /// Workspace 2's stop job, running under attempt 1 until `now + 60 s`.
    pub running: Job,
}

/// Builds the [`Doc`] fixture and runs `body` on it in a current-thread runtime.
///
/// # Errors
///
/// The runtime cannot be built, or the store refuses the fixture's writes.
pub fn example<F, Fut>(body: F) -> Result<(), Box<dyn std::error::Error>>
where
    F: FnOnce(Doc) -> Fut,
    Fut: Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let doc = fixture().await?;
        body(doc).await;
        Ok(())
    })
}

async fn fixture() -> Result<Doc, Box<dyn std::error::Error>> {
    let store = InMemoryStore::new();
    let now: DateTime<Utc> = "2026-01-05T08:00:00Z".parse()?;
    let stop = |workspace| NewJob {
        workspace_id: WorkspaceId(Uuid::from_u128(workspace)),
        operation: Operation::Stop,
        deadline: now,
        run_at: None,
        log: Some(LogLine::info("auto-stop scheduled")),
    };
    let first = |jobs: Vec<Result<Job, StoreError>>| {
        jobs.into_iter()
            .next()
            .ok_or("the fixture's job is missing")
    };
    store
        .job_insert(JobInsertParams {
            jobs: vec![stop(2)],
            now,
        })
        .await?;
    let claim = JobClaimParams {
        now,
        limit: 1,
        lease: Duration::from_secs(60),
        executor: ExecutorId(Uuid::from_u128(7)),
    };
    let running = store
        .job_claim(claim)
        .await?
        .into_iter()
        .next()
        .ok_or("the fixture's claim took nothing")?;
    let inserted = store
        .job_insert(JobInsertParams {
            jobs: vec![stop(1)],
            now,
        })
        .await?;
    let pending = first(inserted)??;
    Ok(Doc {
        store,
        now,
        pending,
        running,
    })
}
