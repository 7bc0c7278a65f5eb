//! Rules text (`ipvsadm -S` / `-R`) and desired-state tables: read, load
//! from JSON or rules text, diff into a plan, apply, converge.

use std::collections::HashSet;
use std::ffi::c_char;

use ipvs_core::rules::{self, Format};
use ipvs_core::table::{self, DiffOptions, Plan, Scope, Table};
use ipvs_core::Operation;

use crate::batch::{lvskit_batch_report, mode_from, report_from};
use crate::error::{guard, guard_value, input, lvskit_result, CError, CResult};
use crate::ffi::{give, give_string, optional, owned, release, release_string};
use crate::{arg, c_str, lvskit_handle, out};

/// Rules text format: exactly what `ipvsadm -Sn` prints (numeric addresses
/// and ports; thresholds left out, as ipvsadm does).
pub const LVSKIT_RULES_IPVSADM: u32 = 0;
/// Rules text format: `ipvsadm -Sn` plus the thresholds (`-x`, `-y`) and
/// every scheduler flag; `ipvsadm -R` accepts it and it rebuilds the same table.
pub const LVSKIT_RULES_LOSSLESS: u32 = 1;

/// Diff flag: remove real servers in two steps; a server that is to go and
/// still has a non-zero weight is only drained (weight 0) by this plan.
pub const LVSKIT_DIFF_DRAIN_BEFORE_REMOVE: u32 = 0x1;
/// Diff flag: touch only the services named in the desired table; services
/// that are only in the current table are left alone (not deleted).
pub const LVSKIT_DIFF_ONLY_DESIRED_SERVICES: u32 = 0x2;

/// A whole IPVS table (services with their real servers, and optionally
/// connection timeouts) held in memory: the kernel's current table
/// (lvskit_table_read()) or a desired one (lvskit_table_from_json(),
/// lvskit_table_from_rules()).
///
/// Released by lvskit_table_free(). It does not depend on any handle.
#[allow(non_camel_case_types)]
pub struct lvskit_table {
    table: Table,
}

/// The ordered operations that turn one table into another, from
/// lvskit_plan_diff(), lvskit_read_plan() or lvskit_converge(). Released by lvskit_plan_free().
#[allow(non_camel_case_types)]
pub struct lvskit_plan {
    plan: Plan,
}

owned!(lvskit_table, lvskit_plan);

fn format_from(format: u32) -> CResult<Format> {
    match format {
        LVSKIT_RULES_IPVSADM => Ok(Format::Ipvsadm),
        LVSKIT_RULES_LOSSLESS => Ok(Format::Lossless),
        f => Err(input(format!(
            "unknown rules format {f} (use LVSKIT_RULES_IPVSADM or LVSKIT_RULES_LOSSLESS)"
        ))),
    }
}

fn diff_options(desired: &Table, flags: u32) -> CResult<DiffOptions> {
    let known = LVSKIT_DIFF_DRAIN_BEFORE_REMOVE | LVSKIT_DIFF_ONLY_DESIRED_SERVICES;
    if flags & !known != 0 {
        return Err(input(format!(
            "unknown diff flags {:#x} (use LVSKIT_DIFF_* flags)",
            flags & !known
        )));
    }
    let scope = if flags & LVSKIT_DIFF_ONLY_DESIRED_SERVICES != 0 {
        Scope::Services(
            desired
                .services
                .iter()
                .map(|s| s.service.key)
                .collect::<HashSet<_>>(),
        )
    } else {
        Scope::All
    };
    Ok(DiffOptions {
        scope,
        drain_before_remove: flags & LVSKIT_DIFF_DRAIN_BEFORE_REMOVE != 0,
    })
}

/// Hands `s` to C as a new NUL-terminated string (freed by lvskit_string_free()).
///
/// # Safety
/// `p` is a checked non-NULL writable pointer.
unsafe fn string_out(p: *mut *mut c_char, s: String) -> CResult<()> {
    // SAFETY: the caller's promise.
    unsafe { give_string(p, s) }
}

