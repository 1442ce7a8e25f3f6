//! The Unix half of process control: process groups, SIGTERM and SIGKILL, and the stop and reload signals.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use rustix::io::Errno;
use rustix::process::{Pid, Signal, kill_process_group, test_kill_process_group};
use tokio::process::{Child, Command};
use tokio::signal::unix::{SignalKind, signal};

use super::Console;

pub(super) const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
pub(super) const INHERITED_ENV: &[&str] = &["HOME", "USER", "LANG", "LC_ALL", "TMPDIR"];

pub(super) fn prepare(cmd: &mut Command, _console: Console) {
    cmd.process_group(0);
}

#[derive(Debug)]
pub(super) struct Tree {
    /// The group's ID (the child's pid); `None` when the child was already reaped.
    pgid: Option<Pid>,
}

impl Tree {
    pub(super) fn adopt(child: &mut Child) -> io::Result<Tree> {
        Ok(Tree { pgid: child.id().and_then(|pid| i32::try_from(pid).ok()).and_then(Pid::from_raw) })
    }

    fn signal(&self, sig: Signal) {
        let Some(pgid) = self.pgid else { return };
        match kill_process_group(pgid, sig) {
            Ok(()) | Err(Errno::SRCH) => {}
            Err(e) => tracing::warn!(pgid = pgid.as_raw_nonzero().get(), "cannot signal the process group: {e}"),
        }
    }

    pub(super) fn terminate(&self) {
        self.signal(Signal::TERM);
    }

    pub(super) fn kill(&self) {
        // After the leader has been reaped the group's ID stays reserved while any member lives; with no
        // member left this finds nothing (ESRCH).
        self.signal(Signal::KILL);
    }

    pub(super) fn release(&mut self) {}

    pub(super) fn contains(&self, pid: u32) -> bool {
        let Some(pgid) = self.pgid else { return false };
        let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else { return false };
        pid == pgid || rustix::process::getpgid(Some(pid)).is_ok_and(|group| group == pgid)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.pgid.is_none_or(|pgid| test_kill_process_group(pgid).is_err())
    }
}

pub(super) fn browser(url: &str) -> std::process::Command {
    let program = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
    let mut cmd = std::process::Command::new(program);
    cmd.arg(url);
    cmd
}

pub(super) fn exit_signal(status: &ExitStatus) -> Option<i32> {
    status.signal()
}

#[derive(Debug)]
pub(super) struct StopSignals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    pub(super) fn install() -> io::Result<StopSignals> {
        Ok(StopSignals { term: signal(SignalKind::terminate())?, int: signal(SignalKind::interrupt())? })
    }

    pub(super) async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

#[derive(Debug)]
pub(super) struct ReloadSignal {
    hangup: tokio::signal::unix::Signal,
}

impl ReloadSignal {
    pub(super) fn install() -> io::Result<ReloadSignal> {
        Ok(ReloadSignal { hangup: signal(SignalKind::hangup())? })
    }

    pub(super) async fn recv(&mut self) -> Option<()> {
        self.hangup.recv().await
    }
}
