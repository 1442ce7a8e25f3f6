//! How `apply` writes each change on SQLite: the SQL text of every statement, bound with the values of the
//! shared row codec. Events and a session's members go in multi-row statements (one round trip to SQLite for
//! many rows); everything else is one statement per change.

use std::sync::LazyLock;

use sqlx::SqliteConnection;
use synccenter_core::{Change, Event, HandlerId, ItemId, OwnerId, SessionId, Timestamp};
use synccenter_store_rows::write::{
    self, CONFLICTS, EVENTS, HANDLERS, ITEMS, PROGRESS_COLUMNS, SESSION_END_COLUMNS, assignments, placeholders,
};
use synccenter_store_rows::{Param, Table};

use crate::codec::args;

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

/// `(?, ?, ...)`: one row of `table`'s values.
fn row_of(table: &Table) -> String {
    format!("({})", vec!["?"; table.columns.len()].join(", "))
}

/// Runs `sql` with `params`.
async fn exec<'q>(
    conn: &mut SqliteConnection,
    sql: &'q str,
    params: impl IntoIterator<Item = Param<'q>>,
) -> Result<(), sqlx::Error> {
    sqlx::query_with(sql, args(params)?).execute(conn).await.map(drop)
}

/// An upsert, not INSERT OR REPLACE: replacing the row would cascade to the handler's items.
static HANDLER_UPSERT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO handlers ({}) VALUES ({}) ON CONFLICT (id) DO UPDATE SET {}",
        HANDLERS.list(),
        placeholders('?', 1, HANDLERS.columns.len()),
        HANDLERS.set_excluded()
    )
});

/// Like the reference store, an item of an unknown handler is ignored (`?1` is its handler).
static ITEM_SAVE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT OR REPLACE INTO items ({}) SELECT {} WHERE EXISTS (SELECT 1 FROM handlers WHERE id = ?1)",
        ITEMS.list(),
        placeholders('?', 1, ITEMS.columns.len())
    )
});

/// An event written again replaces the earlier one. An upsert rather than `INSERT OR REPLACE`, whose
/// implicit delete would not fire the trigger that keeps `event_counts`.
static EVENT_UPSERT: LazyLock<(String, String, String)> = LazyLock::new(|| {
    (
        format!("INSERT INTO events ({})", EVENTS.list()),
        row_of(&EVENTS),
        format!(" ON CONFLICT (id) DO UPDATE SET {}", EVENTS.set_excluded()),
    )
});

static CONFLICT_SAVE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT OR REPLACE INTO conflicts ({}) VALUES ({})",
        CONFLICTS.list(),
        placeholders('?', 1, CONFLICTS.columns.len())
    )
});

/// The first membership of the item, as the reference store's `find`.
static PROGRESS_UPDATE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE session_items SET {} WHERE session_id = ?5 AND position = \
         (SELECT min(position) FROM session_items WHERE session_id = ?5 AND item_id = ?6)",
        assignments(PROGRESS_COLUMNS, '?', 1)
    )
});

static SESSION_END: LazyLock<String> =
    LazyLock::new(|| format!("UPDATE sessions SET {} WHERE id = ?4", assignments(SESSION_END_COLUMNS, '?', 1)));

const MEMBER_ADD: &str = "INSERT INTO session_items (session_id, position, item_id, status, step, max_step, text) \
     SELECT ?1, (SELECT coalesce(max(position) + 1, 0) FROM session_items WHERE session_id = ?1), ?2, \
     NULL, 0, 0, '' \
     WHERE EXISTS (SELECT 1 FROM sessions WHERE id = ?1) \
     AND NOT EXISTS (SELECT 1 FROM session_items WHERE session_id = ?1 AND item_id = ?2)";

/// Events in order, several rows per statement; a later row with the same ID replaces an earlier one, as
/// one statement per event would.
pub(crate) async fn insert_events(conn: &mut SqliteConnection, events: &[&Event]) -> Result<(), sqlx::Error> {
    let (head, row, upsert) = &*EVENT_UPSERT;
    let mut rest = events;
    for size in chunks(events.len()) {
        let (now, later) = rest.split_at(size);
        rest = later;
        let mut sql = multi_row(head, row, size);
        sql.push_str(upsert);
        exec(conn, &sql, now.iter().flat_map(|e| write::event(e))).await?;
    }
    Ok(())
}

