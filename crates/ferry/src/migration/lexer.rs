//! Splits a SQL script into statements.
//!
//! Written by hand because no maintained crate splits SQL for all three
//! dialects while keeping the exact statement text and its line: `sqlparser`
//! rebuilds statements from an AST (losing the original text and failing on
//! anything it does not model), and the drivers' own splitters are not exposed.
//!
//! The lexer knows single- and double-quoted strings, MySQL back-ticks and
//! backslash escapes, PostgreSQL `E''` strings and dollar quoting, line
//! comments (`--`, and `#` on MySQL), nested block comments (PostgreSQL), and
//! the `BEGIN ... END` bodies of triggers, functions and procedures, whose inner
//! semicolons do not end the statement.

use std::ops::Range;

pub use crate::text::line_of;
use crate::url::EngineKind;

/// The SQL dialect a script is written in: the engine's.
#[deprecated(note = "one type names an engine and its SQL dialect: use `EngineKind`")]
pub type Dialect = EngineKind;

/// One statement of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement's text without the terminating semicolon, trimmed.
    pub text: String,
    /// 1-based line of the statement's first character in the script.
    pub line: usize,
    /// Byte range of the statement (without the semicolon) in the script.
    pub span: Range<usize>,
}

/// Why a script could not be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LexError {
    /// 1-based line where the unterminated construct starts.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Splits `sql` into statements. Comments-only stretches produce no statement.
pub fn split(sql: &str, dialect: EngineKind) -> Result<Vec<Statement>, LexError> {
    Splitter::new(sql, dialect).run()
}

/// A `:name` placeholder in code (not in a string, identifier or comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// The name after the colon.
    pub name: String,
    /// Byte range of `:name` in the script.
    pub span: Range<usize>,
}

/// The `:name` placeholders of `sql` outside strings, quoted identifiers and
/// comments. `::type` casts and `:=` assignments are not placeholders.
pub fn placeholders(sql: &str, dialect: EngineKind) -> Result<Vec<Placeholder>, LexError> {
    let mut splitter = Splitter::new(sql, dialect);
    splitter.placeholders = Some(Vec::new());
    splitter.run()?;
    Ok(splitter.placeholders.unwrap_or_default())
}

struct Splitter<'a> {
    src: &'a str,
    bytes: &'a [u8],
    dialect: EngineKind,
    pos: usize,
    /// A byte offset and its line, moved forward as statements are found:
    /// counting lines from the start for each statement made splitting
    /// quadratic in the number of statements.
    line_mark: (usize, usize),
    /// Collects `:name` placeholders when asked for.
    placeholders: Option<Vec<Placeholder>>,
}

/// What the splitter tracks about the statement being read.
#[derive(Default)]
struct Current {
    /// Byte offset of the first significant (non-comment, non-space) token.
    start: Option<usize>,
    /// The first words of the statement, upper-cased, to recognise routines.
    head: Vec<String>,
    /// Depth of `BEGIN`/`CASE`/`IF`/`LOOP`... blocks inside a routine body.
    depth: usize,
    /// The previous word was `END` (so `END IF` closes one block, not two).
    after_end: bool,
}

impl Current {
    fn is_routine(&self) -> bool {
        // CREATE [OR REPLACE] [DEFINER = x] [TEMP] TRIGGER|FUNCTION|PROCEDURE|EVENT,
        // but not `CREATE TABLE IF NOT EXISTS event` or `CREATE INDEX trigger`.
        if self.head.first().is_none_or(|w| w != "CREATE") {
            return false;
        }
        for w in self.head.iter().skip(1) {
            match w.as_str() {
                "TRIGGER" | "FUNCTION" | "PROCEDURE" | "EVENT" => return true,
                "TABLE" | "INDEX" | "VIEW" | "SEQUENCE" | "SCHEMA" | "DATABASE" | "TYPE" | "DOMAIN" | "EXTENSION"
                | "ROLE" | "USER" | "POLICY" | "RULE" | "MATERIALIZED" | "UNIQUE" | "VIRTUAL" => return false,
                _ => {}
            }
        }
        false
    }
}

