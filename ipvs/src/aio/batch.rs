//! Operations on the async handle: [`Ipvs::apply`] and [`Ipvs::execute`],
//! with the blocking handle's encoding, chunks and error attribution.

use tokio::sync::mpsc;

use super::handle::Ipvs;
use super::request::{reader_gone, timed_out};
use crate::batch::{
    chunk_seqs, encode_chunk, finish, op_error, outcome_of, BatchMode, BatchReport, Chunk,
    ChunkFailure, OpOutcome,
};
use crate::codec::nla::{self, MsgHeader};
use crate::error::Result;
use crate::op::Operation;

impl Ipvs {
    /// Applies one operation, acknowledged.
    ///
    /// # Errors
    /// The operation's typed error, as [`crate::Ipvs::apply`].
    pub async fn apply(&self, op: &Operation) -> Result<()> {
        op.validate()?;
        if op.may_go_unanswered() {
            // with a sentinel after it, as the blocking handle does (crate::batch)
            let ops = std::slice::from_ref(op);
            let mut outcomes = Vec::with_capacity(1);
            self.next_chunk(ops, &mut outcomes)
                .await
                .map_err(|f| f.into_error(op))?;
            return finish(outcomes, 1).into_single();
        }
        let family = self.family_id();
        self.shared()
            .exchange(|b, seq| op.encode(b, family, nla::NLM_F_ACK, seq), true)
            .await
            .map(drop)
            .map_err(|f| op_error(op, f))
    }

    /// Applies many operations and reports each one's outcome, as
    /// [`crate::Ipvs::execute`]: [`BatchMode::Continue`] pipelines them in
    /// chunks (one send each, one acknowledgement per chunk);
    /// [`BatchMode::StopOnError`] sends one at a time. Other requests on the
    /// handle go on meanwhile.
    pub async fn execute(&self, ops: &[Operation], mode: BatchMode) -> BatchReport {
        match mode {
            BatchMode::StopOnError => self.sequential(ops).await,
            BatchMode::Continue => self.pipelined(ops).await,
        }
    }

    async fn sequential(&self, ops: &[Operation]) -> BatchReport {
        let mut outcomes = Vec::with_capacity(ops.len());
        for op in ops {
            let outcome = outcome_of(self.apply(op).await);
            let stop = !outcome.is_done();
            outcomes.push(outcome);
            if stop {
                break;
            }
        }
        finish(outcomes, ops.len())
    }

    async fn pipelined(&self, ops: &[Operation]) -> BatchReport {
        let mut outcomes: Vec<OpOutcome> = Vec::with_capacity(ops.len());
        while outcomes.len() < ops.len() {
            if let Err(f) = self.next_chunk(ops, &mut outcomes).await {
                f.record(ops, &mut outcomes);
                break;
            }
        }
        finish(outcomes, ops.len())
    }

    /// Sends the next chunk of `ops` and reads its replies into `outcomes`,
    /// as the blocking handle's (nothing is sent when none of it could be encoded).
    async fn next_chunk(
        &self,
        ops: &[Operation],
        outcomes: &mut Vec<OpOutcome>,
    ) -> std::result::Result<(), ChunkFailure> {
        let family = self.family_id();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let sent = self.shared().submit_range(
            |t, buf| {
                let base = t.reserve_seqs(chunk_seqs(ops, outcomes));
                encode_chunk(buf, family, ops, outcomes, base)
            },
            tx,
        );
        let chunk = match sent {
            Ok(Some(chunk)) => chunk,
            Ok(None) => return Ok(()),
            Err((chunk, e)) => return Err(ChunkFailure::NotSent(chunk, e)),
        };
        let forget = ForgetChunk(self, chunk.base);
        let r = self.collect(&chunk, &mut rx, ops, outcomes).await;
        drop(forget);
        r.map_err(|e| ChunkFailure::Lost(chunk, e))
    }

    /// Reads a chunk's replies until the barrier's acknowledgement.
    async fn collect(
        &self,
        chunk: &Chunk,
        rx: &mut mpsc::UnboundedReceiver<Result<(MsgHeader, Vec<u8>)>>,
        ops: &[Operation],
        outcomes: &mut [OpOutcome],
    ) -> Result<()> {
        let pid = self.port_id();
        loop {
            let timeout = self.shared().timeout();
            let (h, payload) = match tokio::time::timeout(timeout, rx.recv()).await {
                Ok(Some(m)) => m?,
                Ok(None) => return Err(reader_gone()),
                Err(_) => return Err(timed_out(self.shared())),
            };
            if chunk.attribute(&h, &payload, pid, ops, outcomes)? {
                return Ok(());
            }
        }
    }
}

/// Forgets a chunk's range once it is finished, or when its future is dropped.
struct ForgetChunk<'a>(&'a Ipvs, u32);

impl Drop for ForgetChunk<'_> {
    fn drop(&mut self) {
        self.0.shared().forget_chunk(self.1);
    }
}
