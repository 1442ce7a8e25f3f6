//! Runs one command handler's process from start to end: the only place in the daemon that owns a child.
//!
//! A command handler's sync is a child process, and a child process is easy to get wrong: a shell that
//! interpolates a path, a grandchild that outlives the run, a pipe nobody drains, a program that prints
//! gigabytes, a stop request that waits for the tool to feel like stopping. [`run`] does it once, right:
//!
//! - the program is started from an argument vector (never through a shell), with stdin from `/dev/null`,
//!   as the root of its own process tree (a process group on Unix, a Job Object on Windows:
//!   [`synccenter_platform::process`]), with a clean environment: `PATH` (the daemon's, or
//!   `/usr/local/bin:/usr/bin:/bin`), `HOME`, `USER`, `LANG`, `LC_ALL` and `TMPDIR` when the daemon has
//!   them (on Windows the system and profile variables instead), then what the configuration lists
//!   ([`RunSpec::env`]);
//! - stdout and stderr are read concurrently, split into lines (stdout also on `\r`, for rsync's progress),
//!   each line capped at [`MAX_LINE_BYTES`] and the whole output at [`RunSpec::max_output`]; past the cap
//!   the pipes are still drained, so the child never blocks on a full pipe, but only the stderr tail keeps
//!   reading. Every line goes to the kind's [`Reader`], and every observation to the caller as it happens,
//!   through a bounded channel: progress and text are coalesced and log lines dropped when the caller is
//!   slow, errors, warnings, conflicts and summaries never are (the pipes are left unread instead);
//! - on Linux the child gets `NOTIFY_SOCKET`, a socket of its own run for `sd_notify` ([`notify`]): a
//!   status becomes the item's progress text, `ERRNO=` goes into the report, `EXTEND_TIMEOUT_USEC=` moves the
//!   time limit; with a watchdog ([`RunSpec::watchdog`]) a run that shows no sign of life (an accepted
//!   notification, or progress or text read from its output) for that long is stopped as hung;
//! - a cancel, the time limit or the watchdog sends SIGTERM to the whole group at once, and SIGKILL after
//!   [`RunSpec::grace`]; from then on the errors, warnings and summary the tool prints as it dies are only
//!   log lines ([`Observation::after_stop`]): the stop is synccenter's doing, not a failure of the tool (Windows has no polite stop for a windowless tree: it terminates the job at once); when the main process has ended, the pipes get [`DRAIN_AFTER_EXIT`] to reach
//!   end-of-file (a grandchild holding them must not hang the run), then the group is SIGKILLed anyway, so
//!   nothing started by the run survives it (also when the run's future is dropped half-way).
//!
//! What it does not do: decide what the end means ([`synccenter_runs::outcome::classify`]), retry
//! ([`synccenter_runs::backoff`]), or talk to the Center or the store: the hub turns the
//! [`RunEvent`]s and the [`RunReport`] into progress, events and the item's final state. It cannot reach
//! processes that leave the group on purpose (`setsid`, daemons): those are not part of the run.

// Used by the hub's command runs.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use synccenter_platform::process::{self, Console, DEFAULT_PATH, INHERITED_ENV, ProcessTree};
use synccenter_protocol::{LineBuffer, LineFrame, LineFramer};
use synccenter_runs::notify::NotifyMessage;
use synccenter_runs::progress::{Kind, Observation, Reader, Stream};
use synccenter_runs::{ExitInfo, StderrTail};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until};

use crate::runlog::{self, LogTarget, RunLog};

/// The grace between SIGTERM and SIGKILL in tests (the daemon takes it from `config.toml`).
#[cfg(all(test, unix))]
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs(10);
/// How much output (stdout and stderr together) is read into the reader when the configuration does not say.
pub(crate) const DEFAULT_MAX_OUTPUT: u64 = 64 * 1024 * 1024;
/// The longest line kept; the rest of a longer line is discarded (and the run marked truncated).
pub(crate) const MAX_LINE_BYTES: usize = 64 * 1024;
/// How long the pipes may stay open after the main process ended (a grandchild holding them). Output
/// still unread at that point (also when a slow receiver kept the pipes unread) is dropped.
pub(crate) const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);
/// The stderr tail attached to the report: at most this many lines…
const TAIL_LINES: usize = 40;
/// …and this many bytes.
const TAIL_BYTES: usize = 8 * 1024;
/// Events waiting for the caller before the pipes stop being read (log lines are dropped at half).
const MAX_PENDING_EVENTS: usize = 256;
/// One read from a pipe.
const CHUNK_BYTES: usize = 8 * 1024;

