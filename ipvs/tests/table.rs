//! Host tests of desired-state planning: the plan from a to b, applied to a,
//! gives b; a second plan is empty; scope leaves other services alone.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod strategies;

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::sync::Arc;

use lvskit::table::{diff, simulate, DiffOptions, Scope, Table, TableService};
use lvskit::{Destination, Operation, Scheduler, Service, ServiceKey};
use proptest::prelude::*;

fn svc(port: u16, dests: &[(u8, u32)]) -> TableService {
    let key = ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), port);
    TableService {
        service: Service::new(key),
        destinations: dests
            .iter()
            .map(|&(h, w)| Destination::new(Ipv4Addr::new(10, 0, 1, h), port).with_weight(w))
            .collect(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn applying_the_plan_gives_the_desired_table(a in strategies::table(6, 4), b in strategies::table(6, 4)) {
        let plan = diff(&a, &b, &DiffOptions::default());
        prop_assert_eq!(simulate(&a, &plan).sorted(), b.clone().sorted());
        prop_assert!(diff(&simulate(&a, &plan), &b, &DiffOptions::default()).is_empty());
    }

    #[test]
    fn a_table_against_itself_plans_nothing(a in strategies::table(8, 4)) {
        prop_assert!(diff(&a, &a, &DiffOptions::default()).is_empty());
    }

    /// Reordered destinations (short and long lists) plan nothing; one edit
    /// plans exactly one operation; a destination listed twice in the desired
    /// table keeps its first occurrence.
    #[test]
    fn reordered_destinations_plan_nothing_and_one_edit_plans_one_operation(
        a in strategies::table(4, 20),
        rot in 0usize..20,
        edit in 0usize..4,
    ) {
        let mut b = a.clone();
        for s in &mut b.services {
            let n = s.destinations.len();
            if n > 0 {
                s.destinations.rotate_left(rot % n);
            }
        }
        let target = b.services.iter().position(|s| !s.destinations.is_empty());
        let want_ops = match (edit, target) {
            (1, Some(i)) => {
                let d = &mut b.services[i].destinations[0];
                d.weight = d.weight.wrapping_add(1) % 65536;
                1
            }
            (2, Some(i)) => {
                let mut dup = b.services[i].destinations[0];
                dup.weight = (dup.weight + 7) % 65536;
                b.services[i].destinations.push(dup);
                0
            }
            (3, Some(i)) => {
                b.services[i].destinations.remove(0);
                1
            }
            _ => 0,
        };
        let plan = diff(&a, &b, &DiffOptions::default());
        prop_assert_eq!(plan.len(), want_ops, "{}", plan);
        let mut first = b.clone();
        for s in &mut first.services {
            let mut seen = HashSet::new();
            s.destinations.retain(|d| seen.insert((d.addr, d.port)));
        }
        prop_assert_eq!(simulate(&a, &plan).sorted(), first.sorted());
    }

    #[test]
    fn scope_never_touches_other_services(a in strategies::table(6, 3), b in strategies::table(6, 3)) {
        let keep: HashSet<ServiceKey> = a.services.iter().take(2).map(|s| s.service.key).collect();
        let opts = DiffOptions { scope: Scope::Predicate(Arc::new(move |k| !keep.contains(k))), ..Default::default() };
        let plan = diff(&a, &b, &opts);
        for op in &plan.operations {
            let key = match op {
                Operation::AddService(s) | Operation::UpdateService(s) => s.key,
                Operation::DeleteService(k) | Operation::AddDestination(k, _)
                | Operation::UpdateDestination(k, _) | Operation::DeleteDestination(k, ..) => *k,
                _ => continue,
            };
            prop_assert!(opts.scope.contains(&key), "{} touches out-of-scope {}", op, key);
        }
    }
}

#[test]
fn plan_order_and_ipvsadm_words() {
    let current = Table {
        services: vec![svc(80, &[(1, 1), (2, 1)]), svc(81, &[(1, 1)])],
        timeouts: None,
    };
    let mut changed = svc(80, &[(1, 5), (3, 1)]);
    changed.service.scheduler = Scheduler::RoundRobin;
    let desired = Table {
        services: vec![changed, svc(82, &[(9, 2)])],
        timeouts: None,
    };
    let plan = diff(&current, &desired, &DiffOptions::default());
    assert_eq!(
        plan.to_string(),
        "ipvsadm -E -t 10.0.0.1:80 -s rr\n\
         ipvsadm -A -t 10.0.0.1:82 -s wlc\n\
         ipvsadm -d -t 10.0.0.1:80 -r 10.0.1.2:80\n\
         ipvsadm -e -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 5\n\
         ipvsadm -a -t 10.0.0.1:80 -r 10.0.1.3:80 -g -w 1\n\
         ipvsadm -a -t 10.0.0.1:82 -r 10.0.1.9:82 -g -w 2\n\
         ipvsadm -d -t 10.0.0.1:81 -r 10.0.1.1:81\n\
         ipvsadm -D -t 10.0.0.1:81\n"
    );
}

#[test]
fn drain_sets_weight_zero_first_then_deletes() {
    let current = Table {
        services: vec![svc(80, &[(1, 1), (2, 4)])],
        timeouts: None,
    };
    let desired = Table {
        services: vec![svc(80, &[(1, 1)])],
        timeouts: None,
    };
    let opts = DiffOptions {
        drain_before_remove: true,
        ..Default::default()
    };
    let first = diff(&current, &desired, &opts);
    assert_eq!(
        first.to_string(),
        "ipvsadm -e -t 10.0.0.1:80 -r 10.0.1.2:80 -g -w 0\n"
    );
    let drained = simulate(&current, &first);
    let second = diff(&drained, &desired, &opts);
    assert_eq!(
        second.to_string(),
        "ipvsadm -d -t 10.0.0.1:80 -r 10.0.1.2:80\n"
    );
    assert!(diff(&simulate(&drained, &second), &desired, &opts).is_empty());
}

#[test]
fn scope_by_service_set() {
    let current = Table {
        services: vec![svc(80, &[(1, 1)]), svc(81, &[(1, 1)])],
        timeouts: None,
    };
    let desired = Table::default();
    let only = Scope::Services(
        [ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), 81)]
            .into_iter()
            .collect(),
    );
    let plan = diff(
        &current,
        &desired,
        &DiffOptions {
            scope: only,
            ..Default::default()
        },
    );
    assert_eq!(
        plan.to_string(),
        "ipvsadm -d -t 10.0.0.1:81 -r 10.0.1.1:81\nipvsadm -D -t 10.0.0.1:81\n"
    );
}

