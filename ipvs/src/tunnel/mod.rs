//! Tunnel devices, addresses, FOU/GUE ports and real-server set-up over rtnetlink.
//!
//! LVS/TUN real servers decapsulate what the director sends them: they need a
//! tunnel device (`ipip`, `ip6tnl`, or GRE; for GUE a FOU receive port) that
//! holds the virtual IP, and sysctls that keep them from answering ARP for the
//! VIP or dropping the decapsulated packets. LVS/DR real servers need the VIP
//! on a device that does not answer ARP. This module gives:
//!
//! - [`Rtnl`]: a handle on one namespace's links and addresses: create, read,
//!   list, change and delete tunnel and dummy devices ([`TunnelConfig`],
//!   [`NewLink`]), bring them up or down, set their MTU, and add, remove and
//!   list addresses;
//! - [`Fou`]: the `fou` generic netlink family: add, remove and list FOU/GUE
//!   receive ports ([`FouPort`]);
//! - [`realserver`]: one call that prepares a real server for LVS/TUN or LVS/DR
//!   and returns what it changed, and one that undoes exactly that;
//! - [`codec`]: the pure byte encoding of all of the above.
//!
//! Everything is validated before sending ([`Error::InvalidInput`]); kernel
//! refusals map to the crate's typed [`Error`].
//!
//! The kernel's fallback devices (`tunl0`, `sit0`, `ip6tnl0`, `gre0`, ...)
//! exist in every namespace once their module is loaded: they are read,
//! listed, brought up, given an MTU and addresses like any device. They
//! receive for every tunnel of their kind that no other device matches, which
//! is what an LVS/TUN real server needs. The kernel refuses changes of their
//! tunnel parameters (Linux 6.1 answers `EINVAL`, mapped to
//! [`Error::Invalid`]) and their deletion; create a device of your own for
//! other parameters. (Linux applies the encapsulation part of such a refused
//! change to `tunl0` before refusing the rest: read the device back.)

pub mod codec;
pub mod fou;
pub mod realserver;
mod sysctl;
mod types;

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use ipnetwork::IpNetwork;

pub use fou::{Fou, FouEncap, FouPort};
pub use sysctl::{read_sysctl, write_sysctl};
pub use types::{
    validate_ifname, Address, Encap, EncapType, InnerProto, Link, NewLink, NewLinkKind,
    TunnelConfig, TunnelEncapFlags, TunnelKind, IFF_UP, IFNAME_MAX,
};

use crate::codec::nla::MsgHeader;
use crate::error::{Error, Result};
use crate::netns::Namespace;
use crate::transport::{Failure, Transport};

/// What an rtnetlink request did, for error mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RtOp {
    NewLink(Option<&'static str>),
    Link,
    Addr,
    DelAddr,
    Fou,
}

/// Maps a kernel errno to the crate's typed error for a link/address/FOU operation.
pub(crate) fn rt_error(op: RtOp, context: String, errno: i32) -> Error {
    match errno {
        libc::EEXIST => Error::Exists { context, errno },
        libc::EPERM | libc::EACCES => Error::PermissionDenied { context, errno },
        libc::ENODEV => Error::NotFound {
            context,
            what: "no such network interface",
            errno,
        },
        libc::EADDRNOTAVAIL if op == RtOp::DelAddr => Error::NotFound {
            context,
            what: "no such address on the interface",
            errno,
        },
        libc::ENOENT | libc::ESRCH if op == RtOp::Fou => Error::NotFound {
            context,
            what: "no such FOU port",
            errno,
        },
        libc::EOPNOTSUPP => match op {
            RtOp::NewLink(Some(module)) => Error::ModuleMissing {
                context,
                module: module.into(),
                errno,
            },
            _ => Error::Kernel { context, errno },
        },
        libc::EINVAL | libc::ERANGE | libc::EAFNOSUPPORT | libc::EADDRNOTAVAIL => Error::Invalid {
            context,
            errno,
            hint: match op {
                RtOp::NewLink(_) | RtOp::Link => Some(
                    "fallback devices (tunl0, ip6tnl0, ...) refuse parameter changes; a tunnel's \
                         remote must match its point-to-point state; MTUs must suit the device",
                ),
                RtOp::Fou => Some("FOU (not GUE) ports need an IP protocol; IPv6 ports need fou6"),
                _ => None,
            },
        },
        _ => Error::Kernel { context, errno },
    }
}

