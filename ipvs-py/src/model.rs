//! The value classes of the Python package as native classes (`ipvs.ServiceKey`,
//! `ipvs.Service`, `ipvs.Destination`, `ipvs.Operation`, ...).
//!
//! Each wraps the core's Rust value: arguments are checked and parsed here
//! (address text straight to `IpAddr`), the core's validators run on every
//! value built, and `ipaddress` objects and enum members (`enums.rs`) are
//! only made when an attribute is read. The batch, table and plan functions
//! at the end hand these values to the core without any JSON; `to_json` and
//! `from_json` (and `to_dict`/`from_dict`, the serde form) are conveniences
//! for users only. Messages and exception types are those of the former
//! pure-Python classes (a refused value is an `InvalidInputError`).

use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use lvskit::table::{self, DiffOptions, Scope};
use lvskit::{
    BatchMode, Destination, EncapFlags, Family, Forward, Netmask, Operation, Persistence, Protocol,
    Scheduler, Service, ServiceFlags, ServiceKey, SyncDaemon, SyncState, Timeouts, Tunnel,
};
use pyo3::basic::CompareOp;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyBool, PyBytes, PyDict, PyInt, PyString, PyTuple, PyType};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::enums::{
    PyEnum, ENCAP_FLAGS, FAMILY, FORWARDING, OPERATION_KIND, PROTOCOL, SCHEDULER, SERVICE_FLAGS,
    SYNC_STATE, TUNNEL_TYPE,
};
use crate::settings::{PySyncDaemon, PyTimeouts};
use crate::tables::{table_in, table_out, PyTable};
use crate::types;
use crate::value::{copy_getters, shared_methods};
use crate::{dicts, outcomes, to_py, Handle, PyOutcome};

// ---------------------------------------------------------------- Python objects used here

static IPV4: GILOnceCell<Py<PyType>> = GILOnceCell::new();
static IPV6: GILOnceCell<Py<PyType>> = GILOnceCell::new();
static JSON_DUMPS: GILOnceCell<Py<PyAny>> = GILOnceCell::new();

fn ipv4_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    IPV4.import(py, "ipaddress", "IPv4Address")
}

fn ipv6_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    IPV6.import(py, "ipaddress", "IPv6Address")
}

pub(crate) fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".to_string())
}

pub(crate) fn py_repr(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(obj.repr()?.to_string())
}

// ---------------------------------------------------------------- argument parsing

/// An address given as text or as an `ipaddress` object.
pub(crate) fn addr_in(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<IpAddr> {
    if let Ok(s) = obj.downcast::<PyString>() {
        let text = s.to_cow()?;
        return crate::addr_text::parse(&text).map_err(|_| {
            crate::errors::refused(format!(
                "{what}: {} is not an IP address",
                py_repr(obj).unwrap_or_else(|_| format!("{text:?}"))
            ))
        });
    }
    let py = obj.py();
    if obj.is_instance(ipv4_type(py)?)? {
        let n: u32 = obj.call_method0("__int__")?.extract()?;
        return Ok(IpAddr::V4(Ipv4Addr::from(n)));
    }
    if obj.is_instance(ipv6_type(py)?)? {
        let packed = obj.getattr("packed")?;
        let bytes: [u8; 16] = packed
            .downcast::<PyBytes>()?
            .as_bytes()
            .try_into()
            .map_err(|_| crate::errors::refused(format!("{what}: not a 16-byte IPv6 address")))?;
        return Ok(IpAddr::V6(Ipv6Addr::from(bytes)));
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be an IP address or a string, not {}",
        type_name(obj)
    )))
}

/// The `ipaddress` object of an address.
pub(crate) fn addr_out<'py>(py: Python<'py>, addr: &IpAddr) -> PyResult<Bound<'py, PyAny>> {
    match addr {
        IpAddr::V4(a) => ipv4_type(py)?.call1((u32::from(*a),)),
        IpAddr::V6(a) => ipv6_type(py)?.call1((u128::from(*a),)),
    }
}

/// An int in `lo..=hi` (bool refused).
pub(crate) fn int_in(obj: &Bound<'_, PyAny>, what: &str, lo: i64, hi: i64) -> PyResult<i64> {
    if obj.is_instance_of::<PyBool>() || !obj.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "{what} must be an int, not {}",
            type_name(obj)
        )));
    }
    match obj.extract::<i64>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(v),
        _ => Err(crate::invalid_input(
            format!("{what} {} is outside {lo}..={hi}", obj.str()?),
            what,
        )),
    }
}

/// An int for a value in `0..=max` (a weight, a threshold). One the core can
/// hold (`0..=u32::MAX`) goes to the core's validation, which names the
/// kernel's range; a negative or larger one is refused here against the same
/// range, as `InvalidInputError`.
fn bounded_in(obj: &Bound<'_, PyAny>, what: &str, max: u32) -> PyResult<u32> {
    match int_in(obj, what, 0, i64::from(u32::MAX)) {
        Ok(v) => Ok(v as u32),
        Err(e) if e.is_instance_of::<PyValueError>(obj.py()) => checked(
            obj.py(),
            Err(lvskit::Error::InvalidInput {
                context: "destination".into(),
                reason: format!("{what} {} is outside 0..={max}", obj.str()?),
            }),
        ),
        Err(e) => Err(e),
    }
}

pub(crate) fn u16_in(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<u16> {
    Ok(int_in(obj, what, 0, 0xFFFF)? as u16)
}

pub(crate) fn u32_in(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<u32> {
    Ok(int_in(obj, what, 0, 0xFFFF_FFFF)? as u32)
}

/// An optional `u32` argument, 0 when not given.
pub(crate) fn u32_or_zero(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<u32> {
    obj.map(|o| u32_in(o, what))
        .transpose()
        .map(Option::unwrap_or_default)
}

pub(crate) fn opt<'a, 'py>(obj: Option<&'a Bound<'py, PyAny>>) -> Option<&'a Bound<'py, PyAny>> {
    obj.filter(|o| !o.is_none())
}

pub(crate) fn checked<T>(py: Python<'_>, r: lvskit::Result<T>) -> PyResult<T> {
    r.map_err(|e| to_py(py, e))
}

pub(crate) fn hash_of<T: Hash>(v: &T) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

pub(crate) fn json_of<T: Serialize>(v: &T) -> PyResult<String> {
    serde_json::to_string(v)
        .map_err(|e| crate::errors::refused(format!("cannot encode a value: {e}")))
}

pub(crate) fn parse_json<T: DeserializeOwned>(what: &str, text: &str) -> PyResult<T> {
    serde_json::from_str(text).map_err(|e| crate::errors::refused(format!("invalid {what}: {e}")))
}

/// `json.dumps(data)`: the serde form of a dict built in Python.
pub(crate) fn dumps(data: &Bound<'_, PyAny>) -> PyResult<String> {
    JSON_DUMPS
        .import(data.py(), "json", "dumps")?
        .call1((data,))?
        .extract()
}

pub(crate) fn richcmp<T: PartialEq>(
    py: Python<'_>,
    a: &T,
    b: Option<&T>,
    op: CompareOp,
) -> PyObject {
    match (b, op) {
        (Some(b), CompareOp::Eq) => PyBool::new(py, a == b).to_owned().into_any().unbind(),
        (Some(b), CompareOp::Ne) => PyBool::new(py, a != b).to_owned().into_any().unbind(),
        _ => py.NotImplemented(),
    }
}

/// Python's `repr` of a text.
fn str_repr(py: Python<'_>, s: &str) -> PyResult<String> {
    py_repr(PyString::new(py, s).as_any())
}

/// A copy of `obj` with some fields changed: the class called with every
/// field in `fields` (as keyword arguments, those that are `None` left out)
/// and `changes` over them; a name that is no field is a `TypeError`.
pub(crate) fn replaced<'py>(
    obj: &Bound<'py, PyAny>,
    fields: &[&str],
    changes: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    replaced_taking(obj, fields, fields, changes)
}

/// As [`replaced`], the copy built from the current values of `taken` only
/// (the fields this value's constructor takes, a part of `fields`: an
/// `add_service` operation has a `key` to read but takes none).
pub(crate) fn replaced_taking<'py>(
    obj: &Bound<'py, PyAny>,
    fields: &[&str],
    taken: &[&str],
    changes: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    let kwargs = PyDict::new(py);
    for f in taken {
        let v = obj.getattr(*f)?;
        if !v.is_none() {
            kwargs.set_item(*f, v)?;
        }
    }
    if let Some(changes) = changes {
        for (k, v) in changes.iter() {
            let name: String = k.extract()?;
            if !fields.contains(&name.as_str()) {
                return Err(PyTypeError::new_err(format!(
                    "{}.replace() got an unexpected keyword argument '{name}'",
                    type_name(obj)
                )));
            }
            kwargs.set_item(k, v)?;
        }
    }
    obj.get_type().call((), Some(&kwargs))
}

/// What `__reduce__` returns: a callable and its arguments.
type Reduced<'py, A> = (Bound<'py, PyAny>, A);

