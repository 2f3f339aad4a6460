//! The config changes a release declares, as `[[config]]` tables in its
//! release file:
//!
//! ```toml
//! [[config]]
//! file = "config.yaml"            # a path, or a glob such as "profiles/*.yaml"
//! add = "artifact_dir"            # add a key with a default; never overwrites
//! value = "/var/lib/agentlab/artifacts"
//!
//! [[config]]
//! file = "profiles/*.yaml"
//! rename = "template_vm"          # dotted paths for nested keys: storage.max
//! to = "template_vmid"
//!
//! [[config]]
//! file = "config.yaml"
//! derive = "proxmox_api_url"      # computed from other keys
//! template = "https://${proxmox_host}:8006"
//!
//! [[config]]
//! file = ".env"
//! split = "LLM_PROVIDER"          # several keys from one; the old one is deprecated
//! into = { OPENAI_ENABLED = "${LLM_PROVIDER}", OPENAI_MODEL = "gpt-4o" }
//!
//! [[config]]
//! file = "config.yaml"
//! deprecate = "proxmox_host"      # commented out, with a note
//! note = "use proxmox_api_url"
//!
//! [[config]]
//! file = ".env"
//! set = "LOG_FORMAT"              # replace a value (only_if: only when it is this one)
//! value = "json"
//! only_if = "text"
//!
//! [[config]]
//! file = ".env"
//! remove = "LEGACY_MODE"
//!
//! [[config]]
//! file = ".env"
//! require = "SECRET_KEY"          # stop when it is missing
//! message = "2.0.0 signs sessions with SECRET_KEY: generate one with `openssl rand -hex 32`"
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;
use toml::Spanned;

use crate::document::{Document, Format, KeyPath, value_text};
use crate::problem::Problem;
use crate::text::line_of;

/// A template such as `https://${proxmox_host}:8006`: `${key}` is another
/// key's value, `${key:-default}` gives a default when the key is missing,
/// `$$` is a literal `$`.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    text: String,
    parts: Vec<Part>,
    literal: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Key { key: String, default: Option<String> },
}

impl Template {
    /// Parses a template.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(i) = rest.find('$') {
            literal.push_str(&rest[..i]);
            rest = &rest[i..];
            if let Some(r) = rest.strip_prefix("$$") {
                literal.push('$');
                rest = r;
            } else if let Some(r) = rest.strip_prefix("${") {
                let end = r
                    .find('}')
                    .ok_or_else(|| format!("`${{` is never closed in `{text}`: write ${{key}}"))?;
                let inner = &r[..end];
                let (key, default) = match inner.split_once(":-") {
                    Some((k, d)) => (k, Some(d.to_owned())),
                    None => (inner, None),
                };
                if key.trim().is_empty() {
                    return Err(format!("`${{{inner}}}` names no key in `{text}`"));
                }
                if !literal.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut literal)));
                }
                parts.push(Part::Key {
                    key: key.trim().to_owned(),
                    default,
                });
                rest = &r[end + 1..];
            } else {
                literal.push('$');
                rest = &rest[1..];
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Template {
            text: text.to_owned(),
            parts,
            literal: None,
        })
    }

    /// A fixed value (a number or boolean written as such in `into`).
    pub fn value(value: Value) -> Self {
        Template {
            text: value.to_string(),
            parts: Vec::new(),
            literal: Some(value),
        }
    }

    /// Whether it is made of `${key}` references only, with no text of its own.
    pub fn references_only(&self) -> bool {
        self.literal.is_none() && self.parts.iter().all(|p| matches!(p, Part::Key { default: None, .. }))
    }

    /// Its value in `doc`; `Err(key)` names a missing key without a default.
    /// A template that is exactly one `${key}` keeps the key's type (a
    /// number stays a number).
    pub fn expand(&self, doc: &Document) -> Result<Value, String> {
        if let Some(v) = &self.literal {
            return Ok(v.clone());
        }
        let lookup = |key: &str| -> Option<Value> {
            let path = KeyPath::parse(key, doc.format()).ok()?;
            doc.get(&path).filter(|v| !v.is_object() && !v.is_array()).cloned()
        };
        if let [Part::Key { key, default }] = self.parts.as_slice() {
            return match (lookup(key), default) {
                (Some(v), _) => Ok(v),
                (None, Some(d)) => Ok(Value::String(d.clone())),
                (None, None) => Err(key.clone()),
            };
        }
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Key { key, default } => match (lookup(key), default) {
                    (Some(v), _) => out.push_str(&value_text(&v)),
                    (None, Some(d)) => out.push_str(d),
                    (None, None) => return Err(key.clone()),
                },
            }
        }
        Ok(Value::String(out))
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What a change does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Add a key with a default value, unless the file has it.
    Add {
        /// The key.
        key: String,
        /// Its default.
        value: Value,
    },
    /// Rename a key, keeping its value and its line.
    Rename {
        /// The key now.
        from: String,
        /// Its new name.
        to: String,
    },
    /// Replace a value.
    Set {
        /// The key.
        key: String,
        /// The new value.
        value: Value,
        /// Only when the current value is this one.
        only_if: Option<Value>,
    },
    /// Add a key computed from other keys, unless the file has it.
    Derive {
        /// The new key.
        key: String,
        /// How its value is computed.
        template: Template,
    },
    /// Make several keys from one, then deprecate it.
    Split {
        /// The key split.
        key: String,
        /// The new keys and their templates, in order.
        into: Vec<(String, Template)>,
        /// The note left on the old key.
        note: Option<String>,
    },
    /// Comment a key out, with a note.
    Deprecate {
        /// The key.
        key: String,
        /// What to use instead.
        note: Option<String>,
    },
    /// Delete a key.
    Remove {
        /// The key.
        key: String,
    },
    /// Stop when a key is missing.
    Require {
        /// The key.
        key: String,
        /// Why, and what to do.
        message: Option<String>,
    },
}

