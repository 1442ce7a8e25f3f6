//! # synccenter-store-postgres
//!
//! A [`Store`] on PostgreSQL for fleets: the daemons of many hosts share one database. A [`PgStore`] is opened
//! *for one host* and everything the [`Store`] trait does is scoped to that host: `load` returns its handlers,
//! items, conflicts and live sessions only, and events and sessions are listed, counted, read and removed
//! among its rows only. Through the trait it behaves exactly like `synccenter_core::MemoryStore` (the
//! reference semantics, checked by the `synccenter-store-tests` conformance suite).
//!
//! On top of the trait, inherent methods serve the fleet (see the `fleet` and `requests` modules): hosts
//! register and heartbeat, survivors end the live sessions of a host that went silent, fleet-wide reads see
//! every host's rows, and one host asks another to act through the `requests` table with `NOTIFY`.
//!
//! ## Replays
//!
//! A daemon buffers changes while the database is unreachable and replays them later; a commit whose
//! acknowledgement was lost is replayed too. So [`Store::apply`] is atomic (one transaction) *and*
//! idempotent: starting a session and adding a member do nothing when the row exists, saves are upserts (an
//! event written again replaces the earlier copy, as on every backend, so a replay writes the same row; never
//! another host's), deletes are naturally idempotent, and a session is ended only once (the first end wins,
//! since another host may already have ended it as `host_lost`). Progress and new members are only written
//! while their session is live, so a late replay cannot contradict the end another host recorded.
//!
//! ## Text
//!
//! PostgreSQL text cannot hold U+0000; such characters in free text (names, descriptions, progress text) are
//! stored as U+FFFD. IDs never contain them.

#![warn(missing_docs)]

mod apply;
mod codec;
mod errors;
mod fleet;
mod prune;
mod requests;
mod upkeep;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, PgConnection, Postgres, QueryBuilder};
use synccenter_core::{
    Change, Event, EventFilter, EventId, EventQuery, Pruned, RetentionPolicy, SessionId, SessionQuery, SessionRecord,
    Snapshot, Store, StoreError, Timestamp,
};
use uuid::Uuid;

use synccenter_store_rows::filter::{Condition, event_conditions};
use synccenter_store_rows::read::{self, SESSION_COLUMNS, SESSION_ITEM_COLUMNS};
use synccenter_store_rows::write::{CONFLICTS, EVENTS, HANDLERS, ITEMS};
use synccenter_store_rows::{Bad, Columns, Param, Read};

use crate::apply::apply_one;
use crate::codec::{Row, host_args, hosted, select_list, ts};
use crate::errors::{ACQUIRE_TIMEOUT, bad_value, corrupt, from_migrate, from_sqlx};

pub use crate::errors::redact_url;
pub use crate::fleet::{FleetHandler, HostRecord, Liveness, LostHost};
pub use crate::requests::{DONE_CHANNEL, Notification, Notifications, REQUESTS_CHANNEL, RemoteRequest};

/// How long opening a connection may take before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections in a store's pool: the daemon's writer, its queries and its fleet bookkeeping.
const MAX_CONNECTIONS: u32 = 4;

/// The longest host name (a DNS name's limit).
pub const MAX_HOST_NAME_LEN: usize = 253;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// A host name that [`PgStore::connect`] refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidHostName {
    /// The name given.
    pub name: String,
}

impl std::fmt::Display for InvalidHostName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid host name {:?}: a host name has 1 to {MAX_HOST_NAME_LEN} characters, each a letter, a digit, \
             '.', '_' or '-'",
            self.name
        )
    }
}

impl std::error::Error for InvalidHostName {}

/// Checks a host name: 1 to 253 characters of `[A-Za-z0-9._-]`.
pub fn validate_host_name(name: &str) -> Result<(), InvalidHostName> {
    let ok = (1..=MAX_HOST_NAME_LEN).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok { Ok(()) } else { Err(InvalidHostName { name: name.to_owned() }) }
}

/// A [`Store`] on a PostgreSQL database shared by a fleet, scoped to one host.
#[derive(Debug)]
pub struct PgStore {
    pool: PgPool,
    host: String,
    display_url: String,
    /// The version given to [`PgStore::register_host`], kept so that a heartbeat can register the host again
    /// if its row disappeared.
    version: Mutex<String>,
}

