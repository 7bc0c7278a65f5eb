//! One request on the demultiplexer: sent, waited for until its deadline
//! (the reader task fails it then), forgotten when its caller gives up.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::demux::{DumpItem, DumpSlot, Shared, Slot};
use super::reply::{Reply, Single};
use crate::error::{Error, Result};
use crate::transport::Failure;

/// The error of a wait that got nothing in time.
pub(super) fn timed_out(shared: &Shared) -> Error {
    Error::Timeout {
        context: "waiting for a netlink reply".into(),
        after: shared.timeout(),
    }
}

/// The error when the reader task is gone (the runtime shut down).
pub(super) fn reader_gone() -> Error {
    Error::protocol(
        "waiting for a netlink reply",
        "the handle's reader task stopped (its runtime shut down)",
    )
}

impl Shared {
    /// Sends one acknowledged request encoded by `encode` (given the buffer
    /// and its sequence number) and returns the attributes of its data
    /// messages once the acknowledgement came.
    ///
    /// A `write` is answered by its acknowledgement alone (see `Shared::submit`).
    pub(super) async fn exchange(
        &self,
        encode: impl FnOnce(&mut Vec<u8>, u32) -> Result<()>,
        write: bool,
    ) -> Result<Vec<Vec<u8>>, Failure> {
        // no channel and no timer per request: the slot keeps the caller's
        // waker, the reader task files the result and keeps one timer for
        // all (setting the deadline once the request is sent)
        let waker = std::future::poll_fn(|cx| std::task::Poll::Ready(cx.waker().clone())).await;
        let seq = self.submit(encode, Slot::Single(Single::new(waker)), write)?;
        Reply {
            shared: self,
            seq,
            fresh: true,
            armed: true,
        }
        .await
    }

    /// Starts a dump encoded by `encode` (after any dump before it on this
    /// socket ended): returns its sequence number, its messages' channel
    /// and its count of buffered entries.
    pub(super) async fn start_dump(
        self: &Arc<Self>,
        encode: impl FnOnce(&mut Vec<u8>, u32) -> Result<()>,
    ) -> Result<Started, Failure> {
        let permit =
            match tokio::time::timeout(self.timeout(), Arc::clone(&self.dumps).acquire_owned())
                .await
            {
                Ok(Ok(p)) => p,
                Ok(Err(_)) => return Err(reader_gone().into()),
                Err(_) => return Err(timed_out(self).into()),
            };
        let (tx, rx) = mpsc::unbounded_channel();
        let buffered = Arc::new(AtomicUsize::new(0));
        let slot = Slot::Dump(DumpSlot {
            tx,
            buffered: Arc::clone(&buffered),
            ended: false,
            _permit: permit,
        });
        let seq = self.submit(encode, slot, false)?;
        Ok((seq, rx, buffered))
    }
}

/// A started dump: its sequence number, its messages' channel, its count of
/// buffered entries.
pub(super) type Started = (u32, mpsc::UnboundedReceiver<DumpItem>, Arc<AtomicUsize>);
