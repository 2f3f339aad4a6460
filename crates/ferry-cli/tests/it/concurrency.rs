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
