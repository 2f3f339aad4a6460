//! A `.env` document that edits keys and keeps every other byte: comments,
//! blank lines, order, quoting, `export` prefixes, inline comments and the
//! final newline.
//!
//! Written by hand: the crates that read .env files (dotenvy) do not write
//! them, and the one that edits (adotenv) rewrites whole files. Every edit is
//! checked by re-reading the result with dotenvy, an independent parser, and
//! comparing its meaning with the intended one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::problem::Problem;

/// One logical line: an assignment, or anything else kept as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// A blank line, a comment, or anything else that is not an assignment.
    Other(String),
    /// `[export ]KEY=VALUE[ # comment]`, possibly spanning lines (quoted).
    Assign {
        /// The exact text, line break included.
        raw: String,
        /// Where the key starts and ends in `raw`.
        key: (usize, usize),
        /// Where the value (with its quotes) starts and ends in `raw`.
        value: (usize, usize),
    },
}

/// A parsed `.env` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotEnv {
    path: PathBuf,
    items: Vec<Item>,
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-'
}

/// Reads a quoted value starting at `text[start]` (the quote); returns the
/// byte just after the closing quote.
fn quoted_end(text: &str, start: usize) -> Option<usize> {
    let quote = text.as_bytes()[start];
    let mut i = start + 1;
    let bytes = text.as_bytes();
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b if b == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The meaning of a raw value: quotes removed, escapes applied.
fn decode(raw: &str) -> String {
    let raw = raw.trim();
    if let Some(inner) = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return inner.to_owned();
    }
    if let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('r') => out.push('\r'),
                    Some(other) => out.push(other),
                    None => out.push('\\'),
                }
            } else {
                out.push(c);
            }
        }
        return out;
    }
    raw.to_owned()
}

