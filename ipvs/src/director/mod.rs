//! The director's job: keep a namespace's IPVS table right while real
//! servers fail and come back, and while they are taken out of service.
//!
//! - [`Check`] (`check`): TCP connect, HTTP GET (status, body), HTTPS GET
//!   (`tls` feature: certificate verification off or against a CA, SNI), DNS over
//!   UDP, or the caller's closure; interval, timeout, rise and fall, source
//!   address and network namespace. Each real server is checked on a thread
//!   of its own, so one slow check never delays another.
//! - [`Health`] (`health`): the rise/fall state machine.
//! - [`DesiredState`] of [`DirectedService`]s (`policy`): per service what
//!   happens to a failing real server ([`OnFailure::Inhibit`]: weight 0, or
//!   [`OnFailure::Remove`]) and a quorum with a sorry server. [`effective`]
//!   computes, purely, the table the kernel should hold.
//! - Graceful termination (`drain`, [`settle`]): a real server that leaves
//!   the desired state is set to weight 0 and deleted once its active and
//!   inactive connections are gone or a deadline passed. The kernel is the
//!   record: after a restart, a real server the kernel holds and the desired
//!   state does not is a drain in progress, resumed; one that is desired and
//!   healthy gets its weight back (kubernetes #92019).
//! - [`Director`] (`reconcile`): the loop. It converges through the table
//!   planner ([`crate::table::diff`], one pipelined batch, idempotent) on every
//!   change and periodically, backs off (bounded, exponential) on errors and
//!   reports [`Event`]s to a callback and to subscribers.
//! - [`metrics`]: the kernel's counters plus health in the Prometheus text format.
//!
#![cfg_attr(
    feature = "tokio",
    doc = "- [`AsyncDirector`] (feature `tokio`): the same loop as a tokio task on\n  \
           the async handle ([`crate::aio::Ipvs`])."
)]
#![cfg_attr(
    not(feature = "tokio"),
    doc = "- `AsyncDirector` (feature `tokio`): the same loop as a tokio task on\n  \
           the async handle (`lvskit::aio::Ipvs`)."
)]
//!
//! The decisions (`effective`, `settle`, `Health::record`, `metrics::render`)
//! are pure functions of values, apart from the I/O; the loop's state, its
//! pacing and what it makes of what the kernel holds are one code for the
//! blocking and the async loop, which differ only in how they read and write
//! the kernel.

#[cfg(feature = "tokio")]
mod aio;
mod check;
mod drain;
mod events;
mod health;
pub mod metrics;
mod policy;
mod probe;
mod reconcile;
mod source;
mod tls;

#[cfg(feature = "tokio")]
pub use aio::AsyncDirector;
pub use check::{Check, CheckKind, CustomCheck, TlsOptions, TlsVerify};
pub use drain::{settle, DrainBook, DrainChange, DrainEnd};
pub use events::{Event, EventCallback};
pub use health::{DestinationId, Health, HealthState};
pub use policy::{effective, DesiredState, DirectedService, Effective, OnFailure};
pub use reconcile::{Director, DirectorOptions};
#[cfg(feature = "serde")]
pub use source::parse_json;
pub use source::{parse as parse_file, FileFormat};

/// Runs `check` once against `target` (as the director's check threads do):
/// `Ok(())` when healthy, else the reason.
///
/// ```no_run
/// use lvskit::director::{probe_once, Check};
/// let r = probe_once(&Check::tcp(), "127.0.0.1:22".parse().unwrap());
/// println!("{r:?}");
/// ```
///
/// # Errors
/// The reason the check failed, as text.
pub fn probe_once(check: &Check, target: std::net::SocketAddr) -> Result<(), String> {
    probe::probe(check, target)
}
