//! The Windows half of process control: a Job Object per tree (the child created suspended, assigned, then
//! resumed, so its first instruction already runs inside the job), `TerminateJobObject` to stop it, and the
//! console control events as stop requests.

use std::io;
use std::process::ExitStatus;

use tokio::process::{Child, Command};

use super::{Console, TERMINATED_EXIT_CODE};
use crate::win32;

/// `CREATE_SUSPENDED`.
const CREATE_SUSPENDED: u32 = 0x0000_0004;
/// `CREATE_NEW_PROCESS_GROUP`: Ctrl+C in our console is ours to handle, not the child's.
const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
/// `CREATE_NO_WINDOW`.
const CREATE_NO_WINDOW: u32 = 0x0800_0000;

pub(super) const DEFAULT_PATH: &str = r"C:\Windows\system32;C:\Windows";
pub(super) const INHERITED_ENV: &[&str] = &[
    "SystemRoot",
    "SystemDrive",
    "windir",
    "ComSpec",
    "PATHEXT",
    "TEMP",
    "TMP",
    "USERNAME",
    "USERPROFILE",
    "APPDATA",
    "LOCALAPPDATA",
    "ProgramData",
    "HOMEDRIVE",
    "HOMEPATH",
];

pub(super) fn prepare(cmd: &mut Command, console: Console) {
    let window = match console {
        Console::Inherit => 0,
        Console::Detached => CREATE_NO_WINDOW,
    };
    cmd.creation_flags(CREATE_SUSPENDED | CREATE_NEW_PROCESS_GROUP | window);
}

#[derive(Debug)]
pub(super) struct Tree {
    job: win32::Job,
}

impl Tree {
    pub(super) fn adopt(child: &mut Child) -> io::Result<Tree> {
        let (Some(handle), Some(pid)) = (child.raw_handle(), child.id()) else {
            return Err(io::Error::other("the child has already been reaped"));
        };
        let job = win32::Job::new()?;
        job.assign(handle)?;
        win32::resume_process(pid)?;
        Ok(Tree { job })
    }

    pub(super) fn terminate(&self) {
        self.kill();
    }

    pub(super) fn kill(&self) {
        if let Err(e) = self.job.terminate(TERMINATED_EXIT_CODE) {
            tracing::warn!("cannot terminate the job object: {e}");
        }
    }

    pub(super) fn release(&mut self) {
        // Closing the job would kill its processes (KILL_ON_JOB_CLOSE); without the limit they run on.
        if let Err(e) = self.job.set_kill_on_close(false) {
            tracing::warn!("cannot release the job object: {e}");
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.job.active_processes().is_ok_and(|n| n == 0)
    }

    /// Nothing asks on Windows (no `sd_notify` there).
    pub(super) fn contains(&self, _pid: u32) -> bool {
        false
    }
}

pub(super) fn browser(url: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new("rundll32");
    cmd.args(["url.dll,FileProtocolHandler", url]);
    cmd
}

pub(super) fn exit_signal(_status: &ExitStatus) -> Option<i32> {
    None
}

#[derive(Debug)]
pub(super) struct StopSignals {
    c: tokio::signal::windows::CtrlC,
    brk: tokio::signal::windows::CtrlBreak,
    close: tokio::signal::windows::CtrlClose,
    shutdown: tokio::signal::windows::CtrlShutdown,
}

impl StopSignals {
    pub(super) fn install() -> io::Result<StopSignals> {
        use tokio::signal::windows::{ctrl_break, ctrl_c, ctrl_close, ctrl_shutdown};
        Ok(StopSignals { c: ctrl_c()?, brk: ctrl_break()?, close: ctrl_close()?, shutdown: ctrl_shutdown()? })
    }

    pub(super) async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.c.recv() => "Ctrl+C",
            _ = self.brk.recv() => "Ctrl+Break",
            _ = self.close.recv() => "console close",
            _ = self.shutdown.recv() => "system shutdown",
        }
    }
}

#[derive(Debug)]
pub(super) struct ReloadSignal;

impl ReloadSignal {
    pub(super) fn install() -> io::Result<ReloadSignal> {
        Ok(ReloadSignal)
    }

    pub(super) async fn recv(&mut self) -> Option<()> {
        None
    }
}
