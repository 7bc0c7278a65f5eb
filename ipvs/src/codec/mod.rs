//! The pure netlink codec: model values to attribute bytes and back. No I/O.
//!
//! Constants follow the kernel's `include/uapi/linux/ip_vs.h`. Decoders skip
//! attributes they do not know, so replies from newer kernels never fail.

pub mod ipvs;
pub mod nla;
