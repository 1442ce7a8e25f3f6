//! One client connection: frames lines, parses messages into typed calls for the hub, and writes replies and
//! pushes. Bad input is answered here and never reaches the hub; the connection survives it. A line must be
//! finished within the line timeout once it has begun (a stalled or trickling client is cut off); an idle
//! connection between lines may wait as long as it likes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use futures_util::SinkExt;
use synccenter_core::HResult;
use synccenter_protocol::{
    ErrorObject, Frame, LineCodec, MAX_LINE_BYTES, Outgoing, RequestId, error_codes, parse_incoming,
};
use tokio::io::AsyncReadExt;
use tokio::net::UnixStream;
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_util::codec::{Decoder, FramedWrite};

use crate::calls;
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

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 8192;

/// What the reading side found next.
enum Next {
    Frame(Frame),
    /// The client closed the connection, or reading failed.
    End,
    /// A line was begun and not finished within the line timeout.
    TimedOut,
}

/// The reading side: the line codec driven by hand, so that the time a line takes can be bounded from its
/// first byte (a `FramedRead` would hide the bytes of an unfinished line inside its `next`).
struct Lines {
    read: tokio::net::unix::OwnedReadHalf,
    buf: BytesMut,
    codec: LineCodec,
    /// When the line in progress began.
    began: Option<tokio::time::Instant>,
    timeout: Duration,
    eof: bool,
}

impl Lines {
    async fn next(&mut self) -> Next {
        loop {
            let decoded =
                if self.eof { self.codec.decode_eof(&mut self.buf) } else { self.codec.decode(&mut self.buf) };
            match decoded {
                Ok(Some(frame)) => {
                    self.began = None;
                    return Next::Frame(frame);
                }
                Ok(None) if !self.eof => {}
                Ok(None) | Err(_) => return Next::End,
            }
            if self.buf.is_empty() && !self.codec.is_discarding() {
                self.began = None;
            } else if self.began.is_none() {
                self.began = Some(tokio::time::Instant::now());
            }
            self.buf.reserve(READ_CHUNK);
            let read = match self.began {
                None => self.read.read_buf(&mut self.buf).await,
                // `read_buf` is cancel-safe: nothing read is lost when the timeout wins.
                Some(began) => tokio::select! {
                    r = self.read.read_buf(&mut self.buf) => r,
                    () = tokio::time::sleep_until(began + self.timeout) => return Next::TimedOut,
                },
            };
            match read {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "read failed");
                    return Next::End;
                }
            }
        }
    }
}

fn error_line(id: Option<RequestId>, error: ErrorObject) -> String {
    Outgoing::<(), ()>::Error { jsonrpc: "2.0", id, error }.to_line()
}

/// Tells a client over the connection limit why it is closed (one line, never blocking), then drops it.
pub(crate) fn refuse(stream: &UnixStream, max: usize) {
    let error = ErrorObject::new(
        error_codes::SYNC_CENTER_ERROR,
        HResult::E_OUTOFMEMORY.code,
        HResult::E_OUTOFMEMORY.name,
        format!("too many connections: this daemon serves at most {max} at once; try again when one closes"),
    );
    let _ = stream.try_write(format!("{}\n", error_line(None, error)).as_bytes());
    tracing::warn!(max, "connection limit reached; refused a connection");
}

/// Serves one connection until it closes or the hub goes away; `slot` is its place under the connection
/// limit, given back as soon as the client is gone.
pub(crate) async fn serve(
    stream: UnixStream,
    conn: ConnId,
    hub: mpsc::Sender<HubMsg>,
    line_timeout: Duration,
    slot: OwnedSemaphorePermit,
) {
    let (read, write) = stream.into_split();
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
    let mut lines = Lines {
        read,
        buf: BytesMut::with_capacity(READ_CHUNK),
        codec: LineCodec::default(),
        began: None,
        timeout: line_timeout,
        eof: false,
    };
    loop {
        if overflowed.load(Ordering::SeqCst) {
            break;
        }
        // `Lines::next` is cancel-safe, so a silent client that stopped reading is closed as soon as its
        // queue overflows, not at its next line.
        let next = tokio::select! {
            next = lines.next() => next,
            () = overflow.notified() => break,
        };
        let frame = match next {
            Next::Frame(f) => f,
            Next::End => break,
            Next::TimedOut => {
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
        let line = match frame {
            Frame::Line(line) => line,
            Frame::TooLong => {
                out.send(error_line(
                    None,
                    ErrorObject::invalid(
                        error_codes::INVALID_REQUEST,
                        format!("line longer than {MAX_LINE_BYTES} bytes; it was discarded"),
                    ),
                ));
                continue;
            }
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let incoming = match parse_incoming(&line) {
            Ok(i) => i,
            Err(e) => {
                out.send(error_line(e.id, e.error));
                continue;
            }
        };
        match calls::parse(&incoming.method, incoming.params) {
            Ok(call) => {
                if hub.send(HubMsg::Call { conn, id: incoming.id, call }).await.is_err() {
                    break;
                }
            }
            Err(error) => {
                if incoming.id.is_some() {
                    out.send(error_line(incoming.id, error));
                } else {
                    tracing::debug!(conn, %error.message, "refused a notification");
                }
            }
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
