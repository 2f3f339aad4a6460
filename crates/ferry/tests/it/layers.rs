//! The layers stay: every top-level module of the library and of the CLI
//! is placed in a layer of ARCHITECTURE.md's tables, names no module of a
//! higher layer, and no modules form a cycle. Read from each module's own
//! `crate::` paths (`use crate::{a, b}` groups included), tests left out,
//! as a reader of the code would see them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A table of ARCHITECTURE.md: the rows under `heading`, as module → layer.
fn layers(heading: &str) -> BTreeMap<String, usize> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let section = text
        .split("\n## ")
        .find(|s| s.starts_with(heading))
        .unwrap_or_else(|| panic!("ARCHITECTURE.md has no section `## {heading}`"));
    let mut out = BTreeMap::new();
    for line in section.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | layer | modules | what they hold |
        let Some(layer) = cells.get(1).and_then(|c| c.parse::<usize>().ok()) else {
            continue;
        };
        for module in cells[2].split_whitespace() {
            let module = module.trim_matches('`');
            assert!(
                out.insert(module.to_owned(), layer).is_none(),
                "ARCHITECTURE.md places `{module}` in two layers under `{heading}`"
            );
        }
    }
    assert!(!out.is_empty(), "the table under `{heading}` names no module");
    out
}

/// The top-level module a file belongs to (`lib`/`main` for the root).
fn top_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("inside src");
    let first = rel.components().next().expect("a component");
    first.as_os_str().to_string_lossy().trim_end_matches(".rs").to_owned()
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `text` without comments and without `#[cfg(test)] mod ... { }` blocks.
fn strip(text: &str) -> String {
    let mut no_comments = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("//") {
            rest = r.find('\n').map_or("", |i| &r[i..]);
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.find("*/").map_or("", |i| &r[i + 2..]);
        } else if let Some(r) = rest.strip_prefix('\'')
            && let Some(len) = char_literal(r)
        {
            no_comments.push_str("' '");
            rest = &r[len..];
        } else if let Some(r) = rest.strip_prefix("r#\"") {
            rest = r.find("\"#").map_or("", |i| &r[i + 2..]);
            no_comments.push_str("\"\"");
        } else if rest.starts_with('"') {
            // Skip a string literal, so `"//"` or `"crate::x"` in one is not code.
            let bytes = rest.as_bytes();
            let mut i = 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            no_comments.push_str("\"\"");
            rest = rest.get(i + 1..).unwrap_or("");
        } else {
            let c = rest.chars().next().expect("a char");
            no_comments.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    let mut out = String::new();
    let mut rest = no_comments.as_str();
    while let Some(i) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..i]);
        let after = rest[i + "#[cfg(test)]".len()..].trim_start();
        if after.starts_with("mod ")
            && let Some(open) = after.find('{')
        {
            let mut depth = 0usize;
            let mut end = after.len();
            for (j, c) in after[open..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = open + j + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            rest = &after[end..];
        } else {
            out.push_str("#[cfg(test)]");
            rest = &rest[i + "#[cfg(test)]".len()..];
        }
    }
    out.push_str(rest);
    out
}

/// The length of a char literal's rest after its opening `'` (`x'`,
/// `\n'`, `\''`, `\u{1F600}'`); `None` for a lifetime.
fn char_literal(r: &str) -> Option<usize> {
    let mut chars = r.char_indices();
    let (_, first) = chars.next()?;
    if first == '\\' {
        let close = r[1..].find('\'')?;
        // `'\''`: the quote right after the backslash is the character.
        let close = if close == 0 {
            1 + r[2..].find('\'')? + 1
        } else {
            close + 1
        };
        return Some(close + 1);
    }
    let (i, second) = chars.next()?;
    (second == '\'').then_some(i + 1)
}

/// The top-level modules `text` names through `crate::`.
fn named(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String { s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect() };
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            // Only the first segment of each item of the group.
            let mut depth = 0;
            let mut item_start = true;
            for (j, c) in group[..end].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => {
                        out.insert(ident(&group[j..]));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out
}

/// Module → the other top-level modules it names.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut all = Vec::new();
    files(src, &mut all);
    let modules: BTreeSet<String> = all
        .iter()
        .map(|f| top_of(src, f))
        .filter(|m| m != "lib" && m != "main")
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = modules.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    for f in &all {
        let from = top_of(src, f);
        if from == "lib" || from == "main" {
            continue;
        }
        let text = std::fs::read_to_string(f).expect("read a source file");
        for to in named(&strip(&text)) {
            if to != from && modules.contains(&to) {
                edges.get_mut(&from).expect("a module").insert(to);
            }
        }
    }
    edges
}

/// A cycle among `edges`, if there is one, as the modules on it.
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(m).copied() {
            Some(2) => return None,
            Some(1) => {
                let start = path.iter().position(|p| p == m).unwrap_or(0);
                return Some(path[start..].to_vec());
            }
            _ => {}
        }
        state.insert(m.to_owned(), 1);
        path.push(m.to_owned());
        for to in edges.get(m).into_iter().flatten() {
            if let Some(c) = visit(to, edges, state, path) {
                return Some(c);
            }
        }
        path.pop();
        state.insert(m.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in edges.keys() {
        if let Some(c) = visit(m, edges, &mut state, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

fn check(crate_dir: &str, heading: &str) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(crate_dir)
        .join("src");
    let table = layers(heading);
    let edges = graph(&src);
    let mut problems = Vec::new();
    for m in edges.keys() {
        if !table.contains_key(m) {
            problems.push(format!(
                "`{m}` is in no layer: add it to the table under `## {heading}` in ARCHITECTURE.md"
            ));
        }
    }
    for m in table.keys() {
        if !edges.contains_key(m) {
            problems.push(format!(
                "ARCHITECTURE.md names `{m}` under `## {heading}`, and {crate_dir} has no such module"
            ));
        }
    }
    for (from, tos) in &edges {
        for to in tos {
            if let (Some(a), Some(b)) = (table.get(from), table.get(to))
                && b > a
            {
                problems.push(format!(
                    "`{from}` (layer {a}) names `{to}` (layer {b}), a layer above it"
                ));
            }
        }
    }
    if let Some(c) = cycle(&edges) {
        problems.push(format!("these modules form a cycle: {}", c.join(" -> ")));
    }
    assert!(problems.is_empty(), "{crate_dir}:\n  {}", problems.join("\n  "));
}

#[test]
fn the_library_imports_only_downward() {
    check("ferry", "The library's layers");
}

#[test]
fn the_cli_imports_only_downward() {
    check("ferry-cli", "The CLI's layers");
}

/// The check itself: an upward import and a cycle are caught.
#[test]
fn an_upward_import_or_a_cycle_is_found() {
    let text = "use crate::{a, b::{c, d}};\nfn f() { crate::e::g(); x::crate::h(); let q = '\"'; let s = \"crate::s\"; }\n// crate::comment\n#[cfg(test)]\nmod tests { use crate::t; }\nfn g<'a>(x: &'a str) { crate::f::x(); }\n";
    let names = named(&strip(text));
    assert_eq!(names, ["a", "b", "e", "f"].iter().map(|s| s.to_string()).collect());
    let mut edges = BTreeMap::new();
    edges.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    edges.insert("b".to_owned(), BTreeSet::from(["c".to_owned()]));
    edges.insert("c".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert_eq!(cycle(&edges).map(|c| c.len()), Some(3));
    edges.insert("c".to_owned(), BTreeSet::new());
    assert_eq!(cycle(&edges), None);
}
