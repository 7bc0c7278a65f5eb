//! Tolerant reader, strict writer, against the real kernel: tables other
//! clients wrote with values this library refuses to write list completely
//! and read back as the kernel holds them; every value the kernel would store
//! as another one is refused before anything is sent. `ipvsadm` is the
//! referee throughout.

use std::ffi::OsStr;
use std::net::Ipv4Addr;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;

use lvskit::codec::ipvs::{self as c, cmd};
use lvskit::table::Table;
use lvskit::{
    Destination, Error, Family, Forward, Ipvs, Netmask, Operation, Persistence, Protocol, Service,
    ServiceKey, SyncDaemon, SyncState, Timeouts, Tunnel,
};

use crate::support::TestNs;

fn vip() -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, 1)
}

/// Sends NEW_SERVICE for `svc` as encoded by the codec, without validation:
/// what another client could send.
fn raw_add_service(ipvs: &Ipvs, svc: &Service) -> lvskit::Result<()> {
    let mut attrs = Vec::new();
    c::put_service_nest(&mut attrs, svc)?;
    ipvs.raw_request(cmd::NEW_SERVICE, false, &attrs).map(drop)
}

/// Sends NEW_DEST for `d` behind `key`, without validation.
fn raw_add_dest(ipvs: &Ipvs, key: &ServiceKey, d: &Destination) -> lvskit::Result<()> {
    let mut attrs = Vec::new();
    c::put_service_key_nest(&mut attrs, key)?;
    c::put_dest_nest(&mut attrs, d, true)?;
    ipvs.raw_request(cmd::NEW_DEST, false, &attrs).map(drop)
}

fn persistent(key: ServiceKey, timeout: u32) -> Service {
    let mut s = Service::new(key);
    s.persistence = Some(Persistence {
        timeout,
        netmask: Netmask::full(Family::Ipv4),
    });
    s
}

fn is_invalid_input<T: std::fmt::Debug>(r: lvskit::Result<T>) -> bool {
    matches!(r, Err(Error::InvalidInput { .. }))
}

#[test]
fn a_persistent_service_with_timeout_zero_lists_with_the_rest() {
    let ns = TestNs::new();
    ns.routable();
    let ipvs = ns.ipvs();
    let zero = persistent(ServiceKey::tcp(vip(), 80), 0);
    raw_add_service(&ipvs, &zero).expect("the kernel takes -p 0 from another client");
    ipvs.add_service(&Service::new(ServiceKey::udp(vip(), 53)))
        .unwrap();
    ipvs.add_destination(&zero.key, &Destination::new(Ipv4Addr::new(10, 1, 0, 2), 80))
        .unwrap();
    let saved = ns.saved_sorted();
    assert!(
        saved.contains(&"-A -t 10.0.0.1:80 -s wlc -p 0".to_string()),
        "{saved:?}"
    );

    let mut listed: Vec<Service> = ipvs
        .services()
        .unwrap()
        .into_iter()
        .map(|e| e.service)
        .collect();
    listed.sort_by_key(|s| s.key);
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0], zero, "read back as the kernel holds it");
    assert_eq!(ipvs.service(&zero.key).unwrap().service, zero);
    let table = Table::read(&ipvs).unwrap();
    assert_eq!(table.services.len(), 2);
    assert_eq!(ipvs.destinations(&zero.key).unwrap().len(), 1);

    // written back as it is, it is refused before sending; the table is unchanged
    assert!(is_invalid_input(ipvs.update_service(&zero)));
    assert!(is_invalid_input(
        ipvs.apply(&Operation::AddService(zero.clone()))
    ));
    assert_eq!(ns.saved_sorted(), saved);
    // but it can be changed into something valid, and deleted
    ipvs.update_service(&persistent(zero.key, 60)).unwrap();
    assert!(ns
        .saved_sorted()
        .contains(&"-A -t 10.0.0.1:80 -s wlc -p 60".to_string()));
    ipvs.delete_service(&zero.key).unwrap();
}

