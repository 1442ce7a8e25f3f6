//! Registration of handlers and items, the hidden flag, and the read-only views the CLI and dashboard draw.

use super::{Center, HandlerEntry};
use crate::enums::{HandlerPolicies, HandlerType, ItemPolicies};
use crate::error::{CoreError, Target};
use crate::model::{DisplayProgress, Handler, HandlerSpec, Item, ItemSpec, RequestView, SessionView};
use crate::store::Change;
use crate::text::{HandlerId, ItemId, MAX_NAME_UNITS, SessionId, truncate_utf16};

/// A required display name: present, non-empty, truncated to 127 units (§0.2).
fn checked_name(name: Option<&str>, first: bool) -> Result<Option<String>, CoreError> {
    match name {
        None if first => Err(CoreError::MissingArgument("name")),
        None => Ok(None),
        Some(n) if n.trim().is_empty() => Err(CoreError::EmptyArgument("name")),
        Some(n) => Ok(Some(truncate_utf16(n, MAX_NAME_UNITS))),
    }
}

fn short(s: &Option<String>) -> Option<String> {
    s.as_deref().map(|s| truncate_utf16(s, MAX_NAME_UNITS))
}

impl Center {
    /// Registers a handler, or updates it when the exact ID is registered (`UpdateHandler`): fields given as
    /// `None` keep their last known value. An ID that differs only by ASCII case from a registered one is
    /// refused.
    pub fn register_handler(&mut self, id: HandlerId, spec: HandlerSpec) -> Result<Handler, CoreError> {
        let existing = self.handlers.get(&id.folded());
        if let Some(e) = existing
            && e.handler.id != id
        {
            return Err(CoreError::DuplicateHandler { id, existing: e.handler.id.clone() });
        }
        let name = checked_name(spec.name.as_deref(), existing.is_none())?;
        let handler = match existing {
            Some(e) => {
                let old = &e.handler;
                Handler {
                    id: old.id.clone(),
                    name: name.unwrap_or_else(|| old.name.clone()),
                    handler_type: spec.handler_type.unwrap_or(old.handler_type),
                    type_label: short(&spec.type_label).unwrap_or_else(|| old.type_label.clone()),
                    comment: short(&spec.comment).unwrap_or_else(|| old.comment.clone()),
                    last_sync_reported: spec.last_sync.or(old.last_sync_reported),
                    last_sync_recorded: old.last_sync_recorded,
                    active: spec.active.unwrap_or(old.active),
                    enabled: spec.enabled.unwrap_or(old.enabled),
                    connected: spec.connected.unwrap_or(old.connected),
                    hidden: old.hidden,
                    capabilities: spec.capabilities.unwrap_or(old.capabilities),
                    policies: spec.policies.unwrap_or(old.policies),
                    retention: spec.retention.unwrap_or(old.retention),
                    pause: old.pause,
                }
            }
            None => {
                let policies = spec.policies.unwrap_or_default();
                Handler {
                    id: id.clone(),
                    name: name.unwrap_or_default(),
                    handler_type: spec.handler_type.unwrap_or(HandlerType::Unspecified),
                    type_label: short(&spec.type_label).unwrap_or_default(),
                    comment: short(&spec.comment).unwrap_or_default(),
                    last_sync_reported: spec.last_sync,
                    last_sync_recorded: None,
                    active: spec.active.unwrap_or(true),
                    enabled: spec.enabled.unwrap_or(true),
                    connected: spec.connected.unwrap_or(true),
                    hidden: policies.contains(HandlerPolicies::HIDDEN_BY_DEFAULT),
                    capabilities: spec.capabilities.unwrap_or_default(),
                    policies,
                    retention: spec.retention.unwrap_or_default(),
                    pause: None,
                }
            }
        };
        self.handlers
            .entry(id.folded())
            .or_insert_with(|| HandlerEntry { handler: handler.clone(), items: Default::default() })
            .handler = handler.clone();
        self.changes.push(Change::HandlerSaved(handler.clone()));
        Ok(handler)
    }

