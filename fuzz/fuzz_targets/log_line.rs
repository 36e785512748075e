//! Fuzzes `LogLine::new`, the fitting of a log line to the logs table's `varchar(1024)`,
//! against what its documentation promises, computed here independently:
//!
//! - NUL characters become the two characters `\0`;
//! - a text of at most `LogLine::MAX_CHARS` characters (after that) is kept as it is;
//! - a longer one keeps its first `MAX_CHARS - marker` characters, cut on a character
//!   boundary, and ends with `LogLine::TRUNCATED_MARKER`: exactly `MAX_CHARS` in all;
//! - the output never holds a NUL, the level is kept, the `info`/`warn`/`error`
//!   shorthands agree with `new`, and nothing panics.
//!
//! The input is either raw text (lossily decoded), or a short fragment repeated, so
//! the fuzzer reaches 1,024 characters of multi-byte text (and NULs right at the cut)
//! with a few bytes.
//!
//! RUSTC_BOOTSTRAP=1 cargo fuzz run log_line
#![no_main]

use libfuzzer_sys::fuzz_target;
use workspace_lifecycle::{LogLevel, LogLine};

const LEVELS: [LogLevel; 4] = [
    LogLevel::Debug,
    LogLevel::Info,
    LogLevel::Warn,
    LogLevel::Error,
];

/// The text an input stands for.
fn text(data: &[u8]) -> String {
    let Some((&mode, rest)) = data.split_first() else {
        return String::new();
    };
    if mode & 0x80 == 0 || rest.len() < 3 {
        return String::from_utf8_lossy(rest).into_owned();
    }
    // Repeated: two bytes of count (up to 2,047 repeats), then a fragment and a tail
    // split by the mode's low bits.
    let count = usize::from(u16::from_le_bytes([rest[0], rest[1]]) & 0x07ff);
    let body = &rest[2..];
    let split = usize::from(mode & 0x1f).min(body.len());
    let (fragment, tail) = body.split_at(split);
    let fragment = String::from_utf8_lossy(fragment);
    // Past about twice the limit, more text changes nothing but the time taken.
    let count = count.min(2 * LogLine::MAX_CHARS / fragment.chars().count().max(1) + 1);
    let mut out = fragment.repeat(count);
    out.push_str(&String::from_utf8_lossy(tail));
    out
}

/// What the documentation says the output of `text` is.
fn expected(text: &str) -> String {
    let escaped = text.replace('\0', "\\0");
    if escaped.chars().count() <= LogLine::MAX_CHARS {
        return escaped;
    }
    let keep = LogLine::MAX_CHARS - LogLine::TRUNCATED_MARKER.chars().count();
    let mut out: String = escaped.chars().take(keep).collect();
    out.push_str(LogLine::TRUNCATED_MARKER);
    out
}

fuzz_target!(|data: &[u8]| {
    let text = text(data);
    let level = LEVELS[usize::from(data.first().copied().unwrap_or(0) & 3)];
    let line = LogLine::new(level, text.as_str());
    let output = line.output();

    assert_eq!(line.level(), level);
    assert!(
        output.chars().count() <= LogLine::MAX_CHARS,
        "{} characters",
        output.chars().count()
    );
    assert!(!output.contains('\0'), "a NUL survived");
    if text.chars().count() <= LogLine::MAX_CHARS && !text.contains('\0') {
        assert_eq!(output, text, "a short NUL-free line was changed");
    }
    let want = expected(&text);
    assert_eq!(output, want, "not what the documentation promises");
    if output != text {
        // Changed: either escaped, or cut and marked.
        assert!(
            text.contains('\0') || output.ends_with(LogLine::TRUNCATED_MARKER),
            "changed without a reason"
        );
    }
    let escaped_chars = text.chars().count() + text.matches('\0').count();
    if escaped_chars > LogLine::MAX_CHARS {
        assert_eq!(output.chars().count(), LogLine::MAX_CHARS, "cut too short");
        assert!(
            output.ends_with(LogLine::TRUNCATED_MARKER),
            "cut without the marker"
        );
    }

    // The shorthands are `new` with a level; a String input is the same as a &str.
    assert_eq!(LogLine::info(text.clone()).output(), output);
    assert_eq!(LogLine::warn(text.as_str()).level(), LogLevel::Warn);
    assert_eq!(LogLine::error(text.as_str()).output(), output);
    // Fitting is idempotent: a fitted line is already fit.
    assert_eq!(LogLine::new(level, output).output(), output);
});
