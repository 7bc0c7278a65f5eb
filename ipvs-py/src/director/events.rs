//! What a director reports, as native values: `Event` (with an
//! `EventKind`), `DestinationId`, `Health`, and `Subscription`, the
//! iterator over a director's events.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lvskit::director::{DestinationId, Event, Health};
use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;

use super::{seconds, DRAIN_END, EVENT_KIND, HEALTH_STATE};
use crate::model::{addr_in, addr_out, key_in, key_out, operations_out, u16_in};

/// One real server of one service: what health and drains are kept for.
#[pyclass(frozen, eq, hash, module = "ipvs._ipvs", name = "DestinationId")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyDestinationId {
    pub(crate) inner: DestinationId,
}

#[pymethods]
impl PyDestinationId {
    #[new]
    fn new(
        service: &Bound<'_, PyAny>,
        addr: &Bound<'_, PyAny>,
        port: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        Ok(PyDestinationId {
            inner: DestinationId {
                service: key_in(service, "service")?,
                addr: addr_in(addr, "addr")?,
                port: u16_in(port, "port")?,
            },
        })
    }

    /// The virtual service's key.
    #[getter]
    fn service<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        key_out(py, self.inner.service)
    }

    /// The real server's address.
    #[getter]
    fn addr<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        addr_out(py, &self.inner.addr)
    }

    /// The real server's port.
    #[getter]
    fn port(&self) -> u16 {
        self.inner.port
    }

    fn __repr__(&self) -> String {
        format!("DestinationId({})", self.inner)
    }

    fn __str__(&self) -> String {
        self.inner.to_string()
    }
}

pub(crate) fn id_out(py: Python<'_>, id: DestinationId) -> PyResult<Bound<'_, PyDestinationId>> {
    Bound::new(py, PyDestinationId { inner: id })
}

/// The health of one checked real server.
#[pyclass(frozen, module = "ipvs._ipvs", name = "Health")]
pub(crate) struct PyHealth {
    pub(crate) inner: Health,
}

#[pymethods]
impl PyHealth {
    /// `HealthState.UP` or `HealthState.DOWN`.
    #[getter]
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        HEALTH_STATE.member(py, &self.inner.state)
    }

    /// Consecutive results against the state so far.
    #[getter]
    fn streak(&self) -> u32 {
        self.inner.streak
    }

    /// Checks run in all.
    #[getter]
    fn checks(&self) -> u64 {
        self.inner.checks
    }

    /// The last failure's reason, cleared by a success.
    #[getter]
    fn last_error(&self) -> Option<String> {
        self.inner.last_error.clone()
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}

/// The name of an event's kind (`None` for a kind of a later core).
fn kind_name(e: &Event) -> Option<&'static str> {
    Some(match e {
        Event::Health { .. } => "health",
        Event::Planned { .. } => "planned",
        Event::Applied { .. } => "applied",
        Event::DrainStarted(_) => "drain_started",
        Event::DrainFinished(..) => "drain_finished",
        Event::Failed { .. } => "failed",
        Event::DesiredChanged { .. } => "desired_changed",
        Event::ReloadFailed { .. } => "reload_failed",
        Event::Stopped => "stopped",
        _ => return None,
    })
}

/// Something the director did or saw; the fields that do not apply to its
/// `kind` are `None` (or empty).
#[pyclass(frozen, module = "ipvs._ipvs", name = "Event")]
pub(crate) struct PyEvent {
    inner: Event,
}

