//! The rules text of `ipvsadm -S` / `ipvsadm -R`: parsing and emitting.
//!
//! `ipvsadm -R` reads one command line per line, split on whitespace, without
//! quoting; the word `ipvsadm` is skipped wherever it appears. Every line is an
//! ordinary ipvsadm command: [`parse`] accepts all the commands and options
//! `ipvsadm -R` accepts for them (`-A -E -D -a -e -d -C -Z --set
//! --start-daemon --stop-daemon`, short and long forms, `--opt=value`,
//! attached short arguments `-w5`, clustered flags `-mw 5`), and refuses
//! what ipvsadm refuses: a command that is not first, an option illegal for
//! the command, tunnel options without `-i`, and so on. Differences, all
//! documented where they apply: names (host names, port names) are refused
//! because only numeric forms are accepted; `-M` is interpreted by the family
//! of the whole line rather than by option order, and dropped without `-p`
//! (where it has no effect); weights go up to
//! [`Destination::MAX_WEIGHT`] (ipvsadm stops at 65535); blank lines and
//! lines starting with `#` are skipped.
//!
//! [`save`] writes a table as `ipvsadm -Sn` does, byte for byte (same order,
//! same spacing) with [`Format::Ipvsadm`]; [`Format::Lossless`] also writes
//! what `ipvsadm -Sn` leaves out but `ipvsadm -R` accepts (thresholds `-x`/`-y`,
//! scheduler flags ipvsadm does not name for `sh`/`mh`), so the text rebuilds
//! the same table.
//!
//! ipvsadm's own quirks are reproduced in [`Format::Ipvsadm`] because they
//! are what `ipvsadm -Sn` prints: the order comes from libipvs's comparisons
//! (32-bit differences stored in an `int`, so `10.0.0.1` sorts after
//! `192.168.1.1`) run through glibc's merge sort; IPv6 addresses are written
//! by glibc's `inet_ntop` (`::1.2.3.4`); ipvsadm 1.31 writes marks above
//! 2147483647 as negative numbers (read back here, refused by `ipvsadm -R`);
//! `flag-3` on an `sh`/`mh` service comes out as a bare `-b ` (which neither
//! ipvsadm nor [`parse`] accepts); local-node and bypass servers are written
//! `-g`.

use std::fmt::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::model::{
    Destination, DestinationEntry, EncapFlags, Family, Forward, Name, Netmask, Persistence,
    Protocol, Scheduler, Service, ServiceEntry, ServiceFlags, ServiceKey, SyncDaemon, SyncState,
    Timeouts, Tunnel,
};

/// The persistence timeout ipvsadm uses for `-p` without a value, in seconds
/// (its `IPVS_SVC_PERSISTENT_TIMEOUT`, 6 minutes).
pub const IPVSADM_DEFAULT_PERSISTENCE_TIMEOUT: u32 = crate::model::Persistence::DEFAULT_TIMEOUT;

/// ipvsadm's largest persistence timeout (31 days), in seconds.
pub const MAX_PERSISTENCE_TIMEOUT: u32 = 86400 * 31;

/// One line of rules text: one ipvsadm command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rule {
    /// `-A`: add a virtual service.
    AddService(Service),
    /// `-E`: edit a virtual service (options not given take their defaults, as with ipvsadm).
    EditService(Service),
    /// `-D`: delete a virtual service.
    DeleteService(ServiceKey),
    /// `-a`: add a real server to a service.
    AddServer {
        /// The virtual service.
        service: ServiceKey,
        /// The real server.
        destination: Destination,
    },
    /// `-e`: edit a real server (options not given take their defaults, as with ipvsadm).
    EditServer {
        /// The virtual service.
        service: ServiceKey,
        /// The real server.
        destination: Destination,
    },
    /// `-d`: delete a real server.
    DeleteServer {
        /// The virtual service.
        service: ServiceKey,
        /// The real server's address.
        addr: IpAddr,
        /// The real server's port.
        port: u16,
    },
    /// `-C`: clear the whole table.
    Clear,
    /// `-Z`: zero the counters of one service or of all.
    Zero(Option<ServiceKey>),
    /// `--set tcp tcpfin udp`: connection timeouts (0 keeps a value).
    SetTimeouts(Timeouts),
    /// `--start-daemon`: start a sync daemon.
    StartDaemon(SyncDaemon),
    /// `--stop-daemon`: stop a sync daemon.
    StopDaemon {
        /// Which daemon.
        state: SyncState,
        /// `--syncid`, which ipvsadm accepts here (the kernel ignores it).
        sync_id: Option<u32>,
    },
}

/// Which flavour of rules text [`save`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// Exactly what `ipvsadm -Sn` prints.
    #[default]
    Ipvsadm,
    /// `ipvsadm -Sn` plus thresholds (`-x`, `-y`) and every scheduler flag,
    /// which `ipvsadm -R` accepts: the text rebuilds the same table.
    Lossless,
}

/// Rules text that could not be parsed: where and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column (in characters) of the offending word, or of the line's first word.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

// ---------------------------------------------------------------------------
// Emitting

/// Formats an IPv6 address as glibc's `inet_ntop` does (which ipvsadm uses):
/// like RFC 5952, except that `::a.b.c.d` keeps the dotted form for
/// IPv4-compatible addresses.
pub fn ipv6_to_string(a: &Ipv6Addr) -> String {
    let w = a.segments();
    // longest (first) run of zero words, at least 2 long
    let (mut best, mut best_len) = (usize::MAX, 0usize);
    let mut i = 0;
    while i < 8 {
        if w[i] == 0 {
            let start = i;
            while i < 8 && w[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                best = start;
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    if best_len < 2 {
        best = usize::MAX;
    }
    let mut s = String::with_capacity(40);
    for (i, word) in w.iter().enumerate() {
        if best != usize::MAX && i >= best && i < best + best_len {
            if i == best {
                s.push(':');
            }
            continue;
        }
        if i != 0 {
            s.push(':');
        }
        if i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)) {
            let o = a.octets();
            let _ = write!(s, "{}.{}.{}.{}", o[12], o[13], o[14], o[15]);
            return s;
        }
        let _ = write!(s, "{word:x}");
    }
    if best != usize::MAX && best + best_len == 8 {
        s.push(':');
    }
    s
}

fn addr_port(addr: &IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{}]:{port}", ipv6_to_string(a)),
    }
}

