//! Typed IPVS sysctls: each knob written through the library and read back
//! through /proc in the test's namespace (the referee), and the reverse.

use lvskit::sysctl::{self, Kind, Knob, Settings, Value};
use lvskit::{Error, Namespace};

use crate::support::TestNs;

/// A valid value for `knob` that differs from `current`.
fn another(knob: Knob, current: &Value) -> Value {
    match (knob.kind(), current) {
        (Kind::Bool, Value::Bool(b)) => Value::Bool(!b),
        (Kind::Int { min, max }, Value::Int(n)) => {
            Value::Int(if *n == min { (min + 1).min(max) } else { min })
        }
        (Kind::Seconds, Value::Int(n)) => Value::Int(if *n == 7 { 8 } else { 7 }),
        (Kind::PowerOfTwo, Value::Int(n)) => Value::Int(if *n == 4 { 8 } else { 4 }),
        (Kind::Threshold, _) => Value::Pair([5, 60]),
        (Kind::CpuList, _) => Value::Text("0".into()),
        (k, v) => panic!("{knob}: kind {k:?} read as {v:?}"),
    }
}

fn proc_text(ns: &TestNs, knob: Knob) -> String {
    let path = format!("/proc/sys/net/ipv4/vs/{}", knob.name());
    ns.exec("cat", &[&path])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn every_knob_is_written_and_read_back_through_proc() {
    let t = TestNs::new();
    let _ipvs = t.ipvs(); // loads ip_vs, so the knobs exist
    let ns = Namespace::Named(t.name().to_owned());
    let all = sysctl::read_all(&ns).unwrap();
    assert!(all.len() >= 28, "only {} knobs: {all:?}", all.len());
    for (&knob, before) in &all {
        // what the library reads is what /proc shows
        assert_eq!(
            before.to_string(),
            proc_text(&t, knob).replace('\t', " "),
            "{knob}"
        );
        let wanted = another(knob, before);
        sysctl::write(&ns, knob, &wanted).unwrap();
        assert_eq!(proc_text(&t, knob), wanted.to_string(), "{knob} written");
        assert_eq!(sysctl::read(&ns, knob).unwrap(), wanted, "{knob} read back");
    }
}

#[test]
fn values_the_referee_writes_are_read_as_the_kernel_holds_them() {
    let t = TestNs::new();
    let _ipvs = t.ipvs();
    let ns = Namespace::Named(t.name().to_owned());
    t.exec(
        "sh",
        &["-c", "echo 2 > /proc/sys/net/ipv4/vs/conn_reuse_mode"],
    );
    t.exec(
        "sh",
        &["-c", "echo 1 > /proc/sys/net/ipv4/vs/expire_nodest_conn"],
    );
    t.exec(
        "sh",
        &["-c", "echo '7 90' > /proc/sys/net/ipv4/vs/sync_threshold"],
    );
    // a value the library would refuse to write (the kernel takes it) still reads
    t.exec("sh", &["-c", "echo 9 > /proc/sys/net/ipv4/vs/am_droprate"]);
    t.exec(
        "sh",
        &["-c", "echo -1 > /proc/sys/net/ipv4/vs/sync_sock_size"],
    );
    assert_eq!(
        sysctl::read(&ns, Knob::ConnReuseMode).unwrap(),
        Value::Int(2)
    );
    assert_eq!(
        sysctl::read(&ns, Knob::ExpireNodestConn).unwrap(),
        Value::Bool(true)
    );
    assert_eq!(
        sysctl::read(&ns, Knob::SyncThreshold).unwrap(),
        Value::Pair([7, 90])
    );
    assert_eq!(sysctl::read(&ns, Knob::AmDroprate).unwrap(), Value::Int(9));
    assert_eq!(
        sysctl::read(&ns, Knob::SyncSockSize).unwrap(),
        Value::Int(-1)
    );
}

#[test]
fn out_of_range_values_are_refused_before_anything_is_written() {
    let t = TestNs::new();
    let _ipvs = t.ipvs();
    let ns = Namespace::Named(t.name().to_owned());
    let before = proc_text(&t, Knob::ConnReuseMode);
    let bad = [
        (Knob::ConnReuseMode, Value::Int(4)),
        (Knob::ConnReuseMode, Value::Int(-1)),
        (Knob::ExpireNodestConn, Value::Int(1)),
        (Knob::SyncPorts, Value::Int(3)),
        (Knob::SyncThreshold, Value::Pair([60, 50])),
        (Knob::SyncRetries, Value::Int(4)),
        (Knob::LblcExpiration, Value::Int(i64::from(i32::MAX))),
        (Knob::DropEntry, Value::Int(7)),
    ];
    for (knob, value) in &bad {
        let e = sysctl::write(&ns, *knob, value).unwrap_err();
        assert!(
            matches!(e, Error::InvalidInput { .. }),
            "{knob} {value}: {e}"
        );
    }
    // apply checks every value before writing any
    let mut s = Settings::new();
    s.insert(Knob::ConnReuseMode, Value::Int(0));
    s.insert(Knob::SyncRetries, Value::Int(9));
    assert!(matches!(
        sysctl::apply(&ns, &s),
        Err(Error::InvalidInput { .. })
    ));
    assert_eq!(proc_text(&t, Knob::ConnReuseMode), before);
}

#[test]
fn apply_writes_only_what_differs_and_reports_it() {
    let t = TestNs::new();
    let _ipvs = t.ipvs();
    let ns = Namespace::Named(t.name().to_owned());
    let mut s = Settings::new();
    s.insert(Knob::ExpireNodestConn, Value::Bool(true));
    s.insert(Knob::ConnReuseMode, Value::Int(0));
    s.insert(Knob::SnatReroute, Value::Bool(true)); // already on
    let changes = sysctl::apply(&ns, &s).unwrap();
    let changed: Vec<Knob> = changes.iter().map(|c| c.knob).collect();
    assert_eq!(changed, vec![Knob::ConnReuseMode, Knob::ExpireNodestConn]);
    assert_eq!(proc_text(&t, Knob::ExpireNodestConn), "1");
    assert_eq!(proc_text(&t, Knob::ConnReuseMode), "0");
    assert!(
        sysctl::apply(&ns, &s).unwrap().is_empty(),
        "a second apply changes nothing"
    );
}

#[test]
fn a_knob_the_kernel_lacks_is_not_found() {
    let t = TestNs::new();
    let _ipvs = t.ipvs();
    let ns = Namespace::Named(t.name().to_owned());
    // the referee looks inside the test's namespace, not the initial one
    let probe = t.exec_output("test", &["-e", "/proc/sys/net/ipv4/vs/est_nice"]);
    let has = probe.status.success();
    match sysctl::read(&ns, Knob::EstNice) {
        Ok(v) => assert!(has && matches!(v, Value::Int(_)), "{v:?}"),
        Err(e) => assert!(!has && matches!(e, Error::NotFound { .. }), "{e}"),
    }
}
