//! Preparing a real server for LVS/TUN or LVS/DR, reversibly.
//!
//! [`prepare`] makes the changes a real server needs and returns a
//! [`Prepared`] record of exactly what it changed; [`teardown`] undoes those
//! changes and nothing else. What was already in place is left alone and not
//! recorded, so preparing twice is harmless (the second record is empty of
//! what the first did) and teardown restores the state from before the
//! `prepare` that produced the record.
//!
//! For LVS/TUN ([`RealServer::tun`]): the tunnel device (created if missing,
//! default the fallback `tunl0` for IPv4 VIPs and `ip6tnl0` for IPv6 VIPs)
//! is brought up, the VIPs are added to
//! it, reverse-path filtering is turned off for it (`conf/DEV/rp_filter=0`
//! and, when non-zero, `conf/all/rp_filter=0`, because the kernel uses the
//! larger of the two and the decapsulated packets arrive with the client's
//! source on the tunnel device; only with an IPv4 VIP), and optionally a FOU/GUE receive port is
//! added. For LVS/DR ([`RealServer::dr`]): the VIPs go on `lo` or a dummy
//! device (created if missing). Both set `arp_ignore=1` and `arp_announce=2`
//! on `conf/all` and on the VIP device when any VIP is IPv4, so the server
//! neither answers ARP for the VIP nor announces it as a source.
//!
//! Sysctls of another namespace are read and written by a helper thread that
//! entered it (see [`super::read_sysctl`]).

use std::net::IpAddr;

use ipnetwork::IpNetwork;

use super::sysctl::{self, Change};
use super::types::{InnerProto, NewLink, TunnelConfig, TunnelKind};
use super::{Fou, FouPort, Rtnl};
use crate::error::{Error, Result};
use crate::netns::Namespace;

/// Where the VIPs go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VipDevice {
    /// A tunnel device (LVS/TUN), created with `config` if it does not exist.
    Tunnel {
        /// Device name, e.g. `tunl0`.
        name: String,
        /// Parameters used only when the device has to be created.
        config: TunnelConfig,
    },
    /// The loopback device (LVS/DR).
    Loopback,
    /// A dummy device (LVS/DR), created if it does not exist.
    Dummy(String),
}

impl VipDevice {
    /// The device name.
    pub fn name(&self) -> &str {
        match self {
            VipDevice::Tunnel { name, .. } | VipDevice::Dummy(name) => name,
            VipDevice::Loopback => "lo",
        }
    }
}

/// What a real server needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealServer {
    /// The device that holds the VIPs.
    pub device: VipDevice,
    /// The virtual IPs, added as /32 or /128.
    pub vips: Vec<IpAddr>,
    /// A FOU/GUE receive port to add (LVS/TUN with `--tun-type gue`).
    pub fou: Option<FouPort>,
    /// Set `arp_ignore=1`, `arp_announce=2` (default true; only with an IPv4 VIP).
    pub arp: bool,
    /// Turn reverse-path filtering off for the device (default true for tunnels).
    pub rp_filter_off: bool,
}

impl RealServer {
    /// LVS/TUN on the kernel's fallback tunnel device for the VIPs' family:
    /// IPv4 VIPs go on `tunl0` (`ipip`, IPv4-in-IPv4, what IPVS sends for an
    /// IPv4 service), IPv6 VIPs on `ip6tnl0` (`ip6tnl` in mode `ip6ip6`,
    /// IPv6-in-IPv6, what IPVS sends for an IPv6 service). Both receive from
    /// any director.
    ///
    /// For an IPv6 VIP the director must not tunnel from the VIP itself: the
    /// real server's `ip6tnl` drops a packet whose outer source is one of its
    /// own addresses, and a /128 VIP wins the director's source selection
    /// unless it is deprecated there (`ip addr add VIP/128 dev DEV
    /// preferred_lft 0`) or the director has a route to the real servers with
    /// another `src`.
    ///
    /// One device carries one family here: IPv4 and IPv6 VIPs together are
    /// refused by [`RealServer::validate`] (prepare one real server for
    /// each family, or use [`RealServer::tun_device`] with a device that
    /// carries both).
    pub fn tun(vips: impl IntoIterator<Item = IpAddr>) -> Self {
        let vips: Vec<IpAddr> = vips.into_iter().collect();
        if !vips.is_empty() && vips.iter().all(IpAddr::is_ipv6) {
            let cfg = TunnelConfig::new(TunnelKind::Ip6tnl).with_proto(InnerProto::Ipv6);
            Self::tun_device("ip6tnl0", cfg, vips)
        } else {
            Self::tun_device("tunl0", TunnelConfig::new(TunnelKind::Ipip), vips)
        }
    }

