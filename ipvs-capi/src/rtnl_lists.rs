//! Listings over rtnetlink, as list snapshots: every network device
//! (`ip link`), the addresses (`ip addr`) and the FOU/GUE receive ports
//! (`ip fou show`) of an ::lvskit_rtnl handle's namespace.

use std::ffi::c_char;

use ipvs_core::tunnel::{Address, Dev, FouEncap, FouPort, Link};
use ipvs_core::Fou;

use crate::error::{guard, guard_value, lvskit_result};
use crate::ffi::{give, optional, release, snapshot, snapshot_get, snapshot_len};
use crate::tunnel::{
    link_to, lvskit_address, lvskit_fou_port, lvskit_link, lvskit_rtnl, opt_addr_to,
    LVSKIT_FOU_DIRECT, LVSKIT_FOU_GUE,
};
use crate::types::{addr_to, name_array, LVSKIT_NAME_LEN};
use crate::{arg, c_str, out, put};

/// A snapshot of the network devices, from lvskit_rtnl_list_links().
/// Read it with lvskit_link_list_len() and lvskit_link_list_get(), and what
/// the library keeps of a device undecoded with lvskit_link_list_kind_data()
/// and lvskit_link_list_unknown_attr(); release it with
/// lvskit_link_list_free().
#[allow(non_camel_case_types)]
pub struct lvskit_link_list {
    items: Vec<(lvskit_link, LinkRaw)>,
}

/// What a listing keeps of a device beyond ::lvskit_link, as the kernel
/// sent it: the data of a kind the library does not decode, and the tunnel
/// attributes it does not know.
pub(crate) struct LinkRaw {
    kind_data: Option<Vec<u8>>,
    unknown_attrs: Vec<(u16, Vec<u8>)>,
}

/// One address of a device, as `ip -o addr` shows it.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct lvskit_address_entry {
    /// Index of the device holding it.
    pub index: u32,
    /// The address.
    pub address: lvskit_address,
    /// Prefix length.
    pub prefix_len: u8,
    /// Scope (`RT_SCOPE_*`: 0 global, 253 link, 254 host).
    pub scope: u8,
    /// `IFA_F_*` flags (`IFA_F_PERMANENT` is 0x80).
    pub flags: u32,
    /// The IPv4 label (by default the device's name), NUL-terminated; empty
    /// when the kernel reports none (IPv6).
    pub label: [c_char; LVSKIT_NAME_LEN],
}

/// A snapshot of addresses, from lvskit_rtnl_list_addresses(). Read it with
/// lvskit_address_list_len() and lvskit_address_list_get(); release it with
/// lvskit_address_list_free().
#[allow(non_camel_case_types)]
pub struct lvskit_address_list {
    items: Vec<lvskit_address_entry>,
}

/// A snapshot of the FOU/GUE receive ports, from
/// lvskit_rtnl_list_fou_ports(). Read it with lvskit_fou_port_list_len() and
/// lvskit_fou_port_list_get(); release it with lvskit_fou_port_list_free().
#[allow(non_camel_case_types)]
pub struct lvskit_fou_port_list {
    items: Vec<lvskit_fou_port>,
}

snapshot!(
    lvskit_link_list => (lvskit_link, LinkRaw),
    lvskit_address_list => lvskit_address_entry,
    lvskit_fou_port_list => lvskit_fou_port,
);

fn address_entry_to(a: &Address) -> lvskit_address_entry {
    let (family, addr) = addr_to(a.addr);
    lvskit_address_entry {
        index: a.index,
        address: lvskit_address { family, addr },
        prefix_len: a.prefix_len,
        scope: a.scope,
        flags: a.flags,
        label: name_array(a.label.as_deref().unwrap_or("")),
    }
}

pub(crate) fn fou_to(p: &FouPort) -> lvskit_fou_port {
    let (encap, ipproto) = match p.encap {
        FouEncap::Gue => (LVSKIT_FOU_GUE, 0),
        FouEncap::Direct { ipproto } => (LVSKIT_FOU_DIRECT, ipproto),
    };
    let (local_family, local) = opt_addr_to(p.local);
    let (peer_family, peer) = opt_addr_to(p.peer);
    lvskit_fou_port {
        port: p.port,
        ipv6: u8::from(p.ipv6),
        ipproto,
        encap,
        local_family,
        peer_family,
        local,
        peer,
        peer_port: p.peer_port.unwrap_or(0),
        ifindex: p.ifindex.unwrap_or(0),
    }
}

