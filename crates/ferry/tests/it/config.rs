//! Config-file migrations: byte-exact golden files for every format and
//! operation, migrate → revert byte for byte, malformed files, globs that
//! must be all-or-nothing.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use ferry::config::migrate::{self, Step};
use ferry::release::Release;

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

    let state = work.path().join(".ferry/config");
    let record = migrate::apply(&prepared, &state, None, &rel.version).unwrap().unwrap();
    assert_eq!(fs::read_to_string(&file).unwrap(), expected);
    assert_eq!(fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o640);
    assert_eq!(record.state, "applied");

    let again = migrate::prepare(work.path(), &steps).unwrap();
    assert!(
        again.is_noop(),
        "{format}/{op}: a second run must change nothing:\n{}",
        again.diff()
    );
    assert!(migrate::apply(&again, &state, None, &rel.version).unwrap().is_none());
    assert_eq!(migrate::records(&state).unwrap().len(), 1, "a no-op records nothing");

    migrate::revert(&state, false).unwrap().unwrap();
    assert_eq!(
        fs::read(&file).unwrap(),
        input,
        "{format}/{op}: revert must give back the input byte for byte"
    );
    assert_eq!(fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o640);
    assert!(migrate::records(&state).unwrap().is_empty());
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
