//! What only the PostgreSQL backend has: connecting (an unreachable server, a bad host name, a hidden
//! password), the schema (daemons migrating at once, refusing a newer one without touching it), atomic
//! batches and text PostgreSQL cannot hold.

use synccenter_core::{Change, EventLevel, Store, StoreError};
use synccenter_store_postgres::PgStore;
use synccenter_store_tests::sample::{eid, event, handler};

use crate::support::{HANG_GUARD, fresh_database, raw};

/// Nothing listens on port 1: the store is unavailable (an error, never a hang: the hang guard fails the
/// test), and says which server it tried without showing the password. Needs no server.
#[tokio::test]
async fn unreachable_server_is_unavailable_quickly() {
    let connect = PgStore::connect("postgres://postgres:hunter2@127.0.0.1:1/postgres", "a");
    let err = tokio::time::timeout(HANG_GUARD, connect)
        .await
        .expect("connecting to a closed port hung instead of failing as unavailable")
        .expect_err("refused");
    let StoreError::Unavailable(msg) = &err else { panic!("expected Unavailable, got {err:?}") };
    assert!(msg.contains("127.0.0.1:1"), "names the server: {msg}");
    assert!(msg.contains("postgres:***@"), "{msg}");
    assert!(!msg.contains("hunter2"), "hides the password: {msg}");
}

/// Host names are checked before anything is attempted. Needs no server.
#[tokio::test]
async fn invalid_host_names_are_refused() {
    for host in ["", "two words", "a/b", &"x".repeat(254)] {
        let err = PgStore::connect("postgres://127.0.0.1:1/postgres", host).await.expect_err("refused");
        let StoreError::Unavailable(msg) = &err else { panic!("{err:?}") };
        assert!(msg.contains("invalid host name"), "{msg}");
    }
    let err = PgStore::connect("mysql:/nonsense", "a").await.expect_err("refused");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn accessors_hide_the_password() {
    let Some(url) = fresh_database().await else { return };
    let s = PgStore::connect(&url, "nas-01.example").await.unwrap();
    assert_eq!(s.host(), "nas-01.example");
    assert_eq!(s.display_url(), synccenter_store_postgres::redact_url(&url));
    assert!(s.display_url().starts_with("postgres://"));
}

/// Daemons of several hosts starting together against a new database: the migrator's advisory lock lets
/// one migrate while the others wait, and all of them work.
#[tokio::test]
async fn concurrent_connects_migrate_once() {
    let Some(url) = fresh_database().await else { return };
    let (a, b, c, d) = tokio::join!(
        PgStore::connect(&url, "a"),
        PgStore::connect(&url, "b"),
        PgStore::connect(&url, "c"),
        PgStore::connect(&url, "d"),
    );
    for s in [a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap()] {
        s.apply(&[Change::HandlerSaved(handler("nas"))]).await.unwrap();
    }
    let mut conn = raw(&url).await;
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version").fetch_all(&mut conn).await.unwrap();
    assert_eq!(applied, vec![1, 2]);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM handlers").fetch_one(&mut conn).await.unwrap();
    assert_eq!(n, 4);
}

async fn fake_future_migration(conn: &mut sqlx::PgConnection) {
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'from the future', TRUE, '\\x00', 0)",
    )
    .execute(conn)
    .await
    .unwrap();
}

async fn tables(conn: &mut sqlx::PgConnection) -> Vec<String> {
    sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        .fetch_all(conn)
        .await
        .unwrap()
}

