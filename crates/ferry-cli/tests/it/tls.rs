//! MariaDB over TLS from the command line: migrations, and the backup and
//! restore that drive the mariadb tools with the URL's ssl-mode and ssl-ca,
//! against the TLS server `.ci/run` starts on port 3307.

use crate::support::{ferry, stderr};

#[test]
fn mariadb_over_tls_migrates_backs_up_and_restores() {
    let ca =
        std::env::var("FERRY_TEST_MYSQL_TLS_CA").unwrap_or_else(|_| "/var/tmp/ferry-mariadb-tls/certs/ca.pem".into());
    let name = format!("ferry_tls_cli_{}", std::process::id());
    let admin = std::process::Command::new("mariadb")
        .args(["-uroot", "-h127.0.0.1", "-P3307", "--protocol=tcp", "-e"])
        .arg(format!("DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name}"))
        .status()
        .unwrap();
    assert!(admin.success(), "the TLS MariaDB server on port 3307 (see .ci/run)");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ferry.toml"),
        format!("[database]\nurl = \"mysql://root@localhost:3307/{name}?ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}\"\n"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("migrations")).unwrap();
    std::fs::write(
        dir.path().join("migrations/0001_t.up.sql"),
        "CREATE TABLE t (id INT PRIMARY KEY);\nINSERT INTO t VALUES (1);\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("migrations/0001_t.down.sql"), "DROP TABLE t;\n").unwrap();
    let run = |args: &[&str]| {
        let out = ferry().current_dir(dir.path()).args(args).output().unwrap();
        assert!(out.status.success(), "ferry {args:?}: {}", stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    run(&["db", "migrate"]);
    let created: serde_json::Value = serde_json::from_str(&run(&["backup", "create", "--json"])).unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    run(&["backup", "verify", &id]);
    let count = || {
        let out = std::process::Command::new("mariadb")
            .args(["-uroot", "-h127.0.0.1", "-P3307", "--protocol=tcp", "-N", "-e"])
            .arg(format!("SELECT count(*) FROM {name}.t"))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    std::process::Command::new("mariadb")
        .args(["-uroot", "-h127.0.0.1", "-P3307", "--protocol=tcp", "-e"])
        .arg(format!("INSERT INTO {name}.t VALUES (2)"))
        .status()
        .unwrap();
    assert_eq!(count(), "2");
    run(&["backup", "restore", &id, "--yes"]);
    assert_eq!(count(), "1", "restored over TLS");
    run(&["db", "revert"]);
    std::process::Command::new("mariadb")
        .args(["-uroot", "-h127.0.0.1", "-P3307", "--protocol=tcp", "-e"])
        .arg(format!("DROP DATABASE {name}"))
        .status()
        .unwrap();
}
