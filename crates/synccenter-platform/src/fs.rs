//! Files only their owner may read: created owner-only, and refused when they are not. On Unix that is mode
//! `0600` and the owner's user ID; on Windows a file created in the user's profile (`%LOCALAPPDATA%`) inherits
//! an access list that already admits only that user and the system, and its access list is not inspected
//! here (see `docs/platforms.md`).

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
