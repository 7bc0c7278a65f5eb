//! The compiled half of `ipvs.aio` (the private submodule `ipvs._ipvs._aio`):
//! the asyncio handle, binding the core's tokio handle [`lvskit::aio::Ipvs`].
//!
//! - Every method converts its arguments with the GIL held, so bad input
//!   raises at once (`InvalidInputError`, `TypeError`) and nothing is sent;
//!   writes are the core's [`Operation`]s, validated here before they go.
//! - Then the core's future is handed to the one tokio runtime this module
//!   shares, and the call returns an asyncio future of the calling event
//!   loop, completed on the loop's thread when the core's future is done
//!   (`bridge`: the runtime's threads never take the GIL). The event loop
//!   never waits for the kernel; no thread is started per call.
//! - Results are the blocking handle's native values (`model.rs`,
//!   `reply.rs`), errors its exceptions (`errors.rs`): no second conversion.
//! - Cancelling the asyncio future drops the Rust future. The core's handle
//!   is cancellation safe: a reply nobody awaits any more is skipped and
//!   later requests get their own answers. A write once queued is still
//!   applied (dropping abandons the answer, not the change).

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use lvskit::aio::{self, Dump};
use lvskit::{rules, DestinationEntry, Operation, ServiceEntry};
use pyo3::exceptions::PyStopAsyncIteration;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::{invalid_input, model, reply, rules_error, to_py};

mod bridge;
mod call;

use bridge::{drive, spawn, Make};

/// The asyncio future of `fut`, driven on the event loop's thread (a call
/// that does little before it waits for the kernel): its value converted
/// by `out`, or its error as the blocking handle raises it.
fn awaitable<'py, T, F, O>(py: Python<'py>, fut: F, out: O) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = lvskit::Result<T>> + Send + 'static,
    T: Send + 'static,
    O: for<'a> FnOnce(Python<'a>, T) -> PyResult<Bound<'a, PyAny>> + Send + 'static,
{
    drive(py, made(fut, out))
}

/// As [`awaitable`], run as a task on the module's runtime instead (a call
/// that blocks or computes: opening, batches, tables, plans).
fn spawned<'py, T, F, O>(py: Python<'py>, fut: F, out: O) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = lvskit::Result<T>> + Send + 'static,
    T: Send + 'static,
    O: for<'a> FnOnce(Python<'a>, T) -> PyResult<Bound<'a, PyAny>> + Send + 'static,
{
    spawn(py, made(fut, out))
}

/// `fut`, its result turned into a [`Make`] by `out` (or the error's exception).
async fn made<T, F, O>(fut: F, out: O) -> Make
where
    F: Future<Output = lvskit::Result<T>> + Send + 'static,
    T: Send + 'static,
    O: for<'a> FnOnce(Python<'a>, T) -> PyResult<Bound<'a, PyAny>> + Send + 'static,
{
    let r = fut.await;
    Box::new(move |py| match r {
        Ok(v) => out(py, v).map(Bound::unbind),
        Err(e) => Err(to_py(py, e)),
    })
}

/// A [`Make`] raising `e`.
fn raise(e: PyErr) -> Make {
    Box::new(move |_| Err(e))
}

