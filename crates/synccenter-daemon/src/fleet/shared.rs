//! The shared store: PostgreSQL for every host, with the local outage buffer in front of it.
//!
//! While the database answers, a batch goes straight to it. When a write or a heartbeat finds the database
//! unreachable, that batch and every later one (in order) go to the buffer on local disk and are acknowledged
//! from there, without trying the database first; the liveness loop replays the buffer when it is back. Reads go to the
//! database and fail while it is away; the daemon's live state is in memory and keeps serving.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use synccenter_core::{
    Change, Clock, Event, EventFilter, EventId, EventQuery, Pruned, RetentionPolicy, SessionId, SessionQuery,
    SessionRecord, Snapshot, Store, StoreError, Timestamp,
};
use synccenter_protocol::methods::DegradedInfo;
use synccenter_store_postgres::PgStore;

use super::buffer::OutageBuffer;
use crate::convert;

/// An outage as the daemon saw it begin.
#[derive(Clone, Debug)]
struct Outage {
    reason: String,
    since: Timestamp,
}

/// PostgreSQL plus the buffer.
pub(crate) struct SharedStore {
    pg: PgStore,
    buffer: tokio::sync::Mutex<OutageBuffer>,
    outage: Mutex<Option<Outage>>,
    /// The buffer's size, readable without waiting for a write in progress.
    buffered_batches: AtomicU64,
    buffered_bytes: AtomicU64,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedStore").field("pg", &self.pg).field("outage", &self.outage).finish_non_exhaustive()
    }
}

impl SharedStore {
    pub(crate) fn new(pg: PgStore, buffer: OutageBuffer, clock: Arc<dyn Clock>) -> Self {
        let store = Self {
            pg,
            buffered_batches: AtomicU64::new(buffer.batches()),
            buffered_bytes: AtomicU64::new(buffer.bytes()),
            buffer: tokio::sync::Mutex::new(buffer),
            outage: Mutex::new(None),
            clock,
        };
        if store.buffered_batches.load(Ordering::Relaxed) > 0 {
            store.begin_outage("changes buffered by an earlier run wait to be written".into());
        }
        store
    }

    fn count(&self, buffer: &OutageBuffer) {
        self.buffered_batches.store(buffer.batches(), Ordering::Relaxed);
        self.buffered_bytes.store(buffer.bytes(), Ordering::Relaxed);
    }

    pub(crate) fn pg(&self) -> &PgStore {
        &self.pg
    }

    pub(crate) fn host(&self) -> &str {
        self.pg.host()
    }

    pub(crate) fn describe(&self) -> String {
        self.pg.display_url().to_owned()
    }

    /// The outage for `status`, if one is going on.
    pub(crate) fn degraded(&self) -> Option<DegradedInfo> {
        let outage = self.outage.lock().unwrap_or_else(|p| p.into_inner()).clone()?;
        Some(DegradedInfo {
            reason: outage.reason,
            since: convert::ts(outage.since),
            buffered_batches: self.buffered_batches.load(Ordering::Relaxed),
            buffered_bytes: self.buffered_bytes.load(Ordering::Relaxed),
        })
    }

    fn in_outage(&self) -> bool {
        self.outage.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    fn begin_outage(&self, reason: String) {
        let mut outage = self.outage.lock().unwrap_or_else(|p| p.into_inner());
        if outage.is_none() {
            tracing::warn!(%reason, "the shared database is unreachable; buffering durable changes on local disk");
            *outage = Some(Outage { reason, since: self.clock.now() });
        }
    }

    /// A heartbeat failed: the database is unreachable for this host, whether or not it has changes to buffer.
    pub(crate) fn unreachable(&self, reason: String) {
        self.begin_outage(reason);
    }

    /// A heartbeat was written: the outage is over once the buffer is empty too.
    pub(crate) fn connected(&self) {
        if self.buffered_batches.load(Ordering::Relaxed) > 0 {
            return;
        }
        if let Some(o) = self.outage.lock().unwrap_or_else(|p| p.into_inner()).take() {
            tracing::info!(since = %convert::ts(o.since), "the shared database is back");
        }
    }

    /// Writes the buffer to the database, oldest batch first, then drops what was written. Returns how many
    /// batches were written. The buffer stays locked only to read and to trim it, never while waiting for the
    /// database, so writes keep landing in it meanwhile; an error leaves it whole (a later replay applies the
    /// written batches again, harmlessly).
    pub(crate) async fn replay(&self) -> Result<u64, StoreError> {
        let batches = {
            let mut buffer = self.buffer.lock().await;
            if buffer.is_empty() {
                return Ok(0);
            }
            buffer.read_all().map_err(|e| StoreError::Unavailable(e.to_string()))?
        };
        for batch in &batches {
            if let Err(e) = self.pg.apply(batch).await {
                if matches!(e, StoreError::Unavailable(_)) {
                    self.begin_outage(e.to_string());
                }
                return Err(e);
            }
        }
        let mut buffer = self.buffer.lock().await;
        buffer.drop_first(batches.len()).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        self.count(&buffer);
        if buffer.is_empty() {
            tracing::info!(batches = batches.len(), "the local buffer was written to the shared database");
        }
        Ok(batches.len() as u64)
    }
}

impl Store for SharedStore {
    async fn load(&self) -> Result<Snapshot, StoreError> {
        // A buffer left by an earlier run holds acknowledged changes: they belong in the snapshot.
        self.replay().await?;
        self.pg.load().await
    }

