//! The Linux notification socket: `SO_PASSCRED`, `recvmsg` with `SCM_CREDENTIALS` and `SCM_RIGHTS`.

use std::io::{self, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, recvmsg, sockopt};
use tokio::io::Interest;
use tokio::net::UnixDatagram;

use super::Datagram;
use crate::process::ProcessTree;

/// Descriptors with room in the control buffer; more are closed by the kernel (`MSG_CTRUNC`).
const MAX_DESCRIPTORS: usize = 8;
/// `sun_path` without its terminating NUL.
const MAX_PATH_BYTES: usize = 107;

#[derive(Debug)]
pub(super) struct Socket {
    sock: UnixDatagram,
    dir: PathBuf,
    path: PathBuf,
}

impl Socket {
    pub(super) fn bind(base: &Path) -> io::Result<Socket> {
        let dir = private_dir(base)?;
        let path = dir.join("notify");
        let bound = (|| {
            if path.as_os_str().len() > MAX_PATH_BYTES {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{} is too long for a socket path", path.display()),
                ));
            }
            let sock = UnixDatagram::bind(&path)?;
            sockopt::set_socket_passcred(&sock, true)?;
            Ok(sock)
        })();
        match bound {
            Ok(sock) => Ok(Socket { sock, dir, path }),
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                let _ = std::fs::remove_dir(&dir);
                Err(e)
            }
        }
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    pub(super) async fn recv(&self, buf: &mut [u8], tree: &ProcessTree) -> io::Result<Datagram> {
        let me = rustix::process::getuid();
        self.sock
            .async_io(Interest::READABLE, || {
                let mut space =
                    [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(MAX_DESCRIPTORS), ScmCredentials(1))];
                let mut control = RecvAncillaryBuffer::new(&mut space);
                let flags = RecvFlags::TRUNC | RecvFlags::CMSG_CLOEXEC | RecvFlags::DONTWAIT;
                let msg = recvmsg(&self.sock, &mut [IoSliceMut::new(buf)], &mut control, flags)?;
                let (mut credentials, mut descriptors) = (None, Vec::new());
                for message in control.drain() {
                    match message {
                        RecvAncillaryMessage::ScmCredentials(c) => credentials = Some(c),
                        RecvAncillaryMessage::ScmRights(fds) => descriptors.extend(fds),
                        _ => {}
                    }
                }
                let sender = credentials.and_then(|c| u32::try_from(c.pid.as_raw_nonzero().get()).ok());
                // Checked at once, and before the descriptors are closed: a sender waiting on its barrier is
                // still there (a sender must be, unless it is the group's leader).
                let from_tree = credentials.is_some_and(|c| c.uid == me) && sender.is_some_and(|p| tree.contains(p));
                let closed = descriptors.len();
                drop(descriptors);
                Ok(Datagram { len: msg.bytes, sender, from_tree, descriptors: closed })
            })
            .await
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// A new directory `0700` under `base` with a name nobody else chose first.
fn private_dir(base: &Path) -> io::Result<PathBuf> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let pid = std::process::id();
    let mut last = None;
    for _ in 0..16 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let dir = base.join(format!("synccenter-notify-{pid:x}-{n:x}{nanos:x}"));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => {
                return Err(io::Error::new(e.kind(), format!("cannot create a directory in {}: {e}", base.display())));
            }
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free directory name")))
}