/// What to run, and the limits of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunSpec {
    /// `argv[0]`: looked up in the `PATH` of the run's environment, unless it contains a `/`.
    pub(crate) program: String,
    /// The arguments, passed as they are (no shell).
    pub(crate) args: Vec<String>,
    /// The working directory; `None` keeps the daemon's.
    pub(crate) workdir: Option<PathBuf>,
    /// Variables added on top of the clean environment (they win over the inherited ones).
    pub(crate) env: BTreeMap<String, String>,
    /// The time limit of the whole run; `None` means none.
    pub(crate) timeout: Option<Duration>,
    /// Between SIGTERM and SIGKILL when the run is stopped.
    pub(crate) grace: Duration,
    /// Which reader understands the output.
    pub(crate) kind: Kind,
    /// How many bytes of output (both streams) are read into the reader; the rest is drained and dropped.
    pub(crate) max_output: u64,
    /// How long the run may go without a sign of life before it is stopped as hung; `None` means no watchdog.
    pub(crate) watchdog: Option<Duration>,
    /// Where every line goes as well ([`crate::runlog`]); `None` keeps no log.
    pub(crate) log: Option<LogTarget>,
}

#[cfg(all(test, unix))]
impl RunSpec {
    /// A run of `program args…` read as `kind`, with no extra environment, no time limit and the default
    /// grace and output cap.
    pub(crate) fn new(program: impl Into<String>, args: Vec<String>, kind: Kind) -> RunSpec {
        RunSpec {
            program: program.into(),
            args,
            workdir: None,
            env: BTreeMap::new(),
            timeout: None,
            grace: DEFAULT_GRACE,
            kind,
            max_output: DEFAULT_MAX_OUTPUT,
            watchdog: None,
            log: None,
        }
    }
}

/// What a run tells its caller while it runs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RunEvent {
    /// The reader understood something in the output.
    Observation(Observation),
    /// The process was started (always the first event of a spawned run).
    Started {
        /// The process id, which is also the process group id.
        pid: u32,
    },
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunReport {
    /// How the process ended (all `None`/`false` when it never started).
    pub(crate) exit: ExitInfo,
    /// The end of stderr ([`StderrTail::render`]), for the failure event.
    pub(crate) stderr_tail: String,
    /// Some output was not read: a line longer than [`MAX_LINE_BYTES`] or more than
    /// [`RunSpec::max_output`] in all.
    pub(crate) output_truncated: bool,
    /// Why the process could not be started, e.g. ``cannot run `rsync`: No such file or directory (os
    /// error 2)``.
    pub(crate) spawn_error: Option<String>,
    /// The last `ERRNO=` the run sent over `sd_notify`.
    pub(crate) errno: Option<u32>,
}

/// Why the runner stopped the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Cancel,
    Timeout,
    /// The watchdog ran out (or the run sent `WATCHDOG=trigger`); the period.
    Hung(Duration),
}

