#![allow(dead_code)] // helpers are shared by all kernel test modules
//! Test support for kernel tests: every test gets its own fresh network
//! namespace, created by the test and deleted when it ends, plus helpers that
//! run `ipvsadm` and `ip` inside it for cross-checks. Nothing here touches the
//! initial namespace's IPVS table.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use lvskit::{Ipvs, Namespace};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A network namespace owned by one test.
pub struct TestNs {
    name: String,
}

fn run(cmd: &str, args: &[&str]) -> Output {
    Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"))
}

fn check(what: String, out: Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Whether `ipvsadm ARGS` lists the service table (`-S`, `-L`): the listings
/// that [`settled`] reads twice. Connection listings (`-c`) and counters
/// (`--stats`, `--rate`) change by themselves and are read once.
pub fn is_listing(args: &[&str]) -> bool {
    let table = args.first().is_some_and(|a| {
        a.starts_with("-S")
            || a.starts_with("-L")
            || a.starts_with("-l")
            || *a == "--save"
            || *a == "--list"
    });
    let moving = args.iter().any(|a| {
        matches!(*a, "-c" | "--connection" | "--stats" | "--rate")
            || (a.starts_with("-L") && a.contains('c'))
    });
    table && !moving
}

/// Reads a listing until two reads in a row are the same, at most ten times.
///
/// The kernel's service hash table is shared by every network namespace and a
/// dump resumes by skipping as many entries (of all namespaces) as it already
/// visited, without flagging the dump as interrupted. While other tests add or
/// delete services in their own namespaces, a single `ipvsadm -Sn` can
/// therefore print one of this namespace's services twice (seen in CI on 6.12:
/// a service line and its real server line repeated), which `ipvsadm` does not
/// filter. The library drops such repeats itself (`Ipvs::services`); the
/// referee's reading is made stable here instead, so that the referee is still
/// read verbatim.
pub fn settled(read: impl Fn() -> String) -> String {
    let mut last = read();
    for _ in 0..10 {
        let next = read();
        if next == last {
            return next;
        }
        last = next;
    }
    panic!("a listing did not read the same twice in a row in ten tries; last:\n{last}");
}

impl TestNs {
    /// Creates a fresh namespace with `lo` up.
    pub fn new() -> Self {
        let name = format!(
            "ipvst-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        check(
            format!("ip netns add {name}"),
            run("ip", &["netns", "add", &name]),
        );
        let ns = TestNs { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// The namespace's name (under /run/netns).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The library's handle on this namespace.
    pub fn ipvs(&self) -> Ipvs {
        Ipvs::open(Namespace::Named(self.name.clone()))
            .expect("open an IPVS handle in the test namespace")
    }

    /// Runs a command inside the namespace; returns its raw output.
    pub fn exec_output(&self, cmd: &str, args: &[&str]) -> Output {
        let mut all = vec!["netns", "exec", self.name.as_str(), cmd];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// Runs a command inside the namespace; panics unless it succeeds; returns stdout.
    pub fn exec(&self, cmd: &str, args: &[&str]) -> String {
        check(
            format!("{cmd} {}", args.join(" ")),
            self.exec_output(cmd, args),
        )
    }

    /// `ipvsadm ARGS` inside the namespace; panics unless it succeeds. A
    /// listing (`-S`, `-L`) is read until two reads in a row agree: see
    /// [`settled`].
    pub fn ipvsadm(&self, args: &[&str]) -> String {
        if is_listing(args) {
            settled(|| self.exec("ipvsadm", args))
        } else {
            self.exec("ipvsadm", args)
        }
    }

    /// `ipvsadm -Sn` inside the namespace, as lines.
    pub fn saved(&self) -> Vec<String> {
        self.ipvsadm(&["-Sn"]).lines().map(str::to_owned).collect()
    }

    /// `ip ARGS` inside the namespace; panics unless it succeeds.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        check(format!("ip {}", all.join(" ")), run("ip", &all))
    }

    /// Adds a dummy interface `name` with `addr` (CIDR) and brings it up, so
    /// the kernel has routes for destination addresses.
    pub fn dummy(&self, name: &str, addrs: &[&str]) {
        self.ip(&["link", "add", name, "type", "dummy"]);
        for a in addrs {
            self.ip(&["addr", "add", a, "dev", name]);
        }
        self.ip(&["link", "set", name, "up"]);
    }
}

impl TestNs {
    /// Makes every unicast address routable (a dummy device with default
    /// routes), as the kernel refuses destinations it has no route to.
    pub fn routable(&self) {
        self.dummy("d0", &["10.255.255.254/8", "fd00::ffff/16"]);
        self.ip(&["route", "add", "default", "dev", "d0"]);
        self.ip(&["-6", "route", "add", "default", "dev", "d0"]);
    }

    /// `ipvsadm -Sn` lines, sorted (ipvsadm's order follows the kernel's hash buckets).
    pub fn saved_sorted(&self) -> Vec<String> {
        let mut v = self.saved();
        v.sort();
        v
    }
}

impl Drop for TestNs {
    fn drop(&mut self) {
        let _ = run("ip", &["netns", "del", &self.name]);
    }
}

/// Asserts two tables are equal (order ignored), reporting only the first difference.
pub fn assert_tables_eq(got: &lvskit::table::Table, want: &lvskit::table::Table) {
    let got = got.clone().sorted();
    let want = want.clone().sorted();
    if got == want {
        return;
    }
    let g: std::collections::BTreeMap<_, _> =
        got.services.iter().map(|s| (s.service.key, s)).collect();
    let w: std::collections::BTreeMap<_, _> =
        want.services.iter().map(|s| (s.service.key, s)).collect();
    for (k, ws) in &w {
        match g.get(k) {
            None => panic!(
                "service {k} missing ({} services read, {} wanted)",
                g.len(),
                w.len()
            ),
            Some(gs) if gs != ws => panic!("service {k} differs:\n got: {gs:?}\nwant: {ws:?}"),
            _ => {}
        }
    }
    for k in g.keys() {
        assert!(w.contains_key(k), "unexpected service {k}");
    }
    assert_eq!(got.timeouts, want.timeouts, "timeouts differ");
}

/// Client, director and real server plugged into one bridge (in a fourth
/// namespace, returned first) with the given addresses on their `eth0`
/// (`nodad` for IPv6, so they are usable at once); the VIP on the director.
/// An IPv6 VIP is deprecated there (`preferred_lft 0`), as an IPv6 LVS/TUN
/// director needs: a /128 VIP wins source selection for the real servers
/// (its prefix length caps the match), and a tunnelled packet whose outer
/// source is an address of the real server (the VIP it holds) is dropped by
/// the real server's `ip6tnl` receive check.
pub fn bridged_lab(addrs: [&str; 3], vip: &str, nodad: bool) -> [TestNs; 4] {
    let lan = TestNs::new();
    let client = TestNs::new();
    let director = TestNs::new();
    let real = TestNs::new();
    lan.ip(&["link", "add", "br0", "type", "bridge"]);
    lan.ip(&["link", "set", "br0", "up"]);
    let flags: &[&str] = if nodad { &["nodad"] } else { &[] };
    for (i, (ns, addr)) in [&client, &director, &real]
        .into_iter()
        .zip(addrs)
        .enumerate()
    {
        let port = format!("p{i}");
        let peer = ["link", "add", &port, "type", "veth", "peer", "name", "eth0"];
        lan.ip(&[&peer[..], &["netns", ns.name()]].concat());
        lan.ip(&["link", "set", &port, "master", "br0", "up"]);
        ns.ip(&[&["addr", "add", addr, "dev", "eth0"][..], flags].concat());
        ns.ip(&["link", "set", "eth0", "up"]);
    }
    let deprecated: &[&str] = if nodad { &["preferred_lft", "0"] } else { &[] };
    director.ip(&[&["addr", "add", vip, "dev", "eth0"][..], flags, deprecated].concat());
    [lan, client, director, real]
}
