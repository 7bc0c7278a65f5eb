//! Tunnel devices, addresses, FOU/GUE ports and real-server set-up over
//! rtnetlink: the `lvskit_rtnl` handle and its plain structs.

use std::ffi::{c_char, c_int};
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::Duration;

use ipnetwork::IpNetwork;
use ipvs_core::tunnel::realserver::{self, Prepared, RealServer};
use ipvs_core::tunnel::{
    Encap, EncapType, FouEncap, FouPort, InnerProto, Link, NewLink, TunnelConfig, TunnelEncapFlags,
    TunnelKind,
};
use ipvs_core::{Error, Fou, Namespace, Rtnl};

use crate::error::{guard, guard_value, input, lvskit_result, CResult};
use crate::ffi::{give, optional, owned, release};
use crate::types::{addr_from, addr_to, name_array, read_name, LVSKIT_NAME_LEN};
use crate::{arg, c_str, out, put};

/// Tunnel kind: IPv4-in-IPv4 (`ipip`; fallback device `tunl0`).
pub const LVSKIT_TUNNEL_IPIP: u32 = 1;
/// Tunnel kind: IPv6-in-IPv4 (`sit`; fallback device `sit0`).
pub const LVSKIT_TUNNEL_SIT: u32 = 2;
/// Tunnel kind: IPv4 or IPv6 in IPv6 (`ip6tnl`; fallback device `ip6tnl0`).
pub const LVSKIT_TUNNEL_IP6TNL: u32 = 3;
/// Tunnel kind: GRE over IPv4 (`gre`; fallback device `gre0`).
pub const LVSKIT_TUNNEL_GRE: u32 = 4;
/// Tunnel kind: Ethernet over GRE over IPv4 (`gretap`).
pub const LVSKIT_TUNNEL_GRETAP: u32 = 5;
/// Tunnel kind: GRE over IPv6 (`ip6gre`; fallback device `ip6gre0`).
pub const LVSKIT_TUNNEL_IP6GRE: u32 = 6;
/// Tunnel kind: Ethernet over GRE over IPv6 (`ip6gretap`).
pub const LVSKIT_TUNNEL_IP6GRETAP: u32 = 7;

/// Tunnel encapsulation: none (`encap_type`).
pub const LVSKIT_ENCAP_NONE: u32 = 0;
/// Tunnel encapsulation: Foo-over-UDP (`encap fou`).
pub const LVSKIT_ENCAP_FOU: u32 = 1;
/// Tunnel encapsulation: Generic UDP Encapsulation (`encap gue`), what IPVS's GUE tunnels send.
pub const LVSKIT_ENCAP_GUE: u32 = 2;

/// Tunnel encapsulation flag: UDP checksum over IPv4 (`encap-csum`).
pub const LVSKIT_ENCAP_F_CSUM: u16 = 0x1;
/// Tunnel encapsulation flag: UDP checksum over IPv6 (`encap-udp6-csum`).
pub const LVSKIT_ENCAP_F_CSUM6: u16 = 0x2;
/// Tunnel encapsulation flag: remote checksum offload (`encap-remcsum`, GUE only).
pub const LVSKIT_ENCAP_F_REMCSUM: u16 = 0x4;

/// Tunnel key flag: `ikey` is set (GRE kinds only).
pub const LVSKIT_TUNNEL_F_IKEY: u32 = 0x1;
/// Tunnel key flag: `okey` is set (GRE kinds only).
pub const LVSKIT_TUNNEL_F_OKEY: u32 = 0x2;
/// GRE flag: received packets must carry a checksum (`icsum`; GRE kinds only).
pub const LVSKIT_TUNNEL_F_ICSUM: u32 = 0x4;
/// GRE flag: sent packets carry a checksum (`ocsum`; GRE kinds only).
pub const LVSKIT_TUNNEL_F_OCSUM: u32 = 0x8;
/// GRE flag: received packets must carry sequence numbers (`iseq`; GRE kinds only).
pub const LVSKIT_TUNNEL_F_ISEQ: u32 = 0x10;
/// GRE flag: sent packets carry sequence numbers (`oseq`; GRE kinds only).
pub const LVSKIT_TUNNEL_F_OSEQ: u32 = 0x20;
/// Every `LVSKIT_TUNNEL_F_*` bit.
const TUNNEL_F_ALL: u32 = LVSKIT_TUNNEL_F_IKEY
    | LVSKIT_TUNNEL_F_OKEY
    | LVSKIT_TUNNEL_F_ICSUM
    | LVSKIT_TUNNEL_F_OCSUM
    | LVSKIT_TUNNEL_F_ISEQ
    | LVSKIT_TUNNEL_F_OSEQ;

/// The `LVSKIT_TUNNEL_F_*` flags of a tunnel's GRE keys, checksums and
/// sequence numbers.
fn tunnel_flags(t: &TunnelConfig) -> u32 {
    [
        (t.ikey.is_some(), LVSKIT_TUNNEL_F_IKEY),
        (t.okey.is_some(), LVSKIT_TUNNEL_F_OKEY),
        (t.icsum, LVSKIT_TUNNEL_F_ICSUM),
        (t.ocsum, LVSKIT_TUNNEL_F_OCSUM),
        (t.iseq, LVSKIT_TUNNEL_F_ISEQ),
        (t.oseq, LVSKIT_TUNNEL_F_OSEQ),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, f)| f)
    .sum()
}

/// FOU port kind: GUE (`ip fou add port P gue`).
pub const LVSKIT_FOU_GUE: u32 = 0;
/// FOU port kind: direct FOU of one inner protocol (`ip fou add port P ipproto N`).
pub const LVSKIT_FOU_DIRECT: u32 = 1;

/// Real-server mode: LVS/TUN, the VIPs on a tunnel device (created if missing).
pub const LVSKIT_RS_TUNNEL: u32 = 0;
/// Real-server mode: LVS/DR, the VIPs on the loopback device `lo`.
pub const LVSKIT_RS_DR_LOOPBACK: u32 = 1;
/// Real-server mode: LVS/DR, the VIPs on a dummy device (created if missing).
pub const LVSKIT_RS_DR_DUMMY: u32 = 2;

/// An open rtnetlink connection in one network namespace: tunnel and dummy
/// devices, their state, MTU and addresses, FOU/GUE receive ports, and
/// real-server set-up.
///
/// Created by lvskit_rtnl_open() and its variants, released by
/// lvskit_rtnl_close(). Like ::lvskit_handle it may be used from several threads
/// at once; its requests are serialised. Changes need CAP_NET_ADMIN in its
/// namespace.
#[allow(non_camel_case_types)]
pub struct lvskit_rtnl {
    pub(crate) rtnl: Rtnl,
    pub(crate) ns: Namespace,
    /// For a handle opened by descriptor: our duplicate of it, kept open
    /// for FOU requests and real-server set-up made later.
    ns_fd: Option<OwnedFd>,
}

