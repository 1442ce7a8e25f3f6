//! Test fixtures shared by the integration tests: [`TestDaemon`] runs the real daemon in-process on a
//! temporary socket (a fresh named pipe on Windows) and data directory, and [`RawConn`] speaks the protocol as raw JSON lines, the way a
//! client in any language would. Waits are on events, with generous timeouts only as hang guards.

#![allow(clippy::missing_panics_doc)]

pub mod component;
#[cfg(unix)]
pub mod postgres;

pub use component::{program, require, under_ci};

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use synccenter_platform::transport::{ReadHalf, WriteHalf};
use synccenter_protocol::{Frame, LineCodec};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_util::codec::{FramedRead, FramedWrite};

/// How long any single wait may take before the test is declared hung.
pub const HANG_GUARD: Duration = Duration::from_secs(20);

/// A real daemon running in this process.
#[derive(Debug)]
pub struct TestDaemon {
    dir: Option<tempfile::TempDir>,
    /// The socket.
    pub socket: PathBuf,
    /// The data directory.
    pub data_dir: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), synccenter_daemon::DaemonError>>>,
}

impl TestDaemon {
    /// A daemon on a fresh temporary directory.
    pub async fn start() -> TestDaemon {
        Self::start_in(tempfile::tempdir().expect("tempdir")).await
    }

    /// A daemon on an existing directory (to restart on the same store).
    pub async fn start_in(dir: tempfile::TempDir) -> TestDaemon {
        Self::start_with(dir, |_| {}).await
    }

    /// A daemon with a configuration adjusted by `tweak`.
    pub async fn start_with(dir: tempfile::TempDir, tweak: impl FnOnce(&mut synccenter_daemon::Config)) -> TestDaemon {
        let socket = synccenter_platform::transport::endpoint_in(dir.path(), "s");
        let listener = synccenter_daemon::bind(&socket).expect("bind the test socket");
        Self::start_on(dir, socket, listener, tweak).await
    }

    /// A daemon on a listener bound by the caller (to admit another identity: `Listener::admitting`) on
    /// `socket`, with its data in `dir`.
    pub async fn start_on(
        dir: tempfile::TempDir,
        socket: PathBuf,
        listener: synccenter_daemon::Listener,
        tweak: impl FnOnce(&mut synccenter_daemon::Config),
    ) -> TestDaemon {
        let data_dir = dir.path().join("data");
        let mut config = synccenter_daemon::Config::new(socket.clone(), data_dir.clone());
        tweak(&mut config);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(synccenter_daemon::run(config, listener, async move {
            let _ = rx.await;
        }));
        TestDaemon { dir: Some(dir), socket, data_dir, shutdown: Some(tx), task: Some(task) }
    }

