//! What every async handle holds: its connection (one non-blocking socket
//! and the reader task behind it) and the namespace it talks to, opened the
//! same way for [`super::Ipvs`], [`super::Fou`] and [`super::Rtnl`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::demux::{Conn, Protocol, Shared};
use crate::error::{Error, Result};
use crate::netns::Namespace;
use crate::transport::Transport;

/// One async handle's connection and namespace, shared by its clones.
pub(super) struct Session {
    pub(super) conn: Arc<Conn>,
    namespace: Namespace,
}

/// What a handle's socket speaks, learned before its reader task starts.
#[derive(Clone, Copy)]
pub(super) enum Speaks {
    /// A generic netlink family, resolved by this function (each maps a
    /// missing family to its own kernel module).
    Genl(fn(&mut Transport) -> Result<u16>),
    /// rtnetlink.
    Route,
}

impl Session {
    /// Opens a socket in `namespace` and starts its reader task.
    ///
    /// # Errors
    /// [`Error::Io`] when the namespace or the socket cannot be opened, or
    /// outside a tokio runtime; the family's resolution errors.
    pub(super) fn open(namespace: Namespace, speaks: Speaks) -> Result<Arc<Session>> {
        let protocol = match speaks {
            Speaks::Genl(_) => libc::NETLINK_GENERIC,
            Speaks::Route => libc::NETLINK_ROUTE,
        };
        let transport = Transport::open(&namespace, protocol)?;
        Self::over(transport, namespace, speaks)
    }

    /// A session over a scripted kernel (host tests; see [`crate::testing`]).
    ///
    /// # Errors
    /// As [`Session::open`].
    #[cfg(feature = "test-kernel")]
    pub(super) fn scripted(
        kernel: crate::testing::ScriptedKernel,
        speaks: Speaks,
    ) -> Result<Arc<Session>> {
        if let Speaks::Route = speaks {
            kernel.set_route();
        }
        let transport = Transport::over(crate::transport::Socket::Scripted(kernel))?;
        Self::over(transport, Namespace::Current, speaks)
    }

    /// Resolves the family on the still blocking socket (the controller
    /// answers at once), then hands the socket to a reader task. Outside a
    /// runtime nothing is exchanged.
    fn over(
        mut transport: Transport,
        namespace: Namespace,
        speaks: Speaks,
    ) -> Result<Arc<Session>> {
        let rt = tokio::runtime::Handle::try_current().map_err(|e| {
            Error::io(
                "opening an async netlink handle",
                std::io::Error::other(e.to_string()),
            )
        })?;
        let protocol = match speaks {
            Speaks::Genl(resolve) => Protocol::Genl {
                family: resolve(&mut transport)?,
            },
            Speaks::Route => Protocol::Route,
        };
        let conn = Conn::start(&rt, transport, protocol)?;
        Ok(Arc::new(Session { conn, namespace }))
    }

    /// The state the connection's requests and reader share.
    pub(super) fn shared(&self) -> &Arc<Shared> {
        &self.conn.shared
    }

    /// The namespace the handle talks to.
    pub(super) fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// The generic netlink family id (0 for rtnetlink).
    pub(super) fn family(&self) -> u16 {
        self.conn.shared.protocol.family()
    }

    /// Bounds every wait for the kernel's reply.
    pub(super) fn set_timeout(&self, timeout: Duration) {
        self.conn.shared.set_timeout(timeout);
    }

    /// A handle's `Debug`: its type, family (generic netlink) and namespace.
    pub(super) fn debug(&self, f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
        let mut d = f.debug_struct(name);
        if let Protocol::Genl { family } = self.conn.shared.protocol {
            d.field("family", &family);
        }
        d.field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}
