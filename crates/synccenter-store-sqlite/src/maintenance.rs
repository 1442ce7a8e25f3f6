//! Offline care of a database file: [`check`] (integrity and schema version, read-only), [`backup`] (a
//! consistent copy with `VACUUM INTO`, safe while the daemon runs) and [`recover`] (copy every readable row
//! into a new file next to a damaged one). None of them ever writes to the file it is given: the source is
//! always opened read-only, and new files are created beside it, never over an existing one. [`compact()`] is
//! the exception, on purpose: it rewrites a sound file no one else has open, in place (`compact`).
//!
//! These are what the daemon's refusal of a damaged file points to (`synccenter db check|backup|recover`).

use std::path::{Path, PathBuf};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{Connection, SqliteConnection};

use crate::MIGRATOR;

mod compact;
pub use compact::{CompactReport, compact};

/// The tables that hold data, parents before children, as `recover` copies them.
const TABLES: [&str; 6] = ["handlers", "items", "sessions", "session_items", "events", "conflicts"];

/// Most problems `check` lists (SQLite's `integrity_check` stops there too).
const MAX_PROBLEMS: u32 = 100;

/// Why a maintenance command could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum MaintenanceError {
    /// The database file does not exist.
    #[error("{0}: no such database file")]
    NotFound(PathBuf),
    /// The file to create already exists; nothing is ever overwritten.
    #[error("{0} already exists; choose another name (nothing is ever overwritten)")]
    TargetExists(PathBuf),
    /// SQLite failed.
    #[error("{path}: {what}: {message}")]
    Sql {
        /// The file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// SQLite's message.
        message: String,
    },
    /// Another process (the daemon) has the file open.
    #[error("{0} is in use (is the daemon running? stop it first)")]
    InUse(PathBuf),
    /// The file is damaged: `check` lists the damage, `recover` copies what is readable.
    #[error(
        "{0} is damaged; `synccenter db check` lists the damage and `synccenter db recover` copies every readable row"
    )]
    Damaged(PathBuf),
    /// The file's schema is newer than this build; recovering would drop what it cannot name.
    #[error(
        "{path}: schema version {found} is newer than this build understands (at most {known}); use the newer synccenter"
    )]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// Its newest migration.
        found: i64,
        /// This build's newest migration.
        known: i64,
    },
}

fn sql_err<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(sqlx::Error) -> MaintenanceError + 'a {
    move |e| MaintenanceError::Sql { path: path.to_owned(), what, message: message_of(&e) }
}

fn message_of(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => db.message().to_owned(),
        other => other.to_string(),
    }
}

/// The newest migration this build knows.
pub fn known_schema_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// What [`check`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckReport {
    /// The file.
    pub path: PathBuf,
    /// Its newest applied migration (`None`: no schema yet, or unreadable).
    pub schema_version: Option<i64>,
    /// The newest migration this build knows.
    pub known_version: i64,
    /// Every problem found, in SQLite's words; empty when the file is sound.
    pub problems: Vec<String>,
}

impl CheckReport {
    /// True when no problem was found.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

async fn open_read_only(path: &Path) -> Result<SqliteConnection, MaintenanceError> {
    if !path.exists() {
        return Err(MaintenanceError::NotFound(path.to_owned()));
    }
    let options = SqliteConnectOptions::new().filename(path).read_only(true).create_if_missing(false);
    SqliteConnection::connect_with(&options).await.map_err(sql_err(path, "cannot open"))
}

async fn schema_version(conn: &mut SqliteConnection) -> Result<Option<i64>, sqlx::Error> {
    let has: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
            .fetch_one(&mut *conn)
            .await?;
    if has == 0 {
        return Ok(None);
    }
    sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations").fetch_one(&mut *conn).await
}

/// Checks a database file without changing it: SQLite's full `integrity_check` (every page, every index
/// entry) and the schema version. A file that is not SQLite at all is a problem, not an error.
pub async fn check(path: &Path) -> Result<CheckReport, MaintenanceError> {
    let mut conn = open_read_only(path).await?;
    let mut report = CheckReport {
        path: path.to_owned(),
        schema_version: None,
        known_version: known_schema_version(),
        problems: vec![],
    };
    match schema_version(&mut conn).await {
        Ok(v) => report.schema_version = v,
        Err(e) => report.problems.push(format!("cannot read the schema: {}", message_of(&e))),
    }
    if report.problems.is_empty() {
        match sqlx::query_scalar::<_, String>(&format!("PRAGMA integrity_check({MAX_PROBLEMS})"))
            .fetch_all(&mut conn)
            .await
        {
            Ok(rows) => report.problems.extend(rows.into_iter().filter(|r| r != "ok")),
            Err(e) => report.problems.push(format!("the integrity check could not finish: {}", message_of(&e))),
        }
    }
    if let Some(v) = report.schema_version
        && v > report.known_version
    {
        report.problems.push(format!(
            "schema version {v} is newer than this build understands (at most {})",
            report.known_version
        ));
    }
    let _ = conn.close().await;
    Ok(report)
}

/// What [`backup`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupReport {
    /// The database copied.
    pub source: PathBuf,
    /// The new file.
    pub target: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Copies the database into `target` (which must not exist) as one consistent snapshot (`VACUUM INTO`).
/// Safe while the daemon runs: the copy holds every transaction committed before it began. A copy of a
/// damaged file fails; use [`recover`] then.
pub async fn backup(source: &Path, target: &Path) -> Result<BackupReport, MaintenanceError> {
    if target.exists() {
        return Err(MaintenanceError::TargetExists(target.to_owned()));
    }
    let mut conn = open_read_only(source).await?;
    let result = sqlx::query("VACUUM INTO ?").bind(target.to_string_lossy().into_owned()).execute(&mut conn).await;
    let _ = conn.close().await;
    if let Err(e) = result {
        // A partial copy is not a backup.
        let _ = std::fs::remove_file(target);
        return Err(sql_err(source, "cannot copy the database")(e));
    }
    let bytes = std::fs::metadata(target).map(|m| m.len()).unwrap_or(0);
    Ok(BackupReport { source: source.to_owned(), target: target.to_owned(), bytes })
}

/// How one table fared in [`recover`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableRecovery {
    /// The table.
    pub table: &'static str,
    /// Rows copied into the new file.
    pub copied: u64,
    /// Whether damage stopped a plain copy (rows in the damaged part are lost).
    pub damaged: bool,
}

