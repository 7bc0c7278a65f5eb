//! The compiled half of the Python package `ipvs` (`ipvs._ipvs`).
//!
//! The hot value classes (service keys, persistence, services, destinations,
//! operations) are native classes wrapping the core's values (`model.rs`); the
//! batch, table and plan functions there hand them to the core without JSON.
//! The Python half (`python/ipvs/`) holds the other value classes (frozen
//! dataclasses), the enums and flags, and converts them to and from the core's
//! serde form; those values cross as JSON text in that form, so the core's own
//! deserialisers and validators decide what is acceptable, and its messages
//! reach Python unchanged:
//!
//! - [`Handle`] wraps [`lvskit::Ipvs`]: one method per core operation, the GIL
//!   released around every netlink exchange, usable from many threads;
//! - [`normalize`] and the `*_str` functions run the core's pure logic
//!   (validation, serde round trip, `Display`) without a kernel;
//! - errors become the exception classes of `ipvs._errors` (built by its
//!   `_from_core`), bad JSON or values a `ValueError`; nothing here panics.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod sysctl;
mod tunnel;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lvskit::table::{self, DiffOptions, Table};
use lvskit::{conn, rules};
use lvskit::{
    BatchReport, Destination, DestinationEntry, Family, Info, Ipvs, Namespace, OpOutcome,
    Operation, Service, ServiceEntry, ServiceKey, Stats, SyncDaemon, SyncState, Timeouts,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

mod model;

/// Turns a core error into the matching exception of `ipvs._errors`.
fn to_py(py: Python<'_>, e: lvskit::Error) -> PyErr {
    let kind = e.kind().name();
    let (module, hint): (Option<String>, Option<&str>) = match &e {
        lvskit::Error::Invalid { hint, .. } => (None, *hint),
        lvskit::Error::ModuleMissing { module, .. } => (Some(module.clone()), None),
        _ => (None, None),
    };
    let made = py
        .import("ipvs._errors")
        .and_then(|m| m.getattr("_from_core"))
        .and_then(|f| {
            f.call1((
                kind,
                e.to_string(),
                e.context().to_string(),
                e.errno(),
                module,
                hint,
            ))
        });
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(err) => err,
    }
}

fn from_json<T: DeserializeOwned>(what: &str, json: &str) -> PyResult<T> {
    serde_json::from_str(json).map_err(|e| PyValueError::new_err(format!("invalid {what}: {e}")))
}

fn to_json<T: Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value)
        .map_err(|e| PyValueError::new_err(format!("cannot encode a value: {e}")))
}

fn family(name: &str) -> PyResult<Family> {
    match name {
        "ipv4" => Ok(Family::Ipv4),
        "ipv6" => Ok(Family::Ipv6),
        other => Err(PyValueError::new_err(format!(
            "unknown address family {other:?} (expected \"ipv4\" or \"ipv6\")"
        ))),
    }
}

fn sync_state(name: &str) -> PyResult<SyncState> {
    match name {
        "master" => Ok(SyncState::Master),
        "backup" => Ok(SyncState::Backup),
        other => Err(PyValueError::new_err(format!(
            "unknown sync daemon state {other:?} (expected \"master\" or \"backup\")"
        ))),
    }
}

fn parse_addr(addr: &str) -> PyResult<IpAddr> {
    addr.parse()
        .map_err(|_| PyValueError::new_err(format!("{addr:?} is not an IP address")))
}