/// Writes `value` so that dotenvy reads it back unchanged: bare when that is
/// safe, single-quoted when it has no `'`, double-quoted with escapes otherwise.
pub fn encode(value: &str) -> String {
    let bare = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.,:/@+=%*^~?".contains(c));
    if bare {
        return value.to_owned();
    }
    if !value.contains('\'') && !value.contains('\n') && !value.contains('\r') {
        return format!("'{value}'");
    }
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '$' => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl DotEnv {
    /// Parses `text`, reporting the first malformed line of `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, Problem> {
        let mut items = Vec::new();
        let mut pos = 0;
        let mut line_no = 1;
        while pos < text.len() {
            let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1);
            let line = &text[pos..line_end];
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            let content = trimmed.trim_end_matches(['\n', '\r']);
            if content.trim().is_empty() || content.starts_with('#') {
                items.push(Item::Other(line.to_owned()));
                pos = line_end;
                line_no += 1;
                continue;
            }
            let after_export = content.strip_prefix("export ").map(str::trim_start).unwrap_or(content);
            let key_start = pos + indent + (content.len() - after_export.len());
            let key_len = after_export
                .chars()
                .take_while(|c| is_key_char(*c))
                .map(char::len_utf8)
                .sum::<usize>();
            let rest = &after_export[key_len..];
            let eq = rest.len() - rest.trim_start().len();
            if key_len == 0 || !rest.trim_start().starts_with('=') {
                return Err(Problem::in_file(path, "this line is not KEY=value, a comment or blank")
                    .at_line(line_no)
                    .help("write KEY=value, or start the line with # to keep it as a comment"));
            }
            let mut value_start = key_start + key_len + eq + 1;
            while text[value_start..].starts_with([' ', '\t']) {
                value_start += 1;
            }
            let first = text.as_bytes().get(value_start).copied();
            let (value_end, item_end) = match first {
                Some(q @ (b'"' | b'\'')) => {
                    let Some(end) = quoted_end(text, value_start) else {
                        let what = if q == b'"' { "double" } else { "single" };
                        return Err(
                            Problem::in_file(path, format!("the {what}-quoted value is never closed"))
                                .at_line(line_no)
                                .help("close the quote"),
                        );
                    };
                    let item_end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
                    (end, item_end)
                }
                _ => {
                    // A bare value ends at the line's end or at ` #` (a comment).
                    let line_rest = &text[value_start..line_end];
                    let body = line_rest.trim_end_matches(['\n', '\r']);
                    let cut = body.find(" #").or_else(|| body.find("\t#")).unwrap_or(body.len());
                    (value_start + body[..cut].trim_end().len(), line_end)
                }
            };
            let raw = text[pos..item_end].to_owned();
            line_no += raw.matches('\n').count();
            items.push(Item::Assign {
                key: (key_start - pos, key_start - pos + key_len),
                value: (value_start - pos, value_end - pos),
                raw,
            });
            pos = item_end;
        }
        Ok(DotEnv {
            path: path.to_owned(),
            items,
        })
    }

    /// The text, byte for byte.
    pub fn render(&self) -> String {
        self.items
            .iter()
            .map(|i| match i {
                Item::Other(s) | Item::Assign { raw: s, .. } => s.as_str(),
            })
            .collect()
    }

    fn find(&self, key: &str) -> Option<usize> {
        // The last assignment wins, as when the file is loaded.
        self.items
            .iter()
            .rposition(|i| matches!(i, Item::Assign { raw, key: (a, b), .. } if &raw[*a..*b] == key))
    }

    /// The value of `key`, unquoted.
    pub fn get(&self, key: &str) -> Option<String> {
        match &self.items[self.find(key)?] {
            Item::Assign { raw, value: (a, b), .. } => Some(decode(&raw[*a..*b])),
            Item::Other(_) => None,
        }
    }

    /// Every key and value, as a loader sees them.
    pub fn entries(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for i in &self.items {
            if let Item::Assign {
                raw,
                key: (ka, kb),
                value: (va, vb),
            } = i
            {
                out.insert(raw[*ka..*kb].to_owned(), decode(&raw[*va..*vb]));
            }
        }
        out
    }

    /// Adds `key=value` at the end unless the key is there (whatever its value).
    pub fn add(&mut self, key: &str, value: &str) -> bool {
        if self.find(key).is_some() {
            return false;
        }
        if let Some(last) = self.items.last_mut() {
            let raw = match last {
                Item::Other(s) | Item::Assign { raw: s, .. } => s,
            };
            if !raw.ends_with('\n') {
                raw.push('\n');
            }
        }
        let raw = format!("{key}={}\n", encode(value));
        self.items.push(Item::Assign {
            key: (0, key.len()),
            value: (key.len() + 1, raw.len() - 1),
            raw,
        });
        true
    }

    /// Replaces the value of `key`, keeping the line's other bytes.
    pub fn set(&mut self, key: &str, value: &str) -> bool {
        let Some(i) = self.find(key) else { return false };
        if let Item::Assign { raw, value: (a, b), .. } = &mut self.items[i] {
            let encoded = encode(value);
            raw.replace_range(*a..*b, &encoded);
            *b = *a + encoded.len();
        }
        true
    }

    /// Renames `from` to `to`, keeping the value and the line's other bytes.
    pub fn rename(&mut self, from: &str, to: &str) -> bool {
        let Some(i) = self.find(from) else { return false };
        if let Item::Assign {
            raw,
            key: (ka, kb),
            value: (va, vb),
        } = &mut self.items[i]
        {
            raw.replace_range(*ka..*kb, to);
            let shift = to.len() as isize - (*kb - *ka) as isize;
            *kb = *ka + to.len();
            *va = (*va as isize + shift) as usize;
            *vb = (*vb as isize + shift) as usize;
        }
        true
    }

    /// Removes `key`'s line.
    pub fn remove(&mut self, key: &str) -> bool {
        let Some(i) = self.find(key) else { return false };
        self.items.remove(i);
        true
    }

    /// Comments `key`'s line out, with a note after it.
    pub fn comment_out(&mut self, key: &str, note: &str) -> bool {
        let Some(i) = self.find(key) else { return false };
        if let Item::Assign { raw, .. } = &self.items[i] {
            let ending = if raw.ends_with("\r\n") {
                "\r\n"
            } else if raw.ends_with('\n') {
                "\n"
            } else {
                ""
            };
            let body = raw.trim_end_matches(['\n', '\r']).replace('\n', "\n# ");
            self.items[i] = Item::Other(format!("# {body}  ({note}){ending}"));
        }
        true
    }

    /// Checks the rendered text with dotenvy: it must load, and mean
    /// `expected` (which the caller derives from [`meaning`] of the original).
    pub fn check(&self, expected: &BTreeMap<String, String>) -> Result<(), Problem> {
        let got = meaning(&self.path, &self.render()).map_err(|p| {
            Problem::in_file(&self.path, format!("the edited file would not load: {}", p.message))
                .help("nothing was written; report this, with the file, to the ferry developers")
        })?;
        if &got == expected {
            Ok(())
        } else {
            let diff: Vec<String> = expected
                .iter()
                .filter(|(k, v)| got.get(*k) != Some(v))
                .map(|(k, _)| k.clone())
                .chain(got.keys().filter(|k| !expected.contains_key(*k)).cloned())
                .collect();
            Err(Problem::in_file(
                &self.path,
                format!(
                    "the edited file would not mean what was intended (keys: {})",
                    diff.join(", ")
                ),
            )
            .help("nothing was written; report this, with the file, to the ferry developers"))
        }
    }
}

