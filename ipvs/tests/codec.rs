//! Host tests of the pure IPVS codec: golden replies captured from a real
//! kernel (Debian 6.1.0-56 in the test VM) and encode/decode round trips.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod golden;
mod strategies;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use golden::*;
use lvskit::raw::ipvs::{self as c, cmd_attr, dest_attr, svc_attr};
use lvskit::raw::nla::{self, Attrs};
use lvskit::{
    Destination, EncapFlags, Family, Forward, Info, Name, Netmask, Persistence, Protocol,
    Scheduler, Service, ServiceFlags, ServiceKey, SyncDaemon, SyncState, Timeouts, Tunnel,
};
use proptest::prelude::*;

fn nest(attrs: &[u8], ty: u16) -> &[u8] {
    c::find(attrs, ty).unwrap().expect("nest present")
}

fn golden_service(hex: &str) -> Service {
    let raw = unhex(hex);
    c::decode_service(nest(&raw, cmd_attr::SERVICE))
        .unwrap()
        .service
}

#[test]
fn decodes_golden_services() {
    assert_eq!(
        golden_service(SVC_TCP4),
        Service::new(ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), 80))
            .with_scheduler(Scheduler::RoundRobin)
    );
    let udp6 = ServiceKey::udp("2001:db8::1".parse::<Ipv6Addr>().unwrap(), 53);
    assert_eq!(
        golden_service(SVC_UDP6),
        Service::new(udp6)
            .with_scheduler(Scheduler::SourceHashing)
            .with_flags(ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT)
            .with_persistence_netmask(600, Netmask::V6(64))
    );
    assert_eq!(
        golden_service(SVC_FWM),
        Service {
            key: ServiceKey::fwmark(Family::Ipv4, 42),
            scheduler: Scheduler::WeightedLeastConnection,
            flags: ServiceFlags::empty(),
            persistence: Some(Persistence {
                timeout: 300,
                netmask: Netmask::V4(Ipv4Addr::new(255, 255, 255, 0))
            }),
            pe: Some(Name::new("sip").unwrap()),
        }
    );
}

/// Our encoding of a decoded service is the kernel's reply, attribute for
/// attribute, less the stats the kernel adds and the HASHED flag it sets.
#[test]
fn encodes_services_as_the_kernel_reports_them() {
    for hex in [SVC_TCP4, SVC_UDP6, SVC_FWM] {
        let raw = unhex(hex);
        let kernel = nest(&raw, cmd_attr::SERVICE);
        let svc = c::decode_service(kernel).unwrap().service;
        let mut ours = Vec::new();
        c::put_service_nest(&mut ours, &svc).unwrap();
        let ours = nest(&ours, cmd_attr::SERVICE);
        let kernel_attrs: Vec<(u16, Vec<u8>)> = Attrs::new(kernel)
            .map(|a| a.unwrap())
            .filter(|(t, _)| *t != svc_attr::STATS && *t != svc_attr::STATS64)
            .map(|(t, p)| {
                let mut p = p.to_vec();
                if t == svc_attr::FLAGS {
                    p[0] &= !0x2; // IP_VS_SVC_F_HASHED, set by the kernel
                }
                (t, p)
            })
            .collect();
        let our_attrs: Vec<(u16, Vec<u8>)> = Attrs::new(ours)
            .map(|a| a.unwrap())
            .map(|(t, p)| (t, p.to_vec()))
            .collect();
        assert_eq!(our_attrs, kernel_attrs, "service {}", svc.key);
    }
}