#[cfg(feature = "serde")]
#[test]
fn tables_round_trip_through_json() {
    let t = Table {
        services: vec![svc(80, &[(1, 3)])],
        timeouts: Some(lvskit::Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300,
        }),
    };
    let json = serde_json::to_string(&t).unwrap();
    let back: Table = serde_json::from_str(&json).unwrap();
    assert_eq!(back, t);
    // defaults apply to omitted fields, like ipvsadm's
    let min: Table = serde_json::from_str(
        r#"{"services":[{"service":{"key":{"inet":{"protocol":"tcp","addr":"10.0.0.1","port":80}}},
            "destinations":[{"addr":"10.0.1.1","port":80}]}]}"#,
    )
    .unwrap();
    assert_eq!(
        min.services[0].service.scheduler,
        Scheduler::WeightedLeastConnection
    );
    assert_eq!(min.services[0].destinations[0].weight, 1);
    assert!(serde_json::from_str::<Table>(r#"{"services":[{"service":{"key":{"fwmark":{"family":"ipv4","mark":1}},"scheduler":"this-name-is-far-too-long"}}]}"#).is_err());
}

#[cfg(feature = "serde")]
#[test]
fn the_fuzz_seed_table_is_valid_serde_form() {
    let text = include_str!("../../fuzz/seeds/table_json/basic.json");
    let t: Table = serde_json::from_str(text).unwrap();
    assert_eq!(t.services.len(), 2);
    for s in &t.services {
        s.service.validate().unwrap();
        for d in &s.destinations {
            d.validate(s.service.key.family()).unwrap();
        }
    }
}

/// Found by the long fuzz run: with a destination listed twice in a desired
/// service, a new service took the first and an existing one the last, so
/// applying a plan and planning again was not a no-op. The first wins in both.
#[test]
fn a_destination_listed_twice_first_wins_for_new_and_existing_services() {
    let key = ServiceKey::tcp(Ipv4Addr::new(40, 0, 0, 1), 80);
    let d = |w| Destination::new(Ipv4Addr::new(10, 0, 1, 1), 80).with_weight(w);
    let desired = Table {
        services: vec![TableService {
            service: Service::new(key),
            destinations: vec![d(1), d(2)],
        }],
        timeouts: None,
    };
    let opts = DiffOptions::default();
    let plan = diff(&Table::default(), &desired, &opts);
    let after = simulate(&Table::default(), &plan);
    assert_eq!(after.services[0].destinations, vec![d(1)]);
    assert!(diff(&after, &desired, &opts).is_empty());
    // an existing service with the destination at weight 2 is moved to the first's weight
    let current = Table {
        services: vec![TableService {
            service: Service::new(key),
            destinations: vec![d(2)],
        }],
        timeouts: None,
    };
    let plan = diff(&current, &desired, &opts);
    assert_eq!(
        plan.operations,
        vec![Operation::UpdateDestination(key, d(1))]
    );
}

/// A service listed twice in either table: in `desired` the first listing
/// wins, in `current` the last (as a map built from it would hold); a service
/// to delete goes where it was first listed, with the last listing's
/// destinations.
#[test]
fn a_service_listed_twice_first_wins_in_desired_last_in_current() {
    let desired = Table {
        services: vec![svc(1, &[(1, 1)]), svc(1, &[(1, 9)]), svc(3, &[])],
        timeouts: None,
    };
    let current = Table {
        services: vec![
            svc(2, &[(5, 1)]),
            svc(1, &[(1, 7)]),
            svc(4, &[]),
            svc(1, &[(1, 1)]),
            svc(2, &[(6, 1)]),
        ],
        timeouts: None,
    };
    let plan = diff(&current, &desired, &DiffOptions::default());
    let key = |p| svc(p, &[]).service.key;
    let dest = |p, h| Destination::new(Ipv4Addr::new(10, 0, 1, h), p);
    assert_eq!(
        plan.operations,
        vec![
            Operation::AddService(Service::new(key(3))),
            Operation::DeleteDestination(key(2), dest(2, 6).addr, 2),
            Operation::DeleteService(key(2)),
            Operation::DeleteService(key(4)),
        ],
        "{plan}"
    );
}
