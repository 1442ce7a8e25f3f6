//! Start requests (§1.4, §5.13, §5.19–5.21, §5.31): validation, the per-handler queue behind a live session,
//! dispatch to the handler, hand-off to the sessions that serve them, and the result delivered once.
//!
//! A request holds items still `pending` (waiting for a session), items being `serving` (a live session has
//! them), and `outcomes` (the final status each reached). It finishes when nothing is pending or serving.

use super::{Center, LiveSession, RequestState, StartRequest};
use crate::enums::{EventLevel, HandlerPolicies, ItemPolicies, ProgressStatus, SyncControlFlags, ValueError};
use crate::error::{Action, CoreError, NotReadyReason, Target};
use crate::model::{Context, Event, SyncResult};
use crate::notice::Notice;
use crate::store::Change;
use crate::text::{EventId, HandlerId, ItemId, MAX_EVENT_DESCRIPTION_UNITS, RequestId, SessionId, truncate_marked};
use crate::time::Timestamp;

const HANDLER_START_FORBIDDEN: HandlerPolicies =
    HandlerPolicies::PREVENT_START_SYNC.union(HandlerPolicies::DISABLE_START_SYNC);
const ITEM_START_FORBIDDEN: ItemPolicies = ItemPolicies::PREVENT_START_SYNC.union(ItemPolicies::DISABLE_START_SYNC);

impl Center {
    /// `StartHandlerSync`: every synchronizable item of the handler.
    pub fn start_handler(
        &mut self,
        handler: &HandlerId,
        flags: SyncControlFlags,
        context: Option<Context>,
    ) -> Result<RequestId, CoreError> {
        let items = self.startable_handler_items(handler)?;
        Ok(self.enqueue(handler, items, flags, context))
    }

    /// `StartItemSync`: the named items; disabled or disconnected ones are dropped, and the call fails with
    /// `ERROR_NOT_READY` only if none is left (§5.21).
    pub fn start_items(
        &mut self,
        handler: &HandlerId,
        items: &[ItemId],
        flags: SyncControlFlags,
        context: Option<Context>,
    ) -> Result<RequestId, CoreError> {
        self.check_handler_startable(handler)?;
        if items.is_empty() {
            return Err(CoreError::NoItems);
        }
        let mut chosen = Vec::new();
        for id in items {
            let item = self.item_ref(handler, id)?;
            if item.policies.intersects(ITEM_START_FORBIDDEN) {
                return Err(CoreError::ForbiddenByPolicy {
                    target: Target { handler: handler.clone(), item: Some(id.clone()) },
                    action: Action::StartSync,
                });
            }
            if item.enabled && item.connected && !chosen.contains(id) {
                chosen.push(id.clone());
            }
        }
        if chosen.is_empty() {
            return Err(CoreError::NotReady {
                target: Target { handler: handler.clone(), item: None },
                reason: NotReadyReason::NothingToSync,
            });
        }
        Ok(self.enqueue(handler, chosen, flags, context))
    }

    /// `StartSyncAll` (§5.31): every eligible handler, items already syncing ignored. Never fails.
    pub fn start_all(&mut self) -> Vec<RequestId> {
        let handlers: Vec<HandlerId> = self.handlers().map(|h| h.id.clone()).collect();
        handlers
            .iter()
            .filter_map(|h| {
                let items = self.startable_handler_items(h).ok()?;
                Some(self.enqueue(h, items, SyncControlFlags::IGNORE_IF_ALREADY_SYNCING, None))
            })
            .collect()
    }

    /// The handler's `Synchronize` failed before any session served the request: its waiting items end
    /// failed, an error event says why, and the result is delivered (§5.19).
    pub fn fail_request(&mut self, request: RequestId, reason: &str) -> Result<(), CoreError> {
        let r = self.requests.get_mut(&request).ok_or(CoreError::UnknownRequest(request))?;
        let handler = r.handler.clone();
        let failed: Vec<ItemId> = std::mem::take(&mut r.pending);
        r.outcomes.extend(failed.iter().map(|i| (i.clone(), ProgressStatus::Failed)));
        r.errors += 1;
        let description = format!("Synchronizing {} could not start: {reason}", list(&failed));
        self.push_handler_event(&handler, EventLevel::Error, "Sync could not start", &description);
        self.finish_request_if_done(request);
        self.dispatch_waiting(&handler);
        Ok(())
    }