/// What lvskit_real_server_prepare() changed, to undo with
/// lvskit_prepared_teardown(). Released by lvskit_prepared_free() (which does
/// not undo anything). It stays valid after its ::lvskit_rtnl is closed.
#[allow(non_camel_case_types)]
pub struct lvskit_prepared {
    prepared: Prepared,
    /// Keeps the namespace descriptor that `prepared.namespace` names open.
    _ns_fd: Option<OwnedFd>,
}

owned!(lvskit_rtnl, lvskit_prepared);

/// The parameters of a tunnel device. Fill it with
/// lvskit_tunnel_config_init() (the kernel's defaults for a kind, as `ip link
/// add ... type KIND` uses them), then set fields.
///
/// A value describes the device completely: lvskit_rtnl_set_tunnel() replaces
/// every parameter. Addresses are a family plus 16 bytes in network byte
/// order, like ::lvskit_service's.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct lvskit_tunnel_config {
    /// LVSKIT_TUNNEL_* kind.
    pub kind: u32,
    /// Family of `local`: 0 for `any`, else LVSKIT_AF_INET (IPv4 kinds) or LVSKIT_AF_INET6 (IPv6 kinds).
    pub local_family: u16,
    /// Family of `remote`: 0 for `any`, else as `local_family`.
    pub remote_family: u16,
    /// Outer source address.
    pub local: [u8; 16],
    /// Outer destination address.
    pub remote: [u8; 16],
    /// TTL (IPv4 kinds) or hop limit (IPv6 kinds); 0 inherits the inner value.
    pub ttl: u8,
    /// TOS of IPv4 kinds (1 inherits); must be 0 for IPv6 kinds.
    pub tos: u8,
    /// Path MTU discovery of IPv4 kinds, 0 or 1 (default 1); must be 1 for IPv6 kinds.
    pub pmtudisc: u8,
    /// Inner protocol / mode of ipip, sit and ip6tnl (0 any, 4 IPv4, 41 IPv6,
    /// 137 MPLS); -1 lets the kernel choose (default).
    pub proto: i16,
    /// Encapsulation limit of IPv6 kinds (0..=255; default 4); -1 sends none.
    /// Must be -1 for IPv4 kinds.
    pub encap_limit: i16,
    /// Index of the underlying device (`dev`); 0 for none.
    pub link: u32,
    /// Flow label and traffic class of IPv6 kinds (default 0).
    pub flowinfo: u32,
    /// `IP6_TNL_F_*` flags of IPv6 kinds (default 0).
    pub ip6_flags: u32,
    /// LVSKIT_TUNNEL_F_IKEY / LVSKIT_TUNNEL_F_OKEY: which of `ikey`, `okey`
    /// are set; LVSKIT_TUNNEL_F_ICSUM, _OCSUM, _ISEQ, _OSEQ: GRE checksums
    /// and sequence numbers. Other bits are refused.
    pub key_flags: u32,
    /// GRE input key (with LVSKIT_TUNNEL_F_IKEY).
    pub ikey: u32,
    /// GRE output key (with LVSKIT_TUNNEL_F_OKEY).
    pub okey: u32,
    /// LVSKIT_ENCAP_NONE (default), LVSKIT_ENCAP_FOU or LVSKIT_ENCAP_GUE.
    pub encap_type: u32,
    /// UDP source port of the encapsulation (host byte order); 0 lets the kernel pick per flow.
    pub encap_sport: u16,
    /// UDP destination port of the encapsulation (host byte order): the receiver's FOU/GUE port.
    pub encap_dport: u16,
    /// LVSKIT_ENCAP_F_* flags.
    pub encap_flags: u16,
}

/// A network device as the kernel reports it, from lvskit_rtnl_get_link().
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct lvskit_link {
    /// Interface index.
    pub index: u32,
    /// Name, NUL-terminated: the kernel's exact bytes, which need not be UTF-8.
    pub name: [c_char; LVSKIT_NAME_LEN],
    /// Link kind, NUL-terminated (e.g. "ipip", "dummy"); empty for `lo` and plain devices.
    pub kind: [c_char; LVSKIT_NAME_LEN],
    /// MTU.
    pub mtu: u32,
    /// `IFF_*` flags.
    pub flags: u32,
    /// 1 if administratively up, else 0.
    pub up: u8,
    /// 1 if `tunnel` holds the device's tunnel parameters (a tunnel kind), else 0.
    pub is_tunnel: u8,
    /// The tunnel parameters, when `is_tunnel` is 1 (else zeroed).
    pub tunnel: lvskit_tunnel_config,
    /// Index of the underlying device (`IFLA_LINK`, e.g. a veth's peer or
    /// the device a tunnel is bound to); 0 when the kernel reports none.
    pub link: u32,
}

/// A FOU/GUE receive port. Fill it with lvskit_fou_port_init(), then set fields.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct lvskit_fou_port {
    /// UDP port (host byte order), non-zero.
    pub port: u16,
    /// 1 to listen on IPv6 (module fou6), 0 for IPv4.
    pub ipv6: u8,
    /// With LVSKIT_FOU_DIRECT: the inner IP protocol (4 IPIP, 41 IPv6, 47 GRE), non-zero.
    pub ipproto: u8,
    /// LVSKIT_FOU_GUE (default) or LVSKIT_FOU_DIRECT.
    pub encap: u32,
    /// Family of `local`: 0 for none, else the port's family.
    pub local_family: u16,
    /// Family of `peer`: 0 for none, else the port's family.
    pub peer_family: u16,
    /// Bound local address.
    pub local: [u8; 16],
    /// Connected peer address.
    pub peer: [u8; 16],
    /// Connected peer port (host byte order); 0 for none.
    pub peer_port: u16,
    /// Bound device index; 0 for none.
    pub ifindex: i32,
}

/// An address: a family (LVSKIT_AF_INET or LVSKIT_AF_INET6) and 16 bytes in
/// network byte order (IPv4 uses the first 4; the rest must be zero).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct lvskit_address {
    /// LVSKIT_AF_INET or LVSKIT_AF_INET6.
    pub family: u16,
    /// The address.
    pub addr: [u8; 16],
}

