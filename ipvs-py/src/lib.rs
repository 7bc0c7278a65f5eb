//! The compiled half of the Python package `ipvs` (`ipvs._ipvs`): one
//! native bridge. No request or reply takes JSON text.
//!
//! - the value classes are native classes wrapping the core's values
//!   (`model.rs`); what the kernel reports is handed to Python as values
//!   (`reply.rs`); the enums and flags are defined here once (`enums.rs`);
//! - [`Handle`] wraps [`lvskit::Ipvs`]: one method per core operation taking
//!   and returning those values, the GIL released around every netlink
//!   exchange, usable from many threads; the batch, table, plan and restore
//!   functions hand the same values to the core;
//! - the tunnel handles (`tunnel.rs`) take and return the Python objects of
//!   their values' `to_dict()` (dicts, lists, numbers, text);
//! - every exception is made here (`errors.rs`): the class of a core error
//!   from [`lvskit::ErrorKind`], the binding's own refusals an
//!   `InvalidInputError`; nothing here panics.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod aio;
mod director;
mod sysctl;
mod tunnel;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lvskit::rules;
use lvskit::table::{self, DiffOptions, Table};
use lvskit::{BatchReport, Ipvs, Namespace, OpOutcome, Operation};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt};

mod addr_text;
mod conn;
mod dataclass;
mod dicts;
mod enums;
mod errors;
mod model;
mod reply;
mod settings;
mod tables;
mod types;
mod value;

pub(crate) use errors::{conn_error, invalid_input, rules_error, to_py};

/// The namespace named by at most one of `name` (`ip netns` name), `path` (a
/// namespace file) or `fd` (an open namespace descriptor, borrowed).
pub(crate) fn namespace(
    name: Option<String>,
    path: Option<PathBuf>,
    fd: Option<&Bound<'_, PyAny>>,
) -> PyResult<Namespace> {
    let fd = fd.filter(|f| !f.is_none());
    Ok(match (name, path, fd) {
        (None, None, None) => Namespace::Current,
        (Some(n), None, None) => {
            if n.is_empty() || n.contains('/') || n.contains('\0') || n == "." || n == ".." {
                return Err(invalid_input(
                    format!("{n:?} is not a network namespace name"),
                    "opening a network namespace",
                ));
            }
            Namespace::Named(n)
        }
        (None, Some(p), None) => Namespace::Path(p),
        (None, None, Some(fd)) => {
            Namespace::Fd(
                model::int_in(fd, "namespace file descriptor", 0, i64::from(i32::MAX))? as i32,
            )
        }
        _ => {
            return Err(PyTypeError::new_err(
                "give at most one of a namespace name, path or file descriptor",
            ))
        }
    })
}

