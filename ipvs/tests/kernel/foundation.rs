//! The harness's own acceptance tests: family resolution, reading what
//! ipvsadm wrote, and namespace isolation.

use std::net::Ipv4Addr;

use lvskit::{Protocol, ServiceKey};

use crate::support::TestNs;

#[test]
fn resolves_the_ipvs_family_with_a_nonzero_id() {
    let ns = TestNs::new();
    let ipvs = ns.ipvs();
    assert_ne!(ipvs.family_id(), 0);
    // the family id is the controller's: it must be the one ipvsadm also uses,
    // which we cannot see, but a second handle must resolve the same id
    assert_eq!(ns.ipvs().family_id(), ipvs.family_id());
}

#[test]
fn finds_a_service_created_by_ipvsadm_in_a_dump() {
    let ns = TestNs::new();
    ns.ipvsadm(&["-A", "-t", "10.1.2.3:8080", "-s", "rr"]);
    let services = ns.ipvs().services().unwrap();
    assert_eq!(services.len(), 1, "{services:?}");
    let s = &services[0].service;
    assert_eq!(
        s.key,
        ServiceKey::Inet {
            protocol: Protocol::Tcp,
            addr: Ipv4Addr::new(10, 1, 2, 3).into(),
            port: 8080
        }
    );
    assert_eq!(s.scheduler.name(), "rr");
}

#[test]
fn a_second_namespace_sees_an_empty_table() {
    let a = TestNs::new();
    let b = TestNs::new();
    a.ipvsadm(&["-A", "-u", "10.9.9.9:53", "-s", "wrr"]);
    assert_eq!(a.ipvs().services().unwrap().len(), 1);
    assert!(b.ipvs().services().unwrap().is_empty());
    assert!(
        b.saved().is_empty(),
        "ipvsadm sees {:?} in the second namespace",
        b.saved()
    );
    // and the first still holds its service
    assert_eq!(a.saved(), vec!["-A -u 10.9.9.9:53 -s wrr".to_string()]);
}