// ---------------------------------------------------------------- service keys

/// What identifies a virtual service: [`InetKey`] or [`FwmarkKey`].
#[pyclass(frozen, subclass, module = "ipvs", name = "ServiceKey")]
pub struct PyServiceKey {
    pub(crate) key: ServiceKey,
}

/// A key made from its core value: an `InetKey` or a `FwmarkKey`.
pub(crate) fn key_out<'py>(py: Python<'py>, key: ServiceKey) -> PyResult<Bound<'py, PyAny>> {
    let base = PyClassInitializer::from(PyServiceKey { key });
    Ok(match key {
        ServiceKey::Inet { .. } => types::new_object(py, base.add_subclass(InetKey))?.into_any(),
        ServiceKey::Fwmark { .. } => {
            types::new_object(py, base.add_subclass(FwmarkKey))?.into_any()
        }
    })
}

pub(crate) fn key_in(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<ServiceKey> {
    match types::downcast_key(obj) {
        Some(k) => Ok(k.get().key),
        None => Err(PyTypeError::new_err(format!(
            "{what} must be a ServiceKey, not {}",
            type_name(obj)
        ))),
    }
}

fn inet_key(
    py: Python<'_>,
    protocol: Protocol,
    addr: &Bound<'_, PyAny>,
    port: &Bound<'_, PyAny>,
) -> PyResult<ServiceKey> {
    let key = ServiceKey::Inet {
        protocol,
        addr: addr_in(addr, "virtual address")?,
        port: u16_in(port, "port")?,
    };
    checked(py, key.validate())?;
    Ok(key)
}

/// A known value as its enum member, an unknown one (`raw`) as its number.
pub(crate) fn member_or_raw<'py, T>(
    py: Python<'py>,
    e: &PyEnum<T>,
    v: &T,
    raw: Option<u32>,
) -> PyResult<Bound<'py, PyAny>> {
    match (e.member(py, v)?, raw) {
        (Some(m), _) => Ok(m),
        (None, Some(n)) => Ok(n.into_pyobject(py)?.into_any()),
        (None, None) => Err(crate::errors::refused(format!(
            "a value with no member of {}",
            e.name
        ))),
    }
}

/// The number of a protocol this library does not know.
fn protocol_raw(p: Protocol) -> Option<u32> {
    match p {
        Protocol::Unknown(n) => Some(u32::from(n)),
        _ => None,
    }
}

fn family_out(py: Python<'_>, f: Family) -> PyResult<Bound<'_, PyAny>> {
    member_or_raw(py, &FAMILY, &f, None)
}

fn fwmark_key(
    py: Python<'_>,
    mark: &Bound<'_, PyAny>,
    family: Option<&Bound<'_, PyAny>>,
) -> PyResult<ServiceKey> {
    let mark = u32_in(mark, "firewall mark")?;
    let family = match family {
        Some(f) => *FAMILY.parse(f, "family")?,
        None => Family::Ipv4,
    };
    let key = ServiceKey::Fwmark { family, mark };
    checked(py, key.validate())?;
    Ok(key)
}

#[pymethods]
impl PyServiceKey {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        Err(PyTypeError::new_err(
            "build a key with ServiceKey.tcp(), .udp(), .sctp() or .fwmark()",
        ))
    }

    /// A TCP service key (``-t addr:port``).
    #[staticmethod]
    fn tcp<'py>(addr: &Bound<'py, PyAny>, port: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = addr.py();
        key_out(py, inet_key(py, Protocol::Tcp, addr, port)?)
    }

    /// A UDP service key (``-u addr:port``).
    #[staticmethod]
    fn udp<'py>(addr: &Bound<'py, PyAny>, port: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = addr.py();
        key_out(py, inet_key(py, Protocol::Udp, addr, port)?)
    }

    /// An SCTP service key (``--sctp-service addr:port``).
    #[staticmethod]
    fn sctp<'py>(
        addr: &Bound<'py, PyAny>,
        port: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = addr.py();
        key_out(py, inet_key(py, Protocol::Sctp, addr, port)?)
    }

    /// A firewall-mark service key (``-f mark``).
    #[staticmethod]
    #[pyo3(signature = (mark, family=None), text_signature = "(mark, family=...)")]
    fn fwmark<'py>(
        mark: &Bound<'py, PyAny>,
        family: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = mark.py();
        key_out(py, fwmark_key(py, mark, family)?)
    }

    /// The service's address family.
    #[getter]
    fn family<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        family_out(py, self.key.family())
    }

    /// A copy with some fields changed: ``protocol``, ``addr``, ``port``
    /// of an :class:`InetKey`, ``mark``, ``family`` of a :class:`FwmarkKey`.
    #[pyo3(signature = (**changes))]
    fn replace<'py>(
        slf: &Bound<'py, Self>,
        changes: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let fields: &[&str] = match slf.get().key {
            ServiceKey::Inet { .. } => &["protocol", "addr", "port"],
            ServiceKey::Fwmark { .. } => &["mark", "family"],
        };
        replaced(slf.as_any(), fields, changes)
    }

    /// The constructor's keyword arguments: ``{"protocol", "addr", "port"}``
    /// of an :class:`InetKey`, ``{"mark", "family"}`` of a :class:`FwmarkKey`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dicts::key_dict(py, &self.key)
    }

    /// A key from its ``to_dict()`` (an :class:`InetKey` or, with ``mark``,
    /// a :class:`FwmarkKey`) or from the core's serde form
    /// (``{"inet": {...}}``, ``{"fwmark": {...}}``).
    #[classmethod]
    fn from_dict<'py>(
        _cls: &Bound<'py, PyType>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        Self::from_any_dict(data)
    }

    /// Parses the core's serde JSON form.
    #[classmethod]
    fn from_json<'py>(cls: &Bound<'py, PyType>, text: &str) -> PyResult<Bound<'py, PyAny>> {
        Self::parse(cls.py(), text)
    }

    fn __str__(&self) -> String {
        self.key.to_string()
    }

    fn __repr__(&self) -> String {
        match self.key {
            ServiceKey::Inet {
                protocol,
                addr,
                port,
            } => match PROTOCOL.value_of(&protocol) {
                Some(p) => format!("ServiceKey.{p}('{addr}', {port})"),
                // an unknown protocol, as listed: no constructor makes one
                None => format!(
                    "<InetKey protocol {} '{addr}', {port}>",
                    protocol_raw(protocol).unwrap_or_default()
                ),
            },
            ServiceKey::Fwmark { family, mark } => {
                let fam = if family == Family::Ipv4 {
                    ""
                } else {
                    ", Family.IPV6"
                };
                format!("ServiceKey.fwmark({mark}{fam})")
            }
        }
    }
}

shared_methods!(PyServiceKey: to_json(key), eq_hash(key), reduce_json);

impl PyServiceKey {
    /// A key from a dict of either form (see `from_dict`).
    pub(crate) fn from_any_dict<'py>(data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        if dicts::is_serde_key(data) {
            Self::parse(data.py(), &dumps(data)?)
        } else if dicts::has(data, "mark") {
            dicts::build::<FwmarkKey>(data, "service key")
        } else {
            dicts::build::<InetKey>(data, "service key")
        }
    }

    fn parse<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
        let key: ServiceKey = parse_json("service key", text)?;
        checked(py, key.validate())?;
        key_out(py, key)
    }
}

/// A service identified by protocol, virtual address and port.
#[pyclass(frozen, extends = PyServiceKey, module = "ipvs", name = "InetKey")]
pub struct InetKey;

#[pymethods]
impl InetKey {
    #[new]
    fn new(
        protocol: &Bound<'_, PyAny>,
        addr: &Bound<'_, PyAny>,
        port: &Bound<'_, PyAny>,
    ) -> PyResult<(Self, PyServiceKey)> {
        let py = protocol.py();
        let p = *PROTOCOL.parse(protocol, "protocol")?;
        Ok((
            InetKey,
            PyServiceKey {
                key: inet_key(py, p, addr, port)?,
            },
        ))
    }

