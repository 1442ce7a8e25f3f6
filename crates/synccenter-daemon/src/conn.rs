//! One client connection: frames lines, parses messages into typed calls for the hub, and writes replies and
//! pushes. Bad input is answered here and never reaches the hub; the connection survives it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::{SinkExt, StreamExt};
use synccenter_protocol::{
    ErrorObject, Frame, LineCodec, MAX_LINE_BYTES, Outgoing, RequestId, error_codes, parse_incoming,
};
use tokio::net::UnixStream;
use tokio::sync::mpsc;
use tokio_util::codec::{FramedRead, FramedWrite};

use crate::calls;
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
    /// An outbox feeding `tx`, for a connection that lives inside the daemon (requests from other hosts).
    pub(crate) fn new(tx: mpsc::Sender<String>) -> Self {
        Self { tx, overflowed: Arc::new(AtomicBool::new(false)) }
    }

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

/// Serves one connection until it closes or the hub goes away.
pub(crate) async fn serve(stream: UnixStream, conn: ConnId, hub: mpsc::Sender<HubMsg>) {
    let (read, write) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<String>(OUTBOX_CAPACITY);
    let out = Outbox::new(tx);
    let overflowed = out.overflowed.clone();
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
    let mut frames = FramedRead::new(read, LineCodec::default());
    while let Some(frame) = frames.next().await {
        if overflowed.load(Ordering::SeqCst) {
            break;
        }
        let line = match frame {
            Ok(Frame::Line(line)) => line,
            Ok(Frame::TooLong) => {
                out.send(error_line(
                    None,
                    ErrorObject::invalid(
                        error_codes::INVALID_REQUEST,
                        format!("line longer than {MAX_LINE_BYTES} bytes; it was discarded"),
                    ),
                ));
                continue;
            }
            Err(e) => {
                tracing::debug!(conn, error = %e, "read failed");
                break;
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
    let _ = hub.send(HubMsg::Closed { conn }).await;
    drop(out);
    let _ = writer.await;
}