/// A key's nest (what deletes and destination requests carry) is the
/// kernel's identity attributes of the same service, byte for byte, in one
/// nest whose header holds its whole length.
#[test]
fn encodes_service_keys_as_the_kernel_reports_them() {
    for hex in [SVC_TCP4, SVC_UDP6, SVC_FWM] {
        let raw = unhex(hex);
        let kernel = nest(&raw, cmd_attr::SERVICE);
        let key = c::decode_service(kernel).unwrap().service.key;
        let mut ours = vec![0xee; 2]; // what precedes the nest is kept
        c::put_service_key_nest(&mut ours, &key).unwrap();
        assert_eq!(ours[..2], [0xee; 2]);
        let header = u16::from_ne_bytes([ours[2], ours[3]]);
        let ty = u16::from_ne_bytes([ours[4], ours[5]]);
        assert_eq!(usize::from(header), ours.len() - 2, "key {key}");
        assert_eq!(ty, cmd_attr::SERVICE | nla::NLA_F_NESTED, "key {key}");
        let identity = [
            svc_attr::AF,
            svc_attr::PROTOCOL,
            svc_attr::ADDR,
            svc_attr::PORT,
            svc_attr::FWMARK,
        ];
        let mut want = Vec::new();
        for a in Attrs::new(kernel).map(|a| a.unwrap()) {
            if identity.contains(&a.0) {
                want.extend(reference_attr(a.0, a.1));
            }
        }
        assert_eq!(ours[6..], want[..], "key {key}");
        let mut bare = Vec::new();
        c::put_service_key(&mut bare, &key);
        assert_eq!(bare, want, "key {key}");
    }
}

#[test]
fn decodes_golden_destinations() {
    let raw = unhex(DEST_MASQ);
    let d = c::decode_dest(nest(&raw, cmd_attr::DEST), Family::Ipv4).unwrap();
    assert_eq!(
        d.destination,
        Destination::new(Ipv4Addr::new(10, 1, 0, 2), 8080)
            .with_forward(Forward::Masq)
            .with_weight(3)
            .with_thresholds(100, 10)
    );
    assert_eq!(
        (d.active_conns, d.inactive_conns, d.persistent_conns),
        (0, 0, 0)
    );
    let raw = unhex(DEST_DR);
    let d = c::decode_dest(nest(&raw, cmd_attr::DEST), Family::Ipv4).unwrap();
    assert_eq!(
        d.destination,
        Destination::new(Ipv4Addr::new(10, 1, 0, 3), 0).with_weight(0)
    );
}

#[test]
fn decodes_golden_config_info_and_daemon() {
    assert_eq!(
        c::decode_timeouts(&unhex(CONFIG)).unwrap(),
        Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300
        }
    );
    let info = c::decode_info(&unhex(INFO)).unwrap();
    assert_eq!(
        info,
        Info {
            version: 0x010201,
            conn_table_size: 4096
        }
    );
    assert_eq!(
        info.to_string(),
        "IP Virtual Server version 1.2.1 (size=4096)"
    );
    let raw = unhex(DAEMON);
    let d = c::decode_daemon(nest(&raw, cmd_attr::DAEMON)).unwrap();
    assert_eq!(
        d,
        SyncDaemon {
            state: SyncState::Master,
            interface: "d0".into(),
            sync_id: 7,
            max_len: Some(1472),
            group: Some(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 81))),
            port: Some(8848),
            ttl: Some(1),
        }
    );
    // encoding that daemon gives the kernel's attributes back, in the same order
    // except that the kernel lists the group last
    let mut ours = Vec::new();
    c::put_daemon_nest(&mut ours, &d, true).unwrap();
    let mut a: Vec<_> = Attrs::new(nest(&ours, cmd_attr::DAEMON))
        .map(|x| x.unwrap())
        .collect();
    let mut b: Vec<_> = Attrs::new(nest(&raw, cmd_attr::DAEMON))
        .map(|x| x.unwrap())
        .collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

/// The table listing's decoders (no counters) give what the full decoders
/// give, less the counters, for every golden reply.
#[test]
fn config_decoders_match_the_full_decoders() {
    for hex in [SVC_TCP4, SVC_UDP6, SVC_FWM] {
        let raw = unhex(hex);
        let inner = nest(&raw, cmd_attr::SERVICE);
        let full = c::decode_service(inner).unwrap();
        assert!(
            Attrs::new(inner).any(|a| a.unwrap().0 == svc_attr::STATS64),
            "golden replies carry counters for the config decoder to skip"
        );
        assert_eq!(c::decode_service_config(inner).unwrap(), full.service);
    }
    for hex in [DEST_MASQ, DEST_DR] {
        let raw = unhex(hex);
        let inner = nest(&raw, cmd_attr::DEST);
        assert_eq!(
            c::decode_dest_config(inner, Family::Ipv4).unwrap(),
            c::decode_dest(inner, Family::Ipv4).unwrap().destination
        );
    }
    // a missing required attribute is an error for both
    let raw = unhex(DEST_MASQ);
    let inner = nest(&raw, cmd_attr::DEST);
    let no_addr: Vec<u8> = Attrs::new(inner)
        .map(|a| a.unwrap())
        .filter(|(t, _)| *t != dest_attr::ADDR)
        .fold(Vec::new(), |mut b, (t, p)| {
            nla::put(&mut b, t, p);
            b
        });
    assert!(c::decode_dest_config(&no_addr, Family::Ipv4).is_err());
    assert!(c::decode_dest(&no_addr, Family::Ipv4).is_err());
}

