//! A blocking protocol connection and a clock every process on the machine reads alike, for the `flood`
//! section: its owners run in other processes on plain threads (each woken by the kernel the moment its line
//! arrives, no runtime between), and a push is timed from a stop sent in one process to its arrival in
//! another, so both ends read `CLOCK_MONOTONIC` (an `Instant` cannot cross a process boundary). Every wait is
//! bounded: reads and writes time out every 50 ms and ask their caller whether to give up.

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};

/// How often a blocked read or write asks whether to give up.
const POLL: Duration = Duration::from_millis(50);

/// Nanoseconds of `CLOCK_MONOTONIC`: the same clock in every process of the machine.
pub(crate) fn mono_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(t.tv_nsec).unwrap_or(0)
}

/// The reading half: whole lines, each stamped with the time it was complete.
pub(crate) struct Lines {
    reader: BufReader<UnixStream>,
    buf: Vec<u8>,
}

impl Lines {
    /// The next line, parsed, with the [`mono_ns`] time it was read; `None` once `give_up` says so.
    pub(crate) fn next(&mut self, give_up: &dyn Fn() -> bool) -> anyhow::Result<Option<(u64, Value)>> {
        loop {
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => anyhow::bail!("the daemon closed the connection"),
                Ok(_) if self.buf.last() == Some(&b'\n') => {
                    let at = mono_ns();
                    let v = serde_json::from_slice(&self.buf);
                    self.buf.clear();
                    return Ok(Some((at, v.context("a line that is not JSON")?)));
                }
                Ok(_) => anyhow::bail!("the daemon closed the connection mid-line"),
                // A timed-out read keeps what it read in `buf`; the line goes on at the next call.
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {
                    if give_up() {
                        return Ok(None);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Writes all of `bytes`; `false` when `give_up` said so first (the stream may then hold part of a line).
pub(crate) fn write_all(stream: &mut UnixStream, bytes: &[u8], give_up: &dyn Fn() -> bool) -> anyhow::Result<bool> {
    let mut off = 0;
    while off < bytes.len() {
        match stream.write(&bytes[off..]) {
            Ok(0) => anyhow::bail!("the daemon closed the connection"),
            Ok(n) => off += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {
                if give_up() {
                    return Ok(false);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(true)
}

/// A request line with `id`.
pub(crate) fn request_line(id: i64, method: &str, params: Value) -> Vec<u8> {
    let mut line = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string();
    line.push('\n');
    line.into_bytes()
}

/// One connection: the writing stream and its [`Lines`], which can go to a thread of their own.
pub(crate) struct Conn {
    stream: UnixStream,
    lines: Lines,
    next: i64,
}

impl Conn {
    /// Connects and says `hello`, giving up after `timeout`.
    pub(crate) fn hello(socket: &Path, timeout: Duration) -> anyhow::Result<Conn> {
        let stream = UnixStream::connect(socket).with_context(|| format!("cannot connect to {}", socket.display()))?;
        stream.set_read_timeout(Some(POLL))?;
        stream.set_write_timeout(Some(POLL))?;
        let reader = BufReader::new(stream.try_clone()?);
        let mut c = Conn { stream, lines: Lines { reader, buf: Vec::new() }, next: 0 };
        c.call("hello", json!({}), timeout)?;
        Ok(c)
    }

    /// Sends a request (written whole, or an error once `give_up` says so); returns its ID.
    pub(crate) fn send(&mut self, method: &str, params: Value, give_up: &dyn Fn() -> bool) -> anyhow::Result<i64> {
        self.next += 1;
        let id = self.next;
        anyhow::ensure!(write_all(&mut self.stream, &request_line(id, method, params), give_up)?, "{method}: gave up");
        Ok(id)
    }

    /// A request and its result, skipping pushes; fails on an error reply or after `timeout`.
    pub(crate) fn call(&mut self, method: &str, params: Value, timeout: Duration) -> anyhow::Result<Value> {
        let deadline = mono_ns() + timeout.as_nanos() as u64;
        self.call_with(method, params, &|| mono_ns() > deadline)?
            .with_context(|| format!("{method}: no reply within {timeout:?}"))
    }

    /// A request and its result, skipping pushes; fails on an error reply; `None` once `give_up` says so.
    pub(crate) fn call_with(
        &mut self,
        method: &str,
        params: Value,
        give_up: &dyn Fn() -> bool,
    ) -> anyhow::Result<Option<Value>> {
        let id = self.send(method, params, give_up)?;
        loop {
            let Some((_, mut v)) = self.lines.next(give_up)? else { return Ok(None) };
            if v.get("id").and_then(Value::as_i64) == Some(id) {
                anyhow::ensure!(v.get("error").is_none(), "{method} failed: {v}");
                return Ok(Some(v["result"].take()));
            }
        }
    }

    /// The stream, its lines (for a reading thread) and the last request ID used.
    pub(crate) fn into_parts(self) -> (UnixStream, Lines, i64) {
        (self.stream, self.lines, self.next)
    }
}