/// The service part of a rule: `-t 10.0.0.1:80`, `-f 7 -6`.
///
/// ipvsadm 1.31 prints firewall marks as a signed `int` (marks above
/// 2147483647 come out negative); [`Format::Ipvsadm`] does the same, lossless
/// text writes them unsigned.
fn service_arg(key: &ServiceKey, format: Format) -> String {
    let mark_str = |mark: u32| match format {
        Format::Ipvsadm => (mark as i32).to_string(),
        Format::Lossless => mark.to_string(),
    };
    match key {
        ServiceKey::Inet {
            protocol,
            addr,
            port,
        } => {
            let opt = match protocol {
                Protocol::Tcp => "-t",
                Protocol::Udp => "-u",
                Protocol::Sctp => "--sctp-service",
                // no ipvsadm words: a listed value that cannot be written
                Protocol::Unknown(_) => "--unknown-protocol",
            };
            format!("{opt} {}", addr_port(addr, *port))
        }
        ServiceKey::Fwmark {
            family: Family::Ipv4,
            mark,
        } => format!("-f {}", mark_str(*mark)),
        ServiceKey::Fwmark {
            family: Family::Ipv6,
            mark,
        } => format!("-f {} -6", mark_str(*mark)),
    }
}

fn sched_flag_names(svc: &Service, format: Format) -> Vec<&'static str> {
    let mut names = Vec::new();
    let f = svc.flags;
    let (n1, n2) = match svc.scheduler.name() {
        "sh" => ("sh-fallback", "sh-port"),
        "mh" => ("mh-fallback", "mh-port"),
        _ => ("flag-1", "flag-2"),
    };
    let named3 = !matches!(svc.scheduler.name(), "sh" | "mh");
    if f.contains(ServiceFlags::SCHED_1) {
        names.push(n1);
    }
    if f.contains(ServiceFlags::SCHED_2) {
        names.push(n2);
    }
    // ipvsadm does not name flag-3 for sh and mh (it prints `-b ` alone),
    // though `-b flag-3` is accepted with any scheduler.
    if f.contains(ServiceFlags::SCHED_3) && (named3 || format == Format::Lossless) {
        names.push("flag-3");
    }
    names
}

fn write_service(out: &mut String, cmd: &str, svc: &Service, format: Format) {
    let _ = write!(
        out,
        "{cmd} {} -s {}",
        service_arg(&svc.key, format),
        svc.scheduler.name()
    );
    if let Some(p) = &svc.persistence {
        let _ = write!(out, " -p {}", p.timeout);
        match (svc.key.family(), p.netmask) {
            (Family::Ipv4, Netmask::V4(m)) if m != Ipv4Addr::BROADCAST => {
                let _ = write!(out, " -M {m}");
            }
            (Family::Ipv6, Netmask::V6(l)) if l != 128 => {
                let _ = write!(out, " -M {l}");
            }
            _ => {}
        }
    }
    if let Some(pe) = &svc.pe {
        let _ = write!(out, " --pe {pe}");
    }
    if svc.flags.contains(ServiceFlags::ONE_PACKET) {
        out.push_str(" -o");
    }
    let sched = ServiceFlags::SCHED_1 | ServiceFlags::SCHED_2 | ServiceFlags::SCHED_3;
    if svc.flags.intersects(sched) {
        let _ = write!(out, " -b {}", sched_flag_names(svc, format).join(","));
    }
}

fn write_server(out: &mut String, cmd: &str, key: &ServiceKey, d: &Destination, format: Format) {
    let fwd = match d.forward {
        Forward::Masq => "-m",
        Forward::Tunnel(_) => "-i",
        // ipvsadm writes -g for local-node servers (the kernel makes a DR
        // server on a local address local) and, lacking a switch, also for bypass
        Forward::DirectRoute | Forward::Local | Forward::Bypass => "-g",
        // no ipvsadm words: a listed value that cannot be written
        Forward::Unknown(_) => "--unknown-forwarding",
    };
    let _ = write!(
        out,
        "{cmd} {} -r {} {fwd} -w {}",
        service_arg(key, format),
        addr_port(&d.addr, d.port),
        d.weight
    );
    if format == Format::Lossless && (d.upper_threshold != 0 || d.lower_threshold != 0) {
        let _ = write!(out, " -x {} -y {}", d.upper_threshold, d.lower_threshold);
    }
    let csum = |flags: EncapFlags| {
        if flags.contains(EncapFlags::REMCSUM) {
            "--tun-remcsum"
        } else if flags.contains(EncapFlags::CSUM) {
            "--tun-csum"
        } else {
            "--tun-nocsum"
        }
    };
    match d.forward {
        Forward::Tunnel(Tunnel::Ipip) => out.push_str(" --tun-type ipip"),
        Forward::Tunnel(Tunnel::Gue { port, flags }) => {
            let _ = write!(out, " --tun-type gue --tun-port {port} {}", csum(flags));
        }
        Forward::Tunnel(Tunnel::Gre { flags }) => {
            let _ = write!(out, " --tun-type gre {}", csum(flags));
        }
        _ => {}
    }
}

impl Rule {
    /// The rule as one line of rules text (without the newline).
    pub fn to_line(&self, format: Format) -> String {
        let mut s = String::new();
        match self {
            Rule::AddService(svc) => write_service(&mut s, "-A", svc, format),
            Rule::EditService(svc) => write_service(&mut s, "-E", svc, format),
            Rule::DeleteService(key) => {
                let _ = write!(s, "-D {}", service_arg(key, format));
            }
            Rule::AddServer {
                service,
                destination,
            } => write_server(&mut s, "-a", service, destination, format),
            Rule::EditServer {
                service,
                destination,
            } => write_server(&mut s, "-e", service, destination, format),
            Rule::DeleteServer {
                service,
                addr,
                port,
            } => {
                let _ = write!(
                    s,
                    "-d {} -r {}",
                    service_arg(service, format),
                    addr_port(addr, *port)
                );
            }
            Rule::Clear => s.push_str("-C"),
            Rule::Zero(None) => s.push_str("-Z"),
            Rule::Zero(Some(key)) => {
                let _ = write!(s, "-Z {}", service_arg(key, format));
            }
            Rule::SetTimeouts(t) => {
                let _ = write!(s, "--set {} {} {}", t.tcp, t.tcp_fin, t.udp);
            }
            Rule::StartDaemon(d) => {
                let state = match d.state {
                    SyncState::Master => "master",
                    SyncState::Backup => "backup",
                    SyncState::Unknown(_) => "unknown",
                };
                let _ = write!(
                    s,
                    "--start-daemon {state} --mcast-interface {} --syncid {}",
                    d.interface, d.sync_id
                );
                if let Some(v) = d.max_len {
                    let _ = write!(s, " --sync-maxlen {v}");
                }
                if let Some(g) = d.group {
                    let g = match g {
                        IpAddr::V4(a) => a.to_string(),
                        IpAddr::V6(a) => ipv6_to_string(&a),
                    };
                    let _ = write!(s, " --mcast-group {g}");
                }
                if let Some(v) = d.port {
                    let _ = write!(s, " --mcast-port {v}");
                }
                if let Some(v) = d.ttl {
                    let _ = write!(s, " --mcast-ttl {v}");
                }
            }
            Rule::StopDaemon { state, sync_id } => {
                let state = match state {
                    SyncState::Master => "master",
                    SyncState::Backup => "backup",
                    SyncState::Unknown(_) => "unknown",
                };
                let _ = write!(s, "--stop-daemon {state}");
                if let Some(id) = sync_id {
                    let _ = write!(s, " --syncid {id}");
                }
            }
        }
        s
    }
}