// ---------------------------------------------------------------- links

fn link_and_raw(l: Link) -> (lvskit_link, LinkRaw) {
    let entry = link_to(&l);
    let raw = LinkRaw {
        kind_data: l.kind_data,
        unknown_attrs: l.unknown_attrs,
    };
    (entry, raw)
}

/// Copies `data` into `buf` (at most `len` bytes, no terminator); returns
/// the length of `data`.
///
/// # Safety
/// `buf` must be NULL or valid for `len` bytes of writes.
unsafe fn copy_bytes(data: &[u8], buf: *mut u8, len: usize) -> usize {
    if !buf.is_null() {
        let n = data.len().min(len);
        // SAFETY: the caller promises `len` writable bytes at `buf`; n <= len.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), buf, n) };
    }
    data.len()
}

/// The raw parts of device number `index` of `list`, if there is one.
///
/// # Safety
/// `list` must be NULL or a live list.
unsafe fn raw_of<'a>(list: *const lvskit_link_list, index: usize) -> Option<&'a LinkRaw> {
    // SAFETY: the caller's promise.
    unsafe { optional(list) }
        .and_then(|l| l.items.get(index))
        .map(|(_, raw)| raw)
}

/// Lists every network device of the handle's namespace (`ip link`), each
/// as lvskit_rtnl_get_link() reads one. On success `*list_out` receives a
/// new list owned by the caller, to release with lvskit_link_list_free().
///
/// # Safety
/// `rtnl` must be NULL or a live handle; `list_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_rtnl_list_links(
    rtnl: *const lvskit_rtnl,
    list_out: *mut *mut lvskit_link_list,
) -> lvskit_result {
    guard("lvskit_rtnl_list_links", || {
        // SAFETY: the caller's promise.
        let r = unsafe { arg(rtnl, "rtnl") }?;
        let lo = out(list_out, "list_out")?;
        let items = r.rtnl.links()?.into_iter().map(link_and_raw).collect();
        // SAFETY: checked non-NULL; the caller promises writability.
        unsafe { give(lo, lvskit_link_list { items }) };
        Ok(())
    })
}

/// The number of devices in `list` (0 for NULL).
///
/// # Safety
/// `list` must be NULL or a live list.
#[no_mangle]
pub unsafe extern "C" fn lvskit_link_list_len(list: *const lvskit_link_list) -> usize {
    // SAFETY: the caller's promise.
    unsafe { snapshot_len(list) }
}

/// Copies device number `index` (from 0) of `list` to `*link_out`. An index
/// past the end gives `LVSKIT_RESULT_OUT_OF_RANGE`.
///
/// # Safety
/// `list` must be NULL or a live list; `link_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_link_list_get(
    list: *const lvskit_link_list,
    index: usize,
    link_out: *mut lvskit_link,
) -> lvskit_result {
    let first = (link_out, "link_out");
    // SAFETY: the caller's promises; the out-parameter is checked.
    unsafe {
        snapshot_get("lvskit_link_list_get", list, index, first, |(l, _), o| {
            put(o, *l)
        })
    }
}

/// Copies the raw `IFLA_INFO_DATA` of device number `index` of `list` -
/// kept when the device's kind is one the library does not decode (e.g.
/// `bridge`, `vxlan`), as the kernel sent it - into `buf` (at most `len`
/// bytes; NULL `buf` only measures) and returns its full length. Returns 0
/// when the device has none, for a NULL list and for an index past the end.
/// Does not change the last error.
///
/// # Safety
/// `list` must be NULL or a live list; `buf` NULL or valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn lvskit_link_list_kind_data(
    list: *const lvskit_link_list,
    index: usize,
    buf: *mut u8,
    len: usize,
) -> usize {
    guard_value(0, || {
        // SAFETY: the caller's promise.
        let data = unsafe { raw_of(list, index) }.and_then(|r| r.kind_data.as_deref());
        // SAFETY: the caller's promise about buf and len.
        data.map_or(0, |d| unsafe { copy_bytes(d, buf, len) })
    })
}

