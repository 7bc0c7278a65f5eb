//! The director's desired state: `DirectedService` (a service, its real
//! servers, their check, the failure policy, quorum and sorry server) and
//! `DesiredState`, each validated by the core when made; `parse_file`.

use lvskit::director::{self as core, DesiredState, DirectedService, OnFailure};
use pyo3::prelude::*;

use super::check::PyCheck;
use super::{FILE_FORMAT, ON_FAILURE};
use crate::model::{destination_in, destination_out, service_in, service_out};
use crate::tables::table_in;
use crate::to_py;

/// One virtual service as the director keeps it (wraps
/// `lvskit::director::DirectedService`); validated when made.
#[pyclass(frozen, module = "ipvs._ipvs", name = "DirectedService")]
pub(crate) struct PyDirectedService {
    pub(crate) inner: DirectedService,
}

fn destinations_in(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<lvskit::Destination>> {
    let mut out = Vec::new();
    if let Some(ds) = obj.filter(|o| !o.is_none()) {
        for d in ds.try_iter()? {
            out.push(destination_in(&d?, "destination")?);
        }
    }
    Ok(out)
}

fn quorum_in(quorum: i64) -> PyResult<u32> {
    u32::try_from(quorum).map_err(|_| {
        crate::invalid_input(
            format!("quorum {quorum} is not a number of real servers (0 or more)"),
            "quorum",
        )
    })
}

#[pymethods]
impl PyDirectedService {
    #[new]
    #[pyo3(signature = (service, destinations=None, *, check=None, on_failure=None, quorum=0, sorry_server=None))]
    fn new(
        py: Python<'_>,
        service: &Bound<'_, PyAny>,
        destinations: Option<&Bound<'_, PyAny>>,
        check: Option<&Bound<'_, PyCheck>>,
        on_failure: Option<&Bound<'_, PyAny>>,
        quorum: i64,
        sorry_server: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let on_failure = match on_failure.filter(|o| !o.is_none()) {
            Some(o) => *ON_FAILURE.parse(o, "on_failure")?,
            None => OnFailure::Inhibit,
        };
        let sorry = match sorry_server.filter(|o| !o.is_none()) {
            Some(s) => Some(destination_in(s, "sorry_server")?),
            None => None,
        };
        let inner = DirectedService::new(
            service_in(service, "service")?,
            destinations_in(destinations)?,
        )
        .with_on_failure(on_failure)
        .with_quorum(quorum_in(quorum)?, sorry);
        let inner = match check {
            Some(c) => inner.with_check(c.get().inner.clone()),
            None => inner,
        };
        inner.validate().map_err(|e| to_py(py, e))?;
        Ok(PyDirectedService { inner })
    }

    /// The service.
    #[getter]
    fn service<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        service_out(py, self.inner.service.clone())
    }

    /// Its real servers with their desired weights.
    #[getter]
    fn destinations<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        self.inner
            .destinations
            .iter()
            .map(|d| destination_out(py, *d))
            .collect()
    }

    /// The check of every real server (`None`: all count as healthy).
    #[getter]
    fn check<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyCheck>>> {
        self.inner
            .check
            .clone()
            .map(|c| Bound::new(py, PyCheck { inner: c }))
            .transpose()
    }

    /// What happens to a failing real server.
    #[getter]
    fn on_failure<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        ON_FAILURE.member(py, &self.inner.on_failure)
    }

    /// The fewest healthy real servers the service runs on (0: no quorum).
    #[getter]
    fn quorum(&self) -> u32 {
        self.inner.quorum
    }

    /// The server taking new connections below quorum.
    #[getter]
    fn sorry_server<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner
            .sorry_server
            .map(|d| destination_out(py, d))
            .transpose()
    }

    fn __repr__(&self) -> String {
        format!(
            "DirectedService({}, {} real servers, quorum {})",
            self.inner.service.key,
            self.inner.destinations.len(),
            self.inner.quorum
        )
    }
}

/// Everything a director keeps in the kernel (wraps
/// `lvskit::director::DesiredState`); validated when made.
#[pyclass(frozen, module = "ipvs._ipvs", name = "DesiredState")]
pub(crate) struct PyDesiredState {
    pub(crate) inner: DesiredState,
}

fn checked(py: Python<'_>, inner: DesiredState) -> PyResult<PyDesiredState> {
    inner.validate().map_err(|e| to_py(py, e))?;
    Ok(PyDesiredState { inner })
}

#[pymethods]
impl PyDesiredState {
    #[new]
    #[pyo3(signature = (services=None))]
    fn new(py: Python<'_>, services: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let mut all = Vec::new();
        if let Some(ss) = services.filter(|o| !o.is_none()) {
            for s in ss.try_iter()? {
                let s = s?;
                let s = s.downcast::<PyDirectedService>().map_err(|_| {
                    pyo3::exceptions::PyTypeError::new_err(
                        "services must be DirectedService values",
                    )
                })?;
                all.push(s.get().inner.clone());
            }
        }
        checked(py, DesiredState { services: all })
    }

    /// The services of an `ipvs.Table`: unchecked, inhibited on failure, no quorum.
    #[staticmethod]
    fn from_table(py: Python<'_>, table: &Bound<'_, PyAny>) -> PyResult<Self> {
        checked(py, DesiredState::from_table(table_in(table, "table")?))
    }

    /// The services.
    #[getter]
    fn services<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDirectedService>>> {
        self.inner
            .services
            .iter()
            .map(|s| Bound::new(py, PyDirectedService { inner: s.clone() }))
            .collect()
    }

    fn __len__(&self) -> usize {
        self.inner.services.len()
    }

    fn __repr__(&self) -> String {
        let keys: Vec<String> = self
            .inner
            .services
            .iter()
            .map(|s| s.service.key.to_string())
            .collect();
        format!("DesiredState([{}])", keys.join(", "))
    }
}

/// Parses desired state from text: `ipvsadm -S` rules or the JSON form
/// (with checks, failure policy and quorum); validated.
#[pyfunction]
fn parse_file(py: Python<'_>, text: &str, format: &Bound<'_, PyAny>) -> PyResult<PyDesiredState> {
    let f = *FILE_FORMAT.parse(format, "format")?;
    let inner = core::parse_file(text, f).map_err(|e| to_py(py, e))?;
    Ok(PyDesiredState { inner })
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDirectedService>()?;
    m.add_class::<PyDesiredState>()?;
    m.add_function(wrap_pyfunction!(parse_file, m)?)?;
    Ok(())
}
