//! What checks look at outside the database: HTTP endpoints, TCP ports,
//! commands, free disk space, and Redis's version.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::redact::redact_url;

/// Connects to `address` (`host:port`) within `timeout`.
pub(crate) fn tcp(address: &str, timeout: Duration) -> Result<String, String> {
    let start = Instant::now();
    let addrs: Vec<_> = address
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {address}: {e}"))?
        .collect();
    let mut last = format!("{address} has no address");
    for a in addrs {
        let left = timeout.saturating_sub(start.elapsed());
        if left.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(&a, left) {
            Ok(_) => return Ok(format!("{address} accepts connections")),
            Err(e) => last = format!("{address}: {e}"),
        }
    }
    Err(last)
}

/// What an HTTP check wants of a response.
pub(crate) struct HttpWant<'a> {
    pub head: bool,
    pub status: Option<u16>,
    pub contains: Option<&'a str>,
    pub json: Option<(&'a str, &'a str)>,
}

/// An HTTP client whose requests end within `timeout` and whose error
/// statuses are answers to look at, not errors: for checks and the watch.
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into()
}

/// One try of an HTTP request; `Ok` when the response is what is wanted.
fn http_once(url: &str, want: &HttpWant<'_>, timeout: Duration) -> Result<String, String> {
    let agent = agent(timeout);
    let shown = redact_url(url);
    let response = if want.head {
        agent.head(url).call()
    } else {
        agent.get(url).call()
    };
    let mut response = response.map_err(|e| crate::redact::redact_text(&format!("{shown}: {e}")))?;
    let status = response.status().as_u16();
    let status_ok = match want.status {
        Some(s) => status == s,
        None => (200..300).contains(&status),
    };
    if !status_ok {
        return Err(format!(
            "{shown} answered {status}, not {}",
            want.status.map_or("2xx".to_owned(), |s| s.to_string())
        ));
    }
    if want.contains.is_none() && want.json.is_none() {
        return Ok(format!("{shown} answered {status}"));
    }
    let body = response
        .body_mut()
        .with_config()
        .limit(10 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| format!("{shown}: cannot read the body: {e}"))?;
    if let Some(text) = want.contains
        && !body.contains(text)
    {
        return Err(format!("{shown} answered {status} without {text:?} in its body"));
    }
    if let Some((pointer, value)) = want.json {
        let json: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| format!("{shown}: the body is not JSON: {e}"))?;
        let found = json
            .pointer(pointer)
            .ok_or_else(|| format!("{shown}: no {pointer} in the JSON body"))?;
        let found = match found {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if found != value {
            return Err(format!("{shown}: {pointer} is {found:?}, not {value:?}"));
        }
    }
    Ok(format!("{shown} answered {status} as wanted"))
}

/// An HTTP check: `retries` more tries, `delay` apart, each within `timeout`.
pub(crate) fn http(
    url: &str,
    want: &HttpWant<'_>,
    retries: u32,
    delay: Duration,
    timeout: Duration,
) -> Result<String, String> {
    let mut last = String::new();
    for attempt in 0..=retries {
        if attempt > 0 {
            std::thread::sleep(delay);
        }
        match http_once(url, want, timeout) {
            Ok(detail) if attempt == 0 => return Ok(detail),
            Ok(detail) => return Ok(format!("{detail} (try {} of {})", attempt + 1, retries + 1)),
            Err(e) => last = e,
        }
    }
    Err(if retries > 0 {
        format!("{last} (after {} tries)", retries + 1)
    } else {
        last
    })
}