    /// Registers an item of `handler`, or updates it (`UpdateItem`); `None` fields keep their value. An ID
    /// colliding (ASCII case-insensitively) with another item or with an item proposed in a live session is
    /// refused.
    pub fn register_item(&mut self, handler: &HandlerId, id: ItemId, spec: ItemSpec) -> Result<Item, CoreError> {
        let entry = self.entry(handler)?;
        let existing = entry.items.get(&id.folded());
        if let Some(e) = existing
            && e.id != id
        {
            return Err(CoreError::DuplicateItem { handler: handler.clone(), id, existing: e.id.clone() });
        }
        if existing.is_none()
            && let Some(p) = self.proposed_item(handler, &id)
        {
            return Err(CoreError::DuplicateItem { handler: handler.clone(), id, existing: p });
        }
        let name = checked_name(spec.name.as_deref(), existing.is_none())?;
        let item = match existing {
            Some(old) => Item {
                id: old.id.clone(),
                name: name.unwrap_or_else(|| old.name.clone()),
                type_label: short(&spec.type_label).unwrap_or_else(|| old.type_label.clone()),
                comment: short(&spec.comment).unwrap_or_else(|| old.comment.clone()),
                last_sync_reported: spec.last_sync.or(old.last_sync_reported),
                last_sync_recorded: old.last_sync_recorded,
                enabled: spec.enabled.unwrap_or(old.enabled),
                connected: spec.connected.unwrap_or(old.connected),
                hidden: old.hidden,
                capabilities: spec.capabilities.unwrap_or(old.capabilities),
                policies: spec.policies.unwrap_or(old.policies),
            },
            None => new_item(id.clone(), name.unwrap_or_default(), &spec),
        };
        self.entry_mut(handler)?.items.insert(id.folded(), item.clone());
        self.changes.push(Change::ItemSaved(handler.clone(), item.clone()));
        Ok(item)
    }

    /// Removes a handler with its items and conflicts. Its events and history stay. Refused while it has a
    /// live session.
    pub fn remove_handler(&mut self, handler: &HandlerId) -> Result<(), CoreError> {
        self.entry(handler)?;
        if !self.live_ids(handler).is_empty() {
            return Err(CoreError::TargetBusy(Target { handler: handler.clone(), item: None }));
        }
        self.abandon_requests(handler, None);
        self.handlers.remove(&handler.folded());
        self.live_by_handler.remove(&handler.folded());
        self.conflicts.retain(|_, c| &c.handler != handler);
        self.changes.push(Change::HandlerDeleted(handler.clone()));
        Ok(())
    }

    /// Sets the hidden flag the user controls (§1.3); `HIDDEN_BY_DEFAULT` only sets its first value.
    pub fn set_hidden(&mut self, handler: &HandlerId, item: Option<&ItemId>, hidden: bool) -> Result<(), CoreError> {
        match item {
            None => {
                let e = self.entry_mut(handler)?;
                e.handler.hidden = hidden;
                let h = e.handler.clone();
                self.changes.push(Change::HandlerSaved(h));
            }
            Some(i) => {
                self.item_ref(handler, i)?;
                let it = self.entry_mut(handler)?.items.get_mut(&i.folded()).expect("checked above");
                it.hidden = hidden;
                let it = it.clone();
                self.changes.push(Change::ItemSaved(handler.clone(), it));
            }
        }
        Ok(())
    }

    /// Every handler, ordered by ID (folded), hidden ones included.
    pub fn handlers(&self) -> impl Iterator<Item = &Handler> {
        self.handlers.values().map(|e| &e.handler)
    }

    /// One handler.
    pub fn handler(&self, id: &HandlerId) -> Result<&Handler, CoreError> {
        Ok(&self.entry(id)?.handler)
    }

    /// The items of a handler (`GetSyncItemEnumerator`), ordered by ID (folded).
    pub fn items(&self, handler: &HandlerId) -> Result<Vec<&Item>, CoreError> {
        Ok(self.entry(handler)?.items.values().collect())
    }

    /// `GetSyncItemCount`.
    pub fn item_count(&self, handler: &HandlerId) -> Result<usize, CoreError> {
        Ok(self.entry(handler)?.items.len())
    }

    /// `GetSyncItem`: unknown is `E_INVALIDARG`.
    pub fn item(&self, handler: &HandlerId, item: &ItemId) -> Result<&Item, CoreError> {
        self.item_ref(handler, item)
    }

    /// The handler's information line: its progress text while a session shows one, else its comment
    /// (behaviour 12).
    pub fn handler_display_text(&self, handler: &HandlerId) -> Result<String, CoreError> {
        let e = self.entry(handler)?;
        let text = self.live_ids(handler).iter().rev().find_map(|sid| self.sessions[sid].handler_text.clone());
        Ok(text.unwrap_or_else(|| e.handler.comment.clone()))
    }

