//! Rules text against the kernel with ipvsadm as the referee: a plan's
//! `-R` form and `save` output fed to `ipvsadm -R` give the desired table
//! (`ipvsadm -Sn`, with `-Ln --exact --thresholds` for what -Sn drops),
//! daemons with all their options, and `Ipvs::restore` with one outcome per
//! rule line.

use std::io::Write;
use std::process::{Command, Stdio};

use lvskit::ipvsadm::{self, Format};
use lvskit::table::{DiffOptions, Plan, Table};
use lvskit::{
    BatchMode, Destination, Error, OpOutcome, Operation, SyncDaemon, SyncState, Timeouts,
};
use proptest::prelude::*;

use crate::strategies;
use crate::support::TestNs;

/// `ipvsadm -R` in `ns` with `text` on stdin; panics unless it succeeds quietly.
fn ipvsadm_restore(ns: &TestNs, text: &str) {
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns.name(), "ipvsadm", "-R"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "ipvsadm -R failed ({}): {}\ninput:\n{text}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sorted_lines(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text.lines().map(str::to_owned).collect();
    v.sort();
    v
}

/// Every real server's (address, upper, lower) thresholds as `ipvsadm -Ln
/// --exact --thresholds` lists them, sorted.
fn listed_thresholds(ns: &TestNs) -> Vec<(String, u32, u32)> {
    let text = ns.ipvsadm(&["-Ln", "--exact", "--thresholds"]);
    let mut v: Vec<(String, u32, u32)> = text
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            match w.as_slice() {
                ["->", addr, u, l, ..] => {
                    Some((addr.to_string(), u.parse().ok()?, l.parse().ok()?))
                }
                _ => None,
            }
        })
        .collect();
    v.sort();
    v
}

/// The thresholds a table's real servers should list with.
fn wanted_thresholds(t: &Table) -> Vec<(String, u32, u32)> {
    let mut v: Vec<(String, u32, u32)> = t
        .services
        .iter()
        .flat_map(|s| &s.destinations)
        .map(|d: &Destination| {
            let addr = match d.addr {
                std::net::IpAddr::V4(a) => format!("{a}:{}", d.port),
                std::net::IpAddr::V6(a) => format!("[{}]:{}", ipvsadm::ipv6_to_string(&a), d.port),
            };
            (addr, d.upper_threshold, d.lower_threshold)
        })
        .collect();
    v.sort();
    v
}

/// `ipvsadm` lists what `want` holds: -Sn line for line (in any order, as
/// the kernel's hash order decides), thresholds, and timeouts if wanted.
fn assert_ipvsadm_lists(ns: &TestNs, want: &Table) -> Result<(), TestCaseError> {
    let listed = sorted_lines(&ns.ipvsadm(&["-Sn"]));
    prop_assert_eq!(listed, sorted_lines(&ipvsadm::save(want, Format::Ipvsadm)));
    prop_assert_eq!(listed_thresholds(ns), wanted_thresholds(want));
    if let Some(t) = want.timeouts {
        let shown = ns.ipvsadm(&["-Ln", "--timeout"]);
        let line = format!(
            "Timeout (tcp tcpfin udp): {} {} {}",
            t.tcp, t.tcp_fin, t.udp
        );
        prop_assert!(shown.contains(&line), "{}", shown);
    }
    Ok(())
}

