//! # synccenter-store-sqlite
//!
//! A [`Store`] on one SQLite file, so that the registry, conflicts, session history and Sync Results survive a
//! restart. It matches `synccenter_core::MemoryStore` (the reference semantics) change for change; the
//! `synccenter-store-tests` conformance suite checks that.
//!
//! The file is opened in WAL mode with `synchronous=FULL`, so what `apply` acknowledged is on disk. A file that
//! is not a SQLite database, is damaged, or carries a schema newer than this build is refused with
//! `StoreError::Corrupt` naming the file and the recovery commands; it is never replaced, truncated or written
//! to. After a clean close the whole-file part of that check moves to the background (`closing`). [`maintenance`] holds those commands' work: check, backup and recover, none of which writes to the file
//! it reads.

#![warn(missing_docs)]

mod apply;
mod closing;
mod codec;
mod errors;
pub mod maintenance;
mod prune;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use synccenter_core::{
    Change, Event, EventFilter, EventId, EventQuery, Pruned, RetentionPolicy, SessionId, SessionQuery, SessionRecord,
    Snapshot, Store, StoreError, Timestamp,
};
use synccenter_store_rows::filter::{Condition, event_conditions};
use synccenter_store_rows::read::{self, SESSION_COLUMNS, SESSION_ITEM_COLUMNS};
use synccenter_store_rows::write::{CONFLICTS, EVENTS, HANDLERS, ITEMS};
use synccenter_store_rows::{Bad, Param, Table};

use crate::apply::{apply_one, insert_events};
use crate::codec::{Row, args, decode, uuid_text};
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
    /// Whether the open read every page: not when the last close was clean (`closing`).
    checked_at_open: bool,
    /// Whether the file was created with `auto_vacuum = INCREMENTAL`, so pruning can return space (`prune`).
    incremental_vacuum: bool,
}

