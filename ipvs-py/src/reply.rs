//! What the kernel reports, as native classes wrapping the core's values:
//! `ipvs.Stats`, `ipvs.ServiceEntry`, `ipvs.DestinationEntry` and
//! `ipvs.Info`. A listing builds each entry in one step from the core's
//! value; its service, destination and counters become Python objects only
//! when read. The API is that of the frozen dataclasses they were (keyword
//! construction, dataclass reprs, `dataclasses.replace`); a listed entry is
//! kept as the kernel holds it (not validated: a persistence timeout of 0
//! from another client, an unknown protocol).

use lvskit::{DestinationEntry, Info, ServiceEntry, Stats};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PyTuple, PyType};

use crate::dataclass;
use crate::dicts;
use crate::model::{
    destination_in, destination_out, key_out, parse_json, service_in, service_out, type_name,
    u32_in, u32_or_zero, PyDestination, PyService,
};
use crate::value::{copy_getters, shared_methods};

// ---------------------------------------------------------------- stats

const STATS_FIELDS: &[&str] = &[
    "conns",
    "in_packets",
    "out_packets",
    "in_bytes",
    "out_bytes",
    "cps",
    "in_pps",
    "out_pps",
    "in_bps",
    "out_bps",
];

/// Traffic counters and rates, as the kernel reports them.
#[pyclass(frozen, module = "ipvs", name = "Stats")]
pub struct PyStats {
    pub(crate) inner: Stats,
}

fn u64_in(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<u64> {
    if obj.is_instance_of::<PyBool>() || !obj.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "{what} must be an int, not {}",
            type_name(obj)
        )));
    }
    obj.extract::<u64>().map_err(|_| {
        crate::errors::refused(format!(
            "{what} {} is outside 0..={}",
            obj.str().map(|s| s.to_string()).unwrap_or_default(),
            u64::MAX
        ))
    })
}

fn stats_values(s: &Stats) -> [u64; 10] {
    [
        s.conns,
        s.in_packets,
        s.out_packets,
        s.in_bytes,
        s.out_bytes,
        s.cps,
        s.in_pps,
        s.out_pps,
        s.in_bps,
        s.out_bps,
    ]
}

fn stats_from(v: [u64; 10]) -> Stats {
    let [conns, in_packets, out_packets, in_bytes, out_bytes, cps, in_pps, out_pps, in_bps, out_bps] =
        v;
    Stats {
        conns,
        in_packets,
        out_packets,
        in_bytes,
        out_bytes,
        cps,
        in_pps,
        out_pps,
        in_bps,
        out_bps,
    }
}

/// Counters given as `Stats`, as their dict, or `None` (all zero).
fn stats_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Stats> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Stats::default());
    };
    let obj = dicts::via_dict::<PyStats>(obj)?;
    match obj.downcast::<PyStats>() {
        Ok(s) => Ok(s.get().inner),
        Err(_) => Err(PyTypeError::new_err(format!(
            "stats must be a Stats, not {}",
            type_name(&obj)
        ))),
    }
}

