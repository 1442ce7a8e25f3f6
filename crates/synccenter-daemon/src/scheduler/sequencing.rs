//! The scheduler's side of the order between syncs (`after`, `exclusive`): it feeds [`order`](super::order)'s
//! plain state with what happens to runs, and starts a run's task when its exclusive groups let it.
//!
//! A run whose group is busy still gets its session at once (the core would fail a request that no session
//! takes within its hand-off time); only its task waits, in the [`Gate`](super::order::Gate)'s queue.

use std::collections::BTreeSet;
use std::time::Duration;

use synccenter_config::ItemConfig;
use synccenter_core::{HandlerId, ItemId, ProgressStatus, SessionId, Timestamp};
use tokio::sync::{mpsc, watch};

use super::order::Verdict;
use super::{CancelSet, Due, RunMsg, Scheduler, run_items};
use crate::conditions::TargetSources;
use crate::runlog::LogSetup;

/// What starts a run's task once its exclusive groups are free.
#[derive(Debug)]
pub(super) struct Launch {
    pub(super) plan: Vec<ItemConfig>,
    pub(super) grace: Duration,
    pub(super) sources: TargetSources,
    pub(super) logs: Option<LogSetup>,
    pub(super) cancel: watch::Receiver<CancelSet>,
    pub(super) hub: mpsc::Sender<RunMsg>,
}

impl Launch {
    fn go(self, session: SessionId) {
        tokio::spawn(run_items(session, self.plan, (self.grace, self.sources), self.logs, self.cancel, self.hub));
    }
}

/// An item with `after` that is not run this cycle, and why.
#[derive(Debug)]
pub(crate) struct Skip {
    pub(crate) handler: HandlerId,
    pub(crate) item: ItemId,
    pub(crate) why: String,
}

impl Scheduler {
    /// Items whose predecessors all succeeded since their last run (to start, per handler, when their run
    /// conditions hold), and those whose predecessors did not all succeed (to skip).
    pub(crate) fn after_due(&self, now: Timestamp) -> (Vec<Due>, Vec<Skip>) {
        let (mut due, mut skips) = (Vec::new(), Vec::new());
        for h in &self.config.handlers {
            let mut items = Vec::new();
            for i in h.items.iter().filter(|i| !i.order.after.is_empty()) {
                let key = (h.id.clone(), i.id.clone());
                match self.after.verdict(&key, &i.order.after) {
                    Verdict::Wait => {}
                    Verdict::Run if self.items.get(&key).and_then(|s| self.held(i, s, now)).is_some() => {}
                    Verdict::Run => items.push(i.id.clone()),
                    Verdict::Skip(why) => skips.push(Skip { handler: h.id.clone(), item: i.id.clone(), why }),
                }
            }
            if !items.is_empty() {
                due.push(Due { handler: h.id.clone(), items, retry: false });
            }
        }
        (due, skips)
    }

    /// Whether an item with `after` is ready to run: its predecessors all succeeded since its last run.
    pub(super) fn after_ready(&self, key: &(HandlerId, ItemId), config: &ItemConfig) -> bool {
        matches!(self.after.verdict(key, &config.order.after), Verdict::Run)
    }

    /// A skip uses the item's cycle up, as a start does.
    pub(crate) fn skipped(&mut self, skip: &Skip) {
        self.after.started((skip.handler.clone(), skip.item.clone()));
    }

    /// An item's run ended; `retry_pending` when it failed and will be retried (not the end of its cycle).
    pub(crate) fn order_ended(
        &mut self,
        handler: &HandlerId,
        item: &ItemId,
        status: ProgressStatus,
        retry_pending: bool,
    ) {
        if !retry_pending {
            self.after.ended((handler.clone(), item.clone()), status);
        }
    }

    /// These items start (or their start was issued): a new cycle begins for each.
    pub(super) fn order_started(&mut self, handler: &HandlerId, items: &[ItemId]) {
        for i in items {
            self.after.started((handler.clone(), i.clone()));
        }
    }

    /// The configuration lists exactly `keys` now.
    pub(super) fn order_configured(&mut self, keys: &BTreeSet<(HandlerId, ItemId)>) {
        self.after.configured(keys);
    }

    /// Starts the run's task now, or queues it behind its busy exclusive groups; `Some` says what it waits for.
    pub(super) fn launch(&mut self, session: SessionId, handler: &HandlerId, launch: Launch) -> Option<String> {
        let groups: BTreeSet<String> = launch.plan.iter().filter_map(|i| i.order.exclusive.clone()).collect();
        let label = launch.plan.iter().map(|i| format!("{handler}/{}", i.id)).collect::<Vec<_>>().join(", ");
        match self.gate.admit(session, groups, label, launch) {
            Ok(launch) => {
                launch.go(session);
                None
            }
            Err(why) => Some(why),
        }
    }

    /// `session`'s run ended (or never ran): the queued runs its groups let through start.
    pub(super) fn release_groups(&mut self, session: SessionId) {
        for (next, launch) in self.gate.release(session) {
            launch.go(next);
        }
    }

    /// History at the daemon's start: each item's last start and last successful end, `(when, an end, handler,
    /// item)`, applied in time order (a start before an end at the same time).
    pub(crate) fn seed_order(&mut self, mut history: Vec<(Timestamp, bool, HandlerId, ItemId)>) {
        history.sort_by_key(|(at, end, _, _)| (*at, *end));
        for (_, end, handler, item) in history {
            if end {
                self.after.ended((handler, item), ProgressStatus::Succeeded);
            } else {
                self.after.started((handler, item));
            }
        }
    }

    /// Every run queued for its exclusive groups, with its items and what it waits for now.
    pub(crate) fn queued_runs(&self) -> Vec<(SessionId, Vec<ItemId>, String)> {
        let items = |s: SessionId| self.gate.queued(s).map(|l| l.plan.iter().map(|i| i.id.clone()).collect());
        self.gate.waiting().into_iter().filter_map(|(s, why)| Some((s, items(s)?, why))).collect()
    }

    /// The daemon stops: no queued run starts any more.
    pub(crate) fn drop_queued(&mut self) {
        self.gate = super::order::Gate::default();
    }

    /// A stop reached `session`: when it is queued and every item of it is stopped, its task starts at once,
    /// outside its groups, to end each item canceled without running anything.
    pub(super) fn stop_queued(&mut self, session: SessionId) {
        let all_stopped = self.gate.queued(session).is_some_and(|l| {
            let stops = l.cancel.borrow();
            l.plan.iter().all(|i| stops.covers(&i.id))
        });
        if all_stopped && let Some(launch) = self.gate.take(session) {
            launch.go(session);
        }
    }
}
