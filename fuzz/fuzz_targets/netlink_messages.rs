//! Netlink message and attribute framing over arbitrary datagrams.
#![no_main]

use lvskit::raw::nla::{Attrs, Messages};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for m in Messages::new(data) {
        match m {
            Ok((h, payload)) => {
                assert!(payload.len() + 16 <= h.len as usize);
                for a in Attrs::new(payload) {
                    if let Ok((_, p)) = a {
                        for inner in Attrs::new(p) {
                            let _ = inner;
                        }
                    }
                }
            }
            Err(_) => break,
        }
    }
});
