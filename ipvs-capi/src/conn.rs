//! The connection table (`/proc/net/ip_vs_conn`, `ipvsadm -Lnc`) of a
//! handle's network namespace, as a list snapshot.

use std::ffi::c_char;

use ipvs_core::conn::{self, Connection, Origin, Table};

use crate::error::{copy_message, guard, guard_value, input, lvskit_result};
use crate::ffi::{give, optional, release, snapshot, snapshot_get, snapshot_len};
use crate::tunnel::lvskit_address;
use crate::types::{addr_to, name_array, LVSKIT_NAME_LEN};
use crate::{arg, lvskit_handle, out, put};

/// lvskit_list_connections() flag: read `/proc/net/ip_vs_conn_sync`, which
/// also says where each entry came from (`origin`).
pub const LVSKIT_CONN_SYNC: u32 = 1;

/// `lvskit_connection.origin`: not reported (read without LVSKIT_CONN_SYNC).
pub const LVSKIT_CONN_ORIGIN_UNKNOWN: u8 = 0;
/// `lvskit_connection.origin`: created by this director (`LOCAL`).
pub const LVSKIT_CONN_ORIGIN_LOCAL: u8 = 1;
/// `lvskit_connection.origin`: received from a sync master (`SYNC`).
pub const LVSKIT_CONN_ORIGIN_SYNC: u8 = 2;

/// One entry of the connection table, as `ipvsadm -Lnc` shows it.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct lvskit_connection {
    /// The protocol as the kernel names it, NUL-terminated: "TCP", "UDP",
    /// "SCTP", "ICMP", "ICMPv6", or "IP" for a firewall-mark template.
    pub protocol: [c_char; LVSKIT_NAME_LEN],
    /// The client's address (`FromIP`).
    pub client: lvskit_address,
    /// The client's port (host byte order).
    pub client_port: u16,
    /// The virtual address the client reached (`ToIP`).
    pub virtual_address: lvskit_address,
    /// The virtual port (host byte order).
    pub virtual_port: u16,
    /// The real server's address (`DestIP`).
    pub destination: lvskit_address,
    /// The real server's port (host byte order).
    pub destination_port: u16,
    /// The protocol state, NUL-terminated (e.g. "ESTABLISHED", "SYN_RECV",
    /// "FIN_WAIT", "CLOSE", "NONE" for a template).
    pub state: [c_char; LVSKIT_NAME_LEN],
    /// Seconds until the entry expires.
    pub expires: u32,
    /// 1 for a persistence template rather than a connection, else 0.
    pub is_template: u8,
    /// LVSKIT_CONN_ORIGIN_*.
    pub origin: u8,
    /// The persistence engine's name (e.g. "sip"), NUL-terminated; empty for
    /// none. Its data (e.g. the SIP Call-ID) is read with
    /// lvskit_connection_list_pe_data().
    pub pe_name: [c_char; LVSKIT_NAME_LEN],
}

/// A snapshot of the connection table, from lvskit_list_connections().
///
/// Read it with lvskit_connection_list_len(), lvskit_connection_list_get()
/// and lvskit_connection_list_pe_data(); release it with
/// lvskit_connection_list_free().
#[allow(non_camel_case_types)]
pub struct lvskit_connection_list {
    items: Vec<(lvskit_connection, String)>,
}

snapshot!(lvskit_connection_list => (lvskit_connection, String));

fn address_of(sa: std::net::SocketAddr) -> (lvskit_address, u16) {
    let (family, addr) = addr_to(sa.ip());
    (lvskit_address { family, addr }, sa.port())
}

fn connection_to(c: &Connection) -> (lvskit_connection, String) {
    let (client, client_port) = address_of(c.client);
    let (virtual_address, virtual_port) = address_of(c.virtual_addr);
    let (destination, destination_port) = address_of(c.destination);
    let (pe_name, pe_data) =
        c.pe.as_ref()
            .map_or(("", String::new()), |(n, d)| (n.as_str(), d.clone()));
    let entry = lvskit_connection {
        protocol: name_array(c.protocol.as_str()),
        client,
        client_port,
        virtual_address,
        virtual_port,
        destination,
        destination_port,
        state: name_array(&c.state),
        expires: c.expires,
        is_template: u8::from(c.is_template()),
        origin: match c.origin {
            None => LVSKIT_CONN_ORIGIN_UNKNOWN,
            Some(Origin::Local) => LVSKIT_CONN_ORIGIN_LOCAL,
            Some(Origin::Sync) => LVSKIT_CONN_ORIGIN_SYNC,
        },
        pe_name: name_array(pe_name),
    };
    (entry, pe_data)
}

