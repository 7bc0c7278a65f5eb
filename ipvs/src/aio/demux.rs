//! The demultiplexer: one non-blocking socket, one reader task, and every
//! request in flight waiting for its own replies.
//!
//! A request is encoded and registered under its sequence number (a
//! pipelined chunk under its range) in one step, under one lock, with no
//! await in between: a reply can never arrive for a request not yet
//! registered, and a cancelled caller can never leave a request half
//! encoded. Requests are queued and sent together: the reader task sends
//! everything queued in one `sendmsg` before it waits for replies (each
//! request still asks for its own acknowledgement), so many requests in
//! flight cost few system calls, as a pipelined batch does. The reader task
//! takes each datagram the transport checked (sender port 0, no truncation),
//! reads each message with the transport's own [`reply_end`], and hands it
//! to the request its sequence number names; replies to numbers nobody waits
//! for any more (a dropped future, a timeout) are skipped, as the blocking
//! handle skips stale replies.
//!
//! The demultiplexer knows nothing of IPVS: a [`Protocol`] says which data
//! messages are answers (a generic netlink family's, with its header
//! stripped, or rtnetlink's link and address messages), so the IPVS, FOU and
//! rtnetlink handles share it.
//!
//! The hot path is kept short, since many single requests in flight are
//! worth having only when each costs little beyond the kernel's own work:
//! single requests and dumps are found by their sequence number in a slab
//! indexed by the number itself (see [`super::slots`]; pipelined chunks,
//! which hold a range of numbers, by an ordered map); a single
//! request needs no channel and nothing allocated of its own, and one place
//! in the slab: its slot keeps its caller's waker (registered when it is queued),
//! the reader files its result in the slot and wakes the callers a datagram
//! answered in one pass, after it let go of the lock, and the caller takes
//! the result and the slot (see [`super::reply`]); no timer is
//! armed per request (the reader task keeps one, at the earliest deadline of
//! the requests waiting, and fails those whose time is up); the reader task is
//! woken once per burst of queued requests, not once per request; and it reads
//! the replies right after each send, since the kernel answered them within
//! the `sendmsg` (see [`read_loop`]): a round of requests costs one `sendmsg`
//! and one `recvmmsg`, no readiness poll and no clock reading.

use std::collections::BTreeMap;
use std::future::Future;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::{mpsc, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::reply::{wake_all, Outcome, Single};
use super::slots::Slots;
use crate::batch::Chunk;
use crate::codec::nla::{self, Messages, MsgHeader};
use crate::error::{Error, Result};
use crate::fasthash::{self, FastMap};
use crate::transport::{addressed_to, reply_end, Failure, Transport};

/// Dump entries buffered for a slow reader before the reader task stops
/// reading the socket (when no other request waits): back-pressure, as the
/// kernel makes the next part of a dump only when the socket is read.
pub(super) const DUMP_BUFFER: usize = 512;
/// Datagrams the reader task takes in a row before it yields.
const BURST: usize = 64;

/// Where a pipelined chunk's replies go, or why they were lost.
pub(super) type ChunkTx = mpsc::UnboundedSender<Result<(MsgHeader, Vec<u8>)>>;

/// Which data messages of a socket are answers, and what of them a
/// request gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Protocol {
    /// A generic netlink family: its messages' attributes, after the
    /// generic netlink header.
    Genl {
        /// The family's id (the message type of its messages).
        family: u16,
    },
    /// rtnetlink: link and address messages (`RTM_NEWLINK`,
    /// `RTM_NEWADDR`), whole (the fixed header, then the attributes).
    Route,
}

impl Protocol {
    /// The part of a data message its request gets; `None` for a message
    /// that is no answer of this protocol.
    ///
    /// # Errors
    /// [`Error::Protocol`] for a generic netlink message shorter than its header.
    fn data(self, h: &MsgHeader, payload: &[u8]) -> Result<Option<Vec<u8>>> {
        match self {
            Protocol::Genl { family } if h.ty == family => {
                let attrs = payload.get(nla::GENL_HDRLEN..).ok_or_else(|| {
                    Error::protocol(
                        "reading a reply",
                        "message shorter than its generic netlink header",
                    )
                })?;
                Ok(Some(attrs.to_vec()))
            }
            Protocol::Route
                if h.ty == crate::tunnel::codec::rtm::NEWLINK
                    || h.ty == crate::tunnel::codec::rtm::NEWADDR =>
            {
                Ok(Some(payload.to_vec()))
            }
            _ => Ok(None),
        }
    }

