//! The dict form of the native value classes.
//!
//! `to_dict()` gives the constructor's keyword arguments, so that
//! `Cls(**value.to_dict())` builds an equal value, in plain Python data
//! (text, numbers, `None`, lists and dicts: `json.dumps` takes it as it is).
//! A nested value is its own dict (a service's `key`, its `persistence`, an
//! operation's `service`, ...), and every constructor that takes a nested
//! value also takes that dict. Enum members are their values (`"tcp"`,
//! `"masq"`), flags their bits, addresses their text; a value a listing
//! holds that this library does not know is its raw number (a constructor
//! refuses it, as it refuses to write one).
//!
//! `from_dict` takes that form and, for compatibility, the core's serde form
//! that `to_dict` gave before (and `to_json` still gives): each class tells
//! the two apart by a key or a shape only the serde form has.

use std::net::IpAddr;

use lvskit::{
    Destination, Forward, Netmask, Operation, Service, ServiceKey, SyncDaemon, SyncState, Timeouts,
    Tunnel,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use pyo3::IntoPyObjectExt;

use crate::enums::{FAMILY, FORWARDING, PROTOCOL, SYNC_STATE, TUNNEL_TYPE};
use crate::model;

/// A dict of `(name, value)` pairs, in order.
pub(crate) fn dict_from<'py>(
    py: Python<'py>,
    items: &[(&str, Bound<'py, PyAny>)],
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in items {
        d.set_item(*k, v)?;
    }
    Ok(d)
}

/// A Rust value as a Python object.
pub(crate) fn obj<'py, T: IntoPyObject<'py>>(py: Python<'py>, v: T) -> PyResult<Bound<'py, PyAny>> {
    v.into_bound_py_any(py)
}

/// An enum member's value text, or the raw number of a value with no member.
fn value_or_raw<'py>(
    py: Python<'py>,
    value: Option<&'static str>,
    raw: u32,
) -> PyResult<Bound<'py, PyAny>> {
    match value {
        Some(v) => obj(py, v),
        None => obj(py, raw),
    }
}

fn text<'py>(py: Python<'py>, addr: &IpAddr) -> PyResult<Bound<'py, PyAny>> {
    obj(py, addr.to_string())
}

fn opt_obj<'py, T: IntoPyObject<'py>>(
    py: Python<'py>,
    v: Option<T>,
) -> PyResult<Bound<'py, PyAny>> {
    match v {
        Some(v) => obj(py, v),
        None => Ok(py.None().into_bound(py)),
    }
}

// ---------------------------------------------------------------- to_dict

/// `InetKey(protocol, addr, port)` or `FwmarkKey(mark, family)`.
pub(crate) fn key_dict<'py>(py: Python<'py>, key: &ServiceKey) -> PyResult<Bound<'py, PyDict>> {
    match *key {
        ServiceKey::Inet {
            protocol,
            addr,
            port,
        } => {
            let raw = match protocol {
                lvskit::Protocol::Unknown(n) => u32::from(n),
                _ => 0,
            };
            dict_from(
                py,
                &[
                    (
                        "protocol",
                        value_or_raw(py, PROTOCOL.value_of(&protocol), raw)?,
                    ),
                    ("addr", text(py, &addr)?),
                    ("port", obj(py, port)?),
                ],
            )
        }
        ServiceKey::Fwmark { family, mark } => dict_from(
            py,
            &[
                ("mark", obj(py, mark)?),
                (
                    "family",
                    obj(py, FAMILY.value_of(&family).unwrap_or("ipv4"))?,
                ),
            ],
        ),
    }
}

/// `Persistence(timeout, netmask)`: the netmask as text (IPv4), a prefix length (IPv6) or `None`.
pub(crate) fn persistence_dict<'py>(
    py: Python<'py>,
    timeout: u32,
    netmask: Option<Netmask>,
) -> PyResult<Bound<'py, PyDict>> {
    let nm = match netmask {
        None => py.None().into_bound(py),
        Some(Netmask::V4(a)) => obj(py, a.to_string())?,
        Some(Netmask::V6(p)) => obj(py, p)?,
    };
    dict_from(py, &[("timeout", obj(py, timeout)?), ("netmask", nm)])
}

