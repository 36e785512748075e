//! `workspace-lifecycle`: the operator's view of an engine's job table in PostgreSQL.
//!
//! It reads and repairs the table that `PgStore` keeps, beside the running engines and
//! without stopping them: `migrate` installs or upgrades the schema, `jobs list`,
//! `jobs show` and `stats` show what is scheduled, running and done, `jobs cancel`
//! drops a pending job, and `prune` deletes old finished jobs. Every command is one or
//! a few store calls through the same `JobStore` methods the engine uses, so the CLI
//! sees and changes the table exactly as an engine would.
//!
//! ```text
//! workspace-lifecycle --database-url postgres://... stats
//! DATABASE_URL=postgres://... workspace-lifecycle jobs list --state running
//! ```
//!
//! Bad input and failures print one line, `error: ...`, on stderr: exit code 2 for
//! usage errors (clap's convention), 1 for everything else. See docs/operations.md.

mod duration;
mod output;

use std::io::Write;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand, ValueEnum};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};
use uuid::Uuid;
use workspace_lifecycle::{
    JobCancel, JobCancelParams, JobId, JobListParams, JobPruneParams, JobState, JobStatsParams,
    JobStore, JobStoreAdmin, LogLine, Operation, PgStore, StoreError, WorkspaceId, DEFAULT_SCHEMA,
    EARLIEST_DEADLINE,
};

use duration::{parse_age, Age};

/// How long to wait for the server: short, so an unreachable one fails the command in
/// seconds instead of hanging an operator's terminal.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The operator CLI of workspace-lifecycle: inspect and maintain the job table.
#[derive(Debug, Parser)]
#[command(name = "workspace-lifecycle", version)]
struct Cli {
    /// The PostgreSQL database holding the job table.
    // `hide_env_values`: the URL usually carries a password; --help must not print it.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_name = "URL")]
    database_url: String,

    /// The schema of the job table (`PgStore::with_schema`).
    #[arg(long, default_value = DEFAULT_SCHEMA, value_name = "NAME")]
    schema: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create or upgrade the job table's schema (safe beside running engines).
    Migrate,
    /// List, show and cancel jobs.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Delete finished (completed or cancelled) jobs, and their logs, older than an age.
    Prune(PruneArgs),
    /// Counts by state, the next pending jobs and the oldest running one.
    Stats(StatsArgs),
}

#[derive(Debug, Subcommand)]
enum JobsCommand {
    /// Jobs matching the filters, newest first, as a table.
    List(ListArgs),
    /// One job, every field, and its log lines.
    Show {
        /// The job's id.
        id: Uuid,
    },
    /// Cancel a pending job (a running one finishes, or its lease expires).
    Cancel {
        /// The job's id.
        id: Uuid,
        /// Why, recorded in the job's log.
        #[arg(long, value_name = "TEXT", default_value = "no reason given")]
        reason: String,
    },
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Only this workspace's jobs.
    #[arg(long, value_name = "UUID")]
    workspace: Option<Uuid>,
    /// Only jobs of this operation.
    #[arg(long, value_enum)]
    operation: Option<OperationArg>,
    /// Only jobs in this state.
    #[arg(long, value_enum)]
    state: Option<StateArg>,
    /// At most this many jobs (the newest).
    #[arg(long, value_name = "N", default_value_t = 50,
          value_parser = clap::value_parser!(u64).range(1..))]
    limit: u64,
}

#[derive(Debug, Args)]
struct PruneArgs {
    /// Delete jobs that finished longer ago than this: a number and s, m, h or d
    /// (`30d`). Keep it at least the engines' `Config::retention`.
    #[arg(long, value_name = "DURATION", value_parser = parse_age)]
    older_than: Age,
    /// Jobs deleted per statement: small batches keep locks short.
    #[arg(long, value_name = "N", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    batch: u64,
}

