//! The offline commands on real files: check, backup while the store is in use, recovery of a file with a
//! damaged page (the original stays byte for byte), and a full "disk" (the page limit) that fails writes
//! cleanly and recovers when space returns.

use std::path::Path;

use synccenter_core::{Change, EventFilter, EventLevel, Store, StoreError};
use synccenter_store_sqlite::maintenance::{self, MaintenanceError};
use synccenter_store_sqlite::{DB_FILE_NAME, OpenOptions, PageLimit, SqliteStore};
use synccenter_store_tests::sample;
use tempfile::TempDir;

/// A store with one handler and `n` events whose descriptions carry a findable marker.
async fn filled(dir: &Path, n: u128) -> SqliteStore {
    let store = SqliteStore::open_in_dir(dir).await.expect("open");
    let mut changes = vec![Change::HandlerSaved(sample::handler("nas"))];
    for i in 0..n {
        let mut e = sample::event(i, "nas", None, EventLevel::Error, 1_000 + i as i64);
        e.description = format!("MARKER-{i:05}-{}", "x".repeat(200));
        changes.push(Change::EventAdded(e));
    }
    store.apply(&changes).await.expect("apply");
    store
}

/// Closes every connection and folds the WAL into the main file, so the file alone holds everything.
async fn settle(store: SqliteStore) {
    let path = store.path().to_owned();
    drop(store);
    use sqlx::Connection;
    let mut conn =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.expect("raw connection");
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut conn).await.expect("checkpoint");
    conn.close().await.expect("close");
}

/// Overwrites the page that holds `marker` with bytes no page may start with.
fn damage_page_holding(path: &Path, marker: &str) {
    let mut bytes = std::fs::read(path).expect("read");
    let page_size = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
    let at = bytes.windows(marker.len()).position(|w| w == marker.as_bytes()).expect("marker on disk");
    let page = at / page_size;
    assert!(page > 0, "never the schema page");
    bytes[page * page_size..(page + 1) * page_size].fill(0xA5);
    std::fs::write(path, bytes).expect("write");
}

#[tokio::test]
async fn check_reports_a_sound_file_and_its_schema_version() {
    let dir = TempDir::new().unwrap();
    settle(filled(dir.path(), 10).await).await;
    let path = dir.path().join(DB_FILE_NAME);
    let report = maintenance::check(&path).await.expect("check");
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.schema_version, Some(maintenance::known_schema_version()));
    assert!(matches!(maintenance::check(&dir.path().join("missing.sqlite")).await, Err(MaintenanceError::NotFound(_))));
}

#[tokio::test]
async fn a_backup_taken_while_the_store_is_in_use_holds_every_committed_write() {
    let dir = TempDir::new().unwrap();
    let store = filled(dir.path(), 50).await;
    let target = dir.path().join("copy.sqlite");
    let report = maintenance::backup(store.path(), &target).await.expect("backup");
    assert!(report.bytes > 0);
    // The store keeps working after the copy, and the copy is a sound database of its own.
    store.apply(&[Change::EventAdded(sample::event(999, "nas", None, EventLevel::Info, 5))]).await.expect("apply");
    let copy = SqliteStore::open(&target).await.expect("the copy opens");
    assert_eq!(copy.count_events(&EventFilter::default()).await.expect("count"), 50);
    assert!(maintenance::check(&target).await.expect("check").ok());
    // Nothing is ever overwritten.
    let err = maintenance::backup(store.path(), &target).await.expect_err("target exists");
    assert!(matches!(err, MaintenanceError::TargetExists(_)), "{err}");
}