/// An outcome of a batch that is not "done", as Python sees it: the
/// operation's index, its status and the exception (if any).
type PyOutcome = (usize, &'static str, Option<PyObject>);

/// Only the outcomes that are not "done": a batch of thousands of applied
/// operations crosses into Python as an empty list.
fn outcomes(py: Python<'_>, report: BatchReport) -> Vec<PyOutcome> {
    report
        .outcomes
        .into_iter()
        .enumerate()
        .filter_map(|(i, o)| match o {
            OpOutcome::Done => None,
            OpOutcome::NotAttempted => Some((i, "not_attempted", None)),
            OpOutcome::Failed(e) => {
                Some((i, "failed", Some(to_py(py, e).into_value(py).into_any())))
            }
            OpOutcome::Unknown(e) => {
                Some((i, "unknown", Some(to_py(py, e).into_value(py).into_any())))
            }
            // a later kind of outcome: reported as unknown, without an error
            _ => Some((i, "unknown", None)),
        })
        .collect()
}

/// A Python scope predicate's first exception, kept until the plan is made.
type Raised = Arc<Mutex<Option<PyErr>>>;

/// Plans with `table::diff`, then raises the scope predicate's exception, if any.
fn plan(current: &Table, desired: &Table, opts: &(DiffOptions, Raised)) -> PyResult<table::Plan> {
    raised_or(&opts.1, table::diff(current, desired, &opts.0))
}

/// `value`, unless a scope predicate raised meanwhile: then what it raised.
fn raised_or<T>(raised: &Raised, value: T) -> PyResult<T> {
    match raised.lock().unwrap_or_else(|p| p.into_inner()).take() {
        Some(e) => Err(e),
        None => Ok(value),
    }
}

/// Shared handle plumbing: a closable `Arc` and GIL-free calls. `close`
/// drops this object's reference; calls already running on other threads
/// finish normally.
pub(crate) struct Slot<T>(Mutex<Option<Arc<T>>>);

impl<T: Send + Sync> Slot<T> {
    /// Opens `T` (with the GIL released) in the namespace named by at most one
    /// of `name` (`ip netns` name), `path` (a namespace file) or `fd` (borrowed).
    pub(crate) fn open(
        py: Python<'_>,
        name: Option<String>,
        path: Option<PathBuf>,
        fd: Option<&Bound<'_, PyAny>>,
        open: impl FnOnce(Namespace) -> lvskit::Result<T> + Send,
    ) -> PyResult<Self> {
        let ns = namespace(name, path, fd)?;
        let v = py
            .allow_threads(move || open(ns))
            .map_err(|e| to_py(py, e))?;
        Ok(Slot(Mutex::new(Some(Arc::new(v)))))
    }

    pub(crate) fn get(&self, what: &str) -> PyResult<Arc<T>> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| {
                invalid_input(
                    format!("operation on a closed {what} handle"),
                    "using a closed handle",
                )
            })
    }

    pub(crate) fn close(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    pub(crate) fn closed(&self) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).is_none()
    }

    /// Runs `f` on the handle with the GIL released.
    pub(crate) fn run<R: Send>(
        &self,
        py: Python<'_>,
        what: &str,
        f: impl FnOnce(&T) -> lvskit::Result<R> + Send,
    ) -> PyResult<R> {
        let h = self.get(what)?;
        py.allow_threads(move || f(&h)).map_err(|e| to_py(py, e))
    }
}

/// A reply timeout of `seconds` (a positive number that fits a `Duration`).
pub(crate) fn timeout_of(seconds: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            invalid_input(
                format!("timeout must be a positive number of seconds, not {seconds}"),
                "timeout",
            )
        })
}

/// `new(name=None, path=None, fd=None)`, `close()` and `closed` of a handle
/// class that keeps its socket in a `Slot` field `inner`, opened by `$open`.
macro_rules! slot_handle {
    ($ty:ident, $open:path) => {
        #[pyo3::pymethods]
        impl $ty {
            #[new]
            #[pyo3(signature = (name=None, path=None, fd=None))]
            fn new(
                py: pyo3::Python<'_>,
                name: Option<String>,
                path: Option<std::path::PathBuf>,
                fd: Option<&pyo3::Bound<'_, pyo3::PyAny>>,
            ) -> pyo3::PyResult<Self> {
                Ok($ty {
                    inner: $crate::Slot::open(py, name, path, fd, $open)?,
                })
            }

            /// Closes the handle's socket; calls still running on other threads finish first.
            fn close(&self) {
                self.inner.close()
            }

            /// Whether :meth:`close` was called.
            #[getter]
            fn closed(&self) -> bool {
                self.inner.closed()
            }
        }
    };
}
pub(crate) use slot_handle;

/// A handle on the IPVS table of one network namespace: the base class of
/// `ipvs.Ipvs`, which inherits its methods as they are (no Python layer on
/// the way to the kernel).
///
/// Every method takes and returns native values. The core handle is shared
/// through an `Arc`: `close` drops this object's reference, and calls
/// already running on other threads finish normally.
#[pyclass(frozen, subclass, module = "ipvs._ipvs", name = "Handle")]
pub struct Handle {
    inner: Slot<Ipvs>,
}

const IPVS: &str = "Ipvs";

impl Handle {
    fn get(&self) -> PyResult<Arc<Ipvs>> {
        self.inner.get(IPVS)
    }

    /// Runs `f` on the core handle with the GIL released.
    fn run<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Ipvs) -> lvskit::Result<R> + Send,
    ) -> PyResult<R> {
        self.inner.run(py, IPVS, f)
    }
}

