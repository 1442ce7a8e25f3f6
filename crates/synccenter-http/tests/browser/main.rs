//! Browser tests of the dashboard: a real daemon (`TestDaemon` with its HTTP listener) and a real headless
//! Chromium driven over WebDriver (`chromedriver` + `fantoccini`). The raw protocol connection plays the
//! sync owner; the browser plays the user. Each test starts its own daemon, chromedriver and browser, so the
//! tests run in parallel. Every wait polls the DOM every 50 ms up to [`HANG_GUARD`](synccenter_test_support::HANG_GUARD):
//! a hang guard, not a speed assertion.
//!
//! Without Chromium or chromedriver the tests fail under CI and are reported `SKIPPED:` elsewhere
//! (`synccenter_test_support::require`).
//! Screenshots of the views land in `target/dashboard-screenshots/`. Debian's Chromium runs on Linux only, so
//! on other platforms this binary is empty (the `it` tests cover the HTTP API everywhere).

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

mod attack;
mod conditions;
mod conflicts;
mod fleet;
mod harness;
mod layout;
mod ping;
mod results;
mod security;
mod sessions;
