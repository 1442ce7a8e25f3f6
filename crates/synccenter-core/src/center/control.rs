//! `ISyncMgrControl` (§2.10, §5.21–5.24): stop, activate, enable, delete, with every policy enforced on the
//! API and not only in a UI (§5.22), and query-before confirmations (§1.9) asked through [`Confirm`].

use super::Center;
use crate::enums::{CancelRequest, ControlFlags, HandlerCapabilities, HandlerPolicies, ItemCapabilities, ItemPolicies};
use crate::error::{Action, CoreError, Target};
use crate::notice::Notice;
use crate::store::Change;
use crate::text::{HandlerId, ItemId, SessionId};

/// Answers a query-before confirmation (`ISyncMgrUIOperation::Run`): `true` proceeds, `false` vetoes.
pub trait Confirm {
    /// Asks whether `action` on `target` may proceed.
    fn confirm(&mut self, target: &Target, action: Action) -> bool;
}

impl<F: FnMut(&Target, Action) -> bool> Confirm for F {
    fn confirm(&mut self, target: &Target, action: Action) -> bool {
        self(target, action)
    }
}

/// Confirms everything (no UI to ask).
#[derive(Debug, Default, Clone, Copy)]
pub struct AlwaysConfirm;

impl Confirm for AlwaysConfirm {
    fn confirm(&mut self, _: &Target, _: Action) -> bool {
        true
    }
}

const HANDLER_STOP_FORBIDDEN: HandlerPolicies =
    HandlerPolicies::PREVENT_STOP_SYNC.union(HandlerPolicies::DISABLE_STOP_SYNC);
const ITEM_STOP_FORBIDDEN: ItemPolicies = ItemPolicies::PREVENT_STOP_SYNC.union(ItemPolicies::DISABLE_STOP_SYNC);

fn ask(
    confirm: &mut dyn Confirm,
    flags: ControlFlags,
    needed: bool,
    target: &Target,
    action: Action,
) -> Result<(), CoreError> {
    if needed && !flags.contains(ControlFlags::NOUI) && !confirm.confirm(target, action) {
        return Err(CoreError::Declined { target: target.clone(), action });
    }
    Ok(())
}

impl Center {
    /// `StopSyncAll`: a handler-level stop on every live session whose policies allow stopping, and every
    /// waiting request emptied (§5.11).
    pub fn stop_all(&mut self) {
        let handlers: Vec<HandlerId> = self.handlers().map(|h| h.id.clone()).collect();
        for h in handlers {
            if self.check_handler_stoppable(&h).is_ok() {
                self.stop_handler_unchecked(&h);
            }
        }
    }

    /// `StopHandlerSync`: owners see `CancelAll`; refused by `PREVENT_STOP_SYNC` / `DISABLE_STOP_SYNC`.
    pub fn stop_handler(&mut self, handler: &HandlerId) -> Result<(), CoreError> {
        self.check_handler_stoppable(handler)?;
        self.stop_handler_unchecked(handler);
        Ok(())
    }

    /// `StopItemSync`: owners see `CancelItem` for these items. A policy forbidding any of them refuses the
    /// whole call; items neither live nor queued are a successful no-op.
    pub fn stop_items(&mut self, handler: &HandlerId, items: &[ItemId]) -> Result<(), CoreError> {
        self.check_handler_stoppable(handler)?;
        if items.is_empty() {
            return Err(CoreError::NoItems);
        }
        for id in items {
            let item = self.item_ref(handler, id)?;
            if item.policies.intersects(ITEM_STOP_FORBIDDEN) {
                return Err(CoreError::ForbiddenByPolicy {
                    target: Target { handler: handler.clone(), item: Some(id.clone()) },
                    action: Action::StopSync,
                });
            }
        }
        let live: Vec<SessionId> = self.live_ids(handler).to_vec();
        for sid in live {
            let s = self.sessions.get_mut(&sid).expect("live index is consistent");
            let mut pushes = Vec::new();
            for id in items {
                if s.member(id).is_some() && s.item_stops.insert(id.clone()) && !s.stop_all {
                    pushes.push(Notice::CancelRequested {
                        session: sid,
                        owner: s.owner,
                        item: Some(id.clone()),
                        cancel: CancelRequest::CancelItem,
                    });
                }
            }
            for n in pushes {
                self.notify(n);
            }
        }
        self.stop_waiting(handler, Some(items));
        Ok(())
    }