impl PgStore {
    /// Connects to the database at `url` for `host`, and brings its schema up to date.
    ///
    /// The server must answer within a few seconds, else [`StoreError::Unavailable`] names it (password
    /// hidden). A database whose schema has a migration this build does not know (written by a newer
    /// build) is refused with [`StoreError::Corrupt`] before anything is written to it. Daemons starting
    /// together are safe: sqlx's migrator holds a PostgreSQL advisory lock while it migrates. An invalid
    /// host name (see [`validate_host_name`]) is refused as `Unavailable`, since the store cannot be used.
    pub async fn connect(url: &str, host: &str) -> Result<PgStore, StoreError> {
        validate_host_name(host).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let display_url = redact_url(url);
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("{display_url} is not a usable PostgreSQL URL: {e}")))?
            .application_name(&format!("synccenter {host}"));

        // One dedicated connection first: it says precisely why a server cannot be reached (a pool would
        // only time out), checks the schema version before anything writes, and runs the migrations.
        // `run_direct` rather than `run`: the latter's `Acquire` bound makes a future whose `Send` rustc cannot
        // prove for every lifetime, and daemons spawn this one.
        let mut conn = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .map_err(|_| {
                StoreError::Unavailable(format!(
                    "PostgreSQL at {display_url} did not answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| match e {
                sqlx::Error::Io(io) => {
                    StoreError::Unavailable(format!("cannot reach PostgreSQL at {display_url}: {io}"))
                }
                other => from_sqlx(&display_url, other),
            })?;
        let prepared = async {
            check_schema(&mut conn, &display_url).await?;
            MIGRATOR.run_direct(&mut conn).await.map_err(|e| from_migrate(&display_url, e))
        }
        .await;
        // Closing also drops the migrator's advisory lock should a migration have failed half-way; a failure
        // to say goodbye says nothing about the database.
        let _ = conn.close().await;
        prepared?;

        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        Ok(PgStore { pool, host: host.to_owned(), display_url, version: Mutex::new(String::new()) })
    }

    /// The host this store is scoped to.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The database's URL with the password replaced by `***`.
    pub fn display_url(&self) -> &str {
        &self.display_url
    }

    /// Closes every pooled connection; the store cannot be used afterwards.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn sql_err(&self, e: sqlx::Error) -> StoreError {
        from_sqlx(&self.display_url, e)
    }

    pub(crate) fn bad(&self, b: Bad) -> StoreError {
        bad_value(&self.display_url, b.what, &b.detail)
    }

    /// A transaction that sees one snapshot of the database across several statements and writes nothing.
    pub(crate) async fn read_tx(&self) -> Result<sqlx::Transaction<'static, Postgres>, StoreError> {
        self.pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").await.map_err(|e| self.sql_err(e))
    }

    /// Every row `sql` selects for this store's host (`$1`), `params` after it.
    pub(crate) async fn fetch<'q>(
        &self,
        conn: &mut PgConnection,
        sql: &'q str,
        params: impl IntoIterator<Item = Param<'q>>,
    ) -> Result<Vec<PgRow>, StoreError> {
        let args = host_args(&self.host, params).map_err(|e| self.sql_err(e))?;
        sqlx::query_with(sql, args).fetch_all(conn).await.map_err(|e| self.sql_err(e))
    }

    /// Decodes `rows` with `decode`, dropping their hosts (all this store's).
    fn decode<T>(&self, rows: &[PgRow], decode: fn(&dyn Columns) -> Read<T>) -> Result<Vec<T>, StoreError> {
        let decoded = hosted(rows, decode).map_err(|b| self.bad(b))?;
        Ok(decoded.into_iter().map(|(_, t)| t).collect())
    }

    /// The records of `rows` (sessions), each with its host and its members, read in one query.
    pub(crate) async fn records(
        &self,
        conn: &mut PgConnection,
        rows: &[PgRow],
    ) -> Result<Vec<(String, SessionRecord)>, StoreError> {
        let mut records = hosted(rows, read::session).map_err(|b| self.bad(b))?;
        if records.is_empty() {
            return Ok(records);
        }
        let ids: Vec<Uuid> = records.iter().map(|(_, r)| r.id.0).collect();
        let members =
            sqlx::query(&SESSION_ITEM_SELECT).bind(&ids).fetch_all(&mut *conn).await.map_err(|e| self.sql_err(e))?;
        let mut by_session: HashMap<Uuid, Vec<_>> = HashMap::new();
        for m in &members {
            let session: Uuid = sqlx::Row::try_get(m, "session_id").map_err(|e| self.sql_err(e))?;
            by_session.entry(session).or_default().push(read::session_item(&Row(m)).map_err(|b| self.bad(b))?);
        }
        for (_, record) in &mut records {
            record.items = by_session.remove(&record.id.0).unwrap_or_default();
        }
        Ok(records)
    }
}

/// Refuses a database that a newer build has migrated: a version in `_sqlx_migrations` that this build does
/// not embed. Runs before the migrator, which would otherwise fail only after taking its lock, and reads
/// only.
async fn check_schema(conn: &mut PgConnection, server: &str) -> Result<(), StoreError> {
    let has_table: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| from_sqlx(server, e))?;
    if !has_table {
        return Ok(());
    }
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| from_sqlx(server, e))?;
    let known = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let unknown = applied.iter().copied().filter(|v| !MIGRATOR.iter().any(|m| m.version == *v)).max();
    match unknown {
        Some(v) if v > known => Err(corrupt(
            server,
            &format!("the database's schema version {v} is newer than this build (which knows versions up to {known})"),
        )),
        Some(v) => {
            Err(corrupt(server, &format!("the database has schema migration {v}, which this build does not know")))
        }
        None => Ok(()),
    }
}

