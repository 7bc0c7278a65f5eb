//! The async [`Rtnl`] handle: links, tunnels and addresses over one
//! non-blocking rtnetlink socket, on the same demultiplexer as the async
//! IPVS handle, with the blocking [`crate::tunnel::Rtnl`]'s codec,
//! validation and error mapping.

use std::sync::Arc;
use std::time::Duration;

use ipnetwork::IpNetwork;

use super::request::Started;
use super::session::{Session, Speaks};
use super::stream::{Decode, Dump, ErrorMap};
use crate::error::Result;
use crate::netns::Namespace;
use crate::transport::Failure;
use crate::tunnel::{
    check_mtu, codec, created_not_there, fail, link_answer, link_module, no_such_device,
    validate_ifname, Address, Dev, Link, NewLink, RtOp, TunnelConfig,
};

/// An async handle on the links and addresses of one network namespace (an
/// `NETLINK_ROUTE` socket), for tokio: the twin of [`crate::tunnel::Rtnl`].
///
/// Many requests may be in flight at once from any number of tasks; each
/// gets its own answer, matched by sequence number. Listings are [`Dump`]
/// streams (one at a time per socket, as the kernel allows). Every future is
/// cancellation safe, and waits are bounded by [`Rtnl::set_timeout`].
/// Cloning is cheap and shares the socket.
///
/// ```no_run
/// use lvskit::aio;
/// use lvskit::tunnel::{Encap, NewLink, TunnelConfig, TunnelKind};
/// # async fn f() -> lvskit::Result<()> {
/// let rtnl = aio::Rtnl::new().await?;
/// let cfg = TunnelConfig::new(TunnelKind::Ipip)
///     .with_local([192, 0, 2, 1])
///     .with_encap(Encap::gue(6080));
/// let link = rtnl.add_link(&NewLink::tunnel("gue1", cfg).with_up(true)).await?;
/// rtnl.add_address(link.index, "198.51.100.10/32".parse().unwrap()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Rtnl {
    inner: Arc<Session>,
}

impl std::fmt::Debug for Rtnl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.debug(f, "aio::Rtnl")
    }
}

impl Rtnl {
    /// Opens a handle in the calling thread's network namespace.
    ///
    /// # Errors
    /// [`crate::Error::Io`] when no netlink socket can be opened, or outside
    /// a tokio runtime (with I/O and time enabled).
    pub async fn new() -> Result<Self> {
        Self::open(Namespace::Current).await
    }

    /// Opens a handle in `namespace` (no thread of the caller changes namespace).
    ///
    /// # Errors
    /// As [`Rtnl::new`]; [`crate::Error::Io`] when the namespace cannot be opened.
    pub async fn open(namespace: Namespace) -> Result<Self> {
        let inner = Session::open(namespace, Speaks::Route)?;
        Ok(Rtnl { inner })
    }

    /// Opens a handle over a scripted kernel (host tests; see
    /// [`crate::testing`]): its rtnetlink requests go to the script.
    ///
    /// # Errors
    /// [`crate::Error::Io`] outside a tokio runtime (with I/O and time enabled).
    #[cfg(feature = "test-kernel")]
    pub async fn with_kernel(kernel: crate::testing::ScriptedKernel) -> Result<Self> {
        let inner = Session::scripted(kernel, Speaks::Route)?;
        Ok(Rtnl { inner })
    }

    /// The namespace this handle talks to.
    pub fn namespace(&self) -> &Namespace {
        self.inner.namespace()
    }

    /// Bounds every wait for the kernel's reply (default 30 s).
    pub fn set_timeout(&self, timeout: Duration) {
        self.inner.set_timeout(timeout);
    }

    /// One acknowledged request: the data messages answering it.
    async fn request(
        &self,
        build: impl FnOnce(&mut Vec<u8>, u32) -> Result<()>,
    ) -> Result<Vec<Vec<u8>>, Failure> {
        self.inner.shared().exchange(build, false).await
    }

