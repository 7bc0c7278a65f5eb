//! Running one check once: the sockets (created in the check's network
//! namespace, bound to its source address) and the protocols (TCP connect,
//! HTTP/1.0 GET, the same over TLS, a DNS query over UDP, the caller's
//! closure). Every probe is bounded by the check's timeout.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use super::check::{Check, CheckKind};
use crate::netns::run_in;

/// The largest HTTP response read (status line, headers and body).
const HTTP_MAX: usize = 64 * 1024;

/// Runs `check` once against `target`: `Ok(())` when healthy, else why not.
pub(crate) fn probe(check: &Check, target: SocketAddr) -> Result<(), String> {
    let deadline = Instant::now() + check.timeout;
    match &check.kind {
        CheckKind::Tcp => connect(check, target, deadline).map(drop),
        CheckKind::Http {
            path,
            status,
            body_contains,
            host,
        } => {
            let mut s = connect(check, target, deadline)?;
            let host = host.clone().unwrap_or_else(|| target.to_string());
            http_get(&mut s, path, &host, deadline)
                .and_then(|resp| judge_http(&resp, *status, body_contains.as_deref()))
        }
        CheckKind::Https {
            path,
            status,
            body_contains,
            host,
            tls,
        } => {
            let s = connect(check, target, deadline)?;
            let name = host.clone().unwrap_or_else(|| target.to_string());
            https_get(s, tls, host.as_deref(), target, (path, &name), deadline)
                .and_then(|resp| judge_http(&resp, *status, body_contains.as_deref()))
        }
        CheckKind::Dns { name } => dns(check, target, name, deadline),
        CheckKind::Custom(f) => custom(f.clone(), target, check.timeout),
    }
}

fn remaining(deadline: Instant) -> Result<Duration, String> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| "timed out".to_string())
}

fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: an all-zero sockaddr_storage is a valid value.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write(std::ptr::addr_of_mut!(ss).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write(std::ptr::addr_of_mut!(ss).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

fn tcp_socket(v6: bool) -> std::io::Result<OwnedFd> {
    let af = if v6 { libc::AF_INET6 } else { libc::AF_INET };
    // SAFETY: plain socket(2); a non-negative result is a new descriptor we own.
    let fd = unsafe {
        libc::socket(
            af,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is fresh and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn os_err(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

/// Connects to `target` from the check's namespace and source, within `deadline`.
fn connect(check: &Check, target: SocketAddr, deadline: Instant) -> Result<TcpStream, String> {
    let v6 = target.is_ipv6();
    let fd = run_in(
        &check.namespace,
        "creating a health check socket",
        move || tcp_socket(v6),
    )
    .map_err(|e| e.to_string())?;
    if let Some(src) = check.source {
        bind(&fd, SocketAddr::new(src, 0))?;
    }
    let (ss, len) = sockaddr(target);
    // SAFETY: ss holds a valid sockaddr of `len` bytes; fd is open.
    let rc = unsafe { libc::connect(fd.as_raw_fd(), std::ptr::addr_of!(ss).cast(), len) };
    if rc != 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINPROGRESS) {
        return Err(os_err("connect"));
    }
    if rc != 0 {
        wait_connected(&fd, deadline)?;
    }
    let stream = TcpStream::from(fd);
    stream.set_nonblocking(false).map_err(|e| e.to_string())?;
    Ok(stream)
}

fn bind(fd: &OwnedFd, addr: SocketAddr) -> Result<(), String> {
    let (ss, len) = sockaddr(addr);
    // SAFETY: ss holds a valid sockaddr of `len` bytes; fd is open.
    if unsafe { libc::bind(fd.as_raw_fd(), std::ptr::addr_of!(ss).cast(), len) } != 0 {
        return Err(os_err(&format!("binding to source {}", addr.ip())));
    }
    Ok(())
}

fn wait_connected(fd: &OwnedFd, deadline: Instant) -> Result<(), String> {
    let left = remaining(deadline)?;
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLOUT,
        revents: 0,
    };
    let ms = left.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut pfd, 1, ms) };
    if n < 0 {
        return Err(os_err("poll"));
    }
    if n == 0 {
        return Err("connect timed out".into());
    }
    let mut err: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: err and len are valid for writing an int.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            std::ptr::addr_of_mut!(err).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(os_err("getsockopt"));
    }
    if err != 0 {
        return Err(format!(
            "connect: {}",
            std::io::Error::from_raw_os_error(err)
        ));
    }
    Ok(())
}

/// A connection an HTTP request goes over: plain TCP or TLS over TCP, with
/// the socket underneath (whose timeouts bound every read and write).
trait Conn: Read + Write {
    fn tcp(&self) -> &TcpStream;
}

impl Conn for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

#[cfg(feature = "tls")]
impl Conn for super::tls::TlsStream {
    fn tcp(&self) -> &TcpStream {
        &self.sock
    }
}

fn http_get(
    s: &mut impl Conn,
    path: &str,
    host: &str,
    deadline: Instant,
) -> Result<Vec<u8>, String> {
    let req = format!(
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: lvskit-director\r\nConnection: close\r\n\r\n"
    );
    s.tcp()
        .set_write_timeout(Some(remaining(deadline)?))
        .map_err(|e| e.to_string())?;
    s.write_all(req.as_bytes())
        .and_then(|()| s.flush())
        .map_err(|e| format!("send: {e}"))?;
    let mut resp = Vec::new();
    let mut buf = [0u8; 4096];
    while resp.len() < HTTP_MAX {
        s.tcp()
            .set_read_timeout(Some(remaining(deadline)?))
            .map_err(|e| e.to_string())?;
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => resp.extend_from_slice(&buf[..n]),
            // a TLS server closing without close_notify after its answer
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !resp.is_empty() => break,
            Err(e) => return Err(format!("receive: {e}")),
        }
    }
    Ok(resp)
}

