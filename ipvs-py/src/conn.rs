//! The connection table (`/proc/net/ip_vs_conn`, `ip_vs_conn_sync`):
//! `ipvs.Connection` as a native class built straight from the core's
//! entries, and the functions that parse and read the table.

use std::net::IpAddr;
use std::path::PathBuf;

use lvskit::conn::{self, Origin};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::dataclass;
use crate::dicts;
use crate::enums::CONNECTION_ORIGIN;
use crate::model::{addr_in, addr_out, opt, type_name, u16_in, u32_in};
use crate::value::shared_methods;
use crate::{conn_error, namespace, to_py};

const FIELDS: &[&str] = &[
    "protocol",
    "client_addr",
    "client_port",
    "virtual_addr",
    "virtual_port",
    "destination_addr",
    "destination_port",
    "state",
    "expires",
    "pe_name",
    "pe_data",
    "origin",
];

/// One entry of the connection table (a connection or a persistence template).
///
/// ``protocol`` and ``state`` are the kernel's words (``"TCP"``, ``"UDP"``,
/// ``"SCTP"``, ``"IP"`` for firewall-mark templates, ...; ``"ESTABLISHED"``,
/// ``"SYN_RECV"``, ``"NONE"``, ``"ASSURED"``, ...); ``expires`` is in
/// seconds; ``pe_name``/``pe_data`` are the persistence engine's (e.g.
/// ``"sip"`` and the Call-ID); ``origin`` is set for ``ip_vs_conn_sync``.
#[pyclass(frozen, module = "ipvs", name = "Connection")]
#[derive(PartialEq, Eq, Hash)]
pub struct PyConnection {
    protocol: String,
    client: (IpAddr, u16),
    virtual_addr: (IpAddr, u16),
    destination: (IpAddr, u16),
    state: String,
    expires: u32,
    pe_name: Option<String>,
    pe_data: Option<String>,
    origin: Option<Origin>,
}

impl From<conn::Connection> for PyConnection {
    fn from(c: conn::Connection) -> Self {
        let (pe_name, pe_data) = match c.pe {
            Some((n, d)) => (Some(n), Some(d)),
            None => (None, None),
        };
        PyConnection {
            protocol: c.protocol.as_str().to_owned(),
            client: (c.client.ip(), c.client.port()),
            virtual_addr: (c.virtual_addr.ip(), c.virtual_addr.port()),
            destination: (c.destination.ip(), c.destination.port()),
            state: c.state,
            expires: c.expires,
            pe_name,
            pe_data,
            origin: c.origin,
        }
    }
}

fn text_in(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    match obj.downcast::<PyString>() {
        Ok(s) => Ok(s.to_cow()?.into_owned()),
        Err(_) => Err(PyTypeError::new_err(format!(
            "{what} must be a string, not {}",
            type_name(obj)
        ))),
    }
}

fn opt_text(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<String>> {
    opt(obj).map(|o| text_in(o, what)).transpose()
}

fn endpoint(
    addr: &Bound<'_, PyAny>,
    port: &Bound<'_, PyAny>,
    what: &str,
) -> PyResult<(IpAddr, u16)> {
    Ok((
        addr_in(addr, &format!("{what} address"))?,
        u16_in(port, &format!("{what} port"))?,
    ))
}

fn opt_obj<'py, T: IntoPyObject<'py>>(
    py: Python<'py>,
    v: Option<T>,
) -> PyResult<Bound<'py, PyAny>> {
    match v {
        Some(v) => dicts::obj(py, v),
        None => Ok(py.None().into_bound(py)),
    }
}

