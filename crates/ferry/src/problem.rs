//! `Problem`: one finding in a file a person wrote, with the file, the line
//! and what to do about it; `Problems`, several of them.

use std::fmt;
use std::path::PathBuf;

/// One finding in a file a person wrote: where it is, what is wrong, the fix.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The file, when the problem is in one.
    pub file: Option<PathBuf>,
    /// 1-based line in that file, when known.
    pub line: Option<usize>,
    /// What is wrong, lowercase, one sentence.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
}

impl Problem {
    /// A problem in `file`.
    pub fn in_file(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Problem {
            file: Some(file.into()),
            line: None,
            message: message.into(),
            help: None,
        }
    }

    /// A problem tied to no file.
    pub fn general(message: impl Into<String>) -> Self {
        Problem {
            file: None,
            line: None,
            message: message.into(),
            help: None,
        }
    }

    /// Sets the line.
    #[must_use]
    pub fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    /// Sets the fix.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{}:{line}: ", file.display())?,
            (Some(file), None) => write!(f, "{}: ", file.display())?,
            _ => {}
        }
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// A list of problems displayed one per paragraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}
