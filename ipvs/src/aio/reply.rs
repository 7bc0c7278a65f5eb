//! A single request's wait for its reply without a channel: its slot (see
//! [`super::slots`]) holds the caller's [`Waker`] and, once answered, its
//! result; the reader task files the result in the slot and wakes the
//! callers a datagram answered in one pass, after it let go of the lock; the
//! caller's future takes the result (removing the slot) when polled. Per
//! request: one place in the slot table, taken when it is queued and freed
//! when its result is taken, and nothing allocated.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio::time::Instant;

use super::demux::Shared;
use super::request::reader_gone;
use super::slots::Taken;
use crate::error::Result;
use crate::transport::Failure;

/// What a single request gets: its replies' attributes, or why it failed.
pub(super) type Outcome = Result<Vec<Vec<u8>>, Failure>;

/// A do-request: its data messages so far, its caller's waker, its deadline
/// (set once it is sent and its first read did not answer it), and its
/// result once it has one (then nothing more is read for it).
#[derive(Default)]
pub(super) struct Single {
    pub(super) data: Vec<Vec<u8>>,
    pub(super) waker: Option<Waker>,
    pub(super) deadline: Option<Instant>,
    result: Option<Outcome>,
}

impl Single {
    /// A request whose caller `waker` wakes when it is answered.
    pub(super) fn new(waker: Waker) -> Self {
        Single {
            waker: Some(waker),
            ..Single::default()
        }
    }

    /// True while it waits for replies (no result yet).
    pub(super) fn open(&self) -> bool {
        self.result.is_none()
    }

    /// Files its result: nothing more is read for it.
    pub(super) fn set_result(&mut self, r: Outcome) {
        self.result = Some(r);
    }

    /// Its result, if it has one.
    pub(super) fn into_result(self) -> Option<Outcome> {
        self.result
    }
}

/// Wakes the callers in `wakers` (taken with [`Slots::take_wakers`] under
/// the lock, woken after it): one pass, each caller woken once.
pub(super) fn wake_all(wakers: &mut Vec<Waker>) {
    for w in wakers.drain(..) {
        w.wake();
    }
}

/// The caller's side of a single request registered at `seq` with its
/// caller's waker: ready with its result; when dropped first, the request
/// is forgotten and whatever the kernel still sends for it is skipped.
pub(super) struct Reply<'a> {
    pub(super) shared: &'a Shared,
    pub(super) seq: u32,
    /// Registered with the waker of the poll that queued it: its first
    /// poll, in that same poll, needs no look (a result filed meanwhile
    /// woke that waker, so the caller is polled again).
    pub(super) fresh: bool,
    /// Still registered (not taken, not failed for a missing slot).
    pub(super) armed: bool,
}

impl Future for Reply<'_> {
    type Output = Outcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        if std::mem::take(&mut self.fresh) {
            return Poll::Pending;
        }
        let seq = self.seq;
        let mut core = self.shared.lock();
        let r = match core.slots.take_answered(seq) {
            Taken::Answered(r) => r,
            Taken::Waiting(s) => {
                match &mut s.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    w => *w = Some(cx.waker().clone()),
                }
                return Poll::Pending;
            }
            // neither waiting nor answered: the reader task is gone
            Taken::Missing => Err(reader_gone().into()),
        };
        drop(core);
        self.armed = false;
        Poll::Ready(r)
    }
}

impl Drop for Reply<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.shared.forget(self.seq);
        }
    }
}
