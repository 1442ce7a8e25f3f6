//! Files: private ones, and durable replacement.
//!
//! - Files only their owner may read: created owner-only, and refused when they are not. On Unix that is mode
//!   `0600` and the owner's user ID; on Windows a file created in the user's profile (`%LOCALAPPDATA%`) inherits
//!   an access list that already admits only that user and the system, and its access list is not inspected
//!   here (see `docs/platforms.md`).
//! - Replacing a file by a new one so that a crash leaves one of the two whole, and the new one once this
//!   returns: a rename and an `fsync` of the directory on Unix; on Windows, which has neither a directory to sync
//!   nor a way to replace a file that is still open, a write-through move, after the caller closed the file.

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::path::Path;

/// Why a file is not private.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotPrivate {
    /// Group or others have some access (the permission bits).
    #[error("its mode is {0:o}; group and others must have no access")]
    Mode(u32),
    /// It belongs to another user.
    #[error("it belongs to uid {owner}, not to this user ({me})")]
    Owner {
        /// The file's owner.
        owner: u32,
        /// This process's user.
        me: u32,
    },
}

/// Creates `path` for writing, failing if it exists, readable by its owner only.
pub fn create_new_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// A number that tells files of one file system apart: the inode on Unix; on Windows, where the metadata of a
/// path carries none, 0.
pub fn file_number(meta: &Metadata) -> u64 {
    #[cfg(unix)]
    return std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    {
        let _ = meta;
        0
    }
}

/// Checks that a file with this metadata is readable by its owner only, and that the owner is this user.
pub fn check_private(meta: &Metadata) -> Result<(), NotPrivate> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mode = meta.mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(NotPrivate::Mode(mode));
        }
        let me = rustix::process::getuid().as_raw();
        if meta.uid() != me {
            return Err(NotPrivate::Owner { owner: meta.uid(), me });
        }
        Ok(())
    }
    #[cfg(windows)]
    {
        let _ = meta;
        Ok(())
    }
}

/// Replaces `dest` by `src` (a file in the same directory whose data is already synced) atomically and durably:
/// once this returns, `dest` has the new contents after a crash too. On Windows every handle to `dest` must be
/// closed first (the move fails otherwise).
pub fn replace_durably(src: &Path, dest: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::rename(src, dest)?;
        let dir = match dest.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()
    }
    #[cfg(windows)]
    {
        crate::win32::move_file_replacing(src, dest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_private_file_passes_the_check_and_is_never_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secret");
        drop(create_new_private(&path).expect("create"));
        check_private(&std::fs::metadata(&path).expect("meta")).expect("private");
        assert_eq!(create_new_private(&path).expect_err("exists").kind(), io::ErrorKind::AlreadyExists);
    }

    #[test]
    fn a_replaced_file_has_the_new_contents_and_the_source_is_gone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (src, dest) = (dir.path().join("new"), dir.path().join("file"));
        std::fs::write(&dest, b"old").expect("write");
        std::fs::write(&src, b"new").expect("write");
        replace_durably(&src, &dest).expect("replace");
        assert_eq!(std::fs::read(&dest).expect("read"), b"new");
        assert!(!src.exists());
        // A source that is not there is an error and leaves the destination alone.
        assert_eq!(replace_durably(&src, &dest).expect_err("no source").kind(), io::ErrorKind::NotFound);
        assert_eq!(std::fs::read(&dest).expect("read"), b"new");
    }

    #[cfg(unix)]
    #[test]
    fn a_readable_file_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secret");
        drop(create_new_private(&path).expect("create"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        assert_eq!(check_private(&std::fs::metadata(&path).expect("meta")), Err(NotPrivate::Mode(0o640)));
    }
}
