//! The `flood` section's measurement, on plain threads of the bench process against a daemon in its own
//! process, with the owners in processes of their own ([`crate::flood_owners`]). One connection sends
//! `control.stop` for a random owner's handler at a steady pace and notes when it sent each; the owner stamps
//! the push when it arrives, on the same clock ([`mono_ns`]), and tells the bench. Only an owner whose current
//! session has not been stopped yet is picked, so every stop names one session and waits for exactly one
//! push. Another connection times `status` round trips throughout, and a third thread samples the daemon's
//! resident memory. First the owners sit idle (the baselines), then they flood. Every wait is bounded: a push
//! that never comes is counted as missing, a `status` that is never answered as unanswered, and owner
//! processes that do not leave in time are killed.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;
use serde_json::json;

use crate::blocking::{Conn, Lines, mono_ns, request_line, write_all};
use crate::flood_owners::{Event, handler};

/// How long a setup step (connecting, every owner ready, the owners leaving) may take.
const SETUP: Duration = Duration::from_secs(60);

/// What the section does and how long.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub(crate) owners: usize,
    pub(crate) processes: usize,
    /// The idle phase, owners connected and quiet: the baselines.
    pub(crate) idle: Duration,
    pub(crate) flood: Duration,
    pub(crate) stop_idle: Duration,
    pub(crate) stop_flood: Duration,
    pub(crate) status_every: Duration,
    /// How long after the flood a push may still arrive before it counts as missing.
    pub(crate) grace: Duration,
    /// When the memory is read again after the owners left.
    pub(crate) after: Duration,
}

impl Plan {
    pub(crate) fn new(quick: bool) -> Plan {
        let s = Duration::from_secs;
        Plan {
            owners: 64,
            processes: 4,
            idle: if quick { s(1) } else { s(3) },
            flood: if quick { s(2) } else { s(10) },
            stop_idle: Duration::from_millis(20),
            stop_flood: Duration::from_millis(200),
            status_every: Duration::from_millis(10),
            grace: if quick { s(5) } else { s(10) },
            after: if quick { s(2) } else { s(5) },
        }
    }
}

/// One `status` round trip: when it was sent and answered ([`mono_ns`]), and the daemon's `reports_applied`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StatusSample {
    pub(crate) sent: u64,
    pub(crate) answered: u64,
    pub(crate) applied: u64,
}

/// Everything the run saw.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// The flood's start and end ([`mono_ns`]).
    pub(crate) t1: u64,
    pub(crate) t2: u64,
    pub(crate) idle_push: Vec<Duration>,
    pub(crate) flood_push: Vec<Duration>,
    pub(crate) missing_idle: usize,
    pub(crate) missing_flood: usize,
    /// Stop times at which every owner's session was already stopped (no stop sent).
    pub(crate) skipped: usize,
    /// Pushes for a session no stop named.
    pub(crate) unexpected: usize,
    /// `control.stop` replies that were errors, with the first few.
    pub(crate) stop_errors: Vec<String>,
    pub(crate) status: Vec<StatusSample>,
    /// `status` calls still unanswered when the run ended.
    pub(crate) status_unanswered: usize,
    /// Reports the owners wrote during the flood.
    pub(crate) sent: u64,
    /// Errors the owner processes reported, and owner processes killed for not leaving.
    pub(crate) owner_errors: Vec<String>,
    /// Resident bytes with the owners connected and idle, the highest sample, and [`Plan::after`] after the
    /// owners left.
    pub(crate) rss_owners: u64,
    pub(crate) rss_peak: u64,
    pub(crate) rss_after: u64,
}

/// Sets the flag when dropped, so that every thread watching it ends, on an error path too.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The owner processes; killed (they are this run's own children) if still there when dropped.
struct Procs {
    children: Vec<Child>,
    stdins: Vec<ChildStdin>,
}

