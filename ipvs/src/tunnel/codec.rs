//! The pure rtnetlink codec of links, tunnel parameters and addresses. No I/O.
//!
//! Constants follow the kernel's `include/uapi/linux/rtnetlink.h`,
//! `if_link.h`, `if_tunnel.h` and `if_addr.h`. Decoders skip attributes they
//! do not know and never panic on any input.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::IpNetwork;

use super::types::{
    Address, Encap, EncapType, InnerProto, Link, NewLink, NewLinkKind, TunnelConfig,
    TunnelEncapFlags, TunnelKind, IFF_UP,
};
use crate::codec::nla::{self, Attrs};
use crate::error::{Error, Result};

/// rtnetlink message types.
pub mod rtm {
    /// `RTM_NEWLINK`.
    pub const NEWLINK: u16 = 16;
    /// `RTM_DELLINK`.
    pub const DELLINK: u16 = 17;
    /// `RTM_GETLINK`.
    pub const GETLINK: u16 = 18;
    /// `RTM_NEWADDR`.
    pub const NEWADDR: u16 = 20;
    /// `RTM_DELADDR`.
    pub const DELADDR: u16 = 21;
    /// `RTM_GETADDR`.
    pub const GETADDR: u16 = 22;
}

/// `IFLA_*` link attributes.
pub mod ifla {
    /// `IFLA_IFNAME`.
    pub const IFNAME: u16 = 3;
    /// `IFLA_MTU`.
    pub const MTU: u16 = 4;
    /// `IFLA_LINK`.
    pub const LINK: u16 = 5;
    /// `IFLA_LINKINFO`.
    pub const LINKINFO: u16 = 18;
    /// `IFLA_INFO_KIND` (inside `IFLA_LINKINFO`).
    pub const INFO_KIND: u16 = 1;
    /// `IFLA_INFO_DATA` (inside `IFLA_LINKINFO`).
    pub const INFO_DATA: u16 = 2;
}

/// `IFLA_IPTUN_*` attributes of `ipip`, `sit` and `ip6tnl`.
pub mod iptun {
    /// `IFLA_IPTUN_LINK` (u32).
    pub const LINK: u16 = 1;
    /// `IFLA_IPTUN_LOCAL` (address).
    pub const LOCAL: u16 = 2;
    /// `IFLA_IPTUN_REMOTE` (address).
    pub const REMOTE: u16 = 3;
    /// `IFLA_IPTUN_TTL` (u8).
    pub const TTL: u16 = 4;
    /// `IFLA_IPTUN_TOS` (u8).
    pub const TOS: u16 = 5;
    /// `IFLA_IPTUN_ENCAP_LIMIT` (u8).
    pub const ENCAP_LIMIT: u16 = 6;
    /// `IFLA_IPTUN_FLOWINFO` (be32).
    pub const FLOWINFO: u16 = 7;
    /// `IFLA_IPTUN_FLAGS` (u32 for ip6tnl, u16 for sit).
    pub const FLAGS: u16 = 8;
    /// `IFLA_IPTUN_PROTO` (u8).
    pub const PROTO: u16 = 9;
    /// `IFLA_IPTUN_PMTUDISC` (u8).
    pub const PMTUDISC: u16 = 10;
    /// `IFLA_IPTUN_ENCAP_TYPE` (u16).
    pub const ENCAP_TYPE: u16 = 15;
    /// `IFLA_IPTUN_ENCAP_FLAGS` (u16).
    pub const ENCAP_FLAGS: u16 = 16;
    /// `IFLA_IPTUN_ENCAP_SPORT` (be16).
    pub const ENCAP_SPORT: u16 = 17;
    /// `IFLA_IPTUN_ENCAP_DPORT` (be16).
    pub const ENCAP_DPORT: u16 = 18;
}

