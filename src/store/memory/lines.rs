//! [`Lines`]: one job's log lines, packed in a single allocation.
//!
//! A `Vec<JobLog>` costs a 72-byte row and a separate text allocation per line; the
//! usual job has one or two lines, written once and read rarely, so they are kept as
//! bytes, one record after another:
//!
//! ```text
//! id counter: u64 LE | level: u8 (+ 0x80 when a time follows)
//!   | [time: i64 LE seconds, u32 LE nanoseconds] | text length: LEB128 | text
//! ```
//!
//! The time is left out when it is the job's `created_at`, as for its creation line.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::job::{JobId, JobLog, LogLevel, LogLine};

/// The level byte's flag for a record that stores its own time.
const TIMED: u8 = 0x80;

/// A job's log lines, oldest first.
#[derive(Debug)]
pub(super) struct Lines(Box<[u8]>);

impl Lines {
    /// `lines` and then `line`, written at `at` with the log id drawn from `counter`,
    /// for a job created at `created_at`.
    pub(super) fn push(
        lines: Option<Lines>,
        counter: u64,
        at: DateTime<Utc>,
        created_at: DateTime<Utc>,
        line: &LogLine,
    ) -> Lines {
        let old = lines.as_ref().map_or(&[][..], |l| &l.0[..]);
        let text = line.output().as_bytes();
        let timed = at != created_at;
        let size =
            old.len() + 8 + 1 + if timed { 12 } else { 0 } + leb128_len(text.len()) + text.len();
        // Exactly the size, so the boxed slice keeps the allocation as made.
        let mut bytes = Vec::with_capacity(size);
        bytes.extend_from_slice(old);
        bytes.extend_from_slice(&counter.to_le_bytes());
        let level = level_byte(line.level());
        if timed {
            bytes.push(level | TIMED);
            bytes.extend_from_slice(&at.timestamp().to_le_bytes());
            bytes.extend_from_slice(&at.timestamp_subsec_nanos().to_le_bytes());
        } else {
            bytes.push(level);
        }
        write_leb128(&mut bytes, text.len());
        bytes.extend_from_slice(text);
        Lines(bytes.into_boxed_slice())
    }

    /// The lines as rows of job `job_id`, created at `created_at`; `log_id` turns an id
    /// counter into the log id.
    pub(super) fn list(
        &self,
        job_id: JobId,
        created_at: DateTime<Utc>,
        log_id: impl Fn(u64) -> Uuid,
    ) -> Vec<JobLog> {
        let mut logs = Vec::new();
        let mut rest = &self.0[..];
        // Every record was written whole by `push`, so reading stops only at the end.
        while let Some((log, tail)) = read(rest, job_id, created_at, &log_id) {
            logs.push(log);
            rest = tail;
        }
        logs
    }
}

/// The record at the start of `bytes`, and what follows it.
fn read<'a>(
    bytes: &'a [u8],
    job_id: JobId,
    created_at: DateTime<Utc>,
    log_id: &impl Fn(u64) -> Uuid,
) -> Option<(JobLog, &'a [u8])> {
    let (counter, rest) = bytes.split_first_chunk::<8>()?;
    let (&level, rest) = rest.split_first()?;
    let (at, rest) = if level & TIMED == 0 {
        (created_at, rest)
    } else {
        let (seconds, rest) = rest.split_first_chunk::<8>()?;
        let (nanos, rest) = rest.split_first_chunk::<4>()?;
        let at =
            DateTime::from_timestamp(i64::from_le_bytes(*seconds), u32::from_le_bytes(*nanos))?;
        (at, rest)
    };
    let (len, rest) = read_leb128(rest)?;
    let (text, rest) = rest.split_at_checked(len)?;
    let log = JobLog {
        id: log_id(u64::from_le_bytes(*counter)),
        job_id,
        created_at: at,
        level: level_of(level & !TIMED)?,
        output: std::str::from_utf8(text).ok()?.to_owned(),
    };
    Some((log, rest))
}

fn level_byte(level: LogLevel) -> u8 {
    match level {
        LogLevel::Debug => 0,
        LogLevel::Info => 1,
        LogLevel::Warn => 2,
        LogLevel::Error => 3,
    }
}

fn level_of(byte: u8) -> Option<LogLevel> {
    match byte {
        0 => Some(LogLevel::Debug),
        1 => Some(LogLevel::Info),
        2 => Some(LogLevel::Warn),
        3 => Some(LogLevel::Error),
        _ => None,
    }
}

/// How many bytes `write_leb128` takes for `n`: seven bits a byte, at least one.
fn leb128_len(n: usize) -> usize {
    let bits = (usize::BITS - n.leading_zeros()) as usize;
    bits.div_ceil(7).max(1)
}

fn write_leb128(bytes: &mut Vec<u8>, mut n: usize) {
    loop {
        // The low seven bits, so the cast keeps them all.
        let low = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            bytes.push(low);
            return;
        }
        bytes.push(low | 0x80);
    }
}

fn read_leb128(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let mut n = 0usize;
    for (i, &byte) in bytes.iter().enumerate() {
        let shift = u32::try_from(7 * i).ok().filter(|&s| s < usize::BITS)?;
        n |= usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some((n, bytes.get(i + 1..)?));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_in_order() {
        let created: DateTime<Utc> = "2026-01-05T08:00:00.123456789Z".parse().unwrap();
        let later: DateTime<Utc> = "2026-01-05T08:00:05.5Z".parse().unwrap();
        let leap = DateTime::from_timestamp(1_483_228_799, 1_500_000_000).unwrap();
        let ancient: DateTime<Utc> = "0001-01-01T00:00:00Z".parse().unwrap();
        let written = [
            (7, created, LogLine::info("scheduled")),
            (9, later, LogLine::warn("é".repeat(LogLine::MAX_CHARS))),
            (u64::MAX, leap, LogLine::error("")),
            (0, ancient, LogLine::new(LogLevel::Debug, "x".repeat(200))),
        ];
        let job_id = JobId(Uuid::from_u128(5));
        let mut lines = None;
        for (counter, at, line) in &written {
            lines = Some(Lines::push(lines, *counter, *at, created, line));
        }
        let lines = lines.unwrap();
        let got = lines.list(job_id, created, |c| Uuid::from_u128(c.into()));
        let want: Vec<JobLog> = written
            .iter()
            .map(|(counter, at, line)| JobLog {
                id: Uuid::from_u128((*counter).into()),
                job_id,
                created_at: *at,
                level: line.level(),
                output: line.output().to_owned(),
            })
            .collect();
        assert_eq!(got, want);
        // The creation line takes no time: id counter, level, length, text.
        let first = Lines::push(None, 7, created, created, &LogLine::info("scheduled"));
        assert_eq!(first.0.len(), 8 + 1 + 1 + 9);
    }

    #[test]
    fn leb128_round_trips() {
        for n in [0, 1, 127, 128, 4096, 16_383, 16_384, usize::MAX] {
            let mut bytes = Vec::new();
            write_leb128(&mut bytes, n);
            assert_eq!(bytes.len(), leb128_len(n));
            assert_eq!(read_leb128(&bytes), Some((n, &[][..])));
        }
    }
}