impl SqliteStore {
    /// Opens (creating it if missing) the database at `path` and brings its schema up to date.
    ///
    /// A file that is not a readable SQLite database, is damaged (`PRAGMA quick_check`, unless the file is as
    /// its last clean [`SqliteStore::close`] left it: then see [`SqliteStore::needs_whole_file_check`]), or
    /// whose schema is newer than this build, is refused with [`StoreError::Corrupt`] and left untouched; I/O
    /// problems are [`StoreError::Unavailable`].
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        Self::open_with(path, OpenOptions::default()).await
    }

    /// [`SqliteStore::open`] with options.
    pub async fn open_with(path: &Path, options: OpenOptions) -> Result<SqliteStore, StoreError> {
        let page_limit = options.page_limit;
        let path = path.to_path_buf();
        let mut checked_at_open = true;
        if path.exists() {
            checked_at_open = !closing::take_stamp(&path);
            check_existing(&path, checked_at_open).await?;
        }
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        if !path.exists() {
            create_incremental(&path, &options).await?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            // A connection to a local file does not go stale; a ping per checkout would cost a round trip to
            // the connection's thread per query.
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .map_err(|e| from_sqlx(&path, e))?;
        MIGRATOR.run(&pool).await.map_err(|e| from_migrate(&path, e))?;
        let mut writer: SqliteConnection =
            sqlx::Connection::connect_with(&options).await.map_err(|e| from_sqlx(&path, e))?;
        let auto_vacuum: i64 =
            sqlx::query_scalar("PRAGMA auto_vacuum").fetch_one(&mut writer).await.map_err(|e| from_sqlx(&path, e))?;
        Ok(SqliteStore {
            pool,
            writer: tokio::sync::Mutex::new(Some(writer)),
            writer_options: Box::new(options),
            path,
            page_limit,
            checked_at_open,
            // 2: INCREMENTAL.
            incremental_vacuum: auto_vacuum == 2,
        })
    }

    /// Whether the open skipped the whole-file check (the last close was clean): then
    /// [`SqliteStore::check_whole_file`] should run soon, in the background.
    pub fn needs_whole_file_check(&self) -> bool {
        !self.checked_at_open
    }

    /// Reads every page of every table and index (SQLite's `quick_check`) on a read-only connection of its
    /// own, beside the store's work; damage is [`StoreError::Corrupt`] naming the file and the recovery
    /// commands, as at open.
    pub async fn check_whole_file(&self) -> Result<(), StoreError> {
        use sqlx::Connection;
        let options = SqliteConnectOptions::new().filename(&self.path).read_only(true).create_if_missing(false);
        let mut conn = SqliteConnection::connect_with(&options).await.map_err(|e| from_sqlx(&self.path, e))?;
        let verdict = quick_check(&mut conn, &self.path).await;
        let _ = conn.close().await;
        verdict
    }

    /// Closes every connection and stamps the file as closed cleanly, so that the next open can skip the
    /// whole-file check (`closing`). The store must not be used afterwards.
    pub async fn close(&self) -> Result<(), StoreError> {
        use sqlx::Connection;
        if let Some(writer) = self.writer.lock().await.take() {
            let _ = writer.close().await;
        }
        self.pool.close().await;
        closing::stamp(&self.path)
            .map_err(|e| StoreError::Unavailable(format!("cannot stamp {} as closed: {e}", self.path.display())))
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

    /// Every row `sql` selects (bound with `params`), on `conn`.
    async fn fetch<'q>(
        &self,
        conn: &mut SqliteConnection,
        sql: &'q str,
        params: impl IntoIterator<Item = Param<'q>>,
    ) -> Result<Vec<SqliteRow>, StoreError> {
        let args = args(params).map_err(|e| self.sql_err(e))?;
        sqlx::query_with(sql, args).fetch_all(conn).await.map_err(|e| self.sql_err(e))
    }

    /// The records of `rows` (of [`SESSION_SELECT`]), each with its members.
    async fn records(&self, conn: &mut SqliteConnection, rows: &[SqliteRow]) -> Result<Vec<SessionRecord>, StoreError> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut record = read::session(&Row(row)).map_err(|b| self.bad(b))?;
            let members = self.fetch(conn, &SESSION_ITEM_SELECT, [Param::uuid(record.id.0)]).await?;
            record.items = decode(&members, read::session_item).map_err(|b| self.bad(b))?;
            out.push(record);
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

/// Creates the file with `auto_vacuum = INCREMENTAL`, which SQLite accepts only before the file's first
/// page is written (the `journal_mode` the same connection sets writes it): pruning can then return freed pages
/// to the file system (`prune`). Set on this one connection only: the pragma on every connection would write
/// the header of an existing file, which the store must not do before it has read the file.
async fn create_incremental(path: &Path, options: &SqliteConnectOptions) -> Result<(), StoreError> {
    use sqlx::Connection;
    let options = options.clone().auto_vacuum(SqliteAutoVacuum::Incremental);
    let conn = SqliteConnection::connect_with(&options).await.map_err(|e| from_sqlx(path, e))?;
    conn.close().await.map_err(|e| from_sqlx(path, e))
}

/// Reads an existing file through a read-only connection before anything may write to it: garbage, damage
/// and a newer schema are refused here, so the file is never modified in those cases.
async fn check_existing(path: &Path, whole_file: bool) -> Result<(), StoreError> {
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
        // Every page of every table and index, read-only: damage is found now, not under a later write
        // (docs/reliability.md). After a clean close it is left to the background (`closing`).
        if whole_file { quick_check(&mut conn, path).await } else { Ok(()) }
    }
    .await;
    // Closing a read-only connection cannot lose data; a failure to close says nothing about the file.
    let _ = conn.close().await;
    result
}

/// SQLite's `quick_check`: damage anywhere is [`StoreError::Corrupt`].
async fn quick_check(conn: &mut SqliteConnection, path: &Path) -> Result<(), StoreError> {
    let verdict: Vec<String> =
        sqlx::query_scalar("PRAGMA quick_check(5)").fetch_all(&mut *conn).await.map_err(|e| from_sqlx(path, e))?;
    match verdict.as_slice() {
        [ok] if ok == "ok" => Ok(()),
        problems => Err(corrupt(path, &format!("the database file is damaged ({})", problems.join("; ")))),
    }
}

/// Pushes ` AND ...` for each condition of `filter` (after a `WHERE 1`), the same predicate as
/// [`EventFilter::matches`]. Against `event_counts` (`counts`), which has only the handler, item and level
/// parts, the item is `item_key`: '' for handler-level events.
fn push_filter(qb: &mut QueryBuilder<'_, Sqlite>, filter: &EventFilter, counts: bool) {
    for condition in event_conditions(filter) {
        match condition {
            Condition::TextIs("item_id", item) if counts => qb.push(" AND item_key = ").push_bind(item.to_owned()),
            Condition::NoItem if counts => qb.push(" AND item_key = ''"),
            Condition::TextIs(column, value) => qb.push(format_args!(" AND {column} = ")).push_bind(value.to_owned()),
            Condition::NoItem => qb.push(" AND item_id IS NULL"),
            Condition::LevelIn(levels) => {
                qb.push(" AND level IN (");
                let mut sep = qb.separated(", ");
                for level in levels {
                    sep.push_bind(level);
                }
                qb.push(")")
            }
            Condition::Session(s) => qb.push(" AND session_id = ").push_bind(uuid_text(s)),
            Condition::Time(op, t) => qb.push(format_args!(" AND time {op} ")).push_bind(t),
        };
    }
}

