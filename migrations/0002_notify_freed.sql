-- A finished job notifies only when it frees a pending job of the same workspace
-- (the one case another executor is waiting for). Notifying on every completion made
-- each committing transaction take Postgres' notification queue lock in turn, which
-- serialized commits under load.

create function {schema}.workspace_lifecycle_notify_freed() returns trigger
    language plpgsql as $$
begin
    -- Uses workspace_lifecycle_job_open (workspace_id, operation).
    if exists (
        select 1 from {schema}.workspace_lifecycle_job p
        where p.workspace_id = new.workspace_id and p.id <> new.id
          and p.started_at is null and p.completed_at is null and p.cancelled_at is null
    ) then
        perform pg_notify('{schema}_jobs', '');
    end if;
    return null;
end
$$;

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

-- A running job finished.
create trigger workspace_lifecycle_job_finished
    after update on {schema}.workspace_lifecycle_job
    for each row
    when (
        old.started_at is not null and old.completed_at is null and old.cancelled_at is null
        and (new.completed_at is not null or new.cancelled_at is not null)
    )
    execute function {schema}.workspace_lifecycle_notify_freed();
