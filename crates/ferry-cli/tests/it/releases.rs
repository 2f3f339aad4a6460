//! Releases and plans on the OsMEN example (examples/osmen), modelled on the
//! OsMEN upgrade guide, against a real PostgreSQL database at each installed
//! version; and the generated guide and runbook.

use std::path::PathBuf;

use ferry_testkit::{Kind, TestDb};
use predicates::prelude::*;
use serde_json::Value;

use crate::support::{ferry, stdout};

fn osmen() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/osmen")
}

/// ferry on the OsMEN example, against `db`, on a fixed day.
fn on(db: &TestDb) -> assert_cmd::Command {
    on_day(db, "2026-11-21")
}

/// ferry on the OsMEN example, against `db`, on `today`.
fn on_day(db: &TestDb, today: &str) -> assert_cmd::Command {
    let mut cmd = ferry();
    cmd.args([
        "--project",
        osmen().to_str().unwrap(),
        "--database-url",
        &db.url,
        "--today",
        today,
    ]);
    cmd
}

fn json(cmd: &mut assert_cmd::Command) -> Value {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn hops(plan: &Value) -> Vec<String> {
    plan["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            format!(
                "{}->{}",
                h["from"].as_str().unwrap_or("none"),
                h["to"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn osmen_plans_from_each_installed_version() {
    // (installed, its schema head, the hops to 2.1.0, migrations applied)
    let cases: [(&str, u64, &[&str], usize); 5] = [
        ("1.0.0", 2, &["1.0.0->2.0.0", "2.0.0->2.1.0"], 3),
        ("1.5.0", 2, &["1.5.0->2.0.0", "2.0.0->2.1.0"], 3),
        ("2.0.0", 4, &["2.0.0->2.1.0"], 1),
        ("2.0.1", 4, &["2.0.1->2.1.0"], 1),
        ("2.1.0", 5, &[], 0),
    ];
    for (installed, head, want, migrations) in cases {
        let db = TestDb::new(Kind::Postgres);
        on(&db)
            .args(["db", "migrate", "--to", &head.to_string()])
            .assert()
            .success();
        on(&db).args(["adopt", installed]).assert().success();
        let plan = json(on(&db).args(["plan", "--json"]));
        assert_eq!(hops(&plan), want, "from {installed}");
        let applied: usize = plan["hops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["migrations"].as_array().unwrap().len())
            .sum();
        assert_eq!(applied, migrations, "from {installed}");
        let status = json(on(&db).args(["status", "--json"]));
        assert_eq!(status["installed"]["version"], installed);
        assert_eq!(status["installed"]["known"], "recorded");
        assert_eq!(status["newest"], "2.1.0");
        // Following the plan by hand reaches the target.
        for hop in plan["hops"].as_array().unwrap() {
            let to = hop["to"].as_str().unwrap();
            on(&db)
                .args(["db", "migrate", "--to", &hop["schema_after"].to_string()])
                .assert()
                .success();
            on(&db).args(["adopt", to]).assert().success();
        }
        on(&db)
            .args(["status"])
            .assert()
            .success()
            .stdout(predicate::str::contains("nothing to upgrade"));
        assert!(
            db.column("SELECT column_name::text FROM information_schema.columns WHERE table_name = 'agents'")
                .contains(&"metadata".to_owned())
        );
    }
}

#[test]
fn osmen_first_hop_details() {
    let db = TestDb::new(Kind::Postgres);
    on(&db).args(["db", "migrate", "--to", "2"]).assert().success();
    // Schema 2 is 1.0.0's and 1.5.0's: ferry will not guess.
    on(&db)
        .args(["plan"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("1.0.0, 1.5.0").and(predicate::str::contains("ferry adopt VERSION")));
    on(&db).args(["adopt", "1.0.0"]).assert().success();
    let plan = json(on(&db).args(["plan", "--json"]));
    let hop = &plan["hops"][0];
    assert_eq!(hop["kind"], "major");
    assert_eq!(hop["risk"], "high");
    assert_eq!(hop["backup"], "required");
    assert_eq!(hop["staging"], "required");
    assert_eq!(hop["downtime"]["text"], "30-60 min");
    assert!(hop["required_stop"].as_str().unwrap().contains("2.0 format"));
    let names: Vec<&str> = hop["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["0003_conversations_v2", "0004_create_agent_metadata"]);
    let pg = hop["requires"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "postgresql")
        .unwrap();
    assert_eq!(
        (pg["min"].as_str(), pg["recommended"].as_str()),
        (Some("13"), Some("16"))
    );
    let breaking: Vec<&str> = hop["breaking"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["category"].as_str().unwrap())
        .collect();
    assert!(
        breaking.contains(&"api")
            && breaking.contains(&"config")
            && breaking.contains(&"database")
            && breaking.contains(&"dependency")
    );
    assert_eq!(plan["downtime"]["text"], "35-75 min");
    // A downgrade target points to rollback; an unsupported source is refused by name.
    on(&db).args(["adopt", "2.1.0"]).assert().success();
    on(&db)
        .args(["plan", "--to", "2.0.0"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("rollback"));
    on(&db)
        .args(["plan", "--from", "0.9.0"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "no upgrade path from 0.9.0: versions before 1.0.0 are not supported",
        ));
}

#[test]
fn osmen_guide_reproduces_the_guide_tables() {
    let db = TestDb::new(Kind::Sqlite);
    let out = on(&db).args(["guide", "--output", "-"]).output().unwrap();
    assert!(out.status.success());
    let guide = stdout(&out);
    for row in [
        "| 2.0.0 | 2.0.1 | 1 | no | none | yes |",
        "| 2.0.0 | 2.1.0 | 1 | yes | 5-15 min | yes |",
        "| 1.5.0 | 2.0.0 | 1 | yes | 30-60 min | yes |",
        "| < 1.0.0 | any | — | — | — | not supported |",
        "| 2.0 | yes | 2024-11-01 | 2025-11-01 | 2026-05-01 | end of life | Current LTS |",
        "| patch | 2.0.0 → 2.0.1 | low | none | recommended | none |",
        "| major | 1.x → 2.0.0 | high | 30-60 min | required | required |",
        "| 2.0.0 | postgresql | 13 | 16 |",
        "`AGENT_MEMORY` is renamed to `QDRANT_HOST`",
    ] {
        assert!(guide.contains(row), "missing {row}\n{guide}");
    }
    insta::assert_snapshot!("osmen_guide", guide);
    let runbook = stdout(
        &on(&db)
            .args(["plan", "--from", "1.0.0", "--format", "markdown"])
            .output()
            .unwrap(),
    );
    insta::assert_snapshot!("osmen_runbook_from_1_0_0", runbook);
}

#[test]
fn broken_release_files_name_file_line_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ferry.toml"), "[database]\nurl = \"sqlite://x.db\"\n").unwrap();
    std::fs::create_dir_all(dir.path().join("releases")).unwrap();
    std::fs::create_dir_all(dir.path().join("migrations")).unwrap();
    std::fs::write(dir.path().join("migrations/0001_a.up.sql"), "SELECT 1;\n").unwrap();
    std::fs::write(
        dir.path().join("releases/1.0.0.toml"),
        "version = \"1.0.0\"\nschema = 7\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("releases/1.1.0.toml"),
        "version = \"1.1.0\"\nupgrade_form = \">=1.0.0\"\n",
    )
    .unwrap();
    let out = ferry()
        .current_dir(dir.path())
        .args(["plan", "--from", "1.0.0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1.1.0.toml:2:") && err.contains("upgrade_form"), "{err}");
    std::fs::write(dir.path().join("releases/1.1.0.toml"), "version = \"1.1.0\"\n").unwrap();
    let out = ferry()
        .current_dir(dir.path())
        .args(["plan", "--from", "1.0.0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("1.0.0.toml:2: schema = 7, but no migration has version 7"),
        "{err}"
    );
}

#[test]
fn version_names_commit_and_build_date() {
    ferry().arg("--version").assert().success().stdout(
        predicate::str::is_match(r"^ferry \d+\.\d+\.\d+ \(commit ([0-9a-f]+|unknown), built \d{4}-\d\d-\d\d\)")
            .unwrap(),
    );
}

#[test]
fn status_reports_the_support_state_of_the_installed_series() {
    // OsMEN's 2.0 series: full support until 2025-11-01, security fixes until 2026-05-01.
    let db = TestDb::new(Kind::Postgres);
    let at = |today: &str| on_day(&db, today);
    at("2025-01-01").args(["db", "migrate", "--to", "4"]).assert().success();
    at("2025-01-01").args(["adopt", "2.0.1"]).assert().success();
    for (today, state, text) in [
        ("2025-06-01", "active", "series 2.0 is active as of 2025-06-01"),
        (
            "2026-01-01",
            "security_only",
            "series 2.0 is security fixes only as of 2026-01-01",
        ),
        (
            "2026-11-21",
            "end_of_life",
            "series 2.0 is end of life as of 2026-11-21",
        ),
    ] {
        let status = json(at(today).args(["status", "--json"]));
        assert_eq!(status["support"]["series"], "2.0", "{today}");
        assert_eq!(status["support"]["state"], state, "{today}");
        at(today)
            .args(["status"])
            .assert()
            .success()
            .stdout(predicate::str::contains(text));
    }
    // A series ferry.toml lists no dates for is said to be so.
    at("2026-11-21").args(["adopt", "1.5.0"]).assert().success();
    let status = json(at("2026-11-21").args(["status", "--json"]));
    assert!(status["support"].is_null());
    at("2026-11-21")
        .args(["status"])
        .assert()
        .success()
        .stdout(predicate::str::contains("lists no support dates for the 1.5 series"));
}

/// A writable copy of the OsMEN example.
fn osmen_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .args([
            "-R",
            &format!("{}/.", osmen().display()),
            &dir.path().display().to_string(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

#[test]
fn osmen_upgrades_through_its_required_stop_and_back() {
    let db = TestDb::new(Kind::Postgres);
    let dir = osmen_copy();
    let api = crate::support::Server::start();
    let run = |args: &[&str]| {
        let out = ferry()
            .current_dir(dir.path())
            .env("DATABASE_URL", &db.url)
            .env("OSMEN_URL", api.url(""))
            .env("FERRY_TODAY", "2026-11-21")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout(&out)
    };
    run(&["db", "migrate", "--to", "2"]);
    run(&["adopt", "1.0.0"]);
    db.exec("INSERT INTO agents (name, kind) VALUES ('planner', 'llm'), ('coder', 'llm')");
    let env_before = std::fs::read(dir.path().join(".env")).unwrap();
    let report: Value = serde_json::from_str(&run(&["upgrade", "--yes", "--json"])).unwrap();
    assert_eq!(report["state"], "done");
    // 2.0.0 is a required stop: the run stops there, then goes on.
    assert_eq!(hops(&report), vec!["1.0.0->2.0.0", "2.0.0->2.1.0"]);
    let status: Value = serde_json::from_str(&run(&["status", "--json"])).unwrap();
    assert_eq!(status["installed"]["version"], "2.1.0");
    let env = std::fs::read_to_string(dir.path().join(".env")).unwrap();
    assert!(env.contains("QDRANT_HOST=http://qdrant:6333"), "{env}");
    // The 2.0.0 stop's migrations ran in their own hop, before 2.1.0's.
    let migrate = |hop: usize| report["hops"][hop]["steps"][4]["outcome"]["applied"].clone();
    assert_eq!(
        migrate(0),
        serde_json::json!(["0003_conversations_v2", "0004_create_agent_metadata"])
    );
    assert_eq!(migrate(1), serde_json::json!(["0005_add_agents_metadata"]));
    let out = run(&["rollback", "--yes"]);
    assert!(out.contains("rolled back"), "{out}");
    let status: Value = serde_json::from_str(&run(&["status", "--json"])).unwrap();
    assert_eq!(status["installed"]["version"], "1.0.0");
    assert_eq!(status["schema"]["current"], 2);
    assert_eq!(std::fs::read(dir.path().join(".env")).unwrap(), env_before);
}
