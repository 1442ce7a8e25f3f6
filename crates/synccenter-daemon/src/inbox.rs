//! What reaches the hub. Two roads: the daemon's own tasks send [`HubMsg`]s through one channel, and every
//! client connection has an [`Inbound`] queue of its own, which the hub drains in turns.
//!
//! The queue is what keeps a flood of progress from delaying anybody else. Running progress is latest-wins,
//! so consecutive reports for the same item replace each other in the queue instead of piling up: however fast
//! a client reports, the hub sees at most one value per item per turn, and its work is bounded by the number of
//! live items, not by the report rate. Every other call (a final status, an event, any request) keeps its
//! place in the order and is never merged. The queue is bounded; a connection whose queue is full stops reading
//! its socket until the hub has taken its turn, so a client that produces faster than the daemon consumes is
//! slowed by its own socket, and one connection's backlog is never another's wait.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use synccenter_core::{ItemId, SessionId};
use synccenter_protocol::RequestId;
use tokio::sync::Notify;

use crate::calls::{Call, Progress};
use crate::outbox::{ConnId, Outbox};

/// Messages from the daemon's own tasks.
#[derive(Debug)]
pub(crate) enum HubMsg {
    /// A connection opened; its queue is where its calls will arrive (none for the fleet's request runner,
    /// which sends `Call`s).
    Open {
        conn: ConnId,
        out: Outbox,
        inbound: Option<std::sync::Arc<Inbound>>,
    },
    /// A connection's queue has work (sent once per idle-to-busy change, so at most once per connection).
    Ready {
        conn: ConnId,
    },
    Closed {
        conn: ConnId,
    },
    /// A call run on behalf of another host of the fleet (its reply goes to the connection's outbox).
    Call {
        conn: ConnId,
        id: RequestId,
        call: Box<Call>,
    },
    /// A removal of events finished (sent by the task that ran it), for the live feed.
    EventsRemoved {
        removed: u64,
    },
    /// The fleet had declared this host down and ended these sessions of it (some may have ended here since).
    EndedByFleet {
        sessions: Vec<synccenter_core::SessionId>,
    },
    /// Re-read the configuration file (SIGHUP).
    Reload,
    Shutdown,
}

/// One unit of a connection's queue, in arrival order.
#[derive(Debug)]
pub(crate) enum Entry {
    /// A call (with its request ID; none for a notification).
    Call(Option<RequestId>, Box<Call>),
    /// Running progress reports, the latest per item, in the order each item was first reported.
    Progress(Vec<Progress>),
    /// A line answered on the connection's task (a refused request), sent in order with the replies.
    Reply(String),
}

#[derive(Debug, Default)]
struct Queue {
    entries: VecDeque<Entry>,
    /// Where each item's report sits in the last entry, while that entry is a run of progress.
    open_run: HashMap<(SessionId, ItemId), usize>,
    /// Calls and distinct reports queued.
    len: usize,
    /// The hub has been told this queue has work and has not yet found it empty.
    scheduled: bool,
    /// Reports merged into a newer one (counted as taken in, like the rest).
    merged: u64,
}

/// A connection's queue between its task (which pushes) and the hub (which takes).
#[derive(Debug)]
pub(crate) struct Inbound {
    queue: Mutex<Queue>,
    /// Wakes the connection's task when the hub made room.
    room: Notify,
    capacity: usize,
}

/// What [`Inbound::push_progress`] and [`Inbound::push`] tell the connection's task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pushed {
    /// The queue was idle: the hub must be told (`HubMsg::Ready`).
    pub(crate) wake_hub: bool,
    /// The queue is at capacity: stop reading until [`Inbound::wait_for_room`] returns.
    pub(crate) full: bool,
}

impl Inbound {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { queue: Mutex::default(), room: Notify::new(), capacity: capacity.max(1) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a running progress report; replaces the item's previous report when nothing else came between.
    /// A report with a bad ID must not come here (it is a notification: nothing to answer).
    pub(crate) fn push_progress(&self, key: (SessionId, ItemId), report: Progress) -> Pushed {
        let mut q = self.lock();
        if let Some(&at) = q.open_run.get(&key) {
            if let Some(Entry::Progress(run)) = q.entries.back_mut() {
                run[at] = report;
            }
            q.merged += 1;
        } else {
            if !matches!(q.entries.back(), Some(Entry::Progress(_))) {
                q.entries.push_back(Entry::Progress(Vec::new()));
                q.open_run.clear();
            }
            if let Some(Entry::Progress(run)) = q.entries.back_mut() {
                run.push(report);
                let at = run.len() - 1;
                q.open_run.insert(key, at);
            }
            q.len += 1;
        }
        Self::pushed(&mut q, self.capacity)
    }

    /// Queues a call or a line that must keep its place.
    pub(crate) fn push(&self, entry: Entry) -> Pushed {
        let mut q = self.lock();
        q.open_run.clear();
        q.len += 1;
        q.entries.push_back(entry);
        Self::pushed(&mut q, self.capacity)
    }

