//! `CREATE INDEX CONCURRENTLY`: a PostgreSQL statement that, when it fails,
//! leaves its index behind marked INVALID (never used, yet kept up to date
//! on every write). This finds the index a statement names.

/// The name of the index `stmt` builds concurrently, as written (schema
/// and quotes removed), when it names one.
pub fn concurrent_index(stmt: &str) -> Option<String> {
    let words: Vec<&str> = stmt.split_whitespace().take(9).collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let mut i = 0;
    let mut expect = |word: &str, optional: bool| {
        if upper.get(i).map(String::as_str) == Some(word) {
            i += 1;
            true
        } else {
            optional
        }
    };
    if !(expect("CREATE", false) && expect("UNIQUE", true) && expect("INDEX", false) && expect("CONCURRENTLY", false)) {
        return None;
    }
    if upper.get(i).map(String::as_str) == Some("IF") {
        i += 3; // IF NOT EXISTS
    }
    let name = *words.get(i)?;
    if name.eq_ignore_ascii_case("ON") {
        return None; // unnamed: PostgreSQL picks the name
    }
    let name = name.rsplit('.').next().unwrap_or(name);
    Some(match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => name.to_ascii_lowercase(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_named_index() {
        assert_eq!(
            concurrent_index("CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_Tasks ON tasks (status)").as_deref(),
            Some("idx_tasks")
        );
        assert_eq!(
            concurrent_index("create unique index concurrently app.\"Big\" on t (x)").as_deref(),
            Some("Big")
        );
        assert_eq!(concurrent_index("CREATE INDEX CONCURRENTLY ON t (x)"), None);
        assert_eq!(concurrent_index("CREATE INDEX i ON t (x)"), None);
    }
}
