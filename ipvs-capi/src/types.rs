//! The plain C structs and their conversion to and from the core model.

use std::ffi::c_char;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipvs_core::{
    DestinationEntry, EncapFlags, Family, Forward, Info, Name, Netmask, Persistence, Protocol,
    Scheduler, Service, ServiceFlags, ServiceKey, Stats, SyncDaemon, SyncState, Timeouts, Tunnel,
};

use crate::error::{input, CResult};

/// `AF_INET`, for the `family` fields.
pub const LVSKIT_AF_INET: u16 = 2;
/// `AF_INET6`, for the `family` fields.
pub const LVSKIT_AF_INET6: u16 = 10;

/// Service flag: one-packet scheduling (`ipvsadm -o`).
pub const LVSKIT_SVC_F_ONE_PACKET: u32 = 0x0004;
/// Service flag: scheduler flag 1 (`-b flag-1`, `sh-fallback`, `mh-fallback`).
pub const LVSKIT_SVC_F_SCHED1: u32 = 0x0008;
/// Service flag: scheduler flag 2 (`-b flag-2`, `sh-port`, `mh-port`).
pub const LVSKIT_SVC_F_SCHED2: u32 = 0x0010;
/// Service flag: scheduler flag 3 (`-b flag-3`).
pub const LVSKIT_SVC_F_SCHED3: u32 = 0x0020;

/// ipvsadm's persistence timeout when `-p` is given without a value, in seconds.
pub const LVSKIT_PERSISTENCE_DEFAULT_TIMEOUT: u32 = 300;

/// Set in a listed service that is persistent with a persistence timeout of 0
/// (another client wrote it; `persistence_timeout` 0 alone means "not
/// persistent"). Such a service is refused when written back.
pub const LVSKIT_SVC_F_PERSISTENT: u32 = 0x0001;

/// Forwarding method: masquerading / NAT (`ipvsadm -m`).
pub const LVSKIT_FWD_MASQ: u32 = 0;
/// Forwarding method: the director itself serves.
pub const LVSKIT_FWD_LOCAL: u32 = 1;
/// Forwarding method: tunnelling (`ipvsadm -i`); see `tun_type`.
pub const LVSKIT_FWD_TUNNEL: u32 = 2;
/// Forwarding method: direct routing (`ipvsadm -g`, the default).
pub const LVSKIT_FWD_ROUTE: u32 = 3;
/// Forwarding method: bypass.
pub const LVSKIT_FWD_BYPASS: u32 = 4;

/// Tunnel type: IP-in-IP (`--tun-type ipip`, the default).
pub const LVSKIT_TUN_IPIP: u32 = 0;
/// Tunnel type: GUE (`--tun-type gue`, needs `tun_port`).
pub const LVSKIT_TUN_GUE: u32 = 1;
/// Tunnel type: GRE (`--tun-type gre`).
pub const LVSKIT_TUN_GRE: u32 = 2;

/// Tunnel flag: outer checksum (`--tun-csum`).
pub const LVSKIT_TUN_F_CSUM: u16 = 0x1;
/// Tunnel flag: remote checksum offload (`--tun-remcsum`, GUE only).
pub const LVSKIT_TUN_F_REMCSUM: u16 = 0x2;

/// Sync daemon state: master.
pub const LVSKIT_SYNC_MASTER: u32 = 1;
/// Sync daemon state: backup.
pub const LVSKIT_SYNC_BACKUP: u32 = 2;

// Listings keep what the kernel holds: a `protocol`, `forward`, `tun_type` or
// `state` field may hold a raw value none of the constants above names (from
// a newer kernel or another client); passing such a value back to a write is
// refused with LVSKIT_ERR_INVALID_INPUT before anything is sent.

