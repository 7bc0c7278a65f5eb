//! The async handle (`lvskit::aio`) against the real kernel, each test in its
//! own namespace: the same script on the async and on the blocking handle
//! leaves the same `ipvsadm -Sn`; 64 tasks adding, updating and deleting on
//! one socket end at the table a model predicts; a listing streamed while
//! other tasks write.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use lvskit::table::{DiffOptions, Table, TableService};
use lvskit::{
    aio, BatchMode, Destination, Error, Forward, Namespace, Operation, Scheduler, Service,
    ServiceKey, SyncDaemon, SyncState, Timeouts,
};

use crate::support::TestNs;

fn svc(i: u8) -> ServiceKey {
    ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, i), 80)
}

fn rs(i: u16) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(11, 0, (i >> 8) as u8, i as u8))
}

async fn open(ns: &TestNs) -> aio::Ipvs {
    aio::Ipvs::open(Namespace::Named(ns.name().to_string()))
        .await
        .expect("open an async IPVS handle in the test namespace")
}

/// A namespace where destinations are routable and a sync daemon can run.
fn lab() -> TestNs {
    let ns = TestNs::new();
    ns.routable();
    ns.dummy("sync0", &["192.168.77.1/24"]);
    ns
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Every call of the blocking handle, on the async one; returns what it read.
async fn script(ipvs: &aio::Ipvs) -> String {
    let mut seen = String::new();
    let s1 = Service::new(svc(1)).with_scheduler(Scheduler::RoundRobin);
    ipvs.add_service(&s1).await.unwrap();
    let err = ipvs.add_service(&s1).await.unwrap_err();
    assert!(matches!(err, Error::Exists { .. }), "{err:?}");
    ipvs.add_service(&Service::new(svc(2))).await.unwrap();
    for i in 1..=3 {
        let d = Destination::new(rs(i), 8080)
            .with_forward(Forward::Masq)
            .with_weight(u32::from(i));
        ipvs.add_destination(&svc(1), &d).await.unwrap();
    }
    let d = Destination::new(rs(9), 80).with_forward(Forward::DirectRoute);
    ipvs.add_destination(&svc(2), &d).await.unwrap();
    ipvs.update_service(
        &s1.clone()
            .with_scheduler(Scheduler::WeightedLeastConnection),
    )
    .await
    .unwrap();
    let d2 = Destination::new(rs(2), 8080)
        .with_forward(Forward::Masq)
        .with_weight(7);
    ipvs.update_destination(&svc(1), &d2).await.unwrap();
    ipvs.set_weight(&svc(1), rs(3), 8080, 0).await.unwrap();
    ipvs.set_scheduler(&svc(2), Scheduler::SourceHashing)
        .await
        .unwrap();
    ipvs.delete_destination(&svc(1), rs(1), 8080).await.unwrap();
    let err = ipvs
        .delete_destination(&svc(1), rs(1), 8080)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let err = ipvs.destinations(&svc(9)).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    ipvs.set_timeouts(&Timeouts {
        tcp: 901,
        tcp_fin: 121,
        udp: 301,
    })
    .await
    .unwrap();
    seen += &format!("{:?}\n", ipvs.timeouts().await.unwrap());
    seen += &format!("{}\n", ipvs.info().await.unwrap().conn_table_size);
    ipvs.start_daemon(&SyncDaemon::new(SyncState::Master, "sync0", 4))
        .await
        .unwrap();
    seen += &format!("{:?}\n", ipvs.daemons().await.unwrap().len());
    ipvs.stop_daemon(SyncState::Master).await.unwrap();
    ipvs.zero(None).await.unwrap();
    ipvs.zero(Some(&svc(1))).await.unwrap();
    let mut services: Vec<_> = ipvs
        .services()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.service)
        .collect();
    services.sort_by_key(|s| s.key);
    seen += &format!("{services:?}\n");
    let mut dests: Vec<_> = ipvs
        .destinations(&svc(1))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.destination)
        .collect();
    dests.sort_by_key(|d| d.addr);
    seen += &format!("{dests:?}\n");
    seen += &format!("{:?}\n", ipvs.service(&svc(2)).await.unwrap().service);
    // batches, rules text, tables
    let ops: Vec<Operation> = (10..20)
        .map(|i| {
            Operation::AddDestination(
                svc(2),
                Destination::new(rs(i), 80).with_forward(Forward::DirectRoute),
            )
        })
        .collect();
    assert!(ipvs.execute(&ops, BatchMode::Continue).await.is_ok());
    let report = ipvs.execute(&ops[..3], BatchMode::StopOnError).await;
    assert!(matches!(
        report.outcomes[0].error(),
        Some(Error::Exists { .. })
    ));
    let rules = "-A -u 10.0.0.3:53 -s rr\n-a -u 10.0.0.3:53 -r 11.0.0.30:53 -m -w 2\n";
    assert!(ipvs
        .restore(rules, BatchMode::StopOnError)
        .await
        .unwrap()
        .report
        .is_ok());
    let mut desired = ipvs.read_table().await.unwrap();
    desired.services.retain(|s| s.service.key != svc(2));
    desired.services.push(TableService {
        service: Service::new(svc(4)).with_scheduler(Scheduler::RoundRobin),
        destinations: vec![Destination::new(rs(40), 80).with_forward(Forward::Masq)],
    });
    let plan = ipvs.plan(&desired, &DiffOptions::default()).await.unwrap();
    assert!(!plan.operations.is_empty());
    let (_, report) = ipvs
        .converge(&desired, &DiffOptions::default())
        .await
        .unwrap();
    assert!(report.is_ok());
    let again = ipvs.plan(&desired, &DiffOptions::default()).await.unwrap();
    assert!(again.operations.is_empty(), "{again}");
    seen
}

