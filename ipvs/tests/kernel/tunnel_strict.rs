//! Tolerant reading and strict writing of devices, and an LVS/TUN real
//! server for an IPv6 VIP that receives IPv6-in-IPv6 traffic.

use std::ffi::OsStr;
use std::net::IpAddr;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;

use lvskit::tunnel::realserver::{self, RealServer};
use lvskit::tunnel::{Encap, InnerProto, NewLink, TunnelConfig, TunnelKind};
use lvskit::Error;

use crate::support::{bridged_lab, TestNs};
use crate::tunnel::{json, ns_of, rtnl, snapshot, start_server};

/// A device name that is not UTF-8: "lvs" followed by 0xff 0xfe.
const RAW_NAME: &[u8] = b"lvs\xff\xfe";

fn ip_raw(ns: &TestNs, args: &[&OsStr]) {
    let out = Command::new("ip")
        .arg("-n")
        .arg(ns.name())
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "ip {args:?}: {:?}", out);
}

#[test]
fn a_device_name_that_is_not_utf8_lists_completely_with_its_exact_bytes() {
    let ns = TestNs::new();
    let name = OsStr::from_bytes(RAW_NAME);
    ip_raw(
        &ns,
        &[
            "link".as_ref(),
            "add".as_ref(),
            name,
            "type".as_ref(),
            "dummy".as_ref(),
        ],
    );
    ip_raw(
        &ns,
        &[
            "addr".as_ref(),
            "add".as_ref(),
            "192.0.2.7/24".as_ref(),
            "dev".as_ref(),
            name,
        ],
    );
    ns.ip(&["link", "add", "d1", "type", "dummy"]);
    let links = rtnl(&ns).links().unwrap();
    let ip_count = json(&ns.ip(&["-j", "link", "show"]))
        .as_array()
        .unwrap()
        .len();
    assert_eq!(links.len(), ip_count, "{links:?}");
    let odd = links
        .iter()
        .find(|l| l.raw_name == RAW_NAME)
        .expect("listed");
    assert_eq!(odd.name, "lvs\u{fffd}\u{fffd}");
    assert_eq!(odd.kind.as_deref(), Some("dummy"));
    assert!(links.iter().any(|l| l.name == "d1" && l.raw_name == b"d1"));
    // by index, and its address (labelled with the name) lists too
    let by_index = rtnl(&ns).link(odd.index).unwrap().unwrap();
    assert_eq!(by_index.raw_name, RAW_NAME);
    let addrs = rtnl(&ns).addresses(None).unwrap();
    let a = addrs
        .iter()
        .find(|a| a.index == odd.index)
        .expect("address listed");
    assert_eq!(a.addr, "192.0.2.7".parse::<IpAddr>().unwrap());
    assert_eq!(a.label.as_deref(), Some("lvs\u{fffd}\u{fffd}"));
}

#[test]
fn an_unknown_link_kind_lists_as_unknown_with_its_raw_kind_and_data() {
    let ns = TestNs::new();
    ns.ip(&["link", "add", "br9", "type", "bridge"]);
    ns.ip(&["link", "add", "ve0", "type", "veth", "peer", "name", "ve1"]);
    let links = rtnl(&ns).links().unwrap();
    let br = links.iter().find(|l| l.name == "br9").unwrap();
    assert_eq!(br.kind.as_deref(), Some("bridge"));
    assert_eq!(br.tunnel_kind(), None);
    assert!(br.tunnel.is_none());
    assert!(
        br.kind_data.as_ref().is_some_and(|d| !d.is_empty()),
        "{br:?}"
    );
    let ve = links.iter().find(|l| l.name == "ve0").unwrap();
    assert_eq!(ve.kind.as_deref(), Some("veth"));
    assert!(ve.tunnel.is_none());
    // a known tunnel kind keeps the attributes it does not decode (none
    // unknown to a 6.1 ipip device but collect_metadata/fwmark, if any)
    ns.ip(&["link", "add", "t9", "type", "ipip", "local", "192.0.2.1"]);
    let t = rtnl(&ns).link("t9").unwrap().unwrap();
    assert_eq!(t.tunnel_kind(), Some(TunnelKind::Ipip));
    assert!(t.kind_data.is_none());
    for (ty, _) in &t.unknown_attrs {
        assert!(*ty > 18, "attribute {ty} is one the decoder knows: {t:?}");
    }
}

/// The GRE flag words `ip -d link show` prints (of `icsum ocsum iseq oseq`),
/// sorted.
fn gre_words(shown: &str) -> Vec<&str> {
    let words = ["icsum", "ocsum", "iseq", "oseq"];
    let mut shown: Vec<&str> = shown
        .split_whitespace()
        .filter(|w| words.contains(w))
        .collect();
    shown.sort_unstable();
    shown
}

