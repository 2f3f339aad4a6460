//! Small helpers for text shown to people: lines of a file, excerpts of a
//! statement, durations, I/O reasons, plain identifiers.

use std::time::Duration;

/// A statement as it is in its file: its first `lines` lines (each cut to
/// `width` characters), indented, comments and layout kept.
pub fn excerpt(stmt: &str, lines: usize, width: usize) -> String {
    let all: Vec<&str> = stmt.trim().lines().collect();
    let mut out: Vec<String> = all
        .iter()
        .take(lines)
        .map(|l| {
            let l = l.trim_end();
            if l.chars().count() > width {
                format!("    {}…", l.chars().take(width).collect::<String>())
            } else {
                format!("    {l}")
            }
        })
        .collect();
    if all.len() > lines {
        out.push(format!("    … ({} more lines)", all.len() - lines));
    }
    out.join("\n")
}

/// A duration for people, to a tenth of a second: `5.4s`.
pub fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// An I/O error's reason without the `(os error N)` tail that repeats it.
pub fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => text[..i].to_owned(),
        _ => text,
    }
}

/// Returns the 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

/// A plain SQL identifier: letters, digits and `_`, not starting with a
/// digit, at most 63 characters.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 63
}

/// Bytes for people: `12.3 GiB`.
pub fn bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[i])
    }
}