/// The largest destination weight the kernel keeps (`INT_MAX`).
pub const LVSKIT_MAX_WEIGHT: u32 = 2147483647;
/// The largest connection threshold written (ipvsadm's `INT_MAX`).
pub const LVSKIT_MAX_THRESHOLD: u32 = 2147483647;
/// The longest persistence timeout written, in seconds (31 days, ipvsadm's
/// limit; the kernel would silently store larger values as others).
pub const LVSKIT_MAX_PERSISTENCE_TIMEOUT: u32 = 2678400;
/// The longest connection timeout written (`--set`), in seconds (`INT_MAX / 1000`).
pub const LVSKIT_MAX_TIMEOUT: u32 = 2147483;
/// The largest sync daemon id written.
pub const LVSKIT_MAX_SYNC_ID: u32 = 255;

/// Size of the name arrays (scheduler, persistence engine, interface),
/// including the terminating NUL: names are at most 15 bytes.
pub const LVSKIT_NAME_LEN: usize = 16;

/// A virtual service: its identity (the key) and its configuration.
///
/// The key is either `protocol` + `addr` + `port` (with `fwmark` 0) or
/// `fwmark` (with `protocol`, `port` and `addr` all zero). Functions that only
/// need a service's identity read only `family`, `protocol`, `addr`, `port`
/// and `fwmark`. Fill it with lvskit_service_init() first.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct lvskit_service {
    /// LVSKIT_AF_INET or LVSKIT_AF_INET6 (also for fwmark services).
    pub family: u16,
    /// IPPROTO_TCP (6), IPPROTO_UDP (17) or IPPROTO_SCTP (132); 0 for a fwmark service.
    pub protocol: u16,
    /// The virtual address in network byte order: 4 bytes for IPv4 (the
    /// other 12 must be zero), 16 for IPv6.
    pub addr: [u8; 16],
    /// The port, in host byte order.
    pub port: u16,
    /// Persistence granularity as a prefix length: 1..=32 (IPv4) or
    /// 1..=128 (IPv6); 0 means per client address (/32 or /128, ipvsadm's
    /// default). Only used when `persistence_timeout` is non-zero.
    pub netmask_prefix: u16,
    /// The firewall mark of a fwmark service (`ipvsadm -f`), else 0.
    pub fwmark: u32,
    /// LVSKIT_SVC_F_* flags (persistence is `persistence_timeout`, not a flag).
    pub flags: u32,
    /// Persistence timeout in seconds (`ipvsadm -p`); 0 for no persistence.
    pub persistence_timeout: u32,
    /// Scheduler name, NUL-terminated (`ipvsadm -s`; default "wlc").
    pub scheduler: [c_char; LVSKIT_NAME_LEN],
    /// Persistence engine name, NUL-terminated (`--pe sip`); empty for none.
    pub pe_name: [c_char; LVSKIT_NAME_LEN],
}

/// Traffic counters and rates as the kernel reports them.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct lvskit_stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Incoming packets.
    pub in_packets: u64,
    /// Outgoing packets.
    pub out_packets: u64,
    /// Incoming bytes.
    pub in_bytes: u64,
    /// Outgoing bytes.
    pub out_bytes: u64,
    /// Connections per second.
    pub cps: u64,
    /// Incoming packets per second.
    pub in_pps: u64,
    /// Outgoing packets per second.
    pub out_pps: u64,
    /// Incoming bytes per second.
    pub in_bps: u64,
    /// Outgoing bytes per second.
    pub out_bps: u64,
}

/// A real server of a virtual service. Fill it with lvskit_destination_init() first.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct lvskit_destination {
    /// LVSKIT_AF_INET or LVSKIT_AF_INET6; may differ from the service's only with tunnelling.
    pub family: u16,
    /// The real server's port, in host byte order.
    pub port: u16,
    /// The real server's address in network byte order (IPv4: first 4 bytes, rest zero).
    pub addr: [u8; 16],
    /// LVSKIT_FWD_* (default LVSKIT_FWD_ROUTE).
    pub forward: u32,
    /// Relative weight, 0..=2147483647 (default 1; 0 drains the server).
    pub weight: u32,
    /// Upper connection threshold (`-x`), 0 for none.
    pub upper_threshold: u32,
    /// Lower connection threshold (`-y`), 0 for none.
    pub lower_threshold: u32,
    /// With LVSKIT_FWD_TUNNEL: LVSKIT_TUN_* (default LVSKIT_TUN_IPIP); else must be 0.
    pub tun_type: u32,
    /// With LVSKIT_TUN_GUE: the real server's GUE port (host byte order); else must be 0.
    pub tun_port: u16,
    /// With LVSKIT_TUN_GUE or LVSKIT_TUN_GRE: LVSKIT_TUN_F_* flags; else must be 0.
    pub tun_flags: u16,
}

