//! Expiry of requests that waited too long for their host, so a stop typed long ago does not run late.

use std::time::Duration;

use synccenter_core::StoreError;

use crate::PgStore;
use crate::requests::DONE_CHANNEL;

impl PgStore {
    /// Answers this host's requests older than `expiry` (server clock) with `result` instead of running them,
    /// and wakes their askers. Returns how many expired.
    pub async fn expire_requests(&self, expiry: Duration, result: &serde_json::Value) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(|e| self.sql_err(e))?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE requests SET done_at = now(), result = $1::jsonb WHERE target_host = $2 AND done_at IS NULL \
             AND created_at < now() - make_interval(secs => $3) RETURNING id",
        )
        .bind(crate::codec::clean_json(result).to_string())
        .bind(&self.host)
        .bind(expiry.as_secs_f64())
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| self.sql_err(e))?;
        for id in &ids {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(DONE_CHANNEL)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(|e| self.sql_err(e))?;
        }
        tx.commit().await.map_err(|e| self.sql_err(e))?;
        Ok(ids.len() as u64)
    }
}