/// The number of tunnel attributes of device number `index` of `list` that
/// the library does not decode (attributes a newer kernel added, or GRE
/// flags other than keys, checksums and sequence numbers), kept as the
/// kernel sent them: read each with lvskit_link_list_unknown_attr(). 0 for a
/// NULL list and for an index past the end.
///
/// # Safety
/// `list` must be NULL or a live list.
#[no_mangle]
pub unsafe extern "C" fn lvskit_link_list_unknown_attr_count(
    list: *const lvskit_link_list,
    index: usize,
) -> usize {
    // SAFETY: the caller's promise.
    guard_value(0, || {
        unsafe { raw_of(list, index) }.map_or(0, |r| r.unknown_attrs.len())
    })
}

/// Reads unknown attribute number `attr` of device number `index` of
/// `list`: its type into `*type_out` (when not NULL) and its payload into
/// `buf` (at most `len` bytes; NULL `buf` only measures); returns the
/// payload's full length. Past the end (or for a NULL list) `*type_out` is
/// 0, which is no attribute's type, and 0 is returned. Does not change the
/// last error.
///
/// # Safety
/// `list` must be NULL or a live list; `type_out` NULL or writable; `buf`
/// NULL or valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn lvskit_link_list_unknown_attr(
    list: *const lvskit_link_list,
    index: usize,
    attr: usize,
    type_out: *mut u16,
    buf: *mut u8,
    len: usize,
) -> usize {
    guard_value(0, || {
        // SAFETY: the caller's promise.
        let found = unsafe { raw_of(list, index) }.and_then(|r| r.unknown_attrs.get(attr));
        if !type_out.is_null() {
            // SAFETY: checked non-NULL; the caller promises writability.
            unsafe { *type_out = found.map_or(0, |(ty, _)| *ty) };
        }
        // SAFETY: the caller's promise about buf and len.
        found.map_or(0, |(_, p)| unsafe { copy_bytes(p, buf, len) })
    })
}

/// Releases a list from lvskit_rtnl_list_links(). NULL is accepted and ignored.
///
/// # Safety
/// `list` must be NULL or a live list, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn lvskit_link_list_free(list: *mut lvskit_link_list) {
    // SAFETY: the caller's promise.
    unsafe { release(list) }
}

// ---------------------------------------------------------------- addresses

/// Lists the addresses of the device `name`, or of every device when `name`
/// is NULL (`ip addr`). A missing device gives `LVSKIT_RESULT_NOT_FOUND`. On
/// success `*list_out` receives a new list owned by the caller, to release
/// with lvskit_address_list_free().
///
/// # Safety
/// `rtnl` must be NULL or a live handle; `name` NULL or NUL-terminated;
/// `list_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_rtnl_list_addresses(
    rtnl: *const lvskit_rtnl,
    name: *const c_char,
    list_out: *mut *mut lvskit_address_list,
) -> lvskit_result {
    guard("lvskit_rtnl_list_addresses", || {
        // SAFETY: the caller's promise.
        let r = unsafe { arg(rtnl, "rtnl") }?;
        let dev = match unsafe { optional(name) } {
            None => None,
            Some(_) => {
                // SAFETY: the caller's promise: non-NULL here, NUL-terminated.
                let n = unsafe { c_str(name, "name") }?;
                ipvs_core::tunnel::validate_ifname(n)?;
                Some(n)
            }
        };
        let lo = out(list_out, "list_out")?;
        let items = r
            .rtnl
            .addresses(dev.map(Dev::Name))?
            .iter()
            .map(address_entry_to)
            .collect();
        // SAFETY: checked non-NULL; the caller promises writability.
        unsafe { give(lo, lvskit_address_list { items }) };
        Ok(())
    })
}

/// The number of addresses in `list` (0 for NULL).
///
/// # Safety
/// `list` must be NULL or a live list.
#[no_mangle]
pub unsafe extern "C" fn lvskit_address_list_len(list: *const lvskit_address_list) -> usize {
    // SAFETY: the caller's promise.
    unsafe { snapshot_len(list) }
}