slot_handle!(Handle, Ipvs::open);

#[pymethods]
impl Handle {
    /// The generic netlink family id of IPVS in this namespace.
    #[getter]
    fn family_id(&self) -> PyResult<u16> {
        Ok(self.get()?.family_id())
    }

    /// The netlink port id of the handle's socket.
    #[getter]
    fn port_id(&self) -> PyResult<u32> {
        Ok(self.get()?.port_id())
    }

    /// Sets the socket's receive buffer in bytes (default 8 MiB where allowed).
    ///
    /// Replies that do not fit are dropped by the kernel and reported as a
    /// :class:`SystemCallError` with ``errno`` ``ENOBUFS``, never waited for.
    fn set_receive_buffer(&self, py: Python<'_>, size: &Bound<'_, PyAny>) -> PyResult<()> {
        let n = model::int_in(size, "receive buffer size", 1, i64::from(i32::MAX))? as usize;
        self.run(py, move |h| h.set_receive_buffer(n))
    }

    /// Bounds every wait for the kernel's reply, in seconds.
    fn set_timeout(&self, py: Python<'_>, seconds: &Bound<'_, PyAny>) -> PyResult<()> {
        let is_number = (seconds.is_instance_of::<PyInt>() || seconds.is_instance_of::<PyFloat>())
            && !seconds.is_instance_of::<PyBool>();
        if !is_number {
            return Err(PyTypeError::new_err(format!(
                "timeout must be a number of seconds, not {}",
                model::type_name(seconds)
            )));
        }
        let d = timeout_of(seconds.extract()?)?;
        self.run(py, move |h| h.set_timeout(d))
    }

    /// Adds a virtual service (``ipvsadm -A``). Raises :class:`ExistsError` if it exists.
    fn add_service(&self, py: Python<'_>, service: &Bound<'_, PyAny>) -> PyResult<()> {
        let s = model::service_in(service, "service")?;
        self.run(py, move |h| h.add_service(&s))
    }

    /// Changes a virtual service's configuration (``ipvsadm -E``).
    ///
    /// Restates the whole configuration, as ``ipvsadm -E`` does: what
    /// ``service`` leaves at its default (scheduler ``wlc``, no persistence)
    /// is reset. To change only the scheduler, use :meth:`set_scheduler`.
    fn update_service(&self, py: Python<'_>, service: &Bound<'_, PyAny>) -> PyResult<()> {
        let s = model::service_in(service, "service")?;
        self.run(py, move |h| h.update_service(&s))
    }

    /// Deletes a virtual service and its real servers (``ipvsadm -D``).
    fn delete_service(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        let k = model::key_in(key, "key")?;
        self.run(py, move |h| h.delete_service(&k))
    }

