//! Desired-state tables as native classes: `ipvs.TableService` (a service
//! with its real servers) and `ipvs.Table` (services and timeouts).
//!
//! A table read from the kernel, parsed from rules text or simulated is made
//! here in one pass: one small native object per service, holding the core's
//! value; its `Service` and `Destination` objects are made when read. The
//! table keeps its services as a tuple, so indexing it costs nothing per
//! access. The API is that of the frozen dataclasses they were.

use lvskit::table::{Table, TableService};
use lvskit::Timeouts;
use pyo3::basic::CompareOp;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple, PyType};

use crate::dicts;
use crate::model::{
    destination_in, destination_out, hash_of, json_of, key_in, key_out, parse_json, service_in,
    service_out, type_name, PyDestination, PyService,
};
use crate::settings::PyTimeouts;
use crate::value::shared_methods;

const TABLE_SERVICE_FIELDS: &[&str] = &["service", "destinations"];

/// A virtual service with its real servers (order kept).
#[pyclass(frozen, module = "ipvs", name = "TableService")]
pub struct PyTableService {
    pub(crate) inner: TableService,
}

fn table_service_in(obj: &Bound<'_, PyAny>) -> PyResult<TableService> {
    let obj = dicts::via_dict::<PyTableService>(obj)?;
    match obj.downcast::<PyTableService>() {
        Ok(ts) => Ok(ts.get().inner.clone()),
        Err(_) => Err(PyTypeError::new_err(format!(
            "table service must be a TableService, not {}",
            type_name(&obj)
        ))),
    }
}

#[pymethods]
impl PyTableService {
    #[new]
    #[pyo3(signature = (service, destinations=None), text_signature = "(service, destinations=())")]
    fn new(service: &Bound<'_, PyAny>, destinations: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let service = service_in(&dicts::via_dict::<PyService>(service)?, "service")?;
        let mut dests = Vec::new();
        if let Some(ds) = destinations {
            for d in ds.try_iter()? {
                let d = dicts::via_dict::<PyDestination>(&d?)?;
                dests.push(destination_in(&d, "destination")?);
            }
        }
        Ok(PyTableService {
            inner: TableService {
                service,
                destinations: dests,
            },
        })
    }

    /// The service.
    #[getter]
    fn service<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        service_out(py, self.inner.service.clone())
    }

    /// Its real servers, in order.
    #[getter]
    fn destinations<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let ds = self
            .inner
            .destinations
            .iter()
            .map(|d| destination_out(py, *d));
        PyTuple::new(py, ds.collect::<PyResult<Vec<_>>>()?)
    }

    /// The service's key.
    #[getter]
    fn key<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        key_out(py, self.inner.service.key)
    }

    /// The constructor's keyword arguments, each value as its own dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let ds = PyList::empty(py);
        for d in &self.inner.destinations {
            ds.append(dicts::destination_dict(py, d)?)?;
        }
        dicts::dict_from(
            py,
            &[
                (
                    "service",
                    dicts::service_dict(py, &self.inner.service)?.into_any(),
                ),
                ("destinations", ds.into_any()),
            ],
        )
    }

    /// From :meth:`to_dict` or the core's serde form (checked as values are).
    #[classmethod]
    fn from_dict<'py>(
        cls: &Bound<'py, PyType>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = cls.py();
        let d = data.downcast::<PyDict>()?;
        let service = match d.get_item("service")? {
            Some(s) => py.get_type::<PyService>().call_method1("from_dict", (s,))?,
            None => return Err(PyTypeError::new_err("a table service needs a service")),
        };
        let dests = PyList::empty(py);
        if let Some(ds) = d.get_item("destinations")? {
            for x in ds.try_iter()? {
                dests.append(
                    py.get_type::<PyDestination>()
                        .call_method1("from_dict", (x?,))?,
                )?;
            }
        }
        cls.call1((service, dests))
    }

    /// Parses the core's serde JSON form (checked as values are).
    #[classmethod]
    fn from_json(cls: &Bound<'_, PyType>, text: &str) -> PyResult<Self> {
        let ts: TableService = parse_json("table service", text)?;
        checked_service(cls.py(), &ts)?;
        Ok(PyTableService { inner: ts })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let ds = PyList::new(py, self.destinations(py)?.iter())?;
        Ok(format!(
            "TableService({}, {})",
            self.service(py)?.repr()?,
            ds.repr()?
        ))
    }
}