/// `IFLA_GRE_*` attributes of `gre`, `gretap`, `ip6gre` and `ip6gretap`.
pub mod gre {
    /// `IFLA_GRE_LINK` (u32).
    pub const LINK: u16 = 1;
    /// `IFLA_GRE_IFLAGS` (be16).
    pub const IFLAGS: u16 = 2;
    /// `IFLA_GRE_OFLAGS` (be16).
    pub const OFLAGS: u16 = 3;
    /// `IFLA_GRE_IKEY` (be32).
    pub const IKEY: u16 = 4;
    /// `IFLA_GRE_OKEY` (be32).
    pub const OKEY: u16 = 5;
    /// `IFLA_GRE_LOCAL` (address).
    pub const LOCAL: u16 = 6;
    /// `IFLA_GRE_REMOTE` (address).
    pub const REMOTE: u16 = 7;
    /// `IFLA_GRE_TTL` (u8).
    pub const TTL: u16 = 8;
    /// `IFLA_GRE_TOS` (u8).
    pub const TOS: u16 = 9;
    /// `IFLA_GRE_PMTUDISC` (u8).
    pub const PMTUDISC: u16 = 10;
    /// `IFLA_GRE_ENCAP_LIMIT` (u8).
    pub const ENCAP_LIMIT: u16 = 11;
    /// `IFLA_GRE_FLOWINFO` (be32).
    pub const FLOWINFO: u16 = 12;
    /// `IFLA_GRE_FLAGS` (u32).
    pub const FLAGS: u16 = 13;
    /// `IFLA_GRE_ENCAP_TYPE` (u16).
    pub const ENCAP_TYPE: u16 = 14;
    /// `IFLA_GRE_ENCAP_FLAGS` (u16).
    pub const ENCAP_FLAGS: u16 = 15;
    /// `IFLA_GRE_ENCAP_SPORT` (be16).
    pub const ENCAP_SPORT: u16 = 16;
    /// `IFLA_GRE_ENCAP_DPORT` (be16).
    pub const ENCAP_DPORT: u16 = 17;
    /// `GRE_CSUM` bit of the GRE flags.
    pub const GRE_CSUM: u16 = 0x8000;
    /// `GRE_KEY` bit of the GRE flags.
    pub const GRE_KEY: u16 = 0x2000;
    /// `GRE_SEQ` bit of the GRE flags.
    pub const GRE_SEQ: u16 = 0x1000;
    /// The GRE flags the model decodes (into `TunnelConfig`'s keys,
    /// checksums and sequence numbers).
    pub const KNOWN: u16 = GRE_CSUM | GRE_KEY | GRE_SEQ;

    /// The GRE flags word of a key, checksum and sequence number setting.
    pub fn flags(key: bool, csum: bool, seq: bool) -> u16 {
        let bit = |on: bool, b: u16| if on { b } else { 0 };
        bit(key, GRE_KEY) | bit(csum, GRE_CSUM) | bit(seq, GRE_SEQ)
    }
}

/// `IFA_*` address attributes.
pub mod ifa {
    /// `IFA_ADDRESS`.
    pub const ADDRESS: u16 = 1;
    /// `IFA_LOCAL`.
    pub const LOCAL: u16 = 2;
    /// `IFA_LABEL`.
    pub const LABEL: u16 = 3;
    /// `IFA_FLAGS` (u32).
    pub const FLAGS: u16 = 8;
}

/// Size of `struct ifinfomsg`.
pub const IFINFOMSG_LEN: usize = 16;
/// Size of `struct ifaddrmsg`.
pub const IFADDRMSG_LEN: usize = 8;

/// Which attribute numbers a kind uses for the parameters both families share.
struct Ids {
    link: u16,
    local: u16,
    remote: u16,
    ttl: u16,
    tos: u16,
    pmtudisc: u16,
    encap_limit: u16,
    flowinfo: u16,
    flags: u16,
    encap_type: u16,
    encap_flags: u16,
    encap_sport: u16,
    encap_dport: u16,
}

