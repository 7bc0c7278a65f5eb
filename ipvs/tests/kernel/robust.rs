//! Robustness against the real kernel: forged replies, receive-buffer
//! overflow, concurrency, crash consistency, and a catalogue of bad input.

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;

use lvskit::table::{DiffOptions, Table, TableService};
use lvskit::{
    BatchMode, Destination, Error, Family, Forward, Ipvs, Namespace, Netmask, OpOutcome, Operation,
    Scheduler, Service, ServiceKey, SyncDaemon, SyncState, Timeouts, Tunnel,
};

use crate::support::TestNs;

/// Sends `msg` to `port` from a fresh netlink socket created inside `ns`.
fn send_from_other_socket(ns: &TestNs, port: u32, msg: &[u8]) {
    let path = format!("/run/netns/{}", ns.name());
    let msg = msg.to_vec();
    std::thread::spawn(move || {
        let f = std::fs::File::open(path).unwrap();
        // SAFETY: plain syscalls on descriptors owned by this thread.
        unsafe {
            assert_eq!(libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET), 0);
            let s = libc::socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_GENERIC);
            assert!(s >= 0);
            let mut addr: libc::sockaddr_nl = std::mem::zeroed();
            addr.nl_family = libc::AF_NETLINK as u16;
            addr.nl_pid = port;
            let n = libc::sendto(
                s,
                msg.as_ptr().cast(),
                msg.len(),
                0,
                (&addr as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            );
            assert_eq!(n as usize, msg.len(), "{}", std::io::Error::last_os_error());
            libc::close(s);
        }
    })
    .join()
    .unwrap();
}

fn forged_error(seq: u32, port: u32, errno: i32) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&36u32.to_ne_bytes()); // len: header + error + echoed header
    m.extend_from_slice(&2u16.to_ne_bytes()); // NLMSG_ERROR
    m.extend_from_slice(&0u16.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&port.to_ne_bytes());
    m.extend_from_slice(&(-errno).to_ne_bytes());
    m.extend_from_slice(&[0u8; 16]);
    m
}

#[test]
fn forged_replies_from_another_socket_are_ignored() {
    let ns = TestNs::new();
    let ipvs = ns.ipvs();
    let key = ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), 80);
    // a forged "permission denied" carrying exactly the sequence number and
    // port of the next request, queued before that request is even sent
    send_from_other_socket(
        &ns,
        ipvs.port_id(),
        &forged_error(ipvs.next_seq_for_tests(), ipvs.port_id(), libc::EPERM),
    );
    // and a malformed datagram
    send_from_other_socket(&ns, ipvs.port_id(), &[0xff; 20]);
    ipvs.add_service(&Service::new(key)).unwrap();
    assert_eq!(ns.saved(), vec!["-A -t 10.0.0.1:80 -s wlc"]);
    // a forged "done" for the next dump does not cut the listing short
    let seq = ipvs.next_seq_for_tests();
    let mut done = forged_error(seq, ipvs.port_id(), 0);
    done[4] = 3; // NLMSG_DONE
    send_from_other_socket(&ns, ipvs.port_id(), &done);
    assert_eq!(ipvs.services().unwrap().len(), 1);
}

