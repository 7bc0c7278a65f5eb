//! Batches: many operations in few system calls, with a result per operation.
//!
//! In [`BatchMode::Continue`] the operations are pipelined: up to
//! [`CHUNK_BYTES`] of requests go out in one `sendmsg`, none asking for an
//! acknowledgement except the last, which is the barrier. The kernel executes
//! the requests in order and answers every failure with the failing request's
//! sequence number, so when the barrier's acknowledgement arrives every
//! request of the chunk without an error reply succeeded. Each error is
//! attributed to exactly the request that caused it. If a `sendmsg` fails,
//! none of its requests reached the kernel: the first operation of that chunk
//! carries the error ([`OpOutcome::Failed`]); the rest of the chunk and every
//! later operation are [`OpOutcome::NotAttempted`]. If the replies of a
//! chunk cannot be read, its operations not reported failed are
//! [`OpOutcome::Unknown`] and every later operation is not attempted.
//!
//! A chunk whose last request may go unanswered (stopping a sync daemon,
//! see `Operation::may_go_unanswered`) gets one more request, a sentinel
//! (`IPVS_CMD_GET_INFO`), as its barrier: the kernel handles the requests
//! of a send in order, so the sentinel's answer proves the request before it
//! was handled, answered or not. A single such operation goes the same way.
//!
//! In [`BatchMode::StopOnError`] the operations are sent one at a time, each
//! acknowledged, because the kernel executes every request of a `sendmsg`
//! whatever happened to the previous one: stopping means not sending.

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::codec::ipvs::{self as c, cmd};
use crate::codec::nla;
use crate::error::{Error, Result};
use crate::transport::{Failure, Transport};

pub use crate::op::Operation;

/// Requests per `sendmsg` are bounded by this many bytes.
pub const CHUNK_BYTES: usize = 256 * 1024;

/// The buffer room reserved per operation of a chunk before encoding it.
const EST_REQUEST_BYTES: usize = 128;

/// What to do after an operation fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum BatchMode {
    /// Send everything (pipelined); each operation gets its own result.
    #[default]
    Continue,
    /// Stop at the first failure; later operations are not attempted.
    StopOnError,
}

/// The outcome of one operation of a batch.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpOutcome {
    /// The kernel applied it.
    Done,
    /// It failed: refused before sending, or by the kernel.
    Failed(Error),
    /// It was not sent.
    NotAttempted,
    /// It was sent, but the exchange broke before its outcome was known.
    Unknown(Error),
}

impl OpOutcome {
    /// True for [`OpOutcome::Done`].
    pub fn is_done(&self) -> bool {
        matches!(self, OpOutcome::Done)
    }

    /// The error, for failed and unknown outcomes.
    pub fn error(&self) -> Option<&Error> {
        match self {
            OpOutcome::Failed(e) | OpOutcome::Unknown(e) => Some(e),
            _ => None,
        }
    }
}

/// A result per operation, in the order the operations were given.
#[derive(Debug)]
pub struct BatchReport {
    /// One outcome per operation.
    pub outcomes: Vec<OpOutcome>,
}

impl BatchReport {
    /// The outcome of a report of one operation, as a result.
    pub(crate) fn into_single(self) -> Result<()> {
        match self.outcomes.into_iter().next() {
            Some(OpOutcome::Done) => Ok(()),
            Some(OpOutcome::Failed(e) | OpOutcome::Unknown(e)) => Err(e),
            Some(OpOutcome::NotAttempted) | None => {
                Err(Error::protocol("applying an operation", "it was not sent"))
            }
        }
    }

    /// True when every operation was applied.
    pub fn is_ok(&self) -> bool {
        self.outcomes.iter().all(OpOutcome::is_done)
    }

    /// How many operations were applied.
    pub fn done(&self) -> usize {
        self.outcomes.iter().filter(|o| o.is_done()).count()
    }

    /// The operations that did not succeed: (index, outcome).
    pub fn failures(&self) -> impl Iterator<Item = (usize, &OpOutcome)> {
        self.outcomes
            .iter()
            .enumerate()
            .filter(|(_, o)| !o.is_done())
    }

    /// The first error, if any operation did not succeed.
    pub fn first_error(&self) -> Option<&Error> {
        self.outcomes.iter().find_map(OpOutcome::error)
    }
}

pub(crate) fn single(
    t: &mut Transport,
    buf: &mut Vec<u8>,
    family: u16,
    op: &Operation,
) -> Result<()> {
    if op.may_go_unanswered() {
        return sentinelled(t, buf, family, op);
    }
    buf.clear();
    let seq = t.next_seq();
    op.encode(buf, family, nla::NLM_F_ACK, seq)?;
    t.exchange(buf, seq, false, |_, _| Ok(()))
        .map_err(|f| op_error(op, f))
}

/// The typed error of an operation's failed exchange (shared with the async handle).
pub(crate) fn op_error(op: &Operation, f: Failure) -> Error {
    f.into_error(
        || op.context(),
        |context, errno| op.kernel_error_for(context, errno),
    )
}

