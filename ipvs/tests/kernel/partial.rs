//! Partial changes (`Ipvs::set_weight`, `Ipvs::set_scheduler`) keep what they
//! do not name, cross-checked with `ipvsadm -Ln --exact`, `--thresholds` and
//! `-Sn`, and contrasted with the restating `update_*`.

use std::net::{IpAddr, Ipv4Addr};

use lvskit::{
    Destination, EncapFlags, Error, Forward, Name, Netmask, Scheduler, Service, ServiceFlags,
    ServiceKey, Tunnel,
};

use crate::support::TestNs;

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn gue_dest() -> Destination {
    Destination::new(v4(10, 1, 0, 2), 80)
        .with_forward(Forward::Tunnel(Tunnel::Gue {
            port: 6080,
            flags: EncapFlags::CSUM,
        }))
        .with_weight(5)
        .with_thresholds(100, 10)
}

/// The destination line for 10.1.0.2 of `ipvsadm -Ln --exact` (forwarding
/// and weight) and of `ipvsadm -Ln --thresholds` (thresholds).
fn dest_lines(ns: &TestNs) -> String {
    format!(
        "{} | {}",
        line_of(ns, &["-Ln", "--exact"], "10.1.0.2:80"),
        line_of(ns, &["-Ln", "--thresholds"], "10.1.0.2:80")
    )
}

fn line_of(ns: &TestNs, args: &[&str], needle: &str) -> String {
    let out = ns.ipvsadm(args);
    out.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no destination line in:\n{out}"))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn set_weight_drains_and_restores_a_gue_destination_keeping_the_rest() {
    let ns = TestNs::new();
    ns.routable();
    let ipvs = ns.ipvs();
    let key = ServiceKey::tcp(v4(10, 0, 0, 1), 80);
    ipvs.add_service(&Service::new(key).with_scheduler(Scheduler::WeightedRoundRobin))
        .unwrap();
    ipvs.add_destination(&key, &gue_dest()).unwrap();
    let line = |w: u32| {
        format!(
            "-a -t 10.0.0.1:80 -r 10.1.0.2:80 -i -w {w} --tun-type gue --tun-port 6080 --tun-csum"
        )
    };
    assert!(ns.saved().contains(&line(5)), "{:?}", ns.saved());
    assert_eq!(
        dest_lines(&ns),
        "-> 10.1.0.2:80 Tunnel 5 0 0 | -> 10.1.0.2:80 100 10 0 0"
    );

    ipvs.set_weight(&key, v4(10, 1, 0, 2), 80, 0).unwrap();
    assert!(ns.saved().contains(&line(0)), "{:?}", ns.saved());
    assert_eq!(
        dest_lines(&ns),
        "-> 10.1.0.2:80 Tunnel 0 0 0 | -> 10.1.0.2:80 100 10 0 0"
    );
    let read = ipvs.destinations(&key).unwrap()[0].destination;
    assert_eq!(read, gue_dest().with_weight(0));

    ipvs.set_weight(&key, v4(10, 1, 0, 2), 80, 5).unwrap();
    assert!(ns.saved().contains(&line(5)), "{:?}", ns.saved());
    assert_eq!(
        dest_lines(&ns),
        "-> 10.1.0.2:80 Tunnel 5 0 0 | -> 10.1.0.2:80 100 10 0 0"
    );

    // the trap set_weight avoids: update_destination restates everything
    ipvs.update_destination(&key, &Destination::new(v4(10, 1, 0, 2), 80).with_weight(3))
        .unwrap();
    assert!(
        ns.saved()
            .contains(&"-a -t 10.0.0.1:80 -r 10.1.0.2:80 -g -w 3".to_owned()),
        "{:?}",
        ns.saved()
    );
}

#[test]
fn set_scheduler_keeps_persistence_flags_and_engine() {
    let ns = TestNs::new();
    ns.routable();
    let ipvs = ns.ipvs();
    let key = ServiceKey::udp(v4(10, 0, 0, 3), 5060);
    let svc = Service::new(key)
        .with_scheduler(Scheduler::SourceHashing)
        .with_flags(ServiceFlags::ONE_PACKET | ServiceFlags::SH_PORT)
        .with_persistence_netmask(120, Netmask::V4(Ipv4Addr::new(255, 255, 255, 0)))
        .with_pe(Name::new("sip").unwrap());
    ipvs.add_service(&svc).unwrap();
    ipvs.add_destination(
        &key,
        &Destination::new(v4(10, 1, 0, 9), 5060).with_weight(2),
    )
    .unwrap();
    let before = ns.saved();
    assert_eq!(
        before[0],
        "-A -u 10.0.0.3:5060 -s sh -p 120 -M 255.255.255.0 --pe sip -o -b sh-port"
    );

    ipvs.set_scheduler(&key, Scheduler::MaglevHashing).unwrap();
    let after = ns.saved();
    assert_eq!(
        after[0],
        "-A -u 10.0.0.3:5060 -s mh -p 120 -M 255.255.255.0 --pe sip -o -b mh-port"
    );
    assert_eq!(after[1..], before[1..], "destinations untouched");
    assert_eq!(
        line_of(&ns, &["-Ln", "--exact"], "UDP"),
        "UDP 10.0.0.3:5060 mh (mh-port) persistent 120 mask 255.255.255.0 pe sip ops"
    );
    let read = ipvs.service(&key).unwrap().service;
    assert_eq!(read, svc.clone().with_scheduler(Scheduler::MaglevHashing));

    // the trap set_scheduler avoids: update_service restates everything
    ipvs.update_service(&Service::new(key)).unwrap();
    assert_eq!(ns.saved()[0], "-A -u 10.0.0.3:5060 -s wlc");
}

#[test]
fn partial_changes_of_what_is_missing_are_not_found() {
    let ns = TestNs::new();
    ns.routable();
    let ipvs = ns.ipvs();
    let key = ServiceKey::tcp(v4(10, 0, 0, 1), 80);
    let missing = ServiceKey::tcp(v4(10, 0, 0, 2), 80);
    ipvs.add_service(&Service::new(key)).unwrap();
    ipvs.add_destination(&key, &Destination::new(v4(10, 1, 0, 2), 80))
        .unwrap();
    let before = ns.saved();
    for r in [
        ipvs.set_weight(&missing, v4(10, 1, 0, 2), 80, 0),
        ipvs.set_weight(&key, v4(10, 1, 0, 3), 80, 0),
        ipvs.set_weight(&key, v4(10, 1, 0, 2), 81, 0),
        ipvs.set_scheduler(&missing, Scheduler::RoundRobin),
    ] {
        assert!(matches!(r, Err(Error::NotFound { .. })), "{r:?}");
    }
    assert_eq!(ns.saved(), before);
}
