//! Result codes, the thread-local last error, and the guard that keeps
//! panics from crossing the C boundary.

use std::cell::RefCell;
use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

use ipvs_core::Error;

/// The result of every fallible `ipvs_*` function.
///
/// The numbers are part of the ABI and never change; new codes may be added
/// (so a `switch` over them needs a `default` branch). Codes are grouped:
/// 1..=99 the caller's mistakes found before anything was sent, 100..=199 the
/// kernel's refusals (the errno is kept, see ipvs_last_errno()), 200..=299
/// transport failures, 900..=999 internal failures.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ipvs_result {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullParameter = 1,
    /// An argument is invalid (unknown family or protocol, zero fwmark,
    /// unterminated name, weight out of range, ...); nothing was sent.
    InvalidInput = 2,
    /// An index is past the end of a list.
    OutOfRange = 3,
    /// Text (rules text, JSON) could not be parsed; the message starts with
    /// "line L, column C:" naming where. Nothing was sent.
    ParseError = 4,
    /// The object already exists (EEXIST).
    Exists = 100,
    /// The object does not exist (ESRCH, ENOENT, ENODEV).
    NotFound = 101,
    /// The kernel refused the values (EINVAL, ERANGE, EAFNOSUPPORT, ...).
    Invalid = 102,
    /// The caller lacks CAP_NET_ADMIN in the network namespace (EPERM).
    PermissionDenied = 103,
    /// A kernel module (ip_vs, a scheduler, a persistence engine) is missing.
    ModuleMissing = 104,
    /// Any other errno from the kernel.
    Kernel = 105,
    /// A system call failed (socket, setns, opening a namespace, ...).
    Io = 200,
    /// The kernel's reply could not be understood.
    Protocol = 201,
    /// No reply arrived in time (see ipvs_set_timeout_ms()).
    Timeout = 202,
    /// An operation of a batch was not sent because an earlier one failed.
    NotAttempted = 203,
    /// The library panicked; this is a bug (the panic did not cross into C).
    Panic = 900,
    /// An error this version of the binding does not know how to classify.
    Unknown = 999,
}

impl ipvs_result {
    pub(crate) fn name(self) -> &'static std::ffi::CStr {
        match self {
            ipvs_result::Ok => c"IPVS_RESULT_OK",
            ipvs_result::NullParameter => c"IPVS_RESULT_NULL_PARAMETER",
            ipvs_result::InvalidInput => c"IPVS_RESULT_INVALID_INPUT",
            ipvs_result::OutOfRange => c"IPVS_RESULT_OUT_OF_RANGE",
            ipvs_result::ParseError => c"IPVS_RESULT_PARSE_ERROR",
            ipvs_result::Exists => c"IPVS_RESULT_EXISTS",
            ipvs_result::NotFound => c"IPVS_RESULT_NOT_FOUND",
            ipvs_result::Invalid => c"IPVS_RESULT_INVALID",
            ipvs_result::PermissionDenied => c"IPVS_RESULT_PERMISSION_DENIED",
            ipvs_result::ModuleMissing => c"IPVS_RESULT_MODULE_MISSING",
            ipvs_result::Kernel => c"IPVS_RESULT_KERNEL",
            ipvs_result::Io => c"IPVS_RESULT_IO",
            ipvs_result::Protocol => c"IPVS_RESULT_PROTOCOL",
            ipvs_result::Timeout => c"IPVS_RESULT_TIMEOUT",
            ipvs_result::NotAttempted => c"IPVS_RESULT_NOT_ATTEMPTED",
            ipvs_result::Panic => c"IPVS_RESULT_PANIC",
            ipvs_result::Unknown => c"IPVS_RESULT_UNKNOWN",
        }
    }

    pub(crate) const ALL: [ipvs_result; 17] = [
        ipvs_result::Ok,
        ipvs_result::NullParameter,
        ipvs_result::InvalidInput,
        ipvs_result::OutOfRange,
        ipvs_result::ParseError,
        ipvs_result::Exists,
        ipvs_result::NotFound,
        ipvs_result::Invalid,
        ipvs_result::PermissionDenied,
        ipvs_result::ModuleMissing,
        ipvs_result::Kernel,
        ipvs_result::Io,
        ipvs_result::Protocol,
        ipvs_result::Timeout,
        ipvs_result::NotAttempted,
        ipvs_result::Panic,
        ipvs_result::Unknown,
    ];
}

/// A failure of one C call.
#[derive(Debug)]
pub(crate) enum CError {
    /// A required pointer was NULL: names the parameter.
    Null(&'static str),
    /// An argument is invalid: what and why.
    Input(String),
    /// An index past the end of a list.
    OutOfRange { index: usize, len: usize },
    /// Text that does not parse: where and why.
    Parse {
        line: usize,
        column: usize,
        message: String,
    },
    /// The core library failed.
    Core(Error),
}

impl From<ipvs_core::rules::ParseError> for CError {
    fn from(e: ipvs_core::rules::ParseError) -> Self {
        CError::Parse {
            line: e.line,
            column: e.column,
            message: e.message,
        }
    }
}

impl From<Error> for CError {
    fn from(e: Error) -> Self {
        CError::Core(e)
    }
}

pub(crate) type CResult<T> = Result<T, CError>;

pub(crate) fn input(msg: impl Into<String>) -> CError {
    CError::Input(msg.into())
}

/// The result code for an error of the core library.
pub(crate) fn core_code(e: &Error) -> ipvs_result {
    match e {
        Error::InvalidInput { .. } => ipvs_result::InvalidInput,
        Error::Exists { .. } => ipvs_result::Exists,
        Error::NotFound { .. } => ipvs_result::NotFound,
        Error::Invalid { .. } => ipvs_result::Invalid,
        Error::PermissionDenied { .. } => ipvs_result::PermissionDenied,
        Error::ModuleMissing { .. } => ipvs_result::ModuleMissing,
        Error::Kernel { .. } => ipvs_result::Kernel,
        Error::Io { .. } => ipvs_result::Io,
        Error::Protocol { .. } => ipvs_result::Protocol,
        Error::Timeout { .. } => ipvs_result::Timeout,
        Error::NotAttempted { .. } => ipvs_result::NotAttempted,
        _ => ipvs_result::Unknown,
    }
}

impl CError {
    fn code(&self) -> ipvs_result {
        match self {
            CError::Null(_) => ipvs_result::NullParameter,
            CError::Input(_) => ipvs_result::InvalidInput,
            CError::OutOfRange { .. } => ipvs_result::OutOfRange,
            CError::Parse { .. } => ipvs_result::ParseError,
            CError::Core(e) => core_code(e),
        }
    }

