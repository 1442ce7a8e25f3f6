//! The store the daemon runs on: the embedded SQLite file, or a shared PostgreSQL with its local outage
//! buffer. One enum rather than a trait object because `Store`'s methods return `impl Future`.

use std::sync::Arc;

use synccenter_core::{
    Change, Event, EventFilter, EventId, EventQuery, Pruned, RetentionPolicy, SessionId, SessionQuery, SessionRecord,
    Snapshot, Store, StoreError, Timestamp,
};
use synccenter_store_sqlite::SqliteStore;

use crate::fleet::SharedStore;

/// Where the daemon's records live.
#[derive(Debug)]
pub(crate) enum DaemonStore {
    /// One host, one file.
    Local(SqliteStore),
    /// Many hosts, one database.
    Shared(Arc<SharedStore>),
}

impl DaemonStore {
    /// What `status` shows.
    pub(crate) fn describe(&self) -> String {
        match self {
            DaemonStore::Local(s) => format!("sqlite://{}", s.path().display()),
            DaemonStore::Shared(s) => s.describe(),
        }
    }

    /// Whether the open left the whole-file check of the local file to the background (a clean close before).
    pub(crate) fn needs_whole_file_check(&self) -> bool {
        matches!(self, DaemonStore::Local(s) if s.needs_whole_file_check())
    }

    /// Reads the whole local file for damage; a shared database has nothing to read.
    pub(crate) async fn check_whole_file(&self) -> Result<(), StoreError> {
        match self {
            DaemonStore::Local(s) => s.check_whole_file().await,
            DaemonStore::Shared(_) => Ok(()),
        }
    }

    /// Closes the local file cleanly, so that the next start can skip the whole-file check.
    pub(crate) async fn close(&self) -> Result<(), StoreError> {
        match self {
            DaemonStore::Local(s) => s.close().await,
            DaemonStore::Shared(_) => Ok(()),
        }
    }

    pub(crate) fn shared(&self) -> Option<&Arc<SharedStore>> {
        match self {
            DaemonStore::Local(_) => None,
            DaemonStore::Shared(s) => Some(s),
        }
    }
}

macro_rules! delegate {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            DaemonStore::Local($s) => $call,
            DaemonStore::Shared($s) => $call,
        }
    };
}

impl Store for DaemonStore {
    async fn load(&self) -> Result<Snapshot, StoreError> {
        delegate!(self, s => s.load().await)
    }

    async fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        delegate!(self, s => s.apply(changes).await)
    }

    async fn list_events(&self, query: &EventQuery) -> Result<Vec<Event>, StoreError> {
        delegate!(self, s => s.list_events(query).await)
    }

    async fn count_events(&self, filter: &EventFilter) -> Result<u64, StoreError> {
        delegate!(self, s => s.count_events(filter).await)
    }

    async fn get_event(&self, id: EventId) -> Result<Option<Event>, StoreError> {
        delegate!(self, s => s.get_event(id).await)
    }

    async fn remove_events(&self, ids: &[EventId]) -> Result<u64, StoreError> {
        delegate!(self, s => s.remove_events(ids).await)
    }

    async fn clear_events(&self, filter: &EventFilter) -> Result<u64, StoreError> {
        delegate!(self, s => s.clear_events(filter).await)
    }

    async fn list_sessions(&self, query: &SessionQuery) -> Result<Vec<SessionRecord>, StoreError> {
        delegate!(self, s => s.list_sessions(query).await)
    }

    async fn get_session(&self, id: SessionId) -> Result<Option<SessionRecord>, StoreError> {
        delegate!(self, s => s.get_session(id).await)
    }

    async fn prune(&self, policy: &RetentionPolicy, now: Timestamp, limit: u32) -> Result<Pruned, StoreError> {
        delegate!(self, s => s.prune(policy, now, limit).await)
    }
}