pub(crate) fn sequential(
    t: &mut Transport,
    buf: &mut Vec<u8>,
    family: u16,
    ops: &[Operation],
) -> BatchReport {
    let mut outcomes = Vec::with_capacity(ops.len());
    let mut stopped = false;
    for op in ops {
        if stopped {
            outcomes.push(OpOutcome::NotAttempted);
            continue;
        }
        let outcome = outcome_of(op.validate().and_then(|()| single(t, buf, family, op)));
        stopped = !outcome.is_done();
        outcomes.push(outcome);
    }
    BatchReport { outcomes }
}

/// One acknowledged operation's outcome: a broken exchange leaves it unknown
/// (shared with the async handle).
pub(crate) fn outcome_of(r: Result<()>) -> OpOutcome {
    match r {
        Ok(()) => OpOutcome::Done,
        Err(e @ (Error::Timeout { .. } | Error::Io { .. } | Error::Protocol { .. })) => {
            OpOutcome::Unknown(e)
        }
        Err(e) => OpOutcome::Failed(e),
    }
}

pub(crate) fn pipelined(
    t: &mut Transport,
    buf: &mut Vec<u8>,
    family: u16,
    ops: &[Operation],
) -> BatchReport {
    // One outcome per operation, pushed in order as each is handled: an
    // operation that is sent is recorded as done at once, and a reply that
    // reports its failure overwrites that (a request that asks for no
    // acknowledgement gets a reply only when it fails).
    let mut outcomes: Vec<OpOutcome> = Vec::with_capacity(ops.len());
    while outcomes.len() < ops.len() {
        if let Err(f) = next_chunk(t, buf, family, ops, &mut outcomes) {
            f.record(ops, &mut outcomes);
            break;
        }
    }
    finish(outcomes, ops.len())
}

/// Sends the next chunk of `ops` and reads its replies into `outcomes`
/// (nothing is sent when none of it could be encoded).
fn next_chunk(
    t: &mut Transport,
    buf: &mut Vec<u8>,
    family: u16,
    ops: &[Operation],
    outcomes: &mut Vec<OpOutcome>,
) -> Result<(), ChunkFailure> {
    let base = t.reserve_seqs(chunk_seqs(ops, outcomes));
    let Some(chunk) = encode_chunk(buf, family, ops, outcomes, base) else {
        return Ok(());
    };
    if let Err(e) = t.send(buf) {
        return Err(ChunkFailure::NotSent(chunk, e));
    }
    collect(t, &chunk, ops, outcomes).map_err(|e| ChunkFailure::Lost(chunk, e))
}

/// An operation that may go unanswered, with the sentinel after it in the
/// same send: done once the sentinel is answered and the operation got no
/// error reply. A broken exchange is the operation's typed error, as for
/// any single operation (a timeout stays a timeout).
fn sentinelled(t: &mut Transport, buf: &mut Vec<u8>, family: u16, op: &Operation) -> Result<()> {
    let ops = std::slice::from_ref(op);
    let mut outcomes = Vec::with_capacity(1);
    next_chunk(t, buf, family, ops, &mut outcomes).map_err(|f| f.into_error(op))?;
    finish(outcomes, 1).into_single()
}

/// Why a chunk of a pipelined batch did not finish (shared with the async handle).
pub(crate) enum ChunkFailure {
    /// The send failed: nothing of it reached the kernel.
    NotSent(Chunk, Error),
    /// Its replies could not be read.
    Lost(Chunk, Error),
}

impl ChunkFailure {
    /// Records the failure on the chunk's operations (see [`Chunk::not_sent`], [`Chunk::lost`]).
    pub(crate) fn record(self, ops: &[Operation], outcomes: &mut [OpOutcome]) {
        match self {
            ChunkFailure::NotSent(chunk, e) => chunk.not_sent(e, outcomes),
            ChunkFailure::Lost(chunk, e) => chunk.lost(&e, ops, outcomes),
        }
    }

    /// The typed error of a one-operation chunk, as a single exchange's.
    pub(crate) fn into_error(self, op: &Operation) -> Error {
        let (ChunkFailure::NotSent(_, e) | ChunkFailure::Lost(_, e)) = self;
        op_error(op, Failure::Local(e))
    }
}

/// The report once the chunks are done: after a broken exchange, the rest
/// is not attempted.
pub(crate) fn finish(mut outcomes: Vec<OpOutcome>, len: usize) -> BatchReport {
    outcomes.resize_with(len, || OpOutcome::NotAttempted);
    BatchReport { outcomes }
}

/// How many sequence numbers to reserve for the next chunk (generously;
/// unused numbers are simply skipped).
pub(crate) fn chunk_seqs(ops: &[Operation], outcomes: &[OpOutcome]) -> u32 {
    // one more for a sentinel
    (ops.len() - outcomes.len()).min(u32::MAX as usize / 2) as u32 + 1
}

/// One chunk of a pipelined batch as sent: the operations it carries, by
/// sequence offset from `base`, and the barrier's sequence number.
pub(crate) struct Chunk {
    pub(crate) base: u32,
    pub(crate) barrier: u32,
    sent: Vec<usize>,
    /// The barrier is a sentinel request after the operations.
    sentinel: bool,
}

