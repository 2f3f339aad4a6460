//! Throughput of the SQL splitter on a large data-seeding script (about
//! 100 MB by default; `FERRY_BENCH_MB` changes it), in each dialect.
//! Run with `cargo bench -p ferry --bench lexer`. Prints the median of 5
//! runs and the spread; the goal is at least 50 MB/s on a 2-core machine.
//!
//! A plain harness: it measures one function over one input, and a median
//! of wall-clock runs is what the figure in bench/README.md reports.

use std::time::Instant;

use ferry::EngineKind;
use ferry::migration::split;

fn script(mb: usize) -> String {
    let mut s = String::with_capacity(mb << 20);
    let mut i = 0u64;
    s.push_str("-- seed data\nCREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT, note TEXT);\n");
    while s.len() < mb << 20 {
        i += 1;
        s.push_str(&format!(
            "INSERT INTO items (id, name, note) VALUES ({i}, 'item {i}; with a semicolon', 'it''s /* not a comment */ -- nor this');\n"
        ));
        if i.is_multiple_of(1000) {
            s.push_str("/* a block comment; with a semicolon */\n-- a line comment;\n");
        }
    }
    s
}

fn main() {
    let mb: usize = std::env::var("FERRY_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let sql = script(mb);
    let size = sql.len() as f64 / (1 << 20) as f64;
    for dialect in [EngineKind::Sqlite, EngineKind::Postgres, EngineKind::MySql] {
        let mut rates = Vec::new();
        let mut count = 0;
        for _ in 0..5 {
            let start = Instant::now();
            let statements = split(&sql, dialect).expect("the script splits");
            let secs = start.elapsed().as_secs_f64();
            count = statements.len();
            rates.push(size / secs);
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "{dialect:?}: {size:.0} MB, {count} statements: median {:.0} MB/s (min {:.0}, max {:.0})",
            rates[2], rates[0], rates[4]
        );
    }
}
