//! Batches: many changes sent in few system calls, with a result per operation.

use std::ffi::c_char;

use ipvs_core::{BatchMode, BatchReport, OpOutcome, Operation};

use crate::error::{copy_message, core_code, guard, guard_value, input, lvskit_result, CResult};
use crate::ffi::{arg_mut, give, optional, owned, release, snapshot, snapshot_get, snapshot_len};
use crate::types::*;
use crate::{arg, lvskit_handle, out, put};

/// Batch mode: send every operation (pipelined, few system calls); each
/// gets its own result.
pub const LVSKIT_BATCH_CONTINUE: u32 = 0;
/// Batch mode: send one operation at a time and stop at the first failure;
/// the later ones are reported as LVSKIT_OP_NOT_ATTEMPTED.
pub const LVSKIT_BATCH_STOP_ON_ERROR: u32 = 1;

/// Operation status: the kernel applied it.
pub const LVSKIT_OP_DONE: u32 = 0;
/// Operation status: it failed (refused before sending, or by the kernel).
pub const LVSKIT_OP_FAILED: u32 = 1;
/// Operation status: it was not sent (LVSKIT_BATCH_STOP_ON_ERROR after a failure).
pub const LVSKIT_OP_NOT_ATTEMPTED: u32 = 2;
/// Operation status: it was sent but the exchange broke before its outcome
/// was known; read the table to find out.
pub const LVSKIT_OP_UNKNOWN: u32 = 3;

/// A list of changes to apply together with lvskit_execute().
///
/// Created by lvskit_batch_new(), released by lvskit_batch_free(); filled by the
/// lvskit_batch_* functions, which copy their arguments (nothing is kept
/// pointing into the caller's memory). It does not depend on a handle and may
/// be executed several times.
#[allow(non_camel_case_types)]
pub struct lvskit_batch {
    ops: Vec<Operation>,
}

/// The outcome of each operation of an executed batch, in order.
///
/// From lvskit_execute(); read with lvskit_batch_report_len(),
/// lvskit_batch_report_done(), lvskit_batch_report_get() and
/// lvskit_batch_report_message(); release with lvskit_batch_report_free().
#[allow(non_camel_case_types)]
pub struct lvskit_batch_report {
    items: Vec<(lvskit_op_result, String)>,
}

owned!(lvskit_batch);
snapshot!(lvskit_batch_report => (lvskit_op_result, String));

/// The outcome of one operation of a batch.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct lvskit_op_result {
    /// LVSKIT_OP_DONE, LVSKIT_OP_FAILED, LVSKIT_OP_NOT_ATTEMPTED or LVSKIT_OP_UNKNOWN.
    pub status: u32,
    /// The ::lvskit_result the operation alone would have returned
    /// (LVSKIT_RESULT_OK when done, LVSKIT_RESULT_NOT_ATTEMPTED when not sent).
    pub result: u32,
    /// The kernel's errno for a failure, else 0.
    pub err_no: i32,
}

fn outcome(o: &OpOutcome) -> (lvskit_op_result, String) {
    match o {
        OpOutcome::Done => (lvskit_op_result::default(), String::new()),
        OpOutcome::NotAttempted => (
            lvskit_op_result {
                status: LVSKIT_OP_NOT_ATTEMPTED,
                result: lvskit_result::NotAttempted as u32,
                err_no: 0,
            },
            "not attempted: an earlier operation of the batch failed".to_owned(),
        ),
        OpOutcome::Failed(e) | OpOutcome::Unknown(e) => {
            let status = if matches!(o, OpOutcome::Failed(_)) {
                LVSKIT_OP_FAILED
            } else {
                LVSKIT_OP_UNKNOWN
            };
            (
                lvskit_op_result {
                    status,
                    result: core_code(e) as u32,
                    err_no: e.errno().unwrap_or(0),
                },
                e.to_string(),
            )
        }
        _ => (
            lvskit_op_result {
                status: LVSKIT_OP_UNKNOWN,
                result: lvskit_result::Unknown as u32,
                err_no: 0,
            },
            "unknown outcome".to_owned(),
        ),
    }
}

