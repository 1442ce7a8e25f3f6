//! Process control: a child and everything it starts as one [`ProcessTree`] that can be stopped as a whole, how
//! a child ended, and the signals that ask this process to stop or to reload.
//!
//! - Unix: the child leads its own process group ([`prepare`]); [`ProcessTree::terminate`] sends SIGTERM to the
//!   group, [`ProcessTree::kill`] SIGKILL; the group ID stays reserved while any member lives, so the tree is
//!   empty when signalling it finds no one. SIGTERM and SIGINT ask to stop, SIGHUP to reload.
//! - Windows: the child starts suspended, is assigned to a fresh Job Object (`KILL_ON_JOB_CLOSE`) and only then
//!   resumed, so nothing it starts escapes the job; there is no polite request to a windowless process tree, so
//!   terminating and killing are both `TerminateJobObject` (exit code [`TERMINATED_EXIT_CODE`]). Ctrl+C,
//!   Ctrl+Break, closing the console and system shutdown ask to stop; there is no reload signal (use
//!   `synccenter reload`).
//!
//! Dropping a [`ProcessTree`] kills whatever is left of it. What this does not do: reach processes that leave
//! the tree on purpose (`setsid` and daemons on Unix, `CREATE_BREAKAWAY_FROM_JOB` where the job allows it).

use std::io;
use std::process::ExitStatus;

use tokio::process::{Child, Command};

#[cfg(unix)]
#[path = "process/unix.rs"]
mod imp;
#[cfg(windows)]
#[path = "process/windows.rs"]
mod imp;

/// `PATH` for a child with a clean environment when this process has none.
pub const DEFAULT_PATH: &str = imp::DEFAULT_PATH;

/// What a child with a clean environment gets from this process's environment besides `PATH`, when set: on
/// Unix the user, home, locale and temporary directory; on Windows also what programs need to find the
/// system (`SystemRoot`, `ComSpec`, `PATHEXT`, …) and the user's folders.
pub const INHERITED_ENV: &[&str] = imp::INHERITED_ENV;

/// Whether [`ProcessTree::terminate`] asks politely (SIGTERM, Unix) or ends the tree at once (Windows).
pub const POLITE_TERMINATE: bool = cfg!(unix);

/// The exit code of a process ended by terminating its tree on Windows.
pub const TERMINATED_EXIT_CODE: u32 = 1;

/// Where a child's console goes (Windows; on Unix both are the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Console {
    /// The child shares this process's console (`synccenter run`, whose child writes to the terminal).
    Inherit,
    /// The child gets no console window (a daemon's command, whose output is piped).
    Detached,
}

/// Sets `cmd` up to be started as the root of its own tree: its own process group on Unix; suspended, in a new
/// process group, on Windows (until [`ProcessTree::adopt`] has put it in its job). Call before `spawn`.
pub fn prepare(cmd: &mut Command, console: Console) {
    imp::prepare(cmd, console);
}

/// A child prepared with [`prepare`] and everything it started; killed when dropped, unless released.
#[derive(Debug)]
pub struct ProcessTree {
    inner: imp::Tree,
    released: bool,
}

impl ProcessTree {
    /// Takes charge of a child just spawned from a command set up by [`prepare`] (on Windows this puts it in its
    /// job and lets it run). If that fails the child is killed.
    pub fn adopt(child: &mut Child) -> io::Result<ProcessTree> {
        match imp::Tree::adopt(child) {
            Ok(inner) => Ok(ProcessTree { inner, released: false }),
            Err(e) => {
                let _ = child.start_kill();
                Err(e)
            }
        }
    }

    /// Asks the whole tree to stop: SIGTERM to the group on Unix; on Windows the tree ends at once.
    pub fn terminate(&self) {
        self.inner.terminate();
    }

    /// Ends the whole tree at once: SIGKILL to the group, `TerminateJobObject`.
    pub fn kill(&self) {
        self.inner.kill();
    }

    /// Lets go of the tree without stopping what is left of it (processes the child left running on purpose).
    pub fn release(mut self) {
        self.inner.release();
        self.released = true;
    }

    /// Whether nothing of the tree is left running.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Whether process `pid` belongs to the tree: on Unix it is in the group (`getpgid`) or is the group's
    /// leader (also after the leader exited: its pid stays reserved while the group has members). A process
    /// that left the group (`setsid`) is not in it. Always false on Windows, where nothing asks.
    pub fn contains(&self, pid: u32) -> bool {
        self.inner.contains(pid)
    }
}

impl Drop for ProcessTree {
    fn drop(&mut self) {
        if !self.released {
            self.inner.kill();
        }
    }
}

/// A command that opens `url` in the user's browser: `xdg-open` on Linux, `open` on macOS, the URL protocol
/// handler (`rundll32 url.dll,FileProtocolHandler`) on Windows.
pub fn browser(url: &str) -> std::process::Command {
    imp::browser(url)
}

/// The signal that ended a process, on Unix; always `None` on Windows.
pub fn exit_signal(status: &ExitStatus) -> Option<i32> {
    imp::exit_signal(status)
}