impl super::model::Editor for DotEnv {
    fn render(&self) -> String {
        DotEnv::render(self)
    }

    fn insert(&mut self, _parent: &[String], key: &str, value: &serde_json::Value) -> Result<(), String> {
        self.add(key, &super::model::value_text(value));
        Ok(())
    }

    fn replace(&mut self, path: &[String], value: &serde_json::Value) -> Result<(), String> {
        self.set(&path.join("."), &super::model::value_text(value));
        Ok(())
    }

    fn rename(&mut self, path: &[String], new_key: &str) -> Result<(), String> {
        DotEnv::rename(self, &path.join("."), new_key);
        Ok(())
    }

    fn span(&self, _path: &[String]) -> Result<std::ops::Range<usize>, String> {
        Err("internal: .env entries are edited by line".into())
    }

    fn remove(&mut self, path: &[String]) -> Result<(), String> {
        DotEnv::remove(self, &path.join("."));
        Ok(())
    }

    fn reload(&mut self, text: &str) -> Result<(), String> {
        *self = DotEnv::parse(&self.path.clone(), text).map_err(|p| p.message)?;
        Ok(())
    }

    fn comment_out(&mut self, path: &[String], note: &str) -> Result<(), String> {
        DotEnv::comment_out(self, &path.join("."), note);
        Ok(())
    }
}

