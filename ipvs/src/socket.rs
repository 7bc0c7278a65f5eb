//! The seam under every handle: a netlink socket reduced to its system calls.
//!
//! [`NetlinkSocket`] is what the transport (the session over a socket) needs
//! from a socket: send a buffer of requests, receive datagrams with their sender's
//! port id, and the socket options a handle sets. Everything about the
//! protocol (sequence numbers, sender checks, truncation, acknowledgements,
//! dumps, batches) lives above it, so the same code runs against the kernel
//! ([`KernelSocket`]) and, in host tests, against a scripted kernel (the
//! `testing` module, behind the `test-kernel` feature). Nothing here knows
//! either of them.

use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};
use std::time::Duration;

use neli::consts::socket::Msg;
use neli::socket::NlSocket;
use neli::utils::Groups;

use crate::error::{Error, Result};
use crate::netns::{self, Namespace};

/// One datagram as a receive call reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Received {
    /// The datagram's full length (more than its part when truncated).
    pub(crate) len: usize,
    /// The sender's netlink port id (0: the kernel).
    pub(crate) sender: u32,
    /// The datagram did not fit its part (`MSG_TRUNC`).
    pub(crate) truncated: bool,
}

/// A netlink socket as the transport uses it.
pub(crate) trait NetlinkSocket {
    /// The port id the socket is bound to.
    fn port_id(&self) -> u32;

    /// Sends `buf` (one or more complete messages) as one datagram; returns
    /// the bytes taken.
    ///
    /// # Errors
    /// The system call's error.
    fn send(&mut self, buf: &[u8]) -> std::io::Result<usize>;

    /// Receives up to `got.len()` datagrams already queued, waiting for the
    /// first: datagram `i` is copied to `buf[i * part..(i + 1) * part]` and
    /// described in `got[i]`. Returns how many were received.
    ///
    /// # Errors
    /// The system call's error: `EAGAIN` when the receive timeout expired,
    /// `ENOBUFS` when replies were dropped, `EINTR`.
    fn recv(&mut self, buf: &mut [u8], part: usize, got: &mut [Received])
        -> std::io::Result<usize>;

    /// Bounds every wait of [`NetlinkSocket::recv`].
    ///
    /// # Errors
    /// The socket option's error.
    fn set_timeout(&mut self, timeout: Duration) -> std::io::Result<()>;

    /// Sets the receive buffer size.
    ///
    /// # Errors
    /// The socket option's error.
    fn set_receive_buffer(&mut self, bytes: usize) -> std::io::Result<()>;

    /// Makes [`NetlinkSocket::recv`] return `EAGAIN` at once when nothing is
    /// queued (the async handle).
    ///
    /// # Errors
    /// The system call's error.
    #[cfg(feature = "tokio")]
    fn set_nonblocking(&mut self) -> std::io::Result<()>;

    /// A descriptor that polls readable while a datagram is queued (the
    /// socket itself, or a scripted kernel's eventfd), for the async handle's
    /// readiness wait.
    #[cfg(feature = "tokio")]
    fn readiness_fd(&self) -> std::os::fd::RawFd;
}