    /// The transport protocol.
    #[getter]
    fn protocol<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        match slf.as_super().get().key {
            ServiceKey::Inet { protocol, .. } => {
                member_or_raw(slf.py(), &PROTOCOL, &protocol, protocol_raw(protocol))
            }
            ServiceKey::Fwmark { .. } => Err(crate::errors::refused("not an inet key")),
        }
    }

    /// The virtual address.
    #[getter]
    fn addr<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        match slf.as_super().get().key {
            ServiceKey::Inet { addr, .. } => addr_out(slf.py(), &addr),
            ServiceKey::Fwmark { .. } => Err(crate::errors::refused("not an inet key")),
        }
    }

    /// The port.
    #[getter]
    fn port(slf: &Bound<'_, Self>) -> PyResult<u16> {
        match slf.as_super().get().key {
            ServiceKey::Inet { port, .. } => Ok(port),
            ServiceKey::Fwmark { .. } => Err(crate::errors::refused("not an inet key")),
        }
    }
}

/// A service identified by a firewall mark (non-zero) and an address family.
#[pyclass(frozen, extends = PyServiceKey, module = "ipvs", name = "FwmarkKey")]
pub struct FwmarkKey;

#[pymethods]
impl FwmarkKey {
    #[new]
    #[pyo3(signature = (mark, family=None), text_signature = "(mark, family=...)")]
    fn new(
        mark: &Bound<'_, PyAny>,
        family: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<(Self, PyServiceKey)> {
        let py = mark.py();
        Ok((
            FwmarkKey,
            PyServiceKey {
                key: fwmark_key(py, mark, family)?,
            },
        ))
    }

    /// The firewall mark.
    #[getter]
    fn mark(slf: &Bound<'_, Self>) -> PyResult<u32> {
        match slf.as_super().get().key {
            ServiceKey::Fwmark { mark, .. } => Ok(mark),
            ServiceKey::Inet { .. } => Err(crate::errors::refused("not a firewall-mark key")),
        }
    }
}

// ---------------------------------------------------------------- persistence

const PERSISTENCE_FIELDS: &[&str] = &["timeout", "netmask"];

/// Client affinity (``-p timeout -M netmask``).
///
/// ``netmask`` is an IPv4 netmask for IPv4 services, a prefix length for
/// IPv6 ones; ``None`` (the default) means per client address and is
/// resolved when the :class:`Service` is built.
#[pyclass(frozen, module = "ipvs", name = "Persistence")]
pub struct PyPersistence {
    timeout: u32,
    netmask: Option<Netmask>,
}

fn netmask_out<'py>(py: Python<'py>, nm: Option<Netmask>) -> PyResult<Bound<'py, PyAny>> {
    match nm {
        None => Ok(py.None().into_bound(py)),
        Some(Netmask::V4(a)) => addr_out(py, &IpAddr::V4(a)),
        Some(Netmask::V6(p)) => Ok(p.into_pyobject(py)?.into_any()),
    }
}

fn persistence_out(py: Python<'_>, p: Option<Persistence>) -> PyResult<Bound<'_, PyAny>> {
    match p {
        None => Ok(py.None().into_bound(py)),
        Some(p) => Ok(Bound::new(
            py,
            PyPersistence {
                timeout: p.timeout,
                netmask: Some(p.netmask),
            },
        )?
        .into_any()),
    }
}

#[pymethods]
impl PyPersistence {
    #[classattr]
    const DEFAULT_TIMEOUT: u32 = 300;

    #[classattr]
    const MAX_TIMEOUT: u32 = Persistence::MAX_TIMEOUT;

    #[new]
    #[pyo3(signature = (timeout=None, netmask=None), text_signature = "(timeout=300, netmask=None)")]
    fn new(
        timeout: Option<&Bound<'_, PyAny>>,
        netmask: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let timeout = match timeout {
            Some(t) => u32_in(t, "persistence timeout")?,
            None => 300,
        };
        let netmask = match opt(netmask) {
            None => None,
            Some(nm) => {
                let py = nm.py();
                if let Ok(s) = nm.downcast::<PyString>() {
                    match s.to_cow()?.parse::<Ipv4Addr>() {
                        Ok(a) => Some(Netmask::V4(a)),
                        Err(_) => {
                            return Err(crate::errors::refused(format!(
                                "netmask {} is not an IPv4 netmask",
                                py_repr(nm)?
                            )))
                        }
                    }
                } else if nm.is_instance(ipv4_type(py)?)? {
                    match addr_in(nm, "netmask")? {
                        IpAddr::V4(a) => Some(Netmask::V4(a)),
                        IpAddr::V6(_) => None,
                    }
                } else {
                    Some(Netmask::V6(int_in(nm, "IPv6 prefix length", 0, 255)? as u8))
                }
            }
        };
        Ok(PyPersistence { timeout, netmask })
    }

    /// Seconds a client stays with its real server.
    #[getter]
    fn timeout(&self) -> u32 {
        self.timeout
    }

    /// An ``IPv4Address`` netmask, a prefix length, or ``None``.
    #[getter]
    fn netmask<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        netmask_out(py, self.netmask)
    }

    /// The constructor's keyword arguments: ``{"timeout", "netmask"}``, the
    /// netmask as text (IPv4), a prefix length (IPv6) or ``None``.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dicts::persistence_dict(py, self.timeout, self.netmask)
    }

    /// The value in the core's serde JSON form.
    fn to_json(&self) -> PyResult<String> {
        json_of(&self.resolved()?)
    }

    /// A persistence from its ``to_dict()`` or from the core's serde form
    /// (a netmask of ``{"v4": ...}`` or ``{"v6": ...}``).
    #[classmethod]
    fn from_dict(_cls: &Bound<'_, PyType>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let serde = dicts::item(data, "netmask").is_some_and(|n| n.is_instance_of::<PyDict>());
        if serde {
            return Self::parse(&dumps(data)?);
        }
        let built = dicts::build::<PyPersistence>(data, "persistence")?;
        let p = built.downcast::<PyPersistence>()?.get();
        Ok(PyPersistence {
            timeout: p.timeout,
            netmask: p.netmask,
        })
    }

    /// Parses the core's serde JSON form.
    #[classmethod]
    fn from_json(_cls: &Bound<'_, PyType>, text: &str) -> PyResult<Self> {
        Self::parse(text)
    }

    fn __repr__(&self) -> String {
        match self.netmask {
            None => format!("Persistence({})", self.timeout),
            Some(Netmask::V4(a)) => format!("Persistence({}, '{a}')", self.timeout),
            Some(Netmask::V6(p)) => format!("Persistence({}, {p})", self.timeout),
        }
    }

    fn __hash__(&self) -> u64 {
        hash_of(&(self.timeout, self.netmask))
    }

    fn __richcmp__(&self, py: Python<'_>, other: &Bound<'_, PyAny>, op: CompareOp) -> PyObject {
        let o = other
            .downcast::<PyPersistence>()
            .ok()
            .map(|o| (o.get().timeout, o.get().netmask));
        richcmp(py, &(self.timeout, self.netmask), o.as_ref(), op)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py, (u32, Bound<'py, PyAny>)>> {
        let py = slf.py();
        let me = slf.get();
        let nm = match me.netmask {
            Some(Netmask::V4(a)) => PyString::new(py, &a.to_string()).into_any(),
            other => netmask_out(py, other)?,
        };
        Ok((slf.get_type().into_any(), (me.timeout, nm)))
    }
}

shared_methods!(PyPersistence:
    replace_method(PERSISTENCE_FIELDS, "A copy with ``timeout`` or ``netmask`` changed."));

impl PyPersistence {
    fn resolved(&self) -> PyResult<Persistence> {
        match self.netmask {
            Some(netmask) => Ok(Persistence {
                timeout: self.timeout,
                netmask,
            }),
            None => Err(crate::errors::refused(
                "the netmask of a persistence outside a Service is not resolved",
            )),
        }
    }

    fn parse(text: &str) -> PyResult<Self> {
        let p: Persistence = parse_json("persistence", text)?;
        Ok(PyPersistence {
            timeout: p.timeout,
            netmask: Some(p.netmask),
        })
    }
}

// ---------------------------------------------------------------- services

const SERVICE_FIELDS: &[&str] = &["key", "scheduler", "flags", "persistence", "pe"];

/// A virtual service: its key and configuration (ipvsadm's defaults: ``wlc``, no persistence).
#[pyclass(frozen, module = "ipvs", name = "Service")]
pub struct PyService {
    pub(crate) inner: Service,
}

fn scheduler_out<'py>(py: Python<'py>, s: &Scheduler) -> PyResult<Bound<'py, PyAny>> {
    match SCHEDULER.member(py, s)? {
        Some(m) => Ok(m),
        None => Ok(PyString::new(py, s.name()).into_any()),
    }
}