/// What a real server needs (see lvskit_real_server_prepare()). Fill it with
/// lvskit_real_server_init(), then set fields.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct lvskit_real_server {
    /// LVSKIT_RS_TUNNEL, LVSKIT_RS_DR_LOOPBACK or LVSKIT_RS_DR_DUMMY.
    pub mode: u32,
    /// The VIP device's name, NUL-terminated (tunnel: default "tunl0";
    /// dummy: required; ignored for the loopback mode).
    pub device: [c_char; LVSKIT_NAME_LEN],
    /// LVSKIT_RS_TUNNEL: parameters used only when the device must be created
    /// (default: ipip with the kernel's defaults).
    pub tunnel: lvskit_tunnel_config,
    /// 1 to also add the FOU/GUE receive port `fou` (LVS/TUN with GUE), else 0.
    pub has_fou: u8,
    /// 1 to set arp_ignore=1 and arp_announce=2 (default 1; only with an IPv4 VIP).
    pub arp: u8,
    /// 1 to turn reverse-path filtering off for the device (default 1 for
    /// tunnels, 0 for DR; only with an IPv4 VIP).
    pub rp_filter_off: u8,
    /// The FOU/GUE port, with `has_fou`.
    pub fou: lvskit_fou_port,
}

// ---------------------------------------------------------------- conversions

fn kind_from(kind: u32) -> CResult<TunnelKind> {
    Ok(match kind {
        LVSKIT_TUNNEL_IPIP => TunnelKind::Ipip,
        LVSKIT_TUNNEL_SIT => TunnelKind::Sit,
        LVSKIT_TUNNEL_IP6TNL => TunnelKind::Ip6tnl,
        LVSKIT_TUNNEL_GRE => TunnelKind::Gre,
        LVSKIT_TUNNEL_GRETAP => TunnelKind::Gretap,
        LVSKIT_TUNNEL_IP6GRE => TunnelKind::Ip6gre,
        LVSKIT_TUNNEL_IP6GRETAP => TunnelKind::Ip6gretap,
        k => {
            return Err(input(format!(
                "unknown tunnel kind {k} (use LVSKIT_TUNNEL_IPIP ... LVSKIT_TUNNEL_IP6GRETAP)"
            )))
        }
    })
}

fn kind_to(kind: TunnelKind) -> u32 {
    match kind {
        TunnelKind::Ipip => LVSKIT_TUNNEL_IPIP,
        TunnelKind::Sit => LVSKIT_TUNNEL_SIT,
        TunnelKind::Ip6tnl => LVSKIT_TUNNEL_IP6TNL,
        TunnelKind::Gre => LVSKIT_TUNNEL_GRE,
        TunnelKind::Gretap => LVSKIT_TUNNEL_GRETAP,
        TunnelKind::Ip6gre => LVSKIT_TUNNEL_IP6GRE,
        TunnelKind::Ip6gretap => LVSKIT_TUNNEL_IP6GRETAP,
    }
}

fn opt_addr(family: u16, addr: &[u8; 16], what: &str) -> CResult<Option<IpAddr>> {
    if family == 0 {
        if addr.iter().any(|&b| b != 0) {
            return Err(input(format!(
                "{what}: family 0 means no address; the address bytes must be zero"
            )));
        }
        return Ok(None);
    }
    addr_from(family, addr, what).map(Some)
}

pub(crate) fn opt_addr_to(a: Option<IpAddr>) -> (u16, [u8; 16]) {
    a.map_or((0, [0; 16]), addr_to)
}

fn tunnel_from(c: &lvskit_tunnel_config) -> CResult<TunnelConfig> {
    let kind = kind_from(c.kind)?;
    let proto = match c.proto {
        -1 => None,
        p @ 0..=255 => Some(InnerProto::from_number(p as u8)),
        p => return Err(input(format!("tunnel proto {p} is not -1 or 0..=255"))),
    };
    let encap_limit = match c.encap_limit {
        -1 => None,
        l @ 0..=255 => Some(l as u8),
        l => {
            return Err(input(format!(
                "tunnel encap_limit {l} is not -1 or 0..=255"
            )))
        }
    };
    if c.pmtudisc > 1 {
        return Err(input(format!(
            "tunnel pmtudisc {} is not 0 or 1",
            c.pmtudisc
        )));
    }
    if c.key_flags & !TUNNEL_F_ALL != 0 {
        return Err(input(format!(
            "unknown tunnel key_flags {:#x}",
            c.key_flags
        )));
    }
    let known = LVSKIT_ENCAP_F_CSUM | LVSKIT_ENCAP_F_CSUM6 | LVSKIT_ENCAP_F_REMCSUM;
    if c.encap_flags & !known != 0 {
        return Err(input(format!("unknown encap_flags {:#x}", c.encap_flags)));
    }
    let encap_kind = match c.encap_type {
        LVSKIT_ENCAP_NONE => None,
        LVSKIT_ENCAP_FOU => Some(EncapType::Fou),
        LVSKIT_ENCAP_GUE => Some(EncapType::Gue),
        e => return Err(input(format!("unknown encap_type {e}"))),
    };
    let encap = match encap_kind {
        Some(kind) => Some(Encap {
            kind,
            sport: (c.encap_sport != 0).then_some(c.encap_sport),
            dport: c.encap_dport,
            flags: TunnelEncapFlags::from_bits_truncate(c.encap_flags),
        }),
        None => {
            if c.encap_sport != 0 || c.encap_dport != 0 || c.encap_flags != 0 {
                return Err(input(
                    "encap_sport, encap_dport and encap_flags need an encap_type",
                ));
            }
            None
        }
    };
    let flag = |f: u32| c.key_flags & f != 0;
    let t = TunnelConfig {
        kind,
        local: opt_addr(c.local_family, &c.local, "tunnel local address")?,
        remote: opt_addr(c.remote_family, &c.remote, "tunnel remote address")?,
        ttl: c.ttl,
        tos: c.tos,
        pmtudisc: c.pmtudisc == 1,
        link: c.link,
        proto,
        encap_limit,
        flowinfo: c.flowinfo,
        ip6_flags: c.ip6_flags,
        ikey: flag(LVSKIT_TUNNEL_F_IKEY).then_some(c.ikey),
        okey: flag(LVSKIT_TUNNEL_F_OKEY).then_some(c.okey),
        icsum: flag(LVSKIT_TUNNEL_F_ICSUM),
        ocsum: flag(LVSKIT_TUNNEL_F_OCSUM),
        iseq: flag(LVSKIT_TUNNEL_F_ISEQ),
        oseq: flag(LVSKIT_TUNNEL_F_OSEQ),
        encap,
    };
    t.validate()?;
    Ok(t)
}