/// Reads the connection table of the handle's network namespace
/// (`ipvsadm -Lnc`; with `flags` LVSKIT_CONN_SYNC the `ip_vs_conn_sync`
/// form, which also gives each entry's origin). `flags` is 0 or
/// LVSKIT_CONN_SYNC. On success `*list_out` receives a new list owned by the
/// caller, to release with lvskit_connection_list_free(). A table that
/// cannot be read (e.g. IPVS not loaded) gives `LVSKIT_RESULT_IO`.
///
/// # Safety
/// `handle` must be NULL or a live handle; `list_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_list_connections(
    handle: *const lvskit_handle,
    flags: u32,
    list_out: *mut *mut lvskit_connection_list,
) -> lvskit_result {
    guard("lvskit_list_connections", || {
        // SAFETY: the caller's promise.
        let h = unsafe { arg(handle, "handle") }?;
        let lo = out(list_out, "list_out")?;
        let table = match flags {
            0 => Table::Conn,
            LVSKIT_CONN_SYNC => Table::ConnSync,
            f => {
                return Err(input(format!(
                    "unknown flags {f:#x} (use 0 or LVSKIT_CONN_SYNC)"
                )))
            }
        };
        let items = conn::read(h.ipvs.namespace(), table)?
            .iter()
            .map(connection_to)
            .collect();
        // SAFETY: checked non-NULL; the caller promises writability.
        unsafe { give(lo, lvskit_connection_list { items }) };
        Ok(())
    })
}

/// The number of entries in `list` (0 for NULL).
///
/// # Safety
/// `list` must be NULL or a live list.
#[no_mangle]
pub unsafe extern "C" fn lvskit_connection_list_len(list: *const lvskit_connection_list) -> usize {
    // SAFETY: the caller's promise.
    unsafe { snapshot_len(list) }
}

/// Copies entry number `index` (from 0) of `list` to `*connection_out`. An
/// index past the end gives `LVSKIT_RESULT_OUT_OF_RANGE`.
///
/// # Safety
/// `list` must be NULL or a live list; `connection_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_connection_list_get(
    list: *const lvskit_connection_list,
    index: usize,
    connection_out: *mut lvskit_connection,
) -> lvskit_result {
    let first = (connection_out, "connection_out");
    // SAFETY: the caller's promises; the out-parameter is checked.
    unsafe {
        snapshot_get(
            "lvskit_connection_list_get",
            list,
            index,
            first,
            |(c, _), o| put(o, *c),
        )
    }
}

/// Writes the persistence-engine data of entry number `index` (e.g. the SIP
/// Call-ID; empty when none) into `buf` like lvskit_last_error_message(),
/// and returns its full length. Returns 0 and writes nothing else for a
/// NULL list or an index past the end. Does not change the last error.
///
/// # Safety
/// `list` must be NULL or a live list; `buf` NULL or valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn lvskit_connection_list_pe_data(
    list: *const lvskit_connection_list,
    index: usize,
    buf: *mut c_char,
    len: usize,
) -> usize {
    guard_value(0, || {
        // SAFETY: the caller's promise.
        let Some((_, data)) = unsafe { optional(list) }.and_then(|l| l.items.get(index)) else {
            return 0;
        };
        // SAFETY: the caller's promise about buf and len.
        unsafe { copy_message(data, buf, len) };
        data.len()
    })
}

/// Releases a list from lvskit_list_connections(). NULL is accepted and ignored.
///
/// # Safety
/// `list` must be NULL or a live list, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn lvskit_connection_list_free(list: *mut lvskit_connection_list) {
    // SAFETY: the caller's promise.
    unsafe { release(list) }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn entries_convert_with_templates_origin_and_pe_data() {
        let text = "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n\
                    TCP 0A000002 9C40 0A000064 0050 C0A80A0B 0050 ESTABLISHED     899\n\
                    UDP 0A000002 0000 0A000064 13C4 C0A80A0B 13C4 NONE            300 sip    call-1\n";
        let conns = conn::parse(text).unwrap();
        let (c, data) = connection_to(&conns[0]);
        // SAFETY: NUL-terminated arrays.
        let proto = unsafe { CStr::from_ptr(c.protocol.as_ptr()) };
        assert_eq!(proto.to_str().unwrap(), "TCP");
        assert_eq!(c.client.addr[..4], [10, 0, 0, 2]);
        assert_eq!(
            (c.client_port, c.virtual_port, c.destination_port),
            (40000, 80, 80)
        );
        assert_eq!(c.destination.addr[..4], [192, 168, 10, 11]);
        assert_eq!((c.expires, c.is_template, c.origin), (899, 0, 0));
        assert!(data.is_empty());
        let (t, data) = connection_to(&conns[1]);
        assert_eq!(t.is_template, 1);
        // SAFETY: NUL-terminated arrays.
        let pe = unsafe { CStr::from_ptr(t.pe_name.as_ptr()) };
        assert_eq!(pe.to_str().unwrap(), "sip");
        assert_eq!(data, "call-1");
    }

    #[test]
    fn bad_flags_and_nulls_are_refused() {
        let mut list = std::ptr::null_mut();
        // SAFETY: testing NULL handling.
        unsafe {
            assert_eq!(
                lvskit_list_connections(std::ptr::null(), 0, &mut list),
                lvskit_result::NullParameter
            );
            assert_eq!(lvskit_connection_list_len(std::ptr::null()), 0);
            assert_eq!(
                lvskit_connection_list_pe_data(std::ptr::null(), 0, std::ptr::null_mut(), 0),
                0
            );
            lvskit_connection_list_free(std::ptr::null_mut());
        }
        assert!(list.is_null());
    }
}