    /// Reads one virtual service. Raises :class:`NotFoundError` if it does not exist.
    fn service<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let k = model::key_in(key, "key")?;
        let e = self.run(py, move |h| h.service(&k))?;
        reply::service_entry_out(py, e)
    }

    /// Lists every virtual service with its counters (``ipvsadm -Ln``).
    fn services<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let all = self.run(py, |h| h.services())?;
        all.into_iter()
            .map(|e| reply::service_entry_out(py, e))
            .collect()
    }

    /// Adds a real server to a virtual service (``ipvsadm -a``).
    fn add_destination(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        destination: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let k = model::key_in(key, "key")?;
        let d = model::destination_in(destination, "destination")?;
        self.run(py, move |h| h.add_destination(&k, &d))
    }

    /// Changes a real server's forwarding, weight or thresholds (``ipvsadm -e``).
    ///
    /// Restates the whole destination, as ``ipvsadm -e`` does: what
    /// ``destination`` leaves at its default (direct routing, no tunnel
    /// options, no thresholds) is reset. To change only the weight (drain
    /// and restore), use :meth:`set_weight`.
    fn update_destination(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        destination: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let k = model::key_in(key, "key")?;
        let d = model::destination_in(destination, "destination")?;
        self.run(py, move |h| h.update_destination(&k, &d))
    }

    /// Removes a real server from a virtual service (``ipvsadm -d``).
    fn delete_destination(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        addr: &Bound<'_, PyAny>,
        port: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let k = model::key_in(key, "key")?;
        let a = model::addr_in(addr, "real server address")?;
        let p = model::u16_in(port, "port")?;
        self.run(py, move |h| h.delete_destination(&k, a, p))
    }

    /// Sets one real server's weight and keeps everything else it has.
    ///
    /// Forwarding method, tunnel type, port and flags and thresholds are read
    /// from the kernel and written back unchanged: weight 0 drains the server
    /// (no new connections), a positive weight restores it. Unlike
    /// :meth:`update_destination`, which restates the whole destination
    /// (like ``ipvsadm -e``). Two requests, not atomic. Raises
    /// :class:`NotFoundError` when the service or the real server does not exist.
    fn set_weight(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        addr: &Bound<'_, PyAny>,
        port: &Bound<'_, PyAny>,
        weight: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let k = model::key_in(key, "key")?;
        let a = model::addr_in(addr, "real server address")?;
        let p = model::u16_in(port, "port")?;
        let w = model::int_in(weight, "weight", 0, i64::from(i32::MAX))? as u32;
        self.run(py, move |h| h.set_weight(&k, a, p, w))
    }

    /// Sets a virtual service's scheduler and keeps everything else it has.
    ///
    /// Flags, persistence (timeout and netmask) and persistence engine are
    /// read from the kernel and written back unchanged. Unlike
    /// :meth:`update_service`, which restates the whole service (like
    /// ``ipvsadm -E``). Two requests, not atomic. Raises
    /// :class:`NotFoundError` when the service does not exist.
    fn set_scheduler(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        scheduler: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let k = model::key_in(key, "key")?;
        let s = model::scheduler_in(scheduler)?;
        self.run(py, move |h| h.set_scheduler(&k, s))
    }

    /// Lists a virtual service's real servers; raises ``NotFoundError`` if the service does not exist.
    fn destinations<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let k = model::key_in(key, "key")?;
        let all = self.run(py, move |h| h.destinations(&k))?;
        all.into_iter()
            .map(|e| reply::destination_entry_out(py, e))
            .collect()
    }

    /// Starts a connection synchronisation daemon (``ipvsadm --start-daemon``).
    fn start_daemon(&self, py: Python<'_>, daemon: &Bound<'_, PyAny>) -> PyResult<()> {
        let d = model::daemon_in(daemon)?;
        self.run(py, move |h| h.start_daemon(&d))
    }

    /// Stops the sync daemon of that state (``ipvsadm --stop-daemon``).
    ///
    /// A state listed as a raw number (unknown to this library) is refused
    /// with :class:`InvalidInputError`, as every unknown value written back.
    fn stop_daemon(&self, py: Python<'_>, state: &Bound<'_, PyAny>) -> PyResult<()> {
        let s = model::sync_state_in(state)?;
        // an unknown state (a raw number) is refused by the core's validation
        let op = Operation::StopDaemon(s);
        op.validate().map_err(|e| to_py(py, e))?;
        self.run(py, move |h| h.stop_daemon(s))
    }

    /// Lists the running sync daemons (``ipvsadm -L --daemon``).
    fn daemons<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let all = self.run(py, |h| h.daemons())?;
        all.into_iter().map(|d| model::daemon_out(py, d)).collect()
    }

    /// Reads the connection timeouts (``ipvsadm -L --timeout``).
    fn timeouts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let t = self.run(py, |h| h.timeouts())?;
        model::timeouts_out(py, t)
    }

    /// Sets the connection timeouts (``ipvsadm --set``); a 0 keeps that timeout.
    fn set_timeouts(&self, py: Python<'_>, timeouts: &Bound<'_, PyAny>) -> PyResult<()> {
        let t = model::timeouts_in(timeouts)?;
        self.run(py, move |h| h.set_timeouts(&t))
    }

    /// Reads the IPVS version and connection table size.
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let i = self.run(py, |h| h.info())?;
        reply::info_out(py, i)
    }

    /// Zeroes the counters of one service, or of all (``ipvsadm -Z``).
    #[pyo3(signature = (key=None))]
    fn zero(&self, py: Python<'_>, key: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let k = match key.filter(|k| !k.is_none()) {
            Some(k) => Some(model::key_in(k, "key")?),
            None => None,
        };
        self.run(py, move |h| h.zero(k.as_ref()))
    }

    /// Deletes every virtual service (``ipvsadm -C``).
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, |h| h.flush())
    }

    /// Reads the whole table: services, their destinations, and the timeouts.
    fn table<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, tables::PyTable>> {
        let t = self.run(py, Table::read)?;
        tables::table_out(py, t)
    }
}

