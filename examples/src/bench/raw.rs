//! The floor sender: a bare generic netlink socket that sends pre-encoded
//! requests in one `sendmsg` with one acknowledged barrier at the end, and a
//! lister that echoes each service's attributes back as a `GET_DEST` key
//! without decoding anything. Nothing can do the same work with fewer system
//! calls or less user-space work: it is the physical limit of the kernel API.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use lvskit::raw::ipvs as c;
use lvskit::raw::nla;
use lvskit::{Ipvs, Operation};

/// Appends one request's attributes.
type Body<'a> = Box<dyn FnOnce(&mut Vec<u8>) -> lvskit::Result<()> + 'a>;

use super::driver::{dump_request, service_nest, GET_DEST, GET_SERVICE};

/// A raw `NETLINK_GENERIC` socket bound to the IPVS family.
pub struct RawSock {
    fd: OwnedFd,
    family: u16,
    seq: u32,
    /// Two receive buffers of `PART` bytes (see `recv`).
    rbuf: Vec<u8>,
    /// The second datagram of the last `recvmmsg`, not handed out yet.
    pending: Option<std::ops::Range<usize>>,
    /// The send buffer size last set.
    sndbuf: usize,
    /// Attribute bytes of every dump reply so far (the scale rows' memory reference).
    pub dumped: usize,
}

/// Bytes per receive buffer.
const PART: usize = 1 << 20;

fn errno(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

fn set_int(fd: i32, opt: i32, v: i32) -> Result<(), String> {
    // SAFETY: setsockopt with a pointer to a live int and its size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            (&v as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(errno("setsockopt"));
    }
    Ok(())
}

