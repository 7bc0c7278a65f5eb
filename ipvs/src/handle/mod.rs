//! The [`Ipvs`] handle: one typed method per IPVS generic netlink command.
//!
//! Every method of [`Ipvs`] is in this module: single commands and
//! listings here, batches in `batch.rs` ([`Ipvs::apply`], [`Ipvs::execute`]),
//! whole tables in `table.rs` ([`crate::table::Table::read`], [`Ipvs::plan`],
//! [`Ipvs::converge`], [`Ipvs::apply_plan`]), rules text in `restore.rs`
//! ([`Ipvs::restore`]) and partial changes in `edit.rs` ([`Ipvs::set_weight`],
//! [`Ipvs::set_scheduler`]). The pure logic they drive lives in
//! [`crate::batch`], [`crate::table`] and the operation model.

mod batch;
pub(crate) mod edit;
mod restore;
mod table;

use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::codec::ipvs::{self as c, cmd};
use crate::codec::nla;
use crate::error::{Error, Result};
use crate::model::{
    Destination, DestinationEntry, Info, Service, ServiceEntry, ServiceKey, SyncDaemon, SyncState,
    Timeouts,
};
use crate::netns::Namespace;
use crate::op::Operation;
use crate::op::{kernel_error, OpKind};
use crate::transport::{resolve_family, Failure, Transport};

/// A handle on the IPVS table of one network namespace.
///
/// The handle owns one generic netlink socket. It is `Send + Sync`: requests
/// from several threads are serialised on an internal lock, each request and
/// its replies exchanged whole. Open one handle per thread for parallel
/// requests.
///
/// ```no_run
/// use lvskit::{Ipvs, Service, ServiceKey, Destination, Forward, Scheduler};
/// # fn main() -> lvskit::Result<()> {
/// let ipvs = Ipvs::new()?;
/// let key = ServiceKey::tcp([10, 0, 0, 1], 80);
/// ipvs.add_service(&Service::new(key).with_scheduler(Scheduler::RoundRobin))?;
/// ipvs.add_destination(&key, &Destination::new([192, 168, 1, 2], 80).with_forward(Forward::Masq))?;
/// for entry in ipvs.services()? {
///     println!("{}", entry.service);
/// }
/// # Ok(()) }
/// ```
pub struct Ipvs {
    inner: Mutex<Inner>,
    family: u16,
    namespace: Namespace,
}

struct Inner {
    transport: Transport,
    buf: Vec<u8>,
}

/// `Ok` when the lookup of `service` found it; a missing service is
/// reported as the destination listing's error (shared with the async handle).
pub(crate) fn service_exists(service: &ServiceKey, found: Result<ServiceEntry>) -> Result<()> {
    match found {
        Ok(_) => Ok(()),
        Err(Error::NotFound { what, errno, .. }) => Err(Error::NotFound {
            context: format!("listing destinations of service {service}"),
            what,
            errno,
        }),
        Err(e) => Err(e),
    }
}

/// The typed error of a failed request of `kind` (shared with the async handle).
pub(crate) fn fail(
    kind: OpKind,
    ctx: impl FnOnce() -> String,
    module: Option<String>,
) -> impl FnOnce(Failure) -> Error {
    move |f| {
        f.into_error(ctx, |context, errno| {
            kernel_error(kind, context, errno, module)
        })
    }
}

impl Ipvs {
    /// Opens a handle in the calling thread's network namespace.
    ///
    /// # Errors
    /// [`Error::ModuleMissing`] when IPVS is not available, [`Error::Io`] when
    /// no netlink socket can be opened.
    pub fn new() -> Result<Self> {
        Self::open(Namespace::Current)
    }

    /// Opens a handle in the given network namespace. No thread of the caller
    /// changes namespace (see [`Namespace`]).
    ///
    /// # Errors
    /// As [`Ipvs::new`], plus [`Error::Io`] when the namespace cannot be opened.
    pub fn open(namespace: Namespace) -> Result<Self> {
        let transport = Transport::open(&namespace, libc::NETLINK_GENERIC)?;
        Self::over(transport, namespace)
    }

