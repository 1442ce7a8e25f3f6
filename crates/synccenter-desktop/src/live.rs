//! What is live right now, as the sleep inhibitor and the dock need it: the live sessions with their items'
//! progress, and per handler whether it is paused, whether it lets a sync keep the machine awake
//! (`inhibit_sleep`), its errors needing attention and its unresolved conflicts. Fed from the daemon's feed and
//! the handler list (`handler.list`); pure, so every rule is tested without a daemon or a bus.

use std::collections::BTreeMap;

use synccenter_client::methods::{AmountInfo, HandlerInfo, SessionInfo, SessionItemInfo, UpdateKind};
use synccenter_client::{EventLevelWire, StatusWire};
use synccenter_human::Unit;

/// An amount in its unit: the unit, done, total (0: not known).
pub(crate) type Amount = (Unit, u64, u64);

/// One item of a live session: how far it got.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct ItemProgress {
    done: bool,
    step: u32,
    max_step: u32,
    amount: Option<Amount>,
}

impl ItemProgress {
    fn of(status: Option<StatusWire>, step: u32, max_step: u32, amount: Option<&AmountInfo>) -> ItemProgress {
        let amount = amount.map(|a| (a.unit.into(), a.done, a.total));
        ItemProgress { done: status.is_some_and(StatusWire::is_final), step, max_step, amount }
    }

    /// 0..=1: a finished item is complete, one without a maximum has not measurably begun.
    fn fraction(self) -> f64 {
        match (self.done, self.max_step) {
            (true, _) => 1.0,
            (false, 0) => 0.0,
            (false, max) => f64::from(self.step.min(max)) / f64::from(max),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
struct LiveSession {
    handler: String,
    items: BTreeMap<String, ItemProgress>,
}

/// What the handler list says of one handler.
#[derive(Clone, Debug, PartialEq, Eq)]
struct HandlerState {
    name: String,
    paused: bool,
    inhibit_sleep: bool,
    errors: u64,
    conflicts: u32,
}

/// What to read again from the daemon after an update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refresh {
    /// Nothing: the update itself said everything.
    Nothing,
    /// The handler list: a pause, a setting, an error count or a conflict count changed.
    Handlers,
}

/// The dock's properties, as `LauncherEntry.Update` carries them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DockState {
    /// Errors needing attention plus unresolved conflicts.
    pub count: u64,
    /// The aggregate progress of the live syncs in thousandths, or `None` when none runs.
    pub progress_permille: Option<u16>,
    /// A conflict appeared while this ran and conflicts are still unresolved.
    pub urgent: bool,
}

/// The live state: sessions, handlers and whether a new conflict appeared.
#[derive(Clone, Debug, Default)]
pub struct Live {
    sessions: BTreeMap<String, LiveSession>,
    handlers: BTreeMap<String, HandlerState>,
    /// The handler list has been read once: conflicts seen after that are new.
    known: bool,
    urgent: bool,
}

impl Live {
    /// Starts again from a snapshot (at start, after a lag or a reconnection); an urgent state stays while its
    /// conflicts do.
    pub fn reset(&mut self, handlers: &[HandlerInfo], sessions: &[SessionInfo]) {
        self.sessions = sessions.iter().map(|s| (s.session.clone(), live_session(&s.handler, &s.items))).collect();
        self.set_handlers(handlers);
    }

    /// Takes the handler list as it is now; a handler with more conflicts than before raises `urgent`.
    pub fn set_handlers(&mut self, handlers: &[HandlerInfo]) {
        let new: BTreeMap<String, HandlerState> = handlers
            .iter()
            .map(|h| {
                let state = HandlerState {
                    name: h.name.clone(),
                    paused: h.paused,
                    inhibit_sleep: h.inhibit_sleep.unwrap_or(true),
                    errors: h.error_count,
                    conflicts: h.conflict_count,
                };
                (h.handler.clone(), state)
            })
            .collect();
        let grew = new.iter().any(|(id, h)| h.conflicts > self.handlers.get(id).map_or(0, |old| old.conflicts));
        if self.known && grew {
            self.urgent = true;
        }
        self.handlers = new;
        self.known = true;
        if self.conflicts() == 0 {
            self.urgent = false;
        }
    }

