//! The session creator and its callback (§2.1, §2.2, §2.19): creation, the per-item progress state machine,
//! events, membership, cancellation checks, and the end of a session.

use super::{Center, LiveSession, Member};
use crate::enums::{CancelRequest, EventLevel, FlagKind, HandlerCapabilities, ProgressStatus, ValueError};
use crate::error::{CoreError, NotReadyReason, Target};
use crate::model::{
    Amount, Context, EndReason, Event, EventRetention, ItemProgress, ItemSpec, NewEvent, PendingItems, SessionSummary,
    SessionView,
};
use crate::notice::Notice;
use crate::store::Change;
use crate::text::{
    EventId, HandlerId, ItemId, MAX_EVENT_CONTEXT_UNITS, MAX_EVENT_DESCRIPTION_UNITS, MAX_EVENT_LINK_REFERENCE_UNITS,
    MAX_EVENT_LINK_TEXT_UNITS, MAX_EVENT_NAME_UNITS, MAX_PROGRESS_TEXT_UNITS, OwnerId, SessionId, truncate_marked,
    truncate_utf16,
};

/// Text given to items that had no completion status when their session ended (§5.3).
pub const ENDED_WITHOUT_RESULT: &str = "The session ended without a result for this item";

impl Center {
    /// `CreateSession` (§2.1, §5.8, §5.9): a session of `owner` over `items` of `handler`.
    pub fn create_session(
        &mut self,
        owner: OwnerId,
        handler: &HandlerId,
        items: &[ItemId],
    ) -> Result<SessionId, CoreError> {
        let members = self.new_session_members(handler, items)?;
        let retention = self.entry(handler)?.handler.retention;
        let now = self.clock.now();
        let id = SessionId(self.ids.next_uuid());
        if retention == EventRetention::ReplaceOnSync {
            self.changes.push(Change::EventsPurged { handler: handler.clone(), before: now });
        }
        self.changes.push(Change::SessionStarted {
            session: id,
            handler: handler.clone(),
            owner,
            started_at: now,
            items: members.clone(),
        });
        let live = members.iter().map(|i| Member::new(i.clone(), ItemProgress::default())).collect();
        self.sessions.insert(id, LiveSession::new(id, handler.clone(), owner, now, live));
        self.live_by_handler.entry(handler.folded()).or_default().push(id);
        self.serve_dispatched(handler, id, &members);
        Ok(id)
    }

    /// The members of a new session of `handler` over `items`, each once, in order, once the handler, every item
    /// and the limits allow it (§5.8, §5.9); the first refusal otherwise.
    fn new_session_members(&self, handler: &HandlerId, items: &[ItemId]) -> Result<Vec<ItemId>, CoreError> {
        let h = &self.entry(handler)?.handler;
        if items.is_empty() {
            return Err(CoreError::NoItems);
        }
        let not_ready =
            |reason| CoreError::NotReady { target: Target { handler: handler.clone(), item: None }, reason };
        if !h.active {
            return Err(not_ready(NotReadyReason::Inactive));
        }
        if !h.enabled {
            return Err(not_ready(NotReadyReason::Disabled));
        }
        if !h.connected {
            return Err(not_ready(NotReadyReason::Disconnected));
        }
        if h.pause.is_some() {
            return Err(not_ready(NotReadyReason::Paused));
        }
        let mut members: Vec<ItemId> = Vec::with_capacity(items.len());
        for id in items {
            let item = self.item_ref(handler, id)?;
            let reason = if !item.enabled {
                Some(NotReadyReason::Disabled)
            } else if !item.connected {
                Some(NotReadyReason::Disconnected)
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(CoreError::NotReady {
                    target: Target { handler: handler.clone(), item: Some(id.clone()) },
                    reason,
                });
            }
            if !members.contains(id) {
                members.push(id.clone());
            }
        }
        if members.len() > self.config.max_items_per_session {
            return Err(CoreError::CapacityExceeded {
                what: "items per session",
                limit: self.config.max_items_per_session,
            });
        }
        if !h.capabilities.contains(HandlerCapabilities::SUPPORTS_CONCURRENT_SESSIONS)
            && let Some(live) = self.live_ids(handler).first()
        {
            return Err(CoreError::HandlerBusy { handler: handler.clone(), session: *live });
        }
        if self.sessions.len() >= self.config.max_live_sessions {
            return Err(CoreError::CapacityExceeded { what: "live sessions", limit: self.config.max_live_sessions });
        }
        Ok(members)
    }

