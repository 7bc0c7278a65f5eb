//! The async [`Ipvs`] handle: opening, settings, and one method per command.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::demux::Shared;
use super::request::Started;
use super::session::{Session, Speaks};
use super::stream::{Decode, Dump, ErrorMap};
use crate::codec::ipvs::{self as c, cmd};
use crate::codec::nla;
use crate::error::{Error, Result};
use crate::fasthash;
use crate::handle::{fail, service_exists};
use crate::model::{
    Destination, DestinationEntry, Info, Service, ServiceEntry, ServiceKey, SyncDaemon, SyncState,
    Timeouts,
};
use crate::netns::Namespace;
use crate::op::{OpKind, Operation};
use crate::transport::{resolve_family, Failure, Transport};

/// An async handle on the IPVS table of one network namespace, for tokio.
///
/// One non-blocking generic netlink socket, registered with tokio, and one
/// reader task that hands each reply to the request it answers (by sequence
/// number). Any number of requests may be in flight at once from any number
/// of tasks; each gets its own answer or error, typed as the blocking
/// [`crate::Ipvs`]'s are (the same validation, encoding, reply checks and
/// error mapping run underneath). Listings are [`Dump`] streams. Every
/// future is cancellation safe: dropping one never leaves the socket out of
/// step for later requests. Waits are bounded by [`Ipvs::set_timeout`].
///
/// Cloning is cheap and shares the socket; the reader task stops when the
/// last clone (and the last [`Dump`]) is dropped.
///
/// ```no_run
/// use lvskit::{aio, Destination, Forward, Scheduler, Service, ServiceKey};
/// # async fn f() -> lvskit::Result<()> {
/// let ipvs = aio::Ipvs::new().await?;
/// let key = ServiceKey::tcp([10, 0, 0, 1], 80);
/// ipvs.add_service(&Service::new(key).with_scheduler(Scheduler::RoundRobin)).await?;
/// // many requests in flight on one socket
/// let adds = (1..=4u8).map(|i| {
///     let ipvs = ipvs.clone();
///     tokio::spawn(async move {
///         let d = Destination::new([192, 168, 1, i], 80).with_forward(Forward::Masq);
///         ipvs.add_destination(&key, &d).await
///     })
/// });
/// for add in adds {
///     add.await.expect("task")?;
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Ipvs {
    inner: Arc<Session>,
}

impl std::fmt::Debug for Ipvs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.debug(f, "aio::Ipvs")
    }
}

/// The IPVS family's resolution, as the blocking handle's.
fn resolve(t: &mut Transport) -> Result<u16> {
    resolve_family(t, c::FAMILY_NAME)
}

impl Ipvs {
    /// Opens a handle in the calling thread's network namespace.
    ///
    /// # Errors
    /// As [`crate::Ipvs::new`]; [`Error::Io`] when called outside a tokio
    /// runtime (with I/O and time enabled).
    pub async fn new() -> Result<Self> {
        Self::open(Namespace::Current).await
    }

    /// Opens a handle in the given network namespace, as [`crate::Ipvs::open`] does.
    ///
    /// # Errors
    /// As [`crate::Ipvs::open`]; [`Error::Io`] outside a tokio runtime.
    pub async fn open(namespace: Namespace) -> Result<Self> {
        let inner = Session::open(namespace, Speaks::Genl(resolve))?;
        Ok(Ipvs { inner })
    }

    /// Opens a handle over a scripted kernel (host tests; see
    /// [`crate::testing`]): the async twin of [`crate::Ipvs::with_kernel`].
    ///
    /// # Errors
    /// As [`Ipvs::new`].
    #[cfg(feature = "test-kernel")]
    pub async fn with_kernel(kernel: crate::testing::ScriptedKernel) -> Result<Self> {
        let inner = Session::scripted(kernel, Speaks::Genl(resolve))?;
        Ok(Ipvs { inner })
    }

    pub(super) fn shared(&self) -> &Arc<Shared> {
        self.inner.shared()
    }

    /// The generic netlink family id of IPVS in this namespace.
    pub fn family_id(&self) -> u16 {
        self.inner.family()
    }

