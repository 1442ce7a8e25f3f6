//! # synccenter-store-sqlite
//!
//! A [`Store`] on one SQLite file, so that the registry, conflicts, session history and Sync Results survive a
//! restart. It matches `synccenter_core::MemoryStore` (the reference semantics) change for change; the
//! `synccenter-store-tests` conformance suite checks that.
//!
//! The file is opened in WAL mode with `synchronous=FULL`, so what `apply` acknowledged is on disk. A file that
//! is not a SQLite database, is damaged, or carries a schema newer than this build is refused with
//! `StoreError::Corrupt` naming the file and the recovery commands; it is never replaced, truncated or written
//! to. [`maintenance`] holds those commands' work: check, backup and recover, none of which writes to the file
//! it reads.

#![warn(missing_docs)]

mod codec;
mod errors;
pub mod maintenance;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use synccenter_core::{
    Change, Event, EventFilter, EventId, EventQuery, SessionId, SessionQuery, SessionRecord, Snapshot, Store,
    StoreError,
};

use crate::codec::{
    Bad, ConflictRow, EventRow, HandlerRow, ItemRow, SessionItemRow, SessionRow, conflict_docs, owner_value, ts,
    uuid_text,
};
use crate::errors::{bad_value, corrupt, from_migrate, from_sqlx, newer_schema};

/// The database file's name inside a data directory (see [`SqliteStore::open_in_dir`]).
pub const DB_FILE_NAME: &str = "synccenter.sqlite";

/// How long a statement waits for another connection's lock before failing as unavailable.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections in the pool; writers serialize on `BEGIN IMMEDIATE`, readers run beside them (WAL).
const MAX_CONNECTIONS: u32 = 4;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// A fault-injection knob for tests: caps the database at a number of pages (SQLite's `max_page_count`),
/// which makes writes that need more space fail exactly as on a full disk (`SQLITE_FULL`). Shared, so a test
/// can fill the "disk" and free it again while the store is open. Unset, it costs nothing.
#[derive(Clone, Debug, Default)]
pub struct PageLimit(Arc<AtomicU32>);

impl PageLimit {
    /// A knob with no limit set.
    pub fn new() -> PageLimit {
        PageLimit::default()
    }

    /// Caps the database at `pages` pages (`None`: lifts the cap). A cap below the current size means "full
    /// now": SQLite never shrinks the file for it.
    pub fn set(&self, pages: Option<u32>) {
        self.0.store(pages.map_or(u32::MAX, |p| p.clamp(1, u32::MAX - 1)), Ordering::SeqCst);
    }

    /// The `PRAGMA` to run before a write, once a cap was ever set.
    fn pragma(&self) -> Option<String> {
        match self.0.load(Ordering::SeqCst) {
            0 => None,
            // SQLite's own maximum: the cap is lifted.
            u32::MAX => Some("PRAGMA max_page_count = 4294967294".to_owned()),
            pages => Some(format!("PRAGMA max_page_count = {pages}")),
        }
    }
}

/// How to open the store beyond its path.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// A simulated disk size, for fault-injection tests.
    pub page_limit: Option<PageLimit>,
}

/// A [`Store`] backed by one SQLite database file.
#[derive(Debug)]
pub struct SqliteStore {
    /// Readers (and the rare writes outside `apply`).
    pool: SqlitePool,
    /// `apply`'s own connection: no pool checkout and no liveness ping per batch, and its prepared statements
    /// stay cached. `None` after it was left in an unknown state (it was closed); the next `apply` opens
    /// another with `writer_options`.
    writer: tokio::sync::Mutex<Option<SqliteConnection>>,
    /// Boxed: the options are large, and a store is often held by value beside small things.
    writer_options: Box<SqliteConnectOptions>,
    path: PathBuf,
    page_limit: Option<PageLimit>,
}