/// `Service(key, scheduler=, flags=, persistence=, pe=)`.
pub(crate) fn service_dict<'py>(py: Python<'py>, s: &Service) -> PyResult<Bound<'py, PyDict>> {
    let persistence = match s.persistence {
        Some(p) => persistence_dict(py, p.timeout, Some(p.netmask))?.into_any(),
        None => py.None().into_bound(py),
    };
    dict_from(
        py,
        &[
            ("key", key_dict(py, &s.key)?.into_any()),
            ("scheduler", obj(py, s.scheduler.name())?),
            ("flags", obj(py, s.flags.bits())?),
            ("persistence", persistence),
            ("pe", opt_obj(py, s.pe.as_ref().map(|n| n.as_str()))?),
        ],
    )
}

/// The tunnel type of a destination (IPIP when not tunnelling), its GUE port
/// and its checksum flag bits.
pub(crate) fn tunnel_parts(forward: &Forward) -> (Tunnel, u16, u16) {
    match *forward {
        Forward::Tunnel(Tunnel::Gue { port, flags }) => {
            (Tunnel::Gue { port, flags }, port, flags.bits())
        }
        Forward::Tunnel(Tunnel::Gre { flags }) => (Tunnel::Gre { flags }, 0, flags.bits()),
        Forward::Tunnel(t) => (t, 0, 0),
        _ => (Tunnel::Ipip, 0, 0),
    }
}

/// `Destination(addr, port, forwarding=, weight=, upper_threshold=,
/// lower_threshold=, tunnel=, tunnel_port=, tunnel_flags=)`.
pub(crate) fn destination_dict<'py>(
    py: Python<'py>,
    d: &Destination,
) -> PyResult<Bound<'py, PyDict>> {
    let fwd_raw = match d.forward {
        Forward::Unknown(n) => n,
        _ => 0,
    };
    let (tun, tport, tflags) = tunnel_parts(&d.forward);
    let tun_raw = match tun {
        Tunnel::Unknown(n) => u32::from(n),
        _ => 0,
    };
    dict_from(
        py,
        &[
            ("addr", text(py, &d.addr)?),
            ("port", obj(py, d.port)?),
            (
                "forwarding",
                value_or_raw(py, FORWARDING.value_of(&d.forward), fwd_raw)?,
            ),
            ("weight", obj(py, d.weight)?),
            ("upper_threshold", obj(py, d.upper_threshold)?),
            ("lower_threshold", obj(py, d.lower_threshold)?),
            (
                "tunnel",
                value_or_raw(py, TUNNEL_TYPE.value_of(&tun), tun_raw)?,
            ),
            ("tunnel_port", obj(py, tport)?),
            ("tunnel_flags", obj(py, tflags)?),
        ],
    )
}

/// `Timeouts(tcp, tcp_fin, udp)`.
pub(crate) fn timeouts_dict<'py>(py: Python<'py>, t: &Timeouts) -> PyResult<Bound<'py, PyDict>> {
    dict_from(
        py,
        &[
            ("tcp", obj(py, t.tcp)?),
            ("tcp_fin", obj(py, t.tcp_fin)?),
            ("udp", obj(py, t.udp)?),
        ],
    )
}

/// A sync state's value text, or the raw number of one this library does not know.
pub(crate) fn sync_state_value<'py>(py: Python<'py>, s: &SyncState) -> PyResult<Bound<'py, PyAny>> {
    let raw = match *s {
        SyncState::Unknown(n) => n,
        _ => 0,
    };
    value_or_raw(py, SYNC_STATE.value_of(s), raw)
}

