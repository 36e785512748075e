//! Every statement the Postgres store runs, in one place, each with the index it relies
//! on (indexes are defined in `migrations/0001_jobs.sql`).
//!
//! `{schema}` stands for the store's schema and `{cols}` for the job columns; both are
//! filled in once, when the store is built (the schema name is validated as a plain
//! identifier first). Every value is a bind parameter, and every time-dependent
//! predicate takes the engine's `now` as one: no statement decides with SQL `now()`.

/// The job columns, as `Job` decodes them (the enum as text, so an unknown value is a
/// decoding error rather than a driver panic).
pub(super) const JOB_COLUMNS: &str = "j.id, j.created_at, j.updated_at, j.started_at, \
    j.cancelled_at, j.completed_at, j.error, j.workspace_id, j.operation::text as operation, \
    j.deadline, j.run_at, j.attempt, j.failed_attempts, j.lease_expires_at, j.claimed_by";

/// Pending: the predicate of `workspace_lifecycle_job_pending_run_at`.
/// Running: the predicate of `workspace_lifecycle_job_running_*`.
///
/// `job_insert`: one statement for the batch. `on conflict do nothing` skips a job whose
/// (workspace, operation) is open (`workspace_lifecycle_job_open`) or whose occurrence
/// is taken (`workspace_lifecycle_job_occurrence`); each created job gets its log line.
/// $1 now, $2 workspace ids, $3 operations, $4 deadlines, $5 levels, $6 outputs (null:
/// no line), $7 run_ats (null: the deadline).
pub(super) const INSERT: &str = "
with new as (
    select n.workspace_id, n.operation, n.deadline, coalesce(n.run_at, n.deadline) as run_at,
        n.level, n.output
    from unnest($2::uuid[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::timestamptz[])
        as n(workspace_id, operation, deadline, level, output, run_at)
),
inserted as (
    insert into {schema}.workspace_lifecycle_job as j
        (id, created_at, updated_at, workspace_id, operation, deadline, run_at)
    select gen_random_uuid(), $1, $1, n.workspace_id,
        n.operation::{schema}.workspace_lifecycle_operation, n.deadline, n.run_at
    from new n
    on conflict do nothing
    returning {cols}
),
logged as (
    insert into {schema}.workspace_lifecycle_job_logs (id, job_id, created_at, level, output)
    select gen_random_uuid(), i.id, $1, n.level::{schema}.log_level, n.output
    from inserted i
    join new n on n.workspace_id = i.workspace_id and n.operation = i.operation
    where n.output is not null
)
select * from inserted";

/// `job_log_insert`: fenced lines (an attempt given) are written only while the job is
/// running under that attempt; `for share` holds the job row so a concurrent claim or
/// rescue cannot slip between the check and the insert. Primary key lookups.
/// $1 now, $2 job ids, $3 attempts (null: unfenced), $4 levels, $5 outputs.
pub(super) const LOG_INSERT: &str = "
with l as (
    select * from unnest($2::uuid[], $3::int4[], $4::text[], $5::text[])
        with ordinality as l(job_id, attempt, level, output, ord)
),
allowed as (
    select l.* from l
    join {schema}.workspace_lifecycle_job j on j.id = l.job_id
    where l.attempt is null
       or (j.attempt = l.attempt and j.started_at is not null
           and j.completed_at is null and j.cancelled_at is null)
    for share of j
)
insert into {schema}.workspace_lifecycle_job_logs (id, job_id, created_at, level, output)
select gen_random_uuid(), job_id, $1, level::{schema}.log_level, output
from allowed order by ord";

/// `job_claim`: the original design's AcquireWorkspaceLifecycleJob, batched. Pending due jobs in
/// `run_at` order (`workspace_lifecycle_job_pending_run_at`), skipping workspaces with
/// a running job (`workspace_lifecycle_job_running_workspace`), locked with
/// `skip locked` so concurrent claimers take disjoint rows; the CTE is materialized so
/// the update cannot touch more rows than the limit; one job per workspace. If two
/// claimers still pick two jobs of one workspace, the running-workspace unique index
/// rejects the second and the store retries the claim.
/// $1 now, $2 limit, $3 lease expiry, $4 executor.
pub(super) const CLAIM: &str = "
with candidate as materialized (
    select j.id, j.workspace_id, j.run_at
    from {schema}.workspace_lifecycle_job j
    where j.started_at is null and j.completed_at is null and j.cancelled_at is null
      and j.run_at <= $1
      and not exists (
          select 1 from {schema}.workspace_lifecycle_job r
          where r.workspace_id = j.workspace_id
            and r.started_at is not null and r.completed_at is null and r.cancelled_at is null)
    order by j.run_at, j.id
    limit $2
    for update skip locked
),
chosen as (
    select distinct on (workspace_id) id from candidate order by workspace_id, run_at, id
)
update {schema}.workspace_lifecycle_job as j
set started_at = $1, updated_at = $1, attempt = j.attempt + 1,
    lease_expires_at = $3, claimed_by = $4
from chosen c
where j.id = c.id
returning {cols}";

/// `job_reschedule`: the original design's UpdateWorkspaceLifecycleJobByID for pending
/// jobs, batched. A move onto an occurrence another job completed is refused ("taken",
/// checked with `workspace_lifecycle_job_occurrence`); the update re-checks "pending" on
/// the locked row, so a job claimed meanwhile is reported "not pending". One row per
/// move, in order, with the job as moved when it moved.
/// $1 now, $2 job ids, $3 deadlines, $4 levels, $5 outputs, $6 run_ats (null: the
/// deadline).
pub(super) const RESCHEDULE: &str = "
with m as (
    select * from unnest($2::uuid[], $3::timestamptz[], $4::text[], $5::text[], $6::timestamptz[])
        with ordinality as m(id, deadline, level, output, run_at, ord)
),
target as (
    select m.*,
        coalesce(j.started_at is null and j.completed_at is null and j.cancelled_at is null, false)
            as pending,
        exists (
            select 1 from {schema}.workspace_lifecycle_job d
            where d.workspace_id = j.workspace_id and d.operation = j.operation
              and d.deadline = m.deadline and d.id <> j.id
              and d.cancelled_at is null) as taken
    from m left join {schema}.workspace_lifecycle_job j on j.id = m.id
),
moved as (
    update {schema}.workspace_lifecycle_job as j
    set deadline = t.deadline, run_at = coalesce(t.run_at, t.deadline), updated_at = $1,
        failed_attempts = 0, error = null
    from target t
    where j.id = t.id and t.pending and not t.taken
      and j.started_at is null and j.completed_at is null and j.cancelled_at is null
    returning {cols}
),
logged as (
    insert into {schema}.workspace_lifecycle_job_logs (id, job_id, created_at, level, output)
    select gen_random_uuid(), t.id, $1, t.level::{schema}.log_level, t.output
    from moved join target t on t.id = moved.id
    where t.output is not null
)
select t.id as target_id, t.deadline as target_deadline,
    case when moved.id is not null then 'moved'
         when t.pending and t.taken then 'taken'
         else 'not_pending' end as outcome,
    moved.*
from target t left join moved on moved.id = t.id
order by t.ord";

/// `job_cancel`: the original design's UpdateWorkspaceLifecycleJobWithCancelByID, batched. Without
/// an attempt only a pending job is cancelled; with one, only a job running under it.
/// Primary key lookups. $1 now, $2 job ids, $3 attempts (null: pending only),
/// $4 levels, $5 outputs.
pub(super) const CANCEL: &str = "
with c as (
    select * from unnest($2::uuid[], $3::int4[], $4::text[], $5::text[])
        with ordinality as c(id, attempt, level, output, ord)
),
cancelled as (
    update {schema}.workspace_lifecycle_job as j
    set cancelled_at = $1, updated_at = $1, lease_expires_at = null
    from c
    where j.id = c.id and j.completed_at is null and j.cancelled_at is null
      and ((c.attempt is null and j.started_at is null)
        or (c.attempt is not null and j.started_at is not null and j.attempt = c.attempt))
    returning {cols}
),
logged as (
    insert into {schema}.workspace_lifecycle_job_logs (id, job_id, created_at, level, output)
    select gen_random_uuid(), c.id, $1, c.level::{schema}.log_level, c.output
    from cancelled join c on c.id = cancelled.id
    where c.output is not null
)
select * from cancelled";

/// `job_complete`: the original design's UpdateWorkspaceLifecycleJobWithCompleteByID, fenced by
/// the attempt, with its log lines; a final error spends one more `failed_attempts`.
/// Primary key lookup.
/// $1 id, $2 attempt, $3 now, $4 error, $5 levels, $6 outputs.
pub(super) const COMPLETE: &str = "
with done as (
    update {schema}.workspace_lifecycle_job as j
    set completed_at = $3, updated_at = $3, lease_expires_at = null, error = $4,
        failed_attempts = j.failed_attempts + case when $4::text is null then 0 else 1 end
    where j.id = $1 and j.attempt = $2
      and j.started_at is not null and j.completed_at is null and j.cancelled_at is null
    returning {cols}
),
logged as (
    insert into {schema}.workspace_lifecycle_job_logs (id, job_id, created_at, level, output)
    select gen_random_uuid(), done.id, $3, l.level::{schema}.log_level, l.output
    from done cross join unnest($5::text[], $6::text[]) with ordinality as l(level, output, ord)
    order by l.ord
)
select * from done";

/// `job_complete_batch`: `COMPLETE` for many jobs in one statement, each fenced by its
/// own attempt. Primary key lookups. $1 ids, $2 attempts, $3 now (the batch's one
/// time), $4 errors; the log lines as $5 job ids, $6 levels, $7 outputs, in order.
pub(super) const COMPLETE_BATCH: &str = "
with d as (
    select * from unnest($1::uuid[], $2::int4[], $4::text[]) as d(id, attempt, error)
),
done as (
    update {schema}.workspace_lifecycle_job as j
    set completed_at = $3, updated_at = $3, lease_expires_at = null, error = d.error,
        failed_attempts = j.failed_attempts + case when d.error is null then 0 else 1 end
    from d
    where j.id = d.id and j.attempt = d.attempt
      and j.started_at is not null and j.completed_at is null and j.cancelled_at is null
    returning {cols}
),
logged as (
    insert into {schema}.workspace_lifecycle_job_logs (id, job_id, created_at, level, output)
    select gen_random_uuid(), l.job_id, done.completed_at, l.level::{schema}.log_level, l.output
    from unnest($5::uuid[], $6::text[], $7::text[]) with ordinality as l(job_id, level, output, ord)
    join done on done.id = l.job_id
    order by l.ord
)
select * from done";

/// `job_retry`: a running job back to pending at `run_at`, fenced by the attempt; a
/// failed attempt (an error given) spends one of `failed_attempts`. Primary key lookup.
/// $1 id, $2 attempt, $3 now, $4 run_at, $5 error (null: a release), $6 levels, $7 outputs.
pub(super) const RETRY: &str = "
with released as (
    update {schema}.workspace_lifecycle_job as j
    set started_at = null, updated_at = $3, run_at = $4, lease_expires_at = null,
        claimed_by = null,
        failed_attempts = j.failed_attempts + case when $5::text is null then 0 else 1 end,
        error = coalesce($5::text, j.error)
    where j.id = $1 and j.attempt = $2
      and j.started_at is not null and j.completed_at is null and j.cancelled_at is null
    returning {cols}
),
logged as (
    insert into {schema}.workspace_lifecycle_job_logs (id, job_id, created_at, level, output)
    select gen_random_uuid(), released.id, $3, l.level::{schema}.log_level, l.output
    from released cross join unnest($6::text[], $7::text[]) with ordinality as l(level, output, ord)
    order by l.ord
)
select * from released";

/// `job_renew_lease`, fenced by the attempt. Primary key lookup.
/// $1 id, $2 attempt, $3 now, $4 new expiry.
pub(super) const RENEW: &str = "
update {schema}.workspace_lifecycle_job as j
set lease_expires_at = $4, updated_at = $3
where j.id = $1 and j.attempt = $2
  and j.started_at is not null and j.completed_at is null and j.cancelled_at is null
returning j.lease_expires_at";

/// `job_rescue`: running jobs whose lease expired by $1 back to pending, due at $1
/// (all running jobs, at most the engines' permits, through
/// `workspace_lifecycle_job_running_workspace`). `skip locked` leaves a job whose holder is
/// finishing it right now to that holder; the `expired` rows are returned as they were.
pub(super) const RESCUE: &str = "
with expired as (
    select {cols} from {schema}.workspace_lifecycle_job j
    where j.started_at is not null and j.completed_at is null and j.cancelled_at is null
      and j.lease_expires_at <= $1
    for update skip locked
),
rescued as (
    update {schema}.workspace_lifecycle_job as j
    set started_at = null, updated_at = $1, run_at = $1, lease_expires_at = null, claimed_by = null
    from expired e
    where j.id = e.id
    returning j.id
)
select e.* from expired e join rescued r on r.id = e.id";

/// `job_list_open` for a page's id range (`workspace_lifecycle_job_open`).
/// $1 after (exclusive, null: unbounded), $2 through (inclusive, null: unbounded).
/// The bounds are written as a range on `workspace_id` (nulls become the lowest and
/// highest uuid) so that the generic plan of the prepared statement still scans the
/// index by range; `$1 is null or workspace_id > $1` made it scan every open job.
pub(super) const LIST_OPEN_RANGE: &str = "
select {cols} from {schema}.workspace_lifecycle_job j
where j.completed_at is null and j.cancelled_at is null
  and j.workspace_id >= coalesce($1::uuid, '00000000-0000-0000-0000-000000000000')
  and j.workspace_id <= coalesce($2::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff')
  and j.workspace_id is distinct from $1::uuid
order by j.workspace_id, j.operation::text";

/// `job_list_open` for one workspace (`workspace_lifecycle_job_open`). $1 workspace.
pub(super) const LIST_OPEN_ONE: &str = "
select {cols} from {schema}.workspace_lifecycle_job j
where j.completed_at is null and j.cancelled_at is null and j.workspace_id = $1
order by j.operation::text";

/// `job_next_due`: the earliest pending `run_at` (`workspace_lifecycle_job_pending_run_at`)
/// or running lease expiry (the few running jobs, `workspace_lifecycle_job_running_workspace`)
/// after $1, up to
/// $2 (`LATEST_DEADLINE`), so a hand-written `infinity` is never read back.
pub(super) const NEXT_DUE: &str = "
select least(
    (select min(run_at) from {schema}.workspace_lifecycle_job
     where started_at is null and completed_at is null and cancelled_at is null
       and run_at > $1 and run_at <= $2),
    (select min(lease_expires_at) from {schema}.workspace_lifecycle_job
     where started_at is not null and completed_at is null and cancelled_at is null
       and lease_expires_at > $1 and lease_expires_at <= $2)) as next_due";

/// Setting aside a row the code cannot decode: cancelled with the reason as its error
/// and an error log line; a pending row ($4 null) or one running under attempt $4.
/// Primary key lookup. $1 id, $2 now, $3 reason.
pub(super) const SET_ASIDE: &str = "
with gone as (
    update {schema}.workspace_lifecycle_job as j
    set cancelled_at = $2, updated_at = $2, lease_expires_at = null, error = $3
    where j.id = $1 and j.completed_at is null and j.cancelled_at is null
      and (($4::int4 is null and j.started_at is null)
        or ($4::int4 is not null and j.started_at is not null and j.attempt = $4))
    returning j.id
)
insert into {schema}.workspace_lifecycle_job_logs (id, job_id, created_at, level, output)
select gen_random_uuid(), gone.id, $2, 'error', $3 from gone";

/// `job_get`: primary key.
pub(super) const GET: &str =
    "select {cols} from {schema}.workspace_lifecycle_job j where j.id = $1";

/// `job_list`: newest first. No index: an operator's listing sorts the table rather than
/// every write paying for an index by creation time (migration 4).
/// $1 workspace, $2 operation, $3 state, $4 limit (each null: any).
pub(super) const LIST: &str = "
select {cols} from {schema}.workspace_lifecycle_job j
where ($1::uuid is null or j.workspace_id = $1)
  and ($2::text is null or j.operation::text = $2)
  and ($3::text is null or $3 = case
        when j.cancelled_at is not null then 'cancelled'
        when j.completed_at is not null then 'completed'
        when j.started_at is not null then 'running'
        else 'pending' end)
order by j.created_at desc, j.id desc
limit $4";

/// `job_log_list`: one job's lines in order (`workspace_lifecycle_job_logs_job`).
pub(super) const LOG_LIST: &str = "
select id, job_id, created_at, level::text as level, output::text as output
from {schema}.workspace_lifecycle_job_logs
where job_id = $1
order by created_at, seq";

/// `job_prune`: up to $2 finished jobs that finished before $1, oldest first
/// (`workspace_lifecycle_job_finished`, migration 3), with their log lines
/// (`workspace_lifecycle_job_logs_job`; there is no foreign key to cascade since
/// migration 4). A finished job gets no new lines: `LOG_INSERT` takes a share lock on
/// the job row, which waits for this delete and then finds no job. `skip
/// locked` lets replicas prune side by side, and the batch bounds how long rows stay
/// locked. Counts the deleted jobs.
pub(super) const PRUNE: &str = "
with doomed as (
    select id from {schema}.workspace_lifecycle_job
    where (completed_at is not null or cancelled_at is not null)
      and coalesce(completed_at, cancelled_at) < $1
    order by coalesce(completed_at, cancelled_at), id
    limit $2
    for update skip locked
),
lines as (
    delete from {schema}.workspace_lifecycle_job_logs l
    using doomed where l.job_id = doomed.id
)
delete from {schema}.workspace_lifecycle_job j
using doomed where j.id = doomed.id";

/// `job_stats`, the counts: one pass over the table (an operator's query, not the
/// engine's; no index serves every count). $1 now.
pub(super) const STATS_COUNTS: &str = "
select
    count(*) filter (where cancelled_at is null and completed_at is null and started_at is null) as pending,
    count(*) filter (where cancelled_at is null and completed_at is null and started_at is not null) as running,
    count(*) filter (where cancelled_at is null and completed_at is not null) as completed,
    count(*) filter (where cancelled_at is null and completed_at is not null and error is not null) as failed,
    count(*) filter (where cancelled_at is not null) as cancelled,
    count(*) filter (where cancelled_at is null and completed_at is null and started_at is not null
        and lease_expires_at <= $1) as expired_leases
from {schema}.workspace_lifecycle_job";

/// `job_stats`, the next pending jobs (`workspace_lifecycle_job_pending_run_at`).
/// $1 how many.
pub(super) const STATS_NEXT_DUE: &str = "
select {cols} from {schema}.workspace_lifecycle_job j
where j.started_at is null and j.completed_at is null and j.cancelled_at is null
order by j.run_at, j.id
limit $1";

/// `job_stats`, the running job claimed longest ago: the running jobs
/// (`workspace_lifecycle_job_running_workspace`), sorted; there are at most as many as
/// the engines' permits.
pub(super) const STATS_OLDEST_RUNNING: &str = "
select {cols} from {schema}.workspace_lifecycle_job j
where j.started_at is not null and j.completed_at is null and j.cancelled_at is null
order by j.started_at, j.id
limit 1";

/// Fills in the schema and the column list.
pub(super) fn render(template: &str, schema: &str) -> String {
    template
        .replace("{cols}", JOB_COLUMNS)
        .replace("{schema}", schema)
}