/// `ip -n NS ARGS` with raw bytes (an interface name that is not UTF-8).
fn ip_bytes(ns: &TestNs, args: &[&[u8]]) {
    let mut cmd = Command::new("ip");
    cmd.args(["-n", ns.name()]);
    cmd.args(args.iter().map(|a| OsStr::from_bytes(a)));
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_daemon_on_an_interface_whose_name_is_not_utf8_lists_and_round_trips() {
    let ns = TestNs::new();
    let name: &[u8] = b"s\xffnc";
    ip_bytes(&ns, &[b"link", b"add", name, b"type", b"dummy"]);
    ip_bytes(&ns, &[b"addr", b"add", b"192.0.2.1/24", b"dev", name]);
    ip_bytes(&ns, &[b"link", b"set", name, b"up"]);
    // another client (ipvsadm) starts the daemon on it
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns.name(),
            "ipvsadm",
            "--start-daemon",
            "master",
            "--syncid",
            "9",
        ])
        .arg("--mcast-interface")
        .arg(OsStr::from_bytes(name))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let referee = ns.exec_output("ipvsadm", &["-Ln", "--daemon"]).stdout;
    assert!(
        referee.windows(name.len()).any(|w| w == name),
        "{}",
        String::from_utf8_lossy(&referee)
    );

    let ipvs = ns.ipvs();
    let daemons = ipvs.daemons().unwrap();
    assert_eq!(daemons.len(), 1, "{daemons:?}");
    let d = &daemons[0];
    assert_eq!(
        (d.state, d.interface.as_str(), d.sync_id),
        (SyncState::Master, "s:ffnc", 9)
    );
    assert_eq!(d.interface_bytes(), name);

    // written back from the listing, it runs on the same interface
    ipvs.stop_daemon(SyncState::Master).unwrap();
    assert!(ipvs.daemons().unwrap().is_empty());
    ipvs.start_daemon(d).unwrap();
    assert_eq!(
        ns.exec_output("ipvsadm", &["-Ln", "--daemon"]).stdout,
        referee
    );
    assert_eq!(ipvs.daemons().unwrap(), daemons);
}

#[test]
fn values_unknown_to_the_library_but_kept_by_the_kernel_list_as_unknown() {
    let ns = TestNs::new();
    ns.routable();
    let ipvs = ns.ipvs();
    let key = ServiceKey::tcp(vip(), 80);
    ipvs.add_service(&Service::new(key)).unwrap();
    // the kernel keeps forwarding methods 5..=7 and tunnel types it has no
    // transmitter for (checked on 6.1 and 6.12), and protocols it has no
    // handler for: another client can write them, a newer kernel may define them
    let mut want = vec![
        Destination::new(Ipv4Addr::new(10, 1, 0, 5), 80).with_forward(Forward::Unknown(5)),
        Destination::new(Ipv4Addr::new(10, 1, 0, 7), 80).with_forward(Forward::Unknown(7)),
        Destination::new(Ipv4Addr::new(10, 1, 0, 9), 80)
            .with_forward(Forward::Tunnel(Tunnel::Unknown(9))),
    ];
    for d in &want {
        raw_add_dest(&ipvs, &key, d).unwrap();
    }
    let dccp = Service::new(ServiceKey::Inet {
        protocol: Protocol::Unknown(33),
        addr: vip().into(),
        port: 81,
    });
    raw_add_service(&ipvs, &dccp).unwrap();
    let saved = ns.saved_sorted();
    let servers = saved
        .iter()
        .filter(|l| l.starts_with("-a -t 10.0.0.1:80 -r"))
        .count();
    assert_eq!(servers, 3, "{saved:?}");
    assert!(
        saved.iter().any(|l| l.starts_with("-A -t 10.0.0.1:80 ")),
        "{saved:?}"
    );

    let mut got: Vec<Destination> = ipvs
        .destinations(&key)
        .unwrap()
        .into_iter()
        .map(|e| e.destination)
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "listed as the kernel holds them");
    let mut services: Vec<Service> = ipvs
        .services()
        .unwrap()
        .into_iter()
        .map(|e| e.service)
        .collect();
    services.sort_by_key(|s| s.key);
    assert_eq!(services, vec![Service::new(key), dccp.clone()]);
    let table = Table::read(&ipvs).unwrap();
    assert_eq!(table.services.len(), 2);

    // none of them is written back
    for d in &want {
        assert!(is_invalid_input(ipvs.update_destination(&key, d)), "{d:?}");
        assert!(is_invalid_input(
            ipvs.add_destination(&dccp.key, &d.with_forward(Forward::Masq))
        ));
    }
    assert!(is_invalid_input(ipvs.add_service(&dccp)));
    assert!(is_invalid_input(ipvs.update_service(&dccp)));
    assert!(is_invalid_input(ipvs.delete_service(&dccp.key)));
    assert!(is_invalid_input(ipvs.stop_daemon(SyncState::Unknown(3))));
    assert_eq!(ns.saved_sorted(), saved);
}

