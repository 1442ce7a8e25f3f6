//! A sync session as its owner sees it: the hot path (`report_progress`, which never waits), the session
//! callback's requests, the cancellation pushed by the daemon, and an end that cannot be forgotten, since
//! dropping a `Session` that was not ended queues `session.end` (the daemon also ends the sessions of a closed
//! connection). It holds no progress state of its own; the latest-wins slots live with the connection, so
//! that ordering against other messages is decided in one place.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use synccenter_protocol::api::{self, Method};
use synccenter_protocol::methods::{
    AddContextParams, AmountInfo, CanContinueParams, CancelRequestedPush, CreateSessionParams, CreateSessionResult,
    EndResult, PendingItemsResult, ProposeItemParams, ProposedItem, ReportConflictParams, ReportEventParams,
    ReportProgressParams, SessionItemParams, SessionParams,
};
use synccenter_protocol::{CancelWire, EventLevelWire, StatusWire};
use tokio::sync::watch;

use crate::cancel::{CancelSnapshot, CancelState};
use crate::client::Client;
use crate::conn::{Amount, PendingKind};
use crate::error::ClientError;

/// Sessions are created by the connection and hold it: here, so that the connection does not depend on them.
impl Client {
    /// `session.create`: a session of `handler` over `items`.
    pub async fn create_session<I, S>(&self, handler: &str, items: I) -> Result<Session, ClientError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.create_session_with(CreateSessionParams {
            handler: handler.to_owned(),
            items: items.into_iter().map(Into::into).collect(),
            detach: false,
            lease_seconds: None,
            announce: false,
        })
        .await
    }

    /// `session.create` with every parameter (a lease, or a detached session).
    pub async fn create_session_with(&self, params: CreateSessionParams) -> Result<Session, ClientError> {
        let value = self.shared().call_value(api::SessionCreate::NAME, &params, PendingKind::CreateSession).await?;
        let created: CreateSessionResult = serde_json::from_value(value)
            .map_err(|e| ClientError::Protocol(format!("{}: unexpected result: {e}", api::SessionCreate::NAME)))?;
        let cancel = self.shared().session_watch(&created.session)?;
        Ok(Session::new(self.clone(), created.session, cancel))
    }
}

/// A live session created by [`Client::create_session`]. End it with [`Session::end`]; dropping it ends it too.
#[derive(Debug)]
pub struct Session {
    client: Client,
    id: String,
    cancel: watch::Receiver<CancelSnapshot>,
    /// Pushes already returned by [`Session::cancelled`].
    seen: AtomicU64,
    ended: bool,
}

impl Session {
    fn new(client: Client, id: String, cancel: watch::Receiver<CancelSnapshot>) -> Session {
        Session { client, id, cancel, seen: AtomicU64::new(0), ended: false }
    }

    /// The session's ID.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Reports an item's progress without waiting: the report replaces any unsent one of the same item and is
    /// sent as a `session.report_progress` notification. Fails only when the connection is closed.
    ///
    /// `text`: `None` keeps the current text, `Some("")` clears it.
    pub fn report_progress(
        &self,
        item: &str,
        status: StatusWire,
        text: Option<&str>,
        step: u32,
        max_step: u32,
    ) -> Result<(), ClientError> {
        self.client.shared().put_progress(&self.id, item, status, text, Amount::Steps(step, max_step))
    }

    /// [`Session::report_progress`] with the amount in its unit (bytes, files; `u64`): the daemon derives the
    /// spec's steps from it (`docs/protocol.md`, Units).
    pub fn report_amount(
        &self,
        item: &str,
        status: StatusWire,
        text: Option<&str>,
        amount: AmountInfo,
    ) -> Result<(), ClientError> {
        self.client.shared().put_progress(&self.id, item, status, text, Amount::InUnit(amount))
    }

    /// Reports an item's progress as a request and returns the cancel request in force.
    pub async fn report_progress_acked(
        &self,
        item: &str,
        status: StatusWire,
        text: Option<&str>,
        step: u32,
        max_step: u32,
    ) -> Result<CancelWire, ClientError> {
        let params = ReportProgressParams {
            session: self.id.clone(),
            item: item.to_owned(),
            status,
            text: text.map(str::to_owned),
            step: Some(step),
            max_step: Some(max_step),
            unit: None,
            done: None,
            total: None,
        };
        let r = self.client.request::<api::SessionReportProgress>(&params).await?;
        Ok(r.cancel)
    }

    /// Sets the handler-level progress text without waiting (latest wins, like progress).
    pub fn set_handler_progress_text(&self, text: &str) -> Result<(), ClientError> {
        self.client.shared().put_handler_text(&self.id, text)
    }

    /// Reports an event and returns its ID. `item: None` reports a handler-level event.
    pub async fn report_event(
        &self,
        item: Option<&str>,
        level: EventLevelWire,
        name: &str,
        description: &str,
    ) -> Result<String, ClientError> {
        self.report_event_with(ReportEventParams {
            item: item.map(str::to_owned),
            level: Some(level),
            name: Some(name.to_owned()),
            description: Some(description.to_owned()),
            ..ReportEventParams::default()
        })
        .await
    }

