//! The compiled half of `ipvs.tunnel`: links, addresses, FOU ports, sysctls
//! and real-server set-up ([`lvskit::tunnel`]).
//!
//! The core's tunnel types have no serde form, so this module defines one
//! (the `Py*` mirrors below, also the `to_dict` form of the Python classes)
//! and converts at the boundary; the core's validators decide what is
//! acceptable and their messages reach Python unchanged. Netlink exchanges
//! and sysctl reads and writes run with the GIL released.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnetwork::IpNetwork;
use lvskit::tunnel::realserver::{self, Prepared, RealServer, SysctlChange, VipDevice};
use lvskit::tunnel::{
    self, Address, Dev, Encap, EncapType, Fou, FouEncap, FouPort, InnerProto, Link, NewLink, Rtnl,
    TunnelConfig, TunnelEncapFlags, TunnelKind,
};
use pyo3::prelude::*;
use serde::{Deserialize, Serialize};

use pyo3::exceptions::PyTypeError;
use pyo3::types::PyDict;
use pythonize::{depythonize, pythonize};
use serde::de::DeserializeOwned;

use super::{namespace, slot_handle, to_py, Slot};

/// A value of this module's serde form from the Python objects of a
/// `to_dict()` (dicts, lists, numbers and text; no JSON text).
fn from_obj<T: DeserializeOwned>(what: &str, obj: &Bound<'_, PyAny>) -> PyResult<T> {
    if !obj.is_instance_of::<PyDict>() {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a dict (a value's to_dict()), not {}",
            obj.get_type().name()?
        )));
    }
    depythonize(obj).map_err(|e| crate::errors::refused(format!("invalid {what}: {e}")))
}

/// The Python objects (dicts, lists, ...) of a value's serde form.
fn to_obj<'py, T: Serialize>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    pythonize(py, value).map_err(|e| crate::errors::refused(format!("cannot convert a value: {e}")))
}

