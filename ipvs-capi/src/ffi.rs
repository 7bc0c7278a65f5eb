//! The one place where C pointers become Rust values and back: every null
//! check, every cast of a borrowed pointer, every write through an
//! out-parameter and every transfer of ownership of an opaque object goes
//! through these helpers (the idea of rustls-ffi's typed casts: the type says
//! how C holds it, the helper does the unsafe step once).
//!
//! - [`arg`]/[`arg_mut`]/[`optional`] borrow what the caller passes in;
//!   [`c_str`] borrows a C string as UTF-8.
//! - [`out`] checks an out-parameter before any work is done, [`put`] writes
//!   it afterwards.
//! - An opaque object the caller owns is an [`Owned`] type: [`give`] moves a
//!   new one out to C (`Box::into_raw`), [`release`] takes it back and drops
//!   it (`Box::from_raw`); nothing else boxes or unboxes.
//! - A list snapshot is a [`Snapshot`]: [`snapshot_len`] and
//!   [`snapshot_get`] are the one implementation behind every
//!   `lvskit_*_list_len`/`_get` function, [`release`] behind every `_free`.

use std::ffi::{c_char, CStr, CString};

use crate::error::{guard, guard_value, input, lvskit_result, CError, CResult};

/// An opaque object handed to C as a pointer it owns: made by [`give`],
/// released exactly once by [`release`] (the matching `*_free`/`*_close`).
pub(crate) trait Owned: Sized {}

/// A list snapshot: plain items copied out of the library at the time of
/// the call, read by index from C.
pub(crate) trait Snapshot: Owned {
    /// One entry.
    type Item;
    /// The entries, in order.
    fn items(&self) -> &[Self::Item];
}

/// Declares opaque C types as [`Owned`], and list types (a struct with an
/// `items: Vec<Item>` field) as [`Snapshot`]s too.
macro_rules! owned {
    ($($t:ty),* $(,)?) => { $(impl $crate::ffi::Owned for $t {})* };
}
macro_rules! snapshot {
    ($($t:ty => $item:ty),* $(,)?) => {$(
        impl $crate::ffi::Owned for $t {}
        impl $crate::ffi::Snapshot for $t {
            type Item = $item;
            fn items(&self) -> &[$item] {
                &self.items
            }
        }
    )*};
}
pub(crate) use {owned, snapshot};

/// Borrows a required input.
///
/// # Safety
/// `p` is NULL or points to a valid `T` that outlives `'a`.
pub(crate) unsafe fn arg<'a, T>(p: *const T, name: &'static str) -> CResult<&'a T> {
    // SAFETY: the caller's promise; NULL is refused.
    unsafe { p.as_ref() }.ok_or(CError::Null(name))
}

/// Borrows a required input mutably.
///
/// # Safety
/// `p` is NULL or points to a valid `T`, not aliased during `'a`.
pub(crate) unsafe fn arg_mut<'a, T>(p: *mut T, name: &'static str) -> CResult<&'a mut T> {
    // SAFETY: the caller's promise; NULL is refused.
    unsafe { p.as_mut() }.ok_or(CError::Null(name))
}

/// Borrows an optional input: NULL is `None`.
///
/// # Safety
/// `p` is NULL or points to a valid `T` that outlives `'a`.
pub(crate) unsafe fn optional<'a, T>(p: *const T) -> Option<&'a T> {
    // SAFETY: the caller's promise.
    unsafe { p.as_ref() }
}

/// Checks a required out-parameter (before the work is done, so that a NULL
/// one fails without side effects).
pub(crate) fn out<T>(p: *mut T, name: &'static str) -> CResult<*mut T> {
    if p.is_null() {
        Err(CError::Null(name))
    } else {
        Ok(p)
    }
}

/// Writes an out-parameter; a NULL (optional) one is skipped.
///
/// # Safety
/// `p` is NULL or a valid pointer to `T` writable by us.
pub(crate) unsafe fn put<T>(p: *mut T, v: T) {
    if !p.is_null() {
        // SAFETY: the caller's promise; the C types are plain data.
        unsafe { p.write(v) }
    }
}

