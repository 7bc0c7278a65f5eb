//! Ready-made topologies with real traffic: a client, one or two directors
//! configured through the library, real servers that say who they are.
//!
//! Used by the demos (`two-dc-demo`) and by the end-to-end tests, so that what
//! the demo shows is what CI asserts.
//!
//! Addresses are private and exist only inside the lab's namespaces.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use ipnetwork::IpNetwork;

use lvskit::{
    Destination, Forward, Ipvs, Scheduler, Service, ServiceKey, SyncDaemon, SyncState, Tunnel,
};

use crate::lab::{Lab, Netns, Result};
use crate::realserver;
use crate::traffic::{self, Server, Session};

/// The port every service and server uses.
pub const PORT: u16 = 80;

/// How packets reach the real servers in a one-segment scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// LVS/NAT: the director rewrites addresses and is the servers' gateway.
    Nat,
    /// LVS/DR: one L2 segment; the director rewrites the MAC only.
    DirectRoute,
    /// LVS/TUN: the director wraps packets in IPIP.
    Tunnel,
}

impl Mode {
    /// The library's forwarding method for this mode.
    pub fn forward(self) -> Forward {
        match self {
            Mode::Nat => Forward::Masq,
            Mode::DirectRoute => Forward::DirectRoute,
            Mode::Tunnel => Forward::Tunnel(Tunnel::Ipip),
        }
    }
}

/// A real server: its namespace, address and (running or stopped) server.
pub struct RealServer {
    /// Its name, which is also what its server answers.
    pub name: String,
    /// Its real address (RIP).
    pub rip: Ipv4Addr,
    server: Option<Server>,
    /// Its namespace.
    pub ns: Netns,
}

impl RealServer {
    /// Stops its server (connections refused and reset from now on).
    pub fn stop(&mut self) {
        if let Some(mut s) = self.server.take() {
            s.stop();
        }
    }

    /// Starts its server again.
    pub fn start(&mut self) -> Result<()> {
        if self.server.is_none() {
            self.server = Some(Server::start(&self.ns, &self.name, PORT)?);
        }
        Ok(())
    }

    /// Whether its server runs.
    pub fn is_running(&self) -> bool {
        self.server.is_some()
    }
}

/// A director: its namespace and the library's handle on its IPVS table.
pub struct Director {
    /// Its name.
    pub name: String,
    /// The library's handle on its IPVS table.
    pub ipvs: Ipvs,
    /// Its namespace.
    pub ns: Netns,
}

/// A running scenario; dropping it removes every namespace it made.
pub struct Scenario {
    /// The real servers.
    pub servers: Vec<RealServer>,
    /// The directors (the first one receives the client's traffic at first).
    pub directors: Vec<Director>,
    /// The client's namespace.
    pub client: Netns,
    /// Routers and other helpers.
    pub others: Vec<Netns>,
    /// The virtual service.
    pub key: ServiceKey,
    /// The virtual service's address.
    pub vip: SocketAddr,
    /// The real servers as configured on the directors.
    pub dests: Vec<Destination>,
    lab: Lab,
}

fn ip4(s: &str) -> Result<Ipv4Addr> {
    Ok(s.parse().map_err(|e| format!("bad address {s}: {e}"))?)
}

fn add_service(
    ipvs: &Ipvs,
    key: ServiceKey,
    sched: &Scheduler,
    dests: &[Destination],
) -> Result<()> {
    ipvs.add_service(&Service::new(key).with_scheduler(sched.clone()))?;
    for d in dests {
        ipvs.add_destination(&key, d)?;
    }
    Ok(())
}

