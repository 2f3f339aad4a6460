//! Keeping secrets out of output, logs, journals and plans: passwords in
//! database URLs and connection strings, in free text that quotes them, and
//! secret config values.
//!
//! A value is secret when its key's last level ends in PASSWORD, SECRET,
//! TOKEN, KEY or CREDENTIALS (in any case: `proxmox_api_token`, `DB_PASSWORD`),
//! and the password part of a URL (`postgres://app:hunter2@db/app`) always is.
//! Text is redacted line by line: a secret key's value, every URL password,
//! and any occurrence of a secret value found in the files being shown (which
//! also covers values spread over several lines or copied under other keys).

use serde_json::Value;

const SECRET_SUFFIXES: [&str; 5] = ["PASSWORD", "SECRET", "TOKEN", "KEY", "CREDENTIALS"];

/// The mask shown instead of a secret.
pub const MASK: &str = "****";

/// Whether a key (or dotted path) names a secret.
pub fn is_secret_key(key: &str) -> bool {
    let leaf = key.rsplit('.').next().unwrap_or(key).to_ascii_uppercase();
    SECRET_SUFFIXES.iter().any(|s| leaf.ends_with(s))
}

/// Replaces the password of every `scheme://user:password@` in `text`.
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // The authority ends at the first /, whitespace or quote.
        let end = tail
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace() || "\"'`".contains(c))
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.find(':') {
                    Some(colon) => {
                        out.push_str(&userinfo[..=colon]);
                        out.push_str(MASK);
                        out.push_str(&authority[at..]);
                    }
                    None => out.push_str(authority),
                }
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

const SECRET_PARAMS: &[&str] = &["password", "pass", "pwd", "sslpassword", "secret", "token"];

/// Replaces the password of a URL (and secret-looking query parameters or
/// `key=value` connection-string fields) with `****`.
pub fn redact_url(raw: &str) -> String {
    if let Ok(mut url) = url::Url::parse(raw)
        && url.has_host()
    {
        if url.password().is_some() {
            let _ = url.set_password(Some("****"));
        }
        if url.query().is_some() {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let secret = SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str());
                    (k.into_owned(), if secret { "****".into() } else { v.into_owned() })
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        return url.to_string();
    }
    // A libpq `key=value` connection string, or text that is not a URL.
    if raw.contains('=') && !raw.contains("://") {
        return raw
            .split_whitespace()
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str()) => {
                    format!("{k}=****")
                }
                _ => kv.to_owned(),
            })
            .collect::<Vec<_>>()
            .join(" ");
    }
    // `scheme://user:password@...` that the url crate could not parse.
    if let Some((scheme, rest)) = raw.split_once("://")
        && let Some((userinfo, host)) = rest.rsplit_once('@')
        && let Some((user, _)) = userinfo.split_once(':')
    {
        return format!("{scheme}://{user}:****@{host}");
    }
    raw.to_owned()
}

/// Hides secrets in free text that may quote URLs or connection strings (a
/// tool's error output, a hook's, a check's): the password of every
/// `scheme://user:password@`, and the value of every `password=` field.
/// [`redact_url`] is for text that is one URL.
pub fn redact_text(text: &str) -> String {
    let urls = redact_urls(text);
    let mut out = String::with_capacity(urls.len());
    let mut rest = urls.as_str();
    while let Some(i) = rest.to_ascii_lowercase().find("password=") {
        let (head, tail) = rest.split_at(i + "password=".len());
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || "&;'\"".contains(c))
            .unwrap_or(tail.len());
        if end > 0 {
            out.push_str("****");
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Redacts text for display.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    values: Vec<String>,
}

impl Redactor {
    /// A redactor that also hides every secret value held in `models` (the
    /// meanings of the files being shown).
    pub fn for_models<'a>(models: impl IntoIterator<Item = &'a Value>) -> Self {
        fn walk(v: &Value, secret: bool, out: &mut Vec<String>) {
            match v {
                Value::Object(map) => {
                    for (k, v) in map {
                        walk(v, secret || is_secret_key(k), out);
                    }
                }
                Value::Array(a) => a.iter().for_each(|v| walk(v, secret, out)),
                Value::String(s) if secret => out.extend(s.lines().map(str::to_owned)),
                other if secret => out.push(other.to_string()),
                _ => {}
            }
        }
        let mut values = Vec::new();
        for m in models {
            walk(m, false, &mut values);
        }
        // Short values (`1`, `on`) would mask unrelated text; the key rule
        // still hides them where they are assigned.
        values.retain(|v| v.trim().chars().count() >= 4);
        values.iter_mut().for_each(|v| *v = v.trim().to_owned());
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        Redactor { values }
    }

    /// The same redactor, also hiding `value` wherever it appears (a
    /// database password, say). Values shorter than 4 characters are kept,
    /// as for config files.
    #[must_use]
    pub fn hiding(mut self, value: &str) -> Self {
        let v = value.trim();
        if v.chars().count() >= 4 && !self.values.iter().any(|x| x == v) {
            self.values.push(v.to_owned());
            self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
        self
    }

    /// One line of a config file (or of a diff, without its first column).
    pub fn line(&self, line: &str) -> String {
        let mut out = redact_urls(line);
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), MASK);
            }
        }
        redact_assignment(&out)
    }

    /// Every line of `text`.
    pub fn text(&self, text: &str) -> String {
        text.split_inclusive('\n')
            .map(|l| {
                let body = l.trim_end_matches(['\n', '\r']);
                format!("{}{}", self.line(body), &l[body.len()..])
            })
            .collect()
    }

    /// A unified diff: the first column (`+`, `-`, ` `) is kept.
    pub fn diff(&self, diff: &str) -> String {
        diff.split_inclusive('\n')
            .map(|l| {
                if l.starts_with("+++") || l.starts_with("---") || l.starts_with("@@") {
                    return l.to_owned();
                }
                let mut chars = l.chars();
                match chars.next() {
                    Some(c @ ('+' | '-' | ' ')) => format!("{c}{}", self.text(chars.as_str())),
                    _ => self.text(l),
                }
            })
            .collect()
    }
}

