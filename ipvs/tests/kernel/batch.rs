//! Batches and desired-state apply against the real kernel.

use std::net::{IpAddr, Ipv4Addr};

use lvskit::table::{diff, DiffOptions, Table, TableService};
use lvskit::{
    BatchMode, Destination, Error, Forward, OpOutcome, Operation, Scheduler, Service, ServiceKey,
};

use crate::support::TestNs;

fn vip(i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)) // 10.0.x.y
}
fn rs(i: u32, j: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0b00_0000 + i * 8 + j)) // 11.x.y.z
}

fn big_table(services: u32, dests: u32) -> Table {
    Table {
        services: (0..services)
            .map(|i| TableService {
                service: Service::new(ServiceKey::tcp(vip(i), 80))
                    .with_scheduler(Scheduler::RoundRobin),
                destinations: (0..dests)
                    .map(|j| {
                        Destination::new(rs(i, j), 8080)
                            .with_forward(Forward::Masq)
                            .with_weight(j + 1)
                    })
                    .collect(),
            })
            .collect(),
        timeouts: None,
    }
}

fn expected_lines(t: &Table) -> Vec<String> {
    let mut v = Vec::new();
    for s in &t.services {
        let ServiceKey::Inet { addr, port, .. } = s.service.key else {
            unreachable!()
        };
        v.push(format!("-A -t {addr}:{port} -s {}", s.service.scheduler));
        for d in &s.destinations {
            v.push(format!(
                "-a -t {addr}:{port} -r {}:{} -m -w {}",
                d.addr, d.port, d.weight
            ));
        }
    }
    v.sort();
    v
}

#[test]
fn a_large_table_applies_as_one_batch_and_converges() {
    let ns = TestNs::new();
    ns.routable();
    let ipvs = ns.ipvs();
    let desired = big_table(2000, 4);
    let (plan, report) = ipvs.converge(&desired, &DiffOptions::default()).unwrap();
    assert_eq!(plan.len(), 2000 + 8000);
    assert!(report.is_ok(), "{:?}", report.first_error());
    assert_eq!(report.done(), 10_000);
    assert_eq!(ns.saved_sorted(), expected_lines(&desired));

    // a second apply is a no-op
    let (plan, _) = ipvs.converge(&desired, &DiffOptions::default()).unwrap();
    assert!(plan.is_empty(), "second plan:\n{plan}");

    // a random 5% change gives exactly the minimal plan
    let mut changed = desired.clone();
    let mut seed = 0x2545_f491_u32;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    let mut expected_ops = 0;
    let mut touched = std::collections::HashSet::new();
    while touched.len() < 100 {
        let i = (next() % 2000) as usize;
        if !touched.insert(i) {
            continue;
        }
        match next() % 4 {
            0 => {
                changed.services[i].destinations[0].weight += 10; // one update
                expected_ops += 1;
            }
            1 => {
                changed.services[i].destinations.pop(); // one delete
                expected_ops += 1;
            }
            2 => {
                changed.services[i]
                    .destinations
                    .push(Destination::new(rs(i as u32, 7), 8080).with_forward(Forward::Masq));
                expected_ops += 1;
            }
            _ => {
                changed.services[i].service.scheduler = Scheduler::WeightedRoundRobin; // one service update
                expected_ops += 1;
            }
        }
    }
    let current = Table::read(&ipvs).unwrap();
    let plan = diff(&current, &changed, &DiffOptions::default());
    assert_eq!(plan.len(), expected_ops, "{plan}");
    // planning while reading (a second thread for this size) plans the same
    assert_eq!(ipvs.plan(&changed, &DiffOptions::default()).unwrap(), plan);
    // ... with services to add and to delete, a scope, and drains
    let mut other = changed.clone();
    other.services.drain(100..400);
    other
        .services
        .extend(big_table(2300, 2).services.drain(2000..));
    other.services.swap(0, 1999);
    other.timeouts = Some(lvskit::Timeouts {
        tcp: 900,
        tcp_fin: 120,
        udp: 300,
    });
    let opts = DiffOptions {
        scope: lvskit::table::Scope::Predicate(std::sync::Arc::new(|k: &ServiceKey| {
            k.to_string().ends_with("0:80") || k.to_string().ends_with("5:80")
        })),
        drain_before_remove: true,
    };
    let scoped = diff(&current, &other, &opts);
    assert!(
        scoped
            .operations
            .iter()
            .any(|o| matches!(o, Operation::DeleteService(_)))
            && scoped
                .operations
                .iter()
                .any(|o| matches!(o, Operation::AddService(_))),
        "{scoped}"
    );
    assert_eq!(ipvs.plan(&other, &opts).unwrap(), scoped);
    let report = ipvs.apply_plan(&plan);
    assert!(report.is_ok(), "{:?}", report.first_error());
    assert_eq!(ns.saved_sorted(), expected_lines(&changed));
    assert!(ipvs
        .converge(&changed, &DiffOptions::default())
        .unwrap()
        .0
        .is_empty());
}