fn none(py: Python<'_>, (): ()) -> PyResult<Bound<'_, PyAny>> {
    Ok(py.None().into_bound(py))
}

fn list<'py, T>(
    py: Python<'py>,
    items: Vec<T>,
    one: fn(Python<'py>, T) -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let out = items
        .into_iter()
        .map(|v| one(py, v))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(PyList::new(py, out)?.into_any())
}

fn outcomes(py: Python<'_>, report: lvskit::BatchReport) -> PyResult<Bound<'_, PyAny>> {
    Ok(crate::outcomes(py, report).into_pyobject(py)?.into_any())
}

type Slot = Arc<Mutex<Option<aio::Ipvs>>>;

fn lock(slot: &Slot) -> MutexGuard<'_, Option<aio::Ipvs>> {
    slot.lock().unwrap_or_else(|p| p.into_inner())
}

/// An asyncio handle on the IPVS table of one network namespace (wrapped by
/// `ipvs.aio.Ipvs`): made empty, filled by the awaited `open`.
#[pyclass(frozen, module = "ipvs._ipvs._aio", name = "Handle")]
pub struct AioHandle {
    slot: Slot,
}

impl AioHandle {
    fn get(&self) -> PyResult<aio::Ipvs> {
        lock(&self.slot).clone().ok_or_else(|| {
            invalid_input(
                "operation on an ipvs.aio.Ipvs handle that is not open (await Ipvs.open(), \
                 or use `async with`) or was closed"
                    .to_string(),
                "using a closed handle",
            )
        })
    }

    /// Validates a write and returns the awaitable applying it.
    fn write<'py>(&self, py: Python<'py>, op: Operation) -> PyResult<Bound<'py, PyAny>> {
        op.validate().map_err(|e| to_py(py, e))?;
        let h = self.get()?;
        awaitable(py, async move { h.apply(&op).await }, none)
    }

    /// Plans the way from the current table to `desired` and, with
    /// `apply`, applies the plan: the operations, and with `apply` the
    /// outcomes not done. A scope predicate's exception is raised instead
    /// (and nothing is applied).
    fn plan_and<'py>(
        &self,
        desired: &Bound<'py, PyAny>,
        scope: Option<&Bound<'py, PyAny>>,
        drain_before_remove: bool,
        apply: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = desired.py();
        let desired = crate::tables::table_in(desired, "desired")?;
        let (opts, raised) = model::diff_options(scope, drain_before_remove)?;
        let h = self.get()?;
        spawn(py, async move {
            let plan = match h.plan(&desired, &opts).await {
                Ok(plan) => plan,
                Err(e) => return Box::new(move |py: Python<'_>| Err(to_py(py, e))) as Make,
            };
            // what a scope predicate raised, before anything is applied
            let plan = match crate::raised_or(&raised, plan) {
                Ok(plan) => plan,
                Err(e) => return raise(e),
            };
            let report = match apply {
                true => Some(h.apply_plan(&plan).await),
                false => None,
            };
            Box::new(move |py: Python<'_>| plan_out(py, plan, report))
        })
    }
}

/// A plan's operations, with the outcomes not done when it was applied.
fn plan_out(
    py: Python<'_>,
    plan: lvskit::table::Plan,
    report: Option<lvskit::BatchReport>,
) -> PyResult<PyObject> {
    let ops = model::operations_out(py, plan.operations)?;
    Ok(match report {
        None => ops.into_pyobject(py)?.into_any().unbind(),
        Some(r) => (ops, crate::outcomes(py, r))
            .into_pyobject(py)?
            .into_any()
            .unbind(),
    })
}

#[pymethods]
impl AioHandle {
    /// A handle not open yet: await `open`.
    #[new]
    fn new() -> Self {
        AioHandle {
            slot: Arc::new(Mutex::new(None)),
        }
    }

