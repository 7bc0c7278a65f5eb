//! FOU/GUE receive ports: the kernel's `fou` generic netlink family (`ip fou`).
//!
//! A GUE real server needs a receive port (`ip fou add port 6080 gue`): UDP
//! packets to it are decapsulated and handed to the inner protocol's handler
//! (e.g. `ipip`, which delivers them on `tunl0`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Mutex, MutexGuard};

use super::{fail, RtOp};
use crate::codec::nla::{self, Attrs};
use crate::error::{Error, Result};
use crate::netns::Namespace;
use crate::transport::{Failure, Transport};

/// `FOU_GENL_NAME`.
pub const FAMILY_NAME: &str = "fou";
/// `FOU_GENL_VERSION`.
pub const VERSION: u8 = 1;

/// `FOU_CMD_*`.
pub mod cmd {
    /// `FOU_CMD_ADD`.
    pub const ADD: u8 = 1;
    /// `FOU_CMD_DEL`.
    pub const DEL: u8 = 2;
    /// `FOU_CMD_GET`.
    pub const GET: u8 = 3;
}

/// `FOU_ATTR_*`.
pub mod attr {
    /// `FOU_ATTR_PORT` (be16).
    pub const PORT: u16 = 1;
    /// `FOU_ATTR_AF` (u8).
    pub const AF: u16 = 2;
    /// `FOU_ATTR_IPPROTO` (u8).
    pub const IPPROTO: u16 = 3;
    /// `FOU_ATTR_TYPE` (u8).
    pub const TYPE: u16 = 4;
    /// `FOU_ATTR_REMCSUM_NOPARTIAL` (flag).
    pub const REMCSUM_NOPARTIAL: u16 = 5;
    /// `FOU_ATTR_LOCAL_V4`.
    pub const LOCAL_V4: u16 = 6;
    /// `FOU_ATTR_LOCAL_V6`.
    pub const LOCAL_V6: u16 = 7;
    /// `FOU_ATTR_PEER_V4`.
    pub const PEER_V4: u16 = 8;
    /// `FOU_ATTR_PEER_V6`.
    pub const PEER_V6: u16 = 9;
    /// `FOU_ATTR_PEER_PORT` (be16).
    pub const PEER_PORT: u16 = 10;
    /// `FOU_ATTR_IFINDEX` (s32).
    pub const IFINDEX: u16 = 11;
}

/// What a FOU port hands the decapsulated packets to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FouEncap {
    /// GUE: the inner protocol is in the GUE header (`ip fou add port P gue`).
    Gue,
    /// Plain FOU: every packet is of `ipproto` (`ip fou add port P ipproto 4`).
    Direct {
        /// Inner IP protocol (4 for IPIP, 41 for IPv6, 47 for GRE), non-zero.
        ipproto: u8,
    },
}

/// A FOU/GUE receive port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FouPort {
    /// UDP port, non-zero.
    pub port: u16,
    /// Listen on IPv6 (`-6`, module `fou6`) instead of IPv4.
    pub ipv6: bool,
    /// GUE or direct FOU.
    pub encap: FouEncap,
    /// Bound local address (`local`), of the port's family.
    pub local: Option<IpAddr>,
    /// Connected peer address (`peer`), of the port's family.
    pub peer: Option<IpAddr>,
    /// Connected peer port (`peer_port`), non-zero when given.
    pub peer_port: Option<u16>,
    /// Bound device index (`dev`).
    pub ifindex: Option<i32>,
}

impl FouPort {
    /// A GUE port on IPv4.
    pub fn gue(port: u16) -> Self {
        FouPort {
            port,
            ipv6: false,
            encap: FouEncap::Gue,
            local: None,
            peer: None,
            peer_port: None,
            ifindex: None,
        }
    }

    /// A direct FOU port on IPv4 for inner protocol `ipproto`.
    pub fn direct(port: u16, ipproto: u8) -> Self {
        FouPort {
            encap: FouEncap::Direct { ipproto },
            ..FouPort::gue(port)
        }
    }

    /// The same port on IPv6.
    pub fn v6(mut self) -> Self {
        self.ipv6 = true;
        self
    }

    /// Refuses values the kernel would refuse.
    ///
    /// # Errors
    /// [`Error::InvalidInput`].
    pub fn validate(&self) -> Result<()> {
        let ctx = || format!("FOU port {}", self.port);
        if self.port == 0 {
            return Err(Error::invalid_input(ctx(), "the port must not be 0"));
        }
        if self.encap == (FouEncap::Direct { ipproto: 0 }) {
            return Err(Error::invalid_input(
                ctx(),
                "a direct FOU port needs a non-zero IP protocol",
            ));
        }
        for (what, a) in [("local", self.local), ("peer", self.peer)] {
            if let Some(a) = a {
                if a.is_ipv6() != self.ipv6 {
                    return Err(Error::invalid_input(
                        ctx(),
                        format!("{what} address {a} is not of the port's address family"),
                    ));
                }
            }
        }
        if self.peer_port == Some(0) {
            return Err(Error::invalid_input(ctx(), "peer port must not be 0"));
        }
        Ok(())
    }
}

