//! End-to-end tests with real traffic: each builds its own lab of network
//! namespaces (removed when it ends, also on failure), configures the
//! directors through the library, sends TCP traffic from a client namespace
//! and asserts which real server answered.
//!
//! They need root and a kernel with IPVS and IPIP, so they are ignored by a
//! plain `cargo test`; `scripts/vm-suites` runs them in the test VM with
//! `--ignored`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::time::Duration;

use ipvs_examples::directing;
use ipvs_examples::scenario::{conn_key, tally, Mode, Scenario};
use lvskit::director::{HealthState, OnFailure};
use lvskit::sysctl::{self, Knob, Value};
use lvskit::{Namespace, Scheduler};

/// A unique namespace prefix for one test's lab.
fn prefix(tag: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    format!("e2e{}{n}{tag}-", std::process::id() % 100_000)
}

/// Asserts `answers` alternate between exactly two servers.
fn assert_alternates(answers: &[String]) {
    for pair in answers.windows(2) {
        assert_ne!(pair[0], pair[1], "rr must alternate: {answers:?}");
    }
    let t = tally(answers);
    assert_eq!(t.len(), 2, "both servers must answer: {answers:?}");
}

/// The director's per-server connection counters must match what the client saw.
///
/// The kernel publishes its per-CPU counters every 2 s (with its rate
/// estimator), so this waits up to 5 s for them to settle.
fn assert_counters_match(s: &Scenario, director: usize, answers: &[String]) {
    let want = tally(answers);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut counters = s.conn_counters(director).unwrap();
    while std::time::Instant::now() < deadline
        && want
            .iter()
            .any(|(name, n)| counters.get(name).copied() != Some(*n as u64))
    {
        std::thread::sleep(Duration::from_millis(250));
        counters = s.conn_counters(director).unwrap();
    }
    for (name, n) in want {
        assert_eq!(
            counters.get(&name).copied(),
            Some(n as u64),
            "{name}: the director's counter must match the traffic; counters {counters:?}"
        );
    }
}

#[test]
#[ignore = "needs root and an IPVS kernel: run in the VM by scripts/vm-suites"]
fn tun_rr_alternates_between_servers() {
    let s = Scenario::one_director(&prefix("tun"), Mode::Tunnel, Scheduler::RoundRobin, &[1, 1])
        .unwrap();
    let answers = s.requests(20).unwrap();
    assert_alternates(&answers);
    assert_eq!(
        tally(&answers).values().copied().collect::<Vec<_>>(),
        [10, 10]
    );
    assert_counters_match(&s, 0, &answers);
}

#[test]
#[ignore = "needs root and an IPVS kernel: run in the VM by scripts/vm-suites"]
fn nat_rr_alternates_between_servers() {
    let s =
        Scenario::one_director(&prefix("nat"), Mode::Nat, Scheduler::RoundRobin, &[1, 1]).unwrap();
    let answers = s.requests(20).unwrap();
    assert_alternates(&answers);
    assert_counters_match(&s, 0, &answers);
}

#[test]
#[ignore = "needs root and an IPVS kernel: run in the VM by scripts/vm-suites"]
fn dr_wrr_follows_the_weights() {
    // 3:1 over 40 new connections: 30/10, within +-3 (a reused client port
    // could be matched to an old entry instead of scheduled)
    let s = Scenario::one_director(
        &prefix("dr"),
        Mode::DirectRoute,
        Scheduler::WeightedRoundRobin,
        &[3, 1],
    )
    .unwrap();
    let answers = s.requests(40).unwrap();
    let t = tally(&answers);
    let heavy = t.get("rproxy1").copied().unwrap_or(0);
    let light = t.get("rproxy2").copied().unwrap_or(0);
    assert_eq!(heavy + light, 40, "{t:?}");
    assert!(
        (27..=33).contains(&heavy),
        "weight 3 of 4 must get ~30 of 40: {t:?}"
    );
    assert!(
        (7..=13).contains(&light),
        "weight 1 of 4 must get ~10 of 40: {t:?}"
    );
    assert_counters_match(&s, 0, &answers);
}