impl fmt::Display for Rule {
    /// The lossless line ([`Format::Lossless`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_line(Format::Lossless))
    }
}

/// The address as libipvs holds it: four big-endian words (IPv4 in the first).
fn words(a: &IpAddr) -> [u32; 4] {
    match a {
        IpAddr::V4(a) => [u32::from(*a), 0, 0, 0],
        IpAddr::V6(a) => {
            let o = a.octets();
            let w = |i: usize| u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]]);
            [w(0), w(4), w(8), w(12)]
        }
    }
}

/// libipvs compares 32-bit unsigned values by subtracting them into an `int`.
fn wrap_cmp(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

fn addr_cmp(a: &IpAddr, b: &IpAddr) -> i32 {
    let (wa, wb) = (words(a), words(b));
    if a.is_ipv6() {
        for i in 0..4 {
            let r = wrap_cmp(wa[i], wb[i]);
            if r != 0 {
                return r;
            }
        }
        0
    } else {
        wrap_cmp(wa[0], wb[0])
    }
}

/// libipvs's service comparison (`ipvs_cmp_services`), quirks included.
fn service_cmp(a: &ServiceKey, b: &ServiceKey) -> i32 {
    let fw = |k: &ServiceKey| match k {
        ServiceKey::Fwmark { mark, .. } => *mark,
        ServiceKey::Inet { .. } => 0,
    };
    let r = wrap_cmp(fw(a), fw(b));
    if r != 0 {
        return r;
    }
    let r = i32::from(a.key_family_af()) - i32::from(b.key_family_af());
    if r != 0 {
        return r;
    }
    match (a, b) {
        (
            ServiceKey::Inet {
                protocol: pa,
                addr: aa,
                port: qa,
            },
            ServiceKey::Inet {
                protocol: pb,
                addr: ab,
                port: qb,
            },
        ) => {
            let r = i32::from(pa.number()) - i32::from(pb.number());
            if r != 0 {
                return r;
            }
            let r = addr_cmp(aa, ab);
            if r != 0 {
                return r;
            }
            i32::from(*qa) - i32::from(*qb)
        }
        _ => 0,
    }
}

impl ServiceKey {
    fn key_family_af(&self) -> u16 {
        self.family().af()
    }
}

/// libipvs's destination comparison (`ipvs_cmp_dests`): the first one's family decides.
fn dest_cmp(a: &Destination, b: &Destination) -> i32 {
    let r = addr_cmp(&a.addr, &b.addr);
    if r != 0 {
        return r;
    }
    i32::from(a.port) - i32::from(b.port)
}

/// glibc's `qsort` (a top-down merge sort, ties to the left), so that even
/// libipvs's non-transitive comparisons order things as ipvsadm does.
fn msort<T: Clone>(v: &mut [T], cmp: &impl Fn(&T, &T) -> i32) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    msort(&mut v[..n1], cmp);
    msort(&mut v[n1..], cmp);
    let mut merged = Vec::with_capacity(n);
    let (mut i, mut j) = (0, n1);
    while i < n1 && j < n {
        if cmp(&v[i], &v[j]) <= 0 {
            merged.push(v[i].clone());
            i += 1;
        } else {
            merged.push(v[j].clone());
            j += 1;
        }
    }
    merged.extend_from_slice(&v[i..n1]);
    merged.extend_from_slice(&v[j..n]);
    v.clone_from_slice(&merged);
}

/// Sorts services and their destinations as `ipvsadm -S` does (the table as
/// listed by the kernel is the input order, as it is for ipvsadm).
pub fn ipvsadm_order(table: &mut [(Service, Vec<Destination>)]) {
    msort(table, &|a: &(Service, Vec<Destination>), b| {
        service_cmp(&a.0.key, &b.0.key)
    });
    for (_, dests) in table.iter_mut() {
        msort(dests, &dest_cmp);
    }
}

/// The rules that rebuild `table`, in ipvsadm's order: for each service its
/// `-A` then one `-a` per real server.
pub fn table_rules(table: &[(Service, Vec<Destination>)]) -> Vec<Rule> {
    let mut sorted = table.to_vec();
    ipvsadm_order(&mut sorted);
    let mut rules = Vec::new();
    for (svc, dests) in sorted {
        let key = svc.key;
        rules.push(Rule::AddService(svc));
        for d in dests {
            rules.push(Rule::AddServer {
                service: key,
                destination: d,
            });
        }
    }
    rules
}

/// Writes `table` as rules text: with [`Format::Ipvsadm`] byte for byte what
/// `ipvsadm -Sn` prints for it.
pub fn save(table: &[(Service, Vec<Destination>)], format: Format) -> String {
    let mut out = String::new();
    for rule in table_rules(table) {
        out.push_str(&rule.to_line(format));
        out.push('\n');
    }
    out
}

/// [`save`] for a table as the kernel lists it (entries with counters).
pub fn save_entries(table: &[(ServiceEntry, Vec<DestinationEntry>)], format: Format) -> String {
    let plain: Vec<(Service, Vec<Destination>)> = table
        .iter()
        .map(|(s, ds)| {
            (
                s.service.clone(),
                ds.iter().map(|d| d.destination).collect(),
            )
        })
        .collect();
    save(&plain, format)
}