/// Encodes the next chunk of `ops` (from `outcomes.len()`) into `buf`,
/// pushing an outcome for each operation taken: done when encoded (a reply
/// may overwrite it), failed when refused before sending. The last request
/// asks for an acknowledgement: the barrier (a sentinel after an operation
/// that may go unanswered). `None` when no operation of the chunk could be
/// encoded.
pub(crate) fn encode_chunk(
    buf: &mut Vec<u8>,
    family: u16,
    ops: &[Operation],
    outcomes: &mut Vec<OpOutcome>,
    base: u32,
) -> Option<Chunk> {
    buf.clear();
    // room for the chunk at once: growing by doubling copies the buffer and
    // touches twice its pages (a request is 60 to 160 bytes)
    let left = ops.len() - outcomes.len();
    buf.reserve(
        left.saturating_mul(EST_REQUEST_BYTES)
            .min(CHUNK_BYTES + 4096),
    );
    let mut sent = Vec::with_capacity(left.min(CHUNK_BYTES / 32));
    let mut last_start = 0;
    while outcomes.len() < ops.len() && buf.len() < CHUNK_BYTES {
        let op = &ops[outcomes.len()];
        let start = buf.len();
        let seq = base.wrapping_add(sent.len() as u32);
        match op.validate().and_then(|()| op.encode(buf, family, 0, seq)) {
            Ok(()) => {
                last_start = start;
                sent.push(outcomes.len());
                outcomes.push(OpOutcome::Done);
            }
            Err(e) => {
                buf.truncate(start);
                outcomes.push(OpOutcome::Failed(e));
            }
        }
    }
    let last = sent.len().checked_sub(1)?;
    if ops[sent[last]].may_go_unanswered() {
        let seq = base.wrapping_add(sent.len() as u32);
        // an empty request cannot outgrow the buffer: its encoding cannot fail
        c::request(buf, family, cmd::GET_INFO, nla::NLM_F_ACK, seq, |_| Ok(())).ok()?;
        return Some(Chunk {
            base,
            barrier: seq,
            sent,
            sentinel: true,
        });
    }
    let flags_at = last_start + 6;
    let flags = u16::from_ne_bytes([buf[flags_at], buf[flags_at + 1]]) | nla::NLM_F_ACK;
    buf[flags_at..flags_at + 2].copy_from_slice(&flags.to_ne_bytes());
    Some(Chunk {
        base,
        barrier: base.wrapping_add(last as u32),
        sent,
        sentinel: false,
    })
}

impl Chunk {
    /// The send failed: nothing of this chunk reached the kernel (a netlink
    /// datagram is taken whole or not at all): its first operation carries
    /// why, the others, and everything after, were not attempted.
    pub(crate) fn not_sent(&self, e: Error, outcomes: &mut [OpOutcome]) {
        for &k in &self.sent {
            outcomes[k] = OpOutcome::NotAttempted;
        }
        outcomes[self.sent[0]] = OpOutcome::Failed(e);
    }

    /// The replies were not read: what was not reported failed is unknown.
    pub(crate) fn lost(&self, e: &Error, ops: &[Operation], outcomes: &mut [OpOutcome]) {
        for &k in &self.sent {
            if outcomes[k].is_done() {
                outcomes[k] = OpOutcome::Unknown(Error::protocol(
                    ops[k].context(),
                    format!("sent, but the batch's replies were lost: {e}"),
                ));
            }
        }
    }

    /// Reads one reply message: an error reply to one of this chunk's
    /// requests is recorded on its operation. True when it is the barrier's
    /// acknowledgement (or error): the chunk is finished.
    ///
    /// # Errors
    /// [`Error::Protocol`] for a malformed error reply.
    pub(crate) fn attribute(
        &self,
        h: &nla::MsgHeader,
        payload: &[u8],
        pid: u32,
        ops: &[Operation],
        outcomes: &mut [OpOutcome],
    ) -> Result<bool> {
        if h.ty != nla::NLMSG_ERROR || (h.pid != pid && h.pid != 0) {
            return Ok(false);
        }
        if self.sentinel && h.seq == self.barrier {
            return Ok(true);
        }
        let off = h.seq.wrapping_sub(self.base) as usize;
        let Some(&k) = self.sent.get(off) else {
            return Ok(false); // not ours: a stale reply
        };
        let code = nla::get_u32("error code", payload)? as i32;
        if code != 0 {
            outcomes[k] = OpOutcome::Failed(ops[k].kernel_error(code.saturating_neg()));
        }
        Ok(h.seq == self.barrier)
    }
}

/// Reads replies until the barrier's acknowledgement; records each error on its operation.
fn collect(
    t: &mut Transport,
    chunk: &Chunk,
    ops: &[Operation],
    outcomes: &mut [OpOutcome],
) -> Result<()> {
    let pid = t.pid();
    loop {
        let part = t.recv()?;
        let mut finished = false;
        for m in nla::Messages::new(t.received(part)) {
            let (h, payload) = m?;
            finished |= chunk.attribute(&h, payload, pid, ops, outcomes)?;
        }
        if finished {
            return Ok(());
        }
    }
}
