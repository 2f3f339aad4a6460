//! `ferry config` and the config parts of `ferry plan` and `ferry status`:
//! the AgentLab example end to end (the README's first command included),
//! secrets kept out of every output, `config diff` exit codes, malformed
//! files.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{ferry, stdout};

fn agentlab() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/agentlab")
}

/// A scratch copy of the AgentLab example, without any database or state.
fn copy_agentlab() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy(&agentlab(), dir.path());
    dir
}

/// The config-migration records in the copy's run state (its SQLite
/// database's state tables): each record's JSON.
fn config_records(dir: &Path) -> Vec<String> {
    let db = dir.join("agentlab.db");
    if !db.exists() {
        return Vec::new();
    }
    let conn = rusqlite::Connection::open(db).unwrap();
    let Ok(mut q) =
        conn.prepare("SELECT body FROM ferry_history_state_docs WHERE name LIKE 'config/%/record.json' ORDER BY name")
    else {
        return Vec::new();
    };
    q.query_map([], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(|b| String::from_utf8(b.unwrap()).unwrap())
        .collect()
}

fn copy(from: &Path, to: &Path) {
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("agentlab.db") || name == ".ferry" {
            continue;
        }
        let target = to.join(&name);
        if e.file_type().unwrap().is_dir() {
            fs::create_dir_all(&target).unwrap();
            copy(&e.path(), &target);
        } else {
            fs::copy(e.path(), target).unwrap();
        }
    }
}

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = ferry().current_dir(dir).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        stdout(&out),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let (code, out, err) = run(dir, args);
    assert_eq!(code, 0, "ferry {args:?}: {out}{err}");
    out
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    ["config.yaml", "profiles/small.yaml", "profiles/gpu.yaml"]
        .iter()
        .map(|f| (f.to_string(), fs::read(dir.join(f)).unwrap()))
        .collect()
}

#[test]
fn agentlab_upgrade_from_1_0_0_to_2_0_0() {
    let work = copy_agentlab();
    let dir = work.path();
    let originals = files(dir);
    ok(dir, &["db", "migrate", "--to", "2"]);
    let status = ok(dir, &["status"]);
    assert!(status.contains("installed: 1.0.0 (inferred"), "{status}");
    assert!(status.contains("config:    no config migration recorded"), "{status}");

    let plan = ok(dir, &["plan"]);
    for want in [
        "config changes:",
        "2.0.0 rename template_vm to template_vmid in profiles/*.yaml",
        "config preview",
        "+template_vmid: 9000   # the Proxmox template to clone",
        "+cores: 8          # every core of the card's NUMA node",
        "+proxmox_api_url: https://pve.lan:8006",
        "+# proxmox_host: pve.lan   # host name or IP, no scheme  (deprecated in 2.0.0: use proxmox_api_url)",
    ] {
        assert!(plan.contains(want), "plan lacks {want:?}:\n{plan}");
    }

    let (code, diff, _) = run(dir, &["config", "diff"]);
    assert_eq!(code, 1, "proxmox_api_url is required and missing: {diff}");
    assert!(diff.contains("proxmox_api_url (required)"), "{diff}");

    let dry = ok(dir, &["config", "migrate", "--dry-run"]);
    assert!(
        dry.contains("--- a/profiles/gpu.yaml") && dry.contains("dry run: nothing was written"),
        "{dry}"
    );
    assert_eq!(files(dir), originals, "a dry run writes nothing");

    ok(dir, &["backup", "create", "--label", "before-2.0.0"]);
    let migrated = ok(dir, &["config", "migrate"]);
    assert!(
        migrated.contains("migrated the config files from 1.0.0 to 2.0.0"),
        "{migrated}"
    );
    insta::assert_snapshot!(
        "agentlab_config_2_0_0",
        String::from_utf8(fs::read(dir.join("config.yaml")).unwrap()).unwrap()
    );
    insta::assert_snapshot!(
        "agentlab_gpu_profile_2_0_0",
        String::from_utf8(fs::read(dir.join("profiles/gpu.yaml")).unwrap()).unwrap()
    );
    ok(dir, &["db", "migrate"]);
    ok(dir, &["adopt", "2.0.0"]);
    let status = ok(dir, &["status"]);
    assert!(status.contains("installed: 2.0.0 (recorded"), "{status}");
    assert!(status.contains("config:    migrated to 2.0.0"), "{status}");
    assert_eq!(
        ok(dir, &["config", "diff"]),
        "config files: nothing missing, nothing deprecated\n"
    );
    let again = ok(dir, &["config", "migrate"]);
    assert!(again.contains("nothing to change"), "{again}");

    let reverted = ok(dir, &["config", "revert"]);
    assert!(reverted.contains("restored profiles/gpu.yaml"), "{reverted}");
    assert_eq!(files(dir), originals, "revert gives back every file byte for byte");
    assert!(ok(dir, &["status"]).contains("config:    no config migration recorded"));
    assert_eq!(ok(dir, &["config", "revert"]), "no config migration to revert\n");
}