    /// Reports an event with every field; `params.session` is replaced by this session's ID.
    pub async fn report_event_with(&self, mut params: ReportEventParams) -> Result<String, ClientError> {
        params.session.clone_from(&self.id);
        let r = self.client.request::<api::SessionReportEvent>(&params).await?;
        Ok(r.event)
    }

    /// Whether the item (or, with `None`, the handler as a whole) may continue.
    pub async fn can_continue(&self, item: Option<&str>) -> Result<bool, ClientError> {
        let params = CanContinueParams { session: self.id.clone(), item: item.map(str::to_owned) };
        let r = self.client.request::<api::SessionCanContinue>(&params).await?;
        Ok(r.proceed)
    }

    /// Items and contexts that start requests added while the session runs.
    pub async fn query_additional_items(&self) -> Result<PendingItemsResult, ClientError> {
        self.client.request::<api::SessionQueryAdditionalItems>(&self.params()).await
    }

    /// Adds an item to the session.
    pub async fn add_item(&self, item: &str) -> Result<(), ClientError> {
        let params = SessionItemParams { session: self.id.clone(), item: item.to_owned() };
        self.client.request::<api::SessionAddItem>(&params).await.map(drop)
    }

    /// Adds a pending context to the session.
    pub async fn add_context(&self, context: Value) -> Result<(), ClientError> {
        let params = AddContextParams { session: self.id.clone(), context: Some(context) };
        self.client.request::<api::SessionAddContext>(&params).await.map(drop)
    }

    /// Proposes a new item, to be committed with [`Session::commit_item`].
    pub async fn propose_item(&self, item: ProposedItem) -> Result<(), ClientError> {
        let params = ProposeItemParams { session: self.id.clone(), item };
        self.client.request::<api::SessionProposeItem>(&params).await.map(drop)
    }

    /// Commits a proposed item.
    pub async fn commit_item(&self, item: &str) -> Result<(), ClientError> {
        let params = SessionItemParams { session: self.id.clone(), item: item.to_owned() };
        self.client.request::<api::SessionCommitItem>(&params).await.map(drop)
    }

    /// Marks the session as user-initiated.
    pub async fn report_manual_sync(&self) -> Result<(), ClientError> {
        self.client.request::<api::SessionReportManualSync>(&self.params()).await.map(drop)
    }

    /// Reports a conflict and returns its ID; `params.session` is replaced by this session's ID.
    pub async fn report_conflict(&self, mut params: ReportConflictParams) -> Result<String, ClientError> {
        params.session.clone_from(&self.id);
        let r = self.client.request::<api::SessionReportConflict>(&params).await?;
        Ok(r.conflict)
    }

    /// The stops requested so far (sticky; `all` wins over items).
    pub fn cancel_state(&self) -> CancelState {
        self.cancel.borrow().state.clone()
    }

    /// Waits for the next `session.cancel_requested` push not yet returned by this method; one that arrived
    /// before the call returns at once (when several did, the latest; [`Session::cancel_state`] has them all).
    /// Fails with [`ClientError::Disconnected`] when the connection closes.
    pub async fn cancelled(&self) -> Result<CancelRequestedPush, ClientError> {
        let mut rx = self.cancel.clone();
        loop {
            {
                let snap = rx.borrow_and_update();
                if let Some(push) = &snap.last
                    && self.seen.fetch_max(snap.count, Ordering::AcqRel) < snap.count
                {
                    return Ok(push.clone());
                }
                if snap.closed {
                    return Err(ClientError::Disconnected);
                }
            }
            if rx.changed().await.is_err() {
                let snap = rx.borrow();
                if let Some(push) = &snap.last
                    && self.seen.fetch_max(snap.count, Ordering::AcqRel) < snap.count
                {
                    return Ok(push.clone());
                }
                return Err(ClientError::Disconnected);
            }
        }
    }

    /// Ends the session after all progress reported so far, and returns its outcome.
    pub async fn end(mut self) -> Result<EndResult, ClientError> {
        let r = self.client.request::<api::SessionEnd>(&self.params()).await;
        // Even a refused end must not be repeated by `Drop`.
        self.ended = true;
        self.client.shared().forget_session(&self.id);
        r
    }

    /// Gives up ownership without ending the session and returns its ID: for a detached session (see
    /// [`Client::create_session_with`]) that another connection will end. Progress reported so far is still sent.
    pub fn into_id(mut self) -> String {
        self.ended = true;
        self.client.shared().forget_session(&self.id);
        std::mem::take(&mut self.id)
    }

    fn params(&self) -> SessionParams {
        SessionParams { session: self.id.clone() }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if !self.ended {
            self.client.shared().end_without_waiting(&self.id);
        }
    }
}