fn ids(kind: TunnelKind) -> Ids {
    if kind.is_gre() {
        Ids {
            link: gre::LINK,
            local: gre::LOCAL,
            remote: gre::REMOTE,
            ttl: gre::TTL,
            tos: gre::TOS,
            pmtudisc: gre::PMTUDISC,
            encap_limit: gre::ENCAP_LIMIT,
            flowinfo: gre::FLOWINFO,
            flags: gre::FLAGS,
            encap_type: gre::ENCAP_TYPE,
            encap_flags: gre::ENCAP_FLAGS,
            encap_sport: gre::ENCAP_SPORT,
            encap_dport: gre::ENCAP_DPORT,
        }
    } else {
        Ids {
            link: iptun::LINK,
            local: iptun::LOCAL,
            remote: iptun::REMOTE,
            ttl: iptun::TTL,
            tos: iptun::TOS,
            pmtudisc: iptun::PMTUDISC,
            encap_limit: iptun::ENCAP_LIMIT,
            flowinfo: iptun::FLOWINFO,
            flags: iptun::FLAGS,
            encap_type: iptun::ENCAP_TYPE,
            encap_flags: iptun::ENCAP_FLAGS,
            encap_sport: iptun::ENCAP_SPORT,
            encap_dport: iptun::ENCAP_DPORT,
        }
    }
}

fn put_addr(buf: &mut Vec<u8>, ty: u16, a: IpAddr) {
    match a {
        IpAddr::V4(a) => nla::put(buf, ty, &a.octets()),
        IpAddr::V6(a) => nla::put(buf, ty, &a.octets()),
    }
}

fn put_be32(buf: &mut Vec<u8>, ty: u16, v: u32) {
    nla::put(buf, ty, &v.to_be_bytes());
}

/// Appends the `IFLA_INFO_DATA` attributes of a tunnel (not the nest itself).
///
/// Every parameter is written (except unset options) so that a change
/// request replaces the device's configuration as a whole; the encapsulation
/// type is always written so that `None` removes an encapsulation.
pub fn put_tunnel_data(buf: &mut Vec<u8>, t: &TunnelConfig) {
    let id = ids(t.kind);
    let v6 = t.kind.outer_is_v6();
    if t.link != 0 {
        nla::put_u32(buf, id.link, t.link);
    }
    if let Some(a) = t.local {
        put_addr(buf, id.local, a);
    }
    if let Some(a) = t.remote {
        put_addr(buf, id.remote, a);
    }
    nla::put_u8(buf, id.ttl, t.ttl);
    if v6 {
        if let Some(l) = t.encap_limit {
            nla::put_u8(buf, id.encap_limit, l);
        }
        put_be32(buf, id.flowinfo, t.flowinfo);
        nla::put_u32(buf, id.flags, t.ip6_flags);
    } else {
        nla::put_u8(buf, id.tos, t.tos);
        nla::put_u8(buf, id.pmtudisc, u8::from(t.pmtudisc));
    }
    if let Some(p) = t.proto {
        if !t.kind.is_gre() {
            nla::put_u8(buf, iptun::PROTO, p.number());
        }
    }
    if t.kind.is_gre() {
        let iflags = gre::flags(t.ikey.is_some(), t.icsum, t.iseq);
        let oflags = gre::flags(t.okey.is_some(), t.ocsum, t.oseq);
        if iflags != 0 {
            nla::put_be16(buf, gre::IFLAGS, iflags);
        }
        if oflags != 0 {
            nla::put_be16(buf, gre::OFLAGS, oflags);
        }
        if let Some(k) = t.ikey {
            put_be32(buf, gre::IKEY, k);
        }
        if let Some(k) = t.okey {
            put_be32(buf, gre::OKEY, k);
        }
    }
    match t.encap {
        Some(e) => {
            nla::put_u16(buf, id.encap_type, e.kind.number());
            nla::put_u16(buf, id.encap_flags, e.flags.bits());
            nla::put_be16(buf, id.encap_sport, e.sport.unwrap_or(0));
            nla::put_be16(buf, id.encap_dport, e.dport);
        }
        None => nla::put_u16(buf, id.encap_type, 0),
    }
}

fn get_addr(what: &str, p: &[u8]) -> Result<IpAddr> {
    match p.len() {
        4 => Ok(IpAddr::V4(Ipv4Addr::new(p[0], p[1], p[2], p[3]))),
        16 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(p);
            Ok(IpAddr::V6(Ipv6Addr::from(o)))
        }
        n => Err(Error::protocol(
            "decoding an address attribute",
            format!("{what}: {n} bytes is neither IPv4 nor IPv6"),
        )),
    }
}

fn get_be32(what: &str, p: &[u8]) -> Result<u32> {
    nla::get_u32(what, p).map(u32::from_be)
}