/// Runs one command to its end. `cancel` becoming true stops it (TERM to the group, KILL after `grace`).
///
/// Every observation the reader makes is sent to `events` as it happens (bounded channel; if the receiver
/// is slow, Progress and Text observations are coalesced to the latest and Log lines may be dropped, but
/// Error, Warning, Conflict and Summary never are: the pipes are left unread until there is room). A
/// dropped receiver does not stop the run. The events still pending when the process is gone are sent
/// before this returns, so the receiver must keep reading (or be dropped) until then.
///
/// A cancel that is already requested when this is called starts nothing. A cancel that arrives after the
/// main process ended on its own cuts the drain short but leaves its exit status as it was.
pub(crate) async fn run(spec: RunSpec, mut cancel: watch::Receiver<bool>, events: mpsc::Sender<RunEvent>) -> RunReport {
    let mut report = RunReport {
        exit: ExitInfo::default(),
        stderr_tail: String::new(),
        output_truncated: false,
        spawn_error: None,
        errno: None,
    };
    let mut log = RunLog::open(spec.log.as_ref());
    if *cancel.borrow_and_update() {
        report.exit.cancelled = true;
        log.finish("stopped before it started");
        return report;
    }
    let notify = Notify::open();
    let (mut child, group, pid) = match start(&spec, notify.path()).await {
        Ok(started) => started,
        Err(message) => {
            log.finish(&message);
            report.spawn_error = Some(message);
            return report;
        }
    };
    tracing::debug!(program = %spec.program, pid, "command started");
    log.note(&format!("started: {}", command_line(&spec)));
    log.flush();
    let mut capture = Capture::new(spec.kind, spec.max_output, events.clone(), log);
    capture.enqueue(RunEvent::Started { pid });
    let mut watch = Watch::new(&mut child, &spec, pid, notify);
    watch.run(&mut child, &group, &mut capture, cancel, &events).await;
    // Whatever the group still holds (a grandchild, a process that ignored SIGTERM) goes now.
    drop(group);
    let Watch { status, stop, notify, .. } = watch;
    capture.finish();
    if let Some(message) = notify.summary() {
        capture.enqueue(RunEvent::Observation(Observation::Warning { message }));
    }
    report.errno = notify.errno;
    if !capture.events_closed {
        while let Some(ev) = capture.pending.pop_front() {
            if events.send(ev).await.is_err() {
                break;
            }
        }
    }
    report.exit.cancelled = stop == Some(Stop::Cancel);
    report.exit.timed_out = stop == Some(Stop::Timeout);
    report.exit.hung = match stop {
        Some(Stop::Hung(period)) => Some(period),
        _ => None,
    };
    match status {
        Some(Ok(s)) => {
            report.exit.code = s.code();
            report.exit.signal = process::exit_signal(&s);
        }
        Some(Err(e)) => tracing::warn!(pid, "cannot read the exit status of `{}`: {e}", spec.program),
        None => {}
    }
    capture.log.finish(&ended(&report.exit));
    report.stderr_tail = capture.tail.render();
    report.output_truncated = capture.truncated();
    if capture.dropped_logs > 0 {
        tracing::debug!(pid, dropped = capture.dropped_logs, "log lines dropped for a slow receiver");
    }
    tracing::debug!(pid, exit = ?report.exit, "command ended");
    report
}

/// Spawns the command in a process tree of its own; the error says, in words, why it could not start.
async fn start(spec: &RunSpec, notify: Option<&Path>) -> Result<(tokio::process::Child, ProcessTree, u32), String> {
    let mut child = command(spec, notify).spawn().map_err(|e| {
        let message = spawn_message(spec, &e);
        tracing::debug!(program = %spec.program, "{message}");
        message
    })?;
    let pid = child.id().unwrap_or(0);
    match ProcessTree::adopt(&mut child) {
        Ok(tree) => Ok((child, tree, pid)),
        Err(e) => {
            let message = format!("cannot supervise `{}`: {e}", spec.program);
            tracing::warn!(program = %spec.program, pid, "{message}");
            let _ = child.wait().await;
            Err(message)
        }
    }
}

/// One running process as the supervisor follows it: its open pipes, how it ended, and the stop in progress.
struct Watch {
    pid: u32,
    grace: Duration,
    stdout: Option<tokio::process::ChildStdout>,
    stderr: Option<tokio::process::ChildStderr>,
    out_buf: Vec<u8>,
    err_buf: Vec<u8>,
    time_limit: Option<Instant>,
    /// The watchdog's period and when it runs out, unless there is a sign of life first.
    watchdog: Option<Duration>,
    watchdog_at: Option<Instant>,
    notify: Notify,
    status: Option<io::Result<ExitStatus>>,
    stop: Option<Stop>,
    kill_at: Option<Instant>,
    drain_until: Option<Instant>,
}