/// Service flags in Python's words, the scheduler flags by the scheduler's
/// names (`ServiceFlags.SH_PORT` for `sh`, `MH_PORT` for `mh`, else `SCHED_2`).
fn flags_repr(flags: ServiceFlags, scheduler: &Scheduler) -> String {
    let (one, two) = match scheduler {
        Scheduler::SourceHashing => ("SH_FALLBACK", "SH_PORT"),
        Scheduler::MaglevHashing => ("MH_FALLBACK", "MH_PORT"),
        _ => ("SCHED_1", "SCHED_2"),
    };
    let names = [
        (ServiceFlags::ONE_PACKET, "ONE_PACKET"),
        (ServiceFlags::SCHED_1, one),
        (ServiceFlags::SCHED_2, two),
        (ServiceFlags::SCHED_3, "SCHED_3"),
    ];
    let mut parts: Vec<String> = names
        .iter()
        .filter(|(bit, _)| flags.contains(*bit))
        .map(|(_, name)| format!("ServiceFlags.{name}"))
        .collect();
    let rest = flags.bits() & !ServiceFlags::all().bits();
    if rest != 0 {
        parts.push(format!("ServiceFlags({rest:#x})"));
    }
    parts.join("|")
}

pub(crate) fn scheduler_in(obj: &Bound<'_, PyAny>) -> PyResult<Scheduler> {
    let py = obj.py();
    if obj.is_instance(SCHEDULER.class(py)?)? {
        return Ok(SCHEDULER.parse(obj, "scheduler")?.clone());
    }
    if let Ok(s) = obj.downcast::<PyString>() {
        return checked(py, Scheduler::from_name(&s.to_cow()?));
    }
    Err(PyTypeError::new_err(format!(
        "scheduler must be a Scheduler or a string, not {}",
        type_name(obj)
    )))
}

pub(crate) fn service_in(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Service> {
    match types::downcast::<PyService>(obj) {
        Some(s) => Ok(s.get().inner.clone()),
        None => Err(PyTypeError::new_err(format!(
            "{what} must be a Service, not {}",
            type_name(obj)
        ))),
    }
}

pub(crate) fn service_out(py: Python<'_>, s: Service) -> PyResult<Bound<'_, PyAny>> {
    Ok(types::new_object(py, PyService { inner: s })?.into_any())
}

#[pymethods]
impl PyService {
    /// A service as a kernel listing holds it (serde form), not validated:
    /// unknown protocols, a persistence timeout of 0 and names that are not
    /// UTF-8 (in the `:xx` text form) are kept.
    #[classmethod]
    fn _from_kernel(_cls: &Bound<'_, PyType>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let s: Service = parse_json("service", &dumps(data)?)?;
        Ok(PyService { inner: s })
    }

    #[new]
    #[pyo3(
        signature = (key, *, scheduler=None, flags=None, persistence=None, pe=None),
        text_signature = "(key, *, scheduler=None, flags=None, persistence=None, pe=None)"
    )]
    fn new(
        key: &Bound<'_, PyAny>,
        scheduler: Option<&Bound<'_, PyAny>>,
        flags: Option<&Bound<'_, PyAny>>,
        persistence: Option<&Bound<'_, PyAny>>,
        pe: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let py = key.py();
        let key = dicts::key_arg(key, "key")?;
        let mut s = Service::new(key);
        // None is the default (wlc, no flags), as the stubs say
        if let Some(sch) = opt(scheduler) {
            s.scheduler = scheduler_in(sch)?;
        }
        if let Some(f) = opt(flags) {
            s.flags = ServiceFlags::from_bits_retain(SERVICE_FLAGS.parse(f, "service flags")?);
        }
        s.persistence = match opt(persistence) {
            None => None,
            Some(p) => {
                let p = &dicts::via_dict::<PyPersistence>(p)?;
                let (timeout, netmask) = if let Ok(pp) = p.downcast::<PyPersistence>() {
                    (pp.get().timeout, pp.get().netmask)
                } else if p.is_instance_of::<PyInt>() && !p.is_instance_of::<PyBool>() {
                    (u32_in(p, "persistence timeout")?, None)
                } else {
                    return Err(PyTypeError::new_err(format!(
                        "persistence must be a Persistence, an int or None, not {}",
                        type_name(p)
                    )));
                };
                Some(Persistence {
                    timeout,
                    netmask: netmask.unwrap_or_else(|| Netmask::full(key.family())),
                })
            }
        };
        s.pe = match opt(pe) {
            None => None,
            Some(p) => match p.downcast::<PyString>() {
                Ok(text) => Some(checked(py, lvskit::Name::new(text.to_cow()?.into_owned()))?),
                Err(_) => {
                    return Err(PyTypeError::new_err(format!(
                        "pe must be a string or None, not {}",
                        type_name(p)
                    )))
                }
            },
        };
        checked(py, s.validate())?;
        Ok(PyService { inner: s })
    }

    /// The service's key.
    #[getter]
    fn key<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        key_out(py, self.inner.key)
    }

    /// A :class:`Scheduler`, or the name of another scheduler module.
    #[getter]
    fn scheduler<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        scheduler_out(py, &self.inner.scheduler)
    }

    /// The kernel's name of the scheduler.
    #[getter]
    fn scheduler_name(&self) -> &str {
        self.inner.scheduler.name()
    }

    /// One-packet scheduling and scheduler flags.
    #[getter]
    fn flags<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        SERVICE_FLAGS.make(py, self.inner.flags.bits())
    }

    /// Persistence, with its netmask resolved, or ``None``.
    #[getter]
    fn persistence<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        persistence_out(py, self.inner.persistence)
    }

    /// The persistence engine, or ``None``.
    #[getter]
    fn pe(&self) -> Option<&str> {
        self.inner.pe.as_ref().map(|n| n.as_str())
    }

    /// The constructor's keyword arguments: ``key`` (its own ``to_dict()``),
    /// ``scheduler`` (the kernel's name), ``flags`` (bits), ``persistence``
    /// (its own ``to_dict()`` or ``None``), ``pe``.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dicts::service_dict(py, &self.inner)
    }

    /// A service from its ``to_dict()`` or from the core's serde form (a
    /// ``key`` of ``{"inet": ...}`` or ``{"fwmark": ...}``).
    #[classmethod]
    fn from_dict(_cls: &Bound<'_, PyType>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        if dicts::item(data, "key").is_some_and(|k| dicts::is_serde_key(&k)) {
            return Self::parse(data.py(), &dumps(data)?);
        }
        let built = dicts::build::<PyService>(data, "service")?;
        Ok(PyService {
            inner: built.downcast::<PyService>()?.get().inner.clone(),
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let s = &self.inner;
        let mut parts = vec![PyServiceKey { key: s.key }.__repr__()];
        if s.scheduler != Scheduler::WeightedLeastConnection {
            parts.push(format!(
                "scheduler={}",
                py_repr(&scheduler_out(py, &s.scheduler)?)?
            ));
        }
        if !s.flags.is_empty() {
            parts.push(format!("flags={}", flags_repr(s.flags, &s.scheduler)));
        }
        if let Some(p) = s.persistence {
            let pp = PyPersistence {
                timeout: p.timeout,
                netmask: Some(p.netmask),
            };
            parts.push(format!("persistence={}", pp.__repr__()));
        }
        if let Some(pe) = &s.pe {
            parts.push(format!("pe={}", str_repr(py, pe.as_str())?));
        }
        Ok(format!("Service({})", parts.join(", ")))
    }

    /// Reads like a service line of ``ipvsadm -Ln``.
    fn __str__(&self) -> String {
        self.inner.to_string()
    }
}

shared_methods!(PyService:
    replace_method(SERVICE_FIELDS, "A copy with some fields changed (keyword arguments of the\n\
        constructor: ``key``, ``scheduler``, ``flags``, ``persistence``,\n\
        ``pe``), checked as the constructor checks."),
    to_json(inner), from_json_parsed, eq_hash(inner), reduce_json);

impl PyService {
    fn parse(py: Python<'_>, text: &str) -> PyResult<Self> {
        let s: Service = parse_json("service", text)?;
        checked(py, s.validate())?;
        Ok(PyService { inner: s })
    }
}

// ---------------------------------------------------------------- destinations

const DESTINATION_FIELDS: &[&str] = &[
    "addr",
    "port",
    "forwarding",
    "weight",
    "upper_threshold",
    "lower_threshold",
    "tunnel",
    "tunnel_port",
    "tunnel_flags",
];

/// A real server (ipvsadm's defaults: weight 1, direct routing, no thresholds).
///
/// With ``forwarding=Forwarding.TUNNEL``, ``tunnel`` picks the encapsulation
/// (``--tun-type``), ``tunnel_port`` the GUE port (``--tun-port``) and
/// ``tunnel_flags`` the checksum options.
#[pyclass(frozen, module = "ipvs", name = "Destination")]
pub struct PyDestination {
    pub(crate) inner: Destination,
}

/// The number of a forwarding method this library does not know.
fn forwarding_raw(f: &Forward) -> Option<u32> {
    match f {
        Forward::Unknown(n) => Some(*n),
        _ => None,
    }
}

