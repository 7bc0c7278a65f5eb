//! Partial changes: one field of a service or a real server, the rest kept
//! as the kernel holds it (read-modify-write in the core).

use std::ffi::c_char;

use ipvs_core::Scheduler;

use crate::error::{guard, lvskit_result};
use crate::tunnel::lvskit_address;
use crate::types::{addr_from, key_from, lvskit_service, module_suffix};
use crate::{arg, c_str, lvskit_handle};

/// Sets the weight of one real server and keeps everything else it has
/// (forwarding method, tunnel type, port and flags, thresholds): weight 0
/// drains it, a positive weight restores it. The service is found by the key
/// fields of `service`, the real server by `address` and `port`. Unlike
/// lvskit_update_destination(), which restates the whole real server (`ipvsadm
/// -e`), this reads it from the kernel and writes it back with the new
/// weight (not atomic). A missing service or real server gives
/// `LVSKIT_RESULT_NOT_FOUND`; a weight above 2147483647 `LVSKIT_RESULT_INVALID_INPUT`.
///
/// # Safety
/// `handle` must be NULL or a live handle; `service` and `address` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lvskit_set_weight(
    handle: *const lvskit_handle,
    service: *const lvskit_service,
    address: *const lvskit_address,
    port: u16,
    weight: u32,
) -> lvskit_result {
    guard("lvskit_set_weight", || {
        // SAFETY: the caller's promise.
        let (h, s, a) = unsafe {
            (
                arg(handle, "handle")?,
                arg(service, "service")?,
                arg(address, "address")?,
            )
        };
        let key = key_from(s)?;
        let ip = addr_from(a.family, &a.addr, "address")?;
        h.ipvs.set_weight(&key, ip, port, weight)?;
        Ok(())
    })
}

/// Sets the scheduler (a NUL-terminated name such as "rr") of the virtual
/// service found by the key fields of `service`, and keeps everything else
/// it has (flags, persistence timeout and netmask, persistence engine).
/// Unlike lvskit_update_service(), which restates the whole service (`ipvsadm
/// -E`), this reads it from the kernel and writes it back with the new
/// scheduler (not atomic). A missing service gives `LVSKIT_RESULT_NOT_FOUND`;
/// a scheduler whose module is missing `LVSKIT_RESULT_MODULE_MISSING`; a name
/// that cannot name a module `LVSKIT_RESULT_INVALID_INPUT`.
///
/// # Safety
/// `handle` must be NULL or a live handle; `service` NULL or valid;
/// `scheduler` NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn lvskit_set_scheduler(
    handle: *const lvskit_handle,
    service: *const lvskit_service,
    scheduler: *const c_char,
) -> lvskit_result {
    guard("lvskit_set_scheduler", || {
        // SAFETY: the caller's promise.
        let (h, s, name) = unsafe {
            (
                arg(handle, "handle")?,
                arg(service, "service")?,
                c_str(scheduler, "scheduler")?,
            )
        };
        let key = key_from(s)?;
        module_suffix(name, "scheduler")?;
        h.ipvs.set_scheduler(&key, Scheduler::from_name(name)?)?;
        Ok(())
    })
}
