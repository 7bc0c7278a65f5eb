//! A scripted kernel for host tests of the protocol (`test-kernel` feature).
//!
//! This module is a test utility, outside the stable API: it exists so that
//! tests (and fuzz targets) can drive the real [`crate::Ipvs`] code paths
//! (sequence numbers, sender checks, acknowledgements, dumps, pipelined
//! batches, error attribution) without an IPVS kernel. A [`ScriptedKernel`]
//! takes the place of the netlink socket under a handle
//! ([`crate::Ipvs::with_kernel`]): every request the handle sends is
//! handed to a script, which queues what the handle will receive: replies
//! built from the [`Request`] (acknowledgements, errors, data messages such
//! as golden captures, `NLMSG_DONE`), datagrams from other ports, truncated
//! datagrams, or a receive that fails (`ENOBUFS`). When nothing is queued,
//! the receive times out, as a silent kernel's does.
//!
//! For the async handle (`lvskit::aio`, feature `tokio`) the scripted kernel
//! also signals readiness (an eventfd that polls readable while replies are
//! queued), and a test may answer requests later and in any order with
//! [`ScriptedKernel::answer`]: a script that queues nothing holds a request;
//! a request never answered is a silent kernel.
//!
//! The generic netlink family lookup a handle makes when it opens is answered
//! by the scripted kernel itself ([`FAMILY_ID`], whatever the family's name);
//! the script sees every other request.
//!
//! The same kernel serves the async tunnel handles: a generic netlink FOU
//! handle ([`crate::aio::Fou::with_kernel`]: its family lookup gets
//! [`FAMILY_ID`] too, and its requests come as [`Request`]s with the FOU
//! command) and an rtnetlink handle ([`crate::aio::Rtnl::with_kernel`]: its
//! requests come with their message type in [`Request::ty`] and their
//! `ifinfomsg`/`ifaddrmsg` and attributes in [`Request::payload`], answered
//! with [`Request::data`]).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::codec::nla::{self, Messages};
use crate::socket::{NetlinkSocket, Received};

/// The family id a scripted kernel answers to every generic netlink family
/// lookup (IPVS, FOU).
pub const FAMILY_ID: u16 = 0x2a;
/// The port id of a scripted kernel's socket.
pub const PORT_ID: u32 = 0x1234;
/// `GENL_ID_CTRL`, the generic netlink controller's message type.
const GENL_ID_CTRL: u16 = 0x10;
/// `CTRL_CMD_NEWFAMILY`, `CTRL_ATTR_FAMILY_ID`.
const CTRL_CMD_NEWFAMILY: u8 = 1;
const CTRL_ATTR_FAMILY_ID: u16 = 1;

/// One request as the scripted kernel received it (IPVS or FOU generic
/// netlink, or rtnetlink).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Its position among the requests received so far (from 0).
    pub index: usize,
    /// Which send call (from 0) carried it: a pipelined chunk is one send.
    pub send: usize,
    /// `nlmsg_type`: [`FAMILY_ID`] for a generic netlink request, the
    /// `RTM_*` type (`lvskit::raw::rtnl::rtm`) for an rtnetlink one.
    pub ty: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// The generic netlink command (`lvskit::raw::ipvs::cmd`,
    /// `lvskit::tunnel::fou::cmd`); for rtnetlink, the payload's first byte.
    pub command: u8,
    /// The attributes after the generic netlink header (for rtnetlink, the
    /// payload after its first 4 bytes: use [`Request::payload`]).
    pub attrs: Vec<u8>,
    /// The whole payload after the netlink header (for rtnetlink, the
    /// `ifinfomsg` or `ifaddrmsg` and its attributes).
    pub payload: Vec<u8>,
}

impl Request {
    /// True when the request asks for an acknowledgement (`NLM_F_ACK`).
    pub fn wants_ack(&self) -> bool {
        self.flags & nla::NLM_F_ACK != 0
    }

    /// True for a dump request (`NLM_F_DUMP`).
    pub fn is_dump(&self) -> bool {
        self.flags & nla::NLM_F_DUMP == nla::NLM_F_DUMP
    }

    /// The acknowledgement of this request (`NLMSG_ERROR` with code 0).
    pub fn ack(&self) -> Vec<u8> {
        self.error(0)
    }

    /// The error reply to this request: `NLMSG_ERROR` with `-errno`, echoing
    /// the request's header (`NETLINK_CAP_ACK`).
    pub fn error(&self, errno: i32) -> Vec<u8> {
        let mut payload = errno.saturating_neg().to_ne_bytes().to_vec();
        payload.extend_from_slice(&self.header());
        message(nla::NLMSG_ERROR, 0, self.seq, &payload)
    }

