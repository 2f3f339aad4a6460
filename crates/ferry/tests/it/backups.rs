//! Backups on every engine: create, change everything, restore, and get the
//! original rows, config bytes and modes back; damage is found; hostile
//! archives and busy databases are refused.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use ferry::backup::{self, Context, Entry, Store};
use ferry::project::backup::{BackupSettings, Retention};
use ferry::{DatabaseUrl, Error, MigrateOptions, Migrator, Settings};
use ferry_testkit::{Kind, TestDb, per_engine};

use crate::support::{basic, set};

per_engine!(
    sidecars_are_checked_against_their_archive,
    create_change_restore_gives_back_the_original,
    damage_is_found_and_blocks_restore,
    hostile_archives_are_refused_and_nothing_is_written,
    restore_refuses_a_database_in_use,
    drill_checks_a_scratch_copy,
);

struct Fixture {
    db: TestDb,
    root: tempfile::TempDir,
    store: Store,
    settings: BackupSettings,
    url: DatabaseUrl,
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn write(root: &Path, rel: &str, text: &str, m: u32) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(m)).unwrap();
}

fn fixture(kind: Kind) -> Fixture {
    let db = TestDb::new(kind);
    let root = tempfile::tempdir().unwrap();
    write(root.path(), ".env", "DATABASE_URL=x\nSECRET_KEY=s3cret\n", 0o640);
    write(root.path(), "config/app.yaml", "# settings\nworkers: 4\n", 0o600);
    write(
        root.path(),
        "certs/server.pem",
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        0o644,
    );
    let url = DatabaseUrl::parse(&db.url, root.path()).unwrap();
    let mut m = Migrator::connect(&url, Settings::default()).unwrap();
    m.migrate(&set(&basic()), MigrateOptions::default(), &mut ()).unwrap();
    let settings = BackupSettings {
        dir: root.path().join(".ferry/backups"),
        files: vec![".env".into(), "config/".into(), "certs/*.pem".into()],
        level: 3,
        retention: Retention::default(),
    };
    Fixture {
        store: Store::new(&settings.dir),
        db,
        root,
        settings,
        url,
    }
}

impl Fixture {
    fn migrator(&self) -> Migrator {
        Migrator::connect(&self.url, Settings::default()).unwrap()
    }

    fn create(&self, label: &str) -> Entry {
        let ctx = Context {
            project: Some("t".into()),
            release: Some("1.0.0".into()),
        };
        backup::create(
            &self.store,
            &self.settings,
            self.root.path(),
            &self.url,
            &mut self.migrator(),
            &ctx,
            Some(label),
        )
        .unwrap()
    }

    fn restore(&self, entry: &Entry) -> Result<Option<backup::RestorePlan>, Error> {
        backup::restore(
            &self.store,
            entry,
            self.root.path(),
            &self.url,
            &mut self.migrator(),
            backup::RestoreOptions::default(),
            |_| true,
        )
    }

    fn files(&self) -> Vec<(String, String, u32)> {
        [".env", "config/app.yaml", "certs/server.pem"]
            .iter()
            .map(|f| {
                let p = self.root.path().join(f);
                (
                    f.to_string(),
                    std::fs::read_to_string(&p).unwrap_or_default(),
                    if p.exists() { mode(&p) } else { 0 },
                )
            })
            .collect()
    }
}