/// `SELECT` of `table`'s record columns, followed by `rest`.
fn select(table: &Table, rest: &str) -> String {
    format!("SELECT {} FROM {} {rest}", table.list(), table.name)
}

static HANDLER_SELECT: LazyLock<String> = LazyLock::new(|| select(&HANDLERS, "ORDER BY id"));
static ITEM_SELECT: LazyLock<String> = LazyLock::new(|| select(&ITEMS, "ORDER BY handler_id, id"));
static CONFLICT_SELECT: LazyLock<String> = LazyLock::new(|| select(&CONFLICTS, "ORDER BY id"));
static EVENT_SELECT: LazyLock<String> = LazyLock::new(|| select(&EVENTS, "WHERE 1"));
static SESSION_SELECT: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {} FROM sessions WHERE 1", SESSION_COLUMNS.join(", ")));
static SESSION_ITEM_SELECT: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {} FROM session_items WHERE session_id = ?1 ORDER BY position", SESSION_ITEM_COLUMNS.join(", "))
});

impl Store for SqliteStore {
    async fn load(&self) -> Result<Snapshot, StoreError> {
        let mut conn = self.conn().await?;
        // One read transaction, so the snapshot is consistent even while another connection writes.
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| self.sql_err(e))?;
        let handlers = self.fetch(&mut tx, &HANDLER_SELECT, []).await?;
        let items = self.fetch(&mut tx, &ITEM_SELECT, []).await?;
        let conflicts = self.fetch(&mut tx, &CONFLICT_SELECT, []).await?;
        let live = self.fetch(&mut tx, &format!("{} AND ended_at IS NULL ORDER BY id", *SESSION_SELECT), []).await?;
        let live_sessions = self.records(&mut tx, &live).await?;
        tx.commit().await.map_err(|e| self.sql_err(e))?;
        let decoded = (|| {
            let handlers = decode(&handlers, read::handler)?;
            Ok(read::snapshot(
                handlers,
                decode(&items, read::item)?,
                decode(&conflicts, read::conflict)?,
                live_sessions,
            ))
        })();
        decoded.map_err(|b: Bad| self.bad(b))
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
                    insert_events(tx.conn(), &events).await
                } else {
                    let one = &rest[0];
                    rest = &rest[1..];
                    apply_one(tx.conn(), one).await
                };
                written.map_err(|e| self.sql_err(e))?;
            }
            Ok(())
        }
        .await;
        // All changes or none.
        self.finish_write(tx, result).await
    }

    async fn list_events(&self, query: &EventQuery) -> Result<Vec<Event>, StoreError> {
        let mut qb = QueryBuilder::<Sqlite>::new(&*EVENT_SELECT);
        push_filter(&mut qb, &query.filter, false);
        if let Some(c) = query.after {
            let (time, id) = (c.time.as_micros(), uuid_text(c.id.0));
            qb.push(" AND (time, id) < (").push_bind(time).push(", ").push_bind(id).push(")");
        }
        qb.push(" ORDER BY time DESC, id DESC LIMIT ").push_bind(i64::from(query.limit));
        let rows = qb.build().fetch_all(&self.pool).await.map_err(|e| self.sql_err(e))?;
        decode(&rows, read::event).map_err(|b| self.bad(b))
    }

    async fn count_events(&self, filter: &EventFilter) -> Result<u64, StoreError> {
        let mut qb = if filter.session.is_none() && filter.since.is_none() && filter.until.is_none() {
            // Handler, item and level only: a sum over the counts the triggers keep.
            let mut qb = QueryBuilder::<Sqlite>::new("SELECT coalesce(sum(n), 0) FROM event_counts WHERE 1");
            push_filter(&mut qb, filter, true);
            qb
        } else {
            let mut qb = QueryBuilder::<Sqlite>::new("SELECT count(*) FROM events WHERE 1");
            push_filter(&mut qb, filter, false);
            qb
        };
        let n: i64 = qb.build_query_scalar().fetch_one(&self.pool).await.map_err(|e| self.sql_err(e))?;
        Ok(n.max(0) as u64)
    }

    async fn get_event(&self, id: EventId) -> Result<Option<Event>, StoreError> {
        let row = sqlx::query(&format!("{} AND id = ?", *EVENT_SELECT))
            .bind(uuid_text(id.0))
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.sql_err(e))?;
        row.map(|r| read::event(&Row(&r)).map_err(|b| self.bad(b))).transpose()
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
        let mut qb = QueryBuilder::<Sqlite>::new("DELETE FROM events WHERE 1");
        push_filter(&mut qb, filter, false);
        Ok(qb.build().execute(&self.pool).await.map_err(|e| self.sql_err(e))?.rows_affected())
    }

    async fn list_sessions(&self, query: &SessionQuery) -> Result<Vec<SessionRecord>, StoreError> {
        let mut qb = QueryBuilder::<Sqlite>::new(&*SESSION_SELECT);
        if let Some(h) = &query.handler {
            qb.push(" AND handler_id = ").push_bind(h.as_str().to_owned());
        }
        if let Some(t) = query.started_before {
            qb.push(" AND started_at < ").push_bind(t.as_micros());
        }
        qb.push(" ORDER BY started_at DESC, id DESC LIMIT ").push_bind(i64::from(query.limit));
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| self.sql_err(e))?;
        let rows = qb.build().fetch_all(&mut *tx).await.map_err(|e| self.sql_err(e))?;
        let out = self.records(&mut tx, &rows).await?;
        tx.commit().await.map_err(|e| self.sql_err(e))?;
        Ok(out)
    }

    async fn get_session(&self, id: SessionId) -> Result<Option<SessionRecord>, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| self.sql_err(e))?;
        let sql = format!("{} AND id = ?1", *SESSION_SELECT);
        let rows = self.fetch(&mut tx, &sql, [Param::uuid(id.0)]).await?;
        let out = self.records(&mut tx, &rows).await?;
        tx.commit().await.map_err(|e| self.sql_err(e))?;
        Ok(out.into_iter().next())
    }

    async fn prune(&self, policy: &RetentionPolicy, now: Timestamp, limit: u32) -> Result<Pruned, StoreError> {
        self.prune_batch(policy, now, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn synchronous(conn: &mut SqliteConnection) -> i64 {
        sqlx::query_scalar("PRAGMA synchronous").fetch_one(conn).await.expect("PRAGMA synchronous")
    }

    /// `PRAGMA synchronous` is per connection and not stored in the file, so it is read on the store's own
    /// connections: `apply`'s writer, the one it opens after closing that, and every one of the pool's (2 is
    /// FULL; WAL with NORMAL survives a process crash as well, so only this tells the two apart).
    #[tokio::test]
    async fn every_connection_that_writes_uses_synchronous_full() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open_in_dir(dir.path()).await.expect("open");
        let mut writer = store.writer.lock().await;
        assert_eq!(synchronous(writer.as_mut().expect("the writer is open")).await, 2, "apply's writer");
        let mut reopened = sqlx::Connection::connect_with(&*store.writer_options).await.expect("reopen");
        assert_eq!(synchronous(&mut reopened).await, 2, "a reopened writer");
        drop(writer);
        let mut pooled = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            pooled.push(store.conn().await.expect("a pooled connection"));
        }
        for conn in &mut pooled {
            assert_eq!(synchronous(conn).await, 2, "a pooled connection");
        }
    }

    /// A cancelled `apply` (its future dropped inside the transaction) leaves nothing written and does not hand
    /// its half-done transaction to the next `apply`, which would then fail to begin or commit the lost rows.
    #[tokio::test]
    async fn an_apply_dropped_mid_transaction_writes_nothing_and_the_next_one_works() {
        use synccenter_store_tests::sample;
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open_in_dir(dir.path()).await.expect("open");
        {
            let mut tx = store.begin_apply().await.expect("begin");
            apply::apply_one(tx.conn(), &Change::HandlerSaved(sample::handler("lost"))).await.expect("write");
        }
        store.apply(&[Change::HandlerSaved(sample::handler("kept"))]).await.expect("the next apply begins afresh");
        let handlers: Vec<String> =
            store.load().await.expect("load").handlers.iter().map(|(h, _)| h.id.as_str().to_owned()).collect();
        assert_eq!(handlers, ["kept"]);
    }
}
