//! Manage Linux Virtual Server (IPVS) load balancers over netlink.
//!
//! IPVS is the kernel's layer-4 load balancer: a *virtual service* (an
//! address, port and protocol, or a firewall mark) is spread over *real
//! servers* (destinations) by a scheduler, and packets reach them by NAT,
//! tunnelling or direct routing. This crate speaks the kernel's IPVS generic
//! netlink family directly:
//!
//! - [`model`]: typed services, destinations, schedulers, forwarding methods,
//!   flags, timeouts, stats and sync daemons, validated before sending;
//! - [`Ipvs`]: a handle with one method per kernel command, opened in the
//!   current or another network namespace ([`Namespace`]);
//! - [`Operation`], [`batch`]: one write command, applied alone or many in a
//!   pipelined batch with an outcome per operation;
//! - [`table`]: whole tables, the plan from one to another, and converging;
//! - [`ipvsadm`] (also reachable as `rules`): the `ipvsadm -S` / `ipvsadm -R`
//!   rules text, parsed into operations and written (byte for byte as
//!   `ipvsadm -Sn`, or losslessly), and [`Ipvs::restore`];
//! - [`sysctl`]: the IPVS settings (`net.ipv4.vs.*`) of a namespace, typed;
//! - [`director`]: health checks, failure policy with quorum and sorry
//!   server, graceful termination, a reconcile loop with events and metrics;
//! - [`conn`]: the connection table (`/proc/net/ip_vs_conn`) of any namespace;
//! - [`tunnel`]: tunnel and dummy devices, addresses, FOU/GUE ports and
//!   one-call LVS/TUN and LVS/DR real-server set-up over rtnetlink.
//!
//! Errors are one type, [`Error`], that keeps the operation, the object and
//! the kernel's errno, mapped to typed variants.
//!
//! # What is stable
//!
//! The stable API is everything documented here except what this section
//! names: the root items ([`Ipvs`], [`Operation`], [`BatchMode`],
//! [`BatchReport`], [`OpOutcome`], [`Error`], [`Namespace`], [`Rtnl`],
//! [`Fou`] and the [`model`] types re-exported at the root) and the modules
//! [`model`], [`batch`], [`table`], [`ipvsadm`] (and `rules`), [`sysctl`], [`conn`] and
//! [`tunnel`].
//!
//! Not covered by the stability promise:
//! - [`raw`]: the netlink codec itself (attribute constants, encoders and
//!   decoders), for tools that need bytes: captures, benchmarks, fuzzing. It
//!   follows the kernel's wire format and changes with this crate's internals.
//! - the `test-kernel` cargo feature: `lvskit::testing` (a scripted kernel for
//!   host tests, opened with `Ipvs::with_kernel`) and the test hooks
//!   `Ipvs::raw_request`, `Ipvs::next_seq_for_tests` and
//!   `Ipvs::unacknowledged_request_for_tests`. The feature `kernel-tests`
//!   (the tests run against a real kernel) turns it on.
//!
//! # Layers
//!
//! From the bottom: [`model`] and the codec (pure values and bytes); the
//! socket seam (`socket.rs`: a netlink socket reduced to its system calls, a
//! real one or a scripted kernel) and the session over it (`transport.rs`:
//! sequence numbers, reply checks, acknowledgements, dumps, family lookup);
//! [`Operation`] (validation, encoding, error mapping, ipvsadm words);
//! [`batch`] (pipelining and per-operation attribution over a session);
//! [`Ipvs`] (every `impl Ipvs` is under `handle/`), which drives them all.
//! No module below the handle imports it.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod aio;
pub mod batch;
// The codec's own path, kept public but hidden so code written against it
// keeps compiling; `raw` is the documented way in.
#[doc(hidden)]
pub mod codec;
pub mod conn;
pub mod director;
mod error;
mod fasthash;
mod handle;
pub mod ipvsadm;
pub mod model;
mod netns;
mod op;
mod procsys;
mod socket;
pub mod sysctl;
pub mod table;
#[cfg(feature = "test-kernel")]
pub mod testing;
mod transport;
pub mod tunnel;

/// The raw netlink codec: lower level, and not covered by the stability promise.
///
/// The pure encoding of the model to IPVS generic netlink attributes and back
/// ([`raw::ipvs`]), the netlink message and attribute framing under it
/// ([`raw::nla`]) and the rtnetlink codec of the tunnel module
/// ([`raw::rtnl`]). Constants follow the kernel's `include/uapi/linux/ip_vs.h`
/// and `if_link.h`; decoders skip attributes they do not know. Use it to
/// capture or replay bytes, to benchmark or to fuzz; its items may change in
/// any release, with the crate's internals. Everything a program needs to
/// manage IPVS is in the typed API ([`Ipvs`], [`Operation`], [`model`]).
pub mod raw {
    pub use crate::codec::ipvs;
    pub use crate::codec::nla;
    pub use crate::tunnel::codec as rtnl;
}

pub use batch::{BatchMode, BatchReport, OpOutcome, Operation};
pub use error::{Errno, Error, ErrorKind, Result};
pub use handle::Ipvs;
/// The former name of [`ipvsadm`], kept so that `lvskit::rules::...` paths still work.
pub use ipvsadm as rules;
pub use model::*;
pub use netns::Namespace;
pub use tunnel::{Fou, Rtnl};
