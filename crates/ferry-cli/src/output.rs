//! Writing to stdout without panicking on a closed pipe (`ferry db status |
//! head -1`), and printing errors on stderr.

use std::io::{self, Write};

use serde::Serialize;

/// The version of the shape of ferry's JSON documents, in each of them as
/// `schema_version`: raised when a field is removed or changes meaning
/// (fields are added without raising it).
pub const SCHEMA_VERSION: u32 = 1;

/// Buffered stdout. Write errors (such as a closed pipe) are returned, not
/// panicked on; `app` treats a broken pipe as a normal end.
pub struct Out {
    inner: io::BufWriter<io::Stdout>,
    wrote_json: bool,
}

impl Out {
    pub fn new() -> Self {
        Out {
            inner: io::BufWriter::new(io::stdout()),
            wrote_json: false,
        }
    }

    /// Whether a JSON document was written.
    pub fn wrote_json(&self) -> bool {
        self.wrote_json
    }

    /// Writes `text` as is.
    pub fn text(&mut self, text: &str) -> io::Result<()> {
        self.inner.write_all(text.as_bytes())
    }

    /// Writes a line.
    pub fn line(&mut self, text: impl AsRef<str>) -> io::Result<()> {
        self.inner.write_all(text.as_ref().as_bytes())?;
        self.inner.write_all(b"\n")
    }

    /// Writes `value` as pretty JSON and a newline: an object, with
    /// `schema_version` first (a list becomes `{"schema_version", "items"}`).
    pub fn json<T: Serialize>(&mut self, value: &T) -> io::Result<()> {
        let value = serde_json::to_value(value).map_err(io::Error::from)?;
        let mut doc = serde_json::Map::new();
        doc.insert("schema_version".into(), SCHEMA_VERSION.into());
        match value {
            serde_json::Value::Object(fields) => doc.extend(fields),
            other => {
                doc.insert("items".into(), other);
            }
        }
        serde_json::to_writer_pretty(&mut self.inner, &doc).map_err(io::Error::from)?;
        self.wrote_json = true;
        self.inner.write_all(b"\n")
    }

    /// Writes a failure as a JSON document: `{"schema_version", "error":
    /// {"kind", "message", "help", "exit_code"}}`.
    pub fn json_error(&mut self, kind: &str, text: &str, exit_code: u8) -> io::Result<()> {
        // The message is the text up to its first `help:` line; the help
        // lines after it, joined.
        let mut message = Vec::new();
        let mut help = Vec::new();
        for line in text.lines() {
            match line.trim_start().strip_prefix("help: ") {
                Some(h) => help.push(h.to_owned()),
                None if help.is_empty() => message.push(line.to_owned()),
                None => help.push(line.trim().to_owned()),
            }
        }
        #[derive(Serialize)]
        struct Failure<'a> {
            kind: &'a str,
            message: String,
            help: Option<String>,
            exit_code: u8,
        }
        #[derive(Serialize)]
        struct Doc<'a> {
            error: Failure<'a>,
        }
        self.json(&Doc {
            error: Failure {
                kind,
                message: message.join("\n"),
                help: (!help.is_empty()).then(|| help.join("\n")),
                exit_code,
            },
        })
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// True when `err` (or its cause) is a closed pipe on stdout.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Set by `FERRY_LOG_FORMAT=json`: what goes to stderr for people goes
/// through the JSON log instead.
static JSON_LOG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Sends stderr's messages (the database named, warnings, errors) through
/// the log, as JSON lines.
pub fn log_as_json() {
    JSON_LOG.store(true, std::sync::atomic::Ordering::Relaxed);
}

fn json_log() -> bool {
    JSON_LOG.load(std::sync::atomic::Ordering::Relaxed)
}

/// Names the database a command is about to write to, password hidden:
/// the first line it prints (on stderr, so that stdout stays the report or
/// its JSON).
pub fn database(url: &ferry::DatabaseUrl) {
    if json_log() {
        tracing::info!(database = %url.safe(), "database");
        return;
    }
    let mut stderr = anstream::stderr();
    let _ = writeln!(stderr, "database: {}", url.safe());
}

/// Prints `warning: ...` on stderr, in yellow where the terminal takes colour.
pub fn warn(message: &str) {
    if json_log() {
        tracing::warn!("{message}");
        return;
    }
    let style = anstyle::Style::new()
        .bold()
        .fg_color(Some(anstyle::AnsiColor::Yellow.into()));
    let mut stderr = anstream::stderr();
    let _ = writeln!(stderr, "{style}warning:{style:#} {message}");
}

/// Prints `error: ...` on stderr, in red where the terminal takes colour
/// (anstream honours NO_COLOR and strips colour when not a terminal).
pub fn print_error(err: &anyhow::Error) {
    // ferry's own errors say everything, causes included; the chain would
    // repeat them.
    let text =
        if err.downcast_ref::<ferry::Error>().is_some() || err.downcast_ref::<ferry::upgrade::RunError>().is_some() {
            format!("{err}")
        } else {
            format!("{err:#}")
        };
    if json_log() {
        tracing::error!("{text}");
        return;
    }
    let style = anstyle::Style::new()
        .bold()
        .fg_color(Some(anstyle::AnsiColor::Red.into()));
    let mut stderr = anstream::stderr();
    let _ = writeln!(stderr, "{style}error:{style:#} {text}");
}
