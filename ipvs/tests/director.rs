//! Host tests of the director's pure logic: configuration checks (typed
//! errors before anything starts), the rise/fall state machine, the
//! effective table (failure policy, quorum, sorry server), drain decisions
//! (including a restart) and the Prometheus text.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use lvskit::director::metrics::{render, DestinationMetrics, ServiceMetrics};
use lvskit::director::{
    effective, settle, Check, DesiredState, DestinationId, DirectedService, Director,
    DirectorOptions, DrainBook, DrainChange, DrainEnd, Health, HealthState, OnFailure,
};
use lvskit::table::{diff, simulate, DiffOptions, Scope, Table};
use lvskit::{Destination, DestinationEntry, ErrorKind, Service, ServiceEntry, ServiceKey, Stats};
use proptest::prelude::*;

const MS: fn(u64) -> Duration = Duration::from_millis;

fn key() -> ServiceKey {
    ServiceKey::tcp([10, 0, 0, 1], 80)
}

fn rs(h: u8, w: u32) -> Destination {
    Destination::new([10, 0, 1, h], 80).with_weight(w)
}

fn id(h: u8) -> DestinationId {
    DestinationId {
        service: key(),
        addr: IpAddr::V4(Ipv4Addr::new(10, 0, 1, h)),
        port: 80,
    }
}

fn directed(dests: &[Destination]) -> DirectedService {
    DirectedService::new(Service::new(key()), dests.to_vec())
        .with_check(Check::tcp().with_interval(MS(1000)).with_timeout(MS(500)))
}

fn state(s: DirectedService) -> DesiredState {
    DesiredState { services: vec![s] }
}

fn entry(d: Destination, active: u32, inactive: u32) -> DestinationEntry {
    DestinationEntry {
        destination: d,
        active_conns: active,
        inactive_conns: inactive,
        persistent_conns: 0,
        stats: Stats::default(),
    }
}

fn down(ids: &[DestinationId]) -> impl Fn(&DestinationId) -> Option<HealthState> + '_ {
    move |i| {
        Some(if ids.contains(i) {
            HealthState::Down
        } else {
            HealthState::Up
        })
    }
}

fn weights(t: &Table) -> Vec<(IpAddr, u32)> {
    let mut v: Vec<_> = t.services[0]
        .destinations
        .iter()
        .map(|d| (d.addr, d.weight))
        .collect();
    v.sort();
    v
}

fn ip(h: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 1, h))
}

// ---------------------------------------------------------------- bad input

fn invalid(r: lvskit::Result<()>, needle: &str) {
    let e = r.expect_err("accepted");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains(needle), "{e} lacks {needle:?}");
}

#[test]
fn a_check_pointing_at_nothing_is_invalid_input() {
    let c = Check::tcp().with_interval(MS(1000)).with_timeout(MS(500));
    invalid(
        c.validate(IpAddr::from([0, 0, 0, 0]), 80),
        "points at nothing",
    );
    invalid(c.validate(ip(1), 0), "port 0");
    invalid(c.clone().with_port(0).validate(ip(1), 80), "port 0");
    invalid(c.validate("::".parse().unwrap(), 80), "points at nothing");
    invalid(
        c.validate("224.0.0.1".parse().unwrap(), 80),
        "points at nothing",
    );
    invalid(
        c.clone()
            .with_source("fd00::1".parse().unwrap())
            .validate(ip(1), 80),
        "family",
    );
    c.validate(ip(1), 80).unwrap();
}

#[test]
fn zero_or_inconsistent_timing_is_invalid_input() {
    let c = Check::tcp();
    invalid(
        c.clone().with_interval(Duration::ZERO).validate(ip(1), 80),
        "interval",
    );
    invalid(
        c.clone().with_timeout(Duration::ZERO).validate(ip(1), 80),
        "timeout",
    );
    invalid(
        c.clone()
            .with_interval(MS(100))
            .with_timeout(MS(200))
            .validate(ip(1), 80),
        "longer than the interval",
    );
    invalid(
        c.clone().with_rise_fall(0, 1).validate(ip(1), 80),
        "rise and fall",
    );
    invalid(
        c.clone().with_rise_fall(1, 0).validate(ip(1), 80),
        "rise and fall",
    );
    invalid(Check::http("healthz", 200).validate(ip(1), 80), "path");
    invalid(Check::http("/", 99).validate(ip(1), 80), "status");
    invalid(Check::dns("").validate(ip(1), 53), "DNS name");
    invalid(Check::dns("a..b").validate(ip(1), 53), "DNS name");
    Check::dns("example.org.").validate(ip(1), 53).unwrap();
}

