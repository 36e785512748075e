-- Retention: finished jobs (completed or cancelled) by the time they finished, so a
-- prune deletes the oldest in bounded batches without scanning the open ones. The
-- expression is the one `job_prune` filters and orders on.

create index workspace_lifecycle_job_finished
    on {schema}.workspace_lifecycle_job ((coalesce(completed_at, cancelled_at)), id)
    where completed_at is not null or cancelled_at is not null;
