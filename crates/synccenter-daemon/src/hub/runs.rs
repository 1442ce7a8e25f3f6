//! Command handlers' runs as the hub sees them: the configuration's handlers registered (and removed when a
//! reload drops them), schedules and retries turned into start requests, a dispatched request turned into a
//! session the daemon owns, and what the running tool reports turned into progress, events and conflicts.

use std::collections::BTreeSet;

use synccenter_core::{CoreError, HandlerId, ItemId, NewConflict, RequestId as CoreRequestId, SessionId};
use synccenter_protocol::methods::UpdateKind;

use super::Hub;
use crate::convert;
use crate::scheduler::{ItemDone, RunMsg};

impl Hub {
    /// Reads the configuration and registers its command handlers; those a new configuration drops are
    /// removed (when idle). Returns how many are configured.
    pub(crate) fn reload(&mut self) -> Result<usize, String> {
        let now = self.center.now();
        let config = self.setup.scheduler.load(now)?.clone();
        let mut now_configured = BTreeSet::new();
        for h in &config.handlers {
            if let Err(e) = self.center.register_handler(h.id.clone(), h.spec()) {
                tracing::error!(handler = %h.id, error = %e, "cannot register a configured handler");
                continue;
            }
            for i in &h.items {
                if let Err(e) = self.center.register_item(&h.id, i.id.clone(), i.spec()) {
                    tracing::error!(handler = %h.id, item = %i.id, error = %e, "cannot register a configured item");
                }
            }
            self.update(UpdateKind::RegistryChanged { handler: h.id.to_string() });
            now_configured.insert(h.id.clone());
        }
        for gone in self.configured.difference(&now_configured).cloned().collect::<Vec<_>>() {
            match self.center.remove_handler(&gone) {
                Ok(()) => self.update(UpdateKind::RegistryChanged { handler: gone.to_string() }),
                Err(e) => {
                    tracing::warn!(handler = %gone, error = %e, "a handler left the configuration but stays for now")
                }
            }
        }
        self.configured = now_configured;
        tracing::info!(handlers = config.handlers.len(), "configuration loaded");
        Ok(config.handlers.len())
    }

    /// Every configured item, per handler.
    pub(crate) fn configured_items(&self) -> Vec<(HandlerId, Vec<ItemId>)> {
        self.setup
            .scheduler
            .config()
            .handlers
            .iter()
            .map(|h| (h.id.clone(), h.items.iter().map(|i| i.id.clone()).collect()))
            .collect()
    }

    /// Seeds the schedules' last runs from session history, so a restart does not run everything again.
    pub(crate) fn seed_last_run(&mut self, handler: &HandlerId, item: &ItemId, at: synccenter_core::Timestamp) {
        self.setup.scheduler.seed_last_run(handler, item, at);
    }

    /// Seeds the order between syncs from history: `(when, an end (else a start), handler, item)`.
    pub(crate) fn seed_order(&mut self, history: Vec<(synccenter_core::Timestamp, bool, HandlerId, ItemId)>) {
        self.setup.scheduler.seed_order(history);
    }

    /// A dispatched request of a command handler becomes a session the daemon owns.
    pub(super) fn start_run(&mut self, request: CoreRequestId, handler: &HandlerId, items: &[ItemId]) {
        let owner = self.setup.scheduler.new_owner();
        match self.center.create_session(owner, handler, items) {
            Ok(session) => {
                if let Ok(view) = self.center.session(session) {
                    self.update(UpdateKind::SessionStarted { session: convert::session_info(&view) });
                }
                let now = self.center.now();
                let runs = self.setup.runs.clone();
                if let Some(why) = self.setup.scheduler.spawn_run((session, owner), handler, items, runs, now) {
                    self.show_queued(session, items, &why);
                }
            }
            Err(e) => {
                let _ = self.center.fail_request(request, &e.to_string());
            }
        }
    }