/// The forwarding of a destination's arguments: tunnel options only with
/// tunnel forwarding, a port only for GUE, checksum options not for IPIP.
fn tunnel_forward(fwd: Forward, tun: Tunnel, port: u16, bits: u16) -> PyResult<Forward> {
    let is_tunnel = matches!(fwd, Forward::Tunnel(_));
    if !is_tunnel && (tun != Tunnel::Ipip || port != 0 || bits != 0) {
        return Err(crate::errors::refused(
            "tunnel options need forwarding=Forwarding.TUNNEL",
        ));
    }
    if !matches!(tun, Tunnel::Gue { .. }) && port != 0 {
        return Err(crate::errors::refused(
            "a tunnel port applies to GUE tunnels only",
        ));
    }
    if tun == Tunnel::Ipip && bits != 0 {
        return Err(crate::errors::refused(
            "checksum options apply to GUE and GRE tunnels only",
        ));
    }
    let flags = EncapFlags::from_bits_retain(bits);
    Ok(match (fwd, tun) {
        (Forward::Tunnel(_), Tunnel::Gue { .. }) => Forward::Tunnel(Tunnel::Gue { port, flags }),
        (Forward::Tunnel(_), Tunnel::Gre { .. }) => Forward::Tunnel(Tunnel::Gre { flags }),
        (Forward::Tunnel(_), _) => Forward::Tunnel(Tunnel::Ipip),
        (other, _) => other,
    })
}

pub(crate) fn destination_in(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Destination> {
    match types::downcast::<PyDestination>(obj) {
        Some(d) => Ok(d.get().inner),
        None => Err(PyTypeError::new_err(format!(
            "{what} must be a Destination, not {}",
            type_name(obj)
        ))),
    }
}

pub(crate) fn destination_out(py: Python<'_>, d: Destination) -> PyResult<Bound<'_, PyAny>> {
    Ok(types::new_object(py, PyDestination { inner: d })?.into_any())
}

#[pymethods]
impl PyDestination {
    #[classattr]
    const MAX_WEIGHT: u32 = Destination::MAX_WEIGHT;
    #[classattr]
    const MAX_THRESHOLD: u32 = Destination::MAX_THRESHOLD;

    /// A destination as a kernel listing holds it (serde form), not
    /// validated: unknown forwarding methods and tunnel types are kept.
    #[classmethod]
    fn _from_kernel(_cls: &Bound<'_, PyType>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let d: Destination = parse_json("destination", &dumps(data)?)?;
        Ok(PyDestination { inner: d })
    }

    #[new]
    #[pyo3(
        signature = (addr, port, *, forwarding=None, weight=None, upper_threshold=None, lower_threshold=None, tunnel=None, tunnel_port=None, tunnel_flags=None),
        text_signature = "(addr, port, *, forwarding=..., weight=1, upper_threshold=0, lower_threshold=0, tunnel=..., tunnel_port=0, tunnel_flags=...)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn new(
        addr: &Bound<'_, PyAny>,
        port: &Bound<'_, PyAny>,
        forwarding: Option<&Bound<'_, PyAny>>,
        weight: Option<&Bound<'_, PyAny>>,
        upper_threshold: Option<&Bound<'_, PyAny>>,
        lower_threshold: Option<&Bound<'_, PyAny>>,
        tunnel: Option<&Bound<'_, PyAny>>,
        tunnel_port: Option<&Bound<'_, PyAny>>,
        tunnel_flags: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let py = addr.py();
        let mut d = Destination::new(addr_in(addr, "real server address")?, u16_in(port, "port")?);
        let fwd = match forwarding {
            Some(f) => *FORWARDING.parse(f, "forwarding")?,
            None => Forward::DirectRoute,
        };
        if let Some(w) = weight {
            d.weight = bounded_in(w, "weight", Destination::MAX_WEIGHT)?;
        }
        if let Some(t) = upper_threshold {
            d.upper_threshold = bounded_in(t, "upper threshold", Destination::MAX_THRESHOLD)?;
        }
        if let Some(t) = lower_threshold {
            d.lower_threshold = bounded_in(t, "lower threshold", Destination::MAX_THRESHOLD)?;
        }
        let tun = match tunnel {
            Some(t) => *TUNNEL_TYPE.parse(t, "tunnel type")?,
            None => Tunnel::Ipip,
        };
        let tport = match tunnel_port {
            Some(p) => u16_in(p, "tunnel port")?,
            None => 0,
        };
        let tflags = match tunnel_flags {
            Some(f) => ENCAP_FLAGS.parse(f, "tunnel flags")? as u16,
            None => 0,
        };
        d.forward = tunnel_forward(fwd, tun, tport, tflags)?;
        checked(py, d.validate(d.family()))?;
        Ok(PyDestination { inner: d })
    }

    /// The real server's address.
    #[getter]
    fn addr<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        addr_out(py, &self.inner.addr)
    }

    /// How packets reach it.
    #[getter]
    fn forwarding<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let f = &self.inner.forward;
        member_or_raw(py, &FORWARDING, f, forwarding_raw(f))
    }

    /// The encapsulation of tunnel forwarding.
    #[getter]
    fn tunnel<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (tun, raw) = self.tunnel_type();
        member_or_raw(py, &TUNNEL_TYPE, &tun, raw)
    }

    /// The GUE port, 0 otherwise.
    #[getter]
    fn tunnel_port(&self) -> u16 {
        match self.inner.forward {
            Forward::Tunnel(Tunnel::Gue { port, .. }) => port,
            _ => 0,
        }
    }

    /// The checksum options of GUE and GRE tunnels.
    #[getter]
    fn tunnel_flags<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        ENCAP_FLAGS.make(py, u32::from(self.encap_bits()))
    }

    /// The real server's address family.
    #[getter]
    fn family<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        family_out(py, self.inner.family())
    }

    /// The constructor's keyword arguments: ``addr`` (text), ``port``,
    /// ``forwarding`` and ``tunnel`` (their values), ``weight``, the
    /// thresholds, ``tunnel_port`` and ``tunnel_flags`` (bits).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dicts::destination_dict(py, &self.inner)
    }

    /// A destination from its ``to_dict()`` or from the core's serde form
    /// (with a ``forward`` key).
    #[classmethod]
    fn from_dict(_cls: &Bound<'_, PyType>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        if dicts::has(data, "forward") {
            return Self::parse(data.py(), &dumps(data)?);
        }
        let built = dicts::build::<PyDestination>(data, "destination")?;
        Ok(PyDestination {
            inner: built.downcast::<PyDestination>()?.get().inner,
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let d = &self.inner;
        let mut parts = vec![format!("'{}'", d.addr), d.port.to_string()];
        match (&d.forward, FORWARDING.name_of(&d.forward)) {
            (Forward::DirectRoute, _) => {}
            (_, Some(name)) => parts.push(format!("forwarding=Forwarding.{name}")),
            (f, None) => parts.push(format!(
                "forwarding={}",
                forwarding_raw(f).unwrap_or_default()
            )),
        }
        if d.weight != 1 {
            parts.push(format!("weight={}", d.weight));
        }
        if d.upper_threshold != 0 {
            parts.push(format!("upper_threshold={}", d.upper_threshold));
        }
        if d.lower_threshold != 0 {
            parts.push(format!("lower_threshold={}", d.lower_threshold));
        }
        match self.tunnel_type() {
            (Tunnel::Ipip, None) => {}
            (tun, None) => parts.push(format!(
                "tunnel=TunnelType.{}",
                TUNNEL_TYPE.name_of(&tun).unwrap_or("IPIP")
            )),
            (_, Some(n)) => parts.push(format!("tunnel={n}")),
        }
        let tport = self.tunnel_port();
        if tport != 0 {
            parts.push(format!("tunnel_port={tport}"));
        }
        if self.encap_bits() != 0 {
            parts.push(format!(
                "tunnel_flags={}",
                py_repr(&self.tunnel_flags(py)?)?
            ));
        }
        Ok(format!("Destination({})", parts.join(", ")))
    }

    fn __str__(&self) -> String {
        self.inner.to_string()
    }
}

copy_getters! { PyDestination, inner {
    /// The real server's port.
    port: u16,
    /// Relative weight.
    weight: u32,
    /// Upper connection threshold, 0 for none.
    upper_threshold: u32,
    /// Lower connection threshold, 0 for none.
    lower_threshold: u32,
} }

shared_methods!(PyDestination:
    replace_method(DESTINATION_FIELDS, "A copy with some fields changed (keyword arguments of the\n\
        constructor), checked as the constructor checks."),
    to_json(inner), from_json_parsed, eq_hash(inner), reduce_json);

