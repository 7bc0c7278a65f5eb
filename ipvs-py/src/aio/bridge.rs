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
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::PyDict;
use tokio::runtime::Runtime;
use tokio::task::AbortHandle;

use super::call::Call;

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

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the event loop has to do next for a call.
enum Ready {
    /// A spawned call finished: complete its asyncio future with this.
    Made(Py<PyAny>, Make),
    /// A driven call was woken: poll it.
    Woken(Arc<Call>),
}

/// What finished or was woken, waiting for the event loop.
pub(super) struct Queue {
    /// Written by the runtime's threads: a byte wakes the loop.
    wake: UnixStream,
    done: Mutex<Vec<Ready>>,
    /// Makes a new asyncio future of the loop (see [`future_factory`]).
    new_future: Py<PyAny>,
}

impl Queue {
    /// Queues a driven call to be polled on the loop's thread.
    pub(super) fn push_woken(&self, call: Arc<Call>) {
        self.push(Ready::Woken(call));
    }

    fn push(&self, ready: Ready) {
        let first = {
            let mut done = lock(&self.done);
            done.push(ready);
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
    /// Polls every driven call woken and completes the futures of every
    /// spawned call finished since the last wakeup.
    fn drain(&self, py: Python<'_>) -> PyResult<()> {
        let rt = runtime()?;
        let mut buf = [0u8; 64];
        while matches!((&self.woken).read(&mut buf), Ok(n) if n == buf.len()) {}
        let done = std::mem::take(&mut *lock(&self.queue.done));
        for ready in done {
            match ready {
                Ready::Made(fut, make) => complete(fut.bind(py), make(py)),
                Ready::Woken(call) => call.woken(py, rt),
            }
        }
        Ok(())
    }
}

/// Sets a future's result or exception, unless it is done (cancelled).
fn complete(fut: &Bound<'_, PyAny>, result: PyResult<PyObject>) {
    let py = fut.py();
    let done = fut.call_method0(intern!(py, "done"));
    if matches!(done.and_then(|d| d.is_truthy()), Ok(false)) {
        set(fut, result);
    }
}

/// Sets the result or exception of a future known not to be done.
pub(super) fn set(fut: &Bound<'_, PyAny>, result: PyResult<PyObject>) {
    let py = fut.py();
    let set = match result {
        Ok(v) => fut.call_method1(intern!(py, "set_result"), (v,)),
        Err(e) => fut.call_method1(intern!(py, "set_exception"), (e.into_value(py),)),
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
        let cancelled = fut
            .call_method0(intern!(fut.py(), "cancelled"))
            .and_then(|c| c.is_truthy());
        if matches!(cancelled, Ok(true)) {
            self.task.abort();
        }
    }
}

/// The last event loop used and its bridge. Another loop gets a bridge of
/// its own (its reader callback keeps it alive as long as the loop).
static LAST: Mutex<Option<(Py<PyAny>, Arc<Queue>)>> = Mutex::new(None);
static GET_RUNNING_LOOP: GILOnceCell<Py<PyAny>> = GILOnceCell::new();

/// The running loop's bridge queue (`RuntimeError` outside a running loop).
fn running_loop(py: Python<'_>) -> PyResult<Arc<Queue>> {
    let get = GET_RUNNING_LOOP.import(py, "asyncio", "get_running_loop")?;
    let lp = get.call0()?;
    let mut last = lock(&LAST);
    if let Some((l, q)) = last.as_ref() {
        if l.bind(py).is(&lp) {
            return Ok(Arc::clone(q));
        }
    }
    let (wake, woken) = UnixStream::pair()?;
    wake.set_nonblocking(true)?;
    woken.set_nonblocking(true)?;
    let queue = Arc::new(Queue {
        wake,
        done: Mutex::new(Vec::new()),
        new_future: future_factory(&lp)?,
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
    *last = Some((lp.unbind(), Arc::clone(&queue)));
    Ok(queue)
}

/// What makes the futures of `lp`: its `create_future`, or, when that is
/// asyncio's own (`asyncio.Future(loop=lp)`, a Python frame per call),
/// `asyncio.Future` bound to the loop (no Python frame).
fn future_factory(lp: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let py = lp.py();
    let asyncio = py.import("asyncio")?;
    let own = asyncio.getattr("BaseEventLoop")?.getattr("create_future")?;
    if !lp.get_type().getattr("create_future")?.is(&own) {
        return Ok(lp.getattr("create_future")?.unbind());
    }
    let kwargs = PyDict::new(py);
    kwargs.set_item("loop", lp)?;
    let partial = py.import("functools")?.getattr("partial")?;
    Ok(partial
        .call((asyncio.getattr("Future")?,), Some(&kwargs))?
        .unbind())
}

/// Runs `fut` on the module's runtime; returns the asyncio future of the
/// running loop that its [`Make`] completes.
pub(crate) fn spawn<'py, F>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Make> + Send + 'static,
{
    let queue = running_loop(py)?;
    let rt = runtime()?;
    let afut = queue.new_future.bind(py).call0()?;
    let target = afut.clone().unbind();
    let task = rt.spawn(async move {
        let make = fut.await;
        queue.push(Ready::Made(target, make));
    });
    let cancel = Cancel {
        task: task.abort_handle(),
    };
    afut.call_method1(intern!(py, "add_done_callback"), (cancel,))?;
    Ok(afut)
}

/// Drives `fut` on the running loop's thread (see `call`): first polled by
/// the loop's next `drain`, with every other call made meanwhile, and again
/// whenever it is woken. Returns the asyncio future its [`Make`] completes.
/// For calls that do little work before they wait for the kernel (single
/// requests); `spawn` is for those that compute or block.
pub(crate) fn drive<'py, F>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Make> + Send + 'static,
{
    let queue = running_loop(py)?;
    runtime()?;
    let afut = queue.new_future.bind(py).call0()?;
    Call::start(queue, afut.clone().unbind(), fut);
    Ok(afut)
}