/// What a .env text means to dotenvy, an independent reader: every key and
/// its value after quotes, escapes and `${VAR}` expansion.
pub fn meaning(path: &Path, text: &str) -> Result<BTreeMap<String, String>, Problem> {
    let mut out = BTreeMap::new();
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        // dotenvy's message quotes the line, which may hold a secret: say
        // where instead.
        let (k, v) = item.map_err(|e| match e {
            dotenvy::Error::LineParse(line, at) => {
                let first = line.lines().next().unwrap_or_default();
                let number = text.lines().position(|l| l == first).map_or(1, |i| i + 1);
                Problem::in_file(
                    path,
                    format!("the .env reader cannot read this line (at character {at})"),
                )
                .at_line(number)
                .help("write KEY=value, quoting values with spaces or #")
            }
            other => Problem::in_file(path, crate::redact::redact_urls(&other.to_string())),
        })?;
        out.insert(k, v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# OsMEN settings\n\nexport LLM_PROVIDER=openai   # the only one for now\nAGENT_MEMORY=\"http://qdrant:6333\"\nSECRET_KEY='s3cr#t'\n\n# trailing comment\nEMPTY=\nMULTI=\"line one\nline two\"\nLAST=1";

    fn doc(text: &str) -> DotEnv {
        DotEnv::parse(Path::new(".env"), text).unwrap()
    }

    #[test]
    fn round_trips_byte_for_byte_and_reads_like_dotenvy() {
        let d = doc(SAMPLE);
        assert_eq!(d.render(), SAMPLE);
        assert_eq!(d.get("LLM_PROVIDER").as_deref(), Some("openai"));
        assert_eq!(d.get("AGENT_MEMORY").as_deref(), Some("http://qdrant:6333"));
        assert_eq!(d.get("SECRET_KEY").as_deref(), Some("s3cr#t"));
        assert_eq!(d.get("MULTI").as_deref(), Some("line one\nline two"));
        assert_eq!(d.get("EMPTY").as_deref(), Some(""));
        d.check(&meaning(Path::new(".env"), SAMPLE).unwrap()).unwrap();
    }

    #[test]
    fn edits_touch_only_their_key() {
        let mut d = doc(SAMPLE);
        assert!(d.rename("AGENT_MEMORY", "QDRANT_HOST"));
        assert!(d.set("LLM_PROVIDER", "anthropic"));
        assert!(!d.add("EMPTY", "x"), "an existing key is never overwritten");
        assert!(d.add("NEW_FEATURE_ENABLED", "true"));
        assert!(d.comment_out("SECRET_KEY", "deprecated in 2.0.0: use VAULT_KEY"));
        assert!(d.remove("LAST"));
        let want = "# OsMEN settings\n\nexport LLM_PROVIDER=anthropic   # the only one for now\nQDRANT_HOST=\"http://qdrant:6333\"\n# SECRET_KEY='s3cr#t'  (deprecated in 2.0.0: use VAULT_KEY)\n\n# trailing comment\nEMPTY=\nMULTI=\"line one\nline two\"\nNEW_FEATURE_ENABLED=true\n";
        assert_eq!(d.render(), want);
        let mut expected = meaning(Path::new(".env"), SAMPLE).unwrap();
        let v = expected.remove("AGENT_MEMORY").unwrap();
        expected.insert("QDRANT_HOST".into(), v);
        expected.insert("LLM_PROVIDER".into(), "anthropic".into());
        expected.insert("NEW_FEATURE_ENABLED".into(), "true".into());
        expected.remove("SECRET_KEY");
        expected.remove("LAST");
        d.check(&expected).unwrap();
    }

    #[test]
    fn values_are_quoted_so_they_read_back() {
        for v in [
            "plain",
            "with space",
            "it's",
            "a\"b",
            "$HOME",
            "${X}",
            "a#b",
            "two\nlines",
            "back\\slash",
            "",
        ] {
            let mut d = doc("A=1\n");
            d.set("A", v);
            let mut want = BTreeMap::new();
            want.insert("A".to_owned(), v.to_owned());
            d.check(&want)
                .unwrap_or_else(|p| panic!("{v:?}: {p} in {:?}", d.render()));
        }
    }

    #[test]
    fn malformed_lines_name_their_line() {
        let e = DotEnv::parse(Path::new(".env"), "A=1\nB=2\nnot an assignment\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        let e = DotEnv::parse(Path::new(".env"), "A=1\nB=\"open\nC=3\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("never closed"));
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn key() -> impl Strategy<Value = String> {
            "[A-Z_][A-Z0-9_]{0,6}"
        }

        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                "[a-z0-9_./:-]{0,12}",
                "[a-z #$\"]{0,10}".prop_map(|v| format!("'{}'", v.replace('\'', ""))),
                "[a-z '#$]{0,10}".prop_map(|v| format!("\"{}\"", v.replace('$', "\\$"))),
            ]
        }

        fn line() -> impl Strategy<Value = String> {
            prop_oneof![
                Just(String::new()),
                "[ -~]{0,20}".prop_map(|c| format!("# {c}")),
                (any::<bool>(), key(), value(), any::<bool>()).prop_map(|(export, k, v, comment)| {
                    let bare = !v.starts_with(['\'', '"']);
                    format!(
                        "{}{k}={v}{}",
                        if export { "export " } else { "" },
                        if comment && bare && !v.is_empty() {
                            " # note"
                        } else {
                            ""
                        }
                    )
                }),
            ]
        }

        fn file() -> impl Strategy<Value = String> {
            (prop::collection::vec(line(), 0..12), any::<bool>(), any::<bool>()).prop_map(
                |(lines, crlf, final_newline)| {
                    let sep = if crlf { "\r\n" } else { "\n" };
                    let mut text = lines.join(sep);
                    if final_newline && !text.is_empty() {
                        text.push_str(sep);
                    }
                    text
                },
            )
        }

        proptest! {
            #[test]
            fn a_no_op_leaves_the_file_identical(text in file()) {
                let d = DotEnv::parse(Path::new(".env"), &text).unwrap();
                prop_assert_eq!(d.render(), text);
            }

            #[test]
            fn rename_and_back_restores_the_file(text in file(), new in "Z[A-Z0-9_]{8}") {
                let d = DotEnv::parse(Path::new(".env"), &text).unwrap();
                let before = meaning(Path::new(".env"), &text).unwrap();
                if let Some(old) = d.entries().keys().next().cloned() {
                    prop_assume!(!before.contains_key(&new));
                    let mut edited = d.clone();
                    prop_assert!(edited.rename(&old, &new));
                    // dotenvy reads the same value under the new name (the last
                    // assignment of a repeated key is the one renamed).
                    let after = meaning(Path::new(".env"), &edited.render()).unwrap();
                    prop_assert_eq!(after.get(&new), before.get(&old));
                    prop_assert!(edited.rename(&new, &old));
                    prop_assert_eq!(edited.render(), text);
                }
            }
        }
    }
}
