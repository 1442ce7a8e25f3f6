//! Running progress the store and the watchers have not seen yet. Running progress is latest-wins and need not
//! be durable, so it is written every flush interval (or ahead of the next durable change) and published every
//! publish interval, the latest value per item each time, whatever the report rate. A final status bypasses
//! this: it is written and published at once.

use std::collections::{BTreeMap, BTreeSet};

use synccenter_core::{Change, ItemId, ItemProgress, SessionId};

#[derive(Debug)]
struct Pending {
    progress: ItemProgress,
    unwritten: bool,
    unpublished: bool,
}

#[derive(Debug, Default)]
pub(crate) struct ProgressLedger {
    items: BTreeMap<(SessionId, ItemId), Pending>,
    /// Sessions whose handler-level text changed since the last publish.
    texts: BTreeSet<SessionId>,
}

impl ProgressLedger {
    /// An item's running progress changed.
    pub(crate) fn running(&mut self, session: SessionId, item: ItemId, progress: ItemProgress) {
        self.items.insert((session, item), Pending { progress, unwritten: true, unpublished: true });
    }

    /// An item reached a final status, which is written and published at once: older running progress must
    /// not follow it.
    pub(crate) fn finished(&mut self, session: SessionId, item: &ItemId) {
        self.items.remove(&(session, item.clone()));
    }

    pub(crate) fn text_changed(&mut self, session: SessionId) {
        self.texts.insert(session);
    }

    /// The session ended: nothing of it is left to publish (its items' last values are already written).
    pub(crate) fn session_ended(&mut self, session: SessionId) {
        self.texts.remove(&session);
        for ((s, _), p) in &mut self.items {
            if *s == session {
                p.unpublished = false;
            }
        }
        self.items.retain(|_, p| p.unwritten || p.unpublished);
    }

    /// Running progress for the store, oldest first per item; marks it written.
    pub(crate) fn take_unwritten(&mut self) -> Vec<Change> {
        let mut changes = Vec::new();
        self.items.retain(|(session, item), p| {
            if p.unwritten {
                p.unwritten = false;
                changes.push(Change::ItemProgressed {
                    session: *session,
                    item: item.clone(),
                    progress: p.progress.clone(),
                });
            }
            p.unpublished
        });
        changes
    }

    /// Items and handler texts for watchers; marks them published.
    pub(crate) fn take_unpublished(&mut self) -> (Vec<(SessionId, ItemId, ItemProgress)>, BTreeSet<SessionId>) {
        let mut items = Vec::new();
        self.items.retain(|(session, item), p| {
            if p.unpublished {
                p.unpublished = false;
                items.push((*session, item.clone(), p.progress.clone()));
            }
            p.unwritten
        });
        (items, std::mem::take(&mut self.texts))
    }
}