/// The namespace named by at most one of `name` (`ip netns` name), `path` (a
/// namespace file) or `fd` (an open namespace descriptor, borrowed).
fn namespace(name: Option<String>, path: Option<PathBuf>, fd: Option<i32>) -> PyResult<Namespace> {
    Ok(match (name, path, fd) {
        (None, None, None) => Namespace::Current,
        (Some(n), None, None) => {
            if n.is_empty() || n.contains('/') || n.contains('\0') || n == "." || n == ".." {
                return Err(PyValueError::new_err(format!(
                    "{n:?} is not a network namespace name"
                )));
            }
            Namespace::Named(n)
        }
        (None, Some(p), None) => Namespace::Path(p),
        (None, None, Some(fd)) if fd >= 0 => Namespace::Fd(fd),
        (None, None, Some(fd)) => {
            return Err(PyValueError::new_err(format!(
                "{fd} is not a file descriptor"
            )))
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
        fd: Option<i32>,
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
            .ok_or_else(|| PyValueError::new_err(format!("operation on a closed {what} handle")))
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

/// A handle on the IPVS table of one network namespace (wrapped by `ipvs.Ipvs`).
///
/// Every method takes and returns values in the core's serde JSON form. The
/// core handle is shared through an `Arc`: `close` drops this object's
/// reference, and calls already running on other threads finish normally.
#[pyclass(frozen, module = "ipvs._ipvs", name = "Handle")]
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

#[pymethods]
impl Handle {
    /// Opens a handle: at most one of `name` (`ip netns` name), `path` (a
    /// namespace file) or `fd` (an open namespace descriptor, borrowed).
    #[new]
    #[pyo3(signature = (name=None, path=None, fd=None))]
    fn new(
        py: Python<'_>,
        name: Option<String>,
        path: Option<PathBuf>,
        fd: Option<i32>,
    ) -> PyResult<Self> {
        Ok(Handle {
            inner: Slot::open(py, name, path, fd, Ipvs::open)?,
        })
    }

    /// Drops the handle's socket (once no call uses it any more).
    fn close(&self) {
        self.inner.close()
    }

    /// Whether `close` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.closed()
    }

    /// The generic netlink family id of IPVS.
    fn family_id(&self) -> PyResult<u16> {
        Ok(self.get()?.family_id())
    }

    /// A description of the namespace, e.g. `network namespace "blue"`.
    fn namespace(&self) -> PyResult<String> {
        Ok(match self.get()?.namespace() {
            Namespace::Current => "current".to_string(),
            Namespace::Named(n) => format!("name:{n}"),
            Namespace::Path(p) => format!("path:{}", p.display()),
            Namespace::Fd(fd) => format!("fd:{fd}"),
        })
    }

    /// The netlink port id of the handle's socket.
    fn port_id(&self) -> PyResult<u32> {
        Ok(self.get()?.port_id())
    }

    /// Sets the socket's receive buffer size in bytes.
    fn set_receive_buffer(&self, py: Python<'_>, bytes: usize) -> PyResult<()> {
        self.run(py, move |h| h.set_receive_buffer(bytes))
    }

    /// Bounds every wait for the kernel's reply, in seconds.
    fn set_timeout(&self, py: Python<'_>, seconds: f64) -> PyResult<()> {
        let d = Duration::try_from_secs_f64(seconds)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "timeout must be a positive number of seconds, not {seconds}"
                ))
            })?;
        self.run(py, move |h| h.set_timeout(d))
    }

    fn add_service(&self, py: Python<'_>, service: &str) -> PyResult<()> {
        let s: Service = from_json("service", service)?;
        self.run(py, move |h| h.add_service(&s))
    }

    fn update_service(&self, py: Python<'_>, service: &str) -> PyResult<()> {
        let s: Service = from_json("service", service)?;
        self.run(py, move |h| h.update_service(&s))
    }

    fn delete_service(&self, py: Python<'_>, key: &str) -> PyResult<()> {
        let k: ServiceKey = from_json("service key", key)?;
        self.run(py, move |h| h.delete_service(&k))
    }

    fn service(&self, py: Python<'_>, key: &str) -> PyResult<String> {
        let k: ServiceKey = from_json("service key", key)?;
        to_json(&self.run(py, move |h| h.service(&k))?)
    }

    fn services(&self, py: Python<'_>) -> PyResult<String> {
        to_json(&self.run(py, |h| h.services())?)
    }

    fn add_destination(&self, py: Python<'_>, key: &str, dest: &str) -> PyResult<()> {
        let k: ServiceKey = from_json("service key", key)?;
        let d: Destination = from_json("destination", dest)?;
        self.run(py, move |h| h.add_destination(&k, &d))
    }

    fn update_destination(&self, py: Python<'_>, key: &str, dest: &str) -> PyResult<()> {
        let k: ServiceKey = from_json("service key", key)?;
        let d: Destination = from_json("destination", dest)?;
        self.run(py, move |h| h.update_destination(&k, &d))
    }

    fn delete_destination(&self, py: Python<'_>, key: &str, addr: &str, port: u16) -> PyResult<()> {
        let k: ServiceKey = from_json("service key", key)?;
        let a = parse_addr(addr)?;
        self.run(py, move |h| h.delete_destination(&k, a, port))
    }

    /// Sets one real server's weight, keeping the rest (read-modify-write).
    fn set_weight(
        &self,
        py: Python<'_>,
        key: &str,
        addr: &str,
        port: u16,
        weight: u32,
    ) -> PyResult<()> {
        let k: ServiceKey = from_json("service key", key)?;
        let a = parse_addr(addr)?;
        self.run(py, move |h| h.set_weight(&k, a, port, weight))
    }

    /// Sets a service's scheduler (by name), keeping the rest (read-modify-write).
    fn set_scheduler(&self, py: Python<'_>, key: &str, scheduler: &str) -> PyResult<()> {
        let k: ServiceKey = from_json("service key", key)?;
        let s = lvskit::Scheduler::from_name(scheduler).map_err(|e| to_py(py, e))?;
        self.run(py, move |h| h.set_scheduler(&k, s))
    }

    fn destinations(&self, py: Python<'_>, key: &str) -> PyResult<String> {
        let k: ServiceKey = from_json("service key", key)?;
        to_json(&self.run(py, move |h| h.destinations(&k))?)
    }

    fn start_daemon(&self, py: Python<'_>, daemon: &str) -> PyResult<()> {
        let d: SyncDaemon = from_json("sync daemon", daemon)?;
        self.run(py, move |h| h.start_daemon(&d))
    }

    fn stop_daemon(&self, py: Python<'_>, state: &str) -> PyResult<()> {
        let s = sync_state(state)?;
        self.run(py, move |h| h.stop_daemon(s))
    }

    fn daemons(&self, py: Python<'_>) -> PyResult<String> {
        to_json(&self.run(py, |h| h.daemons())?)
    }

    fn timeouts(&self, py: Python<'_>) -> PyResult<String> {
        to_json(&self.run(py, |h| h.timeouts())?)
    }

    fn set_timeouts(&self, py: Python<'_>, timeouts: &str) -> PyResult<()> {
        let t: Timeouts = from_json("timeouts", timeouts)?;
        self.run(py, move |h| h.set_timeouts(&t))
    }

    fn info(&self, py: Python<'_>) -> PyResult<String> {
        to_json(&self.run(py, |h| h.info())?)
    }

    #[pyo3(signature = (key=None))]
    fn zero(&self, py: Python<'_>, key: Option<&str>) -> PyResult<()> {
        let k: Option<ServiceKey> = key.map(|k| from_json("service key", k)).transpose()?;
        self.run(py, move |h| h.zero(k.as_ref()))
    }

    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, |h| h.flush())
    }
}

