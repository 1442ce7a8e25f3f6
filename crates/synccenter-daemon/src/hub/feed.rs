//! What the hub tells the world after a call: the core's changes go to the writer (running progress to the
//! ledger), its notices become pushes to owners and serving connections, and everything becomes an update of
//! the live feed. Feed updates leave through the writer, after the commit of the changes they follow, so a
//! watcher that reacts to one reads a store that already holds it.

use synccenter_core::{Change, Notice};
use synccenter_protocol::methods::{self as m, UpdateKind, names};

use super::Hub;
use crate::convert;
use crate::outbox::push_line;

impl Hub {
    /// Queues the model's changes; returns true when some must be durable before the reply.
    pub(super) fn queue_changes(&mut self) -> bool {
        let mut durable = false;
        for change in self.center.take_changes() {
            match change {
                Change::ItemProgressed { session, item, progress } if !progress.is_final() => {
                    self.ledger.running(session, item, progress);
                }
                _ => {
                    self.announce(&change);
                    // Older running progress goes first, so the store never sees it overtake what follows.
                    self.flush_progress();
                    self.batch.changes.push(change);
                    durable = true;
                }
            }
        }
        durable
    }

    fn announce(&mut self, change: &Change) {
        match change {
            Change::EventAdded(e) => self.update(UpdateKind::EventAdded { event: convert::event_info(e) }),
            Change::ConflictSaved(c) => self.update(UpdateKind::ConflictsChanged { handler: c.handler.to_string() }),
            Change::ItemProgressed { session, item, progress } => {
                // A final status is published at once: the session may end before the next publish.
                self.ledger.finished(*session, item);
                self.update(UpdateKind::Progress {
                    session: session.to_string(),
                    item: item.to_string(),
                    status: progress.status.map(convert::status_wire),
                    step: progress.step,
                    max_step: progress.max_step,
                    text: progress.text.clone(),
                    amount: self.amount_of(*session, item),
                });
            }
            _ => {}
        }
    }

    pub(super) fn route(&mut self, n: Notice) {
        match n {
            Notice::CancelRequested { session, owner, item, cancel } => {
                self.setup.scheduler.cancel(owner, item.as_ref());
                let push = m::CancelRequestedPush {
                    session: session.to_string(),
                    item: item.as_ref().map(ToString::to_string),
                    cancel: convert::cancel_wire(cancel),
                };
                if let Some(c) = self.conns.get(&owner.0) {
                    c.out.send(push_line(names::PUSH_CANCEL_REQUESTED, &push));
                }
                self.update(UpdateKind::CancelRequested {
                    session: push.session,
                    item: push.item,
                    cancel: push.cancel,
                });
            }
            Notice::SyncRequested { request, handler, items, .. } if self.setup.scheduler.manages(&handler) => {
                self.start_run(request, &handler, &items);
            }
            Notice::SyncRequested { request, handler, items, contexts, .. } => {
                self.ask_serving_connections(request, &handler, &items, &contexts);
            }
            Notice::RequestFinished { request, handler, result } => {
                if let Some(conn) = self.request_owner.remove(&request)
                    && let Some(c) = self.conns.get(&conn)
                {
                    let push = m::SyncResultPush {
                        request: request.to_string(),
                        handler: handler.to_string(),
                        status: convert::status_wire(result.status),
                        errors: result.errors,
                        conflicts: result.conflicts,
                    };
                    c.out.send(push_line(names::PUSH_SYNC_RESULT, &push));
                }
            }
            Notice::SessionEnded { handler, summary, .. } => {
                self.setup.scheduler.run_ended(summary.session);
                self.leases.remove(&summary.session);
                self.creators.remove(&summary.session);
                self.ledger.session_ended(summary.session);
                self.update(UpdateKind::SessionEnded {
                    session: summary.session.to_string(),
                    handler: handler.to_string(),
                    status: convert::status_wire(summary.status),
                    errors: summary.errors,
                    conflicts: summary.conflicts,
                    reason: summary.reason.name().to_owned(),
                });
            }
            Notice::ResolutionRequested { conflict, handler, item, choice } => {
                let push = m::ResolutionRequestedPush {
                    conflict: conflict.to_string(),
                    handler: handler.to_string(),
                    item: item.as_ref().map(ToString::to_string),
                    choice: convert::choice_wire(&choice),
                };
                let line = push_line(names::PUSH_RESOLUTION_REQUESTED, &push);
                for c in self.conns.values().filter(|c| c.serving.contains(&handler)) {
                    c.out.send(line.clone());
                }
                self.update(UpdateKind::ConflictsChanged { handler: handler.to_string() });
            }
            Notice::StateChanged { target, .. } => {
                self.update(UpdateKind::RegistryChanged { handler: target.handler.to_string() });
            }
        }
    }

    /// A sync request for a handler that a connection serves: every serving connection is asked.
    fn ask_serving_connections(
        &mut self,
        request: synccenter_core::RequestId,
        handler: &synccenter_core::HandlerId,
        items: &[synccenter_core::ItemId],
        contexts: &[synccenter_core::Context],
    ) {
        let push = m::SyncRequestedPush {
            request: request.to_string(),
            handler: handler.to_string(),
            items: items.iter().map(ToString::to_string).collect(),
            contexts: contexts.iter().map(convert::context_wire).collect(),
        };
        let line = push_line(names::PUSH_SYNC_REQUESTED, &push);
        let mut served = false;
        for c in self.conns.values().filter(|c| c.serving.contains(handler)) {
            c.out.send(line.clone());
            served = true;
        }
        if !served {
            tracing::info!(%handler, %request, "sync requested but no connection serves the handler; waiting for a session");
        }
    }

    /// Queues one update for every watcher, to be sent after the commit of what came before it.
    pub(super) fn update(&mut self, change: UpdateKind) {
        self.seq += 1;
        if !self.conns.values().any(|c| c.watcher) {
            return;
        }
        let line = push_line(names::PUSH_UPDATE, m::Update { seq: self.seq, change });
        for c in self.conns.values().filter(|c| c.watcher) {
            self.batch.after.push((c.out.clone(), line.clone()));
        }
    }

    /// Running progress and handler texts to watchers, the latest of each.
    pub(crate) fn publish(&mut self) {
        let (items, texts) = self.ledger.take_unpublished();
        for (session, item, p) in items {
            let amount = self.amount_of(session, &item);
            self.update(UpdateKind::Progress {
                session: session.to_string(),
                item: item.to_string(),
                status: p.status.map(convert::status_wire),
                step: p.step,
                max_step: p.max_step,
                text: p.text,
                amount,
            });
        }
        for session in texts {
            let Ok(view) = self.center.session(session) else { continue };
            if let Some(text) = view.handler_text {
                self.update(UpdateKind::HandlerText { session: session.to_string(), text });
            }
        }
    }

    /// An item's amount as the model holds it now (the ledger keeps only the spec's progress; the model's is
    /// the latest, which is the ledger's too).
    fn amount_of(&self, session: synccenter_core::SessionId, item: &synccenter_core::ItemId) -> Option<m::AmountInfo> {
        self.center.amount(session, item).as_ref().map(convert::amount_info)
    }

    /// A removal of events finished.
    pub(crate) fn events_removed(&mut self, removed: u64) {
        self.update(UpdateKind::EventsRemoved { removed });
    }
}
