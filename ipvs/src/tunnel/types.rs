//! Typed network devices, tunnel parameters and addresses, validated before sending.

use std::fmt;
use std::net::IpAddr;

use crate::error::{Error, Result};

/// The longest interface name the kernel accepts (`IFNAMSIZ - 1`).
pub const IFNAME_MAX: usize = 15;

/// Checks an interface name the way the kernel's `dev_valid_name` does.
///
/// # Errors
/// [`Error::InvalidInput`] when it is empty, longer than 15 bytes, `.` or
/// `..`, or holds `/`, `:` or whitespace.
pub fn validate_ifname(name: &str) -> Result<()> {
    let ctx = || format!("interface name {name:?}");
    if name.is_empty() {
        return Err(Error::invalid_input(ctx(), "must not be empty"));
    }
    if name.len() > IFNAME_MAX {
        return Err(Error::invalid_input(
            ctx(),
            format!(
                "is {} bytes long; the kernel allows at most {IFNAME_MAX}",
                name.len()
            ),
        ));
    }
    if name == "." || name == ".." {
        return Err(Error::invalid_input(ctx(), "must not be . or .."));
    }
    if name
        .bytes()
        .any(|b| b == b'/' || b == b':' || b == 0 || b.is_ascii_whitespace())
    {
        return Err(Error::invalid_input(
            ctx(),
            "must not contain '/', ':', NUL or whitespace",
        ));
    }
    Ok(())
}

/// The tunnel device kinds the library creates and decodes (`IFLA_INFO_KIND`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TunnelKind {
    /// IPv4-in-IPv4 (`ipip`, module `ipip`; fallback device `tunl0`).
    Ipip,
    /// IPv6-in-IPv4 (`sit`, module `sit`; fallback device `sit0`).
    Sit,
    /// IPv4 or IPv6 in IPv6 (`ip6tnl`, module `ip6_tunnel`; fallback device `ip6tnl0`).
    Ip6tnl,
    /// GRE over IPv4 (`gre`, module `ip_gre`; fallback device `gre0`).
    Gre,
    /// Ethernet over GRE over IPv4 (`gretap`, module `ip_gre`).
    Gretap,
    /// GRE over IPv6 (`ip6gre`, module `ip6_gre`; fallback device `ip6gre0`).
    Ip6gre,
    /// Ethernet over GRE over IPv6 (`ip6gretap`, module `ip6_gre`).
    Ip6gretap,
}

impl TunnelKind {
    /// Every kind.
    pub const ALL: [TunnelKind; 7] = [
        TunnelKind::Ipip,
        TunnelKind::Sit,
        TunnelKind::Ip6tnl,
        TunnelKind::Gre,
        TunnelKind::Gretap,
        TunnelKind::Ip6gre,
        TunnelKind::Ip6gretap,
    ];

    /// The kernel's link kind string, as `ip link add ... type KIND` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            TunnelKind::Ipip => "ipip",
            TunnelKind::Sit => "sit",
            TunnelKind::Ip6tnl => "ip6tnl",
            TunnelKind::Gre => "gre",
            TunnelKind::Gretap => "gretap",
            TunnelKind::Ip6gre => "ip6gre",
            TunnelKind::Ip6gretap => "ip6gretap",
        }
    }

    /// Parses a link kind string.
    pub fn from_kind(s: &str) -> Option<Self> {
        TunnelKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The kernel module that provides the kind.
    pub fn module(self) -> &'static str {
        match self {
            TunnelKind::Ipip => "ipip",
            TunnelKind::Sit => "sit",
            TunnelKind::Ip6tnl => "ip6_tunnel",
            TunnelKind::Gre | TunnelKind::Gretap => "ip_gre",
            TunnelKind::Ip6gre | TunnelKind::Ip6gretap => "ip6_gre",
        }
    }

    /// Whether the outer (underlay) addresses are IPv6.
    pub fn outer_is_v6(self) -> bool {
        matches!(
            self,
            TunnelKind::Ip6tnl | TunnelKind::Ip6gre | TunnelKind::Ip6gretap
        )
    }

    /// Whether the kind uses the `IFLA_GRE_*` attributes.
    pub fn is_gre(self) -> bool {
        matches!(
            self,
            TunnelKind::Gre | TunnelKind::Gretap | TunnelKind::Ip6gre | TunnelKind::Ip6gretap
        )
    }

    /// The name of the device the kernel creates by itself in every namespace.
    pub fn fallback_device(self) -> Option<&'static str> {
        match self {
            TunnelKind::Ipip => Some("tunl0"),
            TunnelKind::Sit => Some("sit0"),
            TunnelKind::Ip6tnl => Some("ip6tnl0"),
            TunnelKind::Gre => Some("gre0"),
            TunnelKind::Gretap => Some("gretap0"),
            TunnelKind::Ip6gre => Some("ip6gre0"),
            TunnelKind::Ip6gretap => None,
        }
    }
}