// ------------------------------------------------------------------ serde mirrors

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PyEncap {
    kind: String,
    sport: Option<u16>,
    dport: u16,
    flags: u16,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PyTunnelConfig {
    kind: String,
    local: Option<IpAddr>,
    remote: Option<IpAddr>,
    ttl: u8,
    tos: u8,
    pmtudisc: bool,
    link: u32,
    proto: Option<u8>,
    encap_limit: Option<u8>,
    flowinfo: u32,
    ip6_flags: u32,
    ikey: Option<u32>,
    okey: Option<u32>,
    #[serde(default)]
    icsum: bool,
    #[serde(default)]
    ocsum: bool,
    #[serde(default)]
    iseq: bool,
    #[serde(default)]
    oseq: bool,
    encap: Option<PyEncap>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PyNewLink {
    name: String,
    mtu: Option<u32>,
    up: bool,
    /// `None` for a dummy device.
    tunnel: Option<PyTunnelConfig>,
}

#[derive(Serialize)]
struct PyLink {
    index: u32,
    name: String,
    raw_name: Vec<u8>,
    kind: Option<String>,
    kind_data: Option<Vec<u8>>,
    unknown_attrs: Vec<(u16, Vec<u8>)>,
    mtu: u32,
    flags: u32,
    link: Option<u32>,
    tunnel: Option<PyTunnelConfig>,
}

#[derive(Serialize)]
struct PyAddress {
    index: u32,
    addr: IpAddr,
    prefix_len: u8,
    scope: u8,
    flags: u32,
    label: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PyFouPort {
    port: u16,
    ipv6: bool,
    /// `None` for GUE, the IP protocol for a direct FOU port.
    ipproto: Option<u8>,
    local: Option<IpAddr>,
    peer: Option<IpAddr>,
    peer_port: Option<u16>,
    ifindex: Option<i32>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PyRealServer {
    /// `tunnel`, `loopback` or `dummy`.
    device_type: String,
    device: String,
    tunnel: Option<PyTunnelConfig>,
    vips: Vec<IpAddr>,
    fou: Option<PyFouPort>,
    arp: bool,
    rp_filter_off: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PySysctlChange {
    path: String,
    before: String,
    after: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PyPrepared {
    device: String,
    created_device: bool,
    brought_up: bool,
    addresses: Vec<String>,
    sysctls: Vec<PySysctlChange>,
    fou: Option<PyFouPort>,
}

// ------------------------------------------------------------------ conversions

fn bad(msg: String) -> PyErr {
    crate::errors::refused(msg)
}

fn tunnel_kind(name: &str) -> PyResult<TunnelKind> {
    TunnelKind::ALL
        .into_iter()
        .find(|k| k.as_str() == name)
        .ok_or_else(|| bad(format!("unknown tunnel kind {name:?}")))
}

fn encap_from(e: PyEncap) -> PyResult<Encap> {
    let kind = match e.kind.as_str() {
        "fou" => EncapType::Fou,
        "gue" => EncapType::Gue,
        // a type the kernel reported and the library does not know: kept,
        // and refused by validation when written
        n if n.bytes().all(|b| b.is_ascii_digit()) && !n.is_empty() => EncapType::Other(
            n.parse()
                .map_err(|_| bad(format!("encapsulation {n} is out of range")))?,
        ),
        other => {
            return Err(bad(format!(
                "unknown encapsulation {other:?} (expected \"fou\" or \"gue\")"
            )))
        }
    };
    // unknown bits are kept and refused by validation before sending
    let flags = TunnelEncapFlags::from_bits_retain(e.flags);
    Ok(Encap {
        kind,
        sport: e.sport,
        dport: e.dport,
        flags,
    })
}

fn encap_to(e: &Encap) -> PyEncap {
    PyEncap {
        kind: match e.kind {
            EncapType::Fou => "fou".into(),
            EncapType::Gue => "gue".into(),
            EncapType::Other(n) => n.to_string(),
        },
        sport: e.sport,
        dport: e.dport,
        flags: e.flags.bits(),
    }
}

fn config_from(c: PyTunnelConfig) -> PyResult<TunnelConfig> {
    let mut t = TunnelConfig::new(tunnel_kind(&c.kind)?);
    t.local = c.local;
    t.remote = c.remote;
    t.ttl = c.ttl;
    t.tos = c.tos;
    t.pmtudisc = c.pmtudisc;
    t.link = c.link;
    t.proto = c.proto.map(InnerProto::from_number);
    t.encap_limit = c.encap_limit;
    t.flowinfo = c.flowinfo;
    t.ip6_flags = c.ip6_flags;
    t.ikey = c.ikey;
    t.okey = c.okey;
    (t.icsum, t.ocsum, t.iseq, t.oseq) = (c.icsum, c.ocsum, c.iseq, c.oseq);
    t.encap = c.encap.map(encap_from).transpose()?;
    Ok(t)
}

fn config_to(t: &TunnelConfig) -> PyTunnelConfig {
    PyTunnelConfig {
        kind: t.kind.as_str().into(),
        local: t.local,
        remote: t.remote,
        ttl: t.ttl,
        tos: t.tos,
        pmtudisc: t.pmtudisc,
        link: t.link,
        proto: t.proto.map(InnerProto::number),
        encap_limit: t.encap_limit,
        flowinfo: t.flowinfo,
        ip6_flags: t.ip6_flags,
        ikey: t.ikey,
        okey: t.okey,
        icsum: t.icsum,
        ocsum: t.ocsum,
        iseq: t.iseq,
        oseq: t.oseq,
        encap: t.encap.as_ref().map(encap_to),
    }
}

fn new_link_from(l: PyNewLink) -> PyResult<NewLink> {
    let mut n = match l.tunnel {
        Some(c) => NewLink::tunnel(l.name, config_from(c)?),
        None => NewLink::dummy(l.name),
    };
    n.mtu = l.mtu;
    n.up = l.up;
    Ok(n)
}

fn link_to(l: &Link) -> PyLink {
    PyLink {
        index: l.index,
        name: l.name.clone(),
        raw_name: l.raw_name.clone(),
        kind: l.kind.clone(),
        kind_data: l.kind_data.clone(),
        unknown_attrs: l.unknown_attrs.clone(),
        mtu: l.mtu,
        flags: l.flags,
        link: l.link,
        tunnel: l.tunnel.as_ref().map(config_to),
    }
}

fn address_to(a: &Address) -> PyAddress {
    PyAddress {
        index: a.index,
        addr: a.addr,
        prefix_len: a.prefix_len,
        scope: a.scope,
        flags: a.flags,
        label: a.label.clone(),
    }
}

fn fou_from(p: PyFouPort) -> FouPort {
    FouPort {
        port: p.port,
        ipv6: p.ipv6,
        encap: match p.ipproto {
            None => FouEncap::Gue,
            Some(ipproto) => FouEncap::Direct { ipproto },
        },
        local: p.local,
        peer: p.peer,
        peer_port: p.peer_port,
        ifindex: p.ifindex,
    }
}

fn fou_to(p: &FouPort) -> PyFouPort {
    PyFouPort {
        port: p.port,
        ipv6: p.ipv6,
        ipproto: match p.encap {
            FouEncap::Gue => None,
            FouEncap::Direct { ipproto } => Some(ipproto),
        },
        local: p.local,
        peer: p.peer,
        peer_port: p.peer_port,
        ifindex: p.ifindex,
    }
}

fn real_server_from(r: PyRealServer) -> PyResult<RealServer> {
    let device = match (r.device_type.as_str(), r.tunnel) {
        ("tunnel", Some(c)) => VipDevice::Tunnel {
            name: r.device,
            config: config_from(c)?,
        },
        ("tunnel", None) => {
            return Err(bad(
                "a tunnel real server needs its tunnel parameters".into()
            ))
        }
        ("loopback", None) => VipDevice::Loopback,
        ("dummy", None) => VipDevice::Dummy(r.device),
        (t, _) => {
            return Err(bad(format!(
                "unknown real-server device type {t:?} or tunnel parameters for a non-tunnel device"
            )))
        }
    };
    Ok(RealServer {
        device,
        vips: r.vips,
        fou: r.fou.map(fou_from),
        arp: r.arp,
        rp_filter_off: r.rp_filter_off,
    })
}

fn network(text: &str) -> PyResult<IpNetwork> {
    text.parse().map_err(|e| {
        bad(format!(
            "{text:?} is not an address with a prefix length: {e}"
        ))
    })
}

fn prepared_to(p: &Prepared) -> PyPrepared {
    PyPrepared {
        device: p.device.clone(),
        created_device: p.created_device,
        brought_up: p.brought_up,
        addresses: p.addresses.iter().map(ToString::to_string).collect(),
        sysctls: p
            .sysctls
            .iter()
            .map(|c| PySysctlChange {
                path: c.path.clone(),
                before: c.before.clone(),
                after: c.after.clone(),
            })
            .collect(),
        fou: p.fou.as_ref().map(fou_to),
    }
}

fn prepared_from(ns: lvskit::Namespace, p: PyPrepared) -> PyResult<Prepared> {
    Ok(Prepared {
        namespace: ns,
        device: p.device,
        created_device: p.created_device,
        brought_up: p.brought_up,
        addresses: p
            .addresses
            .iter()
            .map(|a| network(a))
            .collect::<PyResult<_>>()?,
        sysctls: p
            .sysctls
            .into_iter()
            .map(|c| SysctlChange {
                path: c.path,
                before: c.before,
                after: c.after,
            })
            .collect(),
        fou: p.fou.map(fou_from),
    })
}

/// A device named by name or index.
#[derive(FromPyObject)]
enum PyDev {
    Index(u32),
    Name(String),
}

impl PyDev {
    fn dev(&self) -> Dev<'_> {
        match self {
            PyDev::Index(i) => Dev::Index(*i),
            PyDev::Name(n) => Dev::Name(n),
        }
    }
}

fn timeout(seconds: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            bad(format!(
                "timeout must be a positive number of seconds, not {seconds}"
            ))
        })
}

// ------------------------------------------------------------------ pure functions

/// Checks tunnel parameters (a `TunnelConfig.to_dict()`) with the core's validator.
#[pyfunction]
fn check_tunnel_config(py: Python<'_>, config: &Bound<'_, PyAny>) -> PyResult<()> {
    let c = config_from(from_obj("tunnel parameters", config)?)?;
    c.validate().map_err(|e| to_py(py, e))
}

/// Checks a new link (a `NewLink.to_dict()`) with the core's validator.
#[pyfunction]
fn check_new_link(py: Python<'_>, new: &Bound<'_, PyAny>) -> PyResult<()> {
    let n = new_link_from(from_obj("new link", new)?)?;
    n.validate().map_err(|e| to_py(py, e))
}

/// Checks a FOU port (a `FouPort.to_dict()`) with the core's validator.
#[pyfunction]
fn check_fou_port(py: Python<'_>, port: &Bound<'_, PyAny>) -> PyResult<()> {
    fou_from(from_obj("FOU port", port)?)
        .validate()
        .map_err(|e| to_py(py, e))
}

/// Checks a real server (a `RealServer.to_dict()`) with the core's validator.
#[pyfunction]
fn check_real_server(py: Python<'_>, real_server: &Bound<'_, PyAny>) -> PyResult<()> {
    let r = real_server_from(from_obj("real server", real_server)?)?;
    r.validate().map_err(|e| to_py(py, e))
}

/// Checks an interface name with the core's validator.
#[pyfunction]
fn check_ifname(py: Python<'_>, name: &str) -> PyResult<()> {
    tunnel::validate_ifname(name).map_err(|e| to_py(py, e))
}

/// The sysctls `prepare` would set for a real server, in order: `(path, value)`.
#[pyfunction]
pub(crate) fn rs_wanted_sysctls(real_server: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let r = real_server_from(from_obj("real server", real_server)?)?;
    Ok(realserver::wanted_sysctls(&r))
}

/// Reads a sysctl (a path under `/proc/sys`) in a namespace.
#[pyfunction]
#[pyo3(signature = (path, name=None, ns_path=None, fd=None))]
pub(crate) fn sysctl_read(
    py: Python<'_>,
    path: &str,
    name: Option<String>,
    ns_path: Option<PathBuf>,
    fd: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let ns = namespace(name, ns_path, fd)?;
    let path = path.to_owned();
    py.allow_threads(move || tunnel::read_sysctl(&ns, &path))
        .map_err(|e| to_py(py, e))
}

/// Writes a sysctl (a path under `/proc/sys`) in a namespace.
#[pyfunction]
#[pyo3(signature = (path, value, name=None, ns_path=None, fd=None))]
pub(crate) fn sysctl_write(
    py: Python<'_>,
    path: &str,
    value: &str,
    name: Option<String>,
    ns_path: Option<PathBuf>,
    fd: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let ns = namespace(name, ns_path, fd)?;
    let (path, value) = (path.to_owned(), value.to_owned());
    py.allow_threads(move || tunnel::write_sysctl(&ns, &path, &value))
        .map_err(|e| to_py(py, e))
}

/// Prepares a real server in a namespace; returns what was changed (a `Prepared.to_dict()`).
#[pyfunction]
#[pyo3(signature = (real_server, name=None, ns_path=None, fd=None))]
pub(crate) fn rs_prepare<'py>(
    py: Python<'py>,
    real_server: &Bound<'py, PyAny>,
    name: Option<String>,
    ns_path: Option<PathBuf>,
    fd: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let ns = namespace(name, ns_path, fd)?;
    let r = real_server_from(from_obj("real server", real_server)?)?;
    let p = py
        .allow_threads(move || realserver::prepare(&ns, &r))
        .map_err(|e| to_py(py, e))?;
    to_obj(py, &prepared_to(&p))
}

/// Undoes what `rs_prepare` recorded (its dict), in the same namespace.
#[pyfunction]
#[pyo3(signature = (prepared, name=None, ns_path=None, fd=None))]
pub(crate) fn rs_teardown(
    py: Python<'_>,
    prepared: &Bound<'_, PyAny>,
    name: Option<String>,
    ns_path: Option<PathBuf>,
    fd: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let ns = namespace(name, ns_path, fd)?;
    let p = prepared_from(ns, from_obj("prepared real server", prepared)?)?;
    py.allow_threads(move || realserver::teardown(&p))
        .map_err(|e| to_py(py, e))
}

// ------------------------------------------------------------------ handles

/// A handle on the links and addresses of one namespace (wrapped by `ipvs.tunnel.Rtnl`).
#[pyclass(frozen, module = "ipvs._ipvs", name = "RtnlHandle")]
pub struct RtnlHandle {
    inner: Slot<Rtnl>,
}

const RTNL: &str = "Rtnl";

slot_handle!(RtnlHandle, Rtnl::open);

#[pymethods]
impl RtnlHandle {
    fn set_timeout(&self, py: Python<'_>, seconds: f64) -> PyResult<()> {
        let d = timeout(seconds)?;
        self.inner.run(py, RTNL, move |h| h.set_timeout(d))
    }

    fn add_link<'py>(
        &self,
        py: Python<'py>,
        new: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let n = new_link_from(from_obj("new link", new)?)?;
        to_obj(
            py,
            &link_to(&self.inner.run(py, RTNL, move |h| h.add_link(&n))?),
        )
    }

    fn link<'py>(&self, py: Python<'py>, dev: PyDev) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner
            .run(py, RTNL, move |h| h.link(dev.dev()))?
            .map(|l| to_obj(py, &link_to(&l)))
            .transpose()
    }

    #[pyo3(signature = (tunnels_only=false))]
    fn links<'py>(&self, py: Python<'py>, tunnels_only: bool) -> PyResult<Bound<'py, PyAny>> {
        let links = self.inner.run(
            py,
            RTNL,
            move |h| {
                if tunnels_only {
                    h.tunnels()
                } else {
                    h.links()
                }
            },
        )?;
        to_obj(py, &links.iter().map(link_to).collect::<Vec<_>>())
    }

    fn set_tunnel(&self, py: Python<'_>, dev: PyDev, config: &Bound<'_, PyAny>) -> PyResult<()> {
        let c = config_from(from_obj("tunnel parameters", config)?)?;
        self.inner
            .run(py, RTNL, move |h| h.set_tunnel(dev.dev(), &c))
    }

    fn set_up(&self, py: Python<'_>, dev: PyDev, up: bool) -> PyResult<()> {
        self.inner.run(py, RTNL, move |h| h.set_up(dev.dev(), up))
    }

    fn set_mtu(&self, py: Python<'_>, dev: PyDev, mtu: u32) -> PyResult<()> {
        self.inner.run(py, RTNL, move |h| h.set_mtu(dev.dev(), mtu))
    }

    fn del_link(&self, py: Python<'_>, dev: PyDev) -> PyResult<()> {
        self.inner.run(py, RTNL, move |h| h.del_link(dev.dev()))
    }

    fn add_address(&self, py: Python<'_>, dev: PyDev, net: &str) -> PyResult<()> {
        let n = network(net)?;
        self.inner
            .run(py, RTNL, move |h| h.add_address(dev.dev(), n))
    }

    fn del_address(&self, py: Python<'_>, dev: PyDev, net: &str) -> PyResult<()> {
        let n = network(net)?;
        self.inner
            .run(py, RTNL, move |h| h.del_address(dev.dev(), n))
    }

    #[pyo3(signature = (dev=None))]
    fn addresses<'py>(&self, py: Python<'py>, dev: Option<PyDev>) -> PyResult<Bound<'py, PyAny>> {
        let addrs = self
            .inner
            .run(py, RTNL, move |h| h.addresses(dev.as_ref().map(PyDev::dev)))?;
        to_obj(py, &addrs.iter().map(address_to).collect::<Vec<_>>())
    }
}

