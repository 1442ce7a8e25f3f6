//! The hub's task. It drains the connections' queues in turns (round robin: a turn is up to 64 entries, a whole run
//! of coalesced progress counting as one, so a flooding connection gets its share and no more, and a stop from
//! another connection waits at most one round, which ends after the turn that outlasts 200 µs and is taken up
//! again once the lane has read its sockets; a round of running progress only is followed by a short pause,
//! during which connections with progress join the line without waking the hub, and which a call ends),
//! handles the daemon's own messages, hands batches to the writer whenever the writer can take one (group
//! commit), carries out deferred I/O and the periodic work. It never awaits the store.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::{Deferred, Hub};
use crate::fleet::remote;
use crate::inbox::{Entry, HubMsg};
use crate::outbox::{ConnId, reply_line};
use crate::queries::QueryContext;
use crate::ready::ReadyList;
use crate::scheduler::RunMsg;
use crate::writer::Batch;

/// Entries a connection may have taken in one turn: enough that a pipelining client's calls go to the writer
/// in one batch, few enough that a round over many busy connections stays short.
const ENTRIES_PER_TURN: usize = 64;

/// The pause after a round that took only running progress while connections still have more.
const PROGRESS_PACE: Duration = Duration::from_millis(1);

/// How long a round may run before it ends after the current turn (the rest of the line is served after the
/// lane has polled its sockets). The hub shares the control lane with the quiet connections: a stop that
/// arrives during a round is read only after it, and under a flood from 64 connections one round in a hundred
/// took more than 230 µs, the longest 1.9 ms.
const ROUND_BUDGET: Duration = Duration::from_micros(200);

/// What one round of turns took.
#[derive(Debug, Default)]
pub(crate) struct Round {
    /// Anything at all.
    pub(super) took: bool,
    /// Something other than running progress (a call or a reply that keeps its place).
    pub(super) calls: bool,
    /// It ended on its time budget with connections still in line.
    pub(super) cut: bool,
    /// The connections it took from.
    served: HashSet<ConnId>,
}

/// Rounds that took only running progress (a flood) are paced: the next waits [`PROGRESS_PACE`], so the
/// control lane's thread sleeps between them, collects the ready list when the pause ends, and is woken at
/// once only by a call (a quiet connection's stop). A connection the last round did not serve ends the pause
/// and goes first; the flooding ones (served last round) wait for it, their queues coalescing meanwhile
/// (latest wins: nothing is lost, nothing grows).
#[derive(Debug, Default)]
struct Pace {
    /// No round before this.
    until: Option<Instant>,
    /// The connections the last round served.
    served: HashSet<ConnId>,
    /// The ready list as last taken (kept for its allocation).
    arrived: Vec<ConnId>,
}

impl Pace {
    fn after(&mut self, round: &mut Round) {
        self.until = (round.took && !round.calls && !round.cut).then(|| Instant::now() + PROGRESS_PACE);
        self.served = std::mem::take(&mut round.served);
    }

    fn due(&self) -> bool {
        self.until.is_none_or(|t| Instant::now() >= t)
    }

    /// Puts the connections whose queues turned busy in line.
    fn collect(&mut self, list: &ReadyList, ready: &mut VecDeque<ConnId>) {
        list.take(&mut self.arrived);
        for conn in self.arrived.drain(..) {
            if self.served.contains(&conn) {
                ready.push_back(conn);
            } else {
                self.until = None;
                ready.push_front(conn);
            }
        }
    }
}

/// What the hub's task talks to.
#[derive(Debug)]
pub(crate) struct HubIo {
    pub(crate) inbox: mpsc::Receiver<HubMsg>,
    /// The connections whose queues have work.
    pub(crate) ready: std::sync::Arc<ReadyList>,
    pub(crate) runs: mpsc::Receiver<RunMsg>,
    pub(crate) writer: mpsc::Sender<Batch>,
    pub(crate) queries: QueryContext,
    /// Where store reads and forwarded calls run (off the control lane, which runs the hub).
    pub(crate) bulk: tokio::runtime::Handle,
}

fn interval(every: Duration) -> Interval {
    let mut i = tokio::time::interval(every);
    i.set_missed_tick_behavior(MissedTickBehavior::Delay);
    i
}

