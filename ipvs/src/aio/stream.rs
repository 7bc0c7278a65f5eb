//! [`Dump`]: a netlink listing (IPVS, links, addresses, FOU ports) as a
//! [`Stream`] of entries, read as it is consumed.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::sync::mpsc;
use tokio::time::Sleep;

use super::demux::{Conn, DumpItem, DUMP_BUFFER};
use super::request::{timed_out, Started};
use crate::error::{Error, Result};
use crate::transport::Failure;

/// Decodes one entry's attributes; `None` to skip it (not an entry, or
/// one the kernel repeated).
pub(super) type Decode<T> = Box<dyn FnMut(&[u8]) -> Result<Option<T>> + Send>;

/// Turns what ended a listing into the typed error of its handle (naming
/// the listing).
pub(super) type ErrorMap = Box<dyn Fn(Failure) -> Error + Send>;

/// A listing in progress: a [`Stream`] of decoded entries, then its end.
///
/// Entries come as the kernel sends them; the socket stays free for other
/// requests meanwhile. Back-pressure: while a dump's consumer is more than a
/// few hundred entries behind and no other request waits, the handle stops
/// reading the socket, and the kernel makes the next part of a dump only
/// when the socket is read. While other requests wait, their replies are
/// read, and the dump's entries behind them are buffered (at most the
/// listing itself).
///
/// Only one dump runs at a time on a handle's socket (the kernel allows no
/// more): a second waits until this one ends or is dropped. Dropping a
/// `Dump` early is safe: the rest of the kernel's listing is read and
/// discarded. Each wait for the next entry is bounded by the handle's
/// timeout; an error ends the stream. As with the blocking handle, entries
/// the kernel repeats are dropped, and a listing taken while others write
/// is not a snapshot.
pub struct Dump<T> {
    // declared first: dropped (closing the channel) before the handle
    rx: mpsc::UnboundedReceiver<DumpItem>,
    conn: Arc<Conn>,
    seq: u32,
    buffered: Arc<AtomicUsize>,
    decode: Decode<T>,
    sleep: Pin<Box<Sleep>>,
    error: ErrorMap,
    done: bool,
}

impl<T> std::fmt::Debug for Dump<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dump")
            .field("seq", &self.seq)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<T> Dump<T> {
    /// A started dump (see `Shared::start_dump`) on `conn`.
    pub(super) fn new(
        conn: Arc<Conn>,
        started: Started,
        decode: Decode<T>,
        error: ErrorMap,
    ) -> Self {
        let (seq, rx, buffered) = started;
        let sleep = Box::pin(tokio::time::sleep(conn.shared.timeout()));
        Dump {
            rx,
            conn,
            seq,
            buffered,
            decode,
            sleep,
            error,
            done: false,
        }
    }

    /// The next entry, `None` at the end (without `futures`' `StreamExt`).
    pub async fn next_entry(&mut self) -> Option<Result<T>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Every entry, or the first error.
    ///
    /// # Errors
    /// The listing's error: the kernel's, a reply that cannot be decoded,
    /// [`Error::Timeout`].
    pub async fn collect_all(mut self) -> Result<Vec<T>> {
        let mut out = Vec::new();
        while let Some(e) = self.next_entry().await {
            out.push(e?);
        }
        Ok(out)
    }

    fn error(&self, f: Failure) -> Error {
        (self.error)(f)
    }

    /// Handles one item from the reader; `None` to go on reading.
    fn item(&mut self, item: DumpItem) -> Option<Option<Result<T>>> {
        match item {
            DumpItem::Entry(attrs) => {
                if self.buffered.fetch_sub(1, Ordering::AcqRel) == DUMP_BUFFER {
                    self.conn.shared.took_entries();
                }
                match (self.decode)(&attrs) {
                    Ok(Some(v)) => Some(Some(Ok(v))),
                    Ok(None) => None,
                    Err(e) => {
                        self.done = true;
                        Some(Some(Err(e)))
                    }
                }
            }
            DumpItem::End(r) => {
                self.done = true;
                Some(r.err().map(|f| Err(self.error(f))))
            }
        }
    }
}

impl<T> Stream for Dump<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        let this = &mut *self;
        while !this.done {
            match this.rx.poll_recv(cx) {
                Poll::Ready(Some(item)) => {
                    let deadline = tokio::time::Instant::now() + this.conn.shared.timeout();
                    this.sleep.as_mut().reset(deadline);
                    if let Some(out) = this.item(item) {
                        return Poll::Ready(out);
                    }
                }
                Poll::Ready(None) => {
                    this.done = true;
                    let f = super::request::reader_gone().into();
                    return Poll::Ready(Some(Err(this.error(f))));
                }
                Poll::Pending => {
                    if this.sleep.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    // nothing in time: give the dump up (and the socket's
                    // one dump with it); whatever comes later is skipped
                    this.done = true;
                    this.conn.shared.forget(this.seq);
                    let f = timed_out(&this.conn.shared).into();
                    return Poll::Ready(Some(Err(this.error(f))));
                }
            }
        }
        Poll::Ready(None)
    }
}

impl<T> Drop for Dump<T> {
    fn drop(&mut self) {
        if !self.done {
            // the channel closes with `rx`: the reader drains the rest
            self.rx.close();
            self.conn.shared.took_entries();
        }
    }
}