/// What [`recover`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoverReport {
    /// The damaged file (unchanged).
    pub source: PathBuf,
    /// The new file with every readable row.
    pub target: PathBuf,
    /// Per table, parents first.
    pub tables: Vec<TableRecovery>,
    /// Rows dropped because what they belong to was lost (an item whose handler is gone, …).
    pub orphans_removed: u64,
    /// The new file passed `integrity_check`.
    pub target_ok: bool,
}

/// The default target of [`recover`]: `<file>.recovered`, or `<file>.recovered-N` when that exists.
pub fn default_recover_target(source: &Path) -> PathBuf {
    let base = source.as_os_str().to_owned();
    let mut candidate = base.clone();
    candidate.push(".recovered");
    let mut n = 2;
    while PathBuf::from(&candidate).exists() {
        candidate = base.clone();
        candidate.push(format!(".recovered-{n}"));
        n += 1;
    }
    PathBuf::from(candidate)
}

/// A `file:` URI for `ATTACH`, read-only.
fn read_only_uri(path: &Path) -> String {
    let mut out = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3F"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out.push_str("?mode=ro");
    out
}

async fn columns(conn: &mut SqliteConnection, schema: &str, table: &str) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(i64, String, String, i64, Option<String>, i64)> =
        sqlx::query_as(&format!("PRAGMA {schema}.table_info({table})")).fetch_all(&mut *conn).await?;
    Ok(rows.into_iter().map(|r| r.1).collect())
}

/// Copies every readable row of `source` into a new database at `target` (default
/// [`default_recover_target`]) with this build's schema. The source is only read. A table that cannot be
/// copied whole is walked row by row from both ends, so only the rows in its damaged part are lost.
pub async fn recover(source: &Path, target: Option<&Path>) -> Result<RecoverReport, MaintenanceError> {
    let target = target.map_or_else(|| default_recover_target(source), Path::to_owned);
    if target.exists() {
        return Err(MaintenanceError::TargetExists(target));
    }
    // Refuse a newer schema before creating anything: its unknown columns would be dropped silently.
    let mut probe = open_read_only(source).await?;
    let version = schema_version(&mut probe).await;
    let _ = probe.close().await;
    match version {
        Ok(Some(found)) if found > known_schema_version() => {
            return Err(MaintenanceError::NewerSchema {
                path: source.to_owned(),
                found,
                known: known_schema_version(),
            });
        }
        Ok(_) => {}
        // Nothing of the file is readable without its schema: no new file is made.
        Err(e) => return Err(sql_err(source, "the file's schema is unreadable, so no row can be found")(e)),
    }
    let created = crate::SqliteStore::open(&target).await.map_err(|e| MaintenanceError::Sql {
        path: target.clone(),
        what: "cannot create the new database",
        message: e.to_string(),
    })?;
    drop(created);
    let options = SqliteConnectOptions::new()
        .filename(&target)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(false)
        .create_if_missing(false);
    let mut conn = SqliteConnection::connect_with(&options).await.map_err(sql_err(&target, "cannot open"))?;
    let copied = copy_tables(&mut conn, source, &target).await;
    let result = match copied {
        Ok((tables, orphans_removed)) => {
            let verdict: Result<Vec<String>, _> =
                sqlx::query_scalar("PRAGMA integrity_check(1)").fetch_all(&mut conn).await;
            let target_ok = matches!(verdict.as_deref(), Ok([ok]) if ok == "ok");
            Ok(RecoverReport { source: source.to_owned(), target: target.clone(), tables, orphans_removed, target_ok })
        }
        Err(e) => Err(e),
    };
    let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut conn).await;
    let _ = conn.close().await;
    if result.is_err() {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = target.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
    result
}