impl fmt::Display for TunnelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The inner protocol a tunnel carries (`IFLA_IPTUN_PROTO`): for `ip6tnl`
/// this is the mode (`ipip6`, `ip6ip6` or `any`); for `ipip` and `sit` it
/// is their single or `any` mode. Not used by GRE kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InnerProto {
    /// Any supported inner protocol (0).
    Any,
    /// IPv4 inside (`IPPROTO_IPIP`, 4): `ipip` mode `ipip`, `ip6tnl` mode `ipip6`.
    Ipv4,
    /// IPv6 inside (`IPPROTO_IPV6`, 41): `sit` mode `ip6ip`, `ip6tnl` mode `ip6ip6`.
    Ipv6,
    /// MPLS inside (`IPPROTO_MPLS`, 137).
    Mpls,
    /// Any other protocol number, as the kernel reported it.
    Other(u8),
}

impl InnerProto {
    /// The protocol number.
    pub fn number(self) -> u8 {
        match self {
            InnerProto::Any => 0,
            InnerProto::Ipv4 => 4,
            InnerProto::Ipv6 => 41,
            InnerProto::Mpls => 137,
            InnerProto::Other(n) => n,
        }
    }

    /// From a protocol number.
    pub fn from_number(n: u8) -> Self {
        match n {
            0 => InnerProto::Any,
            4 => InnerProto::Ipv4,
            41 => InnerProto::Ipv6,
            137 => InnerProto::Mpls,
            n => InnerProto::Other(n),
        }
    }
}

/// The UDP encapsulation of a tunnel's transmitted packets (`encap fou|gue`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EncapType {
    /// Foo-over-UDP: the inner packet directly after the UDP header (1).
    Fou,
    /// Generic UDP Encapsulation (2); what IPVS's `--tun-type gue` sends.
    Gue,
    /// A `TUNNEL_ENCAP_*` type this library does not know (e.g. `mpls`, 3),
    /// as the kernel reported it. Read only: writing it is refused.
    Other(u16),
}

impl EncapType {
    /// `TUNNEL_ENCAP_*` value.
    pub fn number(self) -> u16 {
        match self {
            EncapType::Fou => 1,
            EncapType::Gue => 2,
            EncapType::Other(n) => n,
        }
    }

    /// From a `TUNNEL_ENCAP_*` value; `None` for 0 (no encapsulation).
    pub fn from_number(n: u16) -> Option<Self> {
        match n {
            0 => None,
            1 => Some(EncapType::Fou),
            2 => Some(EncapType::Gue),
            n => Some(EncapType::Other(n)),
        }
    }

    /// The bytes the encapsulation adds to every packet (UDP header, and the
    /// GUE header with its remote checksum option), as the kernel counts them.
    pub(crate) fn header_len(self, flags: TunnelEncapFlags) -> u32 {
        match self {
            EncapType::Fou => 8,
            EncapType::Gue if flags.contains(TunnelEncapFlags::REMCSUM) => 20,
            EncapType::Gue => 12,
            EncapType::Other(_) => 0,
        }
    }
}