pub(crate) fn fail(op: RtOp, ctx: impl FnOnce() -> String) -> impl FnOnce(Failure) -> Error {
    move |f| f.into_error(ctx, |context, errno| rt_error(op, context, errno))
}

/// The module a new link's kind needs (named when the kernel lacks it).
pub(crate) fn link_module(l: &NewLink) -> &'static str {
    match &l.kind {
        NewLinkKind::Tunnel(t) => t.kind.module(),
        NewLinkKind::Dummy => "dummy",
    }
}

/// The answer to reading one device: `None` when the kernel has none
/// (`ENODEV`).
pub(crate) fn link_answer(
    res: std::result::Result<Option<Link>, Failure>,
    ctx: impl FnOnce() -> String,
) -> Result<Option<Link>> {
    match res {
        Ok(found) => Ok(found),
        Err(Failure::Kernel(libc::ENODEV)) => Ok(None),
        Err(f) => Err(fail(RtOp::Link, ctx)(f)),
    }
}

/// The error when a device named by the caller is not there.
pub(crate) fn no_such_device(name: &str) -> Error {
    Error::NotFound {
        context: format!("looking up device {name}"),
        what: "no such network interface",
        errno: libc::ENODEV,
    }
}

/// The error when a device the kernel acknowledged creating is not there.
pub(crate) fn created_not_there(ctx: String) -> Error {
    Error::protocol(
        ctx,
        "the kernel acknowledged it but the device is not there",
    )
}

/// Refuses an MTU below the minimum before anything is sent.
pub(crate) fn check_mtu(mtu: u32, ctx: impl FnOnce() -> String) -> Result<()> {
    if mtu < 68 {
        return Err(Error::invalid_input(ctx(), "the minimum MTU is 68"));
    }
    Ok(())
}

/// Names a device by name or index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dev<'a> {
    /// By name.
    Name(&'a str),
    /// By interface index.
    Index(u32),
}

impl<'a> From<&'a str> for Dev<'a> {
    fn from(s: &'a str) -> Self {
        Dev::Name(s)
    }
}
impl<'a> From<&'a String> for Dev<'a> {
    fn from(s: &'a String) -> Self {
        Dev::Name(s)
    }
}
impl From<u32> for Dev<'_> {
    fn from(i: u32) -> Self {
        Dev::Index(i)
    }
}

impl std::fmt::Display for Dev<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dev::Name(n) => write!(f, "device {n}"),
            Dev::Index(i) => write!(f, "device #{i}"),
        }
    }
}

/// A handle on the links and addresses of one network namespace (an
/// `NETLINK_ROUTE` socket).
///
/// `Send + Sync`; requests are serialised on an internal lock.
///
/// ```no_run
/// use lvskit::tunnel::{Rtnl, NewLink, TunnelConfig, TunnelKind, Encap};
/// # fn main() -> lvskit::Result<()> {
/// let rtnl = Rtnl::new()?;
/// let cfg = TunnelConfig::new(TunnelKind::Ipip)
///     .with_local([192, 0, 2, 1])
///     .with_encap(Encap::gue(6080));
/// let link = rtnl.add_link(&NewLink::tunnel("gue1", cfg).with_up(true))?;
/// rtnl.add_address(link.index, "198.51.100.10/32".parse().unwrap())?;
/// # Ok(()) }
/// ```
pub struct Rtnl {
    inner: Mutex<Inner>,
    namespace: Namespace,
}

struct Inner {
    transport: Transport,
    buf: Vec<u8>,
}

impl Rtnl {
    /// Opens a handle in the calling thread's network namespace.
    ///
    /// # Errors
    /// [`Error::Io`] when no netlink socket can be opened.
    pub fn new() -> Result<Self> {
        Self::open(Namespace::Current)
    }

    /// Opens a handle in `namespace` (no thread of the caller changes namespace).
    ///
    /// # Errors
    /// [`Error::Io`] when the namespace or the socket cannot be opened.
    pub fn open(namespace: Namespace) -> Result<Self> {
        let transport = Transport::open(&namespace, libc::NETLINK_ROUTE)?;
        Ok(Rtnl {
            inner: Mutex::new(Inner {
                transport,
                buf: Vec::with_capacity(512),
            }),
            namespace,
        })
    }

