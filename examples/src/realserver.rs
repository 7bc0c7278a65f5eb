//! Real-server set-up for the demos, done by the library itself
//! (`lvskit::tunnel::realserver`): the VIP as a local address that never
//! answers ARP, the tunnel device up for LVS/TUN, reverse-path filtering off
//! where decapsulated packets arrive.
//!
//! The records `prepare` returns are not kept: the demos' namespaces are
//! deleted at the end, which undoes everything with them.

use std::net::IpAddr;

use lvskit::tunnel::realserver::{self, RealServer};
use lvskit::Namespace;

use crate::lab::{Netns, Result};

fn prepare(ns: &Netns, rs: &RealServer) -> Result<()> {
    let here = Namespace::Named(ns.name().to_owned());
    realserver::prepare(&here, rs)
        .map(drop)
        .map_err(|e| format!("{}: preparing the real server: {e}", ns.name()).into())
}

/// Prepares an LVS/TUN real server: `vip` on the kernel's fallback tunnel
/// device (`tunl0` for IPv4, which decapsulates packets from any director),
/// the device up, reverse-path filtering off for it, ARP kept quiet.
pub fn tunnel_real_server(ns: &Netns, vip: IpAddr) -> Result<()> {
    prepare(ns, &RealServer::tun([vip]))
}

/// Prepares an LVS/DR real server: `vip` on `lo` (so it accepts frames the
/// director rewrote to its MAC) without ever answering ARP for it.
pub fn direct_route_real_server(ns: &Netns, vip: IpAddr) -> Result<()> {
    prepare(ns, &RealServer::dr([vip]))
}