impl SqliteStore {
    /// Opens (creating it if missing) the database at `path` and brings its schema up to date.
    ///
    /// A file that is not a readable SQLite database, is damaged (`PRAGMA quick_check`), or whose schema is
    /// newer than this build, is refused with [`StoreError::Corrupt`] and left untouched; I/O problems are
    /// [`StoreError::Unavailable`].
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        Self::open_with(path, OpenOptions::default()).await
    }

    /// [`SqliteStore::open`] with options.
    pub async fn open_with(path: &Path, options: OpenOptions) -> Result<SqliteStore, StoreError> {
        let page_limit = options.page_limit;
        let path = path.to_path_buf();
        if path.exists() {
            check_existing(&path).await?;
        }
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            // A connection to a local file does not go stale; a ping per checkout would cost a round trip to
            // the connection's thread per query.
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .map_err(|e| from_sqlx(&path, e))?;
        MIGRATOR.run(&pool).await.map_err(|e| from_migrate(&path, e))?;
        let writer = sqlx::Connection::connect_with(&options).await.map_err(|e| from_sqlx(&path, e))?;
        Ok(SqliteStore {
            pool,
            writer: tokio::sync::Mutex::new(Some(writer)),
            writer_options: Box::new(options),
            path,
            page_limit,
        })
    }

    /// Opens [`DB_FILE_NAME`] inside `data_dir`, creating the directory if missing.
    pub async fn open_in_dir(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        Self::open_in_dir_with(data_dir, OpenOptions::default()).await
    }

    /// [`SqliteStore::open_in_dir`] with options.
    pub async fn open_in_dir_with(data_dir: &Path, options: OpenOptions) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Unavailable(format!("cannot create the data directory {}: {e}", data_dir.display()))
        })?;
        Self::open_with(&data_dir.join(DB_FILE_NAME), options).await
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sql_err(&self, e: sqlx::Error) -> StoreError {
        from_sqlx(&self.path, e)
    }

    fn bad(&self, b: Bad) -> StoreError {
        bad_value(&self.path, b.what, b.detail)
    }

    async fn session_items(&self, conn: &mut SqliteConnection, id: &str) -> Result<Vec<SessionItemRow>, StoreError> {
        sqlx::query_as::<_, SessionItemRow>(
            "SELECT item_id, status, step, max_step, text FROM session_items WHERE session_id = ? ORDER BY position",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| self.sql_err(e))
    }

    async fn records(
        &self,
        conn: &mut SqliteConnection,
        rows: Vec<SessionRow>,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let items = self.session_items(conn, &row.id).await?;
            out.push(row.into_record(items).map_err(|b| self.bad(b))?);
        }
        Ok(out)
    }

    async fn conn(&self) -> Result<sqlx::pool::PoolConnection<Sqlite>, StoreError> {
        self.pool.acquire().await.map_err(|e| self.sql_err(e))
    }

    /// Starts a write transaction. `BEGIN IMMEDIATE` takes the write lock up front, so concurrent writers wait
    /// (busy timeout) instead of failing on a lock upgrade.
    ///
    /// The transaction is driven with plain SQL rather than sqlx's `Transaction`: after a `COMMIT` that
    /// SQLite failed and rolled back itself (a full disk does that), sqlx's drop-time `ROLLBACK` fails and its
    /// bookkeeping leaves the pooled connection unable to begin again, so one full disk would break writes
    /// for good.
    async fn begin_write(&self) -> Result<WriteTx<'_>, StoreError> {
        let conn = WriteConn::Pooled(self.conn().await?);
        self.begin(conn).await
    }

    /// [`SqliteStore::begin_write`] on `apply`'s own connection (opened again first if the last one was
    /// closed).
    async fn begin_apply(&self) -> Result<WriteTx<'_>, StoreError> {
        let mut writer = self.writer.lock().await;
        if writer.is_none() {
            let conn = sqlx::Connection::connect_with(&*self.writer_options).await.map_err(|e| self.sql_err(e))?;
            *writer = Some(conn);
        }
        self.begin(WriteConn::Writer(writer)).await
    }

    async fn begin<'a>(&self, conn: WriteConn<'a>) -> Result<WriteTx<'a>, StoreError> {
        let mut tx = WriteTx { conn, clean: false };
        sqlx::query("BEGIN IMMEDIATE").execute(tx.conn()).await.map_err(|e| self.sql_err(e))?;
        Ok(tx)
    }

    /// Commits when `result` is `Ok`, rolls back otherwise; a connection left in an unknown state is closed
    /// instead of going back to the pool (or serving the next `apply`).
    async fn finish_write(&self, mut tx: WriteTx<'_>, result: Result<(), StoreError>) -> Result<(), StoreError> {
        let result = match result {
            Ok(()) => sqlx::query("COMMIT").execute(tx.conn()).await.map(drop).map_err(|e| self.sql_err(e)),
            Err(e) => Err(e),
        };
        if result.is_ok() {
            tx.clean = true;
            return result;
        }
        // SQLite may already have rolled back (SQLITE_FULL, SQLITE_IOERR); then this fails harmlessly.
        let rolled_back = sqlx::query("ROLLBACK").execute(tx.conn()).await;
        tx.clean = match rolled_back {
            Ok(_) => true,
            Err(sqlx::Error::Database(db)) => db.message().contains("no transaction is active"),
            Err(_) => false,
        };
        result
    }
}

