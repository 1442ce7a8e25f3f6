//! The per-user socket: a private directory (`0700`, ours, not a symlink), a socket file `0600`, refusal to
//! start beside a live daemon, removal of a stale socket left by a dead one, and the peer check that admits
//! only our own user.

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use synccenter_protocol::MAX_SOCKET_PATH_BYTES;

/// Why the socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// The path is too long for a Unix socket.
    #[error("socket path {path} is {len} bytes; Unix sockets allow at most {max}")]
    PathTooLong {
        /// The path.
        path: PathBuf,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The socket's directory is unsafe.
    #[error("refusing to use {path}: {reason}")]
    UnsafeDirectory {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Another daemon answers on the socket.
    #[error("another synccenter daemon is already serving {0}; stop it first (or pass --socket)")]
    AlreadyRunning(PathBuf),
    /// An I/O failure.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> SocketError + 'a {
    move |source| SocketError::Io { what, path: path.to_owned(), source }
}

/// Creates (or checks) the socket's directory and binds the socket, owner-only.
pub fn bind(path: &Path) -> Result<UnixListener, SocketError> {
    let len = path.as_os_str().len();
    if len > MAX_SOCKET_PATH_BYTES {
        return Err(SocketError::PathTooLong { path: path.to_owned(), len, max: MAX_SOCKET_PATH_BYTES });
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    prepare_dir(dir)?;
    match std::fs::symlink_metadata(path) {
        Ok(_) => match UnixStream::connect(path) {
            Ok(_) => return Err(SocketError::AlreadyRunning(path.to_owned())),
            Err(_) => {
                tracing::info!(path = %path.display(), "removing a stale socket left by a daemon that is gone");
                std::fs::remove_file(path).map_err(io_err("cannot remove the stale socket", path))?;
            }
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err("cannot inspect", path)(e)),
    }
    let listener = UnixListener::bind(path).map_err(io_err("cannot bind", path))?;
    // The directory is already private, so nobody else can reach the socket before this narrows it.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io_err("cannot chmod", path))?;
    Ok(listener)
}

fn prepare_dir(dir: &Path) -> Result<(), SocketError> {
    let unsafe_dir = |reason: String| SocketError::UnsafeDirectory { path: dir.to_owned(), reason };
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io_err("cannot create the socket directory", dir))?;
            Ok(())
        }
        Err(e) => Err(io_err("cannot inspect", dir)(e)),
        Ok(meta) => {
            if meta.file_type().is_symlink() {
                return Err(unsafe_dir("it is a symbolic link".into()));
            }
            if !meta.is_dir() {
                return Err(unsafe_dir("it is not a directory".into()));
            }
            let me = rustix::process::getuid().as_raw();
            if meta.uid() != me {
                return Err(unsafe_dir(format!("it belongs to uid {}, not to this user ({me})", meta.uid())));
            }
            if meta.mode() & 0o077 != 0 {
                return Err(unsafe_dir(format!(
                    "its mode is {:o}; other users must have no access (chmod 700 it)",
                    meta.mode() & 0o777
                )));
            }
            Ok(())
        }
    }
}

/// True when the peer runs as our own user.
pub(crate) fn peer_is_us(stream: &tokio::net::UnixStream) -> Result<bool, (u32, io::Error)> {
    let me = rustix::process::getuid().as_raw();
    match stream.peer_cred() {
        Ok(cred) if cred.uid() == me => Ok(true),
        Ok(cred) => Err((cred.uid(), io::Error::new(io::ErrorKind::PermissionDenied, "peer uid differs"))),
        Err(e) => Err((u32::MAX, e)),
    }
}
