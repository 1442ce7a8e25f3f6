//! Integration tests of the PostgreSQL store against a real server: the shared conformance suite (each case
//! on a database of its own), then what only this backend has: host scoping and the fleet operations,
//! idempotent replays, refusing a newer schema, an unreachable server, and a server restart.
//!
//! The server comes from `SYNCCENTER_TEST_PG_URL` (see `support.rs`): unset, the tests fail under CI and
//! are reported `SKIPPED:` elsewhere (`synccenter_test_support::require`).

mod fleet;
mod pg_only;
// Stops and restarts a private server (`initdb`, `pg_ctl`): Unix only.
#[cfg(unix)]
mod restart;
mod send_check;
mod support;

use synccenter_store_postgres::PgStore;
use synccenter_store_tests::{Damage, StoreFixture};

/// The host every conformance store is opened for.
const HOST: &str = "conformance-host";

/// A fresh database; reopening drops the store (its pool) and connects again.
struct PgFixture {
    url: String,
}

impl StoreFixture for PgFixture {
    type Store = PgStore;

    fn available() -> bool {
        support::server_url().is_some()
    }

    async fn fresh() -> Self {
        let admin = support::server_url().expect("`available` said the server is configured");
        PgFixture { url: support::create_database(&admin).await }
    }

    async fn open(&self) -> PgStore {
        PgStore::connect(&self.url, HOST).await.expect("connect the store")
    }

    async fn reopen(&self, old: PgStore) -> PgStore {
        old.close().await;
        self.open().await
    }

    async fn damage(&self, damage: &Damage) -> Option<u64> {
        let Damage::PauseEndWithoutStart(handler) = damage;
        let sql = "UPDATE handlers SET paused_since = NULL WHERE host = $1 AND id = $2 AND paused_until IS NOT NULL";
        let mut conn = support::raw(&self.url).await;
        let done = sqlx::query(sql).bind(HOST).bind(handler.as_str()).execute(&mut conn).await.expect("damage");
        Some(done.rows_affected())
    }
}

synccenter_store_tests::store_conformance!(PgFixture);
