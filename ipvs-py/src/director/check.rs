//! `ipvs.director.Check`: the core's `Check` with its timing given as
//! keyword arguments, a Python callable as a custom check, and `probe_once`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use lvskit::director::{self as core, Check, CheckKind, TlsOptions, TlsVerify};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyString};

use super::{namespace_like, python_running, seconds, CHECK_KIND};
use crate::model::{addr_in, addr_out, u16_in, u32_in};
use crate::to_py;

/// A health check of a real server (wraps `lvskit::director::Check`).
#[pyclass(frozen, module = "ipvs._ipvs", name = "Check")]
pub(crate) struct PyCheck {
    pub(crate) inner: Check,
}

/// The keyword arguments every constructor takes, in the order listed.
const OPTIONS: [&str; 9] = [
    "interval",
    "timeout",
    "rise",
    "fall",
    "port",
    "target",
    "source",
    "namespace",
    "initially_up",
];

/// Sets one option of `c` from its Python value.
fn set_option(c: &mut Check, name: &str, v: &Bound<'_, PyAny>) -> PyResult<()> {
    match name {
        "interval" => c.interval = seconds(v, "interval")?,
        "timeout" => c.timeout = seconds(v, "timeout")?,
        "rise" => c.rise = u32_in(v, "rise")?,
        "fall" => c.fall = u32_in(v, "fall")?,
        "port" => c.port = Some(u16_in(v, "port")?),
        "target" => c.target = Some(target_in(v)?),
        "source" => c.source = Some(addr_in(v, "source")?),
        "namespace" => c.namespace = namespace_like(Some(v))?,
        "initially_up" => match v.downcast::<PyBool>() {
            Ok(b) => c.initially_up = b.is_true(),
            Err(_) => return Err(PyTypeError::new_err("initially_up takes a bool")),
        },
        other => {
            return Err(PyTypeError::new_err(format!(
                "a check takes no argument {other:?} (it takes {})",
                OPTIONS.join(", ")
            )))
        }
    }
    Ok(())
}

/// An `(address, port)` pair.
fn target_in(v: &Bound<'_, PyAny>) -> PyResult<SocketAddr> {
    let (a, p): (Bound<'_, PyAny>, Bound<'_, PyAny>) = v
        .extract()
        .map_err(|_| PyTypeError::new_err("target takes an (address, port) pair"))?;
    Ok(SocketAddr::new(
        addr_in(&a, "target address")?,
        u16_in(&p, "target port")?,
    ))
}

