//! TOML: edited with `toml_edit` (it keeps comments, order and spacing),
//! read back with the `toml` crate's deserializer.
//!
//! toml_edit cannot rename a key in place, so renames (and comment-outs and
//! removals, which work on whole lines) are text edits at the spans the
//! parser reports, followed by a reload.

use std::ops::Range;
use std::path::Path;

use serde_json::{Map, Value};
use toml_edit::{DocumentMut, Item, TableLike};

use super::model::{Editor, line_block};
use crate::problem::Problem;
use crate::text::line_of;

fn to_json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(to_json).collect()),
        toml::Value::Table(t) => Value::Object(t.into_iter().map(|(k, v)| (k, to_json(v))).collect::<Map<_, _>>()),
    }
}

/// The meaning of a TOML text, read by the `toml` crate.
pub fn meaning(path: &Path, text: &str) -> Result<Value, Problem> {
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(text, s.start));
        Problem::in_file(path, format!("not valid TOML: {}", e.message().trim()))
            .at_line(line)
            .help("fix the TOML at this line; the file was left as it was")
    })?;
    Ok(to_json(toml::Value::Table(table)))
}

/// A TOML file being edited.
pub(crate) struct TomlEditor {
    doc: DocumentMut,
}

fn edit_value(value: &Value) -> Result<toml_edit::Value, String> {
    Ok(match value {
        Value::String(s) => s.as_str().into(),
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.into(),
            (None, Some(f)) => f.into(),
            _ => return Err(format!("{n} is out of range")),
        },
        Value::Null => return Err("TOML has no empty value".into()),
        _ => return Err("only single values can be written".into()),
    })
}

fn key_text(key: &str) -> String {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c)) {
        key.to_owned()
    } else {
        serde_json::to_string(key).unwrap_or_default()
    }
}

impl TomlEditor {
    pub(crate) fn parse(path: &Path, text: &str) -> Result<Self, Problem> {
        let doc = text.parse::<DocumentMut>().map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(text, s.start));
            Problem::in_file(path, format!("not valid TOML: {}", e.message().trim()))
                .at_line(line)
                .help("fix the TOML at this line; the file was left as it was")
        })?;
        Ok(TomlEditor { doc })
    }

    fn table_mut(&mut self, parent: &[String], create: bool) -> Result<&mut dyn TableLike, String> {
        let mut here: &mut dyn TableLike = self.doc.as_table_mut();
        for (i, p) in parent.iter().enumerate() {
            if here.get(p).is_none() {
                if !create {
                    return Err(format!("`{}` is missing", parent[..=i].join(".")));
                }
                here.insert(p, Item::Table(toml_edit::Table::new()));
            }
            here = here
                .get_mut(p)
                .and_then(Item::as_table_like_mut)
                .ok_or_else(|| format!("`{}` is not a table", parent[..=i].join(".")))?;
        }
        Ok(here)
    }

    /// The spans of the key and of the value at `path`, found by parsing the
    /// current text again (an edited document keeps no spans).
    fn spans(&self, path: &[String]) -> Result<(Range<usize>, Range<usize>), String> {
        let text = self.render();
        let parsed = toml_edit::Document::parse(text).map_err(|e| e.to_string())?;
        let (leaf, parent) = path.split_last().ok_or("empty key")?;
        let mut here: &dyn TableLike = parsed.as_table();
        let mut inline = false;
        for p in parent {
            let item = here.get(p).ok_or("the key is missing")?;
            inline |= item.as_inline_table().is_some();
            here = item.as_table_like().ok_or("the key is missing")?;
        }
        let (key, item) = here.get_key_value(leaf).ok_or("the key is missing")?;
        if item.is_table() || item.is_array_of_tables() {
            return Err("it is a [table]; edit the keys inside it one by one".into());
        }
        if inline {
            return Err("it is inside an inline table { ... }".into());
        }
        let key_span = key.span().ok_or("the parser gave no position for the key")?;
        let value_span = item.span().ok_or("the parser gave no position for the value")?;
        Ok((key_span, value_span))
    }
}

impl Editor for TomlEditor {
    fn render(&self) -> String {
        self.doc.to_string()
    }