/// Decodes the `IFLA_INFO_DATA` payload of a tunnel of `kind`.
///
/// # Errors
/// [`Error::Protocol`] when the attributes are truncated. An attribute that
/// is unknown or malformed is skipped (see [`decode_tunnel_data_keeping`]).
pub fn decode_tunnel_data(kind: TunnelKind, data: &[u8]) -> Result<TunnelConfig> {
    decode_tunnel_data_keeping(kind, data).map(|(t, _)| t)
}

/// The raw parts of an encapsulation and of GRE keys, gathered while decoding.
#[derive(Default)]
struct Raw {
    etype: u16,
    eflags: u16,
    sport: u16,
    dport: u16,
    iflags: u16,
    oflags: u16,
    ikey: u32,
    okey: u32,
}

/// Attributes kept undecoded: `(type, payload)`.
pub type RawAttrs = Vec<(u16, Vec<u8>)>;

/// Decodes the `IFLA_INFO_DATA` payload of a tunnel of `kind`, and returns
/// the attributes it does not know, or could not parse, as `(type, payload)`.
///
/// # Errors
/// [`Error::Protocol`] when the attributes are truncated.
pub fn decode_tunnel_data_keeping(
    kind: TunnelKind,
    data: &[u8],
) -> Result<(TunnelConfig, RawAttrs)> {
    let id = ids(kind);
    let mut t = TunnelConfig::new(kind);
    let mut raw = Raw::default();
    let mut unknown = Vec::new();
    for a in Attrs::new(data) {
        let (ty, p) = a?;
        match tunnel_attr(kind, &id, &mut t, &mut raw, ty, p) {
            Ok(true) => {}
            Ok(false) | Err(_) => unknown.push((ty, p.to_vec())),
        }
    }
    if kind.is_gre() {
        t.ikey = (raw.iflags & gre::GRE_KEY != 0).then_some(raw.ikey);
        t.okey = (raw.oflags & gre::GRE_KEY != 0).then_some(raw.okey);
        (t.icsum, t.ocsum) = (
            raw.iflags & gre::GRE_CSUM != 0,
            raw.oflags & gre::GRE_CSUM != 0,
        );
        (t.iseq, t.oseq) = (
            raw.iflags & gre::GRE_SEQ != 0,
            raw.oflags & gre::GRE_SEQ != 0,
        );
        keep_other_gre_flags(&raw, &mut unknown);
    }
    t.encap = EncapType::from_number(raw.etype).map(|kind| Encap {
        kind,
        sport: (raw.sport != 0).then_some(raw.sport),
        dport: raw.dport,
        // unknown bits are kept, and refused on writing
        flags: TunnelEncapFlags::from_bits_retain(raw.eflags),
    });
    Ok((t, unknown))
}

/// Keeps a GRE flags attribute whole, as read, among the unknown attributes
/// when it holds bits other than the key's, the checksum's and the sequence
/// number's (which the model decodes): what it cannot say is kept, not dropped.
fn keep_other_gre_flags(raw: &Raw, unknown: &mut RawAttrs) {
    for (ty, flags) in [(gre::IFLAGS, raw.iflags), (gre::OFLAGS, raw.oflags)] {
        if flags & !gre::KNOWN != 0 {
            unknown.push((ty, flags.to_be_bytes().to_vec()));
        }
    }
}

