//! Tunnel devices, addresses, FOU ports and real-server set-up, each checked
//! against `ip` (JSON output of iproute2) in a namespace of its own.

use std::net::IpAddr;

use lvskit::tunnel::realserver::{self, RealServer};
use lvskit::tunnel::{
    read_sysctl, Encap, EncapType, FouEncap, FouPort, InnerProto, Link, NewLink, Rtnl,
    TunnelConfig, TunnelEncapFlags, TunnelKind,
};
use lvskit::{Error, Fou, Namespace};
use serde_json::Value;

use crate::support::TestNs;

pub(crate) fn ns_of(ns: &TestNs) -> Namespace {
    Namespace::Named(ns.name().to_string())
}

pub(crate) fn rtnl(ns: &TestNs) -> Rtnl {
    Rtnl::open(ns_of(ns)).unwrap()
}

pub(crate) fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("ip printed invalid JSON ({e}): {s}"))
}

/// `ip -d -j link show dev NAME` as JSON.
fn ip_link(ns: &TestNs, name: &str) -> Value {
    let v = json(&ns.ip(&["-d", "-j", "link", "show", "dev", name]));
    v[0].clone()
}

fn ip_any_addr(v: &Value) -> Option<IpAddr> {
    match v.as_str() {
        None | Some("any") => None,
        Some(s) => Some(s.parse().unwrap_or_else(|_| panic!("ip address {s}"))),
    }
}

fn ip_hex(v: &Value) -> u32 {
    match v.as_str() {
        None => 0,
        Some("inherit") => 1,
        Some(s) => u32::from_str_radix(s.trim_start_matches("0x"), 16).unwrap(),
    }
}

fn ip_key(v: &Value) -> Option<u32> {
    v.as_str()
        .map(|s| u32::from(s.parse::<std::net::Ipv4Addr>().unwrap()))
}

fn ip_proto(kind: TunnelKind, s: &str) -> InnerProto {
    match (kind, s) {
        (_, "any") => InnerProto::Any,
        (TunnelKind::Ipip, "ipip") | (TunnelKind::Sit, "ipip") | (TunnelKind::Ip6tnl, "ipip6") => {
            InnerProto::Ipv4
        }
        (TunnelKind::Sit, "ip6ip") | (TunnelKind::Ip6tnl, "ip6ip6") => InnerProto::Ipv6,
        (_, "mplsip") | (_, "mplsip6") => InnerProto::Mpls,
        other => panic!("unexpected proto {other:?}"),
    }
}