fn timeouts() -> impl Strategy<Value = Option<Timeouts>> {
    prop::option::of(
        (1u32..=100_000, 1u32..=100_000, 1u32..=100_000).prop_map(|(tcp, tcp_fin, udp)| Timeouts {
            tcp,
            tcp_fin,
            udp,
        }),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// A plan read from a kernel, in its `-R` form, is what ipvsadm needs to
    /// turn that kernel's table into the desired one.
    #[test]
    fn a_plans_rules_text_fed_to_ipvsadm_gives_the_desired_table(
        current in strategies::expressible_table(4, 3),
        desired in strategies::expressible_table(4, 3),
        t in timeouts(),
    ) {
        let ns = TestNs::new();
        ns.routable();
        let ipvs = ns.ipvs();
        let load = ipvs.apply_plan(&lvskit::table::diff(&Table::default(), &current, &DiffOptions::default()));
        prop_assert!(load.is_ok(), "{:?}", load.failures().collect::<Vec<_>>());
        let mut desired = desired;
        desired.timeouts = t;
        let plan = ipvs.plan(&desired, &DiffOptions::default()).unwrap();
        let text = plan.to_rules().unwrap();
        // the dry run is the same text, each line after `ipvsadm `
        let dry: String = text.lines().map(|l| format!("ipvsadm {l}\n")).collect();
        prop_assert_eq!(plan.to_string(), dry);
        ipvsadm_restore(&ns, &text);
        assert_ipvsadm_lists(&ns, &desired)?;
    }

    /// `save` output restores the same table with `ipvsadm -R`.
    #[test]
    fn saved_text_fed_to_ipvsadm_gives_the_table(
        table in strategies::expressible_table(5, 4),
        t in timeouts(),
    ) {
        let ns = TestNs::new();
        ns.routable();
        let mut table = table;
        table.timeouts = t;
        ipvsadm_restore(&ns, &ipvsadm::save(&table, Format::Lossless));
        assert_ipvsadm_lists(&ns, &table)?;
    }
}

#[test]
fn daemons_in_rules_text_start_with_all_their_options() {
    let ns = TestNs::new();
    ns.dummy("sync0", &["192.168.77.1/24"]);
    let mut master = SyncDaemon::new(SyncState::Master, "sync0", 7);
    master.max_len = Some(1200);
    master.group = Some("239.1.2.3".parse().unwrap());
    master.port = Some(9000);
    master.ttl = Some(4);
    let mut backup = SyncDaemon::new(SyncState::Backup, "sync0", 8);
    backup.max_len = Some(1100);
    backup.group = Some("239.1.2.4".parse().unwrap());
    backup.port = Some(9001);
    backup.ttl = Some(2);
    let plan = Plan {
        operations: vec![
            Operation::StartDaemon(master.clone()),
            Operation::StartDaemon(backup.clone()),
        ],
    };
    ipvsadm_restore(&ns, &plan.to_rules().unwrap());
    let listing = ns.ipvsadm(&["-L", "--daemon"]);
    for want in [
        "master sync daemon (mcast=sync0, syncid=7, maxlen=1200, group=239.1.2.3, port=9000, ttl=4)",
        "backup sync daemon (mcast=sync0, syncid=8, maxlen=1100, group=239.1.2.4, port=9001, ttl=2)",
    ] {
        assert!(listing.contains(want), "{listing}");
    }
    let mut got = ns.ipvs().daemons().unwrap();
    got.sort_by_key(|d| d.state);
    assert_eq!(got, vec![master, backup]);
    // and they stop the same way
    let stop = Plan {
        operations: vec![
            Operation::StopDaemon(SyncState::Master),
            Operation::StopDaemon(SyncState::Backup),
        ],
    };
    ipvsadm_restore(&ns, &stop.to_rules().unwrap());
    assert!(!ns.ipvsadm(&["-L", "--daemon"]).contains("sync daemon"));
}

/// Four rules around a failing one (line 5 adds a server to a service that
/// does not exist), with comments and blank lines in between.
const WITH_A_FAILING_LINE: &str = "\
# restored by the library
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 2

-a -t 10.0.0.9:80 -r 10.1.0.2:80 -m
ipvsadm -A -u 10.0.0.1:53 -s wlc
-a -u 10.0.0.1:53 -r 10.1.0.3:53 -m -x 100 -y 10
";

#[test]
fn restore_stop_on_error_attributes_the_failure_to_its_line_and_sends_nothing_after() {
    let ns = TestNs::new();
    ns.routable();
    let ipvs = ns.ipvs();
    let r = ipvs
        .restore(WITH_A_FAILING_LINE, BatchMode::StopOnError)
        .unwrap();
    assert_eq!(r.lines, [2, 3, 5, 6, 7]);
    let outcomes: Vec<(usize, &OpOutcome)> = r.outcomes().collect();
    assert!(outcomes[0].1.is_done() && outcomes[1].1.is_done());
    assert_eq!(outcomes[2].0, 5);
    assert!(
        matches!(outcomes[2].1, OpOutcome::Failed(Error::NotFound { errno, .. }) if *errno == libc::ESRCH),
        "{:?}",
        outcomes[2]
    );
    assert!(matches!(
        r.outcome_of_line(6),
        Some(OpOutcome::NotAttempted)
    ));
    assert!(matches!(
        r.outcome_of_line(7),
        Some(OpOutcome::NotAttempted)
    ));
    assert_eq!(r.failures().map(|f| f.0).collect::<Vec<_>>(), [5, 6, 7]);
    // the referee: only the lines before the failure are in the kernel
    assert_eq!(
        sorted_lines(&ns.ipvsadm(&["-Sn"])),
        sorted_lines("-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 2\n")
    );
}

#[test]
fn restore_continue_attributes_the_failure_to_its_line_and_does_the_rest() {
    let ns = TestNs::new();
    ns.routable();
    let ipvs = ns.ipvs();
    let r = ipvs
        .restore(WITH_A_FAILING_LINE, BatchMode::Continue)
        .unwrap();
    let failed: Vec<usize> = r.failures().map(|f| f.0).collect();
    assert_eq!(failed, [5]);
    assert!(matches!(
        r.outcome_of_line(5),
        Some(OpOutcome::Failed(Error::NotFound { .. }))
    ));
    assert!(r.outcome_of_line(7).is_some_and(OpOutcome::is_done));
    assert_eq!(
        sorted_lines(&ns.ipvsadm(&["-Sn"])),
        sorted_lines(
            "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 2\n\
             -A -u 10.0.0.1:53 -s wlc\n-a -u 10.0.0.1:53 -r 10.1.0.3:53 -m -w 1\n"
        )
    );
    // thresholds, which -Sn drops, arrived too
    assert!(ns
        .ipvsadm(&["-Ln", "--exact", "--thresholds"])
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>()[..]
            == ["->", "10.1.0.3:53", "100", "10", "0", "0"]));
}