    /// Opens a handle that talks to a scripted kernel instead of a socket
    /// (host tests of the protocol paths; see [`crate::testing`]). The family
    /// is resolved through the script as through the kernel.
    ///
    /// # Errors
    /// As [`Ipvs::new`]: whatever the script answers to the family lookup.
    #[cfg(feature = "test-kernel")]
    pub fn with_kernel(kernel: crate::testing::ScriptedKernel) -> Result<Self> {
        let transport = Transport::over(crate::transport::Socket::Scripted(kernel))?;
        Self::over(transport, Namespace::Current)
    }

    /// A handle over `transport`, once the IPVS family is resolved.
    fn over(mut transport: Transport, namespace: Namespace) -> Result<Self> {
        let family = resolve_family(&mut transport, c::FAMILY_NAME)?;
        Ok(Ipvs {
            inner: Mutex::new(Inner {
                transport,
                buf: Vec::with_capacity(512),
            }),
            family,
            namespace,
        })
    }

    /// The generic netlink family id of IPVS in this namespace, resolved once when the handle opened.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    /// The namespace this handle talks to.
    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// The netlink port id of this handle's socket.
    pub fn port_id(&self) -> u32 {
        self.lock().transport.pid()
    }

    /// Sets the socket's receive buffer size in bytes (default 8 MiB where
    /// allowed). Replies that do not fit are dropped by the kernel and reported
    /// as an error ([`Error::Io`] with `ENOBUFS`), never waited for.
    ///
    /// # Errors
    /// [`Error::Io`] if the socket option cannot be set.
    pub fn set_receive_buffer(&self, bytes: usize) -> Result<()> {
        self.lock().transport.set_receive_buffer(bytes)
    }

    /// The sequence number the next request will carry (for tests of reply
    /// checking; only with the `test-kernel` feature, outside the stable API).
    #[cfg(feature = "test-kernel")]
    pub fn next_seq_for_tests(&self) -> u32 {
        self.lock().transport.peek_seq()
    }

