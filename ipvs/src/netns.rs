//! Opening netlink sockets in another network namespace.
//!
//! A socket stays in the namespace it was created in. To create one in another
//! namespace, a short-lived helper thread enters that namespace with
//! `setns(2)`, creates the socket and exits; no other thread of the process
//! ever changes namespace.

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

use crate::error::{Error, Result};

/// Which network namespace a handle talks to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Namespace {
    /// The calling thread's namespace.
    #[default]
    Current,
    /// A namespace named by `ip netns` (`/run/netns/NAME`).
    Named(String),
    /// A namespace file, e.g. `/proc/PID/ns/net`.
    Path(PathBuf),
    /// An open namespace file descriptor (borrowed: it is not closed).
    Fd(RawFd),
}

impl Namespace {
    fn path(&self) -> Option<PathBuf> {
        match self {
            Namespace::Named(n) => Some(PathBuf::from("/run/netns").join(n)),
            Namespace::Path(p) => Some(p.clone()),
            _ => None,
        }
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            Namespace::Current => "the current network namespace".into(),
            Namespace::Named(n) => format!("network namespace {n:?}"),
            Namespace::Path(p) => format!("network namespace {}", p.display()),
            Namespace::Fd(fd) => format!("network namespace fd {fd}"),
        }
    }
}

fn raw_socket(protocol: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call; a non-negative return is a new descriptor we own.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            protocol,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is a freshly created, valid descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Creates a netlink socket of `protocol` (`NETLINK_GENERIC`, `NETLINK_ROUTE`) in `ns`.
///
/// # Errors
/// [`Error::Io`] when the namespace cannot be opened or entered, or the socket
/// cannot be created.
pub(crate) fn netlink_socket(ns: &Namespace, protocol: i32) -> Result<OwnedFd> {
    run_in(ns, "opening a netlink socket", move || raw_socket(protocol))
}

/// Runs `f` with the calling thread's network namespace set to `ns`: directly
/// for [`Namespace::Current`], otherwise on a short-lived helper thread that
/// enters `ns` with `setns(2)` first (so `/proc/sys/net` shows `ns`'s values).
///
/// # Errors
/// [`Error::Io`] when the namespace cannot be opened or entered, or `f` fails.
pub(crate) fn run_in<T: Send + 'static>(
    ns: &Namespace,
    what: &str,
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T> {
    let ctx = || format!("{what} in {}", ns.describe());
    let file;
    let nsfd = match ns {
        Namespace::Current => return f().map_err(|e| Error::io(ctx(), e)),
        Namespace::Fd(fd) => *fd,
        other => {
            let path = other.path().unwrap_or_default();
            file = File::open(&path)
                .map_err(|e| Error::io(format!("{}: cannot open {}", ctx(), path.display()), e))?;
            file.as_raw_fd()
        }
    };
    let handle = std::thread::Builder::new()
        .name("ipvs-setns".into())
        .spawn(move || -> std::io::Result<T> {
            // SAFETY: setns(2) on this helper thread only; nsfd stays open
            // (owned by the caller's `file` or by the caller) until join().
            if unsafe { libc::setns(nsfd, libc::CLONE_NEWNET) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            f()
        })
        .map_err(|e| Error::io(ctx(), e))?;
    let res = handle.join().map_err(|_| {
        Error::io(
            ctx(),
            std::io::Error::other("namespace helper thread panicked"),
        )
    })?;
    res.map_err(|e| Error::io(ctx(), e))
}