#[test]
fn a_sorry_server_that_is_a_real_server_is_invalid_input() {
    let s = directed(&[rs(1, 1), rs(2, 1)]).with_quorum(1, Some(rs(2, 5)));
    invalid(
        s.validate(),
        "sorry server 10.0.1.2:80 is also a real server",
    );
    invalid(
        directed(&[rs(1, 1)])
            .with_quorum(2, Some(rs(9, 1)))
            .validate(),
        "quorum 2",
    );
    invalid(directed(&[rs(1, 1), rs(1, 2)]).validate(), "listed twice");
    let bad_check = directed(&[rs(1, 1)]).with_check(Check::tcp().with_rise_fall(0, 0));
    invalid(bad_check.validate(), "rise and fall");
    let twice = DesiredState {
        services: vec![directed(&[rs(1, 1)]), directed(&[rs(2, 1)])],
    };
    invalid(twice.validate(), "listed twice");
}

/// Validation comes first: on this host (no IPVS) opening a handle would
/// fail with another kind of error, so InvalidInput proves nothing was opened.
#[test]
fn a_director_refuses_bad_input_before_opening_anything() {
    for bad in [
        directed(&[rs(1, 1)]).with_check(Check::tcp().with_interval(Duration::ZERO)),
        directed(&[rs(1, 1)]).with_check(Check::tcp().with_rise_fall(0, 1)),
        directed(&[rs(1, 1)]).with_quorum(1, Some(rs(1, 1))),
        directed(&[Destination::new([0, 0, 0, 0], 80)]),
    ] {
        let r = Director::start(state(bad), DirectorOptions::default()).map(drop);
        invalid(r, "");
    }
    let opts = DirectorOptions {
        period: Duration::ZERO,
        ..DirectorOptions::default()
    };
    invalid(
        Director::start(DesiredState::default(), opts).map(drop),
        "period",
    );
}

// ---------------------------------------------------------------- rise/fall

proptest! {
    /// Up goes down exactly after `fall` failures in a row, down goes up
    /// exactly after `rise` successes in a row, against a reference model.
    #[test]
    fn rise_and_fall_count_consecutive_results(
        results in proptest::collection::vec(any::<bool>(), 0..60),
        rise in 1u32..5, fall in 1u32..5, up in any::<bool>(),
    ) {
        let first = if up { HealthState::Up } else { HealthState::Down };
        let mut h = Health::new(first);
        let (mut state, mut run) = (first, 0u32);
        for (i, ok) in results.iter().enumerate() {
            let t = h.record(*ok, rise, fall);
            let against = (state == HealthState::Up) != *ok;
            run = if against { run + 1 } else { 0 };
            let need = if state == HealthState::Up { fall } else { rise };
            let flips = against && run == need;
            if flips {
                state = if state == HealthState::Up { HealthState::Down } else { HealthState::Up };
                run = 0;
            }
            prop_assert_eq!(t, flips.then_some(state), "at result {}", i);
            prop_assert_eq!(h.state, state);
        }
        prop_assert_eq!(h.checks, results.len() as u64);
    }
}

// ---------------------------------------------------------------- effective table

#[test]
fn failed_servers_are_inhibited_or_removed_as_the_service_says() {
    let s = directed(&[rs(1, 3), rs(2, 4)]);
    let e = effective(&state(s.clone()), &down(&[id(2)]));
    assert_eq!(weights(&e.table), vec![(ip(1), 3), (ip(2), 0)]);
    assert!(e.failed.is_empty());
    let e = effective(
        &state(s.with_on_failure(OnFailure::Remove)),
        &down(&[id(2)]),
    );
    assert_eq!(weights(&e.table), vec![(ip(1), 3)]);
    assert_eq!(e.failed.iter().copied().collect::<Vec<_>>(), vec![id(2)]);
}

#[test]
fn below_quorum_the_sorry_server_takes_the_new_connections_and_leaves_when_back() {
    let s = directed(&[rs(1, 3), rs(2, 4)]).with_quorum(2, Some(rs(9, 7)));
    let healthy = effective(&state(s.clone()), &down(&[]));
    assert_eq!(weights(&healthy.table), vec![(ip(1), 3), (ip(2), 4)]);
    let one_down = effective(&state(s.clone()), &down(&[id(2)]));
    assert_eq!(
        weights(&one_down.table),
        vec![(ip(1), 0), (ip(2), 0), (ip(9), 7)]
    );
    let removed = effective(
        &state(s.with_on_failure(OnFailure::Remove)),
        &down(&[id(1), id(2)]),
    );
    assert_eq!(weights(&removed.table), vec![(ip(9), 7)]);
}