fn tunnel_to(t: &TunnelConfig) -> lvskit_tunnel_config {
    let (local_family, local) = opt_addr_to(t.local);
    let (remote_family, remote) = opt_addr_to(t.remote);
    let e = t.encap;
    lvskit_tunnel_config {
        kind: kind_to(t.kind),
        local_family,
        remote_family,
        local,
        remote,
        ttl: t.ttl,
        tos: t.tos,
        pmtudisc: u8::from(t.pmtudisc),
        proto: t.proto.map_or(-1, |p| i16::from(p.number())),
        encap_limit: t.encap_limit.map_or(-1, i16::from),
        link: t.link,
        flowinfo: t.flowinfo,
        ip6_flags: t.ip6_flags,
        key_flags: tunnel_flags(t),
        ikey: t.ikey.unwrap_or(0),
        okey: t.okey.unwrap_or(0),
        encap_type: match e.map(|e| e.kind) {
            None => LVSKIT_ENCAP_NONE,
            Some(EncapType::Fou) => LVSKIT_ENCAP_FOU,
            Some(EncapType::Gue) => LVSKIT_ENCAP_GUE,
            // a type the library does not know, as the kernel reported it
            Some(EncapType::Other(n)) => u32::from(n),
        },
        encap_sport: e.and_then(|e| e.sport).unwrap_or(0),
        encap_dport: e.map_or(0, |e| e.dport),
        encap_flags: e.map_or(0, |e| e.flags.bits()),
    }
}

fn zero_tunnel() -> lvskit_tunnel_config {
    lvskit_tunnel_config {
        kind: 0,
        local_family: 0,
        remote_family: 0,
        local: [0; 16],
        remote: [0; 16],
        ttl: 0,
        tos: 0,
        pmtudisc: 0,
        proto: 0,
        encap_limit: 0,
        link: 0,
        flowinfo: 0,
        ip6_flags: 0,
        key_flags: 0,
        ikey: 0,
        okey: 0,
        encap_type: 0,
        encap_sport: 0,
        encap_dport: 0,
        encap_flags: 0,
    }
}

/// The exact bytes of a device name (any bytes but NUL), NUL-terminated.
fn raw_name_array(raw: &[u8]) -> [c_char; LVSKIT_NAME_LEN] {
    let mut a = [0 as c_char; LVSKIT_NAME_LEN];
    for (d, b) in a.iter_mut().zip(raw.iter().take(LVSKIT_NAME_LEN - 1)) {
        *d = *b as c_char;
    }
    a
}

pub(crate) fn link_to(l: &Link) -> lvskit_link {
    lvskit_link {
        index: l.index,
        name: raw_name_array(&l.raw_name),
        kind: name_array(l.kind.as_deref().unwrap_or("")),
        mtu: l.mtu,
        flags: l.flags,
        up: u8::from(l.is_up()),
        is_tunnel: u8::from(l.tunnel.is_some()),
        tunnel: l.tunnel.as_ref().map_or_else(zero_tunnel, tunnel_to),
        link: l.link.unwrap_or(0),
    }
}

pub(crate) fn fou_from(p: &lvskit_fou_port) -> CResult<FouPort> {
    if p.ipv6 > 1 {
        return Err(input(format!("FOU port ipv6 {} is not 0 or 1", p.ipv6)));
    }
    let encap = match p.encap {
        LVSKIT_FOU_GUE => {
            if p.ipproto != 0 {
                return Err(input("a GUE port takes no ipproto (set it to 0)"));
            }
            FouEncap::Gue
        }
        LVSKIT_FOU_DIRECT => FouEncap::Direct { ipproto: p.ipproto },
        e => return Err(input(format!("unknown FOU port encap {e}"))),
    };
    let f = FouPort {
        port: p.port,
        ipv6: p.ipv6 == 1,
        encap,
        local: opt_addr(p.local_family, &p.local, "FOU local address")?,
        peer: opt_addr(p.peer_family, &p.peer, "FOU peer address")?,
        peer_port: (p.peer_port != 0).then_some(p.peer_port),
        ifindex: (p.ifindex != 0).then_some(p.ifindex),
    };
    f.validate()?;
    Ok(f)
}

fn fou_default() -> lvskit_fou_port {
    lvskit_fou_port {
        port: 0,
        ipv6: 0,
        ipproto: 0,
        encap: LVSKIT_FOU_GUE,
        local_family: 0,
        peer_family: 0,
        local: [0; 16],
        peer: [0; 16],
        peer_port: 0,
        ifindex: 0,
    }
}

/// A device name argument: checked like the kernel does.
///
/// # Safety
/// `p` is NULL or NUL-terminated.
unsafe fn ifname<'a>(p: *const c_char, what: &'static str) -> CResult<&'a str> {
    // SAFETY: the caller's promise.
    let n = unsafe { c_str(p, what) }?;
    ipvs_core::tunnel::validate_ifname(n)?;
    Ok(n)
}

pub(crate) fn dup_fd(fd: c_int) -> CResult<OwnedFd> {
    if fd < 0 {
        return Err(input(format!("{fd} is not a file descriptor")));
    }
    // SAFETY: F_DUPFD_CLOEXEC on any integer is safe; failure is checked.
    let d = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if d < 0 {
        return Err(Error::Io {
            context: format!("duplicating namespace descriptor {fd}"),
            source: std::io::Error::last_os_error(),
        }
        .into());
    }
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(d) })
}

// ---------------------------------------------------------------- handles

fn rtnl_open(ns: Namespace, fd: Option<OwnedFd>, out_p: *mut *mut lvskit_rtnl) -> CResult<()> {
    let p = out(out_p, "rtnl_out")?;
    let rtnl = Rtnl::open(ns.clone())?;
    // SAFETY: checked non-NULL.
    unsafe {
        give(
            p,
            lvskit_rtnl {
                rtnl,
                ns,
                ns_fd: fd,
            },
        )
    };
    Ok(())
}

/// Opens rtnetlink in the calling thread's network namespace. On success
/// `*rtnl_out` receives a new handle owned by the caller (lvskit_rtnl_close()).
///
/// # Safety
/// `rtnl_out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_rtnl_open(rtnl_out: *mut *mut lvskit_rtnl) -> lvskit_result {
    guard("lvskit_rtnl_open", || {
        rtnl_open(Namespace::Current, None, rtnl_out)
    })
}

