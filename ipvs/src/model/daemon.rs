use std::net::IpAddr;

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Role of a connection synchronisation daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum SyncState {
    /// Sends the director's connections (`--start-daemon master`).
    Master,
    /// Receives them (`--start-daemon backup`).
    Backup,
}

impl SyncState {
    /// The kernel's state number.
    pub fn raw(self) -> u32 {
        match self {
            SyncState::Master => 1,
            SyncState::Backup => 2,
        }
    }
}

/// A connection synchronisation daemon (`ipvsadm --start-daemon`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct SyncDaemon {
    /// Master or backup.
    pub state: SyncState,
    /// The multicast interface (`--mcast-interface`).
    pub interface: String,
    /// The sync id (`--syncid`, 0..=255 in ipvsadm).
    pub sync_id: u32,
    /// Maximum sync message length (`--sync-maxlen`); `None` lets the kernel derive it from the MTU.
    pub max_len: Option<u16>,
    /// The multicast group (`--mcast-group`); `None` is 224.0.0.81.
    pub group: Option<IpAddr>,
    /// The UDP port (`--mcast-port`); `None` is 8848.
    pub port: Option<u16>,
    /// The multicast TTL (`--mcast-ttl`); `None` is 1.
    pub ttl: Option<u8>,
}

impl SyncDaemon {
    /// The kernel's default multicast group.
    pub const DEFAULT_GROUP: std::net::Ipv4Addr = std::net::Ipv4Addr::new(224, 0, 0, 81);
    /// The kernel's default port.
    pub const DEFAULT_PORT: u16 = 8848;

    /// A daemon with the kernel's defaults.
    pub fn new(state: SyncState, interface: impl Into<String>, sync_id: u32) -> Self {
        SyncDaemon {
            state,
            interface: interface.into(),
            sync_id,
            max_len: None,
            group: None,
            port: None,
            ttl: None,
        }
    }

    /// Checks what the kernel would refuse.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty or too long interface name, a
    /// non-multicast group or a zero TTL.
    pub fn validate(&self) -> Result<()> {
        let ctx = || format!("sync daemon on {:?}", self.interface);
        if self.interface.is_empty() || self.interface.len() > 15 {
            return Err(Error::invalid_input(
                ctx(),
                "interface name must be 1 to 15 bytes",
            ));
        }
        if self.interface.bytes().any(|b| b == 0) {
            return Err(Error::invalid_input(
                ctx(),
                "interface name contains a NUL byte",
            ));
        }
        if let Some(g) = self.group {
            if !g.is_multicast() {
                return Err(Error::invalid_input(
                    ctx(),
                    format!("group {g} is not a multicast address"),
                ));
            }
        }
        if self.ttl == Some(0) {
            return Err(Error::invalid_input(ctx(), "TTL must be 1 to 255"));
        }
        if self.port == Some(0) {
            return Err(Error::invalid_input(ctx(), "port must be non-zero"));
        }
        Ok(())
    }
}
