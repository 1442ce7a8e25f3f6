//! Builds the C client of the Wine test (`tests/c/client.c`) with mingw-w64 against the checked-in
//! `include/syncmgr.h`, when the target is Windows: build scripts run on the build machine, so a Linux host
//! cross-compiles it here and `tests/wine.rs` runs it under Wine. Its path reaches the test as
//! `SYNCCENTER_COM_CLIENT_EXE` (empty when no mingw compiler is installed: the test then reports the missing
//! component).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=tests/c/client.c");
    println!("cargo:rerun-if-changed=include/syncmgr.h");
    let windows = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "windows");
    let mut exe = String::new();
    if windows {
        let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("client.exe");
        let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
        let cc = std::env::var("SYNCCENTER_MINGW_CC").unwrap_or_else(|_| "x86_64-w64-mingw32-gcc".to_owned());
        let status = Command::new(&cc)
            .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-O1"])
            .arg(format!("-I{}", dir.join("include").display()))
            .arg(dir.join("tests/c/client.c"))
            .arg("-o")
            .arg(&out)
            .args(["-lole32", "-luuid"])
            .status();
        match status {
            Ok(s) if s.success() => exe = out.display().to_string(),
            Ok(s) => panic!("{cc} could not compile tests/c/client.c ({s})"),
            Err(e) => {
                println!("cargo:warning=no mingw C compiler ({cc}: {e}); the Wine test of the C client is skipped")
            }
        }
    }
    println!("cargo:rustc-env=SYNCCENTER_COM_CLIENT_EXE={exe}");
}
