//! The director with real traffic, inside the VM: a client, a director and
//! real servers (LVS/DR) in namespaces on one bridge. Health checks run from
//! the director's namespace; `ipvsadm` in that namespace is the referee.
//! Every wait is bounded in count and time; no test asserts a time, only
//! bounds in numbers of checks.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
use std::time::Duration;

use lvskit::director::{
    Check, DesiredState, DestinationId, DirectedService, Director, DirectorOptions, DrainEnd,
    Event, HealthState, OnFailure,
};
use lvskit::{Destination, Namespace, Operation, Scheduler, Service, ServiceKey};

use crate::support::TestNs;
use crate::tunnel::Child;

const VIP: [u8; 4] = [10, 20, 0, 100];
const PORT: u16 = 8080;

/// A real server: one line in, its name and the line back, for each line;
/// `GET` requests get an HTTP/1.0 answer with the given status and the name.
const SERVER: &str = r#"
import socket, sys, threading
name, status = sys.argv[1], int(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080))
s.listen(64)
print("ready", flush=True)
def serve(c):
    try:
        f = c.makefile("rb")
        line = f.readline()
        if line.startswith(b"GET"):
            while f.readline() not in (b"\r\n", b"\n", b""):
                pass
            c.sendall(b"HTTP/1.0 %d X\r\nContent-Type: text/plain\r\n\r\n%s\n" % (status, name.encode()))
            return
        while line:
            c.sendall(name.encode() + b" " + line)
            line = f.readline()
    except OSError:
        pass
    finally:
        c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"#;

/// One connection to the VIP: prints the name of the server that answered.
const CLIENT: &str = r#"
import socket
try:
    s = socket.create_connection(("10.20.0.100", 8080), timeout=5)
    s.sendall(b"hello\n")
    print(s.makefile("rb").readline().decode().split(" ")[0])
    s.close()
except OSError as e:
    print("failed: %s" % e)
"#;

/// A long-lived connection: each stdin line is sent, each reply printed.
const LONG_CLIENT: &str = r#"
import socket, sys
s = socket.create_connection(("10.20.0.100", 8080), timeout=10)
f = s.makefile("rb")
for line in sys.stdin:
    s.sendall(line.encode())
    print(f.readline().decode().strip(), flush=True)
s.close()
"#;

/// Client, director (VIP on eth0) and real servers on one bridge; each real
/// server with the VIP on `lo` for direct routing.
pub(crate) struct Lab {
    _lan: TestNs,
    client: TestNs,
    director: TestNs,
    reals: Vec<TestNs>,
}

fn real_addr(i: usize) -> [u8; 4] {
    [10, 20, 0, 11 + i as u8]
}

impl Lab {
    pub(crate) fn new(n: usize) -> Lab {
        let lan = TestNs::new();
        lan.ip(&["link", "add", "br0", "type", "bridge"]);
        lan.ip(&["link", "set", "br0", "up"]);
        let client = TestNs::new();
        let director = TestNs::new();
        let reals: Vec<TestNs> = (0..n).map(|_| TestNs::new()).collect();
        let mut all = vec![
            (&client, "10.20.0.2/24".to_string()),
            (&director, "10.20.0.1/24".into()),
        ];
        for (i, r) in reals.iter().enumerate() {
            let a = real_addr(i);
            all.push((r, format!("{}.{}.{}.{}/24", a[0], a[1], a[2], a[3])));
        }
        for (i, (ns, addr)) in all.iter().enumerate() {
            let port = format!("p{i}");
            lan.ip(&[
                "link",
                "add",
                &port,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                ns.name(),
            ]);
            lan.ip(&["link", "set", &port, "master", "br0", "up"]);
            ns.ip(&["addr", "add", addr, "dev", "eth0"]);
            ns.ip(&["link", "set", "eth0", "up"]);
        }
        director.ip(&["addr", "add", "10.20.0.100/32", "dev", "eth0"]);
        for r in &reals {
            r.ip(&["addr", "add", "10.20.0.100/32", "dev", "lo"]);
            for k in ["all", "eth0"] {
                r.exec(
                    "sysctl",
                    &["-qw", &format!("net.ipv4.conf.{k}.arp_ignore=1")],
                );
                r.exec(
                    "sysctl",
                    &["-qw", &format!("net.ipv4.conf.{k}.arp_announce=2")],
                );
            }
        }
        // a closed connection leaves the table 2 s after its FIN (not 120 s),
        // so that drains end by being idle
        director.ipvsadm(&["--set", "900", "2", "300"]);
        Lab {
            _lan: lan,
            client,
            director,
            reals,
        }
    }

