//! Writing to stdout without panicking on a closed pipe (`ferry db status |
//! head -1`), and printing errors on stderr.

use std::io::{self, Write};

use serde::Serialize;

/// Buffered stdout. Write errors (such as a closed pipe) are returned, not
/// panicked on; `app` treats a broken pipe as a normal end.
pub struct Out {
    inner: io::BufWriter<io::Stdout>,
}

impl Out {
    pub fn new() -> Self {
        Out {
            inner: io::BufWriter::new(io::stdout()),
        }
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

    /// Writes `value` as pretty JSON and a newline.
    pub fn json<T: Serialize>(&mut self, value: &T) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut self.inner, value).map_err(io::Error::from)?;
        self.inner.write_all(b"\n")
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

/// Prints `warning: ...` on stderr, in yellow where the terminal takes colour.
pub fn warn(message: &str) {
    let style = anstyle::Style::new()
        .bold()
        .fg_color(Some(anstyle::AnsiColor::Yellow.into()));
    let mut stderr = anstream::stderr();
    let _ = writeln!(stderr, "{style}warning:{style:#} {message}");
}

/// Prints `error: ...` on stderr, in red where the terminal takes colour
/// (anstream honours NO_COLOR and strips colour when not a terminal).
pub fn print_error(err: &anyhow::Error) {
    let style = anstyle::Style::new()
        .bold()
        .fg_color(Some(anstyle::AnsiColor::Red.into()));
    let mut stderr = anstream::stderr();
    // ferry's own errors say everything, causes included; the chain would
    // repeat them.
    if err.downcast_ref::<ferry::Error>().is_some() || err.downcast_ref::<ferry::upgrade::RunError>().is_some() {
        let _ = writeln!(stderr, "{style}error:{style:#} {err}");
    } else {
        let _ = writeln!(stderr, "{style}error:{style:#} {err:#}");
    }
}