#[test]
fn unknown_attributes_are_skipped() {
    let raw = unhex(SVC_TCP4);
    let inner = nest(&raw, cmd_attr::SERVICE).to_vec();
    let mut extended = inner.clone();
    nla::put_u32(&mut extended, 200, 7); // an attribute from a future kernel
    nla::put(&mut extended, 201, &[1, 2, 3]);
    assert_eq!(
        c::decode_service(&extended).unwrap(),
        c::decode_service(&inner).unwrap()
    );
}

#[test]
fn truncated_replies_are_errors_not_panics() {
    let raw = unhex(DEST_MASQ);
    let inner = nest(&raw, cmd_attr::DEST);
    for cut in 0..inner.len() {
        let _ = c::decode_dest(&inner[..cut], Family::Ipv4);
    }
    // an attribute claiming more bytes than present
    let bad = [0x40, 0x00, 0x01, 0x00, 0x0a, 0x00];
    assert!(c::decode_dest(&bad, Family::Ipv4).is_err());
}

proptest! {
    #[test]
    fn service_round_trip(svc in strategies::service()) {
        let mut buf = Vec::new();
        c::put_service_nest(&mut buf, &svc).unwrap();
        let got = c::decode_service(nest(&buf, cmd_attr::SERVICE)).unwrap();
        prop_assert_eq!(&got.service, &svc);
        prop_assert_eq!(c::decode_service_config(nest(&buf, cmd_attr::SERVICE)).unwrap(), svc);
    }

    #[test]
    fn destination_round_trip(fam in strategies::family(), d in strategies::family().prop_flat_map(strategies::destination)) {
        let mut buf = Vec::new();
        c::put_dest_nest(&mut buf, &d, true).unwrap();
        let got = c::decode_dest(nest(&buf, cmd_attr::DEST), fam).unwrap();
        prop_assert_eq!(got.destination, d);
        prop_assert_eq!(c::decode_dest_config(nest(&buf, cmd_attr::DEST), fam).unwrap(), d);
    }

    #[test]
    fn daemon_round_trip(
        backup in any::<bool>(), ifname in "[a-z][a-z0-9]{0,14}", id in any::<u32>(),
        maxlen in prop::option::of(any::<u16>()), port in prop::option::of(1u16..),
        ttl in prop::option::of(1u8..), v6 in any::<bool>(), g in any::<u8>(),
    ) {
        let group = if v6 {
            IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, u16::from(g) + 1))
        } else {
            IpAddr::V4(Ipv4Addr::new(224, 0, 0, g))
        };
        let d = SyncDaemon {
            state: if backup { SyncState::Backup } else { SyncState::Master },
            interface: ifname, sync_id: id, max_len: maxlen, group: Some(group), port, ttl,
        };
        let mut buf = Vec::new();
        c::put_daemon_nest(&mut buf, &d, true).unwrap();
        prop_assert_eq!(c::decode_daemon(nest(&buf, cmd_attr::DAEMON)).unwrap(), d);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = c::decode_service(&bytes);
        let _ = c::decode_dest(&bytes, Family::Ipv4);
        let _ = c::decode_dest(&bytes, Family::Ipv6);
        let _ = c::decode_daemon(&bytes);
        let _ = c::decode_timeouts(&bytes);
        let _ = c::decode_info(&bytes);
        for m in nla::Messages::new(&bytes) { let _ = m; }
    }
}