    pub(crate) fn serve(&self, i: usize, status: u16) -> Child {
        let mut child = Command::new("ip")
            .args([
                "netns",
                "exec",
                self.reals[i].name(),
                "python3",
                "-c",
                SERVER,
            ])
            .arg(format!("rs{}", i + 1))
            .arg(status.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        Child(child)
    }

    /// The name of the server one new connection reaches.
    pub(crate) fn connect(&self) -> String {
        self.client
            .exec("python3", &["-c", CLIENT])
            .trim()
            .to_owned()
    }

    pub(crate) fn ns(&self) -> Namespace {
        Namespace::Named(self.director.name().to_owned())
    }

    pub(crate) fn dest(&self, i: usize) -> Destination {
        Destination::new(real_addr(i), PORT)
    }

    pub(crate) fn id(&self, i: usize) -> DestinationId {
        DestinationId {
            service: key(),
            addr: real_addr(i).into(),
            port: PORT,
        }
    }

    /// `ipvsadm -Ln` weight of real server `i`; `None` when not listed.
    pub(crate) fn weight(&self, i: usize) -> Option<u32> {
        let a = real_addr(i);
        let needle = format!("-> {}.{}.{}.{}:{PORT}", a[0], a[1], a[2], a[3]);
        let listing = self.director.ipvsadm(&["-Ln"]);
        let line = listing.lines().find(|l| l.contains(&needle))?;
        line.split_whitespace().nth(3)?.parse().ok()
    }

    pub(crate) fn diag(&self) -> String {
        format!(
            "{}{}",
            self.director.ipvsadm(&["-Ln", "--stats"]),
            self.director.ipvsadm(&["-Lnc"])
        )
    }
}

pub(crate) fn key() -> ServiceKey {
    ServiceKey::tcp(VIP, PORT)
}

/// Checks every second with a generous timeout (the emulated VM is slow,
/// and shared), falling after 3 failures and rising after 2 successes.
pub(crate) fn check(lab: &Lab) -> Check {
    Check::tcp()
        .with_interval(Duration::from_millis(1000))
        .with_timeout(Duration::from_millis(900))
        .with_rise_fall(RISE, FALL)
        .with_namespace(lab.ns())
}

pub(crate) const RISE: u32 = 2;
pub(crate) const FALL: u32 = 3;

/// Whether `e` plans setting real server `i` to `weight`.
pub(crate) fn plans_weight(lab: &Lab, e: &Event, i: usize, weight: u32) -> bool {
    let Event::Planned { operations } = e else {
        return false;
    };
    let want = lab.dest(i).with_weight(weight);
    operations
        .iter()
        .any(|op| matches!(op, Operation::UpdateDestination(_, d) if *d == want))
}

pub(crate) fn opts(lab: &Lab) -> (DirectorOptions, Receiver<Event>) {
    let (tx, rx) = channel();
    let tx = std::sync::Mutex::new(tx);
    let o = DirectorOptions {
        namespace: lab.ns(),
        period: Duration::from_millis(300),
        drain_deadline: Duration::from_secs(120),
        on_event: Some(Arc::new(move |e: &Event| {
            let _ = tx.lock().unwrap().send(e.clone());
        })),
        ..DirectorOptions::default()
    };
    (o, rx)
}

pub(crate) fn service(lab: &Lab, n: usize) -> DirectedService {
    DirectedService::new(
        Service::new(key()).with_scheduler(Scheduler::RoundRobin),
        (0..n).map(|i| lab.dest(i)).collect(),
    )
}

/// Polls `f` every 100 ms, at most 400 times (40 s); panics with `what` and
/// `diag()` when it never holds.
pub(crate) fn wait_for(what: &str, diag: impl Fn() -> String, mut f: impl FnMut() -> bool) {
    for _ in 0..400 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what}: never happened\n{}", diag());
}