    /// One IPVS command, acknowledged: the attributes of its replies.
    async fn command(
        &self,
        command: u8,
        attrs: impl FnOnce(&mut Vec<u8>) -> Result<()>,
    ) -> Result<Vec<Vec<u8>>, Failure> {
        let family = self.family_id();
        self.shared()
            .exchange(
                |b, seq| c::request(b, family, command, nla::NLM_F_ACK, seq, attrs),
                false,
            )
            .await
    }

    /// Starts a dump of an IPVS command.
    async fn start_dump(
        &self,
        command: u8,
        attrs: impl FnOnce(&mut Vec<u8>) -> Result<()>,
    ) -> Result<Started, Failure> {
        let family = self.family_id();
        self.shared()
            .start_dump(|b, seq| c::request(b, family, command, nla::NLM_F_DUMP, seq, attrs))
            .await
    }

    /// A stream of a started dump, its errors mapped as `kind`'s.
    fn dump<T>(&self, started: Started, decode: Decode<T>, kind: OpKind, ctx: String) -> Dump<T> {
        let error: ErrorMap = Box::new(move |f| fail(kind, || ctx.clone(), None)(f));
        Dump::new(Arc::clone(&self.inner.conn), started, decode, error)
    }

    /// The namespace this handle talks to.
    pub fn namespace(&self) -> &Namespace {
        self.inner.namespace()
    }

    /// The netlink port id of this handle's socket.
    pub fn port_id(&self) -> u32 {
        self.shared().lock().transport.pid()
    }

    /// Bounds every wait for a reply (default 30 s): a request, each next
    /// entry of a listing, a listing's turn on the socket.
    pub fn set_timeout(&self, timeout: Duration) {
        self.shared().set_timeout(timeout);
    }

    /// Sets the socket's receive buffer size, as [`crate::Ipvs::set_receive_buffer`].
    ///
    /// # Errors
    /// [`Error::Io`] if the socket option cannot be set.
    pub fn set_receive_buffer(&self, bytes: usize) -> Result<()> {
        self.shared().lock().transport.set_receive_buffer(bytes)
    }

    /// Adds a virtual service (`ipvsadm -A`).
    ///
    /// # Errors
    /// As [`crate::Ipvs::add_service`].
    pub async fn add_service(&self, svc: &Service) -> Result<()> {
        self.apply(&Operation::AddService(svc.clone())).await
    }

    /// Restates a virtual service's whole configuration (`ipvsadm -E`).
    ///
    /// # Errors
    /// As [`crate::Ipvs::update_service`].
    pub async fn update_service(&self, svc: &Service) -> Result<()> {
        self.apply(&Operation::UpdateService(svc.clone())).await
    }

    /// Deletes a virtual service and its destinations (`ipvsadm -D`).
    ///
    /// # Errors
    /// As [`crate::Ipvs::delete_service`].
    pub async fn delete_service(&self, key: &ServiceKey) -> Result<()> {
        self.apply(&Operation::DeleteService(*key)).await
    }

    /// Adds a real server to a virtual service (`ipvsadm -a`).
    ///
    /// # Errors
    /// As [`crate::Ipvs::add_destination`].
    pub async fn add_destination(&self, service: &ServiceKey, dest: &Destination) -> Result<()> {
        self.apply(&Operation::AddDestination(*service, *dest))
            .await
    }

    /// Restates a real server's whole configuration (`ipvsadm -e`).
    ///
    /// # Errors
    /// As [`crate::Ipvs::update_destination`].
    pub async fn update_destination(&self, service: &ServiceKey, dest: &Destination) -> Result<()> {
        self.apply(&Operation::UpdateDestination(*service, *dest))
            .await
    }

    /// Removes a real server from a virtual service (`ipvsadm -d`).
    ///
    /// # Errors
    /// As [`crate::Ipvs::delete_destination`].
    pub async fn delete_destination(
        &self,
        service: &ServiceKey,
        addr: IpAddr,
        port: u16,
    ) -> Result<()> {
        self.apply(&Operation::DeleteDestination(*service, addr, port))
            .await
    }

