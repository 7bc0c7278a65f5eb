//! What a request in flight costs on the async handle (`lvskit::aio`),
//! pinned on the host against a scripted kernel: a round of 64 single
//! requests is one send and one receive, wakes each caller exactly once,
//! and allocates nothing on the callers' side (no channel, no boxed state
//! per request: the reader task files each result where its caller finds
//! it). This test binary counts the allocations of its own thread.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::net::Ipv4Addr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use lvskit::aio;
use lvskit::testing::ScriptedKernel;
use lvskit::{Destination, ServiceKey};

/// The system allocator, counting the allocations of a thread while asked to.
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn note() {
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every call is passed on to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: the caller's contract, passed on
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: the caller's contract, passed on
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: the caller's contract, passed on
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The allocations this thread makes while `f` runs.
fn allocations<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    COUNTING.with(|on| on.set(true));
    let r = f();
    COUNTING.with(|on| on.set(false));
    (r, ALLOCATIONS.with(Cell::get) - before)
}

/// A waker that counts its wake-ups.
struct Wakes(AtomicUsize);

impl Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

const IN_FLIGHT: u16 = 64;

type Call<'a> = Pin<Box<dyn Future<Output = lvskit::Result<()>> + 'a>>;

/// One round: `IN_FLIGHT` calls polled once each (each queues its request),
/// the reader task let run until each caller was woken (bounded), then each
/// polled to its result. Returns the allocations of the callers' polls, the
/// wake-ups, and the sends and receives the kernel saw.
async fn round(ipvs: &aio::Ipvs, kernel: &ScriptedKernel, first_port: u16) -> Cost {
    let key = ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), 80);
    let dests: Vec<Destination> = (0..IN_FLIGHT)
        .map(|i| Destination::new(Ipv4Addr::new(10, 1, 0, 2), first_port + i))
        .collect();
    let mut calls: Vec<Call<'_>> = dests
        .iter()
        .map(|d| Box::pin(ipvs.add_destination(&key, d)) as Call<'_>)
        .collect();
    let wakes = Arc::new(Wakes(AtomicUsize::new(0)));
    let waker = Waker::from(Arc::clone(&wakes));
    let mut cx = Context::from_waker(&waker);
    let (sends, (receives, _)) = (kernel.sends(), kernel.receives());
    let ((), queued) = allocations(|| {
        for c in &mut calls {
            assert!(c.as_mut().poll(&mut cx).is_pending());
        }
    });
    for _ in 0..1000 {
        if wakes.0.load(Ordering::SeqCst) >= usize::from(IN_FLIGHT) {
            break;
        }
        tokio::task::yield_now().await;
    }
    let woken = wakes.0.load(Ordering::SeqCst);
    let ((), answered) = allocations(|| {
        for c in &mut calls {
            assert!(matches!(c.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
        }
    });
    Cost {
        allocations: queued + answered,
        woken,
        sends: kernel.sends() - sends,
        receives: kernel.receives().0 - receives,
    }
}

#[derive(Debug, PartialEq)]
struct Cost {
    allocations: usize,
    woken: usize,
    sends: usize,
    receives: usize,
}

#[tokio::test]
async fn a_request_in_flight_allocates_nothing_for_its_caller_and_wakes_it_once() {
    let kernel = ScriptedKernel::obedient();
    let ipvs = aio::Ipvs::with_kernel(kernel.clone()).await.unwrap();
    // the first round gives the handle's maps and buffers their room
    round(&ipvs, &kernel, 1000).await;
    for r in 0..3 {
        let cost = round(&ipvs, &kernel, 2000 + r * IN_FLIGHT).await;
        assert_eq!(
            cost,
            Cost {
                allocations: 0,
                woken: usize::from(IN_FLIGHT),
                sends: 1,
                receives: 1,
            }
        );
    }
}
