//! Retention in PostgreSQL: one small batch of this host's records past the policy per call.
//!
//! The IDs are chosen first (index range scans with a `LIMIT`; per-handler totals by a grouped count), then
//! deleted by primary key in one short transaction, so other hosts' writes and this host's `apply` never wait
//! behind a long delete. Freed row space is reused by new rows after PostgreSQL's autovacuum; it is not handed
//! back to the file system (that needs `VACUUM FULL`, which locks the tables: an operator's decision,
//! docs/reliability.md).

use sqlx::PgConnection;
use synccenter_core::{EventLevel, Keep, Pruned, RetentionPolicy, StoreError, Timestamp};
use uuid::Uuid;

use crate::PgStore;

/// Events of level $2 older than $3, oldest first, at most $4.
const EVENTS_BY_AGE: &str =
    "SELECT id FROM events WHERE host = $1 AND level = $2 AND time < $3 ORDER BY time, id LIMIT $4";
/// Per handler, how many events of level $2 it has, where over $3.
const EVENT_COUNTS: &str = "SELECT handler_id, count(*) FROM events WHERE host = $1 AND level = $2 \
                            GROUP BY handler_id HAVING count(*) > $3";
/// Of handler $5's events of level $2, the oldest $6 (its excess), those not older than $3; at most $4.
const EVENTS_BY_COUNT: &str = "SELECT id FROM (SELECT id, time FROM events WHERE host = $1 AND handler_id = $5 \
                               AND level = $2 ORDER BY time, id LIMIT $6) t WHERE time >= $3 LIMIT $4";
/// Ended sessions started before $3 ($2 is NULL), oldest first, at most $4.
const SESSIONS_BY_AGE: &str = "SELECT id FROM sessions WHERE host = $1 AND $2::BIGINT IS NULL \
                               AND ended_at IS NOT NULL AND started_at < $3 ORDER BY started_at, id LIMIT $4";
/// Per handler, how many ended sessions it has, where over $3.
const SESSION_COUNTS: &str = "SELECT handler_id, count(*) FROM sessions WHERE host = $1 AND $2::BIGINT IS NULL \
                              AND ended_at IS NOT NULL GROUP BY handler_id HAVING count(*) > $3";
/// Of handler $5's ended sessions, the oldest $6, those not started before $3; at most $4.
const SESSIONS_BY_COUNT: &str = "SELECT id FROM (SELECT id, started_at FROM sessions WHERE host = $1 \
                                 AND $2::BIGINT IS NULL AND handler_id = $5 AND ended_at IS NOT NULL \
                                 ORDER BY started_at, id LIMIT $6) t WHERE started_at >= $3 LIMIT $4";

impl PgStore {
    /// [`synccenter_core::Store::prune`] for PostgreSQL.
    pub(crate) async fn prune_batch(
        &self,
        policy: &RetentionPolicy,
        now: Timestamp,
        limit: u32,
    ) -> Result<Pruned, StoreError> {
        let (mut events, mut sessions, mut more) = (Vec::new(), Vec::new(), false);
        {
            let mut conn = self.read_tx().await?;
            for level in [EventLevel::Info, EventLevel::Warning, EventLevel::Error] {
                let room = i64::from(limit) - events.len() as i64;
                let (keep, number) = (policy.events(level), Some(i64::from(level.number())));
                let sql = [EVENTS_BY_AGE, EVENT_COUNTS, EVENTS_BY_COUNT];
                let found = self.past(&mut conn, keep, now, room, number, sql).await;
                let (ids, cut) = found.map_err(|e| self.sql_err(e))?;
                events.extend(ids);
                more |= cut;
            }
            let room = i64::from(limit) - events.len() as i64;
            let sql = [SESSIONS_BY_AGE, SESSION_COUNTS, SESSIONS_BY_COUNT];
            let (ids, cut) =
                self.past(&mut conn, policy.sessions, now, room, None, sql).await.map_err(|e| self.sql_err(e))?;
            sessions.extend(ids);
            more |= cut;
            conn.commit().await.map_err(|e| self.sql_err(e))?;
        }
        if !events.is_empty() || !sessions.is_empty() {
            let mut tx = self.pool.begin().await.map_err(|e| self.sql_err(e))?;
            for (sql, ids) in [
                ("DELETE FROM events WHERE host = $1 AND id = ANY($2)", &events),
                ("DELETE FROM sessions WHERE host = $1 AND id = ANY($2)", &sessions),
            ] {
                sqlx::query(sql).bind(&self.host).bind(ids).execute(&mut *tx).await.map_err(|e| self.sql_err(e))?;
            }
            tx.commit().await.map_err(|e| self.sql_err(e))?;
        }
        Ok(Pruned { events: events.len() as u64, sessions: sessions.len() as u64, more })
    }

    /// This host's IDs past `keep` (by age with `sql[0]`, then per handler over the count from `sql[1]` with
    /// `sql[2]`), at most `room`; and whether there were more.
    async fn past(
        &self,
        conn: &mut PgConnection,
        keep: Keep,
        now: Timestamp,
        room: i64,
        level: Option<i64>,
        sql: [&str; 3],
    ) -> Result<(Vec<Uuid>, bool), sqlx::Error> {
        let mut ids: Vec<Uuid> = Vec::new();
        // One more than there is room for tells whether the limit cut the list short.
        let want = |ids: &Vec<Uuid>| room + 1 - ids.len() as i64;
        let cutoff = keep.cutoff(now);
        if let Some(cutoff) = cutoff {
            let found: Vec<Uuid> = sqlx::query_scalar(sql[0])
                .bind(&self.host)
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
            let over: Vec<(String, i64)> =
                sqlx::query_as(sql[1]).bind(&self.host).bind(level).bind(max).fetch_all(&mut *conn).await?;
            let from = cutoff.map_or(i64::MIN, Timestamp::as_micros);
            for (handler, total) in over {
                if want(&ids) <= 0 {
                    break;
                }
                let found: Vec<Uuid> = sqlx::query_scalar(sql[2])
                    .bind(&self.host)
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
}
