//! A fake daemon for the client's tests of what it writes and of transport faults: minimal answers, a record of
//! every message, and a close on command.

use std::path::PathBuf;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use synccenter_client::Client;
use synccenter_client::methods::names;
use synccenter_protocol::{Frame, LineCodec, RequestId, parse_incoming};

/// A message the fake server received, owned (the protocol's `Incoming` borrows its line).
#[derive(Clone, Debug)]
pub(crate) struct Incoming {
    pub(crate) id: Option<RequestId>,
    pub(crate) method: String,
    pub(crate) params: Value,
}
use synccenter_platform::transport::Listener;
use tokio::sync::mpsc;
use tokio_util::codec::Framed;

enum Control {
    Close,
}

pub(crate) struct FakeServer {
    _dir: tempfile::TempDir,
    path: PathBuf,
    received: mpsc::UnboundedReceiver<Incoming>,
    /// Everything received so far, in order.
    log: Vec<Incoming>,
    control: mpsc::UnboundedSender<Control>,
}

impl FakeServer {
    /// Binds before anything connects, so there is nothing to wait for.
    pub(crate) async fn start() -> FakeServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = synccenter_platform::transport::endpoint_in(dir.path(), "fake");
        let listener = synccenter_platform::transport::bind(&path).expect("bind");
        let (rec_tx, received) = mpsc::unbounded_channel();
        let (control, control_rx) = mpsc::unbounded_channel();
        tokio::spawn(serve(listener, rec_tx, control_rx));
        FakeServer { _dir: dir, path, received, log: Vec::new(), control }
    }

    pub(crate) async fn connect(&self) -> Client {
        tokio::time::timeout(Duration::from_secs(10), Client::connect(&self.path))
            .await
            .expect("connect within 10 s")
            .expect("connect")
    }

    /// Every message received up to and including the first `method` not returned before.
    pub(crate) async fn wait_for(&mut self, method: &str) -> Vec<Incoming> {
        let seen = self.log.len();
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), self.received.recv())
                .await
                .unwrap_or_else(|_| panic!("no {method} within 10 s; got {:?}", &self.log[seen..]))
                .expect("server running");
            let done = msg.method == method;
            self.log.push(msg);
            if done {
                return self.log.clone();
            }
        }
    }

    /// Waits until the client closed the connection (after reading what it sent).
    pub(crate) async fn wait_closed(&mut self) {
        loop {
            match tokio::time::timeout(Duration::from_secs(10), self.received.recv()).await {
                Ok(Some(msg)) => self.log.push(msg),
                Ok(None) => return,
                Err(_) => panic!("the connection is still open after 10 s"),
            }
        }
    }

    pub(crate) fn close(&self) {
        self.control.send(Control::Close).expect("server running");
    }
}

fn answer(msg: &Incoming) -> Option<Value> {
    Some(match msg.method.as_str() {
        names::HELLO => json!({"protocol": 1, "server": "fake 0", "max_line_bytes": 65536}),
        names::STATUS => json!({
            "server": "fake 0", "protocol": 1, "pid": 1, "socket": "/s", "data_dir": "/d", "store": "none",
            "started_at": "2026-01-01T00:00:00Z", "handlers": 0, "live_sessions": 0, "connections": 1,
            "reports_applied": 0, "added_later": true
        }),
        names::SESSION_CREATE => json!({"session": "s-1"}),
        names::SESSION_END => json!({"status": "succeeded", "errors": 0, "conflicts": 0}),
        names::SESSION_REPORT_EVENT => json!({"event": "e-1"}),
        names::SESSION_REPORT_PROGRESS => json!({"cancel": "none"}),
        "test.hang" => return None,
        _ => json!({}),
    })
}

async fn serve(
    mut listener: Listener,
    received: mpsc::UnboundedSender<Incoming>,
    mut control: mpsc::UnboundedReceiver<Control>,
) {
    let stream = listener.accept().await.expect("accept");
    let mut framed = Framed::new(stream, LineCodec::default());
    loop {
        tokio::select! {
            frame = framed.next() => {
                let Some(Ok(Frame::Line(line))) = frame else { return };
                let msg = parse_incoming(&line).expect("the client sends valid messages");
                let msg = Incoming {
                    id: msg.id,
                    method: msg.method,
                    params: msg.params.map_or(Value::Null, |p| serde_json::from_str(p.get()).expect("params are JSON")),
                };
                let reply = match (&msg.id, answer(&msg)) {
                    (Some(RequestId::Number(id)), Some(result)) => {
                        Some(json!({"jsonrpc": "2.0", "id": id, "result": result}))
                    }
                    _ => None,
                };
                let _ = received.send(msg);
                if let Some(reply) = reply {
                    framed.send(reply.to_string()).await.expect("reply");
                }
            }
            cmd = control.recv() => match cmd {
                Some(Control::Close) | None => return,
            },
        }
    }
}