    /// Straight to the database only while it is known to answer: during a known outage (a heartbeat or a
    /// write failed) the batch goes to the buffer at once, so a caller waits for the local disk, not for a
    /// connection attempt to run out its time; the next beat that reaches the database replays it.
    async fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        let mut buffer = self.buffer.lock().await;
        if buffer.is_empty() && !self.in_outage() {
            match self.pg.apply(changes).await {
                Ok(()) => return Ok(()),
                Err(StoreError::Unavailable(reason)) => self.begin_outage(reason),
                Err(e) => return Err(e),
            }
        }
        let appended = buffer.append(changes).map_err(|e| StoreError::Unavailable(e.to_string()));
        self.count(&buffer);
        appended
    }

    async fn list_events(&self, query: &EventQuery) -> Result<Vec<Event>, StoreError> {
        self.pg.list_events(query).await
    }

    async fn count_events(&self, filter: &EventFilter) -> Result<u64, StoreError> {
        self.pg.count_events(filter).await
    }

    async fn get_event(&self, id: EventId) -> Result<Option<Event>, StoreError> {
        self.pg.get_event(id).await
    }

    async fn remove_events(&self, ids: &[EventId]) -> Result<u64, StoreError> {
        self.pg.remove_events(ids).await
    }

    async fn clear_events(&self, filter: &EventFilter) -> Result<u64, StoreError> {
        self.pg.clear_events(filter).await
    }

    async fn list_sessions(&self, query: &SessionQuery) -> Result<Vec<SessionRecord>, StoreError> {
        self.pg.list_sessions(query).await
    }

    async fn get_session(&self, id: SessionId) -> Result<Option<SessionRecord>, StoreError> {
        self.pg.get_session(id).await
    }

    /// Straight to PostgreSQL: while it is away there is nothing to prune, and the buffer holds only
    /// acknowledged changes waiting for it.
    async fn prune(&self, policy: &RetentionPolicy, now: Timestamp, limit: u32) -> Result<Pruned, StoreError> {
        self.pg.prune(policy, now, limit).await
    }
}

// Unix only: the suite's PostgreSQL is the Linux machine's; the Windows build under Wine does not reach it.
#[cfg(all(test, unix))]
mod tests {
    use synccenter_core::{HandlerId, ManualClock, SessionId};
    use synccenter_test_support::postgres::suite_url;
    use synccenter_test_support::require;

    use super::*;

    fn batch(n: u128) -> Vec<Change> {
        vec![Change::EventsPurged { handler: HandlerId::new("h").unwrap(), before: Timestamp::from_micros(n as i64) }]
    }

    #[tokio::test]
    async fn a_known_outage_sends_writes_to_the_buffer_without_trying_the_database() {
        let Some(url) = require("the suite's PostgreSQL server", suite_url()) else { return };
        let pg = PgStore::connect(&url, "shared-known-outage").await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let buffer = OutageBuffer::open(dir.path(), 1 << 20).unwrap();
        let store = SharedStore::new(pg, buffer, Arc::new(ManualClock::new(Timestamp::from_micros(0))));

        store.apply(&batch(1)).await.unwrap();
        assert_eq!(store.buffered_batches.load(Ordering::Relaxed), 0, "a reachable database takes it directly");

        // The database answers, but a heartbeat said it did not: the write does not try it.
        store.unreachable("a heartbeat failed".into());
        store.apply(&batch(2)).await.unwrap();
        store.apply(&[Change::SessionMarkedManual(SessionId(uuid_v4::Uuid::from_u128(3)))]).await.unwrap();
        assert_eq!(store.buffered_batches.load(Ordering::Relaxed), 2);
        store.connected();
        assert!(store.degraded().is_some(), "the outage lasts while the buffer holds batches");

        assert_eq!(store.replay().await.unwrap(), 2);
        store.connected();
        assert!(store.degraded().is_none());
        store.apply(&batch(4)).await.unwrap();
        assert_eq!(store.buffered_batches.load(Ordering::Relaxed), 0);
    }
}
