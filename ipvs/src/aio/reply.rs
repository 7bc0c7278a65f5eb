//! Who waits for which sequence number, and a single request's wait for
//! its reply without a channel: its slot holds the caller's [`Waker`] and,
//! once answered, its result; the reader task files the result in the slot
//! and wakes the callers a datagram answered in one pass, after it let go of
//! the lock; the caller's future takes the result (removing the slot) when
//! polled. Per request: one map entry, inserted when it is queued and
//! removed when its result is taken, and nothing allocated.

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
}

/// The requests registered, by sequence number: those waiting for replies
/// ("open"), and single requests answered whose callers have not taken
/// their results yet; the callers to wake once the lock is let go.
pub(super) struct Slots {
    map: FastMap<u32, Slot>,
    open: usize,
    wakers: Vec<Waker>,
}

/// True while `slot` waits for replies.
fn is_open(slot: &Slot) -> bool {
    match slot {
        Slot::Single(s) => s.open(),
        Slot::Dump(_) => true,
    }
}

impl Slots {
    pub(super) fn new() -> Self {
        Slots {
            map: fasthash::map(256),
            open: 0,
            wakers: Vec::with_capacity(256),
        }
    }

    /// Registers a request waiting at `seq`.
    pub(super) fn insert(&mut self, seq: u32, slot: Slot) {
        if let Some(old) = self.map.insert(seq, slot) {
            // a number used again after 2^32 requests: the old one is gone
            self.open -= usize::from(is_open(&old));
        }
        self.open += 1;
    }

    /// True while a request waits for replies.
    pub(super) fn any_open(&self) -> bool {
        self.open > 0
    }

    /// The request waiting at `seq` (not one already answered).
    pub(super) fn open_mut(&mut self, seq: u32) -> Option<&mut Slot> {
        self.map.get_mut(&seq).filter(|s| is_open(s))
    }

    /// The requests waiting for replies.
    pub(super) fn open_slots(&self) -> impl Iterator<Item = &Slot> {
        self.map.values().filter(|s| is_open(s))
    }

    /// Gives the single request at `seq`, if it still waits, its result
    /// `r`; its caller is woken once the lock is let go.
    pub(super) fn finish(&mut self, seq: u32, r: Outcome) {
        if let Some(Slot::Single(s)) = self.map.get_mut(&seq) {
            if s.open() {
                s.result = Some(r);
                self.open -= 1;
                if let Some(w) = s.waker.take() {
                    self.wakers.push(w);
                }
            }
        }
    }

    /// Removes the request at `seq` (a dump that ended, a caller that gave up).
    pub(super) fn remove(&mut self, seq: u32) -> Option<Slot> {
        let slot = self.map.remove(&seq)?;
        self.open -= usize::from(is_open(&slot));
        Some(slot)
    }

    /// Ends every request still waiting: a single one gets `fail()`; a dump
    /// is removed and handed to `end`.
    pub(super) fn fail_open(&mut self, fail: impl Fn() -> Failure, mut end: impl FnMut(Slot)) {
        let open: Vec<u32> = self
            .map
            .iter()
            .filter(|(_, s)| is_open(s))
            .map(|(&seq, _)| seq)
            .collect();
        for seq in open {
            if matches!(self.map.get(&seq), Some(Slot::Dump(_))) {
                if let Some(slot) = self.remove(seq) {
                    end(slot);
                }
            } else {
                self.finish(seq, Err(fail()));
            }
        }
    }

    /// Fails the single requests whose deadline passed by `now` with
    /// `fail()`; returns the earliest deadline of those still waiting.
    pub(super) fn expire(&mut self, now: Instant, fail: impl Fn() -> Failure) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut late = Vec::new();
        for (&seq, slot) in &self.map {
            if let Slot::Single(
                s @ Single {
                    deadline: Some(d), ..
                },
            ) = slot
            {
                if !s.open() {
                    continue;
                }
                if *d <= now {
                    late.push(seq);
                } else {
                    next = Some(next.map_or(*d, |n| n.min(*d)));
                }
            }
        }
        for seq in late {
            self.finish(seq, Err(fail()));
        }
        next
    }

    /// Swaps the callers to wake into `out` (empty, its room kept).
    pub(super) fn take_wakers(&mut self, out: &mut Vec<Waker>) {
        std::mem::swap(&mut self.wakers, out);
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
        let r = match core.slots.map.get_mut(&seq) {
            Some(Slot::Single(s)) => match s.result.take() {
                Some(r) => r,
                None => {
                    match &mut s.waker {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        w => *w = Some(cx.waker().clone()),
                    }
                    return Poll::Pending;
                }
            },
            // neither waiting nor answered: the reader task is gone
            _ => {
                drop(core);
                self.armed = false;
                return Poll::Ready(Err(reader_gone().into()));
            }
        };
        core.slots.map.remove(&seq);
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