    /// The generic netlink family id (0 for rtnetlink).
    pub(super) fn family(self) -> u16 {
        match self {
            Protocol::Genl { family } => family,
            Protocol::Route => 0,
        }
    }
}

/// A request queued for sending.
struct Queued {
    seq: u32,
    /// Where its message starts in the queue.
    at: usize,
    /// A write, answered by an acknowledgement only.
    write: bool,
}

/// What a request with one sequence number waits for. (A pipelined chunk,
/// which holds a range of numbers, waits for its error replies and its
/// barrier's acknowledgement on a [`ChunkTx`].)
pub(super) enum Slot {
    /// A do-request: its data messages, then the end, by its deadline
    /// (set when it is sent); its result goes to [`Core::results`].
    Single(Single),
    /// A dump: each entry as it comes, then the end.
    Dump(DumpSlot),
}

/// The reader's side of a dump.
pub(super) struct DumpSlot {
    pub(super) tx: mpsc::UnboundedSender<DumpItem>,
    pub(super) buffered: Arc<AtomicUsize>,
    /// The stream got its end (an error) before the kernel ended the dump:
    /// the rest is read and skipped until the kernel's end.
    pub(super) ended: bool,
    /// One dump at a time per socket: held until the kernel ends this one.
    pub(super) _permit: OwnedSemaphorePermit,
}

/// One message of a dump, as its stream receives it.
pub(super) enum DumpItem {
    /// An entry's generic netlink attributes.
    Entry(Vec<u8>),
    /// The end: `NLMSG_DONE`, or the error that ended it.
    End(Result<(), Failure>),
}

/// The state behind the lock: the transport (socket, sequence numbers,
/// receive buffer), the send buffer, and who waits for which numbers.
pub(super) struct Core {
    pub(super) transport: Transport,
    pub(super) buf: Vec<u8>,
    /// Requests encoded, not sent yet, and the slots they belong to.
    out: Vec<u8>,
    out_seqs: Vec<Queued>,
    /// Barrier sequence number -> the writes sent before it without an
    /// acknowledgement, done when the barrier is answered without an error
    /// reply of their own.
    barriers: FastMap<u32, Vec<u32>>,
    protocol: Protocol,
    /// Sequence number -> the request waiting for it, or its result not
    /// taken yet.
    pub(super) slots: Slots,
    /// First sequence number -> (last, where the replies go): pipelined chunks.
    chunks: BTreeMap<u32, (u32, ChunkTx)>,
    /// Requests sent whose deadline is not set yet: the reader task sets
    /// it (one clock reading for all) for those its first read after the
    /// send did not answer.
    unstamped: Vec<u32>,
    /// No single request waiting has a deadline before this one.
    next_deadline: Option<Instant>,
}

/// The readiness descriptor, borrowed from the transport it belongs to.
pub(super) struct Ready(RawFd);

