//! Which connections' queues have work: the connections add themselves when their queue turns busy, and the
//! hub takes the whole list at once. Waking the hub crosses threads (it runs on the control lane; a flood is
//! read on the bulk lane), and a wake per connection per read was most of what a flood from many connections
//! cost. So the hub is woken only when it must be: for a call (a stop, a `status`: served at once), or for
//! running progress while the hub is not coming back for the list by itself. While a flood is paced the hub
//! collects the list every pace, and progress adds itself without waking anybody. One wake serves any number
//! of connections.

use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::outbox::ConnId;

/// How soon the hub must look at a connection's queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Urgency {
    /// At its next look (running progress: latest-wins, nothing is lost by waiting a pace).
    Soon,
    /// Now (a call, or a line that answers one).
    Now,
}

/// The hub has stopped; connections close.
#[derive(Debug)]
pub(crate) struct HubGone;

#[derive(Debug, Default)]
struct State {
    conns: Vec<ConnId>,
    /// The bell has been rung since the hub last took the list.
    rung: bool,
    /// The hub will take the list within its pace without being rung.
    polling: bool,
    closed: bool,
}

#[derive(Debug, Default)]
pub(crate) struct ReadyList {
    state: Mutex<State>,
    bell: Notify,
}

impl ReadyList {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `conn`'s queue turned busy.
    pub(crate) fn add(&self, conn: ConnId, urgency: Urgency) -> Result<(), HubGone> {
        let mut state = self.lock();
        if state.closed {
            return Err(HubGone);
        }
        state.conns.push(conn);
        let ring = urgency == Urgency::Now || !state.polling;
        self.ring_locked(&mut state, ring);
        Ok(())
    }

    /// A connection already in line has a call now: the hub must not wait for its pace.
    pub(crate) fn ring(&self) -> Result<(), HubGone> {
        let mut state = self.lock();
        if state.closed {
            return Err(HubGone);
        }
        self.ring_locked(&mut state, true);
        Ok(())
    }

    fn ring_locked(&self, state: &mut State, ring: bool) {
        if ring && !std::mem::replace(&mut state.rung, true) {
            // A permit is stored when the hub is not waiting: its next wait returns at once.
            self.bell.notify_one();
        }
    }

    /// Resolves once the bell has been rung (at once when it was rung while the hub was busy).
    pub(crate) async fn rung(&self) {
        self.bell.notified().await;
    }

    /// The hub's look: moves the list into `into` (empty when called) and silences the bell.
    pub(crate) fn take(&self, into: &mut Vec<ConnId>) {
        let mut state = self.lock();
        std::mem::swap(&mut state.conns, into);
        state.rung = false;
    }

    /// Whether the hub will look again within its pace by itself. Turning it off with connections waiting
    /// rings the bell, so none added meanwhile waits for a look that is not coming.
    pub(crate) fn set_polling(&self, polling: bool) {
        let mut state = self.lock();
        state.polling = polling;
        let waiting = !state.conns.is_empty();
        self.ring_locked(&mut state, !polling && waiting);
    }

    /// The hub has stopped: every later add fails.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use super::*;

    fn is_rung(list: &ReadyList) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        matches!(pin!(list.rung()).poll(&mut cx), Poll::Ready(()))
    }

    fn taken(list: &ReadyList) -> Vec<ConnId> {
        let mut into = Vec::new();
        list.take(&mut into);
        into
    }

    #[test]
    fn progress_rings_only_a_hub_that_is_not_polling() {
        let list = ReadyList::default();
        list.add(1, Urgency::Soon).expect("open");
        list.add(2, Urgency::Soon).expect("open");
        assert!(is_rung(&list), "an idle hub is woken by progress");
        assert!(!is_rung(&list), "one wake for both");
        assert_eq!(taken(&list), [1, 2]);
        list.set_polling(true);
        list.add(3, Urgency::Soon).expect("open");
        assert!(!is_rung(&list), "a polling hub takes progress at its pace");
        assert_eq!(taken(&list), [3]);
    }

    #[test]
    fn a_call_rings_a_polling_hub() {
        let list = ReadyList::default();
        list.set_polling(true);
        list.add(1, Urgency::Now).expect("open");
        assert!(is_rung(&list));
        list.add(2, Urgency::Soon).expect("open");
        list.ring().expect("open");
        assert!(!is_rung(&list), "rung once until the hub takes the list");
        assert_eq!(taken(&list), [1, 2]);
        list.ring().expect("open");
        assert!(is_rung(&list), "a call of a connection already in line");
    }

    #[test]
    fn a_hub_that_stops_polling_is_rung_for_what_came_meanwhile() {
        let list = ReadyList::default();
        list.set_polling(true);
        list.add(1, Urgency::Soon).expect("open");
        assert!(!is_rung(&list));
        list.set_polling(false);
        assert!(is_rung(&list), "the connection would wait for a look that is not coming");
        assert_eq!(taken(&list), [1]);
        list.set_polling(false);
        assert!(!is_rung(&list), "nothing waits");
    }

    #[test]
    fn a_closed_list_refuses() {
        let list = ReadyList::default();
        list.close();
        assert!(list.add(1, Urgency::Now).is_err());
        assert!(list.ring().is_err());
    }
}
