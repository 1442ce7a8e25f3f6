//! Remote control across the fleet: a call that one host's daemon asks another host's daemon to carry out
//! (a stop issued on host A for a session that host B runs), queued in the `requests` table.
//!
//! The asker inserts the request and `NOTIFY`s [`REQUESTS_CHANNEL`] with the target host as payload, in one
//! transaction, so the notification goes out only once the request is visible. The target reads its
//! [`pending_requests`](PgStore::pending_requests), acts, and [`complete_request`](PgStore::complete_request)
//! stores the result and notifies [`DONE_CHANNEL`] with the request ID; the asker reads it with
//! [`request_result`](PgStore::request_result).
//!
//! PostgreSQL notifications are best-effort wake-ups, not a queue: a listener whose connection drops misses
//! those sent until it reconnects. The table is the truth, so callers also poll it now and then.

use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use synccenter_core::StoreError;

use crate::codec::clean_json;
use crate::errors::{ACQUIRE_TIMEOUT, from_sqlx};
use crate::{PgStore, validate_host_name};

/// The channel notified when a request is queued; the payload is the target host.
pub const REQUESTS_CHANNEL: &str = "synccenter_requests";

/// The channel notified when a request is completed; the payload is the request ID.
pub const DONE_CHANNEL: &str = "synccenter_done";

/// A request queued for this host.
#[derive(Clone, Debug, PartialEq)]
pub struct RemoteRequest {
    /// Its ID, for [`PgStore::complete_request`].
    pub id: i64,
    /// The host that asked.
    pub from_host: String,
    /// What to do (a protocol method name, by the daemon's convention).
    pub method: String,
    /// Its parameters.
    pub params: serde_json::Value,
}

#[derive(Debug, sqlx::FromRow)]
struct RequestRow {
    id: i64,
    from_host: String,
    method: String,
    params: String,
}

impl PgStore {
    /// Queues a request for the host `target` and wakes it; returns the request's ID.
    pub async fn enqueue_request(
        &self,
        target: &str,
        method: &str,
        params: &serde_json::Value,
    ) -> Result<i64, StoreError> {
        validate_host_name(target).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let params = serde_json::to_string(&clean_json(params))
            .map_err(|e| StoreError::Unavailable(format!("cannot encode the request's parameters: {e}")))?;
        let mut tx = self.pool.begin().await.map_err(|e| self.sql_err(e))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO requests (target_host, from_host, method, params) VALUES ($1, $2, $3, $4::jsonb) \
             RETURNING id",
        )
        .bind(target)
        .bind(&self.host)
        .bind(crate::codec::clean(method))
        .bind(params)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| self.sql_err(e))?;
        // Delivered when the transaction commits, never before the row is visible.
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(REQUESTS_CHANNEL)
            .bind(target)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.sql_err(e))?;
        tx.commit().await.map_err(|e| self.sql_err(e))?;
        Ok(id)
    }

    /// This host's requests not completed yet, oldest first.
    pub async fn pending_requests(&self) -> Result<Vec<RemoteRequest>, StoreError> {
        let rows = sqlx::query_as::<_, RequestRow>(
            "SELECT id, from_host, method, params::text AS params FROM requests \
             WHERE target_host = $1 AND done_at IS NULL ORDER BY id",
        )
        .bind(&self.host)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.sql_err(e))?;
        rows.into_iter()
            .map(|r| {
                let params = serde_json::from_str(&r.params).map_err(|e| {
                    crate::errors::bad_value(&self.display_url, "request parameters document", &e.to_string())
                })?;
                Ok(RemoteRequest { id: r.id, from_host: r.from_host, method: r.method, params })
            })
            .collect()
    }

    /// Completes this host's request `id` with `result` and wakes the asker. Returns false when there was
    /// nothing to complete (an unknown ID, another host's request, or one completed already: the first
    /// result stays).
    pub async fn complete_request(&self, id: i64, result: &serde_json::Value) -> Result<bool, StoreError> {
        let result = serde_json::to_string(&clean_json(result))
            .map_err(|e| StoreError::Unavailable(format!("cannot encode the request's result: {e}")))?;
        let mut tx = self.pool.begin().await.map_err(|e| self.sql_err(e))?;
        let done = sqlx::query(
            "UPDATE requests SET done_at = now(), result = $1::jsonb \
             WHERE id = $2 AND target_host = $3 AND done_at IS NULL",
        )
        .bind(result)
        .bind(id)
        .bind(&self.host)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.sql_err(e))?
        .rows_affected()
            == 1;
        if done {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(DONE_CHANNEL)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(|e| self.sql_err(e))?;
        }
        tx.commit().await.map_err(|e| self.sql_err(e))?;
        Ok(done)
    }

    /// The result of request `id`, or `None` while it is pending (or unknown).
    pub async fn request_result(&self, id: i64) -> Result<Option<serde_json::Value>, StoreError> {
        let text: Option<Option<String>> =
            sqlx::query_scalar("SELECT result::text FROM requests WHERE id = $1 AND done_at IS NOT NULL")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| self.sql_err(e))?;
        text.flatten()
            .map(|t| {
                serde_json::from_str(&t)
                    .map_err(|e| crate::errors::bad_value(&self.display_url, "request result document", &e.to_string()))
            })
            .transpose()
    }

    /// Listens on [`REQUESTS_CHANNEL`] and [`DONE_CHANNEL`] on a connection of its own (made with this
    /// store's options).
    ///
    /// If that connection is lost, the listener connects again and listens again by itself, but
    /// notifications sent while it was away are lost: callers also poll
    /// ([`pending_requests`](Self::pending_requests), [`request_result`](Self::request_result)), and
    /// [`Notifications::recv_or_reconnect`] says when a reconnection happened.
    pub async fn listen(&self) -> Result<Notifications, StoreError> {
        // A pool of its own: the listener keeps its connection for as long as it lives, which must not
        // starve the store's pool.
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_lazy_with((*self.pool.connect_options()).clone());
        let mut notifications = Notifications { listener: None, pool, server: self.display_url.clone() };
        notifications.connect().await?;
        Ok(notifications)
    }
}