    /// `ReportProgress` (§2.2.1, §2.19 rules 9–12). Returns the cancel request in force for the item.
    pub fn report_progress(
        &mut self,
        session: SessionId,
        item: &ItemId,
        status: ProgressStatus,
        text: Option<&str>,
        step: u32,
        max_step: u32,
    ) -> Result<CancelRequest, CoreError> {
        self.report_progress_amount(session, item, status, text, (step, max_step), None)
    }

    /// `ReportProgress` with the amount in its unit (an extension: `docs/divergences.md`). The amount follows
    /// the steps' rules: an indeterminate report keeps the last one, any other replaces it (`None` clears it).
    pub fn report_progress_amount(
        &mut self,
        session: SessionId,
        item: &ItemId,
        status: ProgressStatus,
        text: Option<&str>,
        (step, max_step): (u32, u32),
        amount: Option<Amount>,
    ) -> Result<CancelRequest, CoreError> {
        let s = self.live_mut(session)?;
        let cancel = s.cancel_for(item);
        let member = s.member_mut(item).ok_or_else(|| CoreError::NotMember { session, item: item.clone() })?;
        let visible = member.proposed.is_none();
        if let Some(from) = member.progress.status.filter(|s| s.is_final())
            && status != ProgressStatus::Failed
        {
            member.progress.status = Some(ProgressStatus::Failed);
            if visible {
                let progress = member.progress.clone();
                self.changes.push(Change::ItemProgressed { session, item: item.clone(), progress });
            }
            return Err(CoreError::TransitionRefused { item: item.clone(), from, to: status, cancel });
        }
        if status != ProgressStatus::UpdatingIndeterminate {
            member.amount = amount.map(Amount::clamped);
        }
        let p = &mut member.progress;
        p.status = Some(status);
        if status != ProgressStatus::UpdatingIndeterminate {
            p.max_step = max_step;
            p.step = step.min(max_step);
        }
        if let Some(t) = text {
            p.text = truncate_utf16(t, MAX_PROGRESS_TEXT_UNITS);
        }
        if visible {
            let progress = p.clone();
            self.changes.push(Change::ItemProgressed { session, item: item.clone(), progress });
        }
        Ok(cancel)
    }

    /// `SetHandlerProgressText` (§2.2.2, §5.6). Reports only handler-level stops.
    pub fn set_handler_progress_text(
        &mut self,
        session: SessionId,
        text: Option<&str>,
    ) -> Result<CancelRequest, CoreError> {
        let s = self.live_mut(session)?;
        let text = text.ok_or(CoreError::MissingArgument("text"))?;
        s.handler_text = Some(truncate_utf16(text, MAX_PROGRESS_TEXT_UNITS));
        Ok(if s.stop_all { CancelRequest::CancelAll } else { CancelRequest::None })
    }

    /// `ReportEvent` (§2.2.3, §5.17): validates, truncates over-long fields with a mark, assigns ID and time.
    pub fn report_event(&mut self, session: SessionId, new: NewEvent) -> Result<EventId, CoreError> {
        let s = self.live(session)?;
        let level = new.level.ok_or(CoreError::MissingArgument("level"))?;
        if new.flags != 0 {
            return Err(ValueError::UndefinedFlags { kind: FlagKind::EventFlags, bits: new.flags }.into());
        }
        let name = new.name.ok_or(CoreError::MissingArgument("name"))?;
        let description = new.description.ok_or(CoreError::MissingArgument("description"))?;
        if name.is_empty() {
            return Err(CoreError::EmptyArgument("name"));
        }
        if let Some(item) = &new.item
            && s.member(item).is_none()
        {
            return Err(CoreError::NotMember { session, item: item.clone() });
        }
        let event = Event {
            id: EventId(self.ids.next_uuid()),
            handler: s.handler.clone(),
            item: new.item,
            session: Some(session),
            level,
            name: truncate_marked(&name, MAX_EVENT_NAME_UNITS),
            description: truncate_marked(&description, MAX_EVENT_DESCRIPTION_UNITS),
            link_text: new.link_text.map(|t| truncate_marked(&t, MAX_EVENT_LINK_TEXT_UNITS)),
            link_reference: new.link_reference.map(|t| truncate_marked(&t, MAX_EVENT_LINK_REFERENCE_UNITS)),
            context: new.context.map(|t| truncate_marked(&t, MAX_EVENT_CONTEXT_UNITS)),
            time: self.clock.now(),
        };
        if level == EventLevel::Error {
            let s = self.sessions.get_mut(&session).expect("live checked above");
            match &event.item {
                Some(item) => s.member_mut(item).expect("member checked above").errors += 1,
                None => s.handler_errors += 1,
            }
        }
        let id = event.id;
        self.changes.push(Change::EventAdded(event));
        Ok(id)
    }