#[test]
fn the_readme_walkthrough_runs_with_only_the_ferry_binary() {
    let out = std::process::Command::new("sh")
        .arg(agentlab().join("try.sh"))
        .env("FERRY", assert_cmd::cargo::cargo_bin("ferry"))
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let order: Vec<usize> = [
        "$ ferry status",
        "$ ferry plan",
        "config preview",
        "$ ferry upgrade --yes",
        "1.0.0 → 2.0.0, done",
        "backup 2",
        "taken and verified (required by the policy)",
        "3 files migrated to 2.0.0",
        "applied 1 migration",
        "installed: 2.0.0 (recorded by upgrade",
        "\"event\":\"step_started\",\"hop\":0,\"step\":\"preflight\"",
        "$ ferry rollback --yes",
        "1.0.0 → 2.0.0, rolled back",
        "undone: 3 config files restored byte for byte",
        "undone: reverted 1 migration with its down script",
        "installed: 1.0.0 (recorded by adopt",
    ]
    .iter()
    .scan(0, |from, w| {
        // Each after the one before.
        let at = *from
            + text[*from..]
                .find(w)
                .unwrap_or_else(|| panic!("no {w:?} after byte {from} in:\n{text}"));
        *from = at + w.len();
        Some(at)
    })
    .collect();
    assert_eq!(order.len(), 16);
    // The example itself is untouched.
    assert!(!agentlab().join(".ferry").exists());
    let example = fs::read_to_string(agentlab().join("profiles/small.yaml")).unwrap();
    assert!(example.contains("template_vm: 9000"), "{example}");
}

/// A project (no database needed) with releases 1.0.0 and 2.0.0 whose config
/// changes touch secrets.
fn secret_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    fs::write(
        p.join("ferry.toml"),
        "[project]\nname = \"s\"\n\n[database]\nurl = \"sqlite://s.db\"\n",
    )
    .unwrap();
    fs::create_dir(p.join("migrations")).unwrap();
    fs::create_dir(p.join("releases")).unwrap();
    fs::write(p.join("releases/1.0.0.toml"), "version = \"1.0.0\"\n").unwrap();
    fs::write(
        p.join("releases/2.0.0.toml"),
        r#"version = "2.0.0"

[[config]]
file = "app.env"
rename = "DB_PASSWORD"
to = "DATABASE_PASSWORD"

[[config]]
file = "app.env"
derive = "READ_URL"
template = "${DATABASE_URL}?target_session_attrs=read-only"

[[config]]
file = "app.env"
deprecate = "API_TOKEN"
note = "use API_TOKEN_FILE"

[[config]]
file = "app.env"
add = "SESSION_SECRET"
value = "change-me-please"

[[config]]
file = "settings.yaml"
set = "auth.client_secret"
value = "rotated-secret-value"
"#,
    )
    .unwrap();
    fs::write(
        p.join("app.env"),
        "DB_PASSWORD=hunter2hunter2\nDATABASE_URL=postgres://app:s3cretpw@db/app\nAPI_TOKEN='tok-abcdef'\n",
    )
    .unwrap();
    fs::write(
        p.join("settings.yaml"),
        "auth:\n  client_secret: old-secret-value  # rotate yearly\n",
    )
    .unwrap();
    dir
}