// ---------------------------------------------------------------------------
// Parsing

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arg {
    None,
    Required,
    Optional,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Add,
    Edit,
    Del,
    Clear,
    Zero,
    AddDest,
    EditDest,
    DelDest,
    Set,
    StartDaemon,
    StopDaemon,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Opt {
    Cmd(Cmd),
    /// -L, -S, -R, -h, -v: commands that make no sense in rules text.
    OtherCmd,
    Tcp,
    Udp,
    Sctp,
    Fwmark,
    Sched,
    Persistent,
    Netmask,
    Server,
    Masq,
    Ipip,
    Gate,
    Weight,
    UThresh,
    LThresh,
    Ipv6,
    Ops,
    Pe,
    SchedFlags,
    McastIf,
    SyncId,
    McastGroup,
    McastPort,
    McastTtl,
    SyncMaxlen,
    TunType,
    TunPort,
    TunNocsum,
    TunCsum,
    TunRemcsum,
    /// Listing options (-n, -c, --stats, ...): illegal with every rules command.
    Listing,
}

/// (long name, short name, argument, option)
const OPTIONS: &[(&str, Option<char>, Arg, Opt)] = &[
    ("add-service", Some('A'), Arg::None, Opt::Cmd(Cmd::Add)),
    ("edit-service", Some('E'), Arg::None, Opt::Cmd(Cmd::Edit)),
    ("delete-service", Some('D'), Arg::None, Opt::Cmd(Cmd::Del)),
    ("clear", Some('C'), Arg::None, Opt::Cmd(Cmd::Clear)),
    ("zero", Some('Z'), Arg::None, Opt::Cmd(Cmd::Zero)),
    ("add-server", Some('a'), Arg::None, Opt::Cmd(Cmd::AddDest)),
    ("edit-server", Some('e'), Arg::None, Opt::Cmd(Cmd::EditDest)),
    (
        "delete-server",
        Some('d'),
        Arg::None,
        Opt::Cmd(Cmd::DelDest),
    ),
    ("set", None, Arg::None, Opt::Cmd(Cmd::Set)),
    (
        "start-daemon",
        None,
        Arg::Required,
        Opt::Cmd(Cmd::StartDaemon),
    ),
    (
        "stop-daemon",
        None,
        Arg::Required,
        Opt::Cmd(Cmd::StopDaemon),
    ),
    ("list", Some('L'), Arg::None, Opt::OtherCmd),
    ("list", Some('l'), Arg::None, Opt::OtherCmd),
    ("help", Some('h'), Arg::None, Opt::OtherCmd),
    ("version", Some('v'), Arg::None, Opt::OtherCmd),
    ("restore", Some('R'), Arg::None, Opt::OtherCmd),
    ("save", Some('S'), Arg::None, Opt::OtherCmd),
    ("tcp-service", Some('t'), Arg::Required, Opt::Tcp),
    ("udp-service", Some('u'), Arg::Required, Opt::Udp),
    ("sctp-service", None, Arg::Required, Opt::Sctp),
    ("fwmark-service", Some('f'), Arg::Required, Opt::Fwmark),
    ("scheduler", Some('s'), Arg::Required, Opt::Sched),
    ("persistent", Some('p'), Arg::Optional, Opt::Persistent),
    ("netmask", Some('M'), Arg::Required, Opt::Netmask),
    ("real-server", Some('r'), Arg::Required, Opt::Server),
    ("masquerading", Some('m'), Arg::None, Opt::Masq),
    ("ipip", Some('i'), Arg::None, Opt::Ipip),
    ("gatewaying", Some('g'), Arg::None, Opt::Gate),
    ("weight", Some('w'), Arg::Required, Opt::Weight),
    ("u-threshold", Some('x'), Arg::Required, Opt::UThresh),
    ("l-threshold", Some('y'), Arg::Required, Opt::LThresh),
    ("ipv6", Some('6'), Arg::None, Opt::Ipv6),
    ("ops", Some('o'), Arg::None, Opt::Ops),
    ("pe", None, Arg::Required, Opt::Pe),
    ("sched-flags", Some('b'), Arg::Required, Opt::SchedFlags),
    ("mcast-interface", None, Arg::Required, Opt::McastIf),
    ("syncid", None, Arg::Required, Opt::SyncId),
    ("mcast-group", None, Arg::Required, Opt::McastGroup),
    ("mcast-port", None, Arg::Required, Opt::McastPort),
    ("mcast-ttl", None, Arg::Required, Opt::McastTtl),
    ("sync-maxlen", None, Arg::Required, Opt::SyncMaxlen),
    ("tun-type", None, Arg::Required, Opt::TunType),
    ("tun-port", None, Arg::Required, Opt::TunPort),
    ("tun-nocsum", None, Arg::None, Opt::TunNocsum),
    ("tun-csum", None, Arg::None, Opt::TunCsum),
    ("tun-remcsum", None, Arg::None, Opt::TunRemcsum),
    ("numeric", Some('n'), Arg::None, Opt::Listing),
    ("connection", Some('c'), Arg::None, Opt::Listing),
    ("exact", Some('X'), Arg::None, Opt::Listing),
    ("timeout", None, Arg::None, Opt::Listing),
    ("daemon", None, Arg::None, Opt::Listing),
    ("stats", None, Arg::None, Opt::Listing),
    ("rate", None, Arg::None, Opt::Listing),
    ("thresholds", None, Arg::None, Opt::Listing),
    ("persistent-conn", None, Arg::None, Opt::Listing),
    ("nosort", None, Arg::None, Opt::Listing),
    ("sort", None, Arg::None, Opt::Listing),
    ("tun-info", None, Arg::None, Opt::Listing),
];

/// A word of a line and its 1-based column.
#[derive(Clone, Copy, Debug)]
struct Word<'a> {
    text: &'a str,
    col: usize,
}

/// One option occurrence: which, where, and its argument (with its column).
#[derive(Clone, Debug)]
struct Occ<'a> {
    opt: Opt,
    name: String,
    col: usize,
    arg: Option<Word<'a>>,
}

/// The word at `*i` as an option's argument (and moves past it): a required
/// argument takes whatever word comes next, an optional one only a word that
/// does not look like an option.
fn next_arg<'a>(words: &[Word<'a>], i: &mut usize, required: bool) -> Option<Word<'a>> {
    match words.get(*i) {
        Some(next) if required || !next.text.starts_with('-') => {
            *i += 1;
            Some(*next)
        }
        _ => None,
    }
}

struct LineParser {
    line: usize,
}

impl LineParser {
    fn err(&self, col: usize, msg: impl Into<String>) -> ParseError {
        ParseError {
            line: self.line,
            column: col,
            message: msg.into(),
        }
    }

    /// Splits a line's words into option occurrences and positional arguments.
    fn options<'a>(&self, words: &[Word<'a>]) -> Result<(Vec<Occ<'a>>, Vec<Word<'a>>), ParseError> {
        let mut occs = Vec::new();
        let mut positional = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let w = words[i];
            i += 1;
            if let Some(long) = w.text.strip_prefix("--") {
                let (name, attached) = match long.split_once('=') {
                    Some((n, v)) => (n, Some(v)),
                    None => (long, None),
                };
                let Some(&(lname, _, arg, opt)) = OPTIONS.iter().find(|o| o.0 == name) else {
                    return Err(self.err(w.col, format!("unknown option `{}`", w.text)));
                };
                let value = match (arg, attached) {
                    (Arg::None, Some(_)) => {
                        return Err(self.err(w.col, format!("option --{lname} takes no argument")))
                    }
                    (Arg::None, None) => None,
                    (_, Some(v)) => Some(Word {
                        text: v,
                        col: w.col + 3 + name.chars().count(),
                    }),
                    (Arg::Required, None) => {
                        let Some(next) = next_arg(words, &mut i, true) else {
                            return Err(
                                self.err(w.col, format!("option --{lname} needs an argument"))
                            );
                        };
                        Some(next)
                    }
                    (Arg::Optional, None) => next_arg(words, &mut i, false),
                };
                occs.push(Occ {
                    opt,
                    name: format!("--{lname}"),
                    col: w.col,
                    arg: value,
                });
            } else if w.text.len() > 1 && w.text.starts_with('-') {
                // a cluster of short options; the first that takes an
                // argument takes the rest of the word or the next word
                let body = &w.text[1..];
                for (off, c) in body.char_indices() {
                    let letter_col = w.col + 1 + body[..off].chars().count();
                    // the first option of a word is placed at its dash
                    let col = if off == 0 { w.col } else { letter_col };
                    let Some(&(_, _, arg, opt)) = OPTIONS.iter().find(|o| o.1 == Some(c)) else {
                        return Err(self.err(
                            if off == 0 {
                                w.col
                            } else {
                                w.col + 1 + body[..off].chars().count()
                            },
                            format!("unknown option `-{c}`"),
                        ));
                    };
                    let rest = &body[off + c.len_utf8()..];
                    let name = format!("-{c}");
                    match arg {
                        Arg::None => occs.push(Occ {
                            opt,
                            name,
                            col,
                            arg: None,
                        }),
                        Arg::Required | Arg::Optional => {
                            let value = if !rest.is_empty() {
                                Some(Word {
                                    text: rest,
                                    col: letter_col + 1,
                                })
                            } else {
                                let required = arg == Arg::Required;
                                let next = next_arg(words, &mut i, required);
                                if required && next.is_none() {
                                    return Err(
                                        self.err(col, format!("option -{c} needs an argument"))
                                    );
                                }
                                next
                            };
                            occs.push(Occ {
                                opt,
                                name,
                                col,
                                arg: value,
                            });
                            break;
                        }
                    }
                }
            } else {
                positional.push(w);
            }
        }
        Ok((occs, positional))
    }
}