/// Releases a string returned by this library (rules text, JSON, plan
/// text). NULL is accepted and ignored. Do not pass strings from elsewhere.
///
/// # Safety
/// `s` must be NULL or a string from this library, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn lvskit_string_free(s: *mut c_char) {
    // SAFETY: the caller's promise.
    unsafe { release_string(s) }
}

/// Writes the kernel's current table as rules text (`ipvsadm -Sn`): with
/// LVSKIT_RULES_IPVSADM byte for byte what `ipvsadm -Sn` prints, with
/// LVSKIT_RULES_LOSSLESS also the thresholds and scheduler flags. Addresses
/// and ports are always numeric. On success `*text_out` receives a new
/// NUL-terminated string owned by the caller (lvskit_string_free()); an empty
/// table gives "".
///
/// # Safety
/// `handle` must be NULL or a live handle; `text_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_save_rules(
    handle: *const lvskit_handle,
    format: u32,
    text_out: *mut *mut c_char,
) -> lvskit_result {
    guard("lvskit_save_rules", || {
        // SAFETY: the caller's promise.
        let h = unsafe { arg(handle, "handle") }?;
        let to = out(text_out, "text_out")?;
        let format = format_from(format)?;
        let t = Table::read(&h.ipvs)?;
        // SAFETY: checked non-NULL.
        unsafe { string_out(to, rules::save(&t, format)) }
    })
}

/// Applies rules text as `ipvsadm -R` does: each line (`-A`, `-E`, `-D`,
/// `-a`, `-e`, `-d`, `-C`, `-Z`, `--set`, `--start-daemon`,
/// `--stop-daemon`; blank lines and `#` comments are skipped, a leading
/// "ipvsadm" is allowed) becomes one operation, executed in order like a
/// batch (`mode` as for lvskit_execute()), by the core library's restore. The
/// whole text is parsed first: a line that does not parse, or holds a value
/// the kernel would refuse, gives `LVSKIT_RESULT_PARSE_ERROR` with a message
/// "line L, column C: ..." and nothing is sent. Otherwise the result is
/// `LVSKIT_RESULT_OK` whatever the operations' outcomes and `*report_out`
/// receives a report (one entry per rule line, in order) owned by the caller
/// (lvskit_batch_report_free()). `text` is only read during the call.
///
/// # Safety
/// `handle` must be NULL or a live handle; `text` NULL or NUL-terminated;
/// `report_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_restore_rules(
    handle: *const lvskit_handle,
    text: *const c_char,
    mode: u32,
    report_out: *mut *mut lvskit_batch_report,
) -> lvskit_result {
    guard("lvskit_restore_rules", || {
        // SAFETY: the caller's promise.
        let h = unsafe { arg(handle, "handle") }?;
        // SAFETY: the caller's promise.
        let text = unsafe { c_str(text, "text") }?;
        let ro = out(report_out, "report_out")?;
        let mode = mode_from(mode)?;
        let restored = h.ipvs.restore(text, mode)?;
        // SAFETY: checked non-NULL.
        unsafe { give(ro, report_from(&restored.report)) };
        Ok(())
    })
}

fn give_table(p: *mut *mut lvskit_table, table: Table) {
    // SAFETY: callers pass a checked non-NULL writable pointer.
    unsafe { give(p, lvskit_table { table }) };
}

/// Reads the kernel's current table (services, real servers and timeouts).
/// On success `*table_out` receives a new table owned by the caller
/// (lvskit_table_free()).
///
/// # Safety
/// `handle` must be NULL or a live handle; `table_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_table_read(
    handle: *const lvskit_handle,
    table_out: *mut *mut lvskit_table,
) -> lvskit_result {
    guard("lvskit_table_read", || {
        // SAFETY: the caller's promise.
        let h = unsafe { arg(handle, "handle") }?;
        let to = out(table_out, "table_out")?;
        give_table(to, Table::read(&h.ipvs)?);
        Ok(())
    })
}

