//! The IPVS sysctls (`net.ipv4.vs.*`) of a handle's namespace, through the
//! core's typed knobs. A knob is named by its file name
//! (`"conn_reuse_mode"`); lvskit_sysctl_knob_name() lists them.

use std::ffi::{c_char, CString};
use std::sync::OnceLock;

use ipvs_core::sysctl::{self, Knob, Value};

use crate::error::{guard, input, CResult};
use crate::{arg, c_str, lvskit_handle, lvskit_result, out, put};

/// The bytes of lvskit_sysctl_value::text, with its terminating NUL.
pub const LVSKIT_SYSCTL_TEXT_MAX: usize = 256;

/// lvskit_sysctl_value::kind: on or off, `number` is 0 or 1.
pub const LVSKIT_SYSCTL_BOOL: u32 = 0;
/// lvskit_sysctl_value::kind: a number in `number`.
pub const LVSKIT_SYSCTL_INT: u32 = 1;
/// lvskit_sysctl_value::kind: `sync_threshold`, the threshold in `number`, the period in `second`.
pub const LVSKIT_SYSCTL_PAIR: u32 = 2;
/// lvskit_sysctl_value::kind: text in `text` (a CPU list, or a value in a form the library does not know).
pub const LVSKIT_SYSCTL_TEXT: u32 = 3;

/// The value of one knob.
#[repr(C)]
#[derive(Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct lvskit_sysctl_value {
    /// Which fields hold the value: one of LVSKIT_SYSCTL_BOOL, _INT, _PAIR, _TEXT.
    pub kind: u32,
    /// The number (BOOL: 0 or 1; INT; PAIR: the threshold).
    pub number: i64,
    /// PAIR: the period.
    pub second: i64,
    /// TEXT: NUL-terminated.
    pub text: [c_char; LVSKIT_SYSCTL_TEXT_MAX],
}

fn knob(name: &str) -> CResult<Knob> {
    Ok(Knob::from_name(name)?)
}

fn to_c(v: &Value) -> CResult<lvskit_sysctl_value> {
    let mut c = lvskit_sysctl_value {
        kind: LVSKIT_SYSCTL_INT,
        number: 0,
        second: 0,
        text: [0; LVSKIT_SYSCTL_TEXT_MAX],
    };
    match v {
        Value::Bool(b) => (c.kind, c.number) = (LVSKIT_SYSCTL_BOOL, i64::from(*b)),
        Value::Int(n) => c.number = *n,
        Value::Pair([a, b]) => (c.kind, c.number, c.second) = (LVSKIT_SYSCTL_PAIR, *a, *b),
        Value::Text(s) => {
            if s.len() >= LVSKIT_SYSCTL_TEXT_MAX || s.contains('\0') {
                return Err(input(format!(
                    "the value {s:?} does not fit lvskit_sysctl_value.text"
                )));
            }
            c.kind = LVSKIT_SYSCTL_TEXT;
            for (d, s) in c.text.iter_mut().zip(s.bytes()) {
                *d = s as c_char;
            }
        }
        _ => return Err(input("a value of a kind this binding does not know")),
    }
    Ok(c)
}

fn from_c(c: &lvskit_sysctl_value) -> CResult<Value> {
    Ok(match c.kind {
        LVSKIT_SYSCTL_BOOL => match c.number {
            0 | 1 => Value::Bool(c.number == 1),
            n => return Err(input(format!("a BOOL value must be 0 or 1, not {n}"))),
        },
        LVSKIT_SYSCTL_INT => Value::Int(c.number),
        LVSKIT_SYSCTL_PAIR => Value::Pair([c.number, c.second]),
        LVSKIT_SYSCTL_TEXT => {
            let bytes: Vec<u8> = c
                .text
                .iter()
                .take_while(|&&b| b != 0)
                .map(|&b| b as u8)
                .collect();
            if bytes.len() == LVSKIT_SYSCTL_TEXT_MAX {
                return Err(input("text is not NUL-terminated"));
            }
            Value::Text(String::from_utf8(bytes).map_err(|_| input("text is not UTF-8"))?)
        }
        k => return Err(input(format!("{k} is no lvskit_sysctl_kind"))),
    })
}

/// The name of knob number `index` (0, 1, ...), a static string; NULL past
/// the last knob.
#[no_mangle]
pub extern "C" fn lvskit_sysctl_knob_name(index: usize) -> *const c_char {
    // the core's names, made NUL-terminated once
    static NAMES: OnceLock<Vec<CString>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        Knob::ALL
            .iter()
            .filter_map(|k| CString::new(k.name()).ok())
            .collect()
    });
    names.get(index).map_or(std::ptr::null(), |n| n.as_ptr())
}

/// Reads the knob named `knob` (e.g. `"conn_reuse_mode"`) in the handle's
/// network namespace into `*value_out`. `LVSKIT_RESULT_NOT_FOUND` when this
/// kernel has no such knob.
///
/// # Safety
/// `handle` NULL or live; `knob` NULL or a NUL-terminated string;
/// `value_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_sysctl_get(
    handle: *const lvskit_handle,
    knob: *const c_char,
    value_out: *mut lvskit_sysctl_value,
) -> lvskit_result {
    guard("lvskit_sysctl_get", || {
        // SAFETY: the caller's promises.
        let (h, k) = unsafe { (arg(handle, "handle")?, c_str(knob, "knob")?) };
        let to = out(value_out, "value_out")?;
        let v = to_c(&sysctl::read(h.ipvs.namespace(), self::knob(k)?)?)?;
        // SAFETY: checked non-NULL; the caller promises writability.
        unsafe { put(to, v) };
        Ok(())
    })
}

/// Checks `*value` against the knob's documented range
/// (`LVSKIT_RESULT_INVALID_INPUT`, nothing written) and writes it in the
/// handle's network namespace.
///
/// # Safety
/// `handle` NULL or live; `knob` NULL or a NUL-terminated string; `value`
/// NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lvskit_sysctl_set(
    handle: *const lvskit_handle,
    knob: *const c_char,
    value: *const lvskit_sysctl_value,
) -> lvskit_result {
    guard("lvskit_sysctl_set", || {
        // SAFETY: the caller's promises.
        let (h, k, v) = unsafe {
            (
                arg(handle, "handle")?,
                c_str(knob, "knob")?,
                arg(value, "value")?,
            )
        };
        sysctl::write(h.ipvs.namespace(), self::knob(k)?, &from_c(v)?)?;
        Ok(())
    })
}
