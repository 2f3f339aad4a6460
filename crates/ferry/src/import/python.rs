//! Just enough of Python's syntax to read an Alembic revision file: top-level
//! assignments of strings, `None` and tuples of strings, the body of a
//! top-level function, its logical statements, and string literals.
//!
//! Written by hand: ferry does not run Python, and a full Python parser is
//! far more than reading these few forms needs.

/// A value assigned at the top level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `None`.
    None,
    /// One string, or a tuple or list of them.
    Strings(Vec<String>),
}

/// The value of `name = ...` (or `name: Type = ...`) at the top level.
pub fn assignment(source: &str, name: &str) -> Option<Value> {
    for stmt in statements(source, 0) {
        let Some(rest) = stmt.strip_prefix(name) else { continue };
        let rest = rest.trim_start();
        let rhs = if let Some(r) = rest.strip_prefix('=') {
            r
        } else if let Some(r) = rest.strip_prefix(':') {
            r.split_once('=').map(|(_, v)| v)?
        } else {
            continue;
        };
        let rhs = rhs.trim();
        if rhs == "None" {
            return Some(Value::None);
        }
        let inner = rhs
            .strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
            .or_else(|| rhs.strip_prefix('[').and_then(|r| r.strip_suffix(']')))
            .unwrap_or(rhs);
        let items: Option<Vec<String>> = split_top(inner, ',')
            .into_iter()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(string_literal)
            .collect();
        return items.map(Value::Strings);
    }
    None
}

/// The body of the top-level `def name(...):`, dedented.
pub fn function_body(source: &str, name: &str) -> Option<String> {
    let lines: Vec<&str> = source.lines().collect();
    let start = lines.iter().position(|l| l.starts_with(&format!("def {name}(")))?;
    // The signature may run over several lines; the body starts after the `:`.
    let mut i = start;
    while i < lines.len() && !lines[i].trim_end().ends_with(':') {
        i += 1;
    }
    let mut body = Vec::new();
    for line in lines.iter().skip(i + 1) {
        if !line.trim().is_empty() && !line.starts_with(' ') && !line.starts_with('\t') {
            break;
        }
        body.push(*line);
    }
    Some(dedent(&body.join("\n")))
}

