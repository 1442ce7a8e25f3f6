//! A start in bounded time. Reading every page of the file at each open (SQLite's `quick_check`) takes seconds
//! to tens of seconds for a large history from a cold cache, on every login. So a store closed cleanly leaves a
//! stamp beside its file, `<file>-closed`, holding the file's size, modification time and (on Unix) inode as the
//! close left them. An open that finds the file exactly as stamped skips the whole-file check and leaves it to
//! [`crate::SqliteStore::check_whole_file`], which the daemon runs in the background; any other file (after a
//! crash, a copy, a file changed since) is read whole before anything may write to it, as before. The stamp is
//! removed by every open, so it stands only for the close that wrote it.

use std::io;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// Where the stamp of `db` lives.
pub(crate) fn stamp_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-closed");
    PathBuf::from(name)
}

/// What identifies the file's bytes as a close left them, short of reading them.
fn identity(db: &Path) -> io::Result<String> {
    let meta = std::fs::metadata(db)?;
    let modified = meta.modified()?.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let number = synccenter_platform::fs::file_number(&meta);
    Ok(format!("synccenter clean close: size {} modified {modified} file {number}\n", meta.len()))
}

/// Stamps `db` as closed cleanly (owner-only, like the file).
pub(crate) fn stamp(db: &Path) -> io::Result<()> {
    use std::io::Write;
    let identity = identity(db)?;
    let path = stamp_path(db);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    synccenter_platform::fs::create_new_private(&path)?.write_all(identity.as_bytes())
}

/// Removes `db`'s stamp; true when there was one and the file is as it described.
pub(crate) fn take_stamp(db: &Path) -> bool {
    let path = stamp_path(db);
    let Ok(stamped) = std::fs::read_to_string(&path) else { return false };
    // A stamp that cannot be removed could vouch for a later, unclean close: it is never trusted.
    if std::fs::remove_file(&path).is_err() {
        return false;
    }
    identity(db).is_ok_and(|now| now == stamped)
}