impl<'a> Splitter<'a> {
    fn new(src: &'a str, dialect: EngineKind) -> Self {
        Splitter {
            src,
            bytes: src.as_bytes(),
            dialect,
            pos: 0,
            line_mark: (0, 1),
            placeholders: None,
        }
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    fn err(&self, start: usize, what: &str) -> LexError {
        LexError {
            line: line_of(self.src, start),
            message: format!("{what} is never closed"),
        }
    }

    /// Records a `:name` placeholder at the cursor (on a `:`), if it is one.
    fn note_placeholder(&mut self, here: usize) {
        let Some(found) = self.placeholders.as_mut() else {
            return;
        };
        let after_colon = here > 0 && self.bytes[here - 1] == b':';
        let name_len = self.bytes[here + 1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .count();
        let starts_alpha = self
            .bytes
            .get(here + 1)
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_');
        if !after_colon && starts_alpha && self.bytes.get(here + 1) != Some(&b':') {
            found.push(Placeholder {
                name: self.src[here + 1..here + 1 + name_len].to_owned(),
                span: here..here + 1 + name_len,
            });
        }
    }

    fn run(&mut self) -> Result<Vec<Statement>, LexError> {
        let mut out = Vec::new();
        let mut cur = Current::default();
        while let Some(b) = self.peek(0) {
            let here = self.pos;
            match b {
                b'-' if self.peek(1) == Some(b'-') => self.skip_line(),
                b'#' if self.dialect == EngineKind::MySql => self.skip_line(),
                b'/' if self.peek(1) == Some(b'*') => self.skip_block_comment()?,
                b';' => {
                    if cur.depth == 0 {
                        self.finish(&mut out, &mut cur, here);
                    } else {
                        cur.after_end = false;
                    }
                    self.pos += 1;
                }
                b'\'' => {
                    cur.start.get_or_insert(here);
                    let backslash = self.dialect == EngineKind::MySql || self.is_escape_string(here);
                    self.skip_quoted(b'\'', backslash)?;
                }
                b'"' => {
                    cur.start.get_or_insert(here);
                    self.skip_quoted(b'"', self.dialect == EngineKind::MySql)?;
                }
                b'`' if self.dialect == EngineKind::MySql => {
                    cur.start.get_or_insert(here);
                    self.skip_quoted(b'`', false)?;
                }
                b'[' if self.dialect == EngineKind::Sqlite => {
                    cur.start.get_or_insert(here);
                    self.skip_until(b"]", "a [bracketed] identifier")?;
                }
                b'$' if self.dialect == EngineKind::Postgres && self.dollar_tag().is_some() => {
                    cur.start.get_or_insert(here);
                    let tag = self.dollar_tag().unwrap_or_default();
                    self.pos += tag.len();
                    let tag_owned = tag.to_owned();
                    self.skip_until(tag_owned.as_bytes(), "a dollar-quoted string")?;
                }
                c if c.is_ascii_alphabetic() || c == b'_' => {
                    cur.start.get_or_insert(here);
                    let word = self.read_word();
                    self.on_word(&mut cur, &word);
                }
                c if c.is_ascii_whitespace() => self.pos += 1,
                _ => {
                    cur.start.get_or_insert(here);
                    cur.after_end = false;
                    if b == b':' {
                        self.note_placeholder(here);
                    }
                    // Step over a whole UTF-8 character.
                    let len = self.src[here..].chars().next().map_or(1, char::len_utf8);
                    self.pos += len;
                }
            }
        }
        let end = self.bytes.len();
        self.finish(&mut out, &mut cur, end);
        Ok(out)
    }

    /// The line of `offset`, which is never before the previous one asked.
    fn line_at(&mut self, offset: usize) -> usize {
        let (from, line) = self.line_mark;
        let line = line + self.bytes[from..offset].iter().filter(|&&b| b == b'\n').count();
        self.line_mark = (offset, line);
        line
    }

    fn finish(&mut self, out: &mut Vec<Statement>, cur: &mut Current, end: usize) {
        if let Some(start) = cur.start {
            let raw = &self.src[start..end];
            let text = raw.trim_end();
            out.push(Statement {
                text: text.to_owned(),
                line: self.line_at(start),
                span: start..start + text.len(),
            });
        }
        *cur = Current::default();
    }

    fn on_word(&self, cur: &mut Current, word: &str) {
        let upper = word.to_ascii_uppercase();
        if cur.head.len() < 8 {
            cur.head.push(upper.clone());
        }
        let after_end = std::mem::take(&mut cur.after_end);
        if !cur.is_routine() {
            return;
        }
        match upper.as_str() {
            // `END IF`, `END LOOP`...: the keyword after END closes nothing more.
            "IF" | "LOOP" | "WHILE" | "REPEAT" | "CASE" if after_end => {}
            "BEGIN" | "CASE" | "LOOP" | "REPEAT" => cur.depth += 1,
            // WHILE ... DO and IF ... THEN open blocks; IF( is the function.
            "WHILE" => cur.depth += 1,
            "IF" if self.next_significant() != Some(b'(') => cur.depth += 1,
            "END" => {
                cur.depth = cur.depth.saturating_sub(1);
                cur.after_end = true;
            }
            _ => {}
        }
    }

    fn next_significant(&self) -> Option<u8> {
        self.bytes[self.pos..]
            .iter()
            .copied()
            .find(|b| !b.is_ascii_whitespace())
    }

    fn read_word(&mut self) -> String {
        let start = self.pos;
        while let Some(c) = self.peek(0) {
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' {
                self.pos += 1;
            } else {
                break;
            }
        }
        self.src[start..self.pos].to_owned()
    }

    /// PostgreSQL `E'...'` strings honour backslash escapes.
    fn is_escape_string(&self, quote: usize) -> bool {
        self.dialect == EngineKind::Postgres
            && quote > 0
            && matches!(self.bytes[quote - 1], b'E' | b'e')
            && (quote < 2 || !(self.bytes[quote - 2].is_ascii_alphanumeric() || self.bytes[quote - 2] == b'_'))
    }

    /// The `$tag$` opening at the cursor, if any.
    fn dollar_tag(&self) -> Option<&'a str> {
        // A `$` right after an identifier character is part of that identifier.
        if self.pos > 0 {
            let prev = self.bytes[self.pos - 1];
            if prev.is_ascii_alphanumeric() || prev == b'_' || prev == b'$' {
                return None;
            }
        }
        // The tag's characters up to the closing `$`: scanning stops at the
        // first one that cannot be in a tag, so a lone `$` costs nothing.
        let rest = &self.src[self.pos + 1..];
        let close = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
        if !rest[close..].starts_with('$') {
            return None;
        }
        let inner = &rest[..close];
        // A tag does not start with a digit: `$1` is a parameter.
        if inner.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        Some(&self.src[self.pos..self.pos + close + 2])
    }