#[test]
fn each_failure_is_reported_on_its_own_operation_and_the_rest_applies() {
    let ns = TestNs::new();
    ns.routable();
    let ipvs = ns.ipvs();
    let a = ServiceKey::tcp(vip(1), 80);
    let b = ServiceKey::tcp(vip(2), 80);
    let missing = ServiceKey::tcp(vip(3), 80);
    let ops = vec![
        Operation::AddService(Service::new(a)), // 0 ok
        Operation::AddService(Service::new(a)), // 1 exists
        Operation::AddDestination(a, Destination::new(rs(1, 1), 80)), // 2 ok
        Operation::AddDestination(missing, Destination::new(rs(1, 2), 80)), // 3 no service
        Operation::AddDestination(a, Destination::new(rs(1, 1), 80).with_weight(u32::MAX)), // 4 invalid input
        Operation::AddService(
            Service::new(b).with_scheduler(Scheduler::from_name("nosched").unwrap()),
        ), // 5 module
        Operation::AddService(Service::new(b)),                                             // 6 ok
        Operation::DeleteDestination(b, rs(9, 9), 80), // 7 no dest
        Operation::AddDestination(b, Destination::new(rs(2, 1), 80)), // 8 ok
    ];
    let report = ipvs.execute(&ops, BatchMode::Continue);
    let kinds: Vec<String> = report
        .outcomes
        .iter()
        .map(|o| match o {
            OpOutcome::Done => "done".to_string(),
            OpOutcome::Failed(Error::Exists { .. }) => "exists".into(),
            OpOutcome::Failed(Error::NotFound { errno, .. }) => format!("notfound{errno}"),
            OpOutcome::Failed(Error::InvalidInput { .. }) => "invalid-input".into(),
            OpOutcome::Failed(Error::ModuleMissing { .. }) => "module".into(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "done",
            "exists",
            "done",
            "notfound3",
            "invalid-input",
            "module",
            "done",
            "notfound2",
            "done"
        ]
    );
    let ctx = report.outcomes[3].error().unwrap().to_string();
    assert!(
        ctx.starts_with(&format!(
            "adding destination {}:80 to service TCP {}:80",
            rs(1, 2),
            vip(3)
        )),
        "{ctx}"
    );
    assert_eq!(
        ns.saved_sorted(),
        vec![
            format!("-A -t {}:80 -s wlc", vip(1)),
            format!("-A -t {}:80 -s wlc", vip(2)),
            format!("-a -t {}:80 -r {}:80 -g -w 1", vip(1), rs(1, 1)),
            format!("-a -t {}:80 -r {}:80 -g -w 1", vip(2), rs(2, 1)),
        ]
    );
}

#[test]
fn stop_on_error_stops_and_says_what_was_not_attempted() {
    let ns = TestNs::new();
    ns.routable();
    let ipvs = ns.ipvs();
    let a = ServiceKey::tcp(vip(1), 80);
    let ops = vec![
        Operation::AddService(Service::new(a)),
        Operation::AddDestination(ServiceKey::tcp(vip(9), 80), Destination::new(rs(1, 1), 80)),
        Operation::AddDestination(a, Destination::new(rs(1, 2), 80)),
    ];
    let report = ipvs.execute(&ops, BatchMode::StopOnError);
    assert!(report.outcomes[0].is_done());
    assert!(matches!(
        report.outcomes[1],
        OpOutcome::Failed(Error::NotFound { .. })
    ));
    assert!(matches!(report.outcomes[2], OpOutcome::NotAttempted));
    assert_eq!(ns.saved(), vec![format!("-A -t {}:80 -s wlc", vip(1))]);
}

#[test]
fn scoped_apply_leaves_other_services_alone() {
    let ns = TestNs::new();
    ns.routable();
    ns.ipvsadm(&["-A", "-t", "10.200.0.1:80", "-s", "rr"]);
    ns.ipvsadm(&["-a", "-t", "10.200.0.1:80", "-r", "11.200.0.1:80", "-m"]);
    let ipvs = ns.ipvs();
    let desired = big_table(3, 2);
    let ours: std::collections::HashSet<ServiceKey> =
        desired.services.iter().map(|s| s.service.key).collect();
    let opts = DiffOptions {
        scope: lvskit::table::Scope::Services(ours),
        ..Default::default()
    };
    let (_, report) = ipvs.converge(&desired, &opts).unwrap();
    assert!(report.is_ok());
    let saved = ns.saved();
    assert!(
        saved.contains(&"-A -t 10.200.0.1:80 -s rr".to_string()),
        "{saved:?}"
    );
    assert_eq!(saved.len(), 2 + 3 * 3);
    // removing everything in scope still leaves the foreign service
    let (_, report) = ipvs.converge(&Table::default(), &opts).unwrap();
    assert!(report.is_ok());
    assert_eq!(
        ns.saved(),
        vec![
            "-A -t 10.200.0.1:80 -s rr",
            "-a -t 10.200.0.1:80 -r 11.200.0.1:80 -m -w 1"
        ]
    );
}