/// Loads a desired table from JSON, in the form lvskit_table_to_json()
/// writes (the Rust library's serde form: `{"services": [{"service":
/// {...}, "destinations": [...]}], "timeouts": null}`). Bad JSON gives
/// `LVSKIT_RESULT_PARSE_ERROR` with "line L, column C: ..." in the message;
/// well-formed values the kernel would refuse (e.g. a weight out of range)
/// `LVSKIT_RESULT_INVALID_INPUT`. On success `*table_out` receives a new table owned by the caller
/// (lvskit_table_free()). `json` is only read during the call.
///
/// # Safety
/// `json` must be NULL or NUL-terminated; `table_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_table_from_json(
    json: *const c_char,
    table_out: *mut *mut lvskit_table,
) -> lvskit_result {
    guard("lvskit_table_from_json", || {
        // SAFETY: the caller's promise.
        let json = unsafe { c_str(json, "json") }?;
        let to = out(table_out, "table_out")?;
        let table: Table = serde_json::from_str(json).map_err(|e| CError::Parse {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        for s in &table.services {
            Operation::AddService(s.service.clone()).validate()?;
            for d in &s.destinations {
                Operation::AddDestination(s.service.key, *d).validate()?;
            }
        }
        give_table(to, table);
        Ok(())
    })
}

/// Loads a desired table from rules text (`ipvsadm -S` output): the rules
/// applied in order to an empty table; the last `--set` gives the timeouts
/// (none: timeouts are left alone). A line that does not parse, or a rule
/// that does not apply (e.g. `-a` for a missing service), gives
/// `LVSKIT_RESULT_PARSE_ERROR` with "line L, column C: ..." in the message. On
/// success `*table_out` receives a new table owned by the caller
/// (lvskit_table_free()). `text` is only read during the call.
///
/// # Safety
/// `text` must be NULL or NUL-terminated; `table_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_table_from_rules(
    text: *const c_char,
    table_out: *mut *mut lvskit_table,
) -> lvskit_result {
    guard("lvskit_table_from_rules", || {
        // SAFETY: the caller's promise.
        let text = unsafe { c_str(text, "text") }?;
        let to = out(table_out, "table_out")?;
        give_table(to, rules::parse_table(text)?);
        Ok(())
    })
}

/// Writes `table` as JSON (the form lvskit_table_from_json() reads). On
/// success `*json_out` receives a new string owned by the caller
/// (lvskit_string_free()).
///
/// # Safety
/// `table` must be NULL or a live table; `json_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_table_to_json(
    table: *const lvskit_table,
    json_out: *mut *mut c_char,
) -> lvskit_result {
    guard("lvskit_table_to_json", || {
        // SAFETY: the caller's promise.
        let t = unsafe { arg(table, "table") }?;
        let jo = out(json_out, "json_out")?;
        let json = serde_json::to_string(&t.table)
            .map_err(|e| input(format!("the table cannot be written as JSON: {e}")))?;
        // SAFETY: checked non-NULL.
        unsafe { string_out(jo, json) }
    })
}

/// Writes `table` as rules text in `format` (LVSKIT_RULES_IPVSADM or
/// LVSKIT_RULES_LOSSLESS), in ipvsadm's order; timeouts are not written (as
/// with `ipvsadm -S`). On success `*text_out` receives a new string owned by
/// the caller (lvskit_string_free()).
///
/// # Safety
/// `table` must be NULL or a live table; `text_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_table_to_rules(
    table: *const lvskit_table,
    format: u32,
    text_out: *mut *mut c_char,
) -> lvskit_result {
    guard("lvskit_table_to_rules", || {
        // SAFETY: the caller's promise.
        let t = unsafe { arg(table, "table") }?;
        let to = out(text_out, "text_out")?;
        let format = format_from(format)?;
        // SAFETY: checked non-NULL.
        unsafe { string_out(to, rules::save(&t.table, format)) }
    })
}

