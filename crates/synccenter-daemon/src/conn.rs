//! One client connection: reads lines in place, parses messages into typed calls for the hub (the calls of one
//! read handed over together), and writes replies and pushes. Bad input is answered here and never reaches the
//! hub; the connection survives it. A line must be finished within the line timeout once it has begun (a
//! stalled or trickling client is cut off); an idle connection between lines may wait as long as it likes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use futures_util::SinkExt;
use synccenter_core::HResult;
use synccenter_platform::transport::{ReadHalf, Stream};
use synccenter_protocol::{ErrorObject, LineCodec, MAX_LINE_BYTES, Outgoing, RequestId, error_codes, parse_incoming};
use tokio::io::AsyncReadExt;
use tokio::sync::{OwnedSemaphorePermit, mpsc, watch};
use tokio::time::Instant;
use tokio_util::codec::FramedWrite;

use crate::calls::{self, Call};
use crate::hub::HubMsg;

/// Lines waiting to be written to one connection.
const OUTBOX_CAPACITY: usize = 8192;

/// How long a closing connection's last lines may take to leave before the writer is dropped.
const FINAL_FLUSH: Duration = Duration::from_secs(5);

/// Where replies and pushes for one connection go. Never blocks: a client that stops reading and lets
/// `OUTBOX_CAPACITY` lines pile up is disconnected at once, whether or not it is sending anything.
#[derive(Clone, Debug)]
pub(crate) struct Outbox {
    tx: mpsc::Sender<String>,
    overflowed: Arc<AtomicBool>,
    /// Wakes the connection's task to close it when the queue overflows.
    overflow: Arc<tokio::sync::Notify>,
}

impl Outbox {
    /// An outbox feeding `tx`, for a connection that lives inside the daemon (requests from other hosts).
    pub(crate) fn new(tx: mpsc::Sender<String>) -> Self {
        Self { tx, overflowed: Arc::new(AtomicBool::new(false)), overflow: Arc::new(tokio::sync::Notify::new()) }
    }

    pub(crate) fn send(&self, line: String) {
        if self.tx.try_send(line).is_err() && !self.overflowed.swap(true, Ordering::SeqCst) {
            tracing::warn!("a client stopped reading its replies; disconnecting it");
            self.overflow.notify_one();
        }
    }
}

pub(crate) type ConnId = u64;

fn error_line(id: Option<RequestId>, error: ErrorObject) -> String {
    Outgoing::<(), ()>::Error { jsonrpc: "2.0", id, error }.to_line()
}

fn too_long_line() -> String {
    error_line(
        None,
        ErrorObject::invalid(
            error_codes::INVALID_REQUEST,
            format!("line longer than {MAX_LINE_BYTES} bytes; it was discarded"),
        ),
    )
}

/// How much is read from the socket at a time (an idle connection keeps a buffer of about this size).
const READ_CHUNK: usize = 8 * 1024;

/// At most this many calls go to the hub in one message, so the hub's queue stays bounded in calls too.
const MAX_CALLS_PER_SEND: usize = 256;

/// What one line amounts to.
// Nearly every line is a call, moved at once into the batch; boxing it would add an allocation per report.
#[allow(clippy::large_enum_variant)]
enum Parsed {
    /// A call for the hub, with the request's ID (none for a notification).
    Call(Option<RequestId>, Call),
    /// An error answered here.
    Reply(String),
    /// Nothing to do (a blank line, or a refused notification).
    Nothing,
}

/// A `session.report_progress` notification, read in one pass. Anything else (an `id`, another method, an
/// extra or repeated field, an escaped `jsonrpc` or `method`, bad parameters) does not fit and takes the
/// general path, which reaches the same call or the right error.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgressNotification<'a> {
    jsonrpc: &'a str,
    method: &'a str,
    #[serde(borrow, deserialize_with = "synccenter_protocol::methods::object_only")]
    params: ProgressParams<'a>,
}

/// `ReportProgressParams`, borrowing its strings from the line (so no copy is made of the session ID, which
/// becomes a UUID). The same fields with the same rules; a field it does not know sends the line to the
/// general path.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgressParams<'a> {
    #[serde(borrow)]
    session: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    item: std::borrow::Cow<'a, str>,
    status: synccenter_protocol::StatusWire,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    step: Option<u32>,
    #[serde(default)]
    max_step: Option<u32>,
}