fn checks_of(d: &Director, id: &DestinationId) -> u64 {
    d.health().get(id).map_or(0, |h| h.checks)
}

/// Waits for an event matching `f` among those received, 60 s at most.
pub(crate) fn wait_event(rx: &Receiver<Event>, what: &str, f: impl Fn(&Event) -> bool) -> Event {
    for _ in 0..600 {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(e) if f(&e) => return e,
            _ => {}
        }
    }
    panic!("no event: {what}");
}

#[test]
fn a_failing_real_server_is_drained_takes_no_new_connections_and_is_restored() {
    let lab = Lab::new(2);
    let _rs1 = lab.serve(0, 200);
    let rs2 = lab.serve(1, 200);
    let svc = service(&lab, 2).with_check(check(&lab));
    let (o, rx) = opts(&lab);
    let d = Director::start(
        DesiredState {
            services: vec![svc],
        },
        o,
    )
    .unwrap();
    wait_for(
        "both real servers at weight 1",
        || lab.diag(),
        || lab.weight(0) == Some(1) && lab.weight(1) == Some(1),
    );
    let seen: Vec<String> = (0..4).map(|_| lab.connect()).collect();
    assert!(
        seen.contains(&"rs2".to_string()),
        "{seen:?}\n{}",
        lab.diag()
    );

    let before = checks_of(&d, &lab.id(1));
    drop(rs2);
    wait_event(&rx, "rs2 drained", |e| plans_weight(&lab, e, 1, 0));
    // drained after FALL failing checks, with slack for one in flight
    let ran = checks_of(&d, &lab.id(1)) - before;
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

    // counted from when the server is ready (starting Python is slow in the VM)
    let _rs2 = lab.serve(1, 200);
    let before = checks_of(&d, &lab.id(1));
    wait_event(&rx, "rs2 restored", |e| plans_weight(&lab, e, 1, 1));
    let ran = checks_of(&d, &lab.id(1)) - before;
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
    assert!(
        seen.contains(&"rs2".to_string()),
        "{seen:?}\n{}",
        lab.diag()
    );
    d.stop();
}

#[test]
fn a_failing_real_server_of_a_remove_service_is_deleted_and_added_back() {
    let lab = Lab::new(2);
    let _rs1 = lab.serve(0, 200);
    let rs2 = lab.serve(1, 200);
    let svc = service(&lab, 2)
        .with_check(check(&lab))
        .with_on_failure(OnFailure::Remove);
    let (o, _rx) = opts(&lab);
    let d = Director::start(
        DesiredState {
            services: vec![svc],
        },
        o,
    )
    .unwrap();
    wait_for("both listed", || lab.diag(), || lab.weight(1) == Some(1));
    drop(rs2);
    wait_for("rs2 deleted", || lab.diag(), || lab.weight(1).is_none());
    for _ in 0..4 {
        assert_eq!(lab.connect(), "rs1", "{}", lab.diag());
    }
    let _rs2 = lab.serve(1, 200);
    wait_for("rs2 back", || lab.diag(), || lab.weight(1) == Some(1));
    d.stop();
}

#[test]
fn http_checks_tell_a_server_answering_500_from_one_answering_200() {
    let lab = Lab::new(2);
    let _rs1 = lab.serve(0, 200);
    let _rs2 = lab.serve(1, 500);
    let http = Check::http("/health", 200)
        .with_interval(Duration::from_millis(1000))
        .with_timeout(Duration::from_millis(900))
        .with_rise_fall(RISE, FALL)
        .with_namespace(lab.ns());
    let svc = service(&lab, 2).with_check(http);
    let (o, rx) = opts(&lab);
    let d = Director::start(
        DesiredState {
            services: vec![svc],
        },
        o,
    )
    .unwrap();
    let e = wait_event(&rx, "rs2 down", |e| {
        matches!(
            e,
            Event::Health {
                state: HealthState::Down,
                ..
            }
        )
    });
    let Event::Health { id, reason, .. } = e else {
        unreachable!()
    };
    assert_eq!(id, lab.id(1));
    assert_eq!(reason.as_deref(), Some("HTTP status 500 (expected 200)"));
    wait_for(
        "rs2 at weight 0",
        || lab.diag(),
        || lab.weight(1) == Some(0),
    );
    // rs1 has passed as many checks and stayed up
    wait_for(
        "rs1 checked",
        || lab.diag(),
        || checks_of(&d, &lab.id(0)) >= 4,
    );
    assert_eq!(d.health()[&lab.id(0)].state, HealthState::Up);
    assert_eq!(lab.weight(0), Some(1));
    for _ in 0..4 {
        assert_eq!(lab.connect(), "rs1", "{}", lab.diag());
    }
    d.stop();
}

