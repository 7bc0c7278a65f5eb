//! IPVS generic netlink messages (family "IPVS", version 1).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::nla::{self, Attrs};
use crate::error::{Error, Result};
use crate::model::kernel_text;
use crate::model::{
    Destination, DestinationEntry, EncapFlags, Family, Forward, Info, Name, Netmask, Persistence,
    Protocol, Scheduler, Service, ServiceEntry, ServiceFlags, ServiceKey, Stats, SyncDaemon,
    SyncState, Timeouts, Tunnel,
};

/// The generic netlink family name.
pub const FAMILY_NAME: &str = "IPVS";
/// `IPVS_GENL_VERSION`.
pub const GENL_VERSION: u8 = 1;

/// `IPVS_CMD_*`.
#[allow(missing_docs)]
pub mod cmd {
    pub const NEW_SERVICE: u8 = 1;
    pub const SET_SERVICE: u8 = 2;
    pub const DEL_SERVICE: u8 = 3;
    pub const GET_SERVICE: u8 = 4;
    pub const NEW_DEST: u8 = 5;
    pub const SET_DEST: u8 = 6;
    pub const DEL_DEST: u8 = 7;
    pub const GET_DEST: u8 = 8;
    pub const NEW_DAEMON: u8 = 9;
    pub const DEL_DAEMON: u8 = 10;
    pub const GET_DAEMON: u8 = 11;
    pub const SET_CONFIG: u8 = 12;
    pub const GET_CONFIG: u8 = 13;
    pub const SET_INFO: u8 = 14;
    pub const GET_INFO: u8 = 15;
    pub const ZERO: u8 = 16;
    pub const FLUSH: u8 = 17;
}

/// `IPVS_CMD_ATTR_*`.
#[allow(missing_docs)]
pub mod cmd_attr {
    pub const SERVICE: u16 = 1;
    pub const DEST: u16 = 2;
    pub const DAEMON: u16 = 3;
    pub const TIMEOUT_TCP: u16 = 4;
    pub const TIMEOUT_TCP_FIN: u16 = 5;
    pub const TIMEOUT_UDP: u16 = 6;
}

/// `IPVS_SVC_ATTR_*`.
#[allow(missing_docs)]
pub mod svc_attr {
    pub const AF: u16 = 1;
    pub const PROTOCOL: u16 = 2;
    pub const ADDR: u16 = 3;
    pub const PORT: u16 = 4;
    pub const FWMARK: u16 = 5;
    pub const SCHED_NAME: u16 = 6;
    pub const FLAGS: u16 = 7;
    pub const TIMEOUT: u16 = 8;
    pub const NETMASK: u16 = 9;
    pub const STATS: u16 = 10;
    pub const PE_NAME: u16 = 11;
    pub const STATS64: u16 = 12;
}

/// `IPVS_DEST_ATTR_*`.
#[allow(missing_docs)]
pub mod dest_attr {
    pub const ADDR: u16 = 1;
    pub const PORT: u16 = 2;
    pub const FWD_METHOD: u16 = 3;
    pub const WEIGHT: u16 = 4;
    pub const U_THRESH: u16 = 5;
    pub const L_THRESH: u16 = 6;
    pub const ACTIVE_CONNS: u16 = 7;
    pub const INACT_CONNS: u16 = 8;
    pub const PERSIST_CONNS: u16 = 9;
    pub const STATS: u16 = 10;
    pub const ADDR_FAMILY: u16 = 11;
    pub const STATS64: u16 = 12;
    pub const TUN_TYPE: u16 = 13;
    pub const TUN_PORT: u16 = 14;
    pub const TUN_FLAGS: u16 = 15;
}

/// `IPVS_DAEMON_ATTR_*`.
#[allow(missing_docs)]
pub mod daemon_attr {
    pub const STATE: u16 = 1;
    pub const MCAST_IFN: u16 = 2;
    pub const SYNC_ID: u16 = 3;
    pub const SYNC_MAXLEN: u16 = 4;
    pub const MCAST_GROUP: u16 = 5;
    pub const MCAST_GROUP6: u16 = 6;
    pub const MCAST_PORT: u16 = 7;
    pub const MCAST_TTL: u16 = 8;
}

