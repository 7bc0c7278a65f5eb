//! Shared plumbing of the runnable demos and the end-to-end tests: a lab of
//! network namespaces, real-server setup, tiny servers and clients, ready-made
//! LVS scenarios, and helpers that run their directors on
//! `lvskit::director`. Everything here needs root and a kernel
//! with IPVS (run it in the test VM: `scripts/demo`, `scripts/test`).
#![deny(missing_docs)]

pub mod directing;
pub mod lab;
pub mod realserver;
pub mod scenario;
pub mod traffic;