fn put_ip(buf: &mut Vec<u8>, v4: u16, v6: u16, a: IpAddr) {
    match a {
        IpAddr::V4(a) => nla::put(buf, v4, &a.octets()),
        IpAddr::V6(a) => nla::put(buf, v6, &a.octets()),
    }
}

/// Appends the attributes of `p` for `FOU_CMD_ADD` / `FOU_CMD_DEL`.
pub fn put_port(buf: &mut Vec<u8>, p: &FouPort) {
    nla::put_be16(buf, attr::PORT, p.port);
    let af = if p.ipv6 {
        libc::AF_INET6
    } else {
        libc::AF_INET
    };
    nla::put_u8(buf, attr::AF, af as u8);
    match p.encap {
        FouEncap::Gue => nla::put_u8(buf, attr::TYPE, 2),
        FouEncap::Direct { ipproto } => {
            nla::put_u8(buf, attr::TYPE, 1);
            nla::put_u8(buf, attr::IPPROTO, ipproto);
        }
    }
    if let Some(a) = p.local {
        put_ip(buf, attr::LOCAL_V4, attr::LOCAL_V6, a);
    }
    if let Some(a) = p.peer {
        put_ip(buf, attr::PEER_V4, attr::PEER_V6, a);
    }
    if let Some(pp) = p.peer_port {
        nla::put_be16(buf, attr::PEER_PORT, pp);
    }
    if let Some(i) = p.ifindex {
        nla::put(buf, attr::IFINDEX, &i.to_ne_bytes());
    }
}

/// A whole `fou` request message.
///
/// # Errors
/// [`Error::InvalidInput`] when `port` is invalid.
pub fn request(
    buf: &mut Vec<u8>,
    family: u16,
    command: u8,
    seq: u32,
    port: Option<&FouPort>,
) -> Result<()> {
    let flags = match port {
        Some(p) => {
            p.validate()?;
            nla::NLM_F_REQUEST | nla::NLM_F_ACK
        }
        None => nla::NLM_F_REQUEST | nla::NLM_F_DUMP,
    };
    let start = nla::begin_msg(buf, family, flags, seq);
    nla::put_genl(buf, command, VERSION);
    if let Some(p) = port {
        put_port(buf, p);
    }
    nla::end_msg(buf, start)
}

fn get_ip(what: &str, p: &[u8], v6: bool) -> Result<IpAddr> {
    match (v6, p.len()) {
        (false, 4) => Ok(IpAddr::V4(Ipv4Addr::new(p[0], p[1], p[2], p[3]))),
        (true, 16) => {
            let mut o = [0u8; 16];
            o.copy_from_slice(p);
            Ok(IpAddr::V6(Ipv6Addr::from(o)))
        }
        (_, n) => Err(Error::protocol(
            "decoding a FOU port",
            format!("{what}: unexpected length {n}"),
        )),
    }
}

fn specified(a: IpAddr) -> Option<IpAddr> {
    (!a.is_unspecified()).then_some(a)
}

/// Decodes the attributes (after the generic netlink header) of one FOU port.
///
/// # Errors
/// [`Error::Protocol`] when an attribute is malformed or the port is missing.
pub fn decode_port(attrs: &[u8]) -> Result<FouPort> {
    let mut port = None;
    let mut p = FouPort::gue(0);
    let (mut ty, mut ipproto) = (0u8, 0u8);
    for a in Attrs::new(attrs) {
        let (t, v) = a?;
        match t {
            attr::PORT => port = Some(nla::get_be16("port", v)?),
            attr::AF => p.ipv6 = i32::from(nla::get_u8("af", v)?) == libc::AF_INET6,
            attr::TYPE => ty = nla::get_u8("type", v)?,
            attr::IPPROTO => ipproto = nla::get_u8("ipproto", v)?,
            // the kernel reports every field; zeros mean "not set"
            attr::LOCAL_V4 => p.local = specified(get_ip("local", v, false)?),
            attr::LOCAL_V6 => p.local = specified(get_ip("local", v, true)?),
            attr::PEER_V4 => p.peer = specified(get_ip("peer", v, false)?),
            attr::PEER_V6 => p.peer = specified(get_ip("peer", v, true)?),
            attr::PEER_PORT => {
                p.peer_port = Some(nla::get_be16("peer port", v)?).filter(|&x| x != 0)
            }
            attr::IFINDEX => {
                p.ifindex = Some(nla::get_u32("ifindex", v)? as i32).filter(|&x| x != 0)
            }
            _ => {}
        }
    }
    p.port = port.ok_or_else(|| Error::protocol("decoding a FOU port", "no FOU_ATTR_PORT"))?;
    p.encap = if ty == 2 {
        FouEncap::Gue
    } else {
        FouEncap::Direct { ipproto }
    };
    Ok(p)
}