    fn pushed(q: &mut Queue, capacity: usize) -> Pushed {
        let wake_hub = !std::mem::replace(&mut q.scheduled, true);
        Pushed { wake_hub, full: q.len >= capacity }
    }

    /// Waits until the queue is below its capacity.
    pub(crate) async fn wait_for_room(&self) {
        loop {
            let notified = self.room.notified();
            if self.lock().len < self.capacity {
                return;
            }
            notified.await;
        }
    }

    /// The hub's turn: takes the oldest entry (a whole run of progress counts as one). Returns `None`, and
    /// marks the queue idle, when it is empty: the connection then wakes the hub again with its next push.
    pub(crate) fn take(&self) -> Option<Entry> {
        let mut q = self.lock();
        let Some(entry) = q.entries.pop_front() else {
            q.scheduled = false;
            return None;
        };
        let before = q.len;
        q.len -= match &entry {
            Entry::Progress(run) => run.len(),
            _ => 1,
        };
        if q.entries.is_empty() {
            q.open_run.clear();
        }
        // A whole run of reports leaves at once: the queue may go from full to far below its capacity.
        let was_full = before >= self.capacity && q.len < self.capacity;
        drop(q);
        if was_full {
            self.room.notify_one();
        }
        Some(entry)
    }

    /// Whether the next entry is a call that must be stored before its reply (the hub defers those while its
    /// writer is behind).
    pub(crate) fn next_is_durable(&self) -> bool {
        matches!(self.lock().entries.front(), Some(Entry::Call(_, call)) if call.is_durable())
    }

    /// Reports merged into newer ones since the last call (they count as taken in).
    pub(crate) fn take_merged(&self) -> u64 {
        std::mem::take(&mut self.lock().merged)
    }
}

#[cfg(test)]
mod tests {
    use synccenter_protocol::StatusWire;

    use super::*;

    fn report(session: SessionId, item: &str, step: u32) -> ((SessionId, ItemId), Progress) {
        let p = Progress::new(&session.to_string(), item, StatusWire::Updating, None, Some(step), Some(100));
        let key = p.target.clone().expect("valid IDs");
        (key, p)
    }

    fn steps(entry: Entry) -> Vec<u32> {
        match entry {
            Entry::Progress(run) => run.iter().map(|p| p.step.unwrap_or(0)).collect(),
            other => panic!("expected progress, got {other:?}"),
        }
    }

    #[test]
    fn running_progress_is_latest_wins_per_item_and_keeps_first_seen_order() {
        let q = Inbound::new(100);
        let s = SessionId::parse("00000000-0000-0000-0000-000000000001").expect("uuid");
        for step in 0..50 {
            let (k, p) = report(s, "a", step);
            q.push_progress(k, p);
            let (k, p) = report(s, "b", step + 100);
            q.push_progress(k, p);
        }
        assert_eq!(steps(q.take().expect("one run")), vec![49, 149]);
        assert!(q.take().is_none());
        assert_eq!(q.take_merged(), 98);
    }

    #[test]
    fn a_call_between_reports_keeps_its_place() {
        let q = Inbound::new(100);
        let s = SessionId::parse("00000000-0000-0000-0000-000000000001").expect("uuid");
        let (k, p) = report(s, "a", 1);
        q.push_progress(k, p);
        q.push(Entry::Reply("between".into()));
        let (k, p) = report(s, "a", 2);
        q.push_progress(k, p);
        assert_eq!(steps(q.take().expect("first run")), vec![1]);
        assert!(matches!(q.take(), Some(Entry::Reply(l)) if l == "between"));
        assert_eq!(steps(q.take().expect("second run")), vec![2]);
    }

    #[test]
    fn taking_a_run_that_filled_the_queue_makes_room() {
        let q = Inbound::new(2);
        let s = SessionId::parse("00000000-0000-0000-0000-000000000001").expect("uuid");
        let (k, p) = report(s, "a", 1);
        q.push_progress(k, p);
        let (k, p) = report(s, "b", 1);
        assert!(q.push_progress(k, p).full);
        let waiting = q.wait_for_room();
        let mut waiting = std::pin::pin!(waiting);
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        assert!(waiting.as_mut().poll(&mut cx).is_pending(), "a full queue has no room");
        assert_eq!(steps(q.take().expect("the run")), vec![1, 1]);
        assert!(waiting.as_mut().poll(&mut cx).is_ready(), "the reader must be woken");
    }

    #[test]
    fn the_hub_is_woken_once_per_busy_spell_and_a_full_queue_says_so() {
        let q = Inbound::new(2);
        assert!(q.push(Entry::Reply("1".into())).wake_hub);
        let second = q.push(Entry::Reply("2".into()));
        assert!(!second.wake_hub);
        assert!(second.full);
        assert!(q.take().is_some());
        assert!(q.take().is_some());
        assert!(q.take().is_none());
        assert!(q.push(Entry::Reply("3".into())).wake_hub, "an emptied queue wakes the hub again");
    }
}
