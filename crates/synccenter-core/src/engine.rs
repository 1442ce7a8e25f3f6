//! `SyncCenter`: a [`Center`] bound to a [`Store`], for programs that embed Sync Center in-process.
//!
//! Every operation runs against the model and then writes the changes it produced before returning, so what
//! a call acknowledged is in the store. If the store fails, the changes stay queued and are written first on
//! the next call; the caller gets `E_FAIL`. Event queries go to the store (events are not kept in memory).

use crate::center::{Center, CenterConfig};
use crate::enums::EventLevel;
use crate::error::CoreError;
use crate::model::{Event, SessionRecord};
use crate::notice::NoticeSink;
use crate::store::{Change, EventFilter, EventQuery, SessionQuery, Store};
use crate::text::{EventId, HandlerId, ItemId, SessionId};
use crate::time::{Clock, IdSource};

/// Sync Center with persistence. See the module documentation.
#[derive(Debug)]
pub struct SyncCenter<S> {
    center: Center,
    store: S,
    unwritten: Vec<Change>,
}

impl<S: Store> SyncCenter<S> {
    /// Loads the store, ends the sessions that were live when it was last written (lost owner, reason
    /// `Restarted`, one warning event each), and writes that outcome before returning.
    pub async fn open(
        store: S,
        config: CenterConfig,
        clock: Box<dyn Clock>,
        ids: Box<dyn IdSource>,
        sink: Box<dyn NoticeSink>,
    ) -> Result<Self, CoreError> {
        let snapshot = store.load().await?;
        let center = Center::restore(snapshot, config, clock, ids, sink);
        let mut sc = Self { center, store, unwritten: Vec::new() };
        sc.flush().await?;
        Ok(sc)
    }

    /// Runs one operation on the model, then writes what it changed.
    pub async fn apply<T>(&mut self, op: impl FnOnce(&mut Center) -> Result<T, CoreError>) -> Result<T, CoreError> {
        let out = op(&mut self.center);
        self.flush().await?;
        out
    }

    /// Writes changes not yet written.
    pub async fn flush(&mut self) -> Result<(), CoreError> {
        self.unwritten.extend(self.center.take_changes());
        if self.unwritten.is_empty() {
            return Ok(());
        }
        self.store.apply(&self.unwritten).await?;
        self.unwritten.clear();
        Ok(())
    }

    /// The model, for reading.
    pub fn center(&self) -> &Center {
        &self.center
    }

    /// The store, for reading.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Gives the store back (for example to reopen it in a test).
    pub fn into_store(self) -> S {
        self.store
    }

    /// A page of Sync Results, newest first.
    pub async fn events(&self, query: &EventQuery) -> Result<Vec<Event>, CoreError> {
        Ok(self.store.list_events(query).await?)
    }

    /// How many events match.
    pub async fn count_events(&self, filter: &EventFilter) -> Result<u64, CoreError> {
        Ok(self.store.count_events(filter).await?)
    }

    /// One event; unknown is `E_INVALIDARG`.
    pub async fn event(&self, id: EventId) -> Result<Event, CoreError> {
        self.store.get_event(id).await?.ok_or(CoreError::UnknownEvent(id))
    }

    /// The error count of a handler (its own and its items' ERROR events) or of one item (§5.30).
    pub async fn error_count(&self, handler: &HandlerId, item: Option<&ItemId>) -> Result<u64, CoreError> {
        self.center.handler(handler)?;
        let filter = EventFilter {
            handler: Some(handler.clone()),
            item: item.cloned(),
            levels: vec![EventLevel::Error],
            ..EventFilter::default()
        };
        Ok(self.store.count_events(&filter).await?)
    }

    /// `RemoveEvent`: all IDs must exist, otherwise nothing is removed.
    pub async fn remove_events(&mut self, ids: &[EventId]) -> Result<u64, CoreError> {
        self.flush().await?;
        for id in ids {
            if self.store.get_event(*id).await?.is_none() {
                return Err(CoreError::UnknownEvent(*id));
            }
        }
        Ok(self.store.remove_events(ids).await?)
    }

    /// Removes every matching event; returns how many.
    pub async fn clear_events(&mut self, filter: &EventFilter) -> Result<u64, CoreError> {
        self.flush().await?;
        Ok(self.store.clear_events(filter).await?)
    }

    /// A page of session history, newest first.
    pub async fn session_history(&self, query: &SessionQuery) -> Result<Vec<SessionRecord>, CoreError> {
        Ok(self.store.list_sessions(query).await?)
    }

    /// One session's record, live or ended.
    pub async fn session_record(&self, id: SessionId) -> Result<SessionRecord, CoreError> {
        self.store.get_session(id).await?.ok_or(CoreError::UnknownSession(id))
    }
}
