//! The compiled half of `ipvs.sysctl`: the core's typed `net.ipv4.vs.*`
//! knobs, with native Python values (bool, int, a pair of ints, str) and no
//! JSON on any path. The knobs' names and kinds come from the core.

use std::path::PathBuf;

use lvskit::sysctl::{self, Kind, Knob, Settings, Value};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt};

use crate::{namespace, to_py};

fn knob(py: Python<'_>, name: &str) -> PyResult<Knob> {
    Knob::from_name(name).map_err(|e| to_py(py, e))
}

/// The Python value of a knob's value.
fn to_object(py: Python<'_>, v: Value) -> PyResult<PyObject> {
    Ok(match v {
        Value::Bool(b) => PyBool::new(py, b).to_owned().into_any().unbind(),
        Value::Int(n) => n.into_pyobject(py)?.into_any().unbind(),
        Value::Pair([a, b]) => (a, b).into_pyobject(py)?.into_any().unbind(),
        Value::Text(s) => s.into_pyobject(py)?.into_any().unbind(),
        _ => py.None(),
    })
}

/// A number for `k`: a Python int (not a bool) that fits in 64 bits; a
/// larger one is out of the knob's range (InvalidInputError naming it).
fn int(py: Python<'_>, k: Knob, v: &Bound<'_, PyAny>) -> PyResult<i64> {
    if v.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "{k} takes an int, not a bool"
        )));
    }
    match v.extract::<i64>() {
        Ok(n) => Ok(n),
        Err(_) if v.is_instance_of::<PyInt>() => Err(to_py(
            py,
            lvskit::Error::InvalidInput {
                context: format!("setting {k} to {v}"),
                reason: "out of its range".into(),
            },
        )),
        Err(_) => Err(PyTypeError::new_err(format!(
            "{k} takes an int, not {}",
            type_name(v)
        ))),
    }
}

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |n| n.to_string())
}

/// The core value of a Python value for `k`, by the knob's kind.
fn from_object(py: Python<'_>, k: Knob, v: &Bound<'_, PyAny>) -> PyResult<Value> {
    let wrong =
        |what: &str| PyTypeError::new_err(format!("{k} takes {what}, not {}", type_name(v)));
    match k.kind() {
        Kind::Bool => match v.downcast::<PyBool>() {
            Ok(b) => Ok(Value::Bool(b.is_true())),
            Err(_) => Err(wrong("a bool")),
        },
        Kind::Threshold => {
            let pair: Vec<Bound<'_, PyAny>> = v
                .extract()
                .map_err(|_| wrong("a pair (threshold, period)"))?;
            match pair.as_slice() {
                [a, b] => Ok(Value::Pair([int(py, k, a)?, int(py, k, b)?])),
                _ => Err(wrong("a pair (threshold, period)")),
            }
        }
        Kind::CpuList => v
            .extract::<String>()
            .map(Value::Text)
            .map_err(|_| wrong("a str")),
        _ => Ok(Value::Int(int(py, k, v)?)),
    }
}

/// Every knob's name, in the core's order.
#[pyfunction]
pub(crate) fn vs_sysctl_knobs() -> Vec<&'static str> {
    Knob::ALL.iter().map(|k| k.name()).collect()
}

/// Reads one knob of a namespace.
#[pyfunction]
#[pyo3(signature = (knob, name=None, ns_path=None, fd=None))]
pub(crate) fn vs_sysctl_read(
    py: Python<'_>,
    knob: &str,
    name: Option<String>,
    ns_path: Option<PathBuf>,
    fd: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyObject> {
    let (k, ns) = (self::knob(py, knob)?, namespace(name, ns_path, fd)?);
    let v = py
        .allow_threads(move || sysctl::read(&ns, k))
        .map_err(|e| to_py(py, e))?;
    to_object(py, v)
}

/// Reads every knob the kernel has: `(name, value)` pairs.
#[pyfunction]
#[pyo3(signature = (name=None, ns_path=None, fd=None))]
pub(crate) fn vs_sysctl_read_all(
    py: Python<'_>,
    name: Option<String>,
    ns_path: Option<PathBuf>,
    fd: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<(&'static str, PyObject)>> {
    let ns = namespace(name, ns_path, fd)?;
    let all = py
        .allow_threads(move || sysctl::read_all(&ns))
        .map_err(|e| to_py(py, e))?;
    all.into_iter()
        .map(|(k, v)| Ok((k.name(), to_object(py, v)?)))
        .collect()
}

/// Validates and writes one knob.
#[pyfunction]
#[pyo3(signature = (knob, value, name=None, ns_path=None, fd=None))]
pub(crate) fn vs_sysctl_write(
    py: Python<'_>,
    knob: &str,
    value: &Bound<'_, PyAny>,
    name: Option<String>,
    ns_path: Option<PathBuf>,
    fd: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let k = self::knob(py, knob)?;
    let v = from_object(py, k, value)?;
    let ns = namespace(name, ns_path, fd)?;
    py.allow_threads(move || sysctl::write(&ns, k, &v))
        .map_err(|e| to_py(py, e))
}

/// Validates every `(name, value)`, then writes what differs, all or
/// nothing; returns the changes as `(name, before, after)`.
#[pyfunction]
#[pyo3(signature = (settings, name=None, ns_path=None, fd=None))]
pub(crate) fn vs_sysctl_apply(
    py: Python<'_>,
    settings: Vec<(String, Bound<'_, PyAny>)>,
    name: Option<String>,
    ns_path: Option<PathBuf>,
    fd: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<(&'static str, PyObject, PyObject)>> {
    let mut wanted = Settings::new();
    for (n, v) in &settings {
        let k = knob(py, n)?;
        wanted.insert(k, from_object(py, k, v)?);
    }
    let ns = namespace(name, ns_path, fd)?;
    let changes = py
        .allow_threads(move || sysctl::apply(&ns, &wanted))
        .map_err(|e| to_py(py, e))?;
    changes
        .into_iter()
        .map(|c| {
            Ok((
                c.knob.name(),
                to_object(py, c.before)?,
                to_object(py, c.after)?,
            ))
        })
        .collect()
}

/// Adds this file's functions to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(vs_sysctl_knobs, m)?)?;
    m.add_function(wrap_pyfunction!(vs_sysctl_read, m)?)?;
    m.add_function(wrap_pyfunction!(vs_sysctl_read_all, m)?)?;
    m.add_function(wrap_pyfunction!(vs_sysctl_write, m)?)?;
    m.add_function(wrap_pyfunction!(vs_sysctl_apply, m)?)?;
    Ok(())
}
