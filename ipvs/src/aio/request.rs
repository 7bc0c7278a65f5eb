//! One request on the demultiplexer: sent, waited for with the handle's
//! timeout, forgotten when its caller gives up.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::demux::{DumpItem, DumpSlot, Shared, Slot};
use crate::codec::ipvs as c;
use crate::codec::nla;
use crate::error::{Error, Result};
use crate::transport::Failure;

/// Forgets a request when its future is dropped before the answer came:
/// whatever the kernel still sends for it is skipped.
struct Forget<'a> {
    shared: &'a Shared,
    seq: u32,
    armed: bool,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.shared.forget(self.seq);
        }
    }
}

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
        let (tx, rx) = oneshot::channel();
        let slot = Slot::Single {
            data: Vec::new(),
            tx: Some(tx),
        };
        let seq = self.submit(encode, slot, write)?;
        let mut forget = Forget {
            shared: self,
            seq,
            armed: true,
        };
        let r = match tokio::time::timeout(self.timeout(), rx).await {
            Ok(Ok(r)) => {
                forget.armed = false; // the reader removed it
                r
            }
            Ok(Err(_)) => Err(reader_gone().into()),
            Err(_) => Err(timed_out(self).into()),
        };
        drop(forget);
        r
    }

    /// One IPVS command, acknowledged: the attributes of its replies.
    pub(super) async fn command(
        &self,
        command: u8,
        attrs: impl FnOnce(&mut Vec<u8>) -> Result<()>,
    ) -> Result<Vec<Vec<u8>>, Failure> {
        let family = self.family;
        self.exchange(
            |b, seq| c::request(b, family, command, nla::NLM_F_ACK, seq, attrs),
            false,
        )
        .await
    }

    /// Starts a dump of `command` (after any dump before it on this socket
    /// ended): returns its sequence number, its messages' channel and its
    /// count of buffered entries.
    pub(super) async fn start_dump(
        self: &Arc<Self>,
        command: u8,
        attrs: impl FnOnce(&mut Vec<u8>) -> Result<()>,
    ) -> Result<(u32, mpsc::UnboundedReceiver<DumpItem>, Arc<AtomicUsize>), Failure> {
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
            _permit: permit,
        });
        let family = self.family;
        let seq = self.submit(
            |b, seq| c::request(b, family, command, nla::NLM_F_DUMP, seq, attrs),
            slot,
            false,
        )?;
        Ok((seq, rx, buffered))
    }
}