    /// Handles what is due at `now`: dispatched requests that no session served within the hand-off timeout
    /// end failed with a warning event (§5.20). Call it at [`Center::next_deadline`].
    pub fn tick(&mut self) {
        let now = self.clock.now();
        self.end_expired_pauses(now);
        let expired: Vec<RequestId> = self
            .requests
            .values()
            .filter(|r| {
                matches!(r.state, RequestState::Dispatched { deadline } if deadline <= now) && !r.pending.is_empty()
            })
            .map(|r| r.id)
            .collect();
        for id in expired {
            let r = self.requests.get_mut(&id).expect("listed above");
            let handler = r.handler.clone();
            let items = std::mem::take(&mut r.pending);
            r.outcomes.extend(items.iter().map(|i| (i.clone(), ProgressStatus::Failed)));
            let description = format!(
                "No session synchronized {} within {} s of the request; they were marked failed",
                list(&items),
                self.config.handoff_timeout.as_secs()
            );
            self.push_handler_event(&handler, EventLevel::Warning, "Requested sync never started", &description);
            self.finish_request_if_done(id);
            self.dispatch_waiting(&handler);
        }
    }

    /// When [`Center::tick`] next has work, if ever.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let handoffs = self.requests.values().filter(|r| !r.pending.is_empty()).filter_map(|r| match r.state {
            RequestState::Dispatched { deadline } => Some(deadline),
            RequestState::Queued => None,
        });
        let pauses = self.handlers().filter_map(|h| h.pause.and_then(|p| p.until));
        handoffs.chain(pauses).min()
    }

    /// Pauses a handler (or, with `None`, every handler): no run starts and no session can be created until it
    /// is resumed or `until` passes; waiting requests are dropped and live sessions are asked to stop where
    /// their policies allow it, except suspendable ones ([`Center::set_suspendable`]), which hold still. Pausing again replaces the end of the pause.
    pub fn pause(&mut self, handler: Option<&HandlerId>, until: Option<Timestamp>) -> Result<(), CoreError> {
        let now = self.clock.now();
        if until.is_some_and(|u| u <= now) {
            return Err(ValueError::OutOfRange {
                what: "pause end (it is in the past)",
                value: until.map_or(0, |u| u.as_micros()),
            }
            .into());
        }
        let targets: Vec<HandlerId> = match handler {
            Some(h) => vec![self.entry(h)?.handler.id.clone()],
            None => self.handlers().map(|h| h.id.clone()).collect(),
        };
        for h in targets {
            let e = self.entry_mut(&h)?;
            let since = e.handler.pause.map_or(now, |p| p.since);
            e.handler.pause = Some(crate::model::Pause { since, until });
            let saved = e.handler.clone();
            self.changes.push(Change::HandlerSaved(saved));
            if self.stop_for_pause(&h).is_err() {
                // Stopping is forbidden by policy: running sessions finish, nothing new starts.
                self.stop_waiting(&h, None);
            }
            self.notify(Notice::StateChanged { target: Target { handler: h, item: None }, action: Action::StopSync });
        }
        Ok(())
    }

    /// Ends a pause of a handler (or, with `None`, of every paused handler).
    pub fn resume(&mut self, handler: Option<&HandlerId>) -> Result<(), CoreError> {
        let targets: Vec<HandlerId> = match handler {
            Some(h) => vec![self.entry(h)?.handler.id.clone()],
            None => self.handlers().filter(|h| h.pause.is_some()).map(|h| h.id.clone()).collect(),
        };
        for h in targets {
            self.unpause(&h);
        }
        Ok(())
    }

    fn end_expired_pauses(&mut self, now: Timestamp) {
        let expired: Vec<HandlerId> = self
            .handlers()
            .filter(|h| h.pause.is_some_and(|p| p.until.is_some_and(|u| u <= now)))
            .map(|h| h.id.clone())
            .collect();
        for h in expired {
            self.unpause(&h);
        }
    }

    fn unpause(&mut self, handler: &HandlerId) {
        if let Ok(e) = self.entry_mut(handler)
            && e.handler.pause.take().is_some()
        {
            let saved = e.handler.clone();
            self.changes.push(Change::HandlerSaved(saved));
            self.notify(Notice::StateChanged {
                target: Target { handler: handler.clone(), item: None },
                action: Action::StartSync,
            });
        }
    }

    fn check_handler_startable(&self, handler: &HandlerId) -> Result<(), CoreError> {
        let h = &self.entry(handler)?.handler;
        let target = || Target { handler: handler.clone(), item: None };
        if h.policies.intersects(HANDLER_START_FORBIDDEN) {
            return Err(CoreError::ForbiddenByPolicy { target: target(), action: Action::StartSync });
        }
        let reason = if !h.active {
            NotReadyReason::Inactive
        } else if !h.enabled {
            NotReadyReason::Disabled
        } else if !h.connected {
            NotReadyReason::Disconnected
        } else if h.pause.is_some() {
            NotReadyReason::Paused
        } else {
            return Ok(());
        };
        Err(CoreError::NotReady { target: target(), reason })
    }

    fn startable_handler_items(&self, handler: &HandlerId) -> Result<Vec<ItemId>, CoreError> {
        self.check_handler_startable(handler)?;
        let items: Vec<ItemId> = self
            .entry(handler)?
            .items
            .values()
            .filter(|i| i.enabled && i.connected && !i.policies.intersects(ITEM_START_FORBIDDEN))
            .map(|i| i.id.clone())
            .collect();
        if items.is_empty() {
            return Err(CoreError::NotReady {
                target: Target { handler: handler.clone(), item: None },
                reason: NotReadyReason::NothingToSync,
            });
        }
        Ok(items)
    }

    /// A handler is busy while it has a live session or a dispatched request no session has taken yet.
    fn handler_busy(&self, handler: &HandlerId) -> bool {
        !self.live_ids(handler).is_empty()
            || self.requests.values().any(|r| {
                &r.handler == handler && matches!(r.state, RequestState::Dispatched { .. }) && !r.pending.is_empty()
            })
    }

    fn enqueue(
        &mut self,
        handler: &HandlerId,
        items: Vec<ItemId>,
        flags: SyncControlFlags,
        context: Option<Context>,
    ) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        self.requests.insert(
            id,
            StartRequest {
                id,
                handler: handler.clone(),
                flags,
                state: RequestState::Queued,
                pending: items,
                contexts: context.into_iter().collect(),
                serving: Vec::new(),
                outcomes: Vec::new(),
                errors: 0,
                stopped_while_queued: false,
            },
        );
        self.apply_ignore_if_syncing(id);
        let concurrent = self.entry(handler).is_ok_and(|e| {
            e.handler.capabilities.contains(crate::enums::HandlerCapabilities::SUPPORTS_CONCURRENT_SESSIONS)
        });
        if concurrent || !self.handler_busy_except(handler, id) {
            self.dispatch(id);
        }
        id
    }

    fn handler_busy_except(&self, handler: &HandlerId, except: RequestId) -> bool {
        !self.live_ids(handler).is_empty()
            || self.requests.values().any(|r| {
                r.id != except
                    && &r.handler == handler
                    && matches!(r.state, RequestState::Dispatched { .. })
                    && !r.pending.is_empty()
            })
            || self.requests.values().any(|r| r.id < except && &r.handler == handler && r.state == RequestState::Queued)
    }

    /// `SCF_IGNORE_IF_ALREADY_SYNCING`: items syncing right now are served by the session that has them.
    fn apply_ignore_if_syncing(&mut self, id: RequestId) {
        let r = &self.requests[&id];
        if !r.flags.contains(SyncControlFlags::IGNORE_IF_ALREADY_SYNCING) {
            return;
        }
        let handler = r.handler.clone();
        let taken: Vec<(ItemId, SessionId)> =
            r.pending.iter().filter_map(|i| self.is_syncing_now(&handler, i).map(|s| (i.clone(), s))).collect();
        let r = self.requests.get_mut(&id).expect("present");
        for (item, session) in taken {
            r.pending.retain(|i| i != &item);
            r.serving.push((item, session));
        }
    }

    fn dispatch(&mut self, id: RequestId) {
        self.apply_ignore_if_syncing(id);
        let deadline = self.clock.now().plus(self.config.handoff_timeout);
        let r = self.requests.get_mut(&id).expect("present");
        r.state = RequestState::Dispatched { deadline };
        if !r.pending.is_empty() {
            let notice = Notice::SyncRequested {
                request: id,
                handler: r.handler.clone(),
                items: r.pending.clone(),
                contexts: r.contexts.clone(),
                no_ui: true,
            };
            self.notify(notice);
        }
        self.finish_request_if_done(id);
    }

    /// Dispatches queued requests of `handler`, oldest first, while it is not busy.
    pub(super) fn dispatch_waiting(&mut self, handler: &HandlerId) {
        while !self.handler_busy(handler) {
            let next = self.requests.values().find(|r| &r.handler == handler && r.state == RequestState::Queued);
            match next.map(|r| r.id) {
                Some(id) => self.dispatch(id),
                None => break,
            }
        }
    }

    /// A new session serves the items that dispatched requests of its handler wait for (§5.20).
    pub(super) fn serve_dispatched(&mut self, handler: &HandlerId, session: SessionId, items: &[ItemId]) {
        for r in self.requests.values_mut() {
            if &r.handler != handler || r.state == RequestState::Queued {
                continue;
            }
            let (served, rest): (Vec<ItemId>, Vec<ItemId>) = r.pending.drain(..).partition(|i| items.contains(i));
            r.pending = rest;
            r.serving.extend(served.into_iter().map(|i| (i, session)));
        }
    }

    /// `AddItemToSession` absorbs the item from every waiting request of the handler (§5.13).
    pub(super) fn serve_all_waiting(&mut self, handler: &HandlerId, session: SessionId, item: &ItemId) {
        for r in self.requests.values_mut().filter(|r| &r.handler == handler) {
            if r.pending.contains(item) {
                r.pending.retain(|i| i != item);
                r.serving.push((item.clone(), session));
            }
        }
    }

    /// Records, for each request a finished session served, its items' final statuses and error events.
    pub(super) fn settle_requests_served_by(&mut self, s: &LiveSession) {
        let ids: Vec<RequestId> =
            self.requests.values().filter(|r| r.serving.iter().any(|(_, sid)| *sid == s.id)).map(|r| r.id).collect();
        for id in ids {
            let r = self.requests.get_mut(&id).expect("listed above");
            let (mine, others): (Vec<_>, Vec<_>) = r.serving.drain(..).partition(|(_, sid)| *sid == s.id);
            r.serving = others;
            r.errors += s.handler_errors;
            for (item, _) in mine {
                let member = s.member(&item);
                r.errors += member.map_or(0, |m| m.errors);
                let status = member.and_then(|m| m.progress.status).unwrap_or(ProgressStatus::Failed);
                r.outcomes.push((item, status));
            }
            self.finish_request_if_done(id);
        }
    }

    /// Delivers the result exactly once when nothing is pending or serving (§5.19).
    pub(super) fn finish_request_if_done(&mut self, id: RequestId) {
        let Some(r) = self.requests.get(&id) else { return };
        if !r.pending.is_empty() || !r.serving.is_empty() {
            return;
        }
        let r = self.requests.remove(&id).expect("present");
        let mut status = ProgressStatus::aggregate(r.outcomes.iter().map(|(_, s)| *s));
        if status == ProgressStatus::Succeeded && r.stopped_while_queued {
            status = ProgressStatus::Canceled;
        }
        let result = SyncResult { status, errors: r.errors, conflicts: self.conflict_count(&r.handler) };
        self.notify(Notice::RequestFinished { request: id, handler: r.handler, result });
    }

    /// A stop removes the affected items (all when `items` is `None`) from the handler's waiting requests
    /// (§2.19 rule 16); they count as canceled.
    pub(super) fn stop_waiting(&mut self, handler: &HandlerId, items: Option<&[ItemId]>) {
        let ids: Vec<RequestId> = self.requests.values().filter(|r| &r.handler == handler).map(|r| r.id).collect();
        for id in ids {
            let r = self.requests.get_mut(&id).expect("listed above");
            let (stopped, rest): (Vec<ItemId>, Vec<ItemId>) =
                r.pending.drain(..).partition(|i| items.is_none_or(|list| list.contains(i)));
            r.pending = rest;
            if items.is_none() {
                r.contexts.clear();
            }
            if !stopped.is_empty() {
                r.stopped_while_queued = true;
                r.outcomes.extend(stopped.into_iter().map(|i| (i, ProgressStatus::Canceled)));
            }
            self.finish_request_if_done(id);
        }
        self.dispatch_waiting(handler);
    }

    /// Requests of a removed handler or item can never be served: they end failed, and the handler's queue
    /// moves on (a request that ended here may have been the one the queue waited for).
    pub(super) fn abandon_requests(&mut self, handler: &HandlerId, item: Option<&ItemId>) {
        let ids: Vec<RequestId> = self.requests.values().filter(|r| &r.handler == handler).map(|r| r.id).collect();
        for id in ids {
            let r = self.requests.get_mut(&id).expect("listed above");
            let (gone, rest): (Vec<ItemId>, Vec<ItemId>) =
                r.pending.drain(..).partition(|i| item.is_none_or(|it| it == i));
            r.pending = rest;
            if item.is_none() {
                r.contexts.clear();
            }
            r.outcomes.extend(gone.into_iter().map(|i| (i, ProgressStatus::Failed)));
            self.finish_request_if_done(id);
        }
        self.dispatch_waiting(handler);
    }

    /// Records an event that no session reported: Sync Center's own findings about a handler or an item (a
    /// sync overdue, a scheduled run skipped). Validated and truncated like `report_event`.
    pub fn add_event(
        &mut self,
        handler: &HandlerId,
        item: Option<&ItemId>,
        level: EventLevel,
        name: &str,
        description: &str,
    ) -> Result<EventId, CoreError> {
        match item {
            Some(i) => {
                self.item_ref(handler, i)?;
            }
            None => {
                self.entry(handler)?;
            }
        }
        if name.trim().is_empty() {
            return Err(CoreError::EmptyArgument("name"));
        }
        let event = Event {
            id: EventId(self.ids.next_uuid()),
            handler: handler.clone(),
            item: item.cloned(),
            session: None,
            level,
            name: crate::text::truncate_marked(name, crate::text::MAX_EVENT_NAME_UNITS),
            description: truncate_marked(description, MAX_EVENT_DESCRIPTION_UNITS),
            link_text: None,
            link_reference: None,
            context: None,
            time: self.clock.now(),
        };
        let id = event.id;
        self.changes.push(Change::EventAdded(event));
        Ok(id)
    }

    fn push_handler_event(&mut self, handler: &HandlerId, level: EventLevel, name: &str, description: &str) {
        let event = Event {
            id: EventId(self.ids.next_uuid()),
            handler: handler.clone(),
            item: None,
            session: None,
            level,
            name: name.to_owned(),
            description: truncate_marked(description, MAX_EVENT_DESCRIPTION_UNITS),
            link_text: None,
            link_reference: None,
            context: None,
            time: self.clock.now(),
        };
        self.changes.push(Change::EventAdded(event));
    }
}

fn list(items: &[ItemId]) -> String {
    items.iter().map(ItemId::as_str).collect::<Vec<_>>().join(", ")
}
