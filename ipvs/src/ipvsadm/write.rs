//! The one writer of ipvsadm words: every [`Operation`] as one line of
//! rules text (used by [`save`], by `Operation`'s and `Plan`'s `Display`
//! and by [`rule`]/[`crate::table::Plan::to_rules`]).
//!
//! Options come in the order `ipvsadm -Sn` writes them: `-s -p -M --pe -o
//! -b` for a service, `-r` then the forwarding switch, `-w`, (`-x -y`
//! losslessly) and the tunnel options for a real server.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{order::ipvsadm_order, Format};
use crate::error::{Error, Result};
use crate::model::{
    Destination, EncapFlags, Family, Forward, Netmask, Protocol, Service, ServiceFlags, ServiceKey,
    SyncDaemon, SyncState, Tunnel,
};
use crate::op::Operation;
use crate::table::Table;

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

pub(super) fn addr_port(addr: &IpAddr, port: u16) -> String {
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
                // a listed value ipvsadm has no words for: see `unwritable`
                Protocol::Unknown(n) => {
                    return format!("--protocol-{n} {}", addr_port(addr, *port))
                }
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
        // a listed value ipvsadm has no words for: see `unwritable`
        Forward::Unknown(_) => "--forwarding-unknown",
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
        Forward::Tunnel(Tunnel::Unknown(t)) => {
            let _ = write!(out, " --tun-type unknown-{t}");
        }
        _ => {}
    }
}

fn state_word(state: SyncState) -> &'static str {
    match state {
        SyncState::Master => "master",
        SyncState::Backup => "backup",
        SyncState::Unknown(_) => "unknown",
    }
}

fn write_daemon(out: &mut String, d: &SyncDaemon) {
    let _ = write!(
        out,
        "--start-daemon {} --mcast-interface {} --syncid {}",
        state_word(d.state),
        d.interface,
        d.sync_id
    );
    if let Some(v) = d.max_len {
        let _ = write!(out, " --sync-maxlen {v}");
    }
    if let Some(g) = d.group {
        let g = match g {
            IpAddr::V4(a) => a.to_string(),
            IpAddr::V6(a) => ipv6_to_string(&a),
        };
        let _ = write!(out, " --mcast-group {g}");
    }
    if let Some(v) = d.port {
        let _ = write!(out, " --mcast-port {v}");
    }
    if let Some(v) = d.ttl {
        let _ = write!(out, " --mcast-ttl {v}");
    }
}

/// Appends `op` as one line of rules text (no newline, no leading
/// `ipvsadm`). Local-node and bypass real servers are written `-g`, as
/// `ipvsadm -S` writes them: see [`unwritable`].
pub(crate) fn write(out: &mut String, op: &Operation, format: Format) {
    match op {
        Operation::AddService(s) => write_service(out, "-A", s, format),
        Operation::UpdateService(s) => write_service(out, "-E", s, format),
        Operation::DeleteService(k) => {
            let _ = write!(out, "-D {}", service_arg(k, format));
        }
        Operation::AddDestination(k, d) => write_server(out, "-a", k, d, format),
        Operation::UpdateDestination(k, d) => write_server(out, "-e", k, d, format),
        Operation::DeleteDestination(k, a, p) => {
            let _ = write!(out, "-d {} -r {}", service_arg(k, format), addr_port(a, *p));
        }
        Operation::SetTimeouts(t) => {
            let _ = write!(out, "--set {} {} {}", t.tcp, t.tcp_fin, t.udp);
        }
        Operation::StartDaemon(d) => write_daemon(out, d),
        Operation::StopDaemon(s) => {
            let _ = write!(out, "--stop-daemon {}", state_word(*s));
        }
        Operation::Zero(None) => out.push_str("-Z"),
        Operation::Zero(Some(k)) => {
            let _ = write!(out, "-Z {}", service_arg(k, format));
        }
        Operation::Flush => out.push_str("-C"),
    }
}

/// Why ipvsadm cannot say what `op` does, if it cannot: it has no switch
/// for bypass forwarding (`-g` would add a direct-routing server instead),
/// and no words for values a kernel listed that this library does not know
/// (an unknown protocol, forwarding method, tunnel type or daemon state).
/// A local-node server is written `-g`, as `ipvsadm -S` does: the kernel
/// makes any real server on one of its own addresses local-node.
pub(crate) fn unwritable(op: &Operation) -> Option<&'static str> {
    let unknown_key = |k: &ServiceKey| {
        matches!(
            k,
            ServiceKey::Inet {
                protocol: Protocol::Unknown(_),
                ..
            }
        )
    };
    match op {
        Operation::AddDestination(_, d) | Operation::UpdateDestination(_, d)
            if d.forward == Forward::Bypass =>
        {
            Some("ipvsadm has no switch for bypass forwarding")
        }
        Operation::AddDestination(_, d) | Operation::UpdateDestination(_, d)
            if matches!(
                d.forward,
                Forward::Unknown(_) | Forward::Tunnel(Tunnel::Unknown(_))
            ) =>
        {
            Some("ipvsadm has no words for an unknown forwarding method or tunnel type")
        }
        Operation::StartDaemon(SyncDaemon {
            state: SyncState::Unknown(_),
            ..
        })
        | Operation::StopDaemon(SyncState::Unknown(_)) => {
            Some("ipvsadm has no words for an unknown sync daemon state")
        }
        Operation::AddService(Service { key, .. })
        | Operation::UpdateService(Service { key, .. })
        | Operation::DeleteService(key)
        | Operation::AddDestination(key, _)
        | Operation::UpdateDestination(key, _)
        | Operation::DeleteDestination(key, ..)
        | Operation::Zero(Some(key))
            if unknown_key(key) =>
        {
            Some("ipvsadm has no words for an unknown protocol")
        }
        _ => None,
    }
}

/// Appends `op` as [`Format::Lossless`] writes it (for `Display`).
pub(crate) fn write_line(out: &mut String, op: &Operation) {
    write(out, op, Format::Lossless);
}

/// `op` as one line of `ipvsadm -R` input in `format` (no newline): with
/// [`Format::Lossless`] the line rebuilds exactly what `op` does.
///
/// # Errors
/// [`Error::InvalidInput`] for an operation ipvsadm has no words for (a
/// bypass real server).
pub fn rule(op: &Operation, format: Format) -> Result<String> {
    if let Some(why) = unwritable(op) {
        return Err(Error::invalid_input(op.context(), why));
    }
    let mut s = String::new();
    write(&mut s, op, format);
    Ok(s)
}

/// Writes `table` as rules text: for each service in ipvsadm's order its
/// `-A`, then one `-a` per real server. With [`Format::Ipvsadm`] this is
/// byte for byte what `ipvsadm -Sn` prints for it (and no timeouts);
/// [`Format::Lossless`] adds the thresholds and every scheduler flag, and
/// the table's timeouts, if any, as a last `--set` line.
pub fn save(table: &Table, format: Format) -> String {
    let mut sorted = table.clone();
    ipvsadm_order(&mut sorted);
    let mut out = String::new();
    for ts in sorted.services {
        let key = ts.service.key;
        write(&mut out, &Operation::AddService(ts.service), format);
        out.push('\n');
        for d in ts.destinations {
            write(&mut out, &Operation::AddDestination(key, d), format);
            out.push('\n');
        }
    }
    if let (Format::Lossless, Some(t)) = (format, table.timeouts) {
        write(&mut out, &Operation::SetTimeouts(t), format);
        out.push('\n');
    }
    out
}
