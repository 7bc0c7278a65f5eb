//! Host tests of the connection-table reader (`/proc/net/ip_vs_conn`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::SocketAddr;

use lvskit::conn::{self, ConnProtocol, Origin};
use proptest::prelude::*;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Captured in the test VM (Debian 6.1 kernel) by the kernel test
/// `rules::a_nat_connection_is_listed_by_the_namespace_aware_reader`:
/// a client (10.0.1.2, fd01::2) connected through NAT services
/// `ipvsadm -A -t 10.0.1.1:80 -s rr; -a -t 10.0.1.1:80 -r 10.0.2.2:8000 -m`,
/// `-A -t 10.0.1.1:81 -s rr -p 60` (same server) and
/// `-A -t [fd01::1]:80 -s rr; -a -t [fd01::1]:80 -r [fd02::2]:8000 -m`, then
/// `cat /proc/net/ip_vs_conn /proc/net/ip_vs_conn_sync` in the director.
const CAPTURED_CONN: &str = "\
Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP 0A000102 CA5A 0A000101 0050 0A000202 1F40 ESTABLISHED     896
TCP 0A000102 86C2 0A000101 0051 0A000202 1F40 ESTABLISHED     896
TCP 0A000102 0000 0A000101 0051 0A000202 1F40 ASSURED          56
TCP fd01:0000:0000:0000:0000:0000:0000:0002 B086 fd01:0000:0000:0000:0000:0000:0000:0001 0050 fd02:0000:0000:0000:0000:0000:0000:0002 1F40 ESTABLISHED     896
";

const CAPTURED_SYNC: &str = "\
Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Origin Expires
TCP 0A000102 CA5A 0A000101 0050 0A000202 1F40 ESTABLISHED LOCAL      896
TCP 0A000102 86C2 0A000101 0051 0A000202 1F40 ESTABLISHED LOCAL      896
TCP 0A000102 0000 0A000101 0051 0A000202 1F40 ASSURED     LOCAL       56
TCP fd01:0000:0000:0000:0000:0000:0000:0002 B086 fd01:0000:0000:0000:0000:0000:0000:0001 0050 fd02:0000:0000:0000:0000:0000:0000:0002 1F40 ESTABLISHED LOCAL      896
";

#[test]
fn parses_captured_kernel_lines() {
    let c = conn::parse(CAPTURED_CONN).unwrap();
    assert_eq!(c.len(), 4);
    assert_eq!(c[0].protocol, ConnProtocol::Tcp);
    assert_eq!(c[0].client, sa("10.0.1.2:51802"));
    assert_eq!(c[0].virtual_addr, sa("10.0.1.1:80"));
    assert_eq!(c[0].destination, sa("10.0.2.2:8000"));
    assert_eq!(c[0].state, "ESTABLISHED");
    assert_eq!(c[0].expires, 896);
    assert_eq!(c[0].pe, None);
    assert_eq!(c[0].origin, None);
    assert!(!c[0].is_template());
    assert_eq!(c[1].virtual_addr, sa("10.0.1.1:81"));
    // the persistence template of the -p service: client port 0, ASSURED
    assert!(c[2].is_template());
    assert_eq!(c[2].protocol, ConnProtocol::Tcp);
    assert_eq!(c[2].client, sa("10.0.1.2:0"));
    assert_eq!(c[2].virtual_addr, sa("10.0.1.1:81"));
    assert_eq!(c[2].state, "ASSURED");
    assert_eq!(c[2].expires, 56);
    assert_eq!(c[3].client, sa("[fd01::2]:45190"));
    assert_eq!(c[3].virtual_addr, sa("[fd01::1]:80"));
    assert_eq!(c[3].destination, sa("[fd02::2]:8000"));

    let s = conn::parse(CAPTURED_SYNC).unwrap();
    assert_eq!(s.len(), 4);
    for (a, b) in s.iter().zip(&c) {
        assert_eq!(a.origin, Some(Origin::Local));
        let mut a = a.clone();
        a.origin = None;
        assert_eq!(&a, b);
    }
}

