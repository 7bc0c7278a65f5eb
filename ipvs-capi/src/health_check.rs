//! Health checks of the director (`lvskit::director::Check`) for C: an
//! opaque lvskit_check made by one `lvskit_check_new_*` function (TCP, HTTP,
//! HTTPS, DNS, or the caller's callback), tuned by the `lvskit_check_set_*`
//! functions, run once by lvskit_check_probe_once() or by a director, and
//! released by lvskit_check_free(). The core validates a check when it is
//! used (a director's start, a new desired state, a probe): a zero interval,
//! a rise or fall of 0 or a target that points at nothing is
//! `LVSKIT_RESULT_INVALID_INPUT` then, before anything runs.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use ipvs_core::director::{probe_once, Check, CheckKind, TlsVerify};
use ipvs_core::Namespace;

use crate::error::{guard, guard_value, input, CResult};
use crate::ffi::{arg, arg_mut, c_str, optional, out, owned, put, release};
use crate::types::{addr_from, addr_to, destination_from, lvskit_destination};
use crate::{give, lvskit_result};

/// lvskit_check_set_tls(): accept any certificate (the default).
pub const LVSKIT_TLS_VERIFY_OFF: u32 = 0;
/// lvskit_check_set_tls(): verify against the CA certificates in `ca` (PEM text).
pub const LVSKIT_TLS_VERIFY_CA_PEM: u32 = 1;
/// lvskit_check_set_tls(): verify against the CA certificates in the PEM file at path `ca`.
pub const LVSKIT_TLS_VERIFY_CA_FILE: u32 = 2;

/// The bytes of the reason buffer handed to a check callback, with its NUL.
pub const LVSKIT_CHECK_REASON_MAX: usize = 256;

/// An address and port: the family (LVSKIT_AF_INET or LVSKIT_AF_INET6),
/// the port in host byte order and the address in network byte order
/// (IPv4: the first 4 bytes, the rest zero).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct lvskit_socket_address {
    /// LVSKIT_AF_INET or LVSKIT_AF_INET6.
    pub family: u16,
    /// The port, in host byte order.
    pub port: u16,
    /// The address in network byte order.
    pub addr: [u8; 16],
}

/// What a check callback is asked to check.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct lvskit_check_target {
    /// The address and port to check.
    pub target: lvskit_socket_address,
    /// How long the check may take; a callback that returns later counts as failed.
    pub timeout_ms: u32,
    /// A buffer of `reason_len` bytes the callback may fill with a
    /// NUL-terminated reason for a failure (reported in the health event).
    pub reason: *mut c_char,
    /// The size of `reason` (LVSKIT_CHECK_REASON_MAX).
    pub reason_len: usize,
}

/// A caller-supplied check: returns 0 when the server at `target` is
/// healthy, anything else when not. It runs on the library's threads (one
/// per checked real server, a fresh one per call), possibly several at once:
/// `user` must be usable from any thread. It must not call back into a
/// director.
#[allow(non_camel_case_types)]
pub type lvskit_check_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, target: *const lvskit_check_target) -> c_int>;

/// The caller's user pointer, handed back to its callbacks on our threads
/// (the caller promises that it may be: see lvskit_check_fn).
#[derive(Clone, Copy)]
pub(crate) struct UserPtr(pub(crate) *mut c_void);
impl UserPtr {
    /// The pointer (a method, so that closures capture the whole `UserPtr`).
    pub(crate) fn get(self) -> *mut c_void {
        self.0
    }
}

// SAFETY: the caller promises the pointee may be used from any thread.
unsafe impl Send for UserPtr {}
// SAFETY: as above.
unsafe impl Sync for UserPtr {}

/// A C callback check, counting the calls in progress so that whoever holds
/// it can wait until none runs (a call outlives its timeout in the core).
pub(crate) struct CCallback {
    f: unsafe extern "C" fn(*mut c_void, *const lvskit_check_target) -> c_int,
    user: UserPtr,
    busy: Mutex<usize>,
    idle: Condvar,
}

