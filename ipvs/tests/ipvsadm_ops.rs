//! Host tests of the one ipvsadm writer and the parser over every operation
//! kind: each operation's line parses back to the operation, a plan's
//! `Display` is its `-R` form with `ipvsadm ` in front, what ipvsadm cannot
//! say is refused, and value errors carry their line and column.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::IpAddr;

use lvskit::ipvsadm::{self, Format};
use lvskit::table::{diff, simulate, DiffOptions, Table, TableService};
use lvskit::{
    Destination, Forward, Operation, Service, ServiceFlags, ServiceKey, SyncDaemon, SyncState,
    Timeouts,
};
use proptest::prelude::*;

mod strategies;

use strategies::{expressible_destination, expressible_service, expressible_table};

fn daemon() -> impl Strategy<Value = SyncDaemon> {
    (
        prop_oneof![Just(SyncState::Master), Just(SyncState::Backup)],
        "[a-z][a-z0-9]{0,14}",
        0u32..=255,
        prop::option::of(1u16..=65507),
        prop::option::of(prop_oneof![
            (224u8..=239, any::<[u8; 3]>()).prop_map(|(a, b)| IpAddr::from([a, b[0], b[1], b[2]])),
            any::<u16>().prop_map(|w| IpAddr::from([0xff02, 0, 0, 0, 0, 0, 0, w])),
        ]),
        prop::option::of(1u16..),
        prop::option::of(1u8..),
    )
        .prop_map(|(state, ifname, id, max_len, group, port, ttl)| {
            let mut d = SyncDaemon::new(state, ifname, id);
            d.group = group;
            // a length the kernel keeps for this daemon (others are refused)
            let keeps = d.max_len_range();
            d.max_len = max_len.map(|n| n.clamp(*keeps.start(), *keeps.end()));
            d.port = port;
            d.ttl = ttl;
            d
        })
}

fn operation() -> impl Strategy<Value = Operation> {
    let svc = strategies::service().prop_map(expressible_service).boxed();
    let key_dest = strategies::table_service(1)
        .prop_filter_map("a destination", |ts| {
            let s = expressible_service(ts.service);
            let d = *ts.destinations.first()?;
            Some((s.key, expressible_destination(&s.key, d)))
        })
        .boxed();
    prop_oneof![
        svc.clone().prop_map(Operation::AddService),
        svc.prop_map(Operation::UpdateService),
        strategies::service_key().prop_map(Operation::DeleteService),
        key_dest
            .clone()
            .prop_map(|(k, d)| Operation::AddDestination(k, d)),
        key_dest
            .clone()
            .prop_map(|(k, d)| Operation::UpdateDestination(k, d)),
        key_dest.prop_map(|(k, d)| Operation::DeleteDestination(k, d.addr, d.port)),
        (0u32..=2_000_000, 0u32..=2_000_000, 0u32..=2_000_000).prop_map(|(tcp, tcp_fin, udp)| {
            Operation::SetTimeouts(Timeouts { tcp, tcp_fin, udp })
        }),
        daemon().prop_map(Operation::StartDaemon),
        prop_oneof![Just(SyncState::Master), Just(SyncState::Backup)]
            .prop_map(Operation::StopDaemon),
        prop::option::of(strategies::service_key()).prop_map(Operation::Zero),
        Just(Operation::Flush),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn every_operation_kind_round_trips_through_its_line(op in operation()) {
        let line = ipvsadm::rule(&op, Format::Lossless).unwrap();
        let back = ipvsadm::parse(&line).map_err(|e| TestCaseError::fail(format!("{e}\n{line}")))?;
        prop_assert_eq!(&back, &vec![op.clone()], "{}", line);
        // the dry run's line is the same line after `ipvsadm `
        prop_assert_eq!(op.to_string(), format!("ipvsadm {line}"));
        prop_assert_eq!(ipvsadm::parse(&op.to_string()).unwrap(), vec![op]);
    }

    #[test]
    fn a_plans_rules_text_is_its_operations(a in expressible_table(5, 3), b in expressible_table(5, 3)) {
        let plan = diff(&a, &b, &DiffOptions::default());
        let text = plan.to_rules().unwrap();
        prop_assert_eq!(ipvsadm::parse(&text).unwrap(), plan.operations.clone());
        let dry: String = text.lines().map(|l| format!("ipvsadm {l}\n")).collect();
        prop_assert_eq!(plan.to_string(), dry);
        // and applied to `a` in memory it gives `b`
        let mut t = a.clone();
        for op in ipvsadm::parse(&text).unwrap() {
            t.apply(&op).unwrap();
        }
        prop_assert_eq!(t.sorted(), simulate(&a, &plan).sorted());
    }
}

#[test]
fn a_daemon_is_written_with_all_its_options() {
    let mut d = SyncDaemon::new(SyncState::Backup, "eth1", 7);
    d.max_len = Some(1400);
    d.group = Some("239.1.2.3".parse().unwrap());
    d.port = Some(9000);
    d.ttl = Some(3);
    let op = Operation::StartDaemon(d);
    assert_eq!(
        op.to_string(),
        "ipvsadm --start-daemon backup --mcast-interface eth1 --syncid 7 --sync-maxlen 1400 \
         --mcast-group 239.1.2.3 --mcast-port 9000 --mcast-ttl 3"
    );
}

#[test]
fn bypass_is_refused_and_local_is_written_as_ipvsadm_does() {
    let key = ServiceKey::tcp([10, 0, 0, 1], 80);
    let bypass = Operation::AddDestination(
        key,
        Destination::new([10, 0, 1, 1], 80).with_forward(Forward::Bypass),
    );
    let e = ipvsadm::rule(&bypass, Format::Lossless).unwrap_err();
    assert!(matches!(e, lvskit::Error::InvalidInput { .. }), "{e}");
    assert!(e.to_string().contains("bypass"), "{e}");
    let plan = lvskit::table::Plan {
        operations: vec![bypass.clone()],
    };
    assert!(plan.to_rules().is_err());
    // the dry run says so in a comment, which a shell and ipvsadm -R skip
    assert!(bypass
        .to_string()
        .starts_with("# ipvsadm has no switch for bypass forwarding: "));
    let local = Operation::AddDestination(
        key,
        Destination::new([10, 0, 1, 1], 80).with_forward(Forward::Local),
    );
    assert_eq!(
        ipvsadm::rule(&local, Format::Lossless).unwrap(),
        "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1"
    );
}

#[test]
fn save_and_plan_write_the_same_words() {
    let key = ServiceKey::tcp([10, 0, 0, 1], 80);
    let svc = Service::new(key)
        .with_scheduler(lvskit::Scheduler::from_name("sh").unwrap())
        .with_flags(ServiceFlags::SH_PORT)
        .with_persistence_netmask(60, lvskit::Netmask::V4([255, 255, 255, 0].into()))
        .with_pe(lvskit::Name::new("sip").unwrap());
    let dests = vec![
        Destination::new([10, 0, 1, 1], 80).with_thresholds(100, 10),
        Destination::new([10, 0, 1, 2], 80).with_forward(Forward::Tunnel(lvskit::Tunnel::Gue {
            port: 6080,
            flags: lvskit::EncapFlags::empty(),
        })),
    ];
    let table = Table {
        services: vec![TableService {
            service: svc,
            destinations: dests,
        }],
        timeouts: Some(Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300,
        }),
    };
    let saved = ipvsadm::save(&table, Format::Lossless);
    let plan = diff(&Table::default(), &table, &DiffOptions::default());
    assert_eq!(plan.to_rules().unwrap(), saved);
    assert_eq!(
        saved,
        "-A -t 10.0.0.1:80 -s sh -p 60 -M 255.255.255.0 --pe sip -b sh-port\n\
         -a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1 -x 100 -y 10\n\
         -a -t 10.0.0.1:80 -r 10.0.1.2:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum\n\
         --set 900 120 300\n"
    );
}

