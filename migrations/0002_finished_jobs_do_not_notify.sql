-- Finished jobs no longer notify. Notifying on every completion made each committing
-- transaction take Postgres' notification queue lock in turn, serializing commits under
-- load; a per-row check for a waiting job of the same workspace cost a function call
-- per completed row. Neither is needed: the engine that finishes a job claims again at
-- once, which picks up a job of the same workspace that was waiting for it, and other
-- engines' poll (`Config::poll_interval`) covers an engine with no free permit.

drop trigger workspace_lifecycle_job_changed on {schema}.workspace_lifecycle_job;

-- A job becomes claimable: released by a retry or a rescue, or moved.
create trigger workspace_lifecycle_job_released
    after update on {schema}.workspace_lifecycle_job
    for each row
    when (
        new.started_at is null and new.completed_at is null and new.cancelled_at is null
        and (old.started_at is not null or new.run_at is distinct from old.run_at)
    )
    execute function {schema}.workspace_lifecycle_notify();
