//! The /proc/net/ip_vs_conn parser over arbitrary text: errors name a line, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match lvskit::conn::parse(text) {
        Ok(conns) => {
            for c in conns {
                let _ = c.is_template();
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