    /// A data message answering this request: the IPVS family's type, the
    /// generic netlink header with `command`, then `attrs` (for example a
    /// golden capture); `NLM_F_MULTI` for a dump.
    pub fn reply(&self, command: u8, attrs: &[u8]) -> Vec<u8> {
        let flags = if self.is_dump() { nla::NLM_F_MULTI } else { 0 };
        let mut payload = vec![command, 1, 0, 0];
        payload.extend_from_slice(attrs);
        message(FAMILY_ID, flags, self.seq, &payload)
    }

    /// A data message of type `ty` answering this request, `payload` as it
    /// is (an rtnetlink `RTM_NEWLINK` with its `ifinfomsg` and attributes,
    /// say); `NLM_F_MULTI` for a dump.
    pub fn data(&self, ty: u16, payload: &[u8]) -> Vec<u8> {
        let flags = if self.is_dump() { nla::NLM_F_MULTI } else { 0 };
        message(ty, flags, self.seq, payload)
    }

    /// The end of this request's dump (`NLMSG_DONE`, code 0).
    pub fn done(&self) -> Vec<u8> {
        message(
            nla::NLMSG_DONE,
            nla::NLM_F_MULTI,
            self.seq,
            &0i32.to_ne_bytes(),
        )
    }

    /// This request's own header, as an error reply echoes it.
    fn header(&self) -> [u8; nla::NLMSG_HDRLEN] {
        let mut h = [0u8; nla::NLMSG_HDRLEN];
        let len = (nla::NLMSG_HDRLEN + self.payload.len()) as u32;
        h[..4].copy_from_slice(&len.to_ne_bytes());
        h[4..6].copy_from_slice(&self.ty.to_ne_bytes());
        h[6..8].copy_from_slice(&self.flags.to_ne_bytes());
        h[8..12].copy_from_slice(&self.seq.to_ne_bytes());
        h[12..16].copy_from_slice(&PORT_ID.to_ne_bytes());
        h
    }
}

/// One netlink message addressed to the scripted kernel's socket: a header
/// (`ty`, `flags`, `seq`, port id [`PORT_ID`]) and `payload`, padded to 4 bytes.
pub fn message(ty: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let len = nla::NLMSG_HDRLEN + payload.len();
    let mut m = Vec::with_capacity(nla::align(len));
    m.extend_from_slice(&(len as u32).to_ne_bytes());
    m.extend_from_slice(&ty.to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&PORT_ID.to_ne_bytes());
    m.extend_from_slice(payload);
    m.resize(nla::align(len), 0);
    m
}

/// What the handle's next receive call gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A datagram.
    Datagram {
        /// The sender's port id (0: the kernel).
        sender: u32,
        /// The datagram's bytes (one or more messages).
        bytes: Vec<u8>,
        /// Reported as not fitting the receive buffer (`MSG_TRUNC`).
        truncated: bool,
    },
    /// The receive call fails with this errno (e.g. `ENOBUFS`).
    Fail(i32),
}

/// What a script queues for the handle to receive.
#[derive(Debug, Default)]
pub struct Replies {
    queue: VecDeque<Incoming>,
}

impl Replies {
    /// Queues one datagram from the kernel holding `messages`, one after the other.
    pub fn send(&mut self, messages: &[Vec<u8>]) {
        self.from_port(0, messages);
    }

    /// Queues one datagram holding `messages` from port `sender` (not the
    /// kernel when not 0: a forged or misdirected datagram).
    pub fn from_port(&mut self, sender: u32, messages: &[Vec<u8>]) {
        self.queue.push_back(Incoming::Datagram {
            sender,
            bytes: messages.concat(),
            truncated: false,
        });
    }

    /// Queues one datagram from the kernel reported truncated (`MSG_TRUNC`).
    pub fn truncated(&mut self, messages: &[Vec<u8>]) {
        self.queue.push_back(Incoming::Datagram {
            sender: 0,
            bytes: messages.concat(),
            truncated: true,
        });
    }

    /// Makes a receive call fail with `errno` (e.g. `libc::ENOBUFS`).
    pub fn fail(&mut self, errno: i32) {
        self.queue.push_back(Incoming::Fail(errno));
    }

    /// Queues anything.
    pub fn push(&mut self, incoming: Incoming) {
        self.queue.push_back(incoming);
    }

    /// What an obedient kernel answers to a request that succeeds: `NLMSG_DONE`
    /// to a dump, an acknowledgement when one is asked for, else nothing.
    pub fn obey(&mut self, req: &Request) {
        if req.is_dump() {
            self.send(&[req.done()]);
        } else if req.wants_ack() {
            self.send(&[req.ack()]);
        }
    }