#[tokio::test]
async fn a_damaged_page_is_refused_at_open_and_recover_copies_everything_else() {
    let dir = TempDir::new().unwrap();
    settle(filled(dir.path(), 400).await).await;
    let path = dir.path().join(DB_FILE_NAME);
    damage_page_holding(&path, "MARKER-00200");
    let damaged = std::fs::read(&path).unwrap();

    let err = SqliteStore::open(&path).await.expect_err("a damaged file is refused");
    let StoreError::Corrupt(msg) = &err else { panic!("expected Corrupt, got {err:?}") };
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("synccenter db recover"), "the message names the recovery command: {msg}");
    assert_eq!(std::fs::read(&path).unwrap(), damaged, "refusing left the file as it was");

    let report = maintenance::check(&path).await.expect("check runs");
    assert!(!report.ok(), "check finds the damage");

    let report = maintenance::recover(&path, None).await.expect("recover");
    assert_eq!(std::fs::read(&path).unwrap(), damaged, "recover never writes to the damaged file");
    assert_eq!(report.target, dir.path().join(format!("{DB_FILE_NAME}.recovered")));
    assert!(report.target_ok, "{report:?}");
    let events = report.tables.iter().find(|t| t.table == "events").expect("events");
    assert!(events.damaged, "{report:?}");
    assert!(events.copied < 400 && events.copied >= 360, "only the damaged page's rows are lost: {report:?}");
    let handlers = report.tables.iter().find(|t| t.table == "handlers").expect("handlers");
    assert_eq!((handlers.copied, handlers.damaged), (1, false));

    // The recovered file is a working store, and a second recovery picks a new name.
    let store = SqliteStore::open(&report.target).await.expect("the recovered file opens");
    assert_eq!(store.count_events(&EventFilter::default()).await.unwrap(), events.copied);
    assert_eq!(store.load().await.unwrap().handlers.len(), 1);
    assert_eq!(maintenance::default_recover_target(&path), dir.path().join(format!("{DB_FILE_NAME}.recovered-2")));
}

/// After a clean close an open reads no page (a bounded start); damage that left the file's size, time and
/// inode as the close stamped them (decay on the disk) is found by the whole-file check the daemon runs in the
/// background, and the next open, the stamp being used up, reads the whole file and refuses it untouched.
#[tokio::test]
async fn after_a_clean_close_the_whole_file_check_moves_to_the_background() {
    let dir = TempDir::new().unwrap();
    let store = filled(dir.path(), 400).await;
    let path = store.path().to_owned();
    assert!(!store.needs_whole_file_check(), "a new file needs no later check");
    store.close().await.expect("close");
    drop(store);
    let store = SqliteStore::open(&path).await.expect("open");
    assert!(store.needs_whole_file_check(), "a cleanly closed file is opened without reading it whole");
    store.check_whole_file().await.expect("a sound file passes");
    store.close().await.expect("close");
    drop(store);

    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    damage_page_holding(&path, "MARKER-00200");
    std::fs::File::options().write(true).open(&path).unwrap().set_modified(modified).unwrap();
    let store = SqliteStore::open(&path).await.expect("the file is as stamped: it opens at once");
    let err = store.check_whole_file().await.expect_err("the whole-file check finds the damage");
    let StoreError::Corrupt(msg) = &err else { panic!("expected Corrupt, got {err:?}") };
    assert!(msg.contains(&path.display().to_string()) && msg.contains("synccenter db recover"), "{msg}");
    drop(store);

    let damaged = std::fs::read(&path).unwrap();
    let err = SqliteStore::open(&path).await.expect_err("no stamp now: read whole and refused");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), damaged, "refusing left the file as it was");
}

/// A stamp vouches only for the file its close left: a file changed since (here, damaged in place with a new
/// modification time) is read whole at open and refused.
#[tokio::test]
async fn a_file_changed_since_its_clean_close_is_checked_whole_at_open() {
    let dir = TempDir::new().unwrap();
    let store = filled(dir.path(), 400).await;
    let path = store.path().to_owned();
    store.close().await.expect("close");
    drop(store);
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    damage_page_holding(&path, "MARKER-00200");
    let later = modified + std::time::Duration::from_secs(1);
    std::fs::File::options().write(true).open(&path).unwrap().set_modified(later).unwrap();
    let err = SqliteStore::open(&path).await.expect_err("refused at open");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
}

#[tokio::test]
async fn a_file_that_is_not_sqlite_cannot_be_recovered_and_nothing_is_left_behind() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join(DB_FILE_NAME);
    std::fs::write(&path, vec![0x5Au8; 8192]).unwrap();
    let report = maintenance::check(&path).await.expect("check runs");
    assert!(!report.ok());
    assert!(
        report.problems.iter().any(|p| p.contains("cannot read the schema") && p.contains("not a database")),
        "the problem says why, in SQLite's words: {report:?}"
    );
    let err = maintenance::recover(&path, None).await.expect_err("nothing readable");
    assert!(err.to_string().contains("unreadable"), "{err}");
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from(DB_FILE_NAME)], "no half-made file remains");
}

