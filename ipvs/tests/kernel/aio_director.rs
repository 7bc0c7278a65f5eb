//! The director's loop on the async handle (`AsyncDirector`) with real
//! traffic, in the lab of `director.rs` (client, director and LVS/DR real
//! servers in namespaces of their own on one bridge; `ipvsadm` in the
//! director's namespace is the referee). Every wait is bounded in count and
//! time; no test asserts a time.

use lvskit::director::{AsyncDirector, DesiredState, Event, HealthState};

use crate::director::{
    check, metric, opts, plans_weight, service, wait_event, wait_for, Lab, FALL, RISE,
};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn checks_of(d: &AsyncDirector, lab: &Lab, i: usize) -> u64 {
    d.health().get(&lab.id(i)).map_or(0, |h| h.checks)
}

#[test]
fn the_async_loop_drains_a_failing_real_server_and_restores_it() {
    let lab = Lab::new(2);
    let _rs1 = lab.serve(0, 200);
    let rs2 = lab.serve(1, 200);
    let svc = service(&lab, 2).with_check(check(&lab));
    let (o, rx) = opts(&lab);
    let rt = runtime();
    let d = rt
        .block_on(AsyncDirector::start(
            DesiredState {
                services: vec![svc],
            },
            o,
        ))
        .unwrap();
    wait_for(
        "both real servers at weight 1",
        || lab.diag(),
        || lab.weight(0) == Some(1) && lab.weight(1) == Some(1),
    );
    let seen: Vec<String> = (0..4).map(|_| lab.connect()).collect();
    assert!(seen.contains(&"rs2".into()), "{seen:?}\n{}", lab.diag());

    // rs2 fails: drained (weight 0) after FALL failing checks, and new
    // connections all reach rs1
    let before = checks_of(&d, &lab, 1);
    drop(rs2);
    wait_event(&rx, "rs2 drained", |e| plans_weight(&lab, e, 1, 0));
    let ran = checks_of(&d, &lab, 1) - before;
    assert!(
        ran <= u64::from(FALL) + 2,
        "{ran} checks ran before the drain"
    );
    assert_eq!(d.health()[&lab.id(1)].state, HealthState::Down);
    wait_for(
        "rs2 at weight 0",
        || lab.diag(),
        || lab.weight(1) == Some(0),
    );
    for _ in 0..6 {
        assert_eq!(lab.connect(), "rs1", "{}", lab.diag());
    }
    let text = rt.block_on(d.metrics_text()).unwrap();
    assert_eq!(metric(&text, "lvskit_destination_up", "10.20.0.12:8080"), 0);
    assert_eq!(metric(&text, "lvskit_destination_up", "10.20.0.11:8080"), 1);
    assert_eq!(
        metric(&text, "lvskit_destination_weight", "10.20.0.12:8080"),
        0
    );

    // rs2 is back: restored after RISE passing checks, and reached again
    let _rs2 = lab.serve(1, 200);
    let before = checks_of(&d, &lab, 1);
    wait_event(&rx, "rs2 restored", |e| plans_weight(&lab, e, 1, 1));
    let ran = checks_of(&d, &lab, 1) - before;
    assert!(
        ran <= u64::from(RISE) + 2,
        "{ran} checks ran before the restore"
    );
    wait_for(
        "rs2 at weight 1",
        || lab.diag(),
        || lab.weight(1) == Some(1),
    );
    let seen: Vec<String> = (0..4).map(|_| lab.connect()).collect();
    assert!(seen.contains(&"rs2".into()), "{seen:?}\n{}", lab.diag());

    rt.block_on(d.stop());
    wait_event(&rx, "the loop stopped", |e| matches!(e, Event::Stopped));
    // stopping leaves the table as it is
    assert_eq!((lab.weight(0), lab.weight(1)), (Some(1), Some(1)));
}