bitflags::bitflags! {
    /// The kernel's `TUNNEL_ENCAP_FLAG_*` bits of a tunnel's UDP encapsulation
    /// (not the IPVS destination flags of [`crate::EncapFlags`]).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct TunnelEncapFlags: u16 {
        /// UDP checksum over IPv4 (`encap-csum`).
        const CSUM = 1 << 0;
        /// UDP checksum over IPv6 (`encap-udp6-csum`).
        const CSUM6 = 1 << 1;
        /// Remote checksum offload (`encap-remcsum`, GUE only).
        const REMCSUM = 1 << 2;
    }
}

/// FOU/GUE encapsulation of a tunnel device (`encap gue encap-sport S encap-dport D`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Encap {
    /// FOU or GUE.
    pub kind: EncapType,
    /// UDP source port; `None` lets the kernel pick one per flow (`encap-sport auto`).
    pub sport: Option<u16>,
    /// UDP destination port: the receiver's FOU/GUE port, never 0.
    pub dport: u16,
    /// Checksum options.
    pub flags: TunnelEncapFlags,
}

impl Encap {
    /// GUE to `dport` with an automatic source port and no checksum.
    pub fn gue(dport: u16) -> Self {
        Encap {
            kind: EncapType::Gue,
            sport: None,
            dport,
            flags: TunnelEncapFlags::empty(),
        }
    }

    /// FOU to `dport` with an automatic source port and no checksum.
    pub fn fou(dport: u16) -> Self {
        Encap {
            kind: EncapType::Fou,
            ..Encap::gue(dport)
        }
    }
}

/// The parameters of a tunnel device.
///
/// A value describes the device completely: [`super::Rtnl::set_tunnel`]
/// replaces every parameter (the kernel resets the ones left out), so change
/// a device by reading its [`TunnelConfig`] with [`super::Rtnl::link`],
/// editing it and setting it back. Zero values mean the kernel's "unset":
/// `ttl` 0 inherits, `link` 0 binds no device.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TunnelConfig {
    /// The device kind.
    pub kind: TunnelKind,
    /// Outer source address (`local`); `None` is `any`.
    pub local: Option<IpAddr>,
    /// Outer destination address (`remote`); `None` is `any` (receive from anyone).
    pub remote: Option<IpAddr>,
    /// TTL (IPv4 kinds) or hop limit (IPv6 kinds); 0 inherits the inner value.
    pub ttl: u8,
    /// TOS of IPv4 kinds (1 inherits); IPv6 kinds carry the traffic class in `flowinfo`.
    pub tos: u8,
    /// Path MTU discovery (sets DF) of IPv4 kinds; the kernel default is on.
    pub pmtudisc: bool,
    /// Index of the underlying device the tunnel is bound to (`dev`); 0 is none.
    pub link: u32,
    /// Inner protocol / mode of `ipip`, `sit` and `ip6tnl`; `None` lets the kernel choose.
    pub proto: Option<InnerProto>,
    /// Encapsulation limit of IPv6 kinds (`encaplimit`; [`TunnelConfig::new`]
    /// sets 4 as `ip` does); `None` sends none (the kernel then uses 0).
    pub encap_limit: Option<u8>,
    /// Flow label and traffic class of IPv6 kinds (`IFLA_*_FLOWINFO`, network order value).
    pub flowinfo: u32,
    /// `IP6_TNL_F_*` flags of IPv6 kinds.
    pub ip6_flags: u32,
    /// GRE input key (`ikey`).
    pub ikey: Option<u32>,
    /// GRE output key (`okey`).
    pub okey: Option<u32>,
    /// GRE: received packets must carry a checksum (`icsum`).
    pub icsum: bool,
    /// GRE: sent packets carry a checksum (`ocsum`; 4 more bytes each).
    pub ocsum: bool,
    /// GRE: received packets must carry sequence numbers, in order (`iseq`).
    pub iseq: bool,
    /// GRE: sent packets carry sequence numbers (`oseq`; 4 more bytes each).
    pub oseq: bool,
    /// FOU/GUE encapsulation of sent packets.
    pub encap: Option<Encap>,
}

