//! Config-file migrations: byte-exact golden files for every format and
//! operation, migrate → revert byte for byte, malformed files, globs that
//! must be all-or-nothing.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use ferry::config::migrate::{self, Step};
use ferry::project::Release;
use ferry::state::DirStore;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config")
}

/// The name the input of `format` takes in a config folder.
fn target(format: &str) -> &'static str {
    match format {
        "env" => ".env",
        "yaml" => "config.yaml",
        "toml" => "config.toml",
        _ => "settings.json",
    }
}

fn release(path: &Path) -> Release {
    Release::parse(path, &fs::read_to_string(path).unwrap()).unwrap_or_else(|p| panic!("{p:?}"))
}

/// Applies `<format>/<op>.toml` to the format's input and compares the
/// result with `<format>/<op>.expected`, byte for byte (FERRY_BLESS=1
/// writes it instead); then writes it, checks the mode is kept, runs the
/// same migration again (nothing to do) and reverts (the input comes back).
fn golden(format: &str, op: &str) {
    let dir = fixtures().join(format);
    let input_path = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_stem().is_some_and(|s| s == "input"))
        .unwrap();
    let input = fs::read(&input_path).unwrap();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join(target(format));
    fs::write(&file, &input).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
    let rel = release(&dir.join(format!("{op}.toml")));
    let steps = [Step {
        version: &rel.version,
        changes: &rel.config,
    }];
    let prepared = migrate::prepare(work.path(), &steps).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(prepared.files.len(), 1);
    let after = &prepared.files[0].after;
    let expected_path = dir.join(format!("{op}.expected"));
    if std::env::var_os("FERRY_BLESS").is_some() {
        fs::write(&expected_path, after).unwrap();
    }
    let expected = fs::read_to_string(&expected_path).unwrap();
    assert_eq!(after, &expected, "{format}/{op}: the edit differs from the golden file");
    assert_ne!(after.as_bytes(), input.as_slice(), "{format}/{op} changed nothing");
    assert_eq!(fs::read(&file).unwrap(), input, "preparing writes nothing");

    let mut store = DirStore::new(work.path().join(".ferry"));
    let record = migrate::apply(&mut store, &prepared, None, &rel.version, None)
        .unwrap()
        .unwrap();
    assert_eq!(fs::read_to_string(&file).unwrap(), expected);
    assert_eq!(fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o640);
    assert!(record.is_applied());

    let again = migrate::prepare(work.path(), &steps).unwrap();
    assert!(
        again.is_noop(),
        "{format}/{op}: a second run must change nothing:\n{}",
        again.diff()
    );
    assert!(
        migrate::apply(&mut store, &again, None, &rel.version, None)
            .unwrap()
            .is_none()
    );
    assert_eq!(
        migrate::records(&mut store).unwrap().len(),
        1,
        "a no-op records nothing"
    );

    migrate::revert(&mut store, false).unwrap().unwrap();
    assert_eq!(
        fs::read(&file).unwrap(),
        input,
        "{format}/{op}: revert must give back the input byte for byte"
    );
    assert_eq!(fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o640);
    assert!(migrate::records(&mut store).unwrap().is_empty());
}

macro_rules! goldens {
    ($($format:ident: [$($op:ident),*];)*) => {
        $(mod $format {
            $(#[test]
            fn $op() {
                super::golden(stringify!($format), stringify!($op));
            })*
        })*
    };
}

goldens! {
    env: [add, rename, set, derive, split, deprecate, remove];
    yaml: [add, rename, set, derive, split, deprecate, remove];
    toml: [add, rename, set, derive, split, deprecate, remove];
    json: [add, rename, set, derive, split, deprecate, remove];
}

/// A config folder with `files`, and a release 2.0.0 made of `changes`.
fn setup(files: &[(&str, &str)], changes: &str) -> (tempfile::TempDir, Release) {
    let work = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let p = work.path().join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    let rel_path = work.path().join("2.0.0.toml");
    let text = format!("version = \"2.0.0\"\n\n{changes}");
    let rel = Release::parse(&rel_path, &text).unwrap_or_else(|p| panic!("{p:?}"));
    (work, rel)
}