#[test]
#[ignore = "needs root and an IPVS kernel: run in the VM by scripts/vm-suites"]
fn two_dc_tunnels_reach_both_data_centres_from_either_director() {
    let s = Scenario::two_dc(&prefix("2dc"), Scheduler::RoundRobin).unwrap();
    let first = s.requests(10).unwrap();
    assert_alternates(&first);
    assert_counters_match(&s, 0, &first);
    // the core now sends the VIP to DC2's director
    s.route_vip_to(1).unwrap();
    let second = s.requests(10).unwrap();
    assert_alternates(&second);
    assert_counters_match(&s, 1, &second);
    // and DC1's director saw nothing more
    assert_counters_match(&s, 0, &first);
}

/// Issue 19 item 6: directors scaled out behind an ECMP route, each with the
/// same desired state and the `mh` scheduler, send a client to the same real
/// server whichever director its flow reaches.
#[test]
#[ignore = "needs root and an IPVS kernel: run in the VM by scripts/vm-suites"]
fn two_directors_behind_ecmp_with_mh_agree_on_the_real_server_of_each_client() {
    let s = Scenario::two_dc(&prefix("ecmp"), Scheduler::MaglevHashing).unwrap();
    let clients: Vec<IpAddr> = (50..74).map(|n| IpAddr::from([10, 0, 0, n])).collect();
    s.add_client_addresses(&clients).unwrap();
    let ask = |s: &Scenario| -> Vec<String> {
        let answers = clients.iter().map(|c| s.request_from(*c));
        answers.collect::<Result<_, _>>().unwrap()
    };
    let via_dc1 = ask(&s);
    assert_counters_match(&s, 0, &via_dc1);
    s.route_vip_to(1).unwrap();
    let via_dc2 = ask(&s);
    assert_counters_match(&s, 1, &via_dc2);
    assert_eq!(
        via_dc1, via_dc2,
        "mh on both directors must agree per client"
    );
    assert_eq!(
        tally(&via_dc1).len(),
        2,
        "mh must use both servers: {via_dc1:?}"
    );

    s.route_vip_ecmp().unwrap();
    let via_ecmp = ask(&s);
    assert_eq!(
        via_ecmp, via_dc1,
        "through ECMP each client keeps its server"
    );
    // both directors took new clients (the kernel folds its counters in
    // every two seconds, so wait a bounded while for them)
    let total = |d: usize| s.conn_counters(d).unwrap().values().sum::<u64>();
    let before = [clients.len() as u64; 2];
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut after = [total(0), total(1)];
    while std::time::Instant::now() < deadline && (after[0] == before[0] || after[1] == before[1]) {
        std::thread::sleep(Duration::from_millis(250));
        after = [total(0), total(1)];
    }
    assert!(
        after[0] > before[0] && after[1] > before[1],
        "ECMP must spread the clients over both directors: {before:?} -> {after:?}"
    );
}

#[test]
#[ignore = "needs root and an IPVS kernel: run in the VM by scripts/vm-suites"]
fn drained_server_gets_no_new_connections_but_keeps_established_ones() {
    let s = Scenario::one_director(
        &prefix("drain"),
        Mode::DirectRoute,
        Scheduler::RoundRobin,
        &[1, 1],
    )
    .unwrap();
    // two long-lived connections: rr puts one on each server
    let mut a = s.session().unwrap();
    let mut b = s.session().unwrap();
    let (wa, wb) = (a.ask().unwrap(), b.ask().unwrap());
    assert_ne!(wa, wb, "rr must spread the two sessions");
    let (mut on2, on1) = if wa == "rproxy2" { (a, b) } else { (b, a) };
    drop(on1);

    let drained = s.dest("rproxy2").unwrap().with_weight(0);
    s.directors[0]
        .ipvs
        .update_destination(&s.key, &drained)
        .unwrap();
    let answers = s.requests(12).unwrap();
    assert!(
        answers.iter().all(|w| w == "rproxy1"),
        "a drained server must get no new connection: {answers:?}"
    );
    for _ in 0..3 {
        assert_eq!(
            on2.ask().unwrap(),
            "rproxy2",
            "the established connection continues"
        );
    }
    let d = s.directors[0].ipvs.destinations(&s.key).unwrap();
    let e = d
        .iter()
        .find(|e| e.destination.addr == drained.addr)
        .unwrap();
    assert_eq!(e.destination.weight, 0);
    assert_eq!(
        e.active_conns, 1,
        "its established connection is still counted"
    );
}