#[pymethods]
impl PyEvent {
    /// What the event reports.
    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match kind_name(&self.inner) {
            Some(k) => EVENT_KIND.member(py, &k),
            None => Ok(None),
        }
    }

    /// The real server of a health change or a drain.
    #[getter]
    fn destination<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDestinationId>>> {
        match &self.inner {
            Event::Health { id, .. } | Event::DrainStarted(id) | Event::DrainFinished(id, _) => {
                Ok(Some(id_out(py, *id)?))
            }
            _ => Ok(None),
        }
    }

    /// The new health state (health events).
    #[getter]
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match &self.inner {
            Event::Health { state, .. } => HEALTH_STATE.member(py, state),
            _ => Ok(None),
        }
    }

    /// The last failure's reason (health events going down).
    #[getter]
    fn reason(&self) -> Option<String> {
        match &self.inner {
            Event::Health { reason, .. } => reason.clone(),
            _ => None,
        }
    }

    /// The operations planned, in order (planned events).
    #[getter]
    fn operations<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        match &self.inner {
            Event::Planned { operations } => operations_out(py, operations.clone()),
            _ => Ok(Vec::new()),
        }
    }

    /// Operations applied (applied events; else 0).
    #[getter]
    fn done(&self) -> usize {
        match &self.inner {
            Event::Applied { done, .. } => *done,
            _ => 0,
        }
    }

    /// The operations that failed with the error's text (applied events).
    #[getter]
    fn failed<'py>(&self, py: Python<'py>) -> PyResult<Vec<(Bound<'py, PyAny>, String)>> {
        let Event::Applied { failed, .. } = &self.inner else {
            return Ok(Vec::new());
        };
        let ops = operations_out(py, failed.iter().map(|(o, _)| o.clone()).collect())?;
        Ok(ops
            .into_iter()
            .zip(failed.iter().map(|(_, e)| e.clone()))
            .collect())
    }

    /// Why a drain ended (drain-finished events).
    #[getter]
    fn drain_end<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match &self.inner {
            Event::DrainFinished(_, end) => DRAIN_END.member(py, end),
            _ => Ok(None),
        }
    }

    /// The error's text (failed and reload-failed events).
    #[getter]
    fn error(&self) -> Option<String> {
        match &self.inner {
            Event::Failed { error, .. } | Event::ReloadFailed { error, .. } => Some(error.clone()),
            _ => None,
        }
    }

    /// Seconds before the next attempt (failed events).
    #[getter]
    fn retry_in(&self) -> Option<f64> {
        match &self.inner {
            Event::Failed { retry_in, .. } => Some(retry_in.as_secs_f64()),
            _ => None,
        }
    }

    /// Where new desired state came from: `caller` or a file's path.
    #[getter]
    fn source(&self) -> Option<String> {
        match &self.inner {
            Event::DesiredChanged { source } => Some(source.clone()),
            _ => None,
        }
    }

    /// The desired-state file that failed to reload.
    #[getter]
    fn path(&self) -> Option<String> {
        match &self.inner {
            Event::ReloadFailed { path, .. } => Some(path.clone()),
            _ => None,
        }
    }

    fn __repr__(&self) -> String {
        format!("Event({:?})", self.inner)
    }
}

/// The native event of a core event; `None` for a kind of a later core
/// (not delivered).
pub(crate) fn event_out<'py>(py: Python<'py>, e: &Event) -> PyResult<Option<Bound<'py, PyEvent>>> {
    if kind_name(e).is_none() {
        return Ok(None);
    }
    Bound::new(py, PyEvent { inner: e.clone() }).map(Some)
}

/// How long one wait for an event lasts before signals (Ctrl-C) are checked.
const SLICE: Duration = Duration::from_millis(100);

/// Every event of a director from when it was subscribed: `get` with a
/// timeout, or iteration (which ends after the `STOPPED` event).
#[pyclass(frozen, module = "ipvs._ipvs", name = "Subscription")]
pub(crate) struct PySubscription {
    rx: Mutex<Receiver<Event>>,
    ended: AtomicBool,
}

impl PySubscription {
    pub(crate) fn new(rx: Receiver<Event>) -> Self {
        PySubscription {
            rx: Mutex::new(rx),
            ended: AtomicBool::new(false),
        }
    }

    /// The next event of a known kind before `until` (forever when `None`),
    /// with the GIL released; `None` when none came or the director is gone.
    fn next_event<'py>(
        &self,
        py: Python<'py>,
        until: Option<Instant>,
    ) -> PyResult<Option<Bound<'py, PyEvent>>> {
        loop {
            let slice = match until {
                None => SLICE,
                Some(u) => match u.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left.min(SLICE),
                    _ => return Ok(None),
                },
            };
            let got = py.allow_threads(|| {
                let rx = self.rx.lock().unwrap_or_else(|p| p.into_inner());
                rx.recv_timeout(slice)
            });
            match got {
                Ok(e) => {
                    if matches!(e, Event::Stopped) {
                        self.ended.store(true, Ordering::Relaxed);
                    }
                    if let Some(ev) = event_out(py, &e)? {
                        return Ok(Some(ev));
                    }
                }
                Err(RecvTimeoutError::Timeout) => py.check_signals()?,
                Err(RecvTimeoutError::Disconnected) => {
                    self.ended.store(true, Ordering::Relaxed);
                    return Ok(None);
                }
            }
        }
    }
}

#[pymethods]
impl PySubscription {
    /// The next event, waiting at most `timeout` seconds (`None`: until one
    /// comes); `None` when none came in time or the director is gone.
    #[pyo3(signature = (timeout=None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyEvent>>> {
        let until = match timeout.filter(|t| !t.is_none()) {
            Some(t) => Some(Instant::now() + seconds(t, "timeout")?),
            None => None,
        };
        self.next_event(py, until)
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyEvent>> {
        if self.ended.load(Ordering::Relaxed) {
            return Err(PyStopIteration::new_err(()));
        }
        self.next_event(py, None)?
            .ok_or_else(|| PyStopIteration::new_err(()))
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDestinationId>()?;
    m.add_class::<PyHealth>()?;
    m.add_class::<PyEvent>()?;
    m.add_class::<PySubscription>()?;
    Ok(())
}