    /// Takes one update of the feed; says what must be read again.
    pub fn apply(&mut self, change: &UpdateKind) -> Refresh {
        match change {
            UpdateKind::SessionStarted { session } => {
                self.sessions.insert(session.session.clone(), live_session(&session.handler, &session.items));
                Refresh::Nothing
            }
            UpdateKind::Progress { session, item, status, step, max_step, amount, .. } => {
                if let Some(s) = self.sessions.get_mut(session) {
                    s.items.insert(item.clone(), ItemProgress::of(*status, *step, *max_step, amount.as_ref()));
                }
                Refresh::Nothing
            }
            UpdateKind::SessionEnded { session, .. } => {
                self.sessions.remove(session);
                // Its errors and conflicts are counted in the handler list.
                Refresh::Handlers
            }
            UpdateKind::EventAdded { event } if event.level != EventLevelWire::Error => Refresh::Nothing,
            UpdateKind::EventAdded { .. }
            | UpdateKind::EventsRemoved { .. }
            | UpdateKind::ConflictsChanged { .. }
            | UpdateKind::RegistryChanged { .. } => Refresh::Handlers,
            UpdateKind::HandlerText { .. } | UpdateKind::CancelRequested { .. } => Refresh::Nothing,
        }
    }

    fn may_inhibit(&self, handler: &str) -> bool {
        self.handlers.get(handler).is_none_or(|h| !h.paused && h.inhibit_sleep)
    }

    /// The display names of the handlers whose syncs keep the machine awake now (live, not paused, not opted
    /// out), sorted and without repeats; empty when none.
    pub(crate) fn inhibitors(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .sessions
            .values()
            .filter(|s| self.may_inhibit(&s.handler))
            .map(|s| self.handlers.get(&s.handler).map_or_else(|| s.handler.clone(), |h| h.name.clone()))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Whether any sync runs that may keep the machine awake.
    pub(crate) fn any_sync_running_that_may_inhibit(&self) -> bool {
        self.sessions.values().any(|s| self.may_inhibit(&s.handler))
    }

    /// The aggregate progress of the live syncs, 0..=1, each item weighing the same (a session of ten items
    /// weighs ten times one of a single item); `None` when no session is live.
    pub(crate) fn progress(&self) -> Option<f64> {
        if self.sessions.is_empty() {
            return None;
        }
        let (sum, n) = self
            .sessions
            .values()
            .flat_map(|s| s.items.values())
            .fold((0.0, 0u32), |(sum, n), i| (sum + i.fraction(), n + 1));
        Some(if n == 0 { 0.0 } else { (sum / f64::from(n)).clamp(0.0, 1.0) })
    }

    /// The running items' amounts added up, when at least one reports one and all that do count the same
    /// unit; the total is 0 (not known) when one of theirs is.
    pub(crate) fn amount(&self) -> Option<Amount> {
        let mut amounts =
            self.sessions.values().flat_map(|s| s.items.values()).filter(|i| !i.done).filter_map(|i| i.amount);
        let first = amounts.next()?;
        amounts.try_fold(first, |(unit, done, total), (u, d, t)| {
            (u == unit)
                .then(|| (unit, done.saturating_add(d), if total == 0 || t == 0 { 0 } else { total.saturating_add(t) }))
        })
    }

    /// Unresolved conflicts.
    pub fn conflicts(&self) -> u64 {
        self.handlers.values().map(|h| u64::from(h.conflicts)).sum()
    }

    /// Errors needing attention (error events not cleared) plus unresolved conflicts.
    pub fn attention(&self) -> u64 {
        self.handlers.values().map(|h| h.errors).sum::<u64>() + self.conflicts()
    }

    /// A conflict appeared since this started, and conflicts remain unresolved.
    pub(crate) fn urgent(&self) -> bool {
        self.urgent
    }

    pub fn dock(&self) -> DockState {
        DockState {
            count: self.attention(),
            progress_permille: self.progress().map(|p| (p * 1000.0).round() as u16),
            urgent: self.urgent(),
        }
    }
}

fn live_session(handler: &str, items: &[SessionItemInfo]) -> LiveSession {
    let items = items
        .iter()
        .map(|i| (i.item.clone(), ItemProgress::of(i.status, i.step, i.max_step, i.amount.as_ref())))
        .collect();
    LiveSession { handler: handler.to_owned(), items }
}

#[cfg(test)]
#[path = "live_tests.rs"]
mod tests;