impl AsRawFd for Ready {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// What a handle and its reader task share.
pub(super) struct Shared {
    // declared first: deregistered before the transport closes the descriptor
    fd: AsyncFd<Ready>,
    core: Mutex<Core>,
    /// Wakes a paused reader task: a stream took entries, or a request came.
    wake: Notify,
    /// One dump at a time per socket (the kernel refuses a second with EBUSY).
    pub(super) dumps: Arc<Semaphore>,
    pub(super) protocol: Protocol,
    /// The bound on every wait, in nanoseconds.
    timeout_ns: AtomicU64,
}

/// A socket with its reader task, shared by a handle's clones and its
/// streams: the reader task stops when the last of them is dropped.
pub(super) struct Conn {
    pub(super) shared: Arc<Shared>,
    reader: JoinHandle<()>,
}

impl Conn {
    /// Hands `transport` (resolved, still blocking) to a new reader task on
    /// the runtime `rt`.
    ///
    /// # Errors
    /// [`Error::Io`] when the descriptor cannot be made non-blocking or
    /// registered.
    pub(super) fn start(
        rt: &tokio::runtime::Handle,
        mut transport: Transport,
        protocol: Protocol,
    ) -> Result<Arc<Conn>> {
        transport.set_nonblocking()?;
        let shared = {
            let _enter = rt.enter();
            Shared::new(transport, protocol)?
        };
        let reader = rt.spawn(read_loop(Arc::clone(&shared)));
        Ok(Arc::new(Conn { shared, reader }))
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Shared {
    /// Shares `transport` (already resolved and non-blocking) with a reader task.
    ///
    /// # Errors
    /// [`Error::Io`] when the descriptor cannot be registered with tokio.
    pub(super) fn new(transport: Transport, protocol: Protocol) -> Result<Arc<Self>> {
        let ready = Ready(transport.readiness_fd());
        // SAFETY: the descriptor is owned by `transport`, which moves into the
        // same `Shared` and is never replaced; `fd` is declared before `core`,
        // so it is deregistered before the transport closes the descriptor.
        let fd = unsafe { AsyncFd::register_with_interest(ready, Interest::READABLE) }
            .map_err(|e| Error::io("registering the netlink socket with tokio", e.into()))?;
        Ok(Arc::new(Shared {
            fd,
            core: Mutex::new(Core {
                transport,
                buf: Vec::with_capacity(512),
                out: Vec::with_capacity(64 * 1024),
                out_seqs: Vec::new(),
                barriers: fasthash::map(8),
                protocol,
                slots: Slots::new(),
                chunks: BTreeMap::new(),
                unstamped: Vec::with_capacity(256),
                next_deadline: None,
            }),
            wake: Notify::new(),
            dumps: Arc::new(Semaphore::new(1)),
            protocol,
            timeout_ns: AtomicU64::new(nanos(crate::transport::DEFAULT_TIMEOUT)),
        }))
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Core> {
        // nothing in Core is left half changed by a panic: slots are
        // inserted and removed whole, the buffer is cleared before each use
        self.core.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lets go of the lock, then wakes the callers whose results it filed
    /// meanwhile (`spare`: an empty vector whose room is reused).
    fn unlock(mut core: MutexGuard<'_, Core>, spare: &mut Vec<Waker>) {
        core.slots.take_wakers(spare);
        drop(core);
        wake_all(spare);
    }

    /// The bound on every wait for a reply.
    pub(super) fn timeout(&self) -> Duration {
        Duration::from_nanos(self.timeout_ns.load(Ordering::Relaxed))
    }

    /// Sets the bound on every wait for a reply.
    pub(super) fn set_timeout(&self, timeout: Duration) {
        self.timeout_ns.store(nanos(timeout), Ordering::Relaxed);
    }

    /// Encodes a request with `encode` (appending to the buffer, given its
    /// sequence number), registers `slot` under that number and queues it
    /// for the reader task to send: one step. Returns the sequence number.
    ///
    /// # Errors
    /// The encoder's error (then nothing is queued or registered).
    ///
    /// A `write` is answered by its acknowledgement alone (no data): when
    /// several go out together, only the last asks for one, as in a
    /// pipelined batch; the kernel answers every failure anyway.
    pub(super) fn submit(
        &self,
        encode: impl FnOnce(&mut Vec<u8>, u32) -> Result<()>,
        slot: Slot,
        write: bool,
    ) -> Result<u32> {
        let mut g = self.lock();
        let core = &mut *g;
        let seq = core.transport.next_seq();
        let start = core.out.len();
        if let Err(e) = encode(&mut core.out, seq) {
            core.out.truncate(start);
            return Err(e);
        }
        core.slots.insert(seq, slot);
        core.out_seqs.push(Queued {
            seq,
            at: start,
            write,
        });
        // the reader task sends the whole queue when it runs: wake it for
        // the first request queued, not for each
        let first = core.out_seqs.len() == 1;
        if core.out.len() >= crate::batch::CHUNK_BYTES {
            core.flush();
        }
        if core.slots.has_wakers() {
            // a failed send filed its requests' errors: wake their callers
            Shared::unlock(g, &mut Vec::new());
        } else {
            drop(g);
        }
        if first {
            self.wake.notify_one();
        }
        Ok(seq)
    }

    /// As [`Shared::submit`] for a pipelined chunk: `encode` reserves its
    /// numbers from the transport and encodes the chunk, or returns `None`
    /// when it has nothing to send.
    ///
    /// # Errors
    /// [`Error::Io`] with the chunk when the send fails (then nothing is registered).
    pub(super) fn submit_range(
        &self,
        encode: impl FnOnce(&mut Transport, &mut Vec<u8>) -> Option<Chunk>,
        tx: ChunkTx,
    ) -> std::result::Result<Option<Chunk>, (Chunk, Error)> {
        let mut g = self.lock();
        let core = &mut *g;
        if core.flush() {
            // a failed send filed its requests' errors: wake their callers
            Shared::unlock(g, &mut Vec::new());
            g = self.lock();
        }
        let core = &mut *g;
        let Some(chunk) = encode(&mut core.transport, &mut core.buf) else {
            return Ok(None);
        };
        core.chunks.insert(chunk.base, (chunk.barrier, tx));
        if let Err(e) = core.transport.send(&core.buf) {
            core.chunks.remove(&chunk.base);
            return Err((chunk, e));
        }
        drop(g);
        self.wake.notify_one();
        Ok(Some(chunk))
    }

    /// Forgets the request registered at `seq` (its caller gave up): its
    /// replies, if any come, are skipped.
    pub(super) fn forget(&self, seq: u32) {
        self.lock().slots.remove(seq);
    }

    /// Forgets the pipelined chunk whose range starts at `base`.
    pub(super) fn forget_chunk(&self, base: u32) {
        self.lock().chunks.remove(&base);
    }

    /// A stream took entries, or was dropped (its dump is then abandoned:
    /// the kernel goes on until `NLMSG_DONE`, which the reader reads and
    /// skips before the next dump may start): a paused reader may go on.
    pub(super) fn took_entries(&self) {
        self.wake.notify_one();
    }
}

impl Core {
    /// Sends the queued requests in one `sendmsg`; true when there were
    /// any. Their deadlines are set later, by [`Core::stamp_deadlines`]
    /// (the kernel answers most requests within the `sendmsg` itself, so
    /// most never need one). If the send fails, none of them reached the
    /// kernel: each of their callers gets the error.
    ///
    /// A netlink `sendmsg` to the kernel never waits for room: the kernel
    /// takes the datagram at once (or refuses it, `EMSGSIZE` above the send
    /// buffer), so the queue is bounded by [`crate::batch::CHUNK_BYTES`]
    /// instead (see [`Shared::submit`]).
    fn flush(&mut self) -> bool {
        if self.out.is_empty() {
            return false;
        }
        let queued = std::mem::take(&mut self.out_seqs);
        let barrier = self.set_barrier(&queued);
        let sent = self.transport.send(&self.out);
        self.out.clear();
        match sent {
            Ok(()) => self.unstamped.extend(queued.iter().map(|q| q.seq)),
            Err(e) => {
                if let Some(b) = barrier {
                    self.barriers.remove(&b);
                }
                for q in &queued {
                    fail_seq(&mut self.slots, q.seq, &e);
                }
            }
        }
        self.out_seqs = queued;
        self.out_seqs.clear();
        true
    }

    /// Sets the deadline, `timeout` from now (one clock reading for all),
    /// of every request sent and still waiting without one; forgets the
    /// earliest deadline when nothing waits any more.
    fn stamp_deadlines(&mut self, timeout: Duration) {
        if !self.slots.singles_open() {
            // every request sent was answered by the read after its send
            self.unstamped.clear();
        }
        let mut at = None;
        for seq in self.unstamped.drain(..) {
            if let Some(Slot::Single(Single {
                deadline: d @ None, ..
            })) = self.slots.open_mut(seq)
            {
                let when = *at.get_or_insert_with(|| Instant::now() + timeout);
                *d = Some(when);
                self.next_deadline = Some(self.next_deadline.map_or(when, |n| n.min(when)));
            }
        }
        if !self.slots.any_open() {
            self.next_deadline = None;
        }
    }

    /// True while a request, dump or pipelined chunk waits for replies.
    fn waiting(&self) -> bool {
        self.slots.any_open() || !self.chunks.is_empty()
    }

    /// Makes the last write of the queue the barrier of the others: they
    /// ask for no acknowledgement (the kernel executes a `sendmsg`'s
    /// requests in order and answers each failure, so the barrier's answer
    /// means every earlier write without an error reply succeeded).
    fn set_barrier(&mut self, queued: &[Queued]) -> Option<u32> {
        let mut writes = queued.iter().filter(|q| q.write);
        let last = writes.next_back()?;
        let implied: Vec<u32> = writes
            .map(|q| {
                let at = q.at + 6;
                let flags = u16::from_ne_bytes([self.out[at], self.out[at + 1]]) & !nla::NLM_F_ACK;
                self.out[at..at + 2].copy_from_slice(&flags.to_ne_bytes());
                q.seq
            })
            .collect();
        if implied.is_empty() {
            return None;
        }
        self.barriers.insert(last.seq, implied);
        Some(last.seq)
    }

    /// Fails the single requests whose deadline passed by `now` with a
    /// timeout, and finds the next deadline.
    fn expire(&mut self, now: Instant, timeout: Duration) {
        self.next_deadline = self.slots.expire(now, || {
            Failure::Local(Error::Timeout {
                context: "waiting for a netlink reply".into(),
                after: timeout,
            })
        });
    }

    /// True when the reader should stop reading: a dump's stream is behind
    /// by [`DUMP_BUFFER`] entries and no other request waits.
    fn should_pause(&self) -> bool {
        if !self.chunks.is_empty() || self.slots.singles_open() {
            return false;
        }
        let mut dumps_full = false;
        for slot in self.slots.dumps() {
            if let Slot::Dump(d) = slot {
                if d.tx.is_closed() {
                    return false; // abandoned: drain it
                }
                dumps_full |= d.buffered.load(Ordering::Acquire) >= DUMP_BUFFER;
            }
        }
        dumps_full
    }

    /// Reads one datagram and delivers its messages. `Ok(false)` when the
    /// socket had nothing.
    ///
    /// # Errors
    /// What the transport reports (`ENOBUFS`, truncation) or a malformed
    /// datagram: then no one can tell whose replies were lost.
    fn read_one(&mut self) -> Result<bool> {
        let Some(part) = self.transport.try_recv()? else {
            return Ok(false);
        };
        let pid = self.transport.pid();
        // the datagram stays in the transport's buffer; the rest of the
        // state is borrowed apart from it
        let Core {
            transport,
            barriers,
            protocol,
            slots,
            chunks,
            ..
        } = self;
        let mut waiting = Waiting {
            barriers,
            protocol: *protocol,
            slots,
            chunks,
        };
        for m in Messages::new(transport.received(part)) {
            let (h, payload) = m?;
            if addressed_to(&h, pid) {
                waiting.deliver(&h, payload);
            }
        }
        Ok(true)
    }

    /// Fails every request waiting: their replies may be among those lost.
    fn fail_all(&mut self, e: &Error) {
        self.barriers.clear();
        self.slots
            .fail_open(|| Failure::Local(copy_error(e)), |slot| end_dump(slot, e));
        for (_, (_, tx)) in std::mem::take(&mut self.chunks) {
            let _ = tx.send(Err(copy_error(e)));
        }
    }
}

/// Who waits for which replies: the part of [`Core`] a datagram is
/// delivered to, borrowed apart from the transport that holds the datagram.
struct Waiting<'a> {
    barriers: &'a mut FastMap<u32, Vec<u32>>,
    protocol: Protocol,
    slots: &'a mut Slots,
    chunks: &'a mut BTreeMap<u32, (u32, ChunkTx)>,
}

impl Waiting<'_> {
    /// The barrier `seq` was answered: the writes it stands for that got
    /// no error reply are done.
    fn barrier_answered(&mut self, seq: u32) {
        for s in self.barriers.remove(&seq).unwrap_or_default() {
            self.slots.finish(s, Ok(Vec::new()));
        }
    }

    /// Hands one message to the request waiting for its sequence number.
    fn deliver(&mut self, h: &MsgHeader, payload: &[u8]) {
        if h.ty == nla::NLMSG_ERROR && !self.barriers.is_empty() {
            self.barrier_answered(h.seq);
        }
        let protocol = self.protocol;
        let Some(slot) = self.slots.open_mut(h.seq) else {
            self.deliver_chunk(h, payload);
            return;
        };
        match slot {
            Slot::Single(s) => {
                if let Some(r) = deliver_single(s, h, payload, protocol) {
                    self.slots.finish(h.seq, r);
                }
            }
            Slot::Dump(d) => {
                if deliver_dump(d, h, payload, protocol) {
                    self.slots.remove(h.seq);
                }
            }
        }
    }

    /// Hands one message to the pipelined chunk whose range holds its
    /// number; a stale reply (nobody waits) is skipped.
    fn deliver_chunk(&mut self, h: &MsgHeader, payload: &[u8]) {
        let Some((first, last, tx)) = self
            .chunks
            .range(..=h.seq)
            .next_back()
            .map(|(&f, (l, tx))| (f, *l, tx))
        else {
            return;
        };
        // the chunk's owner forgets it once the barrier is in; if the owner
        // is gone, nobody needs the rest
        if h.seq <= last && tx.send(Ok((*h, payload.to_vec()))).is_err() {
            self.chunks.remove(&first);
        }
    }
}

/// A duration in nanoseconds, saturated.
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Tells the caller of the request at `seq`, if it still waits, why it failed.
fn fail_seq(slots: &mut Slots, seq: u32, e: &Error) {
    match slots.open_mut(seq) {
        Some(Slot::Single(_)) => slots.finish(seq, Err(Failure::Local(copy_error(e)))),
        Some(Slot::Dump(_)) => {
            if let Some(slot) = slots.remove(seq) {
                end_dump(slot, e);
            }
        }
        None => {}
    }
}

/// Ends a dump's stream with `e`.
fn end_dump(slot: Slot, e: &Error) {
    if let Slot::Dump(d) = slot {
        let _ = d.tx.send(DumpItem::End(Err(Failure::Local(copy_error(e)))));
    }
}

/// Takes one message for a do-request: its result once it ended.
fn deliver_single(
    s: &mut Single,
    h: &MsgHeader,
    payload: &[u8],
    protocol: Protocol,
) -> Option<Outcome> {
    match reply_end(h, payload) {
        Ok(None) => match protocol.data(h, payload) {
            Ok(Some(a)) => {
                s.data.push(a);
                None
            }
            Ok(None) => None,
            Err(e) => Some(Err(e.into())),
        },
        Ok(Some(end)) => Some(end.map(|()| std::mem::take(&mut s.data))),
        Err(f) => Some(Err(f)),
    }
}

/// Hands a dump message to its stream; true when the dump ended.
fn deliver_dump(d: &mut DumpSlot, h: &MsgHeader, payload: &[u8], protocol: Protocol) -> bool {
    let item = match reply_end(h, payload) {
        Ok(None) => match protocol.data(h, payload) {
            Ok(Some(a)) => DumpItem::Entry(a),
            Ok(None) => return false,
            Err(e) => DumpItem::End(Err(e.into())),
        },
        Ok(Some(end)) => DumpItem::End(end),
        Err(f) => DumpItem::End(Err(f)),
    };
    // the kernel's dump ends with NLMSG_DONE (or an error message); an
    // error before that (an rtnetlink dump interrupted by a change,
    // NLM_F_DUMP_INTR, or an entry that does not decode) ends the stream,
    // but the socket's one dump stays taken until the kernel's end, so that
    // the next dump is not refused (EBUSY)
    let kernel_end = h.ty == nla::NLMSG_DONE || h.ty == nla::NLMSG_ERROR;
    let end = matches!(item, DumpItem::End(_));
    if !d.ended && d.tx.send(item).is_ok() && !end {
        d.buffered.fetch_add(1, Ordering::AcqRel);
    }
    d.ended |= end;
    kernel_end
}

/// The same error again, for each request it fails.
fn copy_error(e: &Error) -> Error {
    match e {
        Error::Io { context, source } => Error::Io {
            context: context.clone(),
            source: match source.raw_os_error() {
                Some(errno) => std::io::Error::from_raw_os_error(errno),
                None => std::io::Error::new(source.kind(), source.to_string()),
            },
        },
        Error::Protocol { context, detail } => Error::Protocol {
            context: context.clone(),
            detail: detail.clone(),
        },
        other => Error::protocol("receiving netlink replies", other.to_string()),
    }
}

/// What woke the reader task.
enum Event<'a> {
    /// The socket may have replies.
    Readable(std::io::Result<tokio::io::unix::AsyncFdReadyGuard<'a, Ready>>),
    /// A request was queued, or a stream took entries.
    Woken,
    /// The earliest deadline of the requests waiting passed.
    Deadline,
}

/// The reader task's one timer, armed at the earliest deadline of the
/// requests waiting while any waits, and dropped when none does (an armed
/// timer costs the runtime a clock reading at each of its parks).
#[derive(Default)]
struct Timer {
    sleep: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
    at: Option<Instant>,
}

impl Timer {
    /// Arms the timer at `deadline` (moves it when that changed), or drops it.
    fn arm(&mut self, deadline: Option<Instant>) {
        if deadline == self.at {
            return;
        }
        self.at = deadline;
        match (deadline, self.sleep.as_mut()) {
            (None, _) => self.sleep = None,
            (Some(d), Some(s)) => s.as_mut().reset(d),
            (Some(d), None) => self.sleep = Some(Box::pin(tokio::time::sleep_until(d))),
        }
    }

    /// True when the armed deadline passed (then the timer is dropped).
    fn fired(&mut self, cx: &mut std::task::Context<'_>) -> bool {
        let fired = self
            .sleep
            .as_mut()
            .is_some_and(|s| s.as_mut().poll(cx).is_ready());
        if fired {
            self.sleep = None;
            self.at = None;
        }
        fired
    }
}

/// The reader task: sends what is queued, reads while anyone waits,
/// delivers, fails the requests whose time is up; never blocks a thread.
///
/// The kernel executes a generic netlink or rtnetlink `sendmsg` before the
/// call returns, so the replies to what was just sent are already queued on
/// the socket: the reader reads them at once after each send (and after each
/// wake-up), without waiting for the runtime to report the socket readable,
/// and stops reading as soon as nobody waits. A round of requests in flight
/// thus costs one `sendmsg` and one `recvmmsg`, with no readiness poll and no
/// clock reading. Readiness is awaited only while requests still wait after
/// that (a dump's later parts, a slow or scripted kernel); then one timer
/// serves every request, armed at the earliest deadline of those waiting.
pub(super) async fn read_loop(shared: Arc<Shared>) {
    let mut timer = Timer::default();
    let mut woken = true;
    // the callers to wake, taken from under the lock (its room reused)
    let mut wake: Vec<Waker> = Vec::with_capacity(256);
    loop {
        let sent = {
            let mut core = shared.lock();
            let sent = core.flush();
            Shared::unlock(core, &mut wake);
            sent
        };
        if (sent || woken) && read_queued(&shared, None, &mut wake) {
            // a full burst: let the others run before reading on
            tokio::task::yield_now().await;
            woken = true;
            continue;
        }
        let (paused, waiting) = {
            let mut core = shared.lock();
            core.stamp_deadlines(shared.timeout());
            timer.arm(core.next_deadline);
            (core.should_pause(), core.waiting())
        };
        let event = {
            let mut wake = std::pin::pin!(shared.wake.notified());
            let mut readable = std::pin::pin!(shared.fd.readable());
            std::future::poll_fn(|cx| {
                if timer.fired(cx) {
                    return std::task::Poll::Ready(Event::Deadline);
                }
                if waiting && !paused {
                    if let std::task::Poll::Ready(r) = readable.as_mut().poll(cx) {
                        return std::task::Poll::Ready(Event::Readable(r));
                    }
                }
                wake.as_mut().poll(cx).map(|()| Event::Woken)
            })
            .await
        };
        woken = false;
        match event {
            Event::Woken => woken = true,
            Event::Deadline => {
                let mut core = shared.lock();
                core.expire(Instant::now(), shared.timeout());
                Shared::unlock(core, &mut wake);
            }
            Event::Readable(Ok(guard)) => {
                // the socket may still hold replies after a full burst: let
                // the others run first. Otherwise no yield: the tasks just
                // answered run while this one waits for their next requests
                // (a yield would cost the runtime an extra poll of its
                // driver, a system call, per round of requests)
                if read_queued(&shared, Some(guard), &mut wake) {
                    tokio::task::yield_now().await;
                }
            }
            Event::Readable(Err(e)) => {
                let e = Error::io("waiting for netlink replies", e);
                let mut core = shared.lock();
                core.fail_all(&e);
                Shared::unlock(core, &mut wake);
                return;
            }
        }
    }
}

/// Reads up to [`BURST`] datagrams that are queued while anyone waits for
/// replies; true when it read them all and the socket may hold more. With a
/// readiness `guard`, an empty socket clears the readiness; without one (a
/// read right after a send or a wake-up) the readiness is left as it is.
fn read_queued(
    shared: &Shared,
    mut guard: Option<tokio::io::unix::AsyncFdReadyGuard<'_, Ready>>,
    wake: &mut Vec<Waker>,
) -> bool {
    for _ in 0..BURST {
        let mut core = shared.lock();
        if !core.waiting() || core.should_pause() {
            // replies nobody waits for are read and skipped with the next ones
            return false;
        }
        match core.read_one() {
            Ok(true) => {}
            Ok(false) => {
                if let Some(g) = guard.as_mut() {
                    g.clear_ready();
                }
                return false;
            }
            Err(e) => core.fail_all(&e),
        }
        // the callers this datagram answered, woken in one pass
        Shared::unlock(core, wake);
    }
    true
}