async fn copy_tables(
    conn: &mut SqliteConnection,
    source: &Path,
    target: &Path,
) -> Result<(Vec<TableRecovery>, u64), MaintenanceError> {
    sqlx::query("ATTACH DATABASE ? AS old")
        .bind(read_only_uri(source))
        .execute(&mut *conn)
        .await
        .map_err(sql_err(source, "cannot open the damaged file read-only"))?;
    // Nothing of the old file is readable without its schema.
    sqlx::query("SELECT count(*) FROM old.sqlite_master")
        .execute(&mut *conn)
        .await
        .map_err(sql_err(source, "the file's schema is unreadable, so no row can be found"))?;
    let mut tables = Vec::new();
    for table in TABLES {
        let new_cols = columns(conn, "main", table).await.map_err(sql_err(target, "cannot read the new schema"))?;
        let old_cols = columns(conn, "old", table).await.unwrap_or_default();
        let cols: Vec<&str> = new_cols.iter().filter(|c| old_cols.contains(c)).map(String::as_str).collect::<Vec<_>>();
        if cols.is_empty() {
            tables.push(TableRecovery { table, copied: 0, damaged: !old_cols.is_empty() });
            continue;
        }
        let list = cols.join(", ");
        let whole = format!("INSERT OR IGNORE INTO main.{table} ({list}) SELECT {list} FROM old.{table}");
        let damaged = match sqlx::query(&whole).execute(&mut *conn).await {
            Ok(_) => false,
            Err(_) => {
                walk_rows(conn, table, &list).await;
                true
            }
        };
        let copied: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM main.{table}"))
            .fetch_one(&mut *conn)
            .await
            .map_err(sql_err(target, "cannot count the copied rows"))?;
        tables.push(TableRecovery { table, copied: copied.max(0) as u64, damaged });
    }
    // Detached first, so the foreign key check sees only the new file.
    sqlx::query("DETACH DATABASE old").execute(&mut *conn).await.map_err(sql_err(source, "cannot close"))?;
    let orphans = remove_orphans(conn).await.map_err(sql_err(target, "cannot remove orphaned rows"))?;
    Ok((tables, orphans))
}

/// Copies a damaged table one row at a time: forward by rowid until damage stops the walk, then backward
/// from the end until it meets the damage (or the rows already copied).
async fn walk_rows(conn: &mut SqliteConnection, table: &str, list: &str) {
    let next = format!("SELECT rowid FROM old.{table} WHERE rowid > ? ORDER BY rowid LIMIT 1");
    let prev = format!("SELECT rowid FROM old.{table} WHERE rowid < ? ORDER BY rowid DESC LIMIT 1");
    let copy = format!("INSERT OR IGNORE INTO main.{table} ({list}) SELECT {list} FROM old.{table} WHERE rowid = ?");
    let mut forward = i64::MIN;
    loop {
        match sqlx::query_scalar::<_, i64>(&next).bind(forward).fetch_optional(&mut *conn).await {
            Ok(Some(rowid)) => {
                let _ = sqlx::query(&copy).bind(rowid).execute(&mut *conn).await;
                forward = rowid;
            }
            Ok(None) => return,
            Err(_) => break,
        }
    }
    let mut backward = i64::MAX;
    loop {
        match sqlx::query_scalar::<_, i64>(&prev).bind(backward).fetch_optional(&mut *conn).await {
            Ok(Some(rowid)) if rowid > forward => {
                let _ = sqlx::query(&copy).bind(rowid).execute(&mut *conn).await;
                backward = rowid;
            }
            _ => return,
        }
    }
}

/// Deletes rows whose parent row was lost, so the new file passes `foreign_key_check`.
async fn remove_orphans(conn: &mut SqliteConnection) -> Result<u64, sqlx::Error> {
    let mut removed = 0;
    loop {
        let rows: Vec<(String, Option<i64>)> =
            sqlx::query_as("SELECT \"table\", rowid FROM pragma_foreign_key_check").fetch_all(&mut *conn).await?;
        if rows.is_empty() {
            return Ok(removed);
        }
        for (table, rowid) in rows {
            if let Some(rowid) = rowid
                && TABLES.contains(&table.as_str())
            {
                removed += sqlx::query(&format!("DELETE FROM {table} WHERE rowid = ?"))
                    .bind(rowid)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
            } else {
                return Ok(removed);
            }
        }
    }
}