    /// The namespace this handle talks to.
    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// Bounds every wait for the kernel's reply (default 30 s).
    ///
    /// # Errors
    /// [`Error::Io`] if the socket option cannot be set.
    pub fn set_timeout(&self, timeout: Duration) -> Result<()> {
        self.lock().transport.set_timeout(timeout)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn run(
        &self,
        dump: bool,
        build: impl FnOnce(&mut Vec<u8>, u32) -> Result<()>,
        mut on_msg: impl FnMut(&MsgHeader, &[u8]) -> Result<()>,
    ) -> Result<(), Failure> {
        let mut g = self.lock();
        let inner = &mut *g;
        let seq = inner.transport.next_seq();
        inner.buf.clear();
        build(&mut inner.buf, seq)?;
        inner
            .transport
            .exchange(&inner.buf, seq, dump, |h, p| on_msg(h, p))
    }

    /// Creates a device; returns it as the kernel reports it.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] before sending, [`Error::Exists`] if the name
    /// is taken, [`Error::ModuleMissing`] if the kind's module is missing.
    pub fn add_link(&self, l: &NewLink) -> Result<Link> {
        let ctx = || format!("creating {} device {}", l.kind_str(), l.name);
        l.validate()?;
        self.run(false, |b, s| codec::new_link(b, s, l), |_, _| Ok(()))
            .map_err(fail(RtOp::NewLink(Some(link_module(l))), ctx))?;
        self.link(&l.name)?.ok_or_else(|| created_not_there(ctx()))
    }

    /// Reads one device; `Ok(None)` when there is none of that name or index.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an invalid name; I/O and protocol errors.
    pub fn link<'a>(&self, dev: impl Into<Dev<'a>>) -> Result<Option<Link>> {
        let dev = dev.into();
        let ctx = || format!("reading {dev}");
        if let Dev::Name(n) = dev {
            validate_ifname(n)?;
        }
        let mut found = None;
        let res = self.run(
            false,
            |b, s| match dev {
                Dev::Name(n) => codec::get_link(b, s, Some(n)),
                Dev::Index(i) => codec::get_link_by_index(b, s, i),
            },
            |h, p| {
                if h.ty == codec::rtm::NEWLINK {
                    found = Some(codec::decode_link(p)?);
                }
                Ok(())
            },
        );
        link_answer(res.map(|()| found), ctx)
    }

    fn index_of(&self, dev: &Dev<'_>) -> Result<u32> {
        match dev {
            Dev::Index(i) => Ok(*i),
            Dev::Name(n) => match self.link(*n)? {
                Some(l) => Ok(l.index),
                None => Err(no_such_device(n)),
            },
        }
    }

    /// Lists every device.
    ///
    /// # Errors
    /// I/O and protocol errors.
    pub fn links(&self) -> Result<Vec<Link>> {
        let mut out = Vec::new();
        self.run(
            true,
            |b, s| codec::get_link(b, s, None),
            |h, p| {
                if h.ty == codec::rtm::NEWLINK {
                    out.push(codec::decode_link(p)?);
                }
                Ok(())
            },
        )
        .map_err(fail(RtOp::Link, || "listing devices".into()))?;
        Ok(out)
    }

    /// Lists the tunnel devices (every kind of [`TunnelKind`]).
    ///
    /// # Errors
    /// As [`Rtnl::links`].
    pub fn tunnels(&self) -> Result<Vec<Link>> {
        Ok(self
            .links()?
            .into_iter()
            .filter(|l| l.tunnel.is_some())
            .collect())
    }