/// The C report of a core batch report.
pub(crate) fn report_from(report: &BatchReport) -> lvskit_batch_report {
    lvskit_batch_report {
        items: report.outcomes.iter().map(outcome).collect(),
    }
}

/// Parses a batch mode argument.
pub(crate) fn mode_from(mode: u32) -> CResult<BatchMode> {
    match mode {
        LVSKIT_BATCH_CONTINUE => Ok(BatchMode::Continue),
        LVSKIT_BATCH_STOP_ON_ERROR => Ok(BatchMode::StopOnError),
        m => Err(input(format!(
            "unknown batch mode {m} (use LVSKIT_BATCH_CONTINUE or LVSKIT_BATCH_STOP_ON_ERROR)"
        ))),
    }
}

/// Creates an empty batch. On success `*batch_out` receives it, owned by
/// the caller, to release with lvskit_batch_free().
///
/// # Safety
/// `batch_out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_batch_new(batch_out: *mut *mut lvskit_batch) -> lvskit_result {
    guard("lvskit_batch_new", || {
        let p = out(batch_out, "batch_out")?;
        // SAFETY: checked non-NULL; the caller promises writability.
        unsafe { give(p, lvskit_batch { ops: Vec::new() }) };
        Ok(())
    })
}

/// Releases a batch. NULL is accepted and ignored.
///
/// # Safety
/// `batch` must be NULL or a live batch, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn lvskit_batch_free(batch: *mut lvskit_batch) {
    // SAFETY: the caller's promise.
    unsafe { release(batch) }
}

/// The number of operations in `batch` (0 for NULL).
///
/// # Safety
/// `batch` must be NULL or a live batch.
#[no_mangle]
pub unsafe extern "C" fn lvskit_batch_len(batch: *const lvskit_batch) -> usize {
    // SAFETY: the caller's promise.
    guard_value(0, || unsafe { optional(batch) }.map_or(0, |b| b.ops.len()))
}

/// Appends an operation built by `make` after validating it; the batch is
/// unchanged when it fails.
fn append(
    func: &'static str,
    batch: *mut lvskit_batch,
    make: impl FnOnce() -> CResult<Operation>,
) -> lvskit_result {
    guard(func, || {
        // SAFETY: the exported callers pass their callers' promise on.
        let b = unsafe { arg_mut(batch, "batch") }?;
        let op = make()?;
        op.validate()?;
        b.ops.push(op);
        Ok(())
    })
}

/// Appends "add this service" (see lvskit_add_service()). Invalid values give
/// `LVSKIT_RESULT_INVALID_INPUT` now, and leave the batch unchanged.
///
/// # Safety
/// `batch` must be NULL or a live batch; `service` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lvskit_batch_add_service(
    batch: *mut lvskit_batch,
    service: *const lvskit_service,
) -> lvskit_result {
    append("lvskit_batch_add_service", batch, || {
        // SAFETY: the caller's promise.
        let s = unsafe { arg(service, "service") }?;
        Ok(Operation::AddService(service_from(s)?))
    })
}

/// Appends "update this service" (see lvskit_update_service()).
///
/// # Safety
/// `batch` must be NULL or a live batch; `service` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lvskit_batch_update_service(
    batch: *mut lvskit_batch,
    service: *const lvskit_service,
) -> lvskit_result {
    append("lvskit_batch_update_service", batch, || {
        // SAFETY: the caller's promise.
        let s = unsafe { arg(service, "service") }?;
        Ok(Operation::UpdateService(service_from(s)?))
    })
}

/// Appends "delete this service" (see lvskit_delete_service(); only the key
/// fields are read).
///
/// # Safety
/// `batch` must be NULL or a live batch; `service` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lvskit_batch_delete_service(
    batch: *mut lvskit_batch,
    service: *const lvskit_service,
) -> lvskit_result {
    append("lvskit_batch_delete_service", batch, || {
        // SAFETY: the caller's promise.
        let s = unsafe { arg(service, "service") }?;
        Ok(Operation::DeleteService(key_from(s)?))
    })
}

