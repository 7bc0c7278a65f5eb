//! The global settings as native classes: `ipvs.Timeouts` (`ipvsadm --set`)
//! and `ipvs.SyncDaemon` (`ipvsadm --start-daemon`), each wrapping the
//! core's value, with the API of the frozen dataclasses they were (keyword
//! construction, the dataclass repr of `Timeouts`, `dataclasses.replace`).

use lvskit::{SyncDaemon, Timeouts};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyType};

use crate::dataclass;
use crate::dicts;
use crate::enums::SYNC_STATE;
use crate::model::{
    addr_in, addr_out, checked, int_in, opt, parse_json, sync_state_out, type_name, u16_in,
    u32_or_zero,
};
use crate::value::{copy_getters, shared_methods};

const TIMEOUT_FIELDS: &[&str] = &["tcp", "tcp_fin", "udp"];

/// Connection timeouts in seconds (``ipvsadm --set tcp tcpfin udp``); 0 keeps a value when setting.
#[pyclass(frozen, module = "ipvs", name = "Timeouts")]
pub struct PyTimeouts {
    pub(crate) inner: Timeouts,
}

#[pymethods]
impl PyTimeouts {
    /// The longest timeout written, in seconds (the kernel refuses more than ``INT_MAX / HZ``).
    #[classattr]
    const MAX: u32 = Timeouts::MAX;

    #[new]
    #[pyo3(signature = (tcp=None, tcp_fin=None, udp=None), text_signature = "(tcp=0, tcp_fin=0, udp=0)")]
    fn new(
        tcp: Option<&Bound<'_, PyAny>>,
        tcp_fin: Option<&Bound<'_, PyAny>>,
        udp: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Ok(PyTimeouts {
            inner: Timeouts {
                tcp: u32_or_zero(tcp, "tcp timeout")?,
                tcp_fin: u32_or_zero(tcp_fin, "tcp_fin timeout")?,
                udp: u32_or_zero(udp, "udp timeout")?,
            },
        })
    }

    /// The constructor's keyword arguments.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dicts::timeouts_dict(py, &self.inner)
    }

    fn __repr__(&self) -> String {
        let t = &self.inner;
        format!(
            "Timeouts(tcp={}, tcp_fin={}, udp={})",
            t.tcp, t.tcp_fin, t.udp
        )
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (u32, u32, u32))> {
        let t = slf.get().inner;
        Ok((slf.get_type().into_any(), (t.tcp, t.tcp_fin, t.udp)))
    }
}

copy_getters! { PyTimeouts, inner {
    /// Established TCP connections.
    tcp: u32,
    /// TCP connections after a FIN.
    tcp_fin: u32,
    /// UDP "connections".
    udp: u32,
} }

shared_methods!(PyTimeouts: dataclass_fields(TIMEOUT_FIELDS),
    replace_method(TIMEOUT_FIELDS,
        "A copy with some fields changed (``tcp``, ``tcp_fin``, ``udp``)."),
    from_dict_kwargs("timeouts", "The inverse of :meth:`to_dict`."), to_json(inner),
    from_json_listed(inner, "timeouts", "Parses the core's serde JSON form."), eq_hash(inner));

// ---------------------------------------------------------------- sync daemons

const DAEMON_FIELDS: &[&str] = &[
    "state",
    "interface",
    "sync_id",
    "max_len",
    "group",
    "port",
    "ttl",
];

/// A connection synchronisation daemon (``ipvsadm --start-daemon``); ``None`` keeps the kernel's default.
///
/// ``state`` is master or backup (a listing keeps a state this library does
/// not know as its raw number); ``interface`` is in the text form of kernel
/// names: a byte of a name that is not UTF-8 is written ``:xx`` (``eth:ff``)
/// and sent back as that byte.
#[pyclass(frozen, module = "ipvs", name = "SyncDaemon")]
pub struct PySyncDaemon {
    pub(crate) inner: SyncDaemon,
}

