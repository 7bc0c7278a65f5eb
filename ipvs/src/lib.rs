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
//! - [`codec`]: the pure encoding of those types to netlink attributes and back;
//! - [`Ipvs`]: a handle with one method per kernel command, opened in the
//!   current or another network namespace ([`Namespace`]);
//! - [`ipvsadm`] (also reachable as `rules`): the `ipvsadm -S` / `ipvsadm -R`
//!   rules text, parsed into operations and written (byte for byte as
//!   `ipvsadm -Sn`, or losslessly), and [`Ipvs::restore`];
//! - [`conn`]: the connection table (`/proc/net/ip_vs_conn`) of any namespace.
//!
//! - [`tunnel`]: tunnel and dummy devices, addresses, FOU/GUE ports and
//!   one-call LVS/TUN and LVS/DR real-server set-up over rtnetlink.
//!
//! Errors are one type, [`Error`], that keeps the operation, the object and
//! the kernel's errno, mapped to typed variants.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod batch;
pub mod codec;
pub mod conn;
mod error;
mod fasthash;
mod handle;
pub mod ipvsadm;
pub mod model;
mod netns;
mod op;
pub mod sysctl;
pub mod table;
mod transport;
pub mod tunnel;

pub use batch::{BatchMode, BatchReport, OpOutcome, Operation};
pub use error::{Errno, Error, Result};
pub use handle::Ipvs;
/// The former name of [`ipvsadm`], kept so that `ipvs::rules::...` paths still work.
pub use ipvsadm as rules;
pub use model::*;
pub use netns::Namespace;
pub use tunnel::{Fou, Rtnl};