fn steps(rel: &Release) -> [Step<'_>; 1] {
    [Step {
        version: &rel.version,
        changes: &rel.config,
    }]
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in walk(dir) {
        out.push((e.clone(), fs::read(&e).unwrap()));
    }
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn malformed_files_name_file_and_line_and_stay_untouched() {
    for (name, text, line, change) in [
        (
            ".env",
            "A=1\nB=\"open\nC=3\n",
            2,
            "file = \".env\"\nadd = \"D\"\nvalue = 1",
        ),
        (
            "config.yaml",
            "a: 1\nb: [1, 2\nc: 3\n",
            2,
            "file = \"config.yaml\"\nadd = \"d\"\nvalue = 1",
        ),
        (
            "config.toml",
            "a = 1\nb = \nc = 3\n",
            2,
            "file = \"config.toml\"\nadd = \"d\"\nvalue = 1",
        ),
        (
            "settings.json",
            "{\n  \"a\": 1,\n  \"b\": [1,\n}\n",
            4,
            "file = \"settings.json\"\nadd = \"d\"\nvalue = 1",
        ),
    ] {
        let (work, rel) = setup(&[(name, text)], &format!("[[config]]\n{change}\n"));
        let before = snapshot(work.path());
        let err = migrate::prepare(work.path(), &steps(&rel)).unwrap_err();
        let ferry::Error::Config(problems) = &err else {
            panic!("{name}: {err}")
        };
        let p = &problems.0[0];
        assert!(p.file.as_ref().unwrap().ends_with(name), "{name}: {p:?}");
        assert!(
            p.line.is_some_and(|l| l >= line && l <= line + 1),
            "{name}: line {:?}, wanted {line}",
            p.line
        );
        assert_eq!(snapshot(work.path()), before, "{name} was touched");
    }
}

#[test]
fn a_glob_with_one_malformed_file_writes_none() {
    let good = "name: small\ntemplate_vm: 9000\ncpu: 2\n";
    let (work, rel) = setup(
        &[
            ("profiles/a.yaml", good),
            ("profiles/b.yaml", "name: broken\ncpu: [2\n"),
            ("profiles/c.yaml", good),
        ],
        "[[config]]\nfile = \"profiles/*.yaml\"\nrename = \"cpu\"\nto = \"cores\"\n",
    );
    let before = snapshot(work.path());
    let err = migrate::prepare(work.path(), &steps(&rel)).unwrap_err().to_string();
    assert!(err.contains("b.yaml"), "{err}");
    assert_eq!(snapshot(work.path()), before);
    // Mended, it renames in all three.
    fs::write(work.path().join("profiles/b.yaml"), "name: mended\ncpu: 4\n").unwrap();
    let p = migrate::prepare(work.path(), &steps(&rel)).unwrap();
    assert_eq!(p.changed().count(), 3);
    assert!(
        p.changed()
            .all(|f| f.after.contains("cores:") && !f.after.contains("cpu:"))
    );
}

#[test]
fn require_stops_with_the_release_message() {
    let (work, rel) = setup(
        &[(".env", "A=1\n")],
        "[[config]]\nfile = \".env\"\nadd = \"B\"\nvalue = 2\n\n[[config]]\nfile = \".env\"\nrequire = \"SECRET_KEY\"\nmessage = \"generate one with openssl rand -hex 32\"\n",
    );
    let err = migrate::prepare(work.path(), &steps(&rel)).unwrap_err().to_string();
    assert!(err.contains("SECRET_KEY") && err.contains("openssl rand"), "{err}");
    assert_eq!(fs::read_to_string(work.path().join(".env")).unwrap(), "A=1\n");
    fs::write(work.path().join(".env"), "A=1\nSECRET_KEY=x\n").unwrap();
    assert_eq!(
        migrate::prepare(work.path(), &steps(&rel)).unwrap().changed().count(),
        1
    );
}

#[test]
fn a_rename_onto_an_existing_key_is_refused() {
    let (work, rel) = setup(
        &[("config.yaml", "cpu: 2\ncores: 4\n")],
        "[[config]]\nfile = \"config.yaml\"\nrename = \"cpu\"\nto = \"cores\"\n",
    );
    let err = migrate::prepare(work.path(), &steps(&rel)).unwrap_err().to_string();
    assert!(err.contains("also has `cores`"), "{err}");
}

#[test]
fn deprecating_in_plain_json_is_refused() {
    let (work, rel) = setup(
        &[("settings.json", "{\n  \"a\": 1,\n  \"b\": 2\n}\n")],
        "[[config]]\nfile = \"settings.json\"\ndeprecate = \"a\"\n",
    );
    let err = migrate::prepare(work.path(), &steps(&rel)).unwrap_err().to_string();
    assert!(err.contains("plain JSON"), "{err}");
}

#[test]
fn symbolic_links_stay_links() {
    let (work, rel) = setup(
        &[("real/config.yaml", "a: 1\n")],
        "[[config]]\nfile = \"config.yaml\"\nadd = \"b\"\nvalue = 2\n",
    );
    std::os::unix::fs::symlink("real/config.yaml", work.path().join("config.yaml")).unwrap();
    let p = migrate::prepare(work.path(), &steps(&rel)).unwrap();
    let mut store = DirStore::new(work.path().join(".ferry"));
    migrate::apply(&mut store, &p, None, &rel.version, None)
        .unwrap()
        .unwrap();
    let link = work.path().join("config.yaml");
    assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(
        fs::read_to_string(work.path().join("real/config.yaml")).unwrap(),
        "a: 1\nb: 2\n"
    );
    migrate::revert(&mut store, false).unwrap().unwrap();
    assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(fs::read_to_string(&link).unwrap(), "a: 1\n");
}

#[test]
fn revert_refuses_a_file_edited_since_unless_forced() {
    let (work, rel) = setup(
        &[(".env", "A=1\n")],
        "[[config]]\nfile = \".env\"\nadd = \"B\"\nvalue = 2\n",
    );
    let mut store = DirStore::new(work.path().join(".ferry"));
    let p = migrate::prepare(work.path(), &steps(&rel)).unwrap();
    migrate::apply(&mut store, &p, None, &rel.version, None)
        .unwrap()
        .unwrap();
    fs::write(work.path().join(".env"), "A=1\nB=2\nHAND=edited\n").unwrap();
    let err = migrate::revert(&mut store, false).unwrap_err().to_string();
    assert!(err.contains("changed after the migration"), "{err}");
    assert_eq!(
        fs::read_to_string(work.path().join(".env")).unwrap(),
        "A=1\nB=2\nHAND=edited\n"
    );
    migrate::revert(&mut store, true).unwrap().unwrap();
    assert_eq!(fs::read_to_string(work.path().join(".env")).unwrap(), "A=1\n");
}

#[test]
fn a_run_killed_half_way_is_reverted_from_its_record() {
    // The state a kill leaves between two renames: the record says
    // "writing", the first file is migrated, the second is not.
    let (work, rel) = setup(
        &[("a.env", "A=1\n"), ("b.env", "B=1\n")],
        "[[config]]\nfile = \"*.env\"\nadd = \"NEW\"\nvalue = 2\n",
    );
    let state = work.path().join(".ferry/config");
    let mut store = DirStore::new(work.path().join(".ferry"));
    let p = migrate::prepare(work.path(), &steps(&rel)).unwrap();
    let record = migrate::apply(&mut store, &p, None, &rel.version, None)
        .unwrap()
        .unwrap();
    fs::write(work.path().join("b.env"), "B=1\n").unwrap();
    let file = state.join(&record.id).join("record.json");
    let text = fs::read_to_string(&file).unwrap().replace("\"applied\"", "\"writing\"");
    fs::write(&file, text).unwrap();
    assert_eq!(fs::read_to_string(work.path().join("a.env")).unwrap(), "A=1\nNEW=2\n");

    // Until it is reverted, nothing builds on it.
    let err = migrate::current(&mut store).unwrap_err().to_string();
    assert!(
        err.contains("did not finish") && err.contains("ferry config revert"),
        "{err}"
    );
    let again = migrate::prepare(work.path(), &steps(&rel)).unwrap();
    let err = migrate::apply(&mut store, &again, None, &rel.version, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("did not finish"), "{err}");

    migrate::revert(&mut store, false).unwrap().unwrap();
    assert_eq!(fs::read_to_string(work.path().join("a.env")).unwrap(), "A=1\n");
    assert_eq!(fs::read_to_string(work.path().join("b.env")).unwrap(), "B=1\n");
    assert!(migrate::records(&mut store).unwrap().is_empty());
}

#[test]
fn originals_are_private_and_records_hold_no_contents() {
    let (work, rel) = setup(
        &[(".env", "DB_PASSWORD=hunter2\n")],
        "[[config]]\nfile = \".env\"\nrename = \"DB_PASSWORD\"\nto = \"DATABASE_PASSWORD\"\n",
    );
    let state = work.path().join(".ferry/config");
    let mut store = DirStore::new(work.path().join(".ferry"));
    let p = migrate::prepare(work.path(), &steps(&rel)).unwrap();
    let diff = p.diff();
    assert!(!diff.contains("hunter2"), "{diff}");
    assert!(diff.contains("+DATABASE_PASSWORD=****"), "{diff}");
    let record = migrate::apply(&mut store, &p, None, &rel.version, None)
        .unwrap()
        .unwrap();
    let folder = state.join(&record.id);
    assert_eq!(fs::metadata(&folder).unwrap().permissions().mode() & 0o777, 0o700);
    assert_eq!(
        fs::metadata(folder.join("0.orig")).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let json = fs::read_to_string(folder.join("record.json")).unwrap();
    assert!(!json.contains("hunter2"), "{json}");
}

#[test]
fn the_owner_and_mode_of_a_file_are_kept() {
    // ferry runs as root when it upgrades a system service; the config file
    // belongs to the service's user. (This test needs root, as CI has.)
    let (work, rel) = setup(
        &[("app.env", "A=1\n")],
        "[[config]]\nfile = \"app.env\"\nadd = \"B\"\nvalue = 2\n",
    );
    let file = work.path().join("app.env");
    std::os::unix::fs::chown(&file, Some(65534), Some(65534))
        .expect("chown needs root: run the tests as root, as CI does");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o604)).unwrap();
    let mut store = DirStore::new(work.path().join(".ferry"));
    let p = migrate::prepare(work.path(), &steps(&rel)).unwrap();
    migrate::apply(&mut store, &p, None, &rel.version, None)
        .unwrap()
        .unwrap();
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(&file).unwrap();
    assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o777), (65534, 65534, 0o604));
    migrate::revert(&mut store, false).unwrap().unwrap();
    let meta = fs::metadata(&file).unwrap();
    assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o777), (65534, 65534, 0o604));
    assert_eq!(fs::read_to_string(&file).unwrap(), "A=1\n");
}