/// The number of virtual services in `table` (0 for NULL).
///
/// # Safety
/// `table` must be NULL or a live table.
#[no_mangle]
pub unsafe extern "C" fn lvskit_table_service_count(table: *const lvskit_table) -> usize {
    // SAFETY: the caller's promise.
    guard_value(0, || {
        unsafe { optional(table) }.map_or(0, |t| t.table.services.len())
    })
}

/// The number of real servers of all services in `table` (0 for NULL).
///
/// # Safety
/// `table` must be NULL or a live table.
#[no_mangle]
pub unsafe extern "C" fn lvskit_table_destination_count(table: *const lvskit_table) -> usize {
    guard_value(0, || {
        // SAFETY: the caller's promise.
        unsafe { optional(table) }.map_or(0, |t| {
            t.table.services.iter().map(|s| s.destinations.len()).sum()
        })
    })
}

/// Releases a table. NULL is accepted and ignored.
///
/// # Safety
/// `table` must be NULL or a live table, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn lvskit_table_free(table: *mut lvskit_table) {
    // SAFETY: the caller's promise.
    unsafe { release(table) }
}

/// Plans the operations that turn `current` into `desired` (nothing is
/// sent). Order: service additions and updates; then per service real
/// server removals (or drains), updates and additions; then the removal of
/// services that go (their real servers first); timeouts last (only when
/// `desired` has timeouts that differ). `flags` is 0 or LVSKIT_DIFF_* flags.
/// On success `*plan_out` receives a new plan owned by the caller
/// (lvskit_plan_free()); an empty plan means the tables already agree. The
/// tables are only read.
///
/// # Safety
/// `current` and `desired` must be NULL or live tables; `plan_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_plan_diff(
    current: *const lvskit_table,
    desired: *const lvskit_table,
    flags: u32,
    plan_out: *mut *mut lvskit_plan,
) -> lvskit_result {
    guard("lvskit_plan_diff", || {
        // SAFETY: the caller's promise.
        let (c, d) = unsafe { (arg(current, "current")?, arg(desired, "desired")?) };
        let po = out(plan_out, "plan_out")?;
        let opts = diff_options(&d.table, flags)?;
        let plan = table::diff(&c.table, &d.table, &opts);
        // SAFETY: checked non-NULL.
        unsafe { give(po, lvskit_plan { plan }) };
        Ok(())
    })
}

/// The number of operations in `plan` (0 for NULL, and for a plan with
/// nothing to do).
///
/// # Safety
/// `plan` must be NULL or a live plan.
#[no_mangle]
pub unsafe extern "C" fn lvskit_plan_len(plan: *const lvskit_plan) -> usize {
    // SAFETY: the caller's promise.
    guard_value(0, || unsafe { optional(plan) }.map_or(0, |p| p.plan.len()))
}

/// Writes `plan` in ipvsadm's words, one command per line (e.g. "ipvsadm
/// -A -t 10.0.0.1:80 -s wlc"): a dry run. On success `*text_out` receives a
/// new string owned by the caller (lvskit_string_free()); an empty plan gives "".
///
/// # Safety
/// `plan` must be NULL or a live plan; `text_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_plan_text(
    plan: *const lvskit_plan,
    text_out: *mut *mut c_char,
) -> lvskit_result {
    guard("lvskit_plan_text", || {
        // SAFETY: the caller's promise.
        let p = unsafe { arg(plan, "plan") }?;
        let to = out(text_out, "text_out")?;
        // SAFETY: checked non-NULL.
        unsafe { string_out(to, p.plan.to_string()) }
    })
}

/// Releases a plan. NULL is accepted and ignored.
///
/// # Safety
/// `plan` must be NULL or a live plan, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn lvskit_plan_free(plan: *mut lvskit_plan) {
    // SAFETY: the caller's promise.
    unsafe { release(plan) }
}

