//! The ipvsadm rules parser over arbitrary text: errors with a position, never
//! panics; what parses as a table saves and parses back to the same table.
#![no_main]

use lvskit::rules::{parse, parse_table, save, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(e) = parse(text) {
        let _ = e.to_string();
    }
    if let Ok(t) = parse_table(text) {
        let saved = save(&t, Format::Lossless);
        let again = parse_table(&saved).expect("our own lossless text parses");
        assert_eq!(again.sorted(), t.sorted());
    }
});