#[test]
fn a_receive_buffer_overflow_is_reported_not_waited_for() {
    let ns = TestNs::new();
    let ipvs = ns.ipvs();
    ipvs.set_receive_buffer(4096).unwrap();
    // 3000 requests that all fail: their error replies cannot fit 4 KiB
    let ops: Vec<Operation> = (0..3000u32)
        .map(|i| Operation::DeleteService(ServiceKey::tcp(Ipv4Addr::from(0x0a00_0000 + i), 80)))
        .collect();
    let started = std::time::Instant::now();
    let report = ipvs.execute(&ops, BatchMode::Continue);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(25),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(report.done(), 0, "no operation may be reported done");
    let unknown = report
        .outcomes
        .iter()
        .filter(|o| matches!(o, OpOutcome::Unknown(_)))
        .count();
    assert!(unknown > 0, "the overflow must surface");
    let e = report.outcomes.iter().find_map(|o| match o {
        OpOutcome::Unknown(e) => Some(e.to_string()),
        _ => None,
    });
    assert!(e.unwrap().contains("receive buffer overflowed"));
    // every operation has an outcome, failures attributed to their own request
    assert_eq!(report.outcomes.len(), 3000);
    for (i, o) in report.outcomes.iter().enumerate() {
        if let OpOutcome::Failed(e) = o {
            assert!(
                e.context()
                    .contains(&format!("{}:80", Ipv4Addr::from(0x0a00_0000 + i as u32))),
                "{e}"
            );
        }
    }
    // the handle keeps working after the overflow
    ipvs.set_receive_buffer(1 << 20).unwrap();
    assert!(ipvs.services().unwrap().is_empty());
}

struct Rng(u32);
impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
}

/// Checks a destination operation's result against the model: without the
/// service it fails with ESRCH; when the model says it cannot succeed
/// (`can` false) it fails with `errno` (EEXIST: Exists, ENOENT: NotFound);
/// otherwise it succeeds. Returns whether it succeeded.
fn dest_outcome(r: &lvskit::Result<()>, has_svc: bool, can: bool, errno: i32) -> bool {
    match (has_svc, can) {
        (false, _) => assert!(
            matches!(
                r,
                Err(Error::NotFound {
                    errno: libc::ESRCH,
                    ..
                })
            ),
            "{r:?}"
        ),
        (true, false) if errno == libc::EEXIST => {
            assert!(matches!(r, Err(Error::Exists { .. })), "{r:?}")
        }
        (true, false) => assert!(
            matches!(r, Err(Error::NotFound { errno: e, .. }) if *e == errno),
            "{r:?}"
        ),
        (true, true) => {
            assert!(r.is_ok(), "{r:?}");
            return true;
        }
    }
    false
}

/// One thread's mixed workload over its own services, checking every result
/// against its model; returns the model.
fn worker(ipvs: &Ipvs, t: u8, ops: usize) -> Vec<TableService> {
    use std::collections::BTreeMap;
    let mut model: BTreeMap<u32, BTreeMap<u32, u32>> = BTreeMap::new(); // svc -> dest -> weight
    let key = |k: u32| ServiceKey::tcp(Ipv4Addr::new(10, t, 0, k as u8), 80);
    let dest = |k: u32, j: u32, w: u32| {
        Destination::new(Ipv4Addr::new(11, t, k as u8, j as u8 + 1), 80)
            .with_forward(Forward::Masq)
            .with_weight(w)
    };
    let mut rng = Rng(0x9e37_79b9 ^ (u32::from(t) * 7919));
    for _ in 0..ops {
        let k = rng.next() % 40;
        let j = rng.next() % 4;
        let has_svc = model.contains_key(&k);
        let has_dest = model.get(&k).is_some_and(|d| d.contains_key(&j));
        match rng.next() % 6 {
            0 => {
                let r =
                    ipvs.add_service(&Service::new(key(k)).with_scheduler(Scheduler::RoundRobin));
                if has_svc {
                    assert!(matches!(r, Err(Error::Exists { .. })), "{r:?}");
                } else {
                    r.unwrap();
                    model.insert(k, BTreeMap::new());
                }
            }
            1 => {
                let r = ipvs.delete_service(&key(k));
                if has_svc {
                    r.unwrap();
                    model.remove(&k);
                } else {
                    assert!(
                        matches!(
                            r,
                            Err(Error::NotFound {
                                errno: libc::ESRCH,
                                ..
                            })
                        ),
                        "{r:?}"
                    );
                }
            }
            2 => {
                let w = rng.next() % 100;
                let r = ipvs.add_destination(&key(k), &dest(k, j, w));
                if dest_outcome(&r, has_svc, !has_dest, libc::EEXIST) {
                    model.entry(k).or_default().insert(j, w);
                }
            }
            3 => {
                let w = rng.next() % 100;
                let r = ipvs.update_destination(&key(k), &dest(k, j, w));
                if dest_outcome(&r, has_svc, has_dest, libc::ENOENT) {
                    model.entry(k).or_default().insert(j, w);
                }
            }
            4 => {
                let d = dest(k, j, 0);
                let r = ipvs.delete_destination(&key(k), d.addr, d.port);
                if dest_outcome(&r, has_svc, has_dest, libc::ENOENT) {
                    model.entry(k).or_default().remove(&j);
                }
            }
            _ => {
                let r = ipvs.service(&key(k));
                if has_svc {
                    assert_eq!(r.unwrap().service.key, key(k));
                } else {
                    assert!(matches!(r, Err(Error::NotFound { .. })), "{r:?}");
                }
            }
        }
    }
    model
        .into_iter()
        .map(|(k, ds)| TableService {
            service: Service::new(key(k)).with_scheduler(Scheduler::RoundRobin),
            destinations: ds.into_iter().map(|(j, w)| dest(k, j, w)).collect(),
        })
        .collect()
}

