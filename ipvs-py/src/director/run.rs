//! `ipvs.director.Director`: the core's reconcile loop, started and stopped
//! from Python (a context manager too), with its events, health and
//! metrics; the metrics values and `render`.
//!
//! Blocking calls release the GIL. The event callback runs on the
//! director's threads with the GIL taken there; what it raises is reported
//! as unraisable and never reaches Rust. Stopping or replacing the desired
//! state from the director's own threads (inside a callback or a custom
//! check) would make a thread wait for itself, so it is refused.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use lvskit::director::metrics::{self, DestinationMetrics, ServiceMetrics};
use lvskit::director::{Director, DirectorOptions, Event, EventCallback};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::events::{event_out, id_out, PyDestinationId, PyHealth, PySubscription};
use super::state::PyDesiredState;
use super::{namespace_like, python_running, seconds, FILE_FORMAT, HEALTH_STATE};
use crate::reply::{destination_entry_out, service_entry_out};
use crate::to_py;

/// The running director, shared only for the length of a call: the lock is
/// never held while the core runs, so that an event callback or a custom
/// check may use the director while another thread is in one of its calls.
type Running = Mutex<Option<Arc<Director>>>;
type Slot = Arc<Running>;

/// Every director started from Python, so that they are stopped before the
/// interpreter finalizes (`director_stop_all`, registered with `atexit`).
static LIVE: Mutex<Vec<Weak<Running>>> = Mutex::new(Vec::new());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The options a director takes as keyword arguments.
const OPTIONS: [&str; 6] = [
    "namespace",
    "period",
    "drain_deadline",
    "backoff_min",
    "backoff_max",
    "on_event",
];

/// The callback handing each event to a Python callable.
fn callback(f: Py<PyAny>) -> EventCallback {
    Arc::new(move |e: &Event| {
        if !python_running() {
            return;
        }
        Python::with_gil(|py| {
            let r = event_out(py, e).and_then(|ev| match ev {
                Some(ev) => f.call1(py, (ev,)).map(drop),
                None => Ok(()),
            });
            if let Err(err) = r {
                err.write_unraisable(py, Some(f.bind(py)));
            }
        })
    })
}

fn set_option(o: &mut DirectorOptions, name: &str, v: &Bound<'_, PyAny>) -> PyResult<()> {
    let secs = |what: &str| seconds(v, what);
    match name {
        "namespace" => o.namespace = namespace_like(Some(v))?,
        "period" => o.period = secs(name)?,
        "drain_deadline" => o.drain_deadline = secs(name)?,
        "backoff_min" => o.backoff_min = secs(name)?,
        "backoff_max" => o.backoff_max = secs(name)?,
        "on_event" if v.is_callable() => o.on_event = Some(callback(v.clone().unbind())),
        "on_event" => return Err(PyTypeError::new_err("on_event takes a callable")),
        other => {
            return Err(PyTypeError::new_err(format!(
                "a director takes no argument {other:?} (it takes {})",
                OPTIONS.join(", ")
            )))
        }
    }
    Ok(())
}

fn options_in(options: Option<&Bound<'_, PyDict>>) -> PyResult<DirectorOptions> {
    let mut o = DirectorOptions::default();
    if let Some(opts) = options {
        for (k, v) in opts.iter() {
            let k: String = k.extract()?;
            if !v.is_none() || !OPTIONS.contains(&k.as_str()) {
                set_option(&mut o, &k, &v)?;
            }
        }
    }
    Ok(o)
}

/// Whether this is one of the director's own threads.
fn on_director_thread() -> bool {
    std::thread::current()
        .name()
        .is_some_and(|n| n.starts_with("lvskit-"))
}

fn refuse_on_director_thread(what: &str) -> PyResult<()> {
    if on_director_thread() {
        return Err(crate::invalid_input(
            format!("{what} from the director's own thread (an event callback or a custom check) would wait for itself"),
            what,
        ));
    }
    Ok(())
}

fn stopped() -> PyErr {
    crate::invalid_input(
        "operation on a stopped director".into(),
        "using a stopped director",
    )
}