/// `IPVS_STATS_ATTR_*`.
#[allow(missing_docs)]
pub mod stats_attr {
    pub const CONNS: u16 = 1;
    pub const INPKTS: u16 = 2;
    pub const OUTPKTS: u16 = 3;
    pub const INBYTES: u16 = 4;
    pub const OUTBYTES: u16 = 5;
    pub const CPS: u16 = 6;
    pub const INPPS: u16 = 7;
    pub const OUTPPS: u16 = 8;
    pub const INBPS: u16 = 9;
    pub const OUTBPS: u16 = 10;
}

/// `IPVS_INFO_ATTR_*`.
#[allow(missing_docs)]
pub mod info_attr {
    pub const VERSION: u16 = 1;
    pub const CONN_TAB_SIZE: u16 = 2;
}

const SVC_F_PERSISTENT: u32 = 0x1;
const SVC_F_HASHED: u32 = 0x2;

fn addr_bytes(a: &IpAddr) -> [u8; 16] {
    let mut b = [0u8; 16];
    match a {
        IpAddr::V4(v4) => b[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => b = v6.octets(),
    }
    b
}

fn addr_from(what: &str, family: Family, p: &[u8]) -> Result<IpAddr> {
    match family {
        Family::Ipv4 => p
            .get(..4)
            .map(|b| IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])))
            .ok_or_else(|| {
                Error::protocol(
                    "decoding an attribute",
                    format!("{what}: short IPv4 address"),
                )
            }),
        Family::Ipv6 => p
            .get(..16)
            .and_then(|b| <[u8; 16]>::try_from(b).ok())
            .map(|b| IpAddr::V6(Ipv6Addr::from(b)))
            .ok_or_else(|| {
                Error::protocol(
                    "decoding an attribute",
                    format!("{what}: short IPv6 address"),
                )
            }),
    }
}

/// Appends the attributes that identify a service (inside a SERVICE nest).
pub fn put_service_key(buf: &mut Vec<u8>, key: &ServiceKey) {
    let (a, n) = service_key_nest(key);
    buf.extend_from_slice(&a[nla::NLA_HDRLEN..n]);
}

/// Appends a SERVICE nest holding only the service's identity.
///
/// # Errors
/// None: a key's nest is at most 48 bytes (the `Result` matches the other
/// nest writers).
pub fn put_service_key_nest(buf: &mut Vec<u8>, key: &ServiceKey) -> Result<()> {
    let (a, n) = service_key_nest(key);
    buf.extend_from_slice(&a[..n]);
    Ok(())
}

/// A SERVICE nest holding a key's attributes, laid out in one array (the
/// nest header, AF, then PROTOCOL, ADDR and PORT or FWMARK: 48 or 20
/// bytes), and its length: a delete or a destination's request copies its
/// key once instead of attribute by attribute.
#[inline]
fn service_key_nest(key: &ServiceKey) -> ([u8; 48], usize) {
    let mut a = [0u8; 48];
    let mut at = nla::NLA_HDRLEN;
    let mut attr = |ty: u16, data: &[u8]| at += nla::write_attr(&mut a[at..], ty, data);
    attr(svc_attr::AF, &key.family().af().to_ne_bytes());
    match key {
        ServiceKey::Inet {
            protocol,
            addr,
            port,
        } => {
            attr(svc_attr::PROTOCOL, &protocol.number().to_ne_bytes());
            attr(svc_attr::ADDR, &addr_bytes(addr));
            attr(svc_attr::PORT, &port.to_be_bytes());
        }
        ServiceKey::Fwmark { mark, .. } => attr(svc_attr::FWMARK, &mark.to_ne_bytes()),
    }
    a[..nla::NLA_HDRLEN].copy_from_slice(&nla::nest_header(at, cmd_attr::SERVICE));
    (a, at)
}