fn dest_op(
    func: &'static str,
    batch: *mut lvskit_batch,
    service: *const lvskit_service,
    destination: *const lvskit_destination,
    make: impl FnOnce(ipvs_core::ServiceKey, ipvs_core::Destination) -> Operation,
) -> lvskit_result {
    append(func, batch, || {
        // SAFETY: the exported callers pass their callers' promise on.
        let (s, d) = unsafe { (arg(service, "service")?, arg(destination, "destination")?) };
        Ok(make(key_from(s)?, destination_from(d)?))
    })
}

/// Appends "add this real server to this service" (see lvskit_add_destination()).
///
/// # Safety
/// `batch` must be NULL or a live batch; `service` and `destination` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lvskit_batch_add_destination(
    batch: *mut lvskit_batch,
    service: *const lvskit_service,
    destination: *const lvskit_destination,
) -> lvskit_result {
    dest_op(
        "lvskit_batch_add_destination",
        batch,
        service,
        destination,
        Operation::AddDestination,
    )
}

/// Appends "update this real server" (see lvskit_update_destination()).
///
/// # Safety
/// `batch` must be NULL or a live batch; `service` and `destination` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lvskit_batch_update_destination(
    batch: *mut lvskit_batch,
    service: *const lvskit_service,
    destination: *const lvskit_destination,
) -> lvskit_result {
    dest_op(
        "lvskit_batch_update_destination",
        batch,
        service,
        destination,
        Operation::UpdateDestination,
    )
}

/// Appends "remove this real server" (see lvskit_delete_destination()).
///
/// # Safety
/// `batch` must be NULL or a live batch; `service` and `destination` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lvskit_batch_delete_destination(
    batch: *mut lvskit_batch,
    service: *const lvskit_service,
    destination: *const lvskit_destination,
) -> lvskit_result {
    dest_op(
        "lvskit_batch_delete_destination",
        batch,
        service,
        destination,
        |k, d| Operation::DeleteDestination(k, d.addr, d.port),
    )
}

/// Appends "set these timeouts" (see lvskit_set_timeouts()).
///
/// # Safety
/// `batch` must be NULL or a live batch; `timeouts` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lvskit_batch_set_timeouts(
    batch: *mut lvskit_batch,
    timeouts: *const lvskit_timeouts,
) -> lvskit_result {
    append("lvskit_batch_set_timeouts", batch, || {
        // SAFETY: the caller's promise.
        let t = unsafe { arg(timeouts, "timeouts") }?;
        Ok(Operation::SetTimeouts(timeouts_from(t)))
    })
}

/// Appends "start this sync daemon" (see lvskit_start_sync_daemon()).
///
/// # Safety
/// `batch` must be NULL or a live batch; `daemon` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lvskit_batch_start_sync_daemon(
    batch: *mut lvskit_batch,
    daemon: *const lvskit_sync_daemon,
) -> lvskit_result {
    append("lvskit_batch_start_sync_daemon", batch, || {
        // SAFETY: the caller's promise.
        let d = unsafe { arg(daemon, "daemon") }?;
        Ok(Operation::StartDaemon(daemon_from(d)?))
    })
}

/// Appends "stop the sync daemon in this state" (see lvskit_stop_sync_daemon()).
///
/// # Safety
/// `batch` must be NULL or a live batch.
#[no_mangle]
pub unsafe extern "C" fn lvskit_batch_stop_sync_daemon(
    batch: *mut lvskit_batch,
    state: u32,
) -> lvskit_result {
    append("lvskit_batch_stop_sync_daemon", batch, || {
        Ok(Operation::StopDaemon(state_from(state)?))
    })
}

/// Appends "zero the counters" of one service, or of all when `service` is
/// NULL (see lvskit_zero()).
///
/// # Safety
/// `batch` must be NULL or a live batch; `service` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lvskit_batch_zero(
    batch: *mut lvskit_batch,
    service: *const lvskit_service,
) -> lvskit_result {
    append("lvskit_batch_zero", batch, || {
        // SAFETY: the caller's promise; NULL means all services.
        let key = match unsafe { optional(service) } {
            Some(s) => Some(key_from(s)?),
            None => None,
        };
        Ok(Operation::Zero(key))
    })
}

/// Appends "delete every service" (see lvskit_flush()).
///
/// # Safety
/// `batch` must be NULL or a live batch.
#[no_mangle]
pub unsafe extern "C" fn lvskit_batch_flush(batch: *mut lvskit_batch) -> lvskit_result {
    append("lvskit_batch_flush", batch, || Ok(Operation::Flush))
}