/// `GET path` with `Host: name` over TLS on the connected socket `s`.
#[cfg(feature = "tls")]
fn https_get(
    s: TcpStream,
    tls: &super::check::TlsOptions,
    host: Option<&str>,
    target: SocketAddr,
    (path, name): (&str, &str),
    deadline: Instant,
) -> Result<Vec<u8>, String> {
    let mut s = super::tls::handshake(s, tls, host, target)?;
    http_get(&mut s, path, name, deadline)
}

#[cfg(not(feature = "tls"))]
fn https_get(
    _: TcpStream,
    _: &super::check::TlsOptions,
    _: Option<&str>,
    _: SocketAddr,
    _: (&str, &str),
    _: Instant,
) -> Result<Vec<u8>, String> {
    Err("HTTPS checks need lvskit built with its `tls` feature".into())
}

/// Judges an HTTP response: its status, and its body when `body` is given.
pub(crate) fn judge_http(resp: &[u8], status: u16, body: Option<&str>) -> Result<(), String> {
    let text = String::from_utf8_lossy(resp);
    let line = text.lines().next().unwrap_or_default();
    let mut words = line.split_whitespace();
    let version = words.next().unwrap_or_default();
    let got = words.next().and_then(|c| c.parse::<u16>().ok());
    if !version.starts_with("HTTP/") || got.is_none() {
        return Err(format!("not an HTTP response: {line:?}"));
    }
    if got != Some(status) {
        return Err(format!(
            "HTTP status {} (expected {status})",
            got.unwrap_or(0)
        ));
    }
    if let Some(want) = body {
        let content = text.split_once("\r\n\r\n").map(|x| x.1).unwrap_or_default();
        if !content.contains(want) {
            return Err(format!("HTTP body does not contain {want:?}"));
        }
    }
    Ok(())
}

static DNS_ID: AtomicU16 = AtomicU16::new(0x5a5a);