/// Real servers checked by `lvskit::director` every `INTERVAL` (a TCP
/// connect from the director's namespace, timing out after `INTERVAL`).
const INTERVAL: Duration = Duration::from_millis(1500);

/// How long a health transition may take at most, with `n` checks needed:
/// `n` intervals and one timeout, and as much again for a slow, loaded VM.
fn within(n: u32) -> Duration {
    2 * (INTERVAL * n + INTERVAL)
}

/// Issue 19 item 7: a real server whose service stops is inhibited or
/// removed by the director after `fall` failed checks, gets no new
/// connection, and is restored with its weight after `rise` good ones.
fn failed_server_round_trip(policy: OnFailure, tag: &str, fall: u32, rise: u32) {
    let mut s = Scenario::one_director(
        &prefix(tag),
        Mode::DirectRoute,
        Scheduler::RoundRobin,
        &[1, 1],
    )
    .unwrap();
    let rs2 = s.dest("rproxy2").unwrap();
    let id = directing::id_of(&s, &rs2);
    let check = directing::tcp_check(&s, 0, INTERVAL)
        .unwrap()
        .with_rise_fall(rise, fall);
    let desired = directing::desired(&s, 0, check, policy).unwrap();
    let (director, events) = directing::start(&s, 0, desired, Duration::from_secs(1)).unwrap();
    assert_alternates(&s.requests(6).unwrap());
    assert_eq!(
        director.health().get(&id).map(|h| h.state),
        Some(HealthState::Up),
        "all healthy at first"
    );

    s.server("rproxy2").unwrap().stop();
    let down = directing::wait_health(&events, &id, HealthState::Down, within(fall), |_| {});
    assert!(down, "the director must see rproxy2 fail");
    let gone = |w: Option<u32>| match policy {
        OnFailure::Inhibit => w == Some(0),
        _ => w.is_none(),
    };
    let applied = directing::wait_until(within(1), || {
        Ok(gone(directing::kernel_weight(&s, 0, &rs2)?))
    });
    assert!(applied.unwrap(), "{policy:?} must reach the kernel");
    let during = s.requests(10).unwrap();
    assert!(
        during.iter().all(|w| w == "rproxy1"),
        "a failed server gets no traffic once detected: {during:?}"
    );
    // the referee: ipvsadm in the director's namespace
    let listed = s.directors[0].ns.exec("ipvsadm", &["-Ln"]).unwrap();
    let line = listed.lines().find(|l| l.contains("10.0.0.12:80"));
    match policy {
        OnFailure::Inhibit => {
            let w = line.and_then(|l| l.split_whitespace().nth(3));
            assert_eq!(w, Some("0"), "inhibited at weight 0: {listed}");
        }
        _ => assert!(line.is_none(), "removed: {listed}"),
    }

    s.server("rproxy2").unwrap().start().unwrap();
    let up = directing::wait_health(&events, &id, HealthState::Up, within(rise), |_| {});
    assert!(up, "the director must see rproxy2 come back");
    let restored = directing::wait_until(within(1), || {
        Ok(directing::kernel_weight(&s, 0, &rs2)? == Some(rs2.weight))
    });
    assert!(restored.unwrap(), "weight {} restored", rs2.weight);
    assert_alternates(&s.requests(10).unwrap());
    director.stop();
}

#[test]
#[ignore = "needs root and an IPVS kernel: run in the VM by scripts/vm-suites"]
fn failed_server_is_drained_and_gets_traffic_again_after_recovery() {
    failed_server_round_trip(OnFailure::Inhibit, "hcd", 1, 1);
}

#[test]
#[ignore = "needs root and an IPVS kernel: run in the VM by scripts/vm-suites"]
fn failed_server_is_removed_and_gets_traffic_again_after_recovery() {
    failed_server_round_trip(OnFailure::Remove, "hcr", 2, 2);
}