impl PyDestination {
    /// The tunnel type (IPIP when not tunnelling), and the number of one
    /// this library does not know.
    fn tunnel_type(&self) -> (Tunnel, Option<u32>) {
        match self.inner.forward {
            Forward::Tunnel(Tunnel::Unknown(n)) => (Tunnel::Unknown(n), Some(u32::from(n))),
            Forward::Tunnel(t) => (t, None),
            _ => (Tunnel::Ipip, None),
        }
    }

    fn encap_bits(&self) -> u16 {
        match self.inner.forward {
            Forward::Tunnel(Tunnel::Gue { flags, .. }) | Forward::Tunnel(Tunnel::Gre { flags }) => {
                flags.bits()
            }
            _ => 0,
        }
    }

    fn parse(py: Python<'_>, text: &str) -> PyResult<Self> {
        let d: Destination = parse_json("destination", text)?;
        checked(py, d.validate(d.family()))?;
        Ok(PyDestination { inner: d })
    }
}

// ---------------------------------------------------------------- operations

const OPERATION_FIELDS: &[&str] = &[
    "kind",
    "key",
    "service",
    "destination",
    "addr",
    "port",
    "timeouts",
    "daemon",
    "state",
];

/// One change to the IPVS table, for :meth:`Ipvs.apply`, :meth:`Ipvs.execute` and plans.
///
/// Build one with the static methods (``Operation.add_service(svc)``, ...);
/// only the fields its kind uses are set, the others are ``None``.
/// ``str(op)`` is the operation in ipvsadm's words.
#[pyclass(frozen, module = "ipvs", name = "Operation")]
pub struct PyOperation {
    pub(crate) inner: Operation,
}