/// Parses `ipvsadm -S` rules text into a table (its parts, as `Table._of`
/// takes them); a parse error raises `ipvs.RulesParseError` with its line and column.
#[pyfunction]
fn rules_parse<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, tables::PyTable>> {
    match rules::parse_table(text) {
        Ok(t) => tables::table_out(py, t),
        Err(e) => Err(rules_error(py, e)),
    }
}

/// A restore as Python sees it: the operations, their line numbers and the
/// outcomes not done.
type PyRestored<'py> = (Vec<Bound<'py, PyAny>>, Vec<usize>, Vec<PyOutcome>);

/// Applies rules text with the handle as `ipvsadm -R` does
/// (`Ipvs::restore`): `(operations, line numbers, outcomes not done)`, one
/// operation and line number per rule. A line that does not parse raises
/// `ipvs.RulesParseError` and nothing is sent.
#[pyfunction]
fn handle_restore<'py>(
    py: Python<'py>,
    handle: &Bound<'py, Handle>,
    text: &str,
    mode: &str,
) -> PyResult<PyRestored<'py>> {
    let mode = model::batch_mode(mode)?;
    // parsed here too, for the operations to hand back (parsing is cheap)
    let ops = rules::parse(text).map_err(|e| rules_error(py, e))?;
    let h = handle.get().get()?;
    let text = text.to_owned();
    let restored = py
        .allow_threads(move || h.restore(&text, mode))
        .map_err(|e| rules_error(py, e))?;
    Ok((
        model::operations_out(py, ops)?,
        restored.lines,
        outcomes(py, restored.report),
    ))
}

/// A plan's operations as `ipvsadm -R` input (`Plan::to_rules`); raises
/// `ipvs.InvalidInputError` for what ipvsadm has no words for.
#[pyfunction]
fn plan_rules(py: Python<'_>, ops: &Bound<'_, PyAny>) -> PyResult<String> {
    table::Plan {
        operations: model::operations_in(ops)?,
    }
    .to_rules()
    .map_err(|e| to_py(py, e))
}

/// Writes a table (an `ipvs.Table`) as rules text: exactly `ipvsadm -Sn`,
/// or with `lossless` also thresholds and every scheduler flag.
#[pyfunction]
#[pyo3(signature = (table, lossless=false))]
fn rules_save(table: &Bound<'_, PyAny>, lossless: bool) -> PyResult<String> {
    let t = tables::table_in(table, "table")?;
    let format = if lossless {
        rules::Format::Lossless
    } else {
        rules::Format::Ipvsadm
    };
    Ok(rules::save(&t, format))
}

/// The compiled module `ipvs._ipvs`.
#[pymodule]
fn _ipvs(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Handle>()?;
    enums::register(m)?;
    model::register(m)?;
    reply::register(m)?;
    errors::register(m)?;
    m.add_function(wrap_pyfunction!(rules_parse, m)?)?;
    m.add_function(wrap_pyfunction!(rules_save, m)?)?;
    m.add_function(wrap_pyfunction!(handle_restore, m)?)?;
    m.add_function(wrap_pyfunction!(plan_rules, m)?)?;
    conn::register(m)?;
    settings::register(m)?;
    tables::register(m)?;
    tunnel::register(m)?;
    sysctl::register(m)?;
    director::register(m)?;
    aio::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MAX_TIMEOUT", lvskit::Timeouts::MAX)?;
    m.add("MAX_SYNC_ID", lvskit::SyncDaemon::MAX_SYNC_ID)?;
    Ok(())
}
