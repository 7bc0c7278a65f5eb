//! proptest strategies for valid model values, shared by host and kernel tests.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use lvskit::table::{Table, TableService};
use lvskit::{
    Destination, EncapFlags, Family, Forward, Name, Netmask, Persistence, Protocol, Scheduler,
    Service, ServiceFlags, ServiceKey, Tunnel,
};
use proptest::prelude::*;

pub fn unicast_v4() -> impl Strategy<Value = Ipv4Addr> {
    (1u8..=223, any::<u8>(), any::<u8>(), 1u8..=254)
        .prop_filter("not loopback", |(a, ..)| *a != 127)
        .prop_map(|(a, b, c, d)| Ipv4Addr::new(a, b, c, d))
}

pub fn unicast_v6() -> impl Strategy<Value = Ipv6Addr> {
    (0x2001u16..=0x2fff, any::<[u16; 6]>(), 1u16..=0xfffe)
        .prop_map(|(a, m, z)| Ipv6Addr::new(a, m[0], m[1], m[2], m[3], m[4], m[5], z))
}

pub fn addr_of(family: Family) -> BoxedStrategy<IpAddr> {
    match family {
        Family::Ipv4 => unicast_v4().prop_map(IpAddr::V4).boxed(),
        Family::Ipv6 => unicast_v6().prop_map(IpAddr::V6).boxed(),
    }
}

pub fn family() -> impl Strategy<Value = Family> {
    prop_oneof![Just(Family::Ipv4), Just(Family::Ipv6)]
}

pub fn protocol() -> impl Strategy<Value = Protocol> {
    prop_oneof![
        Just(Protocol::Tcp),
        Just(Protocol::Udp),
        Just(Protocol::Sctp)
    ]
}

pub fn service_key() -> impl Strategy<Value = ServiceKey> {
    prop_oneof![
        3 => (protocol(), family().prop_flat_map(addr_of), any::<u16>())
            .prop_map(|(protocol, addr, port)| ServiceKey::Inet { protocol, addr, port }),
        1 => (family(), 1u32..).prop_map(|(family, mark)| ServiceKey::Fwmark { family, mark }),
    ]
}

/// Schedulers every supported kernel has (twos is 6.12-only).
pub fn scheduler() -> impl Strategy<Value = Scheduler> {
    prop::sample::select(vec![
        "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh",
    ])
    .prop_map(|n| Scheduler::from_name(n).unwrap())
}

pub fn netmask(family: Family) -> BoxedStrategy<Netmask> {
    match family {
        Family::Ipv4 => (1u32..=32)
            .prop_map(|p| Netmask::V4(Ipv4Addr::from(u32::MAX << (32 - p))))
            .boxed(),
        Family::Ipv6 => (1u8..=128).prop_map(Netmask::V6).boxed(),
    }
}

pub fn service_for(key: ServiceKey) -> impl Strategy<Value = Service> {
    let fam = key.family();
    (
        scheduler(),
        prop::sample::subsequence(
            vec![
                ServiceFlags::ONE_PACKET,
                ServiceFlags::SCHED_1,
                ServiceFlags::SCHED_2,
                ServiceFlags::SCHED_3,
            ],
            0..=4,
        ),
        prop::option::of((1u32..=100_000, netmask(fam))),
        any::<bool>(),
    )
        .prop_map(move |(scheduler, flags, persistence, sip)| {
            let flags = flags.into_iter().fold(ServiceFlags::empty(), |a, b| a | b);
            let persistence =
                persistence.map(|(timeout, netmask)| Persistence { timeout, netmask });
            // a port-0 service needs persistence (as ipvsadm requires)
            let key = match key {
                ServiceKey::Inet {
                    protocol,
                    addr,
                    port: 0,
                } if persistence.is_none() => ServiceKey::Inet {
                    protocol,
                    addr,
                    port: 1,
                },
                key => key,
            };
            let pe = if sip && persistence.is_some() {
                Some(Name::new("sip").unwrap())
            } else {
                None
            };
            Service {
                key,
                scheduler,
                flags,
                persistence,
                pe,
            }
        })
}