pub(crate) fn stats_out(py: Python<'_>, s: Stats) -> PyResult<Bound<'_, PyAny>> {
    Ok(Bound::new(py, PyStats { inner: s })?.into_any())
}

#[pymethods]
impl PyStats {
    #[new]
    #[pyo3(
        signature = (conns=None, in_packets=None, out_packets=None, in_bytes=None, out_bytes=None, cps=None, in_pps=None, out_pps=None, in_bps=None, out_bps=None),
        text_signature = "(conns=0, in_packets=0, out_packets=0, in_bytes=0, out_bytes=0, cps=0, in_pps=0, out_pps=0, in_bps=0, out_bps=0)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn new(
        conns: Option<&Bound<'_, PyAny>>,
        in_packets: Option<&Bound<'_, PyAny>>,
        out_packets: Option<&Bound<'_, PyAny>>,
        in_bytes: Option<&Bound<'_, PyAny>>,
        out_bytes: Option<&Bound<'_, PyAny>>,
        cps: Option<&Bound<'_, PyAny>>,
        in_pps: Option<&Bound<'_, PyAny>>,
        out_pps: Option<&Bound<'_, PyAny>>,
        in_bps: Option<&Bound<'_, PyAny>>,
        out_bps: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let given = [
            conns,
            in_packets,
            out_packets,
            in_bytes,
            out_bytes,
            cps,
            in_pps,
            out_pps,
            in_bps,
            out_bps,
        ];
        let mut v = [0u64; 10];
        for (i, (arg, name)) in given.iter().zip(STATS_FIELDS).enumerate() {
            if let Some(a) = arg {
                v[i] = u64_in(a, name)?;
            }
        }
        Ok(PyStats {
            inner: stats_from(v),
        })
    }
    /// The constructor's keyword arguments (every counter).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (name, v) in STATS_FIELDS.iter().zip(stats_values(&self.inner)) {
            d.set_item(*name, v)?;
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let parts: Vec<String> = STATS_FIELDS
            .iter()
            .zip(stats_values(&self.inner))
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        format!("Stats({})", parts.join(", "))
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let values = PyTuple::new(slf.py(), stats_values(&slf.get().inner))?;
        Ok((slf.get_type().into_any(), values))
    }
}

copy_getters! { PyStats, inner {
    /// Connections scheduled.
    conns: u64,
    /// Incoming packets.
    in_packets: u64,
    /// Outgoing packets.
    out_packets: u64,
    /// Incoming bytes.
    in_bytes: u64,
    /// Outgoing bytes.
    out_bytes: u64,
    /// Connections per second.
    cps: u64,
    /// Incoming packets per second.
    in_pps: u64,
    /// Outgoing packets per second.
    out_pps: u64,
    /// Incoming bytes per second.
    in_bps: u64,
    /// Outgoing bytes per second.
    out_bps: u64,
} }

shared_methods!(PyStats: dataclass_fields(STATS_FIELDS),
    replace_method(STATS_FIELDS, "A copy with some counters changed."),
    from_dict_kwargs("stats", "The inverse of :meth:`to_dict` (a counter left out is 0)."),
    to_json(inner), from_json_listed(inner, "stats", "Parses the core's serde JSON form."),
    eq_hash(inner));

// ---------------------------------------------------------------- service entries

const SERVICE_ENTRY_FIELDS: &[&str] = &["service", "stats"];

/// A service as listed by the kernel: its configuration and counters.
#[pyclass(frozen, module = "ipvs", name = "ServiceEntry")]
pub struct PyServiceEntry {
    pub(crate) inner: ServiceEntry,
}

/// An `ipvs.ServiceEntry` made from the core's entry in one step.
pub(crate) fn service_entry_out(py: Python<'_>, e: ServiceEntry) -> PyResult<Bound<'_, PyAny>> {
    Ok(Bound::new(py, PyServiceEntry { inner: e })?.into_any())
}

#[pymethods]
impl PyServiceEntry {
    #[new]
    #[pyo3(signature = (service, stats=None), text_signature = "(service, stats=...)")]
    fn new(service: &Bound<'_, PyAny>, stats: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let service = service_in(&dicts::via_dict::<PyService>(service)?, "service")?;
        Ok(PyServiceEntry {
            inner: ServiceEntry {
                service,
                stats: stats_arg(stats)?,
            },
        })
    }

    /// The service's configuration.
    #[getter]
    fn service<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        service_out(py, self.inner.service.clone())
    }

    /// Its counters.
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        stats_out(py, self.inner.stats)
    }

    /// The service's key.
    #[getter]
    fn key<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        key_out(py, self.inner.service.key)
    }

    /// The constructor's keyword arguments, each as its own dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let stats = PyStats {
            inner: self.inner.stats,
        };
        dicts::dict_from(
            py,
            &[
                (
                    "service",
                    dicts::service_dict(py, &self.inner.service)?.into_any(),
                ),
                ("stats", stats.to_dict(py)?.into_any()),
            ],
        )
    }

    /// From :meth:`to_dict` or the core's serde form (kept as listed, not validated).
    #[classmethod]
    fn from_dict<'py>(
        _cls: &Bound<'py, PyType>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let serde = dicts::item(data, "service")
            .and_then(|s| dicts::item(&s, "key"))
            .is_some_and(|k| dicts::is_serde_key(&k));
        if serde {
            let e: ServiceEntry = parse_json("service entry", &crate::model::dumps(data)?)?;
            return service_entry_out(data.py(), e);
        }
        dicts::build::<PyServiceEntry>(data, "service entry")
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        dataclass::repr(
            "ServiceEntry",
            &[("service", self.service(py)?), ("stats", self.stats(py)?)],
        )
    }
}