/// Asserts that what `ip -d -j link show` prints for `link` equals what the
/// library decoded, field by field.
pub(crate) fn assert_ip_agrees(ns: &TestNs, link: &Link) {
    let j = ip_link(ns, &link.name);
    let ctx = format!("{}: ip says {j:#}", link.name);
    assert_eq!(j["ifindex"].as_u64(), Some(u64::from(link.index)), "{ctx}");
    assert_eq!(j["mtu"].as_u64(), Some(u64::from(link.mtu)), "{ctx}");
    let up = j["flags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f.as_str() == Some("UP"));
    assert_eq!(up, link.is_up(), "{ctx}");
    let info = &j["linkinfo"];
    assert_eq!(info["info_kind"].as_str(), link.kind.as_deref(), "{ctx}");
    let Some(t) = &link.tunnel else { return };
    let d = &info["info_data"];
    assert_eq!(ip_any_addr(&d["local"]), t.local, "local, {ctx}");
    assert_eq!(ip_any_addr(&d["remote"]), t.remote, "remote, {ctx}");
    assert_eq!(d["ttl"].as_u64(), Some(u64::from(t.ttl)), "ttl, {ctx}");
    let link_name = d["link"].as_str();
    let ip_link_index = link_name.map(|n| ip_link(ns, n)["ifindex"].as_u64().unwrap() as u32);
    assert_eq!(ip_link_index.unwrap_or(0), t.link, "link, {ctx}");
    if t.kind.outer_is_v6() {
        assert_eq!(
            d["encap_limit"].as_u64(),
            t.encap_limit.map(u64::from),
            "encap_limit, {ctx}"
        );
        let tclass = (t.flowinfo >> 20) & 0xff;
        let label = t.flowinfo & 0xfffff;
        assert_eq!(ip_hex(&d["tclass"]), tclass, "tclass, {ctx}");
        assert_eq!(ip_hex(&d["flowlabel"]), label, "flowlabel, {ctx}");
    } else {
        assert_eq!(ip_hex(&d["tos"]), u32::from(t.tos), "tos, {ctx}");
        assert_eq!(d["pmtudisc"].as_bool(), Some(t.pmtudisc), "pmtudisc, {ctx}");
    }
    match d["proto"].as_str() {
        Some(p) => assert_eq!(Some(ip_proto(t.kind, p)), t.proto, "proto, {ctx}"),
        None => assert!(t.kind.is_gre(), "ip shows no proto, {ctx}"),
    }
    if t.kind.is_gre() {
        assert_eq!(ip_key(&d["ikey"]), t.ikey, "ikey, {ctx}");
        assert_eq!(ip_key(&d["okey"]), t.okey, "okey, {ctx}");
    }
    let e = &d["encap"];
    match t.encap {
        None => assert!(e.is_null(), "encap, {ctx}"),
        Some(enc) => {
            let ty = match enc.kind {
                EncapType::Fou => "fou",
                EncapType::Gue => "gue",
                EncapType::Other(n) => panic!("encap type {n} unknown to the library, {ctx}"),
            };
            assert_eq!(e["type"].as_str(), Some(ty), "encap type, {ctx}");
            assert_eq!(
                e["sport"].as_u64(),
                Some(u64::from(enc.sport.unwrap_or(0))),
                "{ctx}"
            );
            assert_eq!(e["dport"].as_u64(), Some(u64::from(enc.dport)), "{ctx}");
            let f = enc.flags;
            assert_eq!(
                e["csum"].as_bool(),
                Some(f.contains(TunnelEncapFlags::CSUM)),
                "{ctx}"
            );
            assert_eq!(
                e["csum6"].as_bool(),
                Some(f.contains(TunnelEncapFlags::CSUM6)),
                "{ctx}"
            );
            assert_eq!(
                e["remcsum"].as_bool(),
                Some(f.contains(TunnelEncapFlags::REMCSUM)),
                "{ctx}"
            );
        }
    }
}

/// Asserts the fields the library was asked to set came back.
pub(crate) fn assert_same_params(want: &TunnelConfig, got: &TunnelConfig) {
    let ctx = format!("asked {want:?}\ngot {got:?}");
    assert_eq!(got.kind, want.kind, "{ctx}");
    assert_eq!(got.local, want.local, "{ctx}");
    assert_eq!(got.remote, want.remote, "{ctx}");
    assert_eq!(got.ttl, want.ttl, "{ctx}");
    assert_eq!(got.tos, want.tos, "{ctx}");
    assert_eq!(got.pmtudisc, want.pmtudisc, "{ctx}");
    assert_eq!(got.link, want.link, "{ctx}");
    if want.proto.is_some() {
        assert_eq!(got.proto, want.proto, "{ctx}");
    }
    if want.encap_limit.is_some() {
        assert_eq!(got.encap_limit, want.encap_limit, "{ctx}");
    }
    assert_eq!(got.flowinfo, want.flowinfo, "{ctx}");
    assert_eq!(got.ikey, want.ikey, "{ctx}");
    assert_eq!(got.okey, want.okey, "{ctx}");
    assert_eq!(got.encap, want.encap, "{ctx}");
}

fn v4(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub(crate) fn library_specs(d0: u32) -> Vec<(&'static str, TunnelConfig)> {
    use TunnelKind::*;
    vec![
        (
            "lt-ipip",
            TunnelConfig::new(Ipip)
                .with_local(v4("10.0.0.1"))
                .with_remote(v4("10.0.0.2"))
                .with_ttl(64)
                .with_tos(0x10)
                .with_link(d0)
                .with_proto(InnerProto::Ipv4)
                .with_encap(Encap {
                    kind: EncapType::Gue,
                    sport: Some(1234),
                    dport: 5555,
                    flags: TunnelEncapFlags::CSUM | TunnelEncapFlags::REMCSUM,
                }),
        ),
        (
            "lt-sit",
            TunnelConfig::new(Sit)
                .with_local(v4("10.0.0.1"))
                .with_pmtudisc(false)
                .with_proto(InnerProto::Any),
        ),
        (
            "lt-ipip6",
            TunnelConfig {
                encap_limit: Some(3),
                flowinfo: (0x28 << 20) | 0x12345,
                ..TunnelConfig::new(Ip6tnl)
                    .with_local(v4("2001:db8::1"))
                    .with_remote(v4("2001:db8::2"))
                    .with_ttl(10)
                    .with_proto(InnerProto::Ipv4)
                    .with_encap(Encap {
                        flags: TunnelEncapFlags::CSUM6,
                        ..Encap::fou(6666)
                    })
            },
        ),
        (
            "lt-ip6ip6",
            TunnelConfig {
                encap_limit: Some(4),
                ..TunnelConfig::new(Ip6tnl)
                    .with_local(v4("2001:db8::1"))
                    .with_remote(v4("2001:db8::3"))
                    .with_ttl(64)
                    .with_proto(InnerProto::Ipv6)
            },
        ),
        (
            "lt-gre",
            TunnelConfig::new(Gre)
                .with_local(v4("10.0.0.1"))
                .with_remote(v4("10.0.0.4"))
                .with_ttl(20)
                .with_keys(Some(77), Some(78))
                .with_encap(Encap::gue(7777)),
        ),
        (
            "lt-gretap",
            TunnelConfig::new(Gretap)
                .with_local(v4("10.0.0.1"))
                .with_remote(v4("10.0.0.5"))
                .with_keys(Some(5), None),
        ),
        (
            "lt-ip6gre",
            TunnelConfig {
                encap_limit: Some(2),
                ..TunnelConfig::new(Ip6gre)
                    .with_local(v4("2001:db8::1"))
                    .with_remote(v4("2001:db8::6"))
                    .with_ttl(9)
                    .with_encap(Encap::gue(8888))
            },
        ),
        (
            "lt-ip6gretap",
            TunnelConfig::new(Ip6gretap)
                .with_local(v4("2001:db8::1"))
                .with_remote(v4("2001:db8::7"))
                .with_ttl(64)
                .with_keys(None, Some(9)),
        ),
    ]
}

#[test]
fn every_kind_created_by_the_library_reads_back_the_same_in_ip() {
    let ns = TestNs::new();
    ns.dummy("d0", &[]);
    let r = rtnl(&ns);
    let d0 = r.link("d0").unwrap().unwrap().index;
    for (name, cfg) in library_specs(d0) {
        let link = r
            .add_link(&NewLink::tunnel(name, cfg.clone()).with_mtu(1400))
            .unwrap_or_else(|e| panic!("creating {name}: {e}"));
        assert_eq!(link.name, name);
        assert_eq!(link.kind.as_deref(), Some(cfg.kind.as_str()));
        assert_eq!(link.mtu, 1400);
        assert!(!link.is_up());
        assert_same_params(&cfg, link.tunnel.as_ref().unwrap());
        assert_ip_agrees(&ns, &link);
        // up, MTU, an address, then read back again by both sides
        r.set_up(name, true).unwrap();
        r.set_mtu(name, 1300).unwrap();
        let vip: ipnetwork::IpNetwork = if cfg.kind.outer_is_v6() {
            "2001:db8:99::7/128".parse().unwrap()
        } else {
            "192.0.2.7/32".parse().unwrap()
        };
        r.add_address(name, vip).unwrap();
        let link = r.link(name).unwrap().unwrap();
        assert!(link.is_up());
        assert_eq!(link.mtu, 1300);
        assert_ip_agrees(&ns, &link);
        let addrs = json(&ns.ip(&["-j", "addr", "show", "dev", name]));
        let infos = addrs[0]["addr_info"].as_array().unwrap();
        assert!(
            infos.iter().any(
                |a| a["local"].as_str() == Some(vip.ip().to_string().as_str())
                    && a["prefixlen"].as_u64() == Some(u64::from(vip.prefix()))
            ),
            "{name}: ip addr shows {infos:?}"
        );
    }
    // the list holds them all, with the same values as single reads
    let all = r.tunnels().unwrap();
    for (name, _) in library_specs(d0) {
        let l = all.iter().find(|l| l.name == name).unwrap();
        assert_eq!(Some(l), r.link(name).unwrap().as_ref());
    }
    for (name, _) in library_specs(d0) {
        r.del_link(name).unwrap();
        assert!(r.link(name).unwrap().is_none());
        assert!(!ns_out_has_link(&ns, name));
    }
}

pub(crate) fn ns_out_has_link(ns: &TestNs, name: &str) -> bool {
    let v = json(&ns.ip(&["-j", "link", "show"]));
    v.as_array()
        .unwrap()
        .iter()
        .any(|l| l["ifname"].as_str() == Some(name))
}

#[test]
fn devices_made_by_ip_read_back_by_the_library() {
    let ns = TestNs::new();
    ns.dummy("d0", &[]);
    let cmds: &[&[&str]] = &[
        &[
            "link",
            "add",
            "t1",
            "type",
            "ipip",
            "local",
            "10.0.0.1",
            "remote",
            "10.0.0.2",
            "ttl",
            "64",
            "tos",
            "0x10",
            "dev",
            "d0",
            "encap",
            "gue",
            "encap-sport",
            "1234",
            "encap-dport",
            "5555",
            "encap-csum",
            "encap-remcsum",
        ],
        &[
            "link",
            "add",
            "t2",
            "type",
            "sit",
            "local",
            "10.0.0.1",
            "ttl",
            "0",
            "nopmtudisc",
            "mode",
            "any",
        ],
        &[
            "link",
            "add",
            "t3",
            "type",
            "ip6tnl",
            "mode",
            "ipip6",
            "local",
            "2001:db8::1",
            "remote",
            "2001:db8::2",
            "hoplimit",
            "10",
            "encaplimit",
            "3",
            "tclass",
            "0x28",
            "flowlabel",
            "0x12345",
            "encap",
            "fou",
            "encap-dport",
            "6666",
            "encap-udp6-csum",
        ],
        &[
            "link",
            "add",
            "t4",
            "type",
            "ip6tnl",
            "mode",
            "ip6ip6",
            "local",
            "2001:db8::1",
            "remote",
            "2001:db8::3",
        ],
        &[
            "link",
            "add",
            "t5",
            "type",
            "gre",
            "local",
            "10.0.0.1",
            "remote",
            "10.0.0.4",
            "ttl",
            "20",
            "key",
            "77",
            "encap",
            "gue",
            "encap-dport",
            "7777",
        ],
        &[
            "link", "add", "t6", "type", "gretap", "local", "10.0.0.1", "remote", "10.0.0.5",
            "ikey", "5", "okey", "6",
        ],
        &[
            "link",
            "add",
            "t7",
            "type",
            "ip6gre",
            "local",
            "2001:db8::1",
            "remote",
            "2001:db8::6",
            "hoplimit",
            "9",
        ],
        &[
            "link",
            "add",
            "t8",
            "type",
            "ip6gretap",
            "local",
            "2001:db8::1",
            "remote",
            "2001:db8::7",
        ],
    ];
    for c in cmds {
        ns.ip(c);
    }
    ns.ip(&["link", "set", "t1", "mtu", "1400", "up"]);
    let r = rtnl(&ns);
    let tunnels = r.tunnels().unwrap();
    // the eight above plus the fallback devices of every loaded module
    for name in [
        "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "tunl0", "sit0", "ip6tnl0", "gre0",
        "gretap0", "ip6gre0",
    ] {
        let l = tunnels
            .iter()
            .find(|l| l.name == name)
            .unwrap_or_else(|| panic!("{name} missing from {tunnels:?}"));
        assert_ip_agrees(&ns, l);
    }
    // a few values spelled out, independent of the comparison helper
    let t1 = r.link("t1").unwrap().unwrap();
    assert!(t1.is_up());
    assert_eq!(t1.mtu, 1400);
    let c = t1.tunnel.unwrap();
    assert_eq!(c.remote, Some(v4("10.0.0.2")));
    assert_eq!(c.tos, 0x10);
    assert_eq!(c.link, r.link("d0").unwrap().unwrap().index);
    assert_eq!(
        c.encap,
        Some(Encap {
            kind: EncapType::Gue,
            sport: Some(1234),
            dport: 5555,
            flags: TunnelEncapFlags::CSUM | TunnelEncapFlags::REMCSUM
        })
    );
    let c3 = r.link("t3").unwrap().unwrap().tunnel.unwrap();
    assert_eq!(c3.proto, Some(InnerProto::Ipv4));
    assert_eq!(c3.encap_limit, Some(3));
    assert_eq!(c3.flowinfo, (0x28 << 20) | 0x12345);
    let c5 = r.link("t5").unwrap().unwrap().tunnel.unwrap();
    assert_eq!((c5.ikey, c5.okey), (Some(77), Some(77)));
    let c6 = r.link("t6").unwrap().unwrap().tunnel.unwrap();
    assert_eq!((c6.ikey, c6.okey), (Some(5), Some(6)));
    // lo and d0 are not tunnels
    assert!(tunnels.iter().all(|l| l.name != "lo" && l.name != "d0"));
    let d0 = r.link("d0").unwrap().unwrap();
    assert_eq!(d0.kind.as_deref(), Some("dummy"));
    assert!(d0.tunnel.is_none());
}

#[test]
fn set_tunnel_replaces_parameters_and_fallback_devices_are_usable() {
    let ns = TestNs::new();
    let r = rtnl(&ns);
    let cfg = TunnelConfig::new(TunnelKind::Ipip)
        .with_local(v4("10.0.0.1"))
        .with_remote(v4("10.0.0.2"));
    r.add_link(&NewLink::tunnel("ch0", cfg)).unwrap();
    let mut c = r.link("ch0").unwrap().unwrap().tunnel.unwrap();
    c.ttl = 33;
    c.encap = Some(Encap::gue(6080));
    r.set_tunnel("ch0", &c).unwrap();
    let l = r.link("ch0").unwrap().unwrap();
    assert_eq!(l.tunnel.as_ref(), Some(&c));
    assert_ip_agrees(&ns, &l);
    // removing the encapsulation
    c.encap = None;
    r.set_tunnel("ch0", &c).unwrap();
    let l = r.link("ch0").unwrap().unwrap();
    assert_eq!(l.tunnel.as_ref().unwrap().encap, None);
    assert_ip_agrees(&ns, &l);
    // a change of kind is refused by the kernel
    let e = r
        .set_tunnel("ch0", &TunnelConfig::new(TunnelKind::Gre))
        .unwrap_err();
    assert_eq!(e.errno(), Some(libc::EOPNOTSUPP), "{e}");

    // the fallback tunl0: up, MTU and an address work; parameters do not
    let t = r.link("tunl0").unwrap().unwrap();
    assert_eq!(t.kind.as_deref(), Some("ipip"));
    r.set_up("tunl0", true).unwrap();
    r.set_mtu("tunl0", 1400).unwrap();
    r.add_address("tunl0", "198.51.100.1/32".parse().unwrap())
        .unwrap();
    let t = r.link("tunl0").unwrap().unwrap();
    assert!(t.is_up());
    assert_eq!(t.mtu, 1400);
    assert_ip_agrees(&ns, &t);
    let mut tc = t.tunnel.unwrap();
    tc.encap = Some(Encap::gue(5000));
    match r.set_tunnel("tunl0", &tc) {
        Err(Error::Invalid { errno, .. }) => assert_eq!(errno, libc::EINVAL),
        other => panic!("changing tunl0: {other:?}"),
    }
    // (Linux applies the encapsulation part of the change before refusing
    // the rest, so tunl0 may now show it: not asserted either way)
    r.set_up("tunl0", false).unwrap();
    assert!(!r.link("tunl0").unwrap().unwrap().is_up());
    // errors are typed
    assert!(matches!(
        r.add_link(&NewLink::tunnel("ch0", TunnelConfig::new(TunnelKind::Ipip))),
        Err(Error::Exists { .. })
    ));
    assert!(matches!(
        r.set_up("nosuchdev", true),
        Err(Error::NotFound { .. })
    ));
    assert!(r.link("nosuchdev").unwrap().is_none());
}

#[test]
fn invalid_requests_are_refused_before_sending() {
    let ns = TestNs::new();
    let r = rtnl(&ns);
    let bad = [
        NewLink::tunnel(
            "x1",
            TunnelConfig::new(TunnelKind::Ipip).with_local(v4("2001:db8::1")),
        ),
        NewLink::tunnel(
            "x2",
            TunnelConfig::new(TunnelKind::Ipip).with_encap(Encap::gue(0)),
        ),
        NewLink::tunnel("a-name-of-16-ch", TunnelConfig::new(TunnelKind::Ipip)),
        NewLink::tunnel(
            "x3",
            TunnelConfig::new(TunnelKind::Ip6tnl).with_remote(v4("10.0.0.1")),
        ),
    ];
    // 15 bytes is fine, 16 is not
    assert_eq!("a-name-of-16-ch".len(), 15);
    let ok15 = r
        .add_link(&NewLink::tunnel(
            "a-name-of-16-ch",
            TunnelConfig::new(TunnelKind::Ipip).with_local(v4("10.9.9.9")),
        ))
        .unwrap();
    r.del_link(ok15.index).unwrap();
    for (i, l) in bad.iter().enumerate() {
        if i == 2 {
            continue;
        }
        assert!(
            matches!(r.add_link(l), Err(Error::InvalidInput { .. })),
            "{l:?}"
        );
        assert!(r.link(l.name.as_str()).unwrap().is_none());
    }
    let long = NewLink::tunnel("a-name-of-16-chr", TunnelConfig::new(TunnelKind::Ipip));
    assert!(matches!(r.add_link(&long), Err(Error::InvalidInput { .. })));
}

#[test]
fn addresses_cross_checked_with_ip() {
    let ns = TestNs::new();
    ns.dummy("d1", &[]);
    ns.ip(&["addr", "add", "10.20.0.1/24", "dev", "d1"]);
    let r = rtnl(&ns);
    r.add_address("d1", "10.20.0.9/32".parse().unwrap())
        .unwrap();
    r.add_address("d1", "2001:db8:20::9/128".parse().unwrap())
        .unwrap();
    r.add_address("lo", "203.0.113.5/32".parse().unwrap())
        .unwrap();
    let d1 = r.link("d1").unwrap().unwrap().index;
    let ours: Vec<(String, u8)> = r
        .addresses(Some(d1.into()))
        .unwrap()
        .iter()
        .map(|a| (a.addr.to_string(), a.prefix_len))
        .collect();
    let ip = json(&ns.ip(&["-j", "addr", "show", "dev", "d1"]));
    let theirs: Vec<(String, u8)> = ip[0]["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["local"].as_str().unwrap().to_string(),
                a["prefixlen"].as_u64().unwrap() as u8,
            )
        })
        .collect();
    let mut a = ours.clone();
    let mut b = theirs.clone();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    for want in [
        ("10.20.0.1", 24),
        ("10.20.0.9", 32),
        ("2001:db8:20::9", 128),
    ] {
        assert!(a.contains(&(want.0.to_string(), want.1)), "{a:?}");
    }
    let lo = json(&ns.ip(&["-j", "addr", "show", "dev", "lo"]));
    assert!(lo[0]["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["local"] == "203.0.113.5" && a["scope"] == "global"));
    r.del_address("d1", "10.20.0.9/32".parse().unwrap())
        .unwrap();
    assert!(matches!(
        r.del_address("d1", "10.20.0.9/32".parse().unwrap()),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        r.add_address("d1", "10.20.0.1/24".parse().unwrap()),
        Err(Error::Exists { .. })
    ));
    assert!(!ns.ip(&["addr", "show", "dev", "d1"]).contains("10.20.0.9"));
}

pub(crate) fn ip_fou(ns: &TestNs) -> Vec<(u64, String, bool)> {
    let v = json(&ns.ip(&["-j", "fou", "show"]));
    let mut out: Vec<_> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let what = match p["ipproto"].as_u64() {
                Some(n) => format!("ipproto {n}"),
                None => {
                    assert!(p.get("gue").is_some(), "{p}");
                    "gue".to_string()
                }
            };
            (p["port"].as_u64().unwrap(), what, p["family"] == "inet6")
        })
        .collect();
    out.sort();
    out
}