/// `KEY=value`, `key: value`, `key = value`, `"key": value`, commented out or
/// not: when the key names a secret, its value becomes `****`.
fn redact_assignment(line: &str) -> String {
    let content = line.trim_start();
    let indent = &line[..line.len() - content.len()];
    let mut body = content;
    let mut lead = String::new();
    for prefix in ["#", "//", "- ", "export "] {
        if let Some(r) = body.strip_prefix(prefix) {
            lead.push_str(&body[..prefix.len()]);
            let r2 = r.trim_start();
            lead.push_str(&r[..r.len() - r2.len()]);
            body = r2;
        }
    }
    let Some(sep) = body.find(['=', ':']) else {
        return line.to_owned();
    };
    let key = body[..sep].trim().trim_matches(['"', '\'']);
    if key.is_empty() || key.contains(char::is_whitespace) || !is_secret_key(key) {
        return line.to_owned();
    }
    let value = &body[sep + 1..];
    if value.trim().is_empty() {
        return line.to_owned();
    }
    let gap = &value[..value.len() - value.trim_start().len()];
    let comma = if value.trim_end().ends_with(',') { "," } else { "" };
    format!("{indent}{lead}{}{gap}{MASK}{comma}", &body[..=sep])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_everywhere() {
        for (raw, want) in [
            ("postgres://app:s3cret@db:5432/app", "postgres://app:****@db:5432/app"),
            (
                "mysql://root:pw@127.0.0.1/x?password=zz&ssl=1",
                "mysql://root:****@127.0.0.1/x?password=****&ssl=1",
            ),
            (
                "host=db user=app password=s3cret dbname=app",
                "host=db user=app password=**** dbname=app",
            ),
            ("postgres://app@db/app", "postgres://app@db/app"),
        ] {
            assert_eq!(redact_url(raw), want);
        }
    }

    #[test]
    fn text_keeps_its_shape_and_loses_its_secrets() {
        let t = "pg_dump: error: connection to postgres://app:s3cret@db:5432/app failed\n  host=db password=hunter2 user=app";
        assert_eq!(
            redact_text(t),
            "pg_dump: error: connection to postgres://app:****@db:5432/app failed\n  host=db password=**** user=app"
        );
        assert_eq!(redact_text("http://h/x answered 503"), "http://h/x answered 503");
    }

    #[test]
    fn secret_keys() {
        for k in [
            "DB_PASSWORD",
            "proxmox_api_token",
            "SECRET_KEY",
            "aws.credentials",
            "client_secret",
            "API_KEY",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in ["PASSWORD_MIN_LENGTH", "template_vmid", "cores", "TOKEN_TTL"] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn urls() {
        assert_eq!(
            redact_urls("DATABASE_URL=postgres://app:hunter2@db:5432/app?sslmode=require"),
            "DATABASE_URL=postgres://app:****@db:5432/app?sslmode=require"
        );
        assert_eq!(
            redact_urls("url: https://pve.lan:8006/api"),
            "url: https://pve.lan:8006/api"
        );
        assert_eq!(
            redact_urls("a http://u@h b https://x:y@z"),
            "a http://u@h b https://x:****@z"
        );
    }

    #[test]
    fn lines_of_every_format() {
        let r = Redactor::default();
        assert_eq!(r.line("DB_PASSWORD=hunter2"), "DB_PASSWORD=****");
        assert_eq!(r.line("export API_KEY='abc def'  # note"), "export API_KEY=****");
        assert_eq!(
            r.line("  proxmox_api_token: root@pam!x=uuid"),
            "  proxmox_api_token: ****"
        );
        assert_eq!(r.line("secret_key = \"s\""), "secret_key = ****");
        assert_eq!(r.line("  \"apiToken\": \"t\","), "  \"apiToken\": ****,");
        assert_eq!(r.line("# SECRET_KEY=s3cr (deprecated in 2.0.0)"), "# SECRET_KEY=****");
        assert_eq!(r.line("cores: 4"), "cores: 4");
        assert_eq!(r.line("# a comment: with a colon"), "# a comment: with a colon");
    }

    #[test]
    fn values_found_anywhere() {
        let model = serde_json::json!({"auth": {"token": "multi\nline-secret-value"}, "plain": "x"});
        let r = Redactor::for_models([&model]);
        assert_eq!(r.line("copied: line-secret-value"), "copied: ****");
        assert_eq!(
            r.diff("-  token: |\n-    line-secret-value\n+plain: x\n"),
            "-  token: ****\n-    ****\n+plain: x\n"
        );
    }
}