/// Runs until `Shutdown` (or every sender is gone), then ends live sessions and hands the writer the rest.
pub(crate) async fn run(mut hub: Hub, mut io: HubIo) {
    let mut publish = interval(hub.setup.intervals.publish);
    let mut flush = interval(hub.setup.intervals.progress_flush);
    let mut housekeeping = interval(Duration::from_secs(1));
    let mut ready: VecDeque<ConnId> = VecDeque::new();
    let mut pace = Pace::default();
    loop {
        let mut round = Round::default();
        if pace.due() {
            pace.collect(&io.ready, &mut ready);
            // A connection sends its `Open` before its queue can turn busy, so once the list is taken the inbox
            // holds the `Open` of every connection on it.
            if !handle_waiting_messages(&mut hub, &mut io.inbox) {
                break;
            }
            if !ready.is_empty() {
                round = hub.serve_round(&mut ready, ROUND_BUDGET);
                pace.after(&mut round);
                spawn_deferred(&mut hub, &io.queries, &io.bulk);
            }
        }
        io.ready.set_polling(pace.until.is_some());
        tokio::select! {
            biased;
            // A call, or progress while not pacing: the loop's top collects the list.
            () = io.ready.rung() => pace.until = None,
            msg = io.inbox.recv() => match msg {
                Some(msg) => if !hub.handle_message(msg) {
                    break;
                },
                None => break,
            },
            Some(msg) = io.runs.recv() => hub.run_reported(msg),
            permit = io.writer.reserve(), if hub.has_batch() => match permit {
                Ok(permit) => permit.send(hub.take_batch()),
                Err(_) => {
                    tracing::error!("the store writer has stopped; changes are lost");
                    hub.take_batch();
                }
            },
            _ = publish.tick() => hub.publish(),
            _ = flush.tick() => hub.flush_progress(),
            _ = housekeeping.tick() => hub.housekeeping(),
            // Connections are waiting: serve the next round without sleeping (unless every one of them waits
            // for the writer, whose branch above wakes the loop), after letting the lane's other tasks run and
            // its driver be polled: the hub shares the control lane with every quiet connection and every
            // reply's writer.
            () = tokio::task::yield_now(), if round.took && pace.until.is_none() && !ready.is_empty() => {}
            () = tokio::time::sleep_until(pace.until.unwrap_or_else(Instant::now)), if pace.until.is_some() => {
                pace.until = None;
            }
        }
        spawn_deferred(&mut hub, &io.queries, &io.bulk);
    }
    io.ready.close();
    hub.shutdown();
    spawn_deferred(&mut hub, &io.queries, &io.bulk);
    if hub.has_batch() {
        let _ = io.writer.send(hub.take_batch()).await;
    }
}

/// Handles the messages the inbox holds now. Returns false on shutdown.
fn handle_waiting_messages(hub: &mut Hub, inbox: &mut mpsc::Receiver<HubMsg>) -> bool {
    loop {
        match inbox.try_recv() {
            Ok(msg) => {
                if !hub.handle_message(msg) {
                    return false;
                }
            }
            Err(mpsc::error::TryRecvError::Empty) => return true,
            Err(mpsc::error::TryRecvError::Disconnected) => return false,
        }
    }
}

/// Starts the store reads and forwarded calls the hub asked for.
fn spawn_deferred(hub: &mut Hub, cx: &QueryContext, bulk: &tokio::runtime::Handle) {
    for work in hub.take_deferred() {
        match work {
            Deferred::Query { out, id, query, written } => {
                let cx = cx.clone();
                bulk.spawn(async move {
                    let _ = written.await;
                    out.send(reply_line(id, query.run(cx).await));
                });
            }
            Deferred::Forward { out, id, host, method, params } => {
                let fleet = cx.fleet.clone();
                bulk.spawn(async move {
                    let Some(shared) = fleet.shared else { return };
                    let timeout = fleet.timings.forward_timeout;
                    let reply = remote::forward(&shared, &fleet.waiters, &host, method, params, timeout).await;
                    if let Some(id) = id {
                        out.send(reply_line(id, reply));
                    }
                });
            }
            Deferred::ReleaseMemory => {
                bulk.spawn_blocking(|| {
                    let released = synccenter_platform::memory::release_freed_memory();
                    tracing::debug!(released, "gave the memory freed by ended sessions back to the system");
                });
            }
        }
    }
}

impl Hub {
    /// Returns false on shutdown.
    fn handle_message(&mut self, msg: HubMsg) -> bool {
        match msg {
            HubMsg::Open { conn, out, inbound } => self.open(conn, out, inbound),
            HubMsg::Closed { conn } => self.close(conn),
            HubMsg::Call { conn, id, call } => self.call(conn, Some(id), *call),
            HubMsg::EventsRemoved { removed } => self.events_removed(removed),
            HubMsg::EndedByFleet { sessions } => self.end_sessions_ended_by_fleet(&sessions),
            HubMsg::Reload => {
                if let Err(e) = self.reload() {
                    tracing::error!("configuration refused; keeping the last good one:\n{e}");
                }
                self.take_effects();
            }
            HubMsg::Shutdown => return false,
        }
        true
    }

    /// One turn for each connection that has work; those with more go to the back of the line. A turn that
    /// took a call ends the round there: the rest of the line is served after the lane has run the call's
    /// replies and pushes (a stop's push does not wait while every flooding connection's progress is applied).
    /// So does a turn that ends past `budget`: the lane reads what its quiet connections sent meanwhile.
    pub(crate) fn serve_round(&mut self, ready: &mut VecDeque<ConnId>, budget: Duration) -> Round {
        let mut round = Round::default();
        let started = Instant::now();
        for _ in 0..ready.len() {
            let Some(conn) = ready.pop_front() else { break };
            let Some(inbound) = self.conns.get(&conn).and_then(|c| c.inbound.clone()) else { continue };
            // A durable call waits in its queue while the writer is behind; the connection stays in line.
            if self.writer_is_behind() && inbound.next_is_durable() {
                ready.push_back(conn);
                continue;
            }
            let mut busy = true;
            let mut calls = false;
            for _ in 0..ENTRIES_PER_TURN {
                if self.writer_is_behind() && inbound.next_is_durable() {
                    break;
                }
                // An empty queue is idle now: its next push tells the hub again.
                let Some(entry) = inbound.take() else {
                    busy = false;
                    break;
                };
                calls |= !matches!(entry, Entry::Progress(_));
                self.take_entry(conn, &inbound, entry);
                round.took = true;
                round.served.insert(conn);
            }
            if busy {
                ready.push_back(conn);
            }
            if calls {
                round.calls = true;
                break;
            }
            if started.elapsed() >= budget && !ready.is_empty() {
                round.cut = true;
                break;
            }
        }
        round
    }
}