    /// The temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir.as_ref().expect("present until stopped").path()
    }

    /// Stops the daemon gracefully and hands back its directory.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(HANG_GUARD, task)
                .await
                .expect("daemon did not stop")
                .expect("daemon task panicked")
                .expect("daemon failed");
        }
        self.dir.take().expect("present until stopped")
    }

    /// A raw connection that has said `hello`.
    pub async fn raw(&self) -> RawConn {
        let mut c = RawConn::connect(&self.socket).await;
        let hello = c.call("hello", json!({"protocol": {"min": 1, "max": 1}, "client": "test"})).await;
        assert_eq!(hello["result"]["protocol"], 1, "{hello}");
        c
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A connection speaking raw JSON lines.
#[derive(Debug)]
pub struct RawConn {
    reader: RawReader,
    write: FramedWrite<WriteHalf, LineCodec>,
    next_id: i64,
}

/// The reading side of a [`RawConn`], on its own after [`RawConn::into_split`] (so one task can read pushes
/// while another writes).
#[derive(Debug)]
pub struct RawReader {
    read: FramedRead<ReadHalf, LineCodec>,
    /// Messages without `id` that arrived while waiting for a reply.
    pushes: VecDeque<Value>,
}

impl RawConn {
    /// Connects without saying `hello`.
    pub async fn connect(socket: &Path) -> RawConn {
        let stream = synccenter_platform::transport::connect(socket).await.expect("connect to the daemon");
        let (r, w) = stream.into_split();
        RawConn {
            reader: RawReader { read: FramedRead::new(r, LineCodec::new(16 * 1024 * 1024)), pushes: VecDeque::new() },
            write: FramedWrite::new(w, LineCodec::default()),
            next_id: 1000,
        }
    }

    /// Splits into the reading side (with the pushes kept so far) and the raw writing side.
    pub fn into_split(self) -> (RawReader, WriteHalf) {
        (self.reader, self.write.into_inner())
    }

    /// Writes one line as is.
    pub async fn send_line(&mut self, line: &str) {
        self.write.send(line).await.expect("write a line");
    }

    /// Writes raw bytes (for over-long or broken lines).
    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt;
        let w = self.write.get_mut();
        w.write_all(bytes).await.expect("write bytes");
        w.flush().await.expect("flush");
    }

    /// Closes the writing side, as a client that has said everything does; replies still arrive. Unix only in
    /// effect: a named pipe has no half-close, so on Windows this does nothing.
    pub async fn close_write(&mut self) {
        use tokio::io::AsyncWriteExt;
        self.write.get_mut().shutdown().await.expect("shut down the writing side");
    }

    /// The next message, whatever it is.
    pub async fn read_message(&mut self) -> Value {
        self.reader.read_message().await
    }

    /// The next message, or `None` once the daemon closed the connection.
    pub async fn read_message_or_eof(&mut self) -> Option<Value> {
        self.reader.read_message_or_eof().await
    }

    /// Sends a request and returns the whole response object; pushes seen meanwhile are kept.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let line = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string();
        self.send_line(&line).await;
        self.response(id).await
    }

    /// Waits for the response with this ID.
    pub async fn response(&mut self, id: i64) -> Value {
        self.reader.response(id).await
    }

    /// `call` that must succeed; returns `result`.
    pub async fn ok(&mut self, method: &str, params: Value) -> Value {
        let r = self.call(method, params).await;
        assert!(r.get("error").is_none(), "{method} failed: {r}");
        r["result"].clone()
    }

    /// `call` that must fail; returns `(hresult name, hresult number)`.
    pub async fn err(&mut self, method: &str, params: Value) -> (String, u64) {
        let r = self.call(method, params).await;
        let data = &r["error"]["data"];
        assert!(data.is_object(), "{method} should have failed: {r}");
        (data["name"].as_str().unwrap_or_default().to_owned(), data["hresult"].as_u64().unwrap_or_default())
    }

    /// Sends a notification.
    pub async fn notify(&mut self, method: &str, params: Value) {
        let line = json!({"jsonrpc": "2.0", "method": method, "params": params}).to_string();
        self.send_line(&line).await;
    }

    /// The next push (message without `id`), waiting for it if none is kept.
    pub async fn next_push(&mut self) -> Value {
        self.reader.next_push().await
    }

    /// The next push with this method, skipping others.
    pub async fn next_push_of(&mut self, method: &str) -> Value {
        self.reader.next_push_of(method).await
    }

    /// Registers handler `h` with items, all defaults, plus extra handler fields.
    pub async fn setup(&mut self, handler: &str, items: &[&str], extra: Value) {
        let mut params = json!({"handler": handler, "name": format!("Handler {handler}")});
        if let (Some(p), Some(e)) = (params.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        self.ok("handler.register", params).await;
        for i in items {
            self.ok("item.register", json!({"handler": handler, "item": i, "name": format!("Item {i}")})).await;
        }
    }

    /// Creates a session and returns its ID.
    pub async fn session(&mut self, handler: &str, items: &[&str]) -> String {
        let r = self.ok("session.create", json!({"handler": handler, "items": items})).await;
        r["session"].as_str().expect("session id").to_owned()
    }
}

impl RawReader {
    /// The next message, whatever it is.
    pub async fn read_message(&mut self) -> Value {
        match tokio::time::timeout(HANG_GUARD, self.read.next()).await.expect("no message within the hang guard") {
            Some(Ok(Frame::Line(l))) => serde_json::from_slice(&l).expect("the daemon wrote JSON"),
            other => panic!("connection ended or failed: {other:?}"),
        }
    }

    /// The next message, or `None` once the daemon closed the connection.
    pub async fn read_message_or_eof(&mut self) -> Option<Value> {
        match tokio::time::timeout(HANG_GUARD, self.read.next()).await.expect("no message within the hang guard") {
            Some(Ok(Frame::Line(l))) => Some(serde_json::from_slice(&l).expect("the daemon wrote JSON")),
            Some(Ok(Frame::TooLong)) => panic!("the daemon wrote an over-long line"),
            Some(Err(_)) | None => None,
        }
    }

    /// Waits for the response with this ID; pushes seen meanwhile are kept.
    pub async fn response(&mut self, id: i64) -> Value {
        loop {
            let m = self.read_message().await;
            if m.get("id") == Some(&json!(id)) {
                return m;
            }
            if m.get("id").is_none() {
                self.pushes.push_back(m);
            } else {
                panic!("unexpected reply {m} while waiting for {id}");
            }
        }
    }

    /// The next push (message without `id`), waiting for it if none is kept.
    pub async fn next_push(&mut self) -> Value {
        if let Some(p) = self.pushes.pop_front() {
            return p;
        }
        loop {
            let m = self.read_message().await;
            if m.get("id").is_none() {
                return m;
            }
        }
    }

    /// The next push with this method, skipping others.
    pub async fn next_push_of(&mut self, method: &str) -> Value {
        loop {
            let p = self.next_push().await;
            if p["method"] == method {
                return p;
            }
        }
    }
}