/// Keeps a namespace's IPVS table equal to desired state x health x quorum
/// x drains, on threads of its own (wraps `lvskit::director::Director`).
#[pyclass(frozen, module = "ipvs._ipvs", name = "Director")]
pub(crate) struct PyDirector {
    slot: Slot,
}

impl PyDirector {
    fn started(
        py: Python<'_>,
        start: impl FnOnce() -> lvskit::Result<Director> + Send,
    ) -> PyResult<Self> {
        let d = py.allow_threads(start).map_err(|e| to_py(py, e))?;
        let slot: Slot = Arc::new(Mutex::new(Some(Arc::new(d))));
        let mut live = lock(&LIVE);
        live.retain(|w| w.strong_count() > 0);
        live.push(Arc::downgrade(&slot));
        Ok(PyDirector { slot })
    }

    /// Runs `f` on the running director with the GIL released.
    fn with<R: Send>(&self, py: Python<'_>, f: impl FnOnce(&Director) -> R + Send) -> PyResult<R> {
        let d = lock(&self.slot).clone().ok_or_else(stopped)?;
        Ok(py.allow_threads(move || f(&d)))
    }
}

/// Stops a director taken out of its slot, with the GIL released, once the
/// calls still running on other threads are done (10 s at most: then the
/// last of them stops it).
fn halt(py: Python<'_>, d: Arc<Director>) {
    py.allow_threads(move || {
        let mut d = d;
        for _ in 0..2000 {
            match Arc::try_unwrap(d) {
                Ok(d) => return d.stop(),
                Err(shared) => d = shared,
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    });
}

#[pymethods]
impl PyDirector {
    /// Validates `desired`, opens an IPVS handle in `namespace`, starts the
    /// checks and the loop (which converges at once).
    #[staticmethod]
    #[pyo3(signature = (desired, **options))]
    fn start(
        py: Python<'_>,
        desired: &Bound<'_, PyDesiredState>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let opts = options_in(options)?;
        let state = desired.get().inner.clone();
        Self::started(py, move || Director::start(state, opts))
    }

    /// As `start`, with the desired state read from the file at `path`
    /// (`FileFormat.RULES` or `FileFormat.JSON`), reloaded when it changes.
    #[staticmethod]
    #[pyo3(signature = (path, format, **options))]
    fn watch(
        py: Python<'_>,
        path: PathBuf,
        format: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let f = *FILE_FORMAT.parse(format, "format")?;
        let opts = options_in(options)?;
        Self::started(py, move || Director::watch(path, f, opts))
    }

    /// Replaces the desired state; the loop converges to it at once.
    fn set_desired(&self, py: Python<'_>, desired: &Bound<'_, PyDesiredState>) -> PyResult<()> {
        refuse_on_director_thread("replacing the desired state")?;
        let state = desired.get().inner.clone();
        self.with(py, move |d| d.set_desired(state))?
            .map_err(|e| to_py(py, e))
    }

    /// Converges now rather than at the next period.
    fn reconcile_now(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, Director::reconcile_now)
    }

    /// A new subscription to every event from now on.
    fn subscribe(&self, py: Python<'_>) -> PyResult<PySubscription> {
        Ok(PySubscription::new(self.with(py, Director::subscribe)?))
    }

    /// The health of every checked real server.
    fn health<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<HashMap<PyDestinationId, Bound<'py, PyHealth>>> {
        let all = self.with(py, Director::health)?;
        all.into_iter()
            .map(|(id, h)| {
                Ok((
                    PyDestinationId { inner: id },
                    Bound::new(py, PyHealth { inner: h })?,
                ))
            })
            .collect()
    }

    /// The real servers draining.
    fn draining<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDestinationId>>> {
        let ids = self.with(py, Director::draining)?;
        ids.into_iter().map(|id| id_out(py, id)).collect()
    }

    /// The kernel's counters of every directed service and real server,
    /// with health and drains.
    fn metrics(&self, py: Python<'_>) -> PyResult<Vec<PyServiceMetrics>> {
        let m = self
            .with(py, Director::metrics)?
            .map_err(|e| to_py(py, e))?;
        Ok(m.into_iter()
            .map(|inner| PyServiceMetrics { inner })
            .collect())
    }

    /// `metrics()` in the Prometheus text format.
    fn metrics_text(&self, py: Python<'_>) -> PyResult<String> {
        self.with(py, Director::metrics_text)?
            .map_err(|e| to_py(py, e))
    }

    /// Whether the director runs (`stop` not called yet).
    #[getter]
    fn running(&self) -> bool {
        lock(&self.slot).is_some()
    }

    /// Stops the checks and the loop and waits for them; the kernel's table
    /// is left as it is. Stopping a stopped director does nothing.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        refuse_on_director_thread("stopping the director")?;
        let d = lock(&self.slot).take();
        if let Some(d) = d {
            halt(py, d);
        }
        Ok(())
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.stop(py)?;
        Ok(false)
    }
}

