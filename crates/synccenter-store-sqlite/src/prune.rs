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
use synccenter_core::{EventLevel, Keep, Pruned, RetentionPolicy, StoreError, Timestamp};

use crate::SqliteStore;

/// Pages `incremental_vacuum` returns to the file system per batch (4 KiB each).
const VACUUM_PAGES: u32 = 256;

/// The IDs one batch removes.
#[derive(Default)]
struct Chosen {
    events: Vec<String>,
    sessions: Vec<String>,
    /// The limit cut the list short.
    more: bool,
}

impl Chosen {
    fn room(&self, limit: u32) -> i64 {
        i64::from(limit) - (self.events.len() + self.sessions.len()) as i64
    }
}

impl SqliteStore {
    /// [`synccenter_core::Store::prune`] for SQLite.
    pub(crate) async fn prune_batch(
        &self,
        policy: &RetentionPolicy,
        now: Timestamp,
        limit: u32,
    ) -> Result<Pruned, StoreError> {
        let mut chosen = Chosen::default();
        {
            let mut conn = self.conn().await?;
            let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| self.sql_err(e))?;
            self.choose(&mut tx, policy, now, limit, &mut chosen).await.map_err(|e| self.sql_err(e))?;
            let free: i64 =
                sqlx::query_scalar("PRAGMA freelist_count").fetch_one(&mut *tx).await.map_err(|e| self.sql_err(e))?;
            tx.commit().await.map_err(|e| self.sql_err(e))?;
            if chosen.events.is_empty() && chosen.sessions.is_empty() && (free == 0 || !self.incremental_vacuum) {
                // Nothing to remove (a limit of 0 may still have found some): the write lock is not taken.
                return Ok(Pruned { more: chosen.more, ..Pruned::default() });
            }
        }
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

    async fn choose(
        &self,
        conn: &mut SqliteConnection,
        policy: &RetentionPolicy,
        now: Timestamp,
        limit: u32,
        chosen: &mut Chosen,
    ) -> Result<(), sqlx::Error> {
        for level in [EventLevel::Info, EventLevel::Warning, EventLevel::Error] {
            let keep = policy.events(level);
            let counts = "SELECT handler_id, sum(n) FROM event_counts WHERE level = ?1 GROUP BY handler_id \
                          HAVING sum(n) > ?2";
            let sql = [EVENTS_BY_AGE, counts, EVENTS_BY_COUNT];
            let found = past(conn, keep, now, chosen.room(limit), Some(i64::from(level.number())), sql);
            let (ids, more) = found.await?;
            chosen.events.extend(ids);
            chosen.more |= more;
        }
        let counts = "SELECT handler_id, count(*) FROM sessions WHERE ended_at IS NOT NULL AND ?1 IS NULL \
                      GROUP BY handler_id HAVING count(*) > ?2";
        let sql = [SESSIONS_BY_AGE, counts, SESSIONS_BY_COUNT];
        let found = past(conn, policy.sessions, now, chosen.room(limit), None, sql);
        let (ids, more) = found.await?;
        chosen.sessions.extend(ids);
        chosen.more |= more;
        Ok(())
    }
}

/// Events of level ?1 older than ?2, oldest first, at most ?3.
const EVENTS_BY_AGE: &str = "SELECT id FROM events WHERE level = ?1 AND time < ?2 ORDER BY time, id LIMIT ?3";
/// Of handler ?4's events of level ?1, the oldest ?5 (its excess over the count), those not older than ?2.
const EVENTS_BY_COUNT: &str = "SELECT id FROM (SELECT id, time FROM events WHERE handler_id = ?4 AND level = ?1 \
                               ORDER BY time, id LIMIT ?5) WHERE time >= ?2 LIMIT ?3";
/// Ended sessions started before ?2 (?1 is NULL), oldest first, at most ?3.
const SESSIONS_BY_AGE: &str = "SELECT id FROM sessions WHERE ended_at IS NOT NULL AND ?1 IS NULL AND started_at < ?2 \
                               ORDER BY started_at, id LIMIT ?3";
/// Of handler ?4's ended sessions, the oldest ?5, those not started before ?2.
const SESSIONS_BY_COUNT: &str = "SELECT id FROM (SELECT id, started_at FROM sessions WHERE handler_id = ?4 \
                                 AND ended_at IS NOT NULL AND ?1 IS NULL ORDER BY started_at, id LIMIT ?5) \
                                 WHERE started_at >= ?2 LIMIT ?3";

/// The IDs past `keep` (by age with `sql[0]`, then per handler over the count from `sql[1]` with `sql[2]`), at
/// most `room`; and whether there were more.
async fn past(
    conn: &mut SqliteConnection,
    keep: Keep,
    now: Timestamp,
    room: i64,
    level: Option<i64>,
    sql: [&str; 3],
) -> Result<(Vec<String>, bool), sqlx::Error> {
    let mut ids: Vec<String> = Vec::new();
    // One more than there is room for tells whether the limit cut the list short.
    let want = |ids: &Vec<String>| room + 1 - ids.len() as i64;
    let cutoff = keep.cutoff(now);
    if let Some(cutoff) = cutoff {
        let found: Vec<String> = sqlx::query_scalar(sql[0])
            .bind(level)
            .bind(cutoff.as_micros())
            .bind(want(&ids))
            .fetch_all(&mut *conn)
            .await?;
        ids.extend(found);
    }
    if let Some(max) = keep.max_count
        && want(&ids) > 0
    {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let over: Vec<(String, i64)> = sqlx::query_as(sql[1]).bind(level).bind(max).fetch_all(&mut *conn).await?;
        let from = cutoff.map_or(i64::MIN, Timestamp::as_micros);
        for (handler, total) in over {
            if want(&ids) <= 0 {
                break;
            }
            let found: Vec<String> = sqlx::query_scalar(sql[2])
                .bind(level)
                .bind(from)
                .bind(want(&ids))
                .bind(handler)
                .bind(total - max)
                .fetch_all(&mut *conn)
                .await?;
            ids.extend(found);
        }
    }
    let more = ids.len() as i64 > room;
    ids.truncate(room.max(0) as usize);
    Ok((ids, more))
}

/// Deletes the chosen rows and returns a few free pages to the file system (when the file was created with
/// `auto_vacuum = INCREMENTAL`); answers how many free pages are left.
async fn remove(conn: &mut SqliteConnection, chosen: &Chosen, incremental: bool) -> Result<i64, sqlx::Error> {
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