fn create_change_restore_gives_back_the_original(kind: Kind) {
    let f = fixture(kind);
    f.db.exec("INSERT INTO b (id, a_id) VALUES (1, 1), (2, 2)");
    let before_rows = f.db.digest();
    let before_files = f.files();
    let entry = f.create("before upgrade");
    let m = &entry.sidecar.manifest;
    assert_eq!(m.release.as_deref(), Some("1.0.0"));
    assert_eq!(m.schema, Some(3));
    assert_eq!(m.members.len(), 4, "{:?}", m.members);
    assert!(m.members.iter().any(|x| x.path == "files/.env" && x.mode == 0o640));
    // Backups are private whatever the umask.
    assert_eq!(mode(&entry.archive), 0o600);
    assert_eq!(mode(f.store.dir()), 0o700);
    assert!(backup::verify(&f.store, &entry).unwrap().ok);

    // Change the data, the schema and the config.
    f.db.exec("DELETE FROM a WHERE id = 1");
    f.db.exec("UPDATE b SET a_id = 9 WHERE id = 2");
    f.db.exec("CREATE TABLE added_later (x INTEGER)");
    write(f.root.path(), ".env", "DATABASE_URL=y\n", 0o666);
    std::fs::remove_file(f.root.path().join("config/app.yaml")).unwrap();
    assert_ne!(f.db.digest(), before_rows);

    let plan = f.restore(&entry).unwrap().expect("confirmed");
    assert_eq!(plan.files.len(), 3);
    assert_eq!(
        f.db.digest(),
        before_rows,
        "every table's rows as at backup time, and nothing else"
    );
    assert_eq!(f.files(), before_files, "config bytes and modes as at backup time");
    // A restore the user declines changes nothing.
    f.db.exec("DELETE FROM a");
    let declined = backup::restore(
        &f.store,
        &entry,
        f.root.path(),
        &f.url,
        &mut f.migrator(),
        backup::RestoreOptions::default(),
        |_| false,
    )
    .unwrap();
    assert!(declined.is_none());
    assert_eq!(f.db.scalar("SELECT count(*) FROM a"), 0);
}

fn damage_is_found_and_blocks_restore(kind: Kind) {
    let f = fixture(kind);
    let entry = f.create("original");
    let good = std::fs::read(&entry.archive).unwrap();
    let len = good.len();
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for frac in [0.1, 0.5, 0.9] {
        let at = ((len as f64) * frac) as usize;
        let mut flipped = good.clone();
        flipped[at] ^= 0x10;
        cases.push((format!("bit flip at {at}"), flipped));
        cases.push((format!("truncated at {at}"), good[..at].to_vec()));
    }
    cases.push(("last byte flipped".into(), {
        let mut v = good.clone();
        v[len - 1] ^= 1;
        v
    }));
    f.db.exec("DELETE FROM a");
    for (what, bytes) in cases {
        std::fs::write(&entry.archive, &bytes).unwrap();
        let v = backup::verify(&f.store, &entry).unwrap();
        assert!(!v.ok, "{what}: not detected");
        assert!(
            v.damage.iter().all(|d| !d.member.is_empty() && !d.problem.is_empty()),
            "{what}: {:?}",
            v.damage
        );
        let err = f.restore(&entry).unwrap_err();
        assert!(
            err.to_string().contains("damaged; nothing was restored"),
            "{what}: {err}"
        );
        assert_eq!(f.db.scalar("SELECT count(*) FROM a"), 0, "{what}: nothing restored");
    }
    std::fs::write(&entry.archive, &good).unwrap();
    assert!(backup::verify(&f.store, &entry).unwrap().ok);
}

/// Writes a tar.zst by hand with the given entries and a sidecar claiming it is fine.
fn hostile(f: &Fixture, id: &str, base: &Entry, add: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Entry {
    let mut b = tar::Builder::new(Vec::new());
    add(&mut b);
    let tar = b.into_inner().unwrap();
    let archive = f.store.archive(id);
    let mut out = std::fs::File::create(&archive).unwrap();
    out.write_all(&zstd::encode_all(tar.as_slice(), 3).unwrap()).unwrap();
    let mut sidecar = base.sidecar.clone();
    sidecar.manifest.id = id.to_owned();
    std::fs::write(
        f.store.dir().join(format!("{id}.json")),
        serde_json::to_vec(&sidecar).unwrap(),
    )
    .unwrap();
    f.store.get(id).unwrap()
}

fn file_entry(b: &mut tar::Builder<Vec<u8>>, name: &[u8], data: &[u8]) {
    file_entry_mode(b, name, data, 0o644);
}

fn file_entry_mode(b: &mut tar::Builder<Vec<u8>>, name: &[u8], data: &[u8], mode: u32) {
    // Raw names: the tar crate itself refuses `..` and absolute paths.
    let mut h = tar::Header::new_gnu();
    h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name);
    h.set_size(data.len() as u64);
    h.set_mode(mode);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    b.append(&h, data).unwrap();
}

