//! The connection table: `/proc/net/ip_vs_conn` and `/proc/net/ip_vs_conn_sync`.
//!
//! The kernel lists every connection (and persistence template) IPVS tracks
//! in the reading thread's network namespace, one per line:
//!
//! ```text
//! Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
//! TCP 0A000102 9C4A 0A000101 0050 0A000202 1F40 ESTABLISHED     898
//! ```
//!
//! IPv4 addresses are 8 hex digits (the address as a big-endian number),
//! IPv6 addresses are written in full (`fd01:0000:...:0002`), ports are 4 hex
//! digits, the expiry is in seconds. Persistence templates appear as
//! connections too: with protocol `IP` for firewall-mark services, client
//! port 0 and state `NONE` or `ASSURED` (see [`Connection::is_template`]).
//! `ip_vs_conn_sync` has an `Origin` column (`Local` or `Sync`) before the
//! expiry and no persistence-engine data.
//!
//! [`parse`] is pure; [`read`] reads the table of any [`Namespace`]: `/proc/net`
//! is per network namespace of the *reading thread*, so a helper thread enters
//! the namespace and reads `/proc/thread-self/net/ip_vs_conn`.

use std::fmt;
use std::fs::File;
use std::io::Read as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::error::{Error, Result};
use crate::netns::Namespace;

/// The protocol column of a connection.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ConnProtocol {
    /// `TCP`.
    Tcp,
    /// `UDP`.
    Udp,
    /// `SCTP`.
    Sctp,
    /// `ICMP`.
    Icmp,
    /// `ICMPv6`.
    Icmpv6,
    /// `IP`: a persistence template of a firewall-mark service.
    Ip,
    /// Anything else the kernel printed (e.g. `ERR!`).
    Other(String),
}

impl ConnProtocol {
    fn parse(s: &str) -> Self {
        match s {
            "TCP" => ConnProtocol::Tcp,
            "UDP" => ConnProtocol::Udp,
            "SCTP" => ConnProtocol::Sctp,
            "ICMP" => ConnProtocol::Icmp,
            "ICMPv6" => ConnProtocol::Icmpv6,
            "IP" => ConnProtocol::Ip,
            other => ConnProtocol::Other(other.to_owned()),
        }
    }

    /// The kernel's name.
    pub fn as_str(&self) -> &str {
        match self {
            ConnProtocol::Tcp => "TCP",
            ConnProtocol::Udp => "UDP",
            ConnProtocol::Sctp => "SCTP",
            ConnProtocol::Icmp => "ICMP",
            ConnProtocol::Icmpv6 => "ICMPv6",
            ConnProtocol::Ip => "IP",
            ConnProtocol::Other(s) => s,
        }
    }
}

impl fmt::Display for ConnProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a connection entry came from (`ip_vs_conn_sync` only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Created by this director.
    Local,
    /// Received from a sync master.
    Sync,
}

/// One entry of the connection table.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Connection {
    /// The protocol (`IP` for firewall-mark templates).
    pub protocol: ConnProtocol,
    /// The client's address and port (`FromIP`, `FPrt`).
    pub client: SocketAddr,
    /// The virtual address and port the client reached (`ToIP`, `TPrt`).
    pub virtual_addr: SocketAddr,
    /// The real server's address and port (`DestIP`, `DPrt`).
    pub destination: SocketAddr,
    /// The protocol state as the kernel names it: `ESTABLISHED`, `SYN_RECV`,
    /// `FIN_WAIT`, `TIME_WAIT`, `CLOSE`, `UDP`, `NONE`, `ASSURED`, ...
    pub state: String,
    /// Seconds until the entry expires.
    pub expires: u32,
    /// The persistence engine's name and data (`sip` and the Call-ID), if any.
    pub pe: Option<(String, String)>,
    /// `LOCAL` or `SYNC`, from `ip_vs_conn_sync`.
    pub origin: Option<Origin>,
}

impl Connection {
    /// Whether this is a persistence template rather than a connection:
    /// protocol `IP` (firewall-mark service), or client port 0 with a
    /// template state (`NONE`, `ASSURED`).
    pub fn is_template(&self) -> bool {
        self.protocol == ConnProtocol::Ip
            || (self.client.port() == 0 && matches!(self.state.as_str(), "NONE" | "ASSURED"))
    }
}

