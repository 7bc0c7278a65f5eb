//! The type objects of the value classes every batch passes through,
//! looked up once.
//!
//! With the `multiple-pymethods` feature (a class's methods in several
//! `#[pymethods]` blocks, see `value.rs`), pyo3 finds a class's type object
//! through `LazyTypeObject::get_or_init`, which builds and boxes the class's
//! method-inventory iterator on every call: each `downcast::<T>()` and each
//! new object of `T` paid about 250 instructions and a malloc/free pair
//! before any work (callgrind on the host, 6 December: 738 of the 1 550
//! instructions of one `Operation.add_destination(key, dest)`). Here the
//! type object of each class below is kept after its first use, an exact
//! type is recognised by one pointer comparison, and objects are made
//! against the kept type.

use pyo3::ffi;
use pyo3::impl_::pyclass_init::PyObjectInit;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::PyType;
use pyo3::{PyClass, PyClassInitializer};

use crate::model::{FwmarkKey, InetKey, PyDestination, PyOperation, PyService, PyServiceKey};

/// A class whose type object is kept once looked up.
pub(crate) trait Cached: PyClass {
    /// The cell keeping the type object.
    fn cell() -> &'static GILOnceCell<Py<PyType>>;
}

macro_rules! cached {
    ($($ty:ty),* $(,)?) => {
        $(
            impl Cached for $ty {
                fn cell() -> &'static GILOnceCell<Py<PyType>> {
                    static CELL: GILOnceCell<Py<PyType>> = GILOnceCell::new();
                    &CELL
                }
            }
        )*
    };
}

cached!(InetKey, FwmarkKey, PyService, PyDestination, PyOperation);

/// `T`'s type object (pyo3's lookup on first use only).
fn type_ptr<T: Cached>(py: Python<'_>) -> *mut ffi::PyTypeObject {
    T::cell()
        .get_or_init(py, || T::type_object(py).unbind())
        .as_ptr()
        .cast()
}

/// Whether `obj` is exactly of class `T` (not a subclass).
pub(crate) fn is_exactly<T: Cached>(obj: &Bound<'_, PyAny>) -> bool {
    obj.get_type_ptr() == type_ptr::<T>(obj.py())
}

/// `obj` as a `T`: its exact class by one comparison, a subclass through
/// pyo3's check; `None` for anything else.
pub(crate) fn downcast<'a, 'py, T: Cached>(
    obj: &'a Bound<'py, PyAny>,
) -> Option<&'a Bound<'py, T>> {
    if is_exactly::<T>(obj) {
        // SAFETY: the object's type is T's own type object.
        return Some(unsafe { obj.downcast_unchecked::<T>() });
    }
    obj.downcast::<T>().ok()
}

/// A new object of class `T`, made against the kept type object.
///
/// # Errors
/// Python's allocation failure (`MemoryError`).
pub(crate) fn new_object<T: Cached>(
    py: Python<'_>,
    init: impl Into<PyClassInitializer<T>>,
) -> PyResult<Bound<'_, T>> {
    let tp = type_ptr::<T>(py);
    // SAFETY: `tp` is T's type object; `into_new_object` returns a new,
    // fully initialised reference to an object of that type (pyo3's own
    // `Bound::new` does the same with the type it looks up).
    unsafe {
        let ptr = init.into().into_new_object(py, tp)?;
        Ok(Bound::from_owned_ptr(py, ptr).downcast_into_unchecked())
    }
}

/// `obj` as a `ServiceKey`: an `InetKey` or a `FwmarkKey` by one comparison
/// each, anything else through pyo3's check.
pub(crate) fn downcast_key<'a, 'py>(
    obj: &'a Bound<'py, PyAny>,
) -> Option<&'a Bound<'py, PyServiceKey>> {
    if is_exactly::<InetKey>(obj) || is_exactly::<FwmarkKey>(obj) {
        // SAFETY: both classes extend ServiceKey (their objects start with its layout).
        return Some(unsafe { obj.downcast_unchecked::<PyServiceKey>() });
    }
    obj.downcast::<PyServiceKey>().ok()
}
