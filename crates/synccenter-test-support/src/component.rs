//! One rule for a test whose required component is missing (a program, a database server, root): under CI
//! the test fails with what is missing, elsewhere it reports itself as not run and returns early.
//!
//! Neither libtest nor nextest lets a test mark itself skipped while it runs (`#[ignore]` is decided when it
//! is compiled), so "not run" is a line `SKIPPED: <test>: <component> is missing: <why>` written straight to
//! the process's stderr, past libtest's capture: `cargo test` shows it next to the test's `ok`, and nextest
//! keeps it in the test's output (`--success-output immediate` or `--no-capture` shows it; grep for
//! `SKIPPED:`). The test then returns. Never `std::process::exit`, which would end every other test of the
//! binary as a pass.

use std::fmt::Display;
use std::io::Write;
use std::path::PathBuf;

/// The environment variable CI systems set (to `true`) and `.ci/run` expects.
pub const CI_ENV: &str = "CI";

/// Whether the tests run under CI: `CI` is set to anything but an empty string, `0` or `false`.
pub fn under_ci() -> bool {
    means_ci(std::env::var(CI_ENV).ok().as_deref())
}

fn means_ci(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        let v = v.trim();
        !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false"))
    })
}

/// What `found` holds when the component is there; when it is missing (`Err(why)`), panics under CI and
/// otherwise writes the `SKIPPED:` line and returns `None`, on which the test returns at once.
///
/// ```ignore
/// let Some(rsync) = require("rsync", program("rsync")) else { return };
/// ```
pub fn require<T, E: Display>(component: &str, found: Result<T, E>) -> Option<T> {
    decide(under_ci(), component, found, &mut std::io::stderr())
}

fn decide<T, E: Display>(ci: bool, component: &str, found: Result<T, E>, out: &mut dyn Write) -> Option<T> {
    match found {
        Ok(value) => Some(value),
        Err(why) if ci => panic!(
            "{component} is missing: {why}. Under CI ({CI_ENV} is set) a missing component fails the test \
             instead of skipping it"
        ),
        Err(why) => {
            let thread = std::thread::current();
            let test = thread.name().filter(|n| *n != "main").unwrap_or("a test");
            let _ = writeln!(out, "SKIPPED: {test}: {component} is missing: {why}");
            None
        }
    }
}

/// The program `name` on `PATH` (or in `/usr/bin`), or why not.
pub fn program(name: &str) -> Result<PathBuf, String> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .ok_or_else(|| format!("`{name}` is not on PATH (install it: `.ci/run` lists the packages)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_is_any_value_but_empty_zero_or_false() {
        for ci in ["true", "1", "yes", "TRUE"] {
            assert!(means_ci(Some(ci)), "{ci}");
        }
        for not in [None, Some(""), Some(" "), Some("0"), Some("false"), Some("False")] {
            assert!(!means_ci(not), "{not:?}");
        }
    }

    #[test]
    fn a_present_component_is_handed_back_under_ci_or_not() {
        let mut out = Vec::new();
        assert_eq!(decide(true, "x", Ok::<_, String>(7), &mut out), Some(7));
        assert_eq!(decide(false, "x", Ok::<_, String>(7), &mut out), Some(7));
        assert!(out.is_empty());
    }

    #[test]
    fn a_missing_component_skips_outside_ci_and_says_so() {
        let mut out = Vec::new();
        assert_eq!(decide::<u8, _>(false, "x", Err("not here"), &mut out), None);
        let line = String::from_utf8(out).expect("text");
        assert_eq!(
            line,
            "SKIPPED: component::tests::a_missing_component_skips_outside_ci_and_says_so: x is missing: not here\n"
        );
    }

    #[test]
    #[should_panic(expected = "x is missing: not here. Under CI")]
    fn a_missing_component_fails_under_ci() {
        let _ = decide::<u8, _>(true, "x", Err("not here"), &mut Vec::new());
    }

    #[test]
    fn programs_are_found_on_path_or_named_as_missing() {
        assert!(program("sh").is_ok());
        let err = program("no-such-program-synccenter").expect_err("missing");
        assert!(err.contains("`no-such-program-synccenter` is not on PATH"), "{err}");
    }
}