impl Watch {
    fn new(child: &mut tokio::process::Child, spec: &RunSpec, pid: u32, notify: Notify) -> Watch {
        Watch {
            pid,
            grace: spec.grace,
            stdout: child.stdout.take(),
            stderr: child.stderr.take(),
            out_buf: vec![0u8; CHUNK_BYTES],
            err_buf: vec![0u8; CHUNK_BYTES],
            time_limit: spec.timeout.and_then(|t| Instant::now().checked_add(t)),
            watchdog: spec.watchdog,
            watchdog_at: spec.watchdog.and_then(|t| Instant::now().checked_add(t)),
            notify,
            status: None,
            stop: None,
            kill_at: None,
            drain_until: None,
        }
    }

    /// Follows the process until it has ended and its output is read (or the drain after its end runs out,
    /// or a cancel arrives while draining); stops it on a cancel or at its time limit.
    async fn run(
        &mut self,
        child: &mut tokio::process::Child,
        group: &ProcessTree,
        capture: &mut Capture,
        mut cancel: watch::Receiver<bool>,
        events: &mpsc::Sender<RunEvent>,
    ) {
        let pid = self.pid;
        let mut cancel_open = true;
        loop {
            // Once synccenter is stopping the run, what the tool prints as it dies is only logged.
            capture.stopping = self.stop.is_some();
            let exited = self.status.is_some();
            if exited && self.stdout.is_none() && self.stderr.is_none() {
                break;
            }
            let paused = capture.pending.len() >= MAX_PENDING_EVENTS;
            let sending = !capture.pending.is_empty() && !capture.events_closed;
            tokio::select! {
                r = read_some(&mut self.stdout, &mut self.out_buf), if !paused => match r {
                    Ok(n) if n > 0 => {
                        capture.chunk(Stream::Stdout, &self.out_buf[..n]);
                        self.alive_if(capture.take_lively());
                    }
                    _ => self.stdout = None,
                },
                r = read_some(&mut self.stderr, &mut self.err_buf), if !paused => match r {
                    Ok(n) if n > 0 => {
                        capture.chunk(Stream::Stderr, &self.err_buf[..n]);
                        self.alive_if(capture.take_lively());
                    }
                    _ => self.stderr = None,
                },
                messages = self.notify.next(group), if self.notify.is_open() && !paused => {
                    self.notified(messages, group, capture);
                }
                () = sleep_opt(self.watchdog_at), if !exited && self.stop.is_none() => {
                    let period = self.watchdog.unwrap_or_default();
                    tracing::info!(pid, ?period, "no sign of life within the watchdog period: stopping the run as hung");
                    self.terminate(group, Stop::Hung(period));
                }
                s = child.wait(), if !exited => {
                    self.status = Some(s);
                    self.drain_until = Instant::now().checked_add(DRAIN_AFTER_EXIT);
                }
                c = cancel.changed(), if cancel_open => match c {
                    Ok(()) if *cancel.borrow_and_update() => {
                        if exited {
                            tracing::debug!(pid, "cancelled while draining");
                            break;
                        }
                        self.terminate(group, Stop::Cancel);
                    }
                    Ok(()) => {}
                    Err(_) => cancel_open = false,
                },
                () = sleep_opt(self.time_limit), if !exited && self.stop.is_none() => {
                    self.terminate(group, Stop::Timeout);
                }
                () = sleep_opt(self.kill_at), if !exited => {
                    tracing::debug!(pid, "grace over: SIGKILL to the group");
                    group.kill();
                    self.kill_at = None;
                }
                () = sleep_opt(self.drain_until) => {
                    tracing::debug!(pid, "output still open after the process ended; killing the group");
                    break;
                }
                permit = events.reserve(), if sending => match permit {
                    Ok(permit) => {
                        if let Some(ev) = capture.pending.pop_front() {
                            permit.send(ev);
                        }
                        capture.flush_ready();
                    }
                    Err(_) => capture.close_events(),
                },
            }
        }
    }

    /// A sign of life (when `lively`): the watchdog starts over.
    fn alive_if(&mut self, lively: bool) {
        if lively && let Some(period) = self.watchdog {
            self.watchdog_at = Instant::now().checked_add(period);
        }
    }

