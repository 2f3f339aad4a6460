//! The installed release, recorded next to the history table on each engine.

use ferry::version::Version;
use ferry_testkit::{Kind, TestDb, per_engine};

use crate::support::migrator;

per_engine!(adopt_records_and_rerecords_the_installed_release);

fn adopt_records_and_rerecords_the_installed_release(kind: Kind) {
    let db = TestDb::new(kind);
    let mut m = migrator(&db);
    assert_eq!(m.installed().unwrap(), None, "nothing recorded, no table yet");
    assert!(db.tables().is_empty(), "reading creates nothing");
    let v = |s: &str| Version::parse(s).unwrap();
    m.record_release(&v("1.0.0"), "adopt").unwrap();
    m.record_release(&v("2.0.0-rc.1"), "adopt").unwrap();
    let rec = m.installed().unwrap().unwrap();
    assert_eq!((rec.version.as_str(), rec.source.as_str()), ("2.0.0-rc.1", "adopt"));
    assert!(rec.recorded_at.ends_with('Z'), "{}", rec.recorded_at);
    // One shape on every engine: ISO 8601 in UTC, to the millisecond.
    assert_eq!(
        rec.recorded_at.len(),
        "2026-01-01T00:00:00.000Z".len(),
        "{}",
        rec.recorded_at
    );
    assert!(
        rec.recorded_at.parse::<jiff::Timestamp>().is_ok(),
        "{}",
        rec.recorded_at
    );
    // Going back is recording the older release again; the log keeps both.
    m.record_release(&v("1.0.0"), "adopt").unwrap();
    assert_eq!(m.installed().unwrap().unwrap().version, "1.0.0");
    assert_eq!(db.scalar("SELECT count(*) FROM ferry_release"), 3);
    assert_eq!(db.tables(), vec!["ferry_release"]);
}