impl RawSock {
    /// Opens the socket in the current namespace.
    pub fn open() -> Result<Self, String> {
        // resolve the family with the library (once, outside any timing)
        let family = Ipvs::new().map_err(|e| e.to_string())?.family_id();
        // SAFETY: plain socket(2) call; the fd is owned below.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_GENERIC,
            )
        };
        if fd < 0 {
            return Err(errno("socket"));
        }
        // SAFETY: fd is a fresh, valid descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: zeroed sockaddr_nl is valid; bind with its true size.
        let r = unsafe {
            let mut a: libc::sockaddr_nl = std::mem::zeroed();
            a.nl_family = libc::AF_NETLINK as u16;
            libc::bind(
                fd.as_raw_fd(),
                (&a as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(errno("bind"));
        }
        set_int(fd.as_raw_fd(), libc::SO_RCVBUFFORCE, 8 << 20)?;
        Ok(RawSock {
            fd,
            family,
            seq: 1,
            rbuf: vec![0; 2 * PART],
            pending: None,
            sndbuf: 0,
            dumped: 0,
        })
    }

    /// Encodes `ops` as one buffer; only the last asks for an acknowledgement.
    pub fn encode(&mut self, ops: &[Operation]) -> Result<Vec<u8>, String> {
        let mut buf = Vec::with_capacity(ops.len() * 96);
        for (n, op) in ops.iter().enumerate() {
            let flags = if n + 1 == ops.len() {
                nla::NLM_F_ACK
            } else {
                0
            };
            let seq = self.seq;
            self.seq = self.seq.wrapping_add(1);
            let (command, body): (u8, Body<'_>) = match op {
                Operation::AddService(s) => {
                    (c::cmd::NEW_SERVICE, Box::new(|b| c::put_service_nest(b, s)))
                }
                Operation::AddDestination(k, d) => (
                    c::cmd::NEW_DEST,
                    Box::new(|b| {
                        c::put_service_key_nest(b, k)?;
                        c::put_dest_nest(b, d, true)
                    }),
                ),
                Operation::UpdateDestination(k, d) => (
                    c::cmd::SET_DEST,
                    Box::new(|b| {
                        c::put_service_key_nest(b, k)?;
                        c::put_dest_nest(b, d, true)
                    }),
                ),
                Operation::DeleteService(k) => (
                    c::cmd::DEL_SERVICE,
                    Box::new(|b| c::put_service_key_nest(b, k)),
                ),
                _ => return Err("floor: unsupported operation".into()),
            };
            c::request(&mut buf, self.family, command, flags, seq, body)
                .map_err(|e| e.to_string())?;
        }
        Ok(buf)
    }

    /// One datagram, as a range of `rbuf`. Like the library, one `recvmmsg`
    /// takes up to two queued datagrams (a short dump and its `NLMSG_DONE`).
    fn recv(&mut self) -> Result<std::ops::Range<usize>, String> {
        if let Some(r) = self.pending.take() {
            return Ok(r);
        }
        loop {
            // SAFETY: zeroed iovec and mmsghdr are valid; pointers set below.
            let mut iovs: [libc::iovec; 2] = unsafe { std::mem::zeroed() };
            let mut hdrs: [libc::mmsghdr; 2] = unsafe { std::mem::zeroed() };
            for (i, part) in self.rbuf.chunks_exact_mut(PART).enumerate().take(2) {
                iovs[i] = libc::iovec {
                    iov_base: part.as_mut_ptr().cast(),
                    iov_len: PART,
                };
            }
            for i in 0..2 {
                hdrs[i].msg_hdr.msg_iov = &mut iovs[i];
                hdrs[i].msg_hdr.msg_iovlen = 1;
            }
            // SAFETY: two headers, each with its own live PART-byte buffer.
            let n = unsafe {
                libc::recvmmsg(
                    self.fd.as_raw_fd(),
                    hdrs.as_mut_ptr(),
                    2,
                    libc::MSG_WAITFORONE,
                    std::ptr::null_mut(),
                )
            };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(format!("recvmmsg: {e}"));
            }
            if n >= 2 {
                self.pending = Some(PART..PART + hdrs[1].msg_len as usize);
            }
            return Ok(0..hdrs[0].msg_len as usize);
        }
    }

    fn send(&mut self, buf: &[u8]) -> Result<(), String> {
        // one datagram: the socket's send buffer must hold all of it
        if buf.len() + (1 << 16) > self.sndbuf {
            self.sndbuf = (buf.len() + (1 << 16)).min(i32::MAX as usize);
            set_int(
                self.fd.as_raw_fd(),
                libc::SO_SNDBUFFORCE,
                self.sndbuf as i32,
            )?;
        }
        // SAFETY: send(2) of a live buffer with its true length.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(errno("send"));
        }
        if n as usize != buf.len() {
            return Err("short send".into());
        }
        Ok(())
    }

    /// Sends a pre-encoded batch in one `sendmsg` and waits for the barrier's
    /// acknowledgement; any error reply fails the run.
    pub fn send_batch(&mut self, buf: &[u8]) -> Result<(), String> {
        // the barrier is the last message's sequence number
        let mut last_seq = 0;
        for m in nla::Messages::new(buf) {
            let (h, _) = m.map_err(|e| e.to_string())?;
            last_seq = h.seq;
        }
        self.send(buf)?;
        let mut errors = 0usize;
        loop {
            let part = self.recv()?;
            let mut done = false;
            for m in nla::Messages::new(&self.rbuf[part]) {
                let (h, p) = m.map_err(|e| e.to_string())?;
                if h.ty == nla::NLMSG_ERROR {
                    let code = p
                        .get(..4)
                        .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                        .unwrap_or(-1);
                    if code != 0 {
                        errors += 1;
                    }
                    if h.seq == last_seq {
                        done = true;
                    }
                }
            }
            if done {
                break;
            }
        }
        if errors > 0 {
            return Err(format!("floor: {errors} requests failed"));
        }
        Ok(())
    }

    /// Reads the table like ipvsadm does (one service dump, then one
    /// destination dump per service) without decoding: returns the numbers
    /// of services and destinations.
    pub fn list_raw(&mut self) -> Result<(usize, usize), String> {
        let mut keys = Vec::new();
        let seq = self.next();
        let req = dump_request(self.family, GET_SERVICE, seq, &[])?;
        self.dump(&req, |a| {
            if let Some(k) = service_nest(a) {
                keys.push(k);
            }
        })?;
        let mut nd = 0;
        for k in &keys {
            let seq = self.next();
            let req = dump_request(self.family, GET_DEST, seq, k)?;
            self.dump(&req, |_| nd += 1)?;
        }
        Ok((keys.len(), nd))
    }

    fn next(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    fn dump(&mut self, req: &[u8], mut each: impl FnMut(&[u8])) -> Result<(), String> {
        self.send(req)?;
        let family = self.family;
        loop {
            let part = self.recv()?;
            for m in nla::Messages::new(&self.rbuf[part]) {
                let (h, p) = m.map_err(|e| e.to_string())?;
                match h.ty {
                    nla::NLMSG_DONE => return Ok(()),
                    nla::NLMSG_ERROR => return Err("floor: dump failed".into()),
                    t if t == family => {
                        let attrs = p.get(nla::GENL_HDRLEN..).unwrap_or(&[]);
                        self.dumped += attrs.len();
                        each(attrs)
                    }
                    _ => {}
                }
            }
        }
    }
}