    fn check_handler_stoppable(&self, handler: &HandlerId) -> Result<(), CoreError> {
        if self.entry(handler)?.handler.policies.intersects(HANDLER_STOP_FORBIDDEN) {
            return Err(CoreError::ForbiddenByPolicy {
                target: Target { handler: handler.clone(), item: None },
                action: Action::StopSync,
            });
        }
        Ok(())
    }

    fn stop_handler_unchecked(&mut self, handler: &HandlerId) {
        self.stop_sessions(handler, true);
    }

    /// What a pause stops: the handler's live sessions except suspendable ones, which hold still until the
    /// pause ends; refused, like a stop, by a policy forbidding stops.
    pub(super) fn stop_for_pause(&mut self, handler: &HandlerId) -> Result<(), CoreError> {
        self.check_handler_stoppable(handler)?;
        self.stop_sessions(handler, false);
        Ok(())
    }

    /// Marks a live session as one that a pause of its handler suspends rather than stops: its owner holds it
    /// still while the handler is paused (as `handler.list` says) and goes on when it is resumed.
    pub fn set_suspendable(&mut self, session: SessionId) -> Result<(), CoreError> {
        self.live_mut(session)?.suspendable = true;
        Ok(())
    }

    fn stop_sessions(&mut self, handler: &HandlerId, suspendable_too: bool) {
        let live: Vec<SessionId> = self.live_ids(handler).to_vec();
        for sid in live {
            let s = self.sessions.get_mut(&sid).expect("live index is consistent");
            if !s.stop_all && (suspendable_too || !s.suspendable) {
                s.stop_all = true;
                let owner = s.owner;
                self.notify(Notice::CancelRequested {
                    session: sid,
                    owner,
                    item: None,
                    cancel: CancelRequest::CancelAll,
                });
            }
        }
        self.stop_waiting(handler, None);
    }

    /// `ActivateHandler`: refused by `PREVENT_ACTIVATE` / `PREVENT_DEACTIVATE`; confirmed first when the
    /// handler declares `QUERY_BEFORE_(DE)ACTIVATE` and `NOUI` is not set.
    pub fn activate_handler(
        &mut self,
        handler: &HandlerId,
        activate: bool,
        flags: ControlFlags,
        confirm: &mut dyn Confirm,
    ) -> Result<(), CoreError> {
        let h = &self.entry(handler)?.handler;
        let target = Target { handler: handler.clone(), item: None };
        let (action, prevent, query) = if activate {
            (Action::Activate, HandlerPolicies::PREVENT_ACTIVATE, HandlerCapabilities::QUERY_BEFORE_ACTIVATE)
        } else {
            (Action::Deactivate, HandlerPolicies::PREVENT_DEACTIVATE, HandlerCapabilities::QUERY_BEFORE_DEACTIVATE)
        };
        if h.policies.contains(prevent) {
            return Err(CoreError::ForbiddenByPolicy { target, action });
        }
        ask(confirm, flags, h.capabilities.contains(query), &target, action)?;
        let e = self.entry_mut(handler)?;
        e.handler.active = activate;
        let saved = e.handler.clone();
        self.changes.push(Change::HandlerSaved(saved));
        self.notify(Notice::StateChanged { target, action });
        Ok(())
    }