#[test]
fn gre_checksums_and_sequence_numbers_are_read_written_and_kept_through_a_change() {
    let ns = TestNs::new();
    ns.ip(&[
        "link",
        "add",
        "g9",
        "type",
        "gre",
        "local",
        "192.0.2.1",
        "remote",
        "192.0.2.2",
        "key",
        "7",
        "icsum",
        "oseq",
    ]);
    let r = rtnl(&ns);
    let l = r.link("g9").unwrap().unwrap();
    let t = l.tunnel.clone().unwrap();
    assert_eq!((t.ikey, t.okey), (Some(7), Some(7)), "{l:?}");
    assert_eq!(
        (t.icsum, t.ocsum, t.iseq, t.oseq),
        (true, false, false, true)
    );
    // decoded, so not kept raw as well
    assert!(
        l.unknown_attrs.iter().all(|(ty, _)| *ty != 2 && *ty != 3),
        "{l:?}"
    );
    // the documented way to change a device: read its config, edit, set it back
    r.set_tunnel("g9", &TunnelConfig { ttl: 9, ..t }).unwrap();
    let shown = ns.ip(&["-d", "link", "show", "g9"]);
    assert_eq!(gre_words(&shown), ["icsum", "oseq"], "{shown}");
    assert!(shown.contains("ttl 9"), "{shown}");
    // written by us, read back by ip and by us
    let cfg = TunnelConfig::new(TunnelKind::Gre)
        .with_local(IpAddr::from([192, 0, 2, 1]))
        .with_remote(IpAddr::from([192, 0, 2, 3]))
        .with_checksums(true, true)
        .with_sequence_numbers(true, false);
    let made = r.add_link(&NewLink::tunnel("g8", cfg.clone())).unwrap();
    assert_eq!(made.tunnel.as_ref(), Some(&cfg));
    let shown = ns.ip(&["-d", "link", "show", "g8"]);
    assert_eq!(gre_words(&shown), ["icsum", "iseq", "ocsum"], "{shown}");
    // an IPIP tunnel has no such flags: refused before sending
    let ipip = TunnelConfig::new(TunnelKind::Ipip).with_checksums(false, true);
    let res = r.add_link(&NewLink::tunnel("g7", ipip));
    assert!(matches!(res, Err(Error::InvalidInput { .. })), "{res:?}");
}

/// `(kind config, MTU the kernel would store differently)`; each MTU just
/// above (or below) what the device carries.
fn refused_mtus() -> Vec<(&'static str, TunnelConfig, u32)> {
    let k = TunnelConfig::new;
    let v4l = |t: TunnelConfig, i: u8| t.with_local(IpAddr::from([192, 0, 2, i]));
    let v6l =
        |t: TunnelConfig, i: u16| t.with_local(IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, i]));
    vec![
        ("ipip", v4l(k(TunnelKind::Ipip), 1), 70000),
        ("ipip", v4l(k(TunnelKind::Ipip), 2), 65516),
        (
            "ipip",
            v4l(k(TunnelKind::Ipip), 3).with_encap(Encap::gue(6080)),
            65504,
        ),
        (
            "ipip",
            v4l(k(TunnelKind::Ipip), 4).with_encap(Encap::fou(6080)),
            65508,
        ),
        ("gre", v4l(k(TunnelKind::Gre), 5), 65512),
        (
            "gre",
            v4l(k(TunnelKind::Gre), 6).with_keys(None, Some(5)),
            65508,
        ),
        (
            "gre",
            v4l(k(TunnelKind::Gre), 10)
                .with_keys(None, Some(5))
                .with_checksums(false, true)
                .with_sequence_numbers(false, true),
            65500,
        ),
        ("gretap", v4l(k(TunnelKind::Gretap), 7), 65498),
        ("sit", v4l(k(TunnelKind::Sit), 8), 65556),
        ("sit", v4l(k(TunnelKind::Sit), 9), 1279),
        ("ip6tnl", v6l(k(TunnelKind::Ip6tnl), 1), 65536),
        (
            "ip6tnl",
            v6l(k(TunnelKind::Ip6tnl), 2).with_proto(InnerProto::Ipv4),
            65496,
        ),
        (
            "ip6tnl",
            v6l(k(TunnelKind::Ip6tnl), 3).with_proto(InnerProto::Ipv6),
            1279,
        ),
        (
            "ip6tnl",
            v6l(k(TunnelKind::Ip6tnl), 4).with_encap(Encap::gue(6080)),
            65524,
        ),
        ("ip6gre", v6l(k(TunnelKind::Ip6gre), 5), 65532),
        (
            "ip6gre",
            v6l(k(TunnelKind::Ip6gre), 6).with_keys(None, Some(5)),
            65528,
        ),
        (
            "ip6gre",
            v6l(k(TunnelKind::Ip6gre), 9)
                .with_checksums(true, true)
                .with_sequence_numbers(false, true),
            65524,
        ),
        ("ip6gretap", v6l(k(TunnelKind::Ip6gretap), 7), 65518),
        ("ip6gre", v6l(k(TunnelKind::Ip6gre), 8), 67),
    ]
}