#[tokio::test]
async fn a_full_disk_fails_writes_whole_and_the_store_recovers_when_space_returns() {
    let dir = TempDir::new().unwrap();
    let limit = PageLimit::new();
    let store =
        SqliteStore::open_in_dir_with(dir.path(), OpenOptions { page_limit: Some(limit.clone()) }).await.expect("open");
    store.apply(&[Change::HandlerSaved(sample::handler("nas"))]).await.expect("apply");
    limit.set(Some(1));
    let big: Vec<Change> = (0..200)
        .map(|i| {
            let mut e = sample::event(i, "nas", None, EventLevel::Error, i as i64);
            e.description = "y".repeat(1000);
            Change::EventAdded(e)
        })
        .collect();
    let err = store.apply(&big).await.expect_err("no space");
    let StoreError::Unavailable(msg) = &err else { panic!("expected Unavailable, got {err:?}") };
    assert!(msg.starts_with("disk full"), "{msg}");
    assert_eq!(store.count_events(&EventFilter::default()).await.unwrap(), 0, "all or nothing");
    // Small writes fill what space is left until one fails, whether in a statement or at COMMIT.
    let mut n = 1000;
    loop {
        let mut e = sample::event(n, "nas", None, EventLevel::Error, n as i64);
        e.description = "w".repeat(900);
        if store.apply(&[Change::EventAdded(e)]).await.is_err() {
            break;
        }
        n += 1;
        assert!(n < 2000, "the page limit never filled up");
    }
    limit.set(None);
    store.apply(&big).await.expect("space returned");
    assert_eq!(store.count_events(&EventFilter::default()).await.unwrap(), 200 + (n - 1000) as u64);
    // Every pooled connection writes again (a failed COMMIT must not leave one stuck in a transaction).
    for i in 0..12 {
        let e = sample::event(5000 + i, "nas", None, EventLevel::Info, 0);
        store.apply(&[Change::EventAdded(e)]).await.expect("every connection writes again");
    }
    let path = store.path().to_owned();
    drop(store);
    assert!(maintenance::check(&path).await.unwrap().ok());
}

/// A store file whose schema claims a migration from the future.
async fn newer_schema_file(dir: &Path) -> std::path::PathBuf {
    use sqlx::Connection;
    settle(filled(dir, 10).await).await;
    let path = dir.join(DB_FILE_NAME);
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.expect("connect");
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'from the future', 1, x'00', 0)",
    )
    .execute(&mut conn)
    .await
    .expect("insert");
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut conn).await.expect("checkpoint");
    conn.close().await.expect("close");
    path
}

/// `check` names a newer schema as a problem, and `recover` refuses it before creating anything (its unknown
/// columns would be dropped).
#[tokio::test]
async fn a_newer_schema_is_a_problem_for_check_and_refused_by_recover() {
    let dir = TempDir::new().unwrap();
    let path = newer_schema_file(dir.path()).await;
    let report = maintenance::check(&path).await.expect("check runs");
    assert_eq!(report.schema_version, Some(99990101000000));
    assert!(report.problems.iter().any(|p| p.contains("newer than this build")), "{report:?}");
    let err = maintenance::recover(&path, None).await.expect_err("a newer schema is not recovered");
    assert!(matches!(err, MaintenanceError::NewerSchema { found: 99990101000000, .. }), "{err:?}");
    assert!(!dir.path().join(format!("{DB_FILE_NAME}.recovered")).exists(), "nothing was created");
}

/// Recovery targets are numbered on from the first free one: `.recovered`, then `-2`, `-3`…
#[test]
fn recovery_targets_are_numbered_on() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join(DB_FILE_NAME);
    let named = |suffix: &str| dir.path().join(format!("{DB_FILE_NAME}{suffix}"));
    assert_eq!(maintenance::default_recover_target(&path), named(".recovered"));
    std::fs::write(named(".recovered"), b"").unwrap();
    std::fs::write(named(".recovered-2"), b"").unwrap();
    assert_eq!(maintenance::default_recover_target(&path), named(".recovered-3"));
}

/// A file written by an older build (here: the schema before migration 0003) opens, is migrated, and keeps its
/// events: only a newer schema is refused.
#[tokio::test]
async fn an_older_schema_opens_and_is_migrated() {
    use sqlx::Connection;
    let dir = TempDir::new().unwrap();
    settle(filled(dir.path(), 10).await).await;
    let path = dir.path().join(DB_FILE_NAME);
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.expect("connect");
    for undo in [
        "DROP TRIGGER events_count_insert",
        "DROP TRIGGER events_count_delete",
        "DROP TRIGGER events_count_update",
        "DROP TABLE event_counts",
        "DROP INDEX events_by_item",
        "DROP INDEX events_by_handler",
        "CREATE INDEX events_by_handler ON events (handler_id, item_id, time DESC, id DESC)",
        "DELETE FROM _sqlx_migrations WHERE version = 3",
    ] {
        sqlx::query(undo).execute(&mut conn).await.unwrap_or_else(|e| panic!("{undo}: {e}"));
    }
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut conn).await.expect("checkpoint");
    conn.close().await.expect("close");
    assert_eq!(maintenance::check(&path).await.expect("check").schema_version, Some(2));

    let store = SqliteStore::open(&path).await.expect("an older schema opens");
    assert_eq!(store.count_events(&EventFilter::default()).await.unwrap(), 10, "its events are kept and counted");
    drop(store);
    assert_eq!(
        maintenance::check(&path).await.expect("check").schema_version,
        Some(maintenance::known_schema_version())
    );
}