    /// What a kernel answers to a request that fails with `errno`: an error
    /// reply, whether or not an acknowledgement was asked for.
    pub fn refuse(&mut self, req: &Request, errno: i32) {
        self.send(&[req.error(errno)]);
    }
}

type Script = Box<dyn FnMut(&Request, &mut Replies) + Send>;

struct State {
    script: Script,
    replies: Replies,
    requests: Vec<Request>,
    sends: usize,
    /// Receive calls, and those that found nothing queued.
    receives: (usize, usize),
    failing_sends: Vec<(usize, i32)>,
    family: Option<u16>,
    /// An rtnetlink socket: no family lookups (`RTM_NEWLINK` has the
    /// controller's message type).
    route: bool,
    timeout: Duration,
    /// Readable while replies are queued (the async handle's readiness).
    #[cfg(feature = "tokio")]
    ready: Option<std::os::fd::OwnedFd>,
}

/// A kernel played by a script, under a handle opened with
/// [`crate::Ipvs::with_kernel`]. Clones share the same state, so a test keeps
/// one to look at what was sent.
#[derive(Clone)]
pub struct ScriptedKernel {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for ScriptedKernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedKernel")
            .field("requests", &self.lock().requests.len())
            .finish_non_exhaustive()
    }
}

impl ScriptedKernel {
    /// A kernel that answers each request (IPVS, FOU, rtnetlink) with what `script` queues.
    pub fn new(script: impl FnMut(&Request, &mut Replies) + Send + 'static) -> Self {
        ScriptedKernel {
            state: Arc::new(Mutex::new(State {
                script: Box::new(script),
                replies: Replies::default(),
                requests: Vec::new(),
                sends: 0,
                receives: (0, 0),
                failing_sends: Vec::new(),
                family: Some(FAMILY_ID),
                route: false,
                timeout: Duration::ZERO,
                #[cfg(feature = "tokio")]
                ready: None,
            })),
        }
    }

    /// A kernel that accepts everything ([`Replies::obey`]).
    pub fn obedient() -> Self {
        Self::new(|req, out| out.obey(req))
    }

    /// A kernel without IPVS: the family lookup fails with `ENOENT`.
    pub fn without_ipvs(self) -> Self {
        self.lock().family = None;
        self
    }

    /// Makes the `n`-th send call carrying requests (from 0) fail with
    /// `errno`; nothing of it reaches the script.
    pub fn fail_send(self, n: usize, errno: i32) -> Self {
        self.lock().failing_sends.push((n, errno));
        self
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.lock().requests.clone()
    }

    /// How many send calls carried requests so far.
    pub fn sends(&self) -> usize {
        self.lock().sends
    }

    /// How many receive calls the handle made so far, and how many of them
    /// found nothing queued (`EAGAIN`: a silent kernel, or a non-blocking
    /// read of an empty socket).
    pub fn receives(&self) -> (usize, usize) {
        self.lock().receives
    }

    /// Queues replies now, from outside the script: answers to requests the
    /// script held (queued nothing for), in any order, or anything else.
    pub fn answer(&self, f: impl FnOnce(&mut Replies)) {
        let mut st = self.lock();
        f(&mut st.replies);
        st.signal();
    }

    /// How many datagrams (or receive failures) are queued, not yet received.
    pub fn queued(&self) -> usize {
        self.lock().replies.queue.len()
    }

    /// The receive timeout the handle set last.
    pub fn timeout(&self) -> Duration {
        self.lock().timeout
    }