    /// `EnableHandler`: refused by `PREVENT_ENABLE`/`DISABLE_ENABLE` (or the disable pair).
    pub fn enable_handler(
        &mut self,
        handler: &HandlerId,
        enable: bool,
        flags: ControlFlags,
        confirm: &mut dyn Confirm,
    ) -> Result<(), CoreError> {
        let h = &self.entry(handler)?.handler;
        let target = Target { handler: handler.clone(), item: None };
        let (action, forbidden, query) = if enable {
            (
                Action::Enable,
                HandlerPolicies::PREVENT_ENABLE | HandlerPolicies::DISABLE_ENABLE,
                HandlerCapabilities::QUERY_BEFORE_ENABLE,
            )
        } else {
            (
                Action::Disable,
                HandlerPolicies::PREVENT_DISABLE | HandlerPolicies::DISABLE_DISABLE,
                HandlerCapabilities::QUERY_BEFORE_DISABLE,
            )
        };
        if h.policies.intersects(forbidden) {
            return Err(CoreError::ForbiddenByPolicy { target, action });
        }
        ask(confirm, flags, h.capabilities.contains(query), &target, action)?;
        let e = self.entry_mut(handler)?;
        e.handler.enabled = enable;
        let saved = e.handler.clone();
        self.changes.push(Change::HandlerSaved(saved));
        self.notify(Notice::StateChanged { target, action });
        Ok(())
    }

    /// `EnableItem`: refused by the item's `PREVENT_ENABLE`/`DISABLE_ENABLE` (or the disable pair).
    pub fn enable_item(
        &mut self,
        handler: &HandlerId,
        item: &ItemId,
        enable: bool,
        flags: ControlFlags,
        confirm: &mut dyn Confirm,
    ) -> Result<(), CoreError> {
        let it = self.item_ref(handler, item)?;
        let target = Target { handler: handler.clone(), item: Some(item.clone()) };
        let (action, forbidden, query) = if enable {
            (
                Action::Enable,
                ItemPolicies::PREVENT_ENABLE | ItemPolicies::DISABLE_ENABLE,
                ItemCapabilities::QUERY_BEFORE_ENABLE,
            )
        } else {
            (
                Action::Disable,
                ItemPolicies::PREVENT_DISABLE | ItemPolicies::DISABLE_DISABLE,
                ItemCapabilities::QUERY_BEFORE_DISABLE,
            )
        };
        if it.policies.intersects(forbidden) {
            return Err(CoreError::ForbiddenByPolicy { target, action });
        }
        ask(confirm, flags, it.capabilities.contains(query), &target, action)?;
        let it = self.entry_mut(handler)?.items.get_mut(&item.folded()).expect("checked above");
        it.enabled = enable;
        let saved = it.clone();
        self.changes.push(Change::ItemSaved(handler.clone(), saved));
        self.notify(Notice::StateChanged { target, action });
        Ok(())
    }

    /// Deletes an item from the handler's sync set (`ISyncMgrSyncItem::Delete`): needs `CAN_DELETE`, is
    /// refused by `DISABLE_DELETE`, confirmed with `QUERY_BEFORE_DELETE`, and refused while it syncs.
    pub fn delete_item(
        &mut self,
        handler: &HandlerId,
        item: &ItemId,
        flags: ControlFlags,
        confirm: &mut dyn Confirm,
    ) -> Result<(), CoreError> {
        let it = self.item_ref(handler, item)?;
        let target = Target { handler: handler.clone(), item: Some(item.clone()) };
        if !it.capabilities.contains(ItemCapabilities::CAN_DELETE) {
            return Err(CoreError::NotDeletable(target));
        }
        if it.policies.contains(ItemPolicies::DISABLE_DELETE) {
            return Err(CoreError::ForbiddenByPolicy { target, action: Action::Delete });
        }
        if self.live_ids(handler).iter().any(|sid| self.sessions[sid].member(item).is_some()) {
            return Err(CoreError::TargetBusy(target));
        }
        ask(confirm, flags, it.capabilities.contains(ItemCapabilities::QUERY_BEFORE_DELETE), &target, Action::Delete)?;
        self.entry_mut(handler)?.items.remove(&item.folded());
        self.abandon_requests(handler, Some(item));
        self.changes.push(Change::ItemDeleted(handler.clone(), item.clone()));
        self.notify(Notice::StateChanged { target, action: Action::Delete });
        Ok(())
    }
}