    fn insert(&mut self, parent: &[String], key: &str, value: &Value) -> Result<(), String> {
        let v = edit_value(value)?;
        self.table_mut(parent, true)?.insert(key, Item::Value(v));
        Ok(())
    }

    fn replace(&mut self, path: &[String], value: &Value) -> Result<(), String> {
        let mut v = edit_value(value)?;
        let (leaf, parent) = path.split_last().ok_or("empty key")?;
        let item = self
            .table_mut(parent, false)?
            .get_mut(leaf)
            .ok_or("the key is missing")?;
        let Item::Value(old) = item else {
            return Err("it is a table, not a value".into());
        };
        *v.decor_mut() = old.decor().clone();
        *old = v;
        Ok(())
    }

    fn rename(&mut self, path: &[String], new_key: &str) -> Result<(), String> {
        let (key, _) = self.spans(path)?;
        let mut text = self.render();
        text.replace_range(key, &key_text(new_key));
        self.reload(&text)
    }

    fn span(&self, path: &[String]) -> Result<Range<usize>, String> {
        let (key, value) = self.spans(path)?;
        Ok(key.start..value.end)
    }

    fn remove(&mut self, path: &[String]) -> Result<(), String> {
        let (leaf, parent) = path.split_last().ok_or("empty key")?;
        // Inside an inline table `{ a = 1, b = 2 }` toml_edit removes the
        // entry and its comma; elsewhere the key's whole lines go.
        let mut inline = false;
        let mut here: &dyn TableLike = self.doc.as_table();
        for p in parent {
            let item = here.get(p).ok_or("the key is missing")?;
            inline |= item.as_inline_table().is_some();
            here = item.as_table_like().ok_or("the key is missing")?;
        }
        if inline {
            self.table_mut(parent, false)?
                .remove(leaf)
                .ok_or("the key is missing")?;
            return Ok(());
        }
        let text = self.render();
        let block = line_block(&text, self.span(path)?, |p| self.prefix_ok(p))?;
        let mut new = text;
        new.replace_range(block, "");
        self.reload(&new)
    }

    fn reload(&mut self, text: &str) -> Result<(), String> {
        self.doc = text.parse::<DocumentMut>().map_err(|e| e.to_string())?;
        Ok(())
    }

    fn prefix_ok(&self, prefix: &str) -> bool {
        // A dotted key (`server.port = 1`) starts before the leaf's span.
        !prefix.contains(['{', ',', '=', '"', '\'']) || prefix.trim().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::model::Format;

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z #]{0,10}".prop_map(|s| format!("\"{s}\"")),
            "[a-z #\"]{0,10}".prop_map(|s| format!("'{}'", s.replace('\'', ""))),
            any::<i32>().prop_map(|i| i.to_string()),
            Just("true".to_owned()),
            Just("[1, 2]".to_owned()),
        ]
    }

    fn entries() -> impl Strategy<Value = Vec<(String, String, String)>> {
        prop::collection::vec(
            (
                "[a-z][a-z0-9_]{0,6}",
                value(),
                prop_oneof![Just(String::new()), "[ -~]{0,10}".prop_map(|c| format!("  # {c}"))],
            ),
            1..6,
        )
    }

    /// Root keys, then a few [tables], comments and blank lines between.
    fn file() -> impl Strategy<Value = String> {
        (entries(), prop::collection::vec(("[a-z]{1,6}", entries()), 0..3)).prop_map(|(root, tables)| {
            let mut out = String::from("# generated\n");
            let mut seen = std::collections::HashSet::new();
            for (k, v, c) in root {
                if seen.insert(k.clone()) {
                    out.push_str(&format!("{k} = {v}{c}\n"));
                }
            }
            for (name, body) in tables {
                if !seen.insert(name.clone()) {
                    continue;
                }
                out.push_str(&format!("\n[{name}]\n"));
                let mut inner = std::collections::HashSet::new();
                for (k, v, c) in body {
                    if inner.insert(k.clone()) {
                        out.push_str(&format!("{k} = {v}{c}\n"));
                    }
                }
            }
            out
        })
    }

    proptest! {
        #[test]
        fn no_op_and_rename_and_back(text in file(), new in "zz[a-z]{6}", pick in any::<prop::sample::Index>()) {
            super::super::model::check_editor_properties("c.toml", Format::Toml, &text, &new, pick)?;
        }
    }
}
