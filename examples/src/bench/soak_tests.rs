//! Host tests of the soak's pure parts: the churn, the desired state it
//! makes, the ledger that replays the director's events, and the drift.

#![allow(clippy::unwrap_used)]

use super::*;

fn lab() -> Lab {
    Lab {
        namespace: "soak-director".into(),
        vip: Ipv4Addr::new(10, 0, 0, 100),
        reals: (11..14).map(|n| Ipv4Addr::new(10, 0, 0, n)).collect(),
    }
}

#[test]
fn the_churn_changes_the_desired_state_every_second_within_bounds() {
    let mut churn = Churn::new(7);
    let mut spec = Churn::initial();
    let mut kinds = std::collections::BTreeSet::new();
    for _ in 0..600 {
        let before = spec.clone();
        let what = churn.step(&mut spec);
        assert_ne!(before, spec, "{what}: every step changes something");
        kinds.insert(what.split(' ').next().unwrap().to_owned());
        assert!(spec.contains_key(&MAIN_PORT), "{what}");
        assert!(spec.len() <= 1 + EXTRA_PORTS.count(), "{what}");
        assert!(spec.values().all(|ds| !ds.is_empty()), "{what}");
        desired(&lab(), &spec).validate().unwrap();
    }
    // services and real servers added and removed, weights changed
    let all: Vec<&str> = kinds.iter().map(String::as_str).collect();
    assert_eq!(all, ["add", "remove", "weight"]);
}

#[test]
fn the_ledger_replays_applied_operations_and_skips_failed_ones() {
    let want = desired(&lab(), &Churn::initial());
    let eff = effective(&want, &|_| None).table;
    let mut ledger = Ledger::new(Table::default());
    let ops = diff(&Table::default(), &eff, &DiffOptions::default()).operations;
    ledger.on_event(&Event::Planned {
        operations: ops.clone(),
    });
    ledger.on_event(&Event::Applied {
        done: ops.len(),
        failed: vec![],
    });
    assert_eq!(apart(&eff, &ledger.table), None);
    assert!(ledger.errors.is_empty(), "{:?}", ledger.errors);

    // a lost event: the kernel has a change the ledger never heard of
    let mut kernel = eff.clone();
    kernel.services[0].destinations[1].weight = 3;
    let gap = apart(&kernel, &ledger.table).unwrap();
    assert!(gap.contains("-w 1"), "{gap}");

    // a failed operation is not replayed; a count that does not add up is reported
    let op = Operation::DeleteService(eff.services[0].service.key);
    ledger.on_event(&Event::Planned {
        operations: vec![op.clone()],
    });
    ledger.on_event(&Event::Applied {
        done: 1,
        failed: vec![(op, "ESRCH".into())],
    });
    assert_eq!(ledger.table.services.len(), 1);
    assert_eq!(ledger.errors, ["1 operations reported done, 0 replayed"]);
}

#[test]
fn the_ledger_forgets_the_health_of_servers_no_longer_checked() {
    let l = lab();
    let mut spec = Churn::initial();
    let d = desired(&l, &spec);
    let svc = &d.services[0];
    let id = svc.id_of(&svc.destinations[2]);
    let mut ledger = Ledger::default();
    ledger.on_event(&Event::Health {
        id,
        state: HealthState::Down,
        reason: None,
    });
    assert_eq!(ledger.health.get(&id), Some(&HealthState::Down));
    spec.get_mut(&MAIN_PORT).unwrap().remove(&2);
    ledger.forget_health_except(&desired(&l, &spec));
    assert_eq!(ledger.health.get(&id), None);
}

#[test]
fn drift_compares_the_end_with_the_first_minute() {
    let t: Vec<f64> = (0..180).map(f64::from).collect();
    let v: Vec<f64> = (0..180)
        .map(|i| if i < 60 { 100.0 } else { 103.0 })
        .collect();
    assert_eq!(harness::drift(&t, &v), Some((60.0, 103.0, 103.0)));
    // samples caught with a check in flight do not decide
    let mut spiky = v.clone();
    spiky[60] = 180.0;
    spiky[179] = 180.0;
    assert_eq!(harness::drift(&t, &spiky), Some((60.0, 103.0, 103.0)));
    // a leak shows
    let leak: Vec<f64> = (0..180).map(|i| 100.0 + f64::from(i)).collect();
    let (_, a, b) = harness::drift(&t, &leak).unwrap();
    assert!(b > a * 1.05, "{a} -> {b}");
    // a soak under 90 s: after its first third
    let t: Vec<f64> = (0..21).map(f64::from).collect();
    assert_eq!(harness::drift(&t, &t), Some((7.0, 7.0, 19.0)));
    assert_eq!(harness::drift(&[], &[]), None);
}
