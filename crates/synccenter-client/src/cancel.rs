//! The stops the daemon pushed for a session (`session.cancel_requested`), kept by the connection's reader and
//! read by the session.

use std::collections::BTreeSet;

use synccenter_protocol::CancelWire;
use synccenter_protocol::methods::CancelRequestedPush;

/// The stops requested for a session so far. Sticky: a stop is never withdrawn.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CancelState {
    /// A handler-level stop (`cancel_all`): every item must stop.
    pub all: bool,
    /// Items with an item-level stop.
    pub items: BTreeSet<String>,
}

impl CancelState {
    /// Whether `item` must stop.
    pub fn is_cancelled(&self, item: &str) -> bool {
        self.all || self.items.contains(item)
    }

    /// Whether any stop was requested.
    pub fn any(&self) -> bool {
        self.all || !self.items.is_empty()
    }
}

/// What the reader publishes for one session.
#[derive(Clone, Debug, Default)]
pub(crate) struct CancelSnapshot {
    pub(crate) state: CancelState,
    pub(crate) last: Option<CancelRequestedPush>,
    /// Pushes received so far.
    pub(crate) count: u64,
    pub(crate) closed: bool,
}

impl CancelSnapshot {
    pub(crate) fn apply(&mut self, push: CancelRequestedPush) {
        match (push.cancel, &push.item) {
            (CancelWire::None, _) => {}
            (CancelWire::CancelAll, _) | (CancelWire::CancelItem, None) => self.state.all = true,
            (CancelWire::CancelItem, Some(item)) => {
                self.state.items.insert(item.clone());
            }
        }
        self.count += 1;
        self.last = Some(push);
    }
}