#[test]
fn unchecked_servers_count_as_healthy() {
    let s =
        DirectedService::new(Service::new(key()), vec![rs(1, 2)]).with_quorum(1, Some(rs(9, 1)));
    let e = effective(&state(s), &|_| None);
    assert_eq!(weights(&e.table), vec![(ip(1), 2)]);
}

proptest! {
    /// For any health, the effective table holds every desired real server
    /// (inhibit) at its weight exactly when up and quorum holds, and the sorry
    /// server exactly when fewer than quorum are up; converging to it twice
    /// plans nothing the second time.
    #[test]
    fn the_effective_table_follows_health_and_quorum(
        ws in proptest::collection::vec(1u32..10, 1..6),
        downs in proptest::collection::vec(any::<bool>(), 6),
        quorum in 0u32..6,
    ) {
        let dests: Vec<_> = ws.iter().enumerate().map(|(i, w)| rs(i as u8 + 1, *w)).collect();
        let quorum = quorum.min(dests.len() as u32);
        let s = directed(&dests).with_quorum(quorum, Some(rs(99, 5)));
        let failed: Vec<_> = (0..dests.len()).filter(|i| downs[*i]).map(|i| id(i as u8 + 1)).collect();
        let e = effective(&state(s), &down(&failed));
        let up = dests.len() - failed.len();
        let sorry = up < quorum as usize;
        let t = &e.table.services[0].destinations;
        prop_assert_eq!(t.iter().any(|d| d.addr == ip(99)), sorry);
        for (i, d) in dests.iter().enumerate() {
            let got = t.iter().find(|x| x.addr == d.addr).map(|x| x.weight);
            let want = if downs[i] || sorry { 0 } else { d.weight };
            prop_assert_eq!(got, Some(want));
        }
        let opts = DiffOptions::default();
        let applied = simulate(&Table::default(), &diff(&Table::default(), &e.table, &opts));
        prop_assert!(diff(&applied, &e.table, &opts).is_empty());
    }
}

// ---------------------------------------------------------------- drains

fn current(entries: Vec<DestinationEntry>) -> Vec<(ServiceKey, Vec<DestinationEntry>)> {
    vec![(key(), entries)]
}

#[test]
fn a_server_leaving_is_drained_until_idle_then_deleted() {
    let desired = state(directed(&[rs(1, 3)]));
    let mut book = DrainBook::default();
    let t0 = Instant::now();
    let deadline = Duration::from_secs(60);
    // rs2 has connections: kept at weight 0
    let mut e = effective(&desired, &down(&[]));
    let ch = settle(
        &mut book,
        &current(vec![entry(rs(1, 3), 0, 0), entry(rs(2, 4), 1, 2)]),
        &mut e,
        t0,
        deadline,
    );
    assert_eq!(ch, vec![DrainChange::Started(id(2))]);
    assert_eq!(weights(&e.table), vec![(ip(1), 3), (ip(2), 0)]);
    assert!(book.contains(&id(2)));
    // later, still connections: nothing changes
    let mut e = effective(&desired, &down(&[]));
    let ch = settle(
        &mut book,
        &current(vec![entry(rs(1, 3), 0, 0), entry(rs(2, 0), 0, 1)]),
        &mut e,
        t0 + MS(10),
        deadline,
    );
    assert!(ch.is_empty());
    assert_eq!(weights(&e.table), vec![(ip(1), 3), (ip(2), 0)]);
    // idle: left out, so the plan deletes it
    let mut e = effective(&desired, &down(&[]));
    let ch = settle(
        &mut book,
        &current(vec![entry(rs(1, 3), 0, 0), entry(rs(2, 0), 0, 0)]),
        &mut e,
        t0 + MS(20),
        deadline,
    );
    assert_eq!(ch, vec![DrainChange::Finished(id(2), DrainEnd::Idle)]);
    assert_eq!(weights(&e.table), vec![(ip(1), 3)]);
    assert!(!book.contains(&id(2)));
}