#[test]
fn secrets_never_reach_output() {
    let work = secret_project();
    let dir = work.path();
    let secrets = [
        "hunter2hunter2",
        "s3cretpw",
        "tok-abcdef",
        "change-me-please",
        "rotated-secret-value",
        "old-secret-value",
    ];
    let mut seen = String::new();
    for args in [
        &["plan", "--from", "1.0.0"][..],
        &["plan", "--from", "1.0.0", "--json"],
        &["plan", "--from", "1.0.0", "--format", "markdown"],
        &["config", "migrate", "--from", "1.0.0", "--dry-run"],
        &["config", "migrate", "--from", "1.0.0", "--dry-run", "--json"],
        &["config", "diff"],
        &["config", "migrate", "--from", "1.0.0"],
        &["status"],
        &["config", "revert", "--json"],
    ] {
        let (code, out, err) = run(dir, args);
        assert!(code == 0 || args[0] == "status", "{args:?}: {out}{err}");
        seen.push_str(&out);
        seen.push_str(&err);
    }
    for s in secrets {
        assert!(!seen.contains(s), "{s} leaked:\n{seen}");
    }
    // What was shown instead.
    assert!(seen.contains("+DATABASE_PASSWORD=****"), "{seen}");
    assert!(seen.contains("postgres://app:****@db/app"), "{seen}");
    assert!(seen.contains("client_secret: ****"), "{seen}");
    // And the files got the real values.
    let env = fs::read_to_string(dir.join("app.env")).unwrap();
    assert!(env.contains("DB_PASSWORD=hunter2hunter2"), "reverted at the end: {env}");
}

#[test]
fn config_diff_against_an_example() {
    let work = secret_project();
    let dir = work.path();
    fs::write(dir.join(".env.example"), "# every setting\nA=1\nB=2\nC=\n").unwrap();
    fs::write(dir.join(".env"), "A=1\nD=4\n").unwrap();
    let (code, out, _) = run(dir, &["config", "diff", "--example", ".env.example"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("missing:\n  .env  B (required)") && out.contains(".env  C (required)"),
        "{out}"
    );
    assert!(out.contains("not in the example:\n  .env  D"), "{out}");
    let (_, json, _) = run(dir, &["config", "diff", "--example", ".env.example", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["missing_required"], true);
    assert_eq!(v["findings"].as_array().unwrap().len(), 3);
    // A file without an example is a usage error.
    let (code, _, err) = run(dir, &["config", "diff", ".env"]);
    assert_eq!(code, 2);
    assert!(err.contains("help: pass --example FILE"), "{err}");
    fs::write(dir.join(".env"), "A=1\nB=2\nC=3\n").unwrap();
    let (code, out, _) = run(dir, &["config", "diff", "--example", ".env.example"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "config files: nothing missing, nothing deprecated\n")
    );
}

#[test]
fn a_malformed_config_file_stops_everything_and_names_its_line() {
    let work = copy_agentlab();
    let dir = work.path();
    fs::write(dir.join("profiles/gpu.yaml"), "name: gpu\ncpu: [8\n").unwrap();
    let before = files(dir);
    let (code, out, err) = run(dir, &["config", "migrate", "--from", "1.0.0"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("profiles/gpu.yaml:2:") || err.contains("profiles/gpu.yaml:3:"),
        "{err}"
    );
    assert_eq!(files(dir), before, "nothing written to any file");
    assert!(!dir.join(".ferry/config").exists() || fs::read_dir(dir.join(".ferry/config")).unwrap().next().is_none());
    // The plan still shows the hop, with the problem in place of the preview.
    let plan = ok(dir, &["plan", "--from", "1.0.0"]);
    assert!(
        plan.contains("config preview: unavailable") && plan.contains("gpu.yaml"),
        "{plan}"
    );
}

#[test]
fn concurrent_config_migrations_apply_once() {
    let work = copy_agentlab();
    let dir = work.path().to_owned();
    let runs: Vec<_> = (0..6)
        .map(|_| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                ferry()
                    .current_dir(&dir)
                    .args(["config", "migrate", "--from", "1.0.0"])
                    .output()
                    .unwrap()
            })
        })
        .collect();
    let outs: Vec<_> = runs.into_iter().map(|r| r.join().unwrap()).collect();
    let migrated = outs
        .iter()
        .filter(|o| stdout(o).contains("migrated the config files"))
        .count();
    assert_eq!(migrated, 1, "exactly one run migrates");
    for o in &outs {
        // The others found nothing to do, or saw the files change under them.
        let text = format!("{}{}", stdout(o), String::from_utf8_lossy(&o.stderr));
        assert!(
            o.status.success() || text.contains("changed while ferry was preparing"),
            "{text}"
        );
    }
    assert_eq!(config_records(&dir).len(), 1);
    let config = fs::read_to_string(dir.join("config.yaml")).unwrap();
    assert_eq!(config.matches("artifact_dir:").count(), 1, "{config}");
}

