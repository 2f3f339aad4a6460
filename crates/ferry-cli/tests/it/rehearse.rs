//! `ferry rehearse`: the OsMEN example rehearsed from 1.0.0 to 2.1.0 on a
//! copy of a verified backup (per-step times, the live database and config
//! files byte for byte as they were), failing when a post check fails on
//! the copy, and a policy that requires it; and a rehearsal from the live
//! database on every engine.

use std::collections::BTreeMap;
use std::path::Path;

use ferry_testkit::{Kind, per_engine};

use crate::support::{Example, Server, items_project, stderr, stdout};

/// Every file under `dir` but ferry's own state, with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            if e.file_name() == ".ferry" {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                walk(base, &e.path(), out);
            } else {
                let rel = e.path().strip_prefix(base).unwrap().display().to_string();
                out.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// OsMEN at 1.0.0 with 300 agents and their conversations; its health
/// check (in the real upgrade at the end) answered by a test server.
fn osmen() -> Example {
    let health = Server::start();
    let o = Example::copy("osmen", Kind::Postgres).with_env("OSMEN_URL", &health.url(""));
    o.ok(&["db", "migrate", "--to", "2"]);
    o.ok(&["adopt", "1.0.0"]);
    o.db.exec(
        "INSERT INTO agents (name, kind) SELECT 'agent ' || x, 'chat' FROM generate_series(1, 300) x;
         INSERT INTO conversations (agent_id, messages) SELECT x, '[\"hello\"]' FROM generate_series(1, 300) x;",
    );
    o
}

fn run(o: &Example, args: &[&str]) -> std::process::Output {
    o.cmd(args).output().unwrap()
}

fn json(o: &Example, args: &[&str]) -> (i32, serde_json::Value) {
    let out = run(o, args);
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("ferry {args:?}:\n{}{}", stdout(&out), stderr(&out)));
    (out.status.code().unwrap_or(-1), v)
}

fn append(o: &Example, rel: &str, text: &str) {
    let path = o.dir.path().join(rel);
    let was = std::fs::read_to_string(&path).unwrap();
    std::fs::write(path, format!("{was}\n{text}")).unwrap();
}