fn roundtrip<T: Serialize + DeserializeOwned>(what: &str, json: &str) -> PyResult<(T, String)> {
    let v: T = from_json(what, json)?;
    let out = to_json(&v)?;
    Ok((v, out))
}

/// Parses `json` as the core type named by `kind`, validates it when the core
/// has a validator (`family` is the service's, for a destination), and
/// returns it re-encoded: the canonical serde form.
#[pyfunction]
#[pyo3(signature = (kind, json, family=None))]
fn normalize(py: Python<'_>, kind: &str, json: &str, family: Option<&str>) -> PyResult<String> {
    let checked = |r: lvskit::Result<()>| r.map_err(|e| to_py(py, e));
    match kind {
        "service_key" => {
            let (v, out) = roundtrip::<ServiceKey>("service key", json)?;
            checked(v.validate())?;
            Ok(out)
        }
        "service" => {
            let (v, out) = roundtrip::<Service>("service", json)?;
            checked(v.validate())?;
            Ok(out)
        }
        "destination" => {
            let (v, out) = roundtrip::<Destination>("destination", json)?;
            let fam = match family {
                Some(f) => self::family(f)?,
                None => v.family(),
            };
            checked(v.validate(fam))?;
            Ok(out)
        }
        "sync_daemon" => {
            let (v, out) = roundtrip::<SyncDaemon>("sync daemon", json)?;
            checked(v.validate())?;
            Ok(out)
        }
        "service_entry" => Ok(roundtrip::<ServiceEntry>("service entry", json)?.1),
        "destination_entry" => Ok(roundtrip::<DestinationEntry>("destination entry", json)?.1),
        "stats" => Ok(roundtrip::<Stats>("stats", json)?.1),
        "timeouts" => Ok(roundtrip::<Timeouts>("timeouts", json)?.1),
        "info" => Ok(roundtrip::<Info>("info", json)?.1),
        "operation" => {
            let (v, out) = roundtrip::<Operation>("operation", json)?;
            checked(v.validate())?;
            Ok(out)
        }
        "table" => Ok(roundtrip::<Table>("table", json)?.1),
        other => Err(PyValueError::new_err(format!("unknown kind {other:?}"))),
    }
}

/// The core's text for a value: a service reads like a line of `ipvsadm -Ln`.
#[pyfunction]
fn display(kind: &str, json: &str) -> PyResult<String> {
    Ok(match kind {
        "service_key" => from_json::<ServiceKey>("service key", json)?.to_string(),
        "service" => from_json::<Service>("service", json)?.to_string(),
        "destination" => from_json::<Destination>("destination", json)?.to_string(),
        "destination_entry" => {
            from_json::<DestinationEntry>("destination entry", json)?.to_string()
        }
        "info" => from_json::<Info>("info", json)?.to_string(),
        "operation" => from_json::<Operation>("operation", json)?.to_string(),
        "plan" => table::Plan {
            operations: from_json("operations", json)?,
        }
        .to_string(),
        other => return Err(PyValueError::new_err(format!("unknown kind {other:?}"))),
    })
}