/// Sends the operations of `batch` in order and records each one's outcome.
///
/// `mode` is LVSKIT_BATCH_CONTINUE (pipelined; every operation is sent) or
/// LVSKIT_BATCH_STOP_ON_ERROR (one at a time; nothing after the first
/// failure is sent). The result is `LVSKIT_RESULT_OK` when the batch was
/// executed, *whatever the operations' outcomes*: on success
/// `*report_out` receives a report, owned by the caller (release it with
/// lvskit_batch_report_free()), that says what happened to each operation;
/// lvskit_batch_report_done() equal to lvskit_batch_report_len() means all were
/// applied. `batch` is only read, and may be executed again.
///
/// # Safety
/// `handle` must be NULL or a live handle; `batch` NULL or a live batch;
/// `report_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_execute(
    handle: *const lvskit_handle,
    batch: *const lvskit_batch,
    mode: u32,
    report_out: *mut *mut lvskit_batch_report,
) -> lvskit_result {
    guard("lvskit_execute", || {
        // SAFETY: the caller's promise.
        let (h, b) = unsafe { (arg(handle, "handle")?, arg(batch, "batch")?) };
        let ro = out(report_out, "report_out")?;
        let mode = mode_from(mode)?;
        let report: BatchReport = h.ipvs.execute(&b.ops, mode);
        // SAFETY: checked non-NULL; the caller promises writability.
        unsafe { give(ro, report_from(&report)) };
        Ok(())
    })
}

/// The number of operations `report` covers (0 for NULL).
///
/// # Safety
/// `report` must be NULL or a live report.
#[no_mangle]
pub unsafe extern "C" fn lvskit_batch_report_len(report: *const lvskit_batch_report) -> usize {
    // SAFETY: the caller's promise.
    unsafe { snapshot_len(report) }
}

/// How many operations of `report` were applied (0 for NULL).
///
/// # Safety
/// `report` must be NULL or a live report.
#[no_mangle]
pub unsafe extern "C" fn lvskit_batch_report_done(report: *const lvskit_batch_report) -> usize {
    guard_value(0, || {
        // SAFETY: the caller's promise.
        unsafe { optional(report) }.map_or(0, |r| {
            r.items
                .iter()
                .filter(|(o, _)| o.status == LVSKIT_OP_DONE)
                .count()
        })
    })
}

/// Copies the outcome of operation number `index` (from 0, in the order
/// they were appended) to `*result_out`. An index past the end gives
/// `LVSKIT_RESULT_OUT_OF_RANGE`.
///
/// # Safety
/// `report` must be NULL or a live report; `result_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_batch_report_get(
    report: *const lvskit_batch_report,
    index: usize,
    result_out: *mut lvskit_op_result,
) -> lvskit_result {
    let first = (result_out, "result_out");
    // SAFETY: the caller's promises; the out-parameter is checked.
    unsafe {
        snapshot_get(
            "lvskit_batch_report_get",
            report,
            index,
            first,
            |(o, _), ro| put(ro, *o),
        )
    }
}

/// Writes the error message of operation number `index` into `buf` like
/// lvskit_last_error_message() (empty for an applied operation), and returns
/// its full length. Returns 0 and writes nothing else for a NULL report or
/// an index past the end. Does not change the last error.
///
/// # Safety
/// `report` must be NULL or a live report; `buf` NULL or valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn lvskit_batch_report_message(
    report: *const lvskit_batch_report,
    index: usize,
    buf: *mut c_char,
    len: usize,
) -> usize {
    guard_value(0, || {
        // SAFETY: the caller's promise.
        let Some((_, msg)) = unsafe { optional(report) }.and_then(|r| r.items.get(index)) else {
            return 0;
        };
        // SAFETY: the caller's promise about buf and len.
        unsafe { copy_message(msg, buf, len) };
        msg.len()
    })
}

/// Releases a report. NULL is accepted and ignored.
///
/// # Safety
/// `report` must be NULL or a live report, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn lvskit_batch_report_free(report: *mut lvskit_batch_report) {
    // SAFETY: the caller's promise.
    unsafe { release(report) }
}