/// Opens rtnetlink in the named network namespace (/run/netns/NAME), like
/// lvskit_open_netns_name(). On success `*rtnl_out` receives a new handle
/// owned by the caller (lvskit_rtnl_close()).
///
/// # Safety
/// `name` must be NULL or NUL-terminated; `rtnl_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_rtnl_open_netns_name(
    name: *const c_char,
    rtnl_out: *mut *mut lvskit_rtnl,
) -> lvskit_result {
    guard("lvskit_rtnl_open_netns_name", || {
        // SAFETY: the caller's promise.
        let name = unsafe { c_str(name, "name") }?;
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(input(format!(
                "{name:?} is not a network namespace name (use lvskit_rtnl_open_netns_path for paths)"
            )));
        }
        rtnl_open(Namespace::Named(name.to_owned()), None, rtnl_out)
    })
}

/// Opens rtnetlink in the network namespace at `path`, like
/// lvskit_open_netns_path(). On success `*rtnl_out` receives a new handle
/// owned by the caller (lvskit_rtnl_close()).
///
/// # Safety
/// `path` must be NULL or NUL-terminated; `rtnl_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_rtnl_open_netns_path(
    path: *const c_char,
    rtnl_out: *mut *mut lvskit_rtnl,
) -> lvskit_result {
    guard("lvskit_rtnl_open_netns_path", || {
        // SAFETY: the caller's promise.
        let path = unsafe { c_str(path, "path") }?;
        if path.is_empty() {
            return Err(input("path is empty"));
        }
        rtnl_open(Namespace::Path(PathBuf::from(path)), None, rtnl_out)
    })
}

/// Opens rtnetlink in the network namespace that `fd` refers to. The
/// descriptor stays the caller's (the handle keeps its own duplicate, for
/// FOU requests and real-server set-up) and may be closed afterwards. On
/// success `*rtnl_out` receives a new handle owned by the caller (lvskit_rtnl_close()).
///
/// # Safety
/// `rtnl_out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_rtnl_open_netns_fd(
    fd: c_int,
    rtnl_out: *mut *mut lvskit_rtnl,
) -> lvskit_result {
    guard("lvskit_rtnl_open_netns_fd", || {
        out(rtnl_out, "rtnl_out")?;
        let own = dup_fd(fd)?;
        // the handle keeps `own` open for as long as `ns` names it
        let ns = Namespace::Fd(own.as_raw_fd());
        rtnl_open(ns, Some(own), rtnl_out)
    })
}

/// Closes an rtnetlink handle. NULL is accepted and ignored. Prepared
/// real-server states made with it stay valid.
///
/// # Safety
/// `rtnl` must be NULL or a handle from lvskit_rtnl_open*() not yet closed.
#[no_mangle]
pub unsafe extern "C" fn lvskit_rtnl_close(rtnl: *mut lvskit_rtnl) {
    // SAFETY: the caller's promise.
    unsafe { release(rtnl) }
}

/// Bounds every wait for a kernel reply on this handle to `timeout_ms`
/// milliseconds (at least 1); a late reply gives `LVSKIT_RESULT_TIMEOUT`.
///
/// # Safety
/// `rtnl` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn lvskit_rtnl_set_timeout_ms(
    rtnl: *const lvskit_rtnl,
    timeout_ms: u32,
) -> lvskit_result {
    guard("lvskit_rtnl_set_timeout_ms", || {
        // SAFETY: the caller's promise.
        let r = unsafe { arg(rtnl, "rtnl") }?;
        if timeout_ms == 0 {
            return Err(input("timeout_ms must be at least 1"));
        }
        r.rtnl
            .set_timeout(Duration::from_millis(u64::from(timeout_ms)))?;
        Ok(())
    })
}

// ---------------------------------------------------------------- plain structs

/// Fills `config` with the defaults of a tunnel of `kind` (LVSKIT_TUNNEL_*):
/// local and remote `any`, TTL 0 (inherit), TOS 0, pmtudisc 1, proto -1,
/// encap_limit 4 for IPv6 kinds and -1 for IPv4 kinds, no keys, no
/// encapsulation. An unknown kind gives `LVSKIT_RESULT_INVALID_INPUT`.
///
/// # Safety
/// `config` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_tunnel_config_init(
    config: *mut lvskit_tunnel_config,
    kind: u32,
) -> lvskit_result {
    guard("lvskit_tunnel_config_init", || {
        let p = out(config, "config")?;
        let c = tunnel_to(&TunnelConfig::new(kind_from(kind)?));
        // SAFETY: checked non-NULL.
        unsafe { put(p, c) };
        Ok(())
    })
}

/// Fills `port` with a GUE receive port on IPv4 for UDP port `udp_port`
/// (`ip fou add port P gue`), nothing bound.
///
/// # Safety
/// `port` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_fou_port_init(
    port: *mut lvskit_fou_port,
    udp_port: u16,
) -> lvskit_result {
    guard("lvskit_fou_port_init", || {
        let p = out(port, "port")?;
        // SAFETY: checked non-NULL.
        unsafe {
            put(
                p,
                lvskit_fou_port {
                    port: udp_port,
                    ..fou_default()
                },
            )
        };
        Ok(())
    })
}

/// Fills `rs` with the defaults of `mode`: LVSKIT_RS_TUNNEL uses device
/// "tunl0" (ipip), arp 1, rp_filter_off 1; LVSKIT_RS_DR_LOOPBACK uses "lo",
/// arp 1, rp_filter_off 0; LVSKIT_RS_DR_DUMMY is like it with an empty device
/// name to set. No FOU port.
///
/// # Safety
/// `rs` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_real_server_init(
    rs: *mut lvskit_real_server,
    mode: u32,
) -> lvskit_result {
    guard("lvskit_real_server_init", || {
        let p = out(rs, "rs")?;
        let (device, rp) = match mode {
            LVSKIT_RS_TUNNEL => ("tunl0", 1),
            LVSKIT_RS_DR_LOOPBACK => ("lo", 0),
            LVSKIT_RS_DR_DUMMY => ("", 0),
            m => return Err(input(format!("unknown real-server mode {m}"))),
        };
        let v = lvskit_real_server {
            mode,
            device: name_array(device),
            tunnel: tunnel_to(&TunnelConfig::new(TunnelKind::Ipip)),
            has_fou: 0,
            arp: 1,
            rp_filter_off: rp,
            fou: fou_default(),
        };
        // SAFETY: checked non-NULL.
        unsafe { put(p, v) };
        Ok(())
    })
}

// ---------------------------------------------------------------- devices