    /// What one datagram of the run said.
    fn notified(&mut self, messages: Vec<NotifyMessage>, group: &ProcessTree, capture: &mut Capture) {
        let pid = self.pid;
        self.alive_if(!messages.is_empty());
        for message in messages {
            match message {
                NotifyMessage::Status(text) => capture.enqueue(RunEvent::Observation(Observation::Text { text })),
                NotifyMessage::Errno(errno) => self.notify.errno = Some(errno),
                NotifyMessage::ExtendTimeout(more) => {
                    let wanted = Instant::now().checked_add(more);
                    if let (Some(limit), Some(wanted)) = (self.time_limit, wanted) {
                        self.time_limit = Some(limit.max(wanted));
                    }
                }
                NotifyMessage::WatchdogUsec(period) => {
                    self.watchdog = Some(period);
                    self.alive_if(true);
                }
                NotifyMessage::WatchdogTrigger if self.status.is_none() => {
                    tracing::info!(pid, "the run sent WATCHDOG=trigger: stopping it as hung");
                    self.terminate(group, Stop::Hung(self.watchdog.unwrap_or_default()));
                }
                NotifyMessage::Ready | NotifyMessage::Reloading | NotifyMessage::Stopping => {
                    tracing::info!(pid, ?message, "sd_notify");
                }
                NotifyMessage::Unsupported(key) => tracing::debug!(pid, key, "an sd_notify key synccenter ignores"),
                NotifyMessage::Watchdog | NotifyMessage::WatchdogTrigger | NotifyMessage::Barrier => {}
            }
        }
    }

    /// SIGTERM to the group (once), and SIGKILL after the grace.
    fn terminate(&mut self, group: &ProcessTree, why: Stop) {
        if self.stop.is_some() {
            return;
        }
        tracing::debug!(pid = self.pid, ?why, "SIGTERM to the group");
        self.stop = Some(why);
        group.terminate();
        self.kill_at = Instant::now().checked_add(self.grace);
    }
}

/// The command for `spec`: argument vector, clean environment, own process group, piped output.
fn command(spec: &RunSpec, notify: Option<&Path>) -> Command {
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args).env_clear();
    let path = std::env::var_os("PATH").filter(|p| !p.is_empty()).unwrap_or_else(|| DEFAULT_PATH.into());
    cmd.env("PATH", path);
    for name in INHERITED_ENV {
        if let Some(value) = std::env::var_os(name) {
            cmd.env(name, value);
        }
    }
    cmd.envs(&spec.env);
    if let Some(socket) = notify {
        cmd.env("NOTIFY_SOCKET", socket);
    }
    if let Some(dir) = &spec.workdir {
        cmd.current_dir(dir);
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    process::prepare(&mut cmd, Console::Detached);
    cmd
}

/// The command as the log's first note shows it.
fn command_line(spec: &RunSpec) -> String {
    std::iter::once(&spec.program).chain(&spec.args).map(String::as_str).collect::<Vec<_>>().join(" ")
}

/// The log's last note: how the process ended.
fn ended(exit: &ExitInfo) -> String {
    let how = match (exit.code, exit.signal) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "exit status unknown".to_owned(),
    };
    let why = if exit.cancelled {
        ", stopped on request"
    } else if exit.timed_out {
        ", stopped at its time limit"
    } else if exit.hung.is_some() {
        ", stopped by its watchdog"
    } else {
        ""
    };
    format!("ended: {how}{why}")
}

/// A human sentence for a failed spawn.
fn spawn_message(spec: &RunSpec, err: &io::Error) -> String {
    match &spec.workdir {
        Some(dir) if !dir.is_dir() => format!("cannot run `{}` in `{}`: {err}", spec.program, dir.display()),
        _ => format!("cannot run `{}`: {err}", spec.program),
    }
}

/// Reads from `src`, or waits forever when it is closed.
async fn read_some<R: AsyncRead + Unpin>(src: &mut Option<R>, buf: &mut [u8]) -> io::Result<usize> {
    match src {
        Some(s) => s.read(buf).await,
        None => std::future::pending().await,
    }
}

