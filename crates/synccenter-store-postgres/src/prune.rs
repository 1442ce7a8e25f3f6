//! Retention in PostgreSQL: one small batch of this host's records past the policy per call.
//!
//! The IDs are chosen first (index range scans with a `LIMIT`; per-handler totals by a grouped count), then
//! deleted by primary key in one short transaction, so other hosts' writes and this host's `apply` never wait
//! behind a long delete. Freed row space is reused by new rows after PostgreSQL's autovacuum; it is not handed
//! back to the file system (that needs `VACUUM FULL`, which locks the tables: an operator's decision,
//! docs/reliability.md).

use sqlx::PgConnection;
use synccenter_core::{Pruned, RetentionPolicy, StoreError, Timestamp};
use synccenter_store_rows::prune::{Candidates, Chosen, Excess, Kind, choose};
use uuid::Uuid;

use crate::PgStore;

/// Events of level $2 (the host is $1): older than $3, oldest first, at most $4; the handlers with more than $3,
/// with their totals; of handler $5's oldest $6 (its excess), those not older than $3, at most $4.
const EVENTS: [&str; 3] = [
    "SELECT id FROM events WHERE host = $1 AND level = $2 AND time < $3 ORDER BY time, id LIMIT $4",
    "SELECT handler_id, count(*) FROM events WHERE host = $1 AND level = $2 GROUP BY handler_id HAVING count(*) > $3",
    "SELECT id FROM (SELECT id, time FROM events WHERE host = $1 AND handler_id = $5 AND level = $2 \
     ORDER BY time, id LIMIT $6) t WHERE time >= $3 LIMIT $4",
];
/// The same for ended sessions (by start; $2 is NULL).
const SESSIONS: [&str; 3] = [
    "SELECT id FROM sessions WHERE host = $1 AND $2::BIGINT IS NULL AND ended_at IS NOT NULL AND started_at < $3 \
     ORDER BY started_at, id LIMIT $4",
    "SELECT handler_id, count(*) FROM sessions WHERE host = $1 AND $2::BIGINT IS NULL AND ended_at IS NOT NULL \
     GROUP BY handler_id HAVING count(*) > $3",
    "SELECT id FROM (SELECT id, started_at FROM sessions WHERE host = $1 AND $2::BIGINT IS NULL AND handler_id = $5 \
     AND ended_at IS NOT NULL ORDER BY started_at, id LIMIT $6) t WHERE started_at >= $3 LIMIT $4",
];

impl PgStore {
    /// [`synccenter_core::Store::prune`] for PostgreSQL.
    pub(crate) async fn prune_batch(
        &self,
        policy: &RetentionPolicy,
        now: Timestamp,
        limit: u32,
    ) -> Result<Pruned, StoreError> {
        let Chosen { events, sessions, more } = {
            let mut conn = self.read_tx().await?;
            let mut queries = Queries { conn: &mut conn, host: &self.host };
            let chosen =
                choose(&mut queries, [EVENTS, SESSIONS], policy, now, limit).await.map_err(|e| self.sql_err(e))?;
            conn.commit().await.map_err(|e| self.sql_err(e))?;
            chosen
        };
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
}

/// This host's records (`host` is `$1`, the kind's level `$2`).
struct Queries<'c> {
    conn: &'c mut PgConnection,
    host: &'c str,
}

impl Candidates for Queries<'_> {
    type Id = Uuid;
    type Error = sqlx::Error;

    async fn older(&mut self, kind: Kind, cutoff: i64, limit: i64) -> Result<Vec<Uuid>, sqlx::Error> {
        let query = sqlx::query_scalar(kind.sql[0]).bind(self.host).bind(kind.level).bind(cutoff).bind(limit);
        query.fetch_all(&mut *self.conn).await
    }

    async fn over(&mut self, kind: Kind, max: i64) -> Result<Vec<(String, i64)>, sqlx::Error> {
        sqlx::query_as(kind.sql[1]).bind(self.host).bind(kind.level).bind(max).fetch_all(&mut *self.conn).await
    }

    async fn oldest(&mut self, kind: Kind, of: Excess) -> Result<Vec<Uuid>, sqlx::Error> {
        let query = sqlx::query_scalar(kind.sql[2])
            .bind(self.host)
            .bind(kind.level)
            .bind(of.from)
            .bind(of.limit)
            .bind(of.handler);
        query.bind(of.excess).fetch_all(&mut *self.conn).await
    }
}
