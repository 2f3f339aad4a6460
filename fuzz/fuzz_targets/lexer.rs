//! The SQL splitter on arbitrary input: it never panics, and the statements
//! it returns are the text at their spans, in order, on the lines it says.
#![no_main]

use ferry::migration::{Dialect, line_of, split};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else { return };
    for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
        let Ok(statements) = split(sql, dialect) else { continue };
        let mut last = 0;
        for st in &statements {
            assert!(st.span.start >= last && st.span.end <= sql.len());
            assert_eq!(&sql[st.span.clone()], st.text);
            assert_eq!(st.line, line_of(sql, st.span.start));
            let gap = &sql[last..st.span.start];
            assert!(split(gap, dialect).is_ok_and(|g| g.is_empty()), "a gap holds a statement");
            last = st.span.end;
        }
    }
});