/// Runs `ipvsadm ARGS` in `ns`; whether it succeeded.
fn ipvsadm_ok(ns: &TestNs, args: &[&str]) -> bool {
    ns.exec_output("ipvsadm", args).status.success()
}

#[test]
fn ipvsadm_and_the_library_share_the_persistence_limit() {
    let ns = TestNs::new();
    let ipvs = ns.ipvs();
    let max = Persistence::MAX_TIMEOUT.to_string();
    let over = (Persistence::MAX_TIMEOUT + 1).to_string();
    assert!(ipvsadm_ok(&ns, &["-A", "-t", "10.0.0.1:1", "-p", &max]));
    assert!(!ipvsadm_ok(&ns, &["-A", "-t", "10.0.0.1:2", "-p", &over]));
    assert!(!ipvsadm_ok(&ns, &["-A", "-t", "10.0.0.1:3", "-p", "0"]));
    assert!(
        !ipvsadm_ok(&ns, &["-A", "-t", "10.0.0.1:0"]),
        "ipvsadm refuses port 0 without -p"
    );
    assert!(!ipvsadm_ok(
        &ns,
        &["--set", &(Timeouts::MAX * 2).to_string(), "0", "0"]
    ));
    ipvs.add_service(
        &Service::new(ServiceKey::tcp(vip(), 4)).with_persistence(Persistence::MAX_TIMEOUT),
    )
    .unwrap();
    let saved = ns.saved_sorted();
    assert_eq!(
        saved,
        vec![
            format!("-A -t 10.0.0.1:1 -s wlc -p {max}"),
            format!("-A -t 10.0.0.1:4 -s wlc -p {max}"),
        ]
    );
    // why the limit matters: sent anyway, the kernel keeps another value
    raw_add_service(&ipvs, &persistent(ServiceKey::tcp(vip(), 5), 1 << 31)).unwrap();
    let stored = ipvs.service(&ServiceKey::tcp(vip(), 5)).unwrap().service;
    assert_ne!(stored.persistence.map(|p| p.timeout), Some(1 << 31));
}

