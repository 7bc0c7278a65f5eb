//! Who waits for which sequence number: the requests registered on a
//! socket, by number, in a slab indexed by the number itself.
//!
//! A handle's sequence numbers are consecutive, and the requests in flight
//! at once hold a window of them: each number has its place in a ring
//! (`seq` modulo its size), so registering, finding and removing a request
//! is an index and a comparison, no hashing. A number whose place is taken
//! (a request older than the ring is long, a dump still open while many
//! others passed) first makes the ring grow, up to [`MAX_RING`] places; past
//! that it waits in a spill map, so memory stays bounded by what is in
//! flight however long one request stays.

use std::task::Waker;

use tokio::time::Instant;

use super::demux::Slot;
use super::reply::{Outcome, Single};
use crate::fasthash::{self, FastMap};
use crate::transport::Failure;

/// The ring's first size (places; a power of two).
const FIRST_RING: usize = 256;
/// The ring grows (doubling) no further than this.
const MAX_RING: usize = 4096;

/// Where a registered number is kept.
#[derive(Clone, Copy)]
enum At {
    /// Its place in the ring.
    Ring(usize),
    /// The spill map.
    Spill,
}

/// What a caller's look at its single request finds.
pub(super) enum Taken<'a> {
    /// Its result (the request is removed).
    Answered(Outcome),
    /// Still waiting for replies.
    Waiting(&'a mut Single),
    /// Not registered (its reader task is gone).
    Missing,
}

