//! Command handlers: handlers declared in `config.toml` whose syncs are commands the daemon runs itself.
//!
//! Everything goes through the core like any other owner: schedules and retries issue start requests (so
//! pauses, policies, queueing behind live sessions and `ignore_if_already_syncing` apply); a dispatched request
//! becomes a session owned by the daemon, whose items run one after another through the supervisor; what the
//! tool prints becomes progress, events and conflicts. This module decides *when* and *what*; the hub applies
//! it to the `Center`, and the supervisor does the process work.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use synccenter_config::{Config, HandlerConfig, ItemConfig};
use synccenter_core::{HandlerId, ItemId, OwnerId, ProgressStatus, SessionId, Timestamp};
use synccenter_runs::outcome::{Final, Outcome, classify};
use synccenter_runs::progress::{Kind, Observation};
use tokio::sync::{mpsc, watch};

use crate::conditions::{Age, Conditions, TargetSources, targets};
use crate::runlog::{self, LogSetup, LogTarget};
use crate::supervisor::{self, RunEvent, RunSpec};

mod order;
mod sequencing;

/// Owner IDs of the daemon's own runs; connections count up from 1 and never get here.
pub(crate) const RUN_OWNER_BASE: u64 = 1 << 62;

/// Stops in force for a run: everything, or some items.
#[derive(Clone, Debug, Default)]
pub(crate) struct CancelSet {
    pub(crate) all: bool,
    pub(crate) items: BTreeSet<ItemId>,
}

impl CancelSet {
    fn covers(&self, item: &ItemId) -> bool {
        self.all || self.items.contains(item)
    }
}

/// What a run reports to the hub.
#[derive(Debug)]
pub(crate) enum RunMsg {
    ItemStarted { session: SessionId, item: ItemId, text: String },
    Observation { session: SessionId, item: ItemId, observation: Observation },
    ItemDone { session: SessionId, item: ItemId, done: ItemDone },
    Finished { session: SessionId },
}

/// How one item of a run ended.
#[derive(Debug)]
pub(crate) struct ItemDone {
    pub(crate) outcome: Outcome,
    pub(crate) kind: Kind,
    /// The end of stderr, for the failure event.
    pub(crate) stderr_tail: String,
    /// Why it could not start at all (spawn failure or missing precondition).
    pub(crate) not_started: Option<String>,
}

#[derive(Debug, Default)]
struct ItemState {
    /// When the configuration first listed the item (in this daemon's life).
    appeared: Timestamp,
    last_run: Option<Timestamp>,
    failures: u32,
    retry_due: Option<Timestamp>,
    overdue: bool,
    /// Its last success as the core last reported it (for `max_age`).
    last_success: Option<Timestamp>,
    /// A condition stopped its run: it is due again when that run ends.
    resume: bool,
}

#[derive(Debug)]
struct Run {
    cancel: watch::Sender<CancelSet>,
    handler: HandlerId,
    /// Its `stop_when_unmet` items.
    watch: BTreeMap<ItemId, Arm>,
}

/// A `stop_when_unmet` item of a run: it is stopped when its conditions turn false, so only after they were
/// seen holding (a manual run started while they did not hold is not stopped at once).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arm {
    Waiting,
    Armed,
    Stopped,
}

/// The configuration in force and the schedule state of its items.
#[derive(Debug)]
pub(crate) struct Scheduler {
    path: Option<PathBuf>,
    config: Arc<Config>,
    error: Option<String>,
    loaded_at: Timestamp,
    items: BTreeMap<(HandlerId, ItemId), ItemState>,
    runs: HashMap<SessionId, Run>,
    owners: HashMap<OwnerId, SessionId>,
    next_owner: u64,
    /// Where runs keep their logs; `None` keeps none.
    logs: Option<LogSetup>,
    /// Power and network state for run conditions.
    conditions: Conditions,
    /// The waiting reasons last announced (`waiting_changed`).
    shown_waiting: BTreeMap<(HandlerId, ItemId), String>,
    /// Order between syncs: the cycles of items with `after`, and the exclusive groups (`sequencing.rs`).
    after: order::After,
    gate: order::Gate<sequencing::Launch>,
}