impl Scenario {
    /// Two data centres joined by a core router, a director in each
    /// (`ipvslb11`, `ipvslb21`) and a real server in each (`rproxy1`,
    /// `rproxy2`); both directors reach both servers over IPIP tunnels, so
    /// one director can serve the other data centre's server too. The core
    /// routes the VIP to `ipvslb11`; [`Scenario::route_vip_to`] moves it.
    ///
    /// ```text
    ///  client 10.0.0.10 ── core 10.0.0.1 ─┬─ dc1 10.1.0.0/24: ipvslb11 .11, rproxy1 .21
    ///                                    └─ dc2 10.2.0.0/24: ipvslb21 .11, rproxy2 .21
    ///  VIP 10.100.0.100:80 on both directors, on both real servers' tunl0
    /// ```
    pub fn two_dc(prefix: &str, sched: Scheduler) -> Result<Self> {
        let mut lab = Lab::new(prefix)?;
        let vip = ip4("10.100.0.100")?;
        let mut spaces = lab.netnses(&[
            "core", "client", "rproxy1", "rproxy2", "ipvslb11", "ipvslb21",
        ])?;
        let mut take = || spaces.remove(0);
        let (core, client) = (take(), take());
        let (rp1, rp2, lb11, lb21) = (take(), take(), take(), take());
        for seg in ["client", "dc1", "dc2"] {
            lab.segment(seg);
        }
        lab.plug(&core, "eth0", "client", &["10.0.0.1/24"])?;
        lab.plug(&core, "eth1", "dc1", &["10.1.0.1/24"])?;
        lab.plug(&core, "eth2", "dc2", &["10.2.0.1/24"])?;
        lab.ip(core.name(), "route add 10.100.0.100/32 via 10.1.0.11");
        lab.plug(&client, "eth0", "client", &["10.0.0.10/24"])?;
        lab.ip(client.name(), "route add default via 10.0.0.1");
        for (n, ns) in [(1, &rp1), (2, &rp2)] {
            lab.plug(ns, "eth0", &format!("dc{n}"), &[&format!("10.{n}.0.21/24")])?;
            lab.ip(ns.name(), &format!("route add default via 10.{n}.0.1"));
        }
        for (n, ns) in [(1, &lb11), (2, &lb21)] {
            lab.plug(ns, "eth0", &format!("dc{n}"), &[&format!("10.{n}.0.11/24")])?;
            lab.ip(ns.name(), &format!("route add default via 10.{n}.0.1"));
        }
        lab.commit()?;
        for lb in [&lb11, &lb21] {
            lb.rtnl()?
                .add_address("lo", IpNetwork::from(IpAddr::from(vip)))?;
        }
        core.sysctl("net/ipv4/ip_forward", "1")?;

        let key = ServiceKey::tcp(vip, PORT);
        let fwd = Forward::Tunnel(Tunnel::Ipip);
        let mut servers = Vec::new();
        for (n, name, ns) in [(1, "rproxy1", rp1), (2, "rproxy2", rp2)] {
            realserver::tunnel_real_server(&ns, vip.into())?;
            let server = Some(Server::start(&ns, name, PORT)?);
            servers.push(RealServer {
                name: name.into(),
                rip: ip4(&format!("10.{n}.0.21"))?,
                server,
                ns,
            });
        }
        let dests: Vec<Destination> = servers
            .iter()
            .map(|s| Destination::new(s.rip, PORT).with_forward(fwd))
            .collect();
        let mut directors = Vec::new();
        for (name, ns) in [("ipvslb11", lb11), ("ipvslb21", lb21)] {
            let ipvs = ns.ipvs()?;
            add_service(&ipvs, key, &sched, &dests)?;
            directors.push(Director {
                name: name.into(),
                ipvs,
                ns,
            });
        }
        Ok(Scenario {
            servers,
            directors,
            client,
            others: vec![core],
            key,
            vip: SocketAddr::new(IpAddr::V4(vip), PORT),
            dests,
            lab,
        })
    }

