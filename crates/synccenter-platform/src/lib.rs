//! # synccenter-platform
//!
//! Everything that differs between Linux, macOS and Windows, each difference behind one module, so that the
//! daemon, the client, the CLI and the dashboard are written once:
//!
//! - [`transport`]: the per-user local endpoint. A Unix socket in a private directory on Linux and macOS; on
//!   Windows the named pipe `\\.\pipe\synccenter-<user>`, created as the first instance, with a security
//!   descriptor that admits only the current user, and remote clients rejected.
//! - [`peer`]: who is at the other end. A user ID on Unix (`SO_PEERCRED` on Linux, `getpeereid` on macOS), the
//!   security identifier of the client process's user on Windows; the daemon admits only its own.
//! - [`process`]: process trees and stop signals. A process group on Unix (SIGTERM, then SIGKILL), a Job Object
//!   on Windows (its whole tree terminated at once); SIGTERM/SIGINT/SIGHUP versus the console control events.
//! - [`fs`]: files only their owner may read (the dashboard token).
//! - [`com_registration`]: synccenter's COM in-process server in the Windows registry (per user or per machine,
//!   and the opt-in take-over of `CLSID_SyncMgrClient`); an error elsewhere.
//! - [`notify`]: the `sd_notify` socket a command gets as `NOTIFY_SOCKET`, with each sender's credentials
//!   checked against the run's process tree (Linux; not supported on macOS and Windows).
//! - [`pipe`]: a pipe's descriptor for `poll` (Unix; none on Windows), libsynccenter's cancel descriptor.
//! - [`memory`]: memory the allocator keeps after it was freed, given back to the system (glibc's
//!   `malloc_trim`; nothing elsewhere).
//!
//! Where things live (the directories, the pipe name) is resolved without any system call from the environment,
//! in `synccenter-protocol`'s `paths`, so that every platform's resolution is tested on any platform.
//!
//! The only `unsafe` code of the workspace outside the C library is in the private `win32` and `win32_registry`
//! modules (Windows only), the handful of Win32 calls that have no safe wrapper in the standard library or
//! tokio, and in `memory` (glibc only), one call to `malloc_trim`; each with its `SAFETY:` argument.
//! This crate knows nothing about the protocol, the core or storage.

#![warn(missing_docs)]

pub mod com_registration;
pub mod fs;
pub mod memory;
pub mod notify;
pub mod peer;
pub mod pipe;
pub mod priority;
pub mod process;
mod sid;
pub mod transport;
#[cfg(windows)]
mod win32;
#[cfg(windows)]
mod win32_registry;

/// This machine's host name (the DNS host name on Windows), for a daemon's identity in a fleet.
pub fn host_name() -> std::io::Result<String> {
    #[cfg(unix)]
    {
        Ok(rustix::system::uname().nodename().to_string_lossy().into_owned())
    }
    #[cfg(windows)]
    {
        win32::computer_name()
    }
}