fn hostile_archives_are_refused_and_nothing_is_written(kind: Kind) {
    let f = fixture(kind);
    let base = f.create("base");
    f.db.exec("DELETE FROM a");
    let outside = f
        .root
        .path()
        .parent()
        .unwrap()
        .join(format!("ferry-evil-{}", std::process::id()));
    type AddEntries<'a> = Box<dyn FnOnce(&mut tar::Builder<Vec<u8>>) + 'a>;
    let cases: Vec<(&str, AddEntries<'_>)> = vec![
        (
            "dotdot",
            Box::new(|b| {
                file_entry(
                    b,
                    format!("files/../../{}", outside.file_name().unwrap().to_str().unwrap()).as_bytes(),
                    b"x",
                )
            }),
        ),
        (
            "absolute",
            Box::new(|b| file_entry(b, outside.to_str().unwrap().as_bytes(), b"x")),
        ),
        (
            "symlink",
            Box::new(|b| {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                h.set_mode(0o777);
                b.append_link(&mut h, "files/.env", "/etc/passwd").unwrap();
            }),
        ),
        // A regression test: setuid modes were restored as they were.
        ("setuid", Box::new(|b| file_entry_mode(b, b"files/.env", b"x", 0o4777))),
        // A regression test: a duplicate failed with "File exists" half-way.
        (
            "duplicate",
            Box::new(|b| {
                file_entry(b, b"files/.env", b"one");
                file_entry(b, b"files/.env", b"two");
            }),
        ),
    ];
    for (name, add) in cases {
        let entry = hostile(&f, name, &base, add);
        let v = backup::verify(&f.store, &entry).unwrap();
        assert!(!v.ok, "{name}: accepted");
        assert!(
            v.damage.iter().any(|d| d.problem.contains("refused")),
            "{name}: {:?}",
            v.damage
        );
        let err = f.restore(&entry).unwrap_err();
        assert!(err.to_string().contains("nothing was restored"), "{name}: {err}");
        assert!(!outside.exists(), "{name}: wrote outside the project");
        assert_eq!(
            std::fs::read_to_string(f.root.path().join(".env")).unwrap(),
            "DATABASE_URL=x\nSECRET_KEY=s3cret\n"
        );
        assert_eq!(f.db.scalar("SELECT count(*) FROM a"), 0, "{name}: database untouched");
    }
}

