//! Calls driven on the event loop's thread: the hot path of `ipvs.aio`.
//!
//! A single request costs the core little (it is encoded and queued for the
//! handle's reader task, which sends everything queued in one `sendmsg`), so
//! what a Python call costs on top is what decides its speed. A driven call
//! therefore starts no tokio task: its Rust future is polled on the event
//! loop's thread, inside the module runtime's context, right when the call
//! is made (which encodes and queues the request, with the GIL held and
//! without waiting for anything), and again each time its waker fires. The
//! waker runs on the reader task's thread: it only queues the call on the
//! loop's [`Queue`], which wakes the loop once per burst; the loop's `drain`
//! polls every woken call and completes the asyncio futures of those done.
//! So a burst of answers costs one wakeup of the loop and no thread hop per
//! call.
//!
//! Cancellation: a call whose asyncio future is done (cancelled) when its
//! waker fires is dropped instead of polled, so it never advances after its
//! task gave up; dropping it runs the core's own clean-up (a reply nobody
//! awaits is skipped), exactly as when a spawned task is aborted.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use pyo3::intern;
use pyo3::prelude::*;
use tokio::runtime::Runtime;

use super::bridge::{lock, set, Make, Queue};

/// A call's Rust future, polled on the event loop's thread.
type Driven = Pin<Box<dyn Future<Output = Make> + Send>>;

/// One driven call: its Rust future (until it is done or dropped) and the
/// asyncio future it completes.
pub(crate) struct Call {
    queue: Arc<Queue>,
    target: Py<PyAny>,
    fut: Mutex<Option<Driven>>,
    /// Set while the call waits in the loop's queue: a call is queued once
    /// however often it is woken meanwhile.
    queued: AtomicBool,
}

impl Wake for Call {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.queue.push_woken(Arc::clone(self));
        }
    }
}

impl Call {
    /// Starts `fut` for the asyncio future `target`: queued as if woken,
    /// so that its first poll (which sends its request) comes with those of
    /// every other call made in the same turn of the event loop.
    pub(crate) fn start<F>(queue: Arc<Queue>, target: Py<PyAny>, fut: F)
    where
        F: Future<Output = Make> + Send + 'static,
    {
        let call = Arc::new(Call {
            queue,
            target,
            fut: Mutex::new(Some(Box::pin(fut))),
            queued: AtomicBool::new(false),
        });
        call.wake_by_ref();
    }

    /// Called by the loop's `drain` for a woken (or new) call: polls it, or
    /// drops it if its asyncio future is done already (cancelled: a call
    /// cancelled before its first poll sends nothing).
    pub(crate) fn woken(self: Arc<Self>, py: Python<'_>, rt: &Runtime) {
        // cleared before polling: a wake during the poll queues it again
        self.queued.store(false, Ordering::Release);
        let done = self.target.bind(py).call_method0(intern!(py, "done"));
        if matches!(done.and_then(|d| d.is_truthy()), Ok(false)) {
            self.poll(py, rt);
        } else {
            lock(&self.fut).take();
        }
    }

    /// Polls the Rust future in the runtime's context (its timers and
    /// sockets are the runtime's); completes the asyncio future when it is done.
    fn poll(self: &Arc<Self>, py: Python<'_>, rt: &Runtime) {
        let make = {
            let mut slot = lock(&self.fut);
            let Some(fut) = slot.as_mut() else {
                return;
            };
            let waker = Waker::from(Arc::clone(self));
            let _context = rt.enter();
            match fut.as_mut().poll(&mut Context::from_waker(&waker)) {
                Poll::Pending => return,
                Poll::Ready(make) => {
                    slot.take();
                    make
                }
            }
        };
        // not done: checked by `woken`, with the GIL held since
        set(self.target.bind(py), make(py));
    }
}