/// What the kernel reports about a listed destination besides its configuration.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct lvskit_destination_counters {
    /// Active connections.
    pub active_conns: u32,
    /// Inactive connections.
    pub inactive_conns: u32,
    /// Persistent connection templates.
    pub persistent_conns: u32,
    /// Counters and rates.
    pub stats: lvskit_stats,
}

/// Connection timeouts in seconds (`ipvsadm --set tcp tcpfin udp`); when
/// setting, 0 keeps a timeout's current value.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct lvskit_timeouts {
    /// Established TCP connections.
    pub tcp: u32,
    /// TCP connections after a FIN.
    pub tcp_fin: u32,
    /// UDP.
    pub udp: u32,
}

/// Global IPVS information.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct lvskit_info {
    /// Version code, e.g. 0x010201 for 1.2.1.
    pub version: u32,
    /// Size of the connection hash table.
    pub conn_table_size: u32,
}

/// A connection synchronisation daemon. Fill it with lvskit_sync_daemon_init() first.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct lvskit_sync_daemon {
    /// LVSKIT_SYNC_MASTER or LVSKIT_SYNC_BACKUP.
    pub state: u32,
    /// Sync id (`--syncid`), 0..=255 in practice.
    pub sync_id: u32,
    /// Multicast interface, NUL-terminated (`--mcast-interface`).
    pub ifname: [c_char; LVSKIT_NAME_LEN],
    /// Maximum sync message length (`--sync-maxlen`); 0 for the kernel's default.
    pub max_len: u16,
    /// UDP port (`--mcast-port`); 0 for the default 8848.
    pub port: u16,
    /// Multicast TTL (`--mcast-ttl`); 0 for the default 1.
    pub ttl: u8,
    /// Family of `group`: 0 for the default group 224.0.0.81, else LVSKIT_AF_INET/LVSKIT_AF_INET6.
    pub group_family: u16,
    /// Multicast group (`--mcast-group`) in network byte order.
    pub group: [u8; 16],
}

// ---------------------------------------------------------------- defaults

pub(crate) fn name_array(s: &str) -> [c_char; LVSKIT_NAME_LEN] {
    bytes_array(s.as_bytes())
}

/// A NUL-terminated name array holding raw bytes (a kernel name need not be UTF-8).
pub(crate) fn bytes_array(s: &[u8]) -> [c_char; LVSKIT_NAME_LEN] {
    let mut a = [0 as c_char; LVSKIT_NAME_LEN];
    for (d, b) in a.iter_mut().zip(s.iter().take(LVSKIT_NAME_LEN - 1)) {
        *d = *b as c_char;
    }
    a
}

impl Default for lvskit_service {
    fn default() -> Self {
        lvskit_service {
            family: LVSKIT_AF_INET,
            protocol: libc::IPPROTO_TCP as u16,
            addr: [0; 16],
            port: 0,
            netmask_prefix: 0,
            fwmark: 0,
            flags: 0,
            persistence_timeout: 0,
            scheduler: name_array("wlc"),
            pe_name: [0; LVSKIT_NAME_LEN],
        }
    }
}

impl Default for lvskit_destination {
    fn default() -> Self {
        lvskit_destination {
            family: LVSKIT_AF_INET,
            port: 0,
            addr: [0; 16],
            forward: LVSKIT_FWD_ROUTE,
            weight: 1,
            upper_threshold: 0,
            lower_threshold: 0,
            tun_type: LVSKIT_TUN_IPIP,
            tun_port: 0,
            tun_flags: 0,
        }
    }
}