    /// Opens the handle's socket: at most one of `name` (`ip netns` name),
    /// `path` (a namespace file) or `fd` (an open namespace descriptor, borrowed).
    #[pyo3(signature = (name=None, path=None, fd=None))]
    fn open<'py>(
        &self,
        py: Python<'py>,
        name: Option<String>,
        path: Option<PathBuf>,
        fd: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ns = crate::namespace(name, path, fd)?;
        let slot = Arc::clone(&self.slot);
        let opened = async move {
            let h = aio::Ipvs::open(ns).await?;
            *lock(&slot) = Some(h);
            Ok(())
        };
        spawned(py, opened, none)
    }

    /// Drops this object's reference to the socket; calls in flight finish.
    fn close(&self) {
        lock(&self.slot).take();
    }

    /// Whether the handle is not open (never opened, or closed).
    #[getter]
    fn closed(&self) -> bool {
        lock(&self.slot).is_none()
    }

    /// The generic netlink family id of IPVS.
    fn family_id(&self) -> PyResult<u16> {
        Ok(self.get()?.family_id())
    }

    /// The netlink port id of the handle's socket.
    fn port_id(&self) -> PyResult<u32> {
        Ok(self.get()?.port_id())
    }

    /// Sets the socket's receive buffer size in bytes.
    fn set_receive_buffer(&self, py: Python<'_>, bytes: &Bound<'_, PyAny>) -> PyResult<()> {
        let n = model::int_in(bytes, "receive buffer size", 1, i64::from(i32::MAX))? as usize;
        self.get()?.set_receive_buffer(n).map_err(|e| to_py(py, e))
    }

    /// Bounds every wait for the kernel's reply, in seconds.
    fn set_timeout(&self, seconds: f64) -> PyResult<()> {
        self.get()?.set_timeout(crate::timeout_of(seconds)?);
        Ok(())
    }

    /// Applies one operation (an `ipvs.Operation`), acknowledged.
    fn apply<'py>(&self, py: Python<'py>, op: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        self.write(py, model::operation_in(op)?)
    }

    /// Adds a virtual service (a native `Service`).
    fn add_service<'py>(
        &self,
        py: Python<'py>,
        service: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let s = model::service_in(service, "service")?;
        self.write(py, Operation::AddService(s))
    }

    /// Restates a virtual service (a native `Service`).
    fn update_service<'py>(
        &self,
        py: Python<'py>,
        service: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let s = model::service_in(service, "service")?;
        self.write(py, Operation::UpdateService(s))
    }

    /// Deletes the virtual service of `key`.
    fn delete_service<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let k = model::key_in(key, "key")?;
        self.write(py, Operation::DeleteService(k))
    }

    /// Adds a real server (a native `Destination`) to the service of `key`.
    fn add_destination<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        destination: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let k = model::key_in(key, "key")?;
        let d = model::destination_in(destination, "destination")?;
        self.write(py, Operation::AddDestination(k, d))
    }

    /// Restates a real server (a native `Destination`) of the service of `key`.
    fn update_destination<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        destination: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let k = model::key_in(key, "key")?;
        let d = model::destination_in(destination, "destination")?;
        self.write(py, Operation::UpdateDestination(k, d))
    }

    /// Removes a real server (address object or text, port) from the service of `key`.
    fn delete_destination<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        addr: &Bound<'py, PyAny>,
        port: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let k = model::key_in(key, "key")?;
        let a = model::addr_in(addr, "real server address")?;
        let p = model::u16_in(port, "port")?;
        self.write(py, Operation::DeleteDestination(k, a, p))
    }

    /// Starts a sync daemon (an `ipvs.SyncDaemon`).
    fn start_daemon<'py>(
        &self,
        py: Python<'py>,
        daemon: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.write(py, Operation::StartDaemon(model::daemon_in(daemon)?))
    }

    /// Stops the sync daemon of a state (a `SyncState`, its name, or a raw number).
    fn stop_daemon<'py>(
        &self,
        py: Python<'py>,
        state: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.write(py, Operation::StopDaemon(model::sync_state_in(state)?))
    }

    /// Sets the connection timeouts (an `ipvs.Timeouts`).
    fn set_timeouts<'py>(
        &self,
        py: Python<'py>,
        timeouts: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.write(py, Operation::SetTimeouts(model::timeouts_in(timeouts)?))
    }

    /// Zeroes the counters of the service of `key`, or of all.
    #[pyo3(signature = (key=None))]
    fn zero<'py>(
        &self,
        py: Python<'py>,
        key: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let k = match key.filter(|k| !k.is_none()) {
            Some(k) => Some(model::key_in(k, "key")?),
            None => None,
        };
        self.write(py, Operation::Zero(k))
    }

    /// Deletes every virtual service.
    fn flush<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.write(py, Operation::Flush)
    }

    /// Sets one real server's weight, keeping the rest (read-modify-write).
    fn set_weight<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        addr: &Bound<'py, PyAny>,
        port: &Bound<'py, PyAny>,
        weight: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let k = model::key_in(key, "key")?;
        let a = model::addr_in(addr, "real server address")?;
        let p = model::u16_in(port, "port")?;
        let w = model::int_in(weight, "weight", 0, i64::from(i32::MAX))? as u32;
        let h = self.get()?;
        awaitable(py, async move { h.set_weight(&k, a, p, w).await }, none)
    }

    /// Sets a service's scheduler (a `Scheduler` or a name), keeping the rest.
    fn set_scheduler<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        scheduler: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let k = model::key_in(key, "key")?;
        let s = model::scheduler_in(scheduler)?;
        let h = self.get()?;
        awaitable(py, async move { h.set_scheduler(&k, s).await }, none)
    }

    /// One virtual service as an `ipvs.ServiceEntry`.
    fn service<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let k = model::key_in(key, "key")?;
        let h = self.get()?;
        awaitable(
            py,
            async move { h.service(&k).await },
            reply::service_entry_out,
        )
    }

    /// Every virtual service as `ipvs.ServiceEntry` values.
    fn services<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let h = self.get()?;
        awaitable(py, async move { h.services().await }, |py, v| {
            list(py, v, reply::service_entry_out)
        })
    }

    /// The real servers of the service of `key` as `ipvs.DestinationEntry` values.
    fn destinations<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let k = model::key_in(key, "key")?;
        let h = self.get()?;
        awaitable(py, async move { h.destinations(&k).await }, |py, v| {
            list(py, v, reply::destination_entry_out)
        })
    }

    /// The running sync daemons as `ipvs.SyncDaemon` values.
    fn daemons<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let h = self.get()?;
        awaitable(py, async move { h.daemons().await }, |py, v| {
            list(py, v, model::daemon_out)
        })
    }

    /// The connection timeouts as an `ipvs.Timeouts`.
    fn timeouts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let h = self.get()?;
        awaitable(py, async move { h.timeouts().await }, model::timeouts_out)
    }

    /// The IPVS version and table size as an `ipvs.Info`.
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let h = self.get()?;
        awaitable(py, async move { h.info().await }, reply::info_out)
    }

    /// Applies a sequence of operations; the outcomes not done, as the
    /// blocking `handle_execute`.
    fn execute<'py>(
        &self,
        py: Python<'py>,
        ops: &Bound<'py, PyAny>,
        mode: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ops = model::operations_in(ops)?;
        let mode = model::batch_mode(mode)?;
        let h = self.get()?;
        let run = async move { Ok(h.execute(&ops, mode).await) };
        spawned(py, run, outcomes)
    }

    /// Reads the whole table, as the blocking `handle_table`.
    fn table<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let h = self.get()?;
        spawned(py, async move { h.read_table().await }, |py, t| {
            Ok(crate::tables::table_out(py, t)?.into_any())
        })
    }

    /// Reads the current table and plans the way to `desired`: the operations.
    #[pyo3(signature = (desired, scope=None, drain_before_remove=false))]
    fn plan<'py>(
        &self,
        desired: &Bound<'py, PyAny>,
        scope: Option<&Bound<'py, PyAny>>,
        drain_before_remove: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.plan_and(desired, scope, drain_before_remove, false)
    }

    /// Reads, plans and applies: `(operations, outcomes not done)`.
    #[pyo3(signature = (desired, scope=None, drain_before_remove=false))]
    fn converge<'py>(
        &self,
        desired: &Bound<'py, PyAny>,
        scope: Option<&Bound<'py, PyAny>>,
        drain_before_remove: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.plan_and(desired, scope, drain_before_remove, true)
    }

    /// Applies rules text as `ipvsadm -R` does: `(operations, line numbers,
    /// outcomes not done)`. Text that does not parse raises
    /// `ipvs.RulesParseError` at once and nothing is sent.
    fn restore<'py>(&self, py: Python<'py>, text: &str, mode: &str) -> PyResult<Bound<'py, PyAny>> {
        let mode = model::batch_mode(mode)?;
        let ops = rules::parse(text).map_err(|e| rules_error(py, e))?;
        let h = self.get()?;
        let text = text.to_owned();
        spawn(py, async move {
            let restored = h.restore(&text, mode).await;
            Box::new(move |py: Python<'_>| {
                let r = restored.map_err(|e| rules_error(py, e))?;
                let ops = model::operations_out(py, ops)?;
                let out = (ops, r.lines, crate::outcomes(py, r.report));
                Ok(out.into_pyobject(py)?.into_any().unbind())
            }) as Make
        })
    }

    /// Starts a listing of every virtual service: a `Listing` of `ipvs.ServiceEntry`.
    fn service_stream<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let h = self.get()?;
        let started = async move { h.service_stream().await.map(Stream::Services) };
        awaitable(py, started, listing)
    }

    /// Starts a listing of the real servers of the service of `key`: a
    /// `Listing` of `ipvs.DestinationEntry` (empty for a missing service).
    fn destination_stream<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let k = model::key_in(key, "key")?;
        let h = self.get()?;
        let started = async move { h.destination_stream(&k).await.map(Stream::Destinations) };
        awaitable(py, started, listing)
    }
}