fn operation_out(py: Python<'_>, op: Operation) -> PyResult<Bound<'_, PyAny>> {
    Ok(types::new_object(py, PyOperation { inner: op })?.into_any())
}

fn op_checked(py: Python<'_>, op: Operation) -> PyResult<PyOperation> {
    checked(py, op.validate())?;
    Ok(PyOperation { inner: op })
}

/// A checked operation as a new `Operation` object (see `types::new_object`).
fn op_made(py: Python<'_>, op: Operation) -> PyResult<Bound<'_, PyOperation>> {
    types::new_object(py, op_checked(py, op)?)
}

pub(crate) fn timeouts_in(obj: &Bound<'_, PyAny>) -> PyResult<Timeouts> {
    match obj.downcast::<PyTimeouts>() {
        Ok(t) => Ok(t.get().inner),
        Err(_) => Err(PyTypeError::new_err(format!(
            "timeouts must be a Timeouts, not {}",
            type_name(obj)
        ))),
    }
}

/// Timeouts given as a `Timeouts` or as its dict.
fn timeouts_arg(obj: &Bound<'_, PyAny>) -> PyResult<Timeouts> {
    timeouts_in(&dicts::via_dict::<PyTimeouts>(obj)?)
}

/// A daemon given as a `SyncDaemon` or as its dict.
fn daemon_arg(obj: &Bound<'_, PyAny>) -> PyResult<SyncDaemon> {
    daemon_in(&dicts::via_dict::<PySyncDaemon>(obj)?)
}

pub(crate) fn timeouts_out(py: Python<'_>, t: Timeouts) -> PyResult<Bound<'_, PyAny>> {
    Ok(Bound::new(py, PyTimeouts { inner: t })?.into_any())
}

pub(crate) fn daemon_in(obj: &Bound<'_, PyAny>) -> PyResult<SyncDaemon> {
    match obj.downcast::<PySyncDaemon>() {
        Ok(d) => Ok(d.get().inner.clone()),
        Err(_) => Err(PyTypeError::new_err(format!(
            "daemon must be a SyncDaemon, not {}",
            type_name(obj)
        ))),
    }
}

/// A sync state given as a `SyncState`, its value or name, or (as a listing
/// keeps an unknown one) its raw number, which the core refuses to write.
pub(crate) fn sync_state_in(obj: &Bound<'_, PyAny>) -> PyResult<SyncState> {
    if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
        return Ok(SyncState::Unknown(u32_in(obj, "sync state")?));
    }
    Ok(*SYNC_STATE.parse(obj, "sync state")?)
}

/// An `ipvs.SyncDaemon` as a listing holds it (not validated).
pub(crate) fn daemon_out(py: Python<'_>, d: SyncDaemon) -> PyResult<Bound<'_, PyAny>> {
    Ok(Bound::new(py, PySyncDaemon { inner: d })?.into_any())
}

/// A sync state as its enum member, an unknown one as its raw number.
pub(crate) fn sync_state_out(py: Python<'_>, s: SyncState) -> PyResult<Bound<'_, PyAny>> {
    let raw = match s {
        SyncState::Unknown(n) => Some(n),
        _ => None,
    };
    member_or_raw(py, &SYNC_STATE, &s, raw)
}

/// The serde tag of an operation: its `OperationKind` value.
pub(crate) fn op_kind(op: &Operation) -> &'static str {
    match op {
        Operation::AddService(_) => "add_service",
        Operation::UpdateService(_) => "update_service",
        Operation::DeleteService(_) => "delete_service",
        Operation::AddDestination(..) => "add_destination",
        Operation::UpdateDestination(..) => "update_destination",
        Operation::DeleteDestination(..) => "delete_destination",
        Operation::SetTimeouts(_) => "set_timeouts",
        Operation::StartDaemon(_) => "start_daemon",
        Operation::StopDaemon(_) => "stop_daemon",
        Operation::Zero(_) => "zero",
        _ => "flush",
    }
}

pub(crate) fn operation_in(obj: &Bound<'_, PyAny>) -> PyResult<Operation> {
    match types::downcast::<PyOperation>(obj) {
        Some(o) => Ok(o.get().inner.clone()),
        None => Err(PyTypeError::new_err(format!(
            "operation must be a Operation, not {}",
            type_name(obj)
        ))),
    }
}

#[pymethods]
impl PyOperation {
    #[new]
    #[pyo3(signature = (kind, *, key=None, service=None, destination=None, addr=None, port=None, timeouts=None, daemon=None, state=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        kind: &Bound<'_, PyAny>,
        key: Option<&Bound<'_, PyAny>>,
        service: Option<&Bound<'_, PyAny>>,
        destination: Option<&Bound<'_, PyAny>>,
        addr: Option<&Bound<'_, PyAny>>,
        port: Option<&Bound<'_, PyAny>>,
        timeouts: Option<&Bound<'_, PyAny>>,
        daemon: Option<&Bound<'_, PyAny>>,
        state: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let py = kind.py();
        let kname: &str = OPERATION_KIND.parse(kind, "operation kind")?;
        let need: &[&str] = match kname {
            "add_service" | "update_service" => &["service"],
            "delete_service" => &["key"],
            "add_destination" | "update_destination" => &["key", "destination"],
            "delete_destination" => &["key", "addr", "port"],
            "set_timeouts" => &["timeouts"],
            "start_daemon" => &["daemon"],
            "stop_daemon" => &["state"],
            _ => &[],
        };
        let given = [
            ("key", opt(key)),
            ("service", opt(service)),
            ("destination", opt(destination)),
            ("addr", opt(addr)),
            ("port", opt(port)),
            ("timeouts", opt(timeouts)),
            ("daemon", opt(daemon)),
            ("state", opt(state)),
        ];
        for (name, value) in given {
            let needed = need.contains(&name);
            if value.is_none() && needed {
                return Err(PyTypeError::new_err(format!("{kname} needs {name}")));
            }
            if value.is_some() && !needed && !(kname == "zero" && name == "key") {
                return Err(PyTypeError::new_err(format!("{kname} takes no {name}")));
            }
        }
        let key = opt(key).map(|k| dicts::key_arg(k, "key")).transpose()?;
        let service = opt(service)
            .map(|s| service_in(&dicts::via_dict::<PyService>(s)?, "service"))
            .transpose()?;
        let dest = opt(destination)
            .map(|d| destination_in(&dicts::via_dict::<PyDestination>(d)?, "destination"))
            .transpose()?;
        let timeouts = opt(timeouts).map(timeouts_arg).transpose()?;
        let daemon = opt(daemon).map(daemon_arg).transpose()?;
        let missing = || PyTypeError::new_err(format!("{kname} needs more arguments"));
        let op = match kname {
            "add_service" => Operation::AddService(service.ok_or_else(missing)?),
            "update_service" => Operation::UpdateService(service.ok_or_else(missing)?),
            "delete_service" => Operation::DeleteService(key.ok_or_else(missing)?),
            "add_destination" => {
                Operation::AddDestination(key.ok_or_else(missing)?, dest.ok_or_else(missing)?)
            }
            "update_destination" => {
                Operation::UpdateDestination(key.ok_or_else(missing)?, dest.ok_or_else(missing)?)
            }
            "delete_destination" => Operation::DeleteDestination(
                key.ok_or_else(missing)?,
                addr_in(opt(addr).ok_or_else(missing)?, "real server address")?,
                u16_in(opt(port).ok_or_else(missing)?, "port")?,
            ),
            "set_timeouts" => Operation::SetTimeouts(timeouts.ok_or_else(missing)?),
            "start_daemon" => Operation::StartDaemon(daemon.ok_or_else(missing)?),
            "stop_daemon" => Operation::StopDaemon(
                *SYNC_STATE.parse(opt(state).ok_or_else(missing)?, "sync state")?,
            ),
            "zero" => Operation::Zero(key),
            _ => Operation::Flush,
        };
        op_checked(py, op)
    }

    /// ``ipvsadm -A``.
    #[staticmethod]
    fn add_service<'py>(service: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyOperation>> {
        op_made(
            service.py(),
            Operation::AddService(service_in(service, "service")?),
        )
    }

    /// ``ipvsadm -E``.
    #[staticmethod]
    fn update_service<'py>(service: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyOperation>> {
        op_made(
            service.py(),
            Operation::UpdateService(service_in(service, "service")?),
        )
    }

    /// ``ipvsadm -D``.
    #[staticmethod]
    fn delete_service<'py>(key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyOperation>> {
        op_made(key.py(), Operation::DeleteService(key_in(key, "key")?))
    }

    /// ``ipvsadm -a``.
    #[staticmethod]
    fn add_destination<'py>(
        key: &Bound<'py, PyAny>,
        destination: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyOperation>> {
        let op = Operation::AddDestination(
            key_in(key, "key")?,
            destination_in(destination, "destination")?,
        );
        op_made(key.py(), op)
    }

    /// ``ipvsadm -e``.
    #[staticmethod]
    fn update_destination<'py>(
        key: &Bound<'py, PyAny>,
        destination: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyOperation>> {
        let op = Operation::UpdateDestination(
            key_in(key, "key")?,
            destination_in(destination, "destination")?,
        );
        op_made(key.py(), op)
    }

    /// ``ipvsadm -d``.
    #[staticmethod]
    fn delete_destination<'py>(
        key: &Bound<'py, PyAny>,
        addr: &Bound<'py, PyAny>,
        port: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyOperation>> {
        let op = Operation::DeleteDestination(
            key_in(key, "key")?,
            addr_in(addr, "real server address")?,
            u16_in(port, "port")?,
        );
        op_made(key.py(), op)
    }

    /// ``ipvsadm --set``.
    #[staticmethod]
    fn set_timeouts<'py>(timeouts: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyOperation>> {
        op_made(
            timeouts.py(),
            Operation::SetTimeouts(timeouts_in(timeouts)?),
        )
    }

    /// ``ipvsadm --start-daemon``.
    #[staticmethod]
    fn start_daemon<'py>(daemon: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyOperation>> {
        op_made(daemon.py(), Operation::StartDaemon(daemon_in(daemon)?))
    }

    /// ``ipvsadm --stop-daemon``.
    #[staticmethod]
    fn stop_daemon<'py>(state: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyOperation>> {
        let s = *SYNC_STATE.parse(state, "sync state")?;
        op_made(state.py(), Operation::StopDaemon(s))
    }

    /// ``ipvsadm -Z``, for one service or all.
    #[staticmethod]
    #[pyo3(signature = (key=None))]
    fn zero<'py>(
        py: Python<'py>,
        key: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyOperation>> {
        let k = opt(key).map(|k| key_in(k, "key")).transpose()?;
        op_made(py, Operation::Zero(k))
    }

    /// ``ipvsadm -C``.
    #[staticmethod]
    fn flush() -> Self {
        PyOperation {
            inner: Operation::Flush,
        }
    }

    /// What the operation does.
    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        member_or_raw(py, &OPERATION_KIND, &op_kind(&self.inner), None)
    }

    /// The service key it acts on, if any.
    #[getter]
    fn key<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.inner {
            Operation::AddService(s) | Operation::UpdateService(s) => key_out(py, s.key),
            Operation::DeleteService(k)
            | Operation::AddDestination(k, _)
            | Operation::UpdateDestination(k, _)
            | Operation::DeleteDestination(k, ..)
            | Operation::Zero(Some(k)) => key_out(py, *k),
            _ => Ok(py.None().into_bound(py)),
        }
    }

    /// The service of ``add_service`` and ``update_service``.
    #[getter]
    fn service<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.inner {
            Operation::AddService(s) | Operation::UpdateService(s) => service_out(py, s.clone()),
            _ => Ok(py.None().into_bound(py)),
        }
    }

    /// The destination of ``add_destination`` and ``update_destination``.
    #[getter]
    fn destination<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.inner {
            Operation::AddDestination(_, d) | Operation::UpdateDestination(_, d) => {
                destination_out(py, *d)
            }
            _ => Ok(py.None().into_bound(py)),
        }
    }

    /// The real server address of ``delete_destination``.
    #[getter]
    fn addr<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.inner {
            Operation::DeleteDestination(_, a, _) => addr_out(py, a),
            _ => Ok(py.None().into_bound(py)),
        }
    }

    /// The real server port of ``delete_destination``.
    #[getter]
    fn port(&self) -> Option<u16> {
        match &self.inner {
            Operation::DeleteDestination(_, _, p) => Some(*p),
            _ => None,
        }
    }

    /// The timeouts of ``set_timeouts``.
    #[getter]
    fn timeouts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.inner {
            Operation::SetTimeouts(t) => timeouts_out(py, *t),
            _ => Ok(py.None().into_bound(py)),
        }
    }

    /// The daemon of ``start_daemon``.
    #[getter]
    fn daemon<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.inner {
            Operation::StartDaemon(d) => daemon_out(py, d.clone()),
            _ => Ok(py.None().into_bound(py)),
        }
    }

    /// The state of ``stop_daemon``.
    #[getter]
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.inner {
            Operation::StopDaemon(s) => sync_state_out(py, *s),
            _ => Ok(py.None().into_bound(py)),
        }
    }

    /// The constructor's keyword arguments: ``kind`` (its value) and the
    /// fields its kind uses, nested values as their own ``to_dict()``.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dicts::operation_dict(py, &self.inner)
    }

    /// An operation from its ``to_dict()`` (with a ``kind`` key) or from
    /// the core's serde form (``{"add_service": {...}}``, ``"flush"``, ...).
    #[classmethod]
    fn from_dict(_cls: &Bound<'_, PyType>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        if !dicts::has(data, "kind") {
            return Self::parse(data.py(), &dumps(data)?);
        }
        let built = dicts::build::<PyOperation>(data, "operation")?;
        Ok(PyOperation {
            inner: built.downcast::<PyOperation>()?.get().inner.clone(),
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let args = match &self.inner {
            Operation::AddService(s) | Operation::UpdateService(s) => {
                PyService { inner: s.clone() }.__repr__(py)?
            }
            Operation::DeleteService(k) | Operation::Zero(Some(k)) => {
                PyServiceKey { key: *k }.__repr__()
            }
            Operation::AddDestination(k, d) | Operation::UpdateDestination(k, d) => format!(
                "{}, {}",
                PyServiceKey { key: *k }.__repr__(),
                PyDestination { inner: *d }.__repr__(py)?
            ),
            Operation::DeleteDestination(k, a, p) => {
                format!("{}, '{a}', {p}", PyServiceKey { key: *k }.__repr__())
            }
            Operation::SetTimeouts(_) => py_repr(&self.timeouts(py)?)?,
            Operation::StartDaemon(_) => py_repr(&self.daemon(py)?)?,
            Operation::StopDaemon(_) => py_repr(&self.state(py)?)?,
            _ => String::new(),
        };
        Ok(format!("Operation.{}({args})", op_kind(&self.inner)))
    }

    /// The operation in ipvsadm's words, e.g. ``ipvsadm -A -t 10.0.0.1:80 -s wlc``.
    fn __str__(&self) -> String {
        self.inner.to_string()
    }
}

/// The fields an operation of this kind takes (its constructor's keyword
/// arguments, `to_dict()`'s keys).
fn operation_taken(op: &PyOperation) -> &'static [&'static str] {
    match op.inner {
        Operation::AddService(_) | Operation::UpdateService(_) => &["kind", "service"],
        Operation::DeleteService(_) | Operation::Zero(_) => &["kind", "key"],
        Operation::AddDestination(..) | Operation::UpdateDestination(..) => {
            &["kind", "key", "destination"]
        }
        Operation::DeleteDestination(..) => &["kind", "key", "addr", "port"],
        Operation::SetTimeouts(_) => &["kind", "timeouts"],
        Operation::StartDaemon(_) => &["kind", "daemon"],
        Operation::StopDaemon(_) => &["kind", "state"],
        _ => &["kind"],
    }
}