/// Decodes one tunnel attribute into `t` or `raw`; `Ok(false)` when unknown.
fn tunnel_attr(
    kind: TunnelKind,
    id: &Ids,
    t: &mut TunnelConfig,
    raw: &mut Raw,
    ty: u16,
    p: &[u8],
) -> Result<bool> {
    let v6 = kind.outer_is_v6();
    if ty == id.link {
        t.link = nla::get_u32("link", p)?;
    } else if ty == id.local {
        let a = get_addr("local", p)?;
        t.local = (!a.is_unspecified()).then_some(a);
    } else if ty == id.remote {
        let a = get_addr("remote", p)?;
        t.remote = (!a.is_unspecified()).then_some(a);
    } else if ty == id.ttl {
        t.ttl = nla::get_u8("ttl", p)?;
    } else if ty == id.tos && !v6 {
        t.tos = nla::get_u8("tos", p)?;
    } else if ty == id.pmtudisc && !v6 {
        t.pmtudisc = nla::get_u8("pmtudisc", p)? != 0;
    } else if ty == id.encap_limit && v6 {
        t.encap_limit = Some(nla::get_u8("encap limit", p)?);
    } else if ty == id.flowinfo && v6 {
        t.flowinfo = get_be32("flowinfo", p)?;
    } else if ty == id.flags && v6 {
        t.ip6_flags = nla::get_u32("flags", p)?;
    } else if ty == iptun::PROTO && !kind.is_gre() {
        t.proto = Some(InnerProto::from_number(nla::get_u8("proto", p)?));
    } else if ty == id.encap_type {
        raw.etype = nla::get_u16("encap type", p)?;
    } else if ty == id.encap_flags {
        raw.eflags = nla::get_u16("encap flags", p)?;
    } else if ty == id.encap_sport {
        raw.sport = nla::get_be16("encap sport", p)?;
    } else if ty == id.encap_dport {
        raw.dport = nla::get_be16("encap dport", p)?;
    } else if kind.is_gre() {
        match ty {
            gre::IFLAGS => raw.iflags = nla::get_be16("iflags", p)?,
            gre::OFLAGS => raw.oflags = nla::get_be16("oflags", p)?,
            gre::IKEY => raw.ikey = get_be32("ikey", p)?,
            gre::OKEY => raw.okey = get_be32("okey", p)?,
            _ => return Ok(false),
        }
    } else {
        return Ok(false);
    }
    Ok(true)
}

/// The bytes of a string attribute up to its first NUL, exactly.
fn raw_str(p: &[u8]) -> &[u8] {
    let end = p.iter().position(|&b| b == 0).unwrap_or(p.len());
    &p[..end]
}

/// A string attribute for display: exact when UTF-8, lossy otherwise.
fn lossy_str(p: &[u8]) -> String {
    String::from_utf8_lossy(raw_str(p)).into_owned()
}

fn put_ifinfomsg(buf: &mut Vec<u8>, index: u32, flags: u32, change: u32) {
    buf.push(0); // AF_UNSPEC
    buf.push(0);
    buf.extend_from_slice(&0u16.to_ne_bytes()); // ifi_type
    buf.extend_from_slice(&index.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&change.to_ne_bytes());
}

/// `RTM_NEWLINK` creating `l` (`NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK`).
///
/// # Errors
/// [`Error::InvalidInput`] when `l` is invalid or too large.
pub fn new_link(buf: &mut Vec<u8>, seq: u32, l: &NewLink) -> Result<()> {
    l.validate()?;
    let flags = nla::NLM_F_REQUEST | nla::NLM_F_ACK | nla::NLM_F_CREATE | nla::NLM_F_EXCL;
    let start = nla::begin_msg(buf, rtm::NEWLINK, flags, seq);
    let up = if l.up { IFF_UP } else { 0 };
    put_ifinfomsg(buf, 0, up, up);
    nla::put_str(buf, ifla::IFNAME, &l.name);
    if let Some(m) = l.mtu {
        nla::put_u32(buf, ifla::MTU, m);
    }
    let info = nla::begin_nest(buf, ifla::LINKINFO);
    nla::put_str(buf, ifla::INFO_KIND, l.kind_str());
    if let NewLinkKind::Tunnel(t) = &l.kind {
        let data = nla::begin_nest(buf, ifla::INFO_DATA);
        put_tunnel_data(buf, t);
        nla::end_nest(buf, data)?;
    }
    nla::end_nest(buf, info)?;
    nla::end_msg(buf, start)
}

/// `RTM_NEWLINK` replacing the tunnel parameters of device `index`.
///
/// # Errors
/// [`Error::InvalidInput`] when `t` is invalid.
pub fn set_tunnel(buf: &mut Vec<u8>, seq: u32, index: u32, t: &TunnelConfig) -> Result<()> {
    t.validate()?;
    let start = nla::begin_msg(buf, rtm::NEWLINK, nla::NLM_F_REQUEST | nla::NLM_F_ACK, seq);
    put_ifinfomsg(buf, index, 0, 0);
    let info = nla::begin_nest(buf, ifla::LINKINFO);
    nla::put_str(buf, ifla::INFO_KIND, t.kind.as_str());
    let data = nla::begin_nest(buf, ifla::INFO_DATA);
    put_tunnel_data(buf, t);
    nla::end_nest(buf, data)?;
    nla::end_nest(buf, info)?;
    nla::end_msg(buf, start)
}