fn number<T: TryFrom<u64>>(w: &Word<'_>, min: u64, max: u64) -> Option<T> {
    if w.text.is_empty() || !w.text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = w.text.parse().ok()?;
    if n < min || n > max {
        return None;
    }
    T::try_from(n).ok()
}

/// Parses `addr`, `addr:port`, `[v6]:port` or a bare IPv6 address.
/// Returns the address and the port if one was given.
fn parse_addr_port(s: &str) -> Option<(IpAddr, Option<u16>)> {
    let port = |p: &str| -> Option<u16> {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok()
    };
    if let Some(rest) = s.strip_prefix('[') {
        let (a, tail) = rest.split_once(']')?;
        let a: Ipv6Addr = a.parse().ok()?;
        let p = tail.strip_prefix(':')?;
        return Some((IpAddr::V6(a), Some(port(p)?)));
    }
    if let Ok(a) = s.parse::<Ipv6Addr>() {
        return Some((IpAddr::V6(a), None));
    }
    match s.rsplit_once(':') {
        Some((a, p)) => Some((IpAddr::V4(a.parse().ok()?), Some(port(p)?))),
        None => Some((IpAddr::V4(s.parse().ok()?), None)),
    }
}

fn opt_allowed(cmd: Cmd, opt: Opt) -> bool {
    use Opt::{
        Fwmark, Gate, Ipip, Ipv6, LThresh, Masq, McastGroup, McastIf, McastPort, McastTtl, Netmask,
        Ops, Pe, Persistent, Sched, SchedFlags, Sctp, Server, SyncId, SyncMaxlen, Tcp, TunCsum,
        TunNocsum, TunPort, TunRemcsum, TunType, UThresh, Udp, Weight,
    };
    match cmd {
        Cmd::Add | Cmd::Edit => matches!(
            opt,
            Tcp | Udp | Sctp | Fwmark | Ipv6 | Sched | Persistent | Netmask | Ops | Pe | SchedFlags
        ),
        Cmd::Del | Cmd::Zero => matches!(opt, Tcp | Udp | Sctp | Fwmark | Ipv6),
        Cmd::AddDest | Cmd::EditDest => matches!(
            opt,
            Tcp | Udp
                | Sctp
                | Fwmark
                | Ipv6
                | Server
                | Masq
                | Ipip
                | Gate
                | Weight
                | UThresh
                | LThresh
                | TunType
                | TunPort
                | TunNocsum
                | TunCsum
                | TunRemcsum
        ),
        Cmd::DelDest => matches!(opt, Tcp | Udp | Sctp | Fwmark | Ipv6 | Server),
        Cmd::Clear | Cmd::Set => false,
        Cmd::StartDaemon => matches!(
            opt,
            McastIf | SyncId | McastGroup | McastPort | McastTtl | SyncMaxlen
        ),
        Cmd::StopDaemon => matches!(opt, SyncId),
    }
}