#[test]
fn a_drain_ends_at_its_deadline_or_when_the_server_returns_or_vanishes() {
    let deadline = Duration::from_secs(5);
    let t0 = Instant::now();
    let mut book = DrainBook::default();
    let one = state(directed(&[rs(1, 3)]));
    let busy = current(vec![entry(rs(1, 3), 0, 0), entry(rs(2, 0), 4, 0)]);
    settle(
        &mut book,
        &busy,
        &mut effective(&one, &down(&[])),
        t0,
        deadline,
    );
    let mut e = effective(&one, &down(&[]));
    let ch = settle(&mut book, &busy, &mut e, t0 + deadline, deadline);
    assert_eq!(ch, vec![DrainChange::Finished(id(2), DrainEnd::Deadline)]);
    assert_eq!(weights(&e.table), vec![(ip(1), 3)]);

    settle(
        &mut book,
        &busy,
        &mut effective(&one, &down(&[])),
        t0,
        deadline,
    );
    let both = state(directed(&[rs(1, 3), rs(2, 4)]));
    let mut e = effective(&both, &down(&[]));
    let ch = settle(&mut book, &busy, &mut e, t0 + MS(1), deadline);
    assert_eq!(ch, vec![DrainChange::Finished(id(2), DrainEnd::Returned)]);
    assert_eq!(
        weights(&e.table),
        vec![(ip(1), 3), (ip(2), 4)],
        "its weight comes back"
    );

    settle(
        &mut book,
        &busy,
        &mut effective(&one, &down(&[])),
        t0,
        deadline,
    );
    let ch = settle(
        &mut book,
        &current(vec![entry(rs(1, 3), 0, 0)]),
        &mut effective(&one, &down(&[])),
        t0 + MS(1),
        deadline,
    );
    assert_eq!(ch, vec![DrainChange::Finished(id(2), DrainEnd::Gone)]);
}

/// A new director (empty book) finds the drain in the kernel and resumes it,
/// without giving the server its weight back; a desired, healthy server left
/// at weight 0 by a crash gets its weight back (kubernetes #92019).
#[test]
fn after_a_restart_drains_resume_and_desired_weights_come_back() {
    let desired = state(directed(&[rs(1, 3)]));
    let kernel = current(vec![entry(rs(1, 0), 0, 0), entry(rs(2, 0), 2, 0)]);
    let mut fresh = DrainBook::default();
    let mut e = effective(&desired, &|_| Some(HealthState::Up));
    let ch = settle(
        &mut fresh,
        &kernel,
        &mut e,
        Instant::now(),
        Duration::from_secs(60),
    );
    assert_eq!(ch, vec![DrainChange::Started(id(2))]);
    assert_eq!(weights(&e.table), vec![(ip(1), 3), (ip(2), 0)]);
    let cur = Table {
        services: vec![lvskit::table::TableService {
            service: Service::new(key()),
            destinations: vec![rs(1, 0), rs(2, 0)],
        }],
        timeouts: None,
    };
    let opts = DiffOptions {
        scope: Scope::Services([key()].into()),
        drain_before_remove: false,
    };
    let plan = diff(&cur, &e.table, &opts);
    assert_eq!(
        plan.to_string(),
        "ipvsadm -e -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 3\n"
    );
}

#[test]
fn a_server_removed_for_failing_is_deleted_at_once_not_drained() {
    let s = directed(&[rs(1, 3), rs(2, 4)]).with_on_failure(OnFailure::Remove);
    let mut book = DrainBook::default();
    let mut e = effective(&state(s), &down(&[id(2)]));
    let ch = settle(
        &mut book,
        &current(vec![entry(rs(1, 3), 0, 0), entry(rs(2, 4), 3, 3)]),
        &mut e,
        Instant::now(),
        Duration::from_secs(60),
    );
    assert!(ch.is_empty());
    assert_eq!(weights(&e.table), vec![(ip(1), 3)]);
}

// ---------------------------------------------------------------- metrics