fn lib_fou(f: &Fou) -> Vec<(u64, String, bool)> {
    let mut out: Vec<_> = f
        .list()
        .unwrap()
        .iter()
        .map(|p| {
            let what = match p.encap {
                FouEncap::Gue => "gue".to_string(),
                FouEncap::Direct { ipproto } => format!("ipproto {ipproto}"),
            };
            (u64::from(p.port), what, p.ipv6)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn fou_ports_cross_checked_with_ip() {
    let ns = TestNs::new();
    let f = Fou::open(ns_of(&ns)).unwrap();
    assert!(f.list().unwrap().is_empty());
    f.add(&FouPort::gue(6080)).unwrap();
    f.add(&FouPort::direct(6081, 4)).unwrap();
    f.add(&FouPort::gue(6082).v6()).unwrap();
    ns.ip(&["fou", "add", "port", "6083", "ipproto", "47"]);
    let want = vec![
        (6080, "gue".to_string(), false),
        (6081, "ipproto 4".to_string(), false),
        (6082, "gue".to_string(), true),
        (6083, "ipproto 47".to_string(), false),
    ];
    assert_eq!(ip_fou(&ns), want);
    assert_eq!(lib_fou(&f), want);
    assert!(matches!(
        f.add(&FouPort::gue(6080)),
        Err(Error::Exists { .. })
    ));
    f.del(&FouPort::gue(6080)).unwrap();
    f.del(&FouPort::direct(6083, 47)).unwrap();
    ns.ip(&["fou", "del", "port", "6082", "-6"]);
    assert_eq!(ip_fou(&ns), vec![(6081, "ipproto 4".to_string(), false)]);
    assert_eq!(lib_fou(&f), ip_fou(&ns));
    assert!(matches!(
        f.del(&FouPort::gue(6080)),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        f.add(&FouPort::direct(6090, 0)),
        Err(Error::InvalidInput { .. })
    ));
}

/// What teardown must restore: the relevant sysctls, every address and
/// device state, and the FOU ports.
pub(crate) fn snapshot(ns: &TestNs, devs: &[&str]) -> String {
    let mut paths = Vec::new();
    for d in ["all", "default", "lo"].iter().chain(devs) {
        for k in ["rp_filter", "arp_ignore", "arp_announce"] {
            paths.push(format!("net/ipv4/conf/{d}/{k}"));
        }
    }
    let mut s = String::new();
    for p in &paths {
        let v = read_sysctl(&ns_of(ns), p).unwrap_or_else(|_| "(absent)".into());
        s += &format!("{p}={v}\n");
    }
    // the library's reader must agree with a process inside the namespace
    let script = format!(
        "for p in {}; do v=$(cat /proc/sys/$p 2>/dev/null) || v='(absent)'; echo \"$p=$v\"; done",
        paths.join(" ")
    );
    assert_eq!(ns.exec("sh", &["-c", &script]), s);
    s += &ns.ip(&["-br", "link", "show"]);
    s += &ns.ip(&["-br", "addr", "show"]);
    s += &ns.ip(&["fou", "show"]);
    s
}

fn sysctl_in(ns: &TestNs, path: &str) -> String {
    ns.exec("cat", &[&format!("/proc/sys/{path}")])
        .trim()
        .to_string()
}

#[test]
fn tun_real_server_on_tunl0_with_gue_prepares_and_tears_down_exactly() {
    let ns = TestNs::new();
    // make the non-default starting values visible
    ns.exec("sysctl", &["-qw", "net.ipv4.conf.all.rp_filter=1"]);
    ns.exec("sysctl", &["-qw", "net.ipv4.conf.tunl0.rp_filter=2"]);
    ns.exec("sysctl", &["-qw", "net.ipv4.conf.all.arp_announce=1"]);
    let before = snapshot(&ns, &["tunl0"]);
    let rs =
        RealServer::tun([v4("198.51.100.10"), v4("198.51.100.11")]).with_fou(FouPort::gue(6080));
    let p = realserver::prepare(&ns_of(&ns), &rs).unwrap();
    assert!(!p.created_device);
    assert!(p.brought_up);
    assert_eq!(p.addresses.len(), 2);
    assert_eq!(p.fou, Some(FouPort::gue(6080)));
    for (path, v) in [
        ("net/ipv4/conf/all/rp_filter", "0"),
        ("net/ipv4/conf/tunl0/rp_filter", "0"),
        ("net/ipv4/conf/all/arp_ignore", "1"),
        ("net/ipv4/conf/all/arp_announce", "2"),
        ("net/ipv4/conf/tunl0/arp_ignore", "1"),
        ("net/ipv4/conf/tunl0/arp_announce", "2"),
    ] {
        assert_eq!(sysctl_in(&ns, path), v, "{path}");
    }
    let j = json(&ns.ip(&["-j", "addr", "show", "dev", "tunl0"]));
    assert!(j[0]["flags"].as_array().unwrap().iter().any(|f| f == "UP"));
    let locals: Vec<&str> = j[0]["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["prefixlen"] == 32)
        .map(|a| a["local"].as_str().unwrap())
        .collect();
    assert_eq!(locals, ["198.51.100.10", "198.51.100.11"]);
    assert_eq!(ns.ip(&["fou", "show"]).trim(), "port 6080 gue");
    // idempotent: a second prepare changes nothing
    let again = realserver::prepare(&ns_of(&ns), &rs).unwrap();
    assert!(again.is_empty(), "{again:?}");
    let mid = snapshot(&ns, &["tunl0"]);
    realserver::teardown(&again).unwrap();
    assert_eq!(snapshot(&ns, &["tunl0"]), mid);
    // teardown restores exactly
    realserver::teardown(&p).unwrap();
    assert_eq!(snapshot(&ns, &["tunl0"]), before);
    assert_eq!(sysctl_in(&ns, "net/ipv4/conf/tunl0/rp_filter"), "2");
    // and may be repeated
    realserver::teardown(&p).unwrap();
    assert_eq!(snapshot(&ns, &["tunl0"]), before);
}

#[test]
fn tun_real_server_on_a_created_ip6tnl_device_is_removed_by_teardown() {
    let ns = TestNs::new();
    let before = snapshot(&ns, &[]);
    // a tunnel with neither local nor remote would clash with ip6tnl0 (EEXIST)
    let cfg = TunnelConfig::new(TunnelKind::Ip6tnl)
        .with_proto(InnerProto::Any)
        .with_local(v4("2001:db8:1::1"));
    let rs = RealServer::tun_device("lvs6", cfg, [v4("2001:db8:77::10"), v4("198.51.100.20")]);
    let p = realserver::prepare(&ns_of(&ns), &rs).unwrap();
    assert!(p.created_device);
    let l = rtnl(&ns).link("lvs6").unwrap().unwrap();
    assert!(l.is_up());
    assert_ip_agrees(&ns, &l);
    let j = json(&ns.ip(&["-j", "addr", "show", "dev", "lvs6"]));
    let locals: Vec<&str> = j[0]["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["local"].as_str().unwrap())
        .collect();
    assert!(locals.contains(&"2001:db8:77::10"), "{locals:?}");
    assert!(locals.contains(&"198.51.100.20"), "{locals:?}");
    assert_eq!(sysctl_in(&ns, "net/ipv4/conf/lvs6/rp_filter"), "0");
    assert_eq!(sysctl_in(&ns, "net/ipv4/conf/lvs6/arp_ignore"), "1");
    realserver::teardown(&p).unwrap();
    assert!(rtnl(&ns).link("lvs6").unwrap().is_none());
    assert_eq!(snapshot(&ns, &[]), before);
}

#[test]
fn dr_real_server_on_lo_and_on_a_dummy_restores_exactly() {
    let ns = TestNs::new();
    ns.exec("sysctl", &["-qw", "net.ipv4.conf.all.arp_ignore=2"]);
    let before = snapshot(&ns, &["vip0"]);
    let lo = RealServer::dr([v4("203.0.113.80"), v4("2001:db8:80::1")]);
    let p = realserver::prepare(&ns_of(&ns), &lo).unwrap();
    assert!(!p.created_device && !p.brought_up);
    // arp_ignore=2 on all is kept? no: the helper writes 1 (the value LVS/DR wants)
    assert_eq!(sysctl_in(&ns, "net/ipv4/conf/all/arp_ignore"), "1");
    assert_eq!(sysctl_in(&ns, "net/ipv4/conf/all/arp_announce"), "2");
    assert_eq!(sysctl_in(&ns, "net/ipv4/conf/lo/arp_ignore"), "1");
    assert_eq!(sysctl_in(&ns, "net/ipv4/conf/lo/arp_announce"), "2");
    let lo_addrs = ns.ip(&["addr", "show", "dev", "lo"]);
    assert!(lo_addrs.contains("inet 203.0.113.80/32"), "{lo_addrs}");
    assert!(lo_addrs.contains("inet6 2001:db8:80::1/128"), "{lo_addrs}");
    let d = RealServer::dr_dummy("vip0", [v4("203.0.113.81")]);
    let pd = realserver::prepare(&ns_of(&ns), &d).unwrap();
    assert!(pd.created_device);
    let vip0 = json(&ns.ip(&["-d", "-j", "addr", "show", "dev", "vip0"]));
    assert_eq!(vip0[0]["linkinfo"]["info_kind"], "dummy");
    assert_eq!(vip0[0]["addr_info"][0]["local"], "203.0.113.81");
    assert_eq!(sysctl_in(&ns, "net/ipv4/conf/vip0/arp_ignore"), "1");
    // teardown in reverse order of preparation restores the original state
    realserver::teardown(&pd).unwrap();
    realserver::teardown(&p).unwrap();
    assert_eq!(snapshot(&ns, &["vip0"]), before);
    assert_eq!(sysctl_in(&ns, "net/ipv4/conf/all/arp_ignore"), "2");
    // a device of the wrong kind is refused before any change
    ns.dummy("notatun", &[]);
    let before = snapshot(&ns, &["notatun"]);
    let bad = RealServer::tun_device(
        "notatun",
        TunnelConfig::new(TunnelKind::Ipip),
        [v4("203.0.113.82")],
    );
    assert!(matches!(
        realserver::prepare(&ns_of(&ns), &bad),
        Err(Error::InvalidInput { .. })
    ));
    assert_eq!(snapshot(&ns, &["notatun"]), before);
}

/// Prints the kernel's raw replies for devices and an address made by `ip`
/// (`GOLDEN name hex` lines; run with `--nocapture`): the source of the
/// golden vectors in `ipvs/src/tunnel/codec/tests.rs`. It also checks the
/// library decodes them as `ip` shows them.
#[test]
fn golden_replies_from_the_kernel() {
    let ns = TestNs::new();
    ns.dummy("d0", &[]);
    ns.ip(&[
        "link",
        "add",
        "g1",
        "type",
        "ipip",
        "local",
        "10.0.0.1",
        "remote",
        "10.0.0.2",
        "ttl",
        "64",
        "tos",
        "0x10",
        "dev",
        "d0",
        "encap",
        "gue",
        "encap-sport",
        "1234",
        "encap-dport",
        "5555",
        "encap-csum",
        "encap-remcsum",
    ]);
    ns.ip(&[
        "link",
        "add",
        "g3",
        "type",
        "ip6tnl",
        "mode",
        "ipip6",
        "local",
        "2001:db8::1",
        "remote",
        "2001:db8::2",
        "hoplimit",
        "10",
        "encaplimit",
        "3",
        "encap",
        "fou",
        "encap-dport",
        "6666",
        "encap-udp6-csum",
    ]);
    ns.ip(&[
        "link",
        "add",
        "g5",
        "type",
        "gre",
        "local",
        "10.0.0.1",
        "remote",
        "10.0.0.4",
        "ttl",
        "20",
        "key",
        "77",
        "encap",
        "gue",
        "encap-dport",
        "7777",
    ]);
    ns.ip(&["addr", "add", "198.51.100.10/32", "dev", "d0"]);
    let path = format!("/run/netns/{}", ns.name());
    let raw = std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        let f = std::fs::File::open(path).unwrap();
        assert_eq!(unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) }, 0);
        let fd = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_ROUTE) };
        assert!(fd >= 0);
        let mut out = Vec::new();
        let mut reqs = Vec::new();
        for name in ["g1", "g3", "g5"] {
            let mut b = Vec::new();
            lvskit::tunnel::codec::get_link(&mut b, 1, Some(name)).unwrap();
            reqs.push((name.to_string(), b));
        }
        let mut b = Vec::new();
        lvskit::tunnel::codec::dump_addrs(&mut b, 1).unwrap();
        reqs.push(("addrs".into(), b));
        for (name, req) in reqs {
            let n = unsafe { libc::send(fd, req.as_ptr().cast(), req.len(), 0) };
            assert_eq!(n as usize, req.len());
            let mut buf = vec![0u8; 65536];
            let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
            assert!(n > 0);
            buf.truncate(n as usize);
            out.push((name, buf));
            // drain the ACK / rest of the dump
            let mut rest = vec![0u8; 65536];
            unsafe { libc::recv(fd, rest.as_mut_ptr().cast(), rest.len(), libc::MSG_DONTWAIT) };
        }
        unsafe { libc::close(fd) };
        out
    })
    .join()
    .unwrap();
    let r = rtnl(&ns);
    for (name, bytes) in &raw {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        println!("GOLDEN {name} {hex}");
        let (h, payload) = lvskit::raw::nla::Messages::new(bytes)
            .next()
            .unwrap()
            .unwrap();
        if name == "addrs" {
            assert_eq!(h.ty, lvskit::tunnel::codec::rtm::NEWADDR);
            lvskit::tunnel::codec::decode_addr(payload).unwrap();
        } else {
            assert_eq!(h.ty, lvskit::tunnel::codec::rtm::NEWLINK);
            let l = lvskit::tunnel::codec::decode_link(payload).unwrap();
            assert_eq!(l.name, *name);
            assert_ip_agrees(&ns, &l);
            assert_eq!(Some(l), r.link(name.as_str()).unwrap());
        }
    }
}