    /// `CanContinue` (§2.2.4, §5.10): `None` asks about handler-level stops only. Never changes state.
    pub fn can_continue(&self, session: SessionId, item: Option<&ItemId>) -> Result<bool, CoreError> {
        let s = self.live(session)?;
        match item {
            None => Ok(!s.stop_all),
            Some(i) => {
                s.member(i).ok_or_else(|| CoreError::NotMember { session, item: i.clone() })?;
                Ok(s.cancel_for(i) == CancelRequest::None)
            }
        }
    }

    /// `QueryForAdditionalItems` (§2.2.5, §5.13): what start requests wait for this session's handler.
    pub fn query_additional_items(&self, session: SessionId) -> Result<PendingItems, CoreError> {
        let s = self.live(session)?;
        let mut out = PendingItems::default();
        for r in self.requests.values().filter(|r| r.handler == s.handler) {
            for i in &r.pending {
                if !out.items.contains(i) {
                    out.items.push(i.clone());
                }
            }
            for c in &r.contexts {
                if !out.contexts.contains(c) {
                    out.contexts.push(c.clone());
                }
            }
        }
        Ok(out)
    }

    /// `AddItemToSession` (§2.2.6, §5.13): the item becomes a member and is taken out of waiting requests.
    pub fn add_item(&mut self, session: SessionId, item: &ItemId) -> Result<(), CoreError> {
        let s = self.live(session)?;
        if s.member(item).is_some() {
            return Err(CoreError::AlreadyMember { session, item: item.clone() });
        }
        let handler = s.handler.clone();
        let it = self.item_ref(&handler, item)?;
        let reason = if !it.enabled {
            Some(NotReadyReason::Disabled)
        } else if !it.connected {
            Some(NotReadyReason::Disconnected)
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(CoreError::NotReady { target: Target { handler, item: Some(item.clone()) }, reason });
        }
        if self.live(session)?.members.len() >= self.config.max_items_per_session {
            return Err(CoreError::CapacityExceeded {
                what: "items per session",
                limit: self.config.max_items_per_session,
            });
        }
        let s = self.sessions.get_mut(&session).expect("live checked above");
        s.members.push(Member::new(item.clone(), ItemProgress::default()));
        self.changes.push(Change::SessionItemAdded { session, item: item.clone() });
        self.serve_all_waiting(&handler, session, item);
        Ok(())
    }

    /// `AddIUnknownToSession` (§5.14): takes a pending context into the session.
    pub fn add_context(&mut self, session: SessionId, context: Option<Context>) -> Result<(), CoreError> {
        let handler = self.live(session)?.handler.clone();
        let context = context.ok_or(CoreError::MissingArgument("context"))?;
        let request = self
            .requests
            .values_mut()
            .find(|r| r.handler == handler && r.contexts.contains(&context))
            .ok_or(CoreError::ContextNotPending)?;
        request.contexts.retain(|c| c != &context);
        let rid = request.id;
        self.sessions.get_mut(&session).expect("live checked above").contexts.push(context);
        self.finish_request_if_done(rid);
        Ok(())
    }

    /// `ProposeItem` (§2.2.8, §5.15): a provisional member, not displayed, discarded if never committed.
    pub fn propose_item(&mut self, session: SessionId, id: ItemId, spec: ItemSpec) -> Result<(), CoreError> {
        let s = self.live(session)?;
        let handler = s.handler.clone();
        if let Some(existing) = self.colliding_item(&handler, &id) {
            return Err(CoreError::DuplicateItem { handler, id, existing });
        }
        let item = super::registry::validated_new_item(id.clone(), &spec)?;
        if s.members.len() >= self.config.max_items_per_session {
            return Err(CoreError::CapacityExceeded {
                what: "items per session",
                limit: self.config.max_items_per_session,
            });
        }
        let s = self.sessions.get_mut(&session).expect("live checked above");
        s.members.push(Member { proposed: Some(item), ..Member::new(id, ItemProgress::default()) });
        Ok(())
    }