/// The requests to stop this process: SIGTERM and SIGINT on Unix; Ctrl+C, Ctrl+Break, console close and
/// shutdown on Windows.
#[derive(Debug)]
pub struct StopSignals {
    inner: imp::StopSignals,
}

impl StopSignals {
    /// Starts listening (from then on the default action, ending the process, no longer happens).
    pub fn install() -> io::Result<StopSignals> {
        Ok(StopSignals { inner: imp::StopSignals::install()? })
    }

    /// Waits for the next request; returns its name (`SIGTERM`, `Ctrl+C`, …).
    pub async fn recv(&mut self) -> &'static str {
        self.inner.recv().await
    }
}

/// The request to re-read the configuration: SIGHUP on Unix; none on Windows.
#[derive(Debug)]
pub struct ReloadSignal {
    inner: imp::ReloadSignal,
}

impl ReloadSignal {
    /// Starts listening.
    pub fn install() -> io::Result<ReloadSignal> {
        Ok(ReloadSignal { inner: imp::ReloadSignal::install()? })
    }

    /// Waits for the next request; `None` when there will be none (Windows has no such signal).
    pub async fn recv(&mut self) -> Option<()> {
        self.inner.recv().await
    }
}

#[cfg(test)]
mod tests {
    use std::process::Stdio;
    use std::time::Duration;

    use tokio::io::AsyncBufReadExt;

    use super::*;

    /// No wait of these tests may take longer, whatever goes wrong.
    const HANG_GUARD: Duration = Duration::from_secs(30);
    /// What a re-executed test binary does (see `tree_helper`).
    const ROLE: &str = "SYNCCENTER_TEST_TREE_ROLE";

    /// This test binary, run as `tree_helper` only.
    fn helper(role: &str) -> std::process::Command {
        let mut cmd = std::process::Command::new(std::env::current_exe().expect("test binary"));
        cmd.args(["--exact", "process::tests::tree_helper", "--ignored", "--nocapture", "--test-threads=1"]);
        cmd.env(ROLE, role);
        cmd
    }

    /// Not a test: the processes of `stopping_a_tree_ends_the_grandchildren_too`. As `child` it starts a
    /// grandchild, prints its pid and waits to be stopped; as `grandchild` it only waits to be stopped.
    #[test]
    #[ignore = "a helper process of stopping_a_tree_ends_the_grandchildren_too"]
    #[allow(clippy::zombie_processes, reason = "the grandchild outlives this process by design; the test ends both")]
    fn tree_helper() {
        let role = std::env::var(ROLE).unwrap_or_default();
        if role == "child" {
            let grandchild = helper("grandchild").stdout(Stdio::null()).spawn().expect("grandchild");
            #[allow(clippy::print_stdout, reason = "the line the test reads")]
            {
                println!("GRANDCHILD {}", grandchild.id());
            }
        }
        if !role.is_empty() {
            // Stays alive until the test ends the tree: nothing to wait for but that.
            std::thread::sleep(Duration::from_secs(3600));
        }
    }

    /// Whether `pid` is gone (or a zombie), waiting for it a while.
    async fn gone(pid: u32) -> bool {
        #[cfg(windows)]
        {
            tokio::task::spawn_blocking(move || crate::win32::wait_for_exit(pid, HANG_GUARD)).await.expect("wait")
        }
        #[cfg(unix)]
        {
            // There is no event for the end of a process that is not our child, so this polls.
            let deadline = std::time::Instant::now() + HANG_GUARD;
            loop {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok();
                let state = stat.as_deref().and_then(|s| s.rsplit_once(')')).and_then(|(_, r)| r.trim().chars().next());
                if matches!(state, None | Some('Z')) && (cfg!(target_os = "linux") || stat.is_none()) {
                    return true;
                }
                if std::time::Instant::now() > deadline {
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    #[tokio::test]
    async fn stopping_a_tree_ends_the_grandchildren_too() {
        let mut cmd = Command::from(helper("child"));
        cmd.stdout(Stdio::piped()).kill_on_drop(true);
        prepare(&mut cmd, Console::Detached);
        let mut child = cmd.spawn().expect("spawn the child");
        let tree = ProcessTree::adopt(&mut child).expect("adopt");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let grandchild = loop {
            let line = tokio::time::timeout(HANG_GUARD, lines.next_line()).await.expect("child started").expect("read");
            let line = line.expect("the child printed its grandchild's pid");
            // libtest prints the test's name on the same line first.
            if let Some((_, pid)) = line.split_once("GRANDCHILD ") {
                break pid.trim().parse::<u32>().expect("pid");
            }
        };
        assert!(!tree.is_empty());
        tree.terminate();
        let status = tokio::time::timeout(HANG_GUARD, child.wait()).await.expect("the child ended").expect("wait");
        if POLITE_TERMINATE {
            assert_eq!(exit_signal(&status), Some(15), "{status:?}");
        } else {
            assert_eq!(status.code(), i32::try_from(TERMINATED_EXIT_CODE).ok(), "{status:?}");
        }
        assert!(gone(grandchild).await, "grandchild {grandchild} survived the stop of its tree");
        drop(tree);
    }
}