impl Default for lvskit_sync_daemon {
    fn default() -> Self {
        lvskit_sync_daemon {
            state: LVSKIT_SYNC_MASTER,
            sync_id: 0,
            ifname: [0; LVSKIT_NAME_LEN],
            max_len: 0,
            port: 0,
            ttl: 0,
            group_family: 0,
            group: [0; 16],
        }
    }
}

// ---------------------------------------------------------------- C -> core

pub(crate) fn read_name(a: &[c_char; LVSKIT_NAME_LEN], what: &str) -> CResult<String> {
    let bytes: Vec<u8> = a.iter().map(|&c| c as u8).collect();
    let end = bytes
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| input(format!("{what} is not NUL-terminated within 16 bytes")))?;
    String::from_utf8(bytes[..end].to_vec()).map_err(|_| input(format!("{what} is not UTF-8")))
}

/// An interface name of raw bytes (Linux allows any but NUL, '/', ':' and
/// spaces) in the core's text form, so a name that is not UTF-8 works too.
pub(crate) fn read_bytes_name(a: &[c_char; LVSKIT_NAME_LEN], what: &str) -> CResult<String> {
    let bytes: Vec<u8> = a.iter().map(|&c| c as u8).collect();
    let end = bytes
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| input(format!("{what} is not NUL-terminated within 16 bytes")))?;
    Ok(SyncDaemon::interface_from_bytes(&bytes[..end]))
}

/// Scheduler and persistence engine names name kernel modules
/// (`ip_vs_NAME`, `ip_vs_pe_NAME`): letters, digits, '_' and '-' only.
pub(crate) fn module_suffix(name: &str, what: &str) -> CResult<()> {
    if name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Ok(())
    } else {
        Err(input(format!(
            "{what} name {name:?} may only hold letters, digits, '_' and '-'"
        )))
    }
}

pub(crate) fn addr_from(family: u16, addr: &[u8; 16], what: &str) -> CResult<IpAddr> {
    match family {
        LVSKIT_AF_INET => {
            if addr[4..].iter().any(|&b| b != 0) {
                return Err(input(format!(
                    "{what}: an IPv4 address uses only the first 4 bytes; the other 12 must be zero"
                )));
            }
            Ok(IpAddr::V4(Ipv4Addr::new(
                addr[0], addr[1], addr[2], addr[3],
            )))
        }
        LVSKIT_AF_INET6 => Ok(IpAddr::V6(Ipv6Addr::from(*addr))),
        f => Err(input(format!(
            "{what}: unknown address family {f} (use LVSKIT_AF_INET or LVSKIT_AF_INET6)"
        ))),
    }
}

pub(crate) fn addr_to(ip: IpAddr) -> (u16, [u8; 16]) {
    match ip {
        IpAddr::V4(a) => {
            let mut b = [0; 16];
            b[..4].copy_from_slice(&a.octets());
            (LVSKIT_AF_INET, b)
        }
        IpAddr::V6(a) => (LVSKIT_AF_INET6, a.octets()),
    }
}

fn family_from(f: u16, what: &str) -> CResult<Family> {
    match f {
        LVSKIT_AF_INET => Ok(Family::Ipv4),
        LVSKIT_AF_INET6 => Ok(Family::Ipv6),
        f => Err(input(format!(
            "{what}: unknown address family {f} (use LVSKIT_AF_INET or LVSKIT_AF_INET6)"
        ))),
    }
}

/// The identity of a C service.
pub(crate) fn key_from(s: &lvskit_service) -> CResult<ServiceKey> {
    if s.fwmark != 0 {
        if s.protocol != 0 || s.port != 0 || s.addr.iter().any(|&b| b != 0) {
            return Err(input(
                "service: a fwmark service has no protocol, address or port (set them to 0)",
            ));
        }
        return Ok(ServiceKey::fwmark(
            family_from(s.family, "service")?,
            s.fwmark,
        ));
    }
    // an unknown protocol (as a listing may hold) is refused by the core's
    // validation of the key, below
    let protocol = Protocol::from_raw(s.protocol);
    let addr = addr_from(s.family, &s.addr, "service address")?;
    let key = ServiceKey::Inet {
        protocol,
        addr,
        port: s.port,
    };
    key.validate()?;
    Ok(key)
}