    /// One director and `weights.len()` real servers (`rproxy1`, ...) in
    /// `mode`:
    ///
    /// - DR and TUN: one segment 10.0.0.0/24 — client .10, director .1 with
    ///   the VIP 10.0.0.100 on its eth0, real servers .11, .12, ...;
    /// - NAT: the client and the director's eth0 (with the VIP) on 10.0.0.0/24,
    ///   the director's eth1 10.10.0.1 the real servers' gateway on 10.10.0.0/24.
    pub fn one_director(
        prefix: &str,
        mode: Mode,
        sched: Scheduler,
        weights: &[u32],
    ) -> Result<Self> {
        let mut lab = Lab::new(prefix)?;
        let vip = ip4("10.0.0.100")?;
        let names: Vec<String> = (1..=weights.len()).map(|i| format!("rproxy{i}")).collect();
        let mut roles = vec!["client", "director"];
        roles.extend(names.iter().map(String::as_str));
        let mut spaces = lab.netnses(&roles)?;
        let client = spaces.remove(0);
        let lb = spaces.remove(0);
        lab.segment("front");
        let back = if mode == Mode::Nat {
            lab.segment("back");
            "back"
        } else {
            "front"
        };
        lab.plug(&client, "eth0", "front", &["10.0.0.10/24"])?;
        lab.plug(&lb, "eth0", "front", &["10.0.0.1/24", "10.0.0.100/32"])?;
        if mode == Mode::Nat {
            lab.plug(&lb, "eth1", "back", &["10.10.0.1/24"])?;
        }
        let net = if mode == Mode::Nat {
            "10.10.0"
        } else {
            "10.0.0"
        };
        let rips: Vec<String> = (0..weights.len())
            .map(|i| format!("{net}.{}", 11 + i))
            .collect();
        for (ns, rip) in spaces.iter().zip(&rips) {
            lab.plug(ns, "eth0", back, &[&format!("{rip}/24")])?;
            if mode == Mode::Nat {
                lab.ip(ns.name(), "route add default via 10.10.0.1");
            }
        }
        lab.commit()?;
        if mode == Mode::Nat {
            lb.sysctl("net/ipv4/ip_forward", "1")?;
        }

        let mut servers = Vec::new();
        let mut dests = Vec::new();
        for (((ns, name), rip), w) in spaces.into_iter().zip(names).zip(&rips).zip(weights) {
            match mode {
                Mode::Nat => {}
                Mode::DirectRoute => realserver::direct_route_real_server(&ns, vip.into())?,
                Mode::Tunnel => realserver::tunnel_real_server(&ns, vip.into())?,
            }
            let server = Some(Server::start(&ns, &name, PORT)?);
            let rip = ip4(rip)?;
            dests.push(
                Destination::new(rip, PORT)
                    .with_forward(mode.forward())
                    .with_weight(*w),
            );
            servers.push(RealServer {
                name,
                rip,
                server,
                ns,
            });
        }
        let key = ServiceKey::tcp(vip, PORT);
        let ipvs = lb.ipvs()?;
        add_service(&ipvs, key, &sched, &dests)?;
        Ok(Scenario {
            servers,
            directors: vec![Director {
                name: "director".into(),
                ipvs,
                ns: lb,
            }],
            client,
            others: Vec::new(),
            key,
            vip: SocketAddr::new(IpAddr::V4(vip), PORT),
            dests,
            lab,
        })
    }

    /// Two directors (`ipvslb11` master, `ipvslb12` backup) on one segment
    /// with the client and two LVS/DR real servers; both have the same
    /// service, the VIP 10.0.0.100 is on the master's eth0, and the
    /// master's sync daemon sends its connections to the backup's.
    pub fn failover(prefix: &str) -> Result<Self> {
        Self::failover_with(prefix, true)
    }

    /// As [`Scenario::failover`], with or without the backup's sync daemon
    /// (without it, the backup never learns the master's connections).
    pub fn failover_with(prefix: &str, backup_daemon: bool) -> Result<Self> {
        let mut lab = Lab::new(prefix)?;
        let vip = ip4("10.0.0.100")?;
        let mut spaces = lab.netnses(&["client", "rproxy1", "rproxy2", "ipvslb11", "ipvslb12"])?;
        let client = spaces.remove(0);
        lab.segment("lan");
        lab.plug(&client, "eth0", "lan", &["10.0.0.10/24"])?;
        lab.plug(&spaces[0], "eth0", "lan", &["10.0.0.11/24"])?;
        lab.plug(&spaces[1], "eth0", "lan", &["10.0.0.12/24"])?;
        lab.plug(&spaces[2], "eth0", "lan", &["10.0.0.2/24", "10.0.0.100/32"])?;
        lab.plug(&spaces[3], "eth0", "lan", &["10.0.0.3/24"])?;
        lab.commit()?;
        let mut spaces = spaces.into_iter();
        let mut servers = Vec::new();
        for (name, rip) in [("rproxy1", "10.0.0.11"), ("rproxy2", "10.0.0.12")] {
            let ns = spaces.next().ok_or("missing namespace")?;
            realserver::direct_route_real_server(&ns, vip.into())?;
            let server = Some(Server::start(&ns, name, PORT)?);
            servers.push(RealServer {
                name: name.into(),
                rip: ip4(rip)?,
                server,
                ns,
            });
        }
        let dests: Vec<Destination> = servers
            .iter()
            .map(|s| Destination::new(s.rip, PORT).with_forward(Forward::DirectRoute))
            .collect();
        let key = ServiceKey::tcp(vip, PORT);
        let mut directors = Vec::new();
        for (name, state) in [
            ("ipvslb11", SyncState::Master),
            ("ipvslb12", SyncState::Backup),
        ] {
            let ns = spaces.next().ok_or("missing namespace")?;
            let ipvs = ns.ipvs()?;
            add_service(&ipvs, key, &Scheduler::RoundRobin, &dests)?;
            if state == SyncState::Master || backup_daemon {
                ipvs.start_daemon(&SyncDaemon::new(state, "eth0", 7))?;
            }
            directors.push(Director {
                name: name.into(),
                ipvs,
                ns,
            });
        }
        Ok(Scenario {
            servers,
            directors,
            client,
            others: Vec::new(),
            key,
            vip: SocketAddr::new(IpAddr::V4(vip), PORT),
            dests,
            lab,
        })
    }