/// Writes one change.
pub(crate) async fn apply_one(conn: &mut SqliteConnection, change: &Change) -> Result<(), sqlx::Error> {
    match change {
        Change::HandlerSaved(h) => exec(conn, &HANDLER_UPSERT, write::handler(h)).await,
        Change::HandlerDeleted(h) => {
            // Items go by cascade; events and session history stay.
            exec(conn, "DELETE FROM conflicts WHERE handler_id = ?1", [Param::text(h.as_str())]).await?;
            exec(conn, "DELETE FROM handlers WHERE id = ?1", [Param::text(h.as_str())]).await
        }
        Change::ItemSaved(h, item) => exec(conn, &ITEM_SAVE, write::item(h, item)).await,
        Change::ItemDeleted(h, item) => {
            let key = [Param::text(h.as_str()), Param::text(item.as_str())];
            exec(conn, "DELETE FROM items WHERE handler_id = ?1 AND id = ?2", key).await
        }
        Change::SessionStarted { session, handler, owner, started_at, items } => {
            start_session(conn, *session, handler, *owner, *started_at, items).await
        }
        Change::SessionItemAdded { session, item } => {
            exec(conn, MEMBER_ADD, [Param::uuid(session.0), Param::text(item.as_str())]).await
        }
        Change::ItemProgressed { session, item, progress } => {
            let mut params = write::progress(progress);
            params.extend([Param::uuid(session.0), Param::text(item.as_str())]);
            exec(conn, &PROGRESS_UPDATE, params).await
        }
        Change::SessionMarkedManual(session) => {
            exec(conn, "UPDATE sessions SET manual = 1 WHERE id = ?1", [Param::uuid(session.0)]).await
        }
        Change::SessionEnded { session, at, reason, status } => {
            let mut params = write::session_end(*at, *reason, *status);
            params.push(Param::uuid(session.0));
            exec(conn, &SESSION_END, params).await
        }
        Change::EventAdded(e) => insert_events(conn, &[e]).await,
        Change::EventsPurged { handler, before } => {
            let params = [Param::text(handler.as_str()), Param::time(*before)];
            exec(conn, "DELETE FROM events WHERE handler_id = ?1 AND time < ?2", params).await
        }
        Change::ConflictSaved(c) => {
            let params = write::conflict(c).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
            exec(conn, &CONFLICT_SAVE, params).await
        }
        Change::ConflictRemoved(id) => exec(conn, "DELETE FROM conflicts WHERE id = ?1", [Param::uuid(id.0)]).await,
    }
}

/// Starting a known session again replaces it whole, as the reference store does.
async fn start_session(
    conn: &mut SqliteConnection,
    session: SessionId,
    handler: &HandlerId,
    owner: OwnerId,
    started_at: Timestamp,
    items: &[ItemId],
) -> Result<(), sqlx::Error> {
    let id = Param::uuid(session.0);
    exec(conn, "DELETE FROM session_items WHERE session_id = ?1", [id.clone()]).await?;
    exec(conn, "DELETE FROM sessions WHERE id = ?1", [id.clone()]).await?;
    let head = [id.clone(), Param::text(handler.as_str()), Param::owner(owner), Param::time(started_at)];
    exec(conn, "INSERT INTO sessions (id, handler_id, owner, started_at, manual) VALUES (?1, ?2, ?3, ?4, 0)", head)
        .await?;
    let mut rest = items.iter().enumerate();
    for size in chunks(items.len()) {
        let sql = multi_row(
            "INSERT INTO session_items (session_id, position, item_id, status, step, max_step, text)",
            "(?, ?, ?, NULL, 0, 0, '')",
            size,
        );
        let rows = rest.by_ref().take(size);
        let params = rows
            .flat_map(|(position, item)| [id.clone(), Param::Int(Some(position as i64)), Param::text(item.as_str())]);
        exec(conn, &sql, params).await?;
    }
    Ok(())
}