impl Procs {
    fn start(socket: &Path, plan: &Plan) -> anyhow::Result<(Procs, Vec<ChildStdout>)> {
        let exe = std::env::current_exe()?;
        let mut procs = Procs { children: Vec::new(), stdins: Vec::new() };
        let mut outs = Vec::new();
        let per = plan.owners.div_ceil(plan.processes);
        for first in (0..plan.owners).step_by(per) {
            let mut child = Command::new(&exe)
                .arg("__flood-owners")
                .arg(socket)
                .arg(first.to_string())
                .arg(per.min(plan.owners - first).to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .context("cannot start an owner process")?;
            procs.stdins.extend(child.stdin.take());
            outs.extend(child.stdout.take());
            procs.children.push(child);
        }
        Ok((procs, outs))
    }

    fn say(&mut self, line: &str) {
        for s in &mut self.stdins {
            let _ = writeln!(s, "{line}");
        }
    }

    /// Tells them to leave and waits; kills those still there after [`SETUP`]. Returns how many were killed.
    fn leave(&mut self) -> usize {
        self.say("leave");
        self.stdins.clear();
        let deadline = mono_ns() + SETUP.as_nanos() as u64;
        while mono_ns() < deadline && self.children.iter_mut().any(|c| matches!(c.try_wait(), Ok(None))) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut killed = 0;
        for c in &mut self.children {
            if matches!(c.try_wait(), Ok(None)) {
                let _ = c.kill();
                killed += 1;
            }
            let _ = c.wait();
        }
        self.children.clear();
        killed
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        self.stdins.clear();
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Hands every line of an owner process's output to the run.
fn read_events(out: ChildStdout, tx: &mpsc::Sender<Event>) {
    for line in BufReader::new(out).lines() {
        let Ok(line) = line else { return };
        if tx.send(Event::parse(&line)).is_err() {
            return;
        }
    }
}

/// The stops in flight and the pushes that answered them.
struct Tracker {
    /// Each owner's current session, while it has not been stopped.
    armed: Vec<Option<String>>,
    /// Each owner's stopped session waiting for its push, and when the stop was sent.
    pending: Vec<Option<(String, u64)>>,
    t1: u64,
    out: Outcome,
}

impl Tracker {
    fn new(owners: usize) -> Tracker {
        Tracker { armed: vec![None; owners], pending: vec![None; owners], t1: u64::MAX, out: Outcome::default() }
    }

    fn take(&mut self, e: Event) {
        match e {
            Event::Ready { owner, session } if owner < self.armed.len() => self.armed[owner] = Some(session),
            Event::Push { owner, session, at } if owner < self.pending.len() => match self.pending[owner].take() {
                Some((s, sent)) if s == session => {
                    let lat = Duration::from_nanos(at.saturating_sub(sent));
                    if sent < self.t1 { &mut self.out.idle_push } else { &mut self.out.flood_push }.push(lat);
                }
                other => {
                    self.pending[owner] = other;
                    self.out.unexpected += 1;
                }
            },
            Event::Sent { reports } => self.out.sent += reports,
            Event::Done => {}
            Event::Error(e) => self.out.owner_errors.push(e),
            Event::Ready { owner, .. } | Event::Push { owner, .. } => {
                self.out.owner_errors.push(format!("no owner {owner}"));
            }
        }
    }

    /// Picks a random owner whose session may be stopped; returns it and that session.
    fn pick(&mut self, rng: &mut u64) -> Option<usize> {
        let free: Vec<usize> = (0..self.armed.len()).filter(|&i| self.armed[i].is_some()).collect();
        // xorshift64: no cryptography needed, only a spread.
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        let owner = *free.get((*rng % free.len().max(1) as u64) as usize)?;
        let session = self.armed[owner].take()?;
        self.pending[owner] = Some((session, 0));
        Some(owner)
    }

    fn pending(&self) -> usize {
        self.pending.iter().flatten().count()
    }

    /// Takes events until `until` ([`mono_ns`]); `false` if every owner process has closed its output.
    fn wait(&mut self, rx: &mpsc::Receiver<Event>, until: u64) -> bool {
        while let Some(left) = until.checked_sub(mono_ns()).filter(|&l| l > 0) {
            match rx.recv_timeout(Duration::from_nanos(left)) {
                Ok(e) => self.take(e),
                Err(mpsc::RecvTimeoutError::Timeout) => return true,
                Err(mpsc::RecvTimeoutError::Disconnected) => return false,
            }
        }
        true
    }

    /// Takes events until `until`, sleeping through it when there can be none.
    fn wait_until(&mut self, rx: &mpsc::Receiver<Event>, until: u64) {
        if !self.wait(rx, until) {
            std::thread::sleep(Duration::from_nanos(until.saturating_sub(mono_ns())));
        }
    }
}

/// Sends `control.stop` for one owner's handler, noting when.
fn stop_one(tr: &mut Tracker, stopper: &mut UnixStream, id: i64, rng: &mut u64) -> anyhow::Result<()> {
    let Some(owner) = tr.pick(rng) else {
        tr.out.skipped += 1;
        return Ok(());
    };
    let line = request_line(id, "control.stop", json!({"handler": handler(owner), "items": ["item"]}));
    let sent = mono_ns();
    if let Some((_, at)) = tr.pending[owner].as_mut() {
        *at = sent;
    }
    let deadline = sent + SETUP.as_nanos() as u64;
    anyhow::ensure!(write_all(stopper, &line, &|| mono_ns() > deadline)?, "the daemon does not read control.stop");
    Ok(())
}

/// The stops from the start of the idle phase to the end of the flood, then the wait for late pushes.
fn drive(plan: &Plan, tr: &mut Tracker, rx: &mpsc::Receiver<Event>, stopper: &mut UnixStream) -> anyhow::Result<()> {
    let ns = |d: Duration| d.as_nanos() as u64;
    let (t1, t2) = (tr.t1, tr.t1 + ns(plan.flood));
    let mut rng = mono_ns() | 1;
    let mut next = mono_ns() + ns(plan.stop_idle);
    let mut id = 0;
    while next < t2 {
        tr.wait_until(rx, next);
        id += 1;
        stop_one(tr, stopper, id, &mut rng)?;
        next = if next < t1 {
            // The last idle stop well before the flood, the first flood stop one interval into it.
            let n = next + ns(plan.stop_idle);
            if n + ns(Duration::from_millis(100)) < t1 { n } else { t1 + ns(plan.stop_flood) }
        } else {
            next + ns(plan.stop_flood)
        };
    }
    tr.wait_until(rx, t2);
    let deadline = t2 + ns(plan.grace);
    while tr.pending() > 0 && mono_ns() < deadline {
        tr.wait_until(rx, (mono_ns() + ns(Duration::from_millis(10))).min(deadline));
    }
    for (_, sent) in tr.pending.iter().flatten() {
        if *sent < t1 { tr.out.missing_idle += 1 } else { tr.out.missing_flood += 1 }
    }
    Ok(())
}

/// `status` every `every` until `stop`; returns the samples and whether one was left unanswered.
fn time_status(socket: &Path, every: Duration, stop: &AtomicBool) -> anyhow::Result<(Vec<StatusSample>, usize)> {
    let mut c = Conn::hello(socket, SETUP)?;
    let mut samples = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let sent = mono_ns();
        let Some(r) = c.call_with("status", json!({}), &|| stop.load(Ordering::Relaxed))? else {
            return Ok((samples, 1));
        };
        let answered = mono_ns();
        let applied = r["reports_applied"].as_u64().context("status without reports_applied")?;
        samples.push(StatusSample { sent, answered, applied });
        std::thread::sleep(Duration::from_nanos((sent + every.as_nanos() as u64).saturating_sub(mono_ns())));
    }
    Ok((samples, 0))
}

/// Every 100 ms until `stop`: the highest resident memory seen.
fn peak_rss(rss: &(dyn Fn() -> anyhow::Result<u64> + Sync), stop: &AtomicBool) -> u64 {
    let mut peak = 0;
    while !stop.load(Ordering::Relaxed) {
        peak = peak.max(rss().unwrap_or(0));
        std::thread::sleep(Duration::from_millis(100));
    }
    peak
}

/// Reads the stopper's replies until `stop`; returns the errors among them.
fn stop_replies(mut lines: Lines, stop: &AtomicBool) -> Vec<String> {
    let mut errors = Vec::new();
    loop {
        match lines.next(&|| stop.load(Ordering::Relaxed)) {
            Ok(Some((_, v))) if v.get("error").is_some() => errors.push(v.to_string()),
            Ok(Some(_)) => {}
            Ok(None) => return errors,
            Err(e) => {
                errors.push(format!("{e:#}"));
                return errors;
            }
        }
    }
}

/// Waits until every owner has its first session.
fn wait_ready(tr: &mut Tracker, rx: &mpsc::Receiver<Event>) -> anyhow::Result<()> {
    let deadline = mono_ns() + SETUP.as_nanos() as u64;
    while tr.armed.iter().any(Option::is_none) {
        anyhow::ensure!(tr.out.owner_errors.is_empty(), "an owner failed: {}", tr.out.owner_errors.join("; "));
        let left = deadline.saturating_sub(mono_ns());
        let e = rx.recv_timeout(Duration::from_nanos(left)).context("the owners did not all come up")?;
        tr.take(e);
    }
    Ok(())
}

/// The whole run against the daemon on `socket`, whose resident memory `rss` reads.
pub(crate) fn run(
    plan: &Plan,
    socket: &Path,
    rss: &(dyn Fn() -> anyhow::Result<u64> + Sync),
) -> anyhow::Result<Outcome> {
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        let (mut procs, outs) = Procs::start(socket, plan)?;
        let _ends_threads = SetOnDrop(&stop);
        for out in outs {
            let tx = tx.clone();
            s.spawn(move || read_events(out, &tx));
        }
        drop(tx);
        let mut tr = Tracker::new(plan.owners);
        wait_ready(&mut tr, &rx)?;
        tr.out.rss_owners = rss()?;
        let (stop, rx) = (&stop, &rx);
        let peak = s.spawn(move || peak_rss(rss, stop));
        let status = s.spawn(move || time_status(socket, plan.status_every, stop));
        let (mut stopper, lines, _) = Conn::hello(socket, SETUP)?.into_parts();
        let replies = s.spawn(move || stop_replies(lines, stop));
        tr.t1 = mono_ns() + plan.idle.as_nanos() as u64;
        tr.out.t1 = tr.t1;
        tr.out.t2 = tr.t1 + plan.flood.as_nanos() as u64;
        procs.say(&format!("go {} {}", tr.out.t1, tr.out.t2));
        drive(plan, &mut tr, rx, &mut stopper)?;
        let killed = procs.leave();
        // Their last words (the reports each sent), until their outputs close.
        tr.wait(rx, mono_ns() + SETUP.as_nanos() as u64);
        if killed > 0 {
            tr.out.owner_errors.push(format!("{killed} owner process(es) did not leave and were killed"));
        }
        std::thread::sleep(plan.after);
        tr.out.rss_after = rss()?;
        stop.store(true, Ordering::Relaxed);
        tr.out.rss_peak = peak.join().map_err(|_| anyhow::anyhow!("the memory sampler panicked"))?;
        (tr.out.status, tr.out.status_unanswered) =
            status.join().map_err(|_| anyhow::anyhow!("the status timer panicked"))??;
        tr.out.stop_errors = replies.join().map_err(|_| anyhow::anyhow!("the stop reader panicked"))?;
        Ok(tr.out)
    })
}