/// Creates the tunnel device `name` with `config` (`ip link add NAME type
/// KIND ...`); `mtu` 0 lets the kernel choose, else at least 68; `up` 1
/// brings it up. When `link_out` is not NULL it receives the device as the
/// kernel reports it. A taken name gives `LVSKIT_RESULT_EXISTS`, a missing
/// kind module `LVSKIT_RESULT_MODULE_MISSING`; invalid names (empty, over 15
/// bytes, with '/', ':' or whitespace) and parameters
/// `LVSKIT_RESULT_INVALID_INPUT` before anything is sent.
///
/// # Safety
/// `rtnl` must be NULL or a live handle; `name` NULL or NUL-terminated;
/// `config` NULL or valid; `link_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_rtnl_add_tunnel(
    rtnl: *const lvskit_rtnl,
    name: *const c_char,
    config: *const lvskit_tunnel_config,
    mtu: u32,
    up: c_int,
    link_out: *mut lvskit_link,
) -> lvskit_result {
    guard("lvskit_rtnl_add_tunnel", || {
        // SAFETY: the caller's promise.
        let (r, c) = unsafe { (arg(rtnl, "rtnl")?, arg(config, "config")?) };
        // SAFETY: the caller's promise.
        let name = unsafe { ifname(name, "name") }?;
        let mut l = NewLink::tunnel(name, tunnel_from(c)?).with_up(up != 0);
        if mtu != 0 {
            l = l.with_mtu(mtu);
        }
        let link = r.rtnl.add_link(&l)?;
        // SAFETY: optional out-parameter.
        unsafe { put(link_out, link_to(&link)) };
        Ok(())
    })
}

/// Creates the dummy device `name` (e.g. to hold an LVS/DR VIP); `up` 1
/// brings it up. Results as lvskit_rtnl_add_tunnel().
///
/// # Safety
/// `rtnl` must be NULL or a live handle; `name` NULL or NUL-terminated;
/// `link_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_rtnl_add_dummy(
    rtnl: *const lvskit_rtnl,
    name: *const c_char,
    up: c_int,
    link_out: *mut lvskit_link,
) -> lvskit_result {
    guard("lvskit_rtnl_add_dummy", || {
        // SAFETY: the caller's promise.
        let r = unsafe { arg(rtnl, "rtnl") }?;
        // SAFETY: the caller's promise.
        let name = unsafe { ifname(name, "name") }?;
        let link = r.rtnl.add_link(&NewLink::dummy(name).with_up(up != 0))?;
        // SAFETY: optional out-parameter.
        unsafe { put(link_out, link_to(&link)) };
        Ok(())
    })
}

/// Replaces every tunnel parameter of the tunnel device `name` with
/// `config` (read it with lvskit_rtnl_get_link(), edit, set back). A missing
/// device gives `LVSKIT_RESULT_NOT_FOUND`; the kernel refuses changes to its
/// fallback devices (tunl0, gre0, ...) with `LVSKIT_RESULT_INVALID`.
///
/// # Safety
/// `rtnl` must be NULL or a live handle; `name` NULL or NUL-terminated;
/// `config` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lvskit_rtnl_set_tunnel(
    rtnl: *const lvskit_rtnl,
    name: *const c_char,
    config: *const lvskit_tunnel_config,
) -> lvskit_result {
    guard("lvskit_rtnl_set_tunnel", || {
        // SAFETY: the caller's promise.
        let (r, c) = unsafe { (arg(rtnl, "rtnl")?, arg(config, "config")?) };
        // SAFETY: the caller's promise.
        let name = unsafe { ifname(name, "name") }?;
        r.rtnl.set_tunnel(name, &tunnel_from(c)?)?;
        Ok(())
    })
}

/// Deletes the device `name`. A missing device gives
/// `LVSKIT_RESULT_NOT_FOUND` (errno ENODEV); devices that cannot be deleted
/// (lo, fallback tunnels) a kernel refusal.
///
/// # Safety
/// `rtnl` must be NULL or a live handle; `name` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn lvskit_rtnl_delete_link(
    rtnl: *const lvskit_rtnl,
    name: *const c_char,
) -> lvskit_result {
    guard("lvskit_rtnl_delete_link", || {
        // SAFETY: the caller's promise.
        let r = unsafe { arg(rtnl, "rtnl") }?;
        // SAFETY: the caller's promise.
        let name = unsafe { ifname(name, "name") }?;
        r.rtnl.del_link(name)?;
        Ok(())
    })
}

/// Brings the device `name` up (`up` non-zero) or down. A missing device
/// gives `LVSKIT_RESULT_NOT_FOUND`.
///
/// # Safety
/// `rtnl` must be NULL or a live handle; `name` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn lvskit_rtnl_set_up(
    rtnl: *const lvskit_rtnl,
    name: *const c_char,
    up: c_int,
) -> lvskit_result {
    guard("lvskit_rtnl_set_up", || {
        // SAFETY: the caller's promise.
        let r = unsafe { arg(rtnl, "rtnl") }?;
        // SAFETY: the caller's promise.
        let name = unsafe { ifname(name, "name") }?;
        r.rtnl.set_up(name, up != 0)?;
        Ok(())
    })
}

/// Sets the MTU of the device `name`. Below 68 gives
/// `LVSKIT_RESULT_INVALID_INPUT`; a value the device refuses
/// `LVSKIT_RESULT_INVALID`; a missing device `LVSKIT_RESULT_NOT_FOUND`.
///
/// # Safety
/// `rtnl` must be NULL or a live handle; `name` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn lvskit_rtnl_set_mtu(
    rtnl: *const lvskit_rtnl,
    name: *const c_char,
    mtu: u32,
) -> lvskit_result {
    guard("lvskit_rtnl_set_mtu", || {
        // SAFETY: the caller's promise.
        let r = unsafe { arg(rtnl, "rtnl") }?;
        // SAFETY: the caller's promise.
        let name = unsafe { ifname(name, "name") }?;
        r.rtnl.set_mtu(name, mtu)?;
        Ok(())
    })
}

fn net_from(a: &lvskit_address, prefix_len: u8) -> CResult<IpNetwork> {
    let ip = addr_from(a.family, &a.addr, "address")?;
    IpNetwork::new(ip, prefix_len).map_err(|_| {
        input(format!(
            "prefix length {prefix_len} is too long for {ip} (at most {})",
            if ip.is_ipv4() { 32 } else { 128 }
        ))
    })
}

/// Adds `address`/`prefix_len` (e.g. a VIP as /32 or /128) to the device
/// `name`. A prefix longer than the family allows gives
/// `LVSKIT_RESULT_INVALID_INPUT`; an address already there
/// `LVSKIT_RESULT_EXISTS`; a missing device `LVSKIT_RESULT_NOT_FOUND`.
///
/// # Safety
/// `rtnl` must be NULL or a live handle; `name` NULL or NUL-terminated;
/// `address` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lvskit_rtnl_add_address(
    rtnl: *const lvskit_rtnl,
    name: *const c_char,
    address: *const lvskit_address,
    prefix_len: u8,
) -> lvskit_result {
    guard("lvskit_rtnl_add_address", || {
        // SAFETY: the caller's promise.
        let (r, a) = unsafe { (arg(rtnl, "rtnl")?, arg(address, "address")?) };
        // SAFETY: the caller's promise.
        let name = unsafe { ifname(name, "name") }?;
        r.rtnl.add_address(name, net_from(a, prefix_len)?)?;
        Ok(())
    })
}

