//! The `flood` section's owners, in processes of their own (`bench __flood-owners SOCKET FIRST COUNT`, this same
//! binary), so that neither the daemon nor the bench's measuring threads share a runtime or an allocator with
//! them. Each owner is one connection with one session of its own handler (`flood-NN`, item `item`) and two
//! threads: a reader that stamps every `session.cancel_requested` push with [`mono_ns`] the moment it arrives,
//! and a writer that sends progress notifications as fast as the socket takes them between the times the
//! bench gives, and after a push ends its session and opens a new one.
//!
//! The bench talks to this process in lines. On standard input: `go T1 T2` (flood from T1 to T2, [`mono_ns`]
//! times) and `leave` (or the end of input). On standard output: `ready OWNER SESSION` (a new session, which
//! may be stopped), `push OWNER SESSION TIME`, `sent OWNER REPORTS` (reports written in the flood), `error
//! OWNER TEXT`, and `done` last.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};

use crate::blocking::{Conn, Lines, mono_ns, request_line, write_all};

/// How long an owner waits for a reply, or the process for the bench's next word, before giving up.
const PATIENCE: Duration = Duration::from_secs(60);
/// Bytes of progress lines per write while flooding.
const CHUNK: usize = 60 * 1024;

/// The handler of owner `i`.
pub(crate) fn handler(i: usize) -> String {
    format!("flood-{i:02}")
}

/// What one owner process says, one line each.
#[derive(Debug)]
pub(crate) enum Event {
    Ready { owner: usize, session: String },
    Push { owner: usize, session: String, at: u64 },
    Sent { reports: u64 },
    Error(String),
    Done,
}

impl Event {
    /// Reads one line of an owner process's output.
    pub(crate) fn parse(line: &str) -> Event {
        let mut w = line.split_whitespace();
        let (kind, owner) = (w.next().unwrap_or(""), w.next().and_then(|o| o.parse().ok()));
        let (arg, at) = (w.next().map(str::to_owned), w.next().and_then(|t| t.parse().ok()));
        match (kind, owner, arg, at) {
            ("ready", Some(owner), Some(session), None) => Event::Ready { owner, session },
            ("push", Some(owner), Some(session), Some(at)) => Event::Push { owner, session, at },
            ("sent", Some(_), Some(n), None) if n.parse::<u64>().is_ok() => {
                Event::Sent { reports: n.parse().unwrap_or(0) }
            }
            ("done", None, None, None) => Event::Done,
            _ => Event::Error(line.to_owned()),
        }
    }
}

/// What every owner thread of the process reads: the flood's times (0 until `go`) and whether to leave.
#[derive(Default)]
struct Shared {
    t1: AtomicU64,
    t2: AtomicU64,
    leave: AtomicBool,
}

impl Shared {
    fn leaving(&self) -> bool {
        self.leave.load(Ordering::Relaxed)
    }

    /// Whether a blocked write or wait should stop: the process leaves, or the flood is long over.
    fn give_up(&self) -> bool {
        let (_, t2) = self.times();
        self.leaving() || (t2 != 0 && mono_ns() > t2 + PATIENCE.as_nanos() as u64)
    }

    /// The flood's start and end, `(0, 0)` before `go`.
    fn times(&self) -> (u64, u64) {
        (self.t1.load(Ordering::Relaxed), self.t2.load(Ordering::Relaxed))
    }
}

/// The process's side: `COUNT` owners from `FIRST`, until the bench says `leave` (or closes its input, or
/// waits too long).
pub(crate) fn child_main(mut argv: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let socket = PathBuf::from(argv.next().context("socket")?);
    let first: usize = argv.next().context("first owner")?.parse()?;
    let count: usize = argv.next().context("owner count")?.parse()?;
    let shared = Arc::new(Shared::default());
    let owners: Vec<_> = (first..first + count)
        .map(|i| {
            let (socket, shared) = (socket.clone(), shared.clone());
            std::thread::spawn(move || {
                if let Err(e) = owner(i, &socket, &shared) {
                    println!("error {i} {e:#}");
                }
            })
        })
        .collect();
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    follow_orders(&rx, &shared);
    shared.leave.store(true, Ordering::Relaxed);
    for o in owners {
        let _ = o.join();
    }
    println!("done");
    Ok(())
}

/// Takes `go` and waits for `leave`; returns when it is time to leave.
fn follow_orders(rx: &mpsc::Receiver<String>, shared: &Shared) {
    let mut deadline = mono_ns() + 2 * PATIENCE.as_nanos() as u64;
    loop {
        let wait = Duration::from_nanos(deadline.saturating_sub(mono_ns()));
        let Ok(line) = rx.recv_timeout(wait) else { return };
        let mut w = line.split_whitespace();
        match (w.next(), w.next().and_then(|t| t.parse::<u64>().ok()), w.next().and_then(|t| t.parse::<u64>().ok())) {
            (Some("go"), Some(t1), Some(t2)) => {
                shared.t2.store(t2, Ordering::Relaxed);
                shared.t1.store(t1, Ordering::Relaxed);
                deadline = t2 + 2 * PATIENCE.as_nanos() as u64;
            }
            _ => return,
        }
    }
}

/// What an owner's reader hands its writer.
enum Msg {
    Push(String),
    Reply(i64, Value),
    Closed(String),
}

