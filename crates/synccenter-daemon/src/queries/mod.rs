//! Calls answered from the store rather than from the hub's memory. The hub decides *what* to read (a
//! [`Query`], plain data, so its handlers stay testable without a store); the run loop runs it on its own task
//! once everything the hub processed before it is written, so a query reads every change that came before it.

use std::sync::Arc;

use synccenter_core::{CoreError, EventCursor, EventFilter, EventId, EventQuery, SessionQuery, Store};
use synccenter_protocol::ErrorObject;
use synccenter_protocol::fleet::{
    FleetConflictsParams, FleetEventsParams, FleetHandlersParams, FleetSessionsParams, HostInfo,
};
use synccenter_protocol::methods::{self as m, ConflictInfo, HandlerInfo, ItemInfo};
use tokio::sync::mpsc;

use crate::convert::{self, RpcResult};
use crate::fleet::FleetLink;
use crate::inbox::HubMsg;
use crate::outbox::{Reply, json};
use crate::runlog;
use crate::store::DaemonStore;

mod fleet;

/// A read the hub asks for; the handlers fill in what they know from memory.
#[derive(Debug)]
pub(crate) enum Query {
    EventsList(m::EventsFilterParams),
    EventsGet(EventId),
    History(SessionQuery),
    /// Handlers as the hub sees them, their error counts still to read.
    HandlerCounts(Vec<HandlerInfo>),
    /// A handler's items as the hub sees them, their error counts still to read.
    ItemCounts {
        handler: String,
        items: Vec<ItemInfo>,
    },
    EventsRemove(Vec<EventId>),
    EventsClear(EventFilter),
    FleetHosts(HostInfo),
    FleetHandlers(Vec<HandlerInfo>, FleetHandlersParams),
    FleetSessions(FleetSessionsParams),
    FleetEvents(FleetEventsParams),
    FleetConflicts(Vec<ConflictInfo>, FleetConflictsParams),
    LogRead(LogRead),
}

/// A page of a run's log to read (`logs.read`), with what the hub knew.
#[derive(Debug)]
pub(crate) struct LogRead {
    pub(crate) path: std::path::PathBuf,
    /// As the client named it, for messages.
    pub(crate) session: String,
    pub(crate) item: Option<String>,
    pub(crate) offset: u64,
    pub(crate) limit: usize,
    /// The run still goes: its log may grow, or not exist yet.
    pub(crate) running: bool,
}

impl LogRead {
    async fn run(self) -> Reply {
        let LogRead { path, session, item, offset, limit, running } = self;
        let page = tokio::task::spawn_blocking(move || runlog::read(&path, item.as_deref(), offset, limit))
            .await
            .map_err(|e| convert::invalid(format!("cannot read the log: {e}")))?;
        let page = match page {
            Ok(page) => page,
            Err(runlog::ReadError::Missing) if running && offset == 0 => {
                runlog::Page { text: String::new(), next_offset: 0, at_end: true }
            }
            Err(runlog::ReadError::Missing) => {
                return Err(convert::invalid(format!(
                    "session {session} has no log: only the runs of command handlers have one, and old ones are \
                     removed (docs/commands.md, Run logs)"
                )));
            }
            Err(e) => return Err(convert::invalid(e.to_string())),
        };
        let complete = page.at_end && !running;
        Ok(json(m::LogsReadResult { text: page.text, next_offset: page.next_offset, complete }))
    }
}

/// What a query needs besides its parameters.
#[derive(Clone, Debug)]
pub(crate) struct QueryContext {
    pub(crate) store: Arc<DaemonStore>,
    pub(crate) fleet: FleetLink,
    /// For removals, which the live feed announces.
    pub(crate) hub: mpsc::Sender<HubMsg>,
}

impl Query {
    pub(crate) async fn run(self, cx: QueryContext) -> Reply {
        let store = &*cx.store;
        match self {
            Query::EventsList(p) => events_list(store, p).await,
            Query::EventsGet(id) => match store.get_event(id).await.map_err(store_err)? {
                Some(e) => Ok(json(convert::event_info(&e))),
                None => Err(convert::core_error(&CoreError::UnknownEvent(id))),
            },
            Query::History(query) => {
                let sessions = store.list_sessions(&query).await.map_err(store_err)?;
                let sessions = sessions.iter().map(convert::session_record_info).collect();
                Ok(json(m::SessionsHistoryResult { sessions }))
            }
            Query::HandlerCounts(mut handlers) => {
                for h in &mut handlers {
                    h.error_count = error_count(store, &h.handler, None).await?;
                }
                Ok(json(m::HandlerListResult { handlers }))
            }
            Query::ItemCounts { handler, mut items } => {
                for i in &mut items {
                    i.error_count = error_count(store, &handler, Some(&i.item)).await?;
                }
                Ok(json(m::ItemListResult { items }))
            }
            Query::EventsRemove(ids) => events_remove(store, &cx.hub, &ids).await,
            Query::EventsClear(filter) => {
                let removed = store.clear_events(&filter).await.map_err(store_err)?;
                if removed > 0 {
                    let _ = cx.hub.send(HubMsg::EventsRemoved { removed }).await;
                }
                Ok(json(m::RemovedResult { removed }))
            }
            Query::FleetHosts(local) => fleet::hosts(cx.fleet, local).await,
            Query::FleetHandlers(local, p) => fleet::handlers(cx.fleet, cx.store, local, p).await,
            Query::FleetSessions(p) => fleet::sessions(cx.fleet, cx.store, p).await,
            Query::FleetEvents(p) => fleet::events(cx.fleet, cx.store, p).await,
            Query::FleetConflicts(local, p) => fleet::conflicts(cx.fleet, local, p).await,
            Query::LogRead(read) => read.run().await,
        }
    }
}

