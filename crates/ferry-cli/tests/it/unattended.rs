//! Operating ferry unattended (a CI job, a container, a Kubernetes Job):
//! SIGTERM stops a run at a safe point, `--wait` waits for a database that
//! is coming up, unreachable servers say why, failures are JSON under
//! `--json`, logs are JSON lines, ferry.toml is found from below, `.env`
//! fills `${VAR:-default}`, and every command that writes names its
//! database.

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use ferry_testkit::{Kind, TestDb};

use crate::support::{stderr, stdout};
use crate::upgrade::Fixture;

/// SIGTERM during a step lets the step finish, journals the stop and
/// exits as the signal would; the next process (a fresh copy, as the next
/// pod) resumes the run to the end an unbroken run reaches.
#[test]
fn sigterm_stops_an_upgrade_at_the_next_safe_point() {
    let unbroken = Fixture::new(Kind::Postgres);
    unbroken.ok(&["upgrade", "--yes"]);
    let done = unbroken.state();

    let f = Fixture::new(Kind::Postgres);
    // A slow hook keeps the first hop's before-hooks step at work.
    f.write(
        "releases/1.1.0.toml",
        &std::fs::read_to_string(f.path().join("releases/1.1.0.toml"))
            .unwrap()
            .replace(
                "[[config]]",
                "[[hooks]]\nwhen = \"before\"\nrun = \"sleep 2; echo slept >> hooks.log\"\n\n[[config]]",
            ),
    );
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ferry"))
        .args(["upgrade", "--yes"])
        .current_dir(f.path())
        .env_remove("DATABASE_URL")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the hooks step has started (the first hook wrote its line).
    let start = Instant::now();
    while !f.hooks_log().contains("before 1.0.0 1.1.0") {
        assert!(start.elapsed() < Duration::from_secs(30), "the hook never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(status.code(), Some(143), "{err}");
    assert!(
        f.hooks_log().contains("slept"),
        "the step at work finished: {}",
        f.hooks_log()
    );
    assert!(
        err.contains("stopped before hop 1 of 2, backup, as signal 15 asked") && err.contains("--resume"),
        "{err}"
    );
    let journal = f.journals();
    let last = journal.lines().last().unwrap();
    assert!(
        last.contains("\"event\":\"stopped\"") && last.contains("\"signal\":15"),
        "{journal}"
    );
    let out = f.run(&["runs", "last", "--json"]);
    assert_eq!(out.status.code(), Some(1), "an unfinished run is a problem");
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(run["stopped"], 15, "{run}");

    // The next pod: a fresh copy of the project, the same database and files.
    let next = tempfile::tempdir().unwrap();
    for rel in [
        "ferry.toml",
        "releases/1.0.0.toml",
        "releases/1.1.0.toml",
        "releases/1.2.0.toml",
    ] {
        std::fs::create_dir_all(next.path().join(rel).parent().unwrap()).unwrap();
        std::fs::copy(f.path().join(rel), next.path().join(rel)).unwrap();
    }
    copy_dir(&f.path().join("migrations"), &next.path().join("migrations"));
    let toml = std::fs::read_to_string(next.path().join("ferry.toml"))
        .unwrap()
        .replace(
            "[config]\ndir = \".\"",
            &format!("[config]\ndir = \"{}\"", f.path().display()),
        )
        .replace(
            "[backup]\n",
            &format!("[backup]\ndir = \"{}\"\n", f.path().join(".ferry/backups").display()),
        );
    std::fs::write(next.path().join("ferry.toml"), toml).unwrap();
    let out = crate::support::ferry()
        .current_dir(next.path())
        .args(["upgrade", "--resume"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(f.state(), done, "resumed: as an unbroken run ends");
    assert_eq!(
        f.hooks_log().matches("before 1.0.0 1.1.0").count(),
        1,
        "the step done before the stop is not run again"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// `--wait` keeps trying while nothing listens, and connects once the
/// server is there: a forwarder to this machine's PostgreSQL starts on a
/// free port a second and a half after ferry does.
#[test]
fn wait_connects_once_the_server_comes_up() {
    let db = TestDb::new(Kind::Postgres);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = db.url.replacen("127.0.0.1:5432", &format!("127.0.0.1:{port}"), 1);
    assert_ne!(url, db.url, "the test server's URL names 127.0.0.1:5432");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ferry.toml"), format!("[database]\nurl = \"{url}\"\n")).unwrap();
    std::fs::create_dir(dir.path().join("migrations")).unwrap();
    std::fs::write(
        dir.path().join("migrations/0001_a.up.sql"),
        "CREATE TABLE a (id INT);\n",
    )
    .unwrap();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        forward(port, 5432);
    });
    let out = crate::support::ferry()
        .current_dir(dir.path())
        .args(["--wait", "20s", "db", "migrate"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the server refused the connection); trying again"),
        "{}",
        stderr(&out)
    );
    assert!(db.tables().contains(&"a".to_owned()));
}

/// Forwards connections from `from` to `to` on 127.0.0.1, forever.
fn forward(from: u16, to: u16) {
    let listener = std::net::TcpListener::bind(("127.0.0.1", from)).unwrap();
    for client in listener.incoming().flatten() {
        let server = std::net::TcpStream::connect(("127.0.0.1", to)).unwrap();
        let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
        let (mut c1, mut s1) = (client, server);
        std::thread::spawn(move || std::io::copy(&mut c1, &mut s1));
        std::thread::spawn(move || std::io::copy(&mut s2, &mut c2));
    }
}

/// Without `--wait`, one try; an unreachable server's error says why and
/// what to try; with it, how long ferry tried.
#[test]
fn unreachable_servers_say_why() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ferry.toml"),
        "[database]\nurl = \"postgres://app:s3cret@127.0.0.1:1/app\"\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("migrations")).unwrap();
    let run = |args: &[&str]| {
        crate::support::ferry()
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["db", "status"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("app:****@127.0.0.1:1")
            && err.contains("the server refused the connection")
            && err.contains("--wait"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
    let started = Instant::now();
    let out = run(&["--wait", "1s", "db", "status"]);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(stderr(&out).contains("times over"), "{}", stderr(&out));
    let out = run(&[
        "--database-url",
        "postgres://postgres@127.0.0.1:5432/ferry_no_such_db_y",
        "db",
        "status",
    ]);
    assert!(stderr(&out).contains("there is no such database"), "{}", stderr(&out));
    let out = run(&[
        "--database-url",
        "postgres://postgres@no-such-host.invalid/x",
        "db",
        "status",
    ]);
    assert!(stderr(&out).contains("the host name is unknown"), "{}", stderr(&out));
}

/// `--json` failures are a JSON document on stdout; every document has
/// a schema_version; FERRY_LOG_FORMAT=json writes JSON lines on stderr.
#[test]
fn json_failures_documents_and_logs() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = crate::support::ferry();
        cmd.current_dir(dir.path()).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let out = run(&["db", "status", "--json"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["error"]["kind"], "config", "{doc}");
    assert_eq!(doc["error"]["exit_code"], 2);
    assert!(
        doc["error"]["message"].as_str().unwrap().contains("no ferry.toml"),
        "{doc}"
    );
    assert!(doc["error"]["help"].as_str().unwrap().contains("ferry init"), "{doc}");
    let out = run(&["plan", "--format", "json", "--to", "x.y"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["error"]["kind"], "usage", "{doc}");

    std::fs::write(
        dir.path().join("ferry.toml"),
        "[database]\nurl = \"postgres://app:s3cret@127.0.0.1:1/app\"\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("migrations")).unwrap();
    let out = run(&["status", "--json"], &[]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["error"]["kind"], "connect", "{doc}");
    assert!(!doc.to_string().contains("s3cret"));

    std::fs::write(dir.path().join("ferry.toml"), "[database]\nurl = \"sqlite://app.db\"\n").unwrap();
    std::fs::write(
        dir.path().join("migrations/0001_a.up.sql"),
        "CREATE TABLE a (id INT);\n",
    )
    .unwrap();
    for args in [
        &["db", "status", "--json"][..],
        &["db", "history", "--json"],
        &["status", "--json"],
    ] {
        let out = run(args, &[]);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["schema_version"], 1, "{args:?}: {doc}");
    }
    let out = run(&["db", "migrate"], &[("FERRY_LOG_FORMAT", "json")]);
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = stderr(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["fields"]["database"] == "sqlite://app.db"),
        "{lines:?}"
    );
}

/// ferry.toml is found from a folder below the project, as cargo and git
/// find theirs, and through FERRY_PROJECT; `ferry init` stays where it is.
#[test]
fn the_project_is_found_from_below_and_through_ferry_project() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ferry.toml"), "[database]\nurl = \"sqlite://app.db\"\n").unwrap();
    std::fs::create_dir_all(dir.path().join("migrations")).unwrap();
    std::fs::write(
        dir.path().join("migrations/0001_a.up.sql"),
        "CREATE TABLE a (id INT);\n",
    )
    .unwrap();
    let deep = dir.path().join("src/app/handlers");
    std::fs::create_dir_all(&deep).unwrap();
    let out = crate::support::ferry()
        .current_dir(&deep)
        .args(["db", "migrate"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        dir.path().join("app.db").exists(),
        "the database the project's URL names, beside ferry.toml"
    );
    assert!(!deep.join("app.db").exists());

    let elsewhere = tempfile::tempdir().unwrap();
    let out = crate::support::ferry()
        .current_dir(elsewhere.path())
        .env("FERRY_PROJECT", dir.path())
        .args(["db", "status"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("0001_a"), "{}", stdout(&out));

    let out = crate::support::ferry()
        .current_dir(&deep)
        .args(["init"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(deep.join("ferry.toml").exists(), "init writes where it is started");
}

/// The bug: `${DATABASE_URL:-sqlite://app.db}` (what `ferry init` writes)
/// with DATABASE_URL in `.env` migrated a new app.db. It takes `.env`'s.
#[test]
fn a_default_does_not_hide_the_dotenv_value() {
    let db = TestDb::new(Kind::Postgres);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ferry.toml"),
        "[database]\nurl = \"${DATABASE_URL:-sqlite://app.db}\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join(".env"), format!("DATABASE_URL={}\n", db.url)).unwrap();
    std::fs::create_dir(dir.path().join("migrations")).unwrap();
    std::fs::write(
        dir.path().join("migrations/0001_a.up.sql"),
        "CREATE TABLE a (id INT);\n",
    )
    .unwrap();
    let out = crate::support::ferry()
        .current_dir(dir.path())
        .args(["db", "migrate"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!dir.path().join("app.db").exists(), "no SQLite file made");
    assert!(db.tables().contains(&"a".to_owned()), "{:?}", db.tables());
}

/// `ferry init --database-url` keeps the password out of ferry.toml (a
/// file meant to be committed): `${DATABASE_URL}` there, the URL in a 0600
/// `.env` that .gitignore keeps out; and it says so. The project works.
#[test]
fn init_with_a_database_url_keeps_the_password_out_of_ferry_toml() {
    use std::os::unix::fs::PermissionsExt;
    let db = TestDb::new(Kind::Postgres);
    let url = db.url.replacen("postgres@", "postgres:pw-init-7c1@", 1);
    let dir = tempfile::tempdir().unwrap();
    let out = crate::support::ferry()
        .current_dir(dir.path())
        .args(["--database-url", &url, "init"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("the database URL is in .env"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("pw-init-7c1"));
    let toml = std::fs::read_to_string(dir.path().join("ferry.toml")).unwrap();
    assert!(
        toml.contains("url = \"${DATABASE_URL}\"") && !toml.contains("pw-init-7c1"),
        "{toml}"
    );
    let env = std::fs::read_to_string(dir.path().join(".env")).unwrap();
    assert!(env.contains(&format!("DATABASE_URL='{url}'")), "{env}");
    let mode = std::fs::metadata(dir.path().join(".env")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let ignore = std::fs::read_to_string(dir.path().join(".gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "/.env"), "{ignore}");
    std::fs::write(
        dir.path().join("migrations/0001_a.up.sql"),
        "CREATE TABLE a (id INT);\n",
    )
    .unwrap();
    let out = crate::support::ferry()
        .current_dir(dir.path())
        .args(["db", "migrate"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(db.tables().contains(&"a".to_owned()));
    // A second init is refused before anything is written.
    let out = crate::support::ferry()
        .current_dir(dir.path())
        .args(["--database-url", &url, "init"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// Each command that writes to a database names it first, password hidden.
#[test]
fn commands_that_write_name_their_database_first() {
    let f = Fixture::new(Kind::Postgres);
    let url = f.db.url.replacen("postgres@", "postgres:pw-name-3b9@", 1);
    let shown = f.db.url.replacen("postgres@", "postgres:****@", 1);
    let toml = std::fs::read_to_string(f.path().join("ferry.toml"))
        .unwrap()
        .replace(&f.db.url, &url);
    f.write("ferry.toml", &toml);
    for args in [
        &["db", "revert"][..],
        &["db", "migrate", "--to", "1"],
        &["upgrade", "--yes"],
        &["rollback", "--yes"],
        &["adopt", "1.0.0"],
    ] {
        let out = f.run(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(
            err.lines().next(),
            Some(format!("database: {shown}").as_str()),
            "{args:?}: {err}"
        );
        assert!(!err.contains("pw-name-3b9") && !stdout(&out).contains("pw-name-3b9"));
    }
    // Reading commands do not.
    let out = f.run(&["db", "status"]);
    assert!(!stderr(&out).contains("database: "), "{}", stderr(&out));
}

/// `ferry init --database-url` writes `.env` before ferry.toml: one stopped
/// between the two is run again and finishes, with the URL once; a `.env`
/// that names another database is refused, with nothing written.
#[test]
fn init_stopped_after_its_dotenv_is_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let url = "postgres://app:pw-again-51@db.internal:5432/app";
    std::fs::write(
        dir.path().join(".env"),
        format!("# The database ferry migrates (ferry.toml reads it as ${{DATABASE_URL}}).\nDATABASE_URL='{url}'\n"),
    )
    .unwrap();
    let init = |url: &str| {
        crate::support::ferry()
            .current_dir(dir.path())
            .args(["--database-url", url, "init"])
            .output()
            .unwrap()
    };
    let out = init(url);
    assert!(out.status.success(), "{}", stderr(&out));
    let env = std::fs::read_to_string(dir.path().join(".env")).unwrap();
    assert_eq!(env.matches("DATABASE_URL=").count(), 1, "{env}");
    std::fs::remove_file(dir.path().join("ferry.toml")).unwrap();
    let out = init("postgres://app:pw@other:5432/app");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already sets DATABASE_URL"), "{}", stderr(&out));
    assert!(!dir.path().join("ferry.toml").exists(), "nothing written");
}