/// Resolves the `fou` family on `t`.
///
/// # Errors
/// [`Error::ModuleMissing`] (module `fou`) when the family is not
/// registered; transport errors.
pub(crate) fn resolve(t: &mut Transport) -> Result<u16> {
    match crate::transport::resolve_family(t, FAMILY_NAME) {
        Err(Error::ModuleMissing { context, errno, .. }) => Err(Error::ModuleMissing {
            context,
            module: "fou".into(),
            errno,
        }),
        other => other,
    }
}

/// The typed error of a refused `FOU_CMD_ADD`.
pub(crate) fn add_error(p: &FouPort) -> impl FnOnce(Failure) -> Error {
    let p = *p;
    let ctx = move || format!("adding FOU port {}", describe(&p));
    move |f| match f {
        // EALREADY: the same FOU port exists; EADDRINUSE: its UDP port is
        // taken (by a FOU port, which is how Linux 6.1 answers a duplicate, or another socket)
        Failure::Kernel(errno @ (libc::EALREADY | libc::EADDRINUSE)) => Error::Exists {
            context: ctx(),
            errno,
        },
        f => fail(RtOp::Fou, ctx)(f),
    }
}

/// The typed error of a refused `FOU_CMD_DEL`.
pub(crate) fn del_error(p: &FouPort) -> impl FnOnce(Failure) -> Error {
    let p = *p;
    let ctx = move || format!("removing FOU port {}", describe(&p));
    move |f| match f {
        // the kernel answers EINVAL when there is no such port
        Failure::Kernel(libc::EINVAL) => Error::NotFound {
            context: ctx(),
            what: "no such FOU port",
            errno: libc::EINVAL,
        },
        f => fail(RtOp::Fou, ctx)(f),
    }
}

/// The error of a failed listing of FOU ports.
pub(crate) fn list_error(f: Failure) -> Error {
    fail(RtOp::Fou, || "listing FOU ports".into())(f)
}

/// A handle on the FOU/GUE receive ports of one network namespace.
pub struct Fou {
    inner: Mutex<(Transport, Vec<u8>)>,
    family: u16,
}

impl Fou {
    /// Opens a handle in `namespace`.
    ///
    /// # Errors
    /// [`Error::ModuleMissing`] (module `fou`) when the family is not
    /// registered; [`Error::Io`] when the namespace or socket cannot be opened.
    pub fn open(namespace: Namespace) -> Result<Self> {
        let mut t = Transport::open(&namespace, libc::NETLINK_GENERIC)?;
        let family = resolve(&mut t)?;
        Ok(Fou {
            inner: Mutex::new((t, Vec::with_capacity(128))),
            family,
        })
    }

    fn lock(&self) -> MutexGuard<'_, (Transport, Vec<u8>)> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn run(
        &self,
        command: u8,
        port: Option<&FouPort>,
        mut on_attrs: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<(), Failure> {
        let mut g = self.lock();
        let (t, buf) = &mut *g;
        let seq = t.next_seq();
        buf.clear();
        request(buf, self.family, command, seq, port)?;
        let family = self.family;
        t.exchange(buf, seq, port.is_none(), |h, payload| {
            if h.ty != family {
                return Ok(());
            }
            let attrs = payload.get(nla::GENL_HDRLEN..).ok_or_else(|| {
                Error::protocol("reading a FOU reply", "shorter than its genl header")
            })?;
            on_attrs(attrs)
        })
    }

    /// Adds a receive port (`ip fou add`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] before sending; [`Error::Exists`] when the
    /// port is already a FOU port or another socket holds it (`EALREADY` or
    /// `EADDRINUSE`).
    pub fn add(&self, p: &FouPort) -> Result<()> {
        p.validate()?;
        self.run(cmd::ADD, Some(p), |_| Ok(()))
            .map_err(add_error(p))
    }

    /// Removes a receive port (`ip fou del`); matched by port, family and,
    /// when given, local, peer, peer port and device.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such port (the kernel answers `EINVAL`).
    pub fn del(&self, p: &FouPort) -> Result<()> {
        p.validate()?;
        self.run(cmd::DEL, Some(p), |_| Ok(()))
            .map_err(del_error(p))
    }

    /// Lists the receive ports (`ip fou show`).
    ///
    /// # Errors
    /// I/O and protocol errors.
    pub fn list(&self) -> Result<Vec<FouPort>> {
        let mut out = Vec::new();
        self.run(cmd::GET, None, |a| {
            out.push(decode_port(a)?);
            Ok(())
        })
        .map_err(list_error)?;
        Ok(out)
    }
}

/// A port as error messages name it.
fn describe(p: &FouPort) -> String {
    format!(
        "{}{} {}",
        p.port,
        if p.ipv6 { " (IPv6)" } else { "" },
        match p.encap {
            FouEncap::Gue => "gue".to_string(),
            FouEncap::Direct { ipproto } => format!("ipproto {ipproto}"),
        }
    )
}
