//! How `apply` writes each change for one host: the SQL text of every statement, bound with the host (`$1`)
//! and the values of the shared row codec. Every statement is safe to run twice (see the crate docs on
//! replays): inserts keyed by ID do nothing twice or upsert, and progress, new members and ends are only
//! written while their session is live.

use std::sync::LazyLock;

use sqlx::PgConnection;
use synccenter_core::{Change, HandlerId, ItemId, OwnerId, SessionId, Timestamp};
use synccenter_store_rows::write::{
    self, CONFLICTS, EVENTS, HANDLERS, ITEMS, PROGRESS_COLUMNS, SESSION_END_COLUMNS, assignments,
};
use synccenter_store_rows::{Param, Table};

use crate::codec::{host_args, values_list};

/// Runs `sql` for `host` with `params` after it; returns the rows it touched.
async fn exec<'q>(
    conn: &mut PgConnection,
    host: &'q str,
    sql: &'q str,
    params: impl IntoIterator<Item = Param<'q>>,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query_with(sql, host_args(host, params)?).execute(conn).await?.rows_affected())
}

/// `INSERT INTO table (host, columns) VALUES ($1, ...)`, the start of a save.
fn insert(table: &Table) -> String {
    format!("INSERT INTO {} (host, {}) VALUES ($1, {})", table.name, table.list(), values_list(table.columns))
}

static HANDLER_UPSERT: LazyLock<String> =
    LazyLock::new(|| format!("{} ON CONFLICT (host, id) DO UPDATE SET {}", insert(&HANDLERS), HANDLERS.set_excluded()));

/// An item of a handler that does not exist is ignored, as by the reference store (`$2` is its handler).
static ITEM_UPSERT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO items (host, {}) SELECT $1, {} WHERE EXISTS (SELECT 1 FROM handlers WHERE host = $1 AND id = $2) \
         ON CONFLICT (host, handler_id, id) DO UPDATE SET {}",
        ITEMS.list(),
        values_list(ITEMS.columns),
        ITEMS.set_excluded()
    )
});

/// An event written again replaces the earlier copy, never another host's.
static EVENT_UPSERT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} ON CONFLICT (id) DO UPDATE SET {} WHERE events.host = excluded.host",
        insert(&EVENTS),
        EVENTS.set_excluded()
    )
});

static CONFLICT_UPSERT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} ON CONFLICT (id) DO UPDATE SET {} WHERE conflicts.host = excluded.host",
        insert(&CONFLICTS),
        CONFLICTS.set_excluded()
    )
});

/// The item's first membership, as the reference store's; only while the session is live.
static PROGRESS_UPDATE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE session_items SET {} WHERE session_id = $6 AND host = $1 \
         AND position = (SELECT min(position) FROM session_items WHERE session_id = $6 AND item_id = $7) \
         AND EXISTS (SELECT 1 FROM sessions WHERE id = $6 AND host = $1 AND ended_at IS NULL)",
        assignments(PROGRESS_COLUMNS, '$', 2)
    )
});

/// The first end wins: another host may have ended it already (host_lost).
static SESSION_END: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE sessions SET {} WHERE id = $5 AND host = $1 AND ended_at IS NULL",
        assignments(SESSION_END_COLUMNS, '$', 2)
    )
});

/// A member added while the session is live, once.
const MEMBER_ADD: &str = "INSERT INTO session_items (session_id, position, host, item_id, status, step, max_step, \
     text) SELECT s.id, (SELECT coalesce(max(position) + 1, 0) FROM session_items WHERE session_id = s.id), \
     s.host, $3, NULL, 0, 0, '' \
     FROM sessions s WHERE s.id = $2 AND s.host = $1 AND s.ended_at IS NULL \
     AND NOT EXISTS (SELECT 1 FROM session_items WHERE session_id = $2 AND item_id = $3) \
     ON CONFLICT DO NOTHING";

