//! The async [`Fou`] handle: FOU/GUE receive ports over one non-blocking
//! generic netlink socket, on the same demultiplexer as the async IPVS
//! handle, with the blocking [`crate::tunnel::Fou`]'s codec, validation and
//! error mapping.

use std::sync::Arc;
use std::time::Duration;

use super::session::{Session, Speaks};
use super::stream::{Decode, Dump, ErrorMap};
use crate::error::Result;
use crate::netns::Namespace;
use crate::tunnel::fou::{self, add_error, cmd, decode_port, del_error, list_error, FouPort};

/// An async handle on the FOU/GUE receive ports of one network namespace,
/// for tokio: the twin of [`crate::tunnel::Fou`].
///
/// Many requests may be in flight at once on its one socket; every future is
/// cancellation safe; waits are bounded by [`Fou::set_timeout`]. Cloning is
/// cheap and shares the socket.
///
/// ```no_run
/// use lvskit::aio;
/// use lvskit::tunnel::FouPort;
/// # async fn f() -> lvskit::Result<()> {
/// let fou = aio::Fou::new().await?;
/// fou.add(&FouPort::gue(6080)).await?;
/// assert!(fou.list().await?.contains(&FouPort::gue(6080)));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Fou {
    inner: Arc<Session>,
}

impl std::fmt::Debug for Fou {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.debug(f, "aio::Fou")
    }
}

impl Fou {
    /// Opens a handle in the calling thread's network namespace.
    ///
    /// # Errors
    /// As [`Fou::open`].
    pub async fn new() -> Result<Self> {
        Self::open(Namespace::Current).await
    }

    /// Opens a handle in `namespace`.
    ///
    /// # Errors
    /// As [`crate::tunnel::Fou::open`]; [`crate::Error::Io`] outside a tokio
    /// runtime (with I/O and time enabled).
    pub async fn open(namespace: Namespace) -> Result<Self> {
        let inner = Session::open(namespace, Speaks::Genl(fou::resolve))?;
        Ok(Fou { inner })
    }

    /// Opens a handle over a scripted kernel (host tests; see
    /// [`crate::testing`]): its family lookup is answered with
    /// [`crate::testing::FAMILY_ID`], its FOU requests go to the script.
    ///
    /// # Errors
    /// As [`Fou::new`].
    #[cfg(feature = "test-kernel")]
    pub async fn with_kernel(kernel: crate::testing::ScriptedKernel) -> Result<Self> {
        let inner = Session::scripted(kernel, Speaks::Genl(fou::resolve))?;
        Ok(Fou { inner })
    }

    /// The namespace this handle talks to.
    pub fn namespace(&self) -> &Namespace {
        self.inner.namespace()
    }

    /// The generic netlink family id of `fou` in this namespace.
    pub fn family_id(&self) -> u16 {
        self.inner.family()
    }

    /// Bounds every wait for the kernel's reply (default 30 s).
    pub fn set_timeout(&self, timeout: Duration) {
        self.inner.set_timeout(timeout);
    }

    async fn command(&self, command: u8, p: &FouPort) -> Result<(), crate::transport::Failure> {
        let family = self.family_id();
        self.inner
            .shared()
            .exchange(
                |b, seq| fou::request(b, family, command, seq, Some(p)),
                false,
            )
            .await
            .map(drop)
    }

    /// Adds a receive port (`ip fou add`).
    ///
    /// # Errors
    /// As [`crate::tunnel::Fou::add`].
    pub async fn add(&self, p: &FouPort) -> Result<()> {
        p.validate()?;
        self.command(cmd::ADD, p).await.map_err(add_error(p))
    }

    /// Removes a receive port (`ip fou del`).
    ///
    /// # Errors
    /// As [`crate::tunnel::Fou::del`].
    pub async fn del(&self, p: &FouPort) -> Result<()> {
        p.validate()?;
        self.command(cmd::DEL, p).await.map_err(del_error(p))
    }

    /// Lists the receive ports as a stream (`ip fou show`).
    ///
    /// # Errors
    /// [`crate::Error::Timeout`] when the socket's one dump is not free in
    /// time; the stream's items carry the listing's errors.
    pub async fn list_stream(&self) -> Result<Dump<FouPort>> {
        let family = self.family_id();
        let started = self
            .inner
            .shared()
            .start_dump(|b, seq| fou::request(b, family, cmd::GET, seq, None))
            .await
            .map_err(list_error)?;
        let decode: Decode<FouPort> = Box::new(|a| decode_port(a).map(Some));
        let error: ErrorMap = Box::new(list_error);
        Ok(Dump::new(
            Arc::clone(&self.inner.conn),
            started,
            decode,
            error,
        ))
    }

    /// Lists the receive ports.
    ///
    /// # Errors
    /// As [`crate::tunnel::Fou::list`].
    pub async fn list(&self) -> Result<Vec<FouPort>> {
        self.list_stream().await?.collect_all().await
    }
}
