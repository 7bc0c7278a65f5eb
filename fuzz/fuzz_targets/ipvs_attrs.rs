//! Every IPVS attribute-set decoder over arbitrary bytes: errors, never panics;
//! what decodes re-encodes and decodes to the same value.
#![no_main]

use lvskit::raw::ipvs as c;
use lvskit::Family;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // the table listing's decoders (no counters) never panic either, and
    // agree with the full decoders wherever those succeed
    let config = c::decode_service_config(data);
    if let Ok(s) = c::decode_service(data) {
        assert_eq!(config.ok(), Some(s.service.clone()));
        let mut buf = Vec::new();
        if s.service.validate().is_ok() && c::put_service_nest(&mut buf, &s.service).is_ok() {
            if let Ok(Some(inner)) = c::find(&buf, c::cmd_attr::SERVICE) {
                let again = c::decode_service(inner).map(|e| e.service);
                assert_eq!(again.ok(), Some(s.service));
            }
        }
    }
    for fam in [Family::Ipv4, Family::Ipv6] {
        let config = c::decode_dest_config(data, fam);
        if let Ok(d) = c::decode_dest(data, fam) {
            assert_eq!(config.ok(), Some(d.destination));
            let mut buf = Vec::new();
            if c::put_dest_nest(&mut buf, &d.destination, true).is_ok() {
                if let Ok(Some(inner)) = c::find(&buf, c::cmd_attr::DEST) {
                    assert_eq!(c::decode_dest(inner, fam).ok().map(|e| e.destination), Some(d.destination));
                }
            }
        }
    }
    let _ = c::decode_daemon(data);
    let _ = c::decode_timeouts(data);
    let _ = c::decode_info(data);
});
