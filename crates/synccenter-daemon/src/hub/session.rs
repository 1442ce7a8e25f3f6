//! The session creator and its callback (`session.*`): what a sync handler reports while it syncs.

use std::time::{Duration, Instant};

use synccenter_core::{CoreError, NewConflict, NewEvent, OwnerId};
use synccenter_protocol::api;
use synccenter_protocol::methods as m;

use super::dispatch::{Handle, Handled, done};
use super::{Hub, Lease};
use crate::calls::Progress;
use crate::convert::{self, RpcResult, refused};
use crate::outbox::ConnId;

/// Owner of detached sessions: no connection has this ID.
const NO_OWNER: OwnerId = OwnerId(0);

impl Hub {
    /// Applies a report; returns the cancel request in force.
    pub(super) fn apply_progress(&mut self, p: Progress) -> RpcResult<synccenter_protocol::CancelWire> {
        self.reports_taken += 1;
        let (session, item) = p.target;
        let status = convert::status(p.status);
        let amount = p.amount.map(convert::amount);
        let steps = match (p.step, p.max_step, amount) {
            (None, None, Some(a)) => a.steps(),
            (step, max_step, _) => (step.unwrap_or(0), max_step.unwrap_or(0)),
        };
        let cancel = (self.center)
            .report_progress_amount(session, &item, status, p.text.as_deref(), steps, amount)
            .map_err(refused)?;
        Ok(convert::cancel_wire(cancel))
    }

    fn lease_of(&self, p: &m::CreateSessionParams) -> RpcResult<Option<Duration>> {
        match (p.detach, p.lease_seconds) {
            (_, Some(0)) => Err(convert::invalid("lease_seconds must be at least 1")),
            (_, Some(s)) => Ok(Some(Duration::from_secs(u64::from(s)))),
            (true, None) => Ok(Some(self.setup.intervals.detached_lease)),
            (false, None) => Ok(None),
        }
    }
}

impl Handle<api::SessionCreate> for Hub {
    fn handle(&mut self, conn: ConnId, p: m::CreateSessionParams) -> Handled<m::CreateSessionResult> {
        let handler = convert::handler_id(&p.handler)?;
        let items = convert::item_ids(&p.items)?;
        let owner = if p.detach { NO_OWNER } else { OwnerId(conn) };
        if p.announce {
            if p.detach || p.lease_seconds.is_some() {
                return Err(convert::invalid(
                    "an announced session ends at once: it takes neither detach nor lease_seconds",
                ));
            }
            let (created, _) = self.center.announce_session(owner, &handler, &items).map_err(refused)?;
            self.update(m::UpdateKind::SessionStarted { session: convert::session_info(&created) });
            return done(m::CreateSessionResult { session: created.id.to_string() });
        }
        let lease = self.lease_of(&p)?;
        let cap = self.setup.limits.max_sessions_per_connection;
        if self.creators.values().filter(|c| **c == conn).count() >= cap {
            return Err(refused(CoreError::CapacityExceeded { what: "live sessions of one connection", limit: cap }));
        }
        let session = self.center.create_session(owner, &handler, &items).map_err(refused)?;
        self.creators.insert(session, conn);
        if let Some(every) = lease {
            self.leases.insert(session, Lease { every, last: Instant::now() });
        }
        if let Ok(view) = self.center.session(session) {
            self.update(m::UpdateKind::SessionStarted { session: convert::session_info(&view) });
        }
        done(m::CreateSessionResult { session: session.to_string() })
    }
}

impl Handle<api::SessionReportProgress> for Hub {
    fn handle(&mut self, _: ConnId, p: m::ReportProgressParams) -> Handled<m::CancelResult> {
        let cancel = self.apply_progress(Progress::from_params(p)?)?;
        done(m::CancelResult { cancel })
    }
}

impl Handle<api::SessionSetHandlerProgressText> for Hub {
    fn handle(&mut self, _: ConnId, p: m::SetHandlerProgressTextParams) -> Handled<m::CancelResult> {
        let session = convert::session_id(&p.session)?;
        let cancel = self.center.set_handler_progress_text(session, p.text.as_deref()).map_err(refused)?;
        self.ledger.text_changed(session);
        done(m::CancelResult { cancel: convert::cancel_wire(cancel) })
    }
}