    /// Starts a connection synchronisation daemon (`ipvsadm --start-daemon`).
    ///
    /// # Errors
    /// As [`crate::Ipvs::start_daemon`].
    pub async fn start_daemon(&self, daemon: &SyncDaemon) -> Result<()> {
        self.apply(&Operation::StartDaemon(daemon.clone())).await
    }

    /// Stops the sync daemon of the given state (`ipvsadm --stop-daemon`).
    ///
    /// # Errors
    /// As [`crate::Ipvs::stop_daemon`].
    pub async fn stop_daemon(&self, state: SyncState) -> Result<()> {
        self.apply(&Operation::StopDaemon(state)).await
    }

    /// Sets the connection timeouts (`ipvsadm --set`); a 0 keeps that one.
    ///
    /// # Errors
    /// As [`crate::Ipvs::set_timeouts`].
    pub async fn set_timeouts(&self, t: &Timeouts) -> Result<()> {
        self.apply(&Operation::SetTimeouts(*t)).await
    }

    /// Zeroes the counters of one service, or of all with `None` (`ipvsadm -Z`).
    ///
    /// # Errors
    /// As [`crate::Ipvs::zero`].
    pub async fn zero(&self, service: Option<&ServiceKey>) -> Result<()> {
        self.apply(&Operation::Zero(service.copied())).await
    }

    /// Deletes every virtual service (`ipvsadm -C`).
    ///
    /// # Errors
    /// Only transport errors.
    pub async fn flush(&self) -> Result<()> {
        self.apply(&Operation::Flush).await
    }

    /// Reads one virtual service.
    ///
    /// # Errors
    /// As [`crate::Ipvs::service`].
    pub async fn service(&self, key: &ServiceKey) -> Result<ServiceEntry> {
        let ctx = || format!("getting service {key}");
        let replies = self
            .command(cmd::GET_SERVICE, |b| c::put_service_key_nest(b, key))
            .await
            .map_err(fail(OpKind::GetService, ctx, None))?;
        for attrs in &replies {
            if let Some(p) = c::find(attrs, c::cmd_attr::SERVICE)? {
                return c::decode_service(p);
            }
        }
        Err(Error::protocol(
            ctx(),
            "the kernel acknowledged but sent no service",
        ))
    }

    /// Reads the connection timeouts (`ipvsadm -L --timeout`).
    ///
    /// # Errors
    /// As [`crate::Ipvs::timeouts`].
    pub async fn timeouts(&self) -> Result<Timeouts> {
        let ctx = || "reading timeouts".to_string();
        let replies = self
            .command(cmd::GET_CONFIG, |_| Ok(()))
            .await
            .map_err(fail(OpKind::GetConfig, ctx, None))?;
        match replies.last() {
            Some(attrs) => c::decode_timeouts(attrs),
            None => Err(Error::protocol(ctx(), "no reply")),
        }
    }

    /// Reads the IPVS version and connection table size.
    ///
    /// # Errors
    /// As [`crate::Ipvs::info`].
    pub async fn info(&self) -> Result<Info> {
        let ctx = || "reading IPVS info".to_string();
        let replies = self.command(cmd::GET_INFO, |_| Ok(())).await.map_err(fail(
            OpKind::GetInfo,
            ctx,
            None,
        ))?;
        match replies.last() {
            Some(attrs) => c::decode_info(attrs),
            None => Err(Error::protocol(ctx(), "no reply")),
        }
    }

    /// Lists every virtual service with its counters, as a stream.
    ///
    /// # Errors
    /// [`Error::Timeout`] when the socket's one dump is not free in time;
    /// the stream's items carry the listing's errors.
    pub async fn service_stream(&self) -> Result<Dump<ServiceEntry>> {
        self.services_with(c::decode_service, |e| e.service.key)
            .await
    }

    /// Lists every virtual service with its counters (`ipvsadm -Ln --stats`).
    ///
    /// # Errors
    /// As [`crate::Ipvs::services`].
    pub async fn services(&self) -> Result<Vec<ServiceEntry>> {
        self.service_stream().await?.collect_all().await
    }

