//! Exceptions made in Rust: the class of every core error is chosen here from
//! [`lvskit::ErrorKind`] (the classification the C binding shares), and the
//! binding's own refusals (a closed handle, a number out of range) are
//! `InvalidInputError`s. The classes are those of `ipvs._errors` (the
//! hierarchy users catch: `ExistsError` is a `FileExistsError`, ...), looked
//! up once; no Python function is called to pick or build an exception.

use lvskit::ErrorKind;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::PyType;

/// The exception classes of `ipvs._errors` the compiled module raises, by name.
struct Class {
    name: &'static str,
    cell: GILOnceCell<Py<PyType>>,
}

impl Class {
    const fn new(name: &'static str) -> Self {
        Class {
            name,
            cell: GILOnceCell::new(),
        }
    }

    fn get<'py>(&'static self, py: Python<'py>) -> PyResult<&'py Bound<'py, PyType>> {
        self.cell.import(py, "ipvs._errors", self.name)
    }
}

static EXISTS: Class = Class::new("ExistsError");
static NOT_FOUND: Class = Class::new("NotFoundError");
static INVALID: Class = Class::new("InvalidArgumentError");
static PERMISSION: Class = Class::new("PermissionDeniedError");
static MODULE_MISSING: Class = Class::new("ModuleMissingError");
static KERNEL: Class = Class::new("KernelError");
static INVALID_INPUT: Class = Class::new("InvalidInputError");
static IO: Class = Class::new("SystemCallError");
static PROTOCOL: Class = Class::new("ProtocolError");
static TIMEOUT: Class = Class::new("IpvsTimeoutError");
static NOT_ATTEMPTED: Class = Class::new("NotAttemptedError");
static RULES: Class = Class::new("RulesParseError");
static CONN: Class = Class::new("ConnectionParseError");
static NAMESPACE_NOT_FOUND: Class = Class::new("NamespaceNotFoundError");

/// Whether an I/O error is a namespace file that does not exist (the core
/// reports it as `Io`, "... in network namespace ...: cannot open ...").
fn missing_namespace(e: &lvskit::Error) -> bool {
    let ctx = e.context();
    e.kind() == ErrorKind::Io
        && e.errno() == Some(libc::ENOENT)
        && ctx.contains("network namespace")
        && ctx.contains(": cannot open ")
}

/// The class of each kind: exhaustive, so a new kind in the core fails to
/// compile here until it has a class.
fn class_of(kind: ErrorKind) -> &'static Class {
    match kind {
        ErrorKind::Exists => &EXISTS,
        ErrorKind::NotFound => &NOT_FOUND,
        ErrorKind::Invalid => &INVALID,
        ErrorKind::PermissionDenied => &PERMISSION,
        ErrorKind::ModuleMissing => &MODULE_MISSING,
        ErrorKind::Kernel => &KERNEL,
        ErrorKind::InvalidInput => &INVALID_INPUT,
        ErrorKind::Io => &IO,
        ErrorKind::Protocol => &PROTOCOL,
        ErrorKind::Timeout => &TIMEOUT,
        ErrorKind::NotAttempted => &NOT_ATTEMPTED,
    }
}

/// An instance of `class` made with `args`, as a `PyErr`.
fn made<'py>(
    py: Python<'py>,
    class: &'static Class,
    args: impl pyo3::call::PyCallArgs<'py>,
    attrs: &[(&str, Option<&str>)],
) -> PyErr {
    let exc = class.get(py).and_then(|cls| cls.call1(args));
    let exc = exc.and_then(|e| {
        for (name, value) in attrs {
            if let Some(v) = value {
                e.setattr(*name, *v)?;
            }
        }
        Ok(e)
    });
    match exc {
        Ok(e) => PyErr::from_value(e),
        Err(err) => err,
    }
}

