//! The OpenWatch example (examples/openwatch): an upgrade with a pre-upgrade
//! backup, then each of the guide's three rollback levels, against a real
//! PostgreSQL database.

use std::path::Path;

use ferry_testkit::{Kind, TestDb};
use predicates::prelude::*;

use crate::support::{copy_dir, ferry, stdout};

struct Ow {
    dir: tempfile::TempDir,
    db: TestDb,
    /// OpenWatch's health endpoint, played by a small server.
    api: crate::support::Server,
}

impl Ow {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/openwatch"),
            dir.path(),
        );
        Ow {
            dir,
            db: TestDb::new(Kind::Postgres),
            api: crate::support::Server::start(),
        }
    }

    fn ferry(&self) -> assert_cmd::Command {
        let mut c = ferry();
        // The project's own database, as ferry.toml names it (${DATABASE_URL}).
        c.current_dir(self.dir.path())
            .env("DATABASE_URL", &self.db.url)
            .env("OPENWATCH_URL", self.api.url(""));
        c
    }

    fn read(&self, f: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(f)).unwrap()
    }

    fn set_version(&self, v: &str) {
        std::fs::write(self.dir.path().join("VERSION"), format!("{v}\n")).unwrap();
    }

    fn installed(&self) -> String {
        let out = self.ferry().args(["status", "--json"]).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["installed"]["version"].as_str().unwrap_or_default().to_owned()
    }
}

