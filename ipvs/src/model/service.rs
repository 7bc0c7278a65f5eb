use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use super::{Name, Scheduler, Stats};
use crate::error::{Error, Result};

/// Transport protocol of a virtual service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum Protocol {
    /// TCP (`ipvsadm -t`).
    Tcp,
    /// UDP (`ipvsadm -u`).
    Udp,
    /// SCTP (`ipvsadm --sctp-service`).
    Sctp,
    /// A protocol this library does not know, as a kernel listing returned
    /// it (its IP protocol number). Listed, never written: every write of it
    /// is refused with [`Error::InvalidInput`].
    Unknown(u16),
}

impl Protocol {
    /// The IP protocol number.
    pub fn number(self) -> u16 {
        match self {
            Protocol::Tcp => libc::IPPROTO_TCP as u16,
            Protocol::Udp => libc::IPPROTO_UDP as u16,
            Protocol::Sctp => libc::IPPROTO_SCTP as u16,
            Protocol::Unknown(n) => n,
        }
    }

    /// The protocol for any IP protocol number: [`Protocol::Unknown`] for one
    /// this library does not know.
    pub fn from_raw(n: u16) -> Self {
        Protocol::from_number(n).unwrap_or(Protocol::Unknown(n))
    }

    /// The protocol for an IP protocol number this library knows.
    pub fn from_number(n: u16) -> Option<Self> {
        match i32::from(n) {
            libc::IPPROTO_TCP => Some(Protocol::Tcp),
            libc::IPPROTO_UDP => Some(Protocol::Udp),
            libc::IPPROTO_SCTP => Some(Protocol::Sctp),
            _ => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
            Protocol::Unknown(n) => return write!(f, "PROTO{n}"),
        })
    }
}

/// Address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum Family {
    /// IPv4 (`AF_INET`).
    Ipv4,
    /// IPv6 (`AF_INET6`).
    Ipv6,
}

impl Family {
    /// The `AF_*` number.
    pub fn af(self) -> u16 {
        match self {
            Family::Ipv4 => libc::AF_INET as u16,
            Family::Ipv6 => libc::AF_INET6 as u16,
        }
    }

    /// The family for an `AF_*` number.
    pub fn from_af(af: u16) -> Option<Self> {
        match i32::from(af) {
            libc::AF_INET => Some(Family::Ipv4),
            libc::AF_INET6 => Some(Family::Ipv6),
            _ => None,
        }
    }

    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }
}

/// What identifies a virtual service: either an address, port and protocol,
/// or a firewall mark. Never both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum ServiceKey {
    /// `-t|-u|--sctp-service address:port`.
    Inet {
        /// The transport protocol.
        protocol: Protocol,
        /// The virtual IP.
        addr: IpAddr,
        /// The port (0 with persistence means "all ports").
        port: u16,
    },
    /// `-f mark` (with `-6` for IPv6).
    Fwmark {
        /// The family of the packets carrying the mark.
        family: Family,
        /// The firewall mark, non-zero.
        mark: u32,
    },
}

impl ServiceKey {
    /// A TCP service key.
    pub fn tcp(addr: impl Into<IpAddr>, port: u16) -> Self {
        ServiceKey::Inet {
            protocol: Protocol::Tcp,
            addr: addr.into(),
            port,
        }
    }
    /// A UDP service key.
    pub fn udp(addr: impl Into<IpAddr>, port: u16) -> Self {
        ServiceKey::Inet {
            protocol: Protocol::Udp,
            addr: addr.into(),
            port,
        }
    }
    /// An SCTP service key.
    pub fn sctp(addr: impl Into<IpAddr>, port: u16) -> Self {
        ServiceKey::Inet {
            protocol: Protocol::Sctp,
            addr: addr.into(),
            port,
        }
    }
    /// A firewall-mark service key.
    pub fn fwmark(family: Family, mark: u32) -> Self {
        ServiceKey::Fwmark { family, mark }
    }

    /// The service's address family.
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Inet { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }

    /// Checks what the kernel would refuse or that cannot be written.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a zero fwmark, a multicast address or a
    /// [`Protocol::Unknown`] (kept from a listing, never written).
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| Err(Error::invalid_input(format!("service {self}"), reason));
        match self {
            ServiceKey::Fwmark { mark: 0, .. } => bad("firewall mark must be non-zero".into()),
            ServiceKey::Inet { addr, .. } if addr.is_multicast() => {
                bad("a virtual address cannot be multicast".into())
            }
            ServiceKey::Inet {
                protocol: Protocol::Unknown(n),
                ..
            } => bad(format!(
                "protocol {n} is not TCP, UDP or SCTP: it can be listed but not written"
            )),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Inet {
                protocol,
                addr: IpAddr::V4(a),
                port,
            } => write!(f, "{protocol} {a}:{port}"),
            ServiceKey::Inet {
                protocol,
                addr: IpAddr::V6(a),
                port,
            } => write!(f, "{protocol} [{a}]:{port}"),
            ServiceKey::Fwmark {
                family: Family::Ipv4,
                mark,
            } => write!(f, "FWM {mark}"),
            ServiceKey::Fwmark {
                family: Family::Ipv6,
                mark,
            } => write!(f, "FWM {mark} IPv6"),
        }
    }
}

bitflags::bitflags! {
    /// Service flags a user may set (`ipvsadm -o`, `-b`).
    ///
    /// Persistence is not a flag here: it is [`Service::persistence`].
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
    pub struct ServiceFlags: u32 {
        /// `-o`, `--ops`: one-packet scheduling (UDP).
        const ONE_PACKET = 0x0004;
        /// Scheduler flag 1 (`-b flag-1`).
        const SCHED_1 = 0x0008;
        /// Scheduler flag 2 (`-b flag-2`).
        const SCHED_2 = 0x0010;
        /// Scheduler flag 3 (`-b flag-3`).
        const SCHED_3 = 0x0020;
        /// `sh-fallback`: the sh scheduler skips unavailable servers.
        const SH_FALLBACK = Self::SCHED_1.bits();
        /// `sh-port`: the sh scheduler hashes the source port too.
        const SH_PORT = Self::SCHED_2.bits();
        /// `mh-fallback`: the mh scheduler skips unavailable servers.
        const MH_FALLBACK = Self::SCHED_1.bits();
        /// `mh-port`: the mh scheduler hashes the source port too.
        const MH_PORT = Self::SCHED_2.bits();
    }
}

#[cfg(feature = "serde")]
impl Serialize for ServiceFlags {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_u32(self.bits())
    }
}
#[cfg(feature = "serde")]
impl<'de> Deserialize<'de> for ServiceFlags {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let bits = u32::deserialize(d)?;
        ServiceFlags::from_bits(bits)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown service flag bits {bits:#x}")))
    }
}

/// The kernel's persistence flag bit (internal).
pub(crate) const SVC_F_PERSISTENT: u32 = 0x0001;

/// The persistence granularity: an IPv4 netmask or an IPv6 prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum Netmask {
    /// `-M 255.255.255.0` for an IPv4 service.
    V4(Ipv4Addr),
    /// `-M 64` for an IPv6 service: a prefix length 1..=128.
    V6(u8),
}

impl Netmask {
    /// The netmask that makes persistence per client address.
    pub fn full(family: Family) -> Self {
        match family {
            Family::Ipv4 => Netmask::V4(Ipv4Addr::BROADCAST),
            Family::Ipv6 => Netmask::V6(128),
        }
    }
}

impl fmt::Display for Netmask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Netmask::V4(a) => write!(f, "{a}"),
            Netmask::V6(p) => write!(f, "{p}"),
        }
    }
}

/// Client affinity (`ipvsadm -p timeout -M netmask`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Persistence {
    /// Seconds a client stays with its real server after its last connection (a bare `ipvsadm -p` gives 360).
    pub timeout: u32,
    /// Which clients share a real server.
    pub netmask: Netmask,
}

impl Persistence {
    /// The timeout ipvsadm 1.31 gives a bare `-p`, in seconds (checked against it: 360).
    pub const DEFAULT_TIMEOUT: u32 = 360;