/// `c` with `options` applied; a check with a fixed target is validated at
/// once (others when their real servers are known).
fn configured(
    py: Python<'_>,
    mut c: Check,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<PyCheck> {
    if let Some(opts) = options {
        for (k, v) in opts.iter() {
            let k: String = k.extract()?;
            if !v.is_none() || !OPTIONS.contains(&k.as_str()) {
                set_option(&mut c, &k, &v)?;
            }
        }
    }
    if let Some(t) = c.target {
        c.validate(t.ip(), t.port()).map_err(|e| to_py(py, e))?;
    }
    Ok(PyCheck { inner: c })
}

/// An HTTP status as the core holds it; one that does not even fit is
/// refused here with the core's range.
/// CA certificates given as PEM text (str) or bytes.
fn pem_bytes(pem: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(s) = pem.downcast::<PyString>() {
        return Ok(s.to_str()?.as_bytes().to_vec());
    }
    pem.extract::<Vec<u8>>()
        .map_err(|_| PyTypeError::new_err("ca takes PEM text (str) or bytes"))
}

fn http_status(status: i64) -> PyResult<u16> {
    u16::try_from(status).map_err(|_| {
        crate::invalid_input(
            format!("HTTP status {status} is not in 100..=599"),
            "status",
        )
    })
}

/// What a custom check's callable returned, as the core's verdict: `None`
/// or `True` pass; `False`, a reason (`str`) or anything else fail.
fn verdict(v: &Bound<'_, PyAny>) -> Result<(), String> {
    if v.is_none() {
        return Ok(());
    }
    if let Ok(b) = v.downcast::<PyBool>() {
        return if b.is_true() {
            Ok(())
        } else {
            Err("the check returned False".into())
        };
    }
    if let Ok(s) = v.downcast::<PyString>() {
        let s = s
            .to_cow()
            .map_or_else(|_| String::new(), |s| s.into_owned());
        return Err(if s.is_empty() {
            "the check failed".into()
        } else {
            s
        });
    }
    let ty = v
        .get_type()
        .name()
        .map_or_else(|_| "?".into(), |n| n.to_string());
    Err(format!(
        "the check returned a {ty} (expected None, a bool or a reason)"
    ))
}

/// Calls the callable with `(address, port, timeout seconds)`, with the GIL
/// taken on this (a check's) thread; an exception is a failed check.
fn call_custom(f: &Py<PyAny>, target: SocketAddr, timeout: Duration) -> Result<(), String> {
    if !python_running() {
        return Err("the Python interpreter has stopped".into());
    }
    Python::with_gil(|py| {
        let addr = addr_out(py, &target.ip()).map_err(|e| e.to_string())?;
        match f.call1(py, (addr, target.port(), timeout.as_secs_f64())) {
            Ok(v) => verdict(v.bind(py)),
            Err(e) => {
                let ty = e
                    .get_type(py)
                    .name()
                    .map_or_else(|_| "an exception".into(), |n| n.to_string());
                Err(format!("the check raised {ty}: {}", e.value(py)))
            }
        }
    })
}

#[pymethods]
impl PyCheck {
    /// Healthy when a TCP connection is accepted.
    #[staticmethod]
    #[pyo3(signature = (**options))]
    fn tcp(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        configured(py, Check::tcp(), options)
    }

    /// Healthy when `GET path` is answered with `status` (and a body holding `body`).
    #[staticmethod]
    #[pyo3(signature = (path="/", status=200, *, body=None, host=None, **options))]
    fn http(
        py: Python<'_>,
        path: &str,
        status: i64,
        body: Option<String>,
        host: Option<String>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let c = Check::new(CheckKind::Http {
            path: path.to_owned(),
            status: http_status(status)?,
            body_contains: body,
            host,
        });
        configured(py, c, options)
    }

    /// As :meth:`http`, over TLS. The certificate is not verified unless
    /// `ca` (PEM text or bytes of the CA certificates) or `ca_file` (a PEM
    /// file) is given; `server_name` is the name sent as SNI and verified
    /// (default: the Host header's name, else the address).
    #[staticmethod]
    #[pyo3(signature = (path="/", status=200, *, body=None, host=None, server_name=None, ca=None, ca_file=None, **options))]
    #[allow(clippy::too_many_arguments)]
    fn https(
        py: Python<'_>,
        path: &str,
        status: i64,
        body: Option<String>,
        host: Option<String>,
        server_name: Option<String>,
        ca: Option<&Bound<'_, PyAny>>,
        ca_file: Option<std::path::PathBuf>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let verify = match (ca, ca_file) {
            (Some(_), Some(_)) => {
                return Err(crate::invalid_input(
                    "ca and ca_file: give the CA certificates one way, not both".to_owned(),
                    "ca",
                ))
            }
            (Some(pem), None) => TlsVerify::CaPem(pem_bytes(pem)?),
            (None, Some(path)) => TlsVerify::CaFile(path),
            (None, None) => TlsVerify::Off,
        };
        let tls = TlsOptions {
            verify,
            server_name,
        };
        let c = Check::new(CheckKind::Https {
            path: path.to_owned(),
            status: http_status(status)?,
            body_contains: body,
            host,
            tls,
        });
        configured(py, c, options)
    }

    /// Healthy when a DNS query for `name` (type A, over UDP) is answered.
    #[staticmethod]
    #[pyo3(signature = (name, **options))]
    fn dns(py: Python<'_>, name: &str, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        configured(py, Check::dns(name), options)
    }

    /// The caller's check: `func(address, port, timeout)` is called on the
    /// check's thread; `None` or `True` pass, `False` or a reason fail, and
    /// so does an exception or running past the timeout.
    #[staticmethod]
    #[pyo3(signature = (func, **options))]
    fn custom(
        py: Python<'_>,
        func: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        if !func.is_callable() {
            return Err(PyTypeError::new_err("a custom check takes a callable"));
        }
        let f = func.clone().unbind();
        configured(
            py,
            Check::custom(move |t, d| call_custom(&f, t, d)),
            options,
        )
    }

    /// What the check does.
    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let name = match &self.inner.kind {
            CheckKind::Tcp => "tcp",
            CheckKind::Http { .. } => "http",
            CheckKind::Https { .. } => "https",
            CheckKind::Dns { .. } => "dns",
            _ => "custom",
        };
        CHECK_KIND
            .member(py, &name)?
            .ok_or_else(|| PyTypeError::new_err("unknown check kind"))
    }

    #[getter]
    fn interval(&self) -> f64 {
        self.inner.interval.as_secs_f64()
    }

    #[getter]
    fn timeout(&self) -> f64 {
        self.inner.timeout.as_secs_f64()
    }

    #[getter]
    fn rise(&self) -> u32 {
        self.inner.rise
    }

    #[getter]
    fn fall(&self) -> u32 {
        self.inner.fall
    }

    #[getter]
    fn port(&self) -> Option<u16> {
        self.inner.port
    }

    #[getter]
    fn target<'py>(&self, py: Python<'py>) -> PyResult<Option<(Bound<'py, PyAny>, u16)>> {
        self.inner
            .target
            .map(|t| Ok((addr_out(py, &t.ip())?, t.port())))
            .transpose()
    }

    #[getter]
    fn source<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner.source.map(|s| addr_out(py, &s)).transpose()
    }

    #[getter]
    fn initially_up(&self) -> bool {
        self.inner.initially_up
    }

    /// The HTTP(S) check's path, status, body text and Host header (`None` for other kinds).
    #[getter]
    fn http_request(&self) -> Option<(String, u16, Option<String>, Option<String>)> {
        match &self.inner.kind {
            CheckKind::Http {
                path,
                status,
                body_contains,
                host,
            }
            | CheckKind::Https {
                path,
                status,
                body_contains,
                host,
                ..
            } => Some((path.clone(), *status, body_contains.clone(), host.clone())),
            _ => None,
        }
    }

    /// The DNS check's name (`None` for other kinds).
    #[getter]
    fn dns_name(&self) -> Option<String> {
        match &self.inner.kind {
            CheckKind::Dns { name } => Some(name.clone()),
            _ => None,
        }
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}

/// Runs `check` once against the real server at `addr:port` (or the check's
/// own target or port), as the director's threads do, with the GIL
/// released: `None` when it passes, else the reason it failed. The check is
/// validated first (`InvalidInputError`).
#[pyfunction]
pub(crate) fn probe_once(
    py: Python<'_>,
    check: &Bound<'_, PyCheck>,
    addr: &Bound<'_, PyAny>,
    port: &Bound<'_, PyAny>,
) -> PyResult<Option<String>> {
    let (a, p): (IpAddr, u16) = (addr_in(addr, "address")?, u16_in(port, "port")?);
    let c = check.get().inner.clone();
    c.validate(a, p).map_err(|e| to_py(py, e))?;
    let target = c.target_for(a, p);
    Ok(py.allow_threads(move || core::probe_once(&c, target)).err())
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyCheck>()?;
    m.add_function(wrap_pyfunction!(probe_once, m)?)?;
    Ok(())
}
