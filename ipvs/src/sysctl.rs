//! The IPVS settings of a network namespace: typed `net.ipv4.vs.*` sysctls.
//!
//! Every knob the kernel exposes under `/proc/sys/net/ipv4/vs` is a [`Knob`]
//! with the kind of value it holds ([`Kind`]) and the range the kernel
//! documents. Writes are validated against that range before anything is
//! written (the kernel itself accepts, for example, `-1` for its booleans and
//! `conn_reuse_mode`); reads never validate: what the kernel holds is
//! returned as it is, and a value in a form this crate does not know is kept
//! as [`Value::Text`].
//!
//! A set of wanted values is a [`Settings`] (a map from knob to value, with
//! serde support, so it can be part of a desired state); [`apply`] writes
//! only what differs, all or nothing: on a failure the values already written
//! are restored before the error is returned.
//!
//! ```no_run
//! use lvskit::sysctl::{self, Knob, Value};
//! use lvskit::Namespace;
//! # fn main() -> lvskit::Result<()> {
//! let ns = Namespace::Named("lb".into());
//! sysctl::write(&ns, Knob::ExpireNodestConn, &Value::Bool(true))?;
//! assert_eq!(sysctl::read(&ns, Knob::ExpireNodestConn)?, Value::Bool(true));
//! # Ok(()) }
//! ```
//!
//! Some knobs exist only on some kernels (`est_cpulist` and `est_nice` from
//! 6.2, `conntrack` only with `CONFIG_IP_VS_NFCT`); reading or writing a knob
//! the kernel lacks is [`Error::NotFound`]. All knobs appear once the `ip_vs`
//! module is loaded, which opening an [`crate::Ipvs`] handle does.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::netns::{run_in, Namespace};
use crate::procsys;

mod knob;

pub use knob::{Kind, Knob, MAX_SECONDS};

/// The directory of the IPVS sysctls.
const DIR: &str = "/proc/sys/net/ipv4/vs";

/// The value of one knob.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize), serde(untagged))]
#[non_exhaustive]
pub enum Value {
    /// A [`Kind::Bool`] knob: on (any non-zero value) or off.
    Bool(bool),
    /// A number ([`Kind::Int`], [`Kind::Seconds`], [`Kind::PowerOfTwo`]).
    Int(i64),
    /// `sync_threshold`: `[threshold, period]`.
    Pair([i64; 2]),
    /// A text value ([`Kind::CpuList`]), or what the kernel holds in a form
    /// this crate does not know (kept as read, never written back).
    Text(String),
}

impl fmt::Display for Value {
    /// The value as the kernel writes it in `/proc/sys`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{}", u8::from(*b)),
            Value::Int(n) => write!(f, "{n}"),
            Value::Pair([a, b]) => write!(f, "{a} {b}"),
            Value::Text(s) => f.write_str(s),
        }
    }
}

/// Wanted values of some knobs (the rest are left as they are).
pub type Settings = BTreeMap<Knob, Value>;

/// One knob changed by [`apply`]: its value before and the value written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The knob.
    pub knob: Knob,
    /// What the kernel held before.
    pub before: Value,
    /// What was written.
    pub after: Value,
}

fn path(knob: Knob) -> PathBuf {
    Path::new(DIR).join(knob.name())
}

fn context(verb: &str, knob: Knob) -> String {
    format!("{verb} net.ipv4.vs.{}", knob.name())
}

fn in_ns(what: &str, ns: &Namespace) -> String {
    format!("{what} in {}", ns.describe())
}

/// Maps a failed `/proc/sys` access to the crate's error.
fn io_error(context: String, knob: Knob, e: std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound {
            context,
            what: knob.missing_hint(),
            errno: libc::ENOENT,
        },
        std::io::ErrorKind::PermissionDenied => Error::PermissionDenied {
            context,
            errno: e.raw_os_error().unwrap_or(libc::EACCES),
        },
        _ => match e.raw_os_error() {
            Some(libc::EINVAL) => Error::Invalid {
                context,
                errno: libc::EINVAL,
                hint: Some("the kernel refused the value"),
            },
            _ => Error::io(context, e),
        },
    }
}