/// Sets `O_NONBLOCK` on `fd`.
///
/// # Errors
/// The `fcntl` call's error.
#[cfg(feature = "tokio")]
pub(crate) fn set_nonblocking(fd: std::os::fd::RawFd) -> std::io::Result<()> {
    // SAFETY: fcntl on a descriptor we own, with integer arguments only.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Socket buffer sizes asked for (batches queue many replies).
const SOCK_BUF: i32 = 8 * 1024 * 1024;
/// The most datagrams one receive call takes.
const MAX_PARTS: usize = 4;

/// A bound netlink socket in some network namespace.
pub(crate) struct KernelSocket {
    sock: NlSocket,
    pid: u32,
}

fn setsockopt<T>(fd: i32, level: i32, opt: i32, val: &T) -> std::io::Result<()> {
    // SAFETY: setsockopt with a pointer to a live value and its size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            (val as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

impl KernelSocket {
    /// Opens a socket of `protocol` in `ns`, binds it and sets its options.
    ///
    /// # Errors
    /// [`Error::Io`] when the namespace or socket cannot be opened or bound.
    pub(crate) fn open(ns: &Namespace, protocol: i32) -> Result<Self> {
        let fd: OwnedFd = netns::netlink_socket(ns, protocol)?;
        // SAFETY: we pass ownership of a valid netlink socket descriptor to NlSocket.
        let sock = unsafe { <NlSocket as std::os::fd::FromRawFd>::from_raw_fd(fd.into_raw_fd()) };
        let ctx = || format!("binding a netlink socket in {}", ns.describe());
        sock.bind(None, Groups::empty())
            .map_err(|e| Error::io(ctx(), e))?;
        let raw = sock.as_raw_fd();
        // Larger buffers: privileged callers can exceed rmem_max with the FORCE variants.
        for (force, plain) in [
            (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF),
            (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF),
        ] {
            if setsockopt(raw, libc::SOL_SOCKET, force, &SOCK_BUF).is_err() {
                let _ = setsockopt(raw, libc::SOL_SOCKET, plain, &SOCK_BUF);
            }
        }
        // NETLINK_EXT_ACK lets newer kernels add a message to errors; harmless if refused.
        let _ = sock.enable_ext_ack(true);
        // NETLINK_CAP_ACK: error replies echo only the request's header, not its
        // payload, so a batch's error replies stay small in the receive buffer.
        let one: libc::c_int = 1;
        let _ = setsockopt(raw, libc::SOL_NETLINK, libc::NETLINK_CAP_ACK, &one);
        let pid = sock.pid().map_err(|e| Error::io(ctx(), e))?;
        Ok(KernelSocket { sock, pid })
    }
}

impl NetlinkSocket for KernelSocket {
    #[inline]
    fn port_id(&self) -> u32 {
        self.pid
    }

    #[inline]
    fn send(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.sock.send(buf, Msg::empty())
    }

    fn recv(
        &mut self,
        buf: &mut [u8],
        part: usize,
        got: &mut [Received],
    ) -> std::io::Result<usize> {
        let n = got.len().min(MAX_PARTS).min(buf.len() / part.max(1));
        // SAFETY: zeroed sockaddr_nl, iovec and mmsghdr are valid values;
        // every pointer is set below before use.
        let mut addrs: [libc::sockaddr_nl; MAX_PARTS] = unsafe { std::mem::zeroed() };
        let mut iovs: [libc::iovec; MAX_PARTS] = unsafe { std::mem::zeroed() };
        let mut hdrs: [libc::mmsghdr; MAX_PARTS] = unsafe { std::mem::zeroed() };
        for (i, chunk) in buf.chunks_exact_mut(part).enumerate().take(n) {
            iovs[i] = libc::iovec {
                iov_base: chunk.as_mut_ptr().cast(),
                iov_len: part,
            };
            hdrs[i].msg_hdr.msg_name = (&mut addrs[i] as *mut libc::sockaddr_nl).cast();
            hdrs[i].msg_hdr.msg_namelen =
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
            hdrs[i].msg_hdr.msg_iov = &mut iovs[i];
            hdrs[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: n headers, each pointing at its own live address and at its
        // own `part`-byte chunk of buf; no timeout pointer.
        let r = unsafe {
            libc::recvmmsg(
                self.sock.as_raw_fd(),
                hdrs.as_mut_ptr(),
                n as libc::c_uint,
                libc::MSG_TRUNC | libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let r = (r as usize).min(n);
        for i in 0..r {
            got[i] = Received {
                len: hdrs[i].msg_len as usize,
                sender: addrs[i].nl_pid,
                truncated: hdrs[i].msg_hdr.msg_flags & libc::MSG_TRUNC != 0,
            };
        }
        Ok(r)
    }

    fn set_timeout(&mut self, timeout: Duration) -> std::io::Result<()> {
        let tv = libc::timeval {
            tv_sec: timeout.as_secs().min(i64::MAX as u64) as libc::time_t,
            tv_usec: libc::suseconds_t::from(timeout.subsec_micros() as i32),
        };
        setsockopt(
            self.sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            &tv,
        )
    }

    fn set_receive_buffer(&mut self, bytes: usize) -> std::io::Result<()> {
        let v = i32::try_from(bytes).unwrap_or(i32::MAX);
        let raw = self.sock.as_raw_fd();
        setsockopt(raw, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &v)
            .or_else(|_| setsockopt(raw, libc::SOL_SOCKET, libc::SO_RCVBUF, &v))
    }

    #[cfg(feature = "tokio")]
    fn set_nonblocking(&mut self) -> std::io::Result<()> {
        set_nonblocking(self.sock.as_raw_fd())
    }

    #[cfg(feature = "tokio")]
    fn readiness_fd(&self) -> std::os::fd::RawFd {
        self.sock.as_raw_fd()
    }
}