    /// The longest persistence timeout written, in seconds: 31 days, ipvsadm's
    /// limit. The kernel keeps `timeout x HZ` in 32 bits without a check, so
    /// above `u32::MAX / HZ` (4,294,967 s at HZ=1000, 17,179,869 s at HZ=250)
    /// it silently stores another value (2^31 s becomes 0); 31 days is below
    /// that for every HZ Linux offers and is what `ipvsadm -R` reads back.
    pub const MAX_TIMEOUT: u32 = 31 * 86_400;

    /// Checks what the kernel would refuse or store as another value, for a
    /// service of `family`: a timeout outside 1..=[`Persistence::MAX_TIMEOUT`]
    /// (a listing may hold 0, written by another client: it is listed as it
    /// is but not written), a non-contiguous IPv4 netmask, an IPv6 prefix
    /// outside 1..=128, or a netmask of the other family.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the problem.
    pub fn validate(&self, family: Family) -> Result<()> {
        let bad = |reason: String| Err(Error::invalid_input("persistence", reason));
        if self.timeout == 0 {
            return bad("persistence timeout must be at least 1 second".into());
        }
        if self.timeout > Self::MAX_TIMEOUT {
            return bad(format!(
                "persistence timeout {} is above the maximum {} seconds (31 days; the kernel \
                 would store another value)",
                self.timeout,
                Self::MAX_TIMEOUT
            ));
        }
        match (family, self.netmask) {
            (Family::Ipv4, Netmask::V4(m)) => {
                let bits = u32::from(m);
                if bits.leading_ones() + bits.trailing_zeros() != 32 {
                    return bad(format!("netmask {m} is not contiguous"));
                }
                Ok(())
            }
            (Family::Ipv6, Netmask::V6(p)) if (1..=128).contains(&p) => Ok(()),
            (Family::Ipv6, Netmask::V6(p)) => {
                bad(format!("IPv6 prefix length {p} is outside 1..=128"))
            }
            (Family::Ipv4, Netmask::V6(_)) => bad("an IPv4 service needs an IPv4 netmask".into()),
            (Family::Ipv6, Netmask::V4(_)) => {
                bad("an IPv6 service needs a prefix length, not a netmask".into())
            }
        }
    }
}

/// A virtual service: its identity and configuration.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Service {
    /// What identifies the service.
    pub key: ServiceKey,
    /// The scheduler (`-s`, default `wlc`).
    #[cfg_attr(feature = "serde", serde(default))]
    pub scheduler: Scheduler,
    /// One-packet scheduling and scheduler flags (`-o`, `-b`).
    #[cfg_attr(feature = "serde", serde(default))]
    pub flags: ServiceFlags,
    /// Persistence (`-p`, `-M`), if any.
    #[cfg_attr(feature = "serde", serde(default))]
    pub persistence: Option<Persistence>,
    /// Persistence engine (`--pe sip`), if any.
    #[cfg_attr(feature = "serde", serde(default))]
    pub pe: Option<Name>,
}

impl Service {
    /// A service with the default scheduler (`wlc`), no flags, no persistence.
    pub fn new(key: ServiceKey) -> Self {
        Service {
            key,
            scheduler: Scheduler::default(),
            flags: ServiceFlags::empty(),
            persistence: None,
            pe: None,
        }
    }

    /// Sets the scheduler (`-s`).
    pub fn with_scheduler(mut self, scheduler: Scheduler) -> Self {
        self.scheduler = scheduler;
        self
    }

    /// Sets the flags (`-o`, `-b`).
    pub fn with_flags(mut self, flags: ServiceFlags) -> Self {
        self.flags = flags;
        self
    }

    /// Makes the service persistent for `timeout` seconds per client (`-p`).
    pub fn with_persistence(mut self, timeout: u32) -> Self {
        self.persistence = Some(Persistence {
            timeout,
            netmask: Netmask::full(self.key.family()),
        });
        self
    }

    /// Makes the service persistent with a netmask (`-p timeout -M netmask`).
    pub fn with_persistence_netmask(mut self, timeout: u32, netmask: Netmask) -> Self {
        self.persistence = Some(Persistence { timeout, netmask });
        self
    }