/// Runs `f` in `ns`, where `/proc/sys/net/ipv4/vs` shows that namespace's
/// values; `f`'s own result is kept whole (an `io::Error` keeps its kind).
fn in_namespace<T: Send + 'static>(
    ns: &Namespace,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    run_in(ns, what, move || Ok(f()))
}

/// Reads one knob in `ns`.
///
/// # Errors
/// [`Error::NotFound`] when this kernel has no such knob (or IPVS is not
/// loaded), [`Error::Io`] when the namespace cannot be entered.
pub fn read(ns: &Namespace, knob: Knob) -> Result<Value> {
    let ctx = context("reading", knob);
    let p = path(knob);
    let text = in_namespace(ns, &ctx, move || std::fs::read_to_string(p))?
        .map_err(|e| io_error(in_ns(&ctx, ns), knob, e))?;
    Ok(knob.parse(&text))
}

/// Reads every knob this kernel has in `ns`, in [`Knob::ALL`] order.
///
/// # Errors
/// [`Error::NotFound`] when IPVS is not loaded in the kernel;
/// [`Error::Io`] when the namespace cannot be entered or a file read.
pub fn read_all(ns: &Namespace) -> Result<Settings> {
    let what = "reading net.ipv4.vs.*";
    let ctx = in_ns(what, ns);
    let texts = in_namespace(ns, what, || {
        let mut out = Vec::new();
        for &knob in Knob::ALL {
            match std::fs::read_to_string(path(knob)) {
                Ok(t) => out.push((knob, t)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    })?
    .map_err(|e: std::io::Error| Error::io(ctx.clone(), e))?;
    if texts.is_empty() {
        return Err(Error::NotFound {
            context: ctx,
            what: "no IPVS sysctls: load the ip_vs module (opening an Ipvs handle does)",
            errno: libc::ENOENT,
        });
    }
    Ok(texts.into_iter().map(|(k, t)| (k, k.parse(&t))).collect())
}

/// Validates `value` for `knob` and writes it in `ns`.
///
/// # Errors
/// [`Error::InvalidInput`] for a value out of the knob's range (nothing is
/// written); [`Error::NotFound`] when this kernel has no such knob;
/// [`Error::Invalid`] when the kernel refuses the value.
pub fn write(ns: &Namespace, knob: Knob, value: &Value) -> Result<()> {
    let ctx = context("writing", knob);
    knob.validate(value)?;
    let (p, text) = (path(knob), value.to_string());
    in_namespace(ns, &ctx, move || std::fs::write(p, text))?
        .map_err(|e| io_error(in_ns(&ctx, ns), knob, e))
}

/// Validates every value of `wanted` first, then writes those that differ
/// from what `ns` holds. All or nothing: when a write fails, the knobs
/// already written are set back to their earlier values before the error
/// is returned.
///
/// # Errors
/// As [`write()`]; [`Error::InvalidInput`] before anything is written.
pub fn apply(ns: &Namespace, wanted: &Settings) -> Result<Vec<Change>> {
    for (&knob, value) in wanted {
        knob.validate(value)?;
    }
    let wanted: Vec<(Knob, Value)> = wanted.iter().map(|(k, v)| (*k, v.clone())).collect();
    in_namespace(ns, "setting net.ipv4.vs.*", move || apply_here(wanted))?
        .map_err(|(knob, e)| io_error(in_ns(&context("writing", knob), ns), knob, e))
}

/// [`apply`]'s work, in the namespace already: the crate's one
/// all-or-nothing `/proc/sys` writer, comparing values as the knob reads them.
fn apply_here(
    wanted: Vec<(Knob, Value)>,
) -> std::result::Result<Vec<Change>, (Knob, std::io::Error)> {
    let files: Vec<(PathBuf, String)> = wanted
        .iter()
        .map(|(k, v)| (path(*k), v.to_string()))
        .collect();
    let done = procsys::write_differing(&files, |i, current| {
        let (knob, after) = &wanted[i];
        knob.parse(current) != *after
    })
    .map_err(|(i, e)| (wanted[i].0, e))?;
    let change = |(i, before): (usize, String)| {
        let (knob, after) = wanted[i].clone();
        Change {
            knob,
            before: knob.parse(&before),
            after,
        }
    };
    Ok(done.into_iter().map(change).collect())
}
