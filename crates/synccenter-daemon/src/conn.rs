//! One client connection: frames lines, parses messages into typed calls for the hub, and writes replies and
//! pushes. Bad input is answered here and never reaches the hub; the connection survives it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::{Buf, BytesMut};
use futures_util::SinkExt;
use synccenter_protocol::{ErrorObject, LineCodec, MAX_LINE_BYTES, Outgoing, RequestId, error_codes, parse_incoming};
use tokio::io::AsyncReadExt;
use tokio::net::UnixStream;
use tokio::sync::mpsc;
use tokio_util::codec::FramedWrite;

use crate::calls::{self, Call};
use crate::hub::HubMsg;

/// Lines waiting to be written to one connection.
const OUTBOX_CAPACITY: usize = 8192;

/// Where replies and pushes for one connection go. Never blocks: a client that stops reading and lets
/// `OUTBOX_CAPACITY` lines pile up is disconnected.
#[derive(Clone, Debug)]
pub(crate) struct Outbox {
    tx: mpsc::Sender<String>,
    overflowed: Arc<AtomicBool>,
}

impl Outbox {
    pub(crate) fn send(&self, line: String) {
        if self.tx.try_send(line).is_err() && !self.overflowed.swap(true, Ordering::SeqCst) {
            tracing::warn!("a client stopped reading its replies; disconnecting it");
        }
    }
}

pub(crate) type ConnId = u64;

fn error_line(id: Option<RequestId>, error: ErrorObject) -> String {
    Outgoing::<(), ()>::Error { jsonrpc: "2.0", id, error }.to_line()
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
    #[serde(borrow)]
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
    if line.iter().all(u8::is_ascii_whitespace) {
        return Parsed::Nothing;
    }
    // The hot path: most lines are progress notifications, and the general path reads the parameters twice
    // (once to find the envelope's end of them, once into their type).
    if let Ok(n) = serde_json::from_slice::<ProgressNotification<'_>>(line)
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

/// Serves one connection until it closes or the hub goes away.
pub(crate) async fn serve(stream: UnixStream, conn: ConnId, hub: mpsc::Sender<HubMsg>) {
    let (read, write) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<String>(OUTBOX_CAPACITY);
    let overflowed = Arc::new(AtomicBool::new(false));
    let out = Outbox { tx, overflowed: overflowed.clone() };
    if hub.send(HubMsg::Open { conn, out: out.clone() }).await.is_err() {
        return;
    }
    let writer = tokio::spawn(async move {
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
    let mut read = read;
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    // Inside an over-long line: everything up to its end is dropped, then it is answered as one error.
    let mut discarding = false;
    let mut calls = Vec::new();
    'read: loop {
        if overflowed.load(Ordering::SeqCst) {
            break;
        }
        buf.reserve(READ_CHUNK);
        let eof = match read.read_buf(&mut buf).await {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => {
                tracing::debug!(conn, error = %e, "read failed");
                break;
            }
        };
        // Every whole line in the buffer is parsed in place; the calls go to the hub together.
        let mut start = 0;
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
            if std::mem::take(&mut discarding) || line.len() > MAX_LINE_BYTES {
                send_calls(&hub, conn, &mut calls).await;
                out.send(error_line(
                    None,
                    ErrorObject::invalid(
                        error_codes::INVALID_REQUEST,
                        format!("line longer than {MAX_LINE_BYTES} bytes; it was discarded"),
                    ),
                ));
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
        if !send_calls(&hub, conn, &mut calls).await {
            break;
        }
        if eof {
            if discarding {
                out.send(error_line(
                    None,
                    ErrorObject::invalid(
                        error_codes::INVALID_REQUEST,
                        format!("line longer than {MAX_LINE_BYTES} bytes; it was discarded"),
                    ),
                ));
            }
            break;
        }
    }
    let _ = hub.send(HubMsg::Closed { conn }).await;
    drop(out);
    let _ = writer.await;
}