#[test]
fn upgrade_then_each_rollback_level() {
    let ow = Ow::new();
    // Installed: 1.0.0 with some data.
    ow.set_version("1.0.0");
    ow.ferry().args(["db", "migrate", "--to", "2"]).assert().success();
    ow.ferry().args(["adopt", "1.0.0"]).assert().success();
    ow.db.exec("INSERT INTO hosts (hostname) VALUES ('web1'), ('db1'); INSERT INTO scans (host_id, status) VALUES (1, 'done'), (2, 'done')");
    let rows_before = ow.db.digest();
    let env_before = ow.read(".env");

    // The pre-upgrade backup, then the upgrade.
    let out = ow
        .ferry()
        .args(["backup", "create", "--label", "pre-upgrade", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["release"], "1.0.0");
    ow.ferry().args(["backup", "verify", &id]).assert().success();
    let listed: serde_json::Value =
        serde_json::from_slice(&ow.ferry().args(["backup", "list", "--json"]).output().unwrap().stdout).unwrap();
    assert!(
        listed["backups"][0]["verified_at"].is_string(),
        "verify records when it passed: {listed}"
    );
    // An id that is not one cannot name a file outside the backup folder.
    ow.ferry()
        .args(["backup", "verify", "../ferry"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no backup ../ferry"));
    ow.ferry()
        .args(["backup", "drill", &id])
        .assert()
        .success()
        .stdout(predicate::str::contains("drill passed"));
    ow.set_version("1.1.0");
    ow.ferry().args(["db", "migrate"]).assert().success();
    ow.ferry().args(["adopt", "1.1.0"]).assert().success();
    assert_eq!(ow.installed(), "1.1.0");

    // Level 1, code only: the old code runs on the new schema.
    ow.set_version("1.0.0");
    ow.ferry()
        .args(["adopt", "1.0.0"])
        .assert()
        .success()
        .stdout(predicate::str::contains("newer than 1.0.0's schema"));
    assert_eq!(ow.installed(), "1.0.0");
    ow.set_version("1.1.0");
    ow.ferry().args(["adopt", "1.1.0"]).assert().success();

    // Level 2, code and database: the release's migrations go down.
    ow.ferry()
        .args(["db", "revert", "--to", "2"])
        .assert()
        .success()
        .stdout(predicate::str::contains("reverted 0003_add_scan_compliance"));
    ow.set_version("1.0.0");
    ow.ferry().args(["adopt", "1.0.0"]).assert().success();
    ow.ferry()
        .args(["status"])
        .assert()
        .success()
        .stdout(predicate::str::contains("installed: 1.0.0"));
    assert!(
        !ow.db
            .column("SELECT column_name::text FROM information_schema.columns WHERE table_name = 'scans'")
            .contains(&"compliance_score".to_owned())
    );
    ow.set_version("1.1.0");
    ow.ferry().args(["db", "migrate"]).assert().success();
    ow.ferry().args(["adopt", "1.1.0"]).assert().success();

    // Level 3, emergency: data lost, config broken; restore the backup.
    ow.db.exec("DELETE FROM scans; DELETE FROM hosts");
    std::fs::write(ow.dir.path().join(".env"), "broken\n").unwrap();
    std::fs::remove_dir_all(ow.dir.path().join("certs")).unwrap();
    ow.ferry()
        .args(["backup", "restore", &id])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--yes"));
    ow.ferry()
        .args(["backup", "restore", &id, "--yes"])
        .assert()
        .success()
        .stdout(predicate::str::contains("it holds release 1.0.0"));
    assert_eq!(ow.db.digest(), rows_before, "the database as it was before the upgrade");
    assert_eq!(ow.read(".env"), env_before);
    assert_eq!(ow.read("VERSION"), "1.0.0\n");
    assert!(ow.read("certs/server.crt").contains("BEGIN CERTIFICATE"));
    assert_eq!(
        ow.installed(),
        "1.0.0",
        "the installed release lives in the database and came back with it"
    );

    // 7-day retention keeps the fresh backup.
    ow.ferry()
        .args(["backup", "prune"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("kept {id}")));
    let list = stdout(&ow.ferry().args(["backup", "list"]).output().unwrap());
    assert!(list.contains(&id) && list.contains("pre-upgrade"), "{list}");
}

#[test]
fn backups_are_private_whatever_the_umask() {
    let ow = Ow::new();
    ow.ferry().args(["db", "migrate"]).assert().success();
    let ferry_bin = assert_cmd::cargo::cargo_bin("ferry");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 000 && '{}' --database-url '{}' backup create",
            ferry_bin.display(),
            ow.db.url
        ))
        .current_dir(ow.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    use std::os::unix::fs::PermissionsExt;
    let dir = ow.dir.path().join("backups");
    assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    for f in std::fs::read_dir(&dir).unwrap() {
        let f = f.unwrap().path();
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600,
            "{}",
            f.display()
        );
    }
    // A person can check an archive with sha256sum.
    let check = std::process::Command::new("sh")
        .arg("-c")
        .arg("sha256sum -c *.sha256")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
}

#[test]
fn a_missing_client_tool_names_its_debian_package() {
    let ow = Ow::new();
    ow.ferry().args(["db", "migrate"]).assert().success();
    // No pg_dump on the PATH.
    ow.ferry()
        .env("PATH", "/nonexistent")
        .args(["backup", "create"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("pg_dump is not installed")
                .and(predicate::str::contains("apt-get install postgresql-client")),
        );
    assert!(
        !ow.dir
            .path()
            .join("backups")
            .read_dir()
            .map(|mut d| d.any(|e| e.unwrap().file_name().to_string_lossy().ends_with(".tar.zst")))
            .unwrap_or(false),
        "no archive left behind"
    );
}

/// The guide's rollback levels as one command: `ferry rollback` takes the
/// least destructive way (the down scripts), `--restore` the backup.
#[test]
fn ferry_rollback_chooses_down_scripts_or_the_backup() {
    let ow = Ow::new();
    ow.set_version("1.0.0");
    ow.ferry().args(["db", "migrate", "--to", "2"]).assert().success();
    ow.ferry().args(["adopt", "1.0.0"]).assert().success();
    ow.db
        .exec("INSERT INTO hosts (hostname) VALUES ('web1'); INSERT INTO scans (host_id, status) VALUES (1, 'done')");
    let before = ow.db.digest();
    for (args, how) in [
        (&["rollback", "--yes"][..], "reverted 1 migration with its down script"),
        (&["rollback", "--yes", "--restore"], "the database restored from backup"),
    ] {
        let out = ow.ferry().args(["upgrade", "--yes"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout(&out).contains("1.0.0 → 1.1.0, done"), "{}", stdout(&out));
        assert_eq!(ow.installed(), "1.1.0");
        let out = ow.ferry().args(args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout(&out).contains(how), "{args:?}: {}", stdout(&out));
        assert_eq!(ow.installed(), "1.0.0", "{args:?}");
        assert_eq!(ow.db.digest(), before, "{args:?}: the rows as they were");
    }
}

/// The guide's checks: Redis and disk space before, the health endpoint
/// after; an endpoint that does not come back rolls the upgrade back.
#[test]
fn checks_guard_the_upgrade() {
    let ow = Ow::new();
    ow.set_version("1.0.0");
    ow.ferry().args(["db", "migrate", "--to", "2"]).assert().success();
    ow.ferry().args(["adopt", "1.0.0"]).assert().success();
    ow.db
        .exec("INSERT INTO hosts (hostname) VALUES ('web1'); INSERT INTO scans (host_id, status) VALUES (1, 'done')");
    let out = ow.ferry().args(["check", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", stdout(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pre: Vec<String> = v["pre"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{} {}", c["name"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    for want in [
        "redis >= 6.2 passed",
        "postgresql >= 13 passed",
        "room for the pre-upgrade backup passed",
        "every scan belongs to a host passed",
    ] {
        assert!(pre.contains(&want.to_owned()), "{want}: {pre:?}");
    }
    assert_eq!(
        v["post"][v["post"].as_array().unwrap().len() - 1]["name"],
        "the API answers"
    );
    // The service does not come back: quick tries for the test.
    let toml = ow
        .read("ferry.toml")
        .replace("retries = 10\ndelay = \"3s\"", "retries = 1\ndelay = \"100ms\"");
    std::fs::write(ow.dir.path().join("ferry.toml"), toml).unwrap();
    let before = ow.db.digest();
    let out = ow
        .ferry()
        .env("OPENWATCH_URL", ow.api.url("/down"))
        .args(["upgrade", "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("check `the API answers` failed") && err.contains("rolled back"),
        "{err}"
    );
    assert_eq!(ow.db.digest(), before);
    assert_eq!(ow.installed(), "1.0.0");
}