/// A handle on the FOU receive ports of one namespace (wrapped by `ipvs.tunnel.Fou`).
#[pyclass(frozen, module = "ipvs._ipvs", name = "FouHandle")]
pub struct FouHandle {
    inner: Slot<Fou>,
}

const FOU: &str = "Fou";

slot_handle!(FouHandle, Fou::open);

#[pymethods]
impl FouHandle {
    fn add(&self, py: Python<'_>, port: &Bound<'_, PyAny>) -> PyResult<()> {
        let p = fou_from(from_obj("FOU port", port)?);
        self.inner.run(py, FOU, move |h| h.add(&p))
    }

    fn delete(&self, py: Python<'_>, port: &Bound<'_, PyAny>) -> PyResult<()> {
        let p = fou_from(from_obj("FOU port", port)?);
        self.inner.run(py, FOU, move |h| h.del(&p))
    }

    fn list<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let ports = self.inner.run(py, FOU, |h| h.list())?;
        to_obj(py, &ports.iter().map(fou_to).collect::<Vec<_>>())
    }
}

/// Adds the tunnel classes and functions to the compiled module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<RtnlHandle>()?;
    m.add_class::<FouHandle>()?;
    m.add_function(wrap_pyfunction!(check_tunnel_config, m)?)?;
    m.add_function(wrap_pyfunction!(check_new_link, m)?)?;
    m.add_function(wrap_pyfunction!(check_fou_port, m)?)?;
    m.add_function(wrap_pyfunction!(check_real_server, m)?)?;
    m.add_function(wrap_pyfunction!(check_ifname, m)?)?;
    m.add_function(wrap_pyfunction!(rs_wanted_sysctls, m)?)?;
    m.add_function(wrap_pyfunction!(sysctl_read, m)?)?;
    m.add_function(wrap_pyfunction!(sysctl_write, m)?)?;
    m.add_function(wrap_pyfunction!(rs_prepare, m)?)?;
    m.add_function(wrap_pyfunction!(rs_teardown, m)?)?;
    Ok(())
}
