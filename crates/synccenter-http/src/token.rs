//! The dashboard token: 32 random bytes as 64 hex characters, kept in `dashboard.token` in the data directory,
//! created with mode 0600 and refused when group or others may read it (on Windows the file inherits the
//! owner-only access list of the user's profile: [`synccenter_platform::fs`]). Comparisons are constant-time.

use std::io::Write;
use std::path::Path;

use synccenter_platform::fs::{NotPrivate, check_private, create_new_private};

use crate::error::HttpError;

/// The token file's name in the data directory.
pub const TOKEN_FILE: &str = "dashboard.token";

/// Length of a token in hex characters.
pub const TOKEN_LEN: usize = 64;

/// A new token: 32 bytes from the operating system's random source, as lower-case hex.
pub fn generate_token() -> Result<String, HttpError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| HttpError::Random(e.to_string()))?;
    Ok(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Reads `dashboard.token` from `data_dir`, creating it (mode 0600, atomically, never overwriting) when absent.
/// Fails when the file is readable by group or others, belongs to another user, or holds no token.
pub fn load_or_create_token(data_dir: &Path) -> Result<String, HttpError> {
    load_or_create_secret(data_dir, TOKEN_FILE)
}

/// [`load_or_create_token`] for another secret of the same form in file `name` of `data_dir` (the daemon's
/// `ping.secret`, from which ping URLs are derived).
pub fn load_or_create_secret(data_dir: &Path, name: &str) -> Result<String, HttpError> {
    let path = data_dir.join(name);
    let io = |source| HttpError::TokenIo { path: path.clone(), source };
    std::fs::create_dir_all(data_dir).map_err(io)?;
    match std::fs::symlink_metadata(&path) {
        Ok(_) => read_token(&path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let token = generate_token()?;
            // Write a private temporary file, then link it into place: readers never see a half-written token
            // and a concurrent creator's token is never overwritten.
            // Unique per call (not only per process): two callers in one process must not share it.
            let tmp = data_dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), &token[..16]));
            let _ = std::fs::remove_file(&tmp);
            let written = (|| {
                let mut f = create_new_private(&tmp)?;
                f.write_all(token.as_bytes())?;
                f.sync_all()?;
                std::fs::hard_link(&tmp, &path)
            })();
            let _ = std::fs::remove_file(&tmp);
            match written {
                Ok(()) => Ok(token),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_token(&path),
                Err(e) => Err(io(e)),
            }
        }
        Err(e) => Err(io(e)),
    }
}

fn read_token(path: &Path) -> Result<String, HttpError> {
    let io = |source| HttpError::TokenIo { path: path.to_owned(), source };
    let meta = std::fs::symlink_metadata(path).map_err(io)?;
    match check_private(&meta) {
        Ok(()) if meta.file_type().is_file() => {}
        Ok(()) => return Err(HttpError::TokenNotAFile { path: path.to_owned() }),
        Err(NotPrivate::Mode(mode)) => return Err(HttpError::TokenPermissions { path: path.to_owned(), mode }),
        Err(NotPrivate::Owner { owner, me }) => {
            return Err(HttpError::TokenOwner { path: path.to_owned(), owner, me });
        }
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    let token = text.trim();
    if token.len() != TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(HttpError::TokenMalformed { path: path.to_owned(), expected: TOKEN_LEN });
    }
    Ok(token.to_owned())
}

/// Compares two secrets in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn tokens_are_hex_and_differ() {
        let a = generate_token().expect("token");
        let b = generate_token().expect("token");
        assert_eq!(a.len(), TOKEN_LEN);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn the_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let t1 = load_or_create_token(&data).expect("create");
        let mode = std::fs::metadata(data.join(TOKEN_FILE)).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let t2 = load_or_create_token(&data).expect("reuse");
        assert_eq!(t1, t2);
    }

    #[test]
    fn a_readable_file_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        load_or_create_token(dir.path()).expect("create");
        let path = dir.path().join(TOKEN_FILE);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(matches!(load_or_create_token(dir.path()), Err(HttpError::TokenPermissions { mode: 0o644, .. })));
    }

    #[test]
    fn a_malformed_file_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(TOKEN_FILE);
        std::fs::write(&path, "short").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert!(matches!(load_or_create_token(dir.path()), Err(HttpError::TokenMalformed { .. })));
    }

    #[test]
    fn comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        // Two differences that would cancel out if they were combined with XOR instead of OR.
        assert!(!constant_time_eq(&[1, 1], &[0, 0]));
    }

    #[test]
    fn a_token_of_the_right_length_that_is_not_hex_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(TOKEN_FILE);
        std::fs::write(&path, "g".repeat(TOKEN_LEN)).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert!(matches!(load_or_create_token(dir.path()), Err(HttpError::TokenMalformed { .. })));
    }

    #[test]
    fn a_directory_in_place_of_the_token_is_refused_as_not_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join(TOKEN_FILE)).expect("mkdir");
        std::fs::set_permissions(dir.path().join(TOKEN_FILE), std::fs::Permissions::from_mode(0o700)).expect("chmod");
        assert!(matches!(load_or_create_token(dir.path()), Err(HttpError::TokenNotAFile { .. })));
    }

    /// Creators racing on one missing file all end with the one token that was linked into place.
    #[test]
    fn concurrent_creators_agree_on_one_token() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().expect("tempdir");
            let start = std::sync::Barrier::new(8);
            let tokens: Vec<String> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..8)
                    .map(|_| {
                        s.spawn(|| {
                            start.wait();
                            load_or_create_token(dir.path())
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().expect("thread").expect("a token")).collect()
            });
            assert!(tokens.windows(2).all(|w| w[0] == w[1]), "{tokens:?}");
            let leftovers = std::fs::read_dir(dir.path()).expect("read").count();
            assert_eq!(leftovers, 1, "only the token file remains");
        }
    }
}