#[test]
fn values_the_kernel_would_store_differently_are_refused_before_sending() {
    let ns = TestNs::new();
    ns.routable();
    let ipvs = ns.ipvs();
    let key = ServiceKey::tcp(vip(), 80);
    ipvs.add_service(&Service::new(key).with_persistence(60))
        .unwrap();
    let d = Destination::new(Ipv4Addr::new(10, 1, 0, 2), 80);
    ipvs.add_destination(&key, &d).unwrap();
    ipvs.set_timeouts(&Timeouts {
        tcp: 900,
        tcp_fin: 120,
        udp: 300,
    })
    .unwrap();
    let saved = ns.saved_sorted();
    let timeouts = ns.ipvsadm(&["-Ln", "--timeout"]);
    let refused = [
        Operation::AddService(Service::new(ServiceKey::tcp(vip(), 81)).with_persistence(1 << 31)),
        Operation::AddService(
            Service::new(ServiceKey::tcp(vip(), 82)).with_persistence(17_179_870),
        ),
        Operation::UpdateService(Service::new(key).with_persistence(1 << 31)),
        Operation::UpdateService(Service::new(key).with_persistence(17_179_870)),
        Operation::AddService(Service::new(ServiceKey::tcp(vip(), 0))),
        Operation::AddService(Service::new(ServiceKey::udp(vip(), 0))),
        Operation::AddService(Service::new(ServiceKey::sctp(vip(), 0))),
        Operation::AddDestination(
            key,
            Destination::new(Ipv4Addr::new(10, 1, 0, 3), 80).with_weight(1 << 31),
        ),
        Operation::UpdateDestination(key, d.with_weight(1 << 31)),
        Operation::UpdateDestination(key, d.with_thresholds(1 << 31, 0)),
        Operation::SetTimeouts(Timeouts {
            tcp: Timeouts::MAX + 1,
            tcp_fin: 0,
            udp: 0,
        }),
        Operation::SetTimeouts(Timeouts {
            tcp: 0,
            tcp_fin: Timeouts::MAX + 1,
            udp: 0,
        }),
        Operation::SetTimeouts(Timeouts {
            tcp: 0,
            tcp_fin: 0,
            udp: u32::MAX,
        }),
        Operation::StartDaemon(SyncDaemon::new(SyncState::Master, "d0", 256)),
    ];
    for op in &refused {
        assert!(is_invalid_input(ipvs.apply(op)), "{op:?}");
        let report = ipvs.execute(std::slice::from_ref(op), lvskit::BatchMode::Continue);
        assert!(
            matches!(
                report.outcomes[0],
                lvskit::OpOutcome::Failed(Error::InvalidInput { .. })
            ),
            "{op:?}"
        );
    }
    let b = Service::new(ServiceKey::tcp(vip(), 81)).with_persistence(1 << 31);
    assert!(is_invalid_input(ipvs.add_service(&b)));
    assert!(is_invalid_input(
        ipvs.update_destination(&key, &d.with_weight(1 << 31))
    ));
    assert!(is_invalid_input(ipvs.set_timeouts(&Timeouts {
        tcp: Timeouts::MAX + 1,
        tcp_fin: 0,
        udp: 0
    })));
    assert_eq!(ns.saved_sorted(), saved, "nothing was sent");
    assert_eq!(ns.ipvsadm(&["-Ln", "--timeout"]), timeouts);
    assert!(ipvs.daemons().unwrap().is_empty());
    // the largest values that are kept are accepted and read back as sent
    ipvs.update_destination(&key, &d.with_weight(Destination::MAX_WEIGHT))
        .unwrap();
    assert_eq!(
        ipvs.destinations(&key).unwrap()[0].destination.weight,
        Destination::MAX_WEIGHT
    );
    ipvs.set_timeouts(&Timeouts {
        tcp: Timeouts::MAX,
        tcp_fin: 0,
        udp: 0,
    })
    .unwrap();
    assert_eq!(ipvs.timeouts().unwrap().tcp, Timeouts::MAX);
}

#[test]
fn a_missing_module_is_named_as_one_real_module() {
    let ns = TestNs::new();
    let ipvs = ns.ipvs();
    let module = |sched: &str, pe: &str| {
        let svc = Service::new(ServiceKey::tcp(vip(), 80))
            .with_scheduler(lvskit::Scheduler::from_name(sched).unwrap())
            .with_persistence(60)
            .with_pe(lvskit::Name::new(pe).unwrap());
        match ipvs.add_service(&svc) {
            Err(Error::ModuleMissing { module, errno, .. }) => {
                assert_eq!(errno, libc::ENOENT);
                module
            }
            other => panic!("{sched} with {pe}: {other:?}"),
        }
    };
    assert_eq!(module("wlc", "nosuchpe"), "ip_vs_pe_nosuchpe");
    assert_eq!(module("nosuchsched", "sip"), "ip_vs_nosuchsched");
    assert!(ns.saved().is_empty());
    assert!(
        std::path::Path::new("/sys/module/ip_vs_pe_sip").exists()
            || std::path::Path::new("/sys/module/ip_vs_wlc").exists(),
        "the VM loads the scheduler and engine modules"
    );
}
