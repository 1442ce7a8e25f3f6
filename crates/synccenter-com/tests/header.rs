//! `include/syncmgr.h` is what mingw-w64's widl makes of `idl/syncmgr.idl` and is checked in, so C and C++
//! programs build without widl; this test regenerates it and fails when the checked-in copy differs.
//! `SYNCCENTER_BLESS=1` writes the new header instead. widl parses `idl/unknwn.idl` and `idl/objidl.idl`, our
//! stand-ins for the SDK's (Debian installs none), and the header includes the system's own `unknwn.h` and
//! `objidl.h` in their place. It runs where widl does, on the build machine: not under Wine.

#![cfg(not(windows))]

use std::path::PathBuf;
use std::process::Command;

use synccenter_test_support::component;

const WIDL: &str = "x86_64-w64-mingw32-widl";

#[test]
fn the_checked_in_header_is_what_widl_generates() {
    let Some(widl) = component::require("widl (mingw-w64-tools)", component::program(WIDL)) else { return };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().expect("tempdir");
    let generated = out.path().join("syncmgr.h");
    let o = Command::new(widl)
        .current_dir(&dir)
        .args(["--nostdinc", "-I", "idl", "-h", "-o"])
        .arg(&generated)
        .arg("idl/syncmgr.idl")
        .output()
        .expect("run widl");
    assert!(o.status.success(), "widl failed: {}", String::from_utf8_lossy(&o.stderr));
    let generated = std::fs::read(&generated).expect("read the generated header");
    let path = dir.join("include/syncmgr.h");
    if std::fs::read(&path).unwrap_or_default() == generated {
        return;
    }
    if std::env::var_os("SYNCCENTER_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).expect("write the header");
        return;
    }
    panic!(
        "{} is stale: regenerate it with SYNCCENTER_BLESS=1 cargo test -p synccenter-com --test header",
        path.display()
    );
}