#[test]
fn restore_with_a_bad_line_sends_nothing() {
    let ns = TestNs::new();
    ns.routable();
    let ipvs = ns.ipvs();
    // line 3 holds a lower threshold above the upper one
    let text = "-A -t 10.0.0.1:80 -s rr\n\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -x 5 -y 10\n";
    let e = ipvs.restore(text, BatchMode::Continue).unwrap_err();
    assert_eq!((e.line, e.column), (3, 45), "{e}");
    let e = ipvs
        .restore(
            "-A -t 10.0.0.1:80\n-A -t 10.0.0.2:http\n",
            BatchMode::Continue,
        )
        .unwrap_err();
    assert_eq!((e.line, e.column), (2, 7), "{e}");
    assert!(ns.ipvsadm(&["-Sn"]).is_empty());
}

#[test]
fn restore_replays_ipvsadm_sn_into_the_same_table() {
    let original = TestNs::new();
    original.routable();
    for cmd in [
        "-A -t 10.0.0.1:80 -s wrr -p 300 -M 255.255.255.0",
        "-a -t 10.0.0.1:80 -r 10.1.0.1:80 -g -w 3",
        "-A -f 7 -6 -s sh -b sh-port",
        "-a -f 7 -6 -r [2001:db8::5]:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum",
        "-A -u [2001:db8::1]:53 -s mh -o -b mh-fallback",
        "-a -u [2001:db8::1]:53 -r [2001:db8::9]:53 -i -w 0 --tun-type gre",
    ] {
        let args: Vec<&str> = cmd.split(' ').collect();
        original.ipvsadm(&args);
    }
    let text = original.ipvsadm(&["-Sn"]);
    let fresh = TestNs::new();
    fresh.routable();
    let r = fresh.ipvs().restore(&text, BatchMode::StopOnError).unwrap();
    assert!(r.is_ok(), "{:?}", r.failures().collect::<Vec<_>>());
    assert_eq!(r.lines.len(), 6);
    assert_eq!(sorted_lines(&fresh.ipvsadm(&["-Sn"])), sorted_lines(&text));
}