/// A start to issue: items of a handler that are due.
#[derive(Debug)]
pub(crate) struct Due {
    pub(crate) handler: HandlerId,
    pub(crate) items: Vec<ItemId>,
    pub(crate) retry: bool,
}

impl Scheduler {
    pub(crate) fn new(path: Option<PathBuf>, now: Timestamp) -> Self {
        Self {
            path,
            config: Arc::new(Config::default()),
            error: None,
            loaded_at: now,
            items: BTreeMap::new(),
            runs: HashMap::new(),
            owners: HashMap::new(),
            next_owner: RUN_OWNER_BASE,
            logs: None,
            conditions: Conditions::default(),
            shown_waiting: BTreeMap::new(),
            after: order::After::default(),
            gate: order::Gate::default(),
        }
    }

    /// Runs keep their logs there from now on.
    pub(crate) fn keep_logs(&mut self, logs: LogSetup) {
        self.logs = Some(logs);
    }

    pub(crate) fn logs(&self) -> Option<&LogSetup> {
        self.logs.as_ref()
    }

    /// Whether `session` is a run still going (its log may still grow).
    pub(crate) fn is_running(&self, session: SessionId) -> bool {
        self.runs.contains_key(&session)
    }

    /// Reads the configuration file. On error the last good configuration stays in force.
    pub(crate) fn load(&mut self, now: Timestamp) -> Result<&Config, String> {
        let Some(path) = &self.path else { return Ok(&self.config) };
        match synccenter_config::load_if_exists(path) {
            Ok(config) => {
                self.config = Arc::new(config.unwrap_or_default());
                self.error = None;
                self.loaded_at = now;
                let keys: BTreeSet<(HandlerId, ItemId)> = self
                    .config
                    .handlers
                    .iter()
                    .flat_map(|h| h.items.iter().map(|i| (h.id.clone(), i.id.clone())))
                    .collect();
                self.items.retain(|k, _| keys.contains(k));
                self.order_configured(&keys);
                for k in keys {
                    self.items.entry(k).or_insert_with(|| ItemState { appeared: now, ..ItemState::default() });
                }
                self.conditions.watch(self.config.handlers.iter().flat_map(|h| &h.items).map(|i| &i.conditions));
                Ok(&self.config)
            }
            Err(errors) => {
                let message = errors.to_string();
                self.error = Some(message.clone());
                Err(message)
            }
        }
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn path(&self) -> Option<&PathBuf> {
        self.path.as_ref()
    }

    pub(crate) fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    pub(crate) fn manages(&self, handler: &HandlerId) -> bool {
        self.config.handlers.iter().any(|h| &h.id == handler)
    }

    fn handler(&self, id: &HandlerId) -> Option<&HandlerConfig> {
        self.config.handlers.iter().find(|h| &h.id == id)
    }

    fn item(&self, handler: &HandlerId, item: &ItemId) -> Option<&ItemConfig> {
        self.handler(handler)?.items.iter().find(|i| &i.id == item)
    }

    /// Seeds the last run of an item from history, so a schedule survives a restart.
    pub(crate) fn seed_last_run(&mut self, handler: &HandlerId, item: &ItemId, at: Timestamp) {
        if let Some(s) = self.items.get_mut(&(handler.clone(), item.clone()))
            && s.last_run.is_none_or(|t| t < at)
        {
            s.last_run = Some(at);
        }
    }

    /// When an item runs next by its schedule or its pending retry, if ever.
    pub(crate) fn next_run(&self, handler: &HandlerId, item: &ItemId) -> Option<Timestamp> {
        let state = self.items.get(&(handler.clone(), item.clone()))?;
        let scheduled =
            self.item(handler, item)?.schedule.as_ref().and_then(|s| scheduled_run(s, (handler, item), state));
        match (scheduled, state.retry_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(crate) fn is_overdue(&self, handler: &HandlerId, item: &ItemId) -> bool {
        self.items.get(&(handler.clone(), item.clone())).is_some_and(|s| s.overdue)
    }

    /// Why an item's due run (or, for an item with `after`, its ready run) waits for its run conditions, if it does
    /// (`None` when it is not due).
    pub(crate) fn waiting(&self, handler: &HandlerId, item: &ItemId, now: Timestamp) -> Option<String> {
        let config = self.item(handler, item)?;
        let key = (handler.clone(), item.clone());
        let state = self.items.get(&key)?;
        if config.order.after.is_empty() {
            item_due(config, (handler, item), state, now)?;
        } else if !self.after_ready(&key, config) {
            return None;
        }
        self.held(config, state, now)
    }

    /// Handlers some of whose items began or stopped waiting, or wait for another reason, since the last call:
    /// nothing else announces it, so listings learn it from a `registry_changed` for them.
    pub(crate) fn waiting_changed(&mut self, now: Timestamp) -> BTreeSet<HandlerId> {
        let mut current = BTreeMap::new();
        for h in &self.config.handlers {
            for i in &h.items {
                if let Some(why) = self.waiting(&h.id, &i.id, now) {
                    current.insert((h.id.clone(), i.id.clone()), why);
                }
            }
        }
        let old = std::mem::replace(&mut self.shown_waiting, current);
        let new = &self.shown_waiting;
        let changed = new.iter().filter(|(k, v)| old.get(k) != Some(v)).map(|(k, _)| k.0.clone());
        changed.chain(old.keys().filter(|k| !new.contains_key(k)).map(|k| k.0.clone())).collect()
    }

    /// Targets are read from `sources` (tests give their own mount table).
    pub(crate) fn read_targets_from(&mut self, sources: TargetSources) {
        self.conditions.read_targets_from(sources);
    }

    fn held(&self, config: &ItemConfig, state: &ItemState, now: Timestamp) -> Option<String> {
        let age = Age { last_success: state.last_success, since: state.appeared };
        self.conditions.holding_back(&config.conditions, now, age)
    }

    /// Items of running runs to stop because a condition that held while they ran no longer does
    /// (`stop_when_unmet`), each once, with the reason; they are due again when their run ends.
    pub(crate) fn unmet(&mut self, now: Timestamp) -> Vec<(HandlerId, ItemId, String)> {
        let mut seen = Vec::new();
        for (session, run) in &self.runs {
            for (item, arm) in &run.watch {
                let key = (run.handler.clone(), item.clone());
                let (Some(config), Some(state)) = (self.item(&key.0, &key.1), self.items.get(&key)) else { continue };
                seen.push((*session, key, *arm, self.held(config, state, now)));
            }
        }
        let mut stops = Vec::new();
        for (session, key, arm, held) in seen {
            let next = match (arm, held) {
                (Arm::Waiting, None) => Arm::Armed,
                (Arm::Armed, Some(why)) => {
                    if let Some(s) = self.items.get_mut(&key) {
                        s.resume = true;
                    }
                    stops.push((key.0.clone(), key.1.clone(), why));
                    Arm::Stopped
                }
                (arm, _) => arm,
            };
            if let Some(run) = self.runs.get_mut(&session) {
                run.watch.insert(key.1, next);
            }
        }
        stops
    }

    /// Items whose schedule or retry is due at `now` and whose run conditions hold, grouped per handler.
    /// Scheduled runs and retries are separate starts, so that a retry names only the items that failed. An
    /// item its conditions hold back stays due: it runs once when they hold.
    pub(crate) fn due(&self, now: Timestamp) -> Vec<Due> {
        let mut out: Vec<Due> = Vec::new();
        for h in &self.config.handlers {
            let mut scheduled = Vec::new();
            let mut retries = Vec::new();
            for i in &h.items {
                let Some(state) = self.items.get(&(h.id.clone(), i.id.clone())) else { continue };
                let Some(retry) = item_due(i, (&h.id, &i.id), state, now) else { continue };
                if self.held(i, state, now).is_some() {
                    continue;
                }
                if retry {
                    retries.push(i.id.clone());
                } else {
                    scheduled.push(i.id.clone());
                }
            }
            if !scheduled.is_empty() {
                out.push(Due { handler: h.id.clone(), items: scheduled, retry: false });
            }
            if !retries.is_empty() {
                out.push(Due { handler: h.id.clone(), items: retries, retry: true });
            }
        }
        out
    }

    /// A start was issued (or refused) for these items at `now`: their slot is used.
    pub(crate) fn started(&mut self, due: &Due, now: Timestamp) {
        self.order_started(&due.handler, &due.items);
        for item in &due.items {
            if let Some(s) = self.items.get_mut(&(due.handler.clone(), item.clone())) {
                s.last_run = Some(now);
                if due.retry {
                    s.retry_due = None;
                }
            }
        }
    }

    /// Records an item's final status; a retryable failure schedules a retry by the item's policy.
    /// Returns the delay when a retry was scheduled.
    pub(crate) fn finished(
        &mut self,
        handler: &HandlerId,
        item: &ItemId,
        status: ProgressStatus,
        retryable: bool,
        now: Timestamp,
        random: f64,
    ) -> Option<Duration> {
        let policy = self.item(handler, item)?.retry;
        let state = self.items.get_mut(&(handler.clone(), item.clone()))?;
        match status {
            ProgressStatus::Succeeded => {
                state.failures = 0;
                state.retry_due = None;
                state.last_success = Some(now);
                state.resume = false;
                None
            }
            ProgressStatus::Failed if retryable => {
                state.failures += 1;
                let delay = policy.delay(state.failures, random)?;
                state.retry_due = Some(now.plus(delay));
                Some(delay)
            }
            _ => {
                state.failures = 0;
                // A run its conditions stopped runs again (once they hold).
                state.retry_due = std::mem::take(&mut state.resume).then_some(now);
                None
            }
        }
    }

    /// Items that just became overdue (an event is due) given their last success; the flag is kept for
    /// `status` and listings and cleared once they succeed again.
    pub(crate) fn check_freshness(
        &mut self,
        last_success: impl Fn(&HandlerId, &ItemId) -> Option<Timestamp>,
        now: Timestamp,
    ) -> Vec<(HandlerId, ItemId, Duration)> {
        let mut newly = Vec::new();
        for h in &self.config.handlers {
            for i in &h.items {
                let Some(state) = self.items.get_mut(&(h.id.clone(), i.id.clone())) else { continue };
                let last = last_success(&h.id, &i.id);
                state.last_success = state.last_success.max(last);
                let Some(bound) = i.freshness else { continue };
                let overdue = synccenter_runs::freshness::overdue_since(last, self.loaded_at, bound, now);
                if overdue && !state.overdue {
                    newly.push((h.id.clone(), i.id.clone(), bound));
                }
                state.overdue = overdue;
            }
        }
        newly
    }

    /// A new owner ID for a run.
    pub(crate) fn new_owner(&mut self) -> OwnerId {
        self.next_owner += 1;
        OwnerId(self.next_owner)
    }

    /// Starts the run of a session the daemon owns; its items run in order on a task, once its exclusive
    /// groups are free: `Some` says what it waits for.
    pub(crate) fn spawn_run(
        &mut self,
        (session, owner): (SessionId, OwnerId),
        handler: &HandlerId,
        items: &[ItemId],
        hub: mpsc::Sender<RunMsg>,
        now: Timestamp,
    ) -> Option<String> {
        let (tx, rx) = watch::channel(CancelSet::default());
        let mut watch = BTreeMap::new();
        for i in items {
            let key = (handler.clone(), i.clone());
            let (Some(config), Some(state)) = (self.item(handler, i), self.items.get(&key)) else { continue };
            if config.conditions.stop_when_unmet {
                let arm = if self.held(config, state, now).is_none() { Arm::Armed } else { Arm::Waiting };
                watch.insert(i.clone(), arm);
            }
        }
        self.runs.insert(session, Run { cancel: tx, handler: handler.clone(), watch });
        self.owners.insert(owner, session);
        let plan: Vec<ItemConfig> = items.iter().filter_map(|i| self.item(handler, i).cloned()).collect();
        let grace = self.config.daemon.grace_period;
        let logs = self.logs.clone().map(|l| LogSetup { limits: l.limits.with(&self.config.logs), ..l });
        let sources = self.conditions.sources().clone();
        self.order_started(handler, items);
        self.launch(session, handler, sequencing::Launch { plan, grace, sources, logs, cancel: rx, hub })
    }

    /// A stop for one of the daemon's runs; false when `owner` is not a run.
    pub(crate) fn cancel(&mut self, owner: OwnerId, item: Option<&ItemId>) -> bool {
        let Some(run) = self.owners.get(&owner).and_then(|s| self.runs.get(s)) else { return false };
        run.cancel.send_modify(|c| match item {
            Some(i) => {
                c.items.insert(i.clone());
            }
            None => c.all = true,
        });
        if let Some(session) = self.owners.get(&owner).copied() {
            self.stop_queued(session);
        }
        true
    }

    pub(crate) fn run_ended(&mut self, session: SessionId) {
        self.runs.remove(&session);
        self.owners.retain(|_, s| *s != session);
        self.release_groups(session);
    }
}

/// Whether an item is due at `now`: `Some(true)` for its retry, `Some(false)` for its schedule.
fn item_due(config: &ItemConfig, key: (&HandlerId, &ItemId), state: &ItemState, now: Timestamp) -> Option<bool> {
    if state.retry_due.is_some_and(|t| t <= now) {
        return Some(true);
    }
    let slot = config.schedule.as_ref().and_then(|s| scheduled_run(s, key, state))?;
    (slot <= now).then_some(false)
}

/// When an item runs next by its schedule. An item that never ran counts from when it appeared, not from
/// `now`: "the next firing after now" moves forward with every tick, so a cron schedule that never ran would
/// never come due (`every` is due at once either way).
/// When a scheduled item is due: its next slot after the last run (or after it appeared in the configuration,
/// when it never ran), delayed by the schedule's jitter. The slot is computed from the last run, not from `now`,
/// so a missed slot stays due (and runs once) and the jitter stays the same from one tick to the next.
fn scheduled_run(
    schedule: &synccenter_config::Schedule,
    key: (&HandlerId, &ItemId),
    state: &ItemState,
) -> Option<Timestamp> {
    let from = state.last_run.unwrap_or(state.appeared);
    let slot = schedule.next_run(state.last_run, from)?;
    Some(schedule.jittered(slot, slot_random(key, from)))
}

/// A number in `[0, 1)` fixed for one item and one slot: the jitter must not move while the slot waits.
fn slot_random(key: (&HandlerId, &ItemId), from: Timestamp) -> f64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    key.0.as_str().hash(&mut h);
    key.1.as_str().hash(&mut h);
    from.as_micros().hash(&mut h);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Runs the items of one session in order, reporting to the hub.
async fn run_items(
    session: SessionId,
    plan: Vec<ItemConfig>,
    (grace, sources): (Duration, TargetSources),
    logs: Option<LogSetup>,
    cancel: watch::Receiver<CancelSet>,
    hub: mpsc::Sender<RunMsg>,
) {
    if let Some(setup) = logs.clone() {
        let removed = tokio::task::spawn_blocking(move || runlog::prune(&setup, session)).await.unwrap_or(0);
        if removed > 0 {
            tracing::info!(removed, "removed old run logs");
        }
    }
    for item in plan {
        let id = item.id.clone();
        let send = |msg| {
            let hub = hub.clone();
            async move { hub.send(msg).await.is_ok() }
        };
        if cancel.borrow().covers(&id) {
            let done = ItemDone {
                outcome: Outcome {
                    status: Final::Canceled,
                    retryable: false,
                    reason: "stopped before it started".into(),
                },
                kind: item.kind,
                stderr_tail: String::new(),
                not_started: None,
            };
            if !send(RunMsg::ItemDone { session, item: id, done }).await {
                return;
            }
            continue;
        }
        if let Some(reason) = targets::first_absent(&item.conditions.targets, &sources) {
            let done = ItemDone {
                outcome: Outcome { status: Final::Disconnected, retryable: false, reason: reason.clone() },
                kind: item.kind,
                stderr_tail: String::new(),
                not_started: Some(reason),
            };
            if !send(RunMsg::ItemDone { session, item: id, done }).await {
                return;
            }
            continue;
        }
        let text = item.command.join(" ");
        if !send(RunMsg::ItemStarted { session, item: id.clone(), text }).await {
            return;
        }
        let log = logs.clone().map(|setup| LogTarget { setup, session, item: id.to_string() });
        let done = run_one(session, &item, grace, log, cancel.clone(), &hub).await;
        if !send(RunMsg::ItemDone { session, item: id, done }).await {
            return;
        }
    }
    let _ = hub.send(RunMsg::Finished { session }).await;
}

async fn run_one(
    session: SessionId,
    item: &ItemConfig,
    grace: Duration,
    log: Option<LogTarget>,
    mut cancel: watch::Receiver<CancelSet>,
    hub: &mpsc::Sender<RunMsg>,
) -> ItemDone {
    let (stop_tx, stop_rx) = watch::channel(false);
    let id = item.id.clone();
    let watcher = tokio::spawn(async move {
        loop {
            if cancel.borrow_and_update().covers(&id) {
                let _ = stop_tx.send(true);
                return;
            }
            if cancel.changed().await.is_err() {
                return;
            }
        }
    });
    let (events_tx, mut events_rx) = mpsc::channel(256);
    let forward_hub = hub.clone();
    let forward_item = item.id.clone();
    let forward = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(event) = events_rx.recv().await {
            let RunEvent::Observation(observation) = event else { continue };
            if !matches!(observation, Observation::Progress(_) | Observation::Log { .. }) {
                seen.push(observation.clone());
            }
            let msg = RunMsg::Observation { session, item: forward_item.clone(), observation };
            if forward_hub.send(msg).await.is_err() {
                break;
            }
        }
        seen
    });
    let (program, args) =
        item.command.split_first().map_or((String::new(), Vec::new()), |(p, a)| (p.clone(), a.to_vec()));
    let spec = RunSpec {
        program,
        args,
        workdir: item.workdir.clone(),
        env: item.env.clone(),
        timeout: item.timeout,
        grace,
        kind: item.kind,
        max_output: supervisor::DEFAULT_MAX_OUTPUT,
        watchdog: item.watchdog,
        log,
    };
    let report = supervisor::run(spec, stop_rx, events_tx).await;
    watcher.abort();
    let seen = forward.await.unwrap_or_default();
    let mut outcome = classify(report.exit, item.kind, &seen);
    if let Some(errno) = report.errno
        && outcome.status != Final::Succeeded
    {
        outcome.reason.push_str(&format!("; the command reported {}", supervisor::errno_text(errno)));
    }
    ItemDone { outcome, kind: item.kind, stderr_tail: report.stderr_tail, not_started: report.spawn_error }
}

#[cfg(test)]
mod tests {
    use super::*;
    use synccenter_config::{Schedule, Trigger};

    #[test]
    fn jitter_delays_a_slot_within_bounds_and_stays_put_while_it_waits() {
        let hour = Duration::from_secs(3600);
        let schedule = Schedule { trigger: Trigger::Every(hour), jitter: Duration::from_secs(600) };
        let last = Timestamp::from_micros(1_000_000_000);
        let state = ItemState { last_run: Some(last), ..ItemState::default() };
        let h = HandlerId::new("h").expect("valid");
        let mut seen = BTreeSet::new();
        for n in 0..20 {
            let i = ItemId::new(format!("item{n}")).expect("valid");
            let due = scheduled_run(&schedule, (&h, &i), &state).expect("due");
            assert_eq!(scheduled_run(&schedule, (&h, &i), &state), Some(due), "stable from one tick to the next");
            assert!(due >= last.plus(hour) && due <= last.plus(hour + Duration::from_secs(600)), "{due:?}");
            seen.insert(due);
        }
        assert!(seen.len() > 10, "items spread over the jitter window: {seen:?}");
        let no_jitter = Schedule { jitter: Duration::ZERO, ..schedule };
        let i = ItemId::new("item0").expect("valid");
        assert_eq!(scheduled_run(&no_jitter, (&h, &i), &state), Some(last.plus(hour)));
    }
}