    /// Every service's configuration, without counters (for tables).
    pub(super) async fn service_configs(&self) -> Result<Vec<Service>> {
        self.services_with(c::decode_service_config, |s| s.key)
            .await?
            .collect_all()
            .await
    }

    async fn services_with<T: 'static>(
        &self,
        decode: fn(&[u8]) -> Result<T>,
        key: fn(&T) -> ServiceKey,
    ) -> Result<Dump<T>> {
        let ctx = || "listing services".to_string();
        let started = self
            .start_dump(cmd::GET_SERVICE, |_| Ok(()))
            .await
            .map_err(fail(OpKind::GetService, ctx, None))?;
        let mut seen = fasthash::set::<ServiceKey>(64);
        let decode: Decode<T> = Box::new(move |attrs| {
            let Some(p) = c::find(attrs, c::cmd_attr::SERVICE)? else {
                return Ok(None);
            };
            let v = decode(p)?;
            // the kernel may repeat an entry (see `crate::Ipvs::services`): keep the first
            Ok(seen.insert(key(&v)).then_some(v))
        });
        Ok(self.dump(started, decode, OpKind::GetService, ctx()))
    }

    /// Lists a virtual service's real servers with their counters, as a
    /// stream. A missing service's listing is empty (the kernel's answer);
    /// [`Ipvs::destinations`] tells it apart.
    ///
    /// # Errors
    /// As [`Ipvs::service_stream`].
    pub async fn destination_stream(&self, service: &ServiceKey) -> Result<Dump<DestinationEntry>> {
        self.destinations_with(service, c::decode_dest, |e| {
            (e.destination.addr, e.destination.port)
        })
        .await
    }

    /// Lists a virtual service's real servers with their counters.
    ///
    /// # Errors
    /// As [`crate::Ipvs::destinations`].
    pub async fn destinations(&self, service: &ServiceKey) -> Result<Vec<DestinationEntry>> {
        let out = self
            .destination_stream(service)
            .await?
            .collect_all()
            .await?;
        if out.is_empty() {
            service_exists(service, self.service(service).await)?;
        }
        Ok(out)
    }

    /// A service's destinations, without counters (for tables).
    pub(super) async fn destination_configs(
        &self,
        service: &ServiceKey,
    ) -> Result<Vec<Destination>> {
        self.destinations_with(service, c::decode_dest_config, |d| (d.addr, d.port))
            .await?
            .collect_all()
            .await
    }

    async fn destinations_with<T: 'static>(
        &self,
        service: &ServiceKey,
        decode: fn(&[u8], crate::model::Family) -> Result<T>,
        id: fn(&T) -> (IpAddr, u16),
    ) -> Result<Dump<T>> {
        let ctx = format!("listing destinations of service {service}");
        let fam = service.family();
        let started = self
            .start_dump(cmd::GET_DEST, |b| c::put_service_key_nest(b, service))
            .await
            .map_err(fail(OpKind::GetDest, || ctx.clone(), None))?;
        let mut seen = fasthash::set::<(IpAddr, u16)>(64);
        let decode: Decode<T> = Box::new(move |attrs| {
            let Some(p) = c::find(attrs, c::cmd_attr::DEST)? else {
                return Ok(None);
            };
            let v = decode(p, fam)?;
            Ok(seen.insert(id(&v)).then_some(v))
        });
        Ok(self.dump(started, decode, OpKind::GetDest, ctx))
    }

    /// Lists the running sync daemons (`ipvsadm -L --daemon`).
    ///
    /// # Errors
    /// As [`crate::Ipvs::daemons`].
    pub async fn daemons(&self) -> Result<Vec<SyncDaemon>> {
        let ctx = || "listing sync daemons".to_string();
        let started = self
            .start_dump(cmd::GET_DAEMON, |_| Ok(()))
            .await
            .map_err(fail(OpKind::GetDaemon, ctx, None))?;
        let decode: Decode<SyncDaemon> = Box::new(|attrs| {
            c::find(attrs, c::cmd_attr::DAEMON)?
                .map(c::decode_daemon)
                .transpose()
        });
        self.dump(started, decode, OpKind::GetDaemon, ctx())
            .collect_all()
            .await
    }
}