/// Removes `address`/`prefix_len` from the device `name`. A missing
/// address or device gives `LVSKIT_RESULT_NOT_FOUND`.
///
/// # Safety
/// `rtnl` must be NULL or a live handle; `name` NULL or NUL-terminated;
/// `address` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lvskit_rtnl_delete_address(
    rtnl: *const lvskit_rtnl,
    name: *const c_char,
    address: *const lvskit_address,
    prefix_len: u8,
) -> lvskit_result {
    guard("lvskit_rtnl_delete_address", || {
        // SAFETY: the caller's promise.
        let (r, a) = unsafe { (arg(rtnl, "rtnl")?, arg(address, "address")?) };
        // SAFETY: the caller's promise.
        let name = unsafe { ifname(name, "name") }?;
        r.rtnl.del_address(name, net_from(a, prefix_len)?)?;
        Ok(())
    })
}

/// Reads the device `name` into `*link_out` (index, kind, MTU, flags, up,
/// and the tunnel parameters of tunnel kinds). A missing device gives
/// `LVSKIT_RESULT_NOT_FOUND` (errno ENODEV).
///
/// # Safety
/// `rtnl` must be NULL or a live handle; `name` NULL or NUL-terminated;
/// `link_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_rtnl_get_link(
    rtnl: *const lvskit_rtnl,
    name: *const c_char,
    link_out: *mut lvskit_link,
) -> lvskit_result {
    guard("lvskit_rtnl_get_link", || {
        // SAFETY: the caller's promise.
        let r = unsafe { arg(rtnl, "rtnl") }?;
        // SAFETY: the caller's promise.
        let name = unsafe { ifname(name, "name") }?;
        let lo = out(link_out, "link_out")?;
        let link = r.rtnl.link(name)?.ok_or_else(|| Error::NotFound {
            context: format!("reading device {name}"),
            what: "no such network interface",
            errno: libc::ENODEV,
        })?;
        // SAFETY: checked non-NULL.
        unsafe { put(lo, link_to(&link)) };
        Ok(())
    })
}

// ---------------------------------------------------------------- FOU

/// Adds a FOU/GUE receive port (`ip fou add`) in the handle's namespace. A
/// port already there gives `LVSKIT_RESULT_EXISTS`; without the fou module
/// `LVSKIT_RESULT_MODULE_MISSING`.
///
/// # Safety
/// `rtnl` must be NULL or a live handle; `port` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lvskit_rtnl_add_fou_port(
    rtnl: *const lvskit_rtnl,
    port: *const lvskit_fou_port,
) -> lvskit_result {
    guard("lvskit_rtnl_add_fou_port", || {
        // SAFETY: the caller's promise.
        let (r, p) = unsafe { (arg(rtnl, "rtnl")?, arg(port, "port")?) };
        let p = fou_from(p)?;
        Fou::open(r.ns.clone())?.add(&p)?;
        Ok(())
    })
}

/// Removes a FOU/GUE receive port (`ip fou del`). A port that is not there
/// gives `LVSKIT_RESULT_NOT_FOUND`.
///
/// # Safety
/// `rtnl` must be NULL or a live handle; `port` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lvskit_rtnl_delete_fou_port(
    rtnl: *const lvskit_rtnl,
    port: *const lvskit_fou_port,
) -> lvskit_result {
    guard("lvskit_rtnl_delete_fou_port", || {
        // SAFETY: the caller's promise.
        let (r, p) = unsafe { (arg(rtnl, "rtnl")?, arg(port, "port")?) };
        let p = fou_from(p)?;
        Fou::open(r.ns.clone())?.del(&p)?;
        Ok(())
    })
}

// ---------------------------------------------------------------- real servers

fn real_server_from(rs: &lvskit_real_server, vips: &[lvskit_address]) -> CResult<RealServer> {
    let vips = vips
        .iter()
        .enumerate()
        .map(|(i, a)| addr_from(a.family, &a.addr, &format!("vips[{i}]")))
        .collect::<CResult<Vec<_>>>()?;
    let name = read_name(&rs.device, "device")?;
    let mut r = match rs.mode {
        LVSKIT_RS_TUNNEL => RealServer::tun_device(name, tunnel_from(&rs.tunnel)?, vips),
        LVSKIT_RS_DR_LOOPBACK => RealServer::dr(vips),
        LVSKIT_RS_DR_DUMMY => RealServer::dr_dummy(name, vips),
        m => return Err(input(format!("unknown real-server mode {m}"))),
    };
    if rs.has_fou > 1 || rs.arp > 1 || rs.rp_filter_off > 1 {
        return Err(input("has_fou, arp and rp_filter_off must be 0 or 1"));
    }
    r.arp = rs.arp == 1;
    r.rp_filter_off = rs.rp_filter_off == 1;
    if rs.has_fou == 1 {
        r.fou = Some(fou_from(&rs.fou)?);
    }
    Ok(r)
}

/// Prepares this namespace as a real server for LVS/TUN or LVS/DR: creates
/// the VIP device if missing (tunnel or dummy), brings it up, adds the
/// `n_vips` VIPs of `vips` as /32 or /128, sets the sysctls (arp_ignore=1,
/// arp_announce=2; rp_filter=0 on the device and on `all` for tunnels; only
/// with an IPv4 VIP), and adds the FOU/GUE port if asked. What was already
/// in place is left alone and not recorded. On failure what was changed is
/// undone (best effort); invalid input gives `LVSKIT_RESULT_INVALID_INPUT`
/// before any change (also no VIP, or an existing device of another kind).
///
/// On success `*prepared_out` receives the record of the changes, owned by
/// the caller: lvskit_prepared_teardown() undoes exactly them (restoring the
/// sysctls' previous values), lvskit_prepared_free() releases the record.
/// `rs` and `vips` are only read during the call.
///
/// # Safety
/// `rtnl` must be NULL or a live handle; `rs` NULL or valid; `vips` NULL
/// or valid for `n_vips` elements; `prepared_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_real_server_prepare(
    rtnl: *const lvskit_rtnl,
    rs: *const lvskit_real_server,
    vips: *const lvskit_address,
    n_vips: usize,
    prepared_out: *mut *mut lvskit_prepared,
) -> lvskit_result {
    guard("lvskit_real_server_prepare", || {
        // SAFETY: the caller's promise.
        let (r, rs) = unsafe { (arg(rtnl, "rtnl")?, arg(rs, "rs")?) };
        // SAFETY: the caller's promise (only checked for NULL here).
        unsafe { arg(vips, "vips") }?;
        let po = out(prepared_out, "prepared_out")?;
        // SAFETY: non-NULL, and the caller promises n_vips elements.
        let vips = unsafe { std::slice::from_raw_parts(vips, n_vips) };
        let spec = real_server_from(rs, vips)?;
        // the record keeps its own namespace descriptor, so it outlives the handle
        let (ns, fd) = match &r.ns_fd {
            Some(f) => {
                let d = dup_fd(f.as_raw_fd())?;
                (Namespace::Fd(d.as_raw_fd()), Some(d))
            }
            None => (r.ns.clone(), None),
        };
        let prepared = realserver::prepare(&ns, &spec)?;
        // SAFETY: checked non-NULL.
        unsafe {
            give(
                po,
                lvskit_prepared {
                    prepared,
                    _ns_fd: fd,
                },
            )
        };
        Ok(())
    })
}