/// The connection a write transaction runs on.
enum WriteConn<'a> {
    /// One of the pool's (the rare writes outside `apply`).
    Pooled(sqlx::pool::PoolConnection<Sqlite>),
    /// `apply`'s own, held for the transaction; always `Some` while the transaction lives.
    Writer(tokio::sync::MutexGuard<'a, Option<SqliteConnection>>),
}

/// A connection inside a write transaction; unless marked clean, it is closed when dropped (a dropped future,
/// a failed rollback) rather than handed to the next writer mid-transaction.
struct WriteTx<'a> {
    conn: WriteConn<'a>,
    clean: bool,
}

impl WriteTx<'_> {
    fn conn(&mut self) -> &mut SqliteConnection {
        match &mut self.conn {
            WriteConn::Pooled(conn) => conn,
            WriteConn::Writer(conn) => conn.as_mut().expect("the writer connection is open during its transaction"),
        }
    }
}

impl Drop for WriteTx<'_> {
    fn drop(&mut self) {
        if !self.clean {
            match &mut self.conn {
                WriteConn::Pooled(conn) => conn.close_on_drop(),
                // Dropping the connection closes it (SQLite rolls back whatever it was in); the next `apply`
                // opens a new one.
                WriteConn::Writer(conn) => drop(conn.take()),
            }
        }
    }
}

/// Reads an existing file through a read-only connection before anything may write to it: garbage, damage
/// and a newer schema are refused here, so the file is never modified in those cases.
async fn check_existing(path: &Path) -> Result<(), StoreError> {
    use sqlx::Connection;
    let options = SqliteConnectOptions::new().filename(path).read_only(true).create_if_missing(false);
    let mut conn = SqliteConnection::connect_with(&options).await.map_err(|e| from_sqlx(path, e))?;
    let result = async {
        let has_migrations: i64 =
            sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
                .fetch_one(&mut conn)
                .await
                .map_err(|e| from_sqlx(path, e))?;
        if has_migrations == 0 {
            return Ok(());
        }
        let newest: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| from_sqlx(path, e))?;
        let known = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        if let Some(v) = newest
            && v > known
        {
            return Err(newer_schema(path, v, known));
        }
        // Every page of every table and index, read-only: damage is found now, not under a later write. It
        // reads the whole file once per start (docs/reliability.md).
        let verdict: Vec<String> =
            sqlx::query_scalar("PRAGMA quick_check(5)").fetch_all(&mut conn).await.map_err(|e| from_sqlx(path, e))?;
        match verdict.as_slice() {
            [ok] if ok == "ok" => Ok(()),
            problems => Err(corrupt(path, &format!("the database file is damaged ({})", problems.join("; ")))),
        }
    }
    .await;
    // Closing a read-only connection cannot lose data; a failure to close says nothing about the file.
    let _ = conn.close().await;
    result
}

