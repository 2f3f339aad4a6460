//! One migration script: its text normalised for checksums, its SHA-256 and
//! the `-- ferry:` directives in its leading comments.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::migration::batch::BatchSpec;
use crate::problem::Problem;

/// A SHA-256 checksum, shown as 64 lowercase hex digits.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Checksum(pub String);

impl Checksum {
    /// The checksum of `text`, which must already be normalised.
    pub fn of(text: &str) -> Self {
        Checksum(hex::encode(Sha256::digest(text.as_bytes())))
    }

    /// The hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 hex digits, for tables.
    pub fn short(&self) -> &str {
        &self.0[..self.0.len().min(12)]
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Checksum({})", self.short())
    }
}

/// When a migration runs relative to the start of the release's code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Before the new code starts (the default): the old code must work
    /// with the schema it leaves.
    #[default]
    PreDeploy,
    /// After the new code is started and its checks pass: clean-ups and
    /// constraints the old code would break.
    PostDeploy,
}

impl Phase {
    /// `pre-deploy` or `post-deploy`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::PreDeploy => "pre-deploy",
            Phase::PostDeploy => "post-deploy",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Directives given in a script's leading `-- ferry:` comments.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Directives {
    /// `-- ferry:no-transaction`: run statement by statement, outside a
    /// transaction (needed for `CREATE INDEX CONCURRENTLY`).
    pub no_transaction: bool,
    /// `-- ferry:batch table=... key=...`: run the body once per range of
    /// the key, each range in its own transaction.
    pub batch: Option<BatchSpec>,
    /// `-- ferry:phase post-deploy`: run after the new code is started.
    pub phase: Phase,
    /// `-- ferry:foreign-keys-off` (SQLite): run with foreign keys not
    /// enforced, as SQLite's table rebuild needs, and check them all before
    /// committing.
    pub foreign_keys_off: bool,
}

/// The directives ferry knows, for help texts.
pub const KNOWN_DIRECTIVES: &[&str] = &["no-transaction", "batch", "phase", "foreign-keys-off"];

/// One `.up.sql` or `.down.sql` file.
#[derive(Debug, Clone)]
pub struct Script {
    /// Where it came from (a path, or `embedded:NAME` for embedded scripts).
    pub path: PathBuf,
    /// The text, BOM stripped and line endings normalised to LF: in memory
    /// from the start, or, for a script known from the script cache, read
    /// the first time it is asked for.
    sql: OnceLock<Result<String, Problem>>,
    /// SHA-256 of `sql`, computed when first asked for (down scripts never are).
    checksum: OnceLock<Checksum>,
    /// Its directives.
    pub directives: Directives,
}

/// Strips a UTF-8 BOM and turns CRLF (and lone CR) line endings into LF.
pub fn normalise(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text.to_owned()
    }
}

impl Script {
    /// SHA-256 of the normalised text.
    pub fn checksum(&self) -> &Checksum {
        // A script is made either with its text or with its checksum.
        self.checksum
            .get_or_init(|| Checksum::of(self.sql_in_memory().unwrap_or_default()))
    }

    /// The text, BOM stripped and line endings normalised to LF. A script
    /// known from the cache is read now; one that changed since its
    /// checksum was taken is an error (what ferry showed of it, its
    /// directives and checksum, would no longer be true).
    pub fn sql(&self) -> Result<&str, crate::error::Error> {
        self.text()
            .map_err(|p| crate::error::Error::Migrations(crate::problem::Problems(vec![p.clone()])))
    }

    /// [`Script::sql`], its failure as a problem in the file.
    pub(crate) fn text(&self) -> Result<&str, &Problem> {
        let loaded = self.sql.get_or_init(|| {
            let bytes = std::fs::read(&self.path)
                .map_err(|e| Problem::in_file(&self.path, format!("cannot read: {}", crate::text::io_reason(&e))))?;
            let fresh = Script::from_bytes(&self.path, &bytes).map_err(|mut p| p.swap_remove(0))?;
            let text = fresh.sql.into_inner().unwrap_or_else(|| Ok(String::new()))?;
            if Checksum::of(&text) != *self.checksum() || fresh.directives != self.directives {
                return Err(Problem::in_file(&self.path, "the file changed while ferry was running")
                    .help("run the command again; ferry reads it afresh"));
            }
            Ok(text)
        });
        loaded.as_deref()
    }

