//! The session over a netlink socket: sending requests and collecting the
//! kernel's replies.
//!
//! Every reply is checked: it must come from the kernel (sender port id 0),
//! carry one of our sequence numbers, fit the receive buffer (no truncation)
//! and, for dumps, not be interrupted. Waits are bounded by a receive timeout.
//! The socket itself is behind [`crate::socket::NetlinkSocket`], so host tests
//! run all of this against a scripted kernel.

use std::io::Cursor;
use std::ops::Range;
use std::time::Duration;

use neli::consts::genl::{CtrlAttr, CtrlCmd};
use neli::consts::nl::{GenlId, NlmF};
use neli::genl::{AttrTypeBuilder, Genlmsghdr, GenlmsghdrBuilder, NlattrBuilder};
use neli::nl::{NlPayload, NlmsghdrBuilder};
use neli::types::GenlBuffer;
use neli::{FromBytesWithInput, ToBytes};

use crate::codec::nla::{self, Messages, MsgHeader};
use crate::error::{Error, Result};
use crate::netns::Namespace;
use crate::op::{kernel_error, OpKind};
use crate::socket::{KernelSocket, NetlinkSocket, Received};

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

/// The socket a transport talks through: an enum rather than a trait
/// object, so that with the `test-kernel` feature off it has one variant and
/// the kernel path has neither boxing nor dynamic dispatch.
pub(crate) enum Socket {
    /// A real netlink socket.
    Kernel(KernelSocket),
    /// A scripted kernel (host tests only).
    #[cfg(feature = "test-kernel")]
    Scripted(crate::testing::ScriptedKernel),
}

impl NetlinkSocket for Socket {
    #[inline]
    fn port_id(&self) -> u32 {
        match self {
            Socket::Kernel(s) => s.port_id(),
            #[cfg(feature = "test-kernel")]
            Socket::Scripted(s) => s.port_id(),
        }
    }