impl CCallback {
    fn call(&self, target: SocketAddr, timeout: Duration) -> Result<(), String> {
        *self.busy.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        let r = self.call_c(target, timeout);
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        *busy -= 1;
        self.idle.notify_all();
        r
    }

    fn call_c(&self, target: SocketAddr, timeout: Duration) -> Result<(), String> {
        let mut reason = [0 as c_char; LVSKIT_CHECK_REASON_MAX];
        let (family, addr) = addr_to(target.ip());
        let t = lvskit_check_target {
            target: lvskit_socket_address {
                family,
                port: target.port(),
                addr,
            },
            timeout_ms: u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX),
            reason: reason.as_mut_ptr(),
            reason_len: reason.len(),
        };
        // SAFETY: the caller's function with its own user pointer and a
        // target valid for the call.
        let rc = unsafe { (self.f)(self.user.get(), &t) };
        if rc == 0 {
            return Ok(());
        }
        reason[LVSKIT_CHECK_REASON_MAX - 1] = 0;
        // SAFETY: NUL-terminated just above at the latest.
        let text = unsafe { CStr::from_ptr(reason.as_ptr()) }.to_string_lossy();
        Err(if text.is_empty() {
            format!("the check callback returned {rc}")
        } else {
            text.into_owned()
        })
    }

    /// Waits until no call of this callback runs.
    pub(crate) fn wait_idle(&self) {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        while *busy > 0 {
            busy = self.idle.wait(busy).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// A health check: made by an `lvskit_check_new_*` function, released by
/// lvskit_check_free(). A desired state or a director keeps its own copy:
/// the check may be freed once added.
#[allow(non_camel_case_types)]
pub struct lvskit_check {
    pub(crate) check: Check,
    pub(crate) callback: Option<Arc<CCallback>>,
}

owned!(lvskit_check);

unsafe fn new_check(
    check_out: *mut *mut lvskit_check,
    make: impl FnOnce() -> CResult<lvskit_check>,
) -> CResult<()> {
    let o = out(check_out, "check_out")?;
    let c = make()?;
    // SAFETY: checked non-NULL; the caller promises writability.
    unsafe { give(o, c) };
    Ok(())
}

fn plain(check: Check) -> CResult<lvskit_check> {
    Ok(lvskit_check {
        check,
        callback: None,
    })
}

/// Makes a TCP connect check (healthy when a connection is accepted),
/// every 5 s with a 2 s timeout, rise 1 and fall 1. On success
/// `*check_out` receives a new check owned by the caller (lvskit_check_free()).
///
/// # Safety
/// `check_out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_check_new_tcp(check_out: *mut *mut lvskit_check) -> lvskit_result {
    // SAFETY: the caller's promise.
    guard("lvskit_check_new_tcp", || unsafe {
        new_check(check_out, || plain(Check::tcp()))
    })
}

/// Makes an HTTP check: `GET path` (HTTP/1.0) answered with `status`. See
/// lvskit_check_set_body() and lvskit_check_set_host(). Ownership as
/// lvskit_check_new_tcp().
///
/// # Safety
/// `path` must be NULL or a NUL-terminated string; `check_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_check_new_http(
    path: *const c_char,
    status: u16,
    check_out: *mut *mut lvskit_check,
) -> lvskit_result {
    guard("lvskit_check_new_http", || {
        // SAFETY: the caller's promises.
        let p = unsafe { c_str(path, "path") }?;
        unsafe { new_check(check_out, || plain(Check::http(p, status))) }
    })
}

/// Makes an HTTPS check: as lvskit_check_new_http() over TLS, accepting any
/// certificate until lvskit_check_set_tls() says otherwise.
///
/// # Safety
/// `path` must be NULL or a NUL-terminated string; `check_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_check_new_https(
    path: *const c_char,
    status: u16,
    check_out: *mut *mut lvskit_check,
) -> lvskit_result {
    guard("lvskit_check_new_https", || {
        // SAFETY: the caller's promises.
        let p = unsafe { c_str(path, "path") }?;
        unsafe { new_check(check_out, || plain(Check::https(p, status))) }
    })
}