/// A regression test: migrations and reverts run together once left the
/// record saying "migrated" over files that were half reverted (the
/// migration read the files without the lock).
#[test]
fn concurrent_migrations_and_reverts_keep_files_and_record_in_agreement() {
    let work = copy_agentlab();
    let dir = work.path().to_owned();
    let original = files(&dir);
    let scratch = copy_agentlab();
    ok(scratch.path(), &["config", "migrate", "--from", "1.0.0"]);
    let migrated = files(scratch.path());
    for round in 0..5 {
        let runs: Vec<_> = (0..12)
            .map(|i| {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    let args: &[&str] = if i % 2 == 0 {
                        &["config", "migrate", "--from", "1.0.0"]
                    } else {
                        &["config", "revert"]
                    };
                    ferry().current_dir(&dir).args(args).output().unwrap()
                })
            })
            .collect();
        for r in runs {
            let o = r.join().unwrap();
            let text = format!("{}{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
            assert!(
                o.status.success() || text.contains("changed while ferry was preparing"),
                "round {round}: {text}"
            );
        }
        let records = config_records(&dir).len();
        let now = files(&dir);
        match records {
            0 => assert_eq!(now, original, "round {round}: no record, original files"),
            1 => assert_eq!(now, migrated, "round {round}: one record, migrated files"),
            n => panic!("round {round}: {n} records"),
        }
    }
}

#[test]
fn a_missing_config_folder_is_named() {
    let work = copy_agentlab();
    let (code, _, err) = ferry()
        .current_dir(work.path())
        .env("AGENTLAB_CONFIG_DIR", "/nonexistent/agentlab")
        .args(["config", "migrate", "--from", "1.0.0"])
        .output()
        .map(|o| {
            (
                o.status.code().unwrap(),
                stdout(&o),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        })
        .unwrap();
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("/nonexistent/agentlab does not exist") && err.contains("[config] dir"),
        "{err}"
    );
}