    #[inline]
    fn send(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Socket::Kernel(s) => s.send(buf),
            #[cfg(feature = "test-kernel")]
            Socket::Scripted(s) => s.send(buf),
        }
    }

    #[inline]
    fn recv(
        &mut self,
        buf: &mut [u8],
        part: usize,
        got: &mut [Received],
    ) -> std::io::Result<usize> {
        match self {
            Socket::Kernel(s) => s.recv(buf, part, got),
            #[cfg(feature = "test-kernel")]
            Socket::Scripted(s) => s.recv(buf, part, got),
        }
    }

    fn set_timeout(&mut self, timeout: Duration) -> std::io::Result<()> {
        match self {
            Socket::Kernel(s) => s.set_timeout(timeout),
            #[cfg(feature = "test-kernel")]
            Socket::Scripted(s) => s.set_timeout(timeout),
        }
    }

    fn set_receive_buffer(&mut self, bytes: usize) -> std::io::Result<()> {
        match self {
            Socket::Kernel(s) => s.set_receive_buffer(bytes),
            #[cfg(feature = "test-kernel")]
            Socket::Scripted(s) => s.set_receive_buffer(bytes),
        }
    }

    #[cfg(feature = "tokio")]
    fn set_nonblocking(&mut self) -> std::io::Result<()> {
        match self {
            Socket::Kernel(s) => s.set_nonblocking(),
            #[cfg(feature = "test-kernel")]
            Socket::Scripted(s) => s.set_nonblocking(),
        }
    }

    #[cfg(feature = "tokio")]
    fn readiness_fd(&self) -> std::os::fd::RawFd {
        match self {
            Socket::Kernel(s) => s.readiness_fd(),
            #[cfg(feature = "test-kernel")]
            Socket::Scripted(s) => s.readiness_fd(),
        }
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

/// One netlink socket with its sequence numbers.
pub(crate) struct Transport {
    sock: Socket,
    pid: u32,
    seq: u32,
    /// `RECV_PARTS` receive buffers of `RECV_BUF` bytes, one after the other.
    rbuf: Vec<u8>,
    /// A datagram received but not handed out yet (the second of a call).
    pending: Option<Result<Range<usize>>>,
    timeout: Duration,
}

impl Transport {
    /// Opens a socket of `protocol` in `ns` and binds it.
    ///
    /// # Errors
    /// [`Error::Io`] when the namespace or the socket cannot be opened.
    pub(crate) fn open(ns: &Namespace, protocol: i32) -> Result<Self> {
        Self::over(Socket::Kernel(KernelSocket::open(ns, protocol)?))
    }

    /// A transport over `sock`, with the default timeout set.
    ///
    /// # Errors
    /// [`Error::Io`] when the timeout cannot be set.
    pub(crate) fn over(sock: Socket) -> Result<Self> {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(1);
        let mut t = Transport {
            pid: sock.port_id(),
            sock,
            seq: seed | 1,
            rbuf: vec![0; RECV_BUF * RECV_PARTS],
            pending: None,
            timeout: DEFAULT_TIMEOUT,
        };
        t.set_timeout(DEFAULT_TIMEOUT)?;
        Ok(t)
    }

    /// Bounds every wait for a reply.
    ///
    /// # Errors
    /// [`Error::Io`] if the socket option cannot be set.
    pub(crate) fn set_timeout(&mut self, timeout: Duration) -> Result<()> {
        self.sock
            .set_timeout(timeout)
            .map_err(|e| Error::io("setting the netlink receive timeout", e))?;
        self.timeout = timeout;
        Ok(())
    }

    /// Sets the receive buffer size (`SO_RCVBUFFORCE`, or `SO_RCVBUF` when not privileged).
    ///
    /// # Errors
    /// [`Error::Io`] if the socket option cannot be set.
    pub(crate) fn set_receive_buffer(&mut self, bytes: usize) -> Result<()> {
        self.sock
            .set_receive_buffer(bytes)
            .map_err(|e| Error::io("setting the netlink receive buffer", e))
    }

    /// Makes every receive call return at once (`EAGAIN` when nothing is
    /// queued): the async handle waits for readiness instead.
    ///
    /// # Errors
    /// [`Error::Io`] if the socket cannot be made non-blocking.
    #[cfg(feature = "tokio")]
    pub(crate) fn set_nonblocking(&mut self) -> Result<()> {
        self.sock
            .set_nonblocking()
            .map_err(|e| Error::io("making the netlink socket non-blocking", e))
    }

    /// The descriptor that becomes readable when a datagram is queued.
    #[cfg(feature = "tokio")]
    pub(crate) fn readiness_fd(&self) -> std::os::fd::RawFd {
        self.sock.readiness_fd()
    }

    /// The next sequence number [`Transport::next_seq`] will hand out.
    #[cfg(feature = "test-kernel")]
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
    ///
    /// # Errors
    /// [`Error::Io`] when the system call fails or takes less than the whole buffer.
    pub(crate) fn send(&mut self, buf: &[u8]) -> Result<()> {
        loop {
            match self.sock.send(buf) {
                Ok(n) if n == buf.len() => return Ok(()),
                // netlink datagrams are sent whole or not at all
                Ok(_) => {
                    return Err(Error::io(
                        "sending a netlink request",
                        std::io::Error::other("short send"),
                    ))
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io("sending a netlink request", e)),
            }
        }
    }

    /// Receives one datagram from the kernel; datagrams from any other sender
    /// are dropped. Returns where it lies in the receive buffer (see
    /// [`Transport::received`]), valid until the next call.
    ///
    /// One system call takes up to [`RECV_PARTS`] datagrams that are already
    /// queued; the ones after the first are handed out by the following calls
    /// without a system call.
    ///
    /// # Errors
    /// [`Error::Timeout`] when nothing came in time, [`Error::Io`] (`ENOBUFS`
    /// when replies were dropped), [`Error::Protocol`] for a truncated datagram.
    pub(crate) fn recv(&mut self) -> Result<Range<usize>> {
        match self.try_recv()? {
            Some(part) => Ok(part),
            None => Err(Error::Timeout {
                context: "waiting for a netlink reply".into(),
                after: self.timeout,
            }),
        }
    }

    /// As [`Transport::recv`], but `None` where the socket had nothing
    /// (`EAGAIN`): the receive timeout of a blocking socket expired, or a
    /// non-blocking socket (the async handle's) has nothing queued yet. The
    /// same checks: sender port 0, no truncation.
    ///
    /// # Errors
    /// As [`Transport::recv`], except the timeout.
    pub(crate) fn try_recv(&mut self) -> Result<Option<Range<usize>>> {
        if let Some(next) = self.pending.take() {
            return next.map(Some);
        }
        loop {
            let mut got = [Received::default(); RECV_PARTS];
            let n = match self.sock.recv(&mut self.rbuf, RECV_BUF, &mut got) {
                Ok(n) => n.min(RECV_PARTS),
                Err(e) => match e.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    Some(libc::EAGAIN) => return Ok(None),
                    _ => return Err(self.recv_error(e)),
                },
            };
            // a datagram not from the kernel is forged or misdirected, never trusted
            let mut parts = got[..n]
                .iter()
                .enumerate()
                .filter(|(_, r)| r.sender == 0)
                .map(|(i, r)| {
                    if r.len > RECV_BUF || r.truncated {
                        Err(Error::protocol(
                            "receiving a netlink reply",
                            format!(
                                "reply of {} bytes truncated to the {RECV_BUF}-byte buffer",
                                r.len
                            ),
                        ))
                    } else {
                        Ok(i * RECV_BUF..i * RECV_BUF + r.len)
                    }
                });
            let Some(first) = parts.next() else {
                continue;
            };
            self.pending = parts.next();
            return first.map(Some);
        }
    }

    /// The typed error of a failed receive call.
    fn recv_error(&self, e: std::io::Error) -> Error {
        match e.raw_os_error() {
            Some(libc::ENOBUFS) => Error::io(
                "receiving netlink replies: the socket's receive buffer overflowed and replies were dropped",
                e,
            ),
            _ => Error::io("receiving a netlink reply", e),
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
        _dump: bool,
        pid: u32,
        on_msg: &mut impl FnMut(&MsgHeader, &[u8]) -> Result<()>,
    ) -> Result<Option<Result<(), Failure>>, Failure> {
        for m in Messages::new(data) {
            let (h, payload) = m?;
            if h.seq != seq || !addressed_to(&h, pid) {
                continue; // a stale reply to an earlier, abandoned request
            }
            match reply_end(&h, payload)? {
                Some(end) => return Ok(Some(end)),
                None => on_msg(&h, payload)?,
            }
        }
        Ok(None)
    }

    /// Raw access for pipelined batches: a datagram [`Transport::recv`] returned.
    pub(crate) fn received(&self, part: Range<usize>) -> &[u8] {
        &self.rbuf[part]
    }
}

/// True when a reply is addressed to the socket with port id `pid` (the
/// kernel echoes the request's port id, or 0).
#[inline]
pub(crate) fn addressed_to(h: &MsgHeader, pid: u32) -> bool {
    h.pid == pid || h.pid == 0
}

/// What one reply message means for its request: `Ok(None)` for a data
/// message, `Ok(Some(end))` when it ends the exchange (the acknowledgement or
/// error of `NLMSG_ERROR`, the `NLMSG_DONE` of a dump, with the kernel's
/// errno), and an error for an interrupted dump (`NLM_F_DUMP_INTR`), an
/// overrun or a malformed error message. The one reading of replies, for the
/// blocking and the async handle alike.
///
/// # Errors
/// [`Failure::Local`] with [`Error::Protocol`] as said.
#[allow(clippy::type_complexity)]
pub(crate) fn reply_end(
    h: &MsgHeader,
    payload: &[u8],
) -> Result<Option<Result<(), Failure>>, Failure> {
    if h.flags & nla::NLM_F_DUMP_INTR != 0 {
        return Err(Failure::Local(Error::protocol(
            "reading a dump",
            "the kernel reported the dump as interrupted (NLM_F_DUMP_INTR); retry",
        )));
    }
    match h.ty {
        nla::NLMSG_ERROR => {
            let code = nla::get_u32("error code", payload)? as i32;
            Ok(Some(if code == 0 {
                Ok(())
            } else {
                Err(Failure::Kernel(code.saturating_neg()))
            }))
        }
        nla::NLMSG_DONE => {
            let code = payload
                .get(..4)
                .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                .unwrap_or(0);
            Ok(Some(if code < 0 {
                Err(Failure::Kernel(-code))
            } else {
                Ok(())
            }))
        }
        nla::NLMSG_OVERRUN => Err(Failure::Local(Error::protocol(
            "reading a netlink reply",
            "overrun",
        ))),
        _ => Ok(None),
    }
}

/// Resolves a generic netlink family name to its id with neli's controller messages.
///
/// # Errors
/// [`Error::ModuleMissing`] (module `ip_vs`) when the family is not
/// registered; transport errors.
pub(crate) fn resolve_family(t: &mut Transport, name: &str) -> Result<u16> {
    let ctx = || format!("resolving the generic netlink family {name:?}");
    let seq = t.next_seq();
    let build = || -> std::result::Result<Vec<u8>, String> {
        let attr = NlattrBuilder::default()
            .nla_type(
                AttrTypeBuilder::default()
                    .nla_type(CtrlAttr::FamilyName)
                    .build()
                    .map_err(|e| e.to_string())?,
            )
            .nla_payload(name)
            .build()
            .map_err(|e| e.to_string())?;
        let genl = GenlmsghdrBuilder::<CtrlCmd, CtrlAttr>::default()
            .cmd(CtrlCmd::Getfamily)
            .version(2)
            .attrs(std::iter::once(attr).collect::<GenlBuffer<_, _>>())
            .build()
            .map_err(|e| e.to_string())?;
        let msg = NlmsghdrBuilder::default()
            .nl_type(GenlId::Ctrl)
            .nl_flags(NlmF::REQUEST | NlmF::ACK)
            .nl_seq(seq)
            .nl_payload(NlPayload::Payload(genl))
            .build()
            .map_err(|e| e.to_string())?;
        let mut cur = Cursor::new(Vec::new());
        msg.to_bytes(&mut cur).map_err(|e| e.to_string())?;
        Ok(cur.into_inner())
    };
    let msg = build().map_err(|e| Error::invalid_input(ctx(), e))?;
    let mut id = None;
    t.exchange(&msg, seq, false, |h, payload| {
        if h.ty != u16::from(GenlId::Ctrl) {
            return Ok(());
        }
        let mut cur = Cursor::new(payload);
        let g = Genlmsghdr::<CtrlCmd, CtrlAttr>::from_bytes_with_input(&mut cur, payload.len())
            .map_err(|e| Error::protocol(ctx(), e.to_string()))?;
        let handle = g.attrs().get_attr_handle();
        if let Ok(v) = handle.get_attr_payload_as::<u16>(CtrlAttr::FamilyId) {
            id = Some(v);
        }
        Ok(())
    })
    .map_err(|f| {
        f.into_error(ctx, |context, errno| {
            kernel_error(OpKind::ResolveFamily, context, errno, None)
        })
    })?;
    match id {
        Some(id) if id != 0 => Ok(id),
        _ => Err(Error::protocol(
            ctx(),
            "the controller's reply has no family id",
        )),
    }
}