impl Action {
    /// The operation's name, as written in release files.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Add { .. } => "add",
            Action::Rename { .. } => "rename",
            Action::Set { .. } => "set",
            Action::Derive { .. } => "derive",
            Action::Split { .. } => "split",
            Action::Deprecate { .. } => "deprecate",
            Action::Remove { .. } => "remove",
            Action::Require { .. } => "require",
        }
    }
}

/// One `[[config]]` entry of a release file.
#[derive(Debug, Clone)]
pub struct Change {
    /// The file or glob, relative to the config folder.
    pub file: String,
    /// The format, when the file's name does not tell.
    pub format: Option<Format>,
    /// What it does.
    pub action: Action,
    /// The release file it comes from.
    pub source: PathBuf,
    /// Its line there.
    pub line: usize,
}

/// What applying a change to one file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// It changed the file; the sentence says how.
    Changed(String),
    /// Nothing to do (the key was absent, or already as wanted).
    Nothing,
    /// It could not apply, and said why (a derive whose source is missing).
    Skipped(String),
}

impl Change {
    /// The format for `path`: the declared one, or the one its name implies.
    pub fn format_for(&self, path: &Path) -> Option<Format> {
        self.format.or_else(|| Format::of(path))
    }

    /// A one-line description: `rename template_vm to template_vmid in profiles/*.yaml`.
    pub fn describe(&self) -> String {
        let what = match &self.action {
            Action::Add { key, value } => format!("add {key} (default {})", shown(key, value)),
            Action::Rename { from, to } => format!("rename {from} to {to}"),
            Action::Set { key, value, only_if } => match only_if {
                Some(old) => format!("set {key} to {} where it is {}", shown(key, value), shown(key, old)),
                None => format!("set {key} to {}", shown(key, value)),
            },
            Action::Derive { key, template } => {
                // A template may hold a literal password (in a URL, or as
                // the whole value of a secret key): show it as the value would be.
                let shown_template = if crate::redact::is_secret_key(key) && !template.references_only() {
                    crate::redact::MASK.to_owned()
                } else {
                    crate::redact::redact_urls(&template.to_string())
                };
                format!("derive {key} from {shown_template}")
            }
            Action::Split { key, into, .. } => format!(
                "split {key} into {}",
                into.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(", ")
            ),
            Action::Deprecate { key, note } => match note {
                Some(n) => format!("deprecate {key} ({n})"),
                None => format!("deprecate {key}"),
            },
            Action::Remove { key } => format!("remove {key}"),
            Action::Require { key, .. } => format!("require {key}"),
        };
        format!("{what} in {}", self.file)
    }