#[test]
fn gue_and_gre_destinations_round_trip_with_flags() {
    for fwd in [
        Forward::Tunnel(Tunnel::Gue {
            port: 6080,
            flags: EncapFlags::CSUM,
        }),
        Forward::Tunnel(Tunnel::Gue {
            port: 1,
            flags: EncapFlags::REMCSUM,
        }),
        Forward::Tunnel(Tunnel::Gre {
            flags: EncapFlags::CSUM,
        }),
    ] {
        let d = Destination::new(Ipv6Addr::LOCALHOST, 53).with_forward(fwd);
        let mut buf = Vec::new();
        c::put_dest_nest(&mut buf, &d, true).unwrap();
        assert_eq!(
            c::decode_dest(nest(&buf, cmd_attr::DEST), Family::Ipv4)
                .unwrap()
                .destination,
            d
        );
    }
    let _ = Protocol::Sctp;
}

/// The reference layout of one attribute: length, type, payload, zero padding to 4.
fn reference_attr(ty: u16, payload: &[u8]) -> Vec<u8> {
    let len = 4 + payload.len();
    let mut v = Vec::new();
    v.extend_from_slice(&(len as u16).to_ne_bytes());
    v.extend_from_slice(&ty.to_ne_bytes());
    v.extend_from_slice(payload);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v
}

#[test]
fn attribute_writers_match_the_netlink_layout_for_every_length() {
    for n in 0..=40usize {
        let payload: Vec<u8> = (1..=n as u8).collect();
        let mut buf = vec![0xee; 3]; // a non-empty, unaligned prefix must be kept as is
        nla::put(&mut buf, 7, &payload);
        assert_eq!(buf[..3], [0xee; 3]);
        assert_eq!(buf[3..], reference_attr(7, &payload)[..], "put, {n} bytes");

        // into a dirty array: the padding is written, what follows is kept
        let mut a = [0xee_u8; 50];
        let len = nla::write_attr(&mut a, 7, &payload);
        assert_eq!(
            a[..len],
            reference_attr(7, &payload)[..],
            "write_attr, {n} bytes"
        );
        assert!(a[len..].iter().all(|&b| b == 0xee), "write_attr, {n} bytes");

        let s: String = (0..n).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        let mut with_nul = s.clone().into_bytes();
        with_nul.push(0);
        let mut buf = Vec::new();
        nla::put_str(&mut buf, 6, &s);
        assert_eq!(buf, reference_attr(6, &with_nul), "put_str, {n} bytes");
    }
    let mut buf = Vec::new();
    nla::put_u8(&mut buf, 1, 0xab);
    nla::put_u16(&mut buf, 2, 0x1234);
    nla::put_be16(&mut buf, 3, 0x1234);
    nla::put_u32(&mut buf, 4, 0xdead_beef);
    nla::put_16(&mut buf, 5, &[9; 16]);
    let mut want = reference_attr(1, &[0xab]);
    want.extend(reference_attr(2, &0x1234u16.to_ne_bytes()));
    want.extend(reference_attr(3, &[0x12, 0x34]));
    want.extend(reference_attr(4, &0xdead_beefu32.to_ne_bytes()));
    want.extend(reference_attr(5, &[9; 16]));
    assert_eq!(buf, want);

    let mut buf = vec![1u8];
    let start = nla::begin_msg(&mut buf, 0x1c, 0x0305, 0x0102_0304);
    nla::put_genl(&mut buf, 5, 1);
    nla::end_msg(&mut buf, start).unwrap();
    let mut want = vec![1u8];
    want.extend_from_slice(&20u32.to_ne_bytes());
    want.extend_from_slice(&0x1cu16.to_ne_bytes());
    want.extend_from_slice(&0x0305u16.to_ne_bytes());
    want.extend_from_slice(&0x0102_0304u32.to_ne_bytes());
    want.extend_from_slice(&0u32.to_ne_bytes());
    want.extend_from_slice(&[5, 1, 0, 0]);
    assert_eq!(buf, want);
}

// ---------------------------------------------------------------- tolerant reader, strict writer
//
// Replies carrying values this library does not know are crafted from the
// golden captures above by rewriting one attribute's payload in place.