async fn events_list(store: &DaemonStore, p: m::EventsFilterParams) -> Reply {
    let filter = event_filter(&p)?;
    let limit = p.limit.unwrap_or(synccenter_protocol::DEFAULT_PAGE).clamp(1, synccenter_protocol::MAX_PAGE);
    let after = p.after.as_deref().map(parse_cursor).transpose()?;
    let total = store.count_events(&filter).await.map_err(store_err)?;
    let events = store.list_events(&EventQuery { filter, after, limit: limit + 1 }).await.map_err(store_err)?;
    let more = events.len() > limit as usize;
    let events: Vec<_> = events.into_iter().take(limit as usize).collect();
    let next = if more { events.last().map(|e| format!("{}.{}", e.time.as_micros(), e.id)) } else { None };
    Ok(json(m::EventsListResult { events: events.iter().map(convert::event_info).collect(), next, total }))
}

/// All named events must exist, or none is removed.
async fn events_remove(store: &DaemonStore, hub: &mpsc::Sender<HubMsg>, ids: &[EventId]) -> Reply {
    for e in ids {
        if store.get_event(*e).await.map_err(store_err)?.is_none() {
            return Err(convert::core_error(&CoreError::UnknownEvent(*e)));
        }
    }
    let removed = store.remove_events(ids).await.map_err(store_err)?;
    let _ = hub.send(HubMsg::EventsRemoved { removed }).await;
    Ok(json(m::RemovedResult { removed }))
}

pub(crate) fn event_filter(p: &m::EventsFilterParams) -> RpcResult<EventFilter> {
    let handler = p.handler.as_deref().map(convert::handler_id).transpose()?;
    let item = convert::optional_item(&p.item)?;
    if item.is_some() && handler.is_none() {
        return Err(convert::invalid("item needs a handler"));
    }
    Ok(EventFilter {
        handler,
        item,
        handler_level_only: p.handler_level_only,
        levels: p.levels.iter().flatten().map(|l| convert::level(*l)).collect(),
        session: p.session.as_deref().map(convert::session_id).transpose()?,
        since: convert::time("since", &p.since)?,
        until: convert::time("until", &p.until)?,
    })
}

pub(crate) fn store_err(e: synccenter_core::StoreError) -> ErrorObject {
    convert::core_error(&CoreError::Store(e))
}

/// Cursors are `<micros>.<event id>`: opaque to clients, stable across pages.
pub(crate) fn parse_cursor(s: &str) -> RpcResult<EventCursor> {
    let bad = || convert::invalid(format!("{s:?} is not a cursor from a previous events.list"));
    let (t, id) = s.split_once('.').ok_or_else(bad)?;
    Ok(EventCursor {
        time: synccenter_core::Timestamp::from_micros(t.parse().map_err(|_| bad())?),
        id: convert::event_id(id).map_err(|_| bad())?,
    })
}

pub(crate) async fn error_count<S: Store>(store: &S, handler: &str, item: Option<&str>) -> RpcResult<u64> {
    let filter = EventFilter {
        handler: Some(convert::handler_id(handler)?),
        item: item.map(convert::item_id).transpose()?,
        levels: vec![synccenter_core::EventLevel::Error],
        ..EventFilter::default()
    };
    store.count_events(&filter).await.map_err(store_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_bad_ones_are_refused() {
        let id = "0190f1f0-0000-7000-8000-000000000001";
        let c = parse_cursor(&format!("1700000000000000.{id}")).expect("cursor");
        assert_eq!(c.time.as_micros(), 1_700_000_000_000_000);
        assert_eq!(c.id.to_string(), id);
        for bad in ["", "12", "x.y", &format!("12.{id}x")] {
            assert!(parse_cursor(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_item_filter_needs_a_handler() {
        let p = m::EventsFilterParams { item: Some("i".into()), ..Default::default() };
        assert!(event_filter(&p).is_err());
    }
}
