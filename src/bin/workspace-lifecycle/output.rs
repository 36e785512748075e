//! What the commands print: aligned tables and `key  value` blocks.
//!
//! Everything is built as lines and returned, so `main` writes a command's output in
//! one go (a closed pipe, as in `... | head`, is then one ignored error, not a panic),
//! and the rendering is tested without a database.

use chrono::{DateTime, SecondsFormat, Utc};
use workspace_lifecycle::{Job, JobLog, JobStats};

/// Errors longer than this are cut in tables; `jobs show` prints them whole.
const TABLE_ERROR_CHARS: usize = 60;

/// The width of the keys of a `key  value` block.
const KEY_WIDTH: usize = 18;

/// A time in tables: RFC 3339 to the second, in UTC.
pub fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A time in `jobs show` and log lines: to the millisecond, where ordering matters.
pub fn precise(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn precise_or_dash(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| "-".to_owned(), precise)
}

/// `at` relative to `now`, to its two largest units: `in 3h 20m`, `45s ago`, `in <1s`.
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let millis = (at - now).num_milliseconds();
    let seconds = millis / 1000;
    if millis == 0 {
        return "now".to_owned();
    }
    // Not "now": a job due in 900 ms is not due yet, and one 900 ms late is late.
    if seconds == 0 {
        return if millis > 0 { "in <1s" } else { "<1s ago" }.to_owned();
    }
    let mut rest = seconds.unsigned_abs();
    let mut parts = Vec::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if rest >= size || (parts.is_empty() && size == 1) {
            parts.push(format!("{}{unit}", rest / size));
            rest %= size;
        } else if !parts.is_empty() {
            // Units below the largest one count even when zero ("1h 0m"), so the two
            // parts shown are always adjacent units.
            parts.push(format!("0{unit}"));
        }
        if parts.len() == 2 {
            break;
        }
    }
    let span = parts.join(" ");
    if seconds > 0 {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

/// `text` on one line: runs of whitespace, newlines included, become one space, and
/// the other control characters are [`escaped`].
pub fn one_line(text: &str) -> String {
    escaped(&text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// `text` with every control character (C0, DEL, C1) written as `\u{..}`: an
/// adapter's error or log line is shown to the operator, and an escape sequence in it
/// must not recolour, clear or forge lines on their terminal.
pub fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` cut to at most `max` characters, ending with `…` when cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// An aligned table: each column as wide as its widest cell, two spaces between
/// columns, no trailing spaces.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let render = |cells: &mut dyn Iterator<Item = &str>| {
        let line = cells
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ");
        line.trim_end().to_owned()
    };
    let mut lines = vec![render(&mut header.iter().copied())];
    for row in rows {
        lines.push(render(&mut row.iter().map(String::as_str)));
    }
    lines
}

/// The cells every job table starts with: ID, WORKSPACE, OP.
fn job_ids(job: &Job) -> Vec<String> {
    vec![
        job.id.to_string(),
        job.workspace_id.to_string(),
        job.operation.to_string(),
    ]
}

/// `jobs list`: one row per job.
pub fn job_table(jobs: &[Job]) -> Vec<String> {
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|job| {
            let mut row = job_ids(job);
            row.extend([
                job.state().as_str().to_owned(),
                time(job.deadline),
                time(job.run_at),
                job.attempt.to_string(),
                job.error.as_deref().map_or_else(
                    || "-".to_owned(),
                    |e| truncate(&one_line(e), TABLE_ERROR_CHARS),
                ),
            ]);
            row
        })
        .collect();
    table(
        &[
            "ID",
            "WORKSPACE",
            "OP",
            "STATE",
            "DEADLINE",
            "RUN_AT",
            "ATTEMPT",
            "ERROR",
        ],
        &rows,
    )
}

fn field(key: &str, value: impl std::fmt::Display) -> String {
    format!("{key:<KEY_WIDTH$}{value}")
}

/// `jobs show`: every field of the job, one per line, then its log.
pub fn job_details(job: &Job, logs: &[JobLog]) -> Vec<String> {
    let mut lines = vec![
        field("id", job.id),
        field("workspace", job.workspace_id),
        field("operation", job.operation),
        field("state", job.state().as_str()),
        field("deadline", precise(job.deadline)),
        field("run_at", precise(job.run_at)),
        field("created_at", precise(job.created_at)),
        field("updated_at", precise(job.updated_at)),
        field("started_at", precise_or_dash(job.started_at)),
        field("completed_at", precise_or_dash(job.completed_at)),
        field("cancelled_at", precise_or_dash(job.cancelled_at)),
        field("attempt", job.attempt),
        field("failed_attempts", job.failed_attempts),
        field("lease_expires_at", precise_or_dash(job.lease_expires_at)),
        field(
            "claimed_by",
            job.claimed_by
                .map_or_else(|| "-".to_owned(), |e| e.to_string()),
        ),
        field(
            "error",
            job.error.as_deref().map_or_else(|| "-".to_owned(), escaped),
        ),
        String::new(),
    ];
    if logs.is_empty() {
        lines.push("log: no lines".to_owned());
    } else {
        lines.push(format!("log ({} lines):", logs.len()));
        for log in logs {
            lines.push(format!(
                "{}  {:<5}  {}",
                precise(log.created_at),
                log.level.as_str(),
                escaped(&log.output)
            ));
        }
    }
    lines
}

/// `stats`: counts, the next pending jobs, the oldest running one.
pub fn stats(schema: &str, stats: &JobStats, now: DateTime<Utc>) -> Vec<String> {
    let mut lines = vec![
        format!("jobs in schema {schema} at {}", time(now)),
        field("pending", stats.pending),
        field("running", stats.running),
        field("  expired leases", stats.expired_leases),
        field("completed", stats.completed),
        field("  failed", stats.failed),
        field("cancelled", stats.cancelled),
        String::new(),
    ];
    if stats.next_due.is_empty() {
        lines.push("next pending jobs: none".to_owned());
    } else {
        lines.push("next pending jobs:".to_owned());
        let rows: Vec<Vec<String>> = stats
            .next_due
            .iter()
            .map(|job| {
                let mut row = job_ids(job);
                row.extend([
                    time(job.run_at),
                    relative(job.run_at, now),
                    time(job.deadline),
                ]);
                row
            })
            .collect();
        lines.extend(table(
            &["ID", "WORKSPACE", "OP", "RUN_AT", "DUE", "DEADLINE"],
            &rows,
        ));
    }
    lines.push(String::new());
    match &stats.oldest_running {
        None => lines.push("oldest running job: none".to_owned()),
        Some(job) => {
            lines.push("oldest running job:".to_owned());
            lines.push(field("id", job.id));
            lines.push(field("workspace", job.workspace_id));
            lines.push(field("operation", job.operation));
            lines.push(field(
                "claimed_by",
                job.claimed_by
                    .map_or_else(|| "-".to_owned(), |e| e.to_string()),
            ));
            lines.push(field(
                "started_at",
                job.started_at.map_or_else(
                    || "-".to_owned(),
                    |at| format!("{} ({})", time(at), relative(at, now)),
                ),
            ));
            lines.push(field(
                "lease_expires_at",
                job.lease_expires_at.map_or_else(
                    || "-".to_owned(),
                    |at| {
                        // An expired lease means the executor is gone or stalled: say so
                        // rather than leave the operator to compare timestamps.
                        let note = if at <= now { "expired " } else { "" };
                        format!("{} ({note}{})", time(at), relative(at, now))
                    },
                ),
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn relative_times_show_two_adjacent_units() {
        let now = at("2026-01-05T08:00:00Z");
        assert_eq!(relative(now, now), "now");
        assert_eq!(relative(at("2026-01-05T08:00:00.900Z"), now), "in <1s");
        assert_eq!(relative(at("2026-01-05T07:59:59.100Z"), now), "<1s ago");
        assert_eq!(relative(at("2026-01-05T08:00:45Z"), now), "in 45s");
        assert_eq!(relative(at("2026-01-05T07:58:55Z"), now), "1m 5s ago");
        assert_eq!(relative(at("2026-01-05T09:00:30Z"), now), "in 1h 0m");
        assert_eq!(relative(at("2026-01-07T11:00:00Z"), now), "in 2d 3h");
    }

    #[test]
    fn tables_align_columns_without_trailing_spaces() {
        let lines = table(
            &["ID", "STATE"],
            &[
                vec!["a".into(), "pending".into()],
                vec!["abcd".into(), "-".into()],
            ],
        );
        assert_eq!(lines, ["ID    STATE", "a     pending", "abcd  -"]);
    }

    #[test]
    fn long_errors_are_cut_on_one_line() {
        let cut = truncate(&one_line(&"x\n".repeat(100)), TABLE_ERROR_CHARS);
        assert_eq!(cut.chars().count(), TABLE_ERROR_CHARS);
        assert!(cut.ends_with('…') && !cut.contains('\n'));
        assert_eq!(truncate("short", TABLE_ERROR_CHARS), "short");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            escaped("a\x1b[31mb\u{7f}\u{9b}\0\nc é"),
            r"a\u{1b}[31mb\u{7f}\u{9b}\u{0}\u{a}c é"
        );
        assert_eq!(one_line("x\x1b[2J\n\ty"), r"x\u{1b}[2J y");
        assert_eq!(escaped("plain text"), "plain text");
    }
}
