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

mod codec;
mod errors;
mod fleet;
mod requests;
mod upkeep;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection, Postgres, QueryBuilder};
use synccenter_core::{
    Change, Event, EventFilter, EventId, EventQuery, SessionId, SessionQuery, SessionRecord, Snapshot, Store,
    StoreError,
};
use uuid::Uuid;

use crate::codec::{
    Bad, CONFLICT_COLUMNS, ConflictRow, EVENT_COLUMNS, EventRow, HANDLER_COLUMNS, HandlerRow, ITEM_COLUMNS, ItemRow,
    SESSION_COLUMNS, SESSION_ITEM_COLUMNS, SessionItemRow, SessionRow, clean, clean_opt, conflict_docs, num,
    owner_value, ts,
};
use crate::errors::{ACQUIRE_TIMEOUT, bad_value, corrupt, from_migrate, from_sqlx};

pub use crate::errors::redact_url;
pub use crate::fleet::{FleetHandler, HostRecord, LostHost};
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

    /// The records of `rows`, with their members read in one query.
    pub(crate) async fn records(
        &self,
        conn: &mut PgConnection,
        rows: Vec<SessionRow>,
    ) -> Result<Vec<(String, SessionRecord)>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let members = sqlx::query_as::<_, SessionItemRow>(&format!(
            "SELECT {SESSION_ITEM_COLUMNS} FROM session_items WHERE session_id = ANY($1) ORDER BY session_id, position"
        ))
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| self.sql_err(e))?;
        let mut by_session: HashMap<Uuid, Vec<SessionItemRow>> = HashMap::new();
        for m in members {
            by_session.entry(m.session_id).or_default().push(m);
        }
        rows.into_iter()
            .map(|row| {
                let items = by_session.remove(&row.id).unwrap_or_default();
                let host = row.host.clone();
                row.into_record(items).map(|r| (host, r)).map_err(|b| self.bad(b))
            })
            .collect()
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
    if let Some(h) = &filter.handler {
        qb.push(" AND handler_id = ").push_bind(h.as_str().to_owned());
    }
    match &filter.item {
        Some(i) => {
            qb.push(" AND item_id = ").push_bind(i.as_str().to_owned());
        }
        None if filter.handler_level_only => {
            qb.push(" AND item_id IS NULL");
        }
        None => {}
    }
    if !filter.levels.is_empty() {
        let levels: Vec<i64> = filter.levels.iter().map(|l| num(l.number())).collect();
        qb.push(" AND level = ANY(").push_bind(levels).push(")");
    }
    if let Some(s) = &filter.session {
        qb.push(" AND session_id = ").push_bind(s.0);
    }
    if let Some(t) = filter.since {
        qb.push(" AND time >= ").push_bind(ts(t));
    }
    if let Some(t) = filter.until {
        qb.push(" AND time < ").push_bind(ts(t));
    }
}

/// Pushes the keyset cursor, the order (newest first, ties by ID descending) and the limit of an event page.
pub(crate) fn push_page(qb: &mut QueryBuilder<'_, Postgres>, query: &EventQuery) {
    if let Some(c) = query.after {
        qb.push(" AND (time, id) < (").push_bind(ts(c.time)).push(", ").push_bind(c.id.0).push(")");
    }
    qb.push(" ORDER BY time DESC, id DESC LIMIT ").push_bind(i64::from(query.limit));
}

/// Why one change could not be written.
#[derive(Debug)]
enum ApplyError {
    Sql(sqlx::Error),
    Json(serde_json::Error),
}

impl From<sqlx::Error> for ApplyError {
    fn from(e: sqlx::Error) -> Self {
        ApplyError::Sql(e)
    }
}

