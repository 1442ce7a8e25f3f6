//! What only SQLite's pruning has: freed pages handed back to the file system in a file created by this
//! build (`auto_vacuum = INCREMENTAL`), and reused in one created before it.

use std::path::Path;

use sqlx::Connection;
use synccenter_core::{Change, Event, EventId, EventLevel, HandlerId, Keep, RetentionPolicy, Store, Timestamp};
use synccenter_store_sqlite::SqliteStore;
use tempfile::TempDir;

/// `n` events of about 2 KiB each, IDs from `first`.
fn events(first: u128, n: u128) -> Vec<Change> {
    (first..first + n)
        .map(|i| {
            Change::EventAdded(Event {
                id: EventId(uuid::Uuid::from_u128(i + 1)),
                handler: HandlerId::new("nas").expect("id"),
                item: None,
                session: None,
                level: EventLevel::Info,
                name: "Copied".into(),
                description: format!("{i} {}", "x".repeat(2_000)),
                link_text: None,
                link_reference: None,
                context: None,
                time: Timestamp::from_micros(i as i64),
            })
        })
        .collect()
}

/// Removes every event, in batches, until the store says it is done; returns the number of calls.
async fn prune_everything(store: &SqliteStore) -> usize {
    let policy = RetentionPolicy { info: Keep { max_age: None, max_count: Some(0) }, ..RetentionPolicy::FOREVER };
    for calls in 1..=10_000 {
        if !store.prune(&policy, Timestamp::from_micros(1 << 40), 500).await.expect("prune").more {
            return calls;
        }
    }
    panic!("prune never said it was done");
}

async fn pragma(path: &Path, name: &str) -> i64 {
    let mut conn = crate::sqlite_only::raw(path).await;
    let n = sqlx::query_scalar(&format!("PRAGMA {name}")).fetch_one(&mut conn).await.expect("pragma");
    conn.close().await.expect("close");
    n
}

#[tokio::test]
async fn pruning_returns_the_space_to_the_file_system() {
    let dir = TempDir::new().expect("temp dir");
    let store = SqliteStore::open_in_dir(dir.path()).await.expect("open");
    store.apply(&events(0, 3_000)).await.expect("apply");
    store.close().await.expect("close");
    let path = dir.path().join(synccenter_store_sqlite::DB_FILE_NAME);
    let full = std::fs::metadata(&path).expect("size").len();
    assert!(full > 6 << 20, "3,000 events of 2 KiB fill {full} bytes");
    assert_eq!(pragma(&path, "auto_vacuum").await, 2, "a new file is created with auto_vacuum = INCREMENTAL");

    let store = SqliteStore::open(&path).await.expect("reopen");
    prune_everything(&store).await;
    store.close().await.expect("close");
    let pruned = std::fs::metadata(&path).expect("size").len();
    assert!(pruned < full / 10, "the file shrank from {full} to {pruned} bytes");
    assert_eq!(pragma(&path, "freelist_count").await, 0, "every free page was handed back");
}

/// A file as builds before retention created it (no auto_vacuum, fixed once a table exists), opened as a store,
/// given 2,000 events and pruned of them all.
async fn earlier_file_pruned(path: &Path) -> SqliteStore {
    let mut conn =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display())).await.expect("create");
    sqlx::query("CREATE TABLE earlier (x)").execute(&mut conn).await.expect("table");
    sqlx::query("DROP TABLE earlier").execute(&mut conn).await.expect("drop");
    conn.close().await.expect("close");
    let store = SqliteStore::open(path).await.expect("open");
    store.apply(&events(0, 2_000)).await.expect("apply");
    prune_everything(&store).await;
    store
}

#[tokio::test]
async fn a_file_created_before_retention_reuses_its_freed_pages() {
    let dir = TempDir::new().expect("temp dir");
    let path = dir.path().join(synccenter_store_sqlite::DB_FILE_NAME);
    let store = earlier_file_pruned(&path).await;
    store.close().await.expect("close");
    assert_eq!(pragma(&path, "auto_vacuum").await, 0, "the file keeps its mode");
    let pages = pragma(&path, "page_count").await;
    assert!(pragma(&path, "freelist_count").await > 0, "the freed pages stay in the file");

    let store = SqliteStore::open(&path).await.expect("reopen");
    store.apply(&events(10_000, 2_000)).await.expect("apply again");
    store.close().await.expect("close");
    let grown = pragma(&path, "page_count").await;
    assert!(grown <= pages + pages / 10, "new events reuse the freed pages: {pages} pages, then {grown}");
}

/// `db compact` turns a file created before retention into one that hands space back, and is refused while the
/// store has the file open.
#[tokio::test]
async fn compact_switches_an_earlier_file_to_incremental_vacuum_and_is_refused_while_in_use() {
    use synccenter_store_sqlite::maintenance::{self, MaintenanceError};
    let dir = TempDir::new().expect("temp dir");
    let path = dir.path().join(synccenter_store_sqlite::DB_FILE_NAME);
    let store = earlier_file_pruned(&path).await;
    let err = maintenance::compact(&path).await.expect_err("the store has the file open");
    assert!(matches!(err, MaintenanceError::InUse(_)), "{err}");
    assert!(err.to_string().contains("stop it first"), "{err}");
    store.close().await.expect("close");
    drop(store);
    assert_eq!(pragma(&path, "auto_vacuum").await, 0);

    let report = maintenance::compact(&path).await.expect("compact");
    assert!(report.bytes_after < report.bytes_before / 4, "{report:?}");
    assert_eq!(pragma(&path, "auto_vacuum").await, 2, "incremental from now on");
    assert!(maintenance::check(&path).await.expect("check").ok());
    let store = SqliteStore::open(&path).await.expect("the compacted file opens");
    store.apply(&events(20_000, 10)).await.expect("and takes writes");
}