/// A database a newer build migrated is refused, naming the version, and left exactly as it was.
#[tokio::test]
async fn newer_schema_is_refused_and_left_unchanged() {
    let Some(url) = fresh_database().await else { return };
    let s = PgStore::connect(&url, "a").await.unwrap();
    s.apply(&[Change::HandlerSaved(handler("nas"))]).await.unwrap();
    s.close().await;
    let mut conn = raw(&url).await;
    fake_future_migration(&mut conn).await;
    let migrations =
        "SELECT string_agg(version::text || ':' || checksum::text, ',' ORDER BY version) FROM _sqlx_migrations";
    let before: String = sqlx::query_scalar(migrations).fetch_one(&mut conn).await.unwrap();
    let tables_before = tables(&mut conn).await;

    let err = PgStore::connect(&url, "a").await.expect_err("a newer schema must be refused");
    let StoreError::Corrupt(msg) = &err else { panic!("expected Corrupt, got {err:?}") };
    assert!(msg.contains("schema version 99990101000000"), "{msg}");
    assert!(msg.contains("schema version 99990101000000 is newer than this build"), "{msg}");
    assert!(msg.contains("Nothing was changed"), "{msg}");
    let after: String = sqlx::query_scalar(migrations).fetch_one(&mut conn).await.unwrap();
    assert_eq!(after, before);
    assert_eq!(tables(&mut conn).await, tables_before);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM handlers").fetch_one(&mut conn).await.unwrap();
    assert_eq!(n, 1);
}

/// Even where a newer build left nothing but its migration record, this build creates no table.
#[tokio::test]
async fn newer_schema_alone_is_not_migrated() {
    let Some(url) = fresh_database().await else { return };
    let mut conn = raw(&url).await;
    // The table as sqlx creates it.
    sqlx::query(
        "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
         installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, \
         execution_time BIGINT NOT NULL)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    fake_future_migration(&mut conn).await;
    let err = PgStore::connect(&url, "a").await.expect_err("refused");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert_eq!(tables(&mut conn).await, vec!["_sqlx_migrations".to_owned()]);
}

/// A batch whose last change the server refuses leaves nothing of the batch behind.
#[tokio::test]
async fn a_refused_batch_writes_nothing() {
    let Some(url) = fresh_database().await else { return };
    let s = PgStore::connect(&url, "a").await.unwrap();
    let mut conn = raw(&url).await;
    sqlx::query(
        "CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN IF NEW.name = 'boom' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query("CREATE TRIGGER refuse_boom BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_boom()")
        .execute(&mut conn)
        .await
        .unwrap();
    let mut boom = event(2, "nas", None, EventLevel::Info, 2);
    boom.name = "boom".into();
    let err = s
        .apply(&[
            Change::HandlerSaved(handler("nas")),
            Change::EventAdded(event(1, "nas", None, EventLevel::Info, 1)),
            Change::EventAdded(boom),
        ])
        .await
        .expect_err("refused");
    let StoreError::Unavailable(msg) = &err else { panic!("{err:?}") };
    assert!(msg.contains("refused by the test"), "{msg}");
    assert!(s.load().await.unwrap().handlers.is_empty());
    assert_eq!(s.get_event(eid(1)).await.unwrap(), None);
}

/// PostgreSQL text cannot hold U+0000: it is stored as U+FFFD rather than failing the batch forever.
#[tokio::test]
async fn nul_characters_are_replaced() {
    let Some(url) = fresh_database().await else { return };
    let s = PgStore::connect(&url, "a").await.unwrap();
    let mut h = handler("nas");
    h.name = "n\0s".into();
    let mut e = event(1, "nas", None, EventLevel::Info, 1);
    e.description = "a\0b".into();
    e.context = Some("\0".into());
    let mut c = synccenter_store_tests::sample::conflict(1, "nas", None);
    c.versions[0].location_full = "/x\0y".into();
    s.apply(&[Change::HandlerSaved(h), Change::EventAdded(e), Change::ConflictSaved(c)]).await.unwrap();
    let snap = s.load().await.unwrap();
    assert_eq!(snap.handlers[0].0.name, "n\u{FFFD}s");
    assert_eq!(snap.conflicts[0].versions[0].location_full, "/x\u{FFFD}y");
    let e = s.get_event(eid(1)).await.unwrap().unwrap();
    assert_eq!(e.description, "a\u{FFFD}b");
    assert_eq!(e.context.as_deref(), Some("\u{FFFD}"));
}