impl TunnelConfig {
    /// A tunnel of `kind` with every parameter at the kernel's default.
    pub fn new(kind: TunnelKind) -> Self {
        TunnelConfig {
            kind,
            local: None,
            remote: None,
            ttl: 0,
            tos: 0,
            pmtudisc: true,
            link: 0,
            proto: None,
            // what `ip link add ... type ip6tnl|ip6gre` sets by default
            encap_limit: kind.outer_is_v6().then_some(4),
            flowinfo: 0,
            ip6_flags: 0,
            ikey: None,
            okey: None,
            icsum: false,
            ocsum: false,
            iseq: false,
            oseq: false,
            encap: None,
        }
    }

    /// Sets the outer local address.
    pub fn with_local(mut self, a: impl Into<IpAddr>) -> Self {
        self.local = Some(a.into());
        self
    }
    /// Sets the outer remote address.
    pub fn with_remote(mut self, a: impl Into<IpAddr>) -> Self {
        self.remote = Some(a.into());
        self
    }
    /// Sets the TTL / hop limit.
    pub fn with_ttl(mut self, ttl: u8) -> Self {
        self.ttl = ttl;
        self
    }
    /// Sets the TOS.
    pub fn with_tos(mut self, tos: u8) -> Self {
        self.tos = tos;
        self
    }
    /// Turns path MTU discovery on or off.
    pub fn with_pmtudisc(mut self, on: bool) -> Self {
        self.pmtudisc = on;
        self
    }
    /// Binds the tunnel to the underlying device of index `ifindex`.
    pub fn with_link(mut self, ifindex: u32) -> Self {
        self.link = ifindex;
        self
    }
    /// Sets the inner protocol / mode.
    pub fn with_proto(mut self, p: InnerProto) -> Self {
        self.proto = Some(p);
        self
    }
    /// Sets the FOU/GUE encapsulation.
    pub fn with_encap(mut self, e: Encap) -> Self {
        self.encap = Some(e);
        self
    }
    /// Sets GRE keys.
    pub fn with_keys(mut self, ikey: Option<u32>, okey: Option<u32>) -> Self {
        self.ikey = ikey;
        self.okey = okey;
        self
    }
    /// Sets GRE checksums on received (`icsum`) and sent (`ocsum`) packets.
    pub fn with_checksums(mut self, icsum: bool, ocsum: bool) -> Self {
        self.icsum = icsum;
        self.ocsum = ocsum;
        self
    }
    /// Sets GRE sequence numbers on received (`iseq`) and sent (`oseq`) packets.
    pub fn with_sequence_numbers(mut self, iseq: bool, oseq: bool) -> Self {
        self.iseq = iseq;
        self.oseq = oseq;
        self
    }