/// Borrows a required NUL-terminated string as UTF-8.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn c_str<'a>(p: *const c_char, name: &'static str) -> CResult<&'a str> {
    if p.is_null() {
        return Err(CError::Null(name));
    }
    // SAFETY: the caller promises a NUL-terminated string.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|_| input(format!("{name} is not UTF-8")))
}

/// Moves a new object out to C through `out` (checked with [`out`]); the
/// caller owns it from now on and gives it back to [`release`].
///
/// # Safety
/// `out` is NULL or a valid pointer writable by us.
pub(crate) unsafe fn give<T: Owned>(out: *mut *mut T, value: T) {
    let p = Box::into_raw(Box::new(value));
    if out.is_null() {
        // not reachable through a checked out-parameter; never leak
        // SAFETY: just made by Box::into_raw.
        drop(unsafe { Box::from_raw(p) });
        return;
    }
    // SAFETY: the caller's promise about `out`.
    unsafe { out.write(p) }
}

/// Moves a new NUL-terminated string out to C through `out`; the caller
/// gives it back to [`release_string`] (lvskit_string_free()). A string
/// holding a NUL byte is refused (nothing is written).
///
/// # Safety
/// `out` is NULL or a valid pointer writable by us.
pub(crate) unsafe fn give_string(out: *mut *mut c_char, s: String) -> CResult<()> {
    let c = CString::new(s).map_err(|_| input("the text holds a NUL byte"))?;
    // SAFETY: the caller's promise; put skips NULL (and then the string is
    // dropped here, not leaked).
    if !out.is_null() {
        unsafe { put(out, c.into_raw()) };
    }
    Ok(())
}

/// Takes back and drops a string made by [`give_string`]; NULL is ignored.
///
/// # Safety
/// `s` is NULL or a string made by [`give_string`], not yet released and
/// not used afterwards.
pub(crate) unsafe fn release_string(s: *mut c_char) {
    guard_value((), || {
        if !s.is_null() {
            // SAFETY: the caller's promise: made by CString::into_raw in give_string.
            drop(unsafe { CString::from_raw(s) });
        }
    })
}

/// Takes back and drops an object made by [`give`]; NULL is ignored. Never
/// panics across the boundary.
///
/// # Safety
/// `p` is NULL or a pointer made by [`give`] for this `T`, not yet released
/// and not used afterwards.
pub(crate) unsafe fn release<T: Owned>(p: *mut T) {
    guard_value((), || {
        if !p.is_null() {
            // SAFETY: the caller's promise: made by Box::into_raw in give.
            drop(unsafe { Box::from_raw(p) });
        }
    })
}

/// The number of entries of a snapshot (0 for NULL).
///
/// # Safety
/// `list` is NULL or a live snapshot.
pub(crate) unsafe fn snapshot_len<L: Snapshot>(list: *const L) -> usize {
    // SAFETY: the caller's promise.
    guard_value(0, || {
        unsafe { optional(list) }.map_or(0, |l| l.items().len())
    })
}

/// Copies entry `index` of a snapshot to the caller: `first` is the
/// required out-parameter (checked before the index), `copy` writes it (and
/// any optional ones) with [`put`]. An index past the end is
/// `LVSKIT_RESULT_OUT_OF_RANGE` and writes nothing. Records the outcome as
/// the last error under the name `func`.
///
/// # Safety
/// `list` is NULL or a live snapshot; `first` NULL or writable; `copy`
/// keeps the caller's promises about the other out-parameters.
pub(crate) unsafe fn snapshot_get<L: Snapshot, O>(
    func: &'static str,
    list: *const L,
    index: usize,
    first: (*mut O, &'static str),
    copy: impl FnOnce(&L::Item, *mut O),
) -> lvskit_result {
    guard(func, || {
        // SAFETY: the caller's promise.
        let items = unsafe { arg(list, "list") }?.items();
        let o = out(first.0, first.1)?;
        let item = items.get(index).ok_or(CError::OutOfRange {
            index,
            len: items.len(),
        })?;
        copy(item, o);
        Ok(())
    })
}
