//! The receiving end of `sd_notify` for the commands synccenter runs: a datagram socket whose path a command
//! gets as `NOTIFY_SOCKET`, and who sent each datagram.
//!
//! - Linux: an `AF_UNIX` datagram socket named `notify` in a fresh directory of its own (mode `0700`, under
//!   `$XDG_RUNTIME_DIR` or else the temporary directory), with `SO_PASSCRED`, so the kernel attaches every
//!   sender's pid and uid (`SCM_CREDENTIALS`). A datagram counts as the run's ([`Datagram::from_tree`]) when
//!   the sender runs as this user and belongs to the run's [`ProcessTree`]: its process group is the run's
//!   (`getpgid`, checked as soon as the datagram is read), or it is the group's leader (which may already have
//!   exited; its pid stays reserved while the group has members). Descriptors passed along (`BARRIER=1` of
//!   `systemd-notify`, which waits for them to be closed) are closed on receipt, whatever the datagram says,
//!   so a sender never waits on synccenter. Dropping the socket removes its file and directory.
//! - Limits, as systemd's: a sender that has exited and been reaped before its datagram is read cannot be
//!   attributed and is refused (`systemd-notify` waits for its barrier, so it is always still there); a
//!   process that left the group (`setsid`, a daemon) is not the run's; `systemd-notify` running as root
//!   names its parent as the sender, so it must be started by a process of the run (a script), not be the
//!   run's command itself.
//! - macOS and Windows: no credentials arrive with a datagram there, so this is not supported:
//!   [`NotifySocket::bind`] fails with [`std::io::ErrorKind::Unsupported`] and commands get no
//!   `NOTIFY_SOCKET`.

use std::io;
use std::path::{Path, PathBuf};

use crate::process::ProcessTree;

#[cfg(target_os = "linux")]
#[path = "notify/linux.rs"]
mod imp;
#[cfg(not(target_os = "linux"))]
#[path = "notify/unsupported.rs"]
mod imp;

/// Whether this platform can receive notifications at all.
pub const SUPPORTED: bool = cfg!(target_os = "linux");

/// A bound notification socket; its file and directory are removed when it is dropped.
#[derive(Debug)]
pub struct NotifySocket {
    inner: imp::Socket,
}

/// One datagram received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram {
    /// Its length as sent; larger than the buffer when it was cut to fit.
    pub len: usize,
    /// The sender's pid from its credentials (`None` when none arrived).
    pub sender: Option<u32>,
    /// Whether the sender is this user's and belongs to the process tree given to [`NotifySocket::recv`].
    pub from_tree: bool,
    /// How many descriptors came with it (all of them closed already).
    pub descriptors: usize,
}

impl NotifySocket {
    /// A socket in a new private directory under `$XDG_RUNTIME_DIR` (when it is set and absolute) or else the
    /// system's temporary directory. Needs a tokio runtime.
    pub fn bind() -> io::Result<NotifySocket> {
        let base = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute() && p.is_dir())
            .unwrap_or_else(std::env::temp_dir);
        NotifySocket::bind_in(&base)
    }

    /// A socket in a new private directory under `base`.
    pub fn bind_in(base: &Path) -> io::Result<NotifySocket> {
        Ok(NotifySocket { inner: imp::Socket::bind(base)? })
    }

    /// The socket's path: the value of `NOTIFY_SOCKET`.
    pub fn path(&self) -> &Path {
        self.inner.path()
    }

    /// The next datagram, copied into `buf` (cut to its length), with whether `tree` sent it. Descriptors that
    /// came with it are closed before this returns.
    pub async fn recv(&self, buf: &mut [u8], tree: &ProcessTree) -> io::Result<Datagram> {
        self.inner.recv(buf, tree).await
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests;
