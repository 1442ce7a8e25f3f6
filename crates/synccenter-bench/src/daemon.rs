//! The daemon under test: in this process on the bench's runtime (most measurements), or as a child process
//! (`bench __daemon SOCKET DATA_DIR`, this same binary) when its own resident memory is measured.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// A daemon running on this process's runtime.
pub(crate) struct InProcess {
    pub(crate) socket: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), synccenter_daemon::DaemonError>>,
}

impl InProcess {
    /// A daemon on `socket` with its data in `data_dir`, or on the SQLite file `database` when given. It does
    /// not prune (the generated histories are old): what it is measured on stays as written.
    pub(crate) fn start(socket: PathBuf, data_dir: PathBuf, database: Option<&Path>) -> anyhow::Result<InProcess> {
        let pruning = synccenter_daemon::Pruning { enabled: false, ..Default::default() };
        Self::start_pruning(socket, data_dir, database, pruning)
    }

    /// [`InProcess::start`] with history pruned as `pruning` says (by the default `[retention]`).
    pub(crate) fn start_pruning(
        socket: PathBuf,
        data_dir: PathBuf,
        database: Option<&Path>,
        pruning: synccenter_daemon::Pruning,
    ) -> anyhow::Result<InProcess> {
        let listener = synccenter_daemon::bind(&socket)?;
        let mut config = synccenter_daemon::Config::new(socket.clone(), data_dir);
        config.database = database.map(|p| format!("sqlite://{}", p.display()));
        config.pruning = pruning;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(synccenter_daemon::run(config, listener, async move {
            let _ = rx.await;
        }));
        Ok(InProcess { socket, stop: Some(tx), task })
    }

    /// Stops it and waits until everything is written.
    pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.task.await??;
        Ok(())
    }
}

/// The child process's side: runs the daemon like `synccenter daemon` does (a multi-threaded runtime) until
/// its standard input closes.
pub(crate) fn child_main(socket: &Path, data_dir: &Path) -> anyhow::Result<()> {
    let runtime = synccenter_daemon::runtime()?;
    runtime.block_on(async {
        let listener = synccenter_daemon::bind(socket)?;
        let mut config = synccenter_daemon::Config::new(socket.to_owned(), data_dir.to_owned());
        // What it is measured on stays as written (the `history` section's files are old).
        config.pruning.enabled = false;
        let stdin_closed = async {
            let _ = tokio::task::spawn_blocking(|| {
                let mut sink = Vec::new();
                let _ = std::io::stdin().read_to_end(&mut sink);
            })
            .await;
        };
        synccenter_daemon::run(config, listener, stdin_closed).await?;
        anyhow::Ok(())
    })
}

/// A daemon in a child process; stopped (gracefully: its standard input closes) when dropped.
pub(crate) struct ChildDaemon {
    child: Option<Child>,
    pid: u32,
    pub(crate) socket: PathBuf,
}

impl ChildDaemon {
    /// A daemon process on `dir/run/NAME.sock` with its data in `dir/NAME-data`.
    pub(crate) async fn start(dir: &Path, name: &str) -> anyhow::Result<ChildDaemon> {
        let socket = dir.join(format!("run/{name}.sock"));
        let exe = std::env::current_exe()?;
        let child = Command::new(exe)
            .arg("__daemon")
            .arg(&socket)
            .arg(dir.join(format!("{name}-data")))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .context("cannot start the daemon process")?;
        let d = ChildDaemon { pid: child.id(), child: Some(child), socket };
        let start = Instant::now();
        while tokio::net::UnixStream::connect(&d.socket).await.is_err() {
            anyhow::ensure!(start.elapsed() < Duration::from_secs(30), "the daemon process did not come up");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(d)
    }

    /// Resident memory in bytes (`VmRSS` of `/proc/PID/status`).
    pub(crate) fn rss(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS")?;
        let kib: u64 = line.split_whitespace().nth(1).context("VmRSS value")?.parse()?;
        Ok(kib * 1024)
    }

    /// Closes its standard input and waits for it to finish.
    pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else { return Ok(()) };
        drop(child.stdin.take());
        let status = tokio::task::spawn_blocking(move || child.wait()).await??;
        anyhow::ensure!(status.success(), "the daemon process exited with {status}");
        Ok(())
    }
}

impl Drop for ChildDaemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.stdin.take());
            let _ = child.wait();
        }
    }
}
