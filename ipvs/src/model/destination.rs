use std::fmt;
use std::net::IpAddr;

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use super::{Family, Stats};
use crate::error::{Error, Result};

bitflags::bitflags! {
    /// Checksum options of a GUE or GRE tunnel (`--tun-nocsum`, `--tun-csum`, `--tun-remcsum`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
    pub struct EncapFlags: u16 {
        /// Outer checksum (`--tun-csum`).
        const CSUM = 1 << 0;
        /// Remote checksum offload (`--tun-remcsum`, GUE only).
        const REMCSUM = 1 << 1;
    }
}

#[cfg(feature = "serde")]
impl Serialize for EncapFlags {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_u16(self.bits())
    }
}
#[cfg(feature = "serde")]
impl<'de> Deserialize<'de> for EncapFlags {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let bits = u16::deserialize(d)?;
        EncapFlags::from_bits(bits).ok_or_else(|| {
            serde::de::Error::custom(format!("unknown encapsulation flag bits {bits:#x}"))
        })
    }
}

/// The encapsulation of tunnel forwarding (`--tun-type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum Tunnel {
    /// IP-in-IP (`--tun-type ipip`, the default).
    #[default]
    Ipip,
    /// Generic UDP encapsulation (`--tun-type gue --tun-port P`).
    Gue {
        /// The real server's GUE receive port, non-zero.
        port: u16,
        /// Checksum options.
        flags: EncapFlags,
    },
    /// GRE (`--tun-type gre`).
    Gre {
        /// Checksum options (only [`EncapFlags::CSUM`] applies).
        flags: EncapFlags,
    },
    /// A tunnel type this library does not know, as a kernel listing
    /// returned it (`IPVS_DEST_ATTR_TUN_TYPE`). Listed, never written.
    Unknown(u16),
}

impl Tunnel {
    /// The kernel's tunnel type number (`IP_VS_CONN_F_TUNNEL_TYPE_*`).
    pub fn raw(&self) -> u16 {
        match self {
            Tunnel::Ipip => 0,
            Tunnel::Gue { .. } => 1,
            Tunnel::Gre { .. } => 2,
            Tunnel::Unknown(n) => *n,
        }
    }
}

/// How packets reach a real server (`-m`, `-i`, `-g`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum Forward {
    /// Masquerading, i.e. NAT (`-m`).
    Masq,
    /// The director itself serves (local node).
    Local,
    /// Tunnelling (`-i`).
    Tunnel(Tunnel),
    /// Direct routing (`-g`, ipvsadm's default).
    #[default]
    DirectRoute,
    /// Bypass.
    Bypass,
    /// A forwarding method this library does not know, as a kernel listing
    /// returned it (the raw `IPVS_DEST_ATTR_FWD_METHOD`). Listed, never written.
    Unknown(u32),
}

impl Forward {
    /// The kernel's forwarding method number (`IP_VS_CONN_F_*`).
    pub fn method(&self) -> u32 {
        match self {
            Forward::Masq => 0,
            Forward::Local => 1,
            Forward::Tunnel(_) => 2,
            Forward::DirectRoute => 3,
            Forward::Bypass => 4,
            Forward::Unknown(n) => *n,
        }
    }

    /// ipvsadm's name for it in listings.
    pub fn ipvsadm_name(&self) -> &'static str {
        match self {
            Forward::Masq => "Masq",
            Forward::Local => "Local",
            Forward::Tunnel(_) => "Tunnel",
            Forward::DirectRoute => "Route",
            Forward::Bypass => "Bypass",
            Forward::Unknown(_) => "Unknown",
        }
    }
}

/// A real server behind a virtual service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Destination {
    /// The real server's address (`-r`). Its family may differ from the
    /// service's only with tunnel forwarding.
    pub addr: IpAddr,
    /// The real server's port (`-r addr:port`); with DR and TUN it is the service's.
    pub port: u16,
    /// How packets reach it.
    #[cfg_attr(feature = "serde", serde(default))]
    pub forward: Forward,
    /// Relative weight (`-w`, default 1); 0 drains the server: no new connections.
    #[cfg_attr(feature = "serde", serde(default = "default_weight"))]
    pub weight: u32,
    /// Upper connection threshold (`-x`), 0 for none.
    #[cfg_attr(feature = "serde", serde(default))]
    pub upper_threshold: u32,
    /// Lower connection threshold (`-y`), 0 for none.
    #[cfg_attr(feature = "serde", serde(default))]
    pub lower_threshold: u32,
}

#[cfg(feature = "serde")]
fn default_weight() -> u32 {
    1
}