/// Damage that only the whole-file check sees (the header's freelist count, which no query reads) is refused
/// at open, by the check's own verdict.
#[tokio::test]
async fn damage_no_query_reads_is_refused_by_the_open_check() {
    let dir = TempDir::new().unwrap();
    settle(filled(dir.path(), 10).await).await;
    let path = dir.path().join(DB_FILE_NAME);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[36..40].copy_from_slice(&5u32.to_be_bytes());
    std::fs::write(&path, &bytes).unwrap();

    let err = SqliteStore::open(&path).await.expect_err("a damaged file is refused");
    let StoreError::Corrupt(msg) = &err else { panic!("expected Corrupt, got {err:?}") };
    assert!(msg.contains("Freelist: size is 0 but should be 5"), "the message carries the check's verdict: {msg}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "refusing left the file as it was");
}

/// Overwrites page `page` (1-based, as SQLite numbers them) with bytes no page may start with.
fn damage_page(path: &Path, page: usize) {
    let mut bytes = std::fs::read(path).expect("read");
    let page_size = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
    bytes[(page - 1) * page_size..page * page_size].fill(0xA5);
    std::fs::write(path, bytes).expect("write");
}

async fn raw(path: &Path) -> sqlx::SqliteConnection {
    use sqlx::Connection;
    sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.expect("raw connection")
}

/// Sessions whose page is lost leave their members without a parent: recovery removes exactly those rows, so
/// the new file passes its foreign key check.
#[tokio::test]
async fn recover_removes_the_rows_a_lost_page_left_without_a_parent() {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open_in_dir(dir.path()).await.expect("open");
    let mut changes = vec![Change::HandlerSaved(sample::handler("nas"))];
    changes.extend((1..=3).map(|n| sample::started(n, "nas", &["a", "b"], 1_000 + n as i64)));
    store.apply(&changes).await.expect("apply");
    settle(store).await;
    let path = dir.path().join(DB_FILE_NAME);
    let mut conn = raw(&path).await;
    let root: i64 = sqlx::query_scalar("SELECT rootpage FROM sqlite_master WHERE name = 'sessions'")
        .fetch_one(&mut conn)
        .await
        .expect("root page");
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count").fetch_one(&mut conn).await.expect("page count");
    drop(conn);
    assert!(root > 1 && root <= pages, "a table page, not the schema");
    damage_page(&path, usize::try_from(root).unwrap());

    let report = maintenance::recover(&path, None).await.expect("recover");
    let table = |name: &str| report.tables.iter().find(|t| t.table == name).expect(name).clone();
    assert!(table("sessions").damaged && table("sessions").copied == 0, "{report:?}");
    assert_eq!(table("session_items").copied, 6, "{report:?}");
    assert_eq!(report.orphans_removed, 6, "every member of the three lost sessions: {report:?}");
    assert!(report.target_ok, "{report:?}");
    let recovered = SqliteStore::open(&report.target).await.expect("the recovered file opens");
    assert!(recovered.load().await.expect("load").live_sessions.is_empty());
}

/// A table the damaged file never had (a file from before the table existed) has nothing to lose: it is
/// reported empty, not damaged.
#[tokio::test]
async fn recover_reports_a_table_the_file_never_had_as_empty_not_damaged() {
    let dir = TempDir::new().unwrap();
    settle(filled(dir.path(), 10).await).await;
    let path = dir.path().join(DB_FILE_NAME);
    let mut conn = raw(&path).await;
    for sql in ["DROP TABLE conflicts", "PRAGMA wal_checkpoint(TRUNCATE)"] {
        sqlx::query(sql).execute(&mut conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    drop(conn);

    let report = maintenance::recover(&path, None).await.expect("recover");
    let conflicts = report.tables.iter().find(|t| t.table == "conflicts").expect("conflicts");
    assert_eq!((conflicts.copied, conflicts.damaged), (0, false), "{report:?}");
    let events = report.tables.iter().find(|t| t.table == "events").expect("events");
    assert_eq!((events.copied, events.damaged), (10, false), "{report:?}");
}