    fn problem(&self, doc: &Document, message: String) -> Problem {
        Problem::in_file(doc.path(), message).help(format!(
            "declared at {}:{}; fix the file, then run ferry again",
            self.source.display(),
            self.line
        ))
    }

    fn key(&self, doc: &Document, key: &str) -> Result<KeyPath, Problem> {
        KeyPath::parse(key, doc.format()).map_err(|m| self.problem(doc, m))
    }

    /// Applies the change, made by release `version`, to `doc`.
    pub fn apply(&self, version: &str, doc: &mut Document) -> Result<Effect, Problem> {
        let deprecated = |note: &Option<String>| match note {
            Some(n) => format!("deprecated in {version}: {n}"),
            None => format!("deprecated in {version}"),
        };
        let changed = |yes: bool, what: String| if yes { Effect::Changed(what) } else { Effect::Nothing };
        match &self.action {
            Action::Add { key, value } => {
                let k = self.key(doc, key)?;
                Ok(changed(doc.add(&k, value)?, format!("added {key}")))
            }
            Action::Rename { from, to } => {
                let (f, t) = (self.key(doc, from)?, self.key(doc, to)?);
                Ok(changed(doc.rename(&f, &t)?, format!("renamed {from} to {to}")))
            }
            Action::Set { key, value, only_if } => {
                let k = self.key(doc, key)?;
                Ok(changed(doc.set(&k, value, only_if.as_ref())?, format!("set {key}")))
            }
            Action::Derive { key, template } => self.derive(doc, key, template),
            Action::Split { key, into, note } => {
                let k = self.key(doc, key)?;
                if doc.get(&k).is_none() {
                    return Ok(Effect::Nothing);
                }
                let mut made = Vec::new();
                for (new, template) in into {
                    match self.derive(doc, new, template)? {
                        Effect::Changed(_) => made.push(new.as_str()),
                        Effect::Skipped(why) => return Ok(Effect::Skipped(why)),
                        Effect::Nothing => {}
                    }
                }
                let names = into.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(", ");
                let note = note.clone().or_else(|| Some(format!("split into {names}")));
                doc.comment_out(&k, &deprecated(&note))?;
                Ok(Effect::Changed(format!("split {key} into {names}")))
            }
            Action::Deprecate { key, note } => {
                let k = self.key(doc, key)?;
                Ok(changed(
                    doc.comment_out(&k, &deprecated(note))?,
                    format!("deprecated {key}"),
                ))
            }
            Action::Remove { key } => {
                let k = self.key(doc, key)?;
                Ok(changed(doc.remove(&k)?, format!("removed {key}")))
            }
            Action::Require { key, message } => {
                let k = self.key(doc, key)?;
                if doc.get(&k).is_some() {
                    return Ok(Effect::Nothing);
                }
                let why = message.clone().unwrap_or_else(|| format!("release {version} needs it"));
                Err(
                    Problem::in_file(doc.path(), format!("`{key}` is required: {why}")).help(format!(
                        "add {key} to {}, then run ferry again (required at {}:{})",
                        doc.path().display(),
                        self.source.display(),
                        self.line
                    )),
                )
            }
        }
    }

    fn derive(&self, doc: &mut Document, key: &str, template: &Template) -> Result<Effect, Problem> {
        let k = self.key(doc, key)?;
        if doc.get(&k).is_some() {
            return Ok(Effect::Nothing);
        }
        match template.expand(doc) {
            Ok(value) => {
                doc.add(&k, &value)?;
                Ok(Effect::Changed(format!("derived {key}")))
            }
            Err(missing) => Ok(Effect::Skipped(format!(
                "{key} was not derived: the file has no {missing} (write ${{{missing}:-default}} in the template to give one)"
            ))),
        }
    }
}

