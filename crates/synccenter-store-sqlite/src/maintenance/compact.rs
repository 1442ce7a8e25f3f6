//! `synccenter db compact`: rewrites a file without its free pages and with `auto_vacuum = INCREMENTAL`, the
//! one-off step that lets a file created before retention hand space back as history is pruned (the daemon
//! cannot do it itself: the rewrite takes minutes on a large file and holds every writer off meanwhile).
//! Refused while any other connection has the file open, so it never runs under a daemon.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteLockingMode};
use sqlx::{Connection, SqliteConnection};

use super::{MaintenanceError, check, message_of, sql_err};

/// What [`compact`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompactReport {
    /// The file.
    pub path: PathBuf,
    /// Its size before, its write-ahead log included.
    pub bytes_before: u64,
    /// Its size after (the log folded in and emptied).
    pub bytes_after: u64,
}

fn size(path: &Path) -> u64 {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    [path.to_owned(), PathBuf::from(wal)].iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum()
}

/// Compacts `path` (see the module). A damaged file or a newer schema is refused untouched, as is a file
/// another process has open.
pub async fn compact(path: &Path) -> Result<CompactReport, MaintenanceError> {
    let report = check(path).await?;
    if let Some(found) = report.schema_version.filter(|v| *v > report.known_version) {
        return Err(MaintenanceError::NewerSchema { path: path.to_owned(), found, known: report.known_version });
    }
    if !report.ok() {
        return Err(MaintenanceError::Damaged(path.to_owned()));
    }
    let bytes_before = size(path);
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .locking_mode(SqliteLockingMode::Exclusive)
        .busy_timeout(Duration::ZERO);
    let mut conn = SqliteConnection::connect_with(&options).await.map_err(sql_err(path, "cannot open the file"))?;
    let result = rewrite(&mut conn, path).await;
    let _ = conn.close().await;
    result?;
    Ok(CompactReport { path: path.to_owned(), bytes_before, bytes_after: size(path) })
}

async fn rewrite(conn: &mut SqliteConnection, path: &Path) -> Result<(), MaintenanceError> {
    // In WAL mode every open connection holds a shared lock that an exclusive one cannot pass.
    if let Err(e) = sqlx::query("BEGIN EXCLUSIVE").execute(&mut *conn).await {
        return Err(match &e {
            sqlx::Error::Database(db) if db.message().contains("locked") => MaintenanceError::InUse(path.to_owned()),
            _ => MaintenanceError::Sql { path: path.to_owned(), what: "cannot lock the file", message: message_of(&e) },
        });
    }
    sqlx::query("COMMIT").execute(&mut *conn).await.map_err(sql_err(path, "cannot lock the file"))?;
    for (sql, what) in [
        ("PRAGMA auto_vacuum = INCREMENTAL", "cannot set auto_vacuum"),
        ("VACUUM", "cannot rewrite the file"),
        ("PRAGMA wal_checkpoint(TRUNCATE)", "cannot fold the write-ahead log in"),
    ] {
        sqlx::query(sql).execute(&mut *conn).await.map_err(sql_err(path, what))?;
    }
    Ok(())
}
