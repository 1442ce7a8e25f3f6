//! The connection's machinery: one shared state behind a mutex, one writer task that owns the write half and
//! one reader task that owns the read half.
//!
//! Everything the client sends goes through one ordered queue, except progress, which waits in latest-wins
//! slots (one per session and item, one for each session's handler text). Whenever anything else is queued,
//! the slots are first moved into the queue, so a request or notification is never overtaken by older progress
//! (an `end` always follows the last report) and the writer, which drains the queue before the slots, never
//! sends newer progress before an older request. A slot holding a final status is moved to the queue before
//! anything different overwrites it, so coalescing never loses a final status.
//!
//! Bounds: the queue holds at most [`QUEUE_CAPACITY`] lines (callers wait for space; a dropped `Session`'s
//! `session.end` never waits and is never dropped), pushes wait in a bounded channel (dropped with a warning
//! when full, because the reader must never block behind a slow consumer), updates in a bounded broadcast
//! (a slow subscriber sees `Lagged`), and incoming lines are capped at [`MAX_READ_LINE_BYTES`].
//!
//! It deliberately knows nothing about individual methods beyond `session.create`, whose answer must register
//! the session's cancel state before the reader handles the next line (a cancel push may follow at once).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use synccenter_platform::transport::{ReadHalf, WriteHalf};
use synccenter_protocol::methods::{
    AmountInfo, CancelRequestedPush, ReportProgressParams, ResolutionRequestedPush, SessionParams,
    SetHandlerProgressTextParams, SyncRequestedPush, SyncResultPush, Update, names,
};
use synccenter_protocol::{ErrorData, Frame, LineCodec, MAX_LINE_BYTES, StatusWire};
use tokio::sync::{Notify, broadcast, mpsc, oneshot, watch};
use tokio_util::codec::{FramedRead, FramedWrite};

use crate::cancel::CancelSnapshot;
use crate::error::ClientError;
use crate::push::Push;

/// Most lines waiting to be written; callers of `call` and `notify` wait for space beyond it.
pub(crate) const QUEUE_CAPACITY: usize = 1024;
/// Most pushes waiting for [`crate::Client::pushes`]' receiver.
pub(crate) const PUSH_CAPACITY: usize = 1024;
/// Most updates a subscription may fall behind.
pub(crate) const UPDATE_CAPACITY: usize = 4096;
/// Longest line accepted from the daemon. The daemon keeps its lines within `MAX_LINE_BYTES`; the client
/// accepts more so that a grown result is still read, but a line beyond this closes the connection, since its
/// request cannot be told.
pub(crate) const MAX_READ_LINE_BYTES: usize = 16 * MAX_LINE_BYTES;

/// A reply as the reader hands it to the waiting caller.
pub(crate) type Reply = Result<Value, ReplyError>;

/// A reply that is not a result.
#[derive(Debug)]
pub(crate) enum ReplyError {
    /// The daemon's error object.
    Rpc { code: i64, message: String, data: Option<ErrorData> },
    /// The reply could not be read.
    Malformed(String),
}

/// What the reader must do with a reply besides handing it over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PendingKind {
    /// Nothing.
    Plain,
    /// Register the new session's cancel state.
    CreateSession,
}

#[derive(Debug)]
pub(crate) struct Pending {
    tx: oneshot::Sender<Reply>,
    kind: PendingKind,
}

/// Progress waiting to be written for one session.
/// What a progress report counts: the spec's steps, or an amount in its unit.
pub(crate) enum Amount {
    Steps(u32, u32),
    InUnit(AmountInfo),
}

impl Amount {
    /// Sets the report's numbers, clearing the other kind's (a coalesced report is entirely the latest).
    fn fill(self, p: &mut ReportProgressParams) {
        let (steps, unit, amount) = match self {
            Amount::Steps(step, max) => ((Some(step), Some(max)), None, (None, None)),
            Amount::InUnit(a) => ((None, None), Some(a.unit), (Some(a.done), Some(a.total))),
        };
        (p.step, p.max_step) = steps;
        p.unit = unit;
        (p.done, p.total) = amount;
    }
}

#[derive(Debug, Default)]
struct Slots {
    items: HashMap<String, ReportProgressParams>,
    handler_text: Option<String>,
}