/// Text with its common leading indentation removed.
pub fn dedent(text: &str) -> String {
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    text.lines()
        .map(|l| {
            if l.len() >= indent {
                &l[indent..]
            } else {
                l.trim_start()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The logical statements of `code` that start at column `indent`: lines
/// joined while a bracket or a triple-quoted string is open, or a line ends
/// with `\`. Comments are dropped; nested blocks come with their statement.
pub fn statements(code: &str, indent: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut depth: i32 = 0;
    let mut triple: Option<&str> = None;
    for line in code.lines() {
        let starts_new = depth == 0 && triple.is_none() && !current.ends_with('\\');
        if starts_new {
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let at = line.len() - line.trim_start().len();
            if at > indent && !current.is_empty() {
                // A nested block line: part of the statement above.
                current.push('\n');
                current.push_str(line);
                continue;
            }
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            current.push_str(line.trim_start());
        } else {
            current.push('\n');
            current.push_str(line);
        }
        scan(line, &mut depth, &mut triple);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Follows brackets and strings across one line.
fn scan(line: &str, depth: &mut i32, triple: &mut Option<&'static str>) {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if let Some(q) = *triple {
            if line[i..].starts_with(q) {
                *triple = None;
                i += 3;
            } else {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            continue;
        }
        match b[i] {
            b'#' => break,
            b'(' | b'[' | b'{' => *depth += 1,
            b')' | b']' | b'}' => *depth -= 1,
            b'"' | b'\'' => {
                let q = b[i];
                if line[i..].starts_with("\"\"\"") || line[i..].starts_with("'''") {
                    *triple = Some(if q == b'"' { "\"\"\"" } else { "'''" });
                    i += 3;
                    continue;
                }
                i += 1;
                while i < b.len() && b[i] != q {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            _ => {}
        }
        i += 1;
    }
}

/// `text` split at `sep` outside brackets and strings.
fn split_top(text: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None::<char>, 0);
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') => depth -= 1,
            (None, c) if c == sep && depth == 0 => {
                out.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// The value of a string literal, or of adjacent literals (`"a" "b"`).
/// `None` for anything else (an f-string, a name, an expression).
pub fn string_literal(expr: &str) -> Option<String> {
    let mut rest = expr.trim();
    let mut out = String::new();
    let mut any = false;
    while !rest.is_empty() {
        let prefix_len = rest
            .chars()
            .take_while(|c| matches!(c, 'r' | 'R' | 'u' | 'U' | 'b' | 'B'))
            .count();
        let (prefix, body) = rest.split_at(prefix_len);
        let raw = prefix.contains(['r', 'R']);
        let quote = if body.starts_with("\"\"\"") {
            "\"\"\""
        } else if body.starts_with("'''") {
            "'''"
        } else if body.starts_with('"') {
            "\""
        } else if body.starts_with('\'') {
            "'"
        } else {
            return None;
        };
        let inner = &body[quote.len()..];
        // A backslash keeps the quote after it in raw strings too.
        let end = find_close(inner, quote)?;
        let content = &inner[..end];
        out.push_str(&if raw { content.to_owned() } else { unescape(content) });
        any = true;
        rest = inner[end + quote.len()..].trim_start();
    }
    any.then_some(out)
}

fn find_close(s: &str, quote: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        if s[i..].starts_with(quote) {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some('\'') => out.push('\''),
            Some('"') => out.push('"'),
            Some('\n') => {}
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The arguments of a call `name(args)` when `stmt` is exactly that call.
pub fn call_args<'a>(stmt: &'a str, name: &str) -> Option<&'a str> {
    let rest = stmt.trim().strip_prefix(name)?.trim_start();
    let inner = rest.strip_prefix('(')?.trim_end().strip_suffix(')')?;
    Some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REVISION: &str = r#""""add tasks

Revision ID: 1a2b
Revises: 0f0f
"""
from alembic import op
import sqlalchemy as sa

revision: str = "1a2b"
down_revision: Union[str, None] = '0f0f'
branch_labels = None
merge = ('aa', "bb")


def upgrade() -> None:
    # a comment
    op.execute("""
        CREATE TABLE tasks (
            id serial PRIMARY KEY
        )
    """)
    op.execute(sa.text("INSERT INTO tasks DEFAULT VALUES"))
    op.add_column('tasks', sa.Column('x', sa.Integer(),
                  nullable=True))
    if True:
        pass


def downgrade() -> None:
    op.execute('DROP TABLE tasks')
"#;

    #[test]
    fn reads_a_revision_file() {
        assert_eq!(
            assignment(REVISION, "revision"),
            Some(Value::Strings(vec!["1a2b".into()]))
        );
        assert_eq!(
            assignment(REVISION, "down_revision"),
            Some(Value::Strings(vec!["0f0f".into()]))
        );
        assert_eq!(assignment(REVISION, "branch_labels"), Some(Value::None));
        assert_eq!(
            assignment(REVISION, "merge"),
            Some(Value::Strings(vec!["aa".into(), "bb".into()]))
        );
        let body = function_body(REVISION, "upgrade").unwrap();
        let st = statements(&body, 0);
        assert_eq!(st.len(), 4, "{st:#?}");
        let sql = string_literal(call_args(&st[0], "op.execute").unwrap()).unwrap();
        assert!(
            sql.contains("CREATE TABLE tasks (") && sql.contains("id serial PRIMARY KEY"),
            "{sql}"
        );
        let text = call_args(&st[1], "op.execute")
            .and_then(|a| call_args(a, "sa.text"))
            .unwrap();
        assert_eq!(string_literal(text).unwrap(), "INSERT INTO tasks DEFAULT VALUES");
        assert!(st[2].starts_with("op.add_column") && st[2].contains("nullable=True"));
        assert!(st[3].starts_with("if True:") && st[3].contains("pass"));
    }

    #[test]
    fn string_literals() {
        assert_eq!(string_literal(r#"'it\'s' "x\n""#).unwrap(), "it'sx\n");
        assert_eq!(string_literal(r"r'\d+'").unwrap(), r"\d+");
        assert_eq!(string_literal("f'{x}'"), None);
        assert_eq!(string_literal("name"), None);
    }
}