/// Makes a DNS check: a query (type A) for `name` over UDP, healthy when
/// answered. Ownership as lvskit_check_new_tcp().
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string; `check_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_check_new_dns(
    name: *const c_char,
    check_out: *mut *mut lvskit_check,
) -> lvskit_result {
    guard("lvskit_check_new_dns", || {
        // SAFETY: the caller's promises.
        let n = unsafe { c_str(name, "name") }?;
        unsafe { new_check(check_out, || plain(Check::dns(n))) }
    })
}

/// Makes a check that calls `check(user, target)` (see lvskit_check_fn).
/// `user` must stay valid until every check, desired state and director
/// made with it is freed: lvskit_director_free(), lvskit_director_stop()
/// and lvskit_check_probe_once() return only once no call of `check` runs.
/// Ownership as lvskit_check_new_tcp().
///
/// # Safety
/// `check` NULL or a function as lvskit_check_fn describes; `check_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_check_new_callback(
    check: lvskit_check_fn,
    user: *mut c_void,
    check_out: *mut *mut lvskit_check,
) -> lvskit_result {
    guard("lvskit_check_new_callback", || {
        let f = check.ok_or(crate::error::CError::Null("check"))?;
        let cb = Arc::new(CCallback {
            f,
            user: UserPtr(user),
            busy: Mutex::new(0),
            idle: Condvar::new(),
        });
        let c = cb.clone();
        let core = Check::custom(move |t, timeout| c.call(t, timeout));
        // SAFETY: the caller's promise.
        unsafe {
            new_check(check_out, || {
                Ok(lvskit_check {
                    check: core,
                    callback: Some(cb),
                })
            })
        }
    })
}

fn with_check(
    func: &'static str,
    check: *mut lvskit_check,
    f: impl FnOnce(&mut lvskit_check) -> CResult<()>,
) -> lvskit_result {
    guard(func, || {
        // SAFETY: the exported callers pass their callers' promises on.
        let c = unsafe { arg_mut(check, "check") }?;
        f(c)
    })
}

/// Sets the timing: a check every `interval_ms`, each taking at most
/// `timeout_ms` (no more than the interval); `fall` consecutive failures
/// take a healthy server down, `rise` consecutive successes bring it back
/// up. Checked when the check is used.
///
/// # Safety
/// `check` must be NULL or a live check.
#[no_mangle]
pub unsafe extern "C" fn lvskit_check_set_timing(
    check: *mut lvskit_check,
    interval_ms: u32,
    timeout_ms: u32,
    rise: u32,
    fall: u32,
) -> lvskit_result {
    with_check("lvskit_check_set_timing", check, |c| {
        let ms = |v| Duration::from_millis(u64::from(v));
        c.check.interval = ms(interval_ms);
        c.check.timeout = ms(timeout_ms);
        (c.check.rise, c.check.fall) = (rise, fall);
        Ok(())
    })
}

fn http_only(c: &lvskit_check, what: &str) -> CResult<()> {
    match c.check.kind {
        CheckKind::Http { .. } | CheckKind::Https { .. } => Ok(()),
        _ => Err(input(format!(
            "{what} applies to HTTP and HTTPS checks only"
        ))),
    }
}

/// Requires the HTTP(S) response body to contain `text` (copied).
/// `LVSKIT_RESULT_INVALID_INPUT` for other checks.
///
/// # Safety
/// `check` must be NULL or a live check; `text` NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn lvskit_check_set_body(
    check: *mut lvskit_check,
    text: *const c_char,
) -> lvskit_result {
    with_check("lvskit_check_set_body", check, |c| {
        // SAFETY: the caller's promise.
        let t = unsafe { c_str(text, "text") }?;
        http_only(c, "a body match")?;
        c.check = c.check.clone().with_body(t);
        Ok(())
    })
}