    /// LVS/TUN on the tunnel device `name`, created with `config` if missing.
    pub fn tun_device(
        name: impl Into<String>,
        config: TunnelConfig,
        vips: impl IntoIterator<Item = IpAddr>,
    ) -> Self {
        RealServer {
            device: VipDevice::Tunnel {
                name: name.into(),
                config,
            },
            vips: vips.into_iter().collect(),
            fou: None,
            arp: true,
            rp_filter_off: true,
        }
    }

    /// LVS/DR with the VIPs on `lo`.
    pub fn dr(vips: impl IntoIterator<Item = IpAddr>) -> Self {
        RealServer {
            device: VipDevice::Loopback,
            vips: vips.into_iter().collect(),
            fou: None,
            arp: true,
            rp_filter_off: false,
        }
    }

    /// LVS/DR with the VIPs on the dummy device `name` (created if missing).
    pub fn dr_dummy(name: impl Into<String>, vips: impl IntoIterator<Item = IpAddr>) -> Self {
        RealServer {
            device: VipDevice::Dummy(name.into()),
            ..Self::dr(vips)
        }
    }

    /// Also adds the FOU/GUE receive port `p`.
    pub fn with_fou(mut self, p: FouPort) -> Self {
        self.fou = Some(p);
        self
    }

    /// Refuses what cannot work before changing anything.
    ///
    /// # Errors
    /// [`Error::InvalidInput`].
    pub fn validate(&self) -> Result<()> {
        let ctx = "preparing a real server";
        super::validate_ifname(self.device.name())?;
        if let VipDevice::Tunnel { config, .. } = &self.device {
            config.validate()?;
        }
        if self.vips.is_empty() {
            return Err(Error::invalid_input(ctx, "no VIP given"));
        }
        for v in &self.vips {
            if v.is_unspecified() || v.is_multicast() {
                return Err(Error::invalid_input(
                    ctx,
                    format!("VIP {v} is not a unicast address"),
                ));
            }
        }
        if let VipDevice::Tunnel { name, config } = &self.device {
            for v in &self.vips {
                check_carries(name, config, *v)?;
            }
        }
        if let Some(p) = &self.fou {
            p.validate()?;
        }
        Ok(())
    }

    fn host_nets(&self) -> Vec<IpNetwork> {
        self.vips
            .iter()
            .filter_map(|v| IpNetwork::new(*v, if v.is_ipv4() { 32 } else { 128 }).ok())
            .collect()
    }
}

/// Whether a tunnel device with `config` delivers decapsulated packets of
/// the VIP's family: an IPv6 VIP on an IPv4-only device (`ipip`, an
/// `ip6tnl` in mode `ipip6`) would be set up and never receive anything.
fn carries(config: &TunnelConfig, vip: IpAddr) -> bool {
    let p = config.proto;
    match config.kind {
        TunnelKind::Ipip => vip.is_ipv4() && !matches!(p, Some(InnerProto::Mpls)),
        // sit's default mode is ip6ip (IPv6 only)
        TunnelKind::Sit => match p {
            None | Some(InnerProto::Ipv6) => vip.is_ipv6(),
            Some(InnerProto::Ipv4) => vip.is_ipv4(),
            Some(InnerProto::Any) => true,
            Some(_) => false,
        },
        // the kernel's default mode of a created ip6tnl is any
        TunnelKind::Ip6tnl => match p {
            None | Some(InnerProto::Any) => true,
            Some(InnerProto::Ipv6) => vip.is_ipv6(),
            Some(InnerProto::Ipv4) => vip.is_ipv4(),
            Some(_) => false,
        },
        TunnelKind::Gre | TunnelKind::Gretap | TunnelKind::Ip6gre | TunnelKind::Ip6gretap => true,
    }
}