#[test]
fn migrations_stack_and_revert_one_at_a_time() {
    let work = tempfile::tempdir().unwrap();
    let env = work.path().join(".env");
    fs::write(&env, "# settings\nAGENT_MEMORY=http://qdrant:6333\n").unwrap();
    let v2 = Release::parse(
        &work.path().join("2.0.0.toml"),
        "version = \"2.0.0\"\n[[config]]\nfile = \".env\"\nrename = \"AGENT_MEMORY\"\nto = \"QDRANT_HOST\"\n",
    )
    .unwrap();
    let v21 = Release::parse(
        &work.path().join("2.1.0.toml"),
        "version = \"2.1.0\"\n[[config]]\nfile = \".env\"\nadd = \"NEW_FEATURE_ENABLED\"\nvalue = true\n",
    )
    .unwrap();
    let mut store = DirStore::new(work.path().join(".ferry"));
    let original = fs::read_to_string(&env).unwrap();
    let p = migrate::prepare(work.path(), &steps(&v2)).unwrap();
    migrate::apply(&mut store, &p, None, &v2.version, None)
        .unwrap()
        .unwrap();
    let after_v2 = fs::read_to_string(&env).unwrap();
    assert_eq!(migrate::current(&mut store).unwrap(), Some(v2.version.clone()));
    let p = migrate::prepare(work.path(), &steps(&v21)).unwrap();
    migrate::apply(&mut store, &p, Some(&v2.version), &v21.version, None)
        .unwrap()
        .unwrap();
    assert_eq!(
        fs::read_to_string(&env).unwrap(),
        "# settings\nQDRANT_HOST=http://qdrant:6333\nNEW_FEATURE_ENABLED=true\n"
    );
    assert_eq!(migrate::current(&mut store).unwrap(), Some(v21.version.clone()));

    assert_eq!(migrate::revert(&mut store, false).unwrap().unwrap().to, "2.1.0");
    assert_eq!(fs::read_to_string(&env).unwrap(), after_v2);
    assert_eq!(migrate::current(&mut store).unwrap(), Some(v2.version.clone()));
    assert_eq!(migrate::revert(&mut store, false).unwrap().unwrap().to, "2.0.0");
    assert_eq!(fs::read_to_string(&env).unwrap(), original);
    assert!(migrate::revert(&mut store, false).unwrap().is_none());
}

#[test]
fn config_diff_reads_a_file_named_by_two_patterns_once() {
    let (work, rel) = setup(
        &[("config.yaml", "proxmox_host: pve\n"), ("other.yaml", "a: 1\n")],
        "[[config]]\nfile = \"config.yaml\"\ndeprecate = \"proxmox_host\"\n\n[[config]]\nfile = \"*.yaml\"\nadd = \"listen\"\nvalue = \"x\"\n\n[[config]]\nfile = \"config.yaml\"\nrequire = \"proxmox_api_url\"\n",
    );
    let findings =
        ferry::config::compare::against_releases(work.path(), &[(&rel.version, rel.config.as_slice())]).unwrap();
    let mut seen: Vec<(String, String)> = findings.iter().map(|f| (f.file.clone(), f.key.clone())).collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("config.yaml", "listen"),
            ("config.yaml", "proxmox_api_url"),
            ("config.yaml", "proxmox_host"),
            ("other.yaml", "listen"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert!(findings.iter().any(|f| f.key == "proxmox_api_url" && f.required));
}