/// `RTM_NEWLINK` changing the up flag and/or MTU of device `index`.
///
/// # Errors
/// [`Error::InvalidInput`] when the message is too large (never in practice).
pub fn set_link(
    buf: &mut Vec<u8>,
    seq: u32,
    index: u32,
    up: Option<bool>,
    mtu: Option<u32>,
) -> Result<()> {
    let start = nla::begin_msg(buf, rtm::NEWLINK, nla::NLM_F_REQUEST | nla::NLM_F_ACK, seq);
    match up {
        Some(u) => put_ifinfomsg(buf, index, if u { IFF_UP } else { 0 }, IFF_UP),
        None => put_ifinfomsg(buf, index, 0, 0),
    }
    if let Some(m) = mtu {
        nla::put_u32(buf, ifla::MTU, m);
    }
    nla::end_msg(buf, start)
}

/// `RTM_DELLINK` of device `index`.
///
/// # Errors
/// As [`nla::end_msg`].
pub fn del_link(buf: &mut Vec<u8>, seq: u32, index: u32) -> Result<()> {
    let start = nla::begin_msg(buf, rtm::DELLINK, nla::NLM_F_REQUEST | nla::NLM_F_ACK, seq);
    put_ifinfomsg(buf, index, 0, 0);
    nla::end_msg(buf, start)
}

/// `RTM_GETLINK` of one device by name, or a dump of all when `name` is `None`.
///
/// # Errors
/// [`Error::InvalidInput`] for an invalid name.
pub fn get_link(buf: &mut Vec<u8>, seq: u32, name: Option<&str>) -> Result<()> {
    let flags = match name {
        Some(n) => {
            super::types::validate_ifname(n)?;
            nla::NLM_F_REQUEST | nla::NLM_F_ACK
        }
        None => nla::NLM_F_REQUEST | nla::NLM_F_DUMP,
    };
    let start = nla::begin_msg(buf, rtm::GETLINK, flags, seq);
    put_ifinfomsg(buf, 0, 0, 0);
    if let Some(n) = name {
        nla::put_str(buf, ifla::IFNAME, n);
    }
    nla::end_msg(buf, start)
}

/// `RTM_GETLINK` of one device by index.
///
/// # Errors
/// As [`nla::end_msg`].
pub fn get_link_by_index(buf: &mut Vec<u8>, seq: u32, index: u32) -> Result<()> {
    let start = nla::begin_msg(buf, rtm::GETLINK, nla::NLM_F_REQUEST | nla::NLM_F_ACK, seq);
    put_ifinfomsg(buf, index, 0, 0);
    nla::end_msg(buf, start)
}