    /// Plays an rtnetlink kernel (under [`crate::aio::Rtnl::with_kernel`]):
    /// every message goes to the script, none is a family lookup.
    #[cfg(feature = "tokio")]
    pub(crate) fn set_route(&self) {
        self.lock().route = true;
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl State {
    /// Keeps the readiness eventfd readable exactly while replies are queued.
    fn signal(&mut self) {
        #[cfg(feature = "tokio")]
        if let Some(fd) = &self.ready {
            use std::os::fd::AsRawFd;
            let mut v = 1u64;
            let p = (&mut v as *mut u64).cast();
            // SAFETY: eventfd reads and writes of one u64 from/to a live value.
            let _ = unsafe {
                if self.replies.queue.is_empty() {
                    libc::read(fd.as_raw_fd(), p, 8)
                } else {
                    libc::write(fd.as_raw_fd(), p, 8)
                }
            };
        }
    }

    /// Answers the controller's family lookup, as the kernel does.
    fn lookup(&mut self, seq: u32) {
        let Some(id) = self.family else {
            let mut payload = (-libc::ENOENT).to_ne_bytes().to_vec();
            payload.extend_from_slice(&[0; nla::NLMSG_HDRLEN]);
            let err = message(nla::NLMSG_ERROR, 0, seq, &payload);
            self.replies.send(&[err]);
            return;
        };
        let mut payload = vec![CTRL_CMD_NEWFAMILY, 2, 0, 0];
        nla::put_u16(&mut payload, CTRL_ATTR_FAMILY_ID, id);
        let reply = message(GENL_ID_CTRL, 0, seq, &payload);
        let mut ack = 0i32.to_ne_bytes().to_vec();
        ack.extend_from_slice(&[0; nla::NLMSG_HDRLEN]);
        let ack = message(nla::NLMSG_ERROR, 0, seq, &ack);
        self.replies.send(&[reply, ack]);
    }

    /// Hands each request of one send call to the script.
    fn requests(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let send = self.sends;
        self.sends += 1;
        if let Some(&(_, errno)) = self.failing_sends.iter().find(|(n, _)| *n == send) {
            return Err(std::io::Error::from_raw_os_error(errno));
        }
        for m in Messages::new(buf) {
            let (h, payload) = m.map_err(|e| std::io::Error::other(e.to_string()))?;
            let (Some(&command), Some(attrs)) = (payload.first(), payload.get(nla::GENL_HDRLEN..))
            else {
                return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
            };
            let req = Request {
                index: self.requests.len(),
                send,
                ty: h.ty,
                flags: h.flags,
                seq: h.seq,
                command,
                attrs: attrs.to_vec(),
                payload: payload.to_vec(),
            };
            (self.script)(&req, &mut self.replies);
            self.requests.push(req);
        }
        Ok(())
    }
}

impl NetlinkSocket for ScriptedKernel {
    fn port_id(&self) -> u32 {
        PORT_ID
    }

    fn send(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut st = self.lock();
        match Messages::new(buf).next() {
            Some(Ok((h, _))) if h.ty == GENL_ID_CTRL && !st.route => st.lookup(h.seq),
            _ => st.requests(buf)?,
        }
        st.signal();
        Ok(buf.len())
    }

    fn recv(
        &mut self,
        buf: &mut [u8],
        part: usize,
        got: &mut [Received],
    ) -> std::io::Result<usize> {
        let mut st = self.lock();
        let r = st.receive(buf, part, got);
        st.receives.0 += 1;
        if matches!(&r, Err(e) if e.raw_os_error() == Some(libc::EAGAIN)) {
            st.receives.1 += 1;
        }
        st.signal();
        r
    }

    fn set_timeout(&mut self, timeout: Duration) -> std::io::Result<()> {
        self.lock().timeout = timeout;
        Ok(())
    }

    fn set_receive_buffer(&mut self, _bytes: usize) -> std::io::Result<()> {
        Ok(())
    }

    #[cfg(feature = "tokio")]
    fn set_nonblocking(&mut self) -> std::io::Result<()> {
        let mut st = self.lock();
        if st.ready.is_none() {
            // SAFETY: eventfd takes integer arguments; a negative result is an error.
            let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // SAFETY: a fresh descriptor that nothing else owns.
            st.ready =
                Some(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) });
        }
        st.signal();
        Ok(())
    }

    #[cfg(feature = "tokio")]
    fn readiness_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.lock().ready.as_ref().map_or(-1, |fd| fd.as_raw_fd())
    }
}

impl State {
    /// Hands out queued datagrams as one receive call.
    fn receive(
        &mut self,
        buf: &mut [u8],
        part: usize,
        got: &mut [Received],
    ) -> std::io::Result<usize> {
        let queue = &mut self.replies.queue;
        let mut n = 0;
        while n < got.len() && (n + 1) * part <= buf.len() {
            match queue.front() {
                None => break,
                Some(Incoming::Fail(errno)) if n == 0 => {
                    let e = std::io::Error::from_raw_os_error(*errno);
                    queue.pop_front();
                    return Err(e);
                }
                Some(Incoming::Fail(_)) => break,
                Some(Incoming::Datagram { .. }) => {}
            }
            let Some(Incoming::Datagram {
                sender,
                bytes,
                truncated,
            }) = queue.pop_front()
            else {
                break;
            };
            let take = bytes.len().min(part);
            buf[n * part..n * part + take].copy_from_slice(&bytes[..take]);
            got[n] = Received {
                len: bytes.len(),
                sender,
                truncated: truncated || bytes.len() > part,
            };
            n += 1;
        }
        if n == 0 {
            // a silent kernel: the receive timeout expires
            return Err(std::io::Error::from_raw_os_error(libc::EAGAIN));
        }
        Ok(n)
    }
}