    /// What to draw for an item that a live session reports, or `None` when none does.
    pub fn item_display(&self, handler: &HandlerId, item: &ItemId) -> Result<Option<DisplayProgress>, CoreError> {
        self.item_ref(handler, item)?;
        let reporting: Vec<_> = self
            .live_ids(handler)
            .iter()
            .filter_map(|sid| self.sessions[sid].member(item).filter(|m| m.proposed.is_none()))
            .collect();
        let Some(latest) = reporting.last() else { return Ok(None) };
        let p = &latest.progress;
        let concurrent = reporting.iter().filter(|m| !m.progress.is_final()).count() > 1;
        let marquee = match p.status {
            Some(crate::enums::ProgressStatus::UpdatingIndeterminate) => true,
            Some(crate::enums::ProgressStatus::Updating) => p.max_step == 0,
            _ => false,
        };
        let indeterminate = concurrent || marquee;
        Ok(Some(DisplayProgress {
            status: p.status,
            steps: (!indeterminate && p.status.is_some()).then_some((p.step, p.max_step)),
            text: p.text.clone(),
            indeterminate,
            amount: if concurrent { None } else { latest.amount },
        }))
    }

    /// Every live session, oldest first per handler.
    pub fn sessions(&self) -> Vec<SessionView> {
        self.sessions.values().map(view).collect()
    }

    /// One live session.
    pub fn session(&self, id: SessionId) -> Result<SessionView, CoreError> {
        self.live(id).map(view)
    }

    /// A live member's amount, without building the session's view (the daemon asks per published report).
    pub fn amount(&self, session: SessionId, item: &ItemId) -> Option<crate::model::Amount> {
        self.live(session).ok()?.member(item).filter(|m| m.proposed.is_none())?.amount
    }

    /// Number of live sessions.
    pub fn live_session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Start requests not yet finished.
    pub fn requests(&self) -> Vec<RequestView> {
        self.requests
            .values()
            .map(|r| RequestView {
                id: r.id,
                handler: r.handler.clone(),
                pending: r.pending.clone(),
                dispatched: matches!(r.state, super::RequestState::Dispatched { .. }),
            })
            .collect()
    }

    fn proposed_item(&self, handler: &HandlerId, id: &ItemId) -> Option<ItemId> {
        let folded = id.folded();
        self.live_ids(handler).iter().find_map(|sid| {
            self.sessions[sid]
                .members
                .iter()
                .find(|m| m.proposed.is_some() && m.item.folded() == folded)
                .map(|m| m.item.clone())
        })
    }

    /// An ID colliding with a registered or proposed item of `handler`, for `propose_item`.
    pub(super) fn colliding_item(&self, handler: &HandlerId, id: &ItemId) -> Option<ItemId> {
        self.handlers
            .get(&handler.folded())
            .and_then(|e| e.items.get(&id.folded()))
            .map(|i| i.id.clone())
            .or_else(|| self.proposed_item(handler, id))
    }
}

pub(super) fn new_item(id: ItemId, name: String, spec: &ItemSpec) -> Item {
    let policies = spec.policies.unwrap_or_default();
    Item {
        id,
        name,
        type_label: short(&spec.type_label).unwrap_or_default(),
        comment: short(&spec.comment).unwrap_or_default(),
        last_sync_reported: spec.last_sync,
        last_sync_recorded: None,
        enabled: spec.enabled.unwrap_or(true),
        connected: spec.connected.unwrap_or(true),
        hidden: policies.contains(ItemPolicies::HIDDEN_BY_DEFAULT),
        capabilities: spec.capabilities.unwrap_or_default(),
        policies,
    }
}

pub(super) fn validated_new_item(id: ItemId, spec: &ItemSpec) -> Result<Item, CoreError> {
    let name = checked_name(spec.name.as_deref(), true)?.unwrap_or_default();
    Ok(new_item(id, name, spec))
}

fn view(s: &super::LiveSession) -> SessionView {
    SessionView {
        id: s.id,
        handler: s.handler.clone(),
        owner: s.owner,
        started_at: s.started_at,
        manual: s.manual,
        handler_text: s.handler_text.clone(),
        stop_all: s.stop_all,
        items: s
            .members
            .iter()
            .filter(|m| m.proposed.is_none())
            .map(|m| (m.item.clone(), m.progress.clone()))
            .collect(),
        amounts: s
            .members
            .iter()
            .filter(|m| m.proposed.is_none())
            .filter_map(|m| Some((m.item.clone(), m.amount?)))
            .collect(),
        stopped_items: s.item_stops.iter().cloned().collect(),
        contexts: s.contexts.clone(),
    }
}