/// Decodes the payload of an `RTM_NEWLINK` message (after the netlink header).
///
/// # Errors
/// [`Error::Protocol`] when it is truncated or an attribute is malformed.
pub fn decode_link(payload: &[u8]) -> Result<Link> {
    let hdr = payload.get(..IFINFOMSG_LEN).ok_or_else(|| {
        Error::protocol(
            "decoding a link",
            format!("{} bytes is shorter than struct ifinfomsg", payload.len()),
        )
    })?;
    let index = u32::from_ne_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
    let flags = u32::from_ne_bytes([hdr[8], hdr[9], hdr[10], hdr[11]]);
    let mut link = Link {
        index,
        name: String::new(),
        raw_name: Vec::new(),
        kind: None,
        kind_data: None,
        unknown_attrs: Vec::new(),
        mtu: 0,
        flags,
        link: None,
        tunnel: None,
    };
    let mut data: Option<&[u8]> = None;
    for a in Attrs::new(&payload[IFINFOMSG_LEN..]) {
        let (ty, p) = a?;
        match ty {
            ifla::IFNAME => {
                link.raw_name = raw_str(p).to_vec();
                link.name = lossy_str(p);
            }
            ifla::MTU => link.mtu = nla::get_u32("mtu", p)?,
            ifla::LINK => link.link = Some(nla::get_u32("link", p)?),
            ifla::LINKINFO => {
                for b in Attrs::new(p) {
                    let (ty, p) = b?;
                    match ty {
                        ifla::INFO_KIND => link.kind = Some(lossy_str(p)),
                        ifla::INFO_DATA => data = Some(p),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    match link.tunnel_kind() {
        Some(k) => {
            let (t, unknown) = decode_tunnel_data_keeping(k, data.unwrap_or(&[]))?;
            link.tunnel = Some(t);
            link.unknown_attrs = unknown;
        }
        None => link.kind_data = data.map(<[u8]>::to_vec),
    }
    Ok(link)
}

fn family_of(a: IpAddr) -> u8 {
    if a.is_ipv4() {
        libc::AF_INET as u8
    } else {
        libc::AF_INET6 as u8
    }
}

/// `RTM_NEWADDR` (`add`, with `NLM_F_CREATE | NLM_F_EXCL`) or `RTM_DELADDR`
/// of `net` on device `index`.
///
/// # Errors
/// As [`nla::end_msg`].
pub fn addr_msg(buf: &mut Vec<u8>, seq: u32, add: bool, index: u32, net: IpNetwork) -> Result<()> {
    let (ty, flags) = if add {
        (
            rtm::NEWADDR,
            nla::NLM_F_REQUEST | nla::NLM_F_ACK | nla::NLM_F_CREATE | nla::NLM_F_EXCL,
        )
    } else {
        (rtm::DELADDR, nla::NLM_F_REQUEST | nla::NLM_F_ACK)
    };
    let a = net.ip();
    let start = nla::begin_msg(buf, ty, flags, seq);
    // loopback-range IPv4 addresses get host scope, as `ip addr add` does
    let scope = match a {
        IpAddr::V4(v4) if v4.is_loopback() => 254,
        _ => 0,
    };
    buf.extend_from_slice(&[family_of(a), net.prefix(), 0, scope]);
    buf.extend_from_slice(&index.to_ne_bytes());
    put_addr(buf, ifa::LOCAL, a);
    put_addr(buf, ifa::ADDRESS, a);
    nla::end_msg(buf, start)
}

/// `RTM_GETADDR` dump of every address of `family` (`None`: both).
///
/// # Errors
/// As [`nla::end_msg`].
pub fn dump_addrs(buf: &mut Vec<u8>, seq: u32) -> Result<()> {
    let start = nla::begin_msg(buf, rtm::GETADDR, nla::NLM_F_REQUEST | nla::NLM_F_DUMP, seq);
    buf.extend_from_slice(&[0u8; IFADDRMSG_LEN]);
    nla::end_msg(buf, start)
}

/// Decodes the payload of an `RTM_NEWADDR` message.
///
/// # Errors
/// [`Error::Protocol`] when it is truncated or has no address.
pub fn decode_addr(payload: &[u8]) -> Result<Address> {
    let hdr = payload.get(..IFADDRMSG_LEN).ok_or_else(|| {
        Error::protocol(
            "decoding an address",
            format!("{} bytes is shorter than struct ifaddrmsg", payload.len()),
        )
    })?;
    let (prefix_len, hflags, scope) = (hdr[1], hdr[2], hdr[3]);
    let index = u32::from_ne_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
    let (mut local, mut address, mut label, mut flags) = (None, None, None, None);
    for a in Attrs::new(&payload[IFADDRMSG_LEN..]) {
        let (ty, p) = a?;
        match ty {
            ifa::LOCAL => local = Some(get_addr("local", p)?),
            ifa::ADDRESS => address = Some(get_addr("address", p)?),
            ifa::LABEL => label = Some(lossy_str(p)),
            ifa::FLAGS => flags = Some(nla::get_u32("flags", p)?),
            _ => {}
        }
    }
    let addr = local.or(address).ok_or_else(|| {
        Error::protocol("decoding an address", "neither IFA_LOCAL nor IFA_ADDRESS")
    })?;
    Ok(Address {
        index,
        addr,
        prefix_len,
        scope,
        flags: flags.unwrap_or(u32::from(hflags)),
        label,
    })
}

#[cfg(test)]
mod tests;