impl Drop for PyDirector {
    fn drop(&mut self) {
        let Some(d) = lock(&self.slot).take() else {
            return;
        };
        if on_director_thread() {
            // dropped by a callback: stopped on a thread of its own
            let _ = std::thread::Builder::new()
                .name("director-stop".into())
                .spawn(move || drop(d));
        } else {
            Python::with_gil(|py| halt(py, d));
        }
    }
}

/// Stops every director still running (registered with `atexit` by
/// `ipvs.director`, so that no director thread outlives the interpreter).
#[pyfunction]
fn director_stop_all(py: Python<'_>) {
    let all: Vec<Slot> = lock(&LIVE).drain(..).filter_map(|w| w.upgrade()).collect();
    for slot in all {
        let d = lock(&slot).take();
        if let Some(d) = d {
            halt(py, d);
        }
    }
}

/// One real server's metrics (wraps `lvskit::director::metrics::DestinationMetrics`).
#[pyclass(frozen, module = "ipvs._ipvs", name = "DestinationMetrics")]
pub(crate) struct PyDestinationMetrics {
    inner: DestinationMetrics,
}

#[pymethods]
impl PyDestinationMetrics {
    /// The kernel's listing: configuration, connection counts, counters.
    #[getter]
    fn entry<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        destination_entry_out(py, self.inner.entry)
    }

    /// Its health; `None` when it is not checked.
    #[getter]
    fn health<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match &self.inner.health {
            Some(h) => HEALTH_STATE.member(py, h),
            None => Ok(None),
        }
    }

    /// Whether it is draining.
    #[getter]
    fn draining(&self) -> bool {
        self.inner.draining
    }
}

/// One service's metrics (wraps `lvskit::director::metrics::ServiceMetrics`).
#[pyclass(frozen, module = "ipvs._ipvs", name = "ServiceMetrics")]
pub(crate) struct PyServiceMetrics {
    inner: ServiceMetrics,
}

#[pymethods]
impl PyServiceMetrics {
    /// The kernel's listing of the service with its counters.
    #[getter]
    fn entry<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        service_entry_out(py, self.inner.entry.clone())
    }

    /// Its real servers.
    #[getter]
    fn destinations(&self) -> Vec<PyDestinationMetrics> {
        self.inner
            .destinations
            .iter()
            .map(|d| PyDestinationMetrics { inner: d.clone() })
            .collect()
    }
}

/// Metrics (`ServiceMetrics` values) in the Prometheus text format (the core's `metrics::render`).
#[pyfunction]
fn metrics_render(services: &Bound<'_, PyAny>) -> PyResult<String> {
    let mut all = Vec::new();
    for s in services.try_iter()? {
        let s = s?;
        let s = s
            .downcast::<PyServiceMetrics>()
            .map_err(|_| PyTypeError::new_err("render takes ServiceMetrics values"))?;
        all.push(s.get().inner.clone());
    }
    Ok(metrics::render(&all))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDirector>()?;
    m.add_class::<PyServiceMetrics>()?;
    m.add_class::<PyDestinationMetrics>()?;
    m.add_function(wrap_pyfunction!(metrics_render, m)?)?;
    m.add_function(wrap_pyfunction!(director_stop_all, m)?)?;
    m.add("METRICS_CONTENT_TYPE", metrics::CONTENT_TYPE)?;
    Ok(())
}