fn parse_line(line: &[u8], conn: ConnId) -> Parsed {
    let Some(first) = line.iter().find(|b| !b.is_ascii_whitespace()) else {
        return Parsed::Nothing;
    };
    // The hot path: most lines are progress notifications, and the general path reads the parameters twice
    // (once to find the envelope's end of them, once into their type). Only an object is a message: serde
    // would read an array as the fields in order.
    if *first == b'{'
        && let Ok(n) = serde_json::from_slice::<ProgressNotification<'_>>(line)
        && n.jsonrpc == "2.0"
        && n.method == synccenter_protocol::methods::names::SESSION_REPORT_PROGRESS
    {
        let p = n.params;
        return Parsed::Call(
            None,
            Call::Progress(calls::Progress::new(&p.session, &p.item, p.status, p.text, p.step, p.max_step)),
        );
    }
    let incoming = match parse_incoming(line) {
        Ok(i) => i,
        Err(e) => return Parsed::Reply(error_line(e.id, e.error)),
    };
    match calls::parse(&incoming.method, incoming.params) {
        Ok(call) => Parsed::Call(incoming.id, call),
        Err(error) if incoming.id.is_some() => Parsed::Reply(error_line(incoming.id, error)),
        Err(error) => {
            tracing::debug!(conn, %error.message, "refused a notification");
            Parsed::Nothing
        }
    }
}

/// Hands the parsed calls to the hub in one message (one channel operation for a whole read, not one per
/// report). Returns false when the hub is gone.
async fn send_calls(hub: &mpsc::Sender<HubMsg>, conn: ConnId, calls: &mut Vec<(Option<RequestId>, Call)>) -> bool {
    if calls.is_empty() {
        return true;
    }
    let calls = std::mem::take(calls);
    hub.send(HubMsg::Calls { conn, calls }).await.is_ok()
}

/// What one read from the socket found.
enum Read {
    /// More bytes are in the buffer.
    Bytes,
    /// The client closed its side (an unterminated last line still counts).
    End,
    /// Reading failed.
    Failed,
    /// A line was begun (at `began`) and not finished within the line timeout.
    TimedOut,
}

/// Reads more into `buf`; while a line is in progress, only until the line timeout from its first byte.
/// Cancel-safe (`read_buf` is): nothing read is lost when another branch of a `select!` wins.
async fn read_more(read: &mut ReadHalf, buf: &mut BytesMut, began: Option<Instant>, timeout: Duration) -> Read {
    buf.reserve(READ_CHUNK);
    let r = match began {
        None => read.read_buf(buf).await,
        Some(began) => tokio::select! {
            r = read.read_buf(buf) => r,
            () = tokio::time::sleep_until(began + timeout) => return Read::TimedOut,
        },
    };
    match r {
        Ok(0) => Read::End,
        Ok(_) => Read::Bytes,
        Err(e) => {
            tracing::debug!(error = %e, "read failed");
            Read::Failed
        }
    }
}

/// Tells a client over the connection limit why it is closed (one line, never blocking), then drops it.
pub(crate) fn refuse(stream: &Stream, max: usize) {
    let error = ErrorObject::new(
        error_codes::SYNC_CENTER_ERROR,
        HResult::E_OUTOFMEMORY.code,
        HResult::E_OUTOFMEMORY.name,
        format!("too many connections: this daemon serves at most {max} at once; try again when one closes"),
    );
    let _ = stream.try_write(format!("{}\n", error_line(None, error)).as_bytes());
    tracing::warn!(max, "connection limit reached; refused a connection");
}

