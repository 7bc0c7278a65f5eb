//! Real traffic: tiny servers that say who they are, and clients.
//!
//! A [`Server`] listens on a TCP port inside a namespace. For an HTTP `GET`
//! it answers `HTTP/1.0 200` with its name as the body and closes; for any
//! other line it answers its name and keeps the connection open, so a
//! [`Session`] is a long-lived connection that can ask "who are you?" again
//! and again (to see where an established connection goes).
//!
//! Everything is bounded: connects, reads and writes time out.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use crate::lab::{in_namespace, Netns, Result};

/// How long a client waits to connect or for an answer.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a server waits for the next line of an idle connection.
const SERVER_IDLE: Duration = Duration::from_secs(60);

/// A server in a namespace, stopped when dropped.
pub struct Server {
    name: String,
    port: u16,
    /// The namespace it listens in (by name), to check that it stopped.
    ns: String,
    stop: Arc<AtomicBool>,
    conns: Arc<Mutex<HashMap<u64, TcpStream>>>,
    thread: Option<JoinHandle<()>>,
}

fn handle(name: &str, stream: &TcpStream) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(SERVER_IDLE))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let mut out = stream;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line.starts_with("GET ") {
            // skip the request headers, answer, close
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
                    break;
                }
            }
            let body = format!("{name}\n");
            write!(
                out,
                "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )?;
            return Ok(());
        }
        writeln!(out, "{name}")?;
    }
}

impl Server {
    /// Starts server `name` on `0.0.0.0:port` inside `ns`.
    pub fn start(ns: &Netns, name: &str, port: u16) -> Result<Self> {
        let listener = ns
            .run(|| TcpListener::bind(("0.0.0.0", port)))?
            .map_err(|e| format!("{}: cannot listen on port {port}: {e}", ns.name()))?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let conns = Arc::new(Mutex::new(HashMap::new()));
        let ids = AtomicU64::new(0);
        let (s, c, n) = (stop.clone(), conns.clone(), name.to_owned());
        let thread = std::thread::Builder::new()
            .name(format!("server-{name}"))
            .spawn(move || {
                while !s.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            // registered so that stop() can reset it, and
                            // unregistered when done so that it closes
                            let id = ids.fetch_add(1, Ordering::SeqCst);
                            if let (Ok(clone), Ok(mut all)) = (stream.try_clone(), c.lock()) {
                                all.insert(id, clone);
                            }
                            let (n, c) = (n.clone(), c.clone());
                            let _ = std::thread::Builder::new().name(format!("conn-{n}")).spawn(
                                move || {
                                    let _ = handle(&n, &stream);
                                    let _ = stream.shutdown(Shutdown::Both);
                                    if let Ok(mut all) = c.lock() {
                                        all.remove(&id);
                                    }
                                },
                            );
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
                // Stop listening now, whoever else holds the descriptor: a
                // child process forked by another thread keeps a copy until
                // it execs, and while it does, dropping `listener` alone
                // leaves the port accepting handshakes (a "failed" server
                // that still answers a health probe).
                // SAFETY: shutdown(2) on the listener's own open descriptor.
                unsafe { libc::shutdown(listener.as_raw_fd(), libc::SHUT_RDWR) };
            })?;
        Ok(Server {
            name: name.into(),
            port,
            ns: ns.name().to_owned(),
            stop,
            conns,
            thread: Some(thread),
        })
    }

    /// The server's name (what it answers).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops listening and resets every open connection, like a crashed process.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let Some(t) = self.thread.take() else {
            return; // stopped before
        };
        let _ = t.join();
        if let Ok(mut all) = self.conns.lock() {
            for (_, c) in all.drain() {
                let _ = c.shutdown(Shutdown::Both);
            }
        }
        self.wait_refused();
    }

    /// Waits (up to 2 s) until a connection to the port is refused, so that
    /// whoever stopped the server sees it stopped.
    fn wait_refused(&self) {
        let to = SocketAddr::from(([127, 0, 0, 1], self.port));
        let _ = in_namespace(&self.ns, || {
            for _ in 0..200 {
                match TcpStream::connect_timeout(&to, Duration::from_millis(200)) {
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return,
                    _ => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One HTTP/1.0 `GET /` from namespace `ns` to `to`; returns the body
/// (the name of the server that answered), trimmed.
pub fn http_get(ns: &Netns, to: SocketAddr) -> Result<String> {
    let stream = ns
        .run(|| TcpStream::connect_timeout(&to, CLIENT_TIMEOUT))?
        .map_err(|e| format!("connecting to {to} from {}: {e}", ns.name()))?;
    get_over(stream, to)
}

/// As [`http_get`], from the client address `from` (one of `ns`'s own), so
/// a test can present many clients from one namespace.
pub fn http_get_from(ns: &Netns, from: IpAddr, to: SocketAddr) -> Result<String> {
    let connect = || -> std::io::Result<TcpStream> {
        let sock = Socket::new(Domain::for_address(to), Type::STREAM, Some(Protocol::TCP))?;
        sock.bind(&SocketAddr::new(from, 0).into())?;
        sock.connect_timeout(&to.into(), CLIENT_TIMEOUT)?;
        Ok(sock.into())
    };
    let stream = ns
        .run(connect)?
        .map_err(|e| format!("connecting to {to} from {from} in {}: {e}", ns.name()))?;
    get_over(stream, to)
}

fn get_over(mut stream: TcpStream, to: SocketAddr) -> Result<String> {
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    write!(stream, "GET / HTTP/1.0\r\nHost: {to}\r\n\r\n")
        .map_err(|e| format!("sending to {to}: {e}"))?;
    let mut reply = String::new();
    stream
        .read_to_string(&mut reply)
        .map_err(|e| format!("reading the reply from {to}: {e}"))?;
    let (head, body) = reply
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("malformed HTTP reply from {to}: {reply:?}"))?;
    if !head.starts_with("HTTP/1.0 200") {
        return Err(format!("unexpected HTTP status from {to}: {head:?}").into());
    }
    Ok(body.trim().to_owned())
}

/// A long-lived TCP connection from a client namespace.
pub struct Session {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    to: SocketAddr,
}

impl Session {
    /// Connects from `ns` to `to`.
    pub fn open(ns: &Netns, to: SocketAddr) -> Result<Self> {
        let stream = ns
            .run(|| TcpStream::connect_timeout(&to, CLIENT_TIMEOUT))?
            .map_err(|e| format!("connecting to {to} from {}: {e}", ns.name()))?;
        stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
        stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
        let reader = BufReader::new(stream.try_clone()?);
        Ok(Session { stream, reader, to })
    }

    /// The client's own address of this connection.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.stream.local_addr()?)
    }

    /// Asks the server on the other end who it is.
    pub fn ask(&mut self) -> Result<String> {
        writeln!(self.stream, "who are you?")
            .map_err(|e| format!("sending on the session to {}: {e}", self.to))?;
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .map_err(|e| format!("reading on the session to {}: {e}", self.to))?;
        if n == 0 {
            return Err(format!("the session to {} was closed", self.to).into());
        }
        Ok(line.trim().to_owned())
    }
}