fn check_carries(dev: &str, config: &TunnelConfig, vip: IpAddr) -> Result<()> {
    if carries(config, vip) {
        return Ok(());
    }
    let (fam, hint) = if vip.is_ipv6() {
        (
            "IPv6",
            "an IPv6 VIP needs an ip6tnl device: RealServer::tun with only IPv6 VIPs uses ip6tnl0",
        )
    } else {
        (
            "IPv4",
            "an IPv4 VIP needs an ipip device: RealServer::tun with only IPv4 VIPs uses tunl0",
        )
    };
    let mode = config
        .proto
        .map_or_else(|| "default".to_owned(), |p| format!("{p:?}"));
    Err(Error::invalid_input(
        format!("preparing a real server on {dev}"),
        format!(
            "VIP {vip} is {fam}, but a {} device (inner protocol {mode}) does not deliver \
             {fam} packets, so the real server would receive nothing; {hint}",
            config.kind
        ),
    ))
}

/// One sysctl [`prepare`] changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SysctlChange {
    /// Path under `/proc/sys`, e.g. `net/ipv4/conf/all/arp_ignore`.
    pub path: String,
    /// The value before.
    pub before: String,
    /// The value written.
    pub after: String,
}

/// What [`prepare`] changed; hand it to [`teardown`] to undo exactly that.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    /// The namespace it was done in.
    pub namespace: Namespace,
    /// The VIP device's name.
    pub device: String,
    /// Whether the device was created (teardown deletes it).
    pub created_device: bool,
    /// Whether the device was brought up (teardown brings it down).
    pub brought_up: bool,
    /// Addresses added (teardown removes them).
    pub addresses: Vec<IpNetwork>,
    /// Sysctls changed, in order (teardown restores them, last first).
    pub sysctls: Vec<SysctlChange>,
    /// The FOU port added (teardown removes it).
    pub fou: Option<FouPort>,
}

impl Prepared {
    fn empty(ns: &Namespace, device: &str) -> Self {
        Prepared {
            namespace: ns.clone(),
            device: device.to_owned(),
            created_device: false,
            brought_up: false,
            addresses: Vec::new(),
            sysctls: Vec::new(),
            fou: None,
        }
    }

    /// Whether nothing was changed.
    pub fn is_empty(&self) -> bool {
        !self.created_device
            && !self.brought_up
            && self.addresses.is_empty()
            && self.sysctls.is_empty()
            && self.fou.is_none()
    }
}

/// The sysctls [`prepare`] wants for `rs`, in order (none when every VIP is IPv6).
pub fn wanted_sysctls(rs: &RealServer) -> Vec<(String, String)> {
    let dev = rs.device.name();
    let mut out = Vec::new();
    let has_v4 = rs.vips.iter().any(IpAddr::is_ipv4);
    // both only concern IPv4: IPv6 has neither ARP nor a reverse-path sysctl
    if rs.rp_filter_off && has_v4 {
        out.push((format!("net/ipv4/conf/{dev}/rp_filter"), "0".into()));
        out.push(("net/ipv4/conf/all/rp_filter".into(), "0".into()));
    }
    if rs.arp && has_v4 {
        for d in ["all", dev] {
            out.push((format!("net/ipv4/conf/{d}/arp_ignore"), "1".into()));
            out.push((format!("net/ipv4/conf/{d}/arp_announce"), "2".into()));
        }
    }
    out
}

/// Prepares a real server in `ns`; returns what was changed.
///
/// On failure, what was already changed is undone (best effort) before the
/// error is returned.
///
/// # Errors
/// [`Error::InvalidInput`] before any change (including when the device
/// exists but is of another kind); any error of the steps.
pub fn prepare(ns: &Namespace, rs: &RealServer) -> Result<Prepared> {
    rs.validate()?;
    let rtnl = Rtnl::open(ns.clone())?;
    let dev = rs.device.name().to_owned();
    // refuse a device of the wrong kind before changing anything
    let existing = rtnl.link(dev.as_str())?;
    if let Some(l) = &existing {
        let want = match &rs.device {
            VipDevice::Tunnel { config, .. } => Some(config.kind.as_str()),
            VipDevice::Dummy(_) => Some("dummy"),
            VipDevice::Loopback => None,
        };
        if let Some(t) = &l.tunnel {
            for v in &rs.vips {
                check_carries(&dev, t, *v)?;
            }
        }
        if want.is_some() && l.kind.as_deref() != want {
            return Err(Error::invalid_input(
                format!("preparing a real server on {dev}"),
                format!(
                    "device {dev} exists and is of kind {}, not {}",
                    l.kind.as_deref().unwrap_or("(none)"),
                    want.unwrap_or("")
                ),
            ));
        }
    }
    let mut done = Prepared::empty(ns, &dev);
    match prepare_steps(ns, rs, &rtnl, existing.is_some(), &mut done) {
        Ok(()) => Ok(done),
        Err(e) => {
            let _ = teardown(&done);
            Err(e)
        }
    }
}

