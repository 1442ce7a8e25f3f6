//! Integration tests of the daemon through its public protocol, on a real daemon with a temporary socket and
//! store.

mod bad_input;
// Real rsync, restic, rclone and shell scripts: Unix only (`transport` runs a command handler everywhere).
#[cfg(unix)]
mod commands;
// Run conditions with shell commands, stand-in mount tables and a loop mount: Unix only.
#[cfg(unix)]
mod conditions;
mod doc_transcripts;
mod faults;
// Load behaviour, on every platform (under Wine too: docs/platforms.md says why it once was not).
mod flood;
mod lifecycle;
mod limits;
// systemd-notify through command handlers: sd_notify is supported on Linux only.
#[cfg(unix)]
mod notify;
// `after` and exclusive groups through command handlers' scripts (and `commands`' helpers): Unix only.
#[cfg(unix)]
mod order;
// Python owners, SIGSTOP, fork and a second user through setpriv: Unix only (`transport` covers every platform).
#[cfg(unix)]
mod owners;
// Python over AF_UNIX: Unix only.
#[cfg(unix)]
mod python_client;
mod retention;
mod sessions;
mod transport;
mod units;