fn stress(shared: bool) {
    let ns = TestNs::new();
    ns.routable();
    let ops: usize = std::env::var("IPVS_STRESS_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let shared_handle = ns.ipvs();
    let models: Vec<Vec<TableService>> = std::thread::scope(|s| {
        let hs: Vec<_> = (1..=4u8)
            .map(|t| {
                let shared_handle = &shared_handle;
                let ns = &ns;
                s.spawn(move || {
                    if shared {
                        worker(shared_handle, t, ops)
                    } else {
                        worker(&ns.ipvs(), t, ops)
                    }
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let want = Table {
        services: models.into_iter().flatten().collect(),
        timeouts: None,
    };
    let mut got = Table::read(&shared_handle).unwrap();
    got.timeouts = None;
    crate::support::assert_tables_eq(&got, &want);
}

#[test]
fn four_threads_on_one_shared_handle() {
    stress(true);
}

#[test]
fn four_threads_on_separate_handles() {
    stress(false);
}

#[test]
fn an_apply_killed_half_way_converges_when_run_again() {
    const N: u32 = 5000;
    let ns = TestNs::new();
    ns.routable();
    let desired = Table {
        services: (0..N)
            .map(|i| TableService {
                service: Service::new(ServiceKey::tcp(Ipv4Addr::from(0x0a00_0000 + i), 80)),
                destinations: vec![Destination::new(Ipv4Addr::from(0x0b00_0000 + i), 80)],
            })
            .collect(),
        timeouts: None,
    };
    let file = std::env::temp_dir().join(format!("ipvs-crash-{}.json", ns.name()));
    std::fs::write(&file, serde_json::to_string(&desired).unwrap()).unwrap();
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("ipvs-apply");
    assert!(
        bin.exists(),
        "{} is missing: build the examples first (cargo build -p ipvs-examples)",
        bin.display()
    );
    let mut child = std::process::Command::new(&bin)
        .args(["--netns", ns.name(), "--sequential"])
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let ipvs = ns.ipvs();
    // kill it as soon as it has made progress: the 11th service exists (the
    // plan adds every service before any destination, one request at a time)
    let probe = desired.services[10].service.key;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while ipvs.service(&probe).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "ipvs-apply made no progress"
        );
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    let partial = ipvs.services().unwrap().len();
    assert!(
        !status.success(),
        "the apply must have been killed, not finished"
    );
    assert!(
        partial < N as usize,
        "the apply finished before it was killed; the test proves nothing"
    );
    let (plan, report) = ipvs.converge(&desired, &DiffOptions::default()).unwrap();
    assert!(report.is_ok(), "{:?}", report.first_error());
    let missing = N as usize - partial;
    assert!(
        plan.len() >= missing,
        "{} ops for {missing} missing services",
        plan.len()
    );
    let mut got = Table::read(&ipvs).unwrap();
    got.timeouts = None;
    crate::support::assert_tables_eq(&got, &desired);
    let _ = std::fs::remove_file(file);
}

/// Bad input: each case gets its typed error and the kernel table is unchanged.
#[test]
fn bad_input_catalogue() {
    let ns = TestNs::new();
    ns.routable();
    ns.dummy("sync0", &["192.168.9.1/24"]);
    let ipvs = ns.ipvs();
    let key = ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), 80);
    let key6 = ServiceKey::tcp("2001:db8::1".parse::<IpAddr>().unwrap(), 80);
    ipvs.add_service(&Service::new(key)).unwrap();
    ipvs.add_service(&Service::new(key6)).unwrap();
    ipvs.add_destination(&key, &Destination::new(Ipv4Addr::new(10, 1, 0, 1), 80))
        .unwrap();
    ipvs.start_daemon(&SyncDaemon::new(SyncState::Master, "sync0", 1))
        .unwrap();
    let before = ns.saved();
    let before_daemons = ipvs.daemons().unwrap();
    let d = Destination::new(Ipv4Addr::new(10, 1, 0, 2), 80);
    let sched = |n: &str| Scheduler::from_name(n);

    type Case = (&'static str, lvskit::Result<()>, fn(&Error) -> bool);
    let input = |e: &Error| matches!(e, Error::InvalidInput { .. });
    let cases: Vec<Case> = vec![
        (
            "scheduler name too long",
            sched("a-scheduler-name-too-long").map(|_| ()),
            input,
        ),
        ("scheduler name with NUL", sched("r\0r").map(|_| ()), input),
        ("empty scheduler name", sched("").map(|_| ()), input),
        (
            "pe name too long",
            lvskit::Name::new("x".repeat(16)).map(|_| ()),
            input,
        ),
        (
            "weight above i32",
            ipvs.add_destination(&key, &d.with_weight(u32::MAX)),
            input,
        ),
        (
            "lower threshold above upper",
            ipvs.add_destination(&key, &d.with_thresholds(5, 6)),
            input,
        ),
        (
            "upper threshold above i32",
            ipvs.add_destination(&key, &d.with_thresholds(u32::MAX, 0)),
            input,
        ),
        (
            "IPv6 prefix 0",
            ipvs.add_service(&Service::new(key6).with_persistence_netmask(60, Netmask::V6(0))),
            input,
        ),
        (
            "IPv6 prefix 129",
            ipvs.add_service(&Service::new(key6).with_persistence_netmask(60, Netmask::V6(129))),
            input,
        ),
        (
            "IPv4 netmask on IPv6",
            ipvs.add_service(
                &Service::new(key6).with_persistence_netmask(60, Netmask::V4(Ipv4Addr::BROADCAST)),
            ),
            input,
        ),
        (
            "non-contiguous netmask",
            ipvs.add_service(
                &Service::new(key)
                    .with_persistence_netmask(60, Netmask::V4(Ipv4Addr::new(255, 0, 255, 0))),
            ),
            input,
        ),
        (
            "zero persistence timeout",
            ipvs.update_service(&Service::new(key).with_persistence(0)),
            input,
        ),
        (
            "pe without persistence",
            ipvs.update_service(&Service::new(key).with_pe(lvskit::Name::new("sip").unwrap())),
            input,
        ),
        (
            "fwmark 0",
            ipvs.add_service(&Service::new(ServiceKey::fwmark(Family::Ipv4, 0))),
            input,
        ),
        (
            "multicast VIP",
            ipvs.add_service(&Service::new(ServiceKey::udp(
                Ipv4Addr::new(239, 1, 1, 1),
                53,
            ))),
            input,
        ),
        (
            "unspecified real server",
            ipvs.add_destination(&key, &Destination::new(Ipv4Addr::UNSPECIFIED, 80)),
            input,
        ),
        (
            "broadcast real server",
            ipvs.add_destination(&key, &Destination::new(Ipv4Addr::BROADCAST, 80)),
            input,
        ),
        (
            "multicast real server",
            ipvs.add_destination(&key, &Destination::new(Ipv4Addr::new(224, 0, 0, 9), 80)),
            input,
        ),
        (
            "family mismatch without tunnel",
            ipvs.add_destination(&key6, &d),
            input,
        ),
        (
            "GUE without port",
            ipvs.add_destination(
                &key,
                &d.with_forward(Forward::Tunnel(Tunnel::Gue {
                    port: 0,
                    flags: Default::default(),
                })),
            ),
            input,
        ),
        (
            "GRE with remote checksum",
            ipvs.add_destination(
                &key,
                &d.with_forward(Forward::Tunnel(Tunnel::Gre {
                    flags: lvskit::EncapFlags::REMCSUM,
                })),
            ),
            input,
        ),
        (
            "timeout too large",
            ipvs.set_timeouts(&Timeouts {
                tcp: u32::MAX,
                tcp_fin: 0,
                udp: 0,
            }),
            input,
        ),
        (
            "daemon interface too long",
            ipvs.start_daemon(&SyncDaemon::new(SyncState::Backup, "x".repeat(16), 1)),
            input,
        ),
        (
            "daemon interface empty",
            ipvs.start_daemon(&SyncDaemon::new(SyncState::Backup, "", 1)),
            input,
        ),
        (
            "daemon group not multicast",
            ipvs.start_daemon(&SyncDaemon {
                group: Some(Ipv4Addr::new(10, 0, 0, 1).into()),
                ..SyncDaemon::new(SyncState::Backup, "sync0", 1)
            }),
            input,
        ),
        (
            "daemon ttl 0",
            ipvs.start_daemon(&SyncDaemon {
                ttl: Some(0),
                ..SyncDaemon::new(SyncState::Backup, "sync0", 1)
            }),
            input,
        ),
        // refused by the kernel
        (
            "unknown scheduler",
            ipvs.update_service(&Service::new(key).with_scheduler(sched("nosuch").unwrap())),
            |e| matches!(e, Error::ModuleMissing { .. }),
        ),
        (
            "unknown persistence engine",
            ipvs.update_service(
                &Service::new(key)
                    .with_persistence(60)
                    .with_pe(lvskit::Name::new("nope").unwrap()),
            ),
            |e| matches!(e, Error::ModuleMissing { .. }),
        ),
        (
            "double add of a service",
            ipvs.add_service(&Service::new(key)),
            |e| matches!(e, Error::Exists { .. }),
        ),
        (
            "double add of a destination",
            ipvs.add_destination(&key, &Destination::new(Ipv4Addr::new(10, 1, 0, 1), 80)),
            |e| matches!(e, Error::Exists { .. }),
        ),
        (
            "delete of a missing service",
            ipvs.delete_service(&ServiceKey::udp(Ipv4Addr::new(10, 0, 0, 1), 80)),
            |e| {
                matches!(
                    e,
                    Error::NotFound {
                        errno: libc::ESRCH,
                        ..
                    }
                )
            },
        ),
        (
            "delete of a missing destination",
            ipvs.delete_destination(&key, Ipv4Addr::new(10, 9, 9, 9).into(), 80),
            |e| {
                matches!(
                    e,
                    Error::NotFound {
                        errno: libc::ENOENT,
                        ..
                    }
                )
            },
        ),
        (
            "update of a missing service",
            ipvs.update_service(&Service::new(ServiceKey::udp(
                Ipv4Addr::new(10, 0, 0, 1),
                81,
            ))),
            |e| {
                matches!(
                    e,
                    Error::NotFound {
                        errno: libc::ESRCH,
                        ..
                    }
                )
            },
        ),
        (
            "update of a missing destination",
            ipvs.update_destination(&key, &d),
            |e| {
                matches!(
                    e,
                    Error::NotFound {
                        errno: libc::ENOENT,
                        ..
                    }
                )
            },
        ),
        (
            "destination of a missing service",
            ipvs.add_destination(&ServiceKey::udp(Ipv4Addr::new(10, 0, 0, 1), 82), &d),
            |e| {
                matches!(
                    e,
                    Error::NotFound {
                        errno: libc::ESRCH,
                        ..
                    }
                )
            },
        ),
        (
            "zero of a missing service",
            ipvs.zero(Some(&ServiceKey::udp(Ipv4Addr::new(10, 0, 0, 1), 83))),
            |e| matches!(e, Error::NotFound { .. }),
        ),
        (
            "a second master daemon",
            ipvs.start_daemon(&SyncDaemon::new(SyncState::Master, "sync0", 2)),
            |e| matches!(e, Error::Exists { .. }),
        ),
        (
            "daemon on a missing interface",
            ipvs.start_daemon(&SyncDaemon::new(SyncState::Backup, "nosuch0", 1)),
            |e| {
                matches!(
                    e,
                    Error::NotFound {
                        errno: libc::ENODEV,
                        ..
                    }
                )
            },
        ),
        (
            "stop of a daemon not running",
            ipvs.stop_daemon(SyncState::Backup),
            |e| {
                matches!(
                    e,
                    Error::NotFound {
                        errno: libc::ESRCH,
                        ..
                    }
                )
            },
        ),
        (
            "mixed-family destination while a sync daemon runs",
            ipvs.add_destination(
                &key6,
                &Destination::new(Ipv4Addr::new(10, 1, 0, 7), 80)
                    .with_forward(Forward::Tunnel(Tunnel::Ipip)),
            ),
            |e| {
                matches!(
                    e,
                    Error::Invalid {
                        errno: libc::EINVAL,
                        ..
                    }
                )
            },
        ),
        (
            "missing namespace",
            Ipvs::open(Namespace::Named("nonexistent-ns".into())).map(|_| ()),
            |e| matches!(e, Error::Io { .. }),
        ),
    ];
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for (what, r, check) in &cases {
        match r {
            Ok(()) => panic!("{what}: accepted"),
            Err(e) => assert!(check(e), "{what}: wrong error {e:?}"),
        }
        let msg = r.as_ref().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(!msg.is_empty(), "{what}: empty message");
    }
    assert_eq!(ns.saved(), before, "the table changed");
    assert_eq!(ipvs.daemons().unwrap(), before_daemons);
    let _ = Operation::Flush;
}

/// Every wait for the kernel is bounded: a request sent without asking for an
/// acknowledgement gets no reply on success, and the wait for one ends with
/// [`Error::Timeout`] after the handle's timeout, not a hang; the handle then
/// keeps working (the late-coming replies of later requests are matched by
/// sequence number).
#[test]
fn a_wait_that_gets_no_reply_ends_with_a_timeout_error() {
    use std::time::{Duration, Instant};
    let ns = TestNs::new();
    let ipvs = ns.ipvs();
    ns.ipvsadm(&["-A", "-t", "10.9.0.1:80", "-s", "rr"]);
    let before = ns.saved();
    let timeout = Duration::from_millis(400);
    ipvs.set_timeout(timeout).unwrap();
    let started = Instant::now();
    let err = ipvs
        .unacknowledged_request_for_tests(lvskit::raw::ipvs::cmd::ZERO, &[])
        .unwrap_err();
    let took = started.elapsed();
    match &err {
        Error::Timeout { after, context } => {
            assert_eq!(*after, timeout);
            assert!(context.contains("without acknowledgement"), "{context}");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("no reply from the kernel within 400ms"),
        "{err}"
    );
    assert!(
        took >= Duration::from_millis(390),
        "returned after {took:?}"
    );
    assert!(took < Duration::from_secs(15), "returned after {took:?}");
    // the request itself was carried out (zeroing changes nothing visible)
    assert_eq!(ns.saved(), before);
    // the handle still works, with the short timeout still in force
    let svc = Service::new(ServiceKey::tcp(Ipv4Addr::new(10, 9, 0, 2), 80));
    ipvs.add_service(&svc).unwrap();
    assert_eq!(ipvs.services().unwrap().len(), 2);
    assert!(ns
        .saved()
        .iter()
        .any(|l| l.starts_with("-A -t 10.9.0.2:80")));
}
