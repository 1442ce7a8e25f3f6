//! What syncs left behind: live sessions and their history, Sync Results (events) and conflicts
//! (`sessions.*`, `events.*`, `conflicts.*`). History and events are read from the store; conflicts live in
//! the model.

use std::collections::BTreeSet;

use synccenter_core::SessionQuery;
use synccenter_protocol::api;
use synccenter_protocol::methods::{self as m, UpdateKind};

use super::Hub;
use super::dispatch::{Answer, Handle, Handled, done};
use crate::convert::{self, RpcResult, refused};
use crate::outbox::ConnId;
use crate::queries::{Query, event_filter};

impl Handle<api::SessionsList> for Hub {
    fn handle(&mut self, _: ConnId, _: m::Empty) -> Handled<m::SessionsListResult> {
        done(m::SessionsListResult { sessions: self.center.sessions().iter().map(convert::session_info).collect() })
    }
}

impl Handle<api::SessionsHistory> for Hub {
    fn handle(&mut self, _: ConnId, p: m::SessionsHistoryParams) -> Handled<m::SessionsHistoryResult> {
        let query = SessionQuery {
            handler: p.handler.as_deref().map(convert::handler_id).transpose()?,
            started_before: convert::time("before", &p.before)?,
            limit: p.limit.unwrap_or(synccenter_protocol::DEFAULT_PAGE).clamp(1, synccenter_protocol::MAX_PAGE),
        };
        Ok(Answer::FromStore(Box::new(Query::History(query))))
    }
}

impl Handle<api::EventsList> for Hub {
    fn handle(&mut self, _: ConnId, p: m::EventsFilterParams) -> Handled<m::EventsListResult> {
        Ok(Answer::FromStore(Box::new(Query::EventsList(p))))
    }
}

impl Handle<api::EventsGet> for Hub {
    fn handle(&mut self, _: ConnId, p: m::EventParams) -> Handled<m::EventInfo> {
        Ok(Answer::FromStore(Box::new(Query::EventsGet(convert::event_id(&p.event)?))))
    }
}

impl Handle<api::EventsRemove> for Hub {
    fn handle(&mut self, _: ConnId, p: m::EventsRemoveParams) -> Handled<m::RemovedResult> {
        let ids = p.events.iter().map(|e| convert::event_id(e)).collect::<RpcResult<Vec<_>>>()?;
        Ok(Answer::FromStore(Box::new(Query::EventsRemove(ids))))
    }
}

impl Handle<api::EventsClear> for Hub {
    fn handle(&mut self, _: ConnId, p: m::EventsFilterParams) -> Handled<m::RemovedResult> {
        Ok(Answer::FromStore(Box::new(Query::EventsClear(event_filter(&p)?))))
    }
}

impl Handle<api::ConflictsList> for Hub {
    fn handle(&mut self, _: ConnId, p: m::ConflictsListParams) -> Handled<m::ConflictsListResult> {
        let handler = p.handler.as_deref().map(convert::handler_id).transpose()?;
        let item = convert::optional_item(&p.item)?;
        if item.is_some() && handler.is_none() {
            return Err(convert::invalid("item needs a handler"));
        }
        let conflicts = self.center.conflicts(handler.as_ref(), item.as_ref());
        done(m::ConflictsListResult { conflicts: conflicts.into_iter().map(convert::conflict_info).collect() })
    }
}

impl Handle<api::ConflictsGet> for Hub {
    fn handle(&mut self, _: ConnId, p: m::ConflictParams) -> Handled<m::ConflictInfo> {
        let c = self.center.conflict(convert::conflict_id(&p.conflict)?).map_err(refused)?;
        done(convert::conflict_info(c))
    }
}

impl Handle<api::ConflictsResolve> for Hub {
    fn handle(&mut self, _: ConnId, p: m::ResolveParams) -> Handled<m::ResolveResult> {
        let id = convert::conflict_id(&p.conflict)?;
        let choice = convert::choice(&p.choice);
        let out = self.center.resolve_conflict(id, choice, p.apply_to_all).map_err(refused)?;
        done(m::ResolveResult {
            recorded: out.recorded.iter().map(ToString::to_string).collect(),
            needs_attention: out.needs_attention.iter().map(ToString::to_string).collect(),
        })
    }
}

impl Handle<api::ConflictsRemove> for Hub {
    fn handle(&mut self, _: ConnId, p: m::ConflictsRemoveParams) -> Handled<m::Empty> {
        let ids = p.conflicts.iter().map(|c| convert::conflict_id(c)).collect::<RpcResult<Vec<_>>>()?;
        let handlers: BTreeSet<String> =
            ids.iter().filter_map(|id| self.center.conflict(*id).ok().map(|c| c.handler.to_string())).collect();
        self.center.remove_conflicts(&ids).map_err(refused)?;
        for handler in handlers {
            self.update(UpdateKind::ConflictsChanged { handler });
        }
        done(m::Empty {})
    }
}