#[test]
fn a_config_migration_killed_mid_way_is_reverted() {
    // Stopped at three points of a migration over many files: before
    // anything is written (kill -9 at once), after the originals are saved
    // but before any file is replaced, and after the first file is replaced
    // (a debug-build hook aborts the process there, without clean-up). A new
    // migration refuses to build on a half-written one; `ferry config
    // revert` puts every file back byte for byte, leaving no temporary file.
    for crash_after in [None, Some(0), Some(1)] {
        let work = copy_agentlab();
        let dir = work.path();
        let gpu = fs::read(dir.join("profiles/gpu.yaml")).unwrap();
        for i in 0..50 {
            fs::write(dir.join(format!("profiles/p{i:03}.yaml")), &gpu).unwrap();
        }
        let before = snapshot_dir(dir);
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("ferry"));
        cmd.args(["config", "migrate", "--from", "1.0.0"])
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let status = match crash_after {
            None => {
                let mut child = cmd.spawn().unwrap();
                child.kill().unwrap();
                child.wait().unwrap()
            }
            Some(n) => cmd
                .env("FERRY_TEST_CRASH_AFTER_RENAMES", n.to_string())
                .status()
                .unwrap(),
        };
        assert!(!status.success(), "{crash_after:?}: the run was not stopped");
        if crash_after == Some(1) {
            let replaced = fs::read_to_string(dir.join("config.yaml")).unwrap();
            assert!(replaced.contains("artifact_dir"), "the first file is replaced");
            let gpu_now = fs::read(dir.join("profiles/gpu.yaml")).unwrap();
            assert_eq!(gpu_now, gpu, "the second is not");
        }
        let unfinished = config_records(dir).iter().any(|t| t.contains("\"writing\""));
        assert_eq!(unfinished, crash_after.is_some(), "{crash_after:?}");
        if unfinished {
            let (code, out, err) = run(dir, &["config", "migrate", "--from", "1.0.0"]);
            assert_eq!(code, 1, "{crash_after:?}: {out}{err}");
            assert!(err.contains("did not finish"), "{err}");
            assert!(ok(dir, &["status"]).contains("did not finish: run `ferry config revert`"));
            let reverted = ok(dir, &["config", "revert"]);
            assert!(
                reverted.contains("reverted the config migration to 2.0.0"),
                "{reverted}"
            );
        } else {
            assert_eq!(ok(dir, &["config", "revert"]), "no config migration to revert\n");
        }
        assert_eq!(
            snapshot_dir(dir),
            before,
            "{crash_after:?}: the files are not back as they were"
        );
        // And the migration then runs through.
        let done = ok(dir, &["config", "migrate", "--from", "1.0.0"]);
        assert!(done.contains("migrated the config files"), "{done}");
    }
}

/// Every file of the config folder (the state folder and the database left
/// out), with the SHA-256 of its bytes.
fn snapshot_dir(dir: &Path) -> Vec<(String, String)> {
    use sha2::Digest;
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.file_name()
                .is_some_and(|n| n == ".ferry" || n.to_string_lossy().starts_with("agentlab.db"))
            {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                let sum = hex::encode(sha2::Sha256::digest(fs::read(&p).unwrap()));
                out.push((p.strip_prefix(dir).unwrap().display().to_string(), sum));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn config_migrate_refuses_going_back_and_says_what_a_fresh_install_needs() {
    let work = secret_project();
    let dir = work.path();
    let (code, out, err) = run(dir, &["config", "migrate", "--from", "2.0.0", "--to", "1.0.0"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("newer than 1.0.0") && err.contains("ferry config revert"),
        "{err}"
    );

    // No --from, no record, a fresh database: nothing to migrate.
    let fresh = ok(dir, &["config", "migrate"]);
    assert!(fresh.contains("the database is fresh"), "{fresh}");
    assert!(!dir.join(".ferry/config").exists());
}

#[test]
fn an_unset_variable_in_config_dir_names_the_line_and_the_fix() {
    let work = copy_agentlab();
    let dir = work.path();
    let toml = fs::read_to_string(dir.join("ferry.toml")).unwrap();
    fs::write(
        dir.join("ferry.toml"),
        toml.replace("${AGENTLAB_CONFIG_DIR:-.}", "${AGENTLAB_CONFIG_DIR}"),
    )
    .unwrap();
    let (code, _, err) = ferry()
        .current_dir(dir)
        .env_remove("AGENTLAB_CONFIG_DIR")
        .args(["config", "migrate", "--from", "1.0.0"])
        .output()
        .map(|o| {
            (
                o.status.code().unwrap(),
                stdout(&o),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        })
        .unwrap();
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("ferry.toml:") && err.contains("`${AGENTLAB_CONFIG_DIR}` in config.dir is not set"),
        "{err}"
    );
    assert!(err.contains("help: set AGENTLAB_CONFIG_DIR"), "{err}");
}