/// Sets the HTTP(S) `Host` header (copied); by default the target address.
/// `LVSKIT_RESULT_INVALID_INPUT` for other checks.
///
/// # Safety
/// `check` must be NULL or a live check; `host` NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn lvskit_check_set_host(
    check: *mut lvskit_check,
    host: *const c_char,
) -> lvskit_result {
    with_check("lvskit_check_set_host", check, |c| {
        // SAFETY: the caller's promise.
        let h = unsafe { c_str(host, "host") }?;
        http_only(c, "a Host header")?;
        c.check = c.check.clone().with_host(h);
        Ok(())
    })
}

/// Sets an HTTPS check's certificate verification: LVSKIT_TLS_VERIFY_OFF
/// (`ca` NULL), LVSKIT_TLS_VERIFY_CA_PEM (`ca` is PEM text of one or more CA
/// certificates) or LVSKIT_TLS_VERIFY_CA_FILE (`ca` is the path of such a
/// file), and the name sent as SNI and verified (`server_name`; NULL: the
/// Host header's name, else the target address). Both strings are copied.
/// `LVSKIT_RESULT_INVALID_INPUT` for other checks or an unknown mode;
/// certificates that do not parse are refused when the check is used.
///
/// # Safety
/// `check` must be NULL or a live check; `ca` and `server_name` NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn lvskit_check_set_tls(
    check: *mut lvskit_check,
    verify: u32,
    ca: *const c_char,
    server_name: *const c_char,
) -> lvskit_result {
    with_check("lvskit_check_set_tls", check, |c| {
        if !matches!(c.check.kind, CheckKind::Https { .. }) {
            return Err(input("TLS settings apply to HTTPS checks only"));
        }
        // SAFETY: the caller's promises.
        let ca = unsafe { optional(ca) }.map(|_| unsafe { c_str(ca, "ca") });
        let v = match (verify, ca.transpose()?) {
            (LVSKIT_TLS_VERIFY_OFF, None) => TlsVerify::Off,
            (LVSKIT_TLS_VERIFY_CA_PEM, Some(pem)) => TlsVerify::CaPem(pem.as_bytes().to_vec()),
            (LVSKIT_TLS_VERIFY_CA_FILE, Some(path)) => TlsVerify::CaFile(PathBuf::from(path)),
            (LVSKIT_TLS_VERIFY_OFF, Some(_)) => {
                return Err(input("ca must be NULL with LVSKIT_TLS_VERIFY_OFF"))
            }
            (LVSKIT_TLS_VERIFY_CA_PEM | LVSKIT_TLS_VERIFY_CA_FILE, None) => {
                return Err(crate::error::CError::Null("ca"))
            }
            (m, _) => {
                return Err(input(format!(
                    "unknown verification {m} (use LVSKIT_TLS_VERIFY_*)"
                )))
            }
        };
        let mut next = c.check.clone().with_tls_verify(v);
        if let CheckKind::Https { tls, .. } = &mut next.kind {
            // SAFETY: the caller's promise.
            tls.server_name = match unsafe { optional(server_name) } {
                Some(_) => Some(unsafe { c_str(server_name, "server_name") }?.to_owned()),
                None => None,
            };
        }
        c.check = next;
        Ok(())
    })
}

/// Sends the checks from `source` (its port must be 0); NULL: the
/// kernel's choice (the default).
///
/// # Safety
/// `check` must be NULL or a live check; `source` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lvskit_check_set_source(
    check: *mut lvskit_check,
    source: *const lvskit_socket_address,
) -> lvskit_result {
    with_check("lvskit_check_set_source", check, |c| {
        // SAFETY: the caller's promise.
        c.check.source = match unsafe { optional(source) } {
            None => None,
            Some(s) if s.port != 0 => return Err(input("source: the port must be 0")),
            Some(s) => Some(addr_from(s.family, &s.addr, "source")?),
        };
        Ok(())
    })
}

/// Checks `target` instead of the real server's own address and port;
/// NULL: the real server (the default). See also lvskit_check_set_port().
///
/// # Safety
/// `check` must be NULL or a live check; `target` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lvskit_check_set_target(
    check: *mut lvskit_check,
    target: *const lvskit_socket_address,
) -> lvskit_result {
    with_check("lvskit_check_set_target", check, |c| {
        // SAFETY: the caller's promise.
        c.check.target = match unsafe { optional(target) } {
            None => None,
            Some(t) => Some(SocketAddr::new(
                addr_from(t.family, &t.addr, "target")?,
                t.port,
            )),
        };
        Ok(())
    })
}