impl Destination {
    /// The largest weight the kernel accepts (it stores an `int` and refuses
    /// negative ones with `ERANGE`).
    pub const MAX_WEIGHT: u32 = i32::MAX as u32;
    /// The largest connection threshold written (`-x`, `-y`): ipvsadm's
    /// limit (`INT_MAX`), so that what is written reads back with `ipvsadm -R`.
    pub const MAX_THRESHOLD: u32 = i32::MAX as u32;

    /// A destination with weight 1, direct routing and no thresholds (ipvsadm's defaults).
    pub fn new(addr: impl Into<IpAddr>, port: u16) -> Self {
        Destination {
            addr: addr.into(),
            port,
            forward: Forward::DirectRoute,
            weight: 1,
            upper_threshold: 0,
            lower_threshold: 0,
        }
    }

    /// Sets the forwarding method.
    pub fn with_forward(mut self, forward: Forward) -> Self {
        self.forward = forward;
        self
    }

    /// Sets the weight.
    pub fn with_weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }

    /// Sets the upper and lower connection thresholds (`-x`, `-y`).
    pub fn with_thresholds(mut self, upper: u32, lower: u32) -> Self {
        self.upper_threshold = upper;
        self.lower_threshold = lower;
        self
    }

    /// The address family of the real server.
    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }

    /// Checks what the kernel would refuse or store as another value, for a
    /// service of `service_family`: the weight (0..=[`Destination::MAX_WEIGHT`]),
    /// the thresholds (0..=[`Destination::MAX_THRESHOLD`], lower at most upper),
    /// a unicast address, the family (another one needs tunnelling) and the
    /// forwarding method (no unknown method or tunnel type).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the destination and the problem.
    pub fn validate(&self, service_family: Family) -> Result<()> {
        let bad = |reason: String| Err(Error::invalid_input(format!("destination {self}"), reason));
        if self.weight > Self::MAX_WEIGHT {
            return bad(format!(
                "weight {} is above the maximum {} (the kernel keeps 0..={})",
                self.weight,
                Self::MAX_WEIGHT,
                Self::MAX_WEIGHT
            ));
        }
        for (what, v) in [
            ("upper", self.upper_threshold),
            ("lower", self.lower_threshold),
        ] {
            if v > Self::MAX_THRESHOLD {
                return bad(format!(
                    "{what} threshold {v} is above the maximum {} (0..={})",
                    Self::MAX_THRESHOLD,
                    Self::MAX_THRESHOLD
                ));
            }
        }
        if self.lower_threshold > self.upper_threshold {
            return bad(format!(
                "lower threshold {} is above upper threshold {}",
                self.lower_threshold, self.upper_threshold
            ));
        }
        let broadcast = matches!(self.addr, IpAddr::V4(a) if a.is_broadcast());
        if self.addr.is_unspecified() || self.addr.is_multicast() || broadcast {
            return bad("a real server needs a unicast address".into());
        }
        if self.family() != service_family && !matches!(self.forward, Forward::Tunnel(_)) {
            return bad(
                "a real server of another address family than its service needs tunnel forwarding (-i)"
                    .into(),
            );
        }
        self.forward
            .validate()
            .map_err(|reason| Error::invalid_input(format!("destination {self}"), reason))
    }
}

impl Forward {
    /// Checks what cannot be written: an unknown method or tunnel type (kept
    /// from a listing), GUE without a port, remote checksum offload on GRE.
    ///
    /// # Errors
    /// The reason, for the caller's error.
    fn validate(&self) -> std::result::Result<(), String> {
        match self {
            Forward::Unknown(n) => Err(format!(
                "forwarding method {n} is unknown: it can be listed but not written"
            )),
            Forward::Tunnel(Tunnel::Unknown(n)) => Err(format!(
                "tunnel type {n} is unknown: it can be listed but not written"
            )),
            Forward::Tunnel(Tunnel::Gue { port: 0, .. }) => {
                Err("GUE tunnelling needs a non-zero port (--tun-port)".into())
            }
            Forward::Tunnel(Tunnel::Gre { flags }) if flags.contains(EncapFlags::REMCSUM) => {
                Err("remote checksum offload applies to GUE only".into())
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.port),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
        }
    }
}

/// A destination as listed by the kernel: configuration, connection counts and counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct DestinationEntry {
    /// The configuration.
    pub destination: Destination,
    /// Active connections.
    pub active_conns: u32,
    /// Inactive connections.
    pub inactive_conns: u32,
    /// Persistent connection templates.
    pub persistent_conns: u32,
    /// Counters and rates.
    pub stats: Stats,
}

impl fmt::Display for DestinationEntry {
    /// Reads like a destination line of `ipvsadm -Ln`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.destination;
        write!(
            f,
            "  -> {:<28} {:<7} {:<6} {:<10} {}",
            d.to_string(),
            d.forward.ipvsadm_name(),
            d.weight,
            self.active_conns,
            self.inactive_conns
        )
    }
}
