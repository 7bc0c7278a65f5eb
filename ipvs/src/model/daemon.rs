use std::net::IpAddr;

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use super::kernel_text;
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
    /// A state this library does not know, as a kernel listing returned it
    /// (`IPVS_DAEMON_ATTR_STATE`). Listed, never written.
    Unknown(u32),
}

impl SyncState {
    /// The kernel's state number.
    pub fn raw(self) -> u32 {
        match self {
            SyncState::Master => 1,
            SyncState::Backup => 2,
            SyncState::Unknown(n) => n,
        }
    }

    /// The state for a kernel state number: [`SyncState::Unknown`] for one
    /// this library does not know.
    pub fn from_raw(n: u32) -> Self {
        match n {
            1 => SyncState::Master,
            2 => SyncState::Backup,
            n => SyncState::Unknown(n),
        }
    }

    /// Checks that the state can be written.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for [`SyncState::Unknown`].
    pub fn validate(self) -> Result<()> {
        match self {
            SyncState::Unknown(n) => Err(Error::invalid_input(
                "sync daemon",
                format!("state {n} is neither master nor backup: it can be listed but not written"),
            )),
            _ => Ok(()),
        }
    }
}

/// A connection synchronisation daemon (`ipvsadm --start-daemon`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct SyncDaemon {
    /// Master or backup.
    pub state: SyncState,
    /// The multicast interface (`--mcast-interface`), in the text form of
    /// kernel names: a byte of a name that is not UTF-8 is written `:xx`
    /// (`eth:ff`), which no interface name can contain, and is sent back as
    /// that byte.
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

    /// The largest sync id written: ipvsadm's limit, and the one-byte field
    /// of the kernel's sync messages (which would carry 256 as 0).
    pub const MAX_SYNC_ID: u32 = 255;
    /// The longest interface name (`IFNAMSIZ` less the NUL).
    pub const MAX_INTERFACE_LEN: usize = 15;

    /// Checks what the kernel would refuse or store as another value: the
    /// state ([`SyncState::validate`]), the interface name (1 to 15 bytes, no
    /// NUL, `:` only as a byte escape), the sync id (0..=[`SyncDaemon::MAX_SYNC_ID`]),
    /// a non-multicast group, a zero TTL or port, and a maximum message length
    /// the kernel would clamp ([`SyncDaemon::max_len_range`]).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the daemon and the problem.
    pub fn validate(&self) -> Result<()> {
        let ctx = || format!("sync daemon on {:?}", self.interface);
        let bad = |reason: String| Err(Error::invalid_input(ctx(), reason));
        if let Err(Error::InvalidInput { reason, .. }) = self.state.validate() {
            return bad(reason);
        }
        if let Err(reason) = kernel_text::check(&self.interface, Self::MAX_INTERFACE_LEN) {
            return bad(format!(
                "interface name must be 1 to 15 bytes without NUL: it {reason}"
            ));
        }
        if self.sync_id > Self::MAX_SYNC_ID {
            return bad(format!(
                "sync id {} is outside 0..={}",
                self.sync_id,
                Self::MAX_SYNC_ID
            ));
        }
        if let Some(n) = self.max_len {
            let range = self.max_len_range();
            if !range.contains(&n) {
                return bad(format!(
                    "maximum message length {n} is outside {}..={} for a {} daemon \
                     (the kernel would store another value; None derives it from the MTU)",
                    range.start(),
                    range.end(),
                    if self.state == SyncState::Backup {
                        "backup"
                    } else {
                        "master"
                    },
                ));
            }
        }
        match self.group {
            Some(g) if !g.is_multicast() => bad(format!("group {g} is not a multicast address")),
            _ if self.ttl == Some(0) => bad("TTL must be 1 to 255".into()),
            _ if self.port == Some(0) => bad("port must be non-zero".into()),
            _ => Ok(()),
        }
    }

    /// The maximum message lengths the kernel keeps as given: from 1 (1,024
    /// for a backup, which must take a whole message of a master with a
    /// standard MTU) to 65,535 less the IP and UDP headers of the group's
    /// family (65,507 for IPv4, 65,487 for IPv6). The kernel clamps any other
    /// value into this range, and takes 0 as "derive it from the MTU".
    pub fn max_len_range(&self) -> std::ops::RangeInclusive<u16> {
        let min = if self.state == SyncState::Backup {
            1024
        } else {
            1
        };
        let headers = match self.group {
            Some(IpAddr::V6(_)) => 40 + 8,
            _ => 20 + 8,
        };
        min..=u16::MAX - headers
    }

    /// The text form of an interface name given as the kernel's bytes
    /// (see [`SyncDaemon::interface`]).
    pub fn interface_from_bytes(bytes: &[u8]) -> String {
        kernel_text::decode(bytes)
    }

    /// The interface name's bytes as the kernel keeps them (escapes undone).
    pub fn interface_bytes(&self) -> Vec<u8> {
        kernel_text::encode(&self.interface).unwrap_or_else(|_| self.interface.as_bytes().to_vec())
    }
}
