//! One client connection: reads lines in place, parses messages into typed calls and queues them for the hub
//! (running progress coalesced per item, see `inbox`), and writes replies and pushes. Bad input is answered
//! here and never reaches the hub; the connection survives it. A line must be finished within the line timeout
//! once it has begun (a stalled or trickling client is cut off); an idle connection between lines may wait as
//! long as it likes. When its queue is full the connection stops reading: the client is slowed by its own
//! socket.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use futures_util::SinkExt;
use synccenter_core::HResult;
use synccenter_platform::transport::{ReadHalf, Stream, WriteHalf};
use synccenter_protocol::{ErrorObject, LineCodec, MAX_LINE_BYTES, RequestId, error_codes, parse_incoming};
use tokio::io::AsyncReadExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::time::Instant;
use tokio_util::codec::FramedWrite;

use crate::calls::{Call, Progress};
use crate::inbox::{Entry, HubMsg, Inbound};
use crate::outbox::{ConnId, Outbox, error_line};

/// Lines waiting to be written to one connection.
const OUTBOX_CAPACITY: usize = 8192;

/// Calls and distinct items' reports one connection may have waiting for the hub before it stops reading.
const INBOUND_CAPACITY: usize = 1024;

/// How long a closing connection's last lines may take to leave before the writer is dropped.
const FINAL_FLUSH: Duration = Duration::from_secs(5);

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

/// What one line amounts to.
// Nearly every line is a call, moved at once into the batch; boxing it would add an allocation per report.
#[allow(clippy::large_enum_variant)]
enum Parsed {
    /// A running progress notification with valid IDs: coalesced with the item's earlier ones.
    Progress(Progress),
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
        let report = Progress::new(&p.session, &p.item, p.status, p.text, p.step, p.max_step);
        return match &report.target {
            Ok(_) if !p.status.is_final() => Parsed::Progress(report),
            Ok(_) => Parsed::Call(
                None,
                Call::SessionReportProgress(synccenter_protocol::methods::ReportProgressParams {
                    session: p.session.into_owned(),
                    item: p.item.into_owned(),
                    status: report.status,
                    text: report.text,
                    step: report.step,
                    max_step: report.max_step,
                }),
            ),
            Err(error) => {
                tracing::debug!(conn, %error.message, "refused a progress notification");
                Parsed::Nothing
            }
        };
    }
    let incoming = match parse_incoming(line) {
        Ok(i) => i,
        Err(e) => return Parsed::Reply(error_line(e.id, e.error)),
    };
    match Call::parse(&incoming.method, incoming.params) {
        Ok(call) => Parsed::Call(incoming.id, call),
        Err(error) if incoming.id.is_some() => Parsed::Reply(error_line(incoming.id, error)),
        Err(error) => {
            tracing::debug!(conn, %error.message, "refused a notification");
            Parsed::Nothing
        }
    }
}

/// The connection's side of its queue: pushes, and wakes the hub when the queue turns busy.
struct Queue {
    conn: ConnId,
    hub: mpsc::Sender<HubMsg>,
    inbound: Arc<Inbound>,
}

impl Queue {
    /// Queues what a line amounted to. Returns whether the queue is now full, or `None` when the hub is gone.
    async fn put(&self, parsed: Parsed) -> Option<bool> {
        let pushed = match parsed {
            Parsed::Progress(report) => match report.target.clone() {
                Ok(key) => self.inbound.push_progress(key, report),
                Err(_) => return Some(false),
            },
            Parsed::Call(id, call) => self.inbound.push(Entry::Call(id, Box::new(call))),
            // Replies keep the order of the requests: a refusal waits behind the calls before it.
            Parsed::Reply(line) => self.inbound.push(Entry::Reply(line)),
            Parsed::Nothing => return Some(false),
        };
        if pushed.wake_hub && self.hub.send(HubMsg::Ready { conn: self.conn }).await.is_err() {
            return None;
        }
        Some(pushed.full)
    }
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

/// Writes the outbox's lines to the socket, a burst at a time.
fn spawn_writer(write: WriteHalf, mut rx: mpsc::Receiver<String>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
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
    })
}

/// What every connection's task shares.
#[derive(Clone, Debug)]
pub(crate) struct ConnShared {
    pub(crate) hub: mpsc::Sender<HubMsg>,
    pub(crate) line_timeout: Duration,
    /// Turns at parsing a full read, one per worker thread: connections with a backlog (a flood) take turns
    /// here rather than in the runtime's queue, so a quiet connection's line (a stop) waits behind at most
    /// one read's worth of parsing per thread, however many connections flood.
    pub(crate) busy_turns: Arc<Semaphore>,
    /// Turns true once the daemon has flushed its store and is about to return.
    pub(crate) stopping: watch::Receiver<bool>,
}

impl ConnShared {
    pub(crate) fn new(hub: mpsc::Sender<HubMsg>, line_timeout: Duration, stopping: watch::Receiver<bool>) -> Self {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        Self { hub, line_timeout, busy_turns: Arc::new(Semaphore::new(threads)), stopping }
    }
}

