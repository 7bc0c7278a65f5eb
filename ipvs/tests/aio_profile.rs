//! A workload to profile, not a test of a property: 10,000 single
//! `add_destination` calls with 64 in flight on one `lvskit::aio::Ipvs` over
//! the scripted kernel, in the two shapes the benchmark measures (64 tasks
//! on a current-thread runtime; 64 futures polled by one task). Ignored: run
//! it under callgrind to see where the user time per request goes, e.g.
//!
//! ```text
//! cargo test --release -p lvskit --test aio_profile --no-run
//! valgrind --tool=callgrind target/release/deps/aio_profile-<hash> \
//!     --ignored --exact tasks64 --test-threads=1
//! ```
//!
//! It still checks what it ran: every call answered `Ok` and each sent.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::future::Future;
use std::net::Ipv4Addr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use lvskit::aio;
use lvskit::testing::ScriptedKernel;
use lvskit::{Destination, ServiceKey};

const CALLS: usize = 10_000;
const IN_FLIGHT: usize = 64;

fn key(n: usize) -> ServiceKey {
    ServiceKey::tcp(
        Ipv4Addr::new(10, 0, 0, 1),
        u16::try_from(n / 100 + 1).unwrap(),
    )
}

fn dest(n: usize) -> Destination {
    Destination::new(
        Ipv4Addr::new(10, 1, 0, 2),
        u16::try_from(n % 100 + 1).unwrap(),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The requests the kernel saw that are `add_destination`s.
fn sent(kernel: &ScriptedKernel) -> usize {
    kernel
        .requests()
        .iter()
        .filter(|r| r.command == lvskit::raw::ipvs::cmd::NEW_DEST)
        .count()
}

/// 64 tasks, each taking the next call once its last one is answered (the
/// benchmark's `async64` row).
#[test]
#[ignore = "a workload to profile (callgrind), not a test"]
fn tasks64() {
    let kernel = ScriptedKernel::obedient();
    runtime().block_on(async {
        let ipvs = aio::Ipvs::with_kernel(kernel.clone()).await.unwrap();
        let next = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..IN_FLIGHT)
            .map(|_| {
                let (ipvs, next) = (ipvs.clone(), Arc::clone(&next));
                tokio::spawn(async move {
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= CALLS {
                            return;
                        }
                        ipvs.add_destination(&key(n), &dest(n)).await.unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(sent(&kernel), CALLS);
}

type Call<'a> = Pin<Box<dyn Future<Output = lvskit::Result<()>> + 'a>>;

/// Polls up to `IN_FLIGHT` calls from one task, starting the next as one
/// finishes (what `buffer_unordered(64)` does, without its crate): the
/// benchmark's `async64-onetask` row.
struct Window<'a, F: FnMut(usize) -> Call<'a>> {
    calls: Vec<Option<Call<'a>>>,
    make: F,
    next: usize,
    done: usize,
}

impl<'a, F: FnMut(usize) -> Call<'a> + Unpin> Future for Window<'a, F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        loop {
            let mut progress = false;
            for c in &mut this.calls {
                if c.is_none() && this.next < CALLS {
                    *c = Some((this.make)(this.next));
                    this.next += 1;
                }
                if let Some(f) = c {
                    if let Poll::Ready(r) = f.as_mut().poll(cx) {
                        r.unwrap();
                        *c = None;
                        this.done += 1;
                        progress = true;
                    }
                }
            }
            if this.done == CALLS {
                return Poll::Ready(());
            }
            if !progress {
                return Poll::Pending;
            }
        }
    }
}

/// 64 calls in flight as futures polled by one task.
#[test]
#[ignore = "a workload to profile (callgrind), not a test"]
fn onetask64() {
    let kernel = ScriptedKernel::obedient();
    runtime().block_on(async {
        let ipvs = aio::Ipvs::with_kernel(kernel.clone()).await.unwrap();
        let ipvs = &ipvs;
        Window {
            calls: (0..IN_FLIGHT).map(|_| None).collect(),
            make: |n| Box::pin(async move { ipvs.add_destination(&key(n), &dest(n)).await }),
            next: 0,
            done: 0,
        }
        .await;
    });
    assert_eq!(sent(&kernel), CALLS);
}
