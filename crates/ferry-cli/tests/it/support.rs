//! A project folder with its own database, and the ferry binary to run in it.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ferry_testkit::{Kind, TestDb};

pub struct Proj {
    pub dir: tempfile::TempDir,
    pub db: TestDb,
}

impl Proj {
    /// A project whose ferry.toml points at a fresh database of `kind`.
    pub fn new(kind: Kind) -> Self {
        let db = TestDb::new(kind);
        let dir = tempfile::tempdir().expect("temp dir");
        let toml = format!("[project]\nname = \"t\"\n\n[database]\nurl = \"{}\"\n", db.url);
        std::fs::write(dir.path().join("ferry.toml"), toml).expect("write ferry.toml");
        std::fs::create_dir(dir.path().join("migrations")).expect("mkdir");
        Proj { dir, db }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file relative to the project.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
        path
    }

    /// Writes `n` migrations, each creating a table with one row.
    pub fn tables(&self, n: usize) {
        for i in 1..=n {
            self.write(
                &format!("migrations/{i:04}_t{i}.up.sql"),
                &format!("CREATE TABLE t{i} (id INTEGER PRIMARY KEY);\nINSERT INTO t{i} (id) VALUES ({i});\n"),
            );
            self.write(
                &format!("migrations/{i:04}_t{i}.down.sql"),
                &format!("DROP TABLE t{i};\n"),
            );
        }
    }

    /// `ferry` run in the project folder with a clean environment.
    pub fn ferry(&self) -> assert_cmd::Command {
        let mut cmd = ferry();
        cmd.current_dir(self.dir.path());
        cmd
    }

    /// A std Command for `ferry`, for processes run in parallel or killed.
    pub fn process(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("ferry"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("DATABASE_URL")
            .env_remove("FERRY_DATABASE_URL")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd
    }
}

/// Copies an example folder (without its backups) for a test to change.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "backups" {
                copy_dir(&entry.path(), &dest);
            }
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// A copy of an example project (`examples/NAME`) with a database of its
/// own, which the example's ferry.toml reads from `DATABASE_URL`.
pub struct Example {
    pub dir: tempfile::TempDir,
    pub db: TestDb,
    env: Vec<(String, String)>,
}

impl Example {
    pub fn copy(name: &str, kind: Kind) -> Self {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name),
            dir.path(),
        );
        Example {
            dir,
            db: TestDb::new(kind),
            env: Vec::new(),
        }
    }

    /// Sets a variable for every command.
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn cmd(&self, args: &[&str]) -> std::process::Command {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("ferry"));
        c.args(args)
            .current_dir(self.dir.path())
            .env("DATABASE_URL", &self.db.url)
            .env_remove("FERRY_DATABASE_URL")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    /// Runs `ferry ARGS`, which must succeed; its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().unwrap();
        assert!(
            out.status.success(),
            "ferry {args:?}:\n{}{}",
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    }
}

/// A project at release 1.0.0 whose one migration makes `items (id,
/// priority)` with three rows, with `extra` appended to its ferry.toml.
pub fn items_project(kind: Kind, extra: &str) -> Proj {
    let p = Proj::new(kind);
    let toml = std::fs::read_to_string(p.path().join("ferry.toml")).unwrap();
    p.write("ferry.toml", &format!("{toml}\n{extra}"));
    p.write(
        "migrations/0001_items.up.sql",
        "CREATE TABLE items (id INTEGER PRIMARY KEY, priority INTEGER NOT NULL);\nINSERT INTO items (id, priority) VALUES (1, 1), (2, 2), (3, 5);\n",
    );
    p.write("migrations/0001_items.down.sql", "DROP TABLE items;\n");
    p.write("releases/1.0.0.toml", "version = \"1.0.0\"\nschema = 1\n");
    p.ferry().args(["db", "migrate"]).assert().success();
    p.ferry().args(["adopt", "1.0.0"]).assert().success();
    p
}

/// The binary, with variables that would change its behaviour removed.
pub fn ferry() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("ferry").expect("binary");
    cmd.env_remove("DATABASE_URL")
        .env_remove("FERRY_DATABASE_URL")
        .env("NO_COLOR", "1");
    cmd
}

/// stdout of a finished command as text.
pub fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stderr of a finished command as text.
pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A small HTTP server on 127.0.0.1: `/health` answers 200 with JSON,
/// `/down` 503, `/slow` never answers, `/flaky` 503 twice then 200.
pub struct Server {
    pub port: u16,
}

impl Server {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let flaky = Arc::new(AtomicUsize::new(0));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let flaky = flaky.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 2048];
                    let n = s.read(&mut buf).unwrap_or(0);
                    let req = String::from_utf8_lossy(&buf[..n]).into_owned();
                    let path = req.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let (status, body) = match path.as_str() {
                        "/health" => ("200 OK", r#"{"status":"ok","db":{"latency_ms":3}}"#),
                        "/slow" => {
                            std::thread::sleep(Duration::from_secs(30));
                            ("200 OK", "late")
                        }
                        "/flaky" if flaky.fetch_add(1, Ordering::SeqCst) < 2 => ("503 Service Unavailable", "starting"),
                        "/flaky" => ("200 OK", "ready"),
                        _ => ("503 Service Unavailable", "down"),
                    };
                    let _ = write!(
                        s,
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                });
            }
        });
        Server { port }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}