shared_methods!(PyOperation:
    replace_method(OPERATION_FIELDS, taken = operation_taken,
        "A copy with some fields changed (keyword arguments of the constructor:\n\
        ``kind``, ``key``, ``service``, ``destination``, ``addr``, ``port``,\n\
        ``timeouts``, ``daemon``, ``state``), checked as the constructor checks."),
    to_json(inner), from_json_parsed, eq_hash(inner), reduce_json);

impl PyOperation {
    fn parse(py: Python<'_>, text: &str) -> PyResult<Self> {
        let op: Operation = parse_json("operation", text)?;
        op_checked(py, op)
    }
}

// ---------------------------------------------------------------- batches, tables, plans

pub(crate) fn operations_in(ops: &Bound<'_, PyAny>) -> PyResult<Vec<Operation>> {
    let mut out = Vec::with_capacity(ops.len().unwrap_or(0));
    for op in ops.try_iter()? {
        out.push(operation_in(&op?)?);
    }
    Ok(out)
}

pub(crate) fn operations_out<'py>(
    py: Python<'py>,
    ops: Vec<Operation>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    ops.into_iter().map(|o| operation_out(py, o)).collect()
}

pub(crate) fn batch_mode(name: &str) -> PyResult<BatchMode> {
    match name {
        "continue" => Ok(BatchMode::Continue),
        "stop_on_error" => Ok(BatchMode::StopOnError),
        other => Err(crate::errors::refused(format!(
            "unknown batch mode {other:?} (expected \"continue\" or \"stop_on_error\")"
        ))),
    }
}

/// The plan's options. `scope` is `None` (every service), an iterable of
/// service keys, or a callable taking a `ServiceKey` and returning whether
/// the plan may touch it: the core's `Scope::Predicate`, called by the
/// planner for each key of both tables (with the GIL). The predicate's first
/// exception is kept in the returned slot (the key then counts as out of
/// scope) and `crate::plan` raises it instead of returning the plan.
pub(crate) fn diff_options(
    scope: Option<&Bound<'_, PyAny>>,
    drain_before_remove: bool,
) -> PyResult<(DiffOptions, crate::Raised)> {
    let raised: crate::Raised = Arc::new(Mutex::new(None));
    let scope = match opt(scope) {
        None => Scope::All,
        Some(pred) if pred.is_callable() => {
            let pred: PyObject = pred.clone().unbind();
            let slot = raised.clone();
            Scope::Predicate(Arc::new(move |key: &ServiceKey| {
                Python::with_gil(|py| {
                    let mut first = slot.lock().unwrap_or_else(|p| p.into_inner());
                    if first.is_some() {
                        return false;
                    }
                    let verdict = key_out(py, *key)
                        .and_then(|k| pred.call1(py, (k,)))
                        .and_then(|v| v.bind(py).is_truthy());
                    verdict.unwrap_or_else(|e| {
                        *first = Some(e);
                        false
                    })
                })
            }))
        }
        Some(keys) => {
            let mut set = HashSet::new();
            for k in keys.try_iter()? {
                set.insert(key_in(&k?, "scope key")?);
            }
            Scope::Services(set)
        }
    };
    Ok((
        DiffOptions {
            scope,
            drain_before_remove,
        },
        raised,
    ))
}

/// Applies one operation with the handle, acknowledged; raises its typed error.
#[pyfunction]
fn handle_apply(py: Python<'_>, handle: &Bound<'_, Handle>, op: &Bound<'_, PyAny>) -> PyResult<()> {
    let op = operation_in(op)?;
    handle.get().run(py, move |h| h.apply(&op))
}

/// Applies a sequence of operations; one `(status, exception or None)` per operation.
#[pyfunction]
fn handle_execute(
    py: Python<'_>,
    handle: &Bound<'_, Handle>,
    ops: &Bound<'_, PyAny>,
    mode: &str,
) -> PyResult<Vec<PyOutcome>> {
    let ops = operations_in(ops)?;
    let mode = batch_mode(mode)?;
    let h = handle.get().get()?;
    let report = py.allow_threads(move || h.execute(&ops, mode));
    Ok(outcomes(py, report))
}

/// Reads, plans and applies: `(operations, outcomes)`.
#[pyfunction]
#[pyo3(signature = (handle, desired, scope=None, drain_before_remove=false))]
fn handle_converge<'py>(
    py: Python<'py>,
    handle: &Bound<'py, Handle>,
    desired: &Bound<'py, PyAny>,
    scope: Option<&Bound<'py, PyAny>>,
    drain_before_remove: bool,
) -> PyResult<(Vec<Bound<'py, PyAny>>, Vec<PyOutcome>)> {
    let plan = read_plan(py, handle, desired, scope, drain_before_remove)?;
    let h = handle.get().get()?;
    let report = py.allow_threads(|| h.apply_plan(&plan));
    Ok((operations_out(py, plan.operations)?, outcomes(py, report)))
}

/// Reads the current table and plans the way to `desired` (a dry run of
/// `handle_converge`).
#[pyfunction]
#[pyo3(signature = (handle, desired, scope=None, drain_before_remove=false))]
fn handle_plan<'py>(
    py: Python<'py>,
    handle: &Bound<'py, Handle>,
    desired: &Bound<'py, PyAny>,
    scope: Option<&Bound<'py, PyAny>>,
    drain_before_remove: bool,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let plan = read_plan(py, handle, desired, scope, drain_before_remove)?;
    operations_out(py, plan.operations)
}

/// `Ipvs::plan` with the GIL released: a scope predicate takes the GIL
/// itself (from the planning thread) and what it raises is raised here,
/// before anything is applied.
fn read_plan<'py>(
    py: Python<'py>,
    handle: &Bound<'py, Handle>,
    desired: &Bound<'py, PyAny>,
    scope: Option<&Bound<'py, PyAny>>,
    drain_before_remove: bool,
) -> PyResult<table::Plan> {
    let desired = table_in(desired, "desired")?;
    let (opts, raised) = diff_options(scope, drain_before_remove)?;
    let plan = handle.get().run(py, |h| h.plan(&desired, &opts))?;
    crate::raised_or(&raised, plan)
}

/// Plans the operations turning `current` into `desired` (`ipvs.Table`s);
/// `scope` is the service keys the plan may touch, or `None` for all.
#[pyfunction]
#[pyo3(signature = (current, desired, scope=None, drain_before_remove=false))]
fn table_diff<'py>(
    current: &Bound<'py, PyAny>,
    desired: &Bound<'py, PyAny>,
    scope: Option<&Bound<'py, PyAny>>,
    drain_before_remove: bool,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let py = current.py();
    let cur = table_in(current, "current")?;
    let want = table_in(desired, "desired")?;
    let opts = diff_options(scope, drain_before_remove)?;
    operations_out(py, crate::plan(&cur, &want, &opts)?.operations)
}

/// The table `current` becomes when every operation of `ops` succeeds.
#[pyfunction]
fn table_simulate<'py>(
    current: &Bound<'py, PyAny>,
    ops: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyTable>> {
    let py = current.py();
    let cur = table_in(current, "current")?;
    let plan = table::Plan {
        operations: operations_in(ops)?,
    };
    table_out(py, table::simulate(&cur, &plan))
}

/// A plan in ipvsadm's words, one operation a line.
#[pyfunction]
fn plan_display(ops: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(table::Plan {
        operations: operations_in(ops)?,
    }
    .to_string())
}

/// A table (`ipvs.Table`) in the core's serde JSON form.
#[pyfunction]
fn table_json(table: &Bound<'_, PyAny>) -> PyResult<String> {
    json_of(&table_in(table, "table")?)
}

/// Registers the classes and functions of this module in `ipvs._ipvs`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyServiceKey>()?;
    m.add_class::<InetKey>()?;
    m.add_class::<FwmarkKey>()?;
    m.add_class::<PyPersistence>()?;
    m.add_class::<PyService>()?;
    m.add_class::<PyDestination>()?;
    m.add_class::<PyOperation>()?;
    m.add_function(wrap_pyfunction!(handle_apply, m)?)?;
    m.add_function(wrap_pyfunction!(handle_execute, m)?)?;
    m.add_function(wrap_pyfunction!(handle_converge, m)?)?;
    m.add_function(wrap_pyfunction!(handle_plan, m)?)?;
    m.add_function(wrap_pyfunction!(table_diff, m)?)?;
    m.add_function(wrap_pyfunction!(table_simulate, m)?)?;
    m.add_function(wrap_pyfunction!(plan_display, m)?)?;
    m.add_function(wrap_pyfunction!(table_json, m)?)?;
    Ok(())
}