/// Pushes `AND ...` conditions equal to [`EventFilter::matches`].
pub(crate) fn push_filter(qb: &mut QueryBuilder<'_, Postgres>, filter: &EventFilter) {
    for condition in event_conditions(filter) {
        match condition {
            Condition::TextIs(column, value) => qb.push(format_args!(" AND {column} = ")).push_bind(value.to_owned()),
            Condition::NoItem => qb.push(" AND item_id IS NULL"),
            Condition::LevelIn(levels) => qb.push(" AND level = ANY(").push_bind(levels).push(")"),
            Condition::Session(id) => qb.push(" AND session_id = ").push_bind(id),
            Condition::Time(operator, t) => qb.push(format_args!(" AND time {operator} ")).push_bind(t),
        };
    }
}

/// `SELECT` of the host and `columns` of `table`, followed by `rest`.
pub(crate) fn select(table: &str, columns: &[&str], rest: &str) -> String {
    format!("SELECT {} FROM {table} {rest}", select_list(columns))
}

static HANDLER_SELECT: LazyLock<String> =
    LazyLock::new(|| select("handlers", HANDLERS.columns, "WHERE host = $1 ORDER BY id"));
static ITEM_SELECT: LazyLock<String> =
    LazyLock::new(|| select("items", ITEMS.columns, "WHERE host = $1 ORDER BY handler_id, id"));
static CONFLICT_SELECT: LazyLock<String> =
    LazyLock::new(|| select("conflicts", CONFLICTS.columns, "WHERE host = $1 ORDER BY id"));
/// Events, followed by conditions.
pub(crate) static EVENT_SELECT: LazyLock<String> = LazyLock::new(|| select("events", EVENTS.columns, "WHERE TRUE"));
/// Sessions, followed by conditions.
static SESSION_SELECT: LazyLock<String> = LazyLock::new(|| select("sessions", SESSION_COLUMNS, "WHERE TRUE"));
static SESSION_ITEM_SELECT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT session_id, {} FROM session_items WHERE session_id = ANY($1) ORDER BY session_id, position",
        SESSION_ITEM_COLUMNS.join(", ")
    )
});

/// Pushes the keyset cursor, the order (newest first, ties by ID descending) and the limit of an event page.
pub(crate) fn push_page(qb: &mut QueryBuilder<'_, Postgres>, query: &EventQuery) {
    if let Some(c) = query.after {
        qb.push(" AND (time, id) < (").push_bind(ts(c.time)).push(", ").push_bind(c.id.0).push(")");
    }
    qb.push(" ORDER BY time DESC, id DESC LIMIT ").push_bind(i64::from(query.limit));
}

impl Store for PgStore {
    async fn load(&self) -> Result<Snapshot, StoreError> {
        let mut tx = self.read_tx().await?;
        let handlers = self.fetch(&mut tx, &HANDLER_SELECT, []).await?;
        let items = self.fetch(&mut tx, &ITEM_SELECT, []).await?;
        let conflicts = self.fetch(&mut tx, &CONFLICT_SELECT, []).await?;
        let live_sql = format!("{} AND host = $1 AND ended_at IS NULL ORDER BY id", *SESSION_SELECT);
        let live = self.fetch(&mut tx, &live_sql, []).await?;
        let live_sessions = self.records(&mut tx, &live).await?.into_iter().map(|(_, r)| r).collect();
        tx.commit().await.map_err(|e| self.sql_err(e))?;
        let handlers = self.decode(&handlers, read::handler)?;
        let items = self.decode(&items, read::item)?;
        Ok(read::snapshot(handlers, items, self.decode(&conflicts, read::conflict)?, live_sessions))
    }