/// Checks `port` on the real server's address instead of its own port; 0:
/// its own port (the default).
///
/// # Safety
/// `check` must be NULL or a live check.
#[no_mangle]
pub unsafe extern "C" fn lvskit_check_set_port(
    check: *mut lvskit_check,
    port: u16,
) -> lvskit_result {
    with_check("lvskit_check_set_port", check, |c| {
        c.check.port = (port != 0).then_some(port);
        Ok(())
    })
}

/// Creates the check's sockets in the network namespace at `path` (e.g.
/// "/run/netns/NAME" or "/proc/PID/ns/net"); NULL: the namespace of the
/// thread that started the director (or called lvskit_director_set_desired()
/// or lvskit_check_probe_once()), the default. A callback check's callback
/// runs on a thread of that namespace regardless. The path is copied; it is
/// opened at each check.
///
/// # Safety
/// `check` must be NULL or a live check; `path` NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn lvskit_check_set_netns_path(
    check: *mut lvskit_check,
    path: *const c_char,
) -> lvskit_result {
    with_check("lvskit_check_set_netns_path", check, |c| {
        // SAFETY: the caller's promise.
        c.check.namespace = match unsafe { optional(path) } {
            None => Namespace::Current,
            Some(_) => match unsafe { c_str(path, "path") }? {
                "" => return Err(input("path is empty")),
                p => Namespace::Path(PathBuf::from(p)),
            },
        };
        Ok(())
    })
}

/// Whether a server counts as up before its first checks (non-zero, the
/// default, so that a restarted director does not take healthy servers out)
/// or down (0).
///
/// # Safety
/// `check` must be NULL or a live check.
#[no_mangle]
pub unsafe extern "C" fn lvskit_check_set_initially_up(
    check: *mut lvskit_check,
    up: c_int,
) -> lvskit_result {
    with_check("lvskit_check_set_initially_up", check, |c| {
        c.check.initially_up = up != 0;
        Ok(())
    })
}

/// Runs `check` once against the real server `server` (its address and
/// port; the check's target or port settings apply), as a director's check
/// threads do, after validating it (`LVSKIT_RESULT_INVALID_INPUT` for a zero
/// interval, rise or fall 0, a target that points at nothing, ...). On
/// success `*healthy_out` is 1 or 0 and, when `reason` is not NULL, the
/// failure's reason (empty when healthy) is written into `reason` as at
/// most `reason_len - 1` bytes plus a NUL.
///
/// # Safety
/// `check` NULL or live; `server` NULL or valid; `healthy_out` NULL or
/// writable; `reason` NULL or writable for `reason_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn lvskit_check_probe_once(
    check: *const lvskit_check,
    server: *const lvskit_destination,
    healthy_out: *mut c_int,
    reason: *mut c_char,
    reason_len: usize,
) -> lvskit_result {
    guard("lvskit_check_probe_once", || {
        // SAFETY: the caller's promises.
        let (c, s) = unsafe { (arg(check, "check")?, arg(server, "server")?) };
        let h = out(healthy_out, "healthy_out")?;
        let d = destination_from(s)?;
        c.check.validate(d.addr, d.port)?;
        let r = probe_once(&c.check, c.check.target_for(d.addr, d.port));
        if let Some(cb) = &c.callback {
            cb.wait_idle();
        }
        // SAFETY: checked non-NULL / the caller's promise about reason.
        unsafe {
            put(h, c_int::from(r.is_ok()));
            crate::error::copy_message(r.err().as_deref().unwrap_or(""), reason, reason_len);
        }
        Ok(())
    })
}

/// Releases a check. NULL is accepted and ignored. Desired states and
/// directors made with it keep their own copies.
///
/// # Safety
/// `check` must be NULL or a live check, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn lvskit_check_free(check: *mut lvskit_check) {
    // SAFETY: the caller's promise.
    guard_value((), || unsafe { release(check) })
}