/// The same script on the blocking handle.
fn blocking_script(ipvs: &lvskit::Ipvs) -> String {
    let mut seen = String::new();
    let s1 = Service::new(svc(1)).with_scheduler(Scheduler::RoundRobin);
    ipvs.add_service(&s1).unwrap();
    ipvs.add_service(&Service::new(svc(2))).unwrap();
    for i in 1..=3 {
        let d = Destination::new(rs(i), 8080)
            .with_forward(Forward::Masq)
            .with_weight(u32::from(i));
        ipvs.add_destination(&svc(1), &d).unwrap();
    }
    let d = Destination::new(rs(9), 80).with_forward(Forward::DirectRoute);
    ipvs.add_destination(&svc(2), &d).unwrap();
    ipvs.update_service(
        &s1.clone()
            .with_scheduler(Scheduler::WeightedLeastConnection),
    )
    .unwrap();
    let d2 = Destination::new(rs(2), 8080)
        .with_forward(Forward::Masq)
        .with_weight(7);
    ipvs.update_destination(&svc(1), &d2).unwrap();
    ipvs.set_weight(&svc(1), rs(3), 8080, 0).unwrap();
    ipvs.set_scheduler(&svc(2), Scheduler::SourceHashing)
        .unwrap();
    ipvs.delete_destination(&svc(1), rs(1), 8080).unwrap();
    ipvs.set_timeouts(&Timeouts {
        tcp: 901,
        tcp_fin: 121,
        udp: 301,
    })
    .unwrap();
    seen += &format!("{:?}\n", ipvs.timeouts().unwrap());
    seen += &format!("{}\n", ipvs.info().unwrap().conn_table_size);
    // sync daemons run on the async handle only (one daemon per test run)
    seen += "1\n";
    let mut services: Vec<_> = ipvs
        .services()
        .unwrap()
        .into_iter()
        .map(|e| e.service)
        .collect();
    services.sort_by_key(|s| s.key);
    seen += &format!("{services:?}\n");
    let mut dests: Vec<_> = ipvs
        .destinations(&svc(1))
        .unwrap()
        .into_iter()
        .map(|e| e.destination)
        .collect();
    dests.sort_by_key(|d| d.addr);
    seen += &format!("{dests:?}\n");
    seen += &format!("{:?}\n", ipvs.service(&svc(2)).unwrap().service);
    let ops: Vec<Operation> = (10..20)
        .map(|i| {
            Operation::AddDestination(
                svc(2),
                Destination::new(rs(i), 80).with_forward(Forward::DirectRoute),
            )
        })
        .collect();
    assert!(ipvs.execute(&ops, BatchMode::Continue).is_ok());
    let rules = "-A -u 10.0.0.3:53 -s rr\n-a -u 10.0.0.3:53 -r 11.0.0.30:53 -m -w 2\n";
    assert!(ipvs
        .restore(rules, BatchMode::StopOnError)
        .unwrap()
        .report
        .is_ok());
    let mut desired = Table::read(ipvs).unwrap();
    desired.services.retain(|s| s.service.key != svc(2));
    desired.services.push(TableService {
        service: Service::new(svc(4)).with_scheduler(Scheduler::RoundRobin),
        destinations: vec![Destination::new(rs(40), 80).with_forward(Forward::Masq)],
    });
    assert!(ipvs
        .converge(&desired, &DiffOptions::default())
        .unwrap()
        .1
        .is_ok());
    seen
}

#[test]
fn the_async_handle_does_what_the_blocking_one_does() {
    let (a, b) = (lab(), lab());
    let seen = runtime().block_on(async {
        let ipvs = open(&a).await;
        script(&ipvs).await
    });
    let want = blocking_script(&b.ipvs());
    assert_eq!(seen, want);
    assert_eq!(a.saved_sorted(), b.saved_sorted());
    assert!(a.saved_sorted().iter().any(|l| l.contains("10.0.0.4:80")));
    assert_eq!(
        a.ipvsadm(&["-Ln", "--timeout"]),
        b.ipvsadm(&["-Ln", "--timeout"])
    );
    runtime().block_on(async { open(&a).await.flush().await.unwrap() });
    assert!(a.saved().is_empty());
}