/// Sleeps until `at`, or forever when there is none.
async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Everything read so far: the reader, the stderr tail, the line splitters and the events not yet sent.
struct Capture {
    reader: Box<dyn Reader + Send>,
    tail: StderrTail,
    stdout: LineSplitter,
    stderr: LineSplitter,
    read_total: u64,
    max_output: u64,
    over_cap: bool,
    events: mpsc::Sender<RunEvent>,
    pending: VecDeque<RunEvent>,
    events_closed: bool,
    dropped_logs: u64,
    lines: Vec<(String, bool)>,
    /// Progress or text was read since [`Capture::take_lively`] last asked: a sign of life.
    lively: bool,
    /// The run is being stopped: observations pass through [`Observation::after_stop`].
    stopping: bool,
    /// Every line, also past `max_output`.
    log: RunLog,
}

impl Capture {
    fn new(kind: Kind, max_output: u64, events: mpsc::Sender<RunEvent>, log: RunLog) -> Capture {
        Capture {
            reader: synccenter_runs::reader(kind),
            tail: StderrTail::new(TAIL_LINES, TAIL_BYTES),
            stdout: LineSplitter::new(true, MAX_LINE_BYTES),
            stderr: LineSplitter::new(false, MAX_LINE_BYTES),
            read_total: 0,
            max_output,
            over_cap: false,
            events,
            pending: VecDeque::new(),
            events_closed: false,
            dropped_logs: 0,
            lines: Vec::new(),
            lively: false,
            stopping: false,
            log,
        }
    }

    /// Bytes read from one stream.
    fn chunk(&mut self, stream: Stream, data: &[u8]) {
        let room = usize::try_from(self.max_output.saturating_sub(self.read_total)).unwrap_or(usize::MAX);
        self.read_total = self.read_total.saturating_add(data.len() as u64);
        let (under, over) = data.split_at(data.len().min(room));
        if !under.is_empty() {
            self.split(stream, under, true);
        }
        if !over.is_empty() {
            if !self.over_cap {
                self.over_cap = true;
                // The line in progress is still split (for the log), but no longer fed: never half.
                tracing::debug!(max_output = self.max_output, "output cap reached; draining the rest");
                let note = format!("{} bytes of output read: from here on, lines only go to this log", self.max_output);
                self.log.note(&note);
            }
            self.split(stream, over, false);
        }
        self.log.flush();
    }

    fn split(&mut self, stream: Stream, data: &[u8], feed: bool) {
        let mut lines = std::mem::take(&mut self.lines);
        match stream {
            Stream::Stdout => self.stdout.push(data, &mut lines),
            Stream::Stderr => self.stderr.push(data, &mut lines),
        }
        for (line, cut) in lines.drain(..) {
            self.line(stream, &line, cut, feed);
        }
        self.lines = lines;
    }

    fn line(&mut self, stream: Stream, line: &str, cut: bool, feed: bool) {
        let logged = match stream {
            Stream::Stdout => runlog::Stream::Out,
            Stream::Stderr => runlog::Stream::Err,
        };
        self.log.line(logged, line, cut);
        if stream == Stream::Stderr {
            self.tail.push(line);
        }
        if feed && !line.is_empty() {
            for obs in self.reader.line(stream, line) {
                self.lively |= matches!(obs, Observation::Progress(_) | Observation::Text { .. });
                self.observed(obs);
            }
        }
    }

    /// Both streams are done: the last unterminated lines, then whatever the reader still holds.
    fn finish(&mut self) {
        let mut lines = Vec::new();
        let feed = !self.over_cap;
        self.stdout.finish(&mut lines);
        for (line, cut) in lines.drain(..) {
            self.line(Stream::Stdout, &line, cut, feed);
        }
        self.stderr.finish(&mut lines);
        for (line, cut) in lines.drain(..) {
            self.line(Stream::Stderr, &line, cut, feed);
        }
        for obs in self.reader.finish() {
            self.observed(obs);
        }
    }

    fn observed(&mut self, obs: Observation) {
        let obs = if self.stopping { obs.after_stop() } else { obs };
        self.enqueue(RunEvent::Observation(obs));
    }