/// One notification: its channel ([`REQUESTS_CHANNEL`] or [`DONE_CHANNEL`]) and payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// The channel.
    pub channel: String,
    /// The payload: the target host for a request, the request ID for a completion.
    pub payload: String,
}

/// The notifications of the fleet's request channels; see [`PgStore::listen`].
#[derive(Debug)]
pub struct Notifications {
    /// `None` after a failure, until the next receive connects again.
    listener: Option<PgListener>,
    pool: PgPool,
    server: String,
}

impl Notifications {
    /// Waits for the next notification. A lost connection is re-established transparently (notifications
    /// sent meanwhile are lost). An error means the server could not be reached again within a few seconds;
    /// calling again retries.
    pub async fn recv(&mut self) -> Result<Notification, StoreError> {
        loop {
            if let Some(n) = self.recv_or_reconnect().await? {
                return Ok(n);
            }
        }
    }

    /// Like [`recv`](Self::recv), but returns `Ok(None)` right after the connection was re-established, so
    /// the caller knows to poll for what it may have missed.
    pub async fn recv_or_reconnect(&mut self) -> Result<Option<Notification>, StoreError> {
        let Some(listener) = self.listener.as_mut() else {
            self.connect().await?;
            return Ok(None);
        };
        match listener.try_recv().await {
            Ok(Some(n)) => Ok(Some(Notification { channel: n.channel().to_owned(), payload: n.payload().to_owned() })),
            // sqlx noticed the connection was gone and has connected and listened again.
            Ok(None) => Ok(None),
            Err(_) => {
                // Whatever broke (the server's "terminating connection" message, a reset, a protocol
                // error), a new connection is the way out; sqlx itself only recovers from some I/O errors.
                self.listener = None;
                self.connect().await?;
                Ok(None)
            }
        }
    }

    async fn connect(&mut self) -> Result<(), StoreError> {
        self.listener = None;
        let mut listener = PgListener::connect_with(&self.pool).await.map_err(|e| from_sqlx(&self.server, e))?;
        listener.listen_all([REQUESTS_CHANNEL, DONE_CHANNEL]).await.map_err(|e| from_sqlx(&self.server, e))?;
        self.listener = Some(listener);
        Ok(())
    }
}
