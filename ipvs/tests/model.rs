//! Host tests of model validation: invalid input is refused before sending,
//! with a message naming the object and the problem.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use lvskit::{
    Destination, EncapFlags, Error, Family, Forward, Name, Netmask, Operation, Scheduler, Service,
    ServiceKey, SyncDaemon, SyncState, Tunnel,
};

fn invalid(r: lvskit::Result<()>) -> String {
    match r {
        Err(Error::InvalidInput { context, reason }) => format!("{context}: {reason}"),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn scheduler_names_are_checked() {
    assert_eq!(
        Scheduler::from_name("wrr").unwrap(),
        Scheduler::WeightedRoundRobin
    );
    assert_eq!(Scheduler::from_name("mine").unwrap().name(), "mine");
    assert!(Scheduler::from_name("").is_err());
    assert!(Scheduler::from_name("sixteen-chars-xx").is_err());
    assert!(Scheduler::from_name("nul\0").is_err());
    assert!(Name::new("fifteen-chars-x").is_ok());
}

#[test]
fn services_are_validated() {
    let v6 = ServiceKey::tcp(Ipv6Addr::LOCALHOST, 80);
    let v4 = ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), 80);
    assert!(invalid(
        Service::new(v6)
            .with_persistence_netmask(300, Netmask::V6(0))
            .validate()
    )
    .contains("outside 1..=128"));
    assert!(invalid(
        Service::new(v6)
            .with_persistence_netmask(300, Netmask::V6(129))
            .validate()
    )
    .contains("outside 1..=128"));
    assert!(invalid(
        Service::new(v4)
            .with_persistence_netmask(300, Netmask::V6(24))
            .validate()
    )
    .contains("IPv4 netmask"));
    assert!(invalid(
        Service::new(v4)
            .with_persistence_netmask(300, Netmask::V4(Ipv4Addr::new(255, 0, 255, 0)))
            .validate()
    )
    .contains("not contiguous"));
    assert!(invalid(
        Service::new(v4)
            .with_pe(Name::new("sip").unwrap())
            .validate()
    )
    .contains("needs persistence"));
    assert!(
        invalid(Service::new(ServiceKey::fwmark(Family::Ipv4, 0)).validate()).contains("non-zero")
    );
    assert!(
        invalid(Service::new(ServiceKey::udp(Ipv4Addr::new(224, 0, 0, 1), 53)).validate())
            .contains("multicast")
    );
    Service::new(v6)
        .with_persistence_netmask(300, Netmask::V6(64))
        .validate()
        .unwrap();
}

#[test]
fn destinations_are_validated() {
    let d = Destination::new(Ipv4Addr::new(10, 0, 0, 2), 80);
    assert!(invalid(d.with_weight(u32::MAX).validate(Family::Ipv4)).contains("weight"));
    assert!(invalid(d.with_thresholds(10, 20).validate(Family::Ipv4))
        .contains("lower threshold 20 is above upper threshold 10"));
    assert!(invalid(d.validate(Family::Ipv6)).contains("tunnel forwarding"));
    d.with_forward(Forward::Tunnel(Tunnel::Ipip))
        .validate(Family::Ipv6)
        .unwrap();
    assert!(invalid(
        d.with_forward(Forward::Tunnel(Tunnel::Gue {
            port: 0,
            flags: EncapFlags::empty()
        }))
        .validate(Family::Ipv4)
    )
    .contains("--tun-port"));
    assert!(
        invalid(Destination::new(Ipv4Addr::UNSPECIFIED, 80).validate(Family::Ipv4))
            .contains("unicast")
    );
    assert!(
        invalid(Destination::new(Ipv4Addr::BROADCAST, 80).validate(Family::Ipv4))
            .contains("unicast")
    );
}

#[test]
fn errors_name_the_operation_and_object() {
    let op = Operation::AddDestination(
        ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), 80),
        Destination::new(Ipv4Addr::new(10, 0, 0, 2), 80),
    );
    let e = op.validate().err();
    assert!(e.is_none());
    assert_eq!(
        op.context(),
        "adding destination 10.0.0.2:80 to service TCP 10.0.0.1:80"
    );
    let d = SyncDaemon::new(SyncState::Master, "an-interface-name-too-long", 1);
    assert!(invalid(d.validate()).contains("1 to 15 bytes"));
    let mut d = SyncDaemon::new(SyncState::Backup, "eth0", 1);
    d.group = Some(Ipv4Addr::new(10, 0, 0, 1).into());
    assert!(invalid(d.validate()).contains("not a multicast"));
}

#[test]
fn sync_message_lengths_the_kernel_would_clamp_are_refused() {
    let with = |state, group: Option<IpAddr>, n: u16| {
        let mut d = SyncDaemon::new(state, "eth0", 1);
        d.group = group;
        d.max_len = Some(n);
        d.validate()
    };
    let v6: Option<IpAddr> = Some("ff02::81".parse().unwrap());
    // a master keeps 1..=65507 (IPv4 group) or 1..=65487 (IPv6 group)
    for n in [1, 1400, 65507] {
        assert!(with(SyncState::Master, None, n).is_ok(), "{n}");
    }
    assert!(with(SyncState::Master, v6, 65487).is_ok());
    for (state, group, n) in [
        (SyncState::Master, None, 0),
        (SyncState::Master, None, 65508),
        (SyncState::Master, v6, 65488),
        (SyncState::Backup, None, 1023),
        (SyncState::Backup, None, 0),
    ] {
        let e = invalid(with(state, group, n));
        assert!(e.contains("maximum message length"), "{n}: {e}");
    }
    assert!(with(SyncState::Backup, None, 1024).is_ok());
    // None leaves it to the kernel
    assert!(SyncDaemon::new(SyncState::Backup, "eth0", 1)
        .validate()
        .is_ok());
}