/// `inner` (the attributes of one nest) with the payload of attribute `ty`
/// replaced by `payload`, which must have the same length.
fn patched(inner: &[u8], ty: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = inner.to_vec();
    let mut at = 0;
    while at + 4 <= out.len() {
        let len = u16::from_ne_bytes([out[at], out[at + 1]]) as usize;
        let t = u16::from_ne_bytes([out[at + 2], out[at + 3]]) & nla::NLA_TYPE_MASK;
        if t == ty {
            assert_eq!(len - 4, payload.len(), "payload length of attribute {ty}");
            out[at + 4..at + len].copy_from_slice(payload);
            return out;
        }
        at += nla::align(len);
    }
    panic!("attribute {ty} not in the capture");
}

fn golden_nest(hex: &str, ty: u16) -> Vec<u8> {
    nest(&unhex(hex), ty).to_vec()
}

fn refused(op: lvskit::Operation) -> String {
    match op.validate() {
        Err(lvskit::Error::InvalidInput { context, reason }) => format!("{context}: {reason}"),
        other => panic!("{op:?} was not refused: {other:?}"),
    }
}

#[test]
fn unknown_protocol_is_listed_and_refused_on_write() {
    // IPPROTO_DCCP (33): a protocol IPVS may learn, this library does not know
    let inner = patched(
        &golden_nest(SVC_TCP4, cmd_attr::SERVICE),
        svc_attr::PROTOCOL,
        &33u16.to_ne_bytes(),
    );
    let svc = c::decode_service(&inner).unwrap().service;
    let ServiceKey::Inet {
        protocol,
        addr,
        port,
    } = svc.key
    else {
        panic!("{:?}", svc.key)
    };
    assert_eq!(
        (protocol, addr, port),
        (
            Protocol::Unknown(33),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            80
        )
    );
    assert_eq!(protocol.number(), 33);
    assert_eq!(c::decode_service_config(&inner).unwrap(), svc);
    for op in [
        lvskit::Operation::AddService(svc.clone()),
        lvskit::Operation::UpdateService(svc.clone()),
        lvskit::Operation::DeleteService(svc.key),
        lvskit::Operation::Zero(Some(svc.key)),
        lvskit::Operation::AddDestination(
            svc.key,
            Destination::new(Ipv4Addr::new(10, 1, 0, 2), 80),
        ),
    ] {
        assert!(refused(op).contains("protocol 33"));
    }
}

#[test]
fn unknown_forwarding_methods_are_listed_and_refused_on_write() {
    let key = ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), 80);
    let inner = golden_nest(DEST_MASQ, cmd_attr::DEST);
    for raw in [5u32, 7] {
        let d = c::decode_dest(
            &patched(&inner, dest_attr::FWD_METHOD, &raw.to_ne_bytes()),
            Family::Ipv4,
        )
        .unwrap()
        .destination;
        assert_eq!(d.forward, Forward::Unknown(raw));
        assert_eq!(d.forward.method(), raw);
        assert_eq!(
            (d.weight, d.upper_threshold, d.lower_threshold),
            (3, 100, 10)
        );
        for op in [
            lvskit::Operation::AddDestination(key, d),
            lvskit::Operation::UpdateDestination(key, d),
        ] {
            assert!(refused(op).contains(&format!("forwarding method {raw} is unknown")));
        }
    }
}

#[test]
fn unknown_tunnel_type_is_listed_not_turned_into_ipip() {
    let key = ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), 80);
    let inner = golden_nest(DEST_MASQ, cmd_attr::DEST);
    let tunnel = patched(&inner, dest_attr::FWD_METHOD, &2u32.to_ne_bytes());
    let ipip = c::decode_dest(&tunnel, Family::Ipv4).unwrap().destination;
    assert_eq!(ipip.forward, Forward::Tunnel(Tunnel::Ipip));
    let future = patched(&tunnel, dest_attr::TUN_TYPE, &[9]);
    let d = c::decode_dest(&future, Family::Ipv4).unwrap().destination;
    assert_eq!(d.forward, Forward::Tunnel(Tunnel::Unknown(9)));
    assert_eq!(c::decode_dest_config(&future, Family::Ipv4).unwrap(), d);
    assert!(refused(lvskit::Operation::AddDestination(key, d)).contains("tunnel type 9 is unknown"));
    // deleting needs only the address and port: allowed
    assert!(lvskit::Operation::DeleteDestination(key, d.addr, d.port)
        .validate()
        .is_ok());
}