/// Pushes the `WHERE` clause of `filter` (always starting with `WHERE 1`), the same predicate as
/// [`EventFilter::matches`].
fn push_filter(qb: &mut QueryBuilder<'_, Sqlite>, filter: &EventFilter) {
    qb.push(" WHERE 1");
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
        qb.push(" AND level IN (");
        let mut sep = qb.separated(", ");
        for l in &filter.levels {
            sep.push_bind(i64::from(l.number()));
        }
        qb.push(")");
    }
    if let Some(s) = &filter.session {
        qb.push(" AND session_id = ").push_bind(uuid_text(s.0));
    }
    if let Some(t) = filter.since {
        qb.push(" AND time >= ").push_bind(ts(t));
    }
    if let Some(t) = filter.until {
        qb.push(" AND time < ").push_bind(ts(t));
    }
}

/// The handler, item and level parts of `filter` against `event_counts` (the same predicate as
/// [`push_filter`] on those fields).
fn push_count_filter(qb: &mut QueryBuilder<'_, Sqlite>, filter: &EventFilter) {
    if let Some(h) = &filter.handler {
        qb.push(" AND handler_id = ").push_bind(h.as_str().to_owned());
    }
    match &filter.item {
        Some(i) => {
            qb.push(" AND item_key = ").push_bind(i.as_str().to_owned());
        }
        None if filter.handler_level_only => {
            qb.push(" AND item_key = ''");
        }
        None => {}
    }
    if !filter.levels.is_empty() {
        qb.push(" AND level IN (");
        let mut sep = qb.separated(", ");
        for l in &filter.levels {
            sep.push_bind(i64::from(l.number()));
        }
        qb.push(")");
    }
}

const EVENT_COLUMNS: &str = "SELECT id, handler_id, item_id, session_id, level, name, description, link_text, link_reference, context, time \
     FROM events";

const SESSION_COLUMNS: &str =
    "SELECT id, handler_id, owner, started_at, manual, ended_at, end_reason, end_status FROM sessions";

/// Row counts of the multi-row statements: a batch is split greedily into these, so only a handful of
/// distinct statements are ever prepared (and stay cached), and no statement nears SQLite's limit on bound
/// parameters.
const CHUNKS: [usize; 5] = [256, 64, 16, 4, 1];

/// `head` followed by `VALUES` and `rows` copies of `row`.
fn multi_row(head: &str, row: &str, rows: usize) -> String {
    let mut sql = String::with_capacity(head.len() + rows * (row.len() + 2));
    sql.push_str(head);
    sql.push_str(" VALUES ");
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(row);
    }
    sql
}

/// Splits `n` into [`CHUNKS`] sizes, largest first.
fn chunks(mut n: usize) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        let size = CHUNKS.into_iter().find(|c| *c <= n)?;
        n -= size;
        Some(size)
    })
}

const EVENT_INSERT: &str = "INSERT INTO events (id, handler_id, item_id, session_id, level, name, description, \
     link_text, link_reference, context, time)";

/// An event written again replaces the earlier one. An upsert rather than `INSERT OR REPLACE`, whose
/// implicit delete would not fire the trigger that keeps `event_counts`.
const EVENT_UPSERT: &str = " ON CONFLICT (id) DO UPDATE SET handler_id = excluded.handler_id, \
     item_id = excluded.item_id, session_id = excluded.session_id, level = excluded.level, name = excluded.name, \
     description = excluded.description, link_text = excluded.link_text, \
     link_reference = excluded.link_reference, context = excluded.context, time = excluded.time";

