//! Gives liblvskit.so its SONAME (see README.md, "Versions and the C library").
//!
//! The SONAME names the releases that are binary compatible: for 1.0 and
//! later the major version (`liblvskit.so.1`); before 1.0, where a minor
//! release may break the ABI (semver's 0.y.z), the major and minor versions
//! (`liblvskit.so.0.1`). scripts/install installs the file as
//! `liblvskit.so.MAJOR.MINOR.PATCH` with the SONAME and `liblvskit.so` links.
//! Only the API's `lvskit_*` functions are exported: rustc's own export list
//! for a cdylib holds just the `#[no_mangle] extern "C"` items (checked by
//! ipvs-capi/scripts/release-checks with `nm -D --defined-only`).

fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_default();
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap_or_default();
    let soname = if major == "0" {
        format!("liblvskit.so.0.{minor}")
    } else {
        format!("liblvskit.so.{major}")
    };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    println!("cargo:rerun-if-changed=build.rs");
}
