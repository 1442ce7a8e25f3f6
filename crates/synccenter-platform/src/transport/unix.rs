//! The Unix half of the transport: a socket file `0600` in a private directory, the stale-socket check, and
//! the peer's user ID from the kernel (`SO_PEERCRED` on Linux, `getpeereid` on macOS, via tokio's
//! `peer_cred`).

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::net::UnixStream;

use super::{SocketError, io_err};
use crate::peer::Identity;

#[cfg(target_os = "macos")]
pub(super) const MAX_ENDPOINT_BYTES: usize = 103;
#[cfg(not(target_os = "macos"))]
pub(super) const MAX_ENDPOINT_BYTES: usize = 107;

pub(super) type Stream = UnixStream;
pub(super) type ReadHalf = tokio::net::unix::OwnedReadHalf;
pub(super) type WriteHalf = tokio::net::unix::OwnedWriteHalf;

#[derive(Debug)]
pub(super) struct Listener {
    listener: tokio::net::UnixListener,
    path: PathBuf,
}

pub(super) fn bind(path: &Path) -> Result<Listener, SocketError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    prepare_dir(dir)?;
    match std::fs::symlink_metadata(path) {
        Ok(_) => match std::os::unix::net::UnixStream::connect(path) {
            Ok(_) => return Err(SocketError::AlreadyRunning(path.to_owned())),
            Err(_) => {
                tracing::info!(path = %path.display(), "removing a stale socket left by a daemon that is gone");
                std::fs::remove_file(path).map_err(io_err("cannot remove the stale socket", path))?;
            }
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err("cannot inspect", path)(e)),
    }
    let listener = std::os::unix::net::UnixListener::bind(path).map_err(io_err("cannot bind", path))?;
    // The directory is already private, so nobody else can reach the socket before this narrows it.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io_err("cannot chmod", path))?;
    listener.set_nonblocking(true).map_err(io_err("cannot set up", path))?;
    let listener = tokio::net::UnixListener::from_std(listener).map_err(io_err("cannot register", path))?;
    Ok(Listener { listener, path: path.to_owned() })
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

impl Listener {
    pub(super) async fn accept(&mut self) -> io::Result<Stream> {
        let (stream, _) = self.listener.accept().await?;
        Ok(stream)
    }

    pub(super) fn close(self) {
        drop(self.listener);
        let _ = std::fs::remove_file(&self.path);
    }
}

pub(super) fn peer_identity(stream: &Stream) -> io::Result<Identity> {
    Ok(Identity::Uid(stream.peer_cred()?.uid()))
}

pub(super) async fn connect(path: &Path) -> io::Result<Stream> {
    let stream = UnixStream::connect(path).await?;
    // A socket in a directory another user could write to might be theirs: talk only to our own user's daemon.
    let server = stream.peer_cred()?.uid();
    let me = rustix::process::getuid().as_raw();
    if server != me {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("the socket is served by uid {server}, not by this user ({me})"),
        ));
    }
    Ok(stream)
}

pub(super) fn split(stream: Stream) -> (ReadHalf, WriteHalf) {
    stream.into_split()
}

pub(super) fn endpoint_in(dir: &Path, name: &str) -> PathBuf {
    dir.join("run").join(format!("{name}.sock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Binds `dir/s.sock` and returns why the directory was refused; nothing may have been created there.
    fn refusal(dir: &Path) -> String {
        let path = dir.join("s.sock");
        match bind(&path) {
            Err(SocketError::UnsafeDirectory { path: refused, reason }) => {
                assert_eq!(refused, dir, "the refusal names the directory");
                assert!(std::fs::symlink_metadata(&path).is_err(), "a refused bind created {}", path.display());
                reason
            }
            other => panic!("{} must be refused as unsafe, got {other:?}", dir.display()),
        }
    }

    fn private_dir(parent: &Path, name: &str) -> PathBuf {
        let dir = parent.join(name);
        std::fs::DirBuilder::new().mode(0o700).create(&dir).expect("mkdir");
        dir
    }

    #[test]
    fn a_symbolic_link_to_a_private_directory_is_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let target = private_dir(tmp.path(), "real");
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        assert_eq!(refusal(&link), "it is a symbolic link");
        assert_eq!(std::fs::read_dir(&target).expect("read").count(), 0, "nothing was made behind the link");
    }

    #[test]
    fn a_socket_directory_that_is_a_file_is_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("run");
        std::fs::write(&file, "not a directory").expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert_eq!(refusal(&file), "it is not a directory");
        assert_eq!(std::fs::read_to_string(&file).expect("read"), "not a directory", "the file is untouched");
    }

    /// As root (CI's case) a private directory is given to uid 65534; any other user is refused the root
    /// directory, which root owns, so the refusal is tried either way.
    #[test]
    fn a_socket_directory_of_another_user_is_refused_even_when_private() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (dir, owner) = if rustix::process::getuid().is_root() {
            let dir = private_dir(tmp.path(), "theirs");
            std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).expect("chown");
            (dir, 65534)
        } else {
            (PathBuf::from("/"), 0)
        };
        let me = rustix::process::getuid().as_raw();
        assert_eq!(refusal(&dir), format!("it belongs to uid {owner}, not to this user ({me})"));
    }

    /// A directory path that cannot be inspected (a component is a file) is refused as such, not created.
    #[test]
    fn a_socket_directory_that_cannot_be_inspected_is_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("file");
        std::fs::write(&file, "x").expect("write");
        let dir = file.join("run");
        match bind(&dir.join("s.sock")) {
            Err(SocketError::Io { what, path, .. }) => assert_eq!((what, path), ("cannot inspect", dir)),
            other => panic!("expected an inspection error, got {other:?}"),
        }
    }
}