/// The full configuration of a C service.
pub(crate) fn service_from(s: &lvskit_service) -> CResult<Service> {
    let key = key_from(s)?;
    let persistent = s.persistence_timeout != 0 || s.flags & LVSKIT_SVC_F_PERSISTENT != 0;
    let flags = ServiceFlags::from_bits(s.flags & !LVSKIT_SVC_F_PERSISTENT).ok_or_else(|| {
        input(format!(
            "service {key}: unknown flag bits {:#x} (use LVSKIT_SVC_F_*)",
            s.flags & !ServiceFlags::all().bits()
        ))
    })?;
    let sched = read_name(&s.scheduler, "service scheduler")?;
    if sched.is_empty() {
        return Err(input(format!("service {key}: the scheduler name is empty")));
    }
    module_suffix(&sched, "scheduler")?;
    let mut svc = Service::new(key)
        .with_scheduler(Scheduler::from_name(&sched)?)
        .with_flags(flags);
    if persistent {
        let netmask = match (key.family(), s.netmask_prefix) {
            (f, 0) => Netmask::full(f),
            (Family::Ipv4, p @ 1..=32) => {
                Netmask::V4(Ipv4Addr::from(u32::MAX << (32 - u32::from(p))))
            }
            (Family::Ipv6, p @ 1..=128) => Netmask::V6(p as u8),
            (_, p) => {
                return Err(input(format!(
                    "service {key}: netmask prefix {p} is too long for the family"
                )))
            }
        };
        svc.persistence = Some(Persistence {
            timeout: s.persistence_timeout,
            netmask,
        });
    } else if s.netmask_prefix != 0 {
        return Err(input(format!(
            "service {key}: a netmask prefix needs persistence (persistence_timeout)"
        )));
    }
    let pe = read_name(&s.pe_name, "service persistence engine")?;
    if !pe.is_empty() {
        module_suffix(&pe, "persistence engine")?;
        svc.pe = Some(Name::new(pe)?);
    }
    svc.validate()?;
    Ok(svc)
}

/// The configuration of a C destination.
pub(crate) fn destination_from(d: &lvskit_destination) -> CResult<ipvs_core::Destination> {
    let addr = addr_from(d.family, &d.addr, "destination address")?;
    let ctx = || format!("destination {}", ipvs_core::Destination::new(addr, d.port));
    let tunnel = match d.tun_type {
        LVSKIT_TUN_IPIP => {
            if d.tun_port != 0 || d.tun_flags != 0 {
                return Err(input(format!(
                    "{}: IP-in-IP tunnels take no tun_port or tun_flags",
                    ctx()
                )));
            }
            Tunnel::Ipip
        }
        LVSKIT_TUN_GUE | LVSKIT_TUN_GRE => {
            let flags = EncapFlags::from_bits(d.tun_flags).ok_or_else(|| {
                input(format!(
                    "{}: unknown tunnel flag bits {:#x} (use LVSKIT_TUN_F_*)",
                    ctx(),
                    d.tun_flags
                ))
            })?;
            if d.tun_type == LVSKIT_TUN_GUE {
                Tunnel::Gue {
                    port: d.tun_port,
                    flags,
                }
            } else {
                if d.tun_port != 0 {
                    return Err(input(format!("{}: GRE tunnels take no tun_port", ctx())));
                }
                Tunnel::Gre { flags }
            }
        }
        t => {
            return Err(input(format!(
                "{}: unknown tunnel type {t} (use LVSKIT_TUN_*)",
                ctx()
            )))
        }
    };
    let forward = match d.forward {
        LVSKIT_FWD_TUNNEL => Forward::Tunnel(tunnel),
        other => {
            if d.tun_type != LVSKIT_TUN_IPIP || d.tun_port != 0 || d.tun_flags != 0 {
                return Err(input(format!(
                    "{}: tunnel settings need forward = LVSKIT_FWD_TUNNEL",
                    ctx()
                )));
            }
            match other {
                LVSKIT_FWD_MASQ => Forward::Masq,
                LVSKIT_FWD_LOCAL => Forward::Local,
                LVSKIT_FWD_ROUTE => Forward::DirectRoute,
                LVSKIT_FWD_BYPASS => Forward::Bypass,
                f => {
                    return Err(input(format!(
                        "{}: unknown forwarding method {f} (use LVSKIT_FWD_*)",
                        ctx()
                    )))
                }
            }
        }
    };
    Ok(ipvs_core::Destination::new(addr, d.port)
        .with_forward(forward)
        .with_weight(d.weight)
        .with_thresholds(d.upper_threshold, d.lower_threshold))
}