#[test]
fn unknown_daemon_state_is_listed_and_refused_on_write() {
    let inner = golden_nest(DAEMON, cmd_attr::DAEMON);
    let d = c::decode_daemon(&patched(
        &inner,
        lvskit::codec::ipvs::daemon_attr::STATE,
        &4u32.to_ne_bytes(),
    ))
    .unwrap();
    assert_eq!(d.state, SyncState::Unknown(4));
    assert_eq!((d.interface.as_str(), d.sync_id), ("d0", 7));
    assert!(refused(lvskit::Operation::StartDaemon(d.clone())).contains("state 4"));
    assert!(refused(lvskit::Operation::StopDaemon(d.state)).contains("state 4"));
}

#[test]
fn unknown_attributes_of_destinations_and_daemons_are_skipped() {
    for (hex, ty) in [
        (DEST_MASQ, cmd_attr::DEST),
        (DAEMON, cmd_attr::DAEMON),
        (SVC_FWM, cmd_attr::SERVICE),
    ] {
        let inner = golden_nest(hex, ty);
        let mut extended = inner.clone();
        nla::put_u32(&mut extended, 300, 1); // attributes from a future kernel
        nla::put(&mut extended, 301 | nla::NLA_F_NESTED, &inner[..8]);
        nla::put(&mut extended, 302, &[]);
        match ty {
            cmd_attr::DEST => assert_eq!(
                c::decode_dest(&extended, Family::Ipv4).unwrap(),
                c::decode_dest(&inner, Family::Ipv4).unwrap()
            ),
            cmd_attr::DAEMON => assert_eq!(
                c::decode_daemon(&extended).unwrap(),
                c::decode_daemon(&inner).unwrap()
            ),
            _ => assert_eq!(
                c::decode_service(&extended).unwrap(),
                c::decode_service(&inner).unwrap()
            ),
        }
    }
}

#[test]
fn names_that_are_not_utf8_are_kept_losslessly() {
    // the daemon's interface "d0" becomes the bytes d 0xff
    let inner = patched(
        &golden_nest(DAEMON, cmd_attr::DAEMON),
        lvskit::codec::ipvs::daemon_attr::MCAST_IFN,
        b"d\xff\0",
    );
    let d = c::decode_daemon(&inner).unwrap();
    assert_eq!(d.interface, "d:ff");
    assert_eq!(d.interface_bytes(), b"d\xff");
    assert!(
        d.validate().is_ok(),
        "a daemon on such an interface can be written back"
    );
    let mut ours = Vec::new();
    c::put_daemon_nest(&mut ours, &d, true).unwrap();
    let ifn = c::find(
        nest(&ours, cmd_attr::DAEMON),
        lvskit::codec::ipvs::daemon_attr::MCAST_IFN,
    )
    .unwrap();
    assert_eq!(ifn, Some(&b"d\xff\0"[..]));

    // scheduler "rr" becomes r 0xfe, persistence engine "sip" becomes s 0xff p
    let svc = c::decode_service(&patched(
        &golden_nest(SVC_TCP4, cmd_attr::SERVICE),
        svc_attr::SCHED_NAME,
        b"r\xfe\0",
    ))
    .unwrap()
    .service;
    let Scheduler::Other(name) = &svc.scheduler else {
        panic!("{:?}", svc.scheduler)
    };
    assert_eq!(
        (name.as_str(), name.to_bytes()),
        ("r:fe", b"r\xfe".to_vec())
    );
    let mut ours = Vec::new();
    c::put_service_nest(&mut ours, &svc).unwrap();
    let sched = c::find(nest(&ours, cmd_attr::SERVICE), svc_attr::SCHED_NAME).unwrap();
    assert_eq!(
        sched,
        Some(&b"r\xfe\0"[..]),
        "written back as the kernel's bytes"
    );
    let fwm = c::decode_service(&patched(
        &golden_nest(SVC_FWM, cmd_attr::SERVICE),
        svc_attr::PE_NAME,
        b"s\xffp\0",
    ))
    .unwrap()
    .service;
    assert_eq!(fwm.pe.as_ref().map(|n| n.as_str()), Some("s:ffp"));
    // a ':' that is not an escape is no kernel name
    assert!(Name::new("a:b").is_err());
    assert!(Name::new("a:4a").is_ok());
}