    /// Issues the starts that schedules and retries make due, and raises freshness breaches.
    pub(super) fn schedule(&mut self) {
        let now = self.center.now();
        let (after, skips) = self.setup.scheduler.after_due(now);
        // A run after others is not absorbed by a run of the item still going: it queues behind it.
        let after = after.into_iter().map(|d| (d, synccenter_core::SyncControlFlags::empty()));
        let scheduled = self.setup.scheduler.due(now).into_iter();
        for (due, flags) in
            scheduled.map(|d| (d, synccenter_core::SyncControlFlags::IGNORE_IF_ALREADY_SYNCING)).chain(after)
        {
            match self.center.start_items(&due.handler, &due.items, flags, None) {
                Ok(_) => self.setup.scheduler.started(&due, now),
                // A paused handler's missed run happens once, when the pause ends.
                Err(CoreError::NotReady { reason: synccenter_core::NotReadyReason::Paused, .. }) => {}
                Err(e) => {
                    self.setup.scheduler.started(&due, now);
                    let what = if due.retry { "retry" } else { "scheduled run" };
                    let list = due.items.iter().map(ItemId::as_str).collect::<Vec<_>>().join(", ");
                    let _ = self.center.add_event(
                        &due.handler,
                        None,
                        synccenter_core::EventLevel::Warning,
                        &format!("The {what} was skipped"),
                        &format!("The {what} of {list} was skipped: {e}"),
                    );
                }
            }
        }
        for skip in skips {
            self.setup.scheduler.skipped(&skip);
            let _ = self.center.add_event(
                &skip.handler,
                Some(&skip.item),
                synccenter_core::EventLevel::Warning,
                "Run skipped",
                &format!("{} did not run: {}; it runs only after they succeed", skip.item, skip.why),
            );
        }
        self.stop_unmet(now);
        for handler in self.setup.scheduler.waiting_changed(now) {
            self.update(UpdateKind::RegistryChanged { handler: handler.to_string() });
        }
        let center = &self.center;
        let newly =
            self.setup.scheduler.check_freshness(|h, i| center.item(h, i).ok().and_then(|it| it.last_sync()), now);
        for (handler, item, bound) in newly {
            let _ = self.center.add_event(
                &handler,
                Some(&item),
                synccenter_core::EventLevel::Error,
                "Sync overdue",
                &format!(
                    "{item} has not synchronized successfully within {} (its freshness bound)",
                    synccenter_config::format_duration(bound)
                ),
            );
        }
        self.take_effects();
    }

    /// Stops the running items whose conditions turned false and that say `stop_when_unmet`, through the core
    /// like a person's stop, with an event saying why.
    fn stop_unmet(&mut self, now: synccenter_core::Timestamp) {
        for (handler, item, why) in self.setup.scheduler.unmet(now) {
            let _ = self.center.add_event(
                &handler,
                Some(&item),
                synccenter_core::EventLevel::Warning,
                "Stopped: run conditions",
                &format!("{item} was stopped ({why}); it runs again once its run conditions hold"),
            );
            if let Err(e) = self.center.stop_items(&handler, std::slice::from_ref(&item)) {
                tracing::warn!(%handler, %item, error = %e, "cannot stop a run whose conditions turned false");
            }
        }
    }

    /// What a command run reported.
    pub(crate) fn run_reported(&mut self, msg: RunMsg) {
        use synccenter_core::ProgressStatus as P;
        match msg {
            RunMsg::ItemStarted { session, item, text } => {
                let _ = self.center.report_progress(session, &item, P::UpdatingIndeterminate, Some(&text), 0, 0);
            }
            RunMsg::Observation { session, item, observation } => self.observed(session, item, observation),
            RunMsg::ItemDone { session, item, done } => self.item_done(session, item, done),
            RunMsg::Finished { session } => {
                if let Err(e) = self.center.end_session(session) {
                    tracing::warn!(%session, error = %e, "a command run could not end its session");
                }
                self.setup.scheduler.run_ended(session);
                // Runs still queued for a group may wait for another run now.
                for (queued, items, why) in self.setup.scheduler.queued_runs() {
                    self.show_queued(queued, &items, &why);
                }
            }
        }
        self.take_effects();
    }

    /// A run queued behind its exclusive group says so where its items show their progress.
    fn show_queued(&mut self, session: SessionId, items: &[ItemId], why: &str) {
        for item in items {
            let status = synccenter_core::ProgressStatus::UpdatingIndeterminate;
            let _ = self.center.report_progress(session, item, status, Some(why), 0, 0);
        }
    }

    /// What the running tool printed, as progress, events and conflicts.
    fn observed(&mut self, session: SessionId, item: ItemId, observation: synccenter_runs::progress::Observation) {
        use synccenter_core::{NewEvent, ProgressStatus as P};
        use synccenter_runs::progress::Observation as O;
        let event = |level, name: &str, description: &str| NewEvent {
            item: Some(item.clone()),
            level: Some(level),
            name: Some(name.to_owned()),
            description: Some(description.to_owned()),
            ..NewEvent::default()
        };
        match observation {
            O::Progress(p) => {
                let (step, max) = p.steps();
                let status = if max == 0 { P::UpdatingIndeterminate } else { P::Updating };
                let amount = p.amount();
                let _ =
                    self.center.report_progress_amount(session, &item, status, Some(&p.human()), (step, max), amount);
                self.reports_taken += 1;
            }
            O::Text { text } => {
                let view = self.center.session(session).ok();
                let amount = view.as_ref().and_then(|v| v.amounts.get(&item).copied());
                let current = view.and_then(|v| v.items.into_iter().find(|(i, _)| *i == item).map(|(_, p)| p));
                let (status, step, max) = match current {
                    Some(p) if p.status.is_some_and(|s| !s.is_final()) => {
                        (p.status.unwrap_or(P::UpdatingIndeterminate), p.step, p.max_step)
                    }
                    _ => (P::UpdatingIndeterminate, 0, 0),
                };
                let _ = self.center.report_progress_amount(session, &item, status, Some(&text), (step, max), amount);
            }
            O::Conflict { path, description, versions } if versions.len() >= 2 => {
                let conflict = NewConflict {
                    item: Some(item.clone()),
                    key: Some(path.clone()),
                    name: path,
                    description,
                    versions: versions
                        .into_iter()
                        .map(|(location, detail)| synccenter_core::ConflictVersion {
                            location_short: location,
                            location_full: detail,
                            item_type: synccenter_core::ConflictItemType::UPDATED,
                            ..Default::default()
                        })
                        .collect(),
                    abilities: synccenter_core::ResolutionAbilities::empty(),
                };
                if let Err(e) = self.center.report_conflict(session, conflict) {
                    tracing::warn!(error = %e, "a conflict the tool reported was refused");
                }
            }
            other => {
                if let Some(e) = other.event() {
                    let mut event = event(e.level, e.name, &e.description);
                    event.context = e.context;
                    let _ = self.center.report_event(session, event);
                }
            }
        }
    }