/// Copies address number `index` (from 0) of `list` to `*entry_out`. An
/// index past the end gives `LVSKIT_RESULT_OUT_OF_RANGE`.
///
/// # Safety
/// `list` must be NULL or a live list; `entry_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_address_list_get(
    list: *const lvskit_address_list,
    index: usize,
    entry_out: *mut lvskit_address_entry,
) -> lvskit_result {
    let first = (entry_out, "entry_out");
    // SAFETY: the caller's promises; the out-parameter is checked.
    unsafe {
        snapshot_get("lvskit_address_list_get", list, index, first, |a, o| {
            put(o, *a)
        })
    }
}

/// Releases a list from lvskit_rtnl_list_addresses(). NULL is accepted and ignored.
///
/// # Safety
/// `list` must be NULL or a live list, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn lvskit_address_list_free(list: *mut lvskit_address_list) {
    // SAFETY: the caller's promise.
    unsafe { release(list) }
}

// ---------------------------------------------------------------- FOU ports

/// Lists the FOU/GUE receive ports of the handle's namespace (`ip fou
/// show`). Without the fou module there are none (an empty list) or, if
/// the kernel cannot answer, `LVSKIT_RESULT_MODULE_MISSING`. On success
/// `*list_out` receives a new list owned by the caller, to release with
/// lvskit_fou_port_list_free().
///
/// # Safety
/// `rtnl` must be NULL or a live handle; `list_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_rtnl_list_fou_ports(
    rtnl: *const lvskit_rtnl,
    list_out: *mut *mut lvskit_fou_port_list,
) -> lvskit_result {
    guard("lvskit_rtnl_list_fou_ports", || {
        // SAFETY: the caller's promise.
        let r = unsafe { arg(rtnl, "rtnl") }?;
        let lo = out(list_out, "list_out")?;
        let items = Fou::open(r.ns.clone())?
            .list()?
            .iter()
            .map(fou_to)
            .collect();
        // SAFETY: checked non-NULL; the caller promises writability.
        unsafe { give(lo, lvskit_fou_port_list { items }) };
        Ok(())
    })
}

/// The number of ports in `list` (0 for NULL).
///
/// # Safety
/// `list` must be NULL or a live list.
#[no_mangle]
pub unsafe extern "C" fn lvskit_fou_port_list_len(list: *const lvskit_fou_port_list) -> usize {
    // SAFETY: the caller's promise.
    unsafe { snapshot_len(list) }
}

/// Copies port number `index` (from 0) of `list` to `*port_out`. An index
/// past the end gives `LVSKIT_RESULT_OUT_OF_RANGE`.
///
/// # Safety
/// `list` must be NULL or a live list; `port_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_fou_port_list_get(
    list: *const lvskit_fou_port_list,
    index: usize,
    port_out: *mut lvskit_fou_port,
) -> lvskit_result {
    let first = (port_out, "port_out");
    // SAFETY: the caller's promises; the out-parameter is checked.
    unsafe {
        snapshot_get("lvskit_fou_port_list_get", list, index, first, |p, o| {
            put(o, *p)
        })
    }
}

/// Releases a list from lvskit_rtnl_list_fou_ports(). NULL is accepted and ignored.
///
/// # Safety
/// `list` must be NULL or a live list, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn lvskit_fou_port_list_free(list: *mut lvskit_fou_port_list) {
    // SAFETY: the caller's promise.
    unsafe { release(list) }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fou_ports_convert_both_ways() {
        let ports = [
            FouPort::gue(6080),
            FouPort {
                port: 5555,
                ipv6: true,
                encap: FouEncap::Direct { ipproto: 41 },
                local: Some("2001:db8::1".parse().unwrap()),
                peer: Some("2001:db8::2".parse().unwrap()),
                peer_port: Some(7),
                ifindex: Some(3),
            },
        ];
        for p in ports {
            let c = fou_to(&p);
            assert_eq!(crate::tunnel::fou_from(&c).unwrap(), p, "{c:?}");
        }
    }
}