/// Serves one connection until it closes, the hub goes away or the daemon is stopping; `slot` is its place
/// under the connection limit, given back as soon as the client is gone.
pub(crate) async fn serve(stream: Stream, conn: ConnId, shared: ConnShared, slot: OwnedSemaphorePermit) {
    let ConnShared { hub, line_timeout, busy_turns, stopping } = shared;
    let (read, write) = stream.into_split();
    let (tx, rx) = mpsc::channel::<String>(OUTBOX_CAPACITY);
    let out = Outbox::new(tx);
    let inbound = Arc::new(Inbound::new(INBOUND_CAPACITY));
    if hub.send(HubMsg::Open { conn, out: out.clone(), inbound: Some(inbound.clone()) }).await.is_err() {
        return;
    }
    let mut writer = spawn_writer(write, rx);
    let queue = Queue { conn, hub, inbound };
    let mut reader = Reader { read, line_timeout, out: out.clone(), stopping, busy_turns, queue };
    reader.run().await;
    drop(slot);
    let _ = reader.queue.hub.send(HubMsg::Closed { conn }).await;
    let overflowed = out.has_overflowed();
    drop(out);
    drop(reader);
    // The last lines (an error that explains the close) get a bounded time to leave; a client that does not
    // read them does not keep the writer, and its socket, alive.
    if overflowed || tokio::time::timeout(FINAL_FLUSH, &mut writer).await.is_err() {
        writer.abort();
    }
}

/// The reading side of a connection.
struct Reader {
    read: ReadHalf,
    line_timeout: Duration,
    out: Outbox,
    stopping: watch::Receiver<bool>,
    busy_turns: Arc<Semaphore>,
    queue: Queue,
}

impl Reader {
    async fn run(&mut self) {
        let mut buf = BytesMut::with_capacity(READ_CHUNK);
        // Inside an over-long line: everything up to its end is dropped, then it is answered as one error.
        let mut discarding = false;
        // When the line in progress (the bytes after the last whole line, or an over-long line) began.
        let mut began: Option<Instant> = None;
        loop {
            if self.out.has_overflowed() {
                return;
            }
            // A silent client that stopped reading is closed as soon as its queue overflows, not at its next
            // line.
            let eof = match tokio::select! {
                r = read_more(&mut self.read, &mut buf, began, self.line_timeout) => r,
                () = self.out.overflowed() => return,
                _ = self.stopping.wait_for(|s| *s) => return,
            } {
                Read::Bytes => false,
                Read::End => true,
                Read::Failed => return,
                Read::TimedOut => return self.timed_out(),
            };
            // A read that filled its chunk means more is waiting: the connection has a backlog.
            let turn = if buf.len() >= READ_CHUNK { self.busy_turns.clone().acquire_owned().await.ok() } else { None };
            let Some(ended_a_line) = self.take_lines(&mut buf, &mut discarding, eof).await else { return };
            drop(turn);
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
            if eof {
                if discarding {
                    self.out.send(too_long_line());
                }
                return;
            }
            // A connection whose socket always has more would otherwise keep its worker thread for a whole
            // cooperative budget (about a megabyte of reports): give every other task, the hub first among
            // them, its turn after each read.
            tokio::task::yield_now().await;
        }
    }

    fn timed_out(&self) {
        tracing::warn!(
            conn = self.queue.conn,
            "a client left a line unfinished past the line timeout; disconnecting it"
        );
        let message = format!(
            "a line was begun and not finished within {} s; closing the connection",
            self.line_timeout.as_secs_f64()
        );
        self.out.send(error_line(None, ErrorObject::invalid(error_codes::INVALID_REQUEST, message)));
    }

    /// Parses every whole line in `buf` in place and queues what each amounts to; drops what it used. Returns
    /// whether a line ended, or `None` when the connection must close.
    async fn take_lines(&mut self, buf: &mut BytesMut, discarding: &mut bool, eof: bool) -> Option<bool> {
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
                None if eof && start < buf.len() && !*discarding => {
                    let line = start..buf.len();
                    start = buf.len();
                    line
                }
                None => break,
            };
            ended_a_line = true;
            let parsed = if std::mem::take(discarding) || line.len() > MAX_LINE_BYTES {
                Parsed::Reply(too_long_line())
            } else {
                parse_line(&buf[line], self.queue.conn)
            };
            if self.queue.put(parsed).await? {
                self.wait_for_room().await?;
            }
        }
        buf.advance(start);
        Some(ended_a_line)
    }

    /// Holds the reading while the queue is full; `None` when the connection must close meanwhile.
    async fn wait_for_room(&mut self) -> Option<()> {
        tokio::select! {
            () = self.queue.inbound.wait_for_room() => Some(()),
            () = self.out.overflowed() => None,
            _ = self.stopping.wait_for(|s| *s) => None,
        }
    }
}