#[test]
fn below_quorum_the_sorry_server_takes_new_connections_and_leaves_when_one_recovers() {
    let lab = Lab::new(3);
    let rs1 = lab.serve(0, 200);
    let rs2 = lab.serve(1, 200);
    let _sorry = lab.serve(2, 200);
    let svc = service(&lab, 2)
        .with_check(check(&lab))
        .with_on_failure(OnFailure::Remove)
        .with_quorum(1, Some(lab.dest(2)));
    let (o, rx) = opts(&lab);
    let d = Director::start(
        DesiredState {
            services: vec![svc],
        },
        o,
    )
    .unwrap();
    wait_for(
        "real servers up",
        || lab.diag(),
        || lab.weight(1) == Some(1),
    );
    assert_eq!(lab.weight(2), None, "no sorry server while in quorum");
    drop(rs1);
    drop(rs2);
    wait_for(
        "sorry server in",
        || lab.diag(),
        || lab.weight(2) == Some(1),
    );
    for _ in 0..4 {
        assert_eq!(lab.connect(), "rs3", "{}", lab.diag());
    }
    let _rs1 = lab.serve(0, 200);
    wait_for("rs1 back", || lab.diag(), || lab.weight(0) == Some(1));
    // the sorry server leaves: drained (no new connections), then deleted
    // once its closed connections have left the table
    assert!(lab.weight(2).is_none_or(|w| w == 0), "{}", lab.diag());
    for _ in 0..4 {
        assert_eq!(lab.connect(), "rs1", "{}", lab.diag());
    }
    let sorry = lab.id(2);
    wait_event(
        &rx,
        "sorry server drained",
        |e| matches!(e, Event::DrainFinished(id, DrainEnd::Idle) if *id == sorry),
    );
    wait_for(
        "sorry server gone",
        || lab.diag(),
        || lab.weight(2).is_none(),
    );
    d.stop();
}

/// A long-lived connection to the real server that leaves the desired state.
struct LongClient {
    child: Child,
    out: Receiver<String>,
}

impl LongClient {
    fn open(lab: &Lab) -> LongClient {
        let mut child = Command::new("ip")
            .args([
                "netns",
                "exec",
                lab.client.name(),
                "python3",
                "-c",
                LONG_CLIENT,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, out) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        LongClient {
            child: Child(child),
            out,
        }
    }

    /// Sends `line`; the reply, or why there is none (30 s at most).
    fn ask(&mut self, line: &str) -> String {
        let stdin = self.child.0.stdin.as_mut().unwrap();
        if writeln!(stdin, "{line}")
            .and_then(|_| stdin.flush())
            .is_err()
        {
            return "client gone".into();
        }
        self.out
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| "no reply".into())
    }

    fn close(mut self) {
        drop(self.child.0.stdin.take());
        let _ = self.child.0.wait();
    }
}