/// Sends the operations of `plan` as one pipelined batch
/// (LVSKIT_BATCH_CONTINUE). The result is `LVSKIT_RESULT_OK` whatever the
/// operations' outcomes: `*report_out` receives a report (one entry per
/// operation, in the plan's order) owned by the caller
/// (lvskit_batch_report_free()). `plan` is only read.
///
/// # Safety
/// `handle` must be NULL or a live handle; `plan` NULL or a live plan;
/// `report_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_apply_plan(
    handle: *const lvskit_handle,
    plan: *const lvskit_plan,
    report_out: *mut *mut lvskit_batch_report,
) -> lvskit_result {
    guard("lvskit_apply_plan", || {
        // SAFETY: the caller's promise.
        let (h, p) = unsafe { (arg(handle, "handle")?, arg(plan, "plan")?) };
        let ro = out(report_out, "report_out")?;
        // SAFETY: checked non-NULL.
        unsafe { give(ro, report_from(&h.ipvs.apply_plan(&p.plan))) };
        Ok(())
    })
}

/// Reads the kernel's current table and plans the way to `desired` (as
/// lvskit_plan_diff() with `flags`) without applying anything: the dry run of
/// lvskit_converge(). For a large table the planning runs on a second thread
/// while the table is read. On success `*plan_out` receives a plan owned by
/// the caller (lvskit_plan_free()). `desired` is only read.
///
/// # Safety
/// `handle` must be NULL or a live handle; `desired` NULL or a live table;
/// `plan_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_read_plan(
    handle: *const lvskit_handle,
    desired: *const lvskit_table,
    flags: u32,
    plan_out: *mut *mut lvskit_plan,
) -> lvskit_result {
    guard("lvskit_read_plan", || {
        // SAFETY: the caller's promise.
        let (h, d) = unsafe { (arg(handle, "handle")?, arg(desired, "desired")?) };
        let po = out(plan_out, "plan_out")?;
        let opts = diff_options(&d.table, flags)?;
        let plan = h.ipvs.plan(&d.table, &opts)?;
        // SAFETY: checked non-NULL.
        unsafe { give(po, lvskit_plan { plan }) };
        Ok(())
    })
}