/// Whether `prepared` records no change at all (1), e.g. because everything
/// was already in place, or some (0). 1 for NULL.
///
/// # Safety
/// `prepared` must be NULL or a live record.
#[no_mangle]
pub unsafe extern "C" fn lvskit_prepared_is_empty(prepared: *const lvskit_prepared) -> c_int {
    guard_value(1, || {
        // SAFETY: the caller's promise.
        unsafe { optional(prepared) }.map_or(1, |p| c_int::from(p.prepared.is_empty()))
    })
}

/// The number of sysctls `prepared` changed (and teardown restores); 0 for NULL.
///
/// # Safety
/// `prepared` must be NULL or a live record.
#[no_mangle]
pub unsafe extern "C" fn lvskit_prepared_sysctl_count(prepared: *const lvskit_prepared) -> usize {
    guard_value(0, || {
        // SAFETY: the caller's promise.
        unsafe { optional(prepared) }.map_or(0, |p| p.prepared.sysctls.len())
    })
}

/// Undoes what `prepared` records: removes the added addresses, restores
/// the sysctls to their previous values, brings the device down if it was
/// brought up, deletes it if it was created, removes the FOU port if it was
/// added. Things already gone are skipped, so it can be repeated. Every
/// step is attempted; the first failure is returned. `prepared` stays the
/// caller's (lvskit_prepared_free()).
///
/// # Safety
/// `prepared` must be NULL or a live record.
#[no_mangle]
pub unsafe extern "C" fn lvskit_prepared_teardown(
    prepared: *const lvskit_prepared,
) -> lvskit_result {
    guard("lvskit_prepared_teardown", || {
        // SAFETY: the caller's promise.
        let p = unsafe { arg(prepared, "prepared") }?;
        realserver::teardown(&p.prepared)?;
        Ok(())
    })
}

/// Releases a record from lvskit_real_server_prepare() without undoing
/// anything. NULL is accepted and ignored.
///
/// # Safety
/// `prepared` must be NULL or a live record, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn lvskit_prepared_free(prepared: *mut lvskit_prepared) {
    // SAFETY: the caller's promise.
    unsafe { release(prepared) }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::types::LVSKIT_AF_INET;

    #[test]
    fn tunnel_configs_round_trip_through_the_c_struct() {
        for kind in TunnelKind::ALL {
            let t = TunnelConfig::new(kind);
            assert_eq!(tunnel_from(&tunnel_to(&t)).unwrap(), t, "{kind}");
        }
        let gre = TunnelConfig::new(TunnelKind::Gre)
            .with_remote([192, 0, 2, 2])
            .with_ttl(9)
            .with_keys(Some(1), None)
            .with_encap(Encap {
                sport: Some(5000),
                flags: TunnelEncapFlags::CSUM | TunnelEncapFlags::REMCSUM,
                ..Encap::gue(6080)
            });
        let c = tunnel_to(&gre);
        assert_eq!(c.key_flags, LVSKIT_TUNNEL_F_IKEY);
        assert_eq!(c.remote_family, LVSKIT_AF_INET);
        assert_eq!(c.local_family, 0);
        assert_eq!(c.encap_flags, LVSKIT_ENCAP_F_CSUM | LVSKIT_ENCAP_F_REMCSUM);
        assert_eq!(tunnel_from(&c).unwrap(), gre);
        let sit = TunnelConfig::new(TunnelKind::Sit).with_proto(InnerProto::Ipv6);
        assert_eq!(tunnel_to(&sit).proto, 41);
        assert_eq!(tunnel_from(&tunnel_to(&sit)).unwrap(), sit);
    }

    #[test]
    fn invalid_c_tunnel_fields_are_refused() {
        let ok = tunnel_to(&TunnelConfig::new(TunnelKind::Ipip));
        let bad = [
            lvskit_tunnel_config { kind: 0, ..ok },
            lvskit_tunnel_config { proto: 300, ..ok },
            lvskit_tunnel_config {
                encap_limit: 4,
                ..ok
            }, // IPv6 kinds only
            lvskit_tunnel_config { pmtudisc: 2, ..ok },
            lvskit_tunnel_config { key_flags: 4, ..ok },
            lvskit_tunnel_config {
                encap_dport: 1,
                ..ok
            }, // without an encap type
            lvskit_tunnel_config {
                encap_type: 3,
                ..ok
            },
            lvskit_tunnel_config {
                local: [1; 16], // bytes without a family
                ..ok
            },
        ];
        for (i, c) in bad.iter().enumerate() {
            assert!(tunnel_from(c).is_err(), "case {i}");
        }
    }

    #[test]
    fn fou_ports_are_checked() {
        let gue = lvskit_fou_port {
            port: 6080,
            ..fou_default()
        };
        assert_eq!(fou_from(&gue).unwrap(), FouPort::gue(6080));
        let direct = lvskit_fou_port {
            encap: LVSKIT_FOU_DIRECT,
            ipproto: 4,
            ..gue
        };
        assert_eq!(fou_from(&direct).unwrap(), FouPort::direct(6080, 4));
        assert!(fou_from(&lvskit_fou_port { ipproto: 4, ..gue }).is_err());
        assert!(fou_from(&lvskit_fou_port { port: 0, ..gue }).is_err());
        assert!(fou_from(&lvskit_fou_port { ipv6: 2, ..gue }).is_err());
        assert!(fou_from(&lvskit_fou_port {
            local_family: LVSKIT_AF_INET,
            ipv6: 1,
            ..gue
        })
        .is_err());
    }
}
