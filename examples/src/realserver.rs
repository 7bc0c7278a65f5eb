//! Real-server plumbing: what a real server behind an LVS/TUN or LVS/DR
//! director needs besides its service — the VIP as a local address that never
//! answers ARP, the IPIP tunnel device up, the right sysctls.
//!
//! This is done with `ip` and sysctl writes here, isolated in this one module,
//! until the library's own real-server helpers (`lvskit::tunnel`) can take over.

use crate::lab::{Netns, Result};

/// The ARP sysctls of a real server that holds the VIP: answer ARP only for
/// addresses of the receiving interface (`arp_ignore=1`), and never use the
/// VIP as the source of ARP requests (`arp_announce=2`).
fn quiet_arp(ns: &Netns, ifaces: &[&str]) -> Result<()> {
    for i in ["all"].iter().chain(ifaces) {
        ns.sysctl(&format!("net/ipv4/conf/{i}/arp_ignore"), "1")?;
        ns.sysctl(&format!("net/ipv4/conf/{i}/arp_announce"), "2")?;
    }
    Ok(())
}

/// Prepares an LVS/TUN real server: `vip`/32 on `tunl0` (the IPIP fallback
/// device, which decapsulates packets from any director), `tunl0` up,
/// reverse-path filtering off on it, and ARP kept quiet on `uplink`.
pub fn tunnel_real_server(ns: &Netns, uplink: &str, vip: &str) -> Result<()> {
    ns.ip_batch(&[
        "link set tunl0 up".into(),
        format!("addr add {vip}/32 dev tunl0"),
    ])?;
    ns.sysctl("net/ipv4/conf/tunl0/rp_filter", "0")?;
    ns.sysctl(&format!("net/ipv4/conf/{uplink}/rp_filter"), "0")?;
    quiet_arp(ns, &[uplink])
}

/// Prepares an LVS/DR real server: `vip`/32 on `lo` (so it accepts frames
/// the director rewrote to its MAC) without ever answering ARP for it on
/// `uplink`.
pub fn direct_route_real_server(ns: &Netns, uplink: &str, vip: &str) -> Result<()> {
    ns.ip_batch(&[format!("addr add {vip}/32 dev lo")])?;
    quiet_arp(ns, &[uplink])
}