    /// Sets the persistence engine (`--pe`).
    pub fn with_pe(mut self, pe: Name) -> Self {
        self.pe = Some(pe);
        self
    }

    /// Checks everything the kernel would refuse or store as another value:
    /// the key ([`ServiceKey::validate`]), the scheduler and persistence-engine
    /// names, the persistence ([`Persistence::validate`]), a port 0 service
    /// without persistence (refused by ipvsadm as meaningless) and a
    /// persistence engine without persistence.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the service and the problem.
    pub fn validate(&self) -> Result<()> {
        self.key.validate()?;
        let ctx = || format!("service {}", self.key);
        let within = |e: Error| match e {
            Error::InvalidInput { context, reason } => {
                Error::invalid_input(ctx(), format!("{context} {reason}"))
            }
            other => other,
        };
        self.scheduler.validate().map_err(within)?;
        if let Some(pe) = &self.pe {
            pe.validate().map_err(within)?;
        }
        if let Some(p) = &self.persistence {
            p.validate(self.key.family()).map_err(|e| match e {
                Error::InvalidInput { reason, .. } => Error::invalid_input(ctx(), reason),
                other => other,
            })?;
        }
        if let ServiceKey::Inet { port: 0, .. } = self.key {
            if self.persistence.is_none() {
                return Err(Error::invalid_input(
                    ctx(),
                    "port 0 (all ports) needs persistence (-p), as ipvsadm requires",
                ));
            }
        }
        if self.pe.is_some() && self.persistence.is_none() {
            return Err(Error::invalid_input(
                ctx(),
                "a persistence engine needs persistence (-p)",
            ));
        }
        Ok(())
    }

    /// The flags as the kernel stores them (persistence included).
    pub(crate) fn kernel_flags(&self) -> u32 {
        let mut f = self.flags.bits();
        if self.persistence.is_some() {
            f |= SVC_F_PERSISTENT;
        }
        f
    }
}

/// A service as listed by the kernel: its configuration plus counters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct ServiceEntry {
    /// The configuration.
    pub service: Service,
    /// Counters and rates.
    pub stats: Stats,
}

impl fmt::Display for Service {
    /// Reads like a service line of `ipvsadm -Ln`: `TCP  10.0.0.1:80 rr persistent 300`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            ServiceKey::Inet {
                protocol,
                addr,
                port,
            } => {
                let a = match addr {
                    IpAddr::V4(a) => format!("{a}:{port}"),
                    IpAddr::V6(a) => format!("[{a}]:{port}"),
                };
                write!(f, "{:<4} {a} {}", protocol.to_string(), self.scheduler)?;
            }
            ServiceKey::Fwmark { family, mark } => {
                let fam = if *family == Family::Ipv6 { " IPv6" } else { "" };
                write!(f, "FWM  {mark}{fam} {}", self.scheduler)?;
            }
        }
        let sched_flags = self.flags & !ServiceFlags::ONE_PACKET;
        if !sched_flags.is_empty() {
            let mut names = Vec::new();
            let sched = self.scheduler.name();
            for (bit, sh, mh) in [
                (ServiceFlags::SCHED_1, "sh-fallback", "mh-fallback"),
                (ServiceFlags::SCHED_2, "sh-port", "mh-port"),
                (ServiceFlags::SCHED_3, "flag-3", "flag-3"),
            ] {
                if sched_flags.contains(bit) {
                    names.push(match sched {
                        "sh" => sh,
                        "mh" => mh,
                        _ if bit == ServiceFlags::SCHED_1 => "flag-1",
                        _ if bit == ServiceFlags::SCHED_2 => "flag-2",
                        _ => "flag-3",
                    });
                }
            }
            write!(f, " ({})", names.join(","))?;
        }
        if let Some(p) = &self.persistence {
            write!(f, " persistent {}", p.timeout)?;
            if p.netmask != Netmask::full(self.key.family()) {
                write!(f, " mask {}", p.netmask)?;
            }
        }
        if let Some(pe) = &self.pe {
            write!(f, " pe {pe}")?;
        }
        if self.flags.contains(ServiceFlags::ONE_PACKET) {
            write!(f, " ops")?;
        }
        Ok(())
    }
}