#[test]
#[ignore = "needs root and an IPVS kernel: run in the VM by scripts/vm-suites"]
fn synced_connection_survives_director_failover() {
    let s = Scenario::failover(&prefix("fo")).unwrap();
    let daemons = s.directors[1].ipvs.daemons().unwrap();
    assert_eq!(daemons.len(), 1, "the backup daemon runs: {daemons:?}");

    let mut session = s.session().unwrap();
    let server = session.ask().unwrap();
    let from = session.local_addr().unwrap();
    let line = s
        .wait_for_conn(1, from, Duration::from_secs(10))
        .unwrap()
        .unwrap_or_else(|| panic!("the backup never received the connection from {from}"));
    assert!(line.contains("ESTABLISHED"), "synced entry: {line}");

    s.move_vip_to_backup().unwrap();
    for _ in 0..3 {
        assert_eq!(
            session.ask().unwrap(),
            server,
            "the established connection keeps its real server through the backup"
        );
    }
    // new connections are scheduled by the backup now
    let answers = s.requests(4).unwrap();
    assert_alternates(&answers);
    assert_counters_match(&s, 1, &answers);
}

#[test]
#[ignore = "needs root and an IPVS kernel: run in the VM by scripts/vm-suites"]
fn labs_leave_no_namespace_behind() {
    let p = prefix("clean");
    let r = std::panic::catch_unwind(|| {
        let _s = Scenario::one_director(&p, Mode::Nat, Scheduler::RoundRobin, &[1]).unwrap();
        panic!("a failing test");
    });
    assert!(r.is_err());
    let left: Vec<_> = std::fs::read_dir("/run/netns")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&p))
        .collect();
    assert!(left.is_empty(), "namespaces left behind: {left:?}");
}

#[test]
#[ignore = "needs root and an IPVS kernel: run in the VM by scripts/vm-suites"]
fn unsynced_connection_breaks_on_director_failover() {
    // the control of the test above: without the backup daemon the backup
    // has no entry for the connection, so after the move it is reset
    let s = Scenario::failover_with(&prefix("fox"), false).unwrap();
    assert_eq!(s.directors[1].ipvs.daemons().unwrap(), vec![]);
    let mut session = s.session().unwrap();
    session.ask().unwrap();
    let from = session.local_addr().unwrap();
    assert_eq!(
        s.wait_for_conn(1, from, Duration::from_secs(3)).unwrap(),
        None,
        "no backup daemon, no synced entry"
    );
    s.move_vip_to_backup().unwrap();
    assert!(
        session.ask().is_err(),
        "the connection cannot survive without its entry on the backup"
    );
}

/// Whether director #0's connection table has the connection from `from`.
fn has_conn(s: &Scenario, from: std::net::SocketAddr) -> bool {
    let table = s.directors[0].ns.proc_net("ip_vs_conn").unwrap();
    table.contains(&conn_key(from).unwrap())
}

#[test]
#[ignore = "needs root and an IPVS kernel: run in the VM by scripts/vm-suites"]
fn expire_nodest_conn_ends_connections_to_a_deleted_server() {
    let s =
        Scenario::one_director(&prefix("nodest"), Mode::Nat, Scheduler::RoundRobin, &[1]).unwrap();
    let ns = Namespace::Path(s.directors[0].ns.path());
    let (mut kept, mut ended) = (s.session().unwrap(), s.session().unwrap());
    assert_eq!(kept.ask().unwrap(), "rproxy1");
    assert_eq!(ended.ask().unwrap(), "rproxy1");
    let (from_kept, from_ended) = (kept.local_addr().unwrap(), ended.local_addr().unwrap());
    let d = s.dest("rproxy1").unwrap();
    s.directors[0]
        .ipvs
        .delete_destination(&s.key, d.addr, d.port)
        .unwrap();

    // off (the kernel's default): the packet is dropped, the entry stays
    let off = sysctl::read(&ns, Knob::ExpireNodestConn).unwrap();
    assert_eq!(off, Value::Bool(false));
    assert!(kept.ask().is_err(), "a deleted server cannot answer");
    assert!(
        has_conn(&s, from_kept),
        "with expire_nodest_conn off the entry stays"
    );

    // on: the next packet of a connection to the deleted server expires it
    sysctl::write(&ns, Knob::ExpireNodestConn, &Value::Bool(true)).unwrap();
    let shown = s.directors[0]
        .ns
        .exec("cat", &["/proc/sys/net/ipv4/vs/expire_nodest_conn"])
        .unwrap();
    assert_eq!(shown.trim(), "1");
    assert!(ended.ask().is_err(), "a deleted server cannot answer");
    let start = std::time::Instant::now();
    while has_conn(&s, from_ended) && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !has_conn(&s, from_ended),
        "with expire_nodest_conn on the connection's entry is expired"
    );
}
