//! What reaches the hub. Two roads: the daemon's own tasks send [`HubMsg`]s through one channel, and every
//! client connection has an [`Inbound`] queue of its own, which the hub drains in turns (a queue that turns
//! busy puts its connection on the `ready` list).
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
use crate::ready::Urgency;

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
    /// Where the last report went in that run.
    last: Option<usize>,
    /// Calls and distinct reports queued.
    len: usize,
    /// How urgently the hub has been told this queue has work (none: not told, or found empty since).
    told: Option<Urgency>,
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

/// What the hub must be told of a push.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tell {
    Nothing,
    /// The queue turned busy: the connection goes on the ready list.
    Add(Urgency),
    /// The connection is on the list for progress and has a call now: ring the hub.
    Ring,
}

/// What [`Inbound::push_progress`] and [`Inbound::push`] tell the connection's task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pushed {
    pub(crate) tell: Tell,
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
    pub(crate) fn push_progress(&self, report: Progress) -> Pushed {
        let key = &report.target;
        let mut guard = self.lock();
        let q = &mut *guard;
        let open = match q.entries.back_mut() {
            Some(Entry::Progress(run)) => Some(run),
            _ => None,
        };
        if let Some(run) = open {
            // The item of the last report again (one item's flood) is found without hashing its key.
            let at = q
                .last
                .filter(|&at| run.get(at).is_some_and(|r| r.target == *key))
                .or_else(|| q.open_run.get(key).copied());
            if let Some(at) = at {
                run[at] = report;
                q.last = Some(at);
                q.merged += 1;
                return Self::pushed(q, self.capacity, Urgency::Soon);
            }
            q.open_run.insert(key.clone(), run.len());
            q.last = Some(run.len());
            run.push(report);
        } else {
            q.open_run.clear();
            q.open_run.insert(key.clone(), 0);
            q.last = Some(0);
            q.entries.push_back(Entry::Progress(vec![report]));
        }
        q.len += 1;
        Self::pushed(q, self.capacity, Urgency::Soon)
    }

    /// Queues a call or a line that must keep its place.
    pub(crate) fn push(&self, entry: Entry) -> Pushed {
        let mut q = self.lock();
        q.open_run.clear();
        q.last = None;
        q.len += 1;
        q.entries.push_back(entry);
        Self::pushed(&mut q, self.capacity, Urgency::Now)
    }

    fn pushed(q: &mut Queue, capacity: usize, urgency: Urgency) -> Pushed {
        let tell = match q.told {
            None => Tell::Add(urgency),
            Some(told) if told < urgency => Tell::Ring,
            Some(_) => Tell::Nothing,
        };
        q.told = q.told.max(Some(urgency));
        Pushed { tell, full: q.len >= capacity }
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
    /// marks the queue idle, when it is empty: the connection then tells the hub again with its next push.
    pub(crate) fn take(&self) -> Option<Entry> {
        let mut q = self.lock();
        let Some(entry) = q.entries.pop_front() else {
            q.told = None;
            return None;
        };
        let before = q.len;
        q.len -= match &entry {
            Entry::Progress(run) => run.len(),
            _ => 1,
        };
        if q.entries.is_empty() {
            q.open_run.clear();
            q.last = None;
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

    fn report(session: SessionId, item: &str, step: u32) -> Progress {
        Progress::new(&session.to_string(), item, StatusWire::Updating, None, Some(step), Some(100)).expect("valid IDs")
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
            q.push_progress(report(s, "a", step));
            q.push_progress(report(s, "b", step + 100));
        }
        assert_eq!(steps(q.take().expect("one run")), vec![49, 149]);
        assert!(q.take().is_none());
        assert_eq!(q.take_merged(), 98);
    }

    #[test]
    fn repeated_reports_of_one_item_replace_each_other_between_others() {
        let q = Inbound::new(100);
        let s = SessionId::parse("00000000-0000-0000-0000-000000000001").expect("uuid");
        for (item, step) in [("a", 1), ("a", 2), ("b", 1), ("b", 2), ("a", 3), ("a", 4), ("c", 1), ("b", 3)] {
            q.push_progress(report(s, item, step));
        }
        assert_eq!(steps(q.take().expect("one run")), vec![4, 3, 1]);
        assert_eq!(q.take_merged(), 5);
    }

    #[test]
    fn a_call_between_reports_keeps_its_place() {
        let q = Inbound::new(100);
        let s = SessionId::parse("00000000-0000-0000-0000-000000000001").expect("uuid");
        q.push_progress(report(s, "a", 1));
        q.push(Entry::Reply("between".into()));
        q.push_progress(report(s, "a", 2));
        assert_eq!(steps(q.take().expect("first run")), vec![1]);
        assert!(matches!(q.take(), Some(Entry::Reply(l)) if l == "between"));
        assert_eq!(steps(q.take().expect("second run")), vec![2]);
    }

    #[test]
    fn taking_a_run_that_filled_the_queue_makes_room() {
        let q = Inbound::new(2);
        let s = SessionId::parse("00000000-0000-0000-0000-000000000001").expect("uuid");
        q.push_progress(report(s, "a", 1));
        assert!(q.push_progress(report(s, "b", 1)).full);
        let waiting = q.wait_for_room();
        let mut waiting = std::pin::pin!(waiting);
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        assert!(waiting.as_mut().poll(&mut cx).is_pending(), "a full queue has no room");
        assert_eq!(steps(q.take().expect("the run")), vec![1, 1]);
        assert!(waiting.as_mut().poll(&mut cx).is_ready(), "the reader must be woken");
    }

    #[test]
    fn the_hub_is_told_once_per_busy_spell_and_a_full_queue_says_so() {
        let q = Inbound::new(2);
        assert_eq!(q.push(Entry::Reply("1".into())).tell, Tell::Add(Urgency::Now));
        let second = q.push(Entry::Reply("2".into()));
        assert_eq!(second.tell, Tell::Nothing);
        assert!(second.full);
        assert!(q.take().is_some());
        assert!(q.take().is_some());
        assert!(q.take().is_none());
        let again = q.push(Entry::Reply("3".into())).tell;
        assert_eq!(again, Tell::Add(Urgency::Now), "an emptied queue tells the hub again");
    }

    #[test]
    fn progress_tells_the_hub_at_its_pace_and_a_call_behind_it_rings() {
        let q = Inbound::new(100);
        let s = SessionId::parse("00000000-0000-0000-0000-000000000001").expect("uuid");
        assert_eq!(q.push_progress(report(s, "a", 1)).tell, Tell::Add(Urgency::Soon));
        assert_eq!(q.push_progress(report(s, "b", 1)).tell, Tell::Nothing);
        assert_eq!(q.push(Entry::Reply("stop".into())).tell, Tell::Ring, "a call does not wait for the pace");
        assert_eq!(q.push(Entry::Reply("status".into())).tell, Tell::Nothing, "rung once");
        assert_eq!(q.push_progress(report(s, "a", 2)).tell, Tell::Nothing);
    }
}
