//! Rules text and connection table against the real kernel and ipvsadm:
//! our `ipvsadm -Sn` text is ipvsadm's, our lossless text restores the same
//! table with `ipvsadm -R`, ipvsadm's text parsed and applied by the library
//! rebuilds the same table, and a real TCP exchange through a NAT virtual
//! service shows up in the namespace-aware connection reader.

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, SocketAddr};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lvskit::conn::{self, ConnProtocol, Table};
use lvskit::rules::{self, Format};
use lvskit::table::TableService;
use lvskit::{DestinationEntry, Namespace, Operation, ServiceEntry};

use crate::support::{is_listing, settled, TestNs};

/// Runs a command with stdin text; kills it if it outlives `limit`.
fn run_timed(cmd: &str, args: &[&str], stdin: &str, limit: Duration) -> Output {
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{cmd} {args:?} did not finish within {limit:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn ok(cmd: &str, args: &[&str]) -> String {
    let out = run_timed(cmd, args, "", Duration::from_secs(60));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `cmd args` inside `ns`, bounded in time; panics unless it succeeds.
fn in_ns(ns: &TestNs, cmd: &str, args: &[&str]) -> String {
    let mut all = vec!["netns", "exec", ns.name(), cmd];
    all.extend_from_slice(args);
    ok("ip", &all)
}

/// `ipvsadm args` inside `ns`, bounded in time.
fn adm(ns: &TestNs, args: &[&str]) -> String {
    if is_listing(args) {
        settled(|| in_ns(ns, "ipvsadm", args))
    } else {
        in_ns(ns, "ipvsadm", args)
    }
}

/// `ip -n NS args`, bounded in time.
fn ip(ns: &TestNs, args: &[&str]) -> String {
    let mut all = vec!["-n", ns.name()];
    all.extend_from_slice(args);
    ok("ip", &all)
}

/// A dummy interface with addresses, so that local and routed addresses exist.
fn dummy(ns: &TestNs, addrs: &[&str]) {
    ip(ns, &["link", "add", "dm0", "type", "dummy"]);
    for a in addrs {
        ip(ns, &["addr", "add", a, "dev", "dm0", "nodad"]);
    }
    ip(ns, &["link", "set", "dm0", "up"]);
}

/// `ipvsadm -R` in `ns` with `text` on stdin.
fn restore(ns: &TestNs, text: &str) {
    let out = run_timed(
        "ip",
        &["netns", "exec", ns.name(), "ipvsadm", "-R"],
        text,
        Duration::from_secs(60),
    );
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "ipvsadm -R failed ({}): {}\ninput:\n{text}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A listing as a table, in the listing's order.
fn as_table(listing: Vec<(ServiceEntry, Vec<DestinationEntry>)>) -> lvskit::table::Table {
    lvskit::table::Table {
        services: listing
            .into_iter()
            .map(|(s, d)| TableService {
                service: s.service,
                destinations: d.into_iter().map(|d| d.destination).collect(),
            })
            .collect(),
        timeouts: None,
    }
}

/// The table as the library lists it, in the kernel's order.
fn listing(ns: &TestNs) -> Vec<(ServiceEntry, Vec<DestinationEntry>)> {
    let ipvs = ns.ipvs();
    ipvs.services()
        .unwrap()
        .into_iter()
        .map(|s| {
            let d = ipvs.destinations(&s.service.key).unwrap();
            (s, d)
        })
        .collect()
}

fn sn(ns: &TestNs) -> String {
    adm(ns, &["-Sn"])
}

fn exact(ns: &TestNs) -> String {
    adm(ns, &["-Ln", "--exact", "--thresholds"])
}

/// A table using every option ipvsadm can save (and thresholds, which it cannot).
fn build_rich(ns: &TestNs) {
    dummy(ns, &["10.0.0.1/24", "fd00::1/64"]);
    for cmd in [
        "-A -t 192.168.1.1:80 -s rr",
        "-a -t 192.168.1.1:80 -r 10.0.0.2:8080 -m -w 3 -x 100 -y 50",
        "-a -t 192.168.1.1:80 -r 192.168.2.5 -g -w 0",
        "-a -t 192.168.1.1:80 -r 10.0.0.1 -g -w 2",
        "-a -t 192.168.1.1:80 -r 10.0.0.3 -i --tun-type gue --tun-port 6080 --tun-remcsum",
        "-a -t 192.168.1.1:80 -r 10.0.0.4 -i --tun-type gue --tun-port 6081 --tun-csum -x 7",
        "-a -t 192.168.1.1:80 -r 172.16.0.1 -i --tun-type gre --tun-csum",
        "-a -t 192.168.1.1:80 -r 172.16.0.2 -i",
        "-a -t 192.168.1.1:80 -r 172.16.0.3 -i --tun-type gue --tun-port 5555",
        "-a -t 192.168.1.1:80 -r 172.16.0.4 -i --tun-type gre",
        "-a -t 192.168.1.1:80 -r fd00::9 -i",
        "-A -t 10.0.0.100:0 -s sh -b sh-fallback,sh-port -p 600 -M 255.255.255.0",
        "-a -t 10.0.0.100:0 -r 10.0.0.20 -g -x 1000 -y 10",
        "-A -u 10.0.0.100:53 -s mh -b mh-port,mh-fallback -o",
        "-a -u 10.0.0.100:53 -r 10.0.0.21:5353 -m -w 65535",
        "-A -t 10.0.0.100:5060 -s wlc -p --pe sip",
        "-A -u 10.0.0.101:5060 -s lblc -p 30 --pe sip",
        "-A -t 10.0.0.102:443 -s wrr -b flag-1,flag-2,flag-3",
        "-A -f 7 -s wrr -b flag-3",
        "-a -f 7 -r 10.0.0.5 -m",
        "-a -f 7 -r 10.0.0.6:8080 -m -w 9",
        "-A -f 3000000000 -s nq",
        "-A -f 8 -6 -s lc -p 100 -M 64",
        "-a -f 8 -6 -r [fd00::5]:80 -m",
        "-A -t [fd00::100]:443 -s sed -p 30 -M 48",
        "-a -t [fd00::100]:443 -r [fd00::2]:8443 -m -w 7",
        "-a -t [fd00::100]:443 -r [::1.2.3.4]:8443 -m -w 7 -x 5 -y 1",
        "-a -t [fd00::100]:443 -r 10.0.0.7 -i --tun-type gue --tun-port 9999",
        "-A -u [fd00::100]:53 -s fo -o",
        "-A --sctp-service 10.0.0.100:9999 -s ovf",
        "-a --sctp-service 10.0.0.100:9999 -r 10.0.0.8:9999 -m",
    ] {
        let args: Vec<&str> = cmd.split(' ').collect();
        adm(ns, &args);
    }
}

#[test]
fn our_ipvsadm_text_is_ipvsadm_sn_byte_for_byte() {
    let ns = TestNs::new();
    build_rich(&ns);
    let ours = rules::save(&as_table(listing(&ns)), Format::Ipvsadm);
    assert_eq!(ours, sn(&ns));
    // the line for a local DR server: the kernel made it Local, ipvsadm writes -g
    assert!(
        ours.contains("-a -t 192.168.1.1:80 -r 10.0.0.1:80 -g -w 2\n"),
        "{ours}"
    );
}

#[test]
fn ipvsadm_order_quirks_are_reproduced() {
    // addresses and marks more than 2^31 apart: libipvs's wrapping
    // comparison and glibc's merge sort decide the order
    let ns = TestNs::new();
    let addrs = [
        "192.168.1.1",
        "10.0.0.1",
        "200.0.0.1",
        "1.0.0.1",
        "130.0.0.1",
        "127.0.0.2",
        "250.1.1.1",
    ];
    for a in addrs {
        adm(&ns, &["-A", "-t", &format!("{a}:80")]);
    }
    for a in addrs {
        adm(
            &ns,
            &["-a", "-t", "10.0.0.1:80", "-r", &format!("{a}:80"), "-m"],
        );
    }
    for m in ["4000000000", "1", "3000000000", "2147483648", "2147483647"] {
        adm(&ns, &["-A", "-f", m]);
    }
    let ours = rules::save(&as_table(listing(&ns)), Format::Ipvsadm);
    assert_eq!(ours, sn(&ns));
}

#[test]
fn lossless_text_restored_by_ipvsadm_rebuilds_the_table() {
    let original = TestNs::new();
    build_rich(&original);
    let text = rules::save(&as_table(listing(&original)), Format::Lossless);
    assert!(text.contains(" -x 100 -y 50"), "{text}");
    let fresh = TestNs::new();
    dummy(&fresh, &["10.0.0.1/24", "fd00::1/64"]);
    restore(&fresh, &text);
    assert_eq!(sn(&fresh), sn(&original));
    assert_eq!(exact(&fresh), exact(&original));
    // and the library reads back what we wrote, thresholds included
    let strip = |t: Vec<(ServiceEntry, Vec<DestinationEntry>)>| {
        let mut v = as_table(t);
        rules::ipvsadm_order(&mut v);
        v
    };
    assert_eq!(strip(listing(&fresh)), strip(listing(&original)));
}

#[test]
fn ipvsadm_text_parsed_and_applied_by_the_library_rebuilds_the_table() {
    let original = TestNs::new();
    build_rich(&original);
    let text = sn(&original);
    let parsed = rules::parse(&text).unwrap();
    let fresh = TestNs::new();
    dummy(&fresh, &["10.0.0.1/24", "fd00::1/64"]);
    let ipvs = fresh.ipvs();
    for op in &parsed {
        match op {
            Operation::AddService(s) => ipvs.add_service(s).unwrap(),
            Operation::AddDestination(service, destination) => {
                ipvs.add_destination(service, destination).unwrap()
            }
            other => panic!("ipvsadm -Sn wrote {other:?}"),
        }
    }
    assert_eq!(sn(&fresh), text);
    // the same rules written back are the same text
    let again: String = parsed
        .iter()
        .map(|op| rules::rule(op, Format::Ipvsadm).unwrap() + "\n")
        .collect();
    assert_eq!(again, text);
}

// ---------------------------------------------------------------------------
// connection table

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `python3 -u -c script` in `ns`; returns it and a channel of its stdout lines.
fn python(ns: &TestNs, script: &str) -> (Proc, mpsc::Receiver<String>) {
    let mut child = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns.name(),
            "python3",
            "-S",
            "-u",
            "-c",
            script,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start python3");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (Proc(child), rx)
}

fn wait_line(rx: &mpsc::Receiver<String>, what: &str, limit: Duration) -> String {
    rx.recv_timeout(limit)
        .unwrap_or_else(|e| panic!("no {what} within {limit:?}: {e}"))
}

/// How long a step of the traffic test may take: generous, because Python
/// starts slowly in an emulated VM on a loaded machine, but bounded.
const PROGRESS_LIMIT: Duration = Duration::from_secs(300);

const SERVER: &str = r#"
import socket, threading, time
def serve(fam, addr):
    s = socket.socket(fam)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 8000))
    s.listen(16)
    while True:
        c, _ = s.accept()
        c.recv(16)
        c.sendall(b"hi")
        threading.Thread(target=lambda c=c: (time.sleep(120), c.close()), daemon=True).start()
for fam, addr in ((socket.AF_INET, "10.0.2.2"), (socket.AF_INET6, "fd02::2")):
    threading.Thread(target=serve, args=(fam, addr), daemon=True).start()
time.sleep(0.5)
print("ready")
time.sleep(300)
"#;

const CLIENT: &str = r#"
import socket, time
keep = []
for host, port in (("10.0.1.1", 80), ("10.0.1.1", 81), ("fd01::1", 80)):
    s = socket.create_connection((host, port), timeout=20)
    s.sendall(b"x")
    assert s.recv(16) == b"hi"
    print(host, port, s.getsockname()[1])
    keep.append(s)
print("done")
time.sleep(300)
"#;

#[test]
fn a_nat_connection_is_listed_by_the_namespace_aware_reader() {
    let client = TestNs::new();
    let director = TestNs::new();
    let real = TestNs::new();
    ok(
        "ip",
        &[
            "link",
            "add",
            "c0",
            "netns",
            client.name(),
            "type",
            "veth",
            "peer",
            "name",
            "d0",
            "netns",
            director.name(),
        ],
    );
    ok(
        "ip",
        &[
            "link",
            "add",
            "r0",
            "netns",
            real.name(),
            "type",
            "veth",
            "peer",
            "name",
            "d1",
            "netns",
            director.name(),
        ],
    );
    for (ns, dev, addrs) in [
        (&client, "c0", ["10.0.1.2/24", "fd01::2/64"]),
        (&director, "d0", ["10.0.1.1/24", "fd01::1/64"]),
        (&director, "d1", ["10.0.2.1/24", "fd02::1/64"]),
        (&real, "r0", ["10.0.2.2/24", "fd02::2/64"]),
    ] {
        for a in addrs {
            ip(ns, &["addr", "add", a, "dev", dev, "nodad"]);
        }
        ip(ns, &["link", "set", dev, "up"]);
    }
    ip(&client, &["route", "add", "default", "via", "10.0.1.1"]);
    ip(
        &client,
        &["-6", "route", "add", "default", "via", "fd01::1"],
    );
    ip(&real, &["route", "add", "default", "via", "10.0.2.1"]);
    ip(&real, &["-6", "route", "add", "default", "via", "fd02::1"]);
    // NAT: the director routes the real server's replies back through IPVS
    in_ns(
        &director,
        "sysctl",
        &[
            "-qw",
            "net.ipv4.ip_forward=1",
            "net.ipv6.conf.all.forwarding=1",
        ],
    );
    for cmd in [
        "-A -t 10.0.1.1:80 -s rr",
        "-a -t 10.0.1.1:80 -r 10.0.2.2:8000 -m",
        "-A -t 10.0.1.1:81 -s rr -p 60",
        "-a -t 10.0.1.1:81 -r 10.0.2.2:8000 -m",
        "-A -t [fd01::1]:80 -s rr",
        "-a -t [fd01::1]:80 -r [fd02::2]:8000 -m",
    ] {
        adm(&director, &cmd.split(' ').collect::<Vec<_>>());
    }
    // nothing yet
    let dns = Namespace::Named(director.name().to_owned());
    assert!(conn::read(&dns, Table::Conn).unwrap().is_empty());

    let (_server, server_out) = python(&real, SERVER);
    assert_eq!(
        wait_line(&server_out, "server readiness", PROGRESS_LIMIT),
        "ready"
    );
    let (_client, client_out) = python(&client, CLIENT);
    let mut ports = Vec::new();
    loop {
        let line = wait_line(&client_out, "client progress", PROGRESS_LIMIT);
        if line == "done" {
            break;
        }
        let f: Vec<&str> = line.split(' ').collect();
        ports.push((
            f[0].parse::<IpAddr>().unwrap(),
            f[1].parse::<u16>().unwrap(),
            f[2].parse::<u16>().unwrap(),
        ));
    }
    assert_eq!(ports.len(), 3);

    let conns = conn::read(&dns, Table::Conn).unwrap();
    // the raw text, for the record (and the host tests' captured lines)
    let raw = in_ns(
        &director,
        "cat",
        &["/proc/net/ip_vs_conn", "/proc/net/ip_vs_conn_sync"],
    );
    eprintln!("ip_vs_conn and ip_vs_conn_sync in the director:\n{raw}");
    let find = |vip: &str, vport: u16, cport: u16| {
        let vip: IpAddr = vip.parse().unwrap();
        conns
            .iter()
            .find(|c| c.virtual_addr == SocketAddr::new(vip, vport) && c.client.port() == cport)
            .unwrap_or_else(|| {
                panic!("no connection to {vip}:{vport} from port {cport}: {conns:#?}")
            })
    };
    let c4 = find("10.0.1.1", 80, ports[0].2);
    assert_eq!(c4.protocol, ConnProtocol::Tcp);
    assert_eq!(
        c4.client,
        SocketAddr::new("10.0.1.2".parse().unwrap(), ports[0].2)
    );
    assert_eq!(c4.destination, "10.0.2.2:8000".parse().unwrap());
    assert_eq!(c4.state, "ESTABLISHED");
    assert!(c4.expires > 0 && c4.expires <= 900, "{c4:?}");
    assert!(!c4.is_template());
    assert_eq!(c4.pe, None);

    let c6 = find("fd01::1", 80, ports[2].2);
    assert_eq!(
        c6.client,
        SocketAddr::new("fd01::2".parse().unwrap(), ports[2].2)
    );
    assert_eq!(c6.destination, "[fd02::2]:8000".parse().unwrap());
    assert_eq!(c6.state, "ESTABLISHED");

    // the persistent service: the connection and its template
    let cp = find("10.0.1.1", 81, ports[1].2);
    assert_eq!(cp.destination, "10.0.2.2:8000".parse().unwrap());
    let template = conns
        .iter()
        .find(|c| c.is_template())
        .unwrap_or_else(|| panic!("no persistence template: {conns:#?}"));
    assert_eq!(template.client, "10.0.1.2:0".parse().unwrap());
    assert_eq!(template.virtual_addr, "10.0.1.1:81".parse().unwrap());
    assert_eq!(template.destination, "10.0.2.2:8000".parse().unwrap());
    assert!(template.expires <= 60, "{template:?}");

    // same entries as ipvsadm -Lnc counts, and the sync file reads too
    let lnc = adm(&director, &["-Lnc"]);
    assert_eq!(lnc.lines().count() - 2, conns.len(), "{lnc}");
    let sync = conn::read(&dns, Table::ConnSync).unwrap();
    assert_eq!(sync.len(), conns.len());
    assert!(
        sync.iter().all(|c| c.origin == Some(conn::Origin::Local)),
        "{sync:?}"
    );

    // other namespaces see none of it
    assert!(
        conn::read(&Namespace::Named(client.name().to_owned()), Table::Conn)
            .unwrap()
            .is_empty()
    );
}