    /// Replaces every tunnel parameter of an existing tunnel device.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] before sending; [`Error::NotFound`] without the
    /// device; [`Error::Invalid`] when the kernel refuses (e.g. fallback
    /// devices such as `tunl0`); [`Error::Kernel`] (`EOPNOTSUPP`) when the
    /// device is of another kind.
    pub fn set_tunnel<'a>(&self, dev: impl Into<Dev<'a>>, cfg: &TunnelConfig) -> Result<()> {
        let dev = dev.into();
        let ctx = || format!("changing the {} parameters of {dev}", cfg.kind);
        cfg.validate()?;
        let index = self.index_of(&dev)?;
        self.run(
            false,
            |b, s| codec::set_tunnel(b, s, index, cfg),
            |_, _| Ok(()),
        )
        .map_err(fail(RtOp::Link, ctx))
    }

    /// Brings a device up or down.
    ///
    /// # Errors
    /// [`Error::NotFound`] without the device.
    pub fn set_up<'a>(&self, dev: impl Into<Dev<'a>>, up: bool) -> Result<()> {
        let dev = dev.into();
        let ctx = || format!("setting {dev} {}", if up { "up" } else { "down" });
        let index = self.index_of(&dev)?;
        self.run(
            false,
            |b, s| codec::set_link(b, s, index, Some(up), None),
            |_, _| Ok(()),
        )
        .map_err(fail(RtOp::Link, ctx))
    }

    /// Sets a device's MTU.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] below 68; [`Error::Invalid`] when the kernel
    /// refuses the value (above what a tunnel carries: see
    /// [`TunnelConfig::mtu_range`]); [`Error::NotFound`] without the device.
    pub fn set_mtu<'a>(&self, dev: impl Into<Dev<'a>>, mtu: u32) -> Result<()> {
        let dev = dev.into();
        let ctx = || format!("setting the MTU of {dev} to {mtu}");
        check_mtu(mtu, ctx)?;
        // unlike creation, where the kernel silently clamps or ignores an MTU
        // a tunnel cannot carry, a change beyond it is refused (EINVAL)
        let index = self.index_of(&dev)?;
        self.run(
            false,
            |b, s| codec::set_link(b, s, index, None, Some(mtu)),
            |_, _| Ok(()),
        )
        .map_err(fail(RtOp::Link, ctx))
    }

    /// Deletes a device.
    ///
    /// # Errors
    /// [`Error::NotFound`] without the device; [`Error::Kernel`] or
    /// [`Error::Invalid`] for devices that cannot be deleted (`lo`, fallback tunnels).
    pub fn del_link<'a>(&self, dev: impl Into<Dev<'a>>) -> Result<()> {
        let dev = dev.into();
        let ctx = || format!("deleting {dev}");
        let index = self.index_of(&dev)?;
        self.run(false, |b, s| codec::del_link(b, s, index), |_, _| Ok(()))
            .map_err(fail(RtOp::Link, ctx))
    }

    /// Adds an address (e.g. a VIP as `/32` or `/128`) to a device.
    ///
    /// # Errors
    /// [`Error::Exists`] if the device already has it; [`Error::NotFound`]
    /// without the device.
    pub fn add_address<'a>(&self, dev: impl Into<Dev<'a>>, net: IpNetwork) -> Result<()> {
        let dev = dev.into();
        let ctx = || format!("adding address {net} to {dev}");
        let index = self.index_of(&dev)?;
        self.run(
            false,
            |b, s| codec::addr_msg(b, s, true, index, net),
            |_, _| Ok(()),
        )
        .map_err(fail(RtOp::Addr, ctx))
    }

    /// Removes an address from a device.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the device or the address is not there.
    pub fn del_address<'a>(&self, dev: impl Into<Dev<'a>>, net: IpNetwork) -> Result<()> {
        let dev = dev.into();
        let ctx = || format!("removing address {net} from {dev}");
        let index = self.index_of(&dev)?;
        self.run(
            false,
            |b, s| codec::addr_msg(b, s, false, index, net),
            |_, _| Ok(()),
        )
        .map_err(fail(RtOp::DelAddr, ctx))
    }

    /// Lists addresses: of one device, or of all when `dev` is `None`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the named device does not exist.
    pub fn addresses<'a>(&self, dev: Option<Dev<'a>>) -> Result<Vec<Address>> {
        let index = match &dev {
            Some(d) => Some(self.index_of(d)?),
            None => None,
        };
        let mut out = Vec::new();
        self.run(true, codec::dump_addrs, |h, p| {
            if h.ty == codec::rtm::NEWADDR {
                let a = codec::decode_addr(p)?;
                if !matches!(index, Some(i) if i != a.index) {
                    out.push(a);
                }
            }
            Ok(())
        })
        .map_err(fail(RtOp::Addr, || "listing addresses".into()))?;
        Ok(out)
    }
}
