//! The methods every value class shares, written once.
//!
//! Each macro emits one `#[pymethods]` block for a class (pyo3's
//! `multiple-pymethods` lets a class have several), so a class's own block
//! keeps only what is its own: constructor, computed getters, `to_dict`,
//! `__repr__`, and any shared method whose behaviour differs for it. `$field` names the
//! struct field holding the core's value; `$what` names the value in error
//! messages ("invalid service: ..."); `$doc` is the method's docstring, as
//! `help()` and the stubs show it.
//!
//! A class names the ones it takes in one `shared_methods!` line.

/// Emits, for class `$ty`, each shared method named: `name(args)` calls the
/// macro `name!($ty, args)` of this module.
macro_rules! shared_methods {
    ($ty:ident: $($item:ident $(($($arg:tt)*))?),* $(,)?) => {
        $($crate::value::$item!($ty $(, $($arg)*)?);)*
    };
}
pub(crate) use shared_methods;

/// `__hash__`, `==` and `!=` from the core's value in `$field`, or from the
/// whole struct when no field is named (a value of another class compares
/// as `NotImplemented`).
macro_rules! eq_hash {
    ($ty:ident, $field:ident) => {
        $crate::value::eq_hash!(@key $ty, v => &v.$field);
    };
    ($ty:ident) => {
        $crate::value::eq_hash!(@key $ty, v => v);
    };
    (@key $ty:ident, $v:ident => $key:expr) => {
        #[pyo3::pymethods]
        impl $ty {
            fn __hash__(&self) -> u64 {
                let $v = self;
                $crate::model::hash_of($key)
            }

            fn __richcmp__(
                &self,
                py: pyo3::Python<'_>,
                other: &pyo3::Bound<'_, pyo3::PyAny>,
                op: pyo3::basic::CompareOp,
            ) -> pyo3::PyObject {
                let mine = {
                    let $v = self;
                    $key
                };
                let theirs = other.downcast::<Self>().ok().map(|o| {
                    let $v = o.get();
                    $key
                });
                $crate::model::richcmp(py, mine, theirs, op)
            }
        }
    };
}
pub(crate) use eq_hash;

/// Getters returning a copy of `self.$field.$name`, each with the docstring
/// written above it: `copy_getters! { PyX, inner { /// Doc. name: u32, } }`.
macro_rules! copy_getters {
    ($ty:ident, $field:ident { $($(#[doc = $doc:literal])* $name:ident: $t:ty),* $(,)? }) => {
        #[pyo3::pymethods]
        impl $ty {
            $(
                $(#[doc = $doc])*
                #[getter]
                fn $name(&self) -> $t {
                    self.$field.$name
                }
            )*
        }
    };
}
pub(crate) use copy_getters;

/// `to_json`: the core's serde form of `$field`.
macro_rules! to_json {
    ($ty:ident, $field:ident) => {
        #[pyo3::pymethods]
        impl $ty {
            /// The value in the core's serde JSON form.
            fn to_json(&self) -> pyo3::PyResult<String> {
                $crate::model::json_of(&self.$field)
            }
        }
    };
}
pub(crate) use to_json;

/// A `__reduce__` that pickles through `to_json` and the class's `from_json`.
macro_rules! reduce_json {
    ($ty:ident) => {
        #[pyo3::pymethods]
        impl $ty {
            fn __reduce__<'py>(
                slf: &pyo3::Bound<'py, Self>,
            ) -> pyo3::PyResult<(pyo3::Bound<'py, pyo3::PyAny>, (String,))> {
                use pyo3::types::PyAnyMethods;
                Ok((
                    slf.get_type().getattr("from_json")?,
                    (slf.get().to_json()?,),
                ))
            }
        }
    };
}
pub(crate) use reduce_json;

/// `replace(**changes)`: the class called with its fields `$fields` and the
/// changes over them (see `model::replaced`); with `taken = f`, the current
/// values of `f(&value)`'s fields only (a frozen class whose constructor
/// takes some of its fields, by the value's kind).
macro_rules! replace_method {
    ($ty:ident, $fields:expr, taken = $taken:expr, $doc:literal) => {
        #[pyo3::pymethods]
        impl $ty {
            #[doc = $doc]
            #[pyo3(signature = (**changes))]
            fn replace<'py>(
                slf: &pyo3::Bound<'py, Self>,
                changes: Option<&pyo3::Bound<'py, pyo3::types::PyDict>>,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::PyAny>> {
                let taken = ($taken)(slf.get());
                $crate::model::replaced_taking(slf.as_any(), $fields, taken, changes)
            }
        }
    };
    // every field is taken, whatever the value
    ($ty:ident, $fields:expr, $doc:literal) => {
        $crate::value::replace_method!($ty, $fields, taken = |_: &$ty| $fields, $doc);
    };
}
pub(crate) use replace_method;

/// `__dataclass_fields__` naming `$fields` (see `dataclass::fields`).
macro_rules! dataclass_fields {
    ($ty:ident, $fields:expr) => {
        #[pyo3::pymethods]
        impl $ty {
            #[classattr]
            fn __dataclass_fields__(
                py: pyo3::Python<'_>,
            ) -> pyo3::PyResult<pyo3::Py<pyo3::types::PyDict>> {
                $crate::dataclass::fields(py, $fields)
            }
        }
    };
}
pub(crate) use dataclass_fields;

/// `from_dict` that calls the class with the dict's items as keyword
/// arguments (see `dicts::build`).
macro_rules! from_dict_kwargs {
    ($ty:ident, $what:literal, $doc:literal) => {
        #[pyo3::pymethods]
        impl $ty {
            #[doc = $doc]
            #[classmethod]
            fn from_dict<'py>(
                _cls: &pyo3::Bound<'py, pyo3::types::PyType>,
                data: &pyo3::Bound<'py, pyo3::PyAny>,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::PyAny>> {
                $crate::dicts::build::<$ty>(data, $what)
            }
        }
    };
}
pub(crate) use from_dict_kwargs;

/// `from_json` that parses the core's serde form into `$field`, the class's
/// only field, as listed (not validated).
macro_rules! from_json_listed {
    ($ty:ident, $field:ident, $what:literal, $doc:literal) => {
        #[pyo3::pymethods]
        impl $ty {
            #[doc = $doc]
            #[classmethod]
            fn from_json(
                _cls: &pyo3::Bound<'_, pyo3::types::PyType>,
                text: &str,
            ) -> pyo3::PyResult<Self> {
                Ok($ty {
                    $field: $crate::model::parse_json($what, text)?,
                })
            }
        }
    };
}
pub(crate) use from_json_listed;

/// `from_json` that parses the core's serde form with the class's own
/// `Self::parse(py, text)` (which checks as the constructor checks).
macro_rules! from_json_parsed {
    ($ty:ident) => {
        #[pyo3::pymethods]
        impl $ty {
            /// Parses the core's serde JSON form.
            #[classmethod]
            fn from_json(
                cls: &pyo3::Bound<'_, pyo3::types::PyType>,
                text: &str,
            ) -> pyo3::PyResult<Self> {
                Self::parse(cls.py(), text)
            }
        }
    };
}
pub(crate) use from_json_parsed;
