-- workspace-lifecycle migration 1: the job table and its logs.
--
-- `{schema}` is replaced by the store's schema (default `workspace_lifecycle`), so the
-- seed's names (`log_level` among them) cannot collide with the host application's.
-- Applied by `PgStore::migrate`, tracked in `{schema}.schema_migrations`, never in
-- sqlx's `_sqlx_migrations`, so a host that runs its own sqlx migrations is unaffected.

create type {schema}.workspace_lifecycle_operation as enum ('stop', 'start');

create type {schema}.log_level as enum ('debug', 'info', 'warn', 'error');

create table {schema}.workspace_lifecycle_job (
    -- The seed's columns, with the seed's meaning.
    id uuid not null,                        -- unique job ID
    created_at timestamptz not null,         -- when the job was created
    updated_at timestamptz not null,         -- when the job was last updated
    started_at timestamptz,                  -- when the current attempt was claimed; null means pending
    cancelled_at timestamptz,                -- when the job was cancelled
    completed_at timestamptz,                -- when the job finished
    error text,                              -- the final error (failed for good), or the last attempt's while waiting to retry
    workspace_id uuid not null,              -- target workspace
    operation {schema}.workspace_lifecycle_operation not null, -- start or stop
    deadline timestamptz not null,           -- the occurrence: when the job is to be executed
    -- What a reliable queue adds.
    run_at timestamptz not null,             -- when it may next be claimed (deadline, then retry times)
    attempt integer not null default 0 check (attempt >= 0),                 -- claims so far: the fencing token
    failed_attempts integer not null default 0 check (failed_attempts >= 0), -- the retry budget spent
    lease_expires_at timestamptz,            -- until when the current claim is valid
    claimed_by uuid,                         -- the executor holding the claim
    primary key (id)
);

-- "One open job per (workspace, operation)": inserts skip a conflicting row. Also serves
-- the scheduler's open jobs of a page's id range.
create unique index workspace_lifecycle_job_open
    on {schema}.workspace_lifecycle_job (workspace_id, operation)
    where completed_at is null and cancelled_at is null;

-- "One job per occurrence": a completed occurrence is never scheduled again; cancelled
-- jobs do not count, so a schedule removed and restored is scheduled anew.
create unique index workspace_lifecycle_job_occurrence
    on {schema}.workspace_lifecycle_job (workspace_id, operation, deadline)
    where cancelled_at is null;

-- "One job in flight per workspace", also when two executors race; and the claim's
-- "is this workspace busy?" lookup.
create unique index workspace_lifecycle_job_running_workspace
    on {schema}.workspace_lifecycle_job (workspace_id)
    where started_at is not null and completed_at is null and cancelled_at is null;

-- The claim (pending jobs by run_at) and the executor's next wake-up.
create index workspace_lifecycle_job_pending_run_at
    on {schema}.workspace_lifecycle_job (run_at, id)
    where started_at is null and completed_at is null and cancelled_at is null;

-- The rescue (running jobs by lease expiry) and the executor's next wake-up.
create index workspace_lifecycle_job_running_lease
    on {schema}.workspace_lifecycle_job (lease_expires_at)
    where started_at is not null and completed_at is null and cancelled_at is null;

-- Operators' listing of recent jobs.
create index workspace_lifecycle_job_created_at
    on {schema}.workspace_lifecycle_job (created_at desc, id desc);

create table {schema}.workspace_lifecycle_job_logs (
    id uuid not null,                        -- unique row id
    job_id uuid not null                     -- the job that wrote it
        references {schema}.workspace_lifecycle_job (id) on delete cascade,
    created_at timestamptz not null,         -- when it was written (the engine's clock)
    level {schema}.log_level not null,       -- level of the log
    output character varying(1024) not null, -- content of the log
    seq bigint generated always as identity, -- insertion order, for lines written at one instant
    primary key (id)
);

-- The logs of one job, in order.
create index workspace_lifecycle_job_logs_job
    on {schema}.workspace_lifecycle_job_logs (job_id, created_at, seq);

-- Wake-ups across processes: a NOTIFY on `{schema}_jobs` whenever a job may have become
-- claimable sooner (inserted, moved, released, rescued) or a running job finished (its
-- workspace is free). Notifications with one payload are merged per transaction.
create function {schema}.workspace_lifecycle_notify() returns trigger
    language plpgsql as $$
begin
    perform pg_notify('{schema}_jobs', '');
    return null;
end
$$;

create trigger workspace_lifecycle_job_inserted
    after insert on {schema}.workspace_lifecycle_job
    for each statement execute function {schema}.workspace_lifecycle_notify();

create trigger workspace_lifecycle_job_changed
    after update on {schema}.workspace_lifecycle_job
    for each row
    when (
        (new.started_at is null and new.completed_at is null and new.cancelled_at is null
            and (old.started_at is not null or new.run_at is distinct from old.run_at))
        or (old.started_at is not null and old.completed_at is null and old.cancelled_at is null
            and (new.completed_at is not null or new.cancelled_at is not null))
    )
    execute function {schema}.workspace_lifecycle_notify();