/// Builds an exception of `ipvs._errors` by calling its builder `builder` with `args`.
fn py_error<'py>(py: Python<'py>, builder: &str, args: impl pyo3::call::PyCallArgs<'py>) -> PyErr {
    match py
        .import("ipvs._errors")
        .and_then(|m| m.getattr(builder))
        .and_then(|f| f.call1(args))
    {
        Ok(exc) => PyErr::from_value(exc),
        Err(err) => err,
    }
}

/// Parses `ipvsadm -S` rules text into a table (JSON); a parse error raises
/// `ipvs.RulesParseError` with its line and column.
#[pyfunction]
fn rules_parse(py: Python<'_>, text: &str) -> PyResult<String> {
    match rules::parse_table(text) {
        Ok(t) => to_json(&t),
        Err(e) => Err(rules_error(py, e)),
    }
}

/// A parse error of rules text as `ipvs.RulesParseError`.
fn rules_error(py: Python<'_>, e: rules::ParseError) -> PyErr {
    py_error(
        py,
        "_rules_error",
        (e.to_string(), e.line, e.column, e.message),
    )
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

/// Writes a table (JSON) as rules text: exactly `ipvsadm -Sn`, or with
/// `lossless` also thresholds and every scheduler flag.
#[pyfunction]
#[pyo3(signature = (table, lossless=false))]
fn rules_save(table: &str, lossless: bool) -> PyResult<String> {
    let t: Table = from_json("table", table)?;
    let format = if lossless {
        rules::Format::Lossless
    } else {
        rules::Format::Ipvsadm
    };
    Ok(rules::save(&t, format))
}

/// One connection as Python sees it: protocol, client address and port,
/// virtual address and port, destination address and port, state, expiry,
/// persistence engine (name, data) and origin (`"local"`, `"sync"`).
type PyConnection = (
    String,
    String,
    u16,
    String,
    u16,
    String,
    u16,
    String,
    u32,
    Option<(String, String)>,
    Option<&'static str>,
);

fn py_connections(conns: Vec<conn::Connection>) -> Vec<PyConnection> {
    conns
        .into_iter()
        .map(|c| {
            (
                c.protocol.as_str().to_owned(),
                c.client.ip().to_string(),
                c.client.port(),
                c.virtual_addr.ip().to_string(),
                c.virtual_addr.port(),
                c.destination.ip().to_string(),
                c.destination.port(),
                c.state,
                c.expires,
                c.pe,
                c.origin.map(|o| match o {
                    conn::Origin::Local => "local",
                    conn::Origin::Sync => "sync",
                }),
            )
        })
        .collect()
}

/// Parses the text of `/proc/net/ip_vs_conn` (or `ip_vs_conn_sync`); a bad
/// line raises `ipvs.ConnectionParseError` with its line.
#[pyfunction]
fn conn_parse(py: Python<'_>, text: &str) -> PyResult<Vec<PyConnection>> {
    match conn::parse(text) {
        Ok(c) => Ok(py_connections(c)),
        Err(e) => Err(py_error(
            py,
            "_conn_error",
            (e.to_string(), e.line, e.message),
        )),
    }
}

/// Reads the connection table of a namespace (at most one of `name`, `path`,
/// `fd`); `sync` reads `ip_vs_conn_sync` (with each entry's origin).
#[pyfunction]
#[pyo3(signature = (name=None, path=None, fd=None, sync=false))]
fn conn_read(
    py: Python<'_>,
    name: Option<String>,
    path: Option<PathBuf>,
    fd: Option<i32>,
    sync: bool,
) -> PyResult<Vec<PyConnection>> {
    let ns = namespace(name, path, fd)?;
    let which = if sync {
        conn::Table::ConnSync
    } else {
        conn::Table::Conn
    };
    let conns = py
        .allow_threads(move || conn::read(&ns, which))
        .map_err(|e| to_py(py, e))?;
    Ok(py_connections(conns))
}

/// The compiled module `ipvs._ipvs`.
#[pymodule]
fn _ipvs(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Handle>()?;
    model::register(m)?;
    m.add_function(wrap_pyfunction!(normalize, m)?)?;
    m.add_function(wrap_pyfunction!(display, m)?)?;
    m.add_function(wrap_pyfunction!(rules_parse, m)?)?;
    m.add_function(wrap_pyfunction!(rules_save, m)?)?;
    m.add_function(wrap_pyfunction!(handle_restore, m)?)?;
    m.add_function(wrap_pyfunction!(plan_rules, m)?)?;
    m.add_function(wrap_pyfunction!(conn_parse, m)?)?;
    m.add_function(wrap_pyfunction!(conn_read, m)?)?;
    tunnel::register(m)?;
    sysctl::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MAX_TIMEOUT", lvskit::Timeouts::MAX)?;
    m.add("MAX_SYNC_ID", lvskit::SyncDaemon::MAX_SYNC_ID)?;
    Ok(())
}
