//! The async IPVS, rtnetlink and FOU handles, for tokio (cargo feature `tokio`).
//!
//! [`Ipvs`] has every method of the blocking [`crate::Ipvs`], awaited;
//! [`Rtnl`] and [`Fou`] those of [`crate::tunnel::Rtnl`] and
//! [`crate::tunnel::Fou`]. Each keeps many requests in flight on one
//! socket: a control plane's tasks
//! (health checks, drains, converging) share one handle without a thread
//! per call and without `spawn_blocking`.
//!
//! # Design
//!
//! - One netlink socket per handle, non-blocking, registered with tokio
//!   (`AsyncFd`); one reader task per handle. A request is encoded and
//!   registered under its sequence number in one step and queued; the reader
//!   task sends everything queued in one `sendmsg` and hands each reply to the
//!   request it answers. Writes sent together ask for one acknowledgement, the
//!   last one's, as a pipelined batch does: the kernel executes a `sendmsg`'s
//!   requests in order and answers every failure, so the others are done when
//!   it is answered. The kernel answers within the `sendmsg`, so the reader
//!   reads the replies right after sending, without waiting for the runtime
//!   to report the socket readable: many single calls in flight cost one
//!   `sendmsg` and one `recvmmsg` per round, as a pipelined batch does.
//! - Replies to requests nobody waits for any more (a dropped future, a
//!   timeout) are skipped, so cancelling never puts the socket out of step. A
//!   request once queued is sent even if its future is dropped: dropping a
//!   future abandons the answer, not the change.
//! - The same code as the blocking handle underneath: the socket seam and
//!   its checks (sender port 0, sequence numbers, truncation, overflow as
//!   `ENOBUFS`, `NLM_F_DUMP_INTR`), [`crate::Operation`]'s validation and
//!   encoding, the pipelined chunks of [`crate::batch`], the error mapping.
//!   Errors are the same [`crate::Error`] values.
//! - Listings are [`Dump`] streams. The kernel runs one dump at a time per
//!   socket, so listings on one handle take turns (requests do not wait for
//!   them); a slow consumer holds the socket's reading back only while
//!   nothing else waits (see [`Dump`]).
//! - When replies are lost (`ENOBUFS`) or a datagram is truncated, no one
//!   can tell whose they were: every request waiting at that moment fails
//!   with that error.
//! - The tunnel and FOU handles have async twins on the same demultiplexer:
//!   [`Rtnl`] (links, tunnels, addresses) and [`Fou`] (FOU/GUE ports).

mod batch;
mod demux;
mod fou;
mod handle;
mod reply;
mod request;
mod rtnl;
mod session;
mod slots;
mod stream;
mod table;

pub use fou::Fou;
pub use handle::Ipvs;
pub use rtnl::Rtnl;
pub use stream::Dump;