#[test]
fn osmen_rehearsed_from_a_verified_backup_leaves_the_installation_as_it_was() {
    let o = osmen();
    let created = o.ok(&["backup", "create", "--json"]);
    let id = serde_json::from_str::<serde_json::Value>(&created).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = run(&o, &["rehearse", "--to", "2.1.0"]);
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no verified backup") && stderr(&out).contains("--from-live"),
        "an unverified backup is not what a rehearsal trusts: {}",
        stderr(&out)
    );
    o.ok(&["backup", "verify", &id]);

    let db_before = o.db.digest();
    let files_before = files(o.dir.path());
    let (code, r) = json(&o, &["rehearse", "--to", "2.1.0", "--json"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["passed"], true, "{r:#}");
    assert_eq!(r["copy"]["backup"], id.as_str());
    assert_eq!(r["copy"]["rows"].as_u64(), Some(600), "agents and conversations: {r:#}");
    let hops: Vec<(String, String)> = r["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["from"].as_str().unwrap().to_owned(),
                h["to"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        hops,
        [("1.0.0".into(), "2.0.0".into()), ("2.0.0".into(), "2.1.0".into())]
    );
    assert_eq!(r["hops"][0]["expected"], "30-60 min");
    let steps: Vec<(u64, String, String)> = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["hop"].as_u64().unwrap(),
                s["step"].as_str().unwrap().to_owned(),
                s["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for hop in [0, 1] {
        for step in ["preflight", "config", "migrate", "record", "verify"] {
            assert!(
                steps.iter().any(|(h, s, st)| *h == hop && s == step && st == "done"),
                "hop {hop} {step}: {steps:?}"
            );
        }
    }
    assert!(r["rollback_ms"].as_u64().is_some(), "{r:#}");
    assert_eq!(r["differences"], serde_json::Value::Null, "{r:#}");

    assert_eq!(o.db.digest(), db_before, "the live database is as it was");
    assert_eq!(
        files(o.dir.path()),
        files_before,
        "the project's files are byte for byte as they were"
    );
    let runs = o.ok(&["runs"]);
    assert!(
        runs.contains("no upgrade runs in"),
        "no run was journaled in the live state: {runs}"
    );
    assert!(o.ok(&["status"]).contains("1.0.0"));
    let plan = o.ok(&["plan", "--to", "2.1.0"]);
    assert!(plan.contains("measured: ") && plan.contains("(rows: 600)"), "{plan}");
}

#[test]
fn a_post_check_failing_on_the_copy_fails_the_rehearsal_and_a_policy_can_require_one() {
    let o = osmen();
    append(
        &o,
        "ferry.toml",
        "[[checks]]\nname = \"no agent\"\nwhen = \"post\"\nsince = \"2.1.0\"\nsql = \"SELECT count(*) FROM agents\"\nexpect = 0\n",
    );
    let toml = std::fs::read_to_string(o.dir.path().join("ferry.toml"))
        .unwrap()
        .replace(
            "staging = \"required\"",
            "staging = \"required\"\nrehearsal = \"required\"",
        );
    std::fs::write(o.dir.path().join("ferry.toml"), toml).unwrap();

    let out = run(&o, &["upgrade", "--to", "2.1.0", "--yes"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("requires a passed rehearsal")
            && stderr(&out).contains("no rehearsal of this plan has run"),
        "{}",
        stderr(&out)
    );

    let db_before = o.db.digest();
    let files_before = files(o.dir.path());
    let out = run(&o, &["rehearse", "--to", "2.1.0", "--from-live"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(text.contains("FAILED at hop 2, verify"), "{text}");
    assert!(text.contains("no agent"), "{text}");
    assert_eq!(o.db.digest(), db_before);
    assert_eq!(files(o.dir.path()), files_before);
    assert!(
        !o.dir.path().join(".ferry/backups").exists(),
        "--from-live keeps its backup with the copy"
    );

    let out = run(&o, &["upgrade", "--to", "2.1.0", "--yes"]);
    assert!(stderr(&out).contains("failed at verify"), "{}", stderr(&out));

    // The check fixed, a passed rehearsal lets the upgrade run.
    let toml = std::fs::read_to_string(o.dir.path().join("ferry.toml"))
        .unwrap()
        .replace("expect = 0", "expect = 300");
    std::fs::write(o.dir.path().join("ferry.toml"), toml).unwrap();
    o.ok(&["rehearse", "--to", "2.1.0", "--from-live"]);
    // A rehearsal on a copy older than the policy allows does not count.
    // (Records are kept in the database's ferry_state schema.)
    let docs = "ferry_state.ferry_history_docs";
    let newest =
        o.db.column(&format!(
            "SELECT name FROM {docs} WHERE name LIKE 'rehearsals/%' ORDER BY name"
        ))
        .pop()
        .unwrap();
    let fresh =
        o.db.column(&format!(
            "SELECT convert_from(body, 'UTF8') FROM {docs} WHERE name = '{newest}'"
        ))
        .pop()
        .unwrap();
    let set = |text: &str| {
        o.db.exec(&format!(
            "UPDATE {docs} SET body = convert_to($${text}$$, 'UTF8') WHERE name = '{newest}'"
        ))
    };
    let mut old: serde_json::Value = serde_json::from_str(&fresh).unwrap();
    old["copy"]["taken_at"] = "2026-01-01T00:00:00Z".into();
    set(&old.to_string());
    let out = run(&o, &["upgrade", "--to", "2.1.0", "--yes"]);
    assert!(stderr(&out).contains("older than the 7days"), "{}", stderr(&out));
    set(&fresh);
    o.ok(&["upgrade", "--to", "2.1.0", "--yes"]);
    assert!(o.ok(&["status"]).contains("2.1.0"));
}

/// A project at 1.0.0, rehearsed to 1.1.0 from the live database: passes,
/// and leaves the live database as it was.
fn rehearsed_from_live_on_each_engine(kind: Kind) {
    let p = items_project(kind, "");
    p.write(
        "migrations/0002_note.up.sql",
        "ALTER TABLE items ADD COLUMN note VARCHAR(40);\nUPDATE items SET priority = priority * 2;\n",
    );
    p.write(
        "migrations/0002_note.down.sql",
        "ALTER TABLE items DROP COLUMN note;\nUPDATE items SET priority = priority / 2;\n",
    );
    p.write("releases/1.1.0.toml", "version = \"1.1.0\"\nschema = 2\n");
    let before = p.db.digest();
    let out = p
        .ferry()
        .args(["rehearse", "--to", "1.0.0", "--from-live"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("nothing to rehearse"), "{}", stderr(&out));
    let out = p.ferry().args(["rehearse", "--from-live", "--json"]).output().unwrap();
    let r: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}{}", stdout(&out), stderr(&out)));
    assert_eq!(r["passed"], true, "{r:#}");
    assert_eq!(r["copy"]["from_live"], true);
    assert_eq!(p.db.digest(), before, "the live database is as it was");

    // --keep leaves the copy where it says, marked so that no later job
    // takes it for one a killed ferry left.
    let out = p
        .ferry()
        .args(["rehearse", "--from-live", "--keep", "--json"])
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let folder = std::path::PathBuf::from(r["kept"][0].as_str().unwrap());
    assert!(folder.join("project/ferry.toml").exists(), "{r:#}");
    let db = r["kept"][1].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    if kind == Kind::Postgres {
        assert_eq!(
            p.db.server_scalar(&format!(
                "SELECT count(*) FROM pg_database d WHERE datname = '{db}' AND shobj_description(d.oid, 'pg_database') = 'ferry: kept'"
            )),
            1,
            "{r:#}"
        );
    }
    std::fs::remove_dir_all(&folder).unwrap();
    match r["kept"][1].as_str().unwrap().strip_prefix("sqlite://") {
        Some(file) => std::fs::remove_dir_all(std::path::Path::new(file).parent().unwrap()).unwrap(),
        None => ferry_testkit::TestDb::drop_named(kind, &db),
    }

    // A down that does not undo the data change is caught by the row checksums.
    p.write("migrations/0002_note.down.sql", "ALTER TABLE items DROP COLUMN note;\n");
    let out = p.ferry().args(["rehearse", "--from-live", "--json"]).output().unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{r:#}");
    assert_eq!(r["failure"]["step"], "compare", "{r:#}");
    assert!(
        r["differences"][0]
            .as_str()
            .unwrap()
            .starts_with("table items: the rows' contents differ"),
        "{r:#}"
    );
    assert_eq!(p.db.digest(), before);
}

/// A rehearsal killed in the middle of the copy's migrations (a debug-build
/// crash point in its run's journal) leaves the live database and the
/// project's files as they were and no record; the next rehearsal passes.
fn a_killed_rehearsal_leaves_nothing_behind_in_the_project(kind: Kind) {
    let p = items_project(kind, "");
    p.write(
        "migrations/0002_note.up.sql",
        "ALTER TABLE items ADD COLUMN note VARCHAR(40);\n",
    );
    p.write("migrations/0002_note.down.sql", "ALTER TABLE items DROP COLUMN note;\n");
    p.write("releases/1.1.0.toml", "version = \"1.1.0\"\nschema = 2\n");
    let before = p.db.digest();
    let files_before = files(p.path());
    // Record 6 of the copy's journal: the migrate step has started.
    let child = p
        .process(&["rehearse", "--from-live"])
        .env("FERRY_TEST_CRASH_AT", "6")
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "{}{}", stdout(&out), stderr(&out));
    // Its scratch database stays until a later job finds its process gone
    // (PostgreSQL, after an hour) or the operator drops it (MariaDB).
    let left = match kind {
        Kind::Sqlite => Vec::new(),
        Kind::Postgres => p.db.column(&format!(
            "SELECT datname::text FROM pg_database WHERE datname LIKE 'ferry\\_rehearse\\_{pid}\\_%'"
        )),
        Kind::MySql => p.db.column(&format!(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'ferry\\_rehearse\\_{pid}\\_%'"
        )),
    };
    assert_eq!(left.len(), usize::from(kind != Kind::Sqlite), "{left:?}");
    for db in &left {
        ferry_testkit::TestDb::drop_named(kind, db);
    }
    assert_eq!(p.db.digest(), before);
    assert_eq!(files(p.path()), files_before);
    assert!(!p.path().join(".ferry/rehearsals").exists());
    let out = p.ferry().args(["rehearse", "--from-live", "--json"]).output().unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["passed"], true, "{r:#}");
}

per_engine!(
    rehearsed_from_live_on_each_engine,
    a_killed_rehearsal_leaves_nothing_behind_in_the_project,
);

/// Hooks run on a rehearsal only with --hooks, and then in the copy's
/// folder: what they write with relative paths does not land in the project.
#[test]
fn hooks_run_only_when_asked_and_in_the_copy() {
    let p = items_project(
        Kind::Sqlite,
        "[[hooks]]\nwhen = \"before\"\nrun = \"echo stopping >> hooks.log\"\n",
    );
    p.write("migrations/0002_b.up.sql", "CREATE TABLE b (id INTEGER PRIMARY KEY);\n");
    p.write("migrations/0002_b.down.sql", "DROP TABLE b;\n");
    p.write("releases/1.1.0.toml", "version = \"1.1.0\"\nschema = 2\n");
    let rehearse = |args: &[&str]| -> serde_json::Value {
        let out = p.ferry().args(args).output().unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let hooks_step = |r: &serde_json::Value| {
        r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["step"] == "hooks_before")
            .map(|s| s["status"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let r = rehearse(&["rehearse", "--from-live", "--json"]);
    assert_eq!(r["passed"], true, "{r:#}");
    assert_eq!(hooks_step(&r), "skipped");
    // The hook writes into the copy's folder, which is the copy's config
    // folder too: the comparison after the rollback sees the new file.
    let r = rehearse(&["rehearse", "--from-live", "--hooks", "--json"]);
    assert_eq!(hooks_step(&r), "done");
    assert_eq!(
        r["differences"],
        serde_json::json!(["config file hooks.log is new"]),
        "{r:#}"
    );
    assert!(!p.path().join("hooks.log").exists(), "the hook wrote into the project");
}
