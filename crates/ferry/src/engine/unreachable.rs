//! Why a server could not be reached, read from what its driver said: the
//! server refused, the host is unknown, the attempt timed out, the server
//! is starting or full (all of which may pass, and `--wait` waits out), or
//! the password or the database name is wrong (which will not). Each with
//! what to try.
//!
//! The drivers (postgres, mysql) report these as text, not as codes ferry
//! could match; the phrases below are theirs and the operating system's.

use std::time::Duration;

use crate::url::EngineKind;

/// Why a connection failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Why {
    /// Nothing accepts connections at the host and port.
    Refused,
    /// The host name does not resolve.
    UnknownHost,
    /// The attempt timed out.
    TimedOut,
    /// The server is starting, stopping or recovering.
    Starting,
    /// The server has no connection left.
    Full,
    /// The user or password was rejected.
    BadLogin,
    /// The database does not exist.
    NoDatabase,
    /// Anything else.
    Other,
}

impl Why {
    /// Reads the driver's message.
    pub(crate) fn of(message: &str) -> Why {
        let m = message.to_ascii_lowercase();
        let has = |needles: &[&str]| needles.iter().any(|n| m.contains(n));
        if has(&[
            "password authentication failed",
            "access denied for user",
            "no password supplied",
            "authentication failed",
            "role \"",
            "1045",
        ]) {
            Why::BadLogin
        } else if has(&["does not exist", "unknown database", "1049"]) && has(&["database"]) {
            Why::NoDatabase
        } else if has(&["connection refused", "os error 111"]) {
            Why::Refused
        } else if has(&[
            "failed to lookup address",
            "name or service not known",
            "temporary failure in name resolution",
            "nodename nor servname",
            "no such host",
            "unknown host",
        ]) {
            Why::UnknownHost
        } else if has(&["timed out", "timeout"]) {
            Why::TimedOut
        } else if has(&[
            "starting up",
            "shutting down",
            "in recovery mode",
            "not yet accepting connections",
        ]) {
            Why::Starting
        } else if has(&["too many connections", "too many clients", "remaining connection slots"]) {
            Why::Full
        } else {
            Why::Other
        }
    }

    /// Whether waiting may get past it.
    pub(crate) fn may_pass(self) -> bool {
        matches!(
            self,
            Why::Refused | Why::UnknownHost | Why::TimedOut | Why::Starting | Why::Full
        )
    }

    /// In words.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Why::Refused => "the server refused the connection",
            Why::UnknownHost => "the host name is unknown",
            Why::TimedOut => "the connection timed out",
            Why::Starting => "the server is starting or shutting down",
            Why::Full => "the server has no connection slot left",
            Why::BadLogin => "the user name or password was rejected",
            Why::NoDatabase => "there is no such database",
            Why::Other => "the connection failed",
        }
    }

    fn help(self, kind: EngineKind) -> &'static str {
        match (self, kind) {
            (Why::Refused, _) => {
                "nothing listens at that host and port: start the server, or check the host and port in the URL; `--wait 2m` keeps trying while a server starts"
            }
            (Why::UnknownHost, _) => {
                "check the host name in the URL; in a container or pod, the database's service name must resolve there (`--wait 2m` keeps trying while it comes up)"
            }
            (Why::TimedOut, _) => {
                "a firewall may drop the packets, or the host may be wrong; `[database] connect_timeout` sets how long one attempt waits"
            }
            (Why::Starting | Why::Full, _) => "try again shortly; `--wait 2m` keeps trying",
            (Why::BadLogin, EngineKind::Postgres) => {
                "check the user and password in the URL (or DATABASE_URL in the environment or .env), and that pg_hba.conf lets this user in from this host"
            }
            (Why::BadLogin, _) => {
                "check the user and password in the URL (or DATABASE_URL in the environment or .env), and that the user may connect from this host"
            }
            (Why::NoDatabase, _) => "create it (CREATE DATABASE ...), or fix the database name at the end of the URL",
            (Why::Other, _) => "check the URL; -v shows more",
        }
    }
}

/// The message of a connection that failed: why, what the driver said,
/// how long ferry tried, and what to try.
pub(crate) fn explain(driver: &str, why: Why, kind: EngineKind, tries: u32, waited: Duration) -> String {
    let tried = if tries > 1 {
        format!(" (tried {tries} times over {})", crate::text::seconds(waited))
    } else {
        String::new()
    };
    let driver = driver.trim();
    if why == Why::Other {
        return format!("{driver}{tried}\n  help: {}", why.help(kind));
    }
    format!("{}: {driver}{tried}\n  help: {}", why.describe(), why.help(kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_messages_are_read() {
        for (message, why) in [
            (
                "error connecting to server: Connection refused (os error 111)",
                Why::Refused,
            ),
            (
                "error connecting to server: failed to lookup address information: Name or service not known",
                Why::UnknownHost,
            ),
            ("FATAL: password authentication failed for user \"app\"", Why::BadLogin),
            (
                "ERROR 1045 (28000): Access denied for user 'app'@'localhost' (using password: YES)",
                Why::BadLogin,
            ),
            ("FATAL: database \"shop\" does not exist", Why::NoDatabase),
            ("ERROR 1049 (42000): Unknown database 'shop'", Why::NoDatabase),
            ("FATAL: the database system is starting up", Why::Starting),
            ("timeout expired", Why::TimedOut),
            ("FATAL: sorry, too many clients already", Why::Full),
            ("something else", Why::Other),
        ] {
            assert_eq!(Why::of(message), why, "{message}");
        }
        assert!(Why::Refused.may_pass() && !Why::BadLogin.may_pass() && !Why::NoDatabase.may_pass());
    }

    #[test]
    fn the_explanation_says_why_and_what_to_try() {
        let text = explain(
            "Connection refused (os error 111)",
            Why::Refused,
            EngineKind::Postgres,
            4,
            Duration::from_secs(3),
        );
        assert!(
            text.starts_with("the server refused the connection: Connection refused"),
            "{text}"
        );
        assert!(
            text.contains("tried 4 times over 3.0s") && text.contains("help: nothing listens"),
            "{text}"
        );
    }
}