#[test]
fn a_removed_server_keeps_its_connection_until_it_closes_across_a_restart() {
    let lab = Lab::new(2);
    let _rs1 = lab.serve(0, 200);
    let _rs2 = lab.serve(1, 200);
    let (o, _rx) = opts(&lab);
    let both = DesiredState {
        services: vec![service(&lab, 2).with_check(check(&lab))],
    };
    let d = Director::start(both, o).unwrap();
    wait_for(
        "both in",
        || lab.diag(),
        || lab.weight(0) == Some(1) && lab.weight(1) == Some(1),
    );
    let mut long = LongClient::open(&lab);
    let first = long.ask("one");
    let leaving = match first.as_str() {
        "rs1 one" => 0,
        "rs2 one" => 1,
        other => panic!("{other}\n{}", lab.diag()),
    };
    let name = format!("rs{}", leaving + 1);
    let staying = 1 - leaving;
    let rest = DirectedService::new(
        Service::new(key()).with_scheduler(Scheduler::RoundRobin),
        vec![lab.dest(staying)],
    )
    .with_check(check(&lab));
    let rest = DesiredState {
        services: vec![rest],
    };
    d.set_desired(rest.clone()).unwrap();
    wait_for("drained", || lab.diag(), || lab.weight(leaving) == Some(0));
    assert_eq!(long.ask("two"), format!("{name} two"), "{}", lab.diag());
    for _ in 0..4 {
        assert_eq!(
            lab.connect(),
            format!("rs{}", staying + 1),
            "{}",
            lab.diag()
        );
    }

    // a restart: a new director with the same desired state resumes the drain
    d.stop();
    let (o, rx) = opts(&lab);
    let d = Director::start(rest, o).unwrap();
    let id = lab.id(leaving);
    wait_event(
        &rx,
        "drain resumed",
        |e| matches!(e, Event::DrainStarted(x) if *x == id),
    );
    // some periods later it is still draining: neither deleted nor restored
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        lab.weight(leaving),
        Some(0),
        "neither deleted nor restored\n{}",
        lab.diag()
    );
    assert_eq!(long.ask("three"), format!("{name} three"), "{}", lab.diag());
    assert_eq!(
        lab.connect(),
        format!("rs{}", staying + 1),
        "{}",
        lab.diag()
    );

    long.close();
    wait_event(
        &rx,
        "drain finished",
        |e| matches!(e, Event::DrainFinished(x, DrainEnd::Idle) if *x == id),
    );
    wait_for("deleted", || lab.diag(), || lab.weight(leaving).is_none());
    d.stop();
}

/// `ipvsadm -Ln --stats --exact` as (service or destination line's address, 5 counters).
fn ipvsadm_counters(lab: &Lab) -> Vec<(String, [u64; 5])> {
    let text = lab.director.ipvsadm(&["-Ln", "--stats", "--exact"]);
    text.lines()
        .filter(|l| l.starts_with("TCP") || l.trim_start().starts_with("->"))
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            // "TCP addr n n n n n" and "-> addr n n n n n" alike
            let (addr, nums) = (w[1], &w[2..]);
            let n: Vec<u64> = nums.iter().filter_map(|x| x.parse().ok()).collect();
            (n.len() == 5).then(|| (addr.to_owned(), [n[0], n[1], n[2], n[3], n[4]]))
        })
        .collect()
}

pub(crate) fn metric(text: &str, name: &str, addr: &str) -> u64 {
    let label = if name.starts_with("lvskit_service") {
        format!("{{service=\"TCP {addr}\"}}")
    } else {
        format!("{{service=\"TCP 10.20.0.100:8080\",destination=\"{addr}\"}}")
    };
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{name}{label} ")))
        .unwrap_or_else(|| panic!("no {name}{label} in\n{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn the_prometheus_text_parses_and_its_counters_equal_ipvsadm_stats() {
    let lab = Lab::new(2);
    let _rs1 = lab.serve(0, 200);
    let _rs2 = lab.serve(1, 200);
    let (o, _rx) = opts(&lab);
    let d = Director::start(
        DesiredState {
            services: vec![service(&lab, 2).with_check(check(&lab))],
        },
        o,
    )
    .unwrap();
    wait_for("both in", || lab.diag(), || lab.weight(1) == Some(1));
    for _ in 0..5 {
        assert!(!lab.connect().starts_with("failed"), "{}", lab.diag());
    }
    // the kernel folds its per-CPU counters in every two seconds: wait until
    // the five connections are counted, then for a moment the counters stand
    // still around the metrics read
    let mut pair = None;
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(300));
        let a = ipvsadm_counters(&lab);
        if a.first().map(|(_, v)| v[0]).unwrap_or(0) < 5 {
            continue;
        }
        let text = d.metrics_text().unwrap();
        if ipvsadm_counters(&lab) == a {
            pair = Some((a, text));
            break;
        }
    }
    let (counters, text) = pair.expect("the counters never stood still");
    assert_eq!(counters.len(), 3, "{counters:?}");
    let names = [
        "connections_total",
        "in_packets_total",
        "out_packets_total",
        "in_bytes_total",
        "out_bytes_total",
    ];
    for (i, (addr, values)) in counters.iter().enumerate() {
        let scope = if i == 0 {
            "lvskit_service_"
        } else {
            "lvskit_destination_"
        };
        for (n, v) in names.iter().zip(values) {
            assert_eq!(
                metric(&text, &format!("{scope}{n}"), addr),
                *v,
                "{scope}{n} of {addr}\n{text}"
            );
        }
    }
    assert!(counters[0].1[0] >= 5, "{counters:?}");
    assert_eq!(metric(&text, "lvskit_destination_up", &counters[1].0), 1);

    let parser = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
n = 0
for f in text_string_to_metric_families(sys.stdin.read()):
    for s in f.samples:
        n += 1
print(n)
"#;
    let mut py = Command::new("python3")
        .args(["-c", parser])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    py.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = py.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus_client's parser refused the text (pip install prometheus_client): {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let samples = text.lines().filter(|l| !l.starts_with('#')).count();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        samples.to_string()
    );
    d.stop();
}