/// A listing in progress.
enum Stream {
    Services(Dump<ServiceEntry>),
    Destinations(Dump<DestinationEntry>),
}

/// One entry of a listing.
enum Entry {
    Service(ServiceEntry),
    Destination(DestinationEntry),
}

impl Stream {
    async fn next(&mut self) -> Option<lvskit::Result<Entry>> {
        match self {
            Stream::Services(d) => Some(d.next_entry().await?.map(Entry::Service)),
            Stream::Destinations(d) => Some(d.next_entry().await?.map(Entry::Destination)),
        }
    }
}

fn listing(py: Python<'_>, s: Stream) -> PyResult<Bound<'_, PyAny>> {
    let l = Listing {
        shared: Arc::new(ListingShared {
            stream: tokio::sync::Mutex::new(Some(s)),
            closed: AtomicBool::new(false),
        }),
    };
    Ok(Bound::new(py, l)?.into_any())
}

struct ListingShared {
    stream: tokio::sync::Mutex<Option<Stream>>,
    /// Set by `close`: the listing ends (and its `Dump` is dropped, freeing
    /// the socket's one dump) as soon as no `__anext__` holds it.
    closed: AtomicBool,
}

impl ListingShared {
    /// Drops the listing if it was closed and no one holds it. Called by
    /// `close` after setting the flag, and by each `__anext__` after
    /// releasing the lock, so one of the two sees both the flag and a free lock.
    fn drop_if_closed(&self) {
        if self.closed.load(Ordering::SeqCst) {
            if let Ok(mut s) = self.stream.try_lock() {
                s.take();
            }
        }
    }
}

/// Releases an `__anext__`'s hold on a listing, finished or dropped (cancelled).
struct Hold<'a>(&'a ListingShared);

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        self.0.drop_if_closed();
    }
}