/// The exception of a core error: the class of its kind, with its message,
/// context and errno (and a missing module's name, a refusal's hint).
pub(crate) fn to_py(py: Python<'_>, e: lvskit::Error) -> PyErr {
    let (module, hint): (Option<String>, Option<&str>) = match &e {
        lvskit::Error::Invalid { hint, .. } => (None, *hint),
        lvskit::Error::ModuleMissing { module, .. } => (Some(module.clone()), None),
        _ => (None, None),
    };
    let class = if missing_namespace(&e) {
        &NAMESPACE_NOT_FOUND
    } else {
        class_of(e.kind())
    };
    made(
        py,
        class,
        (e.to_string(), e.context().to_string(), e.errno()),
        &[("module", module.as_deref()), ("hint", hint)],
    )
}

/// An `InvalidInputError` the binding raises for its own reasons (a number
/// out of range, a closed handle), with what was being done.
pub(crate) fn invalid_input(message: String, context: &str) -> PyErr {
    Python::with_gil(|py| made(py, &INVALID_INPUT, (message, context, None::<i32>), &[]))
}

/// A parse error of rules text as `ipvs.RulesParseError`.
pub(crate) fn rules_error(py: Python<'_>, e: lvskit::rules::ParseError) -> PyErr {
    made(
        py,
        &RULES,
        (e.to_string(), e.line, e.column, e.message),
        &[],
    )
}

/// A parse error of the connection table as `ipvs.ConnectionParseError`.
pub(crate) fn conn_error(py: Python<'_>, e: lvskit::conn::ConnParseError) -> PyErr {
    made(py, &CONN, (e.to_string(), e.line, e.message), &[])
}

/// A core error of each kind, as the tests need them (`_ipvs._sample_error`):
/// context `"c"`, errno 17 where the kind has one, module `ip_vs_foo`, hint
/// `"a hint"`.
fn sample(kind: ErrorKind) -> lvskit::Error {
    let context = "c".to_string();
    match kind {
        ErrorKind::Exists => lvskit::Error::Exists { context, errno: 17 },
        ErrorKind::NotFound => lvskit::Error::NotFound {
            context,
            what: "no such service",
            errno: 3,
        },
        ErrorKind::Invalid => lvskit::Error::Invalid {
            context,
            errno: 22,
            hint: Some("a hint"),
        },
        ErrorKind::PermissionDenied => lvskit::Error::PermissionDenied { context, errno: 1 },
        ErrorKind::ModuleMissing => lvskit::Error::ModuleMissing {
            context,
            module: "ip_vs_foo".into(),
            errno: 2,
        },
        ErrorKind::Kernel => lvskit::Error::Kernel { context, errno: 5 },
        ErrorKind::InvalidInput => lvskit::Error::InvalidInput {
            context,
            reason: "x".into(),
        },
        ErrorKind::Io => lvskit::Error::Io {
            context,
            source: std::io::Error::from_raw_os_error(2),
        },
        ErrorKind::Protocol => lvskit::Error::Protocol {
            context,
            detail: "x".into(),
        },
        ErrorKind::Timeout => lvskit::Error::Timeout {
            context,
            after: std::time::Duration::from_secs(1),
        },
        ErrorKind::NotAttempted => lvskit::Error::NotAttempted { context },
    }
}

/// The exception the binding raises for a core error of the kind named
/// `kind` (`ErrorKind::name`), for the tests of the mapping; `None` for a
/// name that is no kind.
#[pyfunction]
fn _sample_error(py: Python<'_>, kind: &str) -> Option<PyObject> {
    ErrorKind::ALL
        .into_iter()
        .find(|k| k.name() == kind)
        .map(|k| to_py(py, sample(k)).into_value(py).into_any())
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_sample_error, m)?)?;
    Ok(())
}

/// An `InvalidInputError` for an argument the binding refuses itself (a
/// value out of range, an unknown name), before anything reaches the core.
pub(crate) fn refused(message: impl Into<String>) -> PyErr {
    invalid_input(message.into(), "checking the arguments")
}
