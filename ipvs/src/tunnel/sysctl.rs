//! Reading and writing `/proc/sys` values of a network namespace.
//!
//! `/proc/sys/net` shows the values of the network namespace of the thread
//! that looks them up. For another namespace the reads and writes run on a
//! short-lived helper thread that entered it with `setns(2)` (the same
//! approach as the crate's netlink sockets); the caller's threads never change
//! namespace. Paths are relative to `/proc/sys`, with slashes
//! (`net/ipv4/conf/all/arp_ignore`), because device names may contain dots.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::netns::{run_in, Namespace};
use crate::procsys;

fn checked(path: &str) -> Result<PathBuf> {
    let ok = !path.is_empty()
        && !path.starts_with('/')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./@+".contains(&b));
    if !ok {
        return Err(Error::invalid_input(
            format!("sysctl path {path:?}"),
            "must be a relative path under /proc/sys such as net/ipv4/conf/all/arp_ignore",
        ));
    }
    Ok(PathBuf::from("/proc/sys").join(path))
}

/// Reads one sysctl (trimmed) in `ns`.
///
/// # Errors
/// [`Error::InvalidInput`] for a malformed path; [`Error::Io`] when it
/// cannot be read (e.g. no such device: `ENOENT`).
pub fn read_sysctl(ns: &Namespace, path: &str) -> Result<String> {
    let p = checked(path)?;
    run_in(ns, &format!("reading sysctl {path}"), move || {
        std::fs::read_to_string(&p).map(|s| s.trim().to_owned())
    })
}

/// Writes one sysctl in `ns`.
///
/// # Errors
/// As [`read_sysctl`]; [`Error::Io`] with `EINVAL` when the kernel refuses the value.
pub fn write_sysctl(ns: &Namespace, path: &str, value: &str) -> Result<()> {
    let p = checked(path)?;
    let v = value.to_owned();
    run_in(
        ns,
        &format!("writing {value:?} to sysctl {path}"),
        move || std::fs::write(&p, v.as_bytes()),
    )
}

/// One sysctl change: `(path, value before, value written)`.
pub(crate) type Change = (String, String, String);

/// Sets each `(path, value)` in `ns` on one helper thread; returns the
/// changes actually made (values already equal are not written). On a
/// failure the values written so far are restored before returning the error.
pub(crate) fn apply(ns: &Namespace, wanted: Vec<(String, String)>) -> Result<Vec<Change>> {
    let mut items = Vec::new();
    for (p, v) in &wanted {
        items.push((checked(p)?, v.clone()));
    }
    run_in(ns, "setting sysctls", move || {
        let done = procsys::write_differing(&items, |i, current| current.trim() != items[i].1)
            .map_err(|(i, e)| std::io::Error::new(e.kind(), format!("{}: {e}", wanted[i].0)))?;
        let change = |(i, before): (usize, String)| {
            let (p, v) = &wanted[i];
            (p.clone(), before.trim().to_owned(), v.clone())
        };
        Ok(done.into_iter().map(change).collect())
    })
}

/// Writes back the "before" values of `changes`, last first; skips paths
/// that no longer exist (their device was deleted). Returns the first error
/// after trying all.
pub(crate) fn restore(ns: &Namespace, changes: &[Change]) -> Result<()> {
    let mut items = Vec::new();
    for (p, old, _) in changes.iter().rev() {
        items.push((checked(p)?, p.clone(), old.clone()));
    }
    run_in(ns, "restoring sysctls", move || {
        let mut first = None;
        for (full, p, old) in &items {
            match std::fs::write(full, old.as_bytes()) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    first.get_or_insert(std::io::Error::new(e.kind(), format!("{p}: {e}")));
                }
            }
        }
        first.map_or(Ok(()), Err)
    })
}