pub(crate) fn timeouts_from(t: &lvskit_timeouts) -> Timeouts {
    Timeouts {
        tcp: t.tcp,
        tcp_fin: t.tcp_fin,
        udp: t.udp,
    }
}

pub(crate) fn state_from(state: u32) -> CResult<SyncState> {
    // the core's validation refuses a state other than master or backup
    let s = SyncState::from_raw(state);
    s.validate()?;
    Ok(s)
}

pub(crate) fn daemon_from(d: &lvskit_sync_daemon) -> CResult<SyncDaemon> {
    let state = state_from(d.state)?;
    let ifname = read_bytes_name(&d.ifname, "sync daemon interface")?;
    let mut out = SyncDaemon::new(state, ifname, d.sync_id);
    out.max_len = (d.max_len != 0).then_some(d.max_len);
    out.port = (d.port != 0).then_some(d.port);
    out.ttl = (d.ttl != 0).then_some(d.ttl);
    if d.group_family != 0 {
        out.group = Some(addr_from(d.group_family, &d.group, "sync daemon group")?);
    } else if d.group.iter().any(|&b| b != 0) {
        return Err(input("sync daemon: group is set but group_family is 0"));
    }
    out.validate()?;
    Ok(out)
}

// ---------------------------------------------------------------- core -> C

pub(crate) fn service_to(s: &Service) -> lvskit_service {
    let mut out = lvskit_service {
        scheduler: match &s.scheduler {
            Scheduler::Other(n) => bytes_array(&n.to_bytes()),
            known => name_array(known.name()),
        },
        flags: s.flags.bits(),
        ..lvskit_service::default()
    };
    match s.key {
        ServiceKey::Inet {
            protocol,
            addr,
            port,
        } => {
            let (family, a) = addr_to(addr);
            out.family = family;
            out.addr = a;
            out.protocol = protocol.number();
            out.port = port;
        }
        ServiceKey::Fwmark { family, mark } => {
            out.family = family.af();
            out.protocol = 0;
            out.fwmark = mark;
        }
    }
    if let Some(p) = &s.persistence {
        out.persistence_timeout = p.timeout;
        if p.timeout == 0 {
            // persistent with timeout 0, as another client wrote it
            out.flags |= LVSKIT_SVC_F_PERSISTENT;
        }
        out.netmask_prefix = match p.netmask {
            Netmask::V4(m) => u32::from(m).leading_ones() as u16,
            Netmask::V6(p) => u16::from(p),
        };
    }
    if let Some(pe) = &s.pe {
        out.pe_name = name_array(pe.as_str());
    }
    out
}

pub(crate) fn stats_to(s: &Stats) -> lvskit_stats {
    lvskit_stats {
        conns: s.conns,
        in_packets: s.in_packets,
        out_packets: s.out_packets,
        in_bytes: s.in_bytes,
        out_bytes: s.out_bytes,
        cps: s.cps,
        in_pps: s.in_pps,
        out_pps: s.out_pps,
        in_bps: s.in_bps,
        out_bps: s.out_bps,
    }
}