pub fn service() -> impl Strategy<Value = Service> {
    service_key().prop_flat_map(service_for)
}

pub fn encap() -> impl Strategy<Value = EncapFlags> {
    prop_oneof![
        Just(EncapFlags::empty()),
        Just(EncapFlags::CSUM),
        Just(EncapFlags::REMCSUM)
    ]
}

/// Forwarding methods a kernel accepts for any (non-local) address.
pub fn forward() -> impl Strategy<Value = Forward> {
    prop_oneof![
        Just(Forward::Masq),
        Just(Forward::DirectRoute),
        Just(Forward::Tunnel(Tunnel::Ipip)),
        (1u16.., encap()).prop_map(|(port, flags)| Forward::Tunnel(Tunnel::Gue { port, flags })),
        prop_oneof![Just(EncapFlags::empty()), Just(EncapFlags::CSUM)]
            .prop_map(|flags| Forward::Tunnel(Tunnel::Gre { flags })),
    ]
}

pub fn destination(family: Family) -> impl Strategy<Value = Destination> {
    (
        addr_of(family),
        any::<u16>(),
        forward(),
        0u32..=65535,
        0u32..=100_000,
        0u32..=100_000,
    )
        .prop_map(|(addr, port, forward, weight, a, b)| Destination {
            addr,
            port,
            forward,
            weight,
            upper_threshold: a.max(b),
            lower_threshold: a.min(b),
        })
}

pub fn table_service(max_dests: usize) -> impl Strategy<Value = TableService> {
    service().prop_flat_map(move |service| {
        let fam = service.key.family();
        prop::collection::vec(destination(fam), 0..=max_dests).prop_map(move |mut destinations| {
            let mut seen = std::collections::HashSet::new();
            destinations.retain(|d| seen.insert((d.addr, d.port)));
            TableService {
                service: service.clone(),
                destinations,
            }
        })
    })
}

pub fn table(max_services: usize, max_dests: usize) -> impl Strategy<Value = Table> {
    prop::collection::vec(table_service(max_dests), 0..=max_services).prop_map(|mut services| {
        let mut seen = std::collections::HashSet::new();
        services.retain(|s| seen.insert(s.service.key));
        Table {
            services,
            timeouts: None,
        }
    })
}

/// A service as ipvsadm can state it: one-packet scheduling only for UDP
/// and fwmark services, port 0 only with persistence.
pub fn expressible_service(mut s: Service) -> Service {
    if let ServiceKey::Inet { protocol, port, .. } = &mut s.key {
        if *protocol != Protocol::Udp {
            s.flags.remove(ServiceFlags::ONE_PACKET);
        }
        if *port == 0 && s.persistence.is_none() {
            *port = 1;
        }
    }
    s
}

/// A destination as ipvsadm states it: DR and tunnel servers of an address
/// service take the service's port.
pub fn expressible_destination(key: &ServiceKey, mut d: Destination) -> Destination {
    if let ServiceKey::Inet { port, .. } = key {
        if matches!(d.forward, Forward::DirectRoute | Forward::Tunnel(_)) {
            d.port = *port;
        }
    }
    d
}

/// Tables whose rules text ipvsadm reads back as they are ([`table`],
/// each service and destination made expressible).
pub fn expressible_table(max_s: usize, max_d: usize) -> impl Strategy<Value = Table> {
    table(max_s, max_d).prop_map(|mut t| {
        for ts in &mut t.services {
            ts.service = expressible_service(ts.service.clone());
            let key = ts.service.key;
            for d in &mut ts.destinations {
                *d = expressible_destination(&key, *d);
            }
            let mut seen = std::collections::HashSet::new();
            ts.destinations.retain(|d| seen.insert((d.addr, d.port)));
        }
        let mut seen = std::collections::HashSet::new();
        t.services.retain(|s| seen.insert(s.service.key));
        t
    })
}