    fn skip_line(&mut self) {
        while let Some(c) = self.peek(0) {
            self.pos += 1;
            if c == b'\n' {
                break;
            }
        }
    }

    fn skip_block_comment(&mut self) -> Result<(), LexError> {
        let start = self.pos;
        let nests = self.dialect == EngineKind::Postgres;
        let mut depth = 0usize;
        while self.pos < self.bytes.len() {
            if self.peek(0) == Some(b'/') && self.peek(1) == Some(b'*') {
                if depth == 0 || nests {
                    depth += 1;
                }
                self.pos += 2;
            } else if self.peek(0) == Some(b'*') && self.peek(1) == Some(b'/') {
                depth -= 1;
                self.pos += 2;
                if depth == 0 {
                    return Ok(());
                }
            } else {
                self.pos += 1;
            }
        }
        Err(self.err(start, "a /* block comment */"))
    }

    fn skip_quoted(&mut self, quote: u8, backslash: bool) -> Result<(), LexError> {
        let start = self.pos;
        self.pos += 1;
        while let Some(c) = self.peek(0) {
            if backslash && c == b'\\' {
                self.pos += 2;
                continue;
            }
            self.pos += 1;
            if c == quote {
                // A doubled quote is an escaped quote.
                if self.peek(0) == Some(quote) {
                    self.pos += 1;
                    continue;
                }
                return Ok(());
            }
        }
        let what = match quote {
            b'\'' => "a 'quoted string'",
            b'"' => "a \"quoted identifier\"",
            _ => "a `quoted identifier`",
        };
        Err(self.err(start, what))
    }

    fn skip_until(&mut self, close: &[u8], what: &str) -> Result<(), LexError> {
        let start = self.pos;
        self.pos += 1;
        while self.pos < self.bytes.len() {
            if self.bytes[self.pos..].starts_with(close) {
                self.pos += close.len();
                return Ok(());
            }
            self.pos += 1;
        }
        Err(self.err(start, what))
    }
}