#[pymethods]
impl PyConnection {
    #[new]
    #[pyo3(signature = (protocol, client_addr, client_port, virtual_addr, virtual_port, destination_addr, destination_port, state, expires, pe_name=None, pe_data=None, origin=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        protocol: &Bound<'_, PyAny>,
        client_addr: &Bound<'_, PyAny>,
        client_port: &Bound<'_, PyAny>,
        virtual_addr: &Bound<'_, PyAny>,
        virtual_port: &Bound<'_, PyAny>,
        destination_addr: &Bound<'_, PyAny>,
        destination_port: &Bound<'_, PyAny>,
        state: &Bound<'_, PyAny>,
        expires: &Bound<'_, PyAny>,
        pe_name: Option<&Bound<'_, PyAny>>,
        pe_data: Option<&Bound<'_, PyAny>>,
        origin: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Ok(PyConnection {
            protocol: text_in(protocol, "protocol")?,
            client: endpoint(client_addr, client_port, "client")?,
            virtual_addr: endpoint(virtual_addr, virtual_port, "virtual")?,
            destination: endpoint(destination_addr, destination_port, "destination")?,
            state: text_in(state, "state")?,
            expires: u32_in(expires, "expires")?,
            pe_name: opt_text(pe_name, "pe_name")?,
            pe_data: opt_text(pe_data, "pe_data")?,
            origin: opt(origin)
                .map(|o| CONNECTION_ORIGIN.parse(o, "origin").copied())
                .transpose()?,
        })
    }

    /// The protocol (``IP`` for firewall-mark templates).
    #[getter]
    fn protocol(&self) -> &str {
        &self.protocol
    }
    /// The client's address.
    #[getter]
    fn client_addr<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        addr_out(py, &self.client.0)
    }
    /// The client's port.
    #[getter]
    fn client_port(&self) -> u16 {
        self.client.1
    }
    /// The virtual address the client reached.
    #[getter]
    fn virtual_addr<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        addr_out(py, &self.virtual_addr.0)
    }
    /// The virtual port.
    #[getter]
    fn virtual_port(&self) -> u16 {
        self.virtual_addr.1
    }
    /// The real server's address.
    #[getter]
    fn destination_addr<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        addr_out(py, &self.destination.0)
    }
    /// The real server's port.
    #[getter]
    fn destination_port(&self) -> u16 {
        self.destination.1
    }
    /// The protocol state as the kernel names it.
    #[getter]
    fn state(&self) -> &str {
        &self.state
    }
    /// Seconds until the entry expires.
    #[getter]
    fn expires(&self) -> u32 {
        self.expires
    }
    /// The persistence engine's name, if any.
    #[getter]
    fn pe_name(&self) -> Option<&str> {
        self.pe_name.as_deref()
    }
    /// The persistence engine's data (a SIP Call-ID), if any.
    #[getter]
    fn pe_data(&self) -> Option<&str> {
        self.pe_data.as_deref()
    }
    /// ``LOCAL`` or ``SYNC`` (``ip_vs_conn_sync`` only).
    #[getter]
    fn origin<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.origin {
            Some(o) => Ok(CONNECTION_ORIGIN
                .member(py, o)?
                .unwrap_or_else(|| py.None().into_bound(py))),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// Whether this is a persistence template: protocol ``IP``, or client port 0 in state ``NONE``/``ASSURED``.
    #[getter]
    fn is_template(&self) -> bool {
        self.protocol == "IP"
            || (self.client.1 == 0 && matches!(self.state.as_str(), "NONE" | "ASSURED"))
    }

    /// The constructor's keyword arguments, addresses as text and the origin as its value.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let origin = self.origin.and_then(|o| CONNECTION_ORIGIN.value_of(&o));
        dicts::dict_from(
            py,
            &[
                ("protocol", dicts::obj(py, self.protocol.as_str())?),
                ("client_addr", dicts::obj(py, self.client.0.to_string())?),
                ("client_port", dicts::obj(py, self.client.1)?),
                (
                    "virtual_addr",
                    dicts::obj(py, self.virtual_addr.0.to_string())?,
                ),
                ("virtual_port", dicts::obj(py, self.virtual_addr.1)?),
                (
                    "destination_addr",
                    dicts::obj(py, self.destination.0.to_string())?,
                ),
                ("destination_port", dicts::obj(py, self.destination.1)?),
                ("state", dicts::obj(py, self.state.as_str())?),
                ("expires", dicts::obj(py, self.expires)?),
                ("pe_name", opt_obj(py, self.pe_name.as_deref())?),
                ("pe_data", opt_obj(py, self.pe_data.as_deref())?),
                ("origin", opt_obj(py, origin)?),
            ],
        )
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let fields: Vec<(&str, Bound<'_, PyAny>)> = FIELDS
            .iter()
            .map(|f| Ok((*f, slf.getattr(*f)?)))
            .collect::<PyResult<_>>()?;
        dataclass::repr("Connection", &fields)
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyDict>,))> {
        let py = slf.py();
        Ok((
            slf.get_type().getattr("from_dict")?,
            (slf.get().to_dict(py)?,),
        ))
    }
}

shared_methods!(PyConnection: dataclass_fields(FIELDS),
    replace_method(FIELDS, "A copy with some fields changed."),
    from_dict_kwargs("connection", "The inverse of :meth:`to_dict`."), eq_hash);

fn connections_out(
    py: Python<'_>,
    conns: Vec<conn::Connection>,
) -> PyResult<Vec<Bound<'_, PyConnection>>> {
    conns
        .into_iter()
        .map(|c| Bound::new(py, PyConnection::from(c)))
        .collect()
}

/// Parses the text of `/proc/net/ip_vs_conn` (or `ip_vs_conn_sync`) into
/// `ipvs.Connection` values; a bad line raises `ipvs.ConnectionParseError`.
#[pyfunction]
fn conn_parse<'py>(
    py: Python<'py>,
    text: &Bound<'py, PyAny>,
) -> PyResult<Vec<Bound<'py, PyConnection>>> {
    let text = text_in(text, "connection table text")?;
    match conn::parse(&text) {
        Ok(c) => connections_out(py, c),
        Err(e) => Err(conn_error(py, e)),
    }
}

/// Reads the connection table of a namespace (at most one of `name`, `path`,
/// `fd`); `sync` reads `ip_vs_conn_sync` (with each entry's origin).
#[pyfunction]
#[pyo3(signature = (name=None, path=None, fd=None, sync=false))]
fn conn_read<'py>(
    py: Python<'py>,
    name: Option<String>,
    path: Option<PathBuf>,
    fd: Option<&Bound<'py, PyAny>>,
    sync: bool,
) -> PyResult<Vec<Bound<'py, PyConnection>>> {
    let ns = namespace(name, path, fd)?;
    let which = if sync {
        conn::Table::ConnSync
    } else {
        conn::Table::Conn
    };
    let conns = py
        .allow_threads(move || conn::read(&ns, which))
        .map_err(|e| to_py(py, e))?;
    connections_out(py, conns)
}

/// Registers the class and functions in `ipvs._ipvs`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyConnection>()?;
    m.add_function(wrap_pyfunction!(conn_parse, m)?)?;
    m.add_function(wrap_pyfunction!(conn_read, m)?)?;
    Ok(())
}
