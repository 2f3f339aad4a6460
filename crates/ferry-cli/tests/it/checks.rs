//! Checks, each kind passing and failing against the real thing: the
//! databases, this machine's Redis, an HTTP server and a port the test
//! opens, commands, the disk; scoping by `when` and `since`; values
//! compared across an upgrade; timeouts; exit codes; redaction.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use ferry_testkit::{Kind, per_engine};

use crate::support::{Proj, Server, items_project, stderr, stdout};

/// A project at release 1.0.0 with the given checks in ferry.toml.
fn project_with(kind: Kind, extra: &str) -> Proj {
    items_project(kind, extra)
}

fn check_json(p: &Proj, args: &[&str]) -> (i32, serde_json::Value) {
    let out = p.ferry().arg("check").args(args).arg("--json").output().unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}{}", stdout(&out), stderr(&out)));
    (out.status.code().unwrap_or(-1), v)
}

/// (name, status) of each post check.
fn statuses(v: &serde_json::Value, phase: &str) -> Vec<(String, String)> {
    v[phase]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn sql_checks_on_the_live_database(kind: Kind) {
    let p = project_with(
        kind,
        "[[checks]]\nname = \"three items\"\nsql = \"SELECT count(*) FROM items\"\nexpect = 3\n\n[[checks]]\nname = \"priorities in range\"\nsql = \"SELECT max(priority) FROM items\"\nexpect = \"between 1 and 5\"\n\n[[checks]]\nname = \"at least ten\"\nseverity = \"warning\"\nsql = \"SELECT count(*) FROM items\"\nexpect = \">= 10\"\n",
    );
    let (code, v) = check_json(&p, &["--post"]);
    assert_eq!(code, 0, "a warning does not fail: {v}");
    assert_eq!(
        statuses(&v, "post"),
        vec![
            ("three items".into(), "passed".into()),
            ("priorities in range".into(), "passed".into()),
            ("at least ten".into(), "failed".into())
        ]
    );
    p.db.exec("INSERT INTO items (id, priority) VALUES (4, 9)");
    let (code, v) = check_json(&p, &["--post"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["post"][0]["detail"], "expected 3, got 4");
    assert_eq!(v["post"][1]["detail"], "expected between 1 and 5, got 9");
    // --skip-errors lets an error through, and says so.
    let (code, v) = check_json(
        &p,
        &[
            "--post",
            "--skip-errors",
            "three items",
            "--skip-errors",
            "priorities in range",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["post"][0]["detail"], "skipped with --skip-errors");
    // --skip does not skip an error check.
    let (code, _) = check_json(&p, &["--post", "--skip", "three items"]);
    assert_eq!(code, 1);
}

#[test]
fn http_checks_status_body_json_retries_and_timeouts() {
    let s = Server::start();
    let p = project_with(
        Kind::Sqlite,
        &format!(
            "[[checks]]\nname = \"healthy\"\nhttp = \"{}\"\njson = \"/status\"\nvalue = \"ok\"\n\n[[checks]]\nname = \"body\"\nhttp = \"{}\"\ncontains = \"latency_ms\"\n\n[[checks]]\nname = \"down\"\nhttp = \"{}\"\n\n[[checks]]\nname = \"down is expected\"\nhttp = \"{}\"\nstatus = 503\n\n[[checks]]\nname = \"starting up\"\nhttp = \"{}\"\nretries = 3\ndelay = \"100ms\"\n\n[[checks]]\nname = \"never answers\"\nhttp = \"{}\"\ntimeout = \"1s\"\n\n[[checks]]\nname = \"wrong value\"\nhttp = \"{}\"\njson = \"/db/latency_ms\"\nvalue = \"1\"\n",
            s.url("/health"),
            s.url("/health"),
            s.url("/down"),
            s.url("/down"),
            s.url("/flaky"),
            s.url("/slow"),
            s.url("/health"),
        ),
    );
    let start = Instant::now();
    let (code, v) = check_json(&p, &["--post"]);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "the timeout ended the slow one: {:?}",
        start.elapsed()
    );
    assert_eq!(code, 1);
    let got = statuses(&v, "post");
    let want: Vec<(String, String)> = [
        ("healthy", "passed"),
        ("body", "passed"),
        ("down", "failed"),
        ("down is expected", "passed"),
        ("starting up", "passed"),
        ("never answers", "failed"),
        ("wrong value", "failed"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want, "{v}");
    assert!(
        v["post"][2]["detail"]
            .as_str()
            .unwrap()
            .contains("answered 503, not 2xx"),
        "{v}"
    );
    assert!(v["post"][4]["detail"].as_str().unwrap().contains("(try 3 of 4)"), "{v}");
    assert!(
        v["post"][6]["detail"]
            .as_str()
            .unwrap()
            .contains("/db/latency_ms is \"3\", not \"1\""),
        "{v}"
    );
}

#[test]
fn tcp_command_and_disk_checks() {
    let open = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let p = project_with(
        Kind::Sqlite,
        &format!(
            "[[checks]]\nname = \"port open\"\ntcp = \"{}\"\n\n[[checks]]\nname = \"port closed\"\ntcp = \"127.0.0.1:{closed}\"\ntimeout = \"1s\"\n\n[[checks]]\nname = \"script ok\"\ncommand = [\"sh\", \"-c\", \"echo all good\"]\ncontains = \"good\"\n\n[[checks]]\nname = \"script fails\"\ncommand = \"echo broken >&2; exit 3\"\n\n[[checks]]\nname = \"script hangs\"\ncommand = \"sleep 30\"\ntimeout = \"500ms\"\n\n[[checks]]\nname = \"room for a backup\"\ndisk = \".\"\nfree = \"1.5x database\"\n\n[[checks]]\nname = \"a petabyte\"\ndisk = \".\"\nfree = \"1000000GiB\"\n",
            open.local_addr().unwrap()
        ),
    );
    let start = Instant::now();
    let (_, v) = check_json(&p, &["--post"]);
    assert!(start.elapsed() < Duration::from_secs(8), "{:?}", start.elapsed());
    let got: Vec<String> = statuses(&v, "post").into_iter().map(|(_, s)| s).collect();
    assert_eq!(
        got,
        ["passed", "failed", "passed", "failed", "failed", "passed", "failed"],
        "{v}"
    );
    assert!(
        v["post"][3]["detail"]
            .as_str()
            .unwrap()
            .contains("exit status 3: broken"),
        "{v}"
    );
    assert!(
        v["post"][4]["detail"]
            .as_str()
            .unwrap()
            .contains("did not finish within 0.5s"),
        "{v}"
    );
}

#[test]
fn component_requirements_are_checked_for_real() {
    let p = project_with(
        Kind::Postgres,
        "[components.redis]\nurl = \"redis://127.0.0.1:6379\"\n\n[components.shell]\ncommand = [\"sh\", \"-c\", \"echo sh 5.2.15\"]\n",
    );
    p.write(
        "releases/2.0.0.toml",
        "version = \"2.0.0\"\nschema = 1\n\n[requires]\npostgresql = { min = \"13\", recommended = \"99\" }\nredis = { min = \"6.2\" }\nshell = { min = \"9\" }\npython = { min = \"3.10\" }\n",
    );
    let (code, v) = check_json(&p, &["--pre"]);
    assert_eq!(code, 1, "shell 5.2.15 is older than 9: {v}");
    let pre = v["pre"].as_array().unwrap();
    let by = |n: &str| {
        pre.iter()
            .find(|c| c["name"].as_str().unwrap().starts_with(n))
            .unwrap()
            .clone()
    };
    assert_eq!(by("postgresql")["status"], "failed");
    assert_eq!(
        by("postgresql")["severity"],
        "warning",
        "below recommended only warns: {v}"
    );
    assert_eq!(by("redis")["status"], "passed", "{v}");
    assert!(
        by("redis")["value"].as_str().unwrap().starts_with('7')
            || by("redis")["value"].as_str().unwrap().starts_with('6')
    );
    assert_eq!(by("shell")["status"], "failed");
    assert_eq!(by("shell")["severity"], "error");
    assert_eq!(by("python")["status"], "skipped", "no way to ask: {v}");
    // A requirement the server does not meet.
    p.write(
        "releases/2.0.0.toml",
        "version = \"2.0.0\"\nschema = 1\n\n[requires]\nredis = { min = \"99\" }\n",
    );
    let (code, v) = check_json(&p, &["--pre"]);
    assert_eq!(code, 1);
    assert!(
        v["pre"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("is older than 99, the minimum"),
        "{v}"
    );
    // ferry plan says so at once for the database it is connected to.
    p.write(
        "releases/2.0.0.toml",
        "version = \"2.0.0\"\nschema = 1\n\n[requires]\npostgresql = { min = \"99\" }\n",
    );
    let out = p.ferry().arg("plan").output().unwrap();
    assert!(
        stderr(&out).contains("warning: 2.0.0 needs postgresql >= 99"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn when_and_since_scope_checks() {
    let p = project_with(
        Kind::Sqlite,
        "[[checks]]\nname = \"always\"\nsql = \"SELECT 1\"\n\n[[checks]]\nname = \"after only\"\nwhen = [\"post\"]\nsql = \"SELECT 1\"\n\n[[checks]]\nname = \"before only\"\nwhen = \"pre\"\nsql = \"SELECT 1\"\n\n[[checks]]\nname = \"from 2.0.0\"\nsince = \"2.0.0\"\nsql = \"SELECT tenant_id FROM items\"\n",
    );
    p.write("releases/2.0.0.toml", "version = \"2.0.0\"\nschema = 1\n");
    let (code, v) = check_json(&p, &[]);
    assert_eq!(code, 0, "{v}");
    let names = |phase: &str| statuses(&v, phase).into_iter().map(|(n, _)| n).collect::<Vec<_>>();
    assert_eq!(
        names("post"),
        ["always", "after only"],
        "1.0.0 is installed: nothing since 2.0.0"
    );
    assert_eq!(
        names("pre"),
        ["always", "before only"],
        "before 2.0.0, the database is at 1.0.0"
    );
    // In the run, the post checks of the hop to 2.0.0 include the new one, which fails here.
    let out = p.ferry().args(["upgrade", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("check `from 2.0.0` failed"), "{}", stderr(&out));
}

/// An upgrade measures before and compares after: a lost row and a wrong
/// mapping (OctoLLM's priority rescale, 1-5 to 2-10) are caught and rolled back.
fn compare_checks_catch_a_lost_row_and_a_wrong_mapping(kind: Kind) {
    let checks = "[[checks]]\nname = \"no item lost\"\nsql = \"SELECT count(*) FROM items\"\ncompare = \"unchanged\"\n\n[[checks]]\nname = \"priorities rescaled\"\nsql = \"SELECT DISTINCT priority FROM items\"\ncompare = \"same_set\"\nmap = { 1 = 2, 2 = 4, 3 = 6, 4 = 8, 5 = 10 }\n";
    for (migration, fails) in [
        ("UPDATE items SET priority = priority * 2;\n", None),
        (
            "UPDATE items SET priority = priority * 2;\nDELETE FROM items WHERE id = 3;\n",
            Some("no item lost"),
        ),
        (
            "UPDATE items SET priority = priority + 1;\n",
            Some("priorities rescaled"),
        ),
    ] {
        let p = project_with(kind, checks);
        p.write("migrations/0002_rescale.up.sql", migration);
        p.write("releases/1.1.0.toml", "version = \"1.1.0\"\nschema = 2\n");
        let before = p.db.digest();
        let out = p.ferry().args(["upgrade", "--yes", "--json"]).output().unwrap();
        match fails {
            None => assert!(out.status.success(), "{}", stderr(&out)),
            Some(name) => {
                assert_eq!(out.status.code(), Some(1), "{migration}");
                let err = stderr(&out);
                assert!(err.contains(&format!("check `{name}` failed")), "{err}");
                // Migration 2 has no down script: the run's backup undoes it.
                assert_eq!(p.db.digest(), before, "{migration}: rolled back");
            }
        }
    }
}

per_engine!(
    sql_checks_on_the_live_database,
    compare_checks_catch_a_lost_row_and_a_wrong_mapping,
);

#[test]
fn secrets_in_check_urls_and_output_are_hidden() {
    let s = Server::start();
    let url = s.url("/down").replacen("http://", "http://admin:pw-71c0ffee@", 1);
    let p = project_with(
        Kind::Sqlite,
        &format!(
            "[[checks]]\nname = \"with a password\"\nhttp = \"{url}\"\n\n[[checks]]\nname = \"prints a secret\"\ncommand = \"echo connecting to postgres://app:pw-71c0ffee@db/app; exit 1\"\n"
        ),
    );
    let out = p.ferry().args(["check", "--post"]).output().unwrap();
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(1));
    assert!(!all.contains("pw-71c0ffee"), "{all}");
    assert!(all.contains("admin:****@") && all.contains("app:****@db"), "{all}");
}
