//! Eight `ferry db migrate` processes against one database: each migration is
//! applied exactly once and no process fails.

use ferry_testkit::Kind;

use crate::support::{Proj, stderr, stdout};
use ferry_testkit::per_engine;

per_engine!(eight_processes_migrate_one_database);

fn eight_processes_migrate_one_database(kind: Kind) {
    let p = Proj::new(kind);
    p.tables(20);
    let children: Vec<_> = (0..8)
        .map(|_| {
            p.process(&["db", "migrate", "--json", "--lock-timeout", "120s"])
                .spawn()
                .expect("spawn")
        })
        .collect();
    let mut applied = 0;
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "a process failed: {}", stderr(&out));
        let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
        applied += v["applied"].as_array().expect("applied").len();
    }
    assert_eq!(applied, 20, "every migration applied by exactly one process");
    assert_eq!(p.db.scalar("SELECT count(*) FROM ferry_history"), 20);
    for i in 1..=20 {
        assert_eq!(p.db.scalar(&format!("SELECT count(*) FROM t{i}")), 1);
    }
}

/// A PgBouncer in transaction pooling mode, started for one test on a free
/// port in front of the machine's PostgreSQL, and stopped after it.
struct PgBouncer {
    dir: tempfile::TempDir,
    port: u16,
}

impl PgBouncer {
    fn start(pool: usize) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::Builder::new().prefix("pgbouncer").tempdir().unwrap();
        let root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let d = dir.path();
        std::fs::write(d.join("users.txt"), "\"postgres\" \"\"\n").unwrap();
        std::fs::write(
            d.join("pgbouncer.ini"),
            format!(
                "[databases]\n* = host=127.0.0.1 port=5432\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\nauth_type = trust\nauth_file = {users}\npool_mode = transaction\ndefault_pool_size = {pool}\nmax_client_conn = 200\nlogfile = {log}\npidfile = {pid}\nignore_startup_parameters = extra_float_digits\n",
                users = d.join("users.txt").display(),
                log = d.join("pgbouncer.log").display(),
                pid = d.join("pgbouncer.pid").display(),
            ),
        )
        .unwrap();
        let mut cmd = std::process::Command::new("pgbouncer");
        cmd.arg("-d");
        if root {
            // PgBouncer will not run as root: it switches to postgres.
            std::process::Command::new("chown")
                .args(["-R", "postgres", &d.display().to_string()])
                .status()
                .unwrap();
            std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
            cmd.args(["-u", "postgres"]);
        }
        let status = cmd
            .arg(d.join("pgbouncer.ini"))
            .status()
            .expect("pgbouncer is installed (Debian package pgbouncer; .ci/run installs it)");
        assert!(status.success(), "pgbouncer did not start");
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(10),
                "pgbouncer does not listen"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        PgBouncer { dir, port }
    }

    /// `url` (a database on the machine's PostgreSQL) through the pooler.
    fn url(&self, url: &str) -> String {
        url.replacen(":5432/", &format!(":{}/", self.port), 1)
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.path().join("pgbouncer.pid")) {
            let _ = std::process::Command::new("kill").arg(pid.trim()).status();
        }
    }
}

/// A regression test: behind PgBouncer in transaction pooling mode, 15 of
/// 16 migrators failed on prepared statements, two got past the lock at
/// once, and a session lock left on a pooled connection blocked every later
/// run. Now: every migration once, no failure, and nothing left behind.
#[test]
fn sixteen_migrators_behind_a_transaction_pooler() {
    let p = Proj::new(Kind::Postgres);
    p.tables(20);
    // Fewer pooled server connections than clients, as in production.
    let bouncer = PgBouncer::start(4);
    let pooled = bouncer.url(&p.db.url);
    let children: Vec<_> = (0..16)
        .map(|_| {
            p.process(&[
                "--database-url",
                &pooled,
                "db",
                "migrate",
                "--json",
                "--lock-timeout",
                "120s",
            ])
            .spawn()
            .expect("spawn")
        })
        .collect();
    let mut applied = 0;
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "a process failed: {}", stderr(&out));
        let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
        applied += v["applied"].as_array().expect("applied").len();
    }
    assert_eq!(applied, 20, "every migration applied by exactly one process");
    assert_eq!(p.db.scalar("SELECT count(*) FROM ferry_history"), 20);
    // No lock is left behind: a direct run and a pooled one go straight through.
    p.tables(22);
    p.ferry()
        .args(["db", "migrate", "--to", "21", "--lock-timeout", "3s"])
        .assert()
        .success();
    p.ferry()
        .args(["--database-url", &pooled, "db", "migrate", "--lock-timeout", "3s"])
        .assert()
        .success();
    assert_eq!(p.db.scalar("SELECT count(*) FROM ferry_history"), 22);
    assert_eq!(
        p.db.scalar(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        0,
        "no advisory lock outlives its run"
    );
}