fn parse_line<'a>(line_no: usize, words: &[Word<'a>]) -> Result<Rule, ParseError> {
    let p = LineParser { line: line_no };
    let (occs, positional) = p.options(words)?;
    let first = occs.first().ok_or_else(|| {
        p.err(
            words[0].col,
            format!("expected a command, found `{}`", words[0].text),
        )
    })?;
    if first.col != words[0].col {
        return Err(p.err(
            words[0].col,
            format!("expected a command, found `{}`", words[0].text),
        ));
    }
    let cmd = match first.opt {
        Opt::Cmd(c) => c,
        Opt::OtherCmd => {
            return Err(p.err(
                first.col,
                format!("command `{}` cannot appear in rules text", first.name),
            ))
        }
        _ => {
            return Err(p.err(
                first.col,
                format!("a line must start with a command, not `{}`", first.name),
            ))
        }
    };

    // service
    let mut key: Option<(ServiceKey, usize)> = None;
    let mut sched: Option<Word<'a>> = None;
    let mut persistent: Option<Option<Word<'a>>> = None;
    let mut netmask: Option<Word<'a>> = None;
    let mut server: Option<Word<'a>> = None;
    let mut forward: Option<Opt> = None;
    let mut weight: u32 = 1;
    let mut upper = 0u32;
    let mut lower = 0u32;
    let mut ops = false;
    let mut pe: Option<Name> = None;
    let mut sched_flags: Option<Word<'a>> = None;
    let mut tun_type: Option<(Word<'a>, usize)> = None;
    let mut tun_port: Option<(u16, usize)> = None;
    let mut csum_opts: Vec<(Opt, usize, String)> = Vec::new();
    let mut mcast_if: Option<String> = None;
    let mut sync_id: Option<u32> = None;
    let mut group: Option<IpAddr> = None;
    let mut mport: Option<u16> = None;
    let mut ttl: Option<u8> = None;
    let mut maxlen: Option<u16> = None;

    for o in &occs[1..] {
        if let Opt::Cmd(_) | Opt::OtherCmd = o.opt {
            return Err(p.err(o.col, "multiple commands specified"));
        }
        if o.opt == Opt::Listing {
            return Err(p.err(
                o.col,
                format!("option `{}` is only for listing, not for rules", o.name),
            ));
        }
        if !opt_allowed(cmd, o.opt) {
            return Err(p.err(
                o.col,
                format!("option `{}` is illegal with this command", o.name),
            ));
        }
        // o.arg is always Some for Required options
        let arg = o.arg.unwrap_or(Word {
            text: "",
            col: o.col,
        });
        match o.opt {
            Opt::Tcp | Opt::Udp | Opt::Sctp => {
                let protocol = match o.opt {
                    Opt::Tcp => Protocol::Tcp,
                    Opt::Udp => Protocol::Udp,
                    _ => Protocol::Sctp,
                };
                let (addr, port) = parse_addr_port(arg.text).ok_or_else(|| {
                    p.err(
                        arg.col,
                        format!(
                            "illegal virtual server address[:port] `{}` (numeric address and port expected)",
                            arg.text
                        ),
                    )
                })?;
                key = Some((
                    ServiceKey::Inet {
                        protocol,
                        addr,
                        port: port.unwrap_or(0),
                    },
                    o.col,
                ));
            }
            Opt::Fwmark => {
                // ipvsadm 1.31 saves marks above 2^31-1 as negative numbers:
                // read those back as the unsigned mark they stand for
                let mark = match arg.text.strip_prefix('-') {
                    Some(neg) => number::<u32>(
                        &Word {
                            text: neg,
                            col: arg.col,
                        },
                        1,
                        1 << 31,
                    )
                    .map(|v| v.wrapping_neg()),
                    None => number::<u32>(&arg, 1, u64::from(u32::MAX)),
                }
                .ok_or_else(|| p.err(arg.col, format!("invalid fwmark value `{}`", arg.text)))?;
                key = Some((ServiceKey::fwmark(Family::Ipv4, mark), o.col));
            }
            Opt::Ipv6 => match &mut key {
                Some((ServiceKey::Fwmark { family, .. }, _)) => *family = Family::Ipv6,
                _ => return Err(p.err(o.col, "-6 used before -f")),
            },
            Opt::Sched => sched = Some(arg),
            Opt::Persistent => persistent = Some(o.arg),
            Opt::Netmask => netmask = Some(arg),
            Opt::Server => server = Some(arg),
            Opt::Masq | Opt::Ipip | Opt::Gate => forward = Some(o.opt),
            Opt::Weight => {
                weight = number(&arg, 0, u64::from(Destination::MAX_WEIGHT))
                    .ok_or_else(|| p.err(arg.col, format!("illegal weight `{}`", arg.text)))?
            }
            Opt::UThresh => {
                upper = number(&arg, 0, i32::MAX as u64)
                    .ok_or_else(|| p.err(arg.col, format!("illegal u_threshold `{}`", arg.text)))?
            }
            Opt::LThresh => {
                lower = number(&arg, 0, i32::MAX as u64)
                    .ok_or_else(|| p.err(arg.col, format!("illegal l_threshold `{}`", arg.text)))?
            }
            Opt::Ops => ops = true,
            Opt::Pe => {
                pe = Some(
                    Name::new(arg.text)
                        .map_err(|e| p.err(arg.col, format!("illegal persistence engine: {e}")))?,
                )
            }
            Opt::SchedFlags => sched_flags = Some(arg),
            Opt::McastIf => mcast_if = Some(arg.text.to_owned()),
            Opt::SyncId => {
                sync_id = Some(
                    number(&arg, 0, 255)
                        .ok_or_else(|| p.err(arg.col, format!("illegal syncid `{}`", arg.text)))?,
                )
            }
            Opt::McastGroup => {
                let g: IpAddr = arg
                    .text
                    .parse()
                    .ok()
                    .filter(|a: &IpAddr| a.is_multicast())
                    .ok_or_else(|| p.err(arg.col, format!("invalid mcast-group `{}`", arg.text)))?;
                group = Some(g);
            }
            Opt::McastPort => {
                mport =
                    Some(number(&arg, 1, 65535).ok_or_else(|| {
                        p.err(arg.col, format!("illegal mcast-port `{}`", arg.text))
                    })?)
            }
            Opt::McastTtl => {
                ttl =
                    Some(number(&arg, 1, 255).ok_or_else(|| {
                        p.err(arg.col, format!("illegal mcast-ttl `{}`", arg.text))
                    })?)
            }
            Opt::SyncMaxlen => {
                maxlen =
                    Some(number(&arg, 1, 65535 - 20 - 8).ok_or_else(|| {
                        p.err(arg.col, format!("illegal sync-maxlen `{}`", arg.text))
                    })?)
            }
            Opt::TunType => tun_type = Some((arg, o.col)),
            Opt::TunPort => {
                tun_port = Some((
                    number(&arg, 1, 65535).ok_or_else(|| {
                        p.err(arg.col, format!("illegal tunnel port `{}`", arg.text))
                    })?,
                    o.col,
                ))
            }
            Opt::TunNocsum | Opt::TunCsum | Opt::TunRemcsum => {
                csum_opts.push((o.opt, o.col, o.name.clone()))
            }
            Opt::Cmd(_) | Opt::OtherCmd | Opt::Listing => {}
        }
    }

    // positional arguments: only --set takes them
    let timeouts = if cmd == Cmd::Set {
        if positional.len() < 3 {
            return Err(p.err(words[0].col, "--set needs 3 timeout values"));
        }
        let t = |w: &Word<'_>| {
            number::<u32>(w, 0, u64::from(MAX_PERSISTENCE_TIMEOUT))
                .ok_or_else(|| p.err(w.col, format!("invalid timeout value `{}`", w.text)))
        };
        let v = Timeouts {
            tcp: t(&positional[0])?,
            tcp_fin: t(&positional[1])?,
            udp: t(&positional[2])?,
        };
        if let Some(extra) = positional.get(3) {
            return Err(p.err(extra.col, format!("unexpected argument `{}`", extra.text)));
        }
        Some(v)
    } else {
        if let Some(extra) = positional.first() {
            return Err(p.err(extra.col, format!("unexpected argument `{}`", extra.text)));
        }
        None
    };

    let need_key = || {
        key.ok_or_else(|| {
            p.err(
                words[0].col,
                "you need to supply a service (-t, -u, --sctp-service or -f)",
            )
        })
    };

    match cmd {
        Cmd::Add | Cmd::Edit => {
            let (key, key_col) = need_key()?;
            let scheduler = match sched {
                Some(w) => Scheduler::from_name(w.text)
                    .map_err(|e| p.err(w.col, format!("illegal scheduler: {e}")))?,
                None => Scheduler::default(),
            };
            let family = key.family();
            let persistence = match persistent {
                None => {
                    // ipvsadm accepts -M without -p; without persistence it
                    // has no effect (and -S never writes it): check it, drop it
                    if let Some(m) = netmask {
                        let valid = match family {
                            Family::Ipv4 => m.text.parse::<Ipv4Addr>().is_ok(),
                            Family::Ipv6 => number::<u8>(&m, 1, 128).is_some(),
                        };
                        if !valid {
                            return Err(p.err(m.col, format!("illegal netmask `{}`", m.text)));
                        }
                    }
                    None
                }
                Some(t) => {
                    let timeout = match t {
                        None => IPVSADM_DEFAULT_PERSISTENCE_TIMEOUT,
                        Some(w) => {
                            number(&w, 1, u64::from(MAX_PERSISTENCE_TIMEOUT)).ok_or_else(|| {
                                p.err(w.col, format!("invalid timeout value `{}`", w.text))
                            })?
                        }
                    };
                    let netmask = match netmask {
                        None => Netmask::full(family),
                        Some(m) => match family {
                            Family::Ipv4 => Netmask::V4(m.text.parse().map_err(|_| {
                                p.err(m.col, format!("illegal persistent netmask `{}`", m.text))
                            })?),
                            Family::Ipv6 => Netmask::V6(number(&m, 1, 128).ok_or_else(|| {
                                p.err(m.col, format!("illegal ipv6 netmask `{}`", m.text))
                            })?),
                        },
                    };
                    Some(Persistence { timeout, netmask })
                }
            };
            let mut flags = ServiceFlags::empty();
            if ops {
                flags |= ServiceFlags::ONE_PACKET;
            }
            if let Some(w) = sched_flags {
                let sname = scheduler.name();
                let mut col = w.col;
                for flag in w.text.split(',') {
                    let (bit, only) = match flag {
                        "flag-1" => (ServiceFlags::SCHED_1, None),
                        "flag-2" => (ServiceFlags::SCHED_2, None),
                        "flag-3" => (ServiceFlags::SCHED_3, None),
                        "sh-fallback" => (ServiceFlags::SH_FALLBACK, Some("sh")),
                        "sh-port" => (ServiceFlags::SH_PORT, Some("sh")),
                        "mh-fallback" => (ServiceFlags::MH_FALLBACK, Some("mh")),
                        "mh-port" => (ServiceFlags::MH_PORT, Some("mh")),
                        "" => {
                            col += 1;
                            continue;
                        }
                        other => {
                            return Err(p.err(col, format!("invalid scheduler flag `{other}`")))
                        }
                    };
                    if let Some(s) = only {
                        if s != sname {
                            return Err(p.err(
                                col,
                                format!(
                                    "incompatible scheduler flag `{flag}` for scheduler {sname}"
                                ),
                            ));
                        }
                    }
                    flags |= bit;
                    col += flag.chars().count() + 1;
                }
            }
            if let ServiceKey::Inet { protocol, port, .. } = key {
                if port == 0 && persistence.is_none() {
                    return Err(p.err(key_col, "zero port specified for non-persistent service"));
                }
                if ops && protocol != Protocol::Udp {
                    return Err(p.err(
                        key_col,
                        "one-packet scheduling (-o) is only for UDP virtual services",
                    ));
                }
            }
            let svc = Service {
                key,
                scheduler,
                flags,
                persistence,
                pe,
            };
            Ok(if cmd == Cmd::Add {
                Rule::AddService(svc)
            } else {
                Rule::EditService(svc)
            })
        }
        Cmd::Del => Ok(Rule::DeleteService(need_key()?.0)),
        Cmd::Zero => Ok(Rule::Zero(key.map(|k| k.0))),
        Cmd::Clear => Ok(Rule::Clear),
        Cmd::Set => Ok(Rule::SetTimeouts(timeouts.unwrap_or_default())),
        Cmd::AddDest | Cmd::EditDest | Cmd::DelDest => {
            let (key, _) = need_key()?;
            let w = server
                .ok_or_else(|| p.err(words[0].col, "you need to supply a real server (-r)"))?;
            let (addr, port) = parse_addr_port(w.text).ok_or_else(|| {
                p.err(
                    w.col,
                    format!(
                        "illegal real server address[:port] `{}` (numeric address and port expected)",
                        w.text
                    ),
                )
            })?;
            let svc_port = match key {
                ServiceKey::Inet { port, .. } => port,
                ServiceKey::Fwmark { .. } => 0,
            };
            let mut port = port.unwrap_or(svc_port);
            if cmd == Cmd::DelDest {
                return Ok(Rule::DeleteServer {
                    service: key,
                    addr,
                    port,
                });
            }
            let tunnel = forward == Some(Opt::Ipip);
            if !matches!(key, ServiceKey::Fwmark { .. })
                && matches!(forward, None | Some(Opt::Ipip) | Some(Opt::Gate))
            {
                port = svc_port;
            }
            if Family::of(&addr) != key.family() && !tunnel {
                return Err(p.err(
                    w.col,
                    "a different address family is allowed only for tunneling servers (-i)",
                ));
            }
            if !tunnel {
                if let Some((_, col)) = tun_type {
                    return Err(p.err(col, "tunnel options conflict with the forwarding method"));
                }
                if let Some((_, col)) = tun_port {
                    return Err(p.err(col, "tunnel options conflict with the forwarding method"));
                }
                if let Some((_, col, _)) = csum_opts.first() {
                    return Err(p.err(*col, "tunnel options conflict with the forwarding method"));
                }
            }
            let ttype = match tun_type {
                None => "ipip",
                Some((w, _)) => w.text,
            };
            let type_col = tun_type.map(|t| t.0.col).unwrap_or(words[0].col);
            if csum_opts.len() > 1 {
                let (_, col, name) = &csum_opts[1];
                return Err(p.err(
                    *col,
                    format!("option `{name}` conflicts with `{}`", csum_opts[0].2),
                ));
            }
            let csum = csum_opts.first().map(|c| (c.0, c.1, c.2.as_str()));
            let encap = |allow_rem: bool| -> Result<EncapFlags, ParseError> {
                Ok(match csum {
                    None | Some((Opt::TunNocsum, _, _)) => EncapFlags::empty(),
                    Some((Opt::TunCsum, _, _)) => EncapFlags::CSUM,
                    Some((_, col, name)) => {
                        if !allow_rem {
                            return Err(p.err(
                                col,
                                format!("illegal `{name}` option with the `{ttype}` tunnel type"),
                            ));
                        }
                        EncapFlags::REMCSUM
                    }
                })
            };
            let forward = match forward {
                Some(Opt::Masq) => Forward::Masq,
                Some(Opt::Ipip) => Forward::Tunnel(match ttype {
                    "ipip" => {
                        if let Some((_, col)) = tun_port {
                            return Err(p.err(
                                col,
                                "illegal `--tun-port` option with the `ipip` tunnel type",
                            ));
                        }
                        if let Some((_, col, name)) = csum {
                            return Err(p.err(
                                col,
                                format!("illegal `{name}` option with the `ipip` tunnel type"),
                            ));
                        }
                        Tunnel::Ipip
                    }
                    "gue" => {
                        let Some((port, _)) = tun_port else {
                            return Err(p.err(
                                type_col,
                                "you need to supply the `--tun-port` option for the `gue` tunnel type",
                            ));
                        };
                        Tunnel::Gue {
                            port,
                            flags: encap(true)?,
                        }
                    }
                    "gre" => {
                        if let Some((_, col)) = tun_port {
                            return Err(p.err(
                                col,
                                "illegal `--tun-port` option with the `gre` tunnel type",
                            ));
                        }
                        Tunnel::Gre {
                            flags: encap(false)?,
                        }
                    }
                    other => {
                        return Err(p.err(
                            type_col,
                            format!("illegal tunnel type `{other}` (ipip, gue or gre)"),
                        ))
                    }
                }),
                _ => Forward::DirectRoute,
            };
            let destination = Destination {
                addr,
                port,
                forward,
                weight,
                upper_threshold: upper,
                lower_threshold: lower,
            };
            Ok(if cmd == Cmd::AddDest {
                Rule::AddServer {
                    service: key,
                    destination,
                }
            } else {
                Rule::EditServer {
                    service: key,
                    destination,
                }
            })
        }
        Cmd::StartDaemon | Cmd::StopDaemon => {
            let state_word = first.arg.unwrap_or(Word {
                text: "",
                col: first.col,
            });
            let state = match state_word.text {
                "master" => SyncState::Master,
                "backup" => SyncState::Backup,
                other => {
                    return Err(p.err(
                        state_word.col,
                        format!("illegal daemon state `{other}` (master or backup)"),
                    ))
                }
            };
            if cmd == Cmd::StopDaemon {
                return Ok(Rule::StopDaemon { state, sync_id });
            }
            let mut d = SyncDaemon::new(state, mcast_if.unwrap_or_else(|| "eth0".into()), 0);
            d.sync_id = sync_id.unwrap_or(0);
            d.max_len = maxlen;
            d.group = group;
            d.port = mport;
            d.ttl = ttl;
            Ok(Rule::StartDaemon(d))
        }
    }
}

