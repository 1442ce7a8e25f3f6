//! Retention in SQLite: one small batch of records past the policy per call, and the file space they held
//! returned to the file system a few pages at a time.
//!
//! What to remove is chosen on a reader connection (index range scans with a `LIMIT`, and the trigger-kept
//! `event_counts` for the per-handler totals), outside the write lock; only the `DELETE`s by primary key and
//! one step of `incremental_vacuum` run in a write transaction, on `apply`'s own connection, so an `apply`
//! waits at most for one such batch. Files created by this build use `auto_vacuum = INCREMENTAL`; a file
//! created before keeps `auto_vacuum = NONE` (switching needs a `VACUUM` that rewrites the whole file, which
//! is no start in bounded time): its freed pages are reused by new rows, so it stops growing but does not
//! shrink (docs/reliability.md, "Bounded history").

use sqlx::SqliteConnection;
use synccenter_core::{Pruned, RetentionPolicy, StoreError, Timestamp};
use synccenter_store_rows::prune::{Candidates, Chosen, Excess, Kind, choose};

use crate::SqliteStore;

/// Pages `incremental_vacuum` returns to the file system per batch (4 KiB each): more than a batch of 100
/// events frees, so the file keeps up, and few enough to keep the transaction short.
const VACUUM_PAGES: u32 = 64;

impl SqliteStore {
    /// [`synccenter_core::Store::prune`] for SQLite.
    pub(crate) async fn prune_batch(
        &self,
        policy: &RetentionPolicy,
        now: Timestamp,
        limit: u32,
    ) -> Result<Pruned, StoreError> {
        let chosen = {
            let mut conn = self.conn().await?;
            let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| self.sql_err(e))?;
            let mut queries = Queries { conn: &mut tx };
            let chosen =
                choose(&mut queries, [EVENTS, SESSIONS], policy, now, limit).await.map_err(|e| self.sql_err(e))?;
            let free: i64 =
                sqlx::query_scalar("PRAGMA freelist_count").fetch_one(&mut *tx).await.map_err(|e| self.sql_err(e))?;
            tx.commit().await.map_err(|e| self.sql_err(e))?;
            if chosen.events.is_empty() && chosen.sessions.is_empty() && (free == 0 || !self.incremental_vacuum) {
                // Nothing to remove (a limit of 0 may still have found some): the write lock is not taken.
                return Ok(Pruned { more: chosen.more, ..Pruned::default() });
            }
            chosen
        };
        let mut tx = self.begin_apply().await?;
        let result = remove(tx.conn(), &chosen, self.incremental_vacuum).await;
        let free_pages = match result {
            Ok(pages) => {
                self.finish_write(tx, Ok(())).await?;
                pages
            }
            Err(e) => {
                let e = self.sql_err(e);
                return self.finish_write(tx, Err(e)).await.map(|()| Pruned::default());
            }
        };
        Ok(Pruned {
            events: chosen.events.len() as u64,
            sessions: chosen.sessions.len() as u64,
            more: chosen.more || free_pages > 0,
        })
    }
}

/// Events of level ?1: older than ?2, oldest first, at most ?3; the handlers with more than ?2, with their
/// totals; of handler ?4's oldest ?5 (its excess over the count), those not older than ?2, at most ?3.
const EVENTS: [&str; 3] = [
    "SELECT id FROM events WHERE level = ?1 AND time < ?2 ORDER BY time, id LIMIT ?3",
    "SELECT handler_id, sum(n) FROM event_counts WHERE level = ?1 GROUP BY handler_id HAVING sum(n) > ?2",
    "SELECT id FROM (SELECT id, time FROM events WHERE handler_id = ?4 AND level = ?1 ORDER BY time, id LIMIT ?5) \
     WHERE time >= ?2 LIMIT ?3",
];
/// The same for ended sessions (by start; ?1 is NULL).
const SESSIONS: [&str; 3] = [
    "SELECT id FROM sessions WHERE ended_at IS NOT NULL AND ?1 IS NULL AND started_at < ?2 \
     ORDER BY started_at, id LIMIT ?3",
    "SELECT handler_id, count(*) FROM sessions WHERE ended_at IS NOT NULL AND ?1 IS NULL \
     GROUP BY handler_id HAVING count(*) > ?2",
    "SELECT id FROM (SELECT id, started_at FROM sessions WHERE handler_id = ?4 AND ended_at IS NOT NULL \
     AND ?1 IS NULL ORDER BY started_at, id LIMIT ?5) WHERE started_at >= ?2 LIMIT ?3",
];

/// The records (the kind's level is `?1`).
struct Queries<'c> {
    conn: &'c mut SqliteConnection,
}

impl Candidates for Queries<'_> {
    type Id = String;
    type Error = sqlx::Error;

    async fn older(&mut self, kind: Kind, cutoff: i64, limit: i64) -> Result<Vec<String>, sqlx::Error> {
        let query = sqlx::query_scalar(kind.sql[0]).bind(kind.level).bind(cutoff).bind(limit);
        query.fetch_all(&mut *self.conn).await
    }

    async fn over(&mut self, kind: Kind, max: i64) -> Result<Vec<(String, i64)>, sqlx::Error> {
        sqlx::query_as(kind.sql[1]).bind(kind.level).bind(max).fetch_all(&mut *self.conn).await
    }

    async fn oldest(&mut self, kind: Kind, of: Excess) -> Result<Vec<String>, sqlx::Error> {
        let query = sqlx::query_scalar(kind.sql[2]).bind(kind.level).bind(of.from).bind(of.limit).bind(of.handler);
        query.bind(of.excess).fetch_all(&mut *self.conn).await
    }
}

/// Deletes the chosen rows and returns a few free pages to the file system (when the file was created with
/// `auto_vacuum = INCREMENTAL`); answers how many free pages are left.
async fn remove(conn: &mut SqliteConnection, chosen: &Chosen<String>, incremental: bool) -> Result<i64, sqlx::Error> {
    for chunk in chosen.events.chunks(500) {
        delete_ids(conn, "DELETE FROM events WHERE id IN (", chunk).await?;
    }
    for chunk in chosen.sessions.chunks(500) {
        delete_ids(conn, "DELETE FROM session_items WHERE session_id IN (", chunk).await?;
        delete_ids(conn, "DELETE FROM sessions WHERE id IN (", chunk).await?;
    }
    if !incremental {
        return Ok(0);
    }
    sqlx::query(&format!("PRAGMA incremental_vacuum({VACUUM_PAGES})")).execute(&mut *conn).await?;
    sqlx::query_scalar("PRAGMA freelist_count").fetch_one(&mut *conn).await
}

async fn delete_ids(conn: &mut SqliteConnection, head: &str, ids: &[String]) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(head);
    let mut sep = qb.separated(", ");
    for id in ids {
        sep.push_bind(id.as_str());
    }
    qb.push(")");
    qb.build().execute(conn).await.map(drop)
}
