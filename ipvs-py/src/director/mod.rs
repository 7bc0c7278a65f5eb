//! The compiled half of `ipvs.director`: the core's director
//! (`lvskit::director`) bound, not re-implemented.
//!
//! - `check.rs`: [`check::PyCheck`] (TCP, HTTP, DNS, a Python callable) and
//!   `probe_once`;
//! - `state.rs`: `DirectedService`, `DesiredState`, `parse_file`;
//! - `events.rs`: `Event`, `DestinationId`, `Health` and the subscription
//!   iterator;
//! - `run.rs`: `Director` (start, stop, context manager, set_desired,
//!   health, metrics) and the metrics values with `render`.
//!
//! The enums (`OnFailure`, `HealthState`, `DrainEnd`, `EventKind`,
//! `CheckKind`, `FileFormat`) are made here from the core's values, as
//! `enums.rs` makes the others. Python code is called from the director's
//! threads (a custom check, the event callback) with the GIL taken there;
//! whatever it raises is caught there and never crosses into Rust.

mod check;
mod events;
mod run;
mod state;

use std::path::PathBuf;
use std::time::Duration;

use lvskit::director::{DrainEnd, FileFormat, HealthState, OnFailure};
use lvskit::Namespace;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt, PyString};

use crate::enums::{equal, PyEnum};

pub(crate) static ON_FAILURE: PyEnum<OnFailure> = PyEnum::new(
    "OnFailure",
    "_ReprEnum",
    "What happens to a real server whose checks fail: kept at weight 0 (inhibit) or deleted.",
    &[
        ("INHIBIT", "inhibit", OnFailure::Inhibit),
        ("REMOVE", "remove", OnFailure::Remove),
    ],
    equal,
);

pub(crate) static HEALTH_STATE: PyEnum<HealthState> = PyEnum::new(
    "HealthState",
    "_ReprEnum",
    "Whether a real server passes its checks.",
    &[
        ("UP", "up", HealthState::Up),
        ("DOWN", "down", HealthState::Down),
    ],
    equal,
);

pub(crate) static DRAIN_END: PyEnum<DrainEnd> = PyEnum::new(
    "DrainEnd",
    "_ReprEnum",
    "Why a drain ended.",
    &[
        ("IDLE", "idle", DrainEnd::Idle),
        ("DEADLINE", "deadline", DrainEnd::Deadline),
        ("RETURNED", "returned", DrainEnd::Returned),
        ("GONE", "gone", DrainEnd::Gone),
    ],
    equal,
);

pub(crate) static FILE_FORMAT: PyEnum<FileFormat> = PyEnum::new(
    "FileFormat",
    "_ReprEnum",
    "The format of a desired-state file: ipvsadm rules or JSON.",
    &[
        ("RULES", "rules", FileFormat::Rules),
        ("JSON", "json", FileFormat::Json),
    ],
    equal,
);

/// The kinds of event, by the name of the core's `Event` variant.
pub(crate) static EVENT_KIND: PyEnum<&'static str> = PyEnum::new(
    "EventKind",
    "_ReprEnum",
    "What an :class:`Event` reports.",
    &[
        ("HEALTH", "health", "health"),
        ("PLANNED", "planned", "planned"),
        ("APPLIED", "applied", "applied"),
        ("DRAIN_STARTED", "drain_started", "drain_started"),
        ("DRAIN_FINISHED", "drain_finished", "drain_finished"),
        ("FAILED", "failed", "failed"),
        ("DESIRED_CHANGED", "desired_changed", "desired_changed"),
        ("RELOAD_FAILED", "reload_failed", "reload_failed"),
        ("STOPPED", "stopped", "stopped"),
    ],
    equal,
);

/// The kinds of check, by the name of the core's `CheckKind` variant.
pub(crate) static CHECK_KIND: PyEnum<&'static str> = PyEnum::new(
    "CheckKind",
    "_ReprEnum",
    "What a :class:`Check` does.",
    &[
        ("TCP", "tcp", "tcp"),
        ("HTTP", "http", "http"),
        ("HTTPS", "https", "https"),
        ("DNS", "dns", "dns"),
        ("CUSTOM", "custom", "custom"),
    ],
    equal,
);

/// A duration given in seconds (an int or a float, not a bool): a negative,
/// infinite or NaN number is refused as `InvalidInputError` naming `what`;
/// zero passes (the core's validation says what may not be zero).
pub(crate) fn seconds(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Duration> {
    if obj.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "{what} takes seconds (an int or a float), not a bool"
        )));
    }
    let s: f64 = obj
        .extract()
        .map_err(|_| PyTypeError::new_err(format!("{what} takes seconds (an int or a float)")))?;
    duration(s, what)
}

/// `s` seconds as a duration; a negative, infinite or NaN number is refused
/// as `InvalidInputError` naming `what`.
fn duration(s: f64, what: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(s).map_err(|_| {
        crate::invalid_input(
            format!("{what}: {s} is not a number of seconds (0 or more)"),
            what,
        )
    })
}

/// A network namespace given as `ipvs.NamespaceLike`: `None` (the current
/// one), an `ip netns` name, a path (a `str` holding `/` or an
/// `os.PathLike`), or an open descriptor (an int, borrowed).
pub(crate) fn namespace_like(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Namespace> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Namespace::Current);
    };
    if obj.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(
            "namespace must be a name, a path, a file descriptor or None",
        ));
    }
    if obj.is_instance_of::<PyInt>() {
        return crate::namespace(None, None, Some(obj));
    }
    if let Ok(s) = obj.downcast::<PyString>() {
        let s = s.to_cow()?.into_owned();
        if !s.contains('/') {
            return crate::namespace(Some(s), None, None);
        }
    }
    let path: PathBuf = obj.extract().map_err(|_| {
        PyTypeError::new_err("namespace must be a name, a path, a file descriptor or None")
    })?;
    crate::namespace(None, Some(path), None)
}

/// Whether the interpreter runs (a director thread must not take the GIL
/// of an interpreter that has finalized).
pub(crate) fn python_running() -> bool {
    // SAFETY: Py_IsInitialized may be called at any time, with or without the GIL.
    unsafe { pyo3::ffi::Py_IsInitialized() != 0 }
}

/// Adds the director's classes, enums and functions to the compiled module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add(ON_FAILURE.name, ON_FAILURE.class(py)?)?;
    m.add(HEALTH_STATE.name, HEALTH_STATE.class(py)?)?;
    m.add(DRAIN_END.name, DRAIN_END.class(py)?)?;
    m.add(FILE_FORMAT.name, FILE_FORMAT.class(py)?)?;
    m.add(EVENT_KIND.name, EVENT_KIND.class(py)?)?;
    m.add(CHECK_KIND.name, CHECK_KIND.class(py)?)?;
    check::register(m)?;
    state::register(m)?;
    events::register(m)?;
    run::register(m)?;
    Ok(())
}