/// Events in order, several rows per statement; a later row with the same ID replaces an earlier one, as
/// one statement per event would.
async fn insert_events(conn: &mut SqliteConnection, events: &[&Event]) -> Result<(), sqlx::Error> {
    let mut rest = events;
    for size in chunks(events.len()) {
        let (now, later) = rest.split_at(size);
        rest = later;
        let mut sql = multi_row(EVENT_INSERT, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", size);
        sql.push_str(EVENT_UPSERT);
        let mut q = sqlx::query(&sql);
        for e in now {
            q = q
                .bind(uuid_text(e.id.0))
                .bind(e.handler.as_str())
                .bind(e.item.as_ref().map(|i| i.as_str()))
                .bind(e.session.map(|s| uuid_text(s.0)))
                .bind(i64::from(e.level.number()))
                .bind(&e.name)
                .bind(&e.description)
                .bind(e.link_text.as_deref())
                .bind(e.link_reference.as_deref())
                .bind(e.context.as_deref())
                .bind(ts(e.time));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

async fn apply_one(conn: &mut SqliteConnection, change: &Change) -> Result<(), ApplyError> {
    match change {
        Change::HandlerSaved(h) => {
            // An upsert, not INSERT OR REPLACE: replacing the row would cascade to the handler's items.
            sqlx::query(
                "INSERT INTO handlers (id, name, handler_type, type_label, comment, last_sync_reported, \
                 last_sync_recorded, active, enabled, connected, hidden, capabilities, policies, retention, \
                 paused_since, paused_until) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, handler_type = excluded.handler_type, \
                 type_label = excluded.type_label, comment = excluded.comment, \
                 last_sync_reported = excluded.last_sync_reported, last_sync_recorded = excluded.last_sync_recorded, \
                 active = excluded.active, enabled = excluded.enabled, connected = excluded.connected, \
                 hidden = excluded.hidden, capabilities = excluded.capabilities, policies = excluded.policies, \
                 retention = excluded.retention, paused_since = excluded.paused_since, \
                 paused_until = excluded.paused_until",
            )
            .bind(h.id.as_str())
            .bind(&h.name)
            .bind(i64::from(h.handler_type.number()))
            .bind(&h.type_label)
            .bind(&h.comment)
            .bind(h.last_sync_reported.map(ts))
            .bind(h.last_sync_recorded.map(ts))
            .bind(h.active)
            .bind(h.enabled)
            .bind(h.connected)
            .bind(h.hidden)
            .bind(i64::from(h.capabilities.bits()))
            .bind(i64::from(h.policies.bits()))
            .bind(h.retention.name())
            .bind(h.pause.map(|p| ts(p.since)))
            .bind(h.pause.and_then(|p| p.until).map(ts))
            .execute(&mut *conn)
            .await?;
        }
        Change::HandlerDeleted(h) => {
            // Items go by cascade; events and session history stay.
            sqlx::query("DELETE FROM conflicts WHERE handler_id = ?").bind(h.as_str()).execute(&mut *conn).await?;
            sqlx::query("DELETE FROM handlers WHERE id = ?").bind(h.as_str()).execute(&mut *conn).await?;
        }
        Change::ItemSaved(h, item) => {
            // Like the reference store, an item of an unknown handler is ignored.
            sqlx::query(
                "INSERT OR REPLACE INTO items (handler_id, id, name, type_label, comment, last_sync_reported, \
                 last_sync_recorded, enabled, connected, hidden, capabilities, policies) \
                 SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM handlers WHERE id = ?)",
            )
            .bind(h.as_str())
            .bind(item.id.as_str())
            .bind(&item.name)
            .bind(&item.type_label)
            .bind(&item.comment)
            .bind(item.last_sync_reported.map(ts))
            .bind(item.last_sync_recorded.map(ts))
            .bind(item.enabled)
            .bind(item.connected)
            .bind(item.hidden)
            .bind(i64::from(item.capabilities.bits()))
            .bind(i64::from(item.policies.bits()))
            .bind(h.as_str())
            .execute(&mut *conn)
            .await?;
        }
        Change::ItemDeleted(h, item) => {
            sqlx::query("DELETE FROM items WHERE handler_id = ? AND id = ?")
                .bind(h.as_str())
                .bind(item.as_str())
                .execute(&mut *conn)
                .await?;
        }
        Change::SessionStarted { session, handler, owner, started_at, items } => {
            let id = uuid_text(session.0);
            // Starting a known session again replaces it whole, as the reference store does.
            sqlx::query("DELETE FROM session_items WHERE session_id = ?").bind(&id).execute(&mut *conn).await?;
            sqlx::query("DELETE FROM sessions WHERE id = ?").bind(&id).execute(&mut *conn).await?;
            sqlx::query("INSERT INTO sessions (id, handler_id, owner, started_at, manual) VALUES (?, ?, ?, ?, 0)")
                .bind(&id)
                .bind(handler.as_str())
                .bind(owner_value(*owner))
                .bind(ts(*started_at))
                .execute(&mut *conn)
                .await?;
            let mut position = 0i64;
            for size in chunks(items.len()) {
                let sql = multi_row(
                    "INSERT INTO session_items (session_id, position, item_id, status, step, max_step, text)",
                    "(?, ?, ?, NULL, 0, 0, '')",
                    size,
                );
                let mut q = sqlx::query(&sql);
                for item in &items[position as usize..position as usize + size] {
                    q = q.bind(&id).bind(position).bind(item.as_str());
                    position += 1;
                }
                q.execute(&mut *conn).await?;
            }
        }
        Change::SessionItemAdded { session, item } => {
            let id = uuid_text(session.0);
            sqlx::query(
                "INSERT INTO session_items (session_id, position, item_id, status, step, max_step, text) \
                 SELECT ?1, (SELECT coalesce(max(position) + 1, 0) FROM session_items WHERE session_id = ?1), ?2, \
                 NULL, 0, 0, '' \
                 WHERE EXISTS (SELECT 1 FROM sessions WHERE id = ?1) \
                 AND NOT EXISTS (SELECT 1 FROM session_items WHERE session_id = ?1 AND item_id = ?2)",
            )
            .bind(&id)
            .bind(item.as_str())
            .execute(&mut *conn)
            .await?;
        }
        Change::ItemProgressed { session, item, progress } => {
            let id = uuid_text(session.0);
            // The first membership of the item, as the reference store's `find`.
            sqlx::query(
                "UPDATE session_items SET status = ?, step = ?, max_step = ?, text = ? \
                 WHERE session_id = ? AND position = \
                 (SELECT min(position) FROM session_items WHERE session_id = ? AND item_id = ?)",
            )
            .bind(progress.status.map(|s| i64::from(s.number())))
            .bind(i64::from(progress.step))
            .bind(i64::from(progress.max_step))
            .bind(&progress.text)
            .bind(&id)
            .bind(&id)
            .bind(item.as_str())
            .execute(&mut *conn)
            .await?;
        }
        Change::SessionMarkedManual(session) => {
            sqlx::query("UPDATE sessions SET manual = 1 WHERE id = ?")
                .bind(uuid_text(session.0))
                .execute(&mut *conn)
                .await?;
        }
        Change::SessionEnded { session, at, reason, status } => {
            sqlx::query("UPDATE sessions SET ended_at = ?, end_reason = ?, end_status = ? WHERE id = ?")
                .bind(ts(*at))
                .bind(reason.name())
                .bind(i64::from(status.number()))
                .bind(uuid_text(session.0))
                .execute(&mut *conn)
                .await?;
        }
        Change::EventAdded(e) => insert_events(conn, &[e]).await?,
        Change::EventsPurged { handler, before } => {
            sqlx::query("DELETE FROM events WHERE handler_id = ? AND time < ?")
                .bind(handler.as_str())
                .bind(ts(*before))
                .execute(&mut *conn)
                .await?;
        }
        Change::ConflictSaved(c) => {
            let (versions, resolution) = conflict_docs(&c.versions, c.resolution.as_ref()).map_err(ApplyError::Json)?;
            sqlx::query(
                "INSERT OR REPLACE INTO conflicts (id, handler_id, item_id, key, name, description, versions, \
                 abilities, detected_at, resolution) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(uuid_text(c.id.0))
            .bind(c.handler.as_str())
            .bind(c.item.as_ref().map(|i| i.as_str()))
            .bind(c.key.as_deref())
            .bind(&c.name)
            .bind(&c.description)
            .bind(versions)
            .bind(i64::from(c.abilities.bits()))
            .bind(ts(c.detected_at))
            .bind(resolution)
            .execute(&mut *conn)
            .await?;
        }
        Change::ConflictRemoved(id) => {
            sqlx::query("DELETE FROM conflicts WHERE id = ?").bind(uuid_text(id.0)).execute(&mut *conn).await?;
        }
    }
    Ok(())
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

impl Store for SqliteStore {
    async fn load(&self) -> Result<Snapshot, StoreError> {
        let mut conn = self.conn().await?;
        // One read transaction, so the snapshot is consistent even while another connection writes.
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| self.sql_err(e))?;
        let handlers = sqlx::query_as::<_, HandlerRow>(
            "SELECT id, name, handler_type, type_label, comment, last_sync_reported, last_sync_recorded, active, \
             enabled, connected, hidden, capabilities, policies, retention, paused_since, paused_until \
             FROM handlers ORDER BY id",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| self.sql_err(e))?;
        let items = sqlx::query_as::<_, ItemRow>(
            "SELECT handler_id, id, name, type_label, comment, last_sync_reported, last_sync_recorded, enabled, \
             connected, hidden, capabilities, policies FROM items ORDER BY handler_id, id",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| self.sql_err(e))?;
        let conflicts = sqlx::query_as::<_, ConflictRow>(
            "SELECT id, handler_id, item_id, key, name, description, versions, abilities, detected_at, resolution \
             FROM conflicts ORDER BY id",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| self.sql_err(e))?;
        let live = sqlx::query_as::<_, SessionRow>(&format!("{SESSION_COLUMNS} WHERE ended_at IS NULL ORDER BY id"))
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.sql_err(e))?;
        let live_sessions = self.records(&mut tx, live).await?;
        tx.commit().await.map_err(|e| self.sql_err(e))?;

        let mut items_by_handler: std::collections::BTreeMap<String, Vec<ItemRow>> = Default::default();
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
        let mut tx = self.begin_apply().await?;
        let result = async {
            if let Some(pragma) = self.page_limit.as_ref().and_then(PageLimit::pragma) {
                sqlx::query(&pragma).execute(tx.conn()).await.map_err(|e| self.sql_err(e))?;
            }
            let mut rest = changes;
            while !rest.is_empty() {
                // Consecutive events go in multi-row statements: one round trip to SQLite for many rows.
                let run = rest.iter().take_while(|c| matches!(c, Change::EventAdded(_))).count();
                let written = if run > 1 {
                    let events: Vec<&Event> = rest[..run]
                        .iter()
                        .filter_map(|c| if let Change::EventAdded(e) = c { Some(e) } else { None })
                        .collect();
                    rest = &rest[run..];
                    insert_events(tx.conn(), &events).await.map_err(ApplyError::Sql)
                } else {
                    let one = &rest[0];
                    rest = &rest[1..];
                    apply_one(tx.conn(), one).await
                };
                written.map_err(|e| match e {
                    ApplyError::Sql(e) => self.sql_err(e),
                    ApplyError::Json(e) => {
                        StoreError::Unavailable(format!("{}: cannot encode a conflict: {e}", self.path.display()))
                    }
                })?;
            }
            Ok(())
        }
        .await;
        // All changes or none.
        self.finish_write(tx, result).await
    }

    async fn list_events(&self, query: &EventQuery) -> Result<Vec<Event>, StoreError> {
        let mut qb = QueryBuilder::<Sqlite>::new(EVENT_COLUMNS);
        push_filter(&mut qb, &query.filter);
        if let Some(c) = query.after {
            qb.push(" AND (time, id) < (").push_bind(ts(c.time)).push(", ").push_bind(uuid_text(c.id.0)).push(")");
        }
        qb.push(" ORDER BY time DESC, id DESC LIMIT ").push_bind(i64::from(query.limit));
        let rows = qb.build_query_as::<EventRow>().fetch_all(&self.pool).await.map_err(|e| self.sql_err(e))?;
        rows.into_iter().map(|r| r.into_event().map_err(|b| self.bad(b))).collect()
    }

    async fn count_events(&self, filter: &EventFilter) -> Result<u64, StoreError> {
        let mut qb = if filter.session.is_none() && filter.since.is_none() && filter.until.is_none() {
            // Handler, item and level only: a sum over the counts the triggers keep.
            let mut qb = QueryBuilder::<Sqlite>::new("SELECT coalesce(sum(n), 0) FROM event_counts WHERE 1");
            push_count_filter(&mut qb, filter);
            qb
        } else {
            let mut qb = QueryBuilder::<Sqlite>::new("SELECT count(*) FROM events");
            push_filter(&mut qb, filter);
            qb
        };
        let n: i64 = qb.build_query_scalar().fetch_one(&self.pool).await.map_err(|e| self.sql_err(e))?;
        Ok(n.max(0) as u64)
    }

    async fn get_event(&self, id: EventId) -> Result<Option<Event>, StoreError> {
        let row = sqlx::query_as::<_, EventRow>(&format!("{EVENT_COLUMNS} WHERE id = ?"))
            .bind(uuid_text(id.0))
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.sql_err(e))?;
        row.map(|r| r.into_event().map_err(|b| self.bad(b))).transpose()
    }

    async fn remove_events(&self, ids: &[EventId]) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut removed = 0;
        let mut result = Ok(());
        for id in ids {
            match sqlx::query("DELETE FROM events WHERE id = ?").bind(uuid_text(id.0)).execute(tx.conn()).await {
                Ok(done) => removed += done.rows_affected(),
                Err(e) => {
                    result = Err(self.sql_err(e));
                    break;
                }
            }
        }
        self.finish_write(tx, result).await.map(|()| removed)
    }

    async fn clear_events(&self, filter: &EventFilter) -> Result<u64, StoreError> {
        let mut qb = QueryBuilder::<Sqlite>::new("DELETE FROM events");
        push_filter(&mut qb, filter);
        Ok(qb.build().execute(&self.pool).await.map_err(|e| self.sql_err(e))?.rows_affected())
    }

    async fn list_sessions(&self, query: &SessionQuery) -> Result<Vec<SessionRecord>, StoreError> {
        let mut qb = QueryBuilder::<Sqlite>::new(SESSION_COLUMNS);
        qb.push(" WHERE 1");
        if let Some(h) = &query.handler {
            qb.push(" AND handler_id = ").push_bind(h.as_str().to_owned());
        }
        if let Some(t) = query.started_before {
            qb.push(" AND started_at < ").push_bind(ts(t));
        }
        qb.push(" ORDER BY started_at DESC, id DESC LIMIT ").push_bind(i64::from(query.limit));
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| self.sql_err(e))?;
        let rows = qb.build_query_as::<SessionRow>().fetch_all(&mut *tx).await.map_err(|e| self.sql_err(e))?;
        let out = self.records(&mut tx, rows).await?;
        tx.commit().await.map_err(|e| self.sql_err(e))?;
        Ok(out)
    }

    async fn get_session(&self, id: SessionId) -> Result<Option<SessionRecord>, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| self.sql_err(e))?;
        let rows = sqlx::query_as::<_, SessionRow>(&format!("{SESSION_COLUMNS} WHERE id = ?"))
            .bind(uuid_text(id.0))
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.sql_err(e))?;
        let out = self.records(&mut tx, rows).await?;
        tx.commit().await.map_err(|e| self.sql_err(e))?;
        Ok(out.into_iter().next())
    }
}
