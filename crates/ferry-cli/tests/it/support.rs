//! A project folder with its own database, and the ferry binary to run in it.

use std::path::{Path, PathBuf};

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