fn sample(text: &str, line_start: &str) -> u64 {
    let l = text
        .lines()
        .find(|l| l.starts_with(line_start))
        .unwrap_or_else(|| panic!("no {line_start} in\n{text}"));
    l.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn metrics_render_counters_gauges_and_escaped_labels() {
    let stats = |n: u64| Stats {
        conns: n,
        in_packets: n + 1,
        out_packets: n + 2,
        in_bytes: n + 3,
        out_bytes: n + 4,
        ..Stats::default()
    };
    let svc = ServiceMetrics {
        entry: ServiceEntry {
            service: Service::new(key()),
            stats: stats(100),
        },
        destinations: vec![
            DestinationMetrics {
                entry: DestinationEntry {
                    stats: stats(10),
                    ..entry(rs(1, 3), 2, 5)
                },
                health: Some(HealthState::Up),
                draining: false,
            },
            DestinationMetrics {
                entry: entry(rs(2, 0), 0, 1),
                health: None,
                draining: true,
            },
        ],
    };
    let text = render(&[svc]);
    let s = "{service=\"TCP 10.0.0.1:80\"}";
    let d1 = "{service=\"TCP 10.0.0.1:80\",destination=\"10.0.1.1:80\"}";
    let d2 = "{service=\"TCP 10.0.0.1:80\",destination=\"10.0.1.2:80\"}";
    assert_eq!(
        sample(&text, &format!("lvskit_service_connections_total{s} ")),
        100
    );
    assert_eq!(
        sample(&text, &format!("lvskit_service_out_bytes_total{s} ")),
        104
    );
    assert_eq!(
        sample(&text, &format!("lvskit_destination_in_packets_total{d1} ")),
        11
    );
    assert_eq!(sample(&text, &format!("lvskit_destination_weight{d1} ")), 3);
    assert_eq!(
        sample(
            &text,
            &format!("lvskit_destination_active_connections{d1} ")
        ),
        2
    );
    assert_eq!(
        sample(
            &text,
            &format!("lvskit_destination_inactive_connections{d1} ")
        ),
        5
    );
    assert_eq!(sample(&text, &format!("lvskit_destination_up{d1} ")), 1);
    assert_eq!(
        sample(&text, &format!("lvskit_destination_draining{d2} ")),
        1
    );
    assert!(
        !text.contains(&format!("lvskit_destination_up{d2}")),
        "unchecked: no health sample"
    );
    // every family once, HELP then TYPE, its samples right after
    let mut families = HashMap::new();
    let mut current = String::new();
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("# TYPE ") {
            current = rest.split(' ').next().unwrap().to_owned();
            assert!(
                families.insert(current.clone(), ()).is_none(),
                "{current} twice"
            );
        } else if !l.starts_with("# HELP ") {
            assert!(
                l.starts_with(&format!("{current}{{")),
                "{l} outside its family {current}"
            );
        }
    }
    assert_eq!(families.len(), 15);
    assert_eq!(
        lvskit::director::metrics::escape_label("a\"b\\c\nd"),
        "a\\\"b\\\\c\\nd"
    );
}

#[cfg(feature = "serde")]
#[test]
fn desired_state_files_parse_and_bad_ones_are_typed_errors() {
    use lvskit::director::{parse_file, FileFormat};
    let rules = "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 2\n";
    let d = parse_file(rules, FileFormat::Rules).unwrap();
    assert_eq!(d.services[0].destinations[0].weight, 2);
    assert!(d.services[0].check.is_none());
    let json = r#"{"services": [{
        "service": {"key": {"inet": {"protocol": "tcp", "addr": "10.0.0.1", "port": 80}}, "scheduler": "rr"},
        "destinations": [{"addr": "10.0.1.1", "port": 80, "weight": 2}],
        "check": {"kind": "http", "path": "/health", "status": 204, "interval_ms": 1000, "timeout_ms": 400, "rise": 2, "fall": 3},
        "on_failure": "remove", "quorum": 1, "sorry_server": {"addr": "10.0.2.1", "port": 80}
    }]}"#;
    match parse_file(json, FileFormat::Json) {
        Ok(d) => {
            let s = &d.services[0];
            assert_eq!(s.on_failure, OnFailure::Remove);
            let c = s.check.as_ref().unwrap();
            assert_eq!((c.rise, c.fall, c.timeout), (2, 3, MS(400)));
            assert_eq!(s.sorry_server.unwrap().addr, IpAddr::from([10, 0, 2, 1]));
        }
        Err(e) => panic!("{e}"),
    }
    let zero = json.replace("\"interval_ms\": 1000", "\"interval_ms\": 0");
    invalid(parse_file(&zero, FileFormat::Json).map(drop), "interval");
    let sorry = json.replace("10.0.2.1", "10.0.1.1");
    invalid(
        parse_file(&sorry, FileFormat::Json).map(drop),
        "also a real server",
    );
    invalid(
        parse_file("{\"services\": 3}", FileFormat::Json).map(drop),
        "JSON",
    );
    invalid(
        parse_file("-a -t 10.0.0.1:80 -r 10.0.1.1:80\n", FileFormat::Rules).map(drop),
        "rules",
    );
}