    fn errno(&self) -> i32 {
        match self {
            CError::Core(e) => e.errno().unwrap_or(0),
            _ => 0,
        }
    }

    fn message(&self, func: &str) -> String {
        match self {
            CError::Null(p) => format!("{func}: parameter {p} is NULL"),
            CError::Input(m) => format!("{func}: {m}"),
            CError::OutOfRange { index, len } => {
                format!("{func}: index {index} is past the end of a list of {len}")
            }
            CError::Parse {
                line,
                column,
                message,
            } => format!("line {line}, column {column}: {message} ({func})"),
            CError::Core(e) => e.to_string(),
        }
    }
}

struct LastError {
    code: ipvs_result,
    errno: i32,
    message: String,
}

thread_local! {
    static LAST: RefCell<LastError> = const {
        RefCell::new(LastError { code: ipvs_result::Ok, errno: 0, message: String::new() })
    };
}

fn set_last(code: ipvs_result, errno: i32, message: String) {
    // A thread being torn down has no thread-locals left; nothing to record then.
    let _ = LAST.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            *l = LastError {
                code,
                errno,
                message,
            };
        }
    });
}

/// Reads this thread's last error; `default` if the thread is exiting.
pub(crate) fn with_last<R: Copy>(default: R, f: impl FnOnce(ipvs_result, i32, &str) -> R) -> R {
    LAST.try_with(|l| match l.try_borrow() {
        Ok(l) => f(l.code, l.errno, &l.message),
        Err(_) => default,
    })
    .unwrap_or(default)
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_owned()
    }
}

/// Runs the body of a fallible exported function: catches panics, records
/// the outcome as this thread's last error, and returns its code.
pub(crate) fn guard(func: &'static str, body: impl FnOnce() -> CResult<()>) -> ipvs_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            set_last(ipvs_result::Ok, 0, String::new());
            ipvs_result::Ok
        }
        Ok(Err(e)) => {
            let code = e.code();
            set_last(code, e.errno(), e.message(func));
            code
        }
        Err(p) => {
            set_last(
                ipvs_result::Panic,
                0,
                format!("{func}: internal error (panic): {}", panic_message(&*p)),
            );
            ipvs_result::Panic
        }
    }
}

/// Runs the body of an infallible exported function (accessors, frees),
/// returning `fallback` if it panicked. Does not touch the last error.
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// Copies `msg` into `buf` of `len` bytes as a NUL-terminated string, cut at
/// a character boundary if it does not fit. Returns the bytes copied
/// (without the NUL).
///
/// # Safety
/// `buf` must be valid for `len` bytes of writes, or NULL/`len == 0`.
pub(crate) unsafe fn copy_message(msg: &str, buf: *mut c_char, len: usize) -> usize {
    if buf.is_null() || len == 0 {
        return 0;
    }
    let mut n = msg.len().min(len - 1);
    while !msg.is_char_boundary(n) {
        n -= 1;
    }
    // SAFETY: the caller promises `len` writable bytes at `buf`; n + 1 <= len.
    unsafe {
        std::ptr::copy_nonoverlapping(msg.as_ptr(), buf.cast::<u8>(), n);
        *buf.add(n) = 0;
    }
    n
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_result_code_with_its_message() {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {})); // keep the test output quiet
        let r = guard("ipvs_test", || panic!("boom {}", 42));
        let v = guard_value(7u32, || panic!("again"));
        std::panic::set_hook(prev);
        assert_eq!(r, ipvs_result::Panic);
        assert_eq!(v, 7);
        with_last((), |code, errno, msg| {
            assert_eq!(code, ipvs_result::Panic);
            assert_eq!(errno, 0);
            assert_eq!(msg, "ipvs_test: internal error (panic): boom 42");
        });
        // and a later success clears it
        assert_eq!(guard("ipvs_test", || Ok(())), ipvs_result::Ok);
        with_last((), |code, _, msg| {
            assert_eq!(code, ipvs_result::Ok);
            assert!(msg.is_empty());
        });
    }

    #[test]
    fn core_errors_keep_their_errno() {
        let e = CError::Core(Error::Exists {
            context: "adding".into(),
            errno: libc::EEXIST,
        });
        assert_eq!(e.code(), ipvs_result::Exists);
        assert_eq!(e.errno(), libc::EEXIST);
        assert_eq!(guard("f", || Err(e)), ipvs_result::Exists);
        with_last((), |_, errno, msg| {
            assert_eq!(errno, libc::EEXIST);
            assert!(msg.starts_with("adding: already exists"), "{msg}");
        });
    }
}