    /// Refuses combinations the kernel would refuse or misread.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the offending parameter.
    pub fn validate(&self) -> Result<()> {
        let k = self.kind;
        let ctx = || format!("{k} tunnel parameters");
        let v6 = k.outer_is_v6();
        for (what, a) in [("local", self.local), ("remote", self.remote)] {
            if let Some(a) = a {
                if a.is_ipv6() != v6 {
                    return Err(Error::invalid_input(
                        ctx(),
                        format!(
                            "{what} address {a} is {}, but a {k} tunnel's outer addresses are {}",
                            if a.is_ipv6() { "IPv6" } else { "IPv4" },
                            if v6 { "IPv6" } else { "IPv4" }
                        ),
                    ));
                }
                if a.is_multicast() && what == "local" {
                    return Err(Error::invalid_input(
                        ctx(),
                        format!("local address {a} is multicast"),
                    ));
                }
            }
        }
        if let Some(p) = self.proto {
            let ok = match k {
                TunnelKind::Ipip => {
                    matches!(p, InnerProto::Ipv4 | InnerProto::Mpls | InnerProto::Any)
                }
                TunnelKind::Sit => matches!(
                    p,
                    InnerProto::Ipv6 | InnerProto::Ipv4 | InnerProto::Mpls | InnerProto::Any
                ),
                TunnelKind::Ip6tnl => matches!(
                    p,
                    InnerProto::Ipv4 | InnerProto::Ipv6 | InnerProto::Mpls | InnerProto::Any
                ),
                _ => false,
            };
            if !ok {
                return Err(Error::invalid_input(
                    ctx(),
                    format!("inner protocol {p:?} is not supported by {k}"),
                ));
            }
        }
        if !k.is_gre() && (self.ikey.is_some() || self.okey.is_some()) {
            return Err(Error::invalid_input(
                ctx(),
                "keys apply to GRE tunnels only",
            ));
        }
        if !k.is_gre() && (self.icsum || self.ocsum || self.iseq || self.oseq) {
            return Err(Error::invalid_input(
                ctx(),
                "checksums and sequence numbers (icsum, ocsum, iseq, oseq) apply to GRE tunnels only",
            ));
        }
        if v6 && (self.tos != 0 || !self.pmtudisc) {
            return Err(Error::invalid_input(
                ctx(),
                "tos and pmtudisc apply to IPv4 tunnels; IPv6 tunnels use flowinfo",
            ));
        }
        if !v6 && (self.encap_limit.is_some() || self.flowinfo != 0 || self.ip6_flags != 0) {
            return Err(Error::invalid_input(
                ctx(),
                "encap_limit, flowinfo and ip6_flags apply to IPv6 tunnels only",
            ));
        }
        if let Some(e) = self.encap {
            if let EncapType::Other(n) = e.kind {
                return Err(Error::invalid_input(
                    ctx(),
                    format!("encapsulation type {n} is not one this library can write (fou, gue)"),
                ));
            }
            let unknown = e.flags.bits() & !TunnelEncapFlags::all().bits();
            if unknown != 0 {
                return Err(Error::invalid_input(
                    ctx(),
                    format!("unknown encapsulation flag bits {unknown:#x}"),
                ));
            }
            if e.dport == 0 {
                return Err(Error::invalid_input(
                    ctx(),
                    format!(
                        "{:?} encapsulation needs a destination port (the receiver's FOU/GUE port)",
                        e.kind
                    ),
                ));
            }
            if e.flags.contains(TunnelEncapFlags::REMCSUM) && e.kind != EncapType::Gue {
                return Err(Error::invalid_input(
                    ctx(),
                    "remote checksum offload needs GUE encapsulation",
                ));
            }
            if matches!(k, TunnelKind::Gretap | TunnelKind::Ip6gretap) {
                return Err(Error::invalid_input(
                    ctx(),
                    format!("{k} does not take FOU/GUE encapsulation"),
                ));
            }
        }
        Ok(())
    }
}

