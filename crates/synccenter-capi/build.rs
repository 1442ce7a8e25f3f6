//! Gives the shared library its soname on Linux (`libsynccenter.so.0`, the major version of the C ABI), so
//! programs linked against the installed library keep working across compatible updates
//! (`scripts/install-capi.sh` installs the links).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libsynccenter.so.0");
    }
}
