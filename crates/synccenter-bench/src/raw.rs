//! A protocol connection speaking raw JSON lines, the way a client in any language would: requests awaited one
//! at a time, notifications written without waiting, and pipelined requests with a window of replies in flight.

use std::path::Path;

use anyhow::Context;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

/// One connection; writes are buffered until a request or an explicit flush.
pub(crate) struct Raw {
    pub(crate) lines: tokio::io::Lines<BufReader<OwnedReadHalf>>,
    pub(crate) write: BufWriter<OwnedWriteHalf>,
    next: i64,
}

impl Raw {
    pub(crate) async fn connect(socket: &Path) -> anyhow::Result<Raw> {
        let (r, w) = UnixStream::connect(socket).await?.into_split();
        Ok(Raw { lines: BufReader::new(r).lines(), write: BufWriter::new(w), next: 0 })
    }

    /// Connects and says `hello`.
    pub(crate) async fn hello(socket: &Path) -> anyhow::Result<Raw> {
        let mut c = Raw::connect(socket).await?;
        c.call("hello", json!({})).await?;
        Ok(c)
    }

    /// Queues one message (not flushed).
    pub(crate) async fn send(&mut self, v: &serde_json::Value) -> anyhow::Result<()> {
        let mut line = v.to_string();
        line.push('\n');
        self.write.write_all(line.as_bytes()).await?;
        Ok(())
    }

    /// Queues bytes that already are whole lines (not flushed).
    pub(crate) async fn send_raw(&mut self, lines: &[u8]) -> anyhow::Result<()> {
        self.write.write_all(lines).await?;
        Ok(())
    }

    pub(crate) async fn flush(&mut self) -> anyhow::Result<()> {
        self.write.flush().await?;
        Ok(())
    }

    /// A request; returns its result, skipping pushes.
    pub(crate) async fn call(&mut self, method: &str, params: serde_json::Value) -> anyhow::Result<serde_json::Value> {
        self.request(json!({"jsonrpc": "2.0", "method": method, "params": params})).await
    }

    /// Sends `message` (a notification's shape) as a request with the next ID and returns its result.
    pub(crate) async fn request(&mut self, mut message: serde_json::Value) -> anyhow::Result<serde_json::Value> {
        let id = self.send_request(&mut message).await?;
        self.flush().await?;
        self.reply(id).await
    }

    /// Queues `message` as a request with the next ID; returns the ID.
    pub(crate) async fn send_request(&mut self, message: &mut serde_json::Value) -> anyhow::Result<i64> {
        self.next += 1;
        let id = self.next;
        message["id"] = json!(id);
        self.send(message).await?;
        Ok(id)
    }

    /// Waits for the reply to `id`, skipping pushes; fails on an error reply or a reply to another request.
    pub(crate) async fn reply(&mut self, id: i64) -> anyhow::Result<serde_json::Value> {
        let (got, result) = self.any_reply().await?;
        anyhow::ensure!(got == id, "expected the reply to {id}, got one to {got}");
        Ok(result)
    }

    /// Waits for the next reply, skipping pushes; fails on an error reply. Returns its ID and result.
    pub(crate) async fn any_reply(&mut self) -> anyhow::Result<(i64, serde_json::Value)> {
        loop {
            let line = self.lines.next_line().await?.context("the server closed the connection")?;
            let mut v: serde_json::Value = serde_json::from_str(&line)?;
            if let Some(id) = v.get("id").and_then(serde_json::Value::as_i64) {
                anyhow::ensure!(v.get("error").is_none(), "request failed: {v}");
                return Ok((id, v["result"].take()));
            }
        }
    }

    /// Waits for the next push of `method`.
    pub(crate) async fn next_push(&mut self, method: &str) -> anyhow::Result<serde_json::Value> {
        loop {
            let line = self.lines.next_line().await?.context("the server closed the connection")?;
            let v: serde_json::Value = serde_json::from_str(&line)?;
            if v["method"] == method {
                return Ok(v);
            }
        }
    }

    /// Sends `n` requests built by `message`, keeping up to `window` unanswered at once (pipelining: a client
    /// need not wait for one reply before sending the next request). Returns the results in arrival order.
    pub(crate) async fn pipelined(
        &mut self,
        n: u32,
        window: u32,
        message: impl Fn(u32) -> serde_json::Value,
    ) -> anyhow::Result<Vec<serde_json::Value>> {
        let mut results = Vec::with_capacity(n as usize);
        let mut in_flight = 0u32;
        for i in 0..n {
            if in_flight >= window.max(1) {
                self.flush().await?;
                results.push(self.any_reply().await?.1);
                in_flight -= 1;
            }
            self.send_request(&mut message(i)).await?;
            in_flight += 1;
        }
        self.flush().await?;
        for _ in 0..in_flight {
            results.push(self.any_reply().await?.1);
        }
        Ok(results)
    }
}

/// Appends a `session.report_progress` notification line to `buf`, formatted directly (the cheapest way for a
/// sender that shares the cores with the server it measures).
pub(crate) fn progress_line(buf: &mut String, session: &str, item: &str, step: u32) {
    use std::fmt::Write;
    let _ = writeln!(
        buf,
        r#"{{"jsonrpc":"2.0","method":"session.report_progress","params":{{"session":"{session}","item":"{item}","status":"updating","step":{step},"max_step":4294967295}}}}"#
    );
}

/// A `session.report_progress` notification.
pub(crate) fn progress(session: &str, item: &str, step: u32) -> serde_json::Value {
    json!({"jsonrpc": "2.0", "method": "session.report_progress",
           "params": {"session": session, "item": item, "status": "updating", "step": step, "max_step": u32::MAX}})
}
