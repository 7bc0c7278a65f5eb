//! Rust futures as asyncio futures: the module's tokio runtime runs them,
//! the event loop's thread completes them, and no runtime thread ever waits
//! for the GIL.
//!
//! A call makes an asyncio future on the running loop and spawns its Rust
//! future on the runtime. What that future yields is a [`Make`]: the Rust
//! result and how to turn it into Python values, still without any Python
//! object. It is queued on the loop's [`Bridge`], and a byte on a socket the
//! loop watches (`loop.add_reader`) wakes the loop, which makes the values
//! and completes the futures of everything queued meanwhile: a burst of
//! replies costs one wakeup. (Taking the GIL on the runtime's threads instead
//! makes each of them wait for the event loop's thread, which holds the GIL
//! while it runs Python: milliseconds per call.)
//!
//! Cancelling the asyncio future aborts the task: tokio drops the Rust
//! future, which the core's handle is built to allow.

use std::future::Future;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use tokio::runtime::Runtime;
use tokio::task::AbortHandle;

/// Worker threads of the module's tokio runtime: the reader tasks of the
/// open handles and the calls' futures (none of them touches Python).
const WORKERS: usize = 2;

/// A finished call's result, turned into Python values on the event loop's thread.
pub(crate) type Make = Box<dyn FnOnce(Python<'_>) -> PyResult<PyObject> + Send>;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The module's tokio runtime, started on first use.
fn runtime() -> PyResult<&'static Runtime> {
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .thread_name("ipvs-aio")
        .enable_all()
        .build()
        .map_err(|e| PyOSError::new_err(format!("starting the ipvs.aio runtime: {e}")))?;
    // a runtime built by a racing first call is dropped here, unused
    Ok(RUNTIME.get_or_init(|| rt))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What finished, waiting for the event loop.
struct Queue {
    /// Written by the runtime's threads: a byte wakes the loop.
    wake: UnixStream,
    done: Mutex<Vec<(Py<PyAny>, Make)>>,
}

impl Queue {
    fn push(&self, fut: Py<PyAny>, make: Make) {
        let first = {
            let mut done = lock(&self.done);
            done.push((fut, make));
            done.len() == 1
        };
        // one byte per burst: the loop takes the whole queue when it wakes.
        // A full socket already holds a wakeup, so a failed write loses nothing.
        if first {
            let _ = (&self.wake).write(&[1]);
        }
    }
}

/// One event loop's end of the bridge; its `drain` is the loop's reader callback.
#[pyclass(frozen, module = "ipvs._ipvs._aio", name = "Bridge")]
pub(crate) struct Bridge {
    queue: Arc<Queue>,
    /// Watched by the event loop.
    woken: UnixStream,
}

#[pymethods]
impl Bridge {
    /// Completes the futures of every call finished since the last wakeup.
    fn drain(&self, py: Python<'_>) {
        let mut buf = [0u8; 64];
        while matches!((&self.woken).read(&mut buf), Ok(n) if n == buf.len()) {}
        let done = std::mem::take(&mut *lock(&self.queue.done));
        for (fut, make) in done {
            complete(fut.bind(py), make(py));
        }
    }
}

/// Sets a future's result or exception, unless it is done (cancelled).
fn complete(fut: &Bound<'_, PyAny>, result: PyResult<PyObject>) {
    let py = fut.py();
    let done = fut.call_method0("done").and_then(|d| d.is_truthy());
    if !matches!(done, Ok(false)) {
        return;
    }
    let set = match result {
        Ok(v) => fut.call_method1("set_result", (v,)),
        Err(e) => fut.call_method1("set_exception", (e.into_value(py),)),
    };
    if let Err(e) = set {
        e.write_unraisable(py, Some(fut));
    }
}

/// Aborts a call's task when its future is cancelled (a done callback).
#[pyclass(frozen, module = "ipvs._ipvs._aio", name = "Cancel")]
struct Cancel {
    task: AbortHandle,
}

#[pymethods]
impl Cancel {
    fn __call__(&self, fut: &Bound<'_, PyAny>) {
        let cancelled = fut.call_method0("cancelled").and_then(|c| c.is_truthy());
        if matches!(cancelled, Ok(true)) {
            self.task.abort();
        }
    }
}

/// The last event loop used and its bridge. Another loop gets a bridge of
/// its own (its reader callback keeps it alive as long as the loop).
static LAST: Mutex<Option<(Py<PyAny>, Arc<Queue>)>> = Mutex::new(None);
static GET_RUNNING_LOOP: GILOnceCell<Py<PyAny>> = GILOnceCell::new();

/// The running loop (`RuntimeError` outside one) and its bridge's queue.
fn running_loop(py: Python<'_>) -> PyResult<(Bound<'_, PyAny>, Arc<Queue>)> {
    let get = GET_RUNNING_LOOP.import(py, "asyncio", "get_running_loop")?;
    let lp = get.call0()?;
    let mut last = lock(&LAST);
    if let Some((l, q)) = last.as_ref() {
        if l.bind(py).is(&lp) {
            return Ok((lp, Arc::clone(q)));
        }
    }
    let (wake, woken) = UnixStream::pair()?;
    wake.set_nonblocking(true)?;
    woken.set_nonblocking(true)?;
    let queue = Arc::new(Queue {
        wake,
        done: Mutex::new(Vec::new()),
    });
    let fd = woken.as_raw_fd();
    let bridge = Bound::new(
        py,
        Bridge {
            queue: Arc::clone(&queue),
            woken,
        },
    )?;
    lp.call_method1("add_reader", (fd, bridge.getattr("drain")?))?;
    *last = Some((lp.clone().unbind(), Arc::clone(&queue)));
    Ok((lp, queue))
}

/// Runs `fut` on the module's runtime; returns the asyncio future of the
/// running loop that its [`Make`] completes.
pub(crate) fn spawn<'py, F>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Make> + Send + 'static,
{
    let (lp, queue) = running_loop(py)?;
    let rt = runtime()?;
    let afut = lp.call_method0("create_future")?;
    let target = afut.clone().unbind();
    let task = rt.spawn(async move {
        let make = fut.await;
        queue.push(target, make);
    });
    let cancel = Cancel {
        task: task.abort_handle(),
    };
    afut.call_method1("add_done_callback", (cancel,))?;
    Ok(afut)
}