/// Free bytes for an unprivileged user on the volume holding `path` (or
/// the nearest folder above it that exists).
pub(crate) fn free_bytes(path: &Path) -> Result<u64, String> {
    let mut p = path;
    while !p.exists() {
        p = p.parent().ok_or_else(|| format!("{} does not exist", path.display()))?;
    }
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
    // statvfs(3): no crate in the tree says how much space is free without
    // pulling a system-information library in for one number.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid C string and `s` a statvfs to fill.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut s) };
    if rc != 0 {
        return Err(format!(
            "cannot read free space of {}: {}",
            p.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(s.f_bavail as u64 * s.f_frsize as u64)
}

/// Redis's version, from `INFO server` at a `redis://[user:password@]host:port`
/// URL. Two commands of Redis's protocol (AUTH when the URL has a password,
/// then INFO) are all it takes, so no client library is pulled in for them.
pub(crate) fn redis_version(url: &str, timeout: Duration) -> Result<String, String> {
    let shown = redact_url(url);
    let u = url::Url::parse(url).map_err(|e| format!("{shown}: {e}"))?;
    if u.scheme() == "rediss" {
        return Err(format!("{shown}: TLS to Redis is not supported; give a redis:// URL"));
    }
    let host = u.host_str().unwrap_or("127.0.0.1");
    let port = u.port().unwrap_or(6379);
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("{shown}: {e}"))?
        .next()
        .ok_or_else(|| format!("{shown}: no address"))?;
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("{shown}: {e}"))?;
    s.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(s.try_clone().map_err(|e| e.to_string())?);
    let arg = |a: &str| format!("${}\r\n{a}\r\n", a.len());
    if let Some(pw) = u.password() {
        let pw = percent_encoding::percent_decode_str(pw)
            .decode_utf8_lossy()
            .into_owned();
        let user = u.username();
        let cmd = if user.is_empty() || user == "default" {
            format!("*2\r\n{}{}", arg("AUTH"), arg(&pw))
        } else {
            format!("*3\r\n{}{}{}", arg("AUTH"), arg(user), arg(&pw))
        };
        s.write_all(cmd.as_bytes()).map_err(|e| format!("{shown}: {e}"))?;
        let mut line = String::new();
        reader.read_line(&mut line).map_err(|e| format!("{shown}: {e}"))?;
        if !line.starts_with('+') {
            return Err(format!("{shown}: AUTH refused: {}", line.trim()));
        }
    }
    s.write_all(format!("*2\r\n{}{}", arg("INFO"), arg("server")).as_bytes())
        .map_err(|e| format!("{shown}: {e}"))?;
    let mut head = String::new();
    reader.read_line(&mut head).map_err(|e| format!("{shown}: {e}"))?;
    let len: usize = head
        .strip_prefix('$')
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("{shown}: unexpected answer to INFO: {}", head.trim()))?;
    let mut body = vec![0; len];
    reader.read_exact(&mut body).map_err(|e| format!("{shown}: {e}"))?;
    String::from_utf8_lossy(&body)
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:").map(|v| v.trim().to_owned()))
        .ok_or_else(|| format!("{shown}: INFO server names no redis_version"))
}

/// The first version-looking number in `text`: `15.19` in `15.19 (Debian
/// 15.19-0+deb12u1)`, `3.11.7` in `Python 3.11.7`.
pub(crate) fn version_in(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            let start = i;
            while i < b.len()
                && (b[i].is_ascii_digit() || (b[i] == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)))
            {
                i += 1;
            }
            return Some(text[start..i].to_owned());
        }
        i += 1;
    }
    None
}

/// Compares dotted versions number by number (`15.19` > `13`).
pub(crate) fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |s: &str| -> Vec<u64> { s.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    let (a, b) = (parts(a), parts(b));
    for i in 0..a.len().max(b.len()) {
        let o = a.get(i).copied().unwrap_or(0).cmp(&b.get(i).copied().unwrap_or(0));
        if o.is_ne() {
            return o;
        }
    }
    std::cmp::Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_found_and_compared_as_numbers() {
        assert_eq!(version_in("15.19 (Debian 15.19-0+deb12u1)").as_deref(), Some("15.19"));
        assert_eq!(version_in("Python 3.11.7\n").as_deref(), Some("3.11.7"));
        assert_eq!(version_in("10.11.19-MariaDB").as_deref(), Some("10.11.19"));
        assert_eq!(version_in("v2 x").as_deref(), None, "v2 is part of a word");
        assert!(version_cmp("15.19", "13").is_gt() && version_cmp("6.2", "6.2.0").is_eq());
        assert!(version_cmp("7.0.15", "7.2").is_lt());
    }

    #[test]
    fn free_space_is_read() {
        assert!(free_bytes(Path::new("/tmp/no/such/place")).unwrap() > 0);
    }
}