fn opt_u16(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<u16>> {
    opt(obj).map(|o| u16_in(o, what)).transpose()
}

fn interface_in(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    match obj.downcast::<PyString>() {
        Ok(s) => Ok(s.to_cow()?.into_owned()),
        Err(_) => Err(PyTypeError::new_err(format!(
            "interface must be a string, not {}",
            type_name(obj)
        ))),
    }
}

#[pymethods]
impl PySyncDaemon {
    /// The largest sync id written (ipvsadm's limit).
    #[classattr]
    const MAX_SYNC_ID: u32 = SyncDaemon::MAX_SYNC_ID;

    #[new]
    #[pyo3(
        signature = (state, interface, sync_id=None, *, max_len=None, group=None, port=None, ttl=None),
        text_signature = "(state, interface, sync_id=0, *, max_len=None, group=None, port=None, ttl=None)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn new(
        state: &Bound<'_, PyAny>,
        interface: &Bound<'_, PyAny>,
        sync_id: Option<&Bound<'_, PyAny>>,
        max_len: Option<&Bound<'_, PyAny>>,
        group: Option<&Bound<'_, PyAny>>,
        port: Option<&Bound<'_, PyAny>>,
        ttl: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let py = state.py();
        let d = SyncDaemon {
            state: *SYNC_STATE.parse(state, "sync state")?,
            interface: interface_in(interface)?,
            sync_id: u32_or_zero(sync_id, "sync id")?,
            max_len: opt_u16(max_len, "max_len")?,
            group: opt(group)
                .map(|g| addr_in(g, "multicast group"))
                .transpose()?,
            port: opt_u16(port, "port")?,
            ttl: opt(ttl)
                .map(|t| int_in(t, "ttl", 0, 255).map(|v| v as u8))
                .transpose()?,
        };
        checked(py, d.validate())?;
        Ok(PySyncDaemon { inner: d })
    }

    /// A daemon as a listing holds it (the core's serde form), not validated:
    /// a state this library does not know is kept as its number.
    #[classmethod]
    fn _from_kernel(_cls: &Bound<'_, PyType>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let d = data.downcast::<PyDict>()?.copy()?;
        for name in ["max_len", "group", "port", "ttl"] {
            if !d.contains(name)? {
                d.set_item(name, data.py().None())?;
            }
        }
        if !d.contains("sync_id")? {
            d.set_item("sync_id", 0)?;
        }
        Ok(PySyncDaemon {
            inner: parse_json("sync daemon", &crate::model::dumps(d.as_any())?)?,
        })
    }

    /// Master or backup; a state this library does not know as its raw number.
    #[getter]
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        sync_state_out(py, self.inner.state)
    }

    /// The interface, in the text form of kernel names.
    #[getter]
    fn interface(&self) -> &str {
        &self.inner.interface
    }

    /// The multicast group, or ``None`` for the kernel's default.
    #[getter]
    fn group<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.inner.group {
            Some(g) => addr_out(py, g),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// The constructor's keyword arguments (``state`` as its value, ``group`` as text).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dicts::daemon_dict(py, &self.inner)
    }

    /// Parses the core's serde JSON form (checked as the constructor checks).
    #[classmethod]
    fn from_json(cls: &Bound<'_, PyType>, text: &str) -> PyResult<Self> {
        let d: SyncDaemon = parse_json("sync daemon", text)?;
        checked(cls.py(), d.validate())?;
        Ok(PySyncDaemon { inner: d })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let d = &self.inner;
        let mut parts = vec![
            self.state(py)?.repr()?.to_string(),
            dataclass::text_repr(py, &d.interface)?,
            d.sync_id.to_string(),
        ];
        for (name, v) in [
            ("max_len", d.max_len.map(u32::from)),
            ("port", d.port.map(u32::from)),
            ("ttl", d.ttl.map(u32::from)),
        ] {
            if let Some(v) = v {
                parts.push(format!("{name}={v}"));
            }
        }
        if let Some(g) = &d.group {
            parts.push(format!("group='{g}'"));
        }
        Ok(format!("SyncDaemon({})", parts.join(", ")))
    }
}

copy_getters! { PySyncDaemon, inner {
    /// The sync id.
    sync_id: u32,
    /// The largest sync message, or ``None`` for the kernel's default.
    max_len: Option<u16>,
    /// The UDP port, or ``None`` for the kernel's default.
    port: Option<u16>,
    /// The multicast TTL, or ``None`` for the kernel's default.
    ttl: Option<u8>,
} }

shared_methods!(PySyncDaemon: dataclass_fields(DAEMON_FIELDS),
    replace_method(DAEMON_FIELDS,
        "A copy with some fields changed, checked as the constructor checks."),
    from_dict_kwargs("sync daemon", "The inverse of :meth:`to_dict`."), to_json(inner),
    reduce_json, eq_hash(inner));

/// Registers the classes in `ipvs._ipvs`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyTimeouts>()?;
    m.add_class::<PySyncDaemon>()?;
    Ok(())
}