/// The reader: stamps and announces every push, hands replies to the writer; ends when the process leaves.
fn read_pushes(i: usize, mut lines: Lines, tx: &mpsc::Sender<Msg>, shared: &Shared) {
    loop {
        match lines.next(&|| shared.leaving()) {
            Ok(Some((at, v))) => {
                if v["method"] == "session.cancel_requested" {
                    let session = v["params"]["session"].as_str().unwrap_or("?").to_owned();
                    println!("push {i} {session} {at}");
                    let _ = tx.send(Msg::Push(session));
                } else if let Some(id) = v.get("id").and_then(Value::as_i64) {
                    let _ = tx.send(Msg::Reply(id, v));
                }
            }
            Ok(None) => return,
            Err(e) => {
                let _ = tx.send(Msg::Closed(format!("{e:#}")));
                return;
            }
        }
    }
}

/// One owner: its connection, its reader thread, and the writer's loop on this thread.
fn owner(i: usize, socket: &Path, shared: &Arc<Shared>) -> anyhow::Result<()> {
    let mut conn = Conn::hello(socket, PATIENCE)?;
    let created = conn.call("session.create", json!({"handler": handler(i), "items": ["item"]}), PATIENCE)?;
    let session = created["session"].as_str().context("session id")?.to_owned();
    let (stream, lines, last_id) = conn.into_parts();
    let (tx, rx) = mpsc::channel();
    let reader = {
        let shared = shared.clone();
        std::thread::spawn(move || read_pushes(i, lines, &tx, &shared))
    };
    println!("ready {i} {session}");
    let mut w = Writer { i, stream, rx, shared: shared.clone(), session, next_id: last_id, step: 0, sent: 0 };
    let result = w.run();
    println!("sent {i} {}", w.sent);
    let _ = w.stream.shutdown(std::net::Shutdown::Both);
    let _ = reader.join();
    result
}

/// The writing side of one owner.
struct Writer {
    i: usize,
    stream: UnixStream,
    rx: mpsc::Receiver<Msg>,
    shared: Arc<Shared>,
    session: String,
    next_id: i64,
    step: u32,
    /// Reports written in the flood.
    sent: u64,
}

impl Writer {
    fn give_up(&self) -> bool {
        self.shared.give_up()
    }

    /// Whether `m` asks to start a new session (a push for the current one).
    fn take(&self, m: Msg) -> anyhow::Result<bool> {
        match m {
            Msg::Push(s) => Ok(s == self.session),
            Msg::Reply(id, v) => anyhow::bail!("an unexpected reply to {id}: {v}"),
            Msg::Closed(e) => anyhow::bail!("{e}"),
        }
    }

    fn run(&mut self) -> anyhow::Result<()> {
        let mut renew = false;
        let mut buf = String::with_capacity(CHUNK + 512);
        while !self.give_up() {
            while let Ok(m) = self.rx.try_recv() {
                renew |= self.take(m)?;
            }
            let (t1, t2) = self.shared.times();
            let now = mono_ns();
            if renew && now < t2 {
                if !self.renew()? {
                    return Ok(());
                }
                renew = false;
            } else if t1 != 0 && now >= t1 && now < t2 {
                if !self.flood_chunk(&mut buf)? {
                    return Ok(());
                }
            } else {
                let wait = if t1 > now {
                    Duration::from_nanos(t1 - now).min(Duration::from_millis(5))
                } else {
                    Duration::from_millis(5)
                };
                match self.rx.recv_timeout(wait) {
                    Ok(m) => renew |= self.take(m)?,
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    // The reader ends when the process leaves.
                    Err(mpsc::RecvTimeoutError::Disconnected) if self.shared.leaving() => return Ok(()),
                    Err(mpsc::RecvTimeoutError::Disconnected) => anyhow::bail!("the reader stopped"),
                }
            }
        }
        Ok(())
    }

    /// Writes one chunk of progress lines; `false` when it gave up part-way.
    fn flood_chunk(&mut self, buf: &mut String) -> anyhow::Result<bool> {
        buf.clear();
        let mut lines = 0;
        while buf.len() < CHUNK {
            crate::raw::progress_line(buf, &self.session, "item", self.step);
            self.step = self.step.wrapping_add(1);
            lines += 1;
        }
        let done = write_all(&mut self.stream, buf.as_bytes(), &|| self.shared.give_up())?;
        if done {
            self.sent += lines;
        }
        Ok(done)
    }

    /// A request, and its result once the reader hands the reply over (pushes meanwhile are already stamped);
    /// `None` when the process leaves first (the reply may be queued behind this owner's own flood).
    fn call(&mut self, method: &str, params: Value) -> anyhow::Result<Option<Value>> {
        self.next_id += 1;
        let id = self.next_id;
        let written = write_all(&mut self.stream, &request_line(id, method, params), &|| self.shared.give_up())?;
        loop {
            if self.shared.leaving() {
                return Ok(None);
            }
            anyhow::ensure!(written && !self.give_up(), "{method}: no reply within {PATIENCE:?} after the flood");
            match self.rx.recv_timeout(Duration::from_millis(50)) {
                Ok(Msg::Reply(got, mut v)) if got == id => {
                    anyhow::ensure!(v.get("error").is_none(), "{method} failed: {v}");
                    return Ok(Some(v["result"].take()));
                }
                Ok(m) => {
                    self.take(m)?;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) if self.shared.leaving() => return Ok(None),
                Err(mpsc::RecvTimeoutError::Disconnected) => anyhow::bail!("{method}: the reader stopped"),
            }
        }
    }

    /// Ends the stopped session and opens a new one, which the bench may then stop; `false` when the process
    /// leaves first.
    fn renew(&mut self) -> anyhow::Result<bool> {
        if self.call("session.end", json!({"session": self.session}))?.is_none() {
            return Ok(false);
        }
        let Some(created) = self.call("session.create", json!({"handler": handler(self.i), "items": ["item"]}))? else {
            return Ok(false);
        };
        self.session = created["session"].as_str().context("session id")?.to_owned();
        println!("ready {} {}", self.i, self.session);
        Ok(true)
    }
}