#[test]
fn persistent_service_with_timeout_zero_is_listed_but_not_written() {
    let inner = patched(
        &golden_nest(SVC_FWM, cmd_attr::SERVICE),
        svc_attr::TIMEOUT,
        &0u32.to_ne_bytes(),
    );
    let svc = c::decode_service(&inner).unwrap().service;
    assert_eq!(svc.persistence.map(|p| p.timeout), Some(0));
    assert!(refused(lvskit::Operation::AddService(svc.clone())).contains("at least 1 second"));
    // the key alone (delete, zero) is fine
    assert!(lvskit::Operation::DeleteService(svc.key).validate().is_ok());
}

#[test]
fn values_the_kernel_would_store_differently_are_refused() {
    let key = ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), 80);
    let svc = |timeout| Service::new(key).with_persistence(timeout);
    for t in [
        1u32 << 31,
        17_179_870,
        Persistence::MAX_TIMEOUT + 1,
        u32::MAX,
    ] {
        assert!(
            refused(lvskit::Operation::AddService(svc(t))).contains("above the maximum 2678400")
        );
        assert!(refused(lvskit::Operation::UpdateService(svc(t))).contains("persistence timeout"));
    }
    assert!(svc(Persistence::MAX_TIMEOUT).validate().is_ok());
    // port 0 only with persistence, as ipvsadm (TCP, UDP and SCTP alike)
    for k in [
        ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), 0),
        ServiceKey::udp(Ipv4Addr::new(10, 0, 0, 1), 0),
        ServiceKey::sctp(Ipv4Addr::new(10, 0, 0, 1), 0),
    ] {
        assert!(refused(lvskit::Operation::AddService(Service::new(k))).contains("port 0"));
        assert!(Service::new(k).with_persistence(60).validate().is_ok());
    }
    let d = Destination::new(Ipv4Addr::new(10, 1, 0, 2), 80);
    assert!(d
        .with_weight(Destination::MAX_WEIGHT)
        .validate(Family::Ipv4)
        .is_ok());
    let e = refused(lvskit::Operation::AddDestination(
        key,
        d.with_weight(1 << 31),
    ));
    assert!(
        e.contains("weight 2147483648 is above the maximum 2147483647"),
        "{e}"
    );
    let e = refused(lvskit::Operation::AddDestination(
        key,
        d.with_thresholds(1 << 31, 0),
    ));
    assert!(
        e.contains("upper threshold 2147483648 is above the maximum 2147483647"),
        "{e}"
    );
    assert!(refused(lvskit::Operation::AddDestination(
        key,
        d.with_thresholds(5, 6)
    ))
    .contains("lower threshold 6 is above upper"));
    for t in [
        Timeouts {
            tcp: Timeouts::MAX + 1,
            tcp_fin: 0,
            udp: 0,
        },
        Timeouts {
            tcp: 0,
            tcp_fin: Timeouts::MAX + 1,
            udp: 0,
        },
        Timeouts {
            tcp: 0,
            tcp_fin: 0,
            udp: u32::MAX,
        },
    ] {
        assert!(refused(lvskit::Operation::SetTimeouts(t)).contains("at most 2147483 seconds"));
    }
    assert!(Timeouts {
        tcp: Timeouts::MAX,
        tcp_fin: Timeouts::MAX,
        udp: Timeouts::MAX
    }
    .validate()
    .is_ok());
    let mut daemon = SyncDaemon::new(SyncState::Master, "eth0", 256);
    assert!(refused(lvskit::Operation::StartDaemon(daemon.clone()))
        .contains("sync id 256 is outside 0..=255"));
    daemon.sync_id = SyncDaemon::MAX_SYNC_ID;
    assert!(daemon.validate().is_ok());
}
