-- Two indexes fewer on the job table. Every claim and every completion writes a new
-- version of the row, and a new version enters each index whose predicate it matches:
-- six index entries per claim before this migration, four after; four per completion,
-- three after; five per insert, four after (`EXPLAIN ANALYZE` in docs/performance.md).
--
-- Running jobs are few (at most the engines' permits), so the rescue, the executor's
-- next wake-up and the oldest running job in `job_stats` read them all through
-- `workspace_lifecycle_job_running_workspace`, whose predicate is the same, instead of
-- an index of their own by lease expiry. Without `lease_expires_at` in any index, a
-- lease renewal is a heap-only (HOT) update.
drop index {schema}.workspace_lifecycle_job_running_lease;

-- The operators' listing (`job_list`, `workspace-lifecycle jobs list`) sorts the table
-- instead: a scan for an operator's command, not an index entry on every write.
drop index {schema}.workspace_lifecycle_job_created_at;

-- Log lines without a foreign key to their job. The key checked every line written
-- (a lookup of the job row with a share lock, per line: 12 µs of the 70 µs a new job
-- and its line cost, `EXPLAIN ANALYZE` in docs/performance.md) and cascaded deletes.
-- Neither is needed: the store writes a job's lines in the statement that creates or
-- changes the job, or (`job_log_insert`) joined to the job row under a share lock, and
-- `job_prune` deletes the lines of the jobs it deletes.
alter table {schema}.workspace_lifecycle_job_logs
    drop constraint workspace_lifecycle_job_logs_job_id_fkey;