/// True when a statement controls transactions (`BEGIN`, `COMMIT`...), which
/// a migration that ferry wraps in a transaction must not do.
pub fn is_transaction_control(stmt: &str) -> bool {
    let mut words = stmt
        .split(|c: char| c.is_whitespace() || c == ';')
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase);
    let first = words.next().unwrap_or_default();
    let second = words.next().unwrap_or_default();
    match first.as_str() {
        "COMMIT" | "ROLLBACK" | "END" | "ABORT" => second != "PREPARED",
        "BEGIN" => matches!(
            second.as_str(),
            "" | "TRANSACTION" | "WORK" | "DEFERRED" | "IMMEDIATE" | "EXCLUSIVE" | "ISOLATION"
        ),
        "START" => second == "TRANSACTION",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str, d: EngineKind) -> Vec<String> {
        split(sql, d).unwrap().into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn splits_plain_statements_and_keeps_lines() {
        let sql = "CREATE TABLE a (x int);\n\n-- note; not a statement\nINSERT INTO a VALUES (1);\n";
        let st = split(sql, EngineKind::Postgres).unwrap();
        assert_eq!(st.len(), 2);
        assert_eq!(st[0].text, "CREATE TABLE a (x int)");
        assert_eq!(st[1].line, 4);
        assert_eq!(&sql[st[1].span.clone()], "INSERT INTO a VALUES (1)");
    }

    #[test]
    fn semicolons_inside_strings_and_comments_do_not_split() {
        let sql = "INSERT INTO t VALUES ('a;b', \"c;d\"); /* x; /* nested; */ y; */ SELECT 1;";
        assert_eq!(
            texts(sql, EngineKind::Postgres),
            vec!["INSERT INTO t VALUES ('a;b', \"c;d\")", "SELECT 1"]
        );
    }

    #[test]
    fn doubled_quotes_and_backslashes() {
        assert_eq!(texts("SELECT 'it''s;'; SELECT 2", EngineKind::Sqlite).len(), 2);
        assert_eq!(texts(r"SELECT 'a\';b'; SELECT 2", EngineKind::MySql).len(), 2);
        assert_eq!(texts(r"SELECT E'a\';b'; SELECT 2", EngineKind::Postgres).len(), 2);
        // In standard PostgreSQL strings a backslash is an ordinary character.
        assert_eq!(texts(r"SELECT 'a\'; SELECT 2", EngineKind::Postgres).len(), 2);
    }

    #[test]
    fn dollar_quoted_bodies() {
        let sql = "CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql;\nCREATE FUNCTION g() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\nSELECT $1;";
        let st = texts(sql, EngineKind::Postgres);
        assert_eq!(st.len(), 3, "{st:?}");
        assert!(st[0].ends_with("LANGUAGE plpgsql"));
    }

    #[test]
    fn trigger_bodies_with_begin_end() {
        let sql = "CREATE TRIGGER trg AFTER INSERT ON a FOR EACH ROW BEGIN\n  UPDATE b SET n = n + 1;\n  INSERT INTO c VALUES (1);\nEND;\nSELECT 1;";
        let st = texts(sql, EngineKind::Sqlite);
        assert_eq!(st.len(), 2, "{st:?}");
        assert!(st[0].ends_with("END"));
    }

    #[test]
    fn mysql_procedure_with_nested_blocks() {
        let sql = "CREATE DEFINER=`root`@`%` PROCEDURE p() BEGIN\n IF x > 1 THEN SELECT IF(1,2,3); END IF;\n WHILE x < 3 DO SET x = x + 1; END WHILE;\n CASE WHEN 1 THEN SELECT 1; END CASE;\nEND;\n# comment; here\nDROP TABLE t;";
        let st = texts(sql, EngineKind::MySql);
        assert_eq!(st.len(), 2, "{st:?}");
        assert_eq!(st[1], "DROP TABLE t");
    }

    #[test]
    fn begin_as_transaction_start_is_its_own_statement() {
        assert_eq!(texts("BEGIN; SELECT 1; COMMIT;", EngineKind::Sqlite).len(), 3);
    }

    #[test]
    fn unterminated_constructs_name_their_line() {
        let e = split("SELECT 1;\nSELECT 'abc", EngineKind::Sqlite).unwrap_err();
        assert_eq!(e.line, 2);
        let e = split("SELECT $$ abc", EngineKind::Postgres).unwrap_err();
        assert!(e.message.contains("dollar"), "{e}");
        let e = split("/* a /* b */", EngineKind::Postgres).unwrap_err();
        assert!(e.message.contains("comment"));
    }

    #[test]
    fn tables_named_like_routines_are_not_routines() {
        let sql = "CREATE TABLE IF NOT EXISTS event (x int);\nCREATE INDEX trigger ON event (x);\nSELECT 1;";
        assert_eq!(texts(sql, EngineKind::Sqlite).len(), 3);
    }

    #[test]
    fn placeholders_are_found_in_code_only() {
        let sql = "UPDATE t SET p = p * 2, s = ':first', \":x\" = 1 -- :last\n WHERE id::bigint BETWEEN :first AND :last /* :no */ AND a := 1 AND :_z9";
        let names: Vec<(String, String)> = placeholders(sql, EngineKind::Postgres)
            .unwrap()
            .into_iter()
            .map(|p| (p.name.clone(), sql[p.span].to_owned()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("first".into(), ":first".into()),
                ("last".into(), ":last".into()),
                ("_z9".into(), ":_z9".into())
            ]
        );
        assert!(
            placeholders("SELECT `:first` # :last\n", EngineKind::MySql)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn no_statement_in_comment_only_script() {
        assert!(
            split("-- nothing\n/* here */\n", EngineKind::Postgres)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn recognises_transaction_control() {
        for s in [
            "BEGIN",
            "begin transaction",
            "COMMIT",
            "ROLLBACK",
            "START TRANSACTION",
            "END",
        ] {
            assert!(is_transaction_control(s), "{s}");
        }
        for s in [
            "BEGIN ATOMIC",
            "COMMIT PREPARED 'x'",
            "CREATE TABLE begin_x (a int)",
            "SELECT 1",
        ] {
            assert!(!is_transaction_control(s), "{s}");
        }
    }

    /// The invariants a statement list must keep whatever the input: the
    /// spans are in order, inside the script, each statement is the text at
    /// its span and its line is that span's line; what lies between
    /// statements holds no statement of its own; and the statements, each
    /// ended by `;` on a line of its own, split back into themselves.
    pub(crate) fn check_invariants(sql: &str, dialect: EngineKind) {
        let Ok(statements) = split(sql, dialect) else { return };
        let mut last = 0;
        for st in &statements {
            assert!(st.span.start >= last && st.span.end <= sql.len(), "{st:?}");
            assert_eq!(&sql[st.span.clone()], st.text);
            assert_eq!(st.line, line_of(sql, st.span.start));
            assert!(!st.text.is_empty() && st.text.trim_end() == st.text);
            let gap = &sql[last..st.span.start];
            assert!(
                split(gap, dialect).is_ok_and(|g| g.is_empty()),
                "gap {gap:?} holds a statement"
            );
            last = st.span.end;
        }
        // A routine body left open runs to the end of the script, taking in
        // whatever is appended: the round trip holds for the others.
        if statements
            .iter()
            .any(|s| s.text.to_ascii_uppercase().contains("CREATE"))
        {
            return;
        }
        let joined: String = statements.iter().map(|s| format!("{}\n;\n", s.text)).collect();
        let again: Vec<String> = split(&joined, dialect).unwrap().into_iter().map(|s| s.text).collect();
        let before: Vec<String> = statements.into_iter().map(|s| s.text).collect();
        assert_eq!(again, before);
    }

    proptest::proptest! {
        #[test]
        fn splitting_keeps_its_invariants(parts in proptest::collection::vec(proptest::prop_oneof![
            proptest::prelude::Just("SELECT 1".to_owned()),
            proptest::prelude::Just(";".to_owned()),
            proptest::prelude::Just("\n".to_owned()),
            proptest::prelude::Just(" ".to_owned()),
            proptest::prelude::Just("'a;b'".to_owned()),
            proptest::prelude::Just("\"x;y\"".to_owned()),
            proptest::prelude::Just("-- c;\n".to_owned()),
            proptest::prelude::Just("/* c; /* n */ */".to_owned()),
            proptest::prelude::Just("$$ a; b $$".to_owned()),
            proptest::prelude::Just("$t$ ; $t$".to_owned()),
            proptest::prelude::Just("E'\\';'".to_owned()),
            proptest::prelude::Just("`q;`".to_owned()),
            proptest::prelude::Just("# h;\n".to_owned()),
            proptest::prelude::Just("CREATE TRIGGER t BEGIN x; END".to_owned()),
            proptest::prelude::Just("$1".to_owned()),
            "[a-zA-Z_$'\"`;()\\ \n/*#-]{0,12}",
        ], 0..40)) {
            let sql: String = parts.concat();
            for d in [EngineKind::Sqlite, EngineKind::Postgres, EngineKind::MySql] {
                check_invariants(&sql, d);
            }
        }
    }
}