// ------------------------------------------------------------ end to end

const SERVER: &str = r#"
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080))
s.listen(16)
print("ready", flush=True)
# no accept timeout: the emulated VM is slow; the test kills this process
while True:
    c, _ = s.accept()
    c.sendall(b"hello from the real server\n")
    c.close()
"#;

const CLIENT: &str = r#"
import socket, sys
try:
    s = socket.create_connection(("10.10.0.100", 8080), timeout=3)
    sys.stdout.write(s.recv(100).decode())
except OSError as e:
    sys.stdout.write("failed: %s" % e)
"#;

/// Kills the server process (started by this test) when the test ends.
pub(crate) struct Child(pub(crate) std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the Python server `script` in `ns` and waits for its "ready" line.
pub(crate) fn start_server(ns: &TestNs, script: &str) -> Child {
    let mut child = std::process::Command::new("ip")
        .args(["netns", "exec", ns.name(), "python3", "-c", script])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let server = Child(child);
    assert_eq!(line.trim(), "ready");
    server
}

fn tunl0_rx_packets(ns: &TestNs) -> u64 {
    let v = json(&ns.ip(&["-s", "-j", "link", "show", "dev", "tunl0"]));
    v[0]["stats64"]["rx"]["packets"].as_u64().unwrap()
}

/// A client, an IPVS director forwarding with GUE, and a real server set up
/// only by `realserver::prepare`, on one bridged segment inside the VM: the
/// connection to the VIP works after prepare (through the director and the
/// real server's tunl0) and fails before it and after teardown.
#[test]
fn a_gue_real_server_prepared_by_the_library_serves_the_vip_through_ipvs() {
    use lvskit::{Destination, EncapFlags, Forward, Service, ServiceKey, Tunnel};
    let [_lan, client, director, real] = crate::support::bridged_lab(
        ["10.10.0.2/24", "10.10.0.1/24", "10.10.0.3/24"],
        "10.10.0.100/32",
        false,
    );
    let key = ServiceKey::tcp([10, 10, 0, 100], 8080);
    let ipvs = director.ipvs();
    ipvs.add_service(&Service::new(key)).unwrap();
    ipvs.add_destination(
        &key,
        &Destination::new([10, 10, 0, 3], 8080).with_forward(Forward::Tunnel(Tunnel::Gue {
            port: 6080,
            flags: EncapFlags::empty(),
        })),
    )
    .unwrap();
    // a strict reverse-path filter, as many distributions ship, must be handled
    real.exec("sysctl", &["-qw", "net.ipv4.conf.all.rp_filter=1"]);
    let _server = start_server(&real, SERVER);
    let connect = || client.exec("python3", &["-c", CLIENT]);
    let diag = || {
        format!(
            "director:\n{}{}\nreal server:\n{}{}{}",
            director.ipvsadm(&["-Ln", "--stats"]),
            director.ipvsadm(&["-Lnc"]),
            real.ip(&["-s", "link", "show", "tunl0"]),
            real.ip(&["fou", "show"]),
            real.exec("nstat", &["-az"])
        )
    };

    let out = connect();
    assert!(
        out.starts_with("failed"),
        "before prepare: {out}\n{}",
        diag()
    );

    let before = snapshot(&real, &["tunl0"]);
    let rs = RealServer::tun([v4("10.10.0.100")]).with_fou(FouPort::gue(6080));
    let p = realserver::prepare(&ns_of(&real), &rs).unwrap();
    let rx = tunl0_rx_packets(&real);
    let out = connect();
    assert_eq!(out, "hello from the real server\n", "{}", diag());
    assert!(
        tunl0_rx_packets(&real) > rx,
        "the request did not arrive on tunl0"
    );
    let conns = director.ipvsadm(&["-Lnc"]);
    assert!(conns.contains("10.10.0.3:8080"), "{conns}");
    // the real server did not answer ARP for the VIP: the client's neighbour
    // entry for it is the director's MAC
    let neigh = client.ip(&["neigh", "show", "10.10.0.100"]);
    let dmac = json(&director.ip(&["-j", "link", "show", "dev", "eth0"]))[0]["address"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(neigh.contains(&dmac), "{neigh} vs director {dmac}");

    realserver::teardown(&p).unwrap();
    assert_eq!(snapshot(&real, &["tunl0"]), before);
    let out = connect();
    assert!(out.starts_with("failed"), "after teardown: {out}");
}