impl TunnelConfig {
    /// The MTUs a device with these parameters can carry, `(min, max)`, as
    /// the kernel computes them (measured on Linux 6.1 and 6.12).
    ///
    /// The kernel silently stores another value for an MTU outside them when
    /// a device is created: `ipip`, `gre` and `gretap` clamp it to the
    /// maximum (70000 on `ipip` becomes 65515), `ip6tnl`, `ip6gre` and
    /// `ip6gretap` ignore it and keep their default (1452, 1448, ...); `sit`
    /// refuses it. The maximum is 65535 (IPv4 payload limit) or 65575 (IPv6:
    /// 65535 payload plus the 40-byte header) less what every packet carries
    /// on top of the inner one: the outer IP header (20 or 40 bytes), the GRE
    /// header (4, plus 4 each with an output key, checksum or sequence number), an Ethernet header for the
    /// `*tap` kinds (14) and the UDP encapsulation (FOU 8, GUE 12, GUE with
    /// remote checksum offload 20). An `ip6tnl` in mode `ip6ip6` (or any
    /// mode, the kernel's default) carries IPv6 and needs at least 1280.
    pub fn mtu_range(&self) -> (u32, u32) {
        let encap = self.encap.map_or(0, |e| e.kind.header_len(e.flags));
        let gre = 4
            + 4 * u32::from(self.okey.is_some())
            + 4 * u32::from(self.ocsum)
            + 4 * u32::from(self.oseq);
        match self.kind {
            TunnelKind::Ipip => (68, 65535 - 20 - encap),
            TunnelKind::Gre => (68, 65535 - 20 - gre - encap),
            TunnelKind::Gretap => (68, 65535 - 20 - gre - 14 - encap),
            // sit refuses what it cannot carry (its own limits, checked before registering)
            TunnelKind::Sit => (1280, 65575 - 20),
            TunnelKind::Ip6tnl => match self.proto {
                Some(InnerProto::Ipv6) => (1280, 65575 - 40 - encap),
                None | Some(InnerProto::Any) => (68, 65575 - 40 - encap),
                Some(_) => (68, 65535 - 40 - encap),
            },
            TunnelKind::Ip6gre => (68, 65535 - gre - encap),
            TunnelKind::Ip6gretap => (68, 65535 - gre - 14 - encap),
        }
    }

    /// Refuses an MTU this tunnel cannot carry (see [`TunnelConfig::mtu_range`]).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the range.
    pub fn check_mtu(&self, mtu: u32, context: impl FnOnce() -> String) -> Result<()> {
        let (min, max) = self.mtu_range();
        if (min..=max).contains(&mtu) {
            return Ok(());
        }
        Err(Error::invalid_input(
            context(),
            format!(
                "MTU {mtu} is outside {min}..={max}, what this {} device can carry; the kernel \
                 would store another value",
                self.kind
            ),
        ))
    }
}

/// A network device as the kernel reports it.
///
/// Reading never fails on what the library does not know: a name that is not
/// UTF-8 is kept exactly in [`Link::raw_name`] (and shown lossily in
/// [`Link::name`]); a kind the library does not decode keeps its kind string
/// in [`Link::kind`] and its raw `IFLA_INFO_DATA` in [`Link::kind_data`];
/// tunnel attributes it does not know (or cannot parse) are kept, with
/// their raw bytes, in [`Link::unknown_attrs`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Interface index.
    pub index: u32,
    /// Name, for display: the exact name when it is UTF-8 (every name the
    /// library creates is), else a lossy rendering with U+FFFD for the bytes
    /// that are not. [`Link::raw_name`] is always exact; address such a
    /// device by index ([`super::Dev::Index`]).
    pub name: String,
    /// The name's exact bytes, as the kernel holds them (without the NUL).
    pub raw_name: Vec<u8>,
    /// Link kind (`IFLA_INFO_KIND`), as the kernel reports it, e.g. `ipip`,
    /// `dummy`, `veth`; `None` for `lo` and plain devices. Any kind is kept:
    /// [`Link::tunnel`] is decoded only for the kinds of [`TunnelKind`].
    pub kind: Option<String>,
    /// The raw `IFLA_INFO_DATA` of a kind the library does not decode (not a
    /// [`TunnelKind`]), e.g. a bridge's or a VXLAN device's parameters.
    pub kind_data: Option<Vec<u8>>,
    /// `IFLA_INFO_DATA` attributes of a tunnel the decoder does not know
    /// (e.g. ones newer kernels add) or could not parse: `(type, payload)`;
    /// also a GRE tunnel's `IFLA_GRE_IFLAGS`/`IFLA_GRE_OFLAGS` when they hold
    /// flags other than the key's (checksums, sequence numbers), whole.
    pub unknown_attrs: Vec<(u16, Vec<u8>)>,
    /// MTU.
    pub mtu: u32,
    /// `IFF_*` flags (`IFF_UP` is 1).
    pub flags: u32,
    /// Index of the underlying device (`IFLA_LINK`), when reported.
    pub link: Option<u32>,
    /// Tunnel parameters, for the tunnel kinds of [`TunnelKind`].
    pub tunnel: Option<TunnelConfig>,
}