/// A regression test: sidecars were trusted as they were; swapped, zeroed,
/// missing or garbled ones showed one backup as another or hid it.
fn sidecars_are_checked_against_their_archive(kind: Kind) {
    let f = fixture(kind);
    let a = f.create("first");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let b = f.create("second");
    let json = |id: &str| f.store.dir().join(format!("{id}.json"));
    let sha = |id: &str| f.store.dir().join(format!("{id}.tar.zst.sha256"));
    // Swapped sidecars: each id still lists with its own label, flagged, and verify fails.
    let (ja, jb) = (std::fs::read(json(&a.id)).unwrap(), std::fs::read(json(&b.id)).unwrap());
    std::fs::write(json(&a.id), &jb).unwrap();
    std::fs::write(json(&b.id), &ja).unwrap();
    let listed = f.store.list().unwrap();
    let la = listed.iter().find(|e| e.id == a.id).unwrap();
    assert_eq!(
        la.sidecar.manifest.label.as_deref(),
        Some("first"),
        "rebuilt from the archive"
    );
    assert!(
        la.problems[0].contains(&format!("describes backup {}", b.id)),
        "{:?}",
        la.problems
    );
    // Listing rebuilt them; verify agrees again.
    assert!(backup::verify(&f.store, &f.store.get(&a.id).unwrap()).unwrap().ok);
    // A zeroed .sha256 is found by verify.
    std::fs::write(sha(&a.id), format!("{}  {}.tar.zst\n", "0".repeat(64), a.id)).unwrap();
    let v = backup::verify(&f.store, &f.store.get(&a.id).unwrap()).unwrap();
    assert!(
        !v.ok && v.damage.iter().any(|d| d.member.ends_with(".sha256")),
        "{:?}",
        v.damage
    );
    // A missing or garbled sidecar does not hide the archive.
    std::fs::remove_file(json(&b.id)).unwrap();
    assert!(
        f.store
            .list()
            .unwrap()
            .iter()
            .any(|e| e.id == b.id && e.problems[0].contains("missing"))
    );
    assert!(json(&b.id).exists(), "rebuilt");
    std::fs::write(json(&b.id), "{ not json").unwrap();
    let e = f.store.get(&b.id).unwrap();
    assert!(e.problems[0].contains("unreadable"), "{:?}", e.problems);
    assert_eq!(e.sidecar.manifest.label.as_deref(), Some("second"));
    assert!(backup::verify(&f.store, &e).unwrap().ok);
}

fn restore_refuses_a_database_in_use(kind: Kind) {
    let f = fixture(kind);
    let entry = f.create("base");
    // Another client of the database, as a running application would be.
    let holder: Box<dyn std::any::Any> = match kind {
        Kind::Sqlite => {
            let c = rusqlite::Connection::open(f.db.url.strip_prefix("sqlite://").unwrap()).unwrap();
            c.execute_batch("BEGIN; SELECT count(*) FROM a;").unwrap();
            Box::new(c)
        }
        Kind::Postgres => Box::new(::postgres::Client::connect(&f.db.url, ::postgres::NoTls).unwrap()),
        Kind::MySql => Box::new(::mysql::Conn::new(::mysql::Opts::from_url(&f.db.url).unwrap()).unwrap()),
    };
    let err = f.restore(&entry).unwrap_err();
    assert!(err.to_string().contains("the database is in use"), "{err}");
    drop(holder);
    assert!(f.restore(&entry).unwrap().is_some());
}

fn drill_checks_a_scratch_copy(kind: Kind) {
    let f = fixture(kind);
    let entry = f.create("base");
    let project = ferry::Project::parse(
        Path::new("/p"),
        Path::new("/p/ferry.toml"),
        "[[checks]]\nname = \"two rows\"\nsql = \"SELECT count(*) FROM a\"\nexpect = 2\n\n[[checks]]\nname = \"wrong\"\nsql = \"SELECT count(*) FROM a\"\nexpect = \">= 3\"\n\n[[checks]]\nname = \"broken\"\nsql = \"SELECT nope FROM nowhere\"\n\n[[checks]]\nname = \"not on a scratch copy\"\ntcp = \"127.0.0.1:1\"\n\n[[checks]]\nname = \"a later release's\"\nsince = \"9.0.0\"\nsql = \"SELECT nope\"\n",
    )
    .unwrap();
    f.db.exec("DELETE FROM a");
    let results = backup::drill(&f.store, &entry, &f.url, project.checks()).unwrap();
    let ok: Vec<(&str, bool)> = results.iter().map(|r| (r.name.as_str(), !r.blocks())).collect();
    // Only SQL checks run on a scratch copy, and only those of the backup's release (1.0.0).
    assert_eq!(
        ok,
        [("two rows", true), ("wrong", false), ("broken", false)],
        "{results:?}"
    );
    assert_eq!(
        f.db.scalar("SELECT count(*) FROM a"),
        0,
        "the project's database is untouched"
    );
    if kind != Kind::Sqlite {
        let like = if kind == Kind::Postgres {
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'ferry_drill_%'"
        } else {
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'ferry_drill_%'"
        };
        // Other tests' drills may run at once; ours is named after this process.
        let ours = like.replace("ferry_drill_%", &format!("ferry_drill_{}", std::process::id()));
        assert_eq!(f.db.scalar(&ours), 0, "the scratch database is dropped");
    }
}