    async fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(|e| self.sql_err(e))?;
        for change in changes {
            // Dropping the transaction on an error rolls it back: all changes or none.
            apply_one(&mut tx, &self.host, change).await.map_err(|e| self.sql_err(e))?;
        }
        tx.commit().await.map_err(|e| self.sql_err(e))
    }

    async fn list_events(&self, query: &EventQuery) -> Result<Vec<Event>, StoreError> {
        let mut qb = QueryBuilder::<Postgres>::new(format!("{} AND host = ", *EVENT_SELECT));
        qb.push_bind(self.host.clone());
        push_filter(&mut qb, &query.filter);
        push_page(&mut qb, query);
        let rows = qb.build().fetch_all(&self.pool).await.map_err(|e| self.sql_err(e))?;
        self.decode(&rows, read::event)
    }

    async fn count_events(&self, filter: &EventFilter) -> Result<u64, StoreError> {
        let mut qb = QueryBuilder::<Postgres>::new("SELECT count(*) FROM events WHERE host = ");
        qb.push_bind(self.host.clone());
        push_filter(&mut qb, filter);
        let n: i64 = qb.build_query_scalar().fetch_one(&self.pool).await.map_err(|e| self.sql_err(e))?;
        Ok(n.max(0) as u64)
    }

    async fn get_event(&self, id: EventId) -> Result<Option<Event>, StoreError> {
        let sql = format!("{} AND host = $1 AND id = $2", *EVENT_SELECT);
        let mut conn = self.pool.acquire().await.map_err(|e| self.sql_err(e))?;
        let rows = self.fetch(&mut conn, &sql, [Param::uuid(id.0)]).await?;
        Ok(self.decode(&rows, read::event)?.pop())
    }

    async fn remove_events(&self, ids: &[EventId]) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let ids: Vec<Uuid> = ids.iter().map(|i| i.0).collect();
        let removed = sqlx::query("DELETE FROM events WHERE host = $1 AND id = ANY($2)")
            .bind(&self.host)
            .bind(ids)
            .execute(&self.pool)
            .await
            .map_err(|e| self.sql_err(e))?
            .rows_affected();
        Ok(removed)
    }

    async fn clear_events(&self, filter: &EventFilter) -> Result<u64, StoreError> {
        let mut qb = QueryBuilder::<Postgres>::new("DELETE FROM events WHERE host = ");
        qb.push_bind(self.host.clone());
        push_filter(&mut qb, filter);
        Ok(qb.build().execute(&self.pool).await.map_err(|e| self.sql_err(e))?.rows_affected())
    }

    async fn list_sessions(&self, query: &SessionQuery) -> Result<Vec<SessionRecord>, StoreError> {
        let out = self.query_sessions(Some(&self.host), query, false).await?;
        Ok(out.into_iter().map(|(_, r)| r).collect())
    }

    async fn get_session(&self, id: SessionId) -> Result<Option<SessionRecord>, StoreError> {
        let mut tx = self.read_tx().await?;
        let sql = format!("{} AND host = $1 AND id = $2", *SESSION_SELECT);
        let rows = self.fetch(&mut tx, &sql, [Param::uuid(id.0)]).await?;
        let out = self.records(&mut tx, &rows).await?;
        tx.commit().await.map_err(|e| self.sql_err(e))?;
        Ok(out.into_iter().next().map(|(_, r)| r))
    }

    async fn prune(&self, policy: &RetentionPolicy, now: Timestamp, limit: u32) -> Result<Pruned, StoreError> {
        self.prune_batch(policy, now, limit).await
    }
}

impl PgStore {
    /// Session history newest first (ties by ID descending): of `host`, or of every host when `None`.
    pub(crate) async fn query_sessions(
        &self,
        host: Option<&str>,
        query: &SessionQuery,
        live_only: bool,
    ) -> Result<Vec<(String, SessionRecord)>, StoreError> {
        let mut qb = QueryBuilder::<Postgres>::new(&*SESSION_SELECT);
        if let Some(host) = host {
            qb.push(" AND host = ").push_bind(host.to_owned());
        }
        if let Some(h) = &query.handler {
            qb.push(" AND handler_id = ").push_bind(h.as_str().to_owned());
        }
        if let Some(t) = query.started_before {
            qb.push(" AND started_at < ").push_bind(ts(t));
        }
        if live_only {
            qb.push(" AND ended_at IS NULL");
        }
        qb.push(" ORDER BY started_at DESC, id DESC LIMIT ").push_bind(i64::from(query.limit));
        let mut tx = self.read_tx().await?;
        let rows = qb.build().fetch_all(&mut *tx).await.map_err(|e| self.sql_err(e))?;
        let out = self.records(&mut tx, &rows).await?;
        tx.commit().await.map_err(|e| self.sql_err(e))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names() {
        for ok in ["a", "nas-01.example.org", "HOST_2", &"x".repeat(MAX_HOST_NAME_LEN)] {
            assert_eq!(validate_host_name(ok), Ok(()), "{ok}");
        }
        for bad in ["", "has space", "ünï", "a/b", "a:b", &"x".repeat(MAX_HOST_NAME_LEN + 1), "tab\t"] {
            let e = validate_host_name(bad).expect_err(bad);
            assert!(e.to_string().contains("invalid host name"), "{e}");
        }
    }

    #[test]
    fn the_build_embeds_its_migrations() {
        let versions: Vec<i64> = MIGRATOR.iter().map(|m| m.version).collect();
        assert_eq!(versions, vec![1, 2]);
    }
}
