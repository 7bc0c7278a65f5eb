//! What the native classes that were Python dataclasses keep of them.
//!
//! `Stats`, `Timeouts`, `Info`, `ServiceEntry`, `DestinationEntry`,
//! `SyncDaemon` and `Connection` were frozen dataclasses: users may call
//! `dataclasses.replace`, `dataclasses.fields` or `dataclasses.asdict` on
//! them, and their repr is the dataclass one. A native class keeps that with
//! a `__dataclass_fields__` class attribute (one `dataclasses.Field` per
//! constructor argument, which is all those functions read) and the same
//! repr.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

/// `__dataclass_fields__` naming `names`, in order.
pub(crate) fn fields(py: Python<'_>, names: &[&str]) -> PyResult<Py<PyDict>> {
    let dc = py.import("dataclasses")?;
    let kind = dc.getattr("_FIELD")?;
    let out = PyDict::new(py);
    for name in names {
        let f = dc.call_method0("field")?;
        f.setattr("name", *name)?;
        f.setattr("type", "Any")?;
        f.setattr("_field_type", &kind)?;
        out.set_item(*name, f)?;
    }
    Ok(out.unbind())
}

/// The dataclass repr: `Name(a=repr(a), b=repr(b))`.
pub(crate) fn repr(name: &str, fields: &[(&str, Bound<'_, PyAny>)]) -> PyResult<String> {
    let mut parts = Vec::with_capacity(fields.len());
    for (k, v) in fields {
        parts.push(format!("{k}={}", v.repr()?));
    }
    Ok(format!("{name}({})", parts.join(", ")))
}

/// Python's repr of a text.
pub(crate) fn text_repr(py: Python<'_>, s: &str) -> PyResult<String> {
    Ok(PyString::new(py, s).repr()?.to_string())
}