shared_methods!(PyServiceEntry: dataclass_fields(SERVICE_ENTRY_FIELDS),
    replace_method(SERVICE_ENTRY_FIELDS, "A copy with ``service`` or ``stats`` changed."),
    to_json(inner),
    from_json_listed(inner, "service entry",
        "Parses the core's serde JSON form (kept as listed, not validated)."),
    eq_hash(inner), reduce_json);

// ---------------------------------------------------------------- destination entries

const DEST_ENTRY_FIELDS: &[&str] = &[
    "destination",
    "active_conns",
    "inactive_conns",
    "persistent_conns",
    "stats",
];

/// A destination as listed by the kernel: configuration, connection counts, counters.
#[pyclass(frozen, module = "ipvs", name = "DestinationEntry")]
pub struct PyDestinationEntry {
    pub(crate) inner: DestinationEntry,
}

/// An `ipvs.DestinationEntry` made from the core's entry in one step.
pub(crate) fn destination_entry_out(
    py: Python<'_>,
    e: DestinationEntry,
) -> PyResult<Bound<'_, PyAny>> {
    Ok(Bound::new(py, PyDestinationEntry { inner: e })?.into_any())
}

#[pymethods]
impl PyDestinationEntry {
    #[new]
    #[pyo3(
        signature = (destination, active_conns=None, inactive_conns=None, persistent_conns=None, stats=None),
        text_signature = "(destination, active_conns=0, inactive_conns=0, persistent_conns=0, stats=...)"
    )]
    fn new(
        destination: &Bound<'_, PyAny>,
        active_conns: Option<&Bound<'_, PyAny>>,
        inactive_conns: Option<&Bound<'_, PyAny>>,
        persistent_conns: Option<&Bound<'_, PyAny>>,
        stats: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let d = dicts::via_dict::<PyDestination>(destination)?;
        Ok(PyDestinationEntry {
            inner: DestinationEntry {
                destination: destination_in(&d, "destination")?,
                active_conns: u32_or_zero(active_conns, "active_conns")?,
                inactive_conns: u32_or_zero(inactive_conns, "inactive_conns")?,
                persistent_conns: u32_or_zero(persistent_conns, "persistent_conns")?,
                stats: stats_arg(stats)?,
            },
        })
    }

    /// The real server's configuration.
    #[getter]
    fn destination<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        destination_out(py, self.inner.destination)
    }

    /// Its counters.
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        stats_out(py, self.inner.stats)
    }

    /// The real server's address.
    #[getter]
    fn addr<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::model::addr_out(py, &self.inner.destination.addr)
    }

    /// The real server's port.
    #[getter]
    fn port(&self) -> u16 {
        self.inner.destination.port
    }

    /// The constructor's keyword arguments, the destination and counters as their own dicts.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let e = &self.inner;
        let stats = PyStats { inner: e.stats };
        dicts::dict_from(
            py,
            &[
                (
                    "destination",
                    dicts::destination_dict(py, &e.destination)?.into_any(),
                ),
                ("active_conns", dicts::obj(py, e.active_conns)?),
                ("inactive_conns", dicts::obj(py, e.inactive_conns)?),
                ("persistent_conns", dicts::obj(py, e.persistent_conns)?),
                ("stats", stats.to_dict(py)?.into_any()),
            ],
        )
    }

    /// From :meth:`to_dict` or the core's serde form (kept as listed, not validated).
    #[classmethod]
    fn from_dict<'py>(
        _cls: &Bound<'py, PyType>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let serde = dicts::item(data, "destination").is_some_and(|d| dicts::has(&d, "forward"));
        if serde {
            let e: DestinationEntry = parse_json("destination entry", &crate::model::dumps(data)?)?;
            return destination_entry_out(data.py(), e);
        }
        dicts::build::<PyDestinationEntry>(data, "destination entry")
    }

    /// Reads like a destination line of ``ipvsadm -Ln``.
    fn __str__(&self) -> String {
        self.inner.to_string()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let e = &self.inner;
        dataclass::repr(
            "DestinationEntry",
            &[
                ("destination", self.destination(py)?),
                ("active_conns", dicts::obj(py, e.active_conns)?),
                ("inactive_conns", dicts::obj(py, e.inactive_conns)?),
                ("persistent_conns", dicts::obj(py, e.persistent_conns)?),
                ("stats", self.stats(py)?),
            ],
        )
    }
}

