//! The rtnetlink decoders (links with tunnel data, addresses, FOU ports) over
//! arbitrary bytes: errors, never panics.
#![no_main]

use lvskit::raw::rtnl as codec;
use lvskit::tunnel::{fou, TunnelKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = codec::decode_link(data);
    let _ = codec::decode_addr(data);
    let _ = fou::decode_port(data);
    for kind in TunnelKind::ALL {
        let _ = codec::decode_tunnel_data(kind, data);
    }
});