fn prepare_steps(
    ns: &Namespace,
    rs: &RealServer,
    rtnl: &Rtnl,
    exists: bool,
    done: &mut Prepared,
) -> Result<()> {
    let dev = done.device.clone();
    if let Some(p) = &rs.fou {
        let fou = Fou::open(ns.clone())?;
        if !fou.list()?.contains(p) {
            fou.add(p)?;
            done.fou = Some(*p);
        }
    }
    if !exists {
        let new = match &rs.device {
            VipDevice::Tunnel { name, config } => Some(NewLink::tunnel(name, config.clone())),
            VipDevice::Dummy(name) => Some(NewLink::dummy(name)),
            VipDevice::Loopback => None,
        };
        if let Some(new) = new {
            match rtnl.add_link(&new) {
                Ok(_) => done.created_device = true,
                // loading the module may have created a fallback device of this name
                Err(Error::Exists { .. }) => {}
                Err(e) => return Err(e),
            }
        }
    }
    let link = rtnl.link(dev.as_str())?.ok_or_else(|| Error::NotFound {
        context: format!("preparing a real server on {dev}"),
        what: "no such network interface",
        errno: libc::ENODEV,
    })?;
    if !link.is_up() {
        rtnl.set_up(link.index, true)?;
        // a created device is deleted by teardown: that is enough to undo
        done.brought_up = !done.created_device;
    }
    let changes = sysctl::apply(ns, wanted_sysctls(rs))?;
    done.sysctls = changes
        .into_iter()
        .map(|(path, before, after)| SysctlChange {
            path,
            before,
            after,
        })
        .collect();
    let have: Vec<IpNetwork> = rtnl
        .addresses(Some(link.index.into()))?
        .iter()
        .filter_map(|a| a.network())
        .collect();
    for net in rs.host_nets() {
        if have.contains(&net) {
            continue;
        }
        rtnl.add_address(link.index, net)?;
        done.addresses.push(net);
    }
    Ok(())
}

/// Undoes what [`prepare`] recorded: removes the added addresses, restores
/// the sysctls, brings the device down if it was brought up, deletes it if
/// it was created, removes the FOU port if it was added. Things already gone
/// are skipped, so teardown can be repeated.
///
/// # Errors
/// The first error met; every step is attempted regardless.
pub fn teardown(p: &Prepared) -> Result<()> {
    let mut first: Option<Error> = None;
    let mut keep = |r: Result<()>| {
        if let Err(e) = r {
            if !matches!(e, Error::NotFound { .. }) && first.is_none() {
                first = Some(e);
            }
        }
    };
    let rtnl = Rtnl::open(p.namespace.clone())?;
    let dev = p.device.as_str();
    let present = rtnl.link(dev)?.is_some();
    if present {
        for net in p.addresses.iter().rev() {
            keep(rtnl.del_address(dev, *net));
        }
    }
    let changes: Vec<Change> = p
        .sysctls
        .iter()
        .map(|c| (c.path.clone(), c.before.clone(), c.after.clone()))
        .collect();
    keep(sysctl::restore(&p.namespace, &changes));
    if present && p.brought_up {
        keep(rtnl.set_up(dev, false));
    }
    if present && p.created_device {
        keep(rtnl.del_link(dev));
    }
    if let Some(port) = &p.fou {
        match Fou::open(p.namespace.clone()) {
            Ok(f) => keep(f.del(port)),
            Err(e) => keep(Err(e)),
        }
    }
    match first {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