    /// The lab's namespace prefix.
    pub fn lab(&self) -> &Lab {
        &self.lab
    }

    /// One HTTP request from the client to the VIP; the name of the real
    /// server that answered.
    pub fn request(&self) -> Result<String> {
        traffic::http_get(&self.client, self.vip)
    }

    /// One HTTP request to the VIP from the client's address `from` (see
    /// [`Scenario::add_client_addresses`]); the real server that answered.
    pub fn request_from(&self, from: IpAddr) -> Result<String> {
        traffic::http_get_from(&self.client, from, self.vip)
    }

    /// Gives the client namespace more addresses (as /32 on its `eth0`,
    /// through the library's rtnetlink handle), each a client of its own.
    pub fn add_client_addresses(&self, addrs: &[IpAddr]) -> Result<()> {
        let rtnl = self.client.rtnl()?;
        for a in addrs {
            rtnl.add_address("eth0", IpNetwork::from(*a))?;
        }
        Ok(())
    }

    /// `n` requests; every one must succeed.
    pub fn requests(&self, n: usize) -> Result<Vec<String>> {
        (0..n).map(|_| self.request()).collect()
    }

    /// A long-lived connection from the client to the VIP.
    pub fn session(&self) -> Result<Session> {
        Session::open(&self.client, self.vip)
    }

    /// The name of the real server with address `addr`.
    pub fn server_name(&self, addr: IpAddr) -> String {
        self.servers
            .iter()
            .find(|s| IpAddr::V4(s.rip) == addr)
            .map(|s| s.name.clone())
            .unwrap_or_else(|| addr.to_string())
    }

    /// The real server called `name`.
    pub fn server(&mut self, name: &str) -> Result<&mut RealServer> {
        self.servers
            .iter_mut()
            .find(|s| s.name == name)
            .ok_or_else(|| format!("no real server {name}").into())
    }