    fn item_done(&mut self, session: SessionId, item: ItemId, done: ItemDone) {
        use synccenter_core::{EventLevel, NewEvent, ProgressStatus as P};
        use synccenter_runs::outcome::Final;
        let status = match done.outcome.status {
            Final::Succeeded => P::Succeeded,
            Final::Failed => P::Failed,
            Final::Canceled => P::Canceled,
            Final::Disconnected => P::Disconnected,
        };
        let handler = self.center.session(session).map(|v| v.handler).ok();
        // A run that started has a log; the failure event points to it.
        let log_command = (self.setup.scheduler.logs().is_some() && done.not_started.is_none())
            .then(|| format!("synccenter logs {session} {}", shell_word(item.as_str())));
        let _ = self.center.report_progress(session, &item, status, Some(&done.outcome.reason), 0, 0);
        let event = match (status, &done.not_started) {
            (P::Failed, Some(why)) => Some((EventLevel::Error, "The command could not start".to_owned(), why.clone())),
            (P::Failed, None) => {
                let mut description = done.outcome.reason.clone();
                if let Some(command) = &log_command {
                    description.push_str(&format!("\n\nIts whole output: {command}"));
                }
                if !done.stderr_tail.trim().is_empty() {
                    description.push_str("\n\nEnd of its error output:\n");
                    description.push_str(&done.stderr_tail);
                }
                Some((EventLevel::Error, format!("{} failed", done.kind.name()), description))
            }
            (P::Disconnected, _) => {
                Some((EventLevel::Warning, "Target absent; skipped".to_owned(), done.outcome.reason.clone()))
            }
            _ => None,
        };
        if let Some((level, name, description)) = event {
            let link = log_command.filter(|_| status == P::Failed);
            let e = NewEvent {
                item: Some(item.clone()),
                level: Some(level),
                name: Some(name),
                description: Some(description),
                link_text: link.as_ref().map(|_| "Run log".to_owned()),
                link_reference: link,
                ..NewEvent::default()
            };
            let _ = self.center.report_event(session, e);
        }
        if let Some(handler) = handler {
            let now = self.center.now();
            let random = f64::from(now.as_micros().rem_euclid(1000) as u32) / 1000.0;
            let retry = self.setup.scheduler.finished(&handler, &item, status, done.outcome.retryable, now, random);
            if let Some(delay) = retry {
                tracing::info!(%handler, %item, retry_in = ?delay, "a failed item will be retried");
            }
            self.setup.scheduler.order_ended(&handler, &item, status, retry.is_some());
        }
    }

    /// Every registered item, with its handler.
    fn every_item(&self) -> impl Iterator<Item = (HandlerId, ItemId)> + '_ {
        self.center.handlers().flat_map(|h| {
            let items = self.center.items(&h.id).unwrap_or_default();
            items.into_iter().map(move |i| (h.id.clone(), i.id.clone()))
        })
    }

    pub(super) fn overdue_items(&self) -> Vec<String> {
        let scheduler = &self.setup.scheduler;
        self.every_item().filter(|(h, i)| scheduler.is_overdue(h, i)).map(|(h, i)| format!("{h}/{i}")).collect()
    }

    /// Items whose due run waits for its run conditions, as `handler/item: reason`.
    pub(super) fn waiting_items(&self) -> Vec<String> {
        let now = self.center.now();
        let scheduler = &self.setup.scheduler;
        self.every_item()
            .filter_map(|(h, i)| scheduler.waiting(&h, &i, now).map(|why| format!("{h}/{i}: {why}")))
            .collect()
    }

    pub(super) fn next_run_any(&self) -> Option<synccenter_core::Timestamp> {
        self.every_item().filter_map(|(h, i)| self.setup.scheduler.next_run(&h, &i)).min()
    }
}

/// `word` as one word of a POSIX shell command line: as it is when it is plain, else single-quoted.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:@%+=,".contains(&b));
    if plain { word.to_owned() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}