#[derive(Debug, Args)]
struct StatsArgs {
    /// How many of the next pending jobs to show.
    #[arg(long, value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(0..=1000))]
    next: u64,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum OperationArg {
    Start,
    Stop,
}

impl From<OperationArg> for Operation {
    fn from(arg: OperationArg) -> Self {
        match arg {
            OperationArg::Start => Operation::Start,
            OperationArg::Stop => Operation::Stop,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum StateArg {
    Pending,
    Running,
    Completed,
    Cancelled,
}

impl From<StateArg> for JobState {
    fn from(arg: StateArg) -> Self {
        match arg {
            StateArg::Pending => JobState::Pending,
            StateArg::Running => JobState::Running,
            StateArg::Completed => JobState::Completed,
            StateArg::Cancelled => JobState::Cancelled,
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    match run(cli) {
        Ok(lines) => {
            let mut text = lines.join("\n");
            text.push('\n');
            // A reader that went away (`| head`) is not worth an error of our own.
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {}", output::one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// Reports a command line clap refused, as one `error: ...` line with clap's exit
/// code; help and version go out as clap renders them.
fn usage_error(error: &clap::Error) -> ExitCode {
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = error.print();
        return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
    }
    // clap's message spans lines (the value list, a usage block, a `--help` hint); keep
    // what says what was wrong, on one line.
    let rendered = error.render().to_string();
    let mut parts = Vec::new();
    for line in rendered.lines() {
        let line = line.trim();
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if !line.is_empty() {
            parts.push(line.strip_prefix("error: ").unwrap_or(line));
        }
    }
    eprintln!("error: {}", output::one_line(&parts.join(" ")));
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2))
}

/// Runs one command; returns what to print, or the one-line error.
fn run(cli: Cli) -> Result<Vec<String>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let store = connect(&cli.database_url, &cli.schema).await?;
        let result = execute(&store, cli.command).await;
        // Closing ends the session cleanly instead of leaving the server to log an
        // unexpected EOF.
        store.pool().close().await;
        result
    })
}

/// A store over a small pool, once the server has answered.
async fn connect(url: &str, schema: &str) -> Result<PgStore, String> {
    // The URL is never echoed back: it usually holds a password.
    let options =
        PgConnectOptions::from_str(url).map_err(|e| format!("invalid --database-url: {e}"))?;
    let server = format!("{}:{}", options.get_host(), options.get_port());
    // Two connections: every command runs its statements one after another. Lazy, so
    // a bad --schema is refused before the server is contacted.
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect_lazy_with(options.clone());
    let store = PgStore::with_schema(pool, schema).map_err(|e| format!("--schema: {e}"))?;
    // One plain connection first: the pool would retry a refused connection until its
    // acquire timeout and then report only that it timed out, while this reports why.
    let probe = tokio::time::timeout(CONNECT_TIMEOUT, options.connect())
        .await
        .map_err(|_| {
            format!(
                "cannot connect to the database at {server}: no answer within {}s",
                CONNECT_TIMEOUT.as_secs()
            )
        })?
        .map_err(|e| format!("cannot connect to the database at {server}: {e}"))?;
    let _ = probe.close().await;
    Ok(store)
}

async fn execute(store: &PgStore, command: Command) -> Result<Vec<String>, String> {
    let schema = store.schema();
    let store_error = |e: StoreError| describe(schema, &e);
    match command {
        Command::Migrate => {
            store.migrate().await.map_err(store_error)?;
            Ok(vec![format!("schema {schema} is up to date")])
        }
        Command::Jobs(JobsCommand::List(args)) => {
            let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
            let jobs = store
                .job_list(JobListParams {
                    workspace_id: args.workspace.map(WorkspaceId),
                    operation: args.operation.map(Operation::from),
                    state: args.state.map(JobState::from),
                    limit: Some(limit),
                })
                .await
                .map_err(store_error)?;
            if jobs.is_empty() {
                return Ok(vec!["no jobs match".to_owned()]);
            }
            let mut lines = output::job_table(&jobs);
            if jobs.len() == limit {
                lines.push(format!(
                    "(the newest {limit}; --limit shows more, the filters fewer)"
                ));
            }
            Ok(lines)
        }
        Command::Jobs(JobsCommand::Show { id }) => {
            let id = JobId(id);
            let job = store
                .job_get(id)
                .await
                .map_err(store_error)?
                .ok_or_else(|| format!("no job with id {id}"))?;
            let logs = store.job_log_list(id).await.map_err(store_error)?;
            Ok(output::job_details(&job, &logs))
        }
        Command::Jobs(JobsCommand::Cancel { id, reason }) => {
            cancel(store, JobId(id), &reason, Utc::now()).await
        }
        Command::Prune(args) => prune(store, args.older_than, args.batch, Utc::now()).await,
        Command::Stats(args) => {
            // The operator's clock: `now` decides which leases count as expired.
            let now = Utc::now();
            let stats = store
                .job_stats(JobStatsParams {
                    now,
                    next: usize::try_from(args.next).unwrap_or(usize::MAX),
                })
                .await
                .map_err(store_error)?;
            Ok(output::stats(schema, &stats, now))
        }
    }
}

/// Cancels a pending job the way the scheduler does (`attempt: None`, so a running job
/// is left alone), or says why it could not.
async fn cancel(
    store: &PgStore,
    id: JobId,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, String> {
    let schema = store.schema();
    let cancelled = store
        .job_cancel(JobCancelParams {
            jobs: vec![JobCancel {
                id,
                attempt: None,
                log: Some(LogLine::info(format!("cancelled by an operator: {reason}"))),
            }],
            now,
        })
        .await
        .map_err(|e| describe(schema, &e))?;
    let job = store
        .job_get(id)
        .await
        .map_err(|e| describe(schema, &e))?
        .ok_or_else(|| format!("no job with id {id}"))?;
    // One result for the one job: a refusal means it was not pending.
    if !cancelled.iter().any(Result::is_ok) {
        return Err(match job.state() {
            JobState::Running => format!(
                "job {id} is running, not pending; only a pending job can be cancelled \
                 (a running one finishes or its lease expires)"
            ),
            // Claimed (or finished) between the cancel and the read: the state read
            // is the newer truth, so report it as it is.
            state => format!(
                "job {id} is {}, not pending; only a pending job can be cancelled",
                state.as_str()
            ),
        });
    }
    Ok(vec![
        format!("cancelled job {id}: {}", job.occurrence()),
        // The scheduler keeps the table in line with the workspaces' data: a cancelled
        // job does not guard its occurrence, so say what happens next.
        "the scheduler creates a new job for this occurrence on its next pass if the \
         workspace's data still calls for it; change the workspace's schedule to drop it"
            .to_owned(),
    ])
}

/// Deletes finished jobs older than `older_than` in batches of `batch`, until a batch
/// comes back short.
async fn prune(
    store: &PgStore,
    older_than: Age,
    batch: u64,
    now: DateTime<Utc>,
) -> Result<Vec<String>, String> {
    let limit = usize::try_from(batch).unwrap_or(usize::MAX);
    // No job finished before the earliest time a store holds, so a cutoff before it
    // (a very long age) prunes nothing, as it should, without binding a time Postgres
    // might refuse.
    let finished_before = now
        .checked_sub_signed(older_than.delta)
        .unwrap_or(EARLIEST_DEADLINE)
        .max(EARLIEST_DEADLINE);
    let mut total = 0usize;
    loop {
        let deleted = store
            .job_prune(JobPruneParams {
                finished_before,
                limit,
            })
            .await
            .map_err(|e| describe(store.schema(), &e))?;
        total += deleted;
        if deleted < limit {
            break;
        }
    }
    let jobs = if total == 1 {
        "job (and its logs)"
    } else {
        "jobs (and their logs)"
    };
    Ok(vec![format!(
        "pruned {total} finished {jobs} older than {older_than}"
    )])
}

/// A store error as one line, with a hint where the likely fix is known.
fn describe(schema: &str, error: &StoreError) -> String {
    let code = std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<sqlx::Error>())
        .and_then(|e| e.as_database_error())
        .and_then(|e| e.code().map(|c| c.into_owned()));
    match code.as_deref() {
        // undefined_table, invalid_schema_name: the schema was never migrated, or the
        // --schema is not the engines' one.
        Some("42P01" | "3F000") => format!(
            "{error} (is {schema} the engines' schema? run `workspace-lifecycle migrate` to \
             create it)"
        ),
        _ => error.to_string(),
    }
}