    /// The configured destination of the real server called `name`.
    pub fn dest(&self, name: &str) -> Result<Destination> {
        let s = self
            .servers
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| format!("no real server {name}"))?;
        self.dests
            .iter()
            .find(|d| d.addr == IpAddr::V4(s.rip))
            .copied()
            .ok_or_else(|| format!("{name} is not configured").into())
    }

    /// Per-server connection counters of `director`'s table, from the
    /// library's listing with stats: name -> connections scheduled.
    pub fn conn_counters(&self, director: usize) -> Result<BTreeMap<String, u64>> {
        let d = self
            .directors
            .get(director)
            .ok_or_else(|| format!("no director #{director}"))?;
        Ok(d.ipvs
            .destinations(&self.key)?
            .iter()
            .map(|e| (self.server_name(e.destination.addr), e.stats.conns))
            .collect())
    }

    /// `director`'s table as text: the service, then each real server with
    /// its weight, connection counts and traffic counters.
    pub fn table(&self, director: usize) -> Result<String> {
        let d = self
            .directors
            .get(director)
            .ok_or_else(|| format!("no director #{director}"))?;
        let mut out = String::new();
        writeln!(
            out,
            "  {} (namespace {}): IPVS table read back through the library",
            d.name,
            d.ns.name()
        )?;
        let svc = d.ipvs.service(&self.key)?;
        writeln!(
            out,
            "  {}   conns {}  packets in {}  bytes in {}",
            svc.service, svc.stats.conns, svc.stats.in_packets, svc.stats.in_bytes
        )?;
        writeln!(
            out,
            "    {:<9} {:<16} {:<7} {:>6} {:>6} {:>8} {:>7} {:>8} {:>8}",
            "server",
            "address",
            "forward",
            "weight",
            "active",
            "inactive",
            "conns",
            "pkts in",
            "bytes in"
        )?;
        for e in d.ipvs.destinations(&self.key)? {
            let dst = &e.destination;
            writeln!(
                out,
                "    {:<9} {:<16} {:<7} {:>6} {:>6} {:>8} {:>7} {:>8} {:>8}",
                self.server_name(dst.addr),
                dst.to_string(),
                dst.forward.ipvsadm_name(),
                dst.weight,
                e.active_conns,
                e.inactive_conns,
                e.stats.conns,
                e.stats.in_packets,
                e.stats.in_bytes
            )?;
        }
        Ok(out)
    }

    /// Makes the core router send VIP traffic to `director` (two-DC scenario).
    pub fn route_vip_to(&self, director: usize) -> Result<()> {
        let core = self
            .others
            .first()
            .ok_or("this scenario has no core router")?;
        let via = format!("10.{}.0.11", director + 1);
        core.ip_batch(&[format!("route replace 10.100.0.100/32 via {via}")])?;
        Ok(())
    }

    /// Makes the core router spread VIP traffic over both directors (two-DC
    /// scenario): one ECMP route with a next hop per director, hashed on the
    /// flow's addresses, as a router in front of a scaled-out tier would.
    pub fn route_vip_ecmp(&self) -> Result<()> {
        let core = self
            .others
            .first()
            .ok_or("this scenario has no core router")?;
        let hops = "nexthop via 10.1.0.11 nexthop via 10.2.0.11";
        core.ip_batch(&[format!("route replace 10.100.0.100/32 {hops}")])?;
        Ok(())
    }

    /// Moves the VIP from director 0 to director 1 (failover scenario), the
    /// way a VRRP daemon would: the old master's link goes down, the backup
    /// takes the address, and the client forgets the old MAC (standing in
    /// for the gratuitous ARP).
    pub fn move_vip_to_backup(&self) -> Result<()> {
        let [master, backup] = &self.directors[..] else {
            return Err("the failover scenario has two directors".into());
        };
        let vip = IpNetwork::from(IpAddr::from(ip4("10.0.0.100")?));
        let old = master.ns.rtnl()?;
        old.del_address("eth0", vip)?;
        old.set_up("eth0", false)?;
        backup.ns.rtnl()?.add_address("eth0", vip)?;
        // the library has no neighbour table: `ip` stands in for the gratuitous ARP
        self.client.ip(&["neigh", "flush", "dev", "eth0"])?;
        Ok(())
    }

    /// Waits up to `timeout` until `director`'s connection table
    /// (`/proc/net/ip_vs_conn` in its namespace) has the client connection
    /// from `from`; returns that line.
    pub fn wait_for_conn(
        &self,
        director: usize,
        from: SocketAddr,
        timeout: Duration,
    ) -> Result<Option<String>> {
        let d = self
            .directors
            .get(director)
            .ok_or_else(|| format!("no director #{director}"))?;
        let want = conn_key(from).ok_or("IPv4 only")?;
        let start = Instant::now();
        loop {
            let table = d.ns.proc_net("ip_vs_conn")?;
            if let Some(l) = table.lines().find(|l| l.contains(&want)) {
                return Ok(Some(l.to_owned()));
            }
            if start.elapsed() > timeout {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// How `/proc/net/ip_vs_conn` writes an IPv4 client address and port
/// (`0A00000A 977A` for 10.0.0.10:38778); `None` for IPv6.
pub fn conn_key(from: SocketAddr) -> Option<String> {
    match from.ip() {
        IpAddr::V4(a) => Some(format!("{:08X} {:04X}", u32::from(a), from.port())),
        IpAddr::V6(_) => None,
    }
}

/// Counts how many answers each server gave.
pub fn tally(answers: &[String]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for a in answers {
        *m.entry(a.clone()).or_insert(0) += 1;
    }
    m
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn conn_key_matches_a_proc_net_ip_vs_conn_line() {
        // a line read in the VM for the connection from 10.0.0.10:38778
        let line = "TCP 0A00000A 977A 0A000064 0050 0A00000C 0050 ESTABLISHED     899";
        let key = conn_key("10.0.0.10:38778".parse().unwrap()).unwrap();
        assert_eq!(key, "0A00000A 977A");
        assert!(line.contains(&key));
        assert_eq!(conn_key("[::1]:80".parse().unwrap()), None);
    }

    #[test]
    fn tally_counts_answers() {
        let t = tally(&["a".into(), "b".into(), "a".into()]);
        assert_eq!(t.get("a"), Some(&2));
        assert_eq!(t.get("b"), Some(&1));
    }
}