#[derive(Debug)]
struct State {
    /// The connection is gone; nothing more is sent or received.
    closed: bool,
    /// Every `Client` handle is gone: write what is queued, then close.
    shutdown: bool,
    queue: VecDeque<String>,
    pending: HashMap<i64, Pending>,
    progress: HashMap<String, Slots>,
    sessions: HashMap<String, watch::Sender<CancelSnapshot>>,
    pushes: Option<mpsc::Sender<Push>>,
    updates: Option<broadcast::Sender<Update>>,
}

/// The state shared by every handle and both tasks.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    wake_writer: Notify,
    space: Notify,
    stop_reader: Notify,
    next_id: AtomicI64,
    pushes_rx: Mutex<Option<mpsc::Receiver<Push>>>,
}

#[derive(Serialize)]
struct Message<'a, P: Serialize> {
    jsonrpc: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
    method: &'a str,
    params: &'a P,
}

/// Encodes one request (with `id`) or notification, checking the line limit.
pub(crate) fn encode<P: Serialize>(method: &str, id: Option<i64>, params: &P) -> Result<String, ClientError> {
    let line = serde_json::to_string(&Message { jsonrpc: "2.0", id, method, params })
        .map_err(|source| ClientError::Encode { method: method.to_owned(), source })?;
    if line.len() > MAX_LINE_BYTES {
        return Err(ClientError::LineTooLong { method: method.to_owned(), len: line.len(), max: MAX_LINE_BYTES });
    }
    Ok(line)
}

fn is_final(status: StatusWire) -> bool {
    match status {
        StatusWire::Succeeded | StatusWire::Failed | StatusWire::Canceled | StatusWire::Disconnected => true,
        StatusWire::Updating | StatusWire::UpdatingIndeterminate => false,
    }
}

/// Encodes a notification whose parameters are plain data; logs instead of failing, as this cannot fail.
fn notification_line<P: Serialize>(method: &str, params: &P) -> Option<String> {
    match serde_json::to_string(&Message { jsonrpc: "2.0", id: None, method, params }) {
        Ok(line) => Some(line),
        Err(e) => {
            tracing::warn!(method, error = %e, "cannot encode a notification; dropped");
            None
        }
    }
}

impl State {
    /// Moves every progress slot to the end of `out`.
    fn drain_progress(&mut self, out: &mut impl Extend<String>) {
        for (session, slots) in self.progress.drain() {
            if let Some(text) = slots.handler_text {
                let params = SetHandlerProgressTextParams { session: session.clone(), text: Some(text) };
                out.extend(notification_line(names::SESSION_SET_HANDLER_PROGRESS_TEXT, &params));
            }
            for params in slots.items.into_values() {
                out.extend(notification_line(names::SESSION_REPORT_PROGRESS, &params));
            }
        }
    }

    fn flush_progress(&mut self) {
        let mut lines = Vec::new();
        self.drain_progress(&mut lines);
        self.queue.extend(lines);
    }
}

