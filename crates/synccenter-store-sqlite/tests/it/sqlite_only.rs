//! What only the SQLite backend has: the database file in the data directory, WAL journaling, and refusing a
//! file it cannot read (garbage, a newer schema) without touching it.

use std::path::Path;

use synccenter_core::{Store, StoreError};
use synccenter_store_sqlite::{DB_FILE_NAME, SqliteStore};
use tempfile::TempDir;

pub(crate) async fn raw(path: &Path) -> sqlx::SqliteConnection {
    use sqlx::Connection;
    sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.expect("raw connection")
}

#[tokio::test]
async fn database_file_is_created_in_the_data_dir() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("nested").join("data");
    let store = SqliteStore::open_in_dir(&data).await.unwrap();
    assert_eq!(store.path(), data.join(DB_FILE_NAME));
    assert!(data.join(DB_FILE_NAME).is_file());
    assert!(store.load().await.unwrap().handlers.is_empty());
}

#[tokio::test]
async fn journal_mode_is_wal() {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open_in_dir(dir.path()).await.unwrap();
    drop(store);
    let mut conn = raw(&dir.path().join(DB_FILE_NAME)).await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut conn).await.unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn garbage_file_is_refused_and_left_unchanged() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join(DB_FILE_NAME);
    let garbage: Vec<u8> = (0..10_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    let err = SqliteStore::open_in_dir(dir.path()).await.expect_err("garbage must be refused");
    let StoreError::Corrupt(msg) = &err else { panic!("expected Corrupt, got {err:?}") };
    assert!(msg.contains(&path.display().to_string()), "message names the file: {msg}");
    assert!(msg.contains("synccenter db recover"), "message says how to recover: {msg}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage, "the file is byte for byte unchanged");
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from(DB_FILE_NAME)], "no journal or WAL file was created");
}

#[tokio::test]
async fn text_file_with_sqlite_name_is_refused() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("notes.sqlite");
    std::fs::write(&path, "just some text, not a database\n").unwrap();
    let err = SqliteStore::open(&path).await.expect_err("refused");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "just some text, not a database\n");
}

/// A future build's migration is simulated by a row in `_sqlx_migrations` with a version above every
/// migration this build embeds: exactly what a newer binary leaves behind.
#[tokio::test]
async fn newer_schema_is_refused_and_left_unchanged() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join(DB_FILE_NAME);
    drop(SqliteStore::open(&path).await.unwrap());
    {
        use sqlx::Connection;
        let mut conn = raw(&path).await;
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99990101000000, 'from the future', 1, x'00', 0)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        // Fold the WAL into the main file so that the byte comparison below sees the whole database.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = SqliteStore::open(&path).await.expect_err("newer schema must be refused");
    let StoreError::Corrupt(msg) = &err else { panic!("expected Corrupt, got {err:?}") };
    assert!(msg.contains("newer"), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[tokio::test]
async fn unreachable_location_is_unavailable() {
    let dir = TempDir::new().unwrap();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "x").unwrap();
    // A data directory beneath a regular file cannot be created.
    let err = SqliteStore::open_in_dir(&blocker.join("data")).await.expect_err("refused");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn reopening_an_existing_database_keeps_it() {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open_in_dir(dir.path()).await.unwrap();
    store
        .apply(&[synccenter_core::Change::HandlerSaved(synccenter_store_tests::sample::handler("nas"))])
        .await
        .unwrap();
    drop(store);
    let store = SqliteStore::open_in_dir(dir.path()).await.unwrap();
    assert_eq!(store.load().await.unwrap().handlers.len(), 1);
}