/// Parses rules text (`ipvsadm -S` output, `ipvsadm -R` input) into rules.
///
/// # Errors
/// [`ParseError`] naming the line and column of the first problem.
pub fn parse(text: &str) -> Result<Vec<Rule>, ParseError> {
    let mut rules = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        let mut words = Vec::new();
        let mut start: Option<usize> = None;
        let mut col = 0usize;
        let mut start_col = 0usize;
        for (off, c) in line
            .char_indices()
            .chain(std::iter::once((line.len(), ' ')))
        {
            col += 1;
            if c == ' ' || c == '\t' || c == '\r' {
                if let Some(s) = start.take() {
                    words.push(Word {
                        text: &line[s..off],
                        col: start_col,
                    });
                }
            } else if start.is_none() {
                start = Some(off);
                start_col = col;
            }
        }
        // a dry run's lines start with the command's name: skip it (only
        // there: elsewhere "ipvsadm" is an ordinary word, e.g. a scheduler name)
        if words.first().is_some_and(|w| w.text == "ipvsadm") {
            words.remove(0);
        }
        if words.is_empty() || words[0].text.starts_with('#') {
            continue;
        }
        rules.push(parse_line(idx + 1, &words)?);
    }
    Ok(rules)
}

/// Builds the table that a list of rules describes, applying them in order
/// to an empty table (`-C` clears it; `-Z`, `--set` and daemons are ignored).
///
/// # Errors
/// [`ParseError`] (with the rule's 1-based index as line, column 1) when a
/// rule refers to a missing service or server or adds an existing one.
pub fn rules_table(rules: &[Rule]) -> Result<Vec<(Service, Vec<Destination>)>, ParseError> {
    let mut table: Vec<(Service, Vec<Destination>)> = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let err = |m: String| ParseError {
            line: i + 1,
            column: 1,
            message: m,
        };
        let find = |t: &Vec<(Service, Vec<Destination>)>, k: &ServiceKey| {
            t.iter().position(|(s, _)| s.key == *k)
        };
        match rule {
            Rule::AddService(s) => {
                if find(&table, &s.key).is_some() {
                    return Err(err(format!("service {} exists", s.key)));
                }
                table.push((s.clone(), Vec::new()));
            }
            Rule::EditService(s) => {
                let at =
                    find(&table, &s.key).ok_or_else(|| err(format!("no service {}", s.key)))?;
                table[at].0 = s.clone();
            }
            Rule::DeleteService(k) => {
                let at = find(&table, k).ok_or_else(|| err(format!("no service {k}")))?;
                table.remove(at);
            }
            Rule::AddServer {
                service,
                destination,
            }
            | Rule::EditServer {
                service,
                destination,
            } => {
                let at =
                    find(&table, service).ok_or_else(|| err(format!("no service {service}")))?;
                let dests = &mut table[at].1;
                let pos = dests
                    .iter()
                    .position(|d| d.addr == destination.addr && d.port == destination.port);
                match (rule, pos) {
                    (Rule::AddServer { .. }, None) => dests.push(*destination),
                    (Rule::EditServer { .. }, Some(p)) => dests[p] = *destination,
                    (Rule::AddServer { .. }, Some(_)) => {
                        return Err(err(format!("server {destination} exists")))
                    }
                    _ => return Err(err(format!("no server {destination}"))),
                }
            }
            Rule::DeleteServer {
                service,
                addr,
                port,
            } => {
                let at =
                    find(&table, service).ok_or_else(|| err(format!("no service {service}")))?;
                let dests = &mut table[at].1;
                let pos = dests
                    .iter()
                    .position(|d| d.addr == *addr && d.port == *port)
                    .ok_or_else(|| err(format!("no server {}", addr_port(addr, *port))))?;
                dests.remove(pos);
            }
            Rule::Clear => table.clear(),
            Rule::Zero(_)
            | Rule::SetTimeouts(_)
            | Rule::StartDaemon(_)
            | Rule::StopDaemon { .. } => {}
        }
    }
    Ok(table)
}