    fn take_lively(&mut self) -> bool {
        std::mem::take(&mut self.lively)
    }

    fn truncated(&self) -> bool {
        self.over_cap || self.stdout.truncated || self.stderr.truncated
    }

    /// Sends an event, or queues it behind the ones waiting for room in the channel: queued progress and
    /// text are replaced by newer ones, log lines are dropped when the queue is half full, everything else
    /// is kept.
    fn enqueue(&mut self, ev: RunEvent) {
        if self.events_closed {
            return;
        }
        let ev = if self.pending.is_empty() {
            match self.events.try_send(ev) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(ev)) => ev,
                Err(mpsc::error::TrySendError::Closed(_)) => return self.close_events(),
            }
        } else {
            ev
        };
        match &ev {
            RunEvent::Observation(Observation::Progress(_)) => {
                self.pending.retain(|p| !matches!(p, RunEvent::Observation(Observation::Progress(_))));
            }
            RunEvent::Observation(Observation::Text { .. }) => {
                self.pending.retain(|p| !matches!(p, RunEvent::Observation(Observation::Text { .. })));
            }
            RunEvent::Observation(Observation::Log { .. }) if self.pending.len() >= MAX_PENDING_EVENTS / 2 => {
                self.dropped_logs += 1;
                return;
            }
            _ => {}
        }
        self.pending.push_back(ev);
    }

    /// Sends what the channel takes without waiting.
    fn flush_ready(&mut self) {
        while let Some(ev) = self.pending.pop_front() {
            match self.events.try_send(ev) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(ev)) => {
                    self.pending.push_front(ev);
                    break;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.close_events();
                    break;
                }
            }
        }
    }

    fn close_events(&mut self) {
        self.events_closed = true;
        self.pending.clear();
    }
}

/// One output stream's lines, framed by the protocol's [`LineFramer`] (on `\n`, and also on `\r` when
/// `split_cr`, a `\r\n` ending one line): a line is capped at `max_line` bytes (its head is kept, the rest is
/// discarded and `truncated` set) and decoded as lossy UTF-8. Without `split_cr`, a trailing `\r` is removed.
#[derive(Debug)]
struct LineSplitter {
    lines: LineBuffer,
    split_cr: bool,
    truncated: bool,
}

impl LineSplitter {
    fn new(split_cr: bool, max_line: usize) -> LineSplitter {
        let framer = LineFramer::new(max_line).truncating();
        let framer = if split_cr { framer.split_cr() } else { framer };
        LineSplitter { lines: LineBuffer::new(framer, 0), split_cr, truncated: false }
    }

    fn push(&mut self, data: &[u8], out: &mut Vec<(String, bool)>) {
        self.lines.buf_mut().extend_from_slice(data);
        self.drain(false, out);
    }

    fn drain(&mut self, eof: bool, out: &mut Vec<(String, bool)>) {
        let Self { lines, split_cr, truncated } = self;
        lines.drain(eof, |frame| {
            let (mut line, cut) = match frame {
                LineFrame::Line(line) => (line, false),
                LineFrame::Truncated(head) => {
                    *truncated = true;
                    (head, true)
                }
                // Not from a truncating framer.
                LineFrame::TooLong => {
                    *truncated = true;
                    return;
                }
            };
            if !*split_cr && let Some(l) = line.strip_suffix(b"\r") {
                line = l;
            }
            out.push((String::from_utf8_lossy(line).into_owned(), cut));
        });
    }

    /// The last line, if it had no terminator.
    fn finish(&mut self, out: &mut Vec<(String, bool)>) {
        self.drain(true, out);
    }
}

mod notify;
use notify::Notify;
pub(crate) use notify::errno_text;

// These run shell scripts (`sh`, `sleep`, `printf`): Unix only. On Windows the supervisor's Job Object path is
// tested through the daemon (`transport`) and the CLI (`run_anywhere`) under Wine.
#[cfg(all(test, unix))]
mod tests;
// `systemd-notify` and Python: Unix only (and supported on Linux only).
#[cfg(all(test, unix))]
mod notify_tests;
