//! Kernel tests: they need a kernel with IPVS and root. Run them in the test
//! VM with `scripts/test` (or `scripts/vm -- cargo-built-binary`); each test
//! runs in its own network namespace (see `support`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../strategies/mod.rs"]
mod strategies;
mod support;

mod aio;
mod aio_director;
mod aio_tunnel;
mod batch;
mod core_features;
mod director;
mod director_https;
mod kproptest;
mod partial;
mod restore;
mod robust;

mod foundation;
mod rules;
mod sysctl;
mod tolerant;
mod tunnel;
mod tunnel_strict;