impl Handle<api::SessionReportEvent> for Hub {
    fn handle(&mut self, _: ConnId, p: m::ReportEventParams) -> Handled<m::ReportEventResult> {
        let session = convert::session_id(&p.session)?;
        let new = NewEvent {
            item: convert::optional_item(&p.item)?,
            level: p.level.map(convert::level),
            flags: p.flags.unwrap_or(0),
            name: p.name,
            description: p.description,
            link_text: p.link_text,
            link_reference: p.link_reference,
            context: p.context,
        };
        let event = self.center.report_event(session, new).map_err(refused)?;
        done(m::ReportEventResult { event: event.to_string() })
    }
}

impl Handle<api::SessionCanContinue> for Hub {
    fn handle(&mut self, _: ConnId, p: m::CanContinueParams) -> Handled<m::CanContinueResult> {
        let session = convert::session_id(&p.session)?;
        let item = convert::optional_item(&p.item)?;
        let proceed = self.center.can_continue(session, item.as_ref()).map_err(refused)?;
        done(m::CanContinueResult { proceed })
    }
}

impl Handle<api::SessionQueryAdditionalItems> for Hub {
    fn handle(&mut self, _: ConnId, p: m::SessionParams) -> Handled<m::PendingItemsResult> {
        let pending = self.center.query_additional_items(convert::session_id(&p.session)?).map_err(refused)?;
        done(m::PendingItemsResult {
            items: pending.items.iter().map(ToString::to_string).collect(),
            contexts: pending.contexts.iter().map(convert::context_wire).collect(),
        })
    }
}

impl Handle<api::SessionAddItem> for Hub {
    fn handle(&mut self, _: ConnId, p: m::SessionItemParams) -> Handled<m::Empty> {
        let (session, item) = (convert::session_id(&p.session)?, convert::item_id(&p.item)?);
        self.center.add_item(session, &item).map_err(refused)?;
        done(m::Empty {})
    }
}

impl Handle<api::SessionAddContext> for Hub {
    fn handle(&mut self, _: ConnId, p: m::AddContextParams) -> Handled<m::Empty> {
        let session = convert::session_id(&p.session)?;
        self.center.add_context(session, p.context.as_ref().map(convert::context)).map_err(refused)?;
        done(m::Empty {})
    }
}

impl Handle<api::SessionProposeItem> for Hub {
    fn handle(&mut self, _: ConnId, p: m::ProposeItemParams) -> Handled<m::Empty> {
        let session = convert::session_id(&p.session)?;
        let id = convert::item_id(&p.item.id)?;
        let spec = convert::item_spec(&p.item.fields)?;
        self.center.propose_item(session, id, spec).map_err(refused)?;
        done(m::Empty {})
    }
}

impl Handle<api::SessionCommitItem> for Hub {
    fn handle(&mut self, _: ConnId, p: m::SessionItemParams) -> Handled<m::Empty> {
        let (session, item) = (convert::session_id(&p.session)?, convert::item_id(&p.item)?);
        self.center.commit_item(session, &item).map_err(refused)?;
        done(m::Empty {})
    }
}

impl Handle<api::SessionReportManualSync> for Hub {
    fn handle(&mut self, _: ConnId, p: m::SessionParams) -> Handled<m::Empty> {
        self.center.report_manual_sync(convert::session_id(&p.session)?).map_err(refused)?;
        done(m::Empty {})
    }
}

impl Handle<api::SessionReportConflict> for Hub {
    fn handle(&mut self, _: ConnId, p: m::ReportConflictParams) -> Handled<m::ReportConflictResult> {
        let session = convert::session_id(&p.session)?;
        let new = NewConflict {
            item: convert::optional_item(&p.item)?,
            key: p.key,
            name: p.name,
            description: p.description,
            versions: p.versions.iter().map(convert::version).collect::<RpcResult<_>>()?,
            abilities: synccenter_core::ResolutionAbilities::from_names(p.abilities.iter().map(String::as_str))
                .map_err(refused)?,
        };
        let conflict = self.center.report_conflict(session, new).map_err(refused)?;
        done(m::ReportConflictResult { conflict: conflict.to_string() })
    }
}

impl Handle<api::SessionDeclareSuspendable> for Hub {
    fn handle(&mut self, _: ConnId, p: m::SessionParams) -> Handled<m::Empty> {
        self.center.set_suspendable(convert::session_id(&p.session)?).map_err(refused)?;
        done(m::Empty {})
    }
}

impl Handle<api::SessionEnd> for Hub {
    fn handle(&mut self, _: ConnId, p: m::SessionParams) -> Handled<m::EndResult> {
        let session = convert::session_id(&p.session)?;
        let s = self.center.end_session(session).map_err(refused)?;
        self.leases.remove(&session);
        done(m::EndResult { status: convert::status_wire(s.status), errors: s.errors, conflicts: s.conflicts })
    }
}