copy_getters! { PyDestinationEntry, inner {
    /// Active connections.
    active_conns: u32,
    /// Inactive connections.
    inactive_conns: u32,
    /// Persistent connection templates.
    persistent_conns: u32,
} }

shared_methods!(PyDestinationEntry: dataclass_fields(DEST_ENTRY_FIELDS),
    replace_method(DEST_ENTRY_FIELDS, "A copy with some fields changed."), to_json(inner),
    from_json_listed(inner, "destination entry",
        "Parses the core's serde JSON form (kept as listed, not validated)."),
    eq_hash(inner), reduce_json);

// ---------------------------------------------------------------- info

const INFO_FIELDS: &[&str] = &["version", "conn_table_size"];

/// Global IPVS information: version code and connection table size.
#[pyclass(frozen, module = "ipvs", name = "Info")]
pub struct PyInfo {
    pub(crate) inner: Info,
}

/// An `ipvs.Info`.
pub(crate) fn info_out(py: Python<'_>, i: Info) -> PyResult<Bound<'_, PyAny>> {
    Ok(Bound::new(py, PyInfo { inner: i })?.into_any())
}

#[pymethods]
impl PyInfo {
    #[new]
    fn new(version: &Bound<'_, PyAny>, conn_table_size: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(PyInfo {
            inner: Info {
                version: u32_in(version, "version")?,
                conn_table_size: u32_in(conn_table_size, "conn_table_size")?,
            },
        })
    }

    /// The version as (major, minor, patch).
    #[getter]
    fn version_triple(&self) -> (u8, u8, u8) {
        self.inner.version_triple()
    }

    /// The constructor's keyword arguments.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dicts::dict_from(
            py,
            &[
                ("version", dicts::obj(py, self.inner.version)?),
                (
                    "conn_table_size",
                    dicts::obj(py, self.inner.conn_table_size)?,
                ),
            ],
        )
    }

    fn __str__(&self) -> String {
        self.inner.to_string()
    }

    fn __repr__(&self) -> String {
        format!(
            "Info(version={}, conn_table_size={})",
            self.inner.version, self.inner.conn_table_size
        )
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (u32, u32))> {
        let i = slf.get().inner;
        Ok((slf.get_type().into_any(), (i.version, i.conn_table_size)))
    }
}

copy_getters! { PyInfo, inner {
    /// The version code, e.g. ``0x010201`` for 1.2.1.
    version: u32,
    /// The size of the connection hash table.
    conn_table_size: u32,
} }

shared_methods!(PyInfo: dataclass_fields(INFO_FIELDS),
    replace_method(INFO_FIELDS, "A copy with some fields changed."),
    from_dict_kwargs("info", "The inverse of :meth:`to_dict`."), to_json(inner),
    from_json_listed(inner, "info", "Parses the core's serde JSON form."), eq_hash(inner));

/// Registers the classes in `ipvs._ipvs`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyStats>()?;
    m.add_class::<PyServiceEntry>()?;
    m.add_class::<PyDestinationEntry>()?;
    m.add_class::<PyInfo>()?;
    Ok(())
}
