//! Netlink socket I/O: sending requests and collecting the kernel's replies.
//!
//! Every reply is checked: it must come from the kernel (sender port id 0),
//! carry one of our sequence numbers, fit the receive buffer (no truncation)
//! and, for dumps, not be interrupted. Waits are bounded by a receive timeout.

use std::ops::Range;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};
use std::time::Duration;

use neli::consts::socket::Msg;
use neli::socket::NlSocket;
use neli::utils::Groups;

use crate::codec::nla::{self, Messages, MsgHeader};
use crate::error::{Error, Result};
use crate::netns::{self, Namespace};

/// Why an exchange failed: the kernel answered an errno, or something local went wrong.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The kernel's errno (positive).
    Kernel(i32),
    /// A local or protocol error, already described.
    Local(Error),
}

impl Failure {
    /// The typed error: a kernel errno goes through `kernel` with the context;
    /// a local error gets the context prefixed.
    pub(crate) fn into_error(
        self,
        ctx: impl FnOnce() -> String,
        kernel: impl FnOnce(String, i32) -> Error,
    ) -> Error {
        match self {
            Failure::Kernel(errno) => kernel(ctx(), errno),
            Failure::Local(Error::Timeout { after, .. }) => Error::Timeout {
                context: ctx(),
                after,
            },
            Failure::Local(Error::Io { context, source }) => Error::Io {
                context: format!("{}: {context}", ctx()),
                source,
            },
            Failure::Local(Error::Protocol { context, detail }) => Error::Protocol {
                context: format!("{}: {context}", ctx()),
                detail,
            },
            Failure::Local(other) => other,
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Local(e)
    }
}

/// The default bound on every wait for a reply.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Receive buffer for one datagram: dumps are read with a large buffer so the
/// kernel packs many entries per round.
const RECV_BUF: usize = 256 * 1024;
/// Datagrams one receive call may return (`recvmmsg`). Two, because a dump
/// that fits one datagram is followed at once by its `NLMSG_DONE` in a second:
/// the kernel queues that while the first is read, so one call gets both.
const RECV_PARTS: usize = 2;
/// Socket buffer sizes asked for (batches queue many replies).
const SOCK_BUF: i32 = 8 * 1024 * 1024;

/// One netlink socket with its sequence numbers.
pub(crate) struct Transport {
    sock: NlSocket,
    pid: u32,
    seq: u32,
    /// `RECV_PARTS` receive buffers of `RECV_BUF` bytes, one after the other.
    rbuf: Vec<u8>,
    /// A datagram received but not handed out yet (the second of a call).
    pending: Option<Result<Range<usize>>>,
    timeout: Duration,
}

fn setsockopt_int(fd: i32, opt: i32, val: i32) -> std::io::Result<()> {
    // SAFETY: setsockopt with a pointer to a live c_int and its size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            (&val as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

impl Transport {
    /// Opens a socket of `protocol` in `ns` and binds it.
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
            if setsockopt_int(raw, force, SOCK_BUF).is_err() {
                let _ = setsockopt_int(raw, plain, SOCK_BUF);
            }
        }
        // NETLINK_EXT_ACK lets newer kernels add a message to errors; harmless if refused.
        let _ = sock.enable_ext_ack(true);
        // NETLINK_CAP_ACK: error replies echo only the request's header, not its
        // payload, so a batch's error replies stay small in the receive buffer.
        let one: libc::c_int = 1;
        // SAFETY: setsockopt with a pointer to a live c_int and its size.
        let _ = unsafe {
            libc::setsockopt(
                raw,
                libc::SOL_NETLINK,
                libc::NETLINK_CAP_ACK,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        let pid = sock.pid().map_err(|e| Error::io(ctx(), e))?;
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(1);
        let mut t = Transport {
            sock,
            pid,
            seq: seed | 1,
            rbuf: vec![0; RECV_BUF * RECV_PARTS],
            pending: None,
            timeout: DEFAULT_TIMEOUT,
        };
        t.set_timeout(DEFAULT_TIMEOUT)?;
        Ok(t)
    }

    /// Bounds every wait for a reply.
    pub(crate) fn set_timeout(&mut self, timeout: Duration) -> Result<()> {
        let tv = libc::timeval {
            tv_sec: timeout.as_secs().min(i64::MAX as u64) as libc::time_t,
            tv_usec: libc::suseconds_t::from(timeout.subsec_micros() as i32),
        };
        // SAFETY: setsockopt with a pointer to a live timeval and its size.
        let r = unsafe {
            libc::setsockopt(
                self.sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(Error::io(
                "setting the netlink receive timeout",
                std::io::Error::last_os_error(),
            ));
        }
        self.timeout = timeout;
        Ok(())
    }

    /// Sets the receive buffer size (`SO_RCVBUFFORCE`, or `SO_RCVBUF` when not privileged).
    pub(crate) fn set_receive_buffer(&self, bytes: usize) -> Result<()> {
        let v = i32::try_from(bytes).unwrap_or(i32::MAX);
        let raw = self.sock.as_raw_fd();
        setsockopt_int(raw, libc::SO_RCVBUFFORCE, v)
            .or_else(|_| setsockopt_int(raw, libc::SO_RCVBUF, v))
            .map_err(|e| Error::io("setting the netlink receive buffer", e))
    }

    /// The next sequence number [`Transport::next_seq`] will hand out.
    pub(crate) fn peek_seq(&self) -> u32 {
        match self.seq.wrapping_add(1) {
            0 => 1,
            s => s,
        }
    }

    /// The socket's port id.
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// A fresh sequence number (never 0).
    pub(crate) fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        if self.seq == 0 {
            self.seq = 1;
        }
        self.seq
    }

    /// Reserves `n` consecutive sequence numbers (none of them 0); returns the first.
    pub(crate) fn reserve_seqs(&mut self, n: u32) -> u32 {
        if self.seq.checked_add(n).is_none() {
            self.seq = 0;
        }
        let first = self.seq + 1;
        self.seq += n;
        first
    }

    /// Sends one buffer holding one or more complete messages.
    pub(crate) fn send(&self, buf: &[u8]) -> Result<()> {
        let mut off = 0;
        while off < buf.len() {
            match self.sock.send(&buf[off..], Msg::empty()) {
                Ok(n) => off += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io("sending a netlink request", e)),
            }
            if off < buf.len() {
                // netlink datagrams are sent whole or not at all
                return Err(Error::io(
                    "sending a netlink request",
                    std::io::Error::other("short send"),
                ));
            }
        }
        Ok(())
    }

    /// Receives one datagram from the kernel; datagrams from any other sender
    /// are dropped. Returns where it lies in the receive buffer (see
    /// [`Transport::received`]), valid until the next call.
    ///
    /// One system call (`recvmmsg`) takes up to [`RECV_PARTS`] datagrams that
    /// are already queued; the ones after the first are handed out by the
    /// following calls without a system call.
    pub(crate) fn recv(&mut self) -> Result<Range<usize>> {
        if let Some(next) = self.pending.take() {
            return next;
        }
        loop {
            // SAFETY: zeroed sockaddr_nl, iovec and mmsghdr are valid values;
            // every pointer is set below before use.
            let mut addrs: [libc::sockaddr_nl; RECV_PARTS] = unsafe { std::mem::zeroed() };
            let mut iovs: [libc::iovec; RECV_PARTS] = unsafe { std::mem::zeroed() };
            let mut hdrs: [libc::mmsghdr; RECV_PARTS] = unsafe { std::mem::zeroed() };
            for (i, part) in self
                .rbuf
                .chunks_exact_mut(RECV_BUF)
                .enumerate()
                .take(RECV_PARTS)
            {
                iovs[i] = libc::iovec {
                    iov_base: part.as_mut_ptr().cast(),
                    iov_len: RECV_BUF,
                };
            }
            for i in 0..RECV_PARTS {
                hdrs[i].msg_hdr.msg_name = (&mut addrs[i] as *mut libc::sockaddr_nl).cast();
                hdrs[i].msg_hdr.msg_namelen =
                    std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
                hdrs[i].msg_hdr.msg_iov = &mut iovs[i];
                hdrs[i].msg_hdr.msg_iovlen = 1;
            }
            // SAFETY: RECV_PARTS headers, each pointing at its own live address
            // and at its own RECV_BUF-byte part of rbuf; no timeout pointer.
            let got = unsafe {
                libc::recvmmsg(
                    self.sock.as_raw_fd(),
                    hdrs.as_mut_ptr(),
                    RECV_PARTS as libc::c_uint,
                    libc::MSG_TRUNC | libc::MSG_WAITFORONE,
                    std::ptr::null_mut(),
                )
            };
            if got < 0 {
                let e = std::io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    Some(libc::EAGAIN) => {
                        return Err(Error::Timeout { context: "waiting for a netlink reply".into(), after: self.timeout })
                    }
                    Some(libc::ENOBUFS) => {
                        return Err(Error::io(
                            "receiving netlink replies: the socket's receive buffer overflowed and replies were dropped",
                            e,
                        ))
                    }
                    _ => return Err(Error::io("receiving a netlink reply", e)),
                }
            }
            // a datagram not from the kernel is forged or misdirected, never trusted
            let mut parts = (0..(got as usize).min(RECV_PARTS))
                .filter(|&i| addrs[i].nl_pid == 0)
                .map(|i| {
                    let n = hdrs[i].msg_len as usize;
                    if n > RECV_BUF || hdrs[i].msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                        Err(Error::protocol(
                            "receiving a netlink reply",
                            format!("reply of {n} bytes truncated to the {RECV_BUF}-byte buffer"),
                        ))
                    } else {
                        Ok(i * RECV_BUF..i * RECV_BUF + n)
                    }
                });
            let Some(first) = parts.next() else {
                continue;
            };
            self.pending = parts.next();
            return first;
        }
    }

    /// Sends `msg` (one request with sequence number `seq`) and collects the
    /// replies: `on_msg` sees every data message; the exchange ends at the
    /// acknowledgement (requests) or at `NLMSG_DONE` (dumps).
    pub(crate) fn exchange(
        &mut self,
        msg: &[u8],
        seq: u32,
        dump: bool,
        mut on_msg: impl FnMut(&MsgHeader, &[u8]) -> Result<()>,
    ) -> Result<(), Failure> {
        self.send(msg)?;
        loop {
            let part = self.recv()?;
            let data = std::mem::take(&mut self.rbuf);
            let res = Self::walk(&data[part], seq, dump, self.pid, &mut on_msg);
            self.rbuf = data;
            if let Some(done) = res? {
                return done;
            }
        }
    }

    /// Walks one datagram; `Some(result)` when the exchange is finished.
    #[allow(clippy::type_complexity)]
    fn walk(
        data: &[u8],
        seq: u32,
        dump: bool,
        pid: u32,
        on_msg: &mut impl FnMut(&MsgHeader, &[u8]) -> Result<()>,
    ) -> Result<Option<Result<(), Failure>>, Failure> {
        for m in Messages::new(data) {
            let (h, payload) = m?;
            if h.seq != seq || (h.pid != pid && h.pid != 0) {
                continue; // a stale reply to an earlier, abandoned request
            }
            if h.flags & nla::NLM_F_DUMP_INTR != 0 {
                return Err(Failure::Local(Error::protocol(
                    "reading a dump",
                    "the kernel reported the dump as interrupted (NLM_F_DUMP_INTR); retry",
                )));
            }
            match h.ty {
                nla::NLMSG_ERROR => {
                    let code = nla::get_u32("error code", payload)? as i32;
                    return Ok(Some(if code == 0 {
                        Ok(())
                    } else {
                        Err(Failure::Kernel(code.saturating_neg()))
                    }));
                }
                nla::NLMSG_DONE => {
                    let code = payload
                        .get(..4)
                        .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                        .unwrap_or(0);
                    return Ok(Some(if code < 0 {
                        Err(Failure::Kernel(-code))
                    } else {
                        Ok(())
                    }));
                }
                nla::NLMSG_OVERRUN => {
                    return Err(Failure::Local(Error::protocol(
                        "reading a netlink reply",
                        "overrun",
                    )));
                }
                _ => {
                    on_msg(&h, payload)?;
                    if !dump && h.flags & nla::NLM_F_MULTI == 0 {
                        // a do-request's reply: the ACK follows (we always ask for one)
                    }
                }
            }
        }
        Ok(None)
    }

    /// Raw access for pipelined batches: a datagram [`Transport::recv`] returned.
    pub(crate) fn received(&self, part: Range<usize>) -> &[u8] {
        &self.rbuf[part]
    }
}