#[test]
fn parses_the_kernel_format_ipv4_ipv6_templates_and_pe_data() {
    // formats of ip_vs_conn_seq_show: IPv4 as %08X, IPv6 as %pI6, ports %04X,
    // state %-11s, expiry %7u, then " PEName PEData" when a PE is attached
    let text = "\
Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP 0A000102 A0C2 0A000101 0050 0A000202 1F40 ESTABLISHED     899
IP  0A000102 0000 00000007 0000 0A000202 1F40 NONE            359
UDP C0A80001 13C4 C0A80064 13C4 0A000005 13C4 UDP             179 sip 1234@host
TCP fd01:0000:0000:0000:0000:0000:0000:0002 D3A2 fd01:0000:0000:0000:0000:0000:0000:0001 0050 fd02:0000:0000:0000:0000:0000:0000:0002 1F40 SYN_RECV         59
TCP 0A000102 A0C4 0A000101 0050 fd02:0000:0000:0000:0000:0000:0000:0009 0050 TIME_WAIT       119
";
    let c = conn::parse(text).unwrap();
    assert_eq!(c.len(), 5);
    assert_eq!(c[0].protocol, ConnProtocol::Tcp);
    assert_eq!(c[0].client, sa("10.0.1.2:41154"));
    assert_eq!(c[0].virtual_addr, sa("10.0.1.1:80"));
    assert_eq!(c[0].destination, sa("10.0.2.2:8000"));
    assert_eq!(c[0].state, "ESTABLISHED");
    assert_eq!(c[0].expires, 899);
    assert!(!c[0].is_template());
    assert_eq!(c[1].protocol, ConnProtocol::Ip);
    assert!(c[1].is_template());
    assert_eq!(c[2].pe, Some(("sip".into(), "1234@host".into())));
    assert_eq!(c[3].client, sa("[fd01::2]:54178"));
    assert_eq!(c[3].destination, sa("[fd02::2]:8000"));
    assert_eq!(c[4].destination, sa("[fd02::9]:80"));
    assert_eq!(c[4].origin, None);
}

#[test]
fn parses_the_sync_file_with_origins() {
    let text = "\
Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Origin Expires
TCP 0A000102 A0C2 0A000101 0050 0A000202 1F40 ESTABLISHED LOCAL      899
UDP 0A000102 A0C2 0A000101 0035 0A000202 0035 UDP         SYNC       120
";
    let c = conn::parse(text).unwrap();
    assert_eq!(c[0].origin, Some(Origin::Local));
    assert_eq!(c[1].origin, Some(Origin::Sync));
    assert_eq!(c[1].expires, 120);
}

#[test]
fn errors_name_the_line() {
    for (text, line, msg) in [
        ("Pro x\nTCP 0A000102 A0C2\n", 2, "fields"),
        (
            "TCP 0A00010Z A0C2 0A000101 0050 0A000202 1F40 NONE 1\n",
            1,
            "client address",
        ),
        (
            "Pro\n\nTCP 0A000102 A0C 0A000101 0050 0A000202 1F40 NONE 1\n",
            3,
            "client port",
        ),
        (
            "TCP 0A000102 A0C2 0A000101 0050 0A000202 1F40 NONE -1\n",
            1,
            "expiry",
        ),
        (
            "TCP 0A000102 A0C2 zz::1 0050 0A000202 1F40 NONE 1\n",
            1,
            "virtual address",
        ),
    ] {
        let e = conn::parse(text).unwrap_err();
        assert_eq!(e.line, line, "{text:?}: {e}");
        assert!(e.message.contains(msg), "{text:?}: {e}");
        assert!(e.to_string().starts_with(&format!("line {line}: ")));
    }
}

proptest! {
    #[test]
    fn decoding_arbitrary_text_never_panics(text in "\\PC*") {
        let _ = conn::parse(&text);
    }

    #[test]
    fn decoding_near_miss_lines_never_panics(
        fields in prop::collection::vec("[0-9A-Fa-f:]{0,10}|TCP|UDP|IP|NONE|Local|Sync|Pro|Origin", 0..14)
    ) {
        let _ = conn::parse(&fields.join(" "));
    }

    #[test]
    fn ipv4_lines_round_trip(c in any::<[u8; 4]>(), cp in any::<u16>(), v in any::<[u8; 4]>(),
                             vp in any::<u16>(), d in any::<[u8; 4]>(), dp in any::<u16>(),
                             exp in any::<u32>()) {
        let line = format!(
            "TCP {:08X} {cp:04X} {:08X} {vp:04X} {:08X} {dp:04X} {:<11} {exp:7}\n",
            u32::from_be_bytes(c), u32::from_be_bytes(v), u32::from_be_bytes(d), "ESTABLISHED"
        );
        let got = conn::parse(&line).unwrap();
        prop_assert_eq!(got[0].client, SocketAddr::new(std::net::Ipv4Addr::from(c).into(), cp));
        prop_assert_eq!(got[0].virtual_addr, SocketAddr::new(std::net::Ipv4Addr::from(v).into(), vp));
        prop_assert_eq!(got[0].destination, SocketAddr::new(std::net::Ipv4Addr::from(d).into(), dp));
        prop_assert_eq!(got[0].expires, exp);
    }
}