pub(crate) fn destination_to(d: &ipvs_core::Destination) -> lvskit_destination {
    let (family, addr) = addr_to(d.addr);
    let mut out = lvskit_destination {
        family,
        port: d.port,
        addr,
        forward: d.forward.method(),
        weight: d.weight,
        upper_threshold: d.upper_threshold,
        lower_threshold: d.lower_threshold,
        ..lvskit_destination::default()
    };
    if let Forward::Tunnel(t) = d.forward {
        match t {
            Tunnel::Ipip => {}
            Tunnel::Gue { port, flags } => {
                out.tun_type = LVSKIT_TUN_GUE;
                out.tun_port = port;
                out.tun_flags = flags.bits();
            }
            Tunnel::Gre { flags } => {
                out.tun_type = LVSKIT_TUN_GRE;
                out.tun_flags = flags.bits();
            }
            // listed as the kernel holds it; writing it back is refused
            Tunnel::Unknown(n) => out.tun_type = u32::from(n),
        }
    }
    out
}

pub(crate) fn counters_to(e: &DestinationEntry) -> lvskit_destination_counters {
    lvskit_destination_counters {
        active_conns: e.active_conns,
        inactive_conns: e.inactive_conns,
        persistent_conns: e.persistent_conns,
        stats: stats_to(&e.stats),
    }
}

pub(crate) fn timeouts_to(t: &Timeouts) -> lvskit_timeouts {
    lvskit_timeouts {
        tcp: t.tcp,
        tcp_fin: t.tcp_fin,
        udp: t.udp,
    }
}

pub(crate) fn info_to(i: &Info) -> lvskit_info {
    lvskit_info {
        version: i.version,
        conn_table_size: i.conn_table_size,
    }
}