    /// A script known from the script cache: its checksum and directives
    /// are those of the file as it was when they were taken, and its text
    /// is read only if it is needed.
    pub(crate) fn known(path: PathBuf, checksum: Checksum, directives: Directives) -> Self {
        Script {
            path,
            sql: OnceLock::new(),
            checksum: OnceLock::from(checksum),
            directives,
        }
    }

    /// The text when it is already in memory (always, but for a cached
    /// script that was not read).
    pub(crate) fn sql_in_memory(&self) -> Option<&str> {
        self.sql.get().and_then(|r| r.as_deref().ok())
    }

    /// Builds a script from a file's raw bytes, reporting problems against `path`.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Self, Vec<Problem>> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let line = crate::text::line_of(&String::from_utf8_lossy(&bytes[..e.valid_up_to()]), e.valid_up_to());
            vec![
                Problem::in_file(path, "the file is not valid UTF-8")
                    .at_line(line)
                    .help("save the file as UTF-8"),
            ]
        })?;
        let sql = normalise(text);
        let directives = parse_directives(path, &sql)?;
        Ok(Script {
            path: path.to_owned(),
            checksum: OnceLock::new(),
            sql: OnceLock::from(Ok(sql)),
            directives,
        })
    }
}

/// Reads directives from the leading comments; a `-- ferry:` comment after the
/// first statement is an error (it would be silently ignored otherwise).
fn parse_directives(path: &Path, sql: &str) -> Result<Directives, Vec<Problem>> {
    let mut directives = Directives::default();
    let mut problems = Vec::new();
    let mut leading = true;
    let mut in_block = false;
    for (i, raw) in sql.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if in_block {
            if line.contains("*/") {
                in_block = false;
            }
            continue;
        }
        let directive = line
            .strip_prefix("--")
            .map(str::trim_start)
            .and_then(|c| c.strip_prefix("ferry:"));
        if let Some(body) = directive {
            if !leading {
                problems.push(
                    Problem::in_file(
                        path,
                        "a `-- ferry:` directive comes after the first statement, where it has no effect",
                    )
                    .at_line(line_no)
                    .help("move it above the first statement"),
                );
                continue;
            }
            let body = body.trim();
            let (head, rest) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
            let at = |p: Problem| p.at_line(line_no);
            match head {
                "batch" => {
                    if directives.batch.is_some() {
                        problems.push(
                            at(Problem::in_file(path, "a second `-- ferry:batch` line"))
                                .help("give every batch setting on one line"),
                        );
                    }
                    match BatchSpec::parse(rest) {
                        Ok(spec) => {
                            directives.batch = Some(BatchSpec { line: line_no, ..spec });
                        }
                        Err(e) => problems.push(
                            at(Problem::in_file(path, format!("ferry:batch: {e}")))
                                .help("for example: -- ferry:batch table=tasks key=id size=1000 pause=50ms"),
                        ),
                    }
                    continue;
                }
                "todo" => {
                    problems.push(
                        at(Problem::in_file(path, rest.trim().to_owned()))
                            .help("write that SQL in this file, then remove this `-- ferry:todo` line"),
                    );
                    continue;
                }
                "phase" => {
                    match rest.trim() {
                        "pre-deploy" => directives.phase = Phase::PreDeploy,
                        "post-deploy" => directives.phase = Phase::PostDeploy,
                        other => problems.push(
                            at(Problem::in_file(path, format!("ferry:phase: `{other}` is not a phase")))
                                .help("write `-- ferry:phase post-deploy` (runs after the new code is started) or `-- ferry:phase pre-deploy` (the default)"),
                        ),
                    }
                    continue;
                }
                _ => {}
            }
            for word in body.split([',', ' ', '\t']).filter(|w| !w.is_empty()) {
                match word {
                    "no-transaction" => directives.no_transaction = true,
                    "foreign-keys-off" => directives.foreign_keys_off = true,
                    other => problems.push(
                        Problem::in_file(path, format!("unknown directive `ferry:{other}`"))
                            .at_line(line_no)
                            .help(format!("known directives: {}", KNOWN_DIRECTIVES.join(", "))),
                    ),
                }
            }
            continue;
        }
        if !leading || line.is_empty() || line.starts_with("--") {
            continue;
        }
        if line.starts_with("/*") {
            in_block = !line.contains("*/");
            continue;
        }
        leading = false;
    }
    if directives.foreign_keys_off && (directives.no_transaction || directives.batch.is_some()) {
        problems.push(
            Problem::in_file(path, "`ferry:foreign-keys-off` on a migration that does not run in one transaction")
                .help("foreign keys are checked at the end of the migration's transaction, so that a violation rolls it back; remove `no-transaction`/`batch`, or split the migration"),
        );
    }
    if directives.batch.is_some() && directives.no_transaction {
        problems.push(
            Problem::in_file(path, "`ferry:batch` and `ferry:no-transaction` together")
                .help("a batched migration runs each batch in its own transaction; remove `-- ferry:no-transaction`"),
        );
    }
    if problems.is_empty() {
        Ok(directives)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(text: &[u8]) -> Result<Script, Vec<Problem>> {
        Script::from_bytes(Path::new("m.up.sql"), text)
    }

    #[test]
    fn crlf_and_bom_do_not_change_the_checksum() {
        let lf = script(b"-- ferry:no-transaction\nCREATE TABLE a (x int);\n").unwrap();
        let crlf = script(b"\xEF\xBB\xBF-- ferry:no-transaction\r\nCREATE TABLE a (x int);\r\n").unwrap();
        assert_eq!(lf.checksum(), crlf.checksum());
        assert!(crlf.directives.no_transaction);
        let edited = script(b"-- ferry:no-transaction\nCREATE TABLE a (y int);\n").unwrap();
        assert_ne!(lf.checksum(), edited.checksum());
    }

    #[test]
    fn directive_after_blank_lines_and_comments() {
        let s = script(b"\n-- adds an index\n/* long\n comment */\n\n--   ferry:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (x);").unwrap();
        assert!(s.directives.no_transaction);
    }

    #[test]
    fn late_or_unknown_directives_are_errors_with_lines() {
        let e = script(b"SELECT 1;\n-- ferry:no-transaction\n").unwrap_err();
        assert_eq!(e[0].line, Some(2));
        let e = script(b"-- ferry:no-transacton\nSELECT 1;").unwrap_err();
        assert!(e[0].message.contains("no-transacton"));
        assert!(e[0].help.as_deref().unwrap().contains("no-transaction"));
    }

    #[test]
    fn batch_and_phase_directives() {
        let s = script(b"-- ferry:batch table=tasks key=id size=50\n-- ferry:phase post-deploy\nUPDATE tasks SET p = 1 WHERE id BETWEEN :first AND :last;").unwrap();
        let spec = s.directives.batch.as_ref().unwrap();
        assert_eq!((spec.table.as_str(), spec.size), ("tasks", 50));
        assert_eq!(s.directives.phase, Phase::PostDeploy);
        let e = script(b"-- ferry:batch table=tasks\nSELECT 1;").unwrap_err();
        assert!(e[0].message.contains("key=COLUMN") && e[0].line == Some(1), "{e:?}");
        let e = script(b"-- ferry:phase later\nSELECT 1;").unwrap_err();
        assert!(e[0].help.as_deref().unwrap().contains("post-deploy"));
        let e = script(b"-- ferry:no-transaction\n-- ferry:batch table=t key=id\nSELECT 1;").unwrap_err();
        assert!(e[0].message.contains("together"));
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let e = script(b"SELECT 1;\nSELECT '\xff';").unwrap_err();
        assert_eq!(e[0].line, Some(2));
    }

    #[test]
    fn checksum_is_sha256_hex() {
        assert_eq!(
            Checksum::of("").as_str(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