impl Shared {
    pub(crate) fn new() -> Arc<Shared> {
        let (push_tx, push_rx) = mpsc::channel(PUSH_CAPACITY);
        let (update_tx, _) = broadcast::channel(UPDATE_CAPACITY);
        Arc::new(Shared {
            state: Mutex::new(State {
                closed: false,
                shutdown: false,
                queue: VecDeque::new(),
                pending: HashMap::new(),
                progress: HashMap::new(),
                sessions: HashMap::new(),
                pushes: Some(push_tx),
                updates: Some(update_tx),
            }),
            wake_writer: Notify::new(),
            space: Notify::new(),
            stop_reader: Notify::new(),
            next_id: AtomicI64::new(0),
            pushes_rx: Mutex::new(Some(push_rx)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock, so a poisoned lock still holds consistent state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts the reader and writer tasks.
    pub(crate) fn spawn(self: &Arc<Self>, read: ReadHalf, write: WriteHalf) {
        tokio::spawn(write_loop(Arc::clone(self), write));
        tokio::spawn(read_loop(Arc::clone(self), read));
    }

    /// The push receiver, once.
    pub(crate) fn take_pushes(&self) -> Option<mpsc::Receiver<Push>> {
        self.pushes_rx.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    /// A receiver of `update` pushes from now on.
    pub(crate) fn subscribe_updates(&self) -> Result<broadcast::Receiver<Update>, ClientError> {
        self.lock().updates.as_ref().map(broadcast::Sender::subscribe).ok_or(ClientError::Disconnected)
    }

    /// Sends a request and waits for its reply.
    pub(crate) async fn call_value<P: Serialize>(
        &self,
        method: &str,
        params: &P,
        kind: PendingKind,
    ) -> Result<Value, ClientError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let line = encode(method, Some(id), params)?;
        let (tx, rx) = oneshot::channel();
        self.enqueue(line, Some((id, Pending { tx, kind }))).await?;
        match rx.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(ReplyError::Rpc { code, message, data })) => {
                let (hresult, name) = match data {
                    Some(d) => (d.hresult, d.name),
                    None => (0x8000_4005, "E_FAIL".to_owned()),
                };
                Err(ClientError::Rpc { method: method.to_owned(), code, message, hresult, name })
            }
            Ok(Err(ReplyError::Malformed(why))) => Err(ClientError::Protocol(format!("{method}: {why}"))),
            Err(_) => Err(ClientError::Disconnected),
        }
    }

    /// Queues a notification, waiting for space.
    pub(crate) async fn notify<P: Serialize>(&self, method: &str, params: &P) -> Result<(), ClientError> {
        let line = encode(method, None, params)?;
        self.enqueue(line, None).await
    }

    /// Queues a line after all progress reported so far, waiting while the queue is full.
    async fn enqueue(&self, line: String, mut pending: Option<(i64, Pending)>) -> Result<(), ClientError> {
        loop {
            // Created before the check, so a wake-up between the check and the wait is not missed.
            let space = self.space.notified();
            {
                let mut st = self.lock();
                if st.closed {
                    return Err(ClientError::Disconnected);
                }
                if st.queue.len() < QUEUE_CAPACITY {
                    st.flush_progress();
                    if let Some((id, p)) = pending.take() {
                        st.pending.insert(id, p);
                    }
                    st.queue.push_back(line);
                    drop(st);
                    self.wake_writer.notify_one();
                    return Ok(());
                }
            }
            space.await;
        }
    }

    /// Puts a progress report into its latest-wins slot. Never waits.
    pub(crate) fn put_progress(
        &self,
        session: &str,
        item: &str,
        status: StatusWire,
        text: Option<&str>,
        amount: Amount,
    ) -> Result<(), ClientError> {
        let mut st = self.lock();
        if st.closed {
            return Err(ClientError::Disconnected);
        }
        let mut text = text.map(str::to_owned);
        let overwrites_final = st
            .progress
            .get(session)
            .and_then(|s| s.items.get(item))
            .is_some_and(|old| is_final(old.status) && old.status != status);
        if overwrites_final {
            st.flush_progress();
        }
        if !st.progress.contains_key(session) {
            st.progress.insert(session.to_owned(), Slots::default());
        }
        if let Some(slots) = st.progress.get_mut(session) {
            match slots.items.get_mut(item) {
                Some(old) => {
                    // An absent text keeps the previous one, so a coalesced report must carry the older text.
                    if text.is_none() {
                        text = old.text.take();
                    }
                    old.status = status;
                    old.text = text;
                    amount.fill(old);
                }
                None => {
                    let mut params = ReportProgressParams {
                        session: session.to_owned(),
                        item: item.to_owned(),
                        status,
                        text,
                        step: None,
                        max_step: None,
                        unit: None,
                        done: None,
                        total: None,
                    };
                    amount.fill(&mut params);
                    slots.items.insert(item.to_owned(), params);
                }
            }
        }
        drop(st);
        self.wake_writer.notify_one();
        Ok(())
    }

    /// Puts the handler-level progress text into its latest-wins slot. Never waits.
    pub(crate) fn put_handler_text(&self, session: &str, text: &str) -> Result<(), ClientError> {
        let mut st = self.lock();
        if st.closed {
            return Err(ClientError::Disconnected);
        }
        st.progress.entry(session.to_owned()).or_default().handler_text = Some(text.to_owned());
        drop(st);
        self.wake_writer.notify_one();
        Ok(())
    }

    /// The cancel state of a session whose `session.create` reply was read.
    pub(crate) fn session_watch(&self, session: &str) -> Result<watch::Receiver<CancelSnapshot>, ClientError> {
        let st = self.lock();
        match st.sessions.get(session) {
            Some(tx) => Ok(tx.subscribe()),
            None if st.closed => Err(ClientError::Disconnected),
            None => Err(ClientError::Protocol(format!("session {session} is not known to the connection"))),
        }
    }

    /// Stops routing pushes to an ended session.
    pub(crate) fn forget_session(&self, session: &str) {
        let mut st = self.lock();
        st.sessions.remove(session);
    }

    /// Queues `session.end` as a notification without waiting: it is never dropped and never waits for space.
    pub(crate) fn end_without_waiting(&self, session: &str) {
        let mut st = self.lock();
        Self::end_locked(&mut st, session);
        drop(st);
        self.wake_writer.notify_one();
    }

    fn end_locked(st: &mut State, session: &str) {
        st.sessions.remove(session);
        if st.closed {
            // The daemon ends every session of a closed connection.
            return;
        }
        st.flush_progress();
        let params = SessionParams { session: session.to_owned() };
        if let Some(line) = notification_line(names::SESSION_END, &params) {
            st.queue.push_back(line);
        }
    }

    /// Every `Client` handle is gone: write what is queued, then close.
    pub(crate) fn shutdown(&self) {
        self.lock().shutdown = true;
        self.wake_writer.notify_one();
    }

    /// Marks the connection closed: fails pending calls, wakes cancel waiters, ends pushes and updates.
    fn close(&self, why: &str) {
        let mut st = self.lock();
        if st.closed {
            return;
        }
        tracing::debug!(why, "synccenter connection closed");
        st.closed = true;
        // Dropping the senders fails each waiting call with `Disconnected`.
        st.pending.clear();
        for tx in st.sessions.values() {
            tx.send_modify(|s| s.closed = true);
        }
        st.sessions.clear();
        st.queue.clear();
        st.progress.clear();
        st.pushes = None;
        st.updates = None;
        drop(st);
        self.wake_writer.notify_one();
        self.space.notify_waiters();
    }

    /// Takes everything there is to write, queue first; and whether the writer should stop when it is empty.
    fn take_batch(&self) -> (Vec<String>, bool) {
        let mut st = self.lock();
        let mut batch: Vec<String> = st.queue.drain(..).collect();
        st.drain_progress(&mut batch);
        (batch, st.closed || st.shutdown)
    }

    /// Handles one line from the daemon.
    fn dispatch(&self, line: &[u8]) {
        let mut obj = match serde_json::from_slice::<Value>(line) {
            Ok(Value::Object(obj)) => obj,
            Ok(_) => {
                tracing::warn!("the daemon sent a line that is not a JSON object; ignored");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "the daemon sent a line that is not JSON; ignored");
                return;
            }
        };
        if let Some(Value::String(method)) = obj.remove("method") {
            let params = obj.remove("params").unwrap_or(Value::Null);
            self.route_push(&method, params);
            return;
        }
        let Some(id) = obj.get("id").and_then(Value::as_i64) else {
            let message = Value::Object(obj);
            tracing::warn!(%message, "the daemon sent a reply without a usable id; ignored");
            return;
        };
        let reply: Reply = match (obj.remove("result"), obj.remove("error")) {
            (_, Some(error)) => match serde_json::from_value::<RawError>(error) {
                Ok(e) => Err(ReplyError::Rpc { code: e.code, message: e.message, data: e.data }),
                Err(e) => Err(ReplyError::Malformed(format!("unreadable error object: {e}"))),
            },
            (Some(result), None) => Ok(result),
            (None, None) => Err(ReplyError::Malformed("a reply with neither result nor error".into())),
        };
        let mut st = self.lock();
        let Some(pending) = st.pending.remove(&id) else {
            tracing::warn!(id, "the daemon answered a request that is not pending; ignored");
            return;
        };
        let created = match (&reply, pending.kind) {
            (Ok(result), PendingKind::CreateSession) => {
                result.get("session").and_then(Value::as_str).map(str::to_owned)
            }
            _ => None,
        };
        if let Some(session) = &created {
            st.sessions.entry(session.clone()).or_insert_with(|| watch::channel(CancelSnapshot::default()).0);
        }
        if pending.tx.send(reply).is_err()
            && let Some(session) = created
        {
            // The caller gave up waiting: nobody will own the session, so end it now.
            Self::end_locked(&mut st, &session);
            drop(st);
            self.wake_writer.notify_one();
        }
    }

    fn route_push(&self, method: &str, params: Value) {
        let push = match method {
            names::PUSH_CANCEL_REQUESTED => match serde_json::from_value::<CancelRequestedPush>(params) {
                Ok(p) => {
                    let st = self.lock();
                    if let Some(tx) = st.sessions.get(&p.session) {
                        tx.send_modify(|s| s.apply(p));
                    }
                    return;
                }
                Err(e) => Err(e),
            },
            names::PUSH_UPDATE => match serde_json::from_value::<Update>(params) {
                Ok(u) => {
                    let st = self.lock();
                    if let Some(tx) = &st.updates {
                        // No subscriber is not an error.
                        let _ = tx.send(u);
                    }
                    return;
                }
                Err(e) => Err(e),
            },
            names::PUSH_SYNC_REQUESTED => serde_json::from_value::<SyncRequestedPush>(params).map(Push::SyncRequested),
            names::PUSH_SYNC_RESULT => serde_json::from_value::<SyncResultPush>(params).map(Push::SyncResult),
            names::PUSH_RESOLUTION_REQUESTED => {
                serde_json::from_value::<ResolutionRequestedPush>(params).map(Push::ResolutionRequested)
            }
            other => {
                tracing::debug!(method = other, "unknown push from the daemon; ignored");
                return;
            }
        };
        match push {
            Ok(push) => {
                let st = self.lock();
                if let Some(tx) = &st.pushes
                    && let Err(mpsc::error::TrySendError::Full(p)) = tx.try_send(push)
                {
                    tracing::warn!(push = ?p, "the push receiver is full; push dropped");
                }
            }
            Err(e) => tracing::warn!(method, error = %e, "malformed push from the daemon; ignored"),
        }
    }
}

#[derive(Deserialize)]
struct RawError {
    code: i64,
    message: String,
    #[serde(default)]
    data: Option<ErrorData>,
}

async fn write_loop(shared: Arc<Shared>, write: WriteHalf) {
    let mut sink = FramedWrite::new(write, LineCodec::default());
    'outer: loop {
        let (batch, stop) = shared.take_batch();
        if !batch.is_empty() {
            for line in batch {
                if let Err(e) = sink.feed(line).await {
                    shared.close(&format!("write failed: {e}"));
                    break 'outer;
                }
            }
            if let Err(e) = SinkExt::<String>::flush(&mut sink).await {
                shared.close(&format!("write failed: {e}"));
                break;
            }
            shared.space.notify_waiters();
            continue;
        }
        if stop {
            break;
        }
        shared.wake_writer.notified().await;
    }
    // Shuts down the write direction, so the daemon sees the end and ends this connection's sessions.
    let _ = SinkExt::<String>::close(&mut sink).await;
    shared.stop_reader.notify_one();
}

async fn read_loop(shared: Arc<Shared>, read: ReadHalf) {
    let mut frames = FramedRead::new(read, LineCodec::new(MAX_READ_LINE_BYTES));
    let why = loop {
        let frame = tokio::select! {
            frame = frames.next() => frame,
            () = shared.stop_reader.notified() => break "client shut down".to_owned(),
        };
        match frame {
            None => break "the daemon closed the connection".to_owned(),
            Some(Err(e)) => break format!("read failed: {e}"),
            Some(Ok(Frame::TooLong)) => {
                tracing::warn!(max = MAX_READ_LINE_BYTES, "the daemon sent an over-long line");
                break format!("the daemon sent a line over {MAX_READ_LINE_BYTES} bytes");
            }
            Some(Ok(Frame::Line(line))) => shared.dispatch(&line),
        }
    };
    shared.close(&why);
}