#[test]
fn value_errors_name_line_and_column() {
    let ok = "-A -t 10.0.0.1:80 -s rr\n# a comment\n";
    let cases: &[(&str, usize, &str)] = &[
        (
            "-a -t 10.0.0.1:80 -r 10.0.0.2 -x 5 -y 10",
            39,
            "lower threshold",
        ),
        ("-e -t 10.0.0.1:80 -r 10.0.0.2 -y 10", 34, "l_threshold"),
        (
            "-A -t 10.0.0.1:81 -p 60 -M 255.0.255.0",
            28,
            "not contiguous",
        ),
        ("-a -t 10.0.0.1:80 -r 10.0.0.2 -w 3000000000", 34, "weight"),
        (
            "-a -t 10.0.0.1:80 -r 10.0.0.2 -x 3000000000",
            34,
            "u_threshold",
        ),
        ("-a -t 10.0.0.1:80 -r 224.0.0.9", 22, "unicast"),
        ("--set 10 2500000 0", 10, "tcpfin timeout"),
        (
            "--start-daemon master --mcast-group 10.0.0.1",
            37,
            "multicast",
        ),
        (
            "--start-daemon master --mcast-interface abcdefghijklmnopq",
            41,
            "mcast-interface",
        ),
    ];
    let mut bad = Vec::new();
    for (line, col, msg) in cases {
        let text = format!("{ok}{line}\n");
        let e = ipvsadm::parse(&text).unwrap_err();
        if (e.line, e.column) != (3, *col) || !e.message.contains(msg) {
            bad.push(format!("{line:?}: got {e}, want 3:{col} {msg:?}"));
        }
        assert!(e
            .to_string()
            .starts_with(&format!("line {}, column {}: ", e.line, e.column)));
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn restore_lines_keep_their_numbers() {
    let text =
        "\n# header\n-A -t 10.0.0.1:80 -s rr\n\nipvsadm -a -t 10.0.0.1:80 -r 10.0.1.1 -m\n-C\n";
    let lines: Vec<usize> = ipvsadm::parse_lines(text)
        .unwrap()
        .iter()
        .map(|r| r.line)
        .collect();
    assert_eq!(lines, [3, 5, 6]);
    // a rule that does not apply to a table names its own line
    let e = ipvsadm::parse_table("# x\n\n-a -t 10.0.0.1:80 -r 10.0.1.1\n").unwrap_err();
    assert_eq!((e.line, e.column), (3, 1), "{e}");
}