/// A listing read as it is consumed: an async iterator of entries (the
/// core's `Dump`, with its back-pressure). Dropping it early, or `close()`,
/// discards the rest of the kernel's listing.
#[pyclass(frozen, module = "ipvs._ipvs._aio", name = "Listing")]
pub struct Listing {
    shared: Arc<ListingShared>,
}

#[pymethods]
impl Listing {
    fn __aiter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// The next entry; `StopAsyncIteration` at the end.
    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let shared = Arc::clone(&self.shared);
        spawn(py, async move {
            let next = {
                let _hold = Hold(&shared);
                let mut s = shared.stream.lock().await;
                let next = match s.as_mut() {
                    Some(st) if !shared.closed.load(Ordering::SeqCst) => st.next().await,
                    _ => None,
                };
                if !matches!(next, Some(Ok(_))) {
                    // the end, an error, or closed: the listing is over
                    *s = None;
                }
                next
            };
            Box::new(move |py: Python<'_>| match next {
                None => Err(PyStopAsyncIteration::new_err(())),
                Some(Err(e)) => Err(to_py(py, e)),
                Some(Ok(Entry::Service(e))) => Ok(reply::service_entry_out(py, e)?.unbind()),
                Some(Ok(Entry::Destination(e))) => {
                    Ok(reply::destination_entry_out(py, e)?.unbind())
                }
            }) as Make
        })
    }

    /// Ends the listing (the rest of the kernel's listing is read and
    /// discarded); later `__anext__` calls end the iteration. Never waits.
    fn close(&self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared.drop_if_closed();
    }
}

/// Registers the private submodule `_aio` (the compiled half of `ipvs.aio`)
/// and sets up the tokio runtime it shares (started on first use).
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let sub = PyModule::new(m.py(), "_aio")?;
    sub.add_class::<AioHandle>()?;
    sub.add_class::<Listing>()?;
    sub.add_class::<bridge::Bridge>()?;
    // an attribute, not in `__all__`: private to `ipvs.aio`
    m.setattr("_aio", sub)
}