/// The requests registered, by sequence number: those waiting for replies
/// ("open"), and single requests answered whose callers have not taken
/// their results yet; the callers to wake once the lock is let go.
pub(super) struct Slots {
    ring: Vec<Option<(u32, Slot)>>,
    /// Numbers whose place in the ring was taken when they came.
    spill: FastMap<u32, Slot>,
    /// Requests waiting for replies (single requests without a result, and dumps).
    open: usize,
    /// Dumps registered (always open until removed).
    dumps: usize,
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
            ring: std::iter::repeat_with(|| None).take(FIRST_RING).collect(),
            spill: fasthash::map(0),
            open: 0,
            dumps: 0,
            wakers: Vec::with_capacity(FIRST_RING),
        }
    }

    /// The place of `seq` in the ring.
    fn place(&self, seq: u32) -> usize {
        // the ring's size is a power of two
        seq as usize & (self.ring.len() - 1)
    }

    /// Registers a request waiting at `seq`.
    pub(super) fn insert(&mut self, seq: u32, slot: Slot) {
        // a number used again after 2^32 requests: the old one is gone
        self.remove(seq);
        self.open += 1;
        self.dumps += usize::from(matches!(slot, Slot::Dump(_)));
        if self.ring[self.place(seq)].is_some() && self.ring.len() < MAX_RING {
            self.grow();
        }
        self.put(seq, slot);
    }

    /// Puts `slot` in the place of `seq`, or in the spill map when that
    /// place is taken.
    fn put(&mut self, seq: u32, slot: Slot) {
        let at = self.place(seq);
        match &mut self.ring[at] {
            free @ None => *free = Some((seq, slot)),
            Some(_) => {
                self.spill.insert(seq, slot);
            }
        }
    }

    /// Doubles the ring, moving each request to its new place (or, when
    /// that is taken, to the spill map).
    fn grow(&mut self) {
        let old = std::mem::take(&mut self.ring);
        self.ring = std::iter::repeat_with(|| None)
            .take(old.len() * 2)
            .collect();
        for (seq, slot) in old.into_iter().flatten() {
            self.put(seq, slot);
        }
    }

    /// Where the request registered at `seq` is kept.
    fn locate(&self, seq: u32) -> Option<At> {
        let at = self.place(seq);
        match &self.ring[at] {
            Some((s, _)) if *s == seq => Some(At::Ring(at)),
            _ if !self.spill.is_empty() && self.spill.contains_key(&seq) => Some(At::Spill),
            _ => None,
        }
    }

    /// The request kept at `at` for `seq`.
    fn slot_at(&mut self, at: At, seq: u32) -> Option<&mut Slot> {
        match at {
            At::Ring(i) => self.ring[i].as_mut().map(|(_, slot)| slot),
            At::Spill => self.spill.get_mut(&seq),
        }
    }

    /// Takes the request kept at `at` for `seq` out (no count changed).
    fn take_at(&mut self, at: At, seq: u32) -> Option<Slot> {
        match at {
            At::Ring(i) => self.ring[i].take().map(|(_, slot)| slot),
            At::Spill => self.spill.remove(&seq),
        }
    }

    /// The request registered at `seq` (waiting or answered).
    pub(super) fn get_mut(&mut self, seq: u32) -> Option<&mut Slot> {
        let at = self.locate(seq)?;
        self.slot_at(at, seq)
    }

    /// True while a request waits for replies.
    pub(super) fn any_open(&self) -> bool {
        self.open > 0
    }

    /// True while a single request waits for replies.
    pub(super) fn singles_open(&self) -> bool {
        self.open > self.dumps
    }

    /// The request waiting at `seq` (not one already answered).
    pub(super) fn open_mut(&mut self, seq: u32) -> Option<&mut Slot> {
        self.get_mut(seq).filter(|s| is_open(s))
    }

    /// Every request registered, with its number.
    fn all(&self) -> impl Iterator<Item = (u32, &Slot)> {
        self.ring
            .iter()
            .flatten()
            .map(|(seq, slot)| (*seq, slot))
            .chain(self.spill.iter().map(|(seq, slot)| (*seq, slot)))
    }

    /// The dumps registered (all of them wait for replies).
    pub(super) fn dumps(&self) -> impl Iterator<Item = &Slot> {
        // nothing to look through without a dump
        let n = if self.dumps > 0 { usize::MAX } else { 0 };
        self.all()
            .take(n)
            .map(|(_, s)| s)
            .filter(|s| matches!(s, Slot::Dump(_)))
    }

    /// Gives the single request at `seq`, if it still waits, its result
    /// `r`; its caller is woken once the lock is let go.
    pub(super) fn finish(&mut self, seq: u32, r: Outcome) {
        if let Some(Slot::Single(s)) = self.get_mut(seq) {
            if s.open() {
                s.set_result(r);
                let waker = s.waker.take();
                self.open -= 1;
                if let Some(w) = waker {
                    self.wakers.push(w);
                }
            }
        }
    }

    /// The result of the single request at `seq` if it has one (then it
    /// is removed), else the request still waiting.
    pub(super) fn take_answered(&mut self, seq: u32) -> Taken<'_> {
        let Some(at) = self.locate(seq) else {
            return Taken::Missing;
        };
        match self.slot_at(at, seq) {
            Some(Slot::Single(s)) if !s.open() => {}
            // one more look: a borrow returned from one arm cannot be ended in another
            Some(Slot::Single(_)) => {
                return match self.slot_at(at, seq) {
                    Some(Slot::Single(s)) => Taken::Waiting(s),
                    _ => Taken::Missing,
                };
            }
            _ => return Taken::Missing,
        }
        // an answered request is no longer open: the counts stay as they are
        match self.take_at(at, seq) {
            Some(Slot::Single(s)) => s.into_result().map_or(Taken::Missing, Taken::Answered),
            _ => Taken::Missing,
        }
    }

    /// Removes the request at `seq` (a dump that ended, a caller that gave up
    /// or took its result).
    pub(super) fn remove(&mut self, seq: u32) -> Option<Slot> {
        let at = self.locate(seq)?;
        let slot = self.take_at(at, seq)?;
        self.open -= usize::from(is_open(&slot));
        self.dumps -= usize::from(matches!(slot, Slot::Dump(_)));
        Some(slot)
    }

    /// Ends every request still waiting: a single one gets `fail()`; a dump
    /// is removed and handed to `end`.
    pub(super) fn fail_open(&mut self, fail: impl Fn() -> Failure, mut end: impl FnMut(Slot)) {
        let open: Vec<(u32, bool)> = self
            .all()
            .filter(|(_, s)| is_open(s))
            .map(|(seq, s)| (seq, matches!(s, Slot::Dump(_))))
            .collect();
        for (seq, dump) in open {
            if dump {
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
        for (seq, slot) in self.all() {
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

    /// True when callers wait to be woken.
    pub(super) fn has_wakers(&self) -> bool {
        !self.wakers.is_empty()
    }

    /// Swaps the callers to wake into `out` (empty, its room kept).
    pub(super) fn take_wakers(&mut self, out: &mut Vec<Waker>) {
        std::mem::swap(&mut self.wakers, out);
    }
}