/// How a value appears in a description: secrets as `****`.
fn shown(key: &str, value: &Value) -> String {
    if crate::redact::is_secret_key(key) {
        return "****".into();
    }
    match value {
        Value::String(s) => format!("\"{}\"", crate::redact::redact_urls(s)),
        other => other.to_string(),
    }
}

/// `[[config]]` as written in a release file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawChange {
    file: Option<String>,
    format: Option<String>,
    add: Option<String>,
    rename: Option<String>,
    set: Option<String>,
    derive: Option<String>,
    split: Option<String>,
    deprecate: Option<String>,
    remove: Option<String>,
    require: Option<String>,
    value: Option<toml::Value>,
    to: Option<String>,
    only_if: Option<toml::Value>,
    template: Option<String>,
    into: Option<IndexMap<String, toml::Value>>,
    note: Option<String>,
    message: Option<String>,
}

fn scalar(v: toml::Value) -> Result<Value, String> {
    Ok(match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(_) | toml::Value::Table(_) => {
            return Err("a value must be a string, number or boolean".into());
        }
    })
}

const ACTIONS: &str = "add, rename, set, derive, split, deprecate, remove or require";

/// Checks one `[[config]]` entry of `source` (whose text is `text`).
pub(crate) fn parse(source: &Path, text: &str, raw: Spanned<RawChange>) -> Result<Change, Problem> {
    let line = line_of(text, raw.span().start);
    let r = raw.into_inner();
    let fail = |m: String, help: &str| Problem::in_file(source, m).at_line(line).help(help.to_owned());
    let file = r.file.clone().filter(|f| !f.trim().is_empty()).ok_or_else(|| {
        fail(
            "a [[config]] change names no file".into(),
            "add file = \"config.yaml\" (a path or a glob, relative to the config folder)",
        )
    })?;
    let format = match &r.format {
        Some(f) => Some(
            Format::parse(f)
                .ok_or_else(|| fail(format!("format `{f}` is not known"), "write env, yaml, toml or json"))?,
        ),
        None => None,
    };
    let implied = format.or_else(|| Format::of(Path::new(&file)));
    let Some(fmt) = implied else {
        return Err(fail(
            format!("cannot tell the format of `{file}` from its name"),
            "add format = \"env\", \"yaml\", \"toml\" or \"json\"",
        ));
    };
    let named: Vec<(&str, &String)> = [
        ("add", &r.add),
        ("rename", &r.rename),
        ("set", &r.set),
        ("derive", &r.derive),
        ("split", &r.split),
        ("deprecate", &r.deprecate),
        ("remove", &r.remove),
        ("require", &r.require),
    ]
    .into_iter()
    .filter_map(|(n, v)| v.as_ref().map(|v| (n, v)))
    .collect();
    let (op, key) = match named.as_slice() {
        [one] => *one,
        [] => {
            return Err(fail(
                "a [[config]] change says nothing to do".into(),
                &format!("add one of {ACTIONS}, naming the key: rename = \"old\" with to = \"new\""),
            ));
        }
        many => {
            return Err(fail(
                format!(
                    "a [[config]] change does several things ({})",
                    many.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                ),
                "write one [[config]] table per change",
            ));
        }
    };
    let check_key = |k: &str| KeyPath::parse(k, fmt).map(|_| ()).map_err(|m| fail(m, "fix the key"));
    check_key(key)?;
    // Which of the other fields go with `op`.
    let allowed: &[&str] = match op {
        "add" => &["value"],
        "rename" => &["to"],
        "set" => &["value", "only_if"],
        "derive" => &["template"],
        "split" => &["into", "note"],
        "deprecate" => &["note"],
        "remove" => &[],
        _ => &["message"],
    };
    let present = [
        ("value", r.value.is_some()),
        ("to", r.to.is_some()),
        ("only_if", r.only_if.is_some()),
        ("template", r.template.is_some()),
        ("into", r.into.is_some()),
        ("note", r.note.is_some()),
        ("message", r.message.is_some()),
    ];
    if let Some((extra, _)) = present.iter().find(|(n, p)| *p && !allowed.contains(n)) {
        return Err(fail(
            format!("`{extra}` does not go with {op}"),
            &format!(
                "{op} takes {}",
                if allowed.is_empty() {
                    "only the key".to_owned()
                } else {
                    allowed.join(", ")
                }
            ),
        ));
    }
    let need = |what: &str, ok: bool, example: &str| {
        if ok {
            Ok(())
        } else {
            Err(fail(format!("{op} needs `{what}`"), &format!("for example {example}")))
        }
    };
    let value = |v: Option<toml::Value>| {
        v.map(scalar)
            .transpose()
            .map_err(|m| fail(m, "for example value = \"api\""))
    };
    let template = |t: &str| Template::parse(t).map_err(|m| fail(m, "for example template = \"https://${host}:8006\""));
    let key = key.clone();
    let action = match op {
        "add" => {
            need("value", r.value.is_some(), "value = \"/var/lib/app\"")?;
            Action::Add {
                key,
                value: value(r.value)?.unwrap_or_default(),
            }
        }
        "rename" => {
            need("to", r.to.is_some(), "to = \"new_name\"")?;
            let to = r.to.unwrap_or_default();
            check_key(&to)?;
            Action::Rename { from: key, to }
        }
        "set" => {
            need("value", r.value.is_some(), "value = \"api\"")?;
            Action::Set {
                key,
                value: value(r.value)?.unwrap_or_default(),
                only_if: value(r.only_if)?,
            }
        }
        "derive" => {
            need("template", r.template.is_some(), "template = \"https://${host}:8006\"")?;
            Action::Derive {
                key,
                template: template(&r.template.unwrap_or_default())?,
            }
        }
        "split" => {
            let into = r.into.unwrap_or_default();
            need(
                "into",
                !into.is_empty(),
                "into = { NEW_A = \"${OLD}\", NEW_B = \"default\" }",
            )?;
            let mut parts = Vec::new();
            for (k, t) in into {
                check_key(&k)?;
                parts.push((
                    k,
                    match t {
                        toml::Value::String(t) => template(&t)?,
                        other => Template::value(value(Some(other))?.unwrap_or_default()),
                    },
                ));
            }
            Action::Split {
                key,
                into: parts,
                note: r.note,
            }
        }
        "deprecate" => Action::Deprecate { key, note: r.note },
        "remove" => Action::Remove { key },
        _ => Action::Require {
            key,
            message: r.message,
        },
    };
    Ok(Change {
        file,
        format,
        action,
        source: source.to_owned(),
        line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(name: &str, text: &str) -> Document {
        let p = Path::new(name);
        Document::parse(p, Format::of(p).unwrap(), text).unwrap()
    }

    #[test]
    fn templates() {
        let d = doc("config.yaml", "proxmox_host: pve.lan\nport: 8006\nnested:\n  a: x\n");
        let t = Template::parse("https://${proxmox_host}:${port}").unwrap();
        assert_eq!(t.expand(&d).unwrap(), Value::String("https://pve.lan:8006".into()));
        assert_eq!(
            Template::parse("${port}").unwrap().expand(&d).unwrap(),
            Value::from(8006)
        );
        assert_eq!(
            Template::parse("${nested.a}-$$").unwrap().expand(&d).unwrap(),
            Value::String("x-$".into())
        );
        assert_eq!(
            Template::parse("${missing:-def}").unwrap().expand(&d).unwrap(),
            Value::String("def".into())
        );
        assert_eq!(
            Template::parse("a${missing}").unwrap().expand(&d),
            Err("missing".into())
        );
        assert!(Template::parse("${open").is_err());
        assert!(Template::parse("${}").is_err());
    }

    fn release(changes: &str) -> Result<crate::project::Release, Vec<Problem>> {
        let text = format!("version = \"2.0.0\"\n\n{changes}");
        crate::project::Release::parse(Path::new("releases/2.0.0.toml"), &text)
    }

    #[test]
    fn descriptions_hide_secrets() {
        let r = release(concat!(
            "[[config]]\nfile = \".env\"\nderive = \"READ_URL\"\ntemplate = \"postgres://app:pw1234@db/${DB}\"\n\n",
            "[[config]]\nfile = \".env\"\nderive = \"API_TOKEN\"\ntemplate = \"tok-literal\"\n\n",
            "[[config]]\nfile = \".env\"\nderive = \"API_TOKEN2\"\ntemplate = \"${API_TOKEN}\"\n\n",
            "[[config]]\nfile = \".env\"\nadd = \"DB_PASSWORD\"\nvalue = \"changeme\"\n\n",
            "[[config]]\nfile = \".env\"\nset = \"URL\"\nvalue = \"https://u:pw5678@h\"\n",
        ))
        .unwrap();
        let all: Vec<String> = r.config.iter().map(Change::describe).collect();
        assert_eq!(all[0], "derive READ_URL from postgres://app:****@db/${DB} in .env");
        assert_eq!(all[1], "derive API_TOKEN from **** in .env");
        assert_eq!(
            all[2], "derive API_TOKEN2 from ${API_TOKEN} in .env",
            "a reference is no secret"
        );
        assert_eq!(all[3], "add DB_PASSWORD (default ****) in .env");
        assert_eq!(all[4], "set URL to \"https://u:****@h\" in .env");
    }

    #[test]
    fn release_files_declare_changes_in_order() {
        let r = release(
            "[[config]]\nfile = \"config.yaml\"\nrename = \"a\"\nto = \"b\"\n\n[[config]]\nfile = \".env\"\nsplit = \"OLD\"\ninto = { Z = \"${OLD}\", A = 1 }\n",
        )
        .unwrap();
        assert_eq!(r.config.len(), 2);
        assert_eq!(r.config[0].line, 3);
        assert_eq!(r.config[1].line, 8);
        let Action::Split { into, .. } = &r.config[1].action else {
            panic!()
        };
        let names: Vec<&str> = into.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["Z", "A"], "the order written is the order applied");
        assert_eq!(r.config[0].describe(), "rename a to b in config.yaml");
    }

    #[test]
    fn mistakes_in_release_files_name_the_line_and_the_fix() {
        for (changes, line, says) in [
            ("[[config]]\nadd = \"a\"\nvalue = 1\n", 3, "names no file"),
            ("[[config]]\nfile = \"c.yaml\"\n", 3, "says nothing to do"),
            (
                "[[config]]\nfile = \"c.yaml\"\nadd = \"a\"\nremove = \"b\"\nvalue = 1\n",
                3,
                "several things",
            ),
            (
                "[[config]]\nfile = \"c.yaml\"\nrename = \"a\"\n",
                3,
                "rename needs `to`",
            ),
            ("[[config]]\nfile = \"c.yaml\"\nadd = \"a\"\n", 3, "add needs `value`"),
            (
                "[[config]]\nfile = \"c.yaml\"\nremove = \"a\"\nto = \"b\"\n",
                3,
                "`to` does not go with remove",
            ),
            (
                "[[config]]\nfile = \"c.yaml\"\nderive = \"a\"\ntemplate = \"${open\"\n",
                3,
                "never closed",
            ),
            (
                "[[config]]\nfile = \"c.yaml\"\nadd = \"a\"\nvalue = [1]\n",
                3,
                "string, number or boolean",
            ),
            (
                "[[config]]\nfile = \"c.conf\"\nremove = \"a\"\n",
                3,
                "cannot tell the format",
            ),
            (
                "[[config]]\nfile = \"c.conf\"\nformat = \"ini\"\nremove = \"a\"\n",
                3,
                "`ini` is not known",
            ),
            ("[[config]]\nfile = \"c.yaml\"\nremove = \"a..b\"\n", 3, "empty level"),
            ("[[config]]\nfile = \".env\"\nremove = \"A B\"\n", 3, "not a .env key"),
            ("[[config]]\nfile = \".env\"\nrenam = \"A\"\n", 5, "unknown field"),
        ] {
            let problems = release(changes).expect_err(changes);
            let p = &problems[0];
            assert!(p.message.contains(says), "{changes}: {}", p.message);
            assert_eq!(p.line, Some(line), "{changes}: {p:?}");
            assert!(p.help.is_some(), "{changes}: no fix offered");
        }
    }
}