/// A line of the connection table that could not be understood.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ConnParseError {
    /// 1-based line number (the header is line 1).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

fn parse_addr(s: &str) -> Option<IpAddr> {
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return u32::from_str_radix(s, 16)
            .ok()
            .map(|v| IpAddr::V4(Ipv4Addr::from(v)));
    }
    if s.contains(':') {
        return s.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    None
}

fn parse_port(s: &str) -> Option<u16> {
    if s.len() == 4 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        u16::from_str_radix(s, 16).ok()
    } else {
        None
    }
}

/// Parses the text of `/proc/net/ip_vs_conn` or `/proc/net/ip_vs_conn_sync`
/// (the header line, if present, is recognised and skipped).
///
/// # Errors
/// [`ConnParseError`] naming the first line that is not a connection.
pub fn parse(text: &str) -> std::result::Result<Vec<Connection>, ConnParseError> {
    let mut out = Vec::new();
    let mut sync = false;
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.is_empty() {
            continue;
        }
        if f[0] == "Pro" {
            sync = f.contains(&"Origin");
            continue;
        }
        let err = |m: String| ConnParseError {
            line: line_no,
            message: m,
        };
        let min = if sync { 10 } else { 9 };
        if f.len() < min {
            return Err(err(format!(
                "expected at least {min} fields, found {}",
                f.len()
            )));
        }
        let addr = |k: usize, what: &str| {
            parse_addr(f[k]).ok_or_else(|| err(format!("bad {what} address `{}`", f[k])))
        };
        let port = |k: usize, what: &str| {
            parse_port(f[k]).ok_or_else(|| err(format!("bad {what} port `{}`", f[k])))
        };
        let client = SocketAddr::new(addr(1, "client")?, port(2, "client")?);
        let virtual_addr = SocketAddr::new(addr(3, "virtual")?, port(4, "virtual")?);
        let destination = SocketAddr::new(addr(5, "destination")?, port(6, "destination")?);
        let state = f[7].to_owned();
        let (origin, exp_at) = if sync {
            // the kernel writes LOCAL and SYNC
            let o = match f[8] {
                o if o.eq_ignore_ascii_case("local") => Origin::Local,
                o if o.eq_ignore_ascii_case("sync") => Origin::Sync,
                other => return Err(err(format!("bad origin `{other}`"))),
            };
            (Some(o), 9)
        } else {
            (None, 8)
        };
        let expires: u32 = f[exp_at]
            .parse()
            .map_err(|_| err(format!("bad expiry `{}`", f[exp_at])))?;
        let rest = &f[exp_at + 1..];
        let pe = match rest {
            [] => None,
            [name] => Some(((*name).to_owned(), String::new())),
            [name, data @ ..] => Some(((*name).to_owned(), data.join(" "))),
        };
        if sync && pe.is_some() {
            return Err(err(format!("unexpected fields after the expiry: {rest:?}")));
        }
        out.push(Connection {
            protocol: ConnProtocol::parse(f[0]),
            client,
            virtual_addr,
            destination,
            state,
            expires,
            pe,
            origin,
        });
    }
    Ok(out)
}

/// Which file to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Table {
    /// `/proc/net/ip_vs_conn`.
    #[default]
    Conn,
    /// `/proc/net/ip_vs_conn_sync` (with the origin of each entry).
    ConnSync,
}

impl Table {
    fn file(self) -> &'static str {
        match self {
            Table::Conn => "ip_vs_conn",
            Table::ConnSync => "ip_vs_conn_sync",
        }
    }
}

fn read_own(table: Table) -> std::io::Result<String> {
    let mut s = String::new();
    File::open(format!("/proc/thread-self/net/{}", table.file()))?.read_to_string(&mut s)?;
    Ok(s)
}

/// Reads the connection table of a network namespace.
///
/// # Errors
/// [`Error::Io`] when the namespace cannot be entered or the file read
/// (IPVS not loaded: the file does not exist), [`Error::Protocol`] when a
/// line cannot be parsed (the detail names the line).
pub fn read(ns: &Namespace, table: Table) -> Result<Vec<Connection>> {
    let what = format!("reading /proc/net/{}", table.file());
    let text = crate::netns::run_in(ns, &what, move || read_own(table))?;
    parse(&text).map_err(|e| Error::protocol(format!("{what} in {}", ns.describe()), e.to_string()))
}
