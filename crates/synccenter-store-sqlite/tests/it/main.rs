//! Integration tests of the SQLite store: the shared conformance suite, then what only SQLite has (the file,
//! its journal mode, refusing files it cannot read).

mod maintenance;
mod retention;
mod sqlite_only;

use synccenter_store_sqlite::{DB_FILE_NAME, SqliteStore};
use synccenter_store_tests::{Damage, StoreFixture};
use tempfile::TempDir;

/// A fresh data directory; reopening drops the store and opens the same file again.
struct SqliteFixture {
    dir: TempDir,
}

impl StoreFixture for SqliteFixture {
    type Store = SqliteStore;

    async fn fresh() -> Self {
        SqliteFixture { dir: TempDir::new().expect("temp dir") }
    }

    async fn open(&self) -> SqliteStore {
        SqliteStore::open_in_dir(self.dir.path()).await.expect("open store")
    }

    async fn reopen(&self, old: SqliteStore) -> SqliteStore {
        drop(old);
        self.open().await
    }

    async fn damage(&self, damage: &Damage) -> Option<u64> {
        let Damage::PauseEndWithoutStart(handler) = damage;
        let mut conn = sqlite_only::raw(&self.dir.path().join(DB_FILE_NAME)).await;
        let sql = "UPDATE handlers SET paused_since = NULL WHERE id = ? AND paused_until IS NOT NULL";
        Some(sqlx::query(sql).bind(handler.as_str()).execute(&mut conn).await.expect("damage").rows_affected())
    }
}

synccenter_store_tests::store_conformance!(SqliteFixture);