    /// A started listing as a stream, its errors mapped as `op`'s.
    async fn dump<T>(
        &self,
        build: impl FnOnce(&mut Vec<u8>, u32) -> Result<()>,
        decode: Decode<T>,
        op: RtOp,
        ctx: String,
    ) -> Result<Dump<T>> {
        let started: Started = self
            .inner
            .shared()
            .start_dump(build)
            .await
            .map_err(fail(op, || ctx.clone()))?;
        let error: ErrorMap = Box::new(move |f| fail(op, || ctx.clone())(f));
        Ok(Dump::new(
            Arc::clone(&self.inner.conn),
            started,
            decode,
            error,
        ))
    }

    /// Creates a device; returns it as the kernel reports it (`ip link add`).
    ///
    /// # Errors
    /// As [`crate::tunnel::Rtnl::add_link`].
    pub async fn add_link(&self, l: &NewLink) -> Result<Link> {
        let ctx = || format!("creating {} device {}", l.kind_str(), l.name);
        l.validate()?;
        self.request(|b, s| codec::new_link(b, s, l))
            .await
            .map_err(fail(RtOp::NewLink(Some(link_module(l))), ctx))?;
        self.link(&l.name)
            .await?
            .ok_or_else(|| created_not_there(ctx()))
    }

    /// Reads one device; `Ok(None)` when there is none of that name or index.
    ///
    /// # Errors
    /// As [`crate::tunnel::Rtnl::link`].
    pub async fn link<'a>(&self, dev: impl Into<Dev<'a>>) -> Result<Option<Link>> {
        let dev = dev.into();
        if let Dev::Name(n) = dev {
            validate_ifname(n)?;
        }
        let res = self
            .request(|b, s| match dev {
                Dev::Name(n) => codec::get_link(b, s, Some(n)),
                Dev::Index(i) => codec::get_link_by_index(b, s, i),
            })
            .await;
        let found = match res {
            Ok(replies) => match replies.first() {
                Some(p) => Ok(Some(codec::decode_link(p)?)),
                None => Ok(None),
            },
            Err(f) => Err(f),
        };
        link_answer(found, || format!("reading {dev}"))
    }

    async fn index_of(&self, dev: &Dev<'_>) -> Result<u32> {
        match dev {
            Dev::Index(i) => Ok(*i),
            Dev::Name(n) => match self.link(*n).await? {
                Some(l) => Ok(l.index),
                None => Err(no_such_device(n)),
            },
        }
    }

    /// Lists every device, as a stream (`ip -d link show`).
    ///
    /// # Errors
    /// [`crate::Error::Timeout`] when the socket's one dump is not free in
    /// time; the stream's items carry the listing's errors.
    pub async fn link_stream(&self) -> Result<Dump<Link>> {
        let decode: Decode<Link> = Box::new(|p| codec::decode_link(p).map(Some));
        self.dump(
            |b, s| codec::get_link(b, s, None),
            decode,
            RtOp::Link,
            "listing devices".into(),
        )
        .await
    }

    /// Lists every device.
    ///
    /// # Errors
    /// As [`crate::tunnel::Rtnl::links`].
    pub async fn links(&self) -> Result<Vec<Link>> {
        self.link_stream().await?.collect_all().await
    }

    /// Lists the tunnel devices (every kind of [`crate::tunnel::TunnelKind`]).
    ///
    /// # Errors
    /// As [`Rtnl::links`].
    pub async fn tunnels(&self) -> Result<Vec<Link>> {
        let mut links = self.links().await?;
        links.retain(|l| l.tunnel.is_some());
        Ok(links)
    }

    /// Replaces every tunnel parameter of an existing tunnel device.
    ///
    /// # Errors
    /// As [`crate::tunnel::Rtnl::set_tunnel`].
    pub async fn set_tunnel<'a>(&self, dev: impl Into<Dev<'a>>, cfg: &TunnelConfig) -> Result<()> {
        let dev = dev.into();
        let ctx = || format!("changing the {} parameters of {dev}", cfg.kind);
        cfg.validate()?;
        let index = self.index_of(&dev).await?;
        self.request(|b, s| codec::set_tunnel(b, s, index, cfg))
            .await
            .map(drop)
            .map_err(fail(RtOp::Link, ctx))
    }

    /// Brings a device up or down (`ip link set DEV up|down`).
    ///
    /// # Errors
    /// As [`crate::tunnel::Rtnl::set_up`].
    pub async fn set_up<'a>(&self, dev: impl Into<Dev<'a>>, up: bool) -> Result<()> {
        let dev = dev.into();
        let ctx = || format!("setting {dev} {}", if up { "up" } else { "down" });
        let index = self.index_of(&dev).await?;
        self.request(|b, s| codec::set_link(b, s, index, Some(up), None))
            .await
            .map(drop)
            .map_err(fail(RtOp::Link, ctx))
    }

    /// Sets a device's MTU (`ip link set DEV mtu N`).
    ///
    /// # Errors
    /// As [`crate::tunnel::Rtnl::set_mtu`].
    pub async fn set_mtu<'a>(&self, dev: impl Into<Dev<'a>>, mtu: u32) -> Result<()> {
        let dev = dev.into();
        let ctx = || format!("setting the MTU of {dev} to {mtu}");
        check_mtu(mtu, ctx)?;
        let index = self.index_of(&dev).await?;
        self.request(|b, s| codec::set_link(b, s, index, None, Some(mtu)))
            .await
            .map(drop)
            .map_err(fail(RtOp::Link, ctx))
    }

    /// Deletes a device (`ip link del`).
    ///
    /// # Errors
    /// As [`crate::tunnel::Rtnl::del_link`].
    pub async fn del_link<'a>(&self, dev: impl Into<Dev<'a>>) -> Result<()> {
        let dev = dev.into();
        let ctx = || format!("deleting {dev}");
        let index = self.index_of(&dev).await?;
        self.request(|b, s| codec::del_link(b, s, index))
            .await
            .map(drop)
            .map_err(fail(RtOp::Link, ctx))
    }

    /// Adds an address (e.g. a VIP as `/32` or `/128`) to a device (`ip addr add`).
    ///
    /// # Errors
    /// As [`crate::tunnel::Rtnl::add_address`].
    pub async fn add_address<'a>(&self, dev: impl Into<Dev<'a>>, net: IpNetwork) -> Result<()> {
        let dev = dev.into();
        let ctx = || format!("adding address {net} to {dev}");
        let index = self.index_of(&dev).await?;
        self.request(|b, s| codec::addr_msg(b, s, true, index, net))
            .await
            .map(drop)
            .map_err(fail(RtOp::Addr, ctx))
    }

    /// Removes an address from a device (`ip addr del`).
    ///
    /// # Errors
    /// As [`crate::tunnel::Rtnl::del_address`].
    pub async fn del_address<'a>(&self, dev: impl Into<Dev<'a>>, net: IpNetwork) -> Result<()> {
        let dev = dev.into();
        let ctx = || format!("removing address {net} from {dev}");
        let index = self.index_of(&dev).await?;
        self.request(|b, s| codec::addr_msg(b, s, false, index, net))
            .await
            .map(drop)
            .map_err(fail(RtOp::DelAddr, ctx))
    }

    /// Lists addresses as a stream: of one device, or of all when `dev` is
    /// `None` (`ip addr show`).
    ///
    /// # Errors
    /// [`crate::Error::NotFound`] when the named device does not exist;
    /// [`crate::Error::Timeout`] when the socket's one dump is not free in time.
    pub async fn address_stream<'a>(&self, dev: Option<Dev<'a>>) -> Result<Dump<Address>> {
        let index = match &dev {
            Some(d) => Some(self.index_of(d).await?),
            None => None,
        };
        let decode: Decode<Address> = Box::new(move |p| {
            let a = codec::decode_addr(p)?;
            Ok((!matches!(index, Some(i) if i != a.index)).then_some(a))
        });
        self.dump(
            codec::dump_addrs,
            decode,
            RtOp::Addr,
            "listing addresses".into(),
        )
        .await
    }

    /// Lists addresses: of one device, or of all when `dev` is `None`.
    ///
    /// # Errors
    /// As [`crate::tunnel::Rtnl::addresses`].
    pub async fn addresses<'a>(&self, dev: Option<Dev<'a>>) -> Result<Vec<Address>> {
        self.address_stream(dev).await?.collect_all().await
    }
}