pub(crate) fn daemon_to(d: &SyncDaemon) -> lvskit_sync_daemon {
    let mut out = lvskit_sync_daemon {
        state: d.state.raw(),
        sync_id: d.sync_id,
        ifname: bytes_array(&d.interface_bytes()),
        max_len: d.max_len.unwrap_or(0),
        port: d.port.unwrap_or(0),
        ttl: d.ttl.unwrap_or(0),
        ..lvskit_sync_daemon::default()
    };
    if let Some(g) = d.group {
        let (f, a) = addr_to(g);
        out.group_family = f;
        out.group = a;
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn af_constants_match_libc() {
        assert_eq!(i32::from(LVSKIT_AF_INET), libc::AF_INET);
        assert_eq!(i32::from(LVSKIT_AF_INET6), libc::AF_INET6);
        assert_eq!(LVSKIT_SVC_F_ONE_PACKET, ServiceFlags::ONE_PACKET.bits());
        assert_eq!(LVSKIT_SVC_F_SCHED1, ServiceFlags::SCHED_1.bits());
        assert_eq!(LVSKIT_SVC_F_SCHED2, ServiceFlags::SCHED_2.bits());
        assert_eq!(LVSKIT_SVC_F_SCHED3, ServiceFlags::SCHED_3.bits());
        assert_eq!(LVSKIT_TUN_F_CSUM, EncapFlags::CSUM.bits());
        assert_eq!(LVSKIT_TUN_F_REMCSUM, EncapFlags::REMCSUM.bits());
        assert_eq!(LVSKIT_FWD_TUNNEL, Forward::Tunnel(Tunnel::Ipip).method());
        assert_eq!(LVSKIT_FWD_ROUTE, Forward::DirectRoute.method());
        assert_eq!(LVSKIT_SYNC_BACKUP, SyncState::Backup.raw());
        assert_eq!(LVSKIT_MAX_WEIGHT, ipvs_core::Destination::MAX_WEIGHT);
        assert_eq!(LVSKIT_MAX_THRESHOLD, ipvs_core::Destination::MAX_THRESHOLD);
        assert_eq!(LVSKIT_MAX_PERSISTENCE_TIMEOUT, Persistence::MAX_TIMEOUT);
        assert_eq!(LVSKIT_MAX_TIMEOUT, Timeouts::MAX);
        assert_eq!(LVSKIT_MAX_SYNC_ID, SyncDaemon::MAX_SYNC_ID);
    }

    #[test]
    fn services_round_trip() {
        let key = ServiceKey::tcp([10, 0, 0, 1], 80);
        let cases = [
            Service::new(key),
            Service::new(key)
                .with_scheduler(Scheduler::SourceHashing)
                .with_flags(ServiceFlags::SH_PORT | ServiceFlags::ONE_PACKET)
                .with_persistence_netmask(60, Netmask::V4(Ipv4Addr::new(255, 255, 255, 0)))
                .with_pe(Name::new("sip").unwrap()),
            Service::new(ServiceKey::udp(
                "2001:db8::1".parse::<IpAddr>().unwrap(),
                53,
            ))
            .with_persistence_netmask(10, Netmask::V6(64)),
            Service::new(ServiceKey::fwmark(Family::Ipv6, 7)).with_persistence(300),
            Service::new(ServiceKey::sctp([10, 0, 0, 2], 9))
                .with_scheduler(Scheduler::from_name("custom").unwrap()),
        ];
        for svc in cases {
            let c = service_to(&svc);
            assert_eq!(service_from(&c).unwrap(), svc, "{c:?}");
        }
    }

    #[test]
    fn destinations_round_trip() {
        let cases = [
            ipvs_core::Destination::new([192, 168, 1, 1], 80),
            ipvs_core::Destination::new([192, 168, 1, 1], 80)
                .with_forward(Forward::Masq)
                .with_weight(0)
                .with_thresholds(100, 10),
            ipvs_core::Destination::new("2001:db8::2".parse::<IpAddr>().unwrap(), 0).with_forward(
                Forward::Tunnel(Tunnel::Gue {
                    port: 6080,
                    flags: EncapFlags::CSUM | EncapFlags::REMCSUM,
                }),
            ),
            ipvs_core::Destination::new([192, 168, 1, 3], 0).with_forward(Forward::Tunnel(
                Tunnel::Gre {
                    flags: EncapFlags::CSUM,
                },
            )),
        ];
        for d in cases {
            let c = destination_to(&d);
            assert_eq!(destination_from(&c).unwrap(), d, "{c:?}");
        }
    }

    #[test]
    fn bad_services_are_refused() {
        let base = lvskit_service {
            addr: [10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            port: 80,
            ..lvskit_service::default()
        };
        let bad = [
            lvskit_service { family: 3, ..base },
            lvskit_service {
                protocol: 1,
                ..base
            },
            lvskit_service { fwmark: 1, ..base },
            lvskit_service {
                flags: 0x8000,
                ..base
            },
            lvskit_service {
                scheduler: [b'x' as c_char; 16],
                ..base
            },
            lvskit_service {
                scheduler: [0; 16],
                ..base
            },
            lvskit_service {
                persistence_timeout: 10,
                netmask_prefix: 33,
                ..base
            },
            lvskit_service {
                netmask_prefix: 24,
                ..base
            },
            lvskit_service {
                pe_name: name_array("sip"),
                ..base
            },
            lvskit_service {
                addr: [10, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                ..base
            },
        ];
        for s in bad {
            assert!(service_from(&s).is_err(), "{s:?}");
        }
        assert!(service_from(&base).is_ok());
    }

    #[test]
    fn bad_destinations_are_refused() {
        let base = lvskit_destination {
            addr: [10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ..lvskit_destination::default()
        };
        let bad = [
            lvskit_destination { family: 0, ..base },
            lvskit_destination { forward: 9, ..base },
            lvskit_destination {
                tun_port: 5,
                ..base
            },
            lvskit_destination {
                forward: LVSKIT_FWD_TUNNEL,
                tun_type: 7,
                ..base
            },
            lvskit_destination {
                forward: LVSKIT_FWD_TUNNEL,
                tun_type: LVSKIT_TUN_GUE,
                tun_port: 1,
                tun_flags: 4,
                ..base
            },
        ];
        for d in bad {
            assert!(destination_from(&d).is_err(), "{d:?}");
        }
        assert!(destination_from(&base).is_ok());
    }
}