/// Serves one connection until it closes, the hub goes away or `stopping` turns true (the daemon has flushed
/// its store and is about to return); `slot` is its place under the connection limit, given back as soon as
/// the client is gone.
pub(crate) async fn serve(
    stream: Stream,
    conn: ConnId,
    hub: mpsc::Sender<HubMsg>,
    line_timeout: Duration,
    slot: OwnedSemaphorePermit,
    mut stopping: watch::Receiver<bool>,
) {
    let (mut read, write) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<String>(OUTBOX_CAPACITY);
    let out = Outbox::new(tx);
    let overflowed = out.overflowed.clone();
    let overflow = out.overflow.clone();
    if hub.send(HubMsg::Open { conn, out: out.clone() }).await.is_err() {
        return;
    }
    let mut writer = tokio::spawn(async move {
        let mut sink = FramedWrite::new(write, LineCodec::default());
        while let Some(line) = rx.recv().await {
            if sink.feed(line).await.is_err() {
                return;
            }
            while let Ok(line) = rx.try_recv() {
                if sink.feed(line).await.is_err() {
                    return;
                }
            }
            if SinkExt::<String>::flush(&mut sink).await.is_err() {
                return;
            }
        }
    });
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    // Inside an over-long line: everything up to its end is dropped, then it is answered as one error.
    let mut discarding = false;
    // When the line in progress (the bytes after the last whole line, or an over-long line) began.
    let mut began: Option<Instant> = None;
    let mut calls = Vec::new();
    'read: loop {
        if overflowed.load(Ordering::SeqCst) {
            break;
        }
        // A silent client that stopped reading is closed as soon as its queue overflows, not at its next line.
        let eof = match tokio::select! {
            r = read_more(&mut read, &mut buf, began, line_timeout) => r,
            () = overflow.notified() => break,
            _ = stopping.wait_for(|s| *s) => break,
        } {
            Read::Bytes => false,
            Read::End => true,
            Read::Failed => break,
            Read::TimedOut => {
                tracing::warn!(conn, "a client left a line unfinished past the line timeout; disconnecting it");
                out.send(error_line(
                    None,
                    ErrorObject::invalid(
                        error_codes::INVALID_REQUEST,
                        format!(
                            "a line was begun and not finished within {} s; closing the connection",
                            line_timeout.as_secs_f64()
                        ),
                    ),
                ));
                break;
            }
        };
        // Every whole line in the buffer is parsed in place; the calls go to the hub together.
        let mut start = 0;
        let mut ended_a_line = false;
        loop {
            let line = match memchr::memchr(b'\n', &buf[start..]) {
                Some(pos) => {
                    let line = start..start + pos;
                    start += pos + 1;
                    line
                }
                // At the end of the stream an unterminated last line still counts.
                None if eof && start < buf.len() && !discarding => {
                    let line = start..buf.len();
                    start = buf.len();
                    line
                }
                None => break,
            };
            ended_a_line = true;
            if std::mem::take(&mut discarding) || line.len() > MAX_LINE_BYTES {
                send_calls(&hub, conn, &mut calls).await;
                out.send(too_long_line());
                continue;
            }
            match parse_line(&buf[line], conn) {
                Parsed::Call(id, call) => {
                    calls.push((id, call));
                    if calls.len() >= MAX_CALLS_PER_SEND && !send_calls(&hub, conn, &mut calls).await {
                        break 'read;
                    }
                }
                Parsed::Reply(line) => {
                    // Replies keep the order of the requests: what came before goes to the hub first.
                    if !send_calls(&hub, conn, &mut calls).await {
                        break 'read;
                    }
                    out.send(line);
                }
                Parsed::Nothing => {}
            }
        }
        buf.advance(start);
        if buf.len() > MAX_LINE_BYTES {
            discarding = true;
            buf.clear();
        }
        // A line's time runs from its first byte seen; between lines there is no clock.
        if ended_a_line || (buf.is_empty() && !discarding) {
            began = None;
        }
        if began.is_none() && (!buf.is_empty() || discarding) {
            began = Some(Instant::now());
        }
        if !send_calls(&hub, conn, &mut calls).await {
            break;
        }
        if eof {
            if discarding {
                out.send(too_long_line());
            }
            break;
        }
    }
    drop(slot);
    let _ = hub.send(HubMsg::Closed { conn }).await;
    drop(out);
    // The last lines (an error that explains the close) get a bounded time to leave; a client that does not
    // read them does not keep the writer, and its socket, alive.
    if overflowed.load(Ordering::SeqCst) || tokio::time::timeout(FINAL_FLUSH, &mut writer).await.is_err() {
        writer.abort();
    }
}