    /// `CommitItem` (§2.2.9, §5.15): the proposed item joins the handler's items and the session for good.
    pub fn commit_item(&mut self, session: SessionId, id: &ItemId) -> Result<(), CoreError> {
        let s = self.live(session)?;
        let handler = s.handler.clone();
        match s.member(id) {
            None => return Err(CoreError::NotProposed { session, item: id.clone() }),
            Some(m) if m.proposed.is_none() => return Err(CoreError::AlreadyMember { session, item: id.clone() }),
            Some(_) => {}
        }
        if !self.handlers.contains_key(&handler.folded()) {
            return Err(CoreError::UnknownHandler(handler));
        }
        let s = self.sessions.get_mut(&session).expect("live checked above");
        let m = s.member_mut(id).expect("member checked above");
        let item = m.proposed.take().expect("provisional checked above");
        let progress = m.progress.clone();
        self.entry_mut(&handler)?.items.insert(id.folded(), item.clone());
        self.changes.push(Change::ItemSaved(handler, item));
        self.changes.push(Change::SessionItemAdded { session, item: id.clone() });
        if progress.status.is_some() {
            self.changes.push(Change::ItemProgressed { session, item: id.clone(), progress });
        }
        Ok(())
    }

    /// `ReportManualSync` (§5.16): marks the session user-initiated. Idempotent.
    pub fn report_manual_sync(&mut self, session: SessionId) -> Result<(), CoreError> {
        let s = self.live_mut(session)?;
        if !s.manual {
            s.manual = true;
            self.changes.push(Change::SessionMarkedManual(session));
        }
        Ok(())
    }

    /// `CreateSession` with a NULL callback (§5.2): the session is checked and created like any other, and
    /// ended at once as an announcement, with no item status changes and no failures recorded. Returns the
    /// session as it was created (for watchers) and its end.
    pub fn announce_session(
        &mut self,
        owner: OwnerId,
        handler: &HandlerId,
        items: &[ItemId],
    ) -> Result<(SessionView, SessionSummary), CoreError> {
        let session = self.create_session(owner, handler, items)?;
        let created = self.session(session)?;
        Ok((created, self.finish(session, EndReason::Ended, Explain::Event, Unfinished::Leave)))
    }

    /// Ends a session at its owner's request (§5.1). Ending an ended session returns its summary again.
    pub fn end_session(&mut self, session: SessionId) -> Result<SessionSummary, CoreError> {
        if let Some(summary) = self.ended.get(&session) {
            return Ok(*summary);
        }
        self.live(session)?;
        Ok(self.finish_session(session, EndReason::Ended))
    }

    /// Ends one live session for a reason other than its owner's request (a lease ran out, the daemon stops);
    /// a warning event says why, as for a lost owner.
    pub fn end_session_for(&mut self, session: SessionId, reason: EndReason) -> Result<SessionSummary, CoreError> {
        if let Some(summary) = self.ended.get(&session) {
            return Ok(*summary);
        }
        self.live(session)?;
        Ok(self.finish_session(session, reason))
    }

    /// Ends a live session that another host of a fleet already ended in the shared store, as `host_lost`
    /// while this host was cut off: the same as [`end_session_for`](Self::end_session_for) with
    /// [`EndReason::HostLost`], without a second warning event (the judge wrote one).
    pub fn end_session_ended_elsewhere(&mut self, session: SessionId) -> Result<SessionSummary, CoreError> {
        self.live(session)?;
        Ok(self.finish(session, EndReason::HostLost, Explain::AlreadyRecorded, Unfinished::Fail))
    }

    /// The owner disappeared: ends each of its sessions with a warning event (§5.1, §5.3).
    pub fn end_owner(&mut self, owner: OwnerId) -> Vec<SessionSummary> {
        let ids: Vec<SessionId> = self.sessions.values().filter(|s| s.owner == owner).map(|s| s.id).collect();
        ids.into_iter().map(|id| self.finish_session(id, EndReason::OwnerLost)).collect()
    }

    /// Ends every live session as for a lost owner with the given reason (daemon shutdown).
    pub fn end_all_sessions(&mut self, reason: EndReason) -> Vec<SessionSummary> {
        let ids: Vec<SessionId> = self.sessions.keys().copied().collect();
        ids.into_iter().map(|id| self.finish_session(id, reason)).collect()
    }

    /// The end of a live session: finalize items, record last-sync times, explain a lost owner, settle the
    /// start requests it served, and dispatch what waits for its handler.
    pub(super) fn finish_session(&mut self, session: SessionId, reason: EndReason) -> SessionSummary {
        self.finish(session, reason, Explain::Event, Unfinished::Fail)
    }

