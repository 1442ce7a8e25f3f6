//! Turns sqlx failures into the core's `StoreError`, so no driver type leaks out of this crate.
//!
//! A file SQLite cannot read (not a database, damaged) or a schema newer than this build is `Corrupt`, with a
//! message naming the file and how to recover; anything else (I/O, locks, a full disk) is `Unavailable`.

use std::path::Path;

use synccenter_core::StoreError;

/// SQLite primary result codes that mean "this file cannot be read as our database".
const SQLITE_CORRUPT: i64 = 11;
const SQLITE_NOTADB: i64 = 26;
/// The disk (or the page limit) is full.
const SQLITE_FULL: i64 = 13;

/// The message of every `Corrupt` refusal of a damaged file: the problem, the file, and the way out.
pub(crate) fn corrupt(path: &Path, problem: &str) -> StoreError {
    let p = path.display();
    StoreError::Corrupt(format!(
        "{problem}: {p}. The file was left untouched. `synccenter db check {p}` lists the damage; \
         `synccenter db recover {p}` copies every readable row into a new file next to it (then move the damaged \
         file aside and put the new one in its place); or restore a copy made with `synccenter db backup`"
    ))
}

/// The refusal of a file written by a newer build.
pub(crate) fn newer_schema(path: &Path, found: i64, known: i64) -> StoreError {
    StoreError::Corrupt(format!(
        "the database has schema version {found}, newer than this build understands (at most {known}): {}. The \
         file was left untouched; run the newer synccenter that wrote it, or restore a copy made with \
         `synccenter db backup` by this version",
        path.display()
    ))
}

/// Maps a driver error met while using the database at `path`.
pub(crate) fn from_sqlx(path: &Path, e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        let primary = db.code().and_then(|c| c.parse::<i64>().ok()).map(|c| c & 0xFF);
        if matches!(primary, Some(SQLITE_CORRUPT | SQLITE_NOTADB)) {
            return corrupt(path, &format!("the database file is not readable SQLite ({})", db.message()));
        }
        if primary == Some(SQLITE_FULL) {
            return StoreError::Unavailable(format!(
                "disk full: {} cannot grow ({}); nothing of this write was stored",
                path.display(),
                db.message()
            ));
        }
    }
    StoreError::Unavailable(format!("{}: {e}", path.display()))
}

/// Maps a migration failure.
pub(crate) fn from_migrate(path: &Path, e: sqlx::migrate::MigrateError) -> StoreError {
    use sqlx::migrate::MigrateError;
    match e {
        MigrateError::Execute(inner) | MigrateError::ExecuteMigration(inner, _) => from_sqlx(path, inner),
        MigrateError::VersionMissing(v) => newer_schema(path, v, crate::maintenance::known_schema_version()),
        MigrateError::VersionMismatch(v) => {
            corrupt(path, &format!("the database's schema migration {v} differs from this build's"))
        }
        MigrateError::Dirty(v) => corrupt(path, &format!("the database's schema migration {v} is partially applied")),
        other => StoreError::Unavailable(format!("{}: migrating the schema failed: {other}", path.display())),
    }
}

/// A value in the database that this build cannot interpret.
pub(crate) fn bad_value(path: &Path, what: &str, detail: impl std::fmt::Display) -> StoreError {
    corrupt(path, &format!("the database holds an invalid {what} ({detail})"))
}
