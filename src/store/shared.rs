//! The stores behind an `Arc`: engines in one process share one table that way.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::*;
use crate::error::StoreError;
use crate::ids::JobId;
use crate::job::{Job, JobLog};

/// A shared store: engines in one process (or a test's several engines) share one
/// table through an `Arc`.
#[async_trait]
impl<S: JobStore + ?Sized> JobStore for Arc<S> {
    async fn job_insert(
        &self,
        params: JobInsertParams,
    ) -> Result<Vec<Result<Job, StoreError>>, StoreError> {
        (**self).job_insert(params).await
    }
    async fn job_log_insert(&self, params: JobLogInsertParams) -> Result<usize, StoreError> {
        (**self).job_log_insert(params).await
    }
    async fn job_claim(&self, params: JobClaimParams) -> Result<Vec<Job>, StoreError> {
        (**self).job_claim(params).await
    }
    async fn job_reschedule(
        &self,
        params: JobRescheduleParams,
    ) -> Result<Vec<Result<Job, StoreError>>, StoreError> {
        (**self).job_reschedule(params).await
    }
    async fn job_cancel(
        &self,
        params: JobCancelParams,
    ) -> Result<Vec<Result<Job, StoreError>>, StoreError> {
        (**self).job_cancel(params).await
    }
    async fn job_complete(&self, params: JobCompleteParams) -> Result<Job, StoreError> {
        (**self).job_complete(params).await
    }
    async fn job_complete_batch(
        &self,
        params: JobCompleteBatchParams,
    ) -> Result<Vec<Result<Job, StoreError>>, StoreError> {
        (**self).job_complete_batch(params).await
    }
    async fn job_retry(&self, params: JobRetryParams) -> Result<Job, StoreError> {
        (**self).job_retry(params).await
    }
    async fn job_renew_lease(
        &self,
        params: JobRenewLeaseParams,
    ) -> Result<DateTime<Utc>, StoreError> {
        (**self).job_renew_lease(params).await
    }
    async fn job_rescue(&self, params: JobRescueParams) -> Result<Vec<Job>, StoreError> {
        (**self).job_rescue(params).await
    }
    async fn job_list_open(&self, range: WorkspaceRange) -> Result<Vec<Job>, StoreError> {
        (**self).job_list_open(range).await
    }
    async fn job_next_due(
        &self,
        params: JobNextDueParams,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        (**self).job_next_due(params).await
    }
    async fn job_prune(&self, params: JobPruneParams) -> Result<usize, StoreError> {
        (**self).job_prune(params).await
    }
    fn job_changes(&self) -> Option<watch::Receiver<u64>> {
        (**self).job_changes()
    }
}

/// A shared store, for operators as for engines.
#[async_trait]
impl<S: JobStoreAdmin + ?Sized> JobStoreAdmin for Arc<S> {
    async fn job_get(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        (**self).job_get(id).await
    }
    async fn job_list(&self, params: JobListParams) -> Result<Vec<Job>, StoreError> {
        (**self).job_list(params).await
    }
    async fn job_log_list(&self, id: JobId) -> Result<Vec<JobLog>, StoreError> {
        (**self).job_log_list(id).await
    }
    async fn job_stats(&self, params: JobStatsParams) -> Result<JobStats, StoreError> {
        (**self).job_stats(params).await
    }
}