/// What one of the 64 writers does to its own destinations (ports
/// `1000 * task + j`) of service 10.0.0.(1 + task % 4): adds 6, sets
/// weights, deletes 2, and gets `Exists` for one add twice. Returns its part
/// of the model: `ipvsadm -Sn` lines.
async fn writer(ipvs: aio::Ipvs, task: u16) -> Vec<String> {
    let key = svc(1 + (task % 4) as u8);
    let port = |j: u16| 1000 * task + j;
    for j in 0..6 {
        let d = Destination::new(rs(task), port(j))
            .with_forward(Forward::Masq)
            .with_weight(1);
        ipvs.add_destination(&key, &d).await.unwrap();
    }
    let again = Destination::new(rs(task), port(0)).with_forward(Forward::Masq);
    let err = ipvs.add_destination(&key, &again).await.unwrap_err();
    assert!(matches!(err, Error::Exists { .. }), "task {task}: {err:?}");
    for j in 0..6 {
        let w = u32::from(task) + u32::from(j);
        let d = Destination::new(rs(task), port(j))
            .with_forward(Forward::Masq)
            .with_weight(w);
        ipvs.update_destination(&key, &d).await.unwrap();
    }
    ipvs.delete_destination(&key, rs(task), port(1))
        .await
        .unwrap();
    ipvs.delete_destination(&key, rs(task), port(4))
        .await
        .unwrap();
    let err = ipvs
        .delete_destination(&key, rs(task), port(4))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::NotFound { .. }),
        "task {task}: {err:?}"
    );
    [0u16, 2, 3, 5]
        .iter()
        .map(|&j| {
            format!(
                "-a -t 10.0.0.{}:80 -r {}:{} -m -w {}",
                1 + task % 4,
                rs(task),
                port(j),
                u32::from(task) + u32::from(j)
            )
        })
        .collect()
}

#[test]
fn sixty_four_tasks_write_on_one_socket_and_match_the_model() {
    let ns = lab();
    let mut want: Vec<String> = runtime().block_on(async {
        let ipvs = open(&ns).await;
        for i in 1..=4 {
            let s = Service::new(svc(i)).with_scheduler(Scheduler::RoundRobin);
            ipvs.add_service(&s).await.unwrap();
        }
        let tasks: Vec<_> = (1..=64u16)
            .map(|t| tokio::spawn(writer(ipvs.clone(), t)))
            .collect();
        let mut want: Vec<String> = (1..=4)
            .map(|i| format!("-A -t 10.0.0.{i}:80 -s rr"))
            .collect();
        for t in tasks {
            want.extend(t.await.unwrap());
        }
        // the handle's own listing agrees with the model
        let mut listed = 0;
        for i in 1..=4 {
            listed += ipvs.destinations(&svc(i)).await.unwrap().len();
        }
        assert_eq!(listed, 64 * 4);
        want
    });
    want.sort();
    assert_eq!(ns.saved_sorted(), want);
}

#[test]
fn a_listing_streams_while_other_tasks_write() {
    let ns = lab();
    runtime().block_on(async {
        let ipvs = open(&ns).await;
        let ops: Vec<Operation> = (1..=200u8)
            .flat_map(|i| {
                let key = svc(i);
                std::iter::once(Operation::AddService(Service::new(key))).chain((0..4).map(
                    move |j| {
                        Operation::AddDestination(
                            key,
                            Destination::new(rs(u16::from(i) * 4 + j), 80)
                                .with_forward(Forward::Masq),
                        )
                    },
                ))
            })
            .collect();
        assert!(ipvs.execute(&ops, BatchMode::Continue).await.is_ok());
        let writers: Vec<_> = (0..16u16)
            .map(|t| {
                let ipvs = ipvs.clone();
                tokio::spawn(async move {
                    for j in 0..8 {
                        let d =
                            Destination::new(rs(2000 + t), 9000 + j).with_forward(Forward::Masq);
                        ipvs.add_destination(&svc(7), &d).await.unwrap();
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        // a slow consumer: one entry at a time, yielding between them
        let mut stream = ipvs.service_stream().await.unwrap();
        let mut keys = BTreeMap::new();
        while let Some(e) = stream.next_entry().await {
            *keys.entry(e.unwrap().service.key).or_insert(0) += 1;
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        for w in writers {
            w.await.unwrap();
        }
        assert_eq!(keys.len(), 200);
        assert!(keys.values().all(|&n| n == 1));
        assert_eq!(ipvs.destinations(&svc(7)).await.unwrap().len(), 4 + 16 * 8);
        // a table read while writers work
        let writer = {
            let ipvs = ipvs.clone();
            tokio::spawn(async move {
                for j in 0..32 {
                    ipvs.set_weight(&svc(7), rs(2000), 9000 + (j % 8), u32::from(j))
                        .await
                        .unwrap();
                }
            })
        };
        let table = ipvs.read_table().await.unwrap();
        writer.await.unwrap();
        assert_eq!(table.services.len(), 200);
    });
    assert_eq!(
        ns.saved().iter().filter(|l| l.starts_with("-A")).count(),
        200
    );
}