/// `SyncDaemon(state, interface, sync_id, max_len=, group=, port=, ttl=)`.
pub(crate) fn daemon_dict<'py>(py: Python<'py>, d: &SyncDaemon) -> PyResult<Bound<'py, PyDict>> {
    let group = match &d.group {
        Some(g) => text(py, g)?,
        None => py.None().into_bound(py),
    };
    dict_from(
        py,
        &[
            ("state", sync_state_value(py, &d.state)?),
            ("interface", obj(py, d.interface.as_str())?),
            ("sync_id", obj(py, d.sync_id)?),
            ("max_len", opt_obj(py, d.max_len)?),
            ("group", group),
            ("port", opt_obj(py, d.port)?),
            ("ttl", opt_obj(py, d.ttl)?),
        ],
    )
}

/// `Operation(kind, key=, service=, ...)` with only the fields its kind uses.
pub(crate) fn operation_dict<'py>(py: Python<'py>, op: &Operation) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("kind", model::op_kind(op))?;
    match op {
        Operation::AddService(s) | Operation::UpdateService(s) => {
            d.set_item("service", service_dict(py, s)?)?
        }
        Operation::DeleteService(k) | Operation::Zero(Some(k)) => {
            d.set_item("key", key_dict(py, k)?)?
        }
        Operation::AddDestination(k, dest) | Operation::UpdateDestination(k, dest) => {
            d.set_item("key", key_dict(py, k)?)?;
            d.set_item("destination", destination_dict(py, dest)?)?;
        }
        Operation::DeleteDestination(k, a, p) => {
            d.set_item("key", key_dict(py, k)?)?;
            d.set_item("addr", a.to_string())?;
            d.set_item("port", *p)?;
        }
        Operation::SetTimeouts(t) => d.set_item("timeouts", timeouts_dict(py, t)?)?,
        Operation::StartDaemon(dm) => d.set_item("daemon", daemon_dict(py, dm)?)?,
        Operation::StopDaemon(s) => d.set_item("state", sync_state_value(py, s)?)?,
        _ => {}
    }
    Ok(d)
}

// ---------------------------------------------------------------- arguments given as dicts

/// `data` as a dict of keyword arguments.
fn kwargs<'a, 'py>(data: &'a Bound<'py, PyAny>, what: &str) -> PyResult<&'a Bound<'py, PyDict>> {
    data.downcast::<PyDict>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{what} must be a dict, not {}",
            data.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })
}

/// `cls(**data)`: a value built from its dict form by its constructor.
pub(crate) fn build<'py, T: pyo3::PyTypeInfo>(
    data: &Bound<'py, PyAny>,
    what: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let d = kwargs(data, what)?;
    data.py().get_type::<T>().call((), Some(d))
}

/// Whether `data` is the serde form of a service key (`{"inet": ...}`, `{"fwmark": ...}`).
pub(crate) fn is_serde_key(data: &Bound<'_, PyAny>) -> bool {
    match data.downcast::<PyDict>() {
        Ok(d) => d.contains("inet").unwrap_or(false) || d.contains("fwmark").unwrap_or(false),
        Err(_) => false,
    }
}

/// The value of `key` in a dict, if the dict has it.
pub(crate) fn item<'py>(data: &Bound<'py, PyAny>, key: &str) -> Option<Bound<'py, PyAny>> {
    data.downcast::<PyDict>()
        .ok()
        .and_then(|d| d.get_item(key).ok().flatten())
}

/// A service key given as a `ServiceKey` or as a dict (either form).
pub(crate) fn key_arg(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<ServiceKey> {
    if obj.is_instance_of::<PyDict>() {
        let built = model::PyServiceKey::from_any_dict(obj)?;
        return model::key_in(&built, what);
    }
    model::key_in(obj, what)
}

/// A value given as itself or as its dict: `from_dict` of `T` when a dict.
pub(crate) fn via_dict<'py, T: pyo3::PyTypeInfo>(
    obj: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    if obj.is_instance_of::<PyDict>() {
        obj.py().get_type::<T>().call_method1("from_dict", (obj,))
    } else {
        Ok(obj.clone())
    }
}

/// Whether a text is a dict key of `data` (for `PyString` keys only).
pub(crate) fn has(data: &Bound<'_, PyAny>, key: &str) -> bool {
    data.downcast::<PyDict>()
        .map(|d| d.contains(PyString::new(d.py(), key)).unwrap_or(false))
        .unwrap_or(false)
}