#[test]
fn tunnel_mtus_the_kernel_would_change_are_refused_before_sending() {
    let ns = TestNs::new();
    let r = rtnl(&ns);
    for (i, (kind, cfg, mtu)) in refused_mtus().into_iter().enumerate() {
        let name = format!("m{i}");
        let res = r.add_link(&NewLink::tunnel(&name, cfg.clone()).with_mtu(mtu));
        assert!(
            matches!(res, Err(Error::InvalidInput { .. })),
            "{kind} MTU {mtu}: {res:?}"
        );
        let out = ns.exec_output("ip", &["-d", "link", "show", &name]);
        assert!(
            !out.status.success(),
            "{kind}: {name} exists after a refusal"
        );
        // the edge of the range is accepted and stored exactly
        let (min, max) = cfg.mtu_range();
        let edge = if mtu > max { max } else { min };
        let l = r
            .add_link(&NewLink::tunnel(&name, cfg).with_mtu(edge))
            .unwrap_or_else(|e| panic!("{kind} MTU {edge}: {e}"));
        assert_eq!(l.mtu, edge, "{kind}");
        let v = json(&ns.ip(&["-d", "-j", "link", "show", "dev", &name]));
        assert_eq!(v[0]["mtu"].as_u64(), Some(u64::from(edge)), "{kind} per ip");
        r.del_link(name.as_str()).unwrap();
    }
    // changing an existing tunnel's MTU beyond its range: the kernel refuses, unchanged
    ns.ip(&["link", "add", "x0", "type", "ipip", "local", "192.0.2.99"]);
    let before = ns.ip(&["-d", "link", "show", "x0"]);
    let res = r.set_mtu("x0", 65516);
    assert!(matches!(res, Err(Error::Invalid { .. })), "{res:?}");
    assert_eq!(ns.ip(&["-d", "link", "show", "x0"]), before);
    r.set_mtu("x0", 65515).unwrap();
    assert!(ns.ip(&["link", "show", "x0"]).contains("mtu 65515"));
}

const SERVER6: &str = r#"
import socket
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 8080))
s.listen(16)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.sendall(b"hello over ip6ip6\n")
    c.close()
"#;

const CLIENT6: &str = r#"
import socket, sys
try:
    s = socket.create_connection(("fd10::100", 8080), timeout=3)
    sys.stdout.write(s.recv(100).decode())
except OSError as e:
    sys.stdout.write("failed: %s" % e)
"#;

fn rx_packets(ns: &TestNs, dev: &str) -> u64 {
    let v = json(&ns.ip(&["-s", "-j", "link", "show", "dev", dev]));
    v[0]["stats64"]["rx"]["packets"].as_u64().unwrap()
}

#[test]
fn tun_with_an_ipv6_vip_prepares_ip6tnl0_and_tears_down_exactly() {
    let ns = TestNs::new();
    let vip: IpAddr = "2001:db8:77::10".parse().unwrap();
    let before = snapshot(&ns, &[]);
    // bringing a device up once attaches a queue (noop becomes noqueue):
    // the kernel's, not a setting to restore
    let show = || {
        ns.ip(&["-d", "link", "show", "ip6tnl0"])
            .replace("qdisc noqueue", "qdisc noop")
    };
    let ip_before = show();
    let rs = RealServer::tun([vip]);
    assert_eq!(rs.device.name(), "ip6tnl0");
    let p = realserver::prepare(&ns_of(&ns), &rs).unwrap();
    assert!(!p.created_device && p.brought_up, "{p:?}");
    let l = rtnl(&ns).link("ip6tnl0").unwrap().unwrap();
    assert_eq!(l.tunnel_kind(), Some(TunnelKind::Ip6tnl));
    assert!(l.is_up());
    // ip agrees: an ip6ip6 tunnel, up, holding the VIP; tunl0 untouched
    let d = ns.ip(&["-d", "link", "show", "ip6tnl0"]);
    assert!(d.contains("ip6tnl ip6ip6") && d.contains(",UP"), "{d}");
    let a = ns.ip(&["-6", "addr", "show", "dev", "ip6tnl0"]);
    assert!(a.contains("inet6 2001:db8:77::10/128"), "{a}");
    assert!(!ns
        .ip(&["addr", "show", "dev", "tunl0"])
        .contains("2001:db8"));
    realserver::teardown(&p).unwrap();
    assert_eq!(snapshot(&ns, &[]), before);
    assert_eq!(show(), ip_before);
}

