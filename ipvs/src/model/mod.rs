//! The typed IPVS model: plain data, validated before anything is sent.
//!
//! Identity and configuration ([`Service`], [`Destination`]) are kept apart
//! from what the kernel reports about them ([`ServiceEntry`],
//! [`DestinationEntry`] with their [`Stats`]).

mod daemon;
mod destination;
pub(crate) mod kernel_text;
mod scheduler;
mod service;

pub use daemon::{SyncDaemon, SyncState};
pub use destination::{Destination, DestinationEntry, EncapFlags, Forward, Tunnel};
pub use scheduler::{Name, Scheduler};
pub use service::{
    Family, Netmask, Persistence, Protocol, Service, ServiceEntry, ServiceFlags, ServiceKey,
};

use crate::error::{Error, Result};
#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

/// Traffic counters and rates, as the kernel reports them (64-bit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Stats {
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
    /// Connections per second (rate estimator).
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

/// Connection timeouts, in seconds (`ipvsadm --set tcp tcpfin udp`).
///
/// When setting, `0` keeps the current value of that timeout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Timeouts {
    /// Established TCP connections.
    pub tcp: u32,
    /// TCP connections after a FIN.
    pub tcp_fin: u32,
    /// UDP "connections".
    pub udp: u32,
}

impl Timeouts {
    /// The longest timeout written, in seconds. The kernel refuses values
    /// above `INT_MAX / HZ` (2,147,483 s at HZ=1000, the largest HZ Linux
    /// offers), so this bound holds on every kernel.
    pub const MAX: u32 = i32::MAX as u32 / 1000;

    /// Checks what the kernel would refuse: any timeout above [`Timeouts::MAX`].
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the timeout.
    pub fn validate(&self) -> Result<()> {
        for (what, v) in [
            ("tcp", self.tcp),
            ("tcpfin", self.tcp_fin),
            ("udp", self.udp),
        ] {
            if v > Self::MAX {
                return Err(Error::invalid_input(
                    format!(
                        "setting timeouts tcp {} tcpfin {} udp {}",
                        self.tcp, self.tcp_fin, self.udp
                    ),
                    format!(
                        "{what} timeout {v} is too long: timeouts must be at most {} seconds",
                        Self::MAX
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Global IPVS information (`ipvsadm -L` first line).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Info {
    /// Version code, e.g. `0x010201` for 1.2.1.
    pub version: u32,
    /// Size of the connection hash table.
    pub conn_table_size: u32,
}

impl Info {
    /// The version as (major, minor, patch).
    pub fn version_triple(&self) -> (u8, u8, u8) {
        (
            ((self.version >> 16) & 0xff) as u8,
            ((self.version >> 8) & 0xff) as u8,
            (self.version & 0xff) as u8,
        )
    }
}

impl std::fmt::Display for Info {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (a, b, c) = self.version_triple();
        write!(
            f,
            "IP Virtual Server version {a}.{b}.{c} (size={})",
            self.conn_table_size
        )
    }
}