#[test]
fn prune_keeps_exactly_what_the_policy_says() {
    let f = fixture(Kind::Sqlite);
    let dates = [
        "2026-11-01T10:00:00Z",
        "2026-11-14T10:00:00Z",
        "2026-11-14T11:00:00Z",
        "2026-11-20T10:00:00Z",
        "2026-11-21T08:00:00Z",
    ];
    let mut ids = Vec::new();
    for (i, d) in dates.iter().enumerate() {
        let e = f.create(&format!("b{i}"));
        let mut sidecar = e.sidecar.clone();
        sidecar.manifest.created_at = (*d).to_owned();
        sidecar.verified_at = (i == 0).then(|| "2026-11-01T11:00:00Z".to_owned());
        f.store.record(&sidecar).unwrap();
        ids.push(e.id);
    }
    let policy = Retention {
        keep_within: Some(std::time::Duration::from_secs(7 * 86400)),
        keep_last: Some(1),
        ..Default::default()
    };
    let now: jiff::Timestamp = "2026-11-21T12:00:00Z".parse().unwrap();
    let dry = backup::prune(&f.store, &policy, true, now).unwrap();
    assert_eq!(dry.deleted, vec![ids[1].clone(), ids[2].clone()], "{dry:?}");
    assert_eq!(f.store.list().unwrap().len(), 5, "a dry run deletes nothing");
    backup::prune(&f.store, &policy, false, now).unwrap();
    let left: Vec<String> = f.store.list().unwrap().into_iter().map(|e| e.id).collect();
    // ids[0] is old but the newest verified one; ids[3] and ids[4] are within 7 days;
    // ids[2] is 7 days and 1 hour old.
    assert_eq!(left, vec![ids[0].clone(), ids[3].clone(), ids[4].clone()]);
    assert!(!f.store.archive(&ids[1]).exists());
}

/// SQLite backups stay consistent while the application keeps writing, in
/// both journal modes: a writer commits pairs of rows throughout; the
/// backup must restore to a database that passes integrity_check and holds
/// whole transactions only (an even number of rows).
#[test]
fn sqlite_backup_is_consistent_under_concurrent_writes() {
    for mode in ["DELETE", "WAL"] {
        let f = fixture(Kind::Sqlite);
        let path = f.db.url.strip_prefix("sqlite://").unwrap().to_owned();
        {
            let c = rusqlite::Connection::open(&path).unwrap();
            let _: String = c
                .query_row(&format!("PRAGMA journal_mode = {mode}"), [], |r| r.get(0))
                .unwrap();
            c.execute_batch("CREATE TABLE pairs (id INTEGER PRIMARY KEY, v TEXT)")
                .unwrap();
        }
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (stop, path) = (stop.clone(), path.clone());
            std::thread::spawn(move || {
                let c = rusqlite::Connection::open(&path).unwrap();
                c.busy_timeout(std::time::Duration::from_secs(30)).unwrap();
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    c.execute_batch("BEGIN IMMEDIATE; INSERT INTO pairs (v) VALUES (hex(randomblob(200))); INSERT INTO pairs (v) VALUES (hex(randomblob(200))); COMMIT;")
                        .unwrap();
                    n += 1;
                }
                n
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(100));
        let entry = f.create("under load");
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let commits = writer.join().unwrap();
        assert!(commits > 0);
        assert!(backup::verify(&f.store, &entry).unwrap().ok, "{mode}");
        f.restore(&entry).unwrap();
        let rows = f.db.scalar("SELECT count(*) FROM pairs");
        assert_eq!(rows % 2, 0, "{mode}: a transaction was cut in half ({rows} rows)");
        assert_eq!(f.db.column("PRAGMA integrity_check"), vec!["ok"], "{mode}");
    }
}