/// Writes one change for `host`. Every statement is safe to run twice (see the crate docs on replays).
async fn apply_one(conn: &mut PgConnection, host: &str, change: &Change) -> Result<(), ApplyError> {
    match change {
        Change::HandlerSaved(h) => {
            sqlx::query(
                "INSERT INTO handlers (host, id, name, handler_type, type_label, comment, last_sync_reported, \
                 last_sync_recorded, active, enabled, connected, hidden, capabilities, policies, retention, \
                 paused_since, paused_until) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
                 ON CONFLICT (host, id) DO UPDATE SET name = EXCLUDED.name, handler_type = EXCLUDED.handler_type, \
                 type_label = EXCLUDED.type_label, comment = EXCLUDED.comment, \
                 last_sync_reported = EXCLUDED.last_sync_reported, last_sync_recorded = EXCLUDED.last_sync_recorded, \
                 active = EXCLUDED.active, enabled = EXCLUDED.enabled, connected = EXCLUDED.connected, \
                 hidden = EXCLUDED.hidden, capabilities = EXCLUDED.capabilities, policies = EXCLUDED.policies, \
                 retention = EXCLUDED.retention, paused_since = EXCLUDED.paused_since, \
                 paused_until = EXCLUDED.paused_until",
            )
            .bind(host)
            .bind(h.id.as_str())
            .bind(clean(&h.name))
            .bind(num(h.handler_type.number()))
            .bind(clean(&h.type_label))
            .bind(clean(&h.comment))
            .bind(h.last_sync_reported.map(ts))
            .bind(h.last_sync_recorded.map(ts))
            .bind(h.active)
            .bind(h.enabled)
            .bind(h.connected)
            .bind(h.hidden)
            .bind(num(h.capabilities.bits()))
            .bind(num(h.policies.bits()))
            .bind(h.retention.name())
            .bind(h.pause.map(|p| ts(p.since)))
            .bind(h.pause.and_then(|p| p.until).map(ts))
            .execute(&mut *conn)
            .await?;
        }
        Change::HandlerDeleted(h) => {
            // Its items go by cascade; its events and session history stay.
            sqlx::query("DELETE FROM conflicts WHERE host = $1 AND handler_id = $2")
                .bind(host)
                .bind(h.as_str())
                .execute(&mut *conn)
                .await?;
            sqlx::query("DELETE FROM handlers WHERE host = $1 AND id = $2")
                .bind(host)
                .bind(h.as_str())
                .execute(&mut *conn)
                .await?;
        }
        Change::ItemSaved(h, item) => {
            // An item of a handler that does not exist is ignored, as by the reference store.
            sqlx::query(
                "INSERT INTO items (host, handler_id, id, name, type_label, comment, last_sync_reported, \
                 last_sync_recorded, enabled, connected, hidden, capabilities, policies) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 \
                 WHERE EXISTS (SELECT 1 FROM handlers WHERE host = $1 AND id = $2) \
                 ON CONFLICT (host, handler_id, id) DO UPDATE SET name = EXCLUDED.name, \
                 type_label = EXCLUDED.type_label, comment = EXCLUDED.comment, \
                 last_sync_reported = EXCLUDED.last_sync_reported, last_sync_recorded = EXCLUDED.last_sync_recorded, \
                 enabled = EXCLUDED.enabled, connected = EXCLUDED.connected, hidden = EXCLUDED.hidden, \
                 capabilities = EXCLUDED.capabilities, policies = EXCLUDED.policies",
            )
            .bind(host)
            .bind(h.as_str())
            .bind(item.id.as_str())
            .bind(clean(&item.name))
            .bind(clean(&item.type_label))
            .bind(clean(&item.comment))
            .bind(item.last_sync_reported.map(ts))
            .bind(item.last_sync_recorded.map(ts))
            .bind(item.enabled)
            .bind(item.connected)
            .bind(item.hidden)
            .bind(num(item.capabilities.bits()))
            .bind(num(item.policies.bits()))
            .execute(&mut *conn)
            .await?;
        }
        Change::ItemDeleted(h, item) => {
            sqlx::query("DELETE FROM items WHERE host = $1 AND handler_id = $2 AND id = $3")
                .bind(host)
                .bind(h.as_str())
                .bind(item.as_str())
                .execute(&mut *conn)
                .await?;
        }
        Change::SessionStarted { session, handler, owner, started_at, items } => {
            let inserted = sqlx::query(
                "INSERT INTO sessions (id, host, handler_id, owner, started_at, manual) \
                 VALUES ($1, $2, $3, $4, $5, FALSE) ON CONFLICT (id) DO NOTHING",
            )
            .bind(session.0)
            .bind(host)
            .bind(handler.as_str())
            .bind(owner_value(*owner))
            .bind(ts(*started_at))
            .execute(&mut *conn)
            .await?
            .rows_affected();
            // A replay finds the session, and its members were written with it.
            if inserted == 1 && !items.is_empty() {
                let names: Vec<&str> = items.iter().map(|i| i.as_str()).collect();
                sqlx::query(
                    "INSERT INTO session_items (session_id, position, host, item_id, status, step, max_step, text) \
                     SELECT $1, (m.ord - 1)::integer, $2, m.item, NULL, 0, 0, '' \
                     FROM unnest($3::text[]) WITH ORDINALITY AS m (item, ord)",
                )
                .bind(session.0)
                .bind(host)
                .bind(names)
                .execute(&mut *conn)
                .await?;
            }
        }
        Change::SessionItemAdded { session, item } => {
            sqlx::query(
                "INSERT INTO session_items (session_id, position, host, item_id, status, step, max_step, text) \
                 SELECT s.id, (SELECT coalesce(max(position) + 1, 0) FROM session_items WHERE session_id = s.id), \
                 s.host, $3, NULL, 0, 0, '' \
                 FROM sessions s WHERE s.id = $1 AND s.host = $2 AND s.ended_at IS NULL \
                 AND NOT EXISTS (SELECT 1 FROM session_items WHERE session_id = $1 AND item_id = $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(session.0)
            .bind(host)
            .bind(item.as_str())
            .execute(&mut *conn)
            .await?;
        }
        Change::ItemProgressed { session, item, progress } => {
            // The item's first membership, as the reference store's; only while the session is live.
            sqlx::query(
                "UPDATE session_items SET status = $1, step = $2, max_step = $3, text = $4 \
                 WHERE session_id = $5 AND host = $6 \
                 AND position = (SELECT min(position) FROM session_items WHERE session_id = $5 AND item_id = $7) \
                 AND EXISTS (SELECT 1 FROM sessions WHERE id = $5 AND host = $6 AND ended_at IS NULL)",
            )
            .bind(progress.status.map(|s| num(s.number())))
            .bind(i64::from(progress.step))
            .bind(i64::from(progress.max_step))
            .bind(clean(&progress.text))
            .bind(session.0)
            .bind(host)
            .bind(item.as_str())
            .execute(&mut *conn)
            .await?;
        }
        Change::SessionMarkedManual(session) => {
            sqlx::query("UPDATE sessions SET manual = TRUE WHERE id = $1 AND host = $2")
                .bind(session.0)
                .bind(host)
                .execute(&mut *conn)
                .await?;
        }
        Change::SessionEnded { session, at, reason, status } => {
            // The first end wins: another host may have ended it already (host_lost).
            sqlx::query(
                "UPDATE sessions SET ended_at = $1, end_reason = $2, end_status = $3 \
                 WHERE id = $4 AND host = $5 AND ended_at IS NULL",
            )
            .bind(ts(*at))
            .bind(reason.name())
            .bind(num(status.number()))
            .bind(session.0)
            .bind(host)
            .execute(&mut *conn)
            .await?;
        }
        Change::EventAdded(e) => {
            sqlx::query(
                "INSERT INTO events (id, host, handler_id, item_id, session_id, level, name, description, \
                 link_text, link_reference, context, time) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                 ON CONFLICT (id) DO UPDATE SET handler_id = excluded.handler_id, item_id = excluded.item_id, \
                 session_id = excluded.session_id, level = excluded.level, name = excluded.name, \
                 description = excluded.description, link_text = excluded.link_text, \
                 link_reference = excluded.link_reference, context = excluded.context, time = excluded.time \
                 WHERE events.host = excluded.host",
            )
            .bind(e.id.0)
            .bind(host)
            .bind(e.handler.as_str())
            .bind(e.item.as_ref().map(|i| i.as_str()))
            .bind(e.session.map(|s| s.0))
            .bind(num(e.level.number()))
            .bind(clean(&e.name))
            .bind(clean(&e.description))
            .bind(clean_opt(e.link_text.as_deref()))
            .bind(clean_opt(e.link_reference.as_deref()))
            .bind(clean_opt(e.context.as_deref()))
            .bind(ts(e.time))
            .execute(&mut *conn)
            .await?;
        }
        Change::EventsPurged { handler, before } => {
            sqlx::query("DELETE FROM events WHERE host = $1 AND handler_id = $2 AND time < $3")
                .bind(host)
                .bind(handler.as_str())
                .bind(ts(*before))
                .execute(&mut *conn)
                .await?;
        }
        Change::ConflictSaved(c) => {
            let (versions, resolution) = conflict_docs(c).map_err(ApplyError::Json)?;
            sqlx::query(
                "INSERT INTO conflicts (id, host, handler_id, item_id, key, name, description, versions, \
                 abilities, detected_at, resolution) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11::jsonb) \
                 ON CONFLICT (id) DO UPDATE SET handler_id = EXCLUDED.handler_id, item_id = EXCLUDED.item_id, \
                 key = EXCLUDED.key, name = EXCLUDED.name, description = EXCLUDED.description, \
                 versions = EXCLUDED.versions, abilities = EXCLUDED.abilities, \
                 detected_at = EXCLUDED.detected_at, resolution = EXCLUDED.resolution \
                 WHERE conflicts.host = EXCLUDED.host",
            )
            .bind(c.id.0)
            .bind(host)
            .bind(c.handler.as_str())
            .bind(c.item.as_ref().map(|i| i.as_str()))
            .bind(clean_opt(c.key.as_deref()))
            .bind(clean(&c.name))
            .bind(clean(&c.description))
            .bind(versions)
            .bind(num(c.abilities.bits()))
            .bind(ts(c.detected_at))
            .bind(resolution)
            .execute(&mut *conn)
            .await?;
        }
        Change::ConflictRemoved(id) => {
            sqlx::query("DELETE FROM conflicts WHERE id = $1 AND host = $2")
                .bind(id.0)
                .bind(host)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

impl Store for PgStore {
    async fn load(&self) -> Result<Snapshot, StoreError> {
        let mut tx = self.read_tx().await?;
        let handlers = sqlx::query_as::<_, HandlerRow>(&format!(
            "SELECT {HANDLER_COLUMNS} FROM handlers WHERE host = $1 ORDER BY id"
        ))
        .bind(&self.host)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| self.sql_err(e))?;
        let items = sqlx::query_as::<_, ItemRow>(&format!(
            "SELECT {ITEM_COLUMNS} FROM items WHERE host = $1 ORDER BY handler_id, id"
        ))
        .bind(&self.host)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| self.sql_err(e))?;
        let conflicts = sqlx::query_as::<_, ConflictRow>(&format!(
            "SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE host = $1 ORDER BY id"
        ))
        .bind(&self.host)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| self.sql_err(e))?;
        let live = sqlx::query_as::<_, SessionRow>(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE host = $1 AND ended_at IS NULL ORDER BY id"
        ))
        .bind(&self.host)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| self.sql_err(e))?;
        let live_sessions = self.records(&mut tx, live).await?.into_iter().map(|(_, r)| r).collect();
        tx.commit().await.map_err(|e| self.sql_err(e))?;

        let mut items_by_handler: HashMap<String, Vec<ItemRow>> = HashMap::new();
        for row in items {
            items_by_handler.entry(row.handler_id.clone()).or_default().push(row);
        }
        let mut out = Snapshot { handlers: Vec::with_capacity(handlers.len()), conflicts: Vec::new(), live_sessions };
        for row in handlers {
            let handler = row.into_handler().map_err(|b| self.bad(b))?;
            let items = items_by_handler
                .remove(handler.id.as_str())
                .unwrap_or_default()
                .into_iter()
                .map(ItemRow::into_item)
                .collect::<Result<Vec<_>, Bad>>()
                .map_err(|b| self.bad(b))?;
            out.handlers.push((handler, items));
        }
        out.conflicts = conflicts
            .into_iter()
            .map(ConflictRow::into_conflict)
            .collect::<Result<_, Bad>>()
            .map_err(|b| self.bad(b))?;
        Ok(out)
    }

    async fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(|e| self.sql_err(e))?;
        for change in changes {
            if let Err(e) = apply_one(&mut tx, &self.host, change).await {
                // Dropping the transaction rolls it back: all changes or none.
                return Err(match e {
                    ApplyError::Sql(e) => self.sql_err(e),
                    ApplyError::Json(e) => StoreError::Unavailable(format!(
                        "PostgreSQL at {}: cannot encode a conflict: {e}",
                        self.display_url
                    )),
                });
            }
        }
        tx.commit().await.map_err(|e| self.sql_err(e))
    }

    async fn list_events(&self, query: &EventQuery) -> Result<Vec<Event>, StoreError> {
        let mut qb = QueryBuilder::<Postgres>::new(format!("SELECT {EVENT_COLUMNS} FROM events WHERE host = "));
        qb.push_bind(self.host.clone());
        push_filter(&mut qb, &query.filter);
        push_page(&mut qb, query);
        let rows = qb.build_query_as::<EventRow>().fetch_all(&self.pool).await.map_err(|e| self.sql_err(e))?;
        rows.into_iter().map(|r| r.into_event().map_err(|b| self.bad(b))).collect()
    }

    async fn count_events(&self, filter: &EventFilter) -> Result<u64, StoreError> {
        let mut qb = QueryBuilder::<Postgres>::new("SELECT count(*) FROM events WHERE host = ");
        qb.push_bind(self.host.clone());
        push_filter(&mut qb, filter);
        let n: i64 = qb.build_query_scalar().fetch_one(&self.pool).await.map_err(|e| self.sql_err(e))?;
        Ok(n.max(0) as u64)
    }

    async fn get_event(&self, id: EventId) -> Result<Option<Event>, StoreError> {
        let row =
            sqlx::query_as::<_, EventRow>(&format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1 AND host = $2"))
                .bind(id.0)
                .bind(&self.host)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| self.sql_err(e))?;
        row.map(|r| r.into_event().map_err(|b| self.bad(b))).transpose()
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
        let rows = sqlx::query_as::<_, SessionRow>(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1 AND host = $2"
        ))
        .bind(id.0)
        .bind(&self.host)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| self.sql_err(e))?;
        let out = self.records(&mut tx, rows).await?;
        tx.commit().await.map_err(|e| self.sql_err(e))?;
        Ok(out.into_iter().next().map(|(_, r)| r))
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
        let mut qb = QueryBuilder::<Postgres>::new(format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE TRUE"));
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
        let rows = qb.build_query_as::<SessionRow>().fetch_all(&mut *tx).await.map_err(|e| self.sql_err(e))?;
        let out = self.records(&mut tx, rows).await?;
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
        assert_eq!(versions, vec![1]);
    }
}