    /// Bounds every wait for the kernel's reply (default 30 s).
    ///
    /// # Errors
    /// [`Error::Io`] if the socket option cannot be set.
    pub fn set_timeout(&self, timeout: Duration) -> Result<()> {
        self.lock().transport.set_timeout(timeout)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // a panic while holding the lock leaves no invariant broken: the
        // buffer is cleared before each use and stale replies are skipped by seq
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs one request; `on_msg` sees each reply message's generic netlink attributes.
    fn run(
        &self,
        command: u8,
        dump: bool,
        attrs: impl FnOnce(&mut Vec<u8>) -> Result<()>,
        on_attrs: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<(), Failure> {
        let flags = if dump {
            nla::NLM_F_DUMP
        } else {
            nla::NLM_F_ACK
        };
        self.run_flags(command, dump, flags, attrs, on_attrs)
    }

    fn run_flags(
        &self,
        command: u8,
        dump: bool,
        flags: u16,
        attrs: impl FnOnce(&mut Vec<u8>) -> Result<()>,
        mut on_attrs: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<(), Failure> {
        let mut g = self.lock();
        let inner = &mut *g;
        let seq = inner.transport.next_seq();
        inner.buf.clear();
        c::request(&mut inner.buf, self.family, command, flags, seq, attrs)?;
        let family = self.family;
        inner
            .transport
            .exchange(&inner.buf, seq, dump, |h, payload| {
                if h.ty != family {
                    return Ok(());
                }
                let attrs = payload.get(nla::GENL_HDRLEN..).ok_or_else(|| {
                    Error::protocol(
                        "reading a reply",
                        "message shorter than its generic netlink header",
                    )
                })?;
                on_attrs(attrs)
            })
    }

    /// Sends a raw IPVS request and returns the attributes (after the generic
    /// netlink header) of every reply message: an escape hatch for commands or
    /// attributes this crate does not model yet, and the way golden test
    /// vectors are captured. `attrs` must be well-formed netlink attributes.
    ///
    /// Only with the `test-kernel` feature: it is a test and capture tool
    /// (golden vectors, kernel tests), outside the stable API, and nothing in
    /// it checks what is sent.
    ///
    /// # Errors
    /// The kernel's errno as [`Error::Kernel`] (or a mapped variant), transport errors.
    #[cfg(feature = "test-kernel")]
    pub fn raw_request(&self, command: u8, dump: bool, attrs: &[u8]) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        self.run(
            command,
            dump,
            |b| {
                b.extend_from_slice(attrs);
                Ok(())
            },
            |a| {
                out.push(a.to_vec());
                Ok(())
            },
        )
        .map_err(fail(
            OpKind::GetService,
            || format!("raw IPVS request (command {command})"),
            None,
        ))?;
        Ok(out)
    }

    /// Sends a request *without* asking for an acknowledgement and waits for
    /// one anyway, as every call does: the kernel stays silent on success, so
    /// this shows how a wait that gets no reply ends ([`Error::Timeout`] after
    /// [`Ipvs::set_timeout`]). For tests of the timeout path only (the
    /// `test-kernel` feature, outside the stable API).
    #[cfg(feature = "test-kernel")]
    pub fn unacknowledged_request_for_tests(&self, command: u8, attrs: &[u8]) -> Result<()> {
        self.run_flags(
            command,
            false,
            0,
            |b| {
                b.extend_from_slice(attrs);
                Ok(())
            },
            |_| Ok(()),
        )
        .map_err(fail(
            OpKind::GetService,
            || format!("raw IPVS request without acknowledgement (command {command})"),
            None,
        ))
    }

    /// Adds a virtual service (`ipvsadm -A`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] before sending, [`Error::Exists`] if it exists,
    /// [`Error::ModuleMissing`] if its scheduler or persistence engine is not available.
    pub fn add_service(&self, svc: &Service) -> Result<()> {
        self.apply(&Operation::AddService(svc.clone()))
    }

    /// Changes a virtual service's scheduler, flags and persistence (`ipvsadm -E`).
    ///
    /// Restates the whole configuration, as `ipvsadm -E` does: what `svc`
    /// leaves at its default (scheduler `wlc`, no persistence, no engine) is
    /// reset to it. To change only the scheduler, use [`Ipvs::set_scheduler`].
    ///
    /// # Errors
    /// As [`Ipvs::add_service`], with [`Error::NotFound`] if it does not exist.
    pub fn update_service(&self, svc: &Service) -> Result<()> {
        self.apply(&Operation::UpdateService(svc.clone()))
    }

    /// Deletes a virtual service and its destinations (`ipvsadm -D`).
    ///
    /// # Errors
    /// [`Error::NotFound`] if it does not exist.
    pub fn delete_service(&self, key: &ServiceKey) -> Result<()> {
        self.apply(&Operation::DeleteService(*key))
    }

    /// Reads one virtual service.
    ///
    /// # Errors
    /// [`Error::NotFound`] if it does not exist.
    pub fn service(&self, key: &ServiceKey) -> Result<ServiceEntry> {
        let ctx = || format!("getting service {key}");
        let mut out = None;
        self.run(
            cmd::GET_SERVICE,
            false,
            |b| c::put_service_key_nest(b, key),
            |attrs| {
                if let Some(p) = c::find(attrs, c::cmd_attr::SERVICE)? {
                    out = Some(c::decode_service(p)?);
                }
                Ok(())
            },
        )
        .map_err(fail(OpKind::GetService, ctx, None))?;
        out.ok_or_else(|| Error::protocol(ctx(), "the kernel acknowledged but sent no service"))
    }

    /// Lists every virtual service with its counters (`ipvsadm -Ln --stats`).
    ///
    /// Like every IPVS listing, this is not a snapshot: the kernel sends the
    /// table in parts and does not flag concurrent changes, so a listing taken
    /// while services are added or removed (in any network namespace) may miss
    /// one. Entries it repeats are dropped here.
    ///
    /// # Errors
    /// [`Error::Protocol`] for a reply that cannot be decoded.
    pub fn services(&self) -> Result<Vec<ServiceEntry>> {
        self.list_services(c::decode_service, |e| e.service.key)
    }

    /// Every service's configuration, without decoding counters (for tables).
    pub(crate) fn service_configs(&self) -> Result<Vec<Service>> {
        self.list_services(c::decode_service_config, |s| s.key)
    }

    fn list_services<T>(
        &self,
        decode: impl Fn(&[u8]) -> Result<T>,
        key: impl Fn(&T) -> ServiceKey,
    ) -> Result<Vec<T>> {
        let mut out: Vec<T> = Vec::new();
        self.run(
            cmd::GET_SERVICE,
            true,
            |_| Ok(()),
            |attrs| {
                if let Some(p) = c::find(attrs, c::cmd_attr::SERVICE)? {
                    out.push(decode(p)?);
                }
                Ok(())
            },
        )
        .map_err(fail(OpKind::GetService, || "listing services".into(), None))?;
        // The kernel restarts its hash walk for every part of a dump and skips
        // as many entries as it already sent; a service added or removed
        // meanwhile (in any namespace: the hash table is shared) can make it
        // send one twice. Keep the first.
        crate::fasthash::dedup_first(&mut out, key);
        Ok(out)
    }

    /// Adds a real server to a virtual service (`ipvsadm -a`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] before sending; [`Error::NotFound`] if the service
    /// does not exist; [`Error::Exists`]; [`Error::Invalid`] for what the kernel refuses.
    pub fn add_destination(&self, service: &ServiceKey, dest: &Destination) -> Result<()> {
        self.apply(&Operation::AddDestination(*service, *dest))
    }

    /// Changes a real server's forwarding, weight and thresholds (`ipvsadm -e`).
    ///
    /// Restates the whole destination, as `ipvsadm -e` does: what `dest`
    /// leaves at its default (direct routing, no tunnel options, no
    /// thresholds) is reset to it. To change only the weight (drain with 0,
    /// restore), use [`Ipvs::set_weight`].
    ///
    /// # Errors
    /// As [`Ipvs::add_destination`], with [`Error::NotFound`] if it does not exist.
    pub fn update_destination(&self, service: &ServiceKey, dest: &Destination) -> Result<()> {
        self.apply(&Operation::UpdateDestination(*service, *dest))
    }

    /// Removes a real server from a virtual service (`ipvsadm -d`).
    ///
    /// # Errors
    /// [`Error::NotFound`] if the service or the destination does not exist.
    pub fn delete_destination(&self, service: &ServiceKey, addr: IpAddr, port: u16) -> Result<()> {
        self.apply(&Operation::DeleteDestination(*service, addr, port))
    }

    /// Lists a virtual service's real servers with their counters.
    ///
    /// # Errors
    /// [`Error::NotFound`] if the service does not exist; [`Error::Protocol`]
    /// for a reply that cannot be decoded.
    pub fn destinations(&self, service: &ServiceKey) -> Result<Vec<DestinationEntry>> {
        let out = self.list_destinations(service, c::decode_dest, |e| {
            (e.destination.addr, e.destination.port)
        })?;
        if out.is_empty() {
            self.service_exists(service)?;
        }
        Ok(out)
    }

    /// `Ok` when `service` exists. The kernel answers a missing service's
    /// destination dump with an empty list, not an error, so an empty list is
    /// checked with one more request (a list with entries needs none).
    fn service_exists(&self, service: &ServiceKey) -> Result<()> {
        service_exists(service, self.service(service))
    }

    /// A service's destinations, without decoding counters (for tables).
    pub(crate) fn destination_configs(&self, service: &ServiceKey) -> Result<Vec<Destination>> {
        self.list_destinations(service, c::decode_dest_config, |d| (d.addr, d.port))
    }

    fn list_destinations<T>(
        &self,
        service: &ServiceKey,
        decode: impl Fn(&[u8], crate::model::Family) -> Result<T>,
        id: impl Fn(&T) -> (IpAddr, u16),
    ) -> Result<Vec<T>> {
        let ctx = || format!("listing destinations of service {service}");
        let fam = service.family();
        let mut out = Vec::new();
        self.run(
            cmd::GET_DEST,
            true,
            |b| c::put_service_key_nest(b, service),
            |attrs| {
                if let Some(p) = c::find(attrs, c::cmd_attr::DEST)? {
                    out.push(decode(p, fam)?);
                }
                Ok(())
            },
        )
        .map_err(fail(OpKind::GetDest, ctx, None))?;
        // as for services: a concurrent change can make the kernel repeat an entry
        crate::fasthash::dedup_first(&mut out, id);
        Ok(out)
    }

    /// Starts a connection synchronisation daemon (`ipvsadm --start-daemon`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] before sending; [`Error::Exists`] if one of that
    /// state runs; [`Error::NotFound`] for an unknown interface.
    pub fn start_daemon(&self, daemon: &SyncDaemon) -> Result<()> {
        self.apply(&Operation::StartDaemon(daemon.clone()))
    }

    /// Stops the sync daemon of the given state (`ipvsadm --stop-daemon`).
    ///
    /// # Errors
    /// [`Error::NotFound`] if none runs.
    pub fn stop_daemon(&self, state: SyncState) -> Result<()> {
        self.apply(&Operation::StopDaemon(state))
    }

    /// Lists the running sync daemons (`ipvsadm -L --daemon`).
    ///
    /// # Errors
    /// [`Error::Protocol`] for a reply that cannot be decoded.
    pub fn daemons(&self) -> Result<Vec<SyncDaemon>> {
        let mut out = Vec::new();
        self.run(
            cmd::GET_DAEMON,
            true,
            |_| Ok(()),
            |attrs| {
                if let Some(p) = c::find(attrs, c::cmd_attr::DAEMON)? {
                    out.push(c::decode_daemon(p)?);
                }
                Ok(())
            },
        )
        .map_err(fail(
            OpKind::GetDaemon,
            || "listing sync daemons".into(),
            None,
        ))?;
        Ok(out)
    }

    /// Reads the connection timeouts (`ipvsadm -L --timeout`).
    ///
    /// # Errors
    /// [`Error::Protocol`] for a reply that cannot be decoded.
    pub fn timeouts(&self) -> Result<Timeouts> {
        let mut out = None;
        self.run(
            cmd::GET_CONFIG,
            false,
            |_| Ok(()),
            |attrs| {
                out = Some(c::decode_timeouts(attrs)?);
                Ok(())
            },
        )
        .map_err(fail(OpKind::GetConfig, || "reading timeouts".into(), None))?;
        out.ok_or_else(|| Error::protocol("reading timeouts", "no reply"))
    }

    /// Sets the connection timeouts (`ipvsadm --set`); a 0 keeps that timeout unchanged.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for values the kernel cannot hold; [`Error::Invalid`].
    pub fn set_timeouts(&self, t: &Timeouts) -> Result<()> {
        self.apply(&Operation::SetTimeouts(*t))
    }

    /// Reads the IPVS version and connection table size.
    ///
    /// # Errors
    /// [`Error::Protocol`] for a reply that cannot be decoded.
    pub fn info(&self) -> Result<Info> {
        let mut out = None;
        self.run(
            cmd::GET_INFO,
            false,
            |_| Ok(()),
            |attrs| {
                out = Some(c::decode_info(attrs)?);
                Ok(())
            },
        )
        .map_err(fail(OpKind::GetInfo, || "reading IPVS info".into(), None))?;
        out.ok_or_else(|| Error::protocol("reading IPVS info", "no reply"))
    }

    /// Zeroes the counters of one service (`ipvsadm -Z -t ...`), or of all with `None`.
    ///
    /// # Errors
    /// [`Error::NotFound`] if the service does not exist.
    pub fn zero(&self, service: Option<&ServiceKey>) -> Result<()> {
        self.apply(&Operation::Zero(service.copied()))
    }

    /// Deletes every virtual service (`ipvsadm -C`).
    ///
    /// # Errors
    /// Only transport errors: the kernel always accepts a flush.
    pub fn flush(&self) -> Result<()> {
        self.apply(&Operation::Flush)
    }

    /// Runs `f` with exclusive use of this handle's socket (batches).
    pub(crate) fn with_transport<R>(
        &self,
        f: impl FnOnce(&mut Transport, &mut Vec<u8>, u16) -> R,
    ) -> R {
        let mut g = self.lock();
        let inner = &mut *g;
        f(&mut inner.transport, &mut inner.buf, self.family)
    }
}