/// The director's VIP is deprecated in the lab (see `bridged_lab`): without
/// that the director tunnels with the VIP as the outer source and the real
/// server's `ip6tnl` drops every packet whose remote end is one of its own
/// addresses (the packets reached the real server and were delivered to the
/// IPv6-in-IPv6 handler, but no device received them).
#[test]
fn an_ipv6_vip_gets_ip6tnl_and_the_real_server_receives_ipv6_in_ipv6() {
    use lvskit::{Destination, Forward, Service, ServiceKey, Tunnel};
    let [_lan, client, director, real] = bridged_lab(
        ["fd10::2/64", "fd10::1/64", "fd10::3/64"],
        "fd10::100/128",
        true,
    );
    let vip: IpAddr = "fd10::100".parse().unwrap();
    let key = ServiceKey::tcp(vip, 8080);
    let ipvs = director.ipvs();
    ipvs.add_service(&Service::new(key)).unwrap();
    let rs_addr: IpAddr = "fd10::3".parse().unwrap();
    ipvs.add_destination(
        &key,
        &Destination::new(rs_addr, 8080).with_forward(Forward::Tunnel(Tunnel::Ipip)),
    )
    .unwrap();
    let _server = start_server(&real, SERVER6);
    let connect = || client.exec("python3", &["-c", CLIENT6]);
    let diag = || {
        format!(
            "director:\n{}{}\nreal server:\n{}{}",
            director.ipvsadm(&["-Ln", "--stats"]),
            director.ipvsadm(&["-Lnc"]),
            real.ip(&["-s", "-d", "link", "show"]),
            real.ip(&["addr", "show"]),
        )
    };
    let out = connect();
    assert!(
        out.starts_with("failed"),
        "before prepare: {out}\n{}",
        diag()
    );

    let before = snapshot(&real, &[]);
    let rs = RealServer::tun([vip]);
    assert_eq!(rs.device.name(), "ip6tnl0");
    let p = realserver::prepare(&ns_of(&real), &rs).unwrap();
    let l = rtnl(&real).link("ip6tnl0").unwrap().unwrap();
    assert_eq!(l.tunnel_kind(), Some(TunnelKind::Ip6tnl));
    assert!(l.is_up());
    let rx = rx_packets(&real, "ip6tnl0");
    let out = connect();
    assert_eq!(out, "hello over ip6ip6\n", "{}", diag());
    assert!(
        rx_packets(&real, "ip6tnl0") > rx,
        "nothing arrived on ip6tnl0\n{}",
        diag()
    );
    let conns = director.ipvsadm(&["-Lnc"]);
    assert!(conns.contains("[fd10::3]:8080"), "{conns}");

    realserver::teardown(&p).unwrap();
    assert_eq!(snapshot(&real, &[]), before);
    let out = connect();
    assert!(out.starts_with("failed"), "after teardown: {out}");
}

#[test]
fn a_real_server_whose_device_cannot_carry_its_vip_is_refused() {
    let ns = TestNs::new();
    let before = snapshot(&ns, &["tunl0"]);
    let v6: IpAddr = "2001:db8::10".parse().unwrap();
    let v4: IpAddr = "198.51.100.10".parse().unwrap();
    for rs in [
        RealServer::tun([v4, v6]),
        RealServer::tun_device("tunl0", TunnelConfig::new(TunnelKind::Ipip), [v6]),
        RealServer::tun_device(
            "x6",
            TunnelConfig::new(TunnelKind::Ip6tnl)
                .with_proto(InnerProto::Ipv4)
                .with_local(v6),
            [v6],
        ),
    ] {
        let res = realserver::prepare(&ns_of(&ns), &rs);
        match res {
            Err(Error::InvalidInput { ref reason, .. }) => {
                assert!(reason.contains("would receive nothing"), "{reason}")
            }
            other => panic!("{rs:?}: {other:?}"),
        }
    }
    assert_eq!(snapshot(&ns, &["tunl0"]), before);
}