/// Reads the kernel's current table, plans the way to `desired` (as
/// lvskit_plan_diff() with `flags`) and applies the plan (as
/// lvskit_apply_plan()). Fails only when the current table cannot be read;
/// the operations' own failures are in the report. On success
/// `*report_out` receives the report and, when `plan_out` is not NULL,
/// `*plan_out` the plan that was applied (its operations match the report's
/// entries one for one); both are owned by the caller
/// (lvskit_batch_report_free(), lvskit_plan_free()). `desired` is only read.
///
/// # Safety
/// `handle` must be NULL or a live handle; `desired` NULL or a live table;
/// `plan_out` NULL or writable; `report_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_converge(
    handle: *const lvskit_handle,
    desired: *const lvskit_table,
    flags: u32,
    plan_out: *mut *mut lvskit_plan,
    report_out: *mut *mut lvskit_batch_report,
) -> lvskit_result {
    guard("lvskit_converge", || {
        // SAFETY: the caller's promise.
        let (h, d) = unsafe { (arg(handle, "handle")?, arg(desired, "desired")?) };
        let ro = out(report_out, "report_out")?;
        let opts = diff_options(&d.table, flags)?;
        let (plan, report) = h.ipvs.converge(&d.table, &opts)?;
        // SAFETY: checked non-NULL; plan_out is optional (give skips a NULL one).
        unsafe {
            give(ro, report_from(&report));
            give(plan_out, lvskit_plan { plan });
        }
        Ok(())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::error::with_last;
    use std::ffi::CStr;
    use std::ptr;

    fn take(s: *mut c_char) -> String {
        // SAFETY: a string made by this library.
        let t = unsafe { CStr::from_ptr(s) }.to_str().unwrap().to_owned();
        // SAFETY: released once.
        unsafe { lvskit_string_free(s) };
        t
    }

    #[test]
    fn rules_to_table_to_plan_text_without_a_kernel() {
        let rules =
            c"-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 2\n--set 10 20 30\n";
        let (mut t, mut empty, mut plan) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
        let mut text = ptr::null_mut();
        // SAFETY: live arguments and out-parameters.
        unsafe {
            assert_eq!(
                lvskit_table_from_rules(rules.as_ptr(), &mut t),
                lvskit_result::Ok
            );
            assert_eq!(
                lvskit_table_from_json(c"{}".as_ptr(), &mut empty),
                lvskit_result::Ok
            );
            assert_eq!(lvskit_table_service_count(t), 1);
            assert_eq!(lvskit_table_destination_count(t), 1);
            assert_eq!(lvskit_plan_diff(empty, t, 0, &mut plan), lvskit_result::Ok);
            assert_eq!(lvskit_plan_len(plan), 3);
            assert_eq!(lvskit_plan_text(plan, &mut text), lvskit_result::Ok);
            assert_eq!(
                take(text),
                "ipvsadm -A -t 10.0.0.1:80 -s rr\n\
                 ipvsadm -a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 2\n\
                 ipvsadm --set 10 20 30\n"
            );
            assert_eq!(lvskit_table_to_json(t, &mut text), lvskit_result::Ok);
            let json = take(text);
            assert!(json.contains("\"timeouts\""), "{json}");
            lvskit_plan_free(plan);
            // only-desired scope: an empty desired table touches nothing
            assert_eq!(
                lvskit_plan_diff(t, empty, LVSKIT_DIFF_ONLY_DESIRED_SERVICES, &mut plan),
                lvskit_result::Ok
            );
            assert_eq!(lvskit_plan_len(plan), 0);
            lvskit_plan_free(plan);
            assert_eq!(lvskit_plan_diff(t, empty, 0, &mut plan), lvskit_result::Ok);
            assert_eq!(lvskit_plan_len(plan), 2);
            lvskit_plan_free(plan);
            lvskit_table_free(t);
            lvskit_table_free(empty);
        }
    }

    #[test]
    fn parse_errors_say_where() {
        let mut t = 0x1 as *mut lvskit_table;
        // SAFETY: live arguments.
        let r = unsafe {
            lvskit_table_from_rules(c"-A -t 10.0.0.1:80\n-A -t 10.0.0.1:99x\n".as_ptr(), &mut t)
        };
        assert_eq!(r, lvskit_result::ParseError);
        assert_eq!(t, 0x1 as *mut _);
        with_last((), |code, errno, msg| {
            assert_eq!(code, lvskit_result::ParseError);
            assert_eq!(errno, 0);
            assert!(msg.starts_with("line 2, column 7: illegal"), "{msg}");
        });
        // SAFETY: live arguments.
        let r = unsafe { lvskit_table_from_json(c"{\"services\":\n [1]}".as_ptr(), &mut t) };
        assert_eq!(r, lvskit_result::ParseError);
        with_last((), |_, _, msg| {
            assert!(msg.starts_with("line 2, column "), "{msg}")
        });
    }

    #[test]
    fn every_rule_becomes_its_operation() {
        let text = "-A -t 10.0.0.1:80\n-E -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.1.1\n\
                    -e -t 10.0.0.1:80 -r 10.0.1.1 -w 3\n-d -t 10.0.0.1:80 -r 10.0.1.1\n\
                    -D -t 10.0.0.1:80\n-C\n-Z\n--set 1 2 3\n\
                    --start-daemon master --mcast-interface lo\n--stop-daemon master\n";
        let ops: Vec<String> = rules::parse(text)
            .unwrap()
            .iter()
            .map(|op| op.to_string())
            .collect();
        let words: Vec<&str> = ops
            .iter()
            .map(|o| o.split_whitespace().nth(1).unwrap())
            .collect();
        assert_eq!(
            words,
            [
                "-A",
                "-E",
                "-a",
                "-e",
                "-d",
                "-D",
                "-C",
                "-Z",
                "--set",
                "--start-daemon",
                "--stop-daemon"
            ],
            "{ops:?}"
        );
    }
}