impl Link {
    /// The kind as a [`TunnelKind`], when it is one the library decodes.
    pub fn tunnel_kind(&self) -> Option<TunnelKind> {
        self.kind.as_deref().and_then(TunnelKind::from_kind)
    }

    /// Whether the device is administratively up.
    pub fn is_up(&self) -> bool {
        self.flags & IFF_UP != 0
    }
}

/// `IFF_UP`.
pub const IFF_UP: u32 = 0x1;

/// A request to create a device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLink {
    /// Name of the new device.
    pub name: String,
    /// MTU; `None` lets the kernel choose.
    pub mtu: Option<u32>,
    /// Bring it up once created.
    pub up: bool,
    /// What to create.
    pub kind: NewLinkKind,
}

/// What kind of device [`NewLink`] creates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NewLinkKind {
    /// A tunnel.
    Tunnel(TunnelConfig),
    /// A dummy device (module `dummy`), e.g. to hold an LVS/DR VIP.
    Dummy,
}

impl NewLink {
    /// A tunnel device.
    pub fn tunnel(name: impl Into<String>, cfg: TunnelConfig) -> Self {
        NewLink {
            name: name.into(),
            mtu: None,
            up: false,
            kind: NewLinkKind::Tunnel(cfg),
        }
    }
    /// A dummy device.
    pub fn dummy(name: impl Into<String>) -> Self {
        NewLink {
            name: name.into(),
            mtu: None,
            up: false,
            kind: NewLinkKind::Dummy,
        }
    }
    /// Sets the MTU.
    pub fn with_mtu(mut self, mtu: u32) -> Self {
        self.mtu = Some(mtu);
        self
    }
    /// Brings the device up after creating it.
    pub fn with_up(mut self, up: bool) -> Self {
        self.up = up;
        self
    }
    /// The kind string.
    pub fn kind_str(&self) -> &'static str {
        match &self.kind {
            NewLinkKind::Tunnel(t) => t.kind.as_str(),
            NewLinkKind::Dummy => "dummy",
        }
    }
    /// Checks the name and the tunnel parameters.
    ///
    /// # Errors
    /// [`Error::InvalidInput`].
    pub fn validate(&self) -> Result<()> {
        validate_ifname(&self.name)?;
        if let Some(m) = self.mtu {
            if m < 68 {
                return Err(Error::invalid_input(
                    format!("creating {}", self.name),
                    format!("MTU {m} is below the minimum of 68"),
                ));
            }
        }
        if let NewLinkKind::Tunnel(t) = &self.kind {
            t.validate()?;
            if let Some(m) = self.mtu {
                t.check_mtu(m, || format!("creating {}", self.name))?;
            }
        }
        Ok(())
    }
}

/// An interface address as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Address {
    /// Index of the device holding it.
    pub index: u32,
    /// The address (`IFA_LOCAL` for IPv4, `IFA_ADDRESS` for IPv6).
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// Scope (`RT_SCOPE_*`: 0 global, 253 link, 254 host).
    pub scope: u8,
    /// `IFA_F_*` flags (`IFA_F_PERMANENT` is 0x80).
    pub flags: u32,
    /// IPv4 label, when reported (by default the device's name): lossy when
    /// it is not UTF-8, like [`Link::name`].
    pub label: Option<String>,
}

impl Address {
    /// The address with its prefix.
    pub fn network(&self) -> Option<ipnetwork::IpNetwork> {
        ipnetwork::IpNetwork::new(self.addr, self.prefix_len).ok()
    }
}