/// Writes a desired-state [`Table`](crate::table::Table) as rules text. Its
/// timeouts, if any, are written as a last `--set` line in the
/// [`Format::Lossless`] form only (`ipvsadm -S` never writes them).
pub fn save_table(table: &crate::table::Table, format: Format) -> String {
    let plain: Vec<(Service, Vec<Destination>)> = table
        .services
        .iter()
        .map(|s| (s.service.clone(), s.destinations.clone()))
        .collect();
    let mut out = save(&plain, format);
    if let (Format::Lossless, Some(t)) = (format, table.timeouts) {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        let _ = writeln!(out, "--set {} {} {}", t.tcp, t.tcp_fin, t.udp);
    }
    out
}

/// Parses rules text into a desired-state [`Table`](crate::table::Table):
/// the rules applied in order to an empty table (see [`rules_table`]); the
/// last `--set` gives the timeouts.
///
/// # Errors
/// [`ParseError`]: a line that does not parse (its line and column), or a
/// rule that does not apply (the rule's index as line).
pub fn parse_table(text: &str) -> Result<crate::table::Table, ParseError> {
    let rules = parse(text)?;
    let timeouts = rules.iter().rev().find_map(|r| match r {
        Rule::SetTimeouts(t) => Some(*t),
        _ => None,
    });
    let services = rules_table(&rules)?
        .into_iter()
        .map(|(service, destinations)| crate::table::TableService {
            service,
            destinations,
        })
        .collect();
    Ok(crate::table::Table { services, timeouts })
}