shared_methods!(PyTableService: dataclass_fields(TABLE_SERVICE_FIELDS),
    replace_method(TABLE_SERVICE_FIELDS,
        "A copy with ``service`` or ``destinations`` changed."),
    to_json(inner), eq_hash(inner), reduce_json);

fn checked_service(py: Python<'_>, ts: &TableService) -> PyResult<()> {
    crate::model::checked(py, ts.service.validate())?;
    for d in &ts.destinations {
        crate::model::checked(py, d.validate(d.family()))?;
    }
    Ok(())
}

// ---------------------------------------------------------------- tables

const TABLE_FIELDS: &[&str] = &["services", "timeouts"];

/// A whole IPVS table: services with their destinations, and timeouts to enforce (``None``: leave them).
#[pyclass(frozen, module = "ipvs", name = "Table")]
pub struct PyTable {
    services: Py<PyTuple>,
    timeouts: Option<Timeouts>,
}

/// An `ipvs.Table` made from the core's table: one native object per service.
pub(crate) fn table_out(py: Python<'_>, t: Table) -> PyResult<Bound<'_, PyTable>> {
    let services = t
        .services
        .into_iter()
        .map(|inner| Bound::new(py, PyTableService { inner }))
        .collect::<PyResult<Vec<_>>>()?;
    Bound::new(
        py,
        PyTable {
            services: PyTuple::new(py, services)?.unbind(),
            timeouts: t.timeouts,
        },
    )
}

/// The core's table of an `ipvs.Table`.
pub(crate) fn table_in(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Table> {
    let t = obj.downcast::<PyTable>().map_err(|_| {
        PyTypeError::new_err(format!("{what} must be a Table, not {}", type_name(obj)))
    })?;
    let t = t.get();
    let py = obj.py();
    let services = t.services.bind(py);
    let mut out = Vec::with_capacity(services.len());
    for ts in services.iter() {
        out.push(ts.downcast::<PyTableService>()?.get().inner.clone());
    }
    Ok(Table {
        services: out,
        timeouts: t.timeouts,
    })
}

impl PyTable {
    fn timeouts_obj<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.timeouts {
            Some(t) => crate::model::timeouts_out(py, t),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// The services and timeouts as one comparable value.
    fn value(&self, py: Python<'_>) -> PyResult<(Vec<TableService>, Option<Timeouts>)> {
        let services = self.services.bind(py);
        let mut out = Vec::with_capacity(services.len());
        for ts in services.iter() {
            out.push(ts.downcast::<PyTableService>()?.get().inner.clone());
        }
        Ok((out, self.timeouts))
    }
}

#[pymethods]
impl PyTable {
    #[new]
    #[pyo3(signature = (services=None, timeouts=None), text_signature = "(services=(), timeouts=None)")]
    fn new(
        py: Python<'_>,
        services: Option<&Bound<'_, PyAny>>,
        timeouts: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut out = Vec::new();
        if let Some(ss) = services {
            for s in ss.try_iter()? {
                let s = s?;
                let ts = if s.is_instance_of::<PyTableService>() {
                    s
                } else {
                    Bound::new(
                        py,
                        PyTableService {
                            inner: table_service_in(&s)?,
                        },
                    )?
                    .into_any()
                };
                out.push(ts);
            }
        }
        let timeouts = match timeouts.filter(|t| !t.is_none()) {
            Some(t) => Some(crate::model::timeouts_in(&dicts::via_dict::<PyTimeouts>(
                t,
            )?)?),
            None => None,
        };
        Ok(PyTable {
            services: PyTuple::new(py, out)?.unbind(),
            timeouts,
        })
    }

    /// The services, in order.
    #[getter]
    fn services<'py>(&self, py: Python<'py>) -> Bound<'py, PyTuple> {
        self.services.bind(py).clone()
    }

    /// The timeouts to enforce, or ``None`` to leave them.
    #[getter]
    fn timeouts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.timeouts_obj(py)
    }

    /// Finds a service by key.
    fn service<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let k = key_in(key, "key")?;
        for ts in self.services.bind(py).iter() {
            if ts.downcast::<PyTableService>()?.get().inner.service.key == k {
                return Ok(Some(ts));
            }
        }
        Ok(None)
    }

    /// The table in a canonical order (for comparisons).
    fn sorted<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTable>> {
        let (mut services, timeouts) = self.value(py)?;
        for ts in &mut services {
            ts.destinations
                .sort_by_key(|d| (d.addr.is_ipv6(), d.addr, d.port));
        }
        let mut keyed = services
            .into_iter()
            .map(|ts| Ok((json_of(&ts.service.key)?, ts)))
            .collect::<PyResult<Vec<_>>>()?;
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        let services = keyed.into_iter().map(|(_, ts)| ts).collect();
        table_out(py, Table { services, timeouts })
    }

    /// The constructor's keyword arguments, each value as its own dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let ss = PyList::empty(py);
        for ts in self.services.bind(py).iter() {
            ss.append(ts.downcast::<PyTableService>()?.get().to_dict(py)?)?;
        }
        let timeouts = match &self.timeouts {
            Some(t) => dicts::timeouts_dict(py, t)?.into_any(),
            None => py.None().into_bound(py),
        };
        dicts::dict_from(py, &[("services", ss.into_any()), ("timeouts", timeouts)])
    }

    /// From :meth:`to_dict` or the core's serde form (checked as values are).
    #[classmethod]
    fn from_dict<'py>(
        cls: &Bound<'py, PyType>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = cls.py();
        let d = data.downcast::<PyDict>()?;
        let ss = PyList::empty(py);
        if let Some(services) = d.get_item("services")? {
            for s in services.try_iter()? {
                ss.append(
                    py.get_type::<PyTableService>()
                        .call_method1("from_dict", (s?,))?,
                )?;
            }
        }
        let t = d.get_item("timeouts")?.filter(|t| !t.is_none());
        cls.call1((ss, t))
    }

    /// The table in the core's serde JSON form.
    fn to_json(&self, py: Python<'_>) -> PyResult<String> {
        let (services, timeouts) = self.value(py)?;
        json_of(&Table { services, timeouts })
    }

    /// Parses the core's serde JSON form (checked as values are).
    #[classmethod]
    fn from_json<'py>(cls: &Bound<'py, PyType>, text: &str) -> PyResult<Bound<'py, PyTable>> {
        let py = cls.py();
        let t: Table = parse_json("table", text)?;
        for ts in &t.services {
            checked_service(py, ts)?;
        }
        table_out(py, t)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let ss = PyList::new(py, self.services.bind(py).iter())?;
        Ok(format!(
            "Table({}, timeouts={})",
            ss.repr()?,
            self.timeouts_obj(py)?.repr()?
        ))
    }

    fn __hash__(&self, py: Python<'_>) -> PyResult<u64> {
        Ok(hash_of(&self.value(py)?))
    }

    fn __richcmp__(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        op: CompareOp,
    ) -> PyResult<PyObject> {
        let mine = self.value(py)?;
        Ok(match other.downcast::<PyTable>() {
            Ok(o) => crate::model::richcmp(py, &mine, Some(&o.get().value(py)?), op),
            Err(_) => crate::model::richcmp(py, &mine, None, op),
        })
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        Ok((
            slf.get_type().getattr("from_json")?,
            (slf.get().to_json(slf.py())?,),
        ))
    }
}

shared_methods!(PyTable: dataclass_fields(TABLE_FIELDS),
    replace_method(TABLE_FIELDS, "A copy with ``services`` or ``timeouts`` changed."));

/// Registers the classes in `ipvs._ipvs`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyTableService>()?;
    m.add_class::<PyTable>()?;
    Ok(())
}