/// Writes one change for `host`.
pub(crate) async fn apply_one(conn: &mut PgConnection, host: &str, change: &Change) -> Result<(), sqlx::Error> {
    match change {
        Change::HandlerSaved(h) => exec(conn, host, &HANDLER_UPSERT, write::handler(h)).await?,
        Change::HandlerDeleted(h) => {
            // Its items go by cascade; its events and session history stay.
            let id = Param::text(h.as_str());
            exec(conn, host, "DELETE FROM conflicts WHERE host = $1 AND handler_id = $2", [id.clone()]).await?;
            exec(conn, host, "DELETE FROM handlers WHERE host = $1 AND id = $2", [id]).await?
        }
        Change::ItemSaved(h, item) => exec(conn, host, &ITEM_UPSERT, write::item(h, item)).await?,
        Change::ItemDeleted(h, item) => {
            let key = [Param::text(h.as_str()), Param::text(item.as_str())];
            exec(conn, host, "DELETE FROM items WHERE host = $1 AND handler_id = $2 AND id = $3", key).await?
        }
        Change::SessionStarted { session, handler, owner, started_at, items } => {
            start_session(conn, host, *session, handler, *owner, *started_at, items).await?
        }
        Change::SessionItemAdded { session, item } => {
            exec(conn, host, MEMBER_ADD, [Param::uuid(session.0), Param::text(item.as_str())]).await?
        }
        Change::ItemProgressed { session, item, progress } => {
            let mut params = write::progress(progress);
            params.extend([Param::uuid(session.0), Param::text(item.as_str())]);
            exec(conn, host, &PROGRESS_UPDATE, params).await?
        }
        Change::SessionMarkedManual(session) => {
            let sql = "UPDATE sessions SET manual = TRUE WHERE host = $1 AND id = $2";
            exec(conn, host, sql, [Param::uuid(session.0)]).await?
        }
        Change::SessionEnded { session, at, reason, status } => {
            let mut params = write::session_end(*at, *reason, *status);
            params.push(Param::uuid(session.0));
            exec(conn, host, &SESSION_END, params).await?
        }
        Change::EventAdded(e) => exec(conn, host, &EVENT_UPSERT, write::event(e)).await?,
        Change::EventsPurged { handler, before } => {
            let sql = "DELETE FROM events WHERE host = $1 AND handler_id = $2 AND time < $3";
            exec(conn, host, sql, [Param::text(handler.as_str()), Param::time(*before)]).await?
        }
        Change::ConflictSaved(c) => {
            let params = write::conflict(c).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
            exec(conn, host, &CONFLICT_UPSERT, params).await?
        }
        Change::ConflictRemoved(id) => {
            exec(conn, host, "DELETE FROM conflicts WHERE host = $1 AND id = $2", [Param::uuid(id.0)]).await?
        }
    };
    Ok(())
}

/// Starts a session once: a replay finds it, and its members were written with it.
async fn start_session(
    conn: &mut PgConnection,
    host: &str,
    session: SessionId,
    handler: &HandlerId,
    owner: OwnerId,
    started_at: Timestamp,
    items: &[ItemId],
) -> Result<u64, sqlx::Error> {
    let sql = "INSERT INTO sessions (host, id, handler_id, owner, started_at, manual) \
               VALUES ($1, $2, $3, $4, $5, FALSE) ON CONFLICT (id) DO NOTHING";
    let row = [Param::uuid(session.0), Param::text(handler.as_str()), Param::owner(owner), Param::time(started_at)];
    let inserted = exec(conn, host, sql, row).await?;
    if inserted == 1 && !items.is_empty() {
        let names: Vec<&str> = items.iter().map(|i| i.as_str()).collect();
        sqlx::query(
            "INSERT INTO session_items (session_id, position, host, item_id, status, step, max_step, text) \
             SELECT $2, (m.ord - 1)::integer, $1, m.item, NULL, 0, 0, '' \
             FROM unnest($3::text[]) WITH ORDINALITY AS m (item, ord)",
        )
        .bind(host)
        .bind(session.0)
        .bind(names)
        .execute(&mut *conn)
        .await?;
    }
    Ok(inserted)
}
