//! Result codes, the thread-local last error, and the guard that keeps
//! panics from crossing the C boundary.

use std::cell::RefCell;
use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

use ipvs_core::{Error, ErrorKind};

/// The result of every fallible `lvskit_*` function.
///
/// The numbers are part of the ABI and never change; new codes may be added
/// (so a `switch` over them needs a `default` branch). Codes are grouped:
/// 1..=99 the caller's mistakes found before anything was sent, 100..=199 the
/// kernel's refusals (the errno is kept, see lvskit_last_errno()), 200..=299
/// transport failures, 900..=999 internal failures.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lvskit_result {
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
    /// No reply arrived in time (see lvskit_set_timeout_ms()).
    Timeout = 202,
    /// An operation of a batch was not sent because an earlier one failed.
    NotAttempted = 203,
    /// The library panicked; this is a bug (the panic did not cross into C).
    Panic = 900,
    /// An error this version of the binding does not know how to classify.
    Unknown = 999,
}

impl lvskit_result {
    pub(crate) fn name(self) -> &'static std::ffi::CStr {
        match self {
            lvskit_result::Ok => c"LVSKIT_RESULT_OK",
            lvskit_result::NullParameter => c"LVSKIT_RESULT_NULL_PARAMETER",
            lvskit_result::InvalidInput => c"LVSKIT_RESULT_INVALID_INPUT",
            lvskit_result::OutOfRange => c"LVSKIT_RESULT_OUT_OF_RANGE",
            lvskit_result::ParseError => c"LVSKIT_RESULT_PARSE_ERROR",
            lvskit_result::Exists => c"LVSKIT_RESULT_EXISTS",
            lvskit_result::NotFound => c"LVSKIT_RESULT_NOT_FOUND",
            lvskit_result::Invalid => c"LVSKIT_RESULT_INVALID",
            lvskit_result::PermissionDenied => c"LVSKIT_RESULT_PERMISSION_DENIED",
            lvskit_result::ModuleMissing => c"LVSKIT_RESULT_MODULE_MISSING",
            lvskit_result::Kernel => c"LVSKIT_RESULT_KERNEL",
            lvskit_result::Io => c"LVSKIT_RESULT_IO",
            lvskit_result::Protocol => c"LVSKIT_RESULT_PROTOCOL",
            lvskit_result::Timeout => c"LVSKIT_RESULT_TIMEOUT",
            lvskit_result::NotAttempted => c"LVSKIT_RESULT_NOT_ATTEMPTED",
            lvskit_result::Panic => c"LVSKIT_RESULT_PANIC",
            lvskit_result::Unknown => c"LVSKIT_RESULT_UNKNOWN",
        }
    }

    pub(crate) const ALL: [lvskit_result; 17] = [
        lvskit_result::Ok,
        lvskit_result::NullParameter,
        lvskit_result::InvalidInput,
        lvskit_result::OutOfRange,
        lvskit_result::ParseError,
        lvskit_result::Exists,
        lvskit_result::NotFound,
        lvskit_result::Invalid,
        lvskit_result::PermissionDenied,
        lvskit_result::ModuleMissing,
        lvskit_result::Kernel,
        lvskit_result::Io,
        lvskit_result::Protocol,
        lvskit_result::Timeout,
        lvskit_result::NotAttempted,
        lvskit_result::Panic,
        lvskit_result::Unknown,
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
pub(crate) fn core_code(e: &Error) -> lvskit_result {
    // No catch-all: a new core ErrorKind fails to compile here until mapped.
    match e.kind() {
        ErrorKind::InvalidInput => lvskit_result::InvalidInput,
        ErrorKind::Exists => lvskit_result::Exists,
        ErrorKind::NotFound => lvskit_result::NotFound,
        ErrorKind::Invalid => lvskit_result::Invalid,
        ErrorKind::PermissionDenied => lvskit_result::PermissionDenied,
        ErrorKind::ModuleMissing => lvskit_result::ModuleMissing,
        ErrorKind::Kernel => lvskit_result::Kernel,
        ErrorKind::Io => lvskit_result::Io,
        ErrorKind::Protocol => lvskit_result::Protocol,
        ErrorKind::Timeout => lvskit_result::Timeout,
        ErrorKind::NotAttempted => lvskit_result::NotAttempted,
    }
}

impl CError {
    fn code(&self) -> lvskit_result {
        match self {
            CError::Null(_) => lvskit_result::NullParameter,
            CError::Input(_) => lvskit_result::InvalidInput,
            CError::OutOfRange { .. } => lvskit_result::OutOfRange,
            CError::Parse { .. } => lvskit_result::ParseError,
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
    code: lvskit_result,
    errno: i32,
    message: String,
}

thread_local! {
    static LAST: RefCell<LastError> = const {
        RefCell::new(LastError { code: lvskit_result::Ok, errno: 0, message: String::new() })
    };
}

fn set_last(code: lvskit_result, errno: i32, message: String) {
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
pub(crate) fn with_last<R: Copy>(default: R, f: impl FnOnce(lvskit_result, i32, &str) -> R) -> R {
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
pub(crate) fn guard(func: &'static str, body: impl FnOnce() -> CResult<()>) -> lvskit_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            set_last(lvskit_result::Ok, 0, String::new());
            lvskit_result::Ok
        }
        Ok(Err(e)) => {
            let code = e.code();
            set_last(code, e.errno(), e.message(func));
            code
        }
        Err(p) => {
            set_last(
                lvskit_result::Panic,
                0,
                format!("{func}: internal error (panic): {}", panic_message(&*p)),
            );
            lvskit_result::Panic
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
        let r = guard("lvskit_test", || panic!("boom {}", 42));
        let v = guard_value(7u32, || panic!("again"));
        std::panic::set_hook(prev);
        assert_eq!(r, lvskit_result::Panic);
        assert_eq!(v, 7);
        with_last((), |code, errno, msg| {
            assert_eq!(code, lvskit_result::Panic);
            assert_eq!(errno, 0);
            assert_eq!(msg, "lvskit_test: internal error (panic): boom 42");
        });
        // and a later success clears it
        assert_eq!(guard("lvskit_test", || Ok(())), lvskit_result::Ok);
        with_last((), |code, _, msg| {
            assert_eq!(code, lvskit_result::Ok);
            assert!(msg.is_empty());
        });
    }

    #[test]
    fn core_errors_keep_their_errno() {
        let e = CError::Core(Error::Exists {
            context: "adding".into(),
            errno: libc::EEXIST,
        });
        assert_eq!(e.code(), lvskit_result::Exists);
        assert_eq!(e.errno(), libc::EEXIST);
        assert_eq!(guard("f", || Err(e)), lvskit_result::Exists);
        with_last((), |_, errno, msg| {
            assert_eq!(errno, libc::EEXIST);
            assert!(msg.starts_with("adding: already exists"), "{msg}");
        });
    }
}
