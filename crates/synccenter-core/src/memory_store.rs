//! An in-memory `Store`: the reference semantics for backends, and a store for tests and embedders that
//! need no persistence. Everything is lost when it is dropped.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use crate::error::StoreError;
use crate::model::{Conflict, Event, Handler, Item, SessionEnd, SessionItemRecord, SessionRecord};
use crate::retention::{Pruned, RetentionPolicy, plan};
use crate::store::{Change, EventFilter, EventQuery, SessionQuery, Snapshot, Store};
use crate::text::{ConflictId, EventId, HandlerId, SessionId};
use crate::time::Timestamp;

#[derive(Debug, Default)]
struct State {
    handlers: BTreeMap<HandlerId, (Handler, BTreeMap<String, Item>)>,
    conflicts: BTreeMap<ConflictId, Conflict>,
    sessions: BTreeMap<SessionId, SessionRecord>,
    events: BTreeMap<EventId, Event>,
}

/// A `Store` kept in memory behind a mutex.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    /// When set, every call fails as an unavailable store would (fault injection for tests).
    failing: std::sync::atomic::AtomicBool,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every later call fail with `StoreError::Unavailable` (or succeed again).
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, std::sync::atomic::Ordering::SeqCst);
    }

    fn state(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Unavailable("memory store set to fail".into()));
        }
        self.state.lock().map_err(|_| StoreError::Corrupt("memory store mutex poisoned".into()))
    }
}

fn apply_one(s: &mut State, change: &Change) {
    match change {
        Change::HandlerSaved(h) => {
            s.handlers.entry(h.id.clone()).or_insert_with(|| (h.clone(), BTreeMap::new())).0 = h.clone();
        }
        Change::HandlerDeleted(h) => {
            s.handlers.remove(h);
            s.conflicts.retain(|_, c| &c.handler != h);
        }
        Change::ItemSaved(h, item) => {
            if let Some((_, items)) = s.handlers.get_mut(h) {
                items.insert(item.id.as_str().to_owned(), item.clone());
            }
        }
        Change::ItemDeleted(h, item) => {
            if let Some((_, items)) = s.handlers.get_mut(h) {
                items.remove(item.as_str());
            }
        }
        Change::SessionStarted { session, handler, owner, started_at, items } => {
            s.sessions.insert(
                *session,
                SessionRecord {
                    id: *session,
                    handler: handler.clone(),
                    owner: *owner,
                    started_at: *started_at,
                    manual: false,
                    ended: None,
                    items: items
                        .iter()
                        .map(|i| SessionItemRecord { item: i.clone(), progress: Default::default() })
                        .collect(),
                },
            );
        }
        Change::SessionItemAdded { session, item } => {
            if let Some(r) = s.sessions.get_mut(session)
                && !r.items.iter().any(|m| &m.item == item)
            {
                r.items.push(SessionItemRecord { item: item.clone(), progress: Default::default() });
            }
        }
        Change::ItemProgressed { session, item, progress } => {
            if let Some(m) = s.sessions.get_mut(session).and_then(|r| r.items.iter_mut().find(|m| &m.item == item)) {
                m.progress = progress.clone();
            }
        }
        Change::SessionMarkedManual(session) => {
            if let Some(r) = s.sessions.get_mut(session) {
                r.manual = true;
            }
        }
        Change::SessionEnded { session, at, reason, status } => {
            if let Some(r) = s.sessions.get_mut(session) {
                r.ended = Some(SessionEnd { at: *at, reason: *reason, status: *status });
            }
        }
        Change::EventAdded(e) => {
            s.events.insert(e.id, e.clone());
        }
        Change::EventsPurged { handler, before } => {
            s.events.retain(|_, e| !(&e.handler == handler && e.time < *before));
        }
        Change::ConflictSaved(c) => {
            s.conflicts.insert(c.id, c.clone());
        }
        Change::ConflictRemoved(id) => {
            s.conflicts.remove(id);
        }
    }
}

fn sorted_matching<'a>(s: &'a State, filter: &EventFilter) -> Vec<&'a Event> {
    let mut v: Vec<&Event> = s.events.values().filter(|e| filter.matches(e)).collect();
    v.sort_by_key(|e| std::cmp::Reverse((e.time, e.id)));
    v
}

impl Store for MemoryStore {
    async fn load(&self) -> Result<Snapshot, StoreError> {
        let s = self.state()?;
        Ok(Snapshot {
            handlers: s.handlers.values().map(|(h, items)| (h.clone(), items.values().cloned().collect())).collect(),
            conflicts: s.conflicts.values().cloned().collect(),
            live_sessions: s.sessions.values().filter(|r| r.ended.is_none()).cloned().collect(),
        })
    }

    async fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        let mut s = self.state()?;
        for c in changes {
            apply_one(&mut s, c);
        }
        Ok(())
    }

    async fn list_events(&self, query: &EventQuery) -> Result<Vec<Event>, StoreError> {
        let s = self.state()?;
        Ok(sorted_matching(&s, &query.filter)
            .into_iter()
            .filter(|e| query.after.is_none_or(|c| c.precedes(e)))
            .take(query.limit as usize)
            .cloned()
            .collect())
    }

    async fn count_events(&self, filter: &EventFilter) -> Result<u64, StoreError> {
        Ok(self.state()?.events.values().filter(|e| filter.matches(e)).count() as u64)
    }

    async fn get_event(&self, id: EventId) -> Result<Option<Event>, StoreError> {
        Ok(self.state()?.events.get(&id).cloned())
    }

    async fn remove_events(&self, ids: &[EventId]) -> Result<u64, StoreError> {
        let mut s = self.state()?;
        Ok(ids.iter().filter(|id| s.events.remove(id).is_some()).count() as u64)
    }

    async fn clear_events(&self, filter: &EventFilter) -> Result<u64, StoreError> {
        let mut s = self.state()?;
        let before = s.events.len();
        s.events.retain(|_, e| !filter.matches(e));
        Ok((before - s.events.len()) as u64)
    }

    async fn list_sessions(&self, query: &SessionQuery) -> Result<Vec<SessionRecord>, StoreError> {
        let s = self.state()?;
        let mut v: Vec<&SessionRecord> = s
            .sessions
            .values()
            .filter(|r| query.handler.as_ref().is_none_or(|h| &r.handler == h))
            .filter(|r| query.started_before.is_none_or(|t| r.started_at < t))
            .collect();
        v.sort_by_key(|r| std::cmp::Reverse((r.started_at, r.id)));
        Ok(v.into_iter().take(query.limit as usize).cloned().collect())
    }

    async fn get_session(&self, id: SessionId) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.state()?.sessions.get(&id).cloned())
    }

    async fn prune(&self, policy: &RetentionPolicy, now: Timestamp, limit: u32) -> Result<Pruned, StoreError> {
        let mut s = self.state()?;
        let (events, sessions, more) = plan(policy, now, s.events.values(), s.sessions.values(), limit as usize);
        for id in &events {
            s.events.remove(id);
        }
        for id in &sessions {
            s.sessions.remove(id);
        }
        Ok(Pruned { events: events.len() as u64, sessions: sessions.len() as u64, more })
    }
}