/// Appends a SERVICE nest with the whole service, as NEW_SERVICE and SET_SERVICE need.
///
/// # Errors
/// Only if the nest overflows.
pub fn put_service_nest(buf: &mut Vec<u8>, svc: &Service) -> Result<()> {
    let at = nla::begin_nest(buf, cmd_attr::SERVICE);
    put_service_key(buf, &svc.key);
    match &svc.scheduler {
        Scheduler::Other(n) => nla::put_bytes_z(buf, svc_attr::SCHED_NAME, &n.to_bytes()),
        // a known name is borrowed: no allocation per service
        known => nla::put_bytes_z(buf, svc_attr::SCHED_NAME, known.name().as_bytes()),
    }
    if let Some(pe) = &svc.pe {
        nla::put_bytes_z(buf, svc_attr::PE_NAME, &pe.to_bytes());
    }
    let mut flags = [0u8; 8];
    flags[..4].copy_from_slice(&svc.kernel_flags().to_ne_bytes());
    flags[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
    nla::put(buf, svc_attr::FLAGS, &flags);
    let (timeout, netmask) = match &svc.persistence {
        Some(p) => (p.timeout, p.netmask),
        None => (0, Netmask::full(svc.key.family())),
    };
    nla::put_u32(buf, svc_attr::TIMEOUT, timeout);
    match netmask {
        Netmask::V4(m) => nla::put(buf, svc_attr::NETMASK, &m.octets()),
        Netmask::V6(p) => nla::put_u32(buf, svc_attr::NETMASK, u32::from(p)),
    }
    nla::end_nest(buf, at)
}

/// Appends a DEST nest. With `full`, everything NEW_DEST/SET_DEST need;
/// without, only the identity DEL_DEST needs.
///
/// # Errors
/// Only if the nest overflows.
pub fn put_dest_nest(buf: &mut Vec<u8>, d: &Destination, full: bool) -> Result<()> {
    let at = nla::begin_nest(buf, cmd_attr::DEST);
    nla::put_16(buf, dest_attr::ADDR, &addr_bytes(&d.addr));
    nla::put_be16(buf, dest_attr::PORT, d.port);
    nla::put_u16(buf, dest_attr::ADDR_FAMILY, d.family().af());
    if full {
        nla::put_u32(buf, dest_attr::FWD_METHOD, d.forward.method());
        nla::put_u32(buf, dest_attr::WEIGHT, d.weight);
        nla::put_u32(buf, dest_attr::U_THRESH, d.upper_threshold);
        nla::put_u32(buf, dest_attr::L_THRESH, d.lower_threshold);
        if let Forward::Tunnel(t) = d.forward {
            let (port, flags) = match t {
                Tunnel::Gue { port, flags } => (port, flags),
                Tunnel::Gre { flags } => (0, flags),
                Tunnel::Ipip | Tunnel::Unknown(_) => (0u16, EncapFlags::empty()),
            };
            // validation refuses an unknown type before anything is encoded
            nla::put_u8(buf, dest_attr::TUN_TYPE, t.raw() as u8);
            nla::put_be16(buf, dest_attr::TUN_PORT, port);
            nla::put_u16(buf, dest_attr::TUN_FLAGS, flags.bits());
        }
    }
    nla::end_nest(buf, at)
}

/// Appends a DAEMON nest. With `full`, everything NEW_DAEMON takes; without,
/// the state only (DEL_DAEMON).
///
/// # Errors
/// Only if the nest overflows.
pub fn put_daemon_nest(buf: &mut Vec<u8>, d: &SyncDaemon, full: bool) -> Result<()> {
    let at = nla::begin_nest(buf, cmd_attr::DAEMON);
    nla::put_u32(buf, daemon_attr::STATE, d.state.raw());
    if full {
        nla::put_bytes_z(buf, daemon_attr::MCAST_IFN, &d.interface_bytes());
        nla::put_u32(buf, daemon_attr::SYNC_ID, d.sync_id);
        if let Some(l) = d.max_len {
            nla::put_u16(buf, daemon_attr::SYNC_MAXLEN, l);
        }
        match d.group {
            Some(IpAddr::V4(g)) => nla::put(buf, daemon_attr::MCAST_GROUP, &g.octets()),
            Some(IpAddr::V6(g)) => nla::put(buf, daemon_attr::MCAST_GROUP6, &g.octets()),
            None => {}
        }
        if let Some(p) = d.port {
            nla::put_u16(buf, daemon_attr::MCAST_PORT, p);
        }
        if let Some(t) = d.ttl {
            nla::put_u8(buf, daemon_attr::MCAST_TTL, t);
        }
    }
    nla::end_nest(buf, at)
}

/// Appends the timeout attributes of SET_CONFIG.
pub fn put_timeouts(buf: &mut Vec<u8>, t: &Timeouts) {
    nla::put_u32(buf, cmd_attr::TIMEOUT_TCP, t.tcp);
    nla::put_u32(buf, cmd_attr::TIMEOUT_TCP_FIN, t.tcp_fin);
    nla::put_u32(buf, cmd_attr::TIMEOUT_UDP, t.udp);
}

/// Finds the payload of the first top-level attribute of type `ty`.
///
/// # Errors
/// [`Error::Protocol`] for malformed attributes.
pub fn find(attrs: &[u8], ty: u16) -> Result<Option<&[u8]>> {
    for a in Attrs::new(attrs) {
        let (t, p) = a?;
        if t == ty {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

fn decode_stats(p: &[u8], wide: bool) -> Result<Stats> {
    let mut s = Stats::default();
    for a in Attrs::new(p) {
        let (t, v) = a?;
        let n = if wide {
            nla::get_u64("stats", v)?
        } else {
            u64::from(nla::get_u32("stats", v)?)
        };
        match t {
            stats_attr::CONNS => s.conns = n,
            stats_attr::INPKTS => s.in_packets = n,
            stats_attr::OUTPKTS => s.out_packets = n,
            stats_attr::INBYTES => s.in_bytes = n,
            stats_attr::OUTBYTES => s.out_bytes = n,
            stats_attr::CPS => s.cps = n,
            stats_attr::INPPS => s.in_pps = n,
            stats_attr::OUTPPS => s.out_pps = n,
            stats_attr::INBPS => s.in_bps = n,
            stats_attr::OUTBPS => s.out_bps = n,
            _ => {}
        }
    }
    Ok(s)
}

/// The counters of an entry: the 64-bit set when the kernel sent it (it
/// always does since 4.x), else the 32-bit one; only the one used is decoded.
fn pick_stats(stats64: Option<&[u8]>, stats: Option<&[u8]>) -> Result<Stats> {
    match (stats64, stats) {
        (Some(v), _) => decode_stats(v, true),
        (None, Some(v)) => decode_stats(v, false),
        (None, None) => Ok(Stats::default()),
    }
}

/// Decodes the attributes inside a SERVICE nest.
///
/// # Errors
/// [`Error::Protocol`] when an attribute is malformed or a required one is missing.
pub fn decode_service(p: &[u8]) -> Result<ServiceEntry> {
    service_from(p, true)
}

/// Decodes the attributes inside a SERVICE nest, leaving its counters out
/// (they are not decoded at all): what a table listing needs.
///
/// # Errors
/// As [`decode_service`].
pub fn decode_service_config(p: &[u8]) -> Result<Service> {
    service_from(p, false).map(|e| e.service)
}

fn service_from(p: &[u8], with_stats: bool) -> Result<ServiceEntry> {
    let (mut af, mut proto, mut addr, mut port, mut fwmark) = (None, None, None, None, None);
    let (mut sched, mut flags, mut timeout, mut netmask, mut pe) = (None, 0u32, 0u32, None, None);
    let (mut stats, mut stats64) = (None, None);
    for a in Attrs::new(p) {
        let (t, v) = a?;
        match t {
            svc_attr::AF => af = Some(nla::get_u16("service family", v)?),
            svc_attr::PROTOCOL => proto = Some(nla::get_u16("service protocol", v)?),
            svc_attr::ADDR => addr = Some(v),
            svc_attr::PORT => port = Some(nla::get_be16("service port", v)?),
            svc_attr::FWMARK => fwmark = Some(nla::get_u32("service fwmark", v)?),
            svc_attr::SCHED_NAME => sched = Some(v),
            svc_attr::FLAGS => flags = nla::get_u32("service flags", v)?,
            svc_attr::TIMEOUT => timeout = nla::get_u32("service timeout", v)?,
            svc_attr::NETMASK => netmask = Some(v),
            svc_attr::PE_NAME => pe = Some(v),
            svc_attr::STATS => stats = Some(v),
            svc_attr::STATS64 => stats64 = Some(v),
            _ => {}
        }
    }
    let ctx = "decoding a service";
    let af = af.ok_or_else(|| Error::protocol(ctx, "no address family"))?;
    let family = Family::from_af(af)
        .ok_or_else(|| Error::protocol(ctx, format!("unknown address family {af}")))?;
    let key = match fwmark {
        Some(mark) if mark != 0 => ServiceKey::Fwmark { family, mark },
        _ => {
            let pn = proto.ok_or_else(|| Error::protocol(ctx, "no protocol"))?;
            let protocol = Protocol::from_raw(pn);
            let addr = addr_from(
                "service address",
                family,
                addr.ok_or_else(|| Error::protocol(ctx, "no address"))?,
            )?;
            ServiceKey::Inet {
                protocol,
                addr,
                port: port.unwrap_or(0),
            }
        }
    };
    let scheduler =
        Scheduler::from_kernel(sched.ok_or_else(|| Error::protocol(ctx, "no scheduler"))?);
    let persistence = if flags & SVC_F_PERSISTENT != 0 {
        let nm = match (family, netmask) {
            (Family::Ipv4, Some(b)) if b.len() >= 4 => {
                Netmask::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
            }
            (Family::Ipv6, Some(b)) => {
                Netmask::V6(nla::get_u32("service netmask", b)?.min(255) as u8)
            }
            _ => Netmask::full(family),
        };
        Some(Persistence {
            timeout,
            netmask: nm,
        })
    } else {
        None
    };
    let pe = pe
        .filter(|n| n.first().is_some_and(|&b| b != 0))
        .map(Name::from_kernel);
    let user_flags = ServiceFlags::from_bits_retain(flags & !(SVC_F_PERSISTENT | SVC_F_HASHED));
    Ok(ServiceEntry {
        service: Service {
            key,
            scheduler,
            flags: user_flags,
            persistence,
            pe,
        },
        stats: if with_stats {
            pick_stats(stats64, stats)?
        } else {
            Stats::default()
        },
    })
}

/// Decodes the attributes inside a DEST nest; `service_family` is used when
/// the kernel does not report the destination's own family.
///
/// # Errors
/// [`Error::Protocol`] when an attribute is malformed or a required one is missing.
pub fn decode_dest(p: &[u8], service_family: Family) -> Result<DestinationEntry> {
    dest_from(p, service_family, true)
}

/// Decodes the attributes inside a DEST nest, leaving its counters and
/// connection counts out: what a table listing needs.
///
/// # Errors
/// As [`decode_dest`].
pub fn decode_dest_config(p: &[u8], service_family: Family) -> Result<Destination> {
    dest_from(p, service_family, false).map(|e| e.destination)
}

fn dest_from(p: &[u8], service_family: Family, with_stats: bool) -> Result<DestinationEntry> {
    let ctx = "decoding a destination";
    let (mut addr, mut port, mut fwd, mut weight, mut uth, mut lth) =
        (None, 0u16, 0u32, 0u32, 0u32, 0u32);
    let (mut active, mut inact, mut persist) = (0, 0, 0);
    let (mut af, mut tun_type, mut tun_port, mut tun_flags) = (None, 0u8, 0u16, 0u16);
    let (mut stats, mut stats64) = (None, None);
    for a in Attrs::new(p) {
        let (t, v) = a?;
        match t {
            dest_attr::ADDR => addr = Some(v),
            dest_attr::PORT => port = nla::get_be16("destination port", v)?,
            dest_attr::FWD_METHOD => fwd = nla::get_u32("forwarding method", v)?,
            dest_attr::WEIGHT => weight = nla::get_u32("weight", v)?,
            dest_attr::U_THRESH => uth = nla::get_u32("upper threshold", v)?,
            dest_attr::L_THRESH => lth = nla::get_u32("lower threshold", v)?,
            dest_attr::ACTIVE_CONNS => active = nla::get_u32("active connections", v)?,
            dest_attr::INACT_CONNS => inact = nla::get_u32("inactive connections", v)?,
            dest_attr::PERSIST_CONNS => persist = nla::get_u32("persistent connections", v)?,
            dest_attr::ADDR_FAMILY => af = Some(nla::get_u16("destination family", v)?),
            dest_attr::TUN_TYPE => tun_type = nla::get_u8("tunnel type", v)?,
            dest_attr::TUN_PORT => tun_port = nla::get_be16("tunnel port", v)?,
            dest_attr::TUN_FLAGS => tun_flags = nla::get_u16("tunnel flags", v)?,
            dest_attr::STATS => stats = Some(v),
            dest_attr::STATS64 => stats64 = Some(v),
            _ => {}
        }
    }
    let family = match af {
        Some(af) => Family::from_af(af)
            .ok_or_else(|| Error::protocol(ctx, format!("unknown address family {af}")))?,
        None => service_family,
    };
    let addr = addr_from(
        "destination address",
        family,
        addr.ok_or_else(|| Error::protocol(ctx, "no address"))?,
    )?;
    let flags = EncapFlags::from_bits_retain(tun_flags);
    let forward = match fwd & 0x7 {
        0 => Forward::Masq,
        1 => Forward::Local,
        2 => Forward::Tunnel(match tun_type {
            0 => Tunnel::Ipip,
            1 => Tunnel::Gue {
                port: tun_port,
                flags,
            },
            2 => Tunnel::Gre { flags },
            other => Tunnel::Unknown(u16::from(other)),
        }),
        3 => Forward::DirectRoute,
        4 => Forward::Bypass,
        _ => Forward::Unknown(fwd),
    };
    Ok(DestinationEntry {
        destination: Destination {
            addr,
            port,
            forward,
            weight,
            upper_threshold: uth,
            lower_threshold: lth,
        },
        active_conns: active,
        inactive_conns: inact,
        persistent_conns: persist,
        stats: if with_stats {
            pick_stats(stats64, stats)?
        } else {
            Stats::default()
        },
    })
}

/// Decodes the attributes inside a DAEMON nest.
///
/// # Errors
/// [`Error::Protocol`] when an attribute is malformed or the state is unknown.
pub fn decode_daemon(p: &[u8]) -> Result<SyncDaemon> {
    let mut d = SyncDaemon::new(SyncState::Master, String::new(), 0);
    let mut state = None;
    for a in Attrs::new(p) {
        let (t, v) = a?;
        match t {
            daemon_attr::STATE => state = Some(nla::get_u32("daemon state", v)?),
            daemon_attr::MCAST_IFN => d.interface = kernel_text::decode(v),
            daemon_attr::SYNC_ID => d.sync_id = nla::get_u32("sync id", v)?,
            daemon_attr::SYNC_MAXLEN => d.max_len = Some(nla::get_u16("sync maxlen", v)?),
            daemon_attr::MCAST_GROUP => {
                let g = addr_from("daemon group", Family::Ipv4, v)?;
                if !g.is_unspecified() {
                    d.group = Some(g);
                }
            }
            daemon_attr::MCAST_GROUP6 => {
                let g = addr_from("daemon group", Family::Ipv6, v)?;
                if !g.is_unspecified() {
                    d.group = Some(g);
                }
            }
            daemon_attr::MCAST_PORT => d.port = Some(nla::get_u16("daemon port", v)?),
            daemon_attr::MCAST_TTL => d.ttl = Some(nla::get_u8("daemon ttl", v)?),
            _ => {}
        }
    }
    // a daemon without a state is listed as state 0, which no kernel uses
    d.state = SyncState::from_raw(state.unwrap_or(0));
    Ok(d)
}

/// Decodes the top-level attributes of a GET_CONFIG reply.
///
/// # Errors
/// [`Error::Protocol`] when an attribute is malformed.
pub fn decode_timeouts(p: &[u8]) -> Result<Timeouts> {
    let mut t = Timeouts::default();
    for a in Attrs::new(p) {
        let (ty, v) = a?;
        match ty {
            cmd_attr::TIMEOUT_TCP => t.tcp = nla::get_u32("tcp timeout", v)?,
            cmd_attr::TIMEOUT_TCP_FIN => t.tcp_fin = nla::get_u32("tcpfin timeout", v)?,
            cmd_attr::TIMEOUT_UDP => t.udp = nla::get_u32("udp timeout", v)?,
            _ => {}
        }
    }
    Ok(t)
}

/// Decodes the top-level attributes of a GET_INFO reply.
///
/// # Errors
/// [`Error::Protocol`] when an attribute is malformed or missing.
pub fn decode_info(p: &[u8]) -> Result<Info> {
    let (mut version, mut size) = (None, None);
    for a in Attrs::new(p) {
        let (ty, v) = a?;
        match ty {
            info_attr::VERSION => version = Some(nla::get_u32("version", v)?),
            info_attr::CONN_TAB_SIZE => size = Some(nla::get_u32("connection table size", v)?),
            _ => {}
        }
    }
    match (version, size) {
        (Some(version), Some(conn_table_size)) => Ok(Info {
            version,
            conn_table_size,
        }),
        _ => Err(Error::protocol(
            "decoding IPVS info",
            "version or table size missing",
        )),
    }
}

/// Builds one complete IPVS request message into `buf`.
///
/// # Errors
/// Whatever `attrs` returns, or an oversized message.
pub fn request(
    buf: &mut Vec<u8>,
    family: u16,
    command: u8,
    flags: u16,
    seq: u32,
    attrs: impl FnOnce(&mut Vec<u8>) -> Result<()>,
) -> Result<()> {
    let start = nla::begin_msg(buf, family, flags | nla::NLM_F_REQUEST, seq);
    nla::put_genl(buf, command, GENL_VERSION);
    attrs(buf)?;
    nla::end_msg(buf, start)
}