    fn finish(&mut self, session: SessionId, reason: EndReason, explain: Explain, open: Unfinished) -> SessionSummary {
        let now = self.clock.now();
        let mut s = self.sessions.remove(&session).expect("caller checked the session is live");
        if let Some(list) = self.live_by_handler.get_mut(&s.handler.folded()) {
            list.retain(|id| *id != session);
            if list.is_empty() {
                self.live_by_handler.remove(&s.handler.folded());
            }
        }
        let errors = s.errors();
        s.members.retain(|m| m.proposed.is_none());
        let mut unfinished = Vec::new();
        for m in s.members.iter_mut().filter(|_| open == Unfinished::Fail) {
            if !m.progress.is_final() {
                m.progress.status = Some(ProgressStatus::Failed);
                m.progress.text = ENDED_WITHOUT_RESULT.to_owned();
                unfinished.push(m.item.clone());
                self.changes.push(Change::ItemProgressed {
                    session,
                    item: m.item.clone(),
                    progress: m.progress.clone(),
                });
            }
        }
        if reason != EndReason::Ended && explain == Explain::Event {
            let why = match reason {
                EndReason::Restarted => "Sync Center stopped (daemon restarted) while",
                EndReason::Shutdown => "Sync Center was shut down while",
                EndReason::LeaseExpired => "The owner reported nothing for longer than its lease while",
                EndReason::HostLost => "Its host stopped answering while",
                EndReason::OwnerLost | EndReason::Ended => "The owner disappeared while",
            };
            let list = unfinished.iter().map(ItemId::as_str).collect::<Vec<_>>().join(", ");
            let description = format!(
                "{why} session {session} was running; {} unfinished item(s) were marked failed{}{list}",
                unfinished.len(),
                if unfinished.is_empty() { "" } else { ": " },
            );
            self.changes.push(Change::EventAdded(Event {
                id: EventId(self.ids.next_uuid()),
                handler: s.handler.clone(),
                item: None,
                session: Some(session),
                level: EventLevel::Warning,
                name: match reason {
                    EndReason::Restarted => "Sync interrupted: daemon restarted".into(),
                    EndReason::Shutdown => "Sync interrupted: daemon stopped".into(),
                    EndReason::LeaseExpired => "Sync interrupted: owner went silent".into(),
                    EndReason::HostLost => "Sync interrupted: host lost".into(),
                    EndReason::OwnerLost | EndReason::Ended => "Sync interrupted: owner disappeared".into(),
                },
                description: truncate_marked(&description, MAX_EVENT_DESCRIPTION_UNITS),
                link_text: None,
                link_reference: None,
                context: None,
                time: now,
            }));
        }
        self.record_last_sync(&s, now);
        let status = ProgressStatus::aggregate(s.members.iter().filter_map(|m| m.progress.status));
        self.changes.push(Change::SessionEnded { session, at: now, reason, status });
        let summary = SessionSummary { session, status, errors, conflicts: self.conflict_count(&s.handler), reason };
        self.remember_ended(summary);
        self.settle_requests_served_by(&s);
        self.notify(Notice::SessionEnded { handler: s.handler.clone(), owner: s.owner, summary });
        self.dispatch_waiting(&s.handler);
        summary
    }

    /// §5.25: items that ended succeeded get `now`; the handler gets the latest of its items.
    fn record_last_sync(&mut self, s: &LiveSession, now: crate::time::Timestamp) {
        let Some(entry) = self.handlers.get_mut(&s.handler.folded()) else { return };
        for m in s.members.iter().filter(|m| m.progress.status == Some(ProgressStatus::Succeeded)) {
            if let Some(item) = entry.items.get_mut(&m.item.folded()) {
                item.last_sync_recorded = Some(now);
                self.changes.push(Change::ItemSaved(s.handler.clone(), item.clone()));
            }
        }
        let latest = if entry.items.is_empty() {
            Some(now)
        } else {
            entry.items.values().filter_map(|i| i.last_sync_recorded).max()
        };
        if latest.is_some() && latest != entry.handler.last_sync_recorded {
            entry.handler.last_sync_recorded = latest;
            self.changes.push(Change::HandlerSaved(entry.handler.clone()));
        }
    }

    fn remember_ended(&mut self, summary: SessionSummary) {
        self.ended.insert(summary.session, summary);
        self.ended_order.push_back(summary.session);
        while self.ended_order.len() > self.config.ended_session_memory {
            if let Some(old) = self.ended_order.pop_front() {
                self.ended.remove(&old);
            }
        }
    }
}

/// What the end of a session does to its items without a completion status.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unfinished {
    /// Marked failed (§5.3).
    Fail,
    /// Left as they are (an announcement, §5.2).
    Leave,
}

/// Whether ending a session for a reason other than its owner's request writes the warning event that says why.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Explain {
    Event,
    /// Another host already wrote it to the shared store.
    AlreadyRecorded,
}
