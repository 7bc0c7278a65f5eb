//! A single request's wait for its reply without a channel: its slot holds
//! the caller's [`Waker`]; the reader task files the result under the
//! request's sequence number and wakes the callers answered by a datagram
//! in one pass, after it let go of the lock; the caller's future takes its
//! result when polled. Nothing is allocated per request: the slot and the
//! result live in the handle's maps, whose room is kept.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio::time::Instant;

use super::demux::{Shared, Slot};
use super::request::reader_gone;
use crate::error::Result;
use crate::fasthash::{self, FastMap};
use crate::transport::Failure;

/// What a single request gets: its replies' attributes, or why it failed.
pub(super) type Outcome = Result<Vec<Vec<u8>>, Failure>;

/// A do-request waiting: its data messages so far, its caller's waker, its
/// deadline (set once it is sent and its first read did not answer it).
#[derive(Default)]
pub(super) struct Single {
    pub(super) data: Vec<Vec<u8>>,
    pub(super) waker: Option<Waker>,
    pub(super) deadline: Option<Instant>,
}

/// The results of single requests not yet taken by their callers, and the
/// callers to wake for them once the lock is let go.
pub(super) struct Results {
    done: FastMap<u32, Outcome>,
    wakers: Vec<Waker>,
}

impl Results {
    pub(super) fn new() -> Self {
        Results {
            done: fasthash::map(256),
            wakers: Vec::with_capacity(256),
        }
    }

    /// Files `single`'s result under `seq` for its caller to take.
    pub(super) fn finish(&mut self, seq: u32, single: Single, r: Outcome) {
        self.done.insert(seq, r);
        if let Some(w) = single.waker {
            self.wakers.push(w);
        }
    }

    /// Swaps the callers to wake into `out` (empty, its room kept).
    pub(super) fn take_wakers(&mut self, out: &mut Vec<Waker>) {
        std::mem::swap(&mut self.wakers, out);
    }
}

/// Wakes the callers in `wakers` (taken with [`Results::take_wakers`] under
/// the lock, woken after it): one pass, each caller woken once.
pub(super) fn wake_all(wakers: &mut Vec<Waker>) {
    for w in wakers.drain(..) {
        w.wake();
    }
}

/// The caller's side of a single request registered at `seq`: ready with
/// its result; when dropped first, the request is forgotten and whatever
/// the kernel still sends for it is skipped.
pub(super) struct Reply<'a> {
    pub(super) shared: &'a Shared,
    pub(super) seq: u32,
    /// Still registered (not taken, not failed for a missing slot).
    pub(super) armed: bool,
}

impl Future for Reply<'_> {
    type Output = Outcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        let seq = self.seq;
        let mut core = self.shared.lock();
        if let Some(r) = core.results.done.remove(&seq) {
            drop(core);
            self.armed = false;
            return Poll::Ready(r);
        }
        match core.pending.get_mut(&seq) {
            Some(Slot::Single(s)) => {
                match &mut s.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    w => *w = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            // neither waiting nor answered: the reader task is gone
            _ => {
                drop(core);
                self.armed = false;
                Poll::Ready(Err(reader_gone().into()))
            }
        }
    }
}

impl Drop for Reply<'_> {
    fn drop(&mut self) {
        if self.armed {
            let mut core = self.shared.lock();
            core.pending.remove(&self.seq);
            core.results.done.remove(&self.seq);
        }
    }
}