/// The example binary (`cargo build -p ipvs-examples --bins`, as scripts/test
/// does before the kernel tests), next to this test binary's directory.
fn director_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(|p| p.parent())
        .unwrap()
        .join("ipvs-director");
    assert!(
        bin.exists(),
        "{} is missing: cargo build -p ipvs-examples --bins",
        bin.display()
    );
    bin
}

const FETCH: &str = r#"
import sys, urllib.request
try:
    print(urllib.request.urlopen("http://127.0.0.1:9100/metrics", timeout=5).read().decode(), end="")
except OSError as e:
    print("failed: %s" % e)
"#;

/// `ipvs-director` runs in the director's namespace from a JSON file, serves
/// its metrics over HTTP, and follows the file when it changes.
#[test]
fn the_example_director_serves_metrics_and_reloads_its_file() {
    let lab = Lab::new(1);
    let _rs1 = lab.serve(0, 200);
    let dir = std::env::temp_dir().join(format!("lvskit-director-{}", lab.director.name()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("director.json");
    let json = |weight: u32| {
        format!(
            r#"{{"services": [{{
  "service": {{"key": {{"inet": {{"protocol": "tcp", "addr": "10.20.0.100", "port": 8080}}}}, "scheduler": "rr"}},
  "destinations": [{{"addr": "10.20.0.11", "port": 8080, "weight": {weight}}}],
  "check": {{"kind": "http", "path": "/", "status": 200, "interval_ms": 1000, "timeout_ms": 900}}
}}]}}"#
        )
    };
    std::fs::write(&config, json(2)).unwrap();
    let child = Command::new("ip")
        .args(["netns", "exec", lab.director.name()])
        .arg(director_binary())
        .arg("--config")
        .arg(&config)
        // long enough for a loaded CI machine; the test kills it when done
        .args(["--period-ms", "500", "--run-for-s", "900"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _child = Child(child);
    wait_for(
        "the service set up",
        || lab.diag(),
        || lab.weight(0) == Some(2),
    );
    assert_eq!(lab.connect(), "rs1", "{}", lab.diag());
    let fetch = || lab.director.exec("python3", &["-c", FETCH]);
    let up =
        "lvskit_destination_up{service=\"TCP 10.20.0.100:8080\",destination=\"10.20.0.11:8080\"} 1";
    let conns = "lvskit_service_connections_total{service=\"TCP 10.20.0.100:8080\"} ";
    // one page must hold both (the up gauge appears once the check has risen)
    let last = std::cell::RefCell::new(String::new());
    wait_for(
        "metrics served",
        || format!("last page fetched:\n{}", last.borrow()),
        || {
            let text = fetch();
            let both = text.contains(up) && text.contains(conns);
            *last.borrow_mut() = text;
            both
        },
    );
    // a file with the same size but another weight: mtime tells it apart
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(&config, json(5)).unwrap();
    wait_for(
        "the file reloaded",
        || lab.diag(),
        || lab.weight(0) == Some(5),
    );
    let _ = std::fs::remove_dir_all(&dir);
}
