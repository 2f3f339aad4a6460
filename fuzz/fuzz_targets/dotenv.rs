//! The .env editor on arbitrary input: it never panics; what it accepts it
//! gives back byte for byte; edits keep the file loadable by dotenvy with the
//! meaning intended.
#![no_main]

use std::path::Path;

use ferry::config::dotenv::{DotEnv, meaning};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(mut doc) = DotEnv::parse(Path::new(".env"), text) else { return };
    assert_eq!(doc.render(), text, "a parsed file renders back unchanged");
    // Only files dotenvy itself loads make a meaning to preserve.
    let Ok(mut expected) = meaning(Path::new(".env"), text) else { return };
    if expected.contains_key("FUZZ_ADDED") {
        return;
    }
    doc.add("FUZZ_ADDED", "a value with 'quotes', \"more\", $DOLLAR and # hash");
    expected.insert("FUZZ_ADDED".into(), "a value with 'quotes', \"more\", $DOLLAR and # hash".into());
    doc.check(&expected).expect("adding a key keeps every other key's meaning");
});