/// A DNS query (type A, class IN, recursion desired) for `name` with `id`.
pub(crate) fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut q = Vec::with_capacity(18 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// Whether `reply` answers the query `id`: a response (QR set) with that id.
pub(crate) fn is_dns_answer(reply: &[u8], id: u16) -> bool {
    reply.len() >= 12 && reply[..2] == id.to_be_bytes() && reply[2] & 0x80 != 0
}

fn dns(check: &Check, target: SocketAddr, name: &str, deadline: Instant) -> Result<(), String> {
    let local = SocketAddr::new(
        check.source.unwrap_or(match target {
            SocketAddr::V4(_) => IpAddr::from([0u8; 4]),
            SocketAddr::V6(_) => IpAddr::from([0u16; 8]),
        }),
        0,
    );
    let sock = run_in(
        &check.namespace,
        "creating a health check socket",
        move || UdpSocket::bind(local),
    )
    .map_err(|e| e.to_string())?;
    sock.connect(target).map_err(|e| format!("connect: {e}"))?;
    let id = DNS_ID.fetch_add(0x3b1, Ordering::Relaxed);
    sock.send(&dns_query(id, name))
        .map_err(|e| format!("send: {e}"))?;
    let mut buf = [0u8; 1500];
    // stale or foreign datagrams are skipped; the deadline bounds the loop
    loop {
        sock.set_read_timeout(Some(remaining(deadline)?))
            .map_err(|e| e.to_string())?;
        match sock.recv(&mut buf) {
            Ok(n) if is_dns_answer(&buf[..n], id) => return Ok(()),
            Ok(_) => continue,
            Err(e) => return Err(format!("no DNS answer: {e}")),
        }
    }
}

fn custom(
    f: super::check::CustomCheck,
    target: SocketAddr,
    timeout: Duration,
) -> Result<(), String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("lvskit-check".into())
        .spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(target, timeout)))
                .unwrap_or_else(|_| Err("the check panicked".into()));
            let _ = tx.send(r);
        })
        .map_err(|e| format!("cannot start the check: {e}"))?;
    rx.recv_timeout(timeout)
        .unwrap_or_else(|_| Err("timed out".into()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn http_responses_are_judged_by_status_and_body() {
        let ok = b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nhello rs1\n";
        assert_eq!(judge_http(ok, 200, None), Ok(()));
        assert_eq!(judge_http(ok, 200, Some("rs1")), Ok(()));
        assert!(judge_http(ok, 200, Some("rs2")).is_err());
        assert!(judge_http(ok, 204, None).is_err());
        let err = b"HTTP/1.1 500 Internal Server Error\r\n\r\n";
        assert_eq!(
            judge_http(err, 200, None),
            Err("HTTP status 500 (expected 200)".into())
        );
        assert!(judge_http(b"SSH-2.0-OpenSSH\r\n", 200, None).is_err());
        assert!(judge_http(b"", 200, None).is_err());
    }

    #[test]
    fn a_dns_query_is_well_formed_and_answers_are_matched_by_id() {
        let q = dns_query(0x1234, "example.org.");
        assert_eq!(&q[..4], &[0x12, 0x34, 0x01, 0x00]);
        assert_eq!(&q[12..], b"\x07example\x03org\x00\x00\x01\x00\x01");
        let mut answer = q.clone();
        answer[2] |= 0x80;
        assert!(is_dns_answer(&answer, 0x1234));
        assert!(!is_dns_answer(&answer, 0x1235));
        assert!(!is_dns_answer(&q, 0x1234), "a query is no answer");
        assert!(!is_dns_answer(&answer[..11], 0x1234));
    }

    #[test]
    fn a_tcp_check_passes_on_a_listening_port_and_fails_on_a_closed_one() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open = l.local_addr().unwrap();
        let check = Check::tcp().with_timeout(Duration::from_secs(2));
        assert_eq!(probe(&check, open), Ok(()));
        drop(l);
        let r = probe(&check, open);
        assert!(r.as_ref().is_err_and(|e| e.contains("refused")), "{r:?}");
        let from = check.with_source("127.0.0.1".parse().unwrap());
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        assert_eq!(probe(&from, l.local_addr().unwrap()), Ok(()));
    }

    #[test]
    fn a_custom_check_that_overruns_its_timeout_fails() {
        let slow = Check::custom(|_, _| {
            std::thread::sleep(Duration::from_millis(500));
            Ok(())
        })
        .with_timeout(Duration::from_millis(50));
        let t: SocketAddr = "127.0.0.1:1".parse().unwrap();
        assert_eq!(probe(&slow, t), Err("timed out".into()));
        // a timeout far above any scheduling delay, so that under load the
        // check's own answer decides, never the clock
        let picky = Check::custom(|a, _| {
            if a.port() == 1 {
                Ok(())
            } else {
                Err("no".into())
            }
        })
        .with_timeout(Duration::from_secs(60));
        assert_eq!(probe(&picky, t), Ok(()));
        let panics = Check::custom(|_, _| panic!("boom")).with_timeout(Duration::from_secs(60));
        assert_eq!(probe(&panics, t), Err("the check panicked".into()));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod wire_tests {
    use super::*;
    use std::net::TcpListener;

    /// A one-shot DNS responder on loopback answering with `id_delta` added to the query's id.
    fn responder(id_delta: u16) -> SocketAddr {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let at = s.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            if let Ok((n, from)) = s.recv_from(&mut buf) {
                let id = u16::from_be_bytes([buf[0], buf[1]]).wrapping_add(id_delta);
                buf[..2].copy_from_slice(&id.to_be_bytes());
                buf[2] |= 0x80;
                let _ = s.send_to(&buf[..n], from);
            }
        });
        at
    }

    #[test]
    fn a_dns_check_wants_an_answer_with_its_id() {
        let check = Check::dns("example.org").with_timeout(Duration::from_millis(300));
        assert_eq!(probe(&check, responder(0)), Ok(()));
        let r = probe(&check, responder(1));
        assert!(r.is_err(), "{r:?}");
    }

    /// An HTTP server on loopback answering one request with `status`.
    fn http_server(status: u16) -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let at = l.local_addr().unwrap();
        std::thread::spawn(move || {
            if let Ok((mut c, _)) = l.accept() {
                let mut buf = [0u8; 1024];
                let _ = c.read(&mut buf);
                let _ = write!(c, "HTTP/1.0 {status} X\r\n\r\nbody of {status}\n");
            }
        });
        at
    }

    #[test]
    fn an_http_check_tells_500_from_200() {
        let check = Check::http("/", 200).with_timeout(Duration::from_secs(2));
        assert_eq!(probe(&check, http_server(200)), Ok(()));
        assert_eq!(
            probe(&check, http_server(500)),
            Err("HTTP status 500 (expected 200)".into())
        );
        let body = check.with_body("body of 200");
        assert_eq!(probe(&body, http_server(200)), Ok(()));
    }
}
